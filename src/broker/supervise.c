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
 * After an exit: the rest of the job's process group gets SIGTERM, unless
 * AbandonProcessGroup (launchd's rule); an unloading job is freed; a
 * KeepAlive job (true, or the SuccessfulExit/Crashed condition that
 * matches how it ended, or a PathState / OtherJobEnabled condition that
 * holds, or a QueueDirectories directory not empty: triggers.c) is
 * launched again, throttled by ThrottleInterval; any other job goes back
 * to being watched, and a check-in already queued on its R (or a
 * connection on its Sockets) relaunches it at once (again throttled),
 * which is how a crashed service comes back on demand.  Timers and path
 * watches (triggers.c) are armed while a job is loaded and enabled.
 * A check-in whose client has gone (its end of the link closed) launches
 * nothing: channel.c drops it (channel_live_checkins).
 *
 * ThrottleInterval (supervise_launch): a launch sooner than that after the
 * previous one is postponed to the end of the interval (launchd's
 * behaviour), on a timer the job owns, cancelled when the job goes.
 *
 * The start limit: a start whose set-up failed (spawn.c's steps: exec,
 * chdir, user, stdio, ...) is a failed start.  JOB_START_LIMIT_BURST (5)
 * failed starts within JOB_START_LIMIT_INTERVAL (60 s) put the job in the
 * failed state: it is not started again, its names answer lookups with
 * the failure, and the check-ins queued for it, and any that come, are
 * refused with that text (channel_refuse_checkins: the client's
 * connection ends INVALID with it), so their clients get an error instead
 * of waiting and the channel never stays full.  `xpcctl kickstart` clears
 * the state and starts it (docs/broker.md).
 *
 * Short of the limit, a job whose last start failed, or whose last
 * instance exited (not asked to by xpcd) without taking a check-in (the
 * one first in line on R when it started, channel_head(), still is), and
 * whose next start is throttled for longer than a client's check-in
 * waits for room (JOB_CHECKIN_WAIT, 5 s) refuses its check-ins until that
 * start, naming the failure and when the next start is due ("not running:
 * start failed at 203/EXEC: No such file or directory; next start in 9 s").
 * Otherwise (an instance that served, then exited or crashed) they wait
 * for the next start, as before.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "broker/activity.h"
#include "broker/blame.h"
#include "broker/broker.h"
#include "broker/channel.h"
#include "broker/inetd.h"
#include "broker/deferred.h"
#include "broker/launch.h"
#include "broker/log.h"
#include "broker/registry.h"
#include "broker/remote-export.h"
#include "broker/rundir.h"
#include "broker/step.h"
#include "broker/supervise.h"
#include "shared/clock.h"
#include "shared/xpcd-protocol.h"
#include "broker/triggers.h"
#include "broker/user-channels.h"


static bool wants_relaunch(Job *job, int status)
{
	bool crashed = WIFSIGNALED(status);
	bool success = WIFEXITED(status) && WEXITSTATUS(status) == 0;

	if (job->disabled || job->unloading)
		return false;
	if (job->relaunch_once) { /* kickstart -k: at once, not throttled */
		job->relaunch_once = false;
		job->last_start = 0;
		blame_set(job, "kickstart -k");
		return true;
	}
	if (crashed)
		blame_set(job, "KeepAlive: relaunched after signal %d", WTERMSIG(status));
	else
		blame_set(job, "KeepAlive: relaunched after exit status %d", WEXITSTATUS(status));
	if (job->keepalive)
		return true;
	if (job->keepalive_successful_exit != KEEPALIVE_UNSET && WIFEXITED(status) &&
	    success == (job->keepalive_successful_exit == 1))
		return true;
	if (job->keepalive_crashed != KEEPALIVE_UNSET && crashed == (job->keepalive_crashed == 1))
		return true;
	return triggers_want_running(job);
}

/* ---- check-ins of a job that cannot start ------------------------------------ */

/* Check-ins refused per event of R's watch: the rest on the next one,
 * between the broker's other work. */
#define REFUSE_BATCH 256

/* How the last instance of @job ended when it took no check-in: the
 * one first in line when it started was still there ("exited with status
 * 3", "was killed by signal 11"); false otherwise, or when xpcd asked it
 * to exit (launch_stop). */
static bool exited_unread(const Job *job, char *buf, size_t len)
{
	int st = job->last_status;

	if (st == -1 || job->exit_asked || !job->exited_unread)
		return false;
	if (WIFSIGNALED(st))
		snprintf(buf, len, "was killed by signal %d", WTERMSIG(st));
	else
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(st));
	return true;
}

/*
 * Why a throttled start of @job may not keep its check-ins waiting, into
 * @buf: the last start failed, or its last instance exited without taking
 * a check-in (false otherwise: its check-ins wait for the next start).
 */
static bool cannot_start(const Job *job, char *buf, size_t len)
{
	char how[160];

	if (job->fail_step) {
		step_failure_text(false, job->fail_step, job->fail_errno, how, sizeof(how));
		snprintf(buf, len, "not running: %s", how);
		return true;
	}
	if (!exited_unread(job, how, sizeof(how)))
		return false;
	snprintf(buf, len, "not running: its last instance %s before taking a check-in", how);
	return true;
}

/*
 * Why @job's clients cannot be served now, into @buf (false when their
 * check-ins wait for its start): the failed state (the text its lookups
 * answer), or a start throttled for longer than a check-in waits
 * (JOB_CHECKIN_WAIT) after a failure (refusing, set by supervise_launch).
 */
bool supervise_unavailable(const Job *job, char *buf, size_t len)
{
	size_t n;

	if (job->failed) {
		step_failure_text(true, job->fail_step, job->fail_errno, buf, len);
		return true;
	}
	if (!job->launch_pending || !job->refusing || !cannot_start(job, buf, len))
		return false;
	n = strlen(buf);
	snprintf(buf + n, len - n, "; next start in %.0f s",
		 (double)job->throttle_interval - clock_seconds_since(job->last_start));
	return true;
}

/* Answers @job's queued check-ins with @why; logged once per 10 s. */
static void refuse_checkins(Job *job, const char *why)
{
	job->n_refused += channel_refuse_checkins(job, why, REFUSE_BATCH);
	if (job->n_refused && (!job->refused_logged || clock_seconds_since(job->refused_logged) >= 10)) {
		log_line(LOG_NOTICE, "%s: %u check-ins refused: %s", job->label, job->n_refused, why);
		job->n_refused = 0;
		job->refused_logged = clock_monotonic_ns();
	}
}

/* A check-in queued on a watched R of @ctx (a Job). */
static void on_checkin(void *ctx)
{
	Job *job = ctx;
	char why[256]; /* the refusal's text (cut to 240 bytes on the wire) */

	if (supervise_unavailable(job, why, sizeof(why))) {
		refuse_checkins(job, why);
		return;
	}
	if (job->adopted && job->pid) {
		/* an instance left by an earlier broker reads the old channels:
		 * replace it rather than run two (docs/broker.md) */
		log_line(LOG_INFO, "%s: check-in for an adopted instance: replacing pid %d", job->label, (int)job->pid);
		channel_unwatch(job);
		launch_stop(job);
		return;
	}
	if (job->pid || job->launch_pending) { /* the start takes them */
		channel_unwatch(job);
		return;
	}
	if (!channel_live_checkins(job)) /* only clients that are gone: nothing to start */
		return;
	log_line(LOG_INFO, "%s: check-in queued, launching on demand", job->label);
	blame_checkin(job);
	channel_unwatch(job);
	supervise_launch(job);
}

void supervise_watch(Job *job)
{
	channel_watch(job, on_checkin);
	triggers_watch_sockets(job);
}

/* Starts @job if it runs at load or is kept alive (KeepAlive true, or
 * SuccessfulExit, which implies RunAtLoad in launchd: the job must run
 * once for an exit status to exist; not with AfterInitialDemand), else
 * watches its names; its other triggers are armed either way. */
static void start_or_watch(Job *job)
{
	bool keep = job->keepalive || job->keepalive_successful_exit != KEEPALIVE_UNSET;

	if (job->run_at_load || (keep && !job->keepalive_after_demand)) {
		blame_set(job, "%s", job->run_at_load ? "RunAtLoad" : "KeepAlive");
		supervise_launch(job);
	} else {
		supervise_watch(job);
	}
	triggers_arm(job);
}

/* ---- throttle and start limit ---------------------------------------------- */

static void throttle_cancel(Job *job)
{
	if (!job->throttle_timer)
		return;
	dispatch_source_cancel(job->throttle_timer);
	dispatch_release(job->throttle_timer);
	job->throttle_timer = NULL;
	job->launch_pending = false;
	job->refusing = false;
}

/* The failed state (see the top): nothing starts the job until kickstart. */
static void enter_failed(Job *job)
{
	job->failed = true;
	throttle_cancel(job);
	channel_watch(job, on_checkin); /* its check-ins are refused: on_checkin */
	supervise_services_changed(job->broker);
	log_line(LOG_ERR, "%s: %d failed starts within %d s (last: %s): failed; `xpcctl kickstart %s` starts it again",
		 job->label, JOB_START_LIMIT_BURST, JOB_START_LIMIT_INTERVAL, step_name(job->fail_step),
		 job->label);
}

/* Counts @job's last failed start; true when that reached the limit. */
static bool count_failure(Job *job)
{
	if (!job->fail_step || job->fail_counted)
		return false;
	job->fail_counted = true;
	job->fail_times[job->n_fails % JOB_START_LIMIT_BURST] = clock_monotonic_ns();
	job->n_fails++;
	if (job->n_fails < JOB_START_LIMIT_BURST)
		return false;
	return clock_seconds_since(job->fail_times[job->n_fails % JOB_START_LIMIT_BURST]) <= JOB_START_LIMIT_INTERVAL;
}

/* A start failed before a process existed (launch_start returned -1):
 * judged as an exit would be. */
static void start_failed(Job *job)
{
	if (count_failure(job)) {
		enter_failed(job);
		return;
	}
	if (job->keepalive || job->run_at_load || job->relaunch_once)
		supervise_launch(job);
	else
		supervise_watch(job);
}

/* launch_start(), noting which check-in is first in line as it starts. */
static int start_now(Job *job)
{
	job->head_at_start = channel_head(job);
	return launch_start(job);
}

static void launch_deferred(void *ctx)
{
	Job *job = ctx;

	throttle_cancel(job);
	channel_unwatch(job); /* (watched while it refused check-ins) */
	if (!job->pid && !job->unloading && !job->disabled && !job->failed && start_now(job) < 0)
		start_failed(job);
}

int supervise_launch(Job *job)
{
	char why[256]; /* the refusal's text (cut to 240 bytes on the wire) */
	double wait;

	if (job->disabled || job->unloading || job->failed)
		return -1;
	if (job->pid || job->launch_pending)
		return 0;
	if (job->launch_only_once && job->runs) {
		log_line(LOG_INFO, "%s: LaunchOnlyOnce: not launched again", job->label);
		return -1;
	}
	channel_unwatch(job);
	wait = (double)job->throttle_interval - (job->runs || job->n_fails ? clock_seconds_since(job->last_start) : 1e9);
	if (wait > 0) {
		job->throttle_timer = dispatch_source_create(DISPATCH_SOURCE_TYPE_TIMER, 0, 0, dispatch_get_main_queue());
		if (job->throttle_timer) {
			log_line(LOG_INFO, "%s: throttled, launching in %.1f s", job->label, wait);
			job->launch_pending = true;
			dispatch_set_context(job->throttle_timer, job);
			dispatch_source_set_timer(job->throttle_timer, dispatch_time(DISPATCH_TIME_NOW, (int64_t)(wait * 1e9)),
						  DISPATCH_TIME_FOREVER, 0);
			dispatch_source_set_event_handler_f(job->throttle_timer, launch_deferred);
			dispatch_resume(job->throttle_timer);
			job->refusing = wait > JOB_CHECKIN_WAIT && cannot_start(job, why, sizeof(why));
			if (job->refusing)
				channel_watch(job, on_checkin); /* refused until the start */
			return 0;
		}
	}
	job->last_start = clock_monotonic_ns();
	if (start_now(job) < 0) {
		start_failed(job);
		return -1;
	}
	return 0;
}

int supervise_kickstart(Job *job, bool kill_first)
{
	if (job->pid && kill_first) {
		job->relaunch_once = true;
		launch_stop(job);
		return 0;
	}
	if (job->pid)
		return 0;
	if (job->failed)
		log_line(LOG_INFO, "%s: failed state cleared by kickstart", job->label);
	job->failed = false;
	job->n_fails = 0;
	throttle_cancel(job);
	blame_set(job, "kickstart");
	job->last_start = 0; /* kickstart is not throttled */
	return job->disabled ? -1 : supervise_launch(job);
}

void supervise_services_changed(Broker *b)
{
	rundir_services_changed(&b->rundir);
	remote_export_changed();
	triggers_jobs_changed(b); /* KeepAlive.OtherJobEnabled may hold now */
}

static const TriggersActions supervise_trigger_actions = {
	.launch = supervise_launch,
	.watch = supervise_watch,
};

int supervise_add(Broker *b, Job *job, char *err, size_t errlen)
{
	triggers_set_actions(&supervise_trigger_actions);
	int choice = overrides_get(&b->overrides, job->label);

	job->broker = b;
	if (choice >= 0) /* xpcctl enable/disable outlive the broker (overrides.c) */
		job->disabled = choice;
	if (job->not_here) {
		snprintf(err, errlen, "%s: %s: not for this host; not loaded", job->path ? job->path : "?", job->not_here);
		job_free(job);
		return -1;
	}
	/* its Sockets (a label already loaded is refused below, before any
	 * socket file of that job is replaced) */
	if (!registry_find_label(&b->registry, job->label) &&
	    triggers_open(job, b->supervisor.booting, err, errlen) < 0) {
		job_free(job);
		return -1;
	}
	if (registry_insert(&b->registry, job, err, errlen) < 0)
		return -1;
	remote_export_changed(); /* registry_insert moved the socket's generation on */
	if (!job->disabled && !b->supervisor.booting)
		start_or_watch(job);
	if (!b->supervisor.booting)
		triggers_jobs_changed(b); /* KeepAlive.OtherJobEnabled may hold now */
	return 0;
}

void supervise_remove(Job *job)
{
	Broker *b = job->broker;

	if (!job->unloading) {
		job->unloading = true;
		activity_job_stopping(job);
		user_channels_end(job);
		channel_close(job);
		triggers_disarm(job, true);
		activity_job_unloaded(job);
		supervise_services_changed(b);
		log_line(LOG_INFO, "%s: unloading", job->label);
	}
	throttle_cancel(job);
	if (job->pid) {
		launch_stop(job);
		return;
	}
	deferred_cancel(job);
	registry_unlink(&b->registry, job);
	registry_save_state(&b->registry);
	if (job->reload_after_exit && b->reload_file)
		b->reload_file(b, job->path);
}

void supervise_exited(Job *job, int status)
{
	launch_collect(job); /* a failed set-up step is known before the exit is judged */
	if (WIFSIGNALED(status))
		log_line(LOG_NOTICE, "%s: pid %d killed by signal %d", job->label, (int)job->pid, WTERMSIG(status));
	else
		log_line(LOG_INFO, "%s: pid %d exited with status %d", job->label, (int)job->pid, WEXITSTATUS(status));
	blame_event(job, XPCD_EVENT_EXIT, job->pid, status, NULL);
	if (!job->abandon_process_group && !job->adopted)
		kill(-job->pid, SIGTERM); /* its group's leftovers; ESRCH when none */
	if (job->transactions) { /* EnableTransactions: this run's count (launch.c) */
		munmap((void *)job->transactions, sizeof(long));
		job->transactions = NULL;
	}
	job->pid = 0;
	job->adopted = false;
	user_channels_exited(job); /* their queued check-ins wait in R now */
	job->exit_asked = job->stopping;
	job->exited_unread = job->head_at_start && channel_head(job) == job->head_at_start;
	job->stopping = false;
	job->last_status = status;
	registry_save_state(&job->broker->registry);
	activity_job_exited(job);
	if (job->unloading) {
		supervise_remove(job);
		return;
	}
	if (count_failure(job))
		enter_failed(job);
	else if (wants_relaunch(job, status))
		supervise_launch(job);
	else
		supervise_watch(job);
	deferred_settle(job);
}

static void on_sigchld(void *ctx)
{
	Broker *b = ctx;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		Job *job = registry_find_pid(&b->registry, pid);
		bool resume = false;
		if (job)
			supervise_exited(job, status);
		else if ((job = inetd_reaped(b, pid, status, &resume)) && resume)
			triggers_watch_sockets(job); /* below its limit of instances again */
		else if (!job)
			remote_export_reaped(pid, status);
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
	blame_set(job, "adopted: started by an earlier xpcd (%s)", job->why[0] ? job->why : "reason not kept");
	job->runs = 1;
	job->last_start = clock_monotonic_ns();
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
		else if (!j->disabled)
			triggers_arm(j); /* adopted */
	registry_save_state(&b->registry);
}
