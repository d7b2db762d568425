/*
 * slurm-aifactory policy library: the policy snapshot.
 *
 * A snapshot is built once by aif_policy_load() and never changes after,
 * so every accessor here is a pure read: no allocation, no I/O, no lock.
 * Any number of threads may call them at once while they hold a
 * reference. Lookups are binary searches over arrays sorted at load.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy_internal.h"

/* ------------------------------------------------------------------ */
/* Arena                                                                */

#define ARENA_CHUNK (64 * 1024)
#define ARENA_ALIGN alignof(max_align_t)

struct aif_arena_chunk {
	struct aif_arena_chunk *next;
	size_t used, size;
	alignas(max_align_t) unsigned char data[];
};

void *aif_arena_alloc(struct aif_arena *a, size_t size)
{
	struct aif_arena_chunk *c = a->head;
	size_t need;
	void *mem;

	if (size > SIZE_MAX / 2)
		return NULL;
	need = (size + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
	if (!need)
		need = ARENA_ALIGN;
	if (!c || c->size - c->used < need) {
		size_t csize = need > ARENA_CHUNK ? need : ARENA_CHUNK;

		if (!(c = malloc(sizeof(*c) + csize)))
			return NULL;
		c->used = 0;
		c->size = csize;
		/* A big one-off block goes behind the current chunk, so the
		 * rest of that chunk still serves small requests. */
		if (need > ARENA_CHUNK && a->head) {
			c->next = a->head->next;
			a->head->next = c;
		} else {
			c->next = a->head;
			a->head = c;
		}
	}
	mem = c->data + c->used;
	c->used += need;
	memset(mem, 0, size);
	return mem;
}

void *aif_arena_calloc(struct aif_arena *a, size_t nmemb, size_t size)
{
	if (size && nmemb > SIZE_MAX / size)
		return NULL;
	return aif_arena_alloc(a, nmemb * size);
}

char *aif_arena_strdup(struct aif_arena *a, const char *s)
{
	size_t len = strlen(s);
	char *d = aif_arena_alloc(a, len + 1);

	if (d)
		memcpy(d, s, len + 1);
	return d;
}

void aif_arena_free(struct aif_arena *a)
{
	struct aif_arena_chunk *c = a->head, *next;

	for (; c; c = next) {
		next = c->next;
		free(c);
	}
	a->head = NULL;
}

/* ------------------------------------------------------------------ */
/* Comparators                                                          */

int aif_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

int aif_cmp_class(const void *a, const void *b)
{
	return strcmp(((const struct aif_class *) a)->name,
		      ((const struct aif_class *) b)->name);
}

int aif_cmp_project(const void *a, const void *b)
{
	return strcmp(((const struct aif_project *) a)->name,
		      ((const struct aif_project *) b)->name);
}

int aif_cmp_gpu_weight(const void *a, const void *b)
{
	return strcmp(((const struct aif_gpu_weight *) a)->type,
		      ((const struct aif_gpu_weight *) b)->type);
}

int aif_cmp_uid(const void *a, const void *b)
{
	uid_t x = *(const uid_t *) a, y = *(const uid_t *) b;

	return x < y ? -1 : x > y;
}

int aif_cmp_gid(const void *a, const void *b)
{
	gid_t x = *(const gid_t *) a, y = *(const gid_t *) b;

	return x < y ? -1 : x > y;
}

int aif_cmp_id_project(const void *a, const void *b)
{
	const struct aif_id_project *x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->project < y->project ? -1 : x->project > y->project;
}

int aif_cmp_uid_name(const void *a, const void *b)
{
	const struct aif_uid_name *x = a, *y = b;

	if (x->uid != y->uid)
		return x->uid < y->uid ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* bsearch() keys: a name against an element. */
static int _key_project(const void *key, const void *elem)
{
	return strcmp(key, ((const struct aif_project *) elem)->name);
}

static int _key_class(const void *key, const void *elem)
{
	return strcmp(key, ((const struct aif_class *) elem)->name);
}

static int _key_gpu_weight(const void *key, const void *elem)
{
	return strcmp(key, ((const struct aif_gpu_weight *) elem)->type);
}

static int _key_uid_name(const void *key, const void *elem)
{
	uid_t x = *(const uid_t *) key;
	uid_t y = ((const struct aif_uid_name *) elem)->uid;

	return x < y ? -1 : x > y;
}

/* ------------------------------------------------------------------ */
/* Life                                                                 */

struct aif_policy *aif_policy_alloc(void)
{
	struct aif_policy *p = calloc(1, sizeof(*p));

	if (p)
		atomic_init(&p->refs, 1);
	return p;
}

struct aif_policy *aif_policy_ref(struct aif_policy *p)
{
	if (p)
		atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
	return p;
}

void aif_policy_unref(struct aif_policy *p)
{
	if (!p)
		return;
	/* Release our writes; the last one out acquires everyone's. */
	if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_release) != 1)
		return;
	atomic_thread_fence(memory_order_acquire);
	aif_arena_free(&p->arena);
	free(p);
}

