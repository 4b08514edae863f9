/*
 * broker-launch.c - a process double for fuzz-broker: launch_start(),
 * launch_collect(), launch_record_failure(), launch_signal() and
 * launch_stop() of src/broker/launch.c without fork (and without
 * src/broker/spawn.c and output.c).
 *
 * The fuzzer drives the broker's request handler in-process, thousands of
 * times a second; real launches would fork and exec.  Here a launch gives
 * the job a fake pid above the kernel's pid_max (so nothing can ever signal
 * a real process), and a signal that ends a process or a stop queues an
 * exit that fuzz_launch_reap() delivers to supervise_exited() the way
 * supervise.c's SIGCHLD handler would.  The real launch.c is tested with
 * real processes by tests/broker.
 */
#include <signal.h>
#include <time.h>

#include "broker/broker.h"
#include "broker/launch.h"
#include "broker/registry.h"
#include "broker/supervise.h"
#include "fuzz-broker.h"
#include "shared/clock.h"

#define FAKE_PID_BASE 4194305 /* above PID_MAX_LIMIT (2^22) */
#define MAX_EXITS 256

static pid_t next_pid = FAKE_PID_BASE;
static struct {
	Broker *broker; /* whose registry has the job */
	pid_t pid;
	int status;
} exits[MAX_EXITS];
static size_t n_exits;

void fuzz_launch_reset(void)
{
	next_pid = FAKE_PID_BASE;
	n_exits = 0;
}

static void queue_exit(Broker *b, pid_t pid, int sig)
{
	if (n_exits < MAX_EXITS) {
		exits[n_exits].broker = b;
		exits[n_exits].pid = pid;
		exits[n_exits].status = sig & 0x7f; /* a wait status: killed by @sig */
		n_exits++;
	}
}

size_t fuzz_launch_reap(void)
{
	size_t done = 0;

	while (n_exits) {
		Broker *b = exits[0].broker;
		pid_t pid = exits[0].pid;
		int status = exits[0].status;
		Job *job;
		for (size_t i = 1; i < n_exits; i++)
			exits[i - 1] = exits[i];
		n_exits--;
		job = registry_find_pid(&b->registry, pid);
		if (job) {
			supervise_exited(job, status);
			done++;
		}
	}
	return done;
}

int launch_start(Job *job)
{
	job->pid = next_pid++;
	job->runs++;
	job->fail_step = job->fail_errno = 0;
	job->last_start = clock_monotonic_ns();
	return 0;
}

void launch_collect(Job *job)
{
	(void)job;
}

void launch_record_failure(Job *job, int step, int err)
{
	job->fail_step = step;
	job->fail_errno = err;
	job->fail_counted = false;
}

static bool ends_process(int sig)
{
	switch (sig) {
	case SIGCHLD: case SIGCONT: case SIGURG: case SIGWINCH:
	case SIGSTOP: case SIGTSTP: case SIGTTIN: case SIGTTOU:
		return false;
	default:
		return true;
	}
}

void launch_signal(Job *job, int sig)
{
	if (job->pid > 0 && ends_process(sig))
		queue_exit(job->broker, job->pid, sig);
}

void launch_stop(Job *job)
{
	if (!job->pid || job->stopping)
		return;
	job->stopping = true;
	launch_signal(job, SIGTERM);
}

int launch_instance(Job *job, int conn, pid_t *ret_pid, int *ret_report_fd)
{
	(void)job;
	close(conn);
	*ret_pid = next_pid++;
	*ret_report_fd = -1;
	return 0;
}

void launch_instance_exited(Job *job, pid_t pid, int report_fd, int status)
{
	(void)job;
	(void)pid;
	(void)status;
	if (report_fd >= 0)
		close(report_fd);
}
