/* SPDX-License-Identifier: MIT */
/*
 * users.c - what the broker's client links cost, per user (the peer's uid,
 * SO_PEERCRED at connect) and in all, and the decision each new link gets
 * (docs/broker.md, "Limits"; docs/security.md, "The broker").
 *
 * Every link the broker keeps costs two descriptors (the socket and its
 * pidfd).  So the links in all are capped below the descriptor limit with
 * room left for everything else (users_configure), and no user may hold
 * more than a share of that cap: however many processes a user forks, the
 * others still find the broker with room for them.  Within a user's share,
 * a new link is, in this order of preference:
 *
 *   served     read at once (its lookup or check-in), up to served_per_user
 *   waiting    accepted but not read until one of the user's served links
 *              closes, then served in order (users_release)
 *   refusing   read, and each request answered with the limit's name
 *   refused    over everything: closed at accept after one message naming
 *              the limit (clients.c; it costs nothing kept)
 *
 * A user's record exists while it has a link charged (a list of the users
 * with links: at most max_links of them, so no table sized in advance).
 * Pure bookkeeping, no descriptors and no dispatch: clients.c calls it on
 * the main queue, and fuzz/fuzz-broker.c drives it directly.  Every charge
 * is refunded by exactly one users_release() of the same kind.  A leaf.
 */
#include <errno.h>
#include <stdlib.h>

#include "broker/users.h"

typedef struct LinkWait LinkWait;
struct LinkWait {
	LinkWait *next;
	void *item;
};

struct User {
	User *next;
	uid_t uid;
	unsigned served, waiting, refusing;
	LinkWait *wait_head, *wait_tail;
};

static unsigned user_total(const User *u)
{
	return u->served + u->waiting + u->refusing;
}

int users_configure(Users *t, unsigned max_links, unsigned per_user)
{
	LinkLimits *lim = &t->limits;

	if (max_links == 0 || t->n_links)
		return -EINVAL;
	if (per_user == 0 || per_user > max_links)
		per_user = max_links / 2 > 0 ? max_links / 2 : 1;
	lim->max_links = max_links;
	lim->per_user = per_user;
	/* 64 served, 256 waiting, 64 refusing of 384 (the share of one user
	 * when descriptors allow it), in proportion below that */
	lim->served_per_user = per_user / 6 > 0 ? per_user / 6 : 1;
	if (lim->served_per_user > 64)
		lim->served_per_user = 64;
	lim->refusing_per_user = per_user / 6;
	if (lim->refusing_per_user > 64)
		lim->refusing_per_user = 64;
	if (lim->served_per_user + lim->refusing_per_user > per_user)
		lim->refusing_per_user = per_user - lim->served_per_user;
	return 0;
}

const LinkLimits *users_limits(const Users *t)
{
	return &t->limits;
}

static User *user_find(const Users *t, uid_t uid)
{
	for (User *u = t->list; u; u = u->next)
		if (u->uid == uid)
			return u;
	return NULL;
}

/* The record of @uid, made if it has none; NULL when out of memory. */
static User *user_get(Users *t, uid_t uid)
{
	User *u = user_find(t, uid);

	if (u)
		return u;
	u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	u->uid = uid;
	u->next = t->list;
	t->list = u;
	return u;
}

/* Frees @u once nothing is charged to it. */
static void user_put(Users *t, User *u)
{
	if (user_total(u) > 0)
		return;
	for (User **p = &t->list; *p; p = &(*p)->next)
		if (*p == u) {
			*p = u->next;
			break;
		}
	free(u);
}

/* The kind a new link of @u gets, its part counted.  Each part has its own
 * bound, and their sum is the share: a part never takes the room of
 * another. */
static LinkKind user_charge(const LinkLimits *lim, User *u)
{
	if (u->served < lim->served_per_user) {
		u->served++;
		return LINK_SERVED;
	}
	if (u->waiting < lim->per_user - lim->served_per_user - lim->refusing_per_user) {
		u->waiting++;
		return LINK_WAITING;
	}
	if (u->refusing < lim->refusing_per_user) {
		u->refusing++;
		return LINK_REFUSING;
	}
	return LINK_REFUSED;
}

LinkKind users_admit(Users *t, uid_t uid, User **ret_user)
{
	LinkKind kind;
	User *u;

	*ret_user = NULL;
	if (!t->limits.max_links || t->n_links >= t->limits.max_links)
		return LINK_REFUSED_ALL;
	u = user_get(t, uid);
	if (!u)
		return LINK_REFUSED_ALL;
	kind = user_charge(&t->limits, u);
	if (kind == LINK_REFUSED) {
		user_put(t, u);
		return kind;
	}
	*ret_user = u;
	t->n_links++;
	return kind;
}

int users_wait_push(User *u, void *item)
{
	LinkWait *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	w->item = item;
	if (u->wait_tail)
		u->wait_tail->next = w;
	else
		u->wait_head = w;
	u->wait_tail = w;
	return 0;
}

/* The oldest queued item of @u, its charge moved from waiting to served. */
static void *user_promote(User *u)
{
	LinkWait *w = u->wait_head;
	void *item;

	if (!w)
		return NULL;
	u->wait_head = w->next;
	if (!u->wait_head)
		u->wait_tail = NULL;
	item = w->item;
	free(w);
	u->waiting--;
	u->served++;
	return item;
}

void *users_release(Users *t, User *u, LinkKind kind)
{
	unsigned *count = kind == LINK_SERVED    ? &u->served
			  : kind == LINK_WAITING ? &u->waiting
						 : &u->refusing;
	void *next;

	if (*count == 0 || t->n_links == 0)
		return NULL; /* not charged: a caller bug, never a wrap-around */
	(*count)--;
	t->n_links--;
	next = kind == LINK_SERVED ? user_promote(u) : NULL;
	user_put(t, u);
	return next;
}

unsigned users_in_use(const Users *t)
{
	return t->n_links;
}

unsigned users_links_of(const Users *t, uid_t uid, unsigned *ret_served, unsigned *ret_waiting,
			unsigned *ret_refusing)
{
	const User *u = user_find(t, uid);

	*ret_served = u ? u->served : 0;
	*ret_waiting = u ? u->waiting : 0;
	*ret_refusing = u ? u->refusing : 0;
	return u ? user_total(u) : 0;
}
