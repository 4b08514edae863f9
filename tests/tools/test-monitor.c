/* SPDX-License-Identifier: MIT */
/*
 * test-monitor - the broker's monitor op (docs/broker.md, "Monitor")
 * against a private root xpcd whose socket anyone may use (--system).
 *
 *   test-monitor SCENARIO
 *
 *   events     root's monitor sees a lookup, the launch it causes and the
 *              job's exit, each with its pid, label and time; a --name
 *              filter keeps only its service's events
 *   isolation  a monitor of nobody sees none of root's events (lookups,
 *              launch, exit) but sees its own lookup
 *   slow       a monitor that does not read while 3000 lookups are made:
 *              the broker keeps answering at once, the monitor later gets
 *              a "dropped" event counting what it missed
 *   limit      one user's ninth monitor is refused (MONITOR_MAX_PER_USER)
 *
 * Paths from the environment: XPCD, ECHO_SERVICE (meson).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xpc/xpc.h>

#include "broker-common.h"
#include "monitor-common.h"
#include "connection/connection.h"
#include "harness.h"

#define NAME "org.xpc.test.mon"
#define OTHER "org.xpc.test.other"

static void write_job(const char *label)
{
	char file[300], xml[2048];

	snprintf(file, sizeof(file), "%s.plist", label);
	snprintf(xml, sizeof(xml),
		 "<key>Label</key><string>%s</string>\n"
		 "<key>ProgramArguments</key><array><string>%s</string><string>%s</string></array>\n"
		 "<key>MachServices</key><dict><key>%s</key><true/></dict>\n"
		 "<key>ThrottleInterval</key><integer>1</integer>\n",
		 label, getenv("ECHO_SERVICE"), label, label);
	broker_write_job_file(file, xml);
}

/* One request to @name over a named connection; the service's pid or -1. */
static int64_t use_service(const char *name)
{
	xpc_connection_t c = xpc_connection_create_mach_service(name, NULL, 0);
	xpc_object_t msg = xpc_dictionary_create(NULL, NULL, 0), r;
	int64_t pid = -1;

	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) { (void)ev; });
	xpc_connection_resume(c);
	xpc_dictionary_set_string(msg, "op", "echo");
	r = xpc_connection_send_message_with_reply_sync(c, msg);
	if (xpc_get_type(r) == XPC_TYPE_DICTIONARY)
		pid = xpc_dictionary_get_int64(r, "pid");
	xpc_release(r);
	xpc_release(msg);
	xpc_connection_cancel(c);
	xpc_release(c);
	return pid;
}

static void start(void)
{
	static const char *const system_mode[] = {"--system", NULL};

	harness_require_root();
	broker_setup();
	REQUIRE(chmod(broker_dir, 0755) == 0); /* nobody reaches the 0666 socket */
	write_job(NAME);
	write_job(OTHER);
	broker_start(system_mode, 0);
}

static void scenario_events(void)
{
	Seen all = {0}, only = {0};
	size_t i = 0, j = 0;
	xpc_connection_t m = monitor(&all, NULL, NULL), f = monitor(&only, OTHER, NULL);
	xpc_object_t e;
	int64_t pid;

	REQUIRE(m && f);
	pid = use_service(NAME);
	CHECK(pid > 0);
	e = wait_event(&all, &i, "lookup", NAME, 10);
	CHECK(e && xpc_dictionary_get_int64(e, "pid") == getpid() && xpc_dictionary_get_int64(e, "uid") == 0);
	CHECK(e && xpc_dictionary_get_int64(e, "time") > 1600000000LL * 1000000000LL);
	CHECK(e && !strcmp(xpc_dictionary_get_string(e, "text"), "ok"));
	e = wait_event(&all, &i, "launch", NAME, 10);
	CHECK(e && xpc_dictionary_get_int64(e, "pid") == pid);
	kill((pid_t)pid, SIGKILL);
	e = wait_event(&all, &i, "exit", NAME, 10);
	CHECK(e && xpc_dictionary_get_int64(e, "pid") == pid && xpc_dictionary_get_int64(e, "status") == SIGKILL);
	CHECK(request("print", "label", "no.such.job", "no job with that label"));
	/* the filtered monitor saw nothing of NAME, then OTHER's lookup */
	CHECK(use_service(OTHER) > 0);
	e = wait_event(&only, &j, "lookup", NULL, 10);
	CHECK(e && !strcmp(xpc_dictionary_get_string(e, "name"), OTHER));
	for (size_t k = 0; k < seen_count(&only); k++) {
		xpc_object_t o = seen_get(&only, k);
		const char *l = xpc_dictionary_get_string(o, "label"), *n = xpc_dictionary_get_string(o, "name");
		CHECK((l && !strcmp(l, OTHER)) || (n && !strcmp(n, OTHER)));
	}
	monitor_close(m, &all);
	monitor_close(f, &only);
}

