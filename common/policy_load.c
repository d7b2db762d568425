/*
 * slurm-aifactory policy library: loading and checking the policy file.
 * How a load works and why (positions, memory, trust):
 * docs/policy-loader.md.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* the GNU strerror_r, qsort_r */
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <math.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json.h>

#include "date.h"
#include "text.h"
#include "policy_internal.h"
#include "sha256.h"

#define NAME_RULE "1-63 characters of [A-Za-z0-9_.-]"
#define PROJECT_RULE "1-63 characters of [a-z0-9_.-]"
#define ACCOUNT_RULE "1-63 characters, no blanks, colons or control characters"
#define LIMIT_MAX ((int64_t) AIF_UNLIMITED - 1)	/* the largest limit */
#define SCAN_DEPTH_MAX 64		/* json-c stops at 32 anyway */
#define NSS_BUF_MAX (64u << 20)		/* a getgrnam_r buffer */
#define QUOTE_MAX 40			/* characters of a value echoed */
#define NO_PARENT UINT32_MAX		/* the root's keypos.parent */

/* The scanner's offsets and counts are 32 bits wide. */
_Static_assert(AIF_POLICY_FILE_MAX < UINT32_MAX &&
	       AIF_PROJECT_FILE_MAX < UINT32_MAX &&
	       AIF_POLICY_VALUES_MAX < UINT32_MAX, "limits beyond 32 bits");

/* ------------------------------------------------------------------ */
/* Loader state                                                         */

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

/* ------------------------------------------------------------------ */
/* Small helpers                                                        */

static const char *_strerror(int err, char *buf, size_t len)
{
	return strerror_r(err, buf, len);
}

static void *_malloc(struct loader *ld, size_t size)
{
	void *m = malloc(size ? size : 1);

	if (!m)
		ld->oom = true;
	return m;
}

static void *_calloc(struct loader *ld, size_t nmemb, size_t size)
{
	void *m = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (!m)
		ld->oom = true;
	return m;
}

static void *_arena(struct loader *ld, size_t nmemb, size_t size)
{
	void *m = aif_arena_calloc(&ld->p->arena, nmemb, size);

	if (!m)
		ld->oom = true;
	return m;
}

static char *_arena_strdup(struct loader *ld, const char *s)
{
	char *d = aif_arena_strdup(&ld->p->arena, s);

	if (!d)
		ld->oom = true;
	return d;
}

static char *_strdup(struct loader *ld, const char *s)
{
	char *d = strdup(s);

	if (!d)
		ld->oom = true;
	return d;
}

/*
 * A vector of *cap elements of size bytes, twice as long (16 at first):
 * the new vector, or NULL (v untouched, *cap too) when out of memory.
 */
static void *_more(struct loader *ld, void *v, size_t *cap, size_t size)
{
	size_t ncap = *cap ? *cap * 2 : 16;
	void *nv = ncap <= SIZE_MAX / size ? realloc(v, ncap * size) : NULL;

	if (!nv) {
		ld->oom = true;
		return NULL;
	}
	*cap = ncap;
	return nv;
}

/* A byte of the file, safe to echo in a message or a path. */
static char _safe_char(char c)
{
	unsigned char u = (unsigned char) c;

	return (u < 0x20 || u == 0x7f) ? '?' : c;
}

/* s made safe in place (see _safe_char()). */
static void _make_safe(char *s)
{
	for (; *s; s++)
		*s = _safe_char(*s);
}

/* A value from the file, safe and short enough to echo in a message. */
static void _quote(const char *s, char *buf, size_t len)
{
	size_t i, o = 0;

	for (i = 0; s[i] && o + 5 < len && i < QUOTE_MAX; i++)
		buf[o++] = _safe_char(s[i]);
	if (s[i] && o + 4 < len)
		memcpy(buf + o, "...", 3), o += 3;
	buf[o] = '\0';
}

/*
 * parent "." key, or key alone at the root, bounded. The scanner and the
 * checks build paths with these two only, so they always agree.
 */
static void _path_key(char *buf, const char *parent, const char *key)
{
	size_t o = 0;

	for (; *parent && o < AIF_PATH_MAX - 1; parent++)
		buf[o++] = *parent;
	if (o && o < AIF_PATH_MAX - 1)
		buf[o++] = '.';
	for (; *key && o < AIF_PATH_MAX - 1; key++)
		buf[o++] = _safe_char(*key);
	buf[o] = '\0';
}

static void _path_index(char *buf, const char *parent, size_t i)
{
	char idx[32];
	const char *q;
	size_t o = 0;

	snprintf(idx, sizeof(idx), "[%zu]", i);
	for (; *parent && o < AIF_PATH_MAX - 1; parent++)
		buf[o++] = *parent;
	for (q = idx; *q && o < AIF_PATH_MAX - 1; q++)
		buf[o++] = *q;
	buf[o] = '\0';
}

static bool _is_name(const char *s)
{
	size_t n;

	for (n = 0; s[n]; n++) {
		char c = s[n];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		      c == '-'))
			return false;
	}
	return n >= 1 && n < AIF_NAME_MAX;
}

/* Users and groups come from NSS, which allows more than our names. */
static bool _is_account(const char *s)
{
	size_t n;

	for (n = 0; s[n]; n++) {
		unsigned char c = (unsigned char) s[n];

		if (c <= 0x20 || c == 0x7f || c == ':')
			return false;
	}
	return n >= 1 && n < AIF_NAME_MAX;
}

static bool _has_upper(const char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			return true;
	return false;
}

static bool _in_list(char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(list[i], s))
			return true;
	return false;
}

static void _copy(char *dst, size_t len, const char *s)
{
	snprintf(dst, len, "%s", s);
}

/* qsort(), which must not see a NULL base even with nothing to sort. */
static void _sort(void *base, size_t n, size_t size,
		  int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}

/* ------------------------------------------------------------------ */
/* Diagnostics                                                          */

/* FNV-1a, 64 bits: the path index's key. A collision only costs a
 * second look (_find compares the rebuilt path). */
static uint64_t _path_hash(const char *path)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *path; path++) {
		h ^= (unsigned char) *path;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static bool _key_at(const struct src *s, size_t off, char *out);

/* The dotted path of s->keys[k], as the scanner built it. */
static void _path_of(const struct src *s, uint32_t k, char *buf)
{
	uint32_t chain[SCAN_DEPTH_MAX + 2];
	char parent[AIF_PATH_MAX], key[AIF_PATH_MAX];
	size_t n = 0;

	for (; k != NO_PARENT && n < sizeof(chain) / sizeof(*chain);
	     k = s->keys[k].parent)
		chain[n++] = k;
	_copy(buf, AIF_PATH_MAX, s->prefix);
	/* chain[n - 1] is the root; walk down from it. */
	while (n-- > 1) {
		const struct keypos *up = &s->keys[chain[n]];
		const struct keypos *kp = &s->keys[chain[n - 1]];

		_copy(parent, sizeof(parent), buf);
		if (s->text[up->val_off] == '{') {
			_key_at(s, kp->at, key);
			_path_key(buf, parent, key);
		} else {
			_path_index(buf, parent, kp->at);
		}
	}
}

/*
 * The keypos of path: among equal paths, the last one written, which is
 * the one json-c kept. by_path is sorted by (hash, index), so that is the
 * first match walking back from the end of the hash's run.
 */
static const struct keypos *_find(const struct src *s, const char *path)
{
	uint64_t h = _path_hash(path);
	size_t lo = 0, hi = s->nkeys;
	char buf[AIF_PATH_MAX];

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->keys[s->by_path[mid]].hash <= h)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo && s->keys[s->by_path[lo - 1]].hash == h; lo--) {
		_path_of(s, s->by_path[lo - 1], buf);
		if (!strcmp(buf, path))
			return &s->keys[s->by_path[lo - 1]];
	}
	return NULL;
}

/* The line of path, or of its nearest ancestor the scanner saw; 0 once
 * the file has been released. */
static int _line_of(const struct src *s, const char *path)
{
	char buf[AIF_PATH_MAX];

	if (!s->nkeys)
		return 0;
	_copy(buf, sizeof(buf), path);
	for (;;) {
		const struct keypos *k = _find(s, buf);
		char *dot, *bracket;

		if (k)
			return k->line;
		if (!buf[0])
			return 0;
		dot = strrchr(buf, '.');
		bracket = strrchr(buf, '[');
		if (bracket && (!dot || bracket > dot))
			*bracket = '\0';
		else if (dot)
			*dot = '\0';
		else
			buf[0] = '\0';
	}
}

/* No room left: count it, and skip looking up its line. */
static bool _full(struct diags *d)
{
	if (d->n < AIF_LOAD_ERRORS_MAX)
		return false;
	d->dropped++;
	return true;
}

static void __attribute__((format(printf, 6, 0)))
_vdiag(struct loader *ld, struct diags *d, const struct src *s, int line,
       const char *path, const char *fmt, va_list ap)
{
	struct diag *x;

	if (_full(d))
		return;
	if (d->n + 1 >= d->cap) {
		struct diag *v = _more(ld, d->v, &d->cap, sizeof(*v));

		if (!v)
			return;
		d->v = v;
	}
	x = &d->v[d->n++];
	memset(x, 0, sizeof(*x));
	x->order = s->order;
	x->seq = ld->seq++;
	_copy(x->e.file, sizeof(x->e.file), s->file ? s->file : "");
	x->e.line = line;
	_copy(x->e.path, sizeof(x->e.path), path);
	vsnprintf(x->e.reason, sizeof(x->e.reason), fmt, ap);
	/* Whatever a caller passed raw (a file name from project_dir, a
	 * key), nothing reaches a log or a terminal as a control byte. */
	_make_safe(x->e.file);
	_make_safe(x->e.path);
	_make_safe(x->e.reason);
}

/* An error at path, on the line where path is written. */
static void __attribute__((format(printf, 4, 5)))
_err(struct loader *ld, const struct src *s, const char *path,
     const char *fmt, ...)
{
	va_list ap;

	if (_full(&ld->errs))
		return;
	va_start(ap, fmt);
	_vdiag(ld, &ld->errs, s, _line_of(s, path), path, fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 5, 6)))
_err_line(struct loader *ld, const struct src *s, int line, const char *path,
	  const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	_vdiag(ld, &ld->errs, s, line, path, fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 5, 6)))
_warn_line(struct loader *ld, const struct src *s, int line,
	   const char *path, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	_vdiag(ld, &ld->warns, s, line, path, fmt, ap);
	va_end(ap);
}

/* A required key that is not there: reported on its object's line. */
static void _err_missing(struct loader *ld, const struct src *s,
			 const char *obj_path, const char *key)
{
	char kp[AIF_PATH_MAX];

	_path_key(kp, obj_path, key);
	_err_line(ld, s, _line_of(s, obj_path), kp, "missing (required)");
}

