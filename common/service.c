/*
 * slurm-aifactory: the state slurmctld's plugins share (see service.h).
 *
 * One mutex guards the pointers and the reference count; it is held for
 * pointer swaps only, never across a load. Loads run on the watcher
 * thread (or in aif_service_start/aif_service_reload), one at a time.
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

#include "balance.h"
#include "query.h"
#include "service.h"

#define WATCH_SECONDS 1	/* how often the watcher looks at the stamp */
/* Records are written and synced in batches: the first of a batch waits
 * this long for others, so a stream of submissions costs one fdatasync
 * per batch, not one each (a crash loses at most this much more of what
 * was never synced: charges come back through SLURM's retry and the
 * sweep, see docs/ledger.md). */
#define BATCH_MS 50

struct queued {
	struct queued *next;
	struct aif_record rec;
};

static struct {
	pthread_mutex_t lock;		/* the fields below */
	pthread_mutex_t load_lock;	/* one load at a time */
	pthread_cond_t wake;
	unsigned refs;
	struct aif_service_hooks hooks;
	char *path;
	struct aif_policy *policy;	/* NULL until one ever loaded */
	struct aif_ledger *ledger;
	time_t loaded_at;		/* when the last load started */
	char *journal_dir;
	char *cluster;
	struct aif_journal *journal;	/* NULL: charges are not persisted */
	struct aif_run_keys *run_keys;	/* runs charged */
	bool replayed;			/* the journal's charges are in */
	/* The writer thread's own: what the journal holds, for snapshots.
	 * Fed only once the replay is in (book != NULL), left NULL if the
	 * replay failed, so that no snapshot can hide what it missed. */
	struct aif_settle_totals *book;
	struct aif_run_keys *book_keys;
	pthread_mutex_t book_lock;	/* the book's burn, read by queries */
	struct aif_query *query;	/* members' balance queries, or NULL */
	char *munge_socket;
	uint64_t since_snapshot;	/* records written since the last */
	bool want_snapshot;		/* aif_service_checkpoint() waits */
	unsigned want_flush;		/* aif_service_flush() callers waiting */
	uint64_t snapshot_every;
	uint64_t rotate_bytes;
	struct queued *head, **tail;	/* records for the journal */
	size_t queued;
	struct timespec batch_due;	/* CLOCK_MONOTONIC: write the queue */
	uint64_t written;		/* records queued then written */
	uint64_t enqueued;
	pthread_cond_t flushed;
	pthread_t thread;
	bool running;
	bool stop;
} svc = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.load_lock = PTHREAD_MUTEX_INITIALIZER,
	.book_lock = PTHREAD_MUTEX_INITIALIZER,
	.wake = PTHREAD_COND_INITIALIZER,
	.flushed = PTHREAD_COND_INITIALIZER,
	.tail = &svc.head,
};

static time_t _stamp(void)
{
	return svc.hooks.conf_stamp ?
		__atomic_load_n(svc.hooks.conf_stamp, __ATOMIC_RELAXED) : 0;
}

static int _replay_journal(void);

static int _statement(uid_t uid, gid_t gid, const char *project, FILE *out,
		      char *why, size_t len, void *arg)
{
	(void) arg;
	return aif_service_statement(uid, gid, project, out, why, len);
}

/* Answer balance queries on port (0: not at all), as the policy says. */
static void _query_follow(uint16_t port)
{
	uint16_t old = aif_query_port(svc.query);
	char why[600];

	if (old == port)
		return;
	if (svc.query) {
		aif_query_stop(svc.query);
		svc.query = NULL;
		svc.hooks.info("aifactory: balance queries no longer answered on port %u",
			       (unsigned) old);
	}
	if (!port)
		return;
	if ((svc.query = aif_query_start(port, svc.munge_socket, _statement,
					 NULL, why, sizeof(why))))
		svc.hooks.info("aifactory: answering members' balance queries on port %u",
			       (unsigned) port);
	else
		svc.hooks.error("aifactory: balance queries: %s; users cannot see their balances",
				why);
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
	 * charged under it. */
	if (p && !svc.replayed)
		svc.replayed = !_replay_journal();

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
		_query_follow(aif_policy_balance_port(p));
		rc = 0;
	} else if (old) {
		svc.hooks.error("aifactory: policy %s refused; the last good policy (sha256 %s) stays in force",
				svc.path, aif_policy_hash(old));
	} else {
		svc.hooks.error("aifactory: policy %s refused and no earlier policy is loaded: every job is refused until a good policy is loaded (fix it, check it with 'aifctl check', then 'scontrol reconfigure')",
				svc.path);
	}
	pthread_mutex_unlock(&svc.load_lock);
	return rc;
}

