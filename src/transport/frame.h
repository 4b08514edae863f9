/* SPDX-License-Identifier: MIT */
/*
 * frame.h - the frame: what one SOCK_SEQPACKET message carries
 * (docs/transport.md).
 *
 * A frame is a fixed 32-byte header followed, for an inline body, by exactly
 * body_len bytes of object encoding (src/wire).  A body larger than
 * FRAME_MAX_INLINE travels out of line: the packet is the header alone and
 * the last descriptor is a sealed memfd holding the body.  Descriptors of
 * the body travel with SCM_RIGHTS in order of appearance.
 *
 * frame_parse_header() is pure (no syscalls) so it can be fuzzed; it checks
 * every field against the packet it came in and the limits below.
 */
#ifndef XPC_TRANSPORT_FRAME_H
#define XPC_TRANSPORT_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "transport/error.h"

#define FRAME_MAGIC 0x46435058u /* "XPCF" */
#define FRAME_HEADER_SIZE 32u
#define FRAME_MAX_INLINE (80u * 1024u)         /* larger bodies go out of line; a 64 KiB
						 * payload plus its message fits */
#define FRAME_MAX_BODY (256u * 1024u * 1024u)  /* limit: message size */
#define FRAME_MAX_FDS 253u                     /* limit: SCM_MAX_FD */

enum {
	FRAME_MESSAGE = 1, /* a message; flag WANTS_REPLY if sent with reply */
	FRAME_REPLY = 2,   /* a reply; reply_to = id of the request */
	FRAME_CHECKIN = 3, /* on a listener's W: one descriptor, the new link */
	FRAME_HELLO = 4,   /* first frame of a listener's peer: credentials */
	FRAME_BATCH = 5,   /* inline body = several MESSAGE/REPLY frames in a row
			    * (header + body each, no descriptors, inline):
			    * a sender's queued frames flushed in one packet */
	FRAME_REFUSED = 6, /* on a new link instead of HELLO: the check-in is
			    * refused; inline body = the reason (text, no NUL,
			    * 1..FRAME_MAX_REFUSAL bytes), xpcd's for a service
			    * that cannot start (docs/broker.md) */
	FRAME_CHANNEL = 7, /* on a listener's R, from root or the listener's
			    * own user: one descriptor, the R of another
			    * channel of the same listener, for one user's
			    * check-ins; inline body = that uid (4 bytes,
			    * little endian; docs/security.md, "Per-user
			    * channels") */
	/* The shared ring between two peers that both opt in
	 * (src/transport/ring/, docs/transport.md "Shared rings"): */
	FRAME_RING_OFFER = 8, /* one descriptor: the sender's ring, a sealed
			       * memfd of RING_MAP_SIZE bytes; nothing else */
	FRAME_RING_ACK = 9,   /* the receiver of an offer mapped that ring:
			       * its sender may write frames into it */
	FRAME_RING_BELL = 10, /* a frame is in the sender's ring, and the
			       * receiver said it waits on the socket */
};

#define FRAME_CHANNEL_BODY 4u

/* Whether @kind is one of a shared ring's control frames (offer,
 * acknowledgement, bell), which never reach the connection layer. */
static inline int frame_kind_ring_control(unsigned kind)
{
	return kind >= FRAME_RING_OFFER && kind <= FRAME_RING_BELL;
}

#define FRAME_MAX_REFUSAL 240u

enum {
	FRAME_F_WANTS_REPLY = 0x1,
	FRAME_F_OOL = 0x2, /* body in the last descriptor (sealed memfd) */
	FRAME_F_STAGED = 0x4, /* with OOL: that memfd is the sender's stage
			       * (transport.h): body at TRANSPORT_STAGE_HDR,
			       * copy it, then mark the stage read */
	FRAME_F_ALL = 0x7,
};

typedef struct FrameHeader {
	uint32_t magic;
	uint8_t kind;
	uint8_t flags;
	uint16_t n_fds;    /* descriptors with the packet, the OOL memfd included */
	uint64_t id;       /* sender's id of this frame, never 0 for messages */
	uint64_t reply_to; /* REPLY: id of the request; else 0 */
	uint64_t body_len; /* bytes of the body, inline or out of line */
} FrameHeader;

_Static_assert(sizeof(FrameHeader) == FRAME_HEADER_SIZE, "frame header layout");

/*
 * frame_parse_header() - validate a received packet's header.
 * @pkt, @len:  the packet as received (header and inline body)
 * @n_fds:      descriptors that arrived with it
 * @ret:        set on success
 * Return: 0, or the TRANSPORT_E_* naming what is wrong.
 */
int frame_parse_header(const void *pkt, size_t len, size_t n_fds, FrameHeader *ret);

/*
 * frame_next_in_batch() - the next inner frame of a BATCH body.
 * @p, @left: the rest of the batch body
 * @ret:      its header (MESSAGE or REPLY, inline, no descriptors)
 * @ret_len:  bytes it takes (header + body)
 * Return: 0, or the TRANSPORT_E_* naming what is wrong.
 */
int frame_next_in_batch(const uint8_t *p, size_t left, FrameHeader *ret, size_t *ret_len);

/* Name of a frame kind for tracing ("message", ...; "?" if unknown). */
const char *frame_kind_name(unsigned kind);

#endif
