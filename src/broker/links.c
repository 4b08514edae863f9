/* SPDX-License-Identifier: MIT */
/*
 * links.c - what the broker's client links cost, per user (the peer's uid,
 * SO_PEERCRED at connect) and in all, and the decision each new link gets
 * (docs/broker.md, "Limits"; docs/security.md, "The broker").
 *
 * Every link the broker keeps costs two descriptors (the socket and its
 * pidfd).  So the links in all are capped below the descriptor limit with
 * room left for everything else (links_configure), and no user may hold
 * more than a share of that cap: however many processes a user forks, the
 * others still find the broker with room for them.  Within a user's share,
 * a new link is, in this order of preference:
 *
 *   served     read at once (its lookup or check-in), up to served_per_user
 *   waiting    accepted but not read until one of the user's served links
 *              closes, then served in order (links_release)
 *   refusing   read, and each request answered with the limit's name
 *   refused    over everything: closed at accept after one message naming
 *              the limit (control.c; it costs nothing kept)
 *
 * Pure bookkeeping, no descriptors and no dispatch: control.c calls it on
 * the main queue, and fuzz/fuzz-broker.c drives it directly.  Every charge
 * is refunded by exactly one links_release() of the same kind.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "broker/job.h"

typedef struct LinkWait LinkWait;
struct LinkWait {
	LinkWait *next;
	void *item;
};

struct LinkUser {
	uid_t uid;
	unsigned served, waiting, refusing;
	LinkWait *wait_head, *wait_tail;
};

static LinkLimits limits;
static LinkUser *users; /* limits.max_links slots; a slot is free when its counts are 0 */
static unsigned n_links;

static unsigned user_total(const LinkUser *u)
{
	return u->served + u->waiting + u->refusing;
}

int links_configure(unsigned max_links, unsigned per_user)
{
	LinkUser *fresh;

	if (max_links == 0 || n_links)
		return -EINVAL;
	if (per_user == 0 || per_user > max_links)
		per_user = max_links / 2 > 0 ? max_links / 2 : 1;
	fresh = calloc(max_links, sizeof(*fresh));
	if (!fresh)
		return -ENOMEM;
	free(users);
	users = fresh;
	limits.max_links = max_links;
	limits.per_user = per_user;
	/* 64 served, 256 waiting, 64 refusing of 384 (the share of one user
	 * when descriptors allow it), in proportion below that */
	limits.served_per_user = per_user / 6 > 0 ? per_user / 6 : 1;
	if (limits.served_per_user > 64)
		limits.served_per_user = 64;
	limits.refusing_per_user = per_user / 6;
	if (limits.refusing_per_user > 64)
		limits.refusing_per_user = 64;
	if (limits.served_per_user + limits.refusing_per_user > per_user)
		limits.refusing_per_user = per_user - limits.served_per_user;
	return 0;
}

const LinkLimits *links_limits(void)
{
	return &limits;
}

/* The slot of @uid, or a free one for it; NULL only when every slot is in
 * use (cannot happen while n_links < max_links). */
static LinkUser *user_slot(uid_t uid)
{
	LinkUser *free_slot = NULL;

	for (unsigned i = 0; i < limits.max_links; i++) {
		bool used = user_total(&users[i]) > 0;
		if (used && users[i].uid == uid)
			return &users[i];
		if (!used && !free_slot)
			free_slot = &users[i];
	}
	if (free_slot)
		free_slot->uid = uid;
	return free_slot;
}

LinkKind links_admit(uid_t uid, LinkUser **ret_user)
{
	LinkKind kind;
	LinkUser *u;

	*ret_user = NULL;
	if (!users || n_links >= limits.max_links)
		return LINK_REFUSED_ALL;
	u = user_slot(uid);
	if (!u)
		return LINK_REFUSED_ALL;
	/* each part has its own bound, and their sum is the share: a part
	 * never takes the room of another */
	if (u->served < limits.served_per_user) {
		u->served++;
		kind = LINK_SERVED;
	} else if (u->waiting < limits.per_user - limits.served_per_user - limits.refusing_per_user) {
		u->waiting++;
		kind = LINK_WAITING;
	} else if (u->refusing < limits.refusing_per_user) {
		u->refusing++;
		kind = LINK_REFUSING;
	} else {
		return LINK_REFUSED;
	}
	*ret_user = u;
	n_links++;
	return kind;
}

int links_wait_push(LinkUser *u, void *item)
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
static void *user_promote(LinkUser *u)
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

void *links_release(LinkUser *u, LinkKind kind)
{
	unsigned *count = kind == LINK_SERVED    ? &u->served
			  : kind == LINK_WAITING ? &u->waiting
						 : &u->refusing;

	if (*count == 0 || n_links == 0)
		return NULL; /* not charged: a caller bug, never a wrap-around */
	(*count)--;
	n_links--;
	return kind == LINK_SERVED ? user_promote(u) : NULL;
}

unsigned links_in_use(void)
{
	return n_links;
}

unsigned links_of_user(uid_t uid, unsigned *ret_served, unsigned *ret_waiting,
		       unsigned *ret_refusing)
{
	for (unsigned i = 0; users && i < limits.max_links; i++)
		if (user_total(&users[i]) > 0 && users[i].uid == uid) {
			*ret_served = users[i].served;
			*ret_waiting = users[i].waiting;
			*ret_refusing = users[i].refusing;
			return user_total(&users[i]);
		}
	*ret_served = *ret_waiting = *ret_refusing = 0;
	return 0;
}
