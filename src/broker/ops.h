/* SPDX-License-Identifier: MIT */
/*
 * ops.h - the operations of the broker protocol (ops.c).
 */
#ifndef XPC_BROKER_OPS_H
#define XPC_BROKER_OPS_H

#include <xpc/xpc.h>

#include "broker/policy.h"

struct Broker;

/*
 * ops_handle() - answer one request dictionary of @who (received,
 * expecting a reply)
 * Return: the reply (+1), or NULL when no reply can be made.
 */
xpc_object_t ops_handle(struct Broker *b, const Caller *who, xpc_object_t req);

#endif
