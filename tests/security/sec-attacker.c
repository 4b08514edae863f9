/* SPDX-License-Identifier: MIT */
/*
 * sec-attacker - hostile (and one ordinary) client programs, run by the
 * security tests as an unprivileged user against a root broker.
 *
 *   sec-attacker garbage NAME       writes to NAME's channel (W) what no
 *                                   client should: an empty packet, bytes
 *                                   that are no frame, frames of every
 *                                   other kind, check-ins without or with a
 *                                   wrong descriptor, an out-of-line body
 *   sec-attacker flood NAME N P     N check-ins each carrying a duplicate
 *                                   of NAME's own W, and P socketpairs
 *                                   whose both ends are checked in; exits
 *   sec-attacker ool NAME LINKS MIB LINKS links to NAME, each sending one
 *                                   message with a MIB MiB data item whose
 *                                   bytes are holes of a sealed memfd (it
 *                                   costs this process nothing)
 *   sec-attacker ool-broker LINKS MIB the same on LINKS links to the
 *                                   broker itself ($XPCD_SOCKET)
 *   sec-attacker client NAME [priv] an ordinary client: one request;
 *                                   prints "answered euid=N agent=B" or
 *                                   "failed: REASON"
 *   sec-attacker shmem NAME         sends NAME shared memory over a memfd
 *                                   it did not seal, truncates the memfd
 *                                   once NAME mapped it, asks NAME to read
 *                                   it; prints "map=M truncate=T read=R"
 *   sec-attacker fake-broker PATH   a user's "agent" posing as a broker
 *                                   at PATH: every lookup is answered with
 *                                   the endpoint of its own listener,
 *                                   which answers { "agent": true }
 * Each prints one line on stdout when done ("done ..."/"ready").
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <xpc/xpc.h>

#include "connection/connection.h"
#include "connection/internal.h"
#include "object/object.h"
#include "transport/unix/unix.h"
#include "wire/wire.h"
#include "harness.h"

int sec_raw_endpoint(const char *sock, const char *name);

static int endpoint_of(const char *name)
{
	int w = sec_raw_endpoint(getenv("XPCD_SOCKET"), name);

	if (w < 0) {
		printf("failed: no endpoint for %s\n", name);
		exit(1);
	}
	return w;
}

static void send_raw(int w, const void *p, size_t len, const int *fds, size_t n_fds)
{
	union {
		struct cmsghdr a;
		char b[CMSG_SPACE(sizeof(int) * 253)];
	} ctl;
	struct iovec iov = {(void *)p, len};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};

	if (n_fds) {
		memset(&ctl, 0, sizeof(ctl));
		msg.msg_control = ctl.b;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
	}
	for (int i = 0; i < 100; i++) {
		if (sendmsg(w, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0 || errno != EAGAIN)
			return;
		poll(&(struct pollfd){.fd = w, .events = POLLOUT}, 1, 50);
	}
}

/* A sealed memfd of @len bytes whose first @n bytes are @head, the rest
 * holes. */
static int holes_memfd(const void *head, size_t n, size_t len)
{
	int fd = memfd_create("holes", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0 || ftruncate(fd, (off_t)len) < 0 || pwrite(fd, head, n, 0) != (ssize_t)n ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0) {
		printf("failed: memfd\n");
		exit(1);
	}
	return fd;
}

static int do_garbage(const char *name)
{
	int w = endpoint_of(name), p[2], sv[2];
	FrameHeader h = {.magic = FRAME_MAGIC};
	static const uint8_t junk[] = "this is not a frame";

	for (int i = 0; i < 3; i++) {
		send_raw(w, "", 0, NULL, 0); /* the empty packet: was read as the channel's end */
		send_raw(w, junk, sizeof(junk), NULL, 0);
	}
	REQUIRE(pipe2(p, O_CLOEXEC) == 0);
	for (unsigned k = 0; k <= 6; k++) { /* every kind, with and without a descriptor */
		h.kind = (uint8_t)k;
		h.n_fds = 0;
		send_raw(w, &h, sizeof(h), NULL, 0);
		h.n_fds = 1;
		send_raw(w, &h, sizeof(h), &p[0], 1);
	}
	h.kind = FRAME_CHECKIN; /* a check-in carrying a pipe, a stream socket, two sockets */
	h.n_fds = 1;
	send_raw(w, &h, sizeof(h), &p[1], 1);
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	send_raw(w, &h, sizeof(h), &sv[0], 1);
	h.n_fds = 2;
	send_raw(w, &h, sizeof(h), sv, 2);
	/* an out-of-line body of 64 MiB of holes on the channel */
	h.kind = FRAME_MESSAGE;
	h.flags = FRAME_F_OOL;
	h.id = 1;
	h.n_fds = 1;
	h.body_len = 64u << 20;
	int m = holes_memfd("", 0, h.body_len);
	send_raw(w, &h, sizeof(h), &m, 1);
	send_raw(w, "", 0, NULL, 0);
	printf("done garbage\n");
	return 0;
}

