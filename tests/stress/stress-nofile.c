/* SPDX-License-Identifier: MIT */
/*
 * stress-nofile - runs a program with a given soft RLIMIT_NOFILE: the
 * wrapper of the descriptor-exhaustion tests (test-nofile).
 *
 *   stress-nofile SOFT PROGRAM [ARG...]
 *
 * Sets the soft limit to SOFT (the hard limit stays; SOFT above it is
 * clamped) and execs PROGRAM, which keeps this pid: xpcd records the job's
 * pid and sees the program itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct rlimit rl;

	if (argc < 3) {
		fprintf(stderr, "usage: stress-nofile SOFT PROGRAM [ARG...]\n");
		return 2;
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		perror("stress-nofile: getrlimit");
		return 1;
	}
	rl.rlim_cur = strtoul(argv[1], NULL, 10);
	if (rl.rlim_cur > rl.rlim_max)
		rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		perror("stress-nofile: setrlimit");
		return 1;
	}
	execv(argv[2], argv + 2);
	perror("stress-nofile: exec");
	return 127;
}
