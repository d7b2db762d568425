/*
 * slurm-aifactory policy library: who may use which project. Every user
 * and group a policy names is resolved once (through NSS, or the
 * caller's resolver), and the snapshot's indexes are built from the
 * answers: uid and gid to projects, uid to name.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "fs_trust.h"
#include "policy_load.h"

#define NSS_BUF_MAX (64u << 20)		/* a getgrnam_r buffer */

/*
 * The default resolver: NSS, with buffers grown on ERANGE. Contract with
 * the loader (beyond aifactory.h): -1 with errno 0 or ENOENT means the
 * name does not exist (a warning); any other errno means the lookup
 * itself failed (an LDAP server down, say), which fails the load rather
 * than quietly stripping every member from every project.
 */
static bool _nss_not_found(int err)
{
	/* getpwnam_r(3): these all mean "not found" on one NSS or another. */
	return err == 0 || err == ENOENT || err == ESRCH || err == EBADF ||
	       err == EPERM;
}

/*
 * getpwnam_r() (gr NULL) or getgrnam_r(), with a buffer grown on ERANGE:
 * 0 with *buf (malloc'ed) holding the entry, or -1 with errno 0 (not
 * found) or why the lookup failed.
 */
static int _nss_lookup(const char *name, struct passwd *pw, struct group *gr,
		       char **buf)
{
	size_t size = gr ? 4096 : 1024;
	struct passwd *pres = NULL;
	struct group *gres = NULL;
	int rc;

	*buf = NULL;
	for (;;) {
		char *nbuf = realloc(*buf, size);

		if (!nbuf) {
			rc = ENOMEM;
			break;
		}
		*buf = nbuf;
		if (gr)
			rc = getgrnam_r(name, gr, *buf, size, &gres);
		else
			rc = getpwnam_r(name, pw, *buf, size, &pres);
		if (rc == EINTR)
			continue;
		if (rc != ERANGE || size >= NSS_BUF_MAX)
			break;
		size *= 2;
	}
	if (rc == 0 && (gr ? gres != NULL : pres != NULL))
		return 0;
	free(*buf);
	*buf = NULL;
	errno = _nss_not_found(rc) ? 0 : rc;
	return -1;
}

static int _nss_user(const char *name, uid_t *uid, void *arg)
{
	struct passwd pw;
	char *buf;

	(void) arg;
	if (_nss_lookup(name, &pw, NULL, &buf))
		return -1;
	*uid = pw.pw_uid;
	free(buf);
	return 0;
}

/*
 * A group and the uids of its listed members. Users whose primary group
 * this is are not listed in it and are not enumerated here (that would
 * mean walking the whole passwd database): the plugin passes the job's
 * primary gid in the request's gids, and the project's gids catch them.
 */
static int _nss_group(const char *name, gid_t *gid, uid_t **members,
		      size_t *nmembers, void *arg)
{
	struct group gr;
	size_t n = 0, i;
	char *buf;
	uid_t *uids;

	(void) arg;
	if (_nss_lookup(name, NULL, &gr, &buf))
		return -1;
	while (gr.gr_mem && gr.gr_mem[n])
		n++;
	if (!(uids = malloc((n ? n : 1) * sizeof(*uids)))) {
		free(buf);
		errno = ENOMEM;
		return -1;
	}
	*nmembers = 0;
	for (i = 0; i < n; i++) {
		uid_t uid;

		errno = 0;
		if (_nss_user(gr.gr_mem[i], &uid, NULL) == 0) {
			uids[(*nmembers)++] = uid;
		} else if (errno) {
			int err = errno;

			free(uids);
			free(buf);
			errno = err;
			return -1;
		}
		/* A member without an account is skipped. */
	}
	*gid = gr.gr_gid;
	*members = uids;
	free(buf);
	return 0;
}

const struct aif_resolver aif_ld_nss_resolver = {
	.user = _nss_user,
	.group = _nss_group,
	.arg = NULL,
};

/* bsearch() key against a user_entry or a group_entry (name first). */
static int _key_name(const void *key, const void *elem)
{
	return strcmp(key, *(const char *const *) elem);
}

