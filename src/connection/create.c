/* SPDX-License-Identifier: MIT */
/*
 * create.c - making and freeing the connection object, and the
 * constructors of the layer's internal face (connection.h).
 *
 * Every constructor returns an inactive connection; activation and all
 * that follows are connection.c's.  A connection made by name is made in
 * named.c (it brings its link up its own way).  Freeing runs when the last
 * reference goes, which an active connection's own reference and its
 * sources' references keep from happening before its final INVALID was
 * delivered and its descriptors' sources were cancelled.
 */
#include "connection/internal.h"
#include "transport/unix/unix.h"

#include <Block.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void create_dispose(xpc_object_t obj);
static void create_describe(xpc_object_t obj, StrBuf *sb, unsigned indent);

const struct _xpc_type_s _xpc_type_connection = {
	.name = "connection",
	.dispose = create_dispose,
	.describe = create_describe,
};

static dispatch_queue_t create_default_target(void)
{
	return dispatch_get_global_queue(DISPATCH_QUEUE_PRIORITY_DEFAULT, 0);
}

xpc_connection_t create_conn(ConnKind kind, dispatch_queue_t target)
{
	xpc_connection_t c = object_alloc(&_xpc_type_connection, sizeof(*c));

	if (!c)
		return NULL;
	c->kind = kind;
	pthread_mutex_init(&c->lock, NULL);
	pthread_rwlock_init(&c->rx.lock, NULL);
	unix_link_init(&c->link, -1); /* the one transport there is */
	c->send_w = -1;
	c->peer.pidfd = -1;
	c->tx.next_id = 1;
	c->tx.max_unsent = CONN_MAX_UNSENT;
	c->tx.max_unsent_fds = CONN_MAX_UNSENT_FDS;
	c->queue = dispatch_queue_create("xpc.connection", NULL);
	c->ioq = dispatch_queue_create("xpc.connection.io", NULL);
	if (!c->queue || !c->ioq) {
		xpc_release(c);
		return NULL;
	}
	if (target) {
		dispatch_retain(target);
		c->target = target;
	}
	dispatch_set_target_queue(c->queue, target ? target : create_default_target());
	return c;
}

void create_refund_link(xpc_connection_t c)
{
	if (!c->link_charge)
		return;
	charge_give(c->link_charge, 1);
	charge_unref(c->link_charge);
	c->link_charge = NULL;
}

static void create_dispose(xpc_object_t obj)
{
	xpc_connection_t c = (xpc_connection_t)obj;

	if (c->finalizer)
		c->finalizer(c->context);
	/* the last reference: nobody else takes the lock, but the two are
	 * *_locked and check it (debug and sanitizer builds) */
	conn_lock(c);
	exit_untrack_locked(c); /* (listed ones are not disposed: INVALID took them off) */
	send_discard_locked(c);
	conn_unlock(c);
	c->link.ops->reset(&c->link);
	create_refund_link(c);
	for (size_t i = 0; i < c->n_uid_accts; i++)
		charge_unref(c->uid_accts[i]);
	free(c->uid_accts);
	free(c->uchans); /* (each closed with the link: user-channel.c) */
	if (c->link.fd >= 0)
		close(c->link.fd);
	ring_free(ring_link_detach(&c->link)); /* (a link whose read never started) */
	if (c->send_w >= 0)
		close(c->send_w);
	peer_dispose(c);
	if (c->handler_block)
		Block_release(c->handler_block);
	if (c->queue)
		dispatch_release(c->queue);
	if (c->ioq)
		dispatch_release(c->ioq);
	if (c->target)
		dispatch_release(c->target);
	free(c->name);
	free(c->service);
	free(c->error_detail);
	if (c->requirement)
		xpc_release(c->requirement);
	receive_dispose(c);
	pthread_mutex_destroy(&c->lock);
}

static void create_describe(xpc_object_t obj, StrBuf *sb, unsigned indent)
{
	xpc_connection_t c = (xpc_connection_t)obj;

	(void)indent;
	conn_lock(c);
	strbuf_printf(sb, "{ name = %s, listener = %s, pid = %d, euid = %u, egid = %u, asid = %u }",
		      c->name ? c->name : "(anonymous)", c->kind == CONN_LISTENER ? "true" : "false",
		      (int)c->peer.pid, (unsigned)c->peer.uid, (unsigned)c->peer.gid, 0u);
	conn_unlock(c);
}

int connection_listener_pair(int *ret_recv_fd, int *ret_send_fd)
{
	int sv[2], r = unix_link_pair(sv);

	if (r < 0)
		return r;
	*ret_recv_fd = sv[0];
	*ret_send_fd = sv[1];
	return 0;
}

/* A peer over the connected @fd (consumed) whose maker is @cr, or, if
 * NULL, asked of the link (SO_PEERCRED). */
