/*
 * The policy loader and the snapshot: every error the loader can report,
 * with its exact "file:line: path: reason" text, and every accessor on
 * good policies.
 *
 * Fixtures: $top_srcdir/tests/fixtures/policy (automake's
 * AM_TESTS_ENVIRONMENT exports top_srcdir); without it, "." and then
 * "../.." are tried, so the test also runs from the top of the tree or
 * from tests/unit. The test copies the fixtures into a fresh temporary
 * directory (mode 0644 files, 0755 directories, whatever the checkout's
 * umask made them), works there with relative paths, and removes it.
 * Users and groups come from a fake resolver: no real accounts needed.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* nftw */
#endif
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aifactory.h"
#include "fake_nss.h"
#include "sha256.h"
#include "sha256_hex.h"
#include "tap.h"

/* ------------------------------------------------------------------ */
/* A fake NSS                                                           */

static const struct fake_user fake_users[] = {
	{ "alice", 1001 }, { "bob", 1002 }, { "carol", 1003 },
	{ "dave", 1004 }, { "erin", 1005 }, { "frank", 1006 },
};

static const struct fake_group fake_groups[] = {
	{ "acme", 2001, { "alice", "bob" } },
	{ "research", 2002, { "carol", "frank" } },
	{ "hpcops", 2100, { "erin" } },
	{ "empty", 2200, { NULL } },
};

static FAKE_NSS(nss, fake_users, fake_groups);

/* ------------------------------------------------------------------ */
/* Files                                                                */

static char fixtures[PATH_MAX];
static char tmpdir[PATH_MAX];

static void _write_n(const char *name, const char *text, size_t len,
		     mode_t mode)
{
	FILE *f;

	unlink(name);
	f = fopen(name, "w");
	if (!f || fwrite(text, 1, len, f) != len || fclose(f)) {
		printf("Bail out! cannot write %s: %s\n", name,
		       strerror(errno));
		exit(1);
	}
	chmod(name, mode);
}

static void _write(const char *name, const char *text)
{
	_write_n(name, text, strlen(text), 0644);
}

static char *_slurp(const char *name, size_t *len)
{
	static char buf[1 << 16];
	FILE *f = fopen(name, "r");

	*len = f ? fread(buf, 1, sizeof(buf), f) : 0;
	if (f)
		fclose(f);
	return buf;
}

static void _copy_fixture(const char *from, const char *to)
{
	char path[PATH_MAX * 2];
	size_t len;
	char *text;

	snprintf(path, sizeof(path), "%s/%s", fixtures, from);
	text = _slurp(path, &len);
	if (!len) {
		printf("Bail out! cannot read fixture %s\n", path);
		exit(1);
	}
	_write_n(to, text, len, 0644);
}

static int _rm(const char *path, const struct stat *st, int flag,
	       struct FTW *ftw)
{
	(void) st;
	(void) flag;
	(void) ftw;
	return remove(path);
}

static void _rmtree(const char *path)
{
	nftw(path, _rm, 16, FTW_DEPTH | FTW_PHYS);
}

static void _find_fixtures(void)
{
	const char *top = getenv("top_srcdir");
	const char *tries[] = { top, ".", "../.." };

	for (size_t i = 0; i < 3; i++) {
		char path[PATH_MAX * 2];

		if (!tries[i])
			continue;
		snprintf(path, sizeof(path), "%s/tests/fixtures/policy",
			 tries[i]);
		if (realpath(path, fixtures))
			return;
	}
	printf("Bail out! tests/fixtures/policy not found (set top_srcdir)\n");
	exit(1);
}

static void _setup(void)
{
	const char *t = getenv("TMPDIR");

	_find_fixtures();
	snprintf(tmpdir, sizeof(tmpdir), "%s/aif-policy-XXXXXX",
		 t && t[0] ? t : "/tmp");
	if (!mkdtemp(tmpdir) || chdir(tmpdir)) {
		printf("Bail out! cannot make %s: %s\n", tmpdir,
		       strerror(errno));
		exit(1);
	}
	umask(022);
	_copy_fixture("good.json", "good.json");
	_copy_fixture("good-dir.json", "good-dir.json");
	mkdir("good-dir.d", 0755);
	_copy_fixture("good-dir.d/beta.json", "good-dir.d/beta.json");
	_copy_fixture("good-dir.d/gamma.json", "good-dir.d/gamma.json");
	_copy_fixture("good-dir.d/README", "good-dir.d/README");
	/* Names the loader must skip; the first two are not valid JSON. */
	_write("good-dir.d/.hidden.json", "not json");
	_write("good-dir.d/gamma.json~", "not json either");
	_write("good-dir.d/gamma.json.bak", "{}");
	mkdir("good-dir.d/sub.json", 0755);
}

/* ------------------------------------------------------------------ */
/* Reports                                                              */

static char joined[1 << 16];

static const char *_join(const struct aif_load_error *e, size_t n)
{
	size_t used = 0;

	joined[0] = '\0';
	for (size_t i = 0; i < n && used < sizeof(joined) - 1; i++) {
		char line[2048];

		aif_load_error_format(&e[i], line, sizeof(line));
		used += snprintf(joined + used, sizeof(joined) - used, "%s%s",
				 i ? "\n" : "", line);
	}
	return joined;
}

/* Load path; return its errors joined by newlines, or "(loaded)". */
static const char *_load_errors(const char *path)
{
	struct aif_load_report r;
	struct aif_policy *p = aif_policy_load(path, &nss.resolver, &r);
	const char *out = p ? "(loaded)" : _join(r.errors, r.nerrors);

	aif_policy_unref(p);
	aif_load_report_free(&r);
	return out;
}

/* A bad policy file: refused, with exactly these errors. */
static void _bad(const char *what, const char *text, const char *want)
{
	_write("bad.json", text);
	is_str(_load_errors("bad.json"), want, "%s", what);
}

/* The first two lines of most bad files below. */
#define HEAD "{\n\t\"version\": 1,\n"

/* ------------------------------------------------------------------ */
/* Good policies                                                        */