static const char *self; /* argv[0]: the children run it again as nobody */

/* Runs this test as nobody with @mode and two descriptor numbers. */
static pid_t spawn_child(const char *mode, int a, int b)
{
	char sa[16], sb[16];
	char *argv[] = {(char *)self, (char *)mode, sa, sb, NULL};

	snprintf(sa, sizeof(sa), "%d", a);
	snprintf(sb, sizeof(sb), "%d", b);
	return harness_spawn_as(harness_unprivileged_user(0), argv);
}

/* nobody's side (a process of its own: dispatch does not survive fork):
 * subscribe, tell the parent, wait for it, look up OTHER, then check that
 * every event seen is its own.  Exit status: 0 ok. */
static int isolation_child(int ready_w, int done_r)
{
	Seen seen = {0};
	size_t i = 0;
	char c;
	xpc_connection_t m;
	xpc_object_t e;
	int bad = 0;

	m = monitor(&seen, NULL, NULL);
	if (!m)
		return 10;
	if (write(ready_w, "r", 1) != 1 || read(done_r, &c, 1) != 1)
		return 11;
	(void)use_service(OTHER); /* its own lookup: the broker's answer matters not */
	e = wait_event(&seen, &i, "lookup", OTHER, 10);
	if (!e || xpc_dictionary_get_int64(e, "uid") != (int64_t)getuid())
		bad = 12;
	for (size_t k = 0; k < seen_count(&seen); k++) {
		xpc_object_t o = seen_get(&seen, k);
		if (xpc_dictionary_get_int64(o, "uid") != (int64_t)getuid()) {
			char *d = xpc_copy_description(o);
			fprintf(stderr, "nobody's monitor saw: %s\n", d);
			free(d);
			bad = 13;
		}
	}
	monitor_close(m, &seen);
	return bad;
}

