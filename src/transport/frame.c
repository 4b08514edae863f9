/* SPDX-License-Identifier: MIT */
/*
 * frame.c - the frame, whatever transport carries it (frame.h): validation
 * of a received header against the packet it came in and of the frames
 * inside a BATCH (pure: no system calls, so it can be fuzzed), and a
 * received frame's buffers and the account its out-of-line body is
 * charged to (transport.h).
 *
 * Invariant: a header accepted here is consistent with the packet it came
 * in: inline bodies have exactly body_len bytes after the header, out-of-line
 * ones a header-only packet and at least the memfd as descriptor, check-ins
 * exactly one descriptor and no body, hellos nothing at all, refusals a
 * short inline text and nothing else, a ring's offer exactly one
 * descriptor, its acknowledgement and bell nothing, batches an
 * inline body of inner frames (frame_next_in_batch checks each of those as
 * a packet of its own without descriptors).
 */
#include "transport/transport.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <string.h>

static int frame_check_kind(const FrameHeader *h, size_t len, size_t n_fds)
{
	switch (h->kind) {
	case FRAME_MESSAGE:
		if (h->reply_to != 0)
			return TRANSPORT_E_MESSAGE_REPLY_TO;
		break;
	case FRAME_REPLY:
		if (h->reply_to == 0 || (h->flags & FRAME_F_WANTS_REPLY))
			return TRANSPORT_E_REPLY_WITHOUT_ID;
		break;
	case FRAME_CHECKIN:
		if (n_fds != 1 || h->body_len != 0 || h->flags || len != FRAME_HEADER_SIZE)
			return TRANSPORT_E_CHECKIN_SHAPE;
		return 0;
	case FRAME_HELLO:
		if (n_fds != 0 || h->body_len != 0 || h->flags || len != FRAME_HEADER_SIZE)
			return TRANSPORT_E_HELLO_SHAPE;
		return 0;
	case FRAME_REFUSED:
		if (n_fds != 0 || h->flags || h->id != 0 || h->reply_to != 0 || h->body_len == 0 ||
		    h->body_len > FRAME_MAX_REFUSAL || len != FRAME_HEADER_SIZE + h->body_len)
			return TRANSPORT_E_REFUSED_SHAPE;
		return 0;
	case FRAME_CHANNEL:
		if (n_fds != 1 || h->flags || h->id != 0 || h->reply_to != 0 || h->body_len != FRAME_CHANNEL_BODY ||
		    len != FRAME_HEADER_SIZE + FRAME_CHANNEL_BODY)
			return TRANSPORT_E_CHANNEL_SHAPE;
		return 0;
	case FRAME_RING_OFFER:
	case FRAME_RING_ACK:
	case FRAME_RING_BELL:
		if (n_fds != (h->kind == FRAME_RING_OFFER) || h->flags || h->id != 0 || h->reply_to != 0 ||
		    h->body_len != 0 || len != FRAME_HEADER_SIZE)
			return TRANSPORT_E_RING_SHAPE;
		return 0;
	case FRAME_BATCH:
		if (n_fds != 0 || h->flags || h->id != 0 || h->reply_to != 0 || h->body_len == 0 ||
		    h->body_len > FRAME_MAX_INLINE || len != FRAME_HEADER_SIZE + h->body_len)
			return TRANSPORT_E_BATCH_SHAPE;
		return 0;
	default:
		return TRANSPORT_E_KIND;
	}
	if (h->id == 0)
		return TRANSPORT_E_ID_ZERO;
	return 0;
}

static int frame_check_body(const FrameHeader *h, size_t len, size_t n_fds)
{
	if (h->body_len > FRAME_MAX_BODY)
		return TRANSPORT_E_MESSAGE_SIZE;
	if ((h->flags & FRAME_F_STAGED) && !(h->flags & FRAME_F_OOL))
		return TRANSPORT_E_STAGED_INLINE;
	if (h->flags & FRAME_F_OOL) {
		if (len != FRAME_HEADER_SIZE || n_fds < 1)
			return TRANSPORT_E_OOL_NO_MEMFD;
		if (h->body_len <= FRAME_MAX_INLINE)
			return TRANSPORT_E_OOL_SMALL;
		return 0;
	}
	if (h->body_len > FRAME_MAX_INLINE || len != FRAME_HEADER_SIZE + h->body_len)
		return TRANSPORT_E_BODY_LENGTH;
	return 0;
}

int frame_parse_header(const void *pkt, size_t len, size_t n_fds, FrameHeader *ret)
{
	FrameHeader h;
	int r;

	if (len < FRAME_HEADER_SIZE)
		return TRANSPORT_E_SHORT_HEADER;
	memcpy(&h, pkt, sizeof(h));
	if (h.magic != FRAME_MAGIC)
		return TRANSPORT_E_MAGIC;
	if (h.flags & ~FRAME_F_ALL)
		return TRANSPORT_E_FLAGS;
	if (h.n_fds != n_fds || n_fds > FRAME_MAX_FDS)
		return TRANSPORT_E_FD_COUNT;
	r = frame_check_kind(&h, len, n_fds);
	if (r != 0)
		return r;
	if (h.kind == FRAME_MESSAGE || h.kind == FRAME_REPLY) {
		r = frame_check_body(&h, len, n_fds);
		if (r != 0)
			return r;
	}
	*ret = h;
	return 0;
}

