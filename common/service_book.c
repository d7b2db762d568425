/*
 * slurm-aifactory: the service's book: what its journal holds (charges
 * and the runs charged), fed by the writer once a record is synced,
 * saved as a snapshot of the ledger, and rebuilt at start from the last
 * snapshot and the records after it (docs/ledger.md).
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

/* A record is on disk: the book follows the journal, a charge counted
 * from its struct (what replaying its record would count). */
void aif_svc_book_record(const struct queued *q)
{
	if (!svc.book)
		return;
	svc.since_snapshot++;
	if (!q->charge)
		return;
	pthread_mutex_lock(&svc.book_lock);
	if (aif_book_charge(svc.book, aif_record_str(q->rec, "run"), q->end,
			    q->charge)) {
		svc.hooks.error("aifactory: the ledger's book is out of memory: no more snapshots until a restart (%s)",
				strerror(errno));
		aif_book_free(svc.book);
		svc.book = NULL;
	}
	pthread_mutex_unlock(&svc.book_lock);
}

/* Snapshot the book at the journal's last record (synced by the caller):
 * a start then replays only what follows it. */
void aif_svc_snapshot(void)
{
	char hash[AIF_SHA256_HEX_LEN], *body;
	uint64_t seq;
	size_t len;
	int rc;

	if (!svc.book || !svc.journal)
		return;
	aif_journal_last(svc.journal, &seq, hash);
	pthread_mutex_lock(&svc.book_lock);
	rc = aif_book_save(svc.book, time(NULL) - AIF_RUN_KEYS_KEEP, &body,
			   &len);
	pthread_mutex_unlock(&svc.book_lock);
	if (rc || aif_snapshot_write(svc.journal_dir, body, len, seq, hash))
		svc.hooks.error("aifactory: snapshot of the ledger at seq %llu NOT written: %s; the next start replays more of the journal",
				(unsigned long long) seq, strerror(errno));
	else
		svc.since_snapshot = 0;
	free(body);
}

/* A fresh book for the replay, with its own run keys (the keys of a
 * book thrown away go with it). */
static struct aif_book *_book_new(void)
{
	aif_run_keys_free(svc.book_keys);
	if (!(svc.book_keys = aif_run_keys_new()))
		return NULL;
	return aif_book_new(svc.book_keys);
}

/* The snapshot into a fresh book: the seq and hash it covers, or 0 when
 * there is none (or a bad one: then the whole journal is replayed). */
static uint64_t _load_snapshot(struct aif_book *book,
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
		aif_book_load(book, body, len, why, sizeof(why));
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
int aif_svc_replay_journal(char *why, size_t len)
{
	struct aif_verify_report report;
	struct aif_book *book;
	char err[AIF_ERR_MAX], hash[AIF_SHA256_HEX_LEN];
	uint64_t seq;
	int rc;

	why[0] = '\0';
	if (!svc.journal_dir)
		return 0;
	/* A book from an earlier replay (of a journal read while another
	 * process held it) goes before its run keys do. */
	pthread_mutex_lock(&svc.book_lock);
	book = svc.book;
	svc.book = NULL;
	pthread_mutex_unlock(&svc.book_lock);
	aif_book_free(book);
	if (!(book = _book_new()))
		goto oom;
	seq = _load_snapshot(book, hash);
	rc = -1;
	if (seq) {
		rc = aif_journal_replay(svc.journal_dir, seq, hash,
					aif_book_replay, book, &report);
		if (rc && (report.problem == AIF_CHAIN_SHORT ||
			   report.problem == AIF_CHAIN_ANCHOR ||
			   report.problem == AIF_CHAIN_STOPPED)) {
			svc.hooks.error("aifactory: the journal after the snapshot (seq %llu) does not replay (%s): replaying the whole journal",
					(unsigned long long) seq,
					report.message);
		} else if (rc) {
			char named[600];

			aif_svc_name_damage(&report, named, sizeof(named));
			svc.hooks.error("aifactory: the journal after the snapshot (seq %llu) is damaged: %s; the snapshot and the records before the damage are in the ledger",
					(unsigned long long) seq, named);
			goto apply;
		}
	}
	if (rc) {
		/* From nothing: what a bad snapshot put in must not count. */
		aif_book_free(book);
		if (!(book = _book_new()))
			goto oom;
		seq = 0;
		rc = aif_journal_replay(svc.journal_dir, 0, NULL,
					aif_book_replay, book, &report);
	}
apply:
	if (rc) {
		char named[600];

		if (report.message[0])
			aif_svc_name_damage(&report, named, sizeof(named));
		else
			snprintf(named, sizeof(named), "%s", strerror(errno));
		snprintf(why, len, "%.500s", named);
		svc.hooks.error("aifactory: journal replay stopped: %s; no snapshot is written until it is repaired",
				why);
	}
	if (aif_book_apply(book, svc.ledger, err, sizeof(err)))
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
		aif_book_free(book);
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
void aif_svc_name_damage(const struct aif_verify_report *rep, char *buf,
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
