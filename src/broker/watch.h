/* SPDX-License-Identifier: MIT */
/*
 * watch.h - WatchPaths and QueueDirectories: inotify on the paths of one
 * job, starting it when one changes or a queue directory holds an entry.
 */
#ifndef XPC_BROKER_WATCH_H
#define XPC_BROKER_WATCH_H

#include <dispatch/dispatch.h>
#include <stdbool.h>

#include "broker/plistval.h"

#define WATCH_MAX_PATHS 64

/* What a watch saw: a WatchPaths path changed, a QueueDirectories
 * directory is not empty, or a KeepAlive.PathState path changed (the
 * caller checks whether its condition now holds). */
typedef enum WatchEvent { WATCH_PATH, WATCH_QUEUE, WATCH_STATE } WatchEvent;
/* Called on the main queue when a path event may start the job; @why
 * names the key and the path (for the log). */
typedef void (*watch_fire_fn)(void *ctx, WatchEvent ev, const char *why);
/* Runs @fn(@arg) with the file rights of the job's user (asuser.c's
 * asuser_call, through triggers.c).  Return: 0, or a negative errno (@fn
 * not called). */
typedef int (*watch_as_fn)(void *ctx, void (*fn)(void *arg), void *arg);

typedef struct JobWatch {
	char **paths;  /* WatchPaths, NULL-terminated, or NULL */
	char **queues; /* QueueDirectories, NULL-terminated, or NULL */
	char **states; /* KeepAlive.PathState paths (set by triggers.c), or NULL */
	/* runtime */
	int ifd;                /* inotify, -1 when not watching */
	dispatch_source_t src;  /* READ source on ifd */
	int *wd_path, *wd_parent, *wd_queue; /* per path: watch descriptors, -1 none */
	watch_fire_fn fire;
	void *ctx;
	watch_as_fn as;         /* NULL: with the broker's own rights */
	int *refused;           /* per path then queue: the errno its user got, 0 watched */
} JobWatch;

/* Return: 1 taken (WatchPaths, QueueDirectories), 0 not these keys, -1 a
 * bad value (ctx->err). */
int watch_parse_key(PlistCtx *ctx, JobWatch *w, const char *key, plist_t v);
/* Whether the job has paths to watch (after states are set). */
bool watch_wanted(const JobWatch *w);
/*
 * watch_start() - watch the paths (a missing one through its parent, so
 * its creation counts) until watch_stop.  @fire(@ctx, ev, why) runs on
 * the main queue for each event that should start the job, and once at
 * once when a queue directory is not empty.  Every watch is
 * added, and every queue directory read, through @as: with the rights of
 * the job's user, so a job learns of no change its user could not see
 * (inotify_add_watch needs read permission on what it watches).  A path
 * that user may not watch is not watched: refused[] keeps the errno, each
 * is logged by the caller (watch_refused_text) and shown by print.
 * Return: 0, or a negative errno (out of inotify instances or watches).
 */
int watch_start(JobWatch *w, watch_fire_fn fire, watch_as_fn as, void *ctx);
/* The @i-th refusal of the last watch_start ("WatchPaths /p: not watched:
 * TEXT") into @buf.  Return: false past the last. */
bool watch_refused_text(const JobWatch *w, size_t i, char *buf, size_t size);
void watch_stop(JobWatch *w);
/* Whether one of the QueueDirectories holds an entry (launchd keeps such
 * a job running until they are empty). */
bool watch_queue_nonempty(const JobWatch *w);
/* Frees the definition (after watch_stop). */
void watch_free(JobWatch *w);

#endif
