/*
 * slurm-aifactory: the balance statement and text made safe for a
 * terminal (see balance.h).
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "balance.h"
#include "book.h"
#include "date.h"
#include "text.h"

enum { COL_PROJECT, COL_GRANT, COL_WINDOW, COL_GPU, COL_GRANTED, COL_CHARGED,
       COL_RESERVED, COL_LEFT, NCOLS };

static const char *const heads[NCOLS] = {
	"PROJECT", "GRANT", "WINDOW (UTC)", "GPU", "GRANTED", "CHARGED",
	"RESERVED", "LEFT",
};

#define CELL_MAX AIF_NAME_MAX	/* names, windows and amounts fit */

/* A grant's row (text NULL), or a line of its own (text). */
struct sheet_line {
	char cells[NCOLS][CELL_MAX];
	bool gone;			/* the grant is no longer in the policy */
	char *text;			/* malloc'ed */
};

struct aif_balance_sheet {
	bool reserved_known;
	time_t now;
	struct sheet_line *lines;
	size_t n, cap;
};

struct aif_balance_sheet *aif_balance_sheet_new(bool reserved_known,
						time_t now)
{
	struct aif_balance_sheet *s = calloc(1, sizeof(*s));

	if (s) {
		s->reserved_known = reserved_known;
		s->now = now;
	}
	return s;
}

void aif_balance_sheet_free(struct aif_balance_sheet *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->lines[i].text);
	free(s->lines);
	free(s);
}

static struct sheet_line *_line(struct aif_balance_sheet *s)
{
	if (s->n == s->cap) {
		size_t ncap = s->cap ? 2 * s->cap : 16;
		struct sheet_line *nl = realloc(s->lines, ncap * sizeof(*nl));

		if (!nl)
			return NULL;
		s->lines = nl;
		s->cap = ncap;
	}
	memset(&s->lines[s->n], 0, sizeof(s->lines[s->n]));
	return &s->lines[s->n++];
}

static int __attribute__((format(printf, 2, 3)))
_text(struct aif_balance_sheet *s, const char *fmt, ...)
{
	struct sheet_line *l = _line(s);
	va_list ap;
	int rc;

	if (!l)
		return -1;
	va_start(ap, fmt);
	rc = vasprintf(&l->text, fmt, ap);
	va_end(ap);
	if (rc < 0) {
		l->text = NULL;
		s->n--;
		return -1;
	}
	return 0;
}

/* When the money runs out at this burn: "now", "never", or a day. */
static void _runs_out(long double left, aif_amount_t burn, time_t last_end,
		      time_t now, char *buf, size_t len)
{
	char day[16];

	if (left <= 0) {
		snprintf(buf, len, "now");
	} else if (!burn) {
		snprintf(buf, len, "never");
	} else {
		long double secs = left / burn * AIF_BURN_DAYS * 86400.0L;

		if (secs > (long double) (last_end - now)) {
			aif_date_day(last_end, day, sizeof(day));
			snprintf(buf, len, "never (its grants end on %s first)",
				 day);
		} else {
			aif_date_day(now + (time_t) secs, day, sizeof(day));
			snprintf(buf, len, "%s", day);
		}
	}
}

