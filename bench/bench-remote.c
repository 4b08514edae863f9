/* SPDX-License-Identifier: MIT */
/*
 * bench-remote - a RemoteXPC round trip over loopback against a raw TCP
 * ping-pong of the same payload, between two processes each.
 *
 *   remote-xpc  xpc_connection_send_message_with_reply_sync() on a
 *               connection from xpc_linux_remote_connection_create() (the
 *               in-process bridge, HTTP/2 via nghttp2, the wrapper and
 *               Apple's encoding) to a child process whose server session
 *               (src/remote/session.c) sends each request's body back as
 *               the reply: { "data": payload }
 *   remote-xpc-tls  the same inside TLS with a pre-shared key (tls.c)
 *   raw-tcp     write the payload, read it back, on a TCP_NODELAY loopback
 *               socket to a child that echoes it
 *
 * Prints RESULT lines (bench/bench.h) and, per size, the ratio of the
 * medians.  Both children are forked before this process starts any
 * dispatch thread.  127.0.0.1 only.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xpc/remote.h>
#include <xpc/xpc.h>

#include "bench.h"
#include "remote/remote.h"

static const size_t sizes[] = {64, 1024, 16384, 65536};
#define N_SIZES (sizeof(sizes) / sizeof(sizes[0]))

/* ---- the remote echo child -------------------------------------------------- */

static void echo_message(RemoteSession *s, int32_t stream, const RemoteMessage *m, void *ctx)
{
	if (m->flags & REMOTE_FLAG_WANTING_REPLY)
		remote_session_send(s, REMOTE_STREAM_REPLY, REMOTE_FLAG_ALWAYS_SET | REMOTE_FLAG_DATA_PRESENT |
				    REMOTE_FLAG_REPLY, m->id, m->body);
}

static void echo_ready(RemoteSession *s, void *ctx)
{
}

static void echo_closed(RemoteSession *s, const char *reason, void *ctx)
{
	remote_session_release(s);
}

static const RemoteSessionOps echo_ops = {.ready = echo_ready, .message = echo_message, .closed = echo_closed};

static const uint8_t bench_key[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static bool echo_tls; /* the child's sessions run TLS */

static void remote_echo_child(int lfd)
{
	dispatch_queue_t q = dispatch_queue_create("bench-remote", NULL);
	RemoteTls *tls = echo_tls ? remote_tls_new_psk(true, "bench", bench_key, sizeof(bench_key)) : NULL;

	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1;
		RemoteSession *s;

		if (fd < 0) {
			if (errno == EAGAIN) {
				usleep(1000);
				continue;
			}
			_exit(1);
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		s = remote_session_new(fd, true, &echo_ops, NULL, q);
		if (s && tls)
			remote_session_set_tls(s, tls);
		if (s)
			remote_session_start(s);
	}
}

/* ---- the raw TCP echo child ------------------------------------------------- */

static int read_full(int fd, void *p, size_t n)
{
	for (size_t got = 0; got < n;) {
		ssize_t k = read(fd, (char *)p + got, n - got);

		if (k <= 0)
			return -1;
		got += (size_t)k;
	}
	return 0;
}

static int write_full(int fd, const void *p, size_t n)
{
	for (size_t put = 0; put < n;) {
		ssize_t k = write(fd, (const char *)p + put, n - put);

		if (k <= 0)
			return -1;
		put += (size_t)k;
	}
	return 0;
}

static void raw_echo_child(int lfd)
{
	static char buf[1 << 20];
	int fd, one = 1;
	uint32_t n;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0 && errno == EAGAIN)
		usleep(1000);
	if (fd < 0)
		_exit(1);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	while (read_full(fd, &n, 4) == 0 && n <= sizeof(buf) && read_full(fd, buf, n) == 0)
		if (write_full(fd, buf, n) < 0)
			break;
	_exit(0);
}

static pid_t spawn(int lfd, void (*child)(int))
{
	pid_t pid = fork();

	if (pid < 0)
		bench_fail("fork");
	if (pid == 0)
		child(lfd);
	close(lfd);
	return pid;
}

/* ---- the measurements --------------------------------------------------- */

static double measure_remote(xpc_connection_t c, const char *series, size_t size, double *ns, int iters)
{
	char *payload = calloc(1, size);
	xpc_object_t msg = xpc_dictionary_create(NULL, NULL, 0);

	xpc_dictionary_set_data(msg, "data", payload, size);
	for (int i = -10; i < iters; i++) {
		uint64_t t0 = bench_now_ns();
		xpc_object_t r = xpc_connection_send_message_with_reply_sync(c, msg);

		if (xpc_get_type(r) != XPC_TYPE_DICTIONARY || !xpc_dictionary_get_value(r, "data"))
			bench_fail("remote round trip");
		xpc_release(r);
		if (i >= 0)
			ns[i] = (double)(bench_now_ns() - t0);
	}
	xpc_release(msg);
	free(payload);
	bench_report_ns("rtt", series, (long)size, ns, iters);
	return ns[iters / 2];
}

