/* SPDX-License-Identifier: MIT */
/*
 * broker-common.h - a private xpcd for a test: its directory (DIR/jobs for
 * job files, DIR/xpcd.log for its output, DIR/xpcd.sock), starting it with
 * extra options, stopping it, and killing every job it started (their pids
 * come from its state file), so nothing is left behind.  Used by
 * tests/broker and tests/security.  The broker's path comes from $XPCD.
 */
#ifndef XPC_TESTS_BROKER_COMMON_H
#define XPC_TESTS_BROKER_COMMON_H

#include <stdbool.h>
#include <sys/types.h>
#include <xpc/xpc.h>

extern char broker_dir[256];  /* the test's directory, 0700 unless chmod'ed */
extern char broker_sock[300]; /* broker_dir/xpcd.sock */
extern pid_t broker_pid;      /* 0 when no broker runs */

/* Makes the directory (with jobs/), sets XPCD_SOCKET, becomes the reaper
 * of orphans (jobs of a killed broker). */
void broker_setup(void);
/* Stops the broker, kills its jobs and every child, prints the log if a
 * check failed, removes the directory. */
void broker_teardown(void);
/* Writes broker_dir/jobs/@file with @xml inside <plist><dict>...</dict>. */
void broker_write_job_file(const char *file, const char *xml);
/* Forks and execs `xpcd --socket broker_sock --jobs broker_dir/jobs
 * EXTRA...` (@extra NULL-terminated, may be NULL) with its output to
 * broker_dir/xpcd.log and, when @nofile is not 0, that soft
 * RLIMIT_NOFILE; returns at once. */
void broker_spawn(const char *const *extra, unsigned nofile);
/* broker_spawn(), then waits until the socket accepts a connection. */
void broker_start(const char *const *extra, unsigned nofile);
/* True once a connect to @path succeeds (tries for @ms milliseconds). */
bool broker_wait_socket(const char *path, unsigned ms);
/* SIGKILL to the broker, reaped. */
void broker_stop(void);
/* The text of broker_dir/@file, malloc'd ("" when missing). */
char *broker_read_file(const char *file);
/* Writes the job file @label.plist: `/bin/sh -c SCRIPT` (printf-style,
 * XML-escaped here) with the plist keys @extra (may be NULL). */
void broker_sh_job(const char *label, const char *extra, const char *script_fmt, ...)
	__attribute__((__format__(__printf__, 3, 4)));
/* The number of lines of broker_dir/@file (0 when missing). */
int broker_count_lines(const char *file);
/* Waits until broker_dir/@file has at least @n lines (at most @ms). */
bool broker_wait_lines(const char *file, int n, unsigned ms);
/* Whether the broker's log contains @text. */
bool broker_log_has(const char *text);
/* Runs $XPCCTL with @args (args[0] its name, NULL-terminated), its stdout
 * and stderr into @out (at most @len - 1 bytes, NUL-terminated): its exit
 * status, -1 if it did not exit. */
int broker_run_xpcctl(char *out, size_t len, const char *const *args);

/* A broker request { XPCD_KEY_OP: @op, XPCD_KEY_LABEL: @label (may be
 * NULL) } on a fresh link to broker_sock, as xpcctl sends it: the reply
 * (+1: a dictionary, or an error object). */
xpc_object_t broker_call(const char *op, const char *label);

/* One scenario of a test program: its name on the command line. */
typedef struct BrokerScenario {
	const char *name;
	void (*fn)(void);
} BrokerScenario;
/* Runs the scenario of @scenarios (NULL-terminated) named @name between
 * harness_begin(@timeout)/broker_setup() and broker_teardown()/
 * harness_end().  Return: the exit status (2: no such scenario). */
int broker_run_scenario(const char *name, const BrokerScenario *scenarios, unsigned timeout);

#endif
