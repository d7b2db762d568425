/*
 * Unit tests of settling through the service (common/settle.c): what a
 * charge's journal record holds, and that replay, the snapshot and a
 * restart see all of it.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <string.h>
#include <unistd.h>

#include "book.h"
#include "service.h"
#include "settle_run.h"
#include "tap.h"

#define H AIF_AMOUNT_PER_GPU_HOUR
#define GRANTS 14

static time_t stamp;
static char last_error[2048];

static void _info(const char *fmt, ...)
{
	(void) fmt;
}

static int _error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	printf("# error: %s\n", last_error);
	return 0;
}

static void _write(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* Project p with GRANTS grants of 1 GPU-hour each, all alike but for the
 * name: a charge of 13 GPU-hours is drawn from 13 of them. */
static void _policy_many_grants(char *buf, size_t len, size_t namelen)
{
	size_t used = (size_t) snprintf(buf, len,
		"{ \"version\": 1,\n"
		"  \"billing\": { \"gpu_weights\": { \"h100\": 1.0 } },\n"
		"  \"classes\": { \"c\": { } },\n"
		"  \"projects\": { \"p\": { \"class\": \"c\", \"mode\": \"m\",\n"
		"    \"groups\": [\"aif-nobody-group\"],\n"
		"    \"grants\": [\n");

	for (int i = 1; i <= GRANTS && used < len; i++)
		used += (size_t) snprintf(buf + used, len - used,
			"      { \"name\": \"g%02d%.*s\", \"gpu_hours\": 1,\n"
			"        \"valid_from\": \"2020-01-01\", \"valid_until\": \"2099-12-31\" }%s\n",
			i, (int) namelen,
			"-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
			i < GRANTS ? "," : "");
	if (used < len)
		snprintf(buf + used, len - used, "    ] } } }\n");
}

static aif_amount_t _charged_all(void)
{
	struct aif_grant_balance b[GRANTS + 2];
	struct aif_project_balance sum;
	aif_amount_t total = 0;

	if (aif_ledger_balance(aif_service_ledger(), "p", b, GRANTS + 2, &sum))
		return -1;
	for (size_t i = 0; i < sum.ngrants && i < GRANTS + 2; i++)
		total += b[i].charged;
	return total + sum.overdraw;
}

/* The last record of a type in the journal, copied out. */
struct last {
	enum aif_record_type type;
	struct aif_record rec;
	int found;
};

static int _keep_last(const struct aif_record *r, void *arg)
{
	struct last *l = arg;

	if (r->type == l->type) {
		l->rec = *r;
		l->found++;
	}
	return 0;
}

/* Every "grant=amount..." item of a charge record's part fields. */
static size_t _parts(const struct aif_record *r, aif_amount_t *sum)
{
	size_t n = 0;

	*sum = 0;
	for (size_t i = 0; i < aif_record_nfields(r); i++) {
		const char *key, *str;
		int64_t num;

		if (aif_record_field(r, i, &key, &str, &num) || !str ||
		    strncmp(key, "part", 4))
			continue;
		for (const char *s = str; *s; ) {
			const char *eq = strchr(s, '=');

			if (!eq)
				break;
			*sum += strtoll(eq + 1, NULL, 10);
			n++;
			s += strcspn(s, " ");
			s += strspn(s, " ");
		}
	}
	return n;
}

/* Forward: the policy written to path, loaded. */
static struct aif_policy *_load_text(const char *path, const char *text)
{
	struct aif_load_report report = { 0 };
	struct aif_policy *p;

	_write(path, text);
	p = aif_policy_load(path, NULL, &report);
	aif_load_report_free(&report);
	return p;
}

static struct aif_job_end _job(uint32_t id, uint64_t gpus)
{
	struct aif_job_end je = {
		.job_id = id, .uid = 1001, .user = "alice", .account = "p",
		.admin_comment = "aif:class=c,project=p,mode=m",
		.name = "big", .state = "COMPLETED",
		.submit = 1800000000, .start = 1800000100, .end = 1800003700,
		.nnodes = 2, .ngpus = 1, .gpus = { { "h100", gpus } },
	};

	return je;
}

/*
 * Point 1 of issue 8: a charge drawn from more than 12 grants was
 * journalled without its parts, and a restart counted it as 0.
 */
