/*
 * slurm-aifactory policy library: typed values. An integer, a number, a
 * weight, a boolean, a string, a name, a time, a date or a list of names,
 * each read from a json-c value with the error an operator can act on
 * ("expected an integer, got the string \"8\"", the range allowed).
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "date.h"
#include "policy_load.h"
#include "text.h"

#define ACCOUNT_RULE "1-63 characters, no blanks, colons or control characters"
#define LIMIT_MAX ((int64_t) AIF_UNLIMITED - 1)	/* the largest limit */

bool aif_ld_is_name(const char *s)
{
	size_t n;

	for (n = 0; s[n]; n++) {
		char c = s[n];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		      c == '-'))
			return false;
	}
	return n >= 1 && n < AIF_NAME_MAX;
}

/* Users and groups come from NSS, which allows more than our names. */
static bool _is_account(const char *s)
{
	size_t n;

	for (n = 0; s[n]; n++) {
		unsigned char c = (unsigned char) s[n];

		if (c <= 0x20 || c == 0x7f || c == ':')
			return false;
	}
	return n >= 1 && n < AIF_NAME_MAX;
}

/* How a value looks, for "expected X, got Y". */
static const char *_describe(const struct src *s, const char *path,
			     json_object *v, char *buf, size_t len)
{
	char text[QUOTE_MAX + 8], q[QUOTE_MAX + 8];

	switch (json_object_get_type(v)) {
	case json_type_null:
		return "null";
	case json_type_boolean:
		return json_object_get_boolean(v) ? "true" : "false";
	case json_type_object:
		return "an object";
	case json_type_array:
		return "an array";
	case json_type_string:
		aif_ld_quote(json_object_get_string(v), q, sizeof(q));
		snprintf(buf, len, "the string \"%s\"", q);
		return buf;
	case json_type_int:
	case json_type_double:
		if (!aif_ld_text_of(s, path, text, sizeof(text)))
			snprintf(text, sizeof(text), "%g",
				 json_object_get_double(v));
		snprintf(buf, len, "the %s %s",
			 json_object_is_type(v, json_type_int) ?
			 "integer" : "number", text);
		return buf;
	}
	return "a value";
}

bool aif_ld_expect(struct loader *ld, const struct src *s, const char *path,
		    json_object *v, enum json_type type, const char *what)
{
	char buf[QUOTE_MAX * 2];

	if (json_object_is_type(v, type))
		return true;
	aif_ld_err(ld, s, path, "expected %s, got %s", what,
		   _describe(s, path, v, buf, sizeof(buf)));
	return false;
}

/*
 * An integer, written as one: json-c saturates on overflow, so the text
 * is read again with strtoll() and ERANGE noticed.
 */
bool aif_ld_int_value(struct loader *ld, const struct src *s,
		       const char *path, json_object *v, int64_t *out,
		       bool *overflow)
{
	char text[64];

	if (!aif_ld_expect(ld, s, path, v, json_type_int, "an integer"))
		return false;
	*overflow = false;
	*out = json_object_get_int64(v);
	if (aif_ld_text_of(s, path, text, sizeof(text))) {
		long long ll;

		errno = 0;
		ll = strtoll(text, NULL, 10);
		*overflow = errno == ERANGE;
		*out = ll;
	}
	return true;
}

bool aif_ld_get_int(struct loader *ld, const struct src *s, const char *path,
		     json_object *v, int64_t min, int64_t max, int64_t *out)
{
	char text[64];
	bool overflow;

	if (!aif_ld_int_value(ld, s, path, v, out, &overflow))
		return false;
	if (overflow || *out < min || *out > max) {
		if (!aif_ld_text_of(s, path, text, sizeof(text)))
			snprintf(text, sizeof(text), "%" PRId64, *out);
		aif_ld_err(ld, s, path, "must be an integer from %" PRId64
			   " to %" PRId64 ", got %s", min, max, text);
		return false;
	}
	return true;
}

/* A class limit: AIF_UNLIMITED itself stays the "no limit" marker. */
void aif_ld_get_limit(struct loader *ld, const struct src *s,
		       const char *path, json_object *v, int64_t min,
		       uint32_t *out)
{
	int64_t n;

	if (aif_ld_get_int(ld, s, path, v, min, LIMIT_MAX, &n))
		*out = (uint32_t) n;
}

