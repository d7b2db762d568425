/*
 * slurm-aifactory: small text helpers shared inside the library.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <string.h>

#include "text.h"

size_t aif_utf8_put(uint32_t cp, char out[4])
{
	if (cp < 0x80) {
		out[0] = (char) cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char) (0xc0 | cp >> 6);
		out[1] = (char) (0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char) (0xe0 | cp >> 12);
		out[1] = (char) (0x80 | (cp >> 6 & 0x3f));
		out[2] = (char) (0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char) (0xf0 | cp >> 18);
	out[1] = (char) (0x80 | (cp >> 12 & 0x3f));
	out[2] = (char) (0x80 | (cp >> 6 & 0x3f));
	out[3] = (char) (0x80 | (cp & 0x3f));
	return 4;
}

int32_t aif_utf8_get(const unsigned char *s, size_t len, size_t *n)
{
	uint32_t cp, min;
	size_t want;

	*n = 1;
	if (s[0] < 0x80)
		return s[0];
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		want = 2, cp = s[0] & 0x1fu, min = 0x80;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		want = 3, cp = s[0] & 0x0fu, min = 0x800;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		want = 4, cp = s[0] & 0x07u, min = 0x10000;
	else
		return -1;
	if (len < want)
		return -1;
	for (size_t k = 1; k < want; k++) {
		if ((s[k] & 0xc0) != 0x80)	/* also stops at a NUL */
			return -1;
		cp = cp << 6 | (s[k] & 0x3fu);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*n = want;
	return (int32_t) cp;
}

bool aif_cp_needs_escape(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) ||
		cp == 0x200e || cp == 0x200f ||
		(cp >= 0x2028 && cp <= 0x202e) ||
		(cp >= 0x2066 && cp <= 0x2069);
}

void aif_copy(char *dst, size_t size, const char *src)
{
	size_t n = src ? strnlen(src, size - 1) : 0;

	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
}
