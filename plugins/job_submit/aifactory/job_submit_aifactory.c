/*
 * job_submit/aifactory: admission by project class.
 *
 * A thin adapter: it translates job_desc_msg_t into the policy library's
 * request (plugins/common), makes one library call per event
 * (aif_job_submit, aif_job_modify: the admission aifctl explain runs too),
 * and writes the decision back (account, partition, QOS, time limit, the
 * tag in admin_comment) or refuses with the library's message. No policy
 * lives here.
 *
 * job_submit and job_modify run under slurmctld's locks (and, from 23.02,
 * concurrently), so they do no I/O and never wait: the policy is an
 * immutable snapshot held by the library's service (common/service.h),
 * reloaded on its own thread whenever slurmctld re-reads its configuration
 * (job_submit gets no call of its own then). A policy that fails to load
 * is logged with file, line and reason and the last good one stays.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "slurm/slurm_errno.h"
/* First: it renames what the others declare to libslurm's exports. */
#include "src/common/slurm_xlator.h"
#include "src/common/assoc_mgr.h"
#include "src/common/read_config.h"
#include "src/common/xmalloc.h"
#include "src/common/xstring.h"
#include "src/slurmctld/slurmctld.h"

#include "aifactory.h"
#include "events.h"
#include "tag.h"
#include "aif_slurm.h"

const char plugin_name[] = "AI Factory admission by project class";
const char plugin_type[] = "job_submit/aifactory";
const uint32_t plugin_version = SLURM_VERSION_NUMBER;

/* The plugin interface (job_submit.c calls these through dlsym). */
extern int init(void);
extern int fini(void);
extern int job_submit(job_desc_msg_t *job_desc, uint32_t submit_uid,
		      char **err_msg);
/* From 23.02 an update's refusal has a message for the user, as a
 * submission's has. */
#if AIF_SLURM_AT_LEAST(23, 2)
#define AIF_MODIFY_ERR_MSG , char **err_msg
#else
#define AIF_MODIFY_ERR_MSG
#endif
extern int job_modify(job_desc_msg_t *job_desc, job_record_t *job_ptr,
		      uint32_t submit_uid AIF_MODIFY_ERR_MSG);

extern int init(void)
{
	return aif_slurm_start(plugin_type, 0);
}

extern int fini(void)
{
	aif_slurm_stop(0);
	return SLURM_SUCCESS;
}

/* The refusal's message, for sbatch or scontrol to print. */
static void _tell_user(char **err_msg, const char *message)
{
	if (!err_msg)
		return;
	xfree(*err_msg);
	*err_msg = xstrdup(message);
}

/* Put the tag into admin_comment after the operator's note, if any,
 * replacing an earlier tag of ours. */
static void _set_tag(char **comment, const char *tag)
{
	char *old = *comment;
	size_t note = aif_tag_note_len(old);

	*comment = note ? xstrdup_printf("%.*s;%s", (int) note, old, tag) :
			  xstrdup(tag);
	xfree(old);
}

static void _set_str(char **field, const char *value)
{
	if (!value[0])
		return;
	xfree(*field);
	*field = xstrdup(value);
}

/*
 * Admission: decide, take the lien, record the decision, and write the
 * decision back into the job. A heterogeneous job reaches us once per
 * component: each is judged on its own, so per-job limits apply per
 * component.
 */
extern int job_submit(job_desc_msg_t *job_desc, uint32_t submit_uid,
		      char **err_msg)
{
	struct aif_gpu_spec spec;
	gid_t gid = job_desc->group_id;
	struct aif_request req = {
		.account = job_desc->account,
		.partition = job_desc->partition,
		.qos = job_desc->qos,
		.uid = job_desc->user_id,
		.gids = &gid,
		.ngids = 1,
		.time_limit = aif_slurm_minutes(job_desc->time_limit),
		.array = job_desc->array_inx && job_desc->array_inx[0],
		.now = time(NULL),
	};
	struct aif_decision d;

	/* Jobs of root and SlurmUser (health checks, maintenance) pass. */
	if (job_desc->user_id == 0 ||
	    job_desc->user_id == slurm_conf.slurm_user_id)
		return SLURM_SUCCESS;

	aif_slurm_gpu_spec(job_desc, NULL, &spec);
	aif_slurm_shape_request(job_desc, &req);
	if (aif_job_submit(&req, &spec, &d) == AIF_REFUSE) {
		aif_slurm_log_refusal(0, job_desc->user_id, NULL, d.message);
		_tell_user(err_msg, d.message);
		return aif_slurm_errno(d.rule);
	}
	_set_str(&job_desc->account, d.account);
	_set_str(&job_desc->partition, d.partition);
	_set_str(&job_desc->qos, d.qos);
	if (d.time_limit)
		job_desc->time_limit = d.time_limit;
	_set_tag(&job_desc->admin_comment, d.tag);
	aif_slurm_shape_apply(job_desc, &d);
	debug("%s: uid %u: %s (%s)", plugin_type, job_desc->user_id, d.tag,
	      d.rule);
	return SLURM_SUCCESS;
}

