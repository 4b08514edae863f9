/* SPDX-License-Identifier: MIT */
/*
 * sec-attacker - hostile (and one ordinary) client programs, run by the
 * security tests as an unprivileged user against a root broker.
 *
 * The modes that write to a service's channel (garbage, flood, ool) are
 * handed its W by root ($SEC_W_FD: how a holder may pass it on, since
 * xpcd hands W only to root and to the service's user) and first check
 * that their own lookup gets no W.
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
 *   sec-attacker client NAME [priv|pid] an ordinary client: one
 *                                   request; prints "answered euid=N
 *                                   agent=B" (and " pid=P" with pid: the
 *                                   pid the service saw) or "failed:
 *                                   REASON"
 *   sec-attacker client-again NAME MS [NAME2] two named connections MS
 *                                   ms apart (the second to NAME2), one
 *                                   request each; prints "first=R
 *                                   second=R interrupted=N"
 *   sec-attacker shmem NAME         sends NAME shared memory over a memfd
 *                                   it did not seal, truncates the memfd
 *                                   once NAME mapped it, asks NAME to read
 *                                   it; prints "map=M truncate=T read=R"
 *   sec-attacker steal NAME         every way this user has to a
 *                                   descriptor of NAME's W: the lookup
 *                                   op's reply, the checkin op's reply,
 *                                   xpc_endpoint_create() on a named
 *                                   connection (again after
 *                                   connection_forget_services()); shuts
 *                                   down what it got and then every socket
 *                                   it holds; prints "done steal lookup=..
 *                                   checkin=.. endpoint=.." ("W": got one)
 *   sec-attacker refusals NAME DENIED DISABLED
 *                                   xpcd's checkin op without "link", with
 *                                   a pipe, a stream socket, a listening
 *                                   socket, a link a child made; a link of
 *                                   its own to an unknown name, to DENIED
 *                                   and DISABLED; one line each "CASE:
 *                                   REASON errno=N ..."; then a link of its
 *                                   own to NAME: "forwarded: ok ..." and
 *                                   "own: pid=P euid=U egid=G secret=S (mine
 *                                   P U G)" as NAME saw it
 *   sec-attacker fake-broker PATH   a user's "agent" posing as a broker
 *                                   at PATH: every lookup is answered with
 *                                   the endpoint of its own listener,
 *                                   which answers { "agent": true }
 * Per-user channels (test-sec-user-channel): W_u is the endpoint xpcd
 * answers this user's own checkin op with; "hello" means the listener
 * answered a check-in within 2-3 s, "none" it did not, "gone" the send
 * failed (the channel is shut or closed):
 *   sec-attacker clients NAME N     N named connections one after another,
 *                                   one request each; "done clients
 *                                   replies=R of=N"
 *   sec-attacker shut-wu NAME       a check-in over W_u, then shutdown(2)
 *                                   of W_u and one more, then a new W_u
 *                                   from xpcd and a check-in over it
 *   sec-attacker give-wu NAME       sends W_u over its stdin (a socket)
 *   sec-attacker over-w NAME FD     a check-in over the inherited FD, then
 *                                   a named connection of its own
 *   sec-attacker fake-channel NAME [FD] sends a CHANNEL frame (kind 7, one
 *                                   end of a socketpair, its uid) over
 *                                   W_u and over FD (a W passed down) and
 *                                   a check-in over each pair's other end;
 *                                   prints "ready ...", keeps the pairs
 *                                   until a line on stdin
 *   sec-attacker hold NAME          a named connection (the library keeps
 *                                   W_u) and W_u of its own; prints
 *                                   "ready ...", waits for a line on stdin,
 *                                   then a check-in over the W_u it holds
 *                                   and a named connection again
 *   sec-attacker queue NAME         hold; at the first line on stdin a
 *                                   check-in over W_u, "queued sent=S"; at
 *                                   the second it waits up to 10 s for its
 *                                   HELLO, then as hold
 *   sec-attacker queue-over NAME FD a check-in over the inherited FD,
 *                                   "queued sent=S"; at a line on stdin up
 *                                   to 10 s for its HELLO: "done queue-over
 *                                   hello=H"
 *   sec-attacker churn NAME N SHUT  N times: W_u, a check-in over it, its
 *                                   shutdown(2) when SHUT is 1; then a named
 *                                   connection: "done churn wu=G hello=H
 *                                   of=N own=R".  SHUT 2: only W_u and its
 *                                   shutdown, N times (own=none)
 * Each prints one line on stdout when done ("done ..."/"ready").
 */