static int _cmp_diag(const void *a, const void *b)
{
	const struct diag *x = a, *y = b;

	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	if (x->e.line != y->e.line)
		return x->e.line < y->e.line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * Sort, add the closing note, and hand the array over as a plain array
 * of struct aif_load_error, compacted in place so that this last step
 * needs no memory.
 */
static void _diags_finish(struct loader *ld, struct diags *d, bool errors,
			  struct aif_load_error **out, size_t *nout)
{
	struct aif_load_error *e;
	struct diag *x = NULL;

	_sort(d->v, d->n, sizeof(*d->v), _cmp_diag);
	if (errors && ld->oom) {
		x = &d->v[d->n++];
		memset(x, 0, sizeof(*x));
		_copy(x->e.reason, sizeof(x->e.reason), "out of memory");
	} else if (d->dropped) {
		x = &d->v[d->n++];
		memset(x, 0, sizeof(*x));
		snprintf(x->e.reason, sizeof(x->e.reason),
			 "%zu more %s not shown", d->dropped,
			 errors ? "errors" : "warnings");
	}
	if (x)
		_copy(x->e.file, sizeof(x->e.file),
		      ld->main.file ? ld->main.file : "");

	e = (struct aif_load_error *) d->v;
	for (size_t i = 0; i < d->n; i++)
		memmove(&e[i], &d->v[i].e, sizeof(e[i]));
	if (out && d->n) {
		*out = e;
		*nout = d->n;
	} else {
		free(d->v);
	}
	d->v = NULL;
	d->n = d->cap = 0;
}

/* ------------------------------------------------------------------ */
/* Reading a file we are going to trust                                 */

/* Security, as munge does for its key: docs/policy-loader.md, "Trusting
 * the files", says what is checked and why. */

static bool _trusted_owner(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

/* "16 MiB", "256 KiB": a limit in messages. */
static const char *_size_text(size_t bytes, char *buf, size_t len)
{
	if (bytes >= (1u << 20) && !(bytes & ((1u << 20) - 1)))
		snprintf(buf, len, "%zu MiB", bytes >> 20);
	else if (bytes >= (1u << 10) && !(bytes & ((1u << 10) - 1)))
		snprintf(buf, len, "%zu KiB", bytes >> 10);
	else
		snprintf(buf, len, "%zu bytes", bytes);
	return buf;
}

/* The directory part of path ("." for a bare name), malloc'ed. */
static char *_dir_of(struct loader *ld, const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;

	if (!slash)
		return _strdup(ld, ".");
	while (slash > path && slash[-1] == '/')
		slash--;
	if (slash == path)
		return _strdup(ld, "/");
	if ((dir = _malloc(ld, (size_t) (slash - path) + 1)))
		snprintf(dir, (size_t) (slash - path) + 1, "%s", path);
	return dir;
}

/*
 * A directory on the path to what s names (see _check_parents()): owned
 * by root or by us and, unless it is dir itself (checked by the caller),
 * not writable by group or others without the sticky bit (as /tmp, where
 * only an entry's owner may rename it). line and kpath say where in the
 * policy the path came from (project_dir), or 0 and "". Returns false
 * after recording an error.
 */
static bool _check_parent(struct loader *ld, const struct src *s, int line,
			  const char *kpath, const char *path,
			  const char *link, const char *what, bool self)
{
	char ebuf[128], of[AIF_PATH_MAX + 32] = "";
	struct stat st;

	if (link)
		snprintf(of, sizeof(of), " (of the symlink's target %s)", link);
	if (stat(path, &st)) {
		_err_line(ld, s, line, kpath, "cannot stat directory %s%s: %s",
			  path, of, _strerror(errno, ebuf, sizeof(ebuf)));
		return false;
	}
	if (!_trusted_owner(st.st_uid)) {
		_err_line(ld, s, line, kpath, "directory %s%s is owned by uid "
			  "%lu; every directory on the path to %s must be "
			  "owned by root or by the user slurmctld runs as (uid "
			  "%lu)", path, of, (unsigned long) st.st_uid, what,
			  (unsigned long) geteuid());
		return false;
	}
	if (self || !(st.st_mode & (S_IWGRP | S_IWOTH)) ||
	    (st.st_mode & S_ISVTX))
		return true;
	_err_line(ld, s, line, kpath, "directory %s%s is writable by group or "
		  "others (mode %04o) and not sticky; refusing to trust the "
		  "files under it", path, of, (unsigned) (st.st_mode & 07777));
	return false;
}

/*
 * Every directory on the path to dir, as munge checks its key's: dir
 * itself (its owner; the caller checks its mode), each directory its name
 * goes through ("a" and "a/b" for "a/b/c"), and each parent of the
 * directory it resolves to, up to "/". Both, because a symlink on the way
 * may be replaced by whoever owns the directory holding it. Returns false
 * after recording an error.
 */
static bool _check_parents(struct loader *ld, const struct src *s, int line,
			   const char *kpath, const char *dir,
			   const char *link, const char *what)
{
	char ebuf[128], *name, *real, *cut;
	bool ok = false;

	if (!_check_parent(ld, s, line, kpath, dir, link, what, true))
		return false;
	if (!(name = _strdup(ld, dir)))
		return false;
	real = realpath(dir, NULL);
	if (!real) {
		if (errno == ENOMEM)
			ld->oom = true;
		_err_line(ld, s, line, kpath, "cannot resolve directory %s: %s",
			  dir, _strerror(errno, ebuf, sizeof(ebuf)));
		goto out;
	}
	for (cut = name + 1; (cut = strchr(cut, '/')); cut++) {
		*cut = '\0';
		if (cut[1] && !_check_parent(ld, s, line, kpath, name, link,
					     what, false))
			goto out;
		*cut = '/';
	}
	while ((cut = strrchr(real, '/'))) {
		if (cut == real)
			cut[1] = '\0';
		else
			*cut = '\0';
		if (!_check_parent(ld, s, line, kpath, real, link, what,
				   false))
			goto out;
		if (cut == real)
			break;
	}
	ok = true;
out:
	free(real);
	free(name);
	return ok;
}

/*
 * The directory dir (holding what s names, or the target of s's symlink
 * when link is given) must not be writable by group or others, and every
 * directory on the path to it must be safe (_check_parents()). Returns
 * false after recording an error.
 */
static bool _check_dir(struct loader *ld, const struct src *s,
		       const char *dir, const char *link, const char *what)
{
	char ebuf[128];
	struct stat st;

	if (stat(dir, &st)) {
		_err_line(ld, s, 0, "", "cannot stat directory %s: %s", dir,
			  _strerror(errno, ebuf, sizeof(ebuf)));
		return false;
	}
	if (!(st.st_mode & (S_IWGRP | S_IWOTH)))
		return _check_parents(ld, s, 0, "", dir, link, what);
	if (link)
		_err_line(ld, s, 0, "", "directory %s (of the symlink's target "
			  "%s) is writable by group or others (mode %04o); "
			  "refusing to trust it", dir, link,
			  (unsigned) (st.st_mode & 07777));
	else
		_err_line(ld, s, 0, "", "directory %s is writable by group or "
			  "others (mode %04o); refusing to trust the files in "
			  "it", dir, (unsigned) (st.st_mode & 07777));
	return false;
}

/* When s (name in dirfd) is a symlink: the directory of its target. */
static bool _check_link(struct loader *ld, const struct src *s, int dirfd,
			const char *name, const char *what)
{
	char ebuf[128], *real, *dir;
	struct stat st;
	bool ok;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) ||
	    !S_ISLNK(st.st_mode))
		return true;
	if (!(real = realpath(s->file, NULL))) {
		if (errno == ENOMEM)
			ld->oom = true;
		_err_line(ld, s, 0, "", "cannot resolve the symlink: %s",
			  _strerror(errno, ebuf, sizeof(ebuf)));
		return false;
	}
	ok = (dir = _dir_of(ld, real)) && _check_dir(ld, s, dir, real, what);
	free(dir);
	free(real);
	return ok;
}

/* The directory holding the main file (as named, not as resolved). */
static bool _check_dir_of(struct loader *ld, const struct src *s)
{
	char *dir = _dir_of(ld, s->file);
	bool ok = dir && _check_dir(ld, s, dir, NULL, "a policy file");

	free(dir);
	return ok;
}

/*
 * All of fd into *buf (malloc'ed, NUL-terminated) and *len, reading at
 * most one byte more than bound: enough to tell that it is over. hint is
 * the size fstat gave. Returns 0, or -1 after recording an error.
 */
static int _read_fd(struct loader *ld, const struct src *s, int fd,
		    size_t hint, size_t bound, char **buf, size_t *len)
{
	size_t cap = (hint < bound ? hint : bound) + 2;
	char ebuf[128];

	*len = 0;
	if (!(*buf = _malloc(ld, cap)))
		return -1;
	while (*len <= bound) {
		ssize_t n;

		if (*len + 1 == cap) {
			size_t ncap = cap < bound / 2 ? cap * 2 : bound + 2;
			char *nbuf = realloc(*buf, ncap);

			if (!nbuf) {
				ld->oom = true;
				return -1;
			}
			*buf = nbuf;
			cap = ncap;
		}
		n = read(fd, *buf + *len, cap - 1 - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			_err_line(ld, s, 0, "", "cannot read: %s",
				  _strerror(errno, ebuf, sizeof(ebuf)));
			return -1;
		}
		if (n == 0)
			break;
		*len += (size_t) n;
	}
	(*buf)[*len] = '\0';
	return 0;
}

/*
 * Read name (in dirfd; s->file in messages) into s->text (NUL-terminated)
 * and s->len: at most the limit for its kind, and what is left of the
 * load's total. Returns 0, or -1 after recording an error.
 */
static int _read_file(struct loader *ld, struct src *s, int dirfd,
		      const char *name, bool project)
{
	const char *what = project ? "a project file" : "a policy file";
	size_t limit = project ? AIF_PROJECT_FILE_MAX : AIF_POLICY_FILE_MAX;
	size_t left = AIF_POLICY_BYTES_MAX - ld->bytes;
	size_t bound = limit < left ? limit : left, len;
	char ebuf[128], size[32], *buf = NULL;
	struct stat st;
	int fd, rc = -1;

	/* O_NONBLOCK: a FIFO must be refused, not waited on. */
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		_err_line(ld, s, 0, "", "cannot open: %s",
			  _strerror(errno, ebuf, sizeof(ebuf)));
		return -1;
	}
	if (fstat(fd, &st)) {
		_err_line(ld, s, 0, "", "cannot stat: %s",
			  _strerror(errno, ebuf, sizeof(ebuf)));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		_err_line(ld, s, 0, "", "not a regular file");
		goto out;
	}
	if (!_trusted_owner(st.st_uid)) {
		_err_line(ld, s, 0, "", "owned by uid %lu; %s must be owned by "
			  "root or by the user slurmctld runs as (uid %lu)",
			  (unsigned long) st.st_uid, what,
			  (unsigned long) geteuid());
		goto out;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		_err_line(ld, s, 0, "",
			  "writable by group or others (mode %04o); "
			  "refusing to trust it",
			  (unsigned) (st.st_mode & 07777));
		goto out;
	}
	if (!_check_link(ld, s, dirfd, name, what))
		goto out;
	/* project_dir's own checks cover its files. */
	if (!project && !_check_dir_of(ld, s))
		goto out;

	/* Over already by its size: not read at all. */
	if ((uintmax_t) st.st_size > bound)
		len = bound + 1;
	else if (_read_fd(ld, s, fd, (size_t) st.st_size, bound, &buf, &len))
		goto out;
	if (len > limit) {
		_err_line(ld, s, 0, "", "file is larger than %s (the limit for "
			  "%s)", _size_text(limit, size, sizeof(size)), what);
		goto out;
	}
	if (len > left) {
		ld->spent = true;
		_err_line(ld, s, 0, "", "the policy's files are larger than %s "
			  "together (the limit for a policy and its project "
			  "files)", _size_text(AIF_POLICY_BYTES_MAX, size,
					       sizeof(size)));
		goto out;
	}
	s->text = buf;
	s->len = len;
	ld->bytes += len;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	close(fd);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Parsing and scanning                                                 */

static void _line_col(const struct src *s, size_t off, int *line, int *col)
{
	size_t i, start = 0;
	int l = 1;

	if (off > s->len)
		off = s->len;
	for (i = 0; i < off; i++)
		if (s->text[i] == '\n') {
			l++;
			start = i + 1;
		}
	*line = l;
	*col = (int) (off - start) + 1;
}

static void _syntax(struct loader *ld, const struct src *s, size_t off,
		    const char *what)
{
	int line, col;

	_line_col(s, off, &line, &col);
	_err_line(ld, s, line, "", "JSON syntax error at column %d: %s", col,
		  what);
}

/*
 * The scanner makes two passes over a file: the first counts values and
 * objects and checks the syntax, allocating nothing (keys NULL); the
 * second, once json-c has taken the file, records every value in keys,
 * sized by the first.
 */
enum scan_limit { SCAN_OK, SCAN_VALUES, SCAN_CONTAINERS };

struct scanner {
	const struct src *s;
	const char *t;
	size_t len, pos;
	int line;
	struct keypos *keys;	/* NULL: count only */
	size_t n;		/* values so far */
	size_t max;		/* values allowed */
	size_t containers;	/* objects and arrays so far */
	int root_line;
	const char *fail;	/* the first syntax error, at fail_pos */
	size_t fail_pos;
	enum scan_limit limit;	/* or the limit it ran into, at fail_line */
	int fail_line;
};

static bool _scan_fail(struct scanner *sc, const char *what)
{
	if (!sc->fail && !sc->limit) {
		sc->fail = what;
		sc->fail_pos = sc->pos;
	}
	return false;
}

static bool _scan_limit(struct scanner *sc, enum scan_limit limit)
{
	sc->limit = limit;
	sc->fail_line = sc->line;
	return false;
}

static void _scan_ws(struct scanner *sc)
{
	while (sc->pos < sc->len) {
		char c = sc->t[sc->pos];

		if (c == '\n')
			sc->line++;
		else if (c != ' ' && c != '\t' && c != '\r')
			break;
		sc->pos++;
	}
}

static int _hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool _scan_u4(struct scanner *sc, unsigned *cp)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		int h;

		if (sc->pos >= sc->len || (h = _hex(sc->t[sc->pos])) < 0)
			return _scan_fail(sc, "bad \\u escape in a string");
		v = v << 4 | (unsigned) h;
		sc->pos++;
	}
	*cp = v;
	return true;
}


/*
 * A string at sc->pos (on its opening quote). With out, decode it there
 * as json-c does (bounded by AIF_PATH_MAX; a NUL ends it, as it ends a
 * json-c key).
 */