/* A record is on its way to disk: the book follows the journal. */
static void _book(const struct aif_record *rec)
{
	if (!svc.book)
		return;
	svc.since_snapshot++;
	pthread_mutex_lock(&svc.book_lock);
	if (aif_settle_replay(rec, svc.book)) {
		svc.hooks.error("aifactory: the ledger's book is out of memory: no more snapshots until a restart (%s)",
				strerror(errno));
		aif_settle_totals_free(svc.book);
		svc.book = NULL;
	}
	pthread_mutex_unlock(&svc.book_lock);
}

/* Snapshot the book at the journal's last record (synced by the caller):
 * a start then replays only what follows it. */
static void _snapshot(void)
{
	char hash[AIF_SHA256_HEX_LEN], *body;
	uint64_t seq;
	size_t len;
	int rc;

	if (!svc.book || !svc.journal)
		return;
	aif_journal_last(svc.journal, &seq, hash);
	pthread_mutex_lock(&svc.book_lock);
	rc = aif_settle_totals_save(svc.book, time(NULL) - AIF_RUN_KEYS_KEEP,
				    &body, &len);
	pthread_mutex_unlock(&svc.book_lock);
	if (rc || aif_snapshot_write(svc.journal_dir, body, len, seq, hash))
		svc.hooks.error("aifactory: snapshot of the ledger at seq %llu NOT written: %s; the next start replays more of the journal",
				(unsigned long long) seq, strerror(errno));
	else
		svc.since_snapshot = 0;
	free(body);
}

/* Write what is queued, then sync once. Called on the service thread. */
static void _write_queue(void)
{
	struct queued *list, *next;
	size_t n = 0;

	pthread_mutex_lock(&svc.lock);
	list = svc.head;
	svc.head = NULL;
	svc.tail = &svc.head;
	n = svc.queued;
	svc.queued = 0;
	pthread_mutex_unlock(&svc.lock);
	if (!list)
		return;

	for (struct queued *q = list; q; q = next) {
		next = q->next;
		if (!svc.journal || aif_journal_append(svc.journal, &q->rec)) {
			const char *run = aif_record_str(&q->rec, "run");

			svc.hooks.error("aifactory: journal: %s record %s NOT written: %s",
					aif_record_type_name(q->rec.type),
					run ? run : "", svc.journal ?
					strerror(errno) : "no journal is open");
		} else {
			_book(&q->rec);
		}
		free(q);
	}
	if (svc.journal && aif_journal_sync(svc.journal))
		svc.hooks.error("aifactory: journal: sync failed: %s; the last %zu records may be lost on a crash",
				strerror(errno), n);
	else if (svc.since_snapshot >= svc.snapshot_every)
		_snapshot();
	/* A new file past the size; its first record carries the chain on. */
	if (svc.journal && aif_journal_size(svc.journal) >= svc.rotate_bytes) {
		if (aif_journal_rotate(svc.journal))
			svc.hooks.error("aifactory: journal: rotation failed: %s",
					strerror(errno));
		else
			svc.hooks.info("aifactory: journal rotated in %s",
				       svc.journal_dir);
	}

	pthread_mutex_lock(&svc.lock);
	svc.written += n;
	pthread_cond_broadcast(&svc.flushed);
	pthread_mutex_unlock(&svc.lock);
}

/* A fresh book for the replay: totals and their own run keys (the
 * keys of a book thrown away go with it). */
static struct aif_settle_totals *_book_new(void)
{
	aif_run_keys_free(svc.book_keys);
	if (!(svc.book_keys = aif_run_keys_new()))
		return NULL;
	return aif_settle_totals_new(svc.book_keys);
}

