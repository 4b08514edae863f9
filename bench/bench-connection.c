/*
 * bench-connection.c - synchronous request/reply latency of a small
 * dictionary between two processes over an endpoint connection, against a
 * raw SOCK_SEQPACKET socketpair ping-pong between two processes, in the same
 * run.  Prints both medians (microseconds) and their ratio.
 *
 *   bench-connection [iterations]      (default 20000)
 *
 * The service process is this program re-executed with "--serve FD", FD
 * being the receive side R of a listener pair; the client makes its
 * endpoint from W, as the broker would hand it out.
 */
#include "connection/connection.h"

#include <dispatch/dispatch.h>
#include <xpc/xpc.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

static double median_us(uint64_t *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_u64);
	return (double)v[n / 2] / 1000.0;
}

static double bench_raw(int n, uint64_t *t)
{
	int sv[2];
	char buf[128] = {0};
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		for (;;) {
			ssize_t r = read(sv[1], buf, sizeof(buf));
			if (r <= 0 || write(sv[1], buf, (size_t)r) != r)
				_exit(0);
		}
	}
	close(sv[1]);
	for (int i = 0; i < n + 1000; i++) {
		uint64_t t0 = now_ns();
		if (write(sv[0], buf, 96) != 96 || read(sv[0], buf, sizeof(buf)) != 96)
			return -1;
		if (i >= 1000)
			t[i - 1000] = now_ns() - t0;
	}
	close(sv[0]);
	waitpid(pid, NULL, 0);
	return median_us(t, n);
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
			xpc_connection_send_message(peer, r);
			xpc_release(r);
		});
		xpc_connection_resume(peer);
	});
	xpc_connection_resume(l);
	dispatch_main();
}

/* One-way throughput of a 64 MiB data message (out of line: a sealed
 * memfd), measured as request time with a small reply. */
static void bench_large(xpc_connection_t c)
{
	size_t len = 64u << 20;
	char *buf = malloc(len);
	uint64_t t[5];

	memset(buf, 'x', len);
	for (int i = 0; i < 5; i++) {
		xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0);
		uint64_t t0 = now_ns();
		xpc_dictionary_set_data(m, "big", buf, len);
		xpc_object_t r = xpc_connection_send_message_with_reply_sync(c, m);
		t[i] = now_ns() - t0;
		xpc_release(r);
		xpc_release(m);
	}
	qsort(t, 5, sizeof(t[0]), cmp_u64);
	printf("64 MiB message (create + send + receive + decode), median of 5: %.1f ms, %.2f GB/s\n",
	       (double)t[2] / 1e6, (double)len / (double)t[2]);
	free(buf);
}

static double bench_xpc(const char *self, int n, uint64_t *t)
{
	int r, w;
	char arg[16];
	pid_t pid;

	if (connection_listener_pair(&r, &w) < 0)
		return -1;
	snprintf(arg, sizeof(arg), "%d", r);
	pid = fork();
	if (pid == 0) {
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
	xpc_object_t msg = xpc_dictionary_create(NULL, NULL, 0);
	xpc_dictionary_set_string(msg, "op", "ping");
	for (int i = 0; i < n + 1000; i++) {
		xpc_dictionary_set_int64(msg, "n", i);
		uint64_t t0 = now_ns();
		xpc_object_t reply = xpc_connection_send_message_with_reply_sync(c, msg);
		uint64_t dt = now_ns() - t0;
		if (xpc_get_type(reply) != XPC_TYPE_DICTIONARY || xpc_dictionary_get_int64(reply, "n") != i) {
			fprintf(stderr, "bad reply at %d\n", i);
			return -1;
		}
		xpc_release(reply);
		if (i >= 1000)
			t[i - 1000] = dt;
	}
	xpc_release(msg);
	bench_large(c);
	xpc_connection_cancel(c);
	xpc_release(c);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	return median_us(t, n);
}

int main(int argc, char **argv)
{
	int n = 20000;
	uint64_t *t;

	if (argc == 3 && strcmp(argv[1], "--serve") == 0)
		return serve(atoi(argv[2]));
	if (argc > 1)
		n = atoi(argv[1]);
	if (n < 100)
		n = 100;
	t = calloc((size_t)n, sizeof(*t));
	double raw = bench_raw(n, t);
	double xpc = bench_xpc("/proc/self/exe", n, t);
	printf("raw SEQPACKET ping-pong median: %.2f us\n", raw);
	printf("xpc sync request/reply median: %.2f us\n", xpc);
	printf("ratio: %.2f\n", raw > 0 ? xpc / raw : 0.0);
	free(t);
	return raw > 0 && xpc > 0 ? 0 : 1;
}
