/* SPDX-License-Identifier: MIT */
/*
 * stress-service - the named service of the stress tests, run by xpcd as a
 * job (xpc_main on the name given by XPCD_LISTEN_*).
 *
 * Ops (string "op"):
 *   echo     reply { n, payload } (both copied from the request)
 *   seq      one-way; checks that "n" counts up from 0 on this peer
 *   getseq   reply { count, inorder } for this peer
 *   slow     sleeps "us" microseconds in the handler (a slow service)
 *   bulk     reply { n, payload: "size" bytes } (small request, big reply)
 *   stat     reply { pid, fds, peers, rss_kb }: its own descriptors (not
 *            counting the kept peers' pidfds, see creds), live peers and
 *            resident set, for leak and memory checks
 *   faults   reply { alloc, socket, ...: calls of each fault point so far
 *            (src/shared/fault.h; 0 without -Dfault_injection), injected }
 *   creds    reply { peers: [ { pid, euid, egid, pidfd_pid, exited } ] } for
 *            the last 32 peers, kept after they are gone: what
 *            xpc_connection_get_pid/euid/egid say, the pid the peer's pidfd
 *            refers to (its fdinfo; -1 once that process is gone) and
 *            whether it has exited (the pidfd polls readable)
 * With --slow-accept US the listener's handler takes US microseconds per
 * new peer (a service that does not accept fast).
 * With --no-keep it keeps no peers ("creds" answers an empty list): each
 * kept peer holds a pidfd, which counts under a low RLIMIT_NOFILE.
 * A peer cut for a limit is logged on stderr as "cut: <reason>", other
 * ends than "peer exited" as "peer gone: <reason>".
 */
#include <dirent.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xpc/xpc.h>

#include "shared/fault.h"

typedef struct Peer {
	uint64_t expect;
	bool inorder;
} Peer;

static atomic_int n_peers;
#define N_KEPT 32
static xpc_connection_t kept[N_KEPT]; /* the last peers, for "creds" */
static unsigned n_kept;
static pthread_mutex_t kept_lock = PTHREAD_MUTEX_INITIALIZER;

static bool keep_peers = true; /* false with --no-keep (test-nofile) */
static useconds_t accept_delay;  /* --slow-accept US (test-quota backlog) */

static void keep_peer(xpc_connection_t peer)
{
	if (!keep_peers)
		return;
	pthread_mutex_lock(&kept_lock);
	if (kept[n_kept % N_KEPT])
		xpc_release(kept[n_kept % N_KEPT]);
	kept[n_kept++ % N_KEPT] = xpc_retain(peer);
	pthread_mutex_unlock(&kept_lock);
}

static long pidfd_pid(int pidfd)
{
	char path[64], line[128];
	long pid = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Pid: %ld", &pid) == 1)
			break;
	if (f)
		fclose(f);
	return pid;
}

/* Descriptors held only because "creds" keeps the last peers: their
 * pidfds (not counted as the service's own in "stat"). */
static int kept_pidfds(void)
{
	int n = 0;

	pthread_mutex_lock(&kept_lock);
	for (unsigned i = 0; i < N_KEPT; i++)
		n += kept[i] && xpc_linux_connection_get_pidfd(kept[i]) >= 0;
	pthread_mutex_unlock(&kept_lock);
	return n;
}

static xpc_object_t describe_peer(xpc_connection_t p)
{
	xpc_object_t d = xpc_dictionary_create(NULL, NULL, 0);
	int pidfd = xpc_linux_connection_get_pidfd(p);
	struct pollfd pfd = {.fd = pidfd, .events = POLLIN};

	xpc_dictionary_set_int64(d, "pid", xpc_connection_get_pid(p));
	xpc_dictionary_set_int64(d, "euid", xpc_connection_get_euid(p));
	xpc_dictionary_set_int64(d, "egid", xpc_connection_get_egid(p));
	xpc_dictionary_set_int64(d, "pidfd_pid", pidfd >= 0 ? pidfd_pid(pidfd) : 0);
	xpc_dictionary_set_bool(d, "exited", pidfd >= 0 && poll(&pfd, 1, 0) == 1);
	return d;
}