#include <errno.h>
#include <stdatomic.h>
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
#include "shared/xpcd-protocol.h"
#include "sec-common.h"

/* NAME's W, as a hostile holder gets it: passed down by one who may hold
 * it ($SEC_W_FD, sec_attack_with_w); this user's own lookup must be
 * answered without it. */
static int endpoint_of(const char *name)
{
	const char *passed = getenv("SEC_W_FD");
	int w, got = sec_raw_lookup(getenv("XPCD_SOCKET"), name, &w);

	if (got != 0) {
		printf("failed: this user's lookup of %s %s\n", name, got > 0 ? "got W" : "was refused");
		exit(1);
	}
	if (!passed) {
		printf("failed: no W passed down for %s\n", name);
		exit(1);
	}
	return atoi(passed);
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

static int do_client(const char *name, bool priv, bool pid)
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
		printf("answered euid=%lld agent=%d", (long long)xpc_dictionary_get_int64(r, "euid"),
		       xpc_dictionary_get_bool(r, "agent"));
		if (pid)
			printf(" pid=%lld", (long long)xpc_dictionary_get_int64(r, "pid"));
		printf("\n");
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

/* One "whoami" on a new named connection to @name: "reply" or "failed:
 * REASON" into @buf; INTERRUPTED events counted in *@interrupted. */
static void client_once(const char *name, char *buf, size_t size, _Atomic int *interrupted)
{
	xpc_connection_t c = xpc_connection_create_mach_service(name, NULL, 0);
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0), r;

	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) {
	  if (ev == XPC_ERROR_CONNECTION_INTERRUPTED)
		  atomic_fetch_add(interrupted, 1);
	});
	xpc_connection_resume(c);
	xpc_dictionary_set_string(m, "op", "whoami");
	r = xpc_connection_send_message_with_reply_sync(c, m);
	if (xpc_get_type(r) == XPC_TYPE_DICTIONARY) {
		snprintf(buf, size, "reply");
	} else {
		char *why = xpc_connection_copy_invalidation_reason(c);
		snprintf(buf, size, "failed:%s", why ? why : "(no reason)");
		free(why);
	}
	xpc_release(r);
	xpc_release(m);
	xpc_connection_cancel(c);
	xpc_release(c);
}

/* client-again: two named connections, @gap_ms apart (one request each),
 * the second to @second_name: it goes over the broker link the first kept,
 * or, once xpcd closed that link as idle, is asked again on a new one
 * (named-link.c). */
static int do_client_again(const char *name, int gap_ms, const char *second_name)
{
	static _Atomic int interrupted;
	char first[256], second[256];

	client_once(name, first, sizeof(first), &interrupted);
	usleep((useconds_t)gap_ms * 1000);
	client_once(second_name, second, sizeof(second), &interrupted);
	usleep(100000); /* an INTERRUPTED would come by now */
	printf("first=%s second=%s interrupted=%d\n", first, second, atomic_load(&interrupted));
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

/* ---- what nobody can get of a service's W (test-sec-channel-shutdown) ---- */

/* Ends @fd for every holder, as a hostile one would: 1 if it was a
 * socket that shutdown(2) took.  Closes it. */
static int shut(int fd)
{
	int done = fd >= 0 && shutdown(fd, SHUT_RDWR) == 0;

	if (fd >= 0)
		close(fd);
	return done;
}

/* The W a broker reply carries (a duplicate), or -1. */
static int reply_w(xpc_object_t r)
{
	xpc_object_t ep = r && xpc_get_type(r) == XPC_TYPE_DICTIONARY ? xpc_dictionary_get_value(r, XPCD_KEY_ENDPOINT)
								      : NULL;

	if (!ep || xpc_get_type(ep) != XPC_TYPE_ENDPOINT)
		return -1;
	return fcntl(endpoint_object_borrow_fd(ep), F_DUPFD_CLOEXEC, 3);
}

/* A named connection to @name, one request, then xpc_endpoint_create()
 * on it: the W it gives (a duplicate), or -1; *@ret_answered. */
static int named_w(const char *name, bool *ret_answered)
{
	xpc_connection_t c = xpc_connection_create_mach_service(name, NULL, 0);
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0), r;
	xpc_endpoint_t ep;
	int w = -1;

	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) {
	  (void)ev;
	});
	xpc_connection_resume(c);
	xpc_dictionary_set_string(m, "op", "whoami");
	r = xpc_connection_send_message_with_reply_sync(c, m);
	*ret_answered = xpc_get_type(r) == XPC_TYPE_DICTIONARY;
	ep = xpc_endpoint_create(c);
	if (ep) {
		w = fcntl(endpoint_object_borrow_fd(ep), F_DUPFD_CLOEXEC, 3);
		xpc_release(ep);
	}
	xpc_release(r);
	xpc_release(m);
	xpc_connection_cancel(c);
	xpc_release(c);
	return w;
}

