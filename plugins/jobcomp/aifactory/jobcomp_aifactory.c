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

#define REBUILD_FIRST 2	/* seconds after init: the job list is loaded */
#define REBUILD_EVERY 30	/* seconds between rebuilds */

static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	bool running;
	bool stop;
} rebuild = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.wake = PTHREAD_COND_INITIALIZER,
};

/*
 * The rebuild thread lives here, not in job_submit: jobcomp is never
 * unloaded while slurmctld runs (its fini comes at shutdown, on the main
 * thread, with no slurmctld lock held), whereas job_submit's fini runs
 * under the write locks of a reconfigure and could not wait for a thread
 * that waits for the job read lock.
 *
 * A finished job slurmctld still remembers is charged if its run is not
 * in the journal: its jobcomp call came while our record was still
 * queued when slurmctld was killed. Runs already charged are ignored.
 */
static void _sweep(job_record_t *job)
{
	struct aif_job_end je;
	char why[AIF_ERR_MAX];

	aif_slurm_job_end(job, &je);
	je.final = false;	/* its lien went with the rebuild */
	if (aif_service_job_end(&je, why, sizeof(why)) < 0)
		debug("%s: JobId=%u: %s", plugin_type, job->job_id, why);
}

/*
 * Liens are derived (docs/ledger.md): every grant's reserved amount is
 * made the sum of the liens that pending and running jobs carry in their
 * tags. A lien taken for a job that was never created (--test-only, a
 * refusal after us) lapses here; after a restart, this is what brings the
 * liens back. Under the job read lock (no I/O: charges only queue their
 * records), then the ledger's own lock.
 */
static void _rebuild_liens(void)
{
	slurmctld_lock_t job_read = { .job = READ_LOCK };
	char **tags = NULL;
	size_t n = 0, cap = 0, nliens = 0, unreadable = 0;
	struct aif_lien *liens;
	aif_amount_t unknown = 0;
	ListIterator it;
	job_record_t *job;

	/* Under the lock: copy the tags, charge what was missed. */
	lock_slurmctld(job_read);
	if (job_list) {
		it = list_iterator_create(job_list);
		while ((job = list_next(it))) {
			if (!aif_tag_find(job->admin_comment))
				continue;
			if (IS_JOB_FINISHED(job)) {
				_sweep(job);
				continue;
			}
			if (n == cap) {
				cap = cap ? cap * 2 : 256;
				xrecalloc(tags, cap, sizeof(*tags));
			}
			tags[n++] = xstrdup(job->admin_comment);
		}
		list_iterator_destroy(it);
	}
	unlock_slurmctld(job_read);

	/* After it: parse them and set every grant's reserved amount. */
	liens = xcalloc(n ? n : 1, sizeof(*liens));
	for (size_t i = 0; i < n; i++) {
		int rc = aif_lien_from_tag(tags[i], &liens[nliens]);

		if (!rc)
			nliens++;
		else if (rc < 0 && aif_tag_find(tags[i]))
			unreadable++;	/* a tag we did not write whole */
		xfree(tags[i]);
	}
	xfree(tags);
	if (unreadable)
		error("%s: %zu jobs carry an admission tag whose lien cannot be read: their reservations are NOT counted (scontrol show job: AdminComment)",
		      plugin_type, unreadable);
	if (aif_ledger_replace_reserved(aif_service_ledger(), liens, nliens,
					&unknown))
		error("%s: rebuilding liens failed: %m", plugin_type);
	xfree(liens);
}

static void *_rebuild_thread(void *arg)
{
	struct timespec until;
	int wait = REBUILD_FIRST;

	slurm_mutex_lock(&rebuild.lock);
	while (!rebuild.stop) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += wait;
		if (pthread_cond_timedwait(&rebuild.wake, &rebuild.lock,
					   &until) != ETIMEDOUT)
			continue;
		slurm_mutex_unlock(&rebuild.lock);
		_rebuild_liens();
		slurm_mutex_lock(&rebuild.lock);
		wait = REBUILD_EVERY;
	}
	slurm_mutex_unlock(&rebuild.lock);
	return NULL;
}

extern int init(void)
{
	int rc = aif_slurm_service_start();

	rebuild.stop = false;
	if (!rc && !pthread_create(&rebuild.thread, NULL, _rebuild_thread,
				   NULL))
		rebuild.running = true;
	else if (!rc)
		error("%s: cannot start the lien rebuild thread", plugin_type);
	return rc;
}

extern int fini(void)
{
	if (rebuild.running) {
		slurm_mutex_lock(&rebuild.lock);
		rebuild.stop = true;
		slurm_cond_signal(&rebuild.wake);
		slurm_mutex_unlock(&rebuild.lock);
		pthread_join(rebuild.thread, NULL);
		rebuild.running = false;
	}
	/* job_submit's fini never runs at shutdown: this is the last call. */
	aif_service_checkpoint();
	aif_service_stop();
	return SLURM_SUCCESS;
}

/* The journal lives under StateSaveLocation: JobCompLoc is not used. */
extern int jobcomp_p_set_location(char *location)
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
extern List jobcomp_p_get_jobs(slurmdb_job_cond_t *job_cond)
{
	return NULL;
}
