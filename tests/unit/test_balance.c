/*
 * Unit tests of the balance statement (common/balance.c): columns as
 * wide as their content, what an unmetered project is told, and text
 * from elsewhere made safe for a terminal, UTF-8 kept where it can be
 * shown. Expected output is exact.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdlib.h>
#include <string.h>

#include "aifactory.h"
#include "balance.h"
#include "ledger.h"
#include "policy_text.h"
#include "tap.h"

#define H AIF_AMOUNT_PER_GPU_HOUR
#define NOW ((time_t) 1798761600)	/* 2027-01-01T00:00:00Z */

static const char policy[] =
	"{ \"version\": 1,\n"
	"  \"classes\": { \"startup\": { }, \"lab\": { \"metered\": false } },\n"
	"  \"projects\": {\n"
	"    \"ehpc-aif-2026l01-042ab\": { \"class\": \"startup\", \"mode\": \"m\", \"grants\": [\n"
	"      { \"name\": \"first\", \"gpu_hours\": 10, \"valid_from\": \"2026-12-01\", \"valid_until\": \"2027-06-30\" },\n"
	"      { \"name\": \"h100-extension\", \"gpu_hours\": 12500, \"valid_from\": \"2026-12-01\", \"valid_until\": \"2027-12-31\", \"gpu_type\": \"h100\" } ] },\n"
	"    \"p\": { \"class\": \"startup\", \"mode\": \"m\", \"grants\": [\n"
	"      { \"name\": \"g\", \"gpu_hours\": 5, \"valid_from\": \"2026-12-01\", \"valid_until\": \"2027-06-30\" } ] },\n"
	"    \"nogrant\": { \"class\": \"startup\", \"mode\": \"m\" },\n"
	"    \"bench\": { \"class\": \"lab\", \"mode\": \"m\" },\n"
	"    \"granted-lab\": { \"class\": \"lab\", \"mode\": \"m\", \"grants\": [\n"
	"      { \"name\": \"g\", \"gpu_hours\": 1, \"valid_from\": \"2026-12-01\", \"valid_until\": \"2027-06-30\" } ] } } }\n";

/* The statement of these projects, as text or JSON (static). */
static const char *_print(struct aif_policy *p, struct aif_ledger *l,
			  const char *const *names, aif_amount_t burn,
			  bool reserved_known, bool json)
{
	static char text[4096];
	struct aif_balance_sheet *s = aif_balance_sheet_new(reserved_known, NOW);
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	text[0] = '\0';
	for (; *names; names++) {
		const struct aif_project *proj = aif_policy_project(p, *names);

		if (aif_balance_sheet_add(s, l, *names, proj->klass->metered, burn))
			snprintf(text, sizeof(text), "add %s failed", *names);
	}
	if (!text[0] && aif_balance_sheet_print(s, f, json))
		snprintf(text, sizeof(text), "print failed");
	fclose(f);
	if (!text[0])
		snprintf(text, sizeof(text), "%s", out);
	free(out);
	aif_balance_sheet_free(s);
	return text;
}

static const char *_statement(struct aif_policy *p, struct aif_ledger *l,
			      const char *const *names, aif_amount_t burn,
			      bool reserved_known)
{
	return _print(p, l, names, burn, reserved_known, false);
}

static const char *_json(struct aif_policy *p, struct aif_ledger *l,
			 const char *const *names, aif_amount_t burn,
			 bool reserved_known)
{
	return _print(p, l, names, burn, reserved_known, true);
}

static const char *_terminal(const char *in, size_t len, bool utf8)
{
	static char text[512];
	char *out = NULL;
	size_t olen = 0;
	FILE *f = open_memstream(&out, &olen);

	aif_text_to_terminal(f, in, len, utf8);
	fclose(f);
	snprintf(text, sizeof(text), "%s", out);
	free(out);
	return text;
}

#define S(s) s, sizeof(s) - 1

