/*
 * journal_writer: writes a real journal chain for the tool tests, without
 * a cluster. Not installed.
 *
 *   journal_writer DIR N [ROTATE-EVERY]
 *
 * Opens (creates) the journal in DIR and appends charges until the chain
 * holds N records in all. With ROTATE-EVERY, the journal is rotated each
 * time its current file holds that many records; the rotate record
 * counts towards N. Record seq s is a charge of job 1000+s, amount
 * 3600000*s (s GPU-hours), stamped 2026-11-21T18:55:14Z + s seconds.
 *
 * With AIF_WRITER_SNAPSHOT=1 in the environment, a snapshot (an empty
 * ledger) is written at the chain's last record.
 *
 * Exit 0, or 1 with a message on stderr.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal.h"

#define T0 1795287314		/* 2026-11-21T18:55:14Z */

static int _count(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (end == s || *end || errno || s[0] == '-')
		return -1;
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	struct aif_verify_report rep;
	struct aif_journal *j;
	struct aif_record r;
	uint64_t n, every = 0, seq, in_file = 0;
	char hash[AIF_SHA256_HEX_LEN], name[32];

	if (argc < 3 || argc > 4 || _count(argv[2], &n) ||
	    (argc == 4 && (_count(argv[3], &every) || !every))) {
		fprintf(stderr, "usage: journal_writer DIR N [ROTATE-EVERY]\n");
		return 1;
	}
	if (aif_journal_open(argv[1], &j, &rep)) {
		fprintf(stderr, "journal_writer: %s: %s (%s)\n", argv[1],
			strerror(errno), rep.message);
		return 1;
	}
	aif_journal_last(j, &seq, hash);
	while (seq < n) {
		if (every && in_file == every) {
			if (aif_journal_rotate(j))
				goto fail;
			in_file = 1;
		} else {
			aif_record_init(&r, AIF_RECORD_CHARGE);
			r.time = (time_t) (T0 + seq + 1);
			snprintf(name, sizeof(name), "train-%" PRIu64, seq + 1);
			aif_record_add_str(&r, "project", "acme");
			aif_record_add_int(&r, "job", (int64_t) (1000 + seq + 1));
			aif_record_add_int(&r, "amount",
					   (int64_t) (3600000 * (seq + 1)));
			aif_record_add_str(&r, "name", name);
			if (aif_journal_append(j, &r))
				goto fail;
			in_file++;
		}
		aif_journal_last(j, &seq, hash);
	}
	if (aif_journal_sync(j) || aif_journal_close(j) ||
	    (getenv("AIF_WRITER_SNAPSHOT") &&
	     aif_snapshot_write(argv[1], "aifactory-ledger 1\n", 19, seq,
				hash))) {
		fprintf(stderr, "journal_writer: %s: %s\n", argv[1],
			strerror(errno));
		return 1;
	}
	return 0;
fail:
	fprintf(stderr, "journal_writer: %s: at seq %" PRIu64 ": %s\n",
		argv[1], seq + 1, strerror(errno));
	aif_journal_close(j);
	return 1;
}
