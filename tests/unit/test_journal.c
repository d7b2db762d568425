/*
 * The journal: records and their escaping, the hash chain, what verify
 * finds when the files are edited (each case names the first bad record),
 * repair of a torn last line, rotation and its crash windows, replay after
 * a snapshot, the snapshot's atomicity and checksum, and permissions.
 *
 * Every case works in its own directory under one mkdtemp() directory in
 * /tmp, removed at the end.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* nftw */
#endif
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "journal.h"
#include "sha256.h"
#include "sha256_hex.h"
#include "tap.h"

#define T0 1795287314		/* 2026-11-21T18:55:14Z */
#define ZEROS "0000000000000000000000000000000000000000000000000000000000000000"

static char top[64];
static int ndirs;

/* ------------------------------------------------------------------ */
/* Files                                                                */

/* A fresh path under top (not created). */
static const char *path_new(const char *what)
{
	static char buf[8][256];
	static int next;
	char *p = buf[next++ % 8];

	snprintf(p, 256, "%s/%02d-%s", top, ndirs++, what);
	return p;
}

static const char *in(const char *dir, const char *name)
{
	static char buf[4][512];
	static int next;
	char *p = buf[next++ % 4];

	snprintf(p, 512, "%s/%s", dir, name);
	return p;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) || !(buf = malloc((size_t) n + 1)) ||
	    fread(buf, 1, (size_t) n, f) != (size_t) n) {
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = (size_t) n;
	return buf;
}

static int spit(const char *path, const char *buf, size_t len)
{
	FILE *f = fopen(path, "wb");
	int rc;

	if (!f)
		return -1;
	rc = fwrite(buf, 1, len, f) == len ? 0 : -1;
	return fclose(f) ? -1 : rc;
}

static int append_bytes(const char *path, const char *buf, size_t len)
{
	FILE *f = fopen(path, "ab");
	int rc;

	if (!f)
		return -1;
	rc = fwrite(buf, 1, len, f) == len ? 0 : -1;
	return fclose(f) ? -1 : rc;
}

/* A file as lines (each with its newline), to edit and write back. */
struct lines {
	size_t n;
	char *line[64];
};

static int lines_read(const char *path, struct lines *ls)
{
	char *buf = slurp(path, NULL), *p, *nl;

	ls->n = 0;
	if (!buf)
		return -1;
	for (p = buf; *p && ls->n < 64; p = nl + 1) {
		if (!(nl = strchr(p, '\n')))
			break;
		ls->line[ls->n++] = strndup(p, (size_t) (nl - p + 1));
	}
	free(buf);
	return 0;
}

static int lines_write(const char *path, const struct lines *ls)
{
	FILE *f = fopen(path, "wb");

	if (!f)
		return -1;
	for (size_t i = 0; i < ls->n; i++)
		fputs(ls->line[i], f);
	return fclose(f);
}

static void lines_free(struct lines *ls)
{
	for (size_t i = 0; i < ls->n; i++)
		free(ls->line[i]);
	ls->n = 0;
}

/* Remove line i (from 0). */
static void lines_delete(struct lines *ls, size_t i)
{
	free(ls->line[i]);
	memmove(&ls->line[i], &ls->line[i + 1],
		(ls->n - i - 1) * sizeof(ls->line[0]));
	ls->n--;
}

/* Put s (copied) before line i. */
static void lines_insert(struct lines *ls, size_t i, const char *s)
{
	memmove(&ls->line[i + 1], &ls->line[i],
		(ls->n - i) * sizeof(ls->line[0]));
	ls->line[i] = strdup(s);
	ls->n++;
}

/* The 64 hex digits after key ("hash" or "prev") in a line. */
static void field_hex(const char *line, const char *key, char out[65])
{
	char pat[16];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	p = strstr(line, pat);
	snprintf(out, 65, "%.64s", p ? p + strlen(pat) : "");
}

/*
 * A line as the journal writes it, from its text up to ,"prev": with this
 * prev, and a hash recomputed over it. What a forger with the source at
 * hand can make.
 */
static char *forge(const char *head, const char *prev)
{
	char hash[AIF_SHA256_HEX_LEN], *buf, *line;
	size_t n = strlen(head);

	buf = malloc(64 + n);
	memcpy(buf, prev, 64);
	memcpy(buf + 64, head, n);
	sha256_hex(buf, 64 + n, hash);
	free(buf);
	if (asprintf(&line, "%s,\"prev\":\"%s\",\"hash\":\"%s\"}\n", head,
		     prev, hash) < 0)
		return NULL;
	return line;
}

/* The text of a line up to ,"prev" (malloc'ed). */
static char *head_of(const char *line)
{
	const char *p = strstr(line, ",\"prev\":");

	return strndup(line, p ? (size_t) (p - line) : strlen(line));
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	return remove(path);
}

/* ------------------------------------------------------------------ */
/* Chains                                                               */

/* A charge of job 1000+i, amount 3600000*i (a GPU-hour times i). */
static void charge(struct aif_record *r, int i)
{
	char name[32];

	aif_record_init(r, AIF_RECORD_CHARGE);
	r->time = T0 + i;
	snprintf(name, sizeof(name), "train-%d", i);
	aif_record_add_str(r, "project", "acme");
	aif_record_add_int(r, "job", 1000 + i);
	aif_record_add_int(r, "amount", 3600000LL * i);
	aif_record_add_str(r, "name", name);
}

/* Append records first..last (charges) to j. */
static int add_charges(struct aif_journal *j, int first, int last)
{
	struct aif_record r;

	for (int i = first; i <= last; i++) {
		charge(&r, i);
		if (aif_journal_append(j, &r))
			return -1;
	}
	return aif_journal_sync(j);
}

/* A new directory holding a chain of n charges. */
static const char *chain(const char *what, int n)
{
	const char *dir = path_new(what);
	struct aif_journal *j;

	if (aif_journal_open(dir, &j, NULL))
		return dir;
	add_charges(j, 1, n);
	aif_journal_close(j);
	return dir;
}

/* verify dir: it must fail with this problem at this place. */
static void verify_fails(const char *dir, enum aif_chain_problem problem,
			 const char *file, uint64_t line, uint64_t seq,
			 const char *says, const char *what)
{
	struct aif_verify_report rep;
	int rc = aif_journal_verify(dir, &rep);
	int err = errno;

	printf("# %s\n", rep.message);
	ok(rc == -1 && err == EBADMSG, "%s: verify fails", what);
	is_int(rep.problem, problem, "%s: the problem", what);
	is_str(rep.file, file, "%s: the file", what);
	is_int((long long) rep.line, (long long) line, "%s: the line", what);
	is_int((long long) rep.seq, (long long) seq, "%s: the seq", what);
	like(rep.message, says, "%s: the message", what);
}

static void verify_ok(const char *dir, uint64_t records, const char *what)
{
	struct aif_verify_report rep;
	int rc = aif_journal_verify(dir, &rep);

	ok(rc == 0 && rep.problem == AIF_CHAIN_OK, "%s: verify passes", what);
	if (rc)
		printf("#   %s\n", rep.message);
	is_int((long long) rep.records, (long long) records,
	       "%s: records counted", what);
}

/* ------------------------------------------------------------------ */
/* Records                                                              */

