/* SPDX-License-Identifier: MIT */
/*
 * link.c - the ring link's ops (ring.h): a unix link whose small frames
 * each way go through a shared ring once both sides agreed.
 *
 * Sending (under the lock that orders the link's sends): the first send
 * offers this side's ring; a send after the peer's offer acknowledges it
 * first; once the peer acknowledged ours, an inline frame of at most
 * RING_FRAME_MAX bytes without descriptors goes into the ring if it has
 * room, and every other frame by the socket, counted (tx_sock) so that
 * the reader puts the two paths back in order (shared.h).  After a
 * publish, the reader's state in the ring says how to wake it: a
 * FUTEX_WAKE, a RING_BELL on the socket, or nothing (it is reading).
 *
 * Receiving (one reader at a time): the entry at the ring's head comes
 * next if no socket frame comes before it (its sock_before); a socket
 * frame read while the ring looked empty is held back (the stash) when an
 * entry that comes before it was published meanwhile.  A reader that
 * waits spins a little first (with XPC_SHARED_RING=1: ring_spin), then
 * waits on the ring's futex word (a bounded time: the link's receive
 * timeout, or RING_FUTEX_NS) and then on the socket, after saying so
 * (RING_RX_POLL), so that the peer's end, which wakes no futex, is seen
 * there; a link whose last frame came by the socket (large ones) waits
 * there at once.  Every receive leaves the state at
 * RING_RX_POLL: whoever reads next looks at the ring again, and a reader
 * that stops after one frame asks more().
 */
#include "transport/ring/ring.h"
#include "transport/ring/shared.h"
#include "transport/unix/unix.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* How long a reader without a receive timeout waits on the futex before
 * it waits on the socket (and so sees the peer's end at the latest). */
#define RING_FUTEX_NS (10 * 1000 * 1000L)
/* The least a timed wait waits (the socket's timeout is rounded up to a
 * clock tick, 1-4 ms; the futex's is not). */
#define RING_LINGER_MIN_US 2000L

struct TransportRing {
	/* the sender's */
	RingShared *tx;  /* this side's ring, once offered */
	uint64_t tx_tail;
	uint64_t tx_sock; /* frames sent by the socket since the offer */
	bool offered;
	bool tx_broken; /* no ring to write to: every frame by the socket */
	_Atomic bool tx_acked; /* set by the reader */
	_Atomic bool ack_due;  /* set by the reader, cleared by the sender */
	/* the reader's */
	RingShared *_Atomic rx; /* the peer's ring, once offered */
	uint64_t rx_head;
	uint64_t rx_sock; /* counted socket frames delivered since the peer's offer */
	uint64_t rx_all;  /* socket frames read since then, control ones too */
	uint64_t posted_stale; /* a `posted` the socket was found empty at */
	TransportFrame *stash;
	bool stashed;
	bool by_socket; /* the last frame came by the socket: wait there */
	unsigned spin_skip, spin_skipped;
	_Atomic long linger_us;
	_Atomic bool shut;
};

/* What ring_next does with the socket when the ring has nothing. */
enum { SOCK_IF_POSTED, SOCK_TRY, SOCK_WAIT };
#define RING_CONTROL (-1000) /* a control frame was read: look again */

/* How long a waiting reader spins before it sleeps, at most.  It spins
 * when its last spin found a frame within that time; after one that found
 * nothing it skips spinning for 1, 3, 7 ... up to RING_SPIN_SKIP_MAX
 * waits (doubling), so that a peer that answers in milliseconds (a busy
 * machine) costs a spin in hundreds of waits; and it never spins while
 * the peer's last publish came from the CPU it runs on (the peer could
 * not answer meanwhile: the ring's `cpu` hint).  A frame found only after
 * the time (the spinner was preempted) counts as nothing found. */
#define RING_SPIN_NS 30000L
#define RING_SPIN_SKIP_MAX 256u

static bool ring_wanted_v, ring_spin_v;

static void ring_wanted_init(void)
{
	const char *e = secure_getenv("XPC_SHARED_RING");

	ring_wanted_v = e && (strcmp(e, "1") == 0 || strcmp(e, "futex") == 0);
	/* spinning needs another CPU for the peer to run on meanwhile */
	ring_spin_v = ring_wanted_v && strcmp(e, "1") == 0 && sysconf(_SC_NPROCESSORS_ONLN) > 1;
}

bool ring_wanted(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, ring_wanted_init);
	return ring_wanted_v;
}

