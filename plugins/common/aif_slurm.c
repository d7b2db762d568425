/*
 * What every slurm-aifactory plugin in slurmctld shares (aif_slurm.h).
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "slurm/slurm.h"
#include "slurm/slurm_errno.h"
/* First: it renames what the others declare to libslurm's exports. */
#include "src/common/slurm_xlator.h"
#include "src/common/env.h"
#include "src/common/list.h"
#include "src/common/read_config.h"
#include "src/common/xmalloc.h"
#include "src/common/xstring.h"
#include "src/slurmctld/locks.h"
#include "src/slurmctld/slurmctld.h"

#include "aif_slurm.h"
#if AIF_SLURM_AT_LEAST(23, 2)
#include "src/interfaces/gres.h"
#else
#include "src/common/gres.h"
#endif

#include "events.h"
#include "tag.h"

#define REBUILD_FIRST 2	/* seconds after start: the job list is loaded */
#define REBUILD_EVERY 30	/* seconds between rebuilds */

/* Each plugin links its own copy: this is the plugin's state. */
static const char *plugin = "aifactory";
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

/* munged's socket as AuthInfo names it ("socket=PATH"), or NULL. */
static char *_munge_socket(void)
{
	const char *at = slurm_conf.authinfo ?
		strstr(slurm_conf.authinfo, "socket=") : NULL;

	return at ? xstrndup(at + 7, strcspn(at + 7, ",")) : NULL;
}

/* The hooks are slurmctld's own, which outlive any one plugin. */
#if AIF_SLURM_AT_LEAST(24, 5)
/* From 24.05 a reconfigure starts a new slurmctld, with SLURMCTLD_RECONF
 * in its environment, and the running one goes on if the new one fails
 * to start. */
static bool _reconfiguring(void)
{
	return getenv("SLURMCTLD_RECONF") != NULL;
}

/* A policy refused at a reconfigure fails the new slurmctld, so that the
 * running one keeps the last good policy (as it keeps its slurm.conf when
 * the new one is broken). */
static int _refuse_reconfigure(const char *name)
{
	struct aif_policy *p;

	if (!_reconfiguring())
		return SLURM_SUCCESS;
	if ((p = aif_service_policy())) {
		aif_policy_unref(p);
		return SLURM_SUCCESS;
	}
	error("%s: this reconfigure fails: the policy is refused", name);
	aif_service_stop();
	return SLURM_ERROR;
}
#endif

static int _service_start(void)
{
	char *policy = get_extra_conf_path(AIF_POLICY_FILE);
	char *journal = xstrdup_printf("%s/%s", slurm_conf.state_save_location,
				       AIF_STATE_SUBDIR);
	char *munge_socket = _munge_socket();
	struct aif_service_hooks hooks = {
		.policy_path = policy,
		.journal_dir = journal,
		.cluster = slurm_conf.cluster_name,
		.slurm_user = slurm_conf.slurm_user_id,
		.munge_socket = munge_socket,
		.conf_stamp = &slurm_conf.last_update,
		.info = slurm_info,
		.error = error,
#if AIF_SLURM_AT_LEAST(24, 5)
		.replacing = _reconfiguring(),
#endif
	};
	int rc = aif_service_start(&hooks);

	xfree(policy);
	xfree(journal);
	xfree(munge_socket);
	return rc ? SLURM_ERROR : SLURM_SUCCESS;
}

/*
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
		debug("%s: JobId=%u: %s", plugin, job->job_id, why);
}

static void _job_gpus(job_record_t *job_ptr, struct aif_job_end *je);

/* The GPUs a running job holds, all types. */
static uint64_t _running_gpus(job_record_t *job)
{
	struct aif_job_end je = { .ngpus = 0 };
	uint64_t n = 0;

	if (!IS_JOB_RUNNING(job))
		return 0;
	_job_gpus(job, &je);
	for (unsigned i = 0; i < je.ngpus; i++)
		n += je.gpus[i].count;
	return n;
}

