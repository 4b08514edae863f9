/* SPDX-License-Identifier: MIT */
/*
 * test-ring.c - shared rings between real processes (src/transport/ring/
 * ring.h): two peers that both set XPC_SHARED_RING carry their small
 * frames through shared memory, the rest by the socket, in one order.
 *
 * This process only orchestrates: per scenario it makes a listener pair
 * (R, W), starts a service (this program again: `test-ring serve R STATUS
 * CTL`) on R and a client (`test-ring client W STATUS SCENARIO ARGS...`)
 * on W, each with XPC_SHARED_RING as the scenario says, and reads what
 * they report on the status pipe: one line per event, stamped with
 * CLOCK_MONOTONIC (one clock for all processes), so that this process
 * can time what one saw against what the other did.  The client checks
 * its replies itself and exits 0 when all were right; the service exits
 * when this process closes CTL.
 *
 *   order     20 000 numbered messages: 64 B (ring), 8 KiB and 64 KiB
 *             (over RING_FRAME_MAX: the socket), with a descriptor (the
 *             socket), one-way bursts of 5 000 small ones (they fill the
 *             ring: the rest go by the socket), sync requests; the
 *             service checks the numbers come in order and answers with
 *             a checksum of the payload; both processes map two rings
 *             ("memfd:xpc-ring" in /proc/self/maps), none after the end;
 *             the client's handler queue is held at first, so that its
 *             delivery reads the HELLO and the ring's offer together
 *   futex     the same, smaller, with XPC_SHARED_RING=futex (no spinning)
 *   one-sided only the client opts in, then only the service: all by the
 *             socket; the side that opted in maps its own ring only
 *   diesvc    the service is SIGKILLed while the client waits for a reply
 *             (in the futex phase, then on the socket): the call fails
 *             within 2 s of the kill
 *   dieclient the client is SIGKILLed right after a reply, while the
 *             service's worker lingers on the ring: its peer gets
 *             XPC_ERROR_CONNECTION_INVALID within 2 s
 *   cancel    xpc_connection_cancel from another thread while a sync call
 *             waits (futex phase, socket phase): it returns within 1 s
 *   async     the service sends messages of its own, spaced so that the
 *             client's reader is running, on the futex or on the socket
 *             (RING_BELL), while the client only has its event handler,
 *             and right after a sync call returned (the link's `more`,
 *             receive.c): each reaches the handler within 1 s
 *   linger    calls 1.9-2.4 ms apart: about when the service's worker
 *             stops lingering on the ring (receive.c, RING_LINGER_MIN_US
 *             then CONN_LINGER_US); a request published as it stops must
 *             still be read (a call unanswered for 5 s is counted, then
 *             nudged by a message that goes by the socket)
 *   many      64 connections, 200 sync round trips each from 8 threads:
 *             all answered, the service's workers stay bounded
 *
 * `test-ring NAME` runs one scenario (meson: one test each), `test-ring`
 * all of them.
 */
#include "connection/connection.h"
#include "conn-common.h"
#include "dispatch/internal.h"
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RING_MAPPING "memfd:xpc-ring"
#define SMALL_LEN 64
#define MID_LEN (8 * 1024)
#define BIG_LEN (64 * 1024)
#define INFLIGHT 256         /* async requests not yet answered, at most */
#define END_NS 2000000000ull /* a peer's end is seen within this */
#define CANCEL_NS 1000000000ull
#define ASYNC_NS 1000000000ull
#define MANY_CONNS 64
#define MANY_THREADS 8
#define MANY_CALLS 200

static const char *self;
static int status_fd = -1;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* One line on the status pipe (one write: lines never interleave). */
__attribute__((format(printf, 1, 2))) static void report(const char *fmt, ...)
{
	char line[256];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0 || n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	ssize_t w = write(status_fd, line, (size_t)n);
	(void)w;
}

/* How many shared rings this process maps. */
static int ring_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, RING_MAPPING) != NULL;
	fclose(f);
	return n;
}

/* Waits up to 2 s for the rings to be unmapped (teardown is async). */
static int ring_maps_settle(int want)
{
	int n = ring_maps();

	for (int i = 0; i < 200 && n != want; i++) {
		usleep(10000);
		n = ring_maps();
	}
	return n;
}

/* The checksum the service answers for a payload. */
static uint64_t payload_sum(const uint8_t *p, size_t len)
{
	uint64_t s = 0;

	for (size_t i = 0; i < len; i++)
		s = s * 31 + p[i];
	return s;
}

/* ---- the service ------------------------------------------------------------ */

typedef struct ServedPeer {
	uint64_t expect;
	bool inorder;
	xpc_object_t held[8];
	int n_held;
} ServedPeer;

/* Messages of its own to @peer: @n, the i-th after delays[i % n_delays]
 * microseconds, each stamped with its sending time. */
static void service_push(xpc_connection_t peer, int64_t first, int n, const int *delays, int n_delays)
{
	for (int i = 0; i < n; i++) {
		if (n_delays && delays[i % n_delays])
			usleep((useconds_t)delays[i % n_delays]);
		xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0);
		xpc_dictionary_set_int64(m, "push", first + i);
		xpc_dictionary_set_uint64(m, "sent_ns", now_ns());
		xpc_connection_send_message(peer, m);
		xpc_release(m);
	}
}

