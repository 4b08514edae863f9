/* SPDX-License-Identifier: MIT */
/*
 * registry.c - xpcd's job registry and its state file.
 *
 * The registry is the list of loaded jobs plus a graveyard of unloaded ones
 * (pending timers may still name them).  A label and a MachServices name
 * are each held by at most one loaded job (registry_insert refuses the
 * second).  The registry only holds: what starts, stops and adopts jobs
 * is supervise.c above it.
 *
 * Descriptors kept for clients: each MachServices name holds two
 * descriptors for as long as its job is loaded, so loading stops short of
 * the last descriptors of RLIMIT_NOFILE (an eighth of them, 16 to
 * 1024): a job whose channels would reach into them is refused at load,
 * naming the limit.  Before, 10 000 jobs under a limit of 20 000 took every
 * descriptor and xpcd, unable to accept, served no client at all: requests
 * waited in the socket's backlog for ever (issue 17).  Links still
 * compete for the rest, and xpcd backs off and recovers when they run out
 * (listener.c).
 *
 * The state file: the broker writes SOCKET.state (pid, process start time,
 * label of each running job) whenever a job starts or exits, through
 * rundir.c (which trusts the file only if xpcd's uid owns it and no one
 * else can write it).  registry_recover_state() reads it back for a new
 * broker and names each recorded process that is still the same process
 * (same start time) and leads its own process group, as a job does, to the
 * caller, which adopts it (supervise.c, docs/broker.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "broker/activity.h"
#include "broker/channel.h"
#include "broker/job.h"
#include "broker/log.h"
#include "broker/registry.h"
#include "broker/rundir.h"
#include "shared/fdutil.h"

void registry_init(Registry *reg, Rundir *rundir)
{
	*reg = (Registry){.rundir = rundir};
}

Job *registry_first(const Registry *reg)
{
	return reg->jobs;
}

Job *registry_find_label(const Registry *reg, const char *label)
{
	for (Job *j = reg->jobs; j; j = j->next)
		if (!strcmp(j->label, label))
			return j;
	return NULL;
}

Job *registry_find_service(const Registry *reg, const char *name, JobService **ret_service)
{
	for (Job *j = reg->jobs; j; j = j->next)
		for (size_t i = 0; i < j->n_services; i++)
			if (!j->services[i].hidden && !strcmp(j->services[i].name, name)) {
				*ret_service = &j->services[i];
				return j;
			}
	return NULL;
}

Job *registry_find_pid(const Registry *reg, pid_t pid)
{
	for (Job *j = reg->jobs; j; j = j->next)
		if (j->pid == pid)
			return j;
	for (Job *j = reg->graveyard; j; j = j->next)
		if (j->pid == pid)
			return j;
	return NULL;
}

/* How many descriptors loading keeps free for clients (see the top). */
static long registry_fd_reserve(long limit)
{
	long r = limit / 8;

	return r < 16 ? 16 : r > 1024 ? 1024 : r;
}

/* The reserve under the current limit. */
static long registry_fd_reserve_now(void)
{
	long limit = fd_limit();

	return limit < 0 || limit == FD_NO_LIMIT ? 0 : registry_fd_reserve(limit);
}

/* Whether the descriptors kept for clients are still free: the lowest free
 * descriptor is below them (descriptors are handed out lowest first). */
static bool registry_fds_kept(void)
{
	long limit = fd_limit();
	int probe;

	if (limit < 0 || limit == FD_NO_LIMIT)
		return true;
	probe = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (probe < 0)
		return false;
	close(probe);
	return probe < limit - registry_fd_reserve(limit);
}

int registry_insert(Registry *reg, Job *job, char *err, size_t errlen)
{
	JobService *other;

	if (registry_find_label(reg, job->label)) {
		snprintf(err, errlen, "%s: a job labelled %s is already loaded", job->path ? job->path : "?",
			 job->label);
		job_free(job);
		return -1;
	}
	for (size_t i = 0; i < job->n_services; i++)
		if (registry_find_service(reg, job->services[i].name, &other)) {
			snprintf(err, errlen, "%s: key MachServices: %s is already vended by another job",
				 job->path ? job->path : "?", job->services[i].name);
			job_free(job);
			return -1;
		}
	int r = channel_open(job) < 0 ? -errno : 0;
	if (r == 0 && !registry_fds_kept())
		r = -EMFILE;
	if (r == 0 && activity_job_loaded(job) < 0)
		r = errno ? -errno : -ENOMEM;
	if (r < 0) {
		if (r == -EMFILE || r == -ENFILE)
			snprintf(err, errlen, "%s: not loaded: descriptor limit (RLIMIT_NOFILE): the last %ld are "
					      "descriptors kept for clients", job->label, registry_fd_reserve_now());
		else
			snprintf(err, errlen, "%s: cannot create channels: %s", job->label, strerror(-r));
		channel_close(job);
		activity_job_unloaded(job);
		job_free(job);
		return -1;
	}
	job->next = reg->jobs;
	reg->jobs = job;
	rundir_services_changed(reg->rundir);
	log_line(LOG_INFO, "%s: loaded (%zu service%s)", job->label, job->n_services, job->n_services == 1 ? "" : "s");
	return 0;
}

void registry_unlink(Registry *reg, Job *job)
{
	for (Job **p = &reg->jobs; *p; p = &(*p)->next)
		if (*p == job) {
			*p = job->next;
			break;
		}
	job->next = reg->graveyard;
	reg->graveyard = job;
}

/* ---- state file ---------------------------------------------------------- */

static unsigned long long proc_start_time(pid_t pid)
{
	char path[64], buf[1024];
	unsigned long long start = 0;
	FILE *f;
	char *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')'))) {
		/* fields after the command: state is field 3, starttime field 22 */
		int field = 2;
		for (char *t = strtok(p + 1, " "); t; t = strtok(NULL, " "))
			if (++field == 22) {
				start = strtoull(t, NULL, 10);
				break;
			}
	}
	fclose(f);
	return start;
}

void registry_save_state(const Registry *reg)
{
	FILE *f = rundir_state_begin(reg->rundir);

	if (!f)
		return;
	for (Job *j = reg->jobs; j; j = j->next)
		if (j->pid)
			fprintf(f, "%d %llu %s\n", (int)j->pid, proc_start_time(j->pid), j->label);
	if (rundir_state_commit(reg->rundir, f) < 0)
		log_line(LOG_ERR, "cannot write the state file: %s", strerror(errno));
}

void registry_recover_state(Registry *reg, void (*adopt)(void *ctx, Job *job, pid_t pid), void *ctx)
{
	FILE *f = rundir_state_read(reg->rundir);
	char label[4096];
	unsigned long long start;
	int pid;

	if (!f)
		return;
	while (fscanf(f, "%d %llu %4095s", &pid, &start, label) == 3) {
		Job *job = registry_find_label(reg, label);
		/* the same process (start time), and one the broker started: a
		 * job leads its own process group */
		if (job && pid > 0 && !job->pid && start && proc_start_time(pid) == start && getpgid(pid) == pid) {
			if (job->launch_pending || job->pid)
				continue;
			adopt(ctx, job, pid);
		}
	}
	fclose(f);
}

void registry_free_unloaded(Registry *reg)
{
	while (reg->graveyard) {
		Job *j = reg->graveyard;
		reg->graveyard = j->next;
		job_free(j);
	}
}
