/*
 * Unit tests for aif_gpus_normalise(): every request form, every field's
 * arithmetic, and the malformed strings a user could type.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aifactory.h"
#include "tap.h"

#define SPEC(...) (&(struct aif_gpu_spec){ __VA_ARGS__ })

/* "type=per_node/total ... sum=per_node/total", "*" for untyped. */
static void _describe(const struct aif_gpus *g, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < g->ntypes && off < len; i++) {
		const struct aif_gpu_count *c = &g->by_type[i];

		off += (size_t)snprintf(buf + off, len - off, "%s=%llu/%llu ",
					c->type[0] ? c->type : "*",
					(unsigned long long)c->per_node,
					(unsigned long long)c->total);
	}
	if (off < len)
		snprintf(buf + off, len - off, "sum=%llu/%llu",
			 (unsigned long long)g->per_node,
			 (unsigned long long)g->total);
}

static bool _is_zero(const struct aif_gpus *g)
{
	static const struct aif_gpus zero;

	return !memcmp(g, &zero, sizeof(zero));
}

static void check(const char *name, const struct aif_gpu_spec *spec,
		  const char *want)
{
	struct aif_gpus g;
	char err[AIF_ERR_MAX] = "", got[1024];
	int rc;

	memset(&g, 0xa5, sizeof(g));
	rc = aif_gpus_normalise(spec, &g, err, sizeof(err));
	if (rc) {
		ok(0, "%s: accepted", name);
		printf("#   error: %s\n", err);
		return;
	}
	_describe(&g, got, sizeof(got));
	is_str(got, want, "%s", name);
}

static void check_err(const char *name, const struct aif_gpu_spec *spec,
		      const char *want)
{
	struct aif_gpus g;
	char err[AIF_ERR_MAX] = "";
	int rc;

	memset(&g, 0xa5, sizeof(g));
	rc = aif_gpus_normalise(spec, &g, err, sizeof(err));
	if (rc != -1) {
		ok(0, "%s: refused", name);
		return;
	}
	if (!_is_zero(&g))
		printf("#   output not cleared on error\n");
	ok(_is_zero(&g) && like(err, want, "%s: says \"%s\"", name, want),
	   "%s: refused, output cleared", name);
}

static void test_forms(void)
{
	check("gres:gpu:2", SPEC(.tres_per_node = "gres:gpu:2"),
	      "*=2/2 sum=2/2");
	check("gres:gpu:h100:2", SPEC(.tres_per_node = "gres:gpu:h100:2"),
	      "h100=2/2 sum=2/2");
	check("gres/gpu:2", SPEC(.tres_per_node = "gres/gpu:2"),
	      "*=2/2 sum=2/2");
	check("gres/gpu:h100:2", SPEC(.tres_per_node = "gres/gpu:h100:2"),
	      "h100=2/2 sum=2/2");
	check("gres/gpu=2", SPEC(.tres_per_node = "gres/gpu=2"),
	      "*=2/2 sum=2/2");
	check("gres/gpu:h100=2", SPEC(.tres_per_node = "gres/gpu:h100=2"),
	      "h100=2/2 sum=2/2");
	check("gpu:2", SPEC(.tres_per_node = "gpu:2"), "*=2/2 sum=2/2");
	check("gpu:h100:2", SPEC(.tres_per_node = "gpu:h100:2"),
	      "h100=2/2 sum=2/2");
	check("gpu", SPEC(.tres_per_node = "gpu"), "*=1/1 sum=1/1");
	check("gres:gpu", SPEC(.tres_per_node = "gres:gpu"), "*=1/1 sum=1/1");
	check("gres/gpu", SPEC(.tres_per_node = "gres/gpu"), "*=1/1 sum=1/1");
	check("gpu:h100 is a type with one GPU",
	      SPEC(.tres_per_node = "gpu:h100"), "h100=1/1 sum=1/1");
	check("gres/gpu:h100", SPEC(.tres_per_node = "gres/gpu:h100"),
	      "h100=1/1 sum=1/1");
	check("GRES:GPU:2 in capitals", SPEC(.tres_per_node = "GRES:GPU:2"),
	      "*=2/2 sum=2/2");
	check("type case kept", SPEC(.tres_per_node = "gpu:H100:1"),
	      "H100=1/1 sum=1/1");
	check("MIG-like type",
	      SPEC(.tres_per_node = "gpu:nvidia_a100_1g.5gb:3"),
	      "nvidia_a100_1g.5gb=3/3 sum=3/3");
	check("type starting with a digit",
	      SPEC(.tres_per_node = "gpu:1g.5gb:2"), "1g.5gb=2/2 sum=2/2");
	check("lone digit-led type", SPEC(.tres_per_node = "gpu:2x"),
	      "2x=1/1 sum=1/1");
	check("type with dash", SPEC(.tres_per_node = "gpu:a100-sxm4:4"),
	      "a100-sxm4=4/4 sum=4/4");
	check("63-byte type",
	      SPEC(.tres_per_node = "gpu:"
		   "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghi"
		   "jklm:1"),
	      "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghi"
	      "jklm=1/1 sum=1/1");
	check("leading zeros", SPEC(.tres_per_node = "gpu:007"),
	      "*=7/7 sum=7/7");
}

