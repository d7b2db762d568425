/*
 * bench_decide: what one admission decision costs in the policy library,
 * with a generated policy of many projects. A benchmark, not a test: it
 * prints numbers and never fails because they are slow.
 *
 *   bench_decide [-n PROJECTS] [-i ITERATIONS] [-j JOBS]
 *	writes a policy of PROJECTS projects (default 10000) over five
 *	classes into a temporary directory, loads it (printing the load
 *	time), then times aif_admit (normaliser, decision, lien priced
 *	as a dry run), the one admission job_submit and aifctl explain
 *	call for each submission, over four cases: accepted, reshaped
 *	(no -A), refused with several rules broken, and an unknown project.
 *	ITERATIONS (default 1000000) decisions in all, a quarter per case.
 *	Then site_factor's work (priority.c): an update over JOBS pending
 *	jobs (default 50000) of those projects, and one set() at submit.
 *   bench_decide -1 [-n PROJECTS]
 *	the same policy, then each case once to warm up and once more
 *	inside a function named _ir_<case>, for
 *	valgrind --tool=callgrind --collect-atstart=no --toggle-collect='_ir_*'
 *   bench_decide -w PATH [-n PROJECTS]
 *	only writes the policy to PATH, naming the live test cluster's real
 *	users: aif-alice is in exactly one project (prj-00000, class
 *	startup), aif-bob..aif-erin and the group aif-lab fill the others.
 *
 * Members come from a fake resolver (numbered names, numbered ids), so no
 * real user is needed. Exit status: 0, or 1 when it cannot run (bad
 * arguments, the policy does not load, a case is not decided as meant).
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* mkdtemp */
#endif
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "admit.h"
#include "aifactory.h"
#include "priority.h"
#include "settle.h"
#include "tag.h"

#define MAX_PROJECTS 100000	/* the fake ids below have room for this */
#define RING 64			/* distinct requests per case, cycled */
#define NOW ((time_t) 1780000000)	/* 2026-05-28, inside every window */

/* Fake ids: one range per kind of name. */
#define UID_USER 1000000	/* "u000123": the two members of each project */
#define UID_STAFF 3000000	/* "s00012": a consultant in ~4 projects */
#define UID_MEMBER 4000000	/* "m00123": in a project by its group only */
#define GID_GROUP 2000000	/* "grp-00123": one group per project */
#define GID_PRIMARY 6000000	/* the jobs' primary groups, in no project */

static const char *const sectors[] = {
	"health", "energy", "automotive", "robotics", "clean-tech",
	"agriculture",
};
#define NSECTORS (sizeof(sectors) / sizeof(sectors[0]))

/* Project i has class i % NCLASSES. */
static const struct {
	const char *name;
	const char *mode;
	const char *limits;	/* the class's JSON members */
} classes[] = {
	{ "startup", "playground",
	  "\"max_gpus_per_job\": 8, \"max_nodes_per_job\": 1, "
	  "\"max_time\": \"24:00:00\", \"default_time\": \"04:00:00\", "
	  "\"partitions\": [\"a100\", \"h100\"], "
	  "\"gpu_types\": [\"a100\", \"h100\"], \"qos\": \"startup\", "
	  "\"require_gpus\": true" },
	{ "sme", "fast-lane",
	  "\"max_gpus_per_job\": 16, \"max_nodes_per_job\": 2, "
	  "\"max_time\": \"2-00:00:00\", "
	  "\"partitions\": [\"h100\", \"a100\", \"all\"], \"qos\": \"sme\", "
	  "\"exhausted_action\": \"fallback\", \"fallback_qos\": \"fallback\"" },
	{ "research", "ai-for-science",
	  "\"max_gpus_per_job\": 8, \"max_gpus_per_node\": 4, "
	  "\"max_nodes_per_job\": 2, \"max_time\": \"3-00:00:00\", "
	  "\"partitions\": [\"a100\"], \"gpu_types\": [\"a100\"], "
	  "\"qos\": \"research\"" },
	{ "industry", "large-scale",
	  "\"max_gpus_per_job\": 64, \"max_gpus_per_node\": 8, "
	  "\"max_nodes_per_job\": 8, \"max_time\": \"7-00:00:00\", "
	  "\"default_time\": \"1-00:00:00\", "
	  "\"partitions\": [\"h100\", \"all\"], \"gpu_types\": [\"h100\"], "
	  "\"qos\": \"sme\", \"allowed_qos\": [\"sme\", \"fallback\"], "
	  "\"require_gpus\": true, \"thresholds\": [0.5, 0.8, 1.0]" },
	{ "public", "ai-for-science",
	  "\"max_gpus_per_job\": 32, \"max_nodes_per_job\": 4, "
	  "\"max_time\": \"5-00:00:00\", \"default_time\": \"12:00:00\", "
	  "\"partitions\": [\"a100\", \"all\"], \"qos\": \"research\", "
	  "\"share\": 0.2, \"borrow_limit\": 0.3" },
};
#define NCLASSES (sizeof(classes) / sizeof(classes[0]))
enum { CLASS_STARTUP = 0, CLASS_RESEARCH = 2 };

