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

/* What a member asks slurmctld. */
struct balance_ask {
	const char *only;	/* NULL: every project */
	bool json;
};

static int _ask_balance(const char *host, uint16_t port,
			const char *munge_socket, uid_t server_uid, FILE *out,
			char *why, size_t len, void *arg)
{
	const struct balance_ask *ask = arg;

	return aif_query_ask(host, port, munge_socket, server_uid, ask->only,
			     ask->json, out, why, len);
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
		{ "port", required_argument, NULL, OPT_PORT },
		{ "journal", required_argument, NULL, 'J' },
		{ "account", required_argument, NULL, 'A' },
		{ "json", no_argument, NULL, OPT_JSON },
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
	struct balance_ask ask = { 0 };
	bool reserved_known;
	uint16_t port = 0;
	int c, rc = 2;

	optind = 1;
	while ((c = getopt_long(argc, argv, "A:h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_POLICY: path = optarg; break;
		case OPT_PORT:
			if (aifctl_port(optarg, &port))
				return 2;
			break;
		case 'J': dir = optarg; break;
		case 'A': only = optarg; break;
		case OPT_JSON: ask.json = true; break;
		case 'h': return aifctl_usage(stdout);
		default: return aifctl_usage(stderr);
		}
	}
	if (optind != argc || (path && !path[0]) || (dir && !dir[0]) ||
	    (only && !only[0]))
		return aifctl_usage(stderr);
	ask.only = only;
	if (!dir && geteuid() != 0)
		return aifctl_ask_slurmctld(path, port, "balance",
					    _ask_balance, &ask);
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
			aifctl_error_text("no project ", only, in);
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
		/* JSON readers see it as "reserved": null. */
		fprintf(ask.json ? stderr : stdout,
			"reserved: unknown (squeue failed)\n");
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
	if (aif_balance_sheet_print(sheet, stdout, ask.json)) {
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