/* The delays of a push, from the request's "delays" array. */
static int push_delays(xpc_object_t msg, int *delays, int max)
{
	xpc_object_t a = xpc_dictionary_get_value(msg, "delays");
	int n = a ? (int)xpc_array_get_count(a) : 0;

	n = n < max ? n : max;
	for (int i = 0; i < n; i++)
		delays[i] = (int)xpc_array_get_int64(a, (size_t)i);
	return n;
}

/* "push": @count messages, later, from another thread; "pushafter": the
 * reply, @now messages at once, then @count more later. */
static void service_push_async(xpc_connection_t peer, xpc_object_t msg)
{
	int delays[16], n_delays = push_delays(msg, delays, 16);
	int64_t now = xpc_dictionary_get_int64(msg, "now"), count = xpc_dictionary_get_int64(msg, "count");
	int *d = malloc(sizeof(delays));

	service_push(peer, 0, (int)now, NULL, 0);
	memcpy(d, delays, sizeof(delays));
	xpc_retain(peer);
	dispatch_async(dispatch_get_global_queue(0, 0), ^{
		service_push(peer, now, (int)count, d, n_delays);
		free(d);
		xpc_release(peer);
	});
}

/* The reply's fields for a numbered message (the order, the payload). */
static void service_check(ServedPeer *st, xpc_object_t msg, xpc_object_t reply)
{
	size_t len = 0;
	const void *data = xpc_dictionary_get_data(msg, "data", &len);

	if (xpc_dictionary_get_value(msg, "n")) {
		uint64_t n = xpc_dictionary_get_uint64(msg, "n");
		if (n != st->expect && st->inorder) {
			st->inorder = false;
			report("disorder %llu %llu", (unsigned long long)n, (unsigned long long)st->expect);
		}
		st->expect = n + 1;
	}
	if (!reply)
		return;
	xpc_dictionary_set_uint64(reply, "n", xpc_dictionary_get_uint64(msg, "n"));
	xpc_dictionary_set_bool(reply, "inorder", st->inorder);
	xpc_dictionary_set_uint64(reply, "count", st->expect);
	xpc_dictionary_set_uint64(reply, "len", len);
	xpc_dictionary_set_uint64(reply, "sum", data ? payload_sum(data, len) : 0);
	if (xpc_dictionary_get_value(msg, "fd")) {
		int fd = xpc_dictionary_dup_fd(msg, "fd");
		struct stat sb;
		xpc_dictionary_set_bool(reply, "fd_ok", fd >= 0 && fstat(fd, &sb) == 0);
		if (fd >= 0)
			close(fd);
	}
}

/* Answers one message of a client (see the header for the ops). */
static void service_message(xpc_connection_t peer, ServedPeer *st, xpc_object_t msg)
{
	const char *op = xpc_dictionary_get_string(msg, "op");
	xpc_object_t reply = xpc_dictionary_create_reply(msg);

	op = op ? op : "";
	service_check(st, msg, reply);
	if (strcmp(op, "die") == 0) {
		usleep((useconds_t)xpc_dictionary_get_int64(msg, "after_us"));
		report("dying %llu", (unsigned long long)now_ns());
		raise(SIGKILL);
	} else if (strcmp(op, "hold") == 0 && reply && st->n_held < 8) {
		st->held[st->n_held++] = reply;
		reply = NULL;
	} else if (strcmp(op, "stats") == 0 && reply) {
		xpc_dictionary_set_int64(reply, "maps", ring_maps());
		xpc_dictionary_set_int64(reply, "workers", dpool_thread_count());
	}
	if (reply) { /* (first: a push comes right after it) */
		xpc_connection_send_message(peer, reply);
		xpc_release(reply);
	}
	if (strcmp(op, "push") == 0 || strcmp(op, "pushafter") == 0)
		service_push_async(peer, msg);
}

static void service_peer(xpc_connection_t peer)
{
	ServedPeer *st = calloc(1, sizeof(*st));

	st->inorder = true;
	xpc_retain(peer);
	xpc_connection_set_event_handler(peer, ^(xpc_object_t ev) {
		if (xpc_get_type(ev) == XPC_TYPE_DICTIONARY) {
			service_message(peer, st, ev);
		} else if (ev == XPC_ERROR_CONNECTION_INVALID) {
			char *why = xpc_connection_copy_invalidation_reason(peer);
			report("invalid %llu %s", (unsigned long long)now_ns(), why ? why : "");
			free(why);
			for (int i = 0; i < st->n_held; i++)
				xpc_release(st->held[i]);
			free(st);
			xpc_release(peer);
		}
	});
	xpc_connection_resume(peer);
}

/* `serve R STATUS CTL`: serves R's peers until CTL ends. */
static int serve(int rfd, int ctl)
{
	xpc_connection_t l = connection_create_listener_from_fd(rfd, NULL, NULL);
	char c;

	REQUIRE(l);
	xpc_connection_set_event_handler(l, ^(xpc_object_t ev) {
		if (xpc_get_type(ev) == XPC_TYPE_CONNECTION)
			service_peer((xpc_connection_t)ev);
	});
	xpc_connection_resume(l);
	while (read(ctl, &c, 1) < 0 && errno == EINTR)
		;
	_exit(0); /* (peers may be live: no clean-up to race with) */
}

/* ---- the client: helpers ------------------------------------------------------ */