/* The snapshot into a fresh book: the seq and hash it covers, or 0 when
 * there is none (or a bad one: then the whole journal is replayed). */
static uint64_t _load_snapshot(struct aif_settle_totals *book,
			       char hash[AIF_SHA256_HEX_LEN])
{
	char *body = NULL, why[AIF_ERR_MAX] = "";
	uint64_t seq = 0;
	size_t len;

	if (aif_snapshot_read(svc.journal_dir, &body, &len, &seq, hash)) {
		if (errno == ENOENT)
			return 0;
		snprintf(why, sizeof(why), "%s", strerror(errno));
	} else {
		aif_settle_totals_load(book, body, len, why, sizeof(why));
	}
	free(body);
	if (!why[0])
		return seq;
	svc.hooks.error("aifactory: snapshot in %s unusable (%s): replaying the whole journal",
			svc.journal_dir, why);
	return 0;
}

/*
 * Rebuild the charges and run keys the journal holds: the snapshot, then
 * the records after it (all of them if the two are not one chain).
 */
static int _replay_journal(void)
{
	struct aif_verify_report report;
	struct aif_settle_totals *book;
	char why[AIF_ERR_MAX], hash[AIF_SHA256_HEX_LEN];
	uint64_t seq;
	int rc;

	if (!svc.journal)
		return 0;
	if (!(book = _book_new()))
		goto oom;
	seq = _load_snapshot(book, hash);
	rc = -1;
	if (seq) {
		rc = aif_journal_replay(svc.journal_dir, seq, hash,
					aif_settle_replay, book, &report);
		if (rc)
			svc.hooks.error("aifactory: the journal after the snapshot (seq %llu) does not replay (%s): replaying the whole journal",
					(unsigned long long) seq,
					report.message);
	}
	if (rc) {
		/* From nothing: what a bad snapshot put in must not count. */
		aif_settle_totals_free(book);
		if (!(book = _book_new()))
			goto oom;
		seq = 0;
		rc = aif_journal_replay(svc.journal_dir, 0, NULL,
					aif_settle_replay, book, &report);
	}
	if (rc)
		svc.hooks.error("aifactory: journal replay stopped: %s; no snapshot is written until it is repaired",
				report.message);
	if (aif_settle_replay_apply(book, svc.ledger, why, sizeof(why)))
		svc.hooks.error("aifactory: %s", why);
	pthread_mutex_lock(&svc.lock);
	if (aif_run_keys_merge(svc.run_keys, svc.book_keys))
		svc.hooks.error("aifactory: out of memory remembering the runs charged: a repeated end may be charged again");
	pthread_mutex_unlock(&svc.lock);
	svc.hooks.info("aifactory: journal %s: %zu runs charged in the last %d days (snapshot at seq %llu, then %llu records)",
		       svc.journal_dir, aif_run_keys_count(svc.book_keys),
		       AIF_RUN_KEYS_KEEP / 86400, (unsigned long long) seq,
		       (unsigned long long) (report.last_seq > seq ?
					     report.last_seq - seq : 0));
	pthread_mutex_lock(&svc.book_lock);
	if (rc)
		aif_settle_totals_free(book);
	else
		svc.book = book;
	pthread_mutex_unlock(&svc.book_lock);
	return 0;
oom:
	svc.hooks.error("aifactory: out of memory replaying the journal %s: its charges are NOT loaded; the next reconfigure tries again",
			svc.journal_dir);
	return -1;
}

/* Open the journal; it is replayed once a good policy is in force. */
static void _open_journal(void)
{
	struct aif_verify_report report;

	if (!svc.journal_dir)
		return;
	if (aif_journal_open(svc.journal_dir, &svc.journal, &report)) {
		svc.hooks.error("aifactory: journal %s cannot be opened: %s; charges are NOT persisted until it is repaired (check it with 'aifctl audit verify')",
				svc.journal_dir, report.message[0] ?
				report.message : strerror(errno));
		svc.journal = NULL;
		return;
	}
	if (report.torn_bytes)
		svc.hooks.info("aifactory: journal: a torn last line (%llu bytes, never synced) was cut at open",
			       (unsigned long long) report.torn_bytes);
}

