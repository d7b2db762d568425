/*
 * job_submit/aifactory: admission by project class.
 *
 * A thin adapter: it translates job_desc_msg_t into the policy library's
 * request, asks aif_admit() (the admission aifctl explain runs too), and
 * writes the decision back (account,
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
#include "src/common/assoc_mgr.h"
#include "src/common/read_config.h"
#include "src/common/xmalloc.h"
#include "src/common/xstring.h"
#include "src/slurmctld/slurmctld.h"

#include "admit.h"
#include "aifactory.h"
#include "tag.h"
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

/* One line for the log: a refusal may list several rules, and may echo
 * what a job named (printable ASCII only). */
static void _log_refusal(const char *what, uint32_t id, const char *msg)
{
	char line[AIF_MSG_MAX];

	snprintf(line, sizeof(line), "%s", msg);
	for (char *c = line; *c; c++)
		if (*c == '\n')
			*c = ' ';
		else if (*c < 0x20 || *c > 0x7e)
			*c = '?';
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

/* A uint16_t field of an update, or of the job when the update has none. */
static uint32_t _pick16(uint16_t changed, uint16_t current)
{
	return _val16(changed != NO_VAL16 ? changed : current);
}

static const char *_pick(const char *changed, const char *current)
{
	return changed ? changed : current;
}

/*
 * The job's GPU request with every field the normaliser takes: desc's
 * (a submission, or the fields an update sends) over job's (as it stands;
 * NULL at submit). desc NULL: the job as it stands. The one place a GPU
 * request is built, so that submit, an update and the job's current size
 * are counted alike.
 */
static void _gpu_spec(const job_desc_msg_t *desc, job_record_t *job,
		      struct aif_gpu_spec *spec)
{
	static const job_desc_msg_t none = {
		.min_nodes = NO_VAL, .max_nodes = NO_VAL, .num_tasks = NO_VAL,
		.ntasks_per_node = NO_VAL16, .sockets_per_node = NO_VAL16,
		.ntasks_per_tres = NO_VAL16,
	};
	struct job_details *det = job ? job->details : NULL;
	multi_core_data_t *mc = det ? det->mc_ptr : NULL;
	bool nodes_given;

	if (!desc)
		desc = &none;
	nodes_given = desc->min_nodes != NO_VAL || desc->max_nodes != NO_VAL;
	memset(spec, 0, sizeof(*spec));
	spec->tres_per_job = _pick(desc->tres_per_job,
				   job ? job->tres_per_job : NULL);
	spec->tres_per_node = _pick(desc->tres_per_node,
				    job ? job->tres_per_node : NULL);
	spec->tres_per_task = _pick(desc->tres_per_task,
				    job ? job->tres_per_task : NULL);
	spec->tres_per_socket = _pick(desc->tres_per_socket,
				      job ? job->tres_per_socket : NULL);
	spec->nodes = nodes_given || !det ?
		_nodes(desc->min_nodes, desc->max_nodes) :
		_nodes(det->min_nodes, det->max_nodes);
	spec->ntasks = desc->num_tasks != NO_VAL || !det ?
		_val32(desc->num_tasks) : _val32(det->num_tasks);
	spec->ntasks_per_node = _pick16(desc->ntasks_per_node,
					det ? det->ntasks_per_node : NO_VAL16);
	spec->sockets_per_node = _pick16(desc->sockets_per_node,
					 mc ? mc->sockets_per_node : NO_VAL16);
	spec->ntasks_per_gpu = _pick16(desc->ntasks_per_tres,
				       det ? det->ntasks_per_tres : NO_VAL16);
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
		.time_limit = _minutes(job_desc->time_limit),
		.array = job_desc->array_inx && job_desc->array_inx[0],
		.now = time(NULL),
	};
	struct aif_decision d;
	struct aif_policy *p;
	int rc = SLURM_SUCCESS;

	/* Jobs of root and SlurmUser (health checks, maintenance) pass. */
	if (job_desc->user_id == 0 ||
	    job_desc->user_id == slurm_conf.slurm_user_id)
		return SLURM_SUCCESS;

	if (!(p = aif_service_policy()))
		return _refuse("policy.none",
			       "aifactory: no valid AI Factory policy is loaded, so no job can be admitted. Please contact your centre.",
			       submit_uid, err_msg);

	_gpu_spec(job_desc, NULL, &spec);
	req.nodes = spec.nodes;
	aif_admit(p, aif_service_ledger(), &spec, &req, 0, &d);
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

/* The job's GPUs in total as it stands (0 when they cannot be read). */
static uint64_t _current_gpus(job_record_t *job_ptr)
{
	struct aif_gpu_spec spec;
	struct aif_gpus gpus;

	_gpu_spec(NULL, job_ptr, &spec);
	return aif_gpus_normalise(&spec, &gpus, NULL, 0) ? 0 : gpus.total;
}

/* A refusal of an update: logged (22.05's scontrol shows only SLURM's
 * error string), and SLURM's error code for the rule. */
static int _refuse_update(job_record_t *job_ptr, const char *rule,
			  const char *msg)
{
	_log_refusal("an update of job", job_ptr->job_id, msg);
	return _errno_of(rule);
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
 * An operator moving a job to another project: applied whole or refused.
 * SLURM must have the association that lets it apply the account, and
 * the job's lien must fit in the new project (aif_admit_move: operators
 * may take a job past its class, but not past a budget); then the new tag
 * goes in with the account and the old lien is given back. Only SLURM's
 * administrators may set AdminComment, which carries the tag.
 */
static int _move(const struct aif_policy *p, job_desc_msg_t *job_desc,
		 job_record_t *job_ptr, uint32_t submit_uid)
{
	const char *to = job_desc->account;
	const struct aif_project *from_proj = job_ptr->account ?
		aif_policy_project(p, job_ptr->account) : NULL;
	const struct aif_project *to_proj = aif_policy_project(p, to);
	struct aif_gpu_spec spec;
	struct aif_request req = {
		.account = to,
		.partition = _pick(job_desc->partition, job_ptr->partition),
		.qos = _pick(job_desc->qos, job_ptr->qos_ptr ?
			     job_ptr->qos_ptr->name : NULL),
		.uid = job_ptr->user_id,
		.time_limit = _minutes(job_desc->time_limit != NO_VAL ?
				       job_desc->time_limit :
				       job_ptr->time_limit),
		.now = time(NULL),
	};
	struct aif_decision d;
	struct aif_lien old;
	char msg[AIF_MSG_MAX], user[AIF_NAME_MAX], why[AIF_ERR_MAX];

	/* Not ours: neither account is a project, or the job is root's or
	 * SlurmUser's (never judged, as at submit). */
	if ((!from_proj && !to_proj) || job_ptr->user_id == 0 ||
	    job_ptr->user_id == slurm_conf.slurm_user_id)
		return SLURM_SUCCESS;
	/* SLURM moves pending jobs only (before AdminComment): nothing to
	 * reserve or give back for a move it refuses anyway. */
	if (!IS_JOB_PENDING(job_ptr))
		return ESLURM_JOB_NOT_PENDING;
	if (!validate_super_user(submit_uid))
		return _refuse_update(job_ptr, "operator.admin",
				      "aifactory: only SLURM's administrators (root, SlurmUser, AdminLevel=Admin) can move a job between projects: its project is in AdminComment, which only they may set.");
	if (!to_proj) {
		snprintf(msg, sizeof(msg), "aifactory: account %.64s is not a project of the policy: a job of project %s cannot move there. Cancel it and submit it again.",
			 to, from_proj->name);
		return _refuse_update(job_ptr, "project.unknown", msg);
	}
	if (!_has_association(job_ptr, to, job_desc->partition)) {
		/* No NSS under the locks: SLURM's name, else the policy's. */
		const char *name = job_ptr->user_name ? job_ptr->user_name :
			aif_policy_user_name(p, job_ptr->user_id);

		snprintf(user, sizeof(user), "%s", name ? name : "");
		if (!user[0])
			snprintf(user, sizeof(user), "%u", job_ptr->user_id);
		snprintf(msg, sizeof(msg), "aifactory: user %s has no association with account %s in SLURM's database, so SLURM would keep the job in account %.64s. Add one (sacctmgr add user %s account=%s), then move the job.",
			 user, to_proj->name,
			 job_ptr->account ? job_ptr->account : "?", user,
			 to_proj->name);
		return _refuse_update(job_ptr, "project.", msg);
	}

	_gpu_spec(job_desc, job_ptr, &spec);
	req.nodes = spec.nodes;
	if (aif_gpus_normalise(&spec, &req.gpus, why, sizeof(why)))
		return _refuse_update(job_ptr, "gres.malformed", why);
	aif_admit_move(p, aif_service_ledger(), to_proj, &req, &d);
	if (d.verdict == AIF_REFUSE)
		return _refuse_update(job_ptr, d.rule, d.message);
	if (!strcmp(d.rule, "budget.fallback") &&
	    (!job_desc->qos || strcasecmp(job_desc->qos, d.qos))) {
		/* Nothing was reserved: only into the fallback QOS, by name. */
		snprintf(msg, sizeof(msg), "aifactory: project %s has not enough GPU-hours left for this job: move it with QOS=%s as well, or add to its grants.",
			 to_proj->name, d.qos);
		return _refuse_update(job_ptr, "budget.short", msg);
	}
	if (aif_lien_from_tag(job_ptr->admin_comment, &old) == 0 &&
	    aif_ledger_release(aif_service_ledger(), &old, NULL))
		error("%s: JobId=%u: its lien in project %s could not be released: %m",
		      plugin_type, job_ptr->job_id, old.project);
	if (!job_desc->admin_comment)
		job_desc->admin_comment = xstrdup(job_ptr->admin_comment);
	_set_tag(&job_desc->admin_comment, d.tag);
	info("%s: JobId=%u moves from account %s to project %s: %s",
	     plugin_type, job_ptr->job_id,
	     job_ptr->account ? job_ptr->account : "?", to_proj->name, d.tag);
	return SLURM_SUCCESS;
}

/*
 * A user may change a job within its class; only operators may move it
 * to another project or past the class's limits. The library judges the
 * job as it would be: GPU counts from the whole request (every field the
 * normaliser takes, the job's own where the update sends none), and a
 * QOS change against the rates frozen in the job's lien. With no policy
 * loaded, users' changes are refused (closed, as submit).
 */
extern int job_modify(job_desc_msg_t *job_desc, job_record_t *job_ptr,
		      uint32_t submit_uid)
{
	bool nodes_change = job_desc->min_nodes != NO_VAL ||
		job_desc->max_nodes != NO_VAL;
	bool gpus_change = job_desc->tres_per_job || job_desc->tres_per_node ||
		job_desc->tres_per_task || job_desc->tres_per_socket ||
		nodes_change || job_desc->num_tasks != NO_VAL ||
		job_desc->ntasks_per_node != NO_VAL16 ||
		job_desc->sockets_per_node != NO_VAL16 ||
		job_desc->ntasks_per_tres != NO_VAL16;
	struct aif_gpu_spec spec;
	struct aif_request req = {
		.account = job_desc->account,
		.partition = job_desc->partition,
		.qos = job_desc->qos,
		.uid = job_ptr->user_id,
		.time_limit = _minutes(job_desc->time_limit),
		.gpus_unchanged = !gpus_change,
		.now = time(NULL),
	};
	struct aif_decision d;
	struct aif_policy *p = aif_service_policy();
	char why[AIF_ERR_MAX];
	int rc = SLURM_SUCCESS;

	if (_is_operator(p, submit_uid)) {
		if (p && job_desc->account && (!job_ptr->account ||
		    strcasecmp(job_desc->account, job_ptr->account)))
			rc = _move(p, job_desc, job_ptr, submit_uid);
		goto out;
	}
	if (!p) {
		_log_refusal("an update of job", job_ptr->job_id,
			     "no valid AI Factory policy is loaded");
		rc = ESLURM_ACCESS_DENIED;
		goto out;
	}
	_gpu_spec(job_desc, job_ptr, &spec);
	req.nodes = nodes_change ? spec.nodes : 0;
	if (gpus_change &&
	    aif_gpus_normalise(&spec, &req.gpus, why, sizeof(why))) {
		_log_refusal("an update of job", job_ptr->job_id, why);
		rc = ESLURM_INVALID_GRES;
		goto out;
	}
	req.current_time_limit = _minutes(job_ptr->time_limit);
	req.current_gpus = _current_gpus(job_ptr);
	req.current_qos = job_ptr->qos_ptr ? job_ptr->qos_ptr->name : NULL;
	req.current_tag = job_ptr->admin_comment;
	if (aif_decide_modify(p, job_ptr->account, &req, &d) == AIF_REFUSE)
		rc = _refuse_update(job_ptr, d.rule, d.message);
out:
	aif_policy_unref(p);
	return rc;
}
