/*
 * The journal read back: the report of what was found, the journal's
 * directory and files opened as trusted, one pass along the chain line by
 * line and file by file (the rotated files by seq, then "journal"), and
 * aif_journal_verify() and aif_journal_replay() on it (journal.h).
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs_trust.h"
#include "journal.h"
#include "journal_internal.h"
#include "text.h"

/* ------------------------------------------------------------------ */
/* The report, and the journal's files opened                         */

void aif_chain_report_init(struct aif_verify_report *rep)
{
	memset(rep, 0, sizeof(*rep));
	memcpy(rep->last_hash, AIF_HASH_ZEROS, sizeof(AIF_HASH_ZEROS));
}

/*
 * Record a problem in rep: the message is "<file>:<line>: seq N: ..."
 * (file, line and seq when known). Returns -1 with errno err.
 */
int __attribute__((format(printf, 7, 8)))
aif_chain_say(struct aif_verify_report *rep, enum aif_chain_problem problem,
	      int err, const char *file, uint64_t line, uint64_t seq,
	      const char *fmt, ...)
{
	size_t n = 0, cap = sizeof(rep->message);
	va_list ap;

	rep->problem = problem;
	aif_copy(rep->file, sizeof(rep->file), file);
	rep->line = line;
	rep->seq = seq;
	rep->message[0] = '\0';
	if (file && line)
		n = (size_t) snprintf(rep->message, cap, "%s:%" PRIu64 ": ",
				      file, line);
	else if (file)
		n = (size_t) snprintf(rep->message, cap, "%s: ", file);
	if (seq && n < cap)
		n += (size_t) snprintf(rep->message + n, cap - n,
				       "seq %" PRIu64 ": ", seq);
	if (n < cap) {
		va_start(ap, fmt);
		vsnprintf(rep->message + n, cap - n, fmt, ap);
		va_end(ap);
	}
	errno = err;
	return -1;
}

int aif_chain_say_errno(struct aif_verify_report *rep, int err,
			const char *file, const char *what)
{
	char ebuf[128];

	if (err == ELOOP)
		return aif_chain_say(rep, AIF_CHAIN_UNSAFE, err, file, 0, 0,
				     "is a symlink; refusing to follow it");
	return aif_chain_say(rep, AIF_CHAIN_IO, err, file, 0, 0, "%s: %s", what,
			     aif_fs_strerror(err, ebuf, sizeof(ebuf)));
}

/* What an fs_trust check found, in rep; name is what was checked, a
 * directory when dir. -1 with its errno. */
static int _say_fault(struct aif_verify_report *rep,
		      const struct aif_fs_fault *f, const char *name, bool dir)
{
	const char *what = dir ? "directory " : "";

	switch (f->problem) {
	case AIF_FS_NOT_REGULAR:
		return aif_chain_say(rep, AIF_CHAIN_UNSAFE, EINVAL, name, 0, 0,
				     "not a regular file");
	case AIF_FS_OWNER:
		return aif_chain_say(rep, AIF_CHAIN_UNSAFE, EPERM, name, 0, 0,
				     "%sowned by uid %lu; it must be owned by "
				     "root or by the user slurmctld runs as "
				     "(uid %lu)", what, (unsigned long) f->uid,
				     (unsigned long) aif_fs_service_uid());
	case AIF_FS_WRITABLE:
		return aif_chain_say(rep, AIF_CHAIN_UNSAFE, EPERM, name, 0, 0,
				     "%swritable by group or others (mode "
				     "%04o); refusing to trust it", what,
				     (unsigned) f->mode);
	default:
		return aif_chain_say_errno(rep, f->err, name, f->op);
	}
}

/*
 * dir, opened. create: make it 0700 if missing. trust: refuse a symlink, a
 * directory owned by anyone but root or us, or one that group or others
 * may write. Returns the fd, or -1 after a report.
 */
int aif_journal_open_dir(const char *dir, bool create, enum aif_fs_trust trust,
			 struct aif_verify_report *rep)
{
	char path[PATH_MAX];
	struct aif_fs_fault f;
	int fd;

