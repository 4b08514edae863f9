/* SPDX-License-Identifier: MIT */
/*
 * test-source-fd.c - READ and WRITE sources on a pipe and a socketpair:
 * get_data is the bytes available, the handler fires again only while
 * data remains, EOF is delivered, the cancel handler runs once and after
 * it the descriptor can be closed (no leak), suspension holds events back.
 */
#include "harness.h"

#include <dispatch/dispatch.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>

#define SEC(n) dispatch_time(DISPATCH_TIME_NOW, (int64_t)(n) * (int64_t)NSEC_PER_SEC)

static void test_read(void)
{
	int p[2];
	dispatch_queue_t q = dispatch_queue_create("t.read", NULL);
	dispatch_semaphore_t got = dispatch_semaphore_create(0), done = dispatch_semaphore_create(0);
	__block size_t total = 0;
	__block int events = 0, eof = 0, cancels = 0;
	__block uintptr_t first_data = 0;

	REQUIRE(pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0);
	int rfd = p[0], wfd = p[1];
	dispatch_source_t rs = dispatch_source_create(DISPATCH_SOURCE_TYPE_READ, (uintptr_t)rfd, 0, q);
	REQUIRE(rs != NULL);
	CHECK_EQ_INT(dispatch_source_get_handle(rs), rfd);
	dispatch_source_set_event_handler(rs, ^{
		uintptr_t avail = dispatch_source_get_data(rs);
		char buf[64];
		ssize_t n = read(rfd, buf, sizeof(buf));

		if (events++ == 0)
			first_data = avail;
		if (n > 0)
			total += (size_t)n;
		if (n == 0) {
			eof = 1;
			dispatch_source_cancel(rs);
		}
		dispatch_semaphore_signal(got);
	});
	dispatch_source_set_cancel_handler(rs, ^{
		cancels++;
		close(rfd);
		dispatch_semaphore_signal(done);
	});
	dispatch_resume(rs);
	CHECK_EQ_INT(write(wfd, "hello", 5), 5);
	CHECK_EQ_INT(dispatch_semaphore_wait(got, SEC(10)), 0);
	usleep(50000);
	dispatch_sync(q, ^{
		CHECK_EQ_INT(first_data, 5);
		CHECK_EQ_INT(total, 5);
		CHECK_EQ_INT(events, 1); /* drained: no second event */
	});
	/* suspended: no delivery until resume */
	dispatch_suspend(rs);
	CHECK_EQ_INT(write(wfd, "abc", 3), 3);
	CHECK(dispatch_semaphore_wait(got, dispatch_time(DISPATCH_TIME_NOW, 100 * NSEC_PER_MSEC)) != 0);
	dispatch_resume(rs);
	CHECK_EQ_INT(dispatch_semaphore_wait(got, SEC(10)), 0);
	close(wfd);
	CHECK_EQ_INT(dispatch_semaphore_wait(done, SEC(10)), 0);
	dispatch_sync(q, ^{
		CHECK_EQ_INT(total, 8);
		CHECK_EQ_INT(eof, 1);
		CHECK_EQ_INT(cancels, 1);
	});
	dispatch_release(rs);
	dispatch_release(q);
	dispatch_release(got);
	dispatch_release(done);
}

