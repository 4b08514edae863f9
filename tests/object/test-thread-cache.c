/* SPDX-License-Identifier: MIT */
/*
 * test-thread-cache.c - a thread's cached object blocks go back to the
 * heap when it exits (src/object/object.c's block cache, emptied by its
 * hook in src/shared/thread-exit.c).
 *
 * 200 threads, one after the other, each make and release objects of four
 * size classes, so that each leaves its cache full (8 blocks a class);
 * then the heap in use must be back near where it was.  All threads share
 * the main arena (M_ARENA_MAX 1), which mallinfo2() weighs.  Without the
 * exit hook, about 200 x 32 blocks stay behind (~300 KiB).  In sanitizer
 * builds, and with XPC_OBJECT_CACHE=0, there is no cache: the test then
 * checks only that nothing leaks either.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "object-test.h"

#define THREADS 200
#define PER_CLASS 12

static void *churn(void *unused)
{
	static const char text[] = "a string long enough for a larger size class of the cache";
	xpc_object_t v[4][PER_CLASS];

	(void)unused;
	for (int i = 0; i < PER_CLASS; i++) {
		v[0][i] = xpc_int64_create(i);
		v[1][i] = xpc_string_create(text + i);
		v[2][i] = xpc_dictionary_create_empty();
		v[3][i] = xpc_data_create(text, (size_t)i);
	}
	for (int k = 0; k < 4; k++)
		for (int i = 0; i < PER_CLASS; i++)
			xpc_release(v[k][i]);
	return NULL;
}

/* Runs THREADS threads one after the other. */
static void run_threads(int n)
{
	for (int i = 0; i < n; i++) {
		pthread_t t;
		REQUIRE(pthread_create(&t, NULL, churn, NULL) == 0);
		pthread_join(t, NULL);
	}
}

int main(void)
{
	harness_begin(60);
	mallopt(M_ARENA_MAX, 1);
	run_threads(4); /* the thread library's own allocations, once */
	size_t before = mallinfo2().uordblks;
	run_threads(THREADS);
	size_t after = mallinfo2().uordblks;
	long grew = (long)after - (long)before;
	printf("heap in use: %zu -> %zu bytes after %d threads (%+ld)\n", before, after, THREADS, grew);
	CHECK(grew < 32 * 1024);
	return harness_end();
}