/* Every socket among this process's descriptors from 3 up, shut down:
 * whatever the library may have kept.  Return: how many. */
static int sweep(void)
{
	int n = 0;

	for (int fd = 3; fd < 1024; fd++) {
		struct stat st;
		if (fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) && shutdown(fd, SHUT_RDWR) == 0)
			n++;
	}
	return n;
}

/* "W" for a descriptor of the name's W (its inode: $SEC_NAME_W_INO, from
 * root's lookup), "own" for another socket (this user's own channel to
 * the service: src/broker/user-channels.c), "none". */
static const char *got_w(int w)
{
	const char *ino = getenv("SEC_NAME_W_INO");
	struct stat st;

	if (w < 0)
		return "none";
	if (!ino || fstat(w, &st) < 0 || (unsigned long)st.st_ino == strtoul(ino, NULL, 10))
		return "W";
	return "own";
}

/* Every way this user has to a descriptor of NAME's W: shut down what it
 * got; prints one line "done steal lookup=... checkin=... ..." (got_w for
 * each descriptor it got). */
static int do_steal(const char *name)
{
	const char *sock = getenv("XPCD_SOCKET");
	int w, sv[2], shut_n = 0;
	bool answered, answered2;
	int got = sec_raw_lookup(sock, name, &w);
	const char *lookup = got > 0 ? "W" : got == 0 ? "none" : "refused";

	shut_n += shut(w);
	REQUIRE(unix_link_pair(sv) == 0);
	xpc_object_t r = sec_raw_checkin(sock, name, sv[1]);
	int cw = reply_w(r);
	bool forwarded = r && xpc_get_type(r) == XPC_TYPE_DICTIONARY && xpc_dictionary_get_bool(r, XPCD_KEY_FORWARDED);
	if (r)
		xpc_release(r);
	close(sv[0]);
	close(sv[1]);
	const char *checkin = got_w(cw);
	shut_n += shut(cw);
	int nw = named_w(name, &answered);
	const char *named = got_w(nw);
	shut_n += shut(nw);
	connection_forget_services();
	nw = named_w(name, &answered2);
	const char *again = got_w(nw);
	shut_n += shut(nw);
	int swept = sweep();
	printf("done steal lookup=%s checkin=%s forwarded=%d endpoint=%s answered=%d forget-endpoint=%s "
	       "answered=%d shut=%d swept=%d\n",
	       lookup, checkin, forwarded, named, answered, again, answered2, shut_n, swept);
	return 0;
}

/* ---- the broker's checkin op, refused (test-sec-vend) --------------------- */

/* One end of a link a child process made (the other closed), or -1. */
static int child_made_link(void)
{
	int sv[2];

	if (!sec_child_link(sv))
		return -1;
	close(sv[0]);
	return sv[1];
}

/* The checkin op for @name carrying @link (closed here; -1: none):
 * prints "WHAT: REASON errno=N endpoint=E" or "WHAT: ok forwarded=F ...". */
static void checkin_case(const char *what, const char *name, int link)
{
	xpc_object_t r = sec_raw_checkin(getenv("XPCD_SOCKET"), name, link);
	bool dict = r && xpc_get_type(r) == XPC_TYPE_DICTIONARY;
	const char *err = dict ? xpc_dictionary_get_string(r, XPCD_KEY_ERROR) : "no reply";
	int w = reply_w(r);

	printf("%s: %s errno=%lld forwarded=%d endpoint=%d\n", what, err ? err : "ok",
	       dict ? (long long)xpc_dictionary_get_int64(r, XPCD_KEY_ERRNO) : -1LL,
	       dict && xpc_dictionary_get_bool(r, XPCD_KEY_FORWARDED), w >= 0);
	if (w >= 0)
		close(w);
	if (r)
		xpc_release(r);
	if (link >= 0)
		close(link);
}

/* A listening SEQPACKET socket of this process's (autobound: an
 * abstract name the kernel picks). */
