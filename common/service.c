/*
 * slurm-aifactory: the service in slurmctld (service.h): start, stop,
 * reload, and its one thread's loop, which hands the work to the writer,
 * the book and the refusal windows (service_internal.h says which file
 * holds what).
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* pthread_setname_np */
#endif
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"
#include "service_internal.h"

#define WATCH_SECONDS 1	/* how often the loop looks at the stamp */
/* A stamp move this soon after the start is slurmctld's own, at the end
 * of reading its configuration (about 2 s after job_submit's init). */
#define START_SECONDS 10
/* Records held in memory while the journal cannot take them (about 5 KiB
 * each, so about 40 MiB at most). Decisions and thresholds may fill half
 * of it; past that they are dropped and counted, so that charges always
 * find room; a charge past the whole is not made (the run is left for
 * SLURM's retry and jobcomp's sweep) rather than made without a record. */
#define QUEUE_MAX 8192
#define THREAD_NAME "aif_service"	/* top -H, /proc/PID/task/TID/comm */

struct aif_svc_state svc = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.load_lock = PTHREAD_MUTEX_INITIALIZER,
	.book_lock = PTHREAD_MUTEX_INITIALIZER,
	.notes_lock = PTHREAD_MUTEX_INITIALIZER,
	.ranking_lock = PTHREAD_MUTEX_INITIALIZER,
	.metrics = { .lock = PTHREAD_MUTEX_INITIALIZER },
	.wake = PTHREAD_COND_INITIALIZER,
	.flushed = PTHREAD_COND_INITIALIZER,
	.tail = &svc.head,
};

static time_t _stamp(void)
{
	return svc.hooks.conf_stamp ?
		__atomic_load_n(svc.hooks.conf_stamp, __ATOMIC_RELAXED) : 0;
}

/* Why the journal is shut, or dflt when it is not: a copy (the
 * writer changes it under lock). */
const char *aif_svc_why_down(char buf[AIF_LEDGER_CLOSED_MAX],
			     const char *dflt)
{
	pthread_mutex_lock(&svc.lock);
	snprintf(buf, AIF_LEDGER_CLOSED_MAX, "%s",
		 svc.down_why[0] ? svc.down_why : dflt);
	pthread_mutex_unlock(&svc.lock);
	return buf;
}

/* Users are told the short reason (user); the log says it all (why). */
static void _close_budgets(const char *user, const char *why)
{
	aif_ledger_close_budgets(svc.ledger, user);
	if (svc.closed)
		return;
	svc.closed = true;
	svc.hooks.error("aifactory: GPU-hour budgets are unavailable: %s; metered classes get their exhausted_action (refuse, or the fallback QOS) and job ends wait until the ledger is rebuilt (docs/ledger.md: when the journal is damaged)",
			why);
}

/*
 * Bring the journal and the ledger back: open the journal if it is shut,
 * rebuild the ledger if it is not yet (what can be read of a journal
 * that does not open goes in, so balances are not 0, but budgets stay
 * closed). Called with load_lock held, on start, on every load (a
 * reconfigure) and on the retry timer.
 */
static void _recover(struct aif_policy *p)
{
	char why[AIF_LEDGER_CLOSED_MAX + 64];

	if (!svc.journal_dir) {
		pthread_mutex_lock(&svc.lock);
		svc.replayed = true;
		pthread_mutex_unlock(&svc.lock);
		return;
	}
	if (aif_svc_open_journal()) {
		if (!svc.replayed && p && !svc.partial) {
			svc.partial = true;
			aif_svc_replay_journal(why, sizeof(why));
		}
		_close_budgets("the ledger's journal cannot be opened; the centre's operators are told", svc.down_why);
		return;
	}
	if (svc.replayed || !p)
		return;
	if (aif_svc_replay_journal(why, sizeof(why))) {
		char text[AIF_LEDGER_CLOSED_MAX];

		snprintf(text, sizeof(text), "journal %.100s does not replay: %.500s",
			 svc.journal_dir, why);
		svc.closed = false;	/* say it again, with this reason */
		_close_budgets("the ledger's journal cannot be read back whole; the centre's operators are told", text);
		aif_svc_retry_later();
		return;
	}
	pthread_mutex_lock(&svc.lock);
	svc.replayed = true;
	pthread_mutex_unlock(&svc.lock);
	aif_svc_settle_deferred(p);
	aif_ledger_open_budgets(svc.ledger);
	if (svc.closed)
		svc.hooks.info("aifactory: ledger rebuilt from journal %s: GPU-hour budgets are enforced again",
			       svc.journal_dir);
	svc.closed = false;
}

