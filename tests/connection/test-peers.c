/* SPDX-License-Identifier: MIT */
/*
 * test-peers.c - what serving many peers and waiting on replies may cost
 * (issue 17; docs/connections.md, docs/dispatch.md):
 *
 *   idle     one child process opens PEERS (2000, fewer when the descriptor
 *            limit cannot hold them) connections at once to an anonymous
 *            listener of this process, one request on each, and keeps them
 *            open: every peer is answered, and this process's worker pool
 *            stays near the CPU count (a worker that answered a request may
 *            wait for the peer's next one, but only a few wait so at once)
 *   timer    a synchronous call whose reply takes 300 ms, made right after
 *            another one, costs no timer traffic meanwhile: no timerfd
 *            setting and no timer fire in the process while the reply is
 *            awaited (the calling thread reads the reply itself; nothing
 *            waits for a timer to resume the link's read source), and at
 *            most the one setting its end makes (sync.c: it holds the
 *            source for a next call, which came right after it)
 *   lazy     after synchronous calls of 20 ms each in a row (their ends hold
 *            the link's read source for the next call), a message the
 *            peer sends once the calls stopped still reaches the event
 *            handler: the lazy resume comes
 *
 * The child is this program again: test-peers child FD N.
 */
#include "connection/connection.h"
#include "dispatch/internal.h"
#include "dispatch/manager.h"
#include "conn-common.h"
#include "harness.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define PEERS 2000

static const char *self;

/* Soft descriptor limit raised to the hard one; returns the soft limit. */
static long raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 1024;
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	getrlimit(RLIMIT_NOFILE, &rl);
	return rl.rlim_cur == RLIM_INFINITY ? 1L << 20 : (long)rl.rlim_cur;
}

/* The child: gets the endpoint on link @fd, opens @n connections to it, a
 * request on each at once; reports { answered } on the link once all are
 * answered, keeps them open until the link closes.  Exit 0 when all were. */
static int child(int fd, int n)
{
	dispatch_semaphore_t gone = dispatch_semaphore_create(0);
	dispatch_semaphore_t all = dispatch_semaphore_create(0);
	xpc_object_t ep;
	__block atomic_int answered = 0, failed = 0;
	xpc_connection_t *c = calloc((size_t)n, sizeof(*c));
	xpc_connection_t link = connection_create_from_socket(fd, NULL);

	if (!c || !link)
		return 2;
	ep = conn_test_link_endpoint(link, gone);
	if (!ep)
		return 3;
	xpc_object_t msg = xpc_dictionary_create(NULL, NULL, 0);
	xpc_dictionary_set_string(msg, "op", "pid");
	for (int i = 0; i < n; i++) {
		c[i] = xpc_connection_create_from_endpoint(ep);
		xpc_connection_set_event_handler(c[i], ^(xpc_object_t ev) {
			(void)ev;
		});
		xpc_connection_resume(c[i]);
		xpc_connection_send_message_with_reply(c[i], msg, NULL, ^(xpc_object_t r) {
			if (xpc_get_type(r) != XPC_TYPE_DICTIONARY)
				atomic_fetch_add(&failed, 1);
			if (atomic_fetch_add(&answered, 1) + 1 == n)
				dispatch_semaphore_signal(all);
		});
	}
	int rc = conn_test_wait(all, 120) && atomic_load(&failed) == 0 ? 0 : 4;
	xpc_object_t report = xpc_dictionary_create(NULL, NULL, 0);
	xpc_dictionary_set_int64(report, "answered", rc == 0 ? n : -1);
	xpc_connection_send_message(link, report);
	xpc_release(report);
	if (!conn_test_wait(gone, 120))
		rc = 5;
	for (int i = 0; i < n; i++) {
		xpc_connection_cancel(c[i]);
		xpc_release(c[i]);
	}
	free(c);
	xpc_release(msg);
	xpc_release(ep);
	xpc_release(link);
	dispatch_release(gone);
	dispatch_release(all);
	return rc;
}

static void test_idle(void)
{
	long limit = raise_nofile();
	int n = limit - 200 < 2 * PEERS ? (int)(limit - 200) / 2 : PEERS;
	char s2[16];
	xpc_connection_t link;
	dispatch_semaphore_t got = dispatch_semaphore_create(0);
	__block int64_t answered = 0;

	REQUIRE(n > 100);
	xpc_connection_t l = conn_test_start_echo_listener(NULL);
	snprintf(s2, sizeof(s2), "%d", n);
	pid_t pid = conn_test_spawn_child(self, (const char *const[]){s2, NULL}, &link);
	xpc_connection_set_event_handler(link, ^(xpc_object_t ev) {
		if (xpc_get_type(ev) == XPC_TYPE_DICTIONARY) {
			answered = xpc_dictionary_get_int64(ev, "answered");
			dispatch_semaphore_signal(got);
		}
	});
	xpc_connection_resume(link);
	conn_test_send_endpoint(link, l);

	CHECK(conn_test_wait(got, 120));
	CHECK_EQ_INT(answered, n);
	/* Workers that finished exit only after 5 s idle: this is the most
	 * the peers made the pool grow to. */
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN), soft = ncpu > 2 ? ncpu : 2;
	int threads = dpool_thread_count();
	fprintf(stderr, "test-peers: %d peers answered, %d workers (%ld CPUs)\n", n, threads, ncpu);
	CHECK(threads <= 2 * soft + 4);

	xpc_connection_cancel(link);
	xpc_release(link);
	int st = harness_wait_pid(pid, 120);
	CHECK(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	xpc_connection_cancel(l);
	xpc_release(l);
	dispatch_release(got);
}

/* The timer traffic of this process while the last request was
 * being answered (slow_listener). */
