/*
 * io.c - moving frames: the send path with its out-queue and barriers, the
 * pending-reply table, the read path of peers (listeners and check-ins:
 * checkin.c).
 *
 * Sending: a message is encoded outside the lock, then, under the lock, it
 * either goes straight to the socket (nothing queued before it, link up) or
 * joins the out-queue with its descriptors duplicated (the caller may
 * release the message at once).  The queue drains when the socket becomes
 * writable (a WRITE source on a duplicate of the socket, armed only while
 * something is queued) and on activation.  Barriers are out-queue entries
 * that, once reached, run on the handler queue.
 *
 * The out-queue is bounded (max_unsent bytes, max_unsent_fds descriptors):
 * a send that finds it at a limit cuts the link with "limit exceeded:
 * unsent messages (peer not reading)", so a peer that sends requests and
 * never reads the replies cannot grow its server without bound.  One
 * message always fits (the check is made before it is added).
 *
 * Receiving runs on the connection's serial ioq.  Back pressure: every
 * message queued for the handler charges its size to `unread`; above
 * CONN_MAX_UNREAD the read source is suspended, so the peer fills the
 * socket buffer and then gets EAGAIN; it resumes when the handler has
 * worked the backlog down to half.
 *
 * Replies: a request with a reply handler gets a Pending entry (id, queue,
 * handler) before its frame leaves; the reply frame's reply_to finds it.
 * An entry is unlinked under the lock before it is answered, which is what
 * makes "exactly one answer" hold against a concurrent failure.
 */
#include "connection/internal.h"
#include "dispatch/dqueue.h"
#include "dispatch/internal.h"
#include "wire/wire.h"

#include <Block.h>
#include <stdatomic.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct OutItem {
	OutItem *next;
	bool barrier;
	FrameHeader hdr;
	WireBuffer body; /* flat (no refs); empty with an ool_fd */
	size_t body_len;
	int ool_fd;      /* out-of-line body (owned), or -1 */
	int *fds;
	size_t n_fds;
	dispatch_block_t barrier_block;
	dispatch_function_t barrier_fn;
	void *barrier_ctx;
	DispatchItem item; /* queuing the barrier cannot fail */
};

struct Pending {
	Pending *next;
	uint64_t id;
	dispatch_queue_t q;
	xpc_handler_t block;
	xpc_handler_f fn;
	void *ctx;
	bool sync;                /* a sync caller's (on its stack): */
	pthread_mutex_t mu;       /* guards result/done for it, and */
	pthread_cond_t cv;        /* wakes it when another thread answers */
	xpc_object_t result;
	atomic_bool done;
	bool wake;                /* under mu: a link came up (conn_sync_wait_link) */
	DispatchItem item; /* queuing the answer cannot fail */
};

static void conn_sync_read(xpc_connection_t c, dispatch_source_t src, Pending *p);

/* ---- pending replies ------------------------------------------------------- */

static void pending_run(void *ctx)
{
	Pending *p = ctx;

	if (p->block) {
		p->block(p->result);
		Block_release(p->block);
	} else if (p->fn) {
		p->fn(p->ctx, p->result);
	}
	xpc_release(p->result);
	dispatch_release(p->q);
	free(p);
}

/* Answers @p with @result (+1, consumed); @p is already unlinked.  A sync
 * caller's entry lives on its stack: after the unlock it may be gone. */
static void pending_answer(Pending *p, xpc_object_t result)
{
	if (p->sync) {
		pthread_mutex_lock(&p->mu);
		p->result = result;
		atomic_store(&p->done, true);
		pthread_cond_signal(&p->cv);
		pthread_mutex_unlock(&p->mu);
		return;
	}
	p->result = result;
	dqueue_push_embedded(p->q, &p->item, pending_run, p);
}

static Pending *pending_take_locked(xpc_connection_t c, uint64_t id)
{
	for (Pending **pp = &c->pending; *pp; pp = &(*pp)->next) {
		if ((*pp)->id == id) {
			Pending *p = *pp;
			*pp = p->next;
			c->n_pending--;
			return p;
		}
	}
	return NULL;
}

void conn_fail_pending_locked(xpc_connection_t c, xpc_object_t err)
{
	Pending *p = c->pending;

	c->pending = NULL;
	c->n_pending = 0;
	while (p) {
		Pending *next = p->next;
		pending_answer(p, err);
		p = next;
	}
}

/* ---- the out-queue ---------------------------------------------------------- */

#define CONN_OVER_LIMIT 1

/* True for a send error that means the link is gone (the reader will see
 * its end), false for one that only this frame failed (too many
 * descriptors, no memory). */
static bool conn_link_error(int r)
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
	OutItem *o = c->out_head;

	c->out_head = o->next;
	if (!c->out_head)
		c->out_tail = NULL;
	c->unsent -= sizeof(*o) + o->body_len;
	c->unsent_fds -= o->n_fds;
	c->out_bytes -= o->barrier ? 0 : FRAME_HEADER_SIZE + o->body.len;
	return o;
}

static void out_push_locked(xpc_connection_t c, OutItem *o)
{
	o->next = NULL;
	c->unsent += sizeof(*o) + o->body_len;
	c->unsent_fds += o->n_fds;
	if (c->out_tail)
		c->out_tail->next = o;
	else
		c->out_head = o;
	c->out_tail = o;
	c->out_bytes += o->barrier ? 0 : FRAME_HEADER_SIZE + o->body.len;
}

/* Unsent messages are dropped; barriers still run (as on macOS; docs/connections.md). */
void conn_discard_out_locked(xpc_connection_t c)
{
	while (c->out_head) {
		OutItem *o = out_pop_locked(c);
		if (o->barrier)
			dqueue_push_embedded(c->queue, &o->item, out_barrier_run, o);
		else
			out_free(o);
	}
}

