/*
 * slurm-aifactory ledger: GPU-hour budgets in exact integer arithmetic.
 *
 * The design is docs/ledger.md: amounts in milli-GPU-seconds, grants
 * drawn earliest-expiring first, liens at submit, charges at the end, an
 * overdraw when no grant can pay. This file is the arithmetic only: no
 * I/O, no SLURM header. The journal (common/journal_*.c) records what
 * these functions did; the plugins feed them.
 *
 * Life of a ledger, as hwloc's topology: aif_ledger_new(), then
 * aif_ledger_sync() with every policy snapshot that comes into force,
 * then liens, charges and balances, then aif_ledger_free().
 *
 * Thread safety: every function may be called from any thread at once.
 * A ledger has its own mutex, held only for the arithmetic of one call
 * (microseconds; no I/O, no allocation except in aif_ledger_sync, which
 * allocates outside it). aif_ledger_free() must not race any other call.
 *
 * Errors: functions return 0, or -1 with errno set (EINVAL: a bad
 * argument, ENOENT: a project or grant the ledger does not know,
 * EOVERFLOW: an amount beyond int64, ENOMEM). Nothing is changed by a
 * call that fails.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef AIF_LEDGER_H
#define AIF_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "aifactory.h"

/* ------------------------------------------------------------------ */
/* Amounts                                                              */

/* Milli-GPU-seconds: GPUs x seconds x weight in thousandths. */
typedef int64_t aif_amount_t;

#define AIF_AMOUNT_PER_GPU_HOUR ((aif_amount_t) 3600 * 1000)
#define AIF_AMOUNT_MAX INT64_MAX
#define AIF_WEIGHT_MILLI_MAX ((int64_t) 1000000 * 1000)	/* weight 1e6 */
#define AIF_AMOUNT_STR_MAX 32	/* aif_amount_format() never needs more */

/* GPU-hours (a grant's gpu_hours) to an amount, rounded to the nearest
 * milli-GPU-second. -1 (EINVAL) for NaN or a negative number, -1
 * (EOVERFLOW) when the amount would not fit in int64. */
int aif_amount_from_gpu_hours(double gpu_hours, aif_amount_t *out);

/* A billing weight in thousandths ("a100": 0.5 is 500). -1 (EINVAL) for
 * NaN, a negative weight, one above 1e6, or one with more than three
 * decimals (beyond 1e-9, which absorbs binary rounding: 0.3 is 300). */
int aif_weight_milli(double weight, int64_t *out);

/* Write an amount as GPU-hours with two decimals, rounded half away from
 * zero: "12.50", "-0.01", "0.00". Never "-0.00". Truncates to len. */
void aif_amount_format(aif_amount_t amount, char *buf, size_t len);

/* The same, rounded toward +infinity (what a job needs) or toward
 * -infinity (what is left), so that a job that does not fit never reads
 * "needs 0.05, 0.05 left". */
void aif_amount_format_up(aif_amount_t amount, char *buf, size_t len);
void aif_amount_format_down(aif_amount_t amount, char *buf, size_t len);

/*
 * Rows of a table in whole cents of a GPU-hour (cents[i]) that add up to
 * their total rounded to the nearest cent (*total): each row is its
 * amount rounded down, and the cents left over go to the rows with the
 * largest remainders (the earlier row on a tie), so each is within a
 * cent of its amount. Amounts must be >= 0 and their sum fit int64: -1
 * (EINVAL, EOVERFLOW, ENOMEM) otherwise.
 */
int aif_amount_apportion(const aif_amount_t *amounts, size_t n,
			 int64_t *cents, int64_t *total);
/* Cents of a GPU-hour as aif_amount_format writes amounts: "12.50". */
void aif_cents_format(int64_t cents, char *buf, size_t len);

/* Checked arithmetic: store the result and return 0, or return -1 with
 * errno EOVERFLOW (EINVAL for a negative factor) and leave *out alone. */
int aif_amount_add(aif_amount_t a, aif_amount_t b, aif_amount_t *out);
/* gpus x seconds x weight_milli: what a use costs. */
int aif_amount_of_use(uint64_t gpus, int64_t seconds, int64_t weight_milli,
		      aif_amount_t *out);

/* ------------------------------------------------------------------ */
/* The ledger                                                           */

#define AIF_LEDGER_PARTS_MAX 32		/* grants one lien or charge draws */
#define AIF_LEDGER_CROSSINGS_MAX 64	/* thresholds one charge reports */

struct aif_ledger;	/* opaque */

/* A new, empty ledger, or NULL (ENOMEM). Free it with aif_ledger_free(). */
struct aif_ledger *aif_ledger_new(void);
void aif_ledger_free(struct aif_ledger *ledger);	/* ledger may be NULL */

