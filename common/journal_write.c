/*
 * The journal's writer: open (lock, read back, repair), append, sync,
 * rotate and close (journal.h). The decisions journal.h leaves open:
 * docs/ledger.md, "The journal's code".
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* renameat2 */
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fs_trust.h"
#include "journal.h"
#include "journal_internal.h"

#define LOCK "lock"

struct aif_journal {
	int dirfd;
	int lockfd;		/* "lock", held while open */
	int fd;			/* "journal", O_APPEND; -1 mid-rotation */
	bool broken;		/* a failure left the file in doubt: reopen */
	uint64_t size;		/* bytes of whole records in "journal" */
	uint64_t count;		/* records in "journal" */
	uint64_t first_seq;	/* of "journal"; 0 if it has none */
	uint64_t last_seq;	/* of the chain */
	char last_hash[AIF_SHA256_HEX_LEN];
	/* The same as of the last good sync: a failed one goes back to it. */
	uint64_t synced_size, synced_count, synced_first, synced_seq;
	char synced_hash[AIF_SHA256_HEX_LEN];
	char line[AIF_RECORD_MAX];
};

/* ------------------------------------------------------------------ */
/* Writing                                                            */

/* What is in the file now is durable. */
static void _synced(struct aif_journal *j)
{
	j->synced_size = j->size;
	j->synced_count = j->count;
	j->synced_first = j->first_seq;
	j->synced_seq = j->last_seq;
	memcpy(j->synced_hash, j->last_hash, sizeof(j->synced_hash));
}

/* A sync failed: take back what was appended since the last good one,
 * so that it is written again rather than trusted; broken either way. */
static int _unsync(struct aif_journal *j)
{
	int err = errno;

	if (j->fd >= 0 && !ftruncate(j->fd, (off_t) j->synced_size)) {
		j->size = j->synced_size;
		j->count = j->synced_count;
		j->first_seq = j->synced_first;
		j->last_seq = j->synced_seq;
		memcpy(j->last_hash, j->synced_hash, sizeof(j->last_hash));
	}
	j->broken = true;
	errno = err;
	return -1;
}

static int _break(struct aif_journal *j)
{
	int err = errno;

	j->broken = true;
	errno = err;
	return -1;
}

static void _undo_frame(struct aif_record *r, time_t when, const char *prev)
{
	r->seq = 0;
	r->time = when;
	memcpy(r->prev, prev, sizeof(r->prev));
	r->hash[0] = '\0';
}

int aif_journal_append(struct aif_journal *j, struct aif_record *r)
{
	char saved_prev[AIF_SHA256_HEX_LEN];
	time_t saved_time;
	size_t head, len;
	ssize_t n;
	int err;

	if (!j || !r) {
		errno = EINVAL;
		return -1;
	}
	if (r->error) {
		errno = r->error;
		return -1;
	}
	if (j->broken || j->fd < 0) {
		errno = EIO;
		return -1;
	}
	/* Only the frame changes; keep it to undo a failure. */
	saved_time = r->time;
	memcpy(saved_prev, r->prev, sizeof(saved_prev));
	r->seq = j->last_seq + 1;
	if (!r->time)
		r->time = time(NULL);
	memcpy(r->prev, j->last_hash, sizeof(r->prev));
	if (!(head = aif_record_write_prefix(r, j->line))) {
		_undo_frame(r, saved_time, saved_prev);
		errno = EINVAL;
		return -1;
	}
	aif_chain_hash(r->prev, j->line, head, r->hash);
	len = head + (size_t) snprintf(j->line + head, sizeof(j->line) - head,
				       ",\"prev\":\"%s\",\"hash\":\"%s\"}\n",
				       r->prev, r->hash);
	do
		n = write(j->fd, j->line, len);
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t) len) {
		j->size += len;
		j->last_seq = r->seq;
		memcpy(j->last_hash, r->hash, sizeof(j->last_hash));
		if (!j->count++)
			j->first_seq = r->seq;
		return 0;
	}
	err = n < 0 ? errno : ENOSPC;
	_undo_frame(r, saved_time, saved_prev);
	/* A short write leaves part of a line: take it back. */
	if (n > 0 && ftruncate(j->fd, (off_t) j->size))
		j->broken = true;
	errno = err;
	return -1;
}

int aif_journal_sync(struct aif_journal *j)
{
	if (!j) {
		errno = EINVAL;
		return -1;
	}
	if (j->broken || j->fd < 0) {
		errno = EIO;
		return -1;
	}
	/* A failed sync cannot be retried: the pages may be gone. */
	if (fdatasync(j->fd))
		return _unsync(j);
	_synced(j);
	return 0;
}

