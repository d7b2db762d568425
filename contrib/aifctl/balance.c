/*
 * aifctl balance: grants, charges, liens and burn rate per project,
 * from the journal (root, SlurmUser) or asked of slurmctld (users).
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "aifctl.h"
#include "balance.h"
#include "book.h"
#include "query.h"

/* "aifctl: " and a message from elsewhere (the server, the user's -A),
 * made safe for the terminal, on stderr. */
static void _balance_error(const char *prefix, const char *text,
			   const char *suffix)
{
	fprintf(stderr, "aifctl: %s", prefix);
	aif_text_to_terminal(stderr, text, strlen(text), aifctl_terminal_utf8());
	fprintf(stderr, "%s\n", suffix);
}

/*
 * balance for those who cannot read the journal: slurmctld answers, to a
 * MUNGE credential, with the projects its owner is a member of (all of
 * them for operators). The port is the policy's balance_port when the
 * policy can be read here, else AIF_BALANCE_PORT. What comes back is
 * another host's text: escaped for the terminal, never obeyed by it.
 */
static int _balance_ask(const char *only, const char *policy_path)
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
	uint16_t port = p ? aif_policy_balance_port(p) : AIF_BALANCE_PORT;

	aifctl_slurm_config(&cfg);	/* failed: no host, as said below */
	if (p && !port) {
		fprintf(stderr, "aifctl: %s sets no balance_port: slurmctld "
			"does not answer balance queries; ask your centre\n",
			aif_policy_path(p));
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
		if (!aif_query_ask(cfg.hosts[i], port, cfg.munge_socket[0] ?
				   cfg.munge_socket : NULL, cfg.slurm_uid,
				   only, out, why, sizeof(why))) {
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
	_balance_error("", why, "");
	return 2;
}

/*
 * Who may see what: root reads the journal (SlurmUser's, mode 0600) here,
 * found by 'scontrol show config' or named with --journal (which works
 * with slurmctld down too), and so does anyone naming a journal they can
 * read with --journal; everyone else asks slurmctld,
 * which answers with the projects they are a member of (all of them for
 * SlurmUser and the policy's operators). aifctl is never setuid.
 */
int aifctl_balance(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "policy", required_argument, NULL, OPT_POLICY },
		{ "journal", required_argument, NULL, 'J' },
		{ "account", required_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char buf[4096], dirbuf[PATH_MAX], from[PATH_MAX + 96], why[512];
	const char *path = NULL, *dir = NULL, *only = NULL;
	struct aif_book *book = NULL;
	struct aif_balance_sheet *sheet = NULL;
	struct aif_ledger *ledger = NULL;
	struct aif_policy *p = NULL;
	time_t now = time(NULL);
	bool reserved_known;
	int c, rc = 2;

	optind = 1;
	while ((c = getopt_long(argc, argv, "A:h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_POLICY: path = optarg; break;
		case 'J': dir = optarg; break;
		case 'A': only = optarg; break;
		case 'h': return aifctl_usage(stdout);
		default: return aifctl_usage(stderr);
		}
	}
	if (optind != argc || (path && !path[0]) || (dir && !dir[0]) ||
	    (only && !only[0]))
		return aifctl_usage(stderr);
	if (!dir && geteuid() != 0)
		return _balance_ask(only, path);
	if (!dir) {
		if (aifctl_journal_dir(dirbuf, sizeof(dirbuf), from,
				       sizeof(from), false))
			return 2;
		dir = dirbuf;
	}
	if (!(p = aifctl_load_policy(path ? path :
				      aifctl_default_policy(buf, sizeof(buf)),
				      true)))
		return 2;
	if (only && !aif_policy_project(p, only)) {
		char *in;

		if (asprintf(&in, " in %s", aif_policy_path(p)) >= 0) {
			_balance_error("no project ", only, in);
			free(in);
		}
		goto out;
	}
	if (!(ledger = aif_ledger_new()) ||
	    !(book = aif_book_new(NULL)) ||
	    !(sheet = aif_balance_sheet_new(true, now))) {
		fprintf(stderr, "aifctl: %s\n", strerror(ENOMEM));
		goto out;
	}
	if (aif_ledger_sync(ledger, p, why, sizeof(why))) {
		fprintf(stderr, "aifctl: %s\n", why);
		goto out;
	}
	if (aifctl_replay(dir, aif_book_replay, book))
		goto out;
	if (aif_book_apply(book, ledger, why, sizeof(why)))
		fprintf(stderr, "aifctl: warning: %s\n", why);
	reserved_known = !aifctl_queued_liens(ledger);
	if (!reserved_known) {
		printf("reserved: unknown (squeue failed)\n");
		aif_balance_sheet_free(sheet);
		if (!(sheet = aif_balance_sheet_new(false, now))) {
			fprintf(stderr, "aifctl: %s\n", strerror(ENOMEM));
			goto out;
		}
	}
	for (size_t i = 0; i < aif_policy_nprojects(p); i++) {
		const struct aif_project *proj = aif_policy_project_at(p, i);

		if (only && strcmp(only, proj->name))
			continue;
		if (aif_balance_sheet_add(sheet, ledger, proj->name,
					  proj->klass->metered,
					  aif_book_burn(book, proj->name,
							now))) {
			fprintf(stderr, "aifctl: %s: %s\n", proj->name,
				strerror(errno));
			goto out;
		}
	}
	if (aif_balance_sheet_print(sheet, stdout)) {
		fprintf(stderr, "aifctl: %s\n", strerror(errno));
		goto out;
	}
	rc = 0;
out:
	aif_balance_sheet_free(sheet);
	aif_book_free(book);
	aif_ledger_free(ledger);
	aif_policy_unref(p);
	return rc;
}
