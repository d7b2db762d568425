/*
 * libFuzzer target: the ledger's snapshot. An input starting with
 * "aifactory-snapshot" is a whole snapshot file, read with
 * aif_snapshot_read() (header, checksum); its body, or any other input,
 * goes to aif_book_load() as slurmctld loads it at start.
 *
 * Invariants: a refused body is named by a printable reason; a body that
 * loads saves again, and that saved body loads and saves to the same
 * lines (in any order); a snapshot read gives a body of the length it
 * says.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>

#include "book.h"
#include "journal.h"
#include "fuzz.h"

static void _body(const char *body, size_t len)
{
	struct aif_book *t, *again;
	char *b1 = NULL, *b2 = NULL, why[256];
	size_t l1, l2;

	fuzz_assert((t = aif_book_new(NULL)) != NULL, "oom");
	why[0] = '\0';
	if (aif_book_load(t, body, len, why, sizeof(why))) {
		fuzz_assert(errno == ENOMEM ||
			    (why[0] && fuzz_printable(why, sizeof(why))),
			    "refused, and the reason is empty or not "
			    "printable: %s", why);
		aif_book_free(t);
		return;
	}
	if (!aif_book_save(t, 0, &b1, &l1)) {
		fuzz_assert((again = aif_book_new(NULL)) != NULL, "oom");
		fuzz_assert(!aif_book_load(again, b1, l1, why, sizeof(why)),
			    "a saved body does not load: %s", why);
		fuzz_assert(!aif_book_save(again, 0, &b2, &l2),
			    "a loaded body does not save");
		fuzz_assert(fuzz_same_lines(b1, l1, b2, l2),
			    "save, load, save: %zu bytes, then %zu", l1, l2);
		aif_book_free(again);
	}
	free(b1);
	free(b2);
	aif_book_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char magic[] = "aifactory-snapshot";
	static char dir[128], file[160];
	char hash[AIF_SHA256_HEX_LEN], *body, *copy;
	uint64_t seq;
	size_t len;

	if (size >= sizeof(magic) - 1 &&
	    !memcmp(data, magic, sizeof(magic) - 1)) {
		if (!dir[0]) {
			snprintf(dir, sizeof(dir), "%s/aifactory", fuzz_dir());
			mkdir(dir, 0700);
			snprintf(file, sizeof(file), "%s/snapshot", dir);
		}
		fuzz_write(file, data, size);
		if (!aif_snapshot_read(dir, &body, &len, &seq, hash)) {
			fuzz_assert(len < size && body[len] == '\0',
				    "a body of %zu bytes from %zu", len, size);
			_body(body, len);
			free(body);
		}
		unlink(file);
		return 0;
	}
	/* An exact copy: the body is not NUL-terminated for the loader. */
	if (!(copy = malloc(size ? size : 1)))
		return 0;
	memcpy(copy, data, size);
	_body(copy, size);
	free(copy);
	return 0;
}
