/* SPDX-License-Identifier: MIT */
/*
 * launch.c - starting a job's process now, hearing how its set-up went,
 * and stopping it.
 *
 * launch_start() spawns the process (spawn.c) and watches the report pipe
 * of that start: end of file means the exec happened, a record { step,
 * errno } that a set-up step failed (launch_collect), which is kept in the
 * job (fail_step, fail_errno) for the log, `xpcctl print` and `list`, and
 * for the start limit supervise.c applies.  The exit is seen by
 * supervise.c, which collects the report first, so a failure is known
 * before the exit is judged whichever event comes first.  Stopping is
 * SIGTERM to the job's process group, then SIGKILL after ExitTimeOut.
 *
 * EnableTransactions: the job gets a shared page (a memfd sealed at its
 * size, after its other descriptors, named by XPCD_TRANSACTIONS=PID:FD)
 * where libxpc keeps its count of open transactions
 * (src/connection/launch.c).  Stopping a job whose count is 0 is SIGKILL
 * at once, as launchd stops an inactive process; with transactions open
 * it is SIGTERM, then SIGKILL after ExitTimeOut.
 * When to start (ThrottleInterval, the start limit) is supervise.c's.
 * fuzz/broker-launch.c is a double of this file.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "broker/activity.h"
#include "broker/blame.h"
#include "broker/broker.h"
#include "broker/launch.h"
#include "shared/clock.h"
#include "shared/xpcd-protocol.h"
#include "broker/log.h"
#include "broker/output.h"
#include "broker/registry.h"
#include "broker/spawn.h"
#include "broker/step.h"

void launch_record_failure(Job *job, int step, int err)
{
	job->fail_step = step;
	job->fail_errno = err;
	job->fail_counted = false;
	if (err)
		log_line(LOG_ERR, "%s: start failed at %s: %s (errno %d)", job->label, step_name(step),
			 strerror(err), err);
	else
		log_line(LOG_ERR, "%s: start failed at %s", job->label, step_name(step));
}

/* Reads the report pipe of the running start; ends the watch once it has
 * said something. */
static void report_read(Job *job)
{
	SpawnFailure f;
	int r = spawn_read_report((int)dispatch_source_get_handle(job->report_watch), &f);

	if (r == -EAGAIN)
		return;
	if (r == 1)
		launch_record_failure(job, f.step, f.err);
	dispatch_source_cancel(job->report_watch);
	dispatch_release(job->report_watch);
	job->report_watch = NULL;
}

static void on_report(void *ctx)
{
	Job *job = ctx;

	if (job->report_watch)
		report_read(job);
}

void launch_collect(Job *job)
{
	if (job->report_watch)
		report_read(job);
}

/* Watches @fd (consumed), the report pipe of the start just made. */
static void report_watch(Job *job, int fd)
{
	dispatch_source_t s = dispatch_source_create(DISPATCH_SOURCE_TYPE_READ, (uintptr_t)fd, 0,
						     dispatch_get_main_queue());

	if (!s) {
		close(fd);
		return;
	}
	dispatch_set_context(s, job);
	dispatch_source_set_event_handler_f(s, on_report);
	dispatch_source_set_cancel_handler(s, ^{ close(fd); });
	dispatch_resume(s);
	job->report_watch = s;
}

static void launch_transactions_close(Job *job)
{
	if (job->transactions)
		munmap((void *)job->transactions, sizeof(long));
	job->transactions = NULL;
}

/* EnableTransactions: the shared count, mapped in xpcd (job->transactions)
 * and passed to the job (job->txn_fd, for spawn.c).  Without it (logged)
 * the job runs and is stopped as a busy one.  The memfd is sealed at its
 * size: a job that could truncate it would make xpcd's next read of the
 * count a SIGBUS (tests/security sec-broker-launch-txn-truncate). */
