/* SPDX-License-Identifier: MIT */
/*
 * bench-remote - a RemoteXPC round trip over loopback against a raw TCP
 * ping-pong and a bare nghttp2 request/response of the same payload,
 * between two processes each, in the same run; and the throughput of
 * large payloads (1 and 4 MiB each way).
 *
 *   remote-xpc  xpc_connection_send_message_with_reply_sync() on a
 *               connection from xpc_linux_remote_connection_create() (the
 *               in-process bridge, HTTP/2 via nghttp2, the wrapper and
 *               Apple's encoding) to a child process whose server session
 *               (src/transport/remote/session.c) sends each request's body back as
 *               the reply: { "data": payload }
 *   remote-xpc-tls  the same inside TLS with a pre-shared key (tls.c)
 *   raw-tcp     write the payload, read it back, on a TCP_NODELAY loopback
 *               socket to a child that echoes it
 *   nghttp2     HTTP/2 alone: a POST of the payload on a new stream, the
 *               child's nghttp2 server answers 200 with the same bytes;
 *               blocking sockets, no XPC encoding, no dispatch, the same
 *               16 MiB windows and 16 KiB frames as RemoteXPC
 *
 * Prints RESULT lines (bench/bench.h: rtt per size in us; bulk per large
 * size in MB/s, both directions counted) and a table with the ratios of
 * the medians to raw-tcp and to nghttp2.  The children are forked before
 * this process starts any dispatch thread.  127.0.0.1 only.
 */
#include <errno.h>
#include <fcntl.h>
#include <nghttp2/nghttp2.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xpc/remote.h>
#include <xpc/xpc.h>

#include "bench.h"
#include "transport/remote/remote.h"

static const size_t sizes[] = {64, 1024, 16384, 65536, 1u << 20, 4u << 20};
#define BULK_MIN (1u << 20) /* sizes from here on are also reported as throughput */
#define WINDOW (16 << 20)
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
	static char buf[4 << 20];
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

/* ---- bare nghttp2: the echo child and the client -------------------------- */

typedef struct H2 {
	int fd;
	nghttp2_session *s;
	uint8_t *buf;      /* the body received on the current stream */
	size_t len, cap, off;
	int32_t done_stream; /* client: the stream whose response ended */
} H2;

static ssize_t h2_send(nghttp2_session *s, const uint8_t *data, size_t n, int flags, void *ud)
{
	return write_full(((H2 *)ud)->fd, data, n) < 0 ? NGHTTP2_ERR_CALLBACK_FAILURE : (ssize_t)n;
}

static int h2_chunk(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data, size_t n, void *ud)
{
	H2 *h = ud;

	if (h->len + n > h->cap) {
		h->cap = (h->len + n) * 2;
		h->buf = realloc(h->buf, h->cap);
		if (!h->buf)
			bench_fail("realloc");
	}
	memcpy(h->buf + h->len, data, n);
	h->len += n;
	return 0;
}

/* Yields h->buf from h->off: the body of a request or response. */
static ssize_t h2_read_body(nghttp2_session *s, int32_t id, uint8_t *out, size_t n, uint32_t *flags,
			    nghttp2_data_source *src, void *ud)
{
	H2 *h = ud;
	size_t k = h->len - h->off < n ? h->len - h->off : n;

	memcpy(out, h->buf + h->off, k);
	h->off += k;
	if (h->off == h->len)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	return (ssize_t)k;
}

