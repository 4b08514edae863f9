/* SPDX-License-Identifier: MIT */
/*
 * test-ool.c - out-of-line bodies from both sides of the wire
 * (docs/transport.md, "Large payloads" and "Staging").
 *
 * Receiving, from a hostile raw peer checked in on an in-process listener:
 * a memfd not sealed, sealed but shorter or longer than announced, a stage
 * without its shrink/grow seals or too short for its body, the staged flag
 * without a body out of line, a body over the size limit - each costs the
 * link with a precise reason and leaks no descriptor; a hand-made stage
 * (also one sealed against writing, which cannot be marked read; one
 * sparse and 1 GiB long; one with a hole in its body, which must not cost
 * the receiver pages) is delivered, answered, and marked read, and sent
 * again gives its new body.
 *
 * Four threads sending large requests on one connection at once all get
 * their own bytes answered.  Sending, to a raw peer on a socketpair: the first large body goes in a
 * stage, the next one reuses the same memfd once the stage was marked read,
 * a fresh sealed memfd is used while it is not, and every body decodes to
 * what was sent; bodies over 512 KiB, written with whichever copy the
 * receiver's CPU hint selects (stage.c), arrive byte for byte.  The
 * receiver marks a stage read with its CPU as that hint.
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
#include <sys/stat.h>
#include <unistd.h>

#define BIG (100u << 10) /* out of line: over FRAME_MAX_INLINE */

static dispatch_semaphore_t got_sem;
static char last_reason[160];
static atomic_int n_replies;

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
				if (!r)
					return;
				xpc_object_t d = xpc_dictionary_get_value(e, "d");
				const uint8_t *bytes = xpc_data_get_bytes_ptr(d);
				xpc_dictionary_set_uint64(r, "len", xpc_data_get_length(d));
				xpc_dictionary_set_uint64(r, "first", bytes ? bytes[0] : 0);
				atomic_fetch_add(&n_replies, 1);
				xpc_connection_send_message(peer, r);
				xpc_release(r);
				return;
			}
			if (e == XPC_ERROR_CONNECTION_INVALID) {
				char *why = xpc_connection_copy_invalidation_reason(peer);
				snprintf(last_reason, sizeof(last_reason), "%s", why ? why : "(null)");
				free(why);
				dispatch_semaphore_signal(got_sem);
				xpc_release(peer);
			}
		});
		xpc_connection_resume(peer);
	});
	xpc_connection_resume(l);
	return l;
}

