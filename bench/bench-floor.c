/*
 * bench-floor.c - what part of a small round trip's budget the message
 * work alone takes (issue 17's "small round trip <= 1.05x raw"), each
 * series against a raw SOCK_SEQPACKET ping-pong of 64 bytes in the same
 * run, interleaved in blocks of 2000:
 *
 * - raw: write() 64 bytes, the echo server read()s and write()s them back;
 * - calls: the same bytes, sent with the system calls libxpc makes
 *   (sendmsg; recvmsg with a 1 KiB control buffer and MSG_CMSG_CLOEXEC on
 *   the client, recvmmsg of two with MSG_WAITFORONE on the server);
 * - message: write()/read() again, but each side does the work the XPC
 *   API asks for with libxpc's own object and wire layers: the client
 *   builds { "n": int64, "data": 64 B }, encodes it and, once the reply
 *   came, decodes it, reads "n" and "data" and releases both; the server
 *   decodes the request, builds the reply { "n", "data" }, encodes it.
 *   No connection, no dispatch, no locks: what any implementation of the
 *   API with this wire format pays.
 *
 * Prints each series' median latency and the median over blocks of its
 * ratio to the raw block next to it.  bench-connection --cpu gives the
 * whole XPC call's ratio; run the two one after the other
 * (docs/performance.md, "The small round trip's floor").
 *
 *   bench-floor [blocks]     (default 15)
 */
#include "wire/wire.h"

#include <xpc/xpc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

enum { BLOCK = 2000, BUF = 4096, PAYLOAD = 64 };
/* The first byte of a packet says which series it belongs to. */
enum { RAW = 'R', CALLS = 'S', MESSAGE = 'X' };

static uint8_t payload[PAYLOAD];

/* Encodes @d (no descriptors) into @out; returns its length, 0 on failure. */
static size_t encode(xpc_object_t d, uint8_t *out, size_t cap)
{
	uint8_t storage[256];
	WireBuffer b;
	WireFds fds = {0};
	size_t n = 0;

	wire_buffer_lend(&b, storage, sizeof(storage));
	if (wire_encode_message(d, &b, &fds) == 0 && b.n_refs == 0 && b.len <= cap) {
		memcpy(out, b.data, b.len);
		n = b.len;
	}
	wire_buffer_free(&b);
	wire_fds_free(&fds);
	return n;
}

/* The server's side of a MESSAGE packet of @n bytes in @in: the reply
 * into @out, its length returned (0: not decodable). */
static size_t serve_message(const uint8_t *in, size_t n, uint8_t *out)
{
	xpc_object_t m = NULL, r;
	size_t len = 0, k;
	const void *d;

	if (wire_decode_message(in + 1, n - 1, NULL, 0, &m) != 0)
		return 0;
	d = xpc_dictionary_get_data(m, "data", &len);
	r = xpc_dictionary_create(NULL, NULL, 0);
	xpc_dictionary_set_data(r, "data", d, len);
	xpc_dictionary_set_int64(r, "n", xpc_dictionary_get_int64(m, "n"));
	out[0] = MESSAGE;
	k = encode(r, out + 1, BUF - 1);
	xpc_release(r);
	xpc_release(m);
	return k ? k + 1 : 0;
}

/* Reads one packet as libxpc's service does: recvmmsg of two, waiting for
 * the first only. */
static ssize_t server_recv(int fd, uint8_t *buf)
{
	static uint8_t spare[BUF];
	static char ctl[2][1024];
	struct iovec iov[2] = {{buf, BUF}, {spare, BUF}};
	struct mmsghdr m[2];

	memset(m, 0, sizeof(m));
	for (int i = 0; i < 2; i++) {
		m[i].msg_hdr.msg_iov = &iov[i];
		m[i].msg_hdr.msg_iovlen = 1;
		m[i].msg_hdr.msg_control = ctl[i];
		m[i].msg_hdr.msg_controllen = sizeof(ctl[i]);
	}
	if (recvmmsg(fd, m, 2, MSG_WAITFORONE | MSG_CMSG_CLOEXEC, NULL) != 1) /* ping-pong: one at a time */
		return -1;
	return (ssize_t)m[0].msg_len;
}

