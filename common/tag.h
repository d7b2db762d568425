/*
 * slurm-aifactory: the admission tag, written into a job's AdminComment
 * at submit and read at every later event (modify, the rebuild of
 * reservations, the job's end). This is the one place that writes and
 * reads it:
 *
 *   aif:class=C,project=P,mode=M[,sector=S],lien=G1:AMOUNT+G2:AMOUNT,rate=T1:MILLI+T2:MILLI
 *   aif:class=C,...,lien=none        admitted without a lien (fallback QOS)
 *   aif:class=C,...,site=N           an operator's SiteFactor, kept
 *
 * An operator's note may come before it, separated by ';': the tag is
 * the last AIF_TAG_MARK in the comment. A tag is never cut: writing one
 * that would not fit fails (E2BIG) and leaves the buffer as it was.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef AIF_TAG_H
#define AIF_TAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aifactory.h"
#include "journal.h"
#include "ledger.h"

#define AIF_TAG_PREFIX "aif:"
#define AIF_TAG_MARK AIF_TAG_PREFIX "class="

/* The project's part of the tag into buf: 0, or -1 (E2BIG). */
int aif_tag_format(const struct aif_project *proj, char *buf, size_t len);

/* Append a lien's split and rates (",lien=g1:AMOUNT+...,rate=h100:1000"),
 * or ",lien=none" when lien is NULL, to the tag in tag: 0, or -1 (E2BIG)
 * leaving tag as it was when the whole would not fit in len. */
int aif_lien_tag(const struct aif_lien *lien, char *tag, size_t len);

/* The tag in a comment (NULL: none), and how many bytes of the comment
 * come before it as an operator's note (its ';' left out; the whole
 * comment when it has no tag). */
const char *aif_tag_find(const char *comment);
size_t aif_tag_note_len(const char *comment);

/* The class and project of the tag in comment: 0, or -1 when there is no
 * tag or it lacks either (both "" then). */
int aif_tag_parse(const char *comment, char klass[AIF_NAME_MAX],
		  char project[AIF_NAME_MAX]);

/* The lien a tag carries: project, split (parts, total) and frozen rates
 * (uses[].type and weight_milli). 0 with a lien, 1 with none, -1 with no
 * tag at all or one this library did not write. */
int aif_lien_from_tag(const char *comment, struct aif_lien *out);

/* Everything a job's tag says, read once: a job's end reads it here and
 * passes it down (aif_run_read). */
struct aif_job_tag {
	char klass[AIF_NAME_MAX];	/* "" without a tag */
	int has_lien;			/* as aif_lien_from_tag() returns */
	struct aif_lien lien;		/* lien.project: the tag's project,
					 * also when its lien is unreadable */
};

/* Read the tag in comment: 0 when it names a class and a project, -1
 * when there is none (out then holds no project). */
int aif_tag_read(const char *comment, struct aif_job_tag *out);

/*
 * An operator's SiteFactor, which site_factor/aifactory keeps for the
 * job's life (docs/priority.md): ",site=N" at the end of its tag.
 * aif_tag_site(): 0 with *points, -1 when the tag has none (or there is
 * no tag). aif_tag_set_site(): comment with its tag's site made points,
 * into buf (the note and the rest of the tag unchanged): 0, or -1 with
 * errno ENOENT (no tag) or E2BIG (len too small: strlen(comment) +
 * AIF_TAG_SITE_MAX always suffices).
 */
#define AIF_TAG_SITE_MAX 24
int aif_tag_site(const char *comment, int64_t *points);
int aif_tag_set_site(const char *comment, int64_t points, char *buf,
		     size_t len);

/* Whether the job was admitted on its class's fallback QOS, without a
 * lien (",lien=none"). */
bool aif_tag_fallback(const char *comment);

/* A tag into a journal record: "tag", then "tag2", "tag3"... of
 * AIF_TAG_CHUNK bytes each, so that a long lien is not cut at a record's
 * bound on a string (read them back joined in order). 0, or -1 as
 * aif_record_add_str(). */
#define AIF_TAG_CHUNK 480
int aif_record_add_tag(struct aif_record *rec, const char *tag);

#endif /* AIF_TAG_H */
