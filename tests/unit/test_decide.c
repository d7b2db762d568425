/*
 * Unit tests of the admission decision (common/decide.c): every verdict,
 * every rule and the exact message a user would read.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdlib.h>
#include <unistd.h>

#include "aifactory.h"
#include "fake_nss.h"
#include "policy_text.h"
#include "tag.h"
#include "tap.h"

enum { ALICE = 1001, BOB = 1002, CAROL = 1003, DAVE = 1004, MALLORY = 1066 };
enum { ACME = 2001, LAB = 2002, OTHER = 2999 };

static const struct fake_user users[] = {
	{ "alice", ALICE }, { "bob", BOB }, { "carol", CAROL },
	{ "dave", DAVE }, { "mallory", MALLORY },
};

static const struct fake_group groups[] = {
	{ "acme", ACME, { "alice", "bob" } },
	{ "lab", LAB, { NULL } },
};

static FAKE_NSS(nss, users, groups);

static const char policy_text[] =
	"{\n"
	"  \"version\": 1,\n"
	"  \"operators\": { \"users\": [\"mallory\"] },\n"
	"  \"classes\": {\n"
	"    \"startup\": {\n"
	"      \"max_gpus_per_job\": 8, \"max_gpus_per_node\": 4,\n"
	"      \"max_nodes_per_job\": 2, \"max_time\": \"24:00:00\",\n"
	"      \"default_time\": \"04:00:00\",\n"
	"      \"partitions\": [\"a100\", \"h100\"],\n"
	"      \"gpu_types\": [\"a100\", \"h100\"],\n"
	"      \"qos\": \"startup\", \"require_gpus\": true\n"
	"    },\n"
	"    \"research\": {\n"
	"      \"partitions\": [\"a100\"], \"default_partition\": \"a100\",\n"
	"      \"gpu_types\": [\"a100\"], \"qos\": \"research\",\n"
	"      \"allowed_qos\": [\"research\", \"long\"]\n"
	"    },\n"
	"    \"open\": { }\n"
	"  },\n"
	"  \"projects\": {\n"
	"    \"acme-ai\": { \"class\": \"startup\", \"mode\": \"playground\",\n"
	"                 \"sector\": \"health\", \"groups\": [\"acme\"] },\n"
	"    \"lab\": { \"class\": \"research\", \"mode\": \"ai-for-science\",\n"
	"             \"groups\": [\"lab\"], \"users\": [\"dave\"] },\n"
	"    \"bobs-side\": { \"class\": \"open\", \"mode\": \"playground\",\n"
	"                   \"users\": [\"bob\"] },\n"
	"    \"future\": { \"class\": \"open\", \"mode\": \"playground\",\n"
	"                \"users\": [\"carol\"],\n"
	"                \"valid_from\": \"2030-01-01\" },\n"
	"    \"past\": { \"class\": \"open\", \"mode\": \"playground\",\n"
	"              \"users\": [\"carol\"],\n"
	"              \"valid_from\": \"2020-01-01\",\n"
	"              \"valid_until\": \"2020-12-31\" }\n"
	"  }\n"
	"}\n";

static struct aif_policy *_load(void)
{
	return policy_from_text(policy_text, &nss.resolver);
}

/* A request for uid with its primary group, asking for GPUs per node. */
static struct aif_request _req(uid_t uid, gid_t *gid, const char *account,
			       const char *gres_per_node, uint32_t nodes)
{
	struct aif_gpu_spec spec = { .tres_per_node = gres_per_node,
				     .nodes = nodes };
	struct aif_request r = {
		.account = account, .uid = uid, .gids = gid, .ngids = 1,
		.nodes = nodes, .now = 1798761600, /* 2027-01-01 */
	};
	char err[AIF_ERR_MAX];

	if (aif_gpus_normalise(&spec, &r.gpus, err, sizeof(err)))
		printf("# normalise: %s\n", err);
	return r;
}

