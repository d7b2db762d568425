/*
 * The ledger: grants, liens, charges and overdraws in milli-GPU-seconds
 * (docs/ledger.md).
 *
 * The state is a table of projects sorted by name, each with its grants
 * sorted by name and a precomputed draw order. One mutex guards the
 * balances and the table pointer; a sync builds a whole new table outside
 * it and only copies the balances across and swaps the pointer inside it,
 * so a reload of 70,000 projects never makes a submission wait on malloc.
 * Definitions (names, windows, amounts) are written by a sync only, and
 * syncs are serialised by their own mutex.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "date.h"
#include "ledger.h"

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
};

/* ------------------------------------------------------------------ */
/* Amounts                                                              */

/* Round a non-negative double to the nearest integer (no libm). */
static int64_t _round(double x)
{
	return (int64_t) (x + 0.5);
}

int aif_amount_from_gpu_hours(double gpu_hours, aif_amount_t *out)
{
	double milli;

	if (!out || !(gpu_hours >= 0)) {
		errno = EINVAL;
		return -1;
	}
	milli = gpu_hours * (double) AIF_AMOUNT_PER_GPU_HOUR;
	/* 2^63 is exact in a double; anything from it on does not fit. */
	if (!(milli < 9223372036854775808.0)) {
		errno = EOVERFLOW;
		return -1;
	}
	*out = _round(milli);	/* milli + 0.5 stays below 2^63 */
	return 0;
}

int aif_weight_milli(double weight, int64_t *out)
{
	int64_t milli;
	double off;

	if (!out || !(weight >= 0) || weight > 1e6) {
		errno = EINVAL;
		return -1;
	}
	milli = _round(weight * 1000);
	off = weight - (double) milli / 1000;
	if (off > 1e-9 || off < -1e-9) {
		errno = EINVAL;
		return -1;
	}
	*out = milli;
	return 0;
}

void aif_amount_format(aif_amount_t amount, char *buf, size_t len)
{
	const uint64_t per_cent = AIF_AMOUNT_PER_GPU_HOUR / 100;
	uint64_t mag, cents;

	if (!buf || !len)
		return;
	/* Magnitude as unsigned, so that INT64_MIN has one too. */
	mag = amount < 0 ? -(uint64_t) amount : (uint64_t) amount;
	cents = mag / per_cent;
	if (mag % per_cent >= (per_cent + 1) / 2)
		cents++;
	snprintf(buf, len, "%s%llu.%02llu", amount < 0 && cents ? "-" : "",
		 (unsigned long long) (cents / 100),
		 (unsigned long long) (cents % 100));
}

int aif_amount_add(aif_amount_t a, aif_amount_t b, aif_amount_t *out)
{
	aif_amount_t r;

	if (__builtin_add_overflow(a, b, &r)) {
		errno = EOVERFLOW;
		return -1;
	}
	*out = r;
	return 0;
}

int aif_amount_mul(aif_amount_t a, int64_t b, aif_amount_t *out)
{
	aif_amount_t r;

	if (__builtin_mul_overflow(a, b, &r)) {
		errno = EOVERFLOW;
		return -1;
	}
	*out = r;
	return 0;
}

int aif_amount_of_use(uint64_t gpus, int64_t seconds, int64_t weight_milli,
		      aif_amount_t *out)
{
	aif_amount_t r;

	if (seconds < 0 || weight_milli < 0) {
		errno = EINVAL;
		return -1;
	}
	if (gpus > (uint64_t) INT64_MAX ||
	    __builtin_mul_overflow((int64_t) gpus, seconds, &r) ||
	    __builtin_mul_overflow(r, weight_milli, &r)) {
		errno = EOVERFLOW;
		return -1;
	}
	*out = r;
	return 0;
}

/* a + b, stopping at AIF_AMOUNT_MAX (both non-negative). */
static aif_amount_t _add_sat(aif_amount_t a, aif_amount_t b)
{
	aif_amount_t r;

	return __builtin_add_overflow(a, b, &r) ? AIF_AMOUNT_MAX : r;
}

static aif_amount_t _min(aif_amount_t a, aif_amount_t b)
{
	return a < b ? a : b;
}

/* The least charged amount at or above fraction ppm of granted:
 * ceil(granted * ppm / 1e6), exactly and within int64. */
static aif_amount_t _threshold_amount(aif_amount_t granted, int64_t ppm)
{
	aif_amount_t q = granted / PPM, r = granted % PPM;

	return q * ppm + (r * ppm + PPM - 1) / PPM;
}

/* ------------------------------------------------------------------ */
/* Small helpers                                                        */

static void __attribute__((format(printf, 3, 4)))
_why(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!why || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
}

/* Append to why, keeping it terminated and bounded. */
static void __attribute__((format(printf, 3, 4)))
_say(char *why, size_t len, const char *fmt, ...)
{
	size_t used;
	va_list ap;

	if (!why || !len)
		return;
	used = strlen(why);
	if (used >= len - 1)
		return;
	va_start(ap, fmt);
	vsnprintf(why + used, len - used, fmt, ap);
	va_end(ap);
}

static bool _name_ok(const char *s)
{
	return s && memchr(s, '\0', AIF_NAME_MAX);
}

static void _copy(char dst[AIF_NAME_MAX], const char *src)
{
	snprintf(dst, AIF_NAME_MAX, "%s", src);
}

