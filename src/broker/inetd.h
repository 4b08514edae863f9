/* SPDX-License-Identifier: MIT */
/*
 * inetd.h - inetdCompatibility without Wait: one instance of the job per
 * accepted connection, bounded in all and per source (inetd.c).
 */
#ifndef XPC_BROKER_INETD_H
#define XPC_BROKER_INETD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "broker/broker.h"
#include "broker/job.h"

#define INETD_MAX_INSTANCES 64  /* per job, at once */
#define INETD_MAX_PER_SOURCE 16 /* per client uid (Unix) or address (IP), at once */

/* One of the job's sockets is readable (triggers_socket_ready): accepts
 * what the limits allow, each connection to an instance of its own.
 * Return: whether the caller should watch the sockets again (false: at
 * INETD_MAX_INSTANCES, until an instance exits). */
bool inetd_accept(Job *job);
/* A child @pid was reaped: its job if it was an instance (then handled),
 * else NULL; *@ret_resume: watch the job's sockets again. */
Job *inetd_reaped(Broker *b, pid_t pid, int status, bool *ret_resume);
/* Unload: SIGTERM to every instance; they are forgotten. */
void inetd_stop(Job *job);
/* Instances running now. */
size_t inetd_count(const Job *job);

#endif
