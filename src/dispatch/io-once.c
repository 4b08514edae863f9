/* SPDX-License-Identifier: MIT */
/*
 * io-once.c - dispatch_read and dispatch_write: one read to the end of the
 * file (or `length` bytes) or one write of all the data on a descriptor,
 * each a stream channel of its own (io.c) with one operation (io-op.c),
 * closed when the operation ends.
 *
 * The top of the I/O files: it uses only the channel API (dispatch_io_*)
 * and neither io.c nor io-op.c calls it.
 */
#include "dispatch/io-internal.h"

#include <stdlib.h>

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
