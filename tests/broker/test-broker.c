/* SPDX-License-Identifier: MIT */
/*
 * test-broker - real processes against a private xpcd.
 *
 *   test-broker SCENARIO
 *
 * Each scenario starts `xpcd --socket DIR/xpcd.sock --jobs DIR/jobs` with
 * the echo-service job(s) it needs (broker-common.c), talks to it with the
 * public XPC API, and at the end kills the broker and every job it started
 * (their pids come from the broker's state file), so nothing is left
 * behind.  The programs' paths come from the environment (XPCD,
 * ECHO_SERVICE), set by meson.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xpc/xpc.h>

#include "broker-common.h"
#include "connection/connection.h"
#include "harness.h"
#include "shared/xpcd-protocol.h"

#define NAME "org.xpc.test.echo"

static const char *echo_path;

static void write_job(const char *label, const char *name, const char *extra)
{
	char file[300], xml[2048];

	snprintf(file, sizeof(file), "%s.plist", label);
	snprintf(xml, sizeof(xml),
		 "<key>Label</key><string>%s</string>\n"
		 "<key>ProgramArguments</key><array><string>%s</string><string>%s</string></array>\n"
		 "<key>MachServices</key><dict><key>%s</key><true/></dict>\n"
		 "<key>ThrottleInterval</key><integer>1</integer>\n%s",
		 label, echo_path, name, name, extra ? extra : "");
	broker_write_job_file(file, xml);
}

static void spawn_broker(void)
{
	broker_spawn(NULL, 0);
}

static void start_broker(void)
{
	broker_start(NULL, 0);
}

static void stop_broker(void)
{
	broker_stop();
}

/* ---- helpers ---------------------------------------------------------------- */

static xpc_connection_t connect_named(const char *name, xpc_object_t *last_error)
{
	xpc_connection_t c = xpc_connection_create_mach_service(name, NULL, 0);

	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) {
		if (last_error && xpc_get_type(ev) == XPC_TYPE_ERROR)
			*last_error = ev;
	});
	xpc_connection_resume(c);
	return c;
}

static xpc_object_t echo(xpc_connection_t c, const char *op, int64_t value)
{
	xpc_object_t msg = xpc_dictionary_create(NULL, NULL, 0);
	xpc_object_t reply;

	xpc_dictionary_set_string(msg, "op", op);
	xpc_dictionary_set_int64(msg, "value", value);
	reply = xpc_connection_send_message_with_reply_sync(c, msg);
	xpc_release(msg);
	return reply;
}

static int64_t echo_pid(xpc_connection_t c, int64_t value)
{
	xpc_object_t r = echo(c, "echo", value);
	int64_t pid = -1;

	if (xpc_get_type(r) == XPC_TYPE_DICTIONARY && xpc_dictionary_get_int64(r, "value") == value)
		pid = xpc_dictionary_get_int64(r, XPCD_KEY_PID);
	xpc_release(r);
	return pid;
}

/* echo_pid() through a service that exits on its own: a request that
 * reaches the instance as it exits gets INTERRUPTED (the connection stays
 * usable, as on macOS), so it is sent again, up to @tries times. */
static int64_t echo_pid_resending(xpc_connection_t c, int64_t value, int tries)
{
	for (int i = 0; i < tries; i++) {
		xpc_object_t r = echo(c, "echo", value);
		int64_t pid = -1;
		bool interrupted = r == XPC_ERROR_CONNECTION_INTERRUPTED;

		if (xpc_get_type(r) == XPC_TYPE_DICTIONARY && xpc_dictionary_get_int64(r, "value") == value)
			pid = xpc_dictionary_get_int64(r, XPCD_KEY_PID);
		xpc_release(r);
		if (!interrupted)
			return pid;
	}
	return -1;
}

static void close_conn(xpc_connection_t c)
{
	xpc_connection_cancel(c);
	xpc_release(c);
}

/* A control request (as xpcctl sends it) on @label; true if the broker
 * answered ok. */
