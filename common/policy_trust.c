/*
 * slurm-aifactory policy library: reading a policy file we are going to
 * trust, as munge reads its key. A file is read only when it, its
 * directory and every directory on the way to it are owned by root or by
 * us and writable by no one else, symlinks included; docs/policy-loader.md
 * says why each check is there. The checks of one file or directory are
 * fs_trust.c's; the walk up the directories and the words are the
 * loader's.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs_trust.h"
#include "policy_load.h"

/* "16 MiB", "256 KiB": a limit in messages. */
const char *aif_ld_size_text(size_t bytes, char *buf, size_t len)
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
		return aif_ld_strdup(ld, ".");
	while (slash > path && slash[-1] == '/')
		slash--;
	if (slash == path)
		return aif_ld_strdup(ld, "/");
	if ((dir = aif_ld_malloc(ld, (size_t) (slash - path) + 1)))
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
		aif_ld_err_line(ld, s, line, kpath,
				"cannot stat directory %s%s: %s", path, of,
				aif_fs_strerror(errno, ebuf, sizeof(ebuf)));
		return false;
	}
	if (!aif_fs_trusted_owner(st.st_uid, AIF_FS_TRUST_WRITE)) {
		aif_ld_err_line(ld, s, line, kpath, "directory %s%s is owned "
				"by uid %lu; every directory on the path to %s "
				"must be owned by root or by the user "
				"slurmctld runs as (uid %lu)", path, of,
				(unsigned long) st.st_uid, what,
				(unsigned long) aif_fs_service_uid());
		return false;
	}
	if (self || !(st.st_mode & (S_IWGRP | S_IWOTH)) ||
	    (st.st_mode & S_ISVTX))
		return true;
	aif_ld_err_line(ld, s, line, kpath, "directory %s%s is writable by "
			"group or others (mode %04o) and not sticky; refusing "
			"to trust the files under it", path, of,
			(unsigned) (st.st_mode & 07777));
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
	if (!(name = aif_ld_strdup(ld, dir)))
		return false;
	real = realpath(dir, NULL);
	if (!real) {
		if (errno == ENOMEM)
			ld->oom = true;
		aif_ld_err_line(ld, s, line, kpath, "cannot resolve directory "
				"%s: %s", dir,
				aif_fs_strerror(errno, ebuf, sizeof(ebuf)));
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
		aif_ld_err_line(ld, s, 0, "", "cannot stat directory %s: %s",
				dir,
				aif_fs_strerror(errno, ebuf, sizeof(ebuf)));
		return false;
	}
	if (!(st.st_mode & (S_IWGRP | S_IWOTH)))
		return _check_parents(ld, s, 0, "", dir, link, what);
	if (link)
		aif_ld_err_line(ld, s, 0, "", "directory %s (of the symlink's "
				"target %s) is writable by group or others "
				"(mode %04o); refusing to trust it", dir, link,
				(unsigned) (st.st_mode & 07777));
	else
		aif_ld_err_line(ld, s, 0, "", "directory %s is writable by "
				"group or others (mode %04o); refusing to "
				"trust the files in it", dir,
				(unsigned) (st.st_mode & 07777));
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
		aif_ld_err_line(ld, s, 0, "", "cannot resolve the symlink: %s",
				aif_fs_strerror(errno, ebuf, sizeof(ebuf)));
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
	if (!(*buf = aif_ld_malloc(ld, cap)))
		return -1;
	while (*len <= bound) {
		size_t want;
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
		want = cap - 1 - *len;
		if ((n = aif_fs_read_full(fd, *buf + *len, want)) < 0) {
			aif_ld_err_line(ld, s, 0, "", "cannot read: %s",
					aif_fs_strerror(errno, ebuf,
							sizeof(ebuf)));
			return -1;
		}
		*len += (size_t) n;
		if ((size_t) n < want)
			break;		/* the end of the file */
	}
	(*buf)[*len] = '\0';
	return 0;
}

/* What fs_trust found wrong with s, a file, in the loader's words. */
static void _say_file_fault(struct loader *ld, const struct src *s,
			    const struct aif_fs_fault *f, const char *what)
{
	char ebuf[128];

	switch (f->problem) {
	case AIF_FS_NOT_REGULAR:
		aif_ld_err_line(ld, s, 0, "", "not a regular file");
		break;
	case AIF_FS_OWNER:
		aif_ld_err_line(ld, s, 0, "", "owned by uid %lu; %s must be "
				"owned by root or by the user slurmctld runs "
				"as (uid %lu)", (unsigned long) f->uid, what,
				(unsigned long) aif_fs_service_uid());
		break;
	case AIF_FS_WRITABLE:
		aif_ld_err_line(ld, s, 0, "",
				"writable by group or others (mode %04o); "
				"refusing to trust it", (unsigned) f->mode);
		break;
	default:	/* "cannot open", "cannot stat" */
		aif_ld_err_line(ld, s, 0, "", "%s: %s", f->op,
				aif_fs_strerror(f->err, ebuf, sizeof(ebuf)));
	}
}

