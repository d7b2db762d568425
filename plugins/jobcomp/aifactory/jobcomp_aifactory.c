/*
 * jobcomp/aifactory: charge what each job used, and journal it.
 *
 * A thin adapter: it translates the ended job_record_t into the library's
 * struct aif_job_end (GPUs really allocated, per type, from
 * gres_list_alloc) and hands it to the shared service, which charges the
 * project's grants once per run and queues the audit record. Nothing here
 * writes to disk: jobcomp runs under slurmctld's job write lock.
 *
 * What a run is (docs/slurm.md): (cluster, job id, start time). A
 * requeued run is charged when it ends and its rerun again; a pending job
 * that is cancelled never started and costs nothing; a resize charges the
 * first segment [start, resize] at the resize and the rest [resize, end]
 * at the end.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "slurm/slurm.h"
#include "slurm/slurm_errno.h"
/* First: it renames what the others declare to libslurm's exports. */
#include "src/common/slurm_xlator.h"
#include "src/slurmctld/locks.h"
#include "src/slurmctld/slurmctld.h"

#include "aifactory.h"
#include "tag.h"
#include "aif_slurm.h"

const char plugin_name[] = "AI Factory GPU-hour charges and audit trail";
const char plugin_type[] = "jobcomp/aifactory";
const uint32_t plugin_version = SLURM_VERSION_NUMBER;

/* The plugin interface (slurm_jobcomp.c calls these through dlsym). */
extern int init(void);
extern int fini(void);
/* From 23.02 the plugin reads JobCompLoc itself. */
#if AIF_SLURM_AT_LEAST(23, 2)
#define AIF_LOCATION void
#else
#define AIF_LOCATION char *location
#endif
extern int jobcomp_p_set_location(AIF_LOCATION);
extern int jobcomp_p_log_record(job_record_t *job_ptr);
extern list_t *jobcomp_p_get_jobs(slurmdb_job_cond_t *job_cond);

extern int init(void)
{
	return aif_slurm_start(plugin_type, AIF_SLURM_LIENS);
}

/* job_submit's fini never runs at shutdown: this is the last call. */
extern int fini(void)
{
	aif_slurm_stop(AIF_SLURM_LIENS | AIF_SLURM_LAST);
	return SLURM_SUCCESS;
}

/* The journal lives under StateSaveLocation: JobCompLoc is not used. */
extern int jobcomp_p_set_location(AIF_LOCATION)
{
	return SLURM_SUCCESS;
}

extern int jobcomp_p_log_record(job_record_t *job_ptr)
{
	struct aif_job_end je;
	char why[AIF_ERR_MAX];

	aif_slurm_job_end(job_ptr, &je);
	/* A reason is something an operator must see: a run not charged
	 * (no policy, a project gone from it) or a record not kept. */
	if (aif_service_job_end(&je, why, sizeof(why)) < 0 || why[0])
		error("%s: JobId=%u: %s", plugin_type, job_ptr->job_id, why);
	return SLURM_SUCCESS;
}

/* Our records are the journal, read with aifctl, not through sacct. */
extern list_t *jobcomp_p_get_jobs(slurmdb_job_cond_t *job_cond)
{
	return NULL;
}
