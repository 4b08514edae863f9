/* SPDX-License-Identifier: MIT */
/*
 * io-op.c - the operations of a dispatch I/O channel: the engine that reads
 * and writes, on the channel's serial queue.
 *
 * Pending operations form one FIFO per channel.  Reads and writes advance
 * independently (a read waiting for a socket does not hold back a write
 * on it), each direction in submission order; a barrier runs once every
 * operation before it has ended, and holds back those after it.  On a
 * pipe or socket the descriptor is non-blocking (io.c): an operation reads
 * or writes until EAGAIN, then the direction's READ/WRITE source resumes
 * the engine when the descriptor is ready; the source is suspended while
 * no operation waits.  A regular file is read or written one chunk per
 * turn of the engine, which then re-queues itself, so a close with
 * DISPATCH_IO_STOP or a barrier gets in between chunks.
 *
 * Handlers run on a serial queue of the operation's own targeting the
 * queue given, so the calls of one operation never overlap and come in
 * order.  A read's handler gets the bytes read so far whenever they reach
 * the low-water mark (in pieces of at most the high-water mark; also once
 * the channel's interval has passed since the last call), then a last call
 * with done = true, what is left, and the error (0 at the end of the
 * file).  A write makes one call: done = true, NULL when everything was
 * written, else the data left and the error.  Each call is an item
 * embedded in a heap IoCall; the last one owns the handler block and
 * releases it after the call (one owner at a time).
 *
 * This file also holds the operations' API (dispatch_io_read, _write,
 * _barrier, _close) and makes the channel's READ/WRITE sources, whose
 * events run the engine.  Edges: it calls io.c (the descriptor, the end of
 * the channel), never the other way round; io-once.c calls it.
 */
#include "dispatch/io-internal.h"
#include "dispatch/dqueue.h"

#include <Block.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

enum { STEP_AGAIN, STEP_WAIT, STEP_DONE };

static void io_pump(dispatch_io_t ch);
static void io_op_fail_all(dispatch_io_t ch, int err);

typedef struct {
	DispatchItem item;
	dispatch_io_handler_t handler; /* the last call owns it */
	bool done;
	dispatch_data_t data; /* held, or NULL */
	int err;
} IoCall;

static void io_call_run(void *arg)
{
	IoCall *c = arg;

	c->handler(c->done, c->data, c->err);
	if (c->data)
		dispatch_release(c->data);
	if (c->done)
		Block_release(c->handler);
	free(c);
}

/* Queues one call of @op's handler; @data is borrowed.  The last call
 * takes @op's handler and queue.  Without memory a partial call is
 * dropped; the last call is retried until it gets some. */
static void io_call(IoOp *op, bool done, dispatch_data_t data, int err)
{
	IoCall *c;

	while (!(c = calloc(1, sizeof(*c)))) {
		if (!done)
			return;
		usleep(1000);
	}
	c->handler = op->handler;
	c->done = done;
	c->data = data;
	c->err = err;
	if (data)
		dispatch_retain(data);
	dqueue_push_embedded(op->dq, &c->item, io_call_run, c);
	if (done) {
		op->handler = NULL;
		dispatch_release(op->dq);
		op->dq = NULL;
	}
}

static void io_op_free(IoOp *op)
{
	if (op->data)
		dispatch_release(op->data);
	if (op->handler)
		Block_release(op->handler);
	if (op->barrier)
		Block_release(op->barrier);
	if (op->dq)
		dispatch_release(op->dq);
	free(op);
}

/* Ends @op: its last call, then it leaves the list (its channel reference
 * goes with it). */
static void io_finish(dispatch_io_t ch, IoOp *op, int err)
{
	dispatch_data_t left = op->data;

	if (op->kind == IO_READ && !left)
		left = dispatch_data_empty;
	if (op->kind == IO_WRITE && !err)
		left = NULL;
	io_call(op, true, left, err);
	list_unlink(&op->link);
	io_op_free(op);
	dobject_release(ch);
}

