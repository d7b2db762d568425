/*
 * slurm-aifactory: members' balance queries (see query.h).
 *
 * Copyright (C) 2026 The slurm-aifactory developers.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <munge.h>

#include "query.h"
#include "text.h"

#define PAYLOAD_MAGIC "aifactory-balance 1 "
#define JSON_MAGIC "aifactory-balance-json 1 "	/* the same, as JSON */
#define PRIORITY_MAGIC "aifactory-priority 1 "
#define PROJECT_MAX AIF_QUERY_PROJECT_MAX

struct conn;

struct aif_query {
	int fd;
	uint16_t port;
	munge_ctx_t munge;
	struct aif_query_handlers h;
	pthread_t thread;
	atomic_bool stop;
	int64_t accept_pause;		/* no accept before (EMFILE...) */
	struct conn *conns;		/* AIF_QUERY_CONNS_MAX of them */
};

/* A munge context that talks to socket (NULL: the default). */
static munge_ctx_t _munge_ctx(const char *socket)
{
	munge_ctx_t ctx = munge_ctx_create();

	if (ctx && socket &&
	    munge_ctx_set(ctx, MUNGE_OPT_SOCKET, socket) != EMUNGE_SUCCESS) {
		munge_ctx_destroy(ctx);
		return NULL;
	}
	return ctx;
}

static int64_t _now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until fd can do what events says, before the deadline (ms of
 * CLOCK_MONOTONIC): a peer trickling bytes cannot hold the thread. */
static int _wait(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int64_t left;
	int n;

	do {
		left = deadline - _now_ms();
		n = left > 0 ? poll(&pfd, 1, (int) left) : 0;
	} while (n < 0 && errno == EINTR);
	if (n == 0)
		errno = ETIMEDOUT;
	return n > 0 ? 0 : -1;
}

static int _write_all(int fd, const char *buf, size_t len)
{
	int64_t deadline = _now_ms() + AIF_QUERY_TIMEOUT_MS;

	while (len) {
		ssize_t n;

		if (_wait(fd, POLLOUT, deadline))
			return -1;
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t) n;
	}
	return 0;
}

/* Read until the peer closes, a newline (stop_at_newline) or max bytes:
 * *len bytes and a NUL. -1 with E2BIG past max. */
static int _read_until(int fd, char *buf, size_t max, bool stop_at_newline,
		       size_t *len)
{
	int64_t deadline = _now_ms() + AIF_QUERY_TIMEOUT_MS;

	*len = 0;
	for (;;) {
		ssize_t n;

		if (*len + 1 >= max) {
			errno = E2BIG;
			return -1;
		}
		if (_wait(fd, POLLIN, deadline))
			return -1;
		n = recv(fd, buf + *len, max - 1 - *len, 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -1;
		buf[*len += (size_t) n] = '\0';
		if (!n || (stop_at_newline && memchr(buf, '\n', *len)))
			return 0;
	}
}

/* ------------------------------------------------------------------ */
/* The request, parsed: pure, so that it can be fuzzed                   */

/* A byte of a MUNGE credential: "MUNGE:", base64, ":". */
static bool _credential_byte(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		(c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=' ||
		c == ':';
}

int aif_query_parse_request(const char *buf, size_t len, size_t *cred_len,
			    char *why, size_t wlen)
{
	static const char prefix[] = "MUNGE:";
	size_t i;

	*cred_len = 0;
	why[0] = '\0';
	for (i = 0; i < len && i < AIF_QUERY_REQUEST_MAX; i++) {
		unsigned char c = (unsigned char) buf[i];

		if (c == '\n')
			break;
		/* Refused as soon as it shows: no munged round trip, and
		 * no waiting for the rest of what cannot be a credential. */
		if (!_credential_byte(c) ||
		    (i < sizeof(prefix) - 1 && c != (unsigned char) prefix[i])) {
			snprintf(why, wlen, "credential refused: not a MUNGE "
				 "credential");
			return -1;
		}
	}
	if (i == AIF_QUERY_REQUEST_MAX) {
		snprintf(why, wlen, "request refused: longer than %d bytes",
			 AIF_QUERY_REQUEST_MAX - 1);
		return -1;
	}
	if (i == len)
		return 0;	/* no newline yet */
	if (i < sizeof(prefix)) {
		snprintf(why, wlen, "credential refused: not a MUNGE "
			 "credential");
		return -1;
	}
	*cred_len = i;
	return 1;
}

/* Valid UTF-8 (no overlong form, no surrogate) with no control character
 * nor invisible mark (aif_cp_needs_escape): safe to echo to a user. */
static bool _echoable(const unsigned char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		size_t n;
		int32_t cp = aif_utf8_get(s + i, len - i, &n);

		if (cp < 0 || aif_cp_needs_escape((uint32_t) cp))
			return false;
		i += n;
	}
	return true;
}

/* A name of [A-Za-z0-9_.-] (lowercase only for a project), 1 to
 * AIF_QUERY_PROJECT_MAX - 1 bytes, from s up to a space or the end of
 * the n bytes: its length, or 0. */
static size_t _name(const char *s, size_t n, bool lower, char *out)
{
	size_t i;

	for (i = 0; i < n && s[i] != ' '; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-' ||
		      (!lower && c >= 'A' && c <= 'Z')))
			return 0;
	}
	if (!i || i >= AIF_QUERY_PROJECT_MAX)
		return 0;
	memcpy(out, s, i);
	out[i] = '\0';
	return i;
}

