/*
 * SHA-256 against the FIPS 180-4 / NIST example vectors, the padding
 * boundaries, and incremental updates in odd-sized pieces.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdlib.h>
#include <string.h>

#include "sha256.h"
#include "sha256_hex.h"
#include "tap.h"

static void _check(const char *msg, const char *want, const char *what)
{
	char hex[AIF_SHA256_HEX_LEN];

	sha256_hex(msg, strlen(msg), hex);
	is_str(hex, want, "%s", what);
}

static void _repeat(char c, size_t n, const char *want)
{
	char *buf = malloc(n + 1);
	char hex[AIF_SHA256_HEX_LEN];

	if (!buf) {
		ok(0, "malloc %zu", n);
		return;
	}
	memset(buf, c, n);
	sha256_hex(buf, n, hex);
	is_str(hex, want, "%zu times '%c'", n, c);
	free(buf);
}

/* A million 'a's fed in pieces of every size from 1 to 130 bytes. */
static void _million_in_pieces(void)
{
	static char chunk[130];
	struct aif_sha256 c;
	uint8_t digest[AIF_SHA256_LEN];
	char hex[AIF_SHA256_HEX_LEN];
	size_t left = 1000000, piece = 1;

	memset(chunk, 'a', sizeof(chunk));
	aif_sha256_init(&c);
	while (left) {
		size_t n = piece < left ? piece : left;

		aif_sha256_update(&c, chunk, n);
		left -= n;
		piece = piece % sizeof(chunk) + 1;
	}
	aif_sha256_final(&c, digest);
	aif_sha256_to_hex(digest, hex);
	is_str(hex, "cdc76e5c9914fb9281a1c7e284d73e67"
		    "f1809a48a497200e046d39ccc7112cd0",
	       "a million 'a's in pieces of 1 to 130 bytes");
}

int main(void)
{
	_check("", "e3b0c44298fc1c149afbf4c8996fb924"
		   "27ae41e4649b934ca495991b7852b855", "empty message");
	_check("abc", "ba7816bf8f01cfea414140de5dae2223"
		      "b00361a396177a9cb410ff61f20015ad", "\"abc\"");
	_check("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	       "248d6a61d20638b8e5c026930c3e6039"
	       "a33ce45964ff2167f6ecedd419db06c1", "the 448-bit message");
	_check("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
	       "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
	       "cf5b16a778af8380036ce59e7b049237"
	       "0b249b11e8f07a51afac45037afee9d1", "the 896-bit message");
	_repeat('a', 1000000, "cdc76e5c9914fb9281a1c7e284d73e67"
			      "f1809a48a497200e046d39ccc7112cd0");
	_million_in_pieces();

	/* Lengths either side of the padding boundaries (sha256sum). */
	_repeat('a', 55, "9f4390f8d30c2dd92ec9f095b65e2b9a"
			 "e9b0a925a5258e241c9f1e910f734318");
	_repeat('a', 56, "b35439a4ac6f0948b6d6f9e3c6af0f5f"
			 "590ce20f1bde7090ef7970686ec6738a");
	_repeat('a', 63, "7d3e74a05d7db15bce4ad9ec0658ea98"
			 "e3f06eeecf16b4c6fff2da457ddc2f34");
	_repeat('a', 64, "ffe054fe7ae0cb6dc65c3af9b61d5209"
			 "f439851db43d0ba5997337df154668eb");
	_repeat('a', 119, "31eba51c313a5c08226adf18d4a359cf"
			  "dfd8d2e816b13f4af952f7ea6584dcfb");
	return done();
}
