/* SPDX-License-Identifier: MIT */
/*
 * error.c - the words for the transport's outcomes (error.h).
 */
#include "transport/error.h"

#include <stddef.h>

static const char *const transport_texts[TRANSPORT_E_MAX_] = {
	[TRANSPORT_E_EOF] = "end of link",
	[TRANSPORT_E_NO_FDS_LEFT] = "descriptors (none left in the receiving process; MSG_CTRUNC)",
	[TRANSPORT_E_TOO_MANY_FDS] = "descriptors per message",
	[TRANSPORT_E_MESSAGE_SIZE] = "message size",
	[TRANSPORT_E_RX_MEMORY] = "memory for received messages",
	[TRANSPORT_E_EMPTY] = "bad frame: empty packet",
	[TRANSPORT_E_TRUNCATED] = "bad frame: packet larger than the inline limit",
	[TRANSPORT_E_SHORT_HEADER] = "bad frame: short header",
	[TRANSPORT_E_MAGIC] = "bad frame: magic",
	[TRANSPORT_E_FLAGS] = "bad frame: unknown flags",
	[TRANSPORT_E_FD_COUNT] = "bad frame: descriptor count disagrees",
	[TRANSPORT_E_KIND] = "bad frame: unknown kind",
	[TRANSPORT_E_ID_ZERO] = "bad frame: id 0",
	[TRANSPORT_E_MESSAGE_REPLY_TO] = "bad frame: message with reply_to",
	[TRANSPORT_E_REPLY_WITHOUT_ID] = "bad frame: reply without reply_to",
	[TRANSPORT_E_CHECKIN_SHAPE] = "bad frame: check-in must carry one descriptor",
	[TRANSPORT_E_HELLO_SHAPE] = "bad frame: hello carries nothing",
	[TRANSPORT_E_REFUSED_SHAPE] = "bad frame: refusal must be a short inline text only",
	[TRANSPORT_E_BATCH_SHAPE] = "bad frame: batch must be inline frames only",
	[TRANSPORT_E_CHANNEL_SHAPE] = "bad frame: channel must carry one descriptor and a uid",
	[TRANSPORT_E_RING_SHAPE] = "bad frame: ring offer must carry one descriptor, its answers nothing",
	[TRANSPORT_E_RING_OFFER] = "bad frame: offered ring is not a sealed memfd of the ring's size",
	[TRANSPORT_E_RING] = "bad ring: entry out of bounds or out of order",
	[TRANSPORT_E_BATCH_SHORT] = "bad frame: batch: short header",
	[TRANSPORT_E_BATCH_OVERRUN] = "bad frame: batch: frame runs past the batch",
	[TRANSPORT_E_BATCH_KIND] = "bad frame: batch: only inline messages and replies",
	[TRANSPORT_E_BODY_LENGTH] = "bad frame: body length disagrees with packet",
	[TRANSPORT_E_STAGED_INLINE] = "bad frame: staged body not out of line",
	[TRANSPORT_E_OOL_NO_MEMFD] = "bad frame: out-of-line body without memfd",
	[TRANSPORT_E_OOL_SMALL] = "bad frame: small body out of line",
	[TRANSPORT_E_OOL_NOT_SEALED] = "bad frame: out-of-line body not sealed",
	[TRANSPORT_E_OOL_SIZE] = "bad frame: out-of-line body size disagrees",
	[TRANSPORT_E_OOL_REFUSED] = "bad frame: out-of-line body where none may come",
	[TRANSPORT_E_OOL_UNREADABLE] = "bad frame: out-of-line body unreadable",
	[TRANSPORT_E_CHECKIN_NO_CREDS] = "check-in without credentials",
	[TRANSPORT_E_CHECKIN_NOT_LINK] = "check-in carries no AF_UNIX SOCK_SEQPACKET socket",
	[TRANSPORT_E_CHECKIN_LISTENING] = "check-in carries a listening socket",
	[TRANSPORT_E_CHECKIN_UNCONNECTED] = "check-in carries an unconnected socket",
	[TRANSPORT_E_CHECKIN_FOREIGN] = "check-in carries a socket made by another process",
};

const char *transport_strerror(int e)
{
	if (e <= 0 || e >= TRANSPORT_E_MAX_ || !transport_texts[e])
		return "unknown transport error";
	return transport_texts[e];
}

bool transport_error_is_limit(int e)
{
	return e == TRANSPORT_E_NO_FDS_LEFT || e == TRANSPORT_E_TOO_MANY_FDS || e == TRANSPORT_E_MESSAGE_SIZE ||
	       e == TRANSPORT_E_RX_MEMORY;
}
