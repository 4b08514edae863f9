/* SPDX-License-Identifier: MIT */
/*
 * io.c - dispatch I/O channels: creation, settings, close, the end of a
 * channel, and the one-shot dispatch_read / dispatch_write (the engine that
 * runs operations is io-op.c).
 *
 * A channel owns a serial queue; every API call hops onto it.  A channel
 * made from a descriptor borrows it; one made from a path opens it
 * (close-on-exec) at its first operation and closes it at the end.  A pipe
 * or socket is made non-blocking while the channel uses it and its flags
 * are restored at the end (a channel made with dispatch_io_create_with_io
 * shares its parent's descriptor and leaves the flags to the parent).
 *
 * The end: once the channel is closed (dispatch_io_close, or its last
 * release) and no operation is left, its READ/WRITE sources are cancelled;
 * when their cancel handlers have run the descriptor is no longer watched:
 * its flags are restored, a path channel closes it, and the cleanup handler
 * is queued with the channel's error (0, or why it could not be used).
 * The memory stays until both the object's reference and the sources'
 * cancel handlers are gone (`holds`), so a late source handler never reads
 * freed memory.
 */
#include "dispatch/io-internal.h"
#include "dispatch/dqueue.h"
#include "shared/fdutil.h"

#include <Block.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void io_dispose(DispatchHead *h);

static const DispatchVtable io_vtable = {.kind = DOBJ_IO, .dispose = io_dispose};

/* Drops one hold; the last frees the memory. */
static void io_put(dispatch_io_t ch)
{
	if (atomic_fetch_sub(&ch->holds, 1) != 1)
		return;
	dispatch_release(ch->q);
	if (ch->cleanup_q)
		dispatch_release(ch->cleanup_q);
	if (ch->cleanup)
		Block_release(ch->cleanup);
	free(ch->path);
	free(ch);
}

/* ---- the end -------------------------------------------------------------------- */

static void io_cleanup_call(void *arg)
{
	dispatch_io_t ch = arg;

	ch->cleanup(ch->err);
	io_put(ch);
}

/* A channel sharing @parent's descriptor ended: @parent may end now. */
static void io_child_gone(dispatch_io_t parent)
{
	dispatch_async(parent->q, ^{
		parent->children--;
		io_maybe_end(parent);
		dispatch_release(parent);
	});
}

/* On q, once no source watches the descriptor any more. */
static void io_end_finish(dispatch_io_t ch)
{
	if (ch->restore_fl)
		fd_set_nonblock(ch->fd, false); /* as it was */
	if (ch->own_fd && ch->opened)
		close(ch->fd);
	if (ch->parent)
		io_child_gone(ch->parent);
	ch->parent = NULL;
	if (ch->cleanup) {
		atomic_fetch_add(&ch->holds, 1);
		if (dqueue_async(ch->cleanup_q, ch, io_cleanup_call) < 0)
			io_put(ch);
	}
}

static void io_source_cancelled(dispatch_io_t ch)
{
	if (atomic_fetch_sub(&ch->end_pending, 1) == 1)
		io_end_finish(ch);
	io_put(ch);
}

void io_maybe_end(dispatch_io_t ch)
{
	int n = 0;

	if (!ch->closed || io_op_pending(ch) || ch->ended || ch->children)
		return;
	ch->ended = true;
	for (int dir = 0; dir < 2; dir++)
		n += ch->src[dir] != NULL;
	atomic_store(&ch->end_pending, n);
	if (n == 0) {
		io_end_finish(ch);
		return;
	}
	for (int dir = 0; dir < 2; dir++) {
		if (!ch->src[dir])
			continue;
		dispatch_source_cancel(ch->src[dir]);
		if (!ch->src_on[dir])
			dispatch_resume(ch->src[dir]); /* a suspended source runs no cancel handler */
		dispatch_release(ch->src[dir]);
		ch->src[dir] = NULL;
	}
}

dispatch_source_t io_source(dispatch_io_t ch, int dir)
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
		io_source_cancelled(ch);
	});
	ch->src[dir] = s;
	return s;
}

/* On q, for the last release: close the channel, then drop its hold. */
static void io_dispose_on_q(void *arg)
{
	dispatch_io_t ch = arg;

	ch->closed = true;
	io_maybe_end(ch);
	io_put(ch);
}