static void test_many_parts(const char *dir, const char *path, size_t namelen)
{
	char jdir[160], why[512], text[8192];
	struct aif_service_hooks hooks = {
		.policy_path = path, .journal_dir = jdir, .cluster = "aif",
		.conf_stamp = &stamp, .info = _info, .error = _error,
	};
	struct aif_job_end je = _job(100, 13);
	struct last last = { .type = AIF_RECORD_CHARGE };
	struct aif_verify_report report;
	aif_amount_t sum;
	int64_t amount = 0;

	snprintf(jdir, sizeof(jdir), "%s/many%zu", dir, namelen);
	_policy_many_grants(text, sizeof(text), namelen);
	_write(path, text);
	is_int(aif_service_start(&hooks), 0, "many grants (names of %zu+3 bytes): the service starts", namelen);
	is_int(aif_service_job_end(&je, why, sizeof(why)), 0,
	       "13 h100 for an hour are charged");
	is_str(why, "", "with nothing to report");
	is_int(_charged_all(), 13 * H, "13.00 GPU-hours charged in memory");
	aif_service_flush();
	aif_service_stop();

	is_int(aif_journal_replay(jdir, 0, NULL, _keep_last, &last, &report), 0,
	       "the journal replays");
	is_int(last.found, 1, "one charge record");
	aif_record_int(&last.rec, "amount", &amount);
	is_int(amount, 13 * H, "its amount is 13.00 GPU-hours");
	is_int((long long) _parts(&last.rec, &sum), 13,
	       "the record as written carries all 13 parts");
	is_int(sum, 13 * H, "and they add up to the amount");

	is_int(aif_service_start(&hooks), 0, "a restart (replay of the journal)");
	is_int(_charged_all(), 13 * H, "13.00 GPU-hours charged after the restart too");
	je = _job(100, 13);
	is_int(aif_service_job_end(&je, why, sizeof(why)), 1,
	       "and the run is a repeat");
	aif_service_checkpoint();
	aif_service_stop();

	is_int(aif_service_start(&hooks), 0, "another restart (from the snapshot)");
	is_int(_charged_all(), 13 * H, "13.00 GPU-hours charged from the snapshot");
	aif_service_stop();
}

static int _replay_into(const struct aif_record *r, void *arg)
{
	return aif_book_replay(r, arg);
}

/* aifctl audit verify on a journal of rec alone: its exit code and
 * first line of output. */
static void _audit(const char *dir, struct aif_record *rec, const char *want,
		   int want_rc, const char *what)
{
	const char *top = getenv("top_builddir");
	char jdir[160], cmd[512], out[1024] = "";
	struct aif_journal *j;
	FILE *f;
	int rc;

	snprintf(jdir, sizeof(jdir), "%s/audit%d", dir, want_rc);
	if (aif_journal_open(jdir, &j, NULL)) {
		ok(0, "%s: the journal opens", what);
		return;
	}
	aif_journal_append(j, rec);
	aif_journal_close(j);
	snprintf(cmd, sizeof(cmd), "'%s/contrib/aifctl/aifctl' audit verify '%s' 2>&1",
		 top ? top : ".", jdir);
	if (!(f = popen(cmd, "r"))) {
		ok(0, "%s: aifctl runs", what);
		return;
	}
	if (!fgets(out, sizeof(out), f))
		out[0] = '\0';
	while (fgetc(f) != EOF)
		;
	rc = pclose(f);
	is_int(WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, want_rc, "%s: exit %d", what, want_rc);
	like(out, want, "%s", what);
}

/* The longest charge record there is: 32 parts (the ledger's most), every
 * name 63 bytes, amounts of 18-19 digits, SLURM's strings at their
 * longest. Every part is in it, and the journal takes it. */