static long ring_futex(_Atomic uint32_t *word, int op, uint32_t val, long timeout_ns)
{
	struct timespec ts = {timeout_ns / 1000000000L, timeout_ns % 1000000000L};

	return syscall(SYS_futex, (uint32_t *)word, op, val, op == FUTEX_WAIT ? &ts : NULL, NULL, 0);
}

static uint64_t ring_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- sending ---------------------------------------------------------------- */

static int ring_send_control(int sock, uint8_t kind, int fd)
{
	FrameHeader h = {.kind = kind};

	return transport_sendv(sock, &h, NULL, 0, 0, fd >= 0 ? &fd : NULL, fd >= 0 ? 1 : 0, -1);
}

/* This side's ring: a sealed memfd, mapped, offered.  0 or -errno. */
static int ring_offer(TransportRing *g, int sock)
{
	int fd = memfd_create("xpc-ring", MFD_CLOEXEC | MFD_ALLOW_SEALING), r;
	RingShared *map;

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, RING_MAP_SIZE) < 0 || fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	map = mmap(NULL, RING_MAP_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		r = -errno;
		close(fd);
		return r;
	}
	map->magic = RING_MAGIC;
	map->data_size = RING_DATA_SIZE;
	r = ring_send_control(sock, FRAME_RING_OFFER, fd);
	close(fd);
	if (r < 0) {
		munmap(map, RING_MAP_SIZE);
		return r;
	}
	g->tx = map;
	return 0;
}

/* After a publish into the ring (@bell) or a send by the socket: wakes
 * the reader as it asked: a FUTEX_WAKE, or for a publish a RING_BELL to
 * one that waits on the socket (a socket frame wakes that one itself; a
 * reader that is reading looks again itself). */
static void ring_wake(TransportRing *g, int sock, bool bell)
{
	_Atomic uint32_t *st = &g->tx->rx_state;
	uint32_t s;

	atomic_thread_fence(memory_order_seq_cst);
	s = atomic_load_explicit(st, memory_order_relaxed);
	if (s == RING_RX_FUTEX && atomic_compare_exchange_strong(st, &s, RING_RX_RUNNING)) {
		ring_futex(&g->tx->signal, FUTEX_WAKE, 1, 0);
	} else if (bell && s == RING_RX_POLL && atomic_compare_exchange_strong(st, &s, RING_RX_RUNNING)) {
		if (ring_send_control(sock, FRAME_RING_BELL, -1) == 0)
			atomic_fetch_add_explicit(&g->tx->posted, 1, memory_order_release);
		/* (not sent: the socket is full, and its reader will look) */
	}
}

/* A frame went by the socket (after the offer): say so, wake the reader. */
static void ring_posted(TransportRing *g, int sock, bool counted)
{
	if (!g->tx)
		return;
	g->tx_sock += counted;
	atomic_fetch_add_explicit(&g->tx->posted, 1, memory_order_release);
	atomic_fetch_add_explicit(&g->tx->signal, 1, memory_order_release);
	ring_wake(g, sock, false);
}

/* The offer and the acknowledgement this side owes, before any frame.
 * 0, or what the socket said (-EAGAIN: nothing of the frame was sent). */
static int ring_send_owed(TransportRing *g, int sock)
{
	int r;

	if (!g->offered) {
		r = ring_offer(g, sock);
		if (r == -EAGAIN)
			return r;
		g->offered = true;
		g->tx_broken = r < 0; /* (no memfd: the socket for good) */
	}
	if (atomic_load_explicit(&g->ack_due, memory_order_acquire)) {
		r = ring_send_control(sock, FRAME_RING_ACK, -1);
		if (r < 0)
			return r;
		atomic_store_explicit(&g->ack_due, false, memory_order_relaxed);
		ring_posted(g, sock, false);
	}
	return 0;
}