void aif_journal_last(const struct aif_journal *j, uint64_t *seq,
		      char hash[AIF_SHA256_HEX_LEN])
{
	if (seq)
		*seq = j ? j->last_seq : 0;
	if (hash)
		memcpy(hash, j ? j->last_hash : AIF_HASH_ZEROS,
		       AIF_SHA256_HEX_LEN);
}

/* The first record of a new "journal": which file came before it. */
static int _write_rotate(struct aif_journal *j, const char *old)
{
	struct aif_record r;

	aif_record_init(&r, AIF_RECORD_ROTATE);
	if (aif_record_add_str(&r, "file", old) || aif_journal_append(j, &r) ||
	    aif_journal_sync(j))
		return -1;
	return 0;
}

/* A new, empty "journal" in j->dirfd (j->fd must be closed). */
static int _create_current(struct aif_journal *j)
{
	j->fd = openat(j->dirfd, AIF_JOURNAL_CURRENT, O_RDWR | O_APPEND |
		       O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (j->fd < 0)
		return -1;
	j->size = j->count = j->first_seq = 0;
	_synced(j);	/* empty; the chain so far is in the renamed file */
	return fsync(j->dirfd);
}

static int _rename_noreplace(int dirfd, const char *from, const char *to)
{
	struct stat st;

	if (!renameat2(dirfd, from, dirfd, to, RENAME_NOREPLACE))
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	/* A file system without RENAME_NOREPLACE: one writer, so check. */
	if (!fstatat(dirfd, to, &st, AT_SYMLINK_NOFOLLOW)) {
		errno = EEXIST;
		return -1;
	}
	return renameat(dirfd, from, dirfd, to);
}

int aif_journal_rotate(struct aif_journal *j)
{
	char name[AIF_JOURNAL_NAME_MAX];

	if (!j) {
		errno = EINVAL;
		return -1;
	}
	if (j->broken || j->fd < 0) {
		errno = EIO;
		return -1;
	}
	if (!j->count)
		return 0;
	snprintf(name, sizeof(name), AIF_JOURNAL_ROTATED "%" PRIu64 "-%" PRIu64,
		 j->first_seq, j->last_seq);
	if (fdatasync(j->fd))
		return _unsync(j);
	_synced(j);
	if (_rename_noreplace(j->dirfd, AIF_JOURNAL_CURRENT, name))
		return -1;	/* nothing changed */
	/* From here a failure leaves a rotation that open finishes. */
	close(j->fd);
	j->fd = -1;
	if (fsync(j->dirfd) || _create_current(j) || _write_rotate(j, name))
		return _break(j);
	return 0;
}

/* Hold "lock" in dirfd: one writer per directory. Its fd, or -1 after a
 * report (EWOULDBLOCK: another process has it). */
static int _lock(int dirfd, struct aif_verify_report *rep)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int fd, err;

	fd = openat(dirfd, LOCK, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC |
		    O_NOCTTY | O_NONBLOCK, 0600);
	if (fd < 0)
		return aif_chain_say_errno(rep, errno, LOCK, "cannot open");
	if (aif_journal_check_file(fd, LOCK, AIF_FS_TRUST_WRITE, rep))
		goto fail;
	if (!fcntl(fd, F_OFD_SETLK, &fl))
		return fd;
	/* A kernel older than 3.15: flock, local file systems only. */
	if (errno == EINVAL && !flock(fd, LOCK_EX | LOCK_NB))
		return fd;
	if (errno == EAGAIN || errno == EACCES || errno == EWOULDBLOCK)
		aif_chain_say(rep, AIF_CHAIN_IO, EWOULDBLOCK, LOCK, 0, 0, "the "
			      "journal is open in another process");
	else
		aif_chain_say_errno(rep, errno, LOCK, "cannot lock");
fail:
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

int aif_journal_open(const char *dir, struct aif_journal **jp,
		     struct aif_verify_report *report)
{
	struct aif_verify_report local;
	struct aif_verify_report *rep = report ? report : &local;
	struct aif_rotated *files = NULL;
	struct aif_journal *j;
	struct aif_walk *w = NULL;
	size_t nfiles = 0;
	char ebuf[128];
	int err;

	aif_chain_report_init(rep);
	if (!jp)
		return aif_chain_say(rep, AIF_CHAIN_IO, EINVAL, NULL, 0, 0,
				     "nowhere to put the journal");
	*jp = NULL;
	if (!(j = calloc(1, sizeof(*j))))
		return aif_chain_say(rep, AIF_CHAIN_IO, ENOMEM, NULL, 0, 0,
				     "out of memory");
	j->fd = j->lockfd = -1;
	memcpy(j->last_hash, AIF_HASH_ZEROS, sizeof(AIF_HASH_ZEROS));
	if ((j->dirfd = aif_journal_open_dir(dir, true, AIF_FS_TRUST_WRITE,
					     rep)) < 0)
		goto fail;
	if ((j->lockfd = _lock(j->dirfd, rep)) < 0)
		goto fail;
	j->fd = openat(j->dirfd, AIF_JOURNAL_CURRENT, O_RDWR | O_APPEND |
		       O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (j->fd < 0 && errno == ENOENT && _create_current(j)) {
		aif_chain_say_errno(rep, errno, AIF_JOURNAL_CURRENT, "cannot "
				    "create");
		goto fail;
	}
	if (j->fd < 0) {
		aif_chain_say_errno(rep, errno, AIF_JOURNAL_CURRENT, "cannot "
				    "open");
		goto fail;
	}
	if (aif_journal_check_file(j->fd, AIF_JOURNAL_CURRENT,
				   AIF_FS_TRUST_WRITE, rep) ||
	    !(w = aif_walk_new(AIF_WALK_OPEN, AIF_FS_TRUST_WRITE, rep)) ||
	    aif_walk_fd(w, j->fd, AIF_JOURNAL_CURRENT, 0, 0))
		goto fail;
	if (w->torn) {
		if (ftruncate(j->fd, (off_t) w->good_end) || fdatasync(j->fd)) {
			aif_chain_say_errno(rep, errno, AIF_JOURNAL_CURRENT,
					    "cannot cut off a torn last line");
			goto fail;
		}
		snprintf(rep->message, sizeof(rep->message), AIF_JOURNAL_CURRENT
			 ":%" PRIu64 ": a last line with no newline (%" PRIu64
			 " bytes), a write cut by a crash, was cut off",
			 rep->torn_line, rep->torn_bytes);
	}
	j->size = w->good_end;
	j->count = w->file_records;
	j->first_seq = w->file_first;
	if (w->started) {
		j->last_seq = w->seq;
		memcpy(j->last_hash, w->hash, sizeof(j->last_hash));
	}
	if (!j->count) {
		/* Empty: a new chain, or a rotation a crash cut short. */
		if (aif_journal_list_rotated(j->dirfd, &files, &nfiles, rep))
			goto fail;
		if (nfiles) {
			struct aif_rotated *last = &files[nfiles - 1];

			w->started = false;
			w->prev_file[0] = '\0';
			if (aif_walk_file(w, j->dirfd, last->name, last->first,
					  last->last, NULL))
				goto fail;
			j->last_seq = w->seq;
			memcpy(j->last_hash, w->hash, sizeof(j->last_hash));
			if (_write_rotate(j, last->name)) {
				aif_chain_say(rep, AIF_CHAIN_IO, errno,
					      AIF_JOURNAL_CURRENT, 0, 0,
					      "cannot write the rotate record "
					      "after %s: %s", last->name,
					      aif_fs_strerror(errno, ebuf,
							      sizeof(ebuf)));
				goto fail;
			}
		}
	}
	_synced(j);	/* read back as it is: the start of what may be cut */
	rep->records = j->count;
	rep->last_seq = j->last_seq;
	memcpy(rep->last_hash, j->last_hash, sizeof(rep->last_hash));
	free(files);
	free(w);
	*jp = j;
	return 0;
fail:
	err = errno;
	free(files);
	free(w);
	if (j->fd >= 0)
		close(j->fd);
	if (j->lockfd >= 0)
		close(j->lockfd);
	if (j->dirfd >= 0)
		close(j->dirfd);
	free(j);
	errno = err;
	return -1;
}

int aif_journal_close(struct aif_journal *j)
{
	int rc = 0, err = 0;

	if (!j)
		return 0;
	if (j->broken) {
		rc = -1;
		err = EIO;
	} else if (j->fd >= 0 && fdatasync(j->fd)) {
		rc = -1;
		err = errno;
	}
	if (j->fd >= 0)
		close(j->fd);
	close(j->lockfd);	/* releases the lock */
	close(j->dirfd);
	free(j);
	errno = err;
	return rc;
}

uint64_t aif_journal_size(const struct aif_journal *j)
{
	return j ? j->size : 0;
}