static void io_dispose(DispatchHead *h)
{
	dispatch_io_t ch = (dispatch_io_t)h;

	/* Every operation and API call holds a reference: none is pending.
	 * The memory outlives the object (holds). */
	if (dqueue_async(ch->q, ch, io_dispose_on_q) < 0)
		io_dispose_on_q(ch); /* no memory: end here, nothing else runs on q */
}

/* ---- creation --------------------------------------------------------------------- */

/* Learns what the descriptor is; a pipe or socket becomes non-blocking. */
static void io_init_fd(dispatch_io_t ch, bool set_flags)
{
	struct stat st;

	if (fstat(ch->fd, &st) < 0) {
		ch->err = errno;
		return;
	}
	ch->regular = S_ISREG(st.st_mode) || S_ISBLK(st.st_mode);
	if (ch->type == DISPATCH_IO_RANDOM) {
		ch->base = lseek(ch->fd, 0, SEEK_CUR);
		if (ch->base < 0) {
			ch->err = errno == ESPIPE ? ESPIPE : errno;
			ch->base = 0;
		}
	}
	if (ch->regular || !set_flags)
		return;
	ch->orig_fl = fd_set_nonblock(ch->fd, true);
	if (ch->orig_fl >= 0 && !(ch->orig_fl & O_NONBLOCK))
		ch->restore_fl = true;
}

int io_ensure_open(dispatch_io_t ch)
{
	if (ch->err || ch->opened)
		return ch->err;
	ch->fd = open(ch->path, ch->oflag | O_CLOEXEC, ch->mode);
	if (ch->fd < 0) {
		ch->err = errno;
		return ch->err;
	}
	ch->opened = true;
	ch->own_fd = true;
	io_init_fd(ch, true);
	return ch->err;
}

static dispatch_io_t io_new(dispatch_io_type_t type, dispatch_queue_t queue, void (^cleanup)(int error))
{
	dispatch_io_t ch;

	if (type != DISPATCH_IO_STREAM && type != DISPATCH_IO_RANDOM)
		return NULL;
	dqueue_runtime_init();
	ch = calloc(1, sizeof(*ch));
	if (!ch)
		return NULL;
	ch->q = dispatch_queue_create("com.apple.libdispatch-io.channelq", NULL);
	if (!ch->q) {
		free(ch);
		return NULL;
	}
	dobject_init(&ch->head, &io_vtable);
	atomic_init(&ch->holds, 1);
	atomic_init(&ch->low, 1);
	atomic_init(&ch->high, SIZE_MAX);
	ch->type = (int)type;
	ch->fd = -1;
	list_node_init(&ch->ops);
	if (cleanup) {
		ch->cleanup = Block_copy(cleanup);
		ch->cleanup_q = queue ? queue : dqueue_default_target();
		dispatch_retain(ch->cleanup_q);
	}
	return ch;
}

dispatch_io_t dispatch_io_create(dispatch_io_type_t type, dispatch_fd_t fd, dispatch_queue_t queue,
				 void (^cleanup_handler)(int error))
{
	dispatch_io_t ch = io_new(type, queue, cleanup_handler);

	if (!ch)
		return NULL;
	ch->fd = fd;
	ch->opened = true;
	if (!fd_valid(fd))
		ch->err = EBADF;
	else
		io_init_fd(ch, true);
	return ch;
}

dispatch_io_t dispatch_io_create_with_path(dispatch_io_type_t type, const char *path, int oflag, mode_t mode,
					   dispatch_queue_t queue, void (^cleanup_handler)(int error))
{
	dispatch_io_t ch;

	if (!path || path[0] != '/')
		return NULL;
	ch = io_new(type, queue, cleanup_handler);
	if (!ch)
		return NULL;
	ch->path = strdup(path);
	if (!ch->path) {
		dispatch_release(ch);
		return NULL;
	}
	ch->oflag = oflag;
	ch->mode = mode;
	return ch;
}

/* Shares @io's descriptor (opening it first if @io is a path channel not
 * used yet); @io does not end (nor close the descriptor) before the new
 * channel has.  Must not be called on @io's own queue (a barrier of @io). */
