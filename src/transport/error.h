/* SPDX-License-Identifier: MIT */
/*
 * error.h - the transport's outcomes: why a frame was refused or a link
 * ended, as positive codes beside 0 and negative errnos (the model of
 * src/wire/wire.h).  The text of each is made by transport_strerror(); a
 * limit's text names the limit only ("message size"), the caller puts it
 * in its own words ("limit exceeded: message size").  Codes never leave
 * the layer above the transport: the connection layer turns them into its
 * own (CONN_E_PROTOCOL, CONN_E_RECEIVE_LIMIT, CONN_E_PEER_EXITED).
 */
#ifndef XPC_TRANSPORT_ERROR_H
#define XPC_TRANSPORT_ERROR_H

#include <stdbool.h>

typedef enum {
	TRANSPORT_E_EOF = 1,          /* orderly end: the peer closed its side */
	/* limits (transport_error_is_limit) */
	TRANSPORT_E_NO_FDS_LEFT,      /* MSG_CTRUNC: this process has no descriptor left */
	TRANSPORT_E_TOO_MANY_FDS,     /* more than FRAME_MAX_FDS with one packet */
	TRANSPORT_E_MESSAGE_SIZE,     /* body_len over FRAME_MAX_BODY */
	TRANSPORT_E_RX_MEMORY,        /* the receiver's account for bodies is full */
	/* bad packets */
	TRANSPORT_E_EMPTY,
	TRANSPORT_E_TRUNCATED,        /* MSG_TRUNC: larger than an inline frame */
	TRANSPORT_E_SHORT_HEADER,
	TRANSPORT_E_MAGIC,
	TRANSPORT_E_FLAGS,
	TRANSPORT_E_FD_COUNT,
	TRANSPORT_E_KIND,
	TRANSPORT_E_ID_ZERO,
	TRANSPORT_E_MESSAGE_REPLY_TO,
	TRANSPORT_E_REPLY_WITHOUT_ID,
	TRANSPORT_E_CHECKIN_SHAPE,
	TRANSPORT_E_HELLO_SHAPE,
	TRANSPORT_E_REFUSED_SHAPE,
	TRANSPORT_E_BATCH_SHAPE,
	TRANSPORT_E_CHANNEL_SHAPE,
	TRANSPORT_E_RING_SHAPE,
	TRANSPORT_E_RING_OFFER,       /* an offered ring that is no sealed memfd of its size */
	TRANSPORT_E_RING,             /* the peer's ring: an entry out of bounds or out of order */
	TRANSPORT_E_BATCH_SHORT,
	TRANSPORT_E_BATCH_OVERRUN,
	TRANSPORT_E_BATCH_KIND,
	TRANSPORT_E_BODY_LENGTH,
	TRANSPORT_E_STAGED_INLINE,
	TRANSPORT_E_OOL_NO_MEMFD,
	TRANSPORT_E_OOL_SMALL,
	TRANSPORT_E_OOL_NOT_SEALED,
	TRANSPORT_E_OOL_SIZE,
	TRANSPORT_E_OOL_REFUSED,      /* an out-of-line body where none may come */
	TRANSPORT_E_OOL_UNREADABLE,
	/* check-ins (transport_checkin_verify) */
	TRANSPORT_E_CHECKIN_NO_CREDS,
	TRANSPORT_E_CHECKIN_NOT_LINK,  /* not an AF_UNIX SOCK_SEQPACKET socket */
	TRANSPORT_E_CHECKIN_LISTENING,
	TRANSPORT_E_CHECKIN_UNCONNECTED,
	TRANSPORT_E_CHECKIN_FOREIGN,   /* made by another process than the sender */
	TRANSPORT_E_MAX_
} TransportError;

/* The words for @e ("bad frame: magic", "message size", ...). */
const char *transport_strerror(int e);
/* Whether @e is a limit the peer went over (see the header). */
bool transport_error_is_limit(int e);

#endif
