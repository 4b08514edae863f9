/* SPDX-License-Identifier: MIT */
/*
 * test-oom.c - out of memory never crashes the object layer: malloc,
 * calloc and realloc are interposed so that the Nth allocation fails, and a
 * scenario that touches every create/copy/set path is run for N = 0, 1, ...
 * until it completes without a forced failure.  Each run must either
 * produce correct results or report failure (NULL, container unchanged);
 * nothing may leak (heap bytes in use, mallinfo2, back to where they were).  Skipped (77)
 * under ASan, whose allocator cannot be interposed this way.
 */
#include <malloc.h>
#include <stdlib.h>

#include "object-test.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define OOM_SKIP 1
#endif
#endif

#ifndef OOM_SKIP
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void __libc_free(void *p);

static long fail_at = -1; /* allocation index to fail, -1: never */
static long n_allocs;
static bool failed;

static bool oom_should_fail(void)
{
	if (fail_at >= 0 && n_allocs++ == fail_at) {
		failed = true;
		return true;
	}
	return false;
}

void *malloc(size_t size)
{
	return oom_should_fail() ? NULL : __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
	return oom_should_fail() ? NULL : __libc_calloc(n, size);
}

void *realloc(void *old, size_t size)
{
	return oom_should_fail() ? NULL : __libc_realloc(old, size);
}

/* Bytes in use on the heap (single-threaded test: exact). */
static size_t heap_in_use(void)
{
	return mallinfo2().uordblks;
}

/* Runs every allocating path once, checking results that did get made. */
static void scenario(void)
{
	xpc_object_t d = xpc_dictionary_create_empty(), a = NULL, c = NULL, s = NULL;
	char *desc = NULL;
	uuid_t u = {1};

	if (!d)
		return;
	for (int i = 0; i < 20; i++) {
		char key[16];

		snprintf(key, sizeof(key), "k%d", i);
		xpc_dictionary_set_int64(d, key, i);
		/* either stored correctly or absent */
		CHECK(xpc_dictionary_get_value(d, key) == NULL || xpc_dictionary_get_int64(d, key) == i);
	}
	xpc_dictionary_set_string(d, "s", "text");
	xpc_dictionary_set_data(d, "d", "abc", 3);
	xpc_dictionary_set_uuid(d, "u", u);
	xpc_dictionary_set_double(d, "x", 1.0);
	a = xpc_array_create_empty();
	if (a) {
		for (int i = 0; i < 10; i++)
			xpc_array_set_uint64(a, XPC_ARRAY_APPEND, (uint64_t)i);
		CHECK(xpc_array_get_count(a) <= 10);
		xpc_dictionary_set_value(d, "a", a);
	}
	s = xpc_string_create_with_format("%d", 5);
	{
		xpc_connection_t conn = fake_connection();
		xpc_object_t r;

		if (conn) {
			dictionary_set_message_context(d, conn, 1, true);
			r = xpc_dictionary_create_reply(d);
			if (!r) /* failed for lack of memory: may be retried */
				r = xpc_dictionary_create_reply(d);
			xpc_release(r);
			xpc_release(conn);
		}
	}
	c = xpc_copy(d);
	if (c)
		CHECK(xpc_equal(c, d));
	desc = xpc_copy_description(d);
	free(desc);
	xpc_release(s);
	xpc_release(c);
	xpc_release(a);
	xpc_release(d);
}

int main(int argc, char **argv)
{
	size_t base;
	int rounds = 0;

	/* freed chunks parked in the tcache, or in libxpc's own cache of
	 * object blocks, count as in use: turn both off */
	if (!getenv("XPC_OOM_REEXEC")) {
		setenv("XPC_OOM_REEXEC", "1", 1);
		setenv("GLIBC_TUNABLES", "glibc.malloc.tcache_count=0", 1);
		setenv("XPC_OBJECT_CACHE", "0", 1);
		execv("/proc/self/exe", argv);
		return 1;
	}
	harness_begin(120);
	scenario(); /* warm up lazily allocated library state */
	for (fail_at = 0;; fail_at++, rounds++) {
		n_allocs = 0;
		failed = false;
		base = heap_in_use();
		scenario();
		CHECK_EQ_INT(heap_in_use(), base);
		if (!failed)
			break;
	}
	fail_at = -1;
	fprintf(stderr, "test-oom: %d allocation failure points exercised\n", rounds);
	CHECK(rounds > 50);
	return harness_end();
}
#else
int main(void)
{
	return 77;
}
#endif
