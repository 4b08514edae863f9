/* SPDX-License-Identifier: MIT */
/*
 * test-anon.c - anonymous listener, endpoint and client in one process:
 * every value type round-trips, replies (sync, async on another queue, _f),
 * barriers, 100 000 one-way messages in FIFO order, descriptors, shared
 * memory, 64 MiB out of line, credentials, cancel and invalidation reasons;
 * a handler that suspends its connection is not called again until the
 * resume, also for messages already waiting in the socket (the served side
 * reads on after a request, docs/connections.md); a client that sends
 * nothing still gets the service's messages and the end.
 */
#include "conn-common.h"
#include "harness.h"

#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <uuid/uuid.h>

static xpc_connection_t connect_to(xpc_connection_t listener, atomic_int *invalid_count)
{
	xpc_endpoint_t ep = xpc_endpoint_create(listener);
	xpc_connection_t c;

	REQUIRE(ep != NULL);
	CHECK(xpc_get_type(ep) == XPC_TYPE_ENDPOINT);
	c = xpc_connection_create_from_endpoint(ep);
	xpc_release(ep);
	REQUIRE(c != NULL);
	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) {
		if (ev == XPC_ERROR_CONNECTION_INVALID && invalid_count)
			atomic_fetch_add(invalid_count, 1);
	});
	xpc_connection_resume(c);
	return c;
}

static xpc_object_t all_types(void)
{
	xpc_object_t d = xpc_dictionary_create(NULL, NULL, 0);
	xpc_object_t a = xpc_array_create(NULL, 0);
	xpc_object_t inner = xpc_dictionary_create(NULL, NULL, 0);
	uuid_t u;

	uuid_generate(u);
	xpc_dictionary_set_string(d, "op", "echo");
	xpc_dictionary_set_bool(d, "bool", true);
	xpc_dictionary_set_int64(d, "int64", -42);
	xpc_dictionary_set_uint64(d, "uint64", UINT64_MAX);
	xpc_dictionary_set_double(d, "double", 3.25);
	xpc_dictionary_set_date(d, "date", 1234567890123LL);
	xpc_dictionary_set_data(d, "data", "\0\1\2\3", 4);
	xpc_dictionary_set_string(d, "string", "héllo");
	xpc_dictionary_set_uuid(d, "uuid", u);
	xpc_dictionary_set_value(d, "null", xpc_null_create());
	xpc_object_t one = xpc_int64_create(1);
	xpc_array_append_value(a, one);
	xpc_release(one);
	xpc_array_set_string(a, XPC_ARRAY_APPEND, "two");
	xpc_dictionary_set_string(inner, "deep", "value");
	xpc_array_append_value(a, inner);
	xpc_dictionary_set_value(d, "array", a);
	xpc_dictionary_set_value(d, "dict", inner);
	xpc_release(a);
	xpc_release(inner);
	return d;
}

/* pidfd_open exists here (valgrind 3.19 does not know the system call). */
static bool pidfd_supported(void)
{
	long fd = syscall(SYS_pidfd_open, getpid(), 0);

	if (fd >= 0)
		close((int)fd);
	return fd >= 0;
}

static void test_roundtrip(xpc_connection_t c)
{
	xpc_object_t msg = all_types();
	xpc_object_t reply = xpc_connection_send_message_with_reply_sync(c, msg);

	REQUIRE(xpc_get_type(reply) == XPC_TYPE_DICTIONARY);
	CHECK(xpc_equal(xpc_dictionary_get_value(reply, "echo"), msg));
	CHECK(xpc_dictionary_get_remote_connection(reply) == c);
	CHECK(xpc_dictionary_create_reply(reply) == NULL); /* not a request */
	CHECK_EQ_INT(xpc_connection_get_pid(c), getpid());
	CHECK_EQ_INT(xpc_connection_get_euid(c), geteuid());
	CHECK_EQ_INT(xpc_connection_get_egid(c), getegid());
	CHECK(xpc_linux_connection_get_pidfd(c) >= 0 || !pidfd_supported());
	xpc_release(reply);
	xpc_release(msg);
}

