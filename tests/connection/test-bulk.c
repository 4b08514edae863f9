/* SPDX-License-Identifier: MIT */
/*
 * test-bulk.c - the large-payload paths: data and string items encoded by
 * reference (WireRef) and written straight into the packet or the
 * out-of-line memfd, their objects retained when a frame has to wait in
 * the out-queue (the sender may release its message at once), received
 * bodies copied into an ObjectBuffer and large data decoded in place there.
 *
 * Checked at the wire level (the pieces of a by-reference encoding, its
 * flattened form and its copy are byte for byte the plain encoding, also
 * once kept and the graph released; decoding in a buffer
 * gives equal objects that keep the buffer alive) and end to end over an
 * anonymous listener (every size class round-trips; hundreds of large
 * messages sent faster than the socket takes them arrive intact), and at
 * the transport level for inline bodies decoded by reference to the
 * packet's receive buffer (the next packet never overwrites bytes a
 * decoded item still points at).
 */
#include "conn-common.h"
#include "harness.h"
#include "object/object.h"
#include "transport/unix/unix.h"
#include "wire/wire.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* (20001: a referenced run that needs padding) */
static const size_t sizes[] = {0, 100, WIRE_SEND_REF_MIN - 1, WIRE_SEND_REF_MIN, 20001, 70000, 3u << 20};
#define N_SIZES (sizeof(sizes) / sizeof(sizes[0]))

static void fill(uint8_t *p, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 31 + seed);
}

static bool check_fill(const uint8_t *p, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != (uint8_t)(i * 31 + seed))
			return false;
	return true;
}

static xpc_object_t data_of(size_t len, unsigned seed)
{
	uint8_t *b = malloc(len ? len : 1);
	xpc_object_t d;

	fill(b, len, seed);
	d = xpc_data_create(b, len);
	free(b);
	return d;
}

/* A dictionary with every size class, at the top and nested. */
static xpc_object_t mixed(void)
{
	xpc_object_t d = xpc_dictionary_create(NULL, NULL, 0);
	xpc_object_t a = xpc_array_create(NULL, 0);
	char key[32];

	for (size_t i = 0; i < N_SIZES; i++) {
		xpc_object_t v = data_of(sizes[i], (unsigned)i);
		snprintf(key, sizeof(key), "d%zu", i);
		xpc_dictionary_set_value(d, key, v);
		xpc_array_append_value(a, v);
		xpc_release(v);
		xpc_array_set_string(a, XPC_ARRAY_APPEND, "between");
	}
	xpc_dictionary_set_value(d, "array", a);
	xpc_dictionary_set_string(d, "tail", "end");
	char *big = malloc(WIRE_SEND_REF_MIN + 7); /* a string referenced too */
	memset(big, 's', WIRE_SEND_REF_MIN + 6);
	big[WIRE_SEND_REF_MIN + 6] = 0;
	xpc_dictionary_set_string(d, "bigstr", big);
	free(big);
	xpc_release(a);
	return d;
}

