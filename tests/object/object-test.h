/* SPDX-License-Identifier: MIT */
/*
 * object-test.h - helpers shared by the object-layer tests.
 *
 * expect_misuse() runs @fn in a forked child whose stderr goes to a pipe,
 * and checks that the child died of SIGABRT after printing
 * "XPC API MISUSE".  fake_connection() makes a stand-in for a connection
 * (any refcounted object will do: the object layer only retains it).
 */
#ifndef XPC_TESTS_OBJECT_TEST_H
#define XPC_TESTS_OBJECT_TEST_H

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xpc/xpc.h>

#include "harness.h"
#include "object/object.h"

static inline bool expect_misuse(void (*fn)(void *), void *arg)
{
	char buf[512] = {0};
	size_t got = 0;
	int p[2], status = 0;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return false;
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 2);
		fn(arg);
		_exit(0);
	}
	close(p[1]);
	while (got < sizeof(buf) - 1) {
		ssize_t n = read(p[0], buf + got, sizeof(buf) - 1 - got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(p[0]);
	if (pid < 0)
		return false;
	status = harness_wait_pid(pid, 20);
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT) {
		fprintf(stderr, "expected an abort, status %#x, output: %s\n", status, buf);
		return false;
	}
	if (!strstr(buf, "XPC API MISUSE")) {
		fprintf(stderr, "abort without the misuse message: %s\n", buf);
		return false;
	}
	return true;
}

static const struct _xpc_type_s fake_connection_type = {.name = "connection"};

static inline xpc_connection_t fake_connection(void)
{
	return (xpc_connection_t)object_alloc(&fake_connection_type, sizeof(struct xpc_object_s));
}

static inline int refcount_of(xpc_object_t obj)
{
	return atomic_load(&((struct xpc_object_s *)obj)->refcnt);
}

#endif
