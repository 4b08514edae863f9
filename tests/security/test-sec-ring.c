/* SPDX-License-Identifier: MIT */
/*
 * test-sec-ring - a hostile peer of a shared ring (src/transport/ring/,
 * docs/transport.md "Shared rings"): one scenario per run.
 *
 *   test-sec-ring SCENARIO          the test (root): a ROOT sec-service
 *                                   with XPC_SHARED_RING=1 behind a private
 *                                   xpcd, attacked by this same program run
 *                                   as nobody
 *   test-sec-ring attack SCENARIO NAME  the attacker (nobody): links of its own
 *                                   checked in to the service through the
 *                                   broker's checkin op, on which it speaks
 *                                   frames by hand (transport_sendv) and
 *                                   writes its ring itself; prints one line
 *                                   "done SCENARIO CASE=RESULT ..." (or
 *                                   "ready ..." and waits to be killed)
 *
 * Scenarios (the attacker's link to the service, "ended" = the service
 * closed it within 3 s):
 *   offer-bad    RING_OFFER carrying a pipe, a file of /tmp, an unsealed
 *                memfd, a memfd of the wrong size, one sealed against
 *                writing: each link ended, none of them mapped or kept
 *   offer-twice  a link with one good offer is answered; a second offer
 *                ends it
 *   entries      after an offer acknowledged and one request that went
 *                through the ring, one hostile entry per link (length out
 *                of bounds, pad word, the tail ahead or behind, an entry
 *                past the tail, sock_before behind or ahead, headers the
 *                parser refuses, a good request and a bad length in one
 *                publish), all published at once: each link ended, a
 *                bystander link kept
 *   race         three links at once, each writing requests into its
 *                ring while a thread flips bytes of the rings and their
 *                tails, for 2 s: the service stays up, every reply it
 *                sends is well-formed
 *   spam         `posted` and `signal` bumped and FUTEX_WAKE in a loop for
 *                3 s: the service stays under half a core
 *   head         nonsense written into the head and rx_state of the
 *                SERVICE's ring (mapped from its offer, acknowledged):
 *                its replies still come (by the socket, or the ring)
 *   no-ack       the service's offer is never acknowledged: every reply
 *                comes by the socket
 *   dies-waiting the attacker, its ring established, is SIGKILLed as a
 *                reply comes (the service's worker lingers on the ring):
 *                the service drops the link's descriptors and rings in 2 s
 *   plain        to the same service without XPC_SHARED_RING: offers
 *                (good and bad), ACKs and BELLs between requests are
 *                ignored, every request answered, nothing mapped or kept
 * After each: the same service instance answers root, holds no more
 * descriptors than before the attack (counted after one plain request
 * of nobody's, which leaves its own channel open: docs/security.md,
 * "Per-user channels") and maps nothing of the attacker's.  The
 * service's fresh memory is perturbed (MALLOC_PERTURB_ without glibc's
 * thread cache), so that what a reader leaves unset shows as it does
 * under ASan.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sec-common.h"
#include "transport/ring/shared.h"
#include "transport/unix/unix.h"
#include "wire/wire.h"

#define NAME "org.sec.ring"   /* XPC_SHARED_RING=1 */
#define PLAIN "org.sec.plain" /* the same service without it */
#define ATTACKER_MEMFD "sec-ring-attacker" /* what the service's maps must never show */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ==== the attacker (nobody) ============================================ */

typedef struct Att {
	int fd;
	RingShared *tx;   /* our ring (offered), NULL if none */
	uint64_t tail;    /* ours */
	uint64_t sock;    /* counted frames sent by the socket since our offer */
	bool acked;       /* the service acknowledged our ring */
	RingShared *svc;  /* the service's ring, mapped when we map it */
	uint64_t svc_head;
	bool map_svc;     /* map the service's offer */
	uint64_t id;
	unsigned by_ring; /* replies read from the service's ring */
} Att;

static WireBuffer whoami;
/* What the attacker's socket reads go into (one per thread: race; a
 * thread that ends releases it) */
static _Thread_local TransportFrame att_frame;
static const char *att_name = NAME; /* the service attacked */

static void whoami_init(void)
{
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0);
	WireFds fds = {0};

	xpc_dictionary_set_string(m, "op", "whoami");
	REQUIRE(wire_encode_message(m, &whoami, &fds) == 0);
	wire_fds_free(&fds);
	xpc_release(m);
}

