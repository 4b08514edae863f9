/* SPDX-License-Identifier: MIT */
/*
 * dblock.c - dispatch block objects (dispatch_block_create and friends).
 *
 * dispatch_block_create returns an ordinary heap block (a "wrapper") that
 * captures one block pointer: a DBlock, the private data, laid out as a
 * heap block of the Blocks ABI (Block_private.h: isa, flags with
 * BLOCK_NEEDS_FREE | BLOCK_HAS_COPY_DISPOSE and a reference count,
 * invoke, descriptor).  The runtime retains it when the wrapper is copied
 * and releases it when the last copy of the wrapper goes; then it calls
 * the DBlock's dispose function (ours: release the body and the group) and
 * free()s it.  So the private data lives exactly as long as the block
 * object, as GCD's does, without a registry.  A wrapper is recognised by
 * its invoke function (every wrapper shares that of the one literal).
 *
 * Completion: a group entered at creation and left once, after the first
 * execution ends (a cancelled block's execution returns at once and also
 * counts), or when the block object is freed without having run; wait and
 * notify are dispatch_group_wait / _notify on it.
 */
#include "dispatch/internal.h"

#include <Block.h>
#include <stdlib.h>

#define DBLOCK_NEEDS_FREE (1 << 24)
#define DBLOCK_HAS_COPY_DISPOSE (1 << 25)
#define DBLOCK_KNOWN_FLAGS                                                                  \
	(DISPATCH_BLOCK_BARRIER | DISPATCH_BLOCK_DETACHED | DISPATCH_BLOCK_ASSIGN_CURRENT |  \
	 DISPATCH_BLOCK_NO_QOS_CLASS | DISPATCH_BLOCK_INHERIT_QOS_CLASS | DISPATCH_BLOCK_ENFORCE_QOS_CLASS)

extern void *_NSConcreteMallocBlock[32];

struct DBlockDescriptor {
	unsigned long reserved, size;
	void (*copy)(void *dst, const void *src);
	void (*dispose)(const void *block);
};

struct DBlockLayout { /* the Blocks ABI */
	void *isa;
	volatile int flags;
	int reserved;
	void (*invoke)(void *);
	struct DBlockDescriptor *descriptor;
};

typedef struct {
	struct DBlockLayout layout; /* first: the runtime sees a heap block */
	dispatch_block_t body;      /* Block_copy'd */
	dispatch_block_flags_t flags;
	dispatch_qos_class_t qos;
	int relpri;
	atomic_int cancelled;
	atomic_int performed; /* the group was left */
	atomic_int ran;       /* executions ended (orders them before dispose) */
	dispatch_group_t group;
} DBlock;

/* A wrapper block as compiled: the header, then its one capture. */
struct DBlockWrapper {
	struct DBlockLayout layout;
	DBlock *priv;
};

static _Atomic(void *) dblock_wrapper_invoke;
static int dblock_one; /* the flags' count bits of one reference */
static pthread_once_t dblock_once = PTHREAD_ONCE_INIT;

/* BlocksRuntime (compiler-rt) counts by 1, Apple's libclosure by 2: learn
 * which from a block the runtime copied. */
static void dblock_learn_refcount(void)
{
	int x = 1;
	dispatch_block_t b = Block_copy(^{
		(void)x;
	});

	dblock_one = ((struct DBlockLayout *)(void *)b)->flags & 0xffff;
	Block_release(b);
}

static void dblock_never_invoked(void *self)
{
	dobject_crash("a dispatch block's private data was called");
}

static void dblock_complete(DBlock *d)
{
	if (atomic_exchange(&d->performed, 1) == 0)
		dispatch_group_leave(d->group);
}

static void dblock_dispose(const void *self)
{
	DBlock *d = (DBlock *)self;

	(void)atomic_load_explicit(&d->ran, memory_order_acquire);
	dblock_complete(d);
	Block_release(d->body);
	dispatch_release(d->group);
}

static struct DBlockDescriptor dblock_descriptor = {
	.size = sizeof(DBlock),
	.dispose = dblock_dispose,
};

static void dblock_run(DBlock *d)
{
	if (!atomic_load(&d->cancelled))
		d->body();
	dblock_complete(d);
	atomic_fetch_add_explicit(&d->ran, 1, memory_order_release);
}

static DBlock *dblock_get(const void *block)
{
	const struct DBlockWrapper *w = block;
	void *invoke = atomic_load_explicit(&dblock_wrapper_invoke, memory_order_relaxed);

	if (!w || !invoke || (void *)w->layout.invoke != invoke)
		return NULL;
	return w->priv;
}

