/* SPDX-License-Identifier: MIT */
/*
 * test-sec-checkin - hostile check-ins and descriptor floods, in one
 * process pair (docs/security.md, "Identity at check-in", "Descriptor and
 * memory charges").
 *
 *   odd      A root listener; a child as nobody holds its W and sends
 *            check-ins carrying a regular file, a SOCK_STREAM socket, a
 *            listening SEQPACKET socket, an epoll descriptor, an
 *            unconnected SEQPACKET socket, a socket its root parent made,
 *            W itself, 253 descriptors in one frame, none; empty packets
 *            and garbage.  None may become a peer; the listener goes on,
 *            does not spin (CPU time over the attack), leaks nothing; the
 *            child's own proper check-in is then served, as nobody.
 *   fdflood  A malicious peer (a child as nobody) sends its root client
 *            300 messages of 200 descriptors each while the client's
 *            handler is stuck on the first: the descriptors the client
 *            holds stay bounded (queued messages count 4 KiB per
 *            descriptor against the 4 MiB unread budget: ~1 000, plus what
 *            one message brings); before, the client took descriptors until
 *            its limit (the link then ended with MSG_CTRUNC).  Once the
 *            handler goes on, all 300 arrive and every descriptor is closed.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "connection/internal.h"
#include "sec-common.h"
#include "transport/transport.h"
#include "wire/wire.h"

static void send_fds(int w, const void *p, size_t len, const int *fds, size_t n)
{
	union {
		struct cmsghdr a;
		char b[CMSG_SPACE(sizeof(int) * 253)];
	} ctl;
	struct iovec iov = {(void *)p, len};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};

	if (n) {
		memset(&ctl, 0, sizeof(ctl));
		msg.msg_control = ctl.b;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	}
	if (sendmsg(w, &msg, MSG_NOSIGNAL) < 0)
		fprintf(stderr, "child: sendmsg: %s\n", strerror(errno));
}

static void checkin_with(int w, int fd)
{
	FrameHeader h = {.magic = FRAME_MAGIC, .kind = FRAME_CHECKIN, .id = 1, .n_fds = 1};

	send_fds(w, &h, sizeof(h), &fd, 1);
	close(fd);
}

/* The child of "odd": every bad check-in, then a proper one. */
static int odd_child(int w, int foreign)
{
	FrameHeader h = {.magic = FRAME_MAGIC, .kind = FRAME_CHECKIN, .id = 1};
	int sv[2], many[253];
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	checkin_with(w, memfd_create("regular", MFD_CLOEXEC));
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	checkin_with(w, sv[0]);
	close(sv[1]);
	int ls = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "xpc-sec-test-%d", (int)getpid());
	REQUIRE(bind(ls, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(ls, 4) == 0);
	checkin_with(w, ls);
	checkin_with(w, epoll_create1(EPOLL_CLOEXEC));
	checkin_with(w, socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
	checkin_with(w, foreign);
	checkin_with(w, fcntl(w, F_DUPFD_CLOEXEC, 3));
	REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
	for (int i = 0; i < 253; i++)
		many[i] = sv[1];
	h.n_fds = 253;
	send_fds(w, &h, sizeof(h), many, 253);
	close(sv[0]);
	close(sv[1]);
	h.n_fds = 0;
	send_fds(w, &h, sizeof(h), NULL, 0);
	for (int i = 0; i < 50; i++) {
		send_fds(w, "", 0, NULL, 0);
		send_fds(w, "garbage!", 8, NULL, 0);
	}
	/* and a proper client, which must be served as what it is */
	xpc_endpoint_t ep = endpoint_create_from_send_fd(w);
	xpc_connection_t c = xpc_connection_create_from_endpoint(ep);
	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) {
	  (void)ev;
	});
	xpc_connection_resume(c);
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0);
	xpc_object_t r = xpc_connection_send_message_with_reply_sync(c, m);
	bool ok = xpc_get_type(r) == XPC_TYPE_DICTIONARY &&
		  xpc_dictionary_get_int64(r, "euid") == (int64_t)harness_unprivileged_user(0).uid;
	return ok ? 0 : 3;
}

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

static bool conn_test_wait_sem(dispatch_semaphore_t s, unsigned seconds)
{
	return dispatch_semaphore_wait(
		       s, dispatch_time(DISPATCH_TIME_NOW, (int64_t)seconds * 1000000000LL)) == 0;
}

static int test_odd(void)
{
	static atomic_int peers;
	xpc_connection_t l = xpc_connection_create(NULL, NULL);
	xpc_endpoint_t ep = xpc_endpoint_create(l);
	int w = endpoint_object_borrow_fd((xpc_object_t)ep), foreign[2];

	xpc_connection_set_event_handler(l, ^(xpc_object_t peer) {
	  if (xpc_get_type(peer) != XPC_TYPE_CONNECTION)
		  return;
	  atomic_fetch_add(&peers, 1);
	  xpc_connection_set_event_handler(peer, ^(xpc_object_t msg) {
	    xpc_object_t reply = xpc_get_type(msg) == XPC_TYPE_DICTIONARY
					 ? xpc_dictionary_create_reply(msg)
					 : NULL;
	    if (!reply)
		    return;
	    xpc_dictionary_set_int64(reply, "euid", xpc_connection_get_euid(peer));
	    xpc_connection_send_message(peer, reply);
	    xpc_release(reply);
	  });
	  xpc_connection_resume(peer);
	});
	xpc_connection_resume(l);
	REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, foreign) == 0);
	double cpu0 = cpu_seconds();
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		harness_become(harness_unprivileged_user(0));
		_exit(odd_child(w, foreign[1]));
	}
	close(foreign[1]);
	int st = harness_wait_pid(pid, 30);
	CHECK(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	usleep(300000);
	double used = cpu_seconds() - cpu0;
	fprintf(stderr, "odd: peers accepted %d, CPU %.3f s\n", atomic_load(&peers), used);
	CHECK_EQ_INT(atomic_load(&peers), 1);
	CHECK(used < 1.0);
	close(foreign[0]);
	xpc_release(ep);
	xpc_connection_cancel(l);
	xpc_release(l);
	return 0;
}

