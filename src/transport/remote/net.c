/* SPDX-License-Identifier: MIT */
/*
 * net.c - the TCP sockets of the remote layer.
 *
 * Every socket is non-blocking and close-on-exec, with TCP_NODELAY (the
 * protocol is request/reply: Nagle would hold each small message back).
 * Listening is limited to loopback addresses unless the caller runs TLS:
 * the cleartext transport has no authentication of its own
 * (docs/remote.md, "Security").
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "transport/remote/remote.h"
#include "shared/fdutil.h"

static void net_nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* Waits for a non-blocking connect() on @fd; 0 or a negative errno. */
static int net_wait_connected(int fd, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	int err = 0, n;
	socklen_t len = sizeof(err);

	do
		n = poll(&p, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return -ETIMEDOUT;
	if (n < 0)
		return -errno;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return -errno;
	return err ? -err : 0;
}

static int net_connect_one(const struct addrinfo *ai, int timeout_ms)
{
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), err = 0;

	if (fd < 0)
		return -errno;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0)
		err = errno == EINPROGRESS ? net_wait_connected(fd, timeout_ms) : -errno;
	if (err) {
		fd_close(fd);
		return err;
	}
	net_nodelay(fd);
	return fd;
}

int remote_net_connect(const char *host, uint16_t port, int timeout_ms)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *res, *ai;
	char serv[8];
	int fd = -EHOSTUNREACH;

	snprintf(serv, sizeof(serv), "%u", port);
	if (!host || getaddrinfo(host, serv, &hints, &res) != 0)
		return -EHOSTUNREACH;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = net_connect_one(ai, timeout_ms);
		if (fd >= 0)
			break;
	}
	freeaddrinfo(res);
	return fd;
}

static int net_listen_on(const struct addrinfo *ai, uint16_t *ret_port)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 64) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		int err = -errno;

		fd_close(fd);
		return err;
	}
	*ret_port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
						    : ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

int remote_net_listen(const char *addr, uint16_t port, bool any_address, uint16_t *ret_port)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE};
	struct addrinfo *res;
	char serv[8];
	int fd;

	snprintf(serv, sizeof(serv), "%u", port);
	if (getaddrinfo(addr, serv, &hints, &res) != 0)
		return -EINVAL;
	if (!any_address && !remote_net_is_loopback(res->ai_addr))
		fd = -EPERM;
	else
		fd = net_listen_on(res, ret_port);
	freeaddrinfo(res);
	return fd;
}
