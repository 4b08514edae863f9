/* SPDX-License-Identifier: MIT */
/*
 * broker.h - xpcd as one object (broker.c): everything the broker holds,
 * one sub-object per concern, passed explicitly.
 *
 * xpcd is single-threaded by design: every part of the Broker is touched
 * only on the main dispatch queue (requests, SIGCHLD, watches, timers all
 * target it), so nothing in it carries a lock.
 */
#ifndef XPC_BROKER_BROKER_H
#define XPC_BROKER_BROKER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "broker/clients.h"
#include "broker/listener.h"
#include "broker/monitor.h"
#include "broker/overrides.h"
#include "broker/registry.h"
#include "broker/remote-export.h"
#include "broker/rundir.h"
#include "broker/supervise.h"
#include "broker/tap.h"

#define BROKER_MAX_JOB_DIRS 64

/* What the command line decides (main.c). */
typedef struct BrokerConfig {
	const char *socket_path; /* jobs get it as XPCD_SOCKET; NULL: no socket (fuzzer) */
	mode_t socket_mode;      /* 0666 system broker, 0600 user and private ones */
	const char *job_dirs[BROKER_MAX_JOB_DIRS];
	size_t n_job_dirs;
	unsigned max_links, max_links_per_user, idle_ms; /* clients_configure */
	bool capture_output;     /* jobs' output into the log, labelled (output.c) */
	RemoteExportConfig remote; /* --remote-*: XPCDRemoteExport (remote-export.c) */
} BrokerConfig;

typedef struct Broker {
	BrokerConfig config;
	Rundir rundir;         /* socket directory, lock, state file */
	Registry registry;     /* the loaded jobs */
	Supervisor supervisor; /* SIGCHLD, booting */
	Clients clients;       /* client links and what they cost */
	Listener listener;     /* the broker socket */
	Monitors monitors;     /* links watching the broker's events */
	Taps taps;             /* links of processes that report their frames (XPC_MONITOR) */
	Overrides overrides;   /* enable/disable kept across restarts */
	/* loads a changed job file again once its old job is gone
	 * (jobdirs_load_file; a pointer so that supervise.c need not call up) */
	void (*reload_file)(struct Broker *b, const char *path);
	char activated_path[108]; /* the path of a socket systemd passed */
} Broker;

/* Sets @b up from @config (copied); nothing opened, no limit set yet. */
void broker_init(Broker *b, const BrokerConfig *config);
/*
 * broker_run() - serve: take the socket's directory and lock, load the job
 * directories, adopt, start, listen.  Returns only on failure (message
 * printed): 1.
 */
int broker_run(Broker *b);
/* SIGTERM: the socket file is removed; running jobs keep running. */
void broker_stop(Broker *b);


#endif
