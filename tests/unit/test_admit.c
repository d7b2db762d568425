/*
 * Unit tests of admission as every caller runs it (common/admit.c): the
 * normaliser, the decision and the lien in one call, as a dry run that
 * reserves nothing; and a user's QOS change judged against the rates
 * frozen in the job's lien (aif_decide_modify).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdlib.h>
#include <unistd.h>

#include "admit.h"
#include "settle.h"
#include "policy_text.h"
#include "tap.h"

#define H AIF_AMOUNT_PER_GPU_HOUR
#define NOW 1798761600	/* 2027-01-01 */

static const char policy_text[] =
	"{ \"version\": 1,\n"
	"  \"billing\": { \"gpu_weights\": { \"h100\": 1.0 },\n"
	"               \"qos_weights\": { \"premium\": 2.5 } },\n"
	"  \"classes\": {\n"
	"    \"strict\": { \"qos\": \"std\",\n"
	"                \"allowed_qos\": [\"std\", \"premium\", \"other\"] },\n"
	"    \"lenient\": { \"qos\": \"std\", \"exhausted_action\": \"fallback\",\n"
	"                 \"fallback_qos\": \"scavenger\" } },\n"
	"  \"projects\": {\n"
	"    \"p\": { \"class\": \"strict\", \"mode\": \"m\", \"users\": [\"root\"], \"grants\": [\n"
	"      { \"name\": \"g\", \"gpu_hours\": 10, \"valid_from\": \"2026-01-01\",\n"
	"        \"valid_until\": \"2027-12-31\" } ] },\n"
	"    \"f\": { \"class\": \"lenient\", \"mode\": \"m\", \"users\": [\"root\"] } } }\n";

static aif_amount_t _reserved(struct aif_ledger *l)
{
	struct aif_grant_balance b[1];
	struct aif_project_balance s;

	return aif_ledger_balance(l, "p", b, 1, &s) ? -1 : b[0].reserved;
}

static enum aif_verdict _admit(struct aif_ledger *l, struct aif_policy *p,
			       const char *proj, const char *gres,
			       const char *qos, unsigned flags,
			       struct aif_decision *d)
{
	struct aif_gpu_spec spec = { .tres_per_node = gres, .nodes = 1 };
	struct aif_request r = { .account = proj, .uid = 0, .nodes = 1,
				 .time_limit = 60, .now = NOW, .qos = qos };

	return aif_admit(p, l, &spec, &r, flags, d);
}

/* A user changes the QOS of a job admitted with tag, now in QOS cur. */
static enum aif_verdict _modify_qos(struct aif_policy *p, const char *proj,
				    const char *tag, const char *cur,
				    const char *qos, struct aif_decision *d)
{
	struct aif_request r = { .qos = qos, .uid = 0, .gpus_unchanged = true,
				 .current_gpus = 2, .current_qos = cur,
				 .current_tag = tag, .now = NOW };

	return aif_decide_modify(p, proj, &r, d);
}

