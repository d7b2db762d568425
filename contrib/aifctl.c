/*
 * aifctl: the command-line tool of slurm-aifactory, for operators, users
 * and auditors. It uses the same policy library as the plugins, so what
 * it says is what slurmctld would do.
 *
 *   aifctl check [FILE]        validate a policy
 *   aifctl explain [OPTIONS]   what job_submit/aifactory would decide
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <getopt.h>
#include <grp.h>
#include <libgen.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aifactory.h"

#define MAX_GROUPS 256

static const char usage_text[] =
	"usage: aifctl check [FILE]\n"
	"       aifctl explain [--policy FILE] [-u USER] [-A PROJECT] [-p PARTITION]\n"
	"                      [-q QOS] [-t TIME] [-N NODES] [-n NTASKS]\n"
	"                      [--ntasks-per-node N] [--sockets-per-node N]\n"
	"                      [--gres=gpu[:TYPE]:N] [--gpus=[TYPE:]N]\n"
	"                      [--gpus-per-node=[TYPE:]N] [--gpus-per-task=[TYPE:]N]\n"
	"                      [--gpus-per-socket=[TYPE:]N]\n"
	"\n"
	"FILE defaults to aifactory.json next to slurm.conf ($SLURM_CONF,\n"
	"else /etc/slurm/slurm.conf).\n";

static int _usage(FILE *f)
{
	fputs(usage_text, f);
	return f == stdout ? 0 : 2;
}

/* The policy next to slurm.conf, as the plugins find it. */
static const char *_default_policy(char *buf, size_t len)
{
	const char *conf = getenv("SLURM_CONF");
	char copy[4096];

	snprintf(copy, sizeof(copy), "%s",
		 conf && conf[0] ? conf : "/etc/slurm/slurm.conf");
	snprintf(buf, len, "%s/aifactory.json", dirname(copy));
	return buf;
}

static struct aif_policy *_load(const char *path, bool quiet_ok)
{
	struct aif_load_report report = { 0 };
	struct aif_policy *p = aif_policy_load(path, NULL, &report);
	char line[AIF_ERR_MAX + 600];

	for (size_t i = 0; i < report.nwarnings; i++) {
		aif_load_error_format(&report.warnings[i], line, sizeof(line));
		fprintf(stderr, "warning: %s\n", line);
	}
	for (size_t i = 0; i < report.nerrors; i++) {
		aif_load_error_format(&report.errors[i], line, sizeof(line));
		fprintf(stderr, "%s\n", line);
	}
	if (!p)
		fprintf(stderr, "%s: refused: %zu error%s\n", path,
			report.nerrors ? report.nerrors : 1,
			report.nerrors == 1 ? "" : "s");
	aif_load_report_free(&report);
	if (p && !quiet_ok)
		printf("%s: OK: %zu classes, %zu projects, sha256 %s\n", path,
		       aif_policy_nclasses(p), aif_policy_nprojects(p),
		       aif_policy_hash(p));
	return p;
}

static int _check(int argc, char **argv)
{
	char buf[4096];
	const char *path;
	struct aif_policy *p;

	if (argc > 2)
		return _usage(stderr);
	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")))
		return _usage(stdout);
	path = argc == 2 ? argv[1] : _default_policy(buf, sizeof(buf));
	p = _load(path, false);
	if (!p)
		return 1;
	aif_policy_unref(p);
	return 0;
}

/* "--gpus=h100:2,a100:1" -> "gpu:h100:2,gpu:a100:1" (the --gres form). */
static char *_gpu_option(const char *value)
{
	/* Each item gains "gpu:"; there are at most len / 2 + 1 items. */
	size_t len = strlen(value), size = 3 * len + 8, used = 0;
	char *out = malloc(size);
	const char *s = value;

	if (!out)
		return NULL;
	do {
		size_t n = strcspn(s, ",");

		used += (size_t) snprintf(out + used, size - used, "%sgpu:%.*s",
					  used ? "," : "", (int) n, s);
		s += n;
	} while (*s++ && used < size);
	return out;
}