static void test_resolution(struct aif_policy *p)
{
	gid_t acme = ACME, lab = LAB, other = OTHER;
	struct aif_decision d;
	struct aif_request r;

	r = _req(ALICE, &other, NULL, "gres:gpu:h100:2", 1);
	is_int(aif_decide(p, &r, &d), AIF_RESHAPE,
	       "no -A and one project: reshaped");
	is_str(d.account, "acme-ai", "the only project is set as account");
	is_str(d.partition, "a100", "default partition is the first allowed");
	is_str(d.qos, "startup", "class QOS applied");
	is_int(d.time_limit, 240, "default_time applied");
	is_str(d.tag, "aif:class=startup,project=acme-ai,mode=playground,sector=health",
	       "tag names class, project, mode and sector");

	r = _req(BOB, &other, NULL, "gres:gpu:1", 1);
	is_int(aif_decide(p, &r, &d), AIF_REFUSE, "no -A and two projects");
	is_str(d.rule, "project.ambiguous", "rule project.ambiguous");
	is_str(d.message,
	       "aifactory: you are a member of several projects (acme-ai, bobs-side). Choose one with -A <project>.",
	       "the message lists the projects");

	r = _req(CAROL, &other, NULL, NULL, 1);
	is_int(aif_decide(p, &r, &d), AIF_REFUSE,
	       "no -A and only projects that are not open now");
	is_str(d.message,
	       "aifactory: none of your projects (future, past) is open now. Ask your centre to extend one.",
	       "the message names them");

	r = _req(DAVE, &other, NULL, "gres:gpu:a100:1", 1);
	aif_decide(p, &r, &d);
	is_str(d.account, "lab", "no -A: the one open project is chosen");

	r = _req(4242, &other, NULL, "gres:gpu:1", 1);
	aif_decide(p, &r, &d);
	is_str(d.rule, "project.none", "no project at all");
	is_str(d.message,
	       "aifactory: you are not a member of any project, so this job cannot be charged anywhere. Ask your centre to add you to a project, then submit with -A <project>.",
	       "message for a user with no project");

	r = _req(ALICE, &other, "nosuch", "gres:gpu:1", 1);
	aif_decide(p, &r, &d);
	is_str(d.rule, "project.unknown", "unknown project");
	is_str(d.message,
	       "aifactory: project 'nosuch' does not exist. Your projects: acme-ai; submit with -A <project>.",
	       "unknown project message lists the user's projects");

	r = _req(ALICE, &other, "lab", "gres:gpu:1", 1);
	aif_decide(p, &r, &d);
	is_str(d.rule, "project.member", "not a member");
	is_str(d.message,
	       "aifactory: you are not a member of project lab. Your projects: acme-ai; submit with -A <project>.",
	       "non-member message");

	r = _req(CAROL, &lab, "LAB", "gres:gpu:a100:1", 1);
	is_int(aif_decide(p, &r, &d), AIF_RESHAPE,
	       "member through the job's group; -A in any case");
	is_str(d.account, "", "the account given is left for SLURM to lowercase");

	r = _req(ALICE, &acme, "acme-ai\n\001evil", "gres:gpu:1", 1);
	aif_decide(p, &r, &d);
	is_str(d.message,
	       "aifactory: project 'acme-ai??evil' does not exist. Your projects: acme-ai; submit with -A <project>.",
	       "hostile account echoed only as printable text");

	char longname[300];
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	r = _req(ALICE, &acme, longname, "gres:gpu:1", 1);
	aif_decide(p, &r, &d);
	like(d.message, "xxx...' does not exist", "long account truncated");
	ok(strlen(d.message) < 300, "message stays bounded");
}

static void test_window(struct aif_policy *p)
{
	gid_t g = OTHER;
	struct aif_decision d;
	struct aif_request r;

	r = _req(CAROL, &g, "future", NULL, 1);
	aif_decide(p, &r, &d);
	is_str(d.rule, "project.valid_from", "project not started");
	is_str(d.message,
	       "aifactory: project future starts on 2030-01-01 UTC (projects.future.valid_from); submit again from then.",
	       "message for a project not yet valid");

	r = _req(CAROL, &g, "past", NULL, 1);
	aif_decide(p, &r, &d);
	is_str(d.rule, "project.valid_until", "project expired");
	is_str(d.message,
	       "aifactory: project past ended on 2020-12-31 (projects.past.valid_until). Ask your centre to extend it, or use another project.",
	       "message for an expired project");
}