static void _test_good(void)
{
	struct aif_load_report r;
	struct aif_policy *p = aif_policy_load("good.json", &nss.resolver, &r);
	const struct aif_class *startup, *sme, *research;
	const struct aif_project *acme, *bolt, *cern, *deep, *ghost;
	const struct aif_project *out[8];
	gid_t g[3];
	char hex[AIF_SHA256_HEX_LEN];
	size_t len;
	char *text;

	if (!ok(p != NULL, "good.json loads")) {
		printf("# %s\n", _join(r.errors, r.nerrors));
		aif_load_report_free(&r);
		return;
	}
	is_int(r.nerrors, 0, "good.json: no errors");
	is_str(_join(r.warnings, r.nwarnings),
	       "good.json:93: projects.ghost: no members: none of its users "
	       "or groups exists\n"
	       "good.json:96: projects.ghost.users[0]: unknown user "
	       "\"nobody\"\n"
	       "good.json:97: projects.ghost.groups[0]: unknown group "
	       "\"nogroup\"",
	       "good.json: warnings for unknown names and an empty project");
	aif_load_report_free(&r);
	is_int(r.nwarnings, 0, "aif_load_report_free empties the report");

	is_str(aif_policy_path(p), "good.json", "aif_policy_path");
	is_int(aif_policy_balance_port(p), 0, "no balance_port: no balance queries");
	{
		unsigned interval = 0;

		ok(aif_policy_metrics(p, &interval) == NULL &&
		   interval == AIF_METRICS_INTERVAL,
		   "no metrics: no file, the default interval");
	}
	text = _slurp("good.json", &len);
	sha256_hex(text, len, hex);
	is_str(aif_policy_hash(p), hex,
	       "hash of a policy without project_dir: SHA-256 of the file");

	/* Classes, in name order. */
	is_int(aif_policy_nclasses(p), 3, "3 classes");
	is_str(aif_policy_class_at(p, 0)->name, "research", "class 0");
	is_str(aif_policy_class_at(p, 1)->name, "sme", "class 1");
	is_str(aif_policy_class_at(p, 2)->name, "startup", "class 2");
	ok(aif_policy_class_at(p, 3) == NULL, "class_at past the end");
	startup = aif_policy_class(p, "startup");
	sme = aif_policy_class(p, "sme");
	research = aif_policy_class(p, "research");
	ok(startup && sme && research, "classes by name");
	ok(aif_policy_class(p, "Startup") == NULL,
	   "class names are case-sensitive");
	ok(aif_policy_class(p, "nope") == NULL, "unknown class");
	if (!startup || !sme || !research)
		goto out;

	is_str(startup->description, "AI start-ups: Playground and Fast Lane",
	       "startup description");
	is_int(startup->max_gpus_per_job, 8, "startup max_gpus_per_job");
	is_int(startup->max_gpus_per_node, 4, "startup max_gpus_per_node");
	is_int(startup->max_nodes_per_job, 2, "startup max_nodes_per_job");
	is_int(startup->max_time, 24 * 60, "startup max_time 24:00:00");
	is_int(startup->default_time, 4 * 60, "startup default_time");
	is_int(startup->npartitions, 2, "startup partitions");
	is_str(startup->partitions[1], "gpu-small", "startup partitions[1]");
	is_str(startup->default_partition, "gpu",
	       "default_partition defaults to partitions[0]");
	is_int(startup->ngpu_types, 2, "startup gpu_types");
	is_str(startup->gpu_types[0], "h100", "startup gpu_types[0]");
	is_str(startup->qos, "startup", "startup qos");
	is_int(startup->nallowed_qos, 2, "allowed_qos gets qos added");
	is_str(startup->allowed_qos[0], "low", "allowed_qos[0] as written");
	is_str(startup->allowed_qos[1], "startup", "allowed_qos[1] is qos");
	ok(startup->require_gpus, "startup require_gpus");
	is_int(startup->exhausted_action, AIF_EXHAUSTED_FALLBACK,
	       "startup exhausted_action");
	is_str(startup->fallback_qos, "scavenger", "startup fallback_qos");
	is_int(startup->nthresholds, 3, "startup thresholds");
	ok(startup->thresholds[0] == 0.5 && startup->thresholds[2] == 1.0,
	   "startup thresholds values");
	ok(startup->share == 0.2, "startup share");

	ok(sme->description == NULL, "sme: no description");
	is_int(sme->max_gpus_per_node, AIF_UNLIMITED,
	       "unset limit is AIF_UNLIMITED");
	is_int(sme->max_nodes_per_job, AIF_UNLIMITED,
	       "unset max_nodes_per_job is AIF_UNLIMITED");
	is_int(sme->max_time, 2 * 24 * 60, "sme max_time 2-00:00:00");
	is_int(sme->default_time, 2 * 24 * 60,
	       "default_time defaults to max_time");
	is_str(sme->default_partition, "gpu", "sme default_partition");
	is_int(sme->nallowed_qos, 1, "allowed_qos defaults to [qos]");
	is_str(sme->allowed_qos[0], "sme", "allowed_qos[0] is qos");
	is_int(sme->nthresholds, 2, "thresholds default to two");
	ok(sme->thresholds[0] == 0.8 && sme->thresholds[1] == 1.0,
	   "thresholds default to 0.8, 1.0");
	is_int(sme->exhausted_action, AIF_EXHAUSTED_REFUSE,
	       "exhausted_action defaults to refuse");
	ok(!sme->require_gpus, "require_gpus defaults to false");

	is_int(research->max_time, 2880, "max_time as whole minutes");
	is_int(research->default_time, 60, "default_time as whole minutes");
	is_int(research->max_gpus_per_job, AIF_UNLIMITED,
	       "research: no GPU limit");
	is_int(research->npartitions, 0, "research: any partition");
	is_str(research->default_partition, "", "no default_partition");
	is_int(research->ngpu_types, 0, "research: any GPU type");
	is_str(research->qos, "", "research: no qos");
	is_int(research->nallowed_qos, 0, "research: no allowed_qos");
	ok(research->share == 0.5, "research share");

	/* Projects, in name order; lookup in any case. */
	is_int(aif_policy_nprojects(p), 5, "5 projects");
	is_str(aif_policy_project_at(p, 0)->name, "acme", "project 0");
	is_str(aif_policy_project_at(p, 1)->name, "bolt-ai", "project 1");
	is_str(aif_policy_project_at(p, 4)->name, "ghost", "project 4");
	ok(aif_policy_project_at(p, 5) == NULL, "project_at past the end");
	acme = aif_policy_project(p, "acme");
	bolt = aif_policy_project(p, "bolt-ai");
	cern = aif_policy_project(p, "cern-lab");
	deep = aif_policy_project(p, "deepgrid");
	ghost = aif_policy_project(p, "ghost");
	ok(acme && bolt && cern && deep && ghost, "projects by name");
	if (!acme || !bolt || !cern || !deep || !ghost)
		goto out;
	ok(aif_policy_project(p, "ACME") == acme, "lookup of ACME");
	ok(aif_policy_project(p, "Bolt-AI") == bolt, "lookup of Bolt-AI");
	ok(aif_policy_project(p, "nope") == NULL, "unknown project");
	ok(aif_policy_project(p, "") == NULL, "empty project name");
	ok(aif_policy_project(p, NULL) == NULL, "NULL project name");
	ok(aif_policy_project(p, "acmeacmeacmeacmeacmeacmeacmeacmeacmeacme"
			      "acmeacmeacmeacmeacmeacme") == NULL,
	   "a name longer than any project");

	ok(acme->klass == startup, "acme's class");
	is_str(acme->mode, "playground", "acme mode");
	is_str(acme->sector, "health", "acme sector");
	is_int(acme->valid_from, 1767225600, "valid_from 2026-01-01 00:00Z");
	is_int(acme->valid_until, 1775001599,
	       "valid_until 2026-03-31 includes the whole day");
	is_int(acme->nusers, 1, "acme users");
	is_str(acme->users[0], "alice", "acme users[0]");
	is_int(acme->ngroups, 1, "acme groups");
	is_int(acme->nuids, 2, "acme: alice, and bob through group acme");
	ok(acme->uids[0] == 1001 && acme->uids[1] == 1002,
	   "acme uids sorted and unique");
	is_int(acme->ngids, 1, "acme gids");
	is_int(acme->gids[0], 2001, "acme gid");
	is_str(acme->source, "good.json", "acme source");
	is_int(acme->line, 48, "acme line");
	is_int(acme->ngrants, 1, "acme grants");
	is_str(acme->grants[0].name, "playground-2026", "grant name");
	ok(acme->grants[0].gpu_hours == 2000, "grant gpu_hours");
	is_int(acme->grants[0].valid_from, 1767225600, "grant valid_from");
	is_int(acme->grants[0].valid_until, 1774958400,
	       "grant valid_until with a time");
	is_str(acme->grants[0].gpu_type, "h100", "grant gpu_type");
	is_str(acme->grants[0].mode, "", "grant mode defaults to \"\"");
	is_int(bolt->ngrants, 2, "bolt-ai grants");
	ok(bolt->grants[0].gpu_hours == 25000.5, "fractional gpu_hours");
	is_str(bolt->grants[1].mode, "playground", "grant mode");
	is_int(bolt->valid_from, 0, "no valid_from: 0");
	is_int(bolt->valid_until, 0, "no valid_until: 0");
	ok(cern->klass == research, "cern-lab's class");
	is_int(cern->nuids, 2, "cern-lab uids");
	ok(cern->uids[0] == 1003 && cern->uids[1] == 1006,
	   "carol, and frank through group research");
	is_int(deep->nuids, 2, "deepgrid uids");
	is_str(deep->sector, "energy", "deepgrid sector");
	is_int(ghost->nuids + ghost->ngids, 0, "ghost has no members");
	is_str(ghost->sector, "", "no sector: \"\"");

	/* Membership. */
	ok(aif_project_has_member(acme, 1001, NULL, 0), "alice in acme");
	ok(aif_project_has_member(acme, 1002, NULL, 0),
	   "bob in acme through the group's members");
	ok(!aif_project_has_member(acme, 1003, NULL, 0), "carol not in acme");
	g[0] = 5000;
	g[1] = 2001;
	ok(aif_project_has_member(acme, 4242, g, 2),
	   "a uid in acme through a gid");
	ok(!aif_project_has_member(acme, 4242, g, 1), "no matching gid");
	ok(!aif_project_has_member(ghost, 1001, g, 2), "nobody in ghost");
	ok(!aif_project_has_member(NULL, 1001, NULL, 0), "NULL project");

	is_int(aif_policy_projects_of(p, 1001, NULL, 0, out, 8), 2,
	       "alice: 2 projects");
	ok(out[0] == acme && out[1] == deep, "alice: acme, deepgrid");
	is_int(aif_policy_projects_of(p, 1002, NULL, 0, out, 8), 2,
	       "bob: 2 projects");
	ok(out[0] == acme && out[1] == bolt, "bob: acme, bolt-ai");
	g[0] = 2002;
	is_int(aif_policy_projects_of(p, 4242, g, 1, out, 8), 1,
	       "a stranger in group research: 1 project");
	ok(out[0] == cern, "the stranger: cern-lab");
	g[0] = 2002;
	g[1] = 2001;
	g[2] = 2002;
	is_int(aif_policy_projects_of(p, 1001, g, 3, out, 8), 3,
	       "alice with groups research, acme, research: 3 projects");
	ok(out[0] == acme && out[1] == cern && out[2] == deep,
	   "sorted by name, no duplicates");
	out[1] = NULL;
	is_int(aif_policy_projects_of(p, 1001, g, 3, out, 1), 2,
	       "max 1: says there are more (max + 1) and stops");
	ok(out[0] == acme && out[1] == NULL, "max 1: stores 1");
	is_int(aif_policy_projects_of(p, 1001, g, 3, NULL, 0), 1,
	       "out NULL, max 0: whether there is any");
	is_int(aif_policy_projects_of(p, 4242, NULL, 0, out, 8), 0,
	       "a stranger: no project");

	/* Names and operators. */
	is_str(aif_policy_user_name(p, 1001), "alice", "user_name 1001");
	is_str(aif_policy_user_name(p, 1005), "erin",
	       "user_name of an operator");
	ok(aif_policy_user_name(p, 1006) == NULL,
	   "a group member's name is not known");
	ok(aif_policy_user_name(p, 4242) == NULL, "user_name of a stranger");
	ok(aif_policy_is_operator(p, 1005, NULL, 0), "erin is an operator");
	ok(!aif_policy_is_operator(p, 1001, NULL, 0),
	   "alice is not an operator");
	g[0] = 2100;
	ok(aif_policy_is_operator(p, 4242, g, 1),
	   "a member of group hpcops is an operator");
	ok(aif_policy_is_operator(p, 0, NULL, 0), "root always is");

	/* Billing. */
	ok(aif_policy_gpu_weight(p, "h100") == 1.0, "gpu_weight h100");
	ok(aif_policy_gpu_weight(p, "a100") == 0.6, "gpu_weight a100");
	ok(aif_policy_gpu_weight(p, "l40s") == 0.25, "gpu_weight l40s");
	ok(aif_policy_gpu_weight(p, "b200") == 1.5,
	   "unlisted type: default_gpu_weight");
	ok(aif_policy_gpu_weight(p, "") == 1.5,
	   "untyped request: default_gpu_weight");
	ok(aif_policy_gpu_weight(p, NULL) == 1.5, "NULL type: default");
out:
	aif_policy_unref(p);
}

static void _test_refcount(void)
{
	struct aif_policy *p = aif_policy_load("good.json", &nss.resolver, NULL);
	struct aif_policy *q;

	if (!ok(p != NULL, "load with a NULL report"))
		return;
	q = aif_policy_ref(p);
	ok(q == p, "ref returns the snapshot");
	aif_policy_unref(p);
	is_str(aif_policy_project(q, "acme")->name, "acme",
	       "still readable after one unref of two");
	aif_policy_unref(q);	/* the last: valgrind checks it frees all */
	ok(aif_policy_ref(NULL) == NULL, "ref(NULL)");
	aif_policy_unref(NULL);
	ok(1, "unref(NULL)");
	ok(aif_policy_project(NULL, "acme") == NULL &&
	   aif_policy_nprojects(NULL) == 0 &&
	   aif_policy_projects_of(NULL, 1, NULL, 0, NULL, 0) == 0 &&
	   aif_policy_gpu_weight(NULL, "h100") < 0,
	   "accessors take a NULL policy");
}

static void _test_limits_edge(void)
{
	struct aif_load_report r;
	struct aif_policy *p;
	const struct aif_class *c;

	_write("edge.json", HEAD
	       "\t\"classes\": {\n"
	       "\t\t\"c\": {\n"
	       "\t\t\t\"max_gpus_per_job\": 0,\n"
	       "\t\t\t\"max_gpus_per_node\": 4294967294,\n"
	       "\t\t\t\"max_time\": \"UNLIMITED\",\n"
	       "\t\t\t\"thresholds\": [],\n"
	       "\t\t\t\"share\": 1\n"
	       "\t\t}\n"
	       "\t},\n"
	       "\t\"projects\": {\n"
	       "\t\t\"p\": {\"class\": \"c\", \"mode\": \"anything\",\n"
	       "\t\t      \"grants\": [{\"name\": \"leap\", "
	       "\"gpu_hours\": 1e3,\n"
	       "\t\t                  \"valid_from\": \"2024-02-29\",\n"
	       "\t\t                  \"valid_until\": \"2024-02-29\"}]}\n"
	       "\t}\n"
	       "}\n");
	p = aif_policy_load("edge.json", &nss.resolver, &r);
	if (!ok(p != NULL, "edge values load")) {
		printf("# %s\n", _join(r.errors, r.nerrors));
		aif_load_report_free(&r);
		return;
	}
	c = aif_policy_class(p, "c");
	is_int(c->max_gpus_per_job, 0, "max_gpus_per_job 0");
	is_int(c->max_gpus_per_node, 4294967294u,
	       "max_gpus_per_node 4294967294");
	is_int(c->max_time, AIF_UNLIMITED, "max_time UNLIMITED");
	is_int(c->default_time, AIF_UNLIMITED, "default_time UNLIMITED");
	is_int(c->nthresholds, 0, "thresholds [] stays empty");
	ok(c->share == 1.0, "share 1 as an integer");
	ok(aif_policy_project(p, "p")->grants[0].gpu_hours == 1000,
	   "gpu_hours 1e3");
	is_int(aif_policy_project(p, "p")->grants[0].valid_until, 1709251199,
	       "2024-02-29 is a day");
	ok(aif_policy_gpu_weight(p, "h100") < 0,
	   "no billing: a type has no weight");
	is_str(_join(r.warnings, r.nwarnings),
	       "edge.json:13: projects.p: no members: it lists no users or "
	       "groups", "warning for a project without members");
	aif_policy_unref(p);
	aif_load_report_free(&r);
}

/*
 * No project lists members and there are no operators: the member index
 * is empty. It was built from a null array plus 0 (undefined behaviour,
 * reported by UBSan in tests/0006-sanitized-unit.t).
 */
