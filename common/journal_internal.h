/*
 * slurm-aifactory: what the journal's files share inside the library
 * (journal_record.c, journal_walk.c, journal_write.c, journal_archive.c,
 * journal_snapshot.c). The API is journal.h.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef AIF_JOURNAL_INTERNAL_H
#define AIF_JOURNAL_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "fs_trust.h"
#include "journal.h"
#include "sha256.h"

/* Inside the library only: not exported (tests/0008-library-exports.t). */
#pragma GCC visibility push(hidden)

/* The hash before the first record: 64 zeros. */
#define AIF_HASH_ZEROS \
	"0000000000000000000000000000000000000000000000000000000000000000"

/* Names in the journal's directory. */
#define AIF_JOURNAL_CURRENT "journal"	/* the file appended to */
#define AIF_JOURNAL_ROTATED "journal."	/* + "<first seq>-<last seq>" */
#define AIF_JOURNAL_SNAPSHOT "snapshot"
#define AIF_JOURNAL_ARCHIVED "archived"	/* the archive's marker */

#define AIF_JOURNAL_READ_BUF (64 * 1024)	/* bytes read at a time */

/* The length of a string literal. */
#define AIF_LIT(s) (sizeof(s) - 1)

/* ------------------------------------------------------------------ */
/* The record codec (journal_record.c)                                  */

/* A line being read: the bytes from p up to end. */
struct aif_cursor {
	const char *p, *end;
};

/* s is 64 lowercase hex digits and its NUL. */
bool aif_is_hex64(const char *s);

/* Each takes what it names at c and moves past it, or returns false:
 * the literal s; digits (no sign; false past UINT64_MAX); 64 lowercase
 * hex digits, copied into out with a NUL. */
bool aif_cursor_lit(struct aif_cursor *c, const char *s);
bool aif_cursor_digits(struct aif_cursor *c, uint64_t *v);
bool aif_cursor_hex64(struct aif_cursor *c, char out[AIF_SHA256_HEX_LEN]);

/* The line up to ,"prev" into buf (AIF_RECORD_MAX); its length, or 0 if
 * r's time or type cannot be written. */
size_t aif_record_write_prefix(const struct aif_record *r, char *buf);

/* SHA-256 of prev (64 hex digits) and the len bytes at bytes, as hex. */
void aif_chain_hash(const char *prev, const char *bytes, size_t len,
		    char out[AIF_SHA256_HEX_LEN]);

/*
 * Parse a line (no newline) into r, using tmp (AIF_RECORD_MAX). Returns
 * the length of the part the hash covers (up to ,"prev"), or 0 with *why.
 */
size_t aif_record_parse(const char *line, size_t len, struct aif_record *r,
			char *tmp, const char **why);

/* The seq a line starts with, or 0. */
uint64_t aif_record_peek_seq(const char *line, size_t len);

/* ------------------------------------------------------------------ */
/* The report, and the journal's files opened (journal_walk.c)          */

/* rep emptied: no problem, no record, the hash of none. */
void aif_chain_report_init(struct aif_verify_report *rep);

/*
 * Record a problem in rep: the message is "<file>:<line>: seq N: ..."
 * (file, line and seq when known). Returns -1 with errno err.
 */
int __attribute__((format(printf, 7, 8)))
aif_chain_say(struct aif_verify_report *rep, enum aif_chain_problem problem,
	      int err, const char *file, uint64_t line, uint64_t seq,
	      const char *fmt, ...);

/* A failed call on file in rep: "what: <strerror>", or that it is a
 * symlink (ELOOP). Returns -1 with errno err. */
int aif_chain_say_errno(struct aif_verify_report *rep, int err,
			const char *file, const char *what);

/*
 * dir, opened. create: make it 0700 if missing. trust: refuse a symlink, a
 * directory owned by anyone but root or us, or one that group or others
 * may write. Returns the fd, or -1 after a report.
 */
int aif_journal_open_dir(const char *dir, bool create,
			 enum aif_fs_trust trust,
			 struct aif_verify_report *rep);

/* fd is name: a regular file and, with trust, ours and not writable by
 * others. 0, or -1 after a report. */
int aif_journal_check_file(int fd, const char *name, enum aif_fs_trust trust,
			   struct aif_verify_report *rep);