static void test_write_socket(void)
{
	int sv[2];
	dispatch_queue_t q = dispatch_get_global_queue(0, 0);
	dispatch_semaphore_t done = dispatch_semaphore_create(0), readable = dispatch_semaphore_create(0);
	__block atomic_int writes = 0;

	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) == 0);
	int s0 = sv[0], s1 = sv[1];
	dispatch_source_t ws = dispatch_source_create(DISPATCH_SOURCE_TYPE_WRITE, (uintptr_t)s0, 0, q);
	dispatch_source_t rs = dispatch_source_create(DISPATCH_SOURCE_TYPE_READ, (uintptr_t)s1, 0, q);
	dispatch_source_set_event_handler(ws, ^{
		CHECK(dispatch_source_get_data(ws) > 0);
		if (atomic_fetch_add(&writes, 1) == 0)
			CHECK_EQ_INT(write(s0, "x", 1), 1);
		dispatch_source_cancel(ws);
	});
	dispatch_source_set_cancel_handler(ws, ^{
		close(s0);
		dispatch_semaphore_signal(done);
	});
	dispatch_source_set_event_handler(rs, ^{
		char c;
		if (read(s1, &c, 1) == 1)
			dispatch_semaphore_signal(readable);
		else
			dispatch_source_cancel(rs);
	});
	dispatch_source_set_cancel_handler(rs, ^{
		close(s1);
		dispatch_semaphore_signal(done);
	});
	dispatch_activate(rs);
	dispatch_activate(ws);
	CHECK_EQ_INT(dispatch_semaphore_wait(readable, SEC(10)), 0);
	CHECK_EQ_INT(dispatch_semaphore_wait(done, SEC(10)), 0); /* ws; then rs sees EOF */
	CHECK_EQ_INT(dispatch_semaphore_wait(done, SEC(10)), 0);
	dispatch_release(ws);
	dispatch_release(rs);
	dispatch_release(done);
	dispatch_release(readable);
}

/* Cancel racing a flood of events: the cancel handler runs once, after the
 * last event handler; closing in it is safe. */
static void test_cancel_race(void)
{
	for (int round = 0; round < 20; round++) {
		int p[2];
		dispatch_queue_t q = dispatch_queue_create("t.race", NULL);
		dispatch_semaphore_t done = dispatch_semaphore_create(0);
		__block atomic_int cancels = 0, after = 0;

		REQUIRE(pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0);
	int rfd = p[0], wfd = p[1];
		dispatch_source_t rs = dispatch_source_create(DISPATCH_SOURCE_TYPE_READ, (uintptr_t)rfd, 0, q);
		dispatch_source_set_event_handler(rs, ^{
			char b[16];
			if (atomic_load(&cancels))
				atomic_fetch_add(&after, 1);
			while (read(rfd, b, sizeof(b)) > 0)
				;
		});
		dispatch_source_set_cancel_handler(rs, ^{
			atomic_fetch_add(&cancels, 1);
			close(rfd);
			dispatch_semaphore_signal(done);
		});
		dispatch_resume(rs);
		for (int i = 0; i < 20; i++)
			CHECK(write(wfd, "y", 1) == 1);
		dispatch_source_cancel(rs);
		CHECK_EQ_INT(dispatch_semaphore_wait(done, SEC(10)), 0);
		close(wfd);
		usleep(1000);
		CHECK_EQ_INT(atomic_load(&cancels), 1);
		CHECK_EQ_INT(atomic_load(&after), 0);
		dispatch_release(rs);
		dispatch_release(q);
		dispatch_release(done);
	}
}

/* A regular file (epoll cannot watch it): as kqueue does for a vnode, the
 * data is the bytes left between the offset and the end, and the source is
 * quiet at the end of the file (it fired 10, 1, 1, 1... at EOF before). */