static xpc_connection_t create_from_socket(int fd, dispatch_queue_t q, const TransportCreds *cr)
{
	xpc_connection_t c = create_conn(CONN_PEER, q);

	if (!c) {
		close(fd);
		return NULL;
	}
	c->link.fd = fd;
	conn_set(c, CONN_F_GOT_HELLO, true);
	if (cr)
		peer_set_known(c, cr);
	else
		peer_set_from_link(c);
	/* SO_PEERCRED named the peer: this end needs no SCM_CREDENTIALS (the
	 * peer's end still asks until it has read our HELLO), so SO_PASSCRED
	 * stays as it came (off for a check-in's socket and an accepted one). */
	if (!(c->peer.flags & PEER_F_KNOWN))
		transport_setup_socket(fd);
	return c;
}

xpc_connection_t connection_create_from_socket(int fd, dispatch_queue_t q)
{
	xpc_connection_t c = create_from_socket(fd, q, NULL);

	if (c)
		c->role |= CONN_ROLE_RAW;
	return c;
}

xpc_connection_t create_checked_in(int fd, const TransportCreds *cr)
{
	return create_from_socket(fd, NULL, cr);
}

void connection_set_untapped(xpc_connection_t c)
{
	c->role |= CONN_ROLE_UNTAPPED;
}

xpc_connection_t connection_create_listener_from_fd(int recv_fd, const char *name, dispatch_queue_t q)
{
	xpc_connection_t c = create_conn(CONN_LISTENER, q);

	if (!c) {
		close(recv_fd);
		return NULL;
	}
	fcntl(recv_fd, F_SETFD, FD_CLOEXEC);
	transport_setup_socket(recv_fd);
	c->link.fd = recv_fd;
	if (name)
		c->name = strdup(name);
	return c;
}

int connection_get_socket_borrow(xpc_connection_t conn)
{
	int fd;

	conn_lock(conn);
	fd = conn->link.fd;
	conn_unlock(conn);
	return fd;
}

void connection_set_send_limits(xpc_connection_t conn, size_t max_bytes, size_t max_fds)
{
	conn_lock(conn);
	conn->tx.max_unsent = max_bytes;
	conn->tx.max_unsent_fds = max_fds;
	conn_unlock(conn);
}

int connection_set_receive_limit(xpc_connection_t conn, size_t max_bytes)
{
	Charge *a = charge_new(frame_rx_account(), max_bytes), *old;

	if (!a)
		return -ENOMEM;
	conn_lock(conn);
	if (conn->rx.set_up) { /* a reader may use the account now: keep it */
		conn_unlock(conn);
		charge_unref(a);
		return -EBUSY;
	}
	old = conn->rx.charge;
	conn->rx.charge = a;
	conn_unlock(conn);
	charge_unref(old);
	return 0;
}

xpc_connection_t create_anonymous_listener(dispatch_queue_t targetq)
{
	xpc_connection_t c;
	int r, w;

	if (connection_listener_pair(&r, &w) < 0)
		return NULL;
	c = create_conn(CONN_LISTENER, targetq);
	if (!c) {
		close(r);
		close(w);
		return NULL;
	}
	c->link.fd = r;
	c->send_w = w;
	return c;
}

xpc_connection_t xpc_connection_create_from_endpoint(xpc_endpoint_t endpoint)
{
	int efd = endpoint_object_borrow_fd((xpc_object_t)endpoint);
	xpc_connection_t c;
	int w;

	if (efd < 0)
		return NULL;
	w = fcntl(efd, F_DUPFD_CLOEXEC, 3);
	if (w < 0)
		return NULL;
	c = create_conn(CONN_PEER, NULL);
	if (!c) {
		close(w);
		return NULL;
	}
	c->send_w = w;
	c->role = CONN_ROLE_FROM_ENDPOINT;
	return c;
}

void xpc_connection_set_target_queue(xpc_connection_t c, dispatch_queue_t targetq)
{
	dispatch_queue_t old;

	if (targetq)
		dispatch_retain(targetq);
	conn_lock(c);
	old = c->target;
	c->target = targetq;
	dispatch_set_target_queue(c->queue, targetq ? targetq : create_default_target());
	conn_unlock(c);
	if (old)
		dispatch_release(old);
}

void xpc_connection_set_context(xpc_connection_t c, void *context)
{
	conn_lock(c);
	c->context = context;
	conn_unlock(c);
}

void *xpc_connection_get_context(xpc_connection_t c)
{
	void *ctx;

	conn_lock(c);
	ctx = c->context;
	conn_unlock(c);
	return ctx;
}

void xpc_connection_set_finalizer_f(xpc_connection_t c, xpc_finalizer_t finalizer)
{
	conn_lock(c);
	c->finalizer = finalizer;
	conn_unlock(c);
}

const char *xpc_connection_get_name(xpc_connection_t c)
{
	return c->name;
}
