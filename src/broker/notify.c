/* SPDX-License-Identifier: MIT */
/*
 * notify.c - the two sides of xpcd's contract with systemd, written out
 * (the protocols of sd_notify(3) and sd_listen_fds(3), stable and
 * documented) rather than taken from libsystemd, which the broker does not
 * otherwise need:
 *
 *   readiness  a datagram "READY=1" to the AF_UNIX socket $NOTIFY_SOCKET
 *              names (a path, or "@name" in the abstract namespace) once
 *              the broker listens (Type=notify units), "RELOADING=1" /
 *              "READY=1" around a rescan, "STOPPING=1" at SIGTERM
 *   activation the listening socket at descriptor 3 when $LISTEN_PID is
 *              this process and $LISTEN_FDS is 1 (xpcd.socket units)
 *
 * A leaf: it calls nothing else of the broker.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "broker/notify.h"

int notify_send(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len = path ? strlen(path) : 0;
	socklen_t salen;
	ssize_t n;
	int fd;

	if (!path || !*path)
		return 0;
	if ((path[0] != '/' && path[0] != '@') || len >= sizeof(sa.sun_path)) {
		errno = EINVAL;
		return -1;
	}
	memcpy(sa.sun_path, path, len);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (path[0] == '/'));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	n = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, salen);
	close(fd);
	return n < 0 ? -1 : 1;
}

/* True when @fd is a listening AF_UNIX SOCK_SEQPACKET socket. */
static int is_broker_socket(int fd)
{
	int type = 0, listening = 0;
	struct sockaddr_un sa;
	socklen_t len = sizeof(type), llen = sizeof(listening), salen = sizeof(sa);

	return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_SEQPACKET &&
	       getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &llen) == 0 && listening &&
	       getsockname(fd, (struct sockaddr *)&sa, &salen) == 0 && sa.sun_family == AF_UNIX;
}

int notify_listen_fd(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	char *end = NULL, n[32];
	long p = pid ? strtol(pid, &end, 10) : 0;

	if (!pid || !fds || !end || *end || p != (long)getpid())
		return -1;
	snprintf(n, sizeof(n), "%s", fds);
	fds = n;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (strcmp(fds, "1") != 0 || !is_broker_socket(3)) {
		fprintf(stderr, "xpcd: socket activation: expected one listening AF_UNIX SOCK_SEQPACKET socket "
				"(LISTEN_FDS=%s): refused\n", fds);
		return -2;
	}
	if (fcntl(3, F_SETFD, FD_CLOEXEC) < 0 || fcntl(3, F_SETFL, fcntl(3, F_GETFL) | O_NONBLOCK) < 0)
		return -2;
	return 3;
}