static void _test_no_members(void)
{
	const struct aif_project *out[4];
	struct aif_load_report r;
	struct aif_policy *p;
	gid_t gid = 100;

	_write("nomembers.json", HEAD
	       "\t\"classes\": { \"c\": {} },\n"
	       "\t\"projects\": {\n"
	       "\t\t\"p\": {\"class\": \"c\", \"mode\": \"m\"},\n"
	       "\t\t\"q\": {\"class\": \"c\", \"mode\": \"m\"}\n"
	       "\t}\n"
	       "}\n");
	p = aif_policy_load("nomembers.json", &nss.resolver, &r);
	if (!ok(p != NULL, "no members anywhere: the policy loads")) {
		printf("# %s\n", _join(r.errors, r.nerrors));
		aif_load_report_free(&r);
		return;
	}
	is_int((long long) aif_policy_projects_of(p, 1000, &gid, 1, out, 4), 0,
	       "no members anywhere: a user has no project");
	ok(!aif_policy_is_operator(p, 1000, &gid, 1),
	   "no members anywhere: a user is no operator");
	is_int((long long) r.nwarnings, 2, "no members anywhere: a warning "
	       "for each project");
	aif_policy_unref(p);
	aif_load_report_free(&r);
	unlink("nomembers.json");
}

/* ------------------------------------------------------------------ */
/* Files we refuse to trust                                             */

static void _test_files(void)
{
	char big[64];

	is_str(_load_errors("missing.json"),
	       "missing.json: cannot open: No such file or directory",
	       "a missing file");
	mkdir("adir.json", 0755);
	is_str(_load_errors("adir.json"), "adir.json: not a regular file",
	       "a directory");
	mkfifo("fifo.json", 0644);
	is_str(_load_errors("fifo.json"), "fifo.json: not a regular file",
	       "a FIFO is refused, not waited on");

	_copy_fixture("good.json", "open.json");
	chmod("open.json", 0666);
	is_str(_load_errors("open.json"),
	       "open.json: writable by group or others (mode 0666); "
	       "refusing to trust it", "a file writable by others");
	chmod("open.json", 0664);
	is_str(_load_errors("open.json"),
	       "open.json: writable by group or others (mode 0664); "
	       "refusing to trust it", "a file writable by its group");
	chmod("open.json", 0600);
	is_str(_load_errors("open.json"), "(loaded)",
	       "mode 0600 is fine (owner any)");

	ok(symlink("good.json", "link.json") == 0, "symlink link.json");
	is_str(_load_errors("link.json"), "(loaded)",
	       "a symlink to a good file is followed");
	chmod("open.json", 0646);
	ok(symlink("open.json", "badlink.json") == 0, "symlink badlink.json");
	is_str(_load_errors("badlink.json"),
	       "badlink.json: writable by group or others (mode 0646); "
	       "refusing to trust it", "a symlink's target is checked");
	ok(symlink("nowhere.json", "dangling.json") == 0,
	   "symlink dangling.json");
	is_str(_load_errors("dangling.json"),
	       "dangling.json: cannot open: No such file or directory",
	       "a dangling symlink");

	/* Sparse files: the size is refused before anything is read. */
	_write("big.json", "");
	if (truncate("big.json", (16 << 20) + 1) == 0) {
		is_str(_load_errors("big.json"),
		       "big.json: file is larger than 16 MiB (the limit for a "
		       "policy file)", "a file over 16 MiB");
	} else {
		snprintf(big, sizeof(big), "truncate: %s", strerror(errno));
		ok(0, "%s", big);
	}
	if (truncate("big.json", 16 << 20) == 0) {
		is_str(_load_errors("big.json"),
		       "big.json:1: JSON syntax error at column 1: NUL byte in "
		       "the file", "a file of 16 MiB is read");
	} else {
		snprintf(big, sizeof(big), "truncate: %s", strerror(errno));
		ok(0, "%s", big);
	}
	unlink("big.json");
}

/* ------------------------------------------------------------------ */
/* JSON syntax                                                          */

static void _test_syntax(void)
{
	char deep[256];
	size_t n = 0;

	_bad("a trailing comma",
	     "{\n"
	     "\t\"version\": 1,\n"
	     "\t\"classes\": {\"c\": {},},\n"
	     "}\n",
	     "bad.json:3: JSON syntax error at column 22: unexpected "
	     "character");
	_bad("a truncated file",
	     "{\n"
	     "\t\"version\": 1,\n"
	     "\t\"classes\": {\n",
	     "bad.json:4: JSON syntax error at column 1: unexpected end of "
	     "data");
	_bad("an empty file", "",
	     "bad.json:1: JSON syntax error at column 1: unexpected end of "
	     "data");
	_bad("single quotes (json-c takes them even when strict)",
	     "{\n"
	     "\t'version': 1\n"
	     "}\n",
	     "bad.json:2: JSON syntax error at column 2: strings must be in "
	     "double quotes");
	_bad("NaN",
	     "{\n"
	     "\t\"version\": NaN\n"
	     "}\n",
	     "bad.json:2: JSON syntax error at column 13: NaN and Infinity "
	     "are not JSON");
	_bad("a raw tab in a string",
	     HEAD
	     "\t\"x\": \"a\tb\"\n"
	     "}\n",
	     "bad.json:3: JSON syntax error at column 9: control character "
	     "in a string (write it as an escape)");
	_bad("a second value after the first",
	     "{\"version\": 1}\n"
	     "{\"classes\": {}}\n",
	     "bad.json:2: JSON syntax error at column 1: unexpected "
	     "character");
	_write_n("bad.json", "{\"version\": 1,\n\"x\": \"a\0b\"}\n", 25, 0644);
	is_str(_load_errors("bad.json"),
	       "bad.json:2: JSON syntax error at column 8: NUL byte in the "
	       "file", "a NUL byte");
	_bad("invalid UTF-8",
	     HEAD
	     "\t\"x\": \"caf\xe9\"\n"
	     "}\n",
	     "bad.json:3: JSON syntax error at column 12: invalid utf-8 "
	     "string");
	while (n < 40)
		deep[n++] = '[';
	deep[n] = '\0';
	_bad("nesting too deep", deep,
	     "bad.json:1: JSON syntax error at column 33: nesting too deep");

	_bad("a duplicate key",
	     HEAD
	     "\t\"classes\": {\"c\": {}},\n"
	     "\t\"version\": 1\n"
	     "}\n",
	     "bad.json:4: version: duplicate key (first at line 2)");
	_bad("a duplicate key in a class",
	     HEAD
	     "\t\"classes\": {\n"
	     "\t\t\"c\": {\n"
	     "\t\t\t\"max_time\": 60,\n"
	     "\t\t\t\"max_time\": 90\n"
	     "\t\t},\n"
	     "\t\t\"d\": {\"max_time\": 60}\n"
	     "\t}\n"
	     "}\n",
	     "bad.json:6: classes.c.max_time: duplicate key (first at line 5)");
	_bad("a duplicate project key",
	     HEAD
	     "\t\"classes\": {\"c\": {}},\n"
	     "\t\"projects\": {\n"
	     "\t\t\"p\": {\"class\": \"c\", \"mode\": \"m\"},\n"
	     "\t\t\"p\": {\"class\": \"c\", \"mode\": \"m\", \"users\": "
	     "[\"a\", \"b\"]}\n"
	     "\t}\n"
	     "}\n",
	     "bad.json:6: projects.p: duplicate key (first at line 5)");
	_bad("escapes in keys are decoded for paths and lines",
	     HEAD
	     "\t\"classes\": {\"c\\u0020d\": {},\n"
	     "\t\t\"e\": {\"m\\\"x\": 1}}\n"
	     "}\n",
	     "bad.json:3: classes.c d: not a valid class name "
	     "(1-63 characters of [A-Za-z0-9_.-])\n"
	     "bad.json:4: classes.e.m\"x: unknown key");
}

/* ------------------------------------------------------------------ */
/* The top level                                                        */

