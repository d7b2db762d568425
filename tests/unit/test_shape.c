/*
 * Unit tests of the class's shaping at submit (common/shape.c, through
 * aif_decide): CPUs and memory per GPU set where the job named none,
 * "auto" from the partition's nodes, the ceiling on CPUs per GPU with
 * its message, the default --aif-bind; and the policy keys' errors.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aifactory.h"
#include "fake_nss.h"
#include "policy_text.h"
#include "tap.h"

enum { ALICE = 1001 };
enum { ACME = 2001 };

static const struct fake_user users[] = { { "alice", ALICE } };
static const struct fake_group groups[] = {
	{ "acme", ACME, { "alice" } },
};

static FAKE_NSS(nss, users, groups);

static const char policy_text[] =
	"{ \"version\": 1,\n"
	"  \"classes\": {\n"
	"    \"fixed\": { \"partitions\": [\"a100\"], \"cpus_per_gpu\": 8,\n"
	"                \"max_cpus_per_gpu\": 16, \"mem_per_gpu\": 65536,\n"
	"                \"bind\": \"strict\" },\n"
	"    \"auto\": { \"partitions\": [\"a100\", \"h100\"],\n"
	"               \"cpus_per_gpu\": \"auto\", \"max_cpus_per_gpu\": \"auto\",\n"
	"               \"mem_per_gpu\": \"auto\" },\n"
	"    \"capped\": { \"partitions\": [\"a100\"], \"cpus_per_gpu\": \"auto\",\n"
	"                 \"max_cpus_per_gpu\": 6 },\n"
	"    \"plain\": { },\n"
	"    \"anywhere\": { \"cpus_per_gpu\": \"auto\", \"max_cpus_per_gpu\": \"auto\" }\n"
	"  },\n"
	"  \"projects\": {\n"
	"    \"f\": { \"class\": \"fixed\", \"mode\": \"m\", \"groups\": [\"acme\"] },\n"
	"    \"a\": { \"class\": \"auto\", \"mode\": \"m\", \"groups\": [\"acme\"] },\n"
	"    \"c\": { \"class\": \"capped\", \"mode\": \"m\", \"groups\": [\"acme\"] },\n"
	"    \"p\": { \"class\": \"plain\", \"mode\": \"m\", \"groups\": [\"acme\"] },\n"
	"    \"w\": { \"class\": \"anywhere\", \"mode\": \"m\", \"groups\": [\"acme\"] }\n"
	"  } }\n";

/* Partition a100's nodes: 12 CPUs and 128 GB a GPU; h100's: 24, 256 GB. */
static int shape_calls;
static void _shape(const char *partition, void *arg, uint32_t *cpus,
		   uint32_t *mem)
{
	(void) arg;
	shape_calls++;
	*cpus = *mem = 0;
	if (!strcmp(partition, "a100")) {
		*cpus = 12;
		*mem = 131072;
	} else if (!strcmp(partition, "h100")) {
		*cpus = 24;
		*mem = 262144;
	} else if (!partition[0]) {	/* SLURM's default partition */
		*cpus = 10;
	}
}

/* a100's nodes have a100 GPUs, h100's h100. */
static int _has_type(const char *partition, const char *type, void *arg)
{
	(void) arg;
	return !strcmp(partition, type);
}

static gid_t acme = ACME;

static struct aif_request _req(const char *account, const char *gpus)
{
	struct aif_gpu_spec spec = { .tres_per_node = gpus, .nodes = 1 };
	struct aif_request r = {
		.account = account, .uid = ALICE, .gids = &acme, .ngids = 1,
		.nodes = 1, .now = 1798761600, .partition_shape = _shape,
	};
	char err[AIF_ERR_MAX];

	if (gpus && aif_gpus_normalise(&spec, &r.gpus, err, sizeof(err)))
		printf("# normalise: %s\n", err);
	return r;
}

