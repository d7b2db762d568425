/*
 * slurm-aifactory: the SITE factor (priority.h; the why in
 * docs/priority.md).
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "policy_internal.h"
#include "priority.h"
#include "tag.h"

/* What scontrol lets an operator write (|SiteFactor| <= 2^31 - 3): an
 * override in a tag is held to it, whoever wrote the tag. */
#define SITE_MAX ((int64_t) 0x7ffffffd)
/* Grants of one project the pacing looks at (draw order: those ending
 * first). A project with more is paced on these. */
#define PACING_GRANTS_MAX 64

const char *aif_class_state_name(enum aif_class_state s)
{
	switch (s) {
	case AIF_CLASS_GUARANTEED:
		return "guaranteed";
	case AIF_CLASS_UNDER:
		return "under";
	case AIF_CLASS_BORROWING:
		return "borrowing";
	case AIF_CLASS_OVER_LIMIT:
		return "over-limit";
	case AIF_CLASS_UNKNOWN:
		break;
	}
	return "unknown";
}

const char *aif_pacing_state_name(enum aif_pacing_state s)
{
	switch (s) {
	case AIF_PACING_NO_GRANT:
		return "no-grant";
	case AIF_PACING_PACED:
		return "paced";
	case AIF_PACING_OVERDRAWN:
		return "overdrawn";
	case AIF_PACING_OFF:
		break;
	}
	return "off";
}

static double _clamp1(double f)
{
	return f > 1 ? 1 : f < -1 ? -1 : f;
}

double aif_class_factor(const struct aif_class *c, double used,
			enum aif_class_state *state)
{
	double share = c->share;

	if (isnan(used) || used < 0) {
		*state = AIF_CLASS_UNKNOWN;
		return 0;
	}
	/* What it never lends: its jobs go first until it has had it. */
	if (used < share - c->lend_limit) {
		*state = AIF_CLASS_GUARANTEED;
		return 1;
	}
	if (used <= share) {
		*state = AIF_CLASS_UNDER;
		return share - used;
	}
	if (c->borrow_limit >= 0 && used >= share + c->borrow_limit) {
		*state = AIF_CLASS_OVER_LIMIT;
		return -1;
	}
	*state = AIF_CLASS_BORROWING;
	return _clamp1(share - used);
}

/* a + b, held at INT64_MAX (the sums of a project's grants). */
static aif_amount_t _sum(aif_amount_t a, aif_amount_t b)
{
	aif_amount_t s;

	return aif_amount_add(a, b, &s) ? AIF_AMOUNT_MAX : s;
}

int aif_pacing_of(struct aif_ledger *ledger, const struct aif_project *proj,
		  time_t now, struct aif_pacing *out)
{
	struct aif_grant_balance g[PACING_GRANTS_MAX];
	struct aif_project_balance sum;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (aif_ledger_balance(ledger, proj->name, g, PACING_GRANTS_MAX,
			       &sum))
		return -1;
	n = sum.ngrants < PACING_GRANTS_MAX ? sum.ngrants : PACING_GRANTS_MAX;
	for (size_t i = 0; i < n; i++) {
		double window, elapsed;

		if (!g[i].active || now < g[i].valid_from ||
		    now > g[i].valid_until)
			continue;
		window = (double) g[i].valid_until - (double) g[i].valid_from
			+ 1;
		elapsed = (double) now - (double) g[i].valid_from;
		out->ngrants++;
		out->granted = _sum(out->granted, g[i].granted);
		out->spent = _sum(out->spent, _sum(g[i].charged,
						   g[i].reserved));
		out->schedule = _sum(out->schedule, (aif_amount_t)
				     llround((double) g[i].granted *
					     (elapsed / window)));
	}
	out->overdraw = sum.overdraw;
	/* A debt in a metered class holds the project back, paced or not:
	 * an unmetered class's jobs are never held back. */
	if (sum.overdraw > 0 && proj->klass && proj->klass->metered) {
		out->state = AIF_PACING_OVERDRAWN;
		out->factor = -1;
	} else if (!aif_project_paced(proj)) {
		out->state = AIF_PACING_OFF;
	} else if (!out->granted) {
		out->state = AIF_PACING_NO_GRANT;
	} else {
		out->state = AIF_PACING_PACED;
		out->factor = _clamp1(((double) out->schedule -
				       (double) out->spent) /
				      (double) out->granted);
	}
	return 0;
}

struct pacing_slot {
	bool done;
	bool known;		/* the ledger knows the project */
	struct aif_pacing pacing;
};

struct aif_ranking {
	atomic_int refs;
	struct aif_policy *policy;
	struct aif_ledger *ledger;
	time_t now;
	struct aif_priority_weights w;
	struct aif_class_prio *classes;		/* as policy->classes */
	struct pacing_slot *projects;		/* as policy->projects */
};

