/*
 * aifctl topology show and gres: the views of a node's topology
 * (common/topology.h). Names in a topology come from a file or the
 * kernel: JSON strings are escaped, gres.conf values must be plain
 * tokens.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "aifctl.h"
#include "balance.h"
#include "topology.h"

static void _list(hwloc_const_bitmap_t set, char *buf, size_t size)
{
	if (hwloc_bitmap_iszero(set))
		snprintf(buf, size, "-");
	else
		hwloc_bitmap_list_snprintf(buf, size, set);
}

static const char *_model(const struct aif_topo_gpu *g)
{
	return g->model[0] ? g->model : g->maker;
}

static void _nics_of(const struct aif_topo *t, const struct aif_topo_gpu *g,
		     char *buf, size_t size)
{
	size_t used = 0;
	int k;

	buf[0] = '\0';
	for (k = 0; k < g->nnics && used < size; k++)
		used += (size_t) snprintf(buf + used, size - used, "%s%s",
					  k ? "," : "", t->nic[g->nics[k]].name);
	if (!g->nnics)
		snprintf(buf, size, "-");
}

void aifctl_topo_print_show(const struct aif_topo *t, FILE *out)
{
	char cores[256], cpus[512], nics[256];
	int i, j;

	if (!t->ngpus) {
		fprintf(out, "no GPU in this topology\n");
		return;
	}
	fprintf(out, "%-3s %-12s %-7s %-9s %4s %-9s %-14s %-24s %s\n",
		"GPU", "BUS", "MODEL", "DEVICE", "NUMA", "LEVEL", "CORES",
		"CPUS", "NICS (NEAR)");
	for (i = 0; i < t->ngpus; i++) {
		const struct aif_topo_gpu *g = &t->gpu[i];

		_list(g->cores, cores, sizeof(cores));
		_list(g->cpuset, cpus, sizeof(cpus));
		_nics_of(t, g, nics, sizeof(nics));
		fprintf(out, "%-3d %-12s %-7s %-9s %4d %-9s %-14s %-24s %s (%s)\n",
			i, g->busid, _model(g), g->osdev[0] ? g->osdev : "-",
			g->numa, g->level, cores, cpus, nics,
			aif_near_name(g->nic_near));
	}
	if (t->nnics) {
		fprintf(out, "\n%-12s %-10s %-12s %4s  %s\n", "NIC", "NETDEV",
			"BUS", "NUMA", "NEAR EACH GPU");
		for (j = 0; j < t->nnics; j++) {
			const struct aif_topo_nic *n = &t->nic[j];

			fprintf(out, "%-12s %-10s %-12s %4d ", n->name,
				n->netdev[0] ? n->netdev : "-", n->busid,
				n->numa);
			for (i = 0; i < t->ngpus; i++)
				fprintf(out, " %d:%s", i,
					aif_near_name(t->nic_rel[i][j]));
			fputc('\n', out);
		}
	}
	fprintf(out, "\nGPU links: %s", aif_link_kind_name(t->link_kind));
	if (t->link_kind == AIF_LINK_NONE) {
		fprintf(out, " (the topology carries no GPU link data)\n");
		return;
	}
	fprintf(out, " (link count, GB/s)\n%-5s", "");
	for (j = 0; j < t->ngpus; j++)
		fprintf(out, " %9s%-2d", "GPU", j);
	fputc('\n', out);
	for (i = 0; i < t->ngpus; i++) {
		fprintf(out, "GPU%-2d", i);
		for (j = 0; j < t->ngpus; j++) {
			if (i == j)
				fprintf(out, " %11s", "-");
			else
				fprintf(out, " %4d (%4lu)", t->links[i][j],
					t->bandwidth[i][j] / 1000);
		}
		fputc('\n', out);
	}
}

void aifctl_topo_print_json(const struct aif_topo *t, FILE *out)
{
	char buf[512];
	int i, j;

	fprintf(out, "{\"gpus\":[");
	for (i = 0; i < t->ngpus; i++) {
		const struct aif_topo_gpu *g = &t->gpu[i];

		fprintf(out, "%s{\"index\":%d,\"bus\":", i ? "," : "", i);
		aif_json_string(out, g->busid);
		fprintf(out, ",\"vendor\":\"%s\",\"pci_id\":\"%04x:%04x\","
			"\"model\":", g->maker, g->vendor, g->device);
		aif_json_string(out, _model(g));
		fprintf(out, ",\"device\":");
		aif_json_string(out, g->osdev);
		fprintf(out, ",\"numa\":%d,\"level\":", g->numa);
		aif_json_string(out, g->level);
		_list(g->cores, buf, sizeof(buf));
		fprintf(out, ",\"cores\":");
		aif_json_string(out, buf);
		_list(g->cpuset, buf, sizeof(buf));
		fprintf(out, ",\"cpus\":");
		aif_json_string(out, buf);
		fprintf(out, ",\"nic_near\":\"%s\",\"nics\":[",
			aif_near_name(g->nic_near));
		for (j = 0; j < g->nnics; j++) {
			fprintf(out, "%s", j ? "," : "");
			aif_json_string(out, t->nic[g->nics[j]].name);
		}
		fprintf(out, "],\"links\":[");
		for (j = 0; j < t->ngpus; j++)
			fprintf(out, "%s%d", j ? "," : "", t->links[i][j]);
		fprintf(out, "],\"bandwidth_mbps\":[");
		for (j = 0; j < t->ngpus; j++)
			fprintf(out, "%s%lu", j ? "," : "", t->bandwidth[i][j]);
		fprintf(out, "]}");
	}
	fprintf(out, "],\"nics\":[");
	for (j = 0; j < t->nnics; j++) {
		const struct aif_topo_nic *n = &t->nic[j];

		fprintf(out, "%s{\"name\":", j ? "," : "");
		aif_json_string(out, n->name);
		fprintf(out, ",\"netdev\":");
		aif_json_string(out, n->netdev);
		fprintf(out, ",\"bus\":");
		aif_json_string(out, n->busid);
		fprintf(out, ",\"rdma\":%s,\"port\":%d,\"numa\":%d,\"near\":[",
			n->verbs ? "true" : "false", n->port, n->numa);
		for (i = 0; i < t->ngpus; i++)
			fprintf(out, "%s\"%s\"", i ? "," : "",
				aif_near_name(t->nic_rel[i][j]));
		fprintf(out, "]}");
	}
	fprintf(out, "],\"links\":\"%s\",\"socket_param\":",
		aif_link_kind_name(t->link_kind));
	if (t->socket_param)
		aif_json_string(out, t->socket_param);
	else
		fprintf(out, "null");
	fprintf(out, "}\n");
}

/* A token gres.conf takes as it is. */
static int _plain(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char) *s) && !strchr("_.-", *s))
			return 0;
	return 1;
}

