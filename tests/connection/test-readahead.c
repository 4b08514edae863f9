/* SPDX-License-Identifier: MIT */
/*
 * test-readahead.c - the edge-triggered read path of a link
 * (src/connection/receive.c): a link's read source is not re-armed, and a
 * reader keeps a second frame read ahead, so whatever a reader leaves
 * unread must come back without a new packet:
 * - more packets queued than one delivery reads (the fairness bound of
 *   64, a frame read ahead at the bound): all of them reach the handler,
 *   in order, although the sender sends nothing more (one-way messages
 *   sent 50 us apart: each its own packet, none coalesced, send.c);
 * - a sync caller that reads its reply and, in the same receive, the
 *   message behind it: that message reaches the event handler.
 */
#include "connection/internal.h"
#include "conn-common.h"
#include "harness.h"

#include <string.h>
#include <unistd.h>

/* All in the socket at once (small frames: well under its buffer). */
#define N_QUEUED 150
#define N_CALLS 300

/* file scope: a handler thread may still be inside a signal at the end */
static GatedSink sink;
static dispatch_semaphore_t events_done;

static xpc_connection_t client_of(xpc_connection_t l, atomic_int *events, int want)
{
	xpc_endpoint_t ep = xpc_endpoint_create(l);
	xpc_connection_t c = xpc_connection_create_from_endpoint(ep);

	xpc_release(ep);
	REQUIRE(c != NULL);
	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) {
		if (xpc_get_type(ev) == XPC_TYPE_DICTIONARY && xpc_dictionary_get_bool(ev, "event") &&
		    atomic_fetch_add(events, 1) + 1 == want)
			dispatch_semaphore_signal(events_done);
	});
	xpc_connection_resume(c);
	return c;
}

/* The sender's out-queue is empty: every frame is in the socket. */
static bool sent_all(xpc_connection_t c)
{
	for (int i = 0; i < 1000; i++) {
		pthread_mutex_lock(&c->lock);
		bool backlog = c->tx.head != NULL;
		pthread_mutex_unlock(&c->lock);
		if (!backlog)
			return true;
		usleep(10000);
	}
	return false;
}

static void test_fairness_bound(void)
{
	atomic_int events = 0;
	xpc_connection_t l = conn_test_gated_sink_start(&sink, N_QUEUED);
	xpc_connection_t c = client_of(l, &events, -1);

	/* the link is up: nothing waits for it to leave in a batch */
	xpc_object_t hello = xpc_dictionary_create(NULL, NULL, 0);
	xpc_dictionary_set_bool(hello, "hello", true);
	xpc_release(xpc_connection_send_message_with_reply_sync(c, hello));
	xpc_release(hello);
	for (int i = 0; i < N_QUEUED; i++) {
		xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0);
		xpc_dictionary_set_int64(m, "n", i);
		xpc_connection_send_message(c, m);
		xpc_release(m);
		usleep(50); /* a packet each: sent further apart than send.c coalesces */
	}
	REQUIRE(conn_test_wait(sink.have_peer, 30));
	CHECK(sent_all(c));
	usleep(100000); /* the first frame reached the handler */
	CHECK_EQ_INT(atomic_load(&sink.received), 1);
	dispatch_semaphore_signal(sink.gate);
	CHECK(conn_test_wait(sink.done, 30));
	CHECK_EQ_INT(atomic_load(&sink.received), N_QUEUED);
	CHECK(atomic_load(&sink.inorder));

	xpc_connection_cancel(c);
	xpc_release(c);
	conn_test_gated_sink_stop(&sink, l);
}

/* The service answers and at once sends a message of its own: a client's
 * sync call often reads both in one receive. */
static void test_sync_reader(void)
{
	atomic_int events = 0;
	xpc_connection_t l = xpc_connection_create(NULL, NULL);

	xpc_connection_set_event_handler(l, ^(xpc_object_t ev) {
		if (xpc_get_type(ev) != XPC_TYPE_CONNECTION)
			return;
		xpc_connection_t p = (xpc_connection_t)ev;
		xpc_connection_set_event_handler(p, ^(xpc_object_t m) {
			if (xpc_get_type(m) != XPC_TYPE_DICTIONARY)
				return;
			xpc_object_t r = xpc_dictionary_create_reply(m);
			xpc_object_t e = xpc_dictionary_create(NULL, NULL, 0);
			xpc_dictionary_set_int64(r, "n", xpc_dictionary_get_int64(m, "n"));
			xpc_dictionary_set_bool(e, "event", true);
			xpc_connection_send_message(p, r);
			xpc_connection_send_message(p, e);
			xpc_release(r);
			xpc_release(e);
		});
		xpc_connection_resume(p);
	});
	xpc_connection_resume(l);
	xpc_connection_t c = client_of(l, &events, N_CALLS);

	int right = 0;
	for (int i = 0; i < N_CALLS; i++) {
		xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0);
		xpc_dictionary_set_int64(m, "n", i);
		xpc_object_t r = xpc_connection_send_message_with_reply_sync(c, m);
		right += xpc_get_type(r) == XPC_TYPE_DICTIONARY && xpc_dictionary_get_int64(r, "n") == i;
		xpc_release(r);
		xpc_release(m);
	}
	CHECK_EQ_INT(right, N_CALLS);
	CHECK(conn_test_wait(events_done, 30));
	CHECK_EQ_INT(atomic_load(&events), N_CALLS);

	xpc_connection_cancel(c);
	xpc_release(c);
	xpc_connection_cancel(l);
	xpc_release(l);
}

int main(void)
{
	harness_warm_dispatch();
	harness_begin(120);
	int base = harness_count_fds();
	events_done = dispatch_semaphore_create(0);
	test_fairness_bound();
	test_sync_reader();
	conn_test_settle_fds(base);
	return harness_end();
}