static void test_record_build(void)
{
	struct aif_record r;
	const char *key, *str;
	char k[40];
	int64_t v = 0;

	aif_record_init(&r, AIF_RECORD_LIEN);
	is_str(aif_record_type_name(r.type), "lien", "type name");
	is_str(aif_record_type_name((enum aif_record_type) 99), "?",
	       "type out of range");
	ok(!aif_record_add_str(&r, "project", "acme") &&
	   !aif_record_add_int(&r, "amount", -42), "add a string and an int");
	is_int((long long) aif_record_nfields(&r), 2, "two fields");
	is_str(aif_record_str(&r, "project"), "acme", "string read back");
	ok(!aif_record_int(&r, "amount", &v) && v == -42, "int read back");
	ok(!aif_record_str(&r, "amount") && errno == EINVAL,
	   "an int is not a string");
	ok(aif_record_int(&r, "project", &v) && errno == EINVAL,
	   "a string is not an int");
	ok(!aif_record_str(&r, "nope") && errno == ENOENT, "no such field");
	ok(!aif_record_field(&r, 1, &key, &str, &v) && !strcmp(key, "amount")
	   && !str && v == -42, "field by index");
	ok(aif_record_field(&r, 2, &key, &str, &v) && errno == ERANGE,
	   "index out of range");
	is_int(r.error, 0, "no error so far");

	ok(aif_record_add_int(&r, "amount", 1) && errno == EEXIST,
	   "a key twice is refused");
	aif_record_init(&r, AIF_RECORD_LIEN);
	ok(aif_record_add_int(&r, "Amount", 1) && errno == EINVAL,
	   "upper case key refused");
	ok(aif_record_add_int(&r, "1a", 1) && errno == EINVAL,
	   "key starting with a digit refused");
	ok(aif_record_add_int(&r, "a-b", 1) && errno == EINVAL,
	   "key with a dash refused");
	ok(aif_record_add_int(&r, "", 1) && errno == EINVAL,
	   "empty key refused");
	ok(aif_record_add_str(&r, "a\"b", "x") && errno == EINVAL,
	   "key with a quote refused");
	ok(aif_record_add_int(&r, "seq", 1) && aif_record_add_int(&r, "hash", 1)
	   && aif_record_add_str(&r, "prev", "x") && errno == EINVAL,
	   "reserved keys refused");
	memset(k, 'k', 31);
	k[31] = '\0';
	ok(!aif_record_add_int(&r, k, 1), "31-character key accepted");
	k[31] = 'k';
	k[32] = '\0';
	ok(aif_record_add_int(&r, k, 1) && errno == EINVAL,
	   "32-character key refused");
	ok(aif_record_add_str(&r, "s", NULL) && errno == EINVAL,
	   "NULL string refused");
	is_int(r.error, EINVAL, "the first error is remembered");

	aif_record_init(&r, AIF_RECORD_GRANT);
	for (int i = 0; i < AIF_RECORD_FIELDS_MAX; i++) {
		snprintf(k, sizeof(k), "f%d", i);
		aif_record_add_int(&r, k, i);
	}
	is_int(r.error, 0, "%d fields fit", AIF_RECORD_FIELDS_MAX);
	ok(aif_record_add_int(&r, "one_more", 1) && errno == E2BIG,
	   "one more is refused");
}

static void test_escaping(void)
{
	const char *dir = path_new("escape");
	struct aif_journal *j;
	struct aif_record r;
	struct lines ls = { 0 };
	const char *in_str =
		"a\"b\\c/\n\t\r\b\f\x01\x1f\x7f"	/* ASCII specials */
		"\xff"				/* invalid byte */
		"\xc3\xa9\xe2\x82\xac"		/* e acute, euro */
		"\xe2\x80\xa8\xe2\x80\xae"	/* U+2028, U+202E (RLO) */
		"\xc0\x80"			/* overlong NUL */
		"\xed\xa0\x80"			/* a surrogate */
		"\xc2\x85"			/* C1 control NEL */
		"\xe2\x82"			/* cut sequence */
		"\xf0\x9f\x98\x80";		/* emoji */
	const char *want_json =
		"\"who\":\"a\\\"b\\\\c/\\n\\t\\r\\b\\f\\u0001\\u001f\\u007f"
		"\xef\xbf\xbd"
		"\xc3\xa9\xe2\x82\xac"
		"\\u2028\\u202e"
		"\xef\xbf\xbd\xef\xbf\xbd"
		"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
		"\\u0085"
		"\xef\xbf\xbd\xef\xbf\xbd"
		"\xf0\x9f\x98\x80\"";
	const char *want_raw =
		"a\"b\\c/\n\t\r\b\f\x01\x1f\x7f"
		"\xef\xbf\xbd"
		"\xc3\xa9\xe2\x82\xac"
		"\xe2\x80\xa8\xe2\x80\xae"
		"\xef\xbf\xbd\xef\xbf\xbd"
		"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
		"\xc2\x85"
		"\xef\xbf\xbd\xef\xbf\xbd"
		"\xf0\x9f\x98\x80";

	aif_record_init(&r, AIF_RECORD_DECISION);
	ok(!aif_record_add_str(&r, "who", in_str), "hostile string added");
	is_str(aif_record_str(&r, "who"), want_raw,
	   "stored as valid UTF-8, bad bytes as U+FFFD");
	ok(!aif_record_add_int(&r, "min", INT64_MIN) &&
	   !aif_record_add_int(&r, "max", INT64_MAX) &&
	   !aif_record_add_str(&r, "empty", ""), "extreme ints, empty string");
	r.time = T0;
	ok(!aif_journal_open(dir, &j, NULL) && !aif_journal_append(j, &r) &&
	   !aif_journal_close(j), "written to a journal");
	lines_read(in(dir, "journal"), &ls);
	is_int((long long) ls.n, 1, "one line");
	like(ls.n ? ls.line[0] : NULL, want_json, "escaped as JSON");
	like(ls.n ? ls.line[0] : NULL,
	     "\"min\":-9223372036854775808,\"max\":9223372036854775807,"
	     "\"empty\":\"\",\"prev\"", "ints and the empty string");
	lines_free(&ls);
	verify_ok(dir, 1, "escaped record");
}

static void test_cut(void)
{
	const char *dir = path_new("cut");
	char *big = malloc(100001), *p;
	struct aif_journal *j;
	struct aif_record r;
	struct lines ls = { 0 };
	const char *s;
	char k[16];
	size_t n;

	memset(big, 'x', 100000);
	big[100000] = '\0';
	aif_record_init(&r, AIF_RECORD_DECISION);
	aif_record_add_str(&r, "comment", big);
	s = aif_record_str(&r, "comment");
	is_int((long long) strlen(s), AIF_RECORD_STR_MAX,
	       "100000 bytes cut to %d", AIF_RECORD_STR_MAX);
	ok(!strcmp(s + strlen(s) - strlen(AIF_RECORD_CUT), AIF_RECORD_CUT),
	   "ending with the marker");
	is_int(r.error, 0, "a cut is not an error");

	/* Two-byte characters are cut whole. */
	for (p = big, n = 0; n < 1000; n++, p += 2)
		memcpy(p, "\xc3\xa9", 2);
	*p = '\0';
	aif_record_init(&r, AIF_RECORD_DECISION);
	aif_record_add_str(&r, "name", big);
	s = aif_record_str(&r, "name");
	n = strlen(s) - strlen(AIF_RECORD_CUT);
	ok(n % 2 == 0 && (unsigned char) s[n - 2] == 0xc3 &&
	   (unsigned char) s[n - 1] == 0xa9, "cut between characters");

	/* Control characters count by their escaped size. */
	memset(big, '\x01', 1000);
	big[1000] = '\0';
	aif_record_init(&r, AIF_RECORD_DECISION);
	aif_record_add_str(&r, "name", big);
	is_int((long long) strlen(aif_record_str(&r, "name")),
	       (AIF_RECORD_STR_MAX - (long long) strlen(AIF_RECORD_CUT)) / 6 +
	       (long long) strlen(AIF_RECORD_CUT),
	       "escaped size is what is bounded");

	/* Many long strings: the last ones are cut to what is left, then
	 * there is no room. */
	memset(big, 'y', 2000);
	big[2000] = '\0';
	aif_record_init(&r, AIF_RECORD_DECISION);
	for (int i = 0; i < 7; i++) {
		snprintf(k, sizeof(k), "s%d", i);
		aif_record_add_str(&r, k, big);
	}
	is_int(r.error, 0, "seven long strings fit");
	ok(!aif_record_add_str(&r, "s7", big), "an eighth is cut to fit");
	ok(strlen(aif_record_str(&r, "s7")) < AIF_RECORD_STR_MAX,
	   "shorter than the bound");
	ok(aif_record_add_int(&r, "late", 1) && errno == E2BIG,
	   "then no room is left");
	r.time = T0;
	ok(!aif_journal_open(dir, &j, NULL) && aif_journal_append(j, &r) &&
	   errno == E2BIG, "the record is refused (the failed add)");
	aif_journal_close(j);

	aif_record_init(&r, AIF_RECORD_DECISION);
	for (int i = 0; i < 8; i++) {
		snprintf(k, sizeof(k), "s%d", i);
		aif_record_add_str(&r, k, big);
	}
	r.time = T0;
	ok(!aif_journal_open(dir, &j, NULL) && !aif_journal_append(j, &r),
	   "the largest record is written");
	aif_journal_close(j);
	lines_read(in(dir, "journal"), &ls);
	ok(ls.n == 1 && strlen(ls.line[0]) <= AIF_RECORD_MAX,
	   "its line is at most %d bytes", AIF_RECORD_MAX);
	lines_free(&ls);
	verify_ok(dir, 1, "largest record");
	free(big);
}

