/* SPDX-License-Identifier: MIT */
/*
 * test-io.c - dispatch I/O: stream reads of a pipe to EOF (partial calls,
 * a last call with done), the low/high-water marks, random access to a
 * regular file at offsets (the file offset untouched), a large transfer
 * both ways over a socketpair, dispatch_io_close with DISPATCH_IO_STOP
 * (ECANCELED, operations after the close refused), a close without it
 * (pending operations finish, later ones are refused), path channels,
 * barriers and dispatch_io_get_descriptor, create_with_io, dispatch_read
 * and dispatch_write; every cleanup handler runs exactly once and no
 * descriptor is left open.
 */
#include "harness.h"

#include <dispatch/dispatch.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define SEC(n) dispatch_time(DISPATCH_TIME_NOW, (int64_t)(n) * (int64_t)NSEC_PER_SEC)

static dispatch_data_t bytes(const char *s)
{
	return dispatch_data_create(s, strlen(s), NULL, DISPATCH_DATA_DESTRUCTOR_DEFAULT);
}

static int equals(dispatch_data_t d, const void *want, size_t n)
{
	const void *p;
	size_t len;
	dispatch_data_t m = dispatch_data_create_map(d, &p, &len);
	int ok = len == n && memcmp(p, want, n) == 0;

	dispatch_release(m);
	return ok;
}

static void *writer(void *arg)
{
	int fd = *(int *)arg;

	for (int i = 0; i < 3; i++) {
		if (write(fd, "abcdefghij", 10) != 10)
			break;
		usleep(5000);
	}
	close(fd);
	return NULL;
}

static void test_pipe_stream(void)
{
	int p[2];
	pthread_t t;
	dispatch_queue_t q = dispatch_queue_create("t.io.pipe", NULL);
	dispatch_semaphore_t done = dispatch_semaphore_create(0), cleaned = dispatch_semaphore_create(0);
	__block dispatch_data_t all = dispatch_data_empty;
	__block int calls = 0, finals = 0, err = -1, cleanups = 0;

	REQUIRE(pipe2(p, O_CLOEXEC) == 0);
	dispatch_io_t ch = dispatch_io_create(DISPATCH_IO_STREAM, p[0], q, ^(int e) {
		cleanups++;
		CHECK_EQ_INT(e, 0);
		dispatch_semaphore_signal(cleaned);
	});
	REQUIRE(ch != NULL);
	CHECK_EQ_INT(dispatch_io_get_descriptor(ch), p[0]);
	dispatch_io_read(ch, 0, SIZE_MAX, q, ^(bool d, dispatch_data_t data, int error) {
		dispatch_data_t more = dispatch_data_create_concat(all, data);
		dispatch_release(all);
		all = more;
		calls++;
		if (d) {
			finals++;
			err = error;
			dispatch_semaphore_signal(done);
		}
	});
	REQUIRE(pthread_create(&t, NULL, writer, &p[1]) == 0);
	CHECK_EQ_INT(dispatch_semaphore_wait(done, SEC(10)), 0);
	pthread_join(t, NULL);
	dispatch_sync(q, ^{
		CHECK_EQ_INT(finals, 1);
		CHECK(calls >= 2); /* partial results, then the last call */
		CHECK_EQ_INT(err, 0);
		CHECK(equals(all, "abcdefghijabcdefghijabcdefghij", 30));
	});
	dispatch_io_close(ch, 0);
	dispatch_release(ch);
	CHECK_EQ_INT(dispatch_semaphore_wait(cleaned, SEC(10)), 0);
	dispatch_sync(q, ^{
		CHECK_EQ_INT(cleanups, 1);
	});
	CHECK_EQ_INT(fcntl(p[0], F_GETFL) & O_NONBLOCK, 0); /* flags restored */
	close(p[0]);
	dispatch_release(all);
	dispatch_release(q);
	dispatch_release(done);
	dispatch_release(cleaned);
}

