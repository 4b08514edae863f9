/* SPDX-License-Identifier: MIT */
/*
 * periodic-job - a job in the style of Apple's periodic tools, for
 * test-activity: launched by xpcd when its activity is due, it checks in
 * with XPC_ACTIVITY_CHECK_IN, does its work when the handler runs with
 * XPC_ACTIVITY_STATE_RUN, reports how the run ended, and exits.
 *
 *   periodic-job MODE LOGFILE [NAME]
 *
 * Every step is appended to LOGFILE as one line "EVENT pid=P t=NS ..."
 * (t: CLOCK_MONOTONIC nanoseconds), which the test reads.  MODE:
 *   done        each run sets DONE, then the job exits
 *   defer-once  the first run of this process defers (DEFER), the next
 *               one is DONE, then it exits
 *   continue    the run sets CONTINUE and returns; 100 ms later DONE
 *   unregister  the first run sets DONE and unregisters the activity; the
 *               job stays up (the test checks that no run follows)
 *   stream      no register: xpc_set_event_stream_handler takes the runs
 *   defer-ask   the run keeps going (CONTINUE) until should_defer says
 *               yes (xpcd stops the job), then DEFER
 */
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xpc/xpc.h>

static const char *log_path;

static void note(const char *fmt, ...) __attribute__((__format__(__printf__, 1, 2)));
static void note(const char *fmt, ...)
{
	char line[512];
	struct timespec ts;
	va_list ap;
	int n, fd;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 64, fmt, ap);
	va_end(ap);
	n += snprintf(line + n, sizeof(line) - (size_t)n, " pid=%d t=%lld\n", (int)getpid(),
		      (long long)ts.tv_sec * 1000000000ll + ts.tv_nsec);
	fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0) {
		if (write(fd, line, (size_t)n) < 0)
			(void)0;
		close(fd);
	}
}

static void exit_soon(void)
{
	/* the reply to xpcd leaves at exit (messages sent before a normal
	 * exit are delivered); a short pause keeps the log order simple */
	dispatch_after(dispatch_time(DISPATCH_TIME_NOW, 200 * NSEC_PER_MSEC), dispatch_get_main_queue(), ^{
		note("exit");
		exit(0);
	});
}

static void on_checkin(xpc_activity_t a)
{
	xpc_object_t c = xpc_activity_copy_criteria(a);

	note("checkin interval=%lld", c ? (long long)xpc_dictionary_get_int64(c, XPC_ACTIVITY_INTERVAL) : -1ll);
	if (c)
		xpc_release(c);
}

static void on_run(const char *mode, const char *name, xpc_activity_t a)
{
	static int runs;

	runs++;
	note("run n=%d", runs);
	if (!strcmp(mode, "defer-once") && runs == 1) {
		note("defer ok=%d", xpc_activity_set_state(a, XPC_ACTIVITY_STATE_DEFER));
		return;
	}
	if (!strcmp(mode, "continue") || !strcmp(mode, "defer-ask")) {
		bool ok = xpc_activity_set_state(a, XPC_ACTIVITY_STATE_CONTINUE);
		note("continue ok=%d state=%ld", ok, xpc_activity_get_state(a));
		xpc_retain(a);
		if (!strcmp(mode, "defer-ask")) {
			dispatch_source_t t = dispatch_source_create(DISPATCH_SOURCE_TYPE_TIMER, 0, 0, dispatch_get_main_queue());
			dispatch_source_set_timer(t, dispatch_time(DISPATCH_TIME_NOW, 0), 20 * NSEC_PER_MSEC, 0);
			dispatch_source_set_event_handler(t, ^{
				if (!xpc_activity_should_defer(a))
					return;
				note("asked-to-defer ok=%d", xpc_activity_set_state(a, XPC_ACTIVITY_STATE_DEFER));
				dispatch_source_cancel(t);
				xpc_release(a);
				exit_soon();
			});
			dispatch_resume(t);
			return;
		}
		dispatch_after(dispatch_time(DISPATCH_TIME_NOW, 100 * NSEC_PER_MSEC), dispatch_get_main_queue(), ^{
			note("done ok=%d", xpc_activity_set_state(a, XPC_ACTIVITY_STATE_DONE));
			xpc_release(a);
			exit_soon();
		});
		return;
	}
	note("done ok=%d", xpc_activity_set_state(a, XPC_ACTIVITY_STATE_DONE));
	if (!strcmp(mode, "unregister")) {
		xpc_activity_unregister(name);
		note("unregistered");
		return;
	}
	exit_soon();
}

int main(int argc, char **argv)
{
	const char *mode, *name;

	if (argc < 3)
		return 2;
	mode = argv[1];
	log_path = argv[2];
	name = argc > 3 ? argv[3] : "org.xpc.test.periodic";
	note("start mode=%s", mode);
	if (!strcmp(mode, "defer-ask"))
		signal(SIGTERM, SIG_IGN); /* a daemon that winds down on its own */
	if (!strcmp(mode, "stream")) {
		xpc_set_event_stream_handler("com.apple.xpc.activity", dispatch_get_main_queue(), ^(xpc_object_t ev) {
			note("event name=%s", xpc_dictionary_get_string(ev, XPC_EVENT_KEY_NAME));
			exit_soon();
		});
		dispatch_main();
	}
	xpc_activity_register(name, XPC_ACTIVITY_CHECK_IN, ^(xpc_activity_t a) {
		xpc_activity_state_t st = xpc_activity_get_state(a);
		if (st == XPC_ACTIVITY_STATE_CHECK_IN)
			on_checkin(a);
		else if (st == XPC_ACTIVITY_STATE_RUN)
			on_run(mode, name, a);
		else
			note("unexpected state=%ld", st);
	});
	dispatch_main();
}
