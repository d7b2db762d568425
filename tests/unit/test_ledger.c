/*
 * Unit tests of the ledger (common/ledger.c, ledger_lien.c): draw order,
 * liens, charges, thresholds, overdraws, sync and concurrency, each with
 * the exact numbers (amounts: test_amount.c).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "aifactory.h"
#include "fake_nss.h"
#include "ledger.h"
#include "policy_text.h"
#include "tap.h"

#define H AIF_AMOUNT_PER_GPU_HOUR	/* one GPU-hour */
#define NOW ((time_t) 1798761600)	/* 2027-01-01T00:00:00Z */
#define END_0101 ((time_t) 1798847999)	/* 2027-01-01T23:59:59Z */
#define END_0107 ((time_t) 1799366399)
#define FROM_0201 ((time_t) 1801440000)
#define FROM_0301 ((time_t) 1803859200)
#define END_0228 ((time_t) 1803859199)
#define END_0331 ((time_t) 1806537599)
#define END_0630 ((time_t) 1814399999)
#define END_1231 ((time_t) 1830297599)
#define END_2026 ((time_t) 1798761599)

/* No account is looked up: the policies name none. */
static struct fake_nss nss = FAKE_NSS_OF(&nss, NULL, 0, NULL, 0);

#define Y2026 "\"valid_from\": \"2026-01-01\""
#define Y2027 "\"valid_from\": \"2027-01-01\", \"valid_until\": \"2027-12-31\""

static const char policy_text[] =
	"{ \"version\": 1,\n"
	"  \"billing\": { \"gpu_weights\": { \"h100\": 1.0, \"a100\": 0.5 } },\n"
	"  \"classes\": { \"plain\": { },\n"
	"               \"steps\": { \"thresholds\": [0.5, 0.8, 1.0] } },\n"
	"  \"projects\": {\n"
	"    \"order\": { \"class\": \"plain\", \"mode\": \"m\", \"grants\": [\n"
	"      { \"name\": \"zeta\", \"gpu_hours\": 10, " Y2026 ", \"valid_until\": \"2027-06-30\" },\n"
	"      { \"name\": \"alpha\", \"gpu_hours\": 10, " Y2026 ", \"valid_until\": \"2027-06-30\" },\n"
	"      { \"name\": \"pinned\", \"gpu_hours\": 10, " Y2026 ", \"valid_until\": \"2027-06-30\", \"gpu_type\": \"h100\" },\n"
	"      { \"name\": \"early\", \"gpu_hours\": 10, " Y2026 ", \"valid_until\": \"2027-03-31\" },\n"
	"      { \"name\": \"future\", \"gpu_hours\": 10, \"valid_from\": \"2027-01-02\", \"valid_until\": \"2027-12-31\" },\n"
	"      { \"name\": \"past\", \"gpu_hours\": 10, " Y2026 ", \"valid_until\": \"2026-12-31\" },\n"
	"      { \"name\": \"a100only\", \"gpu_hours\": 10, " Y2026 ", \"valid_until\": \"2027-02-28\", \"gpu_type\": \"a100\" } ] },\n"
	"    \"edges\": { \"class\": \"plain\", \"mode\": \"m\", \"grants\": [\n"
	"      { \"name\": \"ends-now\", \"gpu_hours\": 1, " Y2026 ", \"valid_until\": \"2027-01-01T00:00:00Z\" },\n"
	"      { \"name\": \"starts-now\", \"gpu_hours\": 1, " Y2027 " } ] },\n"
	"    \"brief\": { \"class\": \"plain\", \"mode\": \"m\", \"grants\": [\n"
	"      { \"name\": \"day\", \"gpu_hours\": 100, " Y2026 ", \"valid_until\": \"2027-01-01\" },\n"
	"      { \"name\": \"week\", \"gpu_hours\": 100, " Y2026 ", \"valid_until\": \"2027-01-07\", \"gpu_type\": \"a100\" } ] },\n"
	"    \"money\": { \"class\": \"plain\", \"mode\": \"m\", \"grants\": [\n"
	"      { \"name\": \"g\", \"gpu_hours\": 100, " Y2027 " } ] },\n"
	"    \"debt\": { \"class\": \"plain\", \"mode\": \"m\", \"grants\": [\n"
	"      { \"name\": \"g\", \"gpu_hours\": 10, " Y2027 " } ] },\n"
	"    \"untyped\": { \"class\": \"plain\", \"mode\": \"m\", \"grants\": [\n"
	"      { \"name\": \"h100-pool\", \"gpu_hours\": 10, " Y2027 ", \"gpu_type\": \"h100\" },\n"
	"      { \"name\": \"general\", \"gpu_hours\": 10, " Y2027 " } ] },\n"
	"    \"none\": { \"class\": \"plain\", \"mode\": \"m\" },\n"
	"    \"later\": { \"class\": \"plain\", \"mode\": \"m\", \"grants\": [\n"
	"      { \"name\": \"q2\", \"gpu_hours\": 10, \"valid_from\": \"2027-03-01\", \"valid_until\": \"2027-12-31\" } ] },\n"
	"    \"wrongtype\": { \"class\": \"plain\", \"mode\": \"m\", \"grants\": [\n"
	"      { \"name\": \"a\", \"gpu_hours\": 10, " Y2027 ", \"gpu_type\": \"a100\" },\n"
	"      { \"name\": \"h\", \"gpu_hours\": 10, \"valid_from\": \"2027-02-01\", \"valid_until\": \"2027-12-31\", \"gpu_type\": \"h100\" } ] },\n"
	"    \"charge\": { \"class\": \"steps\", \"mode\": \"m\", \"grants\": [\n"
	"      { \"name\": \"first\", \"gpu_hours\": 10, " Y2026 ", \"valid_until\": \"2027-03-31\" },\n"
	"      { \"name\": \"second\", \"gpu_hours\": 10, " Y2026 ", \"valid_until\": \"2027-06-30\" },\n"
	"      { \"name\": \"h100pin\", \"gpu_hours\": 5, " Y2026 ", \"valid_until\": \"2027-06-30\", \"gpu_type\": \"h100\" } ] },\n"
	"    \"reserve\": { \"class\": \"plain\", \"mode\": \"m\", \"grants\": [\n"
	"      { \"name\": \"a\", \"gpu_hours\": 10, " Y2026 ", \"valid_until\": \"2027-03-31\" },\n"
	"      { \"name\": \"b\", \"gpu_hours\": 10, " Y2027 " } ] },\n"
	"    \"busy\": { \"class\": \"plain\", \"mode\": \"m\", \"grants\": [\n"
	"      { \"name\": \"big\", \"gpu_hours\": 1000000, " Y2027 " } ] },\n"
	"    \"sync\": { \"class\": \"plain\", \"mode\": \"m\", \"grants\": [\n"
	"      { \"name\": \"keep\", \"gpu_hours\": 10, " Y2027 " },\n"
	"      { \"name\": \"grow\", \"gpu_hours\": 10, " Y2027 " },\n"
	"      { \"name\": \"drop\", \"gpu_hours\": 10, " Y2027 " } ] },\n"
	"    \"gone\": { \"class\": \"plain\", \"mode\": \"m\", \"grants\": [\n"
	"      { \"name\": \"old\", \"gpu_hours\": 5, " Y2027 " } ] }\n"
	"  }\n"
	"}\n";