/* Into the ring if it may go there and fits: 1 (sent), else 0. */
static int ring_put_frame(TransportLink *l, TransportRing *g, FrameHeader *hdr, const struct iovec *iov, size_t n,
			  size_t len, size_t n_fds, int ool_fd)
{
	int room;

	if (!g->tx || g->tx_broken || n_fds || ool_fd >= 0 || FRAME_HEADER_SIZE + len > RING_FRAME_MAX ||
	    !atomic_load_explicit(&g->tx_acked, memory_order_acquire))
		return 0;
	room = ring_room(g->tx, g->tx_tail, FRAME_HEADER_SIZE + len);
	if (room <= 0) {
		g->tx_broken = room < 0; /* the reader's head makes no sense */
		return 0;
	}
	hdr->magic = FRAME_MAGIC;
	hdr->body_len = len;
	hdr->n_fds = 0;
	hdr->flags &= (uint8_t)~(FRAME_F_OOL | FRAME_F_STAGED);
	ring_put(g->tx, &g->tx_tail, g->tx_sock, hdr, iov, n, len);
	if (ring_spin_v)
		atomic_store_explicit(&g->tx->cpu, (uint32_t)sched_getcpu() + 1, memory_order_relaxed);
	if (transport_capture_enabled())
		transport_capture_sent(l->fd, hdr, iov, n, -1);
	ring_wake(g, l->fd, true);
	return 1;
}

static int ring_link_send(TransportLink *l, FrameHeader *hdr, const struct iovec *iov, size_t n, size_t len,
			  const int *fds, size_t n_fds, int ool_fd)
{
	TransportRing *g = l->ring;
	int r = ring_send_owed(g, l->fd);

	if (r < 0)
		return r;
	if (ring_put_frame(l, g, hdr, iov, n, len, n_fds, ool_fd))
		return 0;
	r = transport_sendv(l->fd, hdr, iov, n, len, fds, n_fds, ool_fd);
	if (r == 0)
		ring_posted(g, l->fd, true);
	return r;
}

/* ---- receiving -------------------------------------------------------------- */

/* The peer's offer (the descriptor in @f): a memfd of RING_MAP_SIZE
 * bytes, sealed against shrinking, that maps writable.  0 or a
 * TRANSPORT_E_*. */