static void test_limits(struct aif_policy *p)
{
	gid_t g = ACME;
	struct aif_decision d;
	struct aif_request r;

	r = _req(ALICE, &g, "acme-ai", "gres:gpu:h100:4", 2);
	r.partition = "h100";
	r.qos = "startup";
	r.time_limit = 60;
	is_int(aif_decide(p, &r, &d), AIF_ACCEPT,
	       "within every limit and nothing left out: accept");
	is_str(d.rule, "accept", "rule accept");

	r = _req(ALICE, &g, "acme-ai", "gres:gpu:h100:4", 3);
	aif_decide(p, &r, &d);
	is_str(d.rule, "class.max_nodes_per_job", "too many nodes");
	is_str(d.message,
	       "aifactory: project acme-ai (class startup) allows at most 2 nodes per job and this job asks for 3 (classes.startup.max_nodes_per_job). Use -N 2.\n"
	       "aifactory: project acme-ai (class startup) allows at most 8 GPUs per job and this job asks for 12 (classes.startup.max_gpus_per_job). Ask for 8 or fewer.",
	       "every broken rule is listed, the first names the rule");

	r = _req(ALICE, &g, "acme-ai", "gres:gpu:8", 1);
	aif_decide(p, &r, &d);
	is_str(d.rule, "class.max_gpus_per_node", "too many GPUs per node");
	is_str(d.message,
	       "aifactory: project acme-ai (class startup) allows at most 4 GPUs per node and this job asks for 8 per node (classes.startup.max_gpus_per_node). Use --gpus-per-node=4.",
	       "GPUs per node message");

	r = _req(ALICE, &g, "acme-ai", "gres:gpu:1", 1);
	r.time_limit = 2 * 24 * 60;
	aif_decide(p, &r, &d);
	is_str(d.rule, "class.max_time", "too long");
	is_str(d.message,
	       "aifactory: project acme-ai (class startup) allows at most 1-00:00:00 per job and this job asks for 2-00:00:00 (classes.startup.max_time). Use -t 1-00:00:00 or less.",
	       "time limit message");

	r = _req(ALICE, &g, "acme-ai", "gres:gpu:1", 1);
	r.time_limit = AIF_UNLIMITED;
	aif_decide(p, &r, &d);
	is_str(d.message,
	       "aifactory: project acme-ai (class startup) allows at most 1-00:00:00 per job and this job asks for UNLIMITED (classes.startup.max_time). Use -t 1-00:00:00 or less.",
	       "an unlimited time limit is beyond any max_time");

	r = _req(ALICE, &g, "acme-ai", "gres:gpu:1", 1);
	r.partition = "a100,all";
	aif_decide(p, &r, &d);
	is_str(d.rule, "class.partitions", "partition not allowed");
	is_str(d.message,
	       "aifactory: project acme-ai (class startup) may use partitions a100, h100, not 'all' (classes.startup.partitions). Use -p a100.",
	       "partition message names the one that is not allowed");

	r = _req(ALICE, &g, "acme-ai", "gres:gpu:b200:1", 1);
	aif_decide(p, &r, &d);
	is_str(d.rule, "class.gpu_types", "GPU type not allowed");
	is_str(d.message,
	       "aifactory: project acme-ai (class startup) may use GPU types a100, h100, not b200 (classes.startup.gpu_types). Use --gres=gpu:a100:N.",
	       "GPU type message");

	r = _req(ALICE, &g, "acme-ai", NULL, 1);
	aif_decide(p, &r, &d);
	is_str(d.rule, "class.require_gpus", "a CPU-only job in a GPU class");
	is_str(d.message,
	       "aifactory: project acme-ai (class startup) runs GPU jobs only and this job asks for no GPU (classes.startup.require_gpus). Add --gpus=N or --gres=gpu:N.",
	       "require_gpus message");

	r = _req(ALICE, &g, "acme-ai", "gres:gpu:1", 1);
	r.qos = "high";
	aif_decide(p, &r, &d);
	is_str(d.rule, "class.allowed_qos", "QOS not allowed");
	is_str(d.message,
	       "aifactory: project acme-ai (class startup) may not use QOS 'high' (classes.startup.allowed_qos). Use one of: startup, or leave --qos out.",
	       "QOS message");

	g = LAB;
	r = _req(DAVE, &g, "lab", "gres:gpu:a100:2", 1);
	r.qos = "long";
	is_int(aif_decide(p, &r, &d), AIF_RESHAPE, "allowed_qos: long is fine");
	is_str(d.qos, "", "a QOS the job named is kept");
	is_str(d.partition, "a100", "explicit default_partition applied");
	is_int(d.time_limit, 0, "no time limit set where the class has none");

	r = _req(BOB, &g, "bobs-side", "gres:gpu:64", 9);
	r.time_limit = 100000;
	r.partition = "anything";
	is_int(aif_decide(p, &r, &d), AIF_ACCEPT,
	       "a class without limits accepts anything");
	is_str(d.tag, "aif:class=open,project=bobs-side,mode=playground",
	       "no sector in the tag when the project has none");
}