/* A client of @ep whose messages go to @handler (NULL: ignored); +1. */
static xpc_connection_t client_connect(xpc_endpoint_t ep, xpc_handler_t handler)
{
	xpc_connection_t c = xpc_connection_create_from_endpoint(ep);

	xpc_connection_set_event_handler(c, handler ? handler : ^(xpc_object_t ev) {
		(void)ev;
	});
	xpc_connection_resume(c);
	return c;
}

/* A sync request { op: @op }: its reply (+1; an error on failure). */
static xpc_object_t client_call(xpc_connection_t c, const char *op)
{
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0);

	xpc_dictionary_set_string(m, "op", op);
	xpc_object_t r = xpc_connection_send_message_with_reply_sync(c, m);
	xpc_release(m);
	return r;
}

/* Round trips until both rings are offered and acknowledged. */
static void client_warm(xpc_connection_t c)
{
	for (int i = 0; i < 3; i++) {
		xpc_object_t r = client_call(c, "ping");
		CHECK(xpc_get_type(r) == XPC_TYPE_DICTIONARY);
		xpc_release(r);
	}
	if (getenv("XPC_SHARED_RING")) /* ours and the service's, at least */
		CHECK(ring_maps() >= 2);
}

/* The service's { maps, workers } (-1 each on failure). */
static void client_stats(xpc_connection_t c, int64_t *maps, int64_t *workers)
{
	xpc_object_t r = client_call(c, "stats");
	bool ok = xpc_get_type(r) == XPC_TYPE_DICTIONARY;

	*maps = ok ? xpc_dictionary_get_int64(r, "maps") : -1;
	*workers = ok ? xpc_dictionary_get_int64(r, "workers") : -1;
	xpc_release(r);
}

static void client_end(xpc_connection_t c)
{
	xpc_connection_cancel(c);
	xpc_release(c);
}

/* ---- the client: order -------------------------------------------------------- */

enum { K_SMALL, K_SYNC, K_MID, K_BIG, K_FD, K_ONEWAY };

typedef struct OrderRun {
	xpc_connection_t c;
	dispatch_queue_t q;
	dispatch_group_t g;
	dispatch_semaphore_t slots;
	int fd; /* what messages of K_FD carry */
	atomic_int bad, answered;
	uint64_t seq;
} OrderRun;

/* The kind of the @i-th message of a mixed stretch. */
static int order_kind(uint64_t i)
{
	unsigned k = (unsigned)((i * 7919u) % 100u);

	return k < 45 ? K_SMALL : k < 60 ? K_SYNC : k < 70 ? K_MID : k < 75 ? K_BIG : k < 82 ? K_FD : K_ONEWAY;
}

/* Message number @n of @kind, its payload's checksum in *ret_sum. */
static xpc_object_t order_message(OrderRun *o, uint64_t n, int kind, uint64_t *ret_sum, size_t *ret_len)
{
	static uint8_t buf[BIG_LEN];
	size_t len = kind == K_MID ? MID_LEN : kind == K_BIG ? BIG_LEN : SMALL_LEN;
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0);

	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(n * 13 + i);
	xpc_dictionary_set_string(m, "op", "seq");
	xpc_dictionary_set_uint64(m, "n", n);
	xpc_dictionary_set_data(m, "data", buf, len);
	if (kind == K_FD)
		xpc_dictionary_set_fd(m, "fd", o->fd);
	*ret_sum = payload_sum(buf, len);
	*ret_len = len;
	return m;
}

/* Whether @r answers message @n as it should. */
static bool order_reply_ok(xpc_object_t r, uint64_t n, uint64_t sum, size_t len, bool fd)
{
	if (xpc_get_type(r) != XPC_TYPE_DICTIONARY)
		return false;
	return xpc_dictionary_get_uint64(r, "n") == n && xpc_dictionary_get_bool(r, "inorder") &&
	       xpc_dictionary_get_uint64(r, "sum") == sum && xpc_dictionary_get_uint64(r, "len") == len &&
	       (!fd || xpc_dictionary_get_bool(r, "fd_ok"));
}

/* Says what came instead of the reply to @n (the first such). */
static void order_bad(OrderRun *o, uint64_t n, xpc_object_t r)
{
	char *d = xpc_copy_description(r), *why = xpc_connection_copy_invalidation_reason(o->c);

	fprintf(stderr, "test-ring: bad reply to %llu: %s (connection: %s)\n", (unsigned long long)n, d ? d : "?",
		why ? why : "valid");
	free(d);
	free(why);
}

/* Sends the next message, of @kind; a sync one's reply is checked here,
 * an async one's on o->q. */
static void order_send(OrderRun *o, int kind)
{
	uint64_t n = o->seq++, sum;
	size_t len;
	xpc_object_t m = order_message(o, n, kind, &sum, &len);
	bool fd = kind == K_FD;

	if (kind == K_ONEWAY) {
		xpc_connection_send_message(o->c, m);
	} else if (kind == K_SYNC) {
		xpc_object_t r = xpc_connection_send_message_with_reply_sync(o->c, m);
		if (!order_reply_ok(r, n, sum, len, false) && atomic_fetch_add(&o->bad, 1) == 0)
			order_bad(o, n, r);
		atomic_fetch_add(&o->answered, 1);
		xpc_release(r);
	} else {
		dispatch_semaphore_wait(o->slots, DISPATCH_TIME_FOREVER);
		dispatch_group_enter(o->g);
		xpc_connection_send_message_with_reply(o->c, m, o->q, ^(xpc_object_t r) {
			if (!order_reply_ok(r, n, sum, len, fd) && atomic_fetch_add(&o->bad, 1) == 0)
				order_bad(o, n, r);
			atomic_fetch_add(&o->answered, 1);
			dispatch_semaphore_signal(o->slots);
			dispatch_group_leave(o->g);
		});
	}
	xpc_release(m);
}