static void test_fixed(struct aif_policy *p)
{
	struct aif_decision d;
	struct aif_request r = _req("f", "gres:gpu:2");

	is_int(aif_decide(p, &r, &d), AIF_RESHAPE, "fixed: reshaped");
	is_int(d.cpus_per_gpu, 8, "--cpus-per-gpu=8 set");
	is_int(d.mem_per_gpu, 65536, "--mem-per-gpu=65536 set");
	is_str(d.bind, "strict", "--aif-bind=strict by default");
	is_str(d.shaping, "--cpus-per-gpu=8 (classes.fixed.cpus_per_gpu); "
	       "--mem-per-gpu=65536M (classes.fixed.mem_per_gpu); "
	       "--aif-bind=strict (classes.fixed.bind)", "said, for explain");

	r = _req("f", "gres:gpu:2");
	r.cpus_per_task = 4;
	r.mem_given = true;
	r.bind_given = true;
	aif_decide(p, &r, &d);
	ok(!d.cpus_per_gpu && !d.mem_per_gpu && !d.bind[0],
	   "-c, --mem and --aif-bind given: nothing of the class's set");
	r = _req("f", "gres:gpu:2");
	r.gpus_per_task = true;
	aif_decide(p, &r, &d);
	is_int(d.cpus_per_gpu, 0, "--gpus-per-task: no --cpus-per-gpu "
	       "(SLURM would refuse the pair)");
	r = _req("f", "gres:gpu:2");
	r.cpus_per_gpu = 4;
	aif_decide(p, &r, &d);
	is_int(d.cpus_per_gpu, 0, "the job's own --cpus-per-gpu stands");

	r = _req("f", "gres:gpu:2");
	r.cpus_per_gpu = 17;
	is_int(aif_decide(p, &r, &d), AIF_REFUSE, "17 CPUs per GPU: refused");
	is_str(d.rule, "class.max_cpus_per_gpu", "by max_cpus_per_gpu");
	is_str(d.message, "class fixed allows at most 16 CPUs per GPU and this "
	       "job asks for 17 (classes.fixed.max_cpus_per_gpu). Use "
	       "--cpus-per-gpu=16, or ask for more GPUs.", "with the fix");
	r = _req("f", "gres:gpu:2");
	r.cpus = 33;
	is_int(aif_decide(p, &r, &d), AIF_REFUSE,
	       "33 CPUs for 2 GPUs (17 a GPU, rounded up): refused");
	r.cpus = 32;
	is_int(aif_decide(p, &r, &d), AIF_RESHAPE, "32 for 2: admitted");

	r = _req("f", NULL);
	aif_decide(p, &r, &d);
	ok(!d.cpus_per_gpu && !d.mem_per_gpu && !d.bind[0] && !d.shaping[0],
	   "no GPU: no shaping");
}

static void test_auto(struct aif_policy *p)
{
	struct aif_decision d;
	struct aif_request r = _req("a", "gres:gpu:1");

	aif_decide(p, &r, &d);
	is_str(d.partition, "a100", "auto: the default partition");
	is_int(d.cpus_per_gpu, 12, "its nodes' CPUs per GPU");
	is_int(d.mem_per_gpu, 131072, "and memory per GPU");
	is_str(d.bind, "", "no bind in the class: none set");
	r = _req("a", "gres:gpu:1");
	r.partition = "h100";
	aif_decide(p, &r, &d);
	is_int(d.cpus_per_gpu, 24, "-p h100: that partition's");
	r.cpus_per_gpu = 25;
	is_int(aif_decide(p, &r, &d), AIF_REFUSE, "25 on h100: refused");
	is_str(d.message, "class auto allows at most 24 CPUs per GPU (a GPU's "
	       "share of the cores of partition h100's nodes) and this job asks "
	       "for 25 (classes.auto.max_cpus_per_gpu). Use --cpus-per-gpu=24, "
	       "or ask for more GPUs.", "naming the partition");

	r = _req("a", "gres:gpu:1");
	r.partition_shape = NULL;
	r.cpus_per_gpu = 1000;
	is_int(aif_decide(p, &r, &d), AIF_RESHAPE,
	       "nodes unknown: auto refuses nothing");
	r.cpus_per_gpu = 0;
	aif_decide(p, &r, &d);
	ok(!d.cpus_per_gpu && !d.mem_per_gpu, "and sets nothing");
	is_str(d.shaping, "no --cpus-per-gpu: partition a100's nodes are not "
	       "known here", "saying so");

	r = _req("c", "gres:gpu:1");
	aif_decide(p, &r, &d);
	is_int(d.cpus_per_gpu, 6, "auto 12, capped at max_cpus_per_gpu 6");

	/* Review of issue 11: no -p and no partition in the class: the
	 * default partition's nodes, not nothing. */
	r = _req("w", "gres:gpu:1");
	aif_decide(p, &r, &d);
	is_int(d.cpus_per_gpu, 10, "no partition anywhere: SLURM's default one's");
	r.cpus_per_gpu = 11;
	is_int(aif_decide(p, &r, &d), AIF_REFUSE, "and its ceiling holds");
	like(d.message, "(a GPU's share of the cores of the default "
	     "partition's nodes) and this job asks for 11", "saying whose");
	r.partition_shape = NULL;
	r.cpus_per_gpu = 0;
	aif_decide(p, &r, &d);
	is_str(d.shaping, "no --cpus-per-gpu: the default partition's nodes "
	       "are not known here", "unknown: said");

	r = _req("p", "gres:gpu:1");
	shape_calls = 0;
	is_int(aif_decide(p, &r, &d), AIF_ACCEPT, "a plain class: accepted");
	ok(!d.shaping[0], "unshaped");
}

/* Review of issue 11: scontrol update of a pending job's CPUs went past
 * the ceiling unchecked. */
