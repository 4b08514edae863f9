/* SPDX-License-Identifier: MIT */
/*
 * test-queue.c - queues: serial FIFO and exclusion, concurrent overlap,
 * global queues, dispatch_sync (inline and across queues), target queues,
 * suspend/resume, inactive queues, context and finalizer, labels, QoS
 * attributes (which global queue a new queue targets: read white-box).
 */
#include "harness.h"
#include "dispatch/internal.h"

#include <dispatch/dispatch.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#define N 2000

static void test_serial_fifo(void)
{
	dispatch_queue_t q = dispatch_queue_create("t.serial", DISPATCH_QUEUE_SERIAL);
	__block int next = 0, bad = 0;
	__block atomic_int inside = 0;

	for (int i = 0; i < N; i++) {
		dispatch_async(q, ^{
			if (atomic_fetch_add(&inside, 1) != 0)
				bad++;
			if (next != i)
				bad++;
			next++;
			atomic_fetch_sub(&inside, 1);
		});
	}
	dispatch_sync(q, ^{
	});
	dispatch_sync(q, ^{
		CHECK_EQ_INT(next, N);
		CHECK_EQ_INT(bad, 0);
	});
	CHECK_STREQ(dispatch_queue_get_label(q), "t.serial");
	dispatch_release(q);
}

static void test_concurrent_overlap(void)
{
	dispatch_queue_t q = dispatch_queue_create("t.conc", DISPATCH_QUEUE_CONCURRENT);
	dispatch_semaphore_t a = dispatch_semaphore_create(0), b = dispatch_semaphore_create(0);
	dispatch_semaphore_t done = dispatch_semaphore_create(0);
	__block long ok1 = -1, ok2 = -1;

	/* Each block waits for the other: only concurrency lets both finish. */
	dispatch_async(q, ^{
		dispatch_semaphore_signal(a);
		ok1 = dispatch_semaphore_wait(b, dispatch_time(DISPATCH_TIME_NOW, 10 * NSEC_PER_SEC));
		dispatch_semaphore_signal(done);
	});
	dispatch_async(q, ^{
		dispatch_semaphore_signal(b);
		ok2 = dispatch_semaphore_wait(a, dispatch_time(DISPATCH_TIME_NOW, 10 * NSEC_PER_SEC));
		dispatch_semaphore_signal(done);
	});
	dispatch_semaphore_wait(done, DISPATCH_TIME_FOREVER);
	dispatch_semaphore_wait(done, DISPATCH_TIME_FOREVER);
	CHECK_EQ_INT(ok1, 0);
	CHECK_EQ_INT(ok2, 0);
	dispatch_release(q);
	dispatch_release(a);
	dispatch_release(b);
	dispatch_release(done);
}

static void test_global_and_sync(void)
{
	dispatch_queue_t g = dispatch_get_global_queue(DISPATCH_QUEUE_PRIORITY_DEFAULT, 0);
	dispatch_queue_t q1 = dispatch_queue_create("t.q1", NULL), q2 = dispatch_queue_create("t.q2", NULL);
	__block int v = 0;

	CHECK(g != NULL);
	CHECK(dispatch_get_global_queue(QOS_CLASS_USER_INITIATED, 0) != NULL);
	CHECK(dispatch_get_global_queue(QOS_CLASS_BACKGROUND, 0) != NULL);
	CHECK(dispatch_get_global_queue(12345, 0) == NULL);
	dispatch_sync(g, ^{
		v = 1;
	});
	CHECK_EQ_INT(v, 1);
	/* sync from a block on q1 onto q2, and back from q2 onto a third. */
	dispatch_sync(q1, ^{
		dispatch_sync(q2, ^{
			dispatch_sync(g, ^{
				v = 2;
			});
		});
	});
	CHECK_EQ_INT(v, 2);
	/* sync onto a busy queue waits for it (the slow path). */
	dispatch_async(q1, ^{
		usleep(20000);
		v = 3;
	});
	dispatch_sync(q1, ^{
		CHECK_EQ_INT(v, 3);
		v = 4;
	});
	CHECK_EQ_INT(v, 4);
	dispatch_release(q1);
	dispatch_release(q2);
}

static void test_target_queues(void)
{
	dispatch_queue_t parent = dispatch_queue_create("t.parent", NULL);
	dispatch_queue_t c1 = dispatch_queue_create("t.c1", NULL), c2 = dispatch_queue_create("t.c2", NULL);
	__block atomic_int inside = 0;
	__block int bad = 0, count = 0;

	dispatch_set_target_queue(c1, parent);
	dispatch_set_target_queue(c2, parent);
	for (int i = 0; i < 500; i++) {
		dispatch_queue_t q = (i & 1) ? c1 : c2;
		dispatch_async(q, ^{
			if (atomic_fetch_add(&inside, 1) != 0)
				bad++;
			count++;
			atomic_fetch_sub(&inside, 1);
		});
	}
	dispatch_sync(c1, ^{
	});
	dispatch_sync(c2, ^{
	});
	dispatch_sync(parent, ^{
		CHECK_EQ_INT(count, 500);
		CHECK_EQ_INT(bad, 0);
	});
	dispatch_release(c1);
	dispatch_release(c2);
	dispatch_release(parent);
}

