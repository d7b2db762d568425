/*
 * slurm-aifactory: admission, the one path every caller shares.
 *
 * job_submit/aifactory admits a job with it, aifctl explain shows what it
 * would decide with it (as a dry run), the benchmark times it, and
 * job_modify judges an operator's move of a job into another project
 * with it: so what explain says is what slurmctld does, lien included.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef AIF_ADMIT_H
#define AIF_ADMIT_H

#include "aifactory.h"
#include "ledger.h"

/* Price the lien against the ledger without reserving it. */
#define AIF_ADMIT_DRY_RUN 0x1u

/*
 * Admit a job: normalise its GPU request (spec; NULL when r->gpus is
 * already filled in), decide (aif_decide), and for a metered class's GPU
 * job put a lien on its project's grants (aif_lien_admit; with
 * AIF_ADMIT_DRY_RUN aif_lien_price, which reserves nothing). A malformed
 * GPU request is a refusal by rule "gres.malformed". Always fills in d and
 * returns its verdict; r->gpus holds the normalised request afterwards.
 * ledger must not be NULL. No I/O; the ledger's lock only, for
 * microseconds: callable under slurmctld's locks.
 */
enum aif_verdict aif_admit(const struct aif_policy *p,
			   struct aif_ledger *ledger,
			   const struct aif_gpu_spec *spec,
			   struct aif_request *r, unsigned flags,
			   struct aif_decision *d);

/*
 * An operator's move of a job into project proj: operators may take a job
 * past its class or its user's memberships, so only the lien is taken, as
 * admission would take it there (r: the job as it stands, r->gpus filled
 * in). d becomes proj's tag with the lien (verdict AIF_ACCEPT, rule
 * "move"), a refusal when it does not fit, or, for a class with a
 * fallback QOS, that reshape (rule "budget.fallback", nothing reserved).
 * Returns d->verdict. No I/O; the ledger's lock only.
 */
enum aif_verdict aif_admit_move(const struct aif_policy *p,
				struct aif_ledger *ledger,
				const struct aif_project *proj,
				const struct aif_request *r,
				struct aif_decision *d);

#endif /* AIF_ADMIT_H */