static int ring_map_offer(TransportRing *g, TransportFrame *f)
{
	int fd = f->fds[0], seals = fcntl(fd, F_GET_SEALS);
	struct stat st;
	RingShared *map;

	if (atomic_load_explicit(&g->rx, memory_order_relaxed))
		return TRANSPORT_E_RING_OFFER; /* one per link */
	if (seals < 0 || !(seals & F_SEAL_SHRINK) || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size != RING_MAP_SIZE)
		return TRANSPORT_E_RING_OFFER;
	map = mmap(NULL, RING_MAP_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return errno == ENOMEM ? -ENOMEM : TRANSPORT_E_RING_OFFER;
	g->rx_head = 0;
	g->rx_sock = 0;
	g->rx_all = 0;
	atomic_store_explicit(&map->head, 0, memory_order_relaxed);
	atomic_store_explicit(&map->rx_state, RING_RX_RUNNING, memory_order_relaxed);
	atomic_store_explicit(&g->rx, map, memory_order_release);
	atomic_store_explicit(&g->ack_due, true, memory_order_release);
	return 0;
}

/* A control frame in @f (consumed).  0 or a TRANSPORT_E_*. */
static int ring_control(TransportRing *g, TransportFrame *f)
{
	int r = 0;

	if (f->hdr.kind == FRAME_RING_OFFER)
		r = ring_wanted() ? ring_map_offer(g, f) : 0;
	else if (atomic_load_explicit(&g->rx, memory_order_relaxed))
		g->rx_all++;
	if (f->hdr.kind == FRAME_RING_ACK && g->tx)
		atomic_store_explicit(&g->tx_acked, true, memory_order_release);
	frame_clear(f);
	return r;
}

/* One frame from the socket into @f (@wait: blocking).  0 (a counted
 * frame), RING_CONTROL, -EAGAIN, or its failure. */
static int ring_socket(TransportLink *l, TransportRing *g, TransportFrame *f, bool wait)
{
	int r = wait ? transport_recv_wait(l->fd, f) : transport_recv(l->fd, f);

	if (r != 0)
		return r;
	if (frame_kind_ring_control(f->hdr.kind)) {
		r = ring_control(g, f);
		return r ? r : RING_CONTROL;
	}
	if (atomic_load_explicit(&g->rx, memory_order_relaxed))
		g->rx_all++;
	g->by_socket = true;
	return 0;
}

/* The ring's entry @e at the head, into @f as a packet would be. */
static int ring_take_entry(TransportLink *l, TransportRing *g, RingShared *rx, const RingEntry *e, TransportFrame *f)
{
	uint8_t *pkt = frame_packet_buffer(f);
	int r;

	frame_empty(f);
	if (!pkt)
		return -ENOMEM;
	ring_take(rx, &g->rx_head, e, pkt);
	r = frame_parse_header(pkt, e->len, 0, &f->hdr);
	if (r != 0)
		return r;
	if (f->hdr.kind != FRAME_MESSAGE && f->hdr.kind != FRAME_REPLY && f->hdr.kind != FRAME_BATCH)
		return TRANSPORT_E_RING;
	f->body = pkt + FRAME_HEADER_SIZE;
	g->by_socket = false;
	if (transport_capture_enabled())
		transport_capture_received(l->fd, f);
	return 0;
}

/* Holds the socket frame in @f back (an entry of the ring comes first);
 * @f is left empty.  0 or -ENOMEM. */
static int ring_stash(TransportRing *g, TransportFrame *f)
{
	if (!g->stash && !(g->stash = calloc(1, sizeof(*g->stash))))
		return -ENOMEM;
	frame_swap(g->stash, f);
	g->stashed = true;
	return 0;
}

/* The frame held back, into @f (empty). */
static void ring_unstash(TransportRing *g, TransportFrame *f)
{
	frame_swap(f, g->stash);
	frame_clear(g->stash);
	object_buffer_release(g->stash->pkt);
	g->stash->pkt = NULL;
	g->stashed = false;
	g->rx_sock++;
}

/* A socket frame just read into @f (counted): delivered, unless an entry
 * of the ring comes before it (then that one is, and @f's is held). */
static int ring_after_socket(TransportLink *l, TransportRing *g, TransportFrame *f)
{
	RingShared *rx = atomic_load_explicit(&g->rx, memory_order_acquire);
	RingEntry e;
	int r;

	if (!rx)
		return 0;
	r = ring_peek(rx, g->rx_head, &e);
	if (r < 0)
		return TRANSPORT_E_RING;
	if (r == 0 || e.sock_before > g->rx_sock) {
		g->rx_sock++;
		return 0;
	}
	if (e.sock_before < g->rx_sock)
		return TRANSPORT_E_RING;
	r = ring_stash(g, f);
	return r ? r : ring_take_entry(l, g, rx, &e, f);
}

/* The next frame in order into @f: 0, RING_CONTROL, -EAGAIN (nothing, as
 * far as @sock let it look), or a failure. */
static int ring_next(TransportLink *l, TransportRing *g, TransportFrame *f, int sock)
{
	RingShared *rx = atomic_load_explicit(&g->rx, memory_order_acquire);
	RingEntry e;
	int r = rx ? ring_peek(rx, g->rx_head, &e) : 0;

	frame_empty(f); /* (a failure below may touch it not at all) */
	if (r < 0)
		return TRANSPORT_E_RING;
	if (r == 1 && e.sock_before < g->rx_sock)
		return TRANSPORT_E_RING;
	if (r == 1 && e.sock_before == g->rx_sock)
		return ring_take_entry(l, g, rx, &e, f);
	if (g->stashed) {
		ring_unstash(g, f);
		return 0;
	}
	if (r == 1) {
		/* the socket's next frame comes first: its sender sent it
		 * before it published this entry, so it is there */
		r = ring_socket(l, g, f, false);
		if (r == 0)
			g->rx_sock++;
		return r == -EAGAIN ? TRANSPORT_E_RING : r;
	}
	if (sock == SOCK_IF_POSTED && rx && !atomic_load(&g->shut)) {
		/* the peer says what it sent by the socket: no look when
		 * nothing (a peer that lies gets one look per new value) */
		uint64_t p = atomic_load_explicit(&rx->posted, memory_order_acquire);
		if (p == g->rx_all || p == g->posted_stale)
			return -EAGAIN;
		r = ring_socket(l, g, f, false);
		if (r == -EAGAIN)
			g->posted_stale = p;
	} else {
		r = ring_socket(l, g, f, sock == SOCK_WAIT);
	}
	return r == 0 ? ring_after_socket(l, g, f) : r;
}

/* Whether a reader would find something now (rx mapped). */
static bool ring_ready(TransportRing *g, RingShared *rx)
{
	uint64_t p = atomic_load_explicit(&rx->posted, memory_order_acquire);

	return g->stashed || ring_nonempty(rx, g->rx_head) || (p != g->rx_all && p != g->posted_stale) ||
	       atomic_load_explicit(&g->shut, memory_order_acquire);
}

/* Says how the reader waits next (@state), then whether it need not. */
static bool ring_announce(TransportRing *g, RingShared *rx, uint32_t state)
{
	atomic_store_explicit(&rx->rx_state, state, memory_order_relaxed);
	atomic_thread_fence(memory_order_seq_cst);
	return ring_ready(g, rx);
}

/* Leaves the reader's state at RING_RX_POLL (see the header). */
static int ring_leave(TransportRing *g, int r)
{
	RingShared *rx = atomic_load_explicit(&g->rx, memory_order_acquire);

	if (rx)
		atomic_store_explicit(&rx->rx_state, RING_RX_POLL, memory_order_relaxed);
	return r;
}

static inline void ring_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield");
#endif
}

