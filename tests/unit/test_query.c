/*
 * Unit tests of the balance service (common/query.c) against a munged of
 * its own: real queries are answered in time while others hold idle and
 * slow connections open, one address cannot take more than its share,
 * and the request parser says what it refuses.
 *
 * Needs root (munged's directories) and /usr/sbin/munged: skipped
 * without them.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "query.h"
#include "tap.h"

#define MUNGED "/usr/sbin/munged"

static char dir[] = "/tmp/aif-test-query.XXXXXX";
static char sock_path[128];
static pid_t munged_pid = -1;

static int64_t _now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A munged of our own, in dir (0755: munged wants its socket reachable). */
static int _start_munged(void)
{
	char key[128], pidf[128], logf[128], seed[128], cmd[1280];
	FILE *f;

	snprintf(sock_path, sizeof(sock_path), "%s/munge.socket", dir);
	snprintf(key, sizeof(key), "%s/munge.key", dir);
	snprintf(pidf, sizeof(pidf), "%s/munged.pid", dir);
	snprintf(logf, sizeof(logf), "%s/munged.log", dir);
	snprintf(seed, sizeof(seed), "%s/munged.seed", dir);
	if (chmod(dir, 0755))
		return -1;
	snprintf(cmd, sizeof(cmd),
		 "dd if=/dev/urandom of=%s bs=1024 count=1 status=none && "
		 "chmod 600 %s && " MUNGED " --key-file=%s --socket=%s "
		 "--pid-file=%s --log-file=%s --seed-file=%s",
		 key, key, key, sock_path, pidf, logf, seed);
	if (system(cmd) != 0)
		return -1;
	/* munged forks: its pid file says who to stop. */
	for (int i = 0; i < 50 && munged_pid < 0; i++) {
		long pid;

		if ((f = fopen(pidf, "r"))) {
			if (fscanf(f, "%ld", &pid) == 1)
				munged_pid = (pid_t) pid;
			fclose(f);
		}
		if (munged_pid < 0)
			usleep(100000);
	}
	return munged_pid > 0 ? 0 : -1;
}

static int _statement(uid_t uid, gid_t gid, const char *project, bool json,
		      FILE *out, char *why, size_t len, void *arg)
{
	(void) gid;
	(void) arg;
	if (project && !strcmp(project, "nosuch")) {
		snprintf(why, len, "no project %s that you are a member of",
			 project);
		return -1;
	}
	fprintf(out, "%sstatement for %u: %s\n", json ? "JSON " : "",
		(unsigned) uid, project ? project : "every project");
	return 0;
}

/* A TCP connection to 127.0.0.1:port from source (NULL: any), or -1. */
static int _connect(uint16_t port, const char *source)
{
	struct sockaddr_in to = { .sin_family = AF_INET,
				  .sin_port = htons(port) };
	struct sockaddr_in from = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
	if (fd < 0)
		return -1;
	if (source && (inet_pton(AF_INET, source, &from.sin_addr) != 1 ||
		       bind(fd, (struct sockaddr *) &from, sizeof(from)))) {
		close(fd);
		return -1;
	}
	if (connect(fd, (struct sockaddr *) &to, sizeof(to))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* What the server says on fd within ms (until it closes), NUL-ended. */
static const char *_read_answer(int fd, int ms, char *buf, size_t size)
{
	int64_t deadline = _now_ms() + ms;
	size_t got = 0;

	buf[0] = '\0';
	while (got + 1 < size) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int64_t left = deadline - _now_ms();
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int) left) <= 0)
			break;
		if ((n = recv(fd, buf + got, size - 1 - got, 0)) <= 0)
			break;
		buf[got += (size_t) n] = '\0';
	}
	return buf;
}

