/* SPDX-License-Identifier: MIT */
/*
 * share.c - whom an accepted RemoteXPC connection counts as, for the
 * shares of a port (serve.c): on loopback the local user at the other end
 * (the kernel's sock_diag says whose socket it is, as ss(8) shows), else
 * its IPv4 address or its IPv6 address's /64; and the "ADDR:PORT" text
 * that logs and XPC_LINUX_REMOTE_PEER_ADDRESS_KEY carry.
 */
#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "transport/remote/remote.h"
#include "transport/remote/share.h"

/* (share.h) */
void remote_format_address(const struct sockaddr_storage *sa, char *out, size_t size)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (sa->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
		snprintf(out, size, "%s:%u", host, port);
	} else if (sa->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
		snprintf(out, size, "[%s]:%u", host, port);
	} else {
		snprintf(out, size, "?");
	}
}

/* The uid owning the other end of the loopback connection @fd from @peer,
 * as the kernel's sock_diag says (what ss(8) shows): the socket whose
 * source is @peer and whose destination is our end.  Return: the uid, or
 * -1 (not loopback, already gone). */
static long share_loopback_uid(int fd, const struct sockaddr_storage *peer)
{
	struct {
		struct nlmsghdr nh;
		struct inet_diag_req_v2 r;
	} req = {.nh = {.nlmsg_len = sizeof(req), .nlmsg_type = SOCK_DIAG_BY_FAMILY, .nlmsg_flags = NLM_F_REQUEST},
		 .r = {.sdiag_family = (uint8_t)peer->ss_family, .sdiag_protocol = IPPROTO_TCP, .idiag_states = ~0u,
		       .id.idiag_cookie = {INET_DIAG_NOCOOKIE, INET_DIAG_NOCOOKIE}}};
	union {
		struct nlmsghdr nh;
		char buf[512];
	} ans;
	struct sockaddr_nl nl = {.nl_family = AF_NETLINK};
	struct sockaddr_storage self;
	struct timeval tv = {.tv_sec = 1};
	socklen_t len = sizeof(self);
	ssize_t n = -1;
	long uid = -1;
	int nfd;

	if (!remote_net_is_loopback((const struct sockaddr *)peer) || getsockname(fd, (struct sockaddr *)&self, &len) < 0 ||
	    self.ss_family != peer->ss_family)
		return -1;
	if (peer->ss_family == AF_INET) {
		req.r.id.idiag_sport = ((const struct sockaddr_in *)peer)->sin_port;
		req.r.id.idiag_dport = ((struct sockaddr_in *)&self)->sin_port;
		memcpy(req.r.id.idiag_src, &((const struct sockaddr_in *)peer)->sin_addr, 4);
		memcpy(req.r.id.idiag_dst, &((struct sockaddr_in *)&self)->sin_addr, 4);
	} else {
		req.r.id.idiag_sport = ((const struct sockaddr_in6 *)peer)->sin6_port;
		req.r.id.idiag_dport = ((struct sockaddr_in6 *)&self)->sin6_port;
		memcpy(req.r.id.idiag_src, &((const struct sockaddr_in6 *)peer)->sin6_addr, 16);
		memcpy(req.r.id.idiag_dst, &((struct sockaddr_in6 *)&self)->sin6_addr, 16);
	}
	nfd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (nfd < 0)
		return -1;
	setsockopt(nfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (sendto(nfd, &req, sizeof(req), 0, (struct sockaddr *)&nl, sizeof(nl)) == (ssize_t)sizeof(req))
		n = recv(nfd, &ans, sizeof(ans), 0);
	if (n > 0 && NLMSG_OK(&ans.nh, (size_t)n) && ans.nh.nlmsg_type == SOCK_DIAG_BY_FAMILY &&
	    ans.nh.nlmsg_len >= NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
		uid = ((const struct inet_diag_msg *)NLMSG_DATA(&ans.nh))->idiag_uid;
	close(nfd);
	return uid;
}

/* (share.h) */
void remote_share_key(int fd, const struct sockaddr_storage *sa, uint8_t key[16])
{
	long uid = share_loopback_uid(fd, sa);

	memset(key, 0, 16);
	if (uid >= 0) {
		uint32_t u = (uint32_t)uid;

		key[0] = 0xff;
		memcpy(key + 12, &u, 4);
	} else if (sa->ss_family == AF_INET) {
		memcpy(key + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a))
			memcpy(key + 12, a->s6_addr + 12, 4);
		else
			memcpy(key, a->s6_addr, 8);
	}
}