int aif_query_parse_payload(const void *payload, size_t len,
			    char project[AIF_QUERY_PROJECT_MAX], bool *json,
			    char *why, size_t wlen)
{
	const char *p = payload;
	size_t magic = strlen(PAYLOAD_MAGIC), n;

	project[0] = '\0';
	why[0] = '\0';
	*json = false;
	if (p && len > strlen(JSON_MAGIC) &&
	    !memcmp(p, JSON_MAGIC, strlen(JSON_MAGIC))) {
		*json = true;
		magic = strlen(JSON_MAGIC);
	} else if (!p || len <= magic || memcmp(p, PAYLOAD_MAGIC, magic)) {
		snprintf(why, wlen, "not a balance query");
		return -1;
	}
	p += magic;
	n = len - magic;
	if (n == 1 && p[0] == '-')
		return 0;
	/* The names the policy allows (lowercase: SLURM lowercases
	 * accounts); anything else cannot be a project of anyone's. */
	if (_name(p, n, true, project) == n)
		return 0;
	project[0] = '\0';
	/* The same words as for a project one is not a member of; echoed
	 * as the user typed it (UTF-8 too) when it is safe to show. */
	if (n < AIF_QUERY_PROJECT_MAX * 4 && _echoable((const unsigned char *) p, n))
		snprintf(why, wlen, "no project %.*s that you are a member of",
			 (int) n, p);
	else
		snprintf(why, wlen, "not a balance query");
	return -1;
}

int aif_query_parse_priority(const void *payload, size_t len,
			     struct aif_priority_ask *ask,
			     char *why, size_t wlen)
{
	const char *p = payload;
	size_t magic = strlen(PRIORITY_MAGIC), n, k;

	memset(ask, 0, sizeof(*ask));
	why[0] = '\0';
	if (!p || len < magic || memcmp(p, PRIORITY_MAGIC, magic))
		return 0;
	p += magic;
	n = len - magic;
	if (n == 7 && !memcmp(p, "classes", 7)) {
		ask->what = AIF_PRIORITY_CLASSES;
		return 1;
	}
	if (n > 8 && !memcmp(p, "project ", 8) &&
	    (k = _name(p + 8, n - 8, true, ask->project)) && k == n - 8) {
		ask->what = AIF_PRIORITY_PROJECT;
		return 1;
	}
	if (n > 4 && !memcmp(p, "job ", 4) &&
	    (k = _name(p + 4, n - 4, false, ask->klass)) &&
	    4 + k < n && p[4 + k] == ' ') {
		size_t at = 4 + k + 1, m;

		if ((m = _name(p + at, n - at, true, ask->project)) &&
		    at + m + 2 == n && p[at + m] == ' ' &&
		    (p[at + m + 1] == '0' || p[at + m + 1] == '1')) {
			ask->what = AIF_PRIORITY_JOB;
			ask->fallback = p[at + m + 1] == '1';
			return 1;
		}
	}
	memset(ask, 0, sizeof(*ask));
	snprintf(why, wlen, "not a priority query");
	return -1;
}

/* ------------------------------------------------------------------ */
/* Server: one thread, one poll loop over a fixed table of connections,
 * each with its own deadline: no peer can hold another's answer.        */

