/*
 * job.h - a launchd job as xpcd holds it: its definition (from a property
 * list, plist.c), its service channels (service.c), and its process
 * (launch.c, supervise.c).
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
#include <stdio.h>
#include <sys/types.h>
#include <time.h>
#include <xpc/xpc.h>

/* One MachServices name: the listener pair xpcd owns (docs/services.md). */
typedef struct JobService {
	char *name;
	int recv_fd; /* R: inherited by the job; watched while it is not running */
	int send_fd; /* W: endpoints handed out by lookups are duplicates */
	dispatch_source_t watch; /* READ source on R while the job is stopped */
	bool hidden; /* the job's activity channel (activity.c): never looked up or listed */
} JobService;

typedef struct JobActivities JobActivities; /* activity.c */

enum { KEEPALIVE_UNSET = -1 };

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

	/* runtime */
	pid_t pid;          /* 0 when not running */
	bool adopted;       /* running instance left by an earlier broker */
	bool stopping;      /* SIGTERM sent; SIGKILL after exit_timeout */
	bool unloading;     /* free the job once it has exited */
	bool launch_pending;/* a throttled launch is scheduled */
	bool relaunch_once; /* kickstart -k: start again after this exit */
	dispatch_source_t orphan_watch; /* pidfd READ source of an adopted instance */
	int last_status;    /* wait status of the last exit, -1 if none */
	unsigned runs;      /* number of launches */
	struct timespec last_start;
	dispatch_source_t kill_timer;
	JobActivities *activities;  /* activity.c: the activities' schedule, or NULL */
	struct Job *next;
} Job;

/* plist.c */
/*
 * job_load_file() - parse a launchd property list (XML or binary).
 * @path:    the file
 * @ret_job: set on success to a new job (caller frees with job_free)
 * @err:     on failure, a message naming the file and the key
 * Return: 0, or -1 with @err filled.  Unknown keys are reported on stderr.
 */
int job_load_file(const char *path, Job **ret_job, char *err, size_t errlen);
void job_free(Job *job);

/* activity-plist.c: LaunchEvents -> com.apple.xpc.activity (@stream: its
 * plist_t value) checked and kept in job->activity_events.  Return: 0, or
 * -1 with @err naming the key. */
#define ACTIVITY_MAX_PER_JOB 64
int activity_plist_parse(Job *job, void *stream, char *err, size_t errlen);
void activity_plist_free(Job *job);

/* activity.c (docs/activities.md) */
/* The test clock (XPC_ACTIVITY_TIME_SCALE of a private broker; main.c). */
void activity_set_time_scale(const char *text);
/* After the job's channels are open: its activity channel, and the
 * schedule.  Return: 0, or -1 with errno (then activity_job_unloaded). */
int activity_job_loaded(Job *job);
void activity_job_started(Job *job);  /* launch.c: link and hello */
void activity_job_stopping(Job *job); /* SIGTERM coming: runs asked to defer */
void activity_job_exited(Job *job);   /* supervise.c, before any relaunch */
void activity_job_unloaded(Job *job); /* the channels are closed */
/* The activities for `print` (+1 array), or NULL when the job has none. */
xpc_object_t activity_describe(Job *job);

/* registry (registry.c) */
Job *jobs_first(void);
Job *jobs_find_label(const char *label);
Job *jobs_find_service(const char *name, JobService **ret_service);
Job *jobs_find_pid(pid_t pid);
/* Adds @job (taking ownership), creates its channels and starts it if
 * RunAtLoad/KeepAlive.  Return: 0, or -1 with @err (label already loaded). */
int jobs_add(Job *job, char *err, size_t errlen);
/* Stops and removes @job (freed once its process has exited). */
void jobs_remove(Job *job);
void jobs_save_state(void);
/* Adopts the running instances recorded in the state file (main.c, once
 * the job directories are loaded). */
void jobs_recover_state(void);
/* Ends booting: starts the RunAtLoad/KeepAlive jobs, watches the others. */
void jobs_boot_done(void);
/* Frees the unloaded jobs.  Only for in-process tests (fuzz/fuzz-broker.c):
 * the broker keeps them since pending timers may still name them. */
void jobs_free_unloaded(void);

/* service.c */
int service_open_channels(Job *job);
void service_watch(Job *job);   /* watch every R: a check-in starts the job */
void service_unwatch(Job *job);
void service_close_channels(Job *job);

/* launch.c */
/* Starts the job now, or schedules it when ThrottleInterval has not passed.
 * Return: 0 or -1 (fork failed or disabled). */
