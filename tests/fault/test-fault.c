/* SPDX-License-Identifier: MIT */
/*
 * test-fault.c - libxpc survives every single failure of an allocation or
 * of a descriptor-making / I/O system call (src/shared/fault.h; needs
 * -Dfault_injection=true, skipped (77) otherwise).
 *
 * For each fault point (alloc, socketpair, memfd_create, mmap, sendmsg,
 * recvmsg, dup, thread) and each N = 0, 1, ... the Nth call of that point
 * fails while a scenario runs, until a run no longer reaches N.  Three
 * scenarios:
 *   object      create, set, copy, compare, describe every type;
 *   wire        encode and decode a message with every type, descriptors
 *               and shared memory included, and the standalone form;
 *   connection  in one process: an anonymous listener, an endpoint, a client
 *               connected through it, two requests with async replies, a
 *               sync request, a one-way message with a descriptor, a
 *               barrier, a large (out-of-line) request, then cancel both.
 * After each run: every reply handler was called exactly once (a reply, or
 * INTERRUPTED / INVALID), every connection object was finalized, the
 * process has the descriptors and heap bytes it had before (mallinfo2 with
 * the tcache off; under ASan, LeakSanitizer at exit), no crash, no hang
 * (a watchdog names the point and N).  A final run without faults must
 * succeed in full.  Prints how many faults were injected.
 */
#include "harness.h"
#include "shared/fault.h"
#include "wire/wire.h"

#include <dispatch/dispatch.h>
#include <xpc/xpc.h>

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define FAULT_SANITIZED 1
#endif
#endif

static const char *cur_scenario = "setup";
static int cur_point = -1;
static long cur_n = -1;

static void on_watchdog(int sig)
{
	char buf[160];
	int n = snprintf(buf, sizeof(buf), "test-fault: hang in scenario %s, fault %s N=%ld\n", cur_scenario,
			 cur_point >= 0 ? fault_point_name((FaultPoint)cur_point) : "none", cur_n);
	ssize_t r = write(2, buf, (size_t)n);
	(void)r;
	(void)sig;
	_exit(124);
}

/* Under the sanitizers the heap is not compared per run (their allocator
 * keeps per-thread state that comes and goes); LeakSanitizer checks the
 * whole walk at exit instead. */
static size_t heap_in_use(void)
{
#ifdef FAULT_SANITIZED
	return 0;
#else
	object_buffer_cache_flush(); /* cached large buffers are no leak */
	return mallinfo2().uordblks;
#endif
}

/* Teardown is asynchronous: wait for heap and descriptors to come back to
 * @heap / @fds.  Up to 8 s: a dispatch worker started during the run holds
 * a little heap until it has been idle for 5 s and exits.
 * Return: true when both did. */
static bool settle(size_t heap, int fds)
{
	for (int i = 0; i < 800; i++) {
		if (heap_in_use() <= heap && harness_count_fds() <= fds) {
			return true;
		}
		usleep(10000);
	}
	return false;
}

static bool wait_sem(dispatch_semaphore_t s, int seconds)
{
	return dispatch_semaphore_wait(s, dispatch_time(DISPATCH_TIME_NOW, (int64_t)seconds * 1000000000LL)) == 0;
}

/* ---- object ------------------------------------------------------------------ */

static void object_scenario(bool clean)
{
	xpc_object_t d = xpc_dictionary_create_empty(), a, c, s, shm;
	void *region;
	uuid_t u = {1};

	if (!d) {
		CHECK(!clean);
		return;
	}
	for (int i = 0; i < 8; i++) {
		char key[16];
		snprintf(key, sizeof(key), "k%d", i);
		xpc_dictionary_set_int64(d, key, i);
		CHECK(xpc_dictionary_get_value(d, key) == NULL || xpc_dictionary_get_int64(d, key) == i);
	}
	xpc_dictionary_set_string(d, "s", "text");
	xpc_dictionary_set_data(d, "d", "abc", 3);
	xpc_dictionary_set_uuid(d, "u", u);
	xpc_dictionary_set_date(d, "t", 12345);
	xpc_dictionary_set_fd(d, "fd", 2);
	region = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	shm = xpc_shmem_create(region, 4096);
	if (shm)
		xpc_dictionary_set_value(d, "shm", shm);
	a = xpc_array_create_empty();
	if (a) {
		for (int i = 0; i < 6; i++)
			xpc_array_set_uint64(a, XPC_ARRAY_APPEND, (uint64_t)i);
		xpc_array_set_string(a, XPC_ARRAY_APPEND, "x");
		xpc_dictionary_set_value(d, "a", a);
	}
	s = xpc_string_create_with_format("%d-%s", 5, "five");
	c = xpc_copy(d);
	if (c) /* fd and shmem copies are new objects: compare the rest */
		CHECK_EQ_INT(xpc_dictionary_get_count(c), xpc_dictionary_get_count(d));
	free(xpc_copy_description(d));
	if (clean)
		CHECK(shm && a && s && c && xpc_dictionary_get_count(d) == 15);
	xpc_release(shm);
	munmap(region, 4096);
	xpc_release(s);
	xpc_release(c);
	xpc_release(a);
	xpc_release(d);
}

