/*
 * aifctl audit: verify the journal's hash chain and name the first bad
 * record and what it means to an auditor; archive the rotated files the
 * snapshot covers.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "aifctl.h"
#include "settle.h"

/* Where a report's file is: dir itself, or a file in it. */
static void _audit_where(const char *dir, const char *file, char *buf,
			 size_t len)
{
	if (!file[0] || !strcmp(file, ".") || !strcmp(file, dir))
		snprintf(buf, len, "%s", dir);
	else
		snprintf(buf, len, "%s/%s", dir, file);
}

/* What is wrong: the report's message without its "file:line: seq N: ". */
static const char *_audit_what(const struct aif_verify_report *rep)
{
	char prefix[AIF_JOURNAL_NAME_MAX + 64];
	size_t n = 0;

	if (rep->file[0] && rep->line)
		n = (size_t) snprintf(prefix, sizeof(prefix), "%s:%" PRIu64
				      ": ", rep->file, rep->line);
	else if (rep->file[0])
		n = (size_t) snprintf(prefix, sizeof(prefix), "%s: ",
				      rep->file);
	if (rep->seq && n < sizeof(prefix))
		n += (size_t) snprintf(prefix + n, sizeof(prefix) - n,
				       "seq %" PRIu64 ": ", rep->seq);
	if (n < sizeof(prefix) && !strncmp(rep->message, prefix, n))
		return rep->message + n;
	return rep->message;
}

/* What a problem means to an auditor, in one line. */
static const char *_audit_meaning(const struct aif_verify_report *rep)
{
	switch (rep->problem) {
	case AIF_CHAIN_HASH:
		return "edited: this record was changed after it was written; "
			"what it says cannot be trusted";
	case AIF_CHAIN_GAP:
		return "deleted: records that were written are no longer in "
			"the journal (lines, or a whole rotated file, removed)";
	case AIF_CHAIN_ORDER:
		if (rep->seq > rep->last_seq + 1)
			return "reordered: records were moved; the one due "
				"here comes later";
		return "inserted: a record that belongs earlier in the chain "
			"is here too (copied, moved back or added)";
	case AIF_CHAIN_PREV:
		return "inserted or rewritten: this record does not follow "
			"the one before it (one was put in, or replaced with "
			"a recomputed hash)";
	case AIF_CHAIN_TORN:
		return "truncated: the journal was cut short inside its last "
			"record (the file was truncated, or a write was cut "
			"by a crash)";
	case AIF_CHAIN_SHORT:
		return "truncated: records the snapshot covers are missing "
			"from the end of the journal";
	case AIF_CHAIN_FILE:
		return "deleted or renamed: the rotated files do not fit "
			"together (a file renamed, replaced, emptied or cut "
			"short)";
	case AIF_CHAIN_ANCHOR:
		return "replaced: the snapshot and the journal are not one "
			"chain (one of them was replaced)";
	case AIF_CHAIN_SYNTAX:
		return "unreadable: this line is not a record as slurmctld "
			"writes it (garbled, or edited by hand)";
	case AIF_CHAIN_UNSAFE:
		return "unreadable: not a regular file where a journal file "
			"should be";
	default:
		return "unexpected: the chain could not be checked to its end";
	}
}

