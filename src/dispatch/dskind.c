/* SPDX-License-Identifier: MIT */
/*
 * dskind.c - what is particular to some kinds of sources: READ/WRITE on a
 * regular file, DATA_ADD/OR/REPLACE, PROC and VNODE.
 *
 * Regular files: epoll refuses them, so they are "always ready"; a READ
 * source reports the bytes between the offset and the end (kqueue's vnode
 * semantics) and is quiet at the end of the file.
 * DATA_*: no registration; dispatch_source_merge_data merges (dsource-set.c).
 * PROC: a pidfd (pidfd_open, close-on-exec), readable once the process
 * exits: DISPATCH_PROC_EXIT (merged by dsource.c's watch callback, like
 * every event), then the watch is not re-armed.  FORK, EXEC and
 * SIGNAL are accepted and never reported (Linux has no per-process event
 * for them short of ptrace or the proc connector, which needs privileges).
 * VNODE: an inotify descriptor of the source's own (close-on-exec) watching
 * /proc/self/fd/N, i.e. the open file itself.  Its events are read in the
 * delivery, under the source's lock (so never from a descriptor that a
 * cancellation closed) and translated: IN_MODIFY -> WRITE (+ EXTEND when
 * the size grew), IN_ATTRIB -> ATTRIB, and by the link count: LINK when it
 * changed, DELETE when it reached 0 (inotify reports an unlink of an open
 * file as IN_ATTRIB); IN_DELETE_SELF -> DELETE, IN_MOVE_SELF -> RENAME,
 * IN_UNMOUNT -> REVOKE.  FUNLOCK is never reported.
 *
 * Edges: dsource.c calls this file (creation, registration, delivery);
 * this file calls nothing of dsource.c: it reads and sets the source's
 * fields only.
 */
#include "dispatch/internal.h"
#include "dispatch/dsource.h"
#include "shared/fdutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

#define DSKIND_PROC_MASK (DISPATCH_PROC_EXIT | DISPATCH_PROC_FORK | DISPATCH_PROC_EXEC | DISPATCH_PROC_SIGNAL)
#define DSKIND_VNODE_MASK                                                                      \
	(DISPATCH_VNODE_DELETE | DISPATCH_VNODE_WRITE | DISPATCH_VNODE_EXTEND | DISPATCH_VNODE_ATTRIB | \
	 DISPATCH_VNODE_LINK | DISPATCH_VNODE_RENAME | DISPATCH_VNODE_REVOKE | DISPATCH_VNODE_FUNLOCK)
#define DSKIND_INOTIFY_MASK                                                                    \
	(IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)

const struct dispatch_source_type_s _dispatch_source_type_read = {SOURCE_READ};
const struct dispatch_source_type_s _dispatch_source_type_write = {SOURCE_WRITE};
const struct dispatch_source_type_s _dispatch_source_type_timer = {SOURCE_TIMER};
const struct dispatch_source_type_s _dispatch_source_type_signal = {SOURCE_SIGNAL};
const struct dispatch_source_type_s _dispatch_source_type_data_add = {SOURCE_DATA_ADD};
const struct dispatch_source_type_s _dispatch_source_type_data_or = {SOURCE_DATA_OR};
const struct dispatch_source_type_s _dispatch_source_type_data_replace = {SOURCE_DATA_REPLACE};
const struct dispatch_source_type_s _dispatch_source_type_proc = {SOURCE_PROC};
const struct dispatch_source_type_s _dispatch_source_type_vnode = {SOURCE_VNODE};

/* ---- regular files ----------------------------------------------------------- */

uintptr_t dskind_file_remaining(dispatch_source_t ds)
{
	struct stat st;
	off_t pos;

	if (fstat((int)ds->handle, &st) < 0)
		return 0;
	pos = lseek((int)ds->handle, 0, SEEK_CUR);
	if (pos < 0)
		return 1; /* not seekable (a character device): ready */
	return st.st_size > pos ? (uintptr_t)(st.st_size - pos) : 0;
}

void dskind_always_ready(dispatch_source_t ds)
{
	uintptr_t n = ds->kind == SOURCE_READ ? dskind_file_remaining(ds) : 1;

	if (n) {
		atomic_store(&ds->pending, n);
		atomic_store(&ds->has_event, 1);
	}
}

/* ---- PROC and VNODE ------------------------------------------------------------ */

