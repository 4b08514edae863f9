/* SPDX-License-Identifier: MIT */
/*
 * test-io-xpc.c - dispatch I/O on a descriptor received through XPC: a
 * client sends the read end of a pipe to an anonymous listener; the peer
 * handler takes it with xpc_dictionary_dup_fd, reads it to the end with a
 * dispatch I/O channel and replies with what it read; the channel's
 * cleanup handler closes the descriptor.
 */
#include "harness.h"

#include <dispatch/dispatch.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xpc/xpc.h>

static void serve(xpc_connection_t peer, dispatch_queue_t q)
{
	xpc_connection_set_event_handler(peer, ^(xpc_object_t m) {
		if (xpc_get_type(m) != XPC_TYPE_DICTIONARY)
			return;
		int fd = xpc_dictionary_dup_fd(m, "fd");
		xpc_object_t reply = xpc_dictionary_create_reply(m);
		/* heap, not __block: the storage of a __block variable is freed
		 * by whichever thread drops the last block, unseen by TSan */
		dispatch_data_t *all = malloc(sizeof(*all));
		REQUIRE(all != NULL);
		*all = dispatch_data_empty;
		dispatch_io_t ch = dispatch_io_create(DISPATCH_IO_STREAM, fd, q, ^(int error) {
			close(fd);
		});
		dispatch_io_read(ch, 0, SIZE_MAX, q, ^(bool done, dispatch_data_t data, int error) {
			dispatch_data_t more = dispatch_data_create_concat(*all, data);
			dispatch_release(*all);
			*all = more;
			if (!done)
				return;
			const void *p;
			size_t n;
			dispatch_data_t map = dispatch_data_create_map(*all, &p, &n);
			xpc_dictionary_set_data(reply, "read", p, n);
			xpc_dictionary_set_int64(reply, "error", error);
			xpc_connection_send_message(peer, reply);
			xpc_release(reply);
			dispatch_release(map);
			dispatch_release(*all);
			free(all);
		});
		dispatch_io_close(ch, 0);
		dispatch_release(ch);
	});
	xpc_connection_resume(peer);
}

int main(void)
{
	dispatch_queue_t q;
	int p[2];

	harness_warm_dispatch();
	harness_begin(60);
	int base = harness_count_fds();
	q = dispatch_queue_create("t.io-xpc", NULL);
	xpc_connection_t l = xpc_connection_create(NULL, q);
	xpc_connection_set_event_handler(l, ^(xpc_object_t ev) {
		if (xpc_get_type(ev) == XPC_TYPE_CONNECTION)
			serve((xpc_connection_t)ev, q);
	});
	xpc_connection_resume(l);
	xpc_endpoint_t ep = xpc_endpoint_create(l);
	xpc_connection_t c = xpc_connection_create_from_endpoint(ep);
	xpc_release(ep);
	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) {
	});
	xpc_connection_resume(c);

	REQUIRE(pipe2(p, O_CLOEXEC) == 0);
	xpc_object_t msg = xpc_dictionary_create(NULL, NULL, 0);
	xpc_dictionary_set_fd(msg, "fd", p[0]);
	close(p[0]);
	CHECK_EQ_INT(write(p[1], "through xpc", 11), 11);
	close(p[1]);
	xpc_object_t reply = xpc_connection_send_message_with_reply_sync(c, msg);
	xpc_release(msg);
	REQUIRE(xpc_get_type(reply) == XPC_TYPE_DICTIONARY);
	size_t n = 0;
	const void *got = xpc_dictionary_get_data(reply, "read", &n);
	CHECK(got && n == 11 && memcmp(got, "through xpc", 11) == 0);
	CHECK_EQ_INT(xpc_dictionary_get_int64(reply, "error"), 0);
	xpc_release(reply);
	xpc_connection_cancel(c);
	xpc_release(c);
	xpc_connection_cancel(l);
	xpc_release(l);
	dispatch_barrier_sync(q, ^{
	});
	for (int i = 0; i < 1000 && harness_count_fds() > base; i++)
		usleep(10000); /* connection teardown is asynchronous */
	dispatch_release(q);
	return harness_end();
}
