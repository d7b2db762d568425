/*
 * slurm-aifactory: a lien against the ledger: whether a job's GPUs fit
 * its project's grants (their windows, the overdraw first, the draw
 * order), and if not by how much, with the largest time limit and GPU
 * counts that would, in a message for the user; then taking it
 * (request.reserve) and giving it back (release). lien.c builds the request
 * from the policy and the tag.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "date.h"
#include "ledger_internal.h"
#include "text.h"

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
		aif_copy(out->uses[i].type, sizeof(out->uses[i].type),
			 best->type);
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
		/* What it needs rounded up, what is left down: never
		 * "needs 0.05 ... 0.05 left". */
		aif_amount_format_up(l->total, a, sizeof(a));
		_say(why, len, "project %s needs %s GPU-hours for ",
		     l->project, a);
		_say_uses(why, len, l->uses, l->nuses);
		if (l->missing == AIF_AMOUNT_MAX) {
			_say(why, len, " for %s, more than any grant holds. ",
			     t);
		} else {
			aif_amount_format_down(l->total - l->missing, b,
					       sizeof(b));
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
	aif_copy(out->project, sizeof(out->project), project);
	out->time_limit = req->time_limit;
	out->now = req->now;

	pthread_mutex_lock(&ledger->lock);
	if (!(pr = _find_project(ledger->table, project))) {
		pthread_mutex_unlock(&ledger->lock);
		_why(why, len, "the ledger has no project %s", out->project);
		errno = ENOENT;
		return -1;
	}
	aif_copy(out->project, sizeof(out->project), pr->name);
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
		aif_copy(out->parts[out->nparts].grant, AIF_NAME_MAX, g->name);
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
