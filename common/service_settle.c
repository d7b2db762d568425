/*
 * slurm-aifactory: a job's end in the service: its run charged once
 * (aif_settle_run) and its records queued for the writer, or, while the
 * ledger is not rebuilt from its journal, the end kept (a bounded copy,
 * its runs in a hashed run-key table to find repeats) and charged once
 * it is.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service_internal.h"

/* Job ends that wait for the ledger to be rebuilt. */
#define DEFER_MAX 16384
#define DEFER_STR_MAX 4096	/* bytes kept of each of a job end's strings */

/* A job end that came while the ledger was not rebuilt: a copy. */
struct deferred {
	struct deferred *next;
	struct aif_job_end je;
	char key[AIF_RUN_KEY_MAX];
	char *str[8];		/* the strings je points to */
};

static void _free_deferred(struct deferred *d)
{
	for (size_t i = 0; i < sizeof(d->str) / sizeof(d->str[0]); i++)
		free(d->str[i]);
	free(d);
}

/* The record of a threshold crossed (logged now), to queue after its
 * charge; NULL when out of memory. */
static struct queued *_threshold(const struct aif_charge *c, size_t i,
				 const char *run_key)
{
	struct queued *q = aif_svc_queued_new(AIF_RECORD_THRESHOLD);

	svc.hooks.info("aifactory: project %s: grant %s reached %.0f%% (run %s)",
		       c->project, c->crossings[i].grant,
		       c->crossings[i].fraction * 100, run_key);
	if (!q)
		return NULL;
	aif_record_add_str(q->rec, "run", run_key);
	aif_record_add_str(q->rec, "project", c->project);
	aif_record_add_str(q->rec, "grant", c->crossings[i].grant);
	aif_record_add_int(q->rec, "permille",
			   (int64_t) (c->crossings[i].fraction * 1000 + 0.5));
	return q;
}

/* A job that will not run again gives its lien back (a repeat finds the
 * grants already lower and is clamped at zero; the rebuild corrects). */
static void _release(const struct aif_job_end *je, const struct aif_run *run)
{
	if (run->tag.has_lien == 0 &&
	    aif_ledger_release(svc.ledger, &run->tag.lien, NULL))
		svc.hooks.error("aifactory: job %u: its lien could not be released: %s",
				je->job_id, strerror(errno));
}

/*
 * Charge a run and queue its record. The run key is stored with the
 * charge, under the same lock as the look-up, so a repeat arriving while
 * the record waits for the journal is a repeat (the record is retried
 * until it is on disk, never dropped while slurmctld runs). A charge that
 * would find no room in the queue is not made: -1, the run is left for
 * SLURM's retry and jobcomp's sweep.
 */
static int _charge(const struct aif_job_end *je, const struct aif_run *run,
		   struct aif_policy *p, char *why, size_t len)
{
	const char *key = run->key;
	enum aif_settle_result res;
	struct queued *q, *crossed[AIF_LEDGER_CROSSINGS_MAX];
	size_t n;
	bool full;

	pthread_mutex_lock(&svc.lock);
	full = svc.queued >= svc.queue_max;
	pthread_mutex_unlock(&svc.lock);
	if (full) {
		char down[AIF_LEDGER_CLOSED_MAX];

		snprintf(why, len, "job %u: run %s NOT charged now: the journal's queue is full (%s); SLURM's retry or jobcomp's sweep charges it later",
			 je->job_id, key, aif_svc_why_down(down, "the journal is slow"));
		return -1;
	}
	if (!(q = aif_svc_queued_new(AIF_RECORD_CHARGE)) ||
	    !(q->charge = malloc(sizeof(*q->charge)))) {
		if (q)
			aif_svc_free_queued(q);
		snprintf(why, len, "job %u: out of memory: not charged",
			 je->job_id);
		return -1;
	}
	q->end = je->end;
	res = aif_settle_run(svc.ledger, p, run, je, q->rec, q->charge, why,
			     len);
	if (res != AIF_SETTLE_CHARGED) {
		aif_svc_free_queued(q);
		return res == AIF_SETTLE_ERROR ? -1 : 0;
	}
	pthread_mutex_lock(&svc.lock);
	if (aif_run_keys_add(svc.run_keys, key, je->end))
		snprintf(why, len, "job %u: run %s charged but not remembered (out of memory)",
			 je->job_id, key);
	pthread_mutex_unlock(&svc.lock);
	/* Built first: once queued, the charge is the writer's. */
	for (size_t i = 0; i < q->charge->ncrossings; i++)
		crossed[i] = _threshold(q->charge, i, key);
	n = q->charge->ncrossings;
	aif_svc_enqueue(q);
	for (size_t i = 0; i < n; i++)
		if (crossed[i])
			aif_svc_enqueue(crossed[i]);
	return 0;
}

/* A copy of s, bounded; NULL stays NULL. false when out of memory. */
static bool _keep_str(struct deferred *d, size_t i, const char **s)
{
	if (!*s)
		return true;
	if (!(d->str[i] = strndup(*s, DEFER_STR_MAX)))
		return false;
	*s = d->str[i];
	return true;
}

/* Keep a job end until the ledger is rebuilt. 0, 1 for a repeat of one
 * already waiting, -1 with why. */
