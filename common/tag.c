/*
 * slurm-aifactory: the admission tag, the one place it is written and
 * read (tag.h; its fields in docs/ledger.md).
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tag.h"

/* The longest tag there is: the project's fields, 32 parts and 8 rates,
 * every name AIF_NAME_MAX - 1 bytes, every number 20. */
#define TAG_NAME (AIF_NAME_MAX - 1)
#define TAG_WORST (sizeof(AIF_TAG_MARK ",project=,mode=,sector=") + 4 * TAG_NAME + \
		   sizeof(",lien=") + AIF_LEDGER_PARTS_MAX * (TAG_NAME + 22) + \
		   sizeof(",rate=") + AIF_GPU_TYPES_MAX * (TAG_NAME + 22) + \
		   AIF_TAG_SITE_MAX)
_Static_assert(TAG_WORST < AIF_TAG_MAX, "AIF_TAG_MAX holds every lien");

/* Append to the tag in buf: false (and buf cut) when it does not fit. */
static bool __attribute__((format(printf, 3, 4)))
_append(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;
	int n;

	if (used >= len)
		return false;
	va_start(ap, fmt);
	n = vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
	return n >= 0 && (size_t) n < len - used;
}

int aif_lien_tag(const struct aif_lien *lien, char *tag, size_t len)
{
	char buf[AIF_TAG_MAX];
	bool fits;

	if (strlen(tag) >= sizeof(buf)) {
		errno = E2BIG;
		return -1;
	}
	strcpy(buf, tag);
	if (!lien) {
		fits = _append(buf, sizeof(buf), ",lien=none");
		goto done;
	}
	fits = _append(buf, sizeof(buf), ",lien=");
	for (size_t i = 0; fits && i < lien->nparts; i++)
		fits = _append(buf, sizeof(buf), "%s%s:%lld", i ? "+" : "",
			       lien->parts[i].grant,
			       (long long) lien->parts[i].amount);
	fits = fits && _append(buf, sizeof(buf), ",rate=");
	for (size_t i = 0; fits && i < lien->nuses; i++)
		fits = _append(buf, sizeof(buf), "%s%s:%lld", i ? "+" : "",
			       lien->uses[i].type,
			       (long long) lien->uses[i].weight_milli);
done:
	if (!fits || strlen(buf) >= len) {
		errno = E2BIG;
		return -1;
	}
	strcpy(tag, buf);
	return 0;
}

int aif_tag_format(const struct aif_project *proj, char *buf, size_t len)
{
	char tag[AIF_TAG_MAX];
	int n = snprintf(tag, sizeof(tag), AIF_TAG_MARK "%s,project=%s,mode=%s%s%s",
			 proj->klass->name, proj->name, proj->mode,
			 proj->sector[0] ? ",sector=" : "", proj->sector);

	if (n < 0 || (size_t) n >= sizeof(tag) || (size_t) n >= len) {
		errno = E2BIG;
		return -1;
	}
	memcpy(buf, tag, (size_t) n + 1);
	return 0;
}

/* Copy the value of key= from a tag's field list, up to ',' or ';'. */
static void _tag_field(const char *tag, const char *key,
		       char out[AIF_NAME_MAX])
{
	size_t klen = strlen(key);
	const char *s = tag;

	out[0] = '\0';
	while (*s && *s != ';' && *s != ' ') {
		size_t len = strcspn(s, ",; ");

		if (len > klen && !strncmp(s, key, klen) && s[klen] == '=') {
			size_t vlen = len - klen - 1;

			if (vlen >= AIF_NAME_MAX)
				vlen = AIF_NAME_MAX - 1;
			memcpy(out, s + klen + 1, vlen);
			out[vlen] = '\0';
			return;
		}
		s += len;
		if (*s == ',')
			s++;
	}
}

/* Our tag: the last AIF_TAG_MARK in a comment (an operator's note may
 * come before it, separated by ';'). */
const char *aif_tag_find(const char *comment)
{
	const char *tag = NULL, *s = comment;

	while (s && (s = strstr(s, AIF_TAG_MARK)))
		tag = s++;
	return tag;
}

size_t aif_tag_note_len(const char *comment)
{
	const char *tag = aif_tag_find(comment);
	size_t n;

	if (!tag)
		return comment ? strlen(comment) : 0;
	n = (size_t) (tag - comment);
	return n && comment[n - 1] == ';' ? n - 1 : n;
}

int aif_tag_parse(const char *comment, char klass[AIF_NAME_MAX],
		  char project[AIF_NAME_MAX])
{
	const char *tag = aif_tag_find(comment);

	klass[0] = project[0] = '\0';
	if (!tag)
		return -1;
	tag += sizeof(AIF_TAG_PREFIX) - 1;
	_tag_field(tag, "class", klass);
	_tag_field(tag, "project", project);
	return klass[0] && project[0] ? 0 : -1;
}