	if (!dir || !*dir)
		return aif_chain_say(rep, AIF_CHAIN_IO, EINVAL, NULL, 0, 0,
				     "no journal directory given");
	if (aif_fs_dir_path(dir, path, sizeof(path)))
		return aif_chain_say_errno(rep, errno, dir, "cannot open");
	fd = aif_fs_open_dir(path, create ? AIF_FS_CREATE : 0, trust, NULL,
			     &f);
	if (fd < 0)
		return _say_fault(rep, &f, path, true);
	return fd;
}

/* fd is name: a regular file and, with trust, ours and not writable by
 * others. 0, or -1 after a report. */
int aif_journal_check_file(int fd, const char *name, enum aif_fs_trust trust,
			   struct aif_verify_report *rep)
{
	struct aif_fs_fault f;

	if (aif_fs_check_file(fd, trust, NULL, &f))
		return _say_fault(rep, &f, name, false);
	return 0;
}

/* name in dirfd, for reading. -1 with *missing set if it does not exist
 * (and missing is given), or after a report. */
int aif_journal_open_read(int dirfd, const char *name, enum aif_fs_trust trust,
			  struct aif_verify_report *rep, bool *missing)
{
	struct aif_fs_fault f;
	int fd = aif_fs_open_read(dirfd, name, 0, trust, NULL, &f);

	if (fd < 0 && f.problem == AIF_FS_SYSCALL && f.err == ENOENT &&
	    missing) {
		*missing = true;
		return -1;
	}
	if (fd < 0)
		return _say_fault(rep, &f, name, false);
	return fd;
}

/* ------------------------------------------------------------------ */
/* A file, line by line                                               */

static void _reader_init(struct aif_reader *rd, int fd)
{
	rd->fd = fd;
	rd->offset = 0;
	rd->start = rd->end = 0;
	rd->eof = false;
}

/*
 * The next line: 1 with *line, *len (no newline) and *nl (false: the file
 * ended without one), 0 at the end, -1 with errno (EMSGSIZE: a line
 * longer than AIF_RECORD_MAX). *line lives until the next call.
 */
static int _read_line(struct aif_reader *rd, const char **line, size_t *len,
		      bool *nl)
{
	for (;;) {
		size_t have = rd->end - rd->start;
		char *q = memchr(rd->buf + rd->start, '\n', have);
		ssize_t got;

		if (q || (rd->eof && have)) {
			size_t n = q ? (size_t) (q - (rd->buf + rd->start))
				: have;

			if (n >= AIF_RECORD_MAX) {
				errno = EMSGSIZE;
				return -1;
			}
			*line = rd->buf + rd->start;
			*len = n;
			*nl = q != NULL;
			n += q ? 1 : 0;
			rd->start += n;
			rd->offset += n;
			return 1;
		}
		if (have >= AIF_RECORD_MAX) {
			errno = EMSGSIZE;
			return -1;
		}
		if (rd->eof)
			return 0;
		if (sizeof(rd->buf) - rd->end < AIF_RECORD_MAX) {
			memmove(rd->buf, rd->buf + rd->start, have);
			rd->start = 0;
			rd->end = have;
		}
		got = read(rd->fd, rd->buf + rd->end,
			   sizeof(rd->buf) - rd->end);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -1;
		if (got == 0)
			rd->eof = true;
		rd->end += (size_t) got;
	}
}

/* ------------------------------------------------------------------ */
/* Walking the chain                                                  */

struct aif_walk *aif_walk_new(enum aif_walk_mode mode, enum aif_fs_trust trust,
			      struct aif_verify_report *rep)
{
	struct aif_walk *w = calloc(1, sizeof(*w));

	if (!w) {
		aif_chain_say(rep, AIF_CHAIN_IO, ENOMEM, NULL, 0, 0, "out of "
			      "memory");
		return NULL;
	}
	w->mode = mode;
	w->trust = trust;
	w->rep = rep;
	memcpy(w->hash, AIF_HASH_ZEROS, sizeof(AIF_HASH_ZEROS));
	return w;
}

