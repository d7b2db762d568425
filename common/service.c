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
#include "tag.h"

#define WATCH_SECONDS 1	/* how often the watcher looks at the stamp */
/* Records are written and synced in batches: the first of a batch waits
 * this long for others, so a stream of submissions costs one fdatasync
 * per batch, not one each (a crash loses at most this much more of what
 * was never synced: charges come back through SLURM's retry and the
 * sweep, see docs/ledger.md). */
#define BATCH_MS 50
/* Records held in memory while the journal cannot take them (about 5 KiB
 * each, so about 40 MiB at most). Decisions and thresholds may fill half
 * of it; past that they are dropped and counted, so that charges always
 * find room; a charge past the whole is not made (the run is left for
 * SLURM's retry and jobcomp's sweep) rather than made without a record. */
#define QUEUE_MAX 8192
/* Job ends that wait for the ledger to be rebuilt. */
#define DEFER_MAX 16384
#define DEFER_STR_MAX 4096	/* bytes kept of each of a job end's strings */

struct queued {
	struct queued *next;
	bool refused;		/* the journal refused the record itself */
	/* A charge record's: what the book counts once it is synced. */
	struct aif_charge *charge;
	time_t end;
	struct aif_record rec;
};

static void _free_queued(struct queued *q)
{
	free(q->charge);
	free(q);
}

/* One user's refusals by one rule in the current window: the first is
 * journalled whole, the others only counted, then one record says how
 * many (a user cannot grow the journal by a record per refusal). */
#define WINDOWS_MAX 1024
struct refusals {
	bool used;
	uid_t uid;
	const char *rule;	/* static (struct aif_decision) */
	time_t opened;		/* the first refusal, journalled whole */
	time_t first, last;	/* of the repeats */
	uint64_t repeated;
	char project[AIF_NAME_MAX], klass[AIF_NAME_MAX];
};