static void _test_top(void)
{
	char text[16384];
	size_t n;

	_bad("the policy is an array", "[1, 2]\n",
	     "bad.json:1: the policy must be a JSON object");
	_bad("the policy is null", "null\n",
	     "bad.json:1: the policy must be a JSON object");
	_bad("the policy is true", "true",
	     "bad.json:1: the policy must be a JSON object");
	_bad("the policy is a number", "\n\n  3\n",
	     "bad.json:3: the policy must be a JSON object");
	_bad("the policy is a string", "\"x\"",
	     "bad.json:1: the policy must be a JSON object");
	_bad("no version",
	     "{\n"
	     "\t\"classes\": {\"c\": {}}\n"
	     "}\n",
	     "bad.json:1: version: missing (required)");
	_bad("version 2",
	     "{\n"
	     "\t\"version\": 2,\n"
	     "\t\"whatever\": true\n"
	     "}\n",
	     "bad.json:2: version: unsupported version 2 (this build reads "
	     "version 1)");
	_bad("version 1.0",
	     "{\n"
	     "\t\"version\": 1.0\n"
	     "}\n",
	     "bad.json:2: version: expected an integer, got the number 1.0");
	_bad("version \"1\"",
	     "{\n"
	     "\t\"version\": \"1\"\n"
	     "}\n",
	     "bad.json:2: version: expected an integer, got the string \"1\"");
	_bad("a version json-c saturates",
	     "{\n"
	     "\t\"version\": 18446744073709551617\n"
	     "}\n",
	     "bad.json:2: version: unsupported version 18446744073709551617 "
	     "(this build reads version 1)");
	_bad("no classes",
	     HEAD
	     "\t\"modes\": []\n"
	     "}\n",
	     "bad.json:1: classes: missing (required)");
	_bad("no class in classes",
	     HEAD
	     "\t\"classes\": {}\n"
	     "}\n",
	     "bad.json:3: classes: at least one class is required");
	_bad("classes is an array",
	     HEAD
	     "\t\"classes\": [\"startup\"]\n"
	     "}\n",
	     "bad.json:3: classes: expected an object, got an array");
	_bad("an unknown top-level key",
	     HEAD
	     "\t\"clases\": {\"c\": {}}\n"
	     "}\n",
	     "bad.json:1: classes: missing (required)\n"
	     "bad.json:3: clases: unknown key");
	/* Found by fuzz_policy: a top-level key went into the message raw
	 * (a DEL, or an escape sequence for the terminal of aifctl check). */
	_bad("an unknown top-level key holding control characters",
	     HEAD
	     "\t\"\x7froject_dir\": \"x\",\n"
	     "\t\"\\u001b[2Jclasses\": {},\n"
	     "\t\"classes\": {\"c\": {}}\n"
	     "}\n",
	     "bad.json:3: ?roject_dir: unknown key\n"
	     "bad.json:4: ?[2Jclasses: unknown key");
	_bad("project_dir empty",
	     HEAD
	     "\t\"project_dir\": \"\",\n"
	     "\t\"classes\": {\"c\": {}}\n"
	     "}\n",
	     "bad.json:3: project_dir: must not be empty");
	_bad("project_dir not a string",
	     HEAD
	     "\t\"project_dir\": 5,\n"
	     "\t\"classes\": {\"c\": {}}\n"
	     "}\n",
	     "bad.json:3: project_dir: expected a string, got the integer 5");
	_bad("projects not an object",
	     HEAD
	     "\t\"classes\": {\"c\": {}},\n"
	     "\t\"projects\": []\n"
	     "}\n",
	     "bad.json:4: projects: expected an object, got an array");

	_bad("modes not an array",
	     HEAD
	     "\t\"modes\": \"playground\",\n"
	     "\t\"classes\": {\"c\": {}}\n"
	     "}\n",
	     "bad.json:3: modes: expected an array, got the string "
	     "\"playground\"");
	_bad("bad and duplicate modes",
	     HEAD
	     "\t\"modes\": [\n"
	     "\t\t\"play ground\",\n"
	     "\t\t\"fast-lane\",\n"
	     "\t\t\"fast-lane\"\n"
	     "\t],\n"
	     "\t\"sectors\": [\"health\", \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"],\n"
	     "\t\"classes\": {\"c\": {}}\n"
	     "}\n",
	     "bad.json:4: modes[0]: must be a name (1-63 characters of "
	     "[A-Za-z0-9_.-]), got \"play ground\"\n"
	     "bad.json:6: modes[2]: duplicate \"fast-lane\" (also [1])\n"
	     "bad.json:8: sectors[1]: must be a name (1-63 characters of "
	     "[A-Za-z0-9_.-]), got \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	     "...\"");

	_bad("operators",
	     HEAD
	     "\t\"operators\": {\n"
	     "\t\t\"users\": [\"erin\", \"bad:name\"],\n"
	     "\t\t\"groups\": \"hpcops\",\n"
	     "\t\t\"roles\": []\n"
	     "\t},\n"
	     "\t\"classes\": {\"c\": {}}\n"
	     "}\n",
	     "bad.json:4: operators.users[1]: must be a user name (1-63 "
	     "characters, no blanks, colons or control characters), got "
	     "\"bad:name\"\n"
	     "bad.json:5: operators.groups: expected an array, got the "
	     "string \"hpcops\"\n"
	     "bad.json:6: operators.roles: unknown key");
	_bad("operators not an object",
	     HEAD
	     "\t\"operators\": [\"erin\"],\n"
	     "\t\"classes\": {\"c\": {}}\n"
	     "}\n",
	     "bad.json:3: operators: expected an object, got an array");

	_bad("billing",
	     HEAD
	     "\t\"billing\": {\n"
	     "\t\t\"gpu_weights\": {\"h100\": -1, \"a 100\": 1, "
	     "\"l40s\": \"cheap\"},\n"
	     "\t\t\"default_gpu_weight\": 1e999,\n"
	     "\t\t\"qos_weights\": [],\n"
	     "\t\t\"currency\": \"EUR\"\n"
	     "\t},\n"
	     "\t\"classes\": {\"c\": {}}\n"
	     "}\n",
	     "bad.json:4: billing.gpu_weights.h100: must be >= 0, got -1\n"
	     "bad.json:4: billing.gpu_weights.a 100: not a valid GPU type "
	     "name (1-63 characters of [A-Za-z0-9_.-])\n"
	     "bad.json:4: billing.gpu_weights.l40s: expected a number, got "
	     "the string \"cheap\"\n"
	     "bad.json:5: billing.default_gpu_weight: must be a finite "
	     "number, got 1e999\n"
	     "bad.json:6: billing.qos_weights: expected an object, got an "
	     "array\n"
	     "bad.json:7: billing.currency: unknown key");
	_bad("billing qos_weights",
	     HEAD
	     "\t\"billing\": {\n"
	     "\t\t\"qos_weights\": {\"high\": -2, \"lo w\": 1},\n"
	     "\t\t\"default_gpu_weight\": \"1\"\n"
	     "\t},\n"
	     "\t\"classes\": {\"c\": {}}\n"
	     "}\n",
	     "bad.json:4: billing.qos_weights.high: must be >= 0, got -2\n"
	     "bad.json:4: billing.qos_weights.lo w: not a valid QOS name "
	     "(1-63 characters of [A-Za-z0-9_.-])\n"
	     "bad.json:5: billing.default_gpu_weight: expected a number, "
	     "got the string \"1\"");
	_bad("billing not an object",
	     HEAD
	     "\t\"billing\": 1,\n"
	     "\t\"classes\": {\"c\": {}}\n"
	     "}\n",
	     "bad.json:3: billing: expected an object, got the integer 1");

	/* 150 unknown keys: 100 errors and a note. */
	n = (size_t) snprintf(text, sizeof(text),
			      HEAD "\t\"classes\": {\"c\": {\n");
	for (int i = 0; i < 150; i++)
		n += (size_t) snprintf(text + n, sizeof(text) - n,
				       "\t\t\"k%03d\": 1%s\n", i,
				       i < 149 ? "," : "");
	snprintf(text + n, sizeof(text) - n, "\t}}\n}\n");
	{
		struct aif_load_report r;
		struct aif_policy *p;
		char line[1024];

		_write("bad.json", text);
		p = aif_policy_load("bad.json", &nss.resolver, &r);
		ok(p == NULL, "150 errors: refused");
		is_int(r.nerrors, 101, "100 errors kept, and a note");
		if (r.nerrors == 101) {
			aif_load_error_format(&r.errors[0], line,
					      sizeof(line));
			is_str(line, "bad.json:4: classes.c.k000: unknown key",
			       "the first error");
			aif_load_error_format(&r.errors[99], line,
					      sizeof(line));
			is_str(line, "bad.json:103: classes.c.k099: unknown "
			       "key", "the 100th error");
			aif_load_error_format(&r.errors[100], line,
					      sizeof(line));
			is_str(line, "bad.json: 50 more errors not shown",
			       "the note");
		}
		aif_load_report_free(&r);
	}
}

/* ------------------------------------------------------------------ */
/* Classes                                                              */

static void _test_classes(void)
{
	_bad("class names and shapes",
	     HEAD
	     "\t\"classes\": {\n"
	     "\t\t\"start up\": {},\n"
	     "\t\t\"c\": [],\n"
	     "\t\t\"d\": {\n"
	     "\t\t\t\"max_gpu\": 8\n"
	     "\t\t}\n"
	     "\t}\n"
	     "}\n",
	     "bad.json:4: classes.start up: not a valid class name (1-63 "
	     "characters of [A-Za-z0-9_.-])\n"
	     "bad.json:5: classes.c: expected an object, got an array\n"
	     "bad.json:7: classes.d.max_gpu: unknown key");
	_bad("an integer written 1.0",
	     HEAD
	     "\t\"classes\": {\n"
	     "\t\t\"c\": {\n"
	     "\t\t\t\"max_gpus_per_job\": 1.0\n"
	     "\t\t}\n"
	     "\t}\n"
	     "}\n",
	     "bad.json:5: classes.c.max_gpus_per_job: expected an integer, "
	     "got the number 1.0");
	_bad("an integer written \"8\"",
	     HEAD
	     "\t\"classes\": {\n"
	     "\t\t\"c\": {\n"
	     "\t\t\t\"max_gpus_per_job\": \"8\"\n"
	     "\t\t}\n"
	     "\t}\n"
	     "}\n",
	     "bad.json:5: classes.c.max_gpus_per_job: expected an integer, "
	     "got the string \"8\"");
	_bad("a balance_port that is no port",
	     HEAD
	     "\t\"balance_port\": 65536,\n"
	     "\t\"classes\": { \"c\": { } }\n"
	     "}\n",
	     "bad.json:3: balance_port: must be an integer from 1 to 65535, "
	     "got 65536");
	_bad("metrics: a relative path, a file node_exporter would not read, an interval too short, a key it does not know",
	     HEAD
	     "\t\"metrics\": { \"file\": \"aif.prom\", \"interval\": 1, \"port\": 9 },\n"
	     "\t\"classes\": { \"c\": { } }\n"
	     "}\n",
	     "bad.json:3: metrics.file: must be an absolute path of at most 255 bytes\n"
	     "bad.json:3: metrics.interval: must be an integer from 5 to 3600, got 1\n"
	     "bad.json:3: metrics.port: unknown key");
	_bad("metrics: not a .prom file",
	     HEAD
	     "\t\"metrics\": { \"file\": \"/var/lib/aif.txt\" },\n"
	     "\t\"classes\": { \"c\": { } }\n"
	     "}\n",
	     "bad.json:3: metrics.file: must end in \".prom\" (node_exporter's textfile collector reads only those)");
	_bad("metrics without a file",
	     HEAD
	     "\t\"metrics\": { \"interval\": 30 },\n"
	     "\t\"classes\": { \"c\": { } }\n"
	     "}\n",
	     "bad.json:3: metrics.file: missing (required)");
	_bad("an integer json-c saturates",
	     HEAD
	     "\t\"classes\": {\n"
	     "\t\t\"c\": {\n"
	     "\t\t\t\"max_gpus_per_job\": 99999999999999999999\n"
	     "\t\t}\n"
	     "\t}\n"
	     "}\n",
	     "bad.json:5: classes.c.max_gpus_per_job: must be an integer "
	     "from 0 to 4294967294, got 99999999999999999999");
	_bad("integers out of range",
	     HEAD
	     "\t\"classes\": {\n"
	     "\t\t\"d\": {\n"
	     "\t\t\t\"max_gpus_per_job\": -1,\n"
	     "\t\t\t\"max_gpus_per_node\": 4294967295,\n"
	     "\t\t\t\"max_nodes_per_job\": 0\n"
	     "\t\t},\n"
	     "\t\t\"e\": {\n"
	     "\t\t\t\"max_gpus_per_job\": -99999999999999999999,\n"
	     "\t\t\t\"max_gpus_per_node\": 1e2,\n"
	     "\t\t\t\"max_nodes_per_job\": true\n"
	     "\t\t}\n"
	     "\t}\n"
	     "}\n",
	     "bad.json:5: classes.d.max_gpus_per_job: must be an integer from "
	     "0 to 4294967294, got -1\n"
	     "bad.json:6: classes.d.max_gpus_per_node: must be an integer "
	     "from 0 to 4294967294, got 4294967295\n"
	     "bad.json:7: classes.d.max_nodes_per_job: must be an integer "
	     "from 1 to 4294967294, got 0\n"
	     "bad.json:10: classes.e.max_gpus_per_job: must be an integer "
	     "from 0 to 4294967294, got -99999999999999999999\n"
	     "bad.json:11: classes.e.max_gpus_per_node: expected an integer, "
	     "got the number 1e2\n"
	     "bad.json:12: classes.e.max_nodes_per_job: expected an integer, "
	     "got true");
	_bad("times",
	     HEAD
	     "\t\"classes\": {\n"
	     "\t\t\"c\": {\n"
	     "\t\t\t\"max_time\": \"1:60:00\",\n"
	     "\t\t\t\"default_time\": \"0\"\n"
	     "\t\t},\n"
	     "\t\t\"d\": {\n"
	     "\t\t\t\"max_time\": 0,\n"
	     "\t\t\t\"default_time\": 525601\n"
	     "\t\t},\n"
	     "\t\t\"e\": {\n"
	     "\t\t\t\"max_time\": [\"24:00:00\"],\n"
	     "\t\t\t\"default_time\": 1.5\n"
	     "\t\t}\n"
	     "\t}\n"
	     "}\n",
	     "bad.json:5: classes.c.max_time: must be a time (\"MM\", "
	     "\"HH:MM:SS\", \"D-HH:MM:SS\", \"UNLIMITED\" or whole minutes), "
	     "got \"1:60:00\"\n"
	     "bad.json:6: classes.c.default_time: must be at least one "
	     "minute, got \"0\"\n"
	     "bad.json:9: classes.d.max_time: must be from 1 to 525600 "
	     "minutes, got 0\n"
	     "bad.json:10: classes.d.default_time: must be from 1 to 525600 "
	     "minutes, got 525601\n"
	     "bad.json:13: classes.e.max_time: expected a time (a string "
	     "such as \"2-00:00:00\" or whole minutes), got an array\n"
	     "bad.json:14: classes.e.default_time: expected a time (a string "
	     "such as \"2-00:00:00\" or whole minutes), got the number 1.5");
	_bad("default_time above max_time",
	     HEAD
	     "\t\"classes\": {\n"
	     "\t\t\"c\": {\n"
	     "\t\t\t\"max_time\": \"1-00:00:00\",\n"
	     "\t\t\t\"default_time\": \"2-00:00:00\"\n"
	     "\t\t},\n"
	     "\t\t\"d\": {\n"
	     "\t\t\t\"max_time\": 60,\n"
	     "\t\t\t\"default_time\": \"UNLIMITED\"\n"
	     "\t\t}\n"
	     "\t}\n"
	     "}\n",
	     "bad.json:6: classes.c.default_time: 2-00:00:00 exceeds max_time "
	     "1-00:00:00\n"
	     "bad.json:10: classes.d.default_time: UNLIMITED exceeds "
	     "max_time 01:00:00");
	_bad("partitions and GPU types",
	     HEAD
	     "\t\"classes\": {\n"
	     "\t\t\"c\": {\n"
	     "\t\t\t\"partitions\": [],\n"
	     "\t\t\t\"gpu_types\": []\n"
	     "\t\t},\n"
	     "\t\t\"d\": {\n"
	     "\t\t\t\"partitions\": [\"gpu\", 7, \"gpu\"],\n"
	     "\t\t\t\"default_partition\": \"cpu\"\n"
	     "\t\t},\n"
	     "\t\t\"e\": {\n"
	     "\t\t\t\"partitions\": \"gpu\",\n"
	     "\t\t\t\"default_partition\": \"bad name\",\n"
	     "\t\t\t\"gpu_types\": [\"h100\", \"h100\"]\n"
	     "\t\t}\n"
	     "\t}\n"
	     "}\n",
	     "bad.json:5: classes.c.partitions: must not be empty\n"
	     "bad.json:6: classes.c.gpu_types: must not be empty\n"
	     "bad.json:9: classes.d.partitions[1]: expected a string, got the "
	     "integer 7\n"
	     "bad.json:9: classes.d.partitions[2]: duplicate \"gpu\" (also "
	     "[0])\n"
	     "bad.json:10: classes.d.default_partition: \"cpu\" is not one of "
	     "partitions\n"
	     "bad.json:13: classes.e.partitions: expected an array, got the "
	     "string \"gpu\"\n"
	     "bad.json:14: classes.e.default_partition: must be a name (1-63 "
	     "characters of [A-Za-z0-9_.-]), got \"bad name\"\n"
	     "bad.json:15: classes.e.gpu_types[1]: duplicate \"h100\" (also "
	     "[0])");
	_bad("QOS, flags and the budget action",
	     HEAD
	     "\t\"classes\": {\n"
	     "\t\t\"c\": {\n"
	     "\t\t\t\"qos\": \"\",\n"
	     "\t\t\t\"allowed_qos\": \"normal\",\n"
	     "\t\t\t\"require_gpus\": \"yes\",\n"
	     "\t\t\t\"exhausted_action\": \"panic\",\n"
	     "\t\t\t\"fallback_qos\": 3,\n"
	     "\t\t\t\"description\": 42\n"
	     "\t\t},\n"
	     "\t\t\"d\": {\n"
	     "\t\t\t\"exhausted_action\": \"fallback\"\n"
	     "\t\t}\n"
	     "\t}\n"
	     "}\n",
	     "bad.json:5: classes.c.qos: must be a name (1-63 characters of "
	     "[A-Za-z0-9_.-]), got \"\"\n"
	     "bad.json:6: classes.c.allowed_qos: expected an array, got the "
	     "string \"normal\"\n"
	     "bad.json:7: classes.c.require_gpus: expected true or false, got "
	     "the string \"yes\"\n"
	     "bad.json:8: classes.c.exhausted_action: must be \"refuse\" or "
	     "\"fallback\", got \"panic\"\n"
	     "bad.json:9: classes.c.fallback_qos: expected a string, got the "
	     "integer 3\n"
	     "bad.json:10: classes.c.description: expected a string, got the "
	     "integer 42\n"
	     "bad.json:13: classes.d.fallback_qos: missing (required when "
	     "exhausted_action is \"fallback\")");
	_bad("thresholds and share",
	     HEAD
	     "\t\"classes\": {\n"
	     "\t\t\"c\": {\n"
	     "\t\t\t\"thresholds\": [0.5, 0.5, 1.5, 0, \"x\"],\n"
	     "\t\t\t\"share\": 1.5\n"
	     "\t\t},\n"
	     "\t\t\"d\": {\n"
	     "\t\t\t\"thresholds\": [0.9, 0.8],\n"
	     "\t\t\t\"share\": -0.1\n"
	     "\t\t},\n"
	     "\t\t\"e\": {\n"
	     "\t\t\t\"thresholds\": {},\n"
	     "\t\t\t\"share\": \"half\"\n"
	     "\t\t}\n"
	     "\t}\n"
	     "}\n",
	     "bad.json:5: classes.c.thresholds[1]: must be above the one "
	     "before it (0.5), got 0.5\n"
	     "bad.json:5: classes.c.thresholds[2]: must be in (0, 1], got 1.5\n"
	     "bad.json:5: classes.c.thresholds[3]: must be in (0, 1], got 0\n"
	     "bad.json:5: classes.c.thresholds[4]: expected a number, got the "
	     "string \"x\"\n"
	     "bad.json:6: classes.c.share: must be in [0, 1], got 1.5\n"
	     "bad.json:9: classes.d.thresholds[1]: must be above the one "
	     "before it (0.9), got 0.8\n"
	     "bad.json:10: classes.d.share: must be in [0, 1], got -0.1\n"
	     "bad.json:13: classes.e.thresholds: expected an array, got an "
	     "object\n"
	     "bad.json:14: classes.e.share: expected a number, got the string "
	     "\"half\"");
}

