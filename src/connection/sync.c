/* SPDX-License-Identifier: MIT */
/*
 * sync.c - xpc_connection_send_message_with_reply_sync()'s callers (c->sync).
 *
 * The thread waiting for a reply reads the link itself (no thread hand-off
 * on the reply path), blocking in recvmsg (closing the link shuts the
 * socket down, which ends the wait); messages read meanwhile are queued
 * for the handler as usual.  So the read source must not run meanwhile:
 * a sync call suspends it (an epoll_ctl on this thread, no wake-up:
 * dispatch disarms a watch by EPOLL_CTL_MOD) and its end resumes it.
 * Waiting costs no timer: a 1 ms timer that resumed the source once no
 * call had come for a while was re-armed every millisecond while a slow
 * call waited, waking the manager thread and a worker each time (issue
 * 17: ~6 context switches per request with 64 clients on 2 CPUs); a call
 * stops the timer when it starts.  A call that ended quickly
 * (SYNC_FAST_NS) leaves the source held, though, and arms that timer
 * instead: a thread making one short call after another would otherwise
 * pay two epoll_ctl per call (~2.7 us of CPU on the CI VM, against a
 * 15 us raw round trip), where the timer costs about one timerfd setting
 * per 0.5 ms and one wake-up once the calls stop.  Under load a call takes
 * milliseconds, but a thread that calls again at once (the idle time
 * before this call was short against the call) gains as much: with 64
 * clients on 2 CPUs the pair cost 4-8 us of client CPU per call
 * (docs/performance.md).  Such a call's end holds the source too, with a
 * delay that grows with the call (4 times it, 1 ms to SYNC_LAZY_MAX_NS)
 * and three times as much leeway (up to 16 ms after the call), so that the
 * timer neither fires nor is set again while the thread keeps calling; a
 * message that comes once the calls stopped waits at most 4 times that
 * delay (16 ms at most) for the resume, or until the latest time an
 * earlier call of the run had set, if later (sync.latest_ns: the latest
 * time never moves earlier while calls come one after the other, so a
 * shorter call does not set the timerfd again; still at most 16 ms after
 * the last call).  The timerfd is set at that latest time, and a later
 * call takes it back as long as its own delay ends before it: calls of
 * T in a row set it again every 12 T, or every 16 ms less the delay.
 * Under load (64 clients on 2 CPUs, calls of 1-2 ms) that is about one
 * timerfd setting per seven calls, where a leeway of one delay made it
 * one per five, and each call's own latest time 0.57 (half of them to set
 * it earlier); calls of 2 ms or more (the delay at its 8 ms) set it about
 * every fourth call, as before.
 * A slow call after a pause resumes the source at once (the timer would
 * cost a manager wake-up per call).  The timer is the connection's own
 * manager timer, so that closing the link stops it too
 * (sync_lazy_stop_locked); the link's first one is armed the same way
 * (sync_hold_first_read_locked).
 * The timer holds a reference on the connection; a call that stops it
 * keeps that reference for its end (sync.ref_kept), which arms the timer
 * again with it, so a call makes no retain/release pair for the timer.
 * The stop itself takes no lock (manager_timer_cancel, one atomic
 * operation): the timer stays in the manager's heaps, not to fire, until
 * the call's end arms it again, which moves it (~130 instructions and a
 * lock acquisition less per call; the timerfd is not touched, as before).
 * When the timerfd is already set within the new deadline and latest
 * time, the end takes the stopped timer back the same way
 * (manager_timer_resume: one atomic load and one compare-and-swap, no
 * heap work and no lock); it then fires at that setting.
 *
 * While another call still holds an old link's source (a named
 * connection reconnected under it), a call reads the new link without
 * holding its source, which stays armed: its handler yields to the caller
 * and gets its delivery back when the caller lets go of rx.lock
 * (receive_unlock), so a packet that came after the caller's last read is
 * not left waiting for the next one.
 *
 * A sync caller's Pending entry lives on its stack; answers reach it
 * through its condition variable when another thread read the reply.  Its
 * mutex and condition variable, statically initialised, are destroyed
 * only if a thread ever locked that mutex (p->mu_used): a call that read
 * its own reply makes no call into them at all (two calls into libc and
 * an atomic operation less per call).
 */
#include "connection/internal.h"
#include "dispatch/dqueue.h"
#include "shared/assert.h"
#include "shared/clock.h"

#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

#define SYNC_LAZY_RESUME_NS 1000000
/* A call this short leaves the source held (see above): at this rate the
 * timer's cost is amortised over 10 calls or more. */
