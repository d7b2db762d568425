/*
 * Unit tests of the lien glue (common/lien.c): what an admitted job
 * reserves, how it travels in the tag, and the class's exhaustion action.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "journal.h"
#include "settle.h"
#include "policy_text.h"
#include "settle_run.h"
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

/*
 * Issue 8, point 6: a lien split across many grants was cut with the tag
 * at 1023 bytes (parts and its rate lost). Every lien the ledger can make
 * (32 parts) of the longest names reads back exactly from its tag.
 */
static void test_many_grants(void)
{
	char text[16384], name[64], pname[64], grant[64];
	struct aif_grant_balance b[AIF_LEDGER_PARTS_MAX];
	struct aif_project_balance sum;
	struct aif_ledger *l = aif_ledger_new();
	struct aif_policy *p;
	struct aif_decision d;
	struct aif_lien lien;
	char why[AIF_ERR_MAX], small[300];
	size_t used, same = 0;

	memset(name, 'n', 63);
	name[63] = '\0';
	snprintf(pname, sizeof(pname), "p%.62s", name);
	used = (size_t) snprintf(text, sizeof(text),
		"{ \"version\": 1,\n"
		"  \"billing\": { \"gpu_weights\": { \"h100\": 1.0 } },\n"
		"  \"classes\": { \"c%.62s\": { } },\n"
		"  \"projects\": { \"%s\": { \"class\": \"c%.62s\", \"mode\": \"%s\",\n"
		"    \"sector\": \"%s\", \"users\": [\"root\"], \"grants\": [\n",
		name, pname, name, name, name);
	for (int i = 1; i <= AIF_LEDGER_PARTS_MAX; i++)
		used += (size_t) snprintf(text + used, sizeof(text) - used,
			"      { \"name\": \"%02d%.61s\", \"gpu_hours\": 1000000,\n"
			"        \"valid_from\": \"2026-01-01\", \"valid_until\": \"2027-12-%02d\" }%s\n",
			i, name, i < 28 ? i : 28, i < AIF_LEDGER_PARTS_MAX ? "," : "");
	snprintf(text + used, sizeof(text) - used, "    ] } } }\n");
	p = policy_from_text(text, NULL);
	if (!ok(p && l && !aif_ledger_sync(l, p, why, sizeof(why)),
		"many grants: a project of 32 grants with the longest names"))
		goto out;
	/* Each grant but the last pays 1,000,000 GPU-hours: use them all. */
	for (int i = 1; i < AIF_LEDGER_PARTS_MAX; i++) {
		snprintf(grant, sizeof(grant), "%02d%.61s", i, name);
		aif_ledger_set_charged(l, pname, grant,
				       999999 * AIF_AMOUNT_PER_GPU_HOUR);
	}
	_admit(l, p, pname, "gpu:h100:8", 4 * 60, &d);
	ok(d.verdict != AIF_REFUSE, "32 GPU-hours over 32 grants: accepted");
	ok(strlen(d.tag) > 1023, "a tag of %zu bytes, longer than the old cut at 1023",
	   strlen(d.tag));
	is_int(aif_lien_from_tag(d.tag, &lien), 0, "the tag reads back");
	is_int((long long) lien.nparts, AIF_LEDGER_PARTS_MAX, "with all 32 parts");
	is_int(lien.total, 32 * H, "and the whole of the lien");
	is_int((long long) lien.nuses, 1, "and its rate");
	is_str(lien.uses[0].type, "h100", "h100");
	is_int(lien.uses[0].weight_milli, 1000, "at 1.0");
	aif_ledger_balance(l, pname, b, AIF_LEDGER_PARTS_MAX, &sum);
	for (size_t i = 0; i < lien.nparts; i++)
		for (size_t k = 0; k < AIF_LEDGER_PARTS_MAX; k++)
			if (!strcmp(b[k].name, lien.parts[i].grant) &&
			    b[k].reserved == lien.parts[i].amount)
				same++;
	is_int((long long) same, AIF_LEDGER_PARTS_MAX,
	       "each part is what its grant holds in reserve");

	/* In the audit trail, the decision's tag is whole too. */
	{
		struct aif_record rec;
		char joined[AIF_TAG_MAX] = "";

		aif_record_init(&rec, AIF_RECORD_DECISION);
		is_int(aif_record_add_tag(&rec, d.tag), 0,
		       "the tag goes into a journal record");
		for (unsigned i = 1; i < 16; i++) {
			char key[16];
			const char *part;

			snprintf(key, sizeof(key), i == 1 ? "tag" : "tag%u", i);
			if (!(part = aif_record_str(&rec, key)))
				break;
			strncat(joined, part, sizeof(joined) - strlen(joined) - 1);
		}
		is_str(joined, d.tag, "in pieces that join into the whole tag, uncut");
	}

	/* The rebuild from the tag reserves what admission reserved. */
	is_int(aif_ledger_replace_reserved(l, &lien, 1, NULL), 0,
	       "liens rebuilt from the tag");
	aif_ledger_balance(l, pname, b, AIF_LEDGER_PARTS_MAX, &sum);
	same = 0;
	for (size_t k = 0; k < AIF_LEDGER_PARTS_MAX; k++)
		same += b[k].reserved == H;
	is_int((long long) same, AIF_LEDGER_PARTS_MAX, "every grant still holds its part");

	/* Written into a buffer too small for it, a tag is refused whole,
	 * never cut. */
	snprintf(small, sizeof(small), "kept");
	is_int(aif_lien_tag(&lien, small, sizeof(small)), -1,
	       "a lien's tag that does not fit is refused");
	is_str(small, "kept", "and nothing of it is written");
	{
		const struct aif_project *proj = aif_policy_project(p, pname);
		char tiny[64] = "kept";

		is_int(aif_tag_format(proj, tiny, sizeof(tiny)), -1,
		       "so is a project's tag");
		is_str(tiny, "kept", "nothing of it written either");
	}
out:
	aif_ledger_free(l);
	aif_policy_unref(p);
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

		is_int(settle_by_key(l, p, "c:1:1", &je, &rec, &charge, why,
				  sizeof(why)), AIF_SETTLE_CHARGED,
		       "an hour of 2 a100 in premium is charged");
		is_int(charge.total, 5 * H / 2, "at 0.5 x 2.5: 2.5 GPU-hours");
	}

	is_int(aif_lien_from_tag("ops note", &lien), -1, "no tag at all");
	test_many_grants();
	aif_ledger_free(l);
	aif_policy_unref(p);
	return done();
}