static bool broker_request(const char *op, const char *label)
{
	xpc_object_t r = broker_call(op, label);
	bool ok = xpc_get_type(r) == XPC_TYPE_DICTIONARY && xpc_dictionary_get_bool(r, XPCD_KEY_OK);

	xpc_release(r);
	return ok;
}

/* A new named connection's first request fails with INVALID; true if the
 * reason contains @why. */
static bool named_fails_with(const char *name, const char *why)
{
	xpc_connection_t c = connect_named(name, NULL);
	xpc_object_t r = echo(c, "echo", 1);
	char *reason = xpc_connection_copy_invalidation_reason(c);
	bool ok = r == XPC_ERROR_CONNECTION_INVALID && reason && strstr(reason, why);

	if (!ok) {
		char *d = xpc_copy_description(r);
		fprintf(stderr, "expected INVALID \"%s\", got %s (%s)\n", why, d, reason ? reason : "no reason");
		free(d);
	}
	xpc_release(r);
	free(reason);
	close_conn(c);
	return ok;
}

/* ---- scenarios ---------------------------------------------------------------- */

/* The first message launches the service; its reply comes from that process. */
static void scenario_on_demand(void)
{
	write_job("echo", NAME, NULL);
	start_broker();
	xpc_connection_t c = connect_named(NAME, NULL);
	int64_t pid = echo_pid(c, 42);
	CHECK(pid > 0);
	CHECK(pid != getpid());
	CHECK_EQ_INT(echo_pid(c, 43), pid); /* same instance serves on */
	close_conn(c);
}

/* Many clients check in at once, before the service exists: all are served. */
static void scenario_queued_checkins(void)
{
	enum { N = 8 };
	xpc_connection_t c[N];
	__block int answered = 0;
	dispatch_semaphore_t done = dispatch_semaphore_create(0);

	write_job("echo", NAME, NULL);
	start_broker();
	for (int i = 0; i < N; i++)
		c[i] = connect_named(NAME, NULL);
	for (int i = 0; i < N; i++) {
		xpc_object_t msg = xpc_dictionary_create(NULL, NULL, 0);
		xpc_dictionary_set_string(msg, "op", "echo");
		xpc_dictionary_set_int64(msg, "value", i);
		xpc_connection_send_message_with_reply(c[i], msg, NULL, ^(xpc_object_t r) {
			if (xpc_get_type(r) == XPC_TYPE_DICTIONARY && xpc_dictionary_get_int64(r, "value") == i)
				__atomic_add_fetch(&answered, 1, __ATOMIC_SEQ_CST);
			dispatch_semaphore_signal(done);
		});
		xpc_release(msg);
	}
	for (int i = 0; i < N; i++)
		CHECK(dispatch_semaphore_wait(done, dispatch_time(DISPATCH_TIME_NOW, 20 * NSEC_PER_SEC)) == 0);
	CHECK_EQ_INT(answered, N);
	for (int i = 0; i < N; i++)
		close_conn(c[i]);
	dispatch_release(done);
}

/* An unknown name: INVALID, and the reason says so. */
static void scenario_unknown_name(void)
{
	start_broker();
	xpc_connection_t c = connect_named("org.xpc.test.nobody", NULL);
	xpc_object_t r = echo(c, "echo", 1);
	CHECK(r == XPC_ERROR_CONNECTION_INVALID);
	xpc_release(r);
	char *why = xpc_connection_copy_invalidation_reason(c);
	CHECK(why && strstr(why, "unknown name"));
	free(why);
	close_conn(c);
}

