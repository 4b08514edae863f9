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

/* Called on the main queue when a path event means the job should start;
 * @why names the key and the path (for the log). */
typedef void (*watch_fire_fn)(void *ctx, const char *why);

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
} JobWatch;

/* Return: 1 taken (WatchPaths, QueueDirectories), 0 not these keys, -1 a
 * bad value (ctx->err). */
int watch_parse_key(PlistCtx *ctx, JobWatch *w, const char *key, plist_t v);
/* Whether the job has paths to watch (after states are set). */
bool watch_wanted(const JobWatch *w);
/*
 * watch_start() - watch the paths (a missing one through its parent, so
 * its creation counts) until watch_stop.  @fire(@ctx, why) runs on the
 * main queue for each event that should start the job, and once at once
 * when a queue directory is not empty.  @why starts with "WatchPaths",
 * "QueueDirectories" or "KeepAlive.PathState" (a path of states changed:
 * the caller checks whether the condition now holds).
 * Return: 0, or a negative errno (out of inotify instances or watches).
 */
int watch_start(JobWatch *w, watch_fire_fn fire, void *ctx);
void watch_stop(JobWatch *w);
/* Whether one of the QueueDirectories holds an entry (launchd keeps such
 * a job running until they are empty). */
bool watch_queue_nonempty(const JobWatch *w);
/* Frees the definition (after watch_stop). */
void watch_free(JobWatch *w);

#endif