struct aif_ranking *aif_ranking_new(struct aif_policy *p,
				    struct aif_ledger *ledger,
				    const struct aif_class_use *uses, size_t n,
				    time_t now)
{
	struct aif_ranking *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->classes = calloc(p->nclasses ? p->nclasses : 1,
			    sizeof(*r->classes));
	r->projects = calloc(p->nprojects ? p->nprojects : 1,
			     sizeof(*r->projects));
	if (!r->classes || !r->projects) {
		free(r->classes);
		free(r->projects);
		free(r);
		return NULL;
	}
	atomic_init(&r->refs, 1);
	r->policy = aif_policy_ref(p);
	r->ledger = ledger;
	r->now = now;
	aif_policy_priority(p, &r->w);
	for (size_t i = 0; i < p->nclasses; i++) {
		struct aif_class_prio *cp = &r->classes[i];
		const struct aif_class_use *u = NULL;

		cp->klass = &p->classes[i];
		for (size_t j = 0; uses && j < n && !u; j++)
			if (!strcmp(uses[j].name, cp->klass->name))
				u = &uses[j];
		cp->used = NAN;
		if (u && u->capacity > 0 && u->gpu_seconds >= 0) {
			cp->gpu_seconds = u->gpu_seconds;
			cp->capacity = u->capacity;
			cp->used = u->gpu_seconds / u->capacity;
		}
		cp->factor = aif_class_factor(cp->klass, cp->used, &cp->state);
		cp->points = llround(r->w.class_weight * cp->factor);
		if (cp->state == AIF_CLASS_UNKNOWN)
			continue;
		if (cp->used > cp->klass->share)
			cp->borrowed = cp->used - cp->klass->share;
		else
			cp->lent = cp->klass->share - cp->used;
	}
	return r;
}

struct aif_ranking *aif_ranking_ref(struct aif_ranking *r)
{
	if (r)
		atomic_fetch_add(&r->refs, 1);
	return r;
}

void aif_ranking_unref(struct aif_ranking *r)
{
	if (!r || atomic_fetch_sub(&r->refs, 1) != 1)
		return;
	aif_policy_unref(r->policy);
	free(r->classes);
	free(r->projects);
	free(r);
}

time_t aif_ranking_time(const struct aif_ranking *r)
{
	return r->now;
}

const struct aif_policy *aif_ranking_policy(const struct aif_ranking *r)
{
	return r->policy;
}

size_t aif_ranking_classes(const struct aif_ranking *r,
			   const struct aif_class_prio **out)
{
	*out = r->classes;
	return r->policy->nclasses;
}

/* The project's pacing at the ranking's time, from the ledger as it
 * is: once per ranking, or again when fresh (written
 * nowhere but out: other threads may ask fresh at the same time). */
static bool _pacing(struct aif_ranking *r, const struct aif_project *proj,
		    bool fresh, struct aif_pacing *out)
{
	struct pacing_slot *slot = &r->projects[proj - r->policy->projects];

	if (fresh)
		return !aif_pacing_of(r->ledger, proj, r->now, out);
	if (!slot->done) {
		slot->known = !aif_pacing_of(r->ledger, proj, r->now,
					     &slot->pacing);
		slot->done = true;
	}
	*out = slot->pacing;
	return slot->known;
}

int64_t aif_ranking_job(struct aif_ranking *r, const char *comment,
			bool fresh, struct aif_site_parts *parts)
{
	struct aif_site_parts local;
	struct aif_site_parts *sp = parts ? parts : &local;
	const struct aif_project *proj;
	const struct aif_class *klass;
	int64_t span = (int64_t) r->w.class_weight + r->w.pacing_weight;
	int64_t site;

	memset(sp, 0, sizeof(*sp));
	if (aif_tag_parse(comment, sp->klass, sp->project))
		return 0;
	sp->tagged = true;
	if (!aif_tag_site(comment, &site)) {
		sp->override = true;
		sp->points = site > SITE_MAX ? SITE_MAX :
			site < -SITE_MAX ? -SITE_MAX : site;
		return sp->points;
	}
	proj = aif_policy_project(r->policy, sp->project);
	klass = aif_policy_class(r->policy, sp->klass);
	if (!proj || !klass)
		return 0;
	sp->known = true;
	sp->fallback = aif_tag_fallback(comment);

	{
		const struct aif_class_prio *cp =
			&r->classes[klass - r->policy->classes];

		sp->class_state = cp->state;
		sp->class_factor = cp->factor;
		sp->class_used = cp->used;
		sp->class_points = cp->points;
	}
	if (!_pacing(r, proj, fresh, &sp->pacing))
		sp->pacing.state = AIF_PACING_NO_GRANT;
	sp->pacing_points = llround(r->w.pacing_weight * sp->pacing.factor);
	sp->floor = sp->fallback ||
		sp->pacing.state == AIF_PACING_OVERDRAWN;
	if (sp->floor)
		sp->points = -span;
	else
		sp->points = sp->class_points + sp->pacing_points;
	if (sp->points > span)
		sp->points = span;
	if (sp->points < -span)
		sp->points = -span;
	return sp->points;
}

/* ------------------------------------------------------------------ */
/* What aifctl priority prints                                          */