/* A process the broker did not start cannot serve a name, even a real one. */
static void scenario_squatter(void)
{
	int pipefd[2];
	char out[256] = {0};

	write_job("echo", NAME, NULL);
	start_broker();
	REQUIRE(pipe2(pipefd, O_CLOEXEC) == 0);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(pipefd[1], 1);
		execl(echo_path, "echo-service", NAME, "squat", (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	ssize_t n = read(pipefd[0], out, sizeof(out) - 1);
	close(pipefd[0]);
	CHECK(n > 0 && strncmp(out, "invalid", 7) == 0);
	harness_wait_pid(pid, 10);
	/* and the real service still works */
	xpc_connection_t c = connect_named(NAME, NULL);
	CHECK(echo_pid(c, 7) > 0);
	close_conn(c);
}

/* The service crashes with a request pending: INTERRUPTED, the connection
 * stays usable, and the next message relaunches the service. */
static void scenario_crash(void)
{
	write_job("echo", NAME, NULL);
	start_broker();
	/* no error pointer: the handler runs once more (INVALID) after this
	 * function returned */
	xpc_connection_t c = connect_named(NAME, NULL);
	int64_t pid1 = echo_pid(c, 1);
	CHECK(pid1 > 0);
	xpc_object_t r = echo(c, "crash", 2);
	CHECK(r == XPC_ERROR_CONNECTION_INTERRUPTED);
	xpc_release(r);
	int64_t pid2 = echo_pid(c, 3);
	CHECK(pid2 > 0);
	CHECK(pid2 != pid1);
	close_conn(c);
}

/* The broker dies during traffic: the established link loses nothing. */
static void scenario_broker_killed(void)
{
	write_job("echo", NAME, NULL);
	start_broker();
	xpc_connection_t c = connect_named(NAME, NULL);
	int64_t pid = echo_pid(c, 0);
	CHECK(pid > 0);
	kill(broker_pid, SIGKILL);
	harness_wait_pid(broker_pid, 10);
	broker_pid = 0;
	for (int i = 1; i <= 200; i++)
		if (echo_pid(c, i) != pid) {
			CHECK(!"message lost after the broker died");
			break;
		}
	close_conn(c);
}

/* The broker restarts while its job runs: the new broker adopts the running
 * instance instead of starting a second one; the old client's link keeps
 * working; a new client's check-in replaces the orphan, and the two
 * instances never run at the same time. */
static void scenario_restart(void)
{
	write_job("echo", NAME, NULL);
	start_broker();
	xpc_connection_t old = connect_named(NAME, NULL);
	int64_t pid1 = echo_pid(old, 1);
	CHECK(pid1 > 0);
	stop_broker();
	start_broker();
	CHECK_EQ_INT(echo_pid(old, 2), pid1); /* established link unaffected */
	xpc_connection_t c = connect_named(NAME, NULL);
	int64_t pid2 = echo_pid(c, 3);
	CHECK(pid2 > 0);
	if (pid2 <= 0) {
		char *why = xpc_connection_copy_invalidation_reason(c);
		fprintf(stderr, "new client after the restart: %s\n", why ? why : "(no reason: interrupted?)");
		free(why);
	}
	CHECK(pid2 != pid1);
	CHECK(!harness_proc_alive((pid_t)pid1)); /* the orphan is gone */
	close_conn(c);
	close_conn(old);
}

/* The pid of a child of @parent, or 0. */
static pid_t child_of(pid_t parent)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	pid_t found = 0;

	if (!d)
		return 0;
	while (!found && (e = readdir(d)))
		if (e->d_name[0] >= '1' && e->d_name[0] <= '9' && harness_proc_parent(atoi(e->d_name)) == parent)
			found = atoi(e->d_name);
	closedir(d);
	return found;
}

/* The broker is killed between the fork of a job and its record of the
 * new process (the state file a restarted broker adopts from): the child
 * must not have run the job's program by then, or it would serve clients
 * as an instance no broker knows, beside the one the next broker starts.
 * The broker runs with stop-after-fork.so, which stops it right after
 * fork() returns in the parent. */
static void scenario_launch_killed(void)
{
	__block volatile int replied = 0;
	xpc_object_t msg = xpc_dictionary_create(NULL, NULL, 0);
	char buf[512];
	pid_t child = 0;

	write_job("echo", NAME, NULL);
	setenv("LD_PRELOAD", harness_sibling(getenv("ECHO_SERVICE"), "stop-after-fork.so"), 1);
	snprintf(buf, sizeof(buf), "%s%sverify_asan_link_order=0", getenv("ASAN_OPTIONS") ? getenv("ASAN_OPTIONS") : "",
		 getenv("ASAN_OPTIONS") ? ":" : "");
	setenv("ASAN_OPTIONS", buf, 1); /* the shim comes before the sanitizer's runtime */
	start_broker();
	unsetenv("LD_PRELOAD");
	xpc_connection_t c = connect_named(NAME, NULL);
	xpc_dictionary_set_string(msg, "op", "echo");
	xpc_dictionary_set_int64(msg, "value", 1);
	xpc_connection_send_message_with_reply(c, msg, dispatch_get_global_queue(0, 0), ^(xpc_object_t r) {
		if (xpc_get_type(r) == XPC_TYPE_DICTIONARY)
			replied = 1;
	});
	xpc_release(msg);
	for (int i = 0; i < 2000; i++) { /* stopped in the shim, right after fork */
		const char *st = harness_proc_stat(broker_pid, buf, sizeof(buf));
		if (st && st[0] == 'T' && (child = child_of(broker_pid)))
			break;
		usleep(10000);
	}
	REQUIRE(child > 0);
	sleep(2); /* the request is queued for the job: it would be answered by now */
	CHECK(!replied);
	kill(broker_pid, SIGKILL);
	harness_wait_pid(broker_pid, 10);
	broker_pid = 0;
	for (int i = 0; i < 1000 && harness_proc_alive(child); i++)
		usleep(10000);
	CHECK(!harness_proc_alive(child)); /* it ended with its broker */
	close_conn(c);
	start_broker();
	c = connect_named(NAME, NULL);
	int64_t pid = echo_pid(c, 2);
	CHECK(pid > 0 && pid != child);
	close_conn(c);
}

/* XPCDAllowedUIDs/XPCDAllowedGroups: a client not admitted gets INVALID with
 * the reason "denied" (distinct from "unknown name"); one admitted through
 * its group is served. */
static void scenario_denied(void)
{
	char extra[256];

	snprintf(extra, sizeof(extra),
		"<key>XPCDAllowedUIDs</key><array><integer>%u</integer></array>\n", (unsigned)getuid() + 1);
	write_job("echo", NAME, extra);
	snprintf(extra, sizeof(extra),
		"<key>XPCDAllowedUIDs</key><array><integer>%u</integer></array>\n"
		"<key>XPCDAllowedGroups</key><array><integer>%u</integer></array>\n",
		(unsigned)getuid() + 1, (unsigned)getegid());
	write_job("bygroup", NAME ".bygroup", extra);
	start_broker();

	xpc_connection_t c = connect_named(NAME, NULL);
	xpc_object_t r = echo(c, "echo", 1);
	CHECK(r == XPC_ERROR_CONNECTION_INVALID);
	xpc_release(r);
	char *why = xpc_connection_copy_invalidation_reason(c);
	CHECK(why && strstr(why, "denied"));
	CHECK(!why || !strstr(why, "unknown name"));
	free(why);
	close_conn(c);

	c = connect_named(NAME ".bygroup", NULL);
	CHECK(echo_pid(c, 2) > 0);
	close_conn(c);
}

/* EnvironmentVariables, WorkingDirectory, StandardOutPath and
 * StandardErrorPath reach the launched job. */
static void scenario_job_settings(void)
{
	char extra[1024], path[400], line[256];
	FILE *f;

	snprintf(extra, sizeof(extra),
		"<key>EnvironmentVariables</key><dict><key>XPC_TEST_VAR</key><string>forty-two</string></dict>\n"
		"<key>WorkingDirectory</key><string>%s/jobs</string>\n"
		"<key>StandardOutPath</key><string>%s/job.out</string>\n"
		"<key>StandardErrorPath</key><string>%s/job.err</string>\n"
		"<key>LimitLoadToSessionType</key><string>Aqua</string>\n", broker_dir, broker_dir, broker_dir);
	write_job("echo", NAME, extra);
	start_broker();
	xpc_connection_t c = connect_named(NAME, NULL);
	xpc_object_t r = echo(c, "env", 1);
	REQUIRE(xpc_get_type(r) == XPC_TYPE_DICTIONARY);
	const char *env = xpc_dictionary_get_string(r, "env");
	const char *cwd = xpc_dictionary_get_string(r, "cwd");
	CHECK(env && !strcmp(env, "forty-two"));
	snprintf(path, sizeof(path), "%s/jobs", broker_dir);
	CHECK(cwd && !strcmp(cwd, path));
	xpc_release(r);

	xpc_object_t msg = xpc_dictionary_create(NULL, NULL, 0);
	xpc_dictionary_set_string(msg, "op", "print");
	xpc_dictionary_set_string(msg, "text", "to the job's own files");
	r = xpc_connection_send_message_with_reply_sync(c, msg);
	CHECK(xpc_get_type(r) == XPC_TYPE_DICTIONARY);
	xpc_release(r);
	xpc_release(msg);
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/job.%s", broker_dir, i ? "err" : "out");
		f = fopen(path, "re");
		CHECK(f);
		if (!f)
			continue;
		CHECK(fgets(line, sizeof(line), f) && strstr(line, "to the job's own files"));
		fclose(f);
	}
	close_conn(c);
}

