/* SPDX-License-Identifier: MIT */
/*
 * conn-helper.c - the other processes of the cross-process connection tests
 * (test-process).  Links are connected SOCK_SEQPACKET sockets inherited by
 * number (argv), wrapped with connection_create_from_socket().
 *
 *   conn-helper serve LINK          echo listener; sends {endpoint} on LINK,
 *                                   then serves until killed
 *   conn-helper relay IN OUT        receives {endpoint} on IN, forwards it on
 *                                   OUT (waits for the ack), exits 0
 *   conn-helper trace               one in-process request/reply (run with
 *                                   XPC_TRACE=1 by the test)
 *   conn-helper main                xpc_main() serving the echo service on the
 *                                   name given by XPCD_LISTEN_*
 *   conn-helper client IN APID      receives {endpoint} on IN (acks it), waits
 *                                   until IN is gone (the relay exited), then
 *                                   connects to the endpoint and checks that
 *                                   it talks to APID; exits 0 on success
 */
#include "connection/connection.h"
#include "conn-common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static xpc_connection_t link_open(const char *arg, void (^handler)(xpc_object_t))
{
	xpc_connection_t c = connection_create_from_socket(atoi(arg), NULL);

	if (!c)
		exit(2);
	xpc_connection_set_event_handler(c, handler);
	xpc_connection_resume(c);
	return c;
}

static int do_serve(char **argv)
{
	xpc_connection_t l = conn_test_start_echo_listener(NULL);
	xpc_connection_t link = link_open(argv[0], ^(xpc_object_t ev) {
		(void)ev;
	});

	conn_test_send_endpoint(link, l);
	for (;;)
		pause();
}

static int do_relay(char **argv)
{
	dispatch_semaphore_t got = dispatch_semaphore_create(0);
	__block xpc_object_t ep = NULL;
	xpc_connection_t in = link_open(argv[0], ^(xpc_object_t ev) {
		if (xpc_get_type(ev) == XPC_TYPE_DICTIONARY && !ep) {
			ep = xpc_dictionary_get_value(ev, "endpoint");
			if (ep)
				xpc_retain(ep);
			dispatch_semaphore_signal(got);
		}
	});
	xpc_connection_t out = link_open(argv[1], ^(xpc_object_t ev) {
		(void)ev;
	});
	if (!conn_test_wait(got, 30) || !ep)
		return 3;
	xpc_object_t msg = xpc_dictionary_create(NULL, NULL, 0);
	xpc_dictionary_set_value(msg, "endpoint", ep);
	xpc_object_t ack = xpc_connection_send_message_with_reply_sync(out, msg);
	int rc = xpc_get_type(ack) == XPC_TYPE_DICTIONARY ? 0 : 4;
	xpc_release(ack);
	xpc_release(msg);
	xpc_release(ep);
	dispatch_release(got);
	xpc_connection_cancel(in);
	xpc_connection_cancel(out);
	xpc_release(in);
	xpc_release(out);
	return rc;
}

static int do_client(char **argv)
{
	dispatch_semaphore_t gone = dispatch_semaphore_create(0);
	__block xpc_object_t ep = NULL;
	pid_t apid = atoi(argv[1]);
	xpc_connection_t in = link_open(argv[0], ^(xpc_object_t ev) {
		if (xpc_get_type(ev) == XPC_TYPE_DICTIONARY) {
			xpc_object_t v = xpc_dictionary_get_value(ev, "endpoint");
			xpc_object_t r = xpc_dictionary_create_reply(ev);
			if (v && !ep)
				ep = xpc_retain(v);
			if (r) {
				xpc_connection_send_message(xpc_dictionary_get_remote_connection(ev), r);
				xpc_release(r);
			}
		} else if (ev == XPC_ERROR_CONNECTION_INVALID) {
			dispatch_semaphore_signal(gone);
		}
	});
	if (!conn_test_wait(gone, 30) || !ep)
		return 3;
	(void)in;
	xpc_connection_t a = xpc_connection_create_from_endpoint(ep);
	xpc_connection_set_event_handler(a, ^(xpc_object_t ev) {
		(void)ev;
	});
	xpc_connection_resume(a);
	xpc_object_t msg = xpc_dictionary_create(NULL, NULL, 0);
	xpc_dictionary_set_string(msg, "op", "pid");
	xpc_object_t reply = xpc_connection_send_message_with_reply_sync(a, msg);
	int rc = 0;
	if (xpc_get_type(reply) != XPC_TYPE_DICTIONARY)
		rc = 5;
	else if (xpc_dictionary_get_int64(reply, "pid") != apid || xpc_connection_get_pid(a) != apid)
		rc = 6;
	else if (xpc_dictionary_get_int64(reply, "peer_pid") != getpid())
		rc = 7;
	xpc_release(reply);
	xpc_release(msg);
	xpc_release(ep);
	xpc_connection_cancel(a);
	xpc_release(a);
	xpc_release(in);
	dispatch_release(gone);
	return rc;
}

static int do_trace(void)
{
	xpc_connection_t l = conn_test_start_echo_listener(NULL);
	xpc_connection_t c = conn_test_connect(l);
	int rc = conn_test_ask(c, "pid") ? 0 : 1;

	xpc_connection_cancel(c);
	xpc_release(c);
	xpc_connection_cancel(l);
	xpc_release(l);
	return rc;
}

static void main_peer(xpc_connection_t peer)
{
	conn_test_serve_peer(peer);
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "trace") == 0)
		return do_trace();
	if (argc >= 2 && strcmp(argv[1], "main") == 0)
		xpc_main_f(main_peer);
	if (argc >= 3 && strcmp(argv[1], "serve") == 0)
		return do_serve(argv + 2);
	if (argc >= 4 && strcmp(argv[1], "relay") == 0)
		return do_relay(argv + 2);
	if (argc >= 4 && strcmp(argv[1], "client") == 0)
		return do_client(argv + 2);
	fprintf(stderr, "usage: conn-helper serve|relay|client ...\n");
	return 2;
}
