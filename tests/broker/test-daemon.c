/* SPDX-License-Identifier: MIT */
/*
 * test-daemon - xpcd as a daemon and its failures, with real processes.
 *
 *   test-daemon SCENARIO
 *
 *   failures       jobs that really fail (a missing program, a bad
 *                  WorkingDirectory, a UserName that does not exist):
 *                  `print` names the step (203/EXEC, 200/CHDIR, 217/USER)
 *                  and the log says it
 *   start-limit    a KeepAlive job that cannot start reaches the failed
 *                  state, a client waiting on its name gets an error, a
 *                  lookup says why, and kickstart clears it
 *   gone-client    a check-in whose client is gone does not relaunch a
 *                  job that cannot start
 *   rescan         SIGHUP and the reload operation: new files loaded,
 *                  gone ones unloaded, changed ones replaced; a missing
 *                  job directory reported
 *   notify         sd_notify: READY=1, RELOADING=1 on SIGHUP, STOPPING=1
 *                  on SIGTERM, to a NOTIFY_SOCKET of the test
 *   activation     socket activation: xpcd serves a listening socket the
 *                  test passes as LISTEN_FDS, and leaves its file
 *   output         a job's output reaches the log labelled with its label
 *   send-timeout   xpcctl send --timeout gives up on a service that never
 *                  answers; --no-reply returns at once
 *
 * Programs from the environment (set by meson): XPCD, ECHO_SERVICE, XPCCTL.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
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
#include "connection/connection.h"
#include "harness.h"
#include "shared/xpcd-protocol.h"

static const char *echo_path;

/* A job file: @label running @program (with @arg, may be NULL), the
 * MachServices name @name (may be NULL), and @extra keys. */
static void write_job(const char *label, const char *program, const char *arg, const char *name, const char *extra)
{
	char file[300], xml[4096], args[1024], names[512] = "";

	snprintf(file, sizeof(file), "%s.plist", label);
	snprintf(args, sizeof(args), "<string>%s</string>%s%s%s", program, arg ? "<string>" : "", arg ? arg : "",
		 arg ? "</string>" : "");
	if (name)
		snprintf(names, sizeof(names), "<key>MachServices</key><dict><key>%s</key><true/></dict>\n", name);
	snprintf(xml, sizeof(xml),
		 "<key>Label</key><string>%s</string>\n"
		 "<key>ProgramArguments</key><array>%s</array>\n%s%s",
		 label, args, names, extra ? extra : "");
	broker_write_job_file(file, xml);
}

/* A broker request: its reply dictionary (+1), or NULL. */
static xpc_object_t request(const char *op, const char *label)
{
	xpc_object_t r = broker_call(op, label);

	if (xpc_get_type(r) != XPC_TYPE_DICTIONARY) {
		xpc_release(r);
		return NULL;
	}
	return r;
}

/* A string of @label's print entry, copied ("" when absent). */
static char *job_string(const char *label, const char *key)
{
	xpc_object_t r = request(XPCD_OP_PRINT, label);
	xpc_object_t job = r ? xpc_dictionary_get_dictionary(r, XPCD_KEY_JOB) : NULL;
	const char *v = job ? xpc_dictionary_get_string(job, key) : NULL;
	char *s = strdup(v ? v : "");

	if (r)
		xpc_release(r);
	return s;
}

static uint64_t job_runs(const char *label)
{
	xpc_object_t r = request(XPCD_OP_PRINT, label);
	xpc_object_t job = r ? xpc_dictionary_get_dictionary(r, XPCD_KEY_JOB) : NULL;
	uint64_t n = job ? xpc_dictionary_get_uint64(job, XPCD_JOB_RUNS) : 0;

	if (r)
		xpc_release(r);
	return n;
}

/* Waits up to @ms until @label's entry has @key equal to @want. */
static bool wait_job_string(const char *label, const char *key, const char *want, unsigned ms)
{
	for (unsigned i = 0; i < ms / 50; i++) {
		char *v = job_string(label, key);
		bool ok = !strcmp(v, want);
		free(v);
		if (ok)
			return true;
		usleep(50000);
	}
	return false;
}

static bool wait_log(const char *text, unsigned ms)
{
	for (unsigned i = 0; i < ms / 50; i++) {
		if (broker_log_has(text))
			return true;
		usleep(50000);
	}
	return false;
}

