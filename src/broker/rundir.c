/* SPDX-License-Identifier: MIT */
/*
 * rundir.c - the directory that holds the broker's socket, its lock and its
 * state file, and the trust xpcd puts in them (docs/security.md, "The
 * broker").
 *
 * xpcd keeps these files only in a directory it can trust: a real
 * directory (not a symlink), owned by xpcd's own uid or by root, that
 * neither its group nor others can write.  Anything else is refused at
 * start-up with a message naming the directory, its owner and its mode:
 * someone who can write there could replace the socket, plant a state file
 * naming a process group for xpcd to kill, or point the state file's
 * temporary name at a file of xpcd's user.  The directory is opened once
 * (rundir_open) and every file in it is reached through that descriptor.
 *
 *   SOCKET.lock   flock()ed for the broker's life: one broker per socket;
 *                 holds the owner's pid (for the second broker's message)
 *   SOCKET.state  the running jobs (registry.c); trusted only if it is a
 *                 regular file owned by xpcd's uid that others cannot
 *                 write; written to SOCKET.state.tmp (created anew with
 *                 O_EXCL | O_NOFOLLOW) and renamed into place
 *
 * The socket itself is bound by listener.c, under the same directory; its
 * mtime says which jobs generation clients looked names up in
 * (rundir_services_changed, docs/services.md).  A leaf: it calls only
 * log.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "broker/log.h"
#include "broker/rundir.h"

/* True when a file of @st may be trusted by xpcd: owned by xpcd's uid (or
 * root, when @root_ok) and not writable by group or others. */
static bool owner_trusted(const struct stat *st, bool root_ok)
{
	return (st->st_uid == geteuid() || (root_ok && st->st_uid == 0)) &&
	       !(st->st_mode & (S_IWGRP | S_IWOTH));
}

/* The directory @dir of the socket, checked (see the top).  Return: 0, or -1
 * with @err filled. */
static int rundir_check(Rundir *rd, const char *dir, char *err, size_t errlen)
{
	struct stat st;

	rd->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (rd->dir_fd < 0) {
		snprintf(err, errlen, "socket directory %s: %s%s", dir, strerror(errno),
			 errno == ELOOP ? " (a symbolic link: refused)" : "");
		return -1;
	}
	if (fstat(rd->dir_fd, &st) < 0) {
		snprintf(err, errlen, "socket directory %s: %s", dir, strerror(errno));
		return -1;
	}
	if (!owner_trusted(&st, true)) {
		snprintf(err, errlen,
			 "socket directory %s is owned by uid %u with mode %04o: refused "
			 "(it must belong to xpcd's uid %u or root and be writable by no one else)",
			 dir, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777),
			 (unsigned)geteuid());
		return -1;
	}
	return 0;
}

/* Takes SOCKET.lock.  Return: 0, or -1 with @err filled (another broker
 * holds it, or the lock file cannot be trusted). */
