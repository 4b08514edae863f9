/*
 * bench-connection.c - the XPC connection path between two processes over
 * an endpoint connection, each figure against a raw-socket baseline measured
 * in the same run:
 *
 * - synchronous request/reply latency of a small dictionary, against a raw
 *   SOCK_SEQPACKET socketpair ping-pong (medians, microseconds, ratio), the
 *   two interleaved in blocks of 200 so that both see the same load;
 * - one-way throughput of small messages (xpc_connection_send_message in a
 *   loop, ended by one request whose reply proves all arrived), against a
 *   raw unbatched write() loop on a SOCK_SEQPACKET socketpair (messages/s);
 * - one 64 MiB xpc_data message (create + send + receive + decode, ended by
 *   a small reply), against a SOCK_STREAM copy of 64 MiB into a fresh buffer
 *   of the receiver and into a reused one, the XPC and reused ones
 *   interleaved round by round (GB/s, median of 5; the first XPC round
 *   includes the cold start);
 * - 1 MiB round trips (a 1 MiB xpc_data each way, built for each call),
 *   the first LARGE_RTT_N ones of the connection (cold: the processes never
 *   moved a large message before) and the next LARGE_RTT_N (warm), each
 *   against a 1 MiB SOCK_STREAM ping-pong (length prefix, 8 MiB socket
 *   buffers, reused buffers), interleaved in blocks of 20 (medians, us);
 * - with --sizes: round trips of { "n": int64, "data": xpc_data } built for
 *   each call, the service replying with the same data, at 64 B, 1 KiB,
 *   4 KiB, 16 KiB and 64 KiB, each interleaved in blocks of 200 with a raw
 *   SOCK_SEQPACKET ping-pong of the same payload both ways.
 *
 * Where libsystemd is found (HAVE_SDBUS), every round-trip series is also
 * interleaved with sd-bus peer to peer: a method Echo(ay) -> ay over a
 * socketpair to a forked sd-bus server, the message built for each call
 * (64 bytes against the small dictionary, else the same payload);
 * BENCH_NO_SDBUS=1 leaves it out.
 *
 *   bench-connection [iterations]              (default 20000)
 *   bench-connection --sizes [iterations]      (per size; default 5000)
 *   bench-connection --cpu [blocks]            (CPU per round trip; default 15)
 *   bench-connection --large [series]          (1 MiB round trips only: the
 *                                               cold series, then @series
 *                                               warm ones; default 5;
 *                                               BENCH_PIN=same|cross: both
 *                                               processes on CPU 0, or the
 *                                               service on CPU 1)
 *
 * The service process is this program re-executed with "--serve FD", FD
 * being the receive side R of a listener pair; the client makes its
 * endpoint from W, as the broker would hand it out.
 */
#include "connection/connection.h"

#include <dispatch/dispatch.h>
#include <xpc/xpc.h>

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef HAVE_SDBUS
#include <sys/prctl.h>
#include <systemd/sd-bus.h>

#include "sdbus-echo.h"
#endif

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median_us(uint64_t *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_u64);
	return (double)v[n / 2] / 1000.0;
}

#define RAW_MAX (64u * 1024u)

/* In a forked child: keeps @fd as descriptor 3 and closes every other one
 * above 2, so that no child holds another's socket open (which would keep
 * it from seeing its peer's end).  Returns 3. */
static int child_keep(int fd)
{
	if (fd != 3 && dup2(fd, 3) < 0)
		_exit(1);
	close_range(4, ~0u, 0);
	return 3;
}

/* A raw SEQPACKET echo child for the interleaved ping-pong (packets up to
 * RAW_MAX bytes); returns the parent's end. */
static int raw_echo_start(pid_t *ret_pid)
{
	static char buf[RAW_MAX];
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	*ret_pid = fork();
	if (*ret_pid == 0) {
		int fd = child_keep(sv[1]);
		for (;;) {
			ssize_t r = read(fd, buf, sizeof(buf));
			if (r <= 0 || write(fd, buf, (size_t)r) != r)
				_exit(0);
		}
	}
	close(sv[1]);
	return sv[0];
}

