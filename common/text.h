/*
 * slurm-aifactory: small text helpers shared inside the library.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef AIF_TEXT_H
#define AIF_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Inside the library only: not exported (tests/0008-library-exports.t). */
#pragma GCC visibility push(hidden)

/* Write code point cp (at most 0x10FFFF) as UTF-8; returns 1 to 4. */
size_t aif_utf8_put(uint32_t cp, char out[4]);

/* The code point at s (at most len bytes; a NUL-ended string may pass
 * SIZE_MAX, as a NUL never continues a character) and its length in *n
 * (1-4); -1 with *n = 1 where s does not start with UTF-8 (overlong
 * forms and surrogates are not). */
int32_t aif_utf8_get(const unsigned char *s, size_t len, size_t *n);

/* A code point that would change how text shows if written raw: C0, DEL,
 * C1, and the invisible marks that reorder or break a line (U+200E-200F,
 * U+2028-202E, U+2066-2069). */
bool aif_cp_needs_escape(uint32_t cp);

/* src into dst, a buffer of size bytes (at least 1), cut to fit and
 * NUL-terminated; a NULL src copies as "". */
void aif_copy(char *dst, size_t size, const char *src);

#pragma GCC visibility pop

#endif /* AIF_TEXT_H */
