/*
 * Unit tests of common/amount.c: GPU-hours and weights into amounts,
 * checked arithmetic and the format people read, with the exact numbers.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "ledger.h"
#include "tap.h"

#define H AIF_AMOUNT_PER_GPU_HOUR	/* one GPU-hour */

static void test_amounts(void)
{
	aif_amount_t a = -1;
	int64_t w = -1;
	char buf[AIF_AMOUNT_STR_MAX];

	is_int(H, 3600000, "a GPU-hour is 3.6e6 milli-GPU-seconds");
	ok(!aif_amount_from_gpu_hours(1.0, &a) && a == 3600000,
	   "1 GPU-hour");
	ok(!aif_amount_from_gpu_hours(1000.5, &a) && a == 3601800000LL,
	   "1000.5 GPU-hours, exactly");
	ok(!aif_amount_from_gpu_hours(0, &a) && a == 0, "0 GPU-hours");
	ok(!aif_amount_from_gpu_hours(50e6, &a) && a == 180000000000000LL,
	   "50 million GPU-hours");
	ok(!aif_amount_from_gpu_hours(2.5e12, &a) && a == 9000000000000000000LL,
	   "2.5e12 GPU-hours still fits");
	errno = 0;
	ok(aif_amount_from_gpu_hours(1e13, &a) == -1 && errno == EOVERFLOW,
	   "1e13 GPU-hours overflows");
	errno = 0;
	ok(aif_amount_from_gpu_hours(-1, &a) == -1 && errno == EINVAL,
	   "negative GPU-hours refused");
	ok(aif_amount_from_gpu_hours(0.0 / 0.0, &a) == -1, "NaN refused");
	ok(aif_amount_from_gpu_hours(1.0 / 0.0, &a) == -1, "infinity refused");

	aif_amount_format(0, buf, sizeof(buf));
	is_str(buf, "0.00", "0 shows as 0.00");
	aif_amount_format(H, buf, sizeof(buf));
	is_str(buf, "1.00", "a GPU-hour");
	aif_amount_format(45000000, buf, sizeof(buf));
	is_str(buf, "12.50", "12.5 GPU-hours");
	aif_amount_format(-45000000, buf, sizeof(buf));
	is_str(buf, "-12.50", "negative amounts keep their sign");
	aif_amount_format(18000, buf, sizeof(buf));
	is_str(buf, "0.01", "exactly half a hundredth rounds up");
	aif_amount_format(17999, buf, sizeof(buf));
	is_str(buf, "0.00", "just under half rounds down");
	aif_amount_format(-18000, buf, sizeof(buf));
	is_str(buf, "-0.01", "half away from zero for negatives too");
	aif_amount_format(-17999, buf, sizeof(buf));
	is_str(buf, "0.00", "no -0.00");
	aif_amount_format(3600000 * 99 + 3599999, buf, sizeof(buf));
	is_str(buf, "100.00", "rounding carries into the hours");
	aif_amount_format(INT64_MAX, buf, sizeof(buf));
	is_str(buf, "2562047788015.22", "INT64_MAX");
	aif_amount_format(INT64_MIN, buf, sizeof(buf));
	is_str(buf, "-2562047788015.22", "INT64_MIN");
	aif_amount_format(45000000, buf, 3);
	is_str(buf, "12", "a short buffer truncates");

	ok(!aif_weight_milli(1.0, &w) && w == 1000, "weight 1.0 is 1000");
	ok(!aif_weight_milli(0.5, &w) && w == 500, "weight 0.5 is 500");
	ok(!aif_weight_milli(0.125, &w) && w == 125, "three decimals");
	ok(!aif_weight_milli(0.3, &w) && w == 300, "0.3, inexact in binary");
	ok(!aif_weight_milli(1.0000000001, &w) && w == 1000,
	   "within 1e-9 of three decimals");
	ok(!aif_weight_milli(0, &w) && w == 0, "weight 0");
	ok(!aif_weight_milli(1e6, &w) && w == 1000000000, "weight 1e6");
	ok(aif_weight_milli(1.2345, &w) == -1, "four decimals refused");
	ok(aif_weight_milli(1.0005, &w) == -1, "a half thousandth refused");
	ok(aif_weight_milli(-0.5, &w) == -1, "negative weight refused");
	ok(aif_weight_milli(1e6 + 0.001, &w) == -1, "above 1e6 refused");
	ok(aif_weight_milli(0.0 / 0.0, &w) == -1, "NaN weight refused");

	ok(!aif_amount_of_use(8, 3600, 1000, &a) && a == 28800000,
	   "8 GPUs for an hour at weight 1");
	ok(!aif_amount_of_use(4, 10800, 500, &a) && a == 21600000,
	   "4 GPUs for 3 hours at weight 0.5");
	errno = 0;
	a = 7;
	ok(aif_amount_of_use(UINT32_MAX, 365LL * 86400, 1000000000, &a) == -1 &&
	   errno == EOVERFLOW && a == 7,
	   "gpus x seconds x weight overflow is refused, *out untouched");
	ok(aif_amount_of_use((uint64_t) INT64_MAX + 1, 1, 1, &a) == -1,
	   "more GPUs than int64 refused");
	ok(aif_amount_of_use(1, -1, 1000, &a) == -1, "negative seconds");
	ok(aif_amount_add(INT64_MAX, 1, &a) == -1, "add overflow");
	ok(!aif_amount_add(INT64_MAX - 1, 1, &a) && a == INT64_MAX,
	   "add up to INT64_MAX");
}

