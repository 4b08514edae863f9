/* SPDX-License-Identifier: MIT */
/*
 * monitor.h - the broker's events and the links that watch them
 * (monitor.c; `xpcctl monitor`, docs/broker.md "Monitor").
 */
#ifndef XPC_BROKER_MONITOR_H
#define XPC_BROKER_MONITOR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <xpc/xpc.h>

#define MONITOR_MAX 64          /* monitors in all (the owner's own share aside) */
#define MONITOR_MAX_PER_USER 8  /* monitors of one uid */
#define MONITOR_MAX_QUEUED 256  /* events one monitor has not taken; more are dropped and counted */
#define MONITOR_MAX_QUEUED_BYTES (128u * 1024u) /* ... and their size, about (half the link's unsent limit) */
#define MONITOR_EVENT_FIXED_BYTES 512u /* an event's encoding beside its strings, at most */

typedef struct MonitorSub MonitorSub;

typedef struct Monitors {
	MonitorSub *head;
	unsigned n;
} Monitors;

/* What a "frame" event adds (tap.c): the summary a process that opted in
 * sent of one of its frames. */
typedef struct MonitorFrame {
	const char *dir;  /* "send", "recv" */
	const char *kind; /* "message", "reply" */
	uint64_t id, reply_to, size, fds;
	pid_t peer_pid;   /* as the process says; 0 unknown */
	uint64_t dropped; /* the process's frames not shown before this one */
} MonitorFrame;

/* One event; NULL strings and negative numbers are left out. */
typedef struct MonitorEvent {
	const char *kind;  /* XPCD_EVENT_* */
	const char *label; /* the job */
	const char *name;  /* the service name */
	pid_t pid;         /* the client's (lookup, refused, changes) or the job's (launch, exit) */
	uid_t uid;         /* whose event it is: who may see it besides root and the broker's user */
	bool has_uid;
	int status;        /* exit: the wait status; else -1 */
	const char *text;  /* the answer, the reason; a frame: the message */
	const MonitorFrame *frame; /* a "frame" event's fields, else NULL */
} MonitorEvent;

/* True when some monitor is subscribed: callers skip building events otherwise. */
static inline bool monitor_active(const Monitors *m)
{
	return m->head != NULL;
}

/*
 * monitor_subscribe() - makes @link (borrowed; retained while subscribed)
 * a monitor of @uid, seeing every event when @sees_all, else only those
 * of @uid; filters from @req ("name", "pid").
 * Return: 0, -EMFILE (the user's share reached, or MONITOR_MAX unless
 * @sees_all: root and the broker's user always get their share), -EALREADY,
 * -ENOMEM.
 */
int monitor_subscribe(Monitors *m, xpc_connection_t link, uid_t uid, bool sees_all, xpc_object_t req);
/* The link ended (or is being closed): forget its subscription, if any. */
void monitor_unsubscribe(Monitors *m, xpc_connection_t link);
/* True when @link is a monitor (the idle sweep spares it). */
bool monitor_is_subscribed(const Monitors *m, xpc_connection_t link);
/* Sends @ev to every monitor that may see it and whose filters match. */
void monitor_emit(Monitors *m, const MonitorEvent *ev);
/* True when some monitor may see the events of @uid's process @pid (its
 * filter by pid allowing): taps are told so (tap.c). */
bool monitor_watches(const Monitors *m, uid_t uid, pid_t pid);
/* Drops every subscription (broker exit). */
void monitor_clear(Monitors *m);

#endif
