/* SPDX-License-Identifier: MIT */
/*
 * remote-export.h - xpcd's RemoteXPC export (remote-export.c): the
 * MachServices names of the jobs with XPCDRemoteExport, served to other
 * hosts by an xpc-remoted child that xpcd starts and supervises.
 */
#ifndef XPC_BROKER_REMOTE_EXPORT_H
#define XPC_BROKER_REMOTE_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* xpcd's --remote-* options (pointers kept: they are argv's). */
typedef struct RemoteExportConfig {
	const char *address; /* numeric; default 127.0.0.1 */
	unsigned port;       /* the discovery port; default 58783 */
	const char *tls;     /* a TLS configuration file (xpc-remoted --tls), or NULL */
	const char *user;    /* the account remote peers are seen as, or NULL (nobody) */
	const char *daemon;  /* the xpc-remoted program, or NULL (the installed one) */
	const char *socket;  /* this broker's socket: the child's XPCD_SOCKET */
	const struct Registry *registry; /* the jobs whose names may be exported */
} RemoteExportConfig;

/*
 * remote_export_configure() - check and keep @c, before the jobs load.
 * An address beyond loopback without TLS is refused, as is a TLS file
 * that does not load (its mutual authentication is incomplete).
 * Return: 0, or -1 with @err.
 */
int remote_export_configure(const RemoteExportConfig *c, char *err, size_t errlen);
/* The broker listens: start serving the exported names (if any). */
void remote_export_start(void);
/* Jobs were loaded, unloaded, enabled or disabled: the exported names may
 * have changed (main queue; the check runs once per burst). */
void remote_export_changed(void);
/* SIGCHLD for @pid: true when it was the xpc-remoted child (reaped). */
bool remote_export_reaped(pid_t pid, int status);

#endif
