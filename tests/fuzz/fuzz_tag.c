/*
 * libFuzzer target: the admission tag's readers, as the plugins call
 * them on a job's AdminComment (which administrators may write freely):
 * aif_tag_read(), aif_tag_site(), aif_tag_fallback(), and
 * aif_tag_set_site(), which site_factor/aifactory uses to keep an
 * operator's SiteFactor. Input: the comment (cut at its first NUL).
 *
 * Invariants: the note is no longer than the comment; a lien read back
 * has at most AIF_LEDGER_PARTS_MAX parts; a site written into a tag is
 * read back as written, and the note before the tag is unchanged.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "tag.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aif_job_tag jt;
	char *comment = malloc(size + 1), *buf;
	size_t note, len;
	int64_t site = 0, back = 0;

	if (!comment)
		return 0;
	memcpy(comment, data, size);
	comment[size] = '\0';
	len = strlen(comment);

	note = aif_tag_note_len(comment);
	fuzz_assert(note <= len, "note %zu of %zu bytes", note, len);
	aif_tag_read(comment, &jt);
	fuzz_assert(jt.lien.nparts <= AIF_LEDGER_PARTS_MAX, "%zu parts",
		    jt.lien.nparts);
	fuzz_assert(jt.lien.nuses <= AIF_GPU_TYPES_MAX, "%zu uses",
		    jt.lien.nuses);
	(void) aif_tag_fallback(comment);
	(void) aif_tag_site(comment, &site);

	/* Write a site derived from the input and read it back. */
	site = (int64_t) (size * 7919) - 1000000;
	if (!(buf = malloc(len + AIF_TAG_SITE_MAX))) {
		free(comment);
		return 0;
	}
	if (!aif_tag_set_site(comment, site, buf, len + AIF_TAG_SITE_MAX)) {
		fuzz_assert(!aif_tag_site(buf, &back) && back == site,
			    "wrote site %lld, read %lld", (long long) site,
			    (long long) back);
		fuzz_assert(aif_tag_note_len(buf) == note &&
			    !memcmp(buf, comment, note),
			    "the note changed");
	} else {
		fuzz_assert(!aif_tag_find(comment), "a tag's site not written");
	}
	free(buf);
	free(comment);
	return 0;
}
