/* SPDX-License-Identifier: MIT */
/*
 * test-wire.c - the wire layer against docs/wire.md: the byte examples
 * of Apple's layout come out of the encoder exactly and decode back equal; a few
 * thousand random graphs (every sendable type, descriptors included, nesting
 * to WIRE_MAX_DEPTH) survive encode -> decode; hostile bytes give exactly
 * the expected WIRE_E_* code, and on failure every descriptor handed to the
 * decoder is either still in the caller's array (open) or was taken and
 * closed.  harness_end() fails on leaked descriptors, LSan on leaked memory.
 */
#include <fcntl.h>
#include <malloc.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <errno.h>

#include <dispatch/dispatch.h>

#include "harness.h"
#include "object/object.h"
#include "wire/wire.h"

/* ---- golden bytes -------------------------------------------------------- */

static void test_golden(void)
{
	static const uint8_t reply[40] = {
		0x43, 0x50, 0x58, 0x40, 5, 0, 0, 0, 0x00, 0xf0, 0, 0, 24, 0, 0, 0, 1, 0, 0, 0,
		'r', 'e', 'p', 'l', 'y', 0, 0, 0, 0x00, 0x30, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0};
	static const uint8_t empty[20] = {0x42, 0x37, 0x13, 0x42, 5, 0, 0, 0, 0x00, 0xf0, 0, 0,
					  4, 0, 0, 0, 0, 0, 0, 0};
	xpc_object_t d = xpc_dictionary_create_empty(), e = xpc_dictionary_create_empty(), back = NULL;
	WireBuffer b = {0};
	WireFds f = {0};

	xpc_dictionary_set_int64(d, "reply", 1);
	REQUIRE(wire_encode_message(d, &b, &f) == 0);
	CHECK(b.len == sizeof(reply) && memcmp(b.data, reply, sizeof(reply)) == 0 && f.n == 0);
	CHECK_EQ_INT(wire_decode_message(reply, sizeof(reply), NULL, 0, &back), 0);
	CHECK(back && xpc_equal(back, d));
	xpc_release(back);
	wire_buffer_free(&b);
	REQUIRE(wire_encode_object(e, &b) == 0);
	CHECK(b.len == sizeof(empty) && memcmp(b.data, empty, sizeof(empty)) == 0);
	back = NULL;
	CHECK_EQ_INT(wire_decode_object(empty, sizeof(empty), &back), 0);
	CHECK(back && xpc_equal(back, e));
	xpc_release(back);
	wire_buffer_free(&b);
	wire_fds_free(&f);
	xpc_release(d);
	xpc_release(e);
}

/* ---- random round trips -------------------------------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static int base_fd = -1, base_memfd = -1, base_sock = -1;
static unsigned n_desc, n_endpoints;

static xpc_object_t random_string(void)
{
	static const char *const pieces[] = {"a", "Z", "é", "€", "𝄞", " ", "key", ""};
	char s[64] = "";
	unsigned n = (unsigned)(rnd() % 8);

	for (unsigned i = 0; i < n; i++)
		strcat(s, pieces[rnd() % 8]);
	return xpc_string_create(s);
}

static xpc_object_t random_double(void)
{
	static const double v[] = {0.0, -0.0, 1.5, -1e308, 5e-324, INFINITY};
	uint64_t r = rnd() % 8;

	if (r < 6)
		return xpc_double_create(v[r]);
	return xpc_double_create(r == 6 ? NAN : (double)(int64_t)rnd() / 7.0);
}

static xpc_object_t random_data(void)
{
	size_t n = rnd() % 16 == 0 ? (size_t)(rnd() % 70000) : (size_t)(rnd() % 9);
	uint8_t *p = malloc(n + 1);
	xpc_object_t d;

	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rnd();
	d = xpc_data_create(p, n);
	free(p);
	return d;
}

static xpc_object_t random_graph(unsigned depth);

static xpc_object_t random_container(unsigned depth, bool dict)
{
	xpc_object_t c = dict ? xpc_dictionary_create_empty() : xpc_array_create_empty();
	unsigned n = (unsigned)(rnd() % (depth > 4 ? 3 : 6));

	for (unsigned i = 0; i < n; i++) {
		xpc_object_t v = random_graph(depth + 1);
		if (dict) {
			char key[16];
			snprintf(key, sizeof(key), i % 3 ? "k%u" : "é%u", i);
			xpc_dictionary_set_value(c, key, v);
		} else {
			xpc_array_append_value(c, v);
		}
		xpc_release(v);
	}
	return c;
}

static xpc_object_t random_scalar(void)
{
	uint8_t u[16];

	switch (rnd() % 12) {
	case 0: return xpc_null_create();
	case 1: return xpc_bool_create(rnd() & 1);
	case 2: return xpc_int64_create(rnd() & 1 ? INT64_MIN : (int64_t)rnd());
	case 3: return xpc_uint64_create(rnd() & 1 ? UINT64_MAX : rnd());
	case 4: return random_double();
	case 5: return xpc_date_create((int64_t)rnd());
	case 6: return random_data();
	case 7: return random_string();
	case 8:
		for (int i = 0; i < 16; i++)
			u[i] = (uint8_t)rnd();
		return xpc_uuid_create(u);
	case 9:
		if (n_desc++ < 16)
			return xpc_fd_create(base_fd);
		return xpc_null_create();
	case 10: /* an endpoint: the send side of a listener's channel */
		if (n_desc++ < 16 && ++n_endpoints)
			return endpoint_object_create_consume(fcntl(base_sock, F_DUPFD_CLOEXEC, 0));
		return xpc_null_create();
	default:
		if (n_desc++ < 16)
			return shmem_object_create_consume(fcntl(base_memfd, F_DUPFD_CLOEXEC, 0), 1 + rnd() % 4096);
		return xpc_null_create();
	}
}

