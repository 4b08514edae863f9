/* SPDX-License-Identifier: MIT */
/*
 * test-source-edge.c - READ sources in the edge-triggered mode
 * (dsource_edge_triggered: a connection's link, src/connection/receive.c)
 * on a SOCK_SEQPACKET socketpair: a packet that arrives while the handler
 * runs (after it found the socket empty) makes the handler run again; a
 * packet left unread is delivered again only when the handler asks
 * (dsource_redeliver), also when it asks while suspended (at the resume);
 * packets written while the source is suspended, also by its own handler
 * (a linger), are delivered after the resume; cancel racing a flood of
 * packets runs the cancel handler once, after the last event handler, and
 * closing the descriptor there is safe.
 */
#include "harness.h"
#include "dispatch/runtime.h"

#include <dispatch/dispatch.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#define SEC(n) dispatch_time(DISPATCH_TIME_NOW, (int64_t)(n) * (int64_t)NSEC_PER_SEC)
#define MSEC(n) dispatch_time(DISPATCH_TIME_NOW, (int64_t)(n) * (int64_t)NSEC_PER_MSEC)

static dispatch_source_t edge_source(int fd, dispatch_queue_t q)
{
	dispatch_source_t s = dispatch_source_create(DISPATCH_SOURCE_TYPE_READ, (uintptr_t)fd, 0, q);

	REQUIRE(s != NULL);
	dsource_skip_estimate(s);
	dsource_edge_triggered(s);
	return s;
}

/*
 * A SOCK_SEQPACKET socketpair (@sv) and an edge-triggered source on @q
 * watching sv[0], not yet resumed (the caller sets its event handler);
 * its cancel handler runs @also (may be NULL), closes sv[0] and signals
 * @done.
 */
static dispatch_source_t edge_pair(dispatch_queue_t q, int sv[2], dispatch_semaphore_t done, dispatch_block_t also)
{
	REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
	int fd = sv[0];
	dispatch_source_t s = edge_source(fd, q);
	dispatch_source_set_cancel_handler(s, ^{
		if (also)
			also();
		close(fd);
		dispatch_semaphore_signal(done);
	});
	return s;
}

/* Reads every packet there is; returns how many. */
static int drain(int fd)
{
	char b[64];
	int n = 0;

	while (recv(fd, b, sizeof(b), MSG_DONTWAIT) > 0)
		n++;
	return n;
}

/* A packet that comes while the handler runs, after it drained the
 * socket, is not lost: the handler runs again (no re-arm after it). */
static void test_event_during_handler(void)
{
	int sv[2];
	dispatch_queue_t q = dispatch_queue_create("t.edge", NULL);
	dispatch_semaphore_t inside = dispatch_semaphore_create(0), written = dispatch_semaphore_create(0);
	dispatch_semaphore_t got = dispatch_semaphore_create(0), done = dispatch_semaphore_create(0);
	__block int calls = 0, packets = 0;

	dispatch_source_t s = edge_pair(q, sv, done, NULL);
	int fd = sv[0];
	dispatch_source_set_event_handler(s, ^{
		int n = drain(fd);

		packets += n;
		if (calls++ == 0) {
			/* the socket is empty now; the next packet comes meanwhile */
			dispatch_semaphore_signal(inside);
			dispatch_semaphore_wait(written, DISPATCH_TIME_FOREVER);
		}
		if (n > 0)
			dispatch_semaphore_signal(got);
	});
	dispatch_resume(s);
	CHECK_EQ_INT(send(sv[1], "a", 1, 0), 1);
	CHECK_EQ_INT(dispatch_semaphore_wait(inside, SEC(10)), 0);
	CHECK_EQ_INT(send(sv[1], "b", 1, 0), 1);
	usleep(20000); /* (the manager thread has seen it by now, mostly) */
	dispatch_semaphore_signal(written);
	CHECK_EQ_INT(dispatch_semaphore_wait(got, SEC(10)), 0); /* "a" */
	CHECK_EQ_INT(dispatch_semaphore_wait(got, SEC(10)), 0); /* "b" */
	CHECK_EQ_INT(send(sv[1], "c", 1, 0), 1);
	CHECK_EQ_INT(dispatch_semaphore_wait(got, SEC(10)), 0);
	dispatch_sync(q, ^{
		CHECK_EQ_INT(packets, 3);
	});
	dispatch_source_cancel(s);
	CHECK_EQ_INT(dispatch_semaphore_wait(done, SEC(10)), 0);
	close(sv[1]);
	dispatch_release(s);
	dispatch_release(q);
	dispatch_release(inside);
	dispatch_release(written);
	dispatch_release(got);
	dispatch_release(done);
}

/* A packet left unread comes back only through dsource_redeliver, also
 * one asked for while the source is suspended (at the resume); packets
 * that arrive while it is suspended are reported at the resume. */
