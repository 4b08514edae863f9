/* SPDX-License-Identifier: MIT */
/*
 * serve.c - the serving side of RemoteXPC: a discovery port and service
 * ports bridged to local named services (docs/remote.md, "Serving").
 *
 * Each accepted TCP connection is a RemoteSession in the server role on a
 * serial queue of its own, wrapped in a ServedPeer.  On a service port the
 * peer holds one local connection, xpc_connection_create_mach_service(name)
 * through the broker like any local client's, so on-demand launch and the
 * broker's policy apply unchanged:
 *
 * - a request (WANTING_REPLY) goes to the service with
 *   xpc_connection_send_message_with_reply(); whatever answers it -- the
 *   reply, or the connection layer's INTERRUPTED / INVALID error -- becomes
 *   exactly one REPLY with the request's id on the reply channel (an error
 *   as the dictionary { XPCErrorDescription: text }, a reply that cannot
 *   cross hosts likewise);
 * - a message without WANTING_REPLY is sent on; a request that cannot be
 *   sent (bad encoding, not a dictionary, too many pending) is answered
 *   with an error-shaped reply at once;
 * - what the service sends unprompted goes out on the root channel; a
 *   service request expecting a reply from the remote side is answered
 *   locally with an error-shaped reply (remote peers answer no requests);
 * - when the local connection becomes invalid (unknown name, denied), the
 *   session ends once every pending request has had its answer; when the
 *   session ends, the local connection is cancelled (its pending replies
 *   fail and are dropped).
 *
 * Every message passed on to the service carries the key
 * XPC_LINUX_REMOTE_PEER_ADDRESS_KEY ("ADDR:PORT" of the remote peer, as
 * accepted; set here, so a value the peer sent itself is replaced): the
 * service knows the peer is remote and from where.
 *
 * The descriptor objects cannot arrive from a remote peer at all (the
 * standalone form has none: the decoder refuses the tags).
 *
 * Shares: a port holds REMOTE_MAX_SESSIONS sessions, at most
 * REMOTE_MAX_SESSIONS_PER_ADDRESS of them from one address (IPv4, or an
 * IPv6 /64) or, on loopback, from one local user (the uid the kernel's
 * sock_diag gives for the other end); further connections are accepted
 * and closed.  The readers of
 * all sessions hold at most REMOTE_MAX_HELD_INPUT bytes of incoming
 * messages (message.c).  A refused connection and a session ended for a
 * violation or a limit are logged on stderr with the peer's address and
 * the reason, at most REMOTE_LOG_BURST lines of each kind per
 * REMOTE_LOG_WINDOW_S (a flood cannot flood the log).
 *
 * Idle sessions: a ready session that has no request pending at the local
 * service and completes no message for the idle span (REMOTE_IDLE_TIMEOUT_S,
 * or XPC_REMOTE_IDLE_TIMEOUT) is closed, so silent peers do not keep their
 * share of the port for good; a request waiting for its answer keeps the
 * session, and the span starts again when the answer leaves.
 *
 * References: a peer is held by its session (until closed()), by each
 * reply handler still outstanding and by its idle timer until cancelled.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <xpc/remote.h>

#include "transport/remote/remote.h"
#include "transport/remote/serve.h"
#include "transport/remote/share.h"

struct RemotePort {
	int fd;
	dispatch_queue_t q;
	dispatch_source_t src;
	char *name;             /* service port: the local service */
	xpc_object_t handshake; /* discovery port: what it answers */
	RemoteTls *tls;         /* NULL: cleartext */
	pthread_mutex_t lock;   /* sessions, shares */
	unsigned sessions;
	struct {
		uint8_t key[16]; /* remote_share_key() */
		unsigned n;      /* 0: a free slot */
	} shares[REMOTE_MAX_SESSIONS];
};

typedef struct ServedPeer {
	_Atomic int refs;
	RemotePort *port;
	RemoteSession *s;
	dispatch_queue_t q;
	xpc_connection_t local;
	size_t pending;
	uint64_t next_id;
	dispatch_source_t idle;  /* the idle timer, from ready until closed() */
	dispatch_time_t active;  /* when the last message came or answer left */
	bool closed, local_invalid;
	char address[INET6_ADDRSTRLEN + 8]; /* the remote peer: "ADDR:PORT" or "[ADDR]:PORT" */
	uint8_t key[16];                    /* its share (port_admit) */
} ServedPeer;

/* ---- the log ------------------------------------------------------------------ */

