/*
 * Admission: what happens to a submission or a modification, from the
 * policy snapshot and the request alone.
 *
 * Pure functions: no I/O, no allocation, no locks, so the job_submit
 * adapter can call them under slurmctld's read locks and many threads can
 * call them at once. Every message names the rule as its policy path
 * (classes.startup.max_time), the numbers, and the cheapest fix.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "aifactory.h"
#include "date.h"
#include "settle.h"
#include "tag.h"
#include "text.h"

#define MAX_LISTED 8	/* projects named in one message */
#define MAX_MEMBERSHIPS 64	/* projects looked through for a default */

/* Append to d->message, keeping it terminated and bounded. */
static void __attribute__((format(printf, 2, 3)))
_say(struct aif_decision *d, const char *fmt, ...)
{
	size_t used = strlen(d->message);
	va_list ap;

	if (used >= sizeof(d->message) - 1)
		return;
	va_start(ap, fmt);
	vsnprintf(d->message + used, sizeof(d->message) - used, fmt, ap);
	va_end(ap);
}

/* Echo a string from the job: printable ASCII only, and bounded. */
static void _say_input(struct aif_decision *d, const char *s)
{
	char safe[AIF_NAME_MAX];
	size_t i;

	for (i = 0; s[i] && i < sizeof(safe) - 1; i++)
		safe[i] = isprint((unsigned char) s[i]) ? s[i] : '?';
	safe[i] = '\0';
	_say(d, "'%s%s'", safe, s[i] ? "..." : "");
}

static void _refuse(struct aif_decision *d, const char *rule)
{
	if (d->verdict != AIF_REFUSE)
		d->rule = rule;	/* the first rule broken is the one reported */
	else
		_say(d, "\n");
	d->verdict = AIF_REFUSE;
	_say(d, "aifactory: ");
}

static bool _in_list(char *const *list, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(list[i], name))
			return true;
	return false;
}

static void _say_list(struct aif_decision *d, char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		_say(d, "%s%s", i ? ", " : "", list[i]);
}

static void _say_projects(struct aif_decision *d,
			  const struct aif_project *const *list, size_t n)
{
	size_t shown = n < MAX_LISTED ? n : MAX_LISTED;

	for (size_t i = 0; i < shown; i++)
		_say(d, "%s%s", i ? ", " : "", list[i]->name);
	if (n > shown)
		_say(d, " and more");
}

static bool _is_open(const struct aif_project *proj, time_t now)
{
	return !(proj->valid_from && now < proj->valid_from) &&
		!(proj->valid_until && now > proj->valid_until);
}

/*
 * Find the project: the one named with -A, or the user's only open one.
 * Returns NULL after refusing.
 */
static const struct aif_project *_resolve(const struct aif_policy *p,
					  const struct aif_request *r,
					  struct aif_decision *d)
{
	const struct aif_project *mine[MAX_LISTED];
	const struct aif_project *proj;
	size_t n;

	if (!r->account || !r->account[0]) {
		/* Only a project open now can be the default. */
		const struct aif_project *all[MAX_MEMBERSHIPS];
		const struct aif_project *open[MAX_LISTED];
		size_t nopen = 0;

		n = aif_policy_projects_of(p, r->uid, r->gids, r->ngids, all,
					   MAX_MEMBERSHIPS);
		for (size_t i = 0; i < n && i < MAX_MEMBERSHIPS; i++) {
			if (i < MAX_LISTED)
				mine[i] = all[i];
			if (_is_open(all[i], r->now) && nopen++ < MAX_LISTED)
				open[nopen - 1] = all[i];
		}
		if (n > MAX_MEMBERSHIPS)
			nopen = 2;	/* too many to choose from: ask */
		if (nopen == 1) {
			aif_copy(d->account, sizeof(d->account), open[0]->name);
			return open[0];
		}
		if (nopen > 1) {
			_refuse(d, "project.ambiguous");
			_say(d, "you are a member of several projects (");
			_say_projects(d, n > MAX_MEMBERSHIPS ? mine : open,
				      n > MAX_MEMBERSHIPS ? n : nopen);
			_say(d, "). Choose one with -A <project>.");
		} else if (n) {
			_refuse(d, "project.none");
			_say(d, "none of your projects (");
			_say_projects(d, mine, n);
			_say(d, ") is open now. Ask your centre to extend one.");
		} else {
			_refuse(d, "project.none");
			_say(d, "you are not a member of any project, so this "
			     "job cannot be charged anywhere. Ask your centre "
			     "to add you to a project, then submit with "
			     "-A <project>.");
		}
		return NULL;
	}

