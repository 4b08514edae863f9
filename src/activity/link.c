/* SPDX-License-Identifier: MIT */
/*
 * link.c - a job's side of its activity channel to xpcd (protocol.h), and
 * xpc_set_event_stream_handler (docs/activities.md).
 *
 * xpcd hands a job with activities in its property list the receive side
 * of a channel only xpcd can check in to (ACTIVITY_CHANNEL among the
 * XPCD_LISTEN_* descriptors).  The first xpc_activity_register or
 * xpc_set_event_stream_handler(ACTIVITY_STREAM) of the process listens on
 * it; xpcd's link then brings the hello (the activities of the property
 * list and their criteria), which completes the check-ins made before it,
 * and the run requests, each answered with how the run ended.
 *
 * A run for a name the process has not registered (yet) goes to the event
 * stream handler when there is one ({ XPCEventName: NAME }, DONE when the
 * handler returns); otherwise it waits for the registration, up to
 * ACTIVITY_MAX_PENDING_RUNS of them (beyond, it is answered DEFER).  Only
 * ACTIVITY_STREAM is supported: the handler of any other stream is never
 * called (there is nothing on Linux to back com.apple.notifyd.matching,
 * com.apple.iokit.matching or com.apple.fsevents.matching).
 *
 * Everything here is under activity_lock (activity.c).  Only xpcd holds
 * the channel's W; a link from a process that is neither root nor this
 * process's user is dropped all the same.
 *
 * Edges: this file calls activity.c (the registry, runs, the answer to a
 * run); register.c calls it; activity.c never does.
 */
#include "activity/internal.h"

#include <Block.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct PendingRun {
	xpc_object_t msg;
	xpc_connection_t peer;
} PendingRun;

static struct {
	bool started;
	xpc_connection_t listener;
	xpc_connection_t peer;  /* xpcd's current link, +1, or NULL */
	xpc_object_t hello;     /* name -> criteria, +1, or NULL */
	bool hello_final;       /* the hello came, or the channel is gone */
	dispatch_queue_t queue; /* the listener's and the links' events */
	PendingRun pending[ACTIVITY_MAX_PENDING_RUNS];
	size_t n_pending;
	xpc_handler_t stream_handler;
	dispatch_queue_t stream_queue; /* serial, targets the user's queue */
} link_state;

/* ---- the channel ------------------------------------------------------------- */

bool link_available(void)
{
	const char *pid = secure_getenv("XPCD_LISTEN_PID");
	const char *names = secure_getenv("XPCD_LISTEN_FDNAMES");
	size_t len = strlen(ACTIVITY_CHANNEL);

	if (!pid || !names || atol(pid) != (long)getpid())
		return false;
	for (const char *p = names; p && *p;) {
		const char *end = strchr(p, ':');
		size_t l = end ? (size_t)(end - p) : strlen(p);
		if (l == len && !memcmp(p, ACTIVITY_CHANNEL, len))
			return true;
		p = end ? end + 1 : NULL;
	}
	return false;
}

static void link_checkin_waiting_locked(xpc_object_t hello);

/* ---- runs for names not registered: the stream handler, or later -------------- */

typedef struct StreamEvent {
	xpc_object_t event, msg;
	xpc_connection_t peer;
	xpc_handler_t handler;
} StreamEvent;

static void link_stream_deliver(void *ctx)
{
	StreamEvent *e = ctx;

	e->handler(e->event);
	pthread_mutex_lock(&activity_lock);
	activity_reply_run_locked(e->msg, e->peer, XPC_ACTIVITY_STATE_DONE);
	pthread_mutex_unlock(&activity_lock);
	Block_release(e->handler);
	xpc_release(e->event);
	free(e);
}

/* Hands xpcd's run of @name to the stream handler (locked; consumes @msg
 * and @peer).  Return: false when there is none (nothing consumed). */
static bool link_stream_run_locked(const char *name, xpc_object_t msg, xpc_connection_t peer)
{
	StreamEvent *e;

	lock_assert_held(&activity_lock);
	if (!link_state.stream_handler || !(e = calloc(1, sizeof(*e))))
		return false;
	e->event = xpc_dictionary_create(NULL, NULL, 0);
	e->handler = Block_copy(link_state.stream_handler);
	if (!e->event || !e->handler) {
		if (e->event)
			xpc_release(e->event);
		if (e->handler)
			Block_release(e->handler);
		free(e);
		return false;
	}
	xpc_dictionary_set_string(e->event, XPC_EVENT_KEY_NAME, name);
	e->msg = msg;
	e->peer = peer;
	dispatch_async_f(link_state.stream_queue, e, link_stream_deliver);
	return true;
}

