/*
 * What spank/aifactory costs a node and a task, from the library alone:
 * for each topology given (an hwloc XML, or "live" for this machine), how
 * long hwloc takes to load it (what the first step on a node pays), how
 * long the cached placement takes to read back (what every later step
 * pays), and the work done per task (its GPU list parsed, the step's
 * cores turned into PUs, the binding, the lists written for the
 * environment).
 *
 *   bench_placement [-i ITERATIONS] XML|live...
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "topology.h"

static double _now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static int _one(const char *arg, int iterations)
{
	const char *xml = strcmp(arg, "live") ? arg : NULL;
	struct aif_topo *topo;
	struct aif_placement *place, *back;
	struct aif_binding b;
	hwloc_bitmap_t cores, allowed;
	char err[512], *text = NULL, list[64], out[4096];
	size_t len = 0;
	double t0, load, read, task;
	int loads = iterations / 1000 > 3 ? iterations / 1000 : 3, i, n;
	int gpus[AIF_TOPO_MAX_GPUS];
	FILE *f;

	t0 = _now();
	for (i = 0; i < loads; i++) {
		if (aif_topo_load(&topo, xml, err, sizeof(err)) < 0) {
			fprintf(stderr, "bench_placement: %s\n", err);
			return -1;
		}
		if (i < loads - 1)
			aif_topo_free(topo);
	}
	load = (_now() - t0) / loads;
	place = aif_placement_new(topo, arg);
	f = open_memstream(&text, &len);
	if (!place || !f || aif_placement_write(place, f) < 0)
		return -1;
	fclose(f);

	t0 = _now();
	for (i = 0; i < iterations / 10 + 1; i++) {
		if (aif_placement_read(text, len, &back, err, sizeof(err)) < 0) {
			fprintf(stderr, "bench_placement: %s\n", err);
			return -1;
		}
		aif_placement_free(back);
	}
	read = (_now() - t0) / (iterations / 10 + 1);

	cores = hwloc_bitmap_alloc();
	allowed = hwloc_bitmap_alloc();
	b.cpuset = hwloc_bitmap_alloc();
	hwloc_bitmap_set_range(cores, 0, place->ncores - 1);
	snprintf(list, sizeof(list), "%d", place->ngpus ? place->ngpus - 1 : 0);
	t0 = _now();
	for (i = 0; place->ngpus && i < iterations; i++) {
		n = aif_gpu_list_parse(list, gpus, AIF_TOPO_MAX_GPUS);
		aif_placement_cores_to_pus(place, cores, allowed);
		aif_placement_bind(place, gpus, n, allowed, &b);
		hwloc_bitmap_list_snprintf(out, sizeof(out), b.cpuset);
	}
	task = place->ngpus ? (_now() - t0) / iterations : 0;

	printf("%-44.44s %4d %5d %11.2f %11.1f %11.2f\n",
	       strrchr(arg, '/') ? strrchr(arg, '/') + 1 : arg,
	       place->ngpus, place->ncores, load * 1e3, read * 1e6,
	       task * 1e6);
	hwloc_bitmap_free(cores);
	hwloc_bitmap_free(allowed);
	hwloc_bitmap_free(b.cpuset);
	aif_placement_free(place);
	aif_topo_free(topo);
	free(text);
	return 0;
}

int main(int argc, char **argv)
{
	int iterations = 20000, c, rc = 0;

	while ((c = getopt(argc, argv, "i:")) != -1) {
		if (c != 'i' || (iterations = atoi(optarg)) < 1) {
			fprintf(stderr, "usage: bench_placement [-i N] XML|live...\n");
			return 2;
		}
	}
	if (optind == argc) {
		fprintf(stderr, "usage: bench_placement [-i N] XML|live...\n");
		return 2;
	}
	printf("%-44s %4s %5s %11s %11s %11s\n", "topology", "GPUs", "cores",
	       "hwloc (ms)", "cache (us)", "task (us)");
	for (; optind < argc; optind++)
		rc |= _one(argv[optind], iterations) ? 1 : 0;
	printf("hwloc: the first step on a node; cache: every later step; "
	       "task: each task (bind the last GPU within the whole node)\n");
	return rc;
}
