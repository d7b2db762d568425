/*
 * libFuzzer target: the policy loader, from the text of a policy file
 * (aif_policy_load(), through a file as slurmctld reads it), with names
 * resolved by a fixed table instead of NSS.
 *
 * Invariants: a policy loads exactly when no error is reported; every
 * message is printable; each project is found by its name; for each user
 * the projects the index gives are the projects that list the user.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>

#include "aifactory.h"
#include "fuzz.h"

static const struct { const char *name; uid_t uid; } users[] = {
	{ "alice", 1000 }, { "bob", 1001 }, { "carol", 1002 },
};

static int _user(const char *name, uid_t *uid, void *arg)
{
	for (size_t i = 0; i < sizeof(users) / sizeof(*users); i++)
		if (!strcmp(name, users[i].name)) {
			*uid = users[i].uid;
			return 0;
		}
	errno = 0;	/* not found */
	return -1;
}

/* "team": alice and bob; "ldap-down" fails as a directory would. */
static int _group(const char *name, gid_t *gid, uid_t **members,
		  size_t *nmembers, void *arg)
{
	if (!strcmp(name, "ldap-down")) {
		errno = EIO;
		return -1;
	}
	if (strcmp(name, "team")) {
		errno = 0;
		return -1;
	}
	if (!(*members = malloc(2 * sizeof(**members))))
		return -1;
	(*members)[0] = 1000;
	(*members)[1] = 1001;
	*nmembers = 2;
	*gid = 100;
	return 0;
}

static const struct aif_resolver resolver = { _user, _group, NULL };

static void _check_members(const struct aif_policy *p)
{
	const struct aif_project *out[8];
	gid_t team = 100;

	for (size_t u = 0; u < sizeof(users) / sizeof(*users); u++) {
		size_t want = 0, got;

		for (size_t i = 0; i < aif_policy_nprojects(p); i++)
			want += aif_project_has_member(
				aif_policy_project_at(p, i), users[u].uid,
				&team, 1);
		got = aif_policy_projects_of(p, users[u].uid, &team, 1, out, 8);
		if (want <= 8)
			fuzz_assert(got == want, "%s: %zu projects, the index "
				    "says %zu", users[u].name, want, got);
		else
			fuzz_assert(got == 9, "%s: %zu projects, the index "
				    "says %zu", users[u].name, want, got);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aif_load_report r = { 0 };
	struct aif_policy *p;
	char path[128], line[2048];

	snprintf(path, sizeof(path), "%s/aifactory.json", fuzz_dir());
	fuzz_write(path, data, size);
	p = aif_policy_load(path, &resolver, &r);

	for (size_t i = 0; i < r.nerrors + r.nwarnings; i++) {
		const struct aif_load_error *e = i < r.nerrors ?
			&r.errors[i] : &r.warnings[i - r.nerrors];

		aif_load_error_format(e, line, sizeof(line));
		fuzz_assert(fuzz_printable(line, sizeof(line)),
			    "message not printable: %s", line);
	}
	if (p) {
		fuzz_assert(r.nerrors == 0, "loaded with %zu errors",
			    r.nerrors);
		for (size_t i = 0; i < aif_policy_nprojects(p); i++) {
			const struct aif_project *pr =
				aif_policy_project_at(p, i);

			fuzz_assert(aif_policy_project(p, pr->name) == pr,
				    "project %s not found by its name",
				    pr->name);
		}
		for (size_t i = 0; i < aif_policy_nclasses(p); i++)
			fuzz_assert(aif_policy_class_at(p, i) != NULL,
				    "class %zu missing", i);
		_check_members(p);
	} else {
		fuzz_assert(r.nerrors > 0, "refused with no error");
	}
	aif_policy_unref(p);
	aif_load_report_free(&r);
	unlink(path);
	return 0;
}