static int listening_socket(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	REQUIRE(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa_family_t)) == 0 && listen(fd, 4) == 0);
	return fd;
}

/* A check-in through the broker of a link of this process's, then
 * "whoami" on it: "own: pid=P euid=U egid=G (mine P U G)". */
static void checkin_own(const char *name)
{
	int sv[2];
	xpc_object_t who;

	REQUIRE(unix_link_pair(sv) == 0);
	checkin_case("forwarded", name, sv[1]);
	who = sec_link_whoami(sv[0]);
	printf("own: pid=%lld euid=%lld egid=%lld secret=%s (mine %d %d %d)\n",
	       who ? (long long)xpc_dictionary_get_int64(who, "pid") : -1LL,
	       who ? (long long)xpc_dictionary_get_int64(who, "euid") : -1LL,
	       who ? (long long)xpc_dictionary_get_int64(who, "egid") : -1LL,
	       who && xpc_dictionary_get_string(who, "secret") ? "yes" : "no", (int)getpid(), (int)geteuid(),
	       (int)getegid());
	if (who)
		xpc_release(who);
	close(sv[0]);
}

/* Every refusal of the checkin op, then one that is taken. */
static int do_refusals(const char *name, const char *denied, const char *disabled)
{
	int p[2], st[2], own[2];

	checkin_case("missing", name, -1);
	REQUIRE(pipe2(p, O_CLOEXEC) == 0);
	close(p[1]);
	checkin_case("pipe", name, p[0]);
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, st) == 0);
	close(st[0]);
	checkin_case("stream", name, st[1]);
	checkin_case("listening", name, listening_socket());
	checkin_case("foreign", name, child_made_link());
	for (int i = 0; i < 3; i++) { /* a link it made, to names it may not reach */
		const char *what[] = {"unknown", "denied", "disabled"};
		const char *to[] = {"org.sec.nosuch", denied, disabled};
		REQUIRE(unix_link_pair(own) == 0);
		checkin_case(what[i], to[i], own[1]);
		close(own[0]);
	}
	checkin_own(name);
	printf("done refusals\n");
	return 0;
}

/* ---- per-user channels (test-sec-user-channel) ------------------------- */

/* W_u of @name: the endpoint xpcd answers this user's checkin op with
 * (a link of its own, closed here), or -1. */
static int user_channel(const char *name)
{
	int sv[2], wu;
	xpc_object_t r;

	REQUIRE(unix_link_pair(sv) == 0);
	r = sec_raw_checkin(getenv("XPCD_SOCKET"), name, sv[1]);
	wu = reply_w(r);
	if (r)
		xpc_release(r);
	close(sv[0]);
	close(sv[1]);
	return wu;
}

/* The kind of the first frame on our end @fd of a link within @ms, or 0. */
static unsigned first_frame_within(int fd, int ms)
{
	static TransportFrame f;
	unsigned kind = poll(&(struct pollfd){.fd = fd, .events = POLLIN}, 1, ms) == 1 && transport_recv(fd, &f) == 0
				? f.hdr.kind : 0;

	frame_clear(&f);
	return kind;
}

/* True if the first frame on our end @fd of a link is HELLO within @ms. */
static bool hello_within(int fd, int ms)
{
	return first_frame_within(fd, ms) == FRAME_HELLO;
}

/* A check-in of a new link over @w: "hello", "refused" (the listener
 * said why instead), "none" or "gone". */
static const char *checkin_over(int w, int ms)
{
	int fd;
	ConnError e = checkin_make(w, false, &fd);
	const char *what;

	if (e != CONN_OK)
		return e == CONN_E_LISTENER_GONE ? "gone" : "error";
	switch (first_frame_within(fd, ms)) {
	case FRAME_HELLO:
		what = "hello";
		break;
	case FRAME_REFUSED:
		what = "refused";
		break;
	default:
		what = "none";
	}
	close(fd);
	return what;
}

static int no_user_channel(const char *mode)
{
	printf("failed %s: no W_u in the answer to this user's checkin op (no per-user channel)\n", mode);
	return 1;
}

/* Waits up to 30 s for a line on stdin (the test's go-ahead). */
static void wait_go(void)
{
	char c;

	if (poll(&(struct pollfd){.fd = 0, .events = POLLIN}, 1, 30000) == 1 && read(0, &c, 1) < 0)
		perror("read");
}

