/*
 * Unit tests for aif_parse_minutes() and aif_format_minutes().
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aifactory.h"
#include "tap.h"

static void parses(const char *s, uint32_t want)
{
	uint32_t got = 12345;
	int rc = aif_parse_minutes(s, &got);

	if (rc) {
		ok(0, "\"%s\" parses", s);
		return;
	}
	is_int(got, want, "\"%s\" is %u minutes", s, want);
}

static void refuses(const char *s, const char *why)
{
	uint32_t got = 12345;
	int rc = aif_parse_minutes(s, &got);
	char shown[64];
	size_t i;

	/* Keep the TAP line one line. */
	for (i = 0; s[i] && i < sizeof(shown) - 1; i++)
		shown[i] = (s[i] < 0x20) ? '?' : s[i];
	shown[i] = '\0';
	ok(rc == -1 && got == 12345, "\"%s\" refused (%s)", shown, why);
}

static void formats(uint32_t minutes, const char *want)
{
	char buf[64];

	memset(buf, 'x', sizeof(buf));
	aif_format_minutes(minutes, buf, sizeof(buf));
	is_str(buf, want, "%u minutes is %s", minutes, want);
}

static void test_parse(void)
{
	parses("0", 0);
	parses("1", 1);
	parses("90", 90);
	parses("0090", 90);
	parses("525600", 525600);
	parses("5:00", 5);
	parses("5:01", 6);
	parses("0:30", 1);
	parses("0:0", 0);
	parses("90:59", 91);
	parses("1:00:00", 60);
	parses("01:30:00", 90);
	parses("1:30:01", 91);
	parses("48:00:00", 2880);
	parses("0:00:01", 1);
	parses("1-0", 1440);
	parses("2-12", 3600);
	parses("1-02:03", 1563);
	parses("1-02:03:04", 1564);
	parses("0-00:00:00", 0);
	parses("7-00:00:00", 10080);
	parses("365-00:00:00", 525600);
	parses("364-23:59:59", 525600);
	parses("UNLIMITED", UINT32_MAX);
	parses("unlimited", UINT32_MAX);
	parses("Infinite", UINT32_MAX);
	parses("INFINITE", UINT32_MAX);
}

static void test_refuse(void)
{
	uint32_t m = 7;

	refuses("", "empty");
	refuses("-1", "negative");
	refuses("-5:00", "negative");
	refuses("+5", "sign");
	refuses(" 5", "leading blank");
	refuses("5 ", "trailing blank");
	refuses("5m", "trailing garbage");
	refuses("5:", "empty seconds");
	refuses(":5", "empty minutes");
	refuses("1::2", "empty field");
	refuses("1:2:3:4", "four fields");
	refuses("1:60", "seconds 60");
	refuses("1:60:00", "minutes 60");
	refuses("1:00:60", "seconds 60");
	refuses("1-24", "hours 24 after days");
	refuses("1-", "no hours");
	refuses("-1-0", "negative days");
	refuses("1-2-3", "two dashes");
	refuses("1-2:3:4:5", "too many fields");
	refuses("1-2:", "empty minutes after days");
	refuses("1-2:3:", "empty seconds after days");
	refuses("1:2-3", "dash after colon");
	refuses("365-00:00:01", "a second past a year");
	refuses("366-0", "beyond a year");
	refuses("525601", "a minute past a year");
	refuses("8760:00:01", "hours past a year");
	refuses("99999999999999999999999", "huge");
	refuses("4294967295", "UINT32_MAX minutes");
	refuses("4294967296", "2^32 minutes");
	refuses("UNLIMITEDx", "word with garbage");
	refuses("UNLIMIT", "word cut short");
	refuses("1.5", "fraction");
	refuses("0x10", "hex");
	refuses("1\n", "newline");
	ok(aif_parse_minutes(NULL, &m) == -1 && m == 7, "NULL string refused");
	ok(aif_parse_minutes("5", NULL) == -1, "NULL result refused");
}

static void test_huge(void)
{
	size_t big = 1 << 20;
	char *s = malloc(big + 1);
	uint32_t m = 7;

	if (!s)
		abort();
	memset(s, '0', big);
	s[big] = '\0';
	ok(aif_parse_minutes(s, &m) == 0 && m == 0, "megabyte of zeros is 0");
	s[big - 1] = '9';
	s[0] = '1';
	ok(aif_parse_minutes(s, &m) == -1, "megabyte number refused");
	memset(s, '1', big);
	s[big / 2] = '-';
	ok(aif_parse_minutes(s, &m) == -1, "megabyte days refused");
	free(s);
}

static void test_format(void)
{
	char buf[16];

	formats(0, "00:00:00");
	formats(1, "00:01:00");
	formats(59, "00:59:00");
	formats(60, "01:00:00");
	formats(1439, "23:59:00");
	formats(1440, "1-00:00:00");
	formats(1564, "1-02:04:00");
	formats(10080, "7-00:00:00");
	formats(525600, "365-00:00:00");
	formats(UINT32_MAX - 1, "2982616-04:14:00");
	formats(UINT32_MAX, "UNLIMITED");

	memset(buf, 'x', sizeof(buf));
	aif_format_minutes(1564, buf, 5);
	is_str(buf, "1-02", "short buffer truncated and terminated");
	memset(buf, 'x', sizeof(buf));
	aif_format_minutes(1564, buf, 0);
	ok(buf[0] == 'x', "len 0 writes nothing");
	aif_format_minutes(1564, NULL, 10);
	ok(1, "NULL buffer ignored");

	/* What it writes, it reads back. */
	for (uint32_t m = 0; m <= 525600; m += 97) {
		uint32_t back = 0;

		aif_format_minutes(m, buf, sizeof(buf));
		if (aif_parse_minutes(buf, &back) || back != m) {
			ok(0, "round trip of %u via \"%s\"", m, buf);
			return;
		}
	}
	ok(1, "format then parse round-trips up to a year");
}

int main(void)
{
	test_parse();
	test_refuse();
	test_huge();
	test_format();
	return done();
}