enum conn_state { CONN_FREE, CONN_READING, CONN_WRITING };

struct conn {
	enum conn_state state;
	int fd;
	unsigned char addr[16];		/* the peer's, IPv4 as ::ffff:a.b.c.d */
	int64_t first_byte_due;		/* CLOCK_MONOTONIC ms */
	int64_t due;			/* the whole request, then the answer */
	size_t got;
	char request[AIF_QUERY_REQUEST_MAX + 1];
	char *answer;			/* malloc'ed */
	size_t answer_len, sent;
};

/* The peer's address as 16 bytes, so that IPv4 and IPv6 compare alike. */
static void _peer(const struct sockaddr_storage *ss, unsigned char addr[16])
{
	memset(addr, 0, 16);
	if (ss->ss_family == AF_INET6) {
		memcpy(addr, &((const struct sockaddr_in6 *) ss)->sin6_addr, 16);
	} else if (ss->ss_family == AF_INET) {
		addr[10] = addr[11] = 0xff;
		memcpy(addr + 12, &((const struct sockaddr_in *) ss)->sin_addr, 4);
	}
}

static void _conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->answer);
	c->answer = NULL;
	c->fd = -1;
	c->state = CONN_FREE;
}

/* Turn c to writing text (malloc'ed, ours now). */
static void _conn_reply(struct conn *c, char *text, size_t len)
{
	c->answer = text;
	c->answer_len = len;
	c->sent = 0;
	c->state = CONN_WRITING;
	c->due = _now_ms() + AIF_QUERY_TIMEOUT_MS;
}

static void _conn_error(struct conn *c, const char *why)
{
	char *line = NULL;
	int n = asprintf(&line, "error %s\n", why);

	if (n < 0) {
		_conn_close(c);
		return;
	}
	_conn_reply(c, line, (size_t) n);
}

/*
 * A request has come whole: decode its credential and build the answer.
 * The only slow parts are munged (a local socket) and fn (the ledger's
 * lock, briefly); both bounded, neither under slurmctld's locks.
 */
static void _conn_answer(struct aif_query *q, struct conn *c, size_t cred_len)
{
	char project[AIF_QUERY_PROJECT_MAX], why[512] = "", *text = NULL;
	struct aif_priority_ask ask;
	bool json = false;
	void *payload = NULL;
	int prio;
	size_t tlen = 0;
	int plen = 0;
	uid_t uid;
	gid_t gid;
	munge_err_t err;
	FILE *out;

	c->request[cred_len] = '\0';
	err = munge_decode(c->request, q->munge, &payload, &plen, &uid, &gid);
	if (err != EMUNGE_SUCCESS) {
		snprintf(why, sizeof(why), "credential refused: %s",
			 munge_strerror(err));
		goto reply;
	}
	prio = aif_query_parse_priority(payload, plen < 0 ? 0 : (size_t) plen,
					&ask, why, sizeof(why));
	if (prio < 0 || (!prio &&
			 aif_query_parse_payload(payload, plen < 0 ? 0 :
						 (size_t) plen, project, &json,
						 why, sizeof(why))))
		goto reply;
	if (prio && !q->h.priority) {
		snprintf(why, sizeof(why), "priority queries are not answered here");
		goto reply;
	}
	if (!(out = open_memstream(&text, &tlen))) {
		snprintf(why, sizeof(why), "%s", strerror(errno));
		goto reply;
	}
	fputs("ok\n", out);
	if ((prio ? q->h.priority(uid, gid, &ask, out, why, sizeof(why),
				  q->h.arg) :
	     q->h.balance(uid, gid, project[0] ? project : NULL, json, out,
			  why, sizeof(why), q->h.arg)) && !why[0])
		snprintf(why, sizeof(why), "no answer");
	if (fclose(out) && !why[0])
		snprintf(why, sizeof(why), "%s", strerror(errno));
	if (!why[0] && tlen >= AIF_QUERY_ANSWER_MAX)
		snprintf(why, sizeof(why), "the answer is too long");
reply:
	free(payload);
	if (why[0]) {
		free(text);
		_conn_error(c, why);
	} else {
		_conn_reply(c, text, tlen);
	}
}