/* One raw round trip of @len bytes each way (@len <= RAW_MAX). */
static int raw_rtt(int fd, size_t len, uint64_t *dt)
{
	static char buf[RAW_MAX];
	uint64_t t0 = now_ns();

	if (write(fd, buf, len) != (ssize_t)len || read(fd, buf, sizeof(buf)) != (ssize_t)len)
		return -1;
	*dt = now_ns() - t0;
	return 0;
}

#ifdef HAVE_SDBUS
static void *sdbus_start(pid_t *ret_pid)
{
	int sv[2];
	sd_bus *bus = NULL;

	*ret_pid = -1;
	if (getenv("BENCH_NO_SDBUS"))
		return NULL;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return NULL;
	*ret_pid = fork();
	if (*ret_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		sdbus_echo_serve_p2p(child_keep(sv[1]));
	}
	close(sv[1]);
	if (sd_bus_new(&bus) < 0 || sd_bus_set_fd(bus, sv[0], sv[0]) < 0 || sd_bus_start(bus) < 0)
		return NULL;
	return bus;
}

static void sdbus_stop(void *bus, pid_t pid)
{
	if (bus)
		sd_bus_flush_close_unref(bus);
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

/* One Echo call of @len bytes. */
static int sdbus_rtt(void *bus, size_t len, uint64_t *dt)
{
	static char payload[RAW_MAX];
	uint64_t t0 = now_ns();
	int rc = sdbus_echo_call(bus, NULL, payload, len);

	*dt = now_ns() - t0;
	return rc;
}
#else
static void *sdbus_start(pid_t *ret_pid)
{
	*ret_pid = -1;
	return NULL;
}

static void sdbus_stop(void *bus, pid_t pid)
{
	(void)bus;
	(void)pid;
}

static int sdbus_rtt(void *bus, size_t len, uint64_t *dt)
{
	(void)bus;
	(void)len;
	*dt = 0;
	return -1;
}
#endif

/* Raw one-way: @n writes of 96 bytes, the reader acknowledges the last. */
static double raw_oneway(int n)
{
	int sv[2];
	char buf[128] = {0};
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		for (int i = 0; i < n; i++)
			if (read(sv[1], buf, sizeof(buf)) <= 0)
				_exit(1);
		_exit(write(sv[1], buf, 1) == 1 ? 0 : 1);
	}
	close(sv[1]);
	uint64_t t0 = now_ns();
	for (int i = 0; i < n; i++)
		if (write(sv[0], buf, 96) != 96)
			return -1;
	if (read(sv[0], buf, sizeof(buf)) != 1)
		return -1;
	uint64_t dt = now_ns() - t0;
	close(sv[0]);
	waitpid(pid, NULL, 0);
	return (double)n * 1e9 / (double)dt;
}

#define LARGE_LEN (64u << 20)
#define LARGE_RUNS 5

static struct {
	double oneway, large, large_best, large_worst; /* GB/s */
	double raw_fresh, raw_reused;                  /* GB/s */
	double cold, warm, raw_cold, raw_warm; /* 1 MiB round trips, us */
} xres;

/* Raw bulk: 64 MiB over a SOCK_STREAM socketpair into a buffer the reader
 * allocates for each transfer (as a receiver of a message must), or, with
 * @reuse, into one buffer it already touched (the pure copy cost).  The
 * reader child acknowledges each 64 MiB with one byte, until EOF. */
static int raw_stream_start(bool reuse, pid_t *ret_pid)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	*ret_pid = fork();
	if (*ret_pid == 0) {
		close(sv[0]);
		char *warm = reuse ? malloc(LARGE_LEN) : NULL;
		if (warm)
			memset(warm, 0, LARGE_LEN);
		for (;;) {
			char *in = warm ? warm : malloc(LARGE_LEN);
			size_t got = 0;
			while (got < LARGE_LEN) {
				ssize_t r = read(sv[1], in + got, LARGE_LEN - got);
				if (r <= 0)
					_exit(0);
				got += (size_t)r;
			}
			if (write(sv[1], in + LARGE_LEN - 1, 1) != 1)
				_exit(1);
			if (!warm)
				free(in);
		}
	}
	close(sv[1]);
	return sv[0];
}

