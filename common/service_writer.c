/*
 * slurm-aifactory: the service's journal writer: the bounded queue that
 * RPC threads add records to, and the batched write and sync the
 * service's thread runs (a record the journal does not take is kept and
 * written again once it reopens; records dropped on a full queue are
 * counted in the journal).
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

/* Records are written and synced in batches: the first of a batch waits
 * this long for others, so a stream of submissions costs one fdatasync
 * per batch, not one each (a crash loses at most this much more of what
 * was never synced: charges come back through SLURM's retry and the
 * sweep, see docs/ledger.md). A batch of decisions only waits longer:
 * the sync's CPU was most of what a submission cost the controller, and
 * no charge waits on it. */
#define BATCH_MS 50
#define DECISIONS_BATCH_MS 1000

/* The batch is due ms from now; with sooner, only if that is sooner
 * than it was (svc.lock held). */
static void _batch_due_in(long ms, bool sooner)
{
	struct timespec due;

	clock_gettime(CLOCK_MONOTONIC, &due);
	due.tv_sec += ms / 1000;
	due.tv_nsec += ms % 1000 * 1000000L;
	if (due.tv_nsec >= 1000000000L) {
		due.tv_sec++;
		due.tv_nsec -= 1000000000L;
	}
	if (!sooner || due.tv_sec < svc.batch_due.tv_sec ||
	    (due.tv_sec == svc.batch_due.tv_sec &&
	     due.tv_nsec < svc.batch_due.tv_nsec))
		svc.batch_due = due;
}

struct queued *aif_svc_queued_new(enum aif_record_type type)
{
	struct queued *q = calloc(1, sizeof(*q));

	if (q && !(q->rec = malloc(sizeof(*q->rec)))) {
		free(q);
		return NULL;
	}
	if (q)
		aif_record_init(q->rec, type);
	return q;
}

