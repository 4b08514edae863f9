/* SPDX-License-Identifier: MIT */
/*
 * test-activity - background activities (docs/activities.md).
 *
 *   test-activity SCENARIO
 *
 * Broker scenarios run a private xpcd (tests/broker/broker-common.c) with
 * the test clock XPC_ACTIVITY_TIME_SCALE=3600 (an hour lasts a second)
 * and the job periodic-job ($PERIODIC_JOB), which appends what it does to
 * DIR/job.log; the test reads that log:
 *   periodic    Interval 3600 (1 s): xpcd launches the job when due, it
 *               checks in (the criteria from the plist), runs, sets DONE,
 *               exits; the next interval launches it again
 *   defer       the first run defers; the retry (60 s: 17 ms) is DONE
 *   continue    CONTINUE after the handler returned, DONE later
 *   unregister  no run after xpc_activity_unregister
 *   stream      xpc_set_event_stream_handler gets { XPCEventName: NAME }
 *   stop-defer  unloading the job mid-run: should_defer turns true
 *   run-now     xpcctl's requests: run an activity now, list activities
 *   hidden      the activity channel is not a name anyone can look up
 *   bad-plist   a mistyped criterion refuses the job, naming the key
 * In-process scenarios (no broker; the test clock from the environment):
 *   runtime     xpc_activity_register with criteria runs in this process,
 *               repeating, until unregistered
 *   checkin-new CHECK_IN to an activity nobody defined: CHECK_IN with no
 *               criteria; set_criteria there schedules it
 *   states      set_state's valid transitions only
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <xpc/xpc.h>

#include "activity/protocol.h"
#include "broker-common.h"
#include "connection/connection.h"
#include "harness.h"
#include "shared/xpcd-protocol.h"

#define ACT "org.xpc.test.periodic"

static const char *job_path;

static void write_activity_job(const char *mode, const char *criteria, const char *extra)
{
	char xml[4096], log[300];

	snprintf(log, sizeof(log), "%s/job.log", broker_dir);
	snprintf(xml, sizeof(xml),
		 "<key>Label</key><string>org.xpc.test.periodic-job</string>\n"
		 "<key>ProgramArguments</key><array><string>%s</string><string>%s</string><string>%s</string></array>\n"
		 "<key>ThrottleInterval</key><integer>0</integer>\n"
		 "<key>LaunchEvents</key><dict><key>com.apple.xpc.activity</key><dict>\n"
		 "  <key>" ACT "</key><dict>%s</dict>\n"
		 "</dict></dict>\n%s",
		 job_path, mode, log, criteria, extra ? extra : "");
	broker_write_job_file("periodic.plist", xml);
}

static const char *hourly = "<key>Interval</key><integer>3600</integer>"
			    "<key>RequireScreenSleep</key><true/><key>Priority</key><string>Maintenance</string>";

/* Lines of the job's log that start with @event, and the t= of the
 * @nth (0-based) of them in *ret_t. */
static int log_count(const char *event, int nth, long long *ret_t)
{
	char *text = broker_read_file("job.log");
	size_t len = strlen(event);
	int n = 0;

	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		if (strncmp(line, event, len) || (line[len] != ' ' && line[len]))
			continue;
		if (n == nth && ret_t) {
			char *t = strstr(line, " t=");
			*ret_t = t ? atoll(t + 3) : 0;
		}
		n++;
	}
	free(text);
	return n;
}

static bool wait_log(const char *event, int count, unsigned ms)
{
	for (unsigned i = 0; i < ms / 20; i++) {
		if (log_count(event, 0, NULL) >= count)
			return true;
		usleep(20000);
	}
	return log_count(event, 0, NULL) >= count;
}

static bool wait_broker_log(const char *text, unsigned ms)
{
	for (unsigned i = 0; i < ms / 20; i++) {
		if (broker_log_has(text))
			return true;
		usleep(20000);
	}
	return broker_log_has(text);
}

static void start(const char *mode, const char *criteria, const char *extra)
{
	broker_setup();
	setenv("XPC_ACTIVITY_TIME_SCALE", "3600", 1);
	write_activity_job(mode, criteria, extra);
	broker_start(NULL, 0);
}

/* ---- broker scenarios ---------------------------------------------------------- */

