/* SPDX-License-Identifier: MIT */
/*
 * dpool.c - the worker threads that serve the root (global) queues.
 *
 * One process-wide pool: a FIFO per priority, a stack of idle workers (each
 * sleeping on its own futex word, so a push wakes exactly one), and a
 * thread count.  Rule: a push wakes an idle worker if there is one, else
 * spawns a worker while fewer than one per CPU (at least 2) exist.  Above
 * that, a watchdog (a manager timer, armed only while work waits) spawns one
 * more worker each POOL_STALL_MS during which work waited and no worker took
 * any: so blocks that block (or run long) never starve the rest, bursts of
 * short blocks do not create a thread each, and the pool stays bounded by
 * POOL_MAX_THREADS.  A worker that announced a wait (dpool_block_begin, a
 * served connection waiting a few ms for the next request) does not count
 * against the soft limit meanwhile; at most soft-limit workers wait so at
 * once (dpool_block_begin refuses the next, and counts the refusal, which
 * tells the waiters that their places are wanted), so however many
 * connections a process serves, its pool stays near twice the CPU count:
 * waits are an optimisation, never a reason for a thread.  A worker idle for
 * POOL_IDLE_SECONDS exits.  An item may leave its worker one function to
 * run right after it returned, before other work (dpool_run_after: the
 * connection layer's hand-over of an accepted peer, once the listener's
 * queue is let go).  Workers take
 * the highest non-empty priority first.  Idle workers sleep on a
 * futex with a timeout: nothing spins.  Workers get the signal mask of the
 * thread that started the runtime (so a program that blocks a signal before
 * its first dispatch call has it blocked in every thread, and a child a
 * block forks and execs inherits an ordinary mask); the manager thread
 * blocks every signal.
 */
#include "dispatch/internal.h"
#include "dispatch/manager.h"
#include "dispatch/dqueue.h"
#include "shared/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define POOL_MAX_THREADS 64
#define POOL_IDLE_SECONDS 5
#define POOL_STALL_MS 20

typedef struct PoolWorker {
	struct PoolWorker *next_idle;
	atomic_uint woken; /* futex word: set under pool.lock by the push that takes it */
} PoolWorker;

