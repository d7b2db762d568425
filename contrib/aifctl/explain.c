/*
 * aifctl explain: what job_submit/aifactory would decide for a job, by
 * the very admission it runs (aif_admit), reserving nothing.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "admit.h"
#include "aifctl.h"
#include "book.h"

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
	if (d->cpus_per_gpu)
		printf("set:       cpus-per-gpu=%u\n", d->cpus_per_gpu);
	if (d->mem_per_gpu)
		printf("set:       mem-per-gpu=%uM\n", d->mem_per_gpu);
	if (d->bind[0])
		printf("set:       aif-bind=%s (AIF_BIND in a batch job's "
		       "environment)\n", d->bind);
	if (d->shaping[0])
		printf("shape:     %s\n", d->shaping);
	printf("tag:       %s\n", d->tag);
}

/*
 * The ledger explain prices a lien against (slurmctld's own is in its
 * memory): the policy's grants, plus what the journal charged and the
 * liens of the queued jobs when the journal can be read (root and
 * SlurmUser, or anyone naming a readable one with --journal). says tells
 * the user which it was. NULL only for want of memory or a bad grant.
 */
static struct aif_ledger *_explain_ledger(const struct aif_policy *p,
					  const char *dir, char *says,
					  size_t len)
{
	struct aif_ledger *ledger = aif_ledger_new();
	struct aif_book *book = NULL;
	struct aif_verify_report rep;
	char dirbuf[PATH_MAX], from[PATH_MAX + 96], why[AIF_ERR_MAX];

	snprintf(says, len, "the policy's grants, nothing charged or reserved "
		 "(only root and SlurmUser can read the journal; aifctl "
		 "balance shows what is left)");
	if (!ledger || aif_ledger_sync(ledger, p, why, sizeof(why))) {
		fprintf(stderr, "aifctl: %s\n", ledger ? why : strerror(ENOMEM));
		aif_ledger_free(ledger);
		return NULL;
	}
	if (!dir && geteuid() != 0)
		return ledger;
	if (!dir) {
		/* Without slurmctld to ask, the grants alone are priced. */
		if (aifctl_journal_dir(dirbuf, sizeof(dirbuf), from,
				       sizeof(from), true)) {
			snprintf(says, len, "the policy's grants, nothing "
				 "charged or reserved (no journal found from "
				 "'scontrol show config')");
			return ledger;
		}
		dir = dirbuf;
	}
	if (!(book = aif_book_new(NULL)) ||
	    aif_journal_replay(dir, 0, NULL, aif_book_replay, book, &rep)) {
		snprintf(says, len, "the policy's grants, nothing charged or "
			 "reserved (the journal in %.256s cannot be read: %.200s)",
			 dir, book && rep.message[0] ? rep.message :
			 strerror(errno));
		aif_book_free(book);
		return ledger;
	}
	if (aif_book_apply(book, ledger, why, sizeof(why)))
		fprintf(stderr, "aifctl: warning: %s\n", why);
	aif_book_free(book);
	if (aifctl_queued_liens(ledger))
		snprintf(says, len, "the journal in %.256s; the liens of queued "
			 "jobs are unknown (squeue failed)", dir);
	else
		snprintf(says, len, "the journal in %.256s, and the liens of "
			 "queued jobs (squeue)", dir);
	return ledger;
}

int aifctl_explain(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "policy", required_argument, NULL, OPT_POLICY },
		{ "journal", required_argument, NULL, 'J' },
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
		{ "cpus-per-task", required_argument, NULL, 'c' },
		{ "cpus-per-gpu", required_argument, NULL, OPT_CPG },
		{ "mem", required_argument, NULL, OPT_MEM },
		{ "mem-per-cpu", required_argument, NULL, OPT_MPC },
		{ "mem-per-gpu", required_argument, NULL, OPT_MPG },
		{ "aif-bind", required_argument, NULL, OPT_BIND },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char buf[4096], says[1024];
	const char *path = NULL, *user = NULL, *journal = NULL;
	char *gres = NULL, *gpus = NULL, *gpn = NULL, *gpt = NULL, *gps = NULL;
	struct aif_gpu_spec spec = { 0 };
	struct aif_request req = {
		.now = time(NULL),
		.partition_shape = aifctl_partition_shape,
		.partition_has_type = aifctl_partition_has_type,
	};
	struct aif_decision d;
	struct aif_policy *p = NULL;
	struct aif_ledger *ledger = NULL;
	gid_t gid;
	int c, rc = 2;
	struct passwd *pw;

	while ((c = getopt_long(argc, argv, "u:A:p:q:t:N:n:c:h", longopts,
				NULL)) != -1) {
		switch (c) {
		case OPT_POLICY: path = optarg; break;
		case 'J': journal = optarg; break;
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
		case 'c':
			if (_number("-c", optarg, &req.cpus_per_task))
				goto out;
			break;
		case OPT_CPG:
			if (_number("--cpus-per-gpu", optarg, &req.cpus_per_gpu))
				goto out;
			break;
		case OPT_MEM:
		case OPT_MPC:
		case OPT_MPG:
			req.mem_given = true;
			break;
		case OPT_BIND:
			req.bind_given = true;
			break;
		case 'h': rc = aifctl_usage(stdout); goto out;
		default: rc = aifctl_usage(stderr); goto out;
		}
	}
	if (optind != argc) {
		rc = aifctl_usage(stderr);
		goto out;
	}

	pw = user ? getpwnam(user) : getpwuid(getuid());
	if (!pw) {
		fprintf(stderr, "aifctl: no such user: %s\n", user ? user : "(me)");
		goto out;
	}
	/* job_submit sees the job's (primary) group only: so does explain;
	 * members of a project's groups are resolved when the policy loads. */
	gid = pw->pw_gid;
	req.uid = pw->pw_uid;
	req.gids = &gid;
	req.ngids = 1;

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
	/* as sbatch fills in min_cpus */
	req.cpus = (uint64_t) (spec.ntasks ? spec.ntasks : 1) *
		(req.cpus_per_task ? req.cpus_per_task : 1);
	req.gpus_per_task = gpt || spec.ntasks_per_gpu;

	if (!(p = aifctl_load_policy(path ? path :
				      aifctl_default_policy(buf, sizeof(buf)),
				      true)))
		goto out;
	if (!(ledger = _explain_ledger(p, journal, says, sizeof(says))))
		goto out;
	/* job_submit's admission, lien included, reserving nothing. */
	aif_admit(p, ledger, &spec, &req, AIF_ADMIT_DRY_RUN, &d);
	printf("user:      %s (uid %u)\n", pw->pw_name, (unsigned) pw->pw_uid);
	_print_gpus(&req.gpus, spec.nodes);
	printf("ledger:    %s\n", says);
	_print_decision(&d);
	rc = d.verdict == AIF_REFUSE ? 1 : 0;
out:
	aif_ledger_free(ledger);
	aif_policy_unref(p);
	free(gres);
	free(gpus);
	free(gpn);
	free(gpt);
	free(gps);
	return rc;
}
