/*
 * slurm-aifactory: files the library trusts, and the I/O helpers for them.
 * What is asked of a file or a directory before it is believed (owner,
 * mode, no symlink, a regular file), checked on the descriptor that is
 * then read so nothing can be swapped in between; whole reads and writes;
 * a new directory entry made durable. No messages here: a check says
 * what it found (struct aif_fs_fault) and each caller words it for its
 * own users.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef AIF_FS_TRUST_H
#define AIF_FS_TRUST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Inside the library only: not exported (tests/0008-library-exports.t). */
#pragma GCC visibility push(hidden)

/* What is asked of a file or directory before it is believed. */
enum aif_fs_trust {
	AIF_FS_TRUST_NONE,	/* nothing but its type: an auditor's copy,
				 * where what is read is checked instead */
	AIF_FS_TRUST_READ,	/* no symlink, no group/other write, owner
				 * root or us, or anyone when we are root
				 * (aifctl reading what SlurmUser wrote) */
	AIF_FS_TRUST_WRITE,	/* the same, and owner root or us even for
				 * root */
};

/* Flags of aif_fs_open_dir() and aif_fs_open_read(). */
#define AIF_FS_CREATE	0x1	/* a directory: make it 0700 if missing */
#define AIF_FS_FOLLOW	0x2	/* follow a symlink and check what it leads
				 * to, rather than refuse it (ELOOP) */

/* What a check found wrong. */
enum aif_fs_problem {
	AIF_FS_OK = 0,
	AIF_FS_SYSCALL,		/* a call failed: err, and op says which;
				 * err ELOOP: a symlink where none may be */
	AIF_FS_NOT_REGULAR,	/* not a regular file (EINVAL) */
	AIF_FS_OWNER,		/* owned by uid, not by root or us (EPERM) */
	AIF_FS_WRITABLE,	/* group or others may write it: mode (EPERM) */
};

struct aif_fs_fault {
	enum aif_fs_problem problem;
	int err;		/* the errno the call returned with */
	const char *op;		/* AIF_FS_SYSCALL: "cannot open", "cannot
				 * open directory", "cannot create directory",
				 * "cannot stat" (static strings) */
	uid_t uid;		/* AIF_FS_OWNER: the owner found */
	mode_t mode;		/* AIF_FS_WRITABLE: its permission bits */
};

/* strerror_r's text for err, in buf (or a static string). */
const char *aif_fs_strerror(int err, char *buf, size_t len);

/* All len bytes of buf to fd, across short writes and EINTR; 0, or -1
 * with errno (EIO if write() wrote nothing). */
int aif_fs_write_all(int fd, const void *buf, size_t len);

/* len bytes into buf unless the file ends first: the count read, or -1
 * with errno. */
ssize_t aif_fs_read_full(int fd, void *buf, size_t len);

/* The user slurmctld runs as: our euid, unless aifctl, run as root, said
 * it is SlurmUser (aif_policy_trust_uid), so that it trusts what
 * slurmctld trusts. Set once, before any file is read. */
void aif_fs_set_service_uid(uid_t uid);
uid_t aif_fs_service_uid(void);

/* uid may own what is trusted at this level: root, our euid or the
 * service's, or anyone with AIF_FS_TRUST_READ when we are root. */
bool aif_fs_trusted_owner(uid_t uid, enum aif_fs_trust trust);

/* fsync the directory holding path, so that a new entry in it (a
 * directory just made) is durable; a failure shows at the first sync of
 * a file in it, if ever. */
void aif_fs_sync_parent(const char *path);

/* dir without trailing slashes into path ("link/" would follow a symlink
 * that O_NOFOLLOW must refuse); "/" stays. 0, or -1 with ENAMETOOLONG. */
int aif_fs_dir_path(const char *dir, char *path, size_t len);

/*
 * The checks below take st, which may be NULL: when given, what fstat
 * found on the descriptor that passed them (its size, its identity), so
 * that a caller needs no second fstat.
 */

/*
 * The directory path, opened (O_DIRECTORY). AIF_FS_CREATE: made 0700 if
 * missing (its parent synced). With trust, a symlink is refused (ELOOP,
 * unless AIF_FS_FOLLOW), and so is a directory not owned as trust asks or
 * writable by group or others. Its fd, or -1 with errno and *f saying why.
 */
int aif_fs_open_dir(const char *path, unsigned flags, enum aif_fs_trust trust,
		    struct stat *st, struct aif_fs_fault *f);

/* fd is a regular file and, with trust, owned as trust asks and not
 * writable by group or others. 0, or -1 with errno and *f saying why. */
int aif_fs_check_file(int fd, enum aif_fs_trust trust, struct stat *st,
		      struct aif_fs_fault *f);

/*
 * name in dirfd, opened for reading and checked as aif_fs_check_file()
 * does. O_NONBLOCK, so that a FIFO is refused rather than waited on. With
 * trust, a symlink is refused (ELOOP) unless flags has AIF_FS_FOLLOW. Its
 * fd, or -1 with errno and *f saying why (ENOENT: it does not exist).
 */
int aif_fs_open_read(int dirfd, const char *name, unsigned flags,
		     enum aif_fs_trust trust, struct stat *st,
		     struct aif_fs_fault *f);

#pragma GCC visibility pop

#endif /* AIF_FS_TRUST_H */
