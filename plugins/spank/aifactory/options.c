/*
 * spank/aifactory: the plugstack arguments and the --aif-bind option.
 *
 *   topology=FILE   an hwloc XML export to use instead of this machine;
 *                   %n in it is the node's name (a test cluster gives each
 *                   fake node a real machine's topology)
 *   cache=DIR       where the node's placement is cached (root's, 0755)
 *   default=MODE    the mode when neither the step nor the job names one
 *
 * An argument we do not know refuses the plugin rather than being
 * ignored: a typo must not silently turn binding off.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdio.h>
#include <string.h>

#include "aif_spank.h"

enum aif_bind_mode aif_spank_option_value = AIF_MODE_UNSET;

static const char *const mode_names[] = {
	[AIF_MODE_UNSET] = "unset",
	[AIF_MODE_AUTO] = "auto",
	[AIF_MODE_STRICT] = "strict",
	[AIF_MODE_NONE] = "none",
	[AIF_MODE_SHOW] = "show",
};

enum aif_bind_mode aif_spank_mode_parse(const char *text)
{
	int m;

	for (m = AIF_MODE_AUTO; m <= AIF_MODE_SHOW; m++)
		if (text && !strcmp(text, mode_names[m]))
			return (enum aif_bind_mode) m;
	return AIF_MODE_UNSET;
}

const char *aif_spank_mode_name(enum aif_bind_mode mode)
{
	return mode <= AIF_MODE_SHOW ? mode_names[mode] : "unset";
}

static int _path_arg(char *dst, size_t size, const char *arg, const char *key)
{
	if (arg[0] != '/' || strlen(arg) >= size) {
		slurm_error("%s: %s=%s: an absolute path is needed", AIF_SPANK,
			    key, arg);
		return -1;
	}
	snprintf(dst, size, "%s", arg);
	return 0;
}

int aif_spank_args(struct aif_spank *ctx, int ac, char **av)
{
	int i;

	for (i = 0; i < ac; i++) {
		const char *a = av[i];

		if (!strncmp(a, "topology=", 9)) {
			if (_path_arg(ctx->topology, sizeof(ctx->topology),
				      a + 9, "topology"))
				return -1;
		} else if (!strncmp(a, "cache=", 6)) {
			if (_path_arg(ctx->cache_dir, sizeof(ctx->cache_dir),
				      a + 6, "cache"))
				return -1;
		} else if (!strncmp(a, "default=", 8)) {
			ctx->site_default = aif_spank_mode_parse(a + 8);
			if (ctx->site_default == AIF_MODE_UNSET ||
			    ctx->site_default == AIF_MODE_SHOW) {
				slurm_error("%s: default=%s: use auto, strict "
					    "or none", AIF_SPANK, a + 8);
				return -1;
			}
		} else {
			slurm_error("%s: unknown argument \"%s\" in "
				    "plugstack.conf (topology=, cache=, "
				    "default=)", AIF_SPANK, a);
			return -1;
		}
	}
	return 0;
}

static int _opt_bind(int val, const char *optarg, int remote)
{
	enum aif_bind_mode m = aif_spank_mode_parse(optarg);

	if (m == AIF_MODE_UNSET) {
		slurm_error("--aif-bind=%s: use auto, strict, none or show",
			    optarg ? optarg : "");
		return -1;
	}
	aif_spank_option_value = m;
	return 0;
}

static struct spank_option bind_option = {
	.name = "aif-bind",
	.arginfo = "auto|strict|none|show",
	.usage = "Bind each task to the cores and NICs nearest its GPUs "
		"(auto), also narrowing the GPUs it sees and failing if "
		"it cannot (strict), or not at all (none); show prints "
		"each task's binding. Default: the class's.",
	.has_arg = 1,
	.val = 0,
	.cb = _opt_bind,
};

int aif_spank_register(spank_t sp)
{
	spank_context_t c = spank_context();

	/* the option is for the commands and the step; slurmd and the
	 * prolog/epilog have none */
	if (c != S_CTX_LOCAL && c != S_CTX_ALLOCATOR && c != S_CTX_REMOTE)
		return 0;
	if (spank_option_register(sp, &bind_option) != ESPANK_SUCCESS) {
		slurm_error("%s: cannot register --aif-bind", AIF_SPANK);
		return -1;
	}
	return 0;
}
