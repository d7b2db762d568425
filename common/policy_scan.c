/*
 * slurm-aifactory policy library: where each value of a policy file is
 * written. json-c keeps no source positions, so a scanner of our own
 * walks the raw text first: it counts values and containers before
 * json-c builds anything (the limits), refuses what json-c would let
 * through, finds duplicate keys, and indexes every value by the hash of
 * its key path, so that an error finds its line.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* qsort_r */
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_load.h"
#include "text.h"

#define SCAN_DEPTH_MAX 64		/* json-c stops at 32 anyway */

/* The scanner's offsets and counts are 32 bits wide. */
_Static_assert(AIF_POLICY_FILE_MAX < UINT32_MAX &&
	       AIF_PROJECT_FILE_MAX < UINT32_MAX &&
	       AIF_POLICY_VALUES_MAX < UINT32_MAX, "limits beyond 32 bits");

/*
 * parent "." key, or key alone at the root, bounded. The scanner and the
 * checks build paths with these two only, so they always agree.
 */
void aif_ld_path_key(char *buf, const char *parent, const char *key)
{
	size_t o = 0;

	for (; *parent && o < AIF_PATH_MAX - 1; parent++)
		buf[o++] = *parent;
	if (o && o < AIF_PATH_MAX - 1)
		buf[o++] = '.';
	for (; *key && o < AIF_PATH_MAX - 1; key++)
		buf[o++] = aif_ld_safe_char(*key);
	buf[o] = '\0';
}

void aif_ld_path_index(char *buf, const char *parent, size_t i)
{
	char idx[32];
	const char *q;
	size_t o = 0;

	snprintf(idx, sizeof(idx), "[%zu]", i);
	for (; *parent && o < AIF_PATH_MAX - 1; parent++)
		buf[o++] = *parent;
	for (q = idx; *q && o < AIF_PATH_MAX - 1; q++)
		buf[o++] = *q;
	buf[o] = '\0';
}

/* FNV-1a, 64 bits: the path index's key. A collision only costs a
 * second look (_find compares the rebuilt path). */
static uint64_t _path_hash(const char *path)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *path; path++) {
		h ^= (unsigned char) *path;
		h *= 0x100000001b3ULL;
	}
	return h;
}

static bool _key_at(const struct src *s, size_t off, char *out);

/* The dotted path of s->keys[k], as the scanner built it. */
static void _path_of(const struct src *s, uint32_t k, char *buf)
{
	uint32_t chain[SCAN_DEPTH_MAX + 2];
	char parent[AIF_PATH_MAX], key[AIF_PATH_MAX];
	size_t n = 0;

	for (; k != NO_PARENT && n < sizeof(chain) / sizeof(*chain);
	     k = s->keys[k].parent)
		chain[n++] = k;
	aif_copy(buf, AIF_PATH_MAX, s->prefix);
	/* chain[n - 1] is the root; walk down from it. */
	while (n-- > 1) {
		const struct keypos *up = &s->keys[chain[n]];
		const struct keypos *kp = &s->keys[chain[n - 1]];

		aif_copy(parent, sizeof(parent), buf);
		if (s->text[up->val_off] == '{') {
			_key_at(s, kp->at, key);
			aif_ld_path_key(buf, parent, key);
		} else {
			aif_ld_path_index(buf, parent, kp->at);
		}
	}
}

/*
 * The keypos of path: among equal paths, the last one written, which is
 * the one json-c kept. by_path is sorted by (hash, index), so that is the
 * first match walking back from the end of the hash's run.
 */
static const struct keypos *_find(const struct src *s, const char *path)
{
	uint64_t h = _path_hash(path);
	size_t lo = 0, hi = s->nkeys;
	char buf[AIF_PATH_MAX];

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->keys[s->by_path[mid]].hash <= h)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo && s->keys[s->by_path[lo - 1]].hash == h; lo--) {
		_path_of(s, s->by_path[lo - 1], buf);
		if (!strcmp(buf, path))
			return &s->keys[s->by_path[lo - 1]];
	}
	return NULL;
}