/* The second policy: sync's grants changed, gone removed, fresh added. */
static const char policy2_text[] =
	"{ \"version\": 1,\n"
	"  \"classes\": { \"steps\": { \"thresholds\": [0.5, 1.0] } },\n"
	"  \"projects\": {\n"
	"    \"sync\": { \"class\": \"steps\", \"mode\": \"m\", \"grants\": [\n"
	"      { \"name\": \"keep\", \"gpu_hours\": 10, \"valid_from\": \"2027-01-01\", \"valid_until\": \"2027-06-30\" },\n"
	"      { \"name\": \"grow\", \"gpu_hours\": 20, " Y2027 " },\n"
	"      { \"name\": \"new\", \"gpu_hours\": 5, \"valid_from\": \"2027-01-01\", \"valid_until\": \"2027-09-30\" } ] },\n"
	"    \"fresh\": { \"class\": \"steps\", \"mode\": \"m\", \"grants\": [\n"
	"      { \"name\": \"f\", \"gpu_hours\": 1, " Y2027 " } ] }\n"
	"  }\n"
	"}\n";

/* A grant the ledger cannot count. */
static const char policy3_text[] =
	"{ \"version\": 1, \"classes\": { \"c\": { } },\n"
	"  \"projects\": {\n"
	"    \"sync\": { \"class\": \"c\", \"mode\": \"m\", \"grants\": [\n"
	"      { \"name\": \"keep\", \"gpu_hours\": 1e13, " Y2027 " } ] } } }\n";

static struct aif_policy *_load(const char *text)
{
	return policy_from_text(text, &nss.resolver);
}

static struct aif_use _use(const char *type, uint64_t gpus, int64_t w)
{
	struct aif_use u = { .gpus = gpus, .weight_milli = w };

	snprintf(u.type, sizeof(u.type), "%s", type);
	return u;
}

/* A one-type lien request. */
static int _lien1(struct aif_ledger *l, const char *project, const char *type,
		  uint64_t gpus, int64_t w, uint32_t minutes, time_t now,
		  bool reserve, struct aif_lien *out, char *why, size_t len)
{
	struct aif_use u = _use(type, gpus, w);
	struct aif_lien_request r = {
		.uses = &u, .nuses = 1, .time_limit = minutes, .now = now,
		.reserve = reserve,
	};

	return aif_ledger_lien(l, project, &r, out, why, len);
}

/* What one grant holds in liens, set as the rebuild from the job list
 * sets it: one job's lien on that grant, and no other lien anywhere. */
static int _reserved(struct aif_ledger *l, const char *project,
		     const char *grant, aif_amount_t amount)
{
	struct aif_lien lien = { .nparts = 1 };

	snprintf(lien.project, sizeof(lien.project), "%s", project);
	snprintf(lien.parts[0].grant, sizeof(lien.parts[0].grant), "%s", grant);
	lien.parts[0].amount = amount;
	return aif_ledger_replace_reserved(l, &lien, 1, NULL);
}

/* One grant's balance, by name. */
static struct aif_grant_balance _bal(struct aif_ledger *l, const char *project,
				     const char *grant)
{
	struct aif_grant_balance b[16], none = { .granted = -1 };
	struct aif_project_balance s;

	if (aif_ledger_balance(l, project, b, 16, &s))
		return none;
	for (size_t i = 0; i < s.ngrants && i < 16; i++)
		if (!strcmp(b[i].name, grant))
			return b[i];
	return none;
}

static aif_amount_t _overdraw(struct aif_ledger *l, const char *project)
{
	struct aif_project_balance s = { .overdraw = -1 };

	aif_ledger_balance(l, project, NULL, 0, &s);
	return s.overdraw;
}

