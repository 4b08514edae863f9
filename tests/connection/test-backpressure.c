/* SPDX-License-Identifier: MIT */
/*
 * test-backpressure.c - a receiver whose handler is stuck stops reading
 * after a bounded amount of queued data: what it holds stays under
 * CONN_MAX_UNREAD (+ one read batch), the flood waits on the sender's side
 * (its out-queue), and once the handler moves again everything arrives in
 * order.
 */
#include "connection/internal.h"
#include "conn-common.h"
#include "harness.h"

#include <string.h>
#include <unistd.h>

#define N_MSGS 1500
#define MSG_BYTES (32 * 1024)

/* file scope: a handler thread may still be inside a signal at the end */
static GatedSink sink;

int main(void)
{
	harness_warm_dispatch();
	harness_begin(120);
	int base = harness_count_fds();
	xpc_connection_t l = conn_test_gated_sink_start(&sink, N_MSGS);

	xpc_connection_t c = conn_test_connect(l);

	char *payload = malloc(MSG_BYTES + 1);
	memset(payload, 'x', MSG_BYTES);
	payload[MSG_BYTES] = 0;
	for (int i = 0; i < N_MSGS; i++) {
		xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0);
		xpc_dictionary_set_int64(m, "n", i);
		xpc_dictionary_set_string(m, "payload", payload);
		xpc_connection_send_message(c, m);
		xpc_release(m);
	}
	free(payload);
	sleep(1);
	REQUIRE(conn_test_wait(sink.have_peer, 30));
	REQUIRE(sink.peer != NULL);
	pthread_mutex_lock(&sink.peer->lock);
	size_t unread = sink.peer->rx.unread;
	bool paused = sink.peer->rx.paused;
	pthread_mutex_unlock(&sink.peer->lock);
	pthread_mutex_lock(&c->lock);
	bool backlog = c->tx.head != NULL;
	pthread_mutex_unlock(&c->lock);
	fprintf(stderr, "unread %zu paused %d sender backlog %d received %d\n", unread, paused, backlog,
		atomic_load(&sink.received));
	CHECK(unread <= CONN_MAX_UNREAD + 64 * (MSG_BYTES + 1024));
	/* The handler runs on the reading queue, so a stuck handler stops
	 * reading at once (paused stays false); reads made by other paths
	 * are bounded by CONN_MAX_UNREAD. */
	(void)paused;
	CHECK(backlog);
	CHECK(atomic_load(&sink.received) == 1);

	dispatch_semaphore_signal(sink.gate);
	CHECK(conn_test_wait(sink.done, 60));
	CHECK_EQ_INT(atomic_load(&sink.received), N_MSGS);
	CHECK(atomic_load(&sink.inorder));

	xpc_connection_cancel(c);
	xpc_release(c);
	conn_test_gated_sink_stop(&sink, l);
	conn_test_settle_fds(base);
	return harness_end();
}