static int _defer(const struct aif_job_end *je, const char *key, char *why,
		  size_t len)
{
	char down[AIF_LEDGER_CLOSED_MAX];
	struct deferred *d;
	bool kept;

	/* A hashed look-up: the sweep asks for every job slurmctld still
	 * remembers, under its job read lock, every 30 s. */
	pthread_mutex_lock(&svc.lock);
	if (svc.deferred_keys && aif_run_keys_has(svc.deferred_keys, key)) {
		pthread_mutex_unlock(&svc.lock);
		return 1;
	}
	kept = svc.ndeferred < DEFER_MAX;
	pthread_mutex_unlock(&svc.lock);
	if (!kept || !(d = calloc(1, sizeof(*d)))) {
		snprintf(why, len, "job %u: run %s NOT charged now: the ledger is not rebuilt (%s) and %s; SLURM's retry or jobcomp's sweep charges it later",
			 je->job_id, key,
			 aif_svc_why_down(down, "its journal does not replay"), kept ?
			 "out of memory" : "too many runs wait");
		return -1;
	}
	d->je = *je;
	snprintf(d->key, sizeof(d->key), "%s", key);
	if (!_keep_str(d, 0, &d->je.user) || !_keep_str(d, 1, &d->je.account) ||
	    !_keep_str(d, 2, &d->je.admin_comment) ||
	    !_keep_str(d, 3, &d->je.name) ||
	    !_keep_str(d, 4, &d->je.partition) ||
	    !_keep_str(d, 5, &d->je.qos) || !_keep_str(d, 6, &d->je.nodes) ||
	    !_keep_str(d, 7, &d->je.state)) {
		_free_deferred(d);
		snprintf(why, len, "job %u: out of memory: not charged",
			 je->job_id);
		return -1;
	}
	pthread_mutex_lock(&svc.lock);
	if ((!svc.deferred_keys && !(svc.deferred_keys = aif_run_keys_new())) ||
	    aif_run_keys_add(svc.deferred_keys, key, je->end)) {
		pthread_mutex_unlock(&svc.lock);
		_free_deferred(d);
		snprintf(why, len, "job %u: out of memory: not charged",
			 je->job_id);
		return -1;
	}
	d->next = svc.deferred;
	svc.deferred = d;
	svc.ndeferred++;
	pthread_mutex_unlock(&svc.lock);
	snprintf(why, len, "job %u: run %s is charged once the ledger is rebuilt (GPU-hour budgets are unavailable: %s)",
		 je->job_id, key, aif_svc_why_down(down, "its journal does not replay"));
	return 0;
}

/* The job ends that waited for the rebuild, charged now (a run the
 * journal turned out to hold is a repeat). */
void aif_svc_settle_deferred(struct aif_policy *p)
{
	struct deferred *list, *next;
	struct aif_run_keys *keys;
	struct aif_run run;
	char why[AIF_ERR_MAX];
	size_t n = 0;

	pthread_mutex_lock(&svc.lock);
	list = svc.deferred;
	svc.deferred = NULL;
	svc.ndeferred = 0;
	keys = svc.deferred_keys;
	svc.deferred_keys = NULL;
	pthread_mutex_unlock(&svc.lock);
	aif_run_keys_free(keys);
	for (; list; list = next) {
		bool seen;

		next = list->next;
		pthread_mutex_lock(&svc.lock);
		seen = aif_run_keys_has(svc.run_keys, list->key);
		pthread_mutex_unlock(&svc.lock);
		/* Read again: a run's reading is not kept while it waits. */
		if (!seen)
			aif_run_read(svc.cluster, &list->je, &run);
		if (!seen && _charge(&list->je, &run, p, why, sizeof(why)) < 0)
			svc.hooks.error("aifactory: %s", why);
		else if (!seen)
			n++;
		_free_deferred(list);
	}
	if (n)
		svc.hooks.info("aifactory: %zu runs that ended while the ledger was not rebuilt are charged",
			       n);
}

/* Job ends still kept at the last stop: each is named at error level
 * (SLURM's retry or jobcomp's sweep charges it after the restart). */
void aif_svc_drop_deferred(void)
{
	struct deferred *d, *dn;

	for (d = svc.deferred; d; d = dn) {
		dn = d->next;
		svc.hooks.error("aifactory: stopping before the ledger was rebuilt: run %s NOT charged (SLURM's retry or jobcomp's sweep charges it after the restart)",
				d->key);
		_free_deferred(d);
	}
	svc.deferred = NULL;
	svc.ndeferred = 0;
	aif_run_keys_free(svc.deferred_keys);
	svc.deferred_keys = NULL;
}

int aif_service_job_end(const struct aif_job_end *je, char *why, size_t len)
{
	struct aif_run run;	/* read once, passed down */
	const char *key = run.key;
	struct aif_policy *p;
	bool seen, waiting;
	int rc;

	why[0] = '\0';
	if (!svc.refs || !(p = aif_service_policy())) {
		snprintf(why, len, "job %u: no policy is loaded: not charged",
			 je->job_id);
		return -1;
	}
	aif_run_read(svc.cluster, je, &run);
	pthread_mutex_lock(&svc.lock);
	seen = aif_run_keys_has(svc.run_keys, key);
	waiting = !svc.replayed;
	pthread_mutex_unlock(&svc.lock);
	if (je->final)
		_release(je, &run);
	if (seen) {
		aif_policy_unref(p);
		return 1;
	}
	/* The ledger lacks the journal's charges (and runs): wait for it. */
	rc = waiting ? _defer(je, key, why, len) :
		_charge(je, &run, p, why, len);
	aif_policy_unref(p);
	return rc;
}
