/* SPDX-License-Identifier: MIT */
/*
 * sec-service - the jobs of the security tests.
 *
 *   sec-service serve NAME [hold]
 *       a service on NAME (XPC_CONNECTION_MACH_SERVICE_LISTENER) that
 *       answers every request with what it knows of the asker: "euid",
 *       "pid" (xpc_connection_get_euid/pid), its own "server_pid", its open
 *       descriptors ("fds") and resident memory ("rss_kb"), and "secret"
 *       only when the asker's euid is 0 (as a service that authorizes root
 *       by xpc_connection_get_euid would).  With "hold" it keeps every
 *       message it receives (a service that holds data it was sent).  A
 *       message with a shared memory "shm" is mapped ("mapped"), and
 *       { "op": "read" } then sums its bytes ("sum").
 *   sec-service forge OWN TARGET
 *       the identity forger (run as an ordinary user, OWN its own name):
 *       looks up OWN to get the W of its own channel (a socket xpcd made),
 *       checks in to TARGET carrying it, and if TARGET says hello on the
 *       R it holds, asks TARGET who it is, through R.  Prints one line:
 *       "forged euid=N secret=S" or "refused".
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xpc/xpc.h>

#include "connection/connection.h"
#include "object/object.h"
#include "transport/unix/unix.h"
#include "wire/wire.h"

int sec_raw_endpoint(const char *sock, const char *name);

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

/* Waits up to @ms for a frame on @fd. */
static int recv_frame(int fd, TransportFrame *f, int ms)
{
	struct pollfd pfd = {fd, POLLIN, 0};

	if (poll(&pfd, 1, ms) != 1)
		return -ETIMEDOUT;
	return transport_recv(fd, f);
}

static int forge(const char *own, const char *target)
{
	const char *sock = getenv("XPCD_SOCKET");
	int r_own = 3; /* XPCD_LISTEN_FDS: this job's R */
	int w_own = -1, w_t = -1;
	FrameHeader h = {.kind = FRAME_CHECKIN, .id = 1};
	static TransportFrame f;

	/* started at load: the test opens the broker socket to others a moment later */
	for (int i = 0; i < 100 && (w_own < 0 || w_t < 0); i++) {
		if (w_own < 0)
			w_own = sec_raw_endpoint(sock, own);
		if (w_t < 0)
			w_t = sec_raw_endpoint(sock, target);
		if (w_own < 0 || w_t < 0)
			usleep(50000);
	}

	if (w_own < 0 || w_t < 0) {
		printf("setup failed\n");
		return 1;
	}
	/* the check-in as an old sender makes it: the kernel fills in the
	 * credentials; the socket carried is xpcd's */
	if (transport_send(w_t, &h, NULL, 0, &w_own, 1) < 0) {
		printf("setup failed: send\n");
		return 1;
	}
	if (recv_frame(r_own, &f, 3000) != 0 || f.hdr.kind != FRAME_HELLO) {
		printf("refused\n");
		return 0;
	}
	frame_clear(&f);
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0);
	WireBuffer body = {0};
	WireFds fds = {0};
	xpc_dictionary_set_string(m, "op", "whoami");
	if (wire_encode_message(m, &body, &fds) != 0)
		return 1;
	FrameHeader mh = {.kind = FRAME_MESSAGE, .flags = FRAME_F_WANTS_REPLY, .id = 1};
	transport_send(r_own, &mh, body.data, body.len, NULL, 0);
	for (int i = 0; i < 10; i++) {
		xpc_object_t reply = NULL;
		if (recv_frame(r_own, &f, 3000) != 0)
			break;
		if (f.hdr.kind == FRAME_REPLY &&
		    wire_decode_message(f.body, f.hdr.body_len, f.fds, f.n_fds, &reply) == 0) {
			const char *secret = xpc_dictionary_get_string(reply, "secret");
			printf("forged euid=%lld secret=%s\n",
			       (long long)xpc_dictionary_get_int64(reply, "euid"),
			       secret ? secret : "none");
			return 0;
		}
		frame_clear(&f);
	}
	printf("hello but no answer\n");
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