static int futex_wake(_Atomic uint32_t *w)
{
	return (int)syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* A link of ours checked in to the service (its HELLO read), or false. */
static bool att_connect(Att *a, bool map_svc)
{
	TransportFrame *f = &att_frame;
	int sv[2];
	xpc_object_t r;
	bool hello;

	memset(a, 0, sizeof(*a));
	a->fd = -1;
	a->map_svc = map_svc;
	a->id = 1;
	REQUIRE(unix_link_pair(sv) == 0);
	r = sec_raw_checkin(getenv("XPCD_SOCKET"), att_name, sv[1]);
	if (r)
		xpc_release(r);
	close(sv[1]);
	hello = poll(&(struct pollfd){.fd = sv[0], .events = POLLIN}, 1, 5000) == 1 &&
		transport_recv(sv[0], f) == 0 && f->hdr.kind == FRAME_HELLO;
	frame_clear(f);
	if (!hello) {
		close(sv[0]);
		return false;
	}
	a->fd = sv[0];
	return true;
}

static void att_close(Att *a)
{
	if (a->fd >= 0)
		close(a->fd);
	if (a->tx)
		munmap(a->tx, RING_MAP_SIZE);
	if (a->svc)
		munmap(a->svc, RING_MAP_SIZE);
	a->fd = -1;
	a->tx = a->svc = NULL;
}

/* A memfd named ATTACKER_MEMFD of @size bytes with @seals added. */
static int att_memfd(size_t size, int seals)
{
	int fd = memfd_create(ATTACKER_MEMFD, MFD_CLOEXEC | MFD_ALLOW_SEALING);

	REQUIRE(fd >= 0 && ftruncate(fd, (off_t)size) == 0);
	REQUIRE(!seals || fcntl(fd, F_ADD_SEALS, seals) == 0);
	return fd;
}

static int att_send_offer(Att *a, int fd)
{
	FrameHeader h = {.kind = FRAME_RING_OFFER};

	return transport_sendv(a->fd, &h, NULL, 0, 0, &fd, 1, -1);
}

/* Offers a good ring of ours (kept mapped in a->tx). */
static void att_offer(Att *a)
{
	int fd = att_memfd(RING_MAP_SIZE, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);

	a->tx = mmap(NULL, RING_MAP_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	REQUIRE(a->tx != MAP_FAILED);
	a->tx->magic = RING_MAGIC;
	a->tx->data_size = RING_DATA_SIZE;
	REQUIRE(att_send_offer(a, fd) == 0);
	close(fd);
}

/* A control frame (ACK, BELL) by the socket: `posted` counts it. */
static void att_control(Att *a, uint8_t kind)
{
	FrameHeader h = {.kind = kind};

	if (transport_sendv(a->fd, &h, NULL, 0, 0, NULL, 0, -1) == 0 && a->tx)
		atomic_fetch_add(&a->tx->posted, 1);
}

/* A whoami request by the socket. */
static int att_request_sock(Att *a)
{
	FrameHeader h = {.kind = FRAME_MESSAGE, .flags = FRAME_F_WANTS_REPLY, .id = a->id++};
	int r = transport_send(a->fd, &h, whoami.data, whoami.len, NULL, 0);

	if (r == 0 && a->tx) {
		a->sock++;
		atomic_fetch_add(&a->tx->posted, 1);
	}
	return r;
}

/* Wakes the service's reader every way it might wait. */
static void att_wake(Att *a)
{
	atomic_fetch_add(&a->tx->signal, 1);
	futex_wake(&a->tx->signal);
	att_control(a, FRAME_RING_BELL);
}

/* A whoami request into our ring (false: no room). */
static bool att_request_ring(Att *a)
{
	FrameHeader h = {.magic = FRAME_MAGIC, .kind = FRAME_MESSAGE, .flags = FRAME_F_WANTS_REPLY,
			 .id = a->id++, .body_len = whoami.len};
	struct iovec iov = {whoami.data, whoami.len};

	if (ring_room(a->tx, a->tail, FRAME_HEADER_SIZE + whoami.len) != 1)
		return false;
	ring_put(a->tx, &a->tail, a->sock, &h, &iov, 1, whoami.len);
	att_wake(a);
	return true;
}

/* The service's offer in @f: mapped, if we map it. */
static void att_take_offer(Att *a, TransportFrame *f)
{
	void *m;

	if (!a->map_svc || a->svc || f->n_fds != 1)
		return;
	m = mmap(NULL, RING_MAP_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, f->fds[0], 0);
	if (m != MAP_FAILED)
		a->svc = m;
}

/* Whether the frame @h with its body @body is a well-formed reply of
 * sec-service (a dictionary naming its server_pid). */
static bool reply_ok(const FrameHeader *h, const uint8_t *body)
{
	xpc_object_t d = NULL;
	bool ok;

	if (h->kind != FRAME_REPLY || wire_decode_message(body, h->body_len, NULL, 0, &d) != 0)
		return false;
	ok = xpc_dictionary_get_int64(d, "server_pid") > 0;
	xpc_release(d);
	return ok;
}

/* An entry of the service's ring, if there is one: 1 a good reply, -2 a
 * bad one, 0 none. */
static int att_ring_reply(Att *a)
{
	static _Thread_local uint8_t pkt[RING_FRAME_MAX];
	RingEntry e;
	FrameHeader h;

	if (!a->svc || ring_peek(a->svc, a->svc_head, &e) != 1)
		return 0;
	ring_take(a->svc, &a->svc_head, &e, pkt);
	a->by_ring++;
	return frame_parse_header(pkt, e.len, 0, &h) == 0 && reply_ok(&h, pkt + FRAME_HEADER_SIZE) ? 1 : -2;
}

/* The next reply within @ms, by the socket or the service's ring: 1 (a
 * well-formed one), 0 (none came), -1 (the link ended), -2 (malformed). */
static int att_reply(Att *a, int ms)
{
	TransportFrame *f = &att_frame;
	uint64_t end = now_ms() + (uint64_t)ms;

	while (now_ms() < end) {
		int r = att_ring_reply(a);
		if (r)
			return r;
		if (poll(&(struct pollfd){.fd = a->fd, .events = POLLIN}, 1, a->svc ? 2 : 50) != 1)
			continue;
		r = transport_recv(a->fd, f);
		if (r == -EAGAIN)
			continue;
		if (r == TRANSPORT_E_EOF || r == -ECONNRESET || r == -EPIPE) {
			frame_clear(f);
			return -1;
		}
		if (r != 0) {
			frame_clear(f);
			return -2;
		}
		if (f->hdr.kind == FRAME_RING_OFFER)
			att_take_offer(a, f);
		else if (f->hdr.kind == FRAME_RING_ACK)
			a->acked = true;
		else if (f->hdr.kind != FRAME_RING_BELL)
			r = reply_ok(&f->hdr, f->body) ? 1 : -2;
		frame_clear(f);
		if (r)
			return r;
	}
	return 0;
}

/* Whether the service closed the link within @ms (replies skipped). */
static bool att_ended(Att *a, int ms)
{
	uint64_t end = now_ms() + (uint64_t)ms;
	int r;

	while (now_ms() < end)
		if ((r = att_reply(a, (int)(end - now_ms()) + 1)) == -1)
			return true;
	return false;
}

/* A link with our ring offered and acknowledged, one request answered
 * by the socket and (@ring) one through the ring. */
static bool att_establish(Att *a, bool ring)
{
	if (!att_connect(a, false))
		return false;
	att_offer(a);
	if (att_request_sock(a) != 0 || att_reply(a, 3000) != 1 || !a->acked)
		return false;
	return !ring || (att_request_ring(a) && att_reply(a, 3000) == 1);
}

static const char *ended_or(Att *a, const char *alive)
{
	return att_ended(a, 3000) ? "ended" : alive;
}

/* ---- offer-bad, offer-twice ---- */

/* The descriptor case @k offers: a pipe, a file of /tmp, an unsealed
 * memfd, a wrong size, sealed against writing. */
static int bad_offer_fd(int k, int *ret_extra)
{
	char path[] = "/tmp/sec-ring-file.XXXXXX";
	int p[2], fd;

	*ret_extra = -1;
	switch (k) {
	case 0:
		REQUIRE(pipe2(p, O_CLOEXEC) == 0);
		*ret_extra = p[1];
		return p[0];
	case 1:
		fd = mkostemp(path, O_CLOEXEC);
		REQUIRE(fd >= 0 && ftruncate(fd, RING_MAP_SIZE) == 0);
		unlink(path);
		return fd;
	case 2:
		return att_memfd(RING_MAP_SIZE, 0);
	case 3:
		return att_memfd(RING_MAP_SIZE + 4096, F_SEAL_SHRINK | F_SEAL_GROW);
	default:
		return att_memfd(RING_MAP_SIZE, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE);
	}
}

/* Each bad offer on a link of its own, then a request: the links are
 * kept open (whatever the service kept of them shows) until killed. */
static int attack_offer_bad(void)
{
	static const char *names[] = {"pipe", "tmpfile", "unsealed", "size", "sealwrite"};
	static Att links[5];
	char line[512] = "ready offer-bad";

	for (int k = 0; k < 5; k++) {
		Att *a = &links[k];
		int extra, fd;
		const char *res = "no-link";
		if (att_connect(a, false)) {
			fd = bad_offer_fd(k, &extra);
			res = att_send_offer(a, fd) != 0 ? "unsent" : (att_request_sock(a), ended_or(a, "answered"));
			close(fd);
			if (extra >= 0)
				close(extra);
		}
		snprintf(line + strlen(line), sizeof(line) - strlen(line), " %s=%s", names[k], res);
	}
	printf("%s\n", line);
	fflush(stdout);
	pause();
	return 0;
}

static int attack_offer_twice(void)
{
	Att a;
	const char *single = "no-link", *twice = "no-link";

	if (att_connect(&a, false)) {
		att_offer(&a);
		single = att_request_sock(&a) == 0 && att_reply(&a, 3000) == 1 && a.acked ? "answered" : "refused";
		int fd = att_memfd(RING_MAP_SIZE, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
		twice = att_send_offer(&a, fd) != 0 ? "unsent" : (att_request_sock(&a), ended_or(&a, "answered"));
		close(fd);
		att_close(&a);
	}
	printf("done offer-twice single=%s twice=%s\n", single, twice);
	return 0;
}

/* ---- entries ---- */

enum {
	E_TOO_LONG, E_TOO_SHORT, E_PAD, E_TAIL_AHEAD, E_TAIL_BEHIND, E_PAST_TAIL, E_SOCK_BEHIND, E_SOCK_AHEAD,
	E_CHECKIN, E_OOL, E_BODY_LEN, E_HELLO, E_NFDS, E_AFTER_GOOD, E_COUNT
};
static const char *const entry_names[E_COUNT] = {"too-long", "too-short", "pad", "tail-ahead", "tail-behind",
	"past-tail", "sock-behind", "sock-ahead", "checkin", "ool", "body-len", "hello", "n-fds", "after-good"};

/* @n bytes of @src into our ring at @pos, across the end if need be. */
static void ring_write_at(RingShared *r, uint64_t pos, const void *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ring_data(r)[(pos + i) & (RING_DATA_SIZE - 1)] = ((const uint8_t *)src)[i];
}

/* A good request into our ring at our tail, not published yet. */
static void put_unpublished(Att *a)
{
	static uint8_t e[RING_ENTRY_HEADER + RING_FRAME_MAX];
	uint32_t len = FRAME_HEADER_SIZE + (uint32_t)whoami.len, w[4] = {len, 0, (uint32_t)a->sock, 0};
	FrameHeader h = {.magic = FRAME_MAGIC, .kind = FRAME_MESSAGE, .flags = FRAME_F_WANTS_REPLY,
			 .id = a->id++, .body_len = whoami.len};

	memcpy(e, w, sizeof(w));
	memcpy(e + RING_ENTRY_HEADER, &h, sizeof(h));
	memcpy(e + RING_ENTRY_HEADER + FRAME_HEADER_SIZE, whoami.data, whoami.len);
	ring_write_at(a->tx, a->tail, e, ring_entry_size(len));
	a->tail += ring_entry_size(len);
}

/* Writes the hostile entry @k at our tail and publishes it. */
static void put_hostile(Att *a, int k)
{
	static uint8_t e[RING_ENTRY_HEADER + RING_FRAME_MAX + 64];
	uint32_t len = FRAME_HEADER_SIZE + (uint32_t)whoami.len, w[4] = {len, 0, (uint32_t)a->sock, 0};
	FrameHeader h = {.magic = FRAME_MAGIC, .kind = FRAME_MESSAGE, .flags = FRAME_F_WANTS_REPLY,
			 .id = a->id++, .body_len = whoami.len};
	uint64_t tail;

	switch (k) {
	case E_TOO_LONG: w[0] = RING_FRAME_MAX + 8; break;
	case E_TOO_SHORT: w[0] = 16; break;
	case E_PAD: w[1] = 1; break;
	case E_SOCK_BEHIND: w[2] = (uint32_t)a->sock - 1; break;
	case E_SOCK_AHEAD: w[2] = (uint32_t)a->sock + 2; break;
	case E_CHECKIN: h = (FrameHeader){.magic = FRAME_MAGIC, .kind = FRAME_CHECKIN}; w[0] = len = 32; break;
	case E_OOL: h.flags |= FRAME_F_OOL; break;
	case E_BODY_LEN: h.body_len += 8; break;
	case E_HELLO: h = (FrameHeader){.magic = FRAME_MAGIC, .kind = FRAME_HELLO}; w[0] = len = 32; break;
	case E_NFDS: h.n_fds = 1; break;
	case E_AFTER_GOOD: put_unpublished(a); w[0] = RING_FRAME_MAX + 8; break; /* one publish, two entries */
	}
	memcpy(e, w, sizeof(w));
	memcpy(e + RING_ENTRY_HEADER, &h, sizeof(h));
	memcpy(e + RING_ENTRY_HEADER + FRAME_HEADER_SIZE, whoami.data, len - FRAME_HEADER_SIZE);
	ring_write_at(a->tx, a->tail, e, ring_entry_size(len));
	tail = a->tail + ring_entry_size(w[0] <= RING_FRAME_MAX + 64 ? w[0] : len);
	if (k == E_TAIL_AHEAD)
		tail = a->tail + RING_DATA_SIZE + 64;
	else if (k == E_TAIL_BEHIND)
		tail = a->tail - 8;
	else if (k == E_PAST_TAIL)
		tail = a->tail + RING_ENTRY_HEADER + 8;
	atomic_store(&a->tx->tail, tail);
	att_wake(a);
}

/* Every hostile entry on a link of its own, all links established
 * first and the entries published one right after the other (the
 * service reads them on several threads at once). */
static int attack_entries(void)
{
	static Att links[E_COUNT];
	char line[1024] = "done entries";
	Att by;
	bool by_ok = att_establish(&by, true), up[E_COUNT];

	for (int k = 0; k < E_COUNT; k++)
		up[k] = att_establish(&links[k], true);
	for (int k = 0; k < E_COUNT; k++)
		if (up[k])
			put_hostile(&links[k], k);
	for (int k = 0; k < E_COUNT; k++) {
		const char *res = up[k] ? ended_or(&links[k], "alive") : "no-ring";
		att_close(&links[k]);
		snprintf(line + strlen(line), sizeof(line) - strlen(line), " %s=%s", entry_names[k], res);
	}
	/* the bystander's link, ring and all, still works */
	by_ok = by_ok && att_request_ring(&by) && att_reply(&by, 3000) == 1;
	printf("%s bystander=%s\n", line, by_ok ? "answered" : "lost");
	att_close(&by);
	return 0;
}

/* ---- race ---- */

#define RACE_LINKS 3 /* at once: the service reads them on several threads */

static RingShared *_Atomic flip_ring[RACE_LINKS];
static _Atomic bool flip_stop;
static _Atomic unsigned race_links, race_good, race_bad;
static uint64_t race_end;

/* Flips bits near the tail, and the tail, of each ring in turn while
 * the service reads them. */
static void *flipper(void *arg)
{
	unsigned seed = 12345;
	(void)arg;

	for (unsigned i = 0; !atomic_load(&flip_stop); i++) {
		RingShared *r = atomic_load(&flip_ring[i % RACE_LINKS]);
		if (!r) {
			sched_yield();
			continue;
		}
		uint64_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
		unsigned x = (unsigned)rand_r(&seed);
		ring_data(r)[(t - 1 - (x % 512)) & (RING_DATA_SIZE - 1)] ^= (uint8_t)(1u << (x >> 12 & 7));
		if ((x & 63) == 0)
			atomic_store_explicit(&r->tail, t + (x >> 8 & 255) - 128, memory_order_relaxed);
	}
	return NULL;
}

/* Links one after another until race_end (slot @arg of flip_ring):
 * requests into the ring under the flipper until the link ends; counts
 * good and bad replies. */
static void *race_writer(void *arg)
{
	_Atomic(RingShared *) *slot = arg;

	while (now_ms() < race_end) {
		Att a;
		if (att_establish(&a, false)) {
			atomic_store(slot, a.tx);
			while (now_ms() < race_end) {
				if (!att_request_ring(&a))
					a.tail = atomic_load(&a.tx->tail); /* the flipper moved it: resume there */
				int r = att_reply(&a, 20);
				if (r == -1)
					break;
				atomic_fetch_add(&race_good, r == 1);
				atomic_fetch_add(&race_bad, r == -2);
			}
			atomic_store(slot, NULL);
			a.tx = NULL; /* left mapped: the flipper may still hold it */
		}
		att_close(&a);
		atomic_fetch_add(&race_links, 1);
	}
	frame_release(&att_frame);
	return NULL;
}

static int attack_race(void)
{
	pthread_t t, w[RACE_LINKS];

	race_end = now_ms() + 2000;
	REQUIRE(pthread_create(&t, NULL, flipper, NULL) == 0);
	for (int i = 0; i < RACE_LINKS; i++)
		REQUIRE(pthread_create(&w[i], NULL, race_writer, &flip_ring[i]) == 0);
	for (int i = 0; i < RACE_LINKS; i++)
		pthread_join(w[i], NULL);
	atomic_store(&flip_stop, true);
	pthread_join(t, NULL);
	printf("done race links=%u replies=%u bad=%u\n", race_links, race_good, race_bad);
	return 0;
}

/* ---- spam, head, no-ack, dies-waiting ---- */

/* 3 s of `posted` and `signal` bumped and FUTEX_WAKE, with a request
 * through the ring every 50 ms (after each the service's worker lingers
 * on the ring, where the spam reaches it); then every reply is read. */
static int attack_spam(void)
{
	Att a;
	unsigned long wakes = 0;
	unsigned sent = 0, answered = 0;

	if (att_establish(&a, true)) {
		uint64_t start = now_ms(), next = start;
		while (now_ms() < start + 3000) {
			if (now_ms() >= next) {
				sent += att_request_ring(&a);
				next += 50;
			}
			for (int i = 0; i < 64; i++, wakes++) {
				atomic_fetch_add(&a.tx->posted, 1);
				atomic_fetch_add(&a.tx->signal, 1);
				futex_wake(&a.tx->signal);
			}
		}
		while (answered < sent && att_reply(&a, 3000) == 1)
			answered++;
		answered += att_request_sock(&a) == 0 && att_reply(&a, 3000) == 1; /* and one by the socket */
		sent++;
	}
	att_close(&a);
	printf("done spam wakes=%lu requests=%u answered=%u\n", wakes, sent, answered);
	return 0;
}

/* Writes nonsense into the service's ring (case @k) after one reply came
 * through it; then two more requests.  "GOT/3 ring=R": the replies that
 * came, R of them read from the ring. */
static void head_case(int k, char *out, size_t size)
{
	static const char *const names[] = {"beyond", "huge", "state"};
	Att a;
	unsigned got = 0;

	if (att_connect(&a, true) && att_request_sock(&a) == 0 && att_reply(&a, 3000) == 1 && a.svc) {
		att_control(&a, FRAME_RING_ACK);
		if (att_request_sock(&a) == 0 && att_reply(&a, 3000) == 1)
			got++;
		if (k == 0)
			atomic_store(&a.svc->head, atomic_load(&a.svc->tail) + 4096); /* beyond the tail */
		else if (k == 1)
			atomic_store(&a.svc->head, atomic_load(&a.svc->tail) + (UINT64_MAX >> 1)); /* 2^63 off */
		else
			atomic_store(&a.svc->rx_state, 0xdeadbeefu);
		for (int i = 0; i < 2; i++)
			if (att_request_sock(&a) == 0 && att_reply(&a, 3000) == 1)
				got++;
	}
	snprintf(out + strlen(out), size - strlen(out), " %s=%u/3,ring=%u", names[k], got, a.by_ring);
	att_close(&a);
}

static int attack_head(void)
{
	char line[256] = "done head";

	for (int k = 0; k < 3; k++)
		head_case(k, line, sizeof(line));
	printf("%s\n", line);
	return 0;
}

static int attack_no_ack(void)
{
	Att a;
	unsigned got = 0, by_ring = 0;

	if (att_connect(&a, true)) {
		att_offer(&a); /* ours is acknowledged; theirs mapped, never */
		for (int i = 0; i < 20; i++) {
			bool sent = (i % 2 && a.acked) ? att_request_ring(&a) : att_request_sock(&a) == 0;
			if (sent && att_reply(&a, 3000) == 1)
				got++;
		}
		by_ring = a.by_ring;
		att_close(&a);
	}
	printf("done no-ack replies=%u of=20 by-ring=%u\n", got, by_ring);
	return 0;
}

/* Its ring established, one more request through the ring; killed by
 * itself as the reply comes (the service's worker then lingers on the
 * ring for the next request: RING_LINGER_MIN_US). */
static int attack_dies_waiting(void)
{
	Att a;
	bool ok = att_establish(&a, true);

	printf("%s dies-waiting\n", ok ? "ready" : "failed");
	fflush(stdout);
	usleep(300 * 1000); /* the test counts what the service holds */
	if (ok && att_request_ring(&a) && att_reply(&a, 3000) == 1)
		raise(SIGKILL);
	return 1;
}

/* To a service that did not opt in: offers (good and bad), ACKs and
 * BELLs between requests are ignored, their descriptors closed. */
static int attack_plain(void)
{
	Att a;
	unsigned got = 0;

	if (att_connect(&a, true)) {
		for (int i = 0; i < 20; i++) {
			int extra = -1, fd = i % 2 ? bad_offer_fd(i % 5, &extra) : att_memfd(RING_MAP_SIZE, F_SEAL_SHRINK);
			att_send_offer(&a, fd);
			close(fd);
			if (extra >= 0)
				close(extra);
			att_control(&a, FRAME_RING_ACK);
			att_control(&a, FRAME_RING_BELL);
			if (att_request_sock(&a) == 0 && att_reply(&a, 3000) == 1)
				got++;
		}
	}
	printf("done plain replies=%u of=20 offers=%s\n", got, a.svc ? "mapped" : "none");
	att_close(&a);
	return 0;
}

/* One plain request: the service then holds nobody's own channel
 * (docs/security.md, "Per-user channels") before the descriptors are
 * counted. */
static int attack_warm(void)
{
	Att a;
	bool ok = att_connect(&a, false) && att_request_sock(&a) == 0 && att_reply(&a, 3000) == 1;

	att_close(&a);
	printf("done warm answered=%d\n", ok);
	return 0;
}

static const struct {
	const char *name;
	int (*run)(void);
} attacks[] = {
	{"warm", attack_warm},       {"plain", attack_plain},     {"offer-bad", attack_offer_bad},
	{"offer-twice", attack_offer_twice}, {"entries", attack_entries}, {"race", attack_race},
	{"spam", attack_spam},       {"head", attack_head},       {"no-ack", attack_no_ack},
	{"dies-waiting", attack_dies_waiting},
};

static int attack(const char *s, const char *name)
{
	att_name = name;
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	whoami_init();
	for (size_t i = 0; i < sizeof(attacks) / sizeof(attacks[0]); i++)
		if (!strcmp(s, attacks[i].name))
			return attacks[i].run();
	return 2;
}

/* ==== the test (root) ================================================== */

static pid_t service;
static const char *target = NAME; /* the service under attack */

/* The service's open descriptors. */
static int service_fds(void)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)service);
	DIR *d = opendir(path);
	int n = 0;

	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n - 2;
}

