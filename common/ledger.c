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
 * Here: the table's life and sync, amounts set directly, charges,
 * balances and closed budgets; liens are in ledger_lien.c, amounts'
 * arithmetic in amount.c, what they share in ledger_internal.h.
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

#include "ledger_internal.h"
#include "text.h"

/* The least charged amount at or above fraction ppm of granted:
 * ceil(granted * ppm / 1e6), exactly and within int64. */
static aif_amount_t _threshold_amount(aif_amount_t granted, int64_t ppm)
{
	aif_amount_t q = granted / PPM, r = granted % PPM;

	return q * ppm + (r * ppm + PPM - 1) / PPM;
}

/* ------------------------------------------------------------------ */
/* Small helpers                                                        */

static int _cmp_project(const void *a, const void *b)
{
	return strcasecmp(((const struct lproject *) a)->name,
			  ((const struct lproject *) b)->name);
}

static int _cmp_grant(const void *a, const void *b)
{
	return strcmp(((const struct lgrant *) a)->name,
		      ((const struct lgrant *) b)->name);
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

	aif_copy(pr->name, sizeof(pr->name), proj->name);
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
		aif_copy(g->name, sizeof(g->name), src->name);
		aif_copy(g->gpu_type, sizeof(g->gpu_type), src->gpu_type);
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
	aif_copy(pr->name, sizeof(pr->name), old->name);
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
	ledger->liens_rebuilt = true;
	pthread_mutex_unlock(&ledger->lock);
	if (unknown)
		*unknown = _add_sat(*unknown, lost);
	return 0;
}

bool aif_ledger_liens_rebuilt(struct aif_ledger *ledger)
{
	bool rebuilt;

	pthread_mutex_lock(&ledger->lock);
	rebuilt = ledger->liens_rebuilt;
	pthread_mutex_unlock(&ledger->lock);
	return rebuilt;
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
		aif_copy(out->crossings[out->ncrossings].grant, AIF_NAME_MAX,
			 g->name);
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
	aif_copy(out->project, sizeof(out->project), project);
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
		aif_copy(part->grant, sizeof(part->grant), g->name);
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
		aif_copy(b->name, sizeof(b->name), g->name);
		aif_copy(b->gpu_type, sizeof(b->gpu_type), g->gpu_type);
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
