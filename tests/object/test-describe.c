/* SPDX-License-Identifier: MIT */
/*
 * test-describe.c - xpc_copy_description(): Apple's layout for every type,
 * one tab per nesting level, with the object addresses normalised to "P".
 */
#include <regex.h>
#include <stdlib.h>

#include "object-test.h"

/* Replaces each "<name: 0x...>" address with "P"; caller frees. */
static char *normalise(char *desc)
{
	regex_t re;
	regmatch_t m;
	size_t cap = strlen(desc) + 1, len = 0;
	char *out = malloc(cap), *p = desc;

	REQUIRE(out && regcomp(&re, "<[a-z0-9]+: (0x[0-9a-f]+)>", REG_EXTENDED) == 0);
	while (regexec(&re, p, 1, &m, 0) == 0) {
		regmatch_t sub[2];

		regexec(&re, p, 2, sub, 0);
		memcpy(out + len, p, (size_t)sub[1].rm_so);
		len += (size_t)sub[1].rm_so;
		out[len++] = 'P';
		p += sub[1].rm_eo;
	}
	strcpy(out + len, p);
	regfree(&re);
	free(desc);
	return out;
}

static void check_desc(xpc_object_t obj, const char *expect)
{
	char *d = normalise(xpc_copy_description(obj));

	CHECK_STREQ(d, expect);
	free(d);
}

static void test_scalars(void)
{
	xpc_object_t o;
	uuid_t u = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
		    0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};

	check_desc(XPC_BOOL_TRUE, "<bool: P>: true");
	check_desc(XPC_BOOL_FALSE, "<bool: P>: false");
	check_desc(xpc_null_create(), "<null: P>: null-object");
	check_desc(o = xpc_int64_create(-42), "<int64: P>: -42");
	xpc_release(o);
	check_desc(o = xpc_uint64_create(42), "<uint64: P>: 42");
	xpc_release(o);
	check_desc(o = xpc_double_create(1.5), "<double: P>: 1.500000");
	xpc_release(o);
	check_desc(o = xpc_date_create(1500000000), "<date: P>: 1970-01-01 00:00:01.500000000 +0000");
	xpc_release(o);
	check_desc(o = xpc_date_create(-1), "<date: P>: 1969-12-31 23:59:59.999999999 +0000");
	xpc_release(o);
	check_desc(o = xpc_string_create("hello"), "<string: P> { length = 5, contents = \"hello\" }");
	xpc_release(o);
	check_desc(o = xpc_data_create("\xde\xad\xbe\xef", 4),
		   "<data: P> { length = 4 bytes, contents = 0xdeadbeef }");
	xpc_release(o);
	check_desc(o = xpc_uuid_create(u), "<uuid: P> 00112233-4455-6677-8899-AABBCCDDEEFF");
	xpc_release(o);
	check_desc(NULL, "<null pointer>");
}

static void test_containers(void)
{
	xpc_object_t d = xpc_dictionary_create_empty(), a = xpc_array_create_empty();
	xpc_object_t inner = xpc_dictionary_create_empty();
	char *raw;

	REQUIRE(d && a && inner);
	check_desc(d, "<dictionary: P> { count = 0, transaction: 0, voucher = 0x0, contents =\n}");
	xpc_dictionary_set_string(d, "key", "hello");
	check_desc(d, "<dictionary: P> { count = 1, transaction: 0, voucher = 0x0, contents =\n"
		      "\t\"key\" => <string: P> { length = 5, contents = \"hello\" }\n"
		      "}");
	xpc_dictionary_set_value(d, "key", NULL);
	xpc_array_set_int64(a, XPC_ARRAY_APPEND, 1);
	xpc_dictionary_set_bool(inner, "b", true);
	xpc_array_append_value(a, inner);
	xpc_dictionary_set_value(d, "a", a);
	check_desc(d, "<dictionary: P> { count = 1, transaction: 0, voucher = 0x0, contents =\n"
		      "\t\"a\" => <array: P> { count = 2, capacity = 4, contents =\n"
		      "\t\t0: <int64: P>: 1\n"
		      "\t\t1: <dictionary: P> { count = 1, transaction: 0, voucher = 0x0, contents =\n"
		      "\t\t\t\"b\" => <bool: P>: true\n"
		      "\t\t}\n"
		      "\t}\n"
		      "}");
	check_desc(XPC_ERROR_CONNECTION_INTERRUPTED,
		   "<error: P> { count = 1, transaction: 0, voucher = 0x0, contents =\n"
		   "\t\"XPCErrorDescription\" => <string: P> { length = 22, contents = \"Connection interrupted\" }\n"
		   "}");
	/* the real address is printed */
	raw = xpc_copy_description(d);
	REQUIRE(raw);
	{
		char expect[64];

		snprintf(expect, sizeof(expect), "<dictionary: %p>", d);
		CHECK(strncmp(raw, expect, strlen(expect)) == 0);
	}
	free(raw);
	xpc_release(inner);
	xpc_release(a);
	xpc_release(d);
}

static void test_two_keys_order_free(void)
{
	xpc_object_t d = xpc_dictionary_create_empty();
	char *s;

	xpc_dictionary_set_string(d, "key", "hello");
	xpc_dictionary_set_int64(d, "n", 42);
	s = normalise(xpc_copy_description(d));
	CHECK(strncmp(s, "<dictionary: P> { count = 2, transaction: 0, voucher = 0x0, contents =\n", 71) == 0);
	CHECK(strstr(s, "\n\t\"key\" => <string: P> { length = 5, contents = \"hello\" }\n") != NULL);
	CHECK(strstr(s, "\n\t\"n\" => <int64: P>: 42\n") != NULL);
	CHECK(strcmp(s + strlen(s) - 2, "\n}") == 0);
	free(s);
	xpc_release(d);
}

static void test_fd_types(void)
{
	xpc_object_t f = xpc_fd_create(0);
	char *s;

	REQUIRE(f);
	s = normalise(xpc_copy_description(f));
	CHECK(strncmp(s, "<fd: P> { fd = ", 15) == 0);
	free(s);
	xpc_release(f);
}

int main(void)
{
	harness_begin(30);
	test_scalars();
	test_containers();
	test_two_keys_order_free();
	test_fd_types();
	return harness_end();
}
