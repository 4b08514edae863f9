/* SPDX-License-Identifier: MIT */
/*
 * test-fdutil.c - shared/fdutil.h: duplicates are close-on-exec and above
 * the floor, flags round-trip, errors come back as negative errno, and
 * fd_close() keeps errno and accepts -1; fd_limit() reads the descriptor
 * soft limit, fd_raise_limit() lifts it to the hard one and
 * fd_restore_limit() puts it back.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "harness.h"
#include "shared/fdutil.h"

static void test_dup(int fd)
{
	int d = fd_dup(fd), e;

	CHECK(d >= FD_DUP_FLOOR);
	CHECK(fcntl(d, F_GETFD) & FD_CLOEXEC);
	d = fd_close(d);
	CHECK_EQ_INT(d, -1);
	d = fd_dup_min(fd, 100);
	CHECK(d >= 100);
	fd_close(d);
	CHECK_EQ_INT(fd_dup(-1), -EBADF);
	e = fd_dup(1 << 20);
	CHECK_EQ_INT(e, -EBADF);
}

static void test_flags(int fd)
{
	int fl;

	CHECK_EQ_INT(fd_set_cloexec(fd, false), 0);
	CHECK(!(fcntl(fd, F_GETFD) & FD_CLOEXEC));
	CHECK_EQ_INT(fd_set_cloexec(fd, true), 0);
	CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	fl = fd_set_nonblock(fd, true);
	CHECK(fl >= 0 && !(fl & O_NONBLOCK));
	CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK);
	fl = fd_set_nonblock(fd, false);
	CHECK(fl >= 0 && (fl & O_NONBLOCK));
	CHECK(!(fcntl(fd, F_GETFL) & O_NONBLOCK));
	CHECK_EQ_INT(fd_set_nonblock(-1, true), -EBADF);
	CHECK_EQ_INT(fd_set_cloexec(-1, true), -EBADF);
}

static void test_close(void)
{
	int p[2];

	REQUIRE(pipe2(p, O_CLOEXEC) == 0);
	CHECK(fd_valid(p[0]));
	errno = ENOENT;
	CHECK(!fd_valid(-1));
	CHECK_EQ_INT(errno, ENOENT);
	fd_close(p[0]);
	CHECK_EQ_INT(errno, ENOENT);
	CHECK(!fd_valid(p[0]));
	CHECK_EQ_INT(fd_close(-1), -1);
	CHECK_EQ_INT(errno, ENOENT);
	{
		int fd FD_CLEANUP = p[1];

		CHECK(fd_valid(fd));
	}
	CHECK(!fd_valid(p[1]));
}

static void test_limit(void)
{
	struct rlimit rl, now;
	long old = 0;

	REQUIRE(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max < 64)
		return;
	now = rl;
	now.rlim_cur = rl.rlim_max / 2;
	REQUIRE(setrlimit(RLIMIT_NOFILE, &now) == 0);
	CHECK_EQ_INT(fd_raise_limit(&old), (long)rl.rlim_max);
	CHECK_EQ_INT(old, (long)(rl.rlim_max / 2));
	REQUIRE(getrlimit(RLIMIT_NOFILE, &now) == 0);
	CHECK_EQ_INT((long)now.rlim_cur, (long)rl.rlim_max);
	CHECK_EQ_INT(fd_limit(), (long)rl.rlim_max);
	CHECK_EQ_INT(fd_raise_limit(NULL), (long)rl.rlim_max); /* already there */
	CHECK_EQ_INT(fd_restore_limit(old), 0);
	REQUIRE(getrlimit(RLIMIT_NOFILE, &now) == 0);
	CHECK_EQ_INT((long)now.rlim_cur, (long)(rl.rlim_max / 2));
	CHECK_EQ_INT(fd_limit(), (long)(rl.rlim_max / 2));
	setrlimit(RLIMIT_NOFILE, &rl);
}

int main(void)
{
	int p[2];

	harness_begin(30);
	REQUIRE(pipe2(p, O_CLOEXEC) == 0);
	test_dup(p[0]);
	test_flags(p[1]);
	fd_closep(&p[0]);
	CHECK_EQ_INT(p[0], -1);
	fd_close(p[1]);
	test_close();
	test_limit();
	return harness_end();
}