static int _cmp_project(const void *a, const void *b)
{
	return strcasecmp(((const struct lproject *) a)->name,
			  ((const struct lproject *) b)->name);
}

static int _key_project(const void *key, const void *elem)
{
	return strcasecmp(key, ((const struct lproject *) elem)->name);
}

static int _cmp_grant(const void *a, const void *b)
{
	return strcmp(((const struct lgrant *) a)->name,
		      ((const struct lgrant *) b)->name);
}

static int _key_grant(const void *key, const void *elem)
{
	return strcmp(key, ((const struct lgrant *) elem)->name);
}

/* docs/ledger.md: expires first; pinned before unpinned; then name. */
static int _cmp_draw(const void *a, const void *b)
{
	const struct lgrant *x = *(struct lgrant *const *) a;
	const struct lgrant *y = *(struct lgrant *const *) b;

	if (x->valid_until != y->valid_until)
		return x->valid_until < y->valid_until ? -1 : 1;
	if (!x->gpu_type[0] != !y->gpu_type[0])
		return x->gpu_type[0] ? -1 : 1;
	return strcmp(x->name, y->name);
}

static struct lproject *_find_project(const struct ltable *t,
				      const char *name)
{
	if (!t || !t->n)
		return NULL;
	return bsearch(name, t->projects, t->n, sizeof(*t->projects),
		       _key_project);
}

static struct lgrant *_find_grant(const struct lproject *pr, const char *name)
{
	if (!pr->ngrants)
		return NULL;
	return bsearch(name, pr->grants, pr->ngrants, sizeof(*pr->grants),
		       _key_grant);
}

static bool _valid_at(const struct lgrant *g, time_t t)
{
	return g->active && g->valid_from <= t && t <= g->valid_until;
}

/* A pinned grant pays only for its type; an unpinned one for any. */
static bool _pays(const struct lgrant *g, const char *type)
{
	return !g->gpu_type[0] || !strcmp(g->gpu_type, type);
}

/* Still valid at now + minutes (the job's end): a job must not outlive
 * the money it stands on. */
static bool _lasts(const struct lgrant *g, time_t now, uint32_t minutes)
{
	if (minutes == AIF_UNLIMITED)
		return false;
	return (int64_t) g->valid_until - (int64_t) now >=
		(int64_t) minutes * 60;
}

/* What a grant has for a new lien: granted - charged - reserved, or 0. */
static aif_amount_t _left(const struct lgrant *g)
{
	aif_amount_t r;

	if (g->charged >= g->granted)
		return 0;
	r = g->granted - g->charged;
	return r > g->reserved ? r - g->reserved : 0;
}

/* ------------------------------------------------------------------ */
/* Life of a ledger, and sync                                           */

static void _project_free(struct lproject *pr)
{
	free(pr->grants);
	free(pr->order);
	free(pr->avail);
	free(pr->take);
	free(pr->thresholds);
	free(pr->threshold_ppm);
}

static void _table_free(struct ltable *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		_project_free(&t->projects[i]);
	free(t->projects);
	free(t);
}

struct aif_ledger *aif_ledger_new(void)
{
	struct aif_ledger *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	if (pthread_mutex_init(&l->lock, NULL)) {
		free(l);
		errno = ENOMEM;
		return NULL;
	}
	if (pthread_mutex_init(&l->sync_lock, NULL)) {
		pthread_mutex_destroy(&l->lock);
		free(l);
		errno = ENOMEM;
		return NULL;
	}
	return l;
}

void aif_ledger_free(struct aif_ledger *ledger)
{
	if (!ledger)
		return;
	_table_free(ledger->table);
	pthread_mutex_destroy(&ledger->lock);
	pthread_mutex_destroy(&ledger->sync_lock);
	free(ledger);
}

static int _set_thresholds(struct lproject *pr, const double *th, size_t n)
{
	pr->nthresholds = 0;
	if (!n)
		return 0;
	pr->thresholds = malloc(n * sizeof(*pr->thresholds));
	pr->threshold_ppm = malloc(n * sizeof(*pr->threshold_ppm));
	if (!pr->thresholds || !pr->threshold_ppm)
		return -1;
	for (size_t i = 0; i < n; i++) {
		double f = th[i] > 1 ? 1 : th[i] < 0 ? 0 : th[i];

		pr->thresholds[i] = th[i];
		pr->threshold_ppm[i] = _round(f * PPM);
	}
	pr->nthresholds = n;
	return 0;
}

/* Room for the old project's grants that the policy no longer has. */
static size_t _old_grants(const struct lproject *old)
{
	return old ? old->ngrants : 0;
}

/*
 * Sort the grants, add the ones only the old project had (inactive), and
 * build the draw order and the scratch arrays.
 */
static int _finish_project(struct lproject *pr, const struct lproject *old)
{
	size_t n = pr->ngrants;

	qsort(pr->grants, n, sizeof(*pr->grants), _cmp_grant);
	for (size_t i = 0; old && i < old->ngrants; i++) {
		const struct lgrant *og = &old->grants[i];

		if (n && bsearch(og->name, pr->grants, n, sizeof(*pr->grants),
				 _key_grant))
			continue;
		pr->grants[pr->ngrants] = *og;
		pr->grants[pr->ngrants].charged = 0;
		pr->grants[pr->ngrants].reserved = 0;
		pr->grants[pr->ngrants].active = false;
		pr->ngrants++;
	}
	qsort(pr->grants, pr->ngrants, sizeof(*pr->grants), _cmp_grant);
	n = pr->ngrants ? pr->ngrants : 1;
	pr->order = malloc(n * sizeof(*pr->order));
	pr->avail = calloc(n, sizeof(*pr->avail));
	pr->take = calloc(n, sizeof(*pr->take));
	if (!pr->order || !pr->avail || !pr->take)
		return -1;
	for (size_t i = 0; i < pr->ngrants; i++)
		pr->order[i] = &pr->grants[i];
	qsort(pr->order, pr->ngrants, sizeof(*pr->order), _cmp_draw);
	return 0;
}

