/* SPDX-License-Identifier: MIT */
/*
 * session-common.h - what the session tests share: a stand-in broker in the
 * test process (a SEQPACKET socket named by $XPCD_SOCKET that answers
 * "lookup" as xpcd does, docs/services.md) and names vended to this same
 * process (a listener pair whose R is handed over through XPCD_LISTEN_*,
 * as xpcd hands it to a job), so xpc_listener_create() and
 * xpc_session_create_mach_service() meet in one process.
 */
#ifndef XPC_TESTS_SESSION_COMMON_H
#define XPC_TESTS_SESSION_COMMON_H

#include <dispatch/dispatch.h>
#include <xpc/xpc.h>

/* Starts the broker on a fresh socket under a temporary directory and
 * points $XPCD_SOCKET at it. */
void session_test_broker_start(void);
/* Stops it and removes its socket and directory. */
void session_test_broker_stop(void);
/* Vends @name to this process: the broker answers its lookups with the
 * endpoint of a new listener pair, whose R the XPCD_LISTEN_* variables now
 * offer to xpc_listener_create(@name). */
void session_test_vend(const char *name);
/* Waits for @sem up to @seconds; false on timeout. */
bool session_test_wait(dispatch_semaphore_t sem, unsigned seconds);
/* A dictionary { op: @op }. */
xpc_object_t session_test_msg(const char *op);
/* Runs "argv0 @scenario" and expects it to abort with "XPC API MISUSE"
 * and @text on stderr.  Return: true when it did. */
bool session_test_misuse(const char *argv0, const char *scenario, const char *text);

#endif
