/* SPDX-License-Identifier: MIT */
/*
 * pending.c - requests waiting for their reply (c->pending).
 *
 * A request with a reply handler gets a Pending entry (id, queue, handler)
 * before its frame leaves; the reply frame's reply_to finds it.  Ids grow
 * with every frame, so the list, appended at the tail, is in the order the
 * requests left, and a peer answers them mostly in that order: the search
 * starts at the head (the oldest), so the common case, a reply to the
 * oldest request, costs O(1); a reply out of order costs its position.
 *
 * Invariants: every entry is answered exactly once -- it is unlinked under
 * the connection's lock before it is answered, so a reply and a concurrent
 * failure cannot both answer it; n counts the entries listed.
 */
#include "connection/internal.h"
#include "dispatch/dqueue.h"
#include "shared/assert.h"

#include <Block.h>
#include <stdlib.h>

static void pending_run(void *ctx)
{
	Pending *p = ctx;

	if (p->block) {
		p->block(p->result);
		Block_release(p->block);
	} else if (p->fn) {
		p->fn(p->ctx, p->result);
	}
	xpc_release(p->result);
	dispatch_release(p->q);
	free(p);
}

Pending *pending_new(dispatch_queue_t q, xpc_handler_t block, void *ctx, xpc_handler_f fn)
{
	Pending *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	if (block && !(p->block = Block_copy(block))) {
		free(p);
		return NULL;
	}
	p->fn = fn;
	p->ctx = ctx;
	p->q = q ? q : dispatch_get_global_queue(DISPATCH_QUEUE_PRIORITY_DEFAULT, 0);
	dispatch_retain(p->q);
	return p;
}

void pending_free(Pending *p)
{
	if (p->block)
		Block_release(p->block);
	dispatch_release(p->q);
	free(p);
}

/*
 * A sync caller's entry lives on its stack: after the unlock it may be gone.
 * Answered by the waiting thread itself (it read its own reply, the usual
 * case), no lock is needed: nobody else touches an entry once it is no
 * longer listed (pending_take_locked), and sync_wait_answer() then takes
 * neither the mutex nor the condition variable.
 */
void pending_answer(Pending *p, xpc_object_t result)
{
	if (p->sync && pthread_equal(p->waiter, pthread_self())) {
		p->result = result;
		p->self_answered = true;
		atomic_store(&p->done, true);
		return;
	}
	if (p->sync) {
		pthread_mutex_lock(&p->mu);
		p->mu_used = true;
		p->result = result;
		atomic_store(&p->done, true);
		pthread_cond_signal(&p->cv);
		pthread_mutex_unlock(&p->mu);
		return;
	}
	p->result = result;
	dqueue_push_embedded(p->q, &p->item, pending_run, p);
}

void pending_add_locked(xpc_connection_t c, Pending *p, uint64_t id)
{
	PendingList *l = &c->pending;

	lock_assert_held(&c->lock);
	xpc_assert(!l->tail || l->tail->id < id); /* oldest first */
	p->id = id;
	p->next = NULL;
	if (l->tail)
		l->tail->next = p;
	else
		l->head = p;
	l->tail = p;
	l->n++;
}

Pending *pending_take_locked(xpc_connection_t c, uint64_t id)
{
	PendingList *l = &c->pending;
	Pending *prev = NULL;

	lock_assert_held(&c->lock);
	for (Pending *p = l->head; p; prev = p, p = p->next) {
		if (p->id != id)
			continue;
		if (prev)
			prev->next = p->next;
		else
			l->head = p->next;
		if (l->tail == p)
			l->tail = prev;
		xpc_assert(l->n > 0);
		l->n--;
		return p;
	}
	return NULL;
}

void pending_fail_all_locked(xpc_connection_t c, xpc_object_t err)
{
	Pending *p = c->pending.head;

	lock_assert_held(&c->lock);
	c->pending.head = c->pending.tail = NULL;
	c->pending.n = 0;
	while (p) {
		Pending *next = p->next;
		pending_answer(p, err);
		p = next;
	}
}

void pending_wake_sync_locked(xpc_connection_t c)
{
	lock_assert_held(&c->lock);
	for (Pending *p = c->pending.head; p; p = p->next) {
		if (!p->sync)
			continue;
		pthread_mutex_lock(&p->mu);
		p->mu_used = true;
		p->wake = true;
		pthread_cond_signal(&p->cv);
		pthread_mutex_unlock(&p->mu);
	}
}
