/* SPDX-License-Identifier: MIT */
/*
 * test-handover.c - the hand-over of an accepted peer (connection.c): the
 * worker that ran the listener's handler reads the new peer's first
 * request itself once the listener's queue is let go.  What must hold
 * whatever path a request takes:
 *
 *   order    a peer's first request never reaches its handler inside the
 *            listener's handler that resumed the peer, on its thread (it
 *            sleeps a little after the resume, so that a path that read
 *            the request there would be caught);
 *   slow     a peer whose first request's handler blocks (until the test
 *            lets it go) holds up no other check-in: a second client is
 *            answered meanwhile;
 *   wait     a listener's handler that waits (a semaphore) for the first
 *            message of the peer it just resumed gets it: the held-back
 *            source starts when the handler waits;
 *   silent   a client that sends nothing after connecting holds up nobody,
 *            and its request sent later is answered (the peer's source was
 *            started after a first read that found nothing);
 *   condwait a listener's handler that waits for its peer's first message
 *            on a condition variable (which dispatch cannot see) gets it:
 *            the held-back source is started by the hand-over's timer.
 *
 * The service is a listener in this process (on the default global
 * queue: the path the hand-over takes); its clients connect from its
 * endpoint, each sending its request before resuming, so that the request
 * is usually queued when the listener's handler runs.
 */
#include "connection/connection.h"
#include "conn-common.h"
#include "harness.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <string.h>
#include <unistd.h>

#define ORDER_ROUNDS 10
#define WAIT_SECS 10

static _Atomic(pthread_t) listener_thread; /* running the listener's handler, or 0 */
static atomic_bool wait_mode;          /* the listener's handler waits for the peer */
static atomic_bool cond_mode;          /* ... on a condition variable */
static pthread_mutex_t cond_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond_cv = PTHREAD_COND_INITIALIZER;
static bool cond_seen;
static atomic_int waits_failed;
static dispatch_semaphore_t first_seen;
static atomic_int order_violations;
static dispatch_semaphore_t gate, blocked;

/* Replies to @m; "op" "block" first waits for the gate (bounded). */
static void serve(xpc_connection_t peer, xpc_object_t m)
{
	const char *op = xpc_dictionary_get_string(m, "op");

	if (op && strcmp(op, "block") == 0) {
		dispatch_semaphore_signal(blocked);
		conn_test_wait(gate, WAIT_SECS);
	}
	xpc_object_t r = xpc_dictionary_create_reply(m);
	if (r) {
		xpc_connection_send_message(peer, r);
		xpc_release(r);
	}
}

static void cond_signal_seen(void)
{
	pthread_mutex_lock(&cond_mu);
	cond_seen = true;
	pthread_cond_signal(&cond_cv);
	pthread_mutex_unlock(&cond_mu);
}

/* Waits (WAIT_SECS at most) for cond_signal_seen; whether it came. */
static bool cond_wait_seen(void)
{
	struct timespec until;
	bool seen;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += WAIT_SECS;
	pthread_mutex_lock(&cond_mu);
	while (!cond_seen && pthread_cond_timedwait(&cond_cv, &cond_mu, &until) == 0)
		;
	seen = cond_seen;
	cond_seen = false;
	pthread_mutex_unlock(&cond_mu);
	return seen;
}

/* A listener whose handler resumes each peer, then sleeps 20 ms before it
 * returns; each peer checks that its first message is not delivered
 * inside that handler, on its thread. */
static xpc_connection_t start_listener(void)
{
	xpc_connection_t l = xpc_connection_create(NULL, NULL);

	xpc_connection_set_event_handler(l, ^(xpc_object_t peer) {
		if (xpc_get_type(peer) != XPC_TYPE_CONNECTION)
			return;
		__block bool first = true;
		atomic_store(&listener_thread, pthread_self());
		xpc_connection_set_event_handler(peer, ^(xpc_object_t m) {
			if (xpc_get_type(m) != XPC_TYPE_DICTIONARY)
				return;
			if (first && atomic_load(&wait_mode))
				dispatch_semaphore_signal(first_seen);
			else if (first && atomic_load(&cond_mode))
				cond_signal_seen();
			else if (first && atomic_load(&listener_thread) == pthread_self())
				atomic_fetch_add(&order_violations, 1);
			first = false;
			serve(peer, m);
		});
		xpc_connection_resume(peer);
		if (atomic_load(&wait_mode) && !conn_test_wait(first_seen, WAIT_SECS))
			atomic_fetch_add(&waits_failed, 1);
		if (atomic_load(&cond_mode) && !cond_wait_seen())
			atomic_fetch_add(&waits_failed, 1);
		usleep(20000);
		atomic_store(&listener_thread, (pthread_t)0);
	});
	xpc_connection_resume(l);
	return l;
}