static void transactions_open(Job *job)
{
	int fd = memfd_create("xpcd-transactions", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	void *p;

	launch_transactions_close(job);
	if (fd >= 0 && ftruncate(fd, (off_t)sizeof(long)) == 0 &&
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) == 0 &&
	    (p = mmap(NULL, sizeof(long), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) != MAP_FAILED) {
		job->transactions = p;
		job->txn_fd = fd;
		return;
	}
	log_line(LOG_WARNING, "%s: EnableTransactions: no shared count: %s", job->label, strerror(errno));
	if (fd >= 0)
		close(fd);
}


int launch_start(Job *job)
{
	Broker *b = job->broker;
	SpawnResult r;
	int s;

	launch_collect(job); /* a previous start's report, if still unread */
	if (job->enable_transactions)
		transactions_open(job);
	s = spawn_job(job, b->config.socket_path, b->config.capture_output, &r);
	if (job->txn_fd >= 0) { /* the job's now; the mapping stays */
		close(job->txn_fd);
		job->txn_fd = -1;
	}
	if (job->inetd_conn >= 0) { /* the job's now (or lost with a failed start) */
		close(job->inetd_conn);
		job->inetd_conn = -1;
	}
	if (s < 0) {
		launch_transactions_close(job);
		launch_record_failure(job, r.failure.step, r.failure.err);
		return -1;
	}
	job->pid = r.pid;
	job->runs++;
	job->fail_step = job->fail_errno = 0;
	job->last_start = clock_monotonic_ns();
	report_watch(job, r.report_fd);
	if (r.output_fd >= 0)
		output_capture(job->label, r.pid, r.output_fd);
	log_line(LOG_INFO, "%s: started, pid %d", job->label, (int)r.pid);
	blame_event(job, XPCD_EVENT_LAUNCH, r.pid, -1, job->why[0] ? job->why : NULL);
	registry_save_state(&b->registry);
	spawn_go(&r); /* recorded: now it may run (spawn.h) */
	activity_job_started(job);
	return 0;
}

int launch_instance(Job *job, int conn, pid_t *ret_pid, int *ret_report_fd)
{
	Broker *b = job->broker;
	SpawnResult r;
	int s;

	job->inetd_conn = conn;
	s = spawn_job(job, b->config.socket_path, b->config.capture_output, &r);
	job->inetd_conn = -1;
	close(conn); /* the instance's now (or lost with a failed start) */
	if (s < 0) {
		launch_record_failure(job, r.failure.step, r.failure.err);
		return -1;
	}
	job->runs++;
	*ret_pid = r.pid;
	*ret_report_fd = r.report_fd;
	if (r.output_fd >= 0)
		output_capture(job->label, r.pid, r.output_fd);
	log_line(LOG_INFO, "%s: started, pid %d (inetdCompatibility: a connection)", job->label, (int)r.pid);
	spawn_go(&r); /* serves only its connection: not in the state file */
	return 0;
}

void launch_instance_exited(Job *job, pid_t pid, int report_fd, int status)
{
	SpawnFailure f;

	if (report_fd >= 0 && spawn_read_report(report_fd, &f) == 1)
		launch_record_failure(job, f.step, f.err);
	if (report_fd >= 0)
		close(report_fd);
	if (WIFSIGNALED(status))
		log_line(LOG_NOTICE, "%s: pid %d killed by signal %d", job->label, (int)pid, WTERMSIG(status));
	else
		log_line(LOG_INFO, "%s: pid %d exited with status %d", job->label, (int)pid, WEXITSTATUS(status));
	if (!job->abandon_process_group)
		kill(-pid, SIGTERM); /* its group's leftovers; ESRCH when none */
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
	activity_job_stopping(job);
	if (job->transactions && atomic_load(job->transactions) <= 0) {
		log_line(LOG_INFO, "%s: no open transaction (EnableTransactions): SIGKILL", job->label);
		launch_signal(job, SIGKILL);
		return;
	}
	launch_signal(job, SIGTERM);
	dispatch_after_f(dispatch_time(DISPATCH_TIME_NOW, (int64_t)job->exit_timeout * (int64_t)NSEC_PER_SEC),
			 dispatch_get_main_queue(), job, kill_timeout);
}
