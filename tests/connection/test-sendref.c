/* SPDX-License-Identifier: MIT */
/*
 * test-sendref.c - large payloads are sent by reference (no copy into the
 * encoding), so what waits in the out-queue must keep their objects alive:
 * messages whose data objects point at caller memory (no-copy dispatch
 * data whose destructor poisons and frees the buffer), whose caller
 * buffers are overwritten right after the send, and with big strings, are
 * sent while the receiver's socket is full and released at once; once the
 * receiver reads again every byte arrives as it was sent, and every
 * destructor runs (nothing retained for good).
 *
 * The receiver's handler blocks on the first message, so its socket fills
 * and the sends that follow wait in the sender's out-queue (checked): the
 * backpressure path, for one-way messages (coalesced: BATCH packets),
 * requests (sent alone), inline bodies and out-of-line ones.
 */
#include "connection/internal.h"
#include "conn-common.h"
#include "harness.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N_MSGS 96
#define STR_LEN 9000

/* file scope: handler threads may still run at the end */
static dispatch_semaphore_t gate, first, done, replied;
static atomic_int received, good, destroyed, answered;
static atomic_bool gone[N_MSGS]; /* message i's no-copy buffer was freed */

/* The payload of message @i: sizes cycle through the threshold, a 64 KiB
 * inline body and an out-of-line one. */
static size_t size_of(int i)
{
	static const size_t sizes[] = {WIRE_SEND_REF_MIN, 64 * 1024, 200 * 1024, 5000};

	return sizes[i % 4];
}

static uint8_t byte_at(int i, size_t k)
{
	return (uint8_t)(k * 7 + (size_t)i * 13 + 1);
}

static bool payload_ok(int i, const uint8_t *p, size_t len)
{
	if (!p || len != size_of(i))
		return false;
	for (size_t k = 0; k < len; k++)
		if (p[k] != byte_at(i, k))
			return false;
	return true;
}

static bool string_ok(int i, const char *s)
{
	if (!s || strlen(s) != STR_LEN)
		return false;
	for (size_t k = 0; k < STR_LEN; k++)
		if (s[k] != 'a' + (char)((k + (size_t)i) % 26))
			return false;
	return true;
}

/* Even messages: data over caller memory (dispatch data, no copy) whose
 * destructor poisons and frees it.  Odd: xpc_data_create from a buffer
 * the caller overwrites right after the send.  All carry a big string. */
static xpc_object_t make_message(int i, uint8_t **ret_scratch)
{
	size_t len = size_of(i);
	uint8_t *buf = malloc(len);
	char *str = malloc(STR_LEN + 1);
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0), v;

	REQUIRE(buf && str && m);
	for (size_t k = 0; k < len; k++)
		buf[k] = byte_at(i, k);
	for (size_t k = 0; k < STR_LEN; k++)
		str[k] = 'a' + (char)((k + (size_t)i) % 26);
	str[STR_LEN] = 0;
	*ret_scratch = NULL;
	if (i % 2 == 0) {
		dispatch_data_t dd = dispatch_data_create(buf, len, NULL, ^{
			memset(buf, 0xee, len);
			free(buf);
			atomic_store(&gone[i], true);
			atomic_fetch_add(&destroyed, 1);
		});
		v = xpc_data_create_with_dispatch_data(dd);
		dispatch_release(dd);
	} else {
		v = xpc_data_create(buf, len);
		*ret_scratch = buf;
	}
	REQUIRE(v != NULL);
	xpc_dictionary_set_int64(m, "i", i);
	xpc_dictionary_set_value(m, "data", v);
	xpc_dictionary_set_string(m, "str", str);
	memset(str, 0, STR_LEN); /* the string object has its own copy */
	free(str);
	xpc_release(v);
	return m;
}