/* The line of path, or of its nearest ancestor the scanner saw; 0 once
 * the file has been released. */
int aif_ld_line_of(const struct src *s, const char *path)
{
	char buf[AIF_PATH_MAX];

	if (!s->nkeys)
		return 0;
	aif_copy(buf, sizeof(buf), path);
	for (;;) {
		const struct keypos *k = _find(s, buf);
		char *dot, *bracket;

		if (k)
			return k->line;
		if (!buf[0])
			return 0;
		dot = strrchr(buf, '.');
		bracket = strrchr(buf, '[');
		if (bracket && (!dot || bracket > dot))
			*bracket = '\0';
		else if (dot)
			*dot = '\0';
		else
			buf[0] = '\0';
	}
}

/*
 * The text of the number at path as written, if the scanner saw exactly
 * this path (only numbers are looked up: json-c rounds them).
 */
bool aif_ld_text_of(const struct src *s, const char *path, char *buf,
		  size_t len)
{
	const struct keypos *k = _find(s, path);
	size_t n = 0;

	if (!k)
		return false;
	for (; k->val_off + n < s->len && n < len - 1; n++) {
		char c = s->text[k->val_off + n];

		if (!((c >= '0' && c <= '9') || c == '-' || c == '+' ||
		      c == '.' || c == 'e' || c == 'E'))
			break;
	}
	memcpy(buf, s->text + k->val_off, n);
	buf[n] = '\0';
	return n > 0;
}

static void _line_col(const struct src *s, size_t off, int *line, int *col)
{
	size_t i, start = 0;
	int l = 1;

	if (off > s->len)
		off = s->len;
	for (i = 0; i < off; i++)
		if (s->text[i] == '\n') {
			l++;
			start = i + 1;
		}
	*line = l;
	*col = (int) (off - start) + 1;
}

static void _syntax(struct loader *ld, const struct src *s, size_t off,
		    const char *what)
{
	int line, col;

	_line_col(s, off, &line, &col);
	aif_ld_err_line(ld, s, line, "", "JSON syntax error at column %d: %s",
			col, what);
}

/*
 * The scanner makes two passes over a file: the first counts values and
 * objects and checks the syntax, allocating nothing (keys NULL); the
 * second, once json-c has taken the file, records every value in keys,
 * sized by the first.
 */
enum scan_limit { SCAN_OK, SCAN_VALUES, SCAN_CONTAINERS };

struct scanner {
	const struct src *s;
	const char *t;
	size_t len, pos;
	int line;
	struct keypos *keys;	/* NULL: count only */
	size_t n;		/* values so far */
	size_t max;		/* values allowed */
	size_t containers;	/* objects and arrays so far */
	int root_line;
	const char *fail;	/* the first syntax error, at fail_pos */
	size_t fail_pos;
	enum scan_limit limit;	/* or the limit it ran into, at fail_line */
	int fail_line;
};

static bool _scan_fail(struct scanner *sc, const char *what)
{
	if (!sc->fail && !sc->limit) {
		sc->fail = what;
		sc->fail_pos = sc->pos;
	}
	return false;
}

static bool _scan_limit(struct scanner *sc, enum scan_limit limit)
{
	sc->limit = limit;
	sc->fail_line = sc->line;
	return false;
}

static void _scan_ws(struct scanner *sc)
{
	while (sc->pos < sc->len) {
		char c = sc->t[sc->pos];

		if (c == '\n')
			sc->line++;
		else if (c != ' ' && c != '\t' && c != '\r')
			break;
		sc->pos++;
	}
}

static int _hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool _scan_u4(struct scanner *sc, unsigned *cp)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		int h;

		if (sc->pos >= sc->len || (h = _hex(sc->t[sc->pos])) < 0)
			return _scan_fail(sc, "bad \\u escape in a string");
		v = v << 4 | (unsigned) h;
		sc->pos++;
	}
	*cp = v;
	return true;
}

