/*
 * The ledger's journal: an append-only file of JSON lines whose records
 * form one SHA-256 hash chain, its rotation, its verification and replay,
 * and the snapshot the ledger starts from (docs/ledger.md).
 *
 * A line:
 *   {"seq":42,"time":"2026-11-21T18:55:14Z","type":"charge",<fields>,
 *    "prev":"<64 hex>","hash":"<64 hex>"}
 * where hash = SHA-256(prev as 64 hex digits || the line's bytes up to,
 * not including, ,"prev"). The first record of a chain has seq 1 and a
 * prev of 64 zeros. Fields are strings or integers, in the order added.
 *
 * No SLURM here. These functions do I/O: call them on the ledger's writer
 * thread or in aifctl, never under slurmctld's locks. Building a record
 * (aif_record_*) does no I/O and no allocation, and may be done anywhere.
 *
 * Functions return 0, or -1 with errno set. Thread safety: a struct
 * aif_journal is used by one thread at a time; verify, replay and the
 * snapshot functions keep no state and may run on any thread, also while
 * a journal is open on the same directory.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef AIF_JOURNAL_H
#define AIF_JOURNAL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "sha256.h"

#define AIF_RECORD_MAX 4096	/* bytes of one line, newline included */
#define AIF_RECORD_FIELDS_MAX 40	/* fields in one record */
#define AIF_RECORD_KEY_MAX 32	/* a key: [a-z][a-z0-9_]*, NUL included */
#define AIF_RECORD_STR_MAX 512	/* a string value as written, escaped */
#define AIF_RECORD_CUT "...[cut]"	/* ends a string that was cut */
#define AIF_JOURNAL_NAME_MAX 64	/* a journal file's name, NUL included */
#define AIF_SNAPSHOT_MAX (1UL << 30)	/* bytes of a snapshot's body */

/* ------------------------------------------------------------------ */
/* Records                                                              */

/* The types "reserved" are read and verified, and written by nothing
 * yet (docs/ledger.md); their names and order are part of the format. */
enum aif_record_type {
	AIF_RECORD_GRANT,	/* reserved */
	AIF_RECORD_DECISION,	/* admission: accept, reshape, refuse, fallback */
	AIF_RECORD_LIEN,	/* reserved: liens are derived from the jobs */
	AIF_RECORD_CHARGE,	/* a run's charge, by grant */
	AIF_RECORD_REFUND,	/* reserved */
	AIF_RECORD_ADJUSTMENT,	/* reserved */
	AIF_RECORD_EXPIRY,	/* reserved */
	AIF_RECORD_THRESHOLD,	/* a grant's use crossed a threshold */
	AIF_RECORD_ROTATE,	/* first record of a file after rotation */
};

/* Private: use the functions below. */
struct aif_record_field {
	uint16_t key;		/* offset of the key in text */
	uint16_t str;		/* offset of a string value in text */
	uint8_t is_str;
	int64_t num;		/* an integer value */
};

/*
 * One record. A plain value: it may live on the stack or be copied into a
 * queue (about 5 KiB), and holds no pointer. type, seq, time, prev and
 * hash may be read; seq, prev and hash are set by aif_journal_append()
 * and by the reader, time by append unless the caller set it first.
 */
struct aif_record {
	enum aif_record_type type;
	uint64_t seq;
	time_t time;		/* 0 until appended or set by the caller */
	char prev[AIF_SHA256_HEX_LEN];
	char hash[AIF_SHA256_HEX_LEN];
	/* private */
	int error;		/* errno of the first failed add; 0 if none */
	size_t nfields;
	size_t used;		/* bytes of text in use */
	size_t written;		/* bytes the fields take in the line */
	struct aif_record_field field[AIF_RECORD_FIELDS_MAX];
	char text[AIF_RECORD_MAX];	/* keys and string values, NUL-ended */
};

/* "grant", "decision", ..., "rotate"; "?" for a value out of range. */
const char *aif_record_type_name(enum aif_record_type type);