/* The number as written, for messages. */
const char *aif_ld_num_text(const struct src *s, const char *path,
			     double d, char *buf, size_t len)
{
	if (!aif_ld_text_of(s, path, buf, len))
		snprintf(buf, len, "%g", d);
	return buf;
}

bool aif_ld_get_number(struct loader *ld, const struct src *s,
			const char *path, json_object *v, double *out)
{
	char buf[QUOTE_MAX * 2];

	if (!json_object_is_type(v, json_type_int) &&
	    !json_object_is_type(v, json_type_double)) {
		aif_ld_err(ld, s, path, "expected a number, got %s",
			   _describe(s, path, v, buf, sizeof(buf)));
		return false;
	}
	*out = json_object_get_double(v);
	if (!isfinite(*out)) {
		aif_ld_err(ld, s, path, "must be a finite number, got %s",
			   aif_ld_num_text(s, path, *out, buf, sizeof(buf)));
		return false;
	}
	return true;
}

/* A number >= 0 (weights). */
bool aif_ld_get_weight(struct loader *ld, const struct src *s,
			const char *path, json_object *v, double *out)
{
	char text[64];

	if (!aif_ld_get_number(ld, s, path, v, out))
		return false;
	if (*out < 0) {
		aif_ld_err(ld, s, path, "must be >= 0, got %s",
			   aif_ld_num_text(s, path, *out, text, sizeof(text)));
		return false;
	}
	return true;
}

bool aif_ld_get_bool(struct loader *ld, const struct src *s,
		      const char *path, json_object *v, bool *out)
{
	if (!aif_ld_expect(ld, s, path, v, json_type_boolean, "true or false"))
		return false;
	*out = json_object_get_boolean(v);
	return true;
}

const char *aif_ld_get_string(struct loader *ld, const struct src *s,
			       const char *path, json_object *v)
{
	if (!aif_ld_expect(ld, s, path, v, json_type_string, "a string"))
		return NULL;
	return json_object_get_string(v);
}

/* A name (class, partition, QOS, GPU type, mode, sector) into out. */
bool aif_ld_get_name(struct loader *ld, const struct src *s,
		      const char *path, json_object *v,
		      char out[AIF_NAME_MAX])
{
	const char *str = aif_ld_get_string(ld, s, path, v);
	char q[QUOTE_MAX + 8];

	if (!str)
		return false;
	if (!aif_ld_is_name(str)) {
		aif_ld_quote(str, q, sizeof(q));
		aif_ld_err(ld, s, path, "must be a name (" NAME_RULE
			   "), got \"%s\"", q);
		return false;
	}
	aif_copy(out, AIF_NAME_MAX, str);
	return true;
}

/* A time: an sbatch -t string or whole minutes. */
bool aif_ld_get_time(struct loader *ld, const struct src *s,
		      const char *path, json_object *v, uint32_t *out)
{
	char q[QUOTE_MAX + 8], text[64];
	const char *str;
	int64_t n;
	bool overflow;

	if (json_object_is_type(v, json_type_int)) {
		if (!aif_ld_int_value(ld, s, path, v, &n, &overflow))
			return false;
		if (overflow || n < 1 || n > AIF_MINUTES_MAX) {
			if (!aif_ld_text_of(s, path, text, sizeof(text)))
				snprintf(text, sizeof(text), "%" PRId64, n);
			aif_ld_err(ld, s, path, "must be from 1 to %d minutes, "
				   "got %s", AIF_MINUTES_MAX, text);
			return false;
		}
		*out = (uint32_t) n;
		return true;
	}
	if (!json_object_is_type(v, json_type_string)) {
		aif_ld_err(ld, s, path, "expected a time (a string such as "
			   "\"2-00:00:00\" or whole minutes), got %s",
			   _describe(s, path, v, q, sizeof(q)));
		return false;
	}
	str = json_object_get_string(v);
	aif_ld_quote(str, q, sizeof(q));
	if (aif_parse_minutes(str, out)) {
		aif_ld_err(ld, s, path, "must be a time (\"MM\", \"HH:MM:SS\", "
			   "\"D-HH:MM:SS\", \"UNLIMITED\" or whole minutes), "
			   "got \"%s\"", q);
		return false;
	}
	if (*out == 0) {
		aif_ld_err(ld, s, path, "must be at least one minute, got "
			   "\"%s\"", q);
		return false;
	}
	return true;
}

