/* SPDX-License-Identifier: MIT */
/*
 * ring.h - shared rings: a link of the unix transport whose small frames
 * go through shared memory, when both peers opt in (XPC_SHARED_RING=1 in
 * the environment of both processes; docs/transport.md, "Shared rings").
 *
 * A ring link is a unix link (the same socket: descriptors, credentials,
 * large bodies, the peer's end, wake-ups of a reader that waits on the
 * socket) plus one ring each way (shared.h).  Each side offers the ring it
 * writes at its first send (RING_OFFER, a sealed memfd); the other side
 * maps it, checks it, and acknowledges it at its own next send (RING_ACK);
 * from then on the offering side writes its small inline frames without
 * descriptors into the ring, and wakes a reader that waits with a futex
 * word of the ring (FUTEX_WAKE), or with a RING_BELL frame on the socket
 * one that waits there.  A peer that did not opt in ignores the offer, and
 * both keep to the socket.  The reader trusts nothing in the mapping: it
 * copies each entry out within its bounds and parses the copy as it would
 * a packet (shared.c), so a hostile peer can break only its own link.
 *
 * The connection layer makes a peer's link a ring link when its read
 * source starts (ring_link_start) and frees the ring where it closes the
 * link's descriptor (ring_free): the readers that copied the link
 * (transport_link_view) use the ring until then.
 */
#ifndef XPC_TRANSPORT_RING_RING_H
#define XPC_TRANSPORT_RING_RING_H

#include <stdbool.h>

#include "transport/transport.h"

extern const TransportOps ring_link_ops;

/* Whether this process opted in (XPC_SHARED_RING=1; read once). */
bool ring_wanted(void);

/* Makes the unix link @l a ring link (ring_link_ops, a ring of its own in
 * l->ring) if this process opted in.  0, or -ENOMEM (@l stays as it was). */
int ring_link_start(TransportLink *l);

/* Makes @l a plain unix link again and gives its ring to the caller (to
 * free once no reader can use it: ring_free), or NULL. */
TransportRing *ring_link_detach(TransportLink *l);

/* Unmaps both rings and frees what a reader kept (NULL: nothing). */
void ring_free(TransportRing *g);

#endif
