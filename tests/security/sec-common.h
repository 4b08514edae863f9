/* SPDX-License-Identifier: MIT */
/*
 * sec-common.h - what the security tests of the connection layer share: a
 * ROOT xpcd on a private socket that other users may reach, its jobs, raw
 * broker lookups, and running a program as an unprivileged user
 * (tests/harness.h) and reading what it printed.
 *
 * The tests run as root (CI does; they skip otherwise) and play the
 * attacker as "nobody" and a bystander as "daemon".  The broker's socket
 * is made reachable by them (its directory 0755, the socket 0666), as the
 * system broker's is; its jobs run as root unless a UserName is given.
 */
#ifndef XPC_TESTS_SEC_COMMON_H
#define XPC_TESTS_SEC_COMMON_H

#include <stdbool.h>
#include <sys/types.h>

#include <xpc/xpc.h>

#include "connection/connection.h"
#include "harness.h"

/* Temporary directory (0755), XPCD_SOCKET set to DIR/xpcd.sock. */
void sec_setup(void);
const char *sec_dir(void);
const char *sec_socket(void);
/* Writes a job: Label @label, MachServices @name, ProgramArguments @argv
 * (NULL-terminated), UserName @user (NULL: root), one environment variable
 * @env "KEY=VALUE" (or NULL), StandardOutPath DIR/@label.out (created 0666),
 * RunAtLoad when @at_load. */
void sec_job(const char *label, const char *name, const char *user, const char *env, bool at_load,
	     const char *const argv[]);
/* Starts the broker (as root), its descriptor limit @nofile (0: as now),
 * and waits until it accepts; makes the socket reachable by everyone. */
void sec_start_broker(unsigned nofile);
/* The broker's pid (0 before sec_start_broker). */
pid_t sec_broker_pid(void);
/* A field of /proc/@pid/status in KiB ("VmRSS", "VmHWM"), -1 if absent. */
long sec_proc_kb(pid_t pid, const char *field);
/* Kills the broker and its jobs, removes the directory. */
void sec_teardown(void);
/* The W of @name from a lookup made by hand over the broker socket at
 * @sock (a descriptor of this process), or -1. */
int sec_raw_endpoint(const char *sock, const char *name);
/* Runs @argv as unprivileged user @which (0 nobody, 1 daemon), its stdout
 * into @out (@size bytes, NUL-terminated), for at most @seconds.
 * Return: its wait status (-1 if it had to be killed). */
int sec_run_as(int which, char *const argv[], char *out, size_t size, unsigned seconds);
/* The same as any user @u; *@ret_pid (may be NULL) the child's pid. */
int sec_run_as_user(struct harness_user u, char *const argv[], char *out, size_t size, unsigned seconds,
		    pid_t *ret_pid);
/* Runs the attacker @argv as nobody (sec_run_as(0, ...)) and logs its line.
 * Return: true if it exited 0 and reported "done" (it finished its attack). */
bool sec_attack(char *const argv[], char *out, size_t size, unsigned seconds);
/* Waits up to @seconds until the file DIR/@name holds a line; copies it. */
bool sec_wait_file(const char *name, char *out, size_t size, unsigned seconds);
/* A sync request { "op": @op } to the named service @name (as this
 * process); the reply (+1), or an error object. */
xpc_object_t sec_request(const char *name, const char *op);

#endif
