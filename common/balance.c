/*
 * slurm-aifactory: a project's balance statement, as aifctl balance
 * prints it and the service answers a member's query (see settle.h).
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "settle.h"

void aif_balance_header(FILE *f)
{
	fprintf(f, "%-16s %-16s %-22s %-8s %10s %10s %10s %10s\n", "PROJECT",
		"GRANT", "WINDOW (UTC)", "GPU", "GRANTED", "CHARGED",
		"RESERVED", "LEFT");
}

void aif_format_date(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%d", &tm))
		snprintf(buf, len, "?");
}

int aif_balance_print(FILE *f, struct aif_ledger *ledger, const char *project,
		      aif_amount_t burn, bool reserved_known, time_t now)
{
	struct aif_grant_balance *g = NULL;
	struct aif_project_balance sum;
	char a[4][AIF_AMOUNT_STR_MAX], from[16], until[16], window[40];
	long double left = 0;
	time_t last_end = 0;

	if (aif_ledger_balance(ledger, project, NULL, 0, &sum))
		return -1;
	if (sum.ngrants && !(g = calloc(sum.ngrants, sizeof(*g))))
		return -1;
	if (aif_ledger_balance(ledger, project, g, sum.ngrants, &sum)) {
		free(g);
		return -1;
	}
	for (size_t i = 0; i < sum.ngrants; i++) {
		aif_format_date(g[i].valid_from, from, sizeof(from));
		aif_format_date(g[i].valid_until, until, sizeof(until));
		snprintf(window, sizeof(window), "%s..%s", from, until);
		aif_amount_format(g[i].granted, a[0], sizeof(a[0]));
		aif_amount_format(g[i].charged, a[1], sizeof(a[1]));
		aif_amount_format(g[i].reserved, a[2], sizeof(a[2]));
		aif_amount_format(g[i].left, a[3], sizeof(a[3]));
		fprintf(f, "%-16s %-16s %-22s %-8s %10s %10s %10s %10s%s\n",
			project, g[i].name, window,
			g[i].gpu_type[0] ? g[i].gpu_type : "any", a[0], a[1],
			reserved_known ? a[2] : "?", a[3],
			g[i].active ? "" : "  (no longer in the policy)");
		/* What is left to spend: grants that can still pay. */
		if (g[i].active && g[i].valid_until >= now) {
			left += g[i].left;
			if (g[i].left > 0 && g[i].valid_until > last_end)
				last_end = g[i].valid_until;
		}
	}
	free(g);
	left -= sum.overdraw;
	if (sum.overdraw) {
		aif_amount_format(sum.overdraw, a[0], sizeof(a[0]));
		fprintf(f, "%s: overdraw %s\n", project, a[0]);
	}
	aif_amount_format(burn / AIF_BURN_DAYS, a[0], sizeof(a[0]));
	fprintf(f, "%s: burn rate %s/day over the last %d days; runs out ",
		project, a[0], AIF_BURN_DAYS);
	if (left <= 0) {
		fprintf(f, "now\n");
	} else if (!burn) {
		fprintf(f, "never\n");
	} else {
		long double secs = left / burn * AIF_BURN_DAYS * 86400.0L;

		if (secs > (long double) (last_end - now)) {
			aif_format_date(last_end, until, sizeof(until));
			fprintf(f, "never (its grants end on %s first)\n",
				until);
		} else {
			aif_format_date(now + (time_t) secs, until, sizeof(until));
			fprintf(f, "%s\n", until);
		}
	}
	return 0;
}
