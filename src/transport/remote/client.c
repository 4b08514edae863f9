/* SPDX-License-Identifier: MIT */
/*
 * client.c - reaching RemoteXPC services: xpc_linux_remote_copy_services()
 * and xpc_linux_remote_connection_create() (<xpc/remote.h>).
 *
 * A remote connection is an ordinary xpc_connection_t: the connection
 * layer's own peer over one end of a SOCK_SEQPACKET socketpair
 * (connection_create_from_socket).  The other end is a second peer, the
 * "side", owned by a RemoteLink that bridges it to an HTTP/2 session
 * (session.c): what the user sends arrives on the side and goes out on the
 * root channel (WANTING_REPLY when the message expects a reply); replies
 * from the reply channel are matched by message id and sent back on the
 * side as the reply to the original message; messages the host sends
 * unprompted are passed on as messages.  So every event, reply, barrier
 * and error rule of a local connection holds without a line of the
 * connection layer changed; what the session cannot carry is answered on
 * the side (an error-shaped reply), and when the session ends the side is
 * cancelled: the user's connection becomes invalid and its pending
 * replies get XPC_ERROR_CONNECTION_INVALID from the connection layer.
 *
 * A link lives on one serial queue: the session's callbacks, the side's
 * event handler (its queue targets the link's) and the teardown.  It is
 * freed when both the session has closed and the side's final INVALID has
 * come.  Pending replies are bounded (REMOTE_MAX_PENDING).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <xpc/remote.h>

#include "connection/connection.h"
#include "transport/remote/remote.h"
#include "shared/assert.h"
#include "shared/list.h"

#define REMOTE_MAX_PENDING 4096u

/* ---- discovery ------------------------------------------------------------- */

typedef struct Discover {
	dispatch_semaphore_t done, gone;
	xpc_object_t handshake;
	const char *error;
	bool signalled;
} Discover;

static void discover_ready(RemoteSession *s, void *ctx)
{
}

static bool remote_is_handshake(xpc_object_t body)
{
	const char *type;

	if (!body || xpc_get_type(body) != XPC_TYPE_DICTIONARY)
		return false;
	type = xpc_dictionary_get_string(body, "MessageType");
	return type && !strcmp(type, "Handshake");
}

static void discover_message(RemoteSession *s, int32_t stream, const RemoteMessage *m, void *ctx)
{
	Discover *d = ctx;

	if (d->signalled || stream != REMOTE_STREAM_ROOT || !remote_is_handshake(m->body))
		return;
	d->handshake = xpc_retain(m->body);
	d->signalled = true;
	dispatch_semaphore_signal(d->done);
}

static void discover_closed(RemoteSession *s, const char *reason, void *ctx)
{
	Discover *d = ctx;

	if (!d->signalled) {
		d->error = reason;
		d->signalled = true;
		dispatch_semaphore_signal(d->done);
	}
	dispatch_semaphore_signal(d->gone);
}

static const RemoteSessionOps discover_ops = {
	.ready = discover_ready,
	.message = discover_message,
	.closed = discover_closed,
};

/* *ret_error = "@what: @why" (malloc'd), when asked for. */
static void remote_set_error(char **ret_error, const char *what, const char *why)
{
	if (ret_error && asprintf(ret_error, "%s: %s", what, why) < 0)
		*ret_error = NULL;
}

/* The TLS configuration of @options' XPC_LINUX_REMOTE_TLS_CONFIG file. */
static _Thread_local const char *remote_tls_why; /* why the file did not load */

static RemoteTls *remote_client_tls_file(const char *path, int *ret_err)
{
	RemoteTls *t = remote_tls_load_config(false, path, &remote_tls_why);

	if (!t)
		*ret_err = EINVAL;
	return t;
}

/* The TLS configuration @options ask for: NULL with *ret_err 0 for none;
 * NULL with *ret_err EINVAL or ENOMEM when they are wrong. */
