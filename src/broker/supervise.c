/*
 * supervise.c - reaping jobs and deciding what happens after an exit.
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
#include <signal.h>
#include <sys/wait.h>

#include "broker/job.h"
#include "broker/remote-export.h"

static dispatch_source_t sigchld_source;

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

void supervise_exited(Job *job, int status)
{
	if (WIFSIGNALED(status))
		broker_log("%s: pid %d killed by signal %d", job->label, (int)job->pid, WTERMSIG(status));
	else
		broker_log("%s: pid %d exited with status %d", job->label, (int)job->pid, WEXITSTATUS(status));
	job->pid = 0;
	job->adopted = false;
	job->stopping = false;
	job->last_status = status;
	jobs_save_state();
	activity_job_exited(job);
	if (job->unloading) {
		jobs_remove(job);
		return;
	}
	if (wants_relaunch(job, status)) {
		launch_job(job);
		return;
	}
	service_watch(job);
}

static void on_sigchld(void *ctx)
{
	int status;
	pid_t pid;

	(void)ctx;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		Job *job = jobs_find_pid(pid);
		if (job)
			supervise_exited(job, status);
		else
			remote_export_reaped(pid, status);
	}
}

void supervise_start(void)
{
	sigchld_source = dispatch_source_create(DISPATCH_SOURCE_TYPE_SIGNAL, SIGCHLD, 0, dispatch_get_main_queue());
	dispatch_source_set_event_handler_f(sigchld_source, on_sigchld);
	dispatch_resume(sigchld_source);
	on_sigchld(NULL); /* children that exited before the source existed */
}