static void test_suspend_resume(void)
{
	dispatch_queue_t q = dispatch_queue_create("t.susp", NULL);
	__block atomic_int ran = 0;

	dispatch_suspend(q);
	dispatch_async(q, ^{
		atomic_store(&ran, 1);
	});
	usleep(50000);
	CHECK_EQ_INT(atomic_load(&ran), 0);
	dispatch_resume(q);
	dispatch_sync(q, ^{
	});
	CHECK_EQ_INT(atomic_load(&ran), 1);

	dispatch_queue_t iq = dispatch_queue_create("t.inactive", DISPATCH_QUEUE_SERIAL_INACTIVE);
	__block atomic_int ran2 = 0;
	dispatch_async(iq, ^{
		atomic_store(&ran2, 1);
	});
	usleep(50000);
	CHECK_EQ_INT(atomic_load(&ran2), 0);
	dispatch_activate(iq);
	dispatch_sync(iq, ^{
	});
	CHECK_EQ_INT(atomic_load(&ran2), 1);
	dispatch_release(iq);
	dispatch_release(q);
}

static dispatch_queue_t target_of(dispatch_queue_t q)
{
	return atomic_load(&q->head.target);
}

static void test_qos_attributes(void)
{
	dispatch_queue_attr_t bg = dispatch_queue_attr_make_with_qos_class(NULL, QOS_CLASS_BACKGROUND, -3);
	dispatch_queue_attr_t cu = dispatch_queue_attr_make_with_qos_class(DISPATCH_QUEUE_CONCURRENT,
									   QOS_CLASS_UTILITY, 0);
	dispatch_queue_attr_t ia = dispatch_queue_attr_make_initially_inactive(cu);
	dispatch_queue_t q = dispatch_queue_create("t.bg", bg), c = dispatch_queue_create("t.cu", ia);
	dispatch_queue_t plain = dispatch_queue_create("t.plain", NULL);
	__block atomic_int ran = 0;

	int relpri = 1;

	/* the relative priority is part of the attribute (dispatch_queue_get_qos_class) */
	CHECK(bg != NULL && bg == dispatch_queue_attr_make_with_qos_class(NULL, QOS_CLASS_BACKGROUND, -3));
	CHECK(bg != dispatch_queue_attr_make_with_qos_class(NULL, QOS_CLASS_BACKGROUND, 0));
	CHECK_EQ_INT(dispatch_queue_get_qos_class(q, &relpri), QOS_CLASS_BACKGROUND);
	CHECK_EQ_INT(relpri, -3);
	CHECK_EQ_INT(dispatch_queue_get_qos_class(c, NULL), QOS_CLASS_UTILITY);
	CHECK_EQ_INT(dispatch_queue_get_qos_class(plain, &relpri), QOS_CLASS_UNSPECIFIED);
	CHECK_EQ_INT(relpri, 0);
	CHECK(dispatch_queue_attr_make_with_qos_class(NULL, QOS_CLASS_UNSPECIFIED, 0) == NULL);
	CHECK(dispatch_queue_attr_make_with_qos_class(DISPATCH_QUEUE_CONCURRENT, QOS_CLASS_UNSPECIFIED, 0) ==
	      DISPATCH_QUEUE_CONCURRENT);
	CHECK(dispatch_queue_attr_make_initially_inactive(NULL) == DISPATCH_QUEUE_SERIAL_INACTIVE);
	/* as GCD: an invalid class or relative priority leaves the attribute as it was */
	CHECK(dispatch_queue_attr_make_with_qos_class(cu, 0x42, 0) == cu);
	CHECK(dispatch_queue_attr_make_with_qos_class(cu, QOS_CLASS_DEFAULT, 1) == cu);
	CHECK(dispatch_queue_attr_make_with_qos_class(cu, QOS_CLASS_DEFAULT, QOS_MIN_RELATIVE_PRIORITY - 1) == cu);
	CHECK(target_of(q) == dispatch_get_global_queue(QOS_CLASS_BACKGROUND, 0));
	CHECK(target_of(c) == dispatch_get_global_queue(QOS_CLASS_UTILITY, 0));
	CHECK(target_of(plain) == dispatch_get_global_queue(QOS_CLASS_DEFAULT, 0));
	/* the inactive concurrent utility queue: nothing runs before activation */
	for (int i = 0; i < 2; i++)
		dispatch_async(c, ^{
			atomic_fetch_add(&ran, 1);
		});
	usleep(20000);
	CHECK_EQ_INT(atomic_load(&ran), 0);
	dispatch_activate(c);
	dispatch_barrier_sync(c, ^{
	});
	CHECK_EQ_INT(atomic_load(&ran), 2);
	dispatch_sync(q, ^{
		atomic_store(&ran, 3);
	});
	CHECK_EQ_INT(atomic_load(&ran), 3);
	dispatch_release(q);
	dispatch_release(c);
	dispatch_release(plain);
}

