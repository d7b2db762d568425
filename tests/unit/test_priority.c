/*
 * Unit tests of the SITE factor (common/priority.c): the policy's
 * priority keys, the class factor under, at and over its share with
 * lending and borrowing limits, the pacing of a project's grants at the
 * start, middle and end of their window, overdraw and the fallback QOS
 * at the floor, rounding and clamping with extreme weights, an
 * operator's SiteFactor kept in the tag.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "priority.h"
#include "tag.h"
#include "policy_text.h"
#include "tap.h"

#define H AIF_AMOUNT_PER_GPU_HOUR
#define DAY 86400
#define FROM 1798761600		/* 2027-01-01T00:00:00Z */

/* Grants of 100 GPU-hours from 2027-01-01 to 2027-01-10 (ten days). */
#define POLICY(PRIORITY, CLASS_EXTRA) \
	"{ \"version\": 1,\n" \
	PRIORITY \
	"  \"billing\": { \"gpu_weights\": { \"h100\": 1.0 } },\n" \
	"  \"classes\": {\n" \
	"    \"research\": { \"share\": 0.5" CLASS_EXTRA " },\n" \
	"    \"startup\": { \"share\": 0.3, \"lend_limit\": 0.1, \"borrow_limit\": 0.2 },\n" \
	"    \"sme\": { \"share\": 0.2, \"pacing\": false, \"exhausted_action\": \"fallback\", \"fallback_qos\": \"fb\" },\n" \
	"    \"open\": { \"metered\": false } },\n" \
	"  \"projects\": {\n" \
	"    \"p\": { \"class\": \"research\", \"mode\": \"m\", \"grants\": [\n" \
	"      { \"name\": \"g\", \"gpu_hours\": 100, \"valid_from\": \"2027-01-01\",\n" \
	"        \"valid_until\": \"2027-01-10\" } ] },\n" \
	"    \"q\": { \"class\": \"sme\", \"mode\": \"m\", \"pacing\": true, \"grants\": [\n" \
	"      { \"name\": \"g\", \"gpu_hours\": 100, \"valid_from\": \"2027-01-01\",\n" \
	"        \"valid_until\": \"2027-01-10\" } ] },\n" \
	"    \"s\": { \"class\": \"sme\", \"mode\": \"m\" },\n" \
	"    \"o\": { \"class\": \"open\", \"mode\": \"m\", \"grants\": [\n" \
	"      { \"name\": \"g\", \"gpu_hours\": 1, \"valid_from\": \"2027-01-01\",\n" \
	"        \"valid_until\": \"2027-01-10\" } ] },\n" \
	"    \"later\": { \"class\": \"research\", \"mode\": \"m\", \"grants\": [\n" \
	"      { \"name\": \"g\", \"gpu_hours\": 100, \"valid_from\": \"2027-02-01\",\n" \
	"        \"valid_until\": \"2027-02-10\" } ] } } }\n"

#define WEIGHTS "  \"priority\": { \"class_weight\": 10000, \"pacing_weight\": 4000 },\n"

static struct aif_policy *_load(const char *text)
{
	return policy_from_text(text, NULL);
}

/* The first error of loading text, or "" when it loads. */
static const char *_error_of(const char *text)
{
	static char line[1024];
	char dir[] = "/tmp/aif-test-prio.XXXXXX", path[64];
	struct aif_load_report report = { 0 };
	struct aif_policy *p;
	FILE *f;

	line[0] = '\0';
	if (!mkdtemp(dir))
		return "mkdtemp";
	snprintf(path, sizeof(path), "%s/aifactory.json", dir);
	if (!(f = fopen(path, "w")))
		return "fopen";
	fputs(text, f);
	fclose(f);
	p = aif_policy_load(path, NULL, &report);
	if (report.nerrors)
		aif_load_error_format(&report.errors[0], line, sizeof(line));
	aif_load_report_free(&report);
	aif_policy_unref(p);
	unlink(path);
	rmdir(dir);
	return line;
}

