/*
 * slurm-aifactory: the state slurmctld's plugins share (see service.h).
 *
 * One mutex guards the pointers and the reference count; it is held for
 * pointer swaps only, never across a load. Loads run on the watcher
 * thread (or in aif_service_start/aif_service_reload), one at a time.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "service.h"

#define WATCH_SECONDS 1	/* how often the watcher looks at the stamp */

static struct {
	pthread_mutex_t lock;		/* the fields below */
	pthread_mutex_t load_lock;	/* one load at a time */
	pthread_cond_t wake;
	unsigned refs;
	struct aif_service_hooks hooks;
	char *path;
	struct aif_policy *policy;	/* NULL until one ever loaded */
	struct aif_ledger *ledger;
	time_t loaded_at;		/* when the last load started */
	pthread_t thread;
	bool running;
	bool stop;
} svc = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.load_lock = PTHREAD_MUTEX_INITIALIZER,
	.wake = PTHREAD_COND_INITIALIZER,
};

static time_t _stamp(void)
{
	return svc.hooks.conf_stamp ?
		__atomic_load_n(svc.hooks.conf_stamp, __ATOMIC_RELAXED) : 0;
}

/* Load the policy file; swap it in if good, else keep the last good one. */
static int _load(void)
{
	struct aif_load_report report = { 0 };
	struct aif_policy *p, *old;
	char line[AIF_ERR_MAX + 600], why[AIF_ERR_MAX];
	int rc = -1;

	pthread_mutex_lock(&svc.load_lock);
	p = aif_policy_load(svc.path, NULL, &report);
	for (size_t i = 0; i < report.nwarnings; i++) {
		aif_load_error_format(&report.warnings[i], line, sizeof(line));
		svc.hooks.info("aifactory: warning: %s", line);
	}
	for (size_t i = 0; i < report.nerrors; i++) {
		aif_load_error_format(&report.errors[i], line, sizeof(line));
		svc.hooks.error("aifactory: %s", line);
	}
	aif_load_report_free(&report);

	if (p && aif_ledger_sync(svc.ledger, p, why, sizeof(why))) {
		svc.hooks.error("aifactory: policy %s refused by the ledger: %s",
				svc.path, why);
		aif_policy_unref(p);
		p = NULL;
	}

	pthread_mutex_lock(&svc.lock);
	old = svc.policy;
	if (p)
		svc.policy = p;
	pthread_mutex_unlock(&svc.lock);

	if (p) {
		svc.hooks.info("aifactory: policy %s loaded: %zu classes, %zu projects, sha256 %s",
			       svc.path, aif_policy_nclasses(p),
			       aif_policy_nprojects(p), aif_policy_hash(p));
		aif_policy_unref(old);
		rc = 0;
	} else if (old) {
		svc.hooks.error("aifactory: policy %s refused; the last good policy (sha256 %s) stays in force",
				svc.path, aif_policy_hash(old));
	} else {
		svc.hooks.error("aifactory: policy %s refused and no earlier policy is loaded: every job is refused until a good policy is loaded (fix it, check it with 'aifctl check', then 'scontrol reconfigure')",
				svc.path);
	}
	pthread_mutex_unlock(&svc.load_lock);
	return rc;
}

/*
 * The watcher. The stamp counts whole seconds, so a reconfigure in the
 * very second a load started may be missed by that load: load again once
 * that second is over.
 */
static void *_watch(void *arg)
{
	struct timespec until;

	pthread_mutex_lock(&svc.lock);
	while (!svc.stop) {
		time_t stamp = _stamp(), now = time(NULL);

		if (stamp >= svc.loaded_at && now > stamp) {
			svc.loaded_at = now;
			pthread_mutex_unlock(&svc.lock);
			_load();
			pthread_mutex_lock(&svc.lock);
			continue;
		}
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += WATCH_SECONDS;
		pthread_cond_timedwait(&svc.wake, &svc.lock, &until);
	}
	pthread_mutex_unlock(&svc.lock);
	return NULL;
}

int aif_service_start(const struct aif_service_hooks *hooks)
{
	int rc;

	pthread_mutex_lock(&svc.lock);
	if (svc.refs++) {
		pthread_mutex_unlock(&svc.lock);
		return 0;
	}
	svc.hooks = *hooks;
	svc.hooks.policy_path = NULL;
	svc.path = strdup(hooks->policy_path);
	svc.ledger = aif_ledger_new();
	if (!svc.path || !svc.ledger) {
		free(svc.path);
		aif_ledger_free(svc.ledger);
		svc.path = NULL;
		svc.ledger = NULL;
		svc.refs = 0;
		pthread_mutex_unlock(&svc.lock);
		hooks->error("aifactory: out of memory starting");
		return -1;
	}
	svc.loaded_at = time(NULL);
	svc.stop = false;
	pthread_mutex_unlock(&svc.lock);

	_load();
	if ((rc = pthread_create(&svc.thread, NULL, _watch, NULL)))
		svc.hooks.error("aifactory: cannot start the policy thread: %s; the policy will not be reloaded on reconfigure",
				strerror(rc));
	else
		svc.running = true;
	return 0;
}

void aif_service_stop(void)
{
	pthread_mutex_lock(&svc.lock);
	if (!svc.refs || --svc.refs) {
		pthread_mutex_unlock(&svc.lock);
		return;
	}
	svc.stop = true;
	pthread_cond_signal(&svc.wake);
	pthread_mutex_unlock(&svc.lock);
	if (svc.running)
		pthread_join(svc.thread, NULL);
	svc.running = false;
	aif_policy_unref(svc.policy);
	aif_ledger_free(svc.ledger);
	free(svc.path);
	svc.policy = NULL;
	svc.ledger = NULL;
	svc.path = NULL;
}

struct aif_policy *aif_service_policy(void)
{
	struct aif_policy *p;

	pthread_mutex_lock(&svc.lock);
	p = aif_policy_ref(svc.policy);
	pthread_mutex_unlock(&svc.lock);
	return p;
}

struct aif_ledger *aif_service_ledger(void)
{
	return svc.ledger;
}

int aif_service_reload(void)
{
	if (!svc.refs) {
		errno = EINVAL;
		return -1;
	}
	return _load();
}
