/* SPDX-License-Identifier: MIT */
/*
 * xpc-private.h - libxpc's documented private API: what xpcd and xpcctl
 * need beyond Apple's public API, exported by libxpc.so under the version
 * node LIBXPC_PRIVATE_0 (src/libxpc.map) and nothing else.
 *
 * Only programs built from this source tree use it (xpcd, xpcctl, tests):
 * the header is not installed, and the names may change in any release, so
 * a package holding such a program depends on the exact libxpc version it
 * was built with (docs/packaging.md, "Private API").  Every name starts
 * with _xpc_linux_.  Each function is a thin, checked wrapper around the
 * connection layer's internal face (src/connection/connection.h), so xpcd
 * and xpcctl link libxpc.so and carry no copy of the library.
 */
#ifndef XPC_PRIVATE_XPC_PRIVATE_H
#define XPC_PRIVATE_XPC_PRIVATE_H

#include <stddef.h>
#include <sys/types.h>
#include <dispatch/dispatch.h>
#include <xpc/xpc.h>

#define XPC_PRIVATE_EXPORT extern __attribute__((visibility("default")))

/*
 * _xpc_linux_connection_create_from_socket() - a peer connection over a
 * connected AF_UNIX SOCK_SEQPACKET socket @fd (consumed, also on failure);
 * events on @q (NULL: the default global queue).  xpcd wraps each accepted
 * broker link with it; xpcctl its link to the broker.  Its frames never
 * go to the broker's monitors (XPC_MONITOR): a monitor's own events would
 * come back as frames.
 * Return: a +1 inactive connection, or NULL (ENOMEM).
 */
XPC_PRIVATE_EXPORT xpc_connection_t _xpc_linux_connection_create_from_socket(int fd,
									     dispatch_queue_t q);

/*
 * _xpc_linux_connection_set_send_limits() - bound what @conn's out-queue
 * holds (bytes and descriptors the peer has not taken yet) below the
 * defaults; a send over a limit cuts the link (docs/broker.md).
 */
XPC_PRIVATE_EXPORT void _xpc_linux_connection_set_send_limits(xpc_connection_t conn,
							      size_t max_bytes, size_t max_fds);

/*
 * _xpc_linux_connection_set_receive_limit() - bound the out-of-line message
 * bodies @conn's peer can make this process hold at once; 0 refuses every
 * body larger than an inline frame (xpcd's client links: requests are
 * small).  Call it before activating the connection.
 * Return: 0, -EBUSY (already active), or -ENOMEM.
 */
XPC_PRIVATE_EXPORT int _xpc_linux_connection_set_receive_limit(xpc_connection_t conn, size_t max_bytes);

/*
 * _xpc_linux_connection_copy_limit_reason() - why @conn ended, when it was
 * one of its limits (send limits, descriptors, memory: the reasons that
 * start "limit exceeded": the connection layer's outcome codes), so xpcd
 * need not read reason texts.
 * Return: the reason (malloc'd, the caller frees it), or NULL when @conn
 *         has not ended or ended for another reason.
 */
XPC_PRIVATE_EXPORT char *_xpc_linux_connection_copy_limit_reason(xpc_connection_t conn);

/*
 * _xpc_linux_listener_pair() - a listener pair (R, W): an AF_UNIX
 * SOCK_SEQPACKET socketpair, close-on-exec, R set up to receive
 * credentials.  xpcd makes one per MachServices name.
 * Return: 0 with both set (owned by the caller), or a negative errno.
 */
XPC_PRIVATE_EXPORT int _xpc_linux_listener_pair(int *ret_recv_fd, int *ret_send_fd);

/*
 * _xpc_linux_checkin_abandoned() - is @link_fd (borrowed: the link a
 * check-in queued on a listener pair's R carries, peeked at by xpcd) one
 * whose client is gone and left nothing to deliver: its client's end is
 * closed and no message that wants no reply waits on it.  A client that
 * sent a message and exited has not abandoned it (docs/broker.md).
 */