static ssize_t send_one(int fd, const void *p, size_t n)
{
	struct iovec iov = {(void *)p, n};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	return sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* The echo server: RAW and MESSAGE packets by read/write, CALLS packets
 * answered with sendmsg and the next one read with recvmmsg. */
static void server(int fd)
{
	static uint8_t in[BUF], out[BUF];
	ssize_t n = read(fd, in, BUF);

	while (n > 0) {
		if (in[0] == CALLS) {
			if (send_one(fd, in, (size_t)n) != n)
				break;
			n = server_recv(fd, in);
			continue;
		}
		if (in[0] == MESSAGE) {
			size_t k = serve_message(in, (size_t)n, out);
			if (k == 0 || write(fd, out, k) != (ssize_t)k)
				break;
		} else if (write(fd, in, (size_t)n) != n) {
			break;
		}
		n = read(fd, in, BUF);
	}
	_exit(0);
}

static int rtt_raw(int fd, int i)
{
	uint8_t buf[BUF];

	(void)i;
	payload[0] = RAW;
	return write(fd, payload, PAYLOAD) == PAYLOAD && read(fd, buf, BUF) == PAYLOAD ? 0 : -1;
}

static int rtt_calls(int fd, int i)
{
	static char ctl[1024];
	uint8_t buf[BUF];
	struct iovec iov = {buf, BUF};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl)};

	(void)i;
	payload[0] = CALLS;
	if (send_one(fd, payload, PAYLOAD) != PAYLOAD)
		return -1;
	return recvmsg(fd, &mh, MSG_CMSG_CLOEXEC) == PAYLOAD ? 0 : -1;
}

static int rtt_message(int fd, int i)
{
	uint8_t out[BUF], in[BUF];
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0), r = NULL;
	size_t k, len = 0;
	ssize_t n;
	bool ok;

	xpc_dictionary_set_data(m, "data", payload, PAYLOAD);
	xpc_dictionary_set_int64(m, "n", i);
	out[0] = MESSAGE;
	k = encode(m, out + 1, BUF - 1);
	ok = k && write(fd, out, k + 1) == (ssize_t)(k + 1) && (n = read(fd, in, BUF)) > 1 &&
	     wire_decode_message(in + 1, (size_t)n - 1, NULL, 0, &r) == 0;
	ok = ok && xpc_dictionary_get_int64(r, "n") == i && xpc_dictionary_get_data(r, "data", &len) && len == PAYLOAD;
	if (r)
		xpc_release(r);
	xpc_release(m);
	return ok ? 0 : -1;
}

typedef int (*RttFn)(int fd, int i);

/* Median latency (us) of a block of @fn; -1 on a failed round trip. */
static double block(int fd, RttFn fn)
{
	static double lat[BLOCK];
	double unused;

	for (int i = 0; i < BLOCK; i++) {
		uint64_t t0 = bench_now_ns();
		if (fn(fd, i) != 0)
			return -1;
		lat[i] = (double)(bench_now_ns() - t0) / 1000.0;
	}
	return bench_stats(lat, BLOCK, &unused);
}

int main(int argc, char **argv)
{
	static const char *names[] = {"calls", "message"};
	static const RttFn fns[] = {rtt_calls, rtt_message};
	int blocks = argc > 1 && atoi(argv[1]) > 0 ? atoi(argv[1]) : 15, sv[2];
	double *raw = calloc((size_t)blocks, sizeof(double)), *v[2], *ratio[2], unused;
	pid_t pid;

	for (int k = 0; k < 2; k++) {
		v[k] = calloc((size_t)blocks, sizeof(double));
		ratio[k] = calloc((size_t)blocks, sizeof(double));
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return 1;
	if ((pid = fork()) == 0) {
		close(sv[0]);
		server(sv[1]);
	}
	close(sv[1]);
	for (int i = 0; i < 200; i++) /* warm up */
		if (rtt_raw(sv[0], i) || rtt_calls(sv[0], i) || rtt_message(sv[0], i))
			return 1;
	for (int b = 0; b < blocks; b++) {
		raw[b] = block(sv[0], rtt_raw);
		for (int k = 0; k < 2; k++) {
			v[k][b] = block(sv[0], fns[k]);
			ratio[k][b] = v[k][b] / raw[b];
		}
		if (raw[b] < 0 || v[0][b] < 0 || v[1][b] < 0)
			return 1;
	}
	close(sv[0]);
	waitpid(pid, NULL, 0);
	printf("floor 64 B, %d blocks of %d: raw %.2f us", blocks, BLOCK, bench_stats(raw, blocks, &unused));
	for (int k = 0; k < 2; k++) {
		double lat = bench_stats(v[k], blocks, &unused);
		printf("; %s %.2f us (%.3fx)", names[k], lat, bench_stats(ratio[k], blocks, &unused));
	}
	printf("\n");
	return 0;
}