static void test_draw_order(struct aif_ledger *l)
{
	static const char *const order[] = {
		"past", "a100only", "early", "pinned", "alpha", "zeta",
		"future",
	};
	struct aif_grant_balance b[8];
	struct aif_project_balance s;
	struct aif_lien lien;
	char why[AIF_MSG_MAX];

	ok(!aif_ledger_balance(l, "order", b, 8, &s), "balance of order");
	is_int(s.ngrants, 7, "seven grants");
	for (size_t i = 0; i < 7; i++)
		is_str(b[i].name, order[i], "balance lists grant %zu in draw "
		       "order", i);
	is_int(b[3].valid_until, END_0630, "valid_until is the last second");
	is_str(b[3].gpu_type, "h100", "pin shown");
	is_int(b[0].granted, 10 * H, "granted");
	ok(b[0].active && s.active && s.overdraw == 0, "active, no overdraw");
	ok(!aif_ledger_balance(l, "ORDER", b, 1, &s) && s.ngrants == 7,
	   "project names in any case; max 1 still counts all");

	/* h100, 35 GPU-hours: early (expires first), pinned (pinned before
	 * unpinned on a tie), alpha then zeta (by name). past has expired,
	 * future has not begun, a100only pays a100 only. */
	ok(!_lien1(l, "order", "h100", 7, 1000, 300, NOW, false, &lien, why,
		   sizeof(why)), "h100 lien");
	is_int(lien.verdict, AIF_LIEN_FITS, "it fits");
	is_str(why, "", "no reason when it fits");
	is_int(lien.total, 35 * H, "7 GPUs x 5 h");
	is_int(lien.nparts, 4, "split over four grants");
	is_str(lien.parts[0].grant, "early", "expires first");
	is_int(lien.parts[0].amount, 10 * H, "all of it");
	is_str(lien.parts[1].grant, "pinned", "pinned before unpinned");
	is_int(lien.parts[1].amount, 10 * H, "all of it");
	is_str(lien.parts[2].grant, "alpha", "then by name");
	is_int(lien.parts[2].amount, 10 * H, "all of it");
	is_str(lien.parts[3].grant, "zeta", "last");
	is_int(lien.parts[3].amount, 5 * H, "the rest");
	ok(!lien.reserved, "not reserved: not asked");
	is_int(_bal(l, "order", "early").reserved, 0, "nothing reserved");

	/* a100 at 0.5: a100only expires first, then early. */
	ok(!_lien1(l, "order", "a100", 6, 500, 300, NOW, false, &lien, why,
		   sizeof(why)), "a100 lien");
	is_int(lien.total, 15 * H, "6 GPUs x 5 h x 0.5");
	is_int(lien.nparts, 2, "two grants");
	is_str(lien.parts[0].grant, "a100only", "the a100 grant first");
	is_int(lien.parts[0].amount, 10 * H, "all of it");
	is_str(lien.parts[1].grant, "early", "then the general money");
	is_int(lien.parts[1].amount, 5 * H, "the rest");

	/* A day later: future has begun. 45 h fits only with it. */
	ok(!_lien1(l, "order", "h100", 9, 1000, 300, NOW + 86400, false,
		   &lien, why, sizeof(why)) && lien.verdict == AIF_LIEN_FITS,
	   "45 h fits once future has begun");
	is_str(lien.parts[4].grant, "future", "future last (ends last)");
	is_int(lien.parts[4].amount, 5 * H, "5 h from it");
	ok(!_lien1(l, "order", "h100", 9, 1000, 300, NOW, false, &lien, why,
		   sizeof(why)) && lien.verdict == AIF_LIEN_SHORT,
	   "but not at NOW, when it has not");
	is_int(lien.missing, 5 * H, "5 h missing");
	/* At the last second of 2026, past still pays a charge, but cannot
	 * hold a lien for a job that runs on. */
	ok(!_lien1(l, "order", "h100", 1, 1000, 1, END_2026, false, &lien,
		   why, sizeof(why)) && lien.verdict == AIF_LIEN_FITS &&
	   lien.nparts == 1, "a lien at its last second");
	is_str(lien.parts[0].grant, "early", "is not held by past");
	{
		struct aif_use u = _use("h100", 1, 1000);
		struct aif_charge c;

		ok(!aif_ledger_charge(l, "order", &u, 1, 60, END_2026, &c) &&
		   c.nparts == 1, "a charge of a job started then");
		is_str(c.parts[0].grant, "past",
		       "is paid by past (valid_until inclusive)");
	}
}

static void test_edges(struct aif_ledger *l)
{
	struct aif_use u = _use("h100", 2, 1000);
	struct aif_charge c;
	struct aif_lien lien;
	char why[AIF_MSG_MAX];

	/* A charge at exactly NOW: both grants are valid. */
	ok(!aif_ledger_charge(l, "edges", &u, 1, 3600, NOW, &c),
	   "charge at the second one grant ends and the other starts");
	is_int(c.nparts, 2, "both pay");
	is_str(c.parts[0].grant, "ends-now", "valid_until == now: still valid");
	is_int(c.parts[0].amount, H, "1 h");
	is_str(c.parts[1].grant, "starts-now", "valid_from == now: valid");
	is_int(c.parts[1].amount, H, "1 h");
	is_int(c.overdraw, 0, "no overdraw");

	ok(!aif_ledger_set_charged(l, "edges", "ends-now", 0) &&
	   !aif_ledger_set_charged(l, "edges", "starts-now", 0), "reset");
	ok(!aif_ledger_charge(l, "edges", &u, 1, 3600, NOW - 1, &c),
	   "charge a second before");
	is_int(c.nparts, 1, "only one grant valid then");
	is_str(c.parts[0].grant, "ends-now", "the one ending now");
	is_int(c.overdraw, H, "the rest is overdraw");
	ok(!aif_ledger_charge(l, "edges", &u, 1, 3600, NOW + 1, &c),
	   "charge a second after");
	is_int(c.nparts, 1, "only one grant valid then");
	is_str(c.parts[0].grant, "starts-now", "the one starting now");
	is_int(c.overdraw, H, "the rest is overdraw");
	is_int(_overdraw(l, "edges"), 2 * H, "overdraws add up");

	/* A lien: the grant ending now cannot hold a job that runs on. */
	ok(!aif_ledger_set_charged(l, "edges", "starts-now", 0) &&
	   !aif_ledger_set_charged(l, "edges", "ends-now", 0) &&
	   !aif_ledger_set_overdraw(l, "edges", 0), "reset");
	ok(!_lien1(l, "edges", "h100", 1, 1000, 60, NOW, false, &lien, why,
		   sizeof(why)) && lien.verdict == AIF_LIEN_FITS,
	   "a 1 h lien at now fits");
	is_int(lien.nparts, 1, "on one grant");
	is_str(lien.parts[0].grant, "starts-now", "not the one ending now");
	ok(!_lien1(l, "edges", "h100", 1, 1000, 0, NOW, false, &lien, why,
		   sizeof(why)) && lien.verdict == AIF_LIEN_FITS &&
	   lien.total == 0 && lien.nparts == 0,
	   "a 0-minute lien fits and takes nothing");
}

