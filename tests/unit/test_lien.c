/*
 * Unit tests of the lien glue (common/lien.c): what an admitted job
 * reserves, how it travels in the tag, and the class's exhaustion action.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdlib.h>
#include <unistd.h>

#include "settle.h"
#include "policy_text.h"
#include "tap.h"

#define H AIF_AMOUNT_PER_GPU_HOUR
#define NOW 1798761600	/* 2027-01-01 */

static const char policy_text[] =
	"{ \"version\": 1,\n"
	"  \"billing\": { \"gpu_weights\": { \"h100\": 1.0, \"a100\": 0.5 },\n"
	"               \"qos_weights\": { \"premium\": 2.5 } },\n"
	"  \"classes\": {\n"
	"    \"strict\": { \"qos\": \"std\", \"allowed_qos\": [\"std\", \"premium\"] },\n"
	"    \"lenient\": { \"qos\": \"std\", \"exhausted_action\": \"fallback\",\n"
	"                 \"fallback_qos\": \"scavenger\" },\n"
	"    \"free\": { \"metered\": false },\n"
	"    \"a100only\": { \"gpu_types\": [\"a100\", \"b300\"] } },\n"
	"  \"projects\": {\n"
	"    \"p\": { \"class\": \"strict\", \"mode\": \"m\", \"users\": [\"root\"], \"grants\": [\n"
	"      { \"name\": \"g\", \"gpu_hours\": 10, \"valid_from\": \"2026-01-01\",\n"
	"        \"valid_until\": \"2027-12-31\" } ] },\n"
	"    \"f\": { \"class\": \"lenient\", \"mode\": \"m\", \"users\": [\"root\"] },\n"
	"    \"u\": { \"class\": \"free\", \"mode\": \"m\", \"users\": [\"root\"] },\n"
	"    \"a\": { \"class\": \"a100only\", \"mode\": \"m\", \"users\": [\"root\"], \"grants\": [\n"
	"      { \"name\": \"g\", \"gpu_hours\": 10, \"valid_from\": \"2026-01-01\",\n"
	"        \"valid_until\": \"2027-12-31\" } ] } } }\n";

/* Admit a job of project proj asking for gres (per node, one node), in
 * qos (NULL: the class's). */
static void _admit_qos(struct aif_ledger *l, struct aif_policy *p,
		       const char *proj, const char *gres, uint32_t minutes,
		       const char *qos, struct aif_decision *d)
{
	struct aif_gpu_spec spec = { .tres_per_node = gres, .nodes = 1 };
	struct aif_request r = { .account = proj, .uid = 0, .nodes = 1,
				 .time_limit = minutes, .now = NOW,
				 .qos = qos };
	char err[AIF_ERR_MAX];

	aif_gpus_normalise(&spec, &r.gpus, err, sizeof(err));
	aif_decide(p, &r, d);
	aif_lien_admit(l, p, &r, d);
}

static void _admit(struct aif_ledger *l, struct aif_policy *p,
		   const char *proj, const char *gres, uint32_t minutes,
		   struct aif_decision *d)
{
	_admit_qos(l, p, proj, gres, minutes, NULL, d);
}

