/* SPDX-License-Identifier: MIT */
/*
 * remote-service - the job the remote tests serve through xpc-remoted.
 *
 * Listens on the name argv[1] and answers { "op": ... }:
 *   "echo"   { "pid": its pid, "euid": the peer's euid, "value": value,
 *            "remote": the message's XPCRemotePeerAddress, when it has one }
 *   "hang"   no answer (the test then kills the job or the client)
 *   "fd"     a reply holding a descriptor (cannot cross hosts)
 *   "push"   first sends the peer an unprompted { "pushed": value }, then
 *            answers as "echo"
 *   "peers"  { "peers": how many peer connections are open now }
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xpc/remote.h>
#include <xpc/xpc.h>

static int live_peers; /* peers whose INVALID has not come yet (atomic) */

static void answer(xpc_connection_t peer, xpc_object_t msg, const char *op)
{
	xpc_object_t reply = xpc_dictionary_create_reply(msg), v = xpc_dictionary_get_value(msg, "value");

	if (!reply)
		return;
	if (!strcmp(op, "fd")) {
		xpc_object_t fd = xpc_fd_create(STDIN_FILENO);

		xpc_dictionary_set_value(reply, "fd", fd);
		xpc_release(fd);
	}
	if (!strcmp(op, "peers"))
		xpc_dictionary_set_int64(reply, "peers", __atomic_load_n(&live_peers, __ATOMIC_SEQ_CST));
	xpc_dictionary_set_int64(reply, "pid", getpid());
	xpc_dictionary_set_int64(reply, "euid", xpc_connection_get_euid(peer));
	if (xpc_dictionary_get_string(msg, XPC_LINUX_REMOTE_PEER_ADDRESS_KEY))
		xpc_dictionary_set_string(reply, "remote", xpc_dictionary_get_string(msg, XPC_LINUX_REMOTE_PEER_ADDRESS_KEY));
	if (v)
		xpc_dictionary_set_value(reply, "value", v);
	xpc_connection_send_message(peer, reply);
	xpc_release(reply);
}

static void serve(xpc_connection_t peer)
{
	__atomic_add_fetch(&live_peers, 1, __ATOMIC_SEQ_CST);
	xpc_connection_set_event_handler(peer, ^(xpc_object_t msg) {
		const char *op;

		if (msg == XPC_ERROR_CONNECTION_INVALID)
			__atomic_sub_fetch(&live_peers, 1, __ATOMIC_SEQ_CST);
		if (xpc_get_type(msg) != XPC_TYPE_DICTIONARY)
			return;
		op = xpc_dictionary_get_string(msg, "op");
		if (!op || !strcmp(op, "hang"))
			return;
		if (!strcmp(op, "push")) {
			xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0);

			xpc_dictionary_set_value(m, "pushed", xpc_dictionary_get_value(msg, "value"));
			xpc_connection_send_message(peer, m);
			xpc_release(m);
		}
		answer(peer, msg, op);
	});
	xpc_connection_resume(peer);
}

int main(int argc, char **argv)
{
	xpc_connection_t l = xpc_connection_create_mach_service(argc > 1 ? argv[1] : "org.xpc.test.remote", NULL,
								XPC_CONNECTION_MACH_SERVICE_LISTENER);

	xpc_connection_set_event_handler(l, ^(xpc_object_t ev) {
		if (xpc_get_type(ev) == XPC_TYPE_CONNECTION)
			serve(ev);
	});
	xpc_connection_resume(l);
	dispatch_main();
}