static void _conn_read(struct aif_query *q, struct conn *c)
{
	char why[128];
	size_t cred_len;
	ssize_t n;
	int rc;

	n = recv(c->fd, c->request + c->got, AIF_QUERY_REQUEST_MAX - c->got, 0);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		_conn_close(c);	/* gone before asking: no one to answer */
		return;
	}
	c->got += (size_t) n;
	rc = aif_query_parse_request(c->request, c->got, &cred_len, why,
				     sizeof(why));
	if (rc < 0)
		_conn_error(c, why);
	else if (rc > 0)
		_conn_answer(q, c, cred_len);
}

static void _conn_write(struct conn *c)
{
	ssize_t n = send(c->fd, c->answer + c->sent, c->answer_len - c->sent,
			 MSG_NOSIGNAL);

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0 || (c->sent += (size_t) n) == c->answer_len)
		_conn_close(c);
}

/* A refusal to a connection that gets no slot: one try, never waiting. */
static void _refuse(int fd, const char *why)
{
	char line[160];
	int n = snprintf(line, sizeof(line), "error %s\n", why);

	(void) send(fd, line, (size_t) n, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

static void _accept(struct aif_query *q)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	unsigned char addr[16];
	struct conn *free_slot = NULL;
	unsigned same = 0;
	int fd;

	/* Non-blocking, so that every read and write keeps to its
	 * deadline whatever the peer does. */
	fd = accept4(q->fd, (struct sockaddr *) &ss, &sslen,
		     SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			q->accept_pause = _now_ms() + 100;	/* EMFILE... */
		return;
	}
	_peer(&ss, addr);
	for (size_t i = 0; i < AIF_QUERY_CONNS_MAX; i++) {
		if (q->conns[i].state == CONN_FREE) {
			if (!free_slot)
				free_slot = &q->conns[i];
		} else if (!memcmp(q->conns[i].addr, addr, 16)) {
			same++;
		}
	}
	if (same >= AIF_QUERY_PER_ADDRESS_MAX) {
		char why[96];

		snprintf(why, sizeof(why), "too many connections from your "
			 "address (at most %d at once)",
			 AIF_QUERY_PER_ADDRESS_MAX);
		_refuse(fd, why);
		return;
	}
	if (!free_slot) {
		_refuse(fd, "the balance service is busy: try again");
		return;
	}
	free_slot->state = CONN_READING;
	free_slot->fd = fd;
	memcpy(free_slot->addr, addr, 16);
	free_slot->got = 0;
	free_slot->first_byte_due = _now_ms() + AIF_QUERY_FIRST_BYTE_MS;
	free_slot->due = _now_ms() + AIF_QUERY_TIMEOUT_MS;
}

static void *_serve(void *arg)
{
	struct aif_query *q = arg;
	struct pollfd pfd[AIF_QUERY_CONNS_MAX + 1];
	struct conn *polled[AIF_QUERY_CONNS_MAX + 1];

	while (!atomic_load(&q->stop)) {
		int64_t now = _now_ms(), wake = now + 1000;
		nfds_t n = 0;

		if (now >= q->accept_pause) {
			pfd[n] = (struct pollfd) { .fd = q->fd, .events = POLLIN };
			polled[n++] = NULL;
		} else if (q->accept_pause < wake) {
			wake = q->accept_pause;
		}
		for (size_t i = 0; i < AIF_QUERY_CONNS_MAX; i++) {
			struct conn *c = &q->conns[i];
			int64_t due;

			if (c->state == CONN_FREE)
				continue;
			due = c->state == CONN_READING && !c->got &&
				c->first_byte_due < c->due ?
				c->first_byte_due : c->due;
			if (due <= now) {
				/* A reader too slow is told why; a writer too
				 * slow is not reading anyway. */
				if (c->state == CONN_READING)
					_refuse(c->fd, "request not read in time");
				else
					close(c->fd);
				c->fd = -1;
				_conn_close(c);
				continue;
			}
			if (due < wake)
				wake = due;
			pfd[n] = (struct pollfd) {
				.fd = c->fd,
				.events = c->state == CONN_READING ?
					POLLIN : POLLOUT,
			};
			polled[n++] = c;
		}
		if (poll(pfd, n, (int) (wake - now)) <= 0)
			continue;
		for (nfds_t i = 0; i < n; i++) {
			if (!pfd[i].revents)
				continue;
			if (!polled[i])
				_accept(q);
			else if (polled[i]->state == CONN_READING)
				_conn_read(q, polled[i]);
			else if (polled[i]->state == CONN_WRITING)
				_conn_write(polled[i]);
		}
	}
	for (size_t i = 0; i < AIF_QUERY_CONNS_MAX; i++)
		if (q->conns[i].state != CONN_FREE)
			_conn_close(&q->conns[i]);
	return NULL;
}

/* A listening socket on port: IPv6 and IPv4 where the host has IPv6. */
static int _listen(uint16_t port)
{
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6,
				   .sin6_port = htons(port),
				   .sin6_addr = IN6ADDR_ANY_INIT };
	struct sockaddr_in a4 = { .sin_family = AF_INET,
				  .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_ANY) };
	int one = 1, zero = 0, fd, err;

	/* Non-blocking: a connection gone between poll and accept must not
	 * hold the thread in accept. */
	fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd >= 0) {
		(void) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero,
				  sizeof(zero));
		(void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
				  sizeof(one));
		if (!bind(fd, (struct sockaddr *) &a6, sizeof(a6)) &&
		    !listen(fd, 64))
			return fd;
		err = errno;
		close(fd);
		if (err != EAFNOSUPPORT && err != EADDRNOTAVAIL) {
			errno = err;
			return -1;
		}
	}
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
			 0)) < 0)
		return -1;
	(void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *) &a4, sizeof(a4)) || listen(fd, 64)) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