/* The exact bytes of a line, and the hash rule. */
static void test_line_format(void)
{
	const char *dir = path_new("format");
	const char *head = "{\"seq\":1,\"time\":\"2026-11-21T18:55:14Z\","
		"\"type\":\"charge\",\"project\":\"acme\",\"amount\":3600000";
	char hashed[512], hash[AIF_SHA256_HEX_LEN], want[1024];
	char last[AIF_SHA256_HEX_LEN];
	struct aif_journal *j;
	struct aif_record r;
	struct stat st;
	uint64_t seq;
	char *text;

	aif_record_init(&r, AIF_RECORD_CHARGE);
	r.time = T0;
	aif_record_add_str(&r, "project", "acme");
	aif_record_add_int(&r, "amount", 3600000);
	ok(!aif_journal_open(dir, &j, NULL), "open creates the journal");
	aif_journal_last(j, &seq, last);
	ok(seq == 0 && !strcmp(last, ZEROS), "an empty chain: 0 and zeros");
	ok(!aif_journal_append(j, &r) && !aif_journal_sync(j), "append, sync");
	snprintf(hashed, sizeof(hashed), "%s%s", ZEROS, head);
	sha256_hex(hashed, strlen(hashed), hash);
	snprintf(want, sizeof(want), "%s,\"prev\":\"%s\",\"hash\":\"%s\"}\n",
		 head, ZEROS, hash);
	text = slurp(in(dir, "journal"), NULL);
	is_str(text, want, "the line, byte for byte");
	free(text);
	is_int((long long) r.seq, 1, "the record got seq 1");
	is_str(r.hash, hash, "and its hash");
	aif_journal_last(j, &seq, last);
	ok(seq == 1 && !strcmp(last, hash), "last seq and hash");

	aif_record_init(&r, AIF_RECORD_REFUND);
	ok(!aif_journal_append(j, &r), "a record with no fields, time now");
	ok(r.time >= T0 - 86400 * 365 * 10 && r.seq == 2 &&
	   !strcmp(r.prev, hash), "stamped now, seq 2, prev = hash 1");
	aif_record_init(&r, AIF_RECORD_REFUND);
	r.time = (time_t) 253402300800LL;	/* year 10000 */
	ok(aif_journal_append(j, &r) && errno == EINVAL && r.seq == 0,
	   "a time past 9999 is refused, no seq used");
	aif_journal_close(j);

	ok(!stat(dir, &st) && (st.st_mode & 0777) == 0700,
	   "directory created 0700");
	ok(!stat(in(dir, "journal"), &st) && (st.st_mode & 0777) == 0600,
	   "journal created 0600");
	verify_ok(dir, 2, "two records");
}

/* Random bytes in strings: what is written reads back as it was stored,
 * and every line verifies. */
struct fuzz {
	int n, bad;
	char (*want)[AIF_RECORD_STR_MAX + 1];
};

static int fuzz_check(const struct aif_record *r, void *arg)
{
	struct fuzz *f = arg;
	const char *s = aif_record_str(r, "s");

	if (!s || f->n >= 300 || strcmp(s, f->want[f->n]))
		f->bad++;
	f->n++;
	return 0;
}

static void test_fuzz(void)
{
	const char *dir = path_new("fuzz");
	struct fuzz f = { 0, 0, calloc(300, sizeof(*f.want)) };
	unsigned seed = 20261121;
	struct aif_journal *j;
	struct aif_record r;
	char s[700];
	int failed = 0;

	aif_journal_open(dir, &j, NULL);
	for (int i = 0; i < 300; i++) {
		int len = rand_r(&seed) % (int) sizeof(s);

		for (int k = 0; k < len; k++)
			s[k] = (char) (1 + rand_r(&seed) % 255);
		s[len] = '\0';
		aif_record_init(&r, AIF_RECORD_DECISION);
		r.time = T0 + i;
		aif_record_add_str(&r, "s", s);
		snprintf(f.want[i], sizeof(f.want[i]), "%s",
			 aif_record_str(&r, "s"));
		failed += aif_journal_append(j, &r) != 0;
	}
	aif_journal_close(j);
	is_int(failed, 0, "300 records of random bytes written");
	verify_ok(dir, 300, "random bytes");
	ok(!aif_journal_replay(dir, 0, NULL, fuzz_check, &f, NULL) &&
	   f.n == 300 && f.bad == 0, "each reads back as it was stored");
	free(f.want);
}

/* ------------------------------------------------------------------ */
/* Verify                                                               */

static void test_verify_chain(void)
{
	const char *dir = chain("chain", 10);
	struct aif_verify_report rep;

	verify_ok(dir, 10, "ten charges");
	aif_journal_verify(dir, &rep);
	is_int((long long) rep.last_seq, 10, "last seq reported");
	like(rep.message, "the chain is whole", "says so");
	is_int(rep.snapshot, 0, "no snapshot");
	ok(aif_journal_verify(path_new("none"), &rep) && errno == ENOENT,
	   "no directory: ENOENT");
	dir = chain("empty", 0);
	verify_ok(dir, 0, "an empty journal");
	aif_journal_verify(dir, &rep);
	like(rep.message, "the chain is empty", "says so");
}

/* Edit line i (from 0) of dir's journal: replace the first from by to. */
static void edit(const char *dir, size_t i, const char *from, const char *to)
{
	struct lines ls;
	char *p, *s;

	lines_read(in(dir, "journal"), &ls);
	p = strstr(ls.line[i], from);
	if (p && asprintf(&s, "%.*s%s%s", (int) (p - ls.line[i]), ls.line[i],
			  to, p + strlen(from)) > 0) {
		free(ls.line[i]);
		ls.line[i] = s;
	}
	lines_write(in(dir, "journal"), &ls);
	lines_free(&ls);
}

