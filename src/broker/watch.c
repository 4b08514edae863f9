/* SPDX-License-Identifier: MIT */
/*
 * watch.c - WatchPaths and QueueDirectories (launchd.plist(5)) with
 * inotify(7).
 *
 * WatchPaths: the job starts when one of the paths is modified: written,
 * its attributes changed, created, removed or renamed, and for a directory
 * an entry added or removed (what macOS's kqueue reports on a vnode).  Each
 * path is watched itself and through its parent directory (events naming
 * its last component), so a path that does not exist yet, or is replaced
 * by a rename, still counts; when it appears its own watch is added again.
 * An event while the job runs does not start a second instance (launchd
 * neither queues it).
 *
 * KeepAlive.PathState paths (states) are watched the same way; their
 * events name the key, and triggers.c decides whether the condition holds.
 *
 * QueueDirectories: the job starts when one of the directories holds an
 * entry, and (supervise.c) is started again after each exit as long as one
 * does, throttled by ThrottleInterval: the job is expected to empty them.
 *
 * One inotify instance per job that has paths (a descriptor of the broker
 * for each, bounded by the job files the administrator wrote); its READ
 * source runs on the main queue like every other job event.
 *
 * The broker watches with the rights of the job's user, not its own: every
 * inotify_add_watch (at start and when a path reappears) and every read of
 * a queue directory runs through the caller's hook (asuser.c: a thread
 * with the job's ids), so the kernel refuses a watch of what that user may
 * not read (EACCES) as it would refuse the user itself.  Otherwise a user
 * who may write a job file of its own, or owns a directory on a job's
 * path, learns from the job's starts when a directory it cannot read
 * changes or holds an entry.  Refused paths are kept (refused[]), logged
 * by triggers.c and shown by print.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "broker/watch.h"

#define WATCH_PATH_MASK                                                                                      \
	(IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO |      \
	 IN_DELETE_SELF | IN_MOVE_SELF)
#define WATCH_PARENT_MASK (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ONLYDIR)
#define WATCH_QUEUE_MASK (IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE | IN_ONLYDIR)

static size_t strv_len(char **v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

static int watch_check_paths(PlistCtx *ctx, const char *key, char **v)
{
	for (size_t i = 0; v[i]; i++)
		if (v[i][0] != '/' || strlen(v[i]) >= PATH_MAX)
			return pv_fail(ctx, key, "\"%s\" is not an absolute path", v[i]);
	return 0;
}

int watch_parse_key(PlistCtx *ctx, JobWatch *w, const char *key, plist_t v)
{
	char ***dst;

	if (!strcmp(key, "WatchPaths"))
		dst = &w->paths;
	else if (!strcmp(key, "QueueDirectories"))
		dst = &w->queues;
	else
		return 0;
	if (pv_string_array(ctx, key, v, WATCH_MAX_PATHS, dst) < 0 || watch_check_paths(ctx, key, *dst) < 0)
		return -1;
	return 1;
}

bool watch_wanted(const JobWatch *w)
{
	return w->paths || w->queues || w->states;
}

/* Path @i of paths then states. */
static const char *watch_path(const JobWatch *w, size_t i)
{
	size_t np = strv_len(w->paths);

	return i < np ? w->paths[i] : w->states[i - np];
}

typedef struct WatchQueueRead {
	const JobWatch *w;
	bool found;
} WatchQueueRead;

/* With the job user's rights (watch_queue_nonempty). */
static void watch_queue_read(void *arg)
{
	WatchQueueRead *q = arg;
	const JobWatch *w = q->w;
	size_t np = strv_len(w->paths) + strv_len(w->states);

	for (size_t i = 0; !q->found && w->queues && w->queues[i]; i++) {
		DIR *d = w->refused && w->refused[np + i] ? NULL : opendir(w->queues[i]);
		struct dirent *e;
		if (!d)
			continue;
		while (!q->found && (e = readdir(d)))
			q->found = strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
		closedir(d);
	}
}

bool watch_queue_nonempty(const JobWatch *w)
{
	WatchQueueRead q = {.w = w};

	if (!w->queues || !w->as)
		return false; /* read only with the job user's rights (watch_start) */
	return w->as(w->ctx, watch_queue_read, &q) == 0 && q.found;
}

