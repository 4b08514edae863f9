/* SPDX-License-Identifier: MIT */
/*
 * named-link.c - the broker link a named connection asks over
 * (named.c): a new one per request, or the one kept for its broker.
 *
 * The broker hands a service's W only to root and the user the service
 * runs as (src/broker/vend.c); they cache W and rarely ask again.  Any
 * other process asks the broker to check its link in at every
 * connection, and a new broker link per request (connect, check-in with
 * the broker, its HELLO, then the request) tripled the cost of a named
 * connection (3.6x a raw connect and round trip, against 1.3x with a
 * cached W).  So a link whose answer carried no W is kept for the next
 * requests to the same broker (BrokerId: same socket, unchanged since),
 * one per process, until an answer hands a W (the user's own channel,
 * src/broker/user-channels.c: then it is let go).  It goes when the broker changes, when it ends (xpcd
 * closes client links idle for a while, --idle-timeout), in a child
 * after fork (never used there), and at connection_forget_services.
 *
 * On the kept link, named.c uses its new link before the answer came, and
 * asks again on a new broker link, with the same far end, when the kept
 * one ended under the request.
 *
 * An unsolicited { "xpcd.error": TEXT } (a broker over its limits says
 * so, then closes the link) is kept on the link: the request's answer is
 * worked on the link's queue after every event read before it, so the
 * text is there when the end answers the request (named_link_refused).
 */
#include "connection/internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "shared/xpcd-protocol.h"

struct NamedLink {
	xpc_connection_t conn;
	BrokerId id;
	pid_t pid;          /* the process that made it */
	char *refused;      /* on conn's queue only */
	atomic_int refs;    /* the link's end (INVALID), each request, the kept slot */
	dispatch_semaphore_t ended; /* signalled at INVALID (named_link_forget) */
};

static struct {
	pthread_mutex_t lock;
	NamedLink *kept;
} named_links = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void named_link_unref(NamedLink *l)
{
	if (atomic_fetch_sub(&l->refs, 1) != 1)
		return;
	xpc_release(l->conn);
	dispatch_release(l->ended);
	free(l->refused);
	free(l);
}

static void named_link_event(NamedLink *l, xpc_object_t ev)
{
	const char *text = NULL;

	if (xpc_get_type(ev) == XPC_TYPE_DICTIONARY)
		text = xpc_dictionary_get_string(ev, XPCD_KEY_REFUSAL);
	if (text && !l->refused)
		l->refused = strdup(text);
	if (ev == XPC_ERROR_CONNECTION_INVALID) { /* the link's last event */
		dispatch_semaphore_signal(l->ended);
		named_link_unref(l);
	}
}

static NamedLink *named_link_new(const BrokerId *id, char *why, size_t why_size, ConnError *ret_e)
{
	NamedLink *l = calloc(1, sizeof(*l));
	int fd;

	*ret_e = CONN_E_NO_MEMORY;
	if (!l || !(l->ended = dispatch_semaphore_create(0))) {
		free(l);
		return NULL;
	}
	fd = brokerlink_connect(id->path, id->system, why, why_size);
	if (fd < 0 || !(l->conn = connection_create_from_socket(fd, NULL))) {
		*ret_e = fd < 0 ? CONN_E_BROKER : CONN_E_NO_MEMORY;
		dispatch_release(l->ended);
		free(l);
		return NULL;
	}
	l->id = *id;
	l->pid = getpid();
	atomic_init(&l->refs, 2); /* the end, this request */
	xpc_connection_set_event_handler(l->conn, ^(xpc_object_t ev) {
		named_link_event(l, ev);
	});
	xpc_connection_activate(l->conn);
	return l;
}

/* The kept link for @id, with a reference for the caller, or NULL. */
static NamedLink *named_link_take_kept(const BrokerId *id)
{
	NamedLink *l, *gone = NULL;

	pthread_mutex_lock(&named_links.lock);
	l = named_links.kept;
	if (l && (l->pid != getpid() || !brokerlink_same(id, &l->id))) {
		/* another broker now, or the parent's link after fork: not ours
		 * to use (in a child it is left alone: its queue runs in the
		 * parent) */
		gone = l->pid == getpid() ? l : NULL;
		named_links.kept = l = NULL;
	}
	if (l)
		atomic_fetch_add(&l->refs, 1);
	pthread_mutex_unlock(&named_links.lock);
	if (gone) {
		xpc_connection_cancel(gone->conn);
		named_link_unref(gone); /* the kept slot's */
	}
	return l;
}

NamedLink *named_link_get(const BrokerId *id, bool *ret_reused, char *why, size_t why_size, ConnError *ret_e)
{
	NamedLink *l = named_link_take_kept(id);

	*ret_reused = l != NULL;
	return l ? l : named_link_new(id, why, why_size, ret_e);
}

xpc_connection_t named_link_conn(const NamedLink *l)
{
	return l->conn;
}

const char *named_link_refused(const NamedLink *l)
{
	return l->refused;
}

void named_link_done(NamedLink *l, bool keep)
{
	bool kept = false, is_kept;

	pthread_mutex_lock(&named_links.lock);
	is_kept = named_links.kept == l;
	if (keep && !named_links.kept && !l->refused) {
		named_links.kept = l; /* takes this request's reference */
		kept = true;
	}
	pthread_mutex_unlock(&named_links.lock);
	if (kept)
		return;
	if (!is_kept)
		xpc_connection_cancel(l->conn);
	named_link_unref(l);
}

void named_link_drop(NamedLink *l)
{
	bool was = false;

	pthread_mutex_lock(&named_links.lock);
	if (named_links.kept == l) {
		named_links.kept = NULL;
		was = true;
	}
	pthread_mutex_unlock(&named_links.lock);
	if (!was)
		return;
	xpc_connection_cancel(l->conn);
	named_link_unref(l); /* the kept slot's */
}

void named_link_forget(void)
{
	NamedLink *l;

	pthread_mutex_lock(&named_links.lock);
	l = named_links.kept;
	if (l && l->pid != getpid())
		l = NULL;
	named_links.kept = NULL;
	if (l)
		atomic_fetch_add(&l->refs, 1); /* held across the wait */
	pthread_mutex_unlock(&named_links.lock);
	if (!l)
		return;
	xpc_connection_cancel(l->conn);
	named_link_unref(l); /* the kept slot's */
	dispatch_semaphore_wait(l->ended, DISPATCH_TIME_FOREVER);
	named_link_unref(l);
}
