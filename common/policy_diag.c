/*
 * slurm-aifactory policy library: the loader's diagnostics. Every error
 * and warning is kept (up to AIF_LOAD_ERRORS_MAX) with its file, line and
 * key path, made safe to print, and handed over sorted as the load's
 * report.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_load.h"
#include "text.h"

/* A byte of the file, safe to echo in a message or a path. */
char aif_ld_safe_char(char c)
{
	unsigned char u = (unsigned char) c;

	return (u < 0x20 || u == 0x7f) ? '?' : c;
}

/* s made safe in place (see aif_ld_safe_char()). */
static void _make_safe(char *s)
{
	for (; *s; s++)
		*s = aif_ld_safe_char(*s);
}

/* A value from the file, safe and short enough to echo in a message. */
void aif_ld_quote(const char *s, char *buf, size_t len)
{
	size_t i, o = 0;

	for (i = 0; s[i] && o + 5 < len && i < QUOTE_MAX; i++)
		buf[o++] = aif_ld_safe_char(s[i]);
	if (s[i] && o + 4 < len)
		memcpy(buf + o, "...", 3), o += 3;
	buf[o] = '\0';
}

/* No room left: count it, and skip looking up its line. */
bool aif_ld_full(struct diags *d)
{
	if (d->n < AIF_LOAD_ERRORS_MAX)
		return false;
	d->dropped++;
	return true;
}

static void __attribute__((format(printf, 6, 0)))
_vdiag(struct loader *ld, struct diags *d, const struct src *s, int line,
       const char *path, const char *fmt, va_list ap)
{
	struct diag *x;

	if (aif_ld_full(d))
		return;
	if (d->n + 1 >= d->cap) {
		struct diag *v = aif_ld_more(ld, d->v, &d->cap, sizeof(*v));

		if (!v)
			return;
		d->v = v;
	}
	x = &d->v[d->n++];
	memset(x, 0, sizeof(*x));
	x->order = s->order;
	x->seq = ld->seq++;
	aif_copy(x->e.file, sizeof(x->e.file), s->file ? s->file : "");
	x->e.line = line;
	aif_copy(x->e.path, sizeof(x->e.path), path);
	vsnprintf(x->e.reason, sizeof(x->e.reason), fmt, ap);
	/* Whatever a caller passed raw (a file name from project_dir, a
	 * key), nothing reaches a log or a terminal as a control byte. */
	_make_safe(x->e.file);
	_make_safe(x->e.path);
	_make_safe(x->e.reason);
}

/* An error at path, on the line where path is written. */
void
aif_ld_err(struct loader *ld, const struct src *s, const char *path,
	   const char *fmt, ...)
{
	va_list ap;

	if (aif_ld_full(&ld->errs))
		return;
	va_start(ap, fmt);
	_vdiag(ld, &ld->errs, s, aif_ld_line_of(s, path), path, fmt, ap);
	va_end(ap);
}

void
aif_ld_err_line(struct loader *ld, const struct src *s, int line,
		const char *path, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	_vdiag(ld, &ld->errs, s, line, path, fmt, ap);
	va_end(ap);
}

void
aif_ld_warn_line(struct loader *ld, const struct src *s, int line,
		 const char *path, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	_vdiag(ld, &ld->warns, s, line, path, fmt, ap);
	va_end(ap);
}

/* A required key that is not there: reported on its object's line. */
void aif_ld_err_missing(struct loader *ld, const struct src *s,
			 const char *obj_path, const char *key)
{
	char kp[AIF_PATH_MAX];

	aif_ld_path_key(kp, obj_path, key);
	aif_ld_err_line(ld, s, aif_ld_line_of(s, obj_path), kp,
			"missing (required)");
}

static int _cmp_diag(const void *a, const void *b)
{
	const struct diag *x = a, *y = b;

	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	if (x->e.line != y->e.line)
		return x->e.line < y->e.line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * Sort, add the closing note, and hand the array over as a plain array
 * of struct aif_load_error, compacted in place so that this last step
 * needs no memory.
 */
void aif_ld_diags_finish(struct loader *ld, struct diags *d, bool errors,
			  struct aif_load_error **out, size_t *nout)
{
	struct aif_load_error *e;
	struct diag *x = NULL;

	aif_ld_sort(d->v, d->n, sizeof(*d->v), _cmp_diag);
	if (errors && ld->oom) {
		x = &d->v[d->n++];
		memset(x, 0, sizeof(*x));
		aif_copy(x->e.reason, sizeof(x->e.reason), "out of memory");
	} else if (d->dropped) {
		x = &d->v[d->n++];
		memset(x, 0, sizeof(*x));
		snprintf(x->e.reason, sizeof(x->e.reason),
			 "%zu more %s not shown", d->dropped,
			 errors ? "errors" : "warnings");
	}
	if (x)
		aif_copy(x->e.file, sizeof(x->e.file),
			    ld->main.file ? ld->main.file : "");

	e = (struct aif_load_error *) d->v;
	for (size_t i = 0; i < d->n; i++)
		memmove(&e[i], &d->v[i].e, sizeof(e[i]));
	if (out && d->n) {
		*out = e;
		*nout = d->n;
	} else {
		free(d->v);
	}
	d->v = NULL;
	d->n = d->cap = 0;
}

void aif_load_error_format(const struct aif_load_error *e, char *buf,
			   size_t len)
{
	char where[sizeof(e->file) + 16];

	if (!buf || !len)
		return;
	if (!e) {
		buf[0] = '\0';
		return;
	}
	if (e->line > 0)
		snprintf(where, sizeof(where), "%s:%d", e->file, e->line);
	else
		snprintf(where, sizeof(where), "%s", e->file);
	snprintf(buf, len, "%s%s%s%s%s", where, where[0] ? ": " : "",
		 e->path, e->path[0] ? ": " : "", e->reason);
}

void aif_load_report_free(struct aif_load_report *report)
{
	if (!report)
		return;
	free(report->errors);
	free(report->warnings);
	memset(report, 0, sizeof(*report));
}