static double measure_raw(int fd, size_t size, double *ns, int iters)
{
	char *buf = calloc(1, size + 4);
	uint32_t n = (uint32_t)size;

	memcpy(buf, &n, 4);
	for (int i = -10; i < iters; i++) {
		uint64_t t0 = bench_now_ns();

		if (write_full(fd, buf, size + 4) < 0 || read_full(fd, buf + 4, size) < 0)
			bench_fail("raw round trip");
		if (i >= 0)
			ns[i] = (double)(bench_now_ns() - t0);
	}
	free(buf);
	bench_report_ns("rtt", "raw-tcp", (long)size, ns, iters);
	return ns[iters / 2];
}

int main(void)
{
	uint16_t rport, tport;
	uint16_t sport;
	int rl = remote_net_listen("127.0.0.1", 0, false, &rport), tl = remote_net_listen("127.0.0.1", 0, false, &tport);
	int sl = remote_net_listen("127.0.0.1", 0, false, &sport), tfd;
	pid_t rpid, tpid, spid;
	xpc_connection_t c, cs;
	xpc_object_t opts = NULL;
	double remote_med[N_SIZES], tls_med[N_SIZES], raw_med[N_SIZES], *ns;
	int iters = 2000;

	if (rl < 0 || tl < 0 || sl < 0)
		bench_fail("listen on 127.0.0.1");
	rpid = spawn(rl, remote_echo_child);
	echo_tls = true;
	spid = spawn(sl, remote_echo_child);
	tpid = spawn(tl, raw_echo_child);
	tfd = remote_net_connect("127.0.0.1", tport, 10000);
	if (tfd < 0)
		bench_fail("raw connect");
	if (fcntl(tfd, F_SETFL, fcntl(tfd, F_GETFL) & ~O_NONBLOCK) < 0) /* the raw client blocks */
		bench_fail("fcntl");
	c = xpc_linux_remote_connection_create("127.0.0.1", rport, NULL, NULL);
	if (!c)
		bench_fail("remote connect");

	opts = xpc_dictionary_create(NULL, NULL, 0);
	xpc_dictionary_set_string(opts, XPC_LINUX_REMOTE_TLS_PSK_IDENTITY, "bench");
	xpc_dictionary_set_data(opts, XPC_LINUX_REMOTE_TLS_PSK, bench_key, sizeof(bench_key));
	cs = xpc_linux_remote_connection_create_with_options("127.0.0.1", sport, NULL, opts, NULL);
	if (!cs)
		bench_fail("remote TLS connect");
	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) {
	});
	xpc_connection_set_event_handler(cs, ^(xpc_object_t ev) {
	});
	xpc_connection_resume(c);
	xpc_connection_resume(cs);
	ns = malloc(sizeof(double) * (size_t)iters);
	for (size_t i = 0; i < N_SIZES; i++) {
		raw_med[i] = measure_raw(tfd, sizes[i], ns, iters);
		remote_med[i] = measure_remote(c, "remote-xpc", sizes[i], ns, iters);
		tls_med[i] = measure_remote(cs, "remote-xpc-tls", sizes[i], ns, iters);
	}
	fprintf(stderr, "%10s %14s %14s %8s %18s %8s\n", "payload", "remote-xpc us", "raw-tcp us", "ratio",
		"remote-xpc-tls us", "ratio");
	for (size_t i = 0; i < N_SIZES; i++)
		fprintf(stderr, "%10zu %14.1f %14.1f %7.2fx %18.1f %7.2fx\n", sizes[i], remote_med[i] / 1000.0,
			raw_med[i] / 1000.0, remote_med[i] / raw_med[i], tls_med[i] / 1000.0, tls_med[i] / raw_med[i]);
	free(ns);
	xpc_release(opts);
	xpc_connection_cancel(c);
	xpc_release(c);
	xpc_connection_cancel(cs);
	xpc_release(cs);
	close(tfd);
	kill(rpid, SIGKILL);
	kill(spid, SIGKILL);
	kill(tpid, SIGKILL);
	waitpid(rpid, NULL, 0);
	waitpid(spid, NULL, 0);
	waitpid(tpid, NULL, 0);
	return 0;
}
