/* SPDX-License-Identifier: MIT */
/*
 * register.c - xpc_activity_register, xpc_activity_unregister and
 * xpc_activity_set_criteria: where an activity's schedule comes from
 * (docs/activities.md).
 *
 * The top of the activity layer.  An activity registered with CHECK_IN is
 * checked in at once, or, in a job that has an activity channel, once
 * xpcd's hello has come (link.c completes it); one registered with criteria
 * is scheduled in process (activity.c), unless xpcd's hello names it, and
 * then xpcd schedules it and hears of every new criteria.  Either way a run
 * xpcd asked for before the registration is handed over (link.c).
 *
 * Edges: this file calls link.c and activity.c; neither calls it.
 * Everything here runs under activity_lock (activity.c).
 */
#include "activity/internal.h"
#include "activity/schedule.h"

#include <Block.h>

static void activity_register_checkin_locked(xpc_activity_t a)
{
	xpc_object_t plist = NULL;

	lock_assert_held(&activity_lock);
	if (link_available() && link_start_locked() == 0 && !link_hello_lookup_locked(a->name, &plist)) {
		a->awaiting_hello = true; /* link.c checks it in when the hello comes */
		return;
	}
	activity_adopt_hello_locked(a, plist);
	activity_checkin_locked(a);
	link_take_pending_locked(a);
}

static void activity_register_criteria_locked(xpc_activity_t a, xpc_object_t criteria)
{
	xpc_object_t plist = NULL;
	xpc_object_t copy = xpc_copy(criteria);

	lock_assert_held(&activity_lock);
	if (!copy)
		return;
	if (a->criteria)
		xpc_release(a->criteria);
	a->criteria = copy;
	if (a->state == XPC_ACTIVITY_STATE_DONE)
		a->state = XPC_ACTIVITY_STATE_WAIT;
	if (link_available() && link_start_locked() == 0 && link_hello_lookup_locked(a->name, &plist) && plist)
		a->from_broker = true;
	if (a->from_broker) {
		link_send_update_locked(a->name, copy);
		return;
	}
	activity_schedule_locked(a, ACTIVITY_EV_REGISTERED);
	link_take_pending_locked(a);
}

void xpc_activity_register(const char *identifier, xpc_object_t criteria, xpc_activity_handler_t handler)
{
	xpc_activity_handler_t h;
	xpc_activity_t a;

	if (!identifier || !criteria || !handler)
		return;
	if (criteria != XPC_ACTIVITY_CHECK_IN && xpc_get_type(criteria) != XPC_TYPE_DICTIONARY)
		return;
	h = Block_copy(handler);
	if (!h)
		return;
	pthread_mutex_lock(&activity_lock);
	a = activity_add_locked(identifier);
	if (!a) {
		pthread_mutex_unlock(&activity_lock);
		Block_release(h);
		return;
	}
	if (a->handler)
		Block_release(a->handler);
	a->handler = h;
	if (criteria == XPC_ACTIVITY_CHECK_IN)
		activity_register_checkin_locked(a);
	else
		activity_register_criteria_locked(a, criteria);
	pthread_mutex_unlock(&activity_lock);
}

void xpc_activity_unregister(const char *identifier)
{
	xpc_activity_t a;

	if (!identifier)
		return;
	pthread_mutex_lock(&activity_lock);
	a = activity_find_locked(identifier);
	if (a) {
		if (a->from_broker)
			link_send_update_locked(a->name, NULL);
		a->generation++; /* no further in-process run */
		a->defer_asked = a->state == XPC_ACTIVITY_STATE_RUN || a->state == XPC_ACTIVITY_STATE_CONTINUE;
		activity_unlink_locked(a);
	}
	pthread_mutex_unlock(&activity_lock);
}

void xpc_activity_set_criteria(xpc_activity_t a, xpc_object_t criteria)
{
	xpc_object_t copy;

	if (!a || xpc_get_type(a) != XPC_TYPE_ACTIVITY || !criteria || xpc_get_type(criteria) != XPC_TYPE_DICTIONARY)
		return;
	copy = xpc_copy(criteria);
	if (!copy)
		return;
	pthread_mutex_lock(&activity_lock);
	if (a->criteria)
		xpc_release(a->criteria);
	a->criteria = copy;
	if (a->state == XPC_ACTIVITY_STATE_DONE)
		a->state = XPC_ACTIVITY_STATE_WAIT;
	if (a->from_broker && a->registered)
		link_send_update_locked(a->name, copy);
	else if (a->state != XPC_ACTIVITY_STATE_RUN && a->state != XPC_ACTIVITY_STATE_CONTINUE)
		activity_schedule_locked(a, ACTIVITY_EV_REGISTERED);
	pthread_mutex_unlock(&activity_lock);
}
