/* SPDX-License-Identifier: MIT */
/*
 * test-assert.c - shared/assert.h: xpc_assert() survives NDEBUG, evaluates
 * its expression once, does nothing when it holds, and otherwise aborts
 * with "file:line: function: assertion failed: expression" on stderr.
 */
#define NDEBUG 1 /* xpc_assert must not care */

#include "abort-child.h"
#include "shared/assert.h"

static int evaluated;

static void holds(void)
{
	xpc_assert(++evaluated == 1);
}

static void breaks(void)
{
	int two = 2;

	xpc_assert(two + two == 5);
}

int main(void)
{
	char out[1024];

	harness_begin(30);
	holds();
	CHECK_EQ_INT(evaluated, 1);
	CHECK(abort_child_run(breaks, out, sizeof(out)));
	CHECK(strstr(out, "test-assert.c:") != NULL);
	CHECK(strstr(out, "breaks: assertion failed: two + two == 5") != NULL);
	evaluated = 0;
	CHECK(!abort_child_run(holds, out, sizeof(out)));
	CHECK_STREQ(out, "");
	return harness_end();
}
