/* SPDX-License-Identifier: MIT */
/*
 * session.c - one RemoteXPC connection over HTTP/2 (nghttp2), either role.
 *
 * Model (docs/remote.md): prior-knowledge HTTP/2 on a TCP socket.  Stream
 * 1 is the root channel, stream 3 the reply channel; both are opened by the
 * client with an empty HEADERS block and never ended.  Each XPC message is
 * one wrapped message (message.c) sent whole as consecutive DATA frames of
 * at most 16 KiB on one stream: the out-queue is a single FIFO of messages
 * over both streams, and a stream's data provider only yields bytes while
 * the message at the FIFO's head is its own, so two messages never
 * interleave.  One message never shares a DATA frame with another.
 *
 * Set-up: the client sends SETTINGS (MAX_CONCURRENT_STREAMS 100,
 * INITIAL_WINDOW_SIZE 16 MiB), a connection WINDOW_UPDATE, HEADERS on 1 and
 * 3, `{}` (flags 0x1) and flags 0x201 on 1, INIT_HANDSHAKE on 3.  The
 * server sends its SETTINGS before reading anything, answers each of the
 * three set-up messages once in kind, and is ready when 0x201 and
 * INIT_HANDSHAKE have both arrived (within REMOTE_SETUP_TIMEOUT_S).
 *
 * Threading: everything runs on the serial queue given at creation (read
 * and write sources target it; remote_session_send/close from elsewhere
 * dispatch onto it).  nghttp2 calls back only from inside mem_recv and
 * mem_send on that queue; a callback that finds a violation records the
 * reason (session_fail) and fails the call, and the session is torn down
 * after nghttp2 returned, never inside it.
 *
 * TLS (tls.c): with a configuration set, the session first runs the TLS
 * handshake over the socket (no HTTP/2 byte leaves before it is done) and
 * then reads and writes through OpenSSL; everything else is the same.
 * Decrypted bytes OpenSSL holds do not make the socket readable, so the
 * reader is run again while SSL_pending() says there are some.
 *
 * Bounds: only streams 1 and 3 exist (any other HEADERS ends the session;
 * push is off); a header block holds at most REMOTE_MAX_HEADERS fields and
 * REMOTE_MAX_HEADER_FRAMES HEADERS/CONTINUATION frames come per session;
 * a stream's reader holds at most one message body (REMOTE_MAX_BODY); the
 * out-queue holds at most REMOTE_MAX_UNSENT bytes; output is gathered
 * from nghttp2 into one buffer of about REMOTE_GATHER bytes per write;
 * while the socket does not take our bytes, reading stops (a peer that does not read cannot make
 * us buffer its PINGs' answers); nghttp2 itself caps queued control frames.
 *
 * Files: this one holds the life cycle, receiving, set-up, the queue's
 * entry points (the sources' handlers, remote_session_send/close) and the
 * one decision to end the session; the out-queue is session-out.c, the
 * socket and TLS side session-io.c (session.h).  Both lower files report
 * failures as -1 with the reason recorded (session_fail) and never call
 * back here: session_settle() ends the session after they returned.
 *
 * References: the creator holds one; each live dispatch source one (the
 * descriptor is closed when the last source's cancel handler ran); each
 * block queued from another thread one.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "transport/remote/session.h"
#include "shared/assert.h"
#include "shared/fdutil.h"


RemoteSession *remote_session_retain(RemoteSession *s)
{
	atomic_fetch_add(&s->refs, 1);
	return s;
}

static void session_free(RemoteSession *s)
{
	session_out_free(s);
	remote_reader_free(&s->rd[0]);
	remote_reader_free(&s->rd[1]);
	if (s->h2)
		nghttp2_session_del(s->h2);
	free(s->wbuf);
	if (s->ssl)
		SSL_free(s->ssl);
	remote_tls_release(s->tls);
	fd_close(s->fd);
	dispatch_release(s->q);
	free(s);
}

void remote_session_release(RemoteSession *s)
{
	if (s && atomic_fetch_sub(&s->refs, 1) == 1)
		session_free(s);
}

/* ---- receiving ------------------------------------------------------------ */