static xpc_object_t random_graph(unsigned depth)
{
	uint64_t r = rnd() % 10;

	if (depth < WIRE_MAX_DEPTH && r < 3)
		return random_container(depth, r == 0);
	return random_scalar();
}

/* Equality that also holds for NaN (bitwise) and descriptors (same file). */
static bool same(xpc_object_t a, xpc_object_t b);

static bool same_fd(int x, int y)
{
	struct stat s, t;

	return fstat(x, &s) == 0 && fstat(y, &t) == 0 && s.st_ino == t.st_ino && s.st_dev == t.st_dev;
}

static bool same(xpc_object_t a, xpc_object_t b)
{
	xpc_type_t t = xpc_get_type(a);

	if (t != xpc_get_type(b))
		return false;
	if (t == XPC_TYPE_DOUBLE) {
		double x = xpc_double_get_value(a), y = xpc_double_get_value(b);
		return memcmp(&x, &y, sizeof(x)) == 0;
	}
	if (t == XPC_TYPE_FD)
		return same_fd(fd_object_borrow(a), fd_object_borrow(b));
	if (t == XPC_TYPE_ENDPOINT)
		return same_fd(endpoint_object_borrow_fd(a), endpoint_object_borrow_fd(b));
	if (t == XPC_TYPE_SHMEM)
		return shmem_object_get_size(a) == shmem_object_get_size(b) &&
		       same_fd(shmem_object_borrow_fd(a), shmem_object_borrow_fd(b));
	if (t == XPC_TYPE_ARRAY) {
		if (xpc_array_get_count(a) != xpc_array_get_count(b))
			return false;
		for (size_t i = 0; i < xpc_array_get_count(a); i++)
			if (!same(xpc_array_get_value(a, i), xpc_array_get_value(b, i)))
				return false;
		return true;
	}
	if (t == XPC_TYPE_DICTIONARY) {
		if (xpc_dictionary_get_count(a) != xpc_dictionary_get_count(b))
			return false;
		return xpc_dictionary_apply(a, ^bool(const char *k, xpc_object_t v) {
			xpc_object_t w = xpc_dictionary_get_value(b, k);
			return w && same(v, w);
		});
	}
	return xpc_equal(a, b);
}

