/*
 * libFuzzer target: the GPU request normaliser (aif_gpus_normalise()),
 * as job_submit and job_modify call it with a job's tres_per_* strings.
 *
 * Input: the first 20 bytes are the counts (nodes, ntasks,
 * ntasks_per_node, sockets_per_node, ntasks_per_gpu: 4 bytes each,
 * little-endian; missing bytes are 0), then up to four lines: tres_per_job,
 * tres_per_node, tres_per_task, tres_per_socket ("-" for NULL). A seed is
 * mostly text: "\1\0\0\0..." then "gres/gpu:h100:4\n-\n...".
 *
 * Invariants: on success the sums over types add up, no type repeats,
 * each type's total is at least its count per node; on failure the reason
 * is a printable line that is not empty. And each line, read as SLURM's
 * GRES detail of a node by aif_gpu_index_append() (the audit's GPU
 * indexes), gives only digits, commas and dashes within the buffer.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "aifactory.h"
#include "fuzz.h"

static uint32_t _u32(const uint8_t *data, size_t size, size_t at)
{
	uint32_t v = 0;

	for (size_t i = 0; i < 4 && at + i < size; i++)
		v |= (uint32_t) data[at + i] << (8 * i);
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aif_gpu_spec spec = {
		.nodes = _u32(data, size, 0),
		.ntasks = _u32(data, size, 4),
		.ntasks_per_node = _u32(data, size, 8),
		.sockets_per_node = _u32(data, size, 12),
		.ntasks_per_gpu = _u32(data, size, 16),
	};
	const char **field[] = { &spec.tres_per_job, &spec.tres_per_node,
				 &spec.tres_per_task, &spec.tres_per_socket };
	struct aif_gpus out;
	char err[256], *text, *line, *next;
	uint64_t per_node = 0, total = 0;

	text = malloc(size > 20 ? size - 20 + 1 : 1);
	if (!text)
		return 0;
	if (size > 20)
		memcpy(text, data + 20, size - 20);
	text[size > 20 ? size - 20 : 0] = '\0';
	line = text;
	for (size_t i = 0; i < 4 && line; i++) {
		if ((next = strchr(line, '\n')))
			*next++ = '\0';
		*field[i] = strcmp(line, "-") ? line : NULL;
		line = next;
	}

	for (size_t i = 0; i < 4; i++) {
		char idx[32] = "n:";
		size_t used = aif_gpu_index_append(*field[i], idx, sizeof(idx),
						   2);

		fuzz_assert(used < sizeof(idx) && strlen(idx) == used,
			    "used %zu, length %zu", used, strlen(idx));
		fuzz_assert(strspn(idx + 2, "0123456789,-") == used - 2,
			    "indexes \"%s\"", idx);
	}
	memset(err, 'x', sizeof(err));
	if (aif_gpus_normalise(&spec, &out, err, sizeof(err)) == 0) {
		fuzz_assert(out.ntypes <= AIF_GPU_TYPES_MAX, "%u types",
			    out.ntypes);
		for (unsigned i = 0; i < out.ntypes; i++) {
			const struct aif_gpu_count *c = &out.by_type[i];

			fuzz_assert(fuzz_printable(c->type, sizeof(c->type)),
				    "type %u not printable", i);
			fuzz_assert(c->total >= c->per_node, "%s: total %llu "
				    "below per node %llu", c->type,
				    (unsigned long long) c->total,
				    (unsigned long long) c->per_node);
			for (unsigned j = 0; j < i; j++)
				fuzz_assert(strcmp(out.by_type[j].type,
						   c->type),
					    "type \"%s\" twice", c->type);
			per_node += c->per_node;
			total += c->total;
		}
		fuzz_assert(per_node == out.per_node, "per node: %llu by "
			    "type, %llu in all", (unsigned long long) per_node,
			    (unsigned long long) out.per_node);
		fuzz_assert(total == out.total, "total: %llu by type, %llu "
			    "in all", (unsigned long long) total,
			    (unsigned long long) out.total);
	} else {
		fuzz_assert(fuzz_printable(err, sizeof(err)) && err[0],
			    "reason not printable or empty: %.255s", err);
	}
	free(text);
	return 0;
}