	proj = aif_policy_project(p, r->account);
	if (!proj || !aif_project_has_member(proj, r->uid, r->gids, r->ngids)) {
		/* Only now is the user's list of projects worth finding. */
		n = aif_policy_projects_of(p, r->uid, r->gids, r->ngids, mine,
					   MAX_LISTED);
		_refuse(d, proj ? "project.member" : "project.unknown");
		if (proj) {
			_say(d, "you are not a member of project %s.",
			     proj->name);
		} else {
			_say(d, "project ");
			_say_input(d, r->account);
			_say(d, " does not exist.");
		}
		if (n) {
			_say(d, " Your projects: ");
			_say_projects(d, mine, n);
			_say(d, "; submit with -A <project>.");
		} else {
			_say(d, " You are not a member of any project; ask "
			     "your centre to add you to one.");
		}
		return NULL;
	}
	return proj;
}

static void _check_window(const struct aif_project *proj,
			  const struct aif_request *r, struct aif_decision *d)
{
	char day[32];

	if (proj->valid_from && r->now < proj->valid_from) {
		aif_date_user(proj->valid_from, day, sizeof(day));
		_refuse(d, "project.valid_from");
		_say(d, "project %s starts on %s UTC "
		     "(projects.%s.valid_from); submit again from then.",
		     proj->name, day, proj->name);
	} else if (proj->valid_until && r->now > proj->valid_until) {
		aif_date_user(proj->valid_until, day, sizeof(day));
		_refuse(d, "project.valid_until");
		_say(d, "project %s ended on %s (projects.%s.valid_until). "
		     "Ask your centre to extend it, or use another project.",
		     proj->name, day, proj->name);
	}
}

/* Every partition of a comma list must be allowed. */
static void _check_partitions(const struct aif_project *proj,
			      const char *list, struct aif_decision *d)
{
	const struct aif_class *c = proj->klass;
	char part[AIF_NAME_MAX];
	const char *s = list;

	if (!c->npartitions)
		return;
	while (*s) {
		size_t len = strcspn(s, ",");
		size_t keep = len < sizeof(part) ? len : sizeof(part) - 1;

		memcpy(part, s, keep);
		part[keep] = '\0';
		if (len >= sizeof(part) ||
		    !_in_list(c->partitions, c->npartitions, part)) {
			_refuse(d, "class.partitions");
			_say(d, "project %s (class %s) may use partition%s ",
			     proj->name, c->name,
			     c->npartitions > 1 ? "s" : "");
			_say_list(d, c->partitions, c->npartitions);
			_say(d, ", not ");
			_say_input(d, part);
			_say(d, " (classes.%s.partitions). Use -p %s.",
			     c->name, c->default_partition[0] ?
			     c->default_partition : c->partitions[0]);
			return;
		}
		s += len;
		if (*s)
			s++;
	}
}