static void test_verify_tamper(void)
{
	struct lines ls;
	const char *dir;
	char prev[65], *head, *line;
	size_t len;
	char *text;

	/* One digit of an amount: 5 GPU-hours become 6. */
	dir = chain("edited", 10);
	edit(dir, 4, "\"amount\":18000000", "\"amount\":18000001");
	verify_fails(dir, AIF_CHAIN_HASH, "journal", 5, 5, "hash mismatch",
		     "edited amount");

	/* Record 5 deleted. */
	dir = chain("deleted", 10);
	lines_read(in(dir, "journal"), &ls);
	lines_delete(&ls, 4);
	lines_write(in(dir, "journal"), &ls);
	lines_free(&ls);
	verify_fails(dir, AIF_CHAIN_GAP, "journal", 5, 6,
		     "record 5 is missing", "deleted record");

	/* The last three deleted from the middle of a longer chain. */
	dir = chain("deleted3", 10);
	lines_read(in(dir, "journal"), &ls);
	lines_delete(&ls, 2);
	lines_delete(&ls, 2);
	lines_delete(&ls, 2);
	lines_write(in(dir, "journal"), &ls);
	lines_free(&ls);
	verify_fails(dir, AIF_CHAIN_GAP, "journal", 3, 6,
		     "records 3 to 5 are missing", "three deleted");

	/* A copy of record 3 inserted after record 6. */
	dir = chain("copied", 10);
	lines_read(in(dir, "journal"), &ls);
	lines_insert(&ls, 6, ls.line[2]);
	lines_write(in(dir, "journal"), &ls);
	lines_free(&ls);
	verify_fails(dir, AIF_CHAIN_ORDER, "journal", 7, 3, "out of order",
		     "copied record inserted");

	/* A new record, well forged (seq 6, prev = hash of 5, its own hash
	 * right), inserted before record 6: the chain breaks at the old 6. */
	dir = chain("inserted", 10);
	lines_read(in(dir, "journal"), &ls);
	field_hex(ls.line[4], "hash", prev);
	line = forge("{\"seq\":6,\"time\":\"2026-11-21T18:55:20Z\","
		     "\"type\":\"refund\",\"project\":\"acme\","
		     "\"amount\":-99000000", prev);
	lines_insert(&ls, 5, line);
	free(line);
	lines_write(in(dir, "journal"), &ls);
	lines_free(&ls);
	verify_fails(dir, AIF_CHAIN_ORDER, "journal", 7, 6,
		     "seq 7 was expected", "forged record inserted");

	/* Records 4 and 5 swapped. */
	dir = chain("swapped", 10);
	lines_read(in(dir, "journal"), &ls);
	line = ls.line[3];
	ls.line[3] = ls.line[4];
	ls.line[4] = line;
	lines_write(in(dir, "journal"), &ls);
	lines_free(&ls);
	verify_fails(dir, AIF_CHAIN_ORDER, "journal", 4, 5,
		     "seq 4 was expected here, and is at line 5",
		     "two records swapped");

	/* The end of the file cut off mid-line. */
	dir = chain("truncated", 10);
	text = slurp(in(dir, "journal"), &len);
	spit(in(dir, "journal"), text, len - 30);
	free(text);
	verify_fails(dir, AIF_CHAIN_TORN, "journal", 10, 10, "no newline",
		     "file end cut off");

	/* Record 5 edited and its hash recomputed; record 6 left alone. */
	dir = chain("forged", 10);
	lines_read(in(dir, "journal"), &ls);
	field_hex(ls.line[4], "prev", prev);
	head = head_of(ls.line[4]);
	*strstr(head, "18000000") = '9';
	line = forge(head, prev);
	free(head);
	free(ls.line[4]);
	ls.line[4] = line;
	lines_write(in(dir, "journal"), &ls);
	lines_free(&ls);
	verify_fails(dir, AIF_CHAIN_PREV, "journal", 6, 6,
		     "prev is not the hash of seq 5",
		     "hash recomputed by a forger");

	/* A line that is not a record. */
	dir = chain("garbage", 5);
	edit(dir, 2, "{\"seq\":3,", "{\"seq\": 3,");
	verify_fails(dir, AIF_CHAIN_SYNTAX, "journal", 3, 0,
		     "not a journal record", "a space added");
	dir = chain("respelled", 5);
	edit(dir, 1, "train-2", "train\\u002d2");
	verify_fails(dir, AIF_CHAIN_SYNTAX, "journal", 2, 2,
		     "not written as the journal writes",
		     "same JSON, other spelling");
	dir = chain("dupkey", 5);
	edit(dir, 1, "\"job\":1002", "\"project\":\"acme\"");
	verify_fails(dir, AIF_CHAIN_SYNTAX, "journal", 2, 2,
		     "a key that appears twice", "a key twice");
	dir = chain("longline", 3);
	text = calloc(1, 5001);
	memset(text, 'x', 5000);
	text[4999] = '\n';
	append_bytes(in(dir, "journal"), text, 5000);
	free(text);
	verify_fails(dir, AIF_CHAIN_SYNTAX, "journal", 4, 0, "longer than",
		     "an over-long line");

	/* Renumbered: the seq of record 5 changed (its hash then breaks). */
	dir = chain("renumbered", 10);
	edit(dir, 4, "{\"seq\":5,", "{\"seq\":4,");
	verify_fails(dir, AIF_CHAIN_HASH, "journal", 5, 4, "hash mismatch",
		     "seq edited");
}

/* ------------------------------------------------------------------ */
/* Open: torn line, damage, single writer                               */

static void test_torn(void)
{
	const char *dir = chain("torn", 5);
	struct aif_verify_report rep;
	struct aif_journal *j;
	char *text, hash5[65], prev6[65] = "";
	struct lines ls;
	size_t len;
	uint64_t seq;

	lines_read(in(dir, "journal"), &ls);
	field_hex(ls.line[4], "hash", hash5);
	/* Half of a sixth line, as a crash mid-write leaves it. */
	append_bytes(in(dir, "journal"), ls.line[0], strlen(ls.line[0]) / 2);
	lines_free(&ls);

	ok(!aif_journal_open(dir, &j, &rep), "open repairs a torn last line");
	ok(rep.problem == AIF_CHAIN_OK && rep.torn_line == 6 &&
	   rep.torn_bytes > 0, "reported: line 6, bytes");
	like(rep.message, "journal:6: a last line with no newline",
	     "and said");
	is_int((long long) rep.records, 5, "five good records");
	aif_journal_last(j, &seq, NULL);
	is_int((long long) seq, 5, "chain ends at 5");
	ok(!add_charges(j, 6, 7), "the chain continues");
	aif_journal_close(j);
	lines_read(in(dir, "journal"), &ls);
	if (ls.n == 7)
		field_hex(ls.line[5], "prev", prev6);
	ok(ls.n == 7 && !strcmp(prev6, hash5) && strstr(ls.line[5],
	   "{\"seq\":6,"), "record 6 follows record 5");
	lines_free(&ls);
	verify_ok(dir, 7, "after repair");

	/* A torn line is not repaired in a way that loses a whole one. */
	text = slurp(in(dir, "journal"), &len);
	spit(in(dir, "journal"), text, len - 1);	/* only the newline */
	free(text);
	ok(!aif_journal_open(dir, &j, &rep) && rep.torn_line == 7,
	   "a line missing only its newline is cut too (never synced)");
	aif_journal_last(j, &seq, NULL);
	is_int((long long) seq, 6, "chain ends at 6");
	aif_journal_close(j);
	verify_ok(dir, 6, "after the second repair");
}

