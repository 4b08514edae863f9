/* SPDX-License-Identifier: MIT */
/*
 * test-peer-gone.c - a service learns at once that a client is gone
 * (Apple's semantics: the peer's event handler gets
 * XPC_ERROR_CONNECTION_INVALID when the link ends), with no traffic after
 * the end to prompt it.  This process is the service: a listener whose
 * peers answer every request and count themselves live from their arrival
 * to their INVALID.  A child process (this program again: test-peer-gone
 * child FD MODE N) gets the listener's endpoint over a link and sets up N
 * clients in a row, as a client of a named service does (connect, one
 * request, its reply, then):
 *
 *   cancel   cancels each client before the next one (the child lives on)
 *   exit     keeps them all, then exits
 *   kill     keeps them all until this process kills it (SIGKILL)
 *
 * Checked: every request was answered, and the live peers drop to 0 within
 * PEER_GONE_SECS (generous: the ends come at once when right), with no
 * traffic after the ends.  The paths covered: the end read by a worker
 * lingering for the next request (receive.c: the source held suspended,
 * then cancelled), by the source's own delivery, and the peer's first
 * request read by the delivery that the activation started after
 * unlocking (connection.c).  Nothing is assumed about the order of one
 * peer's end and another peer's first request (the client's cancel closes
 * its link on another thread; each link is read on its own worker).
 */
#include "connection/connection.h"
#include "conn-common.h"
#include "harness.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define PEER_GONE_N 24
#define PEER_GONE_SECS 20

static const char *self;

/* ---- the child: the clients ------------------------------------------------- */

/* One client of @ep: connects, asks once, waits for the reply (+1, or
 * NULL when none came). */
static xpc_connection_t child_client(xpc_endpoint_t ep)
{
	xpc_connection_t c = conn_test_connect_endpoint(ep);

	if (!conn_test_ask(c, "ping")) {
		xpc_connection_cancel(c);
		xpc_release(c);
		return NULL;
	}
	return c;
}

/* Sets up @n clients per @mode, then reports { answered } on @link and
 * waits there for the parent's end (cancel), for this process's own
 * (exit) or to be killed (kill). */
static int child(int fd, const char *mode, int n)
{
	dispatch_semaphore_t gone = dispatch_semaphore_create(0);
	xpc_connection_t link = connection_create_from_socket(fd, NULL);
	xpc_endpoint_t ep = link ? conn_test_link_endpoint(link, gone) : NULL;
	bool cancel = strcmp(mode, "cancel") == 0;
	int answered = 0;

	if (!ep)
		return 3;
	for (int i = 0; i < n; i++) {
		xpc_connection_t c = child_client(ep);
		if (!c)
			continue;
		answered++;
		if (cancel) {
			xpc_connection_cancel(c);
			xpc_release(c);
		} /* else kept until this process ends */
	}
	xpc_object_t report = xpc_dictionary_create(NULL, NULL, 0);
	xpc_dictionary_set_int64(report, "answered", answered);
	xpc_object_t r = xpc_connection_send_message_with_reply_sync(link, report);
	xpc_release(r);
	xpc_release(report);
	if (strcmp(mode, "exit") == 0)
		_exit(0); /* the kernel closes every link */
	conn_test_wait(gone, 120); /* cancel: the parent ends the link; kill: never */
	xpc_release(ep);
	xpc_release(link);
	dispatch_release(gone);
	return 0;
}

/* ---- the parent: the service ------------------------------------------------ */

static atomic_int live;
static dispatch_semaphore_t peer_ended;

/* A listener whose peers answer every message and count in `live` until
 * their INVALID. */
