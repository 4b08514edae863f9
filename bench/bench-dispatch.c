/*
 * bench-dispatch.c - the dispatch runtime against a hand-written pthread
 * mutex+condvar hand-off, in the same run.
 *
 *   latency     one item handed to an idle serial queue that signals back
 *               (dispatch_async_f + dispatch_semaphore) versus one item
 *               handed to an idle thread waiting on a condition variable
 *               that signals back on another one; per round trip.
 *   throughput  N small items pushed to a serial queue, waited for with a
 *               final dispatch_sync, versus the same through a mutex-
 *               protected list drained by one consumer thread; items/s.
 *
 * Each measure runs ROUNDS times; medians and the ratio dispatch/pthread
 * are printed (latency: >1 means dispatch is slower; throughput: >1 means
 * dispatch is faster).  Usage: bench-dispatch [iterations] [items]
 */
#include <dispatch/dispatch.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define ROUNDS 7

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

/* ---- dispatch side ------------------------------------------------------------- */

static void pong(void *ctx)
{
	dispatch_semaphore_signal(ctx);
}

static double dispatch_latency(dispatch_queue_t q, dispatch_semaphore_t back, int iters)
{
	double *v = malloc(sizeof(double) * (size_t)iters), m;

	for (int i = 0; i < iters; i++) {
		uint64_t t0 = now_ns();

		dispatch_async_f(q, back, pong);
		dispatch_semaphore_wait(back, DISPATCH_TIME_FOREVER);
		v[i] = (double)(now_ns() - t0);
	}
	m = median(v, iters);
	free(v);
	return m;
}

static void bump(void *ctx)
{
	++*(long *)ctx;
}

static void nothing(void *ctx)
{
	(void)ctx;
}

static double dispatch_throughput(dispatch_queue_t q, long items)
{
	static long counter;
	uint64_t t0 = now_ns();

	for (long i = 0; i < items; i++)
		dispatch_async_f(q, &counter, bump);
	dispatch_sync_f(q, NULL, nothing);
	return (double)items * 1e9 / (double)(now_ns() - t0);
}

/* ---- pthread side -------------------------------------------------------------- */

typedef struct Item {
	struct Item *next;
	void (*fn)(void *);
	void *ctx;
} Item;

static struct {
	pthread_mutex_t lock;
	pthread_cond_t work, done;
	Item *first, *last;
	int ping, pong, quit;
} hand = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, 0, 0, 0};

static void *consumer(void *arg)
{
	pthread_mutex_lock(&hand.lock);
	while (!hand.quit) {
		if (hand.ping) {
			hand.ping = 0;
			hand.pong = 1;
			pthread_cond_signal(&hand.done);
		} else if (hand.first) {
			Item *it = hand.first;

			hand.first = it->next;
			if (!hand.first)
				hand.last = NULL;
			pthread_mutex_unlock(&hand.lock);
			it->fn(it->ctx);
			free(it);
			pthread_mutex_lock(&hand.lock);
		} else {
			pthread_cond_wait(&hand.work, &hand.lock);
		}
	}
	pthread_mutex_unlock(&hand.lock);
	return arg;
}

static double pthread_latency(int iters)
{
	double *v = malloc(sizeof(double) * (size_t)iters), m;

	for (int i = 0; i < iters; i++) {
		uint64_t t0 = now_ns();

		pthread_mutex_lock(&hand.lock);
		hand.ping = 1;
		pthread_cond_signal(&hand.work);
		while (!hand.pong)
			pthread_cond_wait(&hand.done, &hand.lock);
		hand.pong = 0;
		pthread_mutex_unlock(&hand.lock);
		v[i] = (double)(now_ns() - t0);
	}
	m = median(v, iters);
	free(v);
	return m;
}

static void push_item(void (*fn)(void *), void *ctx)
{
	Item *it = malloc(sizeof(*it));

	it->next = NULL;
	it->fn = fn;
	it->ctx = ctx;
	pthread_mutex_lock(&hand.lock);
	if (hand.last)
		hand.last->next = it;
	else
		hand.first = it;
	hand.last = it;
	pthread_cond_signal(&hand.work);
	pthread_mutex_unlock(&hand.lock);
}

static void mark_done(void *ctx)
{
	pthread_mutex_lock(&hand.lock);
	*(int *)ctx = 1;
	pthread_cond_signal(&hand.done);
	pthread_mutex_unlock(&hand.lock);
}

static double pthread_throughput(long items)
{
	static long counter;
	int finished = 0;
	uint64_t t0 = now_ns();

	for (long i = 0; i < items; i++)
		push_item(bump, &counter);
	push_item(mark_done, &finished);
	pthread_mutex_lock(&hand.lock);
	while (!finished)
		pthread_cond_wait(&hand.done, &hand.lock);
	pthread_mutex_unlock(&hand.lock);
	return (double)items * 1e9 / (double)(now_ns() - t0);
}

int main(int argc, char **argv)
{
	int iters = argc > 1 ? atoi(argv[1]) : 20000;
	long items = argc > 2 ? atol(argv[2]) : 1000000;
	dispatch_queue_t q = dispatch_queue_create("bench.serial", NULL);
	dispatch_semaphore_t back = dispatch_semaphore_create(0);
	double dl[ROUNDS], pl[ROUNDS], dt[ROUNDS], pt[ROUNDS];
	pthread_t tid;

	pthread_create(&tid, NULL, consumer, NULL);
	dispatch_latency(q, back, iters / 10); /* warm up both */
	pthread_latency(iters / 10);
	for (int r = 0; r < ROUNDS; r++) {
		dl[r] = dispatch_latency(q, back, iters);
		pl[r] = pthread_latency(iters);
		dt[r] = dispatch_throughput(q, items);
		pt[r] = pthread_throughput(items);
	}
	double mdl = median(dl, ROUNDS), mpl = median(pl, ROUNDS);
	double mdt = median(dt, ROUNDS), mpt = median(pt, ROUNDS);
	printf("latency    (round trip, median of %d x %d): dispatch %.0f ns, pthread %.0f ns, ratio %.2f\n",
	       ROUNDS, iters, mdl, mpl, mdl / mpl);
	printf("throughput (median of %d x %ld items):   dispatch %.2f M/s, pthread %.2f M/s, ratio %.2f\n",
	       ROUNDS, items, mdt / 1e6, mpt / 1e6, mdt / mpt);
	pthread_mutex_lock(&hand.lock);
	hand.quit = 1;
	pthread_cond_signal(&hand.work);
	pthread_mutex_unlock(&hand.lock);
	pthread_join(tid, NULL);
	dispatch_release(q);
	dispatch_release(back);
	return 0;
}
