/*
 * pool.c - the worker threads that serve the root (global) queues.
 *
 * One process-wide pool: a FIFO per priority, a stack of idle workers (each
 * with its own condition variable, so a push wakes exactly one), and a
 * thread count.  Rule: a push wakes an idle worker if there is one, else
 * spawns a worker unless POOL_MAX_THREADS exist.  So a worker blocked in a
 * long block never starves the others (a new one is spawned), and the pool
 * stays bounded.  A worker idle for POOL_IDLE_SECONDS exits.  Workers take
 * the highest non-empty priority first.  Idle workers sleep in
 * pthread_cond_timedwait: nothing spins.  Threads of the runtime are created
 * with every signal blocked, so signals reach the program's threads.
 */
#include "dispatch/internal.h"
#include "dispatch/queue.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>

#define POOL_MAX_THREADS 64
#define POOL_IDLE_SECONDS 5

typedef struct PoolWorker {
	struct PoolWorker *next_idle;
	pthread_cond_t cond;
	int woken;
} PoolWorker;

static struct {
	pthread_mutex_t lock;
	DispatchItem *first[QUEUE_N_PRIORITIES], *last[QUEUE_N_PRIORITIES];
	PoolWorker *idle;
	int nthreads;
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER};

int pool_spawn_thread(void *(*fn)(void *), void *arg)
{
	pthread_attr_t attr;
	sigset_t all, old;
	pthread_t tid;
	int r;

	sigfillset(&all);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&tid, &attr, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	return -r;
}

/* Called with pool.lock held. */
static DispatchItem *pool_pop(void)
{
	for (int p = 0; p < QUEUE_N_PRIORITIES; p++) {
		DispatchItem *it = pool.first[p];

		if (!it)
			continue;
		pool.first[p] = it->next;
		if (!pool.first[p])
			pool.last[p] = NULL;
		return it;
	}
	return NULL;
}

/* Called with pool.lock held; 0 when woken, ETIMEDOUT when it should exit. */
static int pool_idle_wait(PoolWorker *w)
{
	struct timespec ts;
	int r = 0;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += POOL_IDLE_SECONDS;
	w->woken = 0;
	w->next_idle = pool.idle;
	pool.idle = w;
	while (!w->woken && r != ETIMEDOUT)
		r = pthread_cond_timedwait(&w->cond, &pool.lock, &ts);
	if (w->woken)
		return 0;
	for (PoolWorker **p = &pool.idle; *p; p = &(*p)->next_idle) {
		if (*p == w) {
			*p = w->next_idle;
			break;
		}
	}
	return ETIMEDOUT;
}

static void *pool_worker_main(void *arg)
{
	PoolWorker w;
	pthread_condattr_t ca;
	DispatchItem *it;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w.cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_lock(&pool.lock);
	for (;;) {
		it = pool_pop();
		if (it) {
			pthread_mutex_unlock(&pool.lock);
			it->invoke(it);
			pthread_mutex_lock(&pool.lock);
			continue;
		}
		if (pool_idle_wait(&w) == ETIMEDOUT && !pool.first[0] && !pool.first[1] &&
		    !pool.first[2] && !pool.first[3])
			break;
	}
	pool.nthreads--;
	pthread_mutex_unlock(&pool.lock);
	pthread_cond_destroy(&w.cond);
	return NULL;
}

void pool_push(int priority, DispatchItem *item)
{
	PoolWorker *w;
	int spawn = 0;

	item->next = NULL;
	pthread_mutex_lock(&pool.lock);
	if (pool.last[priority])
		pool.last[priority]->next = item;
	else
		pool.first[priority] = item;
	pool.last[priority] = item;
	w = pool.idle;
	if (w) {
		pool.idle = w->next_idle;
		w->woken = 1;
		pthread_cond_signal(&w->cond);
	} else if (pool.nthreads < POOL_MAX_THREADS) {
		pool.nthreads++;
		spawn = 1;
	}
	pthread_mutex_unlock(&pool.lock);
	if (spawn && pool_spawn_thread(pool_worker_main, NULL) < 0) {
		pthread_mutex_lock(&pool.lock);
		pool.nthreads--;
		pthread_mutex_unlock(&pool.lock);
	}
}
