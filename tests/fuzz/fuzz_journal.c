/*
 * libFuzzer target: the journal's reader, as aifctl audit verify and
 * slurmctld's start read it. The input is the file "journal" of a
 * directory of its own: aif_journal_verify(), then aif_journal_replay()
 * into the ledger's book (aif_book_replay()), as slurmctld rebuilds the
 * ledger.
 *
 * Invariants: a problem's message is printable; verify and replay agree
 * (replay fails where verify finds a problem other than a torn last line,
 * and passes every record verify counted); a verified journal opens, takes
 * one more record, and verifies again with one record more; the book it
 * gave survives a snapshot round trip (save, load, save: the same lines).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>

#include "book.h"
#include "journal.h"
#include "fuzz.h"

struct count {
	uint64_t records;
	struct aif_book *book;
};

static int _count(const struct aif_record *r, void *arg)
{
	struct count *c = arg;

	c->records++;
	return aif_book_replay(r, c->book);
}

static void _round_trip(struct aif_book *book)
{
	struct aif_book *again;
	char *b1 = NULL, *b2 = NULL, why[256];
	size_t l1, l2;

	if (aif_book_save(book, 0, &b1, &l1))
		return;		/* a name with a space: refused, said so */
	fuzz_assert((again = aif_book_new(NULL)) != NULL, "oom");
	fuzz_assert(!aif_book_load(again, b1, l1, why, sizeof(why)),
		    "a saved book does not load: %s", why);
	fuzz_assert(!aif_book_save(again, 0, &b2, &l2),
		    "a loaded book does not save");
	fuzz_assert(fuzz_same_lines(b1, l1, b2, l2),
		    "save, load, save: %zu bytes, then %zu", l1, l2);
	aif_book_free(again);
	free(b1);
	free(b2);
}

/* One more record, as slurmctld would write it next. */
static void _append(const char *dir, const struct aif_verify_report *v)
{
	struct aif_verify_report o, w;
	struct aif_journal *j;
	struct aif_record r;

	fuzz_assert(!aif_journal_open(dir, &j, &o), "a verified journal "
		    "does not open: %s (%s)", strerror(errno), o.message);
	aif_record_init(&r, AIF_RECORD_CHARGE);
	aif_record_add_str(&r, "project", "acme");
	aif_record_add_str(&r, "run", "c:1:1");
	aif_record_add_int(&r, "amount", 3600000);
	fuzz_assert(!aif_journal_append(j, &r), "append: %s",
		    strerror(errno));
	fuzz_assert(!aif_journal_close(j), "close: %s", strerror(errno));
	fuzz_assert(!aif_journal_verify(dir, &w), "verified, appended to, "
		    "and no longer verifies: %s", w.message);
	fuzz_assert(w.records == v->records + 1 &&
		    w.last_seq == v->last_seq + 1,
		    "%llu records (last seq %llu), then %llu (%llu)",
		    (unsigned long long) v->records,
		    (unsigned long long) v->last_seq,
		    (unsigned long long) w.records,
		    (unsigned long long) w.last_seq);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char dir[128], file[160];
	struct aif_verify_report v, rep;
	struct count c = { 0 };
	int vrc, rrc;

	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "%s/aifactory", fuzz_dir());
		mkdir(dir, 0700);
		snprintf(file, sizeof(file), "%s/journal", dir);
	}
	fuzz_write(file, data, size);

	vrc = aif_journal_verify(dir, &v);
	if (vrc)
		fuzz_assert(fuzz_printable(v.message, sizeof(v.message)),
			    "verify's message not printable: %s", v.message);

	fuzz_assert((c.book = aif_book_new(NULL)) != NULL, "oom");
	rrc = aif_journal_replay(dir, 0, NULL, _count, &c, &rep);
	if (rrc)
		fuzz_assert(fuzz_printable(rep.message, sizeof(rep.message)),
			    "replay's message not printable: %s", rep.message);
	if (!vrc) {
		fuzz_assert(!rrc, "verified, and replay fails: %s",
			    rep.message);
		fuzz_assert(c.records == v.records, "verify counts %llu "
			    "records, replay passes %llu",
			    (unsigned long long) v.records,
			    (unsigned long long) c.records);
	} else if (v.problem != AIF_CHAIN_TORN && v.problem != AIF_CHAIN_IO) {
		fuzz_assert(rrc, "verify: %s; replay passes it",
			    v.message);
	}
	if (!rrc)
		_round_trip(c.book);
	aif_book_free(c.book);
	if (!vrc)
		_append(dir, &v);
	unlink(file);
	return 0;
}