static void _check_gpus(const struct aif_project *proj,
			const struct aif_gpus *g, struct aif_decision *d)
{
	const struct aif_class *c = proj->klass;

	if (c->require_gpus && !g->total) {
		_refuse(d, "class.require_gpus");
		_say(d, "project %s (class %s) runs GPU jobs only and this "
		     "job asks for no GPU (classes.%s.require_gpus). Add "
		     "--gpus=N or --gres=gpu:N.", proj->name, c->name,
		     c->name);
	}
	if (c->max_gpus_per_job != AIF_UNLIMITED &&
	    g->total > c->max_gpus_per_job) {
		_refuse(d, "class.max_gpus_per_job");
		_say(d, "project %s (class %s) allows at most %u GPUs per "
		     "job and this job asks for %llu "
		     "(classes.%s.max_gpus_per_job). Ask for %u or fewer.",
		     proj->name, c->name, c->max_gpus_per_job,
		     (unsigned long long) g->total, c->name,
		     c->max_gpus_per_job);
	}
	if (c->max_gpus_per_node != AIF_UNLIMITED &&
	    g->per_node > c->max_gpus_per_node) {
		_refuse(d, "class.max_gpus_per_node");
		_say(d, "project %s (class %s) allows at most %u GPUs per "
		     "node and this job asks for %llu per node "
		     "(classes.%s.max_gpus_per_node). Use "
		     "--gpus-per-node=%u.", proj->name, c->name,
		     c->max_gpus_per_node, (unsigned long long) g->per_node,
		     c->name, c->max_gpus_per_node);
	}
	if (!c->ngpu_types)
		return;
	for (unsigned i = 0; i < g->ntypes; i++) {
		const char *type = g->by_type[i].type;

		if (!type[0] || _in_list(c->gpu_types, c->ngpu_types, type))
			continue;
		_refuse(d, "class.gpu_types");
		_say(d, "project %s (class %s) may use GPU type%s ",
		     proj->name, c->name, c->ngpu_types > 1 ? "s" : "");
		_say_list(d, c->gpu_types, c->ngpu_types);
		_say(d, ", not %s (classes.%s.gpu_types). Use "
		     "--gres=gpu:%s:N.", type, c->name, c->gpu_types[0]);
		return;
	}
}

static void _check_shape(const struct aif_project *proj,
			 const struct aif_request *r, struct aif_decision *d)
{
	const struct aif_class *c = proj->klass;
	uint32_t nodes = r->nodes ? r->nodes : 1;

	if (c->max_nodes_per_job != AIF_UNLIMITED &&
	    nodes > c->max_nodes_per_job) {
		_refuse(d, "class.max_nodes_per_job");
		_say(d, "project %s (class %s) allows at most %u node%s per "
		     "job and this job asks for %u "
		     "(classes.%s.max_nodes_per_job). Use -N %u.",
		     proj->name, c->name, c->max_nodes_per_job,
		     c->max_nodes_per_job == 1 ? "" : "s", nodes, c->name,
		     c->max_nodes_per_job);
	}
	if (c->max_time != AIF_UNLIMITED && r->time_limit &&
	    r->time_limit > c->max_time) {
		char want[32], max[32];

		aif_format_minutes(r->time_limit, want, sizeof(want));
		aif_format_minutes(c->max_time, max, sizeof(max));
		_refuse(d, "class.max_time");
		_say(d, "project %s (class %s) allows at most %s per job and "
		     "this job asks for %s (classes.%s.max_time). Use -t %s "
		     "or less.", proj->name, c->name, max, want, c->name,
		     max);
	}
	if (r->partition && r->partition[0])
		_check_partitions(proj, r->partition, d);
	if (r->qos && r->qos[0] &&
	    !_in_list(c->allowed_qos, c->nallowed_qos, r->qos)) {
		_refuse(d, "class.allowed_qos");
		_say(d, "project %s (class %s) may not use QOS ",
		     proj->name, c->name);
		_say_input(d, r->qos);
		_say(d, " (classes.%s.allowed_qos). ", c->name);
		if (c->nallowed_qos) {
			_say(d, "Use one of: ");
			_say_list(d, c->allowed_qos, c->nallowed_qos);
			_say(d, ", or leave --qos out.");
		} else {
			_say(d, "Leave --qos out.");
		}
	}
	if (!r->gpus_unchanged)
		_check_gpus(proj, &r->gpus, d);
}

