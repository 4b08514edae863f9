/* SPDX-License-Identifier: MIT */
/*
 * send.c - the send path (c->tx): encoding, the out-queue with its
 * barriers, coalescing, flushing.
 *
 * Sending: a message is encoded outside the lock (send_job_init), then,
 * under the lock, it either goes straight to the socket (nothing queued
 * before it, link up) or joins the out-queue with its descriptors
 * duplicated (the caller may release the message at once).  The queue
 * drains when the socket becomes writable and on activation; this file
 * only says how far it got (SendProgress): the write source and every
 * change of state are connection.c's.  Barriers are out-queue entries
 * that, once reached, run on the handler queue.
 *
 * The out-queue is bounded (max_unsent bytes, max_unsent_fds descriptors):
 * a send that finds it at a limit returns CONN_E_UNSENT and the link is
 * cut, so a peer that sends requests and never reads the replies cannot
 * grow its server without bound.  One message always fits (the check is
 * made before it is added).
 *
 * A frame the socket refused for lack of a resource (ENOBUFS, ENOMEM, no
 * descriptor for an out-of-line body ...) would leave its request without
 * an answer or its message (a reply, say) silently lost: the link ends
 * instead (CONN_E_NO_MEMORY, CONN_E_DESCRIPTORS), and every pending reply
 * gets INVALID.  A frame that cannot be sent at all (over a limit: E2BIG
 * ...) is dropped alone and its request gets INVALID.  A broken link
 * (send_link_error): the reader sees the end.
 */
#include "connection/internal.h"
#include "dispatch/dqueue.h"
#include "shared/assert.h"
#include "shared/clock.h"

#include <Block.h>
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct OutItem {
	OutItem *next;
	bool barrier;
	FrameHeader hdr;
	WireBuffer body; /* kept (its referenced objects retained); empty with an ool_fd */
	size_t body_len;
	int ool_fd;      /* out-of-line body (owned), or -1 */
	int *fds;
	size_t n_fds;
	char *trace;     /* the message's description (XPC_TRACE), or NULL */
	dispatch_block_t barrier_block;
	dispatch_function_t barrier_fn;
	void *barrier_ctx;
	DispatchItem item; /* queuing the barrier cannot fail */
};

/*
 * Coalescing of one-way messages.  Once SEND_COALESCE_AFTER plain messages
 * (no reply wanted, not a reply, inline, no descriptors) in a row were sent
 * less than SEND_COALESCE_NS apart, the next ones are queued instead of
 * sent: a flush on the ioq (scheduled once, connection.c) or the sender
 * itself, once SEND_FLUSH_BYTES are queued, sends the queue as BATCH
 * packets.  A stream of notifications then costs one sendmsg and one
 * recvmsg per ~80 KiB instead of one per message; a few messages still
 * leave at once, requests and replies never wait (they flush what is
 * queued before them), and cancel flushes what is queued.  As on macOS,
 * sending is asynchronous: a program that streams messages and exits at
 * once sends a barrier or a synchronous request last.
 */
#define SEND_COALESCE_NS 10000
#define SEND_COALESCE_AFTER 8
#define SEND_FLUSH_BYTES (FRAME_MAX_INLINE / 2)

/* True for a send error that means the link is gone (the reader will see
 * its end), false for one that only this frame failed. */
static bool send_link_error(int r)
{
	return r == -EPIPE || r == -ECONNRESET || r == -ENOTCONN || r == -ECONNREFUSED;
}

static void out_free(OutItem *o)
{
	for (size_t i = 0; i < o->n_fds; i++)
		close(o->fds[i]);
	if (o->ool_fd >= 0)
		close(o->ool_fd);
	free(o->fds);
	free(o->trace);
	wire_buffer_free(&o->body);
	free(o);
}

static void out_barrier_run(void *ctx)
{
	OutItem *o = ctx;

	if (o->barrier_block) {
		o->barrier_block();
		Block_release(o->barrier_block);
	} else if (o->barrier_fn) {
		o->barrier_fn(o->barrier_ctx);
	}
	free(o);
}

