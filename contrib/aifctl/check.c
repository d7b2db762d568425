/*
 * aifctl check: validate a policy as the plugins would load it.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <string.h>

#include "aifctl.h"

int aifctl_check(int argc, char **argv)
{
	char buf[4096];
	const char *path;
	struct aif_policy *p;

	if (argc > 2)
		return aifctl_usage(stderr);
	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")))
		return aifctl_usage(stdout);
	path = argc == 2 ? argv[1] : aifctl_default_policy(buf, sizeof(buf));
	p = aifctl_load_policy(path, false);
	if (!p)
		return 1;
	aif_policy_unref(p);
	return 0;
}
