/*
 * slurm-aifactory: amounts in milli-GPU-seconds (ledger.h): from
 * GPU-hours and weights, checked arithmetic, and the one way they are
 * written for people.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>

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

void aif_amount_format(aif_amount_t amount, char *buf, size_t len)
{
	const uint64_t per_cent = AIF_AMOUNT_PER_GPU_HOUR / 100;
	uint64_t mag, cents;

	if (!buf || !len)
		return;
	/* Magnitude as unsigned, so that INT64_MIN has one too. */
	mag = amount < 0 ? -(uint64_t) amount : (uint64_t) amount;
	cents = mag / per_cent;
	if (mag % per_cent >= (per_cent + 1) / 2)
		cents++;
	snprintf(buf, len, "%s%llu.%02llu", amount < 0 && cents ? "-" : "",
		 (unsigned long long) (cents / 100),
		 (unsigned long long) (cents % 100));
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
