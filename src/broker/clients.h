/* SPDX-License-Identifier: MIT */
/*
 * clients.h - the broker's client links (clients.c).
 */
#ifndef XPC_BROKER_CLIENTS_H
#define XPC_BROKER_CLIENTS_H

#include <dispatch/dispatch.h>
#include <stdint.h>

#include "broker/users.h"
#include "shared/list.h"

struct Broker;
typedef struct ClientLink ClientLink;

typedef struct Clients {
	struct Broker *broker;         /* whose operations the links call */
	Users users;                   /* what the links cost, per user */
	ListNode links;                /* every ClientLink, waiting ones included */
	unsigned idle_ms;              /* 0: links are never closed for silence */
	dispatch_source_t idle_source; /* the idle sweep */
	uint64_t last_refusal_ms;      /* the last refusal at accept logged */
} Clients;

void clients_init(Clients *c, struct Broker *broker);
/*
 * clients_configure() - the limits of client links, before any is accepted
 * @max_links:    links in all; 0: derived from RLIMIT_NOFILE (two
 *                descriptors a link, a quarter of the limit kept free),
 *                at most 1024
 * @per_user:     links of one uid; 0: half of @max_links, at most 384
 * @idle_ms:      a link that sends no request for this long is closed; 0:
 *                never
 * Return: 0, or a negative errno.
 */
int clients_configure(Clients *c, unsigned max_links, unsigned per_user, unsigned idle_ms);
/* Starts the idle sweep. */
void clients_start(Clients *c);
/* Takes the accepted socket @fd (consumed): a link, or refused at once. */
void clients_accept(Clients *c, int fd);

#endif