static void test_worst_case(const char *dir)
{
	char text[16384], jdir[160], name[64], big[700], run[AIF_RUN_KEY_MAX];
	char why[512], path[160];
	struct aif_job_end je = _job(300, 1048576);
	struct aif_book *t;
	struct aif_ledger *ledger = aif_ledger_new();
	struct aif_journal *j;
	struct aif_policy *p;
	struct aif_load_report report = { 0 };
	struct aif_charge charge;
	struct aif_record rec;
	size_t used;

	memset(name, 'n', 63);
	name[63] = '\0';
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	used = (size_t) snprintf(text, sizeof(text),
		"{ \"version\": 1,\n"
		"  \"billing\": { \"gpu_weights\": { \"h100\": 1.0 } },\n"
		"  \"classes\": { \"c%.62s\": { } },\n"
		"  \"projects\": { \"p%.62s\": { \"class\": \"c%.62s\", \"mode\": \"%s\",\n"
		"    \"sector\": \"%s\", \"grants\": [\n", name, name, name, name, name);
	for (int i = 1; i <= AIF_LEDGER_PARTS_MAX; i++)
		used += (size_t) snprintf(text + used, sizeof(text) - used,
			"      { \"name\": \"%02d%.61s\", \"gpu_hours\": 70000000,\n"
			"        \"valid_from\": \"2020-01-01\", \"valid_until\": \"2099-12-31\" }%s\n",
			i, name, i < AIF_LEDGER_PARTS_MAX ? "," : "");
	snprintf(text + used, sizeof(text) - used, "    ] } } }\n");
	snprintf(path, sizeof(path), "%s/worst.json", dir);
	_write(path, text);
	p = aif_policy_load(path, NULL, &report);
	aif_load_report_free(&report);
	ok(p != NULL, "worst case: a policy of 32 grants with the longest names loads");
	if (!p || !ledger || aif_ledger_sync(ledger, p, why, sizeof(why))) {
		aif_policy_unref(p);
		aif_ledger_free(ledger);
		return;
	}
	snprintf(text, sizeof(text), "aif:class=c%.62s,project=p%.62s,mode=%s", name, name, name);
	je.admin_comment = text;
	je.end = je.start + 2200 * 3600;	/* more than all 32 grants hold */
	je.name = je.partition = je.qos = je.nodes = big;
	memset(je.gpu_index, '9', sizeof(je.gpu_index) - 1);
	snprintf(je.bind, sizeof(je.bind), "strict");
	memset(run, 'r', sizeof(run) - 1);
	run[sizeof(run) - 1] = '\0';
	is_int(settle_by_key(ledger, p, run, &je, &rec, &charge, why, sizeof(why)),
	       AIF_SETTLE_CHARGED, "a charge drawn from all 32 grants");
	is_str(why, "", "with nothing to report");
	is_int((long long) charge.nparts, AIF_LEDGER_PARTS_MAX, "32 parts");
	is_int(aif_settle_check(&rec, why, sizeof(why)), 0,
	       "its record holds every part: they and the overdraw add up to the amount");
	ok(aif_record_str(&rec, "part1") && !strchr(aif_record_str(&rec, "part1"), '/'),
	   "to hold them, the record gave up the balances before and after");
	like(aif_record_str(&rec, "nodes"), AIF_RECORD_CUT,
	     "and shortened SLURM's long strings, saying so");
	_audit(dir, &rec, ": OK: 1 records", 0,
	       "aifctl audit verify finds it whole");
	snprintf(jdir, sizeof(jdir), "%s/worst", dir);
	if (aif_journal_open(jdir, &j, NULL)) {
		ok(0, "the journal opens");
		return;
	}
	is_int(aif_journal_append(j, &rec), 0, "the journal takes the record");
	aif_journal_close(j);
	t = aif_book_new(NULL);
	is_int(aif_journal_replay(jdir, 0, NULL, _replay_into, t, NULL), 0,
	       "and it replays");
	aif_ledger_free(ledger);
	ledger = aif_ledger_new();
	aif_ledger_sync(ledger, p, why, sizeof(why));
	aif_book_apply(t, ledger, why, sizeof(why));
	{
		struct aif_grant_balance b[AIF_LEDGER_PARTS_MAX];
		struct aif_project_balance sum;
		aif_amount_t total = 0;

		snprintf(text, sizeof(text), "p%.62s", name);
		aif_ledger_balance(ledger, text, b, AIF_LEDGER_PARTS_MAX, &sum);
		for (size_t i = 0; i < AIF_LEDGER_PARTS_MAX; i++)
			total += b[i].charged;
		is_int(total + sum.overdraw, charge.total,
		       "the replayed ledger holds the whole charge");
		is_int(sum.overdraw, charge.overdraw, "with the same overdraw");
	}
	{
		/* The book counts the charge from its struct exactly as a
		 * replay of its record counts it. */
		struct aif_run_keys *ka = aif_run_keys_new(),
				    *kb = aif_run_keys_new();
		struct aif_book *a = aif_book_new(ka), *b = aif_book_new(kb);
		char *ba = NULL, *bb = NULL;
		size_t la = 0, lb = 0;

		snprintf(text, sizeof(text), "aif:class=c%.62s,project=p%.62s,mode=%s",
			 name, name, name);
		je.end = time(NULL);	/* a day of burn that still counts */
		je.start = je.end - 3600;
		ok(!settle_by_key(ledger, p, run, &je, &rec, &charge,
			    why, sizeof(why)), "a charge that ends today");
		is_int(aif_book_replay(&rec, a), 0, "replayed from its record");
		is_int(aif_book_charge(b, run, je.end, &charge), 0,
		       "and counted from its struct");
		ok(!aif_book_save(a, 0, &ba, &la) &&
		   !aif_book_save(b, 0, &bb, &lb) && la == lb &&
		   !memcmp(ba, bb, la), "the two books are the same, run key and burn included");
		free(ba);
		free(bb);
		aif_book_free(a);
		aif_book_free(b);
		aif_run_keys_free(ka);
		aif_run_keys_free(kb);
	}
	aif_book_free(t);
	aif_ledger_free(ledger);
	aif_policy_unref(p);
}