static void test_periodic(void)
{
	long long t0 = 0, t1 = 0, t2 = 0;

	start("done", hourly, NULL);
	CHECK(wait_log("exit", 3, 20000));
	CHECK(log_count("checkin", 0, NULL) >= 3);
	CHECK(log_count("checkin interval=3600", 0, NULL) >= 3); /* the plist's criteria */
	CHECK(log_count("done ok=1", 0, NULL) >= 3);
	/* each run in a fresh process launched by xpcd, an interval apart:
	 * 3600 s at 3600x is 1 s (timers never fire early; 0.9 s of slack
	 * for the log's clock reading) */
	log_count("run", 0, &t0);
	log_count("run", 1, &t1);
	log_count("run", 2, &t2);
	CHECK(t1 - t0 >= 900000000ll);
	CHECK(t2 - t1 >= 900000000ll);
	CHECK(broker_log_has("activity " ACT " due: run 1 (launching the job)"));
	CHECK(broker_log_has("activity " ACT " done"));
	CHECK(!broker_log_has("exited before reporting"));
	broker_teardown();
}

static void test_defer(void)
{
	start("defer-once", hourly, NULL);
	CHECK(wait_log("exit", 1, 15000));
	CHECK_EQ_INT(log_count("defer ok=1", 0, NULL), 1);
	CHECK(log_count("run n=2", 0, NULL) >= 1); /* the retry, in the same process */
	CHECK(wait_broker_log("activity " ACT " deferred", 5000));
	CHECK(wait_broker_log("activity " ACT " done", 5000));
	broker_teardown();
}

static void test_continue(void)
{
	start("continue", hourly, NULL);
	CHECK(wait_log("exit", 1, 15000));
	CHECK(log_count("continue ok=1 state=4", 0, NULL) >= 1); /* XPC_ACTIVITY_STATE_CONTINUE */
	CHECK(log_count("done ok=1", 0, NULL) >= 1);
	CHECK(wait_broker_log("activity " ACT " done", 5000));
	broker_teardown();
}

static void test_unregister(void)
{
	start("unregister", hourly, NULL);
	CHECK(wait_log("unregistered", 1, 15000));
	CHECK(wait_broker_log("activity " ACT " unregistered", 5000));
	usleep(2500000); /* two and a half intervals */
	CHECK_EQ_INT(log_count("run", 0, NULL), 1);
	CHECK_EQ_INT(log_count("start", 0, NULL), 1); /* the job stayed up, not relaunched */
	broker_teardown();
}

static void test_stream(void)
{
	start("stream", hourly, NULL);
	CHECK(wait_log("event name=" ACT, 2, 15000));
	CHECK(wait_broker_log("activity " ACT " done", 5000));
	broker_teardown();
}

static void test_stop_defer(void)
{
	xpc_object_t reply;

	start("defer-ask", hourly, "<key>ExitTimeOut</key><integer>5</integer>\n");
	CHECK(wait_log("continue ok=1", 1, 15000));
	/* unload: xpcd asks the running activity to defer, then SIGTERM */
	reply = broker_call("unload", "org.xpc.test.periodic-job");
	CHECK(xpc_get_type(reply) == XPC_TYPE_DICTIONARY && xpc_dictionary_get_bool(reply, "ok"));
	xpc_release(reply);
	CHECK(wait_log("asked-to-defer ok=1", 1, 5000));
	broker_teardown();
}

/* A control request with the activity's name as well. */
static xpc_object_t broker_request_name(const char *op, const char *label, const char *name)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	xpc_connection_t c;
	xpc_object_t req, reply;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", broker_sock);
	REQUIRE(fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	c = connection_create_from_socket(fd, NULL);
	REQUIRE(c);
	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) { (void)ev; });
	xpc_connection_resume(c);
	req = xpc_dictionary_create(NULL, NULL, 0);
	xpc_dictionary_set_string(req, XPCD_KEY_OP, op);
	xpc_dictionary_set_string(req, XPCD_KEY_LABEL, label);
	if (name)
		xpc_dictionary_set_string(req, XPCD_KEY_NAME, name);
	reply = xpc_connection_send_message_with_reply_sync(c, req);
	xpc_release(req);
	xpc_connection_cancel(c);
	xpc_release(c);
	return reply;
}

/* The run-activity and activities requests (xpcctl's): an activity due in
 * 100 hours (100 s at 3600x) runs at once when asked, and is reported. */