/* A count, or "MIN-MAX" taken at its upper end, as the plugin does. */
static int _number(const char *opt, const char *s, uint32_t *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (end != s && *end == '-' && end[1])
		v = strtoul(s = end + 1, &end, 10);
	if (end == s || *end || v > UINT32_MAX - 1) {
		fprintf(stderr, "aifctl: %s: not a count: %s\n", opt, s);
		return -1;
	}
	*out = (uint32_t) v;
	return 0;
}

static void _print_gpus(const struct aif_gpus *g, uint32_t nodes)
{
	printf("nodes:     %u\n", nodes ? nodes : 1);
	if (!g->total) {
		printf("gpus:      none\n");
		return;
	}
	printf("gpus:      %llu (", (unsigned long long) g->total);
	for (unsigned i = 0; i < g->ntypes; i++) {
		const struct aif_gpu_count *c = &g->by_type[i];

		printf("%s%s %llu", i ? ", " : "",
		       c->type[0] ? c->type : "any type",
		       (unsigned long long) c->total);
		if (c->per_node)
			printf(", %llu per node",
			       (unsigned long long) c->per_node);
	}
	printf(")\n");
}

static void _print_decision(const struct aif_decision *d)
{
	static const char *const verdicts[] = { "accept", "reshape", "refuse" };
	char t[32];

	printf("decision:  %s (rule %s)\n", verdicts[d->verdict], d->rule);
	if (d->project)
		printf("project:   %s (class %s, mode %s%s%s)\n",
		       d->project->name, d->klass->name, d->project->mode,
		       d->project->sector[0] ? ", sector " : "",
		       d->project->sector);
	if (d->verdict == AIF_REFUSE) {
		printf("message:\n%s\n", d->message);
		return;
	}
	if (d->account[0])
		printf("set:       account=%s\n", d->account);
	if (d->partition[0])
		printf("set:       partition=%s\n", d->partition);
	if (d->qos[0])
		printf("set:       qos=%s\n", d->qos);
	if (d->time_limit) {
		aif_format_minutes(d->time_limit, t, sizeof(t));
		printf("set:       time=%s\n", t);
	}
	printf("tag:       %s\n", d->tag);
}

enum {
	OPT_POLICY = 256, OPT_GRES, OPT_GPUS, OPT_GPN, OPT_GPT, OPT_GPS,
	OPT_TPN, OPT_SPN,
};