static void test_counts(void)
{
	check("k suffix", SPEC(.nodes = 1, .tres_per_job = "gpu:1k"),
	      "*=1024/1024 sum=1024/1024");
	check("K suffix", SPEC(.nodes = 1, .tres_per_job = "gres/gpu=2K"),
	      "*=2048/2048 sum=2048/2048");
	check("m suffix", SPEC(.nodes = 1, .tres_per_job = "gpu:h100:1m"),
	      "h100=1048576/1048576 sum=1048576/1048576");
	check("g suffix", SPEC(.nodes = 1, .tres_per_job = "gpu:3g"),
	      "*=3221225472/3221225472 sum=3221225472/3221225472");
	check("lone 1g is a count, not a type", SPEC(.nodes = 1, .tres_per_job = "gpu:1g"),
	      "*=1073741824/1073741824 sum=1073741824/1073741824");
	check("2^32-1", SPEC(.nodes = 1, .tres_per_job = "gpu:4294967295"),
	      "*=4294967295/4294967295 sum=4294967295/4294967295");
	check("gpu:0 is none", SPEC(.tres_per_node = "gpu:0"), "sum=0/0");
	check("typed zero is none", SPEC(.tres_per_node = "gres/gpu:h100=0"),
	      "sum=0/0");
	check("0k is none", SPEC(.tres_per_node = "gpu:0k"), "sum=0/0");
	check("zero beside a count",
	      SPEC(.tres_per_node = "gpu:a100:0,gpu:h100:2"),
	      "h100=2/2 sum=2/2");
	check("zero in one field, count in another",
	      SPEC(.tres_per_job = "gpu:h100:0", .tres_per_node = "gpu:l4:1",
		   .tres_per_task = "gpu:h100:2"),
	      "l4=1/1 h100=2/2 sum=3/3");
}

static void test_fields(void)
{
	check("all NULL", SPEC(.nodes = 4), "sum=0/0");
	check("all empty",
	      SPEC(.tres_per_job = "", .tres_per_node = "", .tres_per_task = "",
		   .tres_per_socket = ""),
	      "sum=0/0");
	check("per node over 4 nodes",
	      SPEC(.tres_per_node = "gpu:h100:4", .nodes = 4),
	      "h100=4/16 sum=4/16");
	check("per job spread over 3 nodes rounds up",
	      SPEC(.tres_per_job = "gpu:h100:8", .nodes = 3),
	      "h100=3/8 sum=3/8");
	check("per job, fewer GPUs than nodes",
	      SPEC(.tres_per_job = "gres/gpu:1", .nodes = 4), "*=1/1 sum=1/1");
	check("per job, nodes unknown: no count per node",
	      SPEC(.tres_per_job = "gpu:8"),
	      "*=0/8 sum=0/8");
	check("ntasks-per-gpu with no GPU item: ntasks / it, rounded down",
	      SPEC(.ntasks = 10, .ntasks_per_gpu = 4), "*=0/2 sum=0/2");
	check("ntasks-per-gpu with a GPU item: the item counts",
	      SPEC(.ntasks = 10, .ntasks_per_gpu = 4, .nodes = 1,
		   .tres_per_job = "gpu:a100:5"), "a100=5/5 sum=5/5");
	check("ntasks-per-gpu without ntasks: nothing to derive",
	      SPEC(.ntasks_per_gpu = 4), "sum=0/0");
	check("per task, ntasks over nodes",
	      SPEC(.tres_per_task = "gpu:2", .ntasks = 10, .nodes = 4),
	      "*=6/20 sum=6/20");
	check("per task, ntasks_per_node",
	      SPEC(.tres_per_task = "gpu:1", .ntasks = 8, .nodes = 2,
		   .ntasks_per_node = 4),
	      "*=4/8 sum=4/8");
	check("per task, ntasks_per_node capped by ntasks",
	      SPEC(.tres_per_task = "gpu:1", .ntasks = 2, .nodes = 1,
		   .ntasks_per_node = 4),
	      "*=2/2 sum=2/2");
	check("per task, ntasks 0 from ntasks_per_node",
	      SPEC(.tres_per_task = "gpu:1", .nodes = 2, .ntasks_per_node = 4),
	      "*=4/8 sum=4/8");
	check("per task, all zero is one task",
	      SPEC(.tres_per_task = "gres:gpu:h100:3"), "h100=3/3 sum=3/3");
	check("per socket",
	      SPEC(.tres_per_socket = "gpu:2", .sockets_per_node = 2,
		   .nodes = 3),
	      "*=4/12 sum=4/12");
	check("per socket, sockets 0 is 1",
	      SPEC(.tres_per_socket = "gpu:2", .nodes = 2), "*=2/4 sum=2/4");
}

