/*
 * site_factor/aifactory: class shares and budget pacing in SLURM's
 * priority (the SITE column of sprio), under priority/multifactor.
 *
 * A thin adapter (the arithmetic is common/priority.c; the why is
 * docs/priority.md). What SLURM gives it, and when:
 *
 *   update()  every PriorityCalcPeriod, from multifactor's decay thread,
 *             under the job write lock (node and partition read): reads
 *             each class's decayed GPU usage from SLURM's associations
 *             (the accounts of its projects) and the GPUs of its
 *             partitions, builds a ranking, and sets SITE on every pending
 *             job that carries our admission tag.
 *   set(job)  at submit, update, release and resume, under the job write
 *             lock: the same for one job, with its project's pacing now
 *             and the class factors of the last update.
 *   reconfig  no lock: slurm.conf's priority weights and half-life,
 *             cached under our own mutex. SLURM 24.05 dropped the call:
 *             a reconfigure there starts a new slurmctld, so init reads
 *             them.
 *
 * Nothing here does I/O or waits on it: the ledger's lock is held for
 * microseconds, assoc_mgr's read lock for one walk of the associations.
 * Without slurmdbd SLURM never calls update(): SITE is then set at
 * submit, update, release and resume from the pacing alone (no usage is
 * known to share classes by), and init says so in the log.
 *
 * Each update's ranking is handed to the service, which answers
 * `aifctl priority` from it on the balance port.
 *
 * An operator's `scontrol update SiteFactor=N` is honoured: the value
 * the job carries differs from the last one we wrote, so it is written
 * into the job's tag (",site=N", which SLURM saves with the job and
 * accounting keeps in AdminComment) and kept from then on.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slurm/slurm.h"
#include "slurm/slurm_errno.h"
/* First: it renames what the others declare to libslurm's exports. */
#include "src/common/slurm_xlator.h"
#include "src/common/assoc_mgr.h"
#include "src/common/bitstring.h"
#include "src/common/list.h"
#include "src/common/node_conf.h"
#include "src/common/read_config.h"
#include "src/common/slurm_protocol_api.h"
#include "src/common/xmalloc.h"
#include "src/common/xstring.h"
#include "src/slurmctld/slurmctld.h"

#include "priority.h"
#include "tag.h"
#include "aif_slurm.h"

#define LN2 0.69314718055994530942

const char plugin_name[] = "AI Factory class shares and budget pacing";
const char plugin_type[] = "site_factor/aifactory";
const uint32_t plugin_version = SLURM_VERSION_NUMBER;

extern int init(void);
extern int fini(void);
#if !AIF_SLURM_AT_LEAST(24, 5)
extern void site_factor_p_reconfig(void);
#endif
extern void site_factor_p_set(job_record_t *job_ptr);
extern void site_factor_p_update(void);

/* slurm.conf's side, cached by reconfig (no lock is held there). */
static pthread_mutex_t conf_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	uint32_t half_life;	/* PriorityDecayHalfLife, seconds */
	uint64_t weights;	/* the PriorityWeight* values, summed */
	bool say_scale;		/* log the scale again (reconfigured) */
} cached;

/*
 * What update() and set() share. Both run under slurmctld's job write
 * lock, so they never run at once; init and fini run before and after
 * slurmctld calls either.
 */
struct seen {
	uint32_t job_id;	/* 0: empty slot */
	uint32_t site;		/* the site_factor we last wrote */
};

static struct {
	struct aif_ranking *ranking;	/* the last update's */
	struct aif_class_use *uses;	/* its measured classes */
	size_t nuses;
	const struct aif_policy *checked;	/* scale logged for it */
	struct seen *seen;	/* open addressing, by job id */
	size_t cap, count;	/* cap: a power of two */
	int gpu_pos;		/* gres/gpu in the TRES arrays; -2: unknown */
} state = { .gpu_pos = -2 };

/* ------------------------------------------------------------------ */
/* The last value written to each pending job.                          */

static struct seen *_slot(struct seen *table, size_t cap, uint32_t id)
{
	size_t i = (id * 2654435761u) & (cap - 1);

	while (table[i].job_id && table[i].job_id != id)
		i = (i + 1) & (cap - 1);
	return &table[i];
}