static int _explain(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "policy", required_argument, NULL, OPT_POLICY },
		{ "user", required_argument, NULL, 'u' },
		{ "account", required_argument, NULL, 'A' },
		{ "partition", required_argument, NULL, 'p' },
		{ "qos", required_argument, NULL, 'q' },
		{ "time", required_argument, NULL, 't' },
		{ "nodes", required_argument, NULL, 'N' },
		{ "ntasks", required_argument, NULL, 'n' },
		{ "ntasks-per-node", required_argument, NULL, OPT_TPN },
		{ "sockets-per-node", required_argument, NULL, OPT_SPN },
		{ "gres", required_argument, NULL, OPT_GRES },
		{ "gpus", required_argument, NULL, OPT_GPUS },
		{ "gpus-per-node", required_argument, NULL, OPT_GPN },
		{ "gpus-per-task", required_argument, NULL, OPT_GPT },
		{ "gpus-per-socket", required_argument, NULL, OPT_GPS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char buf[4096], why[AIF_ERR_MAX];
	const char *path = NULL, *user = NULL;
	char *gres = NULL, *gpus = NULL, *gpn = NULL, *gpt = NULL, *gps = NULL;
	struct aif_gpu_spec spec = { 0 };
	struct aif_request req = { .now = time(NULL) };
	struct aif_decision d;
	struct aif_policy *p = NULL;
	gid_t groups[MAX_GROUPS];
	int ngroups = MAX_GROUPS, c, rc = 2;
	struct passwd *pw;

	while ((c = getopt_long(argc, argv, "u:A:p:q:t:N:n:h", longopts,
				NULL)) != -1) {
		switch (c) {
		case OPT_POLICY: path = optarg; break;
		case 'u': user = optarg; break;
		case 'A': req.account = optarg; break;
		case 'p': req.partition = optarg; break;
		case 'q': req.qos = optarg; break;
		case 't':
			if (aif_parse_minutes(optarg, &req.time_limit)) {
				fprintf(stderr, "aifactory: -t: not a time limit: %s\n",
					optarg);
				goto out;
			}
			break;
		case 'N':
			if (_number("-N", optarg, &spec.nodes))
				goto out;
			break;
		case 'n':
			if (_number("-n", optarg, &spec.ntasks))
				goto out;
			break;
		case OPT_TPN:
			if (_number("--ntasks-per-node", optarg,
				    &spec.ntasks_per_node))
				goto out;
			break;
		case OPT_SPN:
			if (_number("--sockets-per-node", optarg,
				    &spec.sockets_per_node))
				goto out;
			break;
		case OPT_GRES: free(gres); gres = strdup(optarg); break;
		case OPT_GPUS: free(gpus); gpus = _gpu_option(optarg); break;
		case OPT_GPN: free(gpn); gpn = _gpu_option(optarg); break;
		case OPT_GPT: free(gpt); gpt = _gpu_option(optarg); break;
		case OPT_GPS: free(gps); gps = _gpu_option(optarg); break;
		case 'h': rc = _usage(stdout); goto out;
		default: rc = _usage(stderr); goto out;
		}
	}
	if (optind != argc) {
		rc = _usage(stderr);
		goto out;
	}

	pw = user ? getpwnam(user) : getpwuid(getuid());
	if (!pw) {
		fprintf(stderr, "aifctl: no such user: %s\n", user ? user : "(me)");
		goto out;
	}
	if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &ngroups) < 0)
		ngroups = MAX_GROUPS;	/* the first MAX_GROUPS are enough */
	req.uid = pw->pw_uid;
	req.gids = groups;
	req.ngids = (size_t) ngroups;

	/* sbatch puts --gres and --gpus-per-node both into tres_per_node. */
	if (gres && gpn) {
		fprintf(stderr, "aifctl: give --gres or --gpus-per-node, not both\n");
		goto out;
	}
	spec.tres_per_node = gres ? gres : gpn;
	spec.tres_per_job = gpus;
	spec.tres_per_task = gpt;
	spec.tres_per_socket = gps;
	req.nodes = spec.nodes;
	if (aif_gpus_normalise(&spec, &req.gpus, why, sizeof(why))) {
		printf("decision:  refuse (rule gres.malformed)\nmessage:\naifactory: %s\n",
		       why);
		rc = 1;
		goto out;
	}

	if (!(p = _load(path ? path : _default_policy(buf, sizeof(buf)), true)))
		goto out;
	aif_decide(p, &req, &d);
	printf("user:      %s (uid %u)\n", pw->pw_name, (unsigned) pw->pw_uid);
	_print_gpus(&req.gpus, spec.nodes);
	_print_decision(&d);
	rc = d.verdict == AIF_REFUSE ? 1 : 0;
out:
	aif_policy_unref(p);
	free(gres);
	free(gpus);
	free(gpn);
	free(gpt);
	free(gps);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return _usage(stderr);
	if (!strcmp(argv[1], "check"))
		return _check(argc - 1, argv + 1);
	if (!strcmp(argv[1], "explain"))
		return _explain(argc - 1, argv + 1);
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "help"))
		return _usage(stdout);
	fprintf(stderr, "aifctl: unknown command '%s'\n\n", argv[1]);
	return _usage(stderr);
}
