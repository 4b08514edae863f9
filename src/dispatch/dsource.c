/* SPDX-License-Identifier: MIT */
/*
 * dsource.c - dispatch sources: READ, WRITE (an epoll watch), TIMER (a
 * manager timer) and SIGNAL (a manager signal), delivering to a queue.
 *
 * Life of a source: created inactive (it holds its target queue); the first
 * dispatch_resume/activate registers it with the manager (holding one
 * reference for the manager) and queues the registration handler.  The
 * manager thread merges each event into `pending` (READ/WRITE replace it
 * with the bytes available, TIMER/SIGNAL add counts), sets `has_event` and
 * "kicks" the source: at most one delivery item is queued or running at a
 * time (`inflight`), so handlers of one source never overlap, and a
 * delivery re-checks for work that arrived while it ran.  A delivery runs,
 * in order: the registration handler (once), the event handler (unless
 * cancelled or suspended; then re-arms the descriptor), and once the
 * manager has dropped the source (`cancel_ready`) the cancel handler (once).
 *
 * An edge-triggered READ source (dsource_edge_triggered: a connection's
 * link) is not re-armed after its handler: its watch stays armed, and each
 * packet that arrives makes a new event, also while the handler runs (the
 * delivery then runs again).  Its handler must read until it knows the
 * descriptor is empty, or ask for another delivery (dsource_redeliver) for
 * what it leaves: no new event comes for data already there.  Only a
 * suspension disarms it (and resume re-arms it: epoll then reports what is
 * ready at once), or a registration that delivered at once.
 *
 * A READ and a WRITE source may watch the same descriptor: the second one
 * registers a close-on-exec dup of it, closed when its cancellation completes.
 *
 * dispatch_source_cancel removes the watch/timer/signal on the calling
 * thread (no wake-up of the manager), then queues the cancel handler: by the
 * time it runs no event can be delivered and the descriptor may be closed.
 * The manager may still hold an event it read before the removal; its
 * callback finds the source cancelled and does nothing.  So that such a
 * late callback never reads freed memory, a registered source's memory is
 * freed by a lazy ManagerCall (after the manager's current batch), and the
 * manager's reference is held until the cancel handler has run.
 *
 * The other kinds (DATA_*, PROC, VNODE) and regular files are dskind.c's
 * particulars, which this file calls and which call nothing here: every
 * watch's event comes back through this file's dsource_watch_ready.
 */
#include "dispatch/internal.h"
#include "dispatch/manager.h"
#include "dispatch/dqueue.h"
#include "dispatch/dsource.h"
#include "shared/fdutil.h"

#include <Block.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

static void dsource_dispose(DispatchHead *h);
static void dsource_suspend(DispatchHead *h);
static void dsource_resume(DispatchHead *h);
static void dsource_activate(DispatchHead *h);

static const DispatchVtable dsource_vtable = {
	.kind = DOBJ_SOURCE,
	.dispose = dsource_dispose,
	.suspend = dsource_suspend,
	.resume = dsource_resume,
	.activate = dsource_activate,
};

static void dsource_handler_clear(SourceHandler *h)
{
	if (h->block)
		Block_release(h->block);
	h->block = NULL;
	h->func = NULL;
}

static void dsource_dispose(DispatchHead *h)
{
	dispatch_source_t ds = (dispatch_source_t)h;

	dsource_handler_clear(&ds->event);
	dsource_handler_clear(&ds->cancel);
	dsource_handler_clear(&ds->reg);
	while (ds->retired) {
		SourceRetired *r = ds->retired;

		ds->retired = r->next;
		Block_release(r->block);
		free(r);
	}
	dobject_release(atomic_load(&ds->head.target));
	dskind_close(ds);
	pthread_mutex_destroy(&ds->lock);
	if (atomic_load(&ds->state) & SOURCE_REGISTERED)
		manager_call_lazy(&ds->call); /* dsource_free_call */
	else
		free(ds);
}

/* Lazy ManagerCall of a disposed source: no manager callback can reach it. */
static void dsource_free_call(ManagerCall *c)
{
	free(container_of(c, struct dispatch_source_s, call));
}