static void test_outlives(struct aif_ledger *l)
{
	struct aif_lien lien;
	char why[AIF_MSG_MAX];

	ok(!_lien1(l, "brief", "h100", 1, 1000, 2880, NOW, false, &lien, why,
		   sizeof(why)), "a 2-day h100 lien");
	is_int(lien.verdict, AIF_LIEN_OUTLIVES, "outlives its grants");
	is_int(lien.latest_end, END_0101, "the h100 money ends 2027-01-01");
	is_int(lien.max_time_limit, 1439, "23:59 would fit");
	is_int(lien.nparts, 0, "no split");
	is_str(why, "the grants of project brief that can pay for h100 GPUs "
	       "end on 2027-01-01, before a job of 2-00:00:00 would. Use -t "
	       "23:59:00 or less.", "the message gives the way out");

	ok(!_lien1(l, "brief", "a100", 1, 500, 2880, NOW, false, &lien, why,
		   sizeof(why)) && lien.verdict == AIF_LIEN_FITS,
	   "the same for a100 fits");
	is_str(lien.parts[0].grant, "week", "on the a100 grant lasting a week");

	/* valid_until exactly at now + time limit still counts. */
	ok(!_lien1(l, "brief", "h100", 1, 1000, 60, END_0101 - 3600, false,
		   &lien, why, sizeof(why)) && lien.verdict == AIF_LIEN_FITS,
	   "a job ending at the grant's last second fits");
	ok(!_lien1(l, "brief", "h100", 1, 1000, 60, END_0101 - 3599, false,
		   &lien, why, sizeof(why)) &&
	   lien.verdict == AIF_LIEN_OUTLIVES,
	   "one second later it outlives the grant");
	is_int(lien.max_time_limit, 59, "59 minutes would fit");

	ok(!_lien1(l, "brief", "h100", 1, 1000, AIF_UNLIMITED, NOW, false,
		   &lien, why, sizeof(why)) &&
	   lien.verdict == AIF_LIEN_OUTLIVES && lien.max_time_limit == 1439,
	   "an unlimited job outlives every grant");
}

static void test_no_grant(struct aif_ledger *l)
{
	struct aif_lien lien;
	char why[AIF_MSG_MAX];

	ok(!_lien1(l, "none", "h100", 1, 1000, 60, NOW, false, &lien, why,
		   sizeof(why)), "a project without grants");
	is_int(lien.verdict, AIF_LIEN_NO_GRANT, "no grant");
	is_int(lien.next_from, 0, "none to come");
	is_str(why, "project none has no grant that can pay for h100 GPUs "
	       "now. Ask your centre for a grant.", "message");

	ok(!_lien1(l, "later", "h100", 1, 1000, 60, NOW, false, &lien, why,
		   sizeof(why)) && lien.verdict == AIF_LIEN_NO_GRANT,
	   "a project whose grant starts later");
	is_int(lien.next_from, FROM_0301, "it opens on 2027-03-01");
	is_str(why, "project later has no grant that can pay for h100 GPUs "
	       "now; its next grant opens on 2027-03-01. Submit again from "
	       "then.", "message names the date");

	ok(!_lien1(l, "wrongtype", "h100", 1, 1000, 60, NOW, false, &lien,
		   why, sizeof(why)) && lien.verdict == AIF_LIEN_NO_GRANT,
	   "only an a100 grant now: nothing pays h100");
	is_int(lien.next_from, FROM_0201, "the h100 grant opens 2027-02-01");
	ok(!_lien1(l, "wrongtype", "a100", 1, 500, 60, NOW, false, &lien,
		   why, sizeof(why)) && lien.verdict == AIF_LIEN_FITS,
	   "a100 fits");

	errno = 0;
	ok(_lien1(l, "nobody", "h100", 1, 1000, 60, NOW, false, &lien, why,
		  sizeof(why)) == -1 && errno == ENOENT,
	   "a project the ledger does not know");
	is_str(why, "the ledger has no project nobody", "says so");
}