static void session_stop_timer(RemoteSession *s)
{
	if (s->timer) {
		dispatch_source_cancel(s->timer);
		dispatch_release(s->timer);
		s->timer = NULL;
	}
}

/* Server: answers a set-up message in kind, once per kind; ready when both
 * 0x201 and INIT_HANDSHAKE have come. */
static void session_setup_message(RemoteSession *s, int32_t stream, const RemoteMessage *m)
{
	if (!s->server)
		return;
	if ((m->flags & REMOTE_FLAG_SETUP) && stream == REMOTE_STREAM_ROOT && !s->answered_setup) {
		s->answered_setup = s->got_setup = true;
		session_out_send_now(s, stream, m->flags, 0, NULL);
	} else if ((m->flags & REMOTE_FLAG_INIT_HANDSHAKE) && stream == REMOTE_STREAM_REPLY && !s->answered_init) {
		s->answered_init = s->got_init = true;
		session_out_send_now(s, stream, m->flags, 0, NULL);
	} else if (m->flags == REMOTE_FLAG_ALWAYS_SET && stream == REMOTE_STREAM_ROOT && !s->answered_empty) {
		s->answered_empty = true;
		session_out_send_now(s, stream, m->flags, 0, m->body);
	}
	if (!s->ready && s->got_setup && s->got_init) {
		s->ready = true;
		session_stop_timer(s);
		s->ops->ready(s, s->ctx);
	}
}

static void session_message(RemoteSession *s, int32_t stream, RemoteMessage *m)
{
	bool setup = !(m->flags & REMOTE_FLAG_DATA_PRESENT) ||
		     (m->flags & (REMOTE_FLAG_SETUP | REMOTE_FLAG_INIT_HANDSHAKE));

	if (setup)
		session_setup_message(s, stream, m);
	else if (!s->closed)
		s->ops->message(s, stream, m, s->ctx);
	if (m->body)
		xpc_release(m->body);
}

static int session_on_data(nghttp2_session *h2, uint8_t flags, int32_t stream, const uint8_t *data, size_t len,
			   void *user)
{
	RemoteSession *s = user;
	int i = session_stream_index(stream), rv;
	size_t used;
	RemoteMessage m;

	if (i < 0) {
		session_fail(s, "protocol violation: data on a stream other than 1 and 3");
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	}
	while (len && !s->closed && !s->failure) {
		rv = remote_reader_feed(&s->rd[i], data, len, &used, &m);
		if (rv < 0 || rv > 1) {
			session_fail(s, rv == REMOTE_E_BAD_MAGIC ? "protocol violation: bad message wrapper magic"
				       : rv == REMOTE_E_BAD_FLAGS ? "protocol violation: bad message flags"
				       : rv == REMOTE_E_TOO_BIG  ? "limit exceeded: message too large"
				       : rv == REMOTE_E_BUDGET ? "limit exceeded: memory for incoming messages of all sessions"
								  : "out of memory");
			return NGHTTP2_ERR_CALLBACK_FAILURE;
		}
		data += used;
		len -= used;
		if (rv == 1)
			session_message(s, stream, &m);
	}
	return s->failure ? NGHTTP2_ERR_CALLBACK_FAILURE : 0; /* an answer could not be queued */
}

static int session_on_begin_headers(nghttp2_session *h2, const nghttp2_frame *frame, void *user)
{
	RemoteSession *s = user;

	if (session_stream_index(frame->hd.stream_id) < 0) {
		session_fail(s, "protocol violation: a stream other than 1 and 3");
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	}
	return 0;
}

static int session_on_begin_frame(nghttp2_session *h2, const nghttp2_frame_hd *hd, void *user)
{
	RemoteSession *s = user;

	if ((hd->type == NGHTTP2_HEADERS || hd->type == NGHTTP2_CONTINUATION) &&
	    ++s->header_frames > REMOTE_MAX_HEADER_FRAMES) {
		session_fail(s, "limit exceeded: header frames");
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	}
	return 0;
}