/* A job end that came while the ledger was not rebuilt: a copy. */
struct deferred {
	struct deferred *next;
	struct aif_job_end je;
	char key[AIF_RUN_KEY_MAX];
	char *str[8];		/* the strings je points to */
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
	bool partial;			/* what could be read of a journal that
					 * does not open is in */
	bool closed;			/* budgets closed (svc.ledger says why) */
	char down_why[AIF_LEDGER_CLOSED_MAX];	/* why the journal is shut */
	unsigned retry_seconds;
	struct timespec retry_due;	/* CLOCK_MONOTONIC: try it again */
	uint64_t attempts;		/* the writer's tries while it is shut */
	uint64_t flush_gen, flush_served;	/* a flush asks for one try */
	bool stop_tried;
	struct deferred *deferred;	/* job ends waiting for the rebuild */
	size_t ndeferred;
	struct aif_run_keys *deferred_keys;	/* their runs, to find repeats */
	uint64_t dropped;		/* records dropped, queue full */
	uint64_t dropped_told;		/* of which a record says so */
	char dropped_why[AIF_LEDGER_CLOSED_MAX];	/* the last drop's */
	uint64_t unsynced_after;	/* a failed sync's batch came after
					 * this seq; 0: none pending */
	size_t queue_max;
	unsigned refusal_window;
	struct refusals windows[WINDOWS_MAX];	/* under lock */
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

/* Why the journal is shut, or dflt when it is not: a copy (the
 * writer changes it under lock). */
static const char *_why_down(char buf[AIF_LEDGER_CLOSED_MAX], const char *dflt)
{
	pthread_mutex_lock(&svc.lock);
	snprintf(buf, AIF_LEDGER_CLOSED_MAX, "%s",
		 svc.down_why[0] ? svc.down_why : dflt);
	pthread_mutex_unlock(&svc.lock);
	return buf;
}

static int _replay_journal(char *why, size_t len);
static void _recover(struct aif_policy *p);
static void _close_windows(bool all);
static void _name_damage(const struct aif_verify_report *rep, char *buf,
			 size_t len);

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

/* A record is on disk: the book follows the journal, a charge counted
 * from its struct (what replaying its record would count). */
static void _book(const struct queued *q)
{
	if (!svc.book)
		return;
	svc.since_snapshot++;
	if (!q->charge)
		return;
	pthread_mutex_lock(&svc.book_lock);
	if (aif_settle_totals_charge(svc.book, aif_record_str(&q->rec, "run"),
				     q->end, q->charge)) {
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

/* A record the journal itself refuses (too big, a bad field): writing
 * it again would fail again. Anything else is the journal's failure. */
static bool _record_fault(const struct aif_record *rec, int err)
{
	return rec->error || err == EINVAL || err == E2BIG || err == EEXIST;
}

/* list without the records the journal refused (freed): they were said. */
static struct queued *_without_refused(struct queued *list)
{
	struct queued **at = &list, *q;

	while ((q = *at)) {
		if (q->refused) {
			*at = q->next;
			_free_queued(q);
		} else {
			at = &q->next;
		}
	}
	return list;
}

/* Put list (in order) back at the head of the queue. */
static void _requeue(struct queued *list)
{
	struct queued *last;
	size_t n = 0;

	if (!list)
		return;
	for (last = list, n = 1; last->next; last = last->next)
		n++;
	pthread_mutex_lock(&svc.lock);
	last->next = svc.head;
	if (!svc.head)
		svc.tail = &last->next;
	svc.head = list;
	svc.queued += n;
	pthread_mutex_unlock(&svc.lock);
}

static void _retry_later(void)
{
	clock_gettime(CLOCK_MONOTONIC, &svc.retry_due);
	svc.retry_due.tv_sec += svc.retry_seconds;
}

/* The journal failed under the writer: close it (it is opened and
 * verified again on the next try) and keep what it did not take. */
static void _shut_journal(const char *what, int err)
{
	aif_journal_close(svc.journal);
	pthread_mutex_lock(&svc.lock);
	snprintf(svc.down_why, sizeof(svc.down_why), "%s: %s", what,
		 strerror(err));
	svc.journal = NULL;
	pthread_mutex_unlock(&svc.lock);
	_retry_later();
}

/* Append a record saying how many records were dropped since the last
 * such record (an auditor sees the loss). The count appended, or 0; it
 * is told once the batch is synced. */
static uint64_t _tell_dropped(void)
{
	struct queued *q;
	char why[AIF_LEDGER_CLOSED_MAX];
	uint64_t n;

	pthread_mutex_lock(&svc.lock);
	n = svc.dropped - svc.dropped_told;
	snprintf(why, sizeof(why), "%s", svc.dropped_why);
	pthread_mutex_unlock(&svc.lock);
	if (!n || !svc.journal || !(q = calloc(1, sizeof(*q))))
		return 0;
	aif_record_init(&q->rec, AIF_RECORD_DECISION);
	aif_record_add_str(&q->rec, "verdict", "dropped");
	aif_record_add_str(&q->rec, "rule", "journal.queue_full");
	aif_record_add_int(&q->rec, "count", (int64_t) n);
	aif_record_add_str(&q->rec, "why", why);
	if (aif_journal_append(svc.journal, &q->rec))
		n = 0;
	free(q);
	return n;
}

/*
 * Write what is queued, then sync once; only synced records reach the
 * book (what snapshots say the journal holds). A record the journal does
 * not take, or one of a batch whose sync failed, goes back to the head
 * of the queue and the journal is closed, to be opened (and verified)
 * again on the next try: nothing is dropped. Called on the service
 * thread, with load_lock held (the journal is the writer's).
 */
static void _write_queue(void)
{
	struct queued *list, *q, *next;
	uint64_t told, before;
	size_t n = 0;
	int err = 0;

	pthread_mutex_lock(&svc.lock);
	list = svc.head;
	svc.head = NULL;
	svc.tail = &svc.head;
	svc.queued = 0;
	pthread_mutex_unlock(&svc.lock);
	if (!list)
		return;
	if (!svc.journal_dir) {
		/* No journal by design (tests): nothing to keep. */
		for (q = list; q; q = next) {
			next = q->next;
			_free_queued(q);
			n++;
		}
		list = NULL;
		goto done;
	}
	if (!svc.journal) {
		_requeue(list);
		return;
	}
	aif_journal_last(svc.journal, &before, NULL);
	told = _tell_dropped();

	/* Append in order; the first failure of the journal stops it. */
	for (q = list; q; q = q->next) {
		aif_record_name_user(&q->rec);	/* NSS: here, off SLURM's locks */
		if (!aif_journal_append(svc.journal, &q->rec)) {
			n++;
			continue;
		}
		err = errno;
		if (!_record_fault(&q->rec, err))
			break;
		{
			const char *run = aif_record_str(&q->rec, "run");

			svc.hooks.error("aifactory: journal: %s record %s refused: %s; it is NOT in the journal",
					aif_record_type_name(q->rec.type),
					run ? run : "", strerror(err));
			q->refused = true;
			err = 0;
		}
	}
	if ((n || told) && aif_journal_sync(svc.journal)) {
		/* Not durable: the journal took them back (journal.h). Should
		 * it not have managed to, reopening finds them: see there. */
		err = errno;
		svc.unsynced_after = before + 1 + (told ? 1 : 0);
		svc.hooks.error("aifactory: journal: sync of %zu records failed: %s; they are kept and written again",
				n, strerror(err));
		_shut_journal("sync failed", err);
		_requeue(_without_refused(list));
		return;
	}
	/* The first n good ones are on disk, and the count of the dropped. */
	if (told) {
		pthread_mutex_lock(&svc.lock);
		svc.dropped_told += told;
		pthread_mutex_unlock(&svc.lock);
	}
	for (q = list; q && (n || q->refused); q = next) {
		next = q->next;
		if (!q->refused) {
			_book(q);
			n--;
		}
		_free_queued(q);
		list = next;
	}
	n = 0;
	if (list) {
		size_t left = 0;

		for (q = list; q; q = q->next)
			left++;
		svc.hooks.error("aifactory: journal: append failed: %s; %zu records are kept in memory and written again when it reopens (tried every %u s and on scontrol reconfigure)",
				strerror(err), left, svc.retry_seconds);
		_shut_journal("append failed", err);
		_requeue(list);
		goto done;
	}
	if (svc.since_snapshot >= svc.snapshot_every)
		_snapshot();
	/* A new file past the size; its first record carries the chain on. */
	if (aif_journal_size(svc.journal) >= svc.rotate_bytes) {
		if (aif_journal_rotate(svc.journal)) {
			svc.hooks.error("aifactory: journal: rotation failed: %s",
					strerror(errno));
			_shut_journal("rotation failed", errno);
		} else {
			svc.hooks.info("aifactory: journal rotated in %s",
				       svc.journal_dir);
		}
	}
done:
	pthread_mutex_lock(&svc.lock);
	svc.written = svc.enqueued - svc.queued;
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
 * the records after it. A snapshot whose seq and hash are not in the
 * chain is not believed (the whole journal is replayed); a good one is
 * kept even when the journal after it is damaged, with the records
 * before the damage: the ledger then says what is known, and -1 (why
 * names the first bad record) keeps budgets closed.
 */
static int _replay_journal(char *why, size_t len)
{
	struct aif_verify_report report;
	struct aif_settle_totals *book;
	char err[AIF_ERR_MAX], hash[AIF_SHA256_HEX_LEN];
	uint64_t seq;
	int rc;

	why[0] = '\0';
	if (!svc.journal_dir)
		return 0;
	if (!(book = _book_new()))
		goto oom;
	seq = _load_snapshot(book, hash);
	rc = -1;
	if (seq) {
		rc = aif_journal_replay(svc.journal_dir, seq, hash,
					aif_settle_replay, book, &report);
		if (rc && (report.problem == AIF_CHAIN_SHORT ||
			   report.problem == AIF_CHAIN_ANCHOR ||
			   report.problem == AIF_CHAIN_STOPPED)) {
			svc.hooks.error("aifactory: the journal after the snapshot (seq %llu) does not replay (%s): replaying the whole journal",
					(unsigned long long) seq,
					report.message);
		} else if (rc) {
			char named[600];

			_name_damage(&report, named, sizeof(named));
			svc.hooks.error("aifactory: the journal after the snapshot (seq %llu) is damaged: %s; the snapshot and the records before the damage are in the ledger",
					(unsigned long long) seq, named);
			goto apply;
		}
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
apply:
	if (rc) {
		char named[600];

		if (report.message[0])
			_name_damage(&report, named, sizeof(named));
		else
			snprintf(named, sizeof(named), "%s", strerror(errno));
		snprintf(why, len, "%.500s", named);
		svc.hooks.error("aifactory: journal replay stopped: %s; no snapshot is written until it is repaired",
				why);
	}
	if (aif_settle_replay_apply(book, svc.ledger, err, sizeof(err)))
		svc.hooks.error("aifactory: %s", err);
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
	return rc ? -1 : 0;
oom:
	snprintf(why, len, "out of memory replaying the journal");
	svc.hooks.error("aifactory: out of memory replaying the journal %s: its charges are NOT loaded; the next reconfigure tries again",
			svc.journal_dir);
	return -1;
}

/* The first bad record as aifctl audit verify names it:
 * "DIR/FILE:LINE: record SEQ: what is wrong". */
static void _name_damage(const struct aif_verify_report *rep, char *buf,
			 size_t len)
{
	const char *what = rep->message, *at;
	char prefix[AIF_JOURNAL_NAME_MAX + 64];
	int n;

	n = rep->line ? snprintf(prefix, sizeof(prefix), "%s:%llu: ",
				 rep->file, (unsigned long long) rep->line) :
		snprintf(prefix, sizeof(prefix), "%s: ", rep->file);
	if (rep->file[0] && n > 0 && !strncmp(what, prefix, (size_t) n))
		what += n;
	if (rep->seq && !strncmp(what, "seq ", 4) && (at = strstr(what, ": ")))
		what = at + 2;
	if (!rep->file[0] || !strcmp(rep->file, svc.journal_dir)) {
		snprintf(buf, len, "%.100s: %.400s", svc.journal_dir, what);
		return;
	}
	n = snprintf(buf, len, "%.100s/%s", svc.journal_dir, rep->file);
	if (rep->line && n > 0 && (size_t) n < len)
		n += snprintf(buf + n, len - (size_t) n, ":%llu",
			      (unsigned long long) rep->line);
	if (n > 0 && (size_t) n < len)
		n += snprintf(buf + n, len - (size_t) n, ": ");
	if (rep->seq && n > 0 && (size_t) n < len)
		n += snprintf(buf + n, len - (size_t) n, "record %llu: ",
			      (unsigned long long) rep->seq);
	if (n > 0 && (size_t) n < len)
		snprintf(buf + n, len - (size_t) n, "%.400s", what);
}

/* Open the journal (the writer's; load_lock held). 0, or -1 with
 * svc.down_why saying why as audit verify would. */
static int _open_journal(void)
{
	struct aif_verify_report report;
	struct aif_journal *j;

	if (!svc.journal_dir || svc.journal)
		return 0;
	if (aif_journal_open(svc.journal_dir, &j, &report)) {
		char named[600];

		if (report.message[0])
			_name_damage(&report, named, sizeof(named));
		else
			snprintf(named, sizeof(named), "%s", strerror(errno));
		pthread_mutex_lock(&svc.lock);
		snprintf(svc.down_why, sizeof(svc.down_why),
			 "journal %.100s cannot be opened: %.500s",
			 svc.journal_dir, named);
		pthread_mutex_unlock(&svc.lock);
		svc.hooks.error("aifactory: %s; records wait in memory (at most %zu) until it opens, tried every %u s and on scontrol reconfigure (check it with 'aifctl audit verify')",
				svc.down_why, svc.queue_max, svc.retry_seconds);
		_retry_later();
		return -1;
	}
	if (report.torn_bytes)
		svc.hooks.info("aifactory: journal: a torn last line (%llu bytes, never synced) was cut at open",
			       (unsigned long long) report.torn_bytes);
	pthread_mutex_lock(&svc.lock);
	svc.journal = j;
	/* A failed sync's batch that the file kept (it could not be cut
	 * back): those records are the queue's first; not written twice. */
	if (svc.unsynced_after && report.last_seq >= svc.unsynced_after) {
		uint64_t skip = report.last_seq - (svc.unsynced_after - 1);
		uint64_t skipped = 0;

		while (skip-- && svc.head) {
			struct queued *q = svc.head;

			if (!(svc.head = q->next))
				svc.tail = &svc.head;
			svc.queued--;
			_free_queued(q);
			skipped++;
		}
		svc.written = svc.enqueued - svc.queued;
		pthread_mutex_unlock(&svc.lock);
		svc.hooks.error("aifactory: journal: %llu records of a batch whose sync failed were still in the file at reopen: kept there, not written twice",
				(unsigned long long) skipped);
		pthread_mutex_lock(&svc.lock);
	}
	svc.unsynced_after = 0;
	pthread_mutex_unlock(&svc.lock);
	if (svc.down_why[0])
		svc.hooks.info("aifactory: journal %s open again (%llu records in its current file); records kept in memory are written now",
			       svc.journal_dir,
			       (unsigned long long) report.records);
	pthread_mutex_lock(&svc.lock);
	svc.down_why[0] = '\0';
	pthread_mutex_unlock(&svc.lock);
	return 0;
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

static void _free_deferred(struct deferred *d)
{
	for (size_t i = 0; i < sizeof(d->str) / sizeof(d->str[0]); i++)
		free(d->str[i]);
	free(d);
}

static int _charge(const struct aif_job_end *je, const struct aif_run *run,
		   struct aif_policy *p, char *why, size_t len);

/* The job ends that waited for the rebuild, charged now (a run the
 * journal turned out to hold is a repeat). */
static void _settle_deferred(struct aif_policy *p)
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
	if (_open_journal()) {
		if (!svc.replayed && p && !svc.partial) {
			svc.partial = true;
			_replay_journal(why, sizeof(why));
		}
		_close_budgets("the ledger's journal cannot be opened; the centre's operators are told", svc.down_why);
		return;
	}
	if (svc.replayed || !p)
		return;
	if (_replay_journal(why, sizeof(why))) {
		char text[AIF_LEDGER_CLOSED_MAX];

		snprintf(text, sizeof(text), "journal %.100s does not replay: %.500s",
			 svc.journal_dir, why);
		svc.closed = false;	/* say it again, with this reason */
		_close_budgets("the ledger's journal cannot be read back whole; the centre's operators are told", text);
		_retry_later();
		return;
	}
	pthread_mutex_lock(&svc.lock);
	svc.replayed = true;
	pthread_mutex_unlock(&svc.lock);
	_settle_deferred(p);
	aif_ledger_open_budgets(svc.ledger);
	if (svc.closed)
		svc.hooks.info("aifactory: ledger rebuilt from journal %s: GPU-hour budgets are enforced again",
			       svc.journal_dir);
	svc.closed = false;
}

/* One try of the timer (or of a flush) while the journal is shut or the
 * ledger not rebuilt; then what waits is written. */
static void _retry(void)
{
	struct aif_policy *p = aif_service_policy();

	pthread_mutex_lock(&svc.load_lock);
	_retry_later();
	_recover(p);
	_write_queue();
	pthread_mutex_unlock(&svc.load_lock);
	aif_policy_unref(p);
	pthread_mutex_lock(&svc.lock);
	svc.attempts++;
	pthread_cond_broadcast(&svc.flushed);
	pthread_mutex_unlock(&svc.lock);
}

static bool _due(const struct timespec *due)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec > due->tv_sec ||
		(ts.tv_sec == due->tv_sec && ts.tv_nsec >= due->tv_nsec);
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
			_write_queue();
			pthread_mutex_unlock(&svc.load_lock);
			pthread_mutex_lock(&svc.lock);
			continue;
		}
		if (svc.want_snapshot) {
			pthread_mutex_unlock(&svc.lock);
			pthread_mutex_lock(&svc.load_lock);
			if (svc.since_snapshot)
				_snapshot();
			pthread_mutex_unlock(&svc.load_lock);
			pthread_mutex_lock(&svc.lock);
			svc.want_snapshot = false;
			pthread_cond_broadcast(&svc.flushed);
			continue;
		}
		if (svc.stop)
			break;	/* what the journal did not take: see stop */
		pthread_mutex_unlock(&svc.lock);
		_close_windows(false);
		pthread_mutex_lock(&svc.lock);
		if (svc.head)
			continue;

		if (stamp >= svc.loaded_at && now > stamp) {
			svc.loaded_at = now;
			pthread_mutex_unlock(&svc.lock);
			_load();
			pthread_mutex_lock(&svc.lock);
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += WATCH_SECONDS;
		if (down && (svc.retry_due.tv_sec < until.tv_sec ||
			     (svc.retry_due.tv_sec == until.tv_sec &&
			      svc.retry_due.tv_nsec < until.tv_nsec)))
			until = svc.retry_due;
		pthread_cond_timedwait(&svc.wake, &svc.lock, &until);
	}
	pthread_mutex_unlock(&svc.lock);
	return NULL;
}

/* Records and job ends the journal never took, at the last stop: each
 * is named at error level (a run not journalled is charged again by
 * SLURM's retry or the sweep after the restart: it is in no snapshot). */
static void _drop_all(void)
{
	struct queued *q, *next;
	struct deferred *d, *dn;
	size_t decisions = 0;

	for (q = svc.head; q; q = next) {
		const char *run = aif_record_str(&q->rec, "run");

		next = q->next;
		if (q->rec.type == AIF_RECORD_DECISION)
			decisions++;
		else if (svc.journal_dir)
			svc.hooks.error("aifactory: stopping with the journal shut (%s): %s record of run %s NOT written",
					svc.down_why,
					aif_record_type_name(q->rec.type),
					run ? run : "?");
		_free_queued(q);
	}
	if (decisions && svc.journal_dir)
		svc.hooks.error("aifactory: stopping with the journal shut (%s): %zu decision records NOT written",
				svc.down_why, decisions);
	for (d = svc.deferred; d; d = dn) {
		dn = d->next;
		svc.hooks.error("aifactory: stopping before the ledger was rebuilt: run %s NOT charged (SLURM's retry or jobcomp's sweep charges it after the restart)",
				d->key);
		_free_deferred(d);
	}
	svc.head = NULL;
	svc.tail = &svc.head;
	svc.queued = 0;
	svc.deferred = NULL;
	svc.ndeferred = 0;
	aif_run_keys_free(svc.deferred_keys);
	svc.deferred_keys = NULL;
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
	clock_gettime(CLOCK_MONOTONIC, &svc.retry_due);
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

	_load();	/* opens the journal and rebuilds the ledger too */
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
	pthread_mutex_unlock(&svc.lock);
	_close_windows(true);	/* every window's repeats, then stop */
	pthread_mutex_lock(&svc.lock);
	svc.stop = true;
	pthread_cond_signal(&svc.wake);
	pthread_mutex_unlock(&svc.lock);
	if (svc.running) {
		pthread_join(svc.thread, NULL);	/* it drains the queue first */
	} else {
		pthread_mutex_lock(&svc.load_lock);
		_write_queue();
		pthread_mutex_unlock(&svc.load_lock);
	}
	svc.running = false;
	_drop_all();
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

/* Queue a record for the journal; the service thread writes it. A
 * decision or a threshold past half the bound is dropped and counted
 * (false): charges keep the other half. */
static bool _enqueue(struct queued *q)
{
	static time_t told;
	uint64_t dropped;

	pthread_mutex_lock(&svc.lock);
	if (q->rec.type != AIF_RECORD_CHARGE &&
	    svc.queued >= svc.queue_max / 2) {
		enum aif_record_type type = q->rec.type;
		char why[AIF_LEDGER_CLOSED_MAX];

		dropped = ++svc.dropped;
		snprintf(svc.dropped_why, sizeof(svc.dropped_why), "%s",
			 svc.down_why[0] ? svc.down_why :
			 "the journal is slow");
		memcpy(why, svc.dropped_why, sizeof(why));
		pthread_mutex_unlock(&svc.lock);
		free(q);
		/* Once a second at most: the log must not fill the disk. */
		if (time(NULL) != told) {
			told = time(NULL);
			svc.hooks.error("aifactory: journal queue full (%zu records wait: %s): %s record dropped, %llu dropped in all; a record in the journal counts them once it takes records again",
					svc.queue_max / 2, why,
					aif_record_type_name(type),
					(unsigned long long) dropped);
		}
		return false;
	}
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
	return true;
}

/* The record of a threshold crossed (logged now), to queue after its
 * charge; NULL when out of memory. */
static struct queued *_threshold(const struct aif_charge *c, size_t i,
				 const char *run_key)
{
	struct queued *q = calloc(1, sizeof(*q));

	svc.hooks.info("aifactory: project %s: grant %s reached %.0f%% (run %s)",
		       c->project, c->crossings[i].grant,
		       c->crossings[i].fraction * 100, run_key);
	if (!q)
		return NULL;
	aif_record_init(&q->rec, AIF_RECORD_THRESHOLD);
	aif_record_add_str(&q->rec, "run", run_key);
	aif_record_add_str(&q->rec, "project", c->project);
	aif_record_add_str(&q->rec, "grant", c->crossings[i].grant);
	aif_record_add_int(&q->rec, "permille",
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
			 je->job_id, key, _why_down(down, "the journal is slow"));
		return -1;
	}
	if (!(q = calloc(1, sizeof(*q))) ||
	    !(q->charge = malloc(sizeof(*q->charge)))) {
		free(q);
		snprintf(why, len, "job %u: out of memory: not charged",
			 je->job_id);
		return -1;
	}
	q->end = je->end;
	res = aif_settle_run(svc.ledger, p, run, je, &q->rec, q->charge, why,
			     len);
	if (res != AIF_SETTLE_CHARGED) {
		_free_queued(q);
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
	_enqueue(q);
	for (size_t i = 0; i < n; i++)
		if (crossed[i])
			_enqueue(crossed[i]);
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
			 _why_down(down, "its journal does not replay"), kept ?
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
		 je->job_id, key, _why_down(down, "its journal does not replay"));
	return 0;
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

void aif_service_flush(void)
{
	uint64_t target, tries;

	pthread_mutex_lock(&svc.lock);
	target = svc.enqueued;	/* what is queued now, not what comes */
	tries = svc.attempts;
	svc.want_flush++;	/* no batch waits for more */
	svc.flush_gen++;	/* a shut journal is tried once more */
	pthread_cond_signal(&svc.wake);
	/* Bounded: a journal still shut after that try is not waited for. */
	while (svc.running && svc.written < target &&
	       !(svc.attempts != tries && svc.journal_dir &&
		 (!svc.journal || !svc.replayed)))
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

/* The record of a window's repeats (NULL: none, or out of memory). */
static struct queued *_window_record(const struct refusals *w)
{
	struct queued *q;

	if (!w->repeated || !(q = calloc(1, sizeof(*q))))
		return NULL;
	aif_record_init(&q->rec, AIF_RECORD_DECISION);
	aif_record_add_str(&q->rec, "verdict", "refuse");
	aif_record_add_str(&q->rec, "rule", w->rule);
	aif_record_add_int(&q->rec, "uid", w->uid);
	aif_record_add_str(&q->rec, "project", w->project);
	aif_record_add_str(&q->rec, "class", w->klass);
	aif_record_add_int(&q->rec, "repeated", (int64_t) w->repeated);
	aif_record_add_int(&q->rec, "first", w->first);
	aif_record_add_int(&q->rec, "last", w->last);
	aif_record_add_int(&q->rec, "window", svc.refusal_window);
	return q;
}

/* Close the windows that are over (all of them with all): their repeats
 * are queued as one record each. Called on the service thread. */
static void _close_windows(bool all)
{
	struct queued *out = NULL, *q;
	time_t now = time(NULL);

	pthread_mutex_lock(&svc.lock);
	for (size_t i = 0; i < WINDOWS_MAX; i++) {
		struct refusals *w = &svc.windows[i];

		if (!w->used || (!all && now < w->opened +
				 (time_t) svc.refusal_window))
			continue;
		if ((q = _window_record(w))) {
			q->next = out;
			out = q;
		}
		w->used = false;
	}
	pthread_mutex_unlock(&svc.lock);
	for (; out; out = q) {
		q = out->next;
		_enqueue(out);
	}
}

/* A refusal: true if it only counts in its user's and rule's window.
 * *closed gets the record of a window it ends. Under lock. */
static bool _counted(const struct aif_request *r, const struct aif_decision *d,
		     time_t now, struct queued **closed)
{
	struct refusals *w = NULL, *free_slot = NULL;

	*closed = NULL;
	for (size_t i = 0; i < WINDOWS_MAX; i++) {
		struct refusals *x = &svc.windows[i];

		if (!x->used) {
			if (!free_slot)
				free_slot = x;
		} else if (x->uid == r->uid && !strcmp(x->rule, d->rule)) {
			w = x;
			break;
		}
	}
	if (w && now < w->opened + (time_t) svc.refusal_window) {
		if (!w->repeated++)
			w->first = now;
		w->last = now;
		return true;
	}
	if (w)
		*closed = _window_record(w);
	else if (!(w = free_slot))
		return false;	/* full: journalled whole */
	memset(w, 0, sizeof(*w));
	w->used = true;
	w->uid = r->uid;
	w->rule = d->rule;
	w->opened = now;
	snprintf(w->project, sizeof(w->project), "%s",
		 d->project ? d->project->name : "");
	snprintf(w->klass, sizeof(w->klass), "%s",
		 d->klass ? d->klass->name : "");
	return false;
}

void aif_service_decision(const struct aif_request *r,
			  const struct aif_decision *d,
			  const struct aif_policy *p)
{
	static const char *const verdicts[] = { "accept", "reshape", "refuse" };
	static time_t told;
	struct queued *q;
	char gpus[256] = "";
	size_t used = 0;

	/* Failing closed is an operator's matter: at error level (once a
	 * second at most, the log must not fill the disk either). */
	if (d->rule && !strcmp(d->rule, "budget.unavailable") &&
	    time(NULL) != told) {
		char down[AIF_LEDGER_CLOSED_MAX];

		told = time(NULL);
		svc.hooks.error("aifactory: uid %u: a job of class %s %s: GPU-hour budgets are unavailable (%s)",
				(unsigned) r->uid, d->klass ? d->klass->name : "?",
				d->verdict == AIF_REFUSE ? "refused" :
				"sent to the fallback QOS",
				_why_down(down, "the journal does not replay"));
	}
	if (!svc.refs || !svc.journal_dir)
		return;
	if (d->verdict == AIF_REFUSE && d->rule) {
		struct queued *closed;
		bool counted;

		pthread_mutex_lock(&svc.lock);
		counted = _counted(r, d, time(NULL), &closed);
		pthread_mutex_unlock(&svc.lock);
		if (closed)
			_enqueue(closed);
		if (counted)
			return;
	}
	if (!(q = calloc(1, sizeof(*q))))
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
	aif_record_add_tag(&q->rec, d->verdict == AIF_REFUSE ? "" : d->tag);
	/* From the user: kept only when it names a project (anything else
	 * is a user's string, up to 512 bytes a record for nothing);
	 * escaped, last. */
	aif_record_add_str(&q->rec, "account", r->account && p &&
			   aif_policy_project(p, r->account) ? r->account : "");
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
