/*
 * The ledger's journal: one hash chain of JSON lines across rotated files,
 * its verification and replay, and the snapshot (docs/ledger.md).
 *
 * The decisions journal.h leaves open: docs/ledger.md, "The journal's code".
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* renameat2, strerror_r returning char * */
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
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "date.h"
#include "fs_trust.h"
#include "text.h"
#include "journal.h"
#include "sha256.h"

#define ZEROS "0000000000000000000000000000000000000000000000000000000000000000"
#define CURRENT "journal"
#define ROTATED "journal."
#define SNAPSHOT "snapshot"
#define SNAPSHOT_TMP "snapshot.tmp"
#define LOCK "lock"
#define ARCHIVED "archived"
#define ARCHIVED_TMP "archived.tmp"
#define ARCHIVED_MAGIC "aifactory-archived 1 file="
#define SNAPSHOT_MAGIC "aifactory-snapshot 1 seq="
#define SNAPSHOT_HEAD_MAX 256	/* the header is 213 bytes at most */
#define READ_BUF (64 * 1024)

#define LIT(s) (sizeof(s) - 1)
/* The line around its fields, at its longest. */
#define LINE_FIXED (LIT("{\"seq\":") + 20 + LIT(",\"time\":\"") + 20 + \
		    LIT("\",\"type\":\"") + LIT("adjustment") + LIT("\"") + \
		    LIT(",\"prev\":\"") + 64 + LIT("\",\"hash\":\"") + 64 + \
		    LIT("\"}\n"))
#define FIELDS_ROOM (AIF_RECORD_MAX - LINE_FIXED)
#define FIELD_FRAME(klen) (LIT(",\"") + (klen) + LIT("\":"))

_Static_assert(AIF_RECORD_MAX <= UINT16_MAX, "offsets are 16 bits");
_Static_assert(AIF_RECORD_STR_MAX < FIELDS_ROOM, "a string must fit");

static const char *const type_names[] = {
	[AIF_RECORD_GRANT] = "grant",
	[AIF_RECORD_DECISION] = "decision",
	[AIF_RECORD_LIEN] = "lien",
	[AIF_RECORD_CHARGE] = "charge",
	[AIF_RECORD_REFUND] = "refund",
	[AIF_RECORD_ADJUSTMENT] = "adjustment",
	[AIF_RECORD_EXPIRY] = "expiry",
	[AIF_RECORD_THRESHOLD] = "threshold",
	[AIF_RECORD_ROTATE] = "rotate",
};
#define NTYPES (sizeof(type_names) / sizeof(type_names[0]))

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

struct rotated {
	uint64_t first, last;
	char name[AIF_JOURNAL_NAME_MAX];
};

struct reader {
	int fd;
	uint64_t offset;	/* file offset of buf[start] */
	size_t start, end;
	bool eof;
	char buf[READ_BUF];
};

enum walk_mode { WALK_VERIFY, WALK_REPLAY, WALK_OPEN };

/* One pass along the chain, file by file. */
struct walk {
	enum walk_mode mode;
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
	struct reader rd;
	struct aif_record rec;
	char tmp[AIF_RECORD_MAX];
};

/* ------------------------------------------------------------------ */
/* Small helpers                                                        */

static bool _is_hex64(const char *s)
{
	size_t i;

	if (!s)
		return false;
	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[64] == '\0';
}

/* src into dst, cut to fit. */
static void _copy(char *dst, size_t len, const char *src)
{
	size_t n = src ? strnlen(src, len - 1) : 0;

	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
}

static void _report_init(struct aif_verify_report *rep)
{
	memset(rep, 0, sizeof(*rep));
	memcpy(rep->last_hash, ZEROS, sizeof(ZEROS));
}

/*
 * Record a problem in rep: the message is "<file>:<line>: seq N: ..."
 * (file, line and seq when known). Returns -1 with errno err.
 */
