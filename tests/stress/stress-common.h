/* SPDX-License-Identifier: MIT */
/*
 * stress-common.h - what the stress tests (tests/stress) share: a private
 * xpcd with its job directory, child processes whose stdout is a pipe,
 * reaping (the test is a child subreaper, so services orphaned by a killed
 * broker are reaped too), /proc readings of other processes (resident set,
 * descriptors, liveness), a seeded random generator and the size knobs
 * read from the environment (STRESS_ROUNDS, STRESS_CLIENTS, ...).
 */
#ifndef XPC_TESTS_STRESS_COMMON_H
#define XPC_TESTS_STRESS_COMMON_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct StressChild {
	pid_t pid;
	int out; /* read end of its stdout, -1 if not captured */
} StressChild;

/* Makes DIR with DIR/jobs, sets XPCD_SOCKET, becomes a subreaper; the
 * programs' paths come from $XPCD and from argv[0]'s directory. */
void stress_setup(const char *argv0);
/* Fails the test if the broker or a job crashed or reported a sanitizer
 * error (DIR/xpcd.log, DIR/svc.log); kills the broker and every job;
 * removes DIR. */
void stress_teardown(void);
/* Kills the broker, then every job it recorded (so it logs no death of
 * theirs), and reaps them: the next stress_start_broker() starts afresh. */
void stress_stop_all(void);
const char *stress_dir(void);
/* Path of a program built beside the test. */
char *stress_program(const char *name);
/* Writes DIR/jobs/LABEL.plist: @argv (NULL-terminated) serving @name, no
 * throttling, ExitTimeOut 1, stderr to DIR/LABEL.log; @extra is more XML. */
void stress_write_job(const char *label, const char *name, char *const argv[], const char *extra);
void stress_start_broker(void);
/* Brokers started from now on run with this soft RLIMIT_NOFILE (0: the
 * test's own); their jobs inherit it. */
void stress_set_broker_nofile(unsigned soft);
/* Brokers started from now on get these options too (NULL-terminated,
 * borrowed; NULL: none), e.g. their link limits (xpcd(8)). */
void stress_set_broker_args(const char *const *args);
/* SIGKILL to the broker (not to its jobs); waits for it. */
void stress_kill_broker(void);
pid_t stress_broker_pid(void);
/* The running pid of job @label from the broker's state file, 0 if none
 * (or if that pid now belongs to another process: start times differ). */
pid_t stress_job_pid(const char *label);
/* Text of DIR/@file ("xpcd.log", "LABEL.log"), malloc'd ("" if missing). */
char *stress_read_file(const char *file);

/* fork+exec @argv with stdout to a pipe (capture) or inherited; SIGUSR1
 * starts blocked in the child (it unblocks it once it has a handler). */
StressChild stress_spawn(char *const argv[], bool capture);
/* Waits up to @seconds (then SIGKILL); the wait status, -1 if killed. */
int stress_wait(pid_t pid, unsigned seconds);
/* Reaps whatever finished (orphans included); keeps the statuses. */
void stress_reap(void);
/* Reads the child's whole stdout (until EOF, up to @seconds) into @buf. */
void stress_read_output(StressChild *ch, char *buf, size_t size, unsigned seconds);

typedef struct StressStat {
	pid_t pid;
	long fds, peers, rss_kb;
} StressStat;

/* A new connection to the stress-service behind @name works: its "stat"
 * answer (pid, descriptors, live peers, resident set) on a fresh named
 * connection, cancelled afterwards.  False (reason printed) otherwise. */
bool stress_stat(const char *name, StressStat *st);

/* Reads the child's stdout until a newline (up to @seconds); leaves the
 * pipe open. */
void stress_read_line(StressChild *ch, char *buf, size_t size, unsigned seconds);

long stress_rss_kb(pid_t pid);
int stress_fd_count(pid_t pid);
/* CPU time (user + system) the process has used, in milliseconds; -1 if
 * there is no such process. */
long stress_cpu_ms(pid_t pid);

uint64_t stress_random(void);
/* Seeds from $STRESS_SEED or the clock, prints the seed. */
void stress_seed(void);
unsigned stress_env_uint(const char *name, unsigned dflt);
double stress_now(void);
void stress_sleep_ms(unsigned ms);

#endif