static int rundir_lock(Rundir *rd, const char *socket_path, char *err, size_t errlen)
{
	char name[300], pid[32] = "";
	struct stat st;
	ssize_t n;

	snprintf(name, sizeof(name), "%s.lock", rd->base);
	rd->lock_fd = openat(rd->dir_fd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (rd->lock_fd < 0 || fstat(rd->lock_fd, &st) < 0) {
		snprintf(err, errlen, "%s.lock: %s", socket_path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode) || !owner_trusted(&st, false)) {
		snprintf(err, errlen, "%s.lock: owned by uid %u with mode %04o: refused",
			 socket_path, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	if (flock(rd->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		n = pread(rd->lock_fd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = 0;
		pid[strcspn(pid, "\n")] = 0;
		snprintf(err, errlen,
			 "another broker%s%s already serves %s (%s.lock is held): exiting",
			 pid[0] ? " with pid " : "", pid, socket_path, socket_path);
		return -1;
	}
	n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(rd->lock_fd, 0) < 0 || pwrite(rd->lock_fd, pid, (size_t)n, 0) != n)
		log_line(LOG_WARNING, "%s.lock: cannot record the pid: %s", socket_path, strerror(errno));
	return 0;
}

int rundir_open(Rundir *rd, const char *socket_path, char *err, size_t errlen)
{
	char *copy = strdup(socket_path), *copy2 = strdup(socket_path);
	int r = -1;

	if (!copy || !copy2) {
		snprintf(err, errlen, "out of memory");
	} else if (strlen(basename(copy2)) + 16 > sizeof(rd->base) || !strcmp(basename(copy2), "/") ||
		   !strcmp(basename(copy2), ".") || !strcmp(basename(copy2), "..")) {
		snprintf(err, errlen, "%s: not a usable socket file name", socket_path);
	} else {
		snprintf(rd->base, sizeof(rd->base), "%s", basename(copy2));
		r = rundir_check(rd, dirname(copy), err, errlen);
		if (r == 0)
			r = rundir_lock(rd, socket_path, err, errlen);
	}
	free(copy);
	free(copy2);
	return r;
}

FILE *rundir_file_read(const Rundir *rd, const char *suffix)
{
	char name[300];
	struct stat st;
	FILE *f;
	int fd;

	if (rd->dir_fd < 0)
		return NULL;
	snprintf(name, sizeof(name), "%s%s", rd->base, suffix);
	fd = openat(rd->dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || !owner_trusted(&st, false)) {
		log_line(LOG_WARNING, "%s: not a regular file of uid %u that only it can write "
			   "(uid %u, mode %04o): ignored%s",
			   name, (unsigned)geteuid(), (unsigned)st.st_uid,
			   (unsigned)(st.st_mode & 07777), strcmp(suffix, ".state") ? "" : ", no job adopted");
		close(fd);
		return NULL;
	}
	f = fdopen(fd, "r");
	if (!f)
		close(fd);
	return f;
}

FILE *rundir_state_read(const Rundir *rd)
{
	return rundir_file_read(rd, ".state");
}

FILE *rundir_file_begin(const Rundir *rd, const char *suffix)
{
	char name[300];
	FILE *f;
	int fd;

	if (rd->dir_fd < 0)
		return NULL;
	snprintf(name, sizeof(name), "%s%s.tmp", rd->base, suffix);
	if (unlinkat(rd->dir_fd, name, 0) < 0 && errno != ENOENT)
		return NULL;
	fd = openat(rd->dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return NULL;
	f = fdopen(fd, "w");
	if (!f)
		close(fd);
	return f;
}

FILE *rundir_state_begin(const Rundir *rd)
{
	return rundir_file_begin(rd, ".state");
}

int rundir_file_commit(const Rundir *rd, const char *suffix, FILE *f)
{
	char tmp[300], name[300];

	snprintf(tmp, sizeof(tmp), "%s%s.tmp", rd->base, suffix);
	snprintf(name, sizeof(name), "%s%s", rd->base, suffix);
	if (fclose(f) != 0) {
		unlinkat(rd->dir_fd, tmp, 0);
		return -1;
	}
	return renameat(rd->dir_fd, tmp, rd->dir_fd, name);
}

int rundir_state_commit(const Rundir *rd, FILE *f)
{
	return rundir_file_commit(rd, ".state", f);
}

void rundir_init(Rundir *rd)
{
	*rd = (Rundir){.dir_fd = -1, .lock_fd = -1};
}

void rundir_close(Rundir *rd)
{
	if (rd->lock_fd >= 0)
		close(rd->lock_fd);
	if (rd->dir_fd >= 0)
		close(rd->dir_fd);
	rundir_init(rd);
}

/* Sets the socket file's mtime to the generation (see the top). */
static void rundir_set_generation(Rundir *rd)
{
	struct timespec t[2] = {{.tv_nsec = UTIME_OMIT}, rd->generation};

	if (rd->socket_made && utimensat(rd->dir_fd, rd->base, t, AT_SYMLINK_NOFOLLOW) < 0)
		log_line(LOG_WARNING, "cannot mark %s changed: %s (clients may keep using unloaded names)", rd->base,
			 strerror(errno));
}

void rundir_socket_made(Rundir *rd)
{
	clock_gettime(CLOCK_REALTIME, &rd->generation);
	rd->socket_made = rd->dir_fd >= 0;
	rundir_set_generation(rd);
}

void rundir_services_changed(Rundir *rd)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	rd->generation.tv_sec = now.tv_sec > rd->generation.tv_sec ? now.tv_sec : rd->generation.tv_sec + 1;
	rundir_set_generation(rd);
}
