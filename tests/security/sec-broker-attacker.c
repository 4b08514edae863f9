/* SPDX-License-Identifier: MIT */
/*
 * sec-broker-attacker - what a hostile local user does to xpcd, run by the
 * security tests as an unprivileged uid (harness_become) against a root
 * broker.  Every command prints its outcome on stdout, one fact a line.
 *
 *   sec-broker-attacker request SOCK OP [KEY=VALUE]...
 *         one broker request { "xpcd.op": OP, KEY: VALUE } (signal=N and
 *         pid=N are integers, kill=1 a boolean, the rest strings); prints "ok" or
 *         "error: TEXT", then the reply as JSON; "no reply: WHY" (exit 3)
 *         when none came within 10 s; "connect: ERROR" (exit 4)
 *   sec-broker-attacker send SOCK NAME
 *         a named connection to NAME through the broker SOCK (check-in),
 *         one echo request: "reply", or "error: REASON" and "in T s"
 *         (the time from the lookup to the error) (exit 3)
 *   sec-broker-attacker connect SOCK
 *         "connected", or "connect: ERROR" (exit 4)
 *   sec-broker-attacker silent SOCK N SECONDS
 *         opens up to N links (a full backlog is retried, for 2 s without
 *         progress at most) and says nothing on them; prints "opened K"
 *         at once, then watches them for SECONDS (or until all are
 *         closed) and prints "closed C refused R" (R: closed after a
 *         message naming a limit), then holds the rest until killed
 *   sec-broker-attacker monitors SOCK N
 *         N links, each asking to be a monitor; prints "monitors K" (K
 *         the number answered "ok") and holds them until killed
 *   sec-broker-attacker fill SOCK NAME SECONDS
 *         for SECONDS asks the broker to check in links of its own to
 *         NAME (the checkin op: all a user gets who may not hold NAME's
 *         W), 64 requests in flight, each with a fresh link (held while
 *         descriptors last, then closed at once); prints "sent S answered
 *         A forwarded F refused R lost L" at the end
 *   sec-broker-attacker hold PATH N
 *         N stream connections to the socket at PATH (an inetd job's),
 *         nothing sent, nothing read; prints "held K", then holds them
 *         until killed
 *   sec-broker-attacker talk PATH LINE
 *         one stream connection to PATH: writes LINE and a newline,
 *         prints what comes back within 10 s ("" if nothing)
 *   sec-broker-attacker hostile SOCK
 *         garbage packets, an empty one, a header announcing more than it
 *         carries, 253 descriptors with a request, a 32 MiB request, and
 *         2000 requests whose replies it never reads; prints "done"
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <xpc/xpc.h>

#include "connection/connection.h"
#include "object/object.h"
#include "transport/unix/unix.h"
#include "wire/wire.h"
#include "shared/xpcd-protocol.h"

#define MAX_SILENT 4096

static int raw_connect(const char *path, bool nonblock)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

static xpc_connection_t broker_link(const char *path)
{
	int fd = raw_connect(path, false);
	xpc_connection_t c;

	if (fd < 0) {
		printf("connect: %s\n", strerror(errno));
		exit(4);
	}
	c = connection_create_from_socket(fd, NULL);
	if (!c)
		exit(4);
	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) { (void)ev; });
	xpc_connection_resume(c);
	return c;
}

static int cmd_request(const char *path, const char *op, int n, char **kv)
{
	xpc_connection_t c = broker_link(path);
	xpc_object_t req = xpc_dictionary_create(NULL, NULL, 0);
	dispatch_semaphore_t done = dispatch_semaphore_create(0);
	__block xpc_object_t reply = NULL;

	xpc_dictionary_set_string(req, XPCD_KEY_OP, op);
	for (int i = 0; i < n; i++) {
		char *eq = strchr(kv[i], '=');
		if (!eq)
			continue;
		*eq = 0;
		if (!strcmp(kv[i], "signal") || !strcmp(kv[i], "pid"))
			xpc_dictionary_set_int64(req, kv[i], atoi(eq + 1));
		else if (!strcmp(kv[i], "kill"))
			xpc_dictionary_set_bool(req, kv[i], atoi(eq + 1) != 0);
		else
			xpc_dictionary_set_string(req, kv[i], eq + 1);
	}
	xpc_connection_send_message_with_reply(c, req, dispatch_get_global_queue(0, 0), ^(xpc_object_t r) {
		reply = xpc_retain(r);
		dispatch_semaphore_signal(done);
	});
	if (dispatch_semaphore_wait(done, dispatch_time(DISPATCH_TIME_NOW, 10 * NSEC_PER_SEC)) != 0) {
		printf("no reply: none within 10 s\n");
		fflush(stdout);
		_exit(3);
	}
	if (xpc_get_type(reply) != XPC_TYPE_DICTIONARY) {
		char *why = xpc_connection_copy_invalidation_reason(c);
		printf("no reply: %s\n", why ? why : "connection lost");
		fflush(stdout);
		_exit(3);
	}
	const char *err = xpc_dictionary_get_string(reply, XPCD_KEY_ERROR);
	char *json = xpc_linux_copy_json(reply, 0);
	printf("%s%s\n%s\n", err ? "error: " : "ok", err ? err : "", json ? json : "{}");
	fflush(stdout);
	_exit(0);
}

static int cmd_monitors(const char *path, int n)
{
	dispatch_semaphore_t done = dispatch_semaphore_create(0);
	__block int ok = 0;

	for (int i = 0; i < n; i++) {
		xpc_connection_t c = broker_link(path); /* held until killed */
		xpc_object_t req = xpc_dictionary_create(NULL, NULL, 0);
		xpc_dictionary_set_string(req, XPCD_KEY_OP, XPCD_OP_MONITOR);
		xpc_connection_send_message_with_reply(c, req, dispatch_get_global_queue(0, 0), ^(xpc_object_t r) {
			if (xpc_get_type(r) == XPC_TYPE_DICTIONARY && xpc_dictionary_get_bool(r, XPCD_KEY_OK))
				__atomic_fetch_add(&ok, 1, __ATOMIC_SEQ_CST);
			dispatch_semaphore_signal(done);
		});
		xpc_release(req);
	}
	for (int i = 0; i < n; i++)
		if (dispatch_semaphore_wait(done, dispatch_time(DISPATCH_TIME_NOW, 10 * NSEC_PER_SEC)) != 0)
			break;
	printf("monitors %d\n", __atomic_load_n(&ok, __ATOMIC_SEQ_CST));
	fflush(stdout);
	for (;;)
		pause();
}