/* File= for a GPU: NVIDIA's device minor is its runtime index (the
 * cuda/nvml number, else its place in bus order among NVIDIA GPUs); an
 * AMD GPU's render node as the topology names it, else 128 + its place
 * among AMD GPUs. Returns 1 when the file was derived, not read. */
static int _file(const struct aif_topo *t, int i, char *buf, size_t size)
{
	const struct aif_topo_gpu *g = &t->gpu[i];
	int place = 0, j;
	unsigned n;

	for (j = 0; j < i; j++)
		place += t->gpu[j].vendor == g->vendor;
	if (g->vendor != 0x1002) {
		if (sscanf(g->osdev, "cuda%u", &n) == 1 ||
		    sscanf(g->osdev, "nvml%u", &n) == 1) {
			snprintf(buf, size, "/dev/nvidia%u", n);
			return 0;
		}
		snprintf(buf, size, "/dev/nvidia%d", place);
		return 1;
	}
	if (g->render[0] && _plain(g->render)) {
		snprintf(buf, size, "/dev/dri/%s", g->render);
		return 0;
	}
	snprintf(buf, size, "/dev/dri/renderD%d", 128 + place);
	return 1;
}

void aifctl_topo_print_gres(const struct aif_topo *t, const char *type,
			 int with_nics, FILE *out)
{
	char file[64], cores[256];
	int i, j, guessed = 0, sockets = 0, ncores, npus;
	hwloc_obj_type_t socket_type = HWLOC_OBJ_PACKAGE;

	if (!t->ngpus) {
		fprintf(out, "# no GPU in this topology: no gres.conf lines\n");
		return;
	}
	for (i = 0; i < t->ngpus; i++) {
		const char *name = type ? type : _model(&t->gpu[i]);

		guessed |= _file(t, i, file, sizeof(file));
		if (!_plain(name)) {
			fprintf(out, "# GPU %d: type \"%s\" is not a plain "
				"word; give one with --type\n", i, name);
			return;
		}
	}
	if (t->socket_param && !strcmp(t->socket_param, "numa_node_as_socket"))
		socket_type = HWLOC_OBJ_NUMANODE;
	else if (t->socket_param &&
		 !strcmp(t->socket_param, "l3cache_as_socket"))
		socket_type = HWLOC_OBJ_L3CACHE;
	sockets = hwloc_get_nbobjs_by_type(t->hw, socket_type);
	ncores = hwloc_get_nbobjs_by_type(t->hw, HWLOC_OBJ_CORE);
	npus = hwloc_get_nbobjs_by_type(t->hw, HWLOC_OBJ_PU);
	if (sockets < 1)
		sockets = 1;
	if (ncores < 1)
		ncores = npus;

	fprintf(out, "# gres.conf: %d GPU%s in PCI bus order; Cores= are "
		"hwloc's logical core indexes\n", t->ngpus,
		t->ngpus == 1 ? "" : "s");
	if (!t->socket_param)
		fprintf(out, "# the GPUs' cores are of different kinds: no "
			"SlurmdParameters makes a socket match them all\n");
	else if (t->socket_param[0])
		fprintf(out, "# each GPU's cores are one %s: in slurm.conf set "
			"SlurmdParameters=%s\n",
			socket_type == HWLOC_OBJ_NUMANODE ? "NUMA node" :
			"L3 cache", t->socket_param);
	fprintf(out, "# slurm.conf node: Sockets=%d CoresPerSocket=%d "
		"ThreadsPerCore=%d\n", sockets, ncores / sockets,
		ncores ? npus / ncores : 1);
	if (guessed)
		fprintf(out, "# File= derived from bus order (the topology "
			"names no device): check them on the node\n");
	for (i = 0; i < t->ngpus; i++) {
		const struct aif_topo_gpu *g = &t->gpu[i];

		_file(t, i, file, sizeof(file));
		_list(g->cores, cores, sizeof(cores));
		fprintf(out, "Name=gpu Type=%s File=%s Cores=%s",
			type ? type : _model(g), file, cores);
		if (t->link_kind != AIF_LINK_NONE) {
			fprintf(out, " Links=");
			for (j = 0; j < t->ngpus; j++)
				fprintf(out, "%s%d", j ? "," : "",
					t->links[i][j]);
		}
		fputc('\n', out);
	}
	for (j = 0; with_nics && j < t->nnics; j++) {
		const struct aif_topo_nic *n = &t->nic[j];
		hwloc_obj_t nonio = hwloc_get_non_io_ancestor_obj(t->hw,
								  n->pci);
		hwloc_bitmap_t set = hwloc_bitmap_alloc();
		hwloc_obj_t core = NULL;

		if (!set || !_plain(n->name)) {
			hwloc_bitmap_free(set);
			continue;
		}
		while ((core = hwloc_get_next_obj_by_type(t->hw, HWLOC_OBJ_CORE,
							  core)))
			if (nonio && hwloc_bitmap_intersects(core->cpuset,
							     nonio->cpuset))
				hwloc_bitmap_set(set, core->logical_index);
		_list(set, cores, sizeof(cores));
		fprintf(out, "Name=nic Type=%s Count=1 Cores=%s\n", n->name,
			cores);
		hwloc_bitmap_free(set);
	}
}