/*
 * Align the ledger with a policy snapshot: every project and grant of the
 * policy becomes active with its definition (amount, window, GPU type)
 * and its class's thresholds. A new grant starts with nothing charged; a
 * known grant keeps what was charged and reserved on it even when its
 * definition changed. A grant or project that is no longer in the policy
 * is kept, inactive: it pays nothing more, but its history stays in the
 * balances. The ledger copies what it needs: the policy may be freed
 * afterwards. Returns 0, or -1 with a reason in why (a grant whose
 * gpu_hours does not fit in an amount: EOVERFLOW; ENOMEM), leaving the
 * ledger as it was. Allocates outside the ledger's mutex.
 */
int aif_ledger_sync(struct aif_ledger *ledger, const struct aif_policy *p,
		    char *why, size_t len);

/* GPUs of one type and the frozen rate they are reserved or charged at. */
struct aif_use {
	/* "" in a lien: the job named no type (see candidates); in a charge:
	 * GPUs that have no type, which only unpinned grants pay. */
	char type[AIF_NAME_MAX];
	uint64_t gpus;
	int64_t weight_milli;		/* ignored for an untyped use */
};

/* A type an untyped use may land on, and its frozen rate ("" for GPUs
 * that have no type: only unpinned grants pay for them). */
struct aif_rate {
	char type[AIF_NAME_MAX];
	int64_t weight_milli;
};

struct aif_lien_request {
	const struct aif_use *uses;	/* nuses <= AIF_GPU_TYPES_MAX */
	size_t nuses;
	/* For an untyped use: the types it may run on. It is reserved as
	 * the costliest of them (ties: the first by name), both for the
	 * rate and for which grants pay. Needed only with an untyped use. */
	const struct aif_rate *candidates;
	size_t ncandidates;
	uint32_t time_limit;		/* minutes; AIF_UNLIMITED outlives
					 * every grant */
	time_t now;
	/* Reserve the lien in the same critical section when it fits, so
	 * that two submissions cannot both take the same money. */
	bool reserve;
};

enum aif_lien_verdict {
	AIF_LIEN_FITS = 0,
	AIF_LIEN_SHORT,		/* the grants that could pay lack money */
	AIF_LIEN_OUTLIVES,	/* they all end before the job would */
	AIF_LIEN_NO_GRANT,	/* no grant valid now can pay */
};

struct aif_lien_part {
	char grant[AIF_NAME_MAX];
	aif_amount_t amount;
};

struct aif_lien {
	enum aif_lien_verdict verdict;
	char project[AIF_NAME_MAX];
	struct aif_use uses[AIF_GPU_TYPES_MAX];	/* untyped ones resolved */
	size_t nuses;
	uint32_t time_limit;
	time_t now;
	aif_amount_t total;		/* what the job could cost */
	/* The split in draw order (for a refusal: as far as it went). */
	struct aif_lien_part parts[AIF_LEDGER_PARTS_MAX];
	size_t nparts;
	bool reserved;			/* request.reserve and it fitted */
	aif_amount_t overdraw;		/* the project's debt, counted first */
	/* AIF_LIEN_SHORT: what the grants lack (the debt included; INT64_MAX
	 * when the cost itself is beyond int64). */
	aif_amount_t missing;
	/* SHORT, OUTLIVES: the largest time limit (minutes) that would fit
	 * with the same GPUs; 0: none. */
	uint32_t max_time_limit;
	/* SHORT: per use, the largest GPU count that would fit with the same
	 * time limit and the other uses unchanged. */
	uint64_t max_gpus[AIF_GPU_TYPES_MAX];
	/* OUTLIVES: the last second of the latest-ending grant that could
	 * pay (valid_until, inclusive). */
	time_t latest_end;
	/* NO_GRANT: the first second of the next grant that could pay;
	 * 0: none is coming. */
	time_t next_from;
};

/*
 * What the job could cost and which grants would hold it: for each use,
 * gpus x time limit x weight, split across the grants that pay for its
 * type in draw order (valid_until, then pinned before unpinned, then
 * name), each taking what it has left (granted - charged - reserved).
 * Only grants valid now and still valid at now + time limit are drawn;
 * the project's overdraw is taken first. Fills out (always, on success)
 * and, for a refusal, a one-line reason for the user in why ("" when it
 * fits). Returns 0 whatever the verdict; -1 for an unknown project
 * (ENOENT), a malformed request (EINVAL) or a split over more than
 * AIF_LEDGER_PARTS_MAX grants (E2BIG), with the reason in why.
 */
int aif_ledger_lien(struct aif_ledger *ledger, const char *project,
		    const struct aif_lien_request *req, struct aif_lien *out,
		    char *why, size_t len);

