/* SPDX-License-Identifier: MIT */
/*
 * dispatch-coexist - libxpc beside another library that exports the same
 * dispatch_* functions (a real libdispatch, here libfake-dispatch.so made
 * by gen-fake-dispatch.py), linked BEFORE libxpc.so so that the dynamic
 * linker would hand it libxpc's own dispatch calls if libxpc let it.
 *
 * The program's own dispatch_queue_create() goes to the fake (one counted
 * call, as a program linked to a real libdispatch would expect), while an
 * XPC round trip over an anonymous listener, which runs on libxpc's queues
 * and epoll manager, still works and never calls the fake: libxpc binds
 * its functions to themselves (-Bsymbolic-functions) and versions them
 * (LIBXPC_DISPATCH_0), docs/packaging.md.  Without that, libxpc's first
 * dispatch call lands in the fake and the round trip fails or hangs.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <xpc/xpc.h>

#include "harness.h"

long fake_dispatch_calls(void);

static void on_message(void *context, xpc_object_t msg)
{
	xpc_connection_t peer = context;
	xpc_object_t reply;

	if (xpc_get_type(msg) != XPC_TYPE_DICTIONARY)
		return;
	reply = xpc_dictionary_create_reply(msg);
	xpc_dictionary_set_string(reply, "echo", xpc_dictionary_get_string(msg, "text"));
	xpc_connection_send_message(peer, reply);
	xpc_release(reply);
}

static void on_peer(void *context, xpc_object_t peer)
{
	(void)context;
	if (xpc_get_type(peer) != XPC_TYPE_CONNECTION)
		return;
	xpc_connection_set_context(peer, peer);
	xpc_connection_set_event_handler_f(peer, on_message);
	xpc_connection_resume(peer);
}

static void ignore(void *context, xpc_object_t event)
{
	(void)context;
	(void)event;
}

/* One request and its reply through a fresh anonymous listener. */
static int round_trip(void)
{
	xpc_connection_t listener = xpc_connection_create(NULL, NULL), client;
	xpc_endpoint_t ep;
	xpc_object_t req, reply;
	const char *echo;
	int ok;

	xpc_connection_set_event_handler_f(listener, on_peer);
	xpc_connection_resume(listener);
	ep = xpc_endpoint_create(listener);
	client = xpc_connection_create_from_endpoint(ep);
	xpc_connection_set_event_handler_f(client, ignore);
	xpc_connection_resume(client);
	req = xpc_dictionary_create(NULL, NULL, 0);
	xpc_dictionary_set_string(req, "text", "beside libdispatch");
	reply = xpc_connection_send_message_with_reply_sync(client, req);
	echo = xpc_get_type(reply) == XPC_TYPE_DICTIONARY ? xpc_dictionary_get_string(reply, "echo")
							  : NULL;
	ok = echo && strcmp(echo, "beside libdispatch") == 0;
	xpc_release(reply);
	xpc_release(req);
	xpc_connection_cancel(client);
	xpc_release(client);
	xpc_release(ep);
	xpc_connection_cancel(listener);
	xpc_release(listener);
	return ok;
}

/* Descriptors libxpc keeps once it has run: its manager's epoll, eventfd,
 * timerfd and signalfd (src/dispatch/manager.c). */
#define XPC_RUNTIME_FDS 4

/* Cancelled links close on libxpc's threads: wait (up to 5 s) until the
 * process is back to @n descriptors. */
static void settle_fds(int n)
{
	for (int i = 0; i < 500 && harness_count_fds() > n; i++)
		usleep(10000);
}

int main(void)
{
	dispatch_queue_t q;
	int base;

	harness_begin(30);
	q = dispatch_queue_create("program's own", NULL);
	CHECK(q == NULL && fake_dispatch_calls() == 1); /* the program's call: the fake */
	base = harness_count_fds();
	CHECK(round_trip());
	/* libxpc's manager and workers keep theirs from here on */
	settle_fds(base + XPC_RUNTIME_FDS);
	harness_snapshot_fds();
	base = harness_count_fds();
	CHECK(round_trip());
	settle_fds(base);
	CHECK(fake_dispatch_calls() == 1); /* none of libxpc's */
	printf("dispatch-coexist: xpc round trips ok, fake libdispatch called %ld time(s)\n",
	       fake_dispatch_calls());
	return harness_end();
}