/* Whether partition has every GPU type the job names (unknown: yes). */
static bool _has_types(const struct aif_request *r, const char *partition)
{
	for (unsigned i = 0; i < r->gpus.ntypes; i++)
		if (r->gpus.by_type[i].type[0] &&
		    !r->partition_has_type(partition, r->gpus.by_type[i].type,
					   r->partition_arg))
			return false;
	return true;
}

/*
 * The class's partition for a job that names none: its default, unless
 * the job asks for a GPU type the default's nodes do not have and
 * another partition of the class has it (issue 12: an h100 job was sent
 * to a100 and SLURM refused it as "Requested node configuration is not
 * available").
 */
static const char *_partition_for(const struct aif_class *c,
				  const struct aif_request *r)
{
	if (!r->partition_has_type || !r->gpus.ntypes ||
	    _has_types(r, c->default_partition))
		return c->default_partition;
	for (size_t i = 0; i < c->npartitions; i++)
		if (_has_types(r, c->partitions[i]))
			return c->partitions[i];
	return c->default_partition;
}

static void _begin(struct aif_decision *d)
{
	memset(d, 0, sizeof(*d));
	d->verdict = AIF_ACCEPT;
	d->rule = "accept";
}

enum aif_verdict aif_decide(const struct aif_policy *p,
			    const struct aif_request *r,
			    struct aif_decision *d)
{
	const struct aif_project *proj;
	const struct aif_class *c;

	_begin(d);
	if (!(proj = _resolve(p, r, d)))
		return d->verdict;
	c = proj->klass;
	d->project = proj;
	d->klass = c;

	_check_window(proj, r, d);
	_check_shape(proj, r, d);
	if (d->verdict == AIF_REFUSE)
		return d->verdict;

	/* Fill in what the job left out with the class's defaults. */
	if ((!r->partition || !r->partition[0]) && c->default_partition[0])
		aif_copy(d->partition, sizeof(d->partition),
			 _partition_for(c, r));
	if ((!r->qos || !r->qos[0]) && c->qos[0])
		aif_copy(d->qos, sizeof(d->qos), c->qos);
	if (!r->time_limit && c->default_time != AIF_UNLIMITED)
		d->time_limit = c->default_time;
	aif_shape(c, r, d->partition[0] ? d->partition : r->partition, d);
	if (d->verdict == AIF_REFUSE)
		return d->verdict;
	if (d->account[0] || d->partition[0] || d->qos[0] || d->time_limit ||
	    d->cpus_per_gpu || d->mem_per_gpu || d->bind[0]) {
		d->verdict = AIF_RESHAPE;
		d->rule = "reshape";
	}
	if (aif_tag_format(proj, d->tag, sizeof(d->tag))) {
		/* Never with names of AIF_NAME_MAX (see aifactory.h): a tag is
		 * refused whole rather than cut. */
		_refuse(d, "tag.too_long");
		_say(d, "the admission tag of project %s does not fit in %d bytes. Please contact your centre.",
		     proj->name, AIF_TAG_MAX);
	}
	return d->verdict;
}

/*
 * A metered job's QOS change: its lien was priced at submit, at the rates
 * of its QOS then, and those rates are charged when it ends. The new QOS
 * must price every GPU type of the lien the same; a job that holds no
 * lien (admitted into the fallback QOS) stays where it is.
 */
