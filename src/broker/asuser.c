/* SPDX-License-Identifier: MIT */
/*
 * asuser.c - a job's identity from the password and group databases, and
 * running a file check with it (asuser.h).
 *
 * Linux keeps credentials per thread; glibc's setresuid() and friends
 * make every thread of the process follow (POSIX), but the raw system
 * calls change only the caller.  So asuser_call() starts a thread that
 * takes the job's groups, gid and uid with syscall(2), checks that they
 * stuck (setuid(0) must fail), runs the check and ends: the kernel then
 * judges path lookups, inotify_add_watch and opens exactly as it would
 * for a process of the job's user, and no other thread of xpcd ever runs
 * with those ids.  The identity is resolved before (the databases are not
 * read on the thread).  Used by triggers.c for WatchPaths and
 * QueueDirectories; spawn-prep.c takes the same ids for the job's child.
 */
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "broker/asuser.h"
#include "broker/log.h"

/* The 32-bit i386 ABI keeps 16-bit ids in the old calls. */
#ifdef SYS_setresuid32
#define ASUSER_SYS_SETGROUPS SYS_setgroups32
#define ASUSER_SYS_SETRESGID SYS_setresgid32
#define ASUSER_SYS_SETRESUID SYS_setresuid32
#define ASUSER_SYS_SETUID SYS_setuid32
#else
#define ASUSER_SYS_SETGROUPS SYS_setgroups
#define ASUSER_SYS_SETRESGID SYS_setresgid
#define ASUSER_SYS_SETRESUID SYS_setresuid
#define ASUSER_SYS_SETUID SYS_setuid
#endif

static int asuser_user(const Job *job, JobIds *ids)
{
	struct passwd *pw = getpwnam(job->user);

	if (!pw) {
		log_line(LOG_ERR, "%s: UserName %s: no such user", job->label, job->user);
		return -1;
	}
	ids->uid = pw->pw_uid;
	ids->gid = pw->pw_gid;
	ids->n_groups = job->init_groups ? ASUSER_MAX_GROUPS : 1;
	ids->groups[0] = pw->pw_gid;
	if (job->init_groups && getgrouplist(job->user, pw->pw_gid, ids->groups, &ids->n_groups) < 0) {
		log_line(LOG_ERR, "%s: UserName %s: more than %d groups", job->label, job->user, ASUSER_MAX_GROUPS);
		return -1;
	}
	return 0;
}

int asuser_ids(const Job *job, JobIds *ids)
{
	struct group *gr;

	ids->uid = geteuid();
	ids->gid = getegid();
	ids->n_groups = 0;
	ids->set_ids = false;
	if (!job->user && !job->group)
		return 0;
	if (geteuid() != 0) {
		log_line(LOG_ERR, "%s: UserName/GroupName ignored (xpcd is not root)", job->label);
		return 0;
	}
	ids->uid = 0;
	ids->gid = 0;
	if (job->user && asuser_user(job, ids) < 0)
		return -1;
	if (job->group) {
		if (!(gr = getgrnam(job->group))) {
			log_line(LOG_ERR, "%s: GroupName %s: no such group", job->label, job->group);
			return -1;
		}
		ids->gid = gr->gr_gid;
		if (ids->n_groups == 0)
			ids->groups[ids->n_groups++] = gr->gr_gid;
	}
	ids->set_ids = true;
	return 0;
}

typedef struct AsUserCall {
	const JobIds *ids;
	void (*fn)(void *arg);
	void *arg;
	int err;
} AsUserCall;

static void *asuser_thread(void *p)
{
	AsUserCall *c = p;
	const JobIds *ids = c->ids;

	if (syscall(ASUSER_SYS_SETGROUPS, (long)ids->n_groups, ids->groups) < 0 ||
	    syscall(ASUSER_SYS_SETRESGID, (long)ids->gid, (long)ids->gid, (long)ids->gid) < 0 ||
	    syscall(ASUSER_SYS_SETRESUID, (long)ids->uid, (long)ids->uid, (long)ids->uid) < 0) {
		c->err = errno ? errno : EPERM;
		return NULL;
	}
	if (ids->uid != 0 && syscall(ASUSER_SYS_SETUID, 0L) == 0) {
		c->err = EPERM; /* never: root regained */
		return NULL;
	}
	c->fn(c->arg);
	return NULL;
}

int asuser_call(const Job *job, void (*fn)(void *arg), void *arg)
{
	JobIds ids;
	AsUserCall c = {.ids = &ids, .fn = fn, .arg = arg};
	pthread_t t;
	int r;

	if (asuser_ids(job, &ids) < 0)
		return -ESRCH;
	if (!ids.set_ids) {
		fn(arg);
		return 0;
	}
	if ((r = pthread_create(&t, NULL, asuser_thread, &c)) != 0)
		return -r;
	pthread_join(t, NULL);
	return -c.err;
}