static void _test_policy(void)
{
	struct aif_policy *p = _load(POLICY(WEIGHTS, ""));
	struct aif_priority_weights w;
	const struct aif_class *c;

	ok(p != NULL, "a policy with priority, shares and limits loads");
	if (!p)
		return;
	aif_policy_priority(p, &w);
	is_int(w.class_weight, 10000, "class_weight");
	is_int(w.pacing_weight, 4000, "pacing_weight");
	c = aif_policy_class(p, "research");
	ok(c->borrow_limit < 0, "no borrow_limit: none");
	ok(c->lend_limit == 0.5, "no lend_limit: the whole share is lent");
	ok(c->pacing, "pacing is on unless a class turns it off");
	c = aif_policy_class(p, "startup");
	ok(c->lend_limit == 0.1 && c->borrow_limit == 0.2,
	   "lend_limit and borrow_limit as written");
	ok(aif_project_paced(aif_policy_project(p, "p")),
	   "a project is paced as its class is");
	ok(!aif_project_paced(aif_policy_project(p, "s")),
	   "a class's pacing false reaches its projects");
	ok(aif_project_paced(aif_policy_project(p, "q")),
	   "a project's own pacing wins over its class's");
	aif_policy_unref(p);

	p = _load(POLICY("", ""));
	aif_policy_priority(p, &w);
	ok(p && !w.class_weight && !w.pacing_weight,
	   "no priority: both weights 0");
	aif_policy_unref(p);

	like(_error_of(POLICY(WEIGHTS, ", \"lend_limit\": 0.6")),
	     ":5: classes.research.lend_limit: 0.6 exceeds share 0.5",
	     "a lend_limit above the share is refused, with file and line");
	like(_error_of(POLICY(WEIGHTS, ", \"borrow_limit\": 1.5")),
	     "classes.research.borrow_limit: must be in [0, 1], got 1.5",
	     "a borrow_limit above 1 is refused");
	like(_error_of(POLICY(WEIGHTS, ", \"pacing\": 1")),
	     "classes.research.pacing", "pacing must be a boolean");
	like(_error_of(POLICY("  \"priority\": { \"class_weight\": 1000000001 },\n", "")),
	     ":2: priority.class_weight",
	     "a weight above 1e9 is refused (SITE must stay within 2^31 - 3)");
	like(_error_of(POLICY("  \"priority\": { \"class_weight\": -1 },\n", "")),
	     "priority.class_weight", "a negative weight is refused");
	like(_error_of(POLICY("  \"priority\": { \"site_weight\": 1 },\n", "")),
	     "priority.site_weight: unknown key", "an unknown priority key is refused");
}

static void _test_class_factor(void)
{
	struct aif_class c = { .share = 0.3, .lend_limit = 0.3,
			       .borrow_limit = -1 };
	enum aif_class_state st;

	ok(fabs(aif_class_factor(&c, 0, &st) - 0.3) < 1e-12 &&
	   st == AIF_CLASS_UNDER, "idle: gains its whole share");
	ok(fabs(aif_class_factor(&c, 0.1, &st) - 0.2) < 1e-12 &&
	   st == AIF_CLASS_UNDER, "under its share: gains what it lacks");
	ok(aif_class_factor(&c, 0.3, &st) == 0 && st == AIF_CLASS_UNDER,
	   "at its share: 0");
	ok(fabs(aif_class_factor(&c, 0.45, &st) + 0.15) < 1e-12 &&
	   st == AIF_CLASS_BORROWING, "over it, no borrow limit: loses what it borrows");
	ok(aif_class_factor(&c, 2.0, &st) == -1 && st == AIF_CLASS_BORROWING,
	   "clamped at -1");

	c.lend_limit = 0.1;	/* keeps 0.2 for itself */
	ok(aif_class_factor(&c, 0.05, &st) == 1 && st == AIF_CLASS_GUARANTEED,
	   "under share - lend_limit: the top");
	ok(aif_class_factor(&c, 0.19999, &st) == 1 && st == AIF_CLASS_GUARANTEED,
	   "just under the part it never lends: still the top");
	ok(fabs(aif_class_factor(&c, 0.2, &st) - 0.1) < 1e-12 &&
	   st == AIF_CLASS_UNDER, "at share - lend_limit: back to what it lacks");

	c.borrow_limit = 0.2;
	ok(fabs(aif_class_factor(&c, 0.49, &st) + 0.19) < 1e-12 &&
	   st == AIF_CLASS_BORROWING, "within its borrow limit: loses what it borrows");
	ok(aif_class_factor(&c, 0.5, &st) == -1 && st == AIF_CLASS_OVER_LIMIT,
	   "at its borrow limit: the bottom");
	ok(aif_class_factor(&c, 0.9, &st) == -1 && st == AIF_CLASS_OVER_LIMIT,
	   "past it: the bottom");
	c.borrow_limit = 0;
	ok(aif_class_factor(&c, 0.30001, &st) == -1 &&
	   st == AIF_CLASS_OVER_LIMIT, "borrow_limit 0: any borrowing is the bottom");

	ok(aif_class_factor(&c, NAN, &st) == 0 && st == AIF_CLASS_UNKNOWN,
	   "usage unknown: 0");
	ok(aif_class_factor(&c, -1, &st) == 0 && st == AIF_CLASS_UNKNOWN,
	   "negative usage: unknown");
	is_str(aif_class_state_name(AIF_CLASS_OVER_LIMIT), "over-limit",
	       "state names");
}