/* Sends a header-only packet with @fd as its one descriptor. */
static void send_ool(int link, uint8_t flags, uint64_t len, int fd)
{
	FrameHeader h = {.magic = FRAME_MAGIC, .kind = FRAME_MESSAGE, .flags = flags, .n_fds = 1, .id = 7,
			 .body_len = len};
	struct iovec iov = {&h, sizeof(h)};
	union {
		struct cmsghdr a;
		char b[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b, .msg_controllen = sizeof(ctl.b)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	REQUIRE(sendmsg(link, &m, MSG_NOSIGNAL) == (ssize_t)sizeof(h));
}

static void expect_drop(int link, const char *want)
{
	char buf[64];

	CHECK(conn_test_wait(got_sem, 30));
	if (!strstr(last_reason, want))
		fprintf(stderr, "reason '%s' lacks '%s'\n", last_reason, want);
	CHECK(strstr(last_reason, want) != NULL);
	CHECK_EQ_INT(recv(link, buf, sizeof(buf), 0), 0); /* link closed */
	close(link);
}

/* A memfd of @size bytes holding @body at @off, with @seals added. */
static int make_memfd(size_t size, const void *body, size_t len, size_t off, int seals)
{
	int fd = memfd_create("test-ool", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	REQUIRE(fd >= 0);
	REQUIRE(ftruncate(fd, (off_t)size) == 0);
	if (len)
		REQUIRE(pwrite(fd, body, len, (off_t)off) == (ssize_t)len);
	if (seals)
		REQUIRE(fcntl(fd, F_ADD_SEALS, seals) == 0);
	return fd;
}

#define ALL_SEALS (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW)

/* One hostile frame on a fresh link: the link must end with @want. */
static void hostile(xpc_connection_t l, uint8_t flags, uint64_t len, int memfd, const char *want)
{
	int link = conn_test_raw_checkin(l);

	send_ool(link, flags, len, memfd);
	close(memfd);
	expect_drop(link, want);
}

static void test_hostile(xpc_connection_t l)
{
	const uint8_t ool = FRAME_F_OOL, staged = FRAME_F_OOL | FRAME_F_STAGED;

	hostile(l, ool, BIG, make_memfd(BIG, NULL, 0, 0, 0), "not sealed");
	hostile(l, ool, BIG, make_memfd(BIG, NULL, 0, 0, F_SEAL_SHRINK | F_SEAL_GROW), "not sealed");
	hostile(l, ool, BIG, make_memfd(BIG - 1, NULL, 0, 0, ALL_SEALS), "size disagrees");
	hostile(l, ool, BIG, make_memfd(BIG + 4096, NULL, 0, 0, ALL_SEALS), "size disagrees");
	hostile(l, staged, BIG, make_memfd(TRANSPORT_STAGE_HDR + BIG, NULL, 0, 0, 0), "not sealed");
	hostile(l, staged, BIG, make_memfd(TRANSPORT_STAGE_HDR + BIG, NULL, 0, 0, F_SEAL_WRITE | F_SEAL_GROW),
		"not sealed");
	hostile(l, staged, BIG, make_memfd(TRANSPORT_STAGE_HDR + BIG - 1, NULL, 0, 0, F_SEAL_SHRINK | F_SEAL_GROW),
		"size disagrees");
	hostile(l, FRAME_F_STAGED, BIG, make_memfd(4096, NULL, 0, 0, 0), "staged body not out of line");
	/* 1 GiB announced (a sparse memfd of that size, sealed): refused
	 * before a byte is read or allocated */
	hostile(l, ool, 1u << 30, make_memfd(1u << 30, NULL, 0, 0, ALL_SEALS), "limit exceeded: message size");
	/* a well-formed stage whose body is garbage */
	hostile(l, staged, BIG, make_memfd(TRANSPORT_STAGE_HDR + BIG, NULL, 0, 0, F_SEAL_SHRINK | F_SEAL_GROW),
		"bad encoding");
}

/* The encoding of { "d": @len bytes of @c }. */
static void encode_big(size_t len, char c, WireBuffer *b)
{
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0);
	uint8_t *bytes = malloc(len);
	WireFds f = {0};

	memset(bytes, c, len);
	xpc_dictionary_set_data(m, "d", bytes, len);
	REQUIRE(wire_encode_message(m, b, &f) == 0);
	wire_fds_free(&f);
	free(bytes);
	xpc_release(m);
}

/* The reply to a staged request: its "first" (first byte of the data). */
static uint64_t reply_first(int link)
{
	uint8_t pkt[512];
	FrameHeader h;
	xpc_object_t r = NULL;
	uint64_t first = 0;
	ssize_t n = recv(link, pkt, sizeof(pkt), 0);

	REQUIRE(n >= (ssize_t)FRAME_HEADER_SIZE);
	memcpy(&h, pkt, sizeof(h));
	CHECK_EQ_INT(h.kind, FRAME_REPLY);
	CHECK_EQ_INT(wire_decode_message(pkt + FRAME_HEADER_SIZE, (size_t)n - FRAME_HEADER_SIZE, NULL, 0, &r), 0);
	if (r) {
		CHECK_EQ_INT(xpc_dictionary_get_uint64(r, "len"), BIG);
		first = xpc_dictionary_get_uint64(r, "first");
		xpc_release(r);
	}
	return first;
}

/* Writes { "d": BIG bytes of @c } into stage @m, marked in use, and adds
 * @seals (if any); returns the body's length. */
static size_t write_staged(int m, char c, int seals)
{
	WireBuffer b = {0};
	uint64_t word = 1;
	size_t len;

	encode_big(BIG, c, &b);
	REQUIRE(pwrite(m, b.data, b.len, TRANSPORT_STAGE_HDR) == (ssize_t)b.len);
	REQUIRE(pwrite(m, &word, sizeof(word), 0) == sizeof(word));
	if (seals)
		REQUIRE(fcntl(m, F_ADD_SEALS, seals) == 0);
	len = b.len;
	wire_buffer_free(&b);
	return len;
}

static void send_staged(int link, int m, char c, int seals)
{
	size_t len = write_staged(m, c, seals);

	send_ool(link, FRAME_F_OOL | FRAME_F_STAGED | FRAME_F_WANTS_REPLY, len, m);
}

/* Hand-made stages with valid bodies are delivered and marked read; the
 * same stage sent again (the receiver keeps it mapped) gives the new
 * body, not the old one. */
static void test_good_stage(xpc_connection_t l, int seals)
{
	int link = conn_test_raw_checkin(l), before = atomic_load(&n_replies);
	uint64_t word;
	int m = make_memfd(TRANSPORT_STAGE_HDR + BIG + 10000, NULL, 0, 0, 0);

	/* sealed after writing: with F_SEAL_WRITE it cannot be marked read */
	send_staged(link, m, 'x', seals);
	CHECK_EQ_INT(reply_first(link), 'x');
	CHECK_EQ_INT(atomic_load(&n_replies), before + 1);
	REQUIRE(pread(m, &word, sizeof(word), 0) == sizeof(word));
	/* marked read, unless sealed against writing (then it stays 1) */
	CHECK_EQ_INT(word, (seals & F_SEAL_WRITE) ? 1 : 0);
	if (!(seals & F_SEAL_WRITE)) {
		/* with the receiver's CPU as a hint (1 + its number) */
		REQUIRE(pread(m, &word, sizeof(word), TRANSPORT_STAGE_CPU) == sizeof(word));
		CHECK(word >= 1 && word <= (uint64_t)sysconf(_SC_NPROCESSORS_CONF));
		send_staged(link, m, 'y', 0);
		CHECK_EQ_INT(reply_first(link), 'y');
		send_staged(link, m, 'z', 0);
		CHECK_EQ_INT(reply_first(link), 'z');
	}
	close(m);
	close(link);
	CHECK(conn_test_wait(got_sem, 30)); /* that peer ends normally */
}

/* A sparse 1 GiB stage with a valid body: read with pread (too large to be
 * a real stage, so not mapped), only the body's bytes. */
static void test_huge_stage(xpc_connection_t l)
{
	int link = conn_test_raw_checkin(l);
	int m = make_memfd(1u << 30, NULL, 0, 0, 0);

	send_staged(link, m, 'h', F_SEAL_SHRINK | F_SEAL_GROW);
	CHECK_EQ_INT(reply_first(link), 'h');
	close(m);
	close(link);
	CHECK(conn_test_wait(got_sem, 30));
}

/* A stage with a hole punched in its body: delivered (zeros there), read
 * with pread - reading the hole through a mapping would have allocated
 * pages in the memfd, on the receiver's account. */
static void test_holed_stage(xpc_connection_t l)
{
	int link = conn_test_raw_checkin(l);
	int m = make_memfd(TRANSPORT_STAGE_HDR + BIG + 4096, NULL, 0, 0, 0);
	struct stat before, after;
	size_t len = write_staged(m, 'o', F_SEAL_SHRINK | F_SEAL_GROW);

	/* 64 KiB of the data's bytes become a hole (they read as zeros) */
	REQUIRE(fallocate(m, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, TRANSPORT_STAGE_HDR + 8192, 65536) == 0);
	REQUIRE(fstat(m, &before) == 0);
	send_ool(link, FRAME_F_OOL | FRAME_F_STAGED | FRAME_F_WANTS_REPLY, len, m);
	CHECK_EQ_INT(reply_first(link), 'o');
	REQUIRE(fstat(m, &after) == 0);
	CHECK_EQ_INT(after.st_blocks, before.st_blocks);
	close(m);
	close(link);
	CHECK(conn_test_wait(got_sem, 30));
}

/* ---- the sending side --------------------------------------------------- */

typedef struct {
	FrameHeader h;
	int memfd;
} RawFrame;

/* Reads one frame of the connection under test, its memfd kept. */
static void raw_read(int fd, RawFrame *f)
{
	union {
		struct cmsghdr a;
		char b[CMSG_SPACE(sizeof(int) * 4)];
	} ctl;
	struct iovec iov = {&f->h, sizeof(f->h)};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b, .msg_controllen = sizeof(ctl.b)};

	f->memfd = -1;
	REQUIRE(recvmsg(fd, &m, MSG_CMSG_CLOEXEC) == (ssize_t)sizeof(f->h));
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	REQUIRE(c && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int)));
	memcpy(&f->memfd, CMSG_DATA(c), sizeof(int));
	REQUIRE(f->h.flags & FRAME_F_OOL);
}

