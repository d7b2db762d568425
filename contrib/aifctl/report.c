/*
 * aifctl report: GPU-hours and runs per project (class, sector, mode)
 * of the jobs that ended in a period, from the journal's charges.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aifctl.h"
#include "balance.h"
#include "date.h"

/* One row: the charges of one project (class, sector, mode). */
struct report_row {
	char key[AIF_RECORD_STR_MAX];
	uint64_t runs;
	aif_amount_t amount;
};

struct report_replay {
	const char *by;			/* the charge's field to group by */
	time_t from, until;		/* jobs that ended in [from, until) */
	struct report_row *rows;
	size_t nrows, cap;
};

/* Each charge whose job ended in the period, into its row. */
static int _report_record(const struct aif_record *r, void *arg)
{
	struct report_replay *rp = arg;
	const char *key;
	int64_t end, amount;
	size_t i;

	if (r->type != AIF_RECORD_CHARGE || !aif_record_str(r, "project") ||
	    aif_record_int(r, "end", &end) || end < rp->from ||
	    end >= rp->until || aif_record_int(r, "amount", &amount))
		return 0;
	if (!(key = aif_record_str(r, rp->by)))
		key = "";
	for (i = 0; i < rp->nrows; i++)
		if (!strcmp(rp->rows[i].key, key))
			break;
	if (i == rp->nrows) {
		if (rp->nrows == rp->cap) {
			size_t ncap = rp->cap ? 2 * rp->cap : 16;
			struct report_row *nr = realloc(rp->rows,
							ncap * sizeof(*nr));

			if (!nr)
				return -1;
			rp->rows = nr;
			rp->cap = ncap;
		}
		snprintf(rp->rows[i].key, sizeof(rp->rows[i].key), "%s", key);
		rp->rows[i].runs = 0;
		rp->rows[i].amount = 0;
		rp->nrows++;
	}
	rp->rows[i].runs++;
	if (aif_amount_add(rp->rows[i].amount, amount, &rp->rows[i].amount))
		rp->rows[i].amount = amount < 0 ? INT64_MIN : AIF_AMOUNT_MAX;
	return 0;
}

/* GPU-hours descending, then by name. */
static int _report_cmp(const void *a, const void *b)
{
	const struct report_row *x = a, *y = b;

	if (x->amount != y->amount)
		return x->amount > y->amount ? -1 : 1;
	return strcmp(x->key, y->key);
}

/* "YYYY-MM-DD", or "YYYY-MM" when month, to its first second (UTC). */
static int _report_date(const char *s, bool month, time_t *out)
{
	char day[16];

	if (month && strlen(s) != 7)
		return -1;
	snprintf(day, sizeof(day), "%s%s", s, month ? "-01" : "");
	return aif_date_parse(day, strlen(day), AIF_DATE_DAY, out);
}

/* The first second (UTC) of the month t is in, or of the one after. */
static time_t _report_month(time_t t, bool next)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	tm.tm_mday = 1;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_mon += next;		/* timegm carries December over */
	return timegm(&tm);
}

/* A CSV field: quoted, quotes doubled, only when it needs to be. */
static void _report_csv(const char *s)
{
	if (!s[strcspn(s, ",\"\r\n")]) {
		fputs(s, stdout);
		return;
	}
	putchar('"');
	for (; *s; s++) {
		if (*s == '"')
			putchar('"');
		putchar(*s);
	}
	putchar('"');
}

static int _report_bad(const char *opt, const char *what, const char *value)
{
	fprintf(stderr, "aifctl: report: %s: %s, not '%s'\n\n", opt, what,
		value);
	return aifctl_usage(stderr);
}

/*
 * GPU-hours and runs per project (class, sector, mode) of the jobs that
 * ended in a period, from the journal's charges: root and SlurmUser only,
 * as for balance.
 */