/* The chain starts here: seq 1 follows seq 0, whose hash is zeros. */
static void _walk_from_start(struct aif_walk *w)
{
	w->started = true;
	w->seq = 0;
	memcpy(w->hash, AIF_HASH_ZEROS, sizeof(AIF_HASH_ZEROS));
}

/* "record 5 is" or "records 5 to 9 are" */
static const char *_records(char *buf, size_t len, uint64_t a, uint64_t b)
{
	if (a == b)
		snprintf(buf, len, "record %" PRIu64 " is", a);
	else
		snprintf(buf, len, "records %" PRIu64 " to %" PRIu64 " are",
			 a, b);
	return buf;
}

/* seq N came where E was expected: were records deleted, or moved? */
static int _gap_or_order(struct aif_walk *w, const char *name, uint64_t line,
			 const struct aif_record *r, uint64_t expect)
{
	const char *l, *named = NULL;
	uint64_t at = line;
	char range[64];
	bool nl;
	size_t n;

	while (_read_line(&w->rd, &l, &n, &nl) > 0) {
		at++;
		if (nl && aif_record_peek_seq(l, n) == expect)
			return aif_chain_say(w->rep, AIF_CHAIN_ORDER, EBADMSG,
					     name, line, r->seq, "seq %" PRIu64
					     " was expected here, and is at "
					     "line %" PRIu64 ": records are "
					     "out of order", expect, at);
	}
	if (r->type == AIF_RECORD_ROTATE)
		named = aif_record_str(r, "file");
	_records(range, sizeof(range), expect, r->seq - 1);
	if (named && strcmp(named, w->prev_file))
		return aif_chain_say(w->rep, AIF_CHAIN_GAP, EBADMSG, name, line,
				     r->seq, "seq %" PRIu64 " was expected: %s "
				     "missing (this file's rotate record names "
				     "%s, which is not here)", expect, range,
				     named);
	return aif_chain_say(w->rep, AIF_CHAIN_GAP, EBADMSG, name, line, r->seq,
			     "seq %" PRIu64 " was expected: %s missing "
			     "(deleted)", expect, range);
}