/* An empty record of this type, with time 0 (stamped by append). */
void aif_record_init(struct aif_record *r, enum aif_record_type type);

/*
 * Add a field. key: [a-z][a-z0-9_]*, shorter than AIF_RECORD_KEY_MAX,
 * not seq, time, type, prev or hash, and not already in the record
 * (EINVAL, EEXIST). E2BIG: no room left (AIF_RECORD_FIELDS_MAX fields,
 * or the line would exceed AIF_RECORD_MAX).
 *
 * A string is made safe first: invalid UTF-8 becomes U+FFFD, and it is
 * cut at a character, ending with AIF_RECORD_CUT, so that it takes at
 * most AIF_RECORD_STR_MAX bytes once escaped, or what is left of the line
 * if that is less (add strings that come from users last). Being cut is
 * not an error. s is copied.
 *
 * A failed add is remembered: aif_journal_append() refuses the record
 * with the same errno, so a caller may add every field and check once.
 */
int aif_record_add_int(struct aif_record *r, const char *key, int64_t v);
int aif_record_add_str(struct aif_record *r, const char *key, const char *s);

/* The number of fields, and field i: its key, and either its string
 * (*str; *num untouched) or its integer (*str = NULL). Pointers point into
 * r and live as long as it does. -1 with ERANGE if i is out of range. */
size_t aif_record_nfields(const struct aif_record *r);
int aif_record_field(const struct aif_record *r, size_t i, const char **key,
		     const char **str, int64_t *num);

/* The string field key (valid UTF-8, as stored after making it safe), or
 * NULL with errno ENOENT (no such field) or EINVAL (it is an integer). */
const char *aif_record_str(const struct aif_record *r, const char *key);
/* The integer field key: -1 with ENOENT or EINVAL (it is a string). */
int aif_record_int(const struct aif_record *r, const char *key, int64_t *v);

/* ------------------------------------------------------------------ */
/* What verification, replay and open found                            */

enum aif_chain_problem {
	AIF_CHAIN_OK = 0,
	AIF_CHAIN_IO,		/* could not read or write: errno says why */
	AIF_CHAIN_UNSAFE,	/* a symlink, a file or directory others can
				 * write, or not owned by root or by us */
	AIF_CHAIN_SYNTAX,	/* a line that is not a record as we write it */
	AIF_CHAIN_HASH,		/* a record's hash does not match its bytes:
				 * it was edited */
	AIF_CHAIN_GAP,		/* seq skips forward: records were deleted */
	AIF_CHAIN_ORDER,	/* seq goes back or repeats: records moved,
				 * copied or inserted */
	AIF_CHAIN_PREV,		/* prev is not the hash of the record before:
				 * one of the two was rewritten */
	AIF_CHAIN_TORN,		/* the last line has no newline: cut short */
	AIF_CHAIN_FILE,		/* a rotated file's name or a rotate record
				 * does not match the records around it */
	AIF_CHAIN_SHORT,	/* the chain ends before a seq that must be in
				 * it (the snapshot's, or replay's after_seq) */
	AIF_CHAIN_ANCHOR,	/* the record at replay's after_seq does not
				 * have the hash the snapshot names */
	AIF_CHAIN_STOPPED,	/* the replay callback returned -1 */
};

struct aif_verify_report {
	enum aif_chain_problem problem;
	uint64_t records;	/* good records read (open: in "journal") */
	uint64_t last_seq;	/* of the last good record; 0 if none */
	char last_hash[AIF_SHA256_HEX_LEN];	/* zeros if none */
	/* The first bad record, when problem is not AIF_CHAIN_OK. */
	char file[AIF_JOURNAL_NAME_MAX];	/* its file's name in dir */
	uint64_t line;		/* its line in that file, from 1 */
	uint64_t seq;		/* its seq as written; 0 if unreadable */
	/* A last line with no newline: where it was and its size. open cuts
	 * it off and says so here with problem AIF_CHAIN_OK. */
	uint64_t torn_line;
	uint64_t torn_bytes;
	/* verify: 1 if a good snapshot was found and its seq and hash were
	 * found in the chain, 0 if there is none, -1 if it is corrupt (not a
	 * chain problem: the ledger then replays from the start). */
	int snapshot;
	char message[512];	/* "<file>:<line>: seq N: what is wrong" */
	/* verify and replay: the records up to archived_seq were moved to
	 * an archive (aif_journal_archive), the last of them in
	 * archived_file; 0 and "" if none were. */
	uint64_t archived_seq;
	char archived_file[AIF_JOURNAL_NAME_MAX];
};

