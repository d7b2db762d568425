/*
 * slurm-aifactory: calendar dates, the one place they are read and
 * written. Every date is UTC. Users see "YYYY-MM-DD" for a day and
 * "YYYY-MM-DD HH:MM:SS UTC" for a moment; the journal and the policy
 * write a moment as "YYYY-MM-DDTHH:MM:SSZ".
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef AIF_DATE_H
#define AIF_DATE_H

#include <stddef.h>
#include <time.h>

/* The forms aif_date_parse() accepts, and how a day is read. */
#define AIF_DATE_DAY		0x1	/* "YYYY-MM-DD" */
#define AIF_DATE_SECOND		0x2	/* "YYYY-MM-DDTHH:MM:SSZ" */
#define AIF_DATE_END_OF_DAY	0x4	/* a day is its last second */

/* Bytes of "YYYY-MM-DDTHH:MM:SSZ", and a buffer for any date here. */
#define AIF_DATE_SECOND_LEN	20
#define AIF_DATE_MAX		32

/* The last moment a date here can name: 9999-12-31T23:59:59Z. */
#define AIF_DATE_LAST		253402300799LL

/*
 * The len bytes at s (no NUL needed) as one of the forms in flags, years
 * 1970 to 9999, the day checked against its month (no 2026-02-30): 0 and
 * *out, or -1 (EINVAL) when they are not exactly one of them.
 */
int aif_date_parse(const char *s, size_t len, int flags, time_t *out);

/* t as "YYYY-MM-DDTHH:MM:SSZ" (AIF_DATE_SECOND_LEN bytes and a NUL): 0,
 * or -1 when t is before 1970 or after AIF_DATE_LAST. */
int aif_date_iso(time_t t, char out[AIF_DATE_MAX]);

/* t's day, "YYYY-MM-DD"; "?" when it has none. */
void aif_date_day(time_t t, char *buf, size_t len);

/* t for a user: the day alone when t is a day's first or last second (as
 * a policy's dates are), else "YYYY-MM-DD HH:MM:SS UTC"; "?" when none. */
void aif_date_user(time_t t, char *buf, size_t len);

#endif /* AIF_DATE_H */