/* Issue 12: numbers that never contradict each other after rounding. */
static void test_rounding(void)
{
	const aif_amount_t C = H / 100;	/* a cent of a GPU-hour */
	char need[AIF_AMOUNT_STR_MAX], left[AIF_AMOUNT_STR_MAX];
	aif_amount_t rows[5] = { 4 * C / 10, 4 * C / 10, 4 * C / 10 };
	int64_t cents[5], total = -1, sum = 0;

	/* 0.049 needed, 0.046 left: both "0.05" to the nearest cent. */
	aif_amount_format_up(49 * C / 10, need, sizeof(need));
	aif_amount_format_down(46 * C / 10, left, sizeof(left));
	is_str(need, "0.05", "what a job needs is rounded up");
	is_str(left, "0.04", "what is left, down: never needs 0.05 with 0.05 left");
	aif_amount_format_up(5 * C, need, sizeof(need));
	aif_amount_format_down(5 * C, left, sizeof(left));
	ok(!strcmp(need, "0.05") && !strcmp(left, "0.05"), "a whole cent stays");
	aif_amount_format_up(-49 * C / 10, need, sizeof(need));
	aif_amount_format_down(-46 * C / 10, left, sizeof(left));
	ok(!strcmp(need, "-0.04") && !strcmp(left, "-0.05"),
	   "up and down are toward +inf and -inf: %s, %s", need, left);

	/* Three rows of 0.004: 0.00 each to the nearest, 0.01 in all. */
	is_int(aif_amount_apportion(rows, 3, cents, &total), 0, "apportion");
	is_int(total, 1, "the total is the sum rounded: 0.01");
	is_int(cents[0] + cents[1] + cents[2], 1, "and the rows add up to it");
	is_int(cents[0], 1, "the odd cent goes to the first of equal remainders");
	/* Rows that round up too often: 3 x 0.006 = 0.018 -> 0.02, not 0.03. */
	for (int i = 0; i < 3; i++)
		rows[i] = 6 * C / 10;
	aif_amount_apportion(rows, 3, cents, &total);
	ok(total == 2 && cents[0] + cents[1] + cents[2] == 2 &&
	   cents[0] == 1 && cents[1] == 1 && cents[2] == 0,
	   "3 x 0.006: 0.01 + 0.01 + 0.00 = 0.02");
	/* Each row within a cent of its amount, whatever the mix. */
	rows[0] = 1234567; rows[1] = 89; rows[2] = 5 * H + 17999;
	rows[3] = 0; rows[4] = 35999;
	aif_amount_apportion(rows, 5, cents, &total);
	for (int i = 0; i < 5; i++) {
		sum += cents[i];
		ok(cents[i] * C <= rows[i] + C && cents[i] * C >= rows[i] - C,
		   "row %d: %lld cents for %lld", i, (long long) cents[i],
		   (long long) rows[i]);
	}
	is_int(sum, total, "five mixed rows add up to their total");
	rows[0] = -1;
	errno = 0;
	ok(aif_amount_apportion(rows, 1, cents, &total) == -1 && errno == EINVAL,
	   "a negative amount is refused");
	rows[0] = rows[1] = AIF_AMOUNT_MAX;
	errno = 0;
	ok(aif_amount_apportion(rows, 2, cents, &total) == -1 && errno == EOVERFLOW,
	   "a sum beyond int64 is refused");
	aif_cents_format(12345, need, sizeof(need));
	is_str(need, "123.45", "cents as GPU-hours");
}

int main(void)
{
	test_amounts();
	test_rounding();
	return done();
}
