/*
 * What every slurm-aifactory plugin in slurmctld does the same way:
 * start the library's shared service with slurmctld's own hooks.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef AIF_SLURM_H
#define AIF_SLURM_H

#include <stdio.h>
#include <string.h>

#include "src/common/gres.h"
#include "src/common/list.h"
#include "src/common/read_config.h"
#include "src/common/xstring.h"
#include "src/slurmctld/slurmctld.h"

#include "service.h"

#define AIF_POLICY_FILE "aifactory.json"	/* next to slurm.conf */
#define AIF_STATE_SUBDIR "aifactory"		/* under StateSaveLocation */

/* munged's socket as AuthInfo names it ("socket=PATH"), or NULL. */
static inline char *aif_slurm_munge_socket(void)
{
	const char *at = slurm_conf.authinfo ?
		strstr(slurm_conf.authinfo, "socket=") : NULL;

	return at ? xstrndup(at + 7, strcspn(at + 7, ",")) : NULL;
}

/*
 * Take a reference on the service. The policy is next to slurm.conf; the
 * journal under StateSaveLocation, written as SlurmUser. The hooks are
 * slurmctld's own, which outlive any one plugin.
 */
static inline int aif_slurm_service_start(void)
{
	char *policy = get_extra_conf_path(AIF_POLICY_FILE);
	char *journal = xstrdup_printf("%s/%s", slurm_conf.state_save_location,
				       AIF_STATE_SUBDIR);
	char *munge_socket = aif_slurm_munge_socket();
	struct aif_service_hooks hooks = {
		.policy_path = policy,
		.journal_dir = journal,
		.cluster = slurm_conf.cluster_name,
		.slurm_user = slurm_conf.slurm_user_id,
		.munge_socket = munge_socket,
		.conf_stamp = &slurm_conf.last_update,
		.info = slurm_info,
		.error = error,
	};
	int rc = aif_service_start(&hooks);

	xfree(policy);
	xfree(journal);
	xfree(munge_socket);
	return rc ? SLURM_ERROR : SLURM_SUCCESS;
}

/* GPUs allocated to the job, per type, from gres_list_alloc. */
static inline void aif_slurm_job_gpus(job_record_t *job_ptr,
				      struct aif_job_end *je)
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

/*
 * A job record as the library's end of a run. Its strings point into the
 * record: use je while the job lock is held. A requeue, a node failure
 * that requeues (NODE_FAIL without COMPLETING) and a resize are followed
 * by more of the job, which keeps its lien; a resize is charged as two
 * segments, [start, resize] at the resize and [resize, end] at the end.
 */
static inline void aif_slurm_job_end(job_record_t *job_ptr,
				     struct aif_job_end *je)
{
	memset(je, 0, sizeof(*je));
	je->job_id = job_ptr->job_id;
	je->uid = job_ptr->user_id;
	je->user = job_ptr->user_name;
	je->account = job_ptr->account;
	je->admin_comment = job_ptr->admin_comment;
	je->name = job_ptr->name;
	je->partition = job_ptr->partition;
	je->qos = job_ptr->qos_ptr ? job_ptr->qos_ptr->name : NULL;
	je->nodes = job_ptr->nodes;
	je->state = (job_ptr->job_state & JOB_REQUEUE) ? "REQUEUED" :
		job_state_string(job_ptr->job_state & JOB_STATE_BASE);
	je->submit = job_ptr->details ? job_ptr->details->submit_time : 0;
	je->start = job_ptr->start_time;
	je->end = job_ptr->end_time;
	je->nnodes = job_ptr->node_cnt;
	je->restart_cnt = job_ptr->restart_cnt;
	je->final = !(job_ptr->job_state & JOB_REQUEUE) &&
		job_ptr->job_state != JOB_NODE_FAIL &&
		!IS_JOB_RESIZING(job_ptr);
	if (IS_JOB_RESIZING(job_ptr))
		je->end = job_ptr->resize_time;
	else if (job_ptr->resize_time > job_ptr->start_time)
		je->start = job_ptr->resize_time;
	aif_slurm_job_gpus(job_ptr, je);
}

#endif /* AIF_SLURM_H */
