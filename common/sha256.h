/*
 * SHA-256 (FIPS 180-4), for the policy's fingerprint.
 *
 * A small implementation of our own rather than a dependency on a crypto
 * library: the hash names a policy version in the audit trail, it is not
 * a security boundary. No allocation; a context may live on the stack.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef AIF_SHA256_H
#define AIF_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define AIF_SHA256_LEN 32		/* bytes in a digest */
#define AIF_SHA256_HEX_LEN 65		/* 64 hex digits and a NUL */

struct aif_sha256 {
	uint32_t h[8];
	uint64_t nbytes;		/* message length so far */
	uint8_t block[64];
	size_t used;			/* bytes waiting in block */
};

void aif_sha256_init(struct aif_sha256 *c);
void aif_sha256_update(struct aif_sha256 *c, const void *data, size_t len);
/* Writes the digest and leaves c to be initialised again before reuse. */
void aif_sha256_final(struct aif_sha256 *c, uint8_t out[AIF_SHA256_LEN]);

/* A digest as 64 lowercase hex digits and a NUL. */
void aif_sha256_to_hex(const uint8_t digest[AIF_SHA256_LEN],
		       char out[AIF_SHA256_HEX_LEN]);

#endif /* AIF_SHA256_H */