static void test_open_refuses(void)
{
	struct aif_verify_report rep;
	struct aif_journal *j, *j2;
	const char *dir;
	int status = 0, fds[2];
	char *text, answer = 0;
	pid_t pid;

	dir = chain("damaged", 5);
	edit(dir, 2, "\"amount\":10800000", "\"amount\":10800009");
	ok(aif_journal_open(dir, &j, &rep) && errno == EBADMSG,
	   "damage before the end refuses the open");
	ok(rep.problem == AIF_CHAIN_HASH && rep.line == 3 && rep.seq == 3,
	   "naming record 3");
	like(rep.message, "journal:3: seq 3: hash mismatch", "in the message");

	dir = chain("junktail", 3);
	text = calloc(1, 5001);
	memset(text, 'x', 5000);
	append_bytes(in(dir, "journal"), text, 5000);
	free(text);
	ok(aif_journal_open(dir, &j, &rep) && errno == EBADMSG &&
	   rep.line == 4, "a tail longer than a record is not a torn write");

	dir = chain("locked", 2);
	ok(!aif_journal_open(dir, &j, NULL), "first open");
	ok(aif_journal_open(dir, &j2, &rep) && errno == EWOULDBLOCK,
	   "a second writer is refused");
	like(rep.message, "open in another process", "and told why");
	/* The answer comes through a pipe: under valgrind a child's exit
	 * status says what valgrind thought of it. */
	fflush(stdout);
	if (pipe(fds))
		fds[0] = fds[1] = -1;
	pid = fork();
	if (pid == 0) {
		char c = aif_journal_open(dir, &j2, NULL) == -1 &&
			errno == EWOULDBLOCK ? 'y' : 'n';

		_exit(write(fds[1], &c, 1) == 1 ? 0 : 1);
	}
	ok(pid > 0 && read(fds[0], &answer, 1) == 1 && answer == 'y' &&
	   waitpid(pid, &status, 0) == pid, "and so is another process");
	close(fds[0]);
	close(fds[1]);
	aif_journal_close(j);
	ok(!aif_journal_open(dir, &j2, NULL), "after close, it opens");
	aif_journal_close(j2);
}

/* A write cut short (the file size limit) is taken back. */
static void test_short_write(void)
{
	const char *dir = chain("short", 3);
	struct aif_journal *j;
	struct aif_record r;
	struct rlimit old, lim;
	struct stat st;
	uint64_t seq;
	int rc, err;

	signal(SIGXFSZ, SIG_IGN);
	aif_journal_open(dir, &j, NULL);
	stat(in(dir, "journal"), &st);
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = (rlim_t) st.st_size + 20;
	setrlimit(RLIMIT_FSIZE, &lim);
	charge(&r, 4);
	rc = aif_journal_append(j, &r);
	err = errno;
	setrlimit(RLIMIT_FSIZE, &old);
	ok(rc == -1 && err == ENOSPC, "a short write fails");
	ok(!stat(in(dir, "journal"), &st) && st.st_size > 0 &&
	   r.seq == 0, "no seq used");
	aif_journal_last(j, &seq, NULL);
	is_int((long long) seq, 3, "the chain still ends at 3");
	ok(!add_charges(j, 4, 5), "appends go on");
	aif_journal_close(j);
	verify_ok(dir, 5, "no partial line left");
}

/* ------------------------------------------------------------------ */
/* Rotation                                                             */

static void test_rotation(void)
{
	const char *dir = path_new("rotate");
	struct aif_verify_report rep;
	struct aif_journal *j;
	struct lines ls;
	char hash5[65];
	struct stat st;

	aif_journal_open(dir, &j, NULL);
	ok(!aif_journal_rotate(j) && stat(in(dir, "journal.1-0"), &st) &&
	   stat(in(dir, "journal.0-0"), &st), "an empty journal is not "
	   "rotated");
	add_charges(j, 1, 5);
	ok(!aif_journal_rotate(j), "rotate after 5");
	ok(!stat(in(dir, "journal.1-5"), &st) &&
	   (st.st_mode & 0777) == 0600, "journal.1-5, mode 0600");
	lines_read(in(dir, "journal.1-5"), &ls);
	field_hex(ls.line[4], "hash", hash5);
	lines_free(&ls);
	lines_read(in(dir, "journal"), &ls);
	ok(ls.n == 1 && strstr(ls.line[0], "{\"seq\":6,") &&
	   strstr(ls.line[0], "\"type\":\"rotate\",\"file\":\"journal.1-5\","
		  "\"prev\":\"") && strstr(ls.line[0], hash5),
	   "new journal starts with a rotate record linked to 5");
	lines_free(&ls);
	add_charges(j, 7, 9);
	ok(!aif_journal_rotate(j) && !stat(in(dir, "journal.6-9"), &st),
	   "rotate again: journal.6-9");
	add_charges(j, 11, 12);	/* seqs 11, 12 after rotate record 10 */
	aif_journal_close(j);
	verify_ok(dir, 12, "the chain runs across three files");

	ok(!aif_journal_open(dir, &j, &rep), "reopen a rotated journal");
	is_int((long long) rep.records, 3, "three records in the current file");
	is_int((long long) rep.last_seq, 12, "last seq 12");
	aif_journal_close(j);
}

/* Copy a rotated chain to a new directory (through the shell). */
static const char *rotated_chain(const char *what)
{
	const char *dir = path_new(what);
	struct aif_journal *j;

	aif_journal_open(dir, &j, NULL);
	add_charges(j, 1, 5);
	aif_journal_rotate(j);		/* journal.1-5, rotate record 6 */
	add_charges(j, 7, 9);
	aif_journal_rotate(j);		/* journal.6-9, rotate record 10 */
	add_charges(j, 11, 12);
	aif_journal_close(j);
	return dir;
}

static void test_rotation_tamper(void)
{
	const char *dir;
	struct lines ls;

	dir = rotated_chain("rot-middle");
	unlink(in(dir, "journal.6-9"));
	verify_fails(dir, AIF_CHAIN_GAP, "journal", 1, 10,
		     "records 6 to 9 are missing (this file's rotate record "
		     "names journal.6-9", "middle rotated file deleted");

	dir = rotated_chain("rot-first");
	unlink(in(dir, "journal.1-5"));
	verify_fails(dir, AIF_CHAIN_GAP, "journal.6-9", 1, 6,
		     "records 1 to 5 are missing", "first rotated file deleted");

	dir = rotated_chain("rot-cut");
	lines_read(in(dir, "journal.1-5"), &ls);
	lines_delete(&ls, 4);
	lines_write(in(dir, "journal.1-5"), &ls);
	lines_free(&ls);
	verify_fails(dir, AIF_CHAIN_FILE, "journal.1-5", 5, 5,
		     "the file ends at seq 4, but its name says 5",
		     "last record of a rotated file deleted");

	dir = rotated_chain("rot-renamed");
	rename(in(dir, "journal.6-9"), in(dir, "journal.6-10"));
	verify_fails(dir, AIF_CHAIN_FILE, "journal.6-10", 5, 10,
		     "its name says 10", "rotated file renamed");

	dir = rotated_chain("rot-short-name");
	rename(in(dir, "journal.6-9"), in(dir, "journal.6-8"));
	verify_fails(dir, AIF_CHAIN_FILE, "journal.6-8", 4, 9,
		     "the file ends at seq 9, but its name says 8",
		     "rotated file named short");

	dir = rotated_chain("rot-torn");
	lines_read(in(dir, "journal.6-9"), &ls);
	ls.line[3][10] = '\0';
	lines_write(in(dir, "journal.6-9"), &ls);
	lines_free(&ls);
	verify_fails(dir, AIF_CHAIN_TORN, "journal.6-9", 4, 9, "no newline",
		     "rotated file cut mid-line");
}