static void test_run_now(void)
{
	xpc_object_t reply, acts, a;

	start("done", "<key>Interval</key><integer>360000</integer>", NULL);
	CHECK(wait_broker_log("1 activity scheduled", 5000));
	reply = broker_request_name(XPCD_OP_RUN_ACTIVITY, "org.xpc.test.periodic-job", ACT);
	CHECK(xpc_get_type(reply) == XPC_TYPE_DICTIONARY && xpc_dictionary_get_bool(reply, "ok"));
	xpc_release(reply);
	CHECK(wait_log("exit", 1, 10000));
	CHECK(wait_broker_log("activity " ACT " done", 5000));
	reply = broker_request_name(XPCD_OP_RUN_ACTIVITY, "org.xpc.test.periodic-job", "org.xpc.test.nosuch");
	CHECK(xpc_get_type(reply) == XPC_TYPE_DICTIONARY && xpc_dictionary_get_int64(reply, "errno") == ESRCH);
	xpc_release(reply);
	reply = broker_request_name(XPCD_OP_ACTIVITIES, "org.xpc.test.periodic-job", NULL);
	acts = xpc_get_type(reply) == XPC_TYPE_DICTIONARY ? xpc_dictionary_get_value(reply, "activities") : NULL;
	CHECK(acts && xpc_get_type(acts) == XPC_TYPE_ARRAY && xpc_array_get_count(acts) == 1);
	a = acts ? xpc_array_get_value(acts, 0) : NULL;
	CHECK(a && !strcmp(xpc_dictionary_get_string(a, "name"), ACT));
	CHECK(a && xpc_dictionary_get_uint64(a, "runs") == 1);
	CHECK(a && !strcmp(xpc_dictionary_get_string(a, "state"), "waiting"));
	CHECK(a && xpc_dictionary_get_double(a, "next_run_in") > 50.0); /* real seconds */
	xpc_release(reply);
	broker_teardown();
}

static void test_hidden(void)
{
	xpc_connection_t c;
	xpc_object_t msg, reply;
	char *why;

	start("done", "<key>Interval</key><integer>360000</integer>", NULL);
	CHECK(wait_broker_log("1 activity scheduled", 5000));
	c = xpc_connection_create_mach_service("com.apple.xpc.activity", NULL, 0);
	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) { (void)ev; });
	xpc_connection_resume(c);
	msg = xpc_dictionary_create(NULL, NULL, 0);
	xpc_dictionary_set_string(msg, ACTIVITY_KEY_OP, ACTIVITY_OP_RUN);
	xpc_dictionary_set_string(msg, ACTIVITY_KEY_NAME, ACT);
	reply = xpc_connection_send_message_with_reply_sync(c, msg);
	CHECK(reply == XPC_ERROR_CONNECTION_INVALID);
	why = xpc_connection_copy_invalidation_reason(c);
	CHECK(why && strstr(why, "unknown name"));
	free(why);
	xpc_release(reply);
	xpc_release(msg);
	xpc_connection_cancel(c);
	xpc_release(c);
	CHECK_EQ_INT(log_count("start", 0, NULL), 0); /* nothing launched the job */
	broker_teardown();
}

static void test_bad_plist(void)
{
	broker_setup();
	write_activity_job("done", "<key>Interval</key><string>hourly</string>", NULL);
	broker_start(NULL, 0);
	CHECK(wait_broker_log("LaunchEvents.com.apple.xpc.activity." ACT ".Interval: must be an integer", 5000));
	broker_teardown();
}

/* ---- in-process scenarios ------------------------------------------------------ */

static void test_runtime(void)
{
	__block int runs = 0;
	dispatch_semaphore_t two = dispatch_semaphore_create(0);
	xpc_object_t crit = xpc_dictionary_create(NULL, NULL, 0);

	setenv("XPC_ACTIVITY_TIME_SCALE", "3600", 1);
	xpc_dictionary_set_int64(crit, XPC_ACTIVITY_INTERVAL, XPC_ACTIVITY_INTERVAL_1_HOUR);
	xpc_dictionary_set_int64(crit, XPC_ACTIVITY_DELAY, 0);
	xpc_dictionary_set_bool(crit, XPC_ACTIVITY_ALLOW_BATTERY, true);
	xpc_activity_register("org.xpc.test.runtime", crit, ^(xpc_activity_t a) {
		CHECK_EQ_INT(xpc_activity_get_state(a), XPC_ACTIVITY_STATE_RUN);
		if (++runs == 2)
			dispatch_semaphore_signal(two);
	});
	xpc_release(crit);
	CHECK(dispatch_semaphore_wait(two, dispatch_time(DISPATCH_TIME_NOW, 10 * NSEC_PER_SEC)) == 0);
	xpc_activity_unregister("org.xpc.test.runtime");
	int seen = runs;
	usleep(2200000);
	CHECK_EQ_INT(runs, seen); /* no run after unregister */
	dispatch_release(two);
}

