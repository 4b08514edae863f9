/* SPDX-License-Identifier: MIT */
/*
 * activity.c - xpc_activity_t: the process's registry of activities, their
 * states and runs, and the in-process schedule (docs/activities.md).
 *
 * States, as Apple's header defines them:
 *
 *   register(CHECK_IN) --> CHECK_IN (handler once) --> WAIT
 *   WAIT --due--> RUN (handler) --returns--> DONE     (state still RUN)
 *                              --set CONTINUE--> CONTINUE --set DONE/DEFER--> end
 *                              --set DONE/DEFER--> end of the run at return
 *   end: DONE -> WAIT again for a repeating activity, DONE for good
 *        otherwise (criteria NULL); DEFER -> WAIT, due again soon.
 *
 * Who decides "due": xpcd for an activity of the job's property list (it
 * sends a run request over the job's activity channel, link.c, and gets
 * the end state as the reply, activity_reply_run_locked() here); otherwise
 * this file, with one dispatch_after per schedule (a generation number
 * voids the older ones: an after cannot be cancelled), for the lifetime of
 * the process.
 *
 * The core of the layer: it calls only schedule.c and constants.c below
 * it; link.c (xpcd's channel) and register.c (registration, criteria)
 * call it, never the other way round.
 *
 * Invariants: a handler is never called reentrantly (one serial queue per
 * activity, and a run starts only from WAIT or CHECK_IN); every run xpcd
 * asked for is answered exactly once (run_msg is taken under the lock by
 * whoever answers it); no handler is called with the lock held.
 */
#include "activity/internal.h"
#include "activity/schedule.h"

#include <Block.h>
#include <stdlib.h>
#include <string.h>

pthread_mutex_t activity_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- the object ------------------------------------------------------------- */

static void activity_dispose(xpc_object_t obj);
static void activity_describe(xpc_object_t obj, StrBuf *sb, unsigned indent);

const struct _xpc_type_s _xpc_type_activity = {
	.name = "activity",
	.dispose = activity_dispose,
	.describe = activity_describe,
};

static xpc_activity_t activity_registry;

static void activity_dispose(xpc_object_t obj)
{
	xpc_activity_t a = obj;

	if (a->handler)
		Block_release(a->handler);
	if (a->criteria)
		xpc_release(a->criteria);
	if (a->queue)
		dispatch_release(a->queue);
	free(a->name);
}

static void activity_describe(xpc_object_t obj, StrBuf *sb, unsigned indent)
{
	xpc_activity_t a = obj;

	(void)indent;
	strbuf_printf(sb, "{ name = %s, state = %ld }", a->name, (long)a->state);
}

static xpc_activity_t activity_new(const char *name)
{
	xpc_activity_t a = object_alloc(&_xpc_type_activity, sizeof(*a));

	if (!a)
		return NULL;
	a->name = strdup(name);
	a->queue = dispatch_queue_create("xpc.activity", NULL);
	a->state = XPC_ACTIVITY_STATE_WAIT;
	if (!a->name || !a->queue) {
		xpc_release(a);
		return NULL;
	}
	return a;
}

xpc_activity_t activity_find_locked(const char *name)
{
	lock_assert_held(&activity_lock);
	for (xpc_activity_t a = activity_registry; a; a = a->next)
		if (!strcmp(a->name, name))
			return a;
	return NULL;
}

xpc_activity_t activity_first_locked(void)
{
	lock_assert_held(&activity_lock);
	return activity_registry;
}

xpc_activity_t activity_add_locked(const char *name)
{
	xpc_activity_t a;

	lock_assert_held(&activity_lock);
	a = activity_find_locked(name);
	if (!a && (a = activity_new(name))) {
		a->registered = true;
		a->next = activity_registry;
		activity_registry = a;
	}
	return a;
}

void activity_unlink_locked(xpc_activity_t a)
{
	lock_assert_held(&activity_lock);
	for (xpc_activity_t *p = &activity_registry; *p; p = &(*p)->next)
		if (*p == a) {
			*p = a->next;
			a->next = NULL;
			a->registered = false;
			xpc_release(a); /* the registry's reference */
			return;
		}
}

