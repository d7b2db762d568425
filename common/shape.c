/*
 * Shaping at submit: a class's CPUs and memory per GPU, its default
 * --aif-bind, and its ceiling on CPUs per GPU (docs/placement.md).
 *
 * Only what SLURM 22.05 applies is set: cpus_per_tres and mem_per_tres
 * (as --cpus-per-gpu and --mem-per-gpu), never a job-level tres_bind,
 * which never reaches the steps (SLURM-PRIORITY-PLACEMENT.md, 5). A
 * default is not set where SLURM would refuse the pair: with -c or
 * --gpus-per-task (cpus_per_gpu x gpus_per_task must equal -c), nor over
 * a choice the job made itself.
 *
 * "auto" is the fewest CPUs (or MB) per GPU among the nodes of the job's
 * partition (SLURM's default one when the job and its class name none:
 * partition "" to the adapter), as the adapter finds them in slurmctld:
 * a GPU's share of its node. Unknown, it shapes nothing and refuses
 * nothing.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "aifactory.h"

static void __attribute__((format(printf, 2, 3)))
_note(struct aif_decision *d, const char *fmt, ...)
{
	size_t used = strlen(d->shaping);
	va_list ap;

	if (used >= sizeof(d->shaping) - 1)
		return;
	if (used)
		used += (size_t) snprintf(d->shaping + used,
					  sizeof(d->shaping) - used, "; ");
	if (used >= sizeof(d->shaping) - 1)
		return;
	va_start(ap, fmt);
	vsnprintf(d->shaping + used, sizeof(d->shaping) - used, fmt, ap);
	va_end(ap);
}

/* A policy value resolved: itself, or the partition's for "auto" (0
 * unknown). */
static uint32_t _resolve(uint32_t value, uint32_t partition_value)
{
	return value == AIF_SHAPE_AUTO ? partition_value : value;
}

/* The CPUs per GPU the job asks, rounded up: its --cpus-per-gpu or its
 * CPUs over its GPUs, whichever is more (SLURM gives it both); 0 when it
 * says nothing. */
static uint64_t _asked(const struct aif_request *r)
{
	uint64_t per = 0;

	if (r->cpus && r->gpus.total)
		per = (r->cpus + r->gpus.total - 1) / r->gpus.total;
	return r->cpus_per_gpu > per ? r->cpus_per_gpu : per;
}

/* The class's ceiling on CPUs per GPU: false (d refused) when the job
 * asks more. */
static bool _within_max(const struct aif_class *c, const struct aif_request *r,
			const char *partition, uint32_t max,
			struct aif_decision *d)
{
	uint64_t asked = _asked(r);

	if (max && asked > max) {
		d->verdict = AIF_REFUSE;
		d->rule = "class.max_cpus_per_gpu";
		snprintf(d->message, sizeof(d->message),
			 "class %s allows at most %u CPUs per GPU%s%s%s and "
			 "this job asks for %llu (classes.%s.max_cpus_per_gpu). "
			 "Use --cpus-per-gpu=%u, or ask for more GPUs.",
			 c->name, max,
			 c->max_cpus_per_gpu != AIF_SHAPE_AUTO ? "" :
			 partition[0] ?
			 " (a GPU's share of the cores of partition " :
			 " (a GPU's share of the cores of the default partition's nodes)",
			 c->max_cpus_per_gpu == AIF_SHAPE_AUTO ? partition : "",
			 c->max_cpus_per_gpu == AIF_SHAPE_AUTO && partition[0] ?
			 "'s nodes)" : "",
			 (unsigned long long) asked, c->name, max);
		return false;
	}
	return true;
}

/* The partition's CPUs and MB per GPU ("" : SLURM's default partition,
 * which the adapter knows). */
static const char *_partition(const struct aif_request *r,
			      const char *partition, uint32_t *cpus,
			      uint32_t *mem)
{
	*cpus = *mem = 0;
	if (!partition)
		partition = "";
	if (r->partition_shape)
		r->partition_shape(partition, r->partition_arg, cpus, mem);
	return partition;
}

void aif_shape_check(const struct aif_class *c, const struct aif_request *r,
		     const char *partition, struct aif_decision *d)
{
	uint32_t part_cpus, part_mem;

	if (!r->gpus.total || !c->max_cpus_per_gpu)
		return;
	partition = _partition(r, partition, &part_cpus, &part_mem);
	_within_max(c, r, partition,
		    _resolve(c->max_cpus_per_gpu, part_cpus), d);
}

void aif_shape(const struct aif_class *c, const struct aif_request *r,
	       const char *partition, struct aif_decision *d)
{
	uint32_t part_cpus, part_mem, max, cpus, mem;

	if (!r->gpus.total)
		return;
	partition = _partition(r, partition, &part_cpus, &part_mem);
	max = _resolve(c->max_cpus_per_gpu, part_cpus);
	if (!_within_max(c, r, partition, max, d))
		return;

	cpus = _resolve(c->cpus_per_gpu, part_cpus);
	if (cpus && max && cpus > max)
		cpus = max;
	if (cpus && !r->cpus_per_gpu && !r->cpus_per_task &&
	    !r->gpus_per_task) {
		d->cpus_per_gpu = cpus;
		_note(d, "--cpus-per-gpu=%u (classes.%s.cpus_per_gpu%s)", cpus,
		      c->name, c->cpus_per_gpu == AIF_SHAPE_AUTO ?
		      ": auto, from the partition's nodes" : "");
	} else if (c->cpus_per_gpu && !cpus) {
		_note(d, "no --cpus-per-gpu: %s%s's nodes are not known here",
		      partition[0] ? "partition " : "the default partition",
		      partition);
	}

	mem = _resolve(c->mem_per_gpu, part_mem);
	if (mem && !r->mem_given) {
		d->mem_per_gpu = mem;
		_note(d, "--mem-per-gpu=%uM (classes.%s.mem_per_gpu%s)", mem,
		      c->name, c->mem_per_gpu == AIF_SHAPE_AUTO ?
		      ": auto, from the partition's nodes" : "");
	}

	if (c->bind[0] && !r->bind_given) {
		memcpy(d->bind, c->bind, sizeof(d->bind));
		_note(d, "--aif-bind=%s (classes.%s.bind)", c->bind, c->name);
	}
}
