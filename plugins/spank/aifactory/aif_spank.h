/*
 * spank/aifactory: binds each task to the cores and NICs nearest its GPUs
 * (README, "Bind tasks to their GPUs"). One context, set up by the
 * dispatcher (spank_aifactory.c) and handed to the files that do the
 * work: options.c (plugstack arguments, --aif-bind), node.c (the node's
 * placement, cached), task.c (a task's binding and environment).
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef AIF_SPANK_H
#define AIF_SPANK_H

#include <limits.h>

#include <slurm/spank.h>

#include "topology.h"

#define AIF_SPANK "spank/aifactory"

enum aif_bind_mode {
	AIF_MODE_UNSET = 0,
	AIF_MODE_AUTO,		/* bind; a failure logs and leaves SLURM's */
	AIF_MODE_STRICT,	/* bind and narrow the GPUs; a failure fails */
	AIF_MODE_NONE,		/* touch nothing; clear what we set before */
	AIF_MODE_SHOW,		/* auto, and each task prints its binding */
};

struct aif_spank {
	enum aif_bind_mode option;	/* --aif-bind of this step, if given */
	enum aif_bind_mode site_default;	/* plugstack default= */
	enum aif_bind_mode mode;	/* what this step does */
	char topology[PATH_MAX];	/* plugstack topology=, %n the node */
	char cache_dir[PATH_MAX];	/* plugstack cache= */
	char node[256];
	struct aif_placement *place;	/* NULL: not loaded or failed */
	char why[256];			/* why not, for the task's message */
	int live;			/* place is this machine: bind */
};

/* options.c */
int aif_spank_args(struct aif_spank *ctx, int ac, char **av);
int aif_spank_register(spank_t sp);
enum aif_bind_mode aif_spank_mode_parse(const char *text);
const char *aif_spank_mode_name(enum aif_bind_mode mode);
/* The option's value as its callback saw it. */
extern enum aif_bind_mode aif_spank_option_value;

/* node.c: the node's placement into ctx->place; 0, or -1 said why */
int aif_spank_node_load(struct aif_spank *ctx, spank_t sp);

/* task.c: one task's binding and environment; 0 or -1 (strict only) */
int aif_spank_task(struct aif_spank *ctx, spank_t sp);

#endif