static bool _scan_string(struct scanner *sc, char *out)
{
	size_t o = 0;
	bool ended = false;

	sc->pos++;
	for (;;) {
		char dec[4];
		size_t n = 0;
		unsigned char c;

		if (sc->pos >= sc->len)
			return _scan_fail(sc, "unterminated string");
		c = (unsigned char) sc->t[sc->pos];
		if (c == '"') {
			sc->pos++;
			break;
		}
		if (c < 0x20)
			return _scan_fail(sc, "control character in a string "
					  "(write it as an escape)");
		if (c != '\\') {
			dec[n++] = (char) c;
			sc->pos++;
		} else {
			unsigned cp, lo;

			if (++sc->pos >= sc->len)
				return _scan_fail(sc, "unterminated string");
			c = (unsigned char) sc->t[sc->pos++];
			switch (c) {
			case '"': case '\\': case '/':
				dec[n++] = (char) c;
				break;
			case 'b': dec[n++] = '\b'; break;
			case 'f': dec[n++] = '\f'; break;
			case 'n': dec[n++] = '\n'; break;
			case 'r': dec[n++] = '\r'; break;
			case 't': dec[n++] = '\t'; break;
			case 'u':
				if (!_scan_u4(sc, &cp))
					return false;
				if (cp >= 0xd800 && cp < 0xdc00 &&
				    sc->pos + 1 < sc->len &&
				    sc->t[sc->pos] == '\\' &&
				    sc->t[sc->pos + 1] == 'u') {
					size_t save = sc->pos;

					sc->pos += 2;
					if (!_scan_u4(sc, &lo))
						return false;
					if (lo >= 0xdc00 && lo < 0xe000)
						cp = 0x10000 +
						     ((cp - 0xd800) << 10) +
						     (lo - 0xdc00);
					else
						sc->pos = save;
				}
				if (cp >= 0xd800 && cp < 0xe000)
					cp = 0xfffd;	/* a lone surrogate */
				n = aif_utf8_put(cp, dec);
				break;
			default:
				sc->pos--;
				return _scan_fail(sc, "bad escape in a string");
			}
		}
		if (!out || ended)
			continue;
		for (size_t i = 0; i < n; i++) {
			if (!dec[i] || o >= AIF_PATH_MAX - 1) {
				ended = true;
				break;
			}
			out[o++] = dec[i];
		}
	}
	if (out)
		out[o] = '\0';
	return true;
}

static bool _scan_digits(struct scanner *sc)
{
	size_t start = sc->pos;

	while (sc->pos < sc->len && sc->t[sc->pos] >= '0' &&
	       sc->t[sc->pos] <= '9')
		sc->pos++;
	return sc->pos > start;
}

/* RFC 8259: -? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)? */
static bool _scan_number(struct scanner *sc)
{
	if (sc->t[sc->pos] == '-')
		sc->pos++;
	if (sc->pos < sc->len && sc->t[sc->pos] == '0')
		sc->pos++;
	else if (!_scan_digits(sc))
		return _scan_fail(sc, "invalid number");
	if (sc->pos < sc->len && sc->t[sc->pos] == '.') {
		sc->pos++;
		if (!_scan_digits(sc))
			return _scan_fail(sc, "invalid number");
	}
	if (sc->pos < sc->len &&
	    (sc->t[sc->pos] == 'e' || sc->t[sc->pos] == 'E')) {
		sc->pos++;
		if (sc->pos < sc->len &&
		    (sc->t[sc->pos] == '+' || sc->t[sc->pos] == '-'))
			sc->pos++;
		if (!_scan_digits(sc))
			return _scan_fail(sc, "invalid number");
	}
	return true;
}

static bool _scan_value(struct scanner *sc, uint32_t k, const char *path,
			int depth);

/*
 * The value at sc->pos, of a member (at: the offset of its key), an
 * element (at: its index) or the root, whose key or element is on line.
 */
static bool _scan_item(struct scanner *sc, uint32_t parent, size_t at,
		       const char *path, int line, int depth)
{
	size_t k = sc->n;

	if (sc->n >= sc->max)
		return _scan_limit(sc, SCAN_VALUES);
	sc->n++;
	if (sc->keys)
		sc->keys[k] = (struct keypos) {
			.hash = _path_hash(path),
			.parent = parent,
			.at = (uint32_t) at,
			.val_off = (uint32_t) sc->pos,
			.line = line,
		};
	return _scan_value(sc, (uint32_t) k, path, depth);
}

/* An object or an array begins at sc->pos: count it, and step in. */
static bool _scan_container(struct scanner *sc)
{
	if (++sc->containers > AIF_FILE_CONTAINERS_MAX)
		return _scan_limit(sc, SCAN_CONTAINERS);
	sc->pos++;
	_scan_ws(sc);
	return true;
}

static bool _scan_object(struct scanner *sc, uint32_t k, const char *path,
			 int depth)
{
	if (!_scan_container(sc))
		return false;
	if (sc->pos < sc->len && sc->t[sc->pos] == '}') {
		sc->pos++;
		return true;
	}
	for (;;) {
		char key[AIF_PATH_MAX], kp[AIF_PATH_MAX];
		size_t off;
		int line;

		kp[0] = '\0';
		_scan_ws(sc);
		if (sc->pos >= sc->len)
			return _scan_fail(sc, "unexpected end of data");
		if (sc->t[sc->pos] == '\'')
			return _scan_fail(sc, "strings must be in double "
					  "quotes");
		if (sc->t[sc->pos] != '"')
			return _scan_fail(sc, "expected a key in double "
					  "quotes");
		off = sc->pos;
		line = sc->line;
		if (!_scan_string(sc, sc->keys ? key : NULL))
			return false;
		_scan_ws(sc);
		if (sc->pos >= sc->len || sc->t[sc->pos] != ':')
			return _scan_fail(sc, "expected ':' after a key");
		sc->pos++;
		_scan_ws(sc);
		if (sc->keys)
			_path_key(kp, path, key);
		if (!_scan_item(sc, k, off, kp, line, depth + 1))
			return false;
		_scan_ws(sc);
		if (sc->pos < sc->len && sc->t[sc->pos] == ',') {
			sc->pos++;
			continue;
		}
		if (sc->pos < sc->len && sc->t[sc->pos] == '}') {
			sc->pos++;
			return true;
		}
		return _scan_fail(sc, "expected ',' or '}'");
	}
}

static bool _scan_array(struct scanner *sc, uint32_t k, const char *path,
			int depth)
{
	size_t i;

	if (!_scan_container(sc))
		return false;
	if (sc->pos < sc->len && sc->t[sc->pos] == ']') {
		sc->pos++;
		return true;
	}
	for (i = 0;; i++) {
		char ip[AIF_PATH_MAX];

		ip[0] = '\0';
		_scan_ws(sc);
		if (sc->keys)
			_path_index(ip, path, i);
		if (!_scan_item(sc, k, i, ip, sc->line, depth + 1))
			return false;
		_scan_ws(sc);
		if (sc->pos < sc->len && sc->t[sc->pos] == ',') {
			sc->pos++;
			continue;
		}
		if (sc->pos < sc->len && sc->t[sc->pos] == ']') {
			sc->pos++;
			return true;
		}
		return _scan_fail(sc, "expected ',' or ']'");
	}
}

static bool _scan_literal(struct scanner *sc, const char *word)
{
	size_t n = strlen(word);

	if (sc->len - sc->pos < n || memcmp(sc->t + sc->pos, word, n))
		return _scan_fail(sc, "unexpected character");
	sc->pos += n;
	return true;
}

static bool _scan_value(struct scanner *sc, uint32_t k, const char *path,
			int depth)
{
	char c;

	if (depth > SCAN_DEPTH_MAX)
		return _scan_fail(sc, "nested too deeply");
	if (sc->pos >= sc->len)
		return _scan_fail(sc, "unexpected end of data");
	c = sc->t[sc->pos];
	switch (c) {
	case '{':
		return _scan_object(sc, k, path, depth);
	case '[':
		return _scan_array(sc, k, path, depth);
	case '"':
		return _scan_string(sc, NULL);
	case 't':
		return _scan_literal(sc, "true");
	case 'f':
		return _scan_literal(sc, "false");
	case 'n':
		return _scan_literal(sc, "null");
	case '\'':
		return _scan_fail(sc, "strings must be in double quotes");
	case 'N': case 'I':
		return _scan_fail(sc, "NaN and Infinity are not JSON");
	default:
		if (c == '-' || (c >= '0' && c <= '9'))
			return _scan_number(sc);
		return _scan_fail(sc, "unexpected character");
	}
}

/* One pass over the whole text. */
static bool _scan(struct scanner *sc)
{
	_scan_ws(sc);
	sc->root_line = sc->line;
	if (!_scan_item(sc, NO_PARENT, 0, sc->s->prefix, sc->line, 0))
		return false;
	_scan_ws(sc);
	if (sc->pos < sc->len)
		return _scan_fail(sc, "unexpected data after the JSON value");
	return true;
}

/* The decoded key whose opening quote is at off (bounded, as a path). */
static bool _key_at(const struct src *s, size_t off, char *out)
{
	struct scanner sc = { .s = s, .t = s->text, .len = s->len, .pos = off };

	out[0] = '\0';
	return _scan_string(&sc, out);
}