static void test_redeliver_and_suspend(void)
{
	int sv[2];
	dispatch_queue_t q = dispatch_queue_create("t.redeliver", NULL);
	dispatch_semaphore_t got = dispatch_semaphore_create(0), done = dispatch_semaphore_create(0);
	__block atomic_int calls = 0, packets = 0;
	__block atomic_int leave = 1, suspend_inside = 0;

	dispatch_source_t s = edge_pair(q, sv, done, NULL);
	int fd = sv[0], peer = sv[1];
	dispatch_source_set_event_handler(s, ^{
		atomic_fetch_add(&calls, 1);
		if (atomic_exchange(&leave, 0)) {
			dsource_redeliver(s); /* read nothing: come back */
			return;
		}
		if (atomic_exchange(&suspend_inside, 0)) {
			/* a linger: held suspended while reading itself, and a
			 * packet that comes after its last read waits for the
			 * resume */
			dispatch_suspend(s);
			atomic_fetch_add(&packets, drain(fd));
			CHECK_EQ_INT(send(peer, "late", 4, 0), 4);
			dispatch_resume(s);
			dispatch_semaphore_signal(got);
			return;
		}
		atomic_fetch_add(&packets, drain(fd));
		dispatch_semaphore_signal(got);
	});
	dispatch_resume(s);
	CHECK_EQ_INT(send(sv[1], "a", 1, 0), 1);
	CHECK_EQ_INT(dispatch_semaphore_wait(got, SEC(10)), 0);
	CHECK_EQ_INT(atomic_load(&packets), 1);
	CHECK(atomic_load(&calls) >= 2);

	/* suspended: nothing delivered until the resume, then everything */
	dispatch_suspend(s);
	CHECK_EQ_INT(send(sv[1], "b", 1, 0), 1);
	CHECK_EQ_INT(send(sv[1], "c", 1, 0), 1);
	CHECK(dispatch_semaphore_wait(got, MSEC(100)) != 0);
	dispatch_resume(s);
	CHECK_EQ_INT(dispatch_semaphore_wait(got, SEC(10)), 0);
	CHECK_EQ_INT(atomic_load(&packets), 3);

	/* a redelivery asked for while suspended comes at the resume */
	dispatch_suspend(s);
	dsource_redeliver(s);
	CHECK(dispatch_semaphore_wait(got, MSEC(100)) != 0);
	dispatch_resume(s);
	CHECK_EQ_INT(dispatch_semaphore_wait(got, SEC(10)), 0);

	/* the handler's own suspension: the packet sent meanwhile comes */
	atomic_store(&suspend_inside, 1);
	CHECK_EQ_INT(send(sv[1], "d", 1, 0), 1);
	CHECK_EQ_INT(dispatch_semaphore_wait(got, SEC(10)), 0);
	CHECK_EQ_INT(dispatch_semaphore_wait(got, SEC(10)), 0);
	CHECK_EQ_INT(atomic_load(&packets), 5);

	dispatch_source_cancel(s);
	CHECK_EQ_INT(dispatch_semaphore_wait(done, SEC(10)), 0);
	close(sv[1]);
	dispatch_release(s);
	dispatch_release(q);
	dispatch_release(got);
	dispatch_release(done);
}

typedef struct {
	int fd;
	atomic_int stop;
} Flood;

static void *flood_main(void *arg)
{
	Flood *f = arg;

	while (!atomic_load(&f->stop))
		if (send(f->fd, "x", 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 && errno != EAGAIN)
			break;
	return NULL;
}

/* Cancel while packets keep coming (the watch always armed): the cancel
 * handler runs once, after the last event handler, and may close. */
static void test_cancel_flood(void)
{
	for (int round = 0; round < 20; round++) {
		int sv[2];
		dispatch_queue_t q = dispatch_queue_create("t.flood", NULL);
		dispatch_semaphore_t done = dispatch_semaphore_create(0), some = dispatch_semaphore_create(0);
		__block atomic_int cancels = 0, after = 0, calls = 0;
		Flood f;
		pthread_t t;

		dispatch_source_t s = edge_pair(q, sv, done, ^{
			atomic_fetch_add(&cancels, 1);
		});
		int fd = sv[0];
		f.fd = sv[1];
		atomic_init(&f.stop, 0);
		dispatch_source_set_event_handler(s, ^{
			if (atomic_load(&cancels))
				atomic_fetch_add(&after, 1);
			drain(fd);
			if (atomic_fetch_add(&calls, 1) == 3)
				dispatch_semaphore_signal(some);
		});
		dispatch_resume(s);
		REQUIRE(pthread_create(&t, NULL, flood_main, &f) == 0);
		CHECK_EQ_INT(dispatch_semaphore_wait(some, SEC(10)), 0);
		dispatch_source_cancel(s);
		CHECK_EQ_INT(dispatch_semaphore_wait(done, SEC(10)), 0);
		atomic_store(&f.stop, 1);
		pthread_join(t, NULL);
		close(sv[1]);
		dispatch_sync(q, ^{
		});
		CHECK_EQ_INT(atomic_load(&cancels), 1);
		CHECK_EQ_INT(atomic_load(&after), 0);
		dispatch_release(s);
		dispatch_release(q);
		dispatch_release(done);
		dispatch_release(some);
	}
}

int main(void)
{
	harness_warm_dispatch();
	harness_begin(60);
	test_event_during_handler();
	test_redeliver_and_suspend();
	test_cancel_flood();
	return harness_end();
}