static void _check_qos_rate(const struct aif_policy *p,
			    const struct aif_project *proj,
			    const struct aif_request *r, struct aif_decision *d)
{
	const struct aif_class *c = proj->klass;
	/* "" asks SLURM for the default QOS: the class's, as at submit. */
	const char *qos = r->qos[0] ? r->qos : c->qos[0] ? c->qos : NULL;
	struct aif_lien lien;
	int has = aif_lien_from_tag(r->current_tag, &lien);

	if (has == 1 && (r->current_gpus || (c->fallback_qos[0] &&
	    r->current_qos && !strcasecmp(r->current_qos, c->fallback_qos)))) {
		_refuse(d, "budget.no_lien");
		_say(d, "project %s (class %s) runs on a GPU-hour budget and "
		     "this job was admitted into QOS %s with nothing reserved, "
		     "because its grants were short: it cannot leave that "
		     "QOS. Cancel it and submit it again when the project has "
		     "GPU-hours left, or ask your centre.", proj->name, c->name,
		     r->current_qos ? r->current_qos : "?");
		return;
	}
	if (has != 0)
		return;
	for (size_t i = 0; i < lien.nuses; i++) {
		double rate = aif_policy_rate(p, lien.uses[i].type, qos);
		int64_t milli;

		if (rate >= 0 && !aif_weight_milli(rate, &milli) &&
		    milli == lien.uses[i].weight_milli)
			continue;
		_refuse(d, "budget.qos_rate");
		_say(d, "project %s (class %s) runs on a GPU-hour budget and "
		     "QOS %s changes this job's rate for %s GPUs from %g to ",
		     proj->name, c->name, qos ? qos : "(none)",
		     lien.uses[i].type[0] ? lien.uses[i].type : "untyped",
		     lien.uses[i].weight_milli / 1000.0);
		if (rate < 0)
			_say(d, "unknown");
		else
			_say(d, "%g", rate);
		_say(d, " GPU-hours per GPU-hour, while its lien was priced at "
		     "submit. Cancel it and submit it again with --qos=");
		_say(d, "%s.", qos ? qos : "<qos>");
		return;
	}
}

enum aif_verdict aif_decide_modify(const struct aif_policy *p,
				   const char *job_account,
				   const struct aif_request *r,
				   struct aif_decision *d)
{
	const struct aif_project *proj;

	_begin(d);
	proj = job_account ? aif_policy_project(p, job_account) : NULL;
	if (!proj) {
		/* Not ours to judge, but not a way into a project either. */
		if (r->account && r->account[0] &&
		    aif_policy_project(p, r->account)) {
			_refuse(d, "project.move");
			_say(d, "a job cannot move into project ");
			_say_input(d, r->account);
			_say(d, ". Submit it again with -A <project>.");
		}
		return d->verdict;
	}
	d->project = proj;
	d->klass = proj->klass;

	if (r->account && r->account[0] && strcasecmp(r->account, proj->name)) {
		_refuse(d, "project.move");
		_say(d, "a job cannot move from project %s to ", proj->name);
		_say_input(d, r->account);
		_say(d, ". Cancel it and submit again with -A <project>.");
	}
	_check_shape(proj, r, d);
	if (r->shape_check && d->verdict != AIF_REFUSE)
		aif_shape_check(proj->klass, r, r->partition ? r->partition :
				r->current_partition, d);
	/* After _check_shape: the QOS is then one the class allows. */
	if (proj->klass->metered && r->qos && d->verdict != AIF_REFUSE &&
	    (!r->current_qos || strcasecmp(r->qos, r->current_qos)))
		_check_qos_rate(p, proj, r, d);
	/* A budgeted job's lien was taken for its size at submit. */
	if (proj->klass->metered &&
	    ((r->time_limit && r->current_time_limit &&
	      r->time_limit > r->current_time_limit) ||
	     (!r->gpus_unchanged && r->current_gpus &&
	      r->gpus.total > r->current_gpus))) {
		_refuse(d, "budget.grow");
		_say(d, "project %s (class %s) runs on a GPU-hour budget: a "
		     "job cannot grow after it was submitted. Cancel it and "
		     "submit it again with the new size.", proj->name,
		     proj->klass->name);
	}
	return d->verdict;
}
