/* SPDX-License-Identifier: MIT */
/*
 * test-dictionary.c - dictionaries: create with keys (copied) and values
 * (retained), set/replace/remove, many keys (table growth), every typed
 * setter and getter with the zero values for a missing key or another
 * type, apply (block and _f, early stop), the error objects, and the
 * message context: create_reply only for received messages expecting a
 * reply, only once; remote connection of received dictionaries and replies.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>

#include "object-test.h"

static void test_basic(void)
{
	char key[8] = "k1";
	const char *keys[] = {key, "k2", "k3"};
	xpc_object_t vals[] = {xpc_int64_create(1), xpc_string_create("two"), NULL};
	xpc_object_t d = xpc_dictionary_create(keys, vals, 3), r;

	REQUIRE(d);
	key[0] = 'X'; /* keys are copied */
	CHECK(xpc_get_type(d) == XPC_TYPE_DICTIONARY);
	CHECK_EQ_INT(xpc_dictionary_get_count(d), 2);
	CHECK(xpc_dictionary_get_value(d, "k1") == vals[0]);
	CHECK(xpc_dictionary_get_value(d, "X1") == NULL);
	CHECK(xpc_dictionary_get_value(d, "k3") == NULL);
	CHECK_EQ_INT(refcount_of(vals[0]), 2);
	r = xpc_int64_create(5);
	xpc_dictionary_set_value(d, "k1", r); /* replace releases the old value */
	CHECK_EQ_INT(refcount_of(vals[0]), 1);
	CHECK_EQ_INT(xpc_dictionary_get_int64(d, "k1"), 5);
	xpc_dictionary_set_value(d, "k1", NULL); /* remove */
	CHECK_EQ_INT(refcount_of(r), 1);
	CHECK(xpc_dictionary_get_value(d, "k1") == NULL);
	CHECK_EQ_INT(xpc_dictionary_get_count(d), 1);
	xpc_dictionary_set_value(d, "absent", NULL);
	CHECK_EQ_INT(xpc_dictionary_get_count(d), 1);
	xpc_dictionary_set_value(d, NULL, r);
	CHECK_EQ_INT(xpc_dictionary_get_count(d), 1);
	CHECK(xpc_dictionary_get_value(d, NULL) == NULL);
	CHECK(xpc_dictionary_get_value(NULL, "k2") == NULL);
	CHECK_EQ_INT(xpc_dictionary_get_count(NULL), 0);
	CHECK_EQ_INT(xpc_dictionary_get_count(r), 0);
	xpc_dictionary_set_value(r, "x", r); /* not a dictionary: ignored */
	xpc_release(r);
	xpc_release(vals[0]);
	xpc_release(vals[1]);
	xpc_release(d);
	CHECK(xpc_dictionary_create(NULL, NULL, 1) == NULL);
	{
		const char *k2[] = {NULL, "b"};
		xpc_object_t v2[] = {XPC_BOOL_TRUE, XPC_BOOL_FALSE};

		d = xpc_dictionary_create(k2, v2, 2); /* NULL keys are skipped */
		REQUIRE(d);
		CHECK_EQ_INT(xpc_dictionary_get_count(d), 1);
		CHECK(xpc_dictionary_get_value(d, "b") == XPC_BOOL_FALSE);
		CHECK(xpc_dictionary_apply_f(d, NULL, NULL));
		CHECK(!xpc_dictionary_apply_f(NULL, NULL, NULL));
		xpc_release(d);
	}
}