static int session_on_header(nghttp2_session *h2, const nghttp2_frame *frame, const uint8_t *name, size_t namelen,
			     const uint8_t *value, size_t valuelen, uint8_t flags, void *user)
{
	RemoteSession *s = user;

	if (++s->header_fields > REMOTE_MAX_HEADERS) {
		session_fail(s, "limit exceeded: header fields");
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	}
	return 0;
}

static int session_on_frame(nghttp2_session *h2, const nghttp2_frame *frame, void *user)
{
	RemoteSession *s = user;
	int i = session_stream_index(frame->hd.stream_id);

	switch (frame->hd.type) {
	case NGHTTP2_HEADERS:
		if (s->server && i >= 0 && session_out_open_stream(s, frame->hd.stream_id) < 0) {
			session_fail(s, "out of memory");
			return NGHTTP2_ERR_CALLBACK_FAILURE;
		}
		session_out_kick(s);
		return 0;
	case NGHTTP2_RST_STREAM:
		session_fail(s, "stream reset by peer");
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	case NGHTTP2_GOAWAY:
		session_fail(s, "peer went away (GOAWAY)");
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	default:
		return 0;
	}
}

/* nghttp2 found a connection error it answers itself (GOAWAY, then the
 * session ends): its text becomes the reason the session ended. */
static int session_on_h2_error(nghttp2_session *h2, int code, const char *msg, size_t len, void *user)
{
	RemoteSession *s = user;

	if (!s->h2_error[0])
		snprintf(s->h2_error, sizeof(s->h2_error), "protocol violation: %.*s", (int)(len > 90 ? 90 : len), msg);
	return 0;
}

static void session_source_gone(void *ctx)
{
	RemoteSession *s = ctx;

	xpc_assert(s->sources_live > 0);
	if (--s->sources_live == 0)
		s->fd = fd_close(s->fd);
	remote_session_release(s);
}

/* Ends the session on its queue: sources cancelled, queue dropped,
 * closed() called once. */
static void session_teardown(RemoteSession *s, const char *reason)
{
	if (s->closed)
		return;
	s->closed = true;
	session_stop_timer(s);
	if (s->rsrc) {
		session_io_read_pause(s, false);
		dispatch_source_cancel(s->rsrc);
		dispatch_release(s->rsrc);
		s->rsrc = NULL;
	}
	if (s->wsrc) {
		session_io_write_arm(s, true);
		dispatch_source_cancel(s->wsrc);
		dispatch_release(s->wsrc);
		s->wsrc = NULL;
	}
	if (!s->started)
		s->fd = fd_close(s->fd);
	s->ops->closed(s, reason, s->ctx);
}

/* ---- the queue's entry points ---------------------------------------------- */

static void session_read_again_run(void *ctx);

/* After the lower files ran (@rv: their 0 or -1): ends the session for the
 * reason they recorded, or queues the reader while OpenSSL holds bytes. */
static void session_settle(RemoteSession *s, int rv)
{
	if (rv < 0 || s->failure) {
		session_teardown(s, s->failure ? s->failure : "out of memory");
		return;
	}
	if (s->read_again && !s->closed) {
		s->read_again = false;
		dispatch_async_f(s->q, remote_session_retain(s), session_read_again_run);
	}
}

static void session_on_readable(void *ctx)
{
	session_settle(ctx, session_io_readable(ctx));
}

static void session_on_writable(void *ctx)
{
	session_settle(ctx, session_io_writable(ctx));
}

static void session_read_again_run(void *ctx)
{
	RemoteSession *s = ctx;

	if (!s->closed)
		session_on_readable(s);
	remote_session_release(s);
}

typedef struct SendItem {
	RemoteSession *s;
	int32_t stream;
	uint8_t *bytes;
	size_t len;
} SendItem;

static void session_send_run(void *ctx)
{
	SendItem *it = ctx;
	int rv = session_out_enqueue(it->s, it->stream, it->bytes, it->len);

	session_settle(it->s, rv < 0 ? rv : session_io_flush(it->s));
	remote_session_release(it->s);
	free(it);
}

