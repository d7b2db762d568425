/*
 * job_submit/aifactory: admission by project class.
 *
 * A thin adapter: it translates job_desc_msg_t into the policy library's
 * request, asks aif_decide(), and writes the decision back (account,
 * partition, QOS, time limit, the tag in admin_comment) or refuses with
 * the library's message. No policy lives here.
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
#include "src/common/read_config.h"
#include "src/common/xmalloc.h"
#include "src/common/xstring.h"
#include "src/slurmctld/slurmctld.h"

#include "aifactory.h"
#include "../../aif_slurm.h"

const char plugin_name[] = "AI Factory admission by project class";
const char plugin_type[] = "job_submit/aifactory";
const uint32_t plugin_version = SLURM_VERSION_NUMBER;

/* The plugin interface (job_submit.c calls these through dlsym). */
extern int init(void);
extern int fini(void);
extern int job_submit(job_desc_msg_t *job_desc, uint32_t submit_uid,
		      char **err_msg);
extern int job_modify(job_desc_msg_t *job_desc, job_record_t *job_ptr,
		      uint32_t submit_uid);

extern int init(void)
{
	return aif_slurm_service_start();
}

extern int fini(void)
{
	aif_service_stop();
	return SLURM_SUCCESS;
}

/* SLURM's operators (root, SlurmUser, AdminLevel>=Operator) and ours. */
static bool _is_operator(const struct aif_policy *p, uint32_t uid)
{
	return validate_operator(uid) ||
		(p && aif_policy_is_operator(p, uid, NULL, 0));
}

static uint32_t _val32(uint32_t v)
{
	return v == NO_VAL || v == INFINITE ? 0 : v;
}

/* A time limit in minutes: 0 when not given, AIF_UNLIMITED for -t UNLIMITED. */
static uint32_t _minutes(uint32_t v)
{
	return v == NO_VAL ? 0 : v == INFINITE ? AIF_UNLIMITED : v;
}

/* The most nodes a job may get: -N 1-64 may get 64. 0: not given. */
static uint32_t _nodes(uint32_t min_nodes, uint32_t max_nodes)
{
	min_nodes = _val32(min_nodes);
	max_nodes = _val32(max_nodes);
	return max_nodes > min_nodes ? max_nodes : min_nodes;
}

/* One line for the log: a refusal may list several rules. */
static void _log_refusal(const char *what, uint32_t id, const char *msg)
{
	char line[AIF_MSG_MAX];

	snprintf(line, sizeof(line), "%s", msg);
	for (char *c = line; *c; c++)
		if (*c == '\n')
			*c = ' ';
	info("%s: %s %u refused: %s", plugin_type, what, id, line);
}

static uint32_t _val16(uint16_t v)
{
	return v == NO_VAL16 || v == INFINITE16 ? 0 : v;
}

/* SLURM's error code for a refusal, so sbatch's second line fits too. */
static int _errno_of(const char *rule)
{
	static const struct {
		const char *rule;
		int rc;
	} map[] = {
		{ "project.", ESLURM_INVALID_ACCOUNT },
		{ "class.max_time", ESLURM_INVALID_TIME_LIMIT },
		{ "class.max_nodes_per_job", ESLURM_INVALID_NODE_COUNT },
		{ "class.partitions", ESLURM_INVALID_PARTITION_NAME },
		{ "class.allowed_qos", ESLURM_INVALID_QOS },
		{ "class.max_gpus", ESLURM_INVALID_GRES },
		{ "class.gpu_types", ESLURM_INVALID_GRES },
		{ "class.require_gpus", ESLURM_INVALID_GRES },
		{ "gres.", ESLURM_INVALID_GRES },
		{ "budget.", ESLURM_ACCOUNTING_POLICY },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strncmp(rule, map[i].rule, strlen(map[i].rule)))
			return map[i].rc;
	return ESLURM_ACCESS_DENIED;
}

static int _refuse(const char *rule, const char *msg, uint32_t uid,
		   char **err_msg)
{
	_log_refusal("a job of uid", uid, msg);
	if (err_msg) {
		xfree(*err_msg);
		*err_msg = xstrdup(msg);
	}
	return _errno_of(rule);
}