/* Spins a while for the peer's next publish (RUNNING: it need not wake
 * us), as the rule above allows.  Whether it came. */
static bool ring_spin(TransportRing *g, RingShared *rx)
{
	uint64_t start, now;

	if (!ring_spin_v || ++g->spin_skipped < g->spin_skip)
		return false;
	/* the peer last wrote on this CPU: it cannot answer while we spin */
	if (atomic_load_explicit(&rx->cpu, memory_order_relaxed) == (uint32_t)sched_getcpu() + 1)
		return false;
	g->spin_skipped = 0;
	start = ring_now_ns();
	atomic_store_explicit(&rx->rx_state, RING_RX_RUNNING, memory_order_relaxed);
	do {
		for (int i = 0; i < 64; i++) {
			if (ring_ready(g, rx))
				goto found;
			ring_relax();
		}
		now = ring_now_ns();
	} while (now - start < (uint64_t)RING_SPIN_NS);
	goto missed;
found:
	now = ring_now_ns();
	if (now - start <= (uint64_t)RING_SPIN_NS) { /* (not after a preemption) */
		g->spin_skip = 1;
		return true;
	}
missed:
	g->spin_skip = !g->spin_skip ? 2 : g->spin_skip < RING_SPIN_SKIP_MAX ? g->spin_skip * 2 : RING_SPIN_SKIP_MAX;
	return now - start > (uint64_t)RING_SPIN_NS && ring_ready(g, rx);
}

/* Waits up to @ns on the futex for the peer's next publish. */
static void ring_futex_wait(TransportRing *g, RingShared *rx, long ns)
{
	uint32_t sig = atomic_load_explicit(&rx->signal, memory_order_acquire);

	if (!ring_announce(g, rx, RING_RX_FUTEX))
		ring_futex(&rx->signal, FUTEX_WAIT, sig, ns);
	atomic_store_explicit(&rx->rx_state, RING_RX_RUNNING, memory_order_relaxed);
}