static int dskind_proc_init(dispatch_source_t ds)
{
	if (ds->handle == 0 || ds->handle > INT_MAX || (ds->mask & ~(uintptr_t)DSKIND_PROC_MASK))
		return -EINVAL;
	ds->watch.fd = (int)syscall(SYS_pidfd_open, (pid_t)ds->handle, 0); /* close-on-exec */
	return ds->watch.fd < 0 ? -errno : 0;
}

static void dskind_vnode_stat(dispatch_source_t ds)
{
	struct stat st;

	if (fstat((int)ds->handle, &st) == 0) {
		ds->vn_size = (uint64_t)st.st_size;
		ds->vn_nlink = (unsigned long)st.st_nlink;
	}
}

static int dskind_vnode_init(dispatch_source_t ds)
{
	char path[64];

	if (ds->handle > INT_MAX || (ds->mask & ~(uintptr_t)DSKIND_VNODE_MASK) ||
	    !fd_valid((int)ds->handle))
		return -EINVAL;
	ds->watch.fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (ds->watch.fd < 0)
		return -errno;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", (int)ds->handle);
	if (inotify_add_watch(ds->watch.fd, path, DSKIND_INOTIFY_MASK) < 0) {
		int r = -errno;

		ds->watch.fd = fd_close(ds->watch.fd);
		return r;
	}
	dskind_vnode_stat(ds);
	return 0;
}

int dskind_init(dispatch_source_t ds)
{
	ds->watch.events = EPOLLIN; /* the manager calls dsource_watch_ready */
	if (ds->kind == SOURCE_PROC || ds->kind == SOURCE_VNODE)
		ds->watch.fd = -1;
	if (ds->kind == SOURCE_PROC)
		return dskind_proc_init(ds);
	if (ds->kind == SOURCE_VNODE)
		return dskind_vnode_init(ds);
	return 0; /* DATA_*: any handle and mask (GCD ignores them) */
}

int dskind_register(dispatch_source_t ds)
{
	if (ds->kind == SOURCE_PROC && !(ds->mask & DISPATCH_PROC_EXIT))
		return -ENOTSUP; /* nothing that can be reported */
	return manager_watch_add(&ds->watch, true);
}

void dskind_close(dispatch_source_t ds)
{
	if (ds->kind != SOURCE_PROC && ds->kind != SOURCE_VNODE)
		return;
	if (atomic_fetch_or(&ds->state, SOURCE_FD_CLOSED) & SOURCE_FD_CLOSED)
		return;
	if (ds->watch.fd >= 0)
		close(ds->watch.fd);
}

/* The DISPATCH_VNODE_* flags of one inotify event. */
static uintptr_t dskind_vnode_flags(dispatch_source_t ds, uint32_t in)
{
	uintptr_t f = 0;
	uint64_t size = ds->vn_size;
	unsigned long nlink = ds->vn_nlink;

	if (in & (IN_MODIFY | IN_ATTRIB))
		dskind_vnode_stat(ds);
	if (in & IN_MODIFY) {
		f |= DISPATCH_VNODE_WRITE;
		if (ds->vn_size > size)
			f |= DISPATCH_VNODE_EXTEND;
	}
	if (in & IN_ATTRIB) {
		if (ds->vn_nlink != nlink)
			f |= ds->vn_nlink == 0 ? DISPATCH_VNODE_DELETE : DISPATCH_VNODE_LINK;
		else
			f |= DISPATCH_VNODE_ATTRIB;
	}
	if (in & IN_DELETE_SELF)
		f |= DISPATCH_VNODE_DELETE;
	if (in & IN_MOVE_SELF)
		f |= DISPATCH_VNODE_RENAME;
	if (in & IN_UNMOUNT)
		f |= DISPATCH_VNODE_REVOKE;
	return f;
}

uintptr_t dskind_vnode_collect(dispatch_source_t ds)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	uintptr_t flags = 0;
	ssize_t n;

	pthread_mutex_lock(&ds->lock);
	while (!(atomic_load(&ds->state) & (SOURCE_CANCELLED | SOURCE_FD_CLOSED)) &&
	       (n = read(ds->watch.fd, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off + (ssize_t)sizeof(struct inotify_event) <= n;) {
			const struct inotify_event *ev = (const struct inotify_event *)(buf + off);

			flags |= dskind_vnode_flags(ds, ev->mask);
			off += (ssize_t)sizeof(*ev) + ev->len;
		}
	}
	pthread_mutex_unlock(&ds->lock);
	return flags & ds->mask;
}
