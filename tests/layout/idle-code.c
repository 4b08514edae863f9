/* SPDX-License-Identifier: MIT */
/*
 * idle-code.c - the two processes of tests/layout/idle-code.py: an echo
 * service started by xpcd, and an idle named client that says how much of
 * libxpc.so's code it has resident (docs/performance.md, "The idle client
 * (goal 3)": src/libxpc-hot.ld gathers what a named client runs into one
 * 64 KiB block, and the kernel maps a cached file 64 KiB around each page
 * that faults).  Linked to libxpc.so as users are.
 *
 *   idle-code service NAME   listens on NAME (a job of xpcd), answers
 *                            { "n" } with { "n": n + 1 }
 *   idle-code client NAME    one named connection, one reply, then prints
 *                            "code KIB" (the Rss of libxpc.so's executable
 *                            mapping, /proc/self/smaps), with
 *                            tests/layout/idle-libc.c preloaded "libc C T
 *                            C1 T1" (its counts of clock_gettime and
 *                            pthread_mutex_trylock calls so far, then
 *                            after one call of each by this program), and
 *                            waits for stdin to close
 */
#include <dispatch/dispatch.h>
#include <dlfcn.h>
#include <xpc/xpc.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void serve(const char *name)
{
	xpc_connection_t l = xpc_connection_create_mach_service(name, NULL, XPC_CONNECTION_MACH_SERVICE_LISTENER);

	xpc_connection_set_event_handler(l, ^(xpc_object_t peer) {
		if (xpc_get_type(peer) != XPC_TYPE_CONNECTION)
			return;
		xpc_connection_set_event_handler(peer, ^(xpc_object_t m) {
			if (xpc_get_type(m) != XPC_TYPE_DICTIONARY)
				return;
			xpc_object_t r = xpc_dictionary_create_reply(m);
			xpc_dictionary_set_int64(r, "n", xpc_dictionary_get_int64(m, "n") + 1);
			xpc_connection_send_message(peer, r);
			xpc_release(r);
		});
		xpc_connection_resume(peer);
	});
	xpc_connection_resume(l);
	dispatch_main();
}

/* The Rss (KiB) of this process's executable mapping of libxpc.so, or -1. */
static long code_kib(void)
{
	char line[512], perms[8];
	long kib = -1, v;
	bool in = false;
	FILE *f = fopen("/proc/self/smaps", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*lx-%*lx %7s", perms) == 1) /* a mapping's first line */
			in = !strcmp(perms, "r-xp") && strstr(line, "/libxpc.so");
		else if (in && sscanf(line, "Rss: %ld kB", &v) == 1)
			kib = kib < 0 ? v : kib + v;
	}
	fclose(f);
	return kib;
}

/* With idle-libc.c preloaded: its counts, then the same after one call of
 * each counted function here (which shows that it counts them at all). */
static void print_libc_calls(void)
{
	long *clk = dlsym(RTLD_DEFAULT, "idle_libc_clock_calls");
	long *try = dlsym(RTLD_DEFAULT, "idle_libc_trylock_calls");
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	struct timespec ts;
	long clk0, try0;

	if (!clk || !try) {
		printf("libc not-preloaded\n");
		return;
	}
	clk0 = __atomic_load_n(clk, __ATOMIC_RELAXED);
	try0 = __atomic_load_n(try, __ATOMIC_RELAXED);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (pthread_mutex_trylock(&m) == 0)
		pthread_mutex_unlock(&m);
	printf("libc %ld %ld %ld %ld\n", clk0, try0, __atomic_load_n(clk, __ATOMIC_RELAXED),
	       __atomic_load_n(try, __ATOMIC_RELAXED));
}

static int client(const char *name)
{
	xpc_connection_t c = xpc_connection_create_mach_service(name, NULL, 0);
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0), r;
	char buf[16];

	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) {
		(void)ev;
	});
	xpc_connection_resume(c);
	xpc_dictionary_set_int64(m, "n", 41);
	r = xpc_connection_send_message_with_reply_sync(c, m);
	if (xpc_get_type(r) != XPC_TYPE_DICTIONARY || xpc_dictionary_get_int64(r, "n") != 42) {
		fprintf(stderr, "idle-code: no reply from %s\n", name);
		return 1;
	}
	usleep(200000); /* what the library's threads do after the reply, too */
	printf("code %ld\n", code_kib());
	print_libc_calls();
	fflush(stdout);
	while (read(0, buf, sizeof(buf)) > 0)
		;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "service"))
		serve(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "client"))
		return client(argv[2]);
	fprintf(stderr, "usage: idle-code service|client NAME\n");
	return 2;
}
