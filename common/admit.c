/*
 * Admission: the normaliser, the decision and the lien, in that order,
 * for every caller (admit.h).
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdio.h>
#include <string.h>

#include "admit.h"
#include "settle.h"

enum aif_verdict aif_admit(const struct aif_policy *p,
			   struct aif_ledger *ledger,
			   const struct aif_gpu_spec *spec,
			   struct aif_request *r, unsigned flags,
			   struct aif_decision *d)
{
	char why[AIF_ERR_MAX];

	if (spec && aif_gpus_normalise(spec, &r->gpus, why, sizeof(why))) {
		memset(d, 0, sizeof(*d));
		d->verdict = AIF_REFUSE;
		d->rule = "gres.malformed";
		snprintf(d->message, sizeof(d->message), "aifactory: %s", why);
		return d->verdict;
	}
	if (aif_decide(p, r, d) == AIF_REFUSE)
		return d->verdict;
	if (flags & AIF_ADMIT_DRY_RUN)
		aif_lien_price(ledger, p, r, d);
	else
		aif_lien_admit(ledger, p, r, d);
	return d->verdict;
}

enum aif_verdict aif_admit_move(const struct aif_policy *p,
				struct aif_ledger *ledger,
				const struct aif_project *proj,
				const struct aif_request *r,
				struct aif_decision *d)
{
	memset(d, 0, sizeof(*d));
	d->verdict = AIF_ACCEPT;
	d->rule = "move";
	d->project = proj;
	d->klass = proj->klass;
	aif_tag_format(proj, d->tag, sizeof(d->tag));
	aif_lien_admit(ledger, p, r, d);
	return d->verdict;
}
