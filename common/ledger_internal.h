/*
 * slurm-aifactory: the inside of the ledger, shared by ledger.c (its
 * table: life, sync, charges, balances), ledger_lien.c (whether a lien
 * fits, and taking it) and amount.c. Not for the rest of the library: it
 * sees struct aif_ledger through ledger.h only.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef AIF_LEDGER_INTERNAL_H
#define AIF_LEDGER_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ledger.h"

/* Inside the library only: not exported (tests/0008-library-exports.t). */
#pragma GCC visibility push(hidden)

#define PPM 1000000	/* thresholds are held in millionths */

struct lgrant {
	char name[AIF_NAME_MAX];
	char gpu_type[AIF_NAME_MAX];	/* "" : any */
	time_t valid_from;		/* first second */
	time_t valid_until;		/* last second */
	aif_amount_t granted;
	aif_amount_t charged;
	aif_amount_t reserved;
	bool active;
};

struct lproject {
	char name[AIF_NAME_MAX];
	bool active;
	aif_amount_t overdraw;
	struct lgrant *grants;		/* sorted by name */
	size_t ngrants;
	struct lgrant **order;		/* the same grants in draw order */
	aif_amount_t *avail;		/* scratch for one call, under the */
	aif_amount_t *take;		/* ledger's mutex: ngrants each */
	double *thresholds;		/* the class's, ascending */
	int64_t *threshold_ppm;
	size_t nthresholds;
};

struct ltable {
	struct lproject *projects;	/* sorted by name, any case */
	size_t n;
};

struct aif_ledger {
	pthread_mutex_t lock;		/* balances and the table pointer */
	pthread_mutex_t sync_lock;	/* one sync at a time */
	struct ltable *table;
	char closed[AIF_LEDGER_CLOSED_MAX];	/* why budgets are closed; "" */
	bool liens_rebuilt;		/* aif_ledger_replace_reserved ran */
};

/* The helpers every part of the ledger uses: small, and in the loops of a
 * lien's evaluation, so inline (static: no symbol of their own). */

/* Round a non-negative double to the nearest integer (no libm). */
static inline int64_t _round(double x)
{
	return (int64_t) (x + 0.5);
}

/* a + b, stopping at AIF_AMOUNT_MAX (both non-negative). */
static inline aif_amount_t _add_sat(aif_amount_t a, aif_amount_t b)
{
	aif_amount_t r;

	return __builtin_add_overflow(a, b, &r) ? AIF_AMOUNT_MAX : r;
}

static inline aif_amount_t _min(aif_amount_t a, aif_amount_t b)
{
	return a < b ? a : b;
}

static inline void __attribute__((format(printf, 3, 4)))
_why(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!why || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
}

static inline bool _name_ok(const char *s)
{
	return s && memchr(s, '\0', AIF_NAME_MAX);
}

static inline int _key_project(const void *key, const void *elem)
{
	return strcasecmp(key, ((const struct lproject *) elem)->name);
}

static inline int _key_grant(const void *key, const void *elem)
{
	return strcmp(key, ((const struct lgrant *) elem)->name);
}

static inline struct lproject *_find_project(const struct ltable *t,
					     const char *name)
{
	if (!t || !t->n)
		return NULL;
	return bsearch(name, t->projects, t->n, sizeof(*t->projects),
		       _key_project);
}

static inline struct lgrant *_find_grant(const struct lproject *pr,
					 const char *name)
{
	if (!pr->ngrants)
		return NULL;
	return bsearch(name, pr->grants, pr->ngrants, sizeof(*pr->grants),
		       _key_grant);
}

static inline bool _valid_at(const struct lgrant *g, time_t t)
{
	return g->active && g->valid_from <= t && t <= g->valid_until;
}

/* A pinned grant pays only for its type; an unpinned one for any. */
static inline bool _pays(const struct lgrant *g, const char *type)
{
	return !g->gpu_type[0] || !strcmp(g->gpu_type, type);
}

static inline bool _weight_ok(int64_t w)
{
	return w >= 0 && w <= AIF_WEIGHT_MILLI_MAX;
}

static inline bool _parts_ok(const struct aif_lien *l)
{
	if (!_name_ok(l->project) || l->nparts > AIF_LEDGER_PARTS_MAX)
		return false;
	for (size_t i = 0; i < l->nparts; i++)
		if (!_name_ok(l->parts[i].grant) || l->parts[i].amount < 0)
			return false;
	return true;
}

#pragma GCC visibility pop

#endif /* AIF_LEDGER_INTERNAL_H */
