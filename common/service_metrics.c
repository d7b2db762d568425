/*
 * slurm-aifactory: the service's Prometheus textfile (docs/metrics.md).
 *
 * Every "metrics.interval" seconds the service's own thread writes the
 * policy's "metrics.file" whole, as node_exporter's textfile collector
 * expects: into a temporary file beside it, then renamed over it, so that
 * a scrape never reads half a file. What it says: each grant's GPU-hours
 * (granted, charged, reserved, left: the names aifctl balance --json
 * uses), each project's overdraw, each class's GPUs in running jobs (as
 * the plugin last counted them in slurmctld's job list), the admission
 * decisions since the start by verdict and rule, the journal's records
 * and the age of its last sync and of the ledger's snapshot, whether
 * budgets are enforced, and the policy in force.
 *
 * Counting a decision takes a mutex of its own for a few instructions
 * (job_submit's threads); everything else runs on the service's thread.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "service_internal.h"

static const char *const verdicts[] = { "accept", "reshape", "refuse" };

void aif_svc_metrics_count(const struct aif_decision *d)
{
	struct aif_svc_metrics *m = &svc.metrics;
	const char *rule = d->rule && d->rule[0] ? d->rule : "none";
	size_t i;

	if ((unsigned) d->verdict > AIF_REFUSE)
		return;
	pthread_mutex_lock(&m->lock);
	/* Rules are the library's static strings: few, compared by text. */
	for (i = 0; i < m->nrules; i++)
		if (!strcmp(m->rules[i], rule))
			break;
	if (i == m->nrules && i < AIF_METRICS_RULES_MAX)
		m->rules[m->nrules++] = rule;
	if (i < m->nrules)
		m->count[i][d->verdict]++;
	pthread_mutex_unlock(&m->lock);
}

void aif_service_running_gpus(const char (*classes)[AIF_NAME_MAX],
			      const uint64_t *gpus, size_t n)
{
	struct aif_svc_metrics *m = &svc.metrics;

	if (n > AIF_METRICS_CLASSES_MAX)
		n = AIF_METRICS_CLASSES_MAX;
	pthread_mutex_lock(&m->lock);
	memcpy(m->classes, classes, n * sizeof(*classes));
	memcpy(m->gpus, gpus, n * sizeof(*gpus));
	m->nclasses = n;
	m->running_known = true;
	pthread_mutex_unlock(&m->lock);
}

static void _amount(FILE *f, aif_amount_t a)
{
	char buf[AIF_AMOUNT_STR_MAX];

	aif_amount_format(a, buf, sizeof(buf));
	fprintf(f, "%s\n", buf);
}

