/*
 * A job's events, one call each (events.h): the policy in force from the
 * service, admission (admit.h), the ledger, the decision record.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "admit.h"
#include "events.h"
#include "service.h"
#include "tag.h"

static enum aif_verdict _refuse(struct aif_decision *d, const char *rule,
				const char *msg)
{
	memset(d, 0, sizeof(*d));
	d->verdict = AIF_REFUSE;
	d->rule = rule;
	snprintf(d->message, sizeof(d->message), "%s", msg);
	return d->verdict;
}

enum aif_verdict aif_job_submit(struct aif_request *r,
				const struct aif_gpu_spec *spec,
				struct aif_decision *d)
{
	struct aif_policy *p = aif_service_policy();

	if (!p)
		return _refuse(d, "policy.none",
			       "aifactory: no valid AI Factory policy is loaded, so no job can be admitted. Please contact your centre.");
	r->nodes = spec->nodes;
	aif_admit(p, aif_service_ledger(), spec, r, 0, d);
	aif_service_decision(r, d, p);
	d->project = NULL;
	d->klass = NULL;
	aif_policy_unref(p);
	return d->verdict;
}

static const char *_pick(const char *changed, const char *current)
{
	return changed ? changed : current;
}

/*
 * An administrator's move of a job to another project: applied whole or
 * refused. SLURM must have the association that lets it apply the
 * account, and the job's lien must fit in the new project; then the new
 * tag goes in with the account and the old lien is given back.
 */
static enum aif_verdict _move(const struct aif_policy *p,
			      const struct aif_update *u,
			      struct aif_decision *d)
{
	const struct aif_project *from = u->job_account ?
		aif_policy_project(p, u->job_account) : NULL;
	const struct aif_project *to = aif_policy_project(p, u->account);
	struct aif_request req = {
		.account = u->account,
		.partition = _pick(u->partition, u->job_partition),
		.qos = _pick(u->qos, u->job_qos),
		.uid = u->uid,
		.time_limit = u->time_limit ? u->time_limit :
			u->job_time_limit,
		.nodes = u->spec.nodes,
		.now = u->now,
	};
	struct aif_lien old;
	char msg[AIF_MSG_MAX], user[AIF_NAME_MAX], why[AIF_ERR_MAX];

	memset(d, 0, sizeof(*d));
	d->verdict = AIF_ACCEPT;
	d->rule = "unchanged";
	/* Not ours: neither account is a project, or the job is never
	 * judged (root's and SlurmUser's, as at submit). */
	if ((!from && !to) || u->exempt)
		return d->verdict;
	/* SLURM moves pending jobs only (before AdminComment): nothing to
	 * reserve or give back for a move it refuses anyway. */
	if (!u->pending)
		return _refuse(d, "move.not_pending", "");
	if (!u->by_admin)
		return _refuse(d, "operator.admin",
			       "aifactory: only SLURM's administrators (root, SlurmUser, AdminLevel=Admin) can move a job between projects: its project is in AdminComment, which only they may set.");
	if (!to) {
		snprintf(msg, sizeof(msg), "aifactory: account %.64s is not a project of the policy: a job of project %s cannot move there. Cancel it and submit it again.",
			 u->account, from->name);
		return _refuse(d, "project.unknown", msg);
	}
	if (!u->has_association) {
		/* No NSS under the locks: SLURM's name, else the policy's. */
		const char *name = u->user_name ? u->user_name :
			aif_policy_user_name(p, u->uid);

		snprintf(user, sizeof(user), "%s", name ? name : "");
		if (!user[0])
			snprintf(user, sizeof(user), "%u", (unsigned) u->uid);
		snprintf(msg, sizeof(msg), "aifactory: user %s has no association with account %s in SLURM's database, so SLURM would keep the job in account %.64s. Add one (sacctmgr add user %s account=%s), then move the job.",
			 user, to->name,
			 u->job_account ? u->job_account : "?", user,
			 to->name);
		return _refuse(d, "project.", msg);
	}
	if (aif_gpus_normalise(&u->spec, &req.gpus, why, sizeof(why)))
		return _refuse(d, "gres.malformed", why);
	aif_admit_move(p, aif_service_ledger(), to, &req, d);
	d->project = NULL;
	d->klass = NULL;
	if (d->verdict == AIF_REFUSE)
		return d->verdict;
	if (!strcmp(d->rule, "budget.fallback") &&
	    (!u->qos || strcasecmp(u->qos, d->qos))) {
		/* Nothing was reserved: only into the fallback QOS, by name. */
		snprintf(msg, sizeof(msg), "aifactory: project %s has not enough GPU-hours left for this job: move it with QOS=%s as well, or add to its grants.",
			 to->name, d->qos);
		return _refuse(d, "budget.short", msg);
	}
	snprintf(d->account, sizeof(d->account), "%s", to->name);
	if (aif_lien_from_tag(u->job_tag, &old) == 0 &&
	    aif_ledger_release(aif_service_ledger(), &old, NULL))
		snprintf(d->message, sizeof(d->message),
			 "its lien in project %s could not be released: %s",
			 old.project, strerror(errno));
	return d->verdict;
}

