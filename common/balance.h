/*
 * slurm-aifactory: the balance statement, as aifctl balance prints it and
 * the service answers a member's query (text or JSON); text from
 * elsewhere made safe for a terminal, and strings for JSON.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef AIF_BALANCE_H
#define AIF_BALANCE_H

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "ledger.h"

/*
 * A statement of one or more projects, printed whole so that its columns
 * are as wide as their widest cell (a EuroHPC project id of 22
 * characters shifts nothing). Per project: a row per grant (window, GPU
 * type, granted, charged, reserved, left in GPU-hours; reserved "?"
 * unless known), then its overdraw if any, and a line with its burn rate
 * per day over the last AIF_BURN_DAYS days and when its money runs out
 * at that rate; an unmetered project never runs out (its jobs need no
 * grant), and says so.
 *
 * Life: aif_balance_sheet_new(), aif_balance_sheet_add() per project
 * (each takes the ledger's lock once, briefly, to copy the balance),
 * aif_balance_sheet_print(), aif_balance_sheet_free(). Not thread-safe:
 * one sheet, one thread.
 */
struct aif_balance_sheet;

/* NULL without memory. now: the time the statement is for. */
struct aif_balance_sheet *aif_balance_sheet_new(bool reserved_known,
						time_t now);

/* Add project's statement (burn: its charges over the last AIF_BURN_DAYS
 * days; metered: its class is). 0, or -1: ENOENT for a project the
 * ledger does not know, ENOMEM. */
int aif_balance_sheet_add(struct aif_balance_sheet *s,
			  struct aif_ledger *ledger, const char *project,
			  bool metered, aif_amount_t burn);

/*
 * The statement on f. Text: the columns' names, then every project's
 * lines. json: one line, an object with the names the metrics file uses
 * (docs/metrics.md) and aifctl report's "gpu_hours" (amounts as strings
 * of two decimals, as the text shows them):
 *
 *   {"burn_days":30,"projects":[{"project":"p","grants":[{"grant":"g",
 *    "valid_from":"YYYY-MM-DD","valid_until":"YYYY-MM-DD",
 *    "gpu_type":"h100"|null,"in_policy":true,"gpu_hours":{"granted":"..",
 *    "charged":"..","reserved":".."|null,"left":".."}}],
 *    "overdraw_gpu_hours":"..","metered":true,
 *    "burn_gpu_hours_per_day":"..","runs_out":"now"|"never"|"YYYY-MM-DD"|null,
 *    "grants_end_first":"YYYY-MM-DD"|null}]}
 *
 * (runs_out null: not metered; grants_end_first: "never" because its
 * grants end on that day before the money would.) 0, or -1 (errno) if f
 * failed.
 */
int aif_balance_sheet_print(const struct aif_balance_sheet *s, FILE *f,
			    bool json);

void aif_balance_sheet_free(struct aif_balance_sheet *s);

/*
 * Write len bytes of s (from another program, or another host) to f so
 * that a terminal shows them as text and obeys none of them: newlines
 * are kept, other control characters (C0, DEL, C1) and bidirectional
 * controls (U+202A-202E, U+2066-2069) are written as \xNN or \uNNNN,
 * bytes that are not UTF-8 as \xNN, and the rest of UTF-8 as it is when
 * utf8 (the terminal's charset is UTF-8) or else as \uNNNN (\UNNNNNNNN
 * beyond U+FFFF). A backslash stays a backslash. 0, or -1 if f failed.
 */
int aif_text_to_terminal(FILE *f, const char *s, size_t len, bool utf8);

/* s as a JSON string, quoted: '"', '\\' and control characters escaped,
 * the other bytes as they are (s is the caller's to make UTF-8). */
void aif_json_string(FILE *f, const char *s);

#endif /* AIF_BALANCE_H */
