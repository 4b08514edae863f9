/* SPDX-License-Identifier: MIT */
/*
 * monitor.c - the broker's events streamed to monitor links (docs/broker.md,
 * "Monitor"; `xpcctl monitor`, `xpcctl capture`).
 *
 * A client link that sends { "xpcd.op": "monitor", "name"?, "pid"? } is
 * answered { "ok": true } and then receives one message per event
 * (XPCD_EVENT_*: lookups and their answer, launches, exits, refusals,
 * the changes made through the protocol, and the frames of processes
 * that opted in: tap.c) until it closes.  The link stays a monitor for
 * its life and sends nothing more.
 *
 * Who sees what: root and the broker's own user every event; any other
 * user only the events whose uid is its own (its lookups and refusals,
 * the launches and exits of jobs that run as it).  So a monitor tells one
 * user nothing of another's processes.
 *
 * Limits (an attacker holds a monitor and never reads): at most
 * MONITOR_MAX monitors of the other users in all, MONITOR_MAX_PER_USER of
 * one uid; root and the broker's own user are refused by their share
 * only, so that ordinary users (eight uids) taking every monitor do not
 * keep the administrator from watching; per monitor at most
 * MONITOR_MAX_QUEUED events, and about MONITOR_MAX_QUEUED_BYTES, not yet
 * in the kernel (counted up on send, down by a send barrier, which runs
 * once the message is in the socket or dropped; the bytes stay under the
 * link's own unsent limit, clients.c, so a monitor of large frame events
 * is not cut); an event over that is dropped and counted, and the
 * count goes out as a "dropped" event once there is room.  So a slow
 * monitor costs the broker at most its socket buffer and MONITOR_MAX_QUEUED
 * small messages, and never slows the broker or other monitors down.
 * Everything runs on the main queue but the barriers, which only touch
 * the atomic counter of a reference-counted subscription.
 */
#include "broker/monitor.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shared/clock.h"
#include "shared/xpcd-protocol.h"

struct MonitorSub {
	MonitorSub *next;
	xpc_connection_t link; /* retained */
	uid_t uid;
	bool sees_all;
	char *name; /* filter: service name or label; NULL: any */
	pid_t pid;  /* filter: 0 any */
	atomic_uint queued; /* events sent and not yet in the kernel */
	atomic_size_t bytes; /* ... and about how many bytes they take */
	atomic_uint refs;   /* the list's, one per pending barrier */
	unsigned dropped;   /* events not sent since the last "dropped" */
};