static void test_wire_refs(void)
{
	xpc_object_t d = mixed(), back = NULL, keep;
	WireBuffer plain = {0}, refs = {.use_refs = true};
	WireFds f1 = {0}, f2 = {0};
	struct iovec iov[64];
	size_t n, off = 0;
	ObjectBuffer *b;

	REQUIRE(wire_encode_message(d, &plain, &f1) == 0);
	REQUIRE(wire_encode_message(d, &refs, &f2) == 0);
	CHECK(refs.n_refs == 2 * 4 + 1); /* 4 sizes >= WIRE_SEND_REF_MIN, each twice; the string */
	CHECK_EQ_INT(refs.len + refs.ref_bytes, plain.len);
	n = wire_buffer_iov(&refs, iov, 64);
	for (size_t i = 0; i < n; i++) {
		REQUIRE(off + iov[i].iov_len <= plain.len);
		CHECK(memcmp(plain.data + off, iov[i].iov_base, iov[i].iov_len) == 0);
		off += iov[i].iov_len;
	}
	CHECK_EQ_INT(off, plain.len);
	uint8_t *copy = malloc(plain.len);
	REQUIRE(copy != NULL);
	wire_buffer_copy(&refs, copy);
	CHECK(memcmp(copy, plain.data, plain.len) == 0);
	free(copy);
	REQUIRE(wire_buffer_flatten(&refs) == 0);
	CHECK_EQ_INT(refs.n_refs, 0);
	CHECK_EQ_INT(refs.len, plain.len);
	CHECK(memcmp(refs.data, plain.data, plain.len) == 0);

	/* Decoded in place: equal, large data inside the buffer, which lives
	 * as long as a data object pointing into it. */
	b = object_buffer_new(plain.len);
	REQUIRE(b != NULL);
	memcpy(object_buffer_bytes(b), plain.data, plain.len);
	REQUIRE(wire_decode_message_in(b, NULL, 0, &back) == 0);
	CHECK(xpc_equal(back, d));
	keep = xpc_retain(xpc_dictionary_get_value(back, "d6"));
	const uint8_t *kp = xpc_data_get_bytes_ptr(keep);
	CHECK(kp >= object_buffer_bytes(b) && kp < object_buffer_bytes(b) + plain.len);
	object_buffer_release(b);
	xpc_release(back);
	CHECK(check_fill(xpc_data_get_bytes_ptr(keep), sizes[6], 6));
	CHECK(xpc_equal(keep, xpc_dictionary_get_value(d, "d6")));
	xpc_release(keep);

	wire_buffer_free(&plain);
	wire_buffer_free(&refs);
	wire_fds_free(&f1);
	wire_fds_free(&f2);
	xpc_release(d);
}

/* A kept encoding in lent storage (as a send job's) outlives its graph:
 * the referenced objects are retained, the bytes stay the plain encoding. */
static void test_wire_keep(void)
{
	xpc_object_t d = mixed();
	uint8_t storage[256];
	WireBuffer plain = {0}, refs;
	WireFds f1 = {0}, f2 = {0};

	wire_buffer_lend(&refs, storage, sizeof(storage));
	refs.use_refs = true;
	REQUIRE(wire_encode_message(d, &plain, &f1) == 0);
	REQUIRE(wire_encode_message(d, &refs, &f2) == 0);
	REQUIRE(wire_buffer_keep(&refs) == 0);
	CHECK(!refs.lent && refs.kept);
	xpc_release(d); /* the graph goes; its large items must not */
	memset(storage, 0xee, sizeof(storage));
	uint8_t *copy = malloc(plain.len);
	REQUIRE(copy != NULL);
	wire_buffer_copy(&refs, copy);
	CHECK(memcmp(copy, plain.data, plain.len) == 0);
	free(copy);
	REQUIRE(wire_buffer_flatten(&refs) == 0); /* releases what it kept */
	CHECK(!refs.kept && refs.n_refs == 0);
	CHECK(memcmp(refs.data, plain.data, plain.len) == 0);
	wire_buffer_free(&plain);
	wire_buffer_free(&refs);
	wire_fds_free(&f1);
	wire_fds_free(&f2);
}

/*
 * Inline bodies decoded by reference: a data item of WIRE_REF_INLINE_MIN
 * or more points into the buffer its packet was received into (no copy),
 * a smaller one is copied; while a decoded item holds that buffer the
 * frame receives the next packets into a fresh one, so the item's bytes
 * never change; once the item is gone the buffer is written again.
 */
static void send_data_frame(int fd, size_t len, unsigned seed, uint64_t id)
{
	xpc_object_t d = xpc_dictionary_create(NULL, NULL, 0), v = data_of(len, seed);
	WireBuffer b = {0};
	WireFds f = {0};
	FrameHeader h = {.kind = FRAME_MESSAGE, .id = id};

	xpc_dictionary_set_value(d, "d", v);
	REQUIRE(wire_encode_message(d, &b, &f) == 0);
	REQUIRE(b.len <= FRAME_MAX_INLINE);
	CHECK_EQ_INT(transport_send(fd, &h, b.data, b.len, NULL, 0), 0);
	wire_buffer_free(&b);
	wire_fds_free(&f);
	xpc_release(v);
	xpc_release(d);
}