static int do_flood(const char *name, int n, int pairs)
{
	int w = endpoint_of(name), sent = 0;
	FrameHeader h = {.magic = FRAME_MAGIC, .kind = FRAME_CHECKIN, .id = 1, .n_fds = 1};

	for (int i = 0; i < n; i++) { /* a link that would never end, for free */
		if (transport_sendv(w, &h, NULL, 0, 0, &w, 1, -1) == 0)
			sent++;
		else
			poll(&(struct pollfd){.fd = w, .events = POLLOUT}, 1, 20);
	}
	for (int i = 0; i < pairs; i++) { /* both ends of one pair: the service links itself */
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
			break;
		for (int k = 0; k < 2; k++) {
			for (int t = 0;
			     t < 50 && transport_sendv(w, &h, NULL, 0, 0, &sv[k], 1, -1) == -EAGAIN;
			     t++)
				poll(&(struct pollfd){.fd = w, .events = POLLOUT}, 1, 20);
		}
		close(sv[0]);
		close(sv[1]);
		sent += 2;
	}
	printf("done flood sent=%d\n", sent);
	return 0;
}

/* A link to the broker at $XPCD_SOCKET, or -1. */
static int broker_link(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", getenv("XPCD_SOCKET"));
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* LINKS links to NAME's service (NULL: to the broker), each sending one
 * message { "d": data(MIB MiB) } whose data is holes. */
static int do_ool(const char *name, int links, size_t mib)
{
	int w = name ? endpoint_of(name) : -1, sent = 0;
	size_t n = mib << 20;
	/* { "d": data(n) }: the layout of docs/wire.md, the data's bytes holes */
	uint32_t head[8] = {0x40585043u, 5,    0xf000, (uint32_t)(16 + n),
			    1,           0x64, 0x8000, (uint32_t)n};
	int *fd = calloc((size_t)links, sizeof(int));

	for (int i = 0; i < links; i++) {
		char buf[64];
		fd[i] = -1;
		if (!name) {
			if ((fd[i] = broker_link()) < 0)
				continue;
		} else if (checkin_make(w, true, &fd[i]) != CONN_OK) {
			continue;
		} else if (recv(fd[i], buf, sizeof(buf), 0) != FRAME_HEADER_SIZE) { /* the hello */
			continue;
		}
		int m = holes_memfd(head, sizeof(head), sizeof(head) + n);
		FrameHeader h = {.kind = FRAME_MESSAGE, .id = 1};
		if (transport_sendv(fd[i], &h, NULL, 0, sizeof(head) + n, NULL, 0, m) == 0)
			sent++;
		close(m);
	}
	/* then a request on each link: its reply (FIFO) or the link's end
	 * says the receiver has read the body */
	xpc_object_t q = xpc_dictionary_create(NULL, NULL, 0);
	WireBuffer qb = {0};
	WireFds qf = {0};
	xpc_dictionary_set_string(q, "op", "whoami");
	REQUIRE(wire_encode_message(q, &qb, &qf) == 0);
	int answered = 0, ended = 0;
	for (int i = 0; i < links; i++) {
		static TransportFrame f;
		FrameHeader h = {.kind = FRAME_MESSAGE, .flags = FRAME_F_WANTS_REPLY, .id = 2};
		if (fd[i] < 0 || transport_send(fd[i], &h, qb.data, qb.len, NULL, 0) < 0) {
			ended++;
			continue;
		}
		for (;;) {
			if (poll(&(struct pollfd){.fd = fd[i], .events = POLLIN}, 1, 20000) != 1)
				break;
			int r = transport_recv(fd[i], &f);
			bool reply = r == 0 && f.hdr.kind == FRAME_REPLY;
			frame_clear(&f);
			if (reply || (r != 0 && r != -EAGAIN)) {
				answered += reply;
				ended += !reply;
				break;
			}
		}
	}
	printf("done ool sent=%d answered=%d ended=%d\n", sent, answered, ended);
	for (int i = 0; i < links; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	free(fd);
	wire_buffer_free(&qb);
	wire_fds_free(&qf);
	xpc_release(q);
	if (w >= 0)
		close(w);
	return 0;
}

static int do_client(const char *name, bool priv)
{
	xpc_connection_t c = xpc_connection_create_mach_service(
		name, NULL, priv ? XPC_CONNECTION_MACH_SERVICE_PRIVILEGED : 0);
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0), r;

	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) {
	  (void)ev;
	});
	xpc_connection_resume(c);
	xpc_dictionary_set_string(m, "op", "whoami");
	r = xpc_connection_send_message_with_reply_sync(c, m);
	if (xpc_get_type(r) == XPC_TYPE_DICTIONARY) {
		printf("answered euid=%lld agent=%d\n",
		       (long long)xpc_dictionary_get_int64(r, "euid"),
		       xpc_dictionary_get_bool(r, "agent"));
	} else {
		char *why = xpc_connection_copy_invalidation_reason(c);
		printf("failed: %s\n", why ? why : "(no reason)");
		free(why);
	}
	xpc_release(r);
	xpc_release(m);
	xpc_connection_cancel(c);
	xpc_release(c);
	return 0;
}

