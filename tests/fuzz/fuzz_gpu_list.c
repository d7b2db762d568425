/*
 * libFuzzer target: aif_gpu_list_parse(), which the SPANK plugin calls
 * on the GPU lists of a task's environment (SLURM_STEP_GPUS,
 * CUDA_VISIBLE_DEVICES). Input: the list (cut at its first NUL).
 *
 * Invariants: the count is -1 or 1..max; every index is below
 * AIF_TOPO_MAX_GPUS and appears once; a list accepted reads back, joined
 * with commas, as the input.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "topology.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), back[4 * AIF_TOPO_MAX_GPUS + 1];
	int gpus[8], n, i, j;
	size_t used = 0;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	n = aif_gpu_list_parse(text, gpus, 8);
	fuzz_assert(n == -1 || (n >= 1 && n <= 8), "count %d", n);
	for (i = 0; i < n; i++) {
		fuzz_assert(gpus[i] >= 0 && gpus[i] < AIF_TOPO_MAX_GPUS,
			    "index %d", gpus[i]);
		for (j = 0; j < i; j++)
			fuzz_assert(gpus[i] != gpus[j], "%d twice", gpus[i]);
		used += (size_t) snprintf(back + used, sizeof(back) - used,
					  "%s%d", i ? "," : "", gpus[i]);
	}
	if (n > 0)
		fuzz_assert(!strcmp(back, text), "\"%s\" read back as \"%s\"",
			    text, back);
	free(text);
	return 0;
}
