/* SPDX-License-Identifier: MIT */
/*
 * macos-service.c - the service side of tests/install, written as on macOS:
 * only <xpc/xpc.h> and libc, blocks, GCD, no Linux extension.  xpcd starts
 * it on demand from a launchd plist (test-install.sh writes the jobs).
 *
 *   macos-service            an XPC service: xpc_main(handler) with a plain
 *                            function, as Apple's XPC service template does.
 *                            Requests: "sum" (xpc_array_apply over an
 *                            array), "fd" (reads the passed descriptor),
 *                            "shmem" (upper-cases a shared region in place),
 *                            "keys" (xpc_dictionary_apply), "slow" (answers
 *                            later from another queue inside a transaction,
 *                            through xpc_dictionary_get_remote_connection).
 *   macos-service daemon     a launchd daemon: a MACH_SERVICE_LISTENER on
 *                            com.example.daemon on the main queue that greets
 *                            its peers and exits cleanly on SIGTERM (a signal
 *                            dispatch source after signal(SIGTERM, SIG_IGN)).
 */
#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xpc/xpc.h>

static void reply_sum(xpc_object_t request, xpc_object_t reply)
{
	__block int64_t sum = 0;
	xpc_object_t values = xpc_dictionary_get_value(request, "values");

	if (values && xpc_get_type(values) == XPC_TYPE_ARRAY)
		xpc_array_apply(values, ^bool(size_t index, xpc_object_t value) {
			(void)index;
			sum += xpc_int64_get_value(value);
			return true;
		});
	xpc_dictionary_set_int64(reply, "sum", sum);
}

static void reply_fd(xpc_object_t request, xpc_object_t reply)
{
	char buf[128] = "";
	int fd = xpc_dictionary_dup_fd(request, "fd");

	if (fd >= 0) {
		ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		close(fd);
	}
	xpc_dictionary_set_string(reply, "text", buf);
}

static void reply_shmem(xpc_object_t request, xpc_object_t reply)
{
	void *region = NULL;
	xpc_object_t shmem = xpc_dictionary_get_value(request, "shmem");
	size_t size = shmem ? xpc_shmem_map(shmem, &region) : 0;

	for (char *p = region; size && *p && p < (char *)region + size; p++)
		*p = (char)toupper((unsigned char)*p);
	if (size)
		munmap(region, size);
	xpc_dictionary_set_uint64(reply, "mapped", size);
}

static void reply_keys(xpc_object_t request, xpc_object_t reply)
{
	__block size_t count = 0;

	xpc_dictionary_apply(request, ^bool(const char *key, xpc_object_t value) {
		(void)value;
		count += strcmp(key, "op") != 0;
		return true;
	});
	xpc_dictionary_set_uint64(reply, "keys", count);
}

/* Answer later from a global queue: the transaction keeps the service busy. */
static void reply_later(xpc_object_t reply)
{
	xpc_transaction_begin();
	xpc_retain(reply);
	dispatch_after(dispatch_time(DISPATCH_TIME_NOW, 50 * NSEC_PER_MSEC),
		       dispatch_get_global_queue(QOS_CLASS_UTILITY, 0), ^{
			       xpc_dictionary_set_string(reply, "late", "yes");
			       xpc_connection_send_message(xpc_dictionary_get_remote_connection(reply), reply);
			       xpc_release(reply);
			       xpc_transaction_end();
		       });
}

static void handle_request(xpc_object_t request)
{
	const char *op = xpc_dictionary_get_string(request, "op");
	xpc_object_t reply = xpc_dictionary_create_reply(request);

	if (!reply || !op)
		return;
	xpc_dictionary_set_int64(reply, "pid", getpid());
	if (strcmp(op, "sum") == 0)
		reply_sum(request, reply);
	else if (strcmp(op, "fd") == 0)
		reply_fd(request, reply);
	else if (strcmp(op, "shmem") == 0)
		reply_shmem(request, reply);
	else if (strcmp(op, "keys") == 0)
		reply_keys(request, reply);
	else if (strcmp(op, "slow") == 0) {
		reply_later(reply);
		xpc_release(reply);
		return;
	}
	xpc_connection_send_message(xpc_dictionary_get_remote_connection(request), reply);
	xpc_release(reply);
}

static void service_peer(xpc_connection_t peer)
{
	xpc_connection_set_event_handler(peer, ^(xpc_object_t event) {
		if (xpc_get_type(event) == XPC_TYPE_DICTIONARY)
			handle_request(event);
	});
	xpc_connection_resume(peer);
}

static void daemon_main(void)
{
	xpc_connection_t listener = xpc_connection_create_mach_service(
		"com.example.daemon", dispatch_get_main_queue(), XPC_CONNECTION_MACH_SERVICE_LISTENER);
	dispatch_source_t term;

	xpc_connection_set_event_handler(listener, ^(xpc_object_t peer) {
		if (xpc_get_type(peer) != XPC_TYPE_CONNECTION)
			return;
		xpc_connection_set_event_handler(peer, ^(xpc_object_t event) {
			if (xpc_get_type(event) != XPC_TYPE_DICTIONARY)
				return;
			xpc_object_t reply = xpc_dictionary_create_reply(event);
			xpc_connection_t remote = xpc_dictionary_get_remote_connection(event);
			xpc_object_t greeting = xpc_string_create_with_format(
				"hello %s, pid %d", xpc_dictionary_get_string(event, "name"),
				(int)xpc_connection_get_pid(remote));
			xpc_dictionary_set_value(reply, "greeting", greeting);
			xpc_dictionary_set_int64(reply, "euid", (int64_t)xpc_connection_get_euid(remote));
			xpc_connection_send_message(remote, reply);
			xpc_release(greeting);
			xpc_release(reply);
		});
		xpc_connection_resume(peer);
	});
	xpc_connection_resume(listener);

	signal(SIGTERM, SIG_IGN);
	term = dispatch_source_create(DISPATCH_SOURCE_TYPE_SIGNAL, SIGTERM, 0, dispatch_get_main_queue());
	dispatch_source_set_event_handler(term, ^{
		printf("daemon: SIGTERM, exiting\n");
		fflush(stdout);
		xpc_connection_cancel(listener);
		exit(0);
	});
	dispatch_resume(term);
	printf("daemon: listening\n");
	fflush(stdout);
	dispatch_main();
}

int main(int argc, const char *argv[])
{
	if (argc > 1 && strcmp(argv[1], "daemon") == 0)
		daemon_main();
	xpc_main(service_peer);
	return 0;
}