static OutItem *out_pop_locked(xpc_connection_t c)
{
	OutItem *o = c->tx.head;

	lock_assert_held(&c->lock);
	xpc_assert(o && c->tx.unsent >= sizeof(*o) + o->body_len && c->tx.unsent_fds >= o->n_fds);
	c->tx.head = o->next;
	if (!c->tx.head)
		c->tx.tail = NULL;
	c->tx.unsent -= sizeof(*o) + o->body_len;
	c->tx.unsent_fds -= o->n_fds;
	c->tx.bytes -= o->barrier ? 0 : FRAME_HEADER_SIZE + o->body.len + o->body.ref_bytes;
	return o;
}

static void out_push_locked(xpc_connection_t c, OutItem *o)
{
	lock_assert_held(&c->lock);
	o->next = NULL;
	c->tx.unsent += sizeof(*o) + o->body_len;
	c->tx.unsent_fds += o->n_fds;
	if (c->tx.tail)
		c->tx.tail->next = o;
	else
		c->tx.head = o;
	c->tx.tail = o;
	c->tx.bytes += o->barrier ? 0 : FRAME_HEADER_SIZE + o->body.len + o->body.ref_bytes;
}

void send_discard_locked(xpc_connection_t c)
{
	lock_assert_held(&c->lock);
	while (c->tx.head) {
		OutItem *o = out_pop_locked(c);
		if (o->barrier)
			dqueue_push_embedded(c->queue, &o->item, out_barrier_run, o);
		else
			out_free(o);
	}
}

/* The outcome of a frame that did not leave (see the header): the link
 * ends (returned), or the frame's own request gets INVALID. */
static ConnError send_error_locked(xpc_connection_t c, const FrameHeader *h, int r)
{
	Pending *p;

	lock_assert_held(&c->lock);
	if (r >= 0 || r == -EAGAIN || send_link_error(r))
		return CONN_OK;
	if (r == -ENOMEM || r == -ENOBUFS)
		return CONN_E_NO_MEMORY;
	if (r == -EMFILE || r == -ENFILE)
		return CONN_E_DESCRIPTORS;
	p = (h->flags & FRAME_F_WANTS_REPLY) ? pending_take_locked(c, h->id) : NULL;
	if (p)
		pending_answer(p, XPC_ERROR_CONNECTION_INVALID);
	return CONN_OK;
}

/* A frame that can travel inside a BATCH: inline, without descriptors. */
static bool out_batchable(const OutItem *o)
{
	return !o->barrier && o->ool_fd < 0 && o->n_fds == 0 && o->body_len <= FRAME_MAX_INLINE - 2 * FRAME_HEADER_SIZE;
}

/* The batchable frames at the head of the out-queue, as many as one BATCH
 * packet takes: their number and *ret_total bytes. */
static size_t send_batch_count_locked(xpc_connection_t c, size_t *ret_total)
{
	size_t total = 0, n = 0;

	lock_assert_held(&c->lock);
	for (OutItem *o = c->tx.head; o && out_batchable(o); o = o->next) {
		if (total + FRAME_HEADER_SIZE + o->body_len > FRAME_MAX_INLINE)
			break;
		total += FRAME_HEADER_SIZE + o->body_len;
		n++;
	}
	*ret_total = total;
	return n;
}

/*
 * Sends the batchable frames at the head of the out-queue, two or more of
 * them, as one BATCH packet: a backlog then leaves with one sendmsg per
 * ~80 KiB and arrives with one recvmsg.
 * Return: frames sent (0: fewer than two to batch), or -EAGAIN; *ret_error:
 * the failure the link must end with, if any.
 */