static int h2_server_frame(nghttp2_session *s, const nghttp2_frame *f, void *ud)
{
	static const nghttp2_nv status = {(uint8_t *)":status", (uint8_t *)"200", 7, 3, NGHTTP2_NV_FLAG_NONE};
	nghttp2_data_provider body = {.read_callback = h2_read_body};
	H2 *h = ud;

	if ((f->hd.type == NGHTTP2_DATA || f->hd.type == NGHTTP2_HEADERS) && (f->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
		h->off = 0; /* echo what came */
		if (nghttp2_submit_response(s, f->hd.stream_id, &status, 1, &body) != 0)
			return NGHTTP2_ERR_CALLBACK_FAILURE;
	}
	return 0;
}

static int h2_server_close(nghttp2_session *s, int32_t id, uint32_t code, void *ud)
{
	((H2 *)ud)->len = 0; /* the next request starts afresh */
	return 0;
}

static int h2_client_close(nghttp2_session *s, int32_t id, uint32_t code, void *ud)
{
	((H2 *)ud)->done_stream = id;
	return 0;
}

static nghttp2_session *h2_session(H2 *h, bool server)
{
	nghttp2_session_callbacks *cb;
	nghttp2_session *s;
	nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, WINDOW},
				       {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100}};

	nghttp2_session_callbacks_new(&cb);
	nghttp2_session_callbacks_set_send_callback(cb, h2_send);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, h2_chunk);
	if (server) {
		nghttp2_session_callbacks_set_on_frame_recv_callback(cb, h2_server_frame);
		nghttp2_session_callbacks_set_on_stream_close_callback(cb, h2_server_close);
	} else {
		nghttp2_session_callbacks_set_on_stream_close_callback(cb, h2_client_close);
	}
	if ((server ? nghttp2_session_server_new(&s, cb, h) : nghttp2_session_client_new(&s, cb, h)) != 0)
		bench_fail("nghttp2 session");
	nghttp2_session_callbacks_del(cb);
	nghttp2_submit_settings(s, NGHTTP2_FLAG_NONE, iv, 2);
	nghttp2_session_set_local_window_size(s, NGHTTP2_FLAG_NONE, 0, WINDOW);
	return s;
}

/* Sends what nghttp2 has, then reads once and feeds it.  Return: 0, or -1
 * when the peer closed or nghttp2 failed. */
static int h2_pump(H2 *h)
{
	static uint8_t in[1 << 16];
	ssize_t n;

	if (nghttp2_session_send(h->s) != 0)
		return -1;
	n = read(h->fd, in, sizeof(in));
	if (n <= 0)
		return -1;
	return nghttp2_session_mem_recv(h->s, in, (size_t)n) == n ? 0 : -1;
}