int launch_job(Job *job);
/* Sends @sig to the job's process group. */
void launch_signal(Job *job, int sig);
/* SIGTERM now, SIGKILL after ExitTimeOut. */
void launch_stop(Job *job);

/* supervise.c */
void supervise_start(void);                /* SIGCHLD handling */
void supervise_exited(Job *job, int status);

/* control.c */
/* Who sent a request: the peer's credentials (SO_PEERCRED at connect). */
typedef struct ControlPeer {
	uid_t uid;
	gid_t gid;
} ControlPeer;
/* Answers one request dictionary (received, expecting a reply) from @peer.
 * Return: the reply (+1), or NULL when no reply can be made. */
xpc_object_t control_handle_request(const ControlPeer *peer, xpc_object_t req);
/*
 * control_configure() - the limits of client links, before control_listen
 * @max_links:    links in all; 0: derived from RLIMIT_NOFILE (two
 *                descriptors a link, a quarter of the limit kept free),
 *                at most 1024
 * @per_user:     links of one uid; 0: half of @max_links, at most 384
 * @idle_ms:      a link that sends no request for this long is closed; 0:
 *                never
 * Return: 0, or a negative errno.
 */
int control_configure(unsigned max_links, unsigned per_user, unsigned idle_ms);
/* Listens on @socket_path, the file made with @mode (0666 system broker,
 * 0600 user and private ones).  Return: 0 or -1 (message printed). */
int control_listen(const char *socket_path, mode_t mode);
/* Removes the socket file if it is still the one this broker made. */
void control_close(void);
/* A job was loaded, unloaded, enabled or disabled: clients must look names up
 * again (the socket's mtime moves on; docs/services.md). */
void control_services_changed(void);

/* links.c: what the broker's client links cost, per user and in all */
typedef enum LinkKind {
	LINK_SERVED,      /* read now */
	LINK_WAITING,     /* queued (links_wait_push), read once a served one closes */
	LINK_REFUSING,    /* read; each request answered with the limit's name */
	LINK_REFUSED,     /* over the user's share: not charged, closed at accept */
	LINK_REFUSED_ALL, /* over the cap in all: not charged, closed at accept */
} LinkKind;
typedef struct LinkLimits {
	unsigned max_links;         /* links in all */
	unsigned per_user;          /* links of one uid, every kind */
	unsigned served_per_user;   /* of those, read at once */
	unsigned refusing_per_user; /* of those, answered with the limit */
} LinkLimits;
typedef struct LinkUser LinkUser;
/* Sets the cap in all and the share of one user (0: half the cap); the
 * other limits follow.  Only while no link is charged.  Return: 0,
 * -EINVAL or -ENOMEM. */
int links_configure(unsigned max_links, unsigned per_user);
const LinkLimits *links_limits(void);
/* Charges a new link of @uid and says what it is; *@ret_user is set for
 * the charged kinds (SERVED, WAITING, REFUSING), NULL otherwise. */
LinkKind links_admit(uid_t uid, LinkUser **ret_user);
/* Queues the item of a WAITING link (the caller keeps ownership).
 * Return: 0 or -ENOMEM (then release the charge). */
int links_wait_push(LinkUser *u, void *item);
/* Refunds one link of @kind.  When a served one goes and the user has a
 * waiting one, that one is now served: its item is returned (else NULL). */
void *links_release(LinkUser *u, LinkKind kind);
unsigned links_in_use(void);
/* The charges of @uid (for tests and the fuzzer); returns their sum. */
unsigned links_of_user(uid_t uid, unsigned *ret_served, unsigned *ret_waiting, unsigned *ret_refusing);

/* log (registry.c) */
void broker_log(const char *fmt, ...) __attribute__((__format__(__printf__, 1, 2)));
double broker_since(const struct timespec *t);
/* The broker's socket (main.c): jobs get it as XPCD_SOCKET. */
extern const char *broker_socket_path;

/* rundir.c: the directory of the socket, its lock and its state file */
/*
 * rundir_open() - check the directory of @socket_path and take the lock
 * @err:   on failure, why (the directory's owner and mode, or the other
 *         broker's pid)
 * Return: 0, or -1: xpcd must not serve that socket.
 */
int rundir_open(const char *socket_path, char *err, size_t errlen);
/* The directory, open (-1 before rundir_open). */
int rundir_fd(void);
/* The state file for reading, NULL when absent or not trusted (logged). */
FILE *rundir_state_read(void);
/* A fresh temporary state file to write, NULL on failure; then
 * rundir_state_commit() closes it and renames it into place (0 or -1). */
FILE *rundir_state_begin(void);
int rundir_state_commit(FILE *f);

#endif
