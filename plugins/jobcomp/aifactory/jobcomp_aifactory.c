/*
 * jobcomp/aifactory: charge what each job used, and journal it.
 *
 * A thin adapter: it translates the ended job_record_t into the library's
 * struct aif_job_end (GPUs really allocated, per type, from
 * gres_list_alloc) and hands it to the shared service, which charges the
 * project's grants once per run and queues the audit record. Nothing here
 * writes to disk: jobcomp runs under slurmctld's job write lock.
 *
 * What a run is (SLURM-LIFECYCLE.md): (cluster, job id, start time). A
 * requeued run is charged when it ends and its rerun again; a pending job
 * that is cancelled never started and costs nothing; a resize charges the
 * first segment [start, resize] at the resize and the rest [resize, end]
 * at the end.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdio.h>
#include <string.h>

#include "slurm/slurm.h"
#include "slurm/slurm_errno.h"
/* First: it renames what the others declare to libslurm's exports. */
#include "src/common/slurm_xlator.h"
#include "src/common/gres.h"
#include "src/common/list.h"
#include "src/slurmctld/slurmctld.h"

#include "aifactory.h"
#include "../../aif_slurm.h"

const char plugin_name[] = "AI Factory GPU-hour charges and audit trail";
const char plugin_type[] = "jobcomp/aifactory";
const uint32_t plugin_version = SLURM_VERSION_NUMBER;

/* The plugin interface (slurm_jobcomp.c calls these through dlsym). */
extern int init(void);
extern int fini(void);
extern int jobcomp_p_set_location(char *location);
extern int jobcomp_p_log_record(job_record_t *job_ptr);
extern List jobcomp_p_get_jobs(slurmdb_job_cond_t *job_cond);

extern int init(void)
{
	return aif_slurm_service_start();
}

extern int fini(void)
{
	aif_service_stop();	/* drains the journal queue first */
	return SLURM_SUCCESS;
}

/* The journal lives under StateSaveLocation: JobCompLoc is not used. */
extern int jobcomp_p_set_location(char *location)
{
	return SLURM_SUCCESS;
}

/* GPUs allocated to the job, per type, from gres_list_alloc. */
static void _gpus(job_record_t *job_ptr, struct aif_job_end *je)
{
	ListIterator it;
	gres_state_t *gs;

	if (!job_ptr->gres_list_alloc)
		return;
	it = list_iterator_create(job_ptr->gres_list_alloc);
	while ((gs = list_next(it)) && je->ngpus < AIF_GPU_TYPES_MAX) {
		gres_job_state_t *js = gs->gres_data;

		if (!gs->gres_name || strcmp(gs->gres_name, "gpu") || !js ||
		    !js->total_gres)
			continue;
		snprintf(je->gpus[je->ngpus].type,
			 sizeof(je->gpus[je->ngpus].type), "%s",
			 js->type_name ? js->type_name : "");
		je->gpus[je->ngpus].count = js->total_gres;
		je->ngpus++;
	}
	list_iterator_destroy(it);
}

extern int jobcomp_p_log_record(job_record_t *job_ptr)
{
	struct aif_job_end je = {
		.job_id = job_ptr->job_id,
		.uid = job_ptr->user_id,
		.user = job_ptr->user_name,
		.account = job_ptr->account,
		.admin_comment = job_ptr->admin_comment,
		.name = job_ptr->name,
		.partition = job_ptr->partition,
		.qos = job_ptr->qos_ptr ? job_ptr->qos_ptr->name : NULL,
		.nodes = job_ptr->nodes,
		.state = (job_ptr->job_state & JOB_REQUEUE) ? "REQUEUED" :
			job_state_string(job_ptr->job_state & JOB_STATE_BASE),
		.submit = job_ptr->details ? job_ptr->details->submit_time : 0,
		.start = job_ptr->start_time,
		.end = job_ptr->end_time,
		.nnodes = job_ptr->node_cnt,
		.restart_cnt = job_ptr->restart_cnt,
		/* A requeue, a node failure that requeues (NODE_FAIL without
		 * COMPLETING) and a resize are followed by more of the job:
		 * it keeps its lien. */
		.final = !(job_ptr->job_state & JOB_REQUEUE) &&
			job_ptr->job_state != JOB_NODE_FAIL &&
			!IS_JOB_RESIZING(job_ptr),
	};
	char why[AIF_ERR_MAX];

	/* A resize splits the run: charge up to it now, the rest later. */
	if (IS_JOB_RESIZING(job_ptr))
		je.end = job_ptr->resize_time;
	else if (job_ptr->resize_time > job_ptr->start_time)
		je.start = job_ptr->resize_time;
	_gpus(job_ptr, &je);
	if (aif_service_job_end(&je, why, sizeof(why)) < 0)
		error("%s: JobId=%u: %s", plugin_type, job_ptr->job_id, why);
	else if (why[0])
		debug("%s: JobId=%u: %s", plugin_type, job_ptr->job_id, why);
	return SLURM_SUCCESS;
}

/* Our records are the journal, read with aifctl, not through sacct. */
extern List jobcomp_p_get_jobs(slurmdb_job_cond_t *job_cond)
{
	return NULL;
}
