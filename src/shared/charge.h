/* SPDX-License-Identifier: MIT */
/*
 * charge.h - accounts that bound what a peer can make this process hold.
 *
 * Model (dbus-broker's accounting, docs/security.md): a Charge is an
 * account with a limit and an optional parent.  Taking n units takes them
 * from the account and from every ancestor, all or nothing: a per-link
 * account under a per-process one bounds both what one peer holds and
 * what all of them hold together.  Whoever took units gives them back
 * when the thing they paid for is freed (a received buffer, a peer link),
 * which is why the holder of units keeps a reference on the account: an
 * account outlives the connection that made it while anything charged to
 * it lives.
 *
 * Invariants (xpc_assert, charge.c): an account never gives back more units
 * than it holds, and its reference count never drops below zero.
 *
 * Thread-safe: the counters are atomic; the limit and parent are set at
 * creation and never change.
 */
#ifndef XPC_SHARED_CHARGE_H
#define XPC_SHARED_CHARGE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct Charge Charge;
struct Charge {
	_Atomic long refs;
	_Atomic size_t used;
	size_t max;        /* units the account may hold; SIZE_MAX: no limit */
	Charge *parent;    /* a reference is held on it; NULL for a root */
	unsigned long key; /* free for the owner (a uid, say) */
};

/* A static root account: CHARGE_ROOT(max).  Never freed. */
/* clang-format off */
#define CHARGE_ROOT(m) {.refs = 1, .used = 0, .max = (m), .parent = NULL, .key = 0}
/* clang-format on */

/*
 * charge_new() - a new account.
 * @parent: borrowed (a reference is taken); NULL for none
 * @max:    its limit (SIZE_MAX: only the parent's)
 * Return: a +1 account, or NULL (ENOMEM).
 */
Charge *charge_new(Charge *parent, size_t max);
Charge *charge_ref(Charge *c);
void charge_unref(Charge *c); /* NULL is fine */

/*
 * charge_take() - take @n units from @c and each of its ancestors.
 * Return: true, or false when one of them would pass its limit (nothing
 *         was taken then).  @c NULL: true.
 */
bool charge_take(Charge *c, size_t n);
/* Gives back @n units taken with charge_take(). */
void charge_give(Charge *c, size_t n);
/* Units @c holds now (a snapshot). */
size_t charge_used(const Charge *c);

#endif
