/*
 * slurm-aifactory: the balance statement and text made safe for a
 * terminal (see balance.h).
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
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

/* A grant's row, a project's overdraw, or its burn rate (its last line). */
struct sheet_line {
	enum { LINE_GRANT, LINE_OVERDRAW, LINE_BURN } kind;
	char cells[NCOLS][CELL_MAX];	/* PROJECT always; the rest: GRANT */
	char from[16], until[16];	/* GRANT: its window's days */
	bool gone;			/* GRANT: no longer in the policy */
	bool metered;			/* BURN: the project's class is */
	char amount[AIF_AMOUNT_STR_MAX];/* OVERDRAW; BURN: per day */
	char runs_out[16];		/* BURN, metered: "now", "never", a day */
	char grants_end[16];		/* BURN: "never" as its grants end first */
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
	free(s->lines);
	free(s);
}

/* A new line of kind for project, zeroed. */
static struct sheet_line *_line(struct aif_balance_sheet *s, int kind,
				const char *project)
{
	struct sheet_line *l;

	if (s->n == s->cap) {
		size_t ncap = s->cap ? 2 * s->cap : 16;
		struct sheet_line *nl = realloc(s->lines, ncap * sizeof(*nl));

		if (!nl)
			return NULL;
		s->lines = nl;
		s->cap = ncap;
	}
	l = &s->lines[s->n++];
	memset(l, 0, sizeof(*l));
	l->kind = kind;
	snprintf(l->cells[COL_PROJECT], CELL_MAX, "%s", project);
	return l;
}

/* When the money runs out at this burn: "now", "never" (grants_end set
 * when they end before it would), or a day. */
static void _runs_out(long double left, aif_amount_t burn, time_t last_end,
		      time_t now, struct sheet_line *l)
{
	if (left <= 0) {
		snprintf(l->runs_out, sizeof(l->runs_out), "now");
	} else if (!burn) {
		snprintf(l->runs_out, sizeof(l->runs_out), "never");
	} else {
		long double secs = left / burn * AIF_BURN_DAYS * 86400.0L;

		if (secs > (long double) (last_end - now)) {
			snprintf(l->runs_out, sizeof(l->runs_out), "never");
			aif_date_day(last_end, l->grants_end,
				     sizeof(l->grants_end));
		} else {
			aif_date_day(now + (time_t) secs, l->runs_out,
				     sizeof(l->runs_out));
		}
	}
}

int aif_balance_sheet_add(struct aif_balance_sheet *s,
			  struct aif_ledger *ledger, const char *project,
			  bool metered, aif_amount_t burn)
{
	struct aif_grant_balance *g = NULL;
	struct aif_project_balance sum;
	struct sheet_line *l;
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
		if (!(l = _line(s, LINE_GRANT, project)))
			goto out;
		snprintf(l->cells[COL_GRANT], CELL_MAX, "%s", g[i].name);
		aif_date_day(g[i].valid_from, l->from, sizeof(l->from));
		aif_date_day(g[i].valid_until, l->until, sizeof(l->until));
		snprintf(l->cells[COL_WINDOW], CELL_MAX, "%s..%s", l->from,
			 l->until);
		snprintf(l->cells[COL_GPU], CELL_MAX, "%s", g[i].gpu_type);
		aif_amount_format(g[i].granted, l->cells[COL_GRANTED], CELL_MAX);
		aif_amount_format(g[i].charged, l->cells[COL_CHARGED], CELL_MAX);
		if (s->reserved_known)
			aif_amount_format(g[i].reserved,
					  l->cells[COL_RESERVED], CELL_MAX);
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
		if (!(l = _line(s, LINE_OVERDRAW, project)))
			goto out;
		aif_amount_format(sum.overdraw, l->amount, sizeof(l->amount));
	}
	if (!(l = _line(s, LINE_BURN, project)))
		goto out;
	aif_amount_format(burn / AIF_BURN_DAYS, l->amount, sizeof(l->amount));
	/* An unmetered class's jobs need no grant: "runs out now" would
	 * tell its members they cannot run. */
	l->metered = metered;
	if (metered)
		_runs_out(left, burn, last_end, s->now, l);
	rc = 0;
out:
	if (rc) {
		int err = errno;

		s->n = first;
		errno = err;
	}
	free(g);
	return rc;
}

/* A grant row's cell as the table shows it. */
static const char *_cell(const struct sheet_line *l, int c)
{
	if (c == COL_GPU && !l->cells[c][0])
		return "any";
	if (c == COL_RESERVED && !l->cells[c][0])
		return "?";
	return l->cells[c];
}