/* ---- scenarios ---------------------------------------------------------------- */

static void scenario_failures(void)
{
	char extra[512];

	write_job("t.noprog", "/nonexistent/program", NULL, NULL,
		  "<key>RunAtLoad</key><true/><key>ThrottleInterval</key><integer>30</integer>\n");
	snprintf(extra, sizeof(extra),
		 "<key>RunAtLoad</key><true/><key>ThrottleInterval</key><integer>30</integer>\n"
		 "<key>WorkingDirectory</key><string>%s/no-such-dir</string>\n", broker_dir);
	write_job("t.nodir", "/bin/true", NULL, NULL, extra);
	write_job("t.nouser", "/bin/true", NULL, NULL,
		  "<key>RunAtLoad</key><true/><key>ThrottleInterval</key><integer>30</integer>\n"
		  "<key>UserName</key><string>xpcd-no-such-user</string>\n");
	broker_start(NULL, 0);
	CHECK(wait_job_string("t.noprog", XPCD_JOB_LAST_FAILURE, "203/EXEC", 10000));
	CHECK(wait_job_string("t.nodir", XPCD_JOB_LAST_FAILURE, "200/CHDIR", 10000));
	if (geteuid() == 0) /* UserName means something to a root broker only */
		CHECK(wait_job_string("t.nouser", XPCD_JOB_LAST_FAILURE, "217/USER", 10000));
	CHECK(wait_log("t.noprog: start failed at 203/EXEC: No such file or directory (errno 2)", 5000));
	CHECK(wait_log("t.nodir: start failed at 200/CHDIR: No such file or directory (errno 2)", 5000));
	if (geteuid() == 0)
		CHECK(wait_log("t.nouser: start failed at 217/USER", 5000));
}

static void scenario_start_limit(void)
{
	char prog[300];
	xpc_connection_t c;
	xpc_object_t msg, r;
	char *why;

	snprintf(prog, sizeof(prog), "%s/prog", broker_dir);
	write_job("t.limit", prog, "30", "org.xpc.test.limit", "<key>ThrottleInterval</key><integer>0</integer>\n");
	broker_start(NULL, 0);
	/* a client waits on the name: the job fails to start, 5 times, then
	 * is failed, and the client's request ends with an error */
	c = xpc_connection_create_mach_service("org.xpc.test.limit", NULL, 0);
	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) { (void)ev; });
	xpc_connection_resume(c);
	msg = xpc_dictionary_create(NULL, NULL, 0);
	r = xpc_connection_send_message_with_reply_sync(c, msg);
	CHECK(xpc_get_type(r) == XPC_TYPE_ERROR);
	xpc_release(r);
	CHECK(wait_job_string("t.limit", XPCD_JOB_STATE, "failed", 10000));
	CHECK(broker_log_has("t.limit: 5 failed starts within 60 s (last: 203/EXEC): failed"));
	/* a new request: the lookup says why */
	r = xpc_connection_send_message_with_reply_sync(c, msg);
	CHECK(xpc_get_type(r) == XPC_TYPE_ERROR);
	xpc_release(r);
	why = xpc_connection_copy_invalidation_reason(c);
	CHECK(why && strstr(why, "start limit reached"));
	free(why);
	xpc_connection_cancel(c);
	xpc_release(c);
	xpc_release(msg);
	/* fixed, and kickstart clears the failed state */
	REQUIRE(symlink("/bin/sleep", prog) == 0);
	r = request(XPCD_OP_KICKSTART, "t.limit");
	CHECK(r && xpc_dictionary_get_bool(r, XPCD_KEY_OK) && xpc_dictionary_get_int64(r, XPCD_KEY_PID) > 0);
	if (r)
		xpc_release(r);
	CHECK(wait_job_string("t.limit", XPCD_JOB_STATE, "running", 5000));
	CHECK(wait_log("t.limit: failed state cleared by kickstart", 2000));
}