/* Take a lien off its grants. A grant holding less than the lien says
 * (after a rebuild, or a grant the ledger no longer knows) goes to zero,
 * and the shortfall is added to *clamped (may be NULL). */
int aif_ledger_release(struct aif_ledger *ledger, const struct aif_lien *lien,
		       aif_amount_t *clamped);

/* Liens are derived: make every grant's reserved amount the sum of these
 * liens (the pending and running jobs), in one critical section. Parts
 * naming a project or grant the ledger does not know are skipped and
 * summed into *unknown (may be NULL). */
int aif_ledger_replace_reserved(struct aif_ledger *ledger,
				const struct aif_lien *liens, size_t n,
				aif_amount_t *unknown);

/* Whether aif_ledger_replace_reserved() has run since the ledger was
 * made: until then, after a restart, the reserved amounts lack the liens
 * of the jobs slurmctld recovered (site_factor waits for them). */
bool aif_ledger_liens_rebuilt(struct aif_ledger *ledger);

/* Restoring a snapshot, or an operator's adjustment (amount >= 0). */
int aif_ledger_set_charged(struct aif_ledger *ledger, const char *project,
			   const char *grant, aif_amount_t amount);
int aif_ledger_set_overdraw(struct aif_ledger *ledger, const char *project,
			    aif_amount_t amount);

struct aif_charge_part {
	char grant[AIF_NAME_MAX];
	aif_amount_t amount;
	aif_amount_t before;		/* granted - charged, before */
	aif_amount_t after;		/* and after */
};

struct aif_threshold_crossing {
	char grant[AIF_NAME_MAX];
	double fraction;		/* as the class writes it: 0.8 */
};

struct aif_charge {
	char project[AIF_NAME_MAX];
	aif_amount_t total;
	struct aif_charge_part parts[AIF_LEDGER_PARTS_MAX];	/* draw order */
	size_t nparts;
	aif_amount_t overdraw;		/* this charge's part no grant paid */
	aif_amount_t overdraw_after;	/* the project's overdraw now */
	/* Every (grant, threshold) this charge took from below the fraction
	 * to at or above it (charged / granted). */
	struct aif_threshold_crossing crossings[AIF_LEDGER_CROSSINGS_MAX];
	size_t ncrossings;
	bool crossings_truncated;	/* more than the array holds */
};

/*
 * Charge what a job used: for each use, gpus x elapsed_s x weight_milli,
 * drawn from the active grants valid at start that pay for its type, in
 * draw order, each up to granted - charged (other jobs' liens do not
 * block a charge). What none can pay (or what would need more than
 * AIF_LEDGER_PARTS_MAX grants) is the project's overdraw: a charge is
 * never refused for money. Does not release the job's lien. -1 for an
 * unknown project (ENOENT), a bad argument (EINVAL), an amount beyond
 * int64 (EOVERFLOW).
 */
int aif_ledger_charge(struct aif_ledger *ledger, const char *project,
		      const struct aif_use *uses, size_t n, int64_t elapsed_s,
		      time_t start, struct aif_charge *out);

struct aif_grant_balance {
	char name[AIF_NAME_MAX];
	char gpu_type[AIF_NAME_MAX];	/* "" : any */
	time_t valid_from;		/* first second */
	time_t valid_until;		/* last second */
	aif_amount_t granted;
	aif_amount_t charged;
	aif_amount_t reserved;
	aif_amount_t left;		/* granted - charged - reserved; may be < 0 */
	bool active;			/* still in the policy */
};

struct aif_project_balance {
	aif_amount_t overdraw;
	size_t ngrants;			/* all of them, even beyond max */
	bool active;
};

/* The project's grants in draw order (the first max of them into out,
 * which may be NULL when max is 0) and its overdraw. -1 (ENOENT) for a
 * project the ledger does not know. */
int aif_ledger_balance(struct aif_ledger *ledger, const char *project,
		       struct aif_grant_balance *out, size_t max,
		       struct aif_project_balance *summary);

/*
 * Budgets closed: while the ledger may not hold every charge (its journal
 * could not be read back), a metered class's job must not be admitted
 * against it. why (copied, cut at AIF_LEDGER_CLOSED_MAX) is for the
 * user's message and the log. aif_lien_admit() then applies the class's
 * exhausted_action with the rule "budget.unavailable". A new ledger is
 * open. Takes the ledger's lock only.
 */
#define AIF_LEDGER_CLOSED_MAX 640
void aif_ledger_close_budgets(struct aif_ledger *ledger, const char *why);
void aif_ledger_open_budgets(struct aif_ledger *ledger);
/* true when closed, with the reason in why (may be NULL). */
bool aif_ledger_budgets_closed(struct aif_ledger *ledger, char *why,
			       size_t len);

#endif /* AIF_LEDGER_H */