/* A port nobody listens on now. */
static uint16_t _free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	uint16_t port = 0;

	if (fd >= 0 && !bind(fd, (struct sockaddr *) &a, sizeof(a)) &&
	    !getsockname(fd, (struct sockaddr *) &a, &len))
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/*
 * The pressure a port scanner or a hostile user can put on the service:
 * IDLE connections that never send a byte, and one that sends a byte a
 * second, each opened again as soon as the server closes it.
 */
#define IDLE 2
static struct {
	uint16_t port;
	atomic_bool stop;
	atomic_int reopened;
} pressure;

static void *_press(void *arg)
{
	int fds[IDLE + 1], loris;
	int64_t next_byte = 0;

	(void) arg;
	for (int i = 0; i <= IDLE; i++)
		fds[i] = _connect(pressure.port, NULL);
	loris = IDLE;
	while (!atomic_load(&pressure.stop)) {
		struct pollfd pfd[IDLE + 1];

		for (int i = 0; i <= IDLE; i++)
			pfd[i] = (struct pollfd) { .fd = fds[i], .events = POLLIN };
		(void) poll(pfd, IDLE + 1, 50);
		for (int i = 0; i <= IDLE; i++) {
			char buf[256];

			if (fds[i] >= 0 && !(pfd[i].revents & (POLLIN | POLLHUP |
							      POLLERR)))
				continue;
			if (fds[i] >= 0 && recv(fds[i], buf, sizeof(buf),
						MSG_DONTWAIT) > 0)
				continue;	/* the error line; EOF next */
			if (fds[i] >= 0)
				close(fds[i]);
			fds[i] = _connect(pressure.port, NULL);
			atomic_fetch_add(&pressure.reopened, 1);
		}
		if (fds[loris] >= 0 && _now_ms() >= next_byte) {
			(void) send(fds[loris], "M", 1, MSG_NOSIGNAL);
			next_byte = _now_ms() + 1000;
		}
	}
	for (int i = 0; i <= IDLE; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return NULL;
}

/* Real queries while idle and slow connections are held open. */
static void test_idle_connections(uint16_t port)
{
	char why[600], *text = NULL;
	size_t tlen = 0;
	int answered = 0, worst = 0;
	pthread_t thread;
	FILE *out;

	pressure.port = port;
	atomic_init(&pressure.stop, false);
	atomic_init(&pressure.reopened, 0);
	if (pthread_create(&thread, NULL, _press, NULL)) {
		ok(0, "the pressure thread starts");
		return;
	}
	usleep(200000);	/* the idle connections are in */
	for (int i = 0; i < 10; i++) {
		int64_t t0 = _now_ms();
		int ms;

		out = open_memstream(&text, &tlen);
		if (!aif_query_ask("127.0.0.1", port, sock_path, (uid_t) -1,
				   i % 2 ? "p" : NULL, false, out, why,
				   sizeof(why)))
			answered++;
		else
			printf("# query %d: %s\n", i, why);
		fclose(out);
		ms = (int) (_now_ms() - t0);
		if (ms > worst)
			worst = ms;
		free(text);
		text = NULL;
		usleep(250000);	/* 10 queries over ~3 s: past every deadline */
	}
	atomic_store(&pressure.stop, true);
	pthread_join(thread, NULL);
	is_int(answered, 10, "2 idle connections and a slow one held open: "
	       "10 real queries of 10 answered");
	ok(worst < 1000, "each within a second (the slowest took %d ms)",
	   worst);
	ok(atomic_load(&pressure.reopened) >= IDLE + 1,
	   "the idle and slow connections were closed by the server "
	   "(and opened again: %d times)", atomic_load(&pressure.reopened));
}

/* One address holds at most its share: the next is refused at once, and
 * another address is still answered. */
static void test_address_cap(uint16_t port)
{
	int fds[AIF_QUERY_PER_ADDRESS_MAX], extra, held = 0;
	char buf[256], why[600], *text = NULL;
	size_t tlen = 0;
	int64_t t0;
	FILE *out;

	for (int i = 0; i < AIF_QUERY_PER_ADDRESS_MAX; i++)
		if ((fds[i] = _connect(port, "127.0.0.2")) >= 0)
			held++;
	is_int(held, AIF_QUERY_PER_ADDRESS_MAX,
	       "%d idle connections from 127.0.0.2", AIF_QUERY_PER_ADDRESS_MAX);
	usleep(100000);
	t0 = _now_ms();
	extra = _connect(port, "127.0.0.2");
	ok(extra >= 0, "one more connects (the kernel accepts it)");
	if (extra >= 0) {
		is_str(_read_answer(extra, 900, buf, sizeof(buf)),
		       "error too many connections from your address (at most "
		       "8 at once)\n", "and the server refuses it");
		ok(_now_ms() - t0 < 500, "at once (%d ms)", (int) (_now_ms() - t0));
		close(extra);
	}
	out = open_memstream(&text, &tlen);
	ok(!aif_query_ask("127.0.0.1", port, sock_path, (uid_t) -1, NULL,
			  false, out, why, sizeof(why)),
	   "another address is answered meanwhile");
	fclose(out);
	like(text, "statement for 0: every project", "with its statement");
	free(text);
	for (int i = 0; i < AIF_QUERY_PER_ADDRESS_MAX; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* A peer that never sends a byte is closed after the first-byte
 * deadline, and told why. */
static void test_first_byte(uint16_t port)
{
	char buf[256];
	int64_t t0 = _now_ms();
	int fd = _connect(port, NULL);

	is_str(_read_answer(fd, AIF_QUERY_TIMEOUT_MS + 1000, buf, sizeof(buf)),
	       "error request not read in time\n",
	       "an idle connection is told why it is closed");
	ok(_now_ms() - t0 < AIF_QUERY_FIRST_BYTE_MS + 500,
	   "after the first byte's deadline (%d ms)", (int) (_now_ms() - t0));
	if (fd >= 0)
		close(fd);
}

/* What the server answers a raw request line. */
static const char *_raw(uint16_t port, const char *request, char *buf,
			size_t size)
{
	int fd = _connect(port, NULL);

	buf[0] = '\0';
	if (fd < 0)
		return buf;
	(void) send(fd, request, strlen(request), MSG_NOSIGNAL);
	_read_answer(fd, 2000, buf, size);
	close(fd);
	return buf;
}

static void test_refusals(uint16_t port)
{
	char buf[512], why[600], *text = NULL, *big;
	size_t tlen = 0;
	FILE *out;

	is_str(_raw(port, "GET / HTTP/1.0\r\n\r\n", buf, sizeof(buf)),
	       "error credential refused: not a MUNGE credential\n",
	       "a request that is not a credential is refused at once");
	like(_raw(port, "MUNGE:AAAA:\n", buf, sizeof(buf)),
	     "error credential refused: Invalid credential",
	     "a forged credential: munged's reason");
	big = malloc(AIF_QUERY_REQUEST_MAX + 16);
	memset(big, 'A', AIF_QUERY_REQUEST_MAX + 15);
	memcpy(big, "MUNGE:", 6);
	big[AIF_QUERY_REQUEST_MAX + 15] = '\0';
	is_str(_raw(port, big, buf, sizeof(buf)),
	       "error request refused: longer than 4095 bytes\n",
	       "a request too long is refused");
	free(big);

	out = open_memstream(&text, &tlen);
	ok(aif_query_ask("127.0.0.1", port, sock_path, (uid_t) -1, "nosuch",
			 false, out, why, sizeof(why)), "the server's refusal");
	is_str(why, "no project nosuch that you are a member of",
	       "comes back as why");
	ok(aif_query_ask("127.0.0.1", port, sock_path, (uid_t) -1,
			 "\xc3\xa9quipe", true, out, why, sizeof(why)),
	   "a name no project can have");
	is_str(why, "no project \xc3\xa9quipe that you are a member of",
	       "reads the same, its UTF-8 kept");
	fclose(out);
	free(text);
	text = NULL;
	out = open_memstream(&text, &tlen);
	ok(!aif_query_ask("127.0.0.1", port, sock_path, (uid_t) -1, "p", true,
			  out, why, sizeof(why)), "a query for JSON");
	fclose(out);
	like(text, "JSON statement for 0: p\n",
	     "is answered by the handler asked for JSON");
	free(text);
}

/* The parser, without a server. */
static void test_parser(void)
{
	char why[256], project[AIF_QUERY_PROJECT_MAX];
	bool json = true;
	size_t n = 99;

	is_int(aif_query_parse_request("MUNGE:abc", 9, &n, why, sizeof(why)), 0,
	       "parse: no newline yet, more is needed");
	is_int(aif_query_parse_request("MUNGE:abc:\nrest", 15, &n, why, sizeof(why)), 1,
	       "a whole line");
	is_int(n, 10, "the credential without its newline");
	is_int(aif_query_parse_request("MUN", 3, &n, why, sizeof(why)), 0,
	       "a prefix of MUNGE: waits");
	is_int(aif_query_parse_request("MUNGX", 5, &n, why, sizeof(why)), -1,
	       "anything else is refused before its newline");
	is_str(why, "credential refused: not a MUNGE credential", "why");
	is_int(aif_query_parse_request("\n", 1, &n, why, sizeof(why)), -1,
	       "an empty line is refused");
	is_int(aif_query_parse_request("MUNGE:a\0b\n", 10, &n, why, sizeof(why)), -1,
	       "a NUL is refused");

#define PAYLOAD(s) s, sizeof(s) - 1
	is_int(aif_query_parse_payload(PAYLOAD("aifactory-balance 1 -"), project, &json,
				       why, sizeof(why)), 0, "payload: every project");
	is_str(project, "", "as an empty name");
	ok(!json, "as text");
	is_int(aif_query_parse_payload(PAYLOAD("aifactory-balance-json 1 p"), project,
				       &json, why, sizeof(why)), 0, "payload: JSON");
	ok(json && !strcmp(project, "p"), "of one project, as JSON");
	is_int(aif_query_parse_payload(PAYLOAD("aifactory-balance-json 1 -"), project,
				       &json, why, sizeof(why)), 0, "of every project");
	is_int(aif_query_parse_payload(PAYLOAD("aifactory-balance-json 1 "), project,
				       &json, why, sizeof(why)), -1,
	       "JSON of no project at all");
	is_int(aif_query_parse_payload(PAYLOAD("aifactory-balance-json 2 p"), project,
				       &json, why, sizeof(why)), -1,
	       "JSON of another version");
	is_str(why, "not a balance query", "is not a balance query");
	is_int(aif_query_parse_payload(PAYLOAD("aifactory-balance 1 ehpc-aif-2026l01-042"),
				       project, &json, why, sizeof(why)), 0, "one project");
	is_str(project, "ehpc-aif-2026l01-042", "named");
	is_int(aif_query_parse_payload(PAYLOAD("aifactory-balance 2 p"), project, &json,
				       why, sizeof(why)), -1, "another version");
	is_str(why, "not a balance query", "is not a balance query");
	is_int(aif_query_parse_payload(PAYLOAD("aifactory-balance 1 "), project, &json,
				       why, sizeof(why)), -1, "no project at all");
	is_int(aif_query_parse_payload(PAYLOAD("aifactory-balance 1 a\x1b[2Jb"), project, &json,
				       why, sizeof(why)), -1, "a control character");
	is_str(why, "not a balance query", "is never echoed");
	is_int(aif_query_parse_payload(PAYLOAD("aifactory-balance 1 \xc3("), project, &json,
				       why, sizeof(why)), -1, "invalid UTF-8");
	is_str(why, "not a balance query", "is never echoed either");
	is_int(aif_query_parse_payload(PAYLOAD("aifactory-balance 1 Bobs"), project, &json,
				       why, sizeof(why)), -1, "uppercase is no project name");
	is_str(why, "no project Bobs that you are a member of", "and reads as such");
	is_int(aif_query_parse_payload(PAYLOAD("aifactory-balance 1 "
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
				       project, &json, why, sizeof(why)), -1,
	       "64 characters are too many");

	{
		struct aif_priority_ask a;

		is_int(aif_query_parse_priority(PAYLOAD("aifactory-balance 1 -"), &a,
						why, sizeof(why)), 0,
		       "priority: a balance query is not one");
		is_int(aif_query_parse_priority(PAYLOAD("aifactory-priority 1 classes"),
						&a, why, sizeof(why)), 1, "classes");
		ok(a.what == AIF_PRIORITY_CLASSES, "as classes");
		is_int(aif_query_parse_priority(PAYLOAD("aifactory-priority 1 project acme-ai"),
						&a, why, sizeof(why)), 1, "a project");
		ok(a.what == AIF_PRIORITY_PROJECT && !strcmp(a.project, "acme-ai"),
		   "named");
		is_int(aif_query_parse_priority(PAYLOAD("aifactory-priority 1 job Startup acme-ai 1"),
						&a, why, sizeof(why)), 1, "a job");
		ok(a.what == AIF_PRIORITY_JOB && !strcmp(a.klass, "Startup") &&
		   !strcmp(a.project, "acme-ai") && a.fallback,
		   "class (any case), project, on the fallback QOS");
		is_int(aif_query_parse_priority(PAYLOAD("aifactory-priority 1 job c p 0"),
						&a, why, sizeof(why)), 1, "not on it");
		ok(!a.fallback, "fallback 0");
		is_int(aif_query_parse_priority(PAYLOAD("aifactory-priority 1 project Acme"),
						&a, why, sizeof(why)), -1,
		       "an uppercase project is refused");
		is_str(why, "not a priority query", "in few words");
		is_int(aif_query_parse_priority(PAYLOAD("aifactory-priority 1 job c p 2"),
						&a, why, sizeof(why)), -1, "fallback 2 is refused");
		is_int(aif_query_parse_priority(PAYLOAD("aifactory-priority 1 job c p 0 "),
						&a, why, sizeof(why)), -1, "a trailing space is refused");
		is_int(aif_query_parse_priority(PAYLOAD("aifactory-priority 1 job c  p 0"),
						&a, why, sizeof(why)), -1, "two spaces are refused");
		is_int(aif_query_parse_priority(PAYLOAD("aifactory-priority 1 project a\x1b[2J"),
						&a, why, sizeof(why)), -1, "a control character is refused");
		is_int(aif_query_parse_priority(PAYLOAD("aifactory-priority 1 classes\n"),
						&a, why, sizeof(why)), -1, "anything after classes is refused");
	}
#undef PAYLOAD
}

int main(void)
{
	static const struct aif_query_handlers handlers = {
		.balance = _statement,
	};
	struct aif_query *q;
	char why[600];
	uint16_t port;

	signal(SIGPIPE, SIG_IGN);
	test_parser();
	if (geteuid() != 0 || access(MUNGED, X_OK)) {
		printf("# SKIP the service's tests: they need root and " MUNGED "\n");
		return done();
	}
	if (!mkdtemp(dir) || _start_munged()) {
		printf("Bail out! cannot start munged in %s\n", dir);
		return 1;
	}
	port = _free_port();
	q = aif_query_start(port, sock_path, &handlers, why, sizeof(why));
	ok(q != NULL, "the service listens on port %u", (unsigned) port);
	if (q) {
		test_idle_connections(port);
		test_address_cap(port);
		test_first_byte(port);
		test_refusals(port);
		aif_query_stop(q);
	}
	if (munged_pid > 0)
		kill(munged_pid, SIGTERM);
	usleep(200000);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			return 1;
	}
	return done();
}