/* low = high = 1000: every partial call carries exactly 1000 bytes. */
static void test_water_marks(void)
{
	enum { N = 10000 };
	int p[2];
	char *buf = malloc(N);
	dispatch_queue_t q = dispatch_queue_create("t.io.water", NULL);
	dispatch_semaphore_t done = dispatch_semaphore_create(0);
	__block int bad = 0, partial = 0;
	__block size_t total = 0;

	REQUIRE(buf && pipe2(p, O_CLOEXEC) == 0);
	memset(buf, 'w', N);
	int rfd = p[0];
	dispatch_io_t ch = dispatch_io_create(DISPATCH_IO_STREAM, p[0], q, ^(int e) {
		close(rfd);
		dispatch_semaphore_signal(done);
	});
	dispatch_io_set_low_water(ch, 1000);
	dispatch_io_set_high_water(ch, 1000);
	dispatch_io_set_interval(ch, NSEC_PER_SEC, 0);
	dispatch_io_read(ch, 0, N, q, ^(bool d, dispatch_data_t data, int error) {
		size_t n = dispatch_data_get_size(data);
		if (!d && n != 1000)
			bad++;
		if (!d)
			partial++;
		total += n;
		if (d) {
			CHECK_EQ_INT(error, 0);
			dispatch_semaphore_signal(done);
		}
	});
	CHECK_EQ_INT(write(p[1], buf, N), N);
	CHECK_EQ_INT(dispatch_semaphore_wait(done, SEC(10)), 0);
	dispatch_sync(q, ^{
		CHECK_EQ_INT(bad, 0);
		CHECK(partial >= 9);
		CHECK_EQ_INT(total, N);
	});
	dispatch_io_close(ch, 0);
	dispatch_release(ch);
	CHECK_EQ_INT(dispatch_semaphore_wait(done, SEC(10)), 0);
	close(p[1]);
	free(buf);
	dispatch_release(q);
	dispatch_release(done);
}

/* A random-access channel writes and reads at offsets relative to the
 * offset the descriptor had; the descriptor's own offset does not move. */
static void test_random_file(void)
{
	char path[] = "/tmp/test-io-XXXXXX";
	int fd = mkostemp(path, O_CLOEXEC);
	dispatch_queue_t q = dispatch_queue_create("t.io.file", NULL);
	dispatch_group_t g = dispatch_group_create();
	__block dispatch_data_t got = NULL;

	REQUIRE(fd >= 0);
	unlink(path);
	CHECK_EQ_INT(write(fd, "HDR:", 4), 4); /* the channel's base is offset 4 */
	dispatch_io_t ch = dispatch_io_create(DISPATCH_IO_RANDOM, fd, q, ^(int e) {
		CHECK_EQ_INT(e, 0);
		dispatch_group_leave(g);
	});
	REQUIRE(ch != NULL);
	dispatch_group_enter(g); /* the cleanup */
	dispatch_group_enter(g);
	dispatch_data_t w1 = bytes("world"), w0 = bytes("hello ");
	dispatch_io_write(ch, 6, w1, q, ^(bool d, dispatch_data_t data, int error) {
		if (d) {
			CHECK(data == NULL);
			CHECK_EQ_INT(error, 0);
			dispatch_group_leave(g);
		}
	});
	dispatch_group_enter(g);
	dispatch_io_write(ch, 0, w0, q, ^(bool d, dispatch_data_t data, int error) {
		if (d)
			dispatch_group_leave(g);
	});
	dispatch_release(w0);
	dispatch_release(w1);
	dispatch_io_barrier(ch, ^{
	}); /* reads and writes advance independently: order them */
	dispatch_group_enter(g);
	dispatch_io_read(ch, 3, 100, q, ^(bool d, dispatch_data_t data, int error) {
		if (!got)
			got = dispatch_data_empty;
		dispatch_data_t more = dispatch_data_create_concat(got, data);
		dispatch_release(got);
		got = more;
		if (d) {
			CHECK_EQ_INT(error, 0); /* EOF before 100 bytes: not an error */
			dispatch_group_leave(g);
		}
	});
	dispatch_io_close(ch, 0);
	dispatch_release(ch);
	CHECK_EQ_INT(dispatch_group_wait(g, SEC(10)), 0);
	CHECK(got && equals(got, "lo world", 8));
	CHECK_EQ_INT(lseek(fd, 0, SEEK_CUR), 4);
	close(fd);
	if (got)
		dispatch_release(got);
	dispatch_release(g);
	dispatch_release(q);
}