#define SYNC_FAST_NS 100000
/* The longest delay of a lazy resume (after slow calls in a row). */
#define SYNC_LAZY_MAX_NS 8000000
/* The latest a lazy resume comes after the last call ended. */
#define SYNC_LAZY_LATEST_NS (2 * SYNC_LAZY_MAX_NS)

static void sync_lazy_resume(void *ctx);

/* ConnSync's order (internal.h) keeps a call's fields in 64 bytes. */
_Static_assert(sizeof(ManagerTimer) - offsetof(ManagerTimer, pending) <= 8, "the timer's pending word ends it");

/* The lazy resume's leeway: half the delay after quick calls (as since the
 * start); after slow ones three times the delay, so that the timer is due
 * 4 times the delay after the call at the latest, 16 ms at most (see the
 * header). */
static uint64_t sync_lazy_leeway(xpc_connection_t c)
{
	uint64_t d = c->sync.delay_ns;

	if (d <= SYNC_LAZY_RESUME_NS)
		return SYNC_LAZY_RESUME_NS / 2;
	return d >= SYNC_LAZY_LATEST_NS / 4 ? SYNC_LAZY_LATEST_NS - d : 3 * d;
}

/* Manager thread: the work goes to ioq (no allocation: the item is the
 * connection's; it is not queued twice, since the timer is armed again
 * only by sync_lazy_resume or after it ran). */
static void sync_lazy_fire(ManagerTimer *t, uint64_t count)
{
	xpc_connection_t c = container_of(t, struct _xpc_connection_s, sync.timer);

	(void)count;
	dqueue_push_embedded(c->ioq, &c->sync.item, sync_lazy_resume, c);
}

/* Under the lock, timer_armed set: the timer holds a reference on @c.  It
 * is due sync.delay_ns after the last call ended (sync.last_ns), late by
 * its leeway at most, or until the latest time the timer stopped by this
 * call had (sync.latest_ns), whichever is later: see the header. */
static void sync_lazy_arm_locked(xpc_connection_t c)
{
	uint64_t deadline = c->sync.last_ns + c->sync.delay_ns;
	uint64_t latest = deadline + sync_lazy_leeway(c);
	bool kept = c->sync.ref_kept; /* a stopped call's: see the header */

	lock_assert_held(&c->lock);
	if (kept && c->sync.latest_ns > latest)
		latest = c->sync.latest_ns;
	c->sync.latest_ns = latest;
	c->sync.ref_kept = false;
	/* with leeway: the lazy timers of connections made one after the
	 * other share one arming of the manager's timerfd, and calls in a
	 * row move the deadline without setting the timerfd each time; most
	 * take their stopped timer back without even the timers' lock */
	if (kept && manager_timer_resume(&c->sync.timer, deadline, latest))
		return;
	if (!kept)
		xpc_retain(c);
	c->sync.timer.fire = sync_lazy_fire;
	manager_timer_arm(&c->sync.timer, deadline, 0, latest - deadline);
}

/* Under the lock, with another reference on @c held: the reference a
 * stopped call kept and no timer took again is dropped, once the
 * cancelled timer has left the manager's heaps (it may still be there:
 * sync_lazy_pause_locked). */
static void sync_drop_kept_locked(xpc_connection_t c)
{
	lock_assert_held(&c->lock);
	if (!c->sync.ref_kept)
		return;
	c->sync.ref_kept = false;
	manager_timer_disarm(&c->sync.timer);
	xpc_release(c);
}

/* Under the lock, with another reference on @c held (the link's source or
 * the activation's): a timer not yet fired is stopped and its reference
 * dropped; one under way runs and finds nothing to do. */
void sync_lazy_stop_locked(xpc_connection_t c)
{
	lock_assert_held(&c->lock);
	if (c->sync.timer_armed && manager_timer_disarm(&c->sync.timer)) {
		c->sync.timer_armed = false;
		xpc_release(c);
	}
	sync_drop_kept_locked(c);
}

/* As sync_lazy_stop_locked, at a call's start, but without the timers'
 * lock (manager_timer_cancel: the timer stays in the manager's heaps, not
 * to fire); its reference is kept for the call's end (sync.ref_kept),
 * which arms the timer again or disarms it before dropping that
 * reference.  Under the lock, as above. */
