/*
 * aifctl check: validate a policy as the plugins would load it.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aifctl.h"

/* Whether list ("a,b,c") holds name. */
static bool _in_list(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; *p; p += strcspn(p, ","), p += !!*p)
		if (!strncasecmp(p, name, n) && (p[n] == ',' || !p[n]))
			return true;
	return false;
}

/* A class whose jobs go to its fallback QOS when their grants are short. */
static bool _falls_back(const struct aif_class *c)
{
	return c->metered && c->exhausted_action == AIF_EXHAUSTED_FALLBACK;
}

/*
 * Where SLURM checks access to QOS (AccountingStorageEnforce has qos), a
 * class's fallback QOS must be allowed on every association of its
 * budgeted projects' accounts, or SLURM refuses the jobs we send there
 * with only "Invalid qos specification". Said as warnings (the policy is
 * good); nothing is said when slurmctld or slurmdbd cannot be asked.
 */
static void _check_fallback(const struct aif_policy *p)
{
	struct aifctl_slurm cfg;
	struct aifctl_assoc *rows;
	size_t nrows, i, k;
	bool any = false;

	for (i = 0; i < aif_policy_nclasses(p); i++)
		any |= _falls_back(aif_policy_class_at(p, i));
	if (!any || aifctl_slurm_config(&cfg) || !cfg.enforce_qos ||
	    aifctl_associations(&rows, &nrows)) {
		return;
	}
	for (i = 0; i < aif_policy_nprojects(p); i++) {
		const struct aif_project *proj = aif_policy_project_at(p, i);
		const struct aif_class *c = proj->klass;
		const char *who = NULL;

		if (!_falls_back(c))
			continue;
		for (k = 0; k < nrows && !who; k++)
			if (!strcasecmp(rows[k].account, proj->name) &&
			    !_in_list(rows[k].qos, c->fallback_qos))
				who = rows[k].user[0] ? rows[k].user : "";
		if (!who)
			continue;
		fprintf(stderr, "warning: classes.%s.fallback_qos: QOS %s is not allowed on account %s%s%s, and SLURM checks access to QOS (AccountingStorageEnforce=%s): a job of project %s sent there would be refused with only \"Invalid qos specification\". Allow it: sacctmgr modify account %s set qos+=%s\n",
			c->name, c->fallback_qos, proj->name,
			who[0] ? " for user " : "", who, cfg.enforce,
			proj->name, proj->name, c->fallback_qos);
	}
	free(rows);
}

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
	_check_fallback(p);
	aif_policy_unref(p);
	return 0;
}
