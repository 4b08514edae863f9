/* SPDX-License-Identifier: MIT */
/*
 * shared.h - the shared ring's memory, as both peers see it, and the pure
 * functions that write and read its entries (shared.c; no system calls,
 * so the reader can be fuzzed: fuzz/fuzz-ring.c).
 *
 * A ring carries frames one way, from the process that made it (its
 * writer: a sealed memfd of RING_MAP_SIZE bytes, offered in a RING_OFFER
 * frame) to the peer that mapped it (its reader).  The first page holds
 * the indices, each on a cache line of its own; the data follows.  Every
 * word is written by one side only, and the other side trusts none of
 * them: the reader keeps its own head and checks every entry against the
 * ring's bounds before it copies the entry out (the copy is what it
 * parses: the writer can change the ring under it at any time); the
 * writer keeps its own tail and takes a head that makes no sense as a
 * ring it can no longer use (its frames go by the socket then).
 *
 * An entry: 16 bytes (the frame's length, 0, and `sock_before`: how many
 * frames the writer had sent by the socket since its offer, control
 * frames excepted), then the frame as a packet would carry it (header and
 * inline body, no descriptors), padded to 8 bytes.  Entries may wrap
 * around the end of the data.  `sock_before` is what orders the two
 * paths: a frame in the ring comes after exactly that many of the
 * socket's (docs/transport.md, "Shared rings").
 */
#ifndef XPC_TRANSPORT_RING_SHARED_H
#define XPC_TRANSPORT_RING_SHARED_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "transport/frame.h"

#define RING_MAGIC 0x52435058u /* "XPCR" */
#define RING_HEADER_SIZE 4096u
#define RING_DATA_SIZE (32u * 1024u)            /* a power of two */
#define RING_MAP_SIZE (RING_HEADER_SIZE + RING_DATA_SIZE)
#define RING_ENTRY_HEADER 16u
#define RING_FRAME_MAX 4096u /* larger frames go by the socket */

/* What the reader says it is doing (RingShared.rx_state). */
enum {
	RING_RX_RUNNING = 0, /* reading: it looks at the ring again before it waits */
	RING_RX_FUTEX = 1,   /* waiting on the futex `signal`: wake it */
	RING_RX_POLL = 2,    /* waiting on the socket: send a RING_BELL */
};

typedef struct RingShared {
	uint32_t magic;
	uint32_t data_size;
	uint8_t pad0[56];
	/* the writer's */
	_Alignas(64) _Atomic uint64_t tail; /* bytes ever written */
	_Atomic uint64_t posted;            /* socket frames sent since the offer, control ones too */
	_Atomic uint32_t signal;            /* bumped at every publish: the futex word */
	_Atomic uint32_t cpu;               /* 1 + the CPU of the last publish (a hint) */
	uint8_t pad1[40];
	/* the reader's */
	_Alignas(64) _Atomic uint64_t head; /* bytes ever read */
	_Atomic uint32_t rx_state;          /* RING_RX_* */
} RingShared;

_Static_assert(sizeof(RingShared) <= RING_HEADER_SIZE, "ring header");

static inline uint8_t *ring_data(RingShared *r)
{
	return (uint8_t *)r + RING_HEADER_SIZE;
}

/* Bytes an entry of a frame of @len bytes takes. */
static inline uint64_t ring_entry_size(uint64_t len)
{
	return RING_ENTRY_HEADER + ((len + 7) & ~(uint64_t)7);
}

/*
 * ring_room() - can the writer put an entry of a @len-byte frame at its
 * @tail?  Return: 1 yes, 0 not now (full), -1 never (the head the reader
 * published is not one of this ring's: ahead of the tail, or more than the
 * ring behind it).
 */
int ring_room(RingShared *r, uint64_t tail, size_t len);

/*
 * ring_put() - write the frame @hdr + @iov (@n pieces, @len bytes of body)
 * at *@tail and publish it (the new tail, then `signal`).  The caller
 * checked ring_room() and filled @hdr (magic, body_len).
 */
void ring_put(RingShared *r, uint64_t *tail, uint64_t sock_before, const FrameHeader *hdr, const struct iovec *iov,
	      size_t n, size_t len);

/* The entry at the reader's head (ring_peek). */
typedef struct RingEntry {
	uint32_t len;         /* the frame's bytes: header and body */
	uint64_t sock_before; /* socket frames it comes after */
} RingEntry;

/*
 * ring_peek() - the entry at @head, checked against the ring's bounds
 * (its length, and that all of it lies between @head and the tail).
 * Return: 1 (*@ret is it), 0 (the ring is empty), or -1 (it is not a
 * ring's: the writer broke it).
 */
int ring_peek(RingShared *r, uint64_t head, RingEntry *ret);

/* Copies the frame of the entry @e at @head into @dst (@e->len bytes),
 * advances *@head past it and publishes it. */
void ring_take(RingShared *r, uint64_t *head, const RingEntry *e, uint8_t *dst);

/* Whether the ring holds an entry at @head (one load; not checked). */
static inline int ring_nonempty(RingShared *r, uint64_t head)
{
	return atomic_load_explicit(&r->tail, memory_order_acquire) != head;
}

#endif
