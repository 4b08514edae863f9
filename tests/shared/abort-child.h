/* SPDX-License-Identifier: MIT */
/*
 * abort-child.h - run a function in a forked child whose stderr goes to a
 * pipe, and tell whether it died of SIGABRT and what it wrote.  For the
 * tests of checks that abort (test-assert.c, test-lock.c).  No core file:
 * the child lowers RLIMIT_CORE first.
 */
#ifndef XPC_TESTS_SHARED_ABORT_CHILD_H
#define XPC_TESTS_SHARED_ABORT_CHILD_H

#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

/* Runs @fn in a child; fills @out (NUL-terminated) with its stderr.
 * Return: true if the child was killed by SIGABRT. */
static inline bool abort_child_run(void (*fn)(void), char *out, size_t size)
{
	struct rlimit no_core = {0, 0};
	int p[2], status;
	size_t n = 0;
	ssize_t r;
	pid_t pid;

	REQUIRE(pipe2(p, O_CLOEXEC) == 0);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		setrlimit(RLIMIT_CORE, &no_core);
		dup2(p[1], 2);
		fn();
		_exit(0);
	}
	close(p[1]);
	while (n + 1 < size && (r = read(p[0], out + n, size - 1 - n)) > 0)
		n += (size_t)r;
	out[n] = '\0';
	close(p[0]);
	status = harness_wait_pid(pid, 20);
	return status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

#endif