/*
 * A string at sc->pos (on its opening quote). With out, decode it there
 * as json-c does (bounded by AIF_PATH_MAX; a NUL ends it, as it ends a
 * json-c key).
 */
static bool _scan_string(struct scanner *sc, char *out)
{
	size_t o = 0;
	bool ended = false;

	sc->pos++;
	for (;;) {
		char dec[4];
		size_t n = 0;
		unsigned char c;

		if (sc->pos >= sc->len)
			return _scan_fail(sc, "unterminated string");
		c = (unsigned char) sc->t[sc->pos];
		if (c == '"') {
			sc->pos++;
			break;
		}
		if (c < 0x20)
			return _scan_fail(sc, "control character in a string "
					  "(write it as an escape)");
		if (c != '\\') {
			dec[n++] = (char) c;
			sc->pos++;
		} else {
			unsigned cp, lo;

			if (++sc->pos >= sc->len)
				return _scan_fail(sc, "unterminated string");
			c = (unsigned char) sc->t[sc->pos++];
			switch (c) {
			case '"': case '\\': case '/':
				dec[n++] = (char) c;
				break;
			case 'b': dec[n++] = '\b'; break;
			case 'f': dec[n++] = '\f'; break;
			case 'n': dec[n++] = '\n'; break;
			case 'r': dec[n++] = '\r'; break;
			case 't': dec[n++] = '\t'; break;
			case 'u':
				if (!_scan_u4(sc, &cp))
					return false;
				if (cp >= 0xd800 && cp < 0xdc00 &&
				    sc->pos + 1 < sc->len &&
				    sc->t[sc->pos] == '\\' &&
				    sc->t[sc->pos + 1] == 'u') {
					size_t save = sc->pos;

					sc->pos += 2;
					if (!_scan_u4(sc, &lo))
						return false;
					if (lo >= 0xdc00 && lo < 0xe000)
						cp = 0x10000 +
						     ((cp - 0xd800) << 10) +
						     (lo - 0xdc00);
					else
						sc->pos = save;
				}
				if (cp >= 0xd800 && cp < 0xe000)
					cp = 0xfffd;	/* a lone surrogate */
				n = aif_utf8_put(cp, dec);
				break;
			default:
				sc->pos--;
				return _scan_fail(sc, "bad escape in a string");
			}
		}
		if (!out || ended)
			continue;
		for (size_t i = 0; i < n; i++) {
			if (!dec[i] || o >= AIF_PATH_MAX - 1) {
				ended = true;
				break;
			}
			out[o++] = dec[i];
		}
	}
	if (out)
		out[o] = '\0';
	return true;
}

static bool _scan_digits(struct scanner *sc)
{
	size_t start = sc->pos;

	while (sc->pos < sc->len && sc->t[sc->pos] >= '0' &&
	       sc->t[sc->pos] <= '9')
		sc->pos++;
	return sc->pos > start;
}

/* RFC 8259: -? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)? */
static bool _scan_number(struct scanner *sc)
{
	if (sc->t[sc->pos] == '-')
		sc->pos++;
	if (sc->pos < sc->len && sc->t[sc->pos] == '0')
		sc->pos++;
	else if (!_scan_digits(sc))
		return _scan_fail(sc, "invalid number");
	if (sc->pos < sc->len && sc->t[sc->pos] == '.') {
		sc->pos++;
		if (!_scan_digits(sc))
			return _scan_fail(sc, "invalid number");
	}
	if (sc->pos < sc->len &&
	    (sc->t[sc->pos] == 'e' || sc->t[sc->pos] == 'E')) {
		sc->pos++;
		if (sc->pos < sc->len &&
		    (sc->t[sc->pos] == '+' || sc->t[sc->pos] == '-'))
			sc->pos++;
		if (!_scan_digits(sc))
			return _scan_fail(sc, "invalid number");
	}
	return true;
}

static bool _scan_value(struct scanner *sc, uint32_t k, const char *path,
			int depth);

/*
 * The value at sc->pos, of a member (at: the offset of its key), an
 * element (at: its index) or the root, whose key or element is on line.
 */