/* A charge journalled without its parts (before the fix) is not replayed
 * as nothing, and check names it. */
static void test_old_record(const char *dir)
{
	struct aif_book *t = aif_book_new(NULL);
	struct aif_ledger *ledger = aif_ledger_new();
	struct aif_record rec;
	struct aif_project_balance sum;
	char why[512], text[8192];
	struct aif_policy *p;
	struct aif_load_report report = { 0 };
	char path[160];

	snprintf(path, sizeof(path), "%s/old.json", dir);
	_policy_many_grants(text, sizeof(text), 0);
	_write(path, text);
	p = aif_policy_load(path, NULL, &report);
	aif_load_report_free(&report);
	unlink(path);
	aif_record_init(&rec, AIF_RECORD_CHARGE);
	aif_record_add_str(&rec, "run", "aif:1:1800000100");
	aif_record_add_str(&rec, "project", "p");
	aif_record_add_int(&rec, "end", 1800003700);
	aif_record_add_int(&rec, "amount", 13 * H);
	aif_record_add_int(&rec, "overdraw", 0);
	is_int(aif_settle_check(&rec, why, sizeof(why)), -1,
	       "a charge record without its parts fails the check");
	like(why, "a charge of 13.00 GPU-hours whose 0 parts and overdraw add up to 0.00: it does not say which grants paid the rest",
	     "which says what is missing");
	_audit(dir, &rec, "record 1: incomplete: a charge of 13.00 GPU-hours whose 0 parts",
	       1, "aifctl audit verify names such a record");
	is_int(aif_book_replay(&rec, t), 0, "it replays");
	aif_ledger_sync(ledger, p, why, sizeof(why));
	aif_book_apply(t, ledger, why, sizeof(why));
	is_int(aif_ledger_balance(ledger, "p", NULL, 0, &sum), 0, "old record: the project is in the ledger");
	is_int(sum.overdraw, 13 * H,
	       "as an overdraw of its amount, not as nothing");

	/* A part we never write (a sign, no number) is not replayed. */
	aif_record_init(&rec, AIF_RECORD_CHARGE);
	aif_record_add_str(&rec, "run", "aif:2:1800000100");
	aif_record_add_str(&rec, "project", "p");
	aif_record_add_int(&rec, "amount", 0);
	aif_record_add_str(&rec, "part1", "g01=-3600000");
	is_int(aif_settle_check(&rec, why, sizeof(why)), -1,
	       "a part with a negative amount fails the check");
	like(why, "not grant=amount", "and is named");
	aif_book_free(t);
	aif_ledger_free(ledger);
	aif_policy_unref(p);
}

/*
 * Point 13 of issue 8: records name the user even when the policy does
 * not (a member only through a UNIX group) and SLURM gave no name.
 */