static void scenario_gone_client(void)
{
	pid_t client;
	uint64_t runs;

	write_job("t.gone", "/nonexistent/program", NULL, "org.xpc.test.gone",
		  "<key>ThrottleInterval</key><integer>1</integer>\n");
	broker_start(NULL, 0);
	client = fork();
	REQUIRE(client >= 0);
	if (client == 0) { /* checks in, waits (a program of its own: no libxpc after fork) */
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
		dup2(null, 2);
		execl(getenv("XPCCTL"), "xpcctl", "send", "--timeout", "600", "org.xpc.test.gone", "{}", (char *)NULL);
		_exit(127);
	}
	CHECK(wait_log("t.gone: start failed at 203/EXEC", 10000));
	kill(client, SIGKILL);
	harness_wait_pid(client, 10);
	sleep(3); /* a relaunch already scheduled may still come */
	runs = job_runs("t.gone");
	sleep(3); /* three throttle intervals: no relaunch for a client that is gone */
	CHECK_EQ_INT(job_runs("t.gone"), runs);
	CHECK(runs < 5);
	char *state = job_string("t.gone", XPCD_JOB_STATE);
	CHECK_STREQ(state, "waiting");
	free(state);
}

static void scenario_rescan(void)
{
	const char *extra[] = {"--jobs", "/nonexistent/xpcd-jobs", NULL};
	char path[400];
	xpc_object_t r;

	write_job("t.a", "/bin/sleep", "30", "org.xpc.test.a", NULL);
	write_job("t.b", "/bin/sleep", "30", "org.xpc.test.b", NULL);
	broker_start(extra, 0);
	CHECK(broker_log_has("job directory /nonexistent/xpcd-jobs: No such file or directory"));
	/* SIGHUP: t.c appears, t.a goes */
	write_job("t.c", "/bin/sleep", "30", "org.xpc.test.c", NULL);
	snprintf(path, sizeof(path), "%s/jobs/t.a.plist", broker_dir);
	REQUIRE(unlink(path) == 0);
	kill(broker_pid, SIGHUP);
	CHECK(wait_log("rescanned: 1 loaded, 1 unloaded, 0 changed", 5000));
	r = request(XPCD_OP_PRINT, "t.c");
	CHECK(r && xpc_dictionary_get_bool(r, XPCD_KEY_OK));
	if (r)
		xpc_release(r);
	r = request(XPCD_OP_PRINT, "t.a");
	CHECK(r && xpc_dictionary_get_string(r, XPCD_KEY_ERROR));
	if (r)
		xpc_release(r);
	/* the reload operation: t.b changed (its arguments) */
	sleep(1); /* a new mtime on any file system */
	write_job("t.b", "/bin/sleep", "31", "org.xpc.test.b", NULL);
	r = request(XPCD_OP_RELOAD, NULL);
	CHECK(r && xpc_dictionary_get_uint64(r, XPCD_KEY_CHANGED) == 1 && xpc_dictionary_get_uint64(r, XPCD_KEY_LOADED) == 0);
	if (r)
		xpc_release(r);
	CHECK(wait_log("t.b.plist: loaded again (the file changed)", 5000));
	r = request(XPCD_OP_PRINT, "t.b");
	xpc_object_t args = r ? xpc_dictionary_get_array(xpc_dictionary_get_dictionary(r, XPCD_KEY_JOB), XPCD_JOB_ARGUMENTS) : NULL;
	CHECK(args && !strcmp(xpc_array_get_string(args, 1), "31"));
	if (r)
		xpc_release(r);
}

/* The next datagram on @fd within 5 s, into @buf. */
static bool notify_recv(int fd, char *buf, size_t len)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	ssize_t n;

	if (poll(&p, 1, 5000) != 1)
		return false;
	n = recv(fd, buf, len - 1, 0);
	if (n < 0)
		return false;
	buf[n] = '\0';
	return true;
}