/* ---- the in-process schedule ------------------------------------------------- */

typedef struct ActivityTimer {
	xpc_activity_t a;
	uint64_t generation;
} ActivityTimer;

static double activity_time_scale(void)
{
	return activity_schedule_parse_scale(secure_getenv("XPC_ACTIVITY_TIME_SCALE"));
}

static void activity_timer_fired(void *ctx)
{
	ActivityTimer *t = ctx;
	xpc_activity_t a = t->a;

	pthread_mutex_lock(&activity_lock);
	if (a->registered && !a->from_broker && a->generation == t->generation)
		activity_run_locked(a, NULL, NULL);
	pthread_mutex_unlock(&activity_lock);
	xpc_release(a);
	free(t);
}

void activity_schedule_locked(xpc_activity_t a, int ev)
{
	int64_t ns;
	ActivityTimer *t;

	lock_assert_held(&activity_lock);
	a->generation++;
	if (a->from_broker || !a->registered)
		return;
	ns = activity_schedule_next_ns(a->criteria, (ActivityEvent)ev, activity_time_scale());
	if (ns < 0)
		return;
	t = malloc(sizeof(*t));
	if (!t)
		return; /* out of memory: the activity waits until new criteria */
	t->a = xpc_retain(a);
	t->generation = a->generation;
	dispatch_after_f(dispatch_time(DISPATCH_TIME_NOW, ns), a->queue, t, activity_timer_fired);
}

/* ---- runs ------------------------------------------------------------------- */

void activity_reply_state(xpc_object_t msg, xpc_connection_t peer, xpc_activity_state_t st)
{
	xpc_object_t reply = xpc_dictionary_create_reply(msg);

	if (reply) {
		xpc_dictionary_set_int64(reply, ACTIVITY_KEY_STATE, st);
		xpc_connection_send_message(peer, reply);
		xpc_release(reply);
	}
}

void activity_reply_run_locked(xpc_object_t msg, xpc_connection_t peer, xpc_activity_state_t state)
{
	lock_assert_held(&activity_lock);
	activity_reply_state(msg, peer, state);
	xpc_release(msg);
	xpc_release(peer);
}

/* A run ended with @a->state DONE or DEFER (locked). */
static void activity_end_run_locked(xpc_activity_t a)
{
	xpc_activity_state_t st = a->state;
	bool again = true;

	lock_assert_held(&activity_lock);
	if (a->run_msg) {
		activity_reply_run_locked(a->run_msg, a->run_peer, st);
		a->run_msg = NULL;
		a->run_peer = NULL;
	} else {
		activity_schedule_locked(a, st == XPC_ACTIVITY_STATE_DEFER ? ACTIVITY_EV_DEFERRED : ACTIVITY_EV_DONE);
	}
	if (st == XPC_ACTIVITY_STATE_DONE)
		again = activity_schedule_next_ns(a->criteria, ACTIVITY_EV_DONE, 1.0) >= 0;
	if (!again && a->criteria) {
		xpc_release(a->criteria); /* a one-shot activity that finished */
		a->criteria = NULL;
	}
	a->state = again ? XPC_ACTIVITY_STATE_WAIT : XPC_ACTIVITY_STATE_DONE;
	a->defer_asked = false;
}

static void activity_run_handler(void *ctx)
{
	xpc_activity_t a = ctx;
	xpc_activity_handler_t h = NULL;

	pthread_mutex_lock(&activity_lock);
	a->run_queued = false;
	a->state = XPC_ACTIVITY_STATE_RUN;
	if (a->registered && a->handler)
		h = Block_copy(a->handler); /* none after unregister: the run ends DONE */
	a->in_handler = true;
	pthread_mutex_unlock(&activity_lock);
	if (h) {
		h(a);
		Block_release(h);
	}
	pthread_mutex_lock(&activity_lock);
	a->in_handler = false;
	if (a->state == XPC_ACTIVITY_STATE_RUN)
		a->state = XPC_ACTIVITY_STATE_DONE; /* returned without a word: done */
	if (a->state == XPC_ACTIVITY_STATE_DONE || a->state == XPC_ACTIVITY_STATE_DEFER)
		activity_end_run_locked(a);
	pthread_mutex_unlock(&activity_lock);
	xpc_release(a);
}

