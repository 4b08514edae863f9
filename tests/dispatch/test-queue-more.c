/* SPDX-License-Identifier: MIT */
/*
 * test-queue-more.c - the queue calls beyond the core: dispatch_assert_queue
 * (+_barrier, _not; a violation crashes with GCD's message, checked in
 * forked children before this process starts the runtime),
 * dispatch_get_current_queue, queue-specific data (lookup through targets,
 * destructors on replacement and on release), create_with_target, the
 * autorelease-pool attributes, async_and_wait (+barrier, _f), workloops,
 * dispatch_queue_get_qos_class, dispatch_set_qos_class_floor, dispatch_debug
 * and MSEC_PER_SEC.
 */
#include "harness.h"

#include <dispatch/dispatch.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SEC(n) dispatch_time(DISPATCH_TIME_NOW, (int64_t)(n) * (int64_t)NSEC_PER_SEC)

/* Runs @body in a child whose stderr is captured; checks it died of
 * SIGABRT with @msg in its output. */
static void expect_crash(void (^body)(void), const char *msg)
{
	int p[2];
	char out[1024] = "";
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	REQUIRE(pipe(p) == 0);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		dup2(p[1], STDERR_FILENO);
		close(p[0]);
		close(p[1]);
		signal(SIGABRT, SIG_DFL);
		body();
		_exit(0);
	}
	close(p[1]);
	while (len < sizeof(out) - 1 && (n = read(p[0], out + len, sizeof(out) - 1 - len)) > 0)
		len += (size_t)n;
	out[len] = 0;
	close(p[0]);
	int status = harness_wait_pid(pid, 20);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
	if (!strstr(out, msg))
		fprintf(stderr, "child said: %s\n", out);
	CHECK(strstr(out, msg) != NULL);
}

static void test_assert_crashes(void)
{
	expect_crash(^{
		dispatch_queue_t q = dispatch_queue_create("t.assert-on", NULL);
		dispatch_assert_queue(q); /* not on q */
	}, "BUG IN CLIENT OF LIBDISPATCH: Assertion failed: Block was expected to execute on queue [t.assert-on");
	expect_crash(^{
		dispatch_queue_t q = dispatch_queue_create("t.assert-not", NULL);
		dispatch_sync(q, ^{
			dispatch_assert_queue_not(q);
		});
	}, "Block was not expected to execute on queue [t.assert-not");
	expect_crash(^{
		dispatch_queue_t q = dispatch_queue_create("t.assert-bar", DISPATCH_QUEUE_CONCURRENT);
		dispatch_sync(q, ^{
			dispatch_assert_queue_barrier(q);
		});
	}, "Block was expected to act as a barrier on queue [t.assert-bar");
}

static void test_assert_pass(void)
{
	dispatch_queue_t outer = dispatch_queue_create("t.outer", NULL);
	dispatch_queue_t inner = dispatch_queue_create_with_target("t.inner", NULL, outer);
	dispatch_queue_t conc = dispatch_queue_create("t.conc", DISPATCH_QUEUE_CONCURRENT);
	dispatch_queue_t global = dispatch_get_global_queue(QOS_CLASS_UTILITY, 0);
	dispatch_semaphore_t done = dispatch_semaphore_create(0);

	dispatch_assert_queue(dispatch_get_main_queue()); /* the main thread */
	dispatch_assert_queue_not(outer);
	dispatch_sync(inner, ^{
		dispatch_assert_queue(inner);
		dispatch_assert_queue(outer); /* through the target */
		dispatch_assert_queue_barrier(inner);
		dispatch_assert_queue_not(conc);
		CHECK(dispatch_get_current_queue() == inner);
	});
	dispatch_async(inner, ^{
		dispatch_assert_queue(inner);
		dispatch_assert_queue(outer);
		dispatch_assert_queue(dispatch_get_global_queue(QOS_CLASS_DEFAULT, 0));
		dispatch_assert_queue_not(dispatch_get_main_queue());
		dispatch_semaphore_signal(done);
	});
	CHECK_EQ_INT(dispatch_semaphore_wait(done, SEC(10)), 0);
	dispatch_async(global, ^{
		dispatch_assert_queue(global);
		CHECK(dispatch_get_current_queue() == global);
		dispatch_semaphore_signal(done);
	});
	CHECK_EQ_INT(dispatch_semaphore_wait(done, SEC(10)), 0);
	dispatch_barrier_sync(conc, ^{
		dispatch_assert_queue_barrier(conc);
	});
	CHECK(dispatch_get_current_queue() == dispatch_get_main_queue());
	dispatch_release(inner);
	dispatch_release(outer);
	dispatch_release(conc);
	dispatch_release(done);
}

static atomic_int destroyed;
static int key_a, key_b;