static int _cmp_by_path(const void *a, const void *b, void *arg)
{
	const struct keypos *keys = arg;
	uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;

	if (keys[x].hash != keys[y].hash)
		return keys[x].hash < keys[y].hash ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* The index of s, with n values (counted already); duplicate keys. */
static bool _index(struct loader *ld, struct src *s, size_t n)
{
	struct scanner sc = {
		.s = s, .t = s->text, .len = s->len, .line = 1, .max = n,
	};
	size_t i;

	if (!(s->keys = _calloc(ld, n, sizeof(*s->keys))) ||
	    !(s->by_path = _calloc(ld, n, sizeof(*s->by_path))))
		return false;
	sc.keys = s->keys;
	if (!_scan(&sc) || sc.n != n) {
		/* The first pass took this text: cannot happen. */
		_syntax(ld, s, sc.fail ? sc.fail_pos : 0, "scanner mismatch");
		return false;
	}
	s->nkeys = n;
	for (i = 0; i < n; i++)
		s->by_path[i] = (uint32_t) i;
	if (n > 1)
		qsort_r(s->by_path, n, sizeof(*s->by_path), _cmp_by_path,
			s->keys);

	/* Duplicate keys: members of one object with one key, adjacent in
	 * by_path unless another value with that hash falls between them
	 * (a collision, or the same path reached another way, as "a.b" in
	 * {"a.b": 1, "a": {"b": 2}, "a.b": 3}: json-c keeps both a.b). */
	for (i = 1; i < n; i++) {
		const struct keypos *a = &s->keys[s->by_path[i - 1]];
		const struct keypos *b = &s->keys[s->by_path[i]];
		char ka[AIF_PATH_MAX], kb[AIF_PATH_MAX], path[AIF_PATH_MAX];

		if (a->hash != b->hash || a->parent != b->parent ||
		    b->parent == NO_PARENT ||
		    s->text[s->keys[b->parent].val_off] != '{')
			continue;
		_key_at(s, a->at, ka);
		_key_at(s, b->at, kb);
		if (strcmp(ka, kb) || _full(&ld->errs))
			continue;
		_path_of(s, s->by_path[i], path);
		_err_line(ld, s, b->line, path,
			  "duplicate key (first at line %d)", a->line);
	}
	return true;
}

/*
 * The scanner stopped at a syntax error. json-c's words for it are the
 * ones operators know: ask json-c about the text up to the error and no
 * further (so it builds no more than the scanner counted). If json-c
 * takes that much (it is lenient about single quotes, NaN and control
 * characters), the scanner's words.
 */
static void _syntax_error(struct loader *ld, const struct src *s,
			  const struct scanner *sc)
{
	/* The whole text comes with its NUL, which ends a number. */
	size_t end = sc->fail_pos < s->len ? sc->fail_pos + 1 : s->len + 1;
	struct json_tokener *tok = json_tokener_new();
	enum json_tokener_error jerr;
	json_object *root;

	if (!tok) {
		ld->oom = true;
		return;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
				    JSON_TOKENER_VALIDATE_UTF8);
	root = json_tokener_parse_ex(tok, s->text, (int) end);
	jerr = json_tokener_get_error(tok);
	if (jerr == json_tokener_continue && end > s->len)
		_syntax(ld, s, json_tokener_get_parse_end(tok),
			"unexpected end of data");
	else if (jerr != json_tokener_success &&
		 jerr != json_tokener_continue)
		_syntax(ld, s, json_tokener_get_parse_end(tok),
			json_tokener_error_desc(jerr));
	else
		_syntax(ld, s, sc->fail_pos, sc->fail);
	json_object_put(root);
	json_tokener_free(tok);
}

/*
 * Parse s->text into s->root and index it: count (refusing a file over a
 * limit before json-c sees it), parse, check the root is an object,
 * index. Returns false, with no tree, when there is nothing to check.
 */
static bool _parse(struct loader *ld, struct src *s, bool project)
{
	const char *nul = memchr(s->text, '\0', s->len);
	struct scanner sc = {
		.s = s, .t = s->text, .len = s->len, .line = 1,
		.max = AIF_POLICY_VALUES_MAX - ld->values,
	};
	struct json_tokener *tok;
	enum json_tokener_error jerr;

	/* json-c would take a NUL for the end of the text. */
	if (nul) {
		_syntax(ld, s, (size_t) (nul - s->text),
			"NUL byte in the file");
		return false;
	}
	if (!_scan(&sc)) {
		if (sc.limit == SCAN_VALUES) {
			ld->spent = true;
			_err_line(ld, s, sc.fail_line, "", "more than %d JSON "
				  "values (the limit for a policy and its "
				  "project files together)",
				  AIF_POLICY_VALUES_MAX);
		} else if (sc.limit == SCAN_CONTAINERS) {
			_err_line(ld, s, sc.fail_line, "", "more than %d "
				  "objects and arrays (the limit for one file)",
				  AIF_FILE_CONTAINERS_MAX);
		} else {
			_syntax_error(ld, s, &sc);
		}
		return false;
	}
	ld->values += sc.n;

	if (!(tok = json_tokener_new())) {
		ld->oom = true;
		return false;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
				    JSON_TOKENER_VALIDATE_UTF8);
	/* The length includes the NUL, which ends a number at the end. */
	s->root = json_tokener_parse_ex(tok, s->text, (int) s->len + 1);
	jerr = json_tokener_get_error(tok);
	if (jerr != json_tokener_success) {
		_syntax(ld, s, json_tokener_get_parse_end(tok),
			jerr == json_tokener_continue ?
			"unexpected end of data" :
			json_tokener_error_desc(jerr));
		json_tokener_free(tok);
		json_object_put(s->root);
		s->root = NULL;
		return false;
	}
	json_tokener_free(tok);
	if (!json_object_is_type(s->root, json_type_object)) {
		_err_line(ld, s, sc.root_line, s->prefix, "%s", project ?
			  "a project file must hold one JSON object" :
			  "the policy must be a JSON object");
		json_object_put(s->root);
		s->root = NULL;
		return false;
	}
	if (!_index(ld, s, sc.n) || ld->oom) {
		json_object_put(s->root);
		s->root = NULL;
		return false;
	}
	return true;
}

/* ------------------------------------------------------------------ */
/* Typed values                                                         */

/*
 * The text of the number at path as written, if the scanner saw exactly
 * this path (only numbers are looked up: json-c rounds them).
 */
static bool _text(const struct src *s, const char *path, char *buf,
		  size_t len)
{
	const struct keypos *k = _find(s, path);
	size_t n = 0;

	if (!k)
		return false;
	for (; k->val_off + n < s->len && n < len - 1; n++) {
		char c = s->text[k->val_off + n];

		if (!((c >= '0' && c <= '9') || c == '-' || c == '+' ||
		      c == '.' || c == 'e' || c == 'E'))
			break;
	}
	memcpy(buf, s->text + k->val_off, n);
	buf[n] = '\0';
	return n > 0;
}

/* How a value looks, for "expected X, got Y". */
static const char *_describe(const struct src *s, const char *path,
			     json_object *v, char *buf, size_t len)
{
	char text[QUOTE_MAX + 8], q[QUOTE_MAX + 8];

	switch (json_object_get_type(v)) {
	case json_type_null:
		return "null";
	case json_type_boolean:
		return json_object_get_boolean(v) ? "true" : "false";
	case json_type_object:
		return "an object";
	case json_type_array:
		return "an array";
	case json_type_string:
		_quote(json_object_get_string(v), q, sizeof(q));
		snprintf(buf, len, "the string \"%s\"", q);
		return buf;
	case json_type_int:
	case json_type_double:
		if (!_text(s, path, text, sizeof(text)))
			snprintf(text, sizeof(text), "%g",
				 json_object_get_double(v));
		snprintf(buf, len, "the %s %s",
			 json_object_is_type(v, json_type_int) ?
			 "integer" : "number", text);
		return buf;
	}
	return "a value";
}

static bool _expect(struct loader *ld, const struct src *s, const char *path,
		    json_object *v, enum json_type type, const char *what)
{
	char buf[QUOTE_MAX * 2];

	if (json_object_is_type(v, type))
		return true;
	_err(ld, s, path, "expected %s, got %s", what,
	     _describe(s, path, v, buf, sizeof(buf)));
	return false;
}

/*
 * An integer, written as one: json-c saturates on overflow, so the text
 * is read again with strtoll() and ERANGE noticed.
 */
static bool _int_value(struct loader *ld, const struct src *s,
		       const char *path, json_object *v, int64_t *out,
		       bool *overflow)
{
	char text[64];

	if (!_expect(ld, s, path, v, json_type_int, "an integer"))
		return false;
	*overflow = false;
	*out = json_object_get_int64(v);
	if (_text(s, path, text, sizeof(text))) {
		long long ll;

		errno = 0;
		ll = strtoll(text, NULL, 10);
		*overflow = errno == ERANGE;
		*out = ll;
	}
	return true;
}

static bool _get_int(struct loader *ld, const struct src *s, const char *path,
		     json_object *v, int64_t min, int64_t max, int64_t *out)
{
	char text[64];
	bool overflow;

	if (!_int_value(ld, s, path, v, out, &overflow))
		return false;
	if (overflow || *out < min || *out > max) {
		if (!_text(s, path, text, sizeof(text)))
			snprintf(text, sizeof(text), "%" PRId64, *out);
		_err(ld, s, path, "must be an integer from %" PRId64 " to %"
		     PRId64 ", got %s", min, max, text);
		return false;
	}
	return true;
}

/* A class limit: AIF_UNLIMITED itself stays the "no limit" marker. */
static void _get_limit(struct loader *ld, const struct src *s,
		       const char *path, json_object *v, int64_t min,
		       uint32_t *out)
{
	int64_t n;

	if (_get_int(ld, s, path, v, min, LIMIT_MAX, &n))
		*out = (uint32_t) n;
}

/* The number as written, for messages. */
static const char *_num_text(const struct src *s, const char *path,
			     double d, char *buf, size_t len)
{
	if (!_text(s, path, buf, len))
		snprintf(buf, len, "%g", d);
	return buf;
}

static bool _get_number(struct loader *ld, const struct src *s,
			const char *path, json_object *v, double *out)
{
	char buf[QUOTE_MAX * 2];

	if (!json_object_is_type(v, json_type_int) &&
	    !json_object_is_type(v, json_type_double)) {
		_err(ld, s, path, "expected a number, got %s",
		     _describe(s, path, v, buf, sizeof(buf)));
		return false;
	}
	*out = json_object_get_double(v);
	if (!isfinite(*out)) {
		_err(ld, s, path, "must be a finite number, got %s",
		     _num_text(s, path, *out, buf, sizeof(buf)));
		return false;
	}
	return true;
}

/* A number >= 0 (weights). */
static bool _get_weight(struct loader *ld, const struct src *s,
			const char *path, json_object *v, double *out)
{
	char text[64];

	if (!_get_number(ld, s, path, v, out))
		return false;
	if (*out < 0) {
		_err(ld, s, path, "must be >= 0, got %s",
		     _num_text(s, path, *out, text, sizeof(text)));
		return false;
	}
	return true;
}

static bool _get_bool(struct loader *ld, const struct src *s,
		      const char *path, json_object *v, bool *out)
{
	if (!_expect(ld, s, path, v, json_type_boolean, "true or false"))
		return false;
	*out = json_object_get_boolean(v);
	return true;
}

static const char *_get_string(struct loader *ld, const struct src *s,
			       const char *path, json_object *v)
{
	if (!_expect(ld, s, path, v, json_type_string, "a string"))
		return NULL;
	return json_object_get_string(v);
}

/* A name (class, partition, QOS, GPU type, mode, sector) into out. */
static bool _get_name(struct loader *ld, const struct src *s,
		      const char *path, json_object *v,
		      char out[AIF_NAME_MAX])
{
	const char *str = _get_string(ld, s, path, v);
	char q[QUOTE_MAX + 8];

	if (!str)
		return false;
	if (!_is_name(str)) {
		_quote(str, q, sizeof(q));
		_err(ld, s, path, "must be a name (" NAME_RULE "), got \"%s\"",
		     q);
		return false;
	}
	_copy(out, AIF_NAME_MAX, str);
	return true;
}

/* A time: an sbatch -t string or whole minutes. */
static bool _get_time(struct loader *ld, const struct src *s,
		      const char *path, json_object *v, uint32_t *out)
{
	char q[QUOTE_MAX + 8], text[64];
	const char *str;
	int64_t n;
	bool overflow;

	if (json_object_is_type(v, json_type_int)) {
		if (!_int_value(ld, s, path, v, &n, &overflow))
			return false;
		if (overflow || n < 1 || n > AIF_MINUTES_MAX) {
			if (!_text(s, path, text, sizeof(text)))
				snprintf(text, sizeof(text), "%" PRId64, n);
			_err(ld, s, path, "must be from 1 to %d minutes, "
			     "got %s", AIF_MINUTES_MAX, text);
			return false;
		}
		*out = (uint32_t) n;
		return true;
	}
	if (!json_object_is_type(v, json_type_string)) {
		_err(ld, s, path, "expected a time (a string such as "
		     "\"2-00:00:00\" or whole minutes), got %s",
		     _describe(s, path, v, q, sizeof(q)));
		return false;
	}
	str = json_object_get_string(v);
	_quote(str, q, sizeof(q));
	if (aif_parse_minutes(str, out)) {
		_err(ld, s, path, "must be a time (\"MM\", \"HH:MM:SS\", "
		     "\"D-HH:MM:SS\", \"UNLIMITED\" or whole minutes), "
		     "got \"%s\"", q);
		return false;
	}
	if (*out == 0) {
		_err(ld, s, path, "must be at least one minute, got \"%s\"", q);
		return false;
	}
	return true;
}

static bool _get_date(struct loader *ld, const struct src *s,
		      const char *path, json_object *v, bool end_of_day,
		      time_t *out)
{
	const char *str = _get_string(ld, s, path, v);
	char q[QUOTE_MAX + 8];

	if (!str)
		return false;
	if (aif_date_parse(str, strlen(str), AIF_DATE_DAY | AIF_DATE_SECOND |
			   (end_of_day ? AIF_DATE_END_OF_DAY : 0), out)) {
		_quote(str, q, sizeof(q));
		_err(ld, s, path, "must be a date (\"YYYY-MM-DD\" or "
		     "\"YYYY-MM-DDTHH:MM:SSZ\", UTC), got \"%s\"", q);
		return false;
	}
	return true;
}

enum list_kind { LIST_NAME, LIST_USER, LIST_GROUP };

struct list_item {
	const char *s;
	size_t i;
};

static int _cmp_list_item(const void *a, const void *b)
{
	const struct list_item *x = a, *y = b;
	int c = strcmp(x->s, y->s);

	if (c)
		return c;
	return x->i < y->i ? -1 : x->i > y->i;
}

/*
 * An array of names into the arena. A bad element is reported and kept
 * as "" so that later checks can still walk the list. Duplicates are
 * errors (a list with one name twice is a typo for another name).
 */
static bool _get_list(struct loader *ld, const struct src *s,
		      const char *path, json_object *v, enum list_kind kind,
		      bool nonempty, char ***out, size_t *nout)
{
	struct list_item *sorted;
	char ip[AIF_PATH_MAX], q[QUOTE_MAX + 8];
	size_t n, i, bad = 0;
	char **list;

	if (!_expect(ld, s, path, v, json_type_array, "an array"))
		return false;
	n = json_object_array_length(v);
	if (!n && nonempty) {
		_err(ld, s, path, "must not be empty");
		return false;
	}
	if (!(list = _arena(ld, n ? n : 1, sizeof(*list))))
		return false;
	if (!(sorted = _calloc(ld, n, sizeof(*sorted))))
		return false;
	for (i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(v, i);
		const char *str;

		_path_index(ip, path, i);
		list[i] = "";
		if (!(str = _get_string(ld, s, ip, e))) {
			bad++;
			continue;
		}
		_quote(str, q, sizeof(q));
		if (kind == LIST_NAME && !_is_name(str)) {
			_err(ld, s, ip, "must be a name (" NAME_RULE "), "
			     "got \"%s\"", q);
			bad++;
			continue;
		}
		if (kind != LIST_NAME && !_is_account(str)) {
			_err(ld, s, ip, "must be a %s name (" ACCOUNT_RULE
			     "), got \"%s\"",
			     kind == LIST_USER ? "user" : "group", q);
			bad++;
			continue;
		}
		if (!(list[i] = _arena_strdup(ld, str))) {
			free(sorted);
			return false;
		}
	}
	for (i = 0; i < n; i++)
		sorted[i] = (struct list_item) { list[i], i };
	_sort(sorted, n, sizeof(*sorted), _cmp_list_item);
	for (i = 1; i < n; i++) {
		if (!sorted[i].s[0] || strcmp(sorted[i - 1].s, sorted[i].s))
			continue;
		_path_index(ip, path, sorted[i].i);
		_quote(sorted[i].s, q, sizeof(q));
		_err(ld, s, ip, "duplicate \"%s\" (also [%zu])", q,
		     sorted[i - 1].i);
		bad++;
	}
	free(sorted);
	*out = list;
	*nout = n;
	return !bad && !ld->oom;
}

/* Walk an object's members; the callback reports unknown keys itself. */
#define FOREACH_MEMBER(obj, key, val, it, end)				\
	for (struct json_object_iterator it = json_object_iter_begin(obj), \
	     end = json_object_iter_end(obj);				\
	     !json_object_iter_equal(&it, &end) &&			\
	     ((key) = json_object_iter_peek_name(&it),			\
	      (val) = json_object_iter_peek_value(&it), 1);		\
	     json_object_iter_next(&it))

/* ------------------------------------------------------------------ */
/* The sections                                                         */

static void _load_billing(struct loader *ld, const struct src *s,
			  const char *path, json_object *obj)
{
	struct aif_policy *p = ld->p;
	const char *key;
	json_object *val;

	if (!_expect(ld, s, path, obj, json_type_object, "an object"))
		return;
	FOREACH_MEMBER(obj, key, val, it, end) {
		char kp[AIF_PATH_MAX];
		bool gpu = !strcmp(key, "gpu_weights");

		_path_key(kp, path, key);
		if (gpu || !strcmp(key, "qos_weights")) {
			struct aif_gpu_weight *w;
			const char *name;
			json_object *wv;
			size_t n = 0;

			if (!_expect(ld, s, kp, val, json_type_object,
				     "an object"))
				continue;
			w = _arena(ld, json_object_object_length(val) + 1,
				   sizeof(*w));
			if (!w)
				return;
			FOREACH_MEMBER(val, name, wv, wit, wend) {
				char wp[AIF_PATH_MAX];

				_path_key(wp, kp, name);
				if (!_is_name(name)) {
					_err(ld, s, wp, "not a valid %s name ("
					     NAME_RULE ")",
					     gpu ? "GPU type" : "QOS");
					continue;
				}
				if (!_get_weight(ld, s, wp, wv,
						 &w[n].weight))
					continue;
				_copy(w[n].type, sizeof(w[n].type), name);
				n++;
			}
			_sort(w, n, sizeof(*w), aif_cmp_gpu_weight);
			if (gpu) {
				p->gpu_weights = w;
				p->ngpu_weights = n;
			} else {
				p->qos_weights = w;
				p->nqos_weights = n;
			}
		} else if (!strcmp(key, "default_gpu_weight")) {
			if (_get_weight(ld, s, kp, val,
					&p->default_gpu_weight))
				p->has_default_gpu_weight = true;
		} else {
			_err(ld, s, kp, "unknown key");
		}
	}
}

static void _load_operators(struct loader *ld, const struct src *s,
			    const char *path, json_object *obj)
{
	struct aif_policy *p = ld->p;
	const char *key;
	json_object *val;

	if (!_expect(ld, s, path, obj, json_type_object, "an object"))
		return;
	FOREACH_MEMBER(obj, key, val, it, end) {
		char kp[AIF_PATH_MAX];

		_path_key(kp, path, key);
		if (!strcmp(key, "users"))
			_get_list(ld, s, kp, val, LIST_USER, false,
				  &p->operator_users, &p->noperator_users);
		else if (!strcmp(key, "groups"))
			_get_list(ld, s, kp, val, LIST_GROUP, false,
				  &p->operator_groups, &p->noperator_groups);
		else
			_err(ld, s, kp, "unknown key");
	}
}

static void _check_thresholds(struct loader *ld, const struct src *s,
			      const char *path, json_object *v,
			      struct aif_class *c)
{
	char ip[AIF_PATH_MAX], text[64], prev[64];
	size_t n, i;

	if (!_expect(ld, s, path, v, json_type_array, "an array"))
		return;
	n = json_object_array_length(v);
	if (!(c->thresholds = _arena(ld, n ? n : 1, sizeof(double))))
		return;
	c->nthresholds = n;
	for (i = 0; i < n; i++) {
		double *t = &c->thresholds[i];

		_path_index(ip, path, i);
		if (!_get_number(ld, s, ip, json_object_array_get_idx(v, i),
				 t))
			continue;
		_num_text(s, ip, *t, text, sizeof(text));
		if (!(*t > 0 && *t <= 1)) {
			_err(ld, s, ip, "must be in (0, 1], got %s", text);
			continue;
		}
		if (i && c->thresholds[i - 1] > 0 &&
		    c->thresholds[i - 1] <= 1 && *t <= c->thresholds[i - 1]) {
			char pp[AIF_PATH_MAX];

			_path_index(pp, path, i - 1);
			_err(ld, s, ip, "must be above the one before it (%s), "
			     "got %s", _num_text(s, pp, c->thresholds[i - 1],
						 prev, sizeof(prev)), text);
		}
	}
}

static void _load_class(struct loader *ld, const struct src *s,
			const char *path, const char *name, json_object *obj,
			struct aif_class *c)
{
	static double default_thresholds[] = { 0.8, 1.0 };
	bool have_default_time = false, have_default_partition = false;
	bool have_allowed_qos = false;
	char **allowed = NULL;
	size_t nallowed = 0;
	int action_line = 0;
	const char *key;
	json_object *val;

	_copy(c->name, sizeof(c->name), name);
	c->max_gpus_per_job = AIF_UNLIMITED;
	c->max_gpus_per_node = AIF_UNLIMITED;
	c->max_nodes_per_job = AIF_UNLIMITED;
	c->max_time = AIF_UNLIMITED;
	c->default_time = AIF_UNLIMITED;
	c->exhausted_action = AIF_EXHAUSTED_REFUSE;
	c->thresholds = default_thresholds;
	c->nthresholds = 2;
	c->metered = true;

	if (!_is_name(name))
		_err(ld, s, path, "not a valid class name (" NAME_RULE ")");
	if (!_expect(ld, s, path, obj, json_type_object, "an object"))
		return;

	FOREACH_MEMBER(obj, key, val, it, end) {
		char kp[AIF_PATH_MAX];

		_path_key(kp, path, key);
		if (!strcmp(key, "description")) {
			const char *str = _get_string(ld, s, kp, val);

			if (str)
				c->description = _arena_strdup(ld, str);
		} else if (!strcmp(key, "max_gpus_per_job")) {
			_get_limit(ld, s, kp, val, 0, &c->max_gpus_per_job);
		} else if (!strcmp(key, "max_gpus_per_node")) {
			_get_limit(ld, s, kp, val, 0, &c->max_gpus_per_node);
		} else if (!strcmp(key, "max_nodes_per_job")) {
			_get_limit(ld, s, kp, val, 1, &c->max_nodes_per_job);
		} else if (!strcmp(key, "max_time")) {
			_get_time(ld, s, kp, val, &c->max_time);
		} else if (!strcmp(key, "default_time")) {
			have_default_time = _get_time(ld, s, kp, val,
						      &c->default_time);
		} else if (!strcmp(key, "partitions")) {
			_get_list(ld, s, kp, val, LIST_NAME, true,
				  &c->partitions, &c->npartitions);
		} else if (!strcmp(key, "default_partition")) {
			have_default_partition =
				_get_name(ld, s, kp, val,
					  c->default_partition);
		} else if (!strcmp(key, "gpu_types")) {
			_get_list(ld, s, kp, val, LIST_NAME, true,
				  &c->gpu_types, &c->ngpu_types);
		} else if (!strcmp(key, "qos")) {
			_get_name(ld, s, kp, val, c->qos);
		} else if (!strcmp(key, "allowed_qos")) {
			have_allowed_qos = _get_list(ld, s, kp, val, LIST_NAME,
						     false, &allowed,
						     &nallowed);
		} else if (!strcmp(key, "require_gpus")) {
			_get_bool(ld, s, kp, val, &c->require_gpus);
		} else if (!strcmp(key, "metered")) {
			_get_bool(ld, s, kp, val, &c->metered);
		} else if (!strcmp(key, "exhausted_action")) {
			const char *str = _get_string(ld, s, kp, val);
			char q[QUOTE_MAX + 8];

			action_line = _line_of(s, kp);
			if (!str)
				continue;
			if (!strcmp(str, "refuse")) {
				c->exhausted_action = AIF_EXHAUSTED_REFUSE;
			} else if (!strcmp(str, "fallback")) {
				c->exhausted_action = AIF_EXHAUSTED_FALLBACK;
			} else {
				_quote(str, q, sizeof(q));
				_err(ld, s, kp, "must be \"refuse\" or "
				     "\"fallback\", got \"%s\"", q);
			}
		} else if (!strcmp(key, "fallback_qos")) {
			_get_name(ld, s, kp, val, c->fallback_qos);
		} else if (!strcmp(key, "thresholds")) {
			_check_thresholds(ld, s, kp, val, c);
		} else if (!strcmp(key, "share")) {
			double d;
			char text[64];

			if (!_get_number(ld, s, kp, val, &d))
				continue;
			if (d < 0 || d > 1)
				_err(ld, s, kp, "must be in [0, 1], got %s",
				     _num_text(s, kp, d, text, sizeof(text)));
			else
				c->share = d;
		} else {
			_err(ld, s, kp, "unknown key");
		}
	}

	/* Defaults and cross-checks (docs/policy-schema.md, "A class"). */
	if (have_default_partition && c->npartitions &&
	    !_in_list(c->partitions, c->npartitions, c->default_partition)) {
		char kp[AIF_PATH_MAX];

		_path_key(kp, path, "default_partition");
		_err(ld, s, kp, "\"%s\" is not one of partitions",
		     c->default_partition);
	}
	if (!have_default_partition && c->npartitions && c->partitions[0][0])
		_copy(c->default_partition, sizeof(c->default_partition),
		      c->partitions[0]);

	if (!have_default_time) {
		c->default_time = c->max_time;
	} else if (c->max_time != AIF_UNLIMITED &&
		   c->default_time > c->max_time) {
		char kp[AIF_PATH_MAX], dt[32], mt[32];

		_path_key(kp, path, "default_time");
		aif_format_minutes(c->default_time, dt, sizeof(dt));
		aif_format_minutes(c->max_time, mt, sizeof(mt));
		_err(ld, s, kp, "%s exceeds max_time %s", dt, mt);
	}

	/* allowed_qos always holds qos. */
	if (!have_allowed_qos)
		nallowed = 0;
	if (c->qos[0] && !_in_list(allowed, nallowed, c->qos)) {
		char **list = _arena(ld, nallowed + 1, sizeof(*list));

		if (!list)
			return;
		if (nallowed)
			memcpy(list, allowed, nallowed * sizeof(*list));
		/* A copy: c itself moves when the classes are sorted. */
		if (!(list[nallowed++] = _arena_strdup(ld, c->qos)))
			return;
		allowed = list;
	}
	c->allowed_qos = allowed;
	c->nallowed_qos = nallowed;

	if (c->exhausted_action == AIF_EXHAUSTED_FALLBACK &&
	    !c->fallback_qos[0]) {
		char kp[AIF_PATH_MAX];

		_path_key(kp, path, "fallback_qos");
		_err_line(ld, s, action_line, kp, "missing (required when "
			  "exhausted_action is \"fallback\")");
	}
}

static void _load_classes(struct loader *ld, const struct src *s,
			  json_object *obj)
{
	struct aif_policy *p = ld->p;
	const char *key;
	json_object *val;
	size_t n;

	if (!_expect(ld, s, "classes", obj, json_type_object, "an object"))
		return;
	if (!(n = json_object_object_length(obj))) {
		_err(ld, s, "classes", "at least one class is required");
		return;
	}
	if (!(p->classes = _arena(ld, n, sizeof(*p->classes))))
		return;
	FOREACH_MEMBER(obj, key, val, it, end) {
		char kp[AIF_PATH_MAX];

		_path_key(kp, "classes", key);
		_load_class(ld, s, kp, key, val, &p->classes[p->nclasses++]);
	}
	_sort(p->classes, p->nclasses, sizeof(*p->classes), aif_cmp_class);
}

/*
 * A name that must be one of a top-level list, when that list is given
 * (modes, sectors: sorted once loaded, as every project looks them up).
 */
static void _check_member_of(struct loader *ld, const struct src *s,
			     const char *path, const char *name, bool given,
			     char **list, size_t n, const char *list_name)
{
	if (given && name[0] && (!n || !bsearch(&name, list, n, sizeof(*list),
						aif_cmp_str)))
		_err(ld, s, path, "\"%s\" is not one of %s", name, list_name);
}

/* valid_until must not be before valid_from (a grant's, a project's). */
static void _check_dates(struct loader *ld, const struct src *s,
			 const char *path, json_object *obj, time_t from,
			 time_t until)
{
	char kp[AIF_PATH_MAX];

	if (until >= from)
		return;
	_path_key(kp, path, "valid_until");
	_err(ld, s, kp, "\"%s\" is before valid_from \"%s\"",
	     json_object_get_string(json_object_object_get(obj, "valid_until")),
	     json_object_get_string(json_object_object_get(obj, "valid_from")));
}

static void _load_grant(struct loader *ld, const struct src *s,
			const char *path, json_object *obj,
			struct aif_grant *g)
{
	struct aif_policy *p = ld->p;
	bool have_name = false, have_hours = false;
	bool have_from = false, have_until = false;
	const char *key;
	json_object *val;

	if (!_expect(ld, s, path, obj, json_type_object, "an object"))
		return;
	FOREACH_MEMBER(obj, key, val, it, end) {
		char kp[AIF_PATH_MAX], text[64];

		_path_key(kp, path, key);
		if (!strcmp(key, "name")) {
			have_name = true;
			_get_name(ld, s, kp, val, g->name);
		} else if (!strcmp(key, "gpu_hours")) {
			have_hours = true;
			if (_get_number(ld, s, kp, val, &g->gpu_hours) &&
			    !(g->gpu_hours > 0))
				_err(ld, s, kp, "must be > 0, got %s",
				     _num_text(s, kp, g->gpu_hours, text,
					       sizeof(text)));
		} else if (!strcmp(key, "valid_from")) {
			have_from = _get_date(ld, s, kp, val, false,
					      &g->valid_from);
		} else if (!strcmp(key, "valid_until")) {
			have_until = _get_date(ld, s, kp, val, true,
					       &g->valid_until);
		} else if (!strcmp(key, "mode")) {
			if (_get_name(ld, s, kp, val, g->mode))
				_check_member_of(ld, s, kp, g->mode,
						 p->has_modes, p->modes,
						 p->nmodes, "modes");
		} else if (!strcmp(key, "gpu_type")) {
			_get_name(ld, s, kp, val, g->gpu_type);
		} else {
			_err(ld, s, kp, "unknown key");
		}
	}
	if (!have_name)
		_err_missing(ld, s, path, "name");
	if (!have_hours)
		_err_missing(ld, s, path, "gpu_hours");
	if (!json_object_object_get_ex(obj, "valid_from", NULL))
		_err_missing(ld, s, path, "valid_from");
	if (!json_object_object_get_ex(obj, "valid_until", NULL))
		_err_missing(ld, s, path, "valid_until");
	if (have_from && have_until)
		_check_dates(ld, s, path, obj, g->valid_from, g->valid_until);
}

static void _load_grants(struct loader *ld, const struct src *s,
			 const char *path, json_object *v,
			 struct aif_project *pr)
{
	struct list_item *sorted;
	size_t n, i, first;

	if (!_expect(ld, s, path, v, json_type_array, "an array"))
		return;
	n = json_object_array_length(v);
	if (!(pr->grants = _arena(ld, n ? n : 1, sizeof(*pr->grants))))
		return;
	pr->ngrants = n;
	for (i = 0; i < n; i++) {
		char ip[AIF_PATH_MAX];

		_path_index(ip, path, i);
		_load_grant(ld, s, ip, json_object_array_get_idx(v, i),
			    &pr->grants[i]);
	}
	/* Duplicate names, each against the first grant of that name. */
	if (!(sorted = _calloc(ld, n, sizeof(*sorted))))
		return;
	for (i = 0; i < n; i++)
		sorted[i] = (struct list_item) { pr->grants[i].name, i };
	_sort(sorted, n, sizeof(*sorted), _cmp_list_item);
	for (i = 1, first = 0; i < n; i++) {
		char ip[AIF_PATH_MAX], kp[AIF_PATH_MAX];

		if (strcmp(sorted[i].s, sorted[first].s)) {
			first = i;
			continue;
		}
		if (!sorted[i].s[0])
			continue;
		_path_index(ip, path, sorted[i].i);
		_path_key(kp, ip, "name");
		_err(ld, s, kp, "duplicate grant name \"%s\" (also "
		     "grants[%zu])", sorted[i].s, sorted[first].i);
	}
	free(sorted);
}

/* Why name cannot be a project, or NULL. */
static const char *_project_name_problem(const char *name)
{
	if (!_is_name(name))
		return "not a valid project name (" PROJECT_RULE ")";
	if (_has_upper(name))
		return "project names must be lowercase (SLURM lowercases "
		       "accounts)";
	return NULL;
}

static void _load_project(struct loader *ld, const struct src *s,
			  const char *path, const char *name,
			  json_object *obj, struct aif_project *pr)
{
	struct aif_policy *p = ld->p;
	bool have_class = false, have_mode = false;
	bool have_from = false, have_until = false;
	const char *key;
	json_object *val;

	_copy(pr->name, sizeof(pr->name), name);
	pr->source = (char *) s->source;
	pr->line = _line_of(s, path);
	if (!_expect(ld, s, path, obj, json_type_object, "an object"))
		return;

	FOREACH_MEMBER(obj, key, val, it, end) {
		char kp[AIF_PATH_MAX], cname[AIF_NAME_MAX];

		_path_key(kp, path, key);
		if (!strcmp(key, "class")) {
			have_class = true;
			if (!_get_name(ld, s, kp, val, cname))
				continue;
			if (!(pr->klass = aif_policy_class(p, cname)))
				_err(ld, s, kp, "unknown class \"%s\"", cname);
		} else if (!strcmp(key, "mode")) {
			have_mode = true;
			if (_get_name(ld, s, kp, val, pr->mode))
				_check_member_of(ld, s, kp, pr->mode,
						 p->has_modes, p->modes,
						 p->nmodes, "modes");
		} else if (!strcmp(key, "sector")) {
			if (_get_name(ld, s, kp, val, pr->sector))
				_check_member_of(ld, s, kp, pr->sector,
						 p->has_sectors, p->sectors,
						 p->nsectors, "sectors");
		} else if (!strcmp(key, "description")) {
			/* Checked, not kept: nothing reads it at runtime. */
			_get_string(ld, s, kp, val);
		} else if (!strcmp(key, "valid_from")) {
			have_from = _get_date(ld, s, kp, val, false,
					      &pr->valid_from);
		} else if (!strcmp(key, "valid_until")) {
			have_until = _get_date(ld, s, kp, val, true,
					       &pr->valid_until);
		} else if (!strcmp(key, "users")) {
			_get_list(ld, s, kp, val, LIST_USER, false,
				  &pr->users, &pr->nusers);
		} else if (!strcmp(key, "groups")) {
			_get_list(ld, s, kp, val, LIST_GROUP, false,
				  &pr->groups, &pr->ngroups);
		} else if (!strcmp(key, "grants")) {
			_load_grants(ld, s, kp, val, pr);
		} else {
			_err(ld, s, kp, "unknown key");
		}
	}
	if (!have_class)
		_err_missing(ld, s, path, "class");
	if (!have_mode)
		_err_missing(ld, s, path, "mode");
	if (have_from && have_until)
		_check_dates(ld, s, path, obj, pr->valid_from,
			     pr->valid_until);
}

/* The lines of a member list's names, into ld->lines: where they start. */
static size_t _member_lines(struct loader *ld, const struct src *s,
			    const char *path, size_t nusers, size_t ngroups)
{
	size_t first = ld->nlines;
	char kp[AIF_PATH_MAX], ip[AIF_PATH_MAX];

	for (size_t i = 0; i < nusers + ngroups; i++) {
		if (ld->nlines == ld->cap_lines) {
			int *v = _more(ld, ld->lines, &ld->cap_lines,
				       sizeof(*v));

			if (!v)
				return first;
			ld->lines = v;
		}
		_path_key(kp, path, i < nusers ? "users" : "groups");
		_path_index(ip, kp, i < nusers ? i : i - nusers);
		ld->lines[ld->nlines++] = _line_of(s, ip);
	}
	return first;
}

/* Load one project, from the main file or a project file, and keep it. */
static void _add_project(struct loader *ld, const struct src *s,
			 const char *path, const char *name, json_object *obj)
{
	struct loaded_project *lp;

	if (ld->nloaded == ld->cap_loaded) {
		struct loaded_project *v = _more(ld, ld->loaded,
						 &ld->cap_loaded, sizeof(*v));

		if (!v)
			return;
		ld->loaded = v;
	}
	lp = &ld->loaded[ld->nloaded++];
	memset(lp, 0, sizeof(*lp));
	_load_project(ld, s, path, name, obj, &lp->proj);
	lp->info = (struct project_info) {
		.file = s->source,
		.order = s->order,
		.line = lp->proj.line,
		.lines = _member_lines(ld, s, path, lp->proj.nusers,
				       lp->proj.ngroups),
	};
}

/* The top level of the main file, with the projects written in it. */
static bool _load_main(struct loader *ld)
{
	struct aif_policy *p = ld->p;
	const struct src *s = &ld->main;
	json_object *root = s->root, *val, *projects = NULL;
	bool have_classes = false, overflow;
	const char *key;
	int64_t version;

	/* A file for another schema version would drown its one useful
	 * error in unknown keys: check the version alone first. */
	if (!json_object_object_get_ex(root, "version", &val)) {
		_err_missing(ld, s, "", "version");
		return false;
	}
	if (!_int_value(ld, s, "version", val, &version, &overflow))
		return false;
	if (overflow || version != AIF_POLICY_VERSION) {
		char text[64];

		if (!_text(s, "version", text, sizeof(text)))
			snprintf(text, sizeof(text), "%" PRId64, version);
		_err(ld, s, "version", "unsupported version %s (this build "
		     "reads version %d)", text, AIF_POLICY_VERSION);
		return false;
	}

	/* modes and sectors first: projects check against them. */
	if (json_object_object_get_ex(root, "modes", &val)) {
		p->has_modes = true;
		_get_list(ld, s, "modes", val, LIST_NAME, false, &p->modes,
			  &p->nmodes);
		_sort(p->modes, p->nmodes, sizeof(*p->modes), aif_cmp_str);
	}
	if (json_object_object_get_ex(root, "sectors", &val)) {
		p->has_sectors = true;
		_get_list(ld, s, "sectors", val, LIST_NAME, false,
			  &p->sectors, &p->nsectors);
		_sort(p->sectors, p->nsectors, sizeof(*p->sectors),
		      aif_cmp_str);
	}
	FOREACH_MEMBER(root, key, val, it, end) {
		if (!strcmp(key, "version") || !strcmp(key, "modes") ||
		    !strcmp(key, "sectors")) {
			continue;
		} else if (!strcmp(key, "project_dir")) {
			const char *str = _get_string(ld, s, key, val);

			if (str && !str[0]) {
				_err(ld, s, key, "must not be empty");
			} else if (str) {
				free(ld->project_dir);
				ld->project_dir = _strdup(ld, str);
				ld->project_dir_line = _line_of(s, key);
			}
		} else if (!strcmp(key, "balance_port")) {
			int64_t port;

			if (_get_int(ld, s, key, val, 1, 65535, &port))
				p->balance_port = (uint16_t) port;
		} else if (!strcmp(key, "operators")) {
			_load_operators(ld, s, key, val);
		} else if (!strcmp(key, "billing")) {
			_load_billing(ld, s, key, val);
		} else if (!strcmp(key, "classes")) {
			have_classes = true;
			_load_classes(ld, s, val);
		} else if (!strcmp(key, "projects")) {
			if (_expect(ld, s, key, val, json_type_object,
				    "an object"))
				projects = val;
		} else {
			char kp[AIF_PATH_MAX];

			/* As the scanner wrote it: its line is found. */
			_path_key(kp, "", key);
			_err(ld, s, kp, "unknown key");
		}
	}
	if (!have_classes)
		_err_missing(ld, s, "", "classes");
	ld->operator_lines = _member_lines(ld, s, "operators",
					   p->noperator_users,
					   p->noperator_groups);

	/* After the classes, which projects name. */
	if (projects) {
		FOREACH_MEMBER(projects, key, val, it, end) {
			char kp[AIF_PATH_MAX];
			const char *why;

			_path_key(kp, "projects", key);
			if ((why = _project_name_problem(key)))
				_err(ld, s, kp, "%s", why);
			_add_project(ld, s, kp, key, val);
		}
	}
	return !ld->oom;
}

/* Done with a file: all but its name. */
static void _src_release(struct src *s)
{
	json_object_put(s->root);
	s->root = NULL;
	free(s->text);
	s->text = NULL;
	s->len = 0;
	free(s->keys);
	s->keys = NULL;
	free(s->by_path);
	s->by_path = NULL;
	s->nkeys = 0;
}

/* ------------------------------------------------------------------ */
/* project_dir                                                          */

/* "dir/name", in the snapshot's arena. */
static char *_arena_path(struct loader *ld, const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *d = aif_arena_alloc(&ld->p->arena, n);

	if (!d) {
		ld->oom = true;
		return NULL;
	}
	snprintf(d, n, "%s/%s", dir, name);
	return d;
}

static bool _is_project_file(const char *name)
{
	size_t len = strlen(name);

	return name[0] != '.' && len > 5 && !strcmp(name + len - 5, ".json");
}

/* The project_dir as written, relative to the policy file's directory. */
static char *_project_dir_path(struct loader *ld)
{
	const char *file = ld->main.file, *slash = strrchr(file, '/');
	char *dir;

	if (ld->project_dir[0] == '/' || !slash)
		return _strdup(ld, ld->project_dir);
	if ((dir = _malloc(ld, (size_t) (slash - file) + 2 +
			       strlen(ld->project_dir))))
		sprintf(dir, "%.*s/%s", (int) (slash - file), file,
			ld->project_dir);
	return dir;
}

/*
 * Open dir and check it may be trusted (see _read_file): owned by root or
 * by us, and writable by neither group nor others. A descriptor, or -1
 * after recording an error.
 */
static int _open_project_dir(struct loader *ld, const char *dir)
{
	const struct src *s = &ld->main;
	int line = ld->project_dir_line;
	char ebuf[128];
	struct stat st;
	int fd;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		_err_line(ld, s, line, "project_dir", "cannot open directory "
			  "%s: %s", dir, _strerror(errno, ebuf, sizeof(ebuf)));
		return -1;
	}
	if (fstat(fd, &st)) {
		_err_line(ld, s, line, "project_dir", "cannot stat directory "
			  "%s: %s", dir, _strerror(errno, ebuf, sizeof(ebuf)));
	} else if (!_trusted_owner(st.st_uid)) {
		_err_line(ld, s, line, "project_dir", "directory %s is owned "
			  "by uid %lu; it must be owned by root or by the user "
			  "slurmctld runs as (uid %lu)", dir,
			  (unsigned long) st.st_uid, (unsigned long) geteuid());
	} else if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		_err_line(ld, s, line, "project_dir", "directory %s is "
			  "writable by group or others (mode %04o); refusing "
			  "to trust it", dir, (unsigned) (st.st_mode & 07777));
	} else if (_check_parents(ld, s, line, "project_dir", dir, NULL,
				  "a project file")) {
		return fd;
	}
	close(fd);
	return -1;
}

