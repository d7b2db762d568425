/*
 * slurm-aifactory: the book: what the journal holds, counted (each
 * grant's charges, each project's overdraw and burn, the runs charged),
 * fed by a replay of the journal or by a charge once its record is in
 * it, applied to the ledger, and saved and loaded as a snapshot's body
 * (docs/ledger.md says what it is authoritative for).
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book.h"
#include "settle_internal.h"

struct aif_book {
	struct aif_strmap map;		/* "project\0grant" -> charged,
					 * "project\0" -> overdraw */
	struct aif_strmap burn;		/* "project\0<day>" -> charged for the
					 * runs that ended that UTC day */
	struct aif_run_keys *keys;
};

struct aif_book *aif_book_new(struct aif_run_keys *keys)
{
	struct aif_book *book = calloc(1, sizeof(*book));

	if (book)
		book->keys = keys;
	return book;
}

void aif_book_free(struct aif_book *book)
{
	if (!book)
		return;
	aif_strmap_free(&book->map);
	aif_strmap_free(&book->burn);
	free(book);
}

static int _add_to(struct aif_strmap *m, const char *project, const char *what,
		   int64_t amount)
{
	char key[2 * AIF_NAME_MAX + 2];
	size_t len = aif_strmap_pair(project, what, key, sizeof(key));
	struct aif_strmap_slot *s = len ? aif_strmap_insert(m, key, len) : NULL;

	if (!s)
		return -1;
	if (__builtin_add_overflow(s->value, amount, &s->value)) {
		errno = ERANGE;	/* no journal gets there: a forged body */
		return -1;
	}
	return 0;
}

static int _add(struct aif_book *book, const char *project, const char *grant,
		int64_t amount)
{
	return _add_to(&book->map, project, grant, amount);
}

static long long _day(time_t t)
{
	return (long long) (t / 86400);
}

/* A charge's amount into its project's day, if that day still counts. */
static int _add_burn(struct aif_book *book, const char *project,
		     long long day, int64_t amount)
{
	char text[24];

	if (day <= _day(time(NULL)) - AIF_BURN_DAYS || amount <= 0)
		return 0;
	snprintf(text, sizeof(text), "%lld", day);
	return _add_to(&book->burn, project, text, amount);
}

aif_amount_t aif_book_burn(const struct aif_book *book, const char *project,
			   time_t now)
{
	long long today = _day(now);
	aif_amount_t sum = 0;

	/* One lookup a day: a statement of every project stays linear. */
	for (long long day = today - AIF_BURN_DAYS + 1; day <= today; day++) {
		char text[24], key[AIF_NAME_MAX + 24];
		const struct aif_strmap_slot *s;
		size_t len;

		snprintf(text, sizeof(text), "%lld", day);
		len = aif_strmap_pair(project, text, key, sizeof(key));
		if (len && (s = aif_strmap_lookup(&book->burn, key, len)) &&
		    aif_amount_add(sum, s->value, &sum))
			sum = AIF_AMOUNT_MAX;
	}
	return sum;
}

struct replay_arg {
	struct aif_book *book;
	const char *project;
};

static int _replay_part(void *arg, const char *grant, int64_t amount)
{
	struct replay_arg *ra = arg;

	return _add(ra->book, ra->project, grant, amount);
}

/*
 * A charge's parts into the book, and what no part says paid it into
 * *overdraw: the record's overdraw, and for a record written without all
 * its parts (before issue 8's fix, a charge drawn from more than 12
 * grants was journalled with none) what they lack, so that a restart never
 * counts a charge as less than it was. aif_settle_check() names such a
 * record.
 */
static int _replay_parts(struct aif_book *book,
			 const struct aif_record *r, const char *project,
			 int64_t *overdraw)
{
	struct replay_arg ra = { book, project };
	int64_t amount = 0, sum;
	size_t n;

	*overdraw = 0;
	aif_record_int(r, "overdraw", overdraw);
	switch (aif_charge_parts(r, _replay_part, &ra, &sum, &n)) {
	case -2:
		return -1;
	case -1:
		return 0;	/* not ours: verify names it */
	}
	if (!aif_record_int(r, "amount", &amount) && amount > sum &&
	    amount - sum > *overdraw)
		*overdraw = amount - sum;
	return 0;
}