/*
 * SLURM moves a job to another account only when the job's user has an
 * association with it: without AccountingStorageEnforce=associations,
 * _update_job (job_mgr.c, _retrieve_new_assoc) silently falls back to
 * the user's default account, or keeps the old one, and still returns 0.
 * Look it up as SLURM will, in assoc_mgr's memory under its assoc read
 * lock (job_modify holds slurmctld's locks but none of assoc_mgr's, as
 * _update_job does at the same point), for each partition of the job.
 */
static bool _has_association(job_record_t *job_ptr, const char *account,
			     const char *new_partition)
{
	assoc_mgr_lock_t locks = { .assoc = READ_LOCK };
	char part[AIF_NAME_MAX];
	bool found = true;

	assoc_mgr_lock(&locks);
	for (const char *s = new_partition ? new_partition :
	     job_ptr->partition ? job_ptr->partition : ""; found;) {
		slurmdb_assoc_rec_t rec = { 0 }, *assoc = NULL;
		size_t len = strcspn(s, ",");

		snprintf(part, sizeof(part), "%.*s", (int) len, s);
		rec.acct = (char *) account;
		rec.uid = job_ptr->user_id;
		rec.partition = part[0] ? part : NULL;
		found = !assoc_mgr_fill_in_assoc(acct_db_conn, &rec,
						 accounting_enforce, &assoc,
						 true) &&
			assoc && assoc->acct &&
			!strcasecmp(assoc->acct, account);
		s += len;
		if (!*s++)
			break;
	}
	assoc_mgr_unlock(&locks);
	return found;
}

/*
 * A user may change a job within its class; only operators may move it
 * to another project or past the class's limits (aif_job_modify). The
 * job is judged as it would be: GPU counts from the whole request (every
 * field the normaliser takes, the job's own where the update sends
 * none). An administrator's move of a pending job to another project
 * gets the new tag; only they may set AdminComment, which carries it.
 */
extern int job_modify(job_desc_msg_t *job_desc, job_record_t *job_ptr,
		      uint32_t submit_uid AIF_MODIFY_ERR_MSG)
{
	bool nodes_change = job_desc->min_nodes != NO_VAL ||
		job_desc->max_nodes != NO_VAL;
	bool moves = job_desc->account && (!job_ptr->account ||
		strcasecmp(job_desc->account, job_ptr->account));
	struct aif_update u = {
		.by = submit_uid,
		.by_operator = validate_operator(submit_uid),
		.by_admin = validate_super_user(submit_uid),
		.account = job_desc->account,
		.partition = job_desc->partition,
		.qos = job_desc->qos,
		.time_limit = aif_slurm_minutes(job_desc->time_limit),
		.nodes_change = nodes_change,
		.gpus_change = job_desc->tres_per_job ||
			job_desc->tres_per_node || job_desc->tres_per_task ||
			job_desc->tres_per_socket || nodes_change ||
			job_desc->num_tasks != NO_VAL ||
			job_desc->ntasks_per_node != NO_VAL16 ||
			job_desc->sockets_per_node != NO_VAL16 ||
			job_desc->ntasks_per_tres != NO_VAL16,
		.uid = job_ptr->user_id,
		.exempt = job_ptr->user_id == 0 ||
			job_ptr->user_id == slurm_conf.slurm_user_id,
		.user_name = job_ptr->user_name,
		.job_account = job_ptr->account,
		.job_partition = job_ptr->partition,
		.job_qos = job_ptr->qos_ptr ? job_ptr->qos_ptr->name : NULL,
		.job_tag = job_ptr->admin_comment,
		.job_time_limit = aif_slurm_minutes(job_ptr->time_limit),
		.pending = IS_JOB_PENDING(job_ptr),
		.now = time(NULL),
	};
	struct aif_decision d;

	/* assoc_mgr's lock, only for what reads it: an administrator's
	 * move of a pending job. */
	if (moves && u.by_admin && u.pending)
		u.has_association = _has_association(job_ptr, job_desc->account,
						     job_desc->partition);
	aif_slurm_gpu_spec(job_desc, job_ptr, &u.spec);
	aif_slurm_gpu_spec(NULL, job_ptr, &u.job_spec);
	aif_slurm_shape_update(job_desc, job_ptr, &u);
	if (aif_job_modify(&u, &d) == AIF_REFUSE) {
		aif_slurm_log_refusal(job_ptr->job_id, job_ptr->user_id,
				      job_ptr->user_name, d.message);
#if AIF_SLURM_AT_LEAST(23, 2)
		_tell_user(err_msg, d.message);
#endif
		return aif_slurm_errno(d.rule);
	}
	if (!d.tag[0])
		return SLURM_SUCCESS;
	if (d.message[0])
		error("%s: JobId=%u: %s", plugin_type, job_ptr->job_id,
		      d.message);
	if (!job_desc->admin_comment)
		job_desc->admin_comment = xstrdup(job_ptr->admin_comment);
	_set_tag(&job_desc->admin_comment, d.tag);
	info("%s: JobId=%u moves from account %s to project %s: %s",
	     plugin_type, job_ptr->job_id,
	     job_ptr->account ? job_ptr->account : "?", d.account, d.tag);
	return SLURM_SUCCESS;
}
