/* SPDX-License-Identifier: MIT */
/*
 * output.h - a job's standard output and error, line by line into the
 * broker's log with its label (output.c).
 */
#ifndef XPC_BROKER_OUTPUT_H
#define XPC_BROKER_OUTPUT_H

#include <sys/types.h>

/* Reads @fd (consumed: the read end of the job's output pipe) until end of
 * file, logging each line as "LABEL[PID]: LINE".  Out of memory, @fd is
 * closed (the job's writes then fail with EPIPE). */
void output_capture(const char *label, pid_t pid, int fd);

#endif