static void sync_lazy_pause_locked(xpc_connection_t c)
{
	lock_assert_held(&c->lock);
	if (c->sync.timer_armed && manager_timer_cancel(&c->sync.timer)) {
		c->sync.timer_armed = false;
		xpc_assert(!c->sync.ref_kept);
		c->sync.ref_kept = true;
	}
}

/*
 * A client's link (named or from an endpoint) starts the same way: most
 * clients send a request first and wait for its reply, which the waiting
 * thread reads itself (HELLO included), so resuming the source at once
 * would only wake a worker for nothing.  It is held like after a sync call:
 * resumed by the first asynchronous send (sync_after_send_locked), when
 * the link closes, or SYNC_LAZY_RESUME_NS after activation, for a client
 * that sends nothing and must still learn of messages and of the peer's end.
 */
void sync_hold_first_read_locked(xpc_connection_t c, dispatch_source_t s)
{
	lock_assert_held(&c->lock);
	if (c->sync.src) {
		/* an old link's, still held by a sync caller that has not yet
		 * returned from its end (a reconnect under it): that caller
		 * releases it, this one starts as usual */
		dispatch_resume(s);
		return;
	}
	dispatch_retain(s); /* its creation's suspension is the sync one */
	c->sync.src = s;
	c->sync.delay_ns = SYNC_LAZY_RESUME_NS;
	c->sync.last_ns = clock_monotonic_ns();
	sync_release_locked(c, false); /* arms the lazy resume, as a sync call's end */
}

void sync_release_locked(xpc_connection_t c, bool force_idle)
{
	dispatch_source_t s = c->sync.src;

	lock_assert_held(&c->lock);
	if (c->sync.active > 0)
		return;
	if (s && !force_idle && c->rsrc == s) {
		/* still the live link: resume once no sync call came for a while */
		if (!c->sync.timer_armed) {
			c->sync.timer_armed = true;
			sync_lazy_arm_locked(c);
		}
	} else if (s) {
		c->sync.src = NULL;
		dispatch_resume(s);
		dispatch_release(s);
	}
	sync_drop_kept_locked(c); /* (the caller holds a reference too) */
}

static void sync_lazy_resume(void *ctx)
{
	xpc_connection_t c = ctx;
	uint64_t idle;

	conn_lock(c);
	c->sync.timer_armed = false;
	idle = clock_monotonic_ns() - c->sync.last_ns;
	if (c->sync.src && c->sync.active == 0 && (idle >= c->sync.delay_ns || c->rsrc != c->sync.src)) {
		sync_release_locked(c, true);
	} else if (c->sync.src && c->sync.active == 0) {
		/* calls still coming: look again when this one has been idle long
		 * enough (a call in flight resumes the source at its end) */
		c->sync.timer_armed = true;
		sync_lazy_arm_locked(c);
	}
	conn_unlock(c);
	xpc_release(c);
}

/* An answer to an asynchronous send is read by the source: no sync caller
 * holds it any more (sync_hold_first_read_locked). */
void sync_after_send_locked(xpc_connection_t c, bool sync_caller)
{
	lock_assert_held(&c->lock);
	if (!sync_caller && c->sync.src && c->sync.active == 0) {
		sync_lazy_stop_locked(c);
		sync_release_locked(c, true);
	}
}

/*
 * The read source a sync caller takes over (locked): the live link's, held
 * suspended while sync callers read it; NULL while there is no link yet (a
 * named connection still looking its name up) or any more.
 */
dispatch_source_t sync_take_locked(xpc_connection_t c)
{
	dispatch_source_t src = c->rsrc;

	lock_assert_held(&c->lock);
	if (!src || c->state != CONN_ACTIVE)
		return NULL;
	sync_lazy_pause_locked(c); /* a waiting call costs no timer */
	if (c->sync.src != src) {
		sync_release_locked(c, true); /* an old link's */
		/* unless another caller still reads that old link: it
		 * releases it; this one reads without holding src (the
		 * source's handler yields to a reader holding rx.lock, which
		 * gives it the delivery again when it lets go: receive.c,
		 * receive_unlock) */
		if (!c->sync.src) {
			dispatch_retain(src);
			dispatch_suspend(src);
			c->sync.src = src;
		}
	}
	c->sync.taken_ns = clock_monotonic_ns();
	if (c->sync.active++ == 0)
		c->sync.gap_ns = c->sync.taken_ns - c->sync.last_ns;
	return src;
}

/* Whether a call that ends at @now leaves the source held, and for how
 * long at most (sync.delay_ns): a quick call, or a slow one that came
 * right after the one before (see the header). */
