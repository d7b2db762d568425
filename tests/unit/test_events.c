/*
 * Unit tests of a job's events as the plugins hand them over, one call
 * each (common/events.c): a submission admitted or refused with no
 * policy, an update judged for a user and for an operator's move, and
 * the liens rebuilt from the jobs' tags.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "events.h"
#include "service.h"
#include "tap.h"

#define H AIF_AMOUNT_PER_GPU_HOUR
#define NOW 1798761600	/* 2027-01-01 */

static const char policy_text[] =
	"{ \"version\": 1,\n"
	"  \"billing\": { \"gpu_weights\": { \"h100\": 1.0 } },\n"
	"  \"classes\": { \"c\": { \"max_gpus_per_job\": 8 } },\n"
	"  \"projects\": {\n"
	"    \"p\": { \"class\": \"c\", \"mode\": \"m\", \"users\": [\"root\"], \"grants\": [\n"
	"      { \"name\": \"g\", \"gpu_hours\": 10, \"valid_from\": \"2026-01-01\",\n"
	"        \"valid_until\": \"2027-12-31\" } ] },\n"
	"    \"q\": { \"class\": \"c\", \"mode\": \"m\", \"users\": [\"root\"], \"grants\": [\n"
	"      { \"name\": \"h\", \"gpu_hours\": 10, \"valid_from\": \"2026-01-01\",\n"
	"        \"valid_until\": \"2027-12-31\" } ] } } }\n";

static time_t stamp;

static void _info(const char *fmt, ...)
{
}

static int _error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("# error: ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	return 0;
}

static aif_amount_t _reserved(const char *project)
{
	struct aif_grant_balance b[1];
	struct aif_project_balance s;

	return aif_ledger_balance(aif_service_ledger(), project, b, 1, &s) ?
		-1 : b[0].reserved;
}

static enum aif_verdict _submit(const char *gres, struct aif_decision *d)
{
	struct aif_gpu_spec spec = { .tres_per_node = gres, .nodes = 1 };
	struct aif_request r = { .account = "p", .uid = 0, .time_limit = 60,
				 .now = NOW };

	return aif_job_submit(&r, &spec, d);
}

/* An update of a pending job of project p holding tag, 1 h100 for an
 * hour: by a user (operator false) or by an administrator. */
static struct aif_update _update(const char *tag, bool operator)
{
	struct aif_update u = {
		.by = 4242, .by_operator = operator, .by_admin = operator,
		.uid = 4242, .user_name = "alice", .job_account = "p",
		.job_tag = tag, .job_time_limit = 60, .pending = true,
		.spec = { .tres_per_node = "gpu:h100:1", .nodes = 1 },
		.job_spec = { .tres_per_node = "gpu:h100:1", .nodes = 1 },
		.now = NOW,
	};

	return u;
}

static void test_no_policy(void)
{
	struct aif_decision d;
	struct aif_update u = _update("", false);

	is_int(_submit("gpu:h100:1", &d), AIF_REFUSE,
	       "no policy: a submission is refused");
	is_str(d.rule, "policy.none", "by rule policy.none");
	is_str(d.message, "aifactory: no valid AI Factory policy is loaded, so no job can be admitted. Please contact your centre.",
	       "with the message sbatch shows");
	is_int(aif_job_modify(&u, &d), AIF_REFUSE, "a user's update is refused");
	is_str(d.message, "no valid AI Factory policy is loaded", "saying why in the log");
	u.by_operator = true;
	is_int(aif_job_modify(&u, &d), AIF_ACCEPT, "an operator's passes");
}

