/* SPDX-License-Identifier: MIT */
/*
 * dispatch-main-helper.c - a macOS-style GCD program, run as a child by
 * test-main.  Modes:
 *   main      queues, a group, a semaphore, dispatch_after, dispatch_once,
 *             dispatch_apply, a timer, a read and a signal source, then
 *             exit(42) from a block on the main queue under dispatch_main().
 *   deadlock  dispatch_sync onto the serial queue it runs on: must crash
 *             with GCD's "BUG IN CLIENT OF LIBDISPATCH" message.
 *   targetsync  dispatch_sync onto a queue targeting the serial queue it
 *             runs on: the same crash.
 *   mainsync  dispatch_sync onto the main queue from the main thread.
 */
#include <dispatch/dispatch.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int program(void)
{
	dispatch_queue_t work = dispatch_queue_create("com.example.work", DISPATCH_QUEUE_CONCURRENT);
	dispatch_queue_t serial = dispatch_queue_create("com.example.serial", NULL);
	dispatch_group_t group = dispatch_group_create();
	dispatch_semaphore_t sema = dispatch_semaphore_create(0);
	static dispatch_once_t once;
	__block int once_count = 0;
	__block long sum = 0;
	static int fds[2];

	if (pipe(fds) != 0)
		return 1;
	for (int i = 0; i < 10; i++)
		dispatch_group_async(group, work, ^{
			dispatch_once(&once, ^{
				once_count++;
			});
			dispatch_sync(serial, ^{
				sum += i;
			});
		});
	dispatch_apply(10, work, ^(size_t i) {
		dispatch_sync(serial, ^{
			sum += (long)i;
		});
	});
	dispatch_source_t rd = dispatch_source_create(DISPATCH_SOURCE_TYPE_READ, (uintptr_t)fds[0], 0, serial);
	dispatch_source_set_event_handler(rd, ^{
		char c;
		if (read(fds[0], &c, 1) == 1 && c == '!')
			dispatch_semaphore_signal(sema);
	});
	dispatch_source_set_cancel_handler(rd, ^{
		close(fds[0]);
	});
	dispatch_resume(rd);

	signal(SIGUSR1, SIG_IGN);
	dispatch_source_t sig = dispatch_source_create(DISPATCH_SOURCE_TYPE_SIGNAL, SIGUSR1, 0,
						       dispatch_get_main_queue());
	dispatch_source_set_event_handler(sig, ^{
		/* Last step: everything checked, leave from the main queue. */
		dispatch_group_notify(group, dispatch_get_main_queue(), ^{
			if (once_count == 1 && sum == 90)
				exit(42);
			exit(3);
		});
	});
	dispatch_resume(sig);

	__block int ticks = 0;
	dispatch_source_t timer = dispatch_source_create(DISPATCH_SOURCE_TYPE_TIMER, 0, 0, dispatch_get_main_queue());
	dispatch_source_set_timer(timer, dispatch_time(DISPATCH_TIME_NOW, 10 * NSEC_PER_MSEC), 10 * NSEC_PER_MSEC,
				  NSEC_PER_MSEC);
	dispatch_source_set_event_handler(timer, ^{
		if (++ticks == 3) {
			dispatch_source_cancel(timer);
			if (write(fds[1], "!", 1) != 1)
				exit(4);
		}
	});
	dispatch_resume(timer);

	dispatch_async(dispatch_get_global_queue(QOS_CLASS_UTILITY, 0), ^{
		if (dispatch_semaphore_wait(sema, dispatch_time(DISPATCH_TIME_NOW, 10 * NSEC_PER_SEC)) != 0)
			exit(5);
		dispatch_after(dispatch_time(DISPATCH_TIME_NOW, 20 * NSEC_PER_MSEC), dispatch_get_main_queue(), ^{
			kill(getpid(), SIGUSR1);
		});
	});
	dispatch_main();
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "deadlock") == 0) {
		dispatch_queue_t q = dispatch_queue_create("com.example.deadlock", NULL);
		dispatch_sync(q, ^{
			dispatch_sync(q, ^{
			});
		});
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "targetsync") == 0) {
		dispatch_queue_t parent = dispatch_queue_create("com.example.parent", NULL);
		dispatch_queue_t child = dispatch_queue_create("com.example.child", NULL);
		dispatch_set_target_queue(child, parent);
		dispatch_sync(parent, ^{
			dispatch_sync(child, ^{
			});
		});
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "mainsync") == 0) {
		dispatch_sync(dispatch_get_main_queue(), ^{
		});
		return 0;
	}
	return program();
}
