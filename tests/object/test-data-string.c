/* SPDX-License-Identifier: MIT */
/*
 * test-data-string.c - data (copies, get_bytes clamping, dispatch data) and
 * strings (create, formats, length without NUL), with their zero values;
 * large data (64 KiB and up) in buffers reused from the process's cache:
 * a released buffer serves the next data of its size class, with the new
 * bytes, and data of every size around the class limits keeps its bytes.
 */
#include <Block.h>
#include <stdarg.h>
#include <stdlib.h>

#include "object-test.h"

static void test_data(void)
{
	char bytes[8] = "abcdefg", out[16];
	xpc_object_t d = xpc_data_create(bytes, sizeof(bytes)), e = xpc_data_create(NULL, 0);
	xpc_object_t d2;

	REQUIRE(d && e);
	bytes[0] = 'X'; /* copied at creation */
	CHECK(xpc_get_type(d) == XPC_TYPE_DATA);
	CHECK_EQ_INT(xpc_data_get_length(d), 8);
	CHECK(memcmp(xpc_data_get_bytes_ptr(d), "abcdefg", 8) == 0);
	CHECK_EQ_INT(xpc_data_get_length(e), 0);
	/* get_bytes clamps to what is there */
	memset(out, 0, sizeof(out));
	CHECK_EQ_INT(xpc_data_get_bytes(d, out, 0, sizeof(out)), 8);
	CHECK(memcmp(out, "abcdefg", 8) == 0);
	CHECK_EQ_INT(xpc_data_get_bytes(d, out, 5, 100), 3);
	CHECK(memcmp(out, "fg", 3) == 0);
	CHECK_EQ_INT(xpc_data_get_bytes(d, out, 2, 2), 2);
	CHECK(memcmp(out, "cd", 2) == 0);
	CHECK_EQ_INT(xpc_data_get_bytes(d, out, 8, 4), 0);
	CHECK_EQ_INT(xpc_data_get_bytes(d, out, SIZE_MAX, 4), 0);
	CHECK_EQ_INT(xpc_data_get_bytes(NULL, out, 0, 4), 0);
	CHECK_EQ_INT(xpc_data_get_length(XPC_BOOL_TRUE), 0);
	CHECK(xpc_data_get_bytes_ptr(NULL) == NULL);
	CHECK(xpc_data_create(NULL, 3) == NULL);
	d2 = xpc_data_create("abcdefg", 8);
	CHECK(xpc_equal(d, d2) && xpc_hash(d) == xpc_hash(d2));
	CHECK(!xpc_equal(d, e));
	xpc_release(d2);
	xpc_release(d);
	xpc_release(e);
}

static xpc_object_t data_filled(size_t len, int c)
{
	char *b = malloc(len);
	xpc_object_t d;

	memset(b, c, len);
	d = xpc_data_create(b, len);
	free(b);
	return d;
}

static bool all_are(xpc_object_t d, size_t len, int c)
{
	const unsigned char *p = xpc_data_get_bytes_ptr(d);

	if (!p || xpc_data_get_length(d) != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (p[i] != (unsigned char)c)
			return false;
	return true;
}

static void test_large_data(void)
{
	static const size_t sizes[] = {(64u << 10) - 1, 64u << 10, (64u << 10) + 1, (1u << 20) - 1, 1u << 20,
				       (2u << 20) - 1, 2u << 20, (2u << 20) + 1, 5u << 20};
	const void *first;

	/* reused: the same memory, the new bytes */
	xpc_object_t d = data_filled(1u << 20, 'a');
	REQUIRE(d);
	first = xpc_data_get_bytes_ptr(d);
	xpc_release(d);
	d = data_filled(1u << 20, 'b');
	REQUIRE(d);
	CHECK(xpc_data_get_bytes_ptr(d) == first);
	CHECK(all_are(d, 1u << 20, 'b'));
	/* not while the first is alive */
	xpc_object_t d2 = data_filled(1u << 20, 'c');
	REQUIRE(d2);
	CHECK(xpc_data_get_bytes_ptr(d2) != xpc_data_get_bytes_ptr(d));
	CHECK(all_are(d, 1u << 20, 'b') && all_are(d2, 1u << 20, 'c'));
	xpc_release(d);
	xpc_release(d2);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		xpc_object_t x = data_filled(sizes[i], 'A' + (int)i);
		REQUIRE(x);
		CHECK(all_are(x, sizes[i], 'A' + (int)i));
		xpc_object_t y = xpc_copy(x);
		CHECK(xpc_equal(x, y));
		xpc_release(y);
		xpc_release(x);
	}
}

