/*
 * For unit tests: SHA-256 of a buffer as 64 hex digits, through the
 * library's init/update/final, as a test recomputes a hash on its own.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef AIF_TEST_SHA256_HEX_H
#define AIF_TEST_SHA256_HEX_H

#include <stddef.h>

#include "sha256.h"

static void __attribute__((unused))
sha256_hex(const void *data, size_t len, char out[AIF_SHA256_HEX_LEN])
{
	struct aif_sha256 c;
	uint8_t digest[AIF_SHA256_LEN];

	aif_sha256_init(&c);
	aif_sha256_update(&c, data, len);
	aif_sha256_final(&c, digest);
	aif_sha256_to_hex(digest, out);
}

#endif /* AIF_TEST_SHA256_HEX_H */