typedef struct LogLimit {
	pthread_mutex_t lock;
	time_t window;
	unsigned lines, dropped;
} LogLimit;

static LogLimit log_refused = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0};
static LogLimit log_ended = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0};

/* One line on stderr, unless @l had its REMOTE_LOG_BURST lines in this
 * window (then counted, and the count is logged when the next opens). */
__attribute__((format(printf, 2, 3))) static void serve_log(LogLimit *l, const char *fmt, ...)
{
	struct timespec now;
	unsigned dropped = 0;
	bool print;
	va_list ap;

	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&l->lock);
	if (!l->window || now.tv_sec - l->window >= REMOTE_LOG_WINDOW_S) {
		dropped = l->dropped;
		l->window = now.tv_sec ? now.tv_sec : 1;
		l->lines = l->dropped = 0;
	}
	print = l->lines < REMOTE_LOG_BURST;
	if (print)
		l->lines++;
	else
		l->dropped++;
	pthread_mutex_unlock(&l->lock);
	if (dropped)
		fprintf(stderr, "xpc-remoted: %u more such lines not logged\n", dropped);
	if (!print)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

static ServedPeer *peer_retain(ServedPeer *p)
{
	atomic_fetch_add(&p->refs, 1);
	return p;
}

static void peer_release(ServedPeer *p)
{
	if (atomic_fetch_sub(&p->refs, 1) != 1)
		return;
	if (p->local)
		xpc_release(p->local);
	remote_session_release(p->s);
	dispatch_release(p->q);
	free(p);
}

/* ---- answers ---------------------------------------------------------------- */

static void peer_send_reply(ServedPeer *p, uint64_t id, xpc_object_t body)
{
	uint32_t flags = REMOTE_FLAG_ALWAYS_SET | REMOTE_FLAG_DATA_PRESENT | REMOTE_FLAG_REPLY;
	int err = remote_session_send(p->s, REMOTE_STREAM_REPLY, flags, id, body);

	if (err) {
		xpc_object_t e = remote_error_dictionary(err == WIRE_E_UNSERIALIZABLE
			? "remote: the reply holds fd, shmem, endpoint or connection objects, which cannot cross hosts"
			: remote_strerror(err));

		remote_session_send(p->s, REMOTE_STREAM_REPLY, flags, id, e);
		xpc_release(e);
	}
}

static void peer_send_error(ServedPeer *p, uint64_t id, const char *text)
{
	xpc_object_t e = remote_error_dictionary(text);

	peer_send_reply(p, id, e);
	xpc_release(e);
}

/* The local answer to request @id (reply or error), on p->q. */
static void peer_answered(ServedPeer *p, uint64_t id, xpc_object_t reply)
{
	p->pending--;
	p->active = dispatch_time(DISPATCH_TIME_NOW, 0);
	if (!p->closed) {
		if (xpc_get_type(reply) == XPC_TYPE_ERROR) {
			const char *why = xpc_dictionary_get_string(reply, XPC_ERROR_KEY_DESCRIPTION);

			peer_send_error(p, id, why ? why : "Connection invalid");
		} else {
			peer_send_reply(p, id, reply);
		}
		if (p->local_invalid && !p->pending)
			remote_session_close(p->s, "local service invalid");
	}
	peer_release(p);
}

/* ---- the local connection ------------------------------------------------- */

static void peer_local_event(ServedPeer *p, xpc_object_t ev)
{
	xpc_object_t reply;

	if (xpc_get_type(ev) == XPC_TYPE_DICTIONARY) {
		reply = xpc_dictionary_create_reply(ev);
		if (reply) {
			xpc_dictionary_set_string(reply, XPC_ERROR_KEY_DESCRIPTION,
						  "remote: a remote peer answers no requests");
			xpc_connection_send_message(p->local, reply);
			xpc_release(reply);
		}
		if (!p->closed)
			remote_session_send(p->s, REMOTE_STREAM_ROOT, REMOTE_FLAG_ALWAYS_SET | REMOTE_FLAG_DATA_PRESENT,
					    ++p->next_id, ev);
		return;
	}
	if (ev == XPC_ERROR_CONNECTION_INVALID) {
		char *why = p->closed ? NULL : xpc_connection_copy_invalidation_reason(p->local);

		if (why) /* the operator's only clue: a remote peer sees "Connection invalid" */
			fprintf(stderr, "xpc-remoted: %s: %s\n", p->port->name, why);
		free(why);
		p->local_invalid = true;
		if (!p->pending && !p->closed)
			remote_session_close(p->s, "local service invalid");
	}
}