/* A charge's run, overdraw and day of burn into the book (its parts
 * are the caller's): the one place a replayed record and a fresh charge
 * meet. amount < 0: not known. */
static int _count(struct aif_book *book, const char *project,
		  const char *run, time_t end, int64_t overdraw,
		  int64_t amount)
{
	if (book->keys && aif_run_keys_add(book->keys, run, end))
		return -1;
	if (overdraw && _add(book, project, "", overdraw))
		return -1;
	if (amount >= 0 && _add_burn(book, project, _day(end), amount))
		return -1;
	return 0;
}

int aif_book_replay(const struct aif_record *r, void *arg)
{
	struct aif_book *book = arg;
	const char *project, *run;
	int64_t overdraw = 0, end = 0, amount = -1;

	if (r->type != AIF_RECORD_CHARGE)
		return 0;
	project = aif_record_str(r, "project");
	run = aif_record_str(r, "run");
	if (!project || !run)
		return 0;	/* not one of ours: verify judges records */
	aif_record_int(r, "end", &end);
	if (aif_record_int(r, "amount", &amount))
		amount = -1;
	if (_replay_parts(book, r, project, &overdraw))
		return -1;
	return _count(book, project, run, (time_t) end, overdraw, amount);
}

int aif_book_charge(struct aif_book *book, const char *run, time_t end,
		    const struct aif_charge *c)
{
	for (size_t i = 0; i < c->nparts; i++)
		if (_add(book, c->project, c->parts[i].grant,
			 c->parts[i].amount))
			return -1;
	return _count(book, c->project, run, end, c->overdraw, c->total);
}

int aif_book_apply(struct aif_book *book, struct aif_ledger *ledger,
		   char *why, size_t len)
{
	int rc = 0;

	why[0] = '\0';
	for (size_t i = 0; i < book->map.cap; i++) {
		const char *project = book->map.slots[i].key, *grant;
		int64_t value = book->map.slots[i].value;
		int err;

		if (!project)
			continue;
		grant = project + strlen(project) + 1;
		err = grant[0] ?
			aif_ledger_set_charged(ledger, project, grant, value) :
			aif_ledger_set_overdraw(ledger, project, value);
		if (err) {
			/* A grant gone from the policy: its charges stay in
			 * the journal; say so once, go on with the rest. */
			snprintf(why, len, "journal charges to %s%s%s not in the ledger: %s",
				 project, grant[0] ? "/" : "", grant,
				 strerror(errno));
			rc = -1;
		}
	}
	return rc;
}

/* ------------------------------------------------------------------ */
/* The book as a snapshot body                                           */

#define BOOK_MAGIC "aifactory-ledger 1\n"

/* Names and run keys are written between spaces: none may hold one. */
static bool _word(const char *s)
{
	return s[0] && !s[strcspn(s, " \t\r\n")];
}