static int _build_project(struct lproject *pr, const struct aif_project *proj,
			  const struct lproject *old, char *why, size_t len)
{
	const struct aif_class *c = proj->klass;

	_copy(pr->name, proj->name);
	pr->active = true;
	pr->grants = calloc(proj->ngrants + _old_grants(old) + 1,
			    sizeof(*pr->grants));
	if (!pr->grants)
		goto nomem;
	for (size_t i = 0; i < proj->ngrants; i++) {
		const struct aif_grant *src = &proj->grants[i];
		struct lgrant *g = &pr->grants[i];

		if (aif_amount_from_gpu_hours(src->gpu_hours, &g->granted)) {
			_why(why, len, "projects.%s.grants[%zu].gpu_hours: "
			     "%g GPU-hours is beyond what the ledger counts",
			     proj->name, i, src->gpu_hours);
			errno = EOVERFLOW;
			return -1;
		}
		_copy(g->name, src->name);
		_copy(g->gpu_type, src->gpu_type);
		g->valid_from = src->valid_from;
		g->valid_until = src->valid_until;
		g->active = true;
	}
	pr->ngrants = proj->ngrants;
	if (c && _set_thresholds(pr, c->thresholds, c->nthresholds))
		goto nomem;
	if (_finish_project(pr, old))
		goto nomem;
	return 0;
nomem:
	_why(why, len, "out of memory");
	errno = ENOMEM;
	return -1;
}