/* ---- events ----------------------------------------------------------------- */

static const char *watch_base(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static bool watch_denied(int err)
{
	return err == EACCES || err == EPERM;
}

/* Path @i and its parent, with the job user's rights: refused when that
 * user may watch neither the path nor, while it is missing, its parent. */
static void watch_add_path(JobWatch *w, size_t i)
{
	char parent[PATH_MAX];
	int err;

	w->wd_path[i] = inotify_add_watch(w->ifd, watch_path(w, i), WATCH_PATH_MASK);
	err = w->wd_path[i] < 0 ? errno : 0;
	snprintf(parent, sizeof(parent), "%s", watch_path(w, i));
	w->wd_parent[i] = inotify_add_watch(w->ifd, dirname(parent), WATCH_PARENT_MASK);
	if (w->wd_parent[i] < 0 && err == ENOENT && watch_denied(errno))
		err = errno;
	w->refused[i] = watch_denied(err) ? err : 0;
	if (w->refused[i]) /* nothing of it is heard (a parent's watch may be another path's too) */
		w->wd_path[i] = w->wd_parent[i] = -1;
}

typedef struct WatchReadd {
	JobWatch *w;
	size_t i;
} WatchReadd;

static void watch_readd(void *arg)
{
	WatchReadd *r = arg;

	r->w->wd_path[r->i] = inotify_add_watch(r->w->ifd, watch_path(r->w, r->i), WATCH_PATH_MASK);
}

/* Which path event @ev is about; -1 none.  A parent's event counts only
 * when it names the path's last component; the path's own watch is then
 * added again (it was created or replaced). */
static ssize_t watch_match_path(JobWatch *w, const struct inotify_event *ev)
{
	size_t n = strv_len(w->paths) + strv_len(w->states);

	for (size_t i = 0; i < n; i++) {
		if (ev->wd == w->wd_path[i] && !(ev->mask & IN_IGNORED))
			return (ssize_t)i;
		if (ev->wd == w->wd_parent[i] && ev->len && !strcmp(ev->name, watch_base(watch_path(w, i)))) {
			WatchReadd r = {.w = w, .i = i};
			w->wd_path[i] = -1;
			(void)w->as(w->ctx, watch_readd, &r); /* as the user could, or not at all */
			return (ssize_t)i;
		}
	}
	return -1;
}

static bool watch_is_queue(const JobWatch *w, int wd)
{
	for (size_t i = 0; w->queues && w->queues[i]; i++)
		if (wd == w->wd_queue[i])
			return true;
	return false;
}

static void watch_on_read(void *arg)
{
	JobWatch *w = arg;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	char why[PATH_MAX + 32] = "", state[PATH_MAX + 32] = "";
	size_t np = strv_len(w->paths);
	bool queue = false;
	ssize_t n;

	while ((n = read(w->ifd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			ssize_t i = watch_match_path(w, ev);
			if (i >= 0 && (size_t)i < np && !why[0])
				snprintf(why, sizeof(why), "WatchPaths %s", w->paths[i]);
			else if (i >= 0 && (size_t)i >= np && !state[0])
				snprintf(state, sizeof(state), "KeepAlive.PathState %s", w->states[(size_t)i - np]);
			queue |= watch_is_queue(w, ev->wd);
			p += sizeof(*ev) + ev->len;
		}
	}
	if (why[0])
		w->fire(w->ctx, WATCH_PATH, why);
	else if (queue && watch_queue_nonempty(w))
		w->fire(w->ctx, WATCH_QUEUE, "QueueDirectories not empty");
	else if (state[0])
		w->fire(w->ctx, WATCH_STATE, state);
}

/* ---- start, stop -------------------------------------------------------------- */

static int *watch_wds(size_t n)
{
	int *a = malloc((n ? n : 1) * sizeof(int));

	for (size_t i = 0; a && i < n; i++)
		a[i] = -1;
	return a;
}

static void watch_fire_queue(void *arg)
{
	JobWatch *w = arg;

	if (w->ifd >= 0 && watch_queue_nonempty(w))
		w->fire(w->ctx, WATCH_QUEUE, "QueueDirectories not empty");
}

/* Every watch, with the job user's rights (watch_start). */
static void watch_add_all(void *arg)
{
	JobWatch *w = arg;
	size_t np = strv_len(w->paths) + strv_len(w->states), nq = strv_len(w->queues);

	for (size_t i = 0; i < np; i++)
		watch_add_path(w, i);
	for (size_t i = 0; i < nq; i++) {
		w->wd_queue[i] = inotify_add_watch(w->ifd, w->queues[i], WATCH_QUEUE_MASK);
		w->refused[np + i] = w->wd_queue[i] < 0 && watch_denied(errno) ? errno : 0;
	}
}

/* The user's rights could not be taken (asuser.c): nothing is watched. */
static void watch_refuse_all(JobWatch *w, int err)
{
	size_t np = strv_len(w->paths) + strv_len(w->states), nq = strv_len(w->queues);

	for (size_t i = 0; i < np + nq; i++)
		w->refused[i] = err;
}

int watch_start(JobWatch *w, watch_fire_fn fire, watch_as_fn as, void *ctx)
{
	size_t np = strv_len(w->paths) + strv_len(w->states), nq = strv_len(w->queues);
	int r;

	if (w->ifd >= 0 && w->src)
		return 0;
	w->fire = fire;
	w->as = as;
	w->ctx = ctx;
	w->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->ifd < 0)
		return -errno;
	w->wd_path = watch_wds(np);
	w->wd_parent = watch_wds(np);
	w->wd_queue = watch_wds(nq);
	free(w->refused);
	w->refused = calloc(np + nq + 1, sizeof(int));
	w->src = dispatch_source_create(DISPATCH_SOURCE_TYPE_READ, (uintptr_t)w->ifd, 0, dispatch_get_main_queue());
	if (!w->wd_path || !w->wd_parent || !w->wd_queue || !w->refused || !w->src) {
		watch_stop(w);
		return -ENOMEM;
	}
	if ((r = as(ctx, watch_add_all, w)) < 0)
		watch_refuse_all(w, -r);
	dispatch_set_context(w->src, w);
	dispatch_source_set_event_handler_f(w->src, watch_on_read);
	dispatch_resume(w->src);
	if (nq)
		dispatch_async_f(dispatch_get_main_queue(), w, watch_fire_queue);
	return 0;
}

static void watch_close_fd(void *arg)
{
	close((int)(intptr_t)arg);
}

void watch_stop(JobWatch *w)
{
	if (w->src) {
		/* the descriptor is closed once the source is done with it */
		dispatch_set_context(w->src, (void *)(intptr_t)w->ifd);
		dispatch_source_set_cancel_handler_f(w->src, watch_close_fd);
		dispatch_source_cancel(w->src);
		dispatch_release(w->src);
		w->src = NULL;
	} else if (w->ifd >= 0) {
		close(w->ifd);
	}
	w->ifd = -1;
	free(w->wd_path);
	free(w->wd_parent);
	free(w->wd_queue);
	w->wd_path = w->wd_parent = w->wd_queue = NULL;
}

bool watch_refused_text(const JobWatch *w, size_t i, char *buf, size_t size)
{
	size_t np = strv_len(w->paths), ns = strv_len(w->states), nq = strv_len(w->queues);

	for (size_t k = 0; w->refused && k < np + ns + nq; k++) {
		if (!w->refused[k] || i-- > 0)
			continue;
		snprintf(buf, size, "%s %s: not watched: the job's user may not read it (%s)",
			 k < np ? "WatchPaths" : k < np + ns ? "KeepAlive.PathState" : "QueueDirectories",
			 k < np + ns ? watch_path(w, k) : w->queues[k - np - ns], strerror(w->refused[k]));
		return true;
	}
	return false;
}

void watch_free(JobWatch *w)
{
	free(w->refused);
	w->refused = NULL;
	pv_free_strv(w->paths);
	pv_free_strv(w->queues);
	pv_free_strv(w->states);
	w->paths = w->queues = w->states = NULL;
}
