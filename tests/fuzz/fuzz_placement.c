/*
 * libFuzzer target: aif_placement_read(), which the SPANK plugin calls on
 * its node cache before it binds a task, and the binding computed from
 * what it accepted. Input: the cache file's text.
 *
 * Invariants: an accepted text written back reads again to the same
 * text; binding every GPU within every core either fails cleanly or
 * gives PUs inside the allowed ones and NICs the placement has.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "topology.h"
#include "fuzz.h"

static char *_text(const struct aif_placement *p, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (!f)
		return NULL;
	aif_placement_write(p, f);
	fclose(f);
	return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aif_placement *p, *q;
	struct aif_binding b;
	hwloc_bitmap_t cores, allowed;
	char err[256], *once, *twice;
	size_t len1, len2;
	int gpus[AIF_TOPO_MAX_GPUS], i;

	if (aif_placement_read((const char *) data, size, &p, err,
			       sizeof(err)) < 0)
		return 0;
	once = _text(p, &len1);
	fuzz_assert(once != NULL, "no text");
	fuzz_assert(aif_placement_read(once, len1, &q, err, sizeof(err)) == 0,
		    "written text refused: %s", err);
	twice = _text(q, &len2);
	fuzz_assert(twice && len1 == len2 && !memcmp(once, twice, len1),
		    "text changed on the second round");

	cores = hwloc_bitmap_alloc();
	allowed = hwloc_bitmap_alloc();
	b.cpuset = hwloc_bitmap_alloc();
	hwloc_bitmap_set_range(cores, 0, p->ncores - 1);
	fuzz_assert(aif_placement_cores_to_pus(p, cores, allowed) == 0,
		    "its own cores refused");
	for (i = 0; i < p->ngpus; i++)
		gpus[i] = i;
	if (p->ngpus && aif_placement_bind(p, gpus, p->ngpus, allowed, &b) == 0) {
		fuzz_assert(hwloc_bitmap_isincluded(b.cpuset, allowed),
			    "bound outside what was allowed");
		for (i = 0; i < b.nnics; i++)
			fuzz_assert(b.nics[i] >= 0 && b.nics[i] < p->nnics,
				    "NIC %d", b.nics[i]);
	}
	hwloc_bitmap_free(cores);
	hwloc_bitmap_free(allowed);
	hwloc_bitmap_free(b.cpuset);
	free(once);
	free(twice);
	aif_placement_free(q);
	aif_placement_free(p);
	return 0;
}
