/* SPDX-License-Identifier: MIT */
/*
 * test-scalars.c - null, bool, int64, uint64, double, date, uuid: create,
 * get, type and type name, the zero values of getters on the wrong type or
 * NULL, equality and hash, copy of immutables.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <time.h>

#include "object-test.h"

static void test_null_bool(void)
{
	xpc_object_t n = xpc_null_create(), t = xpc_bool_create(true), f = xpc_bool_create(false);

	CHECK(xpc_get_type(n) == XPC_TYPE_NULL);
	CHECK(n == xpc_null_create());
	CHECK(t == XPC_BOOL_TRUE && f == XPC_BOOL_FALSE);
	CHECK(xpc_get_type(t) == XPC_TYPE_BOOL);
	CHECK(xpc_bool_get_value(XPC_BOOL_TRUE));
	CHECK(!xpc_bool_get_value(XPC_BOOL_FALSE));
	CHECK(!xpc_bool_get_value(NULL));
	CHECK(!xpc_bool_get_value(n));
	CHECK(!xpc_equal(t, f));
	CHECK(xpc_equal(t, XPC_BOOL_TRUE));
	/* globals: retain/release are no-ops (the objects are read-only) */
	for (int i = 0; i < 5; i++) {
		CHECK(xpc_retain(XPC_BOOL_TRUE) == XPC_BOOL_TRUE);
		xpc_release(XPC_BOOL_TRUE);
		xpc_release(XPC_BOOL_FALSE);
		xpc_release(n);
	}
	CHECK(xpc_copy(t) == t);
	CHECK(xpc_bool_get_value(XPC_BOOL_TRUE));
	xpc_release(t);
	xpc_release(f);
	xpc_release(n);
}

static void test_ints(void)
{
	xpc_object_t i = xpc_int64_create(INT64_MIN), u = xpc_uint64_create(UINT64_MAX);
	xpc_object_t i2 = xpc_int64_create(INT64_MIN), c;

	REQUIRE(i && u && i2);
	CHECK(xpc_get_type(i) == XPC_TYPE_INT64);
	CHECK(xpc_get_type(u) == XPC_TYPE_UINT64);
	CHECK(xpc_int64_get_value(i) == INT64_MIN);
	CHECK(xpc_uint64_get_value(u) == UINT64_MAX);
	CHECK_EQ_INT(xpc_int64_get_value(u), 0);   /* wrong type */
	CHECK_EQ_INT(xpc_uint64_get_value(i), 0);  /* wrong type */
	CHECK_EQ_INT(xpc_int64_get_value(NULL), 0);
	CHECK(xpc_equal(i, i2));
	CHECK(xpc_hash(i) == xpc_hash(i2));
	CHECK(!xpc_equal(i, u));
	c = xpc_copy(i);
	CHECK(c && xpc_equal(c, i));
	xpc_release(c);
	xpc_release(i);
	xpc_release(i2);
	xpc_release(u);
}

static void test_double_date(void)
{
	xpc_object_t d = xpc_double_create(3.25), z = xpc_double_create(0.0), nz = xpc_double_create(-0.0);
	xpc_object_t nan1 = xpc_double_create(NAN), dt = xpc_date_create(-5), now;
	struct timespec ts;
	int64_t before, after;

	REQUIRE(d && z && nz && nan1 && dt);
	CHECK(xpc_double_get_value(d) == 3.25);
	CHECK(xpc_double_get_value(dt) == 0.0);
	CHECK(xpc_double_get_value(NULL) == 0.0);
	CHECK(xpc_equal(z, nz) && xpc_hash(z) == xpc_hash(nz));
	CHECK(xpc_get_type(dt) == XPC_TYPE_DATE);
	CHECK_EQ_INT(xpc_date_get_value(dt), -5);
	CHECK_EQ_INT(xpc_date_get_value(d), 0);
	clock_gettime(CLOCK_REALTIME, &ts);
	before = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	now = xpc_date_create_from_current();
	clock_gettime(CLOCK_REALTIME, &ts);
	after = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	REQUIRE(now);
	CHECK(xpc_date_get_value(now) >= before && xpc_date_get_value(now) <= after);
	xpc_release(now);
	xpc_release(d);
	xpc_release(z);
	xpc_release(nz);
	xpc_release(nan1);
	xpc_release(dt);
}

static void test_uuid(void)
{
	uuid_t u, v;
	xpc_object_t a, b, c;

	uuid_generate(u);
	memcpy(v, u, sizeof(v));
	v[15] ^= 1;
	a = xpc_uuid_create(u);
	b = xpc_uuid_create(u);
	c = xpc_uuid_create(v);
	REQUIRE(a && b && c);
	CHECK(xpc_get_type(a) == XPC_TYPE_UUID);
	CHECK(memcmp(xpc_uuid_get_bytes(a), u, 16) == 0);
	CHECK(xpc_uuid_get_bytes(a) != u); /* copied */
	CHECK(xpc_equal(a, b) && xpc_hash(a) == xpc_hash(b));
	CHECK(!xpc_equal(a, c));
	CHECK(xpc_uuid_get_bytes(NULL) == NULL);
	CHECK(xpc_uuid_get_bytes(XPC_BOOL_TRUE) == NULL);
	CHECK(xpc_uuid_create(NULL) == NULL);
	xpc_release(a);
	xpc_release(b);
	xpc_release(c);
}

static void test_type_names(void)
{
	static const struct {
		xpc_type_t t;
		const char *name;
	} names[] = {
		{XPC_TYPE_NULL, "null"},     {XPC_TYPE_BOOL, "bool"},         {XPC_TYPE_INT64, "int64"},
		{XPC_TYPE_UINT64, "uint64"}, {XPC_TYPE_DOUBLE, "double"},     {XPC_TYPE_DATE, "date"},
		{XPC_TYPE_DATA, "data"},     {XPC_TYPE_STRING, "string"},     {XPC_TYPE_UUID, "uuid"},
		{XPC_TYPE_FD, "fd"},         {XPC_TYPE_SHMEM, "shmem"},       {XPC_TYPE_ARRAY, "array"},
		{XPC_TYPE_ERROR, "error"},   {XPC_TYPE_DICTIONARY, "dictionary"},
		{XPC_TYPE_ENDPOINT, "endpoint"},
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		CHECK_STREQ(xpc_type_get_name(names[i].t), names[i].name);
	CHECK(xpc_type_get_name(NULL) == NULL);
	CHECK(xpc_get_type(NULL) == NULL);
	CHECK(xpc_copy(NULL) == NULL);
	CHECK(xpc_equal(NULL, NULL));
	CHECK(!xpc_equal(NULL, XPC_BOOL_TRUE));
}

int main(void)
{
	harness_begin(30);
	test_null_bool();
	test_ints();
	test_double_date();
	test_uuid();
	test_type_names();
	return harness_end();
}
