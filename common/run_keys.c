/*
 * slurm-aifactory: the run keys: which runs were charged already, so
 * that a replayed or repeated end of a run is charged once (settle.h).
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "settle_internal.h"

struct aif_run_keys *aif_run_keys_new(void)
{
	return calloc(1, sizeof(struct aif_run_keys));
}

void aif_run_keys_free(struct aif_run_keys *keys)
{
	if (!keys)
		return;
	aif_strmap_free(&keys->map);
	free(keys);
}

bool aif_run_keys_has(const struct aif_run_keys *keys, const char *key)
{
	char buf[AIF_RUN_KEY_MAX + 2];
	size_t len = aif_strmap_pair(key, "", buf, sizeof(buf));

	return len && aif_strmap_lookup(&keys->map, buf, len);
}

int aif_run_keys_add(struct aif_run_keys *keys, const char *key, time_t end)
{
	char buf[AIF_RUN_KEY_MAX + 2];
	size_t len = aif_strmap_pair(key, "", buf, sizeof(buf));
	struct aif_strmap_slot *s;

	if (!len) {
		errno = EINVAL;
		return -1;
	}
	if (!(s = aif_strmap_insert(&keys->map, buf, len)))
		return -1;
	if (s->value < end)
		s->value = end;
	return 0;
}

int aif_run_keys_merge(struct aif_run_keys *dst,
		       const struct aif_run_keys *src)
{
	for (size_t i = 0; i < src->map.cap; i++)
		if (src->map.slots[i].key &&
		    aif_run_keys_add(dst, src->map.slots[i].key,
				     src->map.slots[i].value))
			return -1;
	return 0;
}

/* Keep only the runs that ended at or after since: a new table, swapped
 * in whole (open addressing has no cheap delete). */
int aif_run_keys_forget(struct aif_run_keys *keys, time_t since)
{
	struct aif_run_keys kept = { { 0 } };

	for (size_t i = 0; i < keys->map.cap; i++) {
		const struct aif_strmap_slot *s = &keys->map.slots[i];

		if (s->key && s->value >= since &&
		    aif_run_keys_add(&kept, s->key, s->value)) {
			aif_strmap_free(&kept.map);
			return -1;
		}
	}
	aif_strmap_free(&keys->map);
	keys->map = kept.map;
	return 0;
}

size_t aif_run_keys_count(const struct aif_run_keys *keys)
{
	return keys->map.n;
}

void aif_run_key(const char *cluster, const struct aif_job_end *je,
		 char key[AIF_RUN_KEY_MAX])
{
	snprintf(key, AIF_RUN_KEY_MAX, "%.40s:%u:%lld", cluster ? cluster : "",
		 je->job_id, (long long) je->start);
}