XPC_PRIVATE_EXPORT bool _xpc_linux_checkin_abandoned(int link_fd);

/*
 * _xpc_linux_checkin_refuse() - answer a check-in taken off a listener
 * pair's R with a refusal instead of a HELLO: @link_fd (borrowed) must be
 * a link its sender made (the packet's SCM_CREDENTIALS @pid, @uid, @gid
 * equal its SO_PEERCRED, as a listener checks: a socket forwarded by
 * another process gets nothing), which is then told @why; its client's
 * connection becomes INVALID with @why as the reason.  xpcd answers so
 * the check-ins queued for a service that cannot start (docs/broker.md).
 * Return: 0, or a negative errno (-EPERM: not a link its sender made).
 */
XPC_PRIVATE_EXPORT int _xpc_linux_checkin_refuse(int link_fd, pid_t pid, uid_t uid, gid_t gid, const char *why);

/*
 * _xpc_linux_checkin_forward() - xpcd's check-in for a client over the W
 * of a listener pair (@send_fd; docs/security.md, "Shared channels"):
 * @link_fd (borrowed) must be a link made by the process @pid, @uid, @gid
 * (the caller's identity as xpcd verified it), and is sent in a CHECKIN
 * frame stating those ids, so the listener accepts it as that process's.
 * Return: 0; -EACCES: @link_fd is not a link that process made; -EPERM:
 * this process may not state those ids (it needs CAP_SYS_ADMIN,
 * CAP_SETUID and CAP_SETGID); -EAGAIN: the listener's backlog is full;
 * another negative errno: the channel is closed.
 */
XPC_PRIVATE_EXPORT int _xpc_linux_checkin_forward(int send_fd, int link_fd, pid_t pid, uid_t uid, gid_t gid);

/*
 * _xpc_linux_channel_give() - xpcd gives the listener of a listener
 * pair's W (@send_fd) the R (@recv_fd, borrowed) of another pair, its
 * user @uid's own channel (docs/security.md, "Per-user channels"): a
 * CHANNEL frame stating this process's ids (the listener takes it from
 * root or its own user only, and then only @uid's check-ins from it).
 * Return: 0, -EAGAIN (the listener's backlog is full), or a negative errno.
 */
XPC_PRIVATE_EXPORT int _xpc_linux_channel_give(int send_fd, int recv_fd, uid_t uid);

/*
 * _xpc_linux_channel_move() - the check-ins queued in @recv_fd (the R of
 * @uid's channel, which no listener reads any more) go over @send_fd (a
 * listener pair's W) as forwarded check-ins stating their senders' ids
 * (_xpc_linux_checkin_forward); a packet that is not a check-in its
 * sender made is dropped, and a check-in of another user than @uid (a W
 * passed on) or that finds the backlog full is refused.  Needs what
 * _xpc_linux_checkin_forward needs.
 * Return: how many were moved.
 */
XPC_PRIVATE_EXPORT int _xpc_linux_channel_move(int recv_fd, int send_fd, uid_t uid);

/*
 * _xpc_linux_endpoint_create_from_send_fd() - an endpoint for the W of a
 * listener pair (@send_fd borrowed, duplicated close-on-exec).
 * Return: a +1 endpoint, or NULL with errno set.
 */
XPC_PRIVATE_EXPORT xpc_endpoint_t _xpc_linux_endpoint_create_from_send_fd(int send_fd);

/*
 * _xpc_linux_send_message_once() - encode @message (a dictionary without
 * descriptors) and send it as one message frame on the socket @fd
 * (borrowed), without blocking and without any connection state: xpcd's
 * one-shot refusal of a client over its limits.
 * Return: 0, or a negative errno (-EINVAL: not encodable or carries
 * descriptors; -EAGAIN: the socket is full; others from sendmsg).
 */
XPC_PRIVATE_EXPORT int _xpc_linux_send_message_once(int fd, xpc_object_t message);