/* A project the policy no longer has: kept, inactive, for its history. */
static int _keep_project(struct lproject *pr, const struct lproject *old)
{
	_copy(pr->name, old->name);
	pr->active = false;
	if (!(pr->grants = calloc(old->ngrants + 1, sizeof(*pr->grants))) ||
	    _set_thresholds(pr, old->thresholds, old->nthresholds) ||
	    _finish_project(pr, old)) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

/* Under the mutex: carry every balance of old over to t. */
static void _carry(struct ltable *t, const struct ltable *old)
{
	for (size_t i = 0; i < t->n; i++) {
		struct lproject *pr = &t->projects[i];
		const struct lproject *op = _find_project(old, pr->name);

		if (!op)
			continue;
		pr->overdraw = op->overdraw;
		for (size_t j = 0; j < pr->ngrants; j++) {
			const struct lgrant *og;

			if (!(og = _find_grant(op, pr->grants[j].name)))
				continue;
			pr->grants[j].charged = og->charged;
			pr->grants[j].reserved = og->reserved;
		}
	}
}

int aif_ledger_sync(struct aif_ledger *ledger, const struct aif_policy *p,
		    char *why, size_t len)
{
	const struct ltable *old;
	struct ltable *t = NULL;
	size_t np, cap;
	int rv = -1;

	_why(why, len, "%s", "");
	if (!ledger || !p) {
		_why(why, len, "no ledger or no policy");
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&ledger->sync_lock);
	/* Only a sync changes the table or any definition, and we hold the
	 * sync lock: reading them here without the mutex is safe. */
	old = ledger->table;
	np = aif_policy_nprojects(p);
	cap = np + (old ? old->n : 0);
	if (!(t = calloc(1, sizeof(*t))) ||
	    !(t->projects = calloc(cap ? cap : 1, sizeof(*t->projects)))) {
		_why(why, len, "out of memory");
		errno = ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < np; i++) {
		const struct aif_project *proj = aif_policy_project_at(p, i);

		if (!proj)
			continue;
		if (_build_project(&t->projects[t->n++], proj,
				   _find_project(old, proj->name), why, len))
			goto fail;
	}
	qsort(t->projects, t->n, sizeof(*t->projects), _cmp_project);
	for (size_t i = 0; old && i < old->n; i++) {
		if (np && aif_policy_project(p, old->projects[i].name))
			continue;
		if (_keep_project(&t->projects[t->n++], &old->projects[i])) {
			_why(why, len, "out of memory");
			goto fail;
		}
	}
	qsort(t->projects, t->n, sizeof(*t->projects), _cmp_project);

	pthread_mutex_lock(&ledger->lock);
	_carry(t, ledger->table);
	ledger->table = t;
	pthread_mutex_unlock(&ledger->lock);
	t = (struct ltable *) old;	/* freed below, outside the mutex */
	rv = 0;
fail:
	pthread_mutex_unlock(&ledger->sync_lock);
	_table_free(t);
	return rv;
}

/* ------------------------------------------------------------------ */
/* Liens                                                                */

struct eval {
	enum aif_lien_verdict verdict;
	aif_amount_t total;
	aif_amount_t missing;
	time_t latest_end;		/* OUTLIVES */
	time_t next_from;		/* NO_GRANT */
	size_t failing_use;		/* NO_GRANT, OUTLIVES: the first */
};

static bool _any_gpus(const struct aif_use *uses, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (uses[i].gpus)
			return true;
	return false;
}

/*
 * The windows: every use needs a grant valid now that pays for it (else
 * NO_GRANT, with when the next opens) and one of those lasting through
 * the job's end (else OUTLIVES, with the latest end). Across failing
 * uses, the job fits no earlier than the last to open and must end
 * before the first to close.
 */
static void _windows(const struct lproject *pr, const struct aif_use *uses,
		     size_t n, uint32_t minutes, time_t now, struct eval *ev)
{
	bool no_grant = false, outlives = false, no_next = false;

	for (size_t u = 0; u < n; u++) {
		time_t next = 0, latest = 0;
		bool now_ok = false, lasts = false;

		if (!uses[u].gpus)
			continue;
		for (size_t k = 0; k < pr->ngrants; k++) {
			const struct lgrant *g = pr->order[k];

			if (!g->active || !_pays(g, uses[u].type))
				continue;
			if (_valid_at(g, now)) {
				now_ok = true;
				if (g->valid_until > latest)
					latest = g->valid_until;
				if (_lasts(g, now, minutes))
					lasts = true;
			} else if (g->valid_from > now &&
				   (!next || g->valid_from < next)) {
				next = g->valid_from;
			}
		}
		if (!now_ok) {
			if (!no_grant)
				ev->failing_use = u;
			no_grant = true;
			if (!next)
				no_next = true;
			else if (next > ev->next_from)
				ev->next_from = next;
		} else if (!lasts) {
			if (!outlives && !no_grant)
				ev->failing_use = u;
			if (!outlives || latest < ev->latest_end)
				ev->latest_end = latest;
			outlives = true;
		}
	}
	if (no_grant) {
		ev->verdict = AIF_LIEN_NO_GRANT;
		if (no_next)
			ev->next_from = 0;
	} else if (outlives) {
		ev->verdict = AIF_LIEN_OUTLIVES;
	}
}

static bool _eligible(const struct lgrant *g, const char *type, time_t now,
		      uint32_t minutes)
{
	return _valid_at(g, now) && _pays(g, type) && _lasts(g, now, minutes);
}

/*
 * Judge a lien of these (typed) uses; on FITS or SHORT, pr->take holds
 * the split, by grant index. Under the mutex.
 */
static void _eval(struct lproject *pr, const struct aif_use *uses, size_t n,
		  uint32_t minutes, time_t now, struct eval *ev)
{
	aif_amount_t debt = pr->overdraw;

	memset(ev, 0, sizeof(*ev));
	ev->verdict = AIF_LIEN_FITS;
	for (size_t k = 0; k < pr->ngrants; k++) {
		pr->avail[k] = _left(&pr->grants[k]);
		pr->take[k] = 0;
	}
	if (!_any_gpus(uses, n))
		return;		/* nothing to reserve, nothing to check */
	_windows(pr, uses, n, minutes, now, ev);
	if (ev->verdict != AIF_LIEN_FITS)
		return;

	/* The debt comes first, from any grant that would pay this job. */
	for (size_t k = 0; k < pr->ngrants && debt; k++) {
		const struct lgrant *g = pr->order[k];
		size_t i = (size_t) (g - pr->grants);
		bool pays = false;

		for (size_t u = 0; u < n && !pays; u++)
			pays = uses[u].gpus &&
				_eligible(g, uses[u].type, now, minutes);
		if (pays) {
			aif_amount_t t = _min(pr->avail[i], debt);

			pr->avail[i] -= t;
			debt -= t;
		}
	}
	ev->missing = debt;

	for (size_t u = 0; u < n; u++) {
		aif_amount_t amount, rem;

		if (!uses[u].gpus)
			continue;
		if (aif_amount_of_use(uses[u].gpus, (int64_t) minutes * 60,
				      uses[u].weight_milli, &amount)) {
			ev->total = ev->missing = AIF_AMOUNT_MAX;
			ev->verdict = AIF_LIEN_SHORT;
			return;
		}
		ev->total = _add_sat(ev->total, amount);
		rem = amount;
		for (size_t k = 0; k < pr->ngrants && rem; k++) {
			const struct lgrant *g = pr->order[k];
			size_t i = (size_t) (g - pr->grants);
			aif_amount_t t;

			if (!_eligible(g, uses[u].type, now, minutes))
				continue;
			t = _min(pr->avail[i], rem);
			pr->avail[i] -= t;
			pr->take[i] += t;
			rem -= t;
		}
		ev->missing = _add_sat(ev->missing, rem);
	}
	if (ev->missing)
		ev->verdict = AIF_LIEN_SHORT;
}

static bool _fits(struct lproject *pr, const struct aif_use *uses, size_t n,
		  uint32_t minutes, time_t now)
{
	struct eval ev;

	_eval(pr, uses, n, minutes, now, &ev);
	return ev.verdict == AIF_LIEN_FITS;
}

/* The largest time limit below minutes that fits; 0: none. Fitting gets
 * no harder as the limit shrinks (less to pay, more grants last). */
static uint32_t _max_time(struct lproject *pr, const struct aif_use *uses,
			  size_t n, uint32_t minutes, time_t now)
{
	uint64_t lo = 1, hi = minutes == AIF_UNLIMITED ? AIF_UNLIMITED - 1 :
		minutes ? (uint64_t) minutes - 1 : 0;
	uint32_t best = 0;

	while (lo <= hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (_fits(pr, uses, n, (uint32_t) mid, now)) {
			best = (uint32_t) mid;
			lo = mid + 1;
		} else {
			hi = mid - 1;
		}
	}
	return best;
}

/* The largest count of use u below its own that fits, the others
 * unchanged; 0: none. */
static uint64_t _max_gpus(struct lproject *pr, const struct aif_use *uses,
			  size_t n, size_t u, uint32_t minutes, time_t now)
{
	struct aif_use trial[AIF_GPU_TYPES_MAX];
	uint64_t lo = 1, hi = uses[u].gpus - 1, best = 0;

	memcpy(trial, uses, n * sizeof(*trial));
	while (uses[u].gpus && lo <= hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		trial[u].gpus = mid;
		if (_fits(pr, trial, n, minutes, now)) {
			best = mid;
			lo = mid + 1;
		} else {
			hi = mid - 1;
		}
	}
	return best;
}

/* An untyped use is reserved as the costliest candidate (ties: by name). */
static const struct aif_rate *_costliest(const struct aif_lien_request *req)
{
	const struct aif_rate *best = NULL;

	for (size_t i = 0; i < req->ncandidates; i++) {
		const struct aif_rate *c = &req->candidates[i];

		if (!best || c->weight_milli > best->weight_milli ||
		    (c->weight_milli == best->weight_milli &&
		     strcmp(c->type, best->type) < 0))
			best = c;
	}
	return best;
}

static bool _weight_ok(int64_t w)
{
	return w >= 0 && w <= AIF_WEIGHT_MILLI_MAX;
}

/* Check the request and copy its uses, resolved, into out. */
static int _resolve(const struct aif_lien_request *req, struct aif_lien *out,
		    char *why, size_t len)
{
	const struct aif_rate *best = NULL;

	if (req->nuses > AIF_GPU_TYPES_MAX || (req->nuses && !req->uses) ||
	    (req->ncandidates && !req->candidates) || req->now < 0) {
		_why(why, len, "malformed lien request");
		return -1;
	}
	for (size_t i = 0; i < req->ncandidates; i++)
		if (!_name_ok(req->candidates[i].type) ||
		    !_weight_ok(req->candidates[i].weight_milli)) {
			_why(why, len, "malformed candidate GPU type");
			return -1;
		}
	for (size_t i = 0; i < req->nuses; i++) {
		const struct aif_use *u = &req->uses[i];

		if (!_name_ok(u->type) ||
		    (u->type[0] && !_weight_ok(u->weight_milli))) {
			_why(why, len, "malformed GPU use in a lien request");
			return -1;
		}
		out->uses[i] = *u;
		if (u->type[0])
			continue;
		if (!best && !(best = _costliest(req))) {
			_why(why, len, "the job names no GPU type and no "
			     "type it may run on was given");
			return -1;
		}
		_copy(out->uses[i].type, best->type);
		out->uses[i].weight_milli = best->weight_milli;
	}
	out->nuses = req->nuses;
	return 0;
}

/* "8 h100 GPUs" or "8 h100 and 4 a100 GPUs". */
static void _say_uses(char *why, size_t len, const struct aif_use *uses,
		      size_t n)
{
	bool first = true;

	for (size_t i = 0; i < n; i++) {
		if (!uses[i].gpus)
			continue;
		_say(why, len, "%s%llu%s%s", first ? "" : " and ",
		     (unsigned long long) uses[i].gpus,
		     uses[i].type[0] ? " " : "", uses[i].type);
		first = false;
	}
	_say(why, len, " GPUs");
}

static void _explain(const struct aif_lien *l, const struct eval *ev,
		     char *why, size_t len)
{
	const struct aif_use *u = &l->uses[ev->failing_use];
	char a[AIF_AMOUNT_STR_MAX], b[AIF_AMOUNT_STR_MAX];
	char t[AIF_TIME_MAX], day[64];
	bool way = false;

	_why(why, len, "%s", "");
	switch (l->verdict) {
	case AIF_LIEN_FITS:
		return;
	case AIF_LIEN_NO_GRANT:
		_say(why, len, "project %s has no grant that can pay for "
		     "%s%sGPUs now", l->project, u->type, u->type[0] ? " " : "");
		if (l->next_from) {
			aif_date_user(l->next_from, day, sizeof(day));
			_say(why, len, "; its next grant opens on %s. Submit "
			     "again from then.", day);
		} else {
			_say(why, len, ". Ask your centre for a grant.");
		}
		return;
	case AIF_LIEN_OUTLIVES:
		aif_date_user(l->latest_end, day, sizeof(day));
		aif_format_minutes(l->time_limit, t, sizeof(t));
		_say(why, len, "the grants of project %s that can pay for "
		     "%s%sGPUs end on %s, before a job of %s would. ",
		     l->project, u->type, u->type[0] ? " " : "", day, t);
		break;
	case AIF_LIEN_SHORT:
		aif_format_minutes(l->time_limit, t, sizeof(t));
		aif_amount_format(l->total, a, sizeof(a));
		_say(why, len, "project %s needs %s GPU-hours for ",
		     l->project, a);
		_say_uses(why, len, l->uses, l->nuses);
		if (l->missing == AIF_AMOUNT_MAX) {
			_say(why, len, " for %s, more than any grant holds. ",
			     t);
		} else {
			aif_amount_format(l->total - l->missing, b, sizeof(b));
			_say(why, len, " for %s and its grants have %s left",
			     t, b);
			if (l->overdraw) {
				aif_amount_format(l->overdraw, a, sizeof(a));
				_say(why, len, " after its overdraw of %s", a);
			}
			_say(why, len, ". ");
		}
		break;
	}
	if (l->max_time_limit) {
		aif_format_minutes(l->max_time_limit, t, sizeof(t));
		_say(why, len, "Use -t %s or less", t);
		way = true;
	}
	for (size_t i = 0; l->verdict == AIF_LIEN_SHORT && i < l->nuses; i++) {
		if (!l->max_gpus[i])
			continue;
		_say(why, len, "%s%llu%s%s GPUs instead of %llu",
		     way ? ", or " : "Use ",
		     (unsigned long long) l->max_gpus[i],
		     l->uses[i].type[0] ? " " : "", l->uses[i].type,
		     (unsigned long long) l->uses[i].gpus);
		way = true;
	}
	if (way)
		_say(why, len, ".");
	else if (l->verdict == AIF_LIEN_OUTLIVES)
		_say(why, len, "Ask your centre to extend a grant.");
	else
		_say(why, len, "Ask your centre for more GPU-hours.");
}

int aif_ledger_lien(struct aif_ledger *ledger, const char *project,
		    const struct aif_lien_request *req, struct aif_lien *out,
		    char *why, size_t len)
{
	struct lproject *pr;
	struct eval ev;

	_why(why, len, "%s", "");
	if (!ledger || !_name_ok(project) || !req || !out) {
		_why(why, len, "malformed lien request");
		errno = EINVAL;
		return -1;
	}
	memset(out, 0, sizeof(*out));
	if (_resolve(req, out, why, len)) {
		errno = EINVAL;
		return -1;
	}
	_copy(out->project, project);
	out->time_limit = req->time_limit;
	out->now = req->now;

	pthread_mutex_lock(&ledger->lock);
	if (!(pr = _find_project(ledger->table, project))) {
		pthread_mutex_unlock(&ledger->lock);
		_why(why, len, "the ledger has no project %s", out->project);
		errno = ENOENT;
		return -1;
	}
	_copy(out->project, pr->name);
	_eval(pr, out->uses, out->nuses, req->time_limit, req->now, &ev);
	out->verdict = ev.verdict;
	out->total = ev.total;
	out->overdraw = pr->overdraw;
	for (size_t k = 0; k < pr->ngrants; k++) {
		const struct lgrant *g = pr->order[k];
		aif_amount_t t = pr->take[g - pr->grants];

		if (!t)
			continue;
		if (out->nparts == AIF_LEDGER_PARTS_MAX) {
			if (ev.verdict != AIF_LIEN_FITS)
				break;	/* a refusal's split is only shown */
			pthread_mutex_unlock(&ledger->lock);
			_why(why, len, "the lien would be split across more "
			     "than %d grants", AIF_LEDGER_PARTS_MAX);
			errno = E2BIG;
			return -1;
		}
		_copy(out->parts[out->nparts].grant, g->name);
		out->parts[out->nparts++].amount = t;
	}
	if (ev.verdict == AIF_LIEN_FITS && req->reserve) {
		for (size_t i = 0; i < out->nparts; i++)
			_find_grant(pr, out->parts[i].grant)->reserved +=
				out->parts[i].amount;
		out->reserved = true;
	}
	switch (ev.verdict) {
	case AIF_LIEN_SHORT:
		out->missing = ev.missing;
		for (size_t u = 0; u < out->nuses; u++)
			out->max_gpus[u] = _max_gpus(pr, out->uses,
						     out->nuses, u,
						     req->time_limit,
						     req->now);
		/* fall through */
	case AIF_LIEN_OUTLIVES:
		out->latest_end = ev.latest_end;
		out->max_time_limit = _max_time(pr, out->uses, out->nuses,
						req->time_limit, req->now);
		break;
	case AIF_LIEN_NO_GRANT:
		out->next_from = ev.next_from;
		break;
	case AIF_LIEN_FITS:
		break;
	}
	pthread_mutex_unlock(&ledger->lock);
	_explain(out, &ev, why, len);
	return 0;
}

static bool _parts_ok(const struct aif_lien *l)
{
	if (!_name_ok(l->project) || l->nparts > AIF_LEDGER_PARTS_MAX)
		return false;
	for (size_t i = 0; i < l->nparts; i++)
		if (!_name_ok(l->parts[i].grant) || l->parts[i].amount < 0)
			return false;
	return true;
}

int aif_ledger_reserve(struct aif_ledger *ledger, const struct aif_lien *lien)
{
	struct lgrant *g[AIF_LEDGER_PARTS_MAX];
	struct lproject *pr;

	if (!ledger || !lien || !_parts_ok(lien) ||
	    lien->verdict != AIF_LIEN_FITS || lien->reserved) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&ledger->lock);
	if (!(pr = _find_project(ledger->table, lien->project)))
		goto unknown;
	for (size_t i = 0; i < lien->nparts; i++) {
		aif_amount_t sum;

		if (!(g[i] = _find_grant(pr, lien->parts[i].grant)))
			goto unknown;
		/* The same grant twice must fit too. */
		sum = g[i]->reserved;
		for (size_t j = 0; j <= i; j++)
			if (g[j] == g[i] &&
			    aif_amount_add(sum, lien->parts[j].amount, &sum)) {
				pthread_mutex_unlock(&ledger->lock);
				return -1;
			}
	}
	for (size_t i = 0; i < lien->nparts; i++)
		g[i]->reserved += lien->parts[i].amount;
	pthread_mutex_unlock(&ledger->lock);
	return 0;
unknown:
	pthread_mutex_unlock(&ledger->lock);
	errno = ENOENT;
	return -1;
}

