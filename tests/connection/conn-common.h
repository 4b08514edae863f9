/* SPDX-License-Identifier: MIT */
/*
 * conn-common.h - what the connection tests share: an echo service that any
 * test (or helper process) can run on a listener, a listener whose peer
 * holds its first message (a gated sink), a stand-in broker for named
 * connections, and small waiting helpers.
 *
 * The service answers these "op"s:
 *   echo     reply { echo: <the message> }
 *   seq      one-way; checks "n" counts up from 0 per peer
 *   getseq   reply { count, inorder }
 *   hold     keeps the message unanswered (for kill/cancel tests)
 *   fd       writes "xpc" into the descriptor "fd", replies {}
 *   shmem    maps "shm", replies { sum: byte sum of the first 4096 bytes }
 *   pid      reply { pid: the service's pid }
 */
#ifndef XPC_TESTS_CONN_COMMON_H
#define XPC_TESTS_CONN_COMMON_H

#include <dispatch/dispatch.h>
#include <xpc/xpc.h>
#include <stdatomic.h>
#include <sys/types.h>

typedef struct PeerState {
	uint64_t expect;
	bool inorder;
	xpc_object_t held[64];
	int n_held;
} PeerState;

void conn_test_serve_peer(xpc_connection_t peer);
/* A listener (created here, resumed) that serves every peer; +1. */
xpc_connection_t conn_test_start_echo_listener(dispatch_queue_t q);
/* A client of @listener's endpoint whose handler ignores every event,
 * resumed; +1. */
xpc_connection_t conn_test_connect(xpc_connection_t listener);
/* The same from the endpoint @ep (borrowed). */
xpc_connection_t conn_test_connect_endpoint(xpc_endpoint_t ep);
/* Sends { op: @op } on @c and waits for its reply: whether a dictionary
 * came. */
bool conn_test_ask(xpc_connection_t c, const char *op);
/*
 * A listener whose peer (the first one: a test makes one client) takes
 * one-way messages numbered "n" from 0: it stops at the first until @gate
 * is signalled (the rest queue up meanwhile), counts them in @received,
 * clears @inorder when one comes out of turn, and signals @done at the
 * @n_msgs-th.  A request with "hello" is answered at once and not counted.
 * The struct must outlive the handlers (file scope).
 */
typedef struct GatedSink {
	int n_msgs;
	dispatch_semaphore_t gate, done, have_peer;
	xpc_connection_t peer; /* +1, set before have_peer is signalled */
	atomic_int received;
	atomic_bool inorder;
} GatedSink;

/* Sets @s up for @n_msgs messages and starts its listener (+1). */
xpc_connection_t conn_test_gated_sink_start(GatedSink *s, int n_msgs);
/* Cancels and releases the peer and the listener @l (the semaphores stay:
 * a handler thread may still be inside a signal). */
void conn_test_gated_sink_stop(GatedSink *s, xpc_connection_t l);

/* Waits for @sem up to @seconds; false on timeout. */
bool conn_test_wait(dispatch_semaphore_t sem, unsigned seconds);

/* A test child's end of its link to the parent: sets @link's handler and
 * resumes it; returns the first "endpoint" the parent sends on it (+1),
 * NULL after 60 s.  @gone is signalled when the link ends. */
xpc_endpoint_t conn_test_link_endpoint(xpc_connection_t link, dispatch_semaphore_t gone);
/* The parent's side of that: starts `@self child FD ARGS...` (@args
 * NULL-terminated, at most 4), FD the child's end of a link to this
 * process; *ret_link gets our end (no handler yet, not resumed).  Returns
 * the child's pid. */
pid_t conn_test_spawn_child(const char *self, const char *const *args, xpc_connection_t *ret_link);
/* Sends the endpoint of listener @l on @link, as the child waits for it. */
void conn_test_send_endpoint(xpc_connection_t link, xpc_connection_t l);
/* Checks in by hand over listener @l's W (the check-in frame and the
 * descriptor, as a client would) and reads the HELLO; returns our end of
 * the link, for a test to speak raw frames on. */
int conn_test_raw_checkin(xpc_connection_t l);
/* Waits until the process has @n descriptors open (teardown is async). */
void conn_test_settle_fds(int n);
/* A stand-in broker listening on @path as docs/services.md says (point
 * $XPCD_SOCKET at it): "lookup" of @name answers an endpoint of the
 * listener @service, any other name "unknown name".  +1. */
dispatch_source_t conn_test_broker_start(const char *path, const char *name, xpc_connection_t service);
/* Stops it (its socket is closed by the cancel handler), unlinks @path,
 * releases it. */
void conn_test_broker_stop(dispatch_source_t broker, const char *path);

#endif
