/* SPDX-License-Identifier: MIT */
/*
 * remote.h - the remote layer's internal face: RemoteXPC, XPC messages
 * between hosts over HTTP/2 in Apple's framing (docs/remote.md).
 *
 * Three parts, each one file:
 *
 * - message.c: the 24-byte wrapper around a standalone-encoded object
 *   (magic, flags, body length, message id) both ways.  The reader takes
 *   the bytes of one stream in pieces of any size, buffers at most the body
 *   of the message it is on (never more than REMOTE_MAX_BODY, grown only as
 *   bytes arrive) and hands out one message at a time.
 * - session.c (with session-out.c, session-io.c; session.h): one TCP
 *   connection driven by nghttp2 (client or server role): the set-up exchange, the root channel (stream 1) and the reply
 *   channel (stream 3), messages queued whole and sent one stream at a
 *   time, every resource a peer can grow bounded.  All of a session's work
 *   runs on the serial queue given at creation; its callbacks run there.
 * - net.c: TCP sockets: connect with a timeout, listen; the loopback test in loopback.c.
 *
 * Above them: client.c (the public xpc_linux_remote_* calls) and serve.c
 * (the serving bridge that xpc-remoted runs).
 */
#ifndef XPC_REMOTE_REMOTE_H
#define XPC_REMOTE_REMOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <dispatch/dispatch.h>
#include <xpc/xpc.h>

#include "wire/wire.h"

/* ---- the wrapper (message.c) ---------------------------------------------- */

#define REMOTE_WRAPPER_MAGIC 0x29b00b92u
#define REMOTE_HEADER_SIZE 24u

#define REMOTE_FLAG_ALWAYS_SET 0x000001u
#define REMOTE_FLAG_DATA_PRESENT 0x000100u
#define REMOTE_FLAG_SETUP 0x000200u          /* once on the root channel at set-up */
#define REMOTE_FLAG_WANTING_REPLY 0x010000u
#define REMOTE_FLAG_REPLY 0x020000u
#define REMOTE_FLAG_INIT_HANDSHAKE 0x400000u /* once on the reply channel at set-up */
/* The flags this implementation knows; any other bit is refused. */
#define REMOTE_FLAGS_KNOWN                                                              \
	(REMOTE_FLAG_ALWAYS_SET | REMOTE_FLAG_DATA_PRESENT | REMOTE_FLAG_SETUP |         \
	 REMOTE_FLAG_WANTING_REPLY | REMOTE_FLAG_REPLY | REMOTE_FLAG_INIT_HANDSHAKE)

/* The largest body accepted or sent (the wrapper's L). */
#define REMOTE_MAX_BODY (16u << 20)

enum {
	REMOTE_E_BAD_MAGIC = 100, /* wrapper magic is not 0x29b00b92 */
	REMOTE_E_BAD_FLAGS,       /* ALWAYS_SET missing, or an unknown flag */
	REMOTE_E_TOO_BIG,         /* L beyond REMOTE_MAX_BODY */
	REMOTE_E_BUDGET,          /* the readers of all sessions hold their budget */
};

/* The body bytes the readers of a serving process hold at once, all
 * sessions together (remote_reader_set_budget; message.c). */
#define REMOTE_MAX_HELD_INPUT (128u << 20)

/* One message as read: @body is NULL when L is 0 or it did not decode
 * (then @body_error is the WIRE_E_* code). */
typedef struct RemoteMessage {
	uint32_t flags;
	uint64_t id;
	xpc_object_t body; /* +1, owned by whoever holds the message */
	int body_error;
} RemoteMessage;

typedef struct RemoteReader {
	uint8_t hdr[REMOTE_HEADER_SIZE];
	size_t hdr_len;
	uint32_t flags;
	uint64_t id;
	size_t body_len;  /* L of the message being read */
	uint8_t *body;    /* malloc'd, grown as bytes arrive */
	size_t body_have, body_cap;
} RemoteReader;

