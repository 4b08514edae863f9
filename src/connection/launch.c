/* SPDX-License-Identifier: MIT */
/*
 * launch.c - launch_activate_socket(3) from <launch.h>: a job's sockets
 * that xpcd created and passed at launch (src/broker/sockets.c).
 *
 * xpcd puts the descriptors of the job's Sockets after those of its
 * MachServices and describes them, in the manner of systemd's LISTEN_FDS:
 *   XPCD_SOCKETS_PID     the job's pid (a child the job forks is not it)
 *   XPCD_SOCKETS_START   the first descriptor
 *   XPCD_SOCKETS_FDS     how many
 *   XPCD_SOCKETS_FDNAMES one Sockets name per descriptor, ':'-separated
 * Each name can be activated once per process (EALREADY after): the
 * descriptors then belong to the caller.  A process-wide mask under a
 * mutex records which descriptors were handed out; descriptors beyond the
 * 64th are not offered.
 *
 * Also the job's side of EnableTransactions (launch_transactions_add).
 */
#include <errno.h>
#include <fcntl.h>
#include <launch.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "connection/transactions.h"

#define LAUNCH_MAX_FDS 64

static pthread_mutex_t launch_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t launch_activated; /* bit i: descriptor START + i handed out */

static long launch_env_long(const char *name)
{
	const char *s = secure_getenv(name);
	char *end;
	long v;

	if (!s || !*s)
		return -1;
	v = strtol(s, &end, 10);
	return *end || v < 0 ? -1 : v;
}

/* The bit mask of the descriptors named @name; *ret_start the first one.
 * Return: 0, or ESRCH when this process has no sockets from xpcd. */
static int launch_find(const char *name, uint64_t *ret_mask, long *ret_start)
{
	const char *names = secure_getenv("XPCD_SOCKETS_FDNAMES");
	long pid = launch_env_long("XPCD_SOCKETS_PID"), start = launch_env_long("XPCD_SOCKETS_START");
	long n = launch_env_long("XPCD_SOCKETS_FDS");
	size_t len = strlen(name);
	uint64_t mask = 0;

	if (pid != (long)getpid() || start < 3 || n < 0 || !names)
		return ESRCH;
	if (n > LAUNCH_MAX_FDS)
		n = LAUNCH_MAX_FDS;
	for (long i = 0; i < n && *names; i++) {
		const char *end = strchr(names, ':');
		size_t l = end ? (size_t)(end - names) : strlen(names);
		if (l == len && !memcmp(names, name, len))
			mask |= 1ull << i;
		if (!end)
			break;
		names = end + 1;
	}
	*ret_mask = mask;
	*ret_start = start;
	return 0;
}

int launch_activate_socket(const char *name, int **fds, size_t *cnt)
{
	uint64_t mask = 0;
	long start = 0;
	size_t k = 0;
	int *a, r;

	if (!name || !fds || !cnt)
		return EINVAL;
	if ((r = launch_find(name, &mask, &start)) != 0)
		return r;
	if (!mask)
		return ENOENT;
	a = malloc((size_t)__builtin_popcountll(mask) * sizeof(int));
	if (!a)
		return ENOMEM;
	pthread_mutex_lock(&launch_lock);
	if (launch_activated & mask) {
		pthread_mutex_unlock(&launch_lock);
		free(a);
		return EALREADY;
	}
	launch_activated |= mask;
	pthread_mutex_unlock(&launch_lock);
	for (int i = 0; i < LAUNCH_MAX_FDS; i++) {
		if (!(mask & (1ull << i)))
			continue;
		a[k] = (int)start + i;
		(void)fcntl(a[k], F_SETFD, FD_CLOEXEC);
		k++;
	}
	*fds = a;
	*cnt = k;
	return 0;
}

/* ---- EnableTransactions ------------------------------------------------------------ */

/*
 * A job with EnableTransactions gets a shared page from xpcd holding its
 * count of open transactions (XPCD_TRANSACTIONS=PID:FD), which xpcd reads
 * when it stops the job: none open, SIGKILL at once; some, SIGTERM first
 * (src/broker/launch.c).  xpc_transaction_begin/end (main.c) add to it
 * through launch_transactions_add.  Mapped once, on first use.
 */
static pthread_once_t launch_txn_once = PTHREAD_ONCE_INIT;
static _Atomic long *launch_txn;

static void launch_txn_map(void)
{
	const char *v = secure_getenv("XPCD_TRANSACTIONS");
	long pid, fd;
	char *end;
	struct stat st;
	void *p;

	if (!v || (pid = strtol(v, &end, 10)) != (long)getpid() || *end != ':')
		return;
	fd = strtol(end + 1, &end, 10);
	if (*end || fd < 3 || fstat((int)fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size != (off_t)sizeof(long))
		return;
	p = mmap(NULL, sizeof(long), PROT_READ | PROT_WRITE, MAP_SHARED, (int)fd, 0);
	close((int)fd); /* the mapping is what counts */
	if (p != MAP_FAILED)
		launch_txn = p;
}

void launch_transactions_add(long delta)
{
	pthread_once(&launch_txn_once, launch_txn_map);
	if (launch_txn)
		atomic_fetch_add(launch_txn, delta);
}