static void conn_arm_write_locked(xpc_connection_t c)
{
	if (!c->wsrc) {
		int wfd = fcntl(c->fd, F_DUPFD_CLOEXEC, 3);
		dispatch_source_t s;
		dispatch_block_t on_cancel;
		if (wfd < 0) {
			/* queued frames could never leave: end the link cleanly */
			conn_fail_locked(c, "limit exceeded: descriptors", false);
			return;
		}
		on_cancel = Block_copy(^{
			close(wfd);
			xpc_release(c);
		});
		s = on_cancel ? dispatch_source_create(DISPATCH_SOURCE_TYPE_WRITE, (uintptr_t)wfd, 0, c->ioq) : NULL;
		if (!s) {
			if (on_cancel)
				Block_release(on_cancel);
			close(wfd);
			conn_fail_locked(c, "limit exceeded: out of memory", false);
			return;
		}
		xpc_retain(c);
		dispatch_set_context(s, c);
		dispatch_source_set_event_handler_f(s, conn_write_ready);
		dispatch_source_set_cancel_handler(s, on_cancel); /* a heap block: no copy */
		Block_release(on_cancel);
		c->wsrc = s;
		c->wsrc_armed = true;
		dispatch_resume(s);
		return;
	}
	if (!c->wsrc_armed) {
		c->wsrc_armed = true;
		dispatch_resume(c->wsrc);
	}
}

static void conn_trace_out(const FrameHeader *h, xpc_object_t msg)
{
	char *d = msg ? xpc_copy_description(msg) : NULL;

	transport_trace("send", h, d);
	free(d);
}

/*
 * A frame the socket refused for lack of a resource (ENOBUFS, ENOMEM, no
 * descriptor for an out-of-line body ...) would leave its request without
 * an answer or its message (a reply, say) silently lost: the link ends
 * instead, and every pending reply gets INVALID.  A frame that cannot be
 * sent at all (over a limit: E2BIG ...) is dropped alone and its request
 * gets INVALID.  A broken link (conn_link_error): the reader sees the end.
 */
static void conn_send_error_locked(xpc_connection_t c, const FrameHeader *h, int r)
{
	Pending *p;

	if (r >= 0 || r == -EAGAIN || conn_link_error(r))
		return;
	if (r == -ENOMEM || r == -ENOBUFS) {
		conn_fail_locked(c, "limit exceeded: out of memory", false);
		return;
	}
	if (r == -EMFILE || r == -ENFILE) {
		conn_fail_locked(c, "limit exceeded: descriptors", false);
		return;
	}
	p = (h->flags & FRAME_F_WANTS_REPLY) ? pending_take_locked(c, h->id) : NULL;
	if (p)
		pending_answer(p, XPC_ERROR_CONNECTION_INVALID);
}

/* A frame that can travel inside a BATCH: inline, without descriptors. */
static bool out_batchable(const OutItem *o)
{
	return !o->barrier && o->ool_fd < 0 && o->n_fds == 0 && o->body.len <= FRAME_MAX_INLINE - 2 * FRAME_HEADER_SIZE;
}

/*
 * Sends the batchable frames at the head of the out-queue, two or more of
 * them, as one BATCH packet: a backlog then leaves with one sendmsg per
 * ~80 KiB and arrives with one recvmsg.
 * Return: frames sent (0: fewer than two to batch), or -EAGAIN.
 */
static int conn_flush_batch_locked(xpc_connection_t c)
{
	FrameHeader bh = {.kind = FRAME_BATCH};
	size_t total = 0, n = 0, off = 0;
	uint8_t *buf;
	OutItem *o;
	int r;

	for (o = c->out_head; o && out_batchable(o); o = o->next) {
		if (total + FRAME_HEADER_SIZE + o->body.len > FRAME_MAX_INLINE)
			break;
		total += FRAME_HEADER_SIZE + o->body.len;
		n++;
	}
	if (n < 2 || !(buf = malloc(total)))
		return 0;
	o = c->out_head;
	for (size_t i = 0; i < n; i++, o = o->next) {
		o->hdr.magic = FRAME_MAGIC;
		o->hdr.flags &= ~FRAME_F_OOL;
		o->hdr.n_fds = 0;
		o->hdr.body_len = o->body.len;
		memcpy(buf + off, &o->hdr, FRAME_HEADER_SIZE);
		if (o->body.len)
			memcpy(buf + off + FRAME_HEADER_SIZE, o->body.data, o->body.len);
		off += FRAME_HEADER_SIZE + o->body.len;
	}
	r = transport_send(c->fd, &bh, buf, total, NULL, 0);
	free(buf);
	if (r == -EAGAIN)
		return -EAGAIN;
	/* Sent, or the link broke (the reader will see the end), or the
	 * packet could not be sent: the requests in it get INVALID. */
	if (r == 0 && transport_trace_enabled())
		transport_trace("send", &bh, NULL);
	for (size_t i = 0; i < n; i++) {
		o = out_pop_locked(c);
		if (r == 0 && transport_trace_enabled())
			conn_trace_out(&o->hdr, NULL);
		if (r != 0 && !conn_link_error(r) && (o->hdr.flags & FRAME_F_WANTS_REPLY)) {
			Pending *p = pending_take_locked(c, o->hdr.id);
			if (p)
				pending_answer(p, XPC_ERROR_CONNECTION_INVALID);
		}
		out_free(o);
	}
	conn_send_error_locked(c, &bh, r); /* out of a resource: the link ends */
	return (int)n;
}

