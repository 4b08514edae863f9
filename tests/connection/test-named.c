/* SPDX-License-Identifier: MIT */
/*
 * test-named.c - named services against a stand-in broker that follows
 * docs/services.md (a listening SEQPACKET socket named by $XPCD_SOCKET,
 * answering "lookup" with an endpoint or an error):
 * - xpc_connection_create(name) looks up lazily, checks in, talks;
 * - the service's side going away gives INTERRUPTED (not INVALID), and the
 *   next send checks in again over the cached endpoint;
 * - an unknown name and a missing broker give INVALID with the reason;
 * - a listener for a name the process was not given is INVALID ("denied");
 * - xpc_main in a helper started with XPCD_LISTEN_* serves the name.
 */
#include "connection/connection.h"
#include "conn-common.h"
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static xpc_connection_t service;       /* the listener behind "test.service" */
static _Atomic(xpc_connection_t) service_peers[16]; /* set on a handler thread */
static atomic_int n_service_peers;

static void start_service(void)
{
	service = xpc_connection_create(NULL, NULL);
	xpc_connection_set_event_handler(service, ^(xpc_object_t ev) {
		if (xpc_get_type(ev) != XPC_TYPE_CONNECTION)
			return;
		int i = atomic_fetch_add(&n_service_peers, 1);
		if (i < 16)
			atomic_store(&service_peers[i], (xpc_connection_t)xpc_retain(ev));
		conn_test_serve_peer((xpc_connection_t)ev);
	});
	xpc_connection_resume(service);
}

static xpc_object_t op(const char *name)
{
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0);
	xpc_dictionary_set_string(m, "op", name);
	return m;
}

static xpc_connection_t named(const char *name, atomic_int *interrupted, atomic_int *invalid)
{
	xpc_connection_t c = xpc_connection_create(name, NULL);

	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) {
		if (ev == XPC_ERROR_CONNECTION_INTERRUPTED)
			atomic_fetch_add(interrupted, 1);
		else if (ev == XPC_ERROR_CONNECTION_INVALID)
			atomic_fetch_add(invalid, 1);
	});
	xpc_connection_resume(c);
	return c;
}

static void wait_for(atomic_int *v, int want)
{
	for (int i = 0; i < 1000 && atomic_load(v) < want; i++)
		usleep(10000);
}

static void test_lookup_and_interrupt(void)
{
	atomic_int interrupted = 0, invalid = 0;
	xpc_connection_t c = named("test.service", &interrupted, &invalid);
	xpc_object_t m = op("pid");

	CHECK_STREQ(xpc_connection_get_name(c), "test.service");
	xpc_object_t r = xpc_connection_send_message_with_reply_sync(c, m);
	CHECK(xpc_get_type(r) == XPC_TYPE_DICTIONARY);
	xpc_release(r);
	/* the service side goes away: INTERRUPTED, the connection stays */
	for (int i = 0; i < atomic_load(&n_service_peers) && i < 16; i++)
		if (atomic_load(&service_peers[i]))
			xpc_connection_cancel(atomic_load(&service_peers[i]));
	wait_for(&interrupted, 1);
	CHECK_EQ_INT(atomic_load(&interrupted), 1);
	CHECK_EQ_INT(atomic_load(&invalid), 0);
	r = xpc_connection_send_message_with_reply_sync(c, m);
	CHECK(xpc_get_type(r) == XPC_TYPE_DICTIONARY);
	xpc_release(r);
	CHECK(atomic_load(&n_service_peers) >= 2);
	xpc_connection_cancel(c);
	wait_for(&invalid, 1);
	CHECK_EQ_INT(atomic_load(&invalid), 1);
	xpc_release(m);
	xpc_release(c);
}