/* "name:NUMBER+name:NUMBER" after key= in a tag, into names and numbers. */
static size_t _pairs(const char *tag, const char *key,
		     char names[][AIF_NAME_MAX], int64_t *numbers, size_t max)
{
	char pattern[16];
	const char *s;
	size_t n = 0;

	snprintf(pattern, sizeof(pattern), ",%s=", key);
	if (!(s = strstr(tag, pattern)))
		return 0;
	s += strlen(pattern);
	while (*s && *s != ',' && *s != ';' && n < max) {
		size_t nlen = strcspn(s, ":,;+");
		char *end;

		if (s[nlen] != ':' || nlen >= AIF_NAME_MAX)
			break;
		memcpy(names[n], s, nlen);
		names[n][nlen] = '\0';
		if (s[nlen + 1] < '0' || s[nlen + 1] > '9')
			return SIZE_MAX;	/* not a tag we wrote */
		errno = 0;
		numbers[n] = strtoll(s + nlen + 1, &end, 10);
		if (errno)
			return SIZE_MAX;
		n++;
		s = end;
		if (*s == '+')
			s++;
	}
	return n;
}

/* The lien of tag (found, or NULL), its class into klass: as
 * aif_lien_from_tag(). out->project is the tag's project whenever the
 * tag names a class and a project, even when its lien cannot be read. */
static int _lien(const char *tag, char klass[AIF_NAME_MAX],
		 struct aif_lien *out)
{
	char names[AIF_LEDGER_PARTS_MAX][AIF_NAME_MAX];
	int64_t numbers[AIF_LEDGER_PARTS_MAX];
	size_t n;

	memset(out, 0, sizeof(*out));
	klass[0] = '\0';
	if (!tag || aif_tag_parse(tag, klass, out->project))
		return -1;
	n = _pairs(tag, "lien", names, numbers, AIF_LEDGER_PARTS_MAX);
	if (n == SIZE_MAX)
		return -1;
	for (size_t i = 0; i < n; i++) {
		memcpy(out->parts[i].grant, names[i], AIF_NAME_MAX);
		out->parts[i].amount = numbers[i];
		if (aif_amount_add(out->total, numbers[i], &out->total))
			return -1;
	}
	out->nparts = n;
	n = _pairs(tag, "rate", names, numbers, AIF_GPU_TYPES_MAX);
	if (n == SIZE_MAX)
		return -1;
	for (size_t i = 0; i < n; i++) {
		memcpy(out->uses[i].type, names[i], AIF_NAME_MAX);
		out->uses[i].weight_milli = numbers[i];
	}
	out->nuses = n;
	return out->nparts ? 0 : 1;
}

int aif_lien_from_tag(const char *comment, struct aif_lien *out)
{
	char klass[AIF_NAME_MAX];

	return _lien(aif_tag_find(comment), klass, out);
}

int aif_tag_read(const char *comment, struct aif_job_tag *out)
{
	out->has_lien = _lien(aif_tag_find(comment), out->klass, &out->lien);
	return out->klass[0] && out->lien.project[0] ? 0 : -1;
}

/* The tag's fields are separated by ','; an administrator may have
 * written anything into AdminComment, so a tag may hold several "site="
 * fields: the last one counts, and writing one removes them all. */
static bool _is_site(const char *field)
{
	return !strncmp(field, "site=", 5);
}

int aif_tag_site(const char *comment, int64_t *points)
{
	const char *tag = aif_tag_find(comment), *s, *last = NULL;
	char *end;
	long long v;

	if (!tag)
		return -1;
	for (s = strchr(tag, ','); s; s = strchr(s + 1, ','))
		if (_is_site(s + 1))
			last = s + 1;
	if (!last || !strchr("-0123456789", last[5]) || !last[5])
		return -1;
	errno = 0;
	v = strtoll(last + 5, &end, 10);
	if (errno || end == last + 5 || (*end && *end != ','))
		return -1;
	*points = v;
	return 0;
}

int aif_tag_set_site(const char *comment, int64_t points, char *buf,
		     size_t len)
{
	const char *tag = aif_tag_find(comment), *s;
	size_t at;
	int n;

	if (!tag) {
		errno = ENOENT;
		return -1;
	}
	if (strlen(comment) + AIF_TAG_SITE_MAX > len) {
		errno = E2BIG;
		return -1;
	}
	/* The note and the tag's first field, then every field but a site. */
	s = tag + strcspn(tag, ",");
	at = (size_t) (s - comment);
	memmove(buf, comment, at);
	while (*s == ',') {
		size_t flen = strcspn(s + 1, ",");

		if (!_is_site(s + 1)) {
			memmove(buf + at, s, flen + 1);
			at += flen + 1;
		}
		s += flen + 1;
	}
	n = snprintf(buf + at, len - at, ",site=%lld", (long long) points);
	if (n < 0 || (size_t) n >= len - at) {
		errno = E2BIG;
		return -1;
	}
	return 0;
}

bool aif_tag_fallback(const char *comment)
{
	const char *tag = aif_tag_find(comment), *at;

	if (!tag || !(at = strstr(tag, ",lien=none")))
		return false;
	return at[10] == '\0' || at[10] == ',';
}

int aif_record_add_tag(struct aif_record *rec, const char *tag)
{
	size_t len = strlen(tag), at = 0;
	unsigned field = 1;
	int rc = 0;

	do {
		char key[16], chunk[AIF_TAG_CHUNK + 1];
		size_t n = len - at < AIF_TAG_CHUNK ? len - at : AIF_TAG_CHUNK;

		memcpy(chunk, tag + at, n);
		chunk[n] = '\0';
		if (field == 1)
			snprintf(key, sizeof(key), "tag");
		else
			snprintf(key, sizeof(key), "tag%u", field);
		rc |= aif_record_add_str(rec, key, chunk);
		at += n;
		field++;
	} while (at < len);
	return rc ? -1 : 0;
}
