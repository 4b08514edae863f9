/* SPDX-License-Identifier: MIT */
/*
 * lazylib.h - a library libxpc.so opens on first use instead of linking
 * it: libplist (src/bundle/plist-lazy.c) and jansson (src/wire/json.c),
 * which only a few calls need and which would otherwise be mapped, and
 * their relocations done, in every process (docs/performance.md, "The
 * idle client").
 *
 * The library is opened by the soname libxpc was built against (read
 * from the library at configure time, meson.build), as the dynamic
 * linker would have found it for a DT_NEEDED entry: the same system
 * directories, and no search path from the environment in secure
 * execution.  RTLD_NOW | RTLD_LOCAL; it stays loaded.  Each function is
 * looked up once, into the caller's typed pointer (LazySymbol.slot), which
 * is read only after a successful lazylib_load().
 */
#ifndef XPC_SHARED_LAZYLIB_H
#define XPC_SHARED_LAZYLIB_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

typedef struct LazySymbol {
	const char *name;
	void **slot; /* (void **)&table.fn: where dlsym's answer goes */
} LazySymbol;

typedef struct LazyLib {
	const char *soname;
	const LazySymbol *symbols;
	size_t n;
	pthread_mutex_t lock;
	atomic_int state; /* 0 not tried, 1 loaded, -1 failed (why says why) */
	char why[256];
} LazyLib;

#define LAZYLIB_INIT(soname_, symbols_)                                                  \
	{                                                                                \
		.soname = (soname_), .symbols = (symbols_),                              \
		.n = sizeof(symbols_) / sizeof((symbols_)[0]), .lock = PTHREAD_MUTEX_INITIALIZER \
	}

/* Opens @l once per process (a failure is not retried).  Return: 0, or
 * -ELIBACC with l->why naming the library and dlerror()'s text or the
 * missing function. */
int lazylib_load(LazyLib *l);

#endif
