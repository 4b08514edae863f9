/* SPDX-License-Identifier: MIT */
/*
 * share.h - whom an accepted RemoteXPC connection counts as (share.c), for
 * the per-address and per-user shares of a port (serve.c).
 */
#ifndef XPC_REMOTE_SHARE_H
#define XPC_REMOTE_SHARE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* "ADDR:PORT" (IPv6: "[ADDR]:PORT") of @sa into @out ("?" if neither). */
void remote_format_address(const struct sockaddr_storage *sa, char *out, size_t size);

/*
 * remote_share_key() - the share the connection @fd from @sa counts
 * against: on loopback the local user at the other end (by uid: every
 * local user comes from 127.0.0.1 and may pick any 127.x source), else an
 * IPv4 address (also as ::ffff:a.b.c.d) or an IPv6 address's /64.  A
 * uid's key starts with 0xff, which no source address does (multicast).
 */
void remote_share_key(int fd, const struct sockaddr_storage *sa, uint8_t key[16]);

#endif