static void test_money(struct aif_ledger *l)
{
	struct aif_use u = _use("h100", 1, 1000);
	struct aif_charge c;
	struct aif_lien lien;
	char why[AIF_MSG_MAX];

	/* 100 h granted, 1000 milli-GPU-seconds... x1000 charged first. */
	ok(!aif_ledger_charge(l, "money", &u, 1, 1000, NOW, &c) &&
	   c.total == 1000000, "charge 1 GPU for 1000 s");
	ok(!_lien1(l, "money", "h100", 8, 1000, 1440, NOW, false, &lien, why,
		   sizeof(why)), "8 GPUs for a day");
	is_int(lien.verdict, AIF_LIEN_SHORT, "short of money");
	is_int(lien.total, 691200000, "8 x 86400 s x 1000");
	is_int(lien.missing, 691200000 - 359000000, "missing: total - left");
	/* 8 x L x 60000 <= 359000000: L <= 747.9 */
	is_int(lien.max_time_limit, 747, "the largest -t that fits");
	/* g x 86400000 <= 359000000: g <= 4.15 */
	is_int(lien.max_gpus[0], 4, "the largest GPU count that fits");
	is_int(lien.nparts, 1, "the split as far as it went");
	is_int(lien.parts[0].amount, 359000000, "all that was left");
	is_str(why, "project money needs 192.00 GPU-hours for 8 h100 GPUs "
	       "for 1-00:00:00 and its grants have 99.72 left. Use -t "
	       "12:27:00 or less, or 4 h100 GPUs instead of 8.",
	       "the message gives both ways out");
	ok(!_lien1(l, "money", "h100", 8, 1000, 747, NOW, false, &lien, why,
		   sizeof(why)) && lien.verdict == AIF_LIEN_FITS,
	   "747 minutes does fit");
	ok(!_lien1(l, "money", "h100", 8, 1000, 748, NOW, false, &lien, why,
		   sizeof(why)) && lien.verdict == AIF_LIEN_SHORT,
	   "748 does not");
	ok(!_lien1(l, "money", "h100", 4, 1000, 1440, NOW, false, &lien, why,
		   sizeof(why)) && lien.verdict == AIF_LIEN_FITS,
	   "4 GPUs for a day fit");
	ok(!_lien1(l, "money", "h100", 5, 1000, 1440, NOW, false, &lien, why,
		   sizeof(why)) && lien.verdict == AIF_LIEN_SHORT,
	   "5 do not");

	ok(!_lien1(l, "money", "h100", UINT64_MAX / 2, 1000, 1440, NOW,
		   false, &lien, why, sizeof(why)), "a cost beyond int64");
	ok(lien.verdict == AIF_LIEN_SHORT && lien.missing == AIF_AMOUNT_MAX,
	   "is short, missing saturated");
	is_int(lien.max_gpus[0], 4, "still gives the way out");

	/* An overdraw is a debt the next lien must cover first. */
	ok(!aif_ledger_set_overdraw(l, "debt", 4 * H), "debt of 4 h");
	ok(!_lien1(l, "debt", "h100", 1, 1000, 420, NOW, false, &lien, why,
		   sizeof(why)) && lien.verdict == AIF_LIEN_SHORT,
	   "7 h on 10 h with 4 h owed");
	is_int(lien.overdraw, 4 * H, "the debt is shown");
	is_int(lien.missing, 1 * H, "1 h missing");
	is_int(lien.max_time_limit, 360, "6 h would fit");
	is_int(lien.max_gpus[0], 0, "no smaller GPU count would");
	is_str(why, "project debt needs 7.00 GPU-hours for 1 h100 GPUs for "
	       "07:00:00 and its grants have 6.00 left after its overdraw "
	       "of 4.00. Use -t 06:00:00 or less.", "message names the debt");
	ok(!aif_ledger_set_overdraw(l, "debt", 0), "debt cleared");
	ok(!_lien1(l, "debt", "h100", 1, 1000, 420, NOW, false, &lien, why,
		   sizeof(why)) && lien.verdict == AIF_LIEN_FITS, "now it fits");
}

static void test_untyped(struct aif_ledger *l)
{
	struct aif_rate cand[] = { { "a100", 500 }, { "h100", 1000 } };
	struct aif_rate tie[] = { { "x", 1000 }, { "b", 1000 } };
	struct aif_use u = _use("", 2, 0);
	struct aif_lien_request r = {
		.uses = &u, .nuses = 1, .candidates = cand, .ncandidates = 2,
		.time_limit = 360, .now = NOW,
	};
	struct aif_lien lien;
	char why[AIF_MSG_MAX];

	ok(!aif_ledger_lien(l, "untyped", &r, &lien, why, sizeof(why)) &&
	   lien.verdict == AIF_LIEN_FITS, "an untyped lien");
	is_str(lien.uses[0].type, "h100", "held as the costliest candidate");
	is_int(lien.uses[0].weight_milli, 1000, "at its weight");
	is_int(lien.total, 12 * H, "2 GPUs x 6 h x 1.0");
	is_int(lien.nparts, 2, "two grants");
	is_str(lien.parts[0].grant, "h100-pool", "the h100 grant pays first");
	is_int(lien.parts[0].amount, 10 * H, "all of it");
	is_str(lien.parts[1].grant, "general", "then the general one");
	is_int(lien.parts[1].amount, 2 * H, "the rest");

	r.candidates = tie;
	ok(!aif_ledger_lien(l, "untyped", &r, &lien, why, sizeof(why)),
	   "candidates of equal weight");
	is_str(lien.uses[0].type, "b", "the first by name");

	r.ncandidates = 0;
	errno = 0;
	ok(aif_ledger_lien(l, "untyped", &r, &lien, why, sizeof(why)) == -1 &&
	   errno == EINVAL, "untyped with no candidate is refused");
	is_str(why, "the job names no GPU type and no type it may run on was "
	       "given", "with a reason");
}