/* A client whose first frames wait in the socket until its handler
 * queue, held for 100 ms, lets the read source's delivery read them, two
 * at a time (recvmmsg): the HELLO and a ring's offer together, then the
 * first reply; +1. */
static xpc_connection_t order_connect(xpc_endpoint_t ep, dispatch_queue_t replies)
{
	xpc_connection_t c = xpc_connection_create_from_endpoint(ep);
	dispatch_queue_t hold = dispatch_queue_create("test-ring.hold", NULL);
	dispatch_semaphore_t first = dispatch_semaphore_create(0);
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0);

	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) {
		(void)ev;
	});
	xpc_connection_set_target_queue(c, hold);
	dispatch_async(hold, ^{
		usleep(100000);
	});
	xpc_connection_resume(c);
	xpc_dictionary_set_string(m, "op", "ping");
	xpc_connection_send_message_with_reply(c, m, replies, ^(xpc_object_t r) {
		CHECK(xpc_get_type(r) == XPC_TYPE_DICTIONARY);
		dispatch_semaphore_signal(first);
	});
	CHECK(conn_test_wait(first, 30));
	xpc_release(m);
	dispatch_release(first);
	dispatch_release(hold);
	return c;
}

/* `order N BURST CMAPS SMAPS`: N messages, two one-way bursts of BURST
 * among them; this process must map CMAPS rings, the service SMAPS. */
static int client_order(xpc_endpoint_t ep, int argc, char **argv)
{
	REQUIRE(argc == 4);
	uint64_t n = strtoull(argv[0], NULL, 10), burst = strtoull(argv[1], NULL, 10), stretch = (n - 2 * burst) / 3;
	int cmaps = atoi(argv[2]), smaps = atoi(argv[3]), pfd[2];
	OrderRun *o = calloc(1, sizeof(*o));
	int64_t maps, workers;

	REQUIRE(n > 2 * burst && pipe2(pfd, O_CLOEXEC) == 0);
	o->fd = pfd[1];
	o->q = dispatch_queue_create("test-ring.replies", NULL);
	o->c = order_connect(ep, o->q);
	o->g = dispatch_group_create();
	o->slots = dispatch_semaphore_create(INFLIGHT);
	for (int part = 0; part < 5; part++) {
		uint64_t end = o->seq + (part % 2 ? burst : part == 4 ? n - o->seq : stretch);
		while (o->seq < end)
			order_send(o, part % 2 ? K_ONEWAY : order_kind(o->seq));
	}
	CHECK(dispatch_group_wait(o->g, dispatch_time(DISPATCH_TIME_NOW, 120 * NSEC_PER_SEC)) == 0);
	xpc_object_t r = client_call(o->c, "getseq");
	CHECK(xpc_get_type(r) == XPC_TYPE_DICTIONARY && xpc_dictionary_get_bool(r, "inorder"));
	CHECK_EQ_INT(xpc_dictionary_get_uint64(r, "count"), n);
	xpc_release(r);
	CHECK_EQ_INT(atomic_load(&o->bad), 0);
	client_stats(o->c, &maps, &workers);
	fprintf(stderr, "test-ring order: %llu messages, %d answered, rings mapped: client %d, service %lld\n",
		(unsigned long long)n, atomic_load(&o->answered), ring_maps(), (long long)maps);
	CHECK_EQ_INT(ring_maps(), cmaps);
	CHECK_EQ_INT(maps, smaps);
	client_end(o->c);
	CHECK_EQ_INT(ring_maps_settle(0), 0); /* ring_free at the link's close */
	close(pfd[0]);
	close(pfd[1]);
	dispatch_release(o->q);
	dispatch_release(o->g);
	dispatch_release(o->slots);
	free(o);
	return harness_failures ? 1 : 0;
}

/* ---- the client: ends ------------------------------------------------------- */

/* `diesvc US`: a call the service answers by dying after US us. */
static int client_diesvc(xpc_endpoint_t ep, int argc, char **argv)
{
	REQUIRE(argc == 1);
	xpc_connection_t c = client_connect(ep, NULL);
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0);

	client_warm(c);
	xpc_dictionary_set_string(m, "op", "die");
	xpc_dictionary_set_int64(m, "after_us", atoi(argv[0]));
	xpc_object_t r = xpc_connection_send_message_with_reply_sync(c, m);
	report("returned %llu", (unsigned long long)now_ns());
	CHECK(r == XPC_ERROR_CONNECTION_INTERRUPTED || r == XPC_ERROR_CONNECTION_INVALID);
	xpc_release(r);
	xpc_release(m);
	client_end(c);
	return harness_failures ? 1 : 0;
}

/* `dieclient`: round trips, then this process is killed right after a
 * reply, as the service's worker lingers for the next request. */
static int client_dieclient(xpc_endpoint_t ep, int argc, char **argv)
{
	xpc_connection_t c = client_connect(ep, NULL);

	(void)argc;
	(void)argv;
	for (int i = 0; i < 50; i++)
		client_warm(c);
	report("dying %llu", (unsigned long long)now_ns());
	raise(SIGKILL);
	return 1;
}

typedef struct CancelCall {
	xpc_connection_t c;
	dispatch_semaphore_t done;
	_Atomic uint64_t returned_ns;
	xpc_object_t reply;
} CancelCall;

