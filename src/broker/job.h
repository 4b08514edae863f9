/* SPDX-License-Identifier: MIT */
/*
 * job.h - a launchd job as xpcd holds it (job.c): its definition (from a
 * property list, plist.c), its service channels (channel.c), and its
 * process (launch.c, spawn.c, supervise.c).
 *
 * xpcd is single-threaded by design: every job is touched only on the main
 * dispatch queue (control requests, SIGCHLD, watches, timers all target it),
 * so jobs carry no locks.
 */
#ifndef XPC_BROKER_JOB_H
#define XPC_BROKER_JOB_H

#include <dispatch/dispatch.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>
#include <xpc/xpc.h>

#include "broker/calendar.h"
#include "broker/limits.h"
#include "broker/sockets.h"
#include "broker/watch.h"

typedef struct UserChannelPair UserChannelPair; /* user-channels.c */

/* One MachServices name: the listener pair xpcd owns (docs/services.md). */
typedef struct JobService {
	char *name;
	int recv_fd; /* R: inherited by the job; watched while it is not running */
	int send_fd; /* W: endpoints handed out by lookups are duplicates */
	dispatch_source_t watch; /* READ source on R while the job is stopped */
	bool hidden; /* the job's activity channel (activity.c): never looked up or listed */
	UserChannelPair *uchans; /* users' own channels (user-channels.c) */
	size_t n_uchans;
} JobService;

typedef struct JobActivities JobActivities; /* activity.c */

enum { KEEPALIVE_UNSET = -1 };
enum { INETD_NONE, INETD_WAIT, INETD_NOWAIT };

/* A KeepAlive condition on a path (PathState) or another job
 * (OtherJobEnabled): met when the path exists / the job is enabled, or,
 * with want false, when it does not / is not. */
typedef struct JobKeepPath {
	char *name;
	bool want;
} JobKeepPath;

/* The start limit (supervise.c): JOB_START_LIMIT_BURST failed starts
 * within JOB_START_LIMIT_INTERVAL seconds put a job in the failed state. */
#define JOB_START_LIMIT_BURST 5
#define JOB_START_LIMIT_INTERVAL 60
/* How long a client's check-in waits for room in a full channel before
 * it fails with "limit exceeded: listener backlog" (unix_link_checkin,
 * src/transport/unix/link.c): a job whose next start is further away
 * than that after a failure refuses its check-ins until then
 * (supervise.c). */
#define JOB_CHECKIN_WAIT 5

