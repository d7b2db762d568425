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
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aifctl.h"
#include "balance.h"
#include "query.h"

/* Root checks a policy as slurmctld reads it, as SlurmUser: when the
 * file is not root's, SlurmUser's files are trusted too (and named in
 * what is refused). scontrol is asked only then: it waits for slurmctld. */
static void _trust_slurm_user(const char *path)
{
	struct aifctl_slurm cfg;
	struct stat st;

	if (geteuid() != 0 || stat(path, &st) || st.st_uid == 0)
		return;
	if (!aifctl_slurm_config(&cfg) && cfg.slurm_uid != (uid_t) -1)
		aif_policy_trust_uid(cfg.slurm_uid);
}

struct aif_policy *aifctl_load_policy(const char *path, bool quiet_ok)
{
	struct aif_load_report report = { 0 };
	struct aif_policy *p;
	char line[AIF_ERR_MAX + 600];

	_trust_slurm_user(path);
	p = aif_policy_load(path, NULL, &report);

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

void aifctl_error_text(const char *prefix, const char *text,
		       const char *suffix)
{
	fprintf(stderr, "aifctl: %s", prefix);
	aif_text_to_terminal(stderr, text, strlen(text), aifctl_terminal_utf8());
	fprintf(stderr, "%s\n", suffix);
}

/*
 * slurmctld answers, to a MUNGE credential, what its owner may see. The
 * port is the policy's balance_port when the policy can be read here,
 * else AIF_BALANCE_PORT. What comes back is another host's text:
 * escaped for the terminal, never obeyed by it.
 */
int aifctl_port(const char *text, uint16_t *port)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno || end == text || *end || text[0] == '-' || !v ||
	    v > 65535) {
		aifctl_error_text("--port ", text, ": not a port (1-65535)");
		return -1;
	}
	*port = (uint16_t) v;
	return 0;
}

int aifctl_ask_slurmctld(const char *policy_path, uint16_t port_given,
			 const char *what, aifctl_ask_fn fn, void *arg)
{
	struct aifctl_slurm cfg;
	char why[600] = "no SlurmctldHost in 'scontrol show config'";
	char buf[4096];
	char *answer = NULL;
	size_t alen = 0;
	FILE *out;
	struct aif_policy *p =
		aifctl_load_policy(policy_path ? policy_path :
				   aifctl_default_policy(buf, sizeof(buf)),
				   true);
	uint16_t port = port_given ? port_given :
		p ? aif_policy_balance_port(p) : AIF_BALANCE_PORT;

	if (aifctl_slurm_config(&cfg)) {
		snprintf(why, sizeof(why), "cannot ask slurmctld for the %s: "
			 "'scontrol show config' failed: ", what);
		aifctl_error_text(why, cfg.why, strcmp(what, "balance") ?
				  " (is slurmctld running?)" :
				  " (is slurmctld running? root can read the "
				  "journal with --journal DIR)");
		aif_policy_unref(p);
		return 2;
	}
	if (p && !port) {
		fprintf(stderr, "aifctl: %s sets no balance_port: slurmctld "
			"does not answer %s queries; ask your centre\n",
			aif_policy_path(p), what);
		aif_policy_unref(p);
		return 2;
	}
	aif_policy_unref(p);
	/* The primary first; a backup answers only when it is in charge. */
	for (size_t i = 0; i < cfg.nhosts; i++) {
		if (!(out = open_memstream(&answer, &alen))) {
			snprintf(why, sizeof(why), "%s", strerror(errno));
			break;
		}
		if (!fn(cfg.hosts[i], port, cfg.munge_socket[0] ?
			cfg.munge_socket : NULL, cfg.slurm_uid, out, why,
			sizeof(why), arg)) {
			fclose(out);
			aif_text_to_terminal(stdout, answer, alen,
					     aifctl_terminal_utf8());
			free(answer);
			return 0;
		}
		fclose(out);
		free(answer);
		answer = NULL;
		if (strncmp(why, "cannot reach", 12))
			break;	/* it answered: its refusal is the answer */
	}
	aifctl_error_text("", why, "");
	return 2;
}
