/* SPDX-License-Identifier: MIT */
/*
 * test-audit.c - audit tokens (<xpc/private.h>, <bsm/libbsm.h>):
 * - a peer's token holds its pid, euid, egid, ruid, rgid, session id,
 *   login uid and start time (the pid version), read on a received message
 *   (xpc_dictionary_get_audit_token) and on the connection;
 * - another process (`test-audit peer FD MS`, exec'd) has its own pid and
 *   pid version; once it has exited its token's pid version is 0;
 * - as root, a process made to get the dead peer's pid again
 *   (/proc/sys/kernel/ns_last_pid) has the same pid and another pid
 *   version: the token tells them apart where the pid cannot;
 * - a listener, and a dictionary that was not received, give zero tokens.
 */
#include "harness.h"

#include <bsm/libbsm.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xpc/private.h>

#include "connection/connection.h"
#include "object/object.h"

/* What the service saw last, under `seen` (the next peer's message comes
 * through another process, which TSan cannot see order anything). */
static pthread_mutex_t seen = PTHREAD_MUTEX_INITIALIZER;
static audit_token_t got_msg, got_conn;
static xpc_connection_t last_peer;
static dispatch_semaphore_t got;

static audit_token_t last_token(void)
{
	audit_token_t t;

	pthread_mutex_lock(&seen);
	t = got_msg;
	pthread_mutex_unlock(&seen);
	return t;
}

static xpc_connection_t last_peer_retain(void)
{
	xpc_connection_t c;

	pthread_mutex_lock(&seen);
	c = xpc_retain(last_peer);
	pthread_mutex_unlock(&seen);
	return c;
}

static void serve(xpc_connection_t peer)
{
	xpc_connection_set_event_handler(peer, ^(xpc_object_t m) {
		if (xpc_get_type(m) != XPC_TYPE_DICTIONARY)
			return;
		pthread_mutex_lock(&seen);
		xpc_dictionary_get_audit_token(m, &got_msg);
		xpc_connection_get_audit_token(peer, &got_conn);
		xpc_release(last_peer);
		last_peer = xpc_retain(peer);
		pthread_mutex_unlock(&seen);
		xpc_object_t r = xpc_dictionary_create_reply(m);
		xpc_connection_send_message(peer, r);
		xpc_release(r);
		dispatch_semaphore_signal(got);
	});
	xpc_connection_resume(peer);
}

static bool wait_got(void)
{
	return dispatch_semaphore_wait(got, dispatch_time(DISPATCH_TIME_NOW, 10 * 1000000000LL)) == 0;
}

static unsigned int self_loginuid(void)
{
	unsigned int v = (unsigned int)-1;
	FILE *f = fopen("/proc/self/loginuid", "re");

	if (f) {
		if (fscanf(f, "%u", &v) != 1)
			v = (unsigned int)-1;
		fclose(f);
	}
	return v;
}

static void hello(xpc_connection_t c)
{
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0);

	xpc_dictionary_set_string(m, "op", "hello");
	xpc_release(xpc_connection_send_message_with_reply_sync(c, m));
	xpc_release(m);
}

/* The exec'd peer: connect through the endpoint on @fd, say hello, linger. */
static int run_peer(int fd, int ms)
{
	xpc_endpoint_t ep = endpoint_create_from_send_fd(fd);
	xpc_connection_t c = xpc_connection_create_from_endpoint(ep);

	close(fd);
	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) {
	});
	xpc_connection_resume(c);
	hello(c);
	usleep((useconds_t)ms * 1000);
	xpc_connection_cancel(c);
	xpc_release(c);
	xpc_release(ep);
	return 0;
}

static void test_self(xpc_connection_t l, xpc_endpoint_t ep)
{
	xpc_connection_t c = xpc_connection_create_from_endpoint(ep);
	audit_token_t t;

	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) {
	});
	xpc_connection_resume(c);
	hello(c);
	REQUIRE(wait_got());
	pthread_mutex_lock(&seen);
	CHECK(memcmp(&got_msg, &got_conn, sizeof(got_msg)) == 0);
	pthread_mutex_unlock(&seen);
	audit_token_t me = last_token();
	CHECK_EQ_INT(audit_token_to_pid(me), getpid());
	CHECK_EQ_INT(audit_token_to_euid(me), geteuid());
	CHECK_EQ_INT(audit_token_to_egid(me), getegid());
	CHECK_EQ_INT(audit_token_to_ruid(me), getuid());
	CHECK_EQ_INT(audit_token_to_rgid(me), getgid());
	CHECK_EQ_INT(audit_token_to_asid(me), getsid(0));
	CHECK_EQ_INT(audit_token_to_auid(me), self_loginuid());
	CHECK_EQ_INT((unsigned int)audit_token_to_pidversion(me),
		     (unsigned int)harness_proc_start_time(getpid()));
	CHECK(audit_token_to_pidversion(me) != 0);
	/* the client's side: its peer is this process too */
	xpc_connection_get_audit_token(c, &t);
	CHECK(memcmp(&t, &me, sizeof(t)) == 0);
	/* no peer: zero */
	xpc_connection_get_audit_token(l, &t);
	for (int i = 0; i < 8; i++)
		CHECK_EQ_INT(t.val[i], 0);
	xpc_object_t d = xpc_dictionary_create(NULL, NULL, 0);
	xpc_dictionary_get_audit_token(d, &t);
	CHECK_EQ_INT(audit_token_to_pid(t), 0);
	xpc_release(d);
	xpc_connection_cancel(c);
	xpc_release(c);
}