static int ring_recv_wait(TransportLink *l, TransportRing *g, TransportFrame *f)
{
	long linger = atomic_load_explicit(&g->linger_us, memory_order_relaxed);
	long futex_ns = linger ? (linger > RING_LINGER_MIN_US ? linger : RING_LINGER_MIN_US) * 1000 : RING_FUTEX_NS;
	uint64_t start = ring_now_ns();
	bool spun = false;

	for (;;) {
		RingShared *rx = atomic_load_explicit(&g->rx, memory_order_acquire);
		int r = ring_next(l, g, f, rx ? SOCK_IF_POSTED : SOCK_WAIT);
		if (r == RING_CONTROL)
			continue;
		if (r != -EAGAIN || !rx)
			return r;
		if (!spun && !g->by_socket) {
			spun = true;
			if (ring_spin(g, rx))
				continue;
		}
		long spent = g->by_socket ? futex_ns : (long)(ring_now_ns() - start);
		if (spent < futex_ns) {
			ring_futex_wait(g, rx, futex_ns - spent);
			continue;
		}
		if (linger && !g->by_socket) {
			/* ends as the socket's receive timeout would, once the
			 * state says POLL (a publish seen RUNNING is looked at) */
			if (ring_announce(g, rx, RING_RX_POLL))
				continue;
			return -EAGAIN;
		}
		if (ring_announce(g, rx, RING_RX_POLL))
			continue;
		r = ring_next(l, g, f, SOCK_WAIT); /* a bell, a frame, the end */
		if (r != RING_CONTROL)
			return r;
	}
}

static int ring_recv_try(TransportLink *l, TransportRing *g, TransportFrame *f)
{
	for (;;) {
		int r = ring_next(l, g, f, SOCK_TRY);
		RingShared *rx;
		if (r == RING_CONTROL)
			continue;
		if (r != -EAGAIN || !(rx = atomic_load_explicit(&g->rx, memory_order_acquire)))
			return r;
		/* the socket was just found empty: only the ring counts */
		atomic_store_explicit(&rx->rx_state, RING_RX_POLL, memory_order_relaxed);
		atomic_thread_fence(memory_order_seq_cst);
		if (!g->stashed && !ring_nonempty(rx, g->rx_head))
			return r;
	}
}

static int ring_link_recv(TransportLink *l, TransportFrame *f, bool wait)
{
	TransportRing *g = l->ring;
	RingShared *rx = atomic_load_explicit(&g->rx, memory_order_acquire);

	if (rx)
		atomic_store_explicit(&rx->rx_state, RING_RX_RUNNING, memory_order_relaxed);
	return ring_leave(g, wait ? ring_recv_wait(l, g, f) : ring_recv_try(l, g, f));
}

/*
 * Two frames: the first as recv(); the second only if the ring holds it,
 * or (not waiting) as recv() would find it.  A wait that found the ring
 * and the socket empty says so (-EAGAIN: its reader holds the source, whose
 * resume reports what the socket got meanwhile); otherwise -ENODATA.
 */
static int ring_link_recv_two(TransportLink *l, TransportFrame *f, TransportFrame *f2, bool wait, int *ret_2)
{
	TransportRing *g = l->ring;
	RingShared *rx;
	int r = ring_link_recv(l, f, wait);

	*ret_2 = -EAGAIN;
	if (r != 0)
		return r;
	rx = atomic_load_explicit(&g->rx, memory_order_acquire);
	if (!wait || !rx) {
		*ret_2 = ring_link_recv(l, f2, false);
	} else if (!ring_announce(g, rx, RING_RX_POLL)) {
		*ret_2 = -EAGAIN; /* nothing in the ring, nothing said sent */
	} else {
		atomic_store_explicit(&rx->rx_state, RING_RX_RUNNING, memory_order_relaxed);
		*ret_2 = ring_leave(g, ring_next(l, g, f2, SOCK_IF_POSTED));
		if (*ret_2 == RING_CONTROL || *ret_2 == -EAGAIN)
			*ret_2 = -ENODATA;
	}
	if (*ret_2 != 0 && *ret_2 != -EAGAIN && *ret_2 != -ENODATA)
		frame_clear(f2);
	return r;
}

static bool ring_link_wait_readable(TransportLink *l, long timeout_us)
{
	TransportRing *g = l->ring;
	RingShared *rx = atomic_load_explicit(&g->rx, memory_order_acquire);
	uint64_t start = ring_now_ns(), end = start + (uint64_t)timeout_us * 1000;

	if (!rx)
		return unix_link_ops.wait_readable(l, timeout_us);
	for (;;) {
		uint64_t now = ring_now_ns();
		if (ring_ready(g, rx))
			return ring_leave(g, true);
		if (now >= end) /* (a publish seen RUNNING since the look above) */
			return ring_announce(g, rx, RING_RX_POLL);
		if (now - start < (uint64_t)RING_FUTEX_NS) {
			uint64_t left = end - now, phase = start + RING_FUTEX_NS - now;
			ring_futex_wait(g, rx, (long)(left < phase ? left : phase));
			continue;
		}
		if (ring_announce(g, rx, RING_RX_POLL))
			return true;
		return unix_link_ops.wait_readable(l, (long)((end - now) / 1000));
	}
}