static void test_submit_and_modify(void)
{
	struct aif_decision d;
	struct aif_update u;
	char tag[AIF_TAG_MAX];
	const char *tags[3];
	size_t unreadable;

	is_int(_submit("gpu:h100:2", &d), AIF_ACCEPT, "a submission is admitted");
	is_str(d.tag, "aif:class=c,project=p,mode=m,lien=g:7200000,rate=h100:1000",
	       "with its lien in the tag");
	ok(!d.project && !d.klass, "pointing into no policy after the call");
	is_int(_reserved("p"), 2 * H, "its 2 GPU-hours are reserved");
	snprintf(tag, sizeof(tag), "%s", d.tag);
	is_int(_submit("gpu:h100:x", &d), AIF_REFUSE, "a malformed request is refused");
	is_str(d.rule, "gres.malformed", "by rule gres.malformed");

	u = _update(tag, false);
	u.gpus_change = true;
	u.spec.tres_per_node = "gpu:h100:9";
	is_int(aif_job_modify(&u, &d), AIF_REFUSE, "a user cannot pass the class's limit");
	is_str(d.rule, "class.max_gpus_per_job", "by rule class.max_gpus_per_job");
	u.spec.tres_per_node = "gpu:h100:";
	is_int(aif_job_modify(&u, &d), AIF_REFUSE, "nor send a malformed request");
	is_str(d.rule, "gres.malformed", "by rule gres.malformed");
	u = _update(tag, false);
	u.account = "q";
	is_int(aif_job_modify(&u, &d), AIF_REFUSE, "nor move the job to another project");

	u = _update(tag, true);
	u.account = "q";
	u.pending = false;
	is_int(aif_job_modify(&u, &d), AIF_REFUSE, "an operator cannot move a running job");
	is_str(d.rule, "move.not_pending", "by rule move.not_pending");
	is_str(d.message, "", "with nothing to log: SLURM says it");
	u.pending = true;
	u.by_admin = false;
	is_int(aif_job_modify(&u, &d), AIF_REFUSE, "only an administrator may move one");
	is_str(d.rule, "operator.admin", "by rule operator.admin");
	u.by_admin = true;
	is_int(aif_job_modify(&u, &d), AIF_REFUSE, "not without SLURM's association");
	is_str(d.message, "aifactory: user alice has no association with account q in SLURM's database, so SLURM would keep the job in account p. Add one (sacctmgr add user alice account=q), then move the job.",
	       "naming the sacctmgr command");
	u.has_association = true;
	u.exempt = true;
	is_int(aif_job_modify(&u, &d), AIF_ACCEPT, "root's and SlurmUser's jobs are not judged");
	is_str(d.tag, "", "and get no tag");
	u.exempt = false;
	is_int(aif_job_modify(&u, &d), AIF_ACCEPT, "an administrator moves a pending job");
	is_str(d.tag, "aif:class=c,project=q,mode=m,lien=h:3600000,rate=h100:1000",
	       "with the new project's tag");
	is_str(d.account, "q", "into the new project");
	is_int(_reserved("q"), H, "its lien is taken there");
	is_int(_reserved("p"), 0, "and the old one given back");

	tags[0] = tag;
	tags[1] = "note;aif:class=c,project=p,mode=m,lien=g:x";
	tags[2] = "no tag here";
	is_int(aif_job_liens_rebuild(tags, 3, &unreadable), 0, "liens are rebuilt from the jobs' tags");
	is_int((long long) unreadable, 1, "a tag whose lien cannot be read is counted");
	is_int(_reserved("p"), 2 * H, "the readable lien is reserved again");
	is_int(_reserved("q"), 0, "and only it");
}

int main(void)
{
	char dir[] = "/tmp/aif-test-events.XXXXXX", path[64];
	struct aif_service_hooks hooks = {
		.policy_path = path, .cluster = "aif", .conf_stamp = &stamp,
		.info = _info, .error = _error,
	};
	FILE *f;

	if (!ok(mkdtemp(dir) != NULL, "a temporary directory"))
		return done();
	snprintf(path, sizeof(path), "%s/aifactory.json", dir);
	test_no_policy();
	if ((f = fopen(path, "w"))) {
		fputs(policy_text, f);
		fclose(f);
	}
	if (ok(!aif_service_start(&hooks) && aif_service_ledger(),
	       "the service starts with the policy")) {
		test_submit_and_modify();
		aif_service_stop();
	}
	unlink(path);
	rmdir(dir);
	return done();
}