/* Check one line of file name (rotated: its seqs first..last, else 0). */
static int _check_line(struct aif_walk *w, const char *name, uint64_t line,
		       const char *text, size_t len, uint64_t first)
{
	struct aif_verify_report *rep = w->rep;
	struct aif_record *r = &w->rec;
	char hash[AIF_SHA256_HEX_LEN], range[64];
	const char *why = "";
	size_t head;

	head = aif_record_parse(text, len, r, w->tmp, &why);
	if (!head)
		return aif_chain_say(rep, AIF_CHAIN_SYNTAX, EBADMSG, name, line,
				     aif_record_peek_seq(text, len), "not a "
				     "journal record: %s", why);
	aif_chain_hash(r->prev, text, head, hash);
	if (strcmp(hash, r->hash))
		return aif_chain_say(rep, AIF_CHAIN_HASH, EBADMSG, name, line,
				     r->seq, "hash mismatch: the record was "
				     "edited after it was written (its bytes "
				     "give %.12s..., it says %.12s...)", hash,
				     r->hash);

	if (w->started) {
		uint64_t expect = w->seq + 1;

		if (r->seq > expect)
			return _gap_or_order(w, name, line, r, expect);
		if (r->seq < expect)
			return aif_chain_say(rep, AIF_CHAIN_ORDER, EBADMSG,
					     name, line, r->seq, "seq %" PRIu64
					     " was expected: records are out "
					     "of order (moved, copied or "
					     "inserted)", expect);
		if (strcmp(r->prev, w->hash))
			return aif_chain_say(rep, AIF_CHAIN_PREV, EBADMSG, name,
					     line, r->seq, "prev is not the "
					     "hash of seq %" PRIu64 ": one of "
					     "the two records was rewritten, "
					     "or one was put between them",
					     w->seq);
	} else if (w->mode == AIF_WALK_REPLAY && r->seq > w->after_seq + 1) {
		return aif_chain_say(rep, AIF_CHAIN_GAP, EBADMSG, name, line,
				     r->seq, "replay starts after seq %" PRIu64
				     ", but the journal starts here: %s "
				     "missing", w->after_seq,
				     _records(range, sizeof(range),
					      w->after_seq + 1, r->seq - 1));
	} else if (w->mode == AIF_WALK_REPLAY && r->seq == w->after_seq + 1 &&
		   w->after_hash && strcmp(r->prev, w->after_hash)) {
		return aif_chain_say(rep, AIF_CHAIN_ANCHOR, EBADMSG, name, line,
				     r->seq, "prev is not the hash the "
				     "snapshot gives seq %" PRIu64 ": the "
				     "snapshot is not of this chain",
				     w->after_seq);
	} else if (r->seq == 1 && strcmp(r->prev, AIF_HASH_ZEROS)) {
		return aif_chain_say(rep, AIF_CHAIN_PREV, EBADMSG, name, line,
				     r->seq, "the first record's prev is not "
				     "64 zeros");
	}

	if (r->type == AIF_RECORD_ROTATE && line != 1)
		return aif_chain_say(rep, AIF_CHAIN_FILE, EBADMSG, name, line,
				     r->seq, "a rotate record that is not the "
				     "first of its file");
	if (line == 1 && w->prev_file[0]) {
		const char *named = r->type == AIF_RECORD_ROTATE ?
			aif_record_str(r, "file") : NULL;

		if (!named)
			return aif_chain_say(rep, AIF_CHAIN_FILE, EBADMSG, name,
					     line, r->seq, "the file after %s "
					     "must start with a rotate record",
					     w->prev_file);
		if (strcmp(named, w->prev_file))
			return aif_chain_say(rep, AIF_CHAIN_FILE, EBADMSG, name,
					     line, r->seq, "the rotate record "
					     "names %s, but the file before "
					     "this one is %s", named,
					     w->prev_file);
	}
	if (first && line == 1 && r->seq != first)
		return aif_chain_say(rep, AIF_CHAIN_FILE, EBADMSG, name, line,
				     r->seq, "the file's name says it starts "
				     "at seq %" PRIu64, first);
	if (w->mode == AIF_WALK_REPLAY && w->after_hash &&
	    r->seq == w->after_seq && strcmp(r->hash, w->after_hash))
		return aif_chain_say(rep, AIF_CHAIN_ANCHOR, EBADMSG, name, line,
				     r->seq, "the snapshot gives this record "
				     "the hash %.12s..., it has %.12s...: the "
				     "snapshot is not of this chain",
				     w->after_hash, r->hash);
	if (w->snap && r->seq == w->snap_seq && strcmp(r->hash, w->snap_hash))
		return aif_chain_say(rep, AIF_CHAIN_ANCHOR, EBADMSG, name, line,
				     r->seq, "the snapshot gives this record "
				     "the hash %.12s..., it has %.12s...: the "
				     "snapshot is not of this chain",
				     w->snap_hash, r->hash);

	w->started = true;
	w->seq = r->seq;
	memcpy(w->hash, r->hash, sizeof(w->hash));
	if (!w->file_records++)
		w->file_first = r->seq;
	rep->records++;
	rep->last_seq = r->seq;
	memcpy(rep->last_hash, r->hash, sizeof(rep->last_hash));

	if (w->mode == AIF_WALK_REPLAY && r->seq > w->after_seq) {
		errno = 0;
		if (w->fn(r, w->arg)) {
			int err = errno ? errno : ECANCELED;

			return aif_chain_say(rep, AIF_CHAIN_STOPPED, err, name,
					     line, r->seq, "replay stopped by "
					     "its caller");
		}
	}
	return 0;
}

/*
 * Walk the open file fd, called name: rotated with seqs first..last, or
 * the current journal (first = last = 0), whose last line may be torn.
 * 0, or -1 after a report.
 */
