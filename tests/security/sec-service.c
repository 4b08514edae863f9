/* SPDX-License-Identifier: MIT */
/*
 * sec-service - the jobs of the security tests.
 *
 *   sec-service serve NAME [hold]
 *       a service on NAME (XPC_CONNECTION_MACH_SERVICE_LISTENER) that
 *       answers every request with what it knows of the asker: "euid",
 *       "egid", "pid" (xpc_connection_get_euid/egid/pid), its own
 *       "server_pid", its open descriptors ("fds") and resident memory
 *       ("rss_kb"), and "secret" only when the asker's euid is 0 (as a
 *       service that authorizes root by xpc_connection_get_euid would).  With "hold" it keeps every
 *       message it receives (a service that holds data it was sent).  A
 *       message with a shared memory "shm" is mapped ("mapped"), and
 *       { "op": "read" } then sums its bytes ("sum").
 *   sec-service forge OWN TARGET
 *       the identity forger (run as an ordinary user, OWN its own name):
 *       its lookup of TARGET must get no W ("lookup of TARGET: got its
 *       W" otherwise).  It looks up OWN to get the W of its own channel
 *       (a socket xpcd, root, made) and asks xpcd to check that in to
 *       TARGET (the checkin op); then a link a child of its made.  If
 *       either is forwarded it asks TARGET who it is, on the end it holds
 *       (R, or the link's other end).  Prints one line: "forged euid=N
 *       secret=S" or "refused own-W=(errno N: TEXT) child-link=(...)".
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <xpc/xpc.h>

#include "connection/connection.h"
#include "object/object.h"
#include "shared/xpcd-protocol.h"
#include "transport/unix/unix.h"
#include "wire/wire.h"
#include "sec-common.h"

static long count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	long n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n - 3; /* ., .. and the directory's own descriptor */
}

static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	long kb = -1;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

static xpc_object_t held;
static unsigned char *shm_region; /* the last shared memory a client sent */
static size_t shm_len;

/* { "shm": SHMEM } is mapped (and kept); { "op": "read" } reads what was
 * mapped: a service that works in memory its client shares. */
static void serve_shmem(xpc_object_t msg, xpc_object_t reply)
{
	xpc_object_t shm = xpc_dictionary_get_value(msg, "shm");
	const char *op = xpc_dictionary_get_string(msg, "op");
	void *p = NULL;
	long sum = 0;

	if (shm && xpc_get_type(shm) == XPC_TYPE_SHMEM) {
		size_t len = xpc_shmem_map(shm, &p);
		if (len) {
			shm_region = p;
			shm_len = len;
		}
		xpc_dictionary_set_bool(reply, "mapped", len != 0);
	}
	if (op && !strcmp(op, "read") && shm_region) {
		for (size_t i = 0; i < shm_len; i++)
			sum += shm_region[i];
		xpc_dictionary_set_int64(reply, "sum", sum);
	}
}

static void serve_peer(xpc_connection_t peer, bool hold)
{
	xpc_connection_set_event_handler(peer, ^(xpc_object_t msg) {
	  if (xpc_get_type(msg) != XPC_TYPE_DICTIONARY)
		  return;
	  if (hold)
		  xpc_array_append_value(held, msg);
	  xpc_object_t reply = xpc_dictionary_create_reply(msg);
	  if (!reply)
		  return;
	  uid_t euid = xpc_connection_get_euid(peer);
	  xpc_dictionary_set_int64(reply, "euid", euid);
	  xpc_dictionary_set_int64(reply, "egid", xpc_connection_get_egid(peer));
	  xpc_dictionary_set_int64(reply, "pid", xpc_connection_get_pid(peer));
	  xpc_dictionary_set_int64(reply, "server_pid", getpid());
	  xpc_dictionary_set_int64(reply, "fds", count_fds());
	  xpc_dictionary_set_int64(reply, "rss_kb", rss_kb());
	  if (euid == 0)
		  xpc_dictionary_set_string(reply, "secret", "root-only");
	  serve_shmem(msg, reply);
	  xpc_connection_send_message(peer, reply);
	  xpc_release(reply);
	});
	xpc_connection_resume(peer);
}

