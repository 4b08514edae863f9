/* SPDX-License-Identifier: MIT */
/*
 * fdutil.c - duplicate, flag and close descriptors (the conventions:
 * fdutil.h).  With -Dfault_injection the fcntl() duplications here go
 * through the FAULT_DUP hook like any other in src/.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/resource.h>
#include <unistd.h>

#include "shared/fdutil.h"

int fd_dup_min(int fd, int min)
{
	int d = fcntl(fd, F_DUPFD_CLOEXEC, min);

	return d < 0 ? -errno : d;
}

int fd_dup(int fd)
{
	return fd_dup_min(fd, FD_DUP_FLOOR);
}

int fd_set_cloexec(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFD);

	if (fl < 0)
		return -errno;
	if (!!(fl & FD_CLOEXEC) == on)
		return 0;
	fl = on ? (fl | FD_CLOEXEC) : (fl & ~FD_CLOEXEC);
	return fcntl(fd, F_SETFD, fl) < 0 ? -errno : 0;
}

int fd_set_nonblock(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);
	int nfl;

	if (fl < 0)
		return -errno;
	nfl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
	if (nfl != fl && fcntl(fd, F_SETFL, nfl) < 0)
		return -errno;
	return fl;
}

bool fd_valid(int fd)
{
	int e = errno;
	bool ok = fd >= 0 && fcntl(fd, F_GETFD) >= 0;

	errno = e;
	return ok;
}

int fd_close(int fd)
{
	int e;

	if (fd < 0)
		return -1;
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

void fd_closep(int *fdp)
{
	*fdp = fd_close(*fdp);
}

static long fd_limit_value(rlim_t v)
{
	return v == RLIM_INFINITY || v > (rlim_t)LONG_MAX ? FD_NO_LIMIT : (long)v;
}

long fd_limit(void)
{
	struct rlimit rl;

	return getrlimit(RLIMIT_NOFILE, &rl) < 0 ? -errno : fd_limit_value(rl.rlim_cur);
}

long fd_raise_limit(long *ret_old)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	if (ret_old)
		*ret_old = fd_limit_value(rl.rlim_cur);
	if (rl.rlim_cur != rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			return -errno;
	}
	return fd_limit_value(rl.rlim_cur);
}

int fd_restore_limit(long old)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	rl.rlim_cur = old == FD_NO_LIMIT ? RLIM_INFINITY : (rlim_t)old;
	if (rl.rlim_cur > rl.rlim_max)
		rl.rlim_cur = rl.rlim_max;
	return setrlimit(RLIMIT_NOFILE, &rl) < 0 ? -errno : 0;
}
