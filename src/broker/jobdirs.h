/* SPDX-License-Identifier: MIT */
/*
 * jobdirs.h - the job directories: loading them at start and rescanning
 * them on SIGHUP or `xpcctl reload` (jobdirs.c).
 */
#ifndef XPC_BROKER_JOBDIRS_H
#define XPC_BROKER_JOBDIRS_H

struct Broker;

/* What a rescan did. */
typedef struct JobdirsCounts {
	unsigned loaded;   /* new files (and changed ones loaded again at once) */
	unsigned unloaded; /* jobs whose file is gone */
	unsigned changed;  /* jobs whose file changed: unloaded, then loaded again */
	unsigned failed;   /* files that did not load (logged) */
} JobdirsCounts;

/* Loads every *.plist of the configured directories, in name order; a
 * missing directory or a bad file is reported and skipped. */
void jobdirs_load(struct Broker *b);
/* Loads what appeared, unloads the jobs whose file went, and replaces the
 * jobs whose file changed (once the old instance has stopped). */
void jobdirs_rescan(struct Broker *b, JobdirsCounts *ret);
/* jobdirs_rescan() between RELOADING=1 and READY=1 to the service
 * manager: SIGHUP and `xpcctl reload`.  @ret may be NULL. */
void jobdirs_reload(struct Broker *b, JobdirsCounts *ret);
/* Loads the job file @path again (a changed job, once it was unloaded). */
void jobdirs_load_file(struct Broker *b, const char *path);

#endif