/* ---- delivery ------------------------------------------------------------------ */

static void dsource_deliver(void *arg);

/* Queues a delivery unless one is queued or running.  The manager thread
 * may kick a source that is being disposed (its callback raced with the
 * cancellation, see the header): that source is left alone. */
void dsource_kick(dispatch_source_t ds)
{
	int expected = 0;

	if (!atomic_compare_exchange_strong(&ds->inflight, &expected, 1))
		return;
	if (!dobject_try_retain(ds)) {
		atomic_store(&ds->inflight, 0);
		return;
	}
	dqueue_push_embedded(atomic_load(&ds->head.target), &ds->kick, dsource_deliver, ds);
}

/* Runs @which.  A handler replaced while it runs is not freed before the
 * source is (see dsource_set), so no reference is taken here. */
static void dsource_call(dispatch_source_t ds, SourceHandler *which)
{
	SourceHandler h;

	pthread_mutex_lock(&ds->lock);
	h = *which;
	pthread_mutex_unlock(&ds->lock);
	if (h.block)
		h.block();
	else if (h.func)
		h.func(ds->head.ctx);
}

static int dsource_has_work(dispatch_source_t ds)
{
	unsigned st = atomic_load(&ds->state);

	if (atomic_load(&ds->suspended))
		return 0;
	if ((st & SOURCE_CANCEL_READY) && !(st & SOURCE_CANCEL_DONE))
		return 1;
	return (st & SOURCE_REG_PENDING) || atomic_load(&ds->has_event);
}

static void dsource_run_cancel(dispatch_source_t ds)
{
	unsigned st = atomic_fetch_or(&ds->state, SOURCE_CANCEL_DONE);

	dsource_call(ds, &ds->cancel);
	pthread_mutex_lock(&ds->lock);
	dsource_handler_clear(&ds->event);
	dsource_handler_clear(&ds->cancel);
	dsource_handler_clear(&ds->reg);
	pthread_mutex_unlock(&ds->lock);
	if (st & SOURCE_REGISTERED)
		dobject_release(ds); /* the manager's (the delivery holds one more) */
}

/* The descriptor is in epoll's set already (a WRITE and a READ source on
 * one socket): epoll keys on (file, fd), so this source watches a
 * close-on-exec dup instead, closed at cancellation.  Called with ds->lock
 * held once the watch is @registered (a re-arm); at registration, before
 * SOURCE_WATCHED is set, no other thread reaches ds->watch. */
static int dsource_watch_dup(dispatch_source_t ds, bool registered)
{
	int r;

	if (registered)
		lock_assert_held(&ds->lock);
	r = fd_dup_min((int)ds->handle, 0);
	if (r < 0)
		return r;
	ds->watch.fd = r;
	r = registered ? manager_watch_rearm(&ds->watch) : manager_watch_add(&ds->watch, true);
	if (r < 0) {
		fd_close(ds->watch.fd);
		ds->watch.fd = (int)ds->handle;
	}
	return r;
}

/* Re-arms the descriptor watch unless the cancellation removed it (under
 * the lock, so a re-arm never reaches a descriptor that was closed).  A
 * watch registered disarmed (readable at activation) or disarmed by a
 * suspension enters epoll's set only here, so what epoll refuses may show
 * here first: EEXIST (see dsource_watch_dup), EPERM (a regular file: always
 * ready from now on). */
static void dsource_rearm(dispatch_source_t ds)
{
	int r = 0;

	pthread_mutex_lock(&ds->lock);
	/* an edge-triggered watch is left disarmed while suspended (suspend
	 * counts up before it takes this lock): resume arms it */
	if ((atomic_load(&ds->state) & SOURCE_WATCHED) && !(ds->watch.edge && atomic_load(&ds->suspended))) {
		r = manager_watch_rearm(&ds->watch);
		if (r == -EEXIST && ds->watch.fd == (int)ds->handle)
			r = dsource_watch_dup(ds, true);
		if (r == 0)
			atomic_store(&ds->et_armed, ds->watch.edge);
	}
	pthread_mutex_unlock(&ds->lock);
	if (r == -EPERM) {
		atomic_fetch_or(&ds->state, SOURCE_ALWAYS_READY);
		dskind_always_ready(ds);
	}
}

