/*
 * slurm-aifactory policy library: loading a policy, the order of the work.
 * aif_policy_load() reads the main file and releases it, then each file
 * of its project_dir in turn, merges the projects of both, and only when
 * all of that is clean resolves the members. The loader's memory helpers
 * are here too, and aif_policy_unchanged(), which asks whether the files
 * a load read are still those. How a load works and why:
 * docs/policy-loader.md.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs_trust.h"
#include "policy_load.h"

void *aif_ld_malloc(struct loader *ld, size_t size)
{
	void *m = malloc(size ? size : 1);

	if (!m)
		ld->oom = true;
	return m;
}

void *aif_ld_calloc(struct loader *ld, size_t nmemb, size_t size)
{
	void *m = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (!m)
		ld->oom = true;
	return m;
}

void *aif_ld_arena(struct loader *ld, size_t nmemb, size_t size)
{
	void *m = aif_arena_calloc(&ld->p->arena, nmemb, size);

	if (!m)
		ld->oom = true;
	return m;
}

char *aif_ld_arena_strdup(struct loader *ld, const char *s)
{
	char *d = aif_arena_strdup(&ld->p->arena, s);

	if (!d)
		ld->oom = true;
	return d;
}

char *aif_ld_strdup(struct loader *ld, const char *s)
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
void *aif_ld_more(struct loader *ld, void *v, size_t *cap, size_t size)
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

/* qsort(), which must not see a NULL base even with nothing to sort. */
void aif_ld_sort(void *base, size_t n, size_t size,
		  int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
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

/* st into *id, keeping its name. */
static void _file_id(struct aif_file_id *id, const struct stat *st)
{
	id->dev = st->st_dev;
	id->ino = st->st_ino;
	id->size = st->st_size;
	id->mtim = st->st_mtim;
	id->ctim = st->st_ctim;
}

static bool _same_file(const struct aif_file_id *id, const struct stat *st)
{
	return id->dev == st->st_dev && id->ino == st->st_ino &&
		id->size == st->st_size &&
		id->mtim.tv_sec == st->st_mtim.tv_sec &&
		id->mtim.tv_nsec == st->st_mtim.tv_nsec &&
		id->ctim.tv_sec == st->st_ctim.tv_sec &&
		id->ctim.tv_nsec == st->st_ctim.tv_nsec;
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
		return aif_ld_strdup(ld, ld->project_dir);
	if ((dir = aif_ld_malloc(ld, (size_t) (slash - file) + 2 +
			       strlen(ld->project_dir))))
		sprintf(dir, "%.*s/%s", (int) (slash - file), file,
			ld->project_dir);
	return dir;
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
				aif_ld_err_line(ld, s, line, "project_dir",
						"cannot read directory %s: %s",
						dir,
						aif_fs_strerror(errno, ebuf,
								sizeof(ebuf)));
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
			aif_ld_err_line(ld, s, line, "project_dir", "more than "
					"%d project files in %s (the limit)",
					AIF_PROJECT_FILES_MAX, dir);
			return false;
		}
		if (*nnames == cap) {
			char **v = aif_ld_more(ld, *names, &cap, sizeof(*v));

			if (!v)
				return false;
			*names = v;
		}
		if (!((*names)[*nnames] = aif_ld_strdup(ld, de->d_name)))
			return false;
		++*nnames;
		if (S_ISREG(st.st_mode))
			*bytes += (uintmax_t) st.st_size;
	}
	aif_ld_sort(*names, *nnames, sizeof(**names), aif_cmp_str);
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
	struct stat st;
	DIR *d = NULL;
	int fd;

	if (!(dir = _project_dir_path(ld)) ||
	    !(ld->p->project_dir = aif_ld_arena_strdup(ld, dir)))
		goto out;
	if ((fd = aif_ld_open_project_dir(ld, dir, &st)) < 0)
		goto out;
	_file_id(&ld->p->dir_id, &st);
	if (!(d = fdopendir(fd))) {
		char ebuf[128];

		if (errno == ENOMEM)
			ld->oom = true;
		aif_ld_err_line(ld, &ld->main, ld->project_dir_line,
				"project_dir", "cannot read directory %s: %s",
				dir,
				aif_fs_strerror(errno, ebuf, sizeof(ebuf)));
		close(fd);
		goto out;
	}
	if (!_list_project_dir(ld, d, dir, &names, &nnames, &bytes) ||
	    (nnames && !(ld->p->file_ids = aif_ld_arena(ld, nnames,
						sizeof(*ld->p->file_ids)))))
		goto out;
	/* Refused before reading any, when their sizes tell already. */
	if (bytes > AIF_POLICY_BYTES_MAX - ld->bytes) {
		aif_ld_err_line(ld, &ld->main, ld->project_dir_line,
				"project_dir", "the policy's files are larger "
				"than %s together (the limit for a policy and "
				"its project files)",
				aif_ld_size_text(AIF_POLICY_BYTES_MAX, size,
						 sizeof(size)));
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
		aif_ld_path_key(f.prefix, "projects", pname);
		if ((why = aif_ld_project_name_problem(pname))) {
			aif_ld_err_line(ld, &f, 0, f.prefix, "%s", why);
			continue;
		}
		if (aif_ld_read_file(ld, &f, dirfd(d), names[i], true))
			continue;
		/* In name order, as aif_policy_unchanged() looks them up. */
		_file_id(&ld->p->file_ids[ld->p->nfile_ids], &f.st);
		if (!(ld->p->file_ids[ld->p->nfile_ids++].name =
		      aif_ld_arena_strdup(ld, names[i])))
			break;
		/* Into the fingerprint: its name, a NUL, its length, a NUL,
		 * its bytes (see aif_policy_load()). */
		snprintf(len, sizeof(len), "%zu", f.len);
		aif_sha256_update(&ld->sha, names[i], strlen(names[i]) + 1);
		aif_sha256_update(&ld->sha, len, strlen(len) + 1);
		aif_sha256_update(&ld->sha, f.text, f.len);
		if (aif_ld_parse(ld, &f, true))
			aif_ld_add_project(ld, &f, f.prefix, pname, f.root);
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

	aif_ld_sort(ld->loaded, n, sizeof(*ld->loaded), _cmp_loaded);
	for (i = 1; i < n; i++) {
		const struct loaded_project *a = &ld->loaded[i - 1];
		const struct loaded_project *b = &ld->loaded[i];
		struct src from = { .file = b->info.file,
				    .order = b->info.order };
		char kp[AIF_PATH_MAX];

		if (strcmp(a->proj.name, b->proj.name))
			continue;
		aif_ld_path_key(kp, "projects", b->proj.name);
		aif_ld_err_line(ld, &from, b->info.line, kp, "project \"%s\" "
				"is defined twice (also at %s:%d)",
				b->proj.name, a->info.file, a->info.line);
	}
	if (!n)
		return;
	if (!(p->projects = aif_ld_arena(ld, n, sizeof(*p->projects))) ||
	    !(ld->info = aif_ld_calloc(ld, n, sizeof(*ld->info))))
		return;
	for (i = 0; i < n; i++) {
		p->projects[i] = ld->loaded[i].proj;
		ld->info[i] = ld->loaded[i].info;
	}
	p->nprojects = n;
	if (aif_policy_index_projects(p, &p->arena))
		ld->oom = true;
	free(ld->loaded);
	ld->loaded = NULL;
	ld->nloaded = ld->cap_loaded = 0;
}

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
		 resolver : &aif_ld_nss_resolver;
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
	if (!(p->path = ld.main.source = aif_ld_arena_strdup(&ld, path)))
		goto finish;
	if (aif_ld_read_file(&ld, &ld.main, AT_FDCWD, path, false))
		goto finish;
	_file_id(&p->main_id, &ld.main.st);
	aif_sha256_init(&ld.sha);
	aif_sha256_update(&ld.sha, ld.main.text, ld.main.len);
	if (!aif_ld_parse(&ld, &ld.main, false) || !aif_ld_load_main(&ld))
		goto finish;
	_src_release(&ld.main);
	if (ld.project_dir)
		_load_project_dir(&ld);
	if (ld.oom)
		goto finish;
	_finish_projects(&ld);
	if (ld.errs.n || ld.errs.dropped || ld.oom)
		goto finish;
	aif_ld_build_members(&ld);
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
	aif_ld_diags_finish(&ld, &ld.errs, true,
			    report ? &report->errors : NULL,
			    report ? &report->nerrors : NULL);
	aif_ld_diags_finish(&ld, &ld.warns, false,
			    report ? &report->warnings : NULL,
			    report ? &report->nwarnings : NULL);
	_loader_free(&ld);
	return p;
}