int aif_ledger_release(struct aif_ledger *ledger, const struct aif_lien *lien,
		       aif_amount_t *clamped)
{
	aif_amount_t short_by = 0;
	struct lproject *pr;

	if (!ledger || !lien || !_parts_ok(lien)) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&ledger->lock);
	pr = _find_project(ledger->table, lien->project);
	for (size_t i = 0; i < lien->nparts; i++) {
		aif_amount_t a = lien->parts[i].amount;
		struct lgrant *g = pr ? _find_grant(pr, lien->parts[i].grant) :
			NULL;

		if (!g) {
			short_by = _add_sat(short_by, a);
		} else if (g->reserved < a) {
			short_by = _add_sat(short_by, a - g->reserved);
			g->reserved = 0;
		} else {
			g->reserved -= a;
		}
	}
	pthread_mutex_unlock(&ledger->lock);
	if (clamped)
		*clamped = _add_sat(*clamped, short_by);
	return 0;
}

/* Find a grant under the mutex, or fail with ENOENT and unlock. */
static struct lgrant *_lock_grant(struct aif_ledger *ledger,
				  const char *project, const char *grant)
{
	struct lproject *pr;
	struct lgrant *g = NULL;

	pthread_mutex_lock(&ledger->lock);
	if ((pr = _find_project(ledger->table, project)))
		g = _find_grant(pr, grant);
	if (!g) {
		pthread_mutex_unlock(&ledger->lock);
		errno = ENOENT;
	}
	return g;
}