/*
 * The watcher. The stamp counts whole seconds, so a reconfigure in the
 * very second a load started may be missed by that load: load again once
 * that second is over.
 */
static void *_watch(void *arg)
{
	struct timespec until;

	pthread_mutex_lock(&svc.lock);
	while (!svc.stop || svc.head) {
		time_t stamp = _stamp(), now = time(NULL);

		if (svc.head) {
			struct timespec ts;

			clock_gettime(CLOCK_MONOTONIC, &ts);
			if (!svc.stop && !svc.want_snapshot && !svc.want_flush &&
			    (ts.tv_sec < svc.batch_due.tv_sec ||
			     (ts.tv_sec == svc.batch_due.tv_sec &&
			      ts.tv_nsec < svc.batch_due.tv_nsec))) {
				pthread_cond_timedwait(&svc.wake, &svc.lock,
						       &svc.batch_due);
				continue;
			}
			pthread_mutex_unlock(&svc.lock);
			_write_queue();
			pthread_mutex_lock(&svc.lock);
			continue;
		}
		if (svc.want_snapshot) {
			pthread_mutex_unlock(&svc.lock);
			if (svc.since_snapshot)
				_snapshot();
			pthread_mutex_lock(&svc.lock);
			svc.want_snapshot = false;
			pthread_cond_broadcast(&svc.flushed);
			continue;
		}
		if (svc.stop)
			break;

		if (stamp >= svc.loaded_at && now > stamp) {
			svc.loaded_at = now;
			pthread_mutex_unlock(&svc.lock);
			_load();
			pthread_mutex_lock(&svc.lock);
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += WATCH_SECONDS;
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
	aif_settle_totals_free(svc.book);
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
	svc.journal = NULL;
	svc.policy = NULL;
	svc.ledger = NULL;
	svc.run_keys = NULL;
	svc.path = svc.journal_dir = svc.cluster = NULL;
	svc.replayed = false;
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
	svc.loaded_at = time(NULL);
	svc.stop = false;
	{
		/* The watcher's waits are timed on a clock that never steps
		 * back: a batch is never held longer than BATCH_MS. */
		pthread_condattr_t attr;

		pthread_condattr_init(&attr);
		pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
		pthread_cond_destroy(&svc.wake);
		pthread_cond_init(&svc.wake, &attr);
		pthread_condattr_destroy(&attr);
	}
	pthread_mutex_unlock(&svc.lock);

	_open_journal();
	_load();
	if ((rc = pthread_create(&svc.thread, NULL, _watch, NULL)))
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
	svc.stop = true;
	pthread_cond_signal(&svc.wake);
	pthread_mutex_unlock(&svc.lock);
	if (svc.running)
		pthread_join(svc.thread, NULL);	/* it drains the queue first */
	else
		_write_queue();
	svc.running = false;
	if (svc.since_snapshot)
		_snapshot();
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

/* Queue a record for the journal; the service thread writes it. */
static void _enqueue(struct queued *q)
{
	pthread_mutex_lock(&svc.lock);
	if (!svc.head) {	/* a batch starts: the writer waits for it */
		clock_gettime(CLOCK_MONOTONIC, &svc.batch_due);
		svc.batch_due.tv_nsec += BATCH_MS * 1000000L;
		if (svc.batch_due.tv_nsec >= 1000000000L) {
			svc.batch_due.tv_sec++;
			svc.batch_due.tv_nsec -= 1000000000L;
		}
		pthread_cond_signal(&svc.wake);
	}
	q->next = NULL;
	*svc.tail = q;
	svc.tail = &q->next;
	svc.queued++;
	svc.enqueued++;
	pthread_mutex_unlock(&svc.lock);
}

static void _threshold(const struct aif_charge *c, size_t i,
		       const char *run_key)
{
	struct queued *q = malloc(sizeof(*q));

	svc.hooks.info("aifactory: project %s: grant %s reached %.0f%% (run %s)",
		       c->project, c->crossings[i].grant,
		       c->crossings[i].fraction * 100, run_key);
	if (!q)
		return;
	aif_record_init(&q->rec, AIF_RECORD_THRESHOLD);
	aif_record_add_str(&q->rec, "run", run_key);
	aif_record_add_str(&q->rec, "project", c->project);
	aif_record_add_str(&q->rec, "grant", c->crossings[i].grant);
	aif_record_add_int(&q->rec, "permille",
			   (int64_t) (c->crossings[i].fraction * 1000 + 0.5));
	_enqueue(q);
}

/* A job that will not run again gives its lien back (a repeat finds the
 * grants already lower and is clamped at zero; the rebuild corrects). */
static void _release(const struct aif_job_end *je)
{
	struct aif_lien lien;

	if (aif_lien_from_tag(je->admin_comment, &lien) == 0 &&
	    aif_ledger_release(svc.ledger, &lien, NULL))
		svc.hooks.error("aifactory: job %u: its lien could not be released: %s",
				je->job_id, strerror(errno));
}

int aif_service_job_end(const struct aif_job_end *je, char *why, size_t len)
{
	char key[AIF_RUN_KEY_MAX];
	struct aif_charge charge;
	struct aif_policy *p;
	struct queued *q;
	enum aif_settle_result res;
	bool seen;

	why[0] = '\0';
	if (!svc.refs || !(p = aif_service_policy())) {
		snprintf(why, len, "job %u: no policy is loaded: not charged",
			 je->job_id);
		return -1;
	}
	aif_run_key(svc.cluster, je, key);
	pthread_mutex_lock(&svc.lock);
	seen = aif_run_keys_has(svc.run_keys, key);
	pthread_mutex_unlock(&svc.lock);
	if (je->final)
		_release(je);
	if (seen) {
		aif_policy_unref(p);
		return 1;
	}
	if (!(q = malloc(sizeof(*q)))) {
		snprintf(why, len, "job %u: out of memory: not charged",
			 je->job_id);
		aif_policy_unref(p);
		return -1;
	}
	res = aif_settle(svc.ledger, p, key, je, &q->rec, &charge, why, len);
	aif_policy_unref(p);
	if (res != AIF_SETTLE_CHARGED) {
		free(q);
		return res == AIF_SETTLE_ERROR ? -1 : 0;
	}
	pthread_mutex_lock(&svc.lock);
	if (aif_run_keys_add(svc.run_keys, key, je->end))
		snprintf(why, len, "job %u: run %s charged but not remembered (out of memory)",
			 je->job_id, key);
	pthread_mutex_unlock(&svc.lock);
	_enqueue(q);
	for (size_t i = 0; i < charge.ncrossings; i++)
		_threshold(&charge, i, key);
	return 0;
}

void aif_service_flush(void)
{
	uint64_t target;

	pthread_mutex_lock(&svc.lock);
	target = svc.enqueued;	/* what is queued now, not what comes */
	svc.want_flush++;	/* no batch waits for more */
	pthread_cond_signal(&svc.wake);
	while (svc.running && svc.written < target)
		pthread_cond_wait(&svc.flushed, &svc.lock);
	svc.want_flush--;
	pthread_mutex_unlock(&svc.lock);
}

void aif_service_checkpoint(void)
{
	pthread_mutex_lock(&svc.lock);
	if (svc.running) {
		svc.want_snapshot = true;
		pthread_cond_signal(&svc.wake);
		/* The queue is written before the flag is looked at. */
		while (svc.want_snapshot)
			pthread_cond_wait(&svc.flushed, &svc.lock);
	}
	pthread_mutex_unlock(&svc.lock);
}

void aif_service_decision(const struct aif_request *r,
			  const struct aif_decision *d,
			  const struct aif_policy *p)
{
	static const char *const verdicts[] = { "accept", "reshape", "refuse" };
	struct queued *q;
	char gpus[256] = "";
	size_t used = 0;

	if (!svc.refs || !svc.journal_dir || !(q = malloc(sizeof(*q))))
		return;
	for (unsigned i = 0; i < r->gpus.ntypes && used < sizeof(gpus); i++)
		used += (size_t) snprintf(gpus + used, sizeof(gpus) - used,
					  "%s%s:%llu", i ? "," : "",
					  r->gpus.by_type[i].type[0] ?
					  r->gpus.by_type[i].type : "untyped",
					  (unsigned long long)
					  r->gpus.by_type[i].total);
	aif_record_init(&q->rec, AIF_RECORD_DECISION);
	aif_record_add_str(&q->rec, "verdict", verdicts[d->verdict]);
	aif_record_add_str(&q->rec, "rule", d->rule);
	aif_record_add_int(&q->rec, "uid", r->uid);
	aif_record_add_str(&q->rec, "project",
			   d->project ? d->project->name : "");
	aif_record_add_str(&q->rec, "class", d->klass ? d->klass->name : "");
	aif_record_add_str(&q->rec, "gpus", gpus);
	aif_record_add_int(&q->rec, "nodes", r->nodes);
	aif_record_add_int(&q->rec, "time_limit",
			   d->time_limit ? d->time_limit : r->time_limit);
	aif_record_add_str(&q->rec, "policy", p ? aif_policy_hash(p) : "");
	aif_record_add_str(&q->rec, "tag", d->verdict == AIF_REFUSE ? "" :
			   d->tag);
	/* From the user (an account string echoed back): escaped, last. */
	aif_record_add_str(&q->rec, "account", r->account ? r->account : "");
	aif_record_add_str(&q->rec, "message",
			   d->verdict == AIF_REFUSE ? d->message : "");
	_enqueue(q);
}

/* What uid may see: every project, or only those it is a member of. */
static bool _sees_all(const struct aif_policy *p, uid_t uid, gid_t gid)
{
	return uid == 0 || uid == svc.hooks.slurm_user ||
		aif_policy_is_operator(p, uid, &gid, 1);
}

/* Add project to the statement, with its burn from the book. */
static int _add_project(struct aif_balance_sheet *sheet,
			const struct aif_project *proj, time_t now)
{
	aif_amount_t burn = 0;

	pthread_mutex_lock(&svc.book_lock);
	if (svc.book)
		burn = aif_settle_totals_burn(svc.book, proj->name, now);
	pthread_mutex_unlock(&svc.book_lock);
	return aif_balance_sheet_add(sheet, svc.ledger, proj->name,
				     proj->klass->metered, burn);
}

int aif_service_statement(uid_t uid, gid_t gid, const char *project,
			  FILE *out, char *why, size_t len)
{
	const struct aif_project *proj, **mine = NULL;
	struct aif_balance_sheet *sheet = NULL;
	struct aif_policy *p;
	time_t now = time(NULL);
	size_t n;
	int rc = -1;

	why[0] = '\0';
	if (!svc.refs || !(p = aif_service_policy())) {
		snprintf(why, len, "no policy is loaded in slurmctld");
		return -1;
	}
	if (project) {
		if (!(proj = aif_policy_project(p, project)) ||
		    (!_sees_all(p, uid, gid) &&
		     !aif_project_has_member(proj, uid, &gid, 1))) {
			/* The same words for both: who is in a project
			 * is not for outsiders to learn. */
			snprintf(why, len, "no project %s that you are a member of",
				 project);
			goto out;
		}
		if (!(sheet = aif_balance_sheet_new(true, now)) ||
		    _add_project(sheet, proj, now))
			goto out;
		goto print;
	}
	if (!(sheet = aif_balance_sheet_new(true, now)))
		goto out;
	if (_sees_all(p, uid, gid)) {
		for (size_t i = 0; i < aif_policy_nprojects(p); i++)
			if (_add_project(sheet, aif_policy_project_at(p, i),
					 now))
				goto out;
		goto print;
	}
	n = aif_policy_nprojects(p);
	if (n && !(mine = calloc(n + 1, sizeof(*mine)))) {
		snprintf(why, len, "%s", strerror(errno));
		goto out;
	}
	n = aif_policy_projects_of(p, uid, &gid, 1, mine, n);
	if (!n) {
		snprintf(why, len, "you are a member of no project");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (_add_project(sheet, mine[i], now))
			goto out;
print:
	rc = aif_balance_sheet_print(sheet, out);
out:
	if (rc && !why[0])
		snprintf(why, len, "%s", strerror(errno));
	aif_balance_sheet_free(sheet);
	free(mine);
	aif_policy_unref(p);
	return rc;
}