/* Lines of the service's /proc/PID/maps that mention @what. */
static int service_maps(const char *what)
{
	char path[64], line[512];
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)service);
	FILE *f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		n += strstr(line, what) != NULL;
	if (f)
		fclose(f);
	return n;
}

/* The service's user + system time, in clock ticks. */
static long service_ticks(void)
{
	char buf[1024];
	const char *s = harness_proc_stat(service, buf, sizeof(buf));
	unsigned long ut = 0, st = 0;

	/* from field 3 on: utime is field 14, stime 15 */
	if (!s || sscanf(s, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	return (long)(ut + st);
}

static int fds0, rings0;

/* Waits up to @seconds until the service is back to what it held before
 * the attack: its descriptors, its own rings, none of the attacker's. */
static bool service_settled(unsigned seconds)
{
	char cmd[64];

	for (unsigned i = 0; i < seconds * 20; i++) {
		if (service_fds() <= fds0 && service_maps("xpc-ring") <= rings0 && service_maps("sec-ring") == 0)
			return true;
		usleep(50000);
	}
	fprintf(stderr, "service holds fds=%d (before %d) xpc-ring maps=%d (before %d) attacker maps=%d\n",
		service_fds(), fds0, service_maps("xpc-ring"), rings0, service_maps("sec-ring"));
	snprintf(cmd, sizeof(cmd), "ls -l /proc/%d/fd >&2", (int)service);
	if (system(cmd) < 0)
		perror("system");
	return false;
}

/* The attacker, as nobody, run in the background: its pid, its stdout
 * in *@ret_out. */
static pid_t spawn_attacker(const char *self, const char *scenario, int *ret_out)
{
	char *argv[] = {(char *)self, "attack", (char *)scenario, (char *)target, NULL};
	int p[2];
	pid_t pid;

	REQUIRE(pipe2(p, O_CLOEXEC) == 0);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		dup2(p[1], 1);
		harness_become(harness_unprivileged_user(0));
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	*ret_out = p[0];
	return pid;
}

/* A line the background attacker printed within @seconds. */
static bool attacker_line(int fd, char *out, size_t size, unsigned seconds)
{
	size_t got = 0;

	out[0] = 0;
	while (got < size - 1 && poll(&(struct pollfd){.fd = fd, .events = POLLIN}, 1, (int)seconds * 1000) == 1) {
		ssize_t n = read(fd, out + got, 1);
		if (n <= 0)
			break;
		got += (size_t)n;
		out[got] = 0;
		if (out[got - 1] == '\n')
			break;
	}
	fprintf(stderr, "nobody: %s%s", out, got && out[got - 1] == '\n' ? "" : "\n");
	return got > 0;
}

static void kill_attacker(pid_t pid, int fd)
{
	kill(pid, SIGKILL);
	harness_wait_pid(pid, 5);
	close(fd);
}

/* Every " CASE=" of @out says @want. */
static void check_all(const char *out, const char *const names[], int n, const char *want)
{
	char key[64], exp[96];

	for (int k = 0; k < n; k++) {
		snprintf(key, sizeof(key), " %s=", names[k]);
		snprintf(exp, sizeof(exp), " %s=%s", names[k], want);
		const char *at = strstr(out, key);
		if (!at || strncmp(at, exp, strlen(exp)) != 0)
			fprintf(stderr, "case %s: not %s\n", names[k], want);
		CHECK(at && strncmp(at, exp, strlen(exp)) == 0);
	}
}

static void run_offer_bad(const char *self)
{
	static const char *const names[] = {"pipe", "tmpfile", "unsealed", "size", "sealwrite"};
	char out[512];
	int fd;
	pid_t pid = spawn_attacker(self, "offer-bad", &fd);

	CHECK(attacker_line(fd, out, sizeof(out), 40) && !strncmp(out, "ready", 5));
	check_all(out, names, 5, "ended");
	/* its links are still open on its side: the service kept nothing */
	CHECK_EQ_INT(service_maps("sec-ring"), 0);
	CHECK(service_settled(3));
	kill_attacker(pid, fd);
}

static void run_sync(const char *self, const char *scenario, char *out, size_t size)
{
	char *argv[] = {(char *)self, "attack", (char *)scenario, (char *)target, NULL};

	CHECK(sec_attack(argv, out, size, 60));
}

static void run_entries(const char *self)
{
	char out[1024];

	run_sync(self, "entries", out, sizeof(out));
	check_all(out, entry_names, E_COUNT, "ended");
	CHECK(strstr(out, "bystander=answered") != NULL);
}

static void run_spam(const char *self)
{
	char out[256];
	long hz = sysconf(_SC_CLK_TCK), t0 = service_ticks();
	uint64_t w0 = now_ms();

	run_sync(self, "spam", out, sizeof(out));
	long used = service_ticks() - t0;
	uint64_t wall = now_ms() - w0;
	fprintf(stderr, "service CPU during the spam: %ld ticks of %ld/s over %llu ms\n", used, hz,
		(unsigned long long)wall);
	CHECK(t0 >= 0 && used * 1000 * 2 < (long)wall * hz); /* under half a core */
	unsigned sent = 0, answered = 1;
	const char *q = strstr(out, "requests=");
	CHECK(q && sscanf(q, "requests=%u answered=%u", &sent, &answered) == 2 && sent > 1 && answered == sent);
}

static void run_dies_waiting(const char *self)
{
	char out[256];
	int fd;
	pid_t pid = spawn_attacker(self, "dies-waiting", &fd);

	CHECK(attacker_line(fd, out, sizeof(out), 20) && !strncmp(out, "ready", 5));
	CHECK(service_fds() > fds0); /* the attacker's link */
	CHECK(service_maps("sec-ring") > 0);
	int status = harness_wait_pid(pid, 10);
	CHECK(status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	close(fd);
	CHECK(service_settled(2));
}

static void run(const char *self, const char *s)
{
	char out[512];

	if (!strcmp(s, "offer-bad")) {
		run_offer_bad(self);
	} else if (!strcmp(s, "offer-twice")) {
		run_sync(self, s, out, sizeof(out));
		CHECK(strstr(out, "single=answered twice=ended") != NULL);
	} else if (!strcmp(s, "entries")) {
		run_entries(self);
	} else if (!strcmp(s, "race")) {
		run_sync(self, s, out, sizeof(out));
		CHECK(strstr(out, " bad=0") != NULL && strstr(out, " replies=0 ") == NULL);
	} else if (!strcmp(s, "spam")) {
		run_spam(self);
	} else if (!strcmp(s, "head")) {
		run_sync(self, s, out, sizeof(out));
		/* one reply through the ring, then by the socket; a state
		 * that makes no sense only costs the wake-ups */
		CHECK(strstr(out, " beyond=3/3,ring=1 huge=3/3,ring=1 state=3/3,ring=3") != NULL);
	} else if (!strcmp(s, "no-ack")) {
		run_sync(self, s, out, sizeof(out));
		CHECK(strstr(out, "replies=20 of=20 by-ring=0") != NULL);
	} else if (!strcmp(s, "plain")) {
		run_sync(self, s, out, sizeof(out));
		CHECK(strstr(out, "replies=20 of=20 offers=none") != NULL);
	} else if (!strcmp(s, "dies-waiting")) {
		run_dies_waiting(self);
	} else {
		REQUIRE(!"unknown scenario");
	}
}

int main(int argc, char **argv)
{
	if (argc >= 4 && !strcmp(argv[1], "attack"))
		return attack(argv[2], argv[3]);
	REQUIRE(argc == 2);
	unsetenv("XPC_SHARED_RING"); /* xpcd passes it on (spawn-prep.c): the plain job stays plain */
	sec_begin(150);
	char *self = strdup(harness_sibling(argv[0], "test-sec-ring")); /* (its buffer is reused) */
	const char *svc[] = {harness_sibling(argv[0], "sec-service"), "serve", NAME, NULL};
	/* the service's fresh memory is not zero (glibc's MALLOC_PERTURB_,
	 * without the thread cache that skips it; ASan's allocator fills it
	 * too): what a reader never set shows */
	sec_job_keys("ring", NAME,
		     "<key>EnvironmentVariables</key><dict><key>XPC_SHARED_RING</key><string>1</string>"
		     "<key>MALLOC_PERTURB_</key><string>165</string>"
		     "<key>GLIBC_TUNABLES</key><string>glibc.malloc.tcache_count=0</string></dict>",
		     svc);
	svc[2] = PLAIN;
	sec_job("plain", PLAIN, NULL, NULL, false, svc);
	if (!strcmp(argv[1], "plain"))
		target = PLAIN;
	sec_start_broker(0);

	service = (pid_t)sec_server_pid(target);
	REQUIRE(service > 0);
	char out[128];
	run_sync(self, "warm", out, sizeof(out)); /* nobody's own channel */
	REQUIRE(strstr(out, "answered=1"));
	usleep(300 * 1000); /* the links ended */
	fds0 = service_fds();
	rings0 = service_maps("xpc-ring");

	run(self, argv[1]);

	CHECK(service_settled(3)); /* nothing kept of the attacker's links */
	CHECK(sec_server_pid(target) == service); /* the same instance answers */
	CHECK(service_settled(3));
	sec_teardown();
	free(self);
	return harness_end();
}
