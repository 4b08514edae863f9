/*
 * fuzz-broker.h - the process double of fuzz-broker (broker-launch.c):
 * launches without fork, exits delivered when the harness says.
 */
#ifndef XPC_FUZZ_BROKER_H
#define XPC_FUZZ_BROKER_H

#include <stddef.h>

/* Forgets queued exits; fake pids start again (one input = one history). */
void fuzz_launch_reset(void);
/* Delivers every queued exit to supervise_exited(); returns how many. */
size_t fuzz_launch_reap(void);

#endif
