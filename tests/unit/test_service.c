/*
 * Unit tests of the shared service (common/service.c): the policy is
 * loaded at start, reloaded when the configuration stamp moves, a broken
 * file keeps the last good policy, and references are counted.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include "service.h"
#include "tap.h"

static time_t stamp;
static char last_error[2048], last_info[2048];

static void _info(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(last_info, sizeof(last_info), fmt, ap);
	va_end(ap);
}

static int _error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return 0;
}

static void _write(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static const char good[] =
	"{ \"version\": 1, \"classes\": { \"c\": { \"max_gpus_per_job\": 8 } },\n"
	"  \"projects\": { \"p\": { \"class\": \"c\", \"mode\": \"m\" } } }\n";
static const char better[] =
	"{ \"version\": 1, \"classes\": { \"c\": { \"max_gpus_per_job\": 2 } },\n"
	"  \"projects\": { \"p\": { \"class\": \"c\", \"mode\": \"m\" },\n"
	"                \"q\": { \"class\": \"c\", \"mode\": \"m\" } } }\n";

/* Wait (bounded) for the watcher to swap in a policy of n projects. */
static size_t _wait_projects(size_t n)
{
	size_t got = 0;

	for (int i = 0; i < 50; i++) {
		struct aif_policy *p = aif_service_policy();

		got = p ? aif_policy_nprojects(p) : 0;
		aif_policy_unref(p);
		if (got == n)
			break;
		usleep(100000);
	}
	return got;
}

int main(void)
{
	char dir[] = "/tmp/aif-test-service.XXXXXX", path[64];
	struct aif_service_hooks hooks = {
		.conf_stamp = &stamp, .info = _info, .error = _error,
	};
	struct aif_policy *p;

	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/aifactory.json", dir);
	hooks.policy_path = path;

	ok(aif_service_policy() == NULL, "no policy before the service starts");
	_write(path, good);
	is_int(aif_service_start(&hooks), 0, "the service starts");
	p = aif_service_policy();
	ok(p && aif_policy_project(p, "p"), "the policy is loaded at start");
	aif_policy_unref(p);
	like(last_info, "policy /tmp/aif-test-service.", "its load is logged");
	ok(aif_service_ledger() != NULL, "the ledger exists");
	is_int(aif_service_start(&hooks), 0, "a second plugin takes a reference");

	/* A broken file on a reconfigure: the last good policy stays. */
	_write(path, "{ \"version\": 1, \"classes\": { \"c\": { \"max_gpus\": 8 } } }\n");
	stamp = time(NULL);
	sleep(2);
	like(last_error, "refused; the last good policy", "a broken file is refused");
	is_int(_wait_projects(1), 1, "the last good policy stays in force");

	/* A good file on the next reconfigure takes over. */
	_write(path, better);
	stamp = time(NULL);
	is_int(_wait_projects(2), 2, "a reconfigure loads the new policy");
	is_int(aif_service_reload(), 0, "an explicit reload works too");

	aif_service_stop();
	ok(aif_service_ledger() != NULL, "one stop of two keeps the service");
	aif_service_stop();
	ok(aif_service_ledger() == NULL && aif_service_policy() == NULL,
	   "the last stop ends it");
	unlink(path);
	rmdir(dir);
	return done();
}
