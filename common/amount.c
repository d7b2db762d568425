/*
 * slurm-aifactory: amounts in milli-GPU-seconds (ledger.h): from
 * GPU-hours and weights, checked arithmetic, and the one way they are
 * written for people.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "ledger_internal.h"

int aif_amount_from_gpu_hours(double gpu_hours, aif_amount_t *out)
{
	double milli;

	if (!out || !(gpu_hours >= 0)) {
		errno = EINVAL;
		return -1;
	}
	milli = gpu_hours * (double) AIF_AMOUNT_PER_GPU_HOUR;
	/* 2^63 is exact in a double; anything from it on does not fit. */
	if (!(milli < 9223372036854775808.0)) {
		errno = EOVERFLOW;
		return -1;
	}
	*out = _round(milli);	/* milli + 0.5 stays below 2^63 */
	return 0;
}

int aif_weight_milli(double weight, int64_t *out)
{
	int64_t milli;
	double off;

	if (!out || !(weight >= 0) || weight > 1e6) {
		errno = EINVAL;
		return -1;
	}
	milli = _round(weight * 1000);
	off = weight - (double) milli / 1000;
	if (off > 1e-9 || off < -1e-9) {
		errno = EINVAL;
		return -1;
	}
	*out = milli;
	return 0;
}

#define PER_CENT ((uint64_t) AIF_AMOUNT_PER_GPU_HOUR / 100)

void aif_cents_format(int64_t cents, char *buf, size_t len)
{
	uint64_t mag = cents < 0 ? -(uint64_t) cents : (uint64_t) cents;

	if (buf && len)
		snprintf(buf, len, "%s%llu.%02llu", cents < 0 ? "-" : "",
			 (unsigned long long) (mag / 100),
			 (unsigned long long) (mag % 100));
}

enum rounding { NEAREST, UP, DOWN };

static void _format(aif_amount_t amount, char *buf, size_t len,
		    enum rounding how)
{
	uint64_t mag, cents, rem;
	bool away;

	if (!buf || !len)
		return;
	/* Magnitude as unsigned, so that INT64_MIN has one too. */
	mag = amount < 0 ? -(uint64_t) amount : (uint64_t) amount;
	cents = mag / PER_CENT;
	rem = mag % PER_CENT;
	/* Away from zero: half up for the nearest; toward +inf is away for
	 * a positive amount, toward -inf for a negative one. */
	if (how == NEAREST)
		away = rem >= (PER_CENT + 1) / 2;
	else
		away = rem && ((how == UP) == (amount > 0));
	if (away)
		cents++;
	/* At most 2^63 / PER_CENT cents: an int64 either way; no "-0.00". */
	aif_cents_format(amount < 0 ? -(int64_t) cents : (int64_t) cents,
			 buf, len);
}

void aif_amount_format(aif_amount_t amount, char *buf, size_t len)
{
	_format(amount, buf, len, NEAREST);
}

void aif_amount_format_up(aif_amount_t amount, char *buf, size_t len)
{
	_format(amount, buf, len, UP);
}

void aif_amount_format_down(aif_amount_t amount, char *buf, size_t len)
{
	_format(amount, buf, len, DOWN);
}

/* For the apportionment: larger remainder first, then the earlier row. */
static int _by_remainder(const void *a, const void *b, void *arg)
{
	const aif_amount_t *amounts = arg;
	size_t i = *(const size_t *) a, j = *(const size_t *) b;
	uint64_t ri = (uint64_t) amounts[i] % PER_CENT;
	uint64_t rj = (uint64_t) amounts[j] % PER_CENT;

	if (ri != rj)
		return ri > rj ? -1 : 1;
	return i < j ? -1 : i > j;
}

int aif_amount_apportion(const aif_amount_t *amounts, size_t n,
			 int64_t *cents, int64_t *total)
{
	aif_amount_t sum = 0;
	int64_t floors = 0, want;
	size_t *order;

	for (size_t i = 0; i < n; i++) {
		if (amounts[i] < 0) {
			errno = EINVAL;
			return -1;
		}
		if (__builtin_add_overflow(sum, amounts[i], &sum)) {
			errno = EOVERFLOW;
			return -1;
		}
		cents[i] = (int64_t) ((uint64_t) amounts[i] / PER_CENT);
		floors += cents[i];
	}
	want = (int64_t) ((uint64_t) sum / PER_CENT) +
		((uint64_t) sum % PER_CENT >= (PER_CENT + 1) / 2);
	*total = want;
	if (want == floors)
		return 0;
	if (!(order = malloc(n * sizeof(*order)))) {
		errno = ENOMEM;
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	qsort_r(order, n, sizeof(*order), _by_remainder, (void *) amounts);
	for (size_t k = 0; k < n && floors < want; k++, floors++)
		cents[order[k]]++;
	free(order);
	return 0;
}

int aif_amount_add(aif_amount_t a, aif_amount_t b, aif_amount_t *out)
{
	aif_amount_t r;

	if (__builtin_add_overflow(a, b, &r)) {
		errno = EOVERFLOW;
		return -1;
	}
	*out = r;
	return 0;
}

int aif_amount_of_use(uint64_t gpus, int64_t seconds, int64_t weight_milli,
		      aif_amount_t *out)
{
	aif_amount_t r;

	if (seconds < 0 || weight_milli < 0) {
		errno = EINVAL;
		return -1;
	}
	if (gpus > (uint64_t) INT64_MAX ||
	    __builtin_mul_overflow((int64_t) gpus, seconds, &r) ||
	    __builtin_mul_overflow(r, weight_milli, &r)) {
		errno = EOVERFLOW;
		return -1;
	}
	*out = r;
	return 0;
}
