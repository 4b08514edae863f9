/* SPDX-License-Identifier: MIT */
/*
 * test-idle.c - an idle runtime does not spin: with workers parked, a timer
 * armed far in the future and a READ source waiting, the process uses
 * (almost) no CPU for a second.  Also: a source's handler queue can be
 * changed with dispatch_set_target_queue.
 */
#include "harness.h"

#include <dispatch/dispatch.h>
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void test_idle(void)
{
	int p[2];
	dispatch_queue_t q = dispatch_queue_create("t.idle", NULL);
	dispatch_semaphore_t done = dispatch_semaphore_create(0);

	REQUIRE(pipe2(p, O_CLOEXEC) == 0);
	int rfd = p[0];
	dispatch_source_t t = dispatch_source_create(DISPATCH_SOURCE_TYPE_TIMER, 0, 0, q);
	dispatch_source_t r = dispatch_source_create(DISPATCH_SOURCE_TYPE_READ, (uintptr_t)rfd, 0, q);
	dispatch_source_set_timer(t, dispatch_time(DISPATCH_TIME_NOW, 3600 * NSEC_PER_SEC), 3600 * NSEC_PER_SEC, 0);
	dispatch_source_set_event_handler(t, ^{
	});
	dispatch_source_set_event_handler(r, ^{
	});
	dispatch_source_set_cancel_handler(r, ^{
		close(rfd);
		dispatch_semaphore_signal(done);
	});
	dispatch_resume(t);
	dispatch_resume(r);
	for (int i = 0; i < 8; i++)
		dispatch_async(dispatch_get_global_queue(0, 0), ^{
		});
	usleep(100000);
	double before = cpu_seconds();
	usleep(1000000);
	double used = cpu_seconds() - before;
	CHECK(used < 0.2);
	if (used >= 0.2)
		fprintf(stderr, "idle runtime used %.3f s of CPU in 1 s\n", used);
	dispatch_source_cancel(t);
	dispatch_source_cancel(r);
	CHECK_EQ_INT(dispatch_semaphore_wait(done, dispatch_time(DISPATCH_TIME_NOW, 10 * NSEC_PER_SEC)), 0);
	close(p[1]);
	dispatch_release(t);
	dispatch_release(r);
	dispatch_release(q);
	dispatch_release(done);
}

static void test_source_retarget(void)
{
	dispatch_queue_t a = dispatch_queue_create("t.a", NULL), b = dispatch_queue_create("t.b", NULL);
	dispatch_semaphore_t s = dispatch_semaphore_create(0);
	__block const char *label = NULL;
	dispatch_source_t t = dispatch_source_create(DISPATCH_SOURCE_TYPE_TIMER, 0, 0, a);

	dispatch_set_target_queue(t, b);
	dispatch_source_set_timer(t, DISPATCH_TIME_NOW, DISPATCH_TIME_FOREVER, 0);
	dispatch_source_set_event_handler(t, ^{
		label = dispatch_queue_get_label(DISPATCH_CURRENT_QUEUE_LABEL);
		dispatch_semaphore_signal(s);
	});
	dispatch_resume(t);
	CHECK_EQ_INT(dispatch_semaphore_wait(s, dispatch_time(DISPATCH_TIME_NOW, 10 * NSEC_PER_SEC)), 0);
	CHECK_STREQ(label, "t.b");
	dispatch_source_cancel(t);
	dispatch_release(t);
	dispatch_release(a);
	dispatch_release(b);
	dispatch_release(s);
}

int main(void)
{
	harness_warm_dispatch();
	harness_begin(60);
	test_idle();
	test_source_retarget();
	return harness_end();
}
