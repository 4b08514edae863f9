/* SPDX-License-Identifier: MIT */
/*
 * dsource.h - the source object, shared by the files of sources: dsource.c
 * (life cycle, delivery, suspension, cancellation), dsource-set.c (the
 * handler setters and getters of the API) and dskind.c (what is particular
 * to regular files, DATA, PROC and VNODE sources).
 */
#ifndef XPC_DISPATCH_DSOURCE_H
#define XPC_DISPATCH_DSOURCE_H

#include "dispatch/internal.h"
#include "dispatch/manager.h"

#include <stdbool.h>

typedef enum {
	SOURCE_READ = 1,
	SOURCE_WRITE,
	SOURCE_TIMER,
	SOURCE_SIGNAL,
	SOURCE_DATA_ADD,
	SOURCE_DATA_OR,
	SOURCE_DATA_REPLACE,
	SOURCE_PROC,
	SOURCE_VNODE,
} SourceKind;

struct dispatch_source_type_s {
	SourceKind kind;
};


typedef struct SourceRetired {
	struct SourceRetired *next;
	dispatch_block_t block;
} SourceRetired;

typedef struct {
	dispatch_function_t func; /* called with the source's context */
	dispatch_block_t block;   /* or this (Block_copy'd) */
} SourceHandler;

enum {
	SOURCE_ACTIVATED = 0x1,
	SOURCE_CANCELLED = 0x2,
	SOURCE_CANCEL_READY = 0x4,
	SOURCE_REG_PENDING = 0x8,
	SOURCE_ALWAYS_READY = 0x10, /* a descriptor epoll refuses: always ready */
	SOURCE_WATCHED = 0x20,
	SOURCE_CANCEL_DONE = 0x40,
	SOURCE_REGISTERED = 0x80, /* the one of cancel/activate setting the
				     second of CANCELLED|REGISTERED posts the call */
	SOURCE_FD_CLOSED = 0x100, /* PROC/VNODE: our descriptor was closed */
	SOURCE_PROC_EXITED = 0x200, /* PROC: the exit was seen (no re-arm) */
};

/* How an event's value joins the data pending for the next handler. */
enum { SOURCE_MERGE_SET, SOURCE_MERGE_ADD, SOURCE_MERGE_OR };

struct dispatch_source_s {
	DispatchHead head; /* target = the handler queue */
	pthread_mutex_t lock; /* handlers, timer settings */
	SourceKind kind;
	uintptr_t handle, mask;
	SourceHandler event, cancel, reg;
	SourceRetired *retired; /* replaced handler blocks, freed with the source */
	atomic_uint state;
	atomic_int suspended;
	atomic_int inflight;
	DispatchItem kick; /* the one delivery in flight: queuing it cannot fail */
	atomic_bool has_event;
	atomic_uintptr_t pending;
	atomic_uintptr_t data;
	bool skip_estimate; /* READ: merge 1, no FIONREAD (dsource_skip_estimate) */
	atomic_bool et_armed; /* an edge-triggered watch is armed (set under lock) */
	uint64_t t_start, t_interval, t_leeway;
	ManagerWatch watch; /* PROC/VNODE: on our pidfd / inotify fd */
	uint64_t vn_size; /* VNODE: size and links at the last event */
	unsigned long vn_nlink;
	ManagerTimer timer;
	ManagerSignal sig;
	ManagerCall call;
};

/* dsource.c */
/* Queues a delivery unless one is queued or running. */
void dsource_kick(dispatch_source_t ds);
/* Joins @value (SOURCE_MERGE_*) into the data of the next event and kicks
 * the source unless it is suspended or not activated (any thread). */
void dsource_merge(dispatch_source_t ds, uintptr_t value, int op);
/* Called with ds->lock held: arms (or, suspended, stores) the timer. */
void dsource_timer_apply_locked(dispatch_source_t ds);

/* dskind.c */
/* dispatch_source_create's part for DATA/PROC/VNODE: validates @ds's
 * handle and mask, opens its pidfd or inotify descriptor (close-on-exec).
 * Return: 0 or a negative errno (then @ds is not usable). */
int dskind_init(dispatch_source_t ds);
/* The bytes a READ source on a regular file has left (0 at the end). */
uintptr_t dskind_file_remaining(dispatch_source_t ds);
/* A descriptor epoll refuses: makes the next event pending if there is one. */
void dskind_always_ready(dispatch_source_t ds);
/* PROC/VNODE: starts watching (activation).  Return: 0 or a negative errno. */
int dskind_register(dispatch_source_t ds);
/* VNODE, in the delivery before the handler: reads the inotify events
 * (under ds->lock, not after cancellation).  Return: the DISPATCH_VNODE_*
 * flags of @ds's mask that happened, 0 if none. */
uintptr_t dskind_vnode_collect(dispatch_source_t ds);
/* Closes a PROC/VNODE source's own descriptor once (cancellation or dispose). */
void dskind_close(dispatch_source_t ds);

static inline bool dsource_is_fd_kind(const dispatch_source_t ds)
{
	return ds->kind == SOURCE_READ || ds->kind == SOURCE_WRITE;
}

#endif