/* ---- wire -------------------------------------------------------------------- */

static xpc_object_t wire_message(void)
{
	xpc_object_t d = xpc_dictionary_create_empty(), a = xpc_array_create_empty(), inner;
	void *region = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	xpc_object_t shm = xpc_shmem_create(region, 8192);

	munmap(region, 8192);
	inner = xpc_dictionary_create_empty();
	xpc_dictionary_set_string(inner, "deep", "value");
	xpc_array_set_int64(a, XPC_ARRAY_APPEND, -1);
	xpc_array_set_string(a, XPC_ARRAY_APPEND, "two");
	xpc_array_append_value(a, inner);
	xpc_dictionary_set_value(d, "array", a);
	xpc_dictionary_set_value(d, "dict", inner);
	xpc_dictionary_set_bool(d, "bool", true);
	xpc_dictionary_set_double(d, "double", 2.5);
	xpc_dictionary_set_data(d, "data", "\0\1\2", 3);
	xpc_dictionary_set_fd(d, "fd", 1);
	xpc_dictionary_set_value(d, "shm", shm);
	xpc_dictionary_set_value(d, "null", xpc_null_create());
	xpc_release(shm);
	xpc_release(inner);
	xpc_release(a);
	return d;
}

static void wire_scenario(xpc_object_t msg, bool clean)
{
	WireBuffer buf = {0}, obuf = {0};
	WireFds fds = {0};
	xpc_object_t back = NULL, oback = NULL, plain;
	int r, dup_fds[8];
	size_t n = 0;

	r = wire_encode_message(msg, &buf, &fds);
	CHECK(r == 0 || (!clean && r == -ENOMEM));
	if (r == 0) {
		for (; n < fds.n && n < 8; n++)
			dup_fds[n] = fcntl(fds.fds[n], F_DUPFD_CLOEXEC, 3);
		r = wire_decode_message(buf.data, buf.len, dup_fds, n, &back);
		CHECK(r == 0 || (!clean && r == -ENOMEM));
		if (r == 0)
			CHECK_EQ_INT(xpc_dictionary_get_count(back), xpc_dictionary_get_count(msg));
		for (size_t i = 0; i < n; i++)
			if (dup_fds[i] >= 0)
				close(dup_fds[i]);
	}
	plain = xpc_dictionary_create_empty();
	if (plain) {
		xpc_dictionary_set_string(plain, "k", "v");
		xpc_dictionary_set_uint64(plain, "n", 7);
		r = wire_encode_object(plain, &obuf);
		if (r == 0) {
			r = wire_decode_object(obuf.data, obuf.len, &oback);
			CHECK(r == 0 || (!clean && r == -ENOMEM));
			if (r == 0 && clean)
				CHECK(xpc_equal(oback, plain));
		}
	}
	if (clean)
		CHECK(back && oback);
	xpc_release(oback);
	xpc_release(plain);
	xpc_release(back);
	wire_buffer_free(&obuf);
	wire_buffer_free(&buf);
	wire_fds_free(&fds);
}

/* ---- connection ---------------------------------------------------------------- */

static atomic_int live_conns; /* connection objects not yet finalized */

static void conn_finalized(void *ctx)
{
	(void)ctx;
	atomic_fetch_sub(&live_conns, 1);
}

static void track(xpc_connection_t c)
{
	atomic_fetch_add(&live_conns, 1);
	xpc_connection_set_finalizer_f(c, conn_finalized);
}