/* The test cluster's users other than aif-alice (tests/cluster). */
static const char *const real_users[] = {
	"aif-bob", "aif-carol", "aif-dave", "aif-erin",
};

static unsigned nprojects = 10000;

static unsigned _nstaff(void)
{
	return nprojects / 4 ? nprojects / 4 : 1;
}

/* ------------------------------------------------------------------ */
/* The policy                                                           */

static void _write_project(FILE *f, unsigned i, bool real)
{
	unsigned c = i % NCLASSES;

	fprintf(f, "    \"prj-%05u\": {\n", i);
	fprintf(f, "      \"class\": \"%s\", \"mode\": \"%s\", "
		"\"sector\": \"%s\",\n", classes[c].name, classes[c].mode,
		sectors[i % NSECTORS]);
	fprintf(f, "      \"description\": \"Generated project %u\",\n", i);
	/* One project in 97 has ended, as on a real machine. */
	fprintf(f, "      \"valid_from\": \"2026-01-01\", "
		"\"valid_until\": \"%s\",\n",
		i % 97 == 96 ? "2026-03-31" : "2030-12-31");
	if (real && i == 0)
		fprintf(f, "      \"users\": [\"aif-alice\"],\n");
	else if (real)
		fprintf(f, "      \"users\": [\"%s\", \"%s\"],%s\n",
			real_users[i % 4], real_users[(i + 1) % 4],
			i % 10 ? "" : " \"groups\": [\"aif-lab\"],");
	else
		fprintf(f, "      \"users\": [\"u%06u\", \"u%06u\", "
			"\"s%05u\"], \"groups\": [\"grp-%05u\"],\n",
			2 * i, 2 * i + 1, i % _nstaff(), i);
	/* The cluster's submitting project (aif-alice's) never runs dry. */
	fprintf(f, "      \"grants\": [ { \"name\": \"grant-2026\", "
		"\"gpu_hours\": %u, \"valid_from\": \"2026-01-01\", "
		"\"valid_until\": \"2030-12-31\" } ]\n",
		real && i == 0 ? 10000000 : 500 + i % 50 * 100);
	fprintf(f, "    }%s\n", i + 1 < nprojects ? "," : "");
}

