/* SPDX-License-Identifier: MIT */
/*
 * test-source-signal.c - SIGNAL sources: a signal set to SIG_IGN (the macOS
 * idiom), and a signal the program keeps blocked (the Linux idiom); both
 * reach the handler with get_data counting deliveries.
 */
#include "harness.h"

#include <dispatch/dispatch.h>
#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>

#define SEC(n) dispatch_time(DISPATCH_TIME_NOW, (int64_t)(n) * (int64_t)NSEC_PER_SEC)

static void run(int signo)
{
	dispatch_queue_t q = dispatch_queue_create("t.signal", NULL);
	dispatch_semaphore_t got = dispatch_semaphore_create(0), done = dispatch_semaphore_create(0);
	dispatch_source_t s = dispatch_source_create(DISPATCH_SOURCE_TYPE_SIGNAL, (uintptr_t)signo, 0, q);
	__block uintptr_t total = 0;

	REQUIRE(s != NULL);
	dispatch_source_set_event_handler(s, ^{
		total += dispatch_source_get_data(s);
		dispatch_semaphore_signal(got);
	});
	dispatch_source_set_cancel_handler(s, ^{
		dispatch_semaphore_signal(done);
	});
	dispatch_resume(s);
	usleep(20000);
	for (int i = 0; i < 3; i++) {
		kill(getpid(), signo);
		CHECK_EQ_INT(dispatch_semaphore_wait(got, SEC(10)), 0);
	}
	dispatch_sync(q, ^{
		CHECK_EQ_INT(total, 3);
	});
	dispatch_source_cancel(s);
	CHECK_EQ_INT(dispatch_semaphore_wait(done, SEC(10)), 0);
	dispatch_release(s);
	dispatch_release(q);
	dispatch_release(got);
	dispatch_release(done);
}

int main(void)
{
	sigset_t set;

	signal(SIGUSR1, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	harness_warm_dispatch();
	harness_begin(60);
	CHECK(dispatch_source_create(DISPATCH_SOURCE_TYPE_SIGNAL, 0, 0, NULL) == NULL);
	run(SIGUSR1);
	run(SIGUSR2);
	return harness_end();
}
