/*
 * launch.c - starting and stopping a job's process.
 *
 * A job runs in its own process group (so a signal reaches its children
 * too), with its listener receive sides R at descriptors 3, 4, ... and
 * XPCD_LISTEN_PID / XPCD_LISTEN_FDS / XPCD_LISTEN_FDNAMES telling libxpc
 * which is which (docs/services.md).  Everything the child needs is prepared
 * before fork(); between fork() and exec the child calls only async-signal-
 * safe functions, since xpcd has threads (the dispatch runtime).
 *
 * ThrottleInterval: a launch sooner than that after the previous one is
 * postponed to the end of the interval (launchd's behaviour), never dropped.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/job.h"

extern char **environ;

typedef struct Spawn {
	char **envp;
	char pidvar[40]; /* "XPCD_LISTEN_PID=" + digits, filled in the child */
	char fdsvar[40]; /* "XPCD_LISTEN_FDS=" + count */
	int fds[64];
	size_t n_fds;
	uid_t uid;
	gid_t gid;
	bool set_ids;
} Spawn;

static char **build_env(Job *job, Spawn *sp)
{
	size_t n_env = 0, n_job = 0, k = 0;
	char **envp;
	char *names;
	size_t names_len = 32;

	while (environ[n_env])
		n_env++;
	while (job->env && job->env[n_job])
		n_job++;
	for (size_t i = 0; i < job->n_services; i++)
		names_len += strlen(job->services[i].name) + 1;
	envp = calloc(n_env + n_job + 5, sizeof(char *));
	names = malloc(names_len);
	if (!envp || !names) {
		free(envp);
		free(names);
		return NULL;
	}
	strcpy(names, "XPCD_LISTEN_FDNAMES=");
	for (size_t i = 0; i < job->n_services; i++) {
		if (i)
			strcat(names, ":");
		strcat(names, job->services[i].name);
	}
	for (size_t i = 0; i < n_env; i++)
		if (strncmp(environ[i], "XPCD_LISTEN_", 12) != 0)
			envp[k++] = environ[i];
	for (size_t i = 0; i < n_job; i++)
		envp[k++] = job->env[i];
	snprintf(sp->fdsvar, sizeof(sp->fdsvar), "XPCD_LISTEN_FDS=%zu", job->n_services);
	envp[k++] = sp->pidvar;
	envp[k++] = sp->fdsvar;
	envp[k++] = names;
	envp[k] = NULL;
	return envp;
}

static void free_env(char **envp)
{
	size_t k = 0;

	if (!envp)
		return;
	while (envp[k])
		k++;
	free(envp[k - 1]); /* the FDNAMES string we allocated; the rest is borrowed */
	free(envp);
}

static int resolve_ids(Job *job, Spawn *sp)
{
	if (!job->user && !job->group)
		return 0;
	if (geteuid() != 0) {
		broker_log("%s: UserName/GroupName ignored (xpcd is not root)", job->label);
		return 0;
	}
	sp->uid = 0;
	sp->gid = 0;
	if (job->user) {
		struct passwd *pw = getpwnam(job->user);
		if (!pw) {
			broker_log("%s: UserName %s: no such user", job->label, job->user);
			return -1;
		}
		sp->uid = pw->pw_uid;
		sp->gid = pw->pw_gid;
	}
	if (job->group) {
		struct group *gr = getgrnam(job->group);
		if (!gr) {
			broker_log("%s: GroupName %s: no such group", job->label, job->group);
			return -1;
		}
		sp->gid = gr->gr_gid;
	}
	sp->set_ids = true;
	return 0;
}

static void put_digits(char *dst, long v)
{
	char tmp[24];
	int n = 0;

	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10) > 0);
	while (n)
		*dst++ = tmp[--n];
	*dst = 0;
}

/* Out of descriptors (xpcd at its RLIMIT_NOFILE), the open can still
 * reuse @target's own slot. */