static void *cancel_caller(void *arg)
{
	CancelCall *cc = arg;

	cc->reply = client_call(cc->c, "hold");
	atomic_store(&cc->returned_ns, now_ns());
	dispatch_semaphore_signal(cc->done);
	return NULL;
}

/* `cancel`: a call that the service never answers, cancelled from this
 * thread @delay_us into its wait. */
static void client_cancel_once(xpc_endpoint_t ep, useconds_t delay_us)
{
	CancelCall cc = {.c = client_connect(ep, NULL), .done = dispatch_semaphore_create(0)};
	pthread_t t;

	client_warm(cc.c);
	REQUIRE(pthread_create(&t, NULL, cancel_caller, &cc) == 0);
	usleep(delay_us);
	uint64_t t0 = now_ns();
	xpc_connection_cancel(cc.c);
	CHECK(conn_test_wait(cc.done, 10));
	pthread_join(t, NULL);
	uint64_t took = atomic_load(&cc.returned_ns) - t0;
	fprintf(stderr, "test-ring cancel: after %u us, the call returned %.3f ms after the cancel\n", delay_us,
		took / 1e6);
	CHECK(took < CANCEL_NS);
	CHECK(cc.reply == XPC_ERROR_CONNECTION_INVALID);
	xpc_release(cc.reply);
	xpc_release(cc.c);
	dispatch_release(cc.done);
}

static int client_cancel(xpc_endpoint_t ep, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	client_cancel_once(ep, 2000);   /* on the futex */
	client_cancel_once(ep, 200000); /* on the socket */
	return harness_failures ? 1 : 0;
}

/* ---- the client: async ------------------------------------------------------ */

typedef struct AsyncRun {
	dispatch_semaphore_t all;
	atomic_llong expect, want; /* (ordered by the service only: another process) */
	_Atomic uint64_t worst_ns;
	atomic_int bad;
} AsyncRun;

static void async_message(AsyncRun *a, xpc_object_t m)
{
	if (xpc_get_type(m) != XPC_TYPE_DICTIONARY || !xpc_dictionary_get_value(m, "push"))
		return;
	uint64_t late = now_ns() - xpc_dictionary_get_uint64(m, "sent_ns");
	if (late > atomic_load(&a->worst_ns))
		atomic_store(&a->worst_ns, late);
	long long n = atomic_fetch_add(&a->expect, 1);
	if (xpc_dictionary_get_int64(m, "push") != n)
		atomic_fetch_add(&a->bad, 1);
	if (n + 1 == atomic_load(&a->want))
		dispatch_semaphore_signal(a->all);
}

/* Asks for @now messages right after the reply (a sync call: "pushafter")
 * or none (a one-way "push"), and @later ones spaced by @delays. */
static void async_ask(xpc_connection_t c, AsyncRun *a, bool sync, int now, int later, const int *delays, int n)
{
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0), d = xpc_array_create(NULL, 0);

	for (int i = 0; i < n; i++)
		xpc_array_set_int64(d, XPC_ARRAY_APPEND, delays[i]);
	xpc_dictionary_set_string(m, "op", sync ? "pushafter" : "push");
	xpc_dictionary_set_int64(m, "now", now);
	xpc_dictionary_set_int64(m, "count", later);
	xpc_dictionary_set_value(m, "delays", d);
	atomic_store(&a->expect, 0);
	atomic_store(&a->want, now + later);
	atomic_store(&a->worst_ns, 0);
	if (sync) {
		xpc_object_t r = xpc_connection_send_message_with_reply_sync(c, m);
		CHECK(xpc_get_type(r) == XPC_TYPE_DICTIONARY);
		xpc_release(r);
	} else {
		xpc_connection_send_message(c, m);
	}
	xpc_release(d);
	xpc_release(m);
	CHECK(conn_test_wait(a->all, 30));
	fprintf(stderr, "test-ring async: %s, %d messages, the latest reached the handler after %.3f ms\n",
		sync ? "after a sync call" : "handler only", now + later, atomic_load(&a->worst_ns) / 1e6);
	CHECK(atomic_load(&a->worst_ns) < ASYNC_NS);
	CHECK_EQ_INT(atomic_load(&a->bad), 0);
}

/* `async`: the service's own messages to a client that only has its
 * handler, then right after sync calls. */
static int client_async(xpc_endpoint_t ep, int argc, char **argv)
{
	/* reading, spinning, on the futex, on the socket (RING_BELL) */
	static const int delays[] = {0, 0, 20, 300, 3000, 12000, 30000, 0, 60000};
	AsyncRun *a = calloc(1, sizeof(*a));
	int n = sizeof(delays) / sizeof(delays[0]);

	(void)argc;
	(void)argv;
	a->all = dispatch_semaphore_create(0);
	/* (the handler runs on the connection's queue, one at a time) */
	xpc_connection_t c = client_connect(ep, ^(xpc_object_t m) {
		async_message(a, m);
	});
	client_warm(c);
	for (int round = 0; round < 3; round++) {
		async_ask(c, a, false, 0, 2 * n, delays, n);
		async_ask(c, a, true, 5, 0, NULL, 0);
		async_ask(c, a, true, 3, n, delays, n);
		async_ask(c, a, true, 0, 1, (const int[]){5000}, 1);
	}
	client_end(c);
	dispatch_release(a->all);
	free(a);
	return harness_failures ? 1 : 0;
}

