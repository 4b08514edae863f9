/* SPDX-License-Identifier: MIT */
/*
 * monitor-common.h - what the monitor tests share (test-monitor.c,
 * test-monitor-frames.c): a raw link to the private broker of
 * broker-common.h, a monitor subscription that keeps every event it
 * receives, and waiting for one event.
 */
#ifndef XPC_TESTS_MONITOR_COMMON_H
#define XPC_TESTS_MONITOR_COMMON_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <xpc/xpc.h>

/* Events one monitor received, in order (its connection's queue appends). */
typedef struct Seen {
	xpc_object_t events; /* array, under lock */
	pthread_mutex_t lock;
	atomic_bool done;  /* the last event (INVALID) was handled */
	dispatch_semaphore_t more;
	dispatch_semaphore_t gate; /* NULL, or the handler waits on it first */
} Seen;

/* A link to the broker (broker_sock, or $XPCD_SOCKET in a child), inactive. */
xpc_connection_t broker_link(void);
/* A request answered ok (or with @want_error's text); the reply released. */
bool request(const char *op, const char *key, const char *value, const char *want_error);
/* Subscribes a monitor (filter @name may be NULL); NULL if refused, with
 * the broker's error in *ret_error (malloc'd) when asked. */
xpc_connection_t monitor(Seen *seen, const char *name, const char **ret_error);
/* Cancels @b and waits for its handler's last event; @seen is released. */
void monitor_close(xpc_connection_t b, Seen *seen);
/* The number of events @seen holds now. */
size_t seen_count(Seen *seen);
/* Event @k of @seen (the array keeps it until monitor_close). */
xpc_object_t seen_get(Seen *seen, size_t k);
/* The first event of @kind for @who (label or name; NULL any) at or after
 * *@from; NULL if none came in @secs. */
xpc_object_t wait_event(Seen *seen, size_t *from, const char *kind, const char *who, unsigned secs);

#endif
