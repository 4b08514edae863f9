/* SPDX-License-Identifier: MIT */
/*
 * <dispatch/io.h> - dispatch I/O: channels over a descriptor, read and
 * written asynchronously in chunks, and the one-shot dispatch_read and
 * dispatch_write.  Semantics (chunks, water marks, errors): docs/dispatch.md.
 */
#ifndef __DISPATCH_IO__
#define __DISPATCH_IO__

#include <dispatch/base.h>
#include <dispatch/time.h>

DISPATCH_BEGIN_DECLS

typedef int dispatch_fd_t;

#define DISPATCH_IO_STREAM 0
#define DISPATCH_IO_RANDOM 1
typedef unsigned long dispatch_io_type_t;

#define DISPATCH_IO_STOP 0x1
typedef unsigned long dispatch_io_close_flags_t;

#define DISPATCH_IO_STRICT_INTERVAL 0x1
typedef unsigned long dispatch_io_interval_flags_t;

#ifdef __BLOCKS__
DISPATCH_EXPORT void dispatch_read(dispatch_fd_t fd, size_t length, dispatch_queue_t queue,
				   void (^handler)(dispatch_data_t data, int error));
DISPATCH_EXPORT void dispatch_write(dispatch_fd_t fd, dispatch_data_t data, dispatch_queue_t queue,
				    void (^handler)(dispatch_data_t data, int error));

typedef void (^dispatch_io_handler_t)(bool done, dispatch_data_t data, int error);

DISPATCH_EXPORT DISPATCH_WARN_RESULT dispatch_io_t dispatch_io_create(dispatch_io_type_t type, dispatch_fd_t fd,
								       dispatch_queue_t queue,
								       void (^cleanup_handler)(int error));
DISPATCH_EXPORT DISPATCH_WARN_RESULT dispatch_io_t dispatch_io_create_with_path(
	dispatch_io_type_t type, const char *path, int oflag, mode_t mode, dispatch_queue_t queue,
	void (^cleanup_handler)(int error));
DISPATCH_EXPORT DISPATCH_WARN_RESULT dispatch_io_t dispatch_io_create_with_io(dispatch_io_type_t type,
									       dispatch_io_t io,
									       dispatch_queue_t queue,
									       void (^cleanup_handler)(int error));
DISPATCH_EXPORT void dispatch_io_read(dispatch_io_t channel, off_t offset, size_t length, dispatch_queue_t queue,
				      dispatch_io_handler_t io_handler);
DISPATCH_EXPORT void dispatch_io_write(dispatch_io_t channel, off_t offset, dispatch_data_t data,
				       dispatch_queue_t queue, dispatch_io_handler_t io_handler);
DISPATCH_EXPORT void dispatch_io_barrier(dispatch_io_t channel, dispatch_block_t barrier);
#endif
DISPATCH_EXPORT void dispatch_io_close(dispatch_io_t channel, dispatch_io_close_flags_t flags);
DISPATCH_EXPORT dispatch_fd_t dispatch_io_get_descriptor(dispatch_io_t channel);
DISPATCH_EXPORT void dispatch_io_set_high_water(dispatch_io_t channel, size_t high_water);
DISPATCH_EXPORT void dispatch_io_set_low_water(dispatch_io_t channel, size_t low_water);
DISPATCH_EXPORT void dispatch_io_set_interval(dispatch_io_t channel, uint64_t interval,
					      dispatch_io_interval_flags_t flags);

DISPATCH_END_DECLS

#endif /* __DISPATCH_IO__ */
