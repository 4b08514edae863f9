/* SPDX-License-Identifier: MIT */
/*
 * shared.c - entries into and out of a shared ring (shared.h): bounds
 * first, then bytes.  Nothing read from the ring is used before it was
 * checked, and nothing is read twice: the reader copies an entry's frame
 * out in one pass and parses the copy.
 */
#include "transport/ring/shared.h"

#include <string.h>

#define RING_MASK ((uint64_t)RING_DATA_SIZE - 1)

_Static_assert((RING_DATA_SIZE & (RING_DATA_SIZE - 1)) == 0, "ring data size is a power of two");

/* @n bytes at ring position @pos into @dst, across the end if need be. */
static void ring_copy_out(RingShared *r, uint64_t pos, void *dst, size_t n)
{
	size_t at = (size_t)(pos & RING_MASK), first = RING_DATA_SIZE - at;

	if (first >= n) {
		memcpy(dst, ring_data(r) + at, n);
		return;
	}
	memcpy(dst, ring_data(r) + at, first);
	memcpy((uint8_t *)dst + first, ring_data(r), n - first);
}

/* @n bytes of @src to ring position @pos, across the end if need be. */
static void ring_copy_in(RingShared *r, uint64_t pos, const void *src, size_t n)
{
	size_t at = (size_t)(pos & RING_MASK), first = RING_DATA_SIZE - at;

	if (first >= n) {
		memcpy(ring_data(r) + at, src, n);
		return;
	}
	memcpy(ring_data(r) + at, src, first);
	memcpy(ring_data(r), (const uint8_t *)src + first, n - first);
}

int ring_room(RingShared *r, uint64_t tail, size_t len)
{
	uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
	uint64_t used = tail - head;

	if (used > RING_DATA_SIZE)
		return -1;
	return RING_DATA_SIZE - used >= ring_entry_size(len);
}

void ring_put(RingShared *r, uint64_t *tail, uint64_t sock_before, const FrameHeader *hdr, const struct iovec *iov,
	      size_t n, size_t len)
{
	uint64_t at = *tail;
	uint32_t head[4] = {(uint32_t)(FRAME_HEADER_SIZE + len), 0, (uint32_t)sock_before,
			    (uint32_t)(sock_before >> 32)};

	ring_copy_in(r, at, head, sizeof(head));
	at += RING_ENTRY_HEADER;
	ring_copy_in(r, at, hdr, FRAME_HEADER_SIZE);
	at += FRAME_HEADER_SIZE;
	for (size_t i = 0; i < n; i++) {
		ring_copy_in(r, at, iov[i].iov_base, iov[i].iov_len);
		at += iov[i].iov_len;
	}
	*tail += ring_entry_size(FRAME_HEADER_SIZE + len);
	atomic_store_explicit(&r->tail, *tail, memory_order_release);
	atomic_fetch_add_explicit(&r->signal, 1, memory_order_release);
}

int ring_peek(RingShared *r, uint64_t head, RingEntry *ret)
{
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
	uint64_t avail = tail - head;
	uint32_t h[4];

	if (avail == 0)
		return 0;
	if (avail > RING_DATA_SIZE || avail < RING_ENTRY_HEADER)
		return -1;
	ring_copy_out(r, head, h, sizeof(h));
	if (h[0] < FRAME_HEADER_SIZE || h[0] > RING_FRAME_MAX || h[1] != 0 || ring_entry_size(h[0]) > avail)
		return -1;
	ret->len = h[0];
	ret->sock_before = (uint64_t)h[2] | (uint64_t)h[3] << 32;
	return 1;
}

void ring_take(RingShared *r, uint64_t *head, const RingEntry *e, uint8_t *dst)
{
	ring_copy_out(r, *head + RING_ENTRY_HEADER, dst, e->len);
	*head += ring_entry_size(e->len);
	atomic_store_explicit(&r->head, *head, memory_order_release);
}
