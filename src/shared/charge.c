/* SPDX-License-Identifier: MIT */
/*
 * charge.c - bounded accounts with parents (charge.h).
 *
 * charge_take() walks from the account up to the root, reserving at each
 * level with a compare-and-swap that refuses to pass the level's limit; if
 * a level refuses, the levels below it are given back, so a refused take
 * changes nothing.  Concurrent takes may refuse each other near a limit
 * (both see the other's reservation), never both pass it.
 */
#include "shared/charge.h"
#include "shared/assert.h"

#include <stdint.h>
#include <stdlib.h>

Charge *charge_new(Charge *parent, size_t max)
{
	Charge *c = malloc(sizeof(*c));

	if (!c)
		return NULL;
	atomic_init(&c->refs, 1);
	atomic_init(&c->used, 0);
	c->max = max;
	c->parent = parent ? charge_ref(parent) : NULL;
	c->key = 0;
	return c;
}

Charge *charge_ref(Charge *c)
{
	atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
	return c;
}

void charge_unref(Charge *c)
{
	while (c) {
		long old = atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel);
		Charge *parent;

		xpc_assert(old >= 1);
		if (old != 1)
			return;
		parent = c->parent;
		free(c);
		c = parent;
	}
}

/* Reserves @n units at one level; false at its limit. */
static bool charge_take_one(Charge *c, size_t n)
{
	size_t used = atomic_load_explicit(&c->used, memory_order_relaxed);

	do {
		if (n > c->max || used > c->max - n)
			return false;
	} while (!atomic_compare_exchange_weak_explicit(
		&c->used, &used, used + n, memory_order_relaxed, memory_order_relaxed));
	return true;
}

bool charge_take(Charge *c, size_t n)
{
	for (Charge *l = c; l; l = l->parent) {
		if (charge_take_one(l, n))
			continue;
		for (Charge *u = c; u != l; u = u->parent)
			atomic_fetch_sub_explicit(&u->used, n, memory_order_relaxed);
		return false;
	}
	return true;
}

void charge_give(Charge *c, size_t n)
{
	for (; c; c = c->parent) {
		size_t old = atomic_fetch_sub_explicit(&c->used, n, memory_order_relaxed);

		xpc_assert(old >= n); /* given back only what was taken */
	}
}

size_t charge_used(const Charge *c)
{
	return atomic_load_explicit(&((Charge *)c)->used, memory_order_relaxed);
}
