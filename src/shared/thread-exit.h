/* SPDX-License-Identifier: MIT */
/*
 * thread-exit.h - work run when a thread exits, for libxpc's per-thread
 * caches (the object blocks of src/object/object.c, the receive frames of
 * src/connection/rxframes.c).
 *
 * Each cache keeps its state in a _Thread_local of its own and hands back
 * what the thread holds when it exits.  They share one pthread key instead
 * of one key, one pthread_once and one destructor each: a cache registers
 * a ThreadExitHook (also _Thread_local, usually inside its state) the
 * first time a thread uses it, and the key's destructor runs the thread's
 * hooks, the last registered first.  A hook registered while the hooks run
 * (a destructor that releases objects into a cache not yet used on this
 * thread) runs too: the key's value is set again, so the thread library
 * calls the destructor once more (up to PTHREAD_DESTRUCTOR_ITERATIONS).
 * After its hook ran, a cache must not keep anything for the thread any
 * more (it marks itself off for it).
 */
#ifndef XPC_SHARED_THREAD_EXIT_H
#define XPC_SHARED_THREAD_EXIT_H

#include <stdbool.h>

typedef struct ThreadExitHook {
	void (*run)(void);
	struct ThreadExitHook *next;
} ThreadExitHook;

/* Registers @hook (this thread's: a _Thread_local of the caller) to call
 * @run when this thread exits.  Once per hook and thread.  False if it
 * cannot (no key could be made, or no memory for its value): the caller
 * then keeps nothing per thread. */
bool thread_exit_hook(ThreadExitHook *hook, void (*run)(void));

#endif