int remote_session_send(RemoteSession *s, int32_t stream, uint32_t flags, uint64_t id, xpc_object_t body)
{
	SendItem *it = malloc(sizeof(*it));
	int err;

	if (!it)
		return -ENOMEM;
	err = remote_message_encode(flags, id, body, &it->bytes, &it->len);
	if (err) {
		free(it);
		return err;
	}
	it->s = remote_session_retain(s);
	it->stream = stream;
	dispatch_async_f(s->q, it, session_send_run);
	return 0;
}

/* ---- creation ------------------------------------------------------------- */

static nghttp2_session *session_h2_new(RemoteSession *s)
{
	nghttp2_session_callbacks *cb;
	nghttp2_option *opt;
	nghttp2_session *h2 = NULL;

	if (nghttp2_session_callbacks_new(&cb) != 0)
		return NULL;
	if (nghttp2_option_new(&opt) != 0) {
		nghttp2_session_callbacks_del(cb);
		return NULL;
	}
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, session_on_data);
	nghttp2_session_callbacks_set_on_begin_headers_callback(cb, session_on_begin_headers);
	nghttp2_session_callbacks_set_on_begin_frame_callback(cb, session_on_begin_frame);
	nghttp2_session_callbacks_set_on_header_callback(cb, session_on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, session_on_frame);
	nghttp2_session_callbacks_set_error_callback2(cb, session_on_h2_error);
	nghttp2_option_set_no_http_messaging(opt, 1);
	nghttp2_option_set_max_continuations(opt, REMOTE_MAX_HEADER_FRAMES);
	if (s->server)
		nghttp2_session_server_new2(&h2, cb, s, opt);
	else
		nghttp2_session_client_new2(&h2, cb, s, opt);
	nghttp2_option_del(opt);
	nghttp2_session_callbacks_del(cb);
	return h2;
}

RemoteSession *remote_session_new(int fd, bool server, const RemoteSessionOps *ops, void *ctx, dispatch_queue_t q)
{
	RemoteSession *s = calloc(1, sizeof(*s));

	if (!s) {
		close(fd);
		return NULL;
	}
	atomic_init(&s->refs, 1);
	list_node_init(&s->out);
	s->fd = fd;
	s->server = server;
	s->ops = ops;
	s->ctx = ctx;
	s->q = q;
	dispatch_retain(q);
	remote_reader_init(&s->rd[0]);
	remote_reader_init(&s->rd[1]);
	s->h2 = session_h2_new(s);
	if (!s->h2) {
		session_free(s);
		return NULL;
	}
	return s;
}

/* The SETTINGS each side opens with (and, for a client, the rest of the
 * set-up: window, both streams, the three set-up messages). */