/* A run of a name no activity of this process has (locked; borrows). */
static void link_run_unregistered_locked(const char *name, xpc_object_t msg, xpc_connection_t peer)
{
	lock_assert_held(&activity_lock);
	if (link_stream_run_locked(name, xpc_retain(msg), xpc_retain(peer)))
		return;
	xpc_release(msg);
	xpc_release(peer);
	if (link_state.n_pending == ACTIVITY_MAX_PENDING_RUNS) {
		activity_reply_state(msg, peer, XPC_ACTIVITY_STATE_DEFER);
		return;
	}
	link_state.pending[link_state.n_pending].msg = xpc_retain(msg);
	link_state.pending[link_state.n_pending].peer = xpc_retain(peer);
	link_state.n_pending++;
}

static void link_pending_drop_locked(size_t i)
{
	lock_assert_held(&activity_lock);
	xpc_release(link_state.pending[i].msg);
	xpc_release(link_state.pending[i].peer);
	link_state.pending[i] = link_state.pending[--link_state.n_pending];
}

void link_take_pending_locked(xpc_activity_t a)
{
	lock_assert_held(&activity_lock);
	for (size_t i = 0; i < link_state.n_pending; i++) {
		PendingRun *p = &link_state.pending[i];
		const char *name = xpc_dictionary_get_string(p->msg, ACTIVITY_KEY_NAME);
		if (name && !strcmp(name, a->name) && activity_run_locked(a, p->msg, p->peer)) {
			link_pending_drop_locked(i);
			return;
		}
	}
}

/* ---- xpcd's messages ------------------------------------------------------------ */

static void link_on_hello_locked(xpc_object_t msg)
{
	xpc_object_t acts = xpc_dictionary_get_value(msg, ACTIVITY_KEY_ACTIVITIES);

	lock_assert_held(&activity_lock);
	if (link_state.hello)
		xpc_release(link_state.hello);
	link_state.hello = acts && xpc_get_type(acts) == XPC_TYPE_DICTIONARY ? xpc_copy(acts) : NULL;
	link_state.hello_final = true;
	link_checkin_waiting_locked(link_state.hello);
}

static void link_on_run_locked(xpc_connection_t peer, xpc_object_t msg)
{
	const char *name = xpc_dictionary_get_string(msg, ACTIVITY_KEY_NAME);
	xpc_activity_t a;

	lock_assert_held(&activity_lock);
	if (!name)
		return;
	a = activity_find_locked(name);
	if (a && a->registered && !a->awaiting_hello) {
		if (!activity_run_locked(a, msg, peer))
			activity_reply_state(msg, peer, XPC_ACTIVITY_STATE_DEFER);
		return;
	}
	link_run_unregistered_locked(name, msg, peer);
}

static void link_on_gone_locked(xpc_connection_t peer)
{
	lock_assert_held(&activity_lock);
	for (size_t i = 0; i < link_state.n_pending;)
		if (link_state.pending[i].peer == peer)
			link_pending_drop_locked(i);
		else
			i++;
	if (link_state.peer == peer) {
		xpc_release(link_state.peer);
		link_state.peer = NULL;
	}
}

static void link_on_message(xpc_connection_t peer, xpc_object_t msg)
{
	const char *op;
	const char *name;
	xpc_activity_t a;

	pthread_mutex_lock(&activity_lock);
	if (xpc_get_type(msg) != XPC_TYPE_DICTIONARY) {
		if (msg == XPC_ERROR_CONNECTION_INVALID)
			link_on_gone_locked(peer);
		pthread_mutex_unlock(&activity_lock);
		return;
	}
	op = xpc_dictionary_get_string(msg, ACTIVITY_KEY_OP);
	name = xpc_dictionary_get_string(msg, ACTIVITY_KEY_NAME);
	if (op && !strcmp(op, ACTIVITY_OP_HELLO))
		link_on_hello_locked(msg);
	else if (op && !strcmp(op, ACTIVITY_OP_RUN))
		link_on_run_locked(peer, msg);
	else if (op && !strcmp(op, ACTIVITY_OP_DEFER) && name && (a = activity_find_locked(name)))
		a->defer_asked = a->state == XPC_ACTIVITY_STATE_RUN || a->state == XPC_ACTIVITY_STATE_CONTINUE;
	pthread_mutex_unlock(&activity_lock);
}

static void link_on_peer(xpc_connection_t peer)
{
	uid_t uid = xpc_connection_get_euid(peer);

	if (uid != 0 && uid != geteuid()) {
		xpc_connection_cancel(peer); /* only xpcd holds W: not expected */
		return;
	}
	xpc_retain(peer);
	xpc_connection_set_event_handler(peer, ^(xpc_object_t msg) {
		link_on_message(peer, msg);
		if (msg == XPC_ERROR_CONNECTION_INVALID)
			xpc_release(peer);
	});
	pthread_mutex_lock(&activity_lock);
	if (link_state.peer) {
		xpc_connection_cancel(link_state.peer); /* a restarted xpcd's link replaces it */
		xpc_release(link_state.peer);
	}
	link_state.peer = xpc_retain(peer);
	pthread_mutex_unlock(&activity_lock);
	xpc_connection_resume(peer);
}