/* ------------------------------------------------------------------ */
/* Projects and grants                                                  */

static void _test_projects(void)
{
	_bad("project names, shapes and references",
	     HEAD
	     "\t\"modes\": [\"playground\"],\n"
	     "\t\"sectors\": [\"health\"],\n"
	     "\t\"classes\": {\"c\": {}},\n"
	     "\t\"projects\": {\n"
	     "\t\t\"Acme\": {\"class\": \"c\", \"mode\": \"playground\"},\n"
	     "\t\t\"bad name\": {\"class\": \"c\", \"mode\": \"playground\"},\n"
	     "\t\t\"p1\": [],\n"
	     "\t\t\"p2\": {},\n"
	     "\t\t\"p3\": {\n"
	     "\t\t\t\"class\": \"nope\",\n"
	     "\t\t\t\"mode\": \"fast-lane\",\n"
	     "\t\t\t\"sector\": \"defence\",\n"
	     "\t\t\t\"desc\": \"x\"\n"
	     "\t\t}\n"
	     "\t}\n"
	     "}\n",
	     "bad.json:7: projects.Acme: project names must be lowercase "
	     "(SLURM lowercases accounts)\n"
	     "bad.json:8: projects.bad name: not a valid project name (1-63 "
	     "characters of [a-z0-9_.-])\n"
	     "bad.json:9: projects.p1: expected an object, got an array\n"
	     "bad.json:10: projects.p2.class: missing (required)\n"
	     "bad.json:10: projects.p2.mode: missing (required)\n"
	     "bad.json:12: projects.p3.class: unknown class \"nope\"\n"
	     "bad.json:13: projects.p3.mode: \"fast-lane\" is not one of "
	     "modes\n"
	     "bad.json:14: projects.p3.sector: \"defence\" is not one of "
	     "sectors\n"
	     "bad.json:15: projects.p3.desc: unknown key");
	_bad("project dates and members",
	     HEAD
	     "\t\"classes\": {\"c\": {}},\n"
	     "\t\"projects\": {\n"
	     "\t\t\"p\": {\n"
	     "\t\t\t\"class\": \"c\",\n"
	     "\t\t\t\"mode\": \"playground\",\n"
	     "\t\t\t\"valid_from\": \"2026-02-30\",\n"
	     "\t\t\t\"valid_until\": \"2026-1-1\",\n"
	     "\t\t\t\"users\": [\"alice\", \"\", \"alice\"],\n"
	     "\t\t\t\"groups\": [1]\n"
	     "\t\t},\n"
	     "\t\t\"q\": {\n"
	     "\t\t\t\"class\": \"c\",\n"
	     "\t\t\t\"mode\": \"playground\",\n"
	     "\t\t\t\"valid_from\": \"2026-03-01\",\n"
	     "\t\t\t\"valid_until\": \"2026-02-28T23:59:59Z\",\n"
	     "\t\t\t\"users\": \"alice\",\n"
	     "\t\t\t\"description\": [\"x\"]\n"
	     "\t\t},\n"
	     "\t\t\"r\": {\n"
	     "\t\t\t\"class\": \"c\",\n"
	     "\t\t\t\"mode\": \"playground\",\n"
	     "\t\t\t\"valid_from\": \"2026-01-01T24:00:00Z\",\n"
	     "\t\t\t\"valid_until\": \"1969-12-31\"\n"
	     "\t\t}\n"
	     "\t}\n"
	     "}\n",
	     "bad.json:8: projects.p.valid_from: must be a date "
	     "(\"YYYY-MM-DD\" or \"YYYY-MM-DDTHH:MM:SSZ\", UTC), got "
	     "\"2026-02-30\"\n"
	     "bad.json:9: projects.p.valid_until: must be a date "
	     "(\"YYYY-MM-DD\" or \"YYYY-MM-DDTHH:MM:SSZ\", UTC), got "
	     "\"2026-1-1\"\n"
	     "bad.json:10: projects.p.users[1]: must be a user name (1-63 "
	     "characters, no blanks, colons or control characters), got "
	     "\"\"\n"
	     "bad.json:10: projects.p.users[2]: duplicate \"alice\" (also "
	     "[0])\n"
	     "bad.json:11: projects.p.groups[0]: expected a string, got the "
	     "integer 1\n"
	     "bad.json:17: projects.q.valid_until: \"2026-02-28T23:59:59Z\" "
	     "is before valid_from \"2026-03-01\"\n"
	     "bad.json:18: projects.q.users: expected an array, got the "
	     "string \"alice\"\n"
	     "bad.json:19: projects.q.description: expected a string, got an "
	     "array\n"
	     "bad.json:24: projects.r.valid_from: must be a date "
	     "(\"YYYY-MM-DD\" or \"YYYY-MM-DDTHH:MM:SSZ\", UTC), got "
	     "\"2026-01-01T24:00:00Z\"\n"
	     "bad.json:25: projects.r.valid_until: must be a date "
	     "(\"YYYY-MM-DD\" or \"YYYY-MM-DDTHH:MM:SSZ\", UTC), got "
	     "\"1969-12-31\"");
	_bad("grants",
	     HEAD
	     "\t\"modes\": [\"playground\", \"fast-lane\"],\n"
	     "\t\"classes\": {\"c\": {}},\n"
	     "\t\"projects\": {\n"
	     "\t\t\"p\": {\n"
	     "\t\t\t\"class\": \"c\",\n"
	     "\t\t\t\"mode\": \"playground\",\n"
	     "\t\t\t\"grants\": [\n"
	     "\t\t\t\t{\"name\": \"g1\", \"gpu_hours\": 0,\n"
	     "\t\t\t\t \"valid_from\": \"2026-01-01\", \"valid_until\": "
	     "\"2026-12-31\"},\n"
	     "\t\t\t\t{\"name\": \"g1\", \"gpu_hours\": \"10\",\n"
	     "\t\t\t\t \"valid_from\": \"2026-06-01\", \"valid_until\": "
	     "\"2026-05-31\"},\n"
	     "\t\t\t\t{\"gpu_hours\": -5, \"mode\": \"large-scale\", "
	     "\"gpu_type\": \"h 100\",\n"
	     "\t\t\t\t \"price\": 1},\n"
	     "\t\t\t\t\"g4\",\n"
	     "\t\t\t\t{\"name\": \"g5\", \"gpu_hours\": 1e3,\n"
	     "\t\t\t\t \"valid_from\": \"2024-02-29\", \"valid_until\": "
	     "\"2025-02-29\"}\n"
	     "\t\t\t]\n"
	     "\t\t},\n"
	     "\t\t\"q\": {\n"
	     "\t\t\t\"class\": \"c\",\n"
	     "\t\t\t\"mode\": \"playground\",\n"
	     "\t\t\t\"grants\": {}\n"
	     "\t\t}\n"
	     "\t}\n"
	     "}\n",
	     "bad.json:10: projects.p.grants[0].gpu_hours: must be > 0, got 0\n"
	     "bad.json:12: projects.p.grants[1].gpu_hours: expected a number, "
	     "got the string \"10\"\n"
	     "bad.json:12: projects.p.grants[1].name: duplicate grant name "
	     "\"g1\" (also grants[0])\n"
	     "bad.json:13: projects.p.grants[1].valid_until: \"2026-05-31\" is "
	     "before valid_from \"2026-06-01\"\n"
	     "bad.json:14: projects.p.grants[2].gpu_hours: must be > 0, got "
	     "-5\n"
	     "bad.json:14: projects.p.grants[2].mode: \"large-scale\" is not "
	     "one of modes\n"
	     "bad.json:14: projects.p.grants[2].gpu_type: must be a name (1-63 "
	     "characters of [A-Za-z0-9_.-]), got \"h 100\"\n"
	     "bad.json:14: projects.p.grants[2].name: missing (required)\n"
	     "bad.json:14: projects.p.grants[2].valid_from: missing "
	     "(required)\n"
	     "bad.json:14: projects.p.grants[2].valid_until: missing "
	     "(required)\n"
	     "bad.json:15: projects.p.grants[2].price: unknown key\n"
	     "bad.json:16: projects.p.grants[3]: expected an object, got the "
	     "string \"g4\"\n"
	     "bad.json:18: projects.p.grants[4].valid_until: must be a date "
	     "(\"YYYY-MM-DD\" or \"YYYY-MM-DDTHH:MM:SSZ\", UTC), got "
	     "\"2025-02-29\"\n"
	     "bad.json:24: projects.q.grants: expected an array, got an "
	     "object");
}