void aif_svc_free_queued(struct queued *q)
{
	if (q->note)
		aif_svc_note_put(q->note);
	free(q->rec);
	free(q->charge);
	free(q);
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
			aif_svc_free_queued(q);
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

/* A charge on disk, at info level: its job, its user (as the record
 * names them: the writer looked the name up), project and amount. */
static void _log_charge(const struct queued *q)
{
	const struct aif_record *r = q->rec;
	char amount[AIF_AMOUNT_STR_MAX];
	const char *user;
	int64_t job = 0, uid = -1;

	if (!q->charge)
		return;
	user = aif_record_str(r, "user");
	aif_record_int(r, "job", &job);
	aif_record_int(r, "uid", &uid);
	aif_amount_format(q->charge->total, amount, sizeof(amount));
	svc.hooks.info("aifactory: JobId=%lld of %s (uid %lld): project %s charged %s GPU-hours (run %s)",
		       (long long) job, user && user[0] ? user : "?",
		       (long long) uid, q->charge->project, amount,
		       aif_record_str(r, "run"));
}

void aif_svc_retry_later(void)
{
	clock_gettime(CLOCK_MONOTONIC, &svc.retry_due);
	if (svc.hooks.replacing &&
	    svc.retry_due.tv_sec - svc.started.tv_sec < AIF_HANDOVER_SECONDS) {
		svc.retry_due.tv_nsec += AIF_HANDOVER_POLL_MS * 1000000L;
		if (svc.retry_due.tv_nsec >= 1000000000L) {
			svc.retry_due.tv_sec++;
			svc.retry_due.tv_nsec -= 1000000000L;
		}
		return;
	}
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
	aif_svc_retry_later();
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
	if (!n || !svc.journal ||
	    !(q = aif_svc_queued_new(AIF_RECORD_DECISION)))
		return 0;
	aif_record_add_str(q->rec, "verdict", "dropped");
	aif_record_add_str(q->rec, "rule", "journal.queue_full");
	aif_record_add_int(q->rec, "count", (int64_t) n);
	aif_record_add_str(q->rec, "why", why);
	if (aif_journal_append(svc.journal, q->rec))
		n = 0;
	aif_svc_free_queued(q);
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
void aif_svc_write_queue(void)
{
	static struct aif_record scratch;	/* the writer's: load_lock */
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
			aif_svc_free_queued(q);
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
		struct aif_record *rec = q->rec;

		/* A decision's note is encoded here, into the writer's own
		 * record: kept as a note until its batch is synced. */
		if (q->note) {
			aif_svc_note_encode(q->note, &scratch);
			rec = &scratch;
		}
		aif_record_name_user(rec);	/* NSS: here, off SLURM's locks */
		if (!aif_journal_append(svc.journal, rec)) {
			n++;
			continue;
		}
		err = errno;
		if (!_record_fault(rec, err))
			break;
		{
			const char *run = aif_record_str(rec, "run");

			svc.hooks.error("aifactory: journal: %s record %s refused: %s; it is NOT in the journal",
					aif_record_type_name(rec->type),
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
	if (n || told)
		svc.synced_at = time(NULL);
	/* The first n good ones are on disk, and the count of the dropped. */
	if (told) {
		pthread_mutex_lock(&svc.lock);
		svc.dropped_told += told;
		pthread_mutex_unlock(&svc.lock);
	}
	for (q = list; q && (n || q->refused); q = next) {
		next = q->next;
		if (!q->refused) {
			aif_svc_book_record(q);
			_log_charge(q);
			n--;
		}
		aif_svc_free_queued(q);
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
		aif_svc_snapshot();
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

/* Open the journal (the writer's; load_lock held). 0, or -1 with
 * svc.down_why saying why as audit verify would. */
int aif_svc_open_journal(void)
{
	struct aif_verify_report report;
	struct aif_journal *j;

	if (!svc.journal_dir || svc.journal)
		return 0;
	if (aif_journal_open(svc.journal_dir, &j, &report)) {
		char named[600];

		if (report.message[0])
			aif_svc_name_damage(&report, named, sizeof(named));
		else
			snprintf(named, sizeof(named), "%s", strerror(errno));
		pthread_mutex_lock(&svc.lock);
		snprintf(svc.down_why, sizeof(svc.down_why),
			 "journal %.100s cannot be opened: %.500s",
			 svc.journal_dir, named);
		pthread_mutex_unlock(&svc.lock);
		svc.hooks.error("aifactory: %s; records wait in memory (at most %zu) until it opens, tried every %u s and on scontrol reconfigure (check it with 'aifctl audit verify')",
				svc.down_why, svc.queue_max, svc.retry_seconds);
		aif_svc_retry_later();
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
			aif_svc_free_queued(q);
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

/* Queue a record for the journal; the service thread writes it. A
 * decision or a threshold past half the bound is dropped and counted
 * (false): charges keep the other half. */
bool aif_svc_enqueue(struct queued *q)
{
	static time_t told;
	/* A charge, a threshold, a count of drops: synced soon. */
	bool urgent = !q->note && q->rec->type != AIF_RECORD_DECISION;
	uint64_t dropped;

	pthread_mutex_lock(&svc.lock);
	if ((q->note || q->rec->type != AIF_RECORD_CHARGE) &&
	    svc.queued >= svc.queue_max / 2) {
		enum aif_record_type type = q->note ? AIF_RECORD_DECISION :
			q->rec->type;
		char why[AIF_LEDGER_CLOSED_MAX];

		dropped = ++svc.dropped;
		snprintf(svc.dropped_why, sizeof(svc.dropped_why), "%s",
			 svc.down_why[0] ? svc.down_why :
			 "the journal is slow");
		memcpy(why, svc.dropped_why, sizeof(why));
		pthread_mutex_unlock(&svc.lock);
		aif_svc_free_queued(q);
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
		svc.batch_urgent = urgent;
		_batch_due_in(urgent ? BATCH_MS : DECISIONS_BATCH_MS, false);
		pthread_cond_signal(&svc.wake);
	} else if (urgent && !svc.batch_urgent) {
		svc.batch_urgent = true;	/* sooner: a charge waits */
		_batch_due_in(BATCH_MS, true);
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

/* Records the journal never took, at the last stop: each is named at
 * error level (a run not journalled is charged again by SLURM's retry or
 * the sweep after the restart: it is in no snapshot). */
void aif_svc_drop_queue(void)
{
	struct queued *q, *next;
	size_t decisions = 0;

	for (q = svc.head; q; q = next) {
		const char *run = q->rec ? aif_record_str(q->rec, "run") : NULL;

		next = q->next;
		if (q->note || q->rec->type == AIF_RECORD_DECISION)
			decisions++;
		else if (svc.journal_dir)
			svc.hooks.error("aifactory: stopping with the journal shut (%s): %s record of run %s NOT written",
					svc.down_why,
					aif_record_type_name(q->rec->type),
					run ? run : "?");
		aif_svc_free_queued(q);
	}
	if (decisions && svc.journal_dir)
		svc.hooks.error("aifactory: stopping with the journal shut (%s): %zu decision records NOT written",
				svc.down_why, decisions);
	svc.head = NULL;
	svc.tail = &svc.head;
	svc.queued = 0;
}