static void describe_peers(xpc_object_t reply)
{
	xpc_object_t arr = xpc_array_create(NULL, 0);

	pthread_mutex_lock(&kept_lock);
	for (unsigned i = 0; i < N_KEPT; i++)
		if (kept[i]) {
			xpc_object_t d = describe_peer(kept[i]);
			xpc_array_append_value(arr, d);
			xpc_release(d);
		}
	pthread_mutex_unlock(&kept_lock);
	xpc_dictionary_set_value(reply, "peers", arr);
	xpc_release(arr);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = -1; /* the directory's own descriptor */

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	long kb = -1;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

static void fill_reply(Peer *st, const char *op, xpc_object_t msg, xpc_object_t reply)
{
	if (!strcmp(op, "echo")) {
		xpc_object_t payload = xpc_dictionary_get_value(msg, "payload");
		xpc_dictionary_set_uint64(reply, "n", xpc_dictionary_get_uint64(msg, "n"));
		if (payload)
			xpc_dictionary_set_value(reply, "payload", payload);
	} else if (!strcmp(op, "bulk")) {
		size_t size = (size_t)xpc_dictionary_get_uint64(msg, "size");
		char *p = size <= (1u << 20) ? malloc(size) : NULL;
		xpc_dictionary_set_uint64(reply, "n", xpc_dictionary_get_uint64(msg, "n"));
		if (p) {
			memset(p, 'b', size);
			xpc_dictionary_set_data(reply, "payload", p, size);
			free(p);
		}
	} else if (!strcmp(op, "getseq")) {
		xpc_dictionary_set_uint64(reply, "count", st->expect);
		xpc_dictionary_set_bool(reply, "inorder", st->inorder);
	} else if (!strcmp(op, "creds")) {
		describe_peers(reply);
	} else if (!strcmp(op, "faults")) {
		for (int p = 0; p < FAULT_N_POINTS; p++)
			xpc_dictionary_set_int64(reply, fault_point_name((FaultPoint)p), fault_calls((FaultPoint)p));
		xpc_dictionary_set_int64(reply, "injected", fault_injected());
	} else if (!strcmp(op, "stat")) {
		xpc_dictionary_set_int64(reply, "pid", getpid());
		xpc_dictionary_set_int64(reply, "fds", count_fds() - kept_pidfds());
		xpc_dictionary_set_int64(reply, "peers", atomic_load(&n_peers));
		xpc_dictionary_set_int64(reply, "rss_kb", rss_kb());
	}
}

static void serve_message(xpc_connection_t peer, Peer *st, xpc_object_t msg)
{
	const char *op = xpc_dictionary_get_string(msg, "op");
	xpc_object_t reply;

	if (!op)
		return;
	if (!strcmp(op, "seq")) {
		if (xpc_dictionary_get_uint64(msg, "n") != st->expect)
			st->inorder = false;
		st->expect++;
	} else if (!strcmp(op, "slow")) {
		usleep((useconds_t)xpc_dictionary_get_uint64(msg, "us"));
	}
	reply = xpc_dictionary_create_reply(msg);
	if (!reply) {
		/* no memory for the reply: the request must still get its
		 * one answer, so the link goes (the client sees it end) */
		if (strcmp(op, "seq") != 0 && strcmp(op, "slow") != 0) /* sent one-way */
			xpc_connection_cancel(peer);
		return;
	}
	fill_reply(st, op, msg, reply);
	xpc_connection_send_message(peer, reply);
	xpc_release(reply);
}

static void peer_gone(xpc_connection_t peer, Peer *st)
{
	char *why = xpc_connection_copy_invalidation_reason(peer);

	if (why && !strncmp(why, "limit exceeded", 14))
		fprintf(stderr, "cut: %s\n", why);
	else if (why && strcmp(why, "peer exited") != 0)
		fprintf(stderr, "peer gone: %s\n", why);
	else if (getenv("STRESS_DEBUG"))
		fprintf(stderr, "gone: %s\n", why ? why : "-");
	free(why);
	free(st);
	atomic_fetch_sub(&n_peers, 1);
	xpc_release(peer);
}

static void new_peer(xpc_connection_t peer)
{
	Peer *st = calloc(1, sizeof(*st));

	if (accept_delay)
		usleep(accept_delay);
	if (!st) {
		xpc_connection_cancel(peer);
		return;
	}
	st->inorder = true;
	atomic_fetch_add(&n_peers, 1);
	keep_peer(peer);
	xpc_retain(peer);
	xpc_connection_set_event_handler(peer, ^(xpc_object_t ev) {
		if (xpc_get_type(ev) == XPC_TYPE_DICTIONARY)
			serve_message(peer, st, ev);
		else if (ev == XPC_ERROR_CONNECTION_INVALID)
			peer_gone(peer, st);
	});
	xpc_connection_resume(peer);
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--no-keep"))
			keep_peers = false;
		else if (!strcmp(argv[i], "--slow-accept") && i + 1 < argc)
			accept_delay = (useconds_t)atoi(argv[++i]);
	}
	setvbuf(stderr, NULL, _IOLBF, 0);
	xpc_main(new_peer);
}