static bool ring_link_more(TransportLink *l)
{
	TransportRing *g = l->ring;
	RingShared *rx = atomic_load_explicit(&g->rx, memory_order_acquire);

	return rx && ring_announce(g, rx, RING_RX_POLL);
}

static int ring_link_set_recv_timeout(TransportLink *l, long us)
{
	atomic_store_explicit(&l->ring->linger_us, us, memory_order_relaxed);
	return unix_link_ops.set_recv_timeout(l, us);
}

/* Wakes a reader waiting on the futex or the socket: it sees the end. */
static void ring_link_shutdown(TransportLink *l)
{
	TransportRing *g = l->ring;
	RingShared *rx = atomic_load_explicit(&g->rx, memory_order_acquire);

	atomic_store_explicit(&g->shut, true, memory_order_release);
	if (rx) {
		atomic_fetch_add_explicit(&rx->signal, 1, memory_order_release);
		ring_futex(&rx->signal, FUTEX_WAKE, INT_MAX, 0);
	}
	unix_link_ops.shutdown(l);
}

/* ---- the rest is the socket's ------------------------------------------------ */

static int ring_link_stop_creds(TransportLink *l)
{
	return unix_link_ops.stop_creds(l);
}

static int ring_link_peer_creds(TransportLink *l, TransportCreds *ret)
{
	return unix_link_ops.peer_creds(l, ret);
}

static int ring_link_peer_pidfd(TransportLink *l)
{
	return unix_link_ops.peer_pidfd(l);
}

static ssize_t ring_link_peer_label(TransportLink *l, char *buf, size_t size)
{
	return unix_link_ops.peer_label(l, buf, size);
}

static bool ring_link_peer_gone(TransportLink *l)
{
	return unix_link_ops.peer_gone(l);
}

static int ring_link_body(TransportLink *l, const struct iovec *iov, size_t n, size_t len, uint8_t *flags)
{
	return unix_link_ops.body(l, iov, n, len, flags);
}

static void ring_link_reset(TransportLink *l)
{
	unix_link_ops.reset(l);
}

const TransportOps ring_link_ops = {
	.name = "unix+ring",
	.caps = TRANSPORT_CAP_FDS | TRANSPORT_CAP_CREDS | TRANSPORT_CAP_OOL,
	.send = ring_link_send,
	.recv = ring_link_recv,
	.recv_two = ring_link_recv_two,
	.wait_readable = ring_link_wait_readable,
	.set_recv_timeout = ring_link_set_recv_timeout,
	.stop_creds = ring_link_stop_creds,
	.peer_creds = ring_link_peer_creds,
	.peer_pidfd = ring_link_peer_pidfd,
	.peer_label = ring_link_peer_label,
	.peer_gone = ring_link_peer_gone,
	.body = ring_link_body,
	.shutdown = ring_link_shutdown,
	.reset = ring_link_reset,
	.more = ring_link_more,
};

int ring_link_start(TransportLink *l)
{
	TransportRing *g;

	if (!ring_wanted() || l->ring)
		return 0;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	l->ring = g;
	l->ops = &ring_link_ops;
	return 0;
}

TransportRing *ring_link_detach(TransportLink *l)
{
	TransportRing *g = l->ring;

	l->ring = NULL;
	l->ops = &unix_link_ops;
	return g;
}

void ring_free(TransportRing *g)
{
	RingShared *rx;

	if (!g)
		return;
	rx = atomic_load_explicit(&g->rx, memory_order_relaxed);
	if (rx)
		munmap(rx, RING_MAP_SIZE);
	if (g->tx)
		munmap(g->tx, RING_MAP_SIZE);
	if (g->stash) {
		frame_clear(g->stash);
		object_buffer_release(g->stash->pkt);
		free(g->stash);
	}
	free(g);
}