static bool sync_hold_locked(xpc_connection_t c, uint64_t now)
{
	uint64_t took = now - c->sync.taken_ns;
	uint64_t delay = took > SYNC_LAZY_MAX_NS / 4 ? SYNC_LAZY_MAX_NS : took * 4;

	lock_assert_held(&c->lock);
	c->sync.delay_ns = delay < SYNC_LAZY_RESUME_NS ? SYNC_LAZY_RESUME_NS : delay;
	return took < SYNC_FAST_NS || c->sync.gap_ns < c->sync.delay_ns / 2;
}

/* A sync call's end (locked): the source held, lazy resume by the timer;
 * or resumed now.  With @only_held, nothing is done (false) when the end
 * would resume the source: the caller still reads with it. */
static bool sync_end(xpc_connection_t c, bool only_held)
{
	uint64_t now = clock_monotonic_ns();
	bool hold = sync_hold_locked(c, now); /* (sets sync.delay_ns) */
	bool held = c->sync.active > 1 || (hold && c->sync.src && c->rsrc == c->sync.src);

	xpc_assert(c->sync.active > 0);
	if (only_held && !held)
		return false;
	c->sync.active--;
	c->sync.last_ns = now;
	sync_release_locked(c, !held);
	return true;
}

/* The reader of its own reply, in the same locked section as the reply's
 * Pending entry (receive.c, receive_reply; one lock acquisition less per
 * call): ends the call if that leaves the source held.  Return: whether
 * it did (else sync_done follows, after the read). */
bool sync_end_locked(xpc_connection_t c)
{
	return sync_end(c, true);
}

void sync_done(xpc_connection_t c)
{
	conn_lock(c);
	sync_end(c, false);
	conn_unlock(c);
}

/*
 * A sync call made before the link is up (a named connection's lookup and
 * check-in run on other threads) waits for the link, then reads it itself
 * like any sync caller: its reply never waits for the handler queue, which
 * may target a queue the caller is blocking (the main queue, from main()).
 * pending_wake_sync_locked() wakes it when a link comes up; an answer (the
 * lookup failed: INVALID) ends the wait too.  Return: the source taken, or
 * NULL when @p was answered first.
 */
dispatch_source_t sync_wait_link(xpc_connection_t c, Pending *p)
{
	for (;;) {
		conn_lock(c);
		dispatch_source_t src = atomic_load(&p->done) ? NULL : sync_take_locked(c);
		conn_unlock(c);
		if (src)
			return src;
		pthread_mutex_lock(&p->mu);
		p->mu_used = true;
		while (!atomic_load(&p->done) && !p->wake)
			pthread_cond_wait(&p->cv, &p->mu);
		p->wake = false;
		pthread_mutex_unlock(&p->mu);
		if (atomic_load(&p->done))
			return NULL;
	}
}

ConnError sync_read_rxlocked(xpc_connection_t c, dispatch_source_t src, Pending *p)
{
	lock_assert_held(&c->rx.lock);
	while (!atomic_load(&p->done)) {
		TransportLink l;
		ReceiveGot got;
		if (!receive_link(c, src, &l))
			break;
		ConnError e = receive_one_rxlocked(c, &l, &got);
		if (e != CONN_OK)
			return e;
		if (got == RECEIVE_PAUSED)
			break;
		if (got == RECEIVE_NONE && !atomic_load(&p->done))
			l.ops->wait_readable(&l, 1000000);
	}
	return CONN_OK;
}

xpc_object_t sync_wait_answer(Pending *p)
{
	xpc_object_t result;

	if (p->self_answered) { /* see pending_answer(): mu was never contended since */
		if (p->mu_used) {
			pthread_cond_destroy(&p->cv);
			pthread_mutex_destroy(&p->mu);
		}
		return p->result;
	}
	pthread_mutex_lock(&p->mu);
	while (!atomic_load(&p->done))
		pthread_cond_wait(&p->cv, &p->mu);
	result = p->result;
	pthread_mutex_unlock(&p->mu);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	return result;
}

void sync_check_queue(xpc_connection_t c)
{
	static const char msg[] = "BUG IN CLIENT OF LIBXPC: xpc_connection_send_message_with_reply_sync() "
				  "called on the connection's own queue (from its event handler): it would "
				  "wait for itself\n";

	if (!dqueue_is_current(c->queue))
		return;
	ssize_t r = write(STDERR_FILENO, msg, sizeof(msg) - 1);
	(void)r;
	abort();
}