int aif_ledger_set_reserved(struct aif_ledger *ledger, const char *project,
			    const char *grant, aif_amount_t amount)
{
	struct lgrant *g;

	if (!ledger || !_name_ok(project) || !_name_ok(grant) || amount < 0) {
		errno = EINVAL;
		return -1;
	}
	if (!(g = _lock_grant(ledger, project, grant)))
		return -1;
	g->reserved = amount;
	pthread_mutex_unlock(&ledger->lock);
	return 0;
}

int aif_ledger_set_charged(struct aif_ledger *ledger, const char *project,
			   const char *grant, aif_amount_t amount)
{
	struct lgrant *g;

	if (!ledger || !_name_ok(project) || !_name_ok(grant) || amount < 0) {
		errno = EINVAL;
		return -1;
	}
	if (!(g = _lock_grant(ledger, project, grant)))
		return -1;
	g->charged = amount;
	pthread_mutex_unlock(&ledger->lock);
	return 0;
}

int aif_ledger_set_overdraw(struct aif_ledger *ledger, const char *project,
			    aif_amount_t amount)
{
	struct lproject *pr;

	if (!ledger || !_name_ok(project) || amount < 0) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&ledger->lock);
	if ((pr = _find_project(ledger->table, project)))
		pr->overdraw = amount;
	pthread_mutex_unlock(&ledger->lock);
	if (!pr)
		errno = ENOENT;
	return pr ? 0 : -1;
}