/* One 64 MiB transfer to a raw_stream_start() child; 0 on failure. */
static uint64_t raw_stream_once(int fd, const char *buf)
{
	uint64_t t0 = now_ns();
	size_t off = 0;
	char ack;

	while (off < LARGE_LEN) {
		ssize_t r = write(fd, buf + off, LARGE_LEN - off);
		if (r <= 0)
			return 0;
		off += (size_t)r;
	}
	if (read(fd, &ack, 1) != 1)
		return 0;
	return now_ns() - t0;
}

static int serve(int fd)
{
	xpc_connection_t l = connection_create_listener_from_fd(fd, NULL, NULL);

	xpc_connection_set_event_handler(l, ^(xpc_object_t ev) {
		if (xpc_get_type(ev) != XPC_TYPE_CONNECTION)
			return;
		xpc_connection_t peer = (xpc_connection_t)ev;
		xpc_connection_set_event_handler(peer, ^(xpc_object_t m) {
			xpc_object_t r = xpc_dictionary_create_reply(m);
			if (!r)
				return;
			xpc_dictionary_set_int64(r, "n", xpc_dictionary_get_int64(m, "n"));
			xpc_object_t data = xpc_dictionary_get_value(m, "data");
			if (data)
				xpc_dictionary_set_value(r, "data", data);
			xpc_object_t echo = xpc_dictionary_get_value(m, "echo");
			if (echo) { /* a new data object, as a service building its reply would */
				size_t len = xpc_data_get_length(echo);
				xpc_dictionary_set_data(r, "echo", xpc_data_get_bytes_ptr(echo), len);
			}
			xpc_connection_send_message(peer, r);
			xpc_release(r);
		});
		xpc_connection_resume(peer);
	});
	xpc_connection_resume(l);
	dispatch_main();
}

/* A 64 MiB data message (out of line), timed from creating the message to
 * the small reply. */
static uint64_t xpc_large_once(xpc_connection_t c, const char *buf)
{
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0);
	uint64_t t0 = now_ns();
	xpc_dictionary_set_data(m, "big", buf, LARGE_LEN);
	xpc_object_t r = xpc_connection_send_message_with_reply_sync(c, m);
	uint64_t dt = now_ns() - t0;
	bool ok = xpc_get_type(r) == XPC_TYPE_DICTIONARY;
	xpc_release(r);
	xpc_release(m);
	return ok ? dt : 0;
}

static double gbps(uint64_t ns)
{
	return ns ? (double)LARGE_LEN / (double)ns : 0;
}

/* LARGE_RUNS rounds of one XPC 64 MiB message and one raw copy into a
 * reused buffer, interleaved (the same load for both), then LARGE_RUNS raw
 * copies into fresh buffers (apart: each frees and maps 64 MiB, which
 * slows whatever runs next on this VM).  Medians (GB/s) into xres. */
static void bench_large(xpc_connection_t c)
{
	char *buf = malloc(LARGE_LEN);
	uint64_t t[LARGE_RUNS], tf[LARGE_RUNS], tr[LARGE_RUNS];
	pid_t pf, pr;
	int ff = raw_stream_start(false, &pf), fr = raw_stream_start(true, &pr);

	memset(buf, 'x', LARGE_LEN);
	for (int i = 0; i < LARGE_RUNS; i++) {
		t[i] = xpc_large_once(c, buf);
		tr[i] = raw_stream_once(fr, buf);
		if (getenv("BENCH_VERBOSE"))
			fprintf(stderr, "64 MiB round %d: xpc %.2f GB/s, raw reused %.2f GB/s\n", i, gbps(t[i]), gbps(tr[i]));
	}
	for (int i = 0; i < LARGE_RUNS; i++)
		tf[i] = raw_stream_once(ff, buf);
	close(ff);
	close(fr);
	waitpid(pf, NULL, 0);
	waitpid(pr, NULL, 0);
	free(buf);
	qsort(t, LARGE_RUNS, sizeof(t[0]), cmp_u64);
	qsort(tf, LARGE_RUNS, sizeof(tf[0]), cmp_u64);
	qsort(tr, LARGE_RUNS, sizeof(tr[0]), cmp_u64);
	xres.large = gbps(t[LARGE_RUNS / 2]);
	xres.large_best = gbps(t[0]);
	xres.large_worst = gbps(t[LARGE_RUNS - 1]);
	xres.raw_fresh = gbps(tf[LARGE_RUNS / 2]);
	xres.raw_reused = gbps(tr[LARGE_RUNS / 2]);
}