struct aif_query *aif_query_start(uint16_t port, const char *munge_socket,
				  const struct aif_query_handlers *h,
				  char *why, size_t len)
{
	struct aif_query *q = calloc(1, sizeof(*q));
	int rc;

	why[0] = '\0';
	if (!q) {
		snprintf(why, len, "%s", strerror(errno));
		return NULL;
	}
	q->fd = -1;
	q->port = port;
	if (!(q->conns = calloc(AIF_QUERY_CONNS_MAX, sizeof(*q->conns)))) {
		snprintf(why, len, "%s", strerror(errno));
		goto fail;
	}
	for (size_t i = 0; i < AIF_QUERY_CONNS_MAX; i++)
		q->conns[i].fd = -1;
	q->h = *h;
	atomic_init(&q->stop, false);
	if (!(q->munge = _munge_ctx(munge_socket))) {
		snprintf(why, len, "cannot set up MUNGE (socket %s)",
			 munge_socket ? munge_socket : "default");
		goto fail;
	}
	if ((q->fd = _listen(port)) < 0) {
		snprintf(why, len, "cannot listen on port %u: %s",
			 (unsigned) port, strerror(errno));
		goto fail;
	}
	if ((rc = pthread_create(&q->thread, NULL, _serve, q))) {
		snprintf(why, len, "cannot start its thread: %s",
			 strerror(rc));
		goto fail;
	}
	return q;
fail:
	if (q->fd >= 0)
		close(q->fd);
	if (q->munge)
		munge_ctx_destroy(q->munge);
	free(q->conns);
	free(q);
	return NULL;
}

void aif_query_stop(struct aif_query *q)
{
	if (!q)
		return;
	atomic_store(&q->stop, true);
	pthread_join(q->thread, NULL);
	close(q->fd);
	munge_ctx_destroy(q->munge);
	free(q->conns);
	free(q);
}

uint16_t aif_query_port(const struct aif_query *q)
{
	return q ? q->port : 0;
}

/* ------------------------------------------------------------------ */
/* Client                                                                */

static int _connect(const char *host, uint16_t port, char *why, size_t len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	char service[8];
	int fd = -1, rc, err = 0;

	snprintf(service, sizeof(service), "%u", (unsigned) port);
	if ((rc = getaddrinfo(host, service, &hints, &res))) {
		snprintf(why, len, "%s: %s", host, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai && fd < 0; ai = ai->ai_next) {
		socklen_t elen = sizeof(err);

		/* Non-blocking: a host that is down costs the deadline, not
		 * the kernel's two minutes, before the next is tried. */
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
			    SOCK_NONBLOCK, ai->ai_protocol);
		if (fd < 0)
			continue;
		if (!connect(fd, ai->ai_addr, ai->ai_addrlen))
			break;
		err = errno;
		if (err == EINPROGRESS &&
		    !_wait(fd, POLLOUT, _now_ms() + AIF_QUERY_TIMEOUT_MS) &&
		    !getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) && !err)
			break;
		if (err == EINPROGRESS)
			err = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		snprintf(why, len, "cannot reach slurmctld at %s port %u: %s",
			 host, (unsigned) port, strerror(err ? err : EHOSTUNREACH));
	return fd;
}