/* ------------------------------------------------------------------ */
/* Accessors                                                            */

/* FNV-1a over a name: the projects' hash index. */
static uint32_t _hash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (uint8_t) *s++) * 16777619u;
	return h;
}

int aif_policy_index_projects(struct aif_policy *p, struct aif_arena *a)
{
	size_t cap = 16;

	while (cap < 2 * p->nprojects)
		cap *= 2;
	if (p->nprojects > UINT32_MAX - 1 ||
	    !(p->project_slots = aif_arena_calloc(a, cap,
						  sizeof(*p->project_slots))))
		return -1;
	p->nslots = cap;
	for (size_t i = 0; i < p->nprojects; i++) {
		size_t at = _hash(p->projects[i].name) & (cap - 1);

		while (p->project_slots[at])
			at = (at + 1) & (cap - 1);
		p->project_slots[at] = (uint32_t) i + 1;
	}
	return 0;
}

const struct aif_project *aif_policy_project(const struct aif_policy *p,
					     const char *name)
{
	char lower[AIF_NAME_MAX];
	size_t i;

	if (!p || !name || !p->nprojects)
		return NULL;
	/* SLURM lowercases accounts, and so do we, in ASCII only: a name
	 * with other bytes cannot be a project anyway. */
	for (i = 0; name[i]; i++) {
		char c = name[i];

		if (i >= sizeof(lower) - 1)
			return NULL;
		lower[i] = (c >= 'A' && c <= 'Z') ? (char) (c - 'A' + 'a') : c;
	}
	lower[i] = '\0';
	if (p->nslots) {
		size_t at = _hash(lower) & (p->nslots - 1);
		uint32_t slot;

		while ((slot = p->project_slots[at])) {
			if (!strcmp(p->projects[slot - 1].name, lower))
				return &p->projects[slot - 1];
			at = (at + 1) & (p->nslots - 1);
		}
		return NULL;
	}
	return bsearch(lower, p->projects, p->nprojects,
		       sizeof(*p->projects), _key_project);
}

const struct aif_class *aif_policy_class(const struct aif_policy *p,
					 const char *name)
{
	if (!p || !name || !p->nclasses)
		return NULL;
	return bsearch(name, p->classes, p->nclasses, sizeof(*p->classes),
		       _key_class);
}

size_t aif_policy_nprojects(const struct aif_policy *p)
{
	return p ? p->nprojects : 0;
}

const struct aif_project *aif_policy_project_at(const struct aif_policy *p,
						size_t i)
{
	return p && i < p->nprojects ? &p->projects[i] : NULL;
}

size_t aif_policy_nclasses(const struct aif_policy *p)
{
	return p ? p->nclasses : 0;
}

const struct aif_class *aif_policy_class_at(const struct aif_policy *p,
					    size_t i)
{
	return p && i < p->nclasses ? &p->classes[i] : NULL;
}

/*
 * In an index sorted by (id, project), the smallest project of id that
 * comes after project 'after' (SIZE_MAX: none yet). Lowers *best to it.
 */
static void _next_project(const struct aif_id_project *index, size_t n,
			  id_t id, size_t after, size_t *best)
{
	size_t lo = 0, hi = n;
	size_t from = after == SIZE_MAX ? 0 : after + 1;

	/* Lower bound of (id, from). */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (index[mid].id < id ||
		    (index[mid].id == id && index[mid].project < from))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < n && index[lo].id == id && index[lo].project < *best)
		*best = index[lo].project;
}

/*
 * Walk the union of the uid's projects and each gid's projects in
 * project order, one smallest-next step at a time: sorted and without
 * duplicates, and no memory needed however many gids there are.
 */