static void test_big(xpc_connection_t c)
{
	size_t len = 64u << 20;
	char *buf = malloc(len);
	xpc_object_t msg = xpc_dictionary_create(NULL, NULL, 0), reply;

	for (size_t i = 0; i < len; i++)
		buf[i] = (char)(i * 7);
	xpc_dictionary_set_string(msg, "op", "echo");
	xpc_dictionary_set_data(msg, "big", buf, len);
	free(buf);
	reply = xpc_connection_send_message_with_reply_sync(c, msg);
	REQUIRE(xpc_get_type(reply) == XPC_TYPE_DICTIONARY);
	CHECK(xpc_equal(xpc_dictionary_get_value(reply, "echo"), msg));
	xpc_release(reply);
	xpc_release(msg);
}

static void reply_f(void *ctx, xpc_object_t reply)
{
	if (xpc_get_type(reply) == XPC_TYPE_DICTIONARY)
		dispatch_semaphore_signal(ctx);
}

static void barrier_f(void *ctx)
{
	atomic_fetch_add((atomic_int *)ctx, 1);
}

static void test_async_and_barrier(xpc_connection_t c)
{
	dispatch_queue_t rq = dispatch_queue_create("reply", NULL);
	dispatch_semaphore_t sem = dispatch_semaphore_create(0);
	xpc_object_t msg = xpc_dictionary_create(NULL, NULL, 0);
	__block atomic_int answers = 0;
	atomic_int fbarriers = 0;

	xpc_dictionary_set_string(msg, "op", "echo");
	for (int i = 0; i < 10; i++)
		xpc_connection_send_message_with_reply(c, msg, rq, ^(xpc_object_t reply) {
			CHECK(xpc_get_type(reply) == XPC_TYPE_DICTIONARY);
			atomic_fetch_add(&answers, 1);
			dispatch_semaphore_signal(sem);
		});
	for (int i = 0; i < 10; i++)
		CHECK(conn_test_wait(sem, 30));
	CHECK_EQ_INT(atomic_load(&answers), 10);
	xpc_connection_send_message_with_reply_f(c, msg, rq, sem, reply_f);
	CHECK(conn_test_wait(sem, 30));
	xpc_connection_send_barrier(c, ^{
		dispatch_semaphore_signal(sem);
	});
	CHECK(conn_test_wait(sem, 30));
	xpc_connection_send_barrier_f(c, &fbarriers, barrier_f);
	xpc_connection_send_barrier(c, ^{
		dispatch_semaphore_signal(sem);
	});
	CHECK(conn_test_wait(sem, 30));
	CHECK_EQ_INT(atomic_load(&fbarriers), 1);
	xpc_release(msg);
	dispatch_release(sem);
	dispatch_release(rq);
}

static void test_fifo(xpc_connection_t c, uint64_t n)
{
	xpc_object_t msg, reply;

	for (uint64_t i = 0; i < n; i++) {
		msg = xpc_dictionary_create(NULL, NULL, 0);
		xpc_dictionary_set_string(msg, "op", "seq");
		xpc_dictionary_set_uint64(msg, "n", i);
		xpc_connection_send_message(c, msg);
		xpc_release(msg);
	}
	msg = xpc_dictionary_create(NULL, NULL, 0);
	xpc_dictionary_set_string(msg, "op", "getseq");
	reply = xpc_connection_send_message_with_reply_sync(c, msg);
	REQUIRE(xpc_get_type(reply) == XPC_TYPE_DICTIONARY);
	CHECK_EQ_INT(xpc_dictionary_get_uint64(reply, "count"), n);
	CHECK(xpc_dictionary_get_bool(reply, "inorder"));
	xpc_release(reply);
	xpc_release(msg);
}

static void test_fd_shmem(xpc_connection_t c)
{
	int p[2];
	char buf[8] = {0};
	xpc_object_t msg, reply;
	size_t len = 8192;
	unsigned char *region;
	uint64_t sum = 0;

	REQUIRE(pipe2(p, O_CLOEXEC) == 0);
	msg = xpc_dictionary_create(NULL, NULL, 0);
	xpc_dictionary_set_string(msg, "op", "fd");
	xpc_dictionary_set_fd(msg, "fd", p[1]);
	close(p[1]);
	reply = xpc_connection_send_message_with_reply_sync(c, msg);
	CHECK(xpc_get_type(reply) == XPC_TYPE_DICTIONARY);
	CHECK_EQ_INT(read(p[0], buf, 3), 3);
	CHECK(memcmp(buf, "xpc", 3) == 0);
	close(p[0]);
	xpc_release(reply);
	xpc_release(msg);

	region = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	REQUIRE(region != MAP_FAILED);
	for (size_t i = 0; i < len; i++)
		region[i] = (unsigned char)i;
	for (size_t i = 0; i < 4096; i++)
		sum += (unsigned char)i;
	msg = xpc_dictionary_create(NULL, NULL, 0);
	xpc_dictionary_set_string(msg, "op", "shmem");
	xpc_object_t shm = xpc_shmem_create(region, len);
	REQUIRE(shm != NULL);
	xpc_dictionary_set_value(msg, "shm", shm);
	xpc_release(shm);
	reply = xpc_connection_send_message_with_reply_sync(c, msg);
	CHECK(xpc_get_type(reply) == XPC_TYPE_DICTIONARY);
	CHECK_EQ_INT(xpc_dictionary_get_uint64(reply, "sum"), sum);
	CHECK(xpc_dictionary_get_uint64(reply, "len") >= len);
	xpc_release(reply);
	xpc_release(msg);
	munmap(region, len);
}

