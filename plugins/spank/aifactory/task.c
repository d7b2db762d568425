/*
 * spank/aifactory: one task's binding, in task_init (as the user, just
 * before exec, after SLURM's own binding: SLURM-PRIORITY-PLACEMENT.md 3).
 *
 * Which GPUs the task is near: those SLURM gave it (SLURM_STEP_GPUS, or
 * SLURM_JOB_GPUS in the batch step). When SLURM bound no GPUs per task
 * and every task of the node sees the same ones, task i of n takes the
 * i-th of n equal slices of them in index order (the LOCAL_RANK
 * convention of one rank per GPU); with more tasks than GPUs, tasks
 * share a GPU. Where it runs: the PUs nearest those GPUs within the
 * cores of the step's allocation, never outside it (placement.c widens
 * to the NUMA node, the package, else the whole allocation).
 *
 * What it sets, on every step, so that nothing the batch step set leaks
 * into the steps of its script:
 *   AIF_BIND             the mode, which the script's steps inherit
 *   AIF_GPUS AIF_CPUS AIF_NICS AIF_BIND_LEVEL   what was chosen
 *   NCCL_IB_HCA          "=" and the nearest RDMA NICs (RCCL reads it too)
 *   UCX_NET_DEVICES      the same NICs with their ports
 * A NCCL_IB_HCA or UCX_NET_DEVICES the user set is left alone: the value
 * we set is recorded in AIF_SET_<name>, and only a value equal to it is
 * ours to replace or unset. With strict, CUDA_VISIBLE_DEVICES and what
 * SLURM sets beside it name only the task's own GPUs.
 *
 * With auto (and show) a failure logs a line and leaves SLURM's binding;
 * with strict it fails the task, saying why on its stderr.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "aif_spank.h"

#define BATCH_STEP 0xfffffffbU		/* SLURM_BATCH_SCRIPT */
#define VALUE_MAX 4096

static const char *const gpu_env[] = {
	"CUDA_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES", "GPU_DEVICE_ORDINAL",
	"ZE_AFFINITY_MASK",
};
static const char *const our_env[] = {
	"AIF_GPUS", "AIF_CPUS", "AIF_NICS", "AIF_BIND_LEVEL",
};

static int _get(spank_t sp, const char *name, char *buf, int len)
{
	return spank_getenv(sp, name, buf, len) == ESPANK_SUCCESS;
}

/* name=value (NULL: unset) unless the user set name: then theirs stays
 * (a value too long to read is theirs too: we never write one). */
static void _own_setenv(spank_t sp, const char *name, const char *value)
{
	char cur[VALUE_MAX], rec[VALUE_MAX], rec_name[64];
	spank_err_t got;

	snprintf(rec_name, sizeof(rec_name), "AIF_SET_%s", name);
	got = spank_getenv(sp, name, cur, sizeof(cur));
	if (got == ESPANK_NOSPACE ||
	    (got == ESPANK_SUCCESS &&
	     (!_get(sp, rec_name, rec, sizeof(rec)) || strcmp(cur, rec)))) {
		slurm_debug("%s: %s was set by the user: left as it is",
			    AIF_SPANK, name);
		return;
	}
	if (value) {
		spank_setenv(sp, name, value, 1);
		spank_setenv(sp, rec_name, value, 1);
	} else {
		spank_unsetenv(sp, name);
		spank_unsetenv(sp, rec_name);
	}
}

/* What an earlier step (the batch step) set, taken away. */
static void _clear(spank_t sp)
{
	size_t i;

	for (i = 0; i < sizeof(our_env) / sizeof(our_env[0]); i++)
		spank_unsetenv(sp, our_env[i]);
	_own_setenv(sp, "NCCL_IB_HCA", NULL);
	_own_setenv(sp, "UCX_NET_DEVICES", NULL);
}

static int __attribute__((format(printf, 3, 4)))
_fail(const struct aif_spank *ctx, spank_t sp, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ctx->mode == AIF_MODE_STRICT) {
		/* the task's stderr: SLURM adds that its plugin failed */
		dprintf(STDERR_FILENO, "aif-bind=strict: %s: the task cannot "
			"be bound to its GPUs\n", msg);
		return -1;
	}
	slurm_info("%s: %s: SLURM's binding is left as it is", AIF_SPANK, msg);
	_clear(sp);
	return 0;
}