/* KeepAlive: a job that exits at once is relaunched, throttled to about one
 * launch per ThrottleInterval (1 s). */
static void scenario_keepalive(void)
{
	char path[400], line[512];
	int starts = 0;

	write_job("echo", NAME, "<key>KeepAlive</key><true/>\n");
	start_broker();
	/* make the instance exit repeatedly by asking it to */
	xpc_connection_t c = connect_named(NAME, NULL);
	for (int i = 0; i < 3; i++) {
		xpc_object_t msg = xpc_dictionary_create(NULL, NULL, 0);
		CHECK(echo_pid_resending(c, i, 5) > 0);
		xpc_dictionary_set_string(msg, "op", "exit");
		xpc_connection_send_message(c, msg);
		xpc_release(msg);
		usleep(300 * 1000);
	}
	sleep(2);
	close_conn(c);
	snprintf(path, sizeof(path), "%s/xpcd.log", broker_dir);
	FILE *f = fopen(path, "re");
	REQUIRE(f);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, ": started, pid"))
			starts++;
	fclose(f);
	CHECK(starts >= 3);
	CHECK(starts <= 6);
}

/* The inotify event that brought @name into the watched directory (0 if
 * none within 10 s). */
static uint32_t wait_for_name(int in, const char *name)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	struct pollfd p = {.fd = in, .events = POLLIN};

	while (poll(&p, 1, 10000) == 1) {
		ssize_t n = read(in, buf, sizeof(buf));
		for (ssize_t at = 0; n > 0 && at < n;) {
			const struct inotify_event *ev = (const void *)(buf + at);
			if (ev->len && !strcmp(ev->name, name))
				return ev->mask;
			at += (ssize_t)(sizeof(*ev) + ev->len);
		}
	}
	return 0;
}