/*
 * _xpc_linux_dispatch_after_f() - dispatch_after_f() that reports failure:
 * 0, or -ENOMEM when the timer could not be allocated (@work not called).
 */
XPC_PRIVATE_EXPORT int _xpc_linux_dispatch_after_f(dispatch_time_t when, dispatch_queue_t queue,
						   void *context, dispatch_function_t work);

/* ---- RemoteXPC serving (src/transport/remote/serve.c): xpc-remoted and xpcd ------- */

#include <stdbool.h>
#include <stdint.h>

/*
 * _xpc_linux_remote_available() - whether RemoteXPC can be used: libxpc.so
 * loads its module (libxpc-remote.so, src/transport/remote/load.c) on
 * the first call of any _xpc_linux_remote_* or xpc_linux_remote_*
 * function; this loads it at once.  Return: true, or false with errno
 * ELIBACC and *ret_error (malloc'd) naming the module and why it did not
 * load.  Programs linking the layers directly always get true.
 */
XPC_PRIVATE_EXPORT bool _xpc_linux_remote_available(char **ret_error);

/* A TLS configuration (src/transport/remote/tls.c), shared by reference. */
typedef struct RemoteTls *_xpc_linux_remote_tls_t;

/*
 * _xpc_linux_remote_tls_load() - the server's TLS configuration from @path:
 * with @psk_line, a file holding one line "IDENTITY:HEXKEY" (the old
 * --psk-file); else a configuration file (remote.h: psk, or certificate,
 * private-key, peer-sha256, ca, peer-subject).  A file holding a key must
 * be readable by its owner only.
 * Return: one reference, or NULL with *ret_error (malloc'd) saying why.
 */
XPC_PRIVATE_EXPORT _xpc_linux_remote_tls_t _xpc_linux_remote_tls_load(const char *path, bool psk_line,
								       char **ret_error);
XPC_PRIVATE_EXPORT void _xpc_linux_remote_tls_release(_xpc_linux_remote_tls_t tls);

/* True when @addr is a numeric loopback address (127.0.0.0/8, ::1). */
XPC_PRIVATE_EXPORT bool _xpc_linux_remote_address_is_loopback(const char *addr);

/*
 * _xpc_linux_remote_listen() - a listening TCP socket on @addr:@port (0:
 * the kernel picks), non-blocking and close-on-exec; loopback only unless
 * @any_address (the caller runs TLS).
 * Return: the fd with *ret_port, or a negative errno (-EPERM: not loopback;
 * -ELIBACC: the module did not load).
 */
XPC_PRIVATE_EXPORT int _xpc_linux_remote_listen(const char *addr, uint16_t port, bool any_address,
						uint16_t *ret_port);

/* The discovery handshake dictionary for services @names on @ports, the
 * host's @properties and a @uuid (+1). */
XPC_PRIVATE_EXPORT xpc_object_t _xpc_linux_remote_handshake(const uint8_t uuid[16], xpc_object_t properties,
							     const char *const *names, const uint16_t *ports,
							     size_t n);

/*
 * _xpc_linux_remote_serve_discovery() / _xpc_linux_remote_serve_service()
 * - serve, until the process ends, the discovery port (every session gets
 * @handshake) or a service port (every session bridged to the local named
 * service @name through the broker, docs/remote.md) on @listen_fd
 * (consumed), inside TLS when @tls (retained).
 * Return: 0, or -ENOMEM (-ELIBACC without the module).
 */
XPC_PRIVATE_EXPORT int _xpc_linux_remote_serve_discovery(int listen_fd, xpc_object_t handshake,
							 _xpc_linux_remote_tls_t tls);
XPC_PRIVATE_EXPORT int _xpc_linux_remote_serve_service(int listen_fd, const char *name,
						       _xpc_linux_remote_tls_t tls);

#endif /* XPC_PRIVATE_XPC_PRIVATE_H */