static int open_std(const char *path, int flags, int target)
{
	int fd = open(path, flags | O_CLOEXEC, 0644);

	if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {
		close(target);
		fd = open(path, flags | O_CLOEXEC, 0644);
	}
	if (fd < 0)
		return -1;
	if (fd == target)
		return fcntl(fd, F_SETFD, 0) < 0 ? -1 : 0;
	if (dup2(fd, target) < 0)
		return -1;
	close(fd);
	return 0;
}

/* In the child: async-signal-safe calls only. */
static void child_exec(Job *job, Spawn *sp)
{
	int high[64];
	const char *prog = job->program ? job->program : job->argv[0];
	char *fallback_argv[2] = {(char *)prog, NULL};

	sigset_t none;

	/* xpcd blocks and ignores signals it takes through sources; a job starts
	 * with the defaults */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	setpgid(0, 0);
	memcpy(sp->pidvar, "XPCD_LISTEN_PID=", 16);
	put_digits(sp->pidvar + 16, (long)getpid());
	/* move the R descriptors that sit where they must go out of the way,
	 * then to 3, 4, ... (dup2 clears close-on-exec on the copies, which is
	 * what the job inherits).  Only those: a fixed high target (it was
	 * 100) fails under a lower RLIMIT_NOFILE, and every copy costs a
	 * descriptor xpcd may not have. */
	for (size_t i = 0; i < sp->n_fds; i++)
		high[i] = sp->fds[i] >= (int)(3 + sp->n_fds) ? sp->fds[i]
							     : fcntl(sp->fds[i], F_DUPFD_CLOEXEC, (int)(3 + sp->n_fds));
	for (size_t i = 0; i < sp->n_fds; i++)
		if (high[i] < 0 || dup2(high[i], (int)(3 + i)) < 0)
			_exit(127);
	if (open_std(job->stdin_path ? job->stdin_path : "/dev/null", O_RDONLY, 0) < 0)
		_exit(127);
	if (job->stdout_path && open_std(job->stdout_path, O_WRONLY | O_CREAT | O_APPEND, 1) < 0)
		_exit(127);
	if (job->stderr_path && open_std(job->stderr_path, O_WRONLY | O_CREAT | O_APPEND, 2) < 0)
		_exit(127);
	if (job->workdir && chdir(job->workdir) < 0)
		_exit(127);
	if (sp->set_ids && (setgroups(0, NULL) < 0 || setgid(sp->gid) < 0 || setuid(sp->uid) < 0))
		_exit(127);
	execvpe(prog, job->argv ? job->argv : fallback_argv, sp->envp);
	_exit(127);
}

static void launch_now(Job *job)
{
	Spawn sp = {0};
	pid_t pid;

	if (resolve_ids(job, &sp) < 0)
		return;
	sp.n_fds = job->n_services < 64 ? job->n_services : 64;
	for (size_t i = 0; i < sp.n_fds; i++)
		sp.fds[i] = job->services[i].recv_fd;
	sp.envp = build_env(job, &sp);
	if (!sp.envp) {
		broker_log("%s: cannot launch: out of memory", job->label);
		return;
	}
	pid = fork();
	if (pid == 0)
		child_exec(job, &sp);
	free_env(sp.envp);
	if (pid < 0) {
		broker_log("%s: fork failed: %s", job->label, strerror(errno));
		return;
	}
	setpgid(pid, pid); /* also here, so a signal right away reaches the group */
	job->pid = pid;
	job->runs++;
	clock_gettime(CLOCK_MONOTONIC, &job->last_start);
	broker_log("%s: started, pid %d", job->label, (int)pid);
	jobs_save_state();
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
	service_unwatch(job);
	since = job->runs ? broker_since(&job->last_start) : 1e9;
	wait = (double)job->throttle_interval - since;
	if (wait > 0) {
		broker_log("%s: throttled, launching in %.1f s", job->label, wait);
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
		broker_log("%s: did not exit within ExitTimeOut (%u s): SIGKILL", job->label, job->exit_timeout);
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