enum aif_verdict aif_job_modify(const struct aif_update *u,
				struct aif_decision *d)
{
	struct aif_policy *p = aif_service_policy();
	struct aif_request req = {
		.account = u->account,
		.partition = u->partition,
		.qos = u->qos,
		.uid = u->uid,
		.time_limit = u->time_limit,
		.nodes = u->nodes_change ? u->spec.nodes : 0,
		.gpus_unchanged = !u->gpus_change,
		.current_time_limit = u->job_time_limit,
		.current_qos = u->job_qos,
		.current_tag = u->job_tag,
		.now = u->now,
	};
	struct aif_gpus now;
	char why[AIF_ERR_MAX];

	memset(d, 0, sizeof(*d));
	d->verdict = AIF_ACCEPT;
	d->rule = "unchanged";
	if (u->by_operator || (p && aif_policy_is_operator(p, u->by, NULL, 0))) {
		if (p && u->account && (!u->job_account ||
		    strcasecmp(u->account, u->job_account)))
			_move(p, u, d);
		goto out;
	}
	if (!p) {
		_refuse(d, "policy.none", "no valid AI Factory policy is loaded");
		goto out;
	}
	if (u->gpus_change &&
	    aif_gpus_normalise(&u->spec, &req.gpus, why, sizeof(why))) {
		_refuse(d, "gres.malformed", why);
		goto out;
	}
	req.current_gpus = aif_gpus_normalise(&u->job_spec, &now, NULL, 0) ?
		0 : now.total;
	/* The class's ceiling on CPUs per GPU, on the job as it would be. */
	if (u->cpus_change || u->gpus_change) {
		if (!u->gpus_change)
			req.gpus = now;
		req.shape_check = true;
		req.cpus_per_gpu = u->cpus_per_gpu;
		req.cpus_per_task = u->cpus_per_task;
		req.cpus = u->cpus;
		req.partition_shape = u->partition_shape;
		req.current_partition = u->job_partition;
	}
	aif_decide_modify(p, u->job_account, &req, d);
	d->project = NULL;
	d->klass = NULL;
out:
	aif_policy_unref(p);
	return d->verdict;
}

int aif_job_liens_rebuild(const char *const *comments, size_t n,
			  size_t *unreadable)
{
	struct aif_lien *liens = calloc(n ? n : 1, sizeof(*liens));
	size_t nliens = 0;
	aif_amount_t unknown = 0;
	int rc;

	*unreadable = 0;
	if (!liens)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int r = aif_lien_from_tag(comments[i], &liens[nliens]);

		if (!r)
			nliens++;
		else if (r < 0 && aif_tag_find(comments[i]))
			(*unreadable)++;	/* a tag we did not write whole */
	}
	rc = aif_ledger_replace_reserved(aif_service_ledger(), liens, nliens,
					 &unknown);
	free(liens);
	return rc;
}
