/*
 * slurm-aifactory: aifctl priority's answers in slurmctld, from the
 * ranking site_factor/aifactory published at its last update (priority.h),
 * on the balance port (query.h). Every authenticated user may see the
 * classes; a project's pacing and a job's parts only its members and
 * operators, in the words a non-member gets from balance.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "priority.h"
#include "service_internal.h"

void aif_service_publish_ranking(struct aif_ranking *r)
{
	struct aif_ranking *old;

	aif_ranking_ref(r);
	pthread_mutex_lock(&svc.ranking_lock);
	old = svc.ranking;
	svc.ranking = r;
	pthread_mutex_unlock(&svc.ranking_lock);
	aif_ranking_unref(old);
}

void aif_svc_ranking_free(void)
{
	aif_service_publish_ranking(NULL);
}

int aif_svc_priority(uid_t uid, gid_t gid, const struct aif_priority_ask *ask,
		     FILE *out, char *why, size_t len, void *arg)
{
	struct aif_ranking *r;
	const struct aif_policy *p;
	const struct aif_project *proj = NULL;
	int rc = -1;

	(void) arg;
	pthread_mutex_lock(&svc.ranking_lock);
	r = aif_ranking_ref(svc.ranking);
	pthread_mutex_unlock(&svc.ranking_lock);
	if (!r) {
		snprintf(why, len, "no priority ranking in slurmctld: site_factor/aifactory is not loaded (PrioritySiteFactorPlugin), or has not run yet");
		return -1;
	}
	p = aif_ranking_policy(r);
	if (ask->what != AIF_PRIORITY_CLASSES &&
	    (!(proj = aif_policy_project(p, ask->project)) ||
	     (!aif_svc_sees_all(p, uid, gid) &&
	      !aif_project_has_member(proj, uid, &gid, 1)))) {
		snprintf(why, len, "no project %s that you are a member of",
			 ask->project);
		goto out;
	}
	switch (ask->what) {
	case AIF_PRIORITY_CLASSES:
		rc = aif_ranking_print_classes(r, out);
		break;
	case AIF_PRIORITY_PROJECT:
		rc = aif_ranking_print_project(r, proj, out);
		break;
	case AIF_PRIORITY_JOB:
		rc = aif_ranking_print_job(r, ask->klass, proj->name,
					   ask->fallback, out);
		break;
	}
out:
	aif_ranking_unref(r);
	return rc;
}
