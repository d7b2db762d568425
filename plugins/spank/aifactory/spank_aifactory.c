/*
 * spank/aifactory: the dispatcher, the only file defining slurm_spank_*
 * (pyxis's shape). Loaded by sbatch, salloc and srun (the option) and by
 * slurmstepd (the binding); it needs only <slurm/spank.h> and hwloc.
 *
 *   slurm_spank_init           plugstack arguments; register --aif-bind
 *   slurm_spank_init_post_opt  remote, as root: which mode this step has,
 *                              and the node's placement (node.c)
 *   slurm_spank_task_init      remote, as the user, just before exec:
 *                              the task's CPUs, NICs, environment (task.c)
 *   slurm_spank_exit           free what was loaded
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdio.h>
#include <string.h>

#include "aif_spank.h"

SPANK_PLUGIN(aifactory, 1);

static struct aif_spank ctx = {
	.option = AIF_MODE_UNSET,
	.site_default = AIF_MODE_AUTO,
	.mode = AIF_MODE_UNSET,
	.cache_dir = "/run/slurm-aifactory",
};

int slurm_spank_init(spank_t sp, int ac, char **av)
{
	if (aif_spank_args(&ctx, ac, av) < 0)
		return -1;
	return aif_spank_register(sp);
}

/* The mode: this step's --aif-bind; else AIF_BIND in its environment
 * (what job_submit/aifactory set from the class, or what the batch step
 * passed on to the steps in its script); else the plugstack's default. */
static enum aif_bind_mode _mode(spank_t sp)
{
	char buf[32];
	enum aif_bind_mode env;

	if (aif_spank_option_value != AIF_MODE_UNSET)
		return aif_spank_option_value;
	if (spank_getenv(sp, "AIF_BIND", buf, sizeof(buf)) == ESPANK_SUCCESS &&
	    (env = aif_spank_mode_parse(buf)) != AIF_MODE_UNSET)
		return env;
	return ctx.site_default;
}

int slurm_spank_init_post_opt(spank_t sp, int ac, char **av)
{
	if (!spank_remote(sp))
		return 0;
	ctx.mode = _mode(sp);
	if (ctx.mode == AIF_MODE_NONE)
		return 0;
	/* a failure here fails every task of a strict step in task_init,
	 * where the user sees why: failing here would make SLURM end a batch
	 * job COMPLETED with nothing run */
	(void) aif_spank_node_load(&ctx, sp);
	return 0;
}

int slurm_spank_task_init(spank_t sp, int ac, char **av)
{
	if (!spank_remote(sp))
		return 0;
	return aif_spank_task(&ctx, sp);
}

int slurm_spank_exit(spank_t sp, int ac, char **av)
{
	aif_placement_free(ctx.place);
	ctx.place = NULL;
	return 0;
}
