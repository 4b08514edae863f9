/* SPDX-License-Identifier: MIT */
/*
 * hot-hook.c - the -finstrument-functions hook of bench/hot-functions.sh:
 * appends "OFFSET" (the function's address less its object's load
 * address) for each function of libxpc.so the first time it is entered,
 * to the file $HOT_OUT.  Linked into every target of that script's
 * instrumented build; not part of the library.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HOT_SLOTS 65536 /* more than libxpc has functions */

#define NOINST __attribute__((no_instrument_function, visibility("hidden")))

static void *seen[HOT_SLOTS];

/* Marks fn seen; true the first time (a lock-free open-addressing set). */
NOINST static int first_entry(void *fn)
{
	uintptr_t h = ((uintptr_t)fn >> 4) & (HOT_SLOTS - 1);

	for (;;) {
		void *cur = NULL;

		if (__atomic_compare_exchange_n(&seen[h], &cur, fn, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			return 1;
		if (cur == fn)
			return 0;
		h = (h + 1) & (HOT_SLOTS - 1);
	}
}

NOINST void __cyg_profile_func_enter(void *fn, void *site)
{
	const char *out = getenv("HOT_OUT");
	char line[64];
	Dl_info di;
	int fd, n;

	(void)site;
	if (!out || !first_entry(fn) || !dladdr(fn, &di) || !strstr(di.dli_fname, "libxpc.so"))
		return;
	n = snprintf(line, sizeof(line), "%lx\n", (unsigned long)((uintptr_t)fn - (uintptr_t)di.dli_fbase));
	fd = open(out, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0) {
		(void)!write(fd, line, (size_t)n);
		close(fd);
	}
}

NOINST void __cyg_profile_func_exit(void *fn, void *site)
{
	(void)fn;
	(void)site;
}
