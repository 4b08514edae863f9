/* SPDX-License-Identifier: MIT */
/*
 * test-once-apply.c - dispatch_once under contention (the block runs once,
 * every caller returns after it finished) and dispatch_apply (every index
 * exactly once, on serial, concurrent and global queues, nested).
 */
#include "harness.h"

#include <dispatch/dispatch.h>
#include <stdatomic.h>
#include <unistd.h>

static void test_once(void)
{
	static dispatch_once_t pred;
	static atomic_int runs, finished;
	__block atomic_int seen_unfinished = 0;
	dispatch_group_t g = dispatch_group_create();
	dispatch_queue_t q = dispatch_get_global_queue(0, 0);

	for (int i = 0; i < 16; i++)
		dispatch_group_async(g, q, ^{
			dispatch_once(&pred, ^{
				atomic_fetch_add(&runs, 1);
				usleep(20000);
				atomic_store(&finished, 1);
			});
			if (!atomic_load(&finished))
				atomic_fetch_add(&seen_unfinished, 1);
		});
	CHECK_EQ_INT(dispatch_group_wait(g, dispatch_time(DISPATCH_TIME_NOW, 20 * NSEC_PER_SEC)), 0);
	CHECK_EQ_INT(atomic_load(&runs), 1);
	CHECK_EQ_INT(atomic_load(&seen_unfinished), 0);
	CHECK(pred != 0);
	dispatch_release(g);
}

static void add_index(void *ctx, size_t i)
{
	atomic_fetch_add(&((atomic_int *)ctx)[i], 1);
}

static void check_apply(dispatch_queue_t q, size_t n)
{
	atomic_int *hits = calloc(n, sizeof(*hits));
	int bad = 0;

	dispatch_apply_f(n, q, hits, add_index);
	for (size_t i = 0; i < n; i++)
		bad += atomic_load(&hits[i]) != 1;
	CHECK_EQ_INT(bad, 0);
	free(hits);
}

static void test_apply(void)
{
	dispatch_queue_t serial = dispatch_queue_create("t.apply.s", NULL);
	dispatch_queue_t conc = dispatch_queue_create("t.apply.c", DISPATCH_QUEUE_CONCURRENT);
	__block atomic_long sum = 0;

	check_apply(serial, 1000);
	check_apply(conc, 1000);
	check_apply(dispatch_get_global_queue(0, 0), 1);
	check_apply(DISPATCH_APPLY_AUTO, 5000);
	dispatch_apply(0, conc, ^(size_t i) {
		CHECK(0);
	});
	dispatch_apply(8, conc, ^(size_t i) {
		dispatch_apply(8, conc, ^(size_t j) {
			atomic_fetch_add(&sum, (long)(i * 8 + j));
		});
	});
	CHECK_EQ_INT(atomic_load(&sum), 63 * 64 / 2);
	dispatch_release(serial);
	dispatch_release(conc);
}

int main(void)
{
	harness_warm_dispatch();
	harness_begin(60);
	test_once();
	test_apply();
	return harness_end();
}
