/* SPDX-License-Identifier: MIT */
/*
 * sec-broker-common.h - what the broker security tests share (tests/security):
 * a ROOT xpcd in a directory every user can reach (broker-common.h), the
 * attacker program (sec-broker-attacker.c) run as an unprivileged uid with its
 * output captured, and readings of the broker process (/proc).
 */
#ifndef XPC_TESTS_SEC_BROKER_COMMON_H
#define XPC_TESTS_SEC_BROKER_COMMON_H

#include <stdbool.h>
#include <sys/types.h>

#include "broker-common.h"
#include "harness.h"

typedef struct SecBrokerChild {
	pid_t pid;
	int out; /* read end of its stdout */
} SecBrokerChild;

/* broker_setup(), then makes the directory reachable (0755) by the
 * unprivileged users.  Skips the test (77) unless it runs as root. */
void sec_broker_setup(void);
/* broker_start() of a root system broker (--system: a socket every user
 * may connect to) with @extra options, under umask 0 (so that a broker
 * that does not set its socket's mode, as before, is reachable too and
 * each test meets the finding it is about). */
void sec_broker_start_broker(const char *const *extra, unsigned nofile);
/* The end of a test: SIGTERM to the broker (so a sanitizer build checks
 * it for leaks as it exits), a check that it exited 0 and that its log has
 * no sanitizer report, then broker_teardown(). */
void sec_broker_finish(void);
/* Runs the scenario of @scenarios (NULL-terminated) named @name between
 * sec_broker_setup(), harness_begin(@timeout) and sec_broker_finish(),
 * harness_end(); @after (may be NULL) runs after the scenario, before
 * the broker is stopped.  Return: the exit status (an unknown name fails
 * a REQUIRE).  tests/broker's broker_run_scenario() for a root broker. */
int sec_broker_run_scenario(const char *name, const BrokerScenario *scenarios, unsigned timeout,
			    void (*after)(void));
/* The attacker program's path (from $SEC_ATTACKER). */
const char *sec_broker_attacker(void);
/* fork; the child becomes @u and execs @argv with stdout to a pipe. */
SecBrokerChild sec_broker_spawn_as(struct harness_user u, char *const argv[]);
/* Reads one line of the child's output (up to @seconds); "" if none. */
void sec_broker_read_line(SecBrokerChild *ch, char *buf, size_t size, unsigned seconds);
/* Runs @argv as @u to its end (SIGKILL after @seconds); its whole output,
 * malloc'd; *@ret_status its wait status (-1: killed). */
char *sec_broker_run_as(struct harness_user u, char *const argv[], unsigned seconds, int *ret_status);
/* sec-broker-attacker request SOCK OP ARGS... as @u: its output (malloc'd). */
char *sec_broker_request_as(struct harness_user u, const char *op, const char *arg1, const char *arg2);
/* Kills and reaps the child. */
void sec_broker_kill(SecBrokerChild *ch);
/* Descriptors, CPU time (ms) and peak resident set (KiB) of @pid. */
int sec_broker_fd_count(pid_t pid);
long sec_broker_cpu_ms(pid_t pid);
long sec_broker_vm_kb(pid_t pid, const char *field);
double sec_broker_now(void);

#endif