/*
 * Read name (in dirfd; s->file in messages) into s->text (NUL-terminated)
 * and s->len: at most the limit for its kind, and what is left of the
 * load's total. Returns 0, or -1 after recording an error.
 */
int aif_ld_read_file(struct loader *ld, struct src *s, int dirfd,
		      const char *name, bool project)
{
	const char *what = project ? "a project file" : "a policy file";
	size_t limit = project ? AIF_PROJECT_FILE_MAX : AIF_POLICY_FILE_MAX;
	size_t left = AIF_POLICY_BYTES_MAX - ld->bytes;
	size_t bound = limit < left ? limit : left, len;
	char size[32], *buf = NULL;
	struct aif_fs_fault f;
	int fd, rc = -1;

	/* Symlinks followed: _check_link() checks where they lead. */
	fd = aif_fs_open_read(dirfd, name, AIF_FS_FOLLOW, AIF_FS_TRUST_WRITE,
			      &s->st, &f);
	if (fd < 0) {
		_say_file_fault(ld, s, &f, what);
		return -1;
	}
	if (!_check_link(ld, s, dirfd, name, what))
		goto out;
	/* project_dir's own checks cover its files. */
	if (!project && !_check_dir_of(ld, s))
		goto out;

	/* Over already by its size: not read at all. */
	if ((uintmax_t) s->st.st_size > bound)
		len = bound + 1;
	else if (_read_fd(ld, s, fd, (size_t) s->st.st_size, bound, &buf,
			  &len))
		goto out;
	if (len > limit) {
		aif_ld_err_line(ld, s, 0, "", "file is larger than %s (the "
				"limit for %s)",
				aif_ld_size_text(limit, size, sizeof(size)),
				what);
		goto out;
	}
	if (len > left) {
		ld->spent = true;
		aif_ld_err_line(ld, s, 0, "", "the policy's files are larger "
				"than %s together (the limit for a policy and "
				"its project files)",
				aif_ld_size_text(AIF_POLICY_BYTES_MAX, size,
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

/* What fs_trust found wrong with dir, the project_dir, in the loader's
 * words. */
static void _say_dir_fault(struct loader *ld, const struct aif_fs_fault *f,
			   const char *dir)
{
	const struct src *s = &ld->main;
	int line = ld->project_dir_line;
	char ebuf[128];

	switch (f->problem) {
	case AIF_FS_OWNER:
		aif_ld_err_line(ld, s, line, "project_dir", "directory %s is "
				"owned by uid %lu; it must be owned by root or "
				"by the user slurmctld runs as (uid %lu)", dir,
				(unsigned long) f->uid,
				(unsigned long) aif_fs_service_uid());
		break;
	case AIF_FS_WRITABLE:
		aif_ld_err_line(ld, s, line, "project_dir", "directory %s is "
				"writable by group or others (mode %04o); "
				"refusing to trust it", dir,
				(unsigned) f->mode);
		break;
	default:	/* "cannot open directory", "cannot stat" */
		aif_ld_err_line(ld, s, line, "project_dir",
				"%s directory %s: %s",
				strcmp(f->op, "cannot stat") ? "cannot open" :
				"cannot stat", dir,
				aif_fs_strerror(f->err, ebuf, sizeof(ebuf)));
	}
}

/*
 * Open dir and check it may be trusted (see aif_ld_read_file): owned by root or
 * by us, and writable by neither group nor others. A descriptor and what
 * fstat found on it in *st, or -1 after recording an error.
 */
int aif_ld_open_project_dir(struct loader *ld, const char *dir,
			    struct stat *st)
{
	const struct src *s = &ld->main;
	int line = ld->project_dir_line;
	struct aif_fs_fault f;
	int fd;

	fd = aif_fs_open_dir(dir, AIF_FS_FOLLOW, AIF_FS_TRUST_WRITE, st, &f);
	if (fd < 0) {
		_say_dir_fault(ld, &f, dir);
		return -1;
	}
	if (_check_parents(ld, s, line, "project_dir", dir, NULL,
			   "a project file"))
		return fd;
	close(fd);
	return -1;
}

void aif_policy_trust_uid(uid_t uid)
{
	aif_fs_set_service_uid(uid);
}