static void test_reserve(struct aif_ledger *l)
{
	struct aif_lien lien, second, big;
	aif_amount_t clamped = 0, unknown = 0;
	char why[AIF_MSG_MAX];

	ok(!_lien1(l, "reserve", "h100", 2, 1000, 360, NOW, true, &lien, why,
		   sizeof(why)) && lien.verdict == AIF_LIEN_FITS &&
	   lien.reserved, "12 h reserved with the lien");
	is_int(lien.nparts, 2, "on both grants");
	is_int(_bal(l, "reserve", "a").reserved, 10 * H, "a holds 10 h");
	is_int(_bal(l, "reserve", "b").reserved, 2 * H, "b holds 2 h");
	is_int(_bal(l, "reserve", "a").left, 0, "a has nothing left");
	is_int(_bal(l, "reserve", "b").left, 8 * H, "b has 8 h left");

	ok(!_lien1(l, "reserve", "h100", 1, 1000, 600, NOW, false, &second,
		   why, sizeof(why)) && second.verdict == AIF_LIEN_SHORT,
	   "10 h more does not fit: the first lien holds the money");
	is_int(second.missing, 2 * H, "2 h missing");
	is_int(second.max_time_limit, 480, "8 h would fit");

	ok(!_lien1(l, "reserve", "h100", 1, 1000, 480, NOW, true, &second,
		   why, sizeof(why)) && second.verdict == AIF_LIEN_FITS,
	   "8 h fits");
	ok(second.reserved, "and is reserved");
	is_int(_bal(l, "reserve", "b").reserved, 10 * H, "b holds 10 h");

	ok(!aif_ledger_release(l, &lien, &clamped) && clamped == 0,
	   "release the first lien");
	is_int(_bal(l, "reserve", "a").reserved, 0, "a holds nothing");
	is_int(_bal(l, "reserve", "b").reserved, 8 * H, "b holds 8 h");
	ok(!aif_ledger_release(l, &second, &clamped) && clamped == 0,
	   "release the second");
	is_int(_bal(l, "reserve", "b").reserved, 0, "b holds nothing");
	ok(!aif_ledger_release(l, &second, &clamped), "release it again");
	is_int(clamped, 8 * H, "clamped: 8 h was not there");
	is_int(_bal(l, "reserve", "b").reserved, 0, "never below zero");

	/* A rebuild from the job list. */
	ok(!_reserved(l, "reserve", "b", 3 * H), "set reserved");
	is_int(_bal(l, "reserve", "b").reserved, 3 * H, "b holds 3 h");
	big = lien;
	snprintf(big.parts[1].grant, AIF_NAME_MAX, "vanished");
	{
		struct aif_lien jobs[2] = { lien, big };

		ok(!aif_ledger_replace_reserved(l, jobs, 2, &unknown),
		   "replace every lien at once");
	}
	is_int(_bal(l, "reserve", "a").reserved, 20 * H, "a holds both");
	is_int(_bal(l, "reserve", "b").reserved, 2 * H, "b the first's");
	is_int(unknown, 2 * H, "the unknown grant's part is reported");
	ok(!aif_ledger_replace_reserved(l, NULL, 0, NULL), "no job at all");
	is_int(_bal(l, "reserve", "a").reserved, 0, "a holds nothing");
	is_int(_bal(l, "reserve", "b").reserved, 0, "b holds nothing");
}