static void test_cancel(xpc_connection_t l)
{
	atomic_int invalid = 0;
	xpc_connection_t c = connect_to(l, &invalid);
	dispatch_semaphore_t sem = dispatch_semaphore_create(0);
	xpc_object_t msg = xpc_dictionary_create(NULL, NULL, 0);
	__block atomic_int answers = 0;
	char *reason;

	xpc_dictionary_set_string(msg, "op", "hold");
	for (int i = 0; i < 5; i++)
		xpc_connection_send_message_with_reply(c, msg, NULL, ^(xpc_object_t r) {
			CHECK(r == XPC_ERROR_CONNECTION_INVALID);
			atomic_fetch_add(&answers, 1);
			dispatch_semaphore_signal(sem);
		});
	CHECK(xpc_connection_copy_invalidation_reason(c) == NULL);
	xpc_connection_cancel(c);
	xpc_connection_cancel(c);
	for (int i = 0; i < 5; i++)
		CHECK(conn_test_wait(sem, 30));
	xpc_connection_send_barrier(c, ^{
		dispatch_semaphore_signal(sem);
	});
	CHECK(conn_test_wait(sem, 30));
	xpc_object_t r = xpc_connection_send_message_with_reply_sync(c, msg);
	CHECK(r == XPC_ERROR_CONNECTION_INVALID);
	usleep(100000);
	CHECK_EQ_INT(atomic_load(&answers), 5);
	CHECK_EQ_INT(atomic_load(&invalid), 1);
	reason = xpc_connection_copy_invalidation_reason(c);
	CHECK_STREQ(reason, "cancelled");
	free(reason);
	xpc_release(msg);
	xpc_release(c);
	dispatch_release(sem);
}

static void test_listener_gone(void)
{
	xpc_connection_t l = conn_test_start_echo_listener(NULL);
	xpc_endpoint_t ep = xpc_endpoint_create(l);
	__block atomic_int invalid = 0;
	xpc_connection_t c;
	char *reason;

	xpc_connection_cancel(l);
	xpc_release(l);
	usleep(100000);
	c = xpc_connection_create_from_endpoint(ep);
	xpc_release(ep);
	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) {
		if (ev == XPC_ERROR_CONNECTION_INVALID)
			atomic_fetch_add(&invalid, 1);
	});
	xpc_connection_resume(c);
	xpc_object_t msg = xpc_dictionary_create(NULL, NULL, 0);
	xpc_object_t r = xpc_connection_send_message_with_reply_sync(c, msg);
	CHECK(r == XPC_ERROR_CONNECTION_INVALID);
	for (int i = 0; i < 100 && atomic_load(&invalid) == 0; i++)
		usleep(10000);
	CHECK_EQ_INT(atomic_load(&invalid), 1);
	reason = xpc_connection_copy_invalidation_reason(c);
	CHECK_STREQ(reason, "listener gone");
	free(reason);
	xpc_release(msg);
	xpc_release(c);
}

/* A client that sends nothing still reads: the service speaks first, then
 * ends the connection (the client link's first read is held for sync
 * callers, sync.c: it must not wait for a send that never comes). */