static xpc_connection_t counting_listener(void)
{
	xpc_connection_t l = xpc_connection_create(NULL, NULL);

	xpc_connection_set_event_handler(l, ^(xpc_object_t peer) {
		if (xpc_get_type(peer) != XPC_TYPE_CONNECTION)
			return;
		atomic_fetch_add(&live, 1);
		xpc_connection_set_event_handler(peer, ^(xpc_object_t m) {
			if (xpc_get_type(m) == XPC_TYPE_DICTIONARY) {
				xpc_object_t r = xpc_dictionary_create_reply(m);
				xpc_connection_send_message(peer, r);
				xpc_release(r);
			} else if (m == XPC_ERROR_CONNECTION_INVALID) {
				atomic_fetch_sub(&live, 1);
				dispatch_semaphore_signal(peer_ended);
			}
		});
		xpc_connection_resume(peer);
	});
	xpc_connection_resume(l);
	return l;
}

/* Starts the child in @mode on a link to this process; *ret_link gets
 * our end, which sends it the endpoint of @l. */
static pid_t start_child(xpc_connection_t l, const char *mode, xpc_connection_t *ret_link,
			 dispatch_semaphore_t reported, atomic_long *answered)
{
	char n[16];
	xpc_connection_t link;

	snprintf(n, sizeof(n), "%d", PEER_GONE_N);
	pid_t pid = conn_test_spawn_child(self, (const char *const[]){mode, n, NULL}, &link);
	xpc_connection_set_event_handler(link, ^(xpc_object_t ev) {
		if (xpc_get_type(ev) != XPC_TYPE_DICTIONARY)
			return;
		atomic_store(answered, xpc_dictionary_get_int64(ev, "answered"));
		xpc_object_t r = xpc_dictionary_create_reply(ev);
		xpc_connection_send_message(link, r);
		xpc_release(r);
		dispatch_semaphore_signal(reported);
	});
	xpc_connection_resume(link);
	conn_test_send_endpoint(link, l);
	*ret_link = link;
	return pid;
}

/* Waits up to PEER_GONE_SECS for `live` to reach 0 (each peer's INVALID
 * signals peer_ended); its last value. */
static int wait_no_live(void)
{
	dispatch_time_t until = dispatch_time(DISPATCH_TIME_NOW, (int64_t)PEER_GONE_SECS * NSEC_PER_SEC);

	while (atomic_load(&live) > 0 && dispatch_semaphore_wait(peer_ended, until) == 0)
		;
	return atomic_load(&live);
}

static void test_mode(const char *mode)
{
	dispatch_semaphore_t reported = dispatch_semaphore_create(0);
	atomic_long answered = -1;
	xpc_connection_t link, l = counting_listener();
	pid_t pid = start_child(l, mode, &link, reported, &answered);

	CHECK(conn_test_wait(reported, 120));
	CHECK_EQ_INT(atomic_load(&answered), PEER_GONE_N);
	if (strcmp(mode, "kill") == 0)
		kill(pid, SIGKILL);
	int left = wait_no_live();
	fprintf(stderr, "test-peer-gone %s: %d clients answered, %d peers still live after their end\n", mode,
		(int)atomic_load(&answered), left);
	CHECK_EQ_INT(left, 0);
	xpc_connection_cancel(link); /* cancel: the child's cue to exit */
	xpc_release(link);
	int st = harness_wait_pid(pid, 120);
	if (strcmp(mode, "kill") == 0)
		CHECK(st >= 0 && WIFSIGNALED(st));
	else
		CHECK(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	xpc_connection_cancel(l);
	xpc_release(l);
	dispatch_release(reported);
}

int main(int argc, char **argv)
{
	static const char *modes[] = {"cancel", "exit", "kill"};

	self = argv[0];
	if (argc == 5 && strcmp(argv[1], "child") == 0)
		return child(atoi(argv[2]), argv[3], atoi(argv[4]));
	harness_warm_dispatch();
	harness_begin(240);
	peer_ended = dispatch_semaphore_create(0);
	int base = harness_count_fds();
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (argc < 2 || strcmp(argv[1], modes[i]) == 0)
			test_mode(modes[i]);
	conn_test_settle_fds(base);
	return harness_end();
}
