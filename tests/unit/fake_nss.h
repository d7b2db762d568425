/*
 * For unit tests: a fake NSS behind the loader's resolver, from tables
 * the test gives, so no real account is needed. The names "ldap-down"
 * and "no-memory" fail as an unreachable directory and malloc would.
 *
 *   static const struct fake_user users[] = { { "alice", 1001 } };
 *   static const struct fake_group groups[] = { { "acme", 2001, { "alice" } } };
 *   static struct fake_nss nss = FAKE_NSS(users, groups);
 *   aif_policy_load(path, &nss.resolver, &report);    nss.calls: lookups
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef AIF_TEST_FAKE_NSS_H
#define AIF_TEST_FAKE_NSS_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "aifactory.h"

struct fake_user {
	const char *name;
	uid_t uid;
};

struct fake_group {
	const char *name;
	gid_t gid;
	const char *members[3];	/* user names of the table; NULL ends */
};

struct fake_nss {
	struct aif_resolver resolver;	/* its arg is this struct */
	const struct fake_user *users;
	size_t nusers;
	const struct fake_group *groups;
	size_t ngroups;
	int calls;			/* lookups so far, members' too */
};

static int __attribute__((unused)) _fake_fail(const char *name)
{
	if (!strcmp(name, "ldap-down"))
		errno = EIO;
	else if (!strcmp(name, "no-memory"))
		errno = ENOMEM;
	else
		return 0;
	return -1;
}

static int __attribute__((unused))
fake_user(const char *name, uid_t *uid, void *arg)
{
	struct fake_nss *nss = arg;

	nss->calls++;
	if (_fake_fail(name))
		return -1;
	for (size_t i = 0; i < nss->nusers; i++)
		if (!strcmp(name, nss->users[i].name)) {
			*uid = nss->users[i].uid;
			return 0;
		}
	return -1;
}

static int __attribute__((unused))
fake_group(const char *name, gid_t *gid, uid_t **members, size_t *nmembers,
	   void *arg)
{
	struct fake_nss *nss = arg;

	*members = NULL;
	*nmembers = 0;
	nss->calls++;
	if (_fake_fail(name))
		return -1;
	for (size_t i = 0; i < nss->ngroups; i++) {
		const struct fake_group *g = &nss->groups[i];
		size_t n = 0;

		if (strcmp(name, g->name))
			continue;
		*gid = g->gid;
		if (!(*members = malloc(3 * sizeof(**members))))
			return -1;
		for (size_t j = 0; j < 3 && g->members[j]; j++)
			if (!fake_user(g->members[j], &(*members)[n], nss))
				n++;
		*nmembers = n;
		return 0;
	}
	return -1;
}

#define FAKE_NSS_OF(nss, u, nu, g, ng)					\
	{ .resolver = { fake_user, fake_group, (nss) },			\
	  .users = (u), .nusers = (nu), .groups = (g), .ngroups = (ng) }
/* A fake NSS named var, of the tables users and groups (arrays). */
#define FAKE_NSS(var, users, groups)					\
	struct fake_nss var = FAKE_NSS_OF(&var, users,			\
		sizeof(users) / sizeof(*(users)), groups,		\
		sizeof(groups) / sizeof(*(groups)))

#endif /* AIF_TEST_FAKE_NSS_H */