bool activity_run_locked(xpc_activity_t a, xpc_object_t msg, xpc_connection_t peer)
{
	lock_assert_held(&activity_lock);
	if (a->run_queued || a->state == XPC_ACTIVITY_STATE_RUN || a->state == XPC_ACTIVITY_STATE_CONTINUE ||
	    a->run_msg)
		return false;
	a->run_queued = true;
	a->defer_asked = false;
	if (msg) {
		a->run_msg = xpc_retain(msg);
		a->run_peer = xpc_retain(peer);
	}
	dispatch_async_f(a->queue, xpc_retain(a), activity_run_handler);
	return true;
}

static void activity_checkin_handler(void *ctx)
{
	xpc_activity_t a = ctx;
	xpc_activity_handler_t h;

	pthread_mutex_lock(&activity_lock);
	h = a->handler ? Block_copy(a->handler) : NULL;
	pthread_mutex_unlock(&activity_lock);
	if (h) {
		h(a);
		Block_release(h);
	}
	pthread_mutex_lock(&activity_lock);
	if (a->state == XPC_ACTIVITY_STATE_CHECK_IN)
		a->state = XPC_ACTIVITY_STATE_WAIT;
	pthread_mutex_unlock(&activity_lock);
	xpc_release(a);
}

void activity_checkin_locked(xpc_activity_t a)
{
	lock_assert_held(&activity_lock);
	a->awaiting_hello = false;
	a->state = XPC_ACTIVITY_STATE_CHECK_IN;
	dispatch_async_f(a->queue, xpc_retain(a), activity_checkin_handler);
}

void activity_adopt_hello_locked(xpc_activity_t a, xpc_object_t from_plist)
{
	lock_assert_held(&activity_lock);
	a->from_broker = from_plist != NULL;
	if (from_plist && !a->criteria)
		a->criteria = xpc_copy(from_plist);
}

/* ---- the object's API -------------------------------------------------------- */

xpc_object_t xpc_activity_copy_criteria(xpc_activity_t a)
{
	xpc_object_t c;

	if (!a || xpc_get_type(a) != XPC_TYPE_ACTIVITY)
		return NULL;
	pthread_mutex_lock(&activity_lock);
	c = a->criteria ? xpc_copy(a->criteria) : NULL;
	pthread_mutex_unlock(&activity_lock);
	return c;
}

xpc_activity_state_t xpc_activity_get_state(xpc_activity_t a)
{
	xpc_activity_state_t st;

	if (!a || xpc_get_type(a) != XPC_TYPE_ACTIVITY)
		return XPC_ACTIVITY_STATE_DONE;
	pthread_mutex_lock(&activity_lock);
	st = a->state;
	pthread_mutex_unlock(&activity_lock);
	return st;
}

bool xpc_activity_set_state(xpc_activity_t a, xpc_activity_state_t state)
{
	bool running;

	if (!a || xpc_get_type(a) != XPC_TYPE_ACTIVITY)
		return false;
	if (state != XPC_ACTIVITY_STATE_CONTINUE && state != XPC_ACTIVITY_STATE_DEFER &&
	    state != XPC_ACTIVITY_STATE_DONE)
		return false;
	pthread_mutex_lock(&activity_lock);
	running = a->state == XPC_ACTIVITY_STATE_RUN || a->state == XPC_ACTIVITY_STATE_CONTINUE;
	if (running) {
		a->state = state;
		/* after the handler returned (CONTINUE), the run ends now */
		if (!a->in_handler && state != XPC_ACTIVITY_STATE_CONTINUE)
			activity_end_run_locked(a);
	}
	pthread_mutex_unlock(&activity_lock);
	return running;
}

bool xpc_activity_should_defer(xpc_activity_t a)
{
	bool d;

	if (!a || xpc_get_type(a) != XPC_TYPE_ACTIVITY)
		return false;
	pthread_mutex_lock(&activity_lock);
	d = a->defer_asked;
	pthread_mutex_unlock(&activity_lock);
	return d;
}
