/*
 * The topology reader and the binding computation (common/topology.c),
 * on the project's own made-up nodes in tests/fixtures/topology: GPUs in
 * bus order, each GPU's cores, NUMA node, locality level and nearest
 * NIC, links from NVLink bandwidth, and the binding of a task given some
 * GPUs and allowed some cores. The real machines' exports are checked
 * by tests/0009-topology.t.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "topology.h"

static char path[4096];

static const char *fixture(const char *name)
{
	const char *top = getenv("top_srcdir");

	snprintf(path, sizeof(path), "%s/tests/fixtures/topology/%s",
		 top ? top : ".", name);
	return path;
}

static const char *list(hwloc_const_bitmap_t set)
{
	static char buf[256];

	hwloc_bitmap_list_snprintf(buf, sizeof(buf), set);
	return buf;
}

/* The trap: hwloc's default I/O filter drops every PCI device. */
static void test_default_filter_sees_no_pci(void)
{
	hwloc_topology_t hw;
	int n = 0;
	hwloc_obj_t obj = NULL;

	hwloc_topology_init(&hw);
	hwloc_topology_set_xml(hw, fixture("aif-node-4gpu.xml"));
	hwloc_topology_load(hw);
	while ((obj = hwloc_get_next_pcidev(hw, obj)))
		n++;
	is_int(n, 0, "hwloc's default filter: no PCI device at all");
	hwloc_topology_destroy(hw);
}

static void test_four_gpu_node(void)
{
	static const struct {
		const char *bus, *cores, *cpus, *nic;
		int numa;
		enum aif_near near;
	} want[] = {
		{ "0000:03:00.0", "4-7", "4-7,20-23", "mlx5_0", 1,
		  AIF_NEAR_SWITCH },
		{ "0000:44:00.0", "0-3", "0-3,16-19", "mlx5_1", 0,
		  AIF_NEAR_SWITCH },
		{ "0000:84:00.0", "8-11", "8-11,24-27", "mlx5_2", 2,
		  AIF_NEAR_PACKAGE },
		{ "0000:c4:00.0", "12-15", "12-15,28-31", "mlx5_2", 3,
		  AIF_NEAR_BRIDGE },
	};
	struct aif_topo *t;
	char err[256];
	int i;

	if (!ok(aif_topo_load(&t, fixture("aif-node-4gpu.xml"), err,
			      sizeof(err)) == 0, "4-GPU node loads")) {
		printf("# %s\n", err);
		return;
	}
	ok(t->from_xml, "an XML is not this machine");
	is_int(t->ngpus, 4, "4 GPUs: the BMC's VGA and the NVSwitch are not");
	is_int(t->nnics, 3, "3 RDMA NICs");
	for (i = 0; i < 4 && i < t->ngpus; i++) {
		const struct aif_topo_gpu *g = &t->gpu[i];

		is_str(g->busid, want[i].bus, "GPU %d in bus order", i);
		is_str(list(g->cores), want[i].cores, "GPU %d cores", i);
		is_str(list(g->cpuset), want[i].cpus, "GPU %d PUs", i);
		is_int(g->numa, want[i].numa, "GPU %d NUMA node", i);
		is_str(g->level, "Group", "GPU %d locality: its NUMA group", i);
		is_str(g->model, "h100", "GPU %d model from its PCI id", i);
		is_int(g->nnics, 1, "GPU %d: one nearest NIC", i);
		is_str(t->nic[g->nics[0]].name, want[i].nic,
		       "GPU %d nearest NIC", i);
		is_int(g->nic_near, want[i].near, "GPU %d NIC is %s", i,
		       aif_near_name(want[i].near));
	}
	is_str(t->gpu[0].osdev, "cuda0", "cuda names the GPU first");
	is_int(t->nic[0].port, 2, "mlx5_0: its active port is 2");
	is_int(t->nic[1].port, 1, "mlx5_1: port 1");
	is_str(t->nic[0].netdev, "ib0", "mlx5_0's netdev");
	is_int(t->link_kind, AIF_LINK_NVLINK, "NVLink bandwidth read");
	is_int(t->links[0][1], 4, "GPUs 0-1: 100 GB/s, 4 links");
	is_int(t->links[0][2], 2, "GPUs 0-2: 50 GB/s, 2 links");
	is_int(t->links[3][3], -1, "a GPU to itself: -1");
	is_int((long long) t->bandwidth[2][3], 100000, "bandwidth kept");
	is_str(t->socket_param, "numa_node_as_socket",
	       "cores are NUMA nodes: numa_node_as_socket");
	aif_topo_free(t);
}

