/* SPDX-License-Identifier: MIT */
/*
 * test-sync-edge.c - a sync caller that reads a link whose edge-triggered
 * read source it does not hold suspended (src/connection/sync.c,
 * receive.c, docs/connections.md): a named connection reconnects while
 * another sync call still holds the old link, so the new link's source
 * stays armed under the calls that read it.  Its handler, finding rx.lock
 * taken, yields to the reader; a message that comes after the reader's
 * last read but before it lets go makes no new event.  It must still reach
 * the event handler without waiting for another packet (before, it sat in
 * the socket until the next one came).
 *
 * The other call is held where it has taken the old link
 * (sync_take_locked, as a thread descheduled there would be) and let go at
 * the end (sync_done).  Each reply is large, so the caller decodes it for
 * a long while with rx.lock held, and the service sends its message a
 * little after the reply: the message's packet comes, and its delivery
 * finds the lock taken, while the caller still decodes.
 */
#include "connection/internal.h"
#include "conn-common.h"
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define N_CALLS 8
#define REPLY_ITEMS 200000 /* decoding takes tens of ms */
#define EVENT_DELAY_US 2000

static xpc_connection_t service;
static _Atomic(xpc_connection_t) first_peer;
static dispatch_semaphore_t first_gone, event_sem;
static atomic_int events, interrupted;
static xpc_object_t payload;

/* A reply carrying the payload, then, a little later, a message. */
static void serve_call(xpc_connection_t p, xpc_object_t m)
{
	xpc_object_t r = xpc_dictionary_create_reply(m);
	xpc_object_t e = xpc_dictionary_create(NULL, NULL, 0);

	xpc_dictionary_set_value(r, "payload", payload);
	xpc_dictionary_set_int64(e, "event", xpc_dictionary_get_int64(m, "n"));
	xpc_connection_send_message(p, r);
	usleep(EVENT_DELAY_US);
	xpc_connection_send_message(p, e);
	xpc_release(r);
	xpc_release(e);
}

static void serve_ping(xpc_connection_t p, xpc_object_t m)
{
	xpc_object_t r = xpc_dictionary_create_reply(m);

	xpc_connection_send_message(p, r);
	xpc_release(r);
}

static void serve_peer(xpc_connection_t p)
{
	xpc_connection_t none = NULL;
	bool first = atomic_compare_exchange_strong(&first_peer, &none, p);

	xpc_retain(p);
	xpc_connection_set_event_handler(p, ^(xpc_object_t m) {
		if (xpc_get_type(m) == XPC_TYPE_DICTIONARY && xpc_dictionary_get_bool(m, "call"))
			serve_call(p, m);
		else if (xpc_get_type(m) == XPC_TYPE_DICTIONARY) /* a ping */
			serve_ping(p, m);
		if (m == XPC_ERROR_CONNECTION_INVALID) {
			if (first)
				dispatch_semaphore_signal(first_gone);
			xpc_release(p);
		}
	});
	xpc_connection_resume(p);
}

static xpc_connection_t client(void)
{
	xpc_connection_t c = xpc_connection_create("test.sync-edge", NULL);

	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) {
		if (ev == XPC_ERROR_CONNECTION_INTERRUPTED)
			atomic_fetch_add(&interrupted, 1);
		if (xpc_get_type(ev) == XPC_TYPE_DICTIONARY) {
			atomic_fetch_add(&events, 1);
			dispatch_semaphore_signal(event_sem);
		}
	});
	xpc_connection_resume(c);
	return c;
}

static xpc_object_t call(xpc_connection_t c, int n)
{
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0);

	xpc_dictionary_set_bool(m, "call", n >= 0);
	xpc_dictionary_set_int64(m, "n", n);
	xpc_object_t r = xpc_connection_send_message_with_reply_sync(c, m);
	xpc_release(m);
	return r;
}

/* Another sync call takes the live link and stays there; the service
 * drops that link, and the next call learns of it (INTERRUPTED). */
static void hold_old_link(xpc_connection_t c)
{
	xpc_object_t r = call(c, -1); /* the first link is up */

	CHECK(xpc_get_type(r) == XPC_TYPE_DICTIONARY);
	xpc_release(r);
	conn_lock(c);
	REQUIRE(sync_take_locked(c) != NULL);
	conn_unlock(c);
	xpc_connection_cancel(atomic_load(&first_peer));
	REQUIRE(conn_test_wait(first_gone, 30));
	r = call(c, -1);
	CHECK(r == XPC_ERROR_CONNECTION_INTERRUPTED);
	xpc_release(r);
}

static void test_armed_reader(void)
{
	xpc_connection_t c = client();
	int stuck = -1;

	hold_old_link(c);
	for (int i = 0; i < N_CALLS && stuck < 0; i++) {
		xpc_object_t r = call(c, i); /* the first one checks in again */
		CHECK(xpc_get_type(r) == XPC_TYPE_DICTIONARY);
		xpc_release(r);
		if (i == 0) { /* the new link's source is armed under the calls */
			conn_lock(c);
			CHECK(c->rsrc && c->sync.src && c->sync.src != c->rsrc);
			conn_unlock(c);
		}
		if (!conn_test_wait(event_sem, 10))
			stuck = i;
	}
	if (stuck >= 0)
		fprintf(stderr, "the message after call %d never reached the handler\n", stuck);
	CHECK_EQ_INT(stuck, -1);
	CHECK_EQ_INT(atomic_load(&interrupted), 1);
	sync_done(c); /* the other call lets go of the old link */
	xpc_connection_cancel(c);
	xpc_release(c);
}

int main(void)
{
	char path[108];

	harness_warm_dispatch();
	harness_begin(180);
	int base = harness_count_fds();
	first_gone = dispatch_semaphore_create(0);
	event_sem = dispatch_semaphore_create(0);
	payload = xpc_array_create(NULL, 0);
	for (int i = 0; i < REPLY_ITEMS; i++)
		xpc_array_set_int64(payload, XPC_ARRAY_APPEND, i);
	snprintf(path, sizeof(path), "/tmp/xpc-test-sync-edge-%d.sock", (int)getpid());
	setenv("XPCD_SOCKET", path, 1);
	service = xpc_connection_create(NULL, NULL);
	xpc_connection_set_event_handler(service, ^(xpc_object_t ev) {
		if (xpc_get_type(ev) == XPC_TYPE_CONNECTION)
			serve_peer((xpc_connection_t)ev);
	});
	xpc_connection_resume(service);
	dispatch_source_t broker = conn_test_broker_start(path, "test.sync-edge", service);

	test_armed_reader();

	conn_test_broker_stop(broker, path);
	xpc_connection_cancel(service);
	xpc_release(service);
	xpc_release(payload);
	connection_forget_services(); /* the cached channel of the name */
	conn_test_settle_fds(base);
	return harness_end();
}
