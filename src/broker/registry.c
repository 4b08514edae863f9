/*
 * registry.c - xpcd's job registry, the state file with restart adoption,
 * and the broker's log.
 *
 * The registry is the list of loaded jobs plus a graveyard of unloaded ones
 * (pending timers may still name them).  Jobs added while booting are not
 * started: jobs_boot_done() starts them once the state file has been read
 * and running instances left by an earlier broker adopted.
 *
 * Restart recovery: the broker writes PATH.state (label, pid, process start
 * time) whenever a job starts or exits, through rundir.c (which trusts the
 * file only if xpcd's uid owns it and no one else can write it).  A new broker reads it after loading
 * its jobs and adopts each recorded process that is still the same process
 * (same start time) and leads its own process group, as a job does: it is
 * not launched twice; its established links keep
 * working; the broker watches it with a pidfd; the first new check-in for it
 * replaces it (SIGTERM, then SIGKILL after ExitTimeOut) since it serves the
 * old broker's channels.  See docs/broker.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "broker/job.h"

static Job *jobs;
static Job *graveyard; /* unloaded jobs: pending timers may still name them */
static bool booting = true; /* jobs are started only after state recovery */

void broker_log(const char *fmt, ...)
{
	struct timespec ts;
	va_list ap;

	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(stderr, "xpcd[%d] %02ld:%02ld:%02ld.%03ld ", (int)getpid(), (ts.tv_sec / 3600) % 24,
		(ts.tv_sec / 60) % 60, ts.tv_sec % 60, ts.tv_nsec / 1000000);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

double broker_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

Job *jobs_first(void)
{
	return jobs;
}

Job *jobs_find_label(const char *label)
{
	for (Job *j = jobs; j; j = j->next)
		if (!strcmp(j->label, label))
			return j;
	return NULL;
}

Job *jobs_find_service(const char *name, JobService **ret_service)
{
	for (Job *j = jobs; j; j = j->next)
		for (size_t i = 0; i < j->n_services; i++)
			if (!j->services[i].hidden && !strcmp(j->services[i].name, name)) {
				*ret_service = &j->services[i];
				return j;
			}
	return NULL;
}

Job *jobs_find_pid(pid_t pid)
{
	for (Job *j = jobs; j; j = j->next)
		if (j->pid == pid)
			return j;
	for (Job *j = graveyard; j; j = j->next)
		if (j->pid == pid)
			return j;
	return NULL;
}

int jobs_add(Job *job, char *err, size_t errlen)
{
	JobService *other;

	if (jobs_find_label(job->label)) {
		snprintf(err, errlen, "%s: a job labelled %s is already loaded", job->path ? job->path : "?",
			 job->label);
		job_free(job);
		return -1;
	}
	for (size_t i = 0; i < job->n_services; i++)
		if (jobs_find_service(job->services[i].name, &other)) {
			snprintf(err, errlen, "%s: key MachServices: %s is already vended by another job",
				 job->path ? job->path : "?", job->services[i].name);
			job_free(job);
			return -1;
		}
	if (service_open_channels(job) < 0 || activity_job_loaded(job) < 0) {
		snprintf(err, errlen, "%s: cannot create channels: %s", job->label, strerror(errno));
		service_close_channels(job);
		activity_job_unloaded(job);
		job_free(job);
		return -1;
	}
	job->next = jobs;
	jobs = job;
	control_services_changed();
	broker_log("%s: loaded (%zu service%s)", job->label, job->n_services, job->n_services == 1 ? "" : "s");
	if (job->disabled || booting)
		return 0;
	if (job->run_at_load || job->keepalive)
		launch_job(job);
	else
		service_watch(job);
	return 0;
}

static void unlink_job(Job *job)
{
	for (Job **p = &jobs; *p; p = &(*p)->next)
		if (*p == job) {
			*p = job->next;
			break;
		}
	job->next = graveyard;
	graveyard = job;
}

void jobs_remove(Job *job)
{
	if (!job->unloading) {
		job->unloading = true;
		activity_job_stopping(job);
		service_close_channels(job);
		activity_job_unloaded(job);
		control_services_changed();
		broker_log("%s: unloading", job->label);
	}
	if (job->pid) {
		launch_stop(job);
		return;
	}
	unlink_job(job);
	jobs_save_state();
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

void jobs_save_state(void)
{
	FILE *f = rundir_state_begin();

	if (!f)
		return;
	for (Job *j = jobs; j; j = j->next)
		if (j->pid)
			fprintf(f, "%d %llu %s\n", (int)j->pid, proc_start_time(j->pid), j->label);
	if (rundir_state_commit(f) < 0)
		broker_log("cannot write the state file: %s", strerror(errno));
}

static void orphan_exited(Job *job)
{
	if (job->orphan_watch) {
		dispatch_source_cancel(job->orphan_watch);
		dispatch_release(job->orphan_watch);
		job->orphan_watch = NULL;
	}
	supervise_exited(job, 0);
}

static void adopt(Job *job, pid_t pid)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);

	if (pidfd < 0)
		return;
	fcntl(pidfd, F_SETFD, FD_CLOEXEC);
	job->pid = pid;
	job->adopted = true;
	job->runs = 1;
	clock_gettime(CLOCK_MONOTONIC, &job->last_start);
	service_unwatch(job);
	job->orphan_watch = dispatch_source_create(DISPATCH_SOURCE_TYPE_READ, (uintptr_t)pidfd, 0,
						   dispatch_get_main_queue());
	dispatch_source_set_event_handler(job->orphan_watch, ^{ orphan_exited(job); });
	dispatch_source_set_cancel_handler(job->orphan_watch, ^{ close(pidfd); });
	dispatch_resume(job->orphan_watch);
	service_watch(job); /* a new check-in replaces the orphan (service.c) */
	broker_log("%s: adopted pid %d left by a previous broker", job->label, (int)pid);
}

void jobs_recover_state(void)
{
	FILE *f = rundir_state_read();
	char label[4096];
	unsigned long long start;
	int pid;

	if (!f)
		return;
	while (fscanf(f, "%d %llu %4095s", &pid, &start, label) == 3) {
		Job *job = jobs_find_label(label);
		/* the same process (start time), and one the broker started: a
		 * job leads its own process group */
		if (job && pid > 0 && !job->pid && start && proc_start_time(pid) == start && getpgid(pid) == pid) {
			if (job->launch_pending || job->pid)
				continue;
			adopt(job, pid);
		}
	}
	fclose(f);
}

void jobs_boot_done(void)
{
	booting = false;
	for (Job *j = jobs; j; j = j->next) {
		if (j->pid || j->disabled)
			continue;
		if (j->run_at_load || j->keepalive)
			launch_job(j);
		else
			service_watch(j);
	}
	jobs_save_state();
}

void jobs_free_unloaded(void)
{
	while (graveyard) {
		Job *j = graveyard;
		graveyard = j->next;
		job_free(j);
	}
}