void remote_reader_init(RemoteReader *r);
void remote_reader_free(RemoteReader *r);
/* Caps the body bytes all readers of the process hold at once (@bytes;
 * SIZE_MAX, the default, is no cap); a reader that would pass it fails
 * with REMOTE_E_BUDGET. */
void remote_reader_set_budget(size_t bytes);

/*
 * remote_reader_feed() - take bytes of one stream.
 * @p, @n:     the bytes (borrowed)
 * @ret_used:  how many of them were taken (always set)
 * @ret_msg:   set when 1 is returned; the caller owns its body
 *
 * Return: 0 when all bytes were taken and no message is complete yet, 1
 *         when a message is complete (call again with the rest), a
 *         REMOTE_E_* code (the stream cannot be read further), or -ENOMEM.
 */
int remote_reader_feed(RemoteReader *r, const uint8_t *p, size_t n, size_t *ret_used, RemoteMessage *ret_msg);

/*
 * remote_message_encode() - a whole wrapped message, malloc'd.
 * @body: NULL for no body (L = 0), else any encodable object (borrowed)
 * Return: 0 with *ret_bytes / *ret_len, a WIRE_E_* code from the encoder
 *         (WIRE_E_UNSERIALIZABLE: descriptors, connections, errors),
 *         REMOTE_E_TOO_BIG, or -ENOMEM.
 */
int remote_message_encode(uint32_t flags, uint64_t id, xpc_object_t body, uint8_t **ret_bytes, size_t *ret_len);

/* Text for a REMOTE_E_* or WIRE_E_* code or a negative errno. */
const char *remote_strerror(int err);

/* An error-shaped reply body: { XPCErrorDescription: @text } (+1). */
xpc_object_t remote_error_dictionary(const char *text);

/* ---- the HTTP/2 session (session.c) --------------------------------------- */

#define REMOTE_STREAM_ROOT 1
#define REMOTE_STREAM_REPLY 3
#define REMOTE_MAX_UNSENT (64u << 20)     /* queued output before the session is cut */
#define REMOTE_SETUP_TIMEOUT_S 10        /* a server's wait for the set-up messages */

typedef struct RemoteSession RemoteSession;
typedef struct RemoteTls RemoteTls; /* tls.c */

typedef struct RemoteSessionOps {
	/* The set-up messages have arrived (server) or been sent (client). */
	void (*ready)(RemoteSession *s, void *ctx);
	/* A message with data on @stream; @m->body is borrowed. */
	void (*message)(RemoteSession *s, int32_t stream, const RemoteMessage *m, void *ctx);
	/* The session ended (once, the last call); @reason is borrowed. */
	void (*closed)(RemoteSession *s, const char *reason, void *ctx);
} RemoteSessionOps;

/*
 * remote_session_new() - a session over a connected TCP socket.
 * @fd:     consumed (closed when the session ends, also on failure)
 * @server: the role
 * @ops, @ctx: callbacks, run on @q; @ctx borrowed until closed() returned
 * @q:      a serial queue (retained)
 * Return: a session with one reference for the caller, not started; NULL
 *         on ENOMEM.
 */
RemoteSession *remote_session_new(int fd, bool server, const RemoteSessionOps *ops, void *ctx, dispatch_queue_t q);
/* Runs the session inside TLS (@tls in the session's role, retained);
 * before remote_session_start() only.  Return: 0 or -ENOMEM. */
int remote_session_set_tls(RemoteSession *s, RemoteTls *tls);
/* Starts the I/O (TLS: the handshake first; then server: its SETTINGS go
 * out first; client: the set-up). */
void remote_session_start(RemoteSession *s);
/*
 * remote_session_send() - queue one message; any thread.
 * @body: borrowed (encoded before the call returns), or NULL
 * Return: 0, or the remote_message_encode() error (nothing queued).  A
 * session that ended drops the message; one whose queue would pass
 * REMOTE_MAX_UNSENT ends ("limit exceeded: unsent messages").
 */
int remote_session_send(RemoteSession *s, int32_t stream, uint32_t flags, uint64_t id, xpc_object_t body);
/* Ends the session (any thread); closed() follows on the queue. */
void remote_session_close(RemoteSession *s, const char *reason);
RemoteSession *remote_session_retain(RemoteSession *s);
void remote_session_release(RemoteSession *s);