/* Put the tag into admin_comment, replacing an earlier tag of ours. */
static void _set_tag(char **comment, const char *tag)
{
	char *old = *comment, *mark;

	if (!old || !old[0] || !strncmp(old, "aif:", 4)) {
		xfree(*comment);
		*comment = xstrdup(tag);
		return;
	}
	if ((mark = strstr(old, ";aif:")))
		*mark = '\0';
	*comment = xstrdup_printf("%s;%s", old, tag);
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
	struct aif_gpu_spec spec = {
		.tres_per_job = job_desc->tres_per_job,
		.tres_per_node = job_desc->tres_per_node,
		.tres_per_task = job_desc->tres_per_task,
		.tres_per_socket = job_desc->tres_per_socket,
		.nodes = _nodes(job_desc->min_nodes, job_desc->max_nodes),
		.ntasks = _val32(job_desc->num_tasks),
		.ntasks_per_node = _val16(job_desc->ntasks_per_node),
		.sockets_per_node = _val16(job_desc->sockets_per_node),
		.ntasks_per_gpu = _val16(job_desc->ntasks_per_tres),
	};
	gid_t gid = job_desc->group_id;
	struct aif_request req = {
		.account = job_desc->account,
		.partition = job_desc->partition,
		.qos = job_desc->qos,
		.uid = job_desc->user_id,
		.gids = &gid,
		.ngids = 1,
		.time_limit = _minutes(job_desc->time_limit),
		.nodes = spec.nodes,
		.array = job_desc->array_inx && job_desc->array_inx[0],
		.now = time(NULL),
	};
	struct aif_decision d;
	struct aif_policy *p;
	char why[AIF_ERR_MAX], msg[AIF_ERR_MAX + 64];
	int rc = SLURM_SUCCESS;

	/* Jobs of root and SlurmUser (health checks, maintenance) pass. */
	if (job_desc->user_id == 0 ||
	    job_desc->user_id == slurm_conf.slurm_user_id)
		return SLURM_SUCCESS;

	if (!(p = aif_service_policy()))
		return _refuse("policy.none",
			       "aifactory: no valid AI Factory policy is loaded, so no job can be admitted. Please contact your centre.",
			       submit_uid, err_msg);

	if (aif_gpus_normalise(&spec, &req.gpus, why, sizeof(why))) {
		snprintf(msg, sizeof(msg), "aifactory: %s", why);
		rc = _refuse("gres.malformed", msg, submit_uid, err_msg);
		goto out;
	}
	if (aif_decide(p, &req, &d) != AIF_REFUSE)
		aif_lien_admit(aif_service_ledger(), p, &req, &d);
	aif_service_decision(&req, &d, p);
	if (d.verdict == AIF_REFUSE) {
		rc = _refuse(d.rule, d.message, submit_uid, err_msg);
		goto out;
	}

	_set_str(&job_desc->account, d.account);
	_set_str(&job_desc->partition, d.partition);
	_set_str(&job_desc->qos, d.qos);
	if (d.time_limit)
		job_desc->time_limit = d.time_limit;
	_set_tag(&job_desc->admin_comment, d.tag);
	debug("%s: uid %u: %s (%s)", plugin_type, job_desc->user_id, d.tag,
	      d.rule);
out:
	aif_policy_unref(p);
	return rc;
}

/* An operator moving a job to another project moves its tag too. */
static void _retag(const struct aif_policy *p, job_desc_msg_t *job_desc,
		   job_record_t *job_ptr)
{
	const struct aif_project *proj;
	char tag[AIF_TAG_MAX];

	if (!p || !job_desc->account ||
	    !(proj = aif_policy_project(p, job_desc->account)))
		return;
	aif_tag_format(proj, tag, sizeof(tag));
	if (!job_desc->admin_comment)
		job_desc->admin_comment = xstrdup(job_ptr->admin_comment);
	_set_tag(&job_desc->admin_comment, tag);
}