static void serve_peer(xpc_connection_t peer)
{
	track(peer);
	xpc_connection_set_event_handler(peer, ^(xpc_object_t ev) {
		if (xpc_get_type(ev) != XPC_TYPE_DICTIONARY)
			return;
		xpc_object_t reply = xpc_dictionary_create_reply(ev);
		int fd = xpc_dictionary_dup_fd(ev, "fd");
		if (fd >= 0)
			close(fd);
		if (!reply) { /* no memory for the answer: end the link, cleanly */
			if (!xpc_dictionary_get_value(ev, "fd")) /* a request */
				xpc_connection_cancel(peer);
			return;
		}
		xpc_dictionary_set_uint64(reply, "n", xpc_dictionary_get_uint64(ev, "n"));
		xpc_connection_send_message(peer, reply);
		xpc_release(reply);
	});
	xpc_connection_resume(peer);
}

typedef struct Tally {
	atomic_int calls;     /* reply handler calls */
	atomic_int replies;   /* of which real replies */
	dispatch_semaphore_t sem;
} Tally;

static void send_async(xpc_connection_t c, xpc_object_t msg, Tally *t, uint64_t n)
{
	(void)n;
	xpc_dictionary_set_uint64(msg, "n", n);
	xpc_connection_send_message_with_reply(c, msg, NULL, ^(xpc_object_t r) {
		/* the server may have failed to fill it in, not to send it */
		if (xpc_get_type(r) == XPC_TYPE_DICTIONARY)
			atomic_fetch_add(&t->replies, 1);
		else
			CHECK(r == XPC_ERROR_CONNECTION_INVALID || r == XPC_ERROR_CONNECTION_INTERRUPTED);
		atomic_fetch_add(&t->calls, 1);
		dispatch_semaphore_signal(t->sem);
	});
}

/* The client half: requests of every kind on @c; returns the real replies. */
static int client_exchange(xpc_connection_t c, bool clean)
{
	xpc_object_t msg = xpc_dictionary_create_empty(), big = xpc_dictionary_create_empty(), r;
	static Tally t; /* static: a late handler must not find a dead frame */
	__block atomic_int barrier = 0;
	static char blob[100 * 1024];
	int got = 0;

	atomic_store(&t.calls, 0);
	atomic_store(&t.replies, 0);
	t.sem = dispatch_semaphore_create(0);
	if (!msg || !big || !t.sem) { /* made by libxpc too: may fail */
		CHECK(!clean);
		xpc_release(msg);
		xpc_release(big);
		if (t.sem)
			dispatch_release(t.sem);
		return 0;
	}
	send_async(c, msg, &t, 1);
	send_async(c, msg, &t, 2);
	xpc_dictionary_set_uint64(msg, "n", 3);
	r = xpc_connection_send_message_with_reply_sync(c, msg);
	if (xpc_get_type(r) == XPC_TYPE_DICTIONARY)
		got++;
	else
		CHECK(r == XPC_ERROR_CONNECTION_INVALID || r == XPC_ERROR_CONNECTION_INTERRUPTED);
	xpc_release(r);
	xpc_dictionary_set_fd(msg, "fd", 0);
	xpc_connection_send_message(c, msg);
	xpc_connection_send_barrier(c, ^{
		atomic_store(&barrier, 1);
	});
	xpc_dictionary_set_data(big, "blob", blob, sizeof(blob));
	send_async(c, big, &t, 4);
	for (int i = 0; i < 3; i++)
		if (!wait_sem(t.sem, 10))
			break;
	CHECK_EQ_INT(atomic_load(&t.calls), 3); /* each exactly once (or a hang) */
	got += atomic_load(&t.replies);
	if (clean)
		CHECK_EQ_INT(got, 4);
	(void)barrier;
	xpc_release(big);
	xpc_release(msg);
	dispatch_release(t.sem);
	return got;
}

static void conn_scenario(bool clean)
{
	xpc_connection_t l = xpc_connection_create(NULL, NULL), c = NULL;
	xpc_endpoint_t ep;

	atomic_store(&live_conns, 0); /* a leak is reported once, not again */
	if (!l) {
		CHECK(!clean);
		return;
	}
	track(l);
	xpc_connection_set_event_handler(l, ^(xpc_object_t ev) {
		if (xpc_get_type(ev) == XPC_TYPE_CONNECTION)
			serve_peer((xpc_connection_t)ev);
	});
	xpc_connection_resume(l);
	ep = xpc_endpoint_create(l);
	if (ep) {
		c = xpc_connection_create_from_endpoint(ep);
		xpc_release(ep);
	}
	if (c) {
		track(c);
		xpc_connection_set_event_handler(c, ^(xpc_object_t ev) {
			(void)ev;
		});
		xpc_connection_resume(c);
		client_exchange(c, clean);
		xpc_connection_cancel(c);
		xpc_release(c);
	}
	CHECK(c || !clean);
	xpc_connection_cancel(l);
	xpc_release(l);
	for (int i = 0; i < 1000 && atomic_load(&live_conns) > 0; i++)
		usleep(5000);
	CHECK_EQ_INT(atomic_load(&live_conns), 0);
}