/* Starts `argv0 peer FD ms` with a descriptor of the listener's W at FD. */
static pid_t spawn_peer(const char *argv0, xpc_endpoint_t ep, int ms)
{
	int w = endpoint_object_borrow_fd((xpc_object_t)ep);
	pid_t pid = fork();

	REQUIRE(pid >= 0);
	if (pid == 0) {
		char fd[16], t[16];
		int d = dup(w); /* without close-on-exec */
		snprintf(fd, sizeof(fd), "%d", d);
		snprintf(t, sizeof(t), "%d", ms);
		execl(argv0, argv0, "peer", fd, t, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static bool set_last_pid(pid_t pid)
{
	int fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);
	char buf[16];
	int n = snprintf(buf, sizeof(buf), "%d", (int)pid);
	bool ok = fd >= 0 && write(fd, buf, (size_t)n) == n;

	if (fd >= 0)
		close(fd);
	return ok;
}

static void test_other_process(const char *argv0, xpc_endpoint_t ep)
{
	audit_token_t a, b, dead;
	xpc_connection_t peer_a;
	pid_t pa, pb = -1;

	pa = spawn_peer(argv0, ep, 50); /* lives > 2 clock ticks past its hello */
	REQUIRE(wait_got());
	a = last_token();
	peer_a = last_peer_retain();
	CHECK_EQ_INT(audit_token_to_pid(a), pa);
	CHECK_EQ_INT((unsigned int)audit_token_to_pidversion(a), (unsigned int)harness_proc_start_time(pa));
	CHECK(audit_token_to_pidversion(a) != (int)(unsigned int)harness_proc_start_time(getpid()) ||
	      audit_token_to_pid(a) != getpid());
	CHECK(WIFEXITED(harness_wait_pid(pa, 30)));
	xpc_connection_get_audit_token(peer_a, &dead); /* gone: no pid version */
	CHECK_EQ_INT(audit_token_to_pid(dead), pa);
	CHECK_EQ_INT(audit_token_to_pidversion(dead), 0);
	CHECK_EQ_INT(audit_token_to_ruid(dead), (uid_t)-1);
	xpc_release(peer_a);

	if (geteuid() != 0) {
		fprintf(stderr, "test-audit: not root, pid reuse not tried\n");
		return;
	}
	for (int i = 0; i < 20 && pb != pa; i++) {
		if (!set_last_pid(pa - 1))
			break;
		pb = spawn_peer(argv0, ep, 0);
		REQUIRE(wait_got());
		b = last_token();
		CHECK(WIFEXITED(harness_wait_pid(pb, 30)));
	}
	if (pb != pa) {
		fprintf(stderr, "test-audit: could not get pid %d again, pid reuse not tried\n", (int)pa);
		return;
	}
	CHECK_EQ_INT(audit_token_to_pid(b), audit_token_to_pid(a));
	CHECK(audit_token_to_pidversion(b) != audit_token_to_pidversion(a));
	CHECK(memcmp(&a, &b, sizeof(a)) != 0);
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "peer"))
		return run_peer(atoi(argv[2]), atoi(argv[3]));
	harness_warm_dispatch();
	harness_begin(120);
	got = dispatch_semaphore_create(0);
	xpc_connection_t l = xpc_connection_create(NULL, NULL);
	xpc_connection_set_event_handler(l, ^(xpc_object_t ev) {
		if (xpc_get_type(ev) == XPC_TYPE_CONNECTION)
			serve((xpc_connection_t)ev);
	});
	xpc_connection_resume(l);
	xpc_endpoint_t ep = xpc_endpoint_create(l);
	test_self(l, ep);
	test_other_process(argv[0], ep);
	xpc_release(last_peer);
	xpc_release(ep);
	xpc_connection_cancel(l);
	xpc_release(l);
	dispatch_release(got);
	usleep(100000);
	return harness_end();
}