static void test_dispatch_data(void)
{
	char *buf = malloc(5);
	dispatch_data_t dd;
	xpc_object_t d;

	REQUIRE(buf);
	memcpy(buf, "hello", 5);
	dd = dispatch_data_create(buf, 5, NULL, DISPATCH_DATA_DESTRUCTOR_FREE);
	REQUIRE(dd);
	d = xpc_data_create_with_dispatch_data(dd);
	dispatch_release(dd); /* the data object keeps what it needs */
	REQUIRE(d);
	CHECK_EQ_INT(xpc_data_get_length(d), 5);
	CHECK(memcmp(xpc_data_get_bytes_ptr(d), "hello", 5) == 0);
	xpc_release(d);
	d = xpc_data_create_with_dispatch_data(dispatch_data_empty);
	REQUIRE(d);
	CHECK_EQ_INT(xpc_data_get_length(d), 0);
	xpc_release(d);
	CHECK(xpc_data_create_with_dispatch_data(NULL) == NULL);
}

__attribute__((__format__(__printf__, 1, 2))) static xpc_object_t make_va(const char *fmt, ...)
{
	xpc_object_t s;
	va_list ap;

	va_start(ap, fmt);
	s = xpc_string_create_with_format_and_arguments(fmt, ap);
	va_end(ap);
	return s;
}

static void test_string(void)
{
	char text[] = "hello";
	xpc_object_t s = xpc_string_create(text), f, v, e;

	REQUIRE(s);
	text[0] = 'J';
	CHECK(xpc_get_type(s) == XPC_TYPE_STRING);
	CHECK_STREQ(xpc_string_get_string_ptr(s), "hello");
	CHECK_EQ_INT(xpc_string_get_length(s), 5);
	f = xpc_string_create_with_format("%s-%d-%05.1f", "x", 42, 2.5);
	REQUIRE(f);
	CHECK_STREQ(xpc_string_get_string_ptr(f), "x-42-002.5");
	CHECK_EQ_INT(xpc_string_get_length(f), 10);
	v = make_va("%s %s", "hello", "world");
	REQUIRE(v);
	CHECK_STREQ(xpc_string_get_string_ptr(v), "hello world");
	e = xpc_string_create("");
	REQUIRE(e);
	CHECK_EQ_INT(xpc_string_get_length(e), 0);
	CHECK_STREQ(xpc_string_get_string_ptr(e), "");
	CHECK(xpc_string_create(NULL) == NULL);
	CHECK(xpc_string_get_string_ptr(NULL) == NULL);
	CHECK(xpc_string_get_string_ptr(XPC_BOOL_TRUE) == NULL);
	CHECK_EQ_INT(xpc_string_get_length(XPC_BOOL_TRUE), 0);
	xpc_release(v);
	v = xpc_string_create("hello");
	CHECK(xpc_equal(s, v) && xpc_hash(s) == xpc_hash(v));
	CHECK(!xpc_equal(s, f));
	CHECK(xpc_copy(s) == s); /* immutable: copy is a retain */
	xpc_release(s);
	xpc_release(s);
	xpc_release(v);
	xpc_release(f);
	xpc_release(e);
}

int main(void)
{
	harness_warm_dispatch();
	harness_begin(30);
	test_data();
	test_large_data();
	test_dispatch_data();
	test_string();
	return harness_end();
}