/* A timer fire was delivered (or the source resumed): arm the timer again
 * unless the source is cancelled or suspended, under the lock that
 * dispatch_suspend and the cancellation take to disarm it. */
static void dsource_timer_continue(dispatch_source_t ds)
{
	pthread_mutex_lock(&ds->lock);
	if (!(atomic_load(&ds->state) & SOURCE_CANCELLED) && !atomic_load(&ds->suspended))
		manager_timer_continue(&ds->timer);
	pthread_mutex_unlock(&ds->lock);
}

/* After an event: a timer is armed again, a watched descriptor re-armed
 * (a PROC source's is not: a process exits once). */
static void dsource_after_event(dispatch_source_t ds)
{
	if (ds->kind == SOURCE_TIMER)
		dsource_timer_continue(ds);
	if (!dsource_is_fd_kind(ds) && ds->kind != SOURCE_VNODE)
		return;
	if (atomic_load(&ds->state) & SOURCE_CANCELLED)
		return;
	if (atomic_load(&ds->suspended))
		return; /* re-armed by resume */
	if (atomic_load(&ds->state) & SOURCE_ALWAYS_READY) {
		dskind_always_ready(ds);
	} else if (!atomic_load(&ds->et_armed)) {
		dsource_rearm(ds); /* one-shot, or an edge-triggered watch disarmed */
	}
}

static void dsource_run_event(dispatch_source_t ds)
{
	uintptr_t data;

	if (!atomic_exchange(&ds->has_event, 0))
		return;
	data = atomic_exchange(&ds->pending, 0);
	if (ds->kind == SOURCE_VNODE)
		data = dskind_vnode_collect(ds);
	if (atomic_load(&ds->state) & SOURCE_CANCELLED)
		return;
	if (data || ds->kind != SOURCE_VNODE) {
		atomic_store(&ds->data, data);
		dsource_call(ds, &ds->event);
	}
	dsource_after_event(ds);
}

static void dsource_deliver(void *arg)
{
	dispatch_source_t ds = arg;
	unsigned st;

	if (!atomic_load(&ds->suspended)) {
		st = atomic_fetch_and(&ds->state, ~(unsigned)SOURCE_REG_PENDING);
		if (st & SOURCE_REG_PENDING)
			dsource_call(ds, &ds->reg);
		st = atomic_load(&ds->state);
		if ((st & SOURCE_CANCEL_READY) && !(st & SOURCE_CANCEL_DONE))
			dsource_run_cancel(ds);
		else
			dsource_run_event(ds);
	}
	atomic_store(&ds->inflight, 0);
	if (dsource_has_work(ds))
		dsource_kick(ds);
	dobject_release(ds);
}

/* ---- manager side (manager thread) ------------------------------------------------ */

/* A suspended source is not kicked: its delivery would only find it
 * suspended, and resume kicks it when the event is still there (has_event
 * stored before suspended is read here, suspended changed before has_event
 * is read there, both sequentially consistent: one of the two sees the
 * other's write).  A sync reader keeps a connection's READ source suspended
 * while it reads the socket itself: no worker is woken for what it reads. */
void dsource_merge(dispatch_source_t ds, uintptr_t value, int op)
{
	if (atomic_load(&ds->state) & SOURCE_CANCELLED)
		return;
	if (op == SOURCE_MERGE_ADD)
		atomic_fetch_add(&ds->pending, value);
	else if (op == SOURCE_MERGE_OR)
		atomic_fetch_or(&ds->pending, value);
	else
		atomic_store(&ds->pending, value);
	atomic_store(&ds->has_event, 1);
	if (!(atomic_load(&ds->state) & SOURCE_ACTIVATED))
		return; /* merge_data before activation: activation delivers it */
	if (atomic_load(&ds->suspended) && !(atomic_load(&ds->state) & SOURCE_CANCEL_READY))
		return;
	dsource_kick(ds);
}