/* ------------------------------------------------------------------ */
/* Writing                                                              */

struct aif_journal;

/*
 * Open the journal in dir, the aifactory directory under
 * StateSaveLocation. dir is created 0700 if missing (not its parents). It
 * must be a directory, not a symlink, owned by root or by the caller's
 * euid, and not writable by group or others (EPERM or ELOOP otherwise);
 * the same goes for the file "journal" in it, created 0600 if missing.
 * Only one process may have a directory open (EWOULDBLOCK): open holds a
 * lock on the file "lock" in it until close.
 *
 * The whole of "journal" is verified (its own records: hashes, seq, prev)
 * to find the last seq and hash. A last line without a newline (a write
 * cut by a crash) is truncated away and reported in report->torn_*; any
 * other damage refuses to open: -1 with EBADMSG, report naming the first
 * bad record. If "journal" holds no record and rotated files exist (a
 * crash during rotation), its rotate record is written first.
 *
 * *jp is the caller's, freed by aif_journal_close(). report may be NULL;
 * if given, it is filled on success and failure.
 */
int aif_journal_open(const char *dir, struct aif_journal **jp,
		     struct aif_verify_report *report);

/*
 * Give r the next seq, the time (now, unless r->time was set), the last
 * record's hash as prev, and its own hash; write it with one write(2).
 * Not durable until aif_journal_sync(). On failure (including r's own
 * remembered error) nothing is written and no seq is used. If a failed
 * write cannot be undone, the journal refuses further appends with EIO
 * until it is closed and opened again (open repairs the file).
 */
int aif_journal_append(struct aif_journal *j, struct aif_record *r);

/* Make every record appended so far durable (fdatasync). If that fails
 * (-1, errno), the records appended since the last good sync are taken
 * back (the file is cut back to it: they may never reach the disk, and a
 * later sync would not say so): append them again after closing and
 * opening the journal, which refuses appends (EIO) until then. */
int aif_journal_sync(struct aif_journal *j);

/* Bytes of whole records in the current file ("journal"). */
uint64_t aif_journal_size(const struct aif_journal *j);

/* The last record's seq and hash (0 and 64 zeros for an empty chain). */
void aif_journal_last(const struct aif_journal *j, uint64_t *seq,
		      char hash[AIF_SHA256_HEX_LEN]);

/*
 * Rename "journal" to "journal.<first seq>-<last seq>" and start a new
 * "journal" whose first record is a rotate record with the field "file"
 * naming the old one, and the old file's last hash as prev. Syncs the old
 * file, the directory and the new record. A journal with no record is left
 * as it is. A crash in between is finished by the next open.
 */
int aif_journal_rotate(struct aif_journal *j);

/* Sync and close; j is freed even when the sync fails (then -1). */
int aif_journal_close(struct aif_journal *j);

/* ------------------------------------------------------------------ */
/* Reading                                                              */

/*
 * Check the whole chain in dir: the rotated files by seq, then "journal".
 * Owners and modes are not checked (the auditor may work on a copy): the
 * chain is.
 * Every line must be a record as we write it, seq must run 1, 2, 3...,
 * each prev must be the hash of the record before, each hash must
 * recompute, each rotated file must hold the records its name says and
 * each file after the first must start with a rotate record naming the
 * file before it, and a good snapshot's seq and hash must be in the chain.
 * 0 if all holds; -1 with EBADMSG and report naming the first bad record,
 * or with the errno of a failed read. Reads one line at a time. Does not
 * lock: run beside a writer, a rotation or a write cut mid-line may show
 * as a problem; run again to tell.
 */
