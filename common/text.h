/*
 * slurm-aifactory: small text helpers shared inside the library.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef AIF_TEXT_H
#define AIF_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Inside the library only: not exported (tests/0008-library-exports.t). */
#pragma GCC visibility push(hidden)

/* Write code point cp (at most 0x10FFFF) as UTF-8; returns 1 to 4. */
size_t aif_utf8_put(uint32_t cp, char out[4]);

#pragma GCC visibility pop

#endif /* AIF_TEXT_H */