static void test_l3_node(void)
{
	struct aif_topo *t;
	char err[256];

	if (!ok(aif_topo_load(&t, fixture("aif-node-l3.xml"), err,
			      sizeof(err)) == 0, "L3 node loads")) {
		printf("# %s\n", err);
		return;
	}
	is_int(t->ngpus, 2, "two MI250X GCDs");
	is_str(t->gpu[0].level, "L3Cache", "locality at L3 level");
	is_str(list(t->gpu[1].cores), "2-3", "GCD 1's cores: its L3's");
	is_str(t->gpu[0].maker, "amd", "AMD");
	is_str(t->gpu[0].render, "renderD128", "render node read");
	is_int(t->nnics, 1, "a Slingshot NIC with no RDMA device counts");
	is_str(t->nic[0].name, "hsi0", "named by its netdev");
	is_int(t->gpu[0].nic_near, AIF_NEAR_BRIDGE, "GCD 0: same bridge");
	is_int(t->gpu[1].nic_near, AIF_NEAR_NUMA, "GCD 1: same NUMA only");
	is_int(t->link_kind, AIF_LINK_NONE, "no link data");
	is_str(t->socket_param, "l3cache_as_socket", "l3cache_as_socket");
	aif_topo_free(t);
}

static void test_bind(void)
{
	struct aif_placement *t;
	struct aif_topo *topo;
	struct aif_binding b;
	hwloc_bitmap_t allowed = hwloc_bitmap_alloc(), cores =
		hwloc_bitmap_alloc();
	char err[256];
	int gpus[4];

	b.cpuset = hwloc_bitmap_alloc();
	if (aif_topo_load(&topo, fixture("aif-node-4gpu.xml"), err,
			  sizeof(err))) {
		ok(0, "load: %s", err);
		return;
	}
	t = aif_placement_new(topo, "test");
	hwloc_bitmap_copy(allowed,
			  hwloc_topology_get_complete_cpuset(topo->hw));
	aif_topo_free(topo);
	gpus[0] = 0;
	is_int(aif_placement_bind(t, gpus, 1, allowed, &b), 0, "bind GPU 0");
	is_str(list(b.cpuset), "4-7,20-23", "GPU 0 alone: its NUMA's PUs");
	is_int(b.level, AIF_BIND_LOCAL, "local");
	ok(b.nnics == 1 && b.nics[0] == 0, "NIC mlx5_0");

	gpus[1] = 1;
	aif_placement_bind(t, gpus, 2, allowed, &b);
	is_str(list(b.cpuset), "0-7,16-23", "GPUs 0 and 1: both NUMAs");
	is_int(b.nnics, 2, "and both NICs");

	aif_index_list_parse("5", 16, cores);
	is_int(aif_placement_cores_to_pus(t, cores, allowed), 0, "core 5's PUs");
	aif_placement_bind(t, gpus, 1, allowed, &b);
	is_str(list(b.cpuset), "5,21", "never outside what is allowed");

	aif_index_list_parse("0-3", 16, cores);
	aif_placement_cores_to_pus(t, cores, allowed);
	aif_placement_bind(t, gpus, 1, allowed, &b);
	is_str(list(b.cpuset), "0-3,16-19", "no GPU 0 core allowed: package");
	is_int(b.level, AIF_BIND_PACKAGE, "widened to the package");

	gpus[0] = 2;
	aif_placement_bind(t, gpus, 1, allowed, &b);
	is_str(list(b.cpuset), "0-3,16-19", "GPU 2, other package: allowed");
	is_int(b.level, AIF_BIND_ALLOCATION, "nothing near: the allocation");

	gpus[0] = 4;
	is_int(aif_placement_bind(t, gpus, 1, allowed, &b), -1, "no GPU 4");
	gpus[0] = 0;
	hwloc_bitmap_zero(allowed);
	is_int(aif_placement_bind(t, gpus, 1, allowed, &b), -1, "nothing allowed");
	aif_index_list_parse("16", 64, cores);
	is_int(aif_placement_cores_to_pus(t, cores, allowed), -1, "no core 16");

	aif_placement_free(t);
	hwloc_bitmap_free(allowed);
	hwloc_bitmap_free(cores);
	hwloc_bitmap_free(b.cpuset);
}