/* ---- the client: linger ----------------------------------------------------- */

typedef struct LingerRun {
	xpc_connection_t c;
	int fd;
	_Atomic uint64_t call_ns; /* when the call under way began, 0: none */
	atomic_int slow, stuck;
	atomic_bool done;
} LingerRun;

/* Busy-waits @us (sleeps are late by the timer slack). */
static void spin_us(int us)
{
	uint64_t end = now_ns() + (uint64_t)us * 1000u;

	while (now_ns() < end)
		;
}

/* Waits up to @ms for the call that began at @t to end: whether it did. */
static bool linger_call_ended(LingerRun *lr, uint64_t t, int ms)
{
	for (int i = 0; i < ms && atomic_load(&lr->call_ns) == t; i++)
		usleep(1000);
	return atomic_load(&lr->call_ns) != t;
}

/* A call unanswered for a second is slow (counted), and if still
 * unanswered 4 s later stuck: it gets a message by the socket (it carries
 * a descriptor), whose read finds the request in the ring.  With
 * TEST_RING_STALL set, a stuck call waits 120 s first (to attach gdb). */
static void *linger_watchdog(void *arg)
{
	LingerRun *lr = arg;

	while (!atomic_load(&lr->done)) {
		usleep(100000);
		uint64_t t = atomic_load(&lr->call_ns);
		if (!t || now_ns() - t < 1000000000u)
			continue;
		atomic_fetch_add(&lr->slow, 1);
		if (linger_call_ended(lr, t, 4000))
			continue;
		atomic_fetch_add(&lr->stuck, 1);
		if (getenv("TEST_RING_STALL")) {
			fprintf(stderr, "test-ring linger: client %d stuck\n", (int)getpid());
			sleep(120);
		}
		fprintf(stderr, "test-ring linger: a call got no answer for 5 s: nudged by the socket\n");
		xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0);
		xpc_dictionary_set_fd(m, "fd", lr->fd);
		xpc_connection_send_message(lr->c, m);
		xpc_release(m);
		CHECK(linger_call_ended(lr, t, 10000));
	}
	return NULL;
}

/* `linger N`: N calls, each about when the service's worker stops
 * lingering for it (RING_LINGER_MIN_US, then wait_readable's
 * CONN_LINGER_US): a request published as it stops must still wake it. */
static int client_linger(xpc_endpoint_t ep, int argc, char **argv)
{
	LingerRun *lr = calloc(1, sizeof(*lr));
	int n = argc > 0 ? atoi(argv[0]) : 2000, pfd[2];
	pthread_t t;

	REQUIRE(pipe2(pfd, O_CLOEXEC) == 0);
	lr->fd = pfd[1];
	lr->c = client_connect(ep, NULL);
	client_warm(lr->c);
	REQUIRE(pthread_create(&t, NULL, linger_watchdog, lr) == 0);
	for (int i = 0; i < n; i++) {
		spin_us(1900 + (i * 37) % 500); /* 1.9-2.4 ms after the last reply */
		atomic_store(&lr->call_ns, now_ns());
		xpc_object_t r = client_call(lr->c, "ping");
		atomic_store(&lr->call_ns, 0);
		CHECK(xpc_get_type(r) == XPC_TYPE_DICTIONARY);
		xpc_release(r);
	}
	atomic_store(&lr->done, true);
	pthread_join(t, NULL);
	fprintf(stderr, "test-ring linger: %d calls, %d slower than 1 s, %d stuck until nudged\n", n,
		atomic_load(&lr->slow), atomic_load(&lr->stuck));
	CHECK_EQ_INT(atomic_load(&lr->stuck), 0);
	client_end(lr->c);
	close(pfd[0]);
	close(pfd[1]);
	free(lr);
	return harness_failures ? 1 : 0;
}

/* ---- the client: many --------------------------------------------------------- */

typedef struct ManyRun {
	xpc_connection_t c[MANY_CONNS];
	atomic_int answered, bad;
} ManyRun;

typedef struct ManyThread {
	ManyRun *run;
	int first;
} ManyThread;

/* MANY_CALLS round trips on each connection first, first + MANY_THREADS, ... */
static void *many_thread(void *arg)
{
	ManyThread *t = arg;

	for (uint64_t n = 0; n < MANY_CALLS; n++) {
		for (int i = t->first; i < MANY_CONNS; i += MANY_THREADS) {
			xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0);
			xpc_dictionary_set_uint64(m, "n", n);
			xpc_object_t r = xpc_connection_send_message_with_reply_sync(t->run->c[i], m);
			if (xpc_get_type(r) == XPC_TYPE_DICTIONARY && xpc_dictionary_get_uint64(r, "n") == n &&
			    xpc_dictionary_get_bool(r, "inorder"))
				atomic_fetch_add(&t->run->answered, 1);
			else
				atomic_fetch_add(&t->run->bad, 1);
			xpc_release(r);
			xpc_release(m);
		}
	}
	return NULL;
}