void conn_flush_locked(xpc_connection_t c)
{
	while (c->out_head) {
		OutItem *o = c->out_head;
		int r;
		if (o->barrier) {
			o = out_pop_locked(c);
			dqueue_push_embedded(c->queue, &o->item, out_barrier_run, o);
			continue;
		}
		if (c->state != CONN_ACTIVE || c->fd < 0 || c->connecting ||
		    (c->requirement && !c->requirement_met)) /* a required peer is checked first */
			return;
		r = conn_flush_batch_locked(c);
		if (r == -EAGAIN) {
			conn_arm_write_locked(c);
			return;
		}
		if (r > 0)
			continue;
		struct iovec iov = {o->body.data, o->body.len};
		r = transport_sendv(c->fd, &o->hdr, &iov, 1, o->body_len, o->fds, o->n_fds, o->ool_fd);
		if (r == -EAGAIN) {
			conn_arm_write_locked(c);
			return;
		}
		/* Sent, or the link broke (the reader will see the end), or
		 * this frame cannot be sent: its reply handler gets INVALID. */
		if (r == 0 && transport_trace_enabled())
			conn_trace_out(&o->hdr, NULL);
		FrameHeader sent = o->hdr;
		out_free(out_pop_locked(c));
		conn_send_error_locked(c, &sent, r);
	}
	if (c->wsrc && c->wsrc_armed) {
		c->wsrc_armed = false;
		dispatch_suspend(c->wsrc);
	}
}

void conn_write_ready(void *ctx)
{
	xpc_connection_t c = ctx;

	conn_lock(c);
	conn_flush_locked(c);
	conn_unlock(c);
}

/* Queues a frame with duplicated descriptors; takes @body (flattened here:
 * the runs it references belong to the caller's message) or @ool_fd.
 * Returns CONN_OVER_LIMIT when the out-queue is full (see the header). */
static int conn_enqueue_locked(xpc_connection_t c, const FrameHeader *h, WireBuffer *body, int *ool_fd,
			       const WireFds *fds)
{
	OutItem *o;

	if (c->out_head && (c->unsent >= c->max_unsent || c->unsent_fds + fds->n > c->max_unsent_fds))
		return CONN_OVER_LIMIT;
	if (*ool_fd < 0 && wire_buffer_flatten(body) < 0)
		return -ENOMEM;
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->ool_fd = -1;
	if (fds->n) {
		o->fds = calloc(fds->n, sizeof(int));
		if (!o->fds) {
			free(o);
			return -ENOMEM;
		}
		for (size_t i = 0; i < fds->n; i++) {
			int d = fcntl(fds->fds[i], F_DUPFD_CLOEXEC, 3);
			if (d < 0) {
				out_free(o);
				return -errno;
			}
			o->fds[o->n_fds++] = d;
		}
	}
	o->hdr = *h;
	o->body_len = body->len + body->ref_bytes;
	if (*ool_fd >= 0) {
		o->ool_fd = *ool_fd;
		*ool_fd = -1;
	} else {
		o->body = *body;
		memset(body, 0, sizeof(*body));
	}
	out_push_locked(c, o);
	return 0;
}

/*
 * Coalescing of one-way messages.  Once CONN_COALESCE_AFTER plain messages
 * (no reply wanted, not a reply, inline, no descriptors) in a row were sent
 * less than CONN_COALESCE_NS apart, the next ones are queued instead of
 * sent: a flush on the ioq (scheduled once) or the sender itself, once
 * CONN_FLUSH_BYTES are queued, sends the queue as BATCH packets.  A stream
 * of notifications then costs one sendmsg and one recvmsg per ~80 KiB
 * instead of one per message; a few messages still leave at once, requests
 * and replies never wait (they flush what is queued before them), and
 * cancel flushes what is queued.  As on macOS, sending is asynchronous: a
 * program that streams messages and exits at once sends a barrier or a
 * synchronous request last.
 */
#define CONN_COALESCE_NS 10000
#define CONN_COALESCE_AFTER 8
#define CONN_FLUSH_BYTES (FRAME_MAX_INLINE / 2)

static uint64_t conn_now_ns(void);

static bool conn_coalesce_locked(xpc_connection_t c, const FrameHeader *h, int ool, const WireFds *fds)
{
	if (h->kind != FRAME_MESSAGE || (h->flags & FRAME_F_WANTS_REPLY) || ool >= 0 || fds->n) {
		c->rapid_sends = 0;
		return false;
	}
	if (c->out_head)
		return true; /* behind others anyway */
	uint64_t now = conn_now_ns();
	if (now - c->last_send_ns < CONN_COALESCE_NS)
		c->rapid_sends++;
	else
		c->rapid_sends = 0;
	c->last_send_ns = now;
	return c->rapid_sends >= CONN_COALESCE_AFTER;
}

void conn_flush_coalesced_locked(xpc_connection_t c)
{
	if (c->flush_scheduled)
		conn_flush_locked(c);
}

static void conn_flush_async(void *ctx)
{
	xpc_connection_t c = ctx;

	conn_lock(c);
	c->flush_scheduled = false;
	conn_flush_locked(c);
	conn_unlock(c);
	xpc_release(c);
}

static void conn_schedule_flush_locked(xpc_connection_t c)
{
	if (c->flush_scheduled || c->wsrc_armed)
		return;
	c->flush_scheduled = true;
	xpc_retain(c);
	dispatch_async_f(c->ioq, c, conn_flush_async);
}

static void conn_reconnect_locked(xpc_connection_t c)
{
	if (c->state == CONN_DISCONNECTED && !c->connecting) {
		c->state = CONN_ACTIVE;
		conn_service_lookup_start(c);
	}
}

/*
 * conn_send() - encode @msg and send or queue it.
 * @p: a pending reply entry (owned from here on: answered exactly once), or NULL
 */
#define CONN_MAX_IOV 16

/*
 * Encodes @msg with large data by reference; a body too large for one
 * packet goes into the link's stage, or if that is busy into a fresh sealed
 * memfd, here, outside the lock (one copy, straight from the data objects).
 * Fills @iov (inline) or *ret_ool (and FRAME_F_STAGED in *flags).
 */
