/*
 * The journal's archive: old rotated files moved out of the state
 * directory, and the marker "archived" that carries the chain on from
 * them (journal.h, aif_journal_archive(); docs/ledger.md, "Archiving
 * rotated files").
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs_trust.h"
#include "journal.h"
#include "journal_internal.h"
#include "text.h"

#define ARCHIVED_TMP "archived.tmp"
#define ARCHIVED_MAGIC "aifactory-archived 1 file="

/* ------------------------------------------------------------------ */
/* The marker "archived"                                              */

/*
 * The marker "archived": the rotated files up to seq were moved to an
 * archive, file being the last of them and hash the hash of its last
 * record. One line:
 *   aifactory-archived 1 file=<name> seq=<seq> hash=<64 hex>
 * 0 with *seq 0 when there is none; -1 after a report.
 */
int aif_archived_read(int dirfd, enum aif_fs_trust trust,
		      char file[AIF_JOURNAL_NAME_MAX], uint64_t *seq,
		      char hash[AIF_SHA256_HEX_LEN],
		      struct aif_verify_report *rep)
{
	char buf[256], *end, *sp;
	bool missing = false;
	uint64_t first, last;
	ssize_t n;
	int fd;

	*seq = 0;
	fd = aif_journal_open_read(dirfd, AIF_JOURNAL_ARCHIVED, trust, rep,
				   &missing);
	if (fd < 0)
		return missing ? 0 : -1;
	n = aif_fs_read_full(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return aif_chain_say_errno(rep, errno, AIF_JOURNAL_ARCHIVED,
					   "cannot read");
	buf[n] = '\0';
	if (strncmp(buf, ARCHIVED_MAGIC, AIF_LIT(ARCHIVED_MAGIC)) ||
	    !(sp = strchr(buf + AIF_LIT(ARCHIVED_MAGIC), ' ')))
		goto bad;
	*sp = '\0';
	if (!aif_journal_rotated_name(buf + AIF_LIT(ARCHIVED_MAGIC), &first,
				      &last))
		goto bad;
	aif_copy(file, AIF_JOURNAL_NAME_MAX,
			 buf + AIF_LIT(ARCHIVED_MAGIC));
	if (strncmp(sp + 1, "seq=", 4))
		goto bad;
	errno = 0;
	*seq = strtoull(sp + 5, &end, 10);
	if (errno || *seq != last || strncmp(end, " hash=", 6) ||
	    strlen(end + 6) != 65 || strcmp(end + 6 + 64, "\n"))
		goto bad;
	memcpy(hash, end + 6, 64);
	hash[64] = '\0';
	if (!aif_is_hex64(hash))
		goto bad;
	return 0;
bad:
	*seq = 0;
	return aif_chain_say(rep, AIF_CHAIN_SYNTAX, EBADMSG,
			     AIF_JOURNAL_ARCHIVED, 1, 0, "not an archive "
			     "marker (\"" ARCHIVED_MAGIC "<file> seq=<seq> "
			     "hash=<64 hex>\")");
}

/* Drop the rotated files the marker says were archived (a copy left by
 * an archiving cut short is not read again). */
void aif_archived_skip(struct aif_rotated *files, size_t *n, uint64_t seq)
{
	size_t k = 0;

	for (size_t i = 0; i < *n; i++)
		if (files[i].last > seq)
			files[k++] = files[i];
	*n = k;
}

/* ------------------------------------------------------------------ */
/* Moving rotated files to the archive                                */

/* Copy name from dirfd to destfd (through name.tmp, synced, renamed). A
 * copy already there of the same size is kept. 0, or -1 after a report. */
static int _copy_file(int dirfd, int destfd, const char *name,
		      struct aif_verify_report *rep)
{
	char tmp[AIF_JOURNAL_NAME_MAX + 8], buf[AIF_JOURNAL_READ_BUF];
	struct stat st, dst;
	int in, out = -1, err;
	ssize_t n;

