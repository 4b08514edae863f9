/* SPDX-License-Identifier: MIT */
/*
 * sec-common.h - what the security tests of the connection layer share: a
 * ROOT xpcd on a private socket that other users may reach, its jobs, raw
 * broker lookups and check-ins, and running a program as an unprivileged
 * user (tests/harness.h), with a W passed down or not, and reading what it
 * printed.
 *
 * The tests run as root (CI does; they skip otherwise) and play the
 * attacker as "nobody" and a bystander as "daemon".  The broker's socket
 * is made reachable by them (its directory 0755, the socket 0666), as the
 * system broker's is; its jobs run as root unless a UserName is given.
 * Since 36729e1 xpcd hands a service's W only to root and to the user the
 * service runs as; a test of what a hostile holder of W can do models
 * how W still reaches one: root looks it up and passes it down
 * (sec_attack_with_w).
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
/* A security test's start: root required, dispatch warmed, a timeout of
 * @seconds, then sec_setup(). */
void sec_begin(unsigned seconds);
/* The job "target": `sec-service serve org.sec.target` (the test's
 * sibling, @argv0 its argv[0]), as root, on demand. */
void sec_target_job(const char *argv0);
const char *sec_dir(void);
const char *sec_socket(void);
/* Writes a job: Label @label, MachServices @name, ProgramArguments @argv
 * (NULL-terminated), UserName @user (NULL: root), one environment variable
 * @env "KEY=VALUE" (or NULL), StandardOutPath DIR/@label.out (created 0666),
 * RunAtLoad when @at_load. */
void sec_job(const char *label, const char *name, const char *user, const char *env, bool at_load,
	     const char *const argv[]);
/* The same, as root, on demand, with the plist keys @keys_xml added
 * ("<key>Disabled</key><true/>", ...). */
void sec_job_keys(const char *label, const char *name, const char *keys_xml, const char *const argv[]);
/* Starts the broker (as root), its descriptor limit @nofile (0: as now),
 * and waits until it accepts; makes the socket reachable by everyone. */
void sec_start_broker(unsigned nofile);
/* The broker's pid (0 before sec_start_broker). */
pid_t sec_broker_pid(void);
/* A field of /proc/@pid/status in KiB ("VmRSS", "VmHWM"), -1 if absent. */
long sec_proc_kb(pid_t pid, const char *field);
/* Kills the broker and its jobs, removes the directory. */
void sec_teardown(void);
/* The reply (+1) to the broker request @msg sent by hand over a new link
 * to the broker socket at @sock, or NULL (no link). */
xpc_object_t sec_broker_call(const char *sock, xpc_object_t msg);
/* A lookup of @name made by hand at @sock: 1 with W (a descriptor of this
 * process) in *@ret_w, 0 answered ok without an endpoint (callers other
 * than root and the service's user since 36729e1), -1 refused or no
 * answer (*@ret_w -1). */
int sec_raw_lookup(const char *sock, const char *name, int *ret_w);
/* The W of @name from sec_raw_lookup(), or -1. */
int sec_raw_endpoint(const char *sock, const char *name);
/* The broker's { "xpcd.op": "checkin", "name": @name, "link": @link }
 * (@link borrowed; -1: no "link") made by hand at @sock: the reply (+1),
 * or NULL. */
xpc_object_t sec_raw_checkin(const char *sock, const char *name, int link);
/* On our end @fd of a link checked in to a sec-service: waits for its
 * HELLO and asks { "op": "whoami" } in raw frames.  The reply (+1), or
 * NULL when no HELLO or no reply came within 3 s each. */
xpc_object_t sec_link_whoami(int fd);
/* Both ends of a link a child of this process made (its SO_PEERCRED
 * names the child), received over SCM_RIGHTS; false if none came. */
bool sec_child_link(int sv[2]);
/* A W passed down: the next sec_run_as* child inherits @fd (-1: none),
 * its number in $SEC_W_FD (how a root or the service's user who holds W
 * may pass it on to anyone: sec-attacker's endpoint_of reads it). */
void sec_pass_fd(int fd);
/* Runs @argv as unprivileged user @which (0 nobody, 1 daemon), its stdout
 * into @out (@size bytes, NUL-terminated), for at most @seconds.
 * Return: its wait status (-1 if it had to be killed). */
int sec_run_as(int which, char *const argv[], char *out, size_t size, unsigned seconds);
/* The same as any user @u; *@ret_pid (may be NULL) the child's pid. */
int sec_run_as_user(struct harness_user u, char *const argv[], char *out, size_t size, unsigned seconds,
		    pid_t *ret_pid);
/* Root looks @name's W up (root still gets it), passes it to the
 * attacker @argv run as nobody (sec_pass_fd, sec_attack) and closes it. */
bool sec_attack_with_w(const char *name, char *const argv[], char *out, size_t size, unsigned seconds);
/* Runs the attacker @argv as nobody (sec_run_as(0, ...)) and logs its line.
 * Return: true if it exited 0 and reported "done" (it finished its attack). */
bool sec_attack(char *const argv[], char *out, size_t size, unsigned seconds);
/* Waits up to @seconds until the file DIR/@name holds a line; copies it. */
bool sec_wait_file(const char *name, char *out, size_t size, unsigned seconds);
/* A sync request { "op": @op } to the named service @name (as this
 * process); the reply (+1), or an error object. */
xpc_object_t sec_request(const char *name, const char *op);
/* The pid of @name's service as root's new named connection sees it
 * (sec-service's "whoami", the cache of channels forgotten first), or -1. */
int64_t sec_server_pid(const char *name);

#endif
