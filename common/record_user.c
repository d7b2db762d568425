/*
 * slurm-aifactory: the name of the user a record names by uid only,
 * from NSS through a cache, on the journal's writer thread (settle.h).
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "settle.h"

/*
 * uid -> name, as NSS said, for the writer's thread: a user who submits
 * a thousand jobs costs one lookup an hour, and an NSS that hangs (an
 * LDAP server down) is asked again only after NAMES_RETRY.
 */
#define NAMES_MAX 1024
#define NAMES_KEEP 3600		/* seconds a name is trusted */
#define NAMES_RETRY 300		/* seconds before a failed lookup again */

static struct {
	pthread_mutex_t lock;
	size_t next;		/* the slot the next new uid takes */
	struct {
		uid_t uid;
		time_t at;	/* 0: free slot */
		char name[AIF_NAME_MAX];	/* "": no such user */
	} slot[NAMES_MAX];
} _names = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* The name of uid into name (AIF_NAME_MAX), "" if it has none. */
static void _user_name(uid_t uid, char name[AIF_NAME_MAX])
{
	struct passwd pw, *res = NULL;
	time_t now = time(NULL);
	char buf[4096];
	size_t i;

	pthread_mutex_lock(&_names.lock);
	for (i = 0; i < NAMES_MAX; i++)
		if (_names.slot[i].at && _names.slot[i].uid == uid)
			break;
	if (i < NAMES_MAX && now - _names.slot[i].at <
	    (_names.slot[i].name[0] ? NAMES_KEEP : NAMES_RETRY)) {
		memcpy(name, _names.slot[i].name, AIF_NAME_MAX);
		pthread_mutex_unlock(&_names.lock);
		return;
	}
	pthread_mutex_unlock(&_names.lock);

	name[0] = '\0';
	if (!getpwuid_r(uid, &pw, buf, sizeof(buf), &res) && res &&
	    strlen(pw.pw_name) < AIF_NAME_MAX)
		snprintf(name, AIF_NAME_MAX, "%s", pw.pw_name);

	pthread_mutex_lock(&_names.lock);
	if (i == NAMES_MAX) {
		i = _names.next;
		_names.next = (_names.next + 1) % NAMES_MAX;
	}
	_names.slot[i].uid = uid;
	_names.slot[i].at = now;
	memcpy(_names.slot[i].name, name, AIF_NAME_MAX);
	pthread_mutex_unlock(&_names.lock);
}

int aif_record_name_user(struct aif_record *rec)
{
	struct aif_record named;
	const char *user = aif_record_str(rec, "user");
	char name[AIF_NAME_MAX];
	size_t n = aif_record_nfields(rec);
	int64_t uid;

	/* A record the journal refuses stays as it is (refused). */
	if (rec->error || (user && user[0]) || aif_record_int(rec, "uid", &uid) ||
	    uid < 0 || (int64_t) (uid_t) uid != uid)
		return 0;
	_user_name((uid_t) uid, name);
	if (!name[0])
		return 0;	/* no such user: the uid says it all */

	aif_record_init(&named, rec->type);
	named.time = rec->time;
	for (size_t i = 0; i < n; i++) {
		const char *key, *str, *kept;
		int64_t num;

		aif_record_field(rec, i, &key, &str, &num);
		if (!user && !strcmp(key, "uid") &&
		    aif_record_add_str(&named, "user", name))
			return -1;
		if (!str) {
			if (aif_record_add_int(&named, key, num))
				return -1;
			continue;
		}
		if (aif_record_add_str(&named, key,
				       strcmp(key, "user") ? str : name))
			return -1;
		/* Only the last field, the user's, may be cut more: never a
		 * part of a charge. */
		kept = aif_record_str(&named, key);
		if (i + 1 < n && strcmp(key, "user") && strcmp(kept, str))
			return -1;
	}
	*rec = named;
	return 0;
}