static int do_clients(const char *name, int n)
{
	static _Atomic int interrupted;
	char buf[256];
	int replies = 0;

	for (int i = 0; i < n; i++) {
		client_once(name, buf, sizeof(buf), &interrupted);
		replies += !strcmp(buf, "reply");
	}
	printf("done clients replies=%d of=%d\n", replies, n);
	return 0;
}

static int do_shut_wu(const char *name)
{
	int wu = user_channel(name), again;
	const char *own, *after, *fresh;
	bool shut;

	if (wu < 0)
		return no_user_channel("shut-wu");
	own = checkin_over(wu, 3000);
	shut = shutdown(wu, SHUT_RDWR) == 0;
	after = checkin_over(wu, 2000);
	close(wu);
	again = user_channel(name); /* xpcd sees W_u shut: a new one */
	fresh = again >= 0 ? checkin_over(again, 3000) : "no-W_u";
	if (again >= 0)
		close(again);
	printf("done shut-wu own=%s shut=%d after=%s fresh=%s\n", own, shut, after, fresh);
	return 0;
}

static int do_give_wu(const char *name)
{
	FrameHeader h = {.kind = FRAME_MESSAGE, .id = 1};
	int wu = user_channel(name), sent;

	if (wu < 0)
		return no_user_channel("give-wu");
	sent = transport_send(0, &h, NULL, 0, &wu, 1) == 0;
	close(wu);
	printf("done give-wu sent=%d\n", sent);
	return 0;
}

static int do_over_w(const char *name, int w)
{
	static _Atomic int interrupted;
	const char *over = checkin_over(w, 2000);
	char own[256];

	client_once(name, own, sizeof(own), &interrupted);
	printf("done over-w over=%s own=%s\n", over, own);
	return 0;
}

/* A CHANNEL frame over @w, shaped as xpcd's (frame.h), carrying one end
 * of a new pair (this user's uid in its body); a check-in over the other
 * end, kept in *@ret_keep.
 * Return: what the check-in met ("sent-failed" if the frame was not). */
static const char *fake_channel(int w, int *ret_keep)
{
	uint8_t pkt[FRAME_HEADER_SIZE + FRAME_CHANNEL_BODY];
	FrameHeader h = {.magic = FRAME_MAGIC, .kind = FRAME_CHANNEL, .n_fds = 1, .body_len = FRAME_CHANNEL_BODY};
	uint32_t uid = (uint32_t)geteuid(); /* little-endian here */
	struct iovec iov = {pkt, sizeof(pkt)};
	union {
		struct cmsghdr a;
		char b[CMSG_SPACE(sizeof(int))];
	} ctl = {0};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b, .msg_controllen = sizeof(ctl.b)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	int sv[2];

	REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
	memcpy(pkt, &h, sizeof(h));
	memcpy(pkt + sizeof(h), &uid, FRAME_CHANNEL_BODY);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &sv[0], sizeof(int));
	bool sent = sendmsg(w, &msg, MSG_NOSIGNAL) == (ssize_t)sizeof(pkt);
	close(sv[0]);
	*ret_keep = sv[1];
	usleep(200000); /* the listener reads it */
	return sent ? checkin_over(sv[1], 2000) : "sent-failed";
}

static int do_fake_channel(const char *name, int w)
{
	int wu = user_channel(name), keep_wu = -1, keep_w = -1;
	const char *via_wu = wu >= 0 ? fake_channel(wu, &keep_wu) : "no-W_u";
	const char *via_w = w >= 0 ? fake_channel(w, &keep_w) : "no-W";

	printf("ready fake-channel wu=%s w=%s\n", via_wu, via_w);
	fflush(stdout);
	wait_go();
	printf("done fake-channel\n");
	return 0;
}

/* A named connection (the library keeps W_u) and W_u of its own:
 * "ready MODE first=R endpoint=E", then the test's go-ahead.  Its W_u. */
static int held_user_channel(const char *name, const char *mode)
{
	static _Atomic int interrupted;
	char first[256];
	int wu;

	client_once(name, first, sizeof(first), &interrupted);
	wu = user_channel(name);
	printf("ready %s first=%s endpoint=%s\n", mode, first, wu >= 0 ? "W" : "no-W_u");
	fflush(stdout);
	wait_go();
	return wu;
}

static int do_hold(const char *name)
{
	static _Atomic int interrupted;
	char again[256];
	int wu = held_user_channel(name, "hold");
	const char *direct = wu >= 0 ? checkin_over(wu, 2000) : "no-W_u";

	client_once(name, again, sizeof(again), &interrupted);
	printf("done hold direct=%s again=%s\n", direct, again);
	if (wu >= 0)
		close(wu);
	return 0;
}