static void test_regular_file(void)
{
	char path[] = "/tmp/test-source-fd-XXXXXX";
	int fd = mkostemp(path, O_CLOEXEC);
	dispatch_queue_t q = dispatch_queue_create("t.file", NULL);
	dispatch_semaphore_t done = dispatch_semaphore_create(0);
	__block size_t total = 0, events = 0;
	static uintptr_t seen_buf[8];
	uintptr_t *seen = seen_buf;

	REQUIRE(fd >= 0);
	unlink(path);
	CHECK_EQ_INT(write(fd, "0123456789", 10), 10);
	CHECK_EQ_INT(lseek(fd, 0, SEEK_SET), 0);
	dispatch_source_t rs = dispatch_source_create(DISPATCH_SOURCE_TYPE_READ, (uintptr_t)fd, 0, q);
	dispatch_source_set_event_handler(rs, ^{
		char b[4];
		ssize_t n = read(fd, b, sizeof(b));
		if (events < 8)
			seen[events] = dispatch_source_get_data(rs);
		events++;
		if (n > 0)
			total += (size_t)n;
		if (n > 0 && (total == 10 || total == 13))
			dispatch_semaphore_signal(done);
	});
	dispatch_source_set_cancel_handler(rs, ^{
		close(fd);
		dispatch_semaphore_signal(done);
	});
	dispatch_resume(rs);
	CHECK_EQ_INT(dispatch_semaphore_wait(done, SEC(10)), 0);
	usleep(200000); /* at the end of the file: no more events */
	dispatch_sync(q, ^{
		CHECK_EQ_INT(total, 10);
		CHECK_EQ_INT(events, 3);
		CHECK_EQ_INT(seen[0], 10);
		CHECK_EQ_INT(seen[1], 6);
		CHECK_EQ_INT(seen[2], 2);
	});
	/* the file grows: resume looks again */
	CHECK_EQ_INT(pwrite(fd, "abc", 3, 10), 3);
	dispatch_suspend(rs);
	dispatch_resume(rs);
	CHECK_EQ_INT(dispatch_semaphore_wait(done, SEC(10)), 0);
	dispatch_sync(q, ^{
		CHECK_EQ_INT(total, 13);
		CHECK_EQ_INT(seen[3], 3);
	});
	dispatch_source_cancel(rs);
	CHECK_EQ_INT(dispatch_semaphore_wait(done, SEC(10)), 0);
	dispatch_release(rs);
	dispatch_release(q);
	dispatch_release(done);
}

/* READ and WRITE sources on the same socket (GCD allows it). */
static void test_same_fd(void)
{
	int sv[2];
	dispatch_queue_t q = dispatch_queue_create("t.same", NULL);
	dispatch_semaphore_t got = dispatch_semaphore_create(0), done = dispatch_semaphore_create(0);

	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) == 0);
	int s0 = sv[0], s1 = sv[1];
	dispatch_source_t rs = dispatch_source_create(DISPATCH_SOURCE_TYPE_READ, (uintptr_t)s0, 0, q);
	dispatch_source_t ws = dispatch_source_create(DISPATCH_SOURCE_TYPE_WRITE, (uintptr_t)s0, 0, q);
	dispatch_source_set_event_handler(rs, ^{
		char c;
		if (read(s0, &c, 1) == 1 && c == 'p')
			dispatch_semaphore_signal(got);
	});
	dispatch_source_set_event_handler(ws, ^{
		dispatch_semaphore_signal(got);
		dispatch_suspend(ws);
	});
	dispatch_source_set_cancel_handler(rs, ^{
		dispatch_semaphore_signal(done);
	});
	dispatch_source_set_cancel_handler(ws, ^{
		dispatch_semaphore_signal(done);
	});
	dispatch_resume(rs);
	dispatch_resume(ws);
	CHECK_EQ_INT(dispatch_semaphore_wait(got, SEC(10)), 0); /* writable */
	CHECK_EQ_INT(write(s1, "p", 1), 1);
	CHECK_EQ_INT(dispatch_semaphore_wait(got, SEC(10)), 0); /* readable */
	dispatch_source_cancel(rs);
	dispatch_source_cancel(ws);
	dispatch_resume(ws);
	CHECK_EQ_INT(dispatch_semaphore_wait(done, SEC(10)), 0);
	CHECK_EQ_INT(dispatch_semaphore_wait(done, SEC(10)), 0);
	close(s0);
	close(s1);
	dispatch_release(rs);
	dispatch_release(ws);
	dispatch_release(q);
	dispatch_release(got);
	dispatch_release(done);
}

int main(void)
{
	harness_warm_dispatch();
	harness_begin(60);
	test_read();
	test_write_socket();
	test_cancel_race();
	test_regular_file();
	test_same_fd();
	return harness_end();
}