/*
 * The names of the <project>.json files of dir, sorted (strcmp: byte
 * order, whatever the locale), and the sum of their sizes. Dotfiles and
 * names not ending in .json are ignored, so a portal can write
 * ".acme.json.tmp" and rename it into place. Returns false after
 * recording an error (too many files).
 */
static bool _list_project_dir(struct loader *ld, DIR *d, const char *dir,
			      char ***names, size_t *nnames, uintmax_t *bytes)
{
	const struct src *s = &ld->main;
	int line = ld->project_dir_line;
	size_t cap = 0;
	char ebuf[128];
	struct dirent *de;
	struct stat st;

	for (;;) {
		errno = 0;
		if (!(de = readdir(d))) {
			if (errno)
				_err_line(ld, s, line, "project_dir", "cannot "
					  "read directory %s: %s", dir,
					  _strerror(errno, ebuf, sizeof(ebuf)));
			break;
		}
		if (!_is_project_file(de->d_name))
			continue;
		/* A directory is not a project file whatever its name; any
		 * other non-regular file is refused when it is read. */
		if (fstatat(dirfd(d), de->d_name, &st, 0))
			memset(&st, 0, sizeof(st));
		if (S_ISDIR(st.st_mode))
			continue;
		if (*nnames == AIF_PROJECT_FILES_MAX) {
			_err_line(ld, s, line, "project_dir", "more than %d "
				  "project files in %s (the limit)",
				  AIF_PROJECT_FILES_MAX, dir);
			return false;
		}
		if (*nnames == cap) {
			char **v = _more(ld, *names, &cap, sizeof(*v));

			if (!v)
				return false;
			*names = v;
		}
		if (!((*names)[*nnames] = _strdup(ld, de->d_name)))
			return false;
		++*nnames;
		if (S_ISREG(st.st_mode))
			*bytes += (uintmax_t) st.st_size;
	}
	_sort(*names, *nnames, sizeof(**names), aif_cmp_str);
	return !ld->oom;
}