static void test_mixing(void)
{
	check("largest total wins across fields",
	      SPEC(.tres_per_job = "gpu:h100:16", .tres_per_node = "gpu:h100:4",
		   .nodes = 2),
	      "h100=8/16 sum=8/16");
	check("largest per_node and total taken separately",
	      SPEC(.tres_per_job = "gpu:h100:9", .tres_per_node = "gpu:h100:4",
		   .nodes = 2),
	      "h100=5/9 sum=5/9");
	check("typed and untyped kept apart",
	      SPEC(.tres_per_job = "gpu:4", .tres_per_node = "gpu:h100:1",
		   .nodes = 2),
	      "*=2/4 h100=1/2 sum=3/6");
	check("several types in one field, order kept",
	      SPEC(.tres_per_node = "gpu:l4:1,gpu:h100:2,gpu:a100:3"),
	      "l4=1/1 h100=2/2 a100=3/3 sum=6/6");
	check("order of first appearance across fields",
	      SPEC(.tres_per_job = "gpu:a:1",
		   .tres_per_node = "gpu:b:1,gpu:a:2",
		   .tres_per_socket = "gpu:c:1"),
	      "a=2/2 b=1/1 c=1/1 sum=4/4");
	check("all four fields",
	      SPEC(.tres_per_job = "gres/gpu:h100=6",
		   .tres_per_node = "gres/gpu:h100:2",
		   .tres_per_task = "gres:gpu:h100:1",
		   .tres_per_socket = "gpu:h100:1", .nodes = 2, .ntasks = 4,
		   .sockets_per_node = 2),
	      "h100=3/6 sum=3/6");
	check("other gres skipped",
	      SPEC(.tres_per_node = "gres:shard:4,gres:mps:100,gres/gpu:2,"
		   "gres/shard=2"),
	      "*=2/2 sum=2/2");
	check("licence skipped", SPEC(.nodes = 1, .tres_per_job = "license/foo=1,gpu:1"),
	      "*=1/1 sum=1/1");
	check("only other resources",
	      SPEC(.tres_per_node = "gres:shard:4",
		   .tres_per_job = "license/x=1"),
	      "sum=0/0");
	check("gpus-like name is not gpu", SPEC(.tres_per_node = "gres:gpux:2"),
	      "sum=0/0");
	check("eight types",
	      SPEC(.tres_per_node = "gpu:a:1,gpu:b:1,gpu:c:1,gpu:d:1",
		   .tres_per_job = "gpu:e:1,gpu:f:1,gpu:g:1,gpu", .nodes = 1),
	      "e=1/1 f=1/1 g=1/1 *=1/1 a=1/1 b=1/1 c=1/1 d=1/1 sum=8/8");
	check("same type again in another field is no new type",
	      SPEC(.tres_per_node = "gpu:a:1,gpu:b:1,gpu:c:1,gpu:d:1,gpu:e:1,"
		   "gpu:f:1,gpu:g:1,gpu:h:1",
		   .tres_per_job = "gpu:h:3", .nodes = 1),
	      "h=3/3 a=1/1 b=1/1 c=1/1 d=1/1 e=1/1 f=1/1 g=1/1 sum=10/10");
}

