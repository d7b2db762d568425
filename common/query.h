/*
 * slurm-aifactory: members' balance queries, answered by slurmctld.
 *
 * The ledger lives in slurmctld, and its journal is SlurmUser's alone;
 * users sit on login nodes. So a user's aifctl asks slurmctld, over TCP,
 * with a MUNGE credential as the only proof of who asks (the same proof
 * SLURM itself trusts; munged refuses a credential replayed or expired).
 *
 *   request:  <credential>\n   its payload "aifactory-balance 1 <project>"
 *             (project "-": every project the asker may see; the
 *             statement as JSON: "aifactory-balance-json 1 <project>"), or
 *             "aifactory-priority 1 classes|project <P>|job <C> <P> <0|1>"
 *             (aifctl priority: the SITE factor's classes, a project's
 *             pacing, a job's parts; the last field: on the fallback QOS)
 *   answer:   "ok\n" and the statement, or "error <why>\n"; then close.
 *
 * The server is one thread of its own, never under slurmctld's locks: one
 * poll loop over a fixed table of AIF_QUERY_CONNS_MAX connections, each
 * with its own deadlines (AIF_QUERY_FIRST_BYTE_MS for the first byte,
 * AIF_QUERY_TIMEOUT_MS for the whole request, as much to write the
 * answer), at most AIF_QUERY_PER_ADDRESS_MAX from one address. So idle or
 * trickling connections (a port scanner, a hostile user: no credential is
 * needed to connect) cost a slot each for a second or two, and never hold
 * another's answer. A connection refused (its address at the cap, the
 * table full) is told so in one "error" line and closed at once.
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef AIF_QUERY_H
#define AIF_QUERY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define AIF_BALANCE_PORT 6830	/* aifctl's guess when it cannot read the policy */
#define AIF_QUERY_REQUEST_MAX 4096	/* bytes of a request, newline included */
#define AIF_QUERY_ANSWER_MAX (16 << 20)	/* bytes of an answer: every
						 * project of a large centre */
#define AIF_QUERY_TIMEOUT_MS 2000	/* to read a request, or write an answer */
#define AIF_QUERY_FIRST_BYTE_MS 1000	/* a client writes its credential as
					 * soon as it connects */
#define AIF_QUERY_CONNS_MAX 64		/* connections served at once */
#define AIF_QUERY_PER_ADDRESS_MAX 8	/* of them from one address */
#define AIF_QUERY_PROJECT_MAX 64	/* a project name's bytes, NUL included */

/*
 * The answer to uid (primary group gid) asking about project (NULL: every
 * project it may see): write the statement (as JSON when json) to out and
 * return 0, or return -1 with why (sent back as the error).
 */
typedef int (*aif_query_fn)(uid_t uid, gid_t gid, const char *project,
			    bool json, FILE *out, char *why, size_t len,
			    void *arg);

/* What aifctl priority asks. */
enum aif_priority_what {
	AIF_PRIORITY_CLASSES = 0,	/* every class's share and use */
	AIF_PRIORITY_PROJECT,		/* project's pacing */
	AIF_PRIORITY_JOB,		/* a job of klass in project */
};

struct aif_priority_ask {
	enum aif_priority_what what;
	char klass[AIF_QUERY_PROJECT_MAX];	/* JOB: a class name */
	char project[AIF_QUERY_PROJECT_MAX];	/* PROJECT, JOB */
	bool fallback;				/* JOB: on the fallback QOS */
};

typedef int (*aif_query_priority_fn)(uid_t uid, gid_t gid,
				     const struct aif_priority_ask *ask,
				     FILE *out, char *why, size_t len,
				     void *arg);

/* The server's answers: balance, priority (NULL: "not answered here"). */
struct aif_query_handlers {
	aif_query_fn balance;
	aif_query_priority_fn priority;
	void *arg;
};

struct aif_query;

/*
 * Listen on port (every address, IPv6 and IPv4) and answer with the
 * handlers (copied) on a thread of its own. munge_socket NULL: munged's
 * default socket. NULL with why on failure (the port taken, no thread).
 */
struct aif_query *aif_query_start(uint16_t port, const char *munge_socket,
				  const struct aif_query_handlers *h,
				  char *why, size_t len);

/* Stop listening and join the thread (within a second). NULL is fine. */
void aif_query_stop(struct aif_query *q);

uint16_t aif_query_port(const struct aif_query *q);

/*
 * Ask host:port about project (NULL: every project) as the calling user;
 * the statement (JSON when json) goes to out. The credential can be decoded by server_uid
 * only (SlurmUser; (uid_t) -1: anyone). 0, or -1 with why: the server's
 * own error, or why it could not be reached.
 */
int aif_query_ask(const char *host, uint16_t port, const char *munge_socket,
		  uid_t server_uid, const char *project, bool json, FILE *out,
		  char *why, size_t len);

/* The same for what aifctl priority asks: the answer's text to out. */
int aif_query_ask_priority(const char *host, uint16_t port,
			   const char *munge_socket, uid_t server_uid,
			   const struct aif_priority_ask *ask, FILE *out,
			   char *why, size_t len);

/*
 * The request parser, pure (no I/O, no MUNGE) so that it can be fuzzed;
 * the server runs what it receives through both steps.
 *
 * aif_query_parse_request(): buf holds the len bytes received so far. 1
 * when they hold a whole request: the credential is buf[0..*cred_len)
 * (the newline excluded; bytes after it are ignored). 0 when more bytes
 * are needed. -1 when they can never be a request (not a MUNGE
 * credential's characters, longer than AIF_QUERY_REQUEST_MAX - 1 bytes
 * before the newline), with why: printable ASCII, sent back as the error.
 * Reads at most AIF_QUERY_REQUEST_MAX bytes of buf.
 */
int aif_query_parse_request(const char *buf, size_t len, size_t *cred_len,
			    char *why, size_t wlen);

/*
 * What the payload of a decoded credential (len bytes, not NUL-ended)
 * asks: 0 with project set, a valid project name ([a-z0-9_.-], shorter
 * than AIF_QUERY_PROJECT_MAX), or "" for every project the asker may
 * see, and json set when the statement is asked for as JSON.
 * -1 with why: "not a balance query", or, for a name no project can have,
 * the very words a non-member gets, with the name echoed only when it is
 * valid UTF-8 with no control character (the client escapes it for its
 * terminal anyway).
 */
int aif_query_parse_payload(const void *payload, size_t len,
			    char project[AIF_QUERY_PROJECT_MAX], bool *json,
			    char *why, size_t wlen);

/*
 * A priority payload, as the server reads it after the credential: 1
 * when payload is one (ask filled in: names checked as the policy's
 * are), 0 when it is not a priority query at all (a balance query), -1
 * with why for a priority query that is malformed (printable ASCII).
 */
int aif_query_parse_priority(const void *payload, size_t len,
			     struct aif_priority_ask *ask,
			     char *why, size_t wlen);

#endif /* AIF_QUERY_H */
