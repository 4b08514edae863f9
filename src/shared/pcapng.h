/* SPDX-License-Identifier: MIT */
/*
 * pcapng.h - a minimal pcapng writer (the format Wireshark and tshark open,
 * draft-ietf-opsawg-pcapng): one section header and one interface per
 * writer, then one Enhanced Packet Block per packet, each block written
 * with a single write() to a file opened O_APPEND.  Several processes may
 * therefore append to one file: each adds a section of its own (pcapng
 * allows any number), and their blocks never interleave inside a block.
 *
 * XPC frames use the link type LINKTYPE_USER0 (147, "reserved for private
 * use"); tools/wireshark/xpc.lua dissects it.  Timestamps are in
 * nanoseconds (if_tsresol 9), CLOCK_REALTIME.
 */
#ifndef XPC_SHARED_PCAPNG_H
#define XPC_SHARED_PCAPNG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define PCAPNG_LINKTYPE_XPC 147u /* LINKTYPE_USER0 */
#define PCAPNG_SNAPLEN (256u * 1024u) /* bytes kept of one packet */

/* epb_flags: the packet's direction */
#define PCAPNG_INBOUND 1u
#define PCAPNG_OUTBOUND 2u

/*
 * pcapng_open() - opens @path for appending (created 0600, close-on-exec,
 * no symlink followed; an existing file must be a regular file owned by
 * this process's euid) and writes a section header naming @app and one
 * interface of @linktype.
 * Return: the descriptor (the caller owns it), or a negative errno
 * (-EPERM: a file of another user; -EINVAL: not a regular file).
 */
int pcapng_open(const char *path, uint16_t linktype, const char *app);

/*
 * pcapng_write() - one packet: the bytes of @iov (at most PCAPNG_SNAPLEN
 * of them are kept), @orig_len its length on the wire, @flags a
 * direction, @comment (may be NULL) shown beside it.
 * Return: 0, or a negative errno (the file is left as it was, or short
 * of its last block if the disk filled).
 */
int pcapng_write(int fd, uint64_t ts_ns, uint32_t flags, const char *comment, const struct iovec *iov, size_t n_iov,
		 size_t orig_len);

/* pcapng_now() - CLOCK_REALTIME in nanoseconds. */
uint64_t pcapng_now(void);

#endif
