/*
 * slurm-aifactory: the SITE factor of SLURM's priority, as
 * site_factor/aifactory sets it on pending jobs (docs/priority.md).
 *
 *   SITE = round(class_weight x class factor + pacing_weight x pacing factor)
 *
 * Both factors are in [-1, 1]. The class factor is how far the job's
 * class is under (positive) or over (negative) its share of its GPUs,
 * with Kueue's lending and borrowing limits; the pacing factor is how far
 * the job's project is behind (positive) or ahead of (negative) spending
 * its grants evenly over their windows. A job that must wait for all
 * others (its project is overdrawn, or it runs on its class's fallback
 * QOS) gets the floor, -(class_weight + pacing_weight). An operator's
 * SiteFactor, kept in the job's tag, wins over both.
 *
 * Pure arithmetic over what is in memory: the policy, the ledger (its
 * lock, held for microseconds), and the class usage the host hands in
 * (in slurmctld: SLURM's decayed association usage). No I/O.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef AIF_PRIORITY_H
#define AIF_PRIORITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "aifactory.h"
#include "ledger.h"

enum aif_class_state {
	AIF_CLASS_UNKNOWN = 0,	/* no usage known yet: factor 0 */
	AIF_CLASS_GUARANTEED,	/* under share - lend_limit: factor 1 */
	AIF_CLASS_UNDER,	/* at or under its share: share - used */
	AIF_CLASS_BORROWING,	/* over it, within borrow_limit: share - used */
	AIF_CLASS_OVER_LIMIT,	/* at or past borrow_limit: factor -1 */
};

/* "guaranteed", "under", "borrowing", "over-limit", "unknown". */
const char *aif_class_state_name(enum aif_class_state s);

/*
 * The class factor of c when its jobs used the fraction used of its GPUs
 * (decayed GPU-seconds over what its GPUs give in the same decay): in
 * [-1, 1], with the state that decided it. NaN or negative used: unknown.
 */
double aif_class_factor(const struct aif_class *c, double used,
			enum aif_class_state *state);

/* What the host measured for one class. */
struct aif_class_use {
	char name[AIF_NAME_MAX];
	double gpu_seconds;	/* decayed GPU-seconds of its running and
				 * finished jobs */
	double capacity;	/* decayed GPU-seconds its GPUs give: GPUs of
				 * its partitions x half-life / ln 2 */
};

/* One class as a ranking saw it (aifctl priority --classes). */
struct aif_class_prio {
	const struct aif_class *klass;
	double gpu_seconds, capacity;
	double used;		/* gpu_seconds / capacity; NaN: unknown */
	double factor;
	enum aif_class_state state;
	double borrowed;	/* used - share when over it, else 0 */
	double lent;		/* share - used when under it, else 0 */
	int64_t points;		/* class_weight x factor, rounded */
};

enum aif_pacing_state {
	AIF_PACING_OFF = 0,	/* pacing off for the project: factor 0 */
	AIF_PACING_NO_GRANT,	/* no grant valid now: factor 0 */
	AIF_PACING_PACED,	/* (schedule - spent) / granted */
	AIF_PACING_OVERDRAWN,	/* the floor */
};

const char *aif_pacing_state_name(enum aif_pacing_state s);

/* A project's pacing now, over the grants valid now. */
struct aif_pacing {
	enum aif_pacing_state state;
	aif_amount_t granted;	/* of the grants valid now */
	aif_amount_t spent;	/* charged + reserved on them */
	aif_amount_t schedule;	/* what an even spend would have spent */
	aif_amount_t overdraw;
	size_t ngrants;		/* grants valid now */
	double factor;		/* [-1, 1] */
};

/* proj's pacing at now, from the ledger (its lock, once): 0, or -1 with
 * errno ENOENT when the ledger does not know the project. */
int aif_pacing_of(struct aif_ledger *ledger, const struct aif_project *proj,
		  time_t now, struct aif_pacing *out);

/* What a job's SITE is made of (aifctl priority JOBID). */
struct aif_site_parts {
	char klass[AIF_NAME_MAX];	/* from the tag; "" without one */
	char project[AIF_NAME_MAX];
	bool tagged;		/* the job has our tag: SITE is ours to set */
	bool known;		/* its class and project are in the policy */
	bool fallback;		/* on its class's fallback QOS */
	bool override;		/* an operator's SiteFactor */
	bool floor;		/* overdrawn, or fallback: the floor */
	enum aif_class_state class_state;
	double class_factor;
	double class_used;	/* as aif_class_prio.used */
	struct aif_pacing pacing;
	int64_t class_points, pacing_points;
	int64_t points;		/* SITE */
};

/*
 * A ranking: the classes' factors at one instant under one policy, and
 * the pacing of each project it was asked about (computed once per
 * ranking). site_factor's update builds one per PriorityCalcPeriod, keeps
 * it for the set() calls until the next, and publishes it to the service
 * (aif_service_publish_ranking), which answers aifctl priority from it.
 *
 * uses (n of them, by class name; NULL: none known) come from the host;
 * a class without one is AIF_CLASS_UNKNOWN. Takes a reference on p.
 * Returns a ranking with one reference, or NULL without memory.
 *
 * Threads: its classes never change after aif_ranking_new(), and a
 * fresh aif_ranking_job() writes nothing into it, so any thread may call
 * those while one thread (site_factor's, under slurmctld's job lock)
 * makes the cached calls.
 */
struct aif_ranking;
struct aif_ranking *aif_ranking_new(struct aif_policy *p,
				    struct aif_ledger *ledger,
				    const struct aif_class_use *uses, size_t n,
				    time_t now);
struct aif_ranking *aif_ranking_ref(struct aif_ranking *r); /* r may be NULL */
void aif_ranking_unref(struct aif_ranking *r);	/* r may be NULL */
const struct aif_policy *aif_ranking_policy(const struct aif_ranking *r);
time_t aif_ranking_time(const struct aif_ranking *r);

/*
 * The SITE points of a job whose AdminComment is comment, and (parts not
 * NULL) what they are made of. fresh: compute the project's pacing now
 * (at submit, and for aifctl), rather than once per ranking. A job
 * without our tag, or whose project or class the policy does not know,
 * gets 0 (parts->tagged and parts->known say which).
 */
int64_t aif_ranking_job(struct aif_ranking *r, const char *comment,
			bool fresh, struct aif_site_parts *parts);

/* The ranking's classes, in the policy's order (aif_policy_class_at). */
size_t aif_ranking_classes(const struct aif_ranking *r,
			   const struct aif_class_prio **out);

/*
 * What `aifctl priority` prints, from slurmctld: every class (share,
 * limits, use, state, factor, points); one project's pacing now; the
 * parts of a job of class klass in project (fallback: on its class's
 * fallback QOS). 0, or -1 when out failed.
 */
int aif_ranking_print_classes(const struct aif_ranking *r, FILE *out);
int aif_ranking_print_project(struct aif_ranking *r,
			      const struct aif_project *proj, FILE *out);
int aif_ranking_print_job(struct aif_ranking *r, const char *klass,
			  const char *project, bool fallback, FILE *out);

#endif /* AIF_PRIORITY_H */
