/*
 * Unit tests of common/date.c: the one reader and writer of dates.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <string.h>
#include <time.h>

#include "date.h"
#include "tap.h"

#define BOTH (AIF_DATE_DAY | AIF_DATE_SECOND)

static void parses(const char *s, int flags, long long want)
{
	time_t t = 12345;

	if (aif_date_parse(s, strlen(s), flags, &t)) {
		ok(0, "\"%s\" parses", s);
		return;
	}
	is_int((long long) t, want, "\"%s\" is %lld", s, want);
}

static void refuses(const char *s, int flags, const char *why)
{
	time_t t = 12345;

	ok(aif_date_parse(s, strlen(s), flags, &t) == -1 && t == 12345,
	   "\"%s\" refused (%s)", s, why);
}

int main(void)
{
	char buf[AIF_DATE_MAX], small[5];
	time_t t;

	parses("1970-01-01", BOTH, 0);
	parses("2026-12-04", AIF_DATE_DAY, 1796342400LL);
	parses("2026-12-04", AIF_DATE_DAY | AIF_DATE_END_OF_DAY,
	       1796342400LL + 86399);
	parses("2026-12-04T10:20:30Z", BOTH, 1796342400LL + 37230);
	parses("2026-12-04T10:20:30Z", AIF_DATE_SECOND | AIF_DATE_END_OF_DAY,
	       1796342400LL + 37230);
	parses("2024-02-29", AIF_DATE_DAY, 1709164800LL);
	parses("2000-02-29", AIF_DATE_DAY, 951782400LL);
	parses("9999-12-31T23:59:59Z", AIF_DATE_SECOND, AIF_DATE_LAST);

	refuses("2026-02-29", BOTH, "not a leap year");
	refuses("1900-02-29", BOTH, "a century is not");
	refuses("2026-04-31", BOTH, "April has 30 days");
	refuses("2026-13-01", BOTH, "month 13");
	refuses("2026-00-10", BOTH, "month 0");
	refuses("2026-01-00", BOTH, "day 0");
	refuses("1969-12-31", BOTH, "before 1970");
	refuses("2026-1-01", BOTH, "a short month");
	refuses("2026/01/01", BOTH, "slashes");
	refuses("2026-01-01 ", BOTH, "a trailing space");
	refuses("", BOTH, "empty");
	refuses("2026-01-01T24:00:00Z", BOTH, "hour 24");
	refuses("2026-01-01T10:60:00Z", BOTH, "minute 60");
	refuses("2026-01-01T10:00:60Z", BOTH, "second 60");
	refuses("2026-01-01T10:00:00", BOTH, "no Z");
	refuses("2026-01-01t10:00:00z", BOTH, "lower case");
	refuses("2026-01-01T10:00:00Z", AIF_DATE_DAY, "a moment where a day is wanted");
	refuses("2026-01-01", AIF_DATE_SECOND, "a day where a moment is wanted");
	refuses("+026-01-01", BOTH, "a sign");

	/* Bounded by len, not by a NUL: the journal reads in a line. */
	ok(!aif_date_parse("2026-12-04T10:20:30Z,\"type\"", AIF_DATE_SECOND_LEN,
			   AIF_DATE_SECOND, &t) && t == 1796342400LL + 37230,
	   "a moment inside a longer line");

	is_int(aif_date_iso(1796342400LL + 37230, buf), 0, "a moment is written");
	is_str(buf, "2026-12-04T10:20:30Z", "as YYYY-MM-DDTHH:MM:SSZ");
	ok(!aif_date_parse(buf, strlen(buf), AIF_DATE_SECOND, &t) &&
	   t == 1796342400LL + 37230, "and read back the same");
	is_int(aif_date_iso(-1, buf), -1, "before 1970 is not written");
	is_int(aif_date_iso((time_t) AIF_DATE_LAST + 1, buf), -1,
	       "nor after 9999");

	aif_date_day(1796342400LL + 37230, buf, sizeof(buf));
	is_str(buf, "2026-12-04", "a day");
	aif_date_day(1796342400LL, small, sizeof(small));
	is_str(small, "?", "a day that does not fit says ?");

	aif_date_user(1796342400LL, buf, sizeof(buf));
	is_str(buf, "2026-12-04", "a user sees a day's first second as the day");
	aif_date_user(1796342400LL + 86399, buf, sizeof(buf));
	is_str(buf, "2026-12-04", "and its last second too");
	aif_date_user(1796342400LL + 37230, buf, sizeof(buf));
	is_str(buf, "2026-12-04 10:20:30 UTC", "any other moment to the second");
	return done();
}