static void peer_connect_local(ServedPeer *p)
{
	if (p->local || !p->port->name)
		return;
	p->local = xpc_connection_create_mach_service(p->port->name, p->q, 0);
	if (!p->local) {
		p->local_invalid = true;
		return;
	}
	peer_retain(p); /* for the handler, until its final INVALID */
	xpc_connection_set_event_handler(p->local, ^(xpc_object_t ev) {
		peer_local_event(p, ev);
		if (ev == XPC_ERROR_CONNECTION_INVALID)
			peer_release(p);
	});
	xpc_connection_resume(p->local);
}

/* ---- the idle timer ------------------------------------------------------ */

/* The idle span in nanoseconds: XPC_REMOTE_IDLE_TIMEOUT (seconds, 0: none)
 * when set and valid, else REMOTE_IDLE_TIMEOUT_S; read once. */
static uint64_t peer_idle_span(void)
{
	static _Atomic int64_t span = -1;
	int64_t v = atomic_load(&span);

	if (v < 0) {
		const char *e = secure_getenv("XPC_REMOTE_IDLE_TIMEOUT");
		char *end = NULL;
		unsigned long secs = e && *e ? strtoul(e, &end, 10) : REMOTE_IDLE_TIMEOUT_S;

		if (e && *e && (*end || secs > 86400u * 365))
			secs = REMOTE_IDLE_TIMEOUT_S;
		v = (int64_t)secs * (int64_t)NSEC_PER_SEC;
		atomic_store(&span, v);
	}
	return (uint64_t)v;
}

/* On p->q: closes the session when it has been idle for the span, else
 * sets the timer to the moment it would be. */
static void peer_idle_check(void *ctx)
{
	ServedPeer *p = ctx;
	uint64_t span = peer_idle_span();
	dispatch_time_t due = dispatch_time(p->active, (int64_t)span);

	if (p->closed || !p->idle)
		return;
	if (p->pending) /* a request waits: not idle; looked at again a span later */
		due = dispatch_time(DISPATCH_TIME_NOW, (int64_t)span);
	else if (due <= dispatch_time(DISPATCH_TIME_NOW, 0)) {
		remote_session_close(p->s, "idle timed out");
		return;
	}
	dispatch_source_set_timer(p->idle, due, DISPATCH_TIME_FOREVER, span / 8 + 1);
}

static void peer_idle_gone(void *ctx)
{
	peer_release(ctx);
}

/* Starts the idle timer at ready (nothing when the span is 0). */
static void peer_idle_start(ServedPeer *p)
{
	uint64_t span = peer_idle_span();

	p->active = dispatch_time(DISPATCH_TIME_NOW, 0);
	if (!span || p->idle)
		return;
	p->idle = dispatch_source_create(DISPATCH_SOURCE_TYPE_TIMER, 0, 0, p->q);
	if (!p->idle)
		return;
	dispatch_set_context(p->idle, peer_retain(p));
	dispatch_source_set_event_handler_f(p->idle, peer_idle_check);
	dispatch_source_set_cancel_handler_f(p->idle, peer_idle_gone);
	dispatch_source_set_timer(p->idle, dispatch_time(p->active, (int64_t)span), DISPATCH_TIME_FOREVER,
				  span / 8 + 1);
	dispatch_resume(p->idle);
}

static void peer_idle_stop(ServedPeer *p)
{
	if (p->idle) {
		dispatch_source_cancel(p->idle);
		dispatch_release(p->idle);
		p->idle = NULL;
	}
}

/* ---- session callbacks -------------------------------------------------- */

static void peer_request(ServedPeer *p, const RemoteMessage *m)
{
	char text[160];
	uint64_t id = m->id;

	if (!m->body || xpc_get_type(m->body) != XPC_TYPE_DICTIONARY) {
		snprintf(text, sizeof(text), "remote: bad request: %s",
			 m->body ? "not a dictionary" : remote_strerror(m->body_error));
		peer_send_error(p, id, text);
	} else if (p->local_invalid) {
		peer_send_error(p, id, "Connection invalid");
	} else if (p->pending >= REMOTE_MAX_PENDING_SERVED) {
		peer_send_error(p, id, "remote: limit exceeded: pending requests");
	} else {
		p->pending++;
		peer_retain(p);
		xpc_dictionary_set_string(m->body, XPC_LINUX_REMOTE_PEER_ADDRESS_KEY, p->address);
		xpc_connection_send_message_with_reply(p->local, m->body, p->q, ^(xpc_object_t reply) {
			peer_answered(p, id, reply);
		});
	}
}