/* ------------------------------------------------------------------ */
/* Resolution                                                           */

static void _test_resolution(void)
{
	struct aif_load_report r;
	struct aif_policy *p;
	struct group *gr;
	bool is_op;

	_bad("a user lookup that fails",
	     HEAD
	     "\t\"classes\": {\"c\": {}},\n"
	     "\t\"operators\": {\"groups\": [\"ldap-down\"]},\n"
	     "\t\"projects\": {\n"
	     "\t\t\"p\": {\"class\": \"c\", \"mode\": \"m\",\n"
	     "\t\t      \"users\": [\"alice\", \"ldap-down\"]}\n"
	     "\t}\n"
	     "}\n",
	     "bad.json:4: operators.groups[0]: cannot look up group "
	     "\"ldap-down\": Input/output error\n"
	     "bad.json:7: projects.p.users[1]: cannot look up user "
	     "\"ldap-down\": Input/output error");
	_bad("a resolver out of memory",
	     HEAD
	     "\t\"classes\": {\"c\": {}},\n"
	     "\t\"operators\": {\"users\": [\"no-memory\"]}\n"
	     "}\n",
	     "bad.json: out of memory");

	/* Each name is looked up once however often it is written; a
	 * file with errors is not resolved at all. */
	_write("names.json", HEAD
	       "\t\"classes\": {\"c\": {}},\n"
	       "\t\"operators\": {\"users\": [\"alice\"], "
	       "\"groups\": [\"acme\"]},\n"
	       "\t\"projects\": {\n"
	       "\t\t\"p\": {\"class\": \"c\", \"mode\": \"m\", \"users\": "
	       "[\"alice\"], \"groups\": [\"acme\", \"empty\"]},\n"
	       "\t\t\"q\": {\"class\": \"c\", \"mode\": \"m\", \"users\": "
	       "[\"alice\", \"bob\"], \"groups\": [\"acme\"]}\n"
	       "\t}\n"
	       "}\n");
	nss.calls = 0;
	p = aif_policy_load("names.json", &nss.resolver, &r);
	ok(p != NULL, "names.json loads");
	/* alice, bob; acme (+ alice, bob), empty */
	is_int(nss.calls, 6, "each name looked up once");
	is_int(r.nwarnings, 0, "no warnings");
	if (p) {
		const struct aif_project *pp = aif_policy_project(p, "p");

		is_int(pp->ngids, 2, "p: gids of acme and empty");
		ok(pp->gids[0] == 2001 && pp->gids[1] == 2200,
		   "p: gids sorted");
	}
	aif_policy_unref(p);
	aif_load_report_free(&r);
	_write("names.json", HEAD
	       "\t\"classes\": {\"c\": {\"share\": 2}},\n"
	       "\t\"operators\": {\"users\": [\"alice\"]}\n"
	       "}\n");
	nss.calls = 0;
	aif_policy_unref(aif_policy_load("names.json", &nss.resolver, NULL));
	is_int(nss.calls, 0, "a broken file costs no lookups");

	/* The default resolver: NSS. root exists everywhere. */
	_write("nss.json", HEAD
	       "\t\"classes\": {\"c\": {}},\n"
	       "\t\"projects\": {\n"
	       "\t\t\"p\": {\"class\": \"c\", \"mode\": \"m\",\n"
	       "\t\t      \"users\": [\"root\", \"aif-no-such-user\"],\n"
	       "\t\t      \"groups\": [\"aif-no-such-group\"]}\n"
	       "\t}\n"
	       "}\n");
	p = aif_policy_load("nss.json", NULL, &r);
	if (ok(p != NULL, "NSS: loads")) {
		const struct aif_project *pp = aif_policy_project(p, "p");

		ok(pp->nuids >= 1 && pp->uids[0] == 0, "NSS: root is uid 0");
		is_str(aif_policy_user_name(p, 0), "root", "NSS: user_name 0");
	}
	is_str(_join(r.warnings, r.nwarnings),
	       "nss.json:6: projects.p.users[1]: unknown user "
	       "\"aif-no-such-user\"\n"
	       "nss.json:7: projects.p.groups[0]: unknown group "
	       "\"aif-no-such-group\"",
	       "NSS: unknown names are warnings");
	aif_policy_unref(p);
	aif_load_report_free(&r);

	gr = getgrnam("root");
	_write("nss.json", HEAD
	       "\t\"classes\": {\"c\": {}},\n"
	       "\t\"operators\": {\"groups\": [\"root\"]}\n"
	       "}\n");
	p = aif_policy_load("nss.json", NULL, NULL);
	is_op = p && gr && aif_policy_is_operator(p, 4242, &gr->gr_gid, 1);
	ok(!gr || is_op, "NSS: group root resolves");
	aif_policy_unref(p);
}

/* ------------------------------------------------------------------ */
/* project_dir                                                          */

static const char *const DIR_MAIN =
	HEAD
	"\t\"project_dir\": \"pd\",\n"
	"\t\"classes\": {\"c\": {}},\n"
	"\t\"projects\": {\n"
	"\t\t\"alpha\": {\"class\": \"c\", \"mode\": \"m\", "
	"\"users\": [\"alice\"]}\n"
	"\t}\n"
	"}\n";

static const char *const BETA =
	"{\n"
	"\t\"class\": \"c\",\n"
	"\t\"mode\": \"m\",\n"
	"\t\"users\": [\"bob\"]\n"
	"}\n";

/* A fresh pd/ holding the given files, and dir.json. */
static void _pd(const char *main_text, const char *name1, const char *text1,
		const char *name2, const char *text2)
{
	char path[PATH_MAX];

	_rmtree("pd");
	mkdir("pd", 0755);
	_write("dir.json", main_text);
	if (name1) {
		snprintf(path, sizeof(path), "pd/%s", name1);
		_write(path, text1);
	}
	if (name2) {
		snprintf(path, sizeof(path), "pd/%s", name2);
		_write(path, text2);
	}
}

