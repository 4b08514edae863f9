/* SPDX-License-Identifier: MIT */
/*
 * stop-after-fork.c - an LD_PRELOAD shim for the broker-launch-killed test
 * (test-broker.c): xpcd's fork() returns in the parent only after the
 * parent has stopped itself with SIGSTOP, so the test can kill the broker
 * between the fork of a job and the broker's record of it.  The child is
 * left alone.  Only ever loaded into a test's private xpcd.
 */
#include <dlfcn.h>
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

__attribute__((visibility("default"))) pid_t fork(void);

pid_t fork(void)
{
	pid_t (*real)(void) = (pid_t (*)(void))dlsym(RTLD_NEXT, "fork");
	pid_t pid = real ? real() : -1;

	if (pid > 0)
		raise(SIGSTOP);
	return pid;
}