static void test_malformed(void)
{
	check_err("empty item", SPEC(.tres_per_node = "gpu:1,,gpu:h100:1"),
		  "empty item in \"gpu:1,,gpu:h100:1\"");
	check_err("trailing comma", SPEC(.tres_per_node = "gpu:2,"),
		  "empty item in \"gpu:2,\"");
	check_err("leading comma", SPEC(.tres_per_job = ",gpu:2"),
		  "empty item in \",gpu:2\"");
	check_err("lone comma", SPEC(.tres_per_job = ","), "empty item");
	check_err("gpu:", SPEC(.tres_per_node = "gpu:"),
		  "malformed GPU request in \"gpu:\"");
	check_err("gpu::2", SPEC(.tres_per_node = "gpu::2"),
		  "malformed GPU request in \"gpu::2\"");
	check_err("too many fields", SPEC(.tres_per_node = "gres:gpu:h100:2:3"),
		  "malformed GPU request in \"gres:gpu:h100:2:3\"");
	check_err("= without gres/", SPEC(.tres_per_node = "gpu=2"),
		  "malformed GPU request in \"gpu=2\"");
	check_err("type= without gres/",
		  SPEC(.tres_per_node = "gres:gpu:h100=2"),
		  "malformed GPU request in \"gres:gpu:h100=2\"");
	check_err("= twice", SPEC(.tres_per_node = "gres/gpu:h100=2=3"),
		  "malformed GPU request");
	check_err("bad count", SPEC(.tres_per_node = "gres:gpu:h100:x"),
		  "bad GPU count in \"gres:gpu:h100:x\"");
	check_err("empty count", SPEC(.tres_per_node = "gpu:h100:"),
		  "bad GPU count in \"gpu:h100:\"");
	check_err("empty = count", SPEC(.tres_per_node = "gres/gpu="),
		  "bad GPU count in \"gres/gpu=\"");
	check_err("negative", SPEC(.tres_per_node = "gpu:-1"),
		  "bad GPU count in \"gpu:-1\"");
	check_err("negative typed", SPEC(.tres_per_task = "gpu:h100:-2"),
		  "bad GPU count in \"gpu:h100:-2\"");
	check_err("plus sign", SPEC(.tres_per_node = "gpu:+2"),
		  "bad GPU count in \"gpu:+2\"");
	check_err("two suffixes", SPEC(.tres_per_node = "gpu:h100:1kk"),
		  "bad GPU count");
	check_err("unknown suffix", SPEC(.tres_per_node = "gpu:h100:1t"),
		  "bad GPU count in \"gpu:h100:1t\"");
	check_err("hex", SPEC(.tres_per_node = "gres/gpu=0x10"),
		  "bad GPU count");
	check_err("fraction", SPEC(.tres_per_node = "gpu:h100:1.5"),
		  "bad GPU count");
	check_err("2^32", SPEC(.tres_per_node = "gpu:4294967296"),
		  "GPU count too large in \"gpu:4294967296\"");
	check_err("4g", SPEC(.tres_per_node = "gpu:h100:4g"),
		  "GPU count too large in \"gpu:h100:4g\"");
	check_err("huge digits",
		  SPEC(.tres_per_job = "gpu:99999999999999999999999999999999"),
		  "GPU count too large");
	check_err("per node times nodes overflows",
		  SPEC(.tres_per_node = "gpu:4294967295", .nodes = 2),
		  "too many GPUs in \"gpu:4294967295\"");
	check_err("per socket at the limits",
		  SPEC(.tres_per_socket = "gpu:4294967295",
		       .nodes = 4294967295u, .sockets_per_node = 4294967295u),
		  "too many GPUs in \"gpu:4294967295\"");
	check_err("per socket product beyond 2^32",
		  SPEC(.tres_per_socket = "gpu:65536", .nodes = 65536u,
		       .sockets_per_node = 65536u),
		  "too many GPUs in \"gpu:65536\"");
	check_err("per task beyond 2^32",
		  SPEC(.tres_per_task = "gpu:1m", .ntasks = 8192),
		  "too many GPUs");
	check_err("sum beyond 2^32",
		  SPEC(.tres_per_job = "gpu:a:4294967295,gpu:b:1"),
		  "too many GPUs in \"gpu:b:1\"");
	check_err("nine types in one field",
		  SPEC(.tres_per_node = "gpu:a:1,gpu:b:1,gpu:c:1,gpu:d:1,"
		       "gpu:e:1,gpu:f:1,gpu:g:1,gpu:h:1,gpu:i:1"),
		  "too many GPU types in \"gpu:i:1\" (at most 8)");
	check_err("nine types across fields",
		  SPEC(.tres_per_node = "gpu:a:1,gpu:b:1,gpu:c:1,gpu:d:1",
		       .tres_per_job = "gpu:e:1,gpu:f:1,gpu:g:1,gpu:h:1",
		       .tres_per_task = "gpu:i:1"),
		  "too many GPU types in \"gpu:i:1\"");
	check_err("64-byte type",
		  SPEC(.tres_per_node = "gpu:"
		       "abcdefghijabcdefghijabcdefghijabcdefghij"
		       "abcdefghijabcdefghijabcd:1"),
		  "GPU type too long");
	check_err("bad char in type", SPEC(.tres_per_node = "gpu:h@100:1"),
		  "bad GPU type in \"gpu:h@100:1\" (use letters");
	check_err("slash in type", SPEC(.tres_per_node = "gres/gpu:a/b:1"),
		  "bad GPU type in \"gres/gpu:a/b:1\"");
	check_err("type led by dash", SPEC(.tres_per_node = "gpu:-x:1"),
		  "bad GPU type in \"gpu:-x:1\" (may not start with '-')");
	check_err("numeric type", SPEC(.tres_per_node = "gpu:2:3"),
		  "GPU type may not be a number in \"gpu:2:3\"");
	check_err("type twice in one field",
		  SPEC(.tres_per_node = "gpu:h100:1,gres:gpu:h100:2"),
		  "GPU type given twice in \"gres:gpu:h100:2\"");
	check_err("untyped twice in one field",
		  SPEC(.tres_per_job = "gpu:2,gres/gpu=3"),
		  "untyped GPU count given twice in \"gres/gpu=3\"");
	check_err("zero then count of one type",
		  SPEC(.tres_per_job = "gpu:h100:0,gpu:h100:2"),
		  "GPU type given twice");
	check_err("leading space", SPEC(.tres_per_node = " gpu:2"),
		  "bad character in \" gpu:2\"");
	check_err("space after comma", SPEC(.tres_per_node = "gpu:1, gpu:a:2"),
		  "bad character in \" gpu:a:2\"");
	check_err("trailing space", SPEC(.tres_per_node = "gpu:2 "),
		  "bad character in \"gpu:2 \"");
	check_err("inner space", SPEC(.tres_per_node = "gpu: 2"),
		  "bad character");
	check_err("tab", SPEC(.tres_per_node = "gpu:\t2"),
		  "bad character in \"gpu:?2\"");
	check_err("space in a skipped item",
		  SPEC(.tres_per_node = "gres:shard :4"), "bad character");
	check_err("error in the socket field",
		  SPEC(.tres_per_job = "gpu:1", .tres_per_socket = "gpu:x:y"),
		  "bad GPU count in \"gpu:x:y\"");
	check_err("error after a good field",
		  SPEC(.tres_per_job = "gpu:h100:4",
		       .tres_per_node = "gpu:h100:q"),
		  "bad GPU count in \"gpu:h100:q\"");
	check_err("NULL spec", NULL, "no GPU request");
}