static void _remember(uint32_t id, uint32_t site)
{
	struct seen *s;

	if ((state.count + 1) * 2 > state.cap) {
		size_t cap = state.cap ? state.cap * 2 : 1024;
		struct seen *t = xcalloc(cap, sizeof(*t));

		for (size_t i = 0; i < state.cap; i++)
			if (state.seen[i].job_id)
				*_slot(t, cap, state.seen[i].job_id) =
					state.seen[i];
		xfree(state.seen);
		state.seen = t;
		state.cap = cap;
	}
	s = _slot(state.seen, state.cap, id);
	if (!s->job_id)
		state.count++;
	s->job_id = id;
	s->site = site;
}

static const struct seen *_recall(uint32_t id)
{
	const struct seen *s;

	if (!state.cap)
		return NULL;
	s = _slot(state.seen, state.cap, id);
	return s->job_id ? s : NULL;
}

static void _forget_all(void)
{
	xfree(state.seen);
	state.cap = state.count = 0;
}

/* ------------------------------------------------------------------ */
/* Configuration                                                        */

/* "CPU=1000,Mem=2000,GRES/gpu=3000": the sum of the weights. */
static uint64_t _tres_weights(const char *s)
{
	uint64_t sum = 0;

	while (s && (s = strchr(s, '='))) {
		sum += strtoull(s + 1, NULL, 10);
		s++;
	}
	return sum;
}

static void _read_conf(void)
{
	slurm_mutex_lock(&conf_lock);
	cached.half_life = slurm_conf.priority_decay_hl;
	cached.weights = (uint64_t) slurm_conf.priority_weight_age +
		slurm_conf.priority_weight_assoc +
		slurm_conf.priority_weight_fs +
		slurm_conf.priority_weight_js +
		slurm_conf.priority_weight_part +
		slurm_conf.priority_weight_qos +
		_tres_weights(slurm_conf.priority_weight_tres);
	cached.say_scale = true;
	slurm_mutex_unlock(&conf_lock);
}

#if !AIF_SLURM_AT_LEAST(24, 5)
extern void site_factor_p_reconfig(void)
{
	_read_conf();
}
#endif

/* Once per policy: how SITE's span compares with slurm.conf's weights. */
static void _check_scale(const struct aif_policy *p)
{
	struct aif_priority_weights w;
	uint64_t span, weights;
	bool again;

	slurm_mutex_lock(&conf_lock);
	weights = cached.weights;
	again = cached.say_scale;
	cached.say_scale = false;
	slurm_mutex_unlock(&conf_lock);
	if (p == state.checked && !again)
		return;
	state.checked = p;
	aif_policy_priority(p, &w);
	span = (uint64_t) w.class_weight + w.pacing_weight;
	if (!span) {
		info("%s: the policy has no \"priority\" weights: SITE is 0 for every job",
		     plugin_type);
		return;
	}
	info("%s: SITE spans +-%" PRIu64 " points (class_weight %u, pacing_weight %u); slurm.conf's PriorityWeight* values sum to %" PRIu64,
	     plugin_type, span, w.class_weight, w.pacing_weight, weights);
	if (span + weights > UINT32_MAX)
		error("%s: SITE's span and slurm.conf's weights together exceed 4294967295: SLURM clamps priorities there, so the highest lose their order; lower the weights",
		      plugin_type);
}

/* What SLURM saved for a pending job of ours is what we wrote, or an
 * operator's value already kept in its tag. */
static int _seed(void *x, void *arg)
{
	job_record_t *job = x;

	(void) arg;
	if (IS_JOB_PENDING(job) && job->admin_comment &&
	    aif_tag_find(job->admin_comment))
		_remember(job->job_id, job->site_factor);
	return 0;
}

extern int init(void)
{
	int rc = aif_slurm_start(plugin_type, 0);
	struct aif_policy *p;

	_read_conf();
	/*
	 * slurmctld has recovered its jobs before it starts the priority
	 * plugin (and before it serves RPCs): learn their values now, so
	 * that an operator's SiteFactor set before our first update is seen
	 * as one. No lock is taken: init may run inside slurmctld's
	 * read_slurm_conf, which holds the job lock already.
	 */
	if (job_list)
		list_for_each(job_list, _seed, NULL);
	if ((p = aif_service_policy()))
		_check_scale(p);
	aif_policy_unref(p);
	if (!slurm_with_slurmdbd())
		info("%s: slurmctld runs without slurmdbd, so SLURM never calls site_factor's update: SITE is set at submit, update, release and resume from budget pacing only (class shares need slurmdbd's usage)",
		     plugin_type);
	else if (!(slurm_conf.accounting_storage_enforce &
		   ACCOUNTING_ENFORCE_LIMITS))
		error("%s: class shares need AccountingStorageEnforce=limits: without it SLURM keeps no GPU usage per account, and SITE is budget pacing only",
		      plugin_type);
	return rc;
}

