/* SPDX-License-Identifier: MIT */
/*
 * loopback.c - whether an address is a loopback one: for net.c's listen
 * check, and the private API's _xpc_linux_remote_address_is_loopback()
 * (xpc-private.h), which xpcd calls at every start.  Compiled into the
 * remote layer and, apart, into libxpc.so's loader (load.c), so that this
 * check alone never loads the RemoteXPC module (module.h).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "private/xpc-private.h"
#include "transport/remote/remote.h"

bool remote_net_is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		if (IN6_IS_ADDR_LOOPBACK(a))
			return true;
		return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
	}
	return false;
}

bool _xpc_linux_remote_address_is_loopback(const char *addr)
{
	struct sockaddr_in in = {.sin_family = AF_INET};
	struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};

	if (inet_pton(AF_INET, addr, &in.sin_addr) == 1)
		return remote_net_is_loopback((struct sockaddr *)&in);
	if (inet_pton(AF_INET6, addr, &in6.sin6_addr) == 1)
		return remote_net_is_loopback((struct sockaddr *)&in6);
	return false;
}