/* name in dirfd, for reading. -1 with *missing set if it does not exist
 * (and missing is given), or after a report. */
int aif_journal_open_read(int dirfd, const char *name,
			  enum aif_fs_trust trust,
			  struct aif_verify_report *rep, bool *missing);

/* ------------------------------------------------------------------ */
/* Walking the chain (journal_walk.c)                                   */

/* A rotated file, "journal.<first>-<last>". */
struct aif_rotated {
	uint64_t first, last;
	char name[AIF_JOURNAL_NAME_MAX];
};

/* A file read one line at a time, with no allocation. */
struct aif_reader {
	int fd;
	uint64_t offset;	/* file offset of buf[start] */
	size_t start, end;
	bool eof;
	char buf[AIF_JOURNAL_READ_BUF];
};

enum aif_walk_mode { AIF_WALK_VERIFY, AIF_WALK_REPLAY, AIF_WALK_OPEN };

/* One pass along the chain, file by file. */
struct aif_walk {
	enum aif_walk_mode mode;
	enum aif_fs_trust trust;
	struct aif_verify_report *rep;
	bool started;		/* seq and hash below are known */
	uint64_t seq;		/* of the last good record */
	char hash[AIF_SHA256_HEX_LEN];
	char prev_file[AIF_JOURNAL_NAME_MAX];	/* walked before; "" */
	/* replay */
	uint64_t after_seq;
	const char *after_hash;
	aif_replay_fn fn;
	void *arg;
	/* verify: a good snapshot's seq and hash */
	bool snap;
	uint64_t snap_seq;
	char snap_hash[AIF_SHA256_HEX_LEN];
	/* the file being walked */
	bool torn;		/* it ended in a line with no newline */
	uint64_t file_first, file_records;
	uint64_t good_end;	/* offset after its last good line */
	struct aif_reader rd;
	struct aif_record rec;
	char tmp[AIF_RECORD_MAX];
};

/* A new walk (calloc'ed: the caller frees it), or NULL after a report. */
struct aif_walk *aif_walk_new(enum aif_walk_mode mode,
			      enum aif_fs_trust trust,
			      struct aif_verify_report *rep);

/*
 * Walk the open file fd, called name: rotated with seqs first..last, or
 * the current journal (first = last = 0), whose last line may be torn.
 * 0, or -1 after a report.
 */
int aif_walk_fd(struct aif_walk *w, int fd, const char *name, uint64_t first,
		uint64_t last);

/* The same, opening name in dirfd as w->trust asks (*missing as for
 * aif_journal_open_read()). */
int aif_walk_file(struct aif_walk *w, int dirfd, const char *name,
		  uint64_t first, uint64_t last, bool *missing);

/* s is "journal.<first>-<last>", as we write it. */
bool aif_journal_rotated_name(const char *s, uint64_t *first, uint64_t *last);

/* The rotated files in dirfd, by seq: *out malloc'ed (NULL if none). */
int aif_journal_list_rotated(int dirfd, struct aif_rotated **out, size_t *n,
			     struct aif_verify_report *rep);

/* ------------------------------------------------------------------ */
/* The archive's marker (journal_archive.c)                             */

/*
 * The marker "archived": the rotated files up to seq were moved to an
 * archive, file being the last of them and hash the hash of its last
 * record. 0 with *seq 0 when there is none; -1 after a report.
 */
int aif_archived_read(int dirfd, enum aif_fs_trust trust,
		      char file[AIF_JOURNAL_NAME_MAX], uint64_t *seq,
		      char hash[AIF_SHA256_HEX_LEN],
		      struct aif_verify_report *rep);

/* Drop the rotated files the marker says were archived (a copy left by
 * an archiving cut short is not read again). */
void aif_archived_skip(struct aif_rotated *files, size_t *n, uint64_t seq);

/* ------------------------------------------------------------------ */
/* The snapshot (journal_snapshot.c)                                    */

/*
 * Read and check "snapshot" in dirfd. body NULL: only check it (streamed).
 * -1 with errno ENOENT, EBADMSG, or another.
 */
int aif_snapshot_load(int dirfd, enum aif_fs_trust trust, char **body,
		      size_t *lenp, uint64_t *seqp,
		      char hash[AIF_SHA256_HEX_LEN]);

#pragma GCC visibility pop

#endif /* AIF_JOURNAL_INTERNAL_H */