int aif_ledger_replace_reserved(struct aif_ledger *ledger,
				const struct aif_lien *liens, size_t n,
				aif_amount_t *unknown)
{
	struct ltable *t;
	aif_amount_t lost = 0;

	if (!ledger || (n && !liens)) {
		errno = EINVAL;
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (!_parts_ok(&liens[i])) {
			errno = EINVAL;
			return -1;
		}
	pthread_mutex_lock(&ledger->lock);
	t = ledger->table;
	for (size_t i = 0; t && i < t->n; i++)
		for (size_t j = 0; j < t->projects[i].ngrants; j++)
			t->projects[i].grants[j].reserved = 0;
	for (size_t i = 0; i < n; i++) {
		struct lproject *pr = _find_project(t, liens[i].project);

		for (size_t j = 0; j < liens[i].nparts; j++) {
			const struct aif_lien_part *part = &liens[i].parts[j];
			struct lgrant *g = pr ? _find_grant(pr, part->grant) :
				NULL;

			if (g)
				g->reserved = _add_sat(g->reserved,
						       part->amount);
			else
				lost = _add_sat(lost, part->amount);
		}
	}
	pthread_mutex_unlock(&ledger->lock);
	if (unknown)
		*unknown = _add_sat(*unknown, lost);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Charges                                                              */

/* Record every threshold of pr that g went through, from before to
 * g->charged. */
static void _crossings(const struct lproject *pr, const struct lgrant *g,
		       aif_amount_t before, struct aif_charge *out)
{
	for (size_t j = 0; j < pr->nthresholds; j++) {
		aif_amount_t at = _threshold_amount(g->granted,
						    pr->threshold_ppm[j]);

		if (!(before < at && at <= g->charged))
			continue;
		if (out->ncrossings == AIF_LEDGER_CROSSINGS_MAX) {
			out->crossings_truncated = true;
			return;
		}
		_copy(out->crossings[out->ncrossings].grant, g->name);
		out->crossings[out->ncrossings++].fraction =
			pr->thresholds[j];
	}
}

int aif_ledger_charge(struct aif_ledger *ledger, const char *project,
		      const struct aif_use *uses, size_t n, int64_t elapsed_s,
		      time_t start, struct aif_charge *out)
{
	aif_amount_t rest = 0, overdraw;
	struct lproject *pr;
	size_t touched = 0;

	if (!ledger || !_name_ok(project) || (n && !uses) || !out ||
	    elapsed_s < 0 || start < 0) {
		errno = EINVAL;
		return -1;
	}
	memset(out, 0, sizeof(*out));
	_copy(out->project, project);
	for (size_t u = 0; u < n; u++) {
		aif_amount_t a;

		if (!_name_ok(uses[u].type) ||
		    !_weight_ok(uses[u].weight_milli)) {
			errno = EINVAL;
			return -1;
		}
		if (aif_amount_of_use(uses[u].gpus, elapsed_s,
				      uses[u].weight_milli, &a) ||
		    aif_amount_add(out->total, a, &out->total))
			return -1;
	}

	pthread_mutex_lock(&ledger->lock);
	if (!(pr = _find_project(ledger->table, project))) {
		pthread_mutex_unlock(&ledger->lock);
		errno = ENOENT;
		return -1;
	}
	for (size_t k = 0; k < pr->ngrants; k++)
		pr->take[k] = 0;
	for (size_t u = 0; u < n; u++) {
		aif_amount_t rem = 0;

		aif_amount_of_use(uses[u].gpus, elapsed_s,
				  uses[u].weight_milli, &rem);
		for (size_t k = 0; k < pr->ngrants && rem; k++) {
			const struct lgrant *g = pr->order[k];
			size_t i = (size_t) (g - pr->grants);
			aif_amount_t have, t;

			if (!_valid_at(g, start) || !_pays(g, uses[u].type) ||
			    g->charged >= g->granted)
				continue;
			have = g->granted - g->charged - pr->take[i];
			if (have <= 0)
				continue;
			if (!pr->take[i] && touched == AIF_LEDGER_PARTS_MAX)
				continue;	/* no room to say it paid */
			t = _min(have, rem);
			touched += !pr->take[i];
			pr->take[i] += t;
			rem -= t;
		}
		rest += rem;	/* <= out->total: no overflow */
	}
	if (aif_amount_add(pr->overdraw, rest, &overdraw)) {
		pthread_mutex_unlock(&ledger->lock);
		return -1;
	}
	for (size_t k = 0; k < pr->ngrants; k++) {
		struct lgrant *g = pr->order[k];
		struct aif_charge_part *part;
		aif_amount_t t = pr->take[g - pr->grants];

		if (!t)
			continue;
		part = &out->parts[out->nparts++];
		_copy(part->grant, g->name);
		part->amount = t;
		part->before = g->granted - g->charged;
		g->charged += t;
		part->after = g->granted - g->charged;
		_crossings(pr, g, g->charged - t, out);
	}
	pr->overdraw = overdraw;
	out->overdraw = rest;
	out->overdraw_after = overdraw;
	pthread_mutex_unlock(&ledger->lock);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Balances                                                             */

int aif_ledger_balance(struct aif_ledger *ledger, const char *project,
		       struct aif_grant_balance *out, size_t max,
		       struct aif_project_balance *summary)
{
	struct lproject *pr;

	if (!ledger || !_name_ok(project) || (max && !out)) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&ledger->lock);
	if (!(pr = _find_project(ledger->table, project))) {
		pthread_mutex_unlock(&ledger->lock);
		errno = ENOENT;
		return -1;
	}
	for (size_t k = 0; k < pr->ngrants && k < max; k++) {
		const struct lgrant *g = pr->order[k];
		struct aif_grant_balance *b = &out[k];

		memset(b, 0, sizeof(*b));
		_copy(b->name, g->name);
		_copy(b->gpu_type, g->gpu_type);
		b->valid_from = g->valid_from;
		b->valid_until = g->valid_until;
		b->granted = g->granted;
		b->charged = g->charged;
		b->reserved = g->reserved;
		/* Each is in [0, INT64_MAX]: saturate rather than wrap. */
		if (__builtin_sub_overflow(g->granted, g->charged, &b->left) ||
		    __builtin_sub_overflow(b->left, g->reserved, &b->left))
			b->left = INT64_MIN;
		b->active = g->active;
	}
	if (summary) {
		summary->overdraw = pr->overdraw;
		summary->ngrants = pr->ngrants;
		summary->active = pr->active;
	}
	pthread_mutex_unlock(&ledger->lock);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Budgets closed (issue 8: never fail open in silence)                 */

void aif_ledger_close_budgets(struct aif_ledger *ledger, const char *why)
{
	if (!ledger)
		return;
	pthread_mutex_lock(&ledger->lock);
	snprintf(ledger->closed, sizeof(ledger->closed), "%s",
		 why && why[0] ? why : "the ledger is not rebuilt");
	pthread_mutex_unlock(&ledger->lock);
}

void aif_ledger_open_budgets(struct aif_ledger *ledger)
{
	if (!ledger)
		return;
	pthread_mutex_lock(&ledger->lock);
	ledger->closed[0] = '\0';
	pthread_mutex_unlock(&ledger->lock);
}

bool aif_ledger_budgets_closed(struct aif_ledger *ledger, char *why,
			       size_t len)
{
	bool closed;

	if (!ledger)
		return false;
	pthread_mutex_lock(&ledger->lock);
	closed = ledger->closed[0] != '\0';
	if (closed && why && len)
		snprintf(why, len, "%s", ledger->closed);
	pthread_mutex_unlock(&ledger->lock);
	return closed;
}