static void test_charges(struct aif_ledger *l)
{
	struct aif_use a100 = _use("a100", 4, 500);
	struct aif_use mixed[2] = { _use("h100", 2, 1000),
				    _use("a100", 2, 500) };
	struct aif_lien lien;
	struct aif_charge c;
	char why[AIF_MSG_MAX];

	/* A lien of another job does not block a charge. */
	ok(!_lien1(l, "charge", "a100", 1, 500, 60, NOW, true, &lien, why,
		   sizeof(why)) && lien.reserved, "another job's lien");

	ok(!aif_ledger_charge(l, "charge", &a100, 1, 10800, NOW, &c),
	   "charge 4 a100 for 3 h");
	is_str(c.project, "charge", "project named");
	is_int(c.total, 6 * H, "6 h");
	is_int(c.nparts, 1, "one grant");
	is_str(c.parts[0].grant, "first", "the one expiring first");
	is_int(c.parts[0].amount, 6 * H, "6 h");
	is_int(c.parts[0].before, 10 * H, "before");
	is_int(c.parts[0].after, 4 * H, "after");
	is_int(c.ncrossings, 1, "one threshold crossed");
	is_str(c.crossings[0].grant, "first", "on first");
	ok(c.crossings[0].fraction == 0.5, "0.5");

	ok(!aif_ledger_charge(l, "charge", &a100, 1, 10800, NOW, &c),
	   "the same again");
	is_int(c.nparts, 2, "two grants");
	is_str(c.parts[0].grant, "first", "first");
	is_int(c.parts[0].amount, 4 * H, "what it had left, lien or not");
	is_int(c.parts[0].before, 4 * H, "before");
	is_int(c.parts[0].after, 0, "after");
	is_str(c.parts[1].grant, "second", "then second");
	is_int(c.parts[1].amount, 2 * H, "the rest");
	is_int(c.parts[1].before, 10 * H, "before");
	is_int(c.parts[1].after, 8 * H, "after");
	is_int(c.ncrossings, 2, "0.8 and 1.0 crossed, not 0.5 again");
	ok(!strcmp(c.crossings[0].grant, "first") &&
	   c.crossings[0].fraction == 0.8, "first at 0.8");
	ok(!strcmp(c.crossings[1].grant, "first") &&
	   c.crossings[1].fraction == 1.0, "first at 1.0");

	/* h100 8 h: h100pin (pinned, ties with second) 5 h, second 3 h;
	 * a100 4 h: second (h100pin pays only h100). */
	ok(!aif_ledger_charge(l, "charge", mixed, 2, 14400, NOW, &c),
	   "charge 2 h100 and 2 a100 for 4 h");
	is_int(c.total, 12 * H, "8 h + 4 h");
	is_int(c.nparts, 2, "two grants");
	is_str(c.parts[0].grant, "h100pin", "the pinned grant first");
	is_int(c.parts[0].amount, 5 * H, "all of it");
	is_int(c.parts[0].before, 5 * H, "before");
	is_int(c.parts[0].after, 0, "after");
	is_str(c.parts[1].grant, "second", "second");
	is_int(c.parts[1].amount, 7 * H, "3 h of h100 and 4 h of a100");
	is_int(c.parts[1].before, 8 * H, "before");
	is_int(c.parts[1].after, 1 * H, "after");
	is_int(c.overdraw, 0, "no overdraw");
	is_int(c.ncrossings, 5, "five thresholds crossed");
	ok(!strcmp(c.crossings[0].grant, "h100pin") &&
	   c.crossings[0].fraction == 0.5 && c.crossings[1].fraction == 0.8 &&
	   c.crossings[2].fraction == 1.0, "h100pin at 0.5, 0.8 and 1.0");
	ok(!strcmp(c.crossings[3].grant, "second") &&
	   c.crossings[3].fraction == 0.5 &&
	   !strcmp(c.crossings[4].grant, "second") &&
	   c.crossings[4].fraction == 0.8, "second at 0.5 and 0.8");

	ok(!aif_ledger_charge(l, "charge", &a100, 1, 10800, NOW, &c),
	   "6 h more, with 1 h left");
	is_int(c.nparts, 1, "one grant");
	is_int(c.parts[0].amount, H, "1 h from second");
	is_int(c.overdraw, 5 * H, "5 h overdraw");
	is_int(c.overdraw_after, 5 * H, "the project's overdraw");
	is_int(c.ncrossings, 1, "second at 1.0");
	ok(c.crossings[0].fraction == 1.0, "1.0");

	ok(!aif_ledger_charge(l, "charge", &a100, 1, 3600, NOW, &c),
	   "2 h more");
	is_int(c.nparts, 0, "nothing pays");
	is_int(c.overdraw, 2 * H, "all of it overdraw");
	is_int(c.overdraw_after, 7 * H, "7 h owed");
	is_int(c.ncrossings, 0, "no threshold crossed again");
	is_int(_overdraw(l, "charge"), 7 * H, "balance shows the overdraw");
	is_int(_bal(l, "charge", "second").charged, 10 * H, "second spent");
	is_int(_bal(l, "charge", "first").left, -lien.total,
	       "first: left = granted - charged - reserved < 0");

	ok(!aif_ledger_charge(l, "charge", &a100, 1, 0, NOW, &c) &&
	   c.total == 0 && c.nparts == 0, "a job that never ran costs 0");
	errno = 0;
	ok(aif_ledger_charge(l, "nobody", &a100, 1, 60, NOW, &c) == -1 &&
	   errno == ENOENT, "charge of an unknown project");
	ok(aif_ledger_charge(l, "charge", &a100, 1, -1, NOW, &c) == -1,
	   "negative elapsed");
	{
		struct aif_use huge = _use("a100", UINT32_MAX, 1000000000);

		errno = 0;
		ok(aif_ledger_charge(l, "charge", &huge, 1, 365LL * 86400,
				     NOW, &c) == -1 && errno == EOVERFLOW,
		   "a charge beyond int64 is refused");
		is_int(_overdraw(l, "charge"), 7 * H, "and changes nothing");
	}
}