static void test_user_name(const char *dir, const char *path)
{
	char jdir[160], why[512], text[8192], buf[4096];
	struct aif_service_hooks hooks = {
		.policy_path = path, .journal_dir = jdir, .cluster = "aif",
		.conf_stamp = &stamp, .info = _info, .error = _error,
	};
	struct aif_job_end je = _job(200, 1);
	struct last charge = { .type = AIF_RECORD_CHARGE };
	struct last decision = { .type = AIF_RECORD_DECISION };
	struct aif_request r = { .account = "p", .now = 1800000000 };
	struct aif_decision d;
	struct aif_policy *p;
	struct passwd pw, *me = NULL;
	int64_t uid = -1;

	if (getpwuid_r(geteuid(), &pw, buf, sizeof(buf), &me) || !me) {
		ok(1, "# SKIP no passwd entry for uid %u", (unsigned) geteuid());
		return;
	}
	snprintf(jdir, sizeof(jdir), "%s/names", dir);
	_policy_many_grants(text, sizeof(text), 0);
	_write(path, text);
	is_int(aif_service_start(&hooks), 0, "names: the service starts");
	je.uid = geteuid();
	je.user = NULL;		/* no PrologFlags=Alloc: SLURM has no name */
	is_int(aif_service_job_end(&je, why, sizeof(why)), 0,
	       "a job of a user the policy does not name is charged");
	r.uid = geteuid();
	p = aif_service_policy();
	aif_decide(p, &r, &d);
	aif_service_decision(&r, &d, p);
	aif_policy_unref(p);
	aif_service_flush();
	aif_service_stop();

	aif_journal_replay(jdir, 0, NULL, _keep_last, &charge, NULL);
	aif_journal_replay(jdir, 0, NULL, _keep_last, &decision, NULL);
	is_int(charge.found, 1, "its charge record is in the journal");
	is_str(aif_record_str(&charge.rec, "user"), me->pw_name,
	       "the charge record names the user (%s) from the uid", me->pw_name);
	aif_record_int(&charge.rec, "uid", &uid);
	is_int(uid, (long long) geteuid(), "and keeps the uid");
	is_int(decision.found, 1, "the admission decision is in the journal");
	is_str(aif_record_str(&decision.rec, "user"), me->pw_name,
	       "the decision record names the user too");
	struct aif_verify_report rep;
	ok(aif_journal_verify(jdir, &rep) == 0, "the journal verifies");
}

/* Issue 11, point 4: the charge record says on which nodes and GPUs,
 * and with which binding, the job ran. */
static void test_placement(const char *path)
{
	struct aif_job_end je = _job(400, 4);
	struct aif_ledger *ledger = aif_ledger_new();
	struct aif_policy *p;
	struct aif_charge charge;
	struct aif_record rec;
	char why[512];

	p = _load_text(path,
		"{ \"version\": 1,\n"
		"  \"billing\": { \"gpu_weights\": { \"h100\": 1.0 } },\n"
		"  \"classes\": { \"c\": { \"bind\": \"strict\" }, \"d\": { } },\n"
		"  \"projects\": {\n"
		"    \"p\": { \"class\": \"c\", \"mode\": \"m\", \"grants\": [\n"
		"      { \"name\": \"g\", \"gpu_hours\": 100, \"valid_from\": \"2020-01-01\", \"valid_until\": \"2099-12-31\" } ] },\n"
		"    \"q\": { \"class\": \"d\", \"mode\": \"m\", \"grants\": [\n"
		"      { \"name\": \"g\", \"gpu_hours\": 100, \"valid_from\": \"2020-01-01\", \"valid_until\": \"2099-12-31\" } ] } } }\n");
	if (!ok(p && ledger && !aif_ledger_sync(ledger, p, why, sizeof(why)),
		"placement: the policy loads")) {
		aif_policy_unref(p);
		aif_ledger_free(ledger);
		return;
	}
	snprintf(je.gpu_index, sizeof(je.gpu_index), "a1:0-3;a2:0,3");
	settle_by_key(ledger, p, "aif:400:1", &je, &rec, &charge, why,
		      sizeof(why));
	is_str(aif_record_str(&rec, "gpu_index"), "a1:0-3;a2:0,3",
	       "the record names each node's GPU indexes");
	is_str(aif_record_str(&rec, "bind"), "strict",
	       "and the binding: its class's default, when the job named none");
	snprintf(je.bind, sizeof(je.bind), "none");
	settle_by_key(ledger, p, "aif:400:2", &je, &rec, &charge, why,
		      sizeof(why));
	is_str(aif_record_str(&rec, "bind"), "none", "the job's own --aif-bind");
	je.bind[0] = '\0';
	je.admin_comment = "aif:class=d,project=q,mode=m";
	je.account = "q";
	settle_by_key(ledger, p, "aif:400:3", &je, &rec, &charge, why,
		      sizeof(why));
	is_str(aif_record_str(&rec, "bind"), "default",
	       "neither: the node's default, which slurmctld cannot know");
	aif_policy_unref(p);
	aif_ledger_free(ledger);
}

int main(void)
{
	char dir[] = "/tmp/aif-test-settle.XXXXXX", path[96];

	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/aifactory.json", dir);
	test_many_parts(dir, path, 0);
	test_many_parts(dir, path, 60);	/* the longest names there are */
	test_worst_case(dir);
	test_old_record(dir);
	test_user_name(dir, path);
	test_placement(path);
	unlink(path);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			return 1;
	}
	return done();
}