/* ---- the walk ------------------------------------------------------------------ */

typedef struct Scenario {
	const char *name;
	void (*run)(bool clean);
} Scenario;

static xpc_object_t the_message;

static void wire_run(bool clean)
{
	wire_scenario(the_message, clean);
}

static const Scenario scenarios[] = {
	{"object", object_scenario},
	{"wire", wire_run},
	{"connection", conn_scenario},
};

/* Walks N over @p in @s; returns the faults injected. */
static long walk(const Scenario *s, FaultPoint p)
{
	long injected = 0;
	int fails = harness_failures;

	cur_scenario = s->name;
	cur_point = p;
	for (long n = 0;; n++) {
		long before = fault_injected();
		int before_fails = harness_failures;
		size_t heap = heap_in_use();
		int fds = harness_count_fds();

		cur_n = n;
		fault_arm(p, n);
		s->run(false);
		fault_arm(p, -1);
		if (fault_injected() == before)
			break; /* the scenario no longer reaches N */
		injected++;
		if (!settle(heap, fds)) {
			fprintf(stderr, "test-fault: %s, fault %s N=%ld: heap %+ld bytes, %+d descriptors\n", s->name,
				fault_point_name(p), n, (long)(heap_in_use() - heap), harness_count_fds() - fds);
			harness_failures++;
		}
		if (harness_failures != before_fails)
			fprintf(stderr, "test-fault: ^ in scenario %s, fault %s N=%ld\n", s->name, fault_point_name(p),
				n);
		if (harness_failures > fails + 20)
			break;
	}
	return injected;
}

int main(int argc, char **argv)
{
	static const FaultPoint points[] = {FAULT_ALLOC, FAULT_SOCKETPAIR, FAULT_MEMFD, FAULT_MMAP,
					    FAULT_SENDMSG, FAULT_RECVMSG, FAULT_DUP, FAULT_THREAD};
	long total = 0;

	if (!fault_compiled_in()) {
		fprintf(stderr, "test-fault: built without -Dfault_injection=true: skipped\n");
		return 77;
	}
#ifndef FAULT_SANITIZED
	/* freed chunks parked in the tcache, or in libxpc's own cache of
	 * object blocks, count as in use: turn both off */
	if (!getenv("XPC_FAULT_REEXEC")) {
		setenv("XPC_FAULT_REEXEC", "1", 1);
		setenv("GLIBC_TUNABLES", "glibc.malloc.tcache_count=0", 1);
		setenv("XPC_OBJECT_CACHE", "0", 1);
		execv("/proc/self/exe", argv);
		return 1;
	}
#endif
	(void)argc;
	harness_warm_dispatch();
	the_message = wire_message();
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		scenarios[i].run(true); /* warm up lazily made library state */
	harness_begin(240);
	signal(SIGALRM, on_watchdog);
	/* FAULT_ONLY=scenario:point:N runs that one case (for debugging) */
	const char *only = getenv("FAULT_ONLY");
	for (size_t i = 0; only && i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		char name[32];
		long n;
		int p;
		if (sscanf(only, "%31[^:]:", name) != 1 || strcmp(name, scenarios[i].name) != 0)
			continue;
		const char *rest = only + strlen(name) + 1;
		const char *colon = strchr(rest, ':');
		if (!colon)
			break;
		snprintf(name, sizeof(name), "%.*s", (int)(colon - rest), rest);
		p = fault_point_by_name(name);
		n = strtol(colon + 1, NULL, 10);
		REQUIRE(p >= 0);
		fault_arm((FaultPoint)p, n);
		scenarios[i].run(false);
		fault_arm((FaultPoint)p, -1);
		return harness_end();
	}
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		for (size_t j = 0; j < sizeof(points) / sizeof(points[0]); j++) {
			long k = walk(&scenarios[i], points[j]);
			if (k)
				fprintf(stderr, "test-fault: %-10s %-12s %4ld faults\n", scenarios[i].name,
					fault_point_name(points[j]), k);
			total += k;
		}
	}
	cur_point = -1;
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		cur_scenario = scenarios[i].name;
		scenarios[i].run(true);
	}
	xpc_release(the_message);
	fprintf(stderr, "test-fault: %ld faults injected in total\n", total);
	CHECK(total > 100);
	return harness_end();
}