/* Task local of n takes its slice of the node's GPUs. */
static int _own_gpus(const int *gpus, int n, uint32_t ntasks, int local,
		     int *own)
{
	int per, extra, start, k, i;

	if (ntasks <= 1 || local < 0 || (uint32_t) local >= ntasks) {
		memcpy(own, gpus, sizeof(int) * (size_t) n);
		return n;
	}
	if ((uint32_t) n < ntasks) {
		own[0] = gpus[(int) (((int64_t) local * n) / ntasks)];
		return 1;
	}
	per = n / (int) ntasks;
	extra = n % (int) ntasks;
	start = local * per + (local < extra ? local : extra);
	k = per + (local < extra);
	for (i = 0; i < k; i++)
		own[i] = gpus[start + i];
	return k;
}

static void _join(char *buf, size_t size, const int *v, int n)
{
	size_t used = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < n && used < size; i++)
		used += (size_t) snprintf(buf + used, size - used, "%s%d",
					  i ? "," : "", v[i]);
}

/* The step's allocated cores (abstract indexes) as PUs of the node. */
static int _allowed(const struct aif_spank *ctx, spank_t sp,
		    hwloc_bitmap_t pus)
{
	hwloc_bitmap_t cores = hwloc_bitmap_alloc();
	char *list = NULL;
	int rv = -1;

	if (!cores)
		return -1;
	if ((spank_get_item(sp, S_STEP_ALLOC_CORES, &list) != ESPANK_SUCCESS ||
	     !list || !*list) &&
	    (spank_get_item(sp, S_JOB_ALLOC_CORES, &list) != ESPANK_SUCCESS ||
	     !list || !*list))
		goto out;
	if (aif_index_list_parse(list, AIF_PLACE_MAX_CORES, cores) < 0)
		goto out;
	rv = aif_placement_cores_to_pus(ctx->place, cores, pus);
out:
	hwloc_bitmap_free(cores);
	return rv;
}

static int _apply(hwloc_const_bitmap_t set)
{
	cpu_set_t mask;
	int i;

	CPU_ZERO(&mask);
	hwloc_bitmap_foreach_begin(i, set) {
		if (i >= CPU_SETSIZE)
			return -1;
		CPU_SET(i, &mask);
	} hwloc_bitmap_foreach_end();
	return sched_setaffinity(0, sizeof(mask), &mask);
}

/* strict: the GPU variables SLURM set name only the task's own GPUs, in
 * the numbering SLURM used (global indexes, or positions in the step's
 * list under ConstrainDevices). */
static void _narrow(spank_t sp, const char *step_list, const int *gpus,
		    int n, const int *own, int nown)
{
	char cur[VALUE_MAX], val[VALUE_MAX];
	int pos[AIF_TOPO_MAX_GPUS], i, j;
	size_t e;

	for (i = 0; i < nown; i++)
		for (j = 0; j < n; j++)
			if (gpus[j] == own[i])
				pos[i] = j;
	for (e = 0; e < sizeof(gpu_env) / sizeof(gpu_env[0]); e++) {
		if (!_get(sp, gpu_env[e], cur, sizeof(cur)))
			continue;
		_join(val, sizeof(val), strcmp(cur, step_list) ? pos : own,
		      nown);
		spank_setenv(sp, gpu_env[e], val, 1);
	}
}