static void peer_ready(RemoteSession *s, void *ctx)
{
	ServedPeer *p = ctx;
	uint32_t flags = REMOTE_FLAG_ALWAYS_SET | REMOTE_FLAG_DATA_PRESENT;

	peer_idle_start(p);
	if (p->port->handshake)
		remote_session_send(s, REMOTE_STREAM_ROOT, flags, 0, p->port->handshake);
	else
		peer_connect_local(p);
}

static void peer_message(RemoteSession *s, int32_t stream, const RemoteMessage *m, void *ctx)
{
	ServedPeer *p = ctx;

	p->active = dispatch_time(DISPATCH_TIME_NOW, 0);
	if (!p->port->name || stream != REMOTE_STREAM_ROOT)
		return; /* discovery: a client's own handshake needs no answer */
	peer_connect_local(p);
	if (m->flags & REMOTE_FLAG_WANTING_REPLY)
		peer_request(p, m);
	else if (m->body && xpc_get_type(m->body) == XPC_TYPE_DICTIONARY && !p->local_invalid) {
		xpc_dictionary_set_string(m->body, XPC_LINUX_REMOTE_PEER_ADDRESS_KEY, p->address);
		xpc_connection_send_message(p->local, m->body);
	}
}

static void port_leave(RemotePort *port, const uint8_t key[16]);

/* Reasons of an ordinary end, not logged. */
static bool peer_reason_ordinary(const char *reason)
{
	return !strcmp(reason, "connection closed by peer") || !strcmp(reason, "connection lost") ||
	       !strcmp(reason, "local service invalid") || !strcmp(reason, "session ended");
}

static void peer_closed(RemoteSession *s, const char *reason, void *ctx)
{
	ServedPeer *p = ctx;

	if (reason && !peer_reason_ordinary(reason))
		serve_log(&log_ended, "xpc-remoted: %s: %s: session ended: %s\n",
			  p->port->name ? p->port->name : "discovery", p->address, reason);
	p->closed = true;
	peer_idle_stop(p);
	if (p->local)
		xpc_connection_cancel(p->local);
	port_leave(p->port, p->key);
	peer_release(p);
}

static const RemoteSessionOps peer_ops = {
	.ready = peer_ready,
	.message = peer_message,
	.closed = peer_closed,
};

/* ---- ports ---------------------------------------------------------------- */

/* Takes a session of @port for the share @key.  Return: NULL, or why
 * not (the port, the address or the local user holds its share). */
static const char *port_admit(RemotePort *port, const uint8_t key[16])
{
	const char *why = NULL;
	int slot = -1, free_slot = -1;

	pthread_mutex_lock(&port->lock);
	for (int i = 0; i < (int)REMOTE_MAX_SESSIONS; i++) {
		if (port->shares[i].n && !memcmp(port->shares[i].key, key, 16))
			slot = i;
		else if (!port->shares[i].n && free_slot < 0)
			free_slot = i;
	}
	if (port->sessions >= REMOTE_MAX_SESSIONS)
		why = "limit exceeded: sessions on this port";
	else if (slot >= 0 && port->shares[slot].n >= REMOTE_MAX_SESSIONS_PER_ADDRESS)
		why = key[0] == 0xff ? "limit exceeded: sessions from one local user"
				     : "limit exceeded: sessions from one address";
	if (!why) {
		if (slot < 0) { /* a free slot exists: sessions < REMOTE_MAX_SESSIONS */
			slot = free_slot;
			memcpy(port->shares[slot].key, key, 16);
		}
		port->shares[slot].n++;
		port->sessions++;
	}
	pthread_mutex_unlock(&port->lock);
	return why;
}

/* Gives back the session port_admit() took for @key. */
static void port_leave(RemotePort *port, const uint8_t key[16])
{
	pthread_mutex_lock(&port->lock);
	for (unsigned i = 0; i < REMOTE_MAX_SESSIONS; i++) {
		if (port->shares[i].n && !memcmp(port->shares[i].key, key, 16)) {
			port->shares[i].n--;
			break;
		}
	}
	port->sessions--;
	pthread_mutex_unlock(&port->lock);
}