static int send_batch_locked(xpc_connection_t c, ConnError *ret_error)
{
	FrameHeader bh = {.kind = FRAME_BATCH};
	size_t total, off = 0, n = send_batch_count_locked(c, &total);
	uint8_t *buf;
	OutItem *o = c->tx.head;
	int r;

	lock_assert_held(&c->lock);
	if (n < 2 || !(buf = malloc(total)))
		return 0;
	for (size_t i = 0; i < n; i++, o = o->next) {
		o->hdr.magic = FRAME_MAGIC;
		o->hdr.flags &= ~FRAME_F_OOL;
		o->hdr.n_fds = 0;
		o->hdr.body_len = o->body_len;
		memcpy(buf + off, &o->hdr, FRAME_HEADER_SIZE);
		if (o->body_len)
			wire_buffer_copy(&o->body, buf + off + FRAME_HEADER_SIZE);
		off += FRAME_HEADER_SIZE + o->body_len;
	}
	r = c->link.ops->send(&c->link, &bh, &(struct iovec){buf, total}, 1, total, NULL, 0, -1);
	free(buf);
	if (r == -EAGAIN)
		return -EAGAIN;
	/* Sent, or the link broke (the reader will see the end), or the
	 * packet could not be sent: the requests in it get INVALID. */
	for (size_t i = 0; i < n; i++) {
		o = out_pop_locked(c);
		if (r == 0 && trace_enabled())
			trace_frame(c, true, "send", &o->hdr, NULL, o->trace);
		if (r != 0 && !send_link_error(r) && (o->hdr.flags & FRAME_F_WANTS_REPLY)) {
			Pending *p = pending_take_locked(c, o->hdr.id);
			if (p)
				pending_answer(p, XPC_ERROR_CONNECTION_INVALID);
		}
		out_free(o);
	}
	*ret_error = send_error_locked(c, &bh, r); /* out of a resource: the link ends */
	return (int)n;
}

/* Sends the frame at the head of the out-queue.  Return: 0 (it left, or
 * failed), -EAGAIN; *ret_error as above. */
static int send_head_locked(xpc_connection_t c, ConnError *ret_error)
{
	OutItem *o = c->tx.head;
	struct iovec iov[SEND_MAX_IOV]; /* send_encode left no more pieces */
	size_t n = wire_buffer_iov(&o->body, iov, SEND_MAX_IOV);
	int r = c->link.ops->send(&c->link, &o->hdr, iov, n, o->body_len, o->fds, o->n_fds, o->ool_fd);

	lock_assert_held(&c->lock);
	if (r == -EAGAIN)
		return -EAGAIN;
	/* Sent, or the link broke (the reader will see the end), or this
	 * frame cannot be sent: its reply handler gets INVALID. */
	if (r == 0 && trace_enabled())
		trace_frame(c, true, "send", &o->hdr, NULL, o->trace);
	FrameHeader sent = o->hdr;
	out_free(out_pop_locked(c));
	*ret_error = send_error_locked(c, &sent, r);
	return 0;
}

ConnError send_flush_locked(xpc_connection_t c, SendProgress *ret_progress)
{
	ConnError e = CONN_OK;

	lock_assert_held(&c->lock);
	*ret_progress = SEND_DRAINED;
	while (c->tx.head && e == CONN_OK) {
		OutItem *o = c->tx.head;
		int r;
		if (o->barrier) {
			o = out_pop_locked(c);
			dqueue_push_embedded(c->queue, &o->item, out_barrier_run, o);
			continue;
		}
		if (!conn_link_live_locked(c)) { /* a required peer is checked first */
			*ret_progress = SEND_HELD;
			return CONN_OK;
		}
		r = send_batch_locked(c, &e);
		if (r == 0)
			r = send_head_locked(c, &e);
		if (r == -EAGAIN) {
			*ret_progress = SEND_BLOCKED;
			return CONN_OK;
		}
	}
	return e;
}

/* Queues a frame with duplicated descriptors; takes the job's body (kept:
 * the data and string objects it references are retained, since the caller
 * may release the message at once) or its out-of-line descriptor.  Return: 0, CONN_E_UNSENT when the out-queue is
 * full (see the header), or a negative errno. */