static int conn_encode(xpc_connection_t c, xpc_object_t msg, WireBuffer *body, WireFds *fds, struct iovec *iov,
		       size_t *ret_n, int *ret_ool, uint8_t *flags)
{
	int r;

	body->use_refs = true;
	r = wire_encode_message(msg, body, fds);
	if (r != 0)
		return r;
	size_t len = body->len + body->ref_bytes;
	if (len > FRAME_MAX_BODY || fds->n + (len > FRAME_MAX_INLINE) > FRAME_MAX_FDS)
		return -E2BIG;
	if (len <= FRAME_MAX_INLINE) {
		if (2 * body->n_refs + 1 > CONN_MAX_IOV && wire_buffer_flatten(body) < 0)
			return -ENOMEM;
		*ret_n = wire_buffer_iov(body, iov, CONN_MAX_IOV);
		return 0;
	}
	size_t max = 2 * body->n_refs + 1;
	struct iovec *all = max <= CONN_MAX_IOV ? iov : calloc(max, sizeof(*all));
	if (!all)
		return -ENOMEM;
	size_t n = wire_buffer_iov(body, all, max);
	*ret_ool = transport_stage_write(&c->stage, all, n, len);
	if (*ret_ool >= 0)
		*flags |= FRAME_F_STAGED;
	else
		*ret_ool = transport_make_ool(all, n, len);
	if (all != iov)
		free(all);
	*ret_n = 0;
	return *ret_ool < 0 ? *ret_ool : 0;
}

static void conn_send(xpc_connection_t c, xpc_object_t msg, Pending *p)
{
	WireBuffer body = {0};
	WireFds fds = {0};
	FrameHeader h = {0};
	struct iovec iov[CONN_MAX_IOV];
	size_t n_iov = 0;
	uint64_t reply_to = 0;
	int ool = -1;
	int r;

	r = conn_encode(c, msg, &body, &fds, iov, &n_iov, &ool, &h.flags);
	if (dictionary_get_reply_to(msg, &reply_to)) {
		h.kind = FRAME_REPLY;
		h.reply_to = reply_to;
	} else {
		h.kind = FRAME_MESSAGE;
	}
	if (p)
		h.flags |= FRAME_F_WANTS_REPLY;
	conn_lock(c);
	/* Unsendable message, dead connection, a listener (nothing to send
	 * to), or too many requests waiting: the reply handler gets INVALID. */
	if (r != 0 || c->state == CONN_INVALID || c->kind == CONN_LISTENER ||
	    c->n_pending >= CONN_MAX_PENDING_REPLIES) {
		if (p)
			pending_answer(p, XPC_ERROR_CONNECTION_INVALID);
		/* not even encoded for lack of a resource: see conn_send_error_locked */
		if (r < 0 && c->kind != CONN_LISTENER)
			conn_send_error_locked(c, &h, r);
		goto out;
	}
	h.id = c->next_id++;
	if (p) {
		p->id = h.id;
		p->next = c->pending;
		c->pending = p;
		c->n_pending++;
	}
	conn_reconnect_locked(c);
	bool live = c->state == CONN_ACTIVE && c->fd >= 0 && !c->connecting &&
		    (!c->requirement || c->requirement_met); /* a required peer is checked first */
	if (live && conn_coalesce_locked(c, &h, ool, &fds)) {
		r = conn_enqueue_locked(c, &h, &body, &ool, &fds);
		if (r == 0 && c->out_bytes >= CONN_FLUSH_BYTES)
			conn_flush_locked(c);
		else if (r == 0)
			conn_schedule_flush_locked(c);
	} else if (live && !c->out_head) {
		r = transport_sendv(c->fd, &h, iov, n_iov, body.len + body.ref_bytes, fds.fds, fds.n, ool);
		if (r == 0 && transport_trace_enabled())
			conn_trace_out(&h, msg);
		c->last_send_ns = conn_now_ns();
		if (r == -EAGAIN) {
			r = conn_enqueue_locked(c, &h, &body, &ool, &fds);
			conn_arm_write_locked(c);
		} else if (conn_link_error(r)) {
			r = 0; /* the reader sees the end and answers the pending */
		}
	} else {
		r = conn_enqueue_locked(c, &h, &body, &ool, &fds);
		/* requests and replies wait for nobody: flush the backlog now */
		if (live && r == 0 && (p || h.kind == FRAME_REPLY))
			conn_flush_locked(c);
	}
	/* an answer to an asynchronous send is read by the source: no sync
	 * caller holds it any more (conn_hold_first_read_locked) */
	if (!(p && p->sync) && c->sync_src && c->sync_active == 0) {
		conn_lazy_stop_locked(c);
		conn_sync_release_locked(c, true);
	}
	if (r == CONN_OVER_LIMIT)
		conn_fail_locked(c, "limit exceeded: unsent messages (peer not reading)", false);
	/* Not sent (too many descriptors, no memory ...): answer it now. */
	if (r != 0 && p && pending_take_locked(c, h.id) == p)
		pending_answer(p, XPC_ERROR_CONNECTION_INVALID);
	if (r < 0) /* not queued: the message would be lost */
		conn_send_error_locked(c, &h, r);
out:
	conn_unlock(c);
	if (ool >= 0)
		close(ool);
	wire_buffer_free(&body);
	wire_fds_free(&fds);
}

void xpc_connection_send_message(xpc_connection_t c, xpc_object_t message)
{
	conn_send(c, message, NULL);
}

static Pending *pending_new(dispatch_queue_t q)
{
	Pending *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->q = q ? q : dispatch_get_global_queue(DISPATCH_QUEUE_PRIORITY_DEFAULT, 0);
	dispatch_retain(p->q);
	return p;
}

/*
 * Without memory for the request's own bookkeeping the reply handler still
 * gets its one answer, INVALID, but on the calling thread: queuing it would
 * need memory too (docs/reliability.md).
 */
