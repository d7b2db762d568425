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

#define PAYLOAD_MAGIC "aifactory-balance 1 "
#define PROJECT_MAX 64	/* a project name's bytes, NUL included */

struct aif_query {
	int fd;
	uint16_t port;
	munge_ctx_t munge;
	aif_query_fn fn;
	void *arg;
	pthread_t thread;
	atomic_bool stop;
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
/* Server                                                                */

/* The project a payload asks about: "" for every one; -1 if malformed. */
static int _payload_project(const char *payload, int len, char *project)
{
	size_t magic = strlen(PAYLOAD_MAGIC), n;

	if (len < 0 || (size_t) len <= magic ||
	    memcmp(payload, PAYLOAD_MAGIC, magic))
		return -1;
	n = (size_t) len - magic;
	if (n >= PROJECT_MAX || memchr(payload + magic, '\0', n))
		return -1;
	memcpy(project, payload + magic, n);
	project[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (project[i] <= ' ' || project[i] > '~')
			return -1;
	if (!strcmp(project, "-"))
		project[0] = '\0';
	return 0;
}

/* One connection: a credential in, an answer out. */
static void _answer(struct aif_query *q, int fd)
{
	char request[AIF_QUERY_REQUEST_MAX], project[PROJECT_MAX];
	char why[512] = "", *text = NULL;
	void *payload = NULL;
	size_t len, tlen = 0;
	int plen = 0;
	uid_t uid;
	gid_t gid;
	munge_err_t err;
	FILE *out;

	if (_read_until(fd, request, sizeof(request), true, &len)) {
		snprintf(why, sizeof(why), "request not read: %s",
			 strerror(errno));
		goto reply;
	}
	request[strcspn(request, "\n")] = '\0';
	err = munge_decode(request, q->munge, &payload, &plen, &uid, &gid);
	if (err != EMUNGE_SUCCESS) {
		snprintf(why, sizeof(why), "credential refused: %s",
			 munge_strerror(err));
		goto reply;
	}
	if (_payload_project(payload, plen, project)) {
		snprintf(why, sizeof(why), "not a balance query");
		goto reply;
	}
	if (!(out = open_memstream(&text, &tlen))) {
		snprintf(why, sizeof(why), "%s", strerror(errno));
		goto reply;
	}
	fputs("ok\n", out);
	if (q->fn(uid, gid, project[0] ? project : NULL, out, why,
		  sizeof(why), q->arg) && !why[0])
		snprintf(why, sizeof(why), "no answer");
	if (fclose(out) && !why[0])
		snprintf(why, sizeof(why), "%s", strerror(errno));
reply:
	if (!why[0] && tlen < AIF_QUERY_ANSWER_MAX) {
		(void) _write_all(fd, text, tlen);
	} else {
		char line[600];
		int n = snprintf(line, sizeof(line), "error %s\n",
				 why[0] ? why : "the answer is too long");

		(void) _write_all(fd, line, (size_t) n < sizeof(line) ?
				  (size_t) n : sizeof(line) - 1);
	}
	free(text);
	free(payload);
}

static void *_serve(void *arg)
{
	struct aif_query *q = arg;

	while (!atomic_load(&q->stop)) {
		struct pollfd pfd = { .fd = q->fd, .events = POLLIN };
		int fd;

		if (poll(&pfd, 1, 1000) <= 0)
			continue;
		/* Non-blocking, so that every read and write keeps to its
		 * deadline whatever the peer does. */
		fd = accept4(q->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				(void) poll(NULL, 0, 100);	/* EMFILE... */
			continue;
		}
		_answer(q, fd);
		close(fd);
	}
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
				  aif_query_fn fn, void *arg,
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
	q->fn = fn;
	q->arg = arg;
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

int aif_query_ask(const char *host, uint16_t port, const char *munge_socket,
		  uid_t server_uid, const char *project, FILE *out,
		  char *why, size_t len)
{
	char payload[sizeof(PAYLOAD_MAGIC) + PROJECT_MAX], *cred = NULL;
	char *answer = NULL;
	munge_ctx_t ctx = NULL;
	munge_err_t err;
	size_t got = 0;
	int fd = -1, rc = -1;

	why[0] = '\0';
	if (project && (!project[0] || strlen(project) >= PROJECT_MAX)) {
		snprintf(why, len, "not a project name: %s", project);
		return -1;
	}
	snprintf(payload, sizeof(payload), "%s%s", PAYLOAD_MAGIC,
		 project ? project : "-");
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