static uint64_t io_now(void)
{
	return dispatch_time(DISPATCH_TIME_NOW, 0);
}

/* Hands what a read gathered to its handler, as the water marks and the
 * interval say. */
static void io_deliver_partial(dispatch_io_t ch, IoOp *op)
{
	size_t low = atomic_load(&ch->low), high = atomic_load(&ch->high);
	uint64_t interval = atomic_load(&ch->interval);
	size_t size = dispatch_data_get_size(op->data);

	while (high && size > high) {
		dispatch_data_t head = dispatch_data_create_subrange(op->data, 0, high);
		dispatch_data_t rest = dispatch_data_create_subrange(op->data, high, size - high);

		io_call(op, false, head, 0);
		dispatch_release(head);
		dispatch_release(op->data);
		op->data = rest;
		size -= high;
	}
	if (size == 0)
		return;
	if (size < low && !(interval && io_now() - op->last_delivery >= interval))
		return;
	io_call(op, false, op->data, 0);
	dispatch_release(op->data);
	op->data = dispatch_data_empty;
	op->last_delivery = io_now();
}

/* How many bytes to ask read(2) for. */
static size_t io_read_size(dispatch_io_t ch, IoOp *op)
{
	size_t want = op->length - op->done;
	int avail = 0;

	if (want > IO_CHUNK)
		want = IO_CHUNK;
	if (!ch->regular && ioctl(ch->fd, FIONREAD, &avail) == 0 && avail >= 0) {
		size_t hint = (size_t)avail > 4096 ? (size_t)avail : 4096;

		if (hint < want)
			want = hint;
	}
	return want;
}

static int io_read_step(dispatch_io_t ch, IoOp *op)
{
	size_t want = io_read_size(ch, op);
	char *buf = malloc(want);
	ssize_t n;

	if (!buf) {
		io_finish(ch, op, ENOMEM);
		return STEP_DONE;
	}
	if (ch->type == DISPATCH_IO_RANDOM)
		n = pread(ch->fd, buf, want, ch->base + op->offset + (off_t)op->done);
	else
		n = read(ch->fd, buf, want);
	if (n <= 0) {
		int err = n < 0 ? errno : 0;

		free(buf);
		if (err == EAGAIN || err == EWOULDBLOCK)
			return STEP_WAIT;
		if (err == EINTR)
			return STEP_AGAIN;
		io_finish(ch, op, err); /* 0: end of file */
		return STEP_DONE;
	}
	if ((size_t)n < want / 2) { /* do not keep a mostly empty buffer */
		char *fit = realloc(buf, (size_t)n);

		if (fit)
			buf = fit;
	}
	dispatch_data_t d = dispatch_data_create(buf, (size_t)n, NULL, DISPATCH_DATA_DESTRUCTOR_FREE);
	dispatch_data_t all = dispatch_data_create_concat(op->data, d);

	dispatch_release(d);
	dispatch_release(op->data);
	op->data = all;
	op->done += (size_t)n;
	io_deliver_partial(ch, op);
	if (op->done == op->length) {
		io_finish(ch, op, 0);
		return STEP_DONE;
	}
	return STEP_AGAIN;
}

/* write(2) that does not raise SIGPIPE on a socket (a pipe still does). */
static ssize_t io_write_fd(int fd, const void *buf, size_t len)
{
	ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

	if (n < 0 && errno == ENOTSOCK)
		n = write(fd, buf, len);
	return n;
}

