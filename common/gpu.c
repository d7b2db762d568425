/*
 * slurm-aifactory policy library: the GPU request normaliser.
 *
 * The only place GPU request strings are parsed. It runs on the submit
 * path inside slurmctld, under its locks, on strings the user wrote: no
 * allocation, no I/O, no global state, and every byte is suspect.
 *
 * Decisions where aifactory.h leaves room:
 *  - Item grammar: ["gres:" | "gres/"] "gpu" [":" TOKEN | ":" TYPE ":" COUNT],
 *    plus "=" COUNT and ":" TYPE "=" COUNT after "gres/" only (the TRES
 *    form). "gres" and "gpu" match in any case; types are kept as written
 *    and compared case-sensitively.
 *  - A lone TOKEN made only of digits with an optional k/m/g suffix is a
 *    count, anything else a type with count 1. So a type may not look
 *    like a count ("gpu:2:3" is refused), nor start with '-' ("gpu:-1" is
 *    a bad count, not a type).
 *  - Type: [A-Za-z0-9_.-]+, at most AIF_NAME_MAX-1 bytes.
 *  - A count of 0 ("gpu:0", "gres/gpu:h100=0") means no GPU from that
 *    item, as SLURM reads it: the item adds no type and no GPUs. aifactory.h
 *    calls a zero count an error; we follow SLURM here.
 *  - Items for another resource are skipped, but every item, GPU or not,
 *    must be non-empty printable ASCII without blanks: " gpu:2" must not
 *    slip past as "some other resource".
 *  - One field naming the same type twice (or two untyped counts) is
 *    malformed rather than summed, even when one of them is 0; across
 *    fields the largest total and the largest per_node win, per type.
 *    Untyped and typed are separate.
 *  - Fields are read in the order job, node, task, socket; by_type keeps
 *    the order of first appearance with a non-zero count.
 *  - A per job count with no node count adds to total only: SLURM may
 *    spread it over any number of nodes, so it fixes no per-node count.
 *  - --ntasks-per-gpu with no GPU item asks for ntasks / ntasks_per_gpu
 *    untyped GPUs per job, rounded down, as SLURM derives them.
 *  - nodes, ntasks, sockets_per_node of 0 count as 1. With ntasks 0 and
 *    ntasks_per_node set, ntasks is ntasks_per_node * nodes; with both
 *    set, a node runs at most ntasks of them (SLURM takes
 *    ntasks_per_node as a maximum then), so per_node never exceeds total.
 *  - Every per-type and summed per_node and total is at most UINT32_MAX.
 *  - On error *out is all zero; spec or out NULL is an error.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "aifactory.h"

#define GPU_CAP ((uint64_t)UINT32_MAX)	/* most GPUs any figure reaches */
#define QUOTE_MAX 48			/* item bytes quoted to users */

enum gpu_field { FIELD_JOB, FIELD_NODE, FIELD_TASK, FIELD_SOCKET };

/* The job's shape, zeros already replaced by the least it can get. */
struct gpu_geometry {
	uint64_t nodes;
	bool nodes_known;
	uint64_t ntasks;
	uint64_t tasks_per_node;
	uint64_t sockets;
};

/* One GPU item; type points into the request string, unterminated. */
struct gpu_item {
	const char *type;
	size_t type_len;
	uint64_t count;
};

/* Types one field has named so far, to refuse duplicates. */
struct gpu_seen {
	unsigned n;
	const char *type[AIF_GPU_TYPES_MAX];
	size_t len[AIF_GPU_TYPES_MAX];
};

/* Where we are, for messages. */
struct gpu_where {
	const char *item;
	size_t len;
	char *err;
	size_t errlen;
};

/* Users see this on a terminal: bounded, and no control bytes. */
static const char *_quote(char *buf, size_t size, const char *s, size_t len)
{
	size_t i, n = len > QUOTE_MAX ? QUOTE_MAX : len;

	if (n > size - 4)
		n = size - 4;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		buf[i] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
	}
	if (n < len) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

static int __attribute__((format(printf, 3, 4)))
_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* "<what> in "<item>"<hint>" */
static int _fail_item(const struct gpu_where *w, const char *what,
		      const char *hint)
{
	char q[QUOTE_MAX + 4];

	return _fail(w->err, w->errlen, "%s in \"%s\"%s", what,
		     _quote(q, sizeof(q), w->item, w->len), hint);
}