static void _print_text(const struct aif_balance_sheet *s, FILE *f)
{
	size_t width[NCOLS];

	for (int c = 0; c < NCOLS; c++)
		width[c] = strlen(heads[c]);
	for (size_t i = 0; i < s->n; i++)
		for (int c = 0; s->lines[i].kind == LINE_GRANT && c < NCOLS; c++)
			if (strlen(_cell(&s->lines[i], c)) > width[c])
				width[c] = strlen(_cell(&s->lines[i], c));
	/* Names left, amounts right, two spaces between: the names are
	 * ASCII (the policy's rules), so bytes are columns. */
	for (int c = 0; c < NCOLS; c++)
		fprintf(f, c < COL_GRANTED ? "%s%-*s" : "%s%*s",
			c ? "  " : "", (int) width[c], heads[c]);
	fputc('\n', f);
	for (size_t i = 0; i < s->n; i++) {
		const struct sheet_line *l = &s->lines[i];
		const char *project = l->cells[COL_PROJECT];

		switch (l->kind) {
		case LINE_GRANT:
			for (int c = 0; c < NCOLS; c++)
				fprintf(f, c < COL_GRANTED ? "%s%-*s" : "%s%*s",
					c ? "  " : "", (int) width[c],
					_cell(l, c));
			fprintf(f, "%s\n", l->gone ?
				"  (no longer in the policy)" : "");
			break;
		case LINE_OVERDRAW:
			fprintf(f, "%s: overdraw %s\n", project, l->amount);
			break;
		case LINE_BURN:
			fprintf(f, "%s: burn rate %s/day over the last %d days; ",
				project, l->amount, AIF_BURN_DAYS);
			if (!l->metered)
				fprintf(f, "not metered: its GPU jobs need no grant\n");
			else if (l->grants_end[0])
				fprintf(f, "runs out never (its grants end on %s first)\n",
					l->grants_end);
			else
				fprintf(f, "runs out %s\n", l->runs_out);
			break;
		}
	}
}

/* A string value, or null for "". */
static void _json_or_null(FILE *f, const char *s)
{
	if (s[0])
		aif_json_string(f, s);
	else
		fputs("null", f);
}

static void _print_json(const struct aif_balance_sheet *s, FILE *f)
{
	bool open = false, grants = false;

	fprintf(f, "{\"burn_days\":%d,\"projects\":[", AIF_BURN_DAYS);
	for (size_t i = 0; i < s->n; i++) {
		const struct sheet_line *l = &s->lines[i];

		if (!open) {
			fprintf(f, "%s{\"project\":", i ? "," : "");
			aif_json_string(f, l->cells[COL_PROJECT]);
			fputs(",\"grants\":[", f);
			open = true;
			grants = false;
		}
		switch (l->kind) {
		case LINE_GRANT:
			fprintf(f, "%s{\"grant\":", grants ? "," : "");
			aif_json_string(f, l->cells[COL_GRANT]);
			fprintf(f, ",\"valid_from\":\"%s\",\"valid_until\":\"%s\","
				"\"gpu_type\":", l->from, l->until);
			_json_or_null(f, l->cells[COL_GPU]);
			fprintf(f, ",\"in_policy\":%s,\"gpu_hours\":{"
				"\"granted\":\"%s\",\"charged\":\"%s\","
				"\"reserved\":", l->gone ? "false" : "true",
				l->cells[COL_GRANTED], l->cells[COL_CHARGED]);
			_json_or_null(f, l->cells[COL_RESERVED]);
			fprintf(f, ",\"left\":\"%s\"}}", l->cells[COL_LEFT]);
			grants = true;
			break;
		case LINE_OVERDRAW:
			break;	/* in the project's closing fields */
		case LINE_BURN:
			fprintf(f, "],\"overdraw_gpu_hours\":\"%s\","
				"\"metered\":%s,\"burn_gpu_hours_per_day\":\"%s\","
				"\"runs_out\":",
				i && s->lines[i - 1].kind == LINE_OVERDRAW ?
				s->lines[i - 1].amount : "0.00",
				l->metered ? "true" : "false", l->amount);
			_json_or_null(f, l->metered ? l->runs_out : "");
			fputs(",\"grants_end_first\":", f);
			_json_or_null(f, l->grants_end);
			fputc('}', f);
			open = false;
			break;
		}
	}
	fputs("]}\n", f);
}

int aif_balance_sheet_print(const struct aif_balance_sheet *s, FILE *f,
			    bool json)
{
	if (json)
		_print_json(s, f);
	else
		_print_text(s, f);
	return ferror(f) ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* Text for a terminal, and for JSON                                     */

void aif_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char) *s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

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
