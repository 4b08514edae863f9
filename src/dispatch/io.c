/* SPDX-License-Identifier: MIT */
/*
 * io.c - dispatch I/O channels: creation, settings, the descriptor, and
 * the end of a channel (the operations and the engine that runs them are
 * io-op.c; the one-shot dispatch_read / dispatch_write io-once.c).
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
 *
 * Edges: the lowest of the three files: io-op.c and io-once.c call it, it
 * calls neither (io-op.c makes the READ/WRITE sources; this file only
 * cancels them at the end).
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

void io_source_gone(dispatch_io_t ch)
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
