/* SPDX-License-Identifier: MIT */
/*
 * inetd.c - inetdCompatibility without Wait, as inetd and launchd run
 * it: every accepted connection gets an instance of the job of its own,
 * with the connection as standard input and output.
 *
 * Before, one instance ran at a time and the next connection waited in
 * the backlog until it exited (and ThrottleInterval after that): a client
 * that connected and said nothing held the service for every other user
 * for ever (docs/security.md, "inetdCompatibility").  Now instances run
 * side by side, bounded: at most INETD_MAX_INSTANCES at once per job
 * (beyond that the sockets are not watched, further connections wait in
 * the kernel's backlog until an instance exits), and at most
 * INETD_MAX_PER_SOURCE per source - the client's uid (SO_PEERCRED) on a
 * Unix socket, its address on an IP one - so one user holding silent
 * connections takes at most its share; a connection beyond it is closed
 * at once (counted, logged once per burst).  Each instance costs xpcd one
 * descriptor (its report pipe; two with captured output) until it exits.
 *
 * Instances are not the job's process (job->pid stays 0: the job is
 * "waiting" for connections), are not throttled or kept alive, and are not
 * recorded in the state file: a broker restart leaves them to finish
 * their connection.  Unload sends each SIGTERM.  The spawning and the
 * report of each are launch.c's (launch_instance, launch_instance_exited);
 * watching the sockets again is the caller's (triggers.c, supervise.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "broker/inetd.h"
#include "broker/launch.h"
#include "broker/log.h"
#include "broker/registry.h"

typedef struct InetdKid {
	pid_t pid;
	int report_fd; /* the instance's report pipe (launch.c), -1 none */
	uint64_t source;
} InetdKid;

struct InetdSet {
	InetdKid kids[INETD_MAX_INSTANCES];
	size_t n;
	bool paused;       /* at INETD_MAX_INSTANCES: sockets not watched */
	unsigned refused;  /* connections closed over a source's share, not yet logged */
};

size_t inetd_count(const Job *job)
{
	return job->inetd_set ? job->inetd_set->n : 0;
}

/* Who is on the other end of @fd: a uid (Unix) or an address (IP). */
static uint64_t inetd_source(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	uint64_t h = 1469598103934665603ull;

	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	if (ss.ss_family == AF_UNIX)
		return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0 ? (1ull << 63) | cred.uid : 0;
	if (ss.ss_family == AF_INET)
		return (2ull << 60) | ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr);
	if (ss.ss_family == AF_INET6) {
		const uint8_t *a = ((struct sockaddr_in6 *)&ss)->sin6_addr.s6_addr;
		for (int i = 0; i < 16; i++)
			h = (h ^ a[i]) * 1099511628211ull;
		return (3ull << 60) | (h >> 4);
	}
	return 0;
}

static size_t inetd_of_source(const struct InetdSet *set, uint64_t source)
{
	size_t n = 0;

	for (size_t i = 0; i < set->n; i++)
		n += set->kids[i].source == source;
	return n;
}

/* The next connection on the ready socket, or -1 (none waiting). */
static int inetd_accept_one(Job *job)
{
	int lfd = job->sockets.ready_fd, fl, fd;

	if (lfd < 0)
		return -1;
	fl = fcntl(lfd, F_GETFL);
	fcntl(lfd, F_SETFL, fl | O_NONBLOCK); /* a client gone since poll: no wait */
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	fcntl(lfd, F_SETFL, fl);
	if (fd < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED)
		log_line(LOG_INFO, "%s: accept on its socket: %s", job->label, strerror(errno));
	return fd;
}

/* One connection to an instance of its own (the connection is consumed). */
static void inetd_start(Job *job, struct InetdSet *set, int fd, uint64_t source)
{
	InetdKid *k = &set->kids[set->n];

	if (launch_instance(job, fd, &k->pid, &k->report_fd) < 0)
		return;
	k->source = source;
	set->n++;
}

bool inetd_accept(Job *job)
{
	struct InetdSet *set = job->inetd_set;
	int fd;

	if (!set && !(set = job->inetd_set = calloc(1, sizeof(*set)))) {
		log_line(LOG_ERR, "%s: inetdCompatibility: out of memory", job->label);
		return true;
	}
	/* a burst at most as large as the room left, then back to the queue */
	while (set->n < INETD_MAX_INSTANCES && (fd = inetd_accept_one(job)) >= 0) {
		uint64_t source = inetd_source(fd);
		if (inetd_of_source(set, source) >= INETD_MAX_PER_SOURCE) {
			close(fd);
			set->refused++;
			continue;
		}
		inetd_start(job, set, fd, source);
	}
	if (set->refused) {
		log_line(LOG_NOTICE, "%s: %u connection%s closed: limit exceeded: %d instances per client", job->label,
			 set->refused, set->refused == 1 ? "" : "s", INETD_MAX_PER_SOURCE);
		set->refused = 0;
	}
	set->paused = set->n >= INETD_MAX_INSTANCES;
	return !set->paused;
}

Job *inetd_reaped(Broker *b, pid_t pid, int status, bool *ret_resume)
{
	for (Job *j = registry_first(&b->registry); j; j = j->next) {
		struct InetdSet *set = j->inetd_set;
		for (size_t i = 0; set && i < set->n; i++) {
			if (set->kids[i].pid != pid)
				continue;
			launch_instance_exited(j, pid, set->kids[i].report_fd, status);
			set->kids[i] = set->kids[--set->n];
			*ret_resume = set->paused && !j->unloading && !j->disabled;
			set->paused = false;
			return j;
		}
	}
	return NULL;
}

void inetd_stop(Job *job)
{
	struct InetdSet *set = job->inetd_set;

	for (size_t i = 0; set && i < set->n; i++) {
		if (kill(-set->kids[i].pid, SIGTERM) < 0)
			kill(set->kids[i].pid, SIGTERM);
		if (set->kids[i].report_fd >= 0)
			close(set->kids[i].report_fd);
	}
	free(set);
	job->inetd_set = NULL;
}
