/* SPDX-License-Identifier: MIT */
/*
 * vend.h - how the broker vends a name (vend.c): lookups, and check-ins
 * made for a client (docs/security.md, "Shared channels").
 */
#ifndef XPC_BROKER_VEND_H
#define XPC_BROKER_VEND_H

#include <xpc/xpc.h>

#include "broker/broker.h"
#include "broker/job.h"
#include "broker/policy.h"

/* { "name" }: whether the name can be connected to; the endpoint (W) only
 * for a caller that may hold it (vend_may_hold). */
xpc_object_t vend_lookup(Broker *b, const Caller *who, xpc_object_t req, Job *unused);
/* { "name", "link" }: the broker checks the caller's link in over W. */
xpc_object_t vend_checkin(Broker *b, const Caller *who, xpc_object_t req, Job *unused);
/* Whether @who may hold W of @job's names: root, and the user the job
 * runs as (both can end the service anyway). */
bool vend_may_hold(const Job *job, const Caller *who);

#endif