/* One-way: @n messages, then one request; its reply comes after all of
 * them (FIFO).  Return: messages/s. */
static double bench_oneway(xpc_connection_t c, int n)
{
	xpc_object_t msg = xpc_dictionary_create(NULL, NULL, 0);

	xpc_dictionary_set_string(msg, "op", "note");
	xpc_dictionary_set_int64(msg, "n", 1);
	uint64_t t0 = now_ns();
	for (int i = 0; i < n; i++)
		xpc_connection_send_message(c, msg);
	xpc_object_t r = xpc_connection_send_message_with_reply_sync(c, msg);
	uint64_t dt = now_ns() - t0;
	xpc_release(msg);
	if (xpc_get_type(r) != XPC_TYPE_DICTIONARY)
		dt = 0;
	xpc_release(r);
	return dt ? (double)n * 1e9 / (double)dt : -1;
}

/* ---- 1 MiB round trips, cold and warm ------------------------------------- */

#define LARGE_RTT_LEN (1u << 20)
#define LARGE_RTT_N 200
#define LARGE_RTT_BLOCK 20

static int full_io(int fd, void *p, size_t len, bool wr)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r = wr ? write(fd, (char *)p + done, len - done) : read(fd, (char *)p + done, len - done);
		if (r <= 0)
			return -1;
		done += (size_t)r;
	}
	return 0;
}

/* BENCH_PIN=same puts this process and its children on CPU 0, =cross the
 * children (@child) on CPU 1: the two placements a 2-CPU scheduler picks
 * between for a ping-pong, whose copies cost very differently. */
static void bench_pin(bool child)
{
	const char *e = getenv("BENCH_PIN");
	cpu_set_t set;

	if (!e)
		return;
	CPU_ZERO(&set);
	CPU_SET(child && strcmp(e, "cross") == 0 ? 1 : 0, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/* The raw 1 MiB echo: a length, then the payload, back the same way. */
static int raw_stream_echo_start(pid_t *ret_pid)
{
	int sv[2], sz = 8 << 20;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	for (int i = 0; i < 2; i++) {
		setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
		setsockopt(sv[i], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	}
	*ret_pid = fork();
	if (*ret_pid == 0) {
		char *buf = malloc(LARGE_RTT_LEN);
		bench_pin(true);
		uint32_t n;
		close(sv[0]);
		while (full_io(sv[1], &n, sizeof(n), false) == 0 && n <= LARGE_RTT_LEN &&
		       full_io(sv[1], buf, n, false) == 0)
			if (full_io(sv[1], &n, sizeof(n), true) < 0 || full_io(sv[1], buf, n, true) < 0)
				break;
		_exit(0);
	}
	close(sv[1]);
	return sv[0];
}

static int raw_stream_rtt(int fd, char *buf, uint64_t *dt)
{
	uint32_t n = LARGE_RTT_LEN;
	uint64_t t0 = now_ns();

	if (full_io(fd, &n, sizeof(n), true) < 0 || full_io(fd, buf, n, true) < 0 ||
	    full_io(fd, &n, sizeof(n), false) < 0 || n != LARGE_RTT_LEN || full_io(fd, buf, n, false) < 0)
		return -1;
	*dt = now_ns() - t0;
	return 0;
}

static int xpc_large_rtt(xpc_connection_t c, const char *payload, uint64_t *dt)
{
	uint64_t t0 = now_ns();
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0);
	xpc_dictionary_set_data(m, "echo", payload, LARGE_RTT_LEN);
	xpc_object_t r = xpc_connection_send_message_with_reply_sync(c, m);
	xpc_release(m);
	bool ok = xpc_get_type(r) == XPC_TYPE_DICTIONARY &&
		  xpc_data_get_length(xpc_dictionary_get_value(r, "echo")) == LARGE_RTT_LEN;
	xpc_release(r);
	*dt = now_ns() - t0;
	return ok ? 0 : -1;
}

/* LARGE_RTT_N round trips of each kind, in blocks; medians into @x, @raw. */
static int large_rtt_series(xpc_connection_t c, int rawfd, double *x, double *raw)
{
	uint64_t tx[LARGE_RTT_N], tr[LARGE_RTT_N];
	char *payload = malloc(LARGE_RTT_LEN), *rbuf = malloc(LARGE_RTT_LEN);

	memset(payload, 'p', LARGE_RTT_LEN);
	memset(rbuf, 'r', LARGE_RTT_LEN);
	for (int i = 0; i < LARGE_RTT_N; i += LARGE_RTT_BLOCK) {
		for (int k = i; k < i + LARGE_RTT_BLOCK; k++)
			if (xpc_large_rtt(c, payload, &tx[k]) < 0)
				return -1;
		for (int k = i; k < i + LARGE_RTT_BLOCK; k++)
			if (raw_stream_rtt(rawfd, rbuf, &tr[k]) < 0)
				return -1;
	}
	free(payload);
	free(rbuf);
	*x = median_us(tx, LARGE_RTT_N);
	*raw = median_us(tr, LARGE_RTT_N);
	return 0;
}

/* Cold, then warm; the raw echo process is fresh too. */
static void bench_large_rtt(xpc_connection_t c)
{
	pid_t pid;
	int fd = raw_stream_echo_start(&pid);

	if (fd < 0 || large_rtt_series(c, fd, &xres.cold, &xres.raw_cold) < 0 ||
	    large_rtt_series(c, fd, &xres.warm, &xres.raw_warm) < 0)
		fprintf(stderr, "1 MiB round trips failed\n");
	close(fd);
	waitpid(pid, NULL, 0);
}

/* The service process and a connection to it over an endpoint. */
static xpc_connection_t service_start(const char *self, pid_t *ret_pid)
{
	int r, w;
	char arg[16];

	if (connection_listener_pair(&r, &w) < 0)
		return NULL;
	snprintf(arg, sizeof(arg), "%d", r);
	*ret_pid = fork();
	if (*ret_pid == 0) {
		bench_pin(true);
		fcntl(r, F_SETFD, 0);
		execl(self, self, "--serve", arg, (char *)NULL);
		_exit(127);
	}
	close(r);
	xpc_endpoint_t ep = endpoint_create_from_send_fd(w);
	close(w);
	xpc_connection_t c = xpc_connection_create_from_endpoint(ep);
	xpc_release(ep);
	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) {
		(void)ev;
	});
	xpc_connection_resume(c);
	return c;
}

