/* SPDX-License-Identifier: MIT */
/*
 * connection.h - the connection layer's internal face, for the broker (xpcd)
 * and for tests that need to build links by hand.
 *
 * Model (docs/transport.md, docs/connections.md): every link is one AF_UNIX
 * SOCK_SEQPACKET socket.  A listener is the receive side R of a socketpair
 * (R, W); an endpoint is a duplicate of W.  Connecting through an endpoint
 * makes a fresh socketpair (c, s), keeps c and sends s over W in a check-in
 * frame; the listener receives s on R and hands a new peer connection to its
 * event handler.
 *
 * Every function here returns objects in the state Apple's API gives them:
 * connections are inactive (set an event handler, then resume/activate).
 * Descriptor ownership is in the argument names: _consume = the callee owns
 * it from the call on (also on failure), _borrow = the caller keeps it.
 * This header is stable: add to it, never change what is here.
 */
#ifndef XPC_CONNECTION_CONNECTION_H
#define XPC_CONNECTION_CONNECTION_H

#include <dispatch/dispatch.h>
#include <xpc/xpc.h>

/*
 * connection_create_from_socket() - a peer connection over a connected
 * SOCK_SEQPACKET socket (xpcd wraps accepted broker-socket links with it;
 * clients use it for their link to the broker).
 * @fd:  consumed; a connected AF_UNIX SOCK_SEQPACKET socket, close-on-exec
 * @q:   target queue of the event handler (NULL: the default global queue)
 *
 * The peer's credentials come from SO_PEERCRED at once and from
 * SCM_CREDENTIALS of every received frame.  The connection is not named:
 * when the peer goes away it becomes INVALID ("peer exited").
 * Return: a +1 inactive connection, or NULL (ENOMEM; @fd closed).
 */
xpc_connection_t connection_create_from_socket(int fd, dispatch_queue_t q);

/* Marks @c, not yet activated, as a broker link of xpcd or xpcctl: its
 * frames never go to the broker's monitors (XPC_MONITOR, tap.c). */
void connection_set_untapped(xpc_connection_t c);

/*
 * connection_create_listener_from_fd() - a listener over the receive side of
 * a listener pair (the R of (R, W); xpcd's per-name channels, XPCD_LISTEN_*).
 * @recv_fd: consumed; close-on-exec is set on it
 * @name:    copied; what xpc_connection_get_name() returns (may be NULL)
 * @q:       target queue of the event handler (NULL: default global queue)
 *
 * Its event handler receives a new peer connection per check-in.
 * xpc_endpoint_create() on it works only if the listener knows its W, which
 * it does not here: make endpoints from W with endpoint_create_from_send_fd().
 * Return: a +1 inactive listener, or NULL (ENOMEM; @recv_fd closed).
 */
xpc_connection_t connection_create_listener_from_fd(int recv_fd, const char *name, dispatch_queue_t q);

/*
 * endpoint_create_from_send_fd() - an endpoint from the W of a listener pair.
 * @send_fd: borrowed; duplicated (F_DUPFD_CLOEXEC)
 * Return: a +1 endpoint, or NULL with errno set.
 */
xpc_endpoint_t endpoint_create_from_send_fd(int send_fd);

/*
 * connection_listener_pair() - make a listener pair (R, W): a
 * SOCK_SEQPACKET | SOCK_CLOEXEC socketpair, R set up to receive credentials.
 * @ret_recv_fd, @ret_send_fd: set on success; the caller owns both.
 * Return: 0 or a negative errno.
 */
int connection_listener_pair(int *ret_recv_fd, int *ret_send_fd);

/*
 * connection_get_socket_borrow() - the descriptor a connection currently
 * uses (the link of a peer, R of a listener), -1 if none; borrowed, valid
 * only while the connection is neither cancelled nor invalid.  For tests.
 */
int connection_get_socket_borrow(xpc_connection_t conn);

/*
 * connection_set_send_limits() - bound what the connection's out-queue may
 * hold (frames the peer has not taken yet) below the defaults
 * (CONN_MAX_UNSENT bytes, CONN_MAX_UNSENT_FDS descriptors).  When a send
 * finds the queue at a limit, the link is cut with the reason
 * "limit exceeded: unsent messages (peer not reading)".  xpcd uses it on
 * its client links (docs/broker.md).
 */
void connection_set_send_limits(xpc_connection_t conn, size_t max_bytes, size_t max_fds);

/*
 * connection_set_receive_limit() - bound the out-of-line message bodies
 * this connection's peer can make this process hold at once (allocated
 * when received, until the last object holding one is released) below
 * the default (CONN_MAX_RX_HELD per link, under the process's
 * TRANSPORT_RX_PROCESS_MAX).  0 refuses every body larger than an inline
 * frame.  A body over the limit ends the link: "limit exceeded: memory
 * for received messages".  Call it before activating the connection;
 * afterwards (or without memory) the limit stays as it was.  xpcd uses
 * it on its client links (requests are small).
 * Return: 0, -EBUSY (already active), or -ENOMEM.
 */
int connection_set_receive_limit(xpc_connection_t conn, size_t max_bytes);

/*
 * connection_forget_services() - empty the process-wide cache of looked-up
 * channels (name -> W, docs/services.md) and close its descriptors; the
 * next named connection asks the broker again.  The test harness calls it
 * before its descriptor-leak check.
 */
void connection_forget_services(void);

/*
 * connection_lookup_service() - ask the broker for @name's endpoint now, on
 * the calling thread (the sessions of src/session fail at activation for an
 * unknown name, as on macOS).  The same request as a named connection's
 * lookup (docs/services.md); the cache of looked-up channels is neither
 * read nor filled.
 * @name:       the service name
 * @privileged: ask the system broker (XPC_CONNECTION_MACH_SERVICE_PRIVILEGED)
 * @ret_reason: on failure, a malloc'd reason ("unknown name", "denied",
 *              "no broker at PATH: ...", ...), or NULL out of memory
 * @ret_by_name: set when the name exists but the broker hands this caller
 *              no endpoint (only root and the service's user may hold
 *              one): connect by name, checking in through the broker
 * Return: a +1 endpoint, or NULL.  Blocks until the broker answers.
 */
xpc_endpoint_t connection_lookup_service(const char *name, bool privileged, char **ret_reason, bool *ret_by_name);

/* The invalidation reason of @c when a limit ended it (ConnError's
 * "limit exceeded" outcomes), malloc'd; NULL otherwise (xpcd's client
 * links: src/private/private.c). */
char *connection_copy_limit_reason(xpc_connection_t c);

#endif /* XPC_CONNECTION_CONNECTION_H */
