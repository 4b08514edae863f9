/* SPDX-License-Identifier: MIT */
/*
 * session.h - one RemoteXPC session over HTTP/2, shared by its three files
 * (never included outside src/transport/remote; the layer's face is remote.h):
 *
 * - session.c: the model (its header), life cycle, receiving (nghttp2's
 *   callbacks), set-up and teardown;
 * - session-out.c: the out-queue of wrapped messages and the data
 *   providers that feed it to nghttp2, one message at a time;
 * - session-io.c: the socket (or TLS) side: gathering nghttp2's output,
 *   writing it, reading and feeding nghttp2, the TLS handshake.
 *
 * Everything here runs on the session's serial queue (RemoteSession.q).
 * The files call one another one way: session.c -> session-out.c and
 * session.c -> session-io.c; the two lower files call nothing of the
 * other two.  Only session.c decides the session's end (its teardown) and
 * holds the entry points the queue runs (the sources' handlers, blocks
 * queued from other threads); when the peer or the socket fails, a lower
 * file records the reason with session_fail() and returns -1, and
 * session.c tears the session down when the call returns.
 */
#ifndef XPC_REMOTE_SESSION_H
#define XPC_REMOTE_SESSION_H

#include <nghttp2/nghttp2.h>
#include <openssl/ssl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "transport/remote/remote.h"
#include "shared/list.h"

#define REMOTE_WINDOW (16u << 20)
#define REMOTE_MAX_FRAME (1u << 20)
#define REMOTE_MAX_HEADERS 32u
#define REMOTE_MAX_HEADER_FRAMES 16u
#define REMOTE_READ_BURST 8
#define REMOTE_GATHER (64u << 10) /* output gathered for one write */

/* One wrapped message waiting to go out, on RemoteSession.out. */
typedef struct OutMsg {
	ListNode link;
	int32_t stream;
	uint8_t *bytes;
	size_t len, off;
} OutMsg;

struct RemoteSession {
	_Atomic int refs;
	int fd;
	bool server;
	nghttp2_session *h2;
	const RemoteSessionOps *ops;
	void *ctx;
	dispatch_queue_t q;
	dispatch_source_t rsrc, wsrc;
	dispatch_source_t timer; /* a server's set-up timeout, until ready */
	int sources_live;
	bool r_suspended, w_armed;
	bool started, closed, ready;
	const char *failure;   /* why the session must end: set by session_fail() */
	char h2_error[112];    /* why nghttp2 ended the session itself (GOAWAY), or "" */
	bool read_again;       /* decrypted bytes wait that the socket will not signal */
	RemoteReader rd[2];    /* stream 1, stream 3 */
	bool provider[2];      /* our HEADERS + data provider are submitted */
	ListNode out;           /* OutMsg.link: the out-queue, oldest first */
	size_t unsent;
	uint8_t *wbuf;          /* output gathered from nghttp2, not yet written */
	size_t wlen, woff, wcap;
	unsigned header_fields, header_frames;
	bool got_setup, got_init, answered_empty, answered_setup, answered_init;
	RemoteTls *tls;         /* NULL: cleartext */
	SSL *ssl;
	bool handshaking;       /* TLS handshake not done: no HTTP/2 bytes yet */
	bool tls_want_write;    /* OpenSSL waits for the socket to take bytes */
};

/* 0 for the root stream, 1 for the reply stream, -1 for any other. */
static inline int session_stream_index(int32_t stream)
{
	return stream == REMOTE_STREAM_ROOT ? 0 : stream == REMOTE_STREAM_REPLY ? 1 : -1;
}

/* Records why the session must end (@reason: static text; the first one
 * wins), for session.c to end it once the current call returned.
 * Return: -1, to be passed up. */
static inline int session_fail(RemoteSession *s, const char *reason)
{
	if (!s->failure)
		s->failure = reason;
	return -1;
}

/* session-out.c (0 or -1: session_fail() was called) */
/* Wakes the data provider of the head message's stream. */
void session_out_kick(RemoteSession *s);
/* Submits our HEADERS and the data provider of @stream.  Return: 0 or -1. */
int session_out_open_stream(RemoteSession *s, int32_t stream);
/* Queues @len bytes of a wrapped message (@bytes: consumed) on @stream;
 * dropped on a closed session.  Return: 0, or -1 over REMOTE_MAX_UNSENT or
 * out of memory. */
int session_out_enqueue(RemoteSession *s, int32_t stream, uint8_t *bytes, size_t len);
/* Encodes @body (borrowed) and queues it (set-up messages, answers).
 * Return: 0 (also when it could not be encoded: nothing sent), or -1. */
int session_out_send_now(RemoteSession *s, int32_t stream, uint32_t flags, uint64_t id, xpc_object_t body);
/* Frees every queued message (the session's end). */
void session_out_free(RemoteSession *s);

/* session-io.c (-1: session_fail() was called) */
/* Sends what nghttp2 has, keeping what the socket does not take; sets
 * read_again when OpenSSL holds decrypted bytes.  Return: 0 or -1 (also
 * when nghttp2 wants neither to read nor to write: the session ended). */
int session_io_flush(RemoteSession *s);
/* Suspends (@pause) or resumes the read source. */
void session_io_read_pause(RemoteSession *s, bool pause);
/* Resumes (@arm) or suspends the write source. */
void session_io_write_arm(RemoteSession *s, bool arm);
/* Runs the TLS handshake on.  Return: 1 once it is done (and what nghttp2
 * held was flushed), 0 while it goes on, -1. */
int session_io_tls_handshake(RemoteSession *s);
/* The work of the read source (the handshake, then reads fed to nghttp2)
 * and of the write source.  Return: 0 or -1. */
int session_io_readable(RemoteSession *s);
int session_io_writable(RemoteSession *s);

#endif
