/* SPDX-License-Identifier: MIT */
/*
 * io-internal.h - the dispatch I/O channel, shared by io.c (channels:
 * creation, settings, the descriptor, the end of a channel), io-op.c (the
 * operations, their API and the engine that reads and writes) and
 * io-once.c (dispatch_read/_write).  Edges: io-once.c -> io-op.c -> io.c;
 * only io.c's functions are declared here (io-op.c shares none).
 *
 * Threads: every field below `q` is read and written only on the channel's
 * own serial queue `q` (API calls hop onto it with dispatch_async), except
 * `holds`, `end_pending` (atomics) and the settings (atomics).
 */
#ifndef XPC_DISPATCH_IO_INTERNAL_H
#define XPC_DISPATCH_IO_INTERNAL_H

#include "dispatch/internal.h"
#include "shared/list.h"

#include <stdbool.h>

#define IO_CHUNK (256u * 1024u) /* the most one read(2) asks for */

typedef struct IoOp IoOp;
struct IoOp {
	ListNode link;              /* on the channel's ops */
	int kind;                   /* IO_READ, IO_WRITE, IO_BARRIER */
	off_t offset;               /* random access: from the channel's base */
	size_t length, done;        /* read: wanted (SIZE_MAX: to EOF), so far */
	dispatch_data_t data;       /* write: what is left; read: not delivered */
	dispatch_queue_t dq;        /* serial, targets the handler queue */
	dispatch_io_handler_t handler; /* Block_copy'd; released by the last call */
	dispatch_block_t barrier;   /* IO_BARRIER: Block_copy'd */
	uint64_t last_delivery;     /* for set_interval */
};

enum { IO_READ = 0, IO_WRITE = 1, IO_BARRIER = 2 };

struct dispatch_io_s {
	DispatchHead head;
	atomic_int holds;       /* the object + each live source: free at 0 */
	atomic_int end_pending; /* sources whose cancel handler has not run */
	atomic_size_t low, high;
	atomic_uint_fast64_t interval;
	atomic_ulong interval_flags;
	dispatch_queue_t q; /* everything below: only on q */
	int type, fd, err;
	bool own_fd, opened, regular, restore_fl, closed, ended;
	int orig_fl;
	off_t base;
	char *path;
	int oflag;
	mode_t mode;
	ListNode ops; /* IoOp.link: pending operations, in submission order */
	dispatch_source_t src[2]; /* READ, WRITE: made when an op waits */
	bool src_on[2];           /* resumed */
	void (^cleanup)(int error); /* Block_copy'd, or NULL */
	dispatch_queue_t cleanup_q;
	dispatch_io_t parent; /* create_with_io: held until the end */
	int children;         /* channels sharing our descriptor: no end before */
};

/* Whether an operation is pending on @ch (on ch->q). */
static inline bool io_op_pending(dispatch_io_t ch)
{
	return !list_empty(&ch->ops);
}

/* io.c (on ch->q) */
/* The descriptor is open (a path channel opens it on first use).
 * Return: 0 or the errno the channel failed with. */
int io_ensure_open(dispatch_io_t ch);
/* Starts the end of the channel once it is closed and idle. */
void io_maybe_end(dispatch_io_t ch);
/* A READ/WRITE source's cancel handler ran: the last one finishes the end
 * of the channel; drops the source's hold. */
void io_source_gone(dispatch_io_t ch);

#endif
