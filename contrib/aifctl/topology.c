/*
 * aifctl topology: a GPU node's topology as hwloc reads it, from the node
 * aifctl runs on or from an XML export (lstopo --of xml): each GPU's
 * cores, NUMA node and nearest NICs, the GPU links (show); the
 * gres.conf lines for the node (gres); and where a task given some GPUs
 * and allowed some cores would run, as the SPANK plugin binds it (bind).
 * Needs no SLURM and no policy.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "aifctl.h"
#include "topology.h"

static int _bind(const struct aif_topo *topo, const char *gpu_list,
		 const char *core_list)
{
	struct aif_placement *place = aif_placement_new(topo, "aifctl");
	hwloc_bitmap_t gset = hwloc_bitmap_alloc(), cset = hwloc_bitmap_alloc();
	hwloc_bitmap_t allowed = hwloc_bitmap_alloc();
	struct aif_binding b = { .cpuset = hwloc_bitmap_alloc() };
	int gpus[AIF_TOPO_MAX_GPUS], n = 0, i, rv = 2;
	char buf[1024];

	if (!place || !gset || !cset || !allowed || !b.cpuset)
		goto out;
	if (aif_index_list_parse(gpu_list, AIF_TOPO_MAX_GPUS, gset) < 0) {
		aifctl_error_text("--gpus ", gpu_list,
				  ": not a list of GPU indexes");
		goto out;
	}
	hwloc_bitmap_foreach_begin(i, gset) {
		if (i >= topo->ngpus || n == AIF_TOPO_MAX_GPUS) {
			fprintf(stderr, "aifctl: --gpus: the node has %d GPU%s\n",
				topo->ngpus, topo->ngpus == 1 ? "" : "s");
			goto out;
		}
		gpus[n++] = i;
	} hwloc_bitmap_foreach_end();
	if (core_list) {
		if (aif_index_list_parse(core_list, AIF_PLACE_MAX_CORES,
					 cset) < 0 ||
		    aif_placement_cores_to_pus(place, cset, allowed) < 0) {
			aifctl_error_text("--cores ", core_list,
					  ": not a list of this node's cores");
			goto out;
		}
	} else {
		hwloc_bitmap_copy(allowed,
				  hwloc_topology_get_complete_cpuset(topo->hw));
	}
	if (aif_placement_bind(place, gpus, n, allowed, &b) < 0) {
		fprintf(stderr, "aifctl: no binding for these GPUs\n");
		goto out;
	}
	hwloc_bitmap_list_snprintf(buf, sizeof(buf), b.cpuset);
	printf("cpus %s (%s)\nnics", buf, aif_bind_level_name(b.level));
	for (i = 0; i < b.nnics; i++)
		printf("%c%s", i ? ',' : ' ', topo->nic[b.nics[i]].name);
	printf("%s\n", b.nnics ? "" : " -");
	rv = 0;
out:
	aif_placement_free(place);
	hwloc_bitmap_free(gset);
	hwloc_bitmap_free(cset);
	hwloc_bitmap_free(allowed);
	hwloc_bitmap_free(b.cpuset);
	return rv;
}

int aifctl_topology(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "xml", required_argument, NULL, 'x' },
		{ "json", no_argument, NULL, 'j' },
		{ "type", required_argument, NULL, 't' },
		{ "nic", no_argument, NULL, 'n' },
		{ "gpus", required_argument, NULL, 'g' },
		{ "cores", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	const char *xml = NULL, *type = NULL, *gpus = NULL, *cores = NULL;
	const char *what;
	int c, json = 0, nics = 0, rv;
	struct aif_topo *topo;
	char err[512];

	if (argc < 2 || (strcmp(argv[1], "show") && strcmp(argv[1], "gres") &&
			 strcmp(argv[1], "bind")))
		return aifctl_usage(stderr);
	what = argv[1];
	argc--;
	argv++;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'x':
			xml = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 't':
			type = optarg;
			break;
		case 'n':
			nics = 1;
			break;
		case 'g':
			gpus = optarg;
			break;
		case 'c':
			cores = optarg;
			break;
		default:
			return aifctl_usage(stderr);
		}
	}
	if (optind != argc || (json && strcmp(what, "show")) ||
	    ((type || nics) && strcmp(what, "gres")) ||
	    ((gpus || cores) && strcmp(what, "bind")) ||
	    (!gpus && !strcmp(what, "bind")))
		return aifctl_usage(stderr);

	if (aif_topo_load(&topo, xml, err, sizeof(err)) < 0) {
		aifctl_error_text("", err, "");
		return 2;
	}
	rv = 0;
	if (!strcmp(what, "bind"))
		rv = _bind(topo, gpus, cores);
	else if (!strcmp(what, "gres"))
		aifctl_topo_print_gres(topo, type, nics, stdout);
	else if (json)
		aifctl_topo_print_json(topo, stdout);
	else
		aifctl_topo_print_show(topo, stdout);
	aif_topo_free(topo);
	return rv;
}
