/* SPDX-License-Identifier: MIT */
/*
 * dmain.c - the main thread's doorbell: a push that schedules the main
 * queue rings it (dqueue.c), dispatch_main() (dwork.c) sleeps on it and
 * drains the main queue after each ring.
 *
 * A flag under a mutex with a condition variable: rings between two waits
 * fold into one (the drain runs whatever is queued by then), and a ring
 * before the first wait is not lost.  It calls nothing of the layer, so
 * the queue code below dispatch_main can wake it without knowing it.
 */
#include "dispatch/internal.h"
#include "dispatch/dqueue.h"

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int pending;
} dmain = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};

void dmain_wake(void)
{
	pthread_mutex_lock(&dmain.lock);
	dmain.pending = 1;
	pthread_cond_signal(&dmain.cond);
	pthread_mutex_unlock(&dmain.lock);
}

void dmain_wait(void)
{
	pthread_mutex_lock(&dmain.lock);
	while (!dmain.pending)
		pthread_cond_wait(&dmain.cond, &dmain.lock);
	dmain.pending = 0;
	pthread_mutex_unlock(&dmain.lock);
}