static bool _scan_item(struct scanner *sc, uint32_t parent, size_t at,
		       const char *path, int line, int depth)
{
	size_t k = sc->n;

	if (sc->n >= sc->max)
		return _scan_limit(sc, SCAN_VALUES);
	sc->n++;
	if (sc->keys)
		sc->keys[k] = (struct keypos) {
			.hash = _path_hash(path),
			.parent = parent,
			.at = (uint32_t) at,
			.val_off = (uint32_t) sc->pos,
			.line = line,
		};
	return _scan_value(sc, (uint32_t) k, path, depth);
}

/* An object or an array begins at sc->pos: count it, and step in. */
static bool _scan_container(struct scanner *sc)
{
	if (++sc->containers > AIF_FILE_CONTAINERS_MAX)
		return _scan_limit(sc, SCAN_CONTAINERS);
	sc->pos++;
	_scan_ws(sc);
	return true;
}

static bool _scan_object(struct scanner *sc, uint32_t k, const char *path,
			 int depth)
{
	if (!_scan_container(sc))
		return false;
	if (sc->pos < sc->len && sc->t[sc->pos] == '}') {
		sc->pos++;
		return true;
	}
	for (;;) {
		char key[AIF_PATH_MAX], kp[AIF_PATH_MAX];
		size_t off;
		int line;

		kp[0] = '\0';
		_scan_ws(sc);
		if (sc->pos >= sc->len)
			return _scan_fail(sc, "unexpected end of data");
		if (sc->t[sc->pos] == '\'')
			return _scan_fail(sc, "strings must be in double "
					  "quotes");
		if (sc->t[sc->pos] != '"')
			return _scan_fail(sc, "expected a key in double "
					  "quotes");
		off = sc->pos;
		line = sc->line;
		if (!_scan_string(sc, sc->keys ? key : NULL))
			return false;
		_scan_ws(sc);
		if (sc->pos >= sc->len || sc->t[sc->pos] != ':')
			return _scan_fail(sc, "expected ':' after a key");
		sc->pos++;
		_scan_ws(sc);
		if (sc->keys)
			aif_ld_path_key(kp, path, key);
		if (!_scan_item(sc, k, off, kp, line, depth + 1))
			return false;
		_scan_ws(sc);
		if (sc->pos < sc->len && sc->t[sc->pos] == ',') {
			sc->pos++;
			continue;
		}
		if (sc->pos < sc->len && sc->t[sc->pos] == '}') {
			sc->pos++;
			return true;
		}
		return _scan_fail(sc, "expected ',' or '}'");
	}
}

static bool _scan_array(struct scanner *sc, uint32_t k, const char *path,
			int depth)
{
	size_t i;

	if (!_scan_container(sc))
		return false;
	if (sc->pos < sc->len && sc->t[sc->pos] == ']') {
		sc->pos++;
		return true;
	}
	for (i = 0;; i++) {
		char ip[AIF_PATH_MAX];

		ip[0] = '\0';
		_scan_ws(sc);
		if (sc->keys)
			aif_ld_path_index(ip, path, i);
		if (!_scan_item(sc, k, i, ip, sc->line, depth + 1))
			return false;
		_scan_ws(sc);
		if (sc->pos < sc->len && sc->t[sc->pos] == ',') {
			sc->pos++;
			continue;
		}
		if (sc->pos < sc->len && sc->t[sc->pos] == ']') {
			sc->pos++;
			return true;
		}
		return _scan_fail(sc, "expected ',' or ']'");
	}
}

static bool _scan_literal(struct scanner *sc, const char *word)
{
	size_t n = strlen(word);

	if (sc->len - sc->pos < n || memcmp(sc->t + sc->pos, word, n))
		return _scan_fail(sc, "unexpected character");
	sc->pos += n;
	return true;
}