int dblock_is_barrier(const void *block)
{
	DBlock *d = dblock_get(block);

	return d && (d->flags & DISPATCH_BLOCK_BARRIER);
}

static DBlock *dblock_new(dispatch_block_flags_t flags, dispatch_block_t block)
{
	DBlock *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->body = Block_copy(block);
	d->group = dispatch_group_create();
	if (!d->body || !d->group) {
		if (d->body)
			Block_release(d->body);
		if (d->group)
			dispatch_release(d->group);
		free(d);
		return NULL;
	}
	dispatch_group_enter(d->group);
	d->flags = flags;
	d->layout.isa = _NSConcreteMallocBlock;
	d->layout.flags = DBLOCK_NEEDS_FREE | DBLOCK_HAS_COPY_DISPOSE | dblock_one;
	d->layout.invoke = dblock_never_invoked;
	d->layout.descriptor = &dblock_descriptor;
	return d;
}

static dispatch_block_t dblock_create(dispatch_block_flags_t flags, dispatch_qos_class_t qos, int relpri,
				      dispatch_block_t block)
{
	DBlock *d;
	dispatch_block_t priv, wrapper;

	if (!block || (flags & ~(dispatch_block_flags_t)DBLOCK_KNOWN_FLAGS))
		return NULL;
	pthread_once(&dblock_once, dblock_learn_refcount);
	d = dblock_new(flags, block);
	if (!d)
		return NULL;
	d->qos = qos;
	d->relpri = relpri;
	priv = (dispatch_block_t)(void *)d;
	wrapper = Block_copy(^{
		dblock_run((DBlock *)(void *)priv);
	}); /* holds a reference on priv */
	Block_release(priv);
	if (wrapper)
		atomic_store_explicit(&dblock_wrapper_invoke, (void *)((struct DBlockLayout *)(void *)wrapper)->invoke,
				      memory_order_relaxed);
	return wrapper;
}

dispatch_block_t dispatch_block_create(dispatch_block_flags_t flags, dispatch_block_t block)
{
	return dblock_create(flags, QOS_CLASS_UNSPECIFIED, 0, block);
}

dispatch_block_t dispatch_block_create_with_qos_class(dispatch_block_flags_t flags, dispatch_qos_class_t qos_class,
						      int relative_priority, dispatch_block_t block)
{
	switch (qos_class) {
	case QOS_CLASS_USER_INTERACTIVE:
	case QOS_CLASS_USER_INITIATED:
	case QOS_CLASS_DEFAULT:
	case QOS_CLASS_UTILITY:
	case QOS_CLASS_BACKGROUND:
	case QOS_CLASS_UNSPECIFIED:
		break;
	default:
		return NULL;
	}
	if (relative_priority > 0 || relative_priority < QOS_MIN_RELATIVE_PRIORITY)
		return NULL;
	return dblock_create(flags, qos_class, relative_priority, block);
}

void dispatch_block_perform(dispatch_block_flags_t flags, dispatch_block_t block)
{
	dispatch_block_t b = dispatch_block_create(flags, block);

	if (!b) {
		block();
		return;
	}
	b();
	Block_release(b);
}

static DBlock *dblock_require(dispatch_block_t block, const char *what)
{
	DBlock *d = dblock_get(block);

	if (!d)
		dobject_crash(what);
	return d;
}

intptr_t dispatch_block_wait(dispatch_block_t block, dispatch_time_t timeout)
{
	DBlock *d = dblock_require(block, "Invalid block object passed to dispatch_block_wait()");

	return dispatch_group_wait(d->group, timeout);
}

void dispatch_block_notify(dispatch_block_t block, dispatch_queue_t queue, dispatch_block_t notification_block)
{
	DBlock *d = dblock_require(block, "Invalid block object passed to dispatch_block_notify()");

	dispatch_group_notify(d->group, queue, notification_block);
}

void dispatch_block_cancel(dispatch_block_t block)
{
	DBlock *d = dblock_require(block, "Invalid block object passed to dispatch_block_cancel()");

	atomic_store(&d->cancelled, 1);
}

intptr_t dispatch_block_testcancel(dispatch_block_t block)
{
	DBlock *d = dblock_require(block, "Invalid block object passed to dispatch_block_testcancel()");

	return atomic_load(&d->cancelled);
}