#define FLOOD_MSGS 300
#define FLOOD_FDS 200

/* The malicious peer: reads the client's request, sends FLOOD_MSGS
 * messages of FLOOD_FDS descriptors each, then the reply. */
static int flood_child(int s)
{
	static TransportFrame f;
	int p[2];
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0), a = xpc_array_create(NULL, 0);
	xpc_object_t empty = xpc_dictionary_create(NULL, NULL, 0);

	REQUIRE(pipe2(p, O_CLOEXEC) == 0);
	for (int i = 0; i < FLOOD_FDS; i++) {
		xpc_object_t fo = xpc_fd_create(p[0]);
		xpc_array_append_value(a, fo);
		xpc_release(fo);
	}
	xpc_dictionary_set_value(m, "fds", a);
	WireBuffer body = {0}, rbody = {0};
	WireFds fds = {0}, rfds = {0};
	REQUIRE(wire_encode_message(m, &body, &fds) == 0 &&
		wire_encode_message(empty, &rbody, &rfds) == 0);
	uint64_t req = 0;
	while (!req) { /* the hello-less link: the request is the first frame */
		poll(&(struct pollfd){.fd = s, .events = POLLIN}, 1, 5000);
		int r = transport_recv(s, &f);
		if (r == 0 && f.hdr.kind == FRAME_MESSAGE && (f.hdr.flags & FRAME_F_WANTS_REPLY))
			req = f.hdr.id;
		else if (r != 0 && r != -EAGAIN)
			return 5;
		transport_frame_clear(&f);
	}
	for (int i = 0; i <= FLOOD_MSGS; i++) {
		FrameHeader h = {.kind = FRAME_MESSAGE, .id = (uint64_t)i + 1};
		bool last = i == FLOOD_MSGS;
		int r = 0;
		if (last) {
			h.kind = FRAME_REPLY;
			h.reply_to = req;
		}
		for (int t = 0; t < 3000; t++) {
			r = last ? transport_send(s, &h, rbody.data, rbody.len, NULL, 0)
				 : transport_send(s, &h, body.data, body.len, fds.fds, fds.n);
			if (r != -EAGAIN && r != -ETOOMANYREFS)
				break;
			poll(&(struct pollfd){.fd = s, .events = POLLOUT}, 1, 10);
		}
		if (r != 0)
			return 4;
	}
	return 0;
}

static int test_fdflood(void)
{
	static atomic_int got;
	dispatch_semaphore_t go = dispatch_semaphore_create(0), done = dispatch_semaphore_create(0);
	int sv[2];

	REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
	int base = harness_count_fds();
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		harness_become(harness_unprivileged_user(0));
		_exit(flood_child(sv[1]));
	}
	close(sv[1]);
	xpc_connection_t c = connection_create_from_socket(sv[0], NULL);
	xpc_connection_set_event_handler(c, ^(xpc_object_t msg) {
	  if (xpc_get_type(msg) != XPC_TYPE_DICTIONARY)
		  return;
	  if (atomic_fetch_add(&got, 1) == 0)
		  dispatch_semaphore_wait(go, DISPATCH_TIME_FOREVER); /* a stuck handler */
	});
	xpc_connection_resume(c);
	/* a request whose caller reads the link (and queues the flood for the
	 * handler) until the reply */
	dispatch_async(dispatch_get_global_queue(0, 0), ^{
	  xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0);
	  xpc_object_t r = xpc_connection_send_message_with_reply_sync(c, m);
	  CHECK(xpc_get_type(r) == XPC_TYPE_DICTIONARY);
	  xpc_release(r);
	  xpc_release(m);
	  dispatch_semaphore_signal(done);
	});
	int most = 0;
	for (int i = 0; i < 150; i++) { /* 1.5 s with the handler stuck */
		int n = harness_count_fds() - base;
		if (n > most)
			most = n;
		usleep(10000);
	}
	dispatch_semaphore_signal(go);
	CHECK(conn_test_wait_sem(done, 30));
	for (int i = 0; i < 3000 && atomic_load(&got) < FLOOD_MSGS; i++)
		usleep(10000);
	int st = harness_wait_pid(pid, 30);
	fprintf(stderr, "fdflood: most descriptors held %d, messages %d\n", most,
		atomic_load(&got));
	CHECK(most <= 1024 + 2 * 253 + 64);
	CHECK_EQ_INT(atomic_load(&got), FLOOD_MSGS);
	CHECK(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	xpc_connection_cancel(c);
	xpc_release(c);
	dispatch_release(go);
	dispatch_release(done);
	return 0;
}

int main(int argc, char **argv)
{
	harness_require_root();
	harness_warm_dispatch();
	harness_begin(90);
	int base = harness_count_fds();
	if (argc > 1 && !strcmp(argv[1], "odd"))
		test_odd();
	else
		test_fdflood();
	for (int i = 0; i < 500 && harness_count_fds() > base; i++)
		usleep(10000);
	return harness_end();
}