static int _cmp_file_id(const void *key, const void *elem)
{
	return strcmp(key, ((const struct aif_file_id *) elem)->name);
}

/*
 * The files as the load found them (struct aif_file_id), looked up the
 * way the load did: the main file and project_dir through their names,
 * symlinks followed, and project_dir listed again, so that a file added
 * or removed shows even if the directory's times did not move. A stat
 * cannot tell a file rewritten in place, to the same size, within the
 * clock tick of its previous write (the load came between the two): the
 * service asks this only at slurmctld's start (docs/slurm.md).
 */
bool aif_policy_unchanged(const struct aif_policy *p)
{
	const struct aif_file_id *id;
	struct dirent *de;
	struct stat st;
	size_t seen = 0;
	bool same = false;
	DIR *d;
	int fd;

	if (!p || !p->path || stat(p->path, &st) ||
	    !_same_file(&p->main_id, &st))
		return false;
	if (!p->project_dir)
		return true;
	fd = open(p->project_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (fstat(fd, &st) || !_same_file(&p->dir_id, &st) ||
	    !(d = fdopendir(fd))) {
		close(fd);
		return false;
	}
	for (;;) {
		errno = 0;
		if (!(de = readdir(d))) {
			same = !errno && seen == p->nfile_ids;
			break;
		}
		if (!_is_project_file(de->d_name))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, 0))
			break;
		if (S_ISDIR(st.st_mode))
			continue;	/* as _list_project_dir() */
		if (!p->nfile_ids ||
		    !(id = bsearch(de->d_name, p->file_ids, p->nfile_ids,
				   sizeof(*id), _cmp_file_id)) ||
		    !_same_file(id, &st))
			break;
		seen++;
	}
	closedir(d);
	return same;
}
