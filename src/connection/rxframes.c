/* SPDX-License-Identifier: MIT */
/*
 * rxframes.c - the frames a link's reads go into (receive.c): the account
 * its out-of-line bodies are charged to, the frame a link keeps while it
 * holds the peer's stage mapped, the handler threads' own two frames and
 * the process cache behind them, whose first frame sits in a slot taken
 * and given back without its lock.
 */
#include "connection/internal.h"
#include "shared/thread-exit.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

/*
 * What a link's received out-of-line bodies are charged to: a peer's own
 * account (CONN_MAX_RX_HELD) under the process's; a listener's R takes no
 * body at all (an account of limit 0: refused before a byte is allocated).
 */
static Charge receive_listener_no_body = CHARGE_ROOT(0);

static Charge *receive_account(xpc_connection_t c)
{
	if (c->kind == CONN_LISTENER)
		return &receive_listener_no_body;
	if (!c->rx.charge)
		c->rx.charge = charge_new(frame_rx_account(), CONN_MAX_RX_HELD);
	return c->rx.charge;
}

#define RECEIVE_CACHE_MAX 8
#define RECEIVE_LOCAL_MAX 2

/*
 * The process cache: one frame in a slot (an atomic exchange takes it, a
 * compare-and-swap into the empty slot gives it back), the others (at most
 * RECEIVE_CACHE_MAX - 1) under the lock.  A sync caller takes one frame per
 * call and gives it back: two atomic operations instead of two lock
 * acquisitions (~150 instructions per call).
 */
static struct {
	_Atomic(TransportFrame *) slot;
	pthread_mutex_t lock;
	TransportFrame *v[RECEIVE_CACHE_MAX - 1];
	int n;
} receive_cache = {.lock = PTHREAD_MUTEX_INITIALIZER};

/*
 * The source's handler (on a worker of the pool, or the main thread: a
 * bounded set of threads) takes and gives back two frames per read; it
 * keeps them in its own thread (RECEIVE_LOCAL_MAX), without the process
 * cache's lock, which every worker of a loaded service would take four
 * times per request.  A thread's frames go to the process cache when it
 * exits (its ThreadExitHook).  Sync callers, any number of application
 * threads, use the process cache alone.
 */
static _Thread_local struct {
	TransportFrame *v[RECEIVE_LOCAL_MAX];
	int n;
	int8_t state; /* 0 not set up, 1 on (its exit hook empties it), -1 off */
	ThreadExitHook exit;
} receive_local;

static void receive_cache_put(TransportFrame *f);

/* The thread's exit hook: its frames go to the process cache, and so does
 * every later one. */
static void receive_local_exit(void)
{
	receive_local.state = -1;
	while (receive_local.n > 0)
		receive_cache_put(receive_local.v[--receive_local.n]);
}

/* This thread keeps frames of its own (see above), if it can. */
static bool receive_local_ready(void)
{
	if (receive_local.state == 0)
		receive_local.state = thread_exit_hook(&receive_local.exit, receive_local_exit) ? 1 : -1;
	return receive_local.state > 0;
}

static TransportFrame *receive_frame_new(void)
{
	TransportFrame *f = malloc(sizeof(*f));

	if (f) {
		f->keep_view = true; /* the peer's stage stays mapped */
		f->view.map = NULL;
		f->pkt = NULL; /* made at the first receive */
	}
	return f;
}

/* A frame from this thread's frames (@local) or the process cache, or a
 * new one; NULL without memory. */
static TransportFrame *receive_cache_take(xpc_connection_t c, bool local)
{
	TransportFrame *f = NULL;

	if (local && receive_local.n > 0) {
		f = receive_local.v[--receive_local.n];
	} else if (!(f = atomic_exchange(&receive_cache.slot, NULL))) {
		pthread_mutex_lock(&receive_cache.lock);
		if (receive_cache.n > 0)
			f = receive_cache.v[--receive_cache.n];
		pthread_mutex_unlock(&receive_cache.lock);
	}
	if (!f)
		f = receive_frame_new();
	if (f)
		f->charge = c->rx.charge; /* set up before the source started */
	return f;
}

/* The frame the next read of @c goes into (rx.lock held): the link's own,
 * or a cached one (@local: the source's handler reads). */
TransportFrame *receive_frame_get(xpc_connection_t c, bool local)
{
	return c->rx.frame ? c->rx.frame : receive_cache_take(c, local);
}

/* A frame for a second packet (rx.lock held): never the link's own. */
TransportFrame *receive_frame_spare(xpc_connection_t c, bool local)
{
	return receive_cache_take(c, local);
}

/* A cleared frame without a view into the process cache, or freed. */
static void receive_cache_put(TransportFrame *f)
{
	TransportFrame *empty = NULL;

	if (atomic_compare_exchange_strong(&receive_cache.slot, &empty, f))
		return;
	pthread_mutex_lock(&receive_cache.lock);
	if (receive_cache.n < RECEIVE_CACHE_MAX - 1) {
		receive_cache.v[receive_cache.n++] = f;
		f = NULL;
	}
	pthread_mutex_unlock(&receive_cache.lock);
	if (f)
		frame_release(f);
	free(f);
}

/* After the read (rx.lock held; @f cleared): a frame holding the peer's
 * stage stays with the link (one: a second one's mapping is dropped), any
 * other goes back to this thread's frames (@local) or the cache. */
void receive_frame_put(xpc_connection_t c, TransportFrame *f, bool local)
{
	if (f == c->rx.frame)
		return;
	if (f->view.map && !c->rx.frame) {
		c->rx.frame = f;
		return;
	}
	frame_drop_view(f);
	if (local && receive_local.n < RECEIVE_LOCAL_MAX && receive_local_ready()) {
		receive_local.v[receive_local.n++] = f;
		return;
	}
	receive_cache_put(f);
}

int receive_setup_locked(xpc_connection_t c)
{
	TransportFrame *f;

	lock_assert_held(&c->lock);
	if (c->rx.set_up)
		return 0;
	if (!receive_account(c))
		return -ENOMEM;
	if (c->kind == CONN_LISTENER) { /* checkin.c reads into it */
		f = receive_frame_new();
		if (!f)
			return -ENOMEM;
		f->charge = receive_account(c);
		c->rx.frame = f;
	}
	c->rx.set_up = true;
	return 0;
}