static void test_service_speaks_first(void)
{
	xpc_connection_t l = xpc_connection_create(NULL, NULL);
	dispatch_semaphore_t ended = dispatch_semaphore_create(0);
	__block atomic_int got = 0, invalid = 0;
	xpc_endpoint_t ep;
	xpc_connection_t c;

	xpc_connection_set_event_handler(l, ^(xpc_object_t ev) {
		if (xpc_get_type(ev) != XPC_TYPE_CONNECTION)
			return;
		xpc_connection_t peer = (xpc_connection_t)ev;
		xpc_connection_set_event_handler(peer, ^(xpc_object_t m) {
			(void)m;
		});
		xpc_connection_resume(peer);
		xpc_object_t hi = xpc_dictionary_create(NULL, NULL, 0);
		xpc_dictionary_set_string(hi, "greeting", "first");
		xpc_connection_send_message(peer, hi);
		xpc_release(hi);
		xpc_connection_send_barrier(peer, ^{
			xpc_connection_cancel(peer);
		});
	});
	xpc_connection_resume(l);
	ep = xpc_endpoint_create(l);
	c = xpc_connection_create_from_endpoint(ep);
	xpc_release(ep);
	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) {
		if (xpc_get_type(ev) == XPC_TYPE_DICTIONARY)
			atomic_store(&got, xpc_dictionary_get_string(ev, "greeting") != NULL);
		else if (ev == XPC_ERROR_CONNECTION_INVALID && atomic_fetch_add(&invalid, 1) == 0)
			dispatch_semaphore_signal(ended);
	});
	xpc_connection_resume(c);
	CHECK(conn_test_wait(ended, 10));
	CHECK_EQ_INT(atomic_load(&got), 1);
	CHECK_EQ_INT(atomic_load(&invalid), 1);
	xpc_connection_cancel(l);
	xpc_release(l);
	xpc_release(c);
	dispatch_release(ended);
}

static atomic_int finalized;

static void finalizer(void *ctx)
{
	CHECK(ctx == (void *)&finalized);
	atomic_fetch_add(&finalized, 1);
}

/* Messages sent before activation wait; context and finalizer; a reply
 * handler runs on the queue it was given (held suspended, it cannot run). */
static void test_lifecycle(xpc_connection_t l)
{
	xpc_endpoint_t ep = xpc_endpoint_create(l);
	xpc_connection_t c = xpc_connection_create_from_endpoint(ep);
	dispatch_queue_t rq = dispatch_queue_create("held", NULL);
	dispatch_semaphore_t sem = dispatch_semaphore_create(0);
	__block atomic_int ran = 0;
	xpc_object_t m;

	xpc_release(ep);
	xpc_connection_set_context(c, &finalized);
	CHECK(xpc_connection_get_context(c) == (void *)&finalized);
	xpc_connection_set_finalizer_f(c, finalizer);
	for (uint64_t i = 0; i < 3; i++) {
		m = xpc_dictionary_create(NULL, NULL, 0);
		xpc_dictionary_set_string(m, "op", "seq");
		xpc_dictionary_set_uint64(m, "n", i);
		xpc_connection_send_message(c, m); /* inactive: queued */
		xpc_release(m);
	}
	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) {
		(void)ev;
	});
	xpc_connection_activate(c);
	xpc_connection_activate(c); /* no-op */
	dispatch_suspend(rq);
	m = xpc_dictionary_create(NULL, NULL, 0);
	xpc_dictionary_set_string(m, "op", "getseq");
	xpc_connection_send_message_with_reply(c, m, rq, ^(xpc_object_t r) {
		CHECK_EQ_INT(xpc_dictionary_get_uint64(r, "count"), 3);
		atomic_store(&ran, 1);
		dispatch_semaphore_signal(sem);
	});
	usleep(200000);
	CHECK_EQ_INT(atomic_load(&ran), 0);
	dispatch_resume(rq);
	CHECK(conn_test_wait(sem, 30));
	CHECK_EQ_INT(atomic_load(&ran), 1);
	xpc_release(m);
	xpc_connection_cancel(c);
	xpc_release(c);
	for (int i = 0; i < 200 && atomic_load(&finalized) == 0; i++)
		usleep(10000);
	CHECK_EQ_INT(atomic_load(&finalized), 1);
	dispatch_release(rq);
	dispatch_release(sem);
}

static void test_describe(xpc_connection_t c)
{
	char *d = xpc_copy_description(c);

	CHECK(d && strstr(d, "<connection: 0x") && strstr(d, "pid = "));
	free(d);
	CHECK(xpc_get_type(c) == XPC_TYPE_CONNECTION);
	CHECK(xpc_connection_get_name(c) == NULL);
}

static atomic_int susp_now, susp_violations, susp_next;

/* Every message: in order, never while suspended; one with "suspend"
 * answers if asked, suspends the connection and resumes it 50 ms later. */
