/* SPDX-License-Identifier: MIT */
/*
 * thread-exit.c - one pthread key whose destructor runs the exiting
 * thread's hooks (thread-exit.h says who registers them and why).
 */
#include "shared/thread-exit.h"

#include <pthread.h>
#include <stddef.h>

static pthread_key_t thread_exit_key;
static bool thread_exit_keyed;
static pthread_once_t thread_exit_once = PTHREAD_ONCE_INIT;
static _Thread_local ThreadExitHook *thread_exit_hooks;

/* The key's destructor: the hooks, the last registered first (one a hook
 * registers meanwhile sets the key again: see the header). */
static void thread_exit_run(void *unused)
{
	ThreadExitHook *h;

	(void)unused;
	while ((h = thread_exit_hooks) != NULL) {
		thread_exit_hooks = h->next;
		h->run();
	}
}

static void thread_exit_init(void)
{
	thread_exit_keyed = pthread_key_create(&thread_exit_key, thread_exit_run) == 0;
}

bool thread_exit_hook(ThreadExitHook *hook, void (*run)(void))
{
	pthread_once(&thread_exit_once, thread_exit_init);
	if (!thread_exit_keyed)
		return false;
	/* the value only has to be non-NULL for the destructor to run */
	if (!thread_exit_hooks && pthread_setspecific(thread_exit_key, hook) != 0)
		return false;
	hook->run = run;
	hook->next = thread_exit_hooks;
	thread_exit_hooks = hook;
	return true;
}
