/*
 * slurm-aifactory policy library: the loader's inside, shared by the
 * policy_*.c files that load a policy and by nothing else. How a load
 * works, and why, is in docs/policy-loader.md; policy_internal.h has the
 * snapshot it builds.
 *
 * Each file offers the others a few functions, named aif_ld_*: hidden,
 * like everything here. Those that take the loader record an allocation
 * failure in ld->oom and a problem with the policy in ld->errs;
 * aif_policy_load() checks both between its steps.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef AIF_POLICY_LOAD_H
#define AIF_POLICY_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <json.h>

#include "policy_internal.h"
#include "sha256.h"

/* Inside the library only: not exported (tests/0008-library-exports.t). */
#pragma GCC visibility push(hidden)

#define NAME_RULE "1-63 characters of [A-Za-z0-9_.-]"
#define QUOTE_MAX 40			/* characters of a value echoed */
#define NO_PARENT UINT32_MAX		/* the root's keypos.parent */

/* ------------------------------------------------------------------ */
/* Loader state                                                       */

/*
 * Where the scanner saw a value: the root, an object member or an array
 * element. 24 bytes, not the path itself: a path may be 500 bytes, and a
 * file of a few MB can hold millions of values under one long path.
 * The path is rebuilt from the parents when a lookup needs to be sure.
 */
struct keypos {
	uint64_t hash;		/* of its dotted path (_path_hash) */
	uint32_t parent;	/* its container's keypos; NO_PARENT: root */
	uint32_t at;		/* a member: offset of its key; an element:
				 * its index */
	uint32_t val_off;	/* offset of its value */
	int line;		/* line of the key or element */
};

/* One file: the main policy or a project file. */
struct src {
	const char *file;	/* its name in messages */
	const char *source;	/* the same, in the snapshot's arena */
	int order;		/* 0 for the main file, then in name order */
	char prefix[AIF_PATH_MAX];	/* path of its root value */
	char *text;
	size_t len;
	struct stat st;		/* what fstat found on the descriptor read */
	struct keypos *keys;	/* in the order written */
	uint32_t *by_path;	/* indexes into keys, by (hash, index) */
	size_t nkeys;
	json_object *root;
};

struct diag {
	int order;
	size_t seq;
	struct aif_load_error e;
};

/* Invariant: n < cap, so there is always a slot for a closing note. */
struct diags {
	struct diag *v;
	size_t n, cap, dropped;
};

/* name first: the user and group tables sort with aif_cmp_str. */
struct user_entry {
	const char *name;
	int state;		/* 1 found, 0 unknown, -1 lookup failed */
	int err;
	uid_t uid;
};

struct group_entry {
	const char *name;
	int state;
	int err;
	gid_t gid;
	uid_t *members;		/* malloc'ed by the resolver */
	size_t nmembers;
};

_Static_assert(offsetof(struct user_entry, name) == 0 &&
	       offsetof(struct group_entry, name) == 0, "name first");

/*
 * A project as loaded, and what the loader keeps of it once its file is
 * released: where it came from, and the line of each of its users then
 * groups (in loader.lines), for the messages of name resolution.
 */
struct project_info {
	const char *file;	/* in the snapshot's arena */
	int order;
	int line;
	size_t lines;		/* index into loader.lines */
};

struct loaded_project {
	struct aif_project proj;
	struct project_info info;
};

struct loader {
	const struct aif_resolver *res;
	struct aif_policy *p;
	struct diags errs, warns;
	size_t seq;
	bool oom;

	struct src main;
	char *project_dir;	/* as written */
	int project_dir_line;
	size_t bytes;		/* read so far, all files */
	size_t values;		/* JSON values so far, all files */
	bool spent;		/* bytes or values over: read no more files */
	struct aif_sha256 sha;	/* of the files, in the order read */

	struct loaded_project *loaded;	/* in the order loaded */
	size_t nloaded, cap_loaded;
	struct project_info *info;	/* of p->projects[i] */

	int *lines;		/* see struct project_info */
	size_t nlines, cap_lines;
	size_t operator_lines;	/* index into lines */

	struct user_entry *users;	/* sorted by name */
	size_t nusers;
	struct group_entry *groups;
	size_t ngroups;
};

/* An array of names (aif_ld_get_list()), sorted to find duplicates. */
enum list_kind { LIST_NAME, LIST_USER, LIST_GROUP };

struct list_item {
	const char *s;
	size_t i;
};

/* ------------------------------------------------------------------ */
/* policy_load.c: the loader's memory (a NULL has set ld->oom)        */