int main(void)
{
	struct aif_policy *p = policy_from_text(policy_text, NULL);
	struct aif_ledger *l = aif_ledger_new();
	struct aif_decision d;
	struct aif_lien lien;
	char why[AIF_ERR_MAX];

	if (!ok(p && l && !aif_ledger_sync(l, p, why, sizeof(why)),
		"policy and ledger"))
		return done();

	_admit(l, p, "p", "gpu:h100:2", 120, &d);
	is_int(d.verdict, AIF_RESHAPE, "4 of 10 GPU-hours: accepted (its QOS filled in)");
	is_str(d.tag, "aif:class=strict,project=p,mode=m,lien=g:14400000,rate=h100:1000",
	       "the tag carries the split and the rate");
	is_int(aif_lien_from_tag(d.tag, &lien), 0, "the tag reads back");
	is_str(lien.project, "p", "its project");
	is_int(lien.total, 4 * H, "its total");
	is_str(lien.uses[0].type, "h100", "its rate's type");
	is_int(lien.uses[0].weight_milli, 1000, "its rate");

	_admit(l, p, "p", "gpu:h100:8", 60, &d);
	is_int(d.verdict, AIF_REFUSE, "8 more GPU-hours do not fit in 6");
	is_str(d.rule, "budget.short", "rule budget.short");
	like(d.message, "Use -t 00:45:00 or less, or 6 h100 GPUs instead of 8. (classes.strict.exhausted_action is refuse)",
	     "the message gives the ways out and the rule");

	is_int(aif_ledger_release(l, &lien, NULL), 0, "the first lien is released");
	_admit(l, p, "p", "gpu:h100:8", 60, &d);
	is_int(d.verdict, AIF_RESHAPE, "then 8 GPU-hours fit");
	aif_lien_from_tag(d.tag, &lien);
	aif_ledger_release(l, &lien, NULL);

	_admit(l, p, "f", "gpu:a100:1", 60, &d);
	is_int(d.verdict, AIF_RESHAPE, "no grant, class with a fallback: reshaped");
	is_str(d.rule, "budget.fallback", "rule budget.fallback");
	is_str(d.qos, "scavenger", "into the fallback QOS");
	like(d.tag, ",lien=none", "with no lien");
	is_int(aif_lien_from_tag(d.tag, &lien), 1, "a tag with lien=none has no lien");

	_admit(l, p, "u", "gpu:h100:64", 10000, &d);
	is_int(d.verdict, AIF_ACCEPT, "an unmetered class reserves nothing");
	is_str(d.tag, "aif:class=free,project=u,mode=m", "and its tag has no lien");

	_admit(l, p, "a", "gpu:2", 60, &d);
	is_int(d.verdict, AIF_ACCEPT, "untyped in a class of a100 (and a type with no weight)");
	like(d.tag, ",lien=g:3600000,rate=a100:500", "reserved at the a100 rate, the one type with a weight");

	_admit(l, p, "a", "gpu:b300:1", 60, &d);
	is_str(d.rule, "budget.rate", "a GPU type with no billing weight is refused");
	like(d.message, "GPU type b300 has no billing weight", "and says so");

	/* A QOS with a weight: the rate is the GPU's times the QOS's. */
	_admit_qos(l, p, "p", "gpu:h100:2", 60, "premium", &d);
	is_int(d.verdict, AIF_ACCEPT, "2 h100 for an hour in QOS premium (x2.5): accepted");
	is_str(d.tag, "aif:class=strict,project=p,mode=m,lien=g:18000000,rate=h100:2500",
	       "its lien is 5 GPU-hours, its frozen rate 2.5 a GPU-hour");
	is_int(aif_lien_from_tag(d.tag, &lien), 0, "that tag reads back");
	is_int(aif_ledger_release(l, &lien, NULL), 0, "and is released");
	_admit_qos(l, p, "p", "gpu:h100:4", 120, "premium", &d);
	is_str(d.rule, "budget.short", "8 h100-hours in premium cost 20: more than the 10 left");
	like(d.message, "Use -t 01:00:00 or less", "the way out counts the QOS's weight");

	/* A run with no frozen rate (an unmetered class) is charged at
	 * today's: its GPU type's weight times its QOS's. */
	{
		struct aif_job_end je = {
			.job_id = 1, .account = "u", .state = "COMPLETED",
			.admin_comment = "aif:class=free,project=u,mode=m",
			.qos = "premium", .start = NOW, .end = NOW + 3600,
			.ngpus = 1, .gpus = { { "a100", 2 } },
		};
		struct aif_record rec;
		struct aif_charge charge;

		is_int(aif_settle(l, p, "c:1:1", &je, &rec, &charge, why,
				  sizeof(why)), AIF_SETTLE_CHARGED,
		       "an hour of 2 a100 in premium is charged");
		is_int(charge.total, 5 * H / 2, "at 0.5 x 2.5: 2.5 GPU-hours");
	}

	is_int(aif_lien_from_tag("ops note", &lien), -1, "no tag at all");
	aif_ledger_free(l);
	aif_policy_unref(p);
	return done();
}