static void port_accept_one(RemotePort *port, int fd, const struct sockaddr_storage *sa)
{
	ServedPeer *p;
	uint8_t key[16];
	char address[INET6_ADDRSTRLEN + 8];
	const char *why;
	int one = 1;

	remote_share_key(fd, sa, key);
	why = port_admit(port, key);
	if (why) {
		remote_format_address(sa, address, sizeof(address));
		serve_log(&log_refused, "xpc-remoted: %s: %s: refused: %s\n", port->name ? port->name : "discovery",
			  address, why);
		close(fd);
		return;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		port_leave(port, key);
		close(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	atomic_init(&p->refs, 1);
	p->port = port;
	memcpy(p->key, key, sizeof(key));
	remote_format_address(sa, p->address, sizeof(p->address));
	p->q = dispatch_queue_create("org.xpc.remote.peer", NULL);
	p->s = remote_session_new(fd, true, &peer_ops, p, p->q);
	if (p->s && port->tls && remote_session_set_tls(p->s, port->tls) < 0) {
		remote_session_release(p->s);
		p->s = NULL;
	}
	if (!p->s) {
		port_leave(port, key);
		dispatch_release(p->q);
		free(p);
		return;
	}
	remote_session_start(p->s);
}

static void port_on_accept(void *ctx)
{
	RemotePort *port = ctx;

	for (int i = 0; i < 16; i++) {
		struct sockaddr_storage sa = {0};
		socklen_t len = sizeof(sa);
		int fd = accept4(port->fd, (struct sockaddr *)&sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return;
		port_accept_one(port, fd, &sa);
	}
}

static RemotePort *port_new(int listen_fd)
{
	RemotePort *port = calloc(1, sizeof(*port));

	if (!port) {
		close(listen_fd);
		return NULL;
	}
	port->fd = listen_fd;
	pthread_mutex_init(&port->lock, NULL);
	remote_reader_set_budget(REMOTE_MAX_HELD_INPUT); /* this process serves */
	port->q = dispatch_queue_create("org.xpc.remote.accept", NULL);
	port->src = dispatch_source_create(DISPATCH_SOURCE_TYPE_READ, (uintptr_t)listen_fd, 0, port->q);
	if (!port->src) {
		close(listen_fd);
		dispatch_release(port->q);
		free(port);
		return NULL;
	}
	dispatch_set_context(port->src, port);
	dispatch_source_set_event_handler_f(port->src, port_on_accept);
	return port;
}

RemotePort *remote_serve_discovery(int listen_fd, xpc_object_t handshake, RemoteTls *tls)
{
	RemotePort *port = port_new(listen_fd);

	if (!port)
		return NULL;
	port->tls = tls ? remote_tls_retain(tls) : NULL;
	port->handshake = xpc_retain(handshake);
	dispatch_resume(port->src);
	return port;
}

RemotePort *remote_serve_service(int listen_fd, const char *name, RemoteTls *tls)
{
	RemotePort *port = port_new(listen_fd);

	if (!port)
		return NULL;
	port->tls = tls ? remote_tls_retain(tls) : NULL;
	port->name = strdup(name);
	dispatch_resume(port->src);
	return port;
}

xpc_object_t remote_serve_handshake(const uint8_t uuid[16], xpc_object_t properties, const char *const *names,
				    const uint16_t *ports, size_t n)
{
	xpc_object_t hs = xpc_dictionary_create(NULL, NULL, 0), services = xpc_dictionary_create(NULL, NULL, 0);

	for (size_t i = 0; i < n; i++) {
		xpc_object_t svc = xpc_dictionary_create(NULL, NULL, 0), props = xpc_dictionary_create(NULL, NULL, 0);
		char port[8];

		snprintf(port, sizeof(port), "%u", ports[i]);
		xpc_dictionary_set_string(svc, "Port", port);
		xpc_dictionary_set_bool(props, "UsesRemoteXPC", true);
		xpc_dictionary_set_value(svc, "Properties", props);
		xpc_dictionary_set_value(services, names[i], svc);
		xpc_release(props);
		xpc_release(svc);
	}
	xpc_dictionary_set_string(hs, "MessageType", "Handshake");
	xpc_dictionary_set_uint64(hs, "MessagingProtocolVersion", 7);
	xpc_dictionary_set_uuid(hs, "UUID", uuid);
	xpc_dictionary_set_value(hs, "Properties", properties);
	xpc_dictionary_set_value(hs, "Services", services);
	xpc_release(services);
	return hs;
}