static _Atomic unsigned long wait_settimes, wait_fires;

/* Answers @m after "usec" microseconds (on a worker, with usleep: no timer
 * of this process is involved), counting the timer traffic meanwhile; with
 * "notify", sends a message of its own after the reply. */
static void slow_answer(xpc_connection_t peer, xpc_object_t m)
{
	ManagerTimerStats a, b;

	manager_timer_stats(&a);
	usleep((useconds_t)xpc_dictionary_get_uint64(m, "usec"));
	manager_timer_stats(&b);
	wait_settimes = b.settimes - a.settimes;
	wait_fires = b.fires - a.fires;
	xpc_object_t r = xpc_dictionary_create_reply(m);
	xpc_connection_send_message(peer, r);
	xpc_release(r);
	if (xpc_dictionary_get_bool(m, "notify")) {
		xpc_object_t n = xpc_dictionary_create(NULL, NULL, 0);
		xpc_dictionary_set_bool(n, "event", true);
		xpc_connection_send_message(peer, n);
		xpc_release(n);
	}
}

/* A listener whose peers answer every request (slow_answer). */
static xpc_connection_t slow_listener(void)
{
	xpc_connection_t l = xpc_connection_create(NULL, NULL);

	xpc_connection_set_event_handler(l, ^(xpc_object_t peer) {
		if (xpc_get_type(peer) != XPC_TYPE_CONNECTION)
			return;
		xpc_connection_set_event_handler(peer, ^(xpc_object_t m) {
			if (xpc_get_type(m) == XPC_TYPE_DICTIONARY)
				slow_answer(peer, m);
		});
		xpc_connection_resume(peer);
	});
	xpc_connection_resume(l);
	return l;
}

static void test_timer(void)
{
	xpc_connection_t l = slow_listener();
	xpc_endpoint_t ep = xpc_endpoint_create(l);
	xpc_connection_t c = xpc_connection_create_from_endpoint(ep);
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0), slow = xpc_dictionary_create(NULL, NULL, 0);
	ManagerTimerStats a, b;

	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) {
		(void)ev;
	});
	xpc_connection_resume(c);
	xpc_dictionary_set_uint64(slow, "usec", 300000);
	xpc_object_t r = xpc_connection_send_message_with_reply_sync(c, m);
	CHECK(xpc_get_type(r) == XPC_TYPE_DICTIONARY);
	xpc_release(r);
	usleep(50000); /* what the link's start left to do is done */
	for (int i = 0; i < 3; i++) {
		r = xpc_connection_send_message_with_reply_sync(c, m);
		CHECK(xpc_get_type(r) == XPC_TYPE_DICTIONARY);
		xpc_release(r);
		manager_timer_stats(&a);
		r = xpc_connection_send_message_with_reply_sync(c, slow);
		manager_timer_stats(&b);
		CHECK(xpc_get_type(r) == XPC_TYPE_DICTIONARY);
		xpc_release(r);
		fprintf(stderr,
			"test-peers: a 300 ms sync call: %lu timerfd settings, %lu timer fires "
			"(during the wait: %lu, %lu)\n",
			b.settimes - a.settimes, b.fires - a.fires, wait_settimes, wait_fires);
		CHECK(wait_settimes == 0 && wait_fires == 0);
		CHECK(b.settimes - a.settimes <= 1);
		CHECK(b.fires - a.fires == 0);
	}
	xpc_release(m);
	xpc_release(slow);
	xpc_release(ep);
	xpc_connection_cancel(c);
	xpc_release(c);
	xpc_connection_cancel(l);
	xpc_release(l);
}

static void test_lazy(void)
{
	xpc_connection_t l = slow_listener();
	xpc_endpoint_t ep = xpc_endpoint_create(l);
	xpc_connection_t c = xpc_connection_create_from_endpoint(ep);
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0);
	dispatch_semaphore_t got = dispatch_semaphore_create(0);

	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) {
		if (xpc_get_type(ev) == XPC_TYPE_DICTIONARY && xpc_dictionary_get_bool(ev, "event"))
			dispatch_semaphore_signal(got);
	});
	xpc_connection_resume(c);
	xpc_dictionary_set_uint64(m, "usec", 20000);
	for (int i = 0; i < 6; i++) {
		if (i == 5)
			xpc_dictionary_set_bool(m, "notify", true); /* after the last reply */
		xpc_object_t r = xpc_connection_send_message_with_reply_sync(c, m);
		CHECK(xpc_get_type(r) == XPC_TYPE_DICTIONARY);
		xpc_release(r);
	}
	/* at most 2 x 8 ms late (sync.c); generous for a loaded machine */
	CHECK(dispatch_semaphore_wait(got, dispatch_time(DISPATCH_TIME_NOW, 10 * NSEC_PER_SEC)) == 0);
	xpc_release(m);
	xpc_release(ep);
	xpc_connection_cancel(c);
	xpc_release(c);
	xpc_connection_cancel(l);
	xpc_release(l);
	dispatch_release(got);
}

int main(int argc, char **argv)
{
	self = argv[0];
	if (argc == 4 && strcmp(argv[1], "child") == 0) {
		raise_nofile();
		return child(atoi(argv[2]), atoi(argv[3]));
	}
	harness_warm_dispatch();
	harness_begin(240);
	int base = harness_count_fds();
	if (argc < 2 || strcmp(argv[1], "idle") == 0)
		test_idle();
	if (argc < 2 || strcmp(argv[1], "timer") == 0)
		test_timer();
	if (argc < 2 || strcmp(argv[1], "lazy") == 0)
		test_lazy();
	conn_test_settle_fds(base);
	return harness_end();
}