/* Why verify could not read dir (exit 2): the report, and what to do. */
static void _audit_cannot(const char *dir, const char *from,
			  const struct aif_verify_report *rep, int err)
{
	char where[PATH_MAX + AIF_JOURNAL_NAME_MAX];
	struct stat st;
	struct passwd *pw;

	_audit_where(dir, rep->file, where, sizeof(where));
	fprintf(stderr, "aifctl: %s", where);
	if (rep->line)
		fprintf(stderr, ":%" PRIu64, rep->line);
	fprintf(stderr, ": %s\n", rep->message[0] ? _audit_what(rep)
		: strerror(err));
	if (err == EACCES || err == EPERM) {
		fprintf(stderr, "  the journal is SlurmUser's and mode 0600: "
			"run as root");
		if (!stat(where, &st) && (pw = getpwuid(st.st_uid)))
			fprintf(stderr, "%s%s (the owner of %s, mode %04o)\n",
				st.st_uid ? " or as " : "",
				st.st_uid ? pw->pw_name : "", where,
				(unsigned) (st.st_mode & 07777));
		else
			fprintf(stderr, " or as SlurmUser\n");
	} else if (strcmp(where, dir)) {
		/* A file in dir: the message says it all. ENOENT here is a
		 * file gone between listing and opening: a rotation. */
		if (err == ENOENT)
			fprintf(stderr, "  a rotation ran meanwhile: run "
				"again\n");
	} else if (err == ENOENT && !stat(dir, &st) && S_ISDIR(st.st_mode)) {
		fprintf(stderr, "  no journal or journal.FIRST-LAST file here: "
			"give the aifactory directory under StateSaveLocation\n");
	} else if (err == ENOENT || err == ENOTDIR) {
		fprintf(stderr, "  give the journal directory (aifactory under "
			"StateSaveLocation)%s%s\n", from ? "; this one is " :
			"", from ? from : "");
	}
}

struct audit_charges {
	uint64_t seq;
	char why[512];
};

static int _audit_charge(const struct aif_record *r, void *arg)
{
	struct audit_charges *ac = arg;

	if (!aif_settle_check(r, ac->why, sizeof(ac->why)))
		return 0;
	ac->seq = r->seq;
	errno = EBADMSG;
	return -1;
}

/* A whole chain can still hold a charge that says less than it was (issue
 * 8): the first such record, printed as a chain problem is; 0 if none. */
static int _audit_charges(const char *dir)
{
	char where[PATH_MAX + AIF_JOURNAL_NAME_MAX];
	struct audit_charges ac = { 0 };
	struct aif_verify_report rep;

	if (!aif_journal_replay(dir, 0, NULL, _audit_charge, &ac, &rep))
		return 0;
	if (!ac.seq) {
		fprintf(stderr, "aifctl: warning: the charges' parts were not "
			"checked: %s\n", rep.message[0] ? rep.message :
			strerror(errno));
		return 0;
	}
	_audit_where(dir, rep.file, where, sizeof(where));
	printf("%s", where);
	if (rep.line)
		printf(":%" PRIu64, rep.line);
	printf(": record %" PRIu64 ": incomplete: %s\n", ac.seq, ac.why);
	return 1;
}

static int _audit_verify(int argc, char **argv)
{
	char buf[PATH_MAX], from[PATH_MAX + 96], path[PATH_MAX + 16];
	struct aif_verify_report rep;
	const char *dir = NULL;
	struct stat st;
	size_t n;
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return aifctl_usage(stdout);
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		}
		if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "aifctl: audit verify: unknown option "
				"'%s'\n\n", argv[i]);
			return aifctl_usage(stderr);
		}
		if (dir)
			return aifctl_usage(stderr);
		dir = argv[i];
	}
	if (i < argc && (dir || argc - i > 1))
		return aifctl_usage(stderr);
	if (i < argc)
		dir = argv[i];

	if (dir) {
		if (!dir[0])
			return aifctl_usage(stderr);
		snprintf(buf, sizeof(buf), "%s", dir);
		from[0] = '\0';
	} else {
		if (aifctl_journal_dir(buf, sizeof(buf), from, sizeof(from),
				       false))
			return 2;
	}
	n = strlen(buf);
	while (n > 1 && buf[n - 1] == '/')	/* "dir/" -> "dir" */
		buf[--n] = '\0';
	dir = buf;

	if (aif_journal_verify(dir, &rep)) {
		int err = errno;
		char where[PATH_MAX + AIF_JOURNAL_NAME_MAX];

		if (rep.problem == AIF_CHAIN_IO) {
			_audit_cannot(dir, from[0] ? from : NULL, &rep, err);
			return 2;
		}
		_audit_where(dir, rep.file, where, sizeof(where));
		printf("%s", where);
		if (rep.line)
			printf(":%" PRIu64, rep.line);
		printf(": ");
		if (rep.seq)
			printf("record %" PRIu64 ": ", rep.seq);
		printf("%s\n  %s\n", _audit_what(&rep), _audit_meaning(&rep));
		return 1;
	}
	if (_audit_charges(dir))
		return 1;
	if (rep.records && rep.archived_seq)
		printf("%s: OK: %" PRIu64 " records, seq %" PRIu64 "..%" PRIu64
		       ", last hash %s; seq 1..%" PRIu64 " archived (up to %s:"
		       " verify the archive with aifctl audit verify ARCHIVE)\n",
		       dir, rep.records, rep.archived_seq + 1, rep.last_seq,
		       rep.last_hash, rep.archived_seq, rep.archived_file);
	else if (rep.records)
		printf("%s: OK: %" PRIu64 " records, seq 1..%" PRIu64
		       ", last hash %s\n", dir, rep.records, rep.last_seq,
		       rep.last_hash);
	else
		printf("%s: OK: 0 records, the journal is empty\n", dir);
	if (rep.snapshot < 0)
		fprintf(stderr, "aifctl: warning: %s/snapshot is damaged (bad "
			"header or checksum): the ledger ignores it and "
			"replays the journal from the start\n", dir);
	snprintf(path, sizeof(path), "%s/journal", dir);
	if (rep.records && stat(path, &st) && errno == ENOENT)
		fprintf(stderr, "aifctl: warning: %s is missing: the chain "
			"ends with a rotated file (a crash while rotating, "
			"or the current file was removed)\n", path);
	return 0;
}