static void test_modify(struct aif_policy *p)
{
	struct aif_request r = { .uid = ALICE, .gpus_unchanged = true };
	struct aif_decision d;

	is_int(aif_decide_modify(p, "acme-ai", &r, &d), AIF_ACCEPT,
	       "modify: a change of nothing we judge");
	r.account = "lab";
	aif_decide_modify(p, "acme-ai", &r, &d);
	is_str(d.rule, "project.move", "modify: another project");
	is_str(d.message,
	       "aifactory: a job cannot move from project acme-ai to 'lab'. Cancel it and submit again with -A <project>.",
	       "modify: move message");
	r.account = "ACME-AI";
	is_int(aif_decide_modify(p, "acme-ai", &r, &d), AIF_ACCEPT,
	       "modify: the same project in another case is not a move");
	r.account = NULL;
	r.time_limit = 25 * 60;
	aif_decide_modify(p, "acme-ai", &r, &d);
	is_str(d.rule, "class.max_time", "modify: time beyond the class");
	r.time_limit = 0;
	r.nodes = 4;
	aif_decide_modify(p, "acme-ai", &r, &d);
	is_str(d.rule, "class.max_nodes_per_job", "modify: nodes beyond the class");
	r.nodes = 0;
	r = _req(ALICE, NULL, NULL, "gres:gpu:h100:4", 4);
	r.nodes = 0;
	aif_decide_modify(p, "acme-ai", &r, &d);
	is_str(d.rule, "class.max_gpus_per_job", "modify: GPUs beyond the class");
	r = _req(ALICE, NULL, NULL, NULL, 1);
	r.gpus_unchanged = true;
	is_int(aif_decide_modify(p, "acme-ai", &r, &d), AIF_ACCEPT,
	       "modify: unchanged GPUs are not judged again");
	is_int(aif_decide_modify(p, "not-ours", &r, &d), AIF_ACCEPT,
	       "modify: a job of a project the policy does not know");
	r.account = "acme-ai";
	aif_decide_modify(p, "not-ours", &r, &d);
	is_str(d.message,
	       "aifactory: a job cannot move into project 'acme-ai'. Submit it again with -A <project>.",
	       "modify: nor can it move into one of ours");
}

static void test_tag(void)
{
	char klass[AIF_NAME_MAX], project[AIF_NAME_MAX];

	is_int(aif_tag_parse("ops note;aif:class=sme,project=voltwerk,mode=fast-lane",
			     klass, project), 0, "tag found after a comment");
	is_str(klass, "sme", "tag class");
	is_str(project, "voltwerk", "tag project");
	is_int(aif_tag_parse("nothing here", klass, project), -1, "no tag");
	is_int(aif_tag_parse(NULL, klass, project), -1, "no comment");
}

/* A user in more projects than a message lists, only the last one open. */
static void test_many_projects(void)
{
	char dir[] = "/tmp/aif-test-many.XXXXXX", path[64];
	struct aif_decision d;
	struct aif_request r;
	struct aif_policy *p;
	gid_t g = OTHER;
	FILE *f;

	if (!mkdtemp(dir))
		return;
	snprintf(path, sizeof(path), "%s/aifactory.json", dir);
	if (!(f = fopen(path, "w")))
		return;
	fputs("{ \"version\": 1, \"classes\": { \"c\": {} },\n"
	      "  \"projects\": {\n", f);
	for (int i = 0; i < 12; i++)
		fprintf(f, "    \"p%02d\": { \"class\": \"c\", \"mode\": \"m\", "
			"\"users\": [\"carol\"], \"valid_until\": \"%s\" },\n",
			i, i == 10 ? "2099-12-31" : "2020-12-31");
	fputs("    \"other\": { \"class\": \"c\", \"mode\": \"m\" }\n  }\n}\n",
	      f);
	fclose(f);
	p = aif_policy_load(path, &nss.resolver, NULL);
	unlink(path);
	rmdir(dir);
	if (!ok(p != NULL, "a policy with 12 projects of one user loads"))
		return;
	r = _req(CAROL, &g, NULL, NULL, 1);
	is_int(aif_decide(p, &r, &d), AIF_RESHAPE,
	       "no -A: the one open project among 12 is found");
	is_str(d.account, "p10", "even past the first eight");
	r = _req(CAROL, &g, "nope", NULL, 1);
	aif_decide(p, &r, &d);
	is_str(d.message,
	       "aifactory: project 'nope' does not exist. Your projects: p00, p01, p02, p03, p04, p05, p06, p07 and more; submit with -A <project>.",
	       "a long list of projects is cut after eight");
	aif_policy_unref(p);
}

int main(void)
{
	struct aif_policy *p = _load();
	gid_t g = OTHER;

	if (!ok(p != NULL, "the test policy loads"))
		return done();
	ok(aif_policy_is_operator(p, MALLORY, &g, 1), "mallory is an operator");
	ok(!aif_policy_is_operator(p, ALICE, &g, 1), "alice is not");
	test_resolution(p);
	test_window(p);
	test_limits(p);
	test_modify(p);
	test_tag();
	test_many_projects();
	aif_policy_unref(p);
	return done();
}