static ino_t ino_of(int fd)
{
	struct stat st;

	REQUIRE(fstat(fd, &st) == 0);
	return st.st_ino;
}

/* Decodes the body of @f and checks it is { "d": @len bytes of @c }. */
static void check_body(const RawFrame *f, size_t len, char c)
{
	size_t off = (f->h.flags & FRAME_F_STAGED) ? TRANSPORT_STAGE_HDR : 0;
	uint8_t *body = malloc(f->h.body_len);
	xpc_object_t m = NULL;

	REQUIRE(pread(f->memfd, body, f->h.body_len, (off_t)off) == (ssize_t)f->h.body_len);
	CHECK_EQ_INT(wire_decode_message(body, f->h.body_len, NULL, 0, &m), 0);
	const uint8_t *d = m ? xpc_dictionary_get_data(m, "d", NULL) : NULL;
	CHECK(d && xpc_data_get_length(xpc_dictionary_get_value(m, "d")) == len);
	CHECK(d && d[0] == (uint8_t)c && d[len - 1] == (uint8_t)c);
	if (m)
		xpc_release(m);
	free(body);
}

static void send_big(xpc_connection_t c, char fill)
{
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0);
	uint8_t *bytes = malloc(BIG);

	memset(bytes, fill, BIG);
	xpc_dictionary_set_data(m, "d", bytes, BIG);
	xpc_connection_send_message(c, m);
	free(bytes);
	xpc_release(m);
}