static void expect_invalid(const char *name, const char *reason_prefix)
{
	atomic_int interrupted = 0, invalid = 0;
	xpc_connection_t c = named(name, &interrupted, &invalid);
	xpc_object_t m = op("pid");
	xpc_object_t r = xpc_connection_send_message_with_reply_sync(c, m);

	CHECK(r == XPC_ERROR_CONNECTION_INVALID);
	wait_for(&invalid, 1);
	CHECK_EQ_INT(atomic_load(&invalid), 1);
	char *why = xpc_connection_copy_invalidation_reason(c);
	if (!why || strncmp(why, reason_prefix, strlen(reason_prefix)) != 0)
		fprintf(stderr, "reason '%s', wanted '%s...'\n", why ? why : "(null)", reason_prefix);
	CHECK(why && strncmp(why, reason_prefix, strlen(reason_prefix)) == 0);
	free(why);
	xpc_release(m);
	xpc_release(c);
}

static void test_denied_listener(void)
{
	__block atomic_int invalid = 0;
	xpc_connection_t l = xpc_connection_create_mach_service("not.mine", NULL, XPC_CONNECTION_MACH_SERVICE_LISTENER);

	xpc_connection_set_event_handler(l, ^(xpc_object_t ev) {
		if (ev == XPC_ERROR_CONNECTION_INVALID)
			atomic_fetch_add(&invalid, 1);
	});
	xpc_connection_resume(l);
	wait_for(&invalid, 1);
	CHECK_EQ_INT(atomic_load(&invalid), 1);
	char *why = xpc_connection_copy_invalidation_reason(l);
	CHECK_STREQ(why, "denied: name not vended to this process");
	free(why);
	xpc_release(l);
}

/* xpc_main in a helper that got R of "test.main" the way xpcd passes it. */
static void test_xpc_main(const char *helper)
{
	int r, w;
	REQUIRE(connection_listener_pair(&r, &w) == 0);
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		char buf[32];
		if (dup2(r, 3) < 0)
			_exit(126);
		snprintf(buf, sizeof(buf), "%d", (int)getpid());
		setenv("XPCD_LISTEN_PID", buf, 1);
		setenv("XPCD_LISTEN_FDS", "1", 1);
		setenv("XPCD_LISTEN_FDNAMES", "test.main", 1);
		execl(helper, helper, "main", (char *)NULL);
		_exit(127);
	}
	close(r);
	xpc_endpoint_t ep = endpoint_create_from_send_fd(w);
	close(w);
	xpc_connection_t c = xpc_connection_create_from_endpoint(ep);
	xpc_release(ep);
	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) {
		(void)ev;
	});
	xpc_connection_resume(c);
	xpc_object_t m = op("pid");
	xpc_object_t rep = xpc_connection_send_message_with_reply_sync(c, m);
	CHECK(xpc_get_type(rep) == XPC_TYPE_DICTIONARY);
	CHECK_EQ_INT(xpc_dictionary_get_int64(rep, "pid"), pid);
	xpc_release(rep);
	xpc_release(m);
	xpc_connection_cancel(c);
	xpc_release(c);
	kill(pid, SIGKILL);
	harness_wait_pid(pid, 30);
}

int main(int argc, char **argv)
{
	char path[108];

	(void)argc;
	const char *helper = harness_sibling(argv[0], "conn-helper");
	harness_warm_dispatch();
	harness_begin(120);
	int base = harness_count_fds();
	snprintf(path, sizeof(path), "/tmp/xpc-test-named-%d.sock", (int)getpid());
	setenv("XPCD_SOCKET", path, 1);
	start_service();
	dispatch_source_t broker = conn_test_broker_start(path, "test.service", service);

	test_lookup_and_interrupt();
	expect_invalid("no.such.service", "unknown name");
	test_denied_listener();
	test_xpc_main(helper);
	setenv("XPCD_SOCKET", "/nonexistent/xpcd.sock", 1);
	expect_invalid("test.service", "no broker at /nonexistent/xpcd.sock");

	conn_test_broker_stop(broker, path);
	for (int i = 0; i < atomic_load(&n_service_peers) && i < 16; i++)
		if (atomic_load(&service_peers[i]))
			xpc_release(atomic_load(&service_peers[i]));
	xpc_connection_cancel(service);
	xpc_release(service);
	conn_test_settle_fds(base);
	return harness_end();
}