static int _write_policy(const char *path, bool real)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		fprintf(stderr, "bench_decide: %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	fprintf(f, "{\n  \"version\": 1,\n");
	fprintf(f, "  \"modes\": [\"playground\", \"fast-lane\", "
		"\"large-scale\", \"ai-for-science\"],\n  \"sectors\": [");
	for (size_t i = 0; i < NSECTORS; i++)
		fprintf(f, "%s\"%s\"", i ? ", " : "", sectors[i]);
	fprintf(f, "],\n  \"billing\": { \"gpu_weights\": "
		"{ \"h100\": 1.0, \"a100\": 0.5 } },\n");
	fprintf(f, "  \"priority\": { \"class_weight\": 10000, "
		"\"pacing_weight\": 4000 },\n  \"classes\": {\n");
	for (size_t c = 0; c < NCLASSES; c++)
		fprintf(f, "    \"%s\": { %s }%s\n", classes[c].name,
			classes[c].limits, c + 1 < NCLASSES ? "," : "");
	fprintf(f, "  },\n  \"projects\": {\n");
	for (unsigned i = 0; i < nprojects; i++)
		_write_project(f, i, real);
	fprintf(f, "  }\n}\n");
	if (ferror(f) | fclose(f)) {
		fprintf(stderr, "bench_decide: cannot write %s\n", path);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* A fake NSS: the number in the name is the id.                        */

static int _number(const char *s, unsigned long *n)
{
	char *end;

	errno = 0;
	*n = strtoul(s, &end, 10);
	if (errno || end == s || *end || *n >= 2 * MAX_PROJECTS) {
		errno = ENOENT;
		return -1;
	}
	return 0;
}

static int _fake_user(const char *name, uid_t *uid, void *arg)
{
	unsigned long n;
	uid_t base;

	switch (name[0]) {
	case 'u': base = UID_USER; break;
	case 's': base = UID_STAFF; break;
	case 'm': base = UID_MEMBER; break;
	default: errno = ENOENT; return -1;
	}
	if (_number(name + 1, &n))
		return -1;
	*uid = base + (uid_t) n;
	return 0;
}

/* grp-N: the two users of project N and one member of its own. */
static int _fake_group(const char *name, gid_t *gid, uid_t **members,
		       size_t *nmembers, void *arg)
{
	unsigned long n;

	if (strncmp(name, "grp-", 4) || _number(name + 4, &n))
		return -1;
	if (!(*members = malloc(3 * sizeof(**members)))) {
		errno = ENOMEM;
		return -1;
	}
	(*members)[0] = UID_USER + (uid_t) (2 * n);
	(*members)[1] = UID_USER + (uid_t) (2 * n + 1);
	(*members)[2] = UID_MEMBER + (uid_t) n;
	*nmembers = 3;
	*gid = GID_GROUP + (gid_t) n;
	return 0;
}

static const struct aif_resolver fake = { _fake_user, _fake_group, NULL };

/* ------------------------------------------------------------------ */
/* The cases                                                            */

/* One submission as the plugin sees it: the GPU spec and the rest. */
struct entry {
	struct aif_gpu_spec spec;
	struct aif_request req;
	char account[AIF_NAME_MAX];
	gid_t gid;
};

struct bench_case {
	const char *name;
	const char *what;
	enum aif_verdict want;
	struct entry ring[RING];
	double ns;		/* mean per decision */
	unsigned rules;		/* lines of the message */
};

enum { ACCEPT, RESHAPE, REFUSE, UNKNOWN, NCASES };

static struct bench_case cases[NCASES] = {
	[ACCEPT] = { .name = "accept", .want = AIF_ACCEPT,
		     .what = "-A, -p, --qos, -t, --gres=gpu:h100:4" },
	[RESHAPE] = { .name = "reshape", .want = AIF_RESHAPE,
		      .what = "no -A (one project), --gpus=2: all filled in" },
	[REFUSE] = { .name = "refuse", .want = AIF_REFUSE,
		     .what = "-N 4 -t 5-0 -p all --gres=gpu:h100:8" },
	[UNKNOWN] = { .name = "unknown", .want = AIF_REFUSE,
		      .what = "-A no-such-project, user in ~4 projects" },
};

static struct aif_policy *policy;
static struct aif_ledger *ledger;	/* the policy's grants, synced */
static volatile unsigned sink;	/* keeps every result used */

/* The j-th of RING open projects of class c, spread over the policy. */
static unsigned _pick(unsigned j, unsigned c)
{
	unsigned i = (unsigned) ((unsigned long long) j * nprojects / RING);

	i -= i % NCLASSES;
	i += c;
	if (i % 97 == 96)	/* ended: take the next of its class */
		i += NCLASSES;
	while (i >= nprojects)
		i -= NCLASSES;
	return i;
}

static void _fill(struct bench_case *bc, unsigned j)
{
	struct entry *e = &bc->ring[j];
	struct aif_request *r = &e->req;
	unsigned i;

	e->gid = GID_PRIMARY + j;
	r->gids = &e->gid;
	r->ngids = 1;
	r->now = NOW;
	e->spec.nodes = 1;
	e->spec.ntasks = 1;
	switch (bc - cases) {
	case ACCEPT:
		i = _pick(j, CLASS_STARTUP);
		snprintf(e->account, sizeof(e->account), "prj-%05u", i);
		r->account = e->account;
		r->uid = UID_USER + 2 * i;
		r->partition = "h100";
		r->qos = "startup";
		r->time_limit = 120;
		e->spec.tres_per_node = "gres:gpu:h100:4";
		e->spec.ntasks = 4;
		break;
	case RESHAPE:
		i = _pick(j, CLASS_STARTUP);
		r->uid = UID_USER + 2 * i + 1;
		e->spec.tres_per_job = "gres:gpu:2";
		break;
	case REFUSE:
		i = _pick(j, CLASS_RESEARCH);
		snprintf(e->account, sizeof(e->account), "prj-%05u", i);
		r->account = e->account;
		r->uid = UID_USER + 2 * i;
		r->partition = "all";
		r->time_limit = 5 * 24 * 60;
		r->nodes = 4;
		e->spec.nodes = 4;
		e->spec.ntasks = 32;
		e->spec.tres_per_node = "gres:gpu:h100:8";
		break;
	default:
		r->account = "no-such-project";
		r->uid = UID_STAFF + j % _nstaff();
		e->spec.tres_per_job = "gres:gpu:1";
		break;
	}
}

/* What the plugin does per submission: aif_admit (here reserving
 * nothing, so that the grants never run dry). */
static int _decide_one(const struct entry *e)
{
	struct aif_request r = e->req;
	struct aif_decision d;

	return (int) aif_admit(policy, ledger, &e->spec, &r,
			       AIF_ADMIT_DRY_RUN, &d);
}

/* Run every entry once and check it is decided as the case means. */
static int _check(struct bench_case *bc)
{
	for (unsigned j = 0; j < RING; j++) {
		const struct entry *e = &bc->ring[j];
		struct aif_request r = e->req;
		struct aif_decision d;

		if (aif_admit(policy, ledger, &e->spec, &r, AIF_ADMIT_DRY_RUN,
			      &d) != bc->want ||
		    (bc - cases == UNKNOWN &&
		     strcmp(d.rule, "project.unknown"))) {
			fprintf(stderr, "bench_decide: case %s, entry %u: "
				"decided %d (%s), not as meant:\n%s\n",
				bc->name, j, d.verdict, d.rule, d.message);
			return -1;
		}
		bc->rules = 0;
		for (const char *s = d.message; *s; s++)
			bc->rules += *s == '\n';
		bc->rules += d.message[0] != '\0';
	}
	return 0;
}

static double _now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void _time_case(struct bench_case *bc, unsigned long iters)
{
	unsigned acc = 0;
	double t0 = _now_ns();

	for (unsigned long i = 0; i < iters; i++)
		acc += (unsigned) _decide_one(&bc->ring[i % RING]);
	bc->ns = (_now_ns() - t0) / (double) iters;
	sink = acc;
}

/*
 * What a budgeted job adds: its lien reserved at submit (aif_admit with
 * no dry run: the ledger's lock) and released at its end (the tag parsed back,
 * aif_ledger_release), on top of the decision. Released each time so the
 * grants never run dry.
 */
static double _time_lien(struct bench_case *bc, unsigned long iters)
{
	unsigned acc = 0;
	double t0 = _now_ns();

	for (unsigned long i = 0; i < iters; i++) {
		const struct entry *e = &bc->ring[i % RING];
		struct aif_request r = e->req;
		struct aif_decision d;
		struct aif_lien lien;

		aif_admit(policy, ledger, &e->spec, &r, 0, &d);
		if (!aif_lien_from_tag(d.tag, &lien))
			acc += !aif_ledger_release(ledger, &lien, NULL);
	}
	sink = acc;
	return (_now_ns() - t0) / (double) iters;
}

/*
 * site_factor's work, as its update() and set() call the library: the
 * ranking of the classes, then each pending job's SITE from its tag (the
 * project's pacing computed once per update); at submit, one job with its
 * project's pacing now. Tags as job_submit writes them, one in 50 on the
 * fallback QOS, one in 1000 with an operator's SiteFactor. Also the
 * lookups of update's walk of SLURM's associations: one per account.
 */
static int _time_priority(unsigned njobs, unsigned long iters)
{
	struct aif_class_use uses[NCLASSES];
	char (*tags)[256] = calloc(njobs, sizeof(*tags));
	double best = 0, sum = 0, t0;
	struct aif_ranking *r = NULL;
	int64_t acc = 0;
	const int rounds = 5;

	if (!tags) {
		fprintf(stderr, "bench_decide: out of memory\n");
		return -1;
	}
	for (unsigned k = 0; k < njobs; k++) {
		const struct aif_project *proj = aif_policy_project_at(
			policy, (unsigned) ((k * 7919ULL) % nprojects));

		aif_tag_format(proj, tags[k], sizeof(tags[k]));
		snprintf(tags[k] + strlen(tags[k]),
			 sizeof(tags[k]) - strlen(tags[k]), "%s%s",
			 k % 50 == 49 ? ",lien=none" :
			 ",lien=grant-2026:3600000,rate=h100:1000",
			 k % 1000 == 999 ? ",site=5" : "");
	}
	for (size_t c = 0; c < NCLASSES; c++) {
		snprintf(uses[c].name, sizeof(uses[c].name), "%s",
			 classes[c].name);
		uses[c].gpu_seconds = 1000.0 * (double) (c + 1);
		uses[c].capacity = 20000;
	}
	for (int round = 0; round < rounds; round++) {
		double t;

		t0 = _now_ns();
		aif_ranking_unref(r);
		if (!(r = aif_ranking_new(policy, ledger, uses, NCLASSES,
					  NOW))) {
			fprintf(stderr, "bench_decide: out of memory\n");
			free(tags);
			return -1;
		}
		for (unsigned k = 0; k < njobs; k++)
			acc += aif_ranking_job(r, tags[k], false, NULL);
		t = _now_ns() - t0;
		sum += t;
		if (!round || t < best)
			best = t;
	}
	printf("priority (site_factor/aifactory), %u projects, %u pending "
	       "jobs:\n", nprojects, njobs);
	printf("  %-8s %8.2f ms   update: the classes ranked, then every "
	       "pending job's SITE (best of %d; mean %.2f ms)\n", "update",
	       best / 1e6, rounds, sum / rounds / 1e6);
	printf("  %-8s %8.0f ns   per pending job\n", "per-job",
	       best / njobs);
	t0 = _now_ns();
	for (unsigned i = 0; i < nprojects; i++) {
		char name[AIF_NAME_MAX];

		snprintf(name, sizeof(name), "prj-%05u", i);
		acc += aif_policy_project(policy, name) != NULL;
	}
	printf("  %-8s %8.2f ms   update's walk of the associations: one "
	       "project lookup per account\n", "accounts",
	       (_now_ns() - t0) / 1e6);
	t0 = _now_ns();
	for (unsigned long i = 0; i < iters; i++)
		acc += aif_ranking_job(r, tags[i % njobs], true, NULL);
	printf("  %-8s %8.0f ns   set() at submit: one job, its project's "
	       "pacing now\n", "set", (_now_ns() - t0) / (double) iters);
	sink = (unsigned) acc;
	aif_ranking_unref(r);
	free(tags);
	return 0;
}

/*
 * For callgrind: one call of each case, each in its own function, so
 * that collecting only inside _ir_* counts exactly these decisions, and
 * each case's inclusive cost can be read under its own name. The bodies
 * differ (each its own entry), so the compiler cannot fold them into one.
 */
static __attribute__((noinline)) int _ir_accept(void)
{
	return _decide_one(&cases[ACCEPT].ring[0]);
}

static __attribute__((noinline)) int _ir_reshape(void)
{
	return _decide_one(&cases[RESHAPE].ring[0]);
}

static __attribute__((noinline)) int _ir_refuse(void)
{
	return _decide_one(&cases[REFUSE].ring[0]);
}

static __attribute__((noinline)) int _ir_unknown(void)
{
	return _decide_one(&cases[UNKNOWN].ring[0]);
}

/* ------------------------------------------------------------------ */

static void _usage(void)
{
	fprintf(stderr, "usage: bench_decide [-n PROJECTS] [-i ITERATIONS] "
		"[-j JOBS]\n"
		"       bench_decide -1 [-n PROJECTS]\n"
		"       bench_decide -w PATH [-n PROJECTS]\n");
	exit(2);
}

static unsigned long _arg(const char *s, unsigned long min, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > max)
		_usage();
	return v;
}

static int _load(const char *path)
{
	struct aif_load_report report = { 0 };
	char line[AIF_ERR_MAX + 600];
	double t0 = _now_ns();

	policy = aif_policy_load(path, &fake, &report);
	t0 = _now_ns() - t0;
	for (size_t i = 0; i < report.nerrors && i < 10; i++) {
		aif_load_error_format(&report.errors[i], line, sizeof(line));
		fprintf(stderr, "bench_decide: %s\n", line);
	}
	if (policy)
		printf("policy load: %.1f ms (aif_policy_load, %u projects, "
		       "%zu warnings)\n", t0 / 1e6, nprojects,
		       report.nwarnings);
	aif_load_report_free(&report);
	return policy ? 0 : -1;
}

int main(int argc, char **argv)
{
	unsigned long iters = 1000000;
	unsigned njobs = 50000;
	const char *write_to = NULL;
	bool once = false;
	char dir[] = "/tmp/aif-bench-decide.XXXXXX";
	char path[PATH_MAX], why[AIF_ERR_MAX];
	double total_ns = 0;
	int opt, rc = 1;

	while ((opt = getopt(argc, argv, "n:i:j:w:1")) != -1) {
		switch (opt) {
		case 'n':
			nprojects = (unsigned) _arg(optarg, NCLASSES * 2,
						    MAX_PROJECTS);
			break;
		case 'i':
			iters = _arg(optarg, NCASES, ULONG_MAX / 2);
			break;
		case 'j':
			njobs = (unsigned) _arg(optarg, 1, 10000000);
			break;
		case 'w': write_to = optarg; break;
		case '1': once = true; break;
		default: _usage();
		}
	}
	if (optind != argc)
		_usage();
	if (write_to)
		return _write_policy(write_to, true) ? 1 : 0;

	if (!mkdtemp(dir)) {
		perror("bench_decide: mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/aifactory.json", dir);
	if (_write_policy(path, false) || _load(path))
		goto out;
	if (!(ledger = aif_ledger_new()) ||
	    aif_ledger_sync(ledger, policy, why, sizeof(why))) {
		fprintf(stderr, "bench_decide: ledger: %s\n",
			ledger ? why : strerror(ENOMEM));
		goto out;
	}

	for (unsigned c = 0; c < NCASES; c++) {
		for (unsigned j = 0; j < RING; j++)
			_fill(&cases[c], j);
		if (_check(&cases[c]))
			goto out;
	}

	if (once) {
		/* _check() above was the warm-up (lazy binding, first
		 * touches); these four are the measured ones. */
		sink = (unsigned) (_ir_accept() + _ir_reshape() +
				   _ir_refuse() + _ir_unknown());
		printf("measured decisions: %d (one per case, in _ir_accept, "
		       "_ir_reshape, _ir_refuse, _ir_unknown)\n", NCASES);
		rc = 0;
		goto out;
	}

	printf("admission (aif_admit, the lien priced), %lu per case, "
	       "%d distinct requests each:\n", iters / NCASES, RING);
	for (unsigned c = 0; c < NCASES; c++) {
		_time_case(&cases[c], iters / NCASES);
		total_ns += cases[c].ns;
		printf("  %-8s %8.0f ns   %s", cases[c].name, cases[c].ns,
		       cases[c].what);
		if (cases[c].want == AIF_REFUSE)
			printf(" (%u rule%s in the message)", cases[c].rules,
			       cases[c].rules == 1 ? "" : "s");
		printf("\n");
	}
	printf("  %-8s %8.0f ns   mean of the %d cases\n", "overall",
	       total_ns / NCASES, NCASES);
	printf("  %-8s %8.0f ns   accept, then its lien reserved at submit "
	       "and released at the end\n", "lien",
	       _time_lien(&cases[ACCEPT], iters / NCASES));
	if (_time_priority(njobs, iters / NCASES))
		goto out;
	rc = 0;
out:
	aif_ledger_free(ledger);
	aif_policy_unref(policy);
	unlink(path);
	rmdir(dir);
	return rc;
}