/* Each class's GPUs in running jobs, from their tags, for the metrics. */
static void _count_running(char **tags, const uint64_t *gpus, size_t n)
{
	char classes[AIF_METRICS_CLASSES_MAX][AIF_NAME_MAX];	/* 4 KiB */
	uint64_t sums[AIF_METRICS_CLASSES_MAX];
	struct aif_job_tag tag;
	size_t nclasses = 0, k;

	for (size_t i = 0; i < n; i++) {
		if (!gpus[i] || aif_tag_read(tags[i], &tag))
			continue;
		for (k = 0; k < nclasses; k++)
			if (!strcmp(classes[k], tag.klass))
				break;
		if (k == nclasses) {
			if (nclasses == AIF_METRICS_CLASSES_MAX)
				continue;
			snprintf(classes[nclasses], AIF_NAME_MAX, "%s",
				 tag.klass);
			sums[nclasses++] = 0;
		}
		sums[k] += gpus[i];
	}
	aif_service_running_gpus((const char (*)[AIF_NAME_MAX]) classes, sums,
				 nclasses);
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
	uint64_t *gpus = NULL;
	size_t n = 0, cap = 0, unreadable = 0;
	list_itr_t *it;
	job_record_t *job;

	/* Under the lock: copy the tags (and what running jobs hold),
	 * charge what was missed. */
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
				xrecalloc(gpus, cap, sizeof(*gpus));
			}
			gpus[n] = _running_gpus(job);
			tags[n++] = xstrdup(job->admin_comment);
		}
		list_iterator_destroy(it);
	}
	unlock_slurmctld(job_read);

	/* After it: parse them and set every grant's reserved amount. */
	if (aif_job_liens_rebuild((const char *const *) tags, n, &unreadable))
		error("%s: rebuilding liens failed: %m", plugin);
	if (unreadable)
		error("%s: %zu jobs carry an admission tag whose lien cannot be read: their reservations are NOT counted (scontrol show job: AdminComment)",
		      plugin, unreadable);
	_count_running(tags, gpus, n);
	for (size_t i = 0; i < n; i++)
		xfree(tags[i]);
	xfree(tags);
	xfree(gpus);
}

