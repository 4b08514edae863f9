/* SPDX-License-Identifier: MIT */
/*
 * stage.c - a link's reusable out-of-line buffer (unix.h,
 * TransportStage; docs/transport.md, "Staging").
 *
 * A sealed memfd cannot be written again, so every large message used to
 * cost a fresh memfd whose pages the kernel allocates one by one (~30 ms
 * for 64 MiB on the CI VM, more than copying the body twice).  A stage is a
 * memfd that one link keeps: sealed only against shrinking and growing (so
 * neither side can ever be made to SIGBUS on it), mapped read-write by the
 * sender for good, its body at TRANSPORT_STAGE_HDR.  Its first 8 bytes say
 * whether it is in use: the sender sets them to 1 before sending the frame
 * (flag FRAME_F_STAGED), the receiver copies the body into a buffer of its
 * own and then writes 0 there.  The sender reuses the stage only when it
 * reads 0; otherwise (the previous body not yet read) it falls back to a
 * fresh sealed memfd.  Since the receiver copies before using a byte, a
 * sender writing into a stage later cannot change what it received; a
 * receiver that lies about having read only hurts itself (it may read the
 * next body to itself early), and it can never see what the sender sends to
 * another link (one stage per link).
 *
 * Writing into a stage whose lines another CPU has read (the receiver's
 * copy of the previous body) is slow with ordinary stores: each line is
 * fetched back from that CPU's cache before it is overwritten, 110-190 us
 * per MiB against 30-40 us on the 2-CPU VM.  So the receiver, when it
 * marks the stage read, also writes 1 + the CPU it copied on at
 * TRANSPORT_STAGE_CPU, and a body of STAGE_STREAM_MIN or more goes in
 * with non-temporal stores (no fetch; the receiver then reads it from
 * memory) unless that CPU is the sender's own, where the lines are in
 * this cache and memcpy is faster.  A receiver that lies only chooses how
 * fast its own bodies are written.
 *
 * Limits: a stage holds at most TRANSPORT_STAGE_MAX bytes of body; all the
 * stages of the process together at most STAGE_TOTAL_MAX bytes (larger or
 * further bodies use fresh sealed memfds as before).  A link keeps its stage
 * until it ends.
 */
#include "transport/unix/unix.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <emmintrin.h>
#endif

#define STAGE_TOTAL_MAX ((size_t)160 << 20)
#define STAGE_MIN ((size_t)256 << 10)
#define STAGE_ROUND ((size_t)2 << 20)
#define STAGE_STREAM_MIN ((size_t)512 << 10)

struct TransportStage {
	int fd;
	uint8_t *map; /* @size bytes, read-write, shared */
	size_t size;  /* TRANSPORT_STAGE_HDR + the body capacity */
};

static atomic_size_t stage_total;

static void stage_free(TransportStage *st)
{
	if (!st)
		return;
	munmap(st->map, st->size);
	close(st->fd);
	atomic_fetch_sub(&stage_total, st->size);
	free(st);
}

/* The size of a stage for a body of @len: a power of two up to 2 MiB, then
 * multiples of 2 MiB, so that bodies of about one size reuse it. */
static size_t stage_size(size_t len)
{
	size_t need = TRANSPORT_STAGE_HDR + len, s = STAGE_MIN;

	if (need >= STAGE_ROUND)
		return (need + STAGE_ROUND - 1) & ~(STAGE_ROUND - 1);
	while (s < need)
		s <<= 1;
	return s;
}

static bool stage_reserve(size_t size)
{
	size_t cur = atomic_load(&stage_total);

	do {
		if (cur + size > STAGE_TOTAL_MAX)
			return false;
	} while (!atomic_compare_exchange_weak(&stage_total, &cur, cur + size));
	return true;
}

