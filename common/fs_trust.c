/*
 * slurm-aifactory: files the library trusts (owner, mode, no symlink,
 * opened with openat and checked on the descriptor) and the I/O helpers
 * for them: whole reads and writes, a directory's fsync (fs_trust.h).
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* strerror_r returning char * */
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs_trust.h"

const char *aif_fs_strerror(int err, char *buf, size_t len)
{
	return strerror_r(err, buf, len);
}

int aif_fs_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t) n;
	}
	return 0;
}

ssize_t aif_fs_read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, (char *) buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t) n;
	}
	return (ssize_t) got;
}

/* The user slurmctld runs as, when it is not us (aifctl run as root). */
static uid_t service_uid = (uid_t) -1;

void aif_fs_set_service_uid(uid_t uid)
{
	service_uid = uid;
}

uid_t aif_fs_service_uid(void)
{
	return service_uid != (uid_t) -1 ? service_uid : geteuid();
}

bool aif_fs_trusted_owner(uid_t uid, enum aif_fs_trust trust)
{
	uid_t me = geteuid();

	return uid == 0 || uid == me || uid == aif_fs_service_uid() ||
		(trust == AIF_FS_TRUST_READ && me == 0);
}

void aif_fs_sync_parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	char parent[PATH_MAX];
	int fd;

	if (!slash)
		snprintf(parent, sizeof(parent), ".");
	else if (slash == path)
		snprintf(parent, sizeof(parent), "/");
	else
		snprintf(parent, sizeof(parent), "%.*s", (int) (slash - path),
			 path);
	fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

int aif_fs_dir_path(const char *dir, char *path, size_t len)
{
	size_t n = strlen(dir);

	if (n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(path, dir, n + 1);
	while (n > 1 && path[n - 1] == '/')
		path[--n] = '\0';
	return 0;
}

/* A failed call: -1 with errno err, said in *f. */
static int _fail(struct aif_fs_fault *f, int err, const char *op)
{
	f->problem = AIF_FS_SYSCALL;
	f->err = err;
	f->op = op;
	errno = err;
	return -1;
}

/* st as trust asks: its owner and its mode. 0, or -1 with *f. */
static int _check_stat(const struct stat *st, enum aif_fs_trust trust,
		       struct aif_fs_fault *f)
{
	if (trust && !aif_fs_trusted_owner(st->st_uid, trust)) {
		f->problem = AIF_FS_OWNER;
		f->err = errno = EPERM;
		f->uid = st->st_uid;
		return -1;
	}
	if (trust && (st->st_mode & (S_IWGRP | S_IWOTH))) {
		f->problem = AIF_FS_WRITABLE;
		f->err = errno = EPERM;
		f->mode = st->st_mode & 07777;
		return -1;
	}
	return 0;
}

int aif_fs_open_dir(const char *path, unsigned flags, enum aif_fs_trust trust,
		    struct stat *out, struct aif_fs_fault *f)
{
	bool nofollow = trust && !(flags & AIF_FS_FOLLOW);
	struct stat st;
	int fd;

	memset(f, 0, sizeof(*f));
	if ((flags & AIF_FS_CREATE) && !mkdir(path, 0700))
		aif_fs_sync_parent(path);
	else if ((flags & AIF_FS_CREATE) && errno != EEXIST)
		return _fail(f, errno, "cannot create directory");
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
		  (nofollow ? O_NOFOLLOW : 0));
	if (fd < 0) {
		int err = errno;

		if (nofollow && (err == ENOTDIR || err == ELOOP) &&
		    !lstat(path, &st) && S_ISLNK(st.st_mode))
			err = ELOOP;
		return _fail(f, err, "cannot open directory");
	}
	if (fstat(fd, &st)) {
		int err = errno;

		close(fd);
		return _fail(f, err, "cannot stat");
	}
	if (_check_stat(&st, trust, f)) {
		close(fd);
		errno = f->err;
		return -1;
	}
	if (out)
		*out = st;
	return fd;
}

int aif_fs_check_file(int fd, enum aif_fs_trust trust, struct stat *out,
		      struct aif_fs_fault *f)
{
	struct stat st;

	memset(f, 0, sizeof(*f));
	if (fstat(fd, &st))
		return _fail(f, errno, "cannot stat");
	if (!S_ISREG(st.st_mode)) {
		f->problem = AIF_FS_NOT_REGULAR;
		f->err = errno = EINVAL;
		return -1;
	}
	if (_check_stat(&st, trust, f))
		return -1;
	if (out)
		*out = st;
	return 0;
}

int aif_fs_open_read(int dirfd, const char *name, unsigned flags,
		     enum aif_fs_trust trust, struct stat *st,
		     struct aif_fs_fault *f)
{
	bool nofollow = trust && !(flags & AIF_FS_FOLLOW);
	int fd;

	memset(f, 0, sizeof(*f));
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK |
		    (nofollow ? O_NOFOLLOW : 0));
	if (fd < 0)
		return _fail(f, errno, "cannot open");
	if (aif_fs_check_file(fd, trust, st, f)) {
		close(fd);
		errno = f->err;
		return -1;
	}
	return fd;
}