static char _lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* [p, end) equals word, ignoring ASCII case; word is lowercase. */
static bool _word_is(const char *p, const char *end, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(end - p) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (_lower(p[i]) != word[i])
			return false;
	return true;
}

static bool _has_prefix(const char *p, const char *end, const char *word)
{
	size_t n = strlen(word);

	return (size_t)(end - p) >= n && _word_is(p, p + n, word);
}

/* First of stops in [p, end), or end. */
static const char *_scan(const char *p, const char *end, const char *stops)
{
	while (p < end && !strchr(stops, *p))
		p++;
	return p;
}

static bool _is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static uint64_t _suffix_mult(char c)
{
	switch (_lower(c)) {
	case 'k':
		return 1024ULL;
	case 'm':
		return 1024ULL * 1024;
	case 'g':
		return 1024ULL * 1024 * 1024;
	}
	return 0;
}

/* Digits with at most one k/m/g after them. */
static bool _looks_like_count(const char *p, const char *end)
{
	const char *q = p;

	while (q < end && _is_digit(*q))
		q++;
	if (q == p)
		return false;
	return q == end || (q + 1 == end && _suffix_mult(*q));
}

static int _parse_count(const struct gpu_where *w, const char *p,
			const char *end, uint64_t *count)
{
	uint64_t v = 0, mult = 1;

	if (!_looks_like_count(p, end))
		return _fail_item(w, "bad GPU count", "");
	for (; p < end && _is_digit(*p); p++) {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > GPU_CAP)	/* stops long before uint64 wraps */
			break;
	}
	if (p < end && !_is_digit(*p))
		mult = _suffix_mult(*p);
	if (v > GPU_CAP || v * mult > GPU_CAP)
		return _fail_item(w, "GPU count too large",
				  " (at most 4294967295)");
	*count = v * mult;
	return 0;
}

static int _check_type(const struct gpu_where *w, const char *p,
		       const char *end)
{
	static const char hint[] = " (use letters, digits, '_', '.' or '-')";

	if ((size_t)(end - p) >= AIF_NAME_MAX)
		return _fail_item(w, "GPU type too long",
				  " (at most 63 characters)");
	if (_looks_like_count(p, end))
		return _fail_item(w, "GPU type may not be a number", "");
	if (*p == '-')
		return _fail_item(w, "bad GPU type",
				  " (may not start with '-')");
	for (const char *q = p; q < end; q++) {
		char c = _lower(*q);

		if (!(_is_digit(c) || (c >= 'a' && c <= 'z') || c == '_' ||
		      c == '.' || c == '-'))
			return _fail_item(w, "bad GPU type", hint);
	}
	return 0;
}

/* One token after "gpu:": a count if it looks like one, else a type. */
static int _parse_lone_token(const struct gpu_where *w, const char *p,
			     const char *end, struct gpu_item *it)
{
	if (_looks_like_count(p, end) || *p == '-' || *p == '+')
		return _parse_count(w, p, end, &it->count);
	if (_check_type(w, p, end))
		return -1;
	it->type = p;
	it->type_len = (size_t)(end - p);
	return 0;
}

/* What follows "gpu" in an item: p is at ':', '=' or end. */
static int _parse_tail(const struct gpu_where *w, const char *p,
		       const char *end, bool tres_form, struct gpu_item *it)
{
	const char *tok_end;

	if (p == end)
		return 0;
	if (*p == '=') {
		if (!tres_form)
			return _fail_item(w, "malformed GPU request", "");
		return _parse_count(w, p + 1, end, &it->count);
	}
	p++;
	tok_end = _scan(p, end, ":=");
	if (tok_end == p)
		return _fail_item(w, "malformed GPU request", "");
	if (tok_end == end)
		return _parse_lone_token(w, p, end, it);
	if ((*tok_end == '=' && !tres_form) ||
	    _scan(tok_end + 1, end, ":=") != end)
		return _fail_item(w, "malformed GPU request", "");
	if (_check_type(w, p, tok_end))
		return -1;
	it->type = p;
	it->type_len = (size_t)(tok_end - p);
	return _parse_count(w, tok_end + 1, end, &it->count);
}

