/* SPDX-License-Identifier: MIT */
/*
 * test-malformed.c - a raw socket that checks in properly and then breaks
 * the protocol loses its link with a precise reason; descriptors that came
 * with a bad frame are closed; other links of the same listener keep
 * working; a bad check-in on the listener's channel costs nothing.  BATCH
 * frames: their inner frames are delivered in order (requests answered);
 * a batch with a foreign inner kind, an inner frame running past its end,
 * or header fields a batch must not have, costs the link.  A peer's last
 * frame before it closed (with ours unread) is read, not lost to the
 * ECONNRESET the kernel reports first.
 */
#include "connection/connection.h"
#include "conn-common.h"
#include "harness.h"
#include "object/object.h"
#include "transport/unix/unix.h"
#include "wire/wire.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

static dispatch_semaphore_t reason_sem;
static char reasons[16][160];
static atomic_int n_reasons;

static xpc_connection_t start_listener(void)
{
	xpc_connection_t l = xpc_connection_create(NULL, NULL);

	xpc_connection_set_event_handler(l, ^(xpc_object_t ev) {
		if (xpc_get_type(ev) != XPC_TYPE_CONNECTION)
			return;
		xpc_connection_t peer = (xpc_connection_t)ev;
		xpc_retain(peer);
		xpc_connection_set_event_handler(peer, ^(xpc_object_t e) {
			if (xpc_get_type(e) == XPC_TYPE_DICTIONARY) {
				xpc_object_t r = xpc_dictionary_create_reply(e);
				if (r) {
					xpc_connection_send_message(peer, r);
					xpc_release(r);
				}
				return;
			}
			if (e == XPC_ERROR_CONNECTION_INVALID) {
				char *why = xpc_connection_copy_invalidation_reason(peer);
				int i = atomic_fetch_add(&n_reasons, 1);
				if (i < 16)
					snprintf(reasons[i], sizeof(reasons[i]), "%s", why ? why : "(null)");
				free(why);
				dispatch_semaphore_signal(reason_sem);
				xpc_release(peer);
			}
		});
		xpc_connection_resume(peer);
	});
	xpc_connection_resume(l);
	return l;
}

static void expect_drop(int fd, const char *want)
{
	char buf[64];

	CHECK(conn_test_wait(reason_sem, 30));
	int i = atomic_load(&n_reasons) - 1;
	if (!strstr(reasons[i], want))
		fprintf(stderr, "reason '%s' lacks '%s'\n", reasons[i], want);
	CHECK(strstr(reasons[i], want) != NULL);
	CHECK_EQ_INT(recv(fd, buf, sizeof(buf), 0), 0); /* link closed */
	close(fd);
}

static void send_hdr(int fd, FrameHeader h, const void *body, size_t len, const int *fds, int n_fds)
{
	char pkt[1024];
	struct iovec iov = {pkt, sizeof(h) + len};
	union {
		struct cmsghdr a;
		char b[CMSG_SPACE(sizeof(int) * 4)];
	} ctl;
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};

	memcpy(pkt, &h, sizeof(h));
	if (len)
		memcpy(pkt + sizeof(h), body, len);
	if (n_fds) {
		memset(&ctl, 0, sizeof(ctl));
		m.msg_control = ctl.b;
		m.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n_fds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n_fds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)n_fds);
	}
	REQUIRE(sendmsg(fd, &m, MSG_NOSIGNAL) >= 0);
}

static FrameHeader hdr(uint8_t kind, uint64_t len)
{
	FrameHeader h = {.magic = FRAME_MAGIC, .kind = kind, .id = 7, .body_len = len};
	return h;
}

/* Appends an inner frame (header + @len bytes) to @buf at *off. */
static void put_inner(uint8_t *buf, size_t *off, FrameHeader h, const void *body, size_t len)
{
	memcpy(buf + *off, &h, sizeof(h));
	if (len)
		memcpy(buf + *off + sizeof(h), body, len);
	*off += sizeof(h) + len;
}