static void suspending_handler(xpc_connection_t peer, xpc_object_t m, dispatch_semaphore_t done)
{
	if (xpc_get_type(m) != XPC_TYPE_DICTIONARY)
		return;
	if (atomic_load(&susp_now))
		atomic_fetch_add(&susp_violations, 1);
	if (xpc_dictionary_get_int64(m, "n") != atomic_fetch_add(&susp_next, 1))
		atomic_fetch_add(&susp_violations, 1);
	if (xpc_dictionary_get_bool(m, "suspend")) {
		xpc_object_t r = xpc_dictionary_create_reply(m);
		if (r) {
			xpc_connection_send_message(peer, r);
			xpc_release(r);
		}
		atomic_store(&susp_now, 1);
		xpc_connection_suspend(peer);
		dispatch_after(dispatch_time(DISPATCH_TIME_NOW, 50 * NSEC_PER_MSEC),
			       dispatch_get_global_queue(DISPATCH_QUEUE_PRIORITY_DEFAULT, 0), ^{
				       atomic_store(&susp_now, 0);
				       xpc_connection_resume(peer);
			       });
	}
	if (xpc_dictionary_get_bool(m, "last"))
		dispatch_semaphore_signal(done);
}

/* The peer is resumed only once all ten messages wait in its socket: a
 * request that suspends, four more, a one-way message that suspends, four
 * more. */
static void test_suspend_in_handler(void)
{
	dispatch_semaphore_t sent = dispatch_semaphore_create(0), done = dispatch_semaphore_create(0);
	xpc_connection_t l = xpc_connection_create(NULL, NULL);
	/* Not a __block variable: the peer's handler captures its own copy, so
	 * no byref storage is shared between the handler's last run and this
	 * function's end (libBlocksRuntime's refcounts are invisible to TSan). */
	static _Atomic(xpc_connection_t) peer_seen;
	xpc_connection_t peer;

	atomic_store(&peer_seen, NULL);
	xpc_connection_set_event_handler(l, ^(xpc_object_t ev) {
		if (xpc_get_type(ev) != XPC_TYPE_CONNECTION)
			return;
		xpc_connection_t p = xpc_retain(ev);
		atomic_store(&peer_seen, p);
		xpc_connection_set_event_handler(p, ^(xpc_object_t m) {
			suspending_handler(p, m, done);
		});
		CHECK(conn_test_wait(sent, 30));
		xpc_connection_resume(p);
	});
	xpc_connection_resume(l);
	xpc_connection_t c = connect_to(l, NULL);
	for (int i = 0; i < 10; i++) {
		xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0);
		xpc_dictionary_set_int64(m, "n", i);
		xpc_dictionary_set_bool(m, "suspend", i == 0 || i == 5);
		xpc_dictionary_set_bool(m, "last", i == 9);
		if (i == 0)
			xpc_connection_send_message_with_reply(c, m, NULL, ^(xpc_object_t r) {
				CHECK(xpc_get_type(r) == XPC_TYPE_DICTIONARY);
			});
		else
			xpc_connection_send_message(c, m);
		xpc_release(m);
	}
	xpc_connection_send_barrier(c, ^{
		dispatch_semaphore_signal(sent);
	});
	CHECK(conn_test_wait(done, 30));
	CHECK_EQ_INT(atomic_load(&susp_violations), 0);
	CHECK_EQ_INT(atomic_load(&susp_next), 10);
	xpc_connection_cancel(c);
	xpc_release(c);
	xpc_connection_cancel(l);
	xpc_release(l);
	peer = atomic_load(&peer_seen);
	if (peer) {
		xpc_connection_cancel(peer);
		xpc_release(peer);
	}
	dispatch_release(sent);
	dispatch_release(done);
}

int main(void)
{
	harness_warm_dispatch();
	harness_begin(120);
	int base = harness_count_fds();
	xpc_connection_t l = conn_test_start_echo_listener(NULL);
	atomic_int invalid = 0;
	xpc_connection_t c = connect_to(l, &invalid);

	test_roundtrip(c);
	test_describe(c);
	test_async_and_barrier(c);
	test_fifo(c, 100000);
	test_fd_shmem(c);
	test_big(c);
	test_cancel(l);
	test_lifecycle(l);
	test_listener_gone();
	test_service_speaks_first();
	test_suspend_in_handler();
	xpc_connection_cancel(c);
	xpc_connection_cancel(l);
	xpc_release(c);
	xpc_release(l);
	conn_test_settle_fds(base);
	CHECK_EQ_INT(atomic_load(&invalid), 1);
	return harness_end();
}