static void scenario_isolation(void)
{
	int ready[2], done[2], status;
	Seen mine = {0};
	size_t i = 0;
	char c;
	pid_t child;
	xpc_connection_t m;
	int64_t pid;

	REQUIRE(pipe(ready) == 0 && pipe(done) == 0); /* inherited by the child */
	child = spawn_child("isolation-child", ready[1], done[0]);
	REQUIRE(child >= 0);
	close(ready[1]);
	close(done[0]);
	REQUIRE(read(ready[0], &c, 1) == 1);
	m = monitor(&mine, NAME, NULL);
	REQUIRE(m);
	pid = use_service(NAME); /* root's lookup, the launch, then the exit */
	CHECK(pid > 0);
	CHECK(wait_event(&mine, &i, "launch", NAME, 10));
	kill((pid_t)pid, SIGKILL);
	CHECK(wait_event(&mine, &i, "exit", NAME, 10)); /* sent to every monitor by now */
	REQUIRE(write(done[1], "d", 1) == 1);
	status = harness_wait_pid(child, 30);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	monitor_close(m, &mine);
	close(ready[0]);
	close(done[1]);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void scenario_slow(void)
{
	Seen seen = {.gate = dispatch_semaphore_create(0)};
	size_t i = 0;
	xpc_connection_t m = monitor(&seen, NULL, NULL), b;
	xpc_object_t msg = xpc_dictionary_create(NULL, NULL, 0), e;
	double t0, slowest = 0;

	REQUIRE(m);
	b = broker_link();
	xpc_connection_set_event_handler(b, ^(xpc_object_t ev) { (void)ev; });
	xpc_connection_resume(b);
	xpc_dictionary_set_string(msg, "xpcd.op", "lookup");
	xpc_dictionary_set_string(msg, "name", "no.such.name");
	for (int k = 0; k < 3000; k++) {
		t0 = now_s();
		xpc_object_t r = xpc_connection_send_message_with_reply_sync(b, msg);
		CHECK(xpc_get_type(r) == XPC_TYPE_DICTIONARY);
		xpc_release(r);
		if (now_s() - t0 > slowest)
			slowest = now_s() - t0;
	}
	fprintf(stderr, "slowest lookup with a stuck monitor: %.1f ms\n", slowest * 1e3);
	CHECK(slowest < 2.0);
	/* let the monitor read: what it missed is counted */
	for (int k = 0; k < 100000; k++) /* released by monitor_close */
		dispatch_semaphore_signal(seen.gate);
	/* the count goes out before the next event that finds room */
	e = NULL;
	for (int k = 0; k < 200 && !e; k++) {
		CHECK(request("lookup", "name", "no.such.name", "unknown name"));
		e = wait_event(&seen, &i, "dropped", NULL, 0);
		i = 0;
		if (!e)
			usleep(50000);
	}
	CHECK(e && xpc_dictionary_get_int64(e, "count") > 0);
	if (e)
		fprintf(stderr, "dropped %lld of 3000, received %zu events before it\n",
			(long long)xpc_dictionary_get_int64(e, "count"), seen_count(&seen));
	xpc_release(msg);
	xpc_connection_cancel(b);
	xpc_release(b);
	monitor_close(m, &seen);
}

/* nobody's eight monitors, and a ninth refused.  Exit status: 0 ok. */
static int limit_child(void)
{
	Seen seen[9] = {{0}};
	xpc_connection_t m[9];
	const char *err = NULL;
	int bad = 0;

	for (int k = 0; k < 8; k++)
		if (!(m[k] = monitor(&seen[k], NULL, NULL)))
			bad = 20 + k;
	if (monitor(&seen[8], NULL, &err) || !err || !strstr(err, "limit exceeded: monitors"))
		bad = 30;
	free((char *)err);
	for (int k = 0; k < 8; k++)
		if (m[k]) {
			monitor_close(m[k], &seen[k]);
		}
	return bad;
}

static void scenario_limit(void)
{
	pid_t child = spawn_child("limit-child", -1, -1);
	int status;

	REQUIRE(child >= 0);
	status = harness_wait_pid(child, 30);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*run)(void);
	} scenarios[] = {
		{"events", scenario_events}, {"isolation", scenario_isolation},
		{"slow", scenario_slow}, {"limit", scenario_limit},
	};

	self = argv[0];
	if (argc == 4 && !strcmp(argv[1], "isolation-child"))
		return isolation_child(atoi(argv[2]), atoi(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "limit-child"))
		return limit_child();
	harness_warm_dispatch();
	harness_begin(90);
	for (size_t k = 0; k < sizeof(scenarios) / sizeof(scenarios[0]); k++) {
		if (argc < 2 || strcmp(argv[1], scenarios[k].name))
			continue;
		start();
		scenarios[k].run();
		broker_teardown();
		return harness_end();
	}
	fprintf(stderr, "usage: test-monitor events|isolation|slow|limit\n");
	return 2;
}