static void test_checkin_new(void)
{
	dispatch_semaphore_t ran = dispatch_semaphore_create(0);
	__block int checkins = 0;

	unsetenv("XPCD_LISTEN_PID");
	setenv("XPC_ACTIVITY_TIME_SCALE", "3600", 1);
	xpc_activity_register("org.xpc.test.new", XPC_ACTIVITY_CHECK_IN, ^(xpc_activity_t a) {
		xpc_activity_state_t st = xpc_activity_get_state(a);
		if (st == XPC_ACTIVITY_STATE_CHECK_IN) {
			checkins++;
			CHECK(xpc_activity_copy_criteria(a) == NULL);
			xpc_object_t c = xpc_dictionary_create(NULL, NULL, 0);
			xpc_dictionary_set_int64(c, XPC_ACTIVITY_DELAY, 60); /* 17 ms */
			xpc_dictionary_set_bool(c, XPC_ACTIVITY_REPEATING, false);
			xpc_activity_set_criteria(a, c);
			xpc_release(c);
		} else if (st == XPC_ACTIVITY_STATE_RUN) {
			dispatch_semaphore_signal(ran);
		}
	});
	CHECK(dispatch_semaphore_wait(ran, dispatch_time(DISPATCH_TIME_NOW, 10 * NSEC_PER_SEC)) == 0);
	CHECK_EQ_INT(checkins, 1);
	usleep(100000);
	dispatch_release(ran);
}

static void test_states(void)
{
	dispatch_semaphore_t done = dispatch_semaphore_create(0);
	xpc_object_t crit = xpc_dictionary_create(NULL, NULL, 0);
	__block xpc_activity_t kept = NULL;

	setenv("XPC_ACTIVITY_TIME_SCALE", "3600", 1);
	xpc_dictionary_set_int64(crit, XPC_ACTIVITY_DELAY, 0);
	xpc_activity_register("org.xpc.test.states", crit, ^(xpc_activity_t a) {
		CHECK(!xpc_activity_set_state(a, XPC_ACTIVITY_STATE_RUN));
		CHECK(!xpc_activity_set_state(a, XPC_ACTIVITY_STATE_WAIT));
		CHECK(!xpc_activity_set_state(a, XPC_ACTIVITY_STATE_CHECK_IN));
		CHECK(!xpc_activity_should_defer(a));
		CHECK(xpc_activity_set_state(a, XPC_ACTIVITY_STATE_CONTINUE));
		kept = xpc_retain(a);
		dispatch_semaphore_signal(done);
	});
	xpc_release(crit);
	CHECK(dispatch_semaphore_wait(done, dispatch_time(DISPATCH_TIME_NOW, 10 * NSEC_PER_SEC)) == 0);
	usleep(50000);
	CHECK_EQ_INT(xpc_activity_get_state(kept), XPC_ACTIVITY_STATE_CONTINUE);
	CHECK(xpc_activity_set_state(kept, XPC_ACTIVITY_STATE_DONE));
	CHECK_EQ_INT(xpc_activity_get_state(kept), XPC_ACTIVITY_STATE_DONE); /* not repeating */
	CHECK(!xpc_activity_set_state(kept, XPC_ACTIVITY_STATE_DONE));
	CHECK(xpc_activity_copy_criteria(kept) == NULL);
	CHECK(xpc_get_type(kept) == XPC_TYPE_ACTIVITY);
	char *d = xpc_copy_description(XPC_ACTIVITY_CHECK_IN);
	CHECK(d && strstr(d, "CHECK-IN"));
	free(d);
	xpc_activity_unregister("org.xpc.test.states");
	xpc_release(kept);
	dispatch_release(done);
}

int main(int argc, char **argv)
{
	const char *s = argc > 1 ? argv[1] : "";

	job_path = getenv("PERIODIC_JOB");
	harness_warm_dispatch();
	harness_begin(60);
	if (!strcmp(s, "periodic"))
		test_periodic();
	else if (!strcmp(s, "defer"))
		test_defer();
	else if (!strcmp(s, "continue"))
		test_continue();
	else if (!strcmp(s, "unregister"))
		test_unregister();
	else if (!strcmp(s, "stream"))
		test_stream();
	else if (!strcmp(s, "stop-defer"))
		test_stop_defer();
	else if (!strcmp(s, "run-now"))
		test_run_now();
	else if (!strcmp(s, "hidden"))
		test_hidden();
	else if (!strcmp(s, "bad-plist"))
		test_bad_plist();
	else if (!strcmp(s, "runtime"))
		test_runtime();
	else if (!strcmp(s, "checkin-new"))
		test_checkin_new();
	else if (!strcmp(s, "states"))
		test_states();
	else {
		fprintf(stderr, "unknown scenario %s\n", s);
		return 2;
	}
	connection_forget_services();
	return harness_end();
}