/* The job's GPUs in total as it stands (0 when they cannot be read). */
static uint64_t _current_gpus(job_record_t *job_ptr)
{
	struct job_details *det = job_ptr->details;
	struct aif_gpu_spec spec = {
		.tres_per_job = job_ptr->tres_per_job,
		.tres_per_node = job_ptr->tres_per_node,
		.tres_per_task = job_ptr->tres_per_task,
		.tres_per_socket = job_ptr->tres_per_socket,
		.nodes = det ? _nodes(det->min_nodes, det->max_nodes) : 0,
		.ntasks = det ? _val32(det->num_tasks) : 0,
		.ntasks_per_node = det ? _val16(det->ntasks_per_node) : 0,
		.ntasks_per_gpu = det ? _val16(det->ntasks_per_tres) : 0,
	};
	struct aif_gpus gpus;

	return aif_gpus_normalise(&spec, &gpus, NULL, 0) ? 0 : gpus.total;
}

static const char *_pick(const char *changed, const char *current)
{
	return changed ? changed : current;
}

/*
 * A user may change a job within its class; only operators may move it
 * to another project or past the class's limits. The library judges the
 * fields being changed; GPU counts are judged on the job as it would be.
 * With no policy loaded, users' changes are refused (closed, as submit).
 */
extern int job_modify(job_desc_msg_t *job_desc, job_record_t *job_ptr,
		      uint32_t submit_uid)
{
	struct job_details *det = job_ptr->details;
	bool nodes_change = job_desc->min_nodes != NO_VAL ||
		job_desc->max_nodes != NO_VAL;
	bool gpus_change = job_desc->tres_per_job || job_desc->tres_per_node ||
		job_desc->tres_per_task || job_desc->tres_per_socket ||
		nodes_change || job_desc->num_tasks != NO_VAL;
	struct aif_gpu_spec spec = {
		.tres_per_job = _pick(job_desc->tres_per_job,
				      job_ptr->tres_per_job),
		.tres_per_node = _pick(job_desc->tres_per_node,
				       job_ptr->tres_per_node),
		.tres_per_task = _pick(job_desc->tres_per_task,
				       job_ptr->tres_per_task),
		.tres_per_socket = _pick(job_desc->tres_per_socket,
					 job_ptr->tres_per_socket),
		.nodes = nodes_change ?
			_nodes(job_desc->min_nodes, job_desc->max_nodes) :
			(det ? _nodes(det->min_nodes, det->max_nodes) : 0),
		.ntasks = job_desc->num_tasks != NO_VAL ?
			_val32(job_desc->num_tasks) :
			(det ? _val32(det->num_tasks) : 0),
		.ntasks_per_node = det ? _val16(det->ntasks_per_node) : 0,
		.ntasks_per_gpu = det ? _val16(det->ntasks_per_tres) : 0,
	};
	struct aif_request req = {
		.account = job_desc->account,
		.partition = job_desc->partition,
		.qos = job_desc->qos,
		.uid = job_ptr->user_id,
		.time_limit = _minutes(job_desc->time_limit),
		.nodes = nodes_change ? spec.nodes : 0,
		.gpus_unchanged = !gpus_change,
		.now = time(NULL),
	};
	struct aif_decision d;
	struct aif_policy *p = aif_service_policy();
	char why[AIF_ERR_MAX];
	int rc = SLURM_SUCCESS;

	if (_is_operator(p, submit_uid)) {
		/* SLURM lets only super users set AdminComment. */
		if (validate_super_user(submit_uid))
			_retag(p, job_desc, job_ptr);
		goto out;
	}
	if (!p) {
		_log_refusal("an update of job", job_ptr->job_id,
			     "no valid AI Factory policy is loaded");
		rc = ESLURM_ACCESS_DENIED;
		goto out;
	}
	if (gpus_change &&
	    aif_gpus_normalise(&spec, &req.gpus, why, sizeof(why))) {
		_log_refusal("an update of job", job_ptr->job_id, why);
		rc = ESLURM_INVALID_GRES;
		goto out;
	}
	req.current_time_limit = _minutes(job_ptr->time_limit);
	req.current_gpus = _current_gpus(job_ptr);
	if (aif_decide_modify(p, job_ptr->account, &req, &d) == AIF_REFUSE) {
		_log_refusal("an update of job", job_ptr->job_id, d.message);
		rc = _errno_of(d.rule);
	}
out:
	aif_policy_unref(p);
	return rc;
}