/* Every name once, sorted; then each resolved once. */
static void _resolve_all(struct loader *ld)
{
	struct aif_policy *p = ld->p;
	size_t nu = p->noperator_users, ng = p->noperator_groups, i, j, k;

	for (i = 0; i < p->nprojects; i++) {
		nu += p->projects[i].nusers;
		ng += p->projects[i].ngroups;
	}
	if (!(ld->users = aif_ld_calloc(ld, nu, sizeof(*ld->users))) ||
	    !(ld->groups = aif_ld_calloc(ld, ng, sizeof(*ld->groups))))
		return;

	k = 0;
	for (j = 0; j < p->noperator_users; j++)
		ld->users[k++].name = p->operator_users[j];
	for (i = 0; i < p->nprojects; i++)
		for (j = 0; j < p->projects[i].nusers; j++)
			ld->users[k++].name = p->projects[i].users[j];
	aif_ld_sort(ld->users, nu, sizeof(*ld->users), aif_cmp_str);
	for (i = 0, k = 0; i < nu; i++)
		if (!k || strcmp(ld->users[k - 1].name, ld->users[i].name))
			ld->users[k++] = ld->users[i];
	ld->nusers = k;

	k = 0;
	for (j = 0; j < p->noperator_groups; j++)
		ld->groups[k++].name = p->operator_groups[j];
	for (i = 0; i < p->nprojects; i++)
		for (j = 0; j < p->projects[i].ngroups; j++)
			ld->groups[k++].name = p->projects[i].groups[j];
	aif_ld_sort(ld->groups, ng, sizeof(*ld->groups), aif_cmp_str);
	for (i = 0, k = 0; i < ng; i++)
		if (!k || strcmp(ld->groups[k - 1].name, ld->groups[i].name))
			ld->groups[k++] = ld->groups[i];
	ld->ngroups = k;

	for (i = 0; i < ld->nusers && !ld->oom; i++) {
		struct user_entry *u = &ld->users[i];

		errno = 0;
		if (ld->res->user(u->name, &u->uid, ld->res->arg) == 0)
			u->state = 1;
		else if (errno == ENOMEM)
			ld->oom = true;
		else if (errno && errno != ENOENT)
			u->state = -1, u->err = errno;
	}
	for (i = 0; i < ld->ngroups && !ld->oom; i++) {
		struct group_entry *g = &ld->groups[i];

		errno = 0;
		if (ld->res->group(g->name, &g->gid, &g->members,
				   &g->nmembers, ld->res->arg) == 0) {
			g->state = 1;
			if (!g->members)
				g->nmembers = 0;
		} else if (errno == ENOMEM) {
			ld->oom = true;
		} else if (errno && errno != ENOENT) {
			g->state = -1, g->err = errno;
		}
	}
}

/* An id vector that grows; sorted and made unique at the end. */
struct ids {
	id_t *v;
	size_t n, cap;
};

static void _ids_add(struct loader *ld, struct ids *x, id_t id)
{
	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 16;
		id_t *v = realloc(x->v, cap * sizeof(*v));

		if (!v) {
			ld->oom = true;
			return;
		}
		x->v = v;
		x->cap = cap;
	}
	x->v[x->n++] = id;
}

static int _cmp_id(const void *a, const void *b)
{
	id_t x = *(const id_t *) a, y = *(const id_t *) b;

	return x < y ? -1 : x > y;
}

/* Sorted, unique copy into the arena; the vector is emptied. */
static void *_ids_finish(struct loader *ld, struct ids *x, size_t *n)
{
	id_t *out;
	size_t i, k = 0;

	aif_ld_sort(x->v, x->n, sizeof(*x->v), _cmp_id);
	for (i = 0; i < x->n; i++)
		if (!k || x->v[k - 1] != x->v[i])
			x->v[k++] = x->v[i];
	*n = 0;
	if (!(out = aif_ld_arena(ld, k ? k : 1, sizeof(*out))))
		return NULL;
	if (k)
		memcpy(out, x->v, k * sizeof(*out));
	*n = k;
	x->n = 0;
	return out;
}

/*
 * Resolve one member list (a project's or the operators'): uids of users
 * and of group members into uids, gids of groups into gids. s names the
 * file (released by now); lines[] holds the line of each user, then of
 * each group. Returns how many names resolved.
 */
static size_t _resolve_members(struct loader *ld, const struct src *s,
			       const char *path, char **users, size_t nusers,
			       char **groups, size_t ngroups,
			       const int *lines, struct ids *uids,
			       struct ids *gids)
{
	char ebuf[128], kp[AIF_PATH_MAX], ip[AIF_PATH_MAX];
	size_t found = 0, i, j;

	for (i = 0; i < nusers; i++) {
		const struct user_entry *u;

		u = bsearch(users[i], ld->users, ld->nusers,
			    sizeof(*ld->users), _key_name);
		if (!u)
			continue;	/* an invalid name, reported already */
		aif_ld_path_key(kp, path, "users");
		aif_ld_path_index(ip, kp, i);
		if (u->state == 1) {
			_ids_add(ld, uids, u->uid);
			found++;
		} else if (u->state == 0) {
			aif_ld_warn_line(ld, s, lines[i], ip,
					 "unknown user \"%s\"", u->name);
		} else {
			aif_ld_err_line(ld, s, lines[i], ip,
					"cannot look up user \"%s\": %s",
					u->name,
					aif_fs_strerror(u->err, ebuf,
							sizeof(ebuf)));
		}
	}
	for (i = 0; i < ngroups; i++) {
		const struct group_entry *g;

		g = bsearch(groups[i], ld->groups, ld->ngroups,
			    sizeof(*ld->groups), _key_name);
		if (!g)
			continue;
		aif_ld_path_key(kp, path, "groups");
		aif_ld_path_index(ip, kp, i);
		if (g->state == 1) {
			_ids_add(ld, gids, g->gid);
			for (j = 0; j < g->nmembers; j++)
				_ids_add(ld, uids, g->members[j]);
			found++;
		} else if (g->state == 0) {
			aif_ld_warn_line(ld, s, lines[nusers + i], ip,
					 "unknown group \"%s\"", g->name);
		} else {
			aif_ld_err_line(ld, s, lines[nusers + i], ip, "cannot "
					"look up group \"%s\": %s", g->name,
					aif_fs_strerror(g->err, ebuf,
							sizeof(ebuf)));
		}
	}
	return found;
}

