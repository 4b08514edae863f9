/* SPDX-License-Identifier: MIT */
/*
 * exit-flush.c - messages accepted before a normal exit still leave.
 *
 * xpc_connection_send_message() is asynchronous: a message may wait in a
 * connection's out-queue (coalesced, the socket full) or behind the lookup
 * and check-in of a named connection, which run on other threads.  A
 * program that sends and then returns from main() (or calls exit()) would
 * lose it.  On macOS the message is in the kernel once the send returns;
 * here it is made so at exit: an atexit handler waits until no connection
 * of the process is looking up, checking in or holding unsent frames,
 * sending what the sockets take itself (the write sources' worker may be
 * gone or busy).  It waits as long as that makes progress: it gives up
 * once nothing moved (no lookup or check-in ended, no frame left) for
 * CONN_EXIT_STALL_NS, a peer that does not read; a lookup, one step whose
 * end is the broker's answer, which a loaded machine can delay past that,
 * is waited for up to CONN_EXIT_FLUSH_MAX_NS, the bound of the whole wait.
 * (A flat 2 s bound lost the message of a client whose lookup took
 * longer: compat-exit-slow-broker.)
 *
 * The registry: every activated peer connection is listed (an intrusive
 * list under `exit_reg.lock`) from its activation until its final INVALID
 * is queued (conn_fail_locked), so a listed connection still holds its
 * activation reference and can be retained.  Lock order: a connection's
 * lock, then the registry's; the exit handler takes a retained snapshot
 * under the registry's lock and locks each connection after dropping it.
 *
 * Not covered (docs/connections.md): _exit(), a fatal signal, abort(), and
 * a forked child's exit (the connections it inherited are its parent's:
 * the handler does nothing in another process than the one that listed
 * them).  For those, xpc_connection_send_barrier() (or a synchronous
 * request) before exiting is the guarantee.
 */
#include "connection/internal.h"
#include "shared/clock.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* How long a normal exit waits while nothing moves, and in all. */
#define CONN_EXIT_STALL_NS (2ull * 1000 * 1000 * 1000)
#define CONN_EXIT_FLUSH_MAX_NS (10ull * 1000 * 1000 * 1000)

/* What one pass found still to do: progress is any of them shrinking. */
typedef struct ExitLeft {
	size_t busy;       /* connections */
	size_t connecting; /* of them, looking up or checking in */
	size_t bytes;      /* unsent, in all */
} ExitLeft;

static struct {
	pthread_mutex_t lock;
	xpc_connection_t head;
	size_t n;
	pid_t pid; /* the process whose connections are listed */
} exit_reg = {.lock = PTHREAD_MUTEX_INITIALIZER};

static pthread_once_t exit_once = PTHREAD_ONCE_INIT;

/* Whether @c still has something a normal exit must wait for (locked):
 * a lookup or check-in under way, or frames in its out-queue, which it
 * tries to send now. */
static bool exit_busy_locked(xpc_connection_t c)
{
	SendProgress progress;

	lock_assert_held(&c->lock);
	if (c->state == CONN_INVALID)
		return false;
	if (conn_has(c, CONN_F_CONNECTING))
		return true;
	if (c->tx.bytes == 0)
		return false;
	/* a link that cannot take them any more (a limit) is not waited for;
	 * it is failed by whoever sends or flushes next, if anyone does */
	if (send_flush_locked(c, &progress) != CONN_OK)
		return false;
	return c->tx.bytes > 0;
}

/* Retains every listed connection into a malloc'd array; NULL if none. */
static xpc_connection_t *exit_snapshot(size_t *ret_n)
{
	xpc_connection_t *v = NULL;
	size_t n = 0;

	pthread_mutex_lock(&exit_reg.lock);
	if (exit_reg.n && exit_reg.pid == getpid())
		v = malloc(exit_reg.n * sizeof(*v));
	for (xpc_connection_t c = v ? exit_reg.head : NULL; c; c = c->exit_next)
		v[n++] = xpc_retain(c);
	pthread_mutex_unlock(&exit_reg.lock);
	*ret_n = n;
	return v;
}

/* One pass over the snapshot: what is left. */
static ExitLeft exit_pass(xpc_connection_t *v, size_t n)
{
	ExitLeft left = {0};

	for (size_t i = 0; i < n; i++) {
		conn_lock(v[i]);
		if (exit_busy_locked(v[i])) {
			left.busy++;
			left.connecting += conn_has(v[i], CONN_F_CONNECTING);
			left.bytes += v[i]->tx.bytes;
		}
		conn_unlock(v[i]);
	}
	return left;
}

static bool exit_progressed(const ExitLeft *now, const ExitLeft *before)
{
	return now->busy < before->busy || now->connecting < before->connecting || now->bytes < before->bytes;
}

static void exit_flush(void)
{
	uint64_t start = clock_monotonic_ns(), moved = start, t = start;
	size_t n;
	xpc_connection_t *v = exit_snapshot(&n);
	ExitLeft before = {SIZE_MAX, SIZE_MAX, SIZE_MAX}, left;

	if (!v)
		return;
	while ((left = exit_pass(v, n)).busy > 0 && t - start < CONN_EXIT_FLUSH_MAX_NS) {
		t = clock_monotonic_ns();
		if (exit_progressed(&left, &before))
			moved = t;
		before = left;
		if (!left.connecting && t - moved >= CONN_EXIT_STALL_NS)
			break; /* frames that a peer does not take */
		nanosleep(&(struct timespec){0, 1000000}, NULL);
	}
	for (size_t i = 0; i < n; i++)
		xpc_release(v[i]);
	free(v);
}

static void exit_register_handler(void)
{
	atexit(exit_flush); /* on failure exits flush nothing, as before */
}

void exit_track_locked(xpc_connection_t c)
{
	lock_assert_held(&c->lock);
	if (c->exit_pid || c->kind != CONN_PEER)
		return;
	pthread_once(&exit_once, exit_register_handler);
	pthread_mutex_lock(&exit_reg.lock);
	if (exit_reg.pid != getpid()) {
		/* a forked child: what the parent listed is not ours */
		exit_reg.head = NULL;
		exit_reg.n = 0;
		exit_reg.pid = getpid();
	}
	c->exit_prev = NULL;
	c->exit_next = exit_reg.head;
	if (exit_reg.head)
		exit_reg.head->exit_prev = c;
	exit_reg.head = c;
	exit_reg.n++;
	c->exit_pid = exit_reg.pid;
	pthread_mutex_unlock(&exit_reg.lock);
}

void exit_untrack_locked(xpc_connection_t c)
{
	lock_assert_held(&c->lock);
	if (!c->exit_pid)
		return;
	pthread_mutex_lock(&exit_reg.lock);
	if (c->exit_pid == exit_reg.pid && exit_reg.pid == getpid()) {
		if (c->exit_prev)
			c->exit_prev->exit_next = c->exit_next;
		else
			exit_reg.head = c->exit_next;
		if (c->exit_next)
			c->exit_next->exit_prev = c->exit_prev;
		exit_reg.n--;
	}
	c->exit_pid = 0;
	c->exit_prev = c->exit_next = NULL;
	pthread_mutex_unlock(&exit_reg.lock);
}
