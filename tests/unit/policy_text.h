/*
 * For unit tests: load a policy written as a string, through a temporary
 * file, printing any load error as a TAP comment.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef AIF_TEST_POLICY_TEXT_H
#define AIF_TEST_POLICY_TEXT_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "aifactory.h"

/* resolver may be NULL (NSS). Returns the policy or NULL. */
static struct aif_policy * __attribute__((unused))
policy_from_text(const char *text, const struct aif_resolver *resolver)
{
	char dir[] = "/tmp/aif-test-policy.XXXXXX", path[64];
	struct aif_load_report report = { 0 };
	struct aif_policy *p;
	FILE *f;

	if (!mkdtemp(dir))
		return NULL;
	snprintf(path, sizeof(path), "%s/aifactory.json", dir);
	if (!(f = fopen(path, "w"))) {
		rmdir(dir);
		return NULL;
	}
	fputs(text, f);
	fclose(f);
	p = aif_policy_load(path, resolver, &report);
	for (size_t i = 0; i < report.nerrors; i++) {
		char line[1024];

		aif_load_error_format(&report.errors[i], line, sizeof(line));
		printf("# %s\n", line);
	}
	aif_load_report_free(&report);
	unlink(path);
	rmdir(dir);
	return p;
}

#endif