static void h2_echo_child(int lfd)
{
	H2 h = {0};
	int one = 1;

	while ((h.fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0 && errno == EAGAIN)
		usleep(1000);
	if (h.fd < 0)
		_exit(1);
	setsockopt(h.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	h.s = h2_session(&h, true);
	while (h2_pump(&h) == 0)
		;
	_exit(0);
}

static const uint8_t *h2_payload;
static size_t h2_payload_len, h2_payload_off;

static ssize_t h2_read_payload(nghttp2_session *s, int32_t id, uint8_t *out, size_t n, uint32_t *flags,
			       nghttp2_data_source *src, void *ud)
{
	size_t k = h2_payload_len - h2_payload_off < n ? h2_payload_len - h2_payload_off : n;

	memcpy(out, h2_payload + h2_payload_off, k);
	h2_payload_off += k;
	if (h2_payload_off == h2_payload_len)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	return (ssize_t)k;
}

/* One POST of @payload and its whole answer: the bytes received. */
static size_t h2_round_trip(H2 *h, const uint8_t *payload, size_t size)
{
	static const nghttp2_nv nva[] = {
		{(uint8_t *)":method", (uint8_t *)"POST", 7, 4, NGHTTP2_NV_FLAG_NONE},
		{(uint8_t *)":scheme", (uint8_t *)"http", 7, 4, NGHTTP2_NV_FLAG_NONE},
		{(uint8_t *)":path", (uint8_t *)"/", 5, 1, NGHTTP2_NV_FLAG_NONE},
		{(uint8_t *)":authority", (uint8_t *)"bench", 10, 5, NGHTTP2_NV_FLAG_NONE},
	};
	nghttp2_data_provider body = {.read_callback = h2_read_payload};
	int32_t id;

	h->len = 0;
	h->off = 0;
	h->done_stream = 0;
	h2_payload = payload;
	h2_payload_len = size;
	h2_payload_off = 0;
	id = nghttp2_submit_request(h->s, NULL, nva, 4, &body, NULL);
	if (id < 0)
		bench_fail("nghttp2 request");
	while (h->done_stream != id)
		if (h2_pump(h) < 0)
			bench_fail("nghttp2 round trip");
	return h->len;
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

static double measure_h2(H2 *h, size_t size, double *ns, int iters)
{
	uint8_t *payload = calloc(1, size);

	for (int i = -10; i < iters; i++) {
		uint64_t t0 = bench_now_ns();

		if (h2_round_trip(h, payload, size) != size)
			bench_fail("nghttp2 echo");
		if (i >= 0)
			ns[i] = (double)(bench_now_ns() - t0);
	}
	free(payload);
	bench_report_ns("rtt", "nghttp2", (long)size, ns, iters);
	return ns[iters / 2];
}

/* Both directions of a round trip of @size bytes taking @ns, in MB/s. */
static double mbps(size_t size, double ns)
{
	return 2.0 * (double)size / (ns / 1e9) / 1e6;
}

static void print_table(const double med[][4])
{
	static const char *names[] = {"raw-tcp", "nghttp2", "remote-xpc", "remote-xpc-tls"};

	fprintf(stderr, "\nround trip, median us (ratio to raw-tcp; to nghttp2)\n%10s", "payload");
	for (int k = 0; k < 4; k++)
		fprintf(stderr, " %24s", names[k]);
	fprintf(stderr, "\n");
	for (size_t i = 0; i < N_SIZES; i++) {
		fprintf(stderr, "%10zu", sizes[i]);
		for (int k = 0; k < 4; k++) {
			char cell[64];

			snprintf(cell, sizeof(cell), "%.1f (%.2fx; %.2fx)", med[i][k] / 1000.0, med[i][k] / med[i][0],
				 med[i][k] / med[i][1]);
			fprintf(stderr, " %24s", cell);
		}
		fprintf(stderr, "\n");
	}
	fprintf(stderr, "\nthroughput of large payloads, MB/s (both directions)\n");
	for (size_t i = 0; i < N_SIZES; i++) {
		if (sizes[i] < BULK_MIN)
			continue;
		fprintf(stderr, "%10zu", sizes[i]);
		for (int k = 0; k < 4; k++) {
			fprintf(stderr, " %24.0f", mbps(sizes[i], med[i][k]));
			bench_result("bulk", names[k], (long)sizes[i], mbps(sizes[i], med[i][k]), mbps(sizes[i], med[i][k]),
				     "MB/s");
		}
		fprintf(stderr, "\n");
	}
}

int main(void)
{
	uint16_t rport, tport, sport, hport;
	int rl = remote_net_listen("127.0.0.1", 0, false, &rport), tl = remote_net_listen("127.0.0.1", 0, false, &tport);
	int sl = remote_net_listen("127.0.0.1", 0, false, &sport), hl = remote_net_listen("127.0.0.1", 0, false, &hport);
	int tfd;
	pid_t rpid, tpid, spid, hpid;
	xpc_connection_t c, cs;
	xpc_object_t opts = NULL;
	double med[N_SIZES][4], *ns;
	H2 h = {0};

	if (rl < 0 || tl < 0 || sl < 0 || hl < 0)
		bench_fail("listen on 127.0.0.1");
	rpid = spawn(rl, remote_echo_child);
	echo_tls = true;
	spid = spawn(sl, remote_echo_child);
	tpid = spawn(tl, raw_echo_child);
	hpid = spawn(hl, h2_echo_child);
	tfd = remote_net_connect("127.0.0.1", tport, 10000);
	h.fd = remote_net_connect("127.0.0.1", hport, 10000);
	if (tfd < 0 || h.fd < 0)
		bench_fail("raw connect");
	if (fcntl(tfd, F_SETFL, fcntl(tfd, F_GETFL) & ~O_NONBLOCK) < 0 ||
	    fcntl(h.fd, F_SETFL, fcntl(h.fd, F_GETFL) & ~O_NONBLOCK) < 0) /* these clients block */
		bench_fail("fcntl");
	h.s = h2_session(&h, false);
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
	ns = malloc(sizeof(double) * 2000);
	for (size_t i = 0; i < N_SIZES; i++) {
		int iters = bench_iterations(sizes[i], 2000);

		fprintf(stderr, "bench-remote: %zu bytes, %d round trips each\n", sizes[i], iters);
		med[i][0] = measure_raw(tfd, sizes[i], ns, iters);
		med[i][1] = measure_h2(&h, sizes[i], ns, iters);
		med[i][2] = measure_remote(c, "remote-xpc", sizes[i], ns, iters);
		med[i][3] = measure_remote(cs, "remote-xpc-tls", sizes[i], ns, iters);
	}
	print_table((const double(*)[4])med);
	free(ns);
	xpc_release(opts);
	xpc_connection_cancel(c);
	xpc_release(c);
	xpc_connection_cancel(cs);
	xpc_release(cs);
	close(tfd);
	nghttp2_session_del(h.s);
	free(h.buf);
	close(h.fd);
	kill(rpid, SIGKILL);
	kill(spid, SIGKILL);
	kill(tpid, SIGKILL);
	kill(hpid, SIGKILL);
	waitpid(rpid, NULL, 0);
	waitpid(spid, NULL, 0);
	waitpid(tpid, NULL, 0);
	waitpid(hpid, NULL, 0);
	return 0;
}