/* Ends a raw echo child (@fd its socket) and the service of @c. */
static void stop_all(int fd, pid_t rawpid, xpc_connection_t c, pid_t pid)
{
	close(fd);
	waitpid(rawpid, NULL, 0);
	xpc_connection_cancel(c);
	xpc_release(c);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

/* One XPC round trip: a small { "op", "n" } dictionary (@data NULL, @msg
 * reused), or { "n", "data" } built for this call. */
static int xpc_rtt(xpc_connection_t c, xpc_object_t msg, const void *data, size_t len, int i, uint64_t *dt)
{
	uint64_t t0 = now_ns();
	xpc_object_t m = msg;

	if (data) {
		m = xpc_dictionary_create(NULL, NULL, 0);
		xpc_dictionary_set_data(m, "data", data, len);
	}
	xpc_dictionary_set_int64(m, "n", i);
	xpc_object_t reply = xpc_connection_send_message_with_reply_sync(c, m);
	bool ok = xpc_get_type(reply) == XPC_TYPE_DICTIONARY && xpc_dictionary_get_int64(reply, "n") == i;
	if (ok && data) {
		size_t got = 0;
		ok = xpc_dictionary_get_data(reply, "data", &got) && got == len;
	}
	xpc_release(reply);
	if (m != msg)
		xpc_release(m);
	*dt = now_ns() - t0;
	if (!ok)
		fprintf(stderr, "bad reply at %d\n", i);
	return ok ? 0 : -1;
}

/* Medians of one interleaved series (us; sd 0 without sd-bus). */
typedef struct {
	double xpc, raw, sd;
} Medians;

/* @n timed round trips (after 1000 untimed) of XPC on @c, raw on @rawfd and
 * sd-bus on @sd (if not NULL), interleaved in blocks of 200 so that all see
 * the same load of the machine: the small dictionary against 96 raw bytes
 * and a 64-byte Echo (@len 0), or @len bytes of data against @len bytes. */
static int rtt_series(xpc_connection_t c, int rawfd, void *sd, size_t len, int n, uint64_t *t, uint64_t *traw,
		      uint64_t *tsd, Medians *ret)
{
	static char payload[RAW_MAX];
	xpc_object_t msg = xpc_dictionary_create(NULL, NULL, 0);
	int result = 0;

	xpc_dictionary_set_string(msg, "op", "ping");
	for (int i = 0; i < n + 1000 && result == 0; i++) {
		uint64_t dt;
		if (i % 200 == 0) { /* a block of raw round trips, one of sd-bus ones */
			for (int k = i; k < i + 200 && k < n + 1000; k++) {
				if (raw_rtt(rawfd, len ? len : 96, &dt) < 0)
					return -1;
				if (k >= 1000)
					traw[k - 1000] = dt;
			}
			for (int k = i; sd && k < i + 200 && k < n + 1000; k++) {
				if (sdbus_rtt(sd, len ? len : 64, &dt) < 0)
					return -1;
				if (k >= 1000)
					tsd[k - 1000] = dt;
			}
		}
		result = xpc_rtt(c, msg, len ? payload : NULL, len, i, &dt);
		if (i >= 1000)
			t[i - 1000] = dt;
	}
	xpc_release(msg);
	ret->xpc = median_us(t, n);
	ret->raw = median_us(traw, n);
	ret->sd = sd ? median_us(tsd, n) : 0;
	return result;
}

/* 1 MiB round trips, the small-dictionary series, then one-way and 64 MiB. */
static int bench_xpc(const char *self, int n, uint64_t *t, uint64_t *traw, uint64_t *tsd, Medians *ret)
{
	pid_t pid, rawpid, sdpid;
	xpc_connection_t c = service_start(self, &pid);
	int rawfd = raw_echo_start(&rawpid);
	void *sd = sdbus_start(&sdpid);

	if (c && !getenv("BENCH_NO_LARGE"))
		bench_large_rtt(c); /* first: before any large message */
	if (!c || rawfd < 0 || rtt_series(c, rawfd, sd, 0, n, t, traw, tsd, ret) < 0)
		return -1;
	close(rawfd);
	waitpid(rawpid, NULL, 0);
	sdbus_stop(sd, sdpid);
	if (!getenv("BENCH_NO_ONEWAY"))
		xres.oneway = bench_oneway(c, n * 5);
	if (!getenv("BENCH_NO_LARGE"))
		bench_large(c);
	xpc_connection_cancel(c);
	xpc_release(c);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	return 0;
}

/* --sizes: one line per payload size. */
static int bench_sizes(const char *self, int n)
{
	static const size_t sizes[] = {64, 1024, 4096, 16384, 65536};
	uint64_t *t = calloc((size_t)n, sizeof(*t)), *traw = calloc((size_t)n, sizeof(*traw));
	uint64_t *tsd = calloc((size_t)n, sizeof(*tsd));
	pid_t pid, rawpid, sdpid;
	xpc_connection_t c = service_start(self, &pid);
	int rawfd = raw_echo_start(&rawpid), result = 0;
	void *sd = sdbus_start(&sdpid);

	if (!c || rawfd < 0 || !t || !traw || !tsd)
		return 1;
	printf("%-8s %9s %9s %9s %8s %8s\n", "payload", "raw us", "sd-bus us", "xpc us", "xpc/raw", "xpc/sd");
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]) && result == 0; i++) {
		Medians m = {0};
		result = rtt_series(c, rawfd, sd, sizes[i], n, t, traw, tsd, &m);
		printf("%-8zu %9.2f %9.2f %9.2f %8.2f %8.2f\n", sizes[i], m.raw, m.sd, m.xpc, m.xpc / m.raw,
		       m.sd > 0 ? m.xpc / m.sd : 0.0);
	}
	printf("(goals: xpc/raw <= 1.5 up to 64 KiB; small dictionary xpc/raw <= 1.2 and xpc/sd < 1)\n");
	close(rawfd);
	waitpid(rawpid, NULL, 0);
	sdbus_stop(sd, sdpid);
	xpc_connection_cancel(c);
	xpc_release(c);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	free(t);
	free(traw);
	free(tsd);
	return result == 0 ? 0 : 1;
}