/* ---- TLS with a pre-shared key (tls.c) ------------------------------------ */

#define REMOTE_TLS_MIN_KEY 16u
#define REMOTE_TLS_MAX_KEY 64u
#define REMOTE_TLS_MAX_IDENTITY 128u

typedef struct ssl_st SSL;

/* A TLS configuration for one role: @identity names the key (1..128
 * bytes), @key is 16..64 bytes (copied).  Return: one reference, or NULL
 * with errno EINVAL (bad identity or key length) or ENOMEM. */
RemoteTls *remote_tls_new_psk(bool server, const char *identity, const void *key, size_t key_len);
/* The same from a file holding one line "IDENTITY:HEXKEY".  On failure
 * *ret_error says why (static text). */
RemoteTls *remote_tls_load_psk_file(bool server, const char *path, const char **ret_error);
/* The same from the text "IDENTITY:HEXKEY" (@line is modified). */
RemoteTls *remote_tls_parse_psk(bool server, char *line, const char **ret_error);

/* Certificates with mutual authentication: our certificate (chain, PEM)
 * and private key, and who is accepted: a certificate whose SHA-256
 * fingerprint is listed, or one that chains to @ca and whose subject
 * (RFC 2253 text, e.g. "CN=client,O=Example") is listed. */
typedef struct RemoteTlsCertConfig {
	const char *certificate, *private_key, *ca; /* paths; @ca may be NULL */
	const char *const *subjects;
	size_t n_subjects;
	const uint8_t (*fingerprints)[32];
	size_t n_fingerprints;
} RemoteTlsCertConfig;
/* Return: one reference, or NULL with *ret_error (text valid until this
 * thread's next call): no accepted peer, a subject without a CA, a file
 * OpenSSL cannot use. */
RemoteTls *remote_tls_new_cert(bool server, const RemoteTlsCertConfig *c, const char **ret_error);

/*
 * remote_tls_load_config() - a TLS configuration file (tls-config.c):
 *
 *   # comment
 *   psk IDENTITY:HEXKEY        a pre-shared key (then nothing else), or
 *   certificate PATH           our certificate chain (PEM)
 *   private-key PATH           its key (PEM; only its owner may read it)
 *   peer-sha256 HEX            an accepted peer certificate (repeatable)
 *   ca PATH                    CA certificates (PEM) for peer-subject
 *   peer-subject RFC2253       an accepted subject under @ca (repeatable)
 *
 * Paths are absolute.  A file with psk must be readable by its owner only.
 * Return: one reference, or NULL with *ret_error (thread-local text).
 */
RemoteTls *remote_tls_load_config(bool server, const char *path, const char **ret_error);
RemoteTls *remote_tls_retain(RemoteTls *t);
void remote_tls_release(RemoteTls *t); /* NULL is fine */
bool remote_tls_is_server(const RemoteTls *t);
/* An SSL over @fd (borrowed) in @t's role; NULL on ENOMEM. */
SSL *remote_tls_ssl_new(RemoteTls *t, int fd);
/* The text of this thread's last OpenSSL error (cleared). */
const char *remote_tls_error(void);

/* ---- sockets (net.c) ------------------------------------------------------ */

/* True for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104 (loopback.c). */
bool remote_net_is_loopback(const struct sockaddr *sa);
/* Connects to @host:@port within @timeout_ms; a non-blocking, close-on-exec
 * socket with TCP_NODELAY.  Return: fd, or a negative errno (-EHOSTUNREACH
 * also when the name did not resolve). */
int remote_net_connect(const char *host, uint16_t port, int timeout_ms);
/* Listens on @addr:@port (port 0: the kernel picks); loopback only unless
 * @any_address (the caller has TLS).  Return: fd (non-blocking,
 * close-on-exec) with *ret_port, or a negative errno: -EPERM for an
 * address that is not loopback. */
int remote_net_listen(const char *addr, uint16_t port, bool any_address, uint16_t *ret_port);

#endif