static RemoteTls *remote_client_tls(xpc_object_t options, int *ret_err)
{
	const char *identity, *config;
	xpc_object_t key;
	__block bool unknown = false;
	RemoteTls *t;

	*ret_err = 0;
	remote_tls_why = NULL;
	if (!options)
		return NULL;
	if (xpc_get_type(options) != XPC_TYPE_DICTIONARY) {
		*ret_err = EINVAL;
		return NULL;
	}
	xpc_dictionary_apply(options, ^bool(const char *k, xpc_object_t v) {
		unknown |= strcmp(k, XPC_LINUX_REMOTE_TLS_PSK_IDENTITY) && strcmp(k, XPC_LINUX_REMOTE_TLS_PSK) &&
			   strcmp(k, XPC_LINUX_REMOTE_TLS_CONFIG);
		return true;
	});
	identity = xpc_dictionary_get_string(options, XPC_LINUX_REMOTE_TLS_PSK_IDENTITY);
	key = xpc_dictionary_get_value(options, XPC_LINUX_REMOTE_TLS_PSK);
	config = xpc_dictionary_get_string(options, XPC_LINUX_REMOTE_TLS_CONFIG);
	if (unknown || (!identity != !key) || (key && xpc_get_type(key) != XPC_TYPE_DATA) || (config && key) ||
	    (!config && xpc_dictionary_get_value(options, XPC_LINUX_REMOTE_TLS_CONFIG))) {
		*ret_err = EINVAL;
		return NULL;
	}
	if (config)
		return remote_client_tls_file(config, ret_err);
	if (!identity)
		return NULL;
	t = remote_tls_new_psk(false, identity, xpc_data_get_bytes_ptr(key), xpc_data_get_length(key));
	if (!t)
		*ret_err = errno;
	return t;
}

/* A client session over @fd (consumed), inside TLS when @tls. */
static RemoteSession *remote_client_session(int fd, RemoteTls *tls, const RemoteSessionOps *ops, void *ctx,
					    dispatch_queue_t q)
{
	RemoteSession *s = remote_session_new(fd, false, ops, ctx, q);

	if (s && tls && remote_session_set_tls(s, tls) < 0) {
		remote_session_release(s);
		return NULL;
	}
	return s;
}

/* Runs a discovery session on @fd (consumed) until the handshake came or
 * the session ended or timed out.  Return: +1 handshake or NULL (errno). */
static xpc_object_t remote_discover(int fd, RemoteTls *tls, char **ret_error)
{
	Discover d = {.done = dispatch_semaphore_create(0), .gone = dispatch_semaphore_create(0)};
	dispatch_queue_t q = dispatch_queue_create("org.xpc.remote.discover", NULL);
	RemoteSession *s = remote_client_session(fd, tls, &discover_ops, &d, q);
	bool timed_out = false;

	if (s) {
		remote_session_start(s);
		timed_out = dispatch_semaphore_wait(d.done, dispatch_time(DISPATCH_TIME_NOW,
				 (int64_t)XPC_LINUX_REMOTE_TIMEOUT_MS * NSEC_PER_MSEC)) != 0;
		remote_session_close(s, "done");
		dispatch_semaphore_wait(d.gone, DISPATCH_TIME_FOREVER);
		remote_session_release(s);
	}
	dispatch_release(q);
	dispatch_release(d.done);
	dispatch_release(d.gone);
	if (d.handshake)
		return d.handshake;
	errno = !s ? ENOMEM : timed_out ? ETIMEDOUT : EPROTO;
	remote_set_error(ret_error, "no handshake",
			 !s ? "out of memory" : timed_out ? "timed out" : d.error ? d.error : "session ended");
	return NULL;
}

xpc_object_t xpc_linux_remote_copy_services_with_options(const char *host, uint16_t port, xpc_object_t options,
							 char **ret_error)
{
	int err, fd;
	RemoteTls *tls = remote_client_tls(options, &err);
	xpc_object_t hs;

	if (ret_error)
		*ret_error = NULL;
	if (err) {
		remote_set_error(ret_error, "bad options", remote_tls_why ? remote_tls_why : strerror(err));
		errno = err;
		return NULL;
	}
	fd = remote_net_connect(host, port, XPC_LINUX_REMOTE_TIMEOUT_MS);
	if (fd < 0) {
		remote_tls_release(tls);
		remote_set_error(ret_error, "cannot connect", strerror(-fd));
		errno = -fd;
		return NULL;
	}
	hs = remote_discover(fd, tls, ret_error);
	err = errno;
	remote_tls_release(tls);
	errno = err;
	return hs;
}

xpc_object_t xpc_linux_remote_copy_services(const char *host, uint16_t port, char **ret_error)
{
	return xpc_linux_remote_copy_services_with_options(host, port, NULL, ret_error);
}

/* The port the handshake gives for @name: 0 if none or not a decimal
 * string in 1..65535. */