static char *text_of(const struct aif_placement *p, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	aif_placement_write(p, f);
	fclose(f);
	return buf;
}

/* The text reads back as what was written; damage is refused with the
 * line and the reason. */
static void test_placement_text(void)
{
	struct aif_topo *topo;
	struct aif_placement *p, *q;
	char err[256], *text, *again, *bad;
	size_t len, len2;

	if (aif_topo_load(&topo, fixture("aif-node-4gpu.xml"), err,
			  sizeof(err))) {
		ok(0, "load: %s", err);
		return;
	}
	p = aif_placement_new(topo, "xml tests/aif-node-4gpu.xml\nx");
	aif_topo_free(topo);
	text = text_of(p, &len);
	like(text, "aifactory-placement 1\nsource xml tests/aif-node-4gpu.xml x\n"
	     "gpu 0 0000:03:00.0 4-7,20-23 4-7,20-23 0-7,16-23 0\n",
	     "text: magic, source on one line, GPU 0");
	like(text, "\nnic 0 mlx5_0 ib0 15b3 1 2\n", "a NIC line");
	is_str(strstr(text, "\ncore 15 "), "\ncore 15 15,31\nend\n",
	       "cores, then end");
	is_int(aif_placement_read(text, len, &q, err, sizeof(err)), 0,
	       "reads back");
	if (q) {
		again = text_of(q, &len2);
		is_str(again, text, "and writes the same text");
		free(again);
		is_int(q->ncores, 16, "16 cores");
		is_int(q->gpu[3].nics[0], 2, "GPU 3's NIC");
		aif_placement_free(q);
	}
	is_int(aif_placement_read(text, len - 4, &q, err, sizeof(err)), -1,
	       "cut short: refused");
	is_str(err, "line 26: no end line: cut short", "saying so");
	bad = strdup(text);
	memcpy(strstr(bad, "gpu 1"), "gpu 2", 5);
	is_int(aif_placement_read(bad, len, &q, err, sizeof(err)), -1,
	       "GPUs out of order: refused");
	is_str(err, "line 4: GPUs must be numbered 0, 1, ... in order",
	       "with the line");
	free(bad);
	bad = strdup(text);
	memcpy(strstr(bad, "mlx5_0"), "mlx5;0", 6);
	aif_placement_read(bad, len, &q, err, sizeof(err));
	is_str(err, "line 7: bad NIC name", "a name with a ';'");
	free(bad);
	bad = strdup(text);
	memcpy(strstr(bad, " 0\ngpu 1"), " 7", 2);
	aif_placement_read(bad, len, &q, err, sizeof(err));
	is_str(err, "line 26: a GPU names a NIC that is not there",
	       "a NIC index past the NICs");
	free(bad);
	is_int(aif_placement_read("", 0, &q, err, sizeof(err)), -1, "empty");
	is_int(aif_placement_read("aifactory-placement 2\n", 22, &q, err,
				  sizeof(err)), -1, "another version");
	is_str(err, "line 1: not a placement (aifactory-placement 1)",
	       "named");
	free(text);
	aif_placement_free(p);
}