int aif_balance_sheet_add(struct aif_balance_sheet *s,
			  struct aif_ledger *ledger, const char *project,
			  bool metered, aif_amount_t burn)
{
	struct aif_grant_balance *g = NULL;
	struct aif_project_balance sum;
	char from[16], until[16], a[AIF_AMOUNT_STR_MAX], out[96];
	long double left = 0;
	time_t last_end = 0;
	size_t first = s->n;
	int rc = -1;

	/* Copied out under the ledger's lock; formatted after. */
	if (aif_ledger_balance(ledger, project, NULL, 0, &sum))
		return -1;
	if (sum.ngrants && !(g = calloc(sum.ngrants, sizeof(*g))))
		return -1;
	if (aif_ledger_balance(ledger, project, g, sum.ngrants, &sum))
		goto out;
	for (size_t i = 0; i < sum.ngrants; i++) {
		struct sheet_line *l = _line(s);

		if (!l)
			goto out;
		snprintf(l->cells[COL_PROJECT], CELL_MAX, "%s", project);
		snprintf(l->cells[COL_GRANT], CELL_MAX, "%s", g[i].name);
		aif_date_day(g[i].valid_from, from, sizeof(from));
		aif_date_day(g[i].valid_until, until, sizeof(until));
		snprintf(l->cells[COL_WINDOW], CELL_MAX, "%s..%s", from, until);
		snprintf(l->cells[COL_GPU], CELL_MAX, "%s",
			 g[i].gpu_type[0] ? g[i].gpu_type : "any");
		aif_amount_format(g[i].granted, l->cells[COL_GRANTED], CELL_MAX);
		aif_amount_format(g[i].charged, l->cells[COL_CHARGED], CELL_MAX);
		if (s->reserved_known)
			aif_amount_format(g[i].reserved,
					  l->cells[COL_RESERVED], CELL_MAX);
		else
			snprintf(l->cells[COL_RESERVED], CELL_MAX, "?");
		aif_amount_format(g[i].left, l->cells[COL_LEFT], CELL_MAX);
		l->gone = !g[i].active;
		/* What is left to spend: grants that can still pay. */
		if (g[i].active && g[i].valid_until >= s->now) {
			left += g[i].left;
			if (g[i].left > 0 && g[i].valid_until > last_end)
				last_end = g[i].valid_until;
		}
	}
	left -= sum.overdraw;
	if (sum.overdraw) {
		aif_amount_format(sum.overdraw, a, sizeof(a));
		if (_text(s, "%s: overdraw %s", project, a))
			goto out;
	}
	aif_amount_format(burn / AIF_BURN_DAYS, a, sizeof(a));
	/* An unmetered class's jobs need no grant: "runs out now" would
	 * tell its members they cannot run. */
	if (metered)
		_runs_out(left, burn, last_end, s->now, out, sizeof(out));
	if (_text(s, "%s: burn rate %s/day over the last %d days; %s%s",
		  project, a, AIF_BURN_DAYS, metered ? "runs out " : "",
		  metered ? out : "not metered: its GPU jobs need no grant"))
		goto out;
	rc = 0;
out:
	if (rc) {
		int err = errno;

		while (s->n > first)
			free(s->lines[--s->n].text);
		errno = err;
	}
	free(g);
	return rc;
}

int aif_balance_sheet_print(const struct aif_balance_sheet *s, FILE *f)
{
	size_t width[NCOLS];

	for (int c = 0; c < NCOLS; c++)
		width[c] = strlen(heads[c]);
	for (size_t i = 0; i < s->n; i++)
		for (int c = 0; !s->lines[i].text && c < NCOLS; c++)
			if (strlen(s->lines[i].cells[c]) > width[c])
				width[c] = strlen(s->lines[i].cells[c]);
	/* Names left, amounts right, two spaces between: the names are
	 * ASCII (the policy's rules), so bytes are columns. */
	for (int c = 0; c < NCOLS; c++)
		fprintf(f, c < COL_GRANTED ? "%s%-*s" : "%s%*s",
			c ? "  " : "", (int) width[c], heads[c]);
	fputc('\n', f);
	for (size_t i = 0; i < s->n; i++) {
		const struct sheet_line *l = &s->lines[i];

		if (l->text) {
			fprintf(f, "%s\n", l->text);
			continue;
		}
		for (int c = 0; c < NCOLS; c++)
			fprintf(f, c < COL_GRANTED ? "%s%-*s" : "%s%*s",
				c ? "  " : "", (int) width[c], l->cells[c]);
		fprintf(f, "%s\n", l->gone ? "  (no longer in the policy)" : "");
	}
	return ferror(f) ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* Text for a terminal                                                   */

int aif_text_to_terminal(FILE *f, const char *s, size_t len, bool utf8)
{
	const unsigned char *u = (const unsigned char *) s;

	for (size_t i = 0; i < len;) {
		size_t n;
		int32_t cp = aif_utf8_get(u + i, len - i, &n);

		if (cp < 0)
			fprintf(f, "\\x%02x", u[i]);
		else if (cp == '\n' || (cp >= 0x20 && cp < 0x7f))
			fputc(cp, f);
		else if (cp < 0x20 || cp == 0x7f)
			fprintf(f, "\\x%02x", (unsigned) cp);
		else if (utf8 && cp >= 0xa0 && !aif_cp_needs_escape((uint32_t) cp))
			fwrite(u + i, 1, n, f);
		else if (cp <= 0xffff)
			fprintf(f, "\\u%04x", (unsigned) cp);
		else
			fprintf(f, "\\U%08x", (unsigned) cp);
		i += n;
	}
	return ferror(f) ? -1 : 0;
}