int aif_spank_task(struct aif_spank *ctx, spank_t sp)
{
	char list[VALUE_MAX], cpus[VALUE_MAX], nics[VALUE_MAX];
	char hca[VALUE_MAX], ucx[VALUE_MAX], own_text[VALUE_MAX];
	int gpus[AIF_TOPO_MAX_GPUS], own[AIF_TOPO_MAX_GPUS], n, nown, i;
	struct aif_binding b = { .cpuset = NULL };
	hwloc_bitmap_t allowed = NULL;
	uint32_t step = 0, ntasks = 1;
	int local = 0, rv = 0;
	size_t uh = 0, uu = 0, un = 0;

	spank_setenv(sp, "AIF_BIND", aif_spank_mode_name(ctx->mode), 1);
	if (ctx->mode == AIF_MODE_NONE) {
		_clear(sp);
		return 0;
	}
	if (!ctx->place)
		return _fail(ctx, sp, "the node's topology could not be read "
			     "(%s)", ctx->why[0] ? ctx->why : "unknown");
	spank_get_item(sp, S_JOB_STEPID, &step);
	if (!_get(sp, step == BATCH_STEP ? "SLURM_JOB_GPUS" : "SLURM_STEP_GPUS",
		  list, sizeof(list))) {
		_clear(sp);	/* no GPU: nothing to be near */
		return 0;
	}
	n = aif_gpu_list_parse(list, gpus, AIF_TOPO_MAX_GPUS);
	if (n < 0)
		return _fail(ctx, sp, "GPU list \"%.64s\" not understood", list);
	for (i = 0; i < n; i++)
		if (gpus[i] >= ctx->place->ngpus)
			return _fail(ctx, sp, "GPU %d: the node's topology has "
				     "%d", gpus[i], ctx->place->ngpus);
	spank_get_item(sp, S_JOB_LOCAL_TASK_COUNT, &ntasks);
	spank_get_item(sp, S_TASK_ID, &local);
	if (_get(sp, "SLURMD_TRES_BIND", hca, sizeof(hca)) &&
	    strstr(hca, "gpu:"))
		ntasks = 1;	/* SLURM already gave each task its GPUs */
	nown = _own_gpus(gpus, n, ntasks, local, own);

	allowed = hwloc_bitmap_alloc();
	b.cpuset = hwloc_bitmap_alloc();
	if (!allowed || !b.cpuset) {
		rv = _fail(ctx, sp, "out of memory");
		goto out;
	}
	if (_allowed(ctx, sp, allowed) < 0) {
		rv = _fail(ctx, sp, "the step's cores do not fit the node's "
			   "topology");
		goto out;
	}
	if (aif_placement_bind(ctx->place, own, nown, allowed, &b) < 0) {
		rv = _fail(ctx, sp, "no binding for GPUs %s", list);
		goto out;
	}
	hwloc_bitmap_list_snprintf(cpus, sizeof(cpus), b.cpuset);
	if (ctx->live && _apply(b.cpuset) < 0) {
		rv = _fail(ctx, sp, "cannot bind to CPUs %s: %s", cpus,
			   strerror(errno));
		goto out;
	}

	hca[0] = ucx[0] = nics[0] = '\0';
	for (i = 0; i < b.nnics; i++) {
		const struct aif_place_nic *nic = &ctx->place->nic[b.nics[i]];

		un += (size_t) snprintf(nics + un, un < sizeof(nics) ?
					sizeof(nics) - un : 0, "%s%s",
					un ? "," : "", nic->name);
		if (!nic->verbs || nic->vendor == 0x1d0f)
			continue;	/* EFA: aws-ofi-nccl picks its own */
		uh += (size_t) snprintf(hca + uh, uh < sizeof(hca) ?
					sizeof(hca) - uh : 0, "%s%s",
					uh ? "," : "=", nic->name);
		uu += (size_t) snprintf(ucx + uu, uu < sizeof(ucx) ?
					sizeof(ucx) - uu : 0, "%s%s:%d",
					uu ? "," : "", nic->name,
					nic->port ? nic->port : 1);
	}
	_join(own_text, sizeof(own_text), own, nown);
	spank_setenv(sp, "AIF_GPUS", own_text, 1);
	spank_setenv(sp, "AIF_CPUS", cpus, 1);
	spank_setenv(sp, "AIF_BIND_LEVEL", aif_bind_level_name(b.level), 1);
	if (un)
		spank_setenv(sp, "AIF_NICS", nics, 1);
	else
		spank_unsetenv(sp, "AIF_NICS");
	_own_setenv(sp, "NCCL_IB_HCA", uh ? hca : NULL);
	_own_setenv(sp, "UCX_NET_DEVICES", uu ? ucx : NULL);
	if (ctx->mode == AIF_MODE_STRICT && nown < n)
		_narrow(sp, list, gpus, n, own, nown);
	if (ctx->mode == AIF_MODE_SHOW)
		dprintf(STDERR_FILENO, "aif-bind: %s task %d: GPUs %s -> CPUs "
			"%s (%s%s), NICs %s\n", ctx->node, local, own_text,
			cpus, aif_bind_level_name(b.level),
			ctx->live ? "" : ", computed from the node's XML, not "
			"applied", un ? nics : "-");
out:
	hwloc_bitmap_free(allowed);
	hwloc_bitmap_free(b.cpuset);
	return rv;
}