static void _charge(struct aif_ledger *l, const char *project, double hours)
{
	struct aif_use use = { .type = "h100", .gpus = 1,
			       .weight_milli = 1000 };
	struct aif_charge out;

	if (aif_ledger_charge(l, project, &use, 1, (int64_t) (hours * 3600),
			      FROM + DAY, &out))
		printf("# charge failed\n");
}

static void _test_pacing(void)
{
	struct aif_policy *p = _load(POLICY(WEIGHTS, ""));
	struct aif_ledger *l = aif_ledger_new();
	const struct aif_project *pr;
	struct aif_pacing pc;
	char why[256];

	if (!p || !l || aif_ledger_sync(l, p, why, sizeof(why))) {
		ok(0, "ledger");
		return;
	}
	ok(!aif_ledger_liens_rebuilt(l), "a new ledger's liens are not rebuilt");
	aif_ledger_replace_reserved(l, NULL, 0, NULL);
	ok(aif_ledger_liens_rebuilt(l), "they are once replaced from the jobs");
	pr = aif_policy_project(p, "p");
	aif_pacing_of(l, pr, FROM, &pc);
	ok(pc.state == AIF_PACING_PACED && pc.factor == 0 &&
	   pc.granted == 100 * H && pc.schedule == 0 && pc.ngrants == 1,
	   "the window's first second, nothing spent: on schedule");
	aif_pacing_of(l, pr, FROM + 5 * DAY, &pc);
	is_int(pc.schedule, 50 * H, "half way: the schedule is half the grant");
	ok(fabs(pc.factor - 0.5) < 1e-9, "half way, nothing spent: behind by half, +0.5");
	aif_pacing_of(l, pr, FROM + 10 * DAY - 1, &pc);
	ok(pc.factor > 0.999, "the window's last second, nothing spent: about to lose it all, +1");
	aif_pacing_of(l, pr, FROM + 10 * DAY, &pc);
	ok(pc.state == AIF_PACING_NO_GRANT && pc.factor == 0,
	   "after the window: no grant, 0");
	aif_pacing_of(l, pr, FROM - 1, &pc);
	ok(pc.state == AIF_PACING_NO_GRANT, "before the window: no grant");

	_charge(l, "p", 75);
	aif_pacing_of(l, pr, FROM + 5 * DAY, &pc);
	is_int(pc.spent, 75 * H, "charges count as spent");
	ok(fabs(pc.factor + 0.25) < 1e-9, "75 of 100 spent half way: ahead by a quarter, -0.25");
	{
		struct aif_use use = { .type = "h100", .gpus = 1,
				       .weight_milli = 1000 };
		struct aif_lien_request req = { .uses = &use, .nuses = 1,
						.time_limit = 600,
						.now = FROM + 5 * DAY,
						.reserve = true };
		struct aif_lien lien;

		aif_ledger_lien(l, "p", &req, &lien, why, sizeof(why));
		aif_pacing_of(l, pr, FROM + 5 * DAY, &pc);
		is_int(pc.spent, 85 * H, "so do reservations (a 10 GPU-hour lien)");
		ok(fabs(pc.factor + 0.35) < 1e-9, "85 spent half way: -0.35");
		aif_ledger_release(l, &lien, NULL);
	}
	_charge(l, "p", 75);	/* 150 of 100: 50 overdrawn */
	aif_pacing_of(l, pr, FROM + 5 * DAY, &pc);
	ok(pc.state == AIF_PACING_OVERDRAWN && pc.factor == -1 &&
	   pc.overdraw == 50 * H, "overdrawn: the floor");

	aif_pacing_of(l, aif_policy_project(p, "s"), FROM + 5 * DAY, &pc);
	ok(pc.state == AIF_PACING_OFF && pc.factor == 0,
	   "pacing off: 0");
	aif_ledger_set_overdraw(l, "s", H);
	aif_pacing_of(l, aif_policy_project(p, "s"), FROM + 5 * DAY, &pc);
	ok(pc.state == AIF_PACING_OVERDRAWN,
	   "a debt in a metered class is the floor even with pacing off");
	_charge(l, "o", 2);
	aif_pacing_of(l, aif_policy_project(p, "o"), FROM + 5 * DAY, &pc);
	ok(pc.overdraw == H && pc.state == AIF_PACING_PACED,
	   "an unmetered class's debt holds nothing back");
	aif_pacing_of(l, aif_policy_project(p, "later"), FROM + 5 * DAY, &pc);
	ok(pc.state == AIF_PACING_NO_GRANT && pc.ngrants == 0,
	   "a grant that has not started is not paced yet");
	aif_ledger_free(l);
	aif_policy_unref(p);
}