static void test_sync(struct aif_ledger *l)
{
	struct aif_policy *p2 = _load(policy2_text);
	struct aif_policy *p3 = _load(policy3_text);
	struct aif_grant_balance b;
	struct aif_project_balance s;
	struct aif_use u = _use("h100", 1, 1000);
	struct aif_charge c;
	char why[AIF_MSG_MAX];

	if (!ok(p2 && p3, "the second and third policies load"))
		return;
	ok(!aif_ledger_set_charged(l, "sync", "keep", 2 * H) &&
	   !aif_ledger_set_charged(l, "sync", "grow", 10 * H) &&
	   !aif_ledger_set_charged(l, "sync", "drop", 1 * H) &&
	   !_reserved(l, "sync", "keep", 1 * H) &&
	   !aif_ledger_set_charged(l, "gone", "old", 4 * H) &&
	   !aif_ledger_set_overdraw(l, "gone", 1 * H), "history set");

	errno = 0;
	ok(aif_ledger_sync(l, p3, why, sizeof(why)) == -1 &&
	   errno == EOVERFLOW, "a grant beyond int64 refuses the sync");
	is_str(why, "projects.sync.grants[0].gpu_hours: 1e+13 GPU-hours is "
	       "beyond what the ledger counts", "naming the grant");
	is_int(_bal(l, "sync", "keep").granted, 10 * H,
	       "and the ledger is as it was");

	ok(!aif_ledger_sync(l, p2, why, sizeof(why)), "sync to the new policy");
	is_str(why, "", "no reason");
	aif_policy_unref(p2);	/* the ledger keeps no pointer into it */
	aif_policy_unref(p3);

	b = _bal(l, "sync", "keep");
	ok(b.active && b.charged == 2 * H && b.reserved == 1 * H &&
	   b.valid_until == END_0630, "keep: charged and reserved kept, "
	   "new window");
	b = _bal(l, "sync", "grow");
	ok(b.active && b.granted == 20 * H && b.charged == 10 * H &&
	   b.left == 10 * H, "grow: 20 h now, 10 h charged kept");
	b = _bal(l, "sync", "drop");
	ok(!b.active && b.granted == 10 * H && b.charged == 1 * H,
	   "drop: kept, inactive, its history visible");
	b = _bal(l, "sync", "new");
	ok(b.active && b.granted == 5 * H && b.charged == 0,
	   "new: starts at zero");
	ok(!aif_ledger_balance(l, "gone", NULL, 0, &s) && !s.active &&
	   s.ngrants == 1 && s.overdraw == 1 * H,
	   "gone: kept, inactive, with its overdraw");
	b = _bal(l, "gone", "old");
	ok(!b.active && b.charged == 4 * H, "gone's grant: inactive, charged");
	ok(!aif_ledger_balance(l, "fresh", NULL, 0, &s) && s.active &&
	   s.ngrants == 1, "fresh: a new project");

	/* 20 h: keep (ends first, 8 h left), new (5 h), grow (7 of 10);
	 * drop is inactive and pays nothing. */
	ok(!aif_ledger_charge(l, "sync", &u, 1, 72000, NOW, &c),
	   "charge 20 h after the sync");
	is_int(c.nparts, 3, "three grants");
	ok(!strcmp(c.parts[0].grant, "keep") && c.parts[0].amount == 8 * H,
	   "keep 8 h");
	ok(!strcmp(c.parts[1].grant, "new") && c.parts[1].amount == 5 * H,
	   "new 5 h");
	ok(!strcmp(c.parts[2].grant, "grow") && c.parts[2].amount == 7 * H,
	   "grow 7 h");
	is_int(c.ncrossings, 4, "the new class's thresholds, not grow's "
	       "0.5 (it was at 0.5 before)");
	ok(!strcmp(c.crossings[0].grant, "keep") &&
	   c.crossings[0].fraction == 0.5 &&
	   c.crossings[1].fraction == 1.0, "keep at 0.5 and 1.0 (was 0.2)");
	ok(!strcmp(c.crossings[2].grant, "new") &&
	   c.crossings[2].fraction == 0.5 &&
	   !strcmp(c.crossings[3].grant, "new") &&
	   c.crossings[3].fraction == 1.0, "new at 0.5 and 1.0");
	is_int(_bal(l, "sync", "drop").charged, 1 * H, "drop untouched");
	ok(!aif_ledger_charge(l, "gone", &u, 1, 3600, NOW, &c) &&
	   c.overdraw == H && c.overdraw_after == 2 * H,
	   "a charge to a removed project is overdraw, not refused");
}

#define THREADS 8
#define ROUNDS 2000

static void *_worker(void *arg)
{
	struct aif_ledger *l = arg;
	struct aif_use u = _use("h100", 1, 1000);

	for (int i = 0; i < ROUNDS; i++) {
		struct aif_lien lien;
		struct aif_charge c;
		char why[AIF_MSG_MAX];

		if (_lien1(l, "busy", "h100", 1, 1000, 60, NOW, true, &lien,
			   why, sizeof(why)) || !lien.reserved)
			return (void *) 1;
		if (aif_ledger_charge(l, "busy", &u, 1, 10, NOW, &c) ||
		    c.total != 10000 || c.overdraw)
			return (void *) 1;
		if (aif_ledger_release(l, &lien, NULL))
			return (void *) 1;
	}
	return NULL;
}

static void *_syncer(void *arg)
{
	struct aif_ledger *l = arg;
	struct aif_policy *p = _load(policy_text);

	for (int i = 0; p && i < 20; i++) {
		struct aif_grant_balance b[4];

		if (aif_ledger_sync(l, p, NULL, 0) ||
		    aif_ledger_balance(l, "busy", b, 4, NULL))
			break;
	}
	aif_policy_unref(p);
	return NULL;
}

static void test_threads(struct aif_ledger *l)
{
	pthread_t t[THREADS], syncer;
	struct aif_grant_balance b;
	struct aif_policy *p = _load(policy_text);
	int failed = 0;

	/* Back to the first policy, where busy has its grant. */
	if (!ok(p && !aif_ledger_sync(l, p, NULL, 0), "sync back"))
		return;
	aif_policy_unref(p);
	pthread_create(&syncer, NULL, _syncer, l);
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, _worker, l);
	for (int i = 0; i < THREADS; i++) {
		void *rv;

		pthread_join(t[i], &rv);
		failed += rv != NULL;
	}
	pthread_join(syncer, NULL);
	is_int(failed, 0, "%d threads x %d lien, charge, release", THREADS,
	       ROUNDS);
	b = _bal(l, "busy", "big");
	is_int(b.charged, (aif_amount_t) THREADS * ROUNDS * 10000,
	       "every charge counted once");
	is_int(b.reserved, 0, "every lien released");
	is_int(_overdraw(l, "busy"), 0, "no overdraw");
}

int main(void)
{
	struct aif_policy *p = _load(policy_text);
	struct aif_ledger *l = aif_ledger_new();
	char why[AIF_MSG_MAX];

	if (!ok(p != NULL && l != NULL, "the test policy loads"))
		return done();
	ok(!aif_ledger_sync(l, p, why, sizeof(why)), "the ledger syncs");
	aif_policy_unref(p);
	test_draw_order(l);
	test_edges(l);
	test_outlives(l);
	test_no_grant(l);
	test_money(l);
	test_untyped(l);
	test_reserve(l);
	test_charges(l);
	test_sync(l);
	test_threads(l);
	aif_ledger_free(l);
	return done();
}
