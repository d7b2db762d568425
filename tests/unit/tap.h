/*
 * A minimal TAP producer for the unit tests: ok(), is_int(), is_str(),
 * like() (substring), then done() prints the plan and returns the exit
 * status. Header-only so each test is one file.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef AIF_TAP_H
#define AIF_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

static void __attribute__((format(printf, 2, 0)))
tap_result(int pass, const char *fmt, va_list ap)
{
	tap_n++;
	if (!pass)
		tap_failed++;
	printf("%sok %d - ", pass ? "" : "not ", tap_n);
	vprintf(fmt, ap);
	printf("\n");
}

static int __attribute__((format(printf, 2, 3), unused))
ok(int pass, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	tap_result(pass, fmt, ap);
	va_end(ap);
	return pass;
}

static int __attribute__((format(printf, 3, 4), unused))
is_int(long long got, long long want, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	tap_result(got == want, fmt, ap);
	va_end(ap);
	if (got != want)
		printf("#   got %lld, want %lld\n", got, want);
	return got == want;
}

static int __attribute__((format(printf, 3, 4), unused))
is_str(const char *got, const char *want, const char *fmt, ...)
{
	int pass = got && want && !strcmp(got, want);
	va_list ap;
	va_start(ap, fmt);
	tap_result(pass, fmt, ap);
	va_end(ap);
	if (!pass)
		printf("#   got \"%s\"\n#  want \"%s\"\n", got ? got : "(null)",
		       want ? want : "(null)");
	return pass;
}

/* got contains want */
static int __attribute__((format(printf, 3, 4), unused))
like(const char *got, const char *want, const char *fmt, ...)
{
	int pass = got && want && strstr(got, want);
	va_list ap;
	va_start(ap, fmt);
	tap_result(pass != 0, fmt, ap);
	va_end(ap);
	if (!pass)
		printf("#   got \"%s\"\n#  want it to contain \"%s\"\n",
		       got ? got : "(null)", want ? want : "(null)");
	return pass != 0;
}

static int __attribute__((unused)) done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
