/*
 * Unit tests of the shared service (common/service*.c): the policy is
 * loaded at start, reloaded when the configuration stamp moves (but kept
 * through slurmctld's own move at start when its files are unchanged), a
 * broken file keeps the last good policy, and references are counted.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "book.h"
#include "service.h"
#include "tap.h"

static time_t stamp;
static char last_error[2048], last_info[2048];
static char info_log[16384], error_log[16384];	/* since the last clear */

static void _keep(char *log, size_t size, const char *line)
{
	size_t used = strlen(log);

	if (used + strlen(line) + 2 < size)
		snprintf(log + used, size - used, "%s\n", line);
}

static void _info(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(last_info, sizeof(last_info), fmt, ap);
	va_end(ap);
	_keep(info_log, sizeof(info_log), last_info);
}

static int _error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	_keep(error_log, sizeof(error_log), last_error);
	return 0;
}

static void _clear_logs(void)
{
	info_log[0] = error_log[0] = '\0';
}

static void _write(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static const char good[] =
	"{ \"version\": 1, \"classes\": { \"c\": { \"max_gpus_per_job\": 8 } },\n"
	"  \"projects\": { \"p\": { \"class\": \"c\", \"mode\": \"m\" } } }\n";
static const char better[] =
	"{ \"version\": 1, \"classes\": { \"c\": { \"max_gpus_per_job\": 2 } },\n"
	"  \"projects\": { \"p\": { \"class\": \"c\", \"mode\": \"m\" },\n"
	"                \"q\": { \"class\": \"c\", \"mode\": \"m\" } } }\n";

/* Wait (bounded) for the thread to swap in a policy of n projects. */
static size_t _wait_projects(size_t n)
{
	size_t got = 0;

	for (int i = 0; i < 50; i++) {
		struct aif_policy *p = aif_service_policy();

		got = p ? aif_policy_nprojects(p) : 0;
		aif_policy_unref(p);
		if (got == n)
			break;
		usleep(100000);
	}
	return got;
}

/* Wait (bounded) for an info line holding text. */
static bool _wait_info(const char *text)
{
	for (int i = 0; i < 50; i++) {
		if (strstr(info_log, text))
			return true;
		usleep(100000);
	}
	return false;
}

/*
 * slurmctld's own stamp move soon after the start (docs/slurm.md,
 * "Reconfigure"): with the files as they were loaded, the policy is
 * kept, not loaded again; with a file changed, it is loaded.
 */
static void test_start_window(const char *path)
{
	struct aif_service_hooks hooks = {
		.policy_path = path, .conf_stamp = &stamp, .info = _info,
		.error = _error,
	};
	struct aif_policy *p0, *p;
	char hash0[65];

	_write(path, good);
	is_int(aif_service_start(&hooks), 0, "start window: the service starts");
	p0 = aif_service_policy();
	snprintf(hash0, sizeof(hash0), "%s", p0 ? aif_policy_hash(p0) : "");
	_clear_logs();

	stamp = time(NULL);	/* the start-up reconfigure */
	ok(_wait_info("kept through slurmctld's start-up reconfigure"),
	   "start window: a stamp move with the files unchanged is seen");
	like(info_log, "unchanged on disk since start (sha256 ",
	     "start window: the log says the policy is unchanged and kept");
	ok(!strstr(info_log, " loaded: "), "start window: it is not loaded again");
	p = aif_service_policy();
	ok(p && p == p0, "start window: the same policy stays in force");
	is_str(p ? aif_policy_hash(p) : "", hash0, "start window: its hash too");
	aif_policy_unref(p);

	/* The next move is an operator's reconfigure, however soon. */
	_clear_logs();
	stamp = time(NULL);
	ok(_wait_info(" loaded: 1 classes, 1 projects"),
	   "start window: the next move loads, the files unchanged");
	ok(!strstr(info_log, "kept through"), "start window: only the first is kept");
	p = aif_service_policy();
	ok(p && p != p0 && !strcmp(aif_policy_hash(p), hash0),
	   "start window: a policy loaded anew, with the same hash");
	aif_policy_unref(p);

	_clear_logs();
	_write(path, better);
	stamp = time(NULL);
	is_int(_wait_projects(2), 2,
	       "start window: a stamp move with the file changed loads it");
	like(info_log, " loaded: 1 classes, 2 projects",
	     "start window: the load is logged");
	ok(!strstr(info_log, "kept through"), "start window: nothing is kept");
	p = aif_service_policy();
	ok(p && p != p0 && strcmp(aif_policy_hash(p), hash0),
	   "start window: a new policy with a new hash");
	aif_policy_unref(p);
	aif_policy_unref(p0);
	aif_service_stop();
}

static const char billed[] =
	"{ \"version\": 1,\n"
	"  \"billing\": { \"gpu_weights\": { \"h100\": 1.0, \"a100\": 0.5 } },\n"
	"  \"classes\": { \"c\": { \"thresholds\": [0.5, 1.0] } },\n"
	"  \"projects\": { \"p\": { \"class\": \"c\", \"mode\": \"m\",\n"
	"    \"grants\": [ { \"name\": \"g1\", \"gpu_hours\": 10,\n"
	"      \"valid_from\": \"2020-01-01\", \"valid_until\": \"2099-12-31\" } ] } } }\n";

static aif_amount_t _charged(void)
{
	struct aif_grant_balance b[4];
	struct aif_project_balance sum;

	if (aif_ledger_balance(aif_service_ledger(), "p", b, 4, &sum) || !sum.ngrants)
		return -1;
	return b[0].charged;
}

/* Charges, once per run, journalled, and rebuilt from the journal. */
static void test_settlement(const char *dir, const char *path)
{
	char jdir[128], why[512];
	struct aif_service_hooks hooks = {
		.policy_path = path, .journal_dir = jdir, .cluster = "aif",
		.conf_stamp = &stamp, .info = _info, .error = _error,
		.rotate_bytes = 1500,	/* a new file after every charge or two */
	};
	struct aif_job_end je = {
		.job_id = 7, .uid = 1001, .user = "alice", .account = "p",
		.admin_comment = "aif:class=c,project=p,mode=m",
		.name = "train \"big\"\n", .state = "COMPLETED",
		.submit = 1800000000, .start = 1800000100, .end = 1800003700,
		.nnodes = 1, .ngpus = 1, .gpus = { { "h100", 2 } },
	};
	struct aif_verify_report report;

	snprintf(jdir, sizeof(jdir), "%s/journal", dir);
	_write(path, billed);
	is_int(aif_service_start(&hooks), 0, "settle: the service starts with a journal");
	is_int(aif_service_job_end(&je, why, sizeof(why)), 0, "a job's end is charged");
	is_int(_charged(), 2 * AIF_AMOUNT_PER_GPU_HOUR, "2 h100 for an hour: 2.00 GPU-hours");
	is_int(aif_service_job_end(&je, why, sizeof(why)), 1,
	       "the same run again is a repeat, not charged");
	is_int(_charged(), 2 * AIF_AMOUNT_PER_GPU_HOUR, "the balance is unchanged");

	je.job_id = 8;
	je.gpus[0] = (struct aif_job_gpus) { "a100", 4 };
	je.end = je.start + 2 * 3600;
	is_int(aif_service_job_end(&je, why, sizeof(why)), 0, "4 a100 for 2 hours");
	is_int(_charged(), 6 * AIF_AMOUNT_PER_GPU_HOUR, "at 0.5: 4.00 more, 6.00 in all");
	like(last_info, "grant g1 reached 50%", "crossing 50%% of the grant is logged");

	je.job_id = 9;
	je.start = je.end = 1800000100;
	is_int(aif_service_job_end(&je, why, sizeof(why)), 0,
	       "a job that never ran is not an error");
	is_int(_charged(), 6 * AIF_AMOUNT_PER_GPU_HOUR, "and costs nothing");

	aif_service_flush();
	aif_service_stop();
	is_int(aif_journal_verify(jdir, &report), 0,
	       "the journal's chain verifies, across the files it rotated");
	ok(report.records >= 3, "two charges, a threshold record and rotations");
	like(last_info, "journal rotated", "rotation is logged");

	/* A restart: the charges come back from the journal, the runs too. */
	is_int(aif_service_start(&hooks), 0, "the service starts again");
	is_int(_charged(), 6 * AIF_AMOUNT_PER_GPU_HOUR, "the journal rebuilds the balance");
	je.job_id = 8;
	je.end = je.start + 2 * 3600;
	je.start = 1800000100;
	is_int(aif_service_job_end(&je, why, sizeof(why)), 1,
	       "a run charged before the restart is still a repeat");
	aif_service_stop();
}

/* The snapshot of what the journal in jdir holds, as text; "" if none. */
static const char *_snapshot_body(const char *jdir, uint64_t *seq)
{
	static char text[4096];
	char hash[AIF_SHA256_HEX_LEN], *body;
	size_t len;

	text[0] = '\0';
	*seq = 0;
	if (aif_snapshot_read(jdir, &body, &len, seq, hash))
		return text;
	snprintf(text, sizeof(text), "%s", body);
	free(body);
	return text;
}

/* Write a snapshot of body at the journal's own last record. */
static int _forge_snapshot(const char *jdir, const char *body, bool at_end)
{
	struct aif_journal *j;
	char hash[AIF_SHA256_HEX_LEN] = "";
	uint64_t seq = 1;

	if (aif_journal_open(jdir, &j, NULL))
		return -1;
	if (at_end)
		aif_journal_last(j, &seq, hash);
	else
		memset(hash, 'a', AIF_SHA256_HEX_LEN - 1);
	aif_journal_close(j);
	return aif_snapshot_write(jdir, body, strlen(body), seq, hash);
}

/* The snapshot: written as records go and at stop, loaded at start, the
 * journal replayed only after it; a bad one is never trusted. */
static void test_snapshot(const char *dir, const char *path)
{
	char jdir[128], why[512], line[256];
	struct aif_service_hooks hooks = {
		.policy_path = path, .journal_dir = jdir, .cluster = "aif",
		.conf_stamp = &stamp, .info = _info, .error = _error,
		.snapshot_every = 2,
	};
	struct aif_job_end je = {
		.job_id = 20, .uid = 1001, .user = "alice", .account = "p",
		.admin_comment = "aif:class=c,project=p,mode=m",
		.state = "COMPLETED", .submit = 1800000000,
		.start = 1800000100, .end = 1800001900,
		.nnodes = 1, .ngpus = 1, .gpus = { { "h100", 1 } },
	};
	struct aif_book *t;
	struct aif_verify_report report;
	time_t now = time(NULL);
	uint64_t seq;

	snprintf(jdir, sizeof(jdir), "%s/snapjournal", dir);
	_write(path, billed);
	is_int(aif_service_start(&hooks), 0, "snapshot: the service starts");
	is_int(aif_service_job_end(&je, why, sizeof(why)), 0, "half an hour on one h100");
	je.job_id = 21;
	is_int(aif_service_job_end(&je, why, sizeof(why)), 0, "and again");
	aif_service_flush();
	like(_snapshot_body(jdir, &seq), "charged p g1 3600000\n",
	     "two records in, the writer has snapshotted the book");
	ok(seq >= 2, "the snapshot covers the journal up to its last record");

	/* A run that ended long ago is charged, and forgotten by the next
	 * snapshot: its end can no longer come again. */
	je.job_id = 22;
	je.end = now - 8 * 24 * 3600;
	je.start = je.end - 1800;
	is_int(aif_service_job_end(&je, why, sizeof(why)), 0, "a run of last week");
	aif_service_checkpoint();
	like(_snapshot_body(jdir, &seq), "charged p g1 5400000\n",
	     "a checkpoint (slurmctld stopping) snapshots the charges of all three");
	snprintf(line, sizeof(line), "run aif:20:1800000100 1800001900\n");
	like(_snapshot_body(jdir, &seq), line, "with the runs");
	aif_service_stop();
	snprintf(line, sizeof(line), "aif:22:%lld", (long long) je.start);
	ok(!strstr(_snapshot_body(jdir, &seq), line),
	   "a run that ended more than a week ago is not remembered");
	is_int(aif_journal_verify(jdir, &report), 0, "the journal verifies");
	is_int(report.snapshot, 1, "and the snapshot is found in its chain");

	/* A start takes the snapshot and replays nothing after it. */
	_clear_logs();
	is_int(aif_service_start(&hooks), 0, "the service starts from its snapshot");
	snprintf(line, sizeof(line), "(snapshot at seq %llu, then 0 records)",
		 (unsigned long long) seq);
	like(info_log, line, "nothing after the snapshot is replayed");
	is_int(_charged(), 3 * AIF_AMOUNT_PER_GPU_HOUR / 2, "the balance is the snapshot's");
	je.job_id = 21;
	je.start = 1800000100;
	je.end = 1800001900;
	is_int(aif_service_job_end(&je, why, sizeof(why)), 1,
	       "a run the snapshot remembers is a repeat");
	aif_service_stop();

	/* The snapshot is what the start believes: one saying more shows. */
	ok(_forge_snapshot(jdir, "aifactory-ledger 1\ncharged p g1 7200000\n", true) == 0,
	   "a snapshot of 2 GPU-hours is written at the journal's end");
	is_int(aif_service_start(&hooks), 0, "the service starts");
	is_int(_charged(), 2 * AIF_AMOUNT_PER_GPU_HOUR, "the balance comes from the snapshot");
	aif_service_stop();

	/* A snapshot of another chain, or an unreadable one: the whole
	 * journal is replayed, and the balance is the journal's. */
	ok(_forge_snapshot(jdir, "aifactory-ledger 1\ncharged p g1 7200000\n", false) == 0,
	   "a snapshot naming a hash the journal does not have");
	_clear_logs();
	is_int(aif_service_start(&hooks), 0, "the service starts");
	like(error_log, "does not replay", "the mismatch is logged");
	is_int(_charged(), 3 * AIF_AMOUNT_PER_GPU_HOUR / 2, "and the journal's own balance rebuilt");
	aif_service_stop();

	ok(_forge_snapshot(jdir, "aifactory-ledger 1\ncharged p\n", true) == 0,
	   "a snapshot with a line cut short");
	_clear_logs();
	is_int(aif_service_start(&hooks), 0, "the service starts");
	like(error_log, "unusable (snapshot line 2: not a charged, overdraw, burn or run line): replaying the whole journal",
	     "the bad line is named");
	is_int(_charged(), 3 * AIF_AMOUNT_PER_GPU_HOUR / 2, "the balance is the journal's");
	aif_service_stop();

	/* The body's own grammar. */
	t = aif_book_new(NULL);
	is_int(aif_book_load(t, "aifactory-ledger 2\n", 19, why, sizeof(why)), -1,
	       "another format is refused");
	like(why, "does not start with \"aifactory-ledger 1\"", "and said so");
	is_int(aif_book_load(t, "aifactory-ledger 1\nrun k 12", 27, why, sizeof(why)), -1,
	       "a last line without its newline is refused");
	is_int(errno, EBADMSG, "as a bad message");
	like(why, "snapshot line 2: no newline at the end", "naming the line");
	is_int(aif_book_load(t, "aifactory-ledger 1\noverdraw p 12x\n", 34, why, sizeof(why)), -1,
	       "a number with junk after it is refused");
	aif_book_free(t);
}


static const char guarded[] =
	"{ \"version\": 1,\n"
	"  \"billing\": { \"gpu_weights\": { \"h100\": 1.0 } },\n"
	"  \"classes\": { \"c\": { } },\n"
	"  \"projects\": { \"p\": { \"class\": \"c\", \"mode\": \"m\", \"users\": [\"root\"],\n"
	"    \"grants\": [ { \"name\": \"g1\", \"gpu_hours\": 100,\n"
	"      \"valid_from\": \"2020-01-01\", \"valid_until\": \"2099-12-31\" } ] } } }\n";

/* What job_submit does for root's job of one h100 for an hour in p. */
static void _admit(struct aif_decision *d)
{
	struct aif_policy *p = aif_service_policy();
	struct aif_request r = { .account = "p", .uid = 0, .nodes = 1,
				 .time_limit = 60, .now = time(NULL) };
	struct aif_gpu_spec spec = { .tres_per_node = "gpu:h100:1", .nodes = 1 };
	char err[AIF_ERR_MAX];

	memset(d, 0, sizeof(*d));
	d->rule = "";
	if (!p)
		return;
	aif_gpus_normalise(&spec, &r.gpus, err, sizeof(err));
	aif_decide(p, &r, d);
	aif_lien_admit(aif_service_ledger(), p, &r, d);
	aif_service_decision(&r, d, p);
	aif_policy_unref(p);
}

struct count_arg {
	const char *run;	/* charge records of this run */
	const char *rule;	/* decision records of this rule */
	int n;
	int64_t sum;		/* of their "count" fields */
};

static int _count(const struct aif_record *r, void *arg)
{
	struct count_arg *c = arg;
	const char *s;

	if (c->run && r->type == AIF_RECORD_CHARGE &&
	    (s = aif_record_str(r, "run")) && !strcmp(s, c->run))
		c->n++;
	if (c->rule && r->type == AIF_RECORD_DECISION &&
	    (s = aif_record_str(r, "rule")) && !strcmp(s, c->rule)) {
		int64_t v = 0;

		c->n++;
		if (!aif_record_int(r, "count", &v))
			c->sum += v;
	}
	return 0;
}

/* Records of the journal in jdir about run (or with rule); -1 if it
 * does not replay. */
static int _records_of(const char *jdir, const char *run, const char *rule)
{
	struct count_arg c = { run, rule, 0, 0 };

	return aif_journal_replay(jdir, 0, NULL, _count, &c, NULL) ? -1 : c.n;
}

/* Change the first "from" after the last newline but one of file. */
static int _edit_last(const char *file, const char *from, const char *to)
{
	static char buf[1 << 16];
	FILE *f = fopen(file, "r+");
	size_t n;
	char *at, *line;

	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	line = n >= 2 ? buf + n - 2 : buf;
	while (line > buf && *line != '\n')
		line--;
	if (n < 2 || !(at = strstr(line, from)) || strlen(from) != strlen(to)) {
		fclose(f);
		return -1;
	}
	memcpy(at, to, strlen(to));
	rewind(f);
	fwrite(buf, 1, n, f);
	return fclose(f);
}

/* Wait (bounded, 10 s) until a metered job is admitted again. */
static bool _wait_open(void)
{
	struct aif_decision d;

	for (int i = 0; i < 100; i++) {
		_admit(&d);
		if (d.verdict != AIF_REFUSE)
			return true;
		usleep(100000);
	}
	return false;
}

/*
 * Issue 8, point 2: a journal that cannot be opened at start. Metered
 * classes fail closed (exhausted_action, logged at error level), the good
 * snapshot is used, the damage is named as audit verify names it,
 * records and charges wait, and a reconfigure (or the timer) opens the
 * journal again once it is repaired.
 */
static void test_damaged(const char *dir, const char *path)
{
	char jdir[128], file[160], why[512], run[64];
	struct aif_service_hooks hooks = {
		.policy_path = path, .journal_dir = jdir, .cluster = "aif",
		.conf_stamp = &stamp, .info = _info, .error = _error,
		.snapshot_every = 1000000, .retry_seconds = 1,
	};
	struct aif_job_end je = {
		.job_id = 30, .uid = 0, .user = "root", .account = "p",
		.admin_comment = "aif:class=c,project=p,mode=m",
		.state = "COMPLETED", .submit = 1800000000,
		.start = 1800000100, .end = 1800003700,
		.nnodes = 1, .ngpus = 1, .gpus = { { "h100", 2 } },
	};
	struct aif_verify_report vr;
	struct aif_decision d;
	struct aif_journal *j;
	struct aif_record rec;

	snprintf(jdir, sizeof(jdir), "%s/damaged", dir);
	snprintf(file, sizeof(file), "%s/journal", jdir);
	_write(path, guarded);
	is_int(aif_service_start(&hooks), 0, "damaged: the service starts");
	is_int(aif_service_job_end(&je, why, sizeof(why)), 0, "2 h100 for an hour");
	aif_service_checkpoint();
	aif_service_stop();

	/* A charge after the snapshot, then one byte of it changed. */
	aif_record_init(&rec, AIF_RECORD_CHARGE);
	aif_record_add_str(&rec, "run", "aif:31:1800000100");
	aif_record_add_str(&rec, "project", "p");
	aif_record_add_int(&rec, "end", 1800003700);
	aif_record_add_int(&rec, "amount", 3600000);
	aif_record_add_int(&rec, "overdraw", 0);
	aif_record_add_str(&rec, "part1", "g1=3600000/7200000/10800000");
	ok(!aif_journal_open(jdir, &j, NULL) && !aif_journal_append(j, &rec) &&
	   !aif_journal_close(j), "a charge of 1.00 after the snapshot");
	is_int(_edit_last(file, "\"amount\":3600000", "\"amount\":3600009"), 0,
	       "one byte of it is changed");
	is_int(aif_journal_verify(jdir, &vr), -1, "audit verify finds the damage");

	_clear_logs();
	is_int(aif_service_start(&hooks), 0, "the service starts on a damaged journal");
	snprintf(why, sizeof(why), "%s/journal:%llu: record %llu: ", jdir,
		 (unsigned long long) vr.line, (unsigned long long) vr.seq);
	like(error_log, why, "the log names the first bad record as audit verify does");
	is_int(_charged(), 2 * AIF_AMOUNT_PER_GPU_HOUR,
	       "the good snapshot is used: the balance is not 0");
	_admit(&d);
	is_int(d.verdict, AIF_REFUSE, "a metered job is refused (exhausted_action refuse)");
	is_str(d.rule, "budget.unavailable", "by the rule that says budgets are unavailable");
	like(d.message, "GPU-hour budgets are unavailable", "and the user is told why");
	like(error_log, "metered classes get their exhausted_action",
	     "failing closed is logged at error level");

	/* A run ending now waits for the ledger: charged once rebuilt. */
	je.job_id = 32;
	je.gpus[0].count = 1;
	is_int(aif_service_job_end(&je, why, sizeof(why)), 0,
	       "a run that ends while the journal is damaged is accepted");
	is_int(aif_service_job_end(&je, why, sizeof(why)), 1,
	       "and its repeat is a repeat");
	aif_service_flush();

	/* The operator restores the file; a reconfigure opens it. */
	is_int(_edit_last(file, "\"amount\":3600009", "\"amount\":3600000"), 0,
	       "the operator restores the damaged byte");
	_clear_logs();
	is_int(aif_service_reload(), 0, "scontrol reconfigure");
	like(info_log, "GPU-hour budgets are enforced again", "the recovery is logged");
	is_int(_charged(), 4 * AIF_AMOUNT_PER_GPU_HOUR,
	       "snapshot, the repaired record and the waiting run: 4.00");
	_admit(&d);
	ok(d.verdict != AIF_REFUSE, "a metered job is admitted again");
	aif_service_flush();
	aif_service_stop();
	is_int(aif_journal_verify(jdir, &vr), 0, "the journal verifies");
	snprintf(run, sizeof(run), "aif:32:%lld", (long long) je.start);
	is_int(_records_of(jdir, run, NULL), 1, "the waiting run is journalled once");
	is_int(_records_of(jdir, NULL, "budget.unavailable"), 1,
	       "the refusal made while it was down is journalled too");

	/* A directory others may write: refused, then the timer retries. */
	chmod(jdir, 0770);
	_clear_logs();
	is_int(aif_service_start(&hooks), 0, "the service starts on an unsafe directory");
	like(error_log, "cannot be opened", "the journal is not opened");
	_admit(&d);
	is_str(d.rule, "budget.unavailable", "metered jobs fail closed");
	chmod(jdir, 0700);
	ok(_wait_open(), "the timer opens the journal once the mode is fixed");
	is_int(_charged(), 4 * AIF_AMOUNT_PER_GPU_HOUR, "and the ledger is rebuilt");
	aif_service_stop();
}

/*
 * SLURM 24.05's reconfigure: a new slurmctld starts while the one it
 * replaces still holds the journal, and takes over once that one ends. A
 * refused policy is said to leave the running one's in force.
 */
static void test_replacing(const char *dir, const char *path)
{
	char jdir[128];
	struct aif_service_hooks hooks = {
		.policy_path = path, .journal_dir = jdir, .cluster = "aif",
		.conf_stamp = &stamp, .info = _info, .error = _error,
		.retry_seconds = 60, .replacing = true,
	};
	struct aif_decision d;
	struct aif_journal *old;
	struct timespec t0, t1;
	double waited;

	snprintf(jdir, sizeof(jdir), "%s/replacing", dir);
	_write(path, guarded);
	ok(!aif_journal_open(jdir, &old, NULL), "replacing: the old process holds the journal");
	_clear_logs();
	is_int(aif_service_start(&hooks), 0, "the new one starts");
	like(error_log, "open in another process", "and cannot open the journal yet");
	_admit(&d);
	is_str(d.rule, "budget.unavailable", "metered jobs wait for it");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	aif_journal_close(old);
	ok(_wait_open(), "once the old process ends, the journal is opened");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	waited = (double) (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	ok(waited < 30, "within the handover poll, not the 60 s retry (%.2f s)", waited);
	aif_service_stop();

	_write(path, "{ \"version\": 2 }\n");
	_clear_logs();
	is_int(aif_service_start(&hooks), 0, "a new process with a broken policy starts");
	like(error_log, "refused; the last good policy stays in force in the running process this one was to replace",
	     "and says the running process keeps its policy");
	ok(aif_service_policy() == NULL, "it has none itself");
	aif_service_stop();
}

/*
 * The metrics file: written whole (by rename) a second after the start,
 * then every interval; grants, decisions, the journal; a directory that
 * is missing is said once, and the file is written once it is there.
 */
static void test_metrics(const char *dir, const char *path)
{
	char jdir[128], mdir[128], prom[160], policy[1024], text[8192];
	struct aif_service_hooks hooks = {
		.policy_path = path, .journal_dir = jdir, .cluster = "aif",
		.conf_stamp = &stamp, .info = _info, .error = _error,
	};
	struct aif_request r = { .uid = 0 };
	struct aif_decision d = { .verdict = AIF_REFUSE,
				  .rule = "class.max_gpus_per_job" };
	FILE *f;
	size_t n = 0;

	snprintf(jdir, sizeof(jdir), "%s/metrics-journal", dir);
	snprintf(mdir, sizeof(mdir), "%s/metrics", dir);
	snprintf(prom, sizeof(prom), "%s/aifactory.prom", mdir);
	snprintf(policy, sizeof(policy),
		 "{ \"version\": 1, \"metrics\": { \"file\": \"%s\", \"interval\": 5 },\n"
		 "  \"billing\": { \"gpu_weights\": { \"h100\": 1.0 } },\n"
		 "  \"classes\": { \"c\": { } },\n"
		 "  \"projects\": { \"p\": { \"class\": \"c\", \"mode\": \"m\",\n"
		 "    \"grants\": [ { \"name\": \"g1\", \"gpu_hours\": 100,\n"
		 "      \"valid_from\": \"2020-01-01\", \"valid_until\": \"2099-12-31\" } ] } } }\n",
		 prom);
	_write(path, policy);
	_clear_logs();
	is_int(aif_service_start(&hooks), 0, "metrics: the service starts");
	aif_service_decision(&r, &d, NULL);
	aif_service_decision(&r, &d, NULL);
	d.verdict = AIF_ACCEPT;
	d.rule = NULL;
	aif_service_decision(&r, &d, NULL);
	for (int i = 0; i < 30 && !strstr(error_log, "metrics file"); i++)
		usleep(100000);
	like(error_log, "/metrics/aifactory.prom NOT written: No such file or directory",
	     "a missing directory is said");
	mkdir(mdir, 0755);
	for (int i = 0; i < 80 && access(prom, F_OK); i++)
		usleep(100000);
	ok(!access(prom, F_OK), "once it is there, the file is written");
	like(info_log, "/metrics/aifactory.prom written again", "and that is said too");
	if ((f = fopen(prom, "r"))) {
		n = fread(text, 1, sizeof(text) - 1, f);
		fclose(f);
	}
	text[n] = '\0';
	like(text, "\n# TYPE aifactory_grant_gpu_hours gauge\n",
	     "each metric has its HELP and TYPE");
	like(text, "\naifactory_grant_gpu_hours{project=\"p\",grant=\"g1\",state=\"granted\"} 100.00\n",
	     "the grant's GPU-hours");
	like(text, "\naifactory_decisions_total{verdict=\"refuse\",rule=\"class.max_gpus_per_job\"} 2\n",
	     "two refusals by their rule");
	like(text, "\naifactory_decisions_total{verdict=\"accept\",rule=\"none\"} 1\n",
	     "one accept");
	like(text, "\naifactory_budgets_enforced 1\n", "budgets enforced");
	like(text, "\naifactory_journal_records_total ", "the journal's records");
	ok(access(prom, F_OK) == 0 && strstr(text, "aifactory_metrics_written_timestamp_seconds"),
	   "written whole");
	aif_service_stop();
}

/* Issue 8, point 3: a failed write never loses a charge. */
static void test_full(const char *dir, const char *path)
{
	char jdir[128], file[160], why[512], run[64];
	struct aif_service_hooks hooks = {
		.policy_path = path, .journal_dir = jdir, .cluster = "aif",
		.conf_stamp = &stamp, .info = _info, .error = _error,
		.snapshot_every = 1000000, .retry_seconds = 1,
	};
	struct aif_job_end je = {
		.job_id = 40, .uid = 0, .user = "root", .account = "p",
		.admin_comment = "aif:class=c,project=p,mode=m",
		.state = "COMPLETED", .submit = 1800000000,
		.start = 1800000100, .end = 1800003700,
		.nnodes = 1, .ngpus = 1, .gpus = { { "h100", 1 } },
	};
	struct rlimit old, lim;
	struct stat st;
	bool retried = false;

	snprintf(jdir, sizeof(jdir), "%s/full", dir);
	snprintf(file, sizeof(file), "%s/journal", jdir);
	_write(path, guarded);
	is_int(aif_service_start(&hooks), 0, "full: the service starts");
	is_int(aif_service_job_end(&je, why, sizeof(why)), 0, "a run is charged");
	aif_service_flush();

	/* The journal cannot grow: every append fails with EFBIG. */
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	if (stat(file, &st) == 0)
		lim.rlim_cur = (rlim_t) st.st_size;
	setrlimit(RLIMIT_FSIZE, &lim);
	_clear_logs();
	je.job_id = 41;
	is_int(aif_service_job_end(&je, why, sizeof(why)), 0, "a run ends while the disk is full");
	aif_service_flush();
	like(error_log, "File too large", "the failed append is logged");
	like(error_log, "kept", "and its record is kept to be written again");
	is_int(aif_service_job_end(&je, why, sizeof(why)), 1,
	       "SLURM's retry of the run while its record waits is a repeat");
	is_int(_charged(), 2 * AIF_AMOUNT_PER_GPU_HOUR, "charged once: 2.00");

	setrlimit(RLIMIT_FSIZE, &old);
	for (int i = 0; i < 50 && !retried; i++) {
		aif_service_flush();
		snprintf(run, sizeof(run), "aif:41:%lld", (long long) je.start);
		retried = _records_of(jdir, run, NULL) == 1;
		if (!retried)
			usleep(100000);
	}
	ok(retried, "once the disk has room the record is written, once");
	aif_service_stop();
	is_int(_records_of(jdir, run, NULL), 1, "and it is there once after the stop");
}

/* fdatasync(2) as the library sees it: this definition comes before
 * libc's, so a test can make the next syncs fail as a disk would (EIO). */
static volatile int syncs_to_fail;

int fdatasync(int fd)
{
	if (syncs_to_fail > 0) {
		syncs_to_fail--;
		errno = EIO;
		return -1;
	}
	return (int) syscall(SYS_fdatasync, fd);
}

/* Issue 8, point 3: a failed fdatasync neither loses the charge nor
 * breaks the journal for good: the records are written again. */
static void test_sync_fails(const char *dir, const char *path)
{
	char jdir[128], why[512], run[64];
	struct aif_service_hooks hooks = {
		.policy_path = path, .journal_dir = jdir, .cluster = "aif",
		.conf_stamp = &stamp, .info = _info, .error = _error,
		.snapshot_every = 1000000, .retry_seconds = 1,
	};
	struct aif_job_end je = {
		.job_id = 50, .uid = 0, .user = "root", .account = "p",
		.admin_comment = "aif:class=c,project=p,mode=m",
		.state = "COMPLETED", .submit = 1800000000,
		.start = 1800000100, .end = 1800003700,
		.nnodes = 1, .ngpus = 1, .gpus = { { "h100", 1 } },
	};
	bool written = false;

	snprintf(jdir, sizeof(jdir), "%s/syncfail", dir);
	_write(path, guarded);
	is_int(aif_service_start(&hooks), 0, "sync fails: the service starts");
	is_int(aif_service_job_end(&je, why, sizeof(why)), 0, "a run is charged");
	aif_service_flush();

	_clear_logs();
	syncs_to_fail = 1;
	je.job_id = 51;
	is_int(aif_service_job_end(&je, why, sizeof(why)), 0,
	       "a run ends and the disk fails its sync");
	aif_service_flush();
	like(error_log, "records failed: Input/output error", "the failed sync is logged");
	like(error_log, "written again", "and its records are written again");
	is_int(aif_service_job_end(&je, why, sizeof(why)), 1,
	       "SLURM's retry of the run meanwhile is a repeat");
	is_int(_charged(), 2 * AIF_AMOUNT_PER_GPU_HOUR, "charged once: 2.00");
	snprintf(run, sizeof(run), "aif:51:%lld", (long long) je.start);
	for (int i = 0; i < 50 && !written; i++) {
		aif_service_flush();
		written = _records_of(jdir, run, NULL) == 1;
		if (!written)
			usleep(100000);
	}
	ok(written, "the journal reopens and the record is written, once");
	aif_service_stop();
	is_int(_records_of(jdir, run, NULL), 1, "and it is there once after the stop");
	ok(!aif_journal_verify(jdir, &(struct aif_verify_report){ 0 }),
	   "the chain verifies");
}

/* Issue 8, point 2: records wait in a bounded queue; an overflow is
 * logged, counted, and the count reaches the journal. */
static void test_overflow(const char *dir, const char *path)
{
	char jdir[128];
	struct aif_service_hooks hooks = {
		.policy_path = path, .journal_dir = jdir, .cluster = "aif",
		.conf_stamp = &stamp, .info = _info, .error = _error,
		.retry_seconds = 1, .queue_max = 8,
	};
	struct aif_decision d;
	struct count_arg c = { NULL, "journal.queue_full", 0, 0 };

	snprintf(jdir, sizeof(jdir), "%s/overflow", dir);
	_write(path, guarded);
	is_int(aif_service_start(&hooks), 0, "overflow: the service starts");
	aif_service_stop();
	chmod(jdir, 0770);
	is_int(aif_service_start(&hooks), 0, "it starts on an unsafe directory");
	_clear_logs();
	for (uid_t uid = 2000; uid < 2006; uid++) {
		struct aif_policy *p = aif_service_policy();
		struct aif_request r = { .account = "p", .uid = uid, .nodes = 1 };

		aif_decide(p, &r, &d);
		aif_service_decision(&r, &d, p);
		aif_policy_unref(p);
	}
	like(error_log, "journal queue full", "an overflow is logged");
	like(error_log, "1 dropped in all", "and counted (the log says it once a second)");
	chmod(jdir, 0700);
	ok(_wait_open(), "the journal opens again");
	aif_service_flush();
	aif_service_stop();
	is_int(_records_of(jdir, NULL, d.rule), 4,
	       "the refusals of six users that found room are journalled");
	is_int(aif_journal_replay(jdir, 0, NULL, _count, &c, NULL), 0, "the journal replays");
	is_int(c.n, 1, "one record counts those that found no room");
	ok(c.sum >= 2, "all of them (the waits for the journal dropped more)");
}

/* The decision records of uid in the journal in jdir: how many, the sum
 * of their "repeated" fields, and the longest line's account. */
struct refusals {
	int64_t uid;
	int n, whole;		/* records; of which whole refusals */
	int64_t repeated;	/* refusals counted in the others */
	size_t account;
};

static int _refusal(const struct aif_record *r, void *arg)
{
	struct refusals *c = arg;
	int64_t uid = -1, v = 0;
	const char *a;

	if (r->type != AIF_RECORD_DECISION || aif_record_int(r, "uid", &uid) ||
	    uid != c->uid)
		return 0;
	c->n++;
	if (!aif_record_int(r, "repeated", &v))
		c->repeated += v;
	else
		c->whole++;
	if ((a = aif_record_str(r, "account")) && strlen(a) > c->account)
		c->account = strlen(a);
	return 0;
}

/* Issue 8, point 9: a user refused again and again grows the journal by
 * a record per rule and window, not one per refusal; an account string
 * that names no project is not kept. */
static void test_refusals(const char *dir, const char *path)
{
	char jdir[128], account[400];
	struct aif_service_hooks hooks = {
		.policy_path = path, .journal_dir = jdir, .cluster = "aif",
		.conf_stamp = &stamp, .info = _info, .error = _error,
		.refusal_window = 1,
	};
	struct aif_request r = { .account = account, .uid = 1234, .nodes = 1,
				 .time_limit = 60 };
	struct refusals c = { .uid = 1234 };
	struct aif_policy *p;
	struct aif_decision d;

	snprintf(jdir, sizeof(jdir), "%s/refusals", dir);
	memset(account, 'x', sizeof(account) - 1);
	account[sizeof(account) - 1] = '\0';
	_write(path, guarded);
	is_int(aif_service_start(&hooks), 0, "refusals: the service starts");
	p = aif_service_policy();
	for (int i = 0; i < 500; i++) {
		r.now = time(NULL);
		aif_decide(p, &r, &d);
		aif_service_decision(&r, &d, p);
	}
	is_int(d.verdict, AIF_REFUSE, "a user who is in no project is refused");
	aif_policy_unref(p);
	sleep(2);	/* the window closes */
	aif_service_flush();
	aif_service_stop();
	is_int(aif_journal_replay(jdir, 0, NULL, _refusal, &c, NULL), 0,
	       "the journal replays");
	ok(c.n >= 1 && c.n <= 4, "500 refusals of one user and rule: a few records (%d)", c.n);
	is_int(c.whole + c.repeated, 500, "that count every refusal");
	is_int(c.account, 0, "an account string that names no project is not kept");
}

int main(void)
{
	char dir[] = "/tmp/aif-test-service.XXXXXX", path[64];
	struct aif_service_hooks hooks = {
		.conf_stamp = &stamp, .info = _info, .error = _error,
	};
	struct aif_policy *p;

	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/aifactory.json", dir);
	hooks.policy_path = path;

	ok(aif_service_policy() == NULL, "no policy before the service starts");
	_write(path, good);
	is_int(aif_service_start(&hooks), 0, "the service starts");
	p = aif_service_policy();
	ok(p && aif_policy_project(p, "p"), "the policy is loaded at start");
	aif_policy_unref(p);
	like(last_info, "policy /tmp/aif-test-service.", "its load is logged");
	ok(aif_service_ledger() != NULL, "the ledger exists");
	is_int(aif_service_start(&hooks), 0, "a second plugin takes a reference");

	/* A broken file on a reconfigure: the last good policy stays. */
	_write(path, "{ \"version\": 1, \"classes\": { \"c\": { \"max_gpus\": 8 } } }\n");
	stamp = time(NULL);
	sleep(2);
	like(last_error, "refused; the last good policy", "a broken file is refused");
	is_int(_wait_projects(1), 1, "the last good policy stays in force");

	/* A good file on the next reconfigure takes over. */
	_write(path, better);
	stamp = time(NULL);
	is_int(_wait_projects(2), 2, "a reconfigure loads the new policy");
	is_int(aif_service_reload(), 0, "an explicit reload works too");

	aif_service_stop();
	ok(aif_service_ledger() != NULL, "one stop of two keeps the service");
	aif_service_stop();
	ok(aif_service_ledger() == NULL && aif_service_policy() == NULL,
	   "the last stop ends it");
	test_start_window(path);
	test_settlement(dir, path);
	test_snapshot(dir, path);
	test_damaged(dir, path);
	test_full(dir, path);
	test_replacing(dir, path);
	test_metrics(dir, path);
	test_sync_fails(dir, path);
	test_overflow(dir, path);
	test_refusals(dir, path);
	unlink(path);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			return 1;
	}
	return done();
}