size_t aif_policy_projects_of(const struct aif_policy *p, uid_t uid,
			      const gid_t *gids, size_t ngids,
			      const struct aif_project **out, size_t max)
{
	size_t count = 0, last = SIZE_MAX;

	if (!p)
		return 0;
	if (!gids)
		ngids = 0;
	for (;;) {
		size_t best = SIZE_MAX;

		_next_project(p->uid_index, p->nuid_index, uid, last, &best);
		for (size_t i = 0; i < ngids; i++)
			_next_project(p->gid_index, p->ngid_index, gids[i],
				      last, &best);
		if (best == SIZE_MAX)
			break;
		if (count == max)
			return max + 1;	/* bounded: the caller asked for max */
		if (out)
			out[count] = &p->projects[best];
		count++;
		last = best;
	}
	return count;
}

static bool _has_uid(const uid_t *list, size_t n, uid_t uid)
{
	return n && bsearch(&uid, list, n, sizeof(*list), aif_cmp_uid);
}

static bool _has_any_gid(const gid_t *list, size_t n, const gid_t *gids,
			 size_t ngids)
{
	if (!n || !gids)
		return false;
	for (size_t i = 0; i < ngids; i++)
		if (bsearch(&gids[i], list, n, sizeof(*list), aif_cmp_gid))
			return true;
	return false;
}

bool aif_project_has_member(const struct aif_project *proj, uid_t uid,
			    const gid_t *gids, size_t ngids)
{
	if (!proj)
		return false;
	return _has_uid(proj->uids, proj->nuids, uid) ||
	       _has_any_gid(proj->gids, proj->ngids, gids, ngids);
}

const char *aif_policy_user_name(const struct aif_policy *p, uid_t uid)
{
	const struct aif_uid_name *u;

	if (!p || !p->nuser_names)
		return NULL;
	u = bsearch(&uid, p->user_names, p->nuser_names,
		    sizeof(*p->user_names), _key_uid_name);
	return u ? u->name : NULL;
}

/* root always may (schema: operators); SlurmUser is the plugin's to add. */
bool aif_policy_is_operator(const struct aif_policy *p, uid_t uid,
			    const gid_t *gids, size_t ngids)
{
	if (uid == 0)
		return true;
	if (!p)
		return false;
	return _has_uid(p->operator_uids, p->noperator_uids, uid) ||
	       _has_any_gid(p->operator_gids, p->noperator_gids, gids, ngids);
}

const char *aif_policy_path(const struct aif_policy *p)
{
	return p ? p->path : NULL;
}

uint16_t aif_policy_balance_port(const struct aif_policy *p)
{
	return p ? p->balance_port : 0;
}

const char *aif_policy_metrics(const struct aif_policy *p, unsigned *interval)
{
	if (interval)
		*interval = p && p->metrics_interval ? p->metrics_interval :
			AIF_METRICS_INTERVAL;
	return p ? p->metrics_file : NULL;
}

void aif_policy_priority(const struct aif_policy *p,
			 struct aif_priority_weights *out)
{
	static const struct aif_priority_weights none;

	*out = p ? p->priority : none;
}

bool aif_project_paced(const struct aif_project *proj)
{
	if (proj->pacing >= 0)
		return proj->pacing;
	return proj->klass && proj->klass->pacing;
}

const char *aif_policy_hash(const struct aif_policy *p)
{
	return p ? p->hash : NULL;
}

/*
 * A listed type's weight, else default_gpu_weight, else -1: the caller
 * refuses such a job. type NULL or "" (a request naming no type) is
 * looked up as "" and so takes the default.
 */
double aif_policy_gpu_weight(const struct aif_policy *p, const char *type)
{
	const struct aif_gpu_weight *w = NULL;

	if (!p)
		return -1.0;
	if (type && type[0] && p->ngpu_weights)
		w = bsearch(type, p->gpu_weights, p->ngpu_weights,
			    sizeof(*p->gpu_weights), _key_gpu_weight);
	if (w)
		return w->weight;
	return p->has_default_gpu_weight ? p->default_gpu_weight : -1.0;
}

double aif_policy_qos_weight(const struct aif_policy *p, const char *qos)
{
	const struct aif_gpu_weight *w = NULL;

	if (p && qos && qos[0] && p->nqos_weights)
		w = bsearch(qos, p->qos_weights, p->nqos_weights,
			    sizeof(*p->qos_weights), _key_gpu_weight);
	return w ? w->weight : 1.0;
}

double aif_policy_rate(const struct aif_policy *p, const char *type,
		       const char *qos)
{
	double w = aif_policy_gpu_weight(p, type);

	return w < 0 ? w : w * aif_policy_qos_weight(p, qos);
}

size_t aif_policy_gpu_weights(const struct aif_policy *p,
			      const struct aif_gpu_weight **list)
{
	*list = p ? p->gpu_weights : NULL;
	return p ? p->ngpu_weights : 0;
}