/* Returns 1 for a GPU item (filled into it), 0 for another resource. */
static int _parse_item(const struct gpu_where *w, struct gpu_item *it)
{
	const char *p = w->item, *end = w->item + w->len, *name_end;
	bool tres_form = false;

	for (const char *q = p; q < end; q++)
		if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f)
			return _fail_item(w, "bad character", "");
	if (_has_prefix(p, end, "gres:")) {
		p += 5;
	} else if (_has_prefix(p, end, "gres/")) {
		p += 5;
		tres_form = true;
	}
	name_end = _scan(p, end, ":=");
	if (!_word_is(p, name_end, "gpu"))
		return 0;
	it->type = "";
	it->type_len = 0;
	it->count = 1;
	if (_parse_tail(w, name_end, end, tres_form, it))
		return -1;
	return 1;
}

static int _note_type(const struct gpu_where *w, struct gpu_seen *seen,
		      const struct gpu_item *it)
{
	for (unsigned i = 0; i < seen->n; i++) {
		if (seen->len[i] == it->type_len &&
		    !memcmp(seen->type[i], it->type, it->type_len))
			return _fail_item(w, it->type_len ?
					  "GPU type given twice" :
					  "untyped GPU count given twice", "");
	}
	if (seen->n == AIF_GPU_TYPES_MAX)
		return _fail_item(w, "too many GPU types", " (at most 8)");
	seen->type[seen->n] = it->type;
	seen->len[seen->n] = it->type_len;
	seen->n++;
	return 0;
}

/* a * b, refusing anything beyond GPU_CAP. */
static int _mul(uint64_t a, uint64_t b, uint64_t *res)
{
	return (__builtin_mul_overflow(a, b, res) || *res > GPU_CAP) ? -1 : 0;
}

static int _scale(const struct gpu_where *w, enum gpu_field field,
		  const struct gpu_geometry *g, uint64_t n,
		  uint64_t *per_node, uint64_t *total)
{
	int rc = 0;

	switch (field) {
	case FIELD_JOB:
		*total = n;
		*per_node = g->nodes_known ? (n + g->nodes - 1) / g->nodes : 0;
		break;
	case FIELD_NODE:
		*per_node = n;
		rc = _mul(n, g->nodes, total);
		break;
	case FIELD_TASK:
		rc = _mul(n, g->tasks_per_node, per_node) ||
		     _mul(n, g->ntasks, total);
		break;
	case FIELD_SOCKET:
		rc = _mul(n, g->sockets, per_node) ||
		     _mul(*per_node, g->nodes, total);
		break;
	}
	if (rc)
		return _fail_item(w, "too many GPUs",
				  " for this job (at most 4294967295)");
	return 0;
}

static struct aif_gpu_count *_find_type(struct aif_gpus *out,
					const struct gpu_item *it)
{
	for (unsigned i = 0; i < out->ntypes; i++) {
		struct aif_gpu_count *c = &out->by_type[i];

		if (strlen(c->type) == it->type_len &&
		    !memcmp(c->type, it->type, it->type_len))
			return c;
	}
	return NULL;
}

static int _merge(const struct gpu_where *w, struct aif_gpus *out,
		  const struct gpu_item *it, uint64_t per_node,
		  uint64_t total)
{
	struct aif_gpu_count *c = _find_type(out, it);

	if (!c) {
		if (out->ntypes == AIF_GPU_TYPES_MAX)
			return _fail_item(w, "too many GPU types",
					  " (at most 8)");
		c = &out->by_type[out->ntypes++];
		memcpy(c->type, it->type, it->type_len);
		c->type[it->type_len] = '\0';
	}
	if (per_node > c->per_node)
		c->per_node = per_node;
	if (total > c->total)
		c->total = total;

	/* At most 8 terms of at most 2^32 each: the sums cannot wrap. */
	out->per_node = out->total = 0;
	for (unsigned i = 0; i < out->ntypes; i++) {
		out->per_node += out->by_type[i].per_node;
		out->total += out->by_type[i].total;
	}
	if (out->per_node > GPU_CAP || out->total > GPU_CAP)
		return _fail_item(w, "too many GPUs",
				  " for this job (at most 4294967295)");
	return 0;
}

static int _gpu_item(struct gpu_where *w, enum gpu_field field,
		     const struct gpu_geometry *g, struct gpu_seen *seen,
		     struct aif_gpus *out)
{
	struct gpu_item it = { .type = "" };
	uint64_t per_node = 0, total = 0;
	int rc = _parse_item(w, &it);

	if (rc <= 0)
		return rc;
	if (_note_type(w, seen, &it))
		return -1;
	if (!it.count)
		return 0;
	if (_scale(w, field, g, it.count, &per_node, &total))
		return -1;
	return _merge(w, out, &it, per_node, total);
}