static void test_gpu_list(void)
{
	int g[8];

	is_int(aif_gpu_list_parse("0,1,3", g, 8), 3, "0,1,3");
	ok(g[0] == 0 && g[1] == 1 && g[2] == 3, "in order");
	is_int(aif_gpu_list_parse("7", g, 8), 1, "one");
	is_int(aif_gpu_list_parse("63", g, 8), 1, "63");
	is_int(aif_gpu_list_parse("64", g, 8), -1, "64: past the most");
	is_int(aif_gpu_list_parse("", g, 8), -1, "empty");
	is_int(aif_gpu_list_parse("0,", g, 8), -1, "trailing comma");
	is_int(aif_gpu_list_parse(",0", g, 8), -1, "leading comma");
	is_int(aif_gpu_list_parse("0,0", g, 8), -1, "twice");
	is_int(aif_gpu_list_parse("0-3", g, 8), -1, "a range");
	is_int(aif_gpu_list_parse("GPU-1234", g, 8), -1, "a UUID");
	is_int(aif_gpu_list_parse("0001", g, 8), -1, "four digits");
	is_int(aif_gpu_list_parse("01", g, 8), -1, "a leading zero");
	is_int(aif_gpu_list_parse("10,0", g, 8), 2, "10 and 0");
	is_int(aif_gpu_list_parse("0,1,2", g, 2), -1, "more than max");
	is_int(aif_gpu_list_parse(NULL, g, 2), -1, "NULL");
}

/* Review of issue 11: hwloc's reader took "-5" (a bit past 2^31 that
 * then looped forever), "4294967296" (PU 0), octal "010", "3-1". */
static void test_index_list(void)
{
	static const char *const bad[] = {
		"-5", "4294967291", "4294967296", "010", "08", "3-1", "",
		",", "1,", ",1", "0-", "-0", "1--2", "0-4294967294", "65536",
		" 1", "1 ", "+1", "0x1", "1,,2",
	};
	hwloc_bitmap_t set = hwloc_bitmap_alloc();

	is_int(aif_index_list_parse("0-3,8", 65536, set), 0, "0-3,8");
	is_str(list(set), "0-3,8", "read as written");
	is_int(aif_index_list_parse("0", 1, set), 0, "0 below 1");
	is_int(aif_index_list_parse("65535", 65536, set), 0, "the last one");
	is_int(aif_index_list_parse("5-5,2", 65536, set), 0, "a range of one");
	is_str(list(set), "2,5", "any order");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		is_int(aif_index_list_parse(bad[i], 65536, set), -1,
		       "refused: \"%s\"", bad[i]);
		ok(hwloc_bitmap_iszero(set), "and nothing kept");
	}
	hwloc_bitmap_free(set);
}

static void test_errors(void)
{
	struct aif_topo *t = (void *) 1;
	char err[256];

	is_int(aif_topo_load(&t, fixture("no-such.xml"), err, sizeof(err)),
	       -1, "a missing XML is refused");
	ok(t == NULL, "and nothing returned");
	like(err, "no-such.xml: No such file", "saying which and why");
	is_int(aif_topo_load(&t, fixture("../topology/../aifctl/aifactory.json"),
			     err, sizeof(err)), -1, "JSON is not an XML");
	like(err, "aifactory.json", "names the file");
	is_str(aif_near_name(AIF_NEAR_SYSTEM), "system", "near names");
	is_str(aif_bind_level_name(AIF_BIND_NUMA), "numa", "level names");
	is_str(aif_link_kind_name(AIF_LINK_XGMI), "xgmi", "link names");
}

int main(void)
{
	test_default_filter_sees_no_pci();
	test_four_gpu_node();
	test_l3_node();
	test_bind();
	test_placement_text();
	test_gpu_list();
	test_index_list();
	test_errors();
	return done();
}