void xpc_connection_send_message_with_reply(xpc_connection_t c, xpc_object_t message, dispatch_queue_t replyq,
					    xpc_handler_t handler)
{
	Pending *p = pending_new(replyq);

	if (p)
		p->block = Block_copy(handler);
	if (!p || !p->block) {
		if (p) {
			dispatch_release(p->q);
			free(p);
		}
		handler(XPC_ERROR_CONNECTION_INVALID);
		return;
	}
	conn_send(c, message, p);
}

void xpc_connection_send_message_with_reply_f(xpc_connection_t c, xpc_object_t message, dispatch_queue_t replyq,
					      void *context, xpc_handler_f handler)
{
	Pending *p = pending_new(replyq);

	if (!p) { /* see xpc_connection_send_message_with_reply */
		handler(context, XPC_ERROR_CONNECTION_INVALID);
		return;
	}
	p->fn = handler;
	p->ctx = context;
	conn_send(c, message, p);
}

/*
 * Sync callers read the link themselves, so the read source must not run
 * meanwhile: the first one suspends it and it stays suspended ("lazily")
 * across back-to-back calls.  Resuming a source costs a worker wake-up, so
 * it is resumed only when no sync call has been in flight for a while
 * (CONN_LAZY_RESUME_NS), or at once when the link goes away.  The timer
 * for that is the connection's own manager timer, so that closing the link
 * stops it (conn_lazy_stop_locked): a cancelled connection costs no
 * manager and worker wake-up a millisecond later.
 */
#define CONN_LAZY_RESUME_NS 1000000

static void conn_lazy_resume(void *ctx);
static uint64_t conn_now_ns(void);

/* Manager thread: the work goes to ioq (no allocation: the item is the
 * connection's; it is not queued twice, since the timer is armed again
 * only by conn_lazy_resume or after it ran). */
static void conn_lazy_fire(ManagerTimer *t, uint64_t count)
{
	xpc_connection_t c = (xpc_connection_t)((char *)t - offsetof(struct _xpc_connection_s, lazy_t));

	(void)count;
	dqueue_push_embedded(c->ioq, &c->lazy_item, conn_lazy_resume, c);
}

/* Under the lock, lazy_timer set: the timer holds a reference on @c. */
static void conn_lazy_arm_locked(xpc_connection_t c, uint64_t delay_ns)
{
	xpc_retain(c);
	c->lazy_t.fire = conn_lazy_fire;
	/* with leeway: the lazy timers of connections made one after the
	 * other share one arming of the manager's timerfd */
	manager_timer_arm(&c->lazy_t, conn_now_ns() + delay_ns, 0, CONN_LAZY_RESUME_NS / 2);
}

/* Under the lock, with another reference on @c held (the link's source or
 * the activation's): a timer not yet fired is stopped and its reference
 * dropped; one under way runs and finds nothing to do. */
void conn_lazy_stop_locked(xpc_connection_t c)
{
	if (c->lazy_timer && manager_timer_disarm(&c->lazy_t)) {
		c->lazy_timer = false;
		xpc_release(c);
	}
}

/*
 * A client's link (named or from an endpoint) starts the same way: most
 * clients send a request first and wait for its reply, which the waiting
 * thread reads itself (HELLO included), so resuming the source at once
 * would only wake a worker for nothing.  It is held like after a sync call:
 * resumed by the first asynchronous send (conn_send), when the link closes,
 * or CONN_LAZY_RESUME_NS after activation, for a client that sends nothing
 * and must still learn of messages and of the peer's end.
 */
void conn_hold_first_read_locked(xpc_connection_t c, dispatch_source_t s)
{
	if (c->sync_src) {
		/* an old link's, still held by a sync caller that has not yet
		 * returned from its end (a reconnect under it): that caller
		 * releases it, this one starts as usual */
		dispatch_resume(s);
		return;
	}
	dispatch_retain(s); /* its creation's suspension is the sync one */
	c->sync_src = s;
	conn_sync_release_locked(c, false); /* arms the lazy resume, as a sync call's end */
}

void conn_sync_release_locked(xpc_connection_t c, bool force_idle)
{
	dispatch_source_t s = c->sync_src;

	if (!s || c->sync_active > 0)
		return;
	if (!force_idle && c->rsrc == s) {
		/* still the live link: resume once no sync call came for a while */
		c->last_sync_ns = conn_now_ns();
		if (c->lazy_timer)
			return;
		c->lazy_timer = true;
		conn_lazy_arm_locked(c, CONN_LAZY_RESUME_NS);
		return;
	}
	c->sync_src = NULL;
	dispatch_resume(s);
	dispatch_release(s);
}

static uint64_t conn_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void conn_lazy_resume(void *ctx)
{
	xpc_connection_t c = ctx;
	uint64_t idle;

	conn_lock(c);
	c->lazy_timer = false;
	idle = conn_now_ns() - c->last_sync_ns;
	if (c->sync_src && c->sync_active == 0 && (idle >= CONN_LAZY_RESUME_NS || c->rsrc != c->sync_src)) {
		conn_sync_release_locked(c, true);
	} else if (c->sync_src) {
		/* calls still coming: look again when this one has been idle long enough */
		c->lazy_timer = true;
		conn_lazy_arm_locked(c, idle < CONN_LAZY_RESUME_NS ? CONN_LAZY_RESUME_NS - idle : CONN_LAZY_RESUME_NS);
	}
	conn_unlock(c);
	xpc_release(c);
}

/*
 * The read source a sync caller takes over (locked): the live link's, held
 * suspended while sync callers read it; NULL while there is no link yet (a
 * named connection still looking its name up) or any more.
 */
static dispatch_source_t conn_sync_take_locked(xpc_connection_t c)
{
	dispatch_source_t src = c->rsrc;

	if (!src || c->state != CONN_ACTIVE)
		return NULL;
	if (c->sync_src != src) {
		conn_sync_release_locked(c, true); /* an old link's */
		/* unless another caller still reads that old link: it
		 * releases it; this one reads without holding src (the
		 * source's handler yields to a reader holding rx_lock) */
		if (!c->sync_src) {
			dispatch_retain(src);
			dispatch_suspend(src);
			c->sync_src = src;
		}
	}
	c->sync_active++;
	return src;
}