static int send_enqueue_locked(xpc_connection_t c, SendJob *j)
{
	OutItem *o;

	lock_assert_held(&c->lock);
	if (c->tx.head && (c->tx.unsent >= c->tx.max_unsent || c->tx.unsent_fds + j->fds.n > c->tx.max_unsent_fds))
		return CONN_E_UNSENT;
	/* the OutItem outlives the job's own storage */
	if (j->ool < 0 && wire_buffer_keep(&j->body) < 0)
		return -ENOMEM;
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->ool_fd = -1;
	if (j->fds.n && !(o->fds = calloc(j->fds.n, sizeof(int)))) {
		free(o);
		return -ENOMEM;
	}
	for (size_t i = 0; i < j->fds.n; i++) {
		int d = fcntl(j->fds.fds[i], F_DUPFD_CLOEXEC, 3);
		if (d < 0) {
			int e = -errno;
			out_free(o);
			return e;
		}
		o->fds[o->n_fds++] = d;
	}
	o->hdr = j->hdr;
	o->body_len = j->body.len + j->body.ref_bytes;
	o->trace = trace_describe(c, j->msg);
	if (j->ool >= 0) {
		o->ool_fd = j->ool;
		j->ool = -1;
	} else {
		o->body = j->body;
		memset(&j->body, 0, sizeof(j->body));
	}
	out_push_locked(c, o);
	return 0;
}

static bool send_coalesce_locked(xpc_connection_t c, const SendJob *j)
{
	lock_assert_held(&c->lock);
	if (j->hdr.kind != FRAME_MESSAGE || (j->hdr.flags & FRAME_F_WANTS_REPLY) || j->ool >= 0 || j->fds.n) {
		c->tx.rapid_sends = 0;
		return false;
	}
	if (c->tx.head)
		return true; /* behind others anyway */
	uint64_t now = clock_monotonic_ns();
	if (now - c->tx.last_send_ns < SEND_COALESCE_NS)
		c->tx.rapid_sends++;
	else
		c->tx.rapid_sends = 0;
	c->tx.last_send_ns = now;
	return c->tx.rapid_sends >= SEND_COALESCE_AFTER;
}

/*
 * Encodes @msg with large data by reference; a body too large for one
 * packet goes out of line through the transport (the unix one: into the
 * link's stage, or if that is busy into a fresh sealed memfd), here,
 * outside the lock (one copy, straight from the data objects).  Fills
 * j->iov (inline) or j->ool (and the flags the frame must carry).
 * Return: 0 or a negative errno (the wire layer's refusals are -EINVAL).
 */
static int send_encode(xpc_connection_t c, xpc_object_t msg, SendJob *j)
{
	WireBuffer *body = &j->body;
	size_t len, max, n;
	struct iovec *all;

	body->use_refs = true;
	int r = wire_encode_message(msg, body, &j->fds);
	if (r != 0)
		return r < 0 ? r : -EINVAL; /* WIRE_E_*: not a message that can be sent */
	len = body->len + body->ref_bytes;
	if (len > FRAME_MAX_BODY || j->fds.n + (len > FRAME_MAX_INLINE) > FRAME_MAX_FDS)
		return -E2BIG;
	if (len <= FRAME_MAX_INLINE) {
		if (2 * body->n_refs + 1 > SEND_MAX_IOV && wire_buffer_flatten(body) < 0)
			return -ENOMEM;
		j->n_iov = wire_buffer_iov(body, j->iov, SEND_MAX_IOV);
		return 0;
	}
	max = 2 * body->n_refs + 1;
	all = max <= SEND_MAX_IOV ? j->iov : calloc(max, sizeof(*all));
	if (!all)
		return -ENOMEM;
	n = wire_buffer_iov(body, all, max);
	j->ool = c->link.ops->body(&c->link, all, n, len, &j->hdr.flags);
	if (all != j->iov)
		free(all);
	j->n_iov = 0;
	return j->ool < 0 ? j->ool : 0;
}

void send_job_init(xpc_connection_t c, xpc_object_t msg, bool wants_reply, SendJob *j)
{
	uint64_t reply_to = 0;

	/* field by field: the inline body and iov[] are written before they
	 * are read (only n_iov entries ever are), 400 bytes a memset would
	 * clear for every message */
	wire_buffer_lend(&j->body, j->inline_body, sizeof(j->inline_body));
	j->fds = (WireFds){0};
	j->hdr = (FrameHeader){0};
	j->n_iov = 0;
	j->progress = SEND_DRAINED;
	j->schedule_flush = false;
	j->ool = -1;
	j->msg = msg;
	j->encode_error = send_encode(c, msg, j);
	if (dictionary_get_reply_to(msg, &reply_to)) {
		j->hdr.kind = FRAME_REPLY;
		j->hdr.reply_to = reply_to;
	} else {
		j->hdr.kind = FRAME_MESSAGE;
	}
	if (wants_reply)
		j->hdr.flags |= FRAME_F_WANTS_REPLY;
}