	if ((in = aif_journal_open_read(dirfd, name, AIF_FS_TRUST_NONE, rep,
					NULL)) < 0)
		return -1;
	if (fstat(in, &st))
		goto io;
	if (!fstatat(destfd, name, &dst, AT_SYMLINK_NOFOLLOW) &&
	    S_ISREG(dst.st_mode) && dst.st_size == st.st_size) {
		close(in);
		return 0;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	unlinkat(destfd, tmp, 0);
	out = openat(destfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		     O_CLOEXEC, 0600);
	if (out < 0)
		goto io;
	while ((n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || aif_fs_write_all(out, buf, (size_t) n))
			goto io;
	}
	if (fsync(out) || close(out))
		goto io_closed;
	out = -1;
	if (renameat(destfd, tmp, destfd, name) || fsync(destfd))
		goto io_closed;
	close(in);
	return 0;
io:
	if (out >= 0)
		close(out);
io_closed:
	err = errno;
	close(in);
	return aif_chain_say_errno(rep, err, name, "cannot copy to the "
				   "archive");
}

int aif_journal_archive(const char *dir, const char *dest, size_t *moved,
			struct aif_verify_report *report)
{
	struct aif_verify_report drep;
	char hash[AIF_SHA256_HEX_LEN], line[256];
	struct aif_rotated *files = NULL;
	size_t nfiles = 0, take = 0, len;
	int dirfd = -1, destfd = -1, fd, rc = -1, err;
	uint64_t snap_seq;

	if (!report || !moved) {
		errno = EINVAL;
		return -1;
	}
	*moved = 0;
	if (aif_journal_verify(dir, report))
		return -1;	/* never archive a broken chain */
	if ((dirfd = aif_journal_open_dir(dir, false, AIF_FS_TRUST_WRITE,
					  report)) < 0)
		return -1;
	if (aif_snapshot_load(dirfd, AIF_FS_TRUST_WRITE, NULL, &len, &snap_seq,
			      hash)) {
		aif_chain_say(report, AIF_CHAIN_IO,
			      errno == ENOENT ? ENOENT : EBADMSG,
			      AIF_JOURNAL_SNAPSHOT, 0, 0, "no good snapshot: "
			      "only rotated files a snapshot covers are "
			      "archived (the ledger must never need them "
			      "again)");
		goto out;
	}
	if (aif_journal_list_rotated(dirfd, &files, &nfiles, report))
		goto out;
	aif_archived_skip(files, &nfiles, report->archived_seq);
	/* Never the newest rotated file (open may need it), never one the
	 * snapshot's own record is in. */
	while (take + 1 < nfiles && files[take].last < snap_seq)
		take++;
	if (!take) {
		rc = 0;
		goto out;
	}
	if ((destfd = aif_journal_open_dir(dest, true, AIF_FS_TRUST_WRITE,
					   report)) < 0)
		goto out;
	for (size_t i = 0; i < take; i++)
		if (_copy_file(dirfd, destfd, files[i].name, report))
			goto out;
	/* The archive must be one chain from seq 1 to what it now holds. */
	if (aif_journal_verify(dest, &drep) ||
	    drep.last_seq != files[take - 1].last) {
		aif_chain_say(report, AIF_CHAIN_FILE, EBADMSG, dest, 0, 0,
			      "the archive is not one chain up to seq %" PRIu64
			      " (%s): archive into the same directory every "
			      "time; nothing was removed", files[take - 1].last,
			      drep.message);
		goto out;
	}
	snprintf(line, sizeof(line), ARCHIVED_MAGIC "%s seq=%" PRIu64
		 " hash=%s\n", files[take - 1].name, drep.last_seq,
		 drep.last_hash);
	unlinkat(dirfd, ARCHIVED_TMP, 0);
	fd = openat(dirfd, ARCHIVED_TMP, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || aif_fs_write_all(fd, line, strlen(line)) || fsync(fd)) {
		err = errno;
		if (fd >= 0)
			close(fd);
		aif_chain_say_errno(report, err, ARCHIVED_TMP, "cannot write");
		goto out;
	}
	close(fd);
	if (renameat(dirfd, ARCHIVED_TMP, dirfd, AIF_JOURNAL_ARCHIVED) ||
	    fsync(dirfd)) {
		aif_chain_say_errno(report, errno, AIF_JOURNAL_ARCHIVED,
				    "cannot write");
		goto out;
	}
	/* The marker is durable: the copies left here are skipped. */
	for (size_t i = 0; i < take; i++)
		if (unlinkat(dirfd, files[i].name, 0) == 0)
			(*moved)++;
	fsync(dirfd);
	rc = aif_journal_verify(dir, report);
out:
	err = errno;
	free(files);
	if (destfd >= 0)
		close(destfd);
	if (dirfd >= 0)
		close(dirfd);
	errno = err;
	return rc;
}