static double now_s(void);

static int cmd_send(const char *path, const char *name)
{
	xpc_connection_t c;
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0), r;
	double t0 = now_s();

	setenv("XPCD_SOCKET", path, 1);
	c = xpc_connection_create_mach_service(name, NULL, 0);
	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) { (void)ev; });
	xpc_connection_resume(c);
	xpc_dictionary_set_string(m, "op", "echo");
	xpc_dictionary_set_int64(m, "value", 1);
	r = xpc_connection_send_message_with_reply_sync(c, m);
	if (xpc_get_type(r) == XPC_TYPE_DICTIONARY) {
		printf("reply\n");
		fflush(stdout);
		_exit(0);
	}
	char *why = xpc_connection_copy_invalidation_reason(c);
	printf("error: %s\nin %.3f s\n", why ? why : "interrupted", now_s() - t0);
	fflush(stdout);
	_exit(3);
}

static int cmd_connect(const char *path)
{
	int fd = raw_connect(path, false);

	if (fd < 0) {
		printf("connect: %s\n", strerror(errno));
		return 4;
	}
	printf("connected\n");
	close(fd);
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A link the broker closed: readable with its last message, then EOF. */
static bool link_closed(int fd, bool *ret_refused)
{
	char buf[4096];

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0) {
			if (memmem(buf, (size_t)n, "limit exceeded", 14))
				*ret_refused = true;
			continue;
		}
		return n == 0 || (errno != EAGAIN && errno != EINTR);
	}
}

static int cmd_silent(const char *path, int want, double seconds)
{
	static struct pollfd p[MAX_SILENT];
	int n = 0, closed = 0, refused = 0;
	double end;

	end = now_s() + 2;
	while (n < want && n < MAX_SILENT && now_s() < end) {
		int fd = raw_connect(path, true);
		if (fd < 0 && errno == EAGAIN) { /* the backlog is full: the broker may still take them */
			usleep(10 * 1000);
			continue;
		}
		if (fd < 0)
			break; /* out of descriptors */
		p[n++] = (struct pollfd){.fd = fd, .events = POLLIN};
		end = now_s() + 2; /* gives up after 2 s without progress */
	}
	printf("opened %d\n", n);
	fflush(stdout);
	end = now_s() + seconds;
	while (closed < n && now_s() < end) {
		if (poll(p, (nfds_t)n, 100) <= 0)
			continue;
		for (int i = 0; i < n; i++) {
			bool refused_one = false;
			if (p[i].fd < 0 || !p[i].revents || !link_closed(p[i].fd, &refused_one))
				continue;
			close(p[i].fd);
			p[i].fd = -1;
			closed++;
			refused += refused_one;
		}
	}
	printf("closed %d refused %d\n", closed, refused);
	fflush(stdout);
	for (;;)
		pause();
}

