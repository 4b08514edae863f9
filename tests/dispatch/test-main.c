/* SPDX-License-Identifier: MIT */
/*
 * test-main.c - runs dispatch-main-helper as a child: the dispatch_main()
 * program must exit 42 from a block on the main queue, and the three
 * self-deadlocks must abort with GCD's "BUG IN CLIENT OF LIBDISPATCH".
 */
#include "harness.h"

#include <dispatch/dispatch.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Runs the helper with @mode; returns its wait status, stderr in @err. */
static int run_helper(const char *helper, const char *mode, char *err, size_t errlen)
{
	posix_spawn_file_actions_t fa;
	char *argv[] = {(char *)helper, (char *)mode, NULL};
	int p[2], status;
	pid_t pid;
	size_t got = 0;
	ssize_t n;

	REQUIRE(pipe2(p, O_CLOEXEC) == 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 2);
	REQUIRE(posix_spawn(&pid, helper, &fa, NULL, argv, environ) == 0);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	status = harness_wait_pid(pid, 60);
	while (got + 1 < errlen && (n = read(p[0], err + got, errlen - 1 - got)) > 0)
		got += (size_t)n;
	err[got] = 0;
	close(p[0]);
	return status;
}

int main(int argc, char **argv)
{
	const char *helper = harness_sibling(argv[0], "dispatch-main-helper");
	char err[4096];
	int st;

	harness_begin(120);
	st = run_helper(helper, "main", err, sizeof(err));
	CHECK(WIFEXITED(st));
	CHECK_EQ_INT(WIFEXITED(st) ? WEXITSTATUS(st) : -1, 42);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 42)
		fprintf(stderr, "helper stderr: %s\n", err);

	st = run_helper(helper, "deadlock", err, sizeof(err));
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
	CHECK(strstr(err, "BUG IN CLIENT OF LIBDISPATCH") != NULL);

	st = run_helper(helper, "targetsync", err, sizeof(err));
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
	CHECK(strstr(err, "BUG IN CLIENT OF LIBDISPATCH") != NULL);

	st = run_helper(helper, "mainsync", err, sizeof(err));
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
	CHECK(strstr(err, "BUG IN CLIENT OF LIBDISPATCH") != NULL);
	/* Exiting with live sources is not a leak (LeakSanitizer under ASan
	 * turns a leak into a non-zero status). */
	st = run_helper(harness_sibling(argv[0], "dispatch-leak-helper"), "", err, sizeof(err));
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 7);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 7)
		fprintf(stderr, "leak helper stderr: %s\n", err);
	return harness_end();
}