/* Crashes inside aif_journal_rotate(): open finishes the rotation. */
static void test_rotation_crash(void)
{
	struct aif_verify_report rep;
	struct aif_journal *j;
	const char *dir;
	struct lines ls;

	/* After the rename, before the new file. */
	dir = chain("crash-rename", 5);
	rename(in(dir, "journal"), in(dir, "journal.1-5"));
	ok(!aif_journal_open(dir, &j, &rep), "open after a crash mid-rotation");
	is_int((long long) rep.last_seq, 6, "the rotate record is written");
	add_charges(j, 7, 7);
	aif_journal_close(j);
	lines_read(in(dir, "journal"), &ls);
	ok(ls.n == 2 && strstr(ls.line[0], "\"file\":\"journal.1-5\""),
	   "naming journal.1-5");
	lines_free(&ls);
	verify_ok(dir, 7, "chain whole after the crash");

	/* After creating the new file, before its record was whole. */
	dir = chain("crash-create", 5);
	rename(in(dir, "journal"), in(dir, "journal.1-5"));
	spit(in(dir, "journal"), "{\"seq\":6,\"ti", 12);
	chmod(in(dir, "journal"), 0600);
	ok(!aif_journal_open(dir, &j, &rep) && rep.torn_line == 1 &&
	   rep.last_seq == 6, "torn rotate record cut, then written");
	aif_journal_close(j);
	verify_ok(dir, 6, "chain whole");

	/* The rotated file it would link to is damaged: refuse. */
	dir = chain("crash-damaged", 5);
	edit(dir, 4, "\"amount\":18000000", "\"amount\":18000001");
	rename(in(dir, "journal"), in(dir, "journal.1-5"));
	ok(aif_journal_open(dir, &j, &rep) && errno == EBADMSG &&
	   !strcmp(rep.file, "journal.1-5") && rep.line == 5,
	   "a damaged rotated file refuses the open");
}

/* ------------------------------------------------------------------ */
/* Replay                                                               */

struct seen {
	int n;
	uint64_t seq[64];
	char hash[64][65];
	int64_t amount[64];
	char name[64][32];
	int types[64];
	int stop_at;		/* return -1 (EDOM) at this call, from 1 */
};

static int collect(const struct aif_record *r, void *arg)
{
	struct seen *s = arg;
	const char *name = aif_record_str(r, "name");

	if (s->n >= 64)
		return 0;
	s->seq[s->n] = r->seq;
	memcpy(s->hash[s->n], r->hash, 65);
	s->amount[s->n] = 0;
	aif_record_int(r, "amount", &s->amount[s->n]);
	snprintf(s->name[s->n], 32, "%s", name ? name : "");
	s->types[s->n] = r->type;
	s->n++;
	if (s->stop_at && s->n == s->stop_at) {
		errno = EDOM;
		return -1;
	}
	return 0;
}

static bool in_order(const struct seen *s, uint64_t first, int n)
{
	if (s->n != n)
		return false;
	for (int i = 0; i < n; i++)
		if (s->seq[i] != first + (uint64_t) i)
			return false;
	return true;
}

static void test_replay(void)
{
	const char *dir = chain("replay", 10);
	struct aif_verify_report rep;
	struct seen all = { 0 }, s = { 0 };
	bool fields = true;

	ok(!aif_journal_replay(dir, 0, NULL, collect, &all, &rep),
	   "replay from the start");
	ok(in_order(&all, 1, 10), "records 1 to 10, in order");
	for (int i = 0; i < all.n; i++) {
		char want[32];

		snprintf(want, sizeof(want), "train-%d", i + 1);
		fields = fields && all.amount[i] == 3600000LL * (i + 1) &&
			!strcmp(all.name[i], want) &&
			all.types[i] == AIF_RECORD_CHARGE;
	}
	ok(fields, "fields parsed back");

	ok(!aif_journal_replay(dir, 7, all.hash[6], collect, &s, NULL) &&
	   in_order(&s, 8, 3), "after seq 7: exactly 8, 9, 10");
	memset(&s, 0, sizeof(s));
	ok(!aif_journal_replay(dir, 10, all.hash[9], collect, &s, NULL) &&
	   s.n == 0, "after the last: nothing");
	memset(&s, 0, sizeof(s));
	ok(aif_journal_replay(dir, 7, all.hash[5], collect, &s, &rep) &&
	   errno == EBADMSG && rep.problem == AIF_CHAIN_ANCHOR && s.n == 0,
	   "a snapshot hash that is not record 7's is refused");
	like(rep.message, "journal:7: seq 7: the snapshot gives", "saying so");
	memset(&s, 0, sizeof(s));
	ok(aif_journal_replay(dir, 11, all.hash[9], collect, &s, &rep) &&
	   errno == EBADMSG && rep.problem == AIF_CHAIN_SHORT,
	   "after a seq the journal does not reach: refused");
	like(rep.message, "ends at seq 10, before seq 11", "saying so");

	memset(&s, 0, sizeof(s));
	s.stop_at = 3;
	ok(aif_journal_replay(dir, 0, NULL, collect, &s, &rep) &&
	   errno == EDOM && rep.problem == AIF_CHAIN_STOPPED && s.n == 3,
	   "the callback stops the replay with its errno");

	/* A torn line at the end: never synced, so the end of the chain. */
	append_bytes(in(dir, "journal"), "{\"seq\":11,\"time", 15);
	memset(&s, 0, sizeof(s));
	ok(!aif_journal_replay(dir, 0, NULL, collect, &s, &rep) &&
	   s.n == 10 && rep.torn_line == 11, "a torn last line ends replay");

	/* Damage stops it at the bad record, after passing those before. */
	dir = chain("replay-bad", 10);
	edit(dir, 5, "\"amount\":21600000", "\"amount\":21600001");
	memset(&s, 0, sizeof(s));
	ok(aif_journal_replay(dir, 0, NULL, collect, &s, &rep) &&
	   errno == EBADMSG && rep.problem == AIF_CHAIN_HASH && s.n == 5 &&
	   rep.line == 6, "an edited record stops replay there");
}

static void test_replay_rotated(void)
{
	const char *dir = rotated_chain("replay-rot");
	struct aif_verify_report rep;
	struct seen all = { 0 }, s = { 0 };
	struct lines ls;

	ok(!aif_journal_replay(dir, 0, NULL, collect, &all, &rep) &&
	   in_order(&all, 1, 12), "across files: 1 to 12");
	ok(all.types[5] == AIF_RECORD_ROTATE && all.types[9] ==
	   AIF_RECORD_ROTATE, "rotate records are passed too");
	ok(!aif_journal_replay(dir, 7, all.hash[6], collect, &s, NULL) &&
	   in_order(&s, 8, 5), "after 7 (inside journal.6-9): 8 to 12");
	memset(&s, 0, sizeof(s));
	ok(!aif_journal_replay(dir, 9, all.hash[8], collect, &s, NULL) &&
	   in_order(&s, 10, 3), "after 9 (the end of journal.6-9): 10 to 12");

	/* A file wholly before the snapshot is not read at all. */
	lines_read(in(dir, "journal.1-5"), &ls);
	lines_delete(&ls, 2);
	lines_write(in(dir, "journal.1-5"), &ls);
	lines_free(&ls);
	memset(&s, 0, sizeof(s));
	ok(!aif_journal_replay(dir, 7, all.hash[6], collect, &s, NULL) &&
	   in_order(&s, 8, 5), "a damaged file before the snapshot is not "
	   "read");
	memset(&s, 0, sizeof(s));
	ok(aif_journal_replay(dir, 0, NULL, collect, &s, &rep) &&
	   rep.problem == AIF_CHAIN_GAP && s.n == 2,
	   "from the start it is found");

	/* The file after the snapshot's is gone. */
	dir = rotated_chain("replay-gone");
	unlink(in(dir, "journal.6-9"));
	memset(&s, 0, sizeof(s));
	ok(aif_journal_replay(dir, 7, all.hash[6], collect, &s, &rep) &&
	   rep.problem == AIF_CHAIN_GAP && s.n == 0,
	   "the snapshot's file missing: refused");
	like(rep.message, "replay starts after seq 7", "saying so");
}

/* ------------------------------------------------------------------ */
/* Snapshot                                                             */