static xpc_object_t recv_data_item(int fd, TransportFrame *f)
{
	xpc_object_t d = NULL, v;

	REQUIRE(transport_recv(fd, f) == 0 && f->hdr.kind == FRAME_MESSAGE && !f->ool);
	REQUIRE(wire_decode_message_within(f->pkt, f->body, f->hdr.body_len, f->fds, f->n_fds, &d) == 0);
	frame_clear(f);
	v = xpc_retain(xpc_dictionary_get_value(d, "d"));
	xpc_release(d);
	return v;
}

static bool inside(xpc_object_t v, ObjectBuffer *b)
{
	const uint8_t *p = xpc_data_get_bytes_ptr(v);

	return p >= object_buffer_bytes(b) && p < object_buffer_bytes(b) + FRAME_PACKET_MAX;
}

static void test_inline_refs(void)
{
	TransportFrame *f = calloc(1, sizeof(*f));
	size_t big = WIRE_REF_INLINE_MIN + 1000, small = WIRE_REF_INLINE_MIN - 1;
	ObjectBuffer *first;
	xpc_object_t a, b, c;
	int sv[2];

	REQUIRE(f && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
	send_data_frame(sv[0], big, 1, 1);
	send_data_frame(sv[0], big, 2, 2);
	send_data_frame(sv[0], small, 3, 3);
	send_data_frame(sv[0], big, 4, 4);

	a = recv_data_item(sv[1], f); /* by reference: the frame's buffer is shared */
	first = f->pkt;
	CHECK(inside(a, first));
	CHECK(object_buffer_shared(first));
	b = recv_data_item(sv[1], f); /* so this one went into a fresh buffer */
	CHECK(f->pkt != first);
	CHECK(inside(b, f->pkt) && !inside(b, first));
	CHECK(check_fill(xpc_data_get_bytes_ptr(a), big, 1)); /* unchanged */
	CHECK(check_fill(xpc_data_get_bytes_ptr(b), big, 2));
	xpc_release(b); /* the second buffer is the frame's alone again */
	ObjectBuffer *second = f->pkt;
	CHECK(!object_buffer_shared(second));
	c = recv_data_item(sv[1], f); /* small: copied, the buffer is reused */
	CHECK(f->pkt == second && !inside(c, second));
	CHECK(check_fill(xpc_data_get_bytes_ptr(c), small, 3));
	xpc_release(c);
	c = recv_data_item(sv[1], f);
	CHECK(f->pkt == second && inside(c, second));
	CHECK(check_fill(xpc_data_get_bytes_ptr(c), big, 4));
	CHECK(check_fill(xpc_data_get_bytes_ptr(a), big, 1));
	xpc_release(a);
	xpc_release(c);
	close(sv[0]);
	close(sv[1]);
	frame_release(f);
	free(f);
}

/* Big data objects (own huge-page buffer): the usual operations. */
static void test_big_data_object(void)
{
	xpc_object_t a = data_of(3u << 20, 9), b = data_of(3u << 20, 9), c = xpc_copy(a);
	uint8_t tail[4];

	CHECK(xpc_equal(a, b));
	CHECK(xpc_hash(a) == xpc_hash(b));
	CHECK(xpc_equal(a, c));
	CHECK_EQ_INT(xpc_data_get_length(a), 3u << 20);
	CHECK_EQ_INT(xpc_data_get_bytes(a, tail, (3u << 20) - 2, 4), 2);
	CHECK(check_fill(xpc_data_get_bytes_ptr(b), 3u << 20, 9));
	xpc_release(a);
	xpc_release(b);
	xpc_release(c);
}

static void test_echo_mixed(xpc_connection_t c)
{
	xpc_object_t d = mixed(), reply;
	int p[2];

	/* with a descriptor too: the memfd goes after it */
	REQUIRE(pipe2(p, O_CLOEXEC) == 0);
	xpc_dictionary_set_fd(d, "fd", p[1]);
	xpc_dictionary_set_string(d, "op", "echo");
	reply = xpc_connection_send_message_with_reply_sync(c, d);
	REQUIRE(xpc_get_type(reply) == XPC_TYPE_DICTIONARY);
	xpc_object_t e = xpc_dictionary_get_value(reply, "echo");
	REQUIRE(e != NULL);
	for (size_t i = 0; i < N_SIZES; i++) {
		char key[32];
		size_t len = 0;
		snprintf(key, sizeof(key), "d%zu", i);
		const void *bytes = xpc_dictionary_get_data(e, key, &len);
		CHECK_EQ_INT(len, sizes[i]);
		CHECK(len == 0 || check_fill(bytes, len, (unsigned)i));
	}
	int fd = xpc_dictionary_dup_fd(e, "fd");
	CHECK(fd >= 0);
	CHECK(write(fd, "x", 1) == 1);
	char ch = 0;
	CHECK(read(p[0], &ch, 1) == 1 && ch == 'x');
	close(fd);
	close(p[0]);
	close(p[1]);
	xpc_release(reply);
	xpc_release(d);

	/* one inline message whose data goes by reference (iovec send) */
	d = xpc_dictionary_create(NULL, NULL, 0);
	xpc_object_t v = data_of(40000, 3);
	xpc_dictionary_set_string(d, "op", "echo");
	xpc_dictionary_set_value(d, "v", v);
	reply = xpc_connection_send_message_with_reply_sync(c, d);
	REQUIRE(xpc_get_type(reply) == XPC_TYPE_DICTIONARY);
	CHECK(xpc_equal(xpc_dictionary_get_value(xpc_dictionary_get_value(reply, "echo"), "v"), v));
	xpc_release(v);
	xpc_release(reply);
	xpc_release(d);
}

/* Many messages at once, released right after sending: whatever waits in
 * the out-queue must not point into them any more. */
static void test_queued(xpc_connection_t c, size_t len, int count)
{
	dispatch_semaphore_t sem = dispatch_semaphore_create(0);
	dispatch_queue_t rq = dispatch_queue_create("bulk.replies", NULL);
	__block int good = 0, answered = 0;

	for (int i = 0; i < count; i++) {
		xpc_object_t d = xpc_dictionary_create(NULL, NULL, 0);
		xpc_object_t v = data_of(len, (unsigned)i);
		xpc_dictionary_set_string(d, "op", "echo");
		xpc_dictionary_set_value(d, "v", v);
		xpc_dictionary_set_int64(d, "i", i);
		xpc_release(v);
		xpc_connection_send_message_with_reply(c, d, rq, ^(xpc_object_t r) {
			xpc_object_t e = xpc_dictionary_get_value(r, "echo");
			size_t n = 0;
			const void *p = e ? xpc_dictionary_get_data(e, "v", &n) : NULL;
			if (p && n == len && check_fill(p, n, (unsigned)xpc_dictionary_get_int64(e, "i")))
				good++;
			answered++;
			dispatch_semaphore_signal(sem);
		});
		xpc_release(d);
	}
	for (int i = 0; i < count; i++)
		REQUIRE(conn_test_wait(sem, 60));
	dispatch_sync(rq, ^{
		CHECK_EQ_INT(answered, count);
		CHECK_EQ_INT(good, count);
	});
	dispatch_release(rq);
	dispatch_release(sem);
}

int main(void)
{
	harness_warm_dispatch();
	harness_begin(120);
	int base = harness_count_fds();

	test_wire_refs();
	test_wire_keep();
	test_inline_refs();
	test_big_data_object();

	xpc_connection_t l = conn_test_start_echo_listener(NULL);
	xpc_connection_t c = conn_test_connect(l);
	test_echo_mixed(c);
	test_queued(c, 40000, 300);  /* inline, by reference, queued */
	test_queued(c, 300000, 40); /* out of line, queued */
	xpc_connection_cancel(c);
	xpc_connection_cancel(l);
	xpc_release(c);
	xpc_release(l);
	conn_test_settle_fds(base);
	return harness_end();
}