static uint16_t remote_service_port(xpc_object_t handshake, const char *name)
{
	xpc_object_t services = xpc_dictionary_get_dictionary(handshake, "Services");
	xpc_object_t svc = services ? xpc_dictionary_get_dictionary(services, name) : NULL;
	const char *port = svc ? xpc_dictionary_get_string(svc, "Port") : NULL;
	char *end;
	unsigned long v;

	if (!port || *port < '0' || *port > '9')
		return 0;
	errno = 0;
	v = strtoul(port, &end, 10);
	return *end || errno || v == 0 || v > 65535 ? 0 : (uint16_t)v;
}

/* ---- the link: a side peer bridged to a session ---------------------------- */

/* A request waiting for its reply, on RemoteLink.pending in the order sent:
 * replies mostly answer the oldest request, so the search from the head
 * usually stops at the first entry. */
typedef struct Pending {
	ListNode link;
	uint64_t id;
	xpc_object_t reply; /* the empty reply made for the request */
} Pending;

typedef struct RemoteLink {
	RemoteSession *s;
	xpc_connection_t side;
	dispatch_queue_t q;
	ListNode pending; /* Pending.link, oldest first */
	size_t n_pending;
	uint64_t next_id;
	bool session_closed, side_gone;
} RemoteLink;

static void link_free(RemoteLink *l)
{
	Pending *p;

	while ((p = list_first_entry(&l->pending, Pending, link))) {
		list_unlink(&p->link);
		xpc_release(p->reply);
		free(p);
	}
	xpc_release(l->side);
	remote_session_release(l->s);
	dispatch_release(l->q);
	free(l);
}

/* Sends @reply (consumed) on the side with { XPCErrorDescription: @text }. */
static void link_answer_error(RemoteLink *l, xpc_object_t reply, const char *text)
{
	xpc_dictionary_set_string(reply, XPC_ERROR_KEY_DESCRIPTION, text);
	xpc_connection_send_message(l->side, reply);
	xpc_release(reply);
}

static const char *link_encode_error(int err)
{
	if (err == WIRE_E_UNSERIALIZABLE)
		return "remote: fd, shmem, endpoint and connection objects cannot cross hosts";
	return remote_strerror(err);
}

/* A message the user sent: out on the root channel. */
static void link_forward(RemoteLink *l, xpc_object_t msg)
{
	xpc_object_t reply = xpc_dictionary_create_reply(msg);
	uint32_t flags = REMOTE_FLAG_ALWAYS_SET | REMOTE_FLAG_DATA_PRESENT;
	uint64_t id = ++l->next_id;
	Pending *p = NULL;
	int err;

	if (reply && l->n_pending >= REMOTE_MAX_PENDING) {
		link_answer_error(l, reply, "remote: limit exceeded: pending replies");
		return;
	}
	if (reply && !(p = malloc(sizeof(*p)))) {
		link_answer_error(l, reply, "remote: out of memory");
		return;
	}
	err = remote_session_send(l->s, REMOTE_STREAM_ROOT, flags | (reply ? REMOTE_FLAG_WANTING_REPLY : 0), id, msg);
	if (err) {
		free(p);
		if (reply)
			link_answer_error(l, reply, link_encode_error(err));
		return;
	}
	if (!p)
		return;
	p->id = id;
	p->reply = reply;
	list_append(&l->pending, &p->link);
	l->n_pending++;
}

static Pending *link_take_pending(RemoteLink *l, uint64_t id)
{
	Pending *p;

	list_for_each_entry(p, &l->pending, Pending, link) {
		if (p->id == id) {
			list_unlink(&p->link);
			xpc_assert(l->n_pending > 0);
			l->n_pending--;
			return p;
		}
	}
	return NULL;
}

static void link_reply(RemoteLink *l, const RemoteMessage *m)
{
	Pending *p = link_take_pending(l, m->id);
	xpc_object_t reply;
	char text[160];

	if (!p)
		return;
	reply = p->reply;
	free(p);
	if (!m->body || xpc_get_type(m->body) != XPC_TYPE_DICTIONARY) {
		snprintf(text, sizeof(text), "remote: bad reply: %s",
			 m->body ? "not a dictionary" : remote_strerror(m->body_error));
		link_answer_error(l, reply, text);
		return;
	}
	xpc_dictionary_apply(m->body, ^bool(const char *key, xpc_object_t value) {
		xpc_dictionary_set_value(reply, key, value);
		return true;
	});
	xpc_connection_send_message(l->side, reply);
	xpc_release(reply);
}

