/* SPDX-License-Identifier: MIT */
/*
 * supervise.c - a job's life in the broker: added (started, or its names
 * watched), checked in for, exited, adopted, removed.
 *
 * Jobs added while booting are not started: supervise_boot_done() starts
 * them once the state file has been read and the running instances left by
 * an earlier broker adopted (supervise_recover).  An adopted instance is
 * not launched twice; its established links keep working; the broker
 * watches it with a pidfd; the first new check-in for it replaces it
 * (SIGTERM, then SIGKILL after ExitTimeOut) since it serves the old
 * broker's channels (docs/broker.md).
 *
 * SIGCHLD is blocked in every thread (main.c does it before the dispatch
 * runtime starts) and arrives through a dispatch SIGNAL source on the main
 * queue; each event reaps every exited child with waitpid(WNOHANG).
 *
 * After an exit: an unloading job is freed; a KeepAlive job (true, or the
 * SuccessfulExit/Crashed condition that matches how it ended) is launched
 * again, throttled by ThrottleInterval; any other job goes back to being
 * watched, and a check-in already queued on its R relaunches it at once
 * (again throttled), which is how a crashed service comes back on demand.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "broker/broker.h"
#include "broker/channel.h"
#include "broker/launch.h"
#include "broker/log.h"
#include "broker/registry.h"
#include "broker/rundir.h"
#include "broker/supervise.h"


static bool wants_relaunch(Job *job, int status)
{
	bool crashed = WIFSIGNALED(status);
	bool success = WIFEXITED(status) && WEXITSTATUS(status) == 0;

	if (job->disabled || job->unloading)
		return false;
	if (job->relaunch_once) {
		job->relaunch_once = false;
		return true;
	}
	if (job->keepalive)
		return true;
	if (job->keepalive_successful_exit != KEEPALIVE_UNSET && WIFEXITED(status) &&
	    success == (job->keepalive_successful_exit == 1))
		return true;
	if (job->keepalive_crashed != KEEPALIVE_UNSET && crashed == (job->keepalive_crashed == 1))
		return true;
	return false;
}

/* A check-in queued on a watched R of @ctx (a Job). */
static void on_checkin(void *ctx)
{
	Job *job = ctx;

	if (job->adopted && job->pid) {
		/* an instance left by an earlier broker reads the old channels:
		 * replace it rather than run two (docs/broker.md) */
		log_line(LOG_INFO, "%s: check-in for an adopted instance: replacing pid %d", job->label, (int)job->pid);
		channel_unwatch(job);
		launch_stop(job);
		return;
	}
	if (job->pid || job->launch_pending)
		return;
	log_line(LOG_INFO, "%s: check-in queued, launching on demand", job->label);
	channel_unwatch(job);
	launch_job(job);
}

void supervise_watch(Job *job)
{
	channel_watch(job, on_checkin);
}

/* Starts @job if it runs at load or is kept alive, else watches its names. */
static void start_or_watch(Job *job)
{
	if (job->run_at_load || job->keepalive)
		launch_job(job);
	else
		supervise_watch(job);
}

int supervise_add(Broker *b, Job *job, char *err, size_t errlen)
{
	job->broker = b;
	if (registry_insert(&b->registry, job, err, errlen) < 0)
		return -1;
	if (!job->disabled && !b->supervisor.booting)
		start_or_watch(job);
	return 0;
}

void supervise_remove(Job *job)
{
	Broker *b = job->broker;

	if (!job->unloading) {
		job->unloading = true;
		channel_close(job);
		rundir_services_changed(&b->rundir);
		log_line(LOG_INFO, "%s: unloading", job->label);
	}
	if (job->pid) {
		launch_stop(job);
		return;
	}
	registry_unlink(&b->registry, job);
	registry_save_state(&b->registry);
}

void supervise_exited(Job *job, int status)
{
	if (WIFSIGNALED(status))
		log_line(LOG_NOTICE, "%s: pid %d killed by signal %d", job->label, (int)job->pid, WTERMSIG(status));
	else
		log_line(LOG_INFO, "%s: pid %d exited with status %d", job->label, (int)job->pid, WEXITSTATUS(status));
	job->pid = 0;
	job->adopted = false;
	job->stopping = false;
	job->last_status = status;
	registry_save_state(&job->broker->registry);
	if (job->unloading) {
		supervise_remove(job);
		return;
	}
	if (wants_relaunch(job, status)) {
		launch_job(job);
		return;
	}
	supervise_watch(job);
}

static void on_sigchld(void *ctx)
{
	Broker *b = ctx;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		Job *job = registry_find_pid(&b->registry, pid);
		if (job)
			supervise_exited(job, status);
	}
}

void supervise_start(Broker *b)
{
	Supervisor *s = &b->supervisor;

	s->sigchld = dispatch_source_create(DISPATCH_SOURCE_TYPE_SIGNAL, SIGCHLD, 0, dispatch_get_main_queue());
	dispatch_set_context(s->sigchld, b);
	dispatch_source_set_event_handler_f(s->sigchld, on_sigchld);
	dispatch_resume(s->sigchld);
	on_sigchld(b); /* children that exited before the source existed */
}

/* ---- restart adoption ------------------------------------------------------ */

static void orphan_exited(Job *job)
{
	if (job->orphan_watch) {
		dispatch_source_cancel(job->orphan_watch);
		dispatch_release(job->orphan_watch);
		job->orphan_watch = NULL;
	}
	supervise_exited(job, 0);
}

static void adopt(void *ctx, Job *job, pid_t pid)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);

	(void)ctx;
	if (pidfd < 0)
		return;
	fcntl(pidfd, F_SETFD, FD_CLOEXEC);
	job->pid = pid;
	job->adopted = true;
	job->runs = 1;
	clock_gettime(CLOCK_MONOTONIC, &job->last_start);
	channel_unwatch(job);
	job->orphan_watch = dispatch_source_create(DISPATCH_SOURCE_TYPE_READ, (uintptr_t)pidfd, 0,
						   dispatch_get_main_queue());
	dispatch_source_set_event_handler(job->orphan_watch, ^{ orphan_exited(job); });
	dispatch_source_set_cancel_handler(job->orphan_watch, ^{ close(pidfd); });
	dispatch_resume(job->orphan_watch);
	supervise_watch(job); /* a new check-in replaces the orphan (on_checkin) */
	log_line(LOG_INFO, "%s: adopted pid %d left by a previous broker", job->label, (int)pid);
}

void supervise_recover(Broker *b)
{
	registry_recover_state(&b->registry, adopt, b);
}

void supervise_boot_done(Broker *b)
{
	b->supervisor.booting = false;
	for (Job *j = registry_first(&b->registry); j; j = j->next)
		if (!j->pid && !j->disabled)
			start_or_watch(j);
	registry_save_state(&b->registry);
}