static void test_many_keys(void)
{
	xpc_object_t d = xpc_dictionary_create_empty();
	char key[32];
	bool ok = true;

	REQUIRE(d);
	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "key-%d", i);
		xpc_dictionary_set_int64(d, key, i);
	}
	CHECK_EQ_INT(xpc_dictionary_get_count(d), 5000);
	for (int i = 0; i < 5000; i += 2) {
		snprintf(key, sizeof(key), "key-%d", i);
		xpc_dictionary_set_value(d, key, NULL);
	}
	CHECK_EQ_INT(xpc_dictionary_get_count(d), 2500);
	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "key-%d", i);
		if (i % 2 == 0)
			ok &= xpc_dictionary_get_value(d, key) == NULL;
		else
			ok &= xpc_dictionary_get_int64(d, key) == i;
	}
	CHECK(ok);
	for (int i = 0; i < 5000; i += 2) { /* refill over tombstones */
		snprintf(key, sizeof(key), "key-%d", i);
		xpc_dictionary_set_int64(d, key, -i);
	}
	CHECK_EQ_INT(xpc_dictionary_get_count(d), 5000);
	CHECK_EQ_INT(xpc_dictionary_get_int64(d, "key-4998"), -4998);
	xpc_release(d);
}

static void test_typed(void)
{
	xpc_object_t d = xpc_dictionary_create_empty(), arr = xpc_array_create_empty();
	xpc_object_t sub = xpc_dictionary_create_empty();
	uuid_t u = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6};
	size_t len = 99;
	int fd;

	REQUIRE(d && arr && sub);
	xpc_dictionary_set_bool(d, "bool", true);
	xpc_dictionary_set_int64(d, "int64", INT64_MIN);
	xpc_dictionary_set_uint64(d, "uint64", UINT64_MAX);
	xpc_dictionary_set_double(d, "double", -2.5);
	xpc_dictionary_set_date(d, "date", 1000);
	xpc_dictionary_set_data(d, "data", "\0\1\2", 3);
	xpc_dictionary_set_string(d, "string", "text");
	xpc_dictionary_set_uuid(d, "uuid", u);
	xpc_dictionary_set_fd(d, "fd", 1);
	xpc_dictionary_set_value(d, "array", arr);
	xpc_dictionary_set_value(d, "dict", sub);
	CHECK_EQ_INT(xpc_dictionary_get_count(d), 11);
	CHECK(xpc_dictionary_get_bool(d, "bool"));
	CHECK(xpc_dictionary_get_int64(d, "int64") == INT64_MIN);
	CHECK(xpc_dictionary_get_uint64(d, "uint64") == UINT64_MAX);
	CHECK(xpc_dictionary_get_double(d, "double") == -2.5);
	CHECK_EQ_INT(xpc_dictionary_get_date(d, "date"), 1000);
	CHECK(memcmp(xpc_dictionary_get_data(d, "data", &len), "\0\1\2", 3) == 0);
	CHECK_EQ_INT(len, 3);
	CHECK_STREQ(xpc_dictionary_get_string(d, "string"), "text");
	CHECK(memcmp(xpc_dictionary_get_uuid(d, "uuid"), u, 16) == 0);
	fd = xpc_dictionary_dup_fd(d, "fd");
	CHECK(fd > 2 && (fcntl(fd, F_GETFD) & FD_CLOEXEC));
	close(fd);
	CHECK(xpc_dictionary_get_array(d, "array") == arr);
	CHECK(xpc_dictionary_get_dictionary(d, "dict") == sub);

	/* wrong type / missing key: zero values */
	CHECK(!xpc_dictionary_get_bool(d, "int64"));
	CHECK(!xpc_dictionary_get_bool(d, "missing"));
	CHECK_EQ_INT(xpc_dictionary_get_int64(d, "uint64"), 0);
	CHECK_EQ_INT(xpc_dictionary_get_uint64(d, "int64"), 0);
	CHECK(xpc_dictionary_get_double(d, "int64") == 0.0);
	CHECK_EQ_INT(xpc_dictionary_get_date(d, "int64"), 0);
	len = 99;
	CHECK(xpc_dictionary_get_data(d, "string", &len) == NULL);
	CHECK_EQ_INT(len, 0);
	CHECK(xpc_dictionary_get_string(d, "data") == NULL);
	CHECK(xpc_dictionary_get_uuid(d, "data") == NULL);
	CHECK_EQ_INT(xpc_dictionary_dup_fd(d, "string"), -1);
	CHECK(xpc_dictionary_get_array(d, "dict") == NULL);
	CHECK(xpc_dictionary_get_dictionary(d, "array") == NULL);
	CHECK(xpc_dictionary_get_string(NULL, "string") == NULL);
	CHECK(xpc_dictionary_get_string(arr, "string") == NULL);

	/* a typed setter replaces any type */
	xpc_dictionary_set_string(d, "int64", "replaced");
	CHECK_STREQ(xpc_dictionary_get_string(d, "int64"), "replaced");
	CHECK_EQ_INT(xpc_dictionary_get_count(d), 11);
	xpc_dictionary_set_string(d, "nullstr", NULL); /* creation fails: nothing stored */
	CHECK(xpc_dictionary_get_value(d, "nullstr") == NULL);
	xpc_release(arr);
	xpc_release(sub);
	xpc_release(d);
}

