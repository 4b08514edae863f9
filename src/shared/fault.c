/* SPDX-License-Identifier: MIT */
/*
 * fault.c - the counters behind fault injection (fault.h).
 *
 * One counter per fault point, all atomic: the scenario under test runs on
 * several threads, so "the Nth call" is the Nth in whatever order the
 * threads happened to make them.  Arming resets the point's counter.  The
 * environment (XPC_FAIL_ALLOC, XPC_FAIL_SYSCALL) is read once, at the first
 * call of fault_hit(), so a child process can be told which call to fail.
 * The lowest file of the layer: fdutil.c's calls go through fault_hit(),
 * so nothing here calls back into fdutil.c (plain close(2) below).
 */
#include "shared/fault.h"

#include <execinfo.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const fault_names[FAULT_N_POINTS] = {
	"alloc", "socket", "socketpair", "accept", "memfd_create", "mmap", "sendmsg", "recvmsg", "dup", "thread",
};

static atomic_long fault_target[FAULT_N_POINTS];
static atomic_long fault_count[FAULT_N_POINTS];
static atomic_long fault_total;
static atomic_int fault_env_state; /* 0 unread, 1 reading, 2 done */

bool fault_compiled_in(void)
{
#ifdef XPC_FAULT_INJECTION
	return true;
#else
	return false;
#endif
}

const char *fault_point_name(FaultPoint p)
{
	return (unsigned)p < FAULT_N_POINTS ? fault_names[p] : NULL;
}

int fault_point_by_name(const char *name)
{
	for (int i = 0; i < FAULT_N_POINTS; i++)
		if (strcmp(name, fault_names[i]) == 0)
			return i;
	return -1;
}

static void fault_set(FaultPoint p, long n)
{
	atomic_store(&fault_count[p], 0);
	atomic_store(&fault_target[p], n + 1); /* 0: disarmed */
}

/* secure_getenv and strtol do not allocate, so this cannot recurse. */
static void fault_read_env(void)
{
	const char *a = secure_getenv("XPC_FAIL_ALLOC");
	const char *s = secure_getenv("XPC_FAIL_SYSCALL");
	const char *colon = s ? strchr(s, ':') : NULL;

	const char *once = secure_getenv("XPC_FAIL_ONCE");

	if (once && *once) { /* only the first process that gets here */
		int fd = open(once, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0)
			return;
		close(fd);
	}
	if (a && *a)
		fault_set(FAULT_ALLOC, strtol(a, NULL, 10));
	if (colon && (size_t)(colon - s) < 32) {
		char name[32];
		memcpy(name, s, (size_t)(colon - s));
		name[colon - s] = 0;
		int p = fault_point_by_name(name);
		if (p >= 0)
			fault_set((FaultPoint)p, strtol(colon + 1, NULL, 10));
	}
}

static void fault_init(void)
{
	int expect = 0;

	if (atomic_load_explicit(&fault_env_state, memory_order_acquire) == 2)
		return;
	if (atomic_compare_exchange_strong(&fault_env_state, &expect, 1)) {
		fault_read_env();
		atomic_store_explicit(&fault_env_state, 2, memory_order_release);
	}
}

void fault_arm(FaultPoint p, long n)
{
	if (!fault_compiled_in() || (unsigned)p >= FAULT_N_POINTS)
		return;
	fault_init();
	fault_set(p, n < 0 ? -1 : n);
}

long fault_calls(FaultPoint p)
{
	return (unsigned)p < FAULT_N_POINTS ? atomic_load(&fault_count[p]) : 0;
}

long fault_injected(void)
{
	return atomic_load(&fault_total);
}

/* The flags word of the blocks ABI (Block_layout: isa, flags, ...). */
#define FAULT_BLOCK_NEEDS_FREE (1 << 24)
#define FAULT_BLOCK_IS_GLOBAL (1 << 28)

bool fault_block_allocates(const void *block)
{
	const struct {
		void *isa;
		int flags;
	} *layout = block;

	return block && !(layout->flags & (FAULT_BLOCK_NEEDS_FREE | FAULT_BLOCK_IS_GLOBAL));
}

/* XPC_FAULT_VERBOSE=1: where each fault was injected, on stderr. */
static void fault_report(FaultPoint p, long n)
{
	const char *v = secure_getenv("XPC_FAULT_VERBOSE");
	void *frames[16];

	if (!v || !*v || *v == '0')
		return;
	fprintf(stderr, "xpc fault: %s #%ld fails here:\n", fault_names[p], n);
	backtrace_symbols_fd(frames, backtrace(frames, 16), 2);
}

bool fault_hit(FaultPoint p)
{
	long target, n;

	fault_init();
	target = atomic_load_explicit(&fault_target[p], memory_order_relaxed);
	n = atomic_fetch_add_explicit(&fault_count[p], 1, memory_order_relaxed);
	if (target <= 0 || n != target - 1)
		return false;
	/* exactly one caller wins even if the target is re-armed meanwhile */
	if (!atomic_compare_exchange_strong(&fault_target[p], &target, 0))
		return false;
	atomic_fetch_add(&fault_total, 1);
	fault_report(p, n);
	return true;
}
