/*
 * slurm-aifactory policy library: time limits as sbatch -t writes them.
 *
 * Decisions where aifactory.h leaves room:
 *  - The leading field of each form may be any size ("90" is 90 minutes,
 *    "48:00:00" 48 hours); the fields after it must be in range (hours
 *    after "D-" 0-23, minutes and seconds 0-59), so a typo such as
 *    "1:60:00" is refused rather than read as something else.
 *  - No sign, no blanks, at least one digit in every field. "-1", which
 *    SLURM takes for unlimited, is refused: write "UNLIMITED".
 *  - "0" is 0 minutes; what 0 means is up to the caller.
 *  - The limit is 365 days after rounding the seconds up.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "aifactory.h"
#include "policy_internal.h"	/* AIF_MINUTES_MAX */

#define LEAD_MAX 1000000000ULL	/* beyond a year in any unit; no wrap */

static bool _is_word(const char *s, const char *word)
{
	for (; *s && *word; s++, word++) {
		char c = (*s >= 'a' && *s <= 'z') ? (char)(*s - 'a' + 'A') : *s;

		if (c != *word)
			return false;
	}
	return !*s && !*word;
}

/* Digits at *p, at most max; advances *p past them. */
static int _number(const char **p, uint64_t max, uint64_t *v)
{
	const char *q = *p;

	*v = 0;
	for (; *q >= '0' && *q <= '9'; q++) {
		*v = *v * 10 + (uint64_t)(*q - '0');
		if (*v > max)
			return -1;
	}
	if (q == *p)
		return -1;
	*p = q;
	return 0;
}

/* "MM", "MM:SS" or "HH:MM:SS" */
static int _parse_clock(const char *p, uint64_t *secs)
{
	uint64_t f[3];
	int n = 1;

	if (_number(&p, LEAD_MAX, &f[0]))
		return -1;
	while (*p == ':' && n < 3) {
		p++;
		if (_number(&p, 59, &f[n++]))
			return -1;
	}
	if (*p)
		return -1;
	if (n == 1)
		*secs = f[0] * 60;
	else if (n == 2)
		*secs = f[0] * 60 + f[1];
	else
		*secs = f[0] * 3600 + f[1] * 60 + f[2];
	return 0;
}

/* "D-HH", "D-HH:MM" or "D-HH:MM:SS" */
static int _parse_days(const char *p, uint64_t *secs)
{
	uint64_t days, hours, mins = 0, s = 0;

	if (_number(&p, LEAD_MAX, &days) || *p++ != '-' ||
	    _number(&p, 23, &hours))
		return -1;
	if (*p == ':') {
		p++;
		if (_number(&p, 59, &mins))
			return -1;
		if (*p == ':') {
			p++;
			if (_number(&p, 59, &s))
				return -1;
		}
	}
	if (*p)
		return -1;
	*secs = days * 86400 + hours * 3600 + mins * 60 + s;
	return 0;
}

int aif_parse_minutes(const char *s, uint32_t *minutes)
{
	uint64_t secs, mins;
	int rc;

	if (!s || !minutes)
		return -1;
	if (_is_word(s, "UNLIMITED") || _is_word(s, "INFINITE")) {
		*minutes = UINT32_MAX;
		return 0;
	}
	if (strchr(s, '-'))
		rc = _parse_days(s, &secs);
	else
		rc = _parse_clock(s, &secs);
	if (rc)
		return -1;
	mins = (secs + 59) / 60;
	if (mins > AIF_MINUTES_MAX)
		return -1;
	*minutes = (uint32_t)mins;
	return 0;
}

void aif_format_minutes(uint32_t minutes, char *buf, size_t len)
{
	unsigned days = minutes / (24 * 60);
	unsigned hours = minutes / 60 % 24;
	unsigned mins = minutes % 60;

	if (!buf || !len)
		return;
	if (minutes == UINT32_MAX)
		snprintf(buf, len, "UNLIMITED");
	else if (days)
		snprintf(buf, len, "%u-%02u:%02u:00", days, hours, mins);
	else
		snprintf(buf, len, "%02u:%02u:00", hours, mins);
}