static int client_many(xpc_endpoint_t ep, int argc, char **argv)
{
	ManyRun *run = calloc(1, sizeof(*run));
	ManyThread th[MANY_THREADS];
	pthread_t t[MANY_THREADS];
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN), soft = ncpu > 2 ? ncpu : 2;
	int64_t maps, workers;
	uint64_t t0 = now_ns();

	(void)argc;
	(void)argv;
	for (int i = 0; i < MANY_CONNS; i++)
		run->c[i] = client_connect(ep, NULL);
	for (int i = 0; i < MANY_THREADS; i++) {
		th[i] = (ManyThread){run, i};
		REQUIRE(pthread_create(&t[i], NULL, many_thread, &th[i]) == 0);
	}
	for (int i = 0; i < MANY_THREADS; i++)
		pthread_join(t[i], NULL);
	client_stats(run->c[0], &maps, &workers);
	fprintf(stderr, "test-ring many: %d of %d calls answered in %.0f ms, rings mapped %d, service workers %lld\n",
		atomic_load(&run->answered), MANY_CONNS * MANY_CALLS, (now_ns() - t0) / 1e6, ring_maps(),
		(long long)workers);
	CHECK_EQ_INT(atomic_load(&run->answered), MANY_CONNS * MANY_CALLS);
	CHECK_EQ_INT(atomic_load(&run->bad), 0);
	CHECK_EQ_INT(ring_maps(), 2 * MANY_CONNS);
	CHECK(workers >= 1 && workers <= 2 * soft + 4);
	for (int i = 0; i < MANY_CONNS; i++)
		client_end(run->c[i]);
	CHECK_EQ_INT(ring_maps_settle(0), 0);
	free(run);
	return harness_failures ? 1 : 0;
}

/* `client W STATUS SCENARIO ARGS...` */
static int client(int wfd, int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(xpc_endpoint_t ep, int argc, char **argv);
	} scenarios[] = {
		{"order", client_order},   {"diesvc", client_diesvc}, {"dieclient", client_dieclient},
		{"cancel", client_cancel}, {"async", client_async},   {"many", client_many},
		{"linger", client_linger},
	};
	xpc_endpoint_t ep = endpoint_create_from_send_fd(wfd);

	REQUIRE(ep && argc >= 1);
	close(wfd);
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		if (strcmp(argv[0], scenarios[i].name) == 0) {
			int r = scenarios[i].run(ep, argc - 1, argv + 1);
			xpc_release(ep);
			return r;
		}
	}
	return 2;
}

/* ---- the orchestrator ------------------------------------------------------- */

typedef struct Run {
	pid_t service, client;
	int status, ctl; /* our ends: the status pipe's, the service's CTL */
	int failures; /* harness_failures at the start */
	char log[8192];
	size_t log_len;
} Run;

/* Starts `self ROLE FD STATUS [CTL] ARGS...` (@ctl < 0: none; @args
 * NULL-terminated, at most 6) with XPC_SHARED_RING=@ring (NULL: unset);
 * the descriptors named stay open in it. */
static pid_t spawn(const char *ring, const char *role, int fd, int status, int ctl, const char *const *args)
{
	char a_fd[16], a_status[16], a_ctl[16];
	const char *argv[12] = {self, role, a_fd, a_status};
	int n = 4;

	snprintf(a_fd, sizeof(a_fd), "%d", fd);
	snprintf(a_status, sizeof(a_status), "%d", status);
	snprintf(a_ctl, sizeof(a_ctl), "%d", ctl);
	if (ctl >= 0)
		argv[n++] = a_ctl;
	for (; args && *args && n < 11; args++)
		argv[n++] = *args;
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		if (ring)
			setenv("XPC_SHARED_RING", ring, 1);
		else
			unsetenv("XPC_SHARED_RING");
		fcntl(fd, F_SETFD, 0);
		fcntl(status, F_SETFD, 0);
		if (ctl >= 0)
			fcntl(ctl, F_SETFD, 0);
		execv(self, (char *const *)argv);
		_exit(127);
	}
	return pid;
}

/* Starts a service (XPC_SHARED_RING=@sring) and a client (@cring) that
 * runs @args. */
static void run_start(Run *r, const char *sring, const char *cring, const char *const *args)
{
	int rfd, wfd, st[2], ctl[2];

	memset(r, 0, sizeof(*r));
	r->failures = harness_failures;
	REQUIRE(connection_listener_pair(&rfd, &wfd) == 0);
	REQUIRE(pipe2(st, O_CLOEXEC) == 0 && pipe2(ctl, O_CLOEXEC) == 0);
	r->service = spawn(sring, "serve", rfd, st[1], ctl[0], NULL);
	r->client = spawn(cring, "client", wfd, st[1], -1, args);
	close(rfd);
	close(wfd);
	close(st[1]);
	close(ctl[0]);
	r->status = st[0];
	r->ctl = ctl[1];
}

/* Reads the status pipe until a line starting with @tag came (its value:
 * the number after the tag) or @ms passed (0). */
static uint64_t run_wait_line(Run *r, const char *tag, int ms)
{
	uint64_t end = now_ns() + (uint64_t)ms * 1000000u;

	for (;;) {
		char *p = r->log;
		r->log[r->log_len] = 0;
		while ((p = strstr(p, tag)) != NULL) {
			if (p == r->log || p[-1] == '\n')
				return strtoull(p + strlen(tag), NULL, 10);
			p++;
		}
		uint64_t now = now_ns();
		struct pollfd pfd = {r->status, POLLIN, 0};
		if (now >= end || poll(&pfd, 1, (int)((end - now) / 1000000u) + 1) <= 0)
			return 0;
		ssize_t n = read(r->status, r->log + r->log_len, sizeof(r->log) - 1 - r->log_len);
		if (n <= 0)
			return 0;
		r->log_len += (size_t)n;
	}
}