typedef struct Job {
	/* definition */
	char *label;
	char *path; /* the file it came from (NULL when loaded from a request) */
	char *program;
	char **argv; /* NULL-terminated; argv[0] is the program when Program is unset */
	char **env;  /* NULL-terminated "KEY=VALUE" of EnvironmentVariables */
	JobService *services;
	size_t n_services;
	char *workdir, *user, *group;
	char *stdin_path, *stdout_path, *stderr_path;
	bool run_at_load, disabled;
	bool keepalive;              /* KeepAlive = true */
	int keepalive_successful_exit; /* KeepAlive.SuccessfulExit: -1 unset, 0, 1 */
	int keepalive_crashed;         /* KeepAlive.Crashed: -1 unset, 0, 1 */
	unsigned throttle_interval;  /* seconds between launches (default 10) */
	unsigned exit_timeout;       /* seconds from SIGTERM to SIGKILL (default 20) */
	uid_t *allowed_uids;         /* XPCDAllowedUIDs (extension); NULL = no uid rule */
	size_t n_allowed_uids;
	gid_t *allowed_gids;         /* XPCDAllowedGroups (extension); NULL = no group rule */
	size_t n_allowed_gids;       /* neither rule: anyone may look the names up */
	void *activity_events;       /* LaunchEvents.com.apple.xpc.activity (plist_t), or NULL */
	bool remote_export;          /* XPCDRemoteExport (extension): serve the names as RemoteXPC */
	/* the launchd.plist(5) keys of keys.c and its modules; run by triggers.c */
	JobLimits limits;            /* Umask, Nice, LowPriorityIO, *ResourceLimits */
	JobWatch watch;              /* WatchPaths, QueueDirectories */
	JobSockets sockets;          /* Sockets */
	JobKeepPath *keep_paths;     /* KeepAlive.PathState */
	size_t n_keep_paths;
	JobKeepPath *keep_jobs;      /* KeepAlive.OtherJobEnabled (path: the label) */
	size_t n_keep_jobs;
	unsigned start_interval;     /* StartInterval, seconds; 0 none */
	CalendarEntry *calendar;     /* StartCalendarInterval */
	size_t n_calendar;
	unsigned timeout;            /* TimeOut: XPCD_TIMEOUT in the job's environment; 0 none */
	char *root_dir;              /* RootDirectory */
	bool init_groups;            /* InitGroups (default true) */
	bool abandon_process_group;  /* AbandonProcessGroup */
	bool launch_only_once;       /* LaunchOnlyOnce */
	bool enable_globbing;        /* EnableGlobbing: glob(3) each argument at launch */
	bool start_on_mount;         /* StartOnMount (triggers.c) */
	bool keepalive_after_demand; /* KeepAlive.AfterInitialDemand: conditions only after a first run */
	char *not_here;              /* LimitLoadToHosts/FromHosts excludes this host: the key; NULL */
	bool enable_transactions;    /* EnableTransactions: the job's open transactions (spawn.c) */
	int inetd;                   /* inetdCompatibility: INETD_NONE, INETD_WAIT, INETD_NOWAIT */
	xpc_object_t launch_events;  /* LaunchEvents: stream -> {name -> event}; NULL none */

	/* runtime */
	pid_t pid;          /* 0 when not running */
	bool adopted;       /* running instance left by an earlier broker */
	bool stopping;      /* SIGTERM sent; SIGKILL after exit_timeout */
	bool unloading;     /* free the job once it has exited */
	bool launch_pending;/* a throttled launch is scheduled */
	bool refusing;      /* ... after a failure: check-ins refused until then */
	bool relaunch_once; /* kickstart -k: start again after this exit */
	dispatch_source_t orphan_watch; /* pidfd READ source of an adopted instance */
	int last_status;    /* wait status of the last exit, -1 if none */
	bool exit_asked;    /* ... which followed launch_stop (SIGTERM, SIGKILL) */
	unsigned long head_at_start; /* channel_head() when the instance started */
	bool exited_unread; /* ... and that check-in was still first when it exited */
	unsigned runs;      /* number of launches */
	uint64_t last_start; /* clock_monotonic_ns(); 0: not throttled */
	dispatch_source_t kill_timer;
	dispatch_source_t throttle_timer; /* a throttled launch (supervise.c) */
	dispatch_source_t report_watch;   /* the report pipe of the last start (launch.c) */

	/* failures (launch.c records them, supervise.c decides) */
	int fail_step;       /* the last failed start's step (SpawnStep), 0: none */
	int fail_errno;      /* ... and its errno (0: none) */
	bool fail_counted;   /* the last failure is counted in fail_times */
	bool failed;         /* start limit reached: not started until kickstart */
	uint64_t fail_times[JOB_START_LIMIT_BURST]; /* ring, clock_monotonic_ns() */
	unsigned n_fails;    /* failed starts recorded in the ring (all time) */
	unsigned n_refused;  /* check-ins refused since the last log line of them */
	uint64_t refused_logged; /* clock_monotonic_ns() of that line; 0 none */

	/* the job file, for rescans (broker.c) */
	bool from_dir;            /* loaded from a job directory */
	bool reload_after_exit;   /* the file changed: load it again once unloaded */
	struct timespec file_mtime;
	off_t file_size;

	JobActivities *activities;  /* activity.c: the activities' schedule, or NULL */
	/* why it runs (blame.c) and kickstart -k requests waiting for the new
	 * instance (deferred.c: answered before the job is freed) */
	char why[256];
	char looked_up[192];
	struct DeferredReply *deferred_replies;

	dispatch_source_t interval_timer; /* StartInterval (triggers.c) */
	dispatch_source_t calendar_timer; /* StartCalendarInterval (triggers.c) */
	time_t calendar_due;              /* the calendar time it waits for; -1 none */
	int inetd_conn;                   /* nowait: the connection of the instance being spawned, -1 */
	struct InetdSet *inetd_set;       /* nowait: the running instances (inetd.c), NULL none */
	_Atomic long *transactions;       /* EnableTransactions: the running job's count, shared; NULL */
	int txn_fd;                       /* its memfd while a start passes it on (launch.c), -1 */
	bool triggers_armed;
	struct Broker *broker; /* the broker that holds it (set by supervise_add) */
	struct Job *next;
} Job;

/* A job with the defaults of launchd.plist(5) and nothing else; NULL when
 * out of memory.  The caller frees it with job_free(). */
Job *job_new(void);
/* Frees @job and everything it owns (not its channels: channel_close). */
void job_free(Job *job);

#endif