static void test_modify(struct aif_policy *p)
{
	struct aif_decision d;
	struct aif_request r = _req(NULL, "gres:gpu:2");

	r.gpus_unchanged = true;
	r.shape_check = true;
	r.cpus_per_gpu = 17;
	is_int(aif_decide_modify(p, "f", &r, &d), AIF_REFUSE,
	       "an update to 17 CPUs per GPU: refused");
	is_str(d.rule, "class.max_cpus_per_gpu", "by the same rule");
	r.cpus_per_gpu = 16;
	is_int(aif_decide_modify(p, "f", &r, &d), AIF_ACCEPT, "16: accepted");
	r.cpus_per_gpu = 4;
	r.cpus = 40;
	is_int(aif_decide_modify(p, "f", &r, &d), AIF_REFUSE,
	       "--cpus-per-gpu=4 but NumCPUs=40 for 2 GPUs: 20 a GPU, refused");
	r.cpus_per_gpu = 0;
	r.cpus = 26;	/* NumCPUs=26 for 2 GPUs on h100: 13 a GPU */
	r.current_partition = "h100";
	is_int(aif_decide_modify(p, "a", &r, &d), AIF_ACCEPT,
	       "auto on the job's partition h100 (24 a GPU): accepted");
	r.current_partition = "a100";
	is_int(aif_decide_modify(p, "a", &r, &d), AIF_REFUSE,
	       "on a100 (12 a GPU): refused");
	r.shape_check = false;
	is_int(aif_decide_modify(p, "a", &r, &d), AIF_ACCEPT,
	       "an update of neither CPUs nor GPUs is not checked");
}

/* Issue 12: a typed job without -p went to the class's first partition,
 * whose nodes had no GPU of that type. */
static void test_partition_for_type(struct aif_policy *p)
{
	struct aif_decision d;
	struct aif_request r = _req("a", "gres:gpu:h100:1");

	r.partition_has_type = _has_type;
	aif_decide(p, &r, &d);
	is_str(d.partition, "h100", "an h100 job without -p: partition h100");
	r = _req("a", "gres:gpu:a100:1");
	r.partition_has_type = _has_type;
	aif_decide(p, &r, &d);
	is_str(d.partition, "a100", "an a100 job: the default, a100");
	r = _req("a", "gres:gpu:1");
	r.partition_has_type = _has_type;
	aif_decide(p, &r, &d);
	is_str(d.partition, "a100", "an untyped job: the default");
	r = _req("a", "gres:gpu:v100:1");
	r.partition_has_type = _has_type;
	aif_decide(p, &r, &d);
	is_str(d.partition, "a100", "a type no partition has: the default "
	       "(SLURM says why)");
	r = _req("a", "gres:gpu:h100:1");
	aif_decide(p, &r, &d);
	is_str(d.partition, "a100", "nodes unknown: the default");
	r = _req("a", "gres:gpu:h100:1");
	r.partition_has_type = _has_type;
	r.partition = "a100";
	aif_decide(p, &r, &d);
	is_str(d.partition, "", "-p given: left as the job asked");
}

static void test_policy_errors(void)
{
	static const struct {
		const char *klass, *want;
	} bad[] = {
		{ "\"cpus_per_gpu\": \"lots\"",
		  "classes.x.cpus_per_gpu: must be an integer from 1 to 4096 or \"auto\", got \"lots\"" },
		{ "\"cpus_per_gpu\": 0",
		  "classes.x.cpus_per_gpu: must be an integer from 1 to 4096, got 0" },
		{ "\"max_cpus_per_gpu\": 8, \"cpus_per_gpu\": 9",
		  "classes.x.cpus_per_gpu: 9 exceeds max_cpus_per_gpu 8" },
		{ "\"mem_per_gpu\": -1",
		  "classes.x.mem_per_gpu: must be an integer from 1 to 67108864, got -1" },
		{ "\"bind\": \"fast\"",
		  "classes.x.bind: must be \"auto\", \"strict\" or \"none\", got \"fast\"" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[512], dir[] = "/tmp/aif-test-shape.XXXXXX", path[64];
		struct aif_load_report report = { 0 };
		char line[1024] = "";
		struct aif_policy *p;
		FILE *f;

		snprintf(text, sizeof(text),
			 "{ \"version\": 1, \"classes\": { \"x\": { %s } },\n"
			 "  \"projects\": { } }\n", bad[i].klass);
		if (!mkdtemp(dir))
			return;
		snprintf(path, sizeof(path), "%s/aifactory.json", dir);
		f = fopen(path, "w");
		fputs(text, f);
		fclose(f);
		p = aif_policy_load(path, &nss.resolver, &report);
		if (report.nerrors)
			aif_load_error_format(&report.errors[0], line,
					      sizeof(line));
		ok(!p, "refused: %s", bad[i].klass);
		like(line, bad[i].want, "with %s", bad[i].want);
		aif_policy_unref(p);
		aif_load_report_free(&report);
		unlink(path);
		rmdir(dir);
	}
}

int main(void)
{
	struct aif_policy *p = policy_from_text(policy_text, &nss.resolver);

	if (!ok(p != NULL, "the policy loads"))
		return done();
	test_fixed(p);
	test_auto(p);
	test_modify(p);
	test_partition_for_type(p);
	test_policy_errors();
	aif_policy_unref(p);
	return done();
}
