/* SPDX-License-Identifier: MIT */
/*
 * sec-privileged - a stand-in for a set-uid root program that uses libxpc
 * (test-sec-env makes a set-uid root copy and runs it as nobody).
 *
 *   sec-privileged secret FILE  reads FILE (root's only), sends its text in
 *                               a message to a listener of its own and
 *                               waits for the reply; prints
 *                               "done euid=N" and never the text
 *
 * What it exchanges with a service is its own business: the user who
 * starts it must not read it (XPC_TRACE, XPC_CAPTURE).
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <xpc/xpc.h>

static int do_secret(const char *file)
{
	char text[256] = "";
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, text, sizeof(text) - 1) : -1;
	xpc_connection_t l = xpc_connection_create(NULL, NULL), c;
	xpc_object_t m, r;

	if (fd >= 0)
		close(fd);
	if (n <= 0) {
		printf("failed: cannot read %s\n", file);
		return 1;
	}
	text[n] = '\0';
	xpc_connection_set_event_handler(l, ^(xpc_object_t peer) {
	  if (xpc_get_type(peer) != XPC_TYPE_CONNECTION)
		  return;
	  xpc_connection_set_event_handler(peer, ^(xpc_object_t msg) {
	    xpc_object_t reply = xpc_get_type(msg) == XPC_TYPE_DICTIONARY ? xpc_dictionary_create_reply(msg) : NULL;
	    if (!reply)
		    return;
	    xpc_dictionary_set_string(reply, "echo", xpc_dictionary_get_string(msg, "secret"));
	    xpc_connection_send_message(peer, reply);
	    xpc_release(reply);
	  });
	  xpc_connection_resume(peer);
	});
	xpc_connection_resume(l);
	xpc_endpoint_t ep = xpc_endpoint_create(l);
	c = xpc_connection_create_from_endpoint(ep);
	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) {
	  (void)ev;
	});
	xpc_connection_resume(c);
	m = xpc_dictionary_create(NULL, NULL, 0);
	xpc_dictionary_set_string(m, "secret", text);
	r = xpc_connection_send_message_with_reply_sync(c, m);
	printf("%s euid=%u\n", xpc_get_type(r) == XPC_TYPE_DICTIONARY ? "done" : "failed", (unsigned)geteuid());
	xpc_release(r);
	xpc_release(m);
	xpc_connection_cancel(c);
	xpc_release(c);
	xpc_release(ep);
	xpc_connection_cancel(l);
	xpc_release(l);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && !strcmp(argv[1], "secret"))
		return do_secret(argv[2]);
	fprintf(stderr, "usage: sec-privileged secret FILE\n");
	return 2;
}