static void round_trip_one(xpc_object_t root)
{
	WireBuffer b = {0};
	WireFds f = {0};
	int fds[64];
	xpc_object_t back = NULL;
	int r;

	REQUIRE(wire_encode_message(root, &b, &f) == 0 && f.n <= 64);
	for (size_t i = 0; i < f.n; i++)
		fds[i] = fcntl(f.fds[i], F_DUPFD_CLOEXEC, 0);
	r = wire_decode_message(b.data, b.len, fds, f.n, &back);
	CHECK_EQ_INT(r, 0);
	for (size_t i = 0; i < f.n; i++) {
		CHECK(fds[i] == -1); /* every descriptor taken */
		if (fds[i] >= 0)
			close(fds[i]);
	}
	if (r == 0) {
		CHECK(same(root, back));
		xpc_release(back);
	}
	wire_buffer_free(&b);
	wire_fds_free(&f);
}

static void test_round_trips(void)
{
	xpc_object_t deep, inner;

	REQUIRE((base_fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0);
	REQUIRE((base_memfd = memfd_create("wire-test", MFD_CLOEXEC | MFD_ALLOW_SEALING)) >= 0);
	REQUIRE(ftruncate(base_memfd, 4096) == 0 && fcntl(base_memfd, F_ADD_SEALS, F_SEAL_SHRINK) == 0);
	{
		int sv[2];
		REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
		close(sv[1]);
		base_sock = sv[0];
	}
	for (int i = 0; i < 3000; i++) {
		n_desc = 0;
		xpc_object_t root = random_container(0, true);
		round_trip_one(root);
		xpc_release(root);
	}
	/* the deepest accepted graph: WIRE_MAX_DEPTH containers */
	deep = xpc_dictionary_create_empty();
	inner = deep;
	for (unsigned d = 1; d < WIRE_MAX_DEPTH; d++) {
		xpc_object_t a = xpc_array_create_empty();
		if (d == 1)
			xpc_dictionary_set_value(inner, "x", a);
		else
			xpc_array_append_value(inner, a);
		xpc_release(a);
		inner = a;
	}
	round_trip_one(deep);
	/* one more is refused by the encoder */
	{
		xpc_object_t extra = xpc_array_create_empty();
		xpc_array_append_value(inner, extra);
		xpc_release(extra);
	}
	{
		WireBuffer b = {0};
		WireFds f = {0};
		CHECK_EQ_INT(wire_encode_message(deep, &b, &f), WIRE_E_TOO_DEEP);
		CHECK(b.len == 0);
		wire_buffer_free(&b);
		wire_fds_free(&f);
	}
	xpc_release(deep);
	close(base_fd);
	close(base_memfd);
	close(base_sock);
	CHECK(n_endpoints > 100); /* the graphs did carry endpoints */
}

/* ---- hostile bytes ------------------------------------------------------- */

typedef struct Bytes {
	uint8_t b[2048];
	size_t n;
} Bytes;

static void u32(Bytes *x, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		x->b[x->n++] = (uint8_t)(v >> (8 * i));
}

static void raw(Bytes *x, const void *p, size_t n)
{
	memcpy(x->b + x->n, p, n);
	x->n += n;
}

/* A message header and the start of a root dictionary of @count entries
 * whose body is @len bytes. */
static Bytes msg(uint32_t len, uint32_t count)
{
	Bytes x = {.n = 0};

	u32(&x, WIRE_MESSAGE_MAGIC);
	u32(&x, WIRE_VERSION);
	u32(&x, 0xf000);
	u32(&x, len);
	u32(&x, count);
	return x;
}

/* Decodes @x with @n_fds fresh descriptors and checks the error and that
 * each descriptor is either left to the caller (still open) or gone. */
static void expect(int line, const Bytes *x, size_t n_fds, int want)
{
	int fds[4], orig[4];
	xpc_object_t out = NULL;
	int r;

	for (size_t i = 0; i < n_fds; i++) {
		orig[i] = fds[i] = memfd_create("hostile", MFD_CLOEXEC);
		REQUIRE(fds[i] >= 0 && ftruncate(fds[i], 4096) == 0); /* not sealed */
	}
	r = wire_decode_message(x->b, x->n, n_fds ? fds : NULL, n_fds, &out);
	if (r != want) {
		fprintf(stderr, "line %d: got %d (%s), want %d\n", line, r, wire_strerror(r), want);
		harness_failures++;
	}
	CHECK(out == NULL);
	for (size_t i = 0; i < n_fds; i++) {
		if (fds[i] >= 0)
			CHECK(close(fds[i]) == 0);
		else
			CHECK(fcntl(orig[i], F_GETFD) < 0); /* taken: closed by the decoder */
	}
}

#define EXPECT(x, n, want) expect(__LINE__, &(x), (n), (want))

static void test_hostile(void)
{
	Bytes x;

	x = msg(12, 1); /* "a" -> null, but cut */
	raw(&x, "a\0\0\0", 4);
	EXPECT(x, 0, WIRE_E_TRUNCATED);
	x = msg(4, 0);
	x.b[0] ^= 1;
	EXPECT(x, 0, WIRE_E_BAD_MAGIC);
	x = msg(4, 0);
	x.b[4] = 4;
	EXPECT(x, 0, WIRE_E_BAD_VERSION);
	x = msg(12, 1);
	raw(&x, "a\0\0\0", 4);
	u32(&x, 0x1001); /* low bits set */
	EXPECT(x, 0, WIRE_E_BAD_TAG);
	x = msg(12, 1);
	raw(&x, "a\0\0\0", 4);
	u32(&x, 0x6000); /* pointer: never sent */
	EXPECT(x, 0, WIRE_E_BAD_TAG);
	x = msg(16, 1); /* body longer than its item */
	raw(&x, "a\0\0\0", 4);
	u32(&x, 0x1000);
	u32(&x, 0);
	EXPECT(x, 0, WIRE_E_BAD_LENGTH);
	x = msg(6, 0); /* not a multiple of 4 */
	raw(&x, "\0\0", 2);
	EXPECT(x, 0, WIRE_E_BAD_LENGTH);
	x = msg(20, 1); /* string "ab" declared 4 long: NUL early (CVE-2018-4248) */
	raw(&x, "a\0\0\0", 4);
	u32(&x, 0x9000);
	u32(&x, 4);
	raw(&x, "ab\0c", 4);
	EXPECT(x, 0, WIRE_E_BAD_STRING);
	x = msg(20, 1); /* no NUL at the declared end */
	raw(&x, "a\0\0\0", 4);
	u32(&x, 0x9000);
	u32(&x, 4);
	raw(&x, "abcd", 4);
	EXPECT(x, 0, WIRE_E_BAD_STRING);
	x = msg(20, 1);
	raw(&x, "a\0\0\0", 4);
	u32(&x, 0x9000);
	u32(&x, 3);
	raw(&x, "\xc3\x28\0\0", 4);
	EXPECT(x, 0, WIRE_E_BAD_UTF8);
	x = msg(12, 1); /* key "\xff" */
	raw(&x, "\xff\0\0\0", 4);
	u32(&x, 0x1000);
	EXPECT(x, 0, WIRE_E_BAD_UTF8);
	x = msg(12, 1); /* key padding not zero */
	raw(&x, "a\0\0\1", 4);
	u32(&x, 0x1000);
	EXPECT(x, 0, WIRE_E_BAD_PADDING);
	x = msg(16, 1); /* bool 2 */
	raw(&x, "a\0\0\0", 4);
	u32(&x, 0x2000);
	u32(&x, 2);
	EXPECT(x, 0, WIRE_E_BAD_VALUE);
	x = msg(20, 2); /* duplicate key */
	raw(&x, "a\0\0\0", 4);
	u32(&x, 0x1000);
	raw(&x, "a\0\0\0", 4);
	u32(&x, 0x1000);
	EXPECT(x, 0, WIRE_E_BAD_VALUE);
	x = msg(20, 1); /* shmem larger than its memfd (4096 bytes) */
	raw(&x, "a\0\0\0", 4);
	u32(&x, 0xc000);
	u32(&x, 8192);
	u32(&x, 0);
	EXPECT(x, 1, WIRE_E_BAD_VALUE);
	x = msg(20, 1); /* shmem over a memfd its sender may still shrink (not sealed) */
	raw(&x, "a\0\0\0", 4);
	u32(&x, 0xc000);
	u32(&x, 100);
	u32(&x, 0);
	EXPECT(x, 1, WIRE_E_BAD_VALUE);
	x = msg(0xfffffff0u, 0xfffffff0u); /* huge length: nothing allocated */
	EXPECT(x, 0, WIRE_E_TRUNCATED);
	x = msg(8, 0x40000000u); /* huge count in a small body */
	u32(&x, 0);
	EXPECT(x, 0, WIRE_E_TOO_MANY);
	x = msg(12, 1); /* fd item, no descriptor */
	raw(&x, "a\0\0\0", 4);
	u32(&x, 0xb000);
	EXPECT(x, 0, WIRE_E_NO_FD);
	x = msg(16, 2); /* two fd items, one descriptor: the first is released */
	raw(&x, "a\0\0\0", 4);
	u32(&x, 0xb000);
	raw(&x, "b\0\0\0", 4);
	u32(&x, 0xb000);
	x.b[12] = 20;
	EXPECT(x, 1, WIRE_E_NO_FD);
	x = msg(4, 0);
	u32(&x, 0);
	EXPECT(x, 2, WIRE_E_TRAILING);
	x = msg(4, 0);
	x.b[9] = 0xe0; /* root is an array */
	EXPECT(x, 0, WIRE_E_NOT_DICTIONARY);
	/* nesting one past the limit */
	x = msg(0, 1);
	raw(&x, "a\0\0\0", 4);
	for (unsigned d = 1; d < WIRE_MAX_DEPTH; d++) {
		u32(&x, 0xe000);
		u32(&x, 0);
		u32(&x, 1);
	}
	u32(&x, 0xe000);
	u32(&x, 4);
	u32(&x, 0);
	/* patch the lengths from the innermost out */
	{
		size_t end = x.n;
		size_t at = 12;
		uint32_t len = (uint32_t)(end - at - 4);
		memcpy(x.b + at, &len, 4);
		at = 28;
		for (unsigned d = 1; d < WIRE_MAX_DEPTH; d++, at += 12) {
			len = (uint32_t)(end - at - 4);
			memcpy(x.b + at, &len, 4);
		}
	}
	EXPECT(x, 0, WIRE_E_TOO_DEEP);
}

/* Encoding succeeds only for what the decoder accepts: a string or key
 * that is not UTF-8, or a string with a NUL inside, is refused at the
 * sender instead of ending the connection at the receiver. */
static void test_encoder_refuses(void)
{
	static const struct {
		const char *key;
		xpc_object_t (*make)(void);
		int want;
	} cases[3] = {{"k", NULL, WIRE_E_BAD_UTF8}, {"\xff", NULL, WIRE_E_BAD_UTF8}, {"k", NULL, WIRE_E_BAD_STRING}};

	for (int i = 0; i < 3; i++) {
		xpc_object_t d = xpc_dictionary_create_empty(), v;
		WireBuffer b = {0};
		WireFds f = {0};

		(void)cases[i].make;
		v = i == 0 ? xpc_string_create("\xc3\x28") : i == 1 ? xpc_null_create() : xpc_string_create_with_format("a%cb", 0);
		xpc_dictionary_set_value(d, cases[i].key, v);
		xpc_release(v);
		CHECK_EQ_INT(wire_encode_message(d, &b, &f), cases[i].want);
		CHECK(b.len == 0);
		CHECK(xpc_linux_serialize(d, &(size_t){0}) == NULL && errno == EILSEQ);
		wire_buffer_free(&b);
		wire_fds_free(&f);
		xpc_release(d);
	}
}

/* Lengths beyond 32 bits: WIRE_E_TOO_BIG, nothing sent, nothing leaked.
 * The data objects point into a reserved, never-touched mapping (dispatch
 * data with a destructor: no copy), so this costs address space, not memory.
 * With a 32-bit size_t no single object can be longer than 32 bits, so
 * that case is left out; the mapping is then 1 GiB and the larger objects
 * reach past it, which is safe only because the encoder refuses them
 * before it reads a byte (what this test checks). */
static void test_too_big(void)
{
	const size_t giga = (size_t)1 << 30;
	const bool wide = SIZE_MAX > UINT32_MAX;
	const size_t size = wide ? (size_t)(4 * (uint64_t)giga + 2) : giga;
	void *p = mmap(NULL, size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	dispatch_data_t one, four;
	xpc_object_t d = xpc_dictionary_create_empty(), x1, x4;
	size_t len;

	REQUIRE(p != MAP_FAILED);
	one = dispatch_data_create(p, giga, NULL, ^{ });
	four = dispatch_data_create(p, size, NULL, ^{ });
	x1 = xpc_data_create_with_dispatch_data(one);
	x4 = xpc_data_create_with_dispatch_data(four);
	REQUIRE(x1 && x4 && xpc_data_get_length(x4) == size);
	if (wide) {
		xpc_dictionary_set_value(d, "big", x4); /* one item longer than 32 bits */
		WireBuffer b = {0};
		WireFds f = {0};
		CHECK_EQ_INT(wire_encode_message(d, &b, &f), WIRE_E_TOO_BIG);
		wire_buffer_free(&b);
		wire_fds_free(&f);
		errno = 0;
		CHECK(!xpc_linux_serialize(d, &len) && errno == E2BIG);
		xpc_dictionary_set_value(d, "big", NULL);
	}
	for (int i = 0; i < 5; i++) { /* items that fit, a body that does not */
		char key[8];
		snprintf(key, sizeof(key), "g%d", i);
		xpc_dictionary_set_value(d, key, x1);
	}
	{
		WireBuffer b = {.use_refs = true}; /* as sends encode: by reference */
		WireFds f = {0};
		CHECK_EQ_INT(wire_encode_message(d, &b, &f), WIRE_E_TOO_BIG);
		CHECK(b.len == 0 && b.n_refs == 0 && b.ref_bytes == 0);
		wire_buffer_free(&b);
		wire_fds_free(&f);
	}
	xpc_release(d);
	/* copied: a small item, then one that fits 32 bits but not the rest of
	 * the body: refused before its 4 GiB are copied */
	d = xpc_dictionary_create_empty();
	xpc_dictionary_set_data(d, "a", "small", 5);
	dispatch_release(one);
	one = dispatch_data_create(p, UINT32_MAX - 16, NULL, ^{ });
	xpc_release(x1);
	x1 = xpc_data_create_with_dispatch_data(one);
	xpc_dictionary_set_value(d, "b", x1);
	{
		WireBuffer b = {0};
		WireFds f = {0};
		CHECK_EQ_INT(wire_encode_message(d, &b, &f), WIRE_E_TOO_BIG);
		CHECK(b.len == 0 && b.cap < giga);
		wire_buffer_free(&b);
		wire_fds_free(&f);
	}
	xpc_release(d);
	xpc_release(x1);
	xpc_release(x4);
	dispatch_release(one);
	dispatch_release(four);
	munmap(p, size);
}

/* Memory a decoded graph holds, against its input: for the shapes that
 * cost most per wire byte, heap bytes per input byte stay under
 * WIRE_HEAP_PER_BYTE (docs/wire.md).  Measured with mallinfo2(), so only
 * where glibc's allocator is the one in use (not under sanitizers). */
#define WIRE_HEAP_PER_BYTE 16
static size_t heap_in_use(void)
{
	struct mallinfo2 m = mallinfo2();

	return m.uordblks + m.hblkhd; /* small blocks + mmapped ones */
}

static xpc_object_t shape(int kind, int n)
{
	xpc_object_t a = xpc_array_create_empty();

	for (int i = 0; i < n; i++) {
		xpc_object_t v = kind == 0 ? xpc_null_create() : kind == 1 ? xpc_dictionary_create_empty()
			       : kind == 2 ? xpc_int64_create(i) : kind == 3 ? xpc_string_create("")
			       : kind == 4 ? xpc_data_create("", 0) : xpc_dictionary_create_empty();
		if (kind == 6) /* the smallest dictionary that gets an inline block */
			xpc_dictionary_set_value(v, "", xpc_null_create());
		xpc_array_append_value(a, v);
		xpc_release(v);
	}
	return a;
}

static void test_allocation_bound(void)
{
	static const char *const names[] = {"nulls", "empty dictionaries", "int64s", "empty strings",
					    "empty data", "keys", "one-entry dictionaries"};
	double worst = 0;

	if (heap_in_use() == 0)
		return; /* a sanitizer's allocator */
	for (int kind = 0; kind < 7; kind++) {
		xpc_object_t g = kind == 5 ? xpc_dictionary_create_empty() : shape(kind, 20000), back = NULL;
		/* kind 5: a dictionary of short distinct keys */
		WireBuffer b = {0};
		size_t before;

		for (int i = 0; kind == 5 && i < 20000; i++) {
			char key[16];
			snprintf(key, sizeof(key), "%x", i);
			xpc_dictionary_set_bool(g, key, true);
		}
		REQUIRE(wire_encode_object(g, &b) == 0);
		before = heap_in_use();
		CHECK_EQ_INT(wire_decode_object(b.data, b.len, &back), 0);
		double ratio = (double)(heap_in_use() - before) / (double)b.len;
		fprintf(stderr, "wire: decoding %s holds %.1f heap bytes per input byte\n", names[kind], ratio);
		CHECK(ratio < WIRE_HEAP_PER_BYTE);
		worst = ratio > worst ? ratio : worst;
		xpc_release(back);
		xpc_release(g);
		wire_buffer_free(&b);
	}
	CHECK(worst > 1); /* the measure measured something */
}

/* The public serialize API: standalone magic, any root, strict decoder. */
static void test_serialize(void)
{
	xpc_object_t a = xpc_array_create_empty(), back;
	uint8_t u[16] = {1, 2, 3};
	size_t len = 0;
	char *err = NULL;
	uint8_t *p;

	xpc_array_set_string(a, XPC_ARRAY_APPEND, "héllo");
	xpc_array_set_uint64(a, XPC_ARRAY_APPEND, UINT64_MAX);
	xpc_array_set_uuid(a, XPC_ARRAY_APPEND, u);
	xpc_array_set_data(a, XPC_ARRAY_APPEND, "", 0);
	p = xpc_linux_serialize(a, &len);
	REQUIRE(p && len > 8);
	CHECK(memcmp(p, "\x42\x37\x13\x42\x05\0\0\0\x00\xe0\0\0", 12) == 0);
	back = xpc_linux_deserialize(p, len, &err);
	CHECK(back && xpc_equal(a, back) && !err);
	xpc_release(back);
	back = xpc_linux_deserialize(p, len - 1, &err);
	CHECK(!back && err && strstr(err, "truncated"));
	free(err);
	p[0] = 0x43;
	err = NULL;
	CHECK(!xpc_linux_deserialize(p, len, &err) && err && strcmp(err, "bad magic") == 0);
	free(err);
	free(p);
	xpc_array_set_fd(a, XPC_ARRAY_APPEND, 0);
	errno = 0;
	CHECK(!xpc_linux_serialize(a, &len) && errno == EINVAL);
	xpc_release(a);
}

/* JSON nesting stops where the wire's does: WIRE_MAX_DEPTH containers. */
static void test_json_depth(void)
{
	char text[2 * WIRE_MAX_DEPTH + 8];
	char *err = NULL, *j;
	xpc_object_t x;

	for (unsigned n = WIRE_MAX_DEPTH; n <= WIRE_MAX_DEPTH + 1; n++) {
		memset(text, '[', n);
		memset(text + n, ']', n);
		text[2 * n] = 0;
		x = xpc_linux_create_from_json(text, &err);
		CHECK(n == WIRE_MAX_DEPTH ? x != NULL : (x == NULL && err && strstr(err, "deep")));
		if (x) {
			WireBuffer b = {0};
			CHECK_EQ_INT(wire_encode_object(x, &b), 0);
			wire_buffer_free(&b);
			j = xpc_linux_copy_json(x, XPC_LINUX_JSON_COMPACT);
			CHECK(j && strcmp(j, text) == 0);
			free(j);
			/* one level more on the object side is refused too */
			xpc_object_t outer = xpc_array_create(&x, 1);
			errno = 0;
			CHECK(xpc_linux_copy_json(outer, 0) == NULL && errno == E2BIG);
			xpc_release(outer);
			xpc_release(x);
		}
		free(err);
		err = NULL;
	}
}

/* What xpc_linux_copy_json() refuses, and the errno it says it with.
 * @d is a dictionary that converts; it is changed. */
static void test_json_refusals(xpc_object_t d)
{
	static const double inexpressible[3] = {NAN, INFINITY, -INFINITY};
	xpc_object_t a = xpc_array_create_empty();
	char *j;

	for (int i = 0; i < 3; i++) {
		xpc_dictionary_set_double(d, "x", inexpressible[i]); /* no JSON form */
		errno = 0;
		CHECK(xpc_linux_copy_json(d, 0) == NULL && errno == EDOM);
	}
	xpc_dictionary_set_double(d, "x", 1.5);
	xpc_dictionary_set_string(d, "s", "bad \xff utf-8"); /* strings are bytes in XPC */
	errno = 0;
	CHECK(xpc_linux_copy_json(d, 0) == NULL && errno == EILSEQ);
	xpc_dictionary_set_string(d, "s", "ok");
	xpc_dictionary_set_bool(d, "\xc3(", true); /* a key that is not UTF-8 */
	errno = 0;
	CHECK(xpc_linux_copy_json(d, 0) == NULL && errno == EILSEQ);
	xpc_dictionary_set_value(d, "\xc3(", NULL);
	xpc_array_append_value(a, d);
	xpc_array_set_double(a, XPC_ARRAY_APPEND, NAN); /* the error passes up through containers */
	errno = 0;
	CHECK(xpc_linux_copy_json(a, 0) == NULL && errno == EDOM);
	xpc_release(a);
	errno = 0;
	CHECK(xpc_linux_copy_json(NULL, 0) == NULL && errno == EINVAL);
	CHECK(xpc_linux_copy_json(d, 0x100) == NULL && errno == EINVAL);
	j = xpc_linux_copy_json(d, 0); /* and the dictionary converts again */
	CHECK(j != NULL);
	free(j);
}

/* JSON: round trip of the representable types, the $uint64 convention. */
static void test_json(void)
{
	xpc_object_t d = xpc_dictionary_create_empty(), back;
	uint8_t u[16] = {0xab};
	char *j, *err = NULL;

	xpc_dictionary_set_uint64(d, "u", UINT64_MAX);
	xpc_dictionary_set_int64(d, "i", INT64_MIN);
	xpc_dictionary_set_double(d, "x", -0.0);
	xpc_dictionary_set_date(d, "t", -5);
	xpc_dictionary_set_uuid(d, "id", u);
	xpc_dictionary_set_data(d, "b", "\0\1\2\3\4", 5);
	xpc_dictionary_set_string(d, "s", "𝄞");
	xpc_dictionary_set_bool(d, "f", false);
	j = xpc_linux_copy_json(d, XPC_LINUX_JSON_COMPACT);
	REQUIRE(j);
	CHECK(strstr(j, "\"u\":{\"$uint64\":\"18446744073709551615\"}"));
	back = xpc_linux_create_from_json(j, &err);
	CHECK(back && xpc_equal(d, back));
	xpc_release(back);
	free(j);
	test_json_refusals(d);
	xpc_release(d);
	CHECK(!xpc_linux_create_from_json("{\"a\": [1, }", &err) && err && strstr(err, "line 1"));
	free(err);
	err = NULL;
	CHECK(!xpc_linux_create_from_json("{\"$uint64\": \"-1\"}", &err) && err);
	free(err);
	err = NULL;
	for (int i = 0; i < 4; i++) {
		static const char *const bad[4] = {"{\"$uint64\": \" -5\"}", "{\"$uint64\": \"+5\"}",
						  "{\"$uint64\": -5}", "{\"$uint64\": \"18446744073709551616\"}"};
		err = NULL;
		CHECK(!xpc_linux_create_from_json(bad[i], &err) && err && strstr(err, "$uint64"));
		free(err);
	}
	back = xpc_linux_create_from_json("{\"$uint64\": \"42\"}", NULL);
	CHECK(xpc_get_type(back) == XPC_TYPE_UINT64 && xpc_uint64_get_value(back) == 42);
	xpc_release(back);
	test_json_depth();
	err = NULL;
	CHECK(!xpc_linux_create_from_json("{\"$type\": \"fd\"}", &err) && err);
	free(err);
	err = NULL;
	CHECK(!xpc_linux_create_from_json("{\"a\": 1, \"a\": 2}", &err) && err);
	free(err);
}

int main(void)
{
	harness_warm_dispatch(); /* test_too_big releases dispatch data with a destructor block */
	harness_begin(60);
	test_golden();
	test_round_trips();
	test_hostile();
	test_encoder_refuses();
	test_serialize();
	test_too_big();
	test_allocation_bound();
	test_json();
	return harness_end();
}