static int session_submit_setup(RemoteSession *s)
{
	nghttp2_settings_entry iv[] = {
		{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100},
		{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, REMOTE_WINDOW},
		{NGHTTP2_SETTINGS_MAX_FRAME_SIZE, REMOTE_MAX_FRAME},
		{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
	};
	xpc_object_t empty;
	int rv;

	if (nghttp2_submit_settings(s->h2, NGHTTP2_FLAG_NONE, iv, s->server ? 3 : 4) != 0)
		return -1;
	if (s->server)
		return nghttp2_session_set_local_window_size(s->h2, NGHTTP2_FLAG_NONE, 0, REMOTE_WINDOW);
	if (nghttp2_submit_window_update(s->h2, NGHTTP2_FLAG_NONE, 0, REMOTE_WINDOW - 65535) != 0)
		return -1;
	if (session_out_open_stream(s, REMOTE_STREAM_ROOT) < 0 || session_out_open_stream(s, REMOTE_STREAM_REPLY) < 0)
		return -1;
	empty = xpc_dictionary_create(NULL, NULL, 0);
	rv = session_out_send_now(s, REMOTE_STREAM_ROOT, REMOTE_FLAG_ALWAYS_SET, 0, empty);
	xpc_release(empty);
	if (rv < 0 || session_out_send_now(s, REMOTE_STREAM_ROOT, REMOTE_FLAG_ALWAYS_SET | REMOTE_FLAG_SETUP, 0, NULL) < 0)
		return -1;
	return session_out_send_now(s, REMOTE_STREAM_REPLY, REMOTE_FLAG_ALWAYS_SET | REMOTE_FLAG_INIT_HANDSHAKE, 0,
				    NULL);
}

static dispatch_source_t session_source(RemoteSession *s, dispatch_source_type_t type, dispatch_function_t fn)
{
	dispatch_source_t src = dispatch_source_create(type, (uintptr_t)s->fd, 0, s->q);

	if (!src)
		return NULL;
	dispatch_set_context(src, remote_session_retain(s));
	dispatch_source_set_event_handler_f(src, fn);
	dispatch_source_set_cancel_handler_f(src, session_source_gone);
	s->sources_live++;
	return src;
}

static void session_setup_timeout(void *ctx)
{
	RemoteSession *s = ctx;

	if (!s->ready)
		session_teardown(s, "set-up timed out");
}

static void session_timer_gone(void *ctx)
{
	remote_session_release(ctx);
}

/* The set-up timeout as a source, cancelled at ready or teardown (a
 * dispatch_after would keep every short session alive for its span). */
static void session_start_timer(RemoteSession *s)
{
	s->timer = dispatch_source_create(DISPATCH_SOURCE_TYPE_TIMER, 0, 0, s->q);
	if (!s->timer)
		return;
	dispatch_set_context(s->timer, remote_session_retain(s));
	dispatch_source_set_event_handler_f(s->timer, session_setup_timeout);
	dispatch_source_set_cancel_handler_f(s->timer, session_timer_gone);
	dispatch_source_set_timer(s->timer, dispatch_time(DISPATCH_TIME_NOW, REMOTE_SETUP_TIMEOUT_S * NSEC_PER_SEC),
				  DISPATCH_TIME_FOREVER, NSEC_PER_SEC);
	dispatch_resume(s->timer);
}

static void session_client_ready(void *ctx)
{
	RemoteSession *s = ctx;

	if (!s->closed && !s->ready) {
		s->ready = true;
		s->ops->ready(s, s->ctx);
	}
	remote_session_release(s);
}

static void session_start_run(void *ctx)
{
	RemoteSession *s = ctx;

	s->rsrc = session_source(s, DISPATCH_SOURCE_TYPE_READ, session_on_readable);
	s->wsrc = session_source(s, DISPATCH_SOURCE_TYPE_WRITE, session_on_writable);
	s->r_suspended = true; /* sources start suspended */
	s->w_armed = false;
	s->started = s->rsrc || s->wsrc;
	if (!s->rsrc || !s->wsrc || session_submit_setup(s) != 0) {
		session_teardown(s, s->failure ? s->failure : "out of memory");
	} else {
		session_io_read_pause(s, false);
		if (s->handshaking) /* a client's hello; a server waits for one */
			session_settle(s, session_io_tls_handshake(s) < 0 ? -1 : 0);
		else /* a server's SETTINGS leave before it reads */
			session_settle(s, session_io_flush(s));
		if (s->server)
			session_start_timer(s);
		else
			dispatch_async_f(s->q, remote_session_retain(s), session_client_ready);
	}
	remote_session_release(s);
}

int remote_session_set_tls(RemoteSession *s, RemoteTls *tls)
{
	s->ssl = remote_tls_ssl_new(tls, s->fd);
	if (!s->ssl)
		return -ENOMEM;
	s->tls = remote_tls_retain(tls);
	s->handshaking = true;
	return 0;
}

void remote_session_start(RemoteSession *s)
{
	dispatch_async_f(s->q, remote_session_retain(s), session_start_run);
}

typedef struct CloseItem {
	RemoteSession *s;
	const char *reason;
} CloseItem;

static void session_close_run(void *ctx)
{
	CloseItem *it = ctx;

	session_teardown(it->s, it->reason);
	remote_session_release(it->s);
	free(it);
}

void remote_session_close(RemoteSession *s, const char *reason)
{
	CloseItem *it = malloc(sizeof(*it));

	if (!it)
		return;
	it->s = remote_session_retain(s);
	it->reason = reason;
	dispatch_async_f(s->q, it, session_close_run);
}