/*
 * A sync call made before the link is up (a named connection's lookup and
 * check-in run on other threads) waits for the link, then reads it itself
 * like any sync caller: its reply never waits for the handler queue, which
 * may target a queue the caller is blocking (the main queue, from main()).
 * conn_sync_wake_locked() wakes it when a link comes up; an answer (the
 * lookup failed: INVALID) ends the wait too.  Return: the source taken, or
 * NULL when @p was answered first.
 */
static dispatch_source_t conn_sync_wait_link(xpc_connection_t c, Pending *p)
{
	for (;;) {
		conn_lock(c);
		dispatch_source_t src = atomic_load(&p->done) ? NULL : conn_sync_take_locked(c);
		conn_unlock(c);
		if (src)
			return src;
		pthread_mutex_lock(&p->mu);
		while (!atomic_load(&p->done) && !p->wake)
			pthread_cond_wait(&p->cv, &p->mu);
		p->wake = false;
		pthread_mutex_unlock(&p->mu);
		if (atomic_load(&p->done))
			return NULL;
	}
}

void conn_sync_wake_locked(xpc_connection_t c)
{
	for (Pending *p = c->pending; p; p = p->next) {
		if (!p->sync)
			continue;
		pthread_mutex_lock(&p->mu);
		p->wake = true;
		pthread_cond_signal(&p->cv);
		pthread_mutex_unlock(&p->mu);
	}
}

/* Apple's misuse check: the event handler of @c (its queue) cannot wait for
 * a reply that only it could be handed. */
static void conn_sync_check_queue(xpc_connection_t c)
{
	static const char msg[] = "BUG IN CLIENT OF LIBXPC: xpc_connection_send_message_with_reply_sync() "
				  "called on the connection's own queue (from its event handler): it would "
				  "wait for itself\n";

	if (!dqueue_is_current(c->queue))
		return;
	ssize_t r = write(STDERR_FILENO, msg, sizeof(msg) - 1);
	(void)r;
	abort();
}

