/* SPDX-License-Identifier: MIT */
/*
 * serve.h - the serving side of RemoteXPC (serve.c): a discovery port and
 * per-service ports bridged to local named services.  xpc-remoted runs it.
 */
#ifndef XPC_REMOTE_SERVE_H
#define XPC_REMOTE_SERVE_H

#include <stdint.h>
#include <xpc/xpc.h>

#include "transport/remote/remote.h"

/* Sessions one port holds at a time; more are accepted and closed. */
#define REMOTE_MAX_SESSIONS 64u
/* Of them, sessions from one address (IPv4, or an IPv6 /64) or, on
 * loopback, one local user (by uid): one peer cannot take the whole port. */
#define REMOTE_MAX_SESSIONS_PER_ADDRESS 8u
/* Lines about refused or failed sessions xpc-remoted logs per
 * REMOTE_LOG_WINDOW_S, each kind; the rest are counted. */
#define REMOTE_LOG_BURST 16u
#define REMOTE_LOG_WINDOW_S 10
/* Requests of one session waiting for the local service's reply. */
#define REMOTE_MAX_PENDING_SERVED 1024u
/* A ready session with no pending request that completes no message for
 * this long is closed ("idle timed out"); XPC_REMOTE_IDLE_TIMEOUT=SECONDS
 * (xpc-remoted --idle-timeout) sets another span, 0 none. */
#define REMOTE_IDLE_TIMEOUT_S 120

typedef struct RemotePort RemotePort;

/*
 * remote_serve_discovery() - answer every session on @listen_fd with
 * @handshake (retained) once its set-up has arrived.
 * @listen_fd: consumed; a listening, non-blocking TCP socket
 * @tls:       NULL, or every session runs inside TLS with it (retained)
 * Return: the port (lives until the process ends), or NULL (ENOMEM).
 */
RemotePort *remote_serve_discovery(int listen_fd, xpc_object_t handshake, RemoteTls *tls);

/*
 * remote_serve_service() - bridge every session on @listen_fd to the local
 * named service @name (copied): one xpc_connection_create_mach_service()
 * per session, made at its first message or when its set-up is complete.
 * @listen_fd: consumed
 * Return: the port, or NULL (ENOMEM).
 */
RemotePort *remote_serve_service(int listen_fd, const char *name, RemoteTls *tls);

/* A handshake dictionary: MessageType, MessagingProtocolVersion 7, @uuid,
 * Properties (@properties, retained), Services from @names/@ports.
 * Return: +1 dictionary. */
xpc_object_t remote_serve_handshake(const uint8_t uuid[16], xpc_object_t properties, const char *const *names,
				    const uint16_t *ports, size_t n);

#endif