static void test_hostile(void)
{
	size_t big = 1 << 20;
	char *s = malloc(big + 64);
	char err[AIF_ERR_MAX], small[12];
	struct aif_gpus g;
	int rc;

	if (!s)
		abort();

	/* A megabyte-long type: refused, and the message stays short. */
	strcpy(s, "gpu:");
	memset(s + 4, 'a', big);
	strcpy(s + 4 + big, ":1");
	rc = aif_gpus_normalise(SPEC(.tres_per_node = s), &g, err, sizeof(err));
	ok(rc == -1 && strstr(err, "GPU type too long") && strlen(err) < 200,
	   "megabyte type refused with a short message");
	like(err, "\"gpu:aaaa", "long item quoted from its start");
	like(err, "...\"", "long item marked as cut");

	/* A megabyte of digits. */
	strcpy(s, "gres/gpu=");
	memset(s + 9, '9', big);
	s[9 + big] = '\0';
	rc = aif_gpus_normalise(SPEC(.tres_per_job = s), &g, err, sizeof(err));
	ok(rc == -1 && strstr(err, "GPU count too large"),
	   "megabyte count refused");

	/* Many skipped items, then a GPU. */
	s[0] = '\0';
	for (size_t off = 0; off + 16 < big; off += 13)
		memcpy(s + off, "gres:shard:1,", 14);
	strcat(s, "gpu:h100:2");
	rc = aif_gpus_normalise(SPEC(.tres_per_node = s), &g, err, sizeof(err));
	ok(rc == 0 && g.ntypes == 1 && g.total == 2,
	   "GPU found after 80000-odd skipped items");
	free(s);

	/* Control bytes never reach the user's terminal. */
	rc = aif_gpus_normalise(SPEC(.tres_per_node = "gpu:\x1b[31mred:1"), &g,
				err, sizeof(err));
	ok(rc == -1 && !strchr(err, '\x1b'), "escape byte not echoed");
	like(err, "bad character in \"gpu:?[31mred:1\"", "escape shown as ?");
	rc = aif_gpus_normalise(SPEC(.tres_per_node = "gpu:h\xc3\xa9:1"), &g,
				err, sizeof(err));
	like(err, "bad character in \"gpu:h??:1\"", "non-ASCII refused");

	/* err may be NULL, or tiny. */
	rc = aif_gpus_normalise(SPEC(.tres_per_node = "gpu:x:y"), &g, NULL, 0);
	is_int(rc, -1, "NULL err still refuses");
	memset(small, 'z', sizeof(small));
	rc = aif_gpus_normalise(SPEC(.tres_per_node = "gpu:x:y"), &g, small,
				sizeof(small));
	ok(rc == -1 && strlen(small) == sizeof(small) - 1,
	   "small err buffer truncated and terminated");
	memset(small, 'z', sizeof(small));
	rc = aif_gpus_normalise(SPEC(.tres_per_node = "gpu:x:y"), &g, small, 0);
	ok(rc == -1 && small[0] == 'z', "errlen 0 leaves err alone");
	rc = aif_gpus_normalise(SPEC(.tres_per_node = "gpu:1"), NULL, err,
				sizeof(err));
	ok(rc == -1 && strstr(err, "no GPU request"), "NULL out refused");

	/* Success leaves err alone and fills the whole struct. */
	strcpy(err, "untouched");
	memset(&g, 0xa5, sizeof(g));
	rc = aif_gpus_normalise(SPEC(.tres_per_node = "gpu:1"), &g, err,
				sizeof(err));
	ok(rc == 0 && g.ntypes == 1 && !strcmp(err, "untouched") &&
	   g.by_type[1].total == 0 && g.by_type[7].type[0] == '\0',
	   "success zeroes unused entries and leaves err alone");
}