/* A client of @l that sends @op (NULL: nothing) before it resumes; the
 * reply signals @answered.  +1. */
static xpc_connection_t client(xpc_connection_t l, const char *op, dispatch_semaphore_t answered)
{
	xpc_endpoint_t ep = xpc_endpoint_create(l);
	xpc_connection_t c = xpc_connection_create_from_endpoint(ep);

	xpc_release(ep);
	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) {
		(void)ev;
	});
	if (op) {
		xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0);
		xpc_dictionary_set_string(m, "op", op);
		xpc_connection_send_message_with_reply(c, m, NULL, ^(xpc_object_t r) {
			if (xpc_get_type(r) == XPC_TYPE_DICTIONARY)
				dispatch_semaphore_signal(answered);
		});
		xpc_release(m);
	}
	xpc_connection_resume(c);
	return c;
}

static void done(xpc_connection_t c)
{
	xpc_connection_cancel(c);
	xpc_release(c);
}

static void test_order(xpc_connection_t l)
{
	dispatch_semaphore_t answered = dispatch_semaphore_create(0);

	for (int i = 0; i < ORDER_ROUNDS; i++) {
		xpc_connection_t c = client(l, "echo", answered);
		CHECK(conn_test_wait(answered, WAIT_SECS));
		done(c);
	}
	CHECK_EQ_INT(atomic_load(&order_violations), 0);
	dispatch_release(answered);
}

static void test_slow(xpc_connection_t l)
{
	dispatch_semaphore_t a1 = dispatch_semaphore_create(0), a2 = dispatch_semaphore_create(0);
	xpc_connection_t c1 = client(l, "block", a1);

	REQUIRE(conn_test_wait(blocked, WAIT_SECS));
	xpc_connection_t c2 = client(l, "echo", a2);
	CHECK(conn_test_wait(a2, WAIT_SECS)); /* while the first one still blocks */
	dispatch_semaphore_signal(gate);
	CHECK(conn_test_wait(a1, WAIT_SECS));
	done(c1);
	done(c2);
	dispatch_release(a1);
	dispatch_release(a2);
}

/* A client served while the listener's handler waits for its peer's
 * first message, the way @mode selects. */
static void test_waiting(xpc_connection_t l, atomic_bool *mode)
{
	dispatch_semaphore_t answered = dispatch_semaphore_create(0);

	atomic_store(mode, true);
	xpc_connection_t c = client(l, "echo", answered);
	CHECK(conn_test_wait(answered, 2 * WAIT_SECS));
	CHECK_EQ_INT(atomic_load(&waits_failed), 0);
	atomic_store(mode, false);
	done(c);
	dispatch_release(answered);
}

static void test_silent(xpc_connection_t l)
{
	dispatch_semaphore_t a1 = dispatch_semaphore_create(0), a2 = dispatch_semaphore_create(0);
	xpc_connection_t silent = client(l, NULL, NULL);
	xpc_connection_t other = client(l, "echo", a2);

	CHECK(conn_test_wait(a2, WAIT_SECS));
	usleep(50000); /* the silent peer's hand-over is long over */
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0);
	xpc_dictionary_set_string(m, "op", "echo");
	xpc_connection_send_message_with_reply(silent, m, NULL, ^(xpc_object_t r) {
		if (xpc_get_type(r) == XPC_TYPE_DICTIONARY)
			dispatch_semaphore_signal(a1);
	});
	xpc_release(m);
	CHECK(conn_test_wait(a1, WAIT_SECS));
	done(silent);
	done(other);
	dispatch_release(a1);
	dispatch_release(a2);
}

int main(void)
{
	harness_warm_dispatch();
	harness_begin(120);
	gate = dispatch_semaphore_create(0);
	blocked = dispatch_semaphore_create(0);
	first_seen = dispatch_semaphore_create(0);
	xpc_connection_t l = start_listener();
	int base = harness_count_fds();

	test_order(l);
	test_slow(l);
	test_waiting(l, &wait_mode);
	test_silent(l);
	test_waiting(l, &cond_mode);
	conn_test_settle_fds(base);
	xpc_connection_cancel(l);
	xpc_release(l);
	return harness_end();
}