static bool count_until(void *ctx, const char *key, xpc_object_t value)
{
	int *n = ctx;

	return ++*n < 3;
}

static void test_apply(void)
{
	xpc_object_t d = xpc_dictionary_create_empty();
	__block int64_t sum = 0;
	__block int calls = 0;
	int n = 0;

	REQUIRE(d);
	for (int i = 1; i <= 10; i++) {
		char key[8];

		snprintf(key, sizeof(key), "%d", i);
		xpc_dictionary_set_int64(d, key, i);
	}
	CHECK(xpc_dictionary_apply(d, ^bool(const char *key, xpc_object_t value) {
		CHECK_EQ_INT(atoi(key), xpc_int64_get_value(value));
		sum += xpc_int64_get_value(value);
		return true;
	}));
	CHECK_EQ_INT(sum, 55);
	CHECK(!xpc_dictionary_apply(d, ^bool(const char *key, xpc_object_t value) {
		return ++calls < 4;
	}));
	CHECK_EQ_INT(calls, 4);
	CHECK(!xpc_dictionary_apply_f(d, &n, count_until));
	CHECK_EQ_INT(n, 3);
	xpc_release(d);
}

static void test_errors(void)
{
	static const struct {
		xpc_object_t e;
		const char *text;
	} errs[] = {
		{XPC_ERROR_CONNECTION_INVALID, "Connection invalid"},
		{XPC_ERROR_CONNECTION_INTERRUPTED, "Connection interrupted"},
		{XPC_ERROR_TERMINATION_IMMINENT, "Termination imminent"},
	};

	CHECK_STREQ(XPC_ERROR_KEY_DESCRIPTION, "XPCErrorDescription");
	for (size_t i = 0; i < 3; i++) {
		xpc_object_t e = errs[i].e, s;
		__block int seen = 0;
		char *desc;

		CHECK(xpc_get_type(e) == XPC_TYPE_ERROR);
		CHECK_EQ_INT(xpc_dictionary_get_count(e), 1);
		CHECK_STREQ(xpc_dictionary_get_string(e, XPC_ERROR_KEY_DESCRIPTION), errs[i].text);
		s = xpc_dictionary_get_value(e, XPC_ERROR_KEY_DESCRIPTION);
		CHECK(xpc_get_type(s) == XPC_TYPE_STRING);
		CHECK_EQ_INT(xpc_string_get_length(s), strlen(errs[i].text));
		CHECK(xpc_dictionary_get_value(e, "other") == NULL);
		CHECK(xpc_dictionary_apply(e, ^bool(const char *key, xpc_object_t value) {
			seen++;
			CHECK_STREQ(key, XPC_ERROR_KEY_DESCRIPTION);
			return true;
		}));
		CHECK_EQ_INT(seen, 1);
		/* immortal and read-only: none of these may write or free */
		xpc_retain(e);
		xpc_release(e);
		xpc_release(e);
		xpc_release(s);
		xpc_dictionary_set_string(e, "x", "y");
		xpc_dictionary_set_value(e, XPC_ERROR_KEY_DESCRIPTION, NULL);
		CHECK_EQ_INT(xpc_dictionary_get_count(e), 1);
		CHECK(xpc_copy(e) == e);
		CHECK(xpc_equal(e, e));
		CHECK(xpc_dictionary_create_reply(e) == NULL);
		CHECK(xpc_dictionary_get_remote_connection(e) == NULL);
		desc = xpc_copy_description(e);
		REQUIRE(desc);
		CHECK(strncmp(desc, "<error: 0x", 10) == 0);
		CHECK(strstr(desc, errs[i].text) != NULL);
		free(desc);
	}
	CHECK(!xpc_equal(XPC_ERROR_CONNECTION_INVALID, XPC_ERROR_CONNECTION_INTERRUPTED));
}