xpc_object_t xpc_connection_send_message_with_reply_sync(xpc_connection_t c, xpc_object_t message)
{
	/* On the stack: no allocation per call.  Usually this thread reads
	 * the reply itself; the condition variable is for the other cases. */
	Pending p = {.sync = true, .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
	dispatch_source_t src;
	xpc_object_t result;

	conn_sync_check_queue(c);
	conn_lock(c);
	src = conn_sync_take_locked(c);
	bool waits_link = !src && c->kind == CONN_PEER && c->state != CONN_INVALID;
	conn_unlock(c);
	conn_send(c, message, &p);
	if (!src && waits_link)
		src = conn_sync_wait_link(c, &p);
	if (src) {
		conn_sync_read(c, src, &p);
		conn_lock(c);
		c->sync_active--;
		conn_sync_release_locked(c, false);
		conn_unlock(c);
	}
	pthread_mutex_lock(&p.mu);
	while (!atomic_load(&p.done))
		pthread_cond_wait(&p.cv, &p.mu);
	result = p.result;
	pthread_mutex_unlock(&p.mu);
	pthread_cond_destroy(&p.cv);
	pthread_mutex_destroy(&p.mu);
	return result;
}

static void conn_barrier(xpc_connection_t c, dispatch_block_t block, void *ctx, dispatch_function_t fn)
{
	OutItem *o = calloc(1, sizeof(*o));

	if (!o)
		return;
	o->barrier = true;
	o->barrier_block = block ? Block_copy(block) : NULL;
	o->barrier_fn = fn;
	o->barrier_ctx = ctx;
	conn_lock(c);
	if (c->out_head && c->state != CONN_INVALID)
		out_push_locked(c, o);
	else
		dqueue_push_embedded(c->queue, &o->item, out_barrier_run, o);
	conn_unlock(c);
}

void xpc_connection_send_barrier(xpc_connection_t c, dispatch_block_t barrier)
{
	conn_barrier(c, barrier, NULL, NULL);
}

void xpc_connection_send_barrier_f(xpc_connection_t c, void *context, dispatch_function_t barrier)
{
	conn_barrier(c, NULL, context, barrier);
}

/* ---- receiving --------------------------------------------------------------- */

void conn_unread_done(xpc_connection_t c, size_t bytes)
{
	conn_lock(c);
	c->unread -= bytes;
	if (c->read_paused && c->unread <= CONN_MAX_UNREAD / 2 && c->rsrc) {
		c->read_paused = false;
		dispatch_resume(c->rsrc);
	}
	conn_unlock(c);
}

static void conn_violation(xpc_connection_t c, const char *what)
{
	char buf[256];

	if (strncmp(what, "limit exceeded", 14) == 0 || strncmp(what, "protocol violation", 18) == 0)
		snprintf(buf, sizeof(buf), "%s", what);
	else
		snprintf(buf, sizeof(buf), "protocol violation: %s", what);
	conn_lock(c);
	conn_fail_locked(c, buf, false);
	conn_unlock(c);
}

static void conn_trace_in(const FrameHeader *h, xpc_object_t obj)
{
	char *d = obj ? xpc_copy_description(obj) : NULL;

	transport_trace("recv", h, d);
	free(d);
}

/* The first frame with credentials gives the peer's identity; after that
 * the link stops asking for them (transport_stop_creds).  The pidfd is
 * opened on first use (conn_pidfd_locked). */
static void conn_record_creds(xpc_connection_t c, int fd, const TransportFrame *f)
{
	if (!f->has_creds)
		return;
	conn_lock(c);
	if (c->have_creds) {
		conn_unlock(c);
		return;
	}
	c->pid = f->pid;
	c->uid = f->uid;
	c->gid = f->gid;
	c->have_creds = true;
	conn_unlock(c);
	transport_stop_creds(fd);
}

/*
 * conn_handle_message() - decode and deliver one MESSAGE or REPLY.
 * @h, @body: the frame (body: h->body_len bytes)
 * @f:        the packet it came in for its descriptors and out-of-line
 *            buffer, or NULL (a frame inside a batch has neither)
 * Return: 1 delivered, 0 delivered but reading must pause (back pressure),
 *         -1 the link failed (protocol violation).
 */
static int conn_handle_message(xpc_connection_t c, const FrameHeader *h, const uint8_t *body, TransportFrame *f,
			       bool inline_ok)
{
	xpc_object_t dict = NULL;
	char why[160];
	Pending *p;
	int r;

	if (f && f->ool)
		r = wire_decode_message_in(f->ool, f->fds, f->n_fds, &dict);
	else
		r = wire_decode_message(body, h->body_len, f ? f->fds : NULL, f ? f->n_fds : 0, &dict);
	if (r == -ENOMEM) { /* ours, not the peer's fault */
		conn_lock(c);
		conn_fail_locked(c, "limit exceeded: out of memory", false);
		conn_unlock(c);
		return -1;
	}
	if (r != 0) {
		snprintf(why, sizeof(why), "bad encoding: %s", wire_strerror(r));
		conn_violation(c, why);
		return -1;
	}
	if (transport_trace_enabled())
		conn_trace_in(h, dict);
	if (h->kind == FRAME_REPLY) {
		conn_lock(c);
		p = pending_take_locked(c, h->reply_to);
		conn_unlock(c);
		if (!p) {
			xpc_release(dict);
			conn_violation(c, "reply to an unknown request");
			return -1;
		}
		dictionary_set_message_context(dict, c, h->id, false);
		pending_answer(p, dict);
		return 1;
	}
	dictionary_set_message_context(dict, c, h->id, h->flags & FRAME_F_WANTS_REPLY);
	if (inline_ok && atomic_load(&c->async_pending) == 0) {
		/* On c->queue with nothing queued before it: call it now. */
		c->rx_answered = h->flags & FRAME_F_WANTS_REPLY;
		conn_call_handler(c, dict, false);
		xpc_release(dict);
		return 1;
	}
	/* descriptors held for the handler count too (CONN_UNREAD_FD_COST) */
	size_t bytes = h->body_len + 64 + (f ? f->n_fds : 0) * CONN_UNREAD_FD_COST;
	conn_lock(c);
	c->unread += bytes;
	conn_deliver(c, dict, bytes);
	if (c->unread > CONN_MAX_UNREAD && c->rsrc && !c->read_paused) {
		c->read_paused = true;
		dispatch_suspend(c->rsrc);
	}
	bool go = !c->read_paused;
	conn_unlock(c);
	return go ? 1 : 0;
}

/* Every frame of a BATCH in order; all of them are delivered even when
 * reading must pause (they are read already).  Return: as above. */
static int conn_handle_batch(xpc_connection_t c, const TransportFrame *f, bool inline_ok)
{
	const uint8_t *p = f->body;
	size_t left = f->hdr.body_len;
	int result = 1;

	if (transport_trace_enabled())
		conn_trace_in(&f->hdr, NULL);
	while (left > 0) {
		FrameHeader h;
		const char *why = NULL;
		long n = frame_next_in_batch(p, left, &h, &why);
		if (n < 0) {
			conn_violation(c, why);
			return -1;
		}
		int r = conn_handle_message(c, &h, p + FRAME_HEADER_SIZE, NULL, inline_ok);
		if (r < 0)
			return -1;
		if (r == 0)
			result = 0;
		p += n;
		left -= (size_t)n;
	}
	return result;
}

/* Return: true to keep reading. */
static bool conn_handle_frame(xpc_connection_t c, int fd, TransportFrame *f, bool inline_ok)
{
	conn_record_creds(c, fd, f);
	if (c->requirement && !atomic_load(&c->requirement_met) && !conn_requirement_admit(c))
		return false; /* nothing of a peer that fails it is handled */
	if (f->hdr.kind == FRAME_HELLO) {
		conn_lock(c);
		c->got_hello = true;
		conn_unlock(c);
		if (transport_trace_enabled())
			conn_trace_in(&f->hdr, NULL);
		return true;
	}
	if (f->hdr.kind == FRAME_BATCH)
		return conn_handle_batch(c, f, inline_ok) > 0;
	if (f->hdr.kind != FRAME_MESSAGE && f->hdr.kind != FRAME_REPLY) {
		conn_violation(c, "unexpected check-in on a peer link");
		return false;
	}
	return conn_handle_message(c, &f->hdr, f->body, f, inline_ok) > 0;
}

static void conn_peer_gone(xpc_connection_t c, int r)
{
	const char *why = "peer exited";

	conn_lock(c);
	/* The link was closed under a sync reader (cancel, or a named peer
	 * that reconnected): that end is not this link's. */
	if (c->fd < 0 || c->state != CONN_ACTIVE) {
		conn_unlock(c);
		return;
	}
	if (c->from_endpoint && !c->got_hello && !c->named)
		why = "listener gone";
	else if (r < 0 && r != -ECONNRESET)
		why = "link error";
	c->peer_closed = r == 0 || r == -ECONNRESET;
	conn_fail_locked(c, why, true);
	conn_unlock(c);
}

/* Reads and handles one frame from @fd (rx_lock held); @wait: block until
 * one comes (sync callers).
 * Return: 1 handled (keep reading), 0 nothing to read, -1 link ended. */
static int conn_read_one(xpc_connection_t c, int fd, bool inline_ok, bool wait)
{
	const char *why = NULL;
	int r = wait ? transport_recv_wait(fd, c->rx, &why) : transport_recv(fd, c->rx, &why);

	if (r == -EAGAIN)
		return 0;
	if (r == TRANSPORT_INVALID) {
		transport_frame_clear(c->rx);
		conn_violation(c, why);
		return -1;
	}
	if (r != 0) {
		transport_frame_clear(c->rx);
		conn_peer_gone(c, r == TRANSPORT_EOF ? 0 : r);
		return -1;
	}
	bool go = conn_handle_frame(c, fd, c->rx, inline_ok);
	transport_frame_clear(c->rx);
	return go ? 1 : -1;
}

/* The link @c reads now, if it is still the one of @src; -1 otherwise. */
static int conn_link_fd(xpc_connection_t c, dispatch_source_t src)
{
	int fd;

	conn_lock(c);
	fd = c->fd;
	if (fd < 0 || c->state != CONN_ACTIVE || !c->rsrc || c->rsrc != src)
		fd = -1;
	conn_unlock(c);
	return fd;
}

/*
 * After answering a request, a peer in a request/reply exchange usually
 * sends the next one within tens of microseconds.  Waiting for it here, in
 * a blocking recvmsg on the socket itself, saves the manager-thread ->
 * worker hand-off that a re-armed source would cost, and the ppoll that a
 * finer timed wait would need (one system call per round trip).  The wait
 * ends with the next frame, when the link is shut down (cancel), or after
 * SO_RCVTIMEO (CONN_LINGER_US, set when the link starts), which the kernel
 * rounds up to the next clock tick: 1-4 ms at HZ=250.  A timeout that came
 * early (the tick was near) is followed by one ppoll of CONN_LINGER_US.
 * No wait is begun when other work waits behind this thread (on the handler
 * queue, on a queue it targets, or for a worker), when a sync caller wants
 * the link, when the connection is suspended or reading is paused, nor more
 * than CONN_LINGER_MAX times in a row; while it waits, the worker does not
 * count against the pool's limit (dpool_block_begin), so new work gets
 * another one.  A connection whose queue targets anything but a global
 * queue (the main queue, a serial queue other connections may share: xpcd's
 * links) waits with ppoll for CONN_LINGER_US only, so that work queued
 * behind it meanwhile waits 100 us at most, not a tick.
 */
#define CONN_LINGER_MAX 32

static bool conn_linger(int fd)
{
	struct pollfd pfd = {fd, POLLIN, 0};
	struct timespec ts = {0, CONN_LINGER_US * 1000};

	return ppoll(&pfd, 1, &ts, NULL) == 1;
}

static bool conn_may_linger(xpc_connection_t c, int fd, bool *ret_timed)
{
	conn_lock(c);
	bool ok = !c->read_paused && c->suspend_count == 0 && c->sync_active == 0;
	if (ok && c->rx_timeout_lazy && c->fd == fd) {
		c->rx_timeout_lazy = false;
		c->rx_timeout = transport_set_recv_timeout(fd, CONN_LINGER_US) == 0;
	}
	*ret_timed = c->rx_timeout;
	conn_unlock(c);
	*ret_timed = *ret_timed && dqueue_targets_root(c->queue);
	return ok && !dqueue_others_waiting(c->queue);
}

/* Waits for the next frame and handles it.  Return: as conn_read_one. */
static int conn_linger_read(xpc_connection_t c, int fd, bool timed)
{
	int r = 0;

	if (timed) {
		dpool_block_begin();
		r = conn_read_one(c, fd, true, true);
		dpool_block_end();
	}
	if (r == 0 && conn_linger(fd))
		r = conn_read_one(c, fd, true, false);
	return r;
}

void conn_read_ready(void *ctx)
{
	xpc_connection_t c = ctx;
	dispatch_source_t src;
	bool answered = false;
	int lingered = 0;

	/* A thread in send_message_with_reply_sync reads for us. */
	if (pthread_mutex_trylock(&c->rx_lock) != 0)
		return;
	conn_lock(c);
	src = c->rsrc;
	conn_unlock(c);
	for (int i = 0; i < 64; i++) {
		int fd = conn_link_fd(c, src), r;
		bool timed;
		if (fd < 0)
			break;
		if (answered) {
			/* just answered a request: the next one is usually on its way */
			if (lingered++ >= CONN_LINGER_MAX || !conn_may_linger(c, fd, &timed))
				break;
			c->rx_answered = false;
			r = conn_linger_read(c, fd, timed);
		} else {
			/* a handler that suspended its connection is not called
			 * again before the resume (the source waits for it) */
			conn_lock(c);
			bool stop = c->read_paused || c->suspend_count > 0;
			conn_unlock(c);
			if (stop)
				break;
			c->rx_answered = false;
			r = conn_read_one(c, fd, true, false);
		}
		if (r <= 0)
			break;
		answered = c->rx_answered;
	}
	c->rx_answered = false;
	pthread_mutex_unlock(&c->rx_lock);
}

/*
 * conn_sync_read() - the thread waiting in send_message_with_reply_sync
 * reads the link itself until @p is answered (no thread hand-off on the
 * reply path), blocking in recvmsg (closing the link shuts the socket down,
 * which ends the wait).  The read source is suspended by the caller
 * meanwhile; messages read here are queued for the handler as usual.
 */
static void conn_sync_read(xpc_connection_t c, dispatch_source_t src, Pending *p)
{
	pthread_mutex_lock(&c->rx_lock);
	while (!atomic_load(&p->done)) {
		int fd = conn_link_fd(c, src);
		if (fd < 0)
			break;
		int r = conn_read_one(c, fd, false, true);
		if (r < 0)
			break;
		if (r == 0 && !atomic_load(&p->done)) {
			struct pollfd pfd = {fd, POLLIN, 0};
			poll(&pfd, 1, 1000);
		}
	}
	pthread_mutex_unlock(&c->rx_lock);
}