/* The rest of the status lines (both processes ended: up to EOF). */
static void run_drain(Run *r)
{
	ssize_t n;

	while (r->log_len < sizeof(r->log) - 1 &&
	       (n = read(r->status, r->log + r->log_len, sizeof(r->log) - 1 - r->log_len)) > 0)
		r->log_len += (size_t)n;
	r->log[r->log_len] = 0;
}

/* Waits for the client (@killed: by itself), ends the service; whether
 * both ended as they should. */
static void run_finish(Run *r, bool client_killed, bool service_killed, unsigned secs)
{
	int st = harness_wait_pid(r->client, secs);

	if (client_killed)
		CHECK(st >= 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	else
		CHECK(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(r->ctl);
	st = harness_wait_pid(r->service, 30);
	if (service_killed)
		CHECK(st >= 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	else
		CHECK(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	run_drain(r);
	CHECK(!strstr(r->log, "disorder"));
	if (harness_failures != r->failures)
		fprintf(stderr, "test-ring: what the processes reported:\n%s", r->log);
	close(r->status);
}

/* Both opt in (XPC_SHARED_RING=@ring): both map two rings. */
static void test_order(const char *ring, const char *n, const char *burst)
{
	Run r;

	fprintf(stderr, "test-ring: order, XPC_SHARED_RING=%s\n", ring);
	run_start(&r, ring, ring, (const char *const[]){"order", n, burst, "2", "2", NULL});
	run_finish(&r, false, false, 300);
}

/* One opts in: it maps its own ring (offered, never acknowledged). */
static void test_one_sided(void)
{
	Run r;

	fprintf(stderr, "test-ring: only the client opts in\n");
	run_start(&r, NULL, "1", (const char *const[]){"order", "3000", "1000", "1", "0", NULL});
	run_finish(&r, false, false, 120);
	fprintf(stderr, "test-ring: only the service opts in\n");
	run_start(&r, "1", NULL, (const char *const[]){"order", "3000", "1000", "0", "1", NULL});
	run_finish(&r, false, false, 120);
}

/* The client's call returns within END_NS of the service's death. */
static void test_diesvc(const char *ring, const char *after_us)
{
	Run r;

	run_start(&r, ring, ring, (const char *const[]){"diesvc", after_us, NULL});
	uint64_t died = run_wait_line(&r, "dying ", 30000), back = run_wait_line(&r, "returned ", 10000);
	fprintf(stderr, "test-ring diesvc (%s, %s us): the call returned %.3f ms after the service's kill\n", ring,
		after_us, (double)(back - died) / 1e6);
	CHECK(died && back && back - died < END_NS);
	run_finish(&r, false, true, 30);
}

/* The service's peer gets its INVALID within END_NS of the client's death. */
static void test_dieclient(const char *ring)
{
	Run r;

	run_start(&r, ring, ring, (const char *const[]){"dieclient", NULL});
	uint64_t died = run_wait_line(&r, "dying ", 30000), seen = run_wait_line(&r, "invalid ", 10000);
	fprintf(stderr, "test-ring dieclient (%s): the peer's INVALID came %.3f ms after the client's kill\n", ring,
		(double)(seen - died) / 1e6);
	CHECK(died && seen && seen - died < END_NS);
	run_finish(&r, true, false, 30);
}

/* A scenario the client checks by itself, both opted in. */
static void test_scenario(const char *scenario, const char *ring, unsigned secs)
{
	Run r;

	fprintf(stderr, "test-ring: %s, XPC_SHARED_RING=%s\n", scenario, ring);
	run_start(&r, ring, ring, (const char *const[]){scenario, NULL});
	run_finish(&r, false, false, secs);
}

/* Whether the command line asked for scenario @name ("all": every one). */
static bool wanted(const char *which, const char *name)
{
	return strcmp(which, "all") == 0 || strcmp(which, name) == 0;
}

static void test_all(const char *which)
{
	if (wanted(which, "order"))
		test_order("1", "20000", "5000");
	if (wanted(which, "futex"))
		test_order("futex", "4000", "1000");
	if (wanted(which, "one-sided"))
		test_one_sided();
	if (wanted(which, "diesvc")) {
		test_diesvc("1", "3000");   /* in the futex phase */
		test_diesvc("1", "200000"); /* on the socket */
		test_diesvc("futex", "200000");
	}
	if (wanted(which, "dieclient")) {
		test_dieclient("1");
		test_dieclient("futex");
	}
	if (wanted(which, "cancel"))
		test_scenario("cancel", "1", 60);
	if (wanted(which, "async")) {
		test_scenario("async", "1", 120);
		test_scenario("async", "futex", 120);
	}
	if (wanted(which, "linger"))
		test_scenario("linger", "1", 280);
	if (wanted(which, "many"))
		test_scenario("many", "1", 280);
}

int main(int argc, char **argv)
{
	self = argv[0];
	if (argc >= 5 && strcmp(argv[1], "serve") == 0) {
		status_fd = atoi(argv[3]);
		alarm(600);
		return serve(atoi(argv[2]), atoi(argv[4]));
	}
	if (argc >= 5 && strcmp(argv[1], "client") == 0) {
		status_fd = atoi(argv[3]);
		alarm(600);
		return client(atoi(argv[2]), argc - 4, argv + 4);
	}
	signal(SIGPIPE, SIG_IGN);
	harness_begin(290);
	test_all(argc > 1 ? argv[1] : "all");
	return harness_end();
}