/* The broker's socket file appears only once it listens (xpcd binds a
 * temporary name and renames it): it must arrive by a rename (IN_MOVED_TO;
 * created in place, it exists between bind() and listen(), when a connect
 * is refused and a client says "no broker"), and a connect at first sight
 * succeeds.  5 broker starts. */
static void scenario_socket_ready(void)
{
	for (int round = 0; round < 5; round++) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		int in = inotify_init1(IN_CLOEXEC), fd;

		REQUIRE(in >= 0 && inotify_add_watch(in, broker_dir, IN_CREATE | IN_MOVED_TO) >= 0);
		spawn_broker();
		CHECK(wait_for_name(in, "xpcd.sock") & IN_MOVED_TO);
		close(in);
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", broker_sock);
		fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		REQUIRE(fd >= 0);
		CHECK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
		close(fd);
		stop_broker();
	}
}

/* ---- the cache of looked-up channels (docs/services.md) ------------------------- */

/* Kills @pid and waits until every thread of it is gone, so its descriptors
 * are closed: its main thread shows as a zombie earlier, while the others
 * still exit (a pidfd polls readable only once all have). */
static void wait_all_threads_gone(pid_t pid)
{
#ifdef SYS_pidfd_open
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
#else
	int pidfd = -1;
#endif

	kill(pid, SIGKILL);
	if (pidfd >= 0) {
		struct pollfd p = {pidfd, POLLIN, 0};
		CHECK(poll(&p, 1, 10000) == 1);
		close(pidfd);
		return;
	}
	for (int i = 0; i < 1000 && harness_proc_alive(pid); i++)
		usleep(10000);
	usleep(200 * 1000); /* no pidfd: leave its other threads time to exit */
}