static void test_snapshot(void)
{
	const char *dir = chain("snap", 10);
	const char *body = "grant acme/h100 120000\nrun c1/1001/T0\n";
	char hash[65], got_hash[65], *got = NULL, *text;
	struct aif_verify_report rep;
	struct seen all = { 0 };
	struct stat st;
	uint64_t seq = 0;
	size_t len = 0;

	aif_journal_replay(dir, 0, NULL, collect, &all, NULL);
	memcpy(hash, all.hash[9], 65);
	ok(aif_snapshot_read(dir, &got, &len, &seq, got_hash) &&
	   errno == ENOENT, "no snapshot: ENOENT");
	ok(!aif_snapshot_write(dir, body, strlen(body), 10, hash),
	   "snapshot written");
	ok(!stat(in(dir, "snapshot"), &st) && (st.st_mode & 0777) == 0600,
	   "mode 0600");
	ok(stat(in(dir, "snapshot.tmp"), &st) && errno == ENOENT,
	   "no snapshot.tmp left");
	ok(!aif_snapshot_read(dir, &got, &len, &seq, got_hash) &&
	   len == strlen(body) && !memcmp(got, body, len) && !got[len] &&
	   seq == 10 && !strcmp(got_hash, hash), "read back: body, seq, hash");
	free(got);
	text = slurp(in(dir, "snapshot"), NULL);
	like(text, "aifactory-snapshot 1 seq=10 hash=", "header line");
	free(text);
	aif_journal_verify(dir, &rep);
	is_int(rep.snapshot, 1, "verify finds the snapshot's record");

	/* A crash left snapshot.tmp half written: ignored, then replaced. */
	spit(in(dir, "snapshot.tmp"), "aifactory-snapshot 1 seq=99", 27);
	ok(!aif_snapshot_read(dir, &got, &len, &seq, got_hash) && seq == 10,
	   "a leftover snapshot.tmp is ignored");
	free(got);
	ok(!aif_snapshot_write(dir, "", 0, 10, hash) &&
	   !aif_snapshot_read(dir, &got, &len, &seq, got_hash) && len == 0,
	   "written again over the leftover (an empty body)");
	free(got);
	ok(stat(in(dir, "snapshot.tmp"), &st) && errno == ENOENT,
	   "the leftover is gone");

	/* A crash before the rename: the old snapshot is what is read. */
	spit(in(dir, "snapshot.tmp"), body, strlen(body));
	ok(!aif_snapshot_read(dir, &got, &len, &seq, got_hash) && len == 0,
	   "the old snapshot stays until the rename");
	free(got);

	/* A planted symlink at snapshot.tmp is not written through. */
	unlink(in(dir, "snapshot.tmp"));
	spit(in(dir, "target"), "keep", 4);
	ok(!symlink(in(dir, "target"), in(dir, "snapshot.tmp")),
	   "snapshot.tmp planted as a symlink");
	ok(!aif_snapshot_write(dir, body, strlen(body), 10, hash) &&
	   (text = slurp(in(dir, "target"), NULL)) && !strcmp(text, "keep"),
	   "a symlink at snapshot.tmp is replaced, not followed");
	free(text);

	ok(aif_snapshot_write(dir, body, strlen(body), 10, "abc") &&
	   errno == EINVAL, "a bad hash is refused");
	ok(aif_snapshot_write(dir, body, strlen(body), 10,
	   "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF")
	   && errno == EINVAL, "upper-case hex is refused");
}

static void test_snapshot_corrupt(void)
{
	const char *dir = chain("snap-bad", 10);
	const char *body = "balances: acme 1234567\n";
	char hash[65], got_hash[65], *got = NULL, *text;
	struct aif_verify_report rep;
	struct seen all = { 0 };
	struct lines ls;
	uint64_t seq;
	size_t len, n;

	aif_journal_replay(dir, 0, NULL, collect, &all, NULL);
	memcpy(hash, all.hash[9], 65);
	aif_snapshot_write(dir, body, strlen(body), 10, hash);
	text = slurp(in(dir, "snapshot"), &n);

	text[n - 3] ^= 1;			/* one bit of the body */
	spit(in(dir, "snapshot"), text, n);
	ok(aif_snapshot_read(dir, &got, &len, &seq, got_hash) &&
	   errno == EBADMSG, "a flipped bit in the body is refused");
	aif_journal_verify(dir, &rep);
	ok(rep.problem == AIF_CHAIN_OK && rep.snapshot == -1,
	   "verify: the chain is fine, the snapshot is corrupt");
	text[n - 3] ^= 1;

	text[strlen("aifactory-snapshot 1 seq=")] = '9';	/* seq 90 */
	spit(in(dir, "snapshot"), text, n);
	ok(aif_snapshot_read(dir, &got, &len, &seq, got_hash) &&
	   errno == EBADMSG, "an edited header is refused");
	text[strlen("aifactory-snapshot 1 seq=")] = '1';

	spit(in(dir, "snapshot"), text, n - 1);
	ok(aif_snapshot_read(dir, &got, &len, &seq, got_hash) &&
	   errno == EBADMSG, "a truncated snapshot is refused");
	spit(in(dir, "snapshot"), text, n);
	append_bytes(in(dir, "snapshot"), "x", 1);
	ok(aif_snapshot_read(dir, &got, &len, &seq, got_hash) &&
	   errno == EBADMSG, "a snapshot with bytes added is refused");
	spit(in(dir, "snapshot"), "garbage\n", 8);
	ok(aif_snapshot_read(dir, &got, &len, &seq, got_hash) &&
	   errno == EBADMSG, "garbage is refused");
	free(text);

	/* The snapshot anchors the end: whole records cut from the end of
	 * the journal are found through it. */
	aif_snapshot_write(dir, body, strlen(body), 10, hash);
	lines_read(in(dir, "journal"), &ls);
	lines_delete(&ls, 9);
	lines_delete(&ls, 8);
	lines_write(in(dir, "journal"), &ls);
	lines_free(&ls);
	verify_fails(dir, AIF_CHAIN_SHORT, "journal", 9, 9,
		     "records 9 to 10 are missing from its end",
		     "whole records cut from the end");
	unlink(in(dir, "snapshot"));
	verify_ok(dir, 8, "without a snapshot the same cut is not seen "
		  "(nothing to anchor the end)");

	/* A snapshot that names another chain's hash. */
	dir = chain("snap-other", 10);
	aif_snapshot_write(dir, body, strlen(body), 5, hash);
	verify_fails(dir, AIF_CHAIN_ANCHOR, "journal", 5, 5,
		     "the snapshot is not of this chain",
		     "snapshot of another chain");
}

/* ------------------------------------------------------------------ */
/* Permissions                                                          */