/* ---- --cpu: CPU time per round trip on each side --------------------------- */

/* CPU time (ns) of process @pid so far (0 for this process), all threads. */
static uint64_t cpu_ns(pid_t pid)
{
	clockid_t id = CLOCK_PROCESS_CPUTIME_ID;
	struct timespec ts;

	if (pid > 0 && clock_getcpuclockid(pid, &id) != 0)
		return 0;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * --cpu [blocks]: blocks of 2000 round trips of the 64 B { "n", "data" }
 * message (as --sizes builds it) and of the raw SEQPACKET ping-pong,
 * alternating; per block the CPU time of the client (this process) and of
 * the server process.  Prints the medians over the blocks (us per round
 * trip), each side's ratio, and the wall-clock medians.  CPU time moves
 * much less with the machine's load than latency does.
 */
static int bench_cpu(const char *self, int blocks)
{
	enum { BLOCK = 2000 };
	static char payload[64];
	double *v[6];
	pid_t pid, rawpid;
	xpc_connection_t c = service_start(self, &pid);
	int rawfd = raw_echo_start(&rawpid), result = 0;
	uint64_t dt, *lat = calloc(BLOCK, sizeof(*lat));

	for (int k = 0; k < 6; k++)
		v[k] = calloc((size_t)blocks, sizeof(double));
	if (!c || rawfd < 0 || !lat)
		return 1;
	for (int i = 0; i < 200 && result == 0; i++) /* warm up */
		result = xpc_rtt(c, NULL, payload, sizeof(payload), i, &dt) | raw_rtt(rawfd, sizeof(payload), &dt);
	for (int b = 0; b < blocks && result == 0; b++) {
		uint64_t c0 = cpu_ns(0), s0 = cpu_ns(pid);
		for (int i = 0; i < BLOCK && result == 0; i++)
			result = xpc_rtt(c, NULL, payload, sizeof(payload), i, &lat[i]);
		v[0][b] = (double)(cpu_ns(0) - c0) / BLOCK / 1000.0;
		v[1][b] = (double)(cpu_ns(pid) - s0) / BLOCK / 1000.0;
		v[4][b] = median_us(lat, BLOCK);
		c0 = cpu_ns(0);
		s0 = cpu_ns(rawpid);
		for (int i = 0; i < BLOCK && result == 0; i++)
			result = raw_rtt(rawfd, sizeof(payload), &lat[i]);
		v[2][b] = (double)(cpu_ns(0) - c0) / BLOCK / 1000.0;
		v[3][b] = (double)(cpu_ns(rawpid) - s0) / BLOCK / 1000.0;
		v[5][b] = median_us(lat, BLOCK);
	}
	double m[6];
	for (int k = 0; k < 6; k++) {
		qsort(v[k], (size_t)blocks, sizeof(double), cmp_double);
		m[k] = v[k][blocks / 2];
		free(v[k]);
	}
	printf("cpu us/rtt  client: xpc %.2f raw %.2f (%.2fx)  server: xpc %.2f raw %.2f (%.2fx)\n", m[0], m[2],
	       m[0] / m[2], m[1], m[3], m[1] / m[3]);
	printf("latency us  xpc %.2f raw %.2f (%.2fx)\n", m[4], m[5], m[4] / m[5]);
	stop_all(rawfd, rawpid, c, pid);
	free(lat);
	return result == 0 ? 0 : 1;
}

/*
 * --large [series]: the 1 MiB round trips alone (no small series first):
 * the cold series, then @series warm ones, each LARGE_RTT_N interleaved
 * with the raw SOCK_STREAM ping-pong as bench_large_rtt() does, one line
 * per series with the CPU time per round trip of the client (this
 * process, the raw series' share included) and of the service.
 */
static int bench_large_only(const char *self, int series)
{
	pid_t pid, rawpid;
	xpc_connection_t c;
	int fd, result = 0;

	bench_pin(false);
	c = service_start(self, &pid);
	fd = raw_stream_echo_start(&rawpid);
	if (!c || fd < 0)
		return 1;
	for (int s = 0; s <= series && result == 0; s++) {
		double x, raw;
		uint64_t c0 = cpu_ns(0), s0 = cpu_ns(pid);
		result = large_rtt_series(c, fd, &x, &raw);
		printf("1 MiB %s: xpc %.0f us, raw SOCK_STREAM %.0f us, ratio %.2f; cpu us/rtt client %.0f "
		       "(with raw's), service %.0f\n",
		       s ? "warm" : "cold", x, raw, x / raw, (double)(cpu_ns(0) - c0) / LARGE_RTT_N / 1000.0,
		       (double)(cpu_ns(pid) - s0) / LARGE_RTT_N / 1000.0);
	}
	stop_all(fd, rawpid, c, pid);
	return result == 0 ? 0 : 1;
}

/* This program, for the service process (BENCH_SELF names it where
 * /proc/self/exe would not, e.g. under valgrind). */
static const char *bench_self(void)
{
	const char *e = getenv("BENCH_SELF");

	return e && *e ? e : "/proc/self/exe";
}

int main(int argc, char **argv)
{
	int n = 20000;
	uint64_t *t;

	if (argc == 3 && strcmp(argv[1], "--serve") == 0)
		return serve(atoi(argv[2]));
	if (argc >= 2 && strcmp(argv[1], "--cpu") == 0)
		return bench_cpu(bench_self(), argc > 2 && atoi(argv[2]) >= 1 ? atoi(argv[2]) : 15);
	if (argc >= 2 && strcmp(argv[1], "--large") == 0)
		return bench_large_only(bench_self(), argc > 2 && atoi(argv[2]) >= 1 ? atoi(argv[2]) : 5);
	if (argc >= 2 && strcmp(argv[1], "--sizes") == 0)
		return bench_sizes(bench_self(), argc > 2 && atoi(argv[2]) >= 100 ? atoi(argv[2]) : 5000);
	if (argc > 1)
		n = atoi(argv[1]);
	if (n < 100)
		n = 100;
	t = calloc((size_t)n, sizeof(*t));
	uint64_t *traw = calloc((size_t)n, sizeof(*traw)), *tsd = calloc((size_t)n, sizeof(*tsd));
	Medians m = {0};
	int r = bench_xpc(bench_self(), n, t, traw, tsd, &m);
	free(traw);
	free(tsd);
	double raw1 = raw_oneway(n * 5);
	double rawbulk = xres.raw_fresh, rawwarm = xres.raw_reused;
	printf("raw SEQPACKET ping-pong median: %.2f us\n", m.raw);
	printf("xpc sync request/reply median: %.2f us\n", m.xpc);
	printf("ratio: %.2f (goal <= 1.2)\n", m.raw > 0 ? m.xpc / m.raw : 0.0);
	if (m.sd > 0) {
		printf("sd-bus p2p Echo(ay) 64 B median: %.2f us\n", m.sd);
		printf("xpc / sd-bus: %.2f (goal < 1)\n", m.xpc / m.sd);
	}
	printf("raw SEQPACKET one-way write loop: %.0f msgs/s\n", raw1);
	printf("xpc one-way send_message: %.0f msgs/s\n", xres.oneway);
	printf("ratio: %.2f (goal >= 1)\n", raw1 > 0 ? xres.oneway / raw1 : 0.0);
	if (rawbulk > 0) {
		printf("raw SOCK_STREAM 64 MiB copy into a fresh buffer: %.2f GB/s\n", rawbulk);
		printf("raw SOCK_STREAM 64 MiB copy into a reused buffer: %.2f GB/s\n", rawwarm);
		printf("xpc 64 MiB message (create + send + receive + decode): %.2f GB/s (of %d: %.2f - %.2f)\n",
		       xres.large, LARGE_RUNS, xres.large_worst, xres.large_best);
		printf("ratio to fresh: %.2f, to reused: %.2f (goal >= 0.6)\n", xres.large / rawbulk,
		       xres.large / rawwarm);
		printf("1 MiB round trip, first %d (cold): xpc %.0f us, raw SOCK_STREAM %.0f us, ratio %.2f\n",
		       LARGE_RTT_N, xres.cold, xres.raw_cold, xres.cold / xres.raw_cold);
		printf("1 MiB round trip, next %d (warm): xpc %.0f us, raw SOCK_STREAM %.0f us, ratio %.2f\n",
		       LARGE_RTT_N, xres.warm, xres.raw_warm, xres.warm / xres.raw_warm);
	}
	free(t);
	return r == 0 && m.raw > 0 && m.xpc > 0 ? 0 : 1;
}