static int __attribute__((format(printf, 7, 8)))
_say(struct aif_verify_report *rep, enum aif_chain_problem problem, int err,
     const char *file, uint64_t line, uint64_t seq, const char *fmt, ...)
{
	size_t n = 0, cap = sizeof(rep->message);
	va_list ap;

	rep->problem = problem;
	_copy(rep->file, sizeof(rep->file), file);
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

static int _say_errno(struct aif_verify_report *rep, int err,
		      const char *file, const char *what)
{
	char ebuf[128];

	if (err == ELOOP)
		return _say(rep, AIF_CHAIN_UNSAFE, err, file, 0, 0, "is a "
			    "symlink; refusing to follow it");
	return _say(rep, AIF_CHAIN_IO, err, file, 0, 0, "%s: %s", what,
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
		return _say(rep, AIF_CHAIN_UNSAFE, EINVAL, name, 0, 0,
			    "not a regular file");
	case AIF_FS_OWNER:
		return _say(rep, AIF_CHAIN_UNSAFE, EPERM, name, 0, 0,
			    "%sowned by uid %lu; it must be owned by root or "
			    "by the user slurmctld runs as (uid %lu)", what,
			    (unsigned long) f->uid, (unsigned long) geteuid());
	case AIF_FS_WRITABLE:
		return _say(rep, AIF_CHAIN_UNSAFE, EPERM, name, 0, 0,
			    "%swritable by group or others (mode %04o); "
			    "refusing to trust it", what, (unsigned) f->mode);
	default:
		return _say_errno(rep, f->err, name, f->op);
	}
}

/*
 * dir, opened. create: make it 0700 if missing. trust: refuse a symlink, a
 * directory owned by anyone but root or us, or one that group or others
 * may write. Returns the fd, or -1 after a report.
 */
static int _open_dir(const char *dir, bool create, enum aif_fs_trust trust,
		     struct aif_verify_report *rep)
{
	char path[PATH_MAX];
	struct aif_fs_fault f;
	int fd;

	if (!dir || !*dir)
		return _say(rep, AIF_CHAIN_IO, EINVAL, NULL, 0, 0,
			    "no journal directory given");
	if (aif_fs_dir_path(dir, path, sizeof(path)))
		return _say_errno(rep, errno, dir, "cannot open");
	fd = aif_fs_open_dir(path, create ? AIF_FS_CREATE : 0, trust, &f);
	if (fd < 0)
		return _say_fault(rep, &f, path, true);
	return fd;
}

/* fd is name: a regular file and, with trust, ours and not writable by
 * others. 0, or -1 after a report. */
static int _check_file(int fd, const char *name, enum aif_fs_trust trust,
		       struct aif_verify_report *rep)
{
	struct aif_fs_fault f;

	if (aif_fs_check_file(fd, trust, &f))
		return _say_fault(rep, &f, name, false);
	return 0;
}

/* name in dirfd, for reading. -1 with *missing set if it does not exist
 * (and missing is given), or after a report. */
static int _open_read(int dirfd, const char *name, enum aif_fs_trust trust,
		      struct aif_verify_report *rep, bool *missing)
{
	struct aif_fs_fault f;
	int fd = aif_fs_open_read(dirfd, name, 0, trust, &f);

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
/* UTF-8 and escapes                                                    */

static char _short_escape(uint32_t cp)
{
	switch (cp) {
	case '"': return '"';
	case '\\': return '\\';
	case '\b': return 'b';
	case '\f': return 'f';
	case '\n': return 'n';
	case '\r': return 'r';
	case '\t': return 't';
	default: return 0;
	}
}

static size_t _utf8_len(uint32_t cp)
{
	return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

static size_t _escaped_len(uint32_t cp)
{
	if (_short_escape(cp))
		return 2;
	return aif_cp_needs_escape(cp) ? 6 : _utf8_len(cp);
}

static size_t _escape(uint32_t cp, char *out)
{
	static const char hex[] = "0123456789abcdef";
	char c = _short_escape(cp);

	if (c) {
		out[0] = '\\';
		out[1] = c;
		return 2;
	}
	if (!aif_cp_needs_escape(cp))
		return aif_utf8_put(cp, out);
	out[0] = '\\';
	out[1] = 'u';
	out[2] = hex[cp >> 12 & 0xf];
	out[3] = hex[cp >> 8 & 0xf];
	out[4] = hex[cp >> 4 & 0xf];
	out[5] = hex[cp & 0xf];
	return 6;
}

/* ------------------------------------------------------------------ */
/* Records                                                              */

const char *aif_record_type_name(enum aif_record_type type)
{
	return (unsigned) type < NTYPES ? type_names[type] : "?";
}

static bool _type_of(const char *name, enum aif_record_type *type)
{
	for (size_t i = 0; i < NTYPES; i++)
		if (!strcmp(type_names[i], name)) {
			*type = (enum aif_record_type) i;
			return true;
		}
	return false;
}

void aif_record_init(struct aif_record *r, enum aif_record_type type)
{
	if (!r)
		return;
	memset(r, 0, sizeof(*r));
	r->type = type;
}

static int _record_fail(struct aif_record *r, int err)
{
	if (!r->error)
		r->error = err;
	errno = err;
	return -1;
}

static bool _key_ok(const char *key)
{
	static const char *const reserved[] = {
		"seq", "time", "type", "prev", "hash",
	};
	size_t i;

	if (!key || key[0] < 'a' || key[0] > 'z')
		return false;
	for (i = 1; key[i]; i++) {
		char c = key[i];

		if (i >= AIF_RECORD_KEY_MAX - 1)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_'))
			return false;
	}
	for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (!strcmp(key, reserved[i]))
			return false;
	return true;
}

static int _find(const struct aif_record *r, const char *key)
{
	for (size_t i = 0; i < r->nfields; i++)
		if (!strcmp(r->text + r->field[i].key, key))
			return (int) i;
	return -1;
}

/* Checks for a new field; 0, or -1 with the record's error set. */
static int _new_field(struct aif_record *r, const char *key, size_t least)
{
	if (!_key_ok(key))
		return _record_fail(r, EINVAL);
	if (_find(r, key) >= 0)
		return _record_fail(r, EEXIST);
	if (r->nfields == AIF_RECORD_FIELDS_MAX ||
	    r->written + FIELD_FRAME(strlen(key)) + least > FIELDS_ROOM)
		return _record_fail(r, E2BIG);
	return 0;
}

int aif_record_add_int(struct aif_record *r, const char *key, int64_t v)
{
	struct aif_record_field *f;
	char num[32];
	size_t klen, nlen;

	if (!r) {
		errno = EINVAL;
		return -1;
	}
	nlen = (size_t) snprintf(num, sizeof(num), "%" PRId64, v);
	if (_new_field(r, key, nlen))
		return -1;
	klen = strlen(key);
	/* used <= written always: a key takes more room in the line. */
	f = &r->field[r->nfields++];
	f->key = (uint16_t) r->used;
	f->str = 0;
	f->is_str = 0;
	f->num = v;
	memcpy(r->text + r->used, key, klen + 1);
	r->used += klen + 1;
	r->written += FIELD_FRAME(klen) + nlen;
	return 0;
}

/*
 * Store s made safe: valid UTF-8, escaped length at most the bound. With
 * may_cut, a longer s is cut at a character and ends in AIF_RECORD_CUT;
 * without (the reader), invalid UTF-8 or a longer s is an error.
 */
static int _add_str(struct aif_record *r, const char *key, const char *s,
		    bool may_cut)
{
	const size_t mark = LIT(AIF_RECORD_CUT);
	const unsigned char *p = (const unsigned char *) s;
	size_t klen, room, limit, kpos, spos, out, esc = 0;
	size_t cut_out, cut_esc = 0;
	struct aif_record_field *f;
	bool over = false;

	if (!r) {
		errno = EINVAL;
		return -1;
	}
	if (!s)
		return _record_fail(r, EINVAL);
	if (_new_field(r, key, 2))
		return -1;
	klen = strlen(key);
	room = FIELDS_ROOM - r->written - FIELD_FRAME(klen) - 2;
	limit = room < AIF_RECORD_STR_MAX ? room : AIF_RECORD_STR_MAX;
	/* Raw bytes never outnumber escaped ones, and the line bounds those:
	 * text cannot overflow. */
	kpos = r->used;
	spos = kpos + klen + 1;
	out = cut_out = spos;
	memcpy(r->text + kpos, key, klen + 1);
	while (*p) {
		size_t n, e;
		int32_t cp = aif_utf8_get(p, SIZE_MAX, &n);

		if (cp < 0 && !may_cut)
			return _record_fail(r, EILSEQ);
		if (cp < 0)
			cp = 0xfffd;
		e = _escaped_len((uint32_t) cp);
		if (esc + e > limit) {
			over = true;
			break;
		}
		out += aif_utf8_put((uint32_t) cp, r->text + out);
		esc += e;
		p += n;
		if (esc + mark <= limit) {
			cut_out = out;
			cut_esc = esc;
		}
	}
	if (over) {
		if (!may_cut || limit < mark)
			return _record_fail(r, may_cut ? E2BIG : EMSGSIZE);
		out = cut_out;
		esc = cut_esc + mark;
		memcpy(r->text + out, AIF_RECORD_CUT, mark);
		out += mark;
	}
	r->text[out] = '\0';
	f = &r->field[r->nfields++];
	f->key = (uint16_t) kpos;
	f->str = (uint16_t) spos;
	f->is_str = 1;
	f->num = 0;
	r->used = out + 1;
	r->written += FIELD_FRAME(klen) + 2 + esc;
	return 0;
}

int aif_record_add_str(struct aif_record *r, const char *key, const char *s)
{
	return _add_str(r, key, s, true);
}

size_t aif_record_nfields(const struct aif_record *r)
{
	return r ? r->nfields : 0;
}

int aif_record_field(const struct aif_record *r, size_t i, const char **key,
		     const char **str, int64_t *num)
{
	const struct aif_record_field *f;

	if (!r || i >= r->nfields) {
		errno = ERANGE;
		return -1;
	}
	f = &r->field[i];
	if (key)
		*key = r->text + f->key;
	if (str)
		*str = f->is_str ? r->text + f->str : NULL;
	if (num && !f->is_str)
		*num = f->num;
	return 0;
}

const char *aif_record_str(const struct aif_record *r, const char *key)
{
	int i;

	if (!r || !key || (i = _find(r, key)) < 0) {
		errno = ENOENT;
		return NULL;
	}
	if (!r->field[i].is_str) {
		errno = EINVAL;
		return NULL;
	}
	return r->text + r->field[i].str;
}

int aif_record_int(const struct aif_record *r, const char *key, int64_t *v)
{
	int i;

	if (!r || !key || (i = _find(r, key)) < 0) {
		errno = ENOENT;
		return -1;
	}
	if (r->field[i].is_str) {
		errno = EINVAL;
		return -1;
	}
	if (v)
		*v = r->field[i].num;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Writing a line                                                       */

/* The line up to ,"prev" into buf (AIF_RECORD_MAX); its length, or 0 if
 * r's time or type cannot be written. */
static size_t _write_prefix(const struct aif_record *r, char *buf)
{
	const size_t cap = AIF_RECORD_MAX;
	char when[AIF_DATE_MAX];
	size_t n;

	if ((unsigned) r->type >= NTYPES || aif_date_iso(r->time, when))
		return 0;
	n = (size_t) snprintf(buf, cap, "{\"seq\":%" PRIu64 ",\"time\":\"%s\""
			      ",\"type\":\"%s\"", r->seq, when,
			      type_names[r->type]);
	for (size_t i = 0; i < r->nfields; i++) {
		const struct aif_record_field *f = &r->field[i];
		const char *key = r->text + f->key;
		size_t klen = strlen(key);

		buf[n++] = ',';
		buf[n++] = '"';
		memcpy(buf + n, key, klen);
		n += klen;
		buf[n++] = '"';
		buf[n++] = ':';
		if (!f->is_str) {
			n += (size_t) snprintf(buf + n, cap - n, "%" PRId64,
					       f->num);
			continue;
		}
		buf[n++] = '"';
		for (const unsigned char *p = (const unsigned char *)
		     r->text + f->str; *p;) {
			size_t len;
			int32_t cp = aif_utf8_get(p, SIZE_MAX, &len);

			n += _escape(cp < 0 ? 0xfffd : (uint32_t) cp, buf + n);
			p += len;
		}
		buf[n++] = '"';
	}
	return n;
}

static void _chain_hash(const char *prev, const char *bytes, size_t len,
			char out[AIF_SHA256_HEX_LEN])
{
	uint8_t digest[AIF_SHA256_LEN];
	struct aif_sha256 c;

	aif_sha256_init(&c);
	aif_sha256_update(&c, prev, 64);
	aif_sha256_update(&c, bytes, len);
	aif_sha256_final(&c, digest);
	aif_sha256_to_hex(digest, out);
}

/* ------------------------------------------------------------------ */
/* Reading a line                                                       */

struct cursor {
	const char *p, *end;
};

static bool _lit(struct cursor *c, const char *s)
{
	size_t n = strlen(s);

	if ((size_t) (c->end - c->p) < n || memcmp(c->p, s, n))
		return false;
	c->p += n;
	return true;
}

static bool _digits(struct cursor *c, uint64_t *v)
{
	const char *start = c->p;

	*v = 0;
	for (; c->p < c->end && *c->p >= '0' && *c->p <= '9'; c->p++) {
		unsigned d = (unsigned) (*c->p - '0');

		if (*v > (UINT64_MAX - d) / 10)
			return false;
		*v = *v * 10 + d;
	}
	return c->p > start;
}

static bool _integer(struct cursor *c, int64_t *v)
{
	bool neg = _lit(c, "-");
	uint64_t u;

	if (!_digits(c, &u))
		return false;
	if (neg && u > (uint64_t) INT64_MAX + 1)
		return false;
	if (!neg && u > (uint64_t) INT64_MAX)
		return false;
	if (neg)
		*v = u == (uint64_t) INT64_MAX + 1 ? INT64_MIN : -(int64_t) u;
	else
		*v = (int64_t) u;
	return true;
}

static bool _hex64(struct cursor *c, char out[AIF_SHA256_HEX_LEN])
{
	if (c->end - c->p < 64)
		return false;
	memcpy(out, c->p, 64);
	out[64] = '\0';
	c->p += 64;
	return _is_hex64(out);
}

static int _hexval(char h)
{
	if (h >= '0' && h <= '9')
		return h - '0';
	if (h >= 'a' && h <= 'f')
		return h - 'a' + 10;
	if (h >= 'A' && h <= 'F')
		return h - 'A' + 10;
	return -1;
}

/* A JSON string, quotes included, decoded into out (cap bytes with the
 * NUL). Rejects \u0000 and surrogates; the rest is checked by writing the
 * record again. */
static bool _string(struct cursor *c, char *out, size_t cap)
{
	size_t n = 0;

	if (!_lit(c, "\""))
		return false;
	while (c->p < c->end) {
		unsigned char ch = (unsigned char) *c->p++;
		uint32_t cp = 0;

		if (ch == '"') {
			out[n] = '\0';
			return true;
		}
		if (ch < 0x20 || n + 4 >= cap)
			return false;
		if (ch != '\\') {
			out[n++] = (char) ch;
			continue;
		}
		if (c->p >= c->end)
			return false;
		switch (*c->p++) {
		case '"': cp = '"'; break;
		case '\\': cp = '\\'; break;
		case 'b': cp = '\b'; break;
		case 'f': cp = '\f'; break;
		case 'n': cp = '\n'; break;
		case 'r': cp = '\r'; break;
		case 't': cp = '\t'; break;
		case 'u':
			if (c->end - c->p < 4)
				return false;
			for (int i = 0; i < 4; i++) {
				int h = _hexval(*c->p++);

				if (h < 0)
					return false;
				cp = cp << 4 | (uint32_t) h;
			}
			if (!cp || (cp >= 0xd800 && cp <= 0xdfff))
				return false;
			break;
		default:
			return false;
		}
		n += aif_utf8_put(cp, out + n);
	}
	return false;
}

/* "YYYY-MM-DDTHH:MM:SSZ" at c; a wrong date is caught by writing it
 * again. */
static bool _time(struct cursor *c, time_t *t)
{
	if (c->end - c->p < AIF_DATE_SECOND_LEN ||
	    aif_date_parse(c->p, AIF_DATE_SECOND_LEN, AIF_DATE_SECOND, t))
		return false;
	c->p += AIF_DATE_SECOND_LEN;
	return true;
}

static const char *_field_error(int err)
{
	switch (err) {
	case EEXIST: return "a key that appears twice";
	case EINVAL: return "a key that is not [a-z][a-z0-9_]* or is reserved";
	case EILSEQ: return "a string that is not valid UTF-8";
	default: return "more fields or a longer string than a record holds";
	}
}

/*
 * Parse a line (no newline) into r, using tmp (AIF_RECORD_MAX). Returns
 * the length of the part the hash covers (up to ,"prev"), or 0 with *why.
 */
static size_t _parse(const char *line, size_t len, struct aif_record *r,
		     char *tmp, const char **why)
{
	struct cursor c = { line, line + len };
	char name[16], key[AIF_RECORD_KEY_MAX + 8];
	uint64_t seq;
	size_t head;

	aif_record_init(r, AIF_RECORD_GRANT);
	if (!_lit(&c, "{\"seq\":") || !_digits(&c, &seq) || !seq) {
		*why = "no seq at the start";
		return 0;
	}
	r->seq = seq;
	if (!_lit(&c, ",\"time\":\"") || !_time(&c, &r->time) ||
	    !_lit(&c, "\"")) {
		*why = "no time, or not YYYY-MM-DDTHH:MM:SSZ";
		return 0;
	}
	if (!_lit(&c, ",\"type\":") || !_string(&c, name, sizeof(name)) ||
	    !_type_of(name, &r->type)) {
		*why = "no type, or an unknown one";
		return 0;
	}
	while (!(c.end - c.p >= 8 && !memcmp(c.p, ",\"prev\":", 8))) {
		int64_t v;

		if (!_lit(&c, ",") || !_string(&c, key, sizeof(key)) ||
		    !_lit(&c, ":")) {
			*why = "a field that is not \"key\":value";
			return 0;
		}
		if (c.p < c.end && *c.p == '"') {
			if (!_string(&c, tmp, AIF_RECORD_MAX)) {
				*why = "a string that is not JSON as we write it";
				return 0;
			}
			if (_add_str(r, key, tmp, false)) {
				*why = _field_error(errno);
				return 0;
			}
		} else if (!_integer(&c, &v)) {
			*why = "a value that is neither a string nor an int64";
			return 0;
		} else if (aif_record_add_int(r, key, v)) {
			*why = _field_error(errno);
			return 0;
		}
	}
	head = (size_t) (c.p - line);
	if (!_lit(&c, ",\"prev\":\"") || !_hex64(&c, r->prev) ||
	    !_lit(&c, "\",\"hash\":\"") || !_hex64(&c, r->hash) ||
	    !_lit(&c, "\"}") || c.p != c.end) {
		*why = "no prev and hash of 64 hex digits at the end";
		return 0;
	}
	/* One spelling only: the bytes must be those we would write. */
	if (_write_prefix(r, tmp) != head || memcmp(tmp, line, head)) {
		*why = "not written as the journal writes records (spelling, "
			"order or bounds)";
		return 0;
	}
	return head;
}

/* The seq a line starts with, or 0. */
static uint64_t _peek_seq(const char *line, size_t len)
{
	struct cursor c = { line, line + len };
	uint64_t v;

	return _lit(&c, "{\"seq\":") && _digits(&c, &v) ? v : 0;
}

static void _reader_init(struct reader *rd, int fd)
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
static int _read_line(struct reader *rd, const char **line, size_t *len,
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
/* Walking the chain                                                    */

static struct walk *_walk_new(enum walk_mode mode, enum aif_fs_trust trust,
			      struct aif_verify_report *rep)
{
	struct walk *w = calloc(1, sizeof(*w));

	if (!w) {
		_say(rep, AIF_CHAIN_IO, ENOMEM, NULL, 0, 0, "out of memory");
		return NULL;
	}
	w->mode = mode;
	w->trust = trust;
	w->rep = rep;
	memcpy(w->hash, ZEROS, sizeof(ZEROS));
	return w;
}

/* The chain starts here: seq 1 follows seq 0, whose hash is zeros. */
static void _walk_from_start(struct walk *w)
{
	w->started = true;
	w->seq = 0;
	memcpy(w->hash, ZEROS, sizeof(ZEROS));
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
static int _gap_or_order(struct walk *w, const char *name, uint64_t line,
			 const struct aif_record *r, uint64_t expect)
{
	const char *l, *named = NULL;
	uint64_t at = line;
	char range[64];
	bool nl;
	size_t n;

	while (_read_line(&w->rd, &l, &n, &nl) > 0) {
		at++;
		if (nl && _peek_seq(l, n) == expect)
			return _say(w->rep, AIF_CHAIN_ORDER, EBADMSG, name, line,
				    r->seq, "seq %" PRIu64 " was expected here, "
				    "and is at line %" PRIu64 ": records are "
				    "out of order", expect, at);
	}
	if (r->type == AIF_RECORD_ROTATE)
		named = aif_record_str(r, "file");
	_records(range, sizeof(range), expect, r->seq - 1);
	if (named && strcmp(named, w->prev_file))
		return _say(w->rep, AIF_CHAIN_GAP, EBADMSG, name, line, r->seq,
			    "seq %" PRIu64 " was expected: %s missing (this "
			    "file's rotate record names %s, which is not "
			    "here)", expect, range, named);
	return _say(w->rep, AIF_CHAIN_GAP, EBADMSG, name, line, r->seq,
		    "seq %" PRIu64 " was expected: %s missing (deleted)",
		    expect, range);
}

/* Check one line of file name (rotated: its seqs first..last, else 0). */
static int _check_line(struct walk *w, const char *name, uint64_t line,
		       const char *text, size_t len, uint64_t first)
{
	struct aif_verify_report *rep = w->rep;
	struct aif_record *r = &w->rec;
	char hash[AIF_SHA256_HEX_LEN], range[64];
	const char *why = "";
	size_t head;

	head = _parse(text, len, r, w->tmp, &why);
	if (!head)
		return _say(rep, AIF_CHAIN_SYNTAX, EBADMSG, name, line,
			    _peek_seq(text, len), "not a journal record: %s",
			    why);
	_chain_hash(r->prev, text, head, hash);
	if (strcmp(hash, r->hash))
		return _say(rep, AIF_CHAIN_HASH, EBADMSG, name, line, r->seq,
			    "hash mismatch: the record was edited after it "
			    "was written (its bytes give %.12s..., it says "
			    "%.12s...)", hash, r->hash);

	if (w->started) {
		uint64_t expect = w->seq + 1;

		if (r->seq > expect)
			return _gap_or_order(w, name, line, r, expect);
		if (r->seq < expect)
			return _say(rep, AIF_CHAIN_ORDER, EBADMSG, name, line,
				    r->seq, "seq %" PRIu64 " was expected: "
				    "records are out of order (moved, copied "
				    "or inserted)", expect);
		if (strcmp(r->prev, w->hash))
			return _say(rep, AIF_CHAIN_PREV, EBADMSG, name, line,
				    r->seq, "prev is not the hash of seq %"
				    PRIu64 ": one of the two records was "
				    "rewritten, or one was put between them",
				    w->seq);
	} else if (w->mode == WALK_REPLAY && r->seq > w->after_seq + 1) {
		return _say(rep, AIF_CHAIN_GAP, EBADMSG, name, line, r->seq,
			    "replay starts after seq %" PRIu64 ", but the "
			    "journal starts here: %s missing", w->after_seq,
			    _records(range, sizeof(range), w->after_seq + 1,
				     r->seq - 1));
	} else if (w->mode == WALK_REPLAY && r->seq == w->after_seq + 1 &&
		   w->after_hash && strcmp(r->prev, w->after_hash)) {
		return _say(rep, AIF_CHAIN_ANCHOR, EBADMSG, name, line, r->seq,
			    "prev is not the hash the snapshot gives seq %"
			    PRIu64 ": the snapshot is not of this chain",
			    w->after_seq);
	} else if (r->seq == 1 && strcmp(r->prev, ZEROS)) {
		return _say(rep, AIF_CHAIN_PREV, EBADMSG, name, line, r->seq,
			    "the first record's prev is not 64 zeros");
	}

	if (r->type == AIF_RECORD_ROTATE && line != 1)
		return _say(rep, AIF_CHAIN_FILE, EBADMSG, name, line, r->seq,
			    "a rotate record that is not the first of its "
			    "file");
	if (line == 1 && w->prev_file[0]) {
		const char *named = r->type == AIF_RECORD_ROTATE ?
			aif_record_str(r, "file") : NULL;

		if (!named)
			return _say(rep, AIF_CHAIN_FILE, EBADMSG, name, line,
				    r->seq, "the file after %s must start "
				    "with a rotate record", w->prev_file);
		if (strcmp(named, w->prev_file))
			return _say(rep, AIF_CHAIN_FILE, EBADMSG, name, line,
				    r->seq, "the rotate record names %s, but "
				    "the file before this one is %s", named,
				    w->prev_file);
	}
	if (first && line == 1 && r->seq != first)
		return _say(rep, AIF_CHAIN_FILE, EBADMSG, name, line, r->seq,
			    "the file's name says it starts at seq %" PRIu64,
			    first);
	if (w->mode == WALK_REPLAY && w->after_hash &&
	    r->seq == w->after_seq && strcmp(r->hash, w->after_hash))
		return _say(rep, AIF_CHAIN_ANCHOR, EBADMSG, name, line, r->seq,
			    "the snapshot gives this record the hash %.12s..."
			    ", it has %.12s...: the snapshot is not of this "
			    "chain", w->after_hash, r->hash);
	if (w->snap && r->seq == w->snap_seq && strcmp(r->hash, w->snap_hash))
		return _say(rep, AIF_CHAIN_ANCHOR, EBADMSG, name, line, r->seq,
			    "the snapshot gives this record the hash %.12s..."
			    ", it has %.12s...: the snapshot is not of this "
			    "chain", w->snap_hash, r->hash);

	w->started = true;
	w->seq = r->seq;
	memcpy(w->hash, r->hash, sizeof(w->hash));
	if (!w->file_records++)
		w->file_first = r->seq;
	rep->records++;
	rep->last_seq = r->seq;
	memcpy(rep->last_hash, r->hash, sizeof(rep->last_hash));

	if (w->mode == WALK_REPLAY && r->seq > w->after_seq) {
		errno = 0;
		if (w->fn(r, w->arg)) {
			int err = errno ? errno : ECANCELED;

			return _say(rep, AIF_CHAIN_STOPPED, err, name, line,
				    r->seq, "replay stopped by its caller");
		}
	}
	return 0;
}

/*
 * Walk the open file fd, called name: rotated with seqs first..last, or
 * the current journal (first = last = 0), whose last line may be torn.
 * 0, or -1 after a report.
 */
static int _walk_fd(struct walk *w, int fd, const char *name, uint64_t first,
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
			return _say(rep, AIF_CHAIN_SYNTAX, EBADMSG, name, line,
				    0, "not a journal record: longer than %d "
				    "bytes", AIF_RECORD_MAX);
		if (k < 0)
			return _say(rep, AIF_CHAIN_IO, errno, name, line, 0,
				    "cannot read: %s",
				    aif_fs_strerror(errno, ebuf, sizeof(ebuf)));
		if (!nl && !last && w->mode != WALK_VERIFY) {
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
			return _say(rep, AIF_CHAIN_TORN, EBADMSG, name, line,
				    w->started ? w->seq + 1 : 0, "the last "
				    "line has no newline (%zu bytes): the file "
				    "was cut short, or a write was interrupted "
				    "by a crash", len);
		if (_check_line(w, name, line, text, len, first))
			return -1;
		w->good_end = w->rd.offset;
	}
	if (last && !w->file_records)
		return _say(rep, AIF_CHAIN_FILE, EBADMSG, name, 1, 0,
			    "holds no record, but its name says seqs %" PRIu64
			    " to %" PRIu64, first, last);
	if (last && w->seq > last)
		return _say(rep, AIF_CHAIN_FILE, EBADMSG, name, line, w->seq,
			    "the file ends at seq %" PRIu64 ", but its name "
			    "says %" PRIu64, w->seq, last);
	if (last && w->seq < last)
		return _say(rep, AIF_CHAIN_FILE, EBADMSG, name, line + 1,
			    w->seq + 1, "the file ends at seq %" PRIu64 ", but "
			    "its name says %" PRIu64 ": %s missing from its "
			    "end", w->seq, last, _records(range, sizeof(range),
							  w->seq + 1, last));
	_copy(w->prev_file, sizeof(w->prev_file), name);
	return 0;
}

static int _walk_file(struct walk *w, int dirfd, const char *name,
		      uint64_t first, uint64_t last, bool *missing)
{
	int fd = _open_read(dirfd, name, w->trust, w->rep, missing);
	int rc, err;

	if (fd < 0)
		return -1;
	rc = _walk_fd(w, fd, name, first, last);
	err = errno;
	close(fd);
	errno = err;
	return rc;
}

/* A number as we write it: no sign, no leading zero, not 0. */
static bool _seq_text(const char **s, uint64_t *v)
{
	struct cursor c = { *s, *s + strlen(*s) };

	if (**s < '1' || **s > '9' || !_digits(&c, v))
		return false;
	*s = c.p;
	return true;
}

/* "journal.<first>-<last>" */
static bool _rotated_name(const char *s, uint64_t *first, uint64_t *last)
{
	if (strncmp(s, ROTATED, LIT(ROTATED)))
		return false;
	s += LIT(ROTATED);
	return _seq_text(&s, first) && *s++ == '-' && _seq_text(&s, last) &&
		!*s && *first <= *last;
}

static int _by_seq(const void *a, const void *b)
{
	const struct rotated *x = a, *y = b;

	if (x->first != y->first)
		return x->first < y->first ? -1 : 1;
	return x->last < y->last ? -1 : x->last > y->last;
}

/* The rotated files in dirfd, by seq: *out malloc'ed (NULL if none). */
static int _list_rotated(int dirfd, struct rotated **out, size_t *n,
			 struct aif_verify_report *rep)
{
	struct rotated *list = NULL;
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
		return _say_errno(rep, err, ".", "cannot list the directory");
	}
	for (;;) {
		uint64_t first, last;

		errno = 0;
		if (!(e = readdir(d)))
			break;
		if (!_rotated_name(e->d_name, &first, &last))
			continue;
		if (used == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct rotated *nl = realloc(list, ncap * sizeof(*nl));

			if (!nl) {
				errno = ENOMEM;
				break;
			}
			list = nl;
			cap = ncap;
		}
		list[used].first = first;
		list[used].last = last;
		_copy(list[used].name, sizeof(list[used].name), e->d_name);
		used++;
	}
	err = errno;
	closedir(d);
	if (err) {
		free(list);
		return _say_errno(rep, err, ".", "cannot list the directory");
	}
	if (used)
		qsort(list, used, sizeof(*list), _by_seq);
	*out = list;
	*n = used;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Archived files                                                       */

/*
 * The marker "archived": the rotated files up to seq were moved to an
 * archive, file being the last of them and hash the hash of its last
 * record. One line:
 *   aifactory-archived 1 file=<name> seq=<seq> hash=<64 hex>
 * 0 with *seq 0 when there is none; -1 after a report.
 */
static int _archived_read(int dirfd, enum aif_fs_trust trust,
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
	fd = _open_read(dirfd, ARCHIVED, trust, rep, &missing);
	if (fd < 0)
		return missing ? 0 : -1;
	n = aif_fs_read_full(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return _say_errno(rep, errno, ARCHIVED, "cannot read");
	buf[n] = '\0';
	if (strncmp(buf, ARCHIVED_MAGIC, LIT(ARCHIVED_MAGIC)) ||
	    !(sp = strchr(buf + LIT(ARCHIVED_MAGIC), ' ')))
		goto bad;
	*sp = '\0';
	if (!_rotated_name(buf + LIT(ARCHIVED_MAGIC), &first, &last))
		goto bad;
	_copy(file, AIF_JOURNAL_NAME_MAX, buf + LIT(ARCHIVED_MAGIC));
	if (strncmp(sp + 1, "seq=", 4))
		goto bad;
	errno = 0;
	*seq = strtoull(sp + 5, &end, 10);
	if (errno || *seq != last || strncmp(end, " hash=", 6) ||
	    strlen(end + 6) != 65 || strcmp(end + 6 + 64, "\n"))
		goto bad;
	memcpy(hash, end + 6, 64);
	hash[64] = '\0';
	if (!_is_hex64(hash))
		goto bad;
	return 0;
bad:
	*seq = 0;
	return _say(rep, AIF_CHAIN_SYNTAX, EBADMSG, ARCHIVED, 1, 0,
		    "not an archive marker (\"" ARCHIVED_MAGIC "<file> "
		    "seq=<seq> hash=<64 hex>\")");
}

/* Drop the rotated files the marker says were archived (a copy left by
 * an archiving cut short is not read again). */
static void _skip_archived(struct rotated *files, size_t *n, uint64_t seq)
{
	size_t k = 0;

	for (size_t i = 0; i < *n; i++)
		if (files[i].last > seq)
			files[k++] = files[i];
	*n = k;
}

static int _snapshot_load(int dirfd, enum aif_fs_trust trust, char **body,
			  size_t *lenp,
			  uint64_t *seqp, char hash[AIF_SHA256_HEX_LEN]);

/* Copy name from dirfd to destfd (through name.tmp, synced, renamed). A
 * copy already there of the same size is kept. 0, or -1 after a report. */
static int _copy_file(int dirfd, int destfd, const char *name,
		      struct aif_verify_report *rep)
{
	char tmp[AIF_JOURNAL_NAME_MAX + 8], buf[READ_BUF];
	struct stat st, dst;
	int in, out = -1, err;
	ssize_t n;

	if ((in = _open_read(dirfd, name, AIF_FS_TRUST_NONE, rep, NULL)) < 0)
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
	return _say_errno(rep, err, name, "cannot copy to the archive");
}

int aif_journal_archive(const char *dir, const char *dest, size_t *moved,
			struct aif_verify_report *report)
{
	struct aif_verify_report drep;
	char hash[AIF_SHA256_HEX_LEN], line[256];
	struct rotated *files = NULL;
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
	if ((dirfd = _open_dir(dir, false, AIF_FS_TRUST_WRITE, report)) < 0)
		return -1;
	if (_snapshot_load(dirfd, AIF_FS_TRUST_WRITE, NULL, &len, &snap_seq,
			   hash)) {
		_say(report, AIF_CHAIN_IO, errno == ENOENT ? ENOENT : EBADMSG,
		     SNAPSHOT, 0, 0, "no good snapshot: only rotated files "
		     "a snapshot covers are archived (the ledger must never "
		     "need them again)");
		goto out;
	}
	if (_list_rotated(dirfd, &files, &nfiles, report))
		goto out;
	_skip_archived(files, &nfiles, report->archived_seq);
	/* Never the newest rotated file (open may need it), never one the
	 * snapshot's own record is in. */
	while (take + 1 < nfiles && files[take].last < snap_seq)
		take++;
	if (!take) {
		rc = 0;
		goto out;
	}
	if ((destfd = _open_dir(dest, true, AIF_FS_TRUST_WRITE, report)) < 0)
		goto out;
	for (size_t i = 0; i < take; i++)
		if (_copy_file(dirfd, destfd, files[i].name, report))
			goto out;
	/* The archive must be one chain from seq 1 to what it now holds. */
	if (aif_journal_verify(dest, &drep) ||
	    drep.last_seq != files[take - 1].last) {
		_say(report, AIF_CHAIN_FILE, EBADMSG, dest, 0, 0, "the archive "
		     "is not one chain up to seq %" PRIu64 " (%s): archive "
		     "into the same directory every time; nothing was "
		     "removed", files[take - 1].last, drep.message);
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
		_say_errno(report, err, ARCHIVED_TMP, "cannot write");
		goto out;
	}
	close(fd);
	if (renameat(dirfd, ARCHIVED_TMP, dirfd, ARCHIVED) || fsync(dirfd)) {
		_say_errno(report, errno, ARCHIVED, "cannot write");
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

/* ------------------------------------------------------------------ */
/* Snapshot                                                             */

/*
 * Read and check "snapshot" in dirfd. body NULL: only check it (streamed).
 * -1 with errno ENOENT, EBADMSG, or another.
 */
static int _snapshot_load(int dirfd, enum aif_fs_trust trust, char **body,
			  size_t *lenp,
			  uint64_t *seqp, char hash[AIF_SHA256_HEX_LEN])
{
	char head[SNAPSHOT_HEAD_MAX], sum[AIF_SHA256_HEX_LEN];
	char got[AIF_SHA256_HEX_LEN], seq_hash[AIF_SHA256_HEX_LEN];
	uint8_t digest[AIF_SHA256_LEN];
	struct aif_verify_report scratch;
	struct aif_sha256 ctx;
	struct cursor c;
	uint64_t seq, len;
	char *buf = NULL, *nl;
	struct stat st;
	size_t covered, hlen;
	ssize_t n;
	int fd, err = EBADMSG;

	fd = _open_read(dirfd, SNAPSHOT, trust, &scratch, NULL);
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
	if (!_lit(&c, SNAPSHOT_MAGIC) || !_digits(&c, &seq) ||
	    !_lit(&c, " hash=") || !_hex64(&c, seq_hash) ||
	    !_lit(&c, " len=") || !_digits(&c, &len))
		goto fail;
	covered = (size_t) (c.p - head);
	if (!_lit(&c, " sha256=") || !_hex64(&c, sum) || c.p != c.end)
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
	if ((dirfd = _open_dir(dir, false, AIF_FS_TRUST_READ, &scratch)) < 0)
		return -1;
	rc = _snapshot_load(dirfd, AIF_FS_TRUST_READ, body, len, seq, hash);
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

	if ((!body && len) || len > AIF_SNAPSHOT_MAX || !_is_hex64(hash)) {
		errno = EINVAL;
		return -1;
	}
	if ((dirfd = _open_dir(dir, true, AIF_FS_TRUST_WRITE, &scratch)) < 0)
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
	if (renameat(dirfd, SNAPSHOT_TMP, dirfd, SNAPSHOT))
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

/* ------------------------------------------------------------------ */
/* Verify and replay                                                    */

int aif_journal_verify(const char *dir, struct aif_verify_report *report)
{
	struct rotated *files = NULL;
	char hash[AIF_SHA256_HEX_LEN];
	struct walk *w = NULL;
	bool missing = false;
	size_t nfiles = 0, len;
	int dirfd, rc = -1, err;
	char range[64];
	uint64_t seq;

	if (!report) {
		errno = EINVAL;
		return -1;
	}
	_report_init(report);
	if ((dirfd = _open_dir(dir, false, AIF_FS_TRUST_NONE, report)) < 0)
		return -1;
	if (!(w = _walk_new(WALK_VERIFY, AIF_FS_TRUST_NONE, report)) ||
	    _list_rotated(dirfd, &files, &nfiles, report) ||
	    _archived_read(dirfd, AIF_FS_TRUST_NONE, report->archived_file,
			   &report->archived_seq, hash, report))
		goto out;
	if (report->archived_seq) {
		/* The chain goes on from the archive's last record. */
		_skip_archived(files, &nfiles, report->archived_seq);
		w->started = true;
		w->seq = report->archived_seq;
		memcpy(w->hash, hash, sizeof(w->hash));
		_copy(w->prev_file, sizeof(w->prev_file),
		      report->archived_file);
	} else {
		_walk_from_start(w);
	}
	if (!_snapshot_load(dirfd, AIF_FS_TRUST_NONE, NULL, &len, &seq, hash)) {
		w->snap = true;
		w->snap_seq = seq;
		memcpy(w->snap_hash, hash, sizeof(hash));
	} else if (errno != ENOENT) {
		report->snapshot = -1;
	}
	for (size_t i = 0; i < nfiles; i++)
		if (_walk_file(w, dirfd, files[i].name, files[i].first,
			       files[i].last, NULL))
			goto out;
	if (_walk_file(w, dirfd, CURRENT, 0, 0, &missing) && !missing)
		goto out;
	if (missing && !nfiles && !report->archived_seq) {
		_say(report, AIF_CHAIN_IO, ENOENT, dir, 0, 0, "no journal "
		     "here");
		goto out;
	}
	if (w->snap && w->seq < w->snap_seq) {
		_say(report, AIF_CHAIN_SHORT, EBADMSG,
		     missing ? files[nfiles - 1].name : CURRENT,
		     missing ? 0 : w->file_records + 1, w->seq + 1,
		     "the journal ends at seq %" PRIu64 ", but the snapshot "
		     "covers seq %" PRIu64 ": %s missing from its end",
		     w->seq, w->snap_seq, _records(range, sizeof(range),
						   w->seq + 1, w->snap_seq));
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
	struct rotated *files = NULL;
	struct walk *w = NULL;
	bool missing = false;
	int dirfd, rc = -1, err;
	size_t nfiles = 0;

	_report_init(rep);
	if (!fn || (after_hash && !_is_hex64(after_hash)))
		return _say(rep, AIF_CHAIN_IO, EINVAL, NULL, 0, 0,
			    "no callback, or a bad hash");
	if ((dirfd = _open_dir(dir, false, AIF_FS_TRUST_READ, rep)) < 0)
		return -1;
	if (!(w = _walk_new(WALK_REPLAY, AIF_FS_TRUST_READ, rep)) ||
	    _list_rotated(dirfd, &files, &nfiles, rep) ||
	    _archived_read(dirfd, AIF_FS_TRUST_READ, rep->archived_file,
			   &rep->archived_seq, archived_hash, rep))
		goto out;
	if (rep->archived_seq > after_seq) {
		_say(rep, AIF_CHAIN_SHORT, EBADMSG, ARCHIVED, 0, 0, "records "
		     "1 to %" PRIu64 " were archived (up to %s), and replay "
		     "starts after seq %" PRIu64 ": restore them to replay",
		     rep->archived_seq, rep->archived_file, after_seq);
		goto out;
	}
	_skip_archived(files, &nfiles, rep->archived_seq);
	w->after_seq = after_seq;
	w->after_hash = after_seq ? after_hash : NULL;
	w->fn = fn;
	w->arg = arg;
	if (!after_seq)
		_walk_from_start(w);
	for (size_t i = 0; i < nfiles; i++) {
		if (files[i].last < after_seq)
			continue;	/* wholly before: not even read */
		if (_walk_file(w, dirfd, files[i].name, files[i].first,
			       files[i].last, NULL))
			goto out;
	}
	if (_walk_file(w, dirfd, CURRENT, 0, 0, &missing) && !missing)
		goto out;
	if (!w->started || w->seq < after_seq) {
		_say(rep, AIF_CHAIN_SHORT, EBADMSG, dir, 0, 0, "the journal "
		     "ends at seq %" PRIu64 ", before seq %" PRIu64 " that "
		     "replay starts after (the snapshot's)",
		     w->started ? w->seq : 0, after_seq);
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

/* ------------------------------------------------------------------ */
/* Writing                                                              */

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
	if (!(head = _write_prefix(r, j->line))) {
		_undo_frame(r, saved_time, saved_prev);
		errno = EINVAL;
		return -1;
	}
	_chain_hash(r->prev, j->line, head, r->hash);
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
		memcpy(hash, j ? j->last_hash : ZEROS, AIF_SHA256_HEX_LEN);
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
	j->fd = openat(j->dirfd, CURRENT, O_RDWR | O_APPEND | O_CREAT |
		       O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
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
	snprintf(name, sizeof(name), ROTATED "%" PRIu64 "-%" PRIu64,
		 j->first_seq, j->last_seq);
	if (fdatasync(j->fd))
		return _unsync(j);
	_synced(j);
	if (_rename_noreplace(j->dirfd, CURRENT, name))
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
		return _say_errno(rep, errno, LOCK, "cannot open");
	if (_check_file(fd, LOCK, AIF_FS_TRUST_WRITE, rep))
		goto fail;
	if (!fcntl(fd, F_OFD_SETLK, &fl))
		return fd;
	/* A kernel older than 3.15: flock, local file systems only. */
	if (errno == EINVAL && !flock(fd, LOCK_EX | LOCK_NB))
		return fd;
	if (errno == EAGAIN || errno == EACCES || errno == EWOULDBLOCK)
		_say(rep, AIF_CHAIN_IO, EWOULDBLOCK, LOCK, 0, 0, "the journal "
		     "is open in another process");
	else
		_say_errno(rep, errno, LOCK, "cannot lock");
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
	struct rotated *files = NULL;
	struct aif_journal *j;
	struct walk *w = NULL;
	size_t nfiles = 0;
	char ebuf[128];
	int err;

	_report_init(rep);
	if (!jp)
		return _say(rep, AIF_CHAIN_IO, EINVAL, NULL, 0, 0,
			    "nowhere to put the journal");
	*jp = NULL;
	if (!(j = calloc(1, sizeof(*j))))
		return _say(rep, AIF_CHAIN_IO, ENOMEM, NULL, 0, 0,
			    "out of memory");
	j->fd = j->lockfd = -1;
	memcpy(j->last_hash, ZEROS, sizeof(ZEROS));
	if ((j->dirfd = _open_dir(dir, true, AIF_FS_TRUST_WRITE, rep)) < 0)
		goto fail;
	if ((j->lockfd = _lock(j->dirfd, rep)) < 0)
		goto fail;
	j->fd = openat(j->dirfd, CURRENT, O_RDWR | O_APPEND | O_NOFOLLOW |
		       O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (j->fd < 0 && errno == ENOENT && _create_current(j)) {
		_say_errno(rep, errno, CURRENT, "cannot create");
		goto fail;
	}
	if (j->fd < 0) {
		_say_errno(rep, errno, CURRENT, "cannot open");
		goto fail;
	}
	if (_check_file(j->fd, CURRENT, AIF_FS_TRUST_WRITE, rep) ||
	    !(w = _walk_new(WALK_OPEN, AIF_FS_TRUST_WRITE, rep)) ||
	    _walk_fd(w, j->fd, CURRENT, 0, 0))
		goto fail;
	if (w->torn) {
		if (ftruncate(j->fd, (off_t) w->good_end) || fdatasync(j->fd)) {
			_say_errno(rep, errno, CURRENT, "cannot cut off a torn "
				   "last line");
			goto fail;
		}
		snprintf(rep->message, sizeof(rep->message), CURRENT ":%"
			 PRIu64 ": a last line with no newline (%" PRIu64
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
		if (_list_rotated(j->dirfd, &files, &nfiles, rep))
			goto fail;
		if (nfiles) {
			struct rotated *last = &files[nfiles - 1];

			w->started = false;
			w->prev_file[0] = '\0';
			if (_walk_file(w, j->dirfd, last->name, last->first,
				       last->last, NULL))
				goto fail;
			j->last_seq = w->seq;
			memcpy(j->last_hash, w->hash, sizeof(j->last_hash));
			if (_write_rotate(j, last->name)) {
				_say(rep, AIF_CHAIN_IO, errno, CURRENT, 0, 0,
				     "cannot write the rotate record after %s:"
				     " %s", last->name,
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