static void test_permissions(void)
{
	struct aif_verify_report rep;
	struct aif_journal *j;
	const char *dir, *link;
	char *got;
	char hash[65];
	uint64_t seq;
	size_t len;

	dir = path_new("groupw");
	mkdir(dir, 0700);
	chmod(dir, 0770);
	ok(aif_journal_open(dir, &j, &rep) && errno == EPERM &&
	   rep.problem == AIF_CHAIN_UNSAFE, "a group-writable dir is refused");
	like(rep.message, "writable by group or others (mode 0770)",
	     "saying so");
	ok(aif_snapshot_write(dir, "x", 1, 0, ZEROS) && errno == EPERM,
	   "snapshot write refuses it too");
	chmod(dir, 0707);
	ok(aif_journal_open(dir, &j, &rep) && errno == EPERM,
	   "an other-writable dir is refused");
	chmod(dir, 0755);
	ok(!aif_journal_open(dir, &j, &rep), "0755 is fine");
	aif_journal_close(j);

	dir = chain("linked", 3);
	link = path_new("link");
	ok(!symlink(dir, link), "a symlink to a journal directory");
	ok(aif_journal_open(link, &j, &rep) && errno == ELOOP &&
	   rep.problem == AIF_CHAIN_UNSAFE, "a symlinked dir is refused");
	like(rep.message, "is a symlink", "saying so");
	ok(aif_journal_open(in(link, ""), &j, &rep) && errno == ELOOP,
	   "with a trailing slash too");
	ok(aif_journal_replay(link, 0, NULL, collect, &(struct seen) { 0 },
	   NULL) && errno == ELOOP, "replay refuses it");
	ok(aif_snapshot_read(link, &got, &len, &seq, hash) && errno == ELOOP,
	   "snapshot read refuses it");

	chmod(in(dir, "journal"), 0620);
	ok(aif_journal_open(dir, &j, &rep) && errno == EPERM &&
	   !strcmp(rep.file, "journal"), "a group-writable journal is refused");
	ok(aif_journal_replay(dir, 0, NULL, collect, &(struct seen) { 0 },
	   NULL) && errno == EPERM, "replay refuses it");
	chmod(in(dir, "journal"), 0600);

	rename(in(dir, "journal"), in(dir, "real"));
	ok(!symlink("real", in(dir, "journal")), "journal made a symlink");
	ok(aif_journal_open(dir, &j, &rep) && errno == ELOOP,
	   "a symlinked journal is refused");
	unlink(in(dir, "journal"));
	rename(in(dir, "real"), in(dir, "journal"));

	aif_snapshot_write(dir, "x", 1, 0, ZEROS);
	chmod(in(dir, "snapshot"), 0660);
	ok(aif_snapshot_read(dir, &got, &len, &seq, hash) && errno == EPERM,
	   "a group-writable snapshot is refused");

	/* Files of another user (SlurmUser, to root): root may read them,
	 * never write there. */
	dir = chain("owner", 3);
	if (geteuid() != 0 || chown(dir, 65534, 65534) ||
	    chown(in(dir, "journal"), 65534, 65534)) {
		for (int i = 0; i < 4; i++)
			ok(1, "another user's files # SKIP needs root");
	} else {
		ok(aif_journal_open(dir, &j, &rep) && errno == EPERM &&
		   rep.problem == AIF_CHAIN_UNSAFE,
		   "open refuses another's directory");
		like(rep.message, "owned by uid 65534", "saying whose");
		ok(!aif_journal_replay(dir, 0, NULL, collect,
		   &(struct seen) { 0 }, NULL), "root replays it");
		ok(!aif_journal_verify(dir, &rep), "and verifies it");
	}

	dir = path_new("notdir");
	spit(dir, "x", 1);
	ok(aif_journal_open(dir, &j, &rep) && errno == ENOTDIR,
	   "a file is not a directory");
}

/* Issue 8, point 9: old rotated files archived away; audit verify of the
 * state directory still passes, and the archive verifies on its own. */
static void test_archive(void)
{
	const char *dir = path_new("archive"), *dest = path_new("archive-to");
	const char *other = path_new("archive-other");
	struct aif_verify_report rep;
	struct aif_journal *j;
	struct seen seen = { 0 };
	char hash[65], line[200];
	struct stat st;
	uint64_t seq;
	size_t moved = 99;

	aif_journal_open(dir, &j, NULL);
	add_charges(j, 1, 5);
	aif_journal_rotate(j);		/* journal.1-5, rotate record 6 */
	add_charges(j, 7, 9);
	aif_journal_rotate(j);		/* journal.6-9, rotate record 10 */
	add_charges(j, 11, 12);
	aif_journal_last(j, &seq, hash);
	aif_journal_rotate(j);		/* journal.10-12, rotate record 13 */
	add_charges(j, 14, 15);
	aif_journal_close(j);
	is_int(aif_journal_archive(dir, dest, &moved, &rep), -1,
	       "archive: refused without a snapshot");
	like(rep.message, "no good snapshot", "archive: saying why");
	ok(!aif_snapshot_write(dir, "x", 1, seq, hash), "archive: a snapshot at seq 12");

	is_int(aif_journal_archive(dir, dest, &moved, &rep), 0, "archive: done");
	is_int((long long) moved, 2, "archive: the two files wholly before the snapshot");
	ok(stat(in(dir, "journal.1-5"), &st) && stat(in(dir, "journal.6-9"), &st) &&
	   !stat(in(dir, "journal.10-12"), &st), "archive: gone from the state directory");
	ok(!stat(in(dest, "journal.1-5"), &st) && !stat(in(dest, "journal.6-9"), &st),
	   "archive: in the archive");
	verify_ok(dir, 6, "archive: the state directory");
	aif_journal_verify(dir, &rep);
	like(rep.message, "seq 1 to 9 are archived (up to journal.6-9)",
	     "archive: verify says what is archived");
	verify_ok(dest, 9, "archive: the archive on its own");

	is_int(aif_journal_replay(dir, seq, hash, collect, &seen, NULL), 0,
	       "archive: replay from the snapshot");
	ok(in_order(&seen, 13, 3), "archive: gives the records after it");
	is_int(aif_journal_replay(dir, 0, NULL, collect, &seen, &rep), -1,
	       "archive: a replay from the start is refused");
	like(rep.message, "were archived (up to journal.6-9), and replay starts after seq 0: restore them", "archive: saying so");
	ok(!aif_journal_open(dir, &j, NULL) && !add_charges(j, 16, 16) &&
	   !aif_journal_close(j), "archive: the journal opens and takes records");
	is_int(aif_journal_archive(dir, dest, &moved, &rep), 0, "archive: again");
	is_int((long long) moved, 0, "archive: nothing more to move");

	/* Another rotation, archived into a directory without the start. */
	aif_journal_open(dir, &j, NULL);
	aif_journal_rotate(j);		/* journal.13-16 */
	add_charges(j, 18, 18);
	aif_journal_last(j, &seq, hash);
	aif_journal_rotate(j);
	aif_journal_close(j);
	aif_snapshot_write(dir, "x", 1, seq, hash);
	is_int(aif_journal_archive(dir, other, &moved, &rep), -1,
	       "archive: into a directory that lacks the start: refused");
	ok(!stat(in(dir, "journal.10-12"), &st), "archive: and nothing removed");
	is_int(aif_journal_archive(dir, dest, &moved, &rep), 0,
	       "archive: into the same archive");
	is_int((long long) moved, 2, "archive: two more files");
	verify_ok(dest, 16, "archive: the archive is still one chain");
	verify_ok(dir, 3, "archive: and the state directory");

	/* The marker is part of the chain: a forged hash shows. */
	snprintf(line, sizeof(line), "aifactory-archived 1 file=journal.13-16 seq=16 hash=%064d\n", 0);
	spit(in(dir, "archived"), line, strlen(line));
	aif_journal_verify(dir, &rep);
	is_int(rep.problem, AIF_CHAIN_PREV, "archive: a forged marker breaks the chain");
}

int main(void)
{
	snprintf(top, sizeof(top), "/tmp/aif-journal-XXXXXX");
	if (!mkdtemp(top)) {
		perror("mkdtemp");
		return 1;
	}
	umask(022);

	test_record_build();
	test_escaping();
	test_cut();
	test_line_format();
	test_fuzz();
	test_verify_chain();
	test_verify_tamper();
	test_torn();
	test_open_refuses();
	test_short_write();
	test_rotation();
	test_rotation_tamper();
	test_rotation_crash();
	test_replay();
	test_replay_rotated();
	test_snapshot();
	test_snapshot_corrupt();
	test_permissions();
	test_archive();

	if (getenv("AIF_TEST_KEEP"))	/* to look at the files */
		printf("# kept %s\n", top);
	else
		nftw(top, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return done();
}