int frame_next_in_batch(const uint8_t *p, size_t left, FrameHeader *ret, size_t *ret_len)
{
	FrameHeader h;
	int r;

	if (left < FRAME_HEADER_SIZE)
		return TRANSPORT_E_BATCH_SHORT;
	memcpy(&h, p, sizeof(h));
	if (h.body_len > left - FRAME_HEADER_SIZE)
		return TRANSPORT_E_BATCH_OVERRUN;
	r = frame_parse_header(p, FRAME_HEADER_SIZE + h.body_len, 0, ret);
	if (r != 0)
		return r;
	if ((ret->kind != FRAME_MESSAGE && ret->kind != FRAME_REPLY) || (ret->flags & FRAME_F_OOL))
		return TRANSPORT_E_BATCH_KIND;
	*ret_len = FRAME_HEADER_SIZE + h.body_len;
	return 0;
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
	case FRAME_REFUSED:
		return "refused";
	case FRAME_CHANNEL:
		return "channel";
	case FRAME_RING_OFFER:
		return "ring-offer";
	case FRAME_RING_ACK:
		return "ring-ack";
	case FRAME_RING_BELL:
		return "ring-bell";
	default:
		return "?";
	}
}

/*
 * Received out-of-line bodies are charged, byte for byte, to the frame's
 * account (a link's, under the process's) from the moment the receiver
 * allocates the copy until the last object holding it is gone: a body of
 * holes costs its sender nothing, the receiver its whole length.
 */
static Charge transport_rx_total = CHARGE_ROOT(TRANSPORT_RX_PROCESS_MAX);
static pthread_once_t transport_rx_once = PTHREAD_ONCE_INIT;

static void transport_rx_init(void)
{
	const char *e = secure_getenv("XPC_RECEIVE_MEMORY_MAX");
	char *end = NULL;
	unsigned long long v = e && *e ? strtoull(e, &end, 10) : 0;

	if (end && *end == '\0' && v > 0)
		transport_rx_total.max = (size_t)v;
}

Charge *frame_rx_account(void)
{
	pthread_once(&transport_rx_once, transport_rx_init);
	return &transport_rx_total;
}

/*
 * The frame's packet buffer, ready to be written: objects decoded from the
 * last inline body may still point into the old one (they hold
 * references), so a shared buffer is left to them and a fresh one taken
 * (from the cache of released large buffers, buffer.c: two of them take
 * turns under a stream of large messages).  Never written while shared:
 * no decoded object ever sees its bytes change.
 */
uint8_t *frame_packet_buffer(TransportFrame *f)
{
	if (f->pkt && object_buffer_shared(f->pkt)) {
		object_buffer_release(f->pkt);
		f->pkt = NULL;
	}
	if (!f->pkt)
		f->pkt = object_buffer_new(FRAME_PACKET_MAX);
	return f->pkt ? object_buffer_bytes(f->pkt) : NULL;
}

void frame_clear(TransportFrame *f)
{
	for (size_t i = 0; i < f->n_fds; i++)
		if (f->fds[i] >= 0)
			close(f->fds[i]);
	f->n_fds = 0;
	object_buffer_release(f->ool);
	f->ool = NULL;
	f->body = NULL;
}

void frame_empty(TransportFrame *f)
{
	f->n_fds = 0;
	f->has_creds = false;
	f->ool = NULL;
	f->body = NULL;
}

/* What @from holds into @to (frame_swap's half; not the account nor
 * the view). */
static void frame_move_held(TransportFrame *to, const TransportFrame *from)
{
	to->hdr = from->hdr;
	to->body = from->body;
	memcpy(to->fds, from->fds, from->n_fds * sizeof(int));
	to->n_fds = from->n_fds;
	to->has_creds = from->has_creds;
	to->pid = from->pid;
	to->uid = from->uid;
	to->gid = from->gid;
	to->ool = from->ool;
	to->pkt = from->pkt;
}

void frame_swap(TransportFrame *a, TransportFrame *b)
{
	TransportFrame t;

	frame_move_held(&t, a);
	frame_move_held(a, b);
	frame_move_held(b, &t);
}

void frame_drop_view(TransportFrame *f)
{
	if (f->view.map)
		munmap((void *)f->view.map, f->view.size);
	f->view.map = NULL;
}

void frame_release(TransportFrame *f)
{
	frame_drop_view(f);
	object_buffer_release(f->pkt);
	f->pkt = NULL;
}
