/*
 * frame.c - validation of frame headers (see frame.h).
 *
 * Invariant: a header accepted here is consistent with the packet it came
 * in: inline bodies have exactly body_len bytes after the header, out-of-line
 * ones a header-only packet and at least the memfd as descriptor, check-ins
 * exactly one descriptor and no body, hellos nothing at all, batches an
 * inline body of inner frames (frame_next_in_batch checks each of those as
 * a packet of its own without descriptors).
 */
#include "transport/frame.h"

#include <errno.h>
#include <string.h>

static int frame_fail(const char **ret_reason, const char *why)
{
	*ret_reason = why;
	return -EPROTO;
}

static int frame_check_kind(const FrameHeader *h, size_t len, size_t n_fds, const char **ret_reason)
{
	switch (h->kind) {
	case FRAME_MESSAGE:
		if (h->reply_to != 0)
			return frame_fail(ret_reason, "bad frame: message with reply_to");
		break;
	case FRAME_REPLY:
		if (h->reply_to == 0 || (h->flags & FRAME_F_WANTS_REPLY))
			return frame_fail(ret_reason, "bad frame: reply without reply_to");
		break;
	case FRAME_CHECKIN:
		if (n_fds != 1 || h->body_len != 0 || h->flags || len != FRAME_HEADER_SIZE)
			return frame_fail(ret_reason, "bad frame: check-in must carry one descriptor");
		return 0;
	case FRAME_HELLO:
		if (n_fds != 0 || h->body_len != 0 || h->flags || len != FRAME_HEADER_SIZE)
			return frame_fail(ret_reason, "bad frame: hello carries nothing");
		return 0;
	case FRAME_BATCH:
		if (n_fds != 0 || h->flags || h->id != 0 || h->reply_to != 0 || h->body_len == 0 ||
		    h->body_len > FRAME_MAX_INLINE || len != FRAME_HEADER_SIZE + h->body_len)
			return frame_fail(ret_reason, "bad frame: batch must be inline frames only");
		return 0;
	default:
		return frame_fail(ret_reason, "bad frame: unknown kind");
	}
	if (h->id == 0)
		return frame_fail(ret_reason, "bad frame: id 0");
	return 0;
}

static int frame_check_body(const FrameHeader *h, size_t len, size_t n_fds, const char **ret_reason)
{
	if (h->body_len > FRAME_MAX_BODY)
		return frame_fail(ret_reason, "limit exceeded: message size");
	if ((h->flags & FRAME_F_STAGED) && !(h->flags & FRAME_F_OOL))
		return frame_fail(ret_reason, "bad frame: staged body not out of line");
	if (h->flags & FRAME_F_OOL) {
		if (len != FRAME_HEADER_SIZE || n_fds < 1)
			return frame_fail(ret_reason, "bad frame: out-of-line body without memfd");
		if (h->body_len <= FRAME_MAX_INLINE)
			return frame_fail(ret_reason, "bad frame: small body out of line");
		return 0;
	}
	if (h->body_len > FRAME_MAX_INLINE || len != FRAME_HEADER_SIZE + h->body_len)
		return frame_fail(ret_reason, "bad frame: body length disagrees with packet");
	return 0;
}

int frame_parse_header(const void *pkt, size_t len, size_t n_fds, FrameHeader *ret, const char **ret_reason)
{
	FrameHeader h;
	int r;

	if (len < FRAME_HEADER_SIZE)
		return frame_fail(ret_reason, "bad frame: short header");
	memcpy(&h, pkt, sizeof(h));
	if (h.magic != FRAME_MAGIC)
		return frame_fail(ret_reason, "bad frame: magic");
	if (h.flags & ~FRAME_F_ALL)
		return frame_fail(ret_reason, "bad frame: unknown flags");
	if (h.n_fds != n_fds || n_fds > FRAME_MAX_FDS)
		return frame_fail(ret_reason, "bad frame: descriptor count disagrees");
	r = frame_check_kind(&h, len, n_fds, ret_reason);
	if (r < 0)
		return r;
	if (h.kind == FRAME_MESSAGE || h.kind == FRAME_REPLY) {
		r = frame_check_body(&h, len, n_fds, ret_reason);
		if (r < 0)
			return r;
	}
	*ret = h;
	return 0;
}

long frame_next_in_batch(const uint8_t *p, size_t left, FrameHeader *ret, const char **ret_reason)
{
	FrameHeader h;

	if (left < FRAME_HEADER_SIZE)
		return frame_fail(ret_reason, "bad frame: batch: short header");
	memcpy(&h, p, sizeof(h));
	if (h.body_len > left - FRAME_HEADER_SIZE)
		return frame_fail(ret_reason, "bad frame: batch: frame runs past the batch");
	if (frame_parse_header(p, FRAME_HEADER_SIZE + h.body_len, 0, ret, ret_reason) < 0)
		return -EPROTO;
	if ((ret->kind != FRAME_MESSAGE && ret->kind != FRAME_REPLY) || (ret->flags & FRAME_F_OOL))
		return frame_fail(ret_reason, "bad frame: batch: only inline messages and replies");
	return (long)(FRAME_HEADER_SIZE + h.body_len);
}

const char *frame_kind_name(unsigned kind)
{
	switch (kind) {
	case FRAME_MESSAGE:
		return "message";
	case FRAME_REPLY:
		return "reply";
	case FRAME_CHECKIN:
		return "check-in";
	case FRAME_HELLO:
		return "hello";
	case FRAME_BATCH:
		return "batch";
	default:
		return "?";
	}
}