static void _fraction(char *buf, size_t len, double f)
{
	if (isnan(f) || f < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.3f", f);
}

int aif_ranking_print_classes(const struct aif_ranking *r, FILE *out)
{
	char at[32];
	struct tm tm;

	fprintf(out, "%-16s %6s %6s %6s %6s %6s %8s  %-10s %8s %8s\n",
		"CLASS", "SHARE", "LEND", "BORROW", "USED", "LENT", "BORROWED",
		"STATE", "FACTOR", "POINTS");
	for (size_t i = 0; i < r->policy->nclasses; i++) {
		const struct aif_class_prio *cp = &r->classes[i];
		char share[16], lend[16], borrow[16], used[16];
		char lent[16], borrowed[16];
		bool known = cp->state != AIF_CLASS_UNKNOWN;

		_fraction(share, sizeof(share), cp->klass->share);
		_fraction(lend, sizeof(lend), cp->klass->lend_limit);
		_fraction(borrow, sizeof(borrow), cp->klass->borrow_limit);
		_fraction(used, sizeof(used), cp->used);
		_fraction(lent, sizeof(lent), known ? cp->lent : NAN);
		_fraction(borrowed, sizeof(borrowed),
			  known ? cp->borrowed : NAN);
		fprintf(out, "%-16s %6s %6s %6s %6s %6s %8s  %-10s %+8.4f %+8lld\n",
			cp->klass->name, share, lend, borrow, used, lent,
			borrowed, aif_class_state_name(cp->state), cp->factor,
			(long long) llround(r->w.class_weight * cp->factor));
	}
	gmtime_r(&r->now, &tm);
	strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(out, "weights: class %u, pacing %u; classes measured at %s\n",
		r->w.class_weight, r->w.pacing_weight, at);
	return ferror(out) ? -1 : 0;
}

/* "paced: spent 1.00 of 10.00 GPU-hours, schedule 2.50" and the like. */
static void _pacing_text(const struct aif_pacing *pc, char *buf, size_t len)
{
	char granted[AIF_AMOUNT_STR_MAX], spent[AIF_AMOUNT_STR_MAX];
	char schedule[AIF_AMOUNT_STR_MAX], owed[AIF_AMOUNT_STR_MAX];

	aif_amount_format(pc->granted, granted, sizeof(granted));
	aif_amount_format(pc->spent, spent, sizeof(spent));
	aif_amount_format(pc->schedule, schedule, sizeof(schedule));
	aif_amount_format(pc->overdraw, owed, sizeof(owed));
	switch (pc->state) {
	case AIF_PACING_PACED:
		snprintf(buf, len, "paced: spent %s of %s GPU-hours (charged and reserved), an even spend %s",
			 spent, granted, schedule);
		break;
	case AIF_PACING_OVERDRAWN:
		snprintf(buf, len, "overdrawn by %s GPU-hours", owed);
		break;
	case AIF_PACING_NO_GRANT:
		snprintf(buf, len, "no grant valid now");
		break;
	case AIF_PACING_OFF:
		snprintf(buf, len, "pacing off");
		break;
	}
}

int aif_ranking_print_project(struct aif_ranking *r,
			      const struct aif_project *proj, FILE *out)
{
	struct aif_pacing pc;
	char text[512];

	if (!_pacing(r, proj, true, &pc))
		pc.state = AIF_PACING_NO_GRANT;
	_pacing_text(&pc, text, sizeof(text));
	fprintf(out, "project %s (class %s): %s\n", proj->name,
		proj->klass ? proj->klass->name : "?", text);
	fprintf(out, "pacing factor %+.4f x %u = %+lld points\n", pc.factor,
		r->w.pacing_weight,
		(long long) llround(r->w.pacing_weight * pc.factor));
	return ferror(out) ? -1 : 0;
}

int aif_ranking_print_job(struct aif_ranking *r, const char *klass,
			  const char *project, bool fallback, FILE *out)
{
	char tag[3 * AIF_NAME_MAX], text[512], used[16];
	struct aif_site_parts sp;

	snprintf(tag, sizeof(tag), AIF_TAG_MARK "%s,project=%s%s", klass,
		 project, fallback ? ",lien=none" : "");
	aif_ranking_job(r, tag, true, &sp);
	if (!sp.known) {
		fprintf(out, "class %s or project %s is not in the policy: SITE 0\n",
			klass, project);
		return ferror(out) ? -1 : 0;
	}
	_fraction(used, sizeof(used), sp.class_used);
	fprintf(out, "class %s: %s, share %.3f, used %s: %+.4f x %u = %+lld\n",
		sp.klass, aif_class_state_name(sp.class_state),
		aif_policy_class(r->policy, klass)->share, used,
		sp.class_factor, r->w.class_weight,
		(long long) sp.class_points);
	_pacing_text(&sp.pacing, text, sizeof(text));
	fprintf(out, "project %s: %s: %+.4f x %u = %+lld\n", sp.project, text,
		sp.pacing.factor, r->w.pacing_weight,
		(long long) sp.pacing_points);
	if (sp.floor)
		fprintf(out, "SITE %+lld: the floor, as %s\n",
			(long long) sp.points, sp.fallback ?
			"the job is on its class's fallback QOS" :
			"its project is overdrawn");
	else
		fprintf(out, "SITE %+lld\n", (long long) sp.points);
	return ferror(out) ? -1 : 0;
}
