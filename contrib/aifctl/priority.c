/*
 * aifctl priority: the SITE factor of SLURM's priority, as
 * site_factor/aifactory computes it in slurmctld (docs/priority.md):
 * every class's share and use, a project's pacing, a job's parts. Asked
 * of slurmctld on the balance port, as balance is: the ranking lives in
 * its memory. Anyone sees the classes; a project and its jobs only its
 * members and operators.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "aifctl.h"
#include "query.h"
#include "tag.h"

static int _ask_priority(const char *host, uint16_t port,
			 const char *munge_socket, uid_t server_uid, FILE *out,
			 char *why, size_t len, void *arg)
{
	return aif_query_ask_priority(host, port, munge_socket, server_uid,
				      arg, out, why, len);
}

/* A copy of a name from the command line or a tag, or false. */
static bool _name(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (!n || n >= size)
		return false;
	memcpy(dst, src, n + 1);
	return true;
}

/* The job's tag read with squeue, its SITE with sprio, then its parts
 * asked of slurmctld. */
static int _job(const char *jobid, const char *policy_path, uint16_t port)
{
	char state[32], comment[AIF_TAG_MAX + 64];
	char klass[AIF_NAME_MAX], project[AIF_NAME_MAX];
	struct aif_priority_ask ask = { .what = AIF_PRIORITY_JOB };
	long long site;
	int64_t kept;

	if (aifctl_job_tag(jobid, state, sizeof(state), comment,
			   sizeof(comment))) {
		aifctl_error_text("no job ", jobid, " that squeue shows");
		return 2;
	}
	if (aif_tag_parse(comment, klass, project)) {
		printf("job %s (%s) carries no admission tag: "
		       "site_factor/aifactory leaves its SITE alone\n",
		       jobid, state);
		return 0;
	}
	printf("job %s (%s), project %s, class %s", jobid, state, project,
	       klass);
	if (!aifctl_job_site(jobid, &site))
		printf(": sprio shows SITE %+lld\n", site);
	else
		printf(": not pending, so sprio shows no SITE\n");
	if (!aif_tag_site(comment, &kept))
		printf("an operator set its SiteFactor to %lld (site=%lld in "
		       "its AdminComment), which stays; computed, it would "
		       "be:\n", (long long) kept, (long long) kept);
	if (!_name(ask.klass, sizeof(ask.klass), klass) ||
	    !_name(ask.project, sizeof(ask.project), project))
		return 2;
	ask.fallback = aif_tag_fallback(comment);
	fflush(stdout);
	return aifctl_ask_slurmctld(policy_path, port, "priority",
				    _ask_priority, &ask);
}

int aifctl_priority(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "policy", required_argument, NULL, OPT_POLICY },
		{ "port", required_argument, NULL, OPT_PORT },
		{ "account", required_argument, NULL, 'A' },
		{ "classes", no_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct aif_priority_ask ask = { .what = AIF_PRIORITY_CLASSES };
	const char *path = NULL, *project = NULL;
	bool classes = false;
	uint16_t port = 0;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "A:h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_POLICY: path = optarg; break;
		case OPT_PORT:
			if (aifctl_port(optarg, &port))
				return 2;
			break;
		case 'A': project = optarg; break;
		case 'c': classes = true; break;
		case 'h': return aifctl_usage(stdout);
		default: return aifctl_usage(stderr);
		}
	}
	if ((path && !path[0]) || argc - optind > 1 ||
	    (classes + (project != NULL) + (optind < argc)) > 1)
		return aifctl_usage(stderr);
	if (optind < argc)
		return _job(argv[optind], path, port);
	if (project) {
		ask.what = AIF_PRIORITY_PROJECT;
		if (!_name(ask.project, sizeof(ask.project), project)) {
			aifctl_error_text("no project ", project,
					  " that you are a member of");
			return 2;
		}
	}
	return aifctl_ask_slurmctld(path, port, "priority", _ask_priority,
				    &ask);
}