static dispatch_semaphore_t fin_sema;

static void finalizer(void *ctx)
{
	*(int *)ctx = 7;
	dispatch_semaphore_signal(fin_sema);
}

static void test_context_finalizer(void)
{
	static int value;
	dispatch_queue_t q = dispatch_queue_create("t.ctx", NULL);

	fin_sema = dispatch_semaphore_create(0);
	dispatch_set_context(q, &value);
	CHECK(dispatch_get_context(q) == &value);
	dispatch_set_finalizer_f(q, finalizer);
	dispatch_retain(q);
	dispatch_release(q);
	dispatch_async(q, ^{
		usleep(1000);
	});
	dispatch_release(q); /* the pending block keeps it alive */
	CHECK_EQ_INT(dispatch_semaphore_wait(fin_sema, dispatch_time(DISPATCH_TIME_NOW, 10 * NSEC_PER_SEC)), 0);
	CHECK_EQ_INT(value, 7);
	dispatch_release(fin_sema);
}

static atomic_int null_fins;

static void null_finalizer(void *ctx)
{
	atomic_fetch_add(&null_fins, 1);
}

/* dispatch_set_finalizer_f(3): the finalizer runs only for a non-NULL
 * context.  It runs on the object's target queue: a sync on that queue
 * afterwards is past it. */
static void test_finalizer_null_context(void)
{
	dispatch_queue_t tq = dispatch_queue_create("t.fin-target", NULL);
	dispatch_queue_t q = dispatch_queue_create("t.fin-null", NULL);
	dispatch_group_t g = dispatch_group_create();

	dispatch_set_target_queue(q, tq);
	dispatch_set_finalizer_f(q, null_finalizer);
	dispatch_set_target_queue(g, tq);
	dispatch_set_context(g, NULL);
	dispatch_set_finalizer_f(g, null_finalizer);
	dispatch_release(q);
	dispatch_release(g);
	dispatch_sync(tq, ^{
	});
	CHECK_EQ_INT(atomic_load(&null_fins), 0);
	dispatch_release(tq);
}

static void test_barrier(void)
{
	dispatch_queue_t q = dispatch_queue_create("t.barrier", DISPATCH_QUEUE_CONCURRENT);
	__block atomic_int before = 0, during = 0, bad = 0;

	for (int i = 0; i < 50; i++)
		dispatch_async(q, ^{
			usleep(200);
			atomic_fetch_add(&before, 1);
		});
	dispatch_barrier_async(q, ^{
		if (atomic_load(&before) != 50)
			atomic_fetch_add(&bad, 1);
		atomic_store(&during, 1);
		usleep(20000);
		atomic_store(&during, 0);
	});
	for (int i = 0; i < 50; i++)
		dispatch_async(q, ^{
			if (atomic_load(&during))
				atomic_fetch_add(&bad, 1);
		});
	dispatch_barrier_sync(q, ^{
	});
	CHECK_EQ_INT(atomic_load(&bad), 0);
	CHECK_EQ_INT(atomic_load(&before), 50);
	dispatch_release(q);
}

/* Blocks that block: 12 blocks on a global queue that can only finish once
 * all 12 run at the same time, more than the CPUs: the pool must grow. */
static void test_pool_growth(void)
{
	enum { NB = 12 };
	dispatch_group_t g = dispatch_group_create();
	dispatch_semaphore_t all = dispatch_semaphore_create(0);
	__block atomic_int arrived = 0, ok = 0;

	for (int i = 0; i < NB; i++)
		dispatch_group_async(g, dispatch_get_global_queue(QOS_CLASS_UTILITY, 0), ^{
			if (atomic_fetch_add(&arrived, 1) + 1 == NB)
				for (int j = 0; j < NB; j++)
					dispatch_semaphore_signal(all);
			if (dispatch_semaphore_wait(all, dispatch_time(DISPATCH_TIME_NOW, 20 * NSEC_PER_SEC)) == 0)
				atomic_fetch_add(&ok, 1);
		});
	CHECK_EQ_INT(dispatch_group_wait(g, dispatch_time(DISPATCH_TIME_NOW, 30 * NSEC_PER_SEC)), 0);
	CHECK_EQ_INT(atomic_load(&ok), NB);
	dispatch_release(g);
	dispatch_release(all);
}

int main(void)
{
	harness_warm_dispatch();
	harness_begin(60);
	test_serial_fifo();
	test_concurrent_overlap();
	test_global_and_sync();
	test_target_queues();
	test_suspend_resume();
	test_qos_attributes();
	test_context_finalizer();
	test_finalizer_null_context();
	test_barrier();
	test_pool_growth();
	return harness_end();
}
