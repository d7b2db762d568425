/*
 * For unit tests: settle a job's end under a run key the test chooses,
 * its tag read as a job end reads it (aif_run_read computes the key from
 * the cluster instead).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef AIF_TEST_SETTLE_RUN_H
#define AIF_TEST_SETTLE_RUN_H

#include <stdio.h>

#include "settle.h"

static enum aif_settle_result __attribute__((unused))
settle_by_key(struct aif_ledger *l, const struct aif_policy *p,
	      const char *key, const struct aif_job_end *je,
	      struct aif_record *rec, struct aif_charge *charge, char *why,
	      size_t len)
{
	struct aif_run run;

	snprintf(run.key, sizeof(run.key), "%s", key);
	aif_tag_read(je->admin_comment, &run.tag);
	return aif_settle_run(l, p, &run, je, rec, charge, why, len);
}

#endif /* AIF_TEST_SETTLE_RUN_H */
