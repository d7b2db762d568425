/*
 * slurm-aifactory: the book: what the journal holds, counted. Each
 * grant's charges, each project's overdraw and burn, and the runs charged,
 * from the charges whose records are in the journal and nothing else: the
 * only thing a snapshot is made of. The ledger is what admission reads;
 * docs/ledger.md says which of the two is authoritative for what.
 *
 * A book is fed by replaying the journal (aif_book_replay) or by a charge
 * this process made, once its record is in the journal (aif_book_charge);
 * it sets the ledger's charged amounts (aif_book_apply) and is saved and
 * loaded as a snapshot's body. Not thread-safe: one user at a time.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef AIF_BOOK_H
#define AIF_BOOK_H

#include <stddef.h>
#include <time.h>

#include "journal.h"
#include "ledger.h"

struct aif_run_keys;	/* settle.h */

/* A fresh, empty book; keys (may be NULL) gets the run keys of every
 * charge it counts, and is the caller's. NULL when out of memory;
 * aif_book_free() frees it (not keys). */
struct aif_book;
struct aif_book *aif_book_new(struct aif_run_keys *keys);
void aif_book_free(struct aif_book *book);

/*
 * Rebuilding the ledger from the journal: feed every record to
 * aif_book_replay() (an aif_journal_replay() callback, book its
 * argument), then aif_book_apply() sets each grant's charged amount and
 * each project's overdraw in the ledger to the book's.
 */
int aif_book_replay(const struct aif_record *r, void *book);
/* The same for a charge this process made (run: its key; end: its end
 * time), once its record is in the journal: what replaying the record
 * would count, from the struct rather than from the record's text. */
int aif_book_charge(struct aif_book *book, const char *run, time_t end,
		    const struct aif_charge *c);
int aif_book_apply(struct aif_book *book, struct aif_ledger *ledger,
		   char *why, size_t len);

/* A project's burn: what it was charged for the runs that ended in the
 * last AIF_BURN_DAYS days (UTC days, today included). */
#define AIF_BURN_DAYS 30
aif_amount_t aif_book_burn(const struct aif_book *book, const char *project,
			   time_t now);

/*
 * How long a snapshot remembers a charged run after its end. SLURM repeats
 * a run's end within the hour slurmstepd retries for, or while the finished
 * job is still in slurmctld's memory (MinJobAge, 300 s by default, which
 * jobcomp's sweep also reads): a week is far beyond both.
 */
#define AIF_RUN_KEYS_KEEP (7 * 24 * 3600)

/*
 * The book as a snapshot body (text: a header line, then one line per
 * grant charged, project overdrawn, project's day of burn and run key),
 * *body malloc'ed, the caller's. Run keys of runs that ended before
 * forget_before are dropped, from the book's set too. -1 with errno
 * (EINVAL for a name holding a space).
 */
int aif_book_save(struct aif_book *book, time_t forget_before, char **body,
		  size_t *len);

/* Add a body written by aif_book_save() to book (fresh, or it sums).
 * -1 with EBADMSG and why naming the bad line, or ENOMEM. */
int aif_book_load(struct aif_book *book, const char *body, size_t len,
		  char *why, size_t wlen);

#endif /* AIF_BOOK_H */