int aif_journal_verify(const char *dir, struct aif_verify_report *report);

/*
 * Call fn with each record whose seq is after after_seq, in order; fields
 * as written (aif_record_str(), aif_record_int()). The record passed lives
 * only during the call. Rotate records are passed too.
 *
 * after_hash, when not NULL, is the hash the record at after_seq must
 * have (the snapshot's), so that the snapshot and the journal are known
 * to be one chain; after_seq 0 starts from the first record. The records
 * read are checked as verify does (rotated files wholly before after_seq
 * are not read), and a problem stops the replay: -1 with EBADMSG; the
 * records before it have been passed. A last line with no newline ends
 * the replay without error (report->torn_*): it was never synced.
 * fn returns 0 to go on, or -1 with errno set to stop the replay, which
 * then returns -1 with that errno (AIF_CHAIN_STOPPED).
 * dir and its files are checked as aif_journal_open() checks them, except
 * that a caller running as root accepts any owner (aifctl reading what
 * SlurmUser wrote). report may be NULL.
 */
typedef int (*aif_replay_fn)(const struct aif_record *r, void *arg);
int aif_journal_replay(const char *dir, uint64_t after_seq,
		       const char *after_hash, aif_replay_fn fn, void *arg,
		       struct aif_verify_report *report);

/*
 * Move old rotated files of dir to the archive directory dest (created
 * 0700 if missing), so that the state directory stops growing. Only a
 * whole chain is archived, only files wholly before the snapshot's seq
 * (the ledger never reads them again), never the newest rotated file.
 * Each is copied and synced, dest is verified to be one chain from seq 1
 * (archive into the same directory every time), then the marker
 * "archived" in dir names the last file moved and the hash of its last
 * record, so that verify and replay of dir carry the chain on from it;
 * then the originals are removed. *moved: how many (0: nothing to do).
 * 0, or -1 with report naming what is wrong (nothing is removed then).
 * Takes no lock: slurmctld only ever appends to "journal" and adds new
 * rotated files, and may run.
 */
int aif_journal_archive(const char *dir, const char *dest, size_t *moved,
			struct aif_verify_report *report);

/* ------------------------------------------------------------------ */
/* Snapshot                                                             */

/*
 * Write "snapshot" in dir atomically: "snapshot.tmp" is written, synced
 * and renamed over it, and the directory synced, so a crash leaves the
 * old snapshot or the new one. The file is a header line
 *   aifactory-snapshot 1 seq=<seq> hash=<64 hex> len=<bytes> sha256=<64 hex>
 * then the body (opaque bytes, at most AIF_SNAPSHOT_MAX). The checksum is
 * SHA-256 of the header up to " sha256=" followed by the body. seq and hash
 * name the last journal record the body covers (0 and 64 zeros: none);
 * sync the journal through seq first. EINVAL for a bad hash. dir is
 * checked (and created) as aif_journal_open() does. One writer at a time:
 * call it from the thread that owns the journal.
 */
int aif_snapshot_write(const char *dir, const void *body, size_t len,
		       uint64_t seq, const char *hash);

/*
 * Read "snapshot" from dir: *body (malloc'ed, len bytes and a NUL after
 * them; the caller frees it), *seq and hash. -1 with ENOENT if there is
 * none, EBADMSG if its header or checksum is wrong (replay the journal
 * from the start instead), EPERM/ELOOP if it or dir is not safe to trust
 * (checked as for aif_journal_replay()). "snapshot.tmp" is never read.
 */
int aif_snapshot_read(const char *dir, char **body, size_t *len,
		      uint64_t *seq, char hash[AIF_SHA256_HEX_LEN]);

#endif /* AIF_JOURNAL_H */