int aifctl_report(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "by", required_argument, NULL, OPT_BY },
		{ "month", required_argument, NULL, OPT_MONTH },
		{ "from", required_argument, NULL, OPT_FROM },
		{ "to", required_argument, NULL, OPT_TO },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "journal", required_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const bys[] = { "project", "class", "sector",
					   "mode" };
	char dirbuf[PATH_MAX], from[PATH_MAX + 96], a[AIF_AMOUNT_STR_MAX];
	char first[16], last[16], runs[32];
	const char *dir = NULL, *month = NULL, *since = NULL, *to = NULL;
	const char *format = "table";
	struct report_replay rp = { .by = "project" };
	aif_amount_t *amounts = NULL;
	int64_t *cents = NULL, total = 0;
	uint64_t nruns = 0;
	int kw = 5, rw = 4, hw = 9;	/* "TOTAL", "RUNS", "GPU-HOURS" */
	int c, rc = 2;
	size_t i;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_BY:
			for (i = 0; i < sizeof(bys) / sizeof(*bys); i++)
				if (!strcmp(optarg, bys[i]))
					break;
			if (i == sizeof(bys) / sizeof(*bys))
				return _report_bad("--by", "class, project, "
						   "sector or mode", optarg);
			rp.by = bys[i];
			break;
		case OPT_MONTH: month = optarg; break;
		case OPT_FROM: since = optarg; break;
		case OPT_TO: to = optarg; break;
		case OPT_FORMAT:
			if (strcmp(optarg, "table") && strcmp(optarg, "csv") &&
			    strcmp(optarg, "json"))
				return _report_bad("--format", "table, csv or "
						   "json", optarg);
			format = optarg;
			break;
		case 'J': dir = optarg; break;
		case 'h': return aifctl_usage(stdout);
		default: return aifctl_usage(stderr);
		}
	}
	if (optind != argc || (dir && !dir[0]) || (month && (since || to)) ||
	    !since != !to)
		return aifctl_usage(stderr);
	if (month) {
		if (_report_date(month, true, &rp.from))
			return _report_bad("--month", "a month YYYY-MM", month);
		rp.until = _report_month(rp.from, true);
	} else if (since) {
		if (_report_date(since, false, &rp.from))
			return _report_bad("--from", "a date YYYY-MM-DD", since);
		if (_report_date(to, false, &rp.until))
			return _report_bad("--to", "a date YYYY-MM-DD", to);
		rp.until += 86400;	/* to the end of that day */
		if (rp.until <= rp.from)
			return _report_bad("--to", "a date not before --from",
					   to);
	} else {
		time_t now = time(NULL);

		rp.from = _report_month(now, false);
		rp.until = _report_month(now, true);
	}
	aif_date_day(rp.from, first, sizeof(first));
	aif_date_day(rp.until - 86400, last, sizeof(last));

	if (!dir) {
		if (aifctl_journal_dir(dirbuf, sizeof(dirbuf), from,
				       sizeof(from), false))
			return 2;
		dir = dirbuf;
	}
	if (aifctl_replay(dir, _report_record, &rp))
		goto out;
	if (rp.nrows)
		qsort(rp.rows, rp.nrows, sizeof(*rp.rows), _report_cmp);
	/* Rows and total in cents that add up (aif_amount_apportion): a
	 * report never shows rows that disagree with its TOTAL. */
	if (!(amounts = calloc(rp.nrows + 1, sizeof(*amounts))) ||
	    !(cents = calloc(rp.nrows + 1, sizeof(*cents)))) {
		fprintf(stderr, "aifctl: out of memory\n");
		goto out;
	}
	for (i = 0; i < rp.nrows; i++) {
		nruns += rp.rows[i].runs;
		amounts[i] = rp.rows[i].amount;
	}
	if (aif_amount_apportion(amounts, rp.nrows, cents, &total)) {
		fprintf(stderr, "aifctl: the GPU-hours of this period do not add up: %s\n",
			strerror(errno));
		goto out;
	}

	if (!strcmp(format, "csv")) {
		printf("key,runs,gpu_hours\n");
		for (i = 0; i < rp.nrows; i++) {
			aif_cents_format(cents[i], a, sizeof(a));
			_report_csv(rp.rows[i].key);
			printf(",%" PRIu64 ",%s\n", rp.rows[i].runs, a);
		}
	} else if (!strcmp(format, "json")) {
		printf("{\"from\":\"%s\",\"to\":\"%s\",\"by\":\"%s\",\"rows\":[",
		       first, last, rp.by);
		for (i = 0; i < rp.nrows; i++) {
			aif_cents_format(cents[i], a, sizeof(a));
			printf("%s{\"key\":", i ? "," : "");
			aif_json_string(stdout, rp.rows[i].key);
			printf(",\"runs\":%" PRIu64 ",\"gpu_hours\":\"%s\"}",
			       rp.rows[i].runs, a);
		}
		aif_cents_format(total, a, sizeof(a));
		printf("],\"total\":{\"runs\":%" PRIu64 ",\"gpu_hours\":\"%s\"}}\n",
		       nruns, a);
	} else {
		/* Widths: the longest key, count and amount, TOTAL's too. */
		int n;

		for (i = 0; i < rp.nrows; i++) {
			n = (int) strlen(rp.rows[i].key[0] ? rp.rows[i].key
					 : "(none)");
			kw = n > kw ? n : kw;
		}
		n = snprintf(runs, sizeof(runs), "%" PRIu64, nruns);
		rw = n > rw ? n : rw;
		aif_cents_format(total, a, sizeof(a));
		n = (int) strlen(a);
		hw = n > hw ? n : hw;
		printf("%-*s  %*s  %*s\n", kw, "KEY", rw, "RUNS", hw,
		       "GPU-HOURS");
		for (i = 0; i < rp.nrows; i++) {
			aif_cents_format(cents[i], a, sizeof(a));
			printf("%-*s  %*" PRIu64 "  %*s\n", kw,
			       rp.rows[i].key[0] ? rp.rows[i].key : "(none)",
			       rw, rp.rows[i].runs, hw, a);
		}
		aif_cents_format(total, a, sizeof(a));
		printf("%-*s  %*" PRIu64 "  %*s\n", kw, "TOTAL", rw, nruns, hw,
		       a);
	}
	rc = 0;
out:
	free(amounts);
	free(cents);
	free(rp.rows);
	return rc;
}