static bool _scan_value(struct scanner *sc, uint32_t k, const char *path,
			int depth)
{
	char c;

	if (depth > SCAN_DEPTH_MAX)
		return _scan_fail(sc, "nested too deeply");
	if (sc->pos >= sc->len)
		return _scan_fail(sc, "unexpected end of data");
	c = sc->t[sc->pos];
	switch (c) {
	case '{':
		return _scan_object(sc, k, path, depth);
	case '[':
		return _scan_array(sc, k, path, depth);
	case '"':
		return _scan_string(sc, NULL);
	case 't':
		return _scan_literal(sc, "true");
	case 'f':
		return _scan_literal(sc, "false");
	case 'n':
		return _scan_literal(sc, "null");
	case '\'':
		return _scan_fail(sc, "strings must be in double quotes");
	case 'N': case 'I':
		return _scan_fail(sc, "NaN and Infinity are not JSON");
	default:
		if (c == '-' || (c >= '0' && c <= '9'))
			return _scan_number(sc);
		return _scan_fail(sc, "unexpected character");
	}
}

/* One pass over the whole text. */
static bool _scan(struct scanner *sc)
{
	_scan_ws(sc);
	sc->root_line = sc->line;
	if (!_scan_item(sc, NO_PARENT, 0, sc->s->prefix, sc->line, 0))
		return false;
	_scan_ws(sc);
	if (sc->pos < sc->len)
		return _scan_fail(sc, "unexpected data after the JSON value");
	return true;
}

/* The decoded key whose opening quote is at off (bounded, as a path). */
static bool _key_at(const struct src *s, size_t off, char *out)
{
	struct scanner sc = { .s = s, .t = s->text, .len = s->len, .pos = off };

	out[0] = '\0';
	return _scan_string(&sc, out);
}

static int _cmp_by_path(const void *a, const void *b, void *arg)
{
	const struct keypos *keys = arg;
	uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;

	if (keys[x].hash != keys[y].hash)
		return keys[x].hash < keys[y].hash ? -1 : 1;
	return x < y ? -1 : x > y;
}

/* The index of s, with n values (counted already); duplicate keys. */
static bool _index(struct loader *ld, struct src *s, size_t n)
{
	struct scanner sc = {
		.s = s, .t = s->text, .len = s->len, .line = 1, .max = n,
	};
	size_t i;

	if (!(s->keys = aif_ld_calloc(ld, n, sizeof(*s->keys))) ||
	    !(s->by_path = aif_ld_calloc(ld, n, sizeof(*s->by_path))))
		return false;
	sc.keys = s->keys;
	if (!_scan(&sc) || sc.n != n) {
		/* The first pass took this text: cannot happen. */
		_syntax(ld, s, sc.fail ? sc.fail_pos : 0, "scanner mismatch");
		return false;
	}
	s->nkeys = n;
	for (i = 0; i < n; i++)
		s->by_path[i] = (uint32_t) i;
	if (n > 1)
		qsort_r(s->by_path, n, sizeof(*s->by_path), _cmp_by_path,
			s->keys);

	/* Duplicate keys: members of one object with one key, adjacent in
	 * by_path unless another value with that hash falls between them
	 * (a collision, or the same path reached another way, as "a.b" in
	 * {"a.b": 1, "a": {"b": 2}, "a.b": 3}: json-c keeps both a.b). */
	for (i = 1; i < n; i++) {
		const struct keypos *a = &s->keys[s->by_path[i - 1]];
		const struct keypos *b = &s->keys[s->by_path[i]];
		char ka[AIF_PATH_MAX], kb[AIF_PATH_MAX], path[AIF_PATH_MAX];

		if (a->hash != b->hash || a->parent != b->parent ||
		    b->parent == NO_PARENT ||
		    s->text[s->keys[b->parent].val_off] != '{')
			continue;
		_key_at(s, a->at, ka);
		_key_at(s, b->at, kb);
		if (strcmp(ka, kb) || aif_ld_full(&ld->errs))
			continue;
		_path_of(s, s->by_path[i], path);
		aif_ld_err_line(ld, s, b->line, path,
				"duplicate key (first at line %d)", a->line);
	}
	return true;
}