static void link_on_listener_event(xpc_object_t ev)
{
	if (xpc_get_type(ev) == XPC_TYPE_CONNECTION) {
		link_on_peer((xpc_connection_t)ev);
		return;
	}
	if (ev != XPC_ERROR_CONNECTION_INVALID)
		return;
	pthread_mutex_lock(&activity_lock);
	if (!link_state.hello_final) { /* no hello will come: check in without */
		link_state.hello_final = true;
		link_checkin_waiting_locked(NULL);
	}
	pthread_mutex_unlock(&activity_lock);
}

int link_start_locked(void)
{
	xpc_connection_t l;

	lock_assert_held(&activity_lock);
	if (link_state.started)
		return link_state.listener ? 0 : -1;
	link_state.started = true;
	link_state.queue = dispatch_queue_create("xpc.activity.link", NULL);
	if (!link_state.queue)
		return -1;
	l = xpc_connection_create_mach_service(ACTIVITY_CHANNEL, link_state.queue, XPC_CONNECTION_MACH_SERVICE_LISTENER);
	if (!l)
		return -1;
	xpc_connection_set_event_handler(l, ^(xpc_object_t ev) {
		link_on_listener_event(ev);
	});
	link_state.listener = l;
	xpc_connection_resume(l);
	return 0;
}

bool link_hello_lookup_locked(const char *name, xpc_object_t *ret_criteria)
{
	lock_assert_held(&activity_lock);
	*ret_criteria = NULL;
	if (!link_state.hello_final)
		return false;
	if (link_state.hello)
		*ret_criteria = xpc_dictionary_get_value(link_state.hello, name);
	if (*ret_criteria && xpc_get_type(*ret_criteria) != XPC_TYPE_DICTIONARY)
		*ret_criteria = NULL;
	return true;
}

void link_send_update_locked(const char *name, xpc_object_t criteria)
{
	xpc_object_t msg;

	lock_assert_held(&activity_lock);
	if (!link_state.peer || !(msg = xpc_dictionary_create(NULL, NULL, 0)))
		return;
	xpc_dictionary_set_string(msg, ACTIVITY_KEY_OP, criteria ? ACTIVITY_OP_CRITERIA : ACTIVITY_OP_UNREGISTER);
	xpc_dictionary_set_string(msg, ACTIVITY_KEY_NAME, name);
	if (criteria)
		xpc_dictionary_set_value(msg, ACTIVITY_KEY_CRITERIA, criteria);
	xpc_connection_send_message(link_state.peer, msg);
	xpc_release(msg);
}

/* The hello came (or never will, @hello NULL): every activity that checked
 * in before it is checked in now; one registered with criteria whose name
 * the property list has becomes xpcd's (locked). */
static void link_checkin_waiting_locked(xpc_object_t hello)
{
	xpc_object_t plist;

	lock_assert_held(&activity_lock);
	for (xpc_activity_t a = activity_first_locked(); a; a = a->next) {
		plist = hello ? xpc_dictionary_get_value(hello, a->name) : NULL;
		if (plist && xpc_get_type(plist) != XPC_TYPE_DICTIONARY)
			plist = NULL;
		if (a->awaiting_hello) {
			activity_adopt_hello_locked(a, plist);
			activity_checkin_locked(a);
			link_take_pending_locked(a);
		} else if (plist && !a->from_broker && a->registered) {
			a->from_broker = true;
			a->generation++; /* its in-process schedule ends */
			if (a->criteria)
				link_send_update_locked(a->name, a->criteria);
		}
	}
}

/* ---- xpc_set_event_stream_handler -------------------------------------------------- */

void xpc_set_event_stream_handler(const char *stream, dispatch_queue_t targetq, xpc_handler_t handler)
{
	xpc_handler_t h;
	dispatch_queue_t q;

	if (!stream || !handler || strcmp(stream, ACTIVITY_STREAM))
		return; /* no other stream exists on Linux (docs/activities.md) */
	h = Block_copy(handler);
	q = dispatch_queue_create("xpc.event-stream", NULL);
	if (!h || !q) {
		if (h)
			Block_release(h);
		if (q)
			dispatch_release(q);
		return;
	}
	dispatch_set_target_queue(q, targetq);
	pthread_mutex_lock(&activity_lock);
	if (link_state.stream_handler) {
		Block_release(link_state.stream_handler);
		dispatch_release(link_state.stream_queue);
	}
	link_state.stream_handler = h;
	link_state.stream_queue = q;
	if (link_available())
		link_start_locked();
	while (link_state.n_pending) { /* runs that waited for a taker */
		PendingRun p = link_state.pending[link_state.n_pending - 1];
		const char *name = xpc_dictionary_get_string(p.msg, ACTIVITY_KEY_NAME);
		if (!link_stream_run_locked(name, p.msg, p.peer))
			break;
		link_state.n_pending--;
	}
	pthread_mutex_unlock(&activity_lock);
}
