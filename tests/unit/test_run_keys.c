/*
 * Unit tests of the run-key table (common/run_keys.c): the runs already
 * charged, looked up under the job write lock for every job that ends.
 * Keys of different lengths share the table; a lookup must never read
 * past a shorter stored key (shown under ASan: tests/0006-sanitized-unit.t).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdlib.h>

#include "settle.h"
#include "tap.h"

#define NOW 1798761600	/* 2027-01-01 */

static void _key(const char *cluster, uint32_t job, time_t start,
		 char key[AIF_RUN_KEY_MAX])
{
	struct aif_job_end je = { .job_id = job, .start = start };

	aif_run_key(cluster, &je, key);
}

/* Short keys stored, long ones looked up: every probe that meets a
 * stored key compares the two. */
static void _test_lengths(void)
{
	struct aif_run_keys *keys = aif_run_keys_new();
	char key[AIF_RUN_KEY_MAX];
	int found = 0, added = 0;

	if (!ok(keys != NULL, "a new table"))
		return;
	for (uint32_t job = 1; job <= 30; job++) {
		_key("c", job, NOW, key);
		added += aif_run_keys_add(keys, key, NOW + 60) == 0;
	}
	is_int(added, 30, "30 short keys (c:1:%d...) added", NOW);
	is_int((long long) aif_run_keys_count(keys), 30, "30 keys counted");

	for (uint32_t job = 100001; job <= 100300; job++) {
		_key("aifactory-production-cluster", job, NOW, key);
		found += aif_run_keys_has(keys, key);
	}
	is_int(found, 0, "300 long keys looked up among short ones: none "
	       "found");

	for (uint32_t job = 1; job <= 30; job++) {
		_key("c", job, NOW, key);
		found += aif_run_keys_has(keys, key);
	}
	is_int(found, 30, "every short key is found");
	_key("c", 1, NOW + 1, key);
	ok(!aif_run_keys_has(keys, key), "another start of job 1 is another "
	   "run");

	/* Long keys in, then short ones looked up (and the table grows
	 * through them: each key moves to its new slot). */
	for (uint32_t job = 100001; job <= 100300; job++) {
		_key("aifactory-production-cluster", job, NOW, key);
		added += aif_run_keys_add(keys, key, NOW + 60) == 0;
	}
	is_int((long long) aif_run_keys_count(keys), 330, "330 keys counted "
	       "after the long ones");
	found = 0;
	for (uint32_t job = 1; job <= 300; job++) {
		_key("c", job, NOW, key);
		found += aif_run_keys_has(keys, key);
	}
	is_int(found, 30, "short keys among long ones: only the 30 stored");
	_key("aifactory-production-cluster", 100300, NOW, key);
	ok(aif_run_keys_has(keys, key), "the last long key is found");
	_key("aifactory-production-cluster", 100300, NOW + 1, key);
	ok(!aif_run_keys_has(keys, key), "a key differing only in its last "
	   "digit is not");
	aif_run_keys_free(keys);
}

int main(void)
{
	_test_lengths();
	return done();
}