#define TAG(P, C) "aif:class=" C ",project=" P ",mode=m,lien=g:1000,rate=h100:1000"

static void _test_ranking(void)
{
	struct aif_policy *p = _load(POLICY(WEIGHTS, ""));
	struct aif_ledger *l = aif_ledger_new();
	struct aif_class_use uses[] = {
		{ "research", 0.4 * 1000, 1000 },	/* under by 0.1 */
		{ "startup", 0.45 * 1000, 1000 },	/* borrowing 0.15 */
		{ "sme", 0.1 * 1000, 1000 },		/* under by 0.1 */
	};
	struct aif_ranking *r;
	struct aif_site_parts sp;
	const struct aif_class_prio *cl;
	char why[256];
	size_t n;

	if (!p || !l || aif_ledger_sync(l, p, why, sizeof(why))) {
		ok(0, "ledger");
		return;
	}
	r = aif_ranking_new(p, l, uses, 3, FROM + 5 * DAY);
	n = aif_ranking_classes(r, &cl);
	is_int(n, 4, "every class is ranked");
	is_str(cl[0].klass->name, "open", "in the policy's order");
	ok(cl[0].state == AIF_CLASS_UNKNOWN && isnan(cl[0].used),
	   "a class with no usage given: unknown");
	ok(fabs(cl[1].lent - 0.1) < 1e-9 && cl[1].borrowed == 0,
	   "research lends 0.1");
	ok(fabs(cl[3].borrowed - 0.15) < 1e-9 && cl[3].lent == 0,
	   "startup borrows 0.15");

	/* research 0.1 x 10000 + pacing +0.5 x 4000 */
	is_int(aif_ranking_job(r, TAG("p", "research"), false, &sp), 3000,
	       "class and pacing add up: 1000 + 2000");
	ok(sp.tagged && sp.known && !sp.floor && sp.class_points == 1000 &&
	   sp.pacing_points == 2000, "and the parts say so");
	is_int(aif_ranking_job(r, "a note;" TAG("p", "research"), false, NULL),
	       3000, "an operator's note before the tag changes nothing");
	_charge(l, "p", 75);
	is_int(aif_ranking_job(r, TAG("p", "research"), false, NULL), 3000,
	       "pacing is computed once per ranking");
	is_int(aif_ranking_job(r, TAG("p", "research"), true, NULL), 0,
	       "fresh at submit: 1000 - 1000");
	is_int(aif_ranking_job(r, TAG("q", "startup"), false, &sp), -1500 + 2000,
	       "the tag's class decides the class part (startup borrowing: -1500)");
	is_int(aif_ranking_job(r, TAG("q", "sme") ",lien=none", false, &sp),
	       -14000, "on the fallback QOS: the floor");
	ok(sp.floor && sp.fallback, "and says why");
	is_int(aif_ranking_job(r, "aif:class=sme,project=q,mode=m,lien=none", false, &sp),
	       -14000, "lien=none alone is the fallback too");
	_charge(l, "p", 75);
	is_int(aif_ranking_job(r, TAG("p", "research"), true, &sp), -14000,
	       "overdrawn: the floor");
	ok(sp.pacing.state == AIF_PACING_OVERDRAWN, "and says why");
	is_int(aif_ranking_job(r, NULL, false, &sp), 0, "no comment: 0");
	ok(!sp.tagged, "untagged");
	is_int(aif_ranking_job(r, "just a note", false, &sp), 0, "no tag: 0");
	is_int(aif_ranking_job(r, TAG("gone", "research"), false, &sp), 0,
	       "a project the policy no longer has: 0");
	ok(sp.tagged && !sp.known, "tagged, not known");
	is_int(aif_ranking_job(r, TAG("p", "research") ",site=-77", false, &sp),
	       -77, "an operator's SiteFactor in the tag wins");
	ok(sp.override, "and is an override");
	is_int(aif_ranking_job(r, TAG("p", "research") ",site=99999999999", false, NULL),
	       2147483645, "an override is held to what scontrol can write");
	aif_ranking_unref(r);

	r = aif_ranking_new(p, l, NULL, 0, FROM + 5 * DAY);
	is_int(aif_ranking_job(r, TAG("q", "sme"), false, &sp), 2000,
	       "no usage known: the class part is 0, pacing still counts");
	ok(sp.class_state == AIF_CLASS_UNKNOWN, "class unknown");
	aif_ranking_unref(r);
	aif_ledger_free(l);
	aif_policy_unref(p);

	/* The largest weights: the sum stays within 2^31 - 3. */
	p = _load(POLICY("  \"priority\": { \"class_weight\": 1000000000, \"pacing_weight\": 1000000000 },\n",
			 ", \"lend_limit\": 0"));
	l = aif_ledger_new();
	if (!p || !l || aif_ledger_sync(l, p, why, sizeof(why))) {
		ok(0, "ledger");
		return;
	}
	{
		struct aif_class_use idle = { "research", 0, 1000 };

		r = aif_ranking_new(p, l, &idle, 1, FROM + 10 * DAY - 1);
	}
	is_int(aif_ranking_job(r, TAG("p", "research"), false, &sp),
	       1000000000 + 999998842,
	       "extreme weights (a class that lends nothing, idle: +1; pacing at the window's end): no overflow");
	is_int(aif_ranking_job(r, TAG("q", "sme") ",lien=none", false, NULL),
	       -2000000000, "and the floor is -(sum of weights)");
	ok(2000000000LL <= 0x7ffffffdLL, "which scontrol and NICE_OFFSET can carry");
	aif_ranking_unref(r);
	aif_ledger_free(l);
	aif_policy_unref(p);
}