static void test_batches(xpc_connection_t l, xpc_object_t ping)
{
	WireBuffer b = {0};
	WireFds f = {0};
	uint8_t buf[900], in[256];
	size_t off = 0;
	FrameHeader bh, ih;
	int fd;

	REQUIRE(wire_encode_message(ping, &b, &f) == 0);
	REQUIRE(2 * (FRAME_HEADER_SIZE + b.len) <= sizeof(buf));

	/* two requests in one batch: two replies, in order */
	fd = conn_test_raw_checkin(l);
	for (uint64_t id = 1; id <= 2; id++) {
		ih = hdr(FRAME_MESSAGE, b.len);
		ih.id = id;
		ih.flags = FRAME_F_WANTS_REPLY;
		put_inner(buf, &off, ih, b.data, b.len);
	}
	bh = hdr(FRAME_BATCH, off);
	bh.id = 0;
	send_hdr(fd, bh, buf, off, NULL, 0);
	for (uint64_t id = 1; id <= 2; id++) {
		FrameHeader rh;
		ssize_t n = recv(fd, in, sizeof(in), 0);
		REQUIRE(n >= (ssize_t)FRAME_HEADER_SIZE);
		memcpy(&rh, in, sizeof(rh));
		CHECK_EQ_INT(rh.kind, FRAME_REPLY);
		CHECK_EQ_INT(rh.reply_to, id);
	}
	close(fd);
	CHECK(conn_test_wait(reason_sem, 30)); /* that peer exits normally */

	/* a hello inside a batch */
	fd = conn_test_raw_checkin(l);
	off = 0;
	put_inner(buf, &off, hdr(FRAME_MESSAGE, b.len), b.data, b.len);
	ih = hdr(FRAME_HELLO, 0);
	ih.id = 0;
	put_inner(buf, &off, ih, NULL, 0);
	bh = hdr(FRAME_BATCH, off);
	bh.id = 0;
	send_hdr(fd, bh, buf, off, NULL, 0);
	expect_drop(fd, "batch: only inline messages and replies");

	/* an inner frame longer than what is left of the batch */
	fd = conn_test_raw_checkin(l);
	off = 0;
	ih = hdr(FRAME_MESSAGE, b.len + 40);
	put_inner(buf, &off, ih, b.data, b.len);
	bh = hdr(FRAME_BATCH, off);
	bh.id = 0;
	send_hdr(fd, bh, buf, off, NULL, 0);
	expect_drop(fd, "runs past the batch");

	/* a batch with an id (batches have none) */
	fd = conn_test_raw_checkin(l);
	off = 0;
	put_inner(buf, &off, hdr(FRAME_MESSAGE, b.len), b.data, b.len);
	send_hdr(fd, hdr(FRAME_BATCH, off), buf, off, NULL, 0);
	expect_drop(fd, "batch must be inline frames only");

	wire_buffer_free(&b);
	wire_fds_free(&f);
}

/* B sends one frame to A and closes with A's frame unread: the kernel
 * reports ECONNRESET to A before B's frame; A must still read B's frame,
 * then the end.  @raw: check with plain recv that the kernel does so. */