/*
 * Read, check and load every project file of project_dir in name order,
 * one at a time: each is released before the next is read.
 */
static void _load_project_dir(struct loader *ld)
{
	char *dir, **names = NULL, size[32];
	size_t nnames = 0, i;
	uintmax_t bytes = 0;
	struct src f = { 0 };
	DIR *d = NULL;
	int fd;

	if (!(dir = _project_dir_path(ld)) ||
	    !(ld->p->project_dir = _arena_strdup(ld, dir)))
		goto out;
	if ((fd = _open_project_dir(ld, dir)) < 0)
		goto out;
	if (!(d = fdopendir(fd))) {
		char ebuf[128];

		if (errno == ENOMEM)
			ld->oom = true;
		_err_line(ld, &ld->main, ld->project_dir_line, "project_dir",
			  "cannot read directory %s: %s", dir,
			  _strerror(errno, ebuf, sizeof(ebuf)));
		close(fd);
		goto out;
	}
	if (!_list_project_dir(ld, d, dir, &names, &nnames, &bytes))
		goto out;
	/* Refused before reading any, when their sizes tell already. */
	if (bytes > AIF_POLICY_BYTES_MAX - ld->bytes) {
		_err_line(ld, &ld->main, ld->project_dir_line, "project_dir",
			  "the policy's files are larger than %s together "
			  "(the limit for a policy and its project files)",
			  _size_text(AIF_POLICY_BYTES_MAX, size, sizeof(size)));
		goto out;
	}

	for (i = 0; i < nnames && !ld->oom && !ld->spent; i++) {
		size_t stem = strlen(names[i]) - 5;
		char pname[AIF_PATH_MAX], len[32];
		const char *why;

		memset(&f, 0, sizeof(f));
		f.order = (int) i + 1;
		if (!(f.file = f.source = _arena_path(ld, dir, names[i])))
			break;
		snprintf(pname, sizeof(pname), "%.*s", (int) stem, names[i]);
		_path_key(f.prefix, "projects", pname);
		if ((why = _project_name_problem(pname))) {
			_err_line(ld, &f, 0, f.prefix, "%s", why);
			continue;
		}
		if (_read_file(ld, &f, dirfd(d), names[i], true))
			continue;
		/* Into the fingerprint: its name, a NUL, its length, a NUL,
		 * its bytes (see aif_policy_load()). */
		snprintf(len, sizeof(len), "%zu", f.len);
		aif_sha256_update(&ld->sha, names[i], strlen(names[i]) + 1);
		aif_sha256_update(&ld->sha, len, strlen(len) + 1);
		aif_sha256_update(&ld->sha, f.text, f.len);
		if (_parse(ld, &f, true))
			_add_project(ld, &f, f.prefix, pname, f.root);
		_src_release(&f);
	}
out:
	_src_release(&f);
	if (d)
		closedir(d);
	for (i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	free(dir);
}

/* ------------------------------------------------------------------ */
/* Projects from both places                                            */

static int _cmp_loaded(const void *a, const void *b)
{
	const struct loaded_project *x = a, *y = b;
	int c = strcmp(x->proj.name, y->proj.name);

	if (c)
		return c;
	if (x->info.order != y->info.order)
		return x->info.order < y->info.order ? -1 : 1;
	return x->info.line < y->info.line ? -1 : x->info.line > y->info.line;
}

/*
 * Every project loaded, sorted by name, into the snapshot; a name
 * defined twice is an error naming both places.
 */
static void _finish_projects(struct loader *ld)
{
	struct aif_policy *p = ld->p;
	size_t n = ld->nloaded, i;

	_sort(ld->loaded, n, sizeof(*ld->loaded), _cmp_loaded);
	for (i = 1; i < n; i++) {
		const struct loaded_project *a = &ld->loaded[i - 1];
		const struct loaded_project *b = &ld->loaded[i];
		struct src from = { .file = b->info.file,
				    .order = b->info.order };
		char kp[AIF_PATH_MAX];

		if (strcmp(a->proj.name, b->proj.name))
			continue;
		_path_key(kp, "projects", b->proj.name);
		_err_line(ld, &from, b->info.line, kp, "project \"%s\" is "
			  "defined twice (also at %s:%d)", b->proj.name,
			  a->info.file, a->info.line);
	}
	if (!n)
		return;
	if (!(p->projects = _arena(ld, n, sizeof(*p->projects))) ||
	    !(ld->info = _calloc(ld, n, sizeof(*ld->info))))
		return;
	for (i = 0; i < n; i++) {
		p->projects[i] = ld->loaded[i].proj;
		ld->info[i] = ld->loaded[i].info;
	}
	p->nprojects = n;
	free(ld->loaded);
	ld->loaded = NULL;
	ld->nloaded = ld->cap_loaded = 0;
}

/* ------------------------------------------------------------------ */
/* Resolving names to ids                                               */

/*
 * The default resolver: NSS, with buffers grown on ERANGE. Contract with
 * the loader (beyond aifactory.h): -1 with errno 0 or ENOENT means the
 * name does not exist (a warning); any other errno means the lookup
 * itself failed (an LDAP server down, say), which fails the load rather
 * than quietly stripping every member from every project.
 */
static bool _nss_not_found(int err)
{
	/* getpwnam_r(3): these all mean "not found" on one NSS or another. */
	return err == 0 || err == ENOENT || err == ESRCH || err == EBADF ||
	       err == EPERM;
}

/*
 * getpwnam_r() (gr NULL) or getgrnam_r(), with a buffer grown on ERANGE:
 * 0 with *buf (malloc'ed) holding the entry, or -1 with errno 0 (not
 * found) or why the lookup failed.
 */
static int _nss_lookup(const char *name, struct passwd *pw, struct group *gr,
		       char **buf)
{
	size_t size = gr ? 4096 : 1024;
	struct passwd *pres = NULL;
	struct group *gres = NULL;
	int rc;

	*buf = NULL;
	for (;;) {
		char *nbuf = realloc(*buf, size);

		if (!nbuf) {
			rc = ENOMEM;
			break;
		}
		*buf = nbuf;
		if (gr)
			rc = getgrnam_r(name, gr, *buf, size, &gres);
		else
			rc = getpwnam_r(name, pw, *buf, size, &pres);
		if (rc == EINTR)
			continue;
		if (rc != ERANGE || size >= NSS_BUF_MAX)
			break;
		size *= 2;
	}
	if (rc == 0 && (gr ? gres != NULL : pres != NULL))
		return 0;
	free(*buf);
	*buf = NULL;
	errno = _nss_not_found(rc) ? 0 : rc;
	return -1;
}

static int _nss_user(const char *name, uid_t *uid, void *arg)
{
	struct passwd pw;
	char *buf;

	(void) arg;
	if (_nss_lookup(name, &pw, NULL, &buf))
		return -1;
	*uid = pw.pw_uid;
	free(buf);
	return 0;
}

/*
 * A group and the uids of its listed members. Users whose primary group
 * this is are not listed in it and are not enumerated here (that would
 * mean walking the whole passwd database): the plugin passes the job's
 * primary gid in the request's gids, and the project's gids catch them.
 */
static int _nss_group(const char *name, gid_t *gid, uid_t **members,
		      size_t *nmembers, void *arg)
{
	struct group gr;
	size_t n = 0, i;
	char *buf;
	uid_t *uids;

	(void) arg;
	if (_nss_lookup(name, NULL, &gr, &buf))
		return -1;
	while (gr.gr_mem && gr.gr_mem[n])
		n++;
	if (!(uids = malloc((n ? n : 1) * sizeof(*uids)))) {
		free(buf);
		errno = ENOMEM;
		return -1;
	}
	*nmembers = 0;
	for (i = 0; i < n; i++) {
		uid_t uid;

		errno = 0;
		if (_nss_user(gr.gr_mem[i], &uid, NULL) == 0) {
			uids[(*nmembers)++] = uid;
		} else if (errno) {
			int err = errno;

			free(uids);
			free(buf);
			errno = err;
			return -1;
		}
		/* A member without an account is skipped. */
	}
	*gid = gr.gr_gid;
	*members = uids;
	free(buf);
	return 0;
}

static const struct aif_resolver _nss_resolver = {
	.user = _nss_user,
	.group = _nss_group,
	.arg = NULL,
};

/* bsearch() key against a user_entry or a group_entry (name first). */
static int _key_name(const void *key, const void *elem)
{
	return strcmp(key, *(const char *const *) elem);
}

/* Every name once, sorted; then each resolved once. */
static void _resolve_all(struct loader *ld)
{
	struct aif_policy *p = ld->p;
	size_t nu = p->noperator_users, ng = p->noperator_groups, i, j, k;

	for (i = 0; i < p->nprojects; i++) {
		nu += p->projects[i].nusers;
		ng += p->projects[i].ngroups;
	}
	if (!(ld->users = _calloc(ld, nu, sizeof(*ld->users))) ||
	    !(ld->groups = _calloc(ld, ng, sizeof(*ld->groups))))
		return;

	k = 0;
	for (j = 0; j < p->noperator_users; j++)
		ld->users[k++].name = p->operator_users[j];
	for (i = 0; i < p->nprojects; i++)
		for (j = 0; j < p->projects[i].nusers; j++)
			ld->users[k++].name = p->projects[i].users[j];
	_sort(ld->users, nu, sizeof(*ld->users), aif_cmp_str);
	for (i = 0, k = 0; i < nu; i++)
		if (!k || strcmp(ld->users[k - 1].name, ld->users[i].name))
			ld->users[k++] = ld->users[i];
	ld->nusers = k;

	k = 0;
	for (j = 0; j < p->noperator_groups; j++)
		ld->groups[k++].name = p->operator_groups[j];
	for (i = 0; i < p->nprojects; i++)
		for (j = 0; j < p->projects[i].ngroups; j++)
			ld->groups[k++].name = p->projects[i].groups[j];
	_sort(ld->groups, ng, sizeof(*ld->groups), aif_cmp_str);
	for (i = 0, k = 0; i < ng; i++)
		if (!k || strcmp(ld->groups[k - 1].name, ld->groups[i].name))
			ld->groups[k++] = ld->groups[i];
	ld->ngroups = k;

	for (i = 0; i < ld->nusers && !ld->oom; i++) {
		struct user_entry *u = &ld->users[i];

		errno = 0;
		if (ld->res->user(u->name, &u->uid, ld->res->arg) == 0)
			u->state = 1;
		else if (errno == ENOMEM)
			ld->oom = true;
		else if (errno && errno != ENOENT)
			u->state = -1, u->err = errno;
	}
	for (i = 0; i < ld->ngroups && !ld->oom; i++) {
		struct group_entry *g = &ld->groups[i];

		errno = 0;
		if (ld->res->group(g->name, &g->gid, &g->members,
				   &g->nmembers, ld->res->arg) == 0) {
			g->state = 1;
			if (!g->members)
				g->nmembers = 0;
		} else if (errno == ENOMEM) {
			ld->oom = true;
		} else if (errno && errno != ENOENT) {
			g->state = -1, g->err = errno;
		}
	}
}

/* An id vector that grows; sorted and made unique at the end. */
struct ids {
	id_t *v;
	size_t n, cap;
};

static void _ids_add(struct loader *ld, struct ids *x, id_t id)
{
	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 16;
		id_t *v = realloc(x->v, cap * sizeof(*v));

		if (!v) {
			ld->oom = true;
			return;
		}
		x->v = v;
		x->cap = cap;
	}
	x->v[x->n++] = id;
}