void *aif_ld_malloc(struct loader *ld, size_t size);
void *aif_ld_calloc(struct loader *ld, size_t nmemb, size_t size);
/* nmemb * size zeroed bytes in the snapshot's arena. */
void *aif_ld_arena(struct loader *ld, size_t nmemb, size_t size);
char *aif_ld_arena_strdup(struct loader *ld, const char *s);
char *aif_ld_strdup(struct loader *ld, const char *s);
void *aif_ld_more(struct loader *ld, void *v, size_t *cap, size_t size);
void aif_ld_sort(void *base, size_t n, size_t size,
		 int (*cmp)(const void *, const void *));

/* ------------------------------------------------------------------ */
/* policy_diag.c: errors and warnings, with file, line and key path   */

char aif_ld_safe_char(char c);
void aif_ld_quote(const char *s, char *buf, size_t len);
bool aif_ld_full(struct diags *d);
void __attribute__((format(printf, 4, 5)))
aif_ld_err(struct loader *ld, const struct src *s, const char *path,
	   const char *fmt, ...);
void __attribute__((format(printf, 5, 6)))
aif_ld_err_line(struct loader *ld, const struct src *s, int line,
		const char *path, const char *fmt, ...);
void __attribute__((format(printf, 5, 6)))
aif_ld_warn_line(struct loader *ld, const struct src *s, int line,
		 const char *path, const char *fmt, ...);
void aif_ld_err_missing(struct loader *ld, const struct src *s,
			const char *obj_path, const char *key);
void aif_ld_diags_finish(struct loader *ld, struct diags *d, bool errors,
			 struct aif_load_error **out, size_t *nout);

/* ------------------------------------------------------------------ */
/* policy_scan.c: the JSON text, scanned for positions, then parsed   */

void aif_ld_path_key(char *buf, const char *parent, const char *key);
void aif_ld_path_index(char *buf, const char *parent, size_t i);
int aif_ld_line_of(const struct src *s, const char *path);
bool aif_ld_text_of(const struct src *s, const char *path, char *buf,
		    size_t len);
bool aif_ld_parse(struct loader *ld, struct src *s, bool project);

/* ------------------------------------------------------------------ */
/* policy_trust.c: reading only files no one else could have written  */

const char *aif_ld_size_text(size_t bytes, char *buf, size_t len);
int aif_ld_read_file(struct loader *ld, struct src *s, int dirfd,
		     const char *name, bool project);
int aif_ld_open_project_dir(struct loader *ld, const char *dir,
			    struct stat *st);

/* ------------------------------------------------------------------ */
/* policy_value.c: typed values, each checked with its own error      */

bool aif_ld_is_name(const char *s);
bool aif_ld_expect(struct loader *ld, const struct src *s, const char *path,
		   json_object *v, enum json_type type, const char *what);
bool aif_ld_int_value(struct loader *ld, const struct src *s,
		      const char *path, json_object *v, int64_t *out,
		      bool *overflow);
bool aif_ld_get_int(struct loader *ld, const struct src *s, const char *path,
		    json_object *v, int64_t min, int64_t max, int64_t *out);
void aif_ld_get_limit(struct loader *ld, const struct src *s,
		      const char *path, json_object *v, int64_t min,
		      uint32_t *out);
const char *aif_ld_num_text(const struct src *s, const char *path,
			    double d, char *buf, size_t len);
bool aif_ld_get_number(struct loader *ld, const struct src *s,
		       const char *path, json_object *v, double *out);
bool aif_ld_get_weight(struct loader *ld, const struct src *s,
		       const char *path, json_object *v, double *out);
bool aif_ld_get_bool(struct loader *ld, const struct src *s,
		     const char *path, json_object *v, bool *out);
const char *aif_ld_get_string(struct loader *ld, const struct src *s,
			      const char *path, json_object *v);
bool aif_ld_get_name(struct loader *ld, const struct src *s,
		     const char *path, json_object *v,
		     char out[AIF_NAME_MAX]);
bool aif_ld_get_time(struct loader *ld, const struct src *s,
		     const char *path, json_object *v, uint32_t *out);
bool aif_ld_get_date(struct loader *ld, const struct src *s,
		     const char *path, json_object *v, bool end_of_day,
		     time_t *out);
int aif_ld_cmp_list_item(const void *a, const void *b);
bool aif_ld_get_list(struct loader *ld, const struct src *s,
		     const char *path, json_object *v, enum list_kind kind,
		     bool nonempty, char ***out, size_t *nout);

/* ------------------------------------------------------------------ */
/* policy_schema.c: the keys of docs/policy-schema.md                 */

const char *aif_ld_project_name_problem(const char *name);
bool aif_ld_load_main(struct loader *ld);
void aif_ld_add_project(struct loader *ld, const struct src *s,
			const char *path, const char *name, json_object *obj);

/* ------------------------------------------------------------------ */
/* policy_members.c: users and groups resolved; who may use what      */

/* The resolver of a load given none: NSS. */
extern const struct aif_resolver aif_ld_nss_resolver;
void aif_ld_build_members(struct loader *ld);

#pragma GCC visibility pop

#endif /* AIF_POLICY_LOAD_H */