/*
 * audit archive [DIR] --to ARCHIVE: move the rotated files the snapshot
 * covers into ARCHIVE (aif_journal_archive). 0 done (or nothing to do),
 * 1 the chain or the archive is not whole, 2 usage or I/O.
 */
static int _audit_archive(int argc, char **argv)
{
	char buf[PATH_MAX], from[PATH_MAX + 96];
	struct aif_verify_report rep;
	const char *dir = NULL, *dest = NULL;
	size_t moved = 0, n;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return aifctl_usage(stdout);
		if (!strcmp(argv[i], "--to") && i + 1 < argc)
			dest = argv[++i];
		else if (!strncmp(argv[i], "--to=", 5))
			dest = argv[i] + 5;
		else if (argv[i][0] != '-' && !dir && argv[i][0])
			dir = argv[i];
		else
			return aifctl_usage(stderr);
	}
	if (!dest || !dest[0])
		return aifctl_usage(stderr);
	if (dir) {
		snprintf(buf, sizeof(buf), "%s", dir);
	} else if (aifctl_journal_dir(buf, sizeof(buf), from, sizeof(from),
				      false)) {
		return 2;
	}
	n = strlen(buf);
	while (n > 1 && buf[n - 1] == '/')
		buf[--n] = '\0';
	if (aif_journal_archive(buf, dest, &moved, &rep)) {
		fprintf(stderr, "aifctl: audit archive: %s: %s; nothing was removed\n",
			buf, rep.message[0] ? rep.message : strerror(errno));
		return rep.problem == AIF_CHAIN_IO ||
			rep.problem == AIF_CHAIN_UNSAFE ? 2 : 1;
	}
	if (!moved)
		printf("%s: nothing to archive (only rotated files wholly before the snapshot are, never the newest)\n",
		       buf);
	else
		printf("%s: %zu files archived to %s; %s\n", buf, moved, dest,
		       rep.message);
	return 0;
}

int aifctl_audit(int argc, char **argv)
{
	if (argc < 2)
		return aifctl_usage(stderr);
	if (!strcmp(argv[1], "verify"))
		return _audit_verify(argc - 1, argv + 1);
	if (!strcmp(argv[1], "archive"))
		return _audit_archive(argc - 1, argv + 1);
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))
		return aifctl_usage(stdout);
	fprintf(stderr, "aifctl: unknown audit command '%s'\n\n", argv[1]);
	return aifctl_usage(stderr);
}