static int _cmp_id(const void *a, const void *b)
{
	id_t x = *(const id_t *) a, y = *(const id_t *) b;

	return x < y ? -1 : x > y;
}

/* Sorted, unique copy into the arena; the vector is emptied. */
static void *_ids_finish(struct loader *ld, struct ids *x, size_t *n)
{
	id_t *out;
	size_t i, k = 0;

	_sort(x->v, x->n, sizeof(*x->v), _cmp_id);
	for (i = 0; i < x->n; i++)
		if (!k || x->v[k - 1] != x->v[i])
			x->v[k++] = x->v[i];
	*n = 0;
	if (!(out = _arena(ld, k ? k : 1, sizeof(*out))))
		return NULL;
	if (k)
		memcpy(out, x->v, k * sizeof(*out));
	*n = k;
	x->n = 0;
	return out;
}

/*
 * Resolve one member list (a project's or the operators'): uids of users
 * and of group members into uids, gids of groups into gids. s names the
 * file (released by now); lines[] holds the line of each user, then of
 * each group. Returns how many names resolved.
 */
static size_t _resolve_members(struct loader *ld, const struct src *s,
			       const char *path, char **users, size_t nusers,
			       char **groups, size_t ngroups,
			       const int *lines, struct ids *uids,
			       struct ids *gids)
{
	char ebuf[128], kp[AIF_PATH_MAX], ip[AIF_PATH_MAX];
	size_t found = 0, i, j;