int main(void)
{
	struct aif_policy *p = policy_from_text(policy_text, NULL);
	struct aif_ledger *l = aif_ledger_new();
	struct aif_decision d;
	char why[AIF_ERR_MAX], tag[AIF_TAG_MAX];

	if (!ok(p && l && !aif_ledger_sync(l, p, why, sizeof(why)),
		"policy and ledger"))
		return done();

	/* A dry run prices the lien as admission would, reserving nothing. */
	is_int(_admit(l, p, "p", "gpu:h100:2", NULL, AIF_ADMIT_DRY_RUN, &d),
	       AIF_RESHAPE, "dry run: 2 GPU-hours of 10 are accepted");
	is_str(d.tag, "aif:class=strict,project=p,mode=m,lien=g:7200000,rate=h100:1000",
	       "with the lien it would take in the tag");
	is_int(_reserved(l), 0, "and nothing reserved");
	is_int(_admit(l, p, "p", "gpu:h100:2", NULL, 0, &d), AIF_RESHAPE,
	       "the real admission accepts it too");
	is_int(_reserved(l), 2 * H, "and reserves its 2 GPU-hours");
	snprintf(tag, sizeof(tag), "%s", d.tag);
	is_int(_admit(l, p, "p", "gpu:h100:9", NULL, AIF_ADMIT_DRY_RUN, &d),
	       AIF_REFUSE, "dry run: 9 more do not fit in the 8 left");
	is_str(d.rule, "budget.short", "by rule budget.short");

	/* What job_submit refuses, explain refuses with the same words. */
	is_int(_admit(l, p, "p", "gpu:a100:1", NULL, AIF_ADMIT_DRY_RUN, &d),
	       AIF_REFUSE, "a GPU type with no billing weight is refused");
	is_str(d.rule, "budget.rate", "by rule budget.rate");
	is_str(d.message, "aifactory: GPU type a100 has no billing weight in the policy (billing.gpu_weights), so its cost cannot be reserved. Ask your centre, or use another GPU type.",
	       "with the message job_submit gives");
	is_int(_admit(l, p, "p", "gpu:h100:x", NULL, AIF_ADMIT_DRY_RUN, &d),
	       AIF_REFUSE, "a malformed GPU request is refused");
	is_str(d.rule, "gres.malformed", "by rule gres.malformed");
	is_str(d.message, "aifactory: bad GPU count in \"gpu:h100:x\"",
	       "with the normaliser's reason, as job_submit gives it");

	/* A user's QOS change against the rate frozen in the lien. */
	is_int(_modify_qos(p, "p", tag, "std", "premium", &d), AIF_REFUSE,
	       "a QOS that changes the job's rate is refused");
	is_str(d.rule, "budget.qos_rate", "by rule budget.qos_rate");
	is_str(d.message, "aifactory: project p (class strict) runs on a GPU-hour budget and QOS premium changes this job's rate for h100 GPUs from 1 to 2.5 GPU-hours per GPU-hour, while its lien was priced at submit. Cancel it and submit it again with --qos=premium.",
	       "naming both rates and the way out");
	is_int(_modify_qos(p, "p", tag, "std", "other", &d), AIF_ACCEPT,
	       "a QOS at the same rate is accepted");
	is_int(_modify_qos(p, "p", tag, "std", "std", &d), AIF_ACCEPT,
	       "and so is the job's own QOS");
	is_int(_modify_qos(p, "f", "aif:class=lenient,project=f,mode=m,lien=none",
			   "scavenger", "std", &d), AIF_REFUSE,
	       "a job admitted without a lien cannot leave the fallback QOS");
	is_str(d.rule, "budget.no_lien", "by rule budget.no_lien");
	like(d.message, "admitted into QOS scavenger with nothing reserved",
	     "and the message says why");

	/* An operator's move: the lien only, as admission takes it there. */
	{
		struct aif_request r = { .uid = 4242, .time_limit = 60,
					 .qos = "std", .now = NOW };
		struct aif_gpu_spec spec = { .tres_per_node = "gpu:h100:1",
					     .nodes = 1 };
		aif_amount_t before = _reserved(l);

		aif_gpus_normalise(&spec, &r.gpus, why, sizeof(why));
		is_int(aif_admit_move(p, l, aif_policy_project(p, "p"), &r, &d),
		       AIF_ACCEPT, "a move into p, whose member the user is not, takes a lien");
		is_str(d.tag, "aif:class=strict,project=p,mode=m,lien=g:3600000,rate=h100:1000",
		       "the new project's tag, with the lien at its rates");
		is_int(_reserved(l) - before, H, "and reserves it");
		is_int(aif_admit_move(p, l, aif_policy_project(p, "f"), &r, &d),
		       AIF_RESHAPE, "a move into a project with no grant does not fit");
		is_str(d.rule, "budget.fallback", "(its class would send it to the fallback QOS)");
		r.time_limit = 600;
		is_int(aif_admit_move(p, l, aif_policy_project(p, "p"), &r, &d),
		       AIF_REFUSE, "nor does one past what is left");
		is_str(d.rule, "budget.short", "by rule budget.short");
	}

	aif_ledger_free(l);
	aif_policy_unref(p);
	return done();
}