bool aif_ld_get_date(struct loader *ld, const struct src *s,
		      const char *path, json_object *v, bool end_of_day,
		      time_t *out)
{
	const char *str = aif_ld_get_string(ld, s, path, v);
	char q[QUOTE_MAX + 8];

	if (!str)
		return false;
	if (aif_date_parse(str, strlen(str), AIF_DATE_DAY | AIF_DATE_SECOND |
			   (end_of_day ? AIF_DATE_END_OF_DAY : 0), out)) {
		aif_ld_quote(str, q, sizeof(q));
		aif_ld_err(ld, s, path, "must be a date (\"YYYY-MM-DD\" or "
			   "\"YYYY-MM-DDTHH:MM:SSZ\", UTC), got \"%s\"", q);
		return false;
	}
	return true;
}

int aif_ld_cmp_list_item(const void *a, const void *b)
{
	const struct list_item *x = a, *y = b;
	int c = strcmp(x->s, y->s);

	if (c)
		return c;
	return x->i < y->i ? -1 : x->i > y->i;
}

/*
 * An array of names into the arena. A bad element is reported and kept
 * as "" so that later checks can still walk the list. Duplicates are
 * errors (a list with one name twice is a typo for another name).
 */
bool aif_ld_get_list(struct loader *ld, const struct src *s,
		      const char *path, json_object *v, enum list_kind kind,
		      bool nonempty, char ***out, size_t *nout)
{
	struct list_item *sorted;
	char ip[AIF_PATH_MAX], q[QUOTE_MAX + 8];
	size_t n, i, bad = 0;
	char **list;

	if (!aif_ld_expect(ld, s, path, v, json_type_array, "an array"))
		return false;
	n = json_object_array_length(v);
	if (!n && nonempty) {
		aif_ld_err(ld, s, path, "must not be empty");
		return false;
	}
	if (!(list = aif_ld_arena(ld, n ? n : 1, sizeof(*list))))
		return false;
	if (!(sorted = aif_ld_calloc(ld, n, sizeof(*sorted))))
		return false;
	for (i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(v, i);
		const char *str;

		aif_ld_path_index(ip, path, i);
		list[i] = "";
		if (!(str = aif_ld_get_string(ld, s, ip, e))) {
			bad++;
			continue;
		}
		aif_ld_quote(str, q, sizeof(q));
		if (kind == LIST_NAME && !aif_ld_is_name(str)) {
			aif_ld_err(ld, s, ip, "must be a name (" NAME_RULE "), "
				   "got \"%s\"", q);
			bad++;
			continue;
		}
		if (kind != LIST_NAME && !_is_account(str)) {
			aif_ld_err(ld, s, ip, "must be a %s name (" ACCOUNT_RULE
				   "), got \"%s\"",
				   kind == LIST_USER ? "user" : "group", q);
			bad++;
			continue;
		}
		if (!(list[i] = aif_ld_arena_strdup(ld, str))) {
			free(sorted);
			return false;
		}
	}
	for (i = 0; i < n; i++)
		sorted[i] = (struct list_item) { list[i], i };
	aif_ld_sort(sorted, n, sizeof(*sorted), aif_ld_cmp_list_item);
	for (i = 1; i < n; i++) {
		if (!sorted[i].s[0] || strcmp(sorted[i - 1].s, sorted[i].s))
			continue;
		aif_ld_path_index(ip, path, sorted[i].i);
		aif_ld_quote(sorted[i].s, q, sizeof(q));
		aif_ld_err(ld, s, ip, "duplicate \"%s\" (also [%zu])", q,
			   sorted[i - 1].i);
		bad++;
	}
	free(sorted);
	*out = list;
	*nout = n;
	return !bad && !ld->oom;
}