extern int fini(void)
{
	aif_service_publish_ranking(NULL);
	aif_ranking_unref(state.ranking);
	state.ranking = NULL;
	xfree(state.uses);
	state.nuses = 0;
	_forget_all();
	aif_slurm_stop(0);
	return SLURM_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* Measuring the classes                                                */

/* Where gres/gpu is in the TRES arrays, or -1 (not tracked). Needs
 * assoc_mgr's TRES read lock. */
static int _gpu_pos(void)
{
	slurmdb_tres_rec_t rec = { .type = "gres", .name = "gpu" };

	if (state.gpu_pos == -2) {
		state.gpu_pos = assoc_mgr_find_tres_pos(&rec, true);
		if (state.gpu_pos < 0)
			error("%s: gres/gpu is not in AccountingStorageTRES, so SLURM keeps no GPU usage: class shares are off (SITE is pacing only)",
			      plugin_type);
	}
	return state.gpu_pos;
}

/* GPUs of the nodes of the class's partitions (all nodes: any). Under
 * the node and partition read locks. */
static uint64_t _class_gpus(const struct aif_class *c, int pos)
{
	bitstr_t *nodes = bit_alloc(node_record_count);
	node_record_t *node;
	uint64_t gpus = 0;

	if (!c->npartitions)
		bit_nset(nodes, 0, node_record_count - 1);
	for (size_t i = 0; i < c->npartitions; i++) {
		part_record_t *part = find_part_record(c->partitions[i]);

		if (part && part->node_bitmap)
			bit_or(nodes, part->node_bitmap);
	}
	for (int i = 0; (node = next_node(&i)); i++)
		if (bit_test(nodes, i) && node->tres_cnt)
			gpus += node->tres_cnt[pos];
	FREE_NULL_BITMAP(nodes);
	return gpus;
}

/*
 * Each class's decayed GPU-seconds (its projects' accounts in SLURM's
 * association tree, whose usage includes their users') and what its GPUs
 * give over the same decay: GPUs x half-life / ln 2. With no decay
 * (half-life 0), a class's share of all the classes' use instead.
 */
static void _measure(const struct aif_policy *p, uint32_t half_life)
{
	assoc_mgr_lock_t locks = { .assoc = READ_LOCK, .tres = READ_LOCK };
	size_t n = aif_policy_nclasses(p);
	double total = 0;
	list_itr_t *it;
	slurmdb_assoc_rec_t *assoc;
	int pos;

	xfree(state.uses);
	state.nuses = 0;
	assoc_mgr_lock(&locks);
	if ((pos = _gpu_pos()) < 0 || !assoc_mgr_assoc_list) {
		assoc_mgr_unlock(&locks);
		return;
	}
	state.uses = xcalloc(n ? n : 1, sizeof(*state.uses));
	state.nuses = n;
	for (size_t i = 0; i < n; i++)
		snprintf(state.uses[i].name, sizeof(state.uses[i].name), "%s",
			 aif_policy_class_at(p, i)->name);
	it = list_iterator_create(assoc_mgr_assoc_list);
	while ((assoc = list_next(it))) {
		const struct aif_project *proj;

		if (assoc->user || !assoc->acct || !assoc->usage ||
		    !assoc->usage->usage_tres_raw ||
		    !(proj = aif_policy_project(p, assoc->acct)) ||
		    !proj->klass)
			continue;
		for (size_t i = 0; i < n; i++) {
			if (aif_policy_class_at(p, i) != proj->klass)
				continue;
			state.uses[i].gpu_seconds +=
				(double) assoc->usage->usage_tres_raw[pos];
			total += (double) assoc->usage->usage_tres_raw[pos];
		}
	}
	list_iterator_destroy(it);
	assoc_mgr_unlock(&locks);

	for (size_t i = 0; i < n; i++)
		state.uses[i].capacity = half_life ?
			(double) _class_gpus(aif_policy_class_at(p, i), pos) *
			half_life / LN2 : total;
}

/* ------------------------------------------------------------------ */
/* Setting SITE                                                         */

/* An operator changed the job's SiteFactor since we last wrote it (only
 * operators may): keep it in the tag, where it outlives a restart. */
static void _keep_override(job_record_t *job)
{
	int64_t site = (int64_t) job->site_factor - NICE_OFFSET;
	size_t len = strlen(job->admin_comment) + AIF_TAG_SITE_MAX;
	char *buf = xmalloc(len);

	if (aif_tag_set_site(job->admin_comment, site, buf, len)) {
		error("%s: %pJ: cannot keep the operator's SiteFactor %" PRId64 " in its tag: %m",
		      plugin_type, job, site);
		xfree(buf);
		return;
	}
	xfree(job->admin_comment);
	job->admin_comment = buf;
	info("%s: %pJ keeps the SiteFactor %" PRId64 " an operator set (in its AdminComment: site=%" PRId64 ")",
	     plugin_type, job, site, site);
}

static void _set(struct aif_ranking *r, job_record_t *job, bool fresh)
{
	const struct seen *last;
	int64_t points;

	/* Only our jobs: any other keeps whatever it has. */
	if (!job->admin_comment || !aif_tag_find(job->admin_comment))
		return;
	if ((last = _recall(job->job_id)) && last->site != job->site_factor)
		_keep_override(job);
	points = aif_ranking_job(r, job->admin_comment, fresh, NULL);
	job->site_factor = (uint32_t) ((int64_t) NICE_OFFSET + points);
	_remember(job->job_id, job->site_factor);
}

/* A ranking for the policy in force: the last update's, or a new one
 * with the classes it measured (the policy was reloaded since). */
static struct aif_ranking *_ranking(time_t now)
{
	struct aif_policy *p = aif_service_policy();
	struct aif_ledger *ledger = aif_service_ledger();

	if (!p || !ledger) {
		aif_policy_unref(p);
		return NULL;
	}
	if (!state.ranking || aif_ranking_policy(state.ranking) != p) {
		struct aif_ranking *r = aif_ranking_new(p, ledger, state.uses,
							state.nuses, now);

		if (r) {
			aif_ranking_unref(state.ranking);
			state.ranking = r;
			aif_service_publish_ranking(r);
		}
	}
	_check_scale(p);
	aif_policy_unref(p);
	return state.ranking;
}

extern void site_factor_p_set(job_record_t *job_ptr)
{
	struct aif_ranking *r = _ranking(time(NULL));

	if (r)
		_set(r, job_ptr, true);
}

extern void site_factor_p_update(void)
{
	struct aif_policy *p = aif_service_policy();
	struct aif_ledger *ledger = aif_service_ledger();
	struct aif_ranking *r;
	list_itr_t *it;
	job_record_t *job;
	uint32_t half_life;

	/* After a restart the first update comes at once, before jobcomp
	 * has rebuilt the liens of the recovered jobs: their projects would
	 * look as if nothing were reserved. SLURM saved each job's SITE;
	 * it stands until the next update. */
	if (!p || !ledger || !job_list) {
		aif_policy_unref(p);
		return;
	}
	if (!aif_ledger_liens_rebuilt(ledger)) {
		static bool said;

		if (!said)
			info("%s: an update waits for the liens of the recovered jobs (jobcomp/aifactory rebuilds them seconds after a start; without it, SITE keeps what submit set)",
			     plugin_type);
		said = true;
		aif_policy_unref(p);
		return;
	}
	{
		static bool first_said;

		/* Which came first after a start, this or the rebuild, is
		 * SLURM's timing: the log says the order held either way. */
		if (!first_said)
			info("%s: the first update since the start ranks with the recovered jobs' liens rebuilt",
			     plugin_type);
		first_said = true;
	}
	slurm_mutex_lock(&conf_lock);
	half_life = cached.half_life;
	slurm_mutex_unlock(&conf_lock);
	_measure(p, half_life);
	r = aif_ranking_new(p, ledger, state.uses, state.nuses, time(NULL));
	_check_scale(p);
	aif_policy_unref(p);
	if (!r)
		return;
	aif_ranking_unref(state.ranking);
	state.ranking = r;
	aif_service_publish_ranking(r);

	/* What we wrote to jobs no longer pending is forgotten here. */
	{
		struct seen *old = state.seen;
		size_t cap = state.cap;

		state.seen = NULL;
		state.cap = state.count = 0;
		it = list_iterator_create(job_list);
		while ((job = list_next(it))) {
			const struct seen *s;

			if (!IS_JOB_PENDING(job))
				continue;
			/* Keep what we knew, so an override is still seen. */
			if (cap && (s = _slot(old, cap, job->job_id))->job_id)
				_remember(s->job_id, s->site);
			/* multifactor leaves held jobs alone; so do we. */
			if (job->priority)
				_set(r, job, false);
		}
		list_iterator_destroy(it);
		xfree(old);
	}
}