static void destructor(void *ctx)
{
	atomic_fetch_add(&destroyed, *(int *)ctx);
}

static void test_specific(void)
{
	static int one = 1, ten = 10, hundred = 100;
	dispatch_queue_t outer = dispatch_queue_create("t.sp-outer", NULL);
	dispatch_queue_t inner = dispatch_queue_create_with_target("t.sp-inner", NULL, outer);

	CHECK(dispatch_get_specific(&key_a) == NULL);
	dispatch_queue_set_specific(outer, &key_a, &one, destructor);
	dispatch_queue_set_specific(inner, &key_b, &ten, destructor);
	CHECK(dispatch_queue_get_specific(outer, &key_a) == &one);
	CHECK(dispatch_queue_get_specific(inner, &key_a) == NULL);
	dispatch_sync(inner, ^{
		CHECK(dispatch_get_specific(&key_a) == &one); /* through the target */
		CHECK(dispatch_get_specific(&key_b) == &ten);
	});
	dispatch_queue_set_specific(inner, &key_b, &hundred, destructor); /* destroys ten */
	dispatch_queue_set_specific(outer, &key_a, NULL, NULL);           /* destroys one */
	for (int i = 0; i < 5000 && atomic_load(&destroyed) != 11; i++)
		usleep(1000);
	CHECK_EQ_INT(atomic_load(&destroyed), 11);
	dispatch_release(inner); /* destroys hundred */
	dispatch_release(outer);
	for (int i = 0; i < 5000 && atomic_load(&destroyed) != 111; i++)
		usleep(1000);
	CHECK_EQ_INT(atomic_load(&destroyed), 111);
}

static void add_one(void *ctx)
{
	(*(int *)ctx)++;
}

static void test_async_and_wait(void)
{
	dispatch_queue_t q = dispatch_queue_create("t.aaw", DISPATCH_QUEUE_CONCURRENT_WITH_AUTORELEASE_POOL);
	dispatch_queue_t s = dispatch_queue_create("t.aaw-s", DISPATCH_QUEUE_SERIAL_WITH_AUTORELEASE_POOL);
	__block int n = 0;
	int m = 0;

	dispatch_async(s, ^{
		usleep(20000);
		n = 5;
	});
	dispatch_async_and_wait(s, ^{
		n++; /* after the block before it */
	});
	CHECK_EQ_INT(n, 6);
	dispatch_async_and_wait_f(s, &m, add_one);
	dispatch_barrier_async_and_wait(q, ^{
		dispatch_assert_queue_barrier(q);
		n++;
	});
	dispatch_barrier_async_and_wait_f(q, &m, add_one);
	CHECK_EQ_INT(n, 7);
	CHECK_EQ_INT(m, 2);
	dispatch_release(q);
	dispatch_release(s);
}

static void test_workloop_qos(void)
{
	dispatch_workloop_t wl = dispatch_workloop_create("t.wl");
	dispatch_workloop_t wi = dispatch_workloop_create_inactive("t.wl-inactive");
	static int order_buf[4];
	int *order = order_buf;
	__block int n = 0;
	__block int ran = 0;
	int relpri = 7;

	for (int i = 0; i < 4; i++)
		dispatch_async(wl, ^{
			order[n++] = i; /* serial: FIFO, never concurrent */
		});
	dispatch_async(wi, ^{
		ran = 1;
	});
	dispatch_sync(wl, ^{
	});
	for (int i = 0; i < 4; i++)
		CHECK_EQ_INT(order[i], i);
	usleep(10000);
	CHECK_EQ_INT(ran, 0);
	dispatch_activate(wi);
	dispatch_sync(wi, ^{
		CHECK_EQ_INT(ran, 1);
	});
	CHECK_STREQ(dispatch_queue_get_label(wl), "t.wl");
	CHECK_EQ_INT(dispatch_queue_get_qos_class(dispatch_get_global_queue(QOS_CLASS_UTILITY, 0), &relpri),
		     QOS_CLASS_UTILITY);
	CHECK_EQ_INT(relpri, 0);
	dispatch_set_qos_class_floor(wl, QOS_CLASS_USER_INITIATED, 0);
	dispatch_debug(wl, "debug output of test-queue-more: %d", 42);
	CHECK_EQ_INT(MSEC_PER_SEC, 1000);
	CHECK_EQ_INT(NSEC_PER_SEC / NSEC_PER_MSEC, MSEC_PER_SEC);
	dispatch_release(wl);
	dispatch_release(wi);
}

int main(void)
{
	harness_begin(60);
	test_assert_crashes(); /* first: the children fork before our runtime starts */
	harness_warm_dispatch();
	harness_snapshot_fds();
	test_assert_pass();
	test_specific();
	test_async_and_wait();
	test_workloop_qos();
	return harness_end();
}