/* 4 MiB each way over a socketpair, reads and writes concurrently on the
 * same channels (a pending read must not hold back the write). */
static void test_socketpair_large(void)
{
	enum { N = 4 << 20 };
	int sv[2];
	unsigned char *src = malloc(N);
	dispatch_queue_t q = dispatch_queue_create("t.io.sock", DISPATCH_QUEUE_CONCURRENT);
	dispatch_group_t g = dispatch_group_create();
	static size_t got_buf[2];
	size_t *got = got_buf;
	__block atomic_int mismatch = 0;

	REQUIRE(src && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	for (size_t i = 0; i < N; i++)
		src[i] = (unsigned char)(i * 7 + (i >> 13));
	dispatch_data_t payload = dispatch_data_create(src, N, NULL, DISPATCH_DATA_DESTRUCTOR_DEFAULT);
	dispatch_io_t ch[2];
	for (int k = 0; k < 2; k++) {
		dispatch_group_enter(g);
		ch[k] = dispatch_io_create(DISPATCH_IO_STREAM, sv[k], q, ^(int e) {
			dispatch_group_leave(g);
		});
		REQUIRE(ch[k] != NULL);
	}
	for (int k = 0; k < 2; k++) {
		dispatch_group_enter(g);
		dispatch_io_read(ch[k], 0, N, q, ^(bool d, dispatch_data_t data, int error) {
			dispatch_data_apply(data, ^bool(dispatch_data_t r, size_t off, const void *buf, size_t size) {
				if (memcmp(buf, src + got[k], size) != 0)
					mismatch++;
				got[k] += size;
				return true;
			});
			if (d) {
				CHECK_EQ_INT(error, 0);
				dispatch_group_leave(g);
			}
		});
		dispatch_group_enter(g);
		dispatch_io_write(ch[k], 0, payload, q, ^(bool d, dispatch_data_t data, int error) {
			if (d) {
				CHECK_EQ_INT(error, 0);
				dispatch_group_leave(g);
			}
		});
		dispatch_io_close(ch[k], 0);
	}
	CHECK_EQ_INT(dispatch_group_wait(g, SEC(60)), 0);
	CHECK_EQ_INT(got[0], N);
	CHECK_EQ_INT(got[1], N);
	CHECK_EQ_INT(mismatch, 0);
	for (int k = 0; k < 2; k++) {
		dispatch_release(ch[k]);
		close(sv[k]);
	}
	dispatch_release(payload);
	free(src);
	dispatch_release(g);
	dispatch_release(q);
}

/* A read nobody satisfies ends with ECANCELED on close(STOP); an
 * operation after the close is refused the same way. */
static void test_close_stop(void)
{
	int p[2];
	dispatch_queue_t q = dispatch_queue_create("t.io.stop", NULL);
	dispatch_group_t g = dispatch_group_create();
	__block int err1 = -1, err2 = -1, cleanups = 0;
	__block size_t partial = 0;

	REQUIRE(pipe2(p, O_CLOEXEC) == 0);
	dispatch_group_enter(g);
	dispatch_io_t ch = dispatch_io_create(DISPATCH_IO_STREAM, p[0], q, ^(int e) {
		cleanups++;
		dispatch_group_leave(g);
	});
	dispatch_group_enter(g);
	dispatch_io_set_low_water(ch, SIZE_MAX); /* no partial calls */
	dispatch_io_read(ch, 0, 100, q, ^(bool d, dispatch_data_t data, int error) {
		partial += dispatch_data_get_size(data);
		if (d) {
			err1 = error;
			dispatch_group_leave(g);
		}
	});
	CHECK_EQ_INT(write(p[1], "12345", 5), 5);
	usleep(20000);
	dispatch_io_close(ch, DISPATCH_IO_STOP);
	dispatch_group_enter(g);
	dispatch_io_read(ch, 0, 10, q, ^(bool d, dispatch_data_t data, int error) {
		if (d) {
			err2 = error;
			dispatch_group_leave(g);
		}
	});
	CHECK_EQ_INT(dispatch_group_wait(g, SEC(10)), 0);
	CHECK_EQ_INT(err1, ECANCELED);
	CHECK_EQ_INT(partial, 5); /* the bytes read before the stop */
	CHECK_EQ_INT(err2, ECANCELED);
	CHECK_EQ_INT(cleanups, 1);
	dispatch_release(ch);
	close(p[0]);
	close(p[1]);
	dispatch_release(g);
	dispatch_release(q);
}

/* A close without DISPATCH_IO_STOP lets the pending operations finish;
 * an operation submitted after it ends at once with ECANCELED and leaves
 * the pending ones alone (it used to replace the queue with itself,
 * dropping the read that was waiting). */
static void test_close_pending(void)
{
	int p[2];
	dispatch_queue_t q = dispatch_queue_create("t.io.close-pending", NULL);
	dispatch_group_t g = dispatch_group_create();
	dispatch_semaphore_t refused = dispatch_semaphore_create(0);
	__block int err1 = -1, err2 = -1, cleanups = 0;
	__block size_t got = 0;

	REQUIRE(pipe2(p, O_CLOEXEC) == 0);
	dispatch_group_enter(g);
	dispatch_io_t ch = dispatch_io_create(DISPATCH_IO_STREAM, p[0], q, ^(int e) {
		cleanups++;
		dispatch_group_leave(g);
	});
	dispatch_group_enter(g);
	dispatch_io_read(ch, 0, 5, q, ^(bool d, dispatch_data_t data, int error) {
		got += dispatch_data_get_size(data);
		if (d) {
			err1 = error;
			dispatch_group_leave(g);
		}
	});
	dispatch_io_close(ch, 0);
	dispatch_io_read(ch, 0, 10, q, ^(bool d, dispatch_data_t data, int error) {
		if (d) {
			err2 = error;
			dispatch_semaphore_signal(refused);
		}
	});
	CHECK_EQ_INT(dispatch_semaphore_wait(refused, SEC(10)), 0);
	CHECK_EQ_INT(err2, ECANCELED);
	CHECK_EQ_INT(write(p[1], "12345", 5), 5);
	CHECK_EQ_INT(dispatch_group_wait(g, SEC(10)), 0);
	CHECK_EQ_INT(err1, 0);
	CHECK_EQ_INT(got, 5);
	CHECK_EQ_INT(cleanups, 1);
	dispatch_release(ch);
	close(p[0]);
	close(p[1]);
	dispatch_release(refused);
	dispatch_release(g);
	dispatch_release(q);
}

/* Path channels open the file themselves and close it at the end;
 * a barrier sees the descriptor; create_with_io shares it. */
static void test_path_barrier(void)
{
	char dir[] = "/tmp/test-io-dir-XXXXXX", path[64];
	dispatch_queue_t q = dispatch_queue_create("t.io.path", NULL);
	dispatch_group_t g = dispatch_group_create();
	__block int fd_seen = -2, wrote = 0, order_bad = -1;
	__block dispatch_data_t got = NULL;

	REQUIRE(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/f", dir);
	CHECK(dispatch_io_create_with_path(DISPATCH_IO_STREAM, "relative", O_RDONLY, 0, q, NULL) == NULL);
	dispatch_group_enter(g);
	dispatch_io_t w = dispatch_io_create_with_path(DISPATCH_IO_STREAM, path, O_CREAT | O_WRONLY | O_TRUNC, 0600,
						       q, ^(int e) {
		CHECK_EQ_INT(e, 0);
		dispatch_group_leave(g);
	});
	REQUIRE(w != NULL);
	dispatch_data_t d = bytes("path channel");
	dispatch_group_enter(g);
	dispatch_io_write(w, 0, d, q, ^(bool done, dispatch_data_t data, int error) {
		if (done) {
			wrote = 1;
			dispatch_group_leave(g);
		}
	});
	dispatch_release(d);
	dispatch_io_barrier(w, ^{
		struct stat st;
		fd_seen = dispatch_io_get_descriptor(w);
		/* the write before the barrier has ended (its handler may not have run) */
		order_bad = fstat(fd_seen, &st) < 0 || st.st_size != 12;
	});
	dispatch_io_close(w, 0);
	dispatch_release(w);
	CHECK_EQ_INT(dispatch_group_wait(g, SEC(10)), 0);
	CHECK(fd_seen >= 0);
	CHECK_EQ_INT(order_bad, 0);
	CHECK_EQ_INT(wrote, 1);

	dispatch_group_enter(g);
	dispatch_io_t r = dispatch_io_create_with_path(DISPATCH_IO_RANDOM, path, O_RDONLY, 0, q, ^(int e) {
		dispatch_group_leave(g);
	});
	dispatch_group_enter(g);
	dispatch_io_t r2 = dispatch_io_create_with_io(DISPATCH_IO_RANDOM, r, q, ^(int e) {
		dispatch_group_leave(g);
	});
	REQUIRE(r2 != NULL);
	dispatch_io_set_low_water(r2, SIZE_MAX); /* one call, at the end */
	dispatch_group_enter(g);
	dispatch_io_read(r2, 5, SIZE_MAX, q, ^(bool done, dispatch_data_t data, int error) {
		if (done) {
			dispatch_retain(data);
			got = data;
			dispatch_group_leave(g);
		}
	});
	dispatch_io_close(r2, 0);
	dispatch_release(r2);
	dispatch_io_close(r, 0);
	dispatch_release(r);
	CHECK_EQ_INT(dispatch_group_wait(g, SEC(10)), 0);
	CHECK(got && equals(got, "channel", 7));
	if (got)
		dispatch_release(got);
	/* a missing file: the operation and the cleanup report ENOENT */
	__block int open_err = 0, cleanup_err = 0;
	dispatch_group_enter(g);
	dispatch_io_t m = dispatch_io_create_with_path(DISPATCH_IO_STREAM, "/nonexistent/x", O_RDONLY, 0, q,
						       ^(int e) {
		cleanup_err = e;
		dispatch_group_leave(g);
	});
	dispatch_group_enter(g);
	dispatch_io_read(m, 0, 10, q, ^(bool done, dispatch_data_t data, int error) {
		if (done) {
			open_err = error;
			dispatch_group_leave(g);
		}
	});
	dispatch_release(m); /* the last release closes it */
	CHECK_EQ_INT(dispatch_group_wait(g, SEC(10)), 0);
	CHECK_EQ_INT(open_err, ENOENT);
	CHECK_EQ_INT(cleanup_err, ENOENT);
	unlink(path);
	rmdir(dir);
	dispatch_release(g);
	dispatch_release(q);
}

static void test_read_write_oneshot(void)
{
	int p[2];
	dispatch_queue_t q = dispatch_queue_create("t.io.oneshot", NULL);
	dispatch_semaphore_t s = dispatch_semaphore_create(0);
	__block int werr = -1, rerr = -1;
	__block dispatch_data_t got = NULL, left = (dispatch_data_t)1;

	REQUIRE(pipe2(p, O_CLOEXEC) == 0);
	dispatch_data_t d = bytes("one shot");
	int wfd = p[1];
	dispatch_write(p[1], d, q, ^(dispatch_data_t rest, int error) {
		werr = error;
		left = rest;
		close(wfd); /* the reader sees EOF */
		dispatch_semaphore_signal(s);
	});
	dispatch_release(d);
	dispatch_read(p[0], SIZE_MAX, q, ^(dispatch_data_t data, int error) {
		rerr = error;
		dispatch_retain(data);
		got = data;
		dispatch_semaphore_signal(s);
	});
	CHECK_EQ_INT(dispatch_semaphore_wait(s, SEC(10)), 0);
	CHECK_EQ_INT(dispatch_semaphore_wait(s, SEC(10)), 0);
	CHECK_EQ_INT(werr, 0);
	CHECK(left == NULL);
	CHECK_EQ_INT(rerr, 0);
	CHECK(got && equals(got, "one shot", 8));
	if (got)
		dispatch_release(got);
	close(p[0]);
	dispatch_release(s);
	dispatch_release(q);
}

int main(void)
{
	harness_warm_dispatch();
	harness_begin(120);
	test_pipe_stream();
	test_water_marks();
	test_random_file();
	test_socketpair_large();
	test_close_stop();
	test_close_pending();
	test_path_barrier();
	test_read_write_oneshot();
	return harness_end();
}