static void *_rebuild_thread(void *arg)
{
	struct timespec until;
	int wait = REBUILD_FIRST;

	/* As top -H and the benchmark show it. */
	prctl(PR_SET_NAME, "aif_liens", NULL, NULL, NULL);

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

/*
 * The rebuild runs in jobcomp's copy, not job_submit's: jobcomp is never
 * unloaded while slurmctld runs (its fini comes at shutdown, on the main
 * thread, with no slurmctld lock held), whereas job_submit's fini runs
 * under the write locks of a reconfigure and could not wait for a thread
 * that waits for the job read lock.
 */
int aif_slurm_start(const char *name, unsigned flags)
{
	int rc = _service_start();

	plugin = name;
#if AIF_SLURM_AT_LEAST(24, 5)
	if (!rc)
		rc = _refuse_reconfigure(name);
#endif
	if (rc || !(flags & AIF_SLURM_LIENS))
		return rc;
	rebuild.stop = false;
	if (!pthread_create(&rebuild.thread, NULL, _rebuild_thread, NULL))
		rebuild.running = true;
	else
		error("%s: cannot start the lien rebuild thread", plugin);
	return rc;
}

void aif_slurm_stop(unsigned flags)
{
	if (rebuild.running) {
		slurm_mutex_lock(&rebuild.lock);
		rebuild.stop = true;
		slurm_cond_signal(&rebuild.wake);
		slurm_mutex_unlock(&rebuild.lock);
		pthread_join(rebuild.thread, NULL);
		rebuild.running = false;
	}
	if (flags & AIF_SLURM_LAST)
		aif_service_checkpoint();
	aif_service_stop();
}

static uint32_t _val32(uint32_t v)
{
	return v == NO_VAL || v == INFINITE ? 0 : v;
}

static uint32_t _val16(uint16_t v)
{
	return v == NO_VAL16 || v == INFINITE16 ? 0 : v;
}

uint32_t aif_slurm_minutes(uint32_t v)
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

/* A uint16_t field of an update, or of the job when the update has none. */
static uint32_t _pick16(uint16_t changed, uint16_t current)
{
	return _val16(changed != NO_VAL16 ? changed : current);
}

static const char *_pick(const char *changed, const char *current)
{
	return changed ? changed : current;
}

void aif_slurm_gpu_spec(const job_desc_msg_t *desc, job_record_t *job,
			struct aif_gpu_spec *spec)
{
	static const job_desc_msg_t none = {
		.min_nodes = NO_VAL, .max_nodes = NO_VAL, .num_tasks = NO_VAL,
		.ntasks_per_node = NO_VAL16, .sockets_per_node = NO_VAL16,
		.ntasks_per_tres = NO_VAL16,
	};
	job_details_t *det = job ? job->details : NULL;
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

/* GPUs allocated to the job, per type, from gres_list_alloc. */
static void _job_gpus(job_record_t *job_ptr, struct aif_job_end *je)
{
	list_itr_t *it;
	gres_state_t *gs;

	if (!job_ptr->gres_list_alloc)
		return;
	it = list_iterator_create(job_ptr->gres_list_alloc);
	while ((gs = list_next(it)) && je->ngpus < AIF_GPU_TYPES_MAX) {
		gres_job_state_t *js = gs->gres_data;

		if (!gs->gres_name || strcmp(gs->gres_name, "gpu") || !js ||
		    !js->total_gres)
			continue;
		snprintf(je->gpus[je->ngpus].type,
			 sizeof(je->gpus[je->ngpus].type), "%s",
			 js->type_name ? js->type_name : "");
		je->gpus[je->ngpus].count = js->total_gres;
		je->ngpus++;
	}
	list_iterator_destroy(it);
}

/* ------------------------------------------------------------ shaping */

/* The value of spank/aifactory's --aif-bind that SLURM keeps in a job's
 * spank_job_env (as the option's callback saw it), or NULL. */
static const char *_spank_bind(char **env, uint32_t n)
{
	static const char key[] = "_SLURM_SPANK_OPTION_aifactory_aif_bind=";

	for (uint32_t i = 0; env && i < n; i++)
		if (env[i] && !strncmp(env[i], key, sizeof(key) - 1))
			return env[i] + sizeof(key) - 1;
	return NULL;
}

/* A partition's fewest CPUs and MB per GPU over its nodes with GPUs,
 * cached: recomputed when slurmctld changes a node or a partition. */
#define SHAPE_CACHE 64

/* What admission needs of a partition's nodes. */
struct part_nodes {
	char name[AIF_NAME_MAX];
	uint32_t cpus, mem;		/* the fewest per GPU; 0 unknown */
	unsigned ntypes;		/* GPU types some node has */
	char types[AIF_GPU_TYPES_MAX][AIF_NAME_MAX];
};

/* Cached: recomputed when slurmctld changes a node or a partition. */
static struct {
	pthread_mutex_t lock;
	time_t node_stamp, part_stamp;
	int n;
	struct part_nodes part[SHAPE_CACHE];
} shape_cache = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void _add_types(struct part_nodes *pn, const char *gres)
{
	struct aif_gpu_spec spec = { .tres_per_node = gres };
	struct aif_gpus g;
	char err[AIF_ERR_MAX];

	if (!gres || aif_gpus_normalise(&spec, &g, err, sizeof(err)))
		return;
	for (unsigned t = 0; t < g.ntypes; t++) {
		unsigned k;

		for (k = 0; k < pn->ntypes; k++)
			if (!strcmp(pn->types[k], g.by_type[t].type))
				break;
		if (k == pn->ntypes && pn->ntypes < AIF_GPU_TYPES_MAX)
			snprintf(pn->types[pn->ntypes++], AIF_NAME_MAX, "%s",
				 g.by_type[t].type);
	}
}

/* Under the node read lock job_submit holds. */
static void _measure(const char *name, struct part_nodes *pn)
{
	part_record_t *part = find_part_record((char *) name);
	node_record_t *node;

	memset(pn, 0, sizeof(*pn));
	snprintf(pn->name, sizeof(pn->name), "%s", name);
	if (!part || !part->node_bitmap)
		return;
	for (int i = 0; i < node_record_count; i++) {
		uint64_t gpus, c, m;

		if (!bit_test(part->node_bitmap, i) ||
		    !(node = node_record_table_ptr[i]))
			continue;
		gpus = gres_node_config_cnt(node->gres_list, "gpu");
		if (!gpus)
			continue;
		_add_types(pn, node->config_ptr ? node->config_ptr->gres :
			   node->gres);
		c = node->cpus / gpus;
		m = node->real_memory / gpus;
		if (c && (!pn->cpus || c < pn->cpus))
			pn->cpus = (uint32_t) c;
		if (m && (!pn->mem || m < pn->mem))
			pn->mem = m > UINT32_MAX ? UINT32_MAX : (uint32_t) m;
	}
}

/* One partition's nodes, into *out: from the cache, else measured (and
 * kept, unless a stamp names this second: they have a second's grain, so
 * a change later in it would go unseen). Called with the cache's lock. */
static void _part_nodes(const char *name, struct part_nodes *out)
{
	time_t now = time(NULL);
	bool keep = last_node_update < now && last_part_update < now;
	int k;

	if (!keep || shape_cache.node_stamp != last_node_update ||
	    shape_cache.part_stamp != last_part_update) {
		shape_cache.n = 0;
		shape_cache.node_stamp = last_node_update;
		shape_cache.part_stamp = last_part_update;
	}
	for (k = 0; k < shape_cache.n; k++)
		if (!strcmp(shape_cache.part[k].name, name)) {
			*out = shape_cache.part[k];
			return;
		}
	_measure(name, out);
	if (keep && shape_cache.n < SHAPE_CACHE)
		shape_cache.part[shape_cache.n++] = *out;
}

/* For each partition of a comma list ("" : the default one), the least
 * of them. */
static void _partition_shape(const char *list, void *arg, uint32_t *cpus,
			     uint32_t *mem)
{
	char name[AIF_NAME_MAX];
	struct part_nodes pn;

	*cpus = *mem = 0;
	if (!list[0])
		list = default_part_name ? default_part_name : "";
	slurm_mutex_lock(&shape_cache.lock);
	for (const char *s = list; *s;) {
		size_t len = strcspn(s, ",");

		if (len && len < sizeof(name)) {
			memcpy(name, s, len);
			name[len] = '\0';
			_part_nodes(name, &pn);
			if (pn.cpus && (!*cpus || pn.cpus < *cpus))
				*cpus = pn.cpus;
			if (pn.mem && (!*mem || pn.mem < *mem))
				*mem = pn.mem;
		}
		s += len;
		if (*s)
			s++;
	}
	slurm_mutex_unlock(&shape_cache.lock);
}

/* Whether some node of the partition has GPUs of this type. */
static int _partition_has_type(const char *partition, const char *type,
			       void *arg)
{
	struct part_nodes pn;
	int has = 0;

	slurm_mutex_lock(&shape_cache.lock);
	_part_nodes(partition, &pn);
	slurm_mutex_unlock(&shape_cache.lock);
	for (unsigned k = 0; k < pn.ntypes; k++)
		has |= !strcmp(pn.types[k], type);
	return has;
}

/* N of a "gres:gpu:N" (24.11: "gres/gpu:N") per-GPU string (cpus_per_tres), read by the one
 * GPU request normaliser; 0 when it names no GPU or is not understood. */
static uint32_t _per_gpu(const char *tres)
{
	struct aif_gpu_spec spec = { .tres_per_job = tres };
	struct aif_gpus g;
	char err[AIF_ERR_MAX];

	if (!tres || aif_gpus_normalise(&spec, &g, err, sizeof(err)))
		return 0;
	return g.total > UINT32_MAX ? UINT32_MAX : (uint32_t) g.total;
}

void aif_slurm_shape_request(const job_desc_msg_t *desc,
			     struct aif_request *req)
{
	req->cpus_per_gpu = _per_gpu(desc->cpus_per_tres);
	req->cpus_per_task = desc->cpus_per_task != NO_VAL16 ?
		desc->cpus_per_task : 0;
	req->cpus = desc->min_cpus != NO_VAL ? desc->min_cpus : 0;
	req->gpus_per_task = desc->tres_per_task ||
		desc->ntasks_per_tres != NO_VAL16;
	req->mem_given = desc->pn_min_memory != NO_VAL64 ||
		desc->mem_per_tres;
	req->bind_given = _spank_bind(desc->spank_job_env,
				      desc->spank_job_env_size) != NULL;
	req->partition_shape = _partition_shape;
	req->partition_has_type = _partition_has_type;
	req->partition_arg = NULL;
}

void aif_slurm_shape_update(const job_desc_msg_t *desc, job_record_t *job,
			    struct aif_update *u)
{
	job_details_t *det = job->details;

	u->cpus_change = desc->cpus_per_tres || desc->min_cpus != NO_VAL ||
		desc->cpus_per_task != NO_VAL16;
	u->cpus_per_gpu = _per_gpu(desc->cpus_per_tres ? desc->cpus_per_tres :
				   job->cpus_per_tres);
	u->cpus_per_task = desc->cpus_per_task != NO_VAL16 ?
		desc->cpus_per_task :
		det && det->cpus_per_task != NO_VAL16 ? det->cpus_per_task : 0;
	u->cpus = desc->min_cpus != NO_VAL ? desc->min_cpus :
		det && det->min_cpus != NO_VAL ? det->min_cpus : 0;
	u->partition_shape = _partition_shape;
}

void aif_slurm_shape_apply(job_desc_msg_t *desc, const struct aif_decision *d)
{
	if (d->cpus_per_gpu) {
		xfree(desc->cpus_per_tres);
		desc->cpus_per_tres = xstrdup_printf(AIF_SLURM_GPU_TRES ":%u",
						     d->cpus_per_gpu);
	}
	if (d->mem_per_gpu) {
		xfree(desc->mem_per_tres);
		desc->mem_per_tres = xstrdup_printf(AIF_SLURM_GPU_TRES ":%u",
						    d->mem_per_gpu);
	}
	/* A batch job's environment is its script's, where spank/aifactory
	 * reads AIF_BIND (an interactive job has none: the node's default).
	 * Without the class's, one inherited from the job sbatch ran in
	 * (every task of ours has it) is taken out: the job's own mode is
	 * its --aif-bind, its class's, or the node's default. */
	if (desc->environment) {
		uint32_t n = 0, kept = 0;

		if (d->bind[0])
			env_array_overwrite(&desc->environment, "AIF_BIND",
					    d->bind);
		for (; desc->environment[n]; n++) {
			if (!d->bind[0] &&
			    !strncmp(desc->environment[n], "AIF_BIND=", 9)) {
				xfree(desc->environment[n]);
				continue;
			}
			desc->environment[kept++] = desc->environment[n];
		}
		desc->environment[kept] = NULL;
		desc->env_size = kept;
	}
}

/* Each node's GPU indexes, "a1:0-3;a2:0,3": gres_detail_str holds one
 * string per node of the job, in node_bitmap's order. */
static void _job_gpu_index(job_record_t *job_ptr, struct aif_job_end *je)
{
	char *buf = je->gpu_index;
	size_t size = sizeof(je->gpu_index), used = 0;
	uint32_t n = 0;

	if (!job_ptr->node_bitmap || !job_ptr->gres_detail_str)
		return;
	for (int i = 0; i < node_record_count && n < job_ptr->gres_detail_cnt;
	     i++) {
		size_t before;

		if (!bit_test(job_ptr->node_bitmap, i))
			continue;
		if (!node_record_table_ptr[i] || !job_ptr->gres_detail_str[n]) {
			n++;
			continue;
		}
		before = used;
		used += (size_t) snprintf(buf + used, size - used, "%s%s:",
					  used ? ";" : "",
					  node_record_table_ptr[i]->name);
		if (used >= size)
			break;
		used = aif_gpu_index_append(job_ptr->gres_detail_str[n++], buf,
					    size, used);
		if (buf[used - 1] == ':') {	/* no GPU on this node */
			used = before;
			buf[used] = '\0';
		}
	}
	if (used >= size)
		buf[size - 1] = '\0';
}

/* The --aif-bind the job was submitted with (SLURM keeps a SPANK option's
 * value in the job's spank_job_env), if one of spank/aifactory's modes. */
static void _job_bind(job_record_t *job_ptr, struct aif_job_end *je)
{
	static const char *const modes[] = { "auto", "strict", "none", "show" };
	const char *v = _spank_bind(job_ptr->spank_job_env,
				    job_ptr->spank_job_env_size);

	for (size_t m = 0; v && m < sizeof(modes) / sizeof(modes[0]); m++)
		if (!strcmp(v, modes[m]))
			snprintf(je->bind, sizeof(je->bind), "%s", modes[m]);
}

/*
 * A requeue, a node failure that requeues (NODE_FAIL without COMPLETING)
 * and a resize are followed by more of the job, which keeps its lien; a
 * resize is charged as two segments, [start, resize] at the resize and
 * [resize, end] at the end.
 */
void aif_slurm_job_end(job_record_t *job_ptr, struct aif_job_end *je)
{
	memset(je, 0, sizeof(*je));
	je->job_id = job_ptr->job_id;
	je->uid = job_ptr->user_id;
	je->user = job_ptr->user_name;
	je->account = job_ptr->account;
	je->admin_comment = job_ptr->admin_comment;
	je->name = job_ptr->name;
	je->partition = job_ptr->partition;
	je->qos = job_ptr->qos_ptr ? job_ptr->qos_ptr->name : NULL;
	je->nodes = job_ptr->nodes;
	je->state = (job_ptr->job_state & JOB_REQUEUE) ? "REQUEUED" :
		job_state_string(job_ptr->job_state & JOB_STATE_BASE);
	je->submit = job_ptr->details ? job_ptr->details->submit_time : 0;
	je->start = job_ptr->start_time;
	je->end = job_ptr->end_time;
	je->nnodes = job_ptr->node_cnt;
	je->restart_cnt = job_ptr->restart_cnt;
	je->final = !(job_ptr->job_state & JOB_REQUEUE) &&
		job_ptr->job_state != JOB_NODE_FAIL &&
		!IS_JOB_RESIZING(job_ptr);
	if (IS_JOB_RESIZING(job_ptr))
		je->end = job_ptr->resize_time;
	else if (job_ptr->resize_time > job_ptr->start_time)
		je->start = job_ptr->resize_time;
	_job_gpus(job_ptr, je);
	_job_gpu_index(job_ptr, je);
	_job_bind(job_ptr, je);
}

int aif_slurm_errno(const char *rule)
{
	static const struct {
		const char *rule;
		int rc;
	} map[] = {
		{ "move.not_pending", ESLURM_JOB_NOT_PENDING },
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

void aif_slurm_log_refusal(uint32_t job_id, uint32_t uid, const char *user,
			   const char *msg)
{
	char line[AIF_MSG_MAX];

	if (!msg[0])
		return;
	snprintf(line, sizeof(line), "%s", msg);
	for (char *c = line; *c; c++)
		if (*c == '\n')
			*c = ' ';
		else if (*c < 0x20 || *c > 0x7e)
			*c = '?';
	if (job_id && user)
		info("%s: JobId=%u of %.64s (uid %u): an update refused: %s",
		     plugin, job_id, user, uid, line);
	else if (job_id)
		info("%s: JobId=%u (uid %u): an update refused: %s", plugin,
		     job_id, uid, line);
	else
		info("%s: a job of uid %u refused at submit: %s", plugin, uid,
		     line);
}
