/*
 * bench_record: what a submission costs in slurmctld's threads with the
 * decision record on, without a cluster. A benchmark, not a test: it
 * prints numbers and never fails because they are slow.
 *
 *   bench_record [-i SUBMISSIONS] [-r RATE] [DIR]
 *	writes a small policy (one metered project of root's) into DIR
 *	(default: a temporary directory), starts the library's service with
 *	its journal there, and submits SUBMISSIONS jobs (default 20000)
 *	through aif_job_submit, the call job_submit/aifactory makes, as
 *	slurmctld's RPC threads do. Prints the CPU per submission of the
 *	calling thread (admission, lien, the record queued) and of the
 *	service's thread (the record encoded, chained, written and synced),
 *	then again with no journal (no record at all). With -r, RATE
 *	submissions a second (as a busy controller sees them, so that the
 *	journal's syncs are spread as they are there), else as fast as
 *	they come, in bursts of BURST.
 *
 * Run it with DIR on the file system StateSaveLocation is on: the sync is
 * part of the cost. Exit status: 0, or 1 when it cannot run.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* mkdtemp */
#endif
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "events.h"
#include "service.h"

static const char policy_text[] =
	"{ \"version\": 1,\n"
	"  \"billing\": { \"gpu_weights\": { \"h100\": 1.0 } },\n"
	"  \"classes\": { \"startup\": { \"max_gpus_per_job\": 8,\n"
	"                \"partitions\": [\"h100\"], \"qos\": \"startup\" } },\n"
	"  \"projects\": { \"prj-00000\": { \"class\": \"startup\",\n"
	"    \"mode\": \"playground\", \"users\": [\"root\"], \"grants\": [\n"
	"      { \"name\": \"g1\", \"gpu_hours\": 100000000,\n"
	"        \"valid_from\": \"2020-01-01\", \"valid_until\": \"2099-12-31\" } ] } } }\n";

#define BURST 1000	/* submissions between two waits for the writer */

static time_t stamp;

static void _info(const char *fmt, ...)
{
}

static int _error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "bench_record: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return 0;
}

static double _cpu_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (double) ts.tv_sec * 1e9 + (double) ts.tv_nsec;
}

/* Submit n jobs; the CPU per job of this thread and of the others. */
static int _run(const char *policy, const char *journal, unsigned long n,
		unsigned long rate, double *caller_us, double *service_us)
{
	struct aif_service_hooks hooks = {
		.policy_path = policy, .journal_dir = journal,
		.cluster = "bench", .conf_stamp = &stamp,
		.info = _info, .error = _error,
	};
	double t0, p0, t1, p1, caller = 0;
	unsigned long refused = 0;

	if (aif_service_start(&hooks) || !aif_service_ledger())
		return -1;
	aif_service_flush();
	t0 = _cpu_ns(CLOCK_THREAD_CPUTIME_ID);
	p0 = _cpu_ns(CLOCK_PROCESS_CPUTIME_ID);
	for (unsigned long i = 0; i < n; i++) {
		struct aif_gpu_spec spec = { .tres_per_job = "gpu:h100:1" };
		struct aif_request r = {
			.account = "prj-00000", .partition = "h100",
			.uid = 0, .time_limit = 60, .now = time(NULL),
		};
		struct aif_decision d;

		double c0 = _cpu_ns(CLOCK_THREAD_CPUTIME_ID);

		if (aif_job_submit(&r, &spec, &d) == AIF_REFUSE)
			refused++;
		caller += _cpu_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
		if (rate)
			usleep((useconds_t) (1000000 / rate));
		/* In bursts the queue holds: none is dropped uncounted. */
		else if (i % BURST == BURST - 1)
			aif_service_flush();
	}
	t1 = _cpu_ns(CLOCK_THREAD_CPUTIME_ID);
	aif_service_flush();
	p1 = _cpu_ns(CLOCK_PROCESS_CPUTIME_ID);
	aif_service_stop();
	if (refused) {
		fprintf(stderr, "bench_record: %lu of %lu submissions refused\n",
			refused, n);
		return -1;
	}
	/* The calls alone: the pacing's sleeps are not theirs. */
	*caller_us = caller / (double) n / 1000;
	*service_us = ((p1 - p0) - (t1 - t0)) / (double) n / 1000;
	return 0;
}

static void _remove_all(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[4096];

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (unlink(path) && errno == EISDIR)
			_remove_all(path);
	}
	closedir(d);
	rmdir(dir);
}

int main(int argc, char **argv)
{
	char tmp[] = "/tmp/aif-bench-record.XXXXXX", policy[4096],
	     journal[4096];
	const char *dir = NULL;
	unsigned long n = 20000, rate = 0;
	double rec_caller, rec_service, none_caller, none_service;
	FILE *f;
	int opt, rc = 1;

	while ((opt = getopt(argc, argv, "i:r:")) != -1) {
		unsigned long v;
		char *end;

		if (opt != 'i' && opt != 'r')
			goto usage;
		errno = 0;
		v = strtoul(optarg, &end, 10);
		if (*end || errno || !v || v > 100000000)
			goto usage;
		if (opt == 'i')
			n = v;
		else
			rate = v;
	}
	if (optind < argc - 1)
		goto usage;
	if (optind == argc - 1)
		dir = argv[optind];
	else if (!(dir = mkdtemp(tmp)))
		return perror("bench_record: mkdtemp"), 1;
	snprintf(policy, sizeof(policy), "%s/aifactory.json", dir);
	snprintf(journal, sizeof(journal), "%s/aifactory", dir);
	if (!(f = fopen(policy, "w")) || fputs(policy_text, f) < 0 ||
	    fclose(f)) {
		perror(policy);
		goto out;
	}
	if (_run(policy, journal, n, rate, &rec_caller, &rec_service) ||
	    _run(policy, NULL, n, rate, &none_caller, &none_service)) {
		fprintf(stderr, "bench_record: the service did not run\n");
		goto out;
	}
	if (rate)
		printf("submissions: %lu, %lu a second, journal in %s\n", n,
		       rate, journal);
	else
		printf("submissions: %lu, in bursts of %d, journal in %s\n",
		       n, BURST, journal);
	printf("CPU per submission in us     caller  service  total\n");
	printf("  with the decision record  %7.2f  %7.2f  %5.2f\n",
	       rec_caller, rec_service, rec_caller + rec_service);
	printf("  without (no journal)      %7.2f  %7.2f  %5.2f\n",
	       none_caller, none_service, none_caller + none_service);
	printf("  the record costs          %7.2f  %7.2f  %5.2f\n",
	       rec_caller - none_caller, rec_service - none_service,
	       rec_caller + rec_service - none_caller - none_service);
	rc = 0;
out:
	if (dir == tmp)
		_remove_all(tmp);
	return rc;
usage:
	fprintf(stderr, "usage: bench_record [-i SUBMISSIONS] [-r RATE] [DIR]\n");
	return 1;
}