/* Load the policy file; swap it in if good, else keep the last good one. */
static int _load(void)
{
	struct aif_load_report report = { 0 };
	struct aif_policy *p, *old;
	char line[AIF_ERR_MAX + 600], why[AIF_ERR_MAX];
	int rc = -1;

	pthread_mutex_lock(&svc.load_lock);
	p = aif_policy_load(svc.path, NULL, &report);
	for (size_t i = 0; i < report.nwarnings; i++) {
		aif_load_error_format(&report.warnings[i], line, sizeof(line));
		svc.hooks.info("aifactory: warning: %s", line);
	}
	for (size_t i = 0; i < report.nerrors; i++) {
		aif_load_error_format(&report.errors[i], line, sizeof(line));
		svc.hooks.error("aifactory: %s", line);
	}
	aif_load_report_free(&report);

	if (p && aif_ledger_sync(svc.ledger, p, why, sizeof(why))) {
		svc.hooks.error("aifactory: policy %s refused by the ledger: %s",
				svc.path, why);
		aif_policy_unref(p);
		p = NULL;
	}
	/* The journal's charges need the grants: the first good policy, not
	 * the start, is when they can be replayed, and before any job can be
	 * charged under it. A reconfigure also tries a journal that did not
	 * open again. */
	_recover(p ? p : svc.policy);

	pthread_mutex_lock(&svc.lock);
	old = svc.policy;
	if (p)
		svc.policy = p;
	pthread_mutex_unlock(&svc.lock);

	if (p) {
		svc.hooks.info("aifactory: policy %s loaded: %zu classes, %zu projects, sha256 %s",
			       svc.path, aif_policy_nclasses(p),
			       aif_policy_nprojects(p), aif_policy_hash(p));
		aif_policy_unref(old);
		aif_svc_query_follow(aif_policy_balance_port(p));
		rc = 0;
	} else if (old) {
		svc.hooks.error("aifactory: policy %s refused; the last good policy (sha256 %s) stays in force",
				svc.path, aif_policy_hash(old));
	} else if (svc.hooks.replacing) {
		svc.hooks.error("aifactory: policy %s refused; the last good policy stays in force in the running process this one was to replace (fix it, check it with 'aifctl check', then 'scontrol reconfigure')",
				svc.path);
	} else {
		svc.hooks.error("aifactory: policy %s refused and no earlier policy is loaded: every job is refused until a good policy is loaded (fix it, check it with 'aifctl check', then 'scontrol reconfigure')",
				svc.path);
	}
	pthread_mutex_unlock(&svc.load_lock);
	return rc;
}

/* One try of the timer (or of a flush) while the journal is shut or the
 * ledger not rebuilt; then what waits is written. */
static void _retry(void)
{
	struct aif_policy *p = aif_service_policy();

	pthread_mutex_lock(&svc.load_lock);
	aif_svc_retry_later();
	_recover(p);
	aif_svc_write_queue();
	pthread_mutex_unlock(&svc.load_lock);
	aif_policy_unref(p);
	pthread_mutex_lock(&svc.lock);
	svc.attempts++;
	pthread_cond_broadcast(&svc.flushed);
	pthread_mutex_unlock(&svc.lock);
}

/* The first stamp move after the start, within START_SECONDS of it,
 * keeps the policy in force when its files are those it was loaded
 * from: true after saying so. Only the first: the next one is an
 * operator's reconfigure, however soon it comes. */
static bool _kept_at_start(void)
{
	struct aif_policy *p;
	struct timespec ts;
	bool kept;

	if (svc.start_move_seen)
		return false;
	svc.start_move_seen = true;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (ts.tv_sec - svc.started.tv_sec >= START_SECONDS)
		return false;
	p = aif_service_policy();
	if ((kept = p && aif_policy_unchanged(p)))
		svc.hooks.info("aifactory: policy %s unchanged on disk since start (sha256 %s): kept through slurmctld's start-up reconfigure",
			       svc.path, aif_policy_hash(p));
	aif_policy_unref(p);
	return kept;
}

/* Whether a is earlier than b. */
static bool _before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
		(a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static bool _due(const struct timespec *due)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return !_before(&ts, due);
}

/*
 * The service's thread, named THREAD_NAME: in this order of urgency, it
 * tries a shut journal again, writes the queue in batches, writes a
 * snapshot asked for, closes the refusal windows that are over, and
 * reloads the policy when the configuration stamp moves. The stamp counts
 * whole seconds, so a reconfigure in the very second a load started may
 * be missed by that load: load again once that second is over.
 *
 * slurmctld moves the stamp itself about 2 s after the start's load (at
 * the end of its configuration read, which comes after the plugins'
 * init: so the move is always seen, as the first), and a second load of
 * an unchanged policy is all cost (0.4 s of CPU at 10,000 projects). So
 * the first move, within START_SECONDS of the start, keeps a policy whose
 * files are unchanged on disk. Every later move loads, since a
 * reconfigure is also how operators refresh NSS group membership
 * (docs/slurm.md, "Reconfigure").
 */