int aif_walk_fd(struct aif_walk *w, int fd, const char *name, uint64_t first,
		uint64_t last)
{
	struct aif_verify_report *rep = w->rep;
	uint64_t line = 0;
	const char *text;
	char ebuf[128], range[64];
	size_t len;
	bool nl;
	int k;

	_reader_init(&w->rd, fd);
	w->torn = false;
	w->file_first = w->file_records = w->good_end = 0;
	while ((k = _read_line(&w->rd, &text, &len, &nl))) {
		line++;
		if (k < 0 && errno == EMSGSIZE)
			return aif_chain_say(rep, AIF_CHAIN_SYNTAX, EBADMSG,
					     name, line, 0, "not a journal "
					     "record: longer than %d bytes",
					     AIF_RECORD_MAX);
		if (k < 0)
			return aif_chain_say(rep, AIF_CHAIN_IO, errno, name,
					     line, 0, "cannot read: %s",
					     aif_fs_strerror(errno, ebuf,
							     sizeof(ebuf)));
		if (!nl && !last && w->mode != AIF_WALK_VERIFY) {
			w->torn = true;
			rep->torn_line = line;
			rep->torn_bytes = len;
			snprintf(rep->message, sizeof(rep->message), "%s:%"
				 PRIu64 ": a last line with no newline (%zu "
				 "bytes), never synced, ends the chain here",
				 name, line, len);
			break;
		}
		if (!nl)
			return aif_chain_say(rep, AIF_CHAIN_TORN, EBADMSG, name,
					     line, w->started ? w->seq + 1 : 0,
					     "the last line has no newline "
					     "(%zu bytes): the file was cut "
					     "short, or a write was "
					     "interrupted by a crash", len);
		if (_check_line(w, name, line, text, len, first))
			return -1;
		w->good_end = w->rd.offset;
	}
	if (last && !w->file_records)
		return aif_chain_say(rep, AIF_CHAIN_FILE, EBADMSG, name, 1, 0,
				     "holds no record, but its name says seqs %"
				     PRIu64 " to %" PRIu64, first, last);
	if (last && w->seq > last)
		return aif_chain_say(rep, AIF_CHAIN_FILE, EBADMSG, name, line,
				     w->seq, "the file ends at seq %" PRIu64
				     ", but its name says %" PRIu64, w->seq,
				     last);
	if (last && w->seq < last)
		return aif_chain_say(rep, AIF_CHAIN_FILE, EBADMSG, name,
				     line + 1, w->seq + 1, "the file ends at "
				     "seq %" PRIu64 ", but its name says %"
				     PRIu64 ": %s missing from its end",
				     w->seq, last,
				     _records(range, sizeof(range), w->seq + 1,
					      last));
	aif_copy(w->prev_file, sizeof(w->prev_file), name);
	return 0;
}

int aif_walk_file(struct aif_walk *w, int dirfd, const char *name,
		  uint64_t first, uint64_t last, bool *missing)
{
	int fd = aif_journal_open_read(dirfd, name, w->trust, w->rep, missing);
	int rc, err;

	if (fd < 0)
		return -1;
	rc = aif_walk_fd(w, fd, name, first, last);
	err = errno;
	close(fd);
	errno = err;
	return rc;
}

/* A number as we write it: no sign, no leading zero, not 0. */
static bool _seq_text(const char **s, uint64_t *v)
{
	struct aif_cursor c = { *s, *s + strlen(*s) };

	if (**s < '1' || **s > '9' || !aif_cursor_digits(&c, v))
		return false;
	*s = c.p;
	return true;
}

/* "journal.<first>-<last>" */
bool aif_journal_rotated_name(const char *s, uint64_t *first, uint64_t *last)
{
	if (strncmp(s, AIF_JOURNAL_ROTATED, AIF_LIT(AIF_JOURNAL_ROTATED)))
		return false;
	s += AIF_LIT(AIF_JOURNAL_ROTATED);
	return _seq_text(&s, first) && *s++ == '-' && _seq_text(&s, last) &&
		!*s && *first <= *last;
}

static int _by_seq(const void *a, const void *b)
{
	const struct aif_rotated *x = a, *y = b;

	if (x->first != y->first)
		return x->first < y->first ? -1 : 1;
	return x->last < y->last ? -1 : x->last > y->last;
}