static void _test_tag_site(void)
{
	char buf[256];
	int64_t v = 0;

	ok(aif_tag_site(TAG("p", "c"), &v) == -1, "no site in a fresh tag");
	ok(!aif_tag_set_site("note;" TAG("p", "c"), 500, buf, sizeof(buf)) &&
	   !strcmp(buf, "note;" TAG("p", "c") ",site=500"),
	   "set: appended at the end, the note kept");
	ok(!aif_tag_site(buf, &v) && v == 500, "and read back");
	ok(!aif_tag_set_site(buf, -3, buf, sizeof(buf)) &&
	   !strcmp(buf, "note;" TAG("p", "c") ",site=-3"),
	   "set again: replaced, in place");
	ok(!aif_tag_set_site(TAG("p", "c") ",site=1,extra=2", 7, buf, sizeof(buf)) &&
	   !strcmp(buf, TAG("p", "c") ",extra=2,site=7"),
	   "a site before another field: moved to the end");
	errno = 0;
	ok(aif_tag_set_site("no tag", 1, buf, sizeof(buf)) == -1 &&
	   errno == ENOENT, "no tag: ENOENT");
	ok(aif_tag_set_site(TAG("p", "c"), 1, buf, 20) == -1 && errno == E2BIG,
	   "too small a buffer: E2BIG");
	ok(aif_tag_site(TAG("p", "c") ",site=12x", &v) == -1,
	   "a malformed site is none");
	/* Found by fuzz_tag: an administrator's AdminComment may hold two. */
	ok(!aif_tag_site("aif:class=c,project=p,site=12,lien=g:5,site=-4", &v) &&
	   v == -4, "two sites: the last one counts");
	ok(aif_tag_site("aif:class=c,project=p,site=12,lien=g:5,site=x", &v) == -1,
	   "two sites, the last malformed: none");
	ok(!aif_tag_set_site("aif:class=c,project=p,site=12,lien=g:5,site=x", 7,
			     buf, sizeof(buf)) &&
	   !strcmp(buf, "aif:class=c,project=p,lien=g:5,site=7"),
	   "set: every old site goes, the new one is the last field");
	ok(!aif_tag_site(buf, &v) && v == 7, "and reads back");
	{
		struct aif_lien lien;

		ok(!aif_lien_from_tag(TAG("p", "c") ",site=12", &lien) &&
		   lien.nparts == 1 && lien.nuses == 1,
		   "the lien still reads with a site after it");
	}
	ok(aif_tag_fallback("aif:class=c,project=p,mode=m,lien=none"),
	   "lien=none: fallback");
	ok(aif_tag_fallback("aif:class=c,project=p,mode=m,lien=none,site=4"),
	   "lien=none then site: fallback");
	ok(!aif_tag_fallback(TAG("p", "c")), "a lien: not fallback");
	ok(!aif_tag_fallback("aif:class=c,project=p,mode=m,lien=nonesuch:1"),
	   "a grant named nonesuch: not fallback");
}

int main(void)
{
	_test_policy();
	_test_class_factor();
	_test_pacing();
	_test_ranking();
	_test_tag_site();
	return done();
}