static void _test_project_dir(void)
{
	struct aif_load_report r;
	struct aif_policy *p;
	const struct aif_project *beta, *gamma;
	char h1[AIF_SHA256_HEX_LEN], h2[AIF_SHA256_HEX_LEN];
	char want[AIF_SHA256_HEX_LEN];

	p = aif_policy_load("good-dir.json", &nss.resolver, &r);
	if (!ok(p != NULL, "good-dir.json loads")) {
		printf("# %s\n", _join(r.errors, r.nerrors));
		aif_load_report_free(&r);
		return;
	}
	is_int(r.nwarnings, 0, "good-dir.json: no warnings");
	aif_load_report_free(&r);
	is_int(aif_policy_nprojects(p), 3,
	       "3 projects: one inline, two files, the rest ignored");
	is_str(aif_policy_project_at(p, 0)->name, "alpha", "alpha first");
	beta = aif_policy_project(p, "beta");
	gamma = aif_policy_project(p, "gamma");
	ok(beta && gamma, "beta and gamma from files");
	if (beta && gamma) {
		is_str(beta->source, "good-dir.d/beta.json", "beta's source");
		is_int(beta->line, 1, "beta's line");
		is_str(aif_policy_project(p, "alpha")->source,
		       "good-dir.json", "alpha's source");
		is_int(beta->ngrants, 1, "beta's grant");
		ok(beta->klass == aif_policy_class(p, "startup"),
		   "beta's class from the main file");
		is_int(gamma->nuids, 2, "gamma: members of group acme");
		is_int(gamma->gids[0], 2001, "gamma: gid of acme");
	}
	ok(aif_policy_gpu_weight(p, "h100") < 0,
	   "no billing: no GPU weight");

	/* The hash covers the main file, then each project file's name,
	 * length and bytes, in name order. */
	{
		struct aif_sha256 c;
		uint8_t d[AIF_SHA256_LEN];
		const char *files[] = { "beta.json", "gamma.json" };
		size_t len;
		char *text, lenbuf[32], path[PATH_MAX];

		aif_sha256_init(&c);
		text = _slurp("good-dir.json", &len);
		aif_sha256_update(&c, text, len);
		for (int i = 0; i < 2; i++) {
			snprintf(path, sizeof(path), "good-dir.d/%s", files[i]);
			text = _slurp(path, &len);
			aif_sha256_update(&c, files[i], strlen(files[i]) + 1);
			snprintf(lenbuf, sizeof(lenbuf), "%zu", len);
			aif_sha256_update(&c, lenbuf, strlen(lenbuf) + 1);
			aif_sha256_update(&c, text, len);
		}
		aif_sha256_final(&c, d);
		aif_sha256_to_hex(d, want);
	}
	is_str(aif_policy_hash(p), want, "hash over the files, as documented");
	snprintf(h1, sizeof(h1), "%s", aif_policy_hash(p));
	aif_policy_unref(p);

	p = aif_policy_load("good-dir.json", &nss.resolver, NULL);
	is_str(p ? aif_policy_hash(p) : "", h1, "hash stable across loads");
	aif_policy_unref(p);

	_copy_fixture("good-dir.d/beta.json", "beta.orig");
	_write("good-dir.d/beta.json",
	       "{\n\t\"class\": \"startup\",\n\t\"mode\": \"fast-lane\",\n"
	       "\t\"users\": [\"bob\", \"carol\"]\n}\n");
	p = aif_policy_load("good-dir.json", &nss.resolver, NULL);
	snprintf(h2, sizeof(h2), "%s", p ? aif_policy_hash(p) : "");
	ok(p && strcmp(h1, h2), "hash changes when a project file changes");
	aif_policy_unref(p);
	_copy_fixture("good-dir.d/beta.json", "good-dir.d/beta.json");
	p = aif_policy_load("good-dir.json", &nss.resolver, NULL);
	is_str(p ? aif_policy_hash(p) : "", h1,
	       "and comes back when the file does");
	aif_policy_unref(p);

	/* Errors. */
	_pd(DIR_MAIN, "beta.json", BETA, NULL, NULL);
	is_str(_load_errors("dir.json"), "(loaded)", "dir.json loads");
	/* Names are resolved after each file is released: the lines of
	 * its members are kept. */
	_pd(DIR_MAIN, "beta.json",
	    "{\n\t\"class\": \"c\",\n\t\"mode\": \"m\",\n"
	    "\t\"users\": [\"bob\",\n\t\t\"nobody-here\"],\n"
	    "\t\"groups\": [\"no-group\"]\n}\n",
	    "gamma.json", "{\"class\": \"c\", \"mode\": \"m\", "
	    "\"users\": [\"ghost\"]}");
	p = aif_policy_load("dir.json", &nss.resolver, &r);
	ok(p != NULL, "unknown members in project files: loaded");
	is_str(_join(r.warnings, r.nwarnings),
	       "pd/beta.json:5: projects.beta.users[1]: unknown user "
	       "\"nobody-here\"\n"
	       "pd/beta.json:6: projects.beta.groups[0]: unknown group "
	       "\"no-group\"\n"
	       "pd/gamma.json:1: projects.gamma.users[0]: unknown user "
	       "\"ghost\"\n"
	       "pd/gamma.json:1: projects.gamma: no members: none of its users "
	       "or groups exists", "warnings name the project files' lines");
	aif_policy_unref(p);
	aif_load_report_free(&r);
	_pd(DIR_MAIN, "alpha.json", BETA, NULL, NULL);
	is_str(_load_errors("dir.json"),
	       "pd/alpha.json:1: projects.alpha: project \"alpha\" is defined "
	       "twice (also at dir.json:6)",
	       "a project in the main file and in project_dir");
	_pd(DIR_MAIN, "Beta.json", BETA, "a b.json", BETA);
	is_str(_load_errors("dir.json"),
	       "pd/Beta.json: projects.Beta: project names must be lowercase "
	       "(SLURM lowercases accounts)\n"
	       "pd/a b.json: projects.a b: not a valid project name (1-63 "
	       "characters of [a-z0-9_.-])",
	       "file names that are no project names");
	_pd(DIR_MAIN, "beta.json",
	    "{\n"
	    "\t\"class\": \"nope\",\n"
	    "\t\"mode\": \"m\",\n"
	    "\t\"users\": [\"bob\"],\n"
	    "\t\"budget\": 5\n"
	    "}\n", "gamma.json", "[]\n");
	is_str(_load_errors("dir.json"),
	       "pd/beta.json:2: projects.beta.class: unknown class \"nope\"\n"
	       "pd/beta.json:5: projects.beta.budget: unknown key\n"
	       "pd/gamma.json:1: projects.gamma: a project file must hold one "
	       "JSON object", "errors inside project files");
	_pd(DIR_MAIN, "beta.json", BETA, "gamma.json", "null");
	is_str(_load_errors("dir.json"),
	       "pd/gamma.json:1: projects.gamma: a project file must hold one "
	       "JSON object", "a project file holding null");
	_pd(DIR_MAIN,
	    "beta.json", "{\n\t\"class\": \"c\"\n\t\"mode\": \"m\"\n}\n",
	    "gamma.json",
	    "{\"class\": \"c\", \"class\": \"c\", \"mode\": \"m\"}");
	is_str(_load_errors("dir.json"),
	       "pd/beta.json:3: JSON syntax error at column 2: object value "
	       "separator ',' expected\n"
	       "pd/gamma.json:1: projects.gamma.class: duplicate key (first at "
	       "line 1)", "syntax errors and duplicate keys in project files");
	_pd(DIR_MAIN, "beta.json", BETA, NULL, NULL);
	chmod("pd/beta.json", 0666);
	is_str(_load_errors("dir.json"),
	       "pd/beta.json: writable by group or others (mode 0666); "
	       "refusing to trust it", "a project file writable by others");
	chmod("pd/beta.json", 0644);
	mkfifo("pd/fifo.json", 0644);
	is_str(_load_errors("dir.json"), "pd/fifo.json: not a regular file",
	       "a FIFO in project_dir");
	unlink("pd/fifo.json");
	chmod("pd", 0777);
	is_str(_load_errors("dir.json"),
	       "dir.json:3: project_dir: directory pd is writable by group or "
	       "others (mode 0777); refusing to trust it",
	       "a project_dir writable by others");
	chmod("pd", 0755);
	_rmtree("pd");
	is_str(_load_errors("dir.json"),
	       "dir.json:3: project_dir: cannot open directory pd: No such "
	       "file or directory", "a missing project_dir");
	_write("pd", "a file");
	is_str(_load_errors("dir.json"),
	       "dir.json:3: project_dir: cannot open directory pd: Not a "
	       "directory", "a project_dir that is a file");
	unlink("pd");

	/* Relative to the policy file's directory, not the cwd. */
	mkdir("etc", 0755);
	mkdir("etc/pd", 0755);
	_write("etc/dir.json", DIR_MAIN);
	_write("etc/pd/beta.json", "{\"class\": \"c\", \"mode\": 1}\n");
	is_str(_load_errors("etc/dir.json"),
	       "etc/pd/beta.json:1: projects.beta.mode: expected a string, "
	       "got the integer 1",
	       "project_dir is relative to the policy file");
}

/* ------------------------------------------------------------------ */
/* Limits (docs/policy-schema.md, "Limits")                             */

/* name: head, n copies of item separated by commas, tail. */
/* A policy's files as it was loaded from them (aif_policy_unchanged()). */
static void _test_unchanged(void)
{
	const struct timespec old[2] = { { 1000000000, 0 },
					 { 1000000000, 0 } };
	struct aif_policy *p;

	ok(!aif_policy_unchanged(NULL), "unchanged: not for NULL");
	p = aif_policy_load("good.json", &nss.resolver, NULL);
	ok(p && aif_policy_unchanged(p), "unchanged: a policy without "
	   "project_dir, untouched");
	aif_policy_unref(p);
	p = aif_policy_load("good-dir.json", &nss.resolver, NULL);
	ok(p && aif_policy_unchanged(p), "unchanged: a project_dir beside "
	   "names it skips, untouched");
	aif_policy_unref(p);

	_pd(DIR_MAIN, "beta.json", BETA, NULL, NULL);
	p = aif_policy_load("dir.json", &nss.resolver, NULL);
	ok(p && aif_policy_unchanged(p), "unchanged: nothing touched");
	ok(p && aif_policy_unchanged(p), "unchanged: asked twice");
	_write("dir.json", DIR_MAIN);
	ok(p && !aif_policy_unchanged(p),
	   "changed: the main file rewritten with the same bytes");
	aif_policy_unref(p);

	p = aif_policy_load("dir.json", &nss.resolver, NULL);
	utimensat(AT_FDCWD, "dir.json", old, 0);
	ok(p && !aif_policy_unchanged(p), "changed: the main file touched");
	aif_policy_unref(p);

	p = aif_policy_load("dir.json", &nss.resolver, NULL);
	_write("pd/gamma.json", BETA);
	ok(p && !aif_policy_unchanged(p), "changed: a project file added");
	aif_policy_unref(p);

	p = aif_policy_load("dir.json", &nss.resolver, NULL);
	unlink("pd/gamma.json");
	ok(p && !aif_policy_unchanged(p), "changed: a project file removed");
	aif_policy_unref(p);

	p = aif_policy_load("dir.json", &nss.resolver, NULL);
	utimensat(AT_FDCWD, "pd/beta.json", old, 0);
	ok(p && !aif_policy_unchanged(p), "changed: a project file touched");
	aif_policy_unref(p);

	p = aif_policy_load("dir.json", &nss.resolver, NULL);
	_rmtree("pd");
	ok(p && !aif_policy_unchanged(p), "changed: project_dir gone");
	aif_policy_unref(p);
}

static void _write_rep(const char *name, const char *head, const char *item,
		       size_t n, const char *tail)
{
	FILE *f;

	unlink(name);
	if (!(f = fopen(name, "w"))) {
		printf("Bail out! cannot write %s: %s\n", name,
		       strerror(errno));
		exit(1);
	}
	fputs(head, f);
	for (size_t i = 0; i < n; i++) {
		if (i)
			putc(',', f);
		fputs(item, f);
	}
	fputs(tail, f);
	if (fclose(f)) {
		printf("Bail out! cannot write %s\n", name);
		exit(1);
	}
	chmod(name, 0644);
}

/* A sparse file of size bytes: its size is refused before it is read. */
static int _sparse(const char *name, off_t size)
{
	_write(name, "");
	return truncate(name, size);
}

static void _test_limits(void)
{
	char path[64];
	int i;

	/* Counted by the scanner before json-c sees the file. */
	_write_rep("bad.json", "{\n\"x\": [", "0", 2000000, "]}\n");
	is_str(_load_errors("bad.json"),
	       "bad.json:2: more than 2000000 JSON values (the limit for a "
	       "policy and its project files together)",
	       "more than 2,000,000 values in one file");
	_write_rep("bad.json", "[", "[]", 100001, "]");
	is_str(_load_errors("bad.json"),
	       "bad.json:1: more than 100000 objects and arrays (the limit for "
	       "one file)", "more than 100,000 objects and arrays");
	_write_rep("bad.json", "[", "{}", 99999, "]");
	is_str(_load_errors("bad.json"),
	       "bad.json:1: the policy must be a JSON object",
	       "100,000 objects and arrays are parsed");

	/* The values of all files count together; past the limit, no more
	 * files are read (gamma.json would be refused). */
	_pd("", "beta.json", "", "gamma.json", "{}");
	chmod("pd/gamma.json", 0666);
	_write_rep("dir.json", HEAD "\t\"project_dir\": \"pd\",\n"
		   "\t\"classes\": {\"c\": {}},\n\t\"x\": [", "0", 1990000,
		   "]\n}\n");
	_write_rep("pd/beta.json", "{\"class\": \"c\", \"mode\": \"m\",\n"
		   "\"grants\": [", "0", 9999, "]}\n");
	is_str(_load_errors("dir.json"),
	       "dir.json:5: x: unknown key\n"
	       "pd/beta.json:2: more than 2000000 JSON values (the limit for "
	       "a policy and its project files together)",
	       "the values of the main file and the project files add up, "
	       "and the files after are not read");

	_pd(DIR_MAIN, "beta.json", BETA, NULL, NULL);
	ok(_sparse("pd/beta.json", 256 << 10) == 0,
	   "a project file of 256 KiB");
	is_str(_load_errors("dir.json"),
	       "pd/beta.json:1: JSON syntax error at column 1: NUL byte in the "
	       "file", "a project file of 256 KiB is read");
	ok(_sparse("pd/beta.json", (256 << 10) + 1) == 0,
	   "a project file of 256 KiB + 1");
	is_str(_load_errors("dir.json"),
	       "pd/beta.json: file is larger than 256 KiB (the limit for a "
	       "project file)", "a project file over 256 KiB");

	/* 256 files of 256 KiB and the main file: over 64 MiB together,
	 * refused by their sizes before any is read. */
	_pd(DIR_MAIN, NULL, NULL, NULL, NULL);
	for (i = 0; i < 256; i++) {
		snprintf(path, sizeof(path), "pd/p%03d.json", i);
		if (_sparse(path, 256 << 10))
			break;
	}
	is_int(i, 256, "256 sparse project files");
	is_str(_load_errors("dir.json"),
	       "dir.json:3: project_dir: the policy's files are larger than 64 "
	       "MiB together (the limit for a policy and its project files)",
	       "more than 64 MiB in all files");

	/* Files are counted before any is read. */
	_pd(DIR_MAIN, NULL, NULL, NULL, NULL);
	for (i = 0; i <= 100000; i++) {
		int fd;

		snprintf(path, sizeof(path), "pd/p%06d.json", i);
		if ((fd = open(path, O_WRONLY | O_CREAT, 0644)) < 0)
			break;
		close(fd);
	}
	is_int(i, 100001, "100,001 project files");
	is_str(_load_errors("dir.json"),
	       "dir.json:3: project_dir: more than 100000 project files in pd "
	       "(the limit)", "more than 100,000 project files");
	_rmtree("pd");
}

