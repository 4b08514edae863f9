/* SPDX-License-Identifier: MIT */
/*
 * users.h - what the broker's client links cost, per user and in all, and
 * the decision each new link gets (users.c).
 */
#ifndef XPC_BROKER_USERS_H
#define XPC_BROKER_USERS_H

#include <sys/types.h>

typedef enum LinkKind {
	LINK_SERVED,      /* read now */
	LINK_WAITING,     /* queued (users_wait_push), read once a served one closes */
	LINK_REFUSING,    /* read; each request answered with the limit's name */
	LINK_REFUSED,     /* over the user's share: not charged, closed at accept */
	LINK_REFUSED_ALL, /* over the cap in all: not charged, closed at accept */
} LinkKind;

typedef struct LinkLimits {
	unsigned max_links;         /* links in all */
	unsigned per_user;          /* links of one uid, every kind */
	unsigned served_per_user;   /* of those, read at once */
	unsigned refusing_per_user; /* of those, answered with the limit */
} LinkLimits;

/* The charges of one uid; exists while one is charged. */
typedef struct User User;

/* The table of users with links (zero-initialised: nothing admitted until
 * users_configure). */
typedef struct Users {
	LinkLimits limits;
	User *list;       /* users with at least one link charged */
	unsigned n_links; /* links charged in all */
} Users;

/* Sets the cap in all and the share of one user (0: half the cap); the
 * other limits follow.  Only while no link is charged.  Return: 0 or
 * -EINVAL. */
int users_configure(Users *t, unsigned max_links, unsigned per_user);
const LinkLimits *users_limits(const Users *t);
/* Charges a new link of @uid and says what it is; *@ret_user is set for
 * the charged kinds (SERVED, WAITING, REFUSING), NULL otherwise. */
LinkKind users_admit(Users *t, uid_t uid, User **ret_user);
/* Queues the item of a WAITING link (the caller keeps ownership).
 * Return: 0 or -ENOMEM (then release the charge). */
int users_wait_push(User *u, void *item);
/* Refunds one link of @kind (@u may be freed).  When a served one goes and
 * the user has a waiting one, that one is now served: its item is
 * returned (else NULL). */
void *users_release(Users *t, User *u, LinkKind kind);
unsigned users_in_use(const Users *t);
/* The charges of @uid (for tests and the fuzzer); returns their sum. */
unsigned users_links_of(const Users *t, uid_t uid, unsigned *ret_served, unsigned *ret_waiting,
			unsigned *ret_refusing);

#endif
