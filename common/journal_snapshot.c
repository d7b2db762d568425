/*
 * The ledger's snapshot beside its journal: written atomically, read back
 * and checked against its checksum; its seq and hash anchor it in the
 * chain (journal.h).
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
#include "sha256.h"

#define SNAPSHOT_TMP "snapshot.tmp"
#define SNAPSHOT_MAGIC "aifactory-snapshot 1 seq="
#define SNAPSHOT_HEAD_MAX 256	/* the header is 213 bytes at most */

/* ------------------------------------------------------------------ */
/* Snapshot                                                           */

/*
 * Read and check "snapshot" in dirfd. body NULL: only check it (streamed).
 * -1 with errno ENOENT, EBADMSG, or another.
 */
int aif_snapshot_load(int dirfd, enum aif_fs_trust trust, char **body,
		      size_t *lenp, uint64_t *seqp,
		      char hash[AIF_SHA256_HEX_LEN])
{
	char head[SNAPSHOT_HEAD_MAX], sum[AIF_SHA256_HEX_LEN];
	char got[AIF_SHA256_HEX_LEN], seq_hash[AIF_SHA256_HEX_LEN];
	uint8_t digest[AIF_SHA256_LEN];
	struct aif_verify_report scratch;
	struct aif_sha256 ctx;
	struct aif_cursor c;
	uint64_t seq, len;
	char *buf = NULL, *nl;
	struct stat st;
	size_t covered, hlen;
	ssize_t n;
	int fd, err = EBADMSG;

	fd = aif_journal_open_read(dirfd, AIF_JOURNAL_SNAPSHOT, trust, &scratch,
				   NULL);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) ||
	    (n = aif_fs_read_full(fd, head, sizeof(head))) < 0) {
		err = errno;
		goto fail;
	}
	if (!(nl = memchr(head, '\n', (size_t) n)))
		goto fail;
	c.p = head;
	c.end = nl;
	if (!aif_cursor_lit(&c, SNAPSHOT_MAGIC) ||
	    !aif_cursor_digits(&c, &seq) ||
	    !aif_cursor_lit(&c, " hash=") ||
	    !aif_cursor_hex64(&c, seq_hash) ||
	    !aif_cursor_lit(&c, " len=") || !aif_cursor_digits(&c, &len))
		goto fail;
	covered = (size_t) (c.p - head);
	if (!aif_cursor_lit(&c, " sha256=") || !aif_cursor_hex64(&c, sum) ||
	    c.p != c.end)
		goto fail;
	hlen = (size_t) (nl - head) + 1;
	if (len > AIF_SNAPSHOT_MAX || (uint64_t) st.st_size != hlen + len)
		goto fail;
	if (lseek(fd, (off_t) hlen, SEEK_SET) < 0) {
		err = errno;
		goto fail;
	}
	aif_sha256_init(&ctx);
	aif_sha256_update(&ctx, head, covered);
	if (body) {
		if (!(buf = malloc((size_t) len + 1))) {
			err = ENOMEM;
			goto fail;
		}
		if ((n = aif_fs_read_full(fd, buf, (size_t) len)) < 0) {
			err = errno;
			goto fail;
		}
		if ((uint64_t) n != len)
			goto fail;
		buf[len] = '\0';
		aif_sha256_update(&ctx, buf, (size_t) len);
	} else {
		char chunk[8192];
		uint64_t left = len;

		while (left) {
			size_t want = left < sizeof(chunk) ? (size_t) left
				: sizeof(chunk);

			if ((n = aif_fs_read_full(fd, chunk, want)) < 0) {
				err = errno;
				goto fail;
			}
			if ((size_t) n != want)
				goto fail;
			aif_sha256_update(&ctx, chunk, want);
			left -= want;
		}
	}
	aif_sha256_final(&ctx, digest);
	aif_sha256_to_hex(digest, got);
	if (strcmp(got, sum))
		goto fail;
	close(fd);
	if (body)
		*body = buf;
	*lenp = (size_t) len;
	*seqp = seq;
	memcpy(hash, seq_hash, AIF_SHA256_HEX_LEN);
	return 0;
fail:
	free(buf);
	close(fd);
	errno = err;
	return -1;
}

int aif_snapshot_read(const char *dir, char **body, size_t *len,
		      uint64_t *seq, char hash[AIF_SHA256_HEX_LEN])
{
	struct aif_verify_report scratch;
	int dirfd, rc, err;

	if (!body || !len || !seq || !hash) {
		errno = EINVAL;
		return -1;
	}
	if ((dirfd = aif_journal_open_dir(dir, false, AIF_FS_TRUST_READ,
					  &scratch)) < 0)
		return -1;
	rc = aif_snapshot_load(dirfd, AIF_FS_TRUST_READ, body, len, seq, hash);
	err = errno;
	close(dirfd);
	errno = err;
	return rc;
}

int aif_snapshot_write(const char *dir, const void *body, size_t len,
		       uint64_t seq, const char *hash)
{
	char head[SNAPSHOT_HEAD_MAX], sum[AIF_SHA256_HEX_LEN];
	uint8_t digest[AIF_SHA256_LEN];
	struct aif_verify_report scratch;
	struct aif_sha256 ctx;
	int dirfd, fd = -1, err;
	bool renamed = false;
	size_t n;

	if ((!body && len) || len > AIF_SNAPSHOT_MAX || !aif_is_hex64(hash)) {
		errno = EINVAL;
		return -1;
	}
	if ((dirfd = aif_journal_open_dir(dir, true, AIF_FS_TRUST_WRITE,
					  &scratch)) < 0)
		return -1;
	n = (size_t) snprintf(head, sizeof(head), SNAPSHOT_MAGIC "%" PRIu64
			      " hash=%s len=%zu", seq, hash, len);
	aif_sha256_init(&ctx);
	aif_sha256_update(&ctx, head, n);
	aif_sha256_update(&ctx, body, len);
	aif_sha256_final(&ctx, digest);
	aif_sha256_to_hex(digest, sum);
	n += (size_t) snprintf(head + n, sizeof(head) - n, " sha256=%s\n",
			       sum);

	/* A leftover from a crash, or a planted symlink: never written
	 * through, never read. */
	if (unlinkat(dirfd, SNAPSHOT_TMP, 0) && errno != ENOENT)
		goto fail;
	fd = openat(dirfd, SNAPSHOT_TMP, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || aif_fs_write_all(fd, head, n) ||
	    aif_fs_write_all(fd, body, len) || fsync(fd))
		goto fail;
	if (close(fd)) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (renameat(dirfd, SNAPSHOT_TMP, dirfd, AIF_JOURNAL_SNAPSHOT))
		goto fail;
	renamed = true;
	if (fsync(dirfd))
		goto fail;
	close(dirfd);
	return 0;
fail:
	err = errno;
	if (fd >= 0)
		close(fd);
	if (!renamed)
		unlinkat(dirfd, SNAPSHOT_TMP, 0);
	close(dirfd);
	errno = err;
	return -1;
}

