/* SPDX-License-Identifier: MIT */
/*
 * test-message - the RemoteXPC wrapper (src/transport/remote/message.c): the bytes
 * the encoder writes, the reader over any split of its input, and what it
 * refuses (magic, flags, size) without buffering more than it received.
 */
#include <string.h>
#include <xpc/xpc.h>

#include "harness.h"
#include "transport/remote/remote.h"

/* {} with flags 0x1, id 0: the first message a client sends. */
static const uint8_t empty_msg[] = {
	0x92, 0x0b, 0xb0, 0x29, 0x01, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x42, 0x37, 0x13, 0x42, 0x05, 0x00, 0x00, 0x00,
	0x00, 0xf0, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

static void test_encode(void)
{
	xpc_object_t d = xpc_dictionary_create(NULL, NULL, 0);
	uint8_t *b;
	size_t n;

	REQUIRE(remote_message_encode(REMOTE_FLAG_ALWAYS_SET, 0, d, &b, &n) == 0);
	CHECK_EQ_INT(n, sizeof(empty_msg));
	CHECK(n == sizeof(empty_msg) && !memcmp(b, empty_msg, n));
	free(b);
	/* no body: L = 0 */
	REQUIRE(remote_message_encode(0x400001, 7, NULL, &b, &n) == 0);
	CHECK_EQ_INT(n, 24);
	CHECK(b[4] == 0x01 && b[6] == 0x40 && b[8] == 0 && b[16] == 7);
	free(b);
	xpc_release(d);
}

/* Feeds @n bytes in pieces of @step; counts messages, checks each. */
static int feed_all(const uint8_t *p, size_t n, size_t step, int *ret_err)
{
	RemoteReader r;
	RemoteMessage m;
	size_t used, off = 0;
	int count = 0, rv = 0;

	remote_reader_init(&r);
	while (off < n) {
		size_t len = n - off < step ? n - off : step;

		rv = remote_reader_feed(&r, p + off, len, &used, &m);
		if (rv > 1 || rv < 0)
			break;
		off += used;
		if (rv == 1) {
			count++;
			if (m.body)
				xpc_release(m.body);
		}
	}
	remote_reader_free(&r);
	*ret_err = rv > 1 || rv < 0 ? rv : 0;
	return count;
}

static void test_reader_splits(void)
{
	xpc_object_t d = xpc_dictionary_create(NULL, NULL, 0);
	uint8_t *b, all[4096];
	size_t n, total = 0;
	int err;

	xpc_dictionary_set_string(d, "hello", "world");
	xpc_dictionary_set_int64(d, "n", 5);
	for (int i = 0; i < 3; i++) {
		REQUIRE(remote_message_encode(REMOTE_FLAG_ALWAYS_SET | REMOTE_FLAG_DATA_PRESENT, (uint64_t)i,
					      i == 1 ? NULL : d, &b, &n) == 0);
		memcpy(all + total, b, n);
		total += n;
		free(b);
	}
	for (size_t step = 1; step <= total; step++)
		CHECK_EQ_INT(feed_all(all, total, step, &err), 3);
	{
		RemoteReader r;
		RemoteMessage m;
		size_t used;

		remote_reader_init(&r);
		CHECK_EQ_INT(remote_reader_feed(&r, all, total, &used, &m), 1);
		CHECK(m.body && xpc_equal(m.body, d) && m.id == 0);
		CHECK(m.flags == (REMOTE_FLAG_ALWAYS_SET | REMOTE_FLAG_DATA_PRESENT));
		xpc_release(m.body);
		remote_reader_free(&r);
	}
	xpc_release(d);
}

static void test_reader_refuses(void)
{
	uint8_t b[64];
	RemoteReader r;
	RemoteMessage m;
	size_t used;
	int err;

	memcpy(b, empty_msg, sizeof(empty_msg));
	b[0] ^= 1; /* magic */
	CHECK_EQ_INT(feed_all(b, sizeof(empty_msg), 5, &err), 0);
	CHECK_EQ_INT(err, REMOTE_E_BAD_MAGIC);
	memcpy(b, empty_msg, sizeof(empty_msg));
	b[4] = 0; /* no ALWAYS_SET */
	feed_all(b, sizeof(empty_msg), 64, &err);
	CHECK_EQ_INT(err, REMOTE_E_BAD_FLAGS);
	memcpy(b, empty_msg, sizeof(empty_msg));
	b[7] = 0x80; /* unknown flag */
	feed_all(b, sizeof(empty_msg), 64, &err);
	CHECK_EQ_INT(err, REMOTE_E_BAD_FLAGS);
	memcpy(b, empty_msg, sizeof(empty_msg));
	b[12] = 1; /* L beyond 4 GiB */
	feed_all(b, sizeof(empty_msg), 64, &err);
	CHECK_EQ_INT(err, REMOTE_E_TOO_BIG);
	/* L = 16 MiB announced, 20 bytes sent: the buffer is what came, not L */
	memcpy(b, empty_msg, sizeof(empty_msg));
	b[8] = 0, b[9] = 0, b[10] = 0, b[11] = 1;
	remote_reader_init(&r);
	CHECK_EQ_INT(remote_reader_feed(&r, b, sizeof(empty_msg), &used, &m), 0);
	CHECK_EQ_INT(used, sizeof(empty_msg));
	CHECK(r.body_cap <= 256);
	remote_reader_free(&r);
	/* a body that does not decode: framing intact, the error handed out */
	memcpy(b, empty_msg, sizeof(empty_msg));
	b[33] = 0xee; /* tag 0xee00 */
	remote_reader_init(&r);
	CHECK_EQ_INT(remote_reader_feed(&r, b, sizeof(empty_msg), &used, &m), 1);
	CHECK(m.body == NULL && m.body_error == WIRE_E_BAD_TAG);
	remote_reader_free(&r);
}

static void test_encode_refuses(void)
{
	xpc_object_t d = xpc_dictionary_create(NULL, NULL, 0), fd = xpc_fd_create(0);
	uint8_t *b;
	size_t n;

	xpc_dictionary_set_value(d, "fd", fd);
	CHECK_EQ_INT(remote_message_encode(REMOTE_FLAG_ALWAYS_SET, 1, d, &b, &n), WIRE_E_UNSERIALIZABLE);
	xpc_release(fd);
	xpc_release(d);
}

int main(void)
{
	harness_begin(60);
	test_encode();
	test_reader_splits();
	test_reader_refuses();
	test_encode_refuses();
	return harness_end();
}
