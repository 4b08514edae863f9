/*
 * fuzz-ring.c - fuzz target for the reader of a shared ring
 * (src/transport/ring/shared.c): what a hostile writer can put in the
 * memory it shares with its peer.
 *
 * Input: bytes 0-3 the reader's start head (little endian), byte 4 its
 * high word (0: zero, else all ones: a head near the end of the u64
 * range); the rest fills a RingShared mapping of RING_MAP_SIZE bytes (the
 * header page, whose `tail` the writer sets, then the data), zero-padded.
 * The reader loops as the ring link does (src/transport/ring/link.c):
 * ring_peek() at its head, ring_take() of each entry it accepts into a
 * FRAME_PACKET_MAX buffer, frame_parse_header() of the copy (no
 * descriptors), and for an accepted BATCH frame_next_in_batch() over its
 * body; at most 64 entries per input.  The mapping is a heap block of
 * exactly RING_MAP_SIZE bytes, so a read outside it is caught by ASan.
 * Invariants checked: no crash; an accepted entry's length is within
 * [FRAME_HEADER_SIZE, RING_FRAME_MAX] and its entry lies between the head
 * and the tail the reader saw; ring_take() advances the head by the
 * entry's size and publishes exactly that head; an accepted MESSAGE or
 * REPLY is inline with exactly its body's bytes.
 */
#include "fuzz.h"
#include "transport/ring/shared.h"
#include "transport/transport.h"

#include <stdlib.h>
#include <string.h>

#define RING_FUZZ_PREFIX 5u
#define RING_FUZZ_ENTRIES 64

/* The frame copied out of an entry (@len bytes): as the link parses it. */
static void check_frame(const uint8_t *pkt, uint32_t len)
{
	FrameHeader h, in;
	size_t n;

	if (frame_parse_header(pkt, len, 0, &h) != 0)
		return;
	if ((h.kind == FRAME_MESSAGE || h.kind == FRAME_REPLY) &&
	    ((h.flags & FRAME_F_OOL) || h.body_len != len - FRAME_HEADER_SIZE))
		fuzz_fail("fuzz-ring: accepted frame of %u bytes says body_len %llu", len,
			  (unsigned long long)h.body_len);
	if (h.kind != FRAME_BATCH)
		return;
	for (size_t at = FRAME_HEADER_SIZE; at < len; at += n) {
		if (frame_next_in_batch(pkt + at, len - at, &in, &n) != 0)
			return;
		if (n < FRAME_HEADER_SIZE || n > len - at)
			fuzz_fail("fuzz-ring: inner frame of %zu bytes with %zu left", n, len - at);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static RingShared *r;
	static uint8_t pkt[FRAME_PACKET_MAX];
	uint32_t lo = 0;
	uint64_t head;

	if (!r && !(r = aligned_alloc(4096, RING_MAP_SIZE)))
		return 0;
	if (size < RING_FUZZ_PREFIX)
		return 0;
	memcpy(&lo, data, 4);
	head = (uint64_t)lo | (data[4] ? (uint64_t)0xffffffffu << 32 : 0);
	size -= RING_FUZZ_PREFIX;
	memset(r, 0, RING_MAP_SIZE);
	memcpy(r, data + RING_FUZZ_PREFIX, size < RING_MAP_SIZE ? size : RING_MAP_SIZE);

	for (int i = 0; i < RING_FUZZ_ENTRIES; i++) {
		uint64_t tail = atomic_load(&r->tail), before = head;
		RingEntry e;
		if (ring_peek(r, head, &e) != 1)
			break;
		if (e.len < FRAME_HEADER_SIZE || e.len > RING_FRAME_MAX || ring_entry_size(e.len) > tail - head)
			fuzz_fail("fuzz-ring: entry of %u bytes accepted at %llu (tail %llu)", e.len,
				  (unsigned long long)head, (unsigned long long)tail);
		ring_take(r, &head, &e, pkt);
		if (head != before + ring_entry_size(e.len) || atomic_load(&r->head) != head)
			fuzz_fail("fuzz-ring: head %llu after an entry of %u bytes at %llu", (unsigned long long)head,
				  e.len, (unsigned long long)before);
		check_frame(pkt, e.len);
	}
	return 0;
}
