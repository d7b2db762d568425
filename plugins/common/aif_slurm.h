/*
 * plugins/common: what every slurm-aifactory plugin in slurmctld shares,
 * linked into each (as SLURM's own jobcomp/common): starting and stopping
 * the library's service with slurmctld's hooks, and translating SLURM's
 * structs into the library's. The only code that knows both.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef AIF_SLURM_H
#define AIF_SLURM_H

#include "src/slurmctld/slurmctld.h"

#include "aifactory.h"
#include "events.h"
#include "service.h"

#define AIF_POLICY_FILE "aifactory.json"	/* next to slurm.conf */
#define AIF_STATE_SUBDIR "aifactory"		/* under StateSaveLocation */

/* What a plugin runs besides the shared service (aif_slurm_start). */
#define AIF_SLURM_LIENS 0x1u	/* rebuild liens from the job list, and
				 * charge ends that were missed */
#define AIF_SLURM_LAST 0x2u	/* the last plugin to stop at shutdown:
				 * write a checkpoint first */

/*
 * Take a reference on the library's service: the policy next to
 * slurm.conf, the journal under StateSaveLocation, written as SlurmUser,
 * slurmctld's own log functions and configuration stamp. With
 * AIF_SLURM_LIENS also start the thread that rebuilds liens. plugin (a
 * static string, its plugin_type) names the plugin in the log.
 * SLURM_SUCCESS or SLURM_ERROR. aif_slurm_stop() with the same flags
 * undoes it.
 */
int aif_slurm_start(const char *plugin, unsigned flags);
void aif_slurm_stop(unsigned flags);

/* A time limit in minutes: 0 when not given, AIF_UNLIMITED for
 * UNLIMITED. */
uint32_t aif_slurm_minutes(uint32_t v);

/*
 * The job's GPU request with every field the normaliser takes: desc's (a
 * submission, or the fields an update sends) over job's (as it stands;
 * NULL at submit). desc NULL: the job as it stands. The one place a GPU
 * request is built, so that submit, an update and the job's current size
 * are counted alike.
 */
void aif_slurm_gpu_spec(const job_desc_msg_t *desc, job_record_t *job,
			struct aif_gpu_spec *spec);

/*
 * The CPU, memory and --aif-bind parts of a submission into req, for the
 * class's shaping, with the partitions' shapes for "auto" (found under
 * the node read lock job_submit holds, cached until a node or partition
 * changes). aif_slurm_shape_apply writes the decision's shaping back.
 */
void aif_slurm_shape_request(const job_desc_msg_t *desc,
			     struct aif_request *req);
void aif_slurm_shape_apply(job_desc_msg_t *desc, const struct aif_decision *d);

/* The CPU part of an update: desc's fields over the job's. */
void aif_slurm_shape_update(const job_desc_msg_t *desc, job_record_t *job,
			    struct aif_update *u);

/*
 * A job record as the library's end of a run. Its strings point into the
 * record: use je while the job lock is held.
 */
void aif_slurm_job_end(job_record_t *job_ptr, struct aif_job_end *je);

/* SLURM's error code for a refusal by rule (so that sbatch's second line
 * fits too). */
int aif_slurm_errno(const char *rule);

/* Log a refusal on one line: a message may hold several lines and echo
 * what a job named (printable ASCII only). */
void aif_slurm_log_refusal(const char *what, uint32_t id, const char *msg);

#endif /* AIF_SLURM_H */