static int io_write_step(dispatch_io_t ch, IoOp *op)
{
	size_t total = dispatch_data_get_size(op->data), off = 0, len;
	dispatch_data_t region, map;
	const void *buf;
	ssize_t n;

	if (total == 0) {
		io_finish(ch, op, 0);
		return STEP_DONE;
	}
	region = dispatch_data_copy_region(op->data, 0, &off);
	map = dispatch_data_create_map(region, &buf, &len);
	dispatch_release(region);
	if (!map) {
		io_finish(ch, op, ENOMEM);
		return STEP_DONE;
	}
	if (len > IO_CHUNK)
		len = IO_CHUNK;
	if (ch->type == DISPATCH_IO_RANDOM)
		n = pwrite(ch->fd, buf, len, ch->base + op->offset + (off_t)op->done);
	else if (ch->regular)
		n = write(ch->fd, buf, len);
	else
		n = io_write_fd(ch->fd, buf, len);
	dispatch_release(map);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return STEP_WAIT;
		if (errno == EINTR)
			return STEP_AGAIN;
		io_finish(ch, op, errno);
		return STEP_DONE;
	}
	dispatch_data_t rest = dispatch_data_create_subrange(op->data, (size_t)n, total - (size_t)n);
	dispatch_release(op->data);
	op->data = rest;
	op->done += (size_t)n;
	return STEP_AGAIN;
}

/* The first operation of direction @dir not behind a barrier. */
static IoOp *io_first_of(dispatch_io_t ch, int dir)
{
	IoOp *op;

	list_for_each_entry(op, &ch->ops, IoOp, link) {
		if (op->kind == IO_BARRIER)
			return NULL;
		if (op->kind == dir)
			return op;
	}
	return NULL;
}

/* The READ or WRITE source of @dir, made (inactive) on first use; its
 * events run the engine, its cancel handler is io.c's. */
static dispatch_source_t io_source(dispatch_io_t ch, int dir)
{
	dispatch_source_t s;

	if (ch->src[dir] || ch->ended)
		return ch->src[dir];
	s = dispatch_source_create(dir == IO_READ ? DISPATCH_SOURCE_TYPE_READ : DISPATCH_SOURCE_TYPE_WRITE,
				   (uintptr_t)ch->fd, 0, ch->q);
	if (!s)
		return NULL;
	atomic_fetch_add(&ch->holds, 1);
	dispatch_source_set_event_handler(s, ^{
		if (!dobject_try_retain(ch))
			return; /* the channel is ending */
		io_pump(ch);
		dobject_release(ch);
	});
	dispatch_source_set_cancel_handler(s, ^{
		io_source_gone(ch);
	});
	ch->src[dir] = s;
	return s;
}

static void io_source_set(dispatch_io_t ch, int dir, bool on)
{
	dispatch_source_t s;

	if (on == ch->src_on[dir] || (!on && !ch->src[dir]))
		return;
	s = io_source(ch, dir);
	if (!s)
		return;
	ch->src_on[dir] = on;
	if (on)
		dispatch_resume(s); /* the first resume activates it */
	else
		dispatch_suspend(s);
}

static void io_run_barriers(dispatch_io_t ch)
{
	IoOp *op;

	while ((op = list_first_entry(&ch->ops, IoOp, link)) && op->kind == IO_BARRIER) {
		list_unlink(&op->link);
		op->barrier();
		io_op_free(op);
		dobject_release(ch);
	}
}

/* One step of direction @dir.  Return: true when something progressed. */
static bool io_step_dir(dispatch_io_t ch, int dir)
{
	IoOp *op = io_first_of(ch, dir);
	int r;

	if (!op) {
		io_source_set(ch, dir, false);
		return false;
	}
	r = dir == IO_READ ? io_read_step(ch, op) : io_write_step(ch, op);
	if (r == STEP_WAIT) {
		io_source_set(ch, dir, true);
		return false;
	}
	return true;
}

static void io_pump_async(void *arg)
{
	dispatch_io_t ch = arg;

	io_pump(ch);
	dobject_release(ch);
}

