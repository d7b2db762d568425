/*
 * slurm-aifactory policy library: the layout of a policy snapshot and the
 * helpers policy.c and the loader (policy_load.h) share. Not for the
 * plugins: they see struct aif_policy only through the accessors of
 * aifactory.h.
 *
 * Memory: everything a snapshot points to (the structs of aifactory.h,
 * their strings and arrays, the indexes) lives in one arena owned by the
 * snapshot, so the last aif_policy_unref() frees it in one sweep and a
 * load that fails half way frees it the same way.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef AIF_POLICY_INTERNAL_H
#define AIF_POLICY_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "aifactory.h"

/* Inside the library only: not exported (tests/0008-library-exports.t). */
#pragma GCC visibility push(hidden)

/*
 * What one load may read (docs/policy-schema.md, "Limits"). The loader
 * runs inside slurmctld, so a huge or hostile policy must be refused
 * before it costs much memory; docs/policy-loader.md, "Memory", says
 * what each costs.
 */
#define AIF_POLICY_FILE_MAX (16u << 20)	/* bytes in the main policy file */
#define AIF_PROJECT_FILE_MAX (256u << 10) /* bytes in one project file */
#define AIF_POLICY_BYTES_MAX (64u << 20) /* bytes in all files together */
#define AIF_PROJECT_FILES_MAX 100000	/* files in project_dir */
#define AIF_POLICY_VALUES_MAX 2000000	/* JSON values in all files */
#define AIF_FILE_CONTAINERS_MAX 100000	/* objects and arrays in one file */

#define AIF_LOAD_ERRORS_MAX 100		/* errors (and warnings) kept */
#define AIF_PATH_MAX 512		/* a key path while loading */
#define AIF_MINUTES_MAX (365 * 24 * 60)	/* the longest time: 365 days */

/* A bump allocator: chunks freed all at once. */
struct aif_arena_chunk;
struct aif_arena {
	struct aif_arena_chunk *head;
};

/* size zeroed bytes aligned for any type, or NULL when out of memory. */
void *aif_arena_alloc(struct aif_arena *a, size_t size);
/* nmemb * size, checked for overflow. */
void *aif_arena_calloc(struct aif_arena *a, size_t nmemb, size_t size);
char *aif_arena_strdup(struct aif_arena *a, const char *s);
void aif_arena_free(struct aif_arena *a);

/* One entry of the member indexes: id (a uid or a gid) may use project. */
struct aif_id_project {
	id_t id;
	size_t project;		/* index into aif_policy.projects */
};

struct aif_uid_name {
	uid_t uid;
	const char *name;	/* into a project's or the operators' users */
};

/* A file or directory as the loader read it, for aif_policy_unchanged(). */
struct aif_file_id {
	const char *name;	/* a project file's name in project_dir */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtim, ctim;
};

struct aif_policy {
	atomic_size_t refs;
	struct aif_arena arena;

	const char *path;		/* the main file, as given to load */
	char hash[65];			/* SHA-256 of the files, hex */
	const char *project_dir;	/* as resolved; NULL if none */
	struct aif_file_id main_id;	/* path, as read */
	struct aif_file_id dir_id;	/* project_dir, as opened */
	struct aif_file_id *file_ids;	/* its project files, by name */
	size_t nfile_ids;
	uint16_t balance_port;		/* members' balance queries; 0: none */
	const char *metrics_file;	/* Prometheus textfile; NULL: none */
	unsigned metrics_interval;	/* seconds between two writes */
	struct aif_priority_weights priority;	/* zero: no "priority" */

	struct aif_class *classes;	/* sorted by name */
	size_t nclasses;
	struct aif_project *projects;	/* sorted by name */
	size_t nprojects;
	/* Their names hashed (aif_policy_index_projects): index + 1, 0 for
	 * an empty slot; nslots a power of two, at least twice nprojects.
	 * A lookup at submit and per pending job touches a cache line or
	 * two, where a binary search of 10,000 projects touches fourteen. */
	uint32_t *project_slots;
	size_t nslots;

	bool has_modes;			/* modes given: projects must use one */
	char **modes;			/* sorted */
	size_t nmodes;
	bool has_sectors;
	char **sectors;			/* sorted */
	size_t nsectors;

	struct aif_gpu_weight *gpu_weights;	/* sorted by type */
	size_t ngpu_weights;
	bool has_default_gpu_weight;
	double default_gpu_weight;
	struct aif_gpu_weight *qos_weights;	/* type holds the QOS; sorted */
	size_t nqos_weights;

	char **operator_users;		/* as written */
	size_t noperator_users;
	char **operator_groups;
	size_t noperator_groups;
	uid_t *operator_uids;		/* resolved, sorted, unique */
	size_t noperator_uids;
	gid_t *operator_gids;
	size_t noperator_gids;

	/* Who may use which project: sorted by (id, project), unique. */
	struct aif_id_project *uid_index;
	size_t nuid_index;
	struct aif_id_project *gid_index;
	size_t ngid_index;

	struct aif_uid_name *user_names;	/* sorted by uid, unique */
	size_t nuser_names;
};

/* Build p->project_slots in a (after the projects are final): 0, or -1
 * without memory (lookups then fall back to the binary search). */
int aif_policy_index_projects(struct aif_policy *p, struct aif_arena *a);

/* A new, empty snapshot with one reference, or NULL. */
struct aif_policy *aif_policy_alloc(void);

/* Comparators for qsort()/bsearch(), shared so both files sort alike. */
int aif_cmp_str(const void *a, const void *b);		/* char ** */
int aif_cmp_class(const void *a, const void *b);
int aif_cmp_project(const void *a, const void *b);
int aif_cmp_gpu_weight(const void *a, const void *b);
int aif_cmp_uid(const void *a, const void *b);
int aif_cmp_gid(const void *a, const void *b);
int aif_cmp_id_project(const void *a, const void *b);
int aif_cmp_uid_name(const void *a, const void *b);

/* Multiplier for a QOS (billing.qos_weights); 1 when it is not listed. */
double aif_policy_qos_weight(const struct aif_policy *p, const char *qos);

#pragma GCC visibility pop

#endif /* AIF_POLICY_INTERNAL_H */
