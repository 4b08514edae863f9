/* SPDX-License-Identifier: MIT */
/*
 * audit.c - audit tokens (<xpc/private.h>, <bsm/libbsm.h>): who a peer is,
 * in Apple's eight-field layout, without the pid-reuse race.
 *
 * From the kernel-checked credentials the connection holds (SO_PEERCRED /
 * SCM_CREDENTIALS: euid, egid, pid) and from /proc for what the link does
 * not carry: the login uid (Linux's audit uid, /proc/PID/loginuid), the
 * real uid and gid (/proc/PID/status) and the pid version.
 *
 * The pid version is the process's start time (field 22 of /proc/PID/stat,
 * clock ticks since boot, low 32 bits): a process that later gets the same
 * pid starts later, so its token differs (two processes would need the same
 * pid within one tick).  The pidfd's inode would do as well on kernels with
 * pidfs (6.9+) but not before, where every pidfd shares one inode.  /proc is
 * read by pid, so it is trusted only when the connection's pidfd shows the
 * peer alive before and after the reads (while it lives, and until it is
 * reaped, no other process can have its pid).  A peer that has exited gets
 * auid, ruid and rgid (unsigned)-1 and pid version 0, which matches no
 * live process.  Nothing is cached: each call reads /proc (~10 us).
 */
#include "session/internal.h"

#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <xpc/private.h>

static bool audit_alive(int pidfd)
{
	return pidfd >= 0 && syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) == 0;
}

/* The first line of /proc/@pid/@file starting with @key, after @key. */
static bool audit_proc_line(pid_t pid, const char *file, const char *key, char *buf, size_t size)
{
	char path[64];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && fgets(buf, (int)size, f))
		if (!strncmp(buf, key, strlen(key))) {
			memmove(buf, buf + strlen(key), strlen(buf + strlen(key)) + 1);
			found = true;
		}
	fclose(f);
	return found;
}

/* Field 22 (start time) of /proc/@pid/stat: after the ") " closing the
 * command, which may itself hold spaces and parentheses. */
static bool audit_start_time(pid_t pid, unsigned long long *ret)
{
	char buf[1024];
	const char *p;

	if (!audit_proc_line(pid, "stat", "", buf, sizeof(buf)) || !(p = strrchr(buf, ')')))
		return false;
	/* after the state (field 3): 18 fields, then the start time */
	return sscanf(p + 2,
		      "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
		      ret) == 1;
}

/* Fills val[0] (auid), val[3] (ruid), val[4] (rgid), val[7] (pid version)
 * of the live process @pid. */
static bool audit_read_proc(pid_t pid, unsigned int *val)
{
	char buf[256];
	unsigned long long start;
	unsigned int auid, ruid, rgid;

	if (!audit_proc_line(pid, "loginuid", "", buf, sizeof(buf)) ||
	    sscanf(buf, "%u", &auid) != 1)
		return false;
	if (!audit_proc_line(pid, "status", "Uid:", buf, sizeof(buf)) ||
	    sscanf(buf, "%u", &ruid) != 1)
		return false;
	if (!audit_proc_line(pid, "status", "Gid:", buf, sizeof(buf)) ||
	    sscanf(buf, "%u", &rgid) != 1)
		return false;
	if (!audit_start_time(pid, &start))
		return false;
	val[0] = auid;
	val[3] = ruid;
	val[4] = rgid;
	val[7] = (unsigned int)start;
	return true;
}

void xpc_connection_get_audit_token(xpc_connection_t connection, audit_token_t *token)
{
	unsigned int val[8] = {0};
	pid_t pid;
	int pidfd;

	memset(token, 0, sizeof(*token));
	if (xpc_get_type(connection) != XPC_TYPE_CONNECTION ||
	    (pid = xpc_connection_get_pid(connection)) <= 0)
		return;
	val[1] = xpc_connection_get_euid(connection);
	val[2] = xpc_connection_get_egid(connection);
	val[5] = (unsigned int)pid;
	val[6] = (unsigned int)xpc_connection_get_asid(connection);
	pidfd = xpc_linux_connection_get_pidfd(connection);
	if (!audit_alive(pidfd) || !audit_read_proc(pid, val) || !audit_alive(pidfd)) {
		val[0] = val[3] = val[4] = (unsigned int)-1;
		val[7] = 0;
	}
	memcpy(token->val, val, sizeof(val));
}

void xpc_dictionary_get_audit_token(xpc_object_t xdict, audit_token_t *token)
{
	xpc_connection_t conn = NULL;

	if (xpc_get_type(xdict) == XPC_TYPE_DICTIONARY)
		conn = xpc_dictionary_get_remote_connection(xdict);
	if (conn)
		xpc_connection_get_audit_token(conn, token);
	else
		memset(token, 0, sizeof(*token));
}
