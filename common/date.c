/*
 * slurm-aifactory: calendar dates (date.h).
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "date.h"

/* n decimal digits at s: their value, or -1. */
static int _num(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Days from 1970-01-01 to y-m-d of the proleptic Gregorian calendar
 * (H. Hinnant's days_from_civil). */
static int64_t _days(int64_t y, int64_t m, int64_t d)
{
	int64_t era, yoe, doy;

	y -= m <= 2;
	era = y / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

static int _days_in_month(int y, int m)
{
	static const int mdays[] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return mdays[m - 1];
}

int aif_date_parse(const char *s, size_t len, int flags, time_t *out)
{
	int y, m, d, hh = 0, mm = 0, ss = 0;

	if (!s || !out || !((len == 10 && (flags & AIF_DATE_DAY)) ||
			    (len == AIF_DATE_SECOND_LEN &&
			     (flags & AIF_DATE_SECOND))))
		goto bad;
	y = _num(s, 4);
	m = _num(s + 5, 2);
	d = _num(s + 8, 2);
	if (y < 1970 || s[4] != '-' || m < 1 || m > 12 || s[7] != '-' ||
	    d < 1 || d > _days_in_month(y, m))
		goto bad;
	if (len == AIF_DATE_SECOND_LEN) {
		hh = _num(s + 11, 2);
		mm = _num(s + 14, 2);
		ss = _num(s + 17, 2);
		if (s[10] != 'T' || hh < 0 || hh > 23 || s[13] != ':' ||
		    mm < 0 || mm > 59 || s[16] != ':' || ss < 0 || ss > 59 ||
		    s[19] != 'Z')
			goto bad;
	} else if (flags & AIF_DATE_END_OF_DAY) {
		hh = 23;
		mm = 59;
		ss = 59;
	}
	*out = (time_t) (_days(y, m, d) * 86400 + hh * 3600 + mm * 60 + ss);
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

int aif_date_iso(time_t t, char out[AIF_DATE_MAX])
{
	struct tm tm;

	if (t < 0 || (long long) t > AIF_DATE_LAST || !gmtime_r(&t, &tm) ||
	    strftime(out, AIF_DATE_MAX, "%Y-%m-%dT%H:%M:%SZ", &tm) !=
	    AIF_DATE_SECOND_LEN) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

void aif_date_day(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%d", &tm))
		snprintf(buf, len, "?");
}

void aif_date_user(time_t t, char *buf, size_t len)
{
	struct tm tm;
	bool day;

	if (!gmtime_r(&t, &tm)) {
		snprintf(buf, len, "?");
		return;
	}
	day = (!tm.tm_hour && !tm.tm_min && !tm.tm_sec) ||
	      (tm.tm_hour == 23 && tm.tm_min == 59 && tm.tm_sec == 59);
	if (!strftime(buf, len, day ? "%Y-%m-%d" : "%Y-%m-%d %H:%M:%S UTC",
		      &tm))
		snprintf(buf, len, "?");
}
