/* SPDX-License-Identifier: MIT */
/*
 * test-process.c - connections across real processes (conn-helper):
 * - an endpoint forwarded A -> C -> B; B talks to A directly after C exited,
 *   and each side sees the other's pid from the kernel;
 * - a service killed with SIGKILL while requests are pending: each pending
 *   reply gets INVALID exactly once and the reason is "peer exited";
 * - XPC_TRACE=1 prints the frames on stderr, each line stamped as
 *   src/connection/trace.c promises: ISO 8601 UTC with microseconds (the
 *   helper runs with TZ 5 hours east of UTC, so a local time fails), then
 *   xpc[PID] with the helper's pid.
 */
#include "connection/connection.h"
#include "conn-common.h"
#include "harness.h"

#include <fcntl.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *helper;

/* Starts the helper with @args; @keep are descriptors it inherits. */
static pid_t spawn(char *const args[], const int *keep, int n_keep)
{
	pid_t pid = fork();

	REQUIRE(pid >= 0);
	if (pid == 0) {
		for (int i = 0; i < n_keep; i++)
			fcntl(keep[i], F_SETFD, 0);
		execv(helper, args);
		_exit(127);
	}
	return pid;
}

static void seqpair(int sv[2])
{
	REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
}

static void test_forward(void)
{
	xpc_connection_t l = conn_test_start_echo_listener(NULL);
	int ac[2], cb[2];
	char s1[16], s2[16], s3[16], s4[16];

	seqpair(ac);
	seqpair(cb);
	snprintf(s1, sizeof(s1), "%d", ac[1]);
	snprintf(s2, sizeof(s2), "%d", cb[0]);
	snprintf(s3, sizeof(s3), "%d", cb[1]);
	snprintf(s4, sizeof(s4), "%d", (int)getpid());
	char *cargs[] = {(char *)helper, "relay", s1, s2, NULL};
	char *bargs[] = {(char *)helper, "client", s3, s4, NULL};
	int ckeep[] = {ac[1], cb[0]}, bkeep[] = {cb[1]};
	pid_t c = spawn(cargs, ckeep, 2);
	pid_t b = spawn(bargs, bkeep, 1);
	close(ac[1]);
	close(cb[0]);
	close(cb[1]);

	xpc_connection_t link = connection_create_from_socket(ac[0], NULL);
	xpc_connection_set_event_handler(link, ^(xpc_object_t ev) {
		(void)ev;
	});
	xpc_connection_resume(link);
	conn_test_send_endpoint(link, l);

	int st = harness_wait_pid(c, 60);
	CHECK(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	st = harness_wait_pid(b, 60);
	if (!(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0))
		fprintf(stderr, "client status %d\n", st);
	CHECK(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	xpc_connection_cancel(link);
	xpc_release(link);
	xpc_connection_cancel(l);
	xpc_release(l);
}

static void test_kill(void)
{
	int sv[2];
	char s1[16];
	dispatch_semaphore_t got = dispatch_semaphore_create(0), answered = dispatch_semaphore_create(0);
	__block xpc_connection_t svc = NULL;
	__block atomic_int answers = 0, invalid = 0, other = 0;

	seqpair(sv);
	snprintf(s1, sizeof(s1), "%d", sv[1]);
	char *args[] = {(char *)helper, "serve", s1, NULL};
	int keep[] = {sv[1]};
	pid_t pid = spawn(args, keep, 1);
	close(sv[1]);
	xpc_connection_t link = connection_create_from_socket(sv[0], NULL);
	xpc_connection_set_event_handler(link, ^(xpc_object_t ev) {
		if (xpc_get_type(ev) == XPC_TYPE_DICTIONARY && !svc) {
			svc = xpc_dictionary_create_connection(ev, "endpoint");
			dispatch_semaphore_signal(got);
		}
	});
	xpc_connection_resume(link);
	REQUIRE(conn_test_wait(got, 30) && svc);
	xpc_connection_set_event_handler(svc, ^(xpc_object_t ev) {
		if (ev == XPC_ERROR_CONNECTION_INVALID)
			atomic_fetch_add(&invalid, 1);
		else
			atomic_fetch_add(&other, 1);
	});
	xpc_connection_resume(svc);
	xpc_object_t hold = xpc_dictionary_create(NULL, NULL, 0);
	xpc_dictionary_set_string(hold, "op", "hold");
	for (int i = 0; i < 8; i++)
		xpc_connection_send_message_with_reply(svc, hold, NULL, ^(xpc_object_t r) {
			CHECK(r == XPC_ERROR_CONNECTION_INVALID);
			atomic_fetch_add(&answers, 1);
			dispatch_semaphore_signal(answered);
		});
	xpc_object_t echo = xpc_dictionary_create(NULL, NULL, 0);
	xpc_dictionary_set_string(echo, "op", "pid");
	xpc_object_t r = xpc_connection_send_message_with_reply_sync(svc, echo);
	CHECK(xpc_get_type(r) == XPC_TYPE_DICTIONARY);
	CHECK_EQ_INT(xpc_connection_get_pid(svc), pid);
	xpc_release(r);
	kill(pid, SIGKILL);
	for (int i = 0; i < 8; i++)
		CHECK(conn_test_wait(answered, 30));
	for (int i = 0; i < 100 && atomic_load(&invalid) == 0; i++)
		usleep(10000);
	usleep(50000);
	CHECK_EQ_INT(atomic_load(&answers), 8);
	CHECK_EQ_INT(atomic_load(&invalid), 1);
	CHECK_EQ_INT(atomic_load(&other), 0);
	char *reason = xpc_connection_copy_invalidation_reason(svc);
	CHECK_STREQ(reason, "peer exited");
	free(reason);
	harness_wait_pid(pid, 30);
	xpc_release(hold);
	xpc_release(echo);
	xpc_release(svc);
	xpc_connection_cancel(link);
	xpc_release(link);
	dispatch_release(got);
	dispatch_release(answered);
}

/* One trace line: "YYYY-MM-DDTHH:MM:SS.uuuuuuZ xpc[PID] send|recv ...",
 * its time UTC within [@lo - 1, @hi + 1] and PID @pid. */
static bool trace_line_ok(const char *line, pid_t pid, time_t lo, time_t hi)
{
	static const char shape[] = "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
				    "\\.[0-9]{6}Z xpc\\[[1-9][0-9]*\\] (send|recv) ";
	struct tm tm = {0};
	regex_t re;
	int us, got_pid;
	bool ok;

	REQUIRE(regcomp(&re, shape, REG_EXTENDED | REG_NOSUB) == 0);
	ok = regexec(&re, line, 0, NULL, 0) == 0;
	regfree(&re);
	if (!ok || sscanf(line, "%d-%d-%dT%d:%d:%d.%dZ xpc[%d]", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
			  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &us, &got_pid) != 8)
		return false;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	time_t t = timegm(&tm);
	return got_pid == (int)pid && t >= lo - 1 && t <= hi + 1;
}

/* Every line of @buf is a stamped trace line of @pid; at least 4. */
static void check_trace_stamps(char *buf, pid_t pid, time_t lo, time_t hi)
{
	char *save = NULL;
	int lines = 0;

	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		lines++;
		if (!trace_line_ok(line, pid, lo, hi)) {
			fprintf(stderr, "bad trace line (pid %d, time %lld..%lld UTC): %s\n", (int)pid,
				(long long)lo, (long long)hi, line);
			CHECK(!"trace line stamped as trace.c says");
		}
	}
	CHECK(lines >= 4);
}

static void test_trace(void)
{
	int p[2];
	char buf[8192];
	size_t len = 0;
	ssize_t n;
	time_t lo = time(NULL);

	REQUIRE(pipe2(p, O_CLOEXEC) == 0);
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		dup2(p[1], 2);
		setenv("XPC_TRACE", "1", 1);
		setenv("TZ", "XPT-5", 1); /* local time 5 hours east of UTC */
		execl(helper, helper, "trace", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	while (len < sizeof(buf) - 1 && (n = read(p[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = 0;
	close(p[0]);
	int st = harness_wait_pid(pid, 30);
	CHECK(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK(strstr(buf, "send check-in") != NULL);
	CHECK(strstr(buf, "recv hello") != NULL);
	CHECK(strstr(buf, "send message id=") != NULL);
	CHECK(strstr(buf, "recv reply id=") != NULL);
	CHECK(strstr(buf, "<dictionary: 0x") != NULL);
	check_trace_stamps(buf, pid, lo, time(NULL));
}

int main(int argc, char **argv)
{
	(void)argc;
	helper = harness_sibling(argv[0], "conn-helper");
	harness_warm_dispatch();
	harness_begin(120);
	int base = harness_count_fds();
	test_forward();
	test_kill();
	test_trace();
	conn_test_settle_fds(base);
	return harness_end();
}
