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
 * JobCompType takes one plugin. A site that already exports its jobs
 * through another (jobcomp/elasticsearch, kafka, filetxt, script) names
 * it in JobCompParams, "aifactory_chain=jobcomp/elasticsearch": this
 * plugin loads it, as slurmctld would, and hands it every call after its
 * own charge (README, "jobcomp/aifactory"). A chain that does not load
 * fails our init, so slurmctld says so at start instead of the site's
 * export stopping unseen.
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
#include "src/common/plugin.h"
#include "src/common/xstring.h"
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
extern list_t *jobcomp_p_get_jobs(slurmdb_job_cond_t *job_cond);
/* From 25.05 a job's end comes with its event (JOBCOMP_EVENT_JOB_FINISH,
 * from job_completion_logger, where log_record was called before), and
 * its start is told too. */
#if AIF_SLURM_AT_LEAST(25, 5)
extern int jobcomp_p_record_job_end(job_record_t *job_ptr, uint32_t event);
extern int jobcomp_p_record_job_start(job_record_t *job_ptr, uint32_t event);
#else
extern int jobcomp_p_log_record(job_record_t *job_ptr);
#endif

/* The site's own jobcomp plugin we hand every call to, if any: its
 * members in the order of chain_syms. */
#define CHAIN_KEY "aifactory_chain="
static struct {
	int (*set_location)(AIF_LOCATION);
	list_t *(*get_jobs)(slurmdb_job_cond_t *job_cond);
#if AIF_SLURM_AT_LEAST(25, 5)
	int (*record_job_end)(job_record_t *job_ptr, uint32_t event);
	int (*record_job_start)(job_record_t *job_ptr, uint32_t event);
#else
	int (*log_record)(job_record_t *job_ptr);
#endif
} chain;
static const char *chain_syms[] = {
	"jobcomp_p_set_location",
	"jobcomp_p_get_jobs",
#if AIF_SLURM_AT_LEAST(25, 5)
	"jobcomp_p_record_job_end",
	"jobcomp_p_record_job_start",
#else
	"jobcomp_p_log_record",
#endif
};
static plugin_context_t *chain_context;

/* JobCompParams' aifactory_chain=TYPE, into type (xfree it), or NULL. */
static char *_chain_type(void)
{
	const char *p = slurm_conf.job_comp_params, *v;
	size_t n;

	for (; p && (v = strstr(p, CHAIN_KEY)); p = v + 1) {
		if (v != slurm_conf.job_comp_params && v[-1] != ',')
			continue;
		v += strlen(CHAIN_KEY);
		n = strcspn(v, ",");
		return n ? xstrndup(v, n) : NULL;
	}
	return NULL;
}

static int _chain_start(void)
{
	char *type = _chain_type();
	int rc = SLURM_SUCCESS;

	if (!type)
		return rc;
	if (!xstrcmp(type, plugin_type)) {
		error("%s: JobCompParams: aifactory_chain names this plugin itself",
		      plugin_type);
		rc = SLURM_ERROR;
	} else if (!(chain_context = plugin_context_create(
			     "jobcomp", type, (void **) &chain,
			     chain_syms, sizeof(chain_syms)))) {
		error("%s: JobCompParams: cannot load %s to chain to",
		      plugin_type, type);
		rc = SLURM_ERROR;
	} else {
		info("%s: every job also goes to %s", plugin_type, type);
	}
	xfree(type);
	return rc;
}

extern int init(void)
{
	if (_chain_start() != SLURM_SUCCESS)
		return SLURM_ERROR;
	return aif_slurm_start(plugin_type, AIF_SLURM_LIENS);
}

/* job_submit's fini never runs at shutdown: this is the last call. */
extern int fini(void)
{
	aif_slurm_stop(AIF_SLURM_LIENS | AIF_SLURM_LAST);
	if (chain_context) {
		plugin_context_destroy(chain_context);
		chain_context = NULL;
	}
	return SLURM_SUCCESS;
}

/* The journal lives under StateSaveLocation: JobCompLoc is not used (a
 * chained plugin's it is). */
extern int jobcomp_p_set_location(AIF_LOCATION)
{
	if (chain_context)
#if AIF_SLURM_AT_LEAST(23, 2)
		return chain.set_location();
#else
		return chain.set_location(location);
#endif
	return SLURM_SUCCESS;
}

/* A job's end (or a resize's first segment): its run charged. */
static void _charge(job_record_t *job_ptr)
{
	struct aif_job_end je;
	char why[AIF_ERR_MAX];

	aif_slurm_job_end(job_ptr, &je);
	/* A reason is something an operator must see: a run not charged
	 * (no policy, a project gone from it) or a record not kept. */
	if (aif_service_job_end(&je, why, sizeof(why)) < 0 || why[0])
		error("%s: JobId=%u: %s", plugin_type, job_ptr->job_id, why);
}

#if AIF_SLURM_AT_LEAST(25, 5)
extern int jobcomp_p_record_job_end(job_record_t *job_ptr, uint32_t event)
{
	_charge(job_ptr);
	return chain_context ? chain.record_job_end(job_ptr, event) :
		SLURM_SUCCESS;
}

/* A start costs nothing: its lien was taken at submit, its charge comes
 * at the end. */
extern int jobcomp_p_record_job_start(job_record_t *job_ptr, uint32_t event)
{
	return chain_context ? chain.record_job_start(job_ptr, event) :
		SLURM_SUCCESS;
}
#else
extern int jobcomp_p_log_record(job_record_t *job_ptr)
{
	_charge(job_ptr);
	return chain_context ? chain.log_record(job_ptr) : SLURM_SUCCESS;
}
#endif

/* Our records are the journal, read with aifctl, not through sacct; a
 * chained plugin's are its own (sacct --completion). */
extern list_t *jobcomp_p_get_jobs(slurmdb_job_cond_t *job_cond)
{
	return chain_context ? chain.get_jobs(job_cond) : NULL;
}