static void last_words(bool raw)
{
	int sv[2];
	FrameHeader h = hdr(FRAME_HELLO, 0);
	TransportFrame *f = calloc(1, sizeof(*f));
	char buf[64];

	REQUIRE(f && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
	CHECK_EQ_INT(transport_send(sv[0], &h, NULL, 0, NULL, 0), 0); /* A -> B, never read */
	h = hdr(FRAME_HELLO, 0);
	CHECK_EQ_INT(transport_send(sv[1], &h, NULL, 0, NULL, 0), 0); /* B -> A */
	close(sv[1]);
	if (raw) {
		CHECK(recv(sv[0], buf, sizeof(buf), MSG_DONTWAIT) < 0 && errno == ECONNRESET);
	} else {
		CHECK_EQ_INT(transport_recv(sv[0], f), 0);
		CHECK_EQ_INT(f->hdr.kind, FRAME_HELLO);
		frame_clear(f);
		CHECK_EQ_INT(transport_recv(sv[0], f), TRANSPORT_E_EOF);
	}
	close(sv[0]);
	frame_release(f);
	free(f);
}

int main(void)
{
	harness_warm_dispatch();
	harness_begin(60);
	int base = harness_count_fds();
	reason_sem = dispatch_semaphore_create(0);
	xpc_connection_t l = start_listener();
	int fd, p[2];

	/* a well-behaved client on the same listener */
	xpc_connection_t good = conn_test_connect(l);
	xpc_object_t ping = xpc_dictionary_create(NULL, NULL, 0);

	/* 0. a peer's last frame before it closed is read, not lost to the
	 * ECONNRESET the kernel reports first */
	last_words(true);
	last_words(false);

	/* 1. garbage header */
	fd = conn_test_raw_checkin(l);
	REQUIRE(write(fd, "this is not a frame at all, not at all", 38) == 38);
	expect_drop(fd, "protocol violation: bad frame: magic");

	/* 2. valid header, body that is not an encoding */
	fd = conn_test_raw_checkin(l);
	send_hdr(fd, hdr(FRAME_MESSAGE, 16), "0123456789abcdef", 16, NULL, 0);
	expect_drop(fd, "protocol violation: bad encoding");

	/* 3. descriptors the header does not announce: closed, link dropped */
	fd = conn_test_raw_checkin(l);
	REQUIRE(pipe2(p, O_CLOEXEC) == 0);
	send_hdr(fd, hdr(FRAME_MESSAGE, 0), NULL, 0, p, 2);
	close(p[0]);
	close(p[1]);
	expect_drop(fd, "descriptor count disagrees");

	/* 4. a check-in on a peer link */
	fd = conn_test_raw_checkin(l);
	REQUIRE(pipe2(p, O_CLOEXEC) == 0);
	FrameHeader ci = hdr(FRAME_CHECKIN, 0);
	ci.n_fds = 1;
	send_hdr(fd, ci, NULL, 0, p, 1);
	close(p[0]);
	close(p[1]);
	expect_drop(fd, "check-in on a peer link");

	/* 5. a reply nobody asked for */
	fd = conn_test_raw_checkin(l);
	{
		WireBuffer b = {0};
		WireFds f = {0};
		REQUIRE(wire_encode_message(ping, &b, &f) == 0);
		FrameHeader rh = hdr(FRAME_REPLY, b.len);
		rh.reply_to = 99;
		send_hdr(fd, rh, b.data, b.len, NULL, 0);
		wire_buffer_free(&b);
		wire_fds_free(&f);
	}
	expect_drop(fd, "reply to an unknown request");

	/* 6. an out-of-line body in an unsealed memfd */
	fd = conn_test_raw_checkin(l);
	{
		int m = memfd_create("x", MFD_CLOEXEC);
		size_t len = FRAME_MAX_INLINE + 100;
		REQUIRE(ftruncate(m, (off_t)len) == 0);
		FrameHeader oh = hdr(FRAME_MESSAGE, len);
		oh.flags = FRAME_F_OOL;
		oh.n_fds = 1;
		send_hdr(fd, oh, NULL, 0, &m, 1);
		close(m);
	}
	expect_drop(fd, "not sealed");

	/* 7. a bad check-in on the listener's channel is dropped quietly */
	{
		xpc_endpoint_t e2 = xpc_endpoint_create(l);
		int w = endpoint_object_borrow_fd((xpc_object_t)e2);
		REQUIRE(write(w, "junk", 4) == 4);
		xpc_release(e2);
	}

	test_batches(l, ping);

	/* the good link and the listener still work */
	xpc_object_t r = xpc_connection_send_message_with_reply_sync(good, ping);
	CHECK(xpc_get_type(r) == XPC_TYPE_DICTIONARY);
	xpc_release(r);
	fd = conn_test_raw_checkin(l);
	close(fd);
	CHECK(conn_test_wait(reason_sem, 30)); /* that peer exits normally */

	xpc_release(ping);
	xpc_connection_cancel(good);
	xpc_release(good);
	xpc_connection_cancel(l);
	xpc_release(l);
	conn_test_settle_fds(base);
	/* reason_sem stays: a handler thread may still be inside its signal */
	return harness_end();
}
