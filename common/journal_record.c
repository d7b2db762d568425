/*
 * The journal's record codec: a record's fields and their bounds, a line
 * written from a record and read back into one (one spelling only), and
 * the hash that chains each line to the one before (journal.h). The
 * decisions journal.h leaves open: docs/ledger.md, "The journal's code".
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "date.h"
#include "journal.h"
#include "journal_internal.h"
#include "sha256.h"
#include "text.h"

/* The line around its fields, at its longest. */
#define LINE_FIXED (AIF_LIT("{\"seq\":") + 20 + AIF_LIT(",\"time\":\"") + 20 + \
		    AIF_LIT("\",\"type\":\"") + AIF_LIT("adjustment") + \
		    AIF_LIT("\"") + AIF_LIT(",\"prev\":\"") + 64 + \
		    AIF_LIT("\",\"hash\":\"") + 64 + AIF_LIT("\"}\n"))
#define FIELDS_ROOM (AIF_RECORD_MAX - LINE_FIXED)
#define FIELD_FRAME(klen) (AIF_LIT(",\"") + (klen) + AIF_LIT("\":"))

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

bool aif_is_hex64(const char *s)
{
	size_t i;

	if (!s)
		return false;
	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[64] == '\0';
}

/* ------------------------------------------------------------------ */
/* UTF-8 and escapes                                                  */

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

/* A byte written as it is: printable ASCII but '"' and '\\' (what
 * _escaped_len gives 1 for below 0x80). The fast path of the codec. */
static inline bool _plain(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

/* v in decimal into out (at least 21 bytes, no NUL): its length. The
 * codec's own, as snprintf costs more than the rest of a field. */
static size_t _decimal(int64_t v, char *out)
{
	char tmp[20];
	uint64_t u = v < 0 ? (uint64_t) 0 - (uint64_t) v : (uint64_t) v;
	size_t n = 0, len = 0;

	do {
		tmp[n++] = (char) ('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		out[len++] = '-';
	while (n)
		out[len++] = tmp[--n];
	return len;
}

/* ------------------------------------------------------------------ */
/* Records                                                            */

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
	for (size_t i = 0; i < r->nfields; i++) {
		const char *k = r->text + r->field[i].key;

		if (k[0] == key[0] && !strcmp(k, key))
			return (int) i;
	}
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
	nlen = _decimal(v, num);
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
	const size_t mark = AIF_LIT(AIF_RECORD_CUT);
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
		int32_t cp;

		if (_plain(*p) && esc + 1 <= limit) {
			r->text[out++] = (char) *p++;
			if (++esc + mark <= limit) {
				cut_out = out;
				cut_esc = esc;
			}
			continue;
		}
		cp = aif_utf8_get(p, SIZE_MAX, &n);

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
/* Writing a line                                                     */

/* The line up to ,"prev" into buf (AIF_RECORD_MAX); its length, or 0 if
 * r's time or type cannot be written. */
size_t aif_record_write_prefix(const struct aif_record *r, char *buf)
{
	const size_t cap = AIF_RECORD_MAX;
	char when[AIF_DATE_MAX];
	size_t n;

	if ((unsigned) r->type >= NTYPES || aif_date_iso(r->time, when))
		return 0;
	n = (size_t) snprintf(buf, cap, "{\"seq\":%" PRIu64 ",\"time\":\"%s\""
			      ",\"type\":\"%s\"", r->seq, when,
			      type_names[r->type]);
	/* Bounded by the record: the fields were counted as they came. */
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
			n += _decimal(f->num, buf + n);
			continue;
		}
		buf[n++] = '"';
		for (const unsigned char *p = (const unsigned char *)
		     r->text + f->str; *p;) {
			size_t len;
			int32_t cp;

			if (_plain(*p)) {
				buf[n++] = (char) *p++;
				continue;
			}
			cp = aif_utf8_get(p, SIZE_MAX, &len);

			n += _escape(cp < 0 ? 0xfffd : (uint32_t) cp, buf + n);
			p += len;
		}
		buf[n++] = '"';
	}
	return n;
}

void aif_chain_hash(const char *prev, const char *bytes, size_t len,
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
/* Reading a line                                                     */

bool aif_cursor_lit(struct aif_cursor *c, const char *s)
{
	size_t n = strlen(s);

	if ((size_t) (c->end - c->p) < n || memcmp(c->p, s, n))
		return false;
	c->p += n;
	return true;
}

bool aif_cursor_digits(struct aif_cursor *c, uint64_t *v)
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

static bool _integer(struct aif_cursor *c, int64_t *v)
{
	bool neg = aif_cursor_lit(c, "-");
	uint64_t u;

	if (!aif_cursor_digits(c, &u))
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

bool aif_cursor_hex64(struct aif_cursor *c, char out[AIF_SHA256_HEX_LEN])
{
	if (c->end - c->p < 64)
		return false;
	memcpy(out, c->p, 64);
	out[64] = '\0';
	c->p += 64;
	return aif_is_hex64(out);
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
static bool _string(struct aif_cursor *c, char *out, size_t cap)
{
	size_t n = 0;

	if (!aif_cursor_lit(c, "\""))
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
static bool _time(struct aif_cursor *c, time_t *t)
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
size_t aif_record_parse(const char *line, size_t len, struct aif_record *r,
			char *tmp, const char **why)
{
	struct aif_cursor c = { line, line + len };
	char name[16], key[AIF_RECORD_KEY_MAX + 8];
	uint64_t seq;
	size_t head;

	aif_record_init(r, AIF_RECORD_GRANT);
	if (!aif_cursor_lit(&c, "{\"seq\":") ||
	    !aif_cursor_digits(&c, &seq) || !seq) {
		*why = "no seq at the start";
		return 0;
	}
	r->seq = seq;
	if (!aif_cursor_lit(&c, ",\"time\":\"") || !_time(&c, &r->time) ||
	    !aif_cursor_lit(&c, "\"")) {
		*why = "no time, or not YYYY-MM-DDTHH:MM:SSZ";
		return 0;
	}
	if (!aif_cursor_lit(&c, ",\"type\":") ||
	    !_string(&c, name, sizeof(name)) || !_type_of(name, &r->type)) {
		*why = "no type, or an unknown one";
		return 0;
	}
	while (!(c.end - c.p >= 8 && !memcmp(c.p, ",\"prev\":", 8))) {
		int64_t v;

		if (!aif_cursor_lit(&c, ",") ||
		    !_string(&c, key, sizeof(key)) ||
		    !aif_cursor_lit(&c, ":")) {
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
	if (!aif_cursor_lit(&c, ",\"prev\":\"") ||
	    !aif_cursor_hex64(&c, r->prev) ||
	    !aif_cursor_lit(&c, "\",\"hash\":\"") ||
	    !aif_cursor_hex64(&c, r->hash) ||
	    !aif_cursor_lit(&c, "\"}") || c.p != c.end) {
		*why = "no prev and hash of 64 hex digits at the end";
		return 0;
	}
	/* One spelling only: the bytes must be those we would write. */
	if (aif_record_write_prefix(r, tmp) != head ||
	    memcmp(tmp, line, head)) {
		*why = "not written as the journal writes records (spelling, "
			"order or bounds)";
		return 0;
	}
	return head;
}

/* The seq a line starts with, or 0. */
uint64_t aif_record_peek_seq(const char *line, size_t len)
{
	struct aif_cursor c = { line, line + len };
	uint64_t v;

	return aif_cursor_lit(&c, "{\"seq\":") && aif_cursor_digits(&c, &v) ?
		v : 0;
}