static void io_pump(dispatch_io_t ch)
{
	int err;
	bool progressed = true;

	dobject_retain(ch);
	if (io_op_pending(ch) && (err = io_ensure_open(ch)) != 0)
		io_op_fail_all(ch, err);
	while (progressed && io_op_pending(ch)) {
		io_run_barriers(ch);
		progressed = io_step_dir(ch, IO_READ);
		progressed = io_step_dir(ch, IO_WRITE) || progressed;
		if (progressed && ch->regular) { /* one chunk per turn */
			dobject_retain(ch);
			if (dqueue_async(ch->q, ch, io_pump_async) < 0)
				dobject_release(ch);
			else
				break;
		}
	}
	io_run_barriers(ch);
	io_maybe_end(ch);
	dobject_release(ch);
}

static void io_op_submit(dispatch_io_t ch, IoOp *op)
{
	list_append(&ch->ops, &op->link);
	io_pump(ch);
}

static void io_op_cancel(dispatch_io_t ch, IoOp *op, int err)
{
	list_append(&ch->ops, &op->link);
	io_finish(ch, op, err);
}

static void io_op_fail_all(dispatch_io_t ch, int err)
{
	IoOp *op;

	while ((op = list_first_entry(&ch->ops, IoOp, link))) {
		if (op->kind == IO_BARRIER) {
			io_run_barriers(ch);
			continue;
		}
		io_finish(ch, op, err);
	}
}

/* ---- the operations' API ----------------------------------------------------------------- */

static IoOp *io_op_new(int kind, dispatch_queue_t queue, dispatch_io_handler_t handler)
{
	IoOp *op = calloc(1, sizeof(*op));

	if (!op)
		return NULL;
	list_node_init(&op->link);
	op->kind = kind;
	if (handler) {
		op->dq = dispatch_queue_create_with_target("com.apple.libdispatch-io.handlerq", NULL,
							   queue ? queue : dqueue_default_target());
		op->handler = Block_copy(handler);
		if (!op->dq || !op->handler) {
			io_op_free(op);
			return NULL;
		}
	}
	return op;
}

/* Queues @op on @ch (the op holds a reference on @ch until it ends); on a
 * closed channel the operation ends at once with ECANCELED. */
static void io_submit(dispatch_io_t ch, IoOp *op)
{
	dispatch_retain(ch);
	dispatch_async(ch->q, ^{
		if (ch->closed) {
			if (op->kind == IO_BARRIER) {
				io_op_free(op);
				dispatch_release(ch);
				return;
			}
			io_op_cancel(ch, op, ECANCELED);
			return;
		}
		io_op_submit(ch, op);
	});
}

void dispatch_io_read(dispatch_io_t channel, off_t offset, size_t length, dispatch_queue_t queue,
		      dispatch_io_handler_t io_handler)
{
	IoOp *op = io_op_new(IO_READ, queue, io_handler);

	if (!op)
		return;
	op->offset = offset;
	op->length = length;
	op->data = dispatch_data_empty;
	op->last_delivery = dispatch_time(DISPATCH_TIME_NOW, 0);
	io_submit(channel, op);
}

void dispatch_io_write(dispatch_io_t channel, off_t offset, dispatch_data_t data, dispatch_queue_t queue,
		       dispatch_io_handler_t io_handler)
{
	IoOp *op = io_op_new(IO_WRITE, queue, io_handler);

	if (!op)
		return;
	op->offset = offset;
	dispatch_retain(data);
	op->data = data;
	io_submit(channel, op);
}

void dispatch_io_barrier(dispatch_io_t channel, dispatch_block_t barrier)
{
	IoOp *op = io_op_new(IO_BARRIER, NULL, NULL);

	if (!op)
		return;
	op->barrier = Block_copy(barrier);
	if (!op->barrier) {
		io_op_free(op);
		return;
	}
	io_submit(channel, op);
}

void dispatch_io_close(dispatch_io_t channel, dispatch_io_close_flags_t flags)
{
	dispatch_retain(channel);
	dispatch_async(channel->q, ^{
		if (flags & DISPATCH_IO_STOP)
			io_op_fail_all(channel, ECANCELED);
		channel->closed = true;
		io_maybe_end(channel);
		dispatch_release(channel);
	});
}