/* Issue 11 and its review: the audit's GPU indexes from SLURM's detail. */
static void test_gpu_index(void)
{
	static const struct {
		const char *detail, *want;
	} cases[] = {
		{ "gpu:a100:2(IDX:0,3)", "0,3" },
		{ "gpu:2(IDX:0-1)", "0-1" },
		{ "nic(CNT:1),gpu:2(IDX:0-1)", "0-1" },
		{ "gpu:a100:1(IDX:0),gpu:h100:1(IDX:4)", "0,4" },
		{ "gpufoo:1(IDX:7),gpu:1(IDX:2)", "2" },
		{ "mps:100(IDX:0),shard:2(IDX:1)", "" },
		{ "gpu:2(IDX:0;1)", "" },
		{ "gpu:2(IDX:0-1", "" },
		{ "", "" },
		{ "gpu(IDX:5)", "5" },
	};
	char buf[64];
	size_t used;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf[0] = '\0';
		used = aif_gpu_index_append(cases[i].detail, buf, sizeof(buf), 0);
		is_str(buf, cases[i].want, "GPU indexes of \"%s\"",
		       cases[i].detail);
		is_int((long long) used, (long long) strlen(cases[i].want),
		       "and its length");
	}
	snprintf(buf, sizeof(buf), "a1:");
	used = aif_gpu_index_append("gpu:1(IDX:0-1023,2048-4095)", buf, 8, 3);
	is_str(buf, "a1:", "what does not fit is left out whole");
	is_int((long long) used, 3, "and used is unchanged");
	is_int((long long) aif_gpu_index_append("gpu:1(IDX:0)", buf, 8, 8), 8,
	       "used at size: nothing appended");
}

int main(void)
{
	test_gpu_index();
	test_forms();
	test_counts();
	test_fields();
	test_mixing();
	test_malformed();
	test_hostile();
	return done();
}