/* ------------------------------------------------------------------ */
/* Whose files we trust                                                 */

static void _skip(int n, const char *why)
{
	for (int i = 0; i < n; i++)
		printf("ok %d # skip %s\n", ++tap_n, why);
}

static void _chown(const char *path, uid_t uid)
{
	if (chown(path, uid, (gid_t) -1)) {
		printf("Bail out! chown %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

/* Files and directories owned by someone else: needs root. */
static void _test_owners(void)
{
	struct aif_load_report r;
	struct aif_policy *p;

	if (geteuid() != 0) {
		_skip(7, "not root: cannot give files away");
		return;
	}
	_copy_fixture("good.json", "own.json");
	_chown("own.json", 12345);
	is_str(_load_errors("own.json"),
	       "own.json: owned by uid 12345; a policy file must be owned by "
	       "root or by the user slurmctld runs as (uid 0)",
	       "a policy file owned by someone else");

	_pd(DIR_MAIN, "beta.json", BETA, NULL, NULL);
	_chown("pd/beta.json", 12345);
	is_str(_load_errors("dir.json"),
	       "pd/beta.json: owned by uid 12345; a project file must be owned "
	       "by root or by the user slurmctld runs as (uid 0)",
	       "a project file owned by someone else");
	_chown("pd/beta.json", 0);
	_chown("pd", 12345);
	is_str(_load_errors("dir.json"),
	       "dir.json:3: project_dir: directory pd is owned by uid 12345; "
	       "it must be owned by root or by the user slurmctld runs as (uid "
	       "0)",
	       "a project_dir owned by someone else");

	/* Run as uid 12345 (slurmctld as SlurmUser): its own files and
	 * root's are trusted, nobody else's. The tree must be reachable. */
	chmod(tmpdir, 0711);
	_chown("own.json", 12345);
	_chown("pd/beta.json", 12346);
	if (!ok(seteuid(12345) == 0, "seteuid 12345"))
		goto out;
	p = aif_policy_load("own.json", &nss.resolver, &r);
	ok(p != NULL, "as uid 12345: its own policy file loads");
	aif_policy_unref(p);
	aif_load_report_free(&r);
	p = aif_policy_load("good.json", &nss.resolver, NULL);
	ok(p != NULL, "as uid 12345: root's policy file loads");
	aif_policy_unref(p);
	is_str(_load_errors("dir.json"),
	       "pd/beta.json: owned by uid 12346; a project file must be owned "
	       "by root or by the user slurmctld runs as (uid 12345)",
	       "as uid 12345: a project file of uid 12346");
	if (seteuid(0)) {
		printf("Bail out! cannot get root back\n");
		exit(1);
	}
out:
	chmod(tmpdir, 0700);
	_rmtree("pd");
	unlink("own.json");
}

/*
 * Every directory on the path to a file the loader trusts must be owned
 * by root or by the loader's user: the owner of a 0755 directory can
 * rename the policy away and put there a symlink to an older root-owned
 * one. 65534 is nobody. Needs root.
 */
static void _test_dir_owners(void)
{
	char real[PATH_MAX], want[PATH_MAX * 3];
	const char *tail = "must be owned by root or by the user slurmctld "
			   "runs as (uid 0)";

	if (geteuid() != 0) {
		_skip(10, "not root: cannot give directories away");
		return;
	}
	if (!realpath(".", real))
		snprintf(real, sizeof(real), "?");

	/* The directory holding the policy file. */
	mkdir("odir", 0755);
	_copy_fixture("good.json", "odir/p.json");
	is_str(_load_errors("odir/p.json"), "(loaded)",
	       "a policy file in root's directory loads");
	_chown("odir", 65534);
	snprintf(want, sizeof(want), "odir/p.json: directory odir is owned by "
		 "uid 65534; every directory on the path to a policy file %s",
		 tail);
	is_str(_load_errors("odir/p.json"), want,
	       "a policy file in a directory of mode 0755 owned by nobody");

	/* The swap: the directory's owner renames the policy away and
	 * links an older root-owned one in its place. */
	_copy_fixture("good.json", "old.json");
	ok(rename("odir/p.json", "odir/p.json.new") == 0 &&
	   symlink("../old.json", "odir/p.json") == 0,
	   "nobody's directory: the policy swapped for a link to an older "
	   "one");
	is_str(_load_errors("odir/p.json"), want,
	       "a link to root's old policy, in nobody's directory, is "
	       "refused");

	/* project_dir in nobody's directory. */
	mkdir("odir/pd", 0755);
	_write("odir/pd/beta.json", BETA);
	_write("pdo.json", HEAD
	       "\t\"project_dir\": \"odir/pd\",\n"
	       "\t\"classes\": {\"c\": {}},\n"
	       "\t\"projects\": {\n"
	       "\t\t\"alpha\": {\"class\": \"c\", \"mode\": \"m\", "
	       "\"users\": [\"alice\"]}\n"
	       "\t}\n"
	       "}\n");
	snprintf(want, sizeof(want), "pdo.json:3: project_dir: directory odir "
		 "is owned by uid 65534; every directory on the path to a "
		 "project file %s", tail);
	is_str(_load_errors("pdo.json"), want,
	       "a project_dir in a directory owned by nobody");
	unlink("pdo.json");

	/* A directory further up. */
	mkdir("anc", 0755);
	mkdir("anc/sub", 0755);
	_copy_fixture("good.json", "anc/sub/p.json");
	_chown("anc", 65534);
	snprintf(want, sizeof(want), "anc/sub/p.json: directory anc is owned "
		 "by uid 65534; every directory on the path to a policy file "
		 "%s", tail);
	is_str(_load_errors("anc/sub/p.json"), want,
	       "a directory further up owned by nobody");
	_chown("anc", 0);
	chmod("anc", 0777);
	is_str(_load_errors("anc/sub/p.json"), "anc/sub/p.json: directory anc "
	       "is writable by group or others (mode 0777) and not sticky; "
	       "refusing to trust the files under it",
	       "a directory further up writable by others, not sticky");
	chmod("anc", 01777);
	is_str(_load_errors("anc/sub/p.json"), "(loaded)",
	       "a sticky directory further up (as /tmp) is trusted");
	chmod("anc", 0755);

	/* The directory of a symlink's target. */
	mkdir("tdir", 0755);
	_copy_fixture("good.json", "tdir/p.json");
	_chown("tdir", 65534);
	ok(symlink("tdir/p.json", "tlink.json") == 0, "symlink tlink.json");
	snprintf(want, sizeof(want), "tlink.json: directory %s/tdir (of the "
		 "symlink's target %s/tdir/p.json) is owned by uid 65534; "
		 "every directory on the path to a policy file %s", real, real,
		 tail);
	is_str(_load_errors("tlink.json"), want,
	       "a symlink to a file in nobody's directory");

	_chown("odir", 0);
	_chown("tdir", 0);
	_rmtree("odir");
	_rmtree("anc");
	_rmtree("tdir");
	unlink("old.json");
	unlink("tlink.json");
}

static void _test_trust(void)
{
	char real[PATH_MAX], want[PATH_MAX * 3];
	const char *modes[] = { "0777", "0775", "0757", "1777" };

	/* The directory holding the policy file. */
	mkdir("wdir", 0755);
	_copy_fixture("good.json", "wdir/p.json");
	is_str(_load_errors("wdir/p.json"), "(loaded)",
	       "a policy file in a directory of mode 0755");
	for (size_t i = 0; i < sizeof(modes) / sizeof(*modes); i++) {
		chmod("wdir", (mode_t) strtol(modes[i], NULL, 8));
		snprintf(want, sizeof(want), "wdir/p.json: directory wdir is "
			 "writable by group or others (mode %s); refusing to "
			 "trust the files in it", modes[i]);
		is_str(_load_errors("wdir/p.json"), want,
		       "a policy file in a directory of mode %s", modes[i]);
	}

	/* A symlink: the directory of its target too. */
	chmod("wdir", 0777);
	if (!realpath(".", real))
		snprintf(real, sizeof(real), "?");
	ok(symlink("wdir/p.json", "wlink.json") == 0, "symlink wlink.json");
	snprintf(want, sizeof(want), "wlink.json: directory %s/wdir (of the "
		 "symlink's target %s/wdir/p.json) is writable by group or "
		 "others (mode 0777); refusing to trust it", real, real);
	is_str(_load_errors("wlink.json"), want,
	       "a symlink to a file in a directory writable by others");

	_pd(DIR_MAIN, NULL, NULL, NULL, NULL);
	_write("wdir/beta.json", BETA);
	ok(symlink("../wdir/beta.json", "pd/beta.json") == 0,
	   "symlink pd/beta.json");
	snprintf(want, sizeof(want), "pd/beta.json: directory %s/wdir (of "
		 "the symlink's target %s/wdir/beta.json) is writable by group "
		 "or others (mode 0777); refusing to trust it", real, real);
	is_str(_load_errors("dir.json"), want,
	       "a project file linked into a directory writable by others");
	chmod("wdir", 0755);
	is_str(_load_errors("dir.json"), "(loaded)",
	       "a project file linked into a safe directory");
	_rmtree("pd");
	_rmtree("wdir");
	unlink("wlink.json");
}

static void _test_format(void)
{
	struct aif_load_error e = { .file = "f.json", .line = 3,
				    .path = "a.b", .reason = "why" };
	char buf[64];

	aif_load_error_format(&e, buf, sizeof(buf));
	is_str(buf, "f.json:3: a.b: why", "format: file:line: path: reason");
	e.line = 0;
	aif_load_error_format(&e, buf, sizeof(buf));
	is_str(buf, "f.json: a.b: why", "format: no line");
	e.path[0] = '\0';
	aif_load_error_format(&e, buf, sizeof(buf));
	is_str(buf, "f.json: why", "format: no line, no path");
	e.line = 7;
	aif_load_error_format(&e, buf, sizeof(buf));
	is_str(buf, "f.json:7: why", "format: no path");
	aif_load_error_format(&e, buf, 8);
	is_str(buf, "f.json:", "format: truncated to the buffer");
}

int main(void)
{
	_setup();
	_test_good();
	_test_refcount();
	_test_limits_edge();
	_test_no_members();
	_test_files();
	_test_syntax();
	_test_top();
	_test_classes();
	_test_projects();
	_test_resolution();
	_test_project_dir();
	_test_unchanged();
	_test_limits();
	_test_owners();
	_test_dir_owners();
	_test_trust();
	_test_format();
	if (chdir("/") == 0)
		_rmtree(tmpdir);
	return done();
}
