/*
 * slurm-aifactory: the balance server in slurmctld: the statement a user
 * may see (aif_service_statement), and the port that answers members'
 * queries with it (query.h), opened, moved or closed as the policy's
 * balance_port says.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balance.h"
#include "query.h"
#include "service_internal.h"

static int _statement(uid_t uid, gid_t gid, const char *project, bool json,
		      FILE *out, char *why, size_t len, void *arg)
{
	(void) arg;
	return aif_service_statement(uid, gid, project, json, out, why, len);
}

/* Answer balance queries on port (0: not at all), as the policy says. */
void aif_svc_query_follow(uint16_t port)
{
	static const struct aif_query_handlers handlers = {
		.balance = _statement,
		.priority = aif_svc_priority,
	};
	uint16_t old = aif_query_port(svc.query);
	char why[600];

	if (old == port)
		return;
	if (svc.query) {
		aif_query_stop(svc.query);
		svc.query = NULL;
		svc.hooks.info("aifactory: balance queries no longer answered on port %u",
			       (unsigned) old);
	}
	if (!port)
		return;
	if ((svc.query = aif_query_start(port, svc.munge_socket, &handlers,
					 why, sizeof(why))))
		svc.hooks.info("aifactory: answering members' balance queries on port %u",
			       (unsigned) port);
	else
		svc.hooks.error("aifactory: balance queries: %s; users cannot see their balances",
				why);
}

/* What uid may see: every project, or only those it is a member of. */
bool aif_svc_sees_all(const struct aif_policy *p, uid_t uid, gid_t gid)
{
	return uid == 0 || uid == svc.hooks.slurm_user ||
		aif_policy_is_operator(p, uid, &gid, 1);
}

/* Add project to the statement, with its burn from the book. */
static int _add_project(struct aif_balance_sheet *sheet,
			const struct aif_project *proj, time_t now)
{
	aif_amount_t burn = 0;

	pthread_mutex_lock(&svc.book_lock);
	if (svc.book)
		burn = aif_book_burn(svc.book, proj->name, now);
	pthread_mutex_unlock(&svc.book_lock);
	return aif_balance_sheet_add(sheet, svc.ledger, proj->name,
				     proj->klass->metered, burn);
}

int aif_service_statement(uid_t uid, gid_t gid, const char *project,
			  bool json, FILE *out, char *why, size_t len)
{
	const struct aif_project *proj, **mine = NULL;
	struct aif_balance_sheet *sheet = NULL;
	struct aif_policy *p;
	time_t now = time(NULL);
	size_t n;
	int rc = -1;

	why[0] = '\0';
	if (!svc.refs || !(p = aif_service_policy())) {
		snprintf(why, len, "no policy is loaded in slurmctld");
		return -1;
	}
	if (project) {
		if (!(proj = aif_policy_project(p, project)) ||
		    (!aif_svc_sees_all(p, uid, gid) &&
		     !aif_project_has_member(proj, uid, &gid, 1))) {
			/* The same words for both: who is in a project
			 * is not for outsiders to learn. */
			snprintf(why, len, "no project %s that you are a member of",
				 project);
			goto out;
		}
		if (!(sheet = aif_balance_sheet_new(true, now)) ||
		    _add_project(sheet, proj, now))
			goto out;
		goto print;
	}
	if (!(sheet = aif_balance_sheet_new(true, now)))
		goto out;
	if (aif_svc_sees_all(p, uid, gid)) {
		for (size_t i = 0; i < aif_policy_nprojects(p); i++)
			if (_add_project(sheet, aif_policy_project_at(p, i),
					 now))
				goto out;
		goto print;
	}
	n = aif_policy_nprojects(p);
	if (n && !(mine = calloc(n + 1, sizeof(*mine)))) {
		snprintf(why, len, "%s", strerror(errno));
		goto out;
	}
	n = aif_policy_projects_of(p, uid, &gid, 1, mine, n);
	if (!n) {
		snprintf(why, len, "you are a member of no project");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (_add_project(sheet, mine[i], now))
			goto out;
print:
	rc = aif_balance_sheet_print(sheet, out, json);
out:
	if (rc && !why[0])
		snprintf(why, len, "%s", strerror(errno));
	aif_balance_sheet_free(sheet);
	free(mine);
	aif_policy_unref(p);
	return rc;
}
