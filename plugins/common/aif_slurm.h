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

#include "slurm/slurm_version.h"
#include "src/slurmctld/slurmctld.h"

#include "aifactory.h"
#include "events.h"
#include "service.h"

/*
 * The SLURM releases we build for differ here; every difference is in the
 * adapters, written for the later release, with the older one's spelling
 * below. The releases named are where SLURM's NEWS or source says the
 * change came; the suite is built and tested on 22.05 and 24.11 only. 23.02 renamed List and ListIterator and moved the plugin
 * interfaces (gres among them) to src/interfaces; 23.11 moved the job
 * record to src/common/job_record.h and named its details job_details_t.
 */
#define AIF_SLURM_AT_LEAST(a, b) (SLURM_VERSION_NUMBER >= SLURM_VERSION_NUM(a, b, 0))
#if !AIF_SLURM_AT_LEAST(23, 2)
typedef struct xlist list_t;
typedef struct listIterator list_itr_t;
#endif
#if !AIF_SLURM_AT_LEAST(23, 11)
typedef struct job_details job_details_t;
#endif
/* The per-GPU TRES a job carries (cpus_per_tres, mem_per_tres): "gres:gpu"
 * in 22.05, "gres/gpu" in 24.11 (where between them SLURM changed it is
 * not checked: only these two releases are built and tested). */
#if AIF_SLURM_AT_LEAST(23, 11)
#define AIF_SLURM_GPU_TRES "gres/gpu"
#else
#define AIF_SLURM_GPU_TRES "gres:gpu"
#endif

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

/* Log a refusal at info level on one line (a message may hold several
 * lines and echo what a job named: printable ASCII only), naming the job
 * (an update) and its user: their uid, and their name when SLURM's job
 * record holds it (user may be NULL). At submit there is no job yet
 * (job_id 0): the uid alone; a name would be an NSS lookup, I/O under
 * slurmctld's locks. */
void aif_slurm_log_refusal(uint32_t job_id, uint32_t uid, const char *user,
			   const char *msg);

#endif /* AIF_SLURM_H */
