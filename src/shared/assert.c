/* SPDX-License-Identifier: MIT */
/*
 * assert.c - the failure path of xpc_assert() (why it is always on:
 * assert.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "shared/assert.h"

void assert_fail(const char *expr, const char *file, int line, const char *func)
{
	char buf[512];
	int n = snprintf(buf, sizeof(buf), "libxpc: %s:%d: %s: assertion failed: %s\n", file, line, func, expr);

	if (n > (int)sizeof(buf) - 1)
		n = (int)sizeof(buf) - 1;
	if (n > 0 && write(2, buf, (size_t)n) < 0) {
		/* nothing more to do: we abort either way */
	}
	abort();
}
