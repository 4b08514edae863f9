/* SPDX-License-Identifier: MIT */
/*
 * harness.h - what every test uses: a timeout, checks that report the line,
 * and a descriptor-leak check.
 *
 *     int main(void) {
 *             harness_begin(30);          // seconds before the test fails
 *             CHECK(1 + 1 == 2);
 *             return harness_end();       // fails on leaked descriptors
 *     }
 *
 * harness_begin() records the open descriptors; harness_end() reports every
 * descriptor open now that was not open then, and returns the exit status
 * (0 only if no CHECK failed and nothing leaked).  Runtimes that open
 * descriptors lazily (the dispatch manager's epoll) should be warmed up
 * before harness_begin(), e.g. with harness_warm_dispatch().
 */
#ifndef XPC_TESTS_HARNESS_H
#define XPC_TESTS_HARNESS_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>

extern int harness_failures;

#define CHECK(cond)                                                                    \
	do {                                                                           \
		if (!(cond)) {                                                         \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
			harness_failures++;                                            \
		}                                                                      \
	} while (0)

#define REQUIRE(cond)                                                                  \
	do {                                                                           \
		if (!(cond)) {                                                         \
			fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, #cond); \
			exit(1);                                                       \
		}                                                                      \
	} while (0)

#define CHECK_EQ_INT(a, b)                                                             \
	do {                                                                           \
		long long _a = (long long)(a), _b = (long long)(b);                    \
		if (_a != _b) {                                                        \
			fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%lld != %lld)\n", \
				__FILE__, __LINE__, #a, #b, _a, _b);                   \
			harness_failures++;                                            \
		}                                                                      \
	} while (0)

#define CHECK_STREQ(a, b)                                                              \
	do {                                                                           \
		const char *_a = (a), *_b = (b);                                       \
		if (!_a || !_b || strcmp(_a, _b) != 0) {                               \
			fprintf(stderr, "%s:%d: CHECK failed: %s == %s (\"%s\" != \"%s\")\n", \
				__FILE__, __LINE__, #a, #b, _a ? _a : "(null)", _b ? _b : "(null)"); \
			harness_failures++;                                            \
		}                                                                      \
	} while (0)

/* Arms a SIGALRM timeout of @seconds (the test fails with status 124,
 * its children killed, adopted ones included) and records the open
 * descriptors. */
void harness_begin(unsigned seconds);
/* Re-records the open descriptors (after a deliberate warm-up). */
void harness_snapshot_fds(void);
/* Reports leaked descriptors; returns the test's exit status. */
int harness_end(void);
/* Number of open descriptors of this process. */
int harness_count_fds(void);
/* Runs one block on a dispatch queue so the runtime's descriptors exist. */
void harness_warm_dispatch(void);
/* Waits for @pid up to @seconds, killing it with SIGKILL afterwards.
 * Return: its wait status, or -1 when it had to be killed. */
int harness_wait_pid(pid_t pid, unsigned seconds);
/* Makes this process the reaper of its orphaned descendants
 * (PR_SET_CHILD_SUBREAPER), so processes a daemon under test started are
 * still ours to kill when the daemon died first. */
void harness_adopt_orphans(void);
/* SIGKILLs every child of this process (and the process group each one
 * leads), adopted ones included, and reaps them; repeats until none is
 * left.  Return: how many it killed. */
int harness_kill_children(void);
/* The fields of /proc/PID/stat after the command ("S 1 ...": field 3
 * on), read into @buf; NULL if there is no such process. */
const char *harness_proc_stat(pid_t pid, char *buf, size_t size);
/* True while @pid runs (a zombie no one reaped yet counts as gone). */
bool harness_proc_alive(pid_t pid);
/* The parent of @pid, or -1. */
pid_t harness_proc_parent(pid_t pid);
/* Field 22 of /proc/PID/stat (start time), 0 if there is no such process:
 * with the pid, what tells a process from a later one with its pid. */
unsigned long long harness_proc_start_time(pid_t pid);
/* Path of a helper program built beside the test (argv[0]'s directory). */
const char *harness_sibling(const char *argv0, const char *name);

/*
 * Hostile local users.  Security tests run the attacker as an ordinary,
 * unprivileged uid against a root broker: CI runs as root, so the harness
 * switches a forked child to a spare account.  Two distinct users exist on
 * every Debian system: "nobody" (65534) and "daemon" (1).
 */
struct harness_user {
	uid_t uid;
	gid_t gid;
	const char *name;
};
/* The unprivileged account number @which (0: nobody, 1: daemon); its uid,
 * gid and name from the password database (fixed fallbacks if absent). */
struct harness_user harness_unprivileged_user(int which);
/* Exits the test with 77 (meson's "skipped") unless it runs as root:
 * only root can switch to another uid. */
void harness_require_root(void);
/* In a forked child: becomes @u for good (no supplementary groups, real,
 * effective and saved ids all @u's, no way back).  Exits 125 on failure. */
void harness_become(struct harness_user u);
/* fork(); the child becomes @u and execs @argv (PATH not searched; @argv[0]
 * must be readable and executable by @u).  Return: the child's pid, -1 on
 * error. */
pid_t harness_spawn_as(struct harness_user u, char *const argv[]);

#endif
