/*
 * aifctl: what the subcommands share: the policy loaded with its
 * diagnostics, the journal replayed, the terminal's charset.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "aifctl.h"

struct aif_policy *aifctl_load_policy(const char *path, bool quiet_ok)
{
	struct aif_load_report report = { 0 };
	struct aif_policy *p = aif_policy_load(path, NULL, &report);
	char line[AIF_ERR_MAX + 600];

	for (size_t i = 0; i < report.nwarnings; i++) {
		aif_load_error_format(&report.warnings[i], line, sizeof(line));
		fprintf(stderr, "warning: %s\n", line);
	}
	for (size_t i = 0; i < report.nerrors; i++) {
		aif_load_error_format(&report.errors[i], line, sizeof(line));
		fprintf(stderr, "%s\n", line);
	}
	if (!p)
		fprintf(stderr, "%s: refused: %zu error%s\n", path,
			report.nerrors ? report.nerrors : 1,
			report.nerrors == 1 ? "" : "s");
	aif_load_report_free(&report);
	if (p && !quiet_ok)
		printf("%s: OK: %zu classes, %zu projects, sha256 %s\n", path,
		       aif_policy_nclasses(p), aif_policy_nprojects(p),
		       aif_policy_hash(p));
	return p;
}

/* Replay the whole journal in dir through fn; -1 after saying why not.
 * balance and report read it alike, and only root and SlurmUser can. */
int aifctl_replay(const char *dir, aif_replay_fn fn, void *arg)
{
	struct aif_verify_report rep;
	int err;

	if (!aif_journal_replay(dir, 0, NULL, fn, arg, &rep))
		return 0;
	err = errno;
	if (err == EACCES || err == EPERM)
		fprintf(stderr, "aifctl: %s: only root and SlurmUser can "
			"read the journal\n", dir);
	else
		fprintf(stderr, "aifctl: %s: %s\n", dir,
			rep.message[0] ? rep.message : strerror(err));
	return -1;
}

/*
 * Whether the terminal shows UTF-8: the locale's charset (LC_CTYPE only,
 * so that numbers keep their decimal point). Text from elsewhere keeps
 * its UTF-8 there and is escaped otherwise (aif_text_to_terminal).
 */
bool aifctl_terminal_utf8(void)
{
	return setlocale(LC_CTYPE, "") &&
		!strcmp(nl_langinfo(CODESET), "UTF-8");
}