/* Every watch's callback: READ/WRITE on the descriptor, PROC/VNODE on the
 * source's own pidfd or inotify descriptor (dskind.c).  Nothing is read
 * here but FIONREAD (a cancellation may be closing the descriptor). */
static void dsource_watch_ready(ManagerWatch *w, uint32_t revents)
{
	dispatch_source_t ds = container_of(w, struct dispatch_source_s, watch);
	int avail = 0;

	if (atomic_load(&ds->state) & SOURCE_CANCELLED)
		return; /* removed, or being removed: its descriptor may be closed */
	if (ds->kind == SOURCE_PROC) {
		atomic_fetch_or(&ds->state, SOURCE_PROC_EXITED);
		dsource_merge(ds, DISPATCH_PROC_EXIT, SOURCE_MERGE_OR);
	} else if (ds->kind == SOURCE_READ && !ds->skip_estimate) {
		if (ioctl(w->fd, FIONREAD, &avail) < 0 || avail < 0)
			avail = (revents & EPOLLIN) ? 1 : 0;
		dsource_merge(ds, (uintptr_t)avail, SOURCE_MERGE_SET);
	} else {
		dsource_merge(ds, 1, SOURCE_MERGE_SET);
	}
}

static void dsource_timer_fire(ManagerTimer *t, uint64_t count)
{
	dispatch_source_t ds = container_of(t, struct dispatch_source_s, timer);

	dsource_merge(ds, (uintptr_t)count, SOURCE_MERGE_ADD);
}

static void dsource_signal_fire(ManagerSignal *s, uint64_t count)
{
	dispatch_source_t ds = container_of(s, struct dispatch_source_s, sig);

	dsource_merge(ds, (uintptr_t)count, SOURCE_MERGE_ADD);
}

/* Drops every registration of a cancelled source (the thread that cancels
 * it, or the one that completes its activation), then queues its cancel
 * handler. */
static void dsource_unregister(dispatch_source_t ds)
{
	pthread_mutex_lock(&ds->lock);
	if (atomic_fetch_and(&ds->state, ~(unsigned)SOURCE_WATCHED) & SOURCE_WATCHED) {
		manager_watch_remove(&ds->watch);
		if (dsource_is_fd_kind(ds) && ds->watch.fd != (int)ds->handle)
			close(ds->watch.fd); /* our dup */
	}
	dskind_close(ds);
	pthread_mutex_unlock(&ds->lock);
	if (ds->kind == SOURCE_TIMER) {
		pthread_mutex_lock(&ds->lock);
		manager_timer_disarm(&ds->timer);
		pthread_mutex_unlock(&ds->lock);
	}
	if (ds->kind == SOURCE_SIGNAL)
		manager_signal_remove(&ds->sig);
	atomic_fetch_or(&ds->state, SOURCE_CANCEL_READY);
	dsource_kick(ds);
}

/* ---- API --------------------------------------------------------------------- */

dispatch_source_t dispatch_source_create(dispatch_source_type_t type, uintptr_t handle, uintptr_t mask,
					 dispatch_queue_t queue)
{
	dispatch_source_t ds;

	if (!type || (type->kind == SOURCE_SIGNAL && (handle == 0 || handle >= 65)))
		return NULL;
	if ((type->kind == SOURCE_READ || type->kind == SOURCE_WRITE) && handle > INT_MAX)
		return NULL; /* DATA/PROC/VNODE: dskind_init validates */
	dqueue_runtime_init();
	ds = calloc(1, sizeof(*ds));
	if (!ds)
		return NULL;
	dobject_init(&ds->head, &dsource_vtable);
	pthread_mutex_init(&ds->lock, NULL);
	ds->kind = type->kind;
	ds->handle = handle;
	ds->mask = mask;
	ds->t_start = DISPATCH_TIME_FOREVER;
	if (!queue)
		queue = dqueue_default_target();
	dobject_retain(queue);
	atomic_init(&ds->head.target, queue);
	ds->watch.fd = (int)handle;
	ds->watch.events = type->kind == SOURCE_READ ? EPOLLIN : EPOLLOUT;
	ds->watch.ready = dsource_watch_ready;
	list_node_init(&ds->watch.link);
	ds->timer.fire = dsource_timer_fire;
	ds->sig.signo = (int)handle;
	ds->sig.fire = dsource_signal_fire;
	list_node_init(&ds->sig.link);
	ds->call.fn = dsource_free_call;
	if (ds->kind >= SOURCE_DATA_ADD && dskind_init(ds) < 0) {
		dobject_release(ds);
		return NULL;
	}
	return ds;
}