static void _help(FILE *f, const char *name, const char *type,
		  const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void _grants(FILE *f, const struct aif_policy *p)
{
	struct aif_grant_balance g[AIF_LEDGER_PARTS_MAX];
	struct aif_project_balance sum;
	static const char *const states[] = { "granted", "charged",
					      "reserved", "left" };

	_help(f, "aifactory_grant_gpu_hours", "gauge",
	      "GPU-hours of a project's grant: granted, charged, reserved by the liens of pending and running jobs, and left.");
	for (size_t i = 0; i < aif_policy_nprojects(p); i++) {
		const struct aif_project *proj = aif_policy_project_at(p, i);
		size_t n;

		if (aif_ledger_balance(svc.ledger, proj->name, g,
				       AIF_LEDGER_PARTS_MAX, &sum))
			continue;
		n = sum.ngrants < AIF_LEDGER_PARTS_MAX ? sum.ngrants :
			AIF_LEDGER_PARTS_MAX;
		for (size_t k = 0; k < n; k++) {
			aif_amount_t v[] = { g[k].granted, g[k].charged,
					     g[k].reserved, g[k].left };

			if (!g[k].active)
				continue;
			for (size_t s = 0; s < 4; s++) {
				fprintf(f, "aifactory_grant_gpu_hours{project=\"%s\",grant=\"%s\",state=\"%s\"} ",
					proj->name, g[k].name, states[s]);
				_amount(f, v[s]);
			}
		}
	}
	_help(f, "aifactory_project_overdraw_gpu_hours", "gauge",
	      "GPU-hours charged to a project that no grant paid.");
	for (size_t i = 0; i < aif_policy_nprojects(p); i++) {
		const struct aif_project *proj = aif_policy_project_at(p, i);

		if (aif_ledger_balance(svc.ledger, proj->name, NULL, 0, &sum))
			continue;
		fprintf(f, "aifactory_project_overdraw_gpu_hours{project=\"%s\"} ",
			proj->name);
		_amount(f, sum.overdraw);
	}
}

static void _counts(FILE *f, const struct aif_policy *p)
{
	struct aif_svc_metrics *m = &svc.metrics;

	pthread_mutex_lock(&m->lock);
	_help(f, "aifactory_decisions_total", "counter",
	      "Admission decisions since slurmctld started, by verdict and by the rule that decided.");
	for (size_t i = 0; i < m->nrules; i++)
		for (size_t v = 0; v < 3; v++)
			if (m->count[i][v])
				fprintf(f, "aifactory_decisions_total{verdict=\"%s\",rule=\"%s\"} %" PRIu64 "\n",
					verdicts[v], m->rules[i], m->count[i][v]);
	if (m->running_known) {
		_help(f, "aifactory_class_running_gpus", "gauge",
		      "GPUs allocated to a class's running jobs, at the last walk of slurmctld's jobs.");
		for (size_t i = 0; i < aif_policy_nclasses(p); i++) {
			const char *name = aif_policy_class_at(p, i)->name;
			uint64_t gpus = 0;

			for (size_t k = 0; k < m->nclasses; k++)
				if (!strcmp(m->classes[k], name))
					gpus = m->gpus[k];
			fprintf(f, "aifactory_class_running_gpus{class=\"%s\"} %" PRIu64 "\n",
				name, gpus);
		}
	}
	pthread_mutex_unlock(&m->lock);
}

/* Seconds since path was last modified; -1 when it cannot be told. */
static long long _age(const char *dir, const char *name, time_t now)
{
	char path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (stat(path, &st))
		return -1;
	return now > st.st_mtime ? (long long) (now - st.st_mtime) : 0;
}

static void _journal(FILE *f, time_t now)
{
	char hash[AIF_SHA256_HEX_LEN];
	uint64_t seq = 0;
	long long age;

	if (!svc.journal_dir)
		return;
	if (svc.journal) {
		aif_journal_last(svc.journal, &seq, hash);
		_help(f, "aifactory_journal_records_total", "counter",
		      "Records in the journal's chain: its last sequence number.");
		fprintf(f, "aifactory_journal_records_total %" PRIu64 "\n", seq);
	}
	age = svc.synced_at ? (long long) (now - svc.synced_at) :
		_age(svc.journal_dir, "journal", now);
	if (age >= 0) {
		_help(f, "aifactory_journal_last_sync_age_seconds", "gauge",
		      "Seconds since records were last synced to the journal.");
		fprintf(f, "aifactory_journal_last_sync_age_seconds %lld\n", age);
	}
	if ((age = _age(svc.journal_dir, "snapshot", now)) >= 0) {
		_help(f, "aifactory_snapshot_age_seconds", "gauge",
		      "Seconds since the ledger's last snapshot was written.");
		fprintf(f, "aifactory_snapshot_age_seconds %lld\n", age);
	}
}

/* The text, into f. */
static void _compose(FILE *f, const struct aif_policy *p, time_t now)
{
	_grants(f, p);
	_counts(f, p);
	_journal(f, now);
	_help(f, "aifactory_budgets_enforced", "gauge",
	      "1 while GPU-hour budgets are enforced; 0 while they are closed because the journal cannot be read or written.");
	fprintf(f, "aifactory_budgets_enforced %d\n",
		!aif_ledger_budgets_closed(svc.ledger, NULL, 0));
	_help(f, "aifactory_policy_info", "gauge",
	      "The policy in force, by the SHA-256 of its files.");
	fprintf(f, "aifactory_policy_info{sha256=\"%s\"} 1\n", aif_policy_hash(p));
	_help(f, "aifactory_metrics_written_timestamp_seconds", "gauge",
	      "When slurmctld wrote this file.");
	fprintf(f, "aifactory_metrics_written_timestamp_seconds %lld\n",
		(long long) now);
}

/* Write path whole, by rename: 0, or an errno. */
static int _write(const char *path, const struct aif_policy *p, time_t now)
{
	char tmp[4096];
	FILE *f;
	int fd, err = 0;

	if ((size_t) snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		  0644);
	if (fd < 0)
		return errno;
	if (!(f = fdopen(fd, "w"))) {
		err = errno;
		close(fd);
		unlink(tmp);
		return err;
	}
	_compose(f, p, now);
	if (fflush(f) || ferror(f))
		err = errno ? errno : EIO;
	if (fclose(f) && !err)
		err = errno;
	if (!err && rename(tmp, path))
		err = errno;
	if (err)
		unlink(tmp);
	return err;
}

void aif_svc_metrics_due(struct timespec *due)
{
	struct aif_policy *p = svc.policy;
	unsigned interval = AIF_METRICS_INTERVAL;

	clock_gettime(CLOCK_MONOTONIC, due);
	if (p)
		aif_policy_metrics(p, &interval);
	due->tv_sec += interval;
}

void aif_svc_metrics_write(void)
{
	struct aif_policy *p = aif_service_policy();
	const char *path = aif_policy_metrics(p, NULL);
	int err;

	if (!path) {
		aif_policy_unref(p);
		return;
	}
	err = _write(path, p, time(NULL));
	/* Said once per change: a full disk must not fill the log too. */
	if (err && err != svc.metrics.last_err)
		svc.hooks.error("aifactory: metrics file %s NOT written: %s",
				path, strerror(err));
	else if (!err && svc.metrics.last_err)
		svc.hooks.info("aifactory: metrics file %s written again", path);
	svc.metrics.last_err = err;
	aif_policy_unref(p);
}