	for (i = 0; i < nusers; i++) {
		const struct user_entry *u;

		u = bsearch(users[i], ld->users, ld->nusers,
			    sizeof(*ld->users), _key_name);
		if (!u)
			continue;	/* an invalid name, reported already */
		_path_key(kp, path, "users");
		_path_index(ip, kp, i);
		if (u->state == 1) {
			_ids_add(ld, uids, u->uid);
			found++;
		} else if (u->state == 0) {
			_warn_line(ld, s, lines[i], ip, "unknown user \"%s\"",
				   u->name);
		} else {
			_err_line(ld, s, lines[i], ip, "cannot look up user "
				  "\"%s\": %s", u->name,
				  _strerror(u->err, ebuf, sizeof(ebuf)));
		}
	}
	for (i = 0; i < ngroups; i++) {
		const struct group_entry *g;

		g = bsearch(groups[i], ld->groups, ld->ngroups,
			    sizeof(*ld->groups), _key_name);
		if (!g)
			continue;
		_path_key(kp, path, "groups");
		_path_index(ip, kp, i);
		if (g->state == 1) {
			_ids_add(ld, gids, g->gid);
			for (j = 0; j < g->nmembers; j++)
				_ids_add(ld, uids, g->members[j]);
			found++;
		} else if (g->state == 0) {
			_warn_line(ld, s, lines[nusers + i], ip,
				   "unknown group \"%s\"", g->name);
		} else {
			_err_line(ld, s, lines[nusers + i], ip, "cannot look "
				  "up group \"%s\": %s", g->name,
				  _strerror(g->err, ebuf, sizeof(ebuf)));
		}
	}
	return found;
}

static void _add_user_names(struct loader *ld, char **users, size_t n,
			    struct aif_uid_name *names, size_t *k)
{
	for (size_t i = 0; i < n; i++) {
		const struct user_entry *u;

		u = bsearch(users[i], ld->users, ld->nusers,
			    sizeof(*ld->users), _key_name);
		if (u && u->state == 1)
			names[(*k)++] = (struct aif_uid_name) {
				u->uid, users[i] };
	}
}

/* The lines of the member list recorded at off; NULL when no list
 * recorded any (ld->lines is NULL then, and NULL + 0 is undefined). */
static const int *_lines_at(const struct loader *ld, size_t off)
{
	return ld->lines ? ld->lines + off : NULL;
}

/* Members of every project and the operators; the indexes over them. */
static void _build_members(struct loader *ld)
{
	struct aif_policy *p = ld->p;
	struct ids uids = { 0 }, gids = { 0 };
	struct aif_uid_name *names;
	size_t nu = 0, ng = 0, nn = p->noperator_users, i, j, k;

	_resolve_all(ld);
	if (ld->oom)
		goto out;

	for (i = 0; i < p->nprojects && !ld->oom; i++) {
		struct aif_project *pr = &p->projects[i];
		const struct project_info *in = &ld->info[i];
		struct src from = { .file = in->file, .order = in->order };
		char kp[AIF_PATH_MAX];

		_path_key(kp, "projects", pr->name);
		_resolve_members(ld, &from, kp, pr->users, pr->nusers,
				 pr->groups, pr->ngroups,
				 _lines_at(ld, in->lines), &uids, &gids);
		pr->uids = _ids_finish(ld, &uids, &pr->nuids);
		pr->gids = _ids_finish(ld, &gids, &pr->ngids);
		if (!pr->nuids && !pr->ngids)
			_warn_line(ld, &from, pr->line, kp, "no members: %s",
			      pr->nusers || pr->ngroups ?
			      "none of its users or groups exists" :
			      "it lists no users or groups");
		nu += pr->nuids;
		ng += pr->ngids;
		nn += pr->nusers;
	}
	_resolve_members(ld, &ld->main, "operators", p->operator_users,
			 p->noperator_users, p->operator_groups,
			 p->noperator_groups,
			 _lines_at(ld, ld->operator_lines), &uids, &gids);
	p->operator_uids = _ids_finish(ld, &uids, &p->noperator_uids);
	p->operator_gids = _ids_finish(ld, &gids, &p->noperator_gids);
	if (ld->oom)
		goto out;

	/* uid -> projects and gid -> projects, sorted by (id, project). */
	if (!(p->uid_index = _arena(ld, nu ? nu : 1, sizeof(*p->uid_index))) ||
	    !(p->gid_index = _arena(ld, ng ? ng : 1, sizeof(*p->gid_index))))
		goto out;
	for (i = 0; i < p->nprojects; i++) {
		const struct aif_project *pr = &p->projects[i];

		for (j = 0; j < pr->nuids; j++)
			p->uid_index[p->nuid_index++] =
				(struct aif_id_project) { pr->uids[j], i };
		for (j = 0; j < pr->ngids; j++)
			p->gid_index[p->ngid_index++] =
				(struct aif_id_project) { pr->gids[j], i };
	}
	_sort(p->uid_index, p->nuid_index, sizeof(*p->uid_index),
	      aif_cmp_id_project);
	_sort(p->gid_index, p->ngid_index, sizeof(*p->gid_index),
	      aif_cmp_id_project);

	/* uid -> name, from the names written in the policy; where two
	 * names share a uid, the first in byte order wins. */
	if (!(names = _arena(ld, nn ? nn : 1, sizeof(*names))))
		goto out;
	k = 0;
	_add_user_names(ld, p->operator_users, p->noperator_users, names, &k);
	for (i = 0; i < p->nprojects; i++)
		_add_user_names(ld, p->projects[i].users,
				p->projects[i].nusers, names, &k);
	_sort(names, k, sizeof(*names), aif_cmp_uid_name);
	for (i = 0, j = 0; i < k; i++)
		if (!j || names[j - 1].uid != names[i].uid)
			names[j++] = names[i];
	p->user_names = names;
	p->nuser_names = j;
out:
	free(uids.v);
	free(gids.v);
}

/* ------------------------------------------------------------------ */
/* The entry points                                                     */

static void _loader_free(struct loader *ld)
{
	size_t i;

	_src_release(&ld->main);
	free(ld->project_dir);
	free(ld->loaded);
	free(ld->info);
	free(ld->lines);
	free(ld->users);
	for (i = 0; i < ld->ngroups; i++)
		free(ld->groups[i].members);
	free(ld->groups);
	free(ld->errs.v);
	free(ld->warns.v);
}

/*
 * The order of the work: read and check the main file, with the projects
 * written in it, and release it; read, check and release each project
 * file in turn; and only if all of that is clean, ask NSS about the
 * members (a broken file costs no directory lookups).
 *
 * The fingerprint (aif_policy_hash()) is SHA-256 over the main file's
 * bytes, then for each project file in name order: its name, a NUL, its
 * length in decimal, a NUL, its bytes. The lengths keep one file's end
 * from passing for the next one's name. It is computed as the files are
 * read, since they are not kept.
 *
 * Ownership: the snapshot returned holds one reference, the caller's
 * (aif_policy_unref()). report->errors and report->warnings are malloc'ed
 * arrays the caller frees with aif_load_report_free(), on success too
 * (warnings). Should even the report's first allocation fail, NULL comes
 * back with an empty report: read "no errors" with NULL as out of memory.
 */
struct aif_policy *aif_policy_load(const char *path,
				   const struct aif_resolver *resolver,
				   struct aif_load_report *report)
{
	struct loader ld = { 0 };
	struct aif_policy *p = NULL;
	uint8_t digest[AIF_SHA256_LEN];
	bool ok = false;

	if (report)
		memset(report, 0, sizeof(*report));
	if (!path)
		return NULL;
	ld.res = resolver && resolver->user && resolver->group ?
		 resolver : &_nss_resolver;
	ld.errs.cap = ld.warns.cap = 8;
	ld.errs.v = malloc(ld.errs.cap * sizeof(*ld.errs.v));
	ld.warns.v = malloc(ld.warns.cap * sizeof(*ld.warns.v));
	if (!ld.errs.v || !ld.warns.v) {
		/* Nothing to report with: NULL and no errors. */
		free(ld.errs.v);
		free(ld.warns.v);
		return NULL;
	}

	ld.main.file = path;
	if (!(p = ld.p = aif_policy_alloc())) {
		ld.oom = true;
		goto finish;
	}
	if (!(p->path = ld.main.source = _arena_strdup(&ld, path)))
		goto finish;
	if (_read_file(&ld, &ld.main, AT_FDCWD, path, false))
		goto finish;
	aif_sha256_init(&ld.sha);
	aif_sha256_update(&ld.sha, ld.main.text, ld.main.len);
	if (!_parse(&ld, &ld.main, false) || !_load_main(&ld))
		goto finish;
	_src_release(&ld.main);
	if (ld.project_dir)
		_load_project_dir(&ld);
	if (ld.oom)
		goto finish;
	_finish_projects(&ld);
	if (ld.errs.n || ld.errs.dropped || ld.oom)
		goto finish;
	_build_members(&ld);
	if (ld.errs.n || ld.errs.dropped || ld.oom)
		goto finish;
	aif_sha256_final(&ld.sha, digest);
	aif_sha256_to_hex(digest, p->hash);
	ok = true;

finish:
	if (!ok) {
		aif_policy_unref(p);
		p = NULL;
	}
	_diags_finish(&ld, &ld.errs, true,
		      report ? &report->errors : NULL,
		      report ? &report->nerrors : NULL);
	_diags_finish(&ld, &ld.warns, false,
		      report ? &report->warnings : NULL,
		      report ? &report->nwarnings : NULL);
	_loader_free(&ld);
	return p;
}

void aif_load_error_format(const struct aif_load_error *e, char *buf,
			   size_t len)
{
	char where[sizeof(e->file) + 16];

	if (!buf || !len)
		return;
	if (!e) {
		buf[0] = '\0';
		return;
	}
	if (e->line > 0)
		snprintf(where, sizeof(where), "%s:%d", e->file, e->line);
	else
		snprintf(where, sizeof(where), "%s", e->file);
	snprintf(buf, len, "%s%s%s%s%s", where, where[0] ? ": " : "",
		 e->path, e->path[0] ? ": " : "", e->reason);
}

void aif_load_report_free(struct aif_load_report *report)
{
	if (!report)
		return;
	free(report->errors);
	free(report->warnings);
	memset(report, 0, sizeof(*report));
}