static void mark_read(int memfd)
{
	static const uint64_t zero;

	REQUIRE(pwrite(memfd, &zero, sizeof(zero), 0) == sizeof(zero));
}

static void test_sender(void)
{
	int sv[2];
	RawFrame f1, f2, f3, f4;

	REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
	xpc_connection_t c = connection_create_from_socket(sv[0], NULL);
	xpc_connection_set_event_handler(c, ^(xpc_object_t e) {
		(void)e;
	});
	xpc_connection_resume(c);

	send_big(c, 'a');
	raw_read(sv[1], &f1);
	CHECK(f1.h.flags & FRAME_F_STAGED);
	CHECK_EQ_INT(fcntl(f1.memfd, F_GET_SEALS) & (F_SEAL_SHRINK | F_SEAL_GROW), F_SEAL_SHRINK | F_SEAL_GROW);
	check_body(&f1, BIG, 'a');
	mark_read(f1.memfd);

	send_big(c, 'b'); /* the stage again */
	raw_read(sv[1], &f2);
	CHECK(f2.h.flags & FRAME_F_STAGED);
	CHECK(ino_of(f2.memfd) == ino_of(f1.memfd));
	check_body(&f2, BIG, 'b');

	send_big(c, 'c'); /* f2 not marked read: a fresh sealed memfd */
	raw_read(sv[1], &f3);
	CHECK(!(f3.h.flags & FRAME_F_STAGED));
	CHECK(ino_of(f3.memfd) != ino_of(f1.memfd));
	CHECK_EQ_INT(fcntl(f3.memfd, F_GET_SEALS) & ALL_SEALS, ALL_SEALS);
	check_body(&f3, BIG, 'c');
	check_body(&f2, BIG, 'b'); /* untouched meanwhile */

	mark_read(f2.memfd);
	send_big(c, 'd');
	raw_read(sv[1], &f4);
	CHECK(f4.h.flags & FRAME_F_STAGED);
	CHECK(ino_of(f4.memfd) == ino_of(f1.memfd));
	check_body(&f4, BIG, 'd');

	close(f1.memfd);
	close(f2.memfd);
	close(f3.memfd);
	close(f4.memfd);
	xpc_connection_cancel(c);
	xpc_release(c);
	close(sv[1]);
}

#define HUGE_BODY ((1u << 20) + 13) /* over stage.c's STAGE_STREAM_MIN */

static uint8_t pattern(size_t i, char fill)
{
	return (uint8_t)(i * 7 + (size_t)fill);
}

/* Sends { "d": HUGE_BODY bytes of pattern(@fill) }, checks every byte the
 * raw peer receives, that it came in the stage *@stage (0: the first, set
 * here), and returns the stage's descriptor. */