/* Called with ds->lock held: a suspended timer only stores its schedule
 * (resume arms it), so it costs nothing while suspended. */
void dsource_timer_apply_locked(dispatch_source_t ds)
{
	uint64_t leeway = (ds->mask & DISPATCH_TIMER_STRICT) ? 0 : ds->t_leeway;

	lock_assert_held(&ds->lock);
	if (atomic_load(&ds->suspended))
		manager_timer_set(&ds->timer, ds->t_start, ds->t_interval, leeway);
	else
		manager_timer_arm(&ds->timer, ds->t_start, ds->t_interval, leeway);
}

void dsource_skip_estimate(dispatch_source_t ds)
{
	ds->skip_estimate = true;
}

void dsource_edge_triggered(dispatch_source_t ds)
{
	if (ds->kind == SOURCE_READ && !(atomic_load(&ds->state) & SOURCE_ACTIVATED))
		ds->watch.edge = true;
}

void dsource_redeliver(dispatch_source_t ds)
{
	dsource_merge(ds, 1, SOURCE_MERGE_SET);
}

/*
 * The bytes a READ source's descriptor holds already at registration (a
 * socket whose peer wrote before the source existed), 0 if none or unknown.
 * Such a source is delivered at once instead of through the manager thread
 * (one wake-up and one hand-off less), its watch registered disarmed.
 */
static int dsource_readable_now(dispatch_source_t ds)
{
	int avail = 0;

	if (ds->kind != SOURCE_READ || ioctl((int)ds->handle, FIONREAD, &avail) < 0 || avail < 0)
		return 0;
	return avail;
}

static void dsource_register(dispatch_source_t ds)
{
	int r, avail;

	dobject_retain(ds); /* the manager's reference, dropped by dsource_run_cancel */
	switch (ds->kind) {
	case SOURCE_READ:
	case SOURCE_WRITE:
		/* Under the lock that dsource_rearm takes: an event can come as
		 * soon as the watch is in epoll's set, and its delivery re-arms
		 * the one-shot watch only once SOURCE_WATCHED is set; without
		 * the lock a delivery that ran first (a listening socket with a
		 * connection already queued) skipped the re-arm and the source
		 * never fired again. */
		pthread_mutex_lock(&ds->lock);
		avail = dsource_readable_now(ds);
		r = manager_watch_add(&ds->watch, avail == 0);
		if (r == -EEXIST)
			r = dsource_watch_dup(ds, false);
		if (r == 0) {
			atomic_fetch_or(&ds->state, SOURCE_WATCHED);
			atomic_store(&ds->et_armed, ds->watch.edge && ds->watch.in_set);
		}
		pthread_mutex_unlock(&ds->lock);
		if (r == 0) {
			if (avail > 0)
				dsource_merge(ds, (uintptr_t)avail, SOURCE_MERGE_SET); /* re-armed after the handler */
		} else if (r == -EPERM) {
			uintptr_t n = ds->kind == SOURCE_READ ? dskind_file_remaining(ds) : 1;

			atomic_fetch_or(&ds->state, SOURCE_ALWAYS_READY);
			if (n)
				dsource_merge(ds, n, SOURCE_MERGE_SET);
		}
		break;
	case SOURCE_TIMER:
		pthread_mutex_lock(&ds->lock);
		dsource_timer_apply_locked(ds);
		pthread_mutex_unlock(&ds->lock);
		break;
	case SOURCE_SIGNAL:
		manager_signal_add(&ds->sig);
		break;
	case SOURCE_PROC:
	case SOURCE_VNODE:
		if (dskind_register(ds) == 0)
			atomic_fetch_or(&ds->state, SOURCE_WATCHED);
		break;
	default: /* DATA_*: nothing to watch */
		break;
	}
}