static struct {
	pthread_mutex_t lock;
	DispatchItem *first[QUEUE_N_PRIORITIES], *last[QUEUE_N_PRIORITIES];
	PoolWorker *idle;
	atomic_int queued; /* items in the run lists, read without the lock */
	int nthreads, soft_limit;
	atomic_int nblocked; /* workers between dpool_block_begin and _end */
	atomic_ulong refusals; /* dpool_block_begin's refusals so far */
	atomic_int signalling; /* pushes that took an idle worker and have not signalled it yet */
	int watchdog_armed;
	unsigned long pops, pops_seen;
	sigset_t worker_mask;
	ManagerTimer watchdog;
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void dpool_watchdog_fire(ManagerTimer *t, uint64_t count);
static _Thread_local int dpool_on_worker;
static _Thread_local int dpool_prio = -1;
static _Thread_local int dpool_blocked; /* this worker's wait is not counted */
static _Thread_local DeferredCall dpool_next; /* dpool_run_after's */

/* Digits at *@p into @ret; false when there are none or too many. */
static bool dpool_parse_number(const char **p, unsigned long *ret)
{
	const char *s = *p;

	*ret = 0;
	while (*s >= '0' && *s <= '9') {
		if (*ret >= 1UL << 20)
			return false;
		*ret = *ret * 10 + (unsigned long)(*s++ - '0');
	}
	if (s == *p)
		return false;
	*p = s;
	return true;
}

/*
 * The online CPUs, from the file sysconf(_SC_NPROCESSORS_ONLN) reads
 * ("0-3,6\n"), parsed here rather than by sysconf, whose parser (strtoul
 * and its tables) would cost a client 88 KiB of resident libc pages that
 * nothing else touches (docs/performance.md, "The idle client").  sysconf
 * itself when the file is missing, longer than the buffer or says
 * something else.
 */
static long dpool_online_cpus(void)
{
	char buf[512];
	int fd = open("/sys/devices/system/cpu/online", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	const char *p = buf;
	unsigned long lo, hi;
	long count = 0;

	if (fd >= 0)
		close(fd);
	if (n <= 0 || n == (ssize_t)sizeof(buf) - 1)
		return sysconf(_SC_NPROCESSORS_ONLN);
	buf[n] = '\0';
	while (*p && *p != '\n') {
		if (!dpool_parse_number(&p, &lo))
			return sysconf(_SC_NPROCESSORS_ONLN);
		hi = lo;
		if (*p == '-' && (p++, !dpool_parse_number(&p, &hi) || hi < lo))
			return sysconf(_SC_NPROCESSORS_ONLN);
		count += (long)(hi - lo + 1);
		if (*p == ',')
			p++;
	}
	return count > 0 ? count : sysconf(_SC_NPROCESSORS_ONLN);
}

void dpool_init(void)
{
	long ncpu = dpool_online_cpus();

	pthread_sigmask(SIG_SETMASK, NULL, &pool.worker_mask);
	pool.soft_limit = ncpu > 2 ? (int)ncpu : 2;
	if (pool.soft_limit > POOL_MAX_THREADS)
		pool.soft_limit = POOL_MAX_THREADS;
	pool.watchdog.fire = dpool_watchdog_fire;
}

int dpool_spawn_thread(void *(*fn)(void *), void *arg, const sigset_t *mask)
{
	pthread_attr_t attr;
	sigset_t old;
	pthread_t tid;
	int r;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_sigmask(SIG_SETMASK, mask, &old);
	r = pthread_create(&tid, &attr, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	return -r;
}

/* Called with pool.lock held. */
static DispatchItem *dpool_pop(void)
{
	for (int p = 0; p < QUEUE_N_PRIORITIES; p++) {
		DispatchItem *it = pool.first[p];

		if (!it)
			continue;
		pool.first[p] = it->next;
		dpool_prio = p;
		if (!pool.first[p])
			pool.last[p] = NULL;
		pool.pops++;
		atomic_fetch_sub_explicit(&pool.queued, 1, memory_order_relaxed);
		return it;
	}
	return NULL;
}

/*
 * An idle worker sleeps on its own futex word, without pool.lock (a
 * condition variable would hand the woken thread the lock marked contended:
 * one more futex call per wake-up, and a wait on the pusher if it still
 * holds it).  FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC time.
 */
static void dpool_sleep(PoolWorker *w, const struct timespec *deadline)
{
	while (!atomic_load_explicit(&w->woken, memory_order_acquire)) {
		long r = syscall(SYS_futex, &w->woken, FUTEX_WAIT_BITSET_PRIVATE, 0, deadline, NULL,
				 FUTEX_BITSET_MATCH_ANY);
		if (r < 0 && errno == ETIMEDOUT)
			return;
	}
}

/* Called with pool.lock held; 0 when woken, ETIMEDOUT when it should exit. */
static int dpool_idle_wait(PoolWorker *w)
{
	struct timespec ts = clock_timespec(clock_monotonic_ns() + POOL_IDLE_SECONDS * CLOCK_NSEC_PER_SEC);

	atomic_store_explicit(&w->woken, 0, memory_order_relaxed);
	w->next_idle = pool.idle;
	pool.idle = w;
	pthread_mutex_unlock(&pool.lock);
	dpool_sleep(w, &ts);
	pthread_mutex_lock(&pool.lock);
	if (atomic_load_explicit(&w->woken, memory_order_relaxed))
		return 0;
	for (PoolWorker **p = &pool.idle; *p; p = &(*p)->next_idle) {
		if (*p == w) {
			*p = w->next_idle;
			break;
		}
	}
	/* A push signals the worker it took after unlocking (dpool_push): while
	 * one has not yet, no worker exits, as that signal may be for a worker
	 * that went idle again since. */
	return atomic_load(&pool.signalling) > 0 ? 0 : ETIMEDOUT;
}

int dpool_run_after(dispatch_function_t fn, void *ctx)
{
	if (!dpool_on_worker || dpool_next.fn)
		return 0;
	dpool_next.fn = fn;
	dpool_next.ctx = ctx;
	return 1;
}

/* What the item that just returned left for this worker (it may leave more). */
static void dpool_run_next(void)
{
	while (deferred_call_run(&dpool_next))
		;
}

static void *dpool_worker_main(void *arg)
{
	PoolWorker w = {0};
	DispatchItem *it;

	dpool_on_worker = 1;
	pthread_mutex_lock(&pool.lock);
	for (;;) {
		it = dpool_pop();
		if (it) {
			pthread_mutex_unlock(&pool.lock);
			it->invoke(it);
			dpool_run_next();
			pthread_mutex_lock(&pool.lock);
			continue;
		}
		if (dpool_idle_wait(&w) == ETIMEDOUT && !pool.first[0] && !pool.first[1] &&
		    !pool.first[2] && !pool.first[3])
			break;
	}
	pool.nthreads--;
	pthread_mutex_unlock(&pool.lock);
	return NULL;
}

int dpool_current_priority(void)
{
	return dpool_on_worker ? dpool_prio : -1;
}

int dpool_block_begin(void)
{
	int n;

	if (!dpool_on_worker)
		return 1;
	n = atomic_load_explicit(&pool.nblocked, memory_order_relaxed);
	do {
		if (n >= pool.soft_limit) {
			atomic_fetch_add_explicit(&pool.refusals, 1, memory_order_relaxed);
			return 0;
		}
	} while (!atomic_compare_exchange_weak_explicit(&pool.nblocked, &n, n + 1, memory_order_relaxed,
							 memory_order_relaxed));
	dpool_blocked = 1;
	return 1;
}

unsigned long dpool_block_refusals(void)
{
	return atomic_load_explicit(&pool.refusals, memory_order_relaxed);
}

void dpool_block_end(void)
{
	if (!dpool_blocked)
		return;
	dpool_blocked = 0;
	atomic_fetch_sub_explicit(&pool.nblocked, 1, memory_order_relaxed);
}

int dpool_thread_count(void)
{
	pthread_mutex_lock(&pool.lock);
	int n = pool.nthreads;
	pthread_mutex_unlock(&pool.lock);
	return n;
}

int dpool_has_waiting(void)
{
	return atomic_load_explicit(&pool.queued, memory_order_relaxed) > 0;
}

static void dpool_watchdog_arm(void)
{
	manager_timer_arm(&pool.watchdog, dobject_now_ns() + POOL_STALL_MS * NSEC_PER_MSEC, 0, 0);
}

/* A thread that cannot be made now (EAGAIN: threads or memory short) must
 * not strand the work that asked for it, which no later push may come to
 * rescue: the watchdog tries again while work waits untaken. */
static void dpool_spawn_worker(void)
{
	int watch = 0;

	if (dpool_spawn_thread(dpool_worker_main, NULL, &pool.worker_mask) < 0) {
		pthread_mutex_lock(&pool.lock);
		pool.nthreads--;
		if (!pool.watchdog_armed) {
			pool.watchdog_armed = 1;
			pool.pops_seen = pool.pops;
			watch = 1;
		}
		pthread_mutex_unlock(&pool.lock);
		if (watch)
			dpool_watchdog_arm();
	}
}

static int dpool_has_work(void)
{
	return pool.first[0] || pool.first[1] || pool.first[2] || pool.first[3];
}

/* Manager thread: work waited POOL_STALL_MS; spawn if nobody took any. */
static void dpool_watchdog_fire(ManagerTimer *t, uint64_t count)
{
	int spawn = 0, rearm = 0;

	pthread_mutex_lock(&pool.lock);
	if (dpool_has_work() && !pool.idle && pool.pops == pool.pops_seen &&
	    pool.nthreads < POOL_MAX_THREADS) {
		pool.nthreads++;
		spawn = 1;
	}
	pool.pops_seen = pool.pops;
	rearm = dpool_has_work() && pool.nthreads < POOL_MAX_THREADS;
	pool.watchdog_armed = rearm;
	pthread_mutex_unlock(&pool.lock);
	if (spawn)
		dpool_spawn_worker();
	if (rearm)
		dpool_watchdog_arm();
}

void dpool_push(int priority, DispatchItem *item)
{
	PoolWorker *w;
	int spawn = 0, watch = 0;

	item->next = NULL;
	pthread_mutex_lock(&pool.lock);
	if (pool.last[priority])
		pool.last[priority]->next = item;
	else
		pool.first[priority] = item;
	pool.last[priority] = item;
	atomic_fetch_add_explicit(&pool.queued, 1, memory_order_relaxed);
	w = pool.idle;
	if (w) {
		pool.idle = w->next_idle;
		atomic_store_explicit(&w->woken, 1, memory_order_release);
		atomic_fetch_add(&pool.signalling, 1); /* see dpool_idle_wait */
	} else if ((pool.nthreads - atomic_load_explicit(&pool.nblocked, memory_order_relaxed) < pool.soft_limit &&
		    pool.nthreads < POOL_MAX_THREADS) ||
		   pool.nthreads == 0) {
		pool.nthreads++;
		spawn = 1;
	} else if (!pool.watchdog_armed && pool.nthreads < POOL_MAX_THREADS) {
		pool.watchdog_armed = 1;
		pool.pops_seen = pool.pops;
		watch = 1;
	}
	pthread_mutex_unlock(&pool.lock);
	if (w) {
		/* After the unlock: a worker woken under the lock would only
		 * block again on it (one more context switch per wake-up). */
		syscall(SYS_futex, &w->woken, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
		atomic_fetch_sub(&pool.signalling, 1);
	}
	if (spawn)
		dpool_spawn_worker();
	if (watch)
		dpool_watchdog_arm();
}