static void *_service_loop(void *arg)
{
	struct timespec until;

	pthread_setname_np(pthread_self(), THREAD_NAME);
	pthread_mutex_lock(&svc.lock);
	while (!svc.stop || svc.head) {
		time_t stamp = _stamp(), now = time(NULL);
		bool down = svc.journal_dir && (!svc.journal || !svc.replayed);

		/* Shut: try again when due, when a flush asks, once at stop. */
		if (down && (_due(&svc.retry_due) ||
			     svc.flush_gen != svc.flush_served ||
			     (svc.stop && !svc.stop_tried))) {
			svc.flush_served = svc.flush_gen;
			svc.stop_tried = svc.stop;
			pthread_mutex_unlock(&svc.lock);
			_retry();
			pthread_mutex_lock(&svc.lock);
			continue;
		}
		if (svc.head && (svc.journal || !svc.journal_dir)) {
			if (!svc.stop && !svc.want_snapshot && !svc.want_flush &&
			    !_due(&svc.batch_due)) {
				pthread_cond_timedwait(&svc.wake, &svc.lock,
						       &svc.batch_due);
				continue;
			}
			pthread_mutex_unlock(&svc.lock);
			pthread_mutex_lock(&svc.load_lock);
			aif_svc_write_queue();
			pthread_mutex_unlock(&svc.load_lock);
			pthread_mutex_lock(&svc.lock);
			continue;
		}
		if (svc.want_snapshot) {
			pthread_mutex_unlock(&svc.lock);
			pthread_mutex_lock(&svc.load_lock);
			if (svc.since_snapshot)
				aif_svc_snapshot();
			pthread_mutex_unlock(&svc.load_lock);
			pthread_mutex_lock(&svc.lock);
			svc.want_snapshot = false;
			pthread_cond_broadcast(&svc.flushed);
			continue;
		}
		if (svc.stop)
			break;	/* what the journal did not take: see stop */
		pthread_mutex_unlock(&svc.lock);
		aif_svc_close_windows(false);
		pthread_mutex_lock(&svc.lock);
		if (svc.head)
			continue;

		if (_due(&svc.metrics.due)) {
			aif_svc_metrics_due(&svc.metrics.due);
			pthread_mutex_unlock(&svc.lock);
			aif_svc_metrics_write();
			pthread_mutex_lock(&svc.lock);
			continue;
		}
		if (stamp >= svc.loaded_at && now > stamp) {
			svc.loaded_at = now;
			pthread_mutex_unlock(&svc.lock);
			if (!_kept_at_start())
				_load();
			pthread_mutex_lock(&svc.lock);
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += WATCH_SECONDS;
		if (down && _before(&svc.retry_due, &until))
			until = svc.retry_due;
		if (_before(&svc.metrics.due, &until))
			until = svc.metrics.due;
		pthread_cond_timedwait(&svc.wake, &svc.lock, &until);
	}
	pthread_mutex_unlock(&svc.lock);
	return NULL;
}

static void _free_all(void)
{
	if (svc.journal)
		aif_journal_close(svc.journal);
	aif_query_stop(svc.query);
	svc.query = NULL;
	aif_svc_ranking_free();	/* before the ledger it reads */
	aif_book_free(svc.book);
	aif_run_keys_free(svc.book_keys);
	svc.book = NULL;
	svc.book_keys = NULL;
	free(svc.munge_socket);
	svc.munge_socket = NULL;
	svc.since_snapshot = 0;
	aif_policy_unref(svc.policy);
	aif_ledger_free(svc.ledger);
	aif_run_keys_free(svc.run_keys);
	free(svc.path);
	free(svc.journal_dir);
	free(svc.cluster);
	aif_svc_notes_free();
	svc.journal = NULL;
	svc.policy = NULL;
	svc.ledger = NULL;
	svc.run_keys = NULL;
	svc.path = svc.journal_dir = svc.cluster = NULL;
	svc.replayed = svc.partial = svc.closed = svc.stop_tried = false;
	svc.down_why[0] = '\0';
	svc.dropped = svc.dropped_told = svc.unsynced_after = 0;
}

int aif_service_start(const struct aif_service_hooks *hooks)
{
	int rc;

	pthread_mutex_lock(&svc.lock);
	if (svc.refs++) {
		pthread_mutex_unlock(&svc.lock);
		return 0;
	}
	svc.hooks = *hooks;
	svc.hooks.policy_path = NULL;
	svc.hooks.journal_dir = svc.hooks.cluster = NULL;
	svc.path = strdup(hooks->policy_path);
	svc.journal_dir = hooks->journal_dir ? strdup(hooks->journal_dir) : NULL;
	svc.cluster = strdup(hooks->cluster ? hooks->cluster : "");
	svc.hooks.munge_socket = NULL;
	svc.munge_socket = hooks->munge_socket ?
		strdup(hooks->munge_socket) : NULL;
	svc.ledger = aif_ledger_new();
	svc.run_keys = aif_run_keys_new();
	if (!svc.path || !svc.ledger || !svc.run_keys || !svc.cluster ||
	    (hooks->journal_dir && !svc.journal_dir) ||
	    (hooks->munge_socket && !svc.munge_socket)) {
		_free_all();
		svc.refs = 0;
		pthread_mutex_unlock(&svc.lock);
		hooks->error("aifactory: out of memory starting");
		return -1;
	}
	svc.rotate_bytes = hooks->rotate_bytes ? hooks->rotate_bytes :
		AIF_JOURNAL_ROTATE_BYTES;
	svc.snapshot_every = hooks->snapshot_every ? hooks->snapshot_every :
		AIF_SNAPSHOT_EVERY;
	svc.retry_seconds = hooks->retry_seconds ? hooks->retry_seconds :
		AIF_JOURNAL_RETRY_SECONDS;
	svc.queue_max = hooks->queue_max ? hooks->queue_max : QUEUE_MAX;
	svc.refusal_window = hooks->refusal_window ? hooks->refusal_window :
		AIF_REFUSAL_WINDOW;
	memset(svc.windows, 0, sizeof(svc.windows));
	svc.nwindows = 0;
	clock_gettime(CLOCK_MONOTONIC, &svc.retry_due);
	svc.started = svc.retry_due;
	/* The metrics count from this start; the first file a second on. */
	pthread_mutex_lock(&svc.metrics.lock);
	svc.metrics.nrules = svc.metrics.nclasses = 0;
	memset(svc.metrics.count, 0, sizeof(svc.metrics.count));
	svc.metrics.running_known = false;
	pthread_mutex_unlock(&svc.metrics.lock);
	svc.metrics.due = svc.started;
	svc.metrics.due.tv_sec++;
	svc.metrics.last_err = 0;
	svc.synced_at = 0;
	svc.start_move_seen = false;
	svc.loaded_at = time(NULL);
	svc.stop = false;
	{
		/* The thread's waits are timed on a clock that never steps
		 * back: a batch is never held longer than it waits. */
		pthread_condattr_t attr;

		pthread_condattr_init(&attr);
		pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
		pthread_cond_destroy(&svc.wake);
		pthread_cond_init(&svc.wake, &attr);
		pthread_condattr_destroy(&attr);
	}
	pthread_mutex_unlock(&svc.lock);

	_load();	/* opens the journal and rebuilds the ledger too */
	if ((rc = pthread_create(&svc.thread, NULL, _service_loop, NULL)))
		svc.hooks.error("aifactory: cannot start the policy thread: %s; the policy will not be reloaded on reconfigure",
				strerror(rc));
	else
		svc.running = true;
	return 0;
}

void aif_service_stop(void)
{
	pthread_mutex_lock(&svc.lock);
	if (!svc.refs || --svc.refs) {
		pthread_mutex_unlock(&svc.lock);
		return;
	}
	pthread_mutex_unlock(&svc.lock);
	aif_svc_close_windows(true);	/* every window's repeats, then stop */
	pthread_mutex_lock(&svc.lock);
	svc.stop = true;
	pthread_cond_signal(&svc.wake);
	pthread_mutex_unlock(&svc.lock);
	if (svc.running) {
		pthread_join(svc.thread, NULL);	/* it drains the queue first */
	} else {
		pthread_mutex_lock(&svc.load_lock);
		aif_svc_write_queue();
		pthread_mutex_unlock(&svc.load_lock);
	}
	svc.running = false;
	aif_svc_drop_queue();
	aif_svc_drop_deferred();
	if (svc.since_snapshot)
		aif_svc_snapshot();
	_free_all();
}

struct aif_policy *aif_service_policy(void)
{
	struct aif_policy *p;

	pthread_mutex_lock(&svc.lock);
	p = aif_policy_ref(svc.policy);
	pthread_mutex_unlock(&svc.lock);
	return p;
}

struct aif_ledger *aif_service_ledger(void)
{
	return svc.ledger;
}

int aif_service_reload(void)
{
	if (!svc.refs) {
		errno = EINVAL;
		return -1;
	}
	return _load();
}