/* The rotated files in dirfd, by seq: *out malloc'ed (NULL if none). */
int aif_journal_list_rotated(int dirfd, struct aif_rotated **out, size_t *n,
			     struct aif_verify_report *rep)
{
	struct aif_rotated *list = NULL;
	size_t cap = 0, used = 0;
	struct dirent *e;
	DIR *d;
	int fd, err;

	*out = NULL;
	*n = 0;
	fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || !(d = fdopendir(fd))) {
		err = errno;
		if (fd >= 0)
			close(fd);
		return aif_chain_say_errno(rep, err, ".", "cannot list the "
					   "directory");
	}
	for (;;) {
		uint64_t first, last;

		errno = 0;
		if (!(e = readdir(d)))
			break;
		if (!aif_journal_rotated_name(e->d_name, &first, &last))
			continue;
		if (used == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct aif_rotated *nl =
				realloc(list, ncap * sizeof(*nl));

			if (!nl) {
				errno = ENOMEM;
				break;
			}
			list = nl;
			cap = ncap;
		}
		list[used].first = first;
		list[used].last = last;
		aif_copy(list[used].name, sizeof(list[used].name),
				 e->d_name);
		used++;
	}
	err = errno;
	closedir(d);
	if (err) {
		free(list);
		return aif_chain_say_errno(rep, err, ".", "cannot list the "
					   "directory");
	}
	if (used)
		qsort(list, used, sizeof(*list), _by_seq);
	*out = list;
	*n = used;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Verify and replay                                                  */

int aif_journal_verify(const char *dir, struct aif_verify_report *report)
{
	struct aif_rotated *files = NULL;
	char hash[AIF_SHA256_HEX_LEN];
	struct aif_walk *w = NULL;
	bool missing = false;
	size_t nfiles = 0, len;
	int dirfd, rc = -1, err;
	char range[64];
	uint64_t seq;

	if (!report) {
		errno = EINVAL;
		return -1;
	}
	aif_chain_report_init(report);
	if ((dirfd = aif_journal_open_dir(dir, false, AIF_FS_TRUST_NONE,
					  report)) < 0)
		return -1;
	if (!(w = aif_walk_new(AIF_WALK_VERIFY, AIF_FS_TRUST_NONE, report)) ||
	    aif_journal_list_rotated(dirfd, &files, &nfiles, report) ||
	    aif_archived_read(dirfd, AIF_FS_TRUST_NONE, report->archived_file,
				     &report->archived_seq, hash, report))
		goto out;
	if (report->archived_seq) {
		/* The chain goes on from the archive's last record. */
		aif_archived_skip(files, &nfiles, report->archived_seq);
		w->started = true;
		w->seq = report->archived_seq;
		memcpy(w->hash, hash, sizeof(w->hash));
		aif_copy(w->prev_file, sizeof(w->prev_file),
				 report->archived_file);
	} else {
		_walk_from_start(w);
	}
	if (!aif_snapshot_load(dirfd, AIF_FS_TRUST_NONE, NULL, &len, &seq,
			       hash)) {
		w->snap = true;
		w->snap_seq = seq;
		memcpy(w->snap_hash, hash, sizeof(hash));
	} else if (errno != ENOENT) {
		report->snapshot = -1;
	}
	for (size_t i = 0; i < nfiles; i++)
		if (aif_walk_file(w, dirfd, files[i].name, files[i].first,
				  files[i].last, NULL))
			goto out;
	if (aif_walk_file(w, dirfd, AIF_JOURNAL_CURRENT, 0, 0, &missing) &&
	    !missing)
		goto out;
	if (missing && !nfiles && !report->archived_seq) {
		aif_chain_say(report, AIF_CHAIN_IO, ENOENT, dir, 0, 0, "no "
			      "journal here");
		goto out;
	}
	if (w->snap && w->seq < w->snap_seq) {
		aif_chain_say(report, AIF_CHAIN_SHORT, EBADMSG,
			      missing ? files[nfiles - 1].name :
			      AIF_JOURNAL_CURRENT,
			      missing ? 0 : w->file_records + 1, w->seq + 1,
			      "the journal ends at seq %" PRIu64 ", but the "
			      "snapshot covers seq %" PRIu64 ": %s missing "
			      "from its end", w->seq, w->snap_seq,
			      _records(range, sizeof(range), w->seq + 1,
				       w->snap_seq));
		goto out;
	}
	if (w->snap)
		report->snapshot = 1;
	if (report->records && report->archived_seq)
		snprintf(report->message, sizeof(report->message), "%" PRIu64
			 " records, seq %" PRIu64 " to %" PRIu64 ": the chain "
			 "is whole; seq 1 to %" PRIu64 " are archived (up to "
			 "%s)", report->records, report->archived_seq + 1,
			 report->last_seq, report->archived_seq,
			 report->archived_file);
	else if (report->records)
		snprintf(report->message, sizeof(report->message), "%" PRIu64
			 " records, seq 1 to %" PRIu64 ": the chain is whole",
			 report->records, report->last_seq);
	else
		snprintf(report->message, sizeof(report->message),
			 "no records yet: the chain is empty");
	rc = 0;
out:
	err = errno;
	free(files);
	free(w);
	close(dirfd);
	errno = err;
	return rc;
}

