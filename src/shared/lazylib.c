/* SPDX-License-Identifier: MIT */
/*
 * lazylib.c - a library opened on first use, its functions looked up
 * once (lazylib.h).
 */
#include "shared/lazylib.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>

static int lazylib_open_locked(LazyLib *l)
{
	void *h = dlopen(l->soname, RTLD_NOW | RTLD_LOCAL);
	const char *err;

	if (!h) {
		err = dlerror();
		if (err)
			snprintf(l->why, sizeof(l->why), "%s", err);
		else
			snprintf(l->why, sizeof(l->why), "%s: cannot load", l->soname);
		return -1;
	}
	for (size_t i = 0; i < l->n; i++) {
		*l->symbols[i].slot = dlsym(h, l->symbols[i].name);
		if (!*l->symbols[i].slot) {
			snprintf(l->why, sizeof(l->why), "%s: no function %s", l->soname, l->symbols[i].name);
			return -1;
		}
	}
	return 1;
}

int lazylib_load(LazyLib *l)
{
	int state = atomic_load_explicit(&l->state, memory_order_acquire);

	if (!state) {
		pthread_mutex_lock(&l->lock);
		state = atomic_load_explicit(&l->state, memory_order_relaxed);
		if (!state) {
			state = lazylib_open_locked(l);
			atomic_store_explicit(&l->state, state, memory_order_release);
		}
		pthread_mutex_unlock(&l->lock);
	}
	return state > 0 ? 0 : -ELIBACC;
}