static int send_check_huge(xpc_connection_t c, int peer, char fill, ino_t *stage)
{
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0);
	uint8_t *bytes = malloc(HUGE_BODY), *body;
	xpc_object_t got = NULL;
	RawFrame f;
	size_t n = 0;

	for (size_t i = 0; i < HUGE_BODY; i++)
		bytes[i] = pattern(i, fill);
	xpc_dictionary_set_data(m, "d", bytes, HUGE_BODY);
	xpc_connection_send_message(c, m);
	xpc_release(m);
	raw_read(peer, &f);
	CHECK(f.h.flags & FRAME_F_STAGED);
	if (*stage == 0)
		*stage = ino_of(f.memfd);
	CHECK(ino_of(f.memfd) == *stage);
	body = malloc(f.h.body_len);
	REQUIRE(pread(f.memfd, body, f.h.body_len, TRANSPORT_STAGE_HDR) == (ssize_t)f.h.body_len);
	CHECK_EQ_INT(wire_decode_message(body, f.h.body_len, NULL, 0, &got), 0);
	const uint8_t *d = got ? xpc_dictionary_get_data(got, "d", &n) : NULL;
	CHECK(d && n == HUGE_BODY && memcmp(d, bytes, HUGE_BODY) == 0);
	if (got)
		xpc_release(got);
	free(body);
	free(bytes);
	return f.memfd;
}

/* Large bodies written into the stage with each copy stage.c chooses
 * from the receiver's CPU hint (none; CPU 0 or 1, one of them another
 * than the sender's: streaming stores; a CPU that does not exist) arrive
 * byte for byte, in the same stage. */
static void test_sender_hints(void)
{
	static const uint64_t hints[] = {1, 2, 1000, 0};
	int sv[2];
	ino_t stage = 0;

	REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
	xpc_connection_t c = connection_create_from_socket(sv[0], NULL);
	xpc_connection_set_event_handler(c, ^(xpc_object_t e) {
		(void)e;
	});
	xpc_connection_resume(c);
	int fd = send_check_huge(c, sv[1], 'a', &stage);
	for (size_t k = 0; k < sizeof(hints) / sizeof(hints[0]); k++) {
		uint64_t w[2] = {0, hints[k]};
		REQUIRE(pwrite(fd, w, sizeof(w), 0) == sizeof(w)); /* read, with the hint */
		close(fd);
		fd = send_check_huge(c, sv[1], (char)('b' + k), &stage);
	}
	close(fd);
	xpc_connection_cancel(c);
	xpc_release(c);
	close(sv[1]);
}

/* Four threads sending large requests on one connection at once: while
 * one writes into the stage the others use fresh sealed memfds; every
 * reply says the receiver got its own bytes. */
static void test_concurrent(xpc_connection_t l)
{
	xpc_endpoint_t ep = xpc_endpoint_create(l);
	xpc_connection_t c = xpc_connection_create_from_endpoint(ep);
	__block atomic_int bad = 0;

	xpc_release(ep);
	xpc_connection_set_event_handler(c, ^(xpc_object_t e) {
		(void)e;
	});
	xpc_connection_resume(c);
	dispatch_apply(4, dispatch_get_global_queue(0, 0), ^(size_t t) {
		uint8_t *bytes = malloc(2 * BIG);
		for (int i = 0; i < 25; i++) {
			char fill = (char)('a' + (int)t * 5 + i % 5);
			memset(bytes, fill, 2 * BIG);
			xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0);
			xpc_dictionary_set_data(m, "d", bytes, 2 * BIG);
			xpc_object_t r = xpc_connection_send_message_with_reply_sync(c, m);
			if (xpc_get_type(r) != XPC_TYPE_DICTIONARY || xpc_dictionary_get_uint64(r, "len") != 2 * BIG ||
			    xpc_dictionary_get_uint64(r, "first") != (uint8_t)fill)
				atomic_fetch_add(&bad, 1);
			xpc_release(r);
			xpc_release(m);
		}
		free(bytes);
	});
	CHECK_EQ_INT(atomic_load(&bad), 0);
	xpc_connection_cancel(c);
	xpc_release(c);
	CHECK(conn_test_wait(got_sem, 30)); /* the served side ends */
}

int main(void)
{
	harness_warm_dispatch();
	harness_begin(60);
	int base = harness_count_fds();
	got_sem = dispatch_semaphore_create(0);
	xpc_connection_t l = start_listener();

	test_hostile(l);
	test_good_stage(l, F_SEAL_SHRINK | F_SEAL_GROW);
	test_good_stage(l, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE);
	test_huge_stage(l);
	test_holed_stage(l);
	test_concurrent(l);
	test_sender();
	test_sender_hints();

	xpc_connection_cancel(l);
	xpc_release(l);
	conn_test_settle_fds(base);
	return harness_end();
}