int aif_journal_replay(const char *dir, uint64_t after_seq,
		       const char *after_hash, aif_replay_fn fn, void *arg,
		       struct aif_verify_report *report)
{
	struct aif_verify_report local;
	struct aif_verify_report *rep = report ? report : &local;
	char archived_hash[AIF_SHA256_HEX_LEN];
	struct aif_rotated *files = NULL;
	struct aif_walk *w = NULL;
	bool missing = false;
	int dirfd, rc = -1, err;
	size_t nfiles = 0;

	aif_chain_report_init(rep);
	if (!fn || (after_hash && !aif_is_hex64(after_hash)))
		return aif_chain_say(rep, AIF_CHAIN_IO, EINVAL, NULL, 0, 0,
				     "no callback, or a bad hash");
	if ((dirfd = aif_journal_open_dir(dir, false, AIF_FS_TRUST_READ,
					  rep)) < 0)
		return -1;
	if (!(w = aif_walk_new(AIF_WALK_REPLAY, AIF_FS_TRUST_READ, rep)) ||
	    aif_journal_list_rotated(dirfd, &files, &nfiles, rep) ||
	    aif_archived_read(dirfd, AIF_FS_TRUST_READ, rep->archived_file,
				     &rep->archived_seq, archived_hash, rep))
		goto out;
	if (rep->archived_seq > after_seq) {
		aif_chain_say(rep, AIF_CHAIN_SHORT, EBADMSG,
			      AIF_JOURNAL_ARCHIVED, 0, 0, "records 1 to %"
			      PRIu64 " were archived (up to %s), and replay "
			      "starts after seq %" PRIu64 ": restore them to "
			      "replay", rep->archived_seq, rep->archived_file,
			      after_seq);
		goto out;
	}
	aif_archived_skip(files, &nfiles, rep->archived_seq);
	w->after_seq = after_seq;
	w->after_hash = after_seq ? after_hash : NULL;
	w->fn = fn;
	w->arg = arg;
	if (!after_seq)
		_walk_from_start(w);
	for (size_t i = 0; i < nfiles; i++) {
		if (files[i].last < after_seq)
			continue;	/* wholly before: not even read */
		if (aif_walk_file(w, dirfd, files[i].name, files[i].first,
				  files[i].last, NULL))
			goto out;
	}
	if (aif_walk_file(w, dirfd, AIF_JOURNAL_CURRENT, 0, 0, &missing) &&
	    !missing)
		goto out;
	if (!w->started || w->seq < after_seq) {
		aif_chain_say(rep, AIF_CHAIN_SHORT, EBADMSG, dir, 0, 0, "the "
			      "journal ends at seq %" PRIu64 ", before seq %"
			      PRIu64 " that replay starts after (the "
			      "snapshot's)", w->started ? w->seq : 0,
			      after_seq);
		goto out;
	}
	rc = 0;
out:
	err = errno;
	free(files);
	free(w);
	close(dirfd);
	errno = err;
	return rc;
}

