/*
 * Unit tests of common/tag.c: the admission tag written and read in one
 * place. (Tags made by admission are tested with it: test_decide,
 * test_lien.)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <string.h>

#include "tag.h"
#include "tap.h"

#define TAG "aif:class=sme,project=voltwerk,mode=fast-lane"

int main(void)
{
	struct aif_lien lien = {
		.nparts = 2, .parts = { { "g1", 3600000 }, { "g2", 7200 } },
		.nuses = 1, .uses = { { .type = "h100", .weight_milli = 1000 } },
	}, back;
	char tag[AIF_TAG_MAX], small[64], klass[AIF_NAME_MAX],
	     project[AIF_NAME_MAX];

	is_int(strncmp(AIF_TAG_MARK, TAG, strlen(AIF_TAG_MARK)), 0,
	       "the mark is how a tag starts");

	/* Where the tag is, and the operator's note before it. */
	ok(aif_tag_find(NULL) == NULL, "no comment, no tag");
	ok(aif_tag_find("ops note") == NULL, "a note alone has no tag");
	is_int(aif_tag_note_len(NULL), 0, "no comment: no note");
	is_int(aif_tag_note_len(TAG), 0, "a tag alone: no note");
	is_int(aif_tag_note_len("ops note;" TAG), 8, "a note before the tag, its ';' left out");
	is_int(aif_tag_note_len("ops note"), 8, "a comment without a tag is all note");
	is_int(aif_tag_note_len("a;" TAG ";" TAG), strlen("a;" TAG), "the last tag is ours");
	is_int(aif_tag_parse("ops note;" TAG, klass, project), 0, "a tag after a note parses");
	is_str(klass, "sme", "its class");
	is_str(project, "voltwerk", "its project");
	is_int(aif_tag_parse("aif:mode=m", klass, project), -1, "a tag without class= is none");

	/* The lien, written whole or not at all, and read back. */
	strcpy(tag, TAG);
	is_int(aif_lien_tag(&lien, tag, sizeof(tag)), 0, "a lien is written");
	is_str(tag, TAG ",lien=g1:3600000+g2:7200,rate=h100:1000", "split and rates");
	is_int(aif_lien_from_tag(tag, &back), 0, "and read back");
	ok(back.nparts == 2 && back.total == 3607200 && back.nuses == 1 &&
	   back.uses[0].weight_milli == 1000 && !strcmp(back.project, "voltwerk"),
	   "the same lien");
	strcpy(small, TAG);
	is_int(aif_lien_tag(&lien, small, sizeof(small)), -1, "a lien that does not fit fails");
	is_str(small, TAG, "and leaves the tag as it was: never cut");

	strcpy(tag, TAG);
	is_int(aif_lien_tag(NULL, tag, sizeof(tag)), 0, "no lien is written");
	is_str(tag, TAG ",lien=none", "as lien=none");
	is_int(aif_lien_from_tag(tag, &back), 1, "which reads back as no lien");
	strcpy(small, "aif:class=c,project=p,mode=");
	memset(small + strlen(small), 'm', sizeof(small) - strlen(small) - 6);
	small[sizeof(small) - 6] = '\0';
	is_int(aif_lien_tag(NULL, small, sizeof(small)), -1, "lien=none that does not fit fails");
	is_int(strlen(small), sizeof(small) - 6, "and leaves the tag as it was");
	is_int(aif_lien_from_tag("aif:class=c,project=p,mode=m,lien=g:x", &back), -1,
	       "a lien this library did not write is unreadable");
	{
		struct aif_job_tag t;

		is_int(aif_tag_read("ops note;aif:class=c,project=p,mode=m,lien=g:5+h:7,rate=h100:1000", &t),
		       0, "a job's tag is read once, whole");
		ok(!strcmp(t.klass, "c") && !strcmp(t.lien.project, "p") &&
		   t.has_lien == 0 && t.lien.total == 12 && t.lien.nuses == 1,
		   "its class, project, lien and rates");
		is_int(aif_tag_read("aif:class=c,project=p,mode=m,lien=g:x", &t), 0,
		       "a tag whose lien is unreadable still names its project");
		ok(t.has_lien == -1 && !strcmp(t.lien.project, "p"), "and says the lien is unreadable");
		is_int(aif_tag_read("ops note", &t), -1, "a comment without a tag");
		ok(!t.klass[0] && !t.lien.project[0], "names nothing");
	}
	return done();
}