/* Send payload with a credential to host:port, the answer to out. */
static int _ask(const char *host, uint16_t port, const char *munge_socket,
		uid_t server_uid, const char *payload, FILE *out,
		char *why, size_t len)
{
	char *cred = NULL, *answer = NULL;
	munge_ctx_t ctx = NULL;
	munge_err_t err;
	size_t got = 0;
	int fd = -1, rc = -1;

	/* Only slurmctld's user can decode it: whoever else holds the
	 * port while slurmctld does not learns nothing from it. */
	if (!(ctx = _munge_ctx(munge_socket)) ||
	    (server_uid != (uid_t) -1 &&
	     munge_ctx_set(ctx, MUNGE_OPT_UID_RESTRICTION, server_uid) !=
	     EMUNGE_SUCCESS)) {
		snprintf(why, len, "cannot set up MUNGE");
		goto out;
	}
	err = munge_encode(&cred, ctx, payload, (int) strlen(payload));
	if (err != EMUNGE_SUCCESS) {
		snprintf(why, len, "MUNGE: %s", munge_ctx_strerror(ctx));
		goto out;
	}
	if ((fd = _connect(host, port, why, len)) < 0)
		goto out;
	if (_write_all(fd, cred, strlen(cred)) || _write_all(fd, "\n", 1)) {
		snprintf(why, len, "slurmctld at %s port %u: %s", host,
			 (unsigned) port, strerror(errno));
		goto out;
	}
	if (!(answer = malloc(AIF_QUERY_ANSWER_MAX + 1)) ||
	    _read_until(fd, answer, AIF_QUERY_ANSWER_MAX + 1, false, &got)) {
		snprintf(why, len, "slurmctld at %s port %u: no answer: %s",
			 host, (unsigned) port, strerror(errno));
		goto out;
	}
	if (!strncmp(answer, "ok\n", 3)) {
		fputs(answer + 3, out);
		rc = 0;
	} else if (!strncmp(answer, "error ", 6)) {
		answer[strcspn(answer, "\n")] = '\0';
		snprintf(why, len, "%s", answer + 6);
	} else {
		snprintf(why, len, "slurmctld at %s port %u: not an answer",
			 host, (unsigned) port);
	}
out:
	if (fd >= 0)
		close(fd);
	free(answer);
	free(cred);
	if (ctx)
		munge_ctx_destroy(ctx);
	return rc;
}

int aif_query_ask(const char *host, uint16_t port, const char *munge_socket,
		  uid_t server_uid, const char *project, bool json, FILE *out,
		  char *why, size_t len)
{
	char payload[sizeof(JSON_MAGIC) + PROJECT_MAX];

	why[0] = '\0';
	if (project && (!project[0] || strlen(project) >= PROJECT_MAX)) {
		snprintf(why, len, "not a project name: %s", project);
		return -1;
	}
	snprintf(payload, sizeof(payload), "%s%s",
		 json ? JSON_MAGIC : PAYLOAD_MAGIC, project ? project : "-");
	return _ask(host, port, munge_socket, server_uid, payload, out, why,
		    len);
}

int aif_query_ask_priority(const char *host, uint16_t port,
			   const char *munge_socket, uid_t server_uid,
			   const struct aif_priority_ask *ask, FILE *out,
			   char *why, size_t len)
{
	char payload[sizeof(PRIORITY_MAGIC) + 2 * PROJECT_MAX + 16];

	why[0] = '\0';
	switch (ask->what) {
	case AIF_PRIORITY_CLASSES:
		snprintf(payload, sizeof(payload), "%sclasses", PRIORITY_MAGIC);
		break;
	case AIF_PRIORITY_PROJECT:
		snprintf(payload, sizeof(payload), "%sproject %s",
			 PRIORITY_MAGIC, ask->project);
		break;
	case AIF_PRIORITY_JOB:
		snprintf(payload, sizeof(payload), "%sjob %s %s %d",
			 PRIORITY_MAGIC, ask->klass, ask->project,
			 ask->fallback ? 1 : 0);
		break;
	}
	return _ask(host, port, munge_socket, server_uid, payload, out, why,
		    len);
}