/*
 * The scanner stopped at a syntax error. json-c's words for it are the
 * ones operators know: ask json-c about the text up to the error and no
 * further (so it builds no more than the scanner counted). If json-c
 * takes that much (it is lenient about single quotes, NaN and control
 * characters), the scanner's words.
 */
static void _syntax_error(struct loader *ld, const struct src *s,
			  const struct scanner *sc)
{
	/* The whole text comes with its NUL, which ends a number. */
	size_t end = sc->fail_pos < s->len ? sc->fail_pos + 1 : s->len + 1;
	struct json_tokener *tok = json_tokener_new();
	enum json_tokener_error jerr;
	json_object *root;

	if (!tok) {
		ld->oom = true;
		return;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
				    JSON_TOKENER_VALIDATE_UTF8);
	root = json_tokener_parse_ex(tok, s->text, (int) end);
	jerr = json_tokener_get_error(tok);
	if (jerr == json_tokener_continue && end > s->len)
		_syntax(ld, s, json_tokener_get_parse_end(tok),
			"unexpected end of data");
	else if (jerr != json_tokener_success &&
		 jerr != json_tokener_continue)
		_syntax(ld, s, json_tokener_get_parse_end(tok),
			json_tokener_error_desc(jerr));
	else
		_syntax(ld, s, sc->fail_pos, sc->fail);
	json_object_put(root);
	json_tokener_free(tok);
}

/*
 * Parse s->text into s->root and index it: count (refusing a file over a
 * limit before json-c sees it), parse, check the root is an object,
 * index. Returns false, with no tree, when there is nothing to check.
 */
bool aif_ld_parse(struct loader *ld, struct src *s, bool project)
{
	const char *nul = memchr(s->text, '\0', s->len);
	struct scanner sc = {
		.s = s, .t = s->text, .len = s->len, .line = 1,
		.max = AIF_POLICY_VALUES_MAX - ld->values,
	};
	struct json_tokener *tok;
	enum json_tokener_error jerr;

	/* json-c would take a NUL for the end of the text. */
	if (nul) {
		_syntax(ld, s, (size_t) (nul - s->text),
			"NUL byte in the file");
		return false;
	}
	if (!_scan(&sc)) {
		if (sc.limit == SCAN_VALUES) {
			ld->spent = true;
			aif_ld_err_line(ld, s, sc.fail_line, "", "more than %d "
					"JSON values (the limit for a policy "
					"and its project files together)",
					AIF_POLICY_VALUES_MAX);
		} else if (sc.limit == SCAN_CONTAINERS) {
			aif_ld_err_line(ld, s, sc.fail_line, "", "more than %d "
					"objects and arrays (the limit for one "
					"file)", AIF_FILE_CONTAINERS_MAX);
		} else {
			_syntax_error(ld, s, &sc);
		}
		return false;
	}
	ld->values += sc.n;

	if (!(tok = json_tokener_new())) {
		ld->oom = true;
		return false;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
				    JSON_TOKENER_VALIDATE_UTF8);
	/* The length includes the NUL, which ends a number at the end. */
	s->root = json_tokener_parse_ex(tok, s->text, (int) s->len + 1);
	jerr = json_tokener_get_error(tok);
	if (jerr != json_tokener_success) {
		_syntax(ld, s, json_tokener_get_parse_end(tok),
			jerr == json_tokener_continue ?
			"unexpected end of data" :
			json_tokener_error_desc(jerr));
		json_tokener_free(tok);
		json_object_put(s->root);
		s->root = NULL;
		return false;
	}
	json_tokener_free(tok);
	if (!json_object_is_type(s->root, json_type_object)) {
		aif_ld_err_line(ld, s, sc.root_line, s->prefix, "%s", project ?
				"a project file must hold one JSON object" :
				"the policy must be a JSON object");
		json_object_put(s->root);
		s->root = NULL;
		return false;
	}
	if (!_index(ld, s, sc.n) || ld->oom) {
		json_object_put(s->root);
		s->root = NULL;
		return false;
	}
	return true;
}
