/*
 * What every slurm-aifactory plugin in slurmctld does the same way:
 * start the library's shared service with slurmctld's own hooks.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef AIF_SLURM_H
#define AIF_SLURM_H

#include "src/common/read_config.h"
#include "src/common/xstring.h"

#include "service.h"

#define AIF_POLICY_FILE "aifactory.json"	/* next to slurm.conf */
#define AIF_STATE_SUBDIR "aifactory"		/* under StateSaveLocation */

/*
 * Take a reference on the service. The policy is next to slurm.conf; the
 * journal under StateSaveLocation, written as SlurmUser. The hooks are
 * slurmctld's own, which outlive any one plugin.
 */
static inline int aif_slurm_service_start(void)
{
	char *policy = get_extra_conf_path(AIF_POLICY_FILE);
	char *journal = xstrdup_printf("%s/%s", slurm_conf.state_save_location,
				       AIF_STATE_SUBDIR);
	struct aif_service_hooks hooks = {
		.policy_path = policy,
		.journal_dir = journal,
		.cluster = slurm_conf.cluster_name,
		.conf_stamp = &slurm_conf.last_update,
		.info = slurm_info,
		.error = error,
	};
	int rc = aif_service_start(&hooks);

	xfree(policy);
	xfree(journal);
	return rc ? SLURM_ERROR : SLURM_SUCCESS;
}

#endif /* AIF_SLURM_H */
