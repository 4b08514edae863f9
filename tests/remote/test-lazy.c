/* SPDX-License-Identifier: MIT */
/*
 * test-lazy.c - RemoteXPC's libraries are loaded only when used
 * (src/transport/remote/module.h, docs/remote.md "The module"), and so are
 * libplist (src/bundle/plist-lazy.c) and jansson (src/wire/json.c); libuuid
 * is not needed at all (src/shared/uuidtext.c).  Linked to libxpc.so as an
 * ordinary client is, never to the layers.
 *
 *   test-lazy maps      a local round trip (an anonymous listener and a
 *                       connection to its endpoint) leaves libssl,
 *                       libcrypto, libnghttp2 and the module unmapped, and
 *                       libplist and libm (bundled services only),
 *                       jansson and libuuid (/proc/self/maps); the first
 *                       JSON call then loads jansson and converts both
 *                       ways, and the first remote call loads the build
 *                       tree's module beside libxpc.so and works
 *                       (ECONNREFUSED from a closed port)
 *   test-lazy missing   run with XPC_LINUX_REMOTE_MODULE naming a file
 *                       that does not exist: every remote call fails
 *                       with ELIBACC, and the error text names the path
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <dispatch/dispatch.h>
#include <xpc/remote.h>
#include <xpc/xpc.h>

#include "harness.h"

/* RemoteXPC's (the module) and the bundle layer's (libplist, and the libm
 * it needs: src/bundle/plist-lazy.c).  The sanitizers' runtimes need libm
 * themselves. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define LAZY_SANITIZED 1
#endif
#endif
static const char *const heavy[] = {"libssl.so", "libcrypto.so", "libnghttp2.so", "libxpc-remote.so",
				    "libplist", "libjansson", "libuuid",
#ifndef LAZY_SANITIZED
				    "libm.so",
#endif
};

/* Whether a mapping of this process's file names @lib. */
static bool mapped(const char *lib)
{
	char line[1024];
	bool found = false;
	FILE *f = fopen("/proc/self/maps", "re");

	REQUIRE(f != NULL);
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, lib) != NULL;
	fclose(f);
	return found;
}

/* One request and its reply over an anonymous listener in this process. */
static void local_round_trip(void)
{
	int fds = harness_count_fds();
	dispatch_queue_t q = dispatch_queue_create("test-lazy", NULL);
	xpc_connection_t l = xpc_connection_create(NULL, q), c;
	xpc_endpoint_t ep;
	xpc_object_t m, r;

	xpc_connection_set_event_handler(l, ^(xpc_object_t peer) {
		if (xpc_get_type(peer) != XPC_TYPE_CONNECTION)
			return;
		xpc_connection_set_event_handler(peer, ^(xpc_object_t msg) {
			if (xpc_get_type(msg) != XPC_TYPE_DICTIONARY)
				return;
			xpc_object_t reply = xpc_dictionary_create_reply(msg);
			xpc_dictionary_set_int64(reply, "n", xpc_dictionary_get_int64(msg, "n") + 1);
			xpc_connection_send_message(xpc_dictionary_get_remote_connection(msg), reply);
			xpc_release(reply);
		});
		xpc_connection_resume(peer);
	});
	xpc_connection_resume(l);
	ep = xpc_endpoint_create(l);
	c = xpc_connection_create_from_endpoint(ep);
	xpc_release(ep);
	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) {
	});
	xpc_connection_resume(c);
	m = xpc_dictionary_create(NULL, NULL, 0);
	xpc_dictionary_set_int64(m, "n", 41);
	r = xpc_connection_send_message_with_reply_sync(c, m);
	REQUIRE(xpc_get_type(r) == XPC_TYPE_DICTIONARY);
	CHECK_EQ_INT(xpc_dictionary_get_int64(r, "n"), 42);
	xpc_release(r);
	xpc_release(m);
	xpc_connection_cancel(c);
	xpc_release(c);
	xpc_connection_cancel(l);
	xpc_release(l);
	dispatch_release(q);
	/* the links close asynchronously after the cancels */
	for (int i = 0; i < 1000 && harness_count_fds() > fds; i++)
		usleep(10000);
}

/* The first JSON call opens jansson; a uuid goes both ways without libuuid. */
static void test_json_on_use(void)
{
	static const uint8_t id[16] = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
				       0x0f, 0xed, 0xcb, 0xa9, 0x87, 0x65, 0x43, 0x21};
	xpc_object_t d = xpc_dictionary_create(NULL, NULL, 0), back;
	char *text, *err = NULL;

	xpc_dictionary_set_uuid(d, "u", id);
	text = xpc_linux_copy_json(d, XPC_LINUX_JSON_COMPACT);
	REQUIRE(text != NULL);
	CHECK(mapped("libjansson"));
	CHECK(!strcmp(text, "{\"u\":{\"$uuid\":\"12345678-9abc-def0-0fed-cba987654321\"}}"));
	back = xpc_linux_create_from_json(text, &err);
	REQUIRE(back != NULL);
	CHECK(xpc_equal(back, d));
	CHECK(!mapped("libuuid"));
	xpc_release(back);
	free(text);
	xpc_release(d);
}

static void test_maps(void)
{
	char *err = NULL;

	local_round_trip();
	for (size_t i = 0; i < sizeof(heavy) / sizeof(heavy[0]); i++) {
		if (mapped(heavy[i]))
			fprintf(stderr, "test-lazy: %s is mapped in a local client\n", heavy[i]);
		CHECK(!mapped(heavy[i]));
	}
	test_json_on_use();
	/* the first remote call loads the module: found beside the build's libxpc.so */
	CHECK(xpc_linux_remote_copy_services("127.0.0.1", 1, &err) == NULL && errno == ECONNREFUSED);
	if (err)
		fprintf(stderr, "test-lazy: remote call: %s\n", err);
	free(err);
	CHECK(mapped("libxpc-remote.so"));
	CHECK(mapped("libssl.so"));
	CHECK(mapped("libnghttp2.so"));
}

static void test_missing(const char *path)
{
	char *err = NULL;

	REQUIRE(path && path[0] == '/');
	CHECK(xpc_linux_remote_copy_services("127.0.0.1", 1, &err) == NULL && errno == ELIBACC);
	REQUIRE(err != NULL);
	fprintf(stderr, "test-lazy: %s\n", err);
	CHECK(strstr(err, path) != NULL);
	free(err);
	errno = 0;
	CHECK(xpc_linux_remote_connection_create("127.0.0.1", 1, NULL, NULL) == NULL && errno == ELIBACC);
	errno = 0;
	CHECK(xpc_linux_remote_copy_services_with_options("127.0.0.1", 1, NULL, NULL) == NULL && errno == ELIBACC);
	CHECK(!mapped("libssl.so"));
}

int main(int argc, char **argv)
{
	harness_begin(30);
	harness_warm_dispatch();
	harness_snapshot_fds();
	if (argc == 2 && !strcmp(argv[1], "maps"))
		test_maps();
	else if (argc == 2 && !strcmp(argv[1], "missing"))
		test_missing(getenv("XPC_LINUX_REMOTE_MODULE"));
	else
		REQUIRE(!"usage: test-lazy maps|missing");
	return harness_end();
}