static void dsource_activate(DispatchHead *h)
{
	dispatch_source_t ds = (dispatch_source_t)h;
	unsigned st = atomic_fetch_or(&ds->state, SOURCE_ACTIVATED);

	if (st & SOURCE_ACTIVATED)
		return;
	if (st & SOURCE_CANCELLED) {
		/* Cancelled before activation: only the cancel handler runs. */
		atomic_fetch_or(&ds->state, SOURCE_CANCEL_READY);
		dsource_kick(ds);
		return;
	}
	if (ds->reg.block || ds->reg.func)
		atomic_fetch_or(&ds->state, SOURCE_REG_PENDING);
	dsource_register(ds);
	if (dsource_has_work(ds)) /* a worker woken for nothing costs a hand-off */
		dsource_kick(ds);
	st = atomic_fetch_or(&ds->state, SOURCE_REGISTERED);
	if (st & SOURCE_CANCELLED)
		dsource_unregister(ds);
}

/*
 * A suspended TIMER source's timer is disarmed (its schedule kept): it
 * costs nothing until resumed, and resume counts the intervals missed
 * meanwhile into the next event's data.
 * A suspended READ/WRITE source's watch is disarmed, so the manager thread is
 * not woken for a descriptor nobody reads (a sync caller reading the socket
 * itself, back pressure, an idle WRITE source); resume re-arms it, and
 * epoll then reports what is ready at once.  A re-arm racing with this
 * (a delivery that read `suspended` before it changed) leaves it armed:
 * then an event is only recorded (dsource_merge) until resume.
 */
static void dsource_suspend(DispatchHead *h)
{
	dispatch_source_t ds = (dispatch_source_t)h;

	if (atomic_fetch_add(&ds->suspended, 1) != 0)
		return;
	pthread_mutex_lock(&ds->lock);
	if (ds->kind == SOURCE_TIMER)
		manager_timer_disarm(&ds->timer);
	else if ((atomic_load(&ds->state) & (SOURCE_WATCHED | SOURCE_CANCELLED)) == SOURCE_WATCHED) {
		manager_watch_disarm(&ds->watch);
		atomic_store(&ds->et_armed, false);
	}
	pthread_mutex_unlock(&ds->lock);
}

static void dsource_resume(DispatchHead *h)
{
	dispatch_source_t ds = (dispatch_source_t)h;
	int old;

	if (!(atomic_load(&ds->state) & SOURCE_ACTIVATED)) {
		dsource_activate(h);
		return;
	}
	old = atomic_load(&ds->suspended);
	do {
		if (old == 0)
			dobject_crash("Over-resume of an object");
	} while (!atomic_compare_exchange_weak(&ds->suspended, &old, old - 1));
	if (old != 1)
		return;
	if (ds->kind == SOURCE_TIMER && !atomic_load(&ds->has_event))
		dsource_timer_continue(ds); /* else: the delivery does it */
	else if ((atomic_load(&ds->state) & SOURCE_ALWAYS_READY) && !atomic_load(&ds->has_event))
		dskind_always_ready(ds);
	else if (ds->watch.edge && !(atomic_load(&ds->state) & SOURCE_ALWAYS_READY)) {
		if (!atomic_load(&ds->et_armed))
			dsource_rearm(ds); /* whatever is pending: no delivery re-arms it */
	} else if ((dsource_is_fd_kind(ds) || ds->kind == SOURCE_VNODE ||
		  (ds->kind == SOURCE_PROC && !(atomic_load(&ds->state) & SOURCE_PROC_EXITED))) &&
		 !atomic_load(&ds->has_event))
		dsource_rearm(ds);
	if (dsource_has_work(ds))
		dsource_kick(ds);
}

void dispatch_source_cancel(dispatch_source_t source)
{
	unsigned st = atomic_fetch_or(&source->state, SOURCE_CANCELLED);

	if (st & SOURCE_CANCELLED)
		return;
	if (st & SOURCE_REGISTERED)
		dsource_unregister(source);
}