static int serve(const char *name, bool hold)
{
	xpc_connection_t l = xpc_connection_create_mach_service(
		name, NULL, XPC_CONNECTION_MACH_SERVICE_LISTENER);

	held = xpc_array_create(NULL, 0);
	xpc_connection_set_event_handler(l, ^(xpc_object_t ev) {
	  if (xpc_get_type(ev) == XPC_TYPE_CONNECTION)
		  serve_peer(ev, hold);
	});
	xpc_connection_resume(l);
	dispatch_main();
}

/* xpcd's checkin op to @target carrying @link (closed here): NULL when
 * it forwarded it, else its refusal ("errno N: TEXT", static). */
static const char *checkin_via_broker(const char *target, int link)
{
	static char why[2][200];
	static int k;
	xpc_object_t r = sec_raw_checkin(getenv("XPCD_SOCKET"), target, link);
	const char *err = r && xpc_get_type(r) == XPC_TYPE_DICTIONARY ? xpc_dictionary_get_string(r, XPCD_KEY_ERROR)
								      : "no reply";
	char *out = NULL;

	if (err) {
		out = why[k++ % 2];
		snprintf(out, sizeof(why[0]), "errno %lld: %s",
			 r ? (long long)xpc_dictionary_get_int64(r, XPCD_KEY_ERRNO) : -1LL, err);
	}
	if (r)
		xpc_release(r);
	close(link);
	return out;
}

/* What @target told the forger on @fd, when a forged check-in got in. */
static void forged(int fd)
{
	xpc_object_t who = sec_link_whoami(fd);
	const char *secret = who ? xpc_dictionary_get_string(who, "secret") : NULL;

	printf("forged euid=%lld secret=%s\n", who ? (long long)xpc_dictionary_get_int64(who, "euid") : -1LL,
	       secret ? secret : "none");
	if (who)
		xpc_release(who);
}

static int forge(const char *own, const char *target)
{
	const char *sock = getenv("XPCD_SOCKET");
	int r_own = 3; /* XPCD_LISTEN_FDS: this job's R */
	int w_own = -1, w_t = -1, kid[2];
	const char *why_own, *why_kid;

	/* started at load: the test opens the broker socket to others a moment later */
	for (int i = 0; i < 100 && w_own < 0; i++)
		if ((w_own = sec_raw_endpoint(sock, own)) < 0) /* its own W: this user's service */
			usleep(50000);
	if (w_own < 0 || !sec_child_link(kid)) {
		printf("setup failed\n");
		return 1;
	}
	if (sec_raw_lookup(sock, target, &w_t) != 0) { /* root's W: this user gets none */
		printf("lookup of %s: %s\n", target, w_t >= 0 ? "got its W" : "refused");
		return 0;
	}
	/* its own W, a socket xpcd (root) made: once a check-in that took
	 * root's ids from the socket; xpcd must see it is not the caller's */
	if (!(why_own = checkin_via_broker(target, w_own))) {
		forged(r_own);
		return 0;
	}
	/* a link its child made: a check-in stating the child's pid */
	if (!(why_kid = checkin_via_broker(target, kid[1]))) {
		forged(kid[0]);
		return 0;
	}
	printf("refused own-W=(%s) child-link=(%s)\n", why_own, why_kid);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 3 && !strcmp(argv[1], "serve"))
		return serve(argv[2], argc > 3 && !strcmp(argv[3], "hold"));
	if (argc >= 4 && !strcmp(argv[1], "forge")) {
		int r = forge(argv[2], argv[3]);
		fflush(stdout);
		pause(); /* a RunAtLoad job that exited would be relaunched */
		return r;
	}
	fprintf(stderr, "usage: sec-service serve NAME [hold] | forge OWN TARGET\n");
	return 2;
}