static void serve(xpc_connection_t p)
{
	xpc_connection_set_event_handler(p, ^(xpc_object_t m) {
		if (xpc_get_type(m) != XPC_TYPE_DICTIONARY)
			return;
		if (atomic_fetch_add(&received, 1) == 0) {
			dispatch_semaphore_signal(first);
			dispatch_semaphore_wait(gate, DISPATCH_TIME_FOREVER);
		}
		int i = (int)xpc_dictionary_get_int64(m, "i");
		size_t len = 0;
		const void *d = xpc_dictionary_get_data(m, "data", &len);
		if (payload_ok(i, d, len) && string_ok(i, xpc_dictionary_get_string(m, "str")))
			atomic_fetch_add(&good, 1);
		else
			fprintf(stderr, "message %d arrived damaged\n", i);
		xpc_object_t r = xpc_dictionary_create_reply(m);
		if (r) {
			xpc_connection_send_message(p, r);
			xpc_release(r);
		}
		if (atomic_load(&received) == N_MSGS)
			dispatch_semaphore_signal(done);
	});
	xpc_connection_resume(p);
}

/* Message @i, released (and its caller buffer overwritten) at once; odd
 * ones are requests (sent alone), even ones one-way (coalesced). */
static void send_one(xpc_connection_t c, dispatch_queue_t rq, int i)
{
	uint8_t *scratch;
	xpc_object_t m = make_message(i, &scratch);

	if (i % 2) {
		xpc_connection_send_message_with_reply(c, m, rq, ^(xpc_object_t r) {
			if (xpc_get_type(r) == XPC_TYPE_DICTIONARY)
				atomic_fetch_add(&answered, 1);
			dispatch_semaphore_signal(replied);
		});
	} else {
		xpc_connection_send_message(c, m);
	}
	xpc_release(m);
	if (scratch) {
		memset(scratch, 0xee, size_of(i));
		free(scratch);
	}
}

int main(void)
{
	harness_warm_dispatch();
	harness_begin(120);
	int base = harness_count_fds();
	gate = dispatch_semaphore_create(0);
	first = dispatch_semaphore_create(0);
	done = dispatch_semaphore_create(0);
	replied = dispatch_semaphore_create(0);
	dispatch_queue_t rq = dispatch_queue_create("sendref.replies", NULL);
	__block xpc_connection_t server_peer = NULL;
	xpc_connection_t l = xpc_connection_create(NULL, NULL);

	xpc_connection_set_event_handler(l, ^(xpc_object_t ev) {
		if (xpc_get_type(ev) != XPC_TYPE_CONNECTION)
			return;
		server_peer = xpc_retain(ev);
		serve(server_peer);
	});
	xpc_connection_resume(l);
	xpc_connection_t c = conn_test_connect(l);

	send_one(c, rq, 0); /* the link is up and the receiver blocked ... */
	REQUIRE(conn_test_wait(first, 30));
	for (int i = 1; i < N_MSGS; i++) /* ... so these fill its socket and queue */
		send_one(c, rq, i);
	pthread_mutex_lock(&c->lock);
	bool backlog = c->tx.head != NULL;
	pthread_mutex_unlock(&c->lock);
	CHECK(backlog);
	/* the last inline no-copy message is queued: its buffer is alive
	 * (out-of-line ones were copied into their memfd when sent) */
	usleep(100000);
	CHECK(!atomic_load(&gone[N_MSGS - 4]));

	dispatch_semaphore_signal(gate);
	CHECK(conn_test_wait(done, 60));
	for (int i = 0; i < N_MSGS / 2; i++)
		CHECK(conn_test_wait(replied, 60));
	CHECK_EQ_INT(atomic_load(&received), N_MSGS);
	CHECK_EQ_INT(atomic_load(&good), N_MSGS);
	CHECK_EQ_INT(atomic_load(&answered), N_MSGS / 2);
	/* every no-copy buffer was given back (destructors run on a queue) */
	for (int t = 0; t < 3000 && atomic_load(&destroyed) < N_MSGS / 2; t++)
		usleep(10000);
	CHECK_EQ_INT(atomic_load(&destroyed), N_MSGS / 2);

	xpc_connection_cancel(c);
	xpc_release(c);
	xpc_connection_cancel(server_peer);
	xpc_release(server_peer);
	xpc_connection_cancel(l);
	xpc_release(l);
	dispatch_release(rq);
	conn_test_settle_fds(base);
	return harness_end();
}
