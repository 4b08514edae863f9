/* SPDX-License-Identifier: MIT */
/*
 * test-refcount.c - reference counting: +1 from create/copy, containers
 * retain, concurrent retain/release from several threads (TSan suite),
 * immortal globals never change (and sit in read-only memory), and the
 * misuse aborts (over-release, retain after the last release).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "object-test.h"

#define THREADS 4
#define ROUNDS 20000

static void *hammer(void *arg)
{
	xpc_object_t *objs = arg;

	for (int i = 0; i < ROUNDS; i++) {
		for (int k = 0; k < 3; k++) {
			xpc_retain(objs[k]);
			xpc_release(objs[k]);
		}
		xpc_retain(XPC_BOOL_TRUE);
		xpc_release(XPC_ERROR_CONNECTION_INVALID);
		(void)xpc_dictionary_get_string(XPC_ERROR_CONNECTION_INVALID, XPC_ERROR_KEY_DESCRIPTION);
	}
	/* each thread drops the reference main gave it */
	for (int k = 0; k < 3; k++)
		xpc_release(objs[k]);
	return NULL;
}

static void test_threads(void)
{
	xpc_object_t objs[3] = {xpc_string_create("shared"), xpc_dictionary_create_empty(),
				xpc_array_create_empty()};
	pthread_t t[THREADS];

	REQUIRE(objs[0] && objs[1] && objs[2]);
	xpc_dictionary_set_value(objs[1], "s", objs[0]);
	for (int i = 0; i < THREADS; i++)
		for (int k = 0; k < 3; k++)
			xpc_retain(objs[k]);
	for (int i = 0; i < THREADS; i++)
		REQUIRE(pthread_create(&t[i], NULL, hammer, objs) == 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	CHECK_EQ_INT(refcount_of(objs[0]), 2); /* ours + the dictionary's */
	CHECK_EQ_INT(refcount_of(objs[1]), 1);
	CHECK_EQ_INT(refcount_of(objs[2]), 1);
	for (int k = 0; k < 3; k++)
		xpc_release(objs[k]);
}

/* Last release from whichever thread gets there last. */
static void *drop(void *arg)
{
	xpc_release(arg);
	return NULL;
}

static void test_last_release_race(void)
{
	for (int round = 0; round < 200; round++) {
		xpc_object_t d = xpc_dictionary_create_empty();
		pthread_t a, b;

		REQUIRE(d);
		xpc_dictionary_set_string(d, "k", "v");
		xpc_retain(d);
		REQUIRE(pthread_create(&a, NULL, drop, d) == 0);
		REQUIRE(pthread_create(&b, NULL, drop, d) == 0);
		pthread_join(a, NULL);
		pthread_join(b, NULL);
	}
}

/* True if @addr lies in a mapping of this process without write access. */
static bool in_readonly_memory(const void *addr)
{
	FILE *f = fopen("/proc/self/maps", "re");
	uintptr_t lo, hi, a = (uintptr_t)addr;
	char perms[8];
	bool ro = false;

	REQUIRE(f);
	while (fscanf(f, "%" SCNxPTR "-%" SCNxPTR " %7s%*[^\n]", &lo, &hi, perms) == 3) {
		if (a >= lo && a < hi) {
			ro = perms[1] == '-';
			break;
		}
	}
	fclose(f);
	return ro;
}

static void test_globals(void)
{
	xpc_object_t globals[] = {XPC_BOOL_TRUE, XPC_BOOL_FALSE, XPC_ERROR_CONNECTION_INVALID,
				  XPC_ERROR_CONNECTION_INTERRUPTED, XPC_ERROR_TERMINATION_IMMINENT,
				  xpc_null_create()};

	for (size_t i = 0; i < sizeof(globals) / sizeof(globals[0]); i++) {
		int before = refcount_of(globals[i]);

		for (int k = 0; k < 10; k++)
			xpc_release(globals[i]);
		xpc_retain(globals[i]);
		CHECK_EQ_INT(refcount_of(globals[i]), before);
		CHECK(in_readonly_memory(globals[i]));
	}
	CHECK(in_readonly_memory(xpc_dictionary_get_value(XPC_ERROR_CONNECTION_INVALID, XPC_ERROR_KEY_DESCRIPTION)));
	xpc_retain(NULL);
	xpc_release(NULL);
}

static void test_counts(void)
{
	xpc_object_t s = xpc_string_create("x"), a = xpc_array_create(&s, 1), c;

	CHECK_EQ_INT(refcount_of(s), 2);
	c = xpc_copy(a);
	CHECK_EQ_INT(refcount_of(s), 3); /* immutable element shared by the copy */
	CHECK(xpc_retain(s) == s);
	CHECK_EQ_INT(refcount_of(s), 4);
	xpc_release(s);
	xpc_release(c);
	xpc_release(a);
	CHECK_EQ_INT(refcount_of(s), 1);
	xpc_release(s);
}

static void misuse_over_release(void *arg)
{
	/* as if already released, while the memory is still valid */
	xpc_object_t d = xpc_dictionary_create_empty();
	struct xpc_object_s *obj = d;

	atomic_store(&obj->refcnt, 0);
	xpc_release(d);
}

static void misuse_resurrect(void *arg)
{
	xpc_object_t d = xpc_int64_create(1);
	struct xpc_object_s *obj = d;

	atomic_store(&obj->refcnt, 0);
	xpc_retain(d);
}

int main(void)
{
	harness_begin(120);
	test_threads();
	test_last_release_race();
	test_globals();
	test_counts();
	CHECK(expect_misuse(misuse_over_release, NULL));
	CHECK(expect_misuse(misuse_resurrect, NULL));
	return harness_end();
}