static void sub_unref(MonitorSub *s)
{
	if (atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	xpc_release(s->link);
	free(s->name);
	free(s);
}

static unsigned count_of_user(const Monitors *m, uid_t uid)
{
	unsigned n = 0;

	for (const MonitorSub *s = m->head; s; s = s->next)
		n += s->uid == uid;
	return n;
}

bool monitor_is_subscribed(const Monitors *m, xpc_connection_t link)
{
	for (const MonitorSub *s = m->head; s; s = s->next)
		if (s->link == link)
			return true;
	return false;
}

int monitor_subscribe(Monitors *m, xpc_connection_t link, uid_t uid, bool sees_all, xpc_object_t req)
{
	const char *name = xpc_dictionary_get_string(req, XPCD_KEY_NAME);
	MonitorSub *s;

	if (monitor_is_subscribed(m, link))
		return -EALREADY;
	if ((!sees_all && m->n >= MONITOR_MAX) || count_of_user(m, uid) >= MONITOR_MAX_PER_USER)
		return -EMFILE;
	s = calloc(1, sizeof(*s));
	if (!s || (name && !(s->name = strdup(name)))) {
		free(s);
		return -ENOMEM;
	}
	s->link = xpc_retain(link);
	s->uid = uid;
	s->sees_all = sees_all;
	s->pid = (pid_t)xpc_dictionary_get_int64(req, XPCD_KEY_PID);
	atomic_init(&s->queued, 0);
	atomic_init(&s->bytes, 0);
	atomic_init(&s->refs, 1);
	s->next = m->head;
	m->head = s;
	m->n++;
	return 0;
}

void monitor_unsubscribe(Monitors *m, xpc_connection_t link)
{
	for (MonitorSub **p = &m->head; *p; p = &(*p)->next) {
		MonitorSub *s = *p;
		if (s->link != link)
			continue;
		*p = s->next;
		m->n--;
		sub_unref(s);
		return;
	}
}

void monitor_clear(Monitors *m)
{
	while (m->head)
		monitor_unsubscribe(m, m->head->link);
}

static bool sub_matches(const MonitorSub *s, const MonitorEvent *ev)
{
	if (!s->sees_all && (!ev->has_uid || ev->uid != s->uid))
		return false;
	if (s->pid && ev->pid != s->pid)
		return false;
	if (s->name && !(ev->name && !strcmp(ev->name, s->name)) && !(ev->label && !strcmp(ev->label, s->name)))
		return false;
	return true;
}

bool monitor_watches(const Monitors *m, uid_t uid, pid_t pid)
{
	for (const MonitorSub *s = m->head; s; s = s->next)
		if ((s->sees_all || s->uid == uid) && (!s->pid || s->pid == pid))
			return true;
	return false;
}

/* A frame event's own fields (int64: plain numbers in JSON). */
static void frame_fields(xpc_object_t d, const MonitorFrame *f)
{
	xpc_dictionary_set_string(d, XPCD_FRAME_DIR, f->dir);
	xpc_dictionary_set_string(d, XPCD_FRAME_KIND, f->kind);
	xpc_dictionary_set_int64(d, XPCD_FRAME_ID, (int64_t)(f->id & INT64_MAX));
	xpc_dictionary_set_int64(d, XPCD_FRAME_REPLY_TO, (int64_t)(f->reply_to & INT64_MAX));
	xpc_dictionary_set_int64(d, XPCD_FRAME_SIZE, (int64_t)(f->size & INT64_MAX));
	xpc_dictionary_set_int64(d, XPCD_FRAME_FDS, (int64_t)(f->fds & INT64_MAX));
	if (f->peer_pid > 0)
		xpc_dictionary_set_int64(d, XPCD_FRAME_PEER_PID, f->peer_pid);
	if (f->dropped)
		xpc_dictionary_set_int64(d, XPCD_FRAME_DROPPED, (int64_t)(f->dropped & INT64_MAX));
}

static xpc_object_t event_message(const MonitorEvent *ev, int64_t when)
{
	xpc_object_t d = xpc_dictionary_create(NULL, NULL, 0);

	if (!d)
		return NULL;
	xpc_dictionary_set_string(d, XPCD_KEY_EVENT, ev->kind);
	xpc_dictionary_set_int64(d, XPCD_EVENT_TIME, when);
	if (ev->label)
		xpc_dictionary_set_string(d, XPCD_KEY_LABEL, ev->label);
	if (ev->name)
		xpc_dictionary_set_string(d, XPCD_KEY_NAME, ev->name);
	if (ev->pid > 0)
		xpc_dictionary_set_int64(d, XPCD_KEY_PID, ev->pid);
	if (ev->has_uid)
		xpc_dictionary_set_int64(d, XPCD_EVENT_UID, ev->uid);
	if (ev->status >= 0)
		xpc_dictionary_set_int64(d, XPCD_EVENT_STATUS, ev->status);
	if (ev->text)
		xpc_dictionary_set_string(d, XPCD_EVENT_TEXT, ev->text);
	if (ev->frame)
		frame_fields(d, ev->frame);
	return d;
}

/* One message of about @size bytes to @s, counted until its barrier says
 * it is in the kernel. */
static void sub_send(MonitorSub *s, xpc_object_t msg, size_t size)
{
	atomic_fetch_add(&s->queued, 1);
	atomic_fetch_add(&s->bytes, size);
	atomic_fetch_add(&s->refs, 1);
	xpc_connection_send_message(s->link, msg);
	xpc_connection_send_barrier(s->link, ^{
		atomic_fetch_sub(&s->queued, 1);
		atomic_fetch_sub(&s->bytes, size);
		sub_unref(s);
	});
}

/* About what @ev takes encoded: its strings and a bound for the rest. */
static size_t event_size(const MonitorEvent *ev)
{
	return MONITOR_EVENT_FIXED_BYTES + (ev->label ? strlen(ev->label) : 0) + (ev->name ? strlen(ev->name) : 0) +
	       (ev->text ? strlen(ev->text) : 0);
}

static void sub_deliver(MonitorSub *s, xpc_object_t msg, int64_t when, size_t size)
{
	if (atomic_load(&s->queued) + (s->dropped ? 2u : 1u) > MONITOR_MAX_QUEUED ||
	    atomic_load(&s->bytes) + size + (s->dropped ? MONITOR_EVENT_FIXED_BYTES : 0) > MONITOR_MAX_QUEUED_BYTES) {
		s->dropped++;
		return;
	}
	if (s->dropped) {
		MonitorEvent d = {.kind = XPCD_EVENT_DROPPED, .status = -1};
		xpc_object_t m = event_message(&d, when);
		if (m) {
			xpc_dictionary_set_int64(m, XPCD_EVENT_COUNT, s->dropped);
			sub_send(s, m, MONITOR_EVENT_FIXED_BYTES);
			xpc_release(m);
			s->dropped = 0;
		}
	}
	sub_send(s, msg, size);
}

void monitor_emit(Monitors *m, const MonitorEvent *ev)
{
	xpc_object_t msg = NULL;
	int64_t when = 0;
	size_t size = event_size(ev);

	for (MonitorSub *s = m->head; s; s = s->next) {
		if (!sub_matches(s, ev))
			continue;
		if (!msg) {
			when = (int64_t)clock_realtime_ns();
			msg = event_message(ev, when);
			if (!msg)
				return;
		}
		sub_deliver(s, msg, when, size);
	}
	if (msg)
		xpc_release(msg);
}