void send_job_free(SendJob *j)
{
	if (j->ool >= 0)
		close(j->ool);
	j->ool = -1;
	wire_buffer_free(&j->body);
	wire_fds_free(&j->fds);
}

ConnError send_job_refuse_locked(xpc_connection_t c, SendJob *j, Pending *p)
{
	lock_assert_held(&c->lock);
	if (p)
		pending_answer(p, XPC_ERROR_CONNECTION_INVALID);
	/* not even encoded for lack of a resource: see send_error_locked */
	if (j->encode_error < 0 && c->kind != CONN_LISTENER)
		return send_error_locked(c, &j->hdr, j->encode_error);
	return CONN_OK;
}

void send_job_assign_locked(xpc_connection_t c, SendJob *j, Pending *p)
{
	lock_assert_held(&c->lock);
	j->hdr.id = c->tx.next_id++;
	if (p)
		pending_add_locked(c, p, j->hdr.id);
}

/* Straight to the socket.  Return: as send_enqueue_locked. */
static int send_direct_locked(xpc_connection_t c, SendJob *j)
{
	lock_assert_held(&c->lock);
	int r = c->link.ops->send(&c->link, &j->hdr, j->iov, j->n_iov, j->body.len + j->body.ref_bytes, j->fds.fds,
				  j->fds.n, j->ool);

	if (r == 0 && trace_enabled())
		trace_frame(c, true, "send", &j->hdr, j->msg, NULL);
	/* (no clock read: last_send_ns matters for plain messages only, and
	 * send_coalesce_locked just set it for them) */
	if (r == -EAGAIN) {
		r = send_enqueue_locked(c, j);
		j->progress = SEND_BLOCKED;
	} else if (send_link_error(r)) {
		r = 0; /* the reader sees the end and answers the pending */
	}
	return r;
}

ConnError send_job_locked(xpc_connection_t c, SendJob *j, Pending *p)
{
	lock_assert_held(&c->lock);
	bool live = conn_link_live_locked(c); /* a required peer is checked first */
	ConnError e = CONN_OK;
	int r;

	j->progress = SEND_HELD; /* the write source stays as it is */
	if (live && send_coalesce_locked(c, j)) {
		r = send_enqueue_locked(c, j);
		if (r == 0 && c->tx.bytes >= SEND_FLUSH_BYTES)
			e = send_flush_locked(c, &j->progress);
		else if (r == 0)
			j->schedule_flush = true;
	} else if (live && !c->tx.head) {
		r = send_direct_locked(c, j);
	} else {
		r = send_enqueue_locked(c, j);
		/* requests and replies wait for nobody: flush the backlog now */
		if (live && r == 0 && (p || j->hdr.kind == FRAME_REPLY))
			e = send_flush_locked(c, &j->progress);
	}
	if (e != CONN_OK)
		return e;
	if (r == CONN_E_UNSENT)
		return CONN_E_UNSENT;
	/* Not sent (too many descriptors, no memory ...): answer it now. */
	if (r != 0 && p && pending_take_locked(c, j->hdr.id) == p)
		pending_answer(p, XPC_ERROR_CONNECTION_INVALID);
	return r < 0 ? send_error_locked(c, &j->hdr, r) : CONN_OK; /* not queued: the message would be lost */
}

void send_barrier(xpc_connection_t c, dispatch_block_t block, void *ctx, dispatch_function_t fn)
{
	OutItem *o = calloc(1, sizeof(*o));

	if (!o)
		return;
	o->barrier = true;
	o->barrier_block = block ? Block_copy(block) : NULL;
	o->barrier_fn = fn;
	o->barrier_ctx = ctx;
	conn_lock(c);
	if (c->tx.head && c->state != CONN_INVALID)
		out_push_locked(c, o);
	else
		dqueue_push_embedded(c->queue, &o->item, out_barrier_run, o);
	conn_unlock(c);
}