dispatch_io_t dispatch_io_create_with_io(dispatch_io_type_t type, dispatch_io_t io, dispatch_queue_t queue,
					 void (^cleanup_handler)(int error))
{
	dispatch_io_t ch = io_new(type, queue, cleanup_handler);
	__block int fd = -1, err = 0;

	if (!ch)
		return NULL;
	dispatch_sync(io->q, ^{
		err = io->ended ? ECANCELED : io_ensure_open(io);
		fd = io->fd;
		io->children++; /* io_child_gone undoes it */
	});
	dispatch_retain(io);
	ch->parent = io;
	ch->fd = fd;
	ch->opened = true;
	ch->err = err;
	if (!err)
		io_init_fd(ch, false);
	return ch;
}

/* ---- settings --------------------------------------------------------------------- */

void dispatch_io_set_high_water(dispatch_io_t channel, size_t high_water)
{
	if (high_water == 0)
		high_water = 1;
	atomic_store(&channel->high, high_water);
	if (atomic_load(&channel->low) > high_water)
		atomic_store(&channel->low, high_water);
}

void dispatch_io_set_low_water(dispatch_io_t channel, size_t low_water)
{
	atomic_store(&channel->low, low_water);
	if (atomic_load(&channel->high) < low_water)
		atomic_store(&channel->high, low_water);
}

void dispatch_io_set_interval(dispatch_io_t channel, uint64_t interval, dispatch_io_interval_flags_t flags)
{
	atomic_store(&channel->interval, interval);
	atomic_store(&channel->interval_flags, flags);
}

dispatch_fd_t dispatch_io_get_descriptor(dispatch_io_t channel)
{
	__block int fd = -1;

	if (dqueue_is_current(channel->q)) { /* a barrier: the usual caller */
		fd = channel->opened && !channel->ended && !channel->err ? channel->fd : -1;
		return fd;
	}
	dispatch_sync(channel->q, ^{
		fd = channel->opened && !channel->ended && !channel->err ? channel->fd : -1;
	});
	return fd;
}

/* ---- operations ----------------------------------------------------------------- */

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

/* ---- dispatch_read, dispatch_write ------------------------------------------------ */

/* What a one-shot call gathers for its handler: heap state (not __block
 * variables: their storage would be freed by whichever thread drops the
 * last block, invisibly to TSan), freed by the cleanup handler. */
typedef struct {
	dispatch_data_t data; /* read: all the data; write: what is left */
	int err;
} IoOneShot;

/* The handler is called from the channel's cleanup handler: by then the
 * descriptor's flags are restored and the runtime no longer watches it. */
void dispatch_read(dispatch_fd_t fd, size_t length, dispatch_queue_t queue,
		   void (^handler)(dispatch_data_t data, int error))
{
	IoOneShot *st = calloc(1, sizeof(*st));
	dispatch_io_t ch;

	if (!st)
		return;
	st->data = dispatch_data_empty;
	ch = dispatch_io_create(DISPATCH_IO_STREAM, fd, queue, ^(int cleanup_err) {
		handler(st->data, st->err ? st->err : cleanup_err);
		dispatch_release(st->data);
		free(st);
	});
	if (!ch) {
		free(st);
		return;
	}
	dispatch_io_read(ch, 0, length, queue, ^(bool done, dispatch_data_t data, int error) {
		if (data && dispatch_data_get_size(data)) {
			dispatch_data_t more = dispatch_data_create_concat(st->data, data);

			dispatch_release(st->data);
			st->data = more;
		}
		if (done) {
			st->err = error;
			dispatch_io_close(ch, 0);
			dispatch_release(ch);
		}
	});
}

void dispatch_write(dispatch_fd_t fd, dispatch_data_t data, dispatch_queue_t queue,
		    void (^handler)(dispatch_data_t data, int error))
{
	IoOneShot *st = calloc(1, sizeof(*st));
	dispatch_io_t ch;

	if (!st)
		return;
	ch = dispatch_io_create(DISPATCH_IO_STREAM, fd, queue, ^(int cleanup_err) {
		handler(st->data, st->err ? st->err : cleanup_err);
		if (st->data)
			dispatch_release(st->data);
		free(st);
	});
	if (!ch) {
		free(st);
		return;
	}
	dispatch_io_write(ch, 0, data, queue, ^(bool done, dispatch_data_t rest, int error) {
		if (!done)
			return;
		st->err = error;
		if (rest) {
			dispatch_retain(rest);
			st->data = rest;
		}
		dispatch_io_close(ch, 0);
		dispatch_release(ch);
	});
}