static void _add_user_names(struct loader *ld, char **users, size_t n,
			    struct aif_uid_name *names, size_t *k)
{
	for (size_t i = 0; i < n; i++) {
		const struct user_entry *u;

		u = bsearch(users[i], ld->users, ld->nusers,
			    sizeof(*ld->users), _key_name);
		if (u && u->state == 1)
			names[(*k)++] = (struct aif_uid_name) {
				u->uid, users[i] };
	}
}

/* The lines of the member list recorded at off; NULL when no list
 * recorded any (ld->lines is NULL then, and NULL + 0 is undefined). */
static const int *_lines_at(const struct loader *ld, size_t off)
{
	return ld->lines ? ld->lines + off : NULL;
}

/* Members of every project and the operators; the indexes over them. */
void aif_ld_build_members(struct loader *ld)
{
	struct aif_policy *p = ld->p;
	struct ids uids = { 0 }, gids = { 0 };
	struct aif_uid_name *names;
	size_t nu = 0, ng = 0, nn = p->noperator_users, i, j, k;

	_resolve_all(ld);
	if (ld->oom)
		goto out;

	for (i = 0; i < p->nprojects && !ld->oom; i++) {
		struct aif_project *pr = &p->projects[i];
		const struct project_info *in = &ld->info[i];
		struct src from = { .file = in->file, .order = in->order };
		char kp[AIF_PATH_MAX];

		aif_ld_path_key(kp, "projects", pr->name);
		_resolve_members(ld, &from, kp, pr->users, pr->nusers,
				 pr->groups, pr->ngroups,
				 _lines_at(ld, in->lines), &uids, &gids);
		pr->uids = _ids_finish(ld, &uids, &pr->nuids);
		pr->gids = _ids_finish(ld, &gids, &pr->ngids);
		if (!pr->nuids && !pr->ngids)
			aif_ld_warn_line(ld, &from, pr->line, kp,
					 "no members: %s",
					 pr->nusers || pr->ngroups ?
					 "none of its users or groups exists" :
					 "it lists no users or groups");
		nu += pr->nuids;
		ng += pr->ngids;
		nn += pr->nusers;
	}
	_resolve_members(ld, &ld->main, "operators", p->operator_users,
			 p->noperator_users, p->operator_groups,
			 p->noperator_groups,
			 _lines_at(ld, ld->operator_lines), &uids, &gids);
	p->operator_uids = _ids_finish(ld, &uids, &p->noperator_uids);
	p->operator_gids = _ids_finish(ld, &gids, &p->noperator_gids);
	if (ld->oom)
		goto out;

	/* uid -> projects and gid -> projects, sorted by (id, project). */
	if (!(p->uid_index = aif_ld_arena(ld, nu ? nu : 1,
					  sizeof(*p->uid_index))) ||
	    !(p->gid_index = aif_ld_arena(ld, ng ? ng : 1,
					  sizeof(*p->gid_index))))
		goto out;
	for (i = 0; i < p->nprojects; i++) {
		const struct aif_project *pr = &p->projects[i];

		for (j = 0; j < pr->nuids; j++)
			p->uid_index[p->nuid_index++] =
				(struct aif_id_project) { pr->uids[j], i };
		for (j = 0; j < pr->ngids; j++)
			p->gid_index[p->ngid_index++] =
				(struct aif_id_project) { pr->gids[j], i };
	}
	aif_ld_sort(p->uid_index, p->nuid_index, sizeof(*p->uid_index),
		    aif_cmp_id_project);
	aif_ld_sort(p->gid_index, p->ngid_index, sizeof(*p->gid_index),
		    aif_cmp_id_project);

	/* uid -> name, from the names written in the policy; where two
	 * names share a uid, the first in byte order wins. */
	if (!(names = aif_ld_arena(ld, nn ? nn : 1, sizeof(*names))))
		goto out;
	k = 0;
	_add_user_names(ld, p->operator_users, p->noperator_users, names, &k);
	for (i = 0; i < p->nprojects; i++)
		_add_user_names(ld, p->projects[i].users,
				p->projects[i].nusers, names, &k);
	aif_ld_sort(names, k, sizeof(*names), aif_cmp_uid_name);
	for (i = 0, j = 0; i < k; i++)
		if (!j || names[j - 1].uid != names[i].uid)
			names[j++] = names[i];
	p->user_names = names;
	p->nuser_names = j;
out:
	free(uids.v);
	free(gids.v);
}
