/*
 * slurm-aifactory: a string-keyed table of int64 (open addressing,
 * FNV-1a), in which the run keys charged and the book are kept
 * (settle_internal.h).
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "settle_internal.h"

static uint64_t _fnv(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char) s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* The length of a stored key "a\0b\0" as _slot() counts it. */
static size_t _stored_len(const char *k)
{
	size_t a = strlen(k);

	return a + 1 + strlen(k + a + 1);
}

/* The slot holding key (len bytes, may contain NUL), or the free one.
 * Lengths first: a stored key may be shorter than len, and memcmp must
 * not read past its end. */
static struct aif_strmap_slot *_slot(const struct aif_strmap *m,
				     const char *key, size_t len)
{
	size_t i = _fnv(key, len) & (m->cap - 1);

	while (m->slots[i].key &&
	       (_stored_len(m->slots[i].key) != len ||
		memcmp(m->slots[i].key, key, len)))
		i = (i + 1) & (m->cap - 1);
	return &m->slots[i];
}

static int _grow(struct aif_strmap *m)
{
	size_t cap = m->cap ? m->cap * 2 : 64;
	struct aif_strmap_slot *old = m->slots, *slots;
	size_t oldcap = m->cap;

	if (!(slots = calloc(cap, sizeof(*slots))))
		return -1;
	m->slots = slots;
	m->cap = cap;
	for (size_t i = 0; i < oldcap; i++) {
		const char *k = old[i].key;

		if (k)	/* stored as "a\0b\0": both parts make the key */
			*_slot(m, k, strlen(k) + 1 + strlen(k + strlen(k) + 1)) =
				old[i];
	}
	free(old);
	return 0;
}

/* Keys are stored as "a\0b\0" (b may be empty), len = strlen(a)+1+strlen(b). */
struct aif_strmap_slot *aif_strmap_lookup(const struct aif_strmap *m,
					  const char *key, size_t len)
{
	struct aif_strmap_slot *s;

	if (!m->cap)
		return NULL;
	s = _slot(m, key, len);
	return s->key ? s : NULL;
}

struct aif_strmap_slot *aif_strmap_insert(struct aif_strmap *m,
					  const char *key, size_t len)
{
	struct aif_strmap_slot *s;

	if ((s = aif_strmap_lookup(m, key, len)))
		return s;
	if ((m->n + 1) * 2 > m->cap && _grow(m))
		return NULL;
	s = _slot(m, key, len);
	if (!(s->key = malloc(len + 2)))
		return NULL;
	memcpy(s->key, key, len);
	s->key[len] = '\0';
	s->key[len + 1] = '\0';
	s->value = 0;
	m->n++;
	return s;
}

void aif_strmap_free(struct aif_strmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->slots[i].key);
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

/* "a" and "b" as one key of the form the table stores. */
size_t aif_strmap_pair(const char *a, const char *b, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s%c%s", a, '\0', b ? b : "");

	return n < 0 || (size_t) n >= size ? 0 : (size_t) n;
}