static void test_messages(void)
{
	xpc_connection_t conn = fake_connection();
	xpc_object_t plain = xpc_dictionary_create_empty(), msg = xpc_dictionary_create_empty();
	xpc_object_t oneway = xpc_dictionary_create_empty(), reply, copy;
	uint64_t id = 0;

	REQUIRE(conn && plain && msg && oneway);
	CHECK(xpc_dictionary_create_reply(plain) == NULL);
	CHECK(xpc_dictionary_get_remote_connection(plain) == NULL);
	CHECK(!dictionary_get_message_id(plain, &id));
	CHECK(!dictionary_get_reply_to(plain, &id));
	CHECK(xpc_dictionary_create_reply(NULL) == NULL);

	dictionary_set_message_context(oneway, conn, 7, false);
	CHECK(xpc_dictionary_get_remote_connection(oneway) == conn);
	CHECK(xpc_dictionary_create_reply(oneway) == NULL);

	dictionary_set_message_context(msg, conn, 42, true);
	CHECK_EQ_INT(refcount_of(conn), 3);
	CHECK(dictionary_get_message_id(msg, &id) && id == 42);
	CHECK(xpc_dictionary_get_remote_connection(msg) == conn);
	reply = xpc_dictionary_create_reply(msg);
	REQUIRE(reply);
	CHECK(xpc_get_type(reply) == XPC_TYPE_DICTIONARY);
	CHECK_EQ_INT(xpc_dictionary_get_count(reply), 0);
	CHECK(xpc_dictionary_get_remote_connection(reply) == conn);
	CHECK(dictionary_get_reply_to(reply, &id) && id == 42);
	CHECK(!dictionary_get_message_id(reply, NULL));
	CHECK(xpc_dictionary_create_reply(msg) == NULL); /* only once */
	CHECK(xpc_dictionary_create_reply(reply) == NULL);
	CHECK_EQ_INT(refcount_of(conn), 4);
	copy = xpc_copy(msg); /* a copy is not a received message */
	REQUIRE(copy);
	CHECK(xpc_dictionary_get_remote_connection(copy) == NULL);
	CHECK(xpc_equal(copy, msg));
	xpc_release(copy);
	xpc_release(reply);
	xpc_release(msg);
	/* marking again replaces the context (and releases the old connection) */
	{
		xpc_connection_t conn2 = fake_connection();

		dictionary_set_message_context(oneway, conn2, 8, true);
		CHECK(xpc_dictionary_get_remote_connection(oneway) == conn2);
		CHECK(dictionary_get_message_id(oneway, &id) && id == 8);
		CHECK_EQ_INT(refcount_of(conn), 1); /* only ours left */
		reply = xpc_dictionary_create_reply(oneway);
		CHECK(reply && xpc_dictionary_get_remote_connection(reply) == conn2);
		xpc_release(reply);
		xpc_release(conn2);
	}
	dictionary_set_message_context(XPC_BOOL_TRUE, conn, 1, true); /* ignored */
	dictionary_set_message_context(XPC_ERROR_CONNECTION_INVALID, conn, 1, true);
	CHECK(xpc_dictionary_create_reply(XPC_ERROR_CONNECTION_INVALID) == NULL);
	xpc_release(oneway);
	xpc_release(plain);
	CHECK_EQ_INT(refcount_of(conn), 1);
	xpc_release(conn);
}

int main(void)
{
	harness_begin(60);
	test_basic();
	test_many_keys();
	test_typed();
	test_apply();
	test_errors();
	test_messages();
	return harness_end();
}
