/*
 * slurm-aifactory: the inside of settlement, shared by settle.c (a run's
 * charge and its record), run_keys.c (the runs charged), book.c (what
 * the journal holds) and strmap.c (the table the last two are kept in).
 * Not for the rest of the library: it sees them through settle.h.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef AIF_SETTLE_INTERNAL_H
#define AIF_SETTLE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "settle.h"

/* Inside the library only: not exported (tests/0008-library-exports.t). */
#pragma GCC visibility push(hidden)

/* A string-keyed table of int64 (open addressing, FNV-1a). A key is a
 * pair "a\0b\0" (b may be empty), len = strlen(a)+1+strlen(b): a run key
 * alone, or a project and a grant or a day. Not thread-safe. */
struct aif_strmap_slot {
	char *key;
	int64_t value;
};

struct aif_strmap {
	size_t cap;	/* a power of two, or 0 */
	size_t n;
	struct aif_strmap_slot *slots;
};

/* The slot of key, or NULL. */
struct aif_strmap_slot *aif_strmap_lookup(const struct aif_strmap *m,
					  const char *key, size_t len);
/* The slot of key, added with the value 0 if new; NULL when out of
 * memory. */
struct aif_strmap_slot *aif_strmap_insert(struct aif_strmap *m,
					  const char *key, size_t len);
void aif_strmap_free(struct aif_strmap *m);
/* "a" and "b" as one key of the form the table stores, into buf: its
 * length, or 0 when it does not fit. */
size_t aif_strmap_pair(const char *a, const char *b, char *buf, size_t size);

/* The run keys are a table of their runs' end times; the book writes
 * them into its snapshot. */
struct aif_run_keys {
	struct aif_strmap map;
};
/* Keep only the runs that ended at or after since. */
int aif_run_keys_forget(struct aif_run_keys *keys, time_t since);

/* settle.c: the parts of a charge record, as the book replays them. */
int aif_charge_parts(const struct aif_record *r,
		     int (*fn)(void *arg, const char *grant, int64_t amount),
		     void *arg, int64_t *sum, size_t *count);

#pragma GCC visibility pop

#endif /* AIF_SETTLE_INTERNAL_H */