static void send_raw(int fd, const void *buf, size_t len)
{
	(void)!send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* Packets no decoder should take: random bytes, nothing, a header that
 * announces a body it does not carry, a valid header with garbage. */
static void hostile_garbage(const char *path)
{
	static uint8_t buf[70000];
	int fd = raw_connect(path, true);
	FrameHeader h = {.magic = FRAME_MAGIC, .kind = FRAME_MESSAGE, .flags = FRAME_F_WANTS_REPLY, .id = 1};

	if (fd < 0)
		return;
	srand(42);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rand();
	send_raw(fd, "", 0);
	send_raw(fd, buf, 7);
	send_raw(fd, buf, sizeof(buf));
	h.body_len = 1u << 30;
	send_raw(fd, &h, sizeof(h));
	close(fd);
	fd = raw_connect(path, true);
	if (fd < 0)
		return;
	h.body_len = 64;
	memcpy(buf, &h, sizeof(h));
	send_raw(fd, buf, sizeof(h) + 64);
	close(fd);
}

/* A request with 253 descriptors beside it. */
static void hostile_fds(const char *path)
{
	int fd = raw_connect(path, true), fds[FRAME_MAX_FDS];
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0);
	WireBuffer body = {0};
	WireFds wfds = {0};
	FrameHeader h = {.kind = FRAME_MESSAGE, .flags = FRAME_F_WANTS_REPLY, .id = 1};

	xpc_dictionary_set_string(m, XPCD_KEY_OP, XPCD_OP_LIST);
	for (size_t i = 0; i < FRAME_MAX_FDS; i++)
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && wire_encode_message(m, &body, &wfds) == 0)
		transport_send(fd, &h, body.data, body.len, fds, FRAME_MAX_FDS);
	for (size_t i = 0; i < FRAME_MAX_FDS; i++)
		close(fds[i]);
	wire_buffer_free(&body);
	wire_fds_free(&wfds);
	xpc_release(m);
	if (fd >= 0) {
		usleep(100 * 1000);
		close(fd);
	}
}

/* A 32 MiB request, and 2000 requests whose replies are never read. */
static void hostile_large(const char *path)
{
	xpc_connection_t c = broker_link(path);
	size_t size = 32u << 20;
	void *big = calloc(1, size);
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0);

	xpc_dictionary_set_string(m, XPCD_KEY_OP, XPCD_OP_LIST);
	if (big)
		xpc_dictionary_set_data(m, "pad", big, size);
	free(big);
	xpc_release(xpc_connection_send_message_with_reply_sync(c, m));
	xpc_release(m);
	xpc_connection_cancel(c);
	xpc_release(c);

	int fd = raw_connect(path, true);
	m = xpc_dictionary_create(NULL, NULL, 0);
	xpc_dictionary_set_string(m, XPCD_KEY_OP, XPCD_OP_LIST);
	WireBuffer body = {0};
	WireFds wfds = {0};
	if (fd >= 0 && wire_encode_message(m, &body, &wfds) == 0)
		for (uint64_t i = 1; i <= 2000; i++) {
			FrameHeader h = {.kind = FRAME_MESSAGE, .flags = FRAME_F_WANTS_REPLY, .id = i};
			if (transport_send(fd, &h, body.data, body.len, NULL, 0) == -EAGAIN)
				usleep(1000);
		}
	wire_buffer_free(&body);
	wire_fds_free(&wfds);
	xpc_release(m);
	usleep(300 * 1000);
	if (fd >= 0)
		close(fd);
}

static int stream_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int cmd_hold(const char *path, int n)
{
	int held = 0;

	for (int i = 0; i < n; i++)
		held += stream_connect(path) >= 0;
	printf("held %d\n", held);
	fflush(stdout);
	for (;;)
		pause();
}

static int cmd_talk(const char *path, const char *text)
{
	char buf[512];
	size_t got = 0;
	ssize_t n;
	int fd = stream_connect(path);
	double end = now_s() + 10;

	if (fd < 0) {
		printf("connect: %s\n", strerror(errno));
		return 4;
	}
	(void)!write(fd, text, strlen(text));
	(void)!write(fd, "\n", 1);
	while (got + 1 < sizeof(buf) && now_s() < end &&
	       poll(&(struct pollfd){.fd = fd, .events = POLLIN}, 1, 100) >= 0) {
		n = recv(fd, buf + got, sizeof(buf) - 1 - got, MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN))
			break;
		if (n > 0)
			got += (size_t)n;
	}
	buf[got] = 0;
	printf("%s", buf);
	fflush(stdout);
	close(fd);
	return 0;
}

#define FILL_WINDOW 64 /* check-in requests in flight on one broker link */

typedef struct FillCounts {
	long answered, forwarded, refused, lost;
} FillCounts;

/* { "xpcd.op": "checkin", "name": @name, "link": the far end of a new
 * link of this process's } on @c, counted in @n when answered; @room is
 * signalled then.  Our end is held while descriptors last. */
