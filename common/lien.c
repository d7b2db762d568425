/*
 * slurm-aifactory: the lien of an admitted job.
 *
 * An accepted job of a metered class reserves what it could cost (GPUs x
 * time limit x weight) against its project's grants. The split and the
 * rates go into the job's admission tag (tag.h), so they travel with the
 * job: jobcomp charges at those rates and releases that split, and the
 * periodic rebuild of reserved amounts reads them back from slurmctld's
 * own job list (docs/ledger.md: liens are derived).
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "settle.h"

/* The rate of a GPU type under qos in thousandths, or -1 when the type
 * has no weight. */
static int64_t _weight(const struct aif_policy *p, const char *type,
		       const char *qos)
{
	double w = aif_policy_rate(p, type, qos);
	int64_t milli;

	return w < 0 || aif_weight_milli(w, &milli) ? -1 : milli;
}

static const char *_rule_of(enum aif_lien_verdict v)
{
	switch (v) {
	case AIF_LIEN_SHORT:
		return "budget.short";
	case AIF_LIEN_OUTLIVES:
		return "budget.outlives";
	default:
		return "budget.no_grant";
	}
}

/* aif_lien_admit, or with reserve false aif_lien_price. */
static int _lien(struct aif_ledger *ledger, const struct aif_policy *p,
		 const struct aif_request *r, struct aif_decision *d,
		 bool reserve)
{
	const struct aif_class *c = d->klass;
	struct aif_use uses[AIF_GPU_TYPES_MAX];
	struct aif_rate cand[AIF_GPU_TYPES_MAX];
	const struct aif_gpu_weight *all;
	struct aif_lien_request req = { .uses = uses, .reserve = reserve };
	struct aif_lien lien;
	char why[AIF_MSG_MAX];
	/* The QOS the job will run in: admission's, else its own. */
	const char *qos = d->qos[0] ? d->qos : r->qos;
	size_t nall;

	if (d->verdict == AIF_REFUSE || !c || !c->metered || !r->gpus.total)
		return 0;
	/* One job_submit call stands for every task: not yet reservable. */
	if (r->array) {
		d->verdict = AIF_REFUSE;
		d->rule = "budget.array";
		snprintf(d->message, sizeof(d->message),
			 "aifactory: project %s (class %s) runs on a GPU-hour budget, and a job array cannot reserve its cost yet. Submit the tasks as separate jobs.",
			 d->project->name, c->name);
		return 0;
	}
	/* The ledger may lack charges (its journal cannot be read back):
	 * no lien is taken against it, the class's exhausted_action
	 * applies (docs/ledger.md, "When the journal is damaged"). */
	if (aif_ledger_budgets_closed(ledger, why, sizeof(why))) {
		d->rule = "budget.unavailable";
		/* A tag too long for ",lien=none" (AIF_TAG_MAX rules it
		 * out) would be refused: never a job without its mark. */
		if (c->exhausted_action == AIF_EXHAUSTED_FALLBACK &&
		    !aif_lien_tag(NULL, d->tag, sizeof(d->tag))) {
			snprintf(d->qos, sizeof(d->qos), "%s", c->fallback_qos);
			d->verdict = AIF_RESHAPE;
			return 0;
		}
		d->verdict = AIF_REFUSE;
		snprintf(d->message, sizeof(d->message),
			 "aifactory: GPU-hour budgets are unavailable (%.400s), so no job of class %s can be admitted against them now; try again later or ask your centre (classes.%s.exhausted_action is refuse)",
			 why, c->name, c->name);
		return 0;
	}
	for (unsigned i = 0; i < r->gpus.ntypes; i++) {
		const struct aif_gpu_count *g = &r->gpus.by_type[i];
		int64_t w = g->type[0] ? _weight(p, g->type, qos) : 0;

		if (w < 0) {
			d->verdict = AIF_REFUSE;
			d->rule = "budget.rate";
			snprintf(d->message, sizeof(d->message),
				 "aifactory: GPU type %s has no billing weight in the policy (billing.gpu_weights), so its cost cannot be reserved. Ask your centre, or use another GPU type.",
				 g->type);
			return 0;
		}
		snprintf(uses[req.nuses].type, sizeof(uses[0].type), "%s",
			 g->type);
		uses[req.nuses].gpus = g->total;
		uses[req.nuses++].weight_milli = w;
	}
	/* An untyped request may land on any type the class allows. */
	if (c->ngpu_types) {
		for (size_t i = 0; i < c->ngpu_types && i < AIF_GPU_TYPES_MAX; i++) {
			int64_t w = _weight(p, c->gpu_types[i], qos);

			if (w < 0)
				continue;
			snprintf(cand[req.ncandidates].type, sizeof(cand[0].type),
				 "%s", c->gpu_types[i]);
			cand[req.ncandidates++].weight_milli = w;
		}
	} else {
		nall = aif_policy_gpu_weights(p, &all);
		for (size_t i = 0; i < nall && i < AIF_GPU_TYPES_MAX; i++) {
			int64_t w = _weight(p, all[i].type, qos);

			if (w < 0)
				continue;
			snprintf(cand[req.ncandidates].type, sizeof(cand[0].type),
				 "%s", all[i].type);
			cand[req.ncandidates++].weight_milli = w;
		}
	}
	req.candidates = cand;
	req.time_limit = d->time_limit ? d->time_limit :
		r->time_limit ? r->time_limit : AIF_UNLIMITED;
	req.now = r->now;

	if (aif_ledger_lien(ledger, d->project->name, &req, &lien, why,
			    sizeof(why))) {
		d->verdict = AIF_REFUSE;
		d->rule = "budget.error";
		snprintf(d->message, sizeof(d->message), "aifactory: %.900s",
			 why);
		return -1;
	}
	if (lien.verdict == AIF_LIEN_FITS) {
		if (!aif_lien_tag(&lien, d->tag, sizeof(d->tag)))
			return 0;
		/* Never with AIF_TAG_MAX (TAG_WORST above): a lien the tag
		 * cannot carry is given back and the job refused, never cut
		 * (the rebuild would then reserve less than the job holds). */
		aif_ledger_release(ledger, &lien, NULL);
		d->verdict = AIF_REFUSE;
		d->rule = "budget.tag";
		snprintf(d->message, sizeof(d->message),
			 "aifactory: the reservation of this job on project %s is split across %zu grants, more than its tag can carry (%d bytes). Ask your centre, or submit a smaller job.",
			 d->project->name, lien.nparts, AIF_TAG_MAX);
		return 0;
	}
	if (c->exhausted_action == AIF_EXHAUSTED_FALLBACK) {
		if (aif_lien_tag(NULL, d->tag, sizeof(d->tag))) {
			d->verdict = AIF_REFUSE;
			d->rule = "budget.tag";
			snprintf(d->message, sizeof(d->message),
				 "aifactory: the admission tag of project %s does not fit in %d bytes. Please contact your centre.",
				 d->project->name, AIF_TAG_MAX);
			return 0;
		}
		snprintf(d->qos, sizeof(d->qos), "%s", c->fallback_qos);
		d->verdict = AIF_RESHAPE;
		d->rule = "budget.fallback";
		return 0;
	}
	d->verdict = AIF_REFUSE;
	d->rule = _rule_of(lien.verdict);
	snprintf(d->message, sizeof(d->message),
		 "aifactory: %.900s (classes.%s.exhausted_action is refuse)",
		 why, c->name);
	return 0;
}

int aif_lien_admit(struct aif_ledger *ledger, const struct aif_policy *p,
		   const struct aif_request *r, struct aif_decision *d)
{
	return _lien(ledger, p, r, d, true);
}

int aif_lien_price(struct aif_ledger *ledger, const struct aif_policy *p,
		   const struct aif_request *r, struct aif_decision *d)
{
	return _lien(ledger, p, r, d, false);
}
