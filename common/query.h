/*
 * slurm-aifactory: members' balance queries, answered by slurmctld.
 *
 * The ledger lives in slurmctld, and its journal is SlurmUser's alone;
 * users sit on login nodes. So a user's aifctl asks slurmctld, over TCP,
 * with a MUNGE credential as the only proof of who asks (the same proof
 * SLURM itself trusts; munged refuses a credential replayed or expired).
 *
 *   request:  <credential>\n   its payload "aifactory-balance 1 <project>"
 *             (project "-": every project the asker may see)
 *   answer:   "ok\n" and the statement, or "error <why>\n"; then close.
 *
 * The server is one thread of its own: one connection at a time, each
 * bounded in size and in time (AIF_QUERY_TIMEOUT_MS to read the request,
 * as much to write the answer), never under slurmctld's locks.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef AIF_QUERY_H
#define AIF_QUERY_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define AIF_BALANCE_PORT 6830	/* aifctl's guess when it cannot read the policy */
#define AIF_QUERY_REQUEST_MAX 4096	/* bytes of a request, newline included */
#define AIF_QUERY_ANSWER_MAX (16 << 20)	/* bytes of an answer: every
						 * project of a large centre */
#define AIF_QUERY_TIMEOUT_MS 2000	/* to read a request, or write an answer */

/*
 * The answer to uid (primary group gid) asking about project (NULL: every
 * project it may see): write the statement to out and return 0, or return
 * -1 with why (sent back as the error).
 */
typedef int (*aif_query_fn)(uid_t uid, gid_t gid, const char *project,
			    FILE *out, char *why, size_t len, void *arg);

struct aif_query;

/*
 * Listen on port (every address, IPv6 and IPv4) and answer with fn on a
 * thread of its own. munge_socket NULL: munged's default socket. NULL
 * with why on failure (the port taken, no thread).
 */
struct aif_query *aif_query_start(uint16_t port, const char *munge_socket,
				  aif_query_fn fn, void *arg,
				  char *why, size_t len);

/* Stop listening and join the thread (within a second). NULL is fine. */
void aif_query_stop(struct aif_query *q);

uint16_t aif_query_port(const struct aif_query *q);

/*
 * Ask host:port about project (NULL: every project) as the calling user;
 * the statement goes to out. The credential can be decoded by server_uid
 * only (SlurmUser; (uid_t) -1: anyone). 0, or -1 with why: the server's
 * own error, or why it could not be reached.
 */
int aif_query_ask(const char *host, uint16_t port, const char *munge_socket,
		  uid_t server_uid, const char *project, FILE *out,
		  char *why, size_t len);

#endif /* AIF_QUERY_H */