/* A new stage of @size bytes, its pages allocated and mapped up front. */
static TransportStage *stage_new(size_t size)
{
	TransportStage *st;

	if (!stage_reserve(size))
		return NULL;
	st = calloc(1, sizeof(*st));
	if (!st)
		goto fail;
	st->size = size;
	st->fd = memfd_create("xpc-stage", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (st->fd < 0)
		goto fail;
	if (ftruncate(st->fd, (off_t)size) < 0 ||
	    fcntl(st->fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		goto fail_fd;
	st->map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, st->fd, 0);
	if (st->map == MAP_FAILED)
		goto fail_fd;
	return st;
fail_fd:
	close(st->fd);
fail:
	free(st);
	atomic_fetch_sub(&stage_total, size);
	return NULL;
}

static _Atomic uint64_t *stage_word(TransportStage *st)
{
	return (_Atomic uint64_t *)(void *)st->map;
}

/* A stage free for a body of @len (the link's, or a replacement), or NULL. */
static TransportStage *stage_get(TransportStage *st, size_t len)
{
	if (st && atomic_load_explicit(stage_word(st), memory_order_acquire) != 0)
		return st; /* the previous body is not read yet: caller falls back */
	if (st && st->size >= TRANSPORT_STAGE_HDR + len)
		return st;
	stage_free(st);
	return stage_new(stage_size(len));
}

/* Should a body of @len bytes go into @st with non-temporal stores: is it
 * large, and was the previous one read on another CPU than this one?
 * Below STAGE_STREAM_MIN the body and the receiver's copy stay in the
 * caches and memcpy was as fast or faster (128-512 KiB measured with two
 * processes on the 2 CPUs: 3-18 us against 5-21). */
static bool stage_stream(TransportStage *st, size_t len)
{
	uint64_t hint = atomic_load_explicit((_Atomic uint64_t *)(void *)(st->map + TRANSPORT_STAGE_CPU),
					     memory_order_relaxed);
	int cpu;

	if (len < STAGE_STREAM_MIN || hint == 0)
		return false;
	cpu = sched_getcpu();
	return cpu < 0 || hint != (uint64_t)cpu + 1;
}

/* memcpy with non-temporal stores (x86-64; elsewhere memcpy): the lines
 * of @dst are written without being read first. */
static void stage_copy_stream(uint8_t *dst, const uint8_t *src, size_t n)
{
#if defined(__x86_64__)
	size_t head = (16 - ((uintptr_t)dst & 15)) & 15;

	if (n == 0)
		return;
	if (head > n)
		head = n;
	memcpy(dst, src, head);
	dst += head;
	src += head;
	n -= head;
	for (; n >= 64; n -= 64, dst += 64, src += 64)
		for (int k = 0; k < 64; k += 16)
			_mm_stream_si128((__m128i *)(void *)(dst + k),
					 _mm_loadu_si128((const __m128i *)(const void *)(src + k)));
	_mm_sfence();
#endif
	memcpy(dst, src, n);
}

/* While a sender writes into a stage, its slot holds this instead. */
#define STAGE_BUSY ((TransportStage *)(uintptr_t)1)

/* Copies the body into @st and returns a new descriptor of it, marked in
 * use; -EBUSY if its previous body is unread, or another negative errno. */
static int stage_fill(TransportStage *st, const struct iovec *iov, size_t n, size_t len)
{
	size_t off = TRANSPORT_STAGE_HDR;
	bool stream;
	int fd;

	if (atomic_load_explicit(stage_word(st), memory_order_acquire) != 0 || st->size < off + len)
		return -EBUSY;
	stream = stage_stream(st, len);
	for (size_t i = 0; i < n; i++) {
		if (iov[i].iov_len > TRANSPORT_STAGE_HDR + len - off)
			return -EINVAL;
		if (stream)
			stage_copy_stream(st->map + off, iov[i].iov_base, iov[i].iov_len);
		else if (iov[i].iov_len)
			memcpy(st->map + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	if (off != TRANSPORT_STAGE_HDR + len)
		return -EINVAL;
	fd = fcntl(st->fd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return -errno;
	atomic_store_explicit(stage_word(st), 1, memory_order_release);
	return fd;
}

int stage_write(TransportStage *_Atomic *slot, const struct iovec *iov, size_t n, size_t len)
{
	TransportStage *st, *busy = STAGE_BUSY;
	int fd;

	if (len > TRANSPORT_STAGE_MAX)
		return -E2BIG;
	st = atomic_exchange(slot, STAGE_BUSY);
	if (st == STAGE_BUSY)
		return -EBUSY; /* another sender is writing into it */
	st = stage_get(st, len);
	fd = st ? stage_fill(st, iov, n, len) : -ENOMEM;
	/* Back into the slot, unless the link ended meanwhile (dropped). */
	if (!atomic_compare_exchange_strong(slot, &busy, st))
		stage_free(st);
	return fd;
}

void stage_drop(TransportStage *_Atomic *slot)
{
	TransportStage *st = atomic_exchange(slot, NULL);

	if (st != STAGE_BUSY) /* a busy one is freed by its sender */
		stage_free(st);
}
