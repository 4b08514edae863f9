/* SPDX-License-Identifier: MIT */
/*
 * req-peer - the peer process of tests/compat/test-requirement.c (built
 * twice, as req-peer and req-peer-other: two executables).
 *
 *   req-peer call              connect through the endpoint whose W is
 *                              descriptor 3, send one sync request
 *   req-peer require-uid UID   the same with a requirement that the
 *                              service's uid is UID on its own connection
 *
 * Prints the request's answer ("reply", "invalid", "interrupted",
 * "peer-req" for XPC_ERROR_PEER_CODE_SIGNING_REQUIREMENT), then, when the
 * connection ended, "event:peer-req" if its handler got that error and
 * "reason:" with its invalidation reason.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xpc/xpc.h>

#include "connection/connection.h"

static const char *answer(xpc_object_t r)
{
	if (r == XPC_ERROR_PEER_CODE_SIGNING_REQUIREMENT)
		return "peer-req";
	if (r == XPC_ERROR_CONNECTION_INVALID)
		return "invalid";
	if (r == XPC_ERROR_CONNECTION_INTERRUPTED)
		return "interrupted";
	return xpc_get_type(r) == XPC_TYPE_DICTIONARY ? "reply" : "other";
}

int main(int argc, char **argv)
{
	__block atomic_bool peer_req = false;
	dispatch_semaphore_t ended = dispatch_semaphore_create(0);
	xpc_endpoint_t ep = endpoint_create_from_send_fd(3);
	xpc_connection_t c;

	if (argc < 2 || !ep)
		return 2;
	c = xpc_connection_create_from_endpoint(ep);
	xpc_release(ep);
	if (!strcmp(argv[1], "require-uid") && argc == 3) {
		xpc_peer_requirement_t req = xpc_linux_peer_requirement_create_uid((uid_t)atol(argv[2]));
		xpc_connection_set_peer_requirement(c, req);
		xpc_release(req);
	}
	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) {
		if (ev == XPC_ERROR_PEER_CODE_SIGNING_REQUIREMENT)
			atomic_store(&peer_req, true);
		if (ev == XPC_ERROR_CONNECTION_INVALID)
			dispatch_semaphore_signal(ended);
	});
	xpc_connection_resume(c);
	xpc_object_t m = xpc_dictionary_create_empty();
	xpc_dictionary_set_string(m, "op", "hi");
	xpc_object_t r = xpc_connection_send_message_with_reply_sync(c, m);
	printf("%s\n", answer(r));
	if (xpc_get_type(r) == XPC_TYPE_DICTIONARY && xpc_dictionary_get_bool(r, "match"))
		printf("match\n");
	/* a refused link is invalid already: cancelling it now would drop the
	 * events not yet handled (as on macOS) */
	if (xpc_get_type(r) == XPC_TYPE_DICTIONARY)
		xpc_connection_cancel(c);
	xpc_release(r);
	xpc_release(m);
	long timed_out = dispatch_semaphore_wait(ended, dispatch_time(DISPATCH_TIME_NOW, 10 * NSEC_PER_SEC));
	if (atomic_load(&peer_req))
		printf("event:peer-req\n");
	char *why = xpc_connection_copy_invalidation_reason(c);
	printf("reason:%s\n", why ? why : "");
	free(why);
	xpc_release(c);
	if (!timed_out) /* the handler signalled it for the last time */
		dispatch_release(ended);
	fflush(stdout);
	return 0;
}
