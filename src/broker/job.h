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
#include <sys/types.h>
#include <time.h>
#include <xpc/xpc.h>

/* One MachServices name: the listener pair xpcd owns (docs/services.md). */
typedef struct JobService {
	char *name;
	int recv_fd; /* R: inherited by the job; watched while it is not running */
	int send_fd; /* W: endpoints handed out by lookups are duplicates */
	dispatch_source_t watch; /* READ source on R while the job is stopped */
} JobService;

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
/* Adopts the running instances recorded in broker_state_path (main.c, once
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
int control_listen(const char *socket_path);
void control_close(void);
/* A job was loaded, unloaded, enabled or disabled: clients must look names up
 * again (the socket's mtime moves on; docs/services.md). */
void control_services_changed(void);

/* log (registry.c) */
void broker_log(const char *fmt, ...) __attribute__((__format__(__printf__, 1, 2)));
double broker_since(const struct timespec *t);
extern const char *broker_state_path;

#endif