/* One request { "op": @op, "shm": @shm } to @c: "yes" when answered with
 * @key, "no" when answered without, else "error". */
static const char *shm_ask(xpc_connection_t c, const char *op, xpc_object_t shm, const char *key)
{
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0), r;
	const char *what;

	xpc_dictionary_set_string(m, "op", op);
	if (shm)
		xpc_dictionary_set_value(m, "shm", shm);
	r = xpc_connection_send_message_with_reply_sync(c, m);
	if (xpc_get_type(r) != XPC_TYPE_DICTIONARY)
		what = "error";
	else
		what = xpc_dictionary_get_value(r, key) ? "yes" : "no";
	xpc_release(r);
	xpc_release(m);
	return what;
}

static int do_shmem(const char *name)
{
	int fd = memfd_create("attacker", MFD_CLOEXEC);
	xpc_connection_t c = xpc_connection_create_mach_service(name, NULL, 0);
	xpc_object_t shm;
	const char *map, *rd;
	bool truncated;

	if (fd < 0 || ftruncate(fd, 4096) < 0 || !(shm = shmem_object_create_consume(dup(fd), 4096))) {
		printf("failed: memfd\n");
		return 1;
	}
	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) {
	  (void)ev;
	});
	xpc_connection_resume(c);
	map = shm_ask(c, "map", shm, "mapped");
	truncated = ftruncate(fd, 0) == 0; /* under the service's mapping */
	rd = shm_ask(c, "read", NULL, "sum");
	printf("map=%s truncate=%s read=%s\n", map, truncated ? "yes" : "no", rd);
	xpc_release(shm);
	close(fd);
	xpc_connection_cancel(c);
	xpc_release(c);
	return 0;
}

static int do_fake_broker(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	xpc_connection_t l = xpc_connection_create(NULL, NULL);
	xpc_endpoint_t ep = xpc_endpoint_create(l);

	xpc_connection_set_event_handler(l, ^(xpc_object_t peer) {
	  if (xpc_get_type(peer) != XPC_TYPE_CONNECTION)
		  return;
	  xpc_connection_set_event_handler(peer, ^(xpc_object_t msg) {
	    xpc_object_t reply = xpc_get_type(msg) == XPC_TYPE_DICTIONARY
					 ? xpc_dictionary_create_reply(msg)
					 : NULL;
	    if (!reply)
		    return;
	    xpc_dictionary_set_bool(reply, "agent", true);
	    xpc_dictionary_set_int64(reply, "euid", geteuid());
	    xpc_connection_send_message(peer, reply);
	    xpc_release(reply);
	  });
	  xpc_connection_resume(peer);
	});
	xpc_connection_resume(l);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0666) < 0 ||
	    listen(lfd, 64) < 0) {
		printf("failed: bind %s: %s\n", path, strerror(errno));
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		xpc_connection_t b = connection_create_from_socket(fd, NULL);
		xpc_connection_set_event_handler(b, ^(xpc_object_t msg) {
		  xpc_object_t reply = xpc_get_type(msg) == XPC_TYPE_DICTIONARY
					       ? xpc_dictionary_create_reply(msg)
					       : NULL;
		  if (!reply)
			  return;
		  xpc_dictionary_set_value(reply, "endpoint", ep);
		  xpc_connection_send_message(b, reply);
		  xpc_release(reply);
		});
		xpc_connection_resume(b);
	}
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 3 && !strcmp(argv[1], "garbage"))
		return do_garbage(argv[2]);
	if (argc >= 5 && !strcmp(argv[1], "flood"))
		return do_flood(argv[2], atoi(argv[3]), atoi(argv[4]));
	if (argc >= 5 && !strcmp(argv[1], "ool"))
		return do_ool(argv[2], atoi(argv[3]), (size_t)atoi(argv[4]));
	if (argc >= 4 && !strcmp(argv[1], "ool-broker"))
		return do_ool(NULL, atoi(argv[2]), (size_t)atoi(argv[3]));
	if (argc >= 3 && !strcmp(argv[1], "client"))
		return do_client(argv[2], argc > 3 && !strcmp(argv[3], "priv"));
	if (argc >= 3 && !strcmp(argv[1], "shmem"))
		return do_shmem(argv[2]);
	if (argc >= 3 && !strcmp(argv[1], "fake-broker"))
		return do_fake_broker(argv[2]);
	fprintf(stderr, "usage: see the header of sec-attacker.c\n");
	return 2;
}