static bool fill_one(xpc_connection_t c, const char *name, FillCounts *n, dispatch_semaphore_t room)
{
	xpc_object_t m;
	int sv[2];

	if (unix_link_pair(sv) != 0)
		return false;
	m = xpc_dictionary_create(NULL, NULL, 0);
	xpc_dictionary_set_string(m, XPCD_KEY_OP, XPCD_OP_CHECKIN);
	xpc_dictionary_set_string(m, XPCD_KEY_NAME, name);
	xpc_dictionary_set_fd(m, XPCD_KEY_LINK, sv[1]);
	close(sv[1]);
	if (sv[0] > 900) /* descriptors last: the rest close at once */
		close(sv[0]);
	xpc_connection_send_message_with_reply(c, m, dispatch_get_global_queue(0, 0), ^(xpc_object_t r) {
		if (xpc_get_type(r) != XPC_TYPE_DICTIONARY)
			__atomic_fetch_add(&n->lost, 1, __ATOMIC_SEQ_CST);
		else if (xpc_dictionary_get_bool(r, XPCD_KEY_FORWARDED))
			__atomic_fetch_add(&n->forwarded, 1, __ATOMIC_SEQ_CST);
		else
			__atomic_fetch_add(&n->refused, 1, __ATOMIC_SEQ_CST);
		__atomic_fetch_add(&n->answered, xpc_get_type(r) == XPC_TYPE_DICTIONARY, __ATOMIC_SEQ_CST);
		dispatch_semaphore_signal(room);
	});
	xpc_release(m);
	return true;
}

/* For @seconds, check-ins of links of its own to @name through the
 * broker's checkin op, FILL_WINDOW in flight (a new broker link when one
 * ends); prints "sent S answered A forwarded F refused R lost L". */
static int cmd_fill(const char *path, const char *name, double seconds)
{
	static FillCounts n;
	xpc_connection_t c = broker_link(path);
	dispatch_semaphore_t room = dispatch_semaphore_create(FILL_WINDOW);
	long sent = 0, lost = 0;
	double end = now_s() + seconds;

	printf("filling\n");
	fflush(stdout);
	while (now_s() < end) {
		if (dispatch_semaphore_wait(room, dispatch_time(DISPATCH_TIME_NOW, 100 * NSEC_PER_MSEC)) != 0)
			continue;
		if (__atomic_load_n(&n.lost, __ATOMIC_SEQ_CST) != lost) { /* the broker ended this link */
			lost = __atomic_load_n(&n.lost, __ATOMIC_SEQ_CST);
			xpc_connection_cancel(c);
			xpc_release(c);
			c = broker_link(path);
		}
		if (fill_one(c, name, &n, room))
			sent++;
		else {
			dispatch_semaphore_signal(room);
			usleep(1000);
		}
	}
	for (int i = 0; i < FILL_WINDOW; i++) /* the answers still due */
		if (dispatch_semaphore_wait(room, dispatch_time(DISPATCH_TIME_NOW, 10 * NSEC_PER_SEC)) != 0)
			break;
	printf("sent %ld answered %ld forwarded %ld refused %ld lost %ld\n", sent,
	       __atomic_load_n(&n.answered, __ATOMIC_SEQ_CST), __atomic_load_n(&n.forwarded, __ATOMIC_SEQ_CST),
	       __atomic_load_n(&n.refused, __ATOMIC_SEQ_CST), __atomic_load_n(&n.lost, __ATOMIC_SEQ_CST));
	fflush(stdout);
	_exit(0);
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 4 && !strcmp(argv[1], "request"))
		return cmd_request(argv[2], argv[3], argc - 4, argv + 4);
	if (argc == 4 && !strcmp(argv[1], "send"))
		return cmd_send(argv[2], argv[3]);
	if (argc == 3 && !strcmp(argv[1], "connect"))
		return cmd_connect(argv[2]);
	if (argc == 5 && !strcmp(argv[1], "silent"))
		return cmd_silent(argv[2], atoi(argv[3]), atof(argv[4]));
	if (argc == 4 && !strcmp(argv[1], "hold"))
		return cmd_hold(argv[2], atoi(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "talk"))
		return cmd_talk(argv[2], argv[3]);
	if (argc == 5 && !strcmp(argv[1], "fill"))
		return cmd_fill(argv[2], argv[3], atof(argv[4]));
	if (argc == 4 && !strcmp(argv[1], "monitors"))
		return cmd_monitors(argv[2], atoi(argv[3]));
	if (argc == 3 && !strcmp(argv[1], "hostile")) {
		hostile_garbage(argv[2]);
		hostile_fds(argv[2]);
		hostile_large(argv[2]);
		printf("done\n");
		return 0;
	}
	fprintf(stderr, "usage: sec-broker-attacker request|connect|silent|monitors|hostile SOCK ...\n");
	return 2;
}
