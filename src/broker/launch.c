/* SPDX-License-Identifier: MIT */
/*
 * launch.c - when a job's process starts and how it stops.
 *
 * ThrottleInterval: a launch sooner than that after the previous one is
 * postponed to the end of the interval (launchd's behaviour), never
 * dropped.  Stopping is SIGTERM to the job's process group, then SIGKILL
 * after ExitTimeOut.  The process itself is made by spawn.c; the exit is
 * seen by supervise.c.  fuzz/broker-launch.c is a double of this file.
 */
#include <signal.h>
#include <stdio.h>
#include <time.h>

#include "broker/broker.h"
#include "broker/channel.h"
#include "broker/launch.h"
#include "broker/log.h"
#include "broker/registry.h"
#include "broker/spawn.h"

/* Seconds since @t (CLOCK_MONOTONIC). */
static double seconds_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

static void launch_now(Job *job)
{
	Broker *b = job->broker;
	pid_t pid = spawn_job(job, b->config.socket_path);

	if (pid < 0)
		return;
	job->pid = pid;
	job->runs++;
	clock_gettime(CLOCK_MONOTONIC, &job->last_start);
	log_line(LOG_INFO, "%s: started, pid %d", job->label, (int)pid);
	registry_save_state(&b->registry);
}
static void launch_deferred(void *ctx)
{
	Job *job = ctx;

	job->launch_pending = false;
	if (!job->pid && !job->unloading && !job->disabled)
		launch_now(job);
}

int launch_job(Job *job)
{
	double since, wait;

	if (job->disabled || job->unloading)
		return -1;
	if (job->pid || job->launch_pending)
		return 0;
	channel_unwatch(job);
	since = job->runs ? seconds_since(&job->last_start) : 1e9;
	wait = (double)job->throttle_interval - since;
	if (wait > 0) {
		log_line(LOG_INFO, "%s: throttled, launching in %.1f s", job->label, wait);
		job->launch_pending = true;
		dispatch_after_f(dispatch_time(DISPATCH_TIME_NOW, (int64_t)(wait * 1e9)), dispatch_get_main_queue(), job,
				 launch_deferred);
		return 0;
	}
	launch_now(job);
	return job->pid ? 0 : -1;
}

void launch_signal(Job *job, int sig)
{
	if (job->pid > 0 && kill(-job->pid, sig) < 0)
		kill(job->pid, sig);
}

static void kill_timeout(void *ctx)
{
	Job *job = ctx;

	if (job->pid && job->stopping) {
		log_line(LOG_WARNING, "%s: did not exit within ExitTimeOut (%u s): SIGKILL", job->label, job->exit_timeout);
		launch_signal(job, SIGKILL);
	}
}

void launch_stop(Job *job)
{
	if (!job->pid || job->stopping)
		return;
	job->stopping = true;
	launch_signal(job, SIGTERM);
	dispatch_after_f(dispatch_time(DISPATCH_TIME_NOW, (int64_t)job->exit_timeout * (int64_t)NSEC_PER_SEC),
			 dispatch_get_main_queue(), job, kill_timeout);
}