static void link_ready(RemoteSession *s, void *ctx)
{
}

static void link_message(RemoteSession *s, int32_t stream, const RemoteMessage *m, void *ctx)
{
	RemoteLink *l = ctx;

	if (stream == REMOTE_STREAM_REPLY && (m->flags & REMOTE_FLAG_REPLY))
		link_reply(l, m);
	else if (stream == REMOTE_STREAM_ROOT && m->body && xpc_get_type(m->body) == XPC_TYPE_DICTIONARY &&
		 !l->side_gone)
		xpc_connection_send_message(l->side, m->body);
}

static void link_closed(RemoteSession *s, const char *reason, void *ctx)
{
	RemoteLink *l = ctx;

	l->session_closed = true;
	if (l->side_gone)
		link_free(l);
	else
		xpc_connection_cancel(l->side);
}

static const RemoteSessionOps link_ops = {
	.ready = link_ready,
	.message = link_message,
	.closed = link_closed,
};

static void link_side_event(RemoteLink *l, xpc_object_t ev)
{
	if (xpc_get_type(ev) == XPC_TYPE_DICTIONARY) {
		if (!l->session_closed)
			link_forward(l, ev);
		return;
	}
	if (ev != XPC_ERROR_CONNECTION_INVALID)
		return;
	l->side_gone = true;
	if (l->session_closed)
		link_free(l);
	else
		remote_session_close(l->s, "connection cancelled");
}

/* The user's connection over @fd (consumed), bridged to a session (inside
 * TLS when @tls). */
static xpc_connection_t remote_link_create(int fd, RemoteTls *tls, dispatch_queue_t targetq)
{
	int sv[2];
	RemoteLink *l;
	xpc_connection_t user;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		close(fd);
		return NULL;
	}
	l = calloc(1, sizeof(*l));
	user = connection_create_from_socket(sv[0], targetq);
	if (l) {
		list_node_init(&l->pending);
		l->q = dispatch_queue_create("org.xpc.remote.link", NULL);
	}
	if (l && l->q)
		l->side = connection_create_from_socket(sv[1], l->q);
	else
		close(sv[1]);
	if (l && l->side)
		l->s = remote_client_session(fd, tls, &link_ops, l, l->q);
	else
		close(fd);
	if (!user || !l || !l->s) {
		if (l && l->side)
			xpc_release(l->side);
		if (l && l->q)
			dispatch_release(l->q);
		free(l);
		if (user)
			xpc_release(user);
		errno = ENOMEM;
		return NULL;
	}
	xpc_connection_set_event_handler(l->side, ^(xpc_object_t ev) {
		link_side_event(l, ev);
	});
	xpc_connection_resume(l->side);
	remote_session_start(l->s);
	return user;
}

/* The port of service @name, through the discovery port @port (errno). */
static uint16_t remote_lookup_port(const char *host, uint16_t port, const char *name, xpc_object_t options)
{
	xpc_object_t hs = xpc_linux_remote_copy_services_with_options(host, port, options, NULL);

	if (!hs)
		return 0;
	port = remote_service_port(hs, name);
	xpc_release(hs);
	if (!port)
		errno = ENOENT;
	return port;
}

xpc_connection_t xpc_linux_remote_connection_create_with_options(const char *host, uint16_t port, const char *name,
								 xpc_object_t options, dispatch_queue_t targetq)
{
	int err, fd;
	RemoteTls *tls;
	xpc_connection_t c;

	if (name && !(port = remote_lookup_port(host, port, name, options)))
		return NULL;
	tls = remote_client_tls(options, &err);
	if (err) {
		errno = err;
		return NULL;
	}
	fd = remote_net_connect(host, port, XPC_LINUX_REMOTE_TIMEOUT_MS);
	if (fd < 0) {
		remote_tls_release(tls);
		errno = -fd;
		return NULL;
	}
	c = remote_link_create(fd, tls, targetq);
	remote_tls_release(tls);
	return c;
}

xpc_connection_t xpc_linux_remote_connection_create(const char *host, uint16_t port, const char *name,
						    dispatch_queue_t targetq)
{
	return xpc_linux_remote_connection_create_with_options(host, port, name, NULL, targetq);
}
