/* SPDX-License-Identifier: MIT */
/*
 * manager.h - the dispatch manager thread, for the layers above (transport)
 * and for sources.
 *
 * One manager thread per process waits in epoll_wait and calls back, ON THE
 * MANAGER THREAD, whatever became ready.  Callbacks must be short and must
 * never block: the normal thing to do is to push an item to a queue.
 *
 * The intended interface for the transport is DISPATCH_SOURCE_TYPE_READ and
 * _WRITE sources: a readable descriptor costs one thread hand-off (manager ->
 * the worker draining the source's queue) and one epoll_ctl re-arm after the
 * event handler returns (descriptors are watched EPOLLONESHOT, so a handler
 * that does not read everything simply fires again); an edge-triggered watch
 * (ManagerWatch.edge, a connection's READ source: dsource_edge_triggered)
 * needs no re-arm, its reader telling by itself when it has read
 * everything.  The calls below are
 * what sources are built on; they are usable directly by code that wants to
 * handle readiness on the manager thread itself.
 *
 * Descriptors:
 *   ManagerWatch.fd is borrowed: the caller keeps it open until its removal
 *   has completed (the `done` callback of the ManagerCall that removed it).
 * Lifetimes:
 *   A ManagerWatch/ManagerTimer/ManagerSignal must stay valid until it has
 *   been removed and then a ManagerCall posted after the removal has run
 *   (manager_call_lazy for memory): after that no callback can reach it.
 */
#ifndef XPC_DISPATCH_MANAGER_H
#define XPC_DISPATCH_MANAGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dispatch/mtimer.h"
#include "shared/list.h"

typedef struct ManagerWatch ManagerWatch;
struct ManagerWatch {
	int fd;
	uint32_t events; /* EPOLLIN and/or EPOLLOUT */
	/* Edge-triggered (EPOLLET) instead of one-shot: an armed watch stays
	 * armed after its callback, which then comes once per new readiness
	 * (for a socket: per packet that arrives).  Set before the add. */
	bool edge;
	/* Manager thread; the watch is disarmed until manager_watch_rearm. */
	void (*ready)(ManagerWatch *w, uint32_t revents);
	ListNode link; /* private: on the manager's list of live watches */
	int in_set; /* private: in the epoll set (a disarmed one too, asking for nothing) */
};

/* Starts watching @w->fd (one-shot, or edge-triggered: w->edge); @armed
 * false: only registered, as if it had just fired (re-arm it with manager_watch_rearm).  Return: 0, or a
 * negative errno (-EPERM: epoll cannot watch this kind of descriptor, e.g.
 * a regular file; -EEXIST: the descriptor is watched already), from here
 * or, for a watch added disarmed, from the first manager_watch_rearm.
 * A disarmed watch is kept out of the epoll set, as epoll reports EPOLLHUP
 * even for a watch without events: a peer's hang-up would wake the manager
 * for a descriptor nobody waits on.
 * rearm, disarm and remove of one watch must not run concurrently (sources
 * call them under their lock). */
int manager_watch_add(ManagerWatch *w, bool armed);
/* Re-arms a watch after its ready callback, or after a disarm (any
 * thread); an armed edge-triggered watch needs none after its callback. */
int manager_watch_rearm(ManagerWatch *w);
/* Disarms a watch until manager_watch_rearm (any thread). */
int manager_watch_disarm(ManagerWatch *w);
/* Stops watching (any thread).  A ready callback the manager already holds
 * may still follow, on the manager thread, until the end of its current
 * batch: free @w with manager_call_lazy. */
void manager_watch_remove(ManagerWatch *w);

typedef struct ManagerSignal ManagerSignal;
struct ManagerSignal {
	int signo;
	/* Manager thread; @count = deliveries since the last call. */
	void (*fire)(ManagerSignal *s, uint64_t count);
	ListNode link; /* private: on the manager's list of signals */
};

/* Starts counting deliveries of @s->signo.  Return: 0 or -EINVAL. */
int manager_signal_add(ManagerSignal *s);
/* Manager thread only. */
void manager_signal_remove(ManagerSignal *s);

typedef struct ManagerCall ManagerCall;
struct ManagerCall {
	void (*fn)(ManagerCall *c); /* runs on the manager thread */
	ManagerCall *next;          /* private */
};

/* Runs @c->fn on the manager thread after the events it is handling now
 * (so no ready/fire callback of a watch removed by @fn can follow).  Any
 * thread; @c must stay valid until fn runs. */
void manager_call(ManagerCall *c);
/* The same without waking the manager: @c->fn runs after the batch of
 * events the manager handles now or next (so no callback it already holds
 * for a watch, timer or signal removed before this call can still follow),
 * which may be late in a process where nothing else wakes it; once
 * MANAGER_LAZY_MAX calls wait, it is woken.  This is how memory that a late
 * callback may still read is freed (dsource.c). */
void manager_call_lazy(ManagerCall *c);
#define MANAGER_LAZY_MAX 64

#endif