int aif_book_save(struct aif_book *book, time_t forget_before, char **body,
		  size_t *len)
{
	FILE *f;
	int rc = 0;

	*body = NULL;
	*len = 0;
	if (book->keys && aif_run_keys_forget(book->keys, forget_before))
		return -1;
	if (!(f = open_memstream(body, len)))
		return -1;
	fputs(BOOK_MAGIC, f);
	for (size_t i = 0; i < book->map.cap && !rc; i++) {
		const char *project = book->map.slots[i].key, *grant;
		long long value = (long long) book->map.slots[i].value;

		if (!project)
			continue;
		grant = project + strlen(project) + 1;
		if (!_word(project) || (grant[0] && !_word(grant)))
			rc = -1;
		else if (grant[0])
			fprintf(f, "charged %s %s %lld\n", project, grant, value);
		else
			fprintf(f, "overdraw %s %lld\n", project, value);
	}
	for (size_t i = 0; i < book->burn.cap && !rc; i++) {
		const char *project = book->burn.slots[i].key;
		long long day;

		if (!project)
			continue;
		day = strtoll(project + strlen(project) + 1, NULL, 10);
		if (day <= _day(time(NULL)) - AIF_BURN_DAYS)
			continue;	/* gone from every burn rate */
		if (!_word(project))
			rc = -1;
		else
			fprintf(f, "burn %s %lld %lld\n", project, day,
				(long long) book->burn.slots[i].value);
	}
	for (size_t i = 0; book->keys && i < book->keys->map.cap && !rc; i++) {
		const struct aif_strmap_slot *s = &book->keys->map.slots[i];

		if (!s->key)
			continue;
		if (!_word(s->key))
			rc = -1;
		else
			fprintf(f, "run %s %lld\n", s->key, (long long) s->value);
	}
	if (fclose(f) || rc) {
		free(*body);
		*body = NULL;
		*len = 0;
		errno = rc ? EINVAL : errno;
		return -1;
	}
	return 0;
}

/* The next space-separated word of a line: NUL-terminated in place. */
static char *_next_word(char **cursor)
{
	char *w = *cursor, *end;

	if (!*w)
		return NULL;
	end = w + strcspn(w, " ");
	*cursor = *end ? end + 1 : end;
	*end = '\0';
	return w[0] ? w : NULL;
}

static bool _integer(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (!s)
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end)
		return false;
	*out = v;
	return true;
}

/* One line of a body (NUL-terminated, no newline). */
static int _load_line(struct aif_book *book, char *line)
{
	char *cursor = line, *kind = _next_word(&cursor);
	char *a = _next_word(&cursor), *b = _next_word(&cursor);
	char *c = _next_word(&cursor);
	int64_t value, day;

	if (!kind || !a || _next_word(&cursor))
		return -1;
	if (!strcmp(kind, "charged") && c && _integer(c, &value))
		return _add(book, a, b, value);
	if (!strcmp(kind, "overdraw") && !c && _integer(b, &value))
		return _add(book, a, "", value);
	if (!strcmp(kind, "run") && !c && _integer(b, &value))
		return book->keys ?
			aif_run_keys_add(book->keys, a, (time_t) value) : 0;
	if (!strcmp(kind, "burn") && c && _integer(b, &day) &&
	    _integer(c, &value))
		return _add_burn(book, a, (long long) day, value);
	return -1;
}

int aif_book_load(struct aif_book *book, const char *body, size_t len,
		  char *why, size_t wlen)
{
	size_t magic = strlen(BOOK_MAGIC), lineno = 1;
	char line[2 * AIF_NAME_MAX + AIF_RUN_KEY_MAX + 64];

	why[0] = '\0';
	if (len < magic || memcmp(body, BOOK_MAGIC, magic)) {
		snprintf(why, wlen, "the snapshot does not start with \"%.*s\"",
			 (int) magic - 1, BOOK_MAGIC);
		errno = EBADMSG;
		return -1;
	}
	for (size_t at = magic; at < len; ) {
		const char *nl = memchr(body + at, '\n', len - at);
		size_t n = nl ? (size_t) (nl - (body + at)) : len - at;

		lineno++;
		if (!nl || n >= sizeof(line) || memchr(body + at, '\0', n)) {
			snprintf(why, wlen, "snapshot line %zu: %s", lineno,
				 nl ? "too long" : "no newline at the end");
			errno = EBADMSG;
			return -1;
		}
		memcpy(line, body + at, n);
		line[n] = '\0';
		errno = 0;
		if (_load_line(book, line)) {
			snprintf(why, wlen, "snapshot line %zu: %s", lineno,
				 errno == ENOMEM ? "out of memory" :
				 "not a charged, overdraw, burn or run line");
			errno = errno == ENOMEM ? ENOMEM : EBADMSG;
			return -1;
		}
		at += n + 1;
	}
	return 0;
}