/* hold, then a check-in over W_u while the test keeps the service stopped,
 * which it then kills: the check-in waits for the next instance. */
static int do_queue(const char *name)
{
	static _Atomic int interrupted;
	char again[256];
	int wu = held_user_channel(name, "queue"), fd = -1;
	bool sent = wu >= 0 && checkin_make(wu, false, &fd) == CONN_OK;

	printf("queued sent=%d\n", sent);
	fflush(stdout);
	wait_go();
	const char *moved = sent ? (hello_within(fd, 10000) ? "hello" : "none") : "unsent";
	const char *direct = wu >= 0 ? checkin_over(wu, 2000) : "no-W_u";
	client_once(name, again, sizeof(again), &interrupted); /* over the W_u it kept, then xpcd */
	printf("done queue moved=%s direct=%s again=%s\n", moved, direct, again);
	if (fd >= 0)
		close(fd);
	if (wu >= 0)
		close(wu);
	return 0;
}

/* A check-in over the inherited @w ("queued sent=S"); at a line on stdin
 * up to 10 s for its HELLO. */
static int do_queue_over(int w)
{
	int fd = -1;
	bool sent = checkin_make(w, false, &fd) == CONN_OK;

	printf("queued sent=%d\n", sent);
	fflush(stdout);
	wait_go();
	printf("done queue-over hello=%d\n", sent && hello_within(fd, 10000));
	if (fd >= 0)
		close(fd);
	return 0;
}

/* @n times: W_u from xpcd, a check-in over it (1 s for its HELLO) unless
 * @shut is 2, and with @shut its shutdown(2); then a named connection. */
static int do_churn(const char *name, int n, int shut)
{
	static _Atomic int interrupted;
	int got = 0, hello = 0;
	char own[256];

	for (int i = 0; i < n; i++) {
		int wu = user_channel(name);
		if (wu < 0)
			continue;
		got++;
		hello += shut != 2 && !strcmp(checkin_over(wu, 1000), "hello");
		if (shut)
			shutdown(wu, SHUT_RDWR);
		close(wu);
	}
	if (shut != 2)
		client_once(name, own, sizeof(own), &interrupted);
	else
		snprintf(own, sizeof(own), "none");
	printf("done churn wu=%d hello=%d of=%d own=%s\n", got, hello, n, own);
	return 0;
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
		return do_client(argv[2], argc > 3 && !strcmp(argv[3], "priv"),
				 argc > 3 && !strcmp(argv[3], "pid"));
	if (argc >= 4 && !strcmp(argv[1], "client-again"))
		return do_client_again(argv[2], atoi(argv[3]), argc > 4 ? argv[4] : argv[2]);
	if (argc >= 3 && !strcmp(argv[1], "shmem"))
		return do_shmem(argv[2]);
	if (argc >= 3 && !strcmp(argv[1], "steal"))
		return do_steal(argv[2]);
	if (argc >= 5 && !strcmp(argv[1], "refusals"))
		return do_refusals(argv[2], argv[3], argv[4]);
	if (argc >= 3 && !strcmp(argv[1], "fake-broker"))
		return do_fake_broker(argv[2]);
	if (argc >= 4 && !strcmp(argv[1], "clients"))
		return do_clients(argv[2], atoi(argv[3]));
	if (argc >= 3 && !strcmp(argv[1], "shut-wu"))
		return do_shut_wu(argv[2]);
	if (argc >= 3 && !strcmp(argv[1], "give-wu"))
		return do_give_wu(argv[2]);
	if (argc >= 4 && !strcmp(argv[1], "over-w"))
		return do_over_w(argv[2], atoi(argv[3]));
	if (argc >= 3 && !strcmp(argv[1], "fake-channel"))
		return do_fake_channel(argv[2], argc > 3 ? atoi(argv[3]) : -1);
	if (argc >= 3 && !strcmp(argv[1], "hold"))
		return do_hold(argv[2]);
	if (argc >= 3 && !strcmp(argv[1], "queue"))
		return do_queue(argv[2]);
	if (argc >= 4 && !strcmp(argv[1], "queue-over"))
		return do_queue_over(atoi(argv[3]));
	if (argc >= 5 && !strcmp(argv[1], "churn"))
		return do_churn(argv[2], atoi(argv[3]), atoi(argv[4]));
	fprintf(stderr, "usage: see the header of sec-attacker.c\n");
	return 2;
}