static void scenario_notify(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	char buf[256];

	REQUIRE(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify", broker_dir);
	REQUIRE(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	setenv("NOTIFY_SOCKET", sa.sun_path, 1);
	broker_spawn(NULL, 0);
	unsetenv("NOTIFY_SOCKET");
	CHECK(notify_recv(fd, buf, sizeof(buf)) && !strcmp(buf, "READY=1"));
	CHECK(broker_wait_socket(broker_sock, 1000)); /* ready means listening */
	kill(broker_pid, SIGHUP);
	CHECK(notify_recv(fd, buf, sizeof(buf)) && !strcmp(buf, "RELOADING=1"));
	CHECK(notify_recv(fd, buf, sizeof(buf)) && !strcmp(buf, "READY=1"));
	kill(broker_pid, SIGTERM);
	CHECK(notify_recv(fd, buf, sizeof(buf)) && !strcmp(buf, "STOPPING=1"));
	harness_wait_pid(broker_pid, 10);
	broker_pid = 0;
	close(fd);
}

static void scenario_activation(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char jobs[300], log[300];
	struct stat st;
	int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0); /* inherited: no close-on-exec */
	xpc_object_t r;

	REQUIRE(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/activated.sock", broker_dir);
	REQUIRE(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(fd, 16) == 0);
	snprintf(broker_sock, sizeof(broker_sock), "%s", sa.sun_path);
	setenv("XPCD_SOCKET", broker_sock, 1);
	snprintf(jobs, sizeof(jobs), "%s/jobs", broker_dir);
	snprintf(log, sizeof(log), "%s/xpcd.log", broker_dir);
	write_job("t.act", "/bin/sleep", "30", "org.xpc.test.act", NULL);
	broker_pid = fork();
	REQUIRE(broker_pid >= 0);
	if (broker_pid == 0) { /* as systemd does: the socket at 3, LISTEN_PID ours */
		char pid[32];
		int out = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		dup2(out, 1);
		dup2(out, 2);
		if (fd != 3 && (dup2(fd, 3) < 0 || close(fd) < 0))
			_exit(126);
		snprintf(pid, sizeof(pid), "%d", (int)getpid());
		setenv("LISTEN_PID", pid, 1);
		setenv("LISTEN_FDS", "1", 1);
		execl(getenv("XPCD"), "xpcd", "--jobs", jobs, (char *)NULL);
		_exit(127);
	}
	close(fd);
	CHECK(wait_log("(passed by systemd)", 5000));
	r = request(XPCD_OP_PRINT, "t.act");
	CHECK(r && xpc_dictionary_get_bool(r, XPCD_KEY_OK));
	if (r)
		xpc_release(r);
	kill(broker_pid, SIGTERM);
	harness_wait_pid(broker_pid, 10);
	broker_pid = 0;
	CHECK(lstat(broker_sock, &st) == 0 && S_ISSOCK(st.st_mode)); /* systemd's file stays */
}

static void scenario_output(void)
{
	broker_write_job_file("t.talk.plist",
			      "<key>Label</key><string>t.talk</string>\n"
			      "<key>ProgramArguments</key><array><string>/bin/sh</string><string>-c</string>"
			      "<string>echo hello from the job; echo to stderr 1&gt;&amp;2</string></array>\n"
			      "<key>RunAtLoad</key><true/>\n");
	broker_start(NULL, 0);
	CHECK(wait_log("]: hello from the job", 5000));
	CHECK(wait_log("]: to stderr", 5000));
	CHECK(broker_log_has("t.talk["));
}

static void scenario_send_timeout(void)
{
	const char *slow[] = {"xpcctl", "send", "--timeout", "1", "org.xpc.test.mute", "{}", NULL};
	const char *oneway[] = {"xpcctl", "send", "--no-reply", "org.xpc.test.mute", "{}", NULL};
	char err[512];
	struct timespec t0, t1;

	/* a job that holds its name and never answers */
	write_job("t.mute", "/bin/sleep", "30", "org.xpc.test.mute", "<key>RunAtLoad</key><true/>\n");
	broker_start(NULL, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_EQ_INT(broker_run_xpcctl(err, sizeof(err), slow), 3);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK(strstr(err, "no reply within 1 s"));
	CHECK(t1.tv_sec - t0.tv_sec < 10);
	CHECK_EQ_INT(broker_run_xpcctl(err, sizeof(err), oneway), 0);
}

int main(int argc, char **argv)
{
	static const BrokerScenario scenarios[] = {
		{"failures", scenario_failures},   {"start-limit", scenario_start_limit},
		{"gone-client", scenario_gone_client}, {"rescan", scenario_rescan},
		{"notify", scenario_notify},       {"activation", scenario_activation},
		{"output", scenario_output},       {"send-timeout", scenario_send_timeout},
		{NULL, NULL},
	};

	echo_path = getenv("ECHO_SERVICE");
	REQUIRE(argc == 2 && getenv("XPCD") && echo_path && getenv("XPCCTL"));
	return broker_run_scenario(argv[1], scenarios, 60);
}