static int _parse_field(const char *s, enum gpu_field field,
			const struct gpu_geometry *g, struct aif_gpus *out,
			char *err, size_t errlen)
{
	struct gpu_seen seen = { .n = 0 };
	struct gpu_where w = { .err = err, .errlen = errlen };
	const char *p = s;

	if (!s || !*s)
		return 0;
	for (;;) {
		w.item = p;
		w.len = strcspn(p, ",");
		if (!w.len) {
			w.item = s;
			w.len = strlen(s);
			return _fail_item(&w, "empty item", "");
		}
		if (_gpu_item(&w, field, g, &seen, out))
			return -1;
		if (!p[w.len])
			return 0;
		p += w.len + 1;
	}
}

/* --ntasks-per-gpu with no GPU item: SLURM asks for ntasks / it GPUs. */
static int _derive_from_tasks(const struct aif_gpu_spec *spec,
			      const struct gpu_geometry *g,
			      struct aif_gpus *out, char *err, size_t errlen)
{
	char item[32];

	snprintf(item, sizeof(item), "gpu:%u",
		 spec->ntasks / spec->ntasks_per_gpu);
	if (_parse_field(item, FIELD_JOB, g, out, err, errlen)) {
		memset(out, 0, sizeof(*out));
		return -1;
	}
	return 0;
}

static void _geometry(const struct aif_gpu_spec *spec, struct gpu_geometry *g)
{
	uint64_t ntpn = spec->ntasks_per_node;

	g->nodes = spec->nodes ? spec->nodes : 1;
	g->nodes_known = spec->nodes != 0;
	g->sockets = spec->sockets_per_node ? spec->sockets_per_node : 1;
	if (spec->ntasks)
		g->ntasks = spec->ntasks;
	else
		g->ntasks = ntpn ? ntpn * g->nodes : 1;
	if (!ntpn)
		g->tasks_per_node = (g->ntasks + g->nodes - 1) / g->nodes;
	else
		g->tasks_per_node = ntpn < g->ntasks ? ntpn : g->ntasks;
}

int aif_gpus_normalise(const struct aif_gpu_spec *spec, struct aif_gpus *out,
		       char *err, size_t errlen)
{
	struct gpu_geometry g;

	if (!spec || !out) {
		if (out)
			memset(out, 0, sizeof(*out));
		return _fail(err, errlen, "internal error: no GPU request");
	}
	memset(out, 0, sizeof(*out));
	_geometry(spec, &g);
	if (_parse_field(spec->tres_per_job, FIELD_JOB, &g, out, err, errlen) ||
	    _parse_field(spec->tres_per_node, FIELD_NODE, &g, out, err,
			 errlen) ||
	    _parse_field(spec->tres_per_task, FIELD_TASK, &g, out, err,
			 errlen) ||
	    _parse_field(spec->tres_per_socket, FIELD_SOCKET, &g, out, err,
			 errlen)) {
		memset(out, 0, sizeof(*out));
		return -1;
	}
	if (!out->ntypes && spec->ntasks_per_gpu && spec->ntasks)
		return _derive_from_tasks(spec, &g, out, err, errlen);
	return 0;
}

/* aifactory.h: SLURM's "gpu:a100:2(IDX:0,3)" per node, for the audit. */
size_t aif_gpu_index_append(const char *detail, char *buf, size_t size,
			    size_t used)
{
	bool first = true;

	if (!buf || used >= size)
		return used;
	for (const char *item = detail; item && *item;) {
		const char *end = item, *idx, *close;
		size_t name, n;
		int depth = 0;

		for (; *end && (depth || *end != ','); end++)
			depth += *end == '(' ? 1 : *end == ')' ? -1 : 0;
		name = strcspn(item, ":(,");
		idx = strstr(item, "(IDX:");
		if (name == 3 && !strncmp(item, "gpu", 3) && idx && idx < end &&
		    (close = memchr(idx, ')', (size_t) (end - idx)))) {
			idx += 5;
			n = (size_t) (close - idx);
			if (n && strspn(idx, "0123456789,-") >= n &&
			    used + n + 2 < size) {
				used += (size_t) snprintf(buf + used,
							  size - used, "%s%.*s",
							  first ? "" : ",",
							  (int) n, idx);
				first = false;
			}
		}
		item = *end ? end + 1 : NULL;
	}
	return used;
}