/* Unloading a job whose name this process looked up before: the next named
 * connection asks the broker again and gets "unknown name", at once (the
 * stopping instance still holds the channel). */
static void scenario_cached_unload(void)
{
	write_job("echo", NAME, "<key>ExitTimeOut</key><integer>1</integer>\n");
	start_broker();
	xpc_connection_t c = connect_named(NAME, NULL);
	CHECK(echo_pid(c, 1) > 0);
	close_conn(c);
	c = connect_named(NAME, NULL); /* from the cache */
	CHECK(echo_pid(c, 2) > 0);
	close_conn(c);
	CHECK(broker_request("unload", "echo"));
	CHECK(named_fails_with(NAME, "unknown name"));
	CHECK(named_fails_with(NAME, "unknown name")); /* errors are not cached */
}

/* disable/enable after a cached lookup: "disabled", then served again. */
static void scenario_cached_disable(void)
{
	write_job("echo", NAME, NULL);
	start_broker();
	xpc_connection_t c = connect_named(NAME, NULL);
	int64_t pid = echo_pid(c, 1);
	CHECK(pid > 0);
	close_conn(c);
	CHECK(broker_request("disable", "echo"));
	CHECK(named_fails_with(NAME, "disabled"));
	CHECK(broker_request("enable", "echo"));
	c = connect_named(NAME, NULL);
	CHECK_EQ_INT(echo_pid(c, 2), pid);
	close_conn(c);
}

/* 1000 named connections in a row: the same instance serves them, no
 * descriptor is left behind; once looked up, the name needs no broker while
 * its service runs; when both are gone the check-in over the cached channel
 * fails and the lookup's error is reported. */
static void scenario_cached_many(void)
{
	write_job("echo", NAME, NULL);
	start_broker();
	xpc_connection_t c = connect_named(NAME, NULL);
	int64_t pid = echo_pid(c, 0);
	CHECK(pid > 0);
	close_conn(c);
	usleep(200 * 1000); /* cancelled links close asynchronously */
	int fds = harness_count_fds();
	for (int i = 1; i <= 1000; i++) {
		c = connect_named(NAME, NULL);
		int64_t p = echo_pid(c, i);
		close_conn(c);
		if (p != pid) {
			CHECK_EQ_INT(p, pid);
			break;
		}
	}
	for (int i = 0; i < 500 && harness_count_fds() > fds; i++)
		usleep(10000);
	CHECK_EQ_INT(harness_count_fds(), fds);
	stop_broker();
	c = connect_named(NAME, NULL);
	CHECK_EQ_INT(echo_pid(c, 1001), pid); /* the broker is not needed */
	close_conn(c);
	wait_all_threads_gone((pid_t)pid);
	CHECK(named_fails_with(NAME, "no broker at"));
}

int main(int argc, char **argv)
{
	static const BrokerScenario scenarios[] = {
		{"on-demand", scenario_on_demand},         {"queued-checkins", scenario_queued_checkins},
		{"unknown-name", scenario_unknown_name},   {"squatter", scenario_squatter},
		{"crash", scenario_crash},                 {"broker-killed", scenario_broker_killed},
		{"keepalive", scenario_keepalive},         {"restart", scenario_restart},
		{"launch-killed", scenario_launch_killed},
		{"denied", scenario_denied},               {"job-settings", scenario_job_settings},
		{"cached-unload", scenario_cached_unload}, {"cached-disable", scenario_cached_disable},
		{"cached-many", scenario_cached_many},     {"socket-ready", scenario_socket_ready},
		{NULL, NULL},
	};

	echo_path = getenv("ECHO_SERVICE");
	REQUIRE(argc == 2 && getenv("XPCD") && echo_path);
	return broker_run_scenario(argv[1], scenarios, 60);
}