int main(void)
{
	struct aif_policy *p = policy_from_text(policy, NULL);
	struct aif_ledger *l = aif_ledger_new();
	char why[256];

	if (!p || !l || aif_ledger_sync(l, p, why, sizeof(why))) {
		printf("Bail out! cannot set up the ledger\n");
		return 1;
	}
	aif_ledger_set_charged(l, "ehpc-aif-2026l01-042ab", "first", 2 * H);
	/* A job's lien of 1234 h on h100-extension, as the rebuild from the
	 * job list sets it. */
	{
		struct aif_lien lien = {
			.project = "ehpc-aif-2026l01-042ab",
			.parts = { { "h100-extension", 1234 * H } },
			.nparts = 1,
		};

		aif_ledger_replace_reserved(l, &lien, 1, NULL);
	}
	aif_ledger_set_charged(l, "p", "g", 5 * H);
	aif_ledger_set_overdraw(l, "p", H / 4);

	is_str(_statement(p, l, (const char *[]) { "ehpc-aif-2026l01-042ab", "p", NULL },
			  30 * H, true),
	       "PROJECT                 GRANT           WINDOW (UTC)            GPU    GRANTED  CHARGED  RESERVED      LEFT\n"
	       "ehpc-aif-2026l01-042ab  first           2026-12-01..2027-06-30  any      10.00     2.00      0.00      8.00\n"
	       "ehpc-aif-2026l01-042ab  h100-extension  2026-12-01..2027-12-31  h100  12500.00     0.00   1234.00  11266.00\n"
	       "ehpc-aif-2026l01-042ab: burn rate 1.00/day over the last 30 days; runs out never (its grants end on 2027-12-31 first)\n"
	       "p                       g               2026-12-01..2027-06-30  any       5.00     5.00      0.00      0.00\n"
	       "p: overdraw 0.25\n"
	       "p: burn rate 1.00/day over the last 30 days; runs out now\n",
	       "a EuroHPC project id of 22 characters: every column as wide as its widest cell, amounts aligned right");

	is_str(_statement(p, l, (const char *[]) { "p", NULL }, 0, false),
	       "PROJECT  GRANT  WINDOW (UTC)            GPU  GRANTED  CHARGED  RESERVED  LEFT\n"
	       "p        g      2026-12-01..2027-06-30  any     5.00     5.00         ?  0.00\n"
	       "p: overdraw 0.25\n"
	       "p: burn rate 0.00/day over the last 30 days; runs out now\n",
	       "short names: narrow columns; reserved unknown is ?");

	is_str(_statement(p, l, (const char *[]) { "bench", "granted-lab", "nogrant", NULL },
			  0, true),
	       "PROJECT      GRANT  WINDOW (UTC)            GPU  GRANTED  CHARGED  RESERVED  LEFT\n"
	       "bench: burn rate 0.00/day over the last 30 days; not metered: its GPU jobs need no grant\n"
	       "granted-lab  g      2026-12-01..2027-06-30  any     1.00     0.00      0.00  1.00\n"
	       "granted-lab: burn rate 0.00/day over the last 30 days; not metered: its GPU jobs need no grant\n"
	       "nogrant: burn rate 0.00/day over the last 30 days; runs out now\n",
	       "an unmetered project never \"runs out\", grants or not; a metered one without a grant has");

	/* The same statements as JSON: the metrics file's names. */
	is_str(_json(p, l, (const char *[]) { "ehpc-aif-2026l01-042ab", "p", NULL },
		     30 * H, true),
	       "{\"burn_days\":30,\"projects\":["
	       "{\"project\":\"ehpc-aif-2026l01-042ab\",\"grants\":["
	       "{\"grant\":\"first\",\"valid_from\":\"2026-12-01\",\"valid_until\":\"2027-06-30\","
	       "\"gpu_type\":null,\"in_policy\":true,\"gpu_hours\":{\"granted\":\"10.00\","
	       "\"charged\":\"2.00\",\"reserved\":\"0.00\",\"left\":\"8.00\"}},"
	       "{\"grant\":\"h100-extension\",\"valid_from\":\"2026-12-01\",\"valid_until\":\"2027-12-31\","
	       "\"gpu_type\":\"h100\",\"in_policy\":true,\"gpu_hours\":{\"granted\":\"12500.00\","
	       "\"charged\":\"0.00\",\"reserved\":\"1234.00\",\"left\":\"11266.00\"}}],"
	       "\"overdraw_gpu_hours\":\"0.00\",\"metered\":true,\"burn_gpu_hours_per_day\":\"1.00\","
	       "\"runs_out\":\"never\",\"grants_end_first\":\"2027-12-31\"},"
	       "{\"project\":\"p\",\"grants\":["
	       "{\"grant\":\"g\",\"valid_from\":\"2026-12-01\",\"valid_until\":\"2027-06-30\","
	       "\"gpu_type\":null,\"in_policy\":true,\"gpu_hours\":{\"granted\":\"5.00\","
	       "\"charged\":\"5.00\",\"reserved\":\"0.00\",\"left\":\"0.00\"}}],"
	       "\"overdraw_gpu_hours\":\"0.25\",\"metered\":true,\"burn_gpu_hours_per_day\":\"1.00\","
	       "\"runs_out\":\"now\",\"grants_end_first\":null}]}\n",
	       "JSON: per grant its gpu_hours by state, the overdraw, when the money runs out");
	is_str(_json(p, l, (const char *[]) { "p", NULL }, 0, false),
	       "{\"burn_days\":30,\"projects\":["
	       "{\"project\":\"p\",\"grants\":["
	       "{\"grant\":\"g\",\"valid_from\":\"2026-12-01\",\"valid_until\":\"2027-06-30\","
	       "\"gpu_type\":null,\"in_policy\":true,\"gpu_hours\":{\"granted\":\"5.00\","
	       "\"charged\":\"5.00\",\"reserved\":null,\"left\":\"0.00\"}}],"
	       "\"overdraw_gpu_hours\":\"0.25\",\"metered\":true,\"burn_gpu_hours_per_day\":\"0.00\","
	       "\"runs_out\":\"now\",\"grants_end_first\":null}]}\n",
	       "JSON: reserved unknown is null");
	is_str(_json(p, l, (const char *[]) { "bench", "nogrant", NULL }, 0, true),
	       "{\"burn_days\":30,\"projects\":["
	       "{\"project\":\"bench\",\"grants\":[],\"overdraw_gpu_hours\":\"0.00\","
	       "\"metered\":false,\"burn_gpu_hours_per_day\":\"0.00\",\"runs_out\":null,"
	       "\"grants_end_first\":null},"
	       "{\"project\":\"nogrant\",\"grants\":[],\"overdraw_gpu_hours\":\"0.00\","
	       "\"metered\":true,\"burn_gpu_hours_per_day\":\"0.00\",\"runs_out\":\"now\","
	       "\"grants_end_first\":null}]}\n",
	       "JSON: no grants is an empty list; unmetered never runs out (null)");
	is_str(_json(p, l, (const char *[]) { NULL }, 0, true),
	       "{\"burn_days\":30,\"projects\":[]}\n", "JSON: no project");

	{
		struct aif_balance_sheet *s = aif_balance_sheet_new(true, NOW);

		ok(aif_balance_sheet_add(s, l, "nosuch", true, 0) == -1,
		   "a project the ledger does not know is an error");
		aif_balance_sheet_free(s);
	}

	{
		char *out = NULL;
		size_t olen = 0;
		FILE *f = open_memstream(&out, &olen);

		aif_json_string(f, "a\"b\\c\n\x1b\x7f\xc3\xa9");
		fclose(f);
		is_str(out, "\"a\\\"b\\\\c\\u000a\\u001b\\u007f\xc3\xa9\"",
		       "a JSON string: quote, backslash and controls escaped, UTF-8 kept");
		free(out);
	}

	/* Text from elsewhere on a terminal. */
	is_str(_terminal(S("no project \xc3\xa9quipe that you are a member of"), true),
	       "no project \xc3\xa9quipe that you are a member of",
	       "terminal: valid UTF-8 kept when the terminal is UTF-8");
	is_str(_terminal(S("no project \xc3\xa9quipe"), false),
	       "no project \\u00e9quipe", "escaped when it is not");
	is_str(_terminal(S("\xf0\x9f\x9a\x80"), false), "\\U0001f680",
	       "beyond U+FFFF");
	is_str(_terminal(S("a\x1b[2Jb\r\tc\x7f\n"), true), "a\\x1b[2Jb\\x0d\\x09c\\x7f\n",
	       "control characters escaped always, newlines kept");
	is_str(_terminal(S("\xc2\x9b" "31m"), true), "\\u009b31m",
	       "C1 controls too (a CSI)");
	is_str(_terminal(S("abc\xe2\x80\xae" "evil"), true), "abc\\u202eevil",
	       "and bidirectional overrides");
	is_str(_terminal(S("\xc3(\xff\xe2\x82"), true), "\\xc3(\\xff\\xe2\\x82",
	       "bytes that are not UTF-8 as \\xNN");
	is_str(_terminal(S("\xc0\xaf"), true), "\\xc0\\xaf", "an overlong form is not UTF-8");
	is_str(_terminal("a\0b", 3, true), "a\\x00b", "a NUL is shown, not obeyed");

	aif_ledger_free(l);
	aif_policy_unref(p);
	return done();
}
