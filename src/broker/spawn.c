/* SPDX-License-Identifier: MIT */
/*
 * spawn.c - making a job's process: fork and the set-up of the child.
 *
 * A job runs in its own process group (so a signal reaches its children
 * too), with its listener receive sides R at descriptors 3, 4, ... and
 * XPCD_LISTEN_PID / XPCD_LISTEN_FDS / XPCD_LISTEN_FDNAMES telling libxpc
 * which is which (docs/services.md).  Everything the child needs is prepared
 * before fork(): the ids and supplementary groups of UserName/GroupName,
 * the environment, the log line prefix.  Between fork() and exec the child
 * calls only async-signal-safe functions, since xpcd has threads (the
 * dispatch runtime).
 *
 * Job set-up in the child follows launchd, in this order (docs/security.md,
 * "The broker"): the R descriptors into place; then, for a UserName or
 * GroupName job of a root broker, the job's identity (setgroups with the
 * user's groups, setgid, setuid, and a check that they stuck: setuid(0)
 * must fail); only then StandardInPath, StandardOutPath, StandardErrorPath
 * (opened as the job's user, so it reaches only files that user may open)
 * and WorkingDirectory.  The /dev/null of a stream the job names no file
 * for is opened first of all, outside any RootDirectory.  A job never
 * holds the broker's log itself: what it does not send to its own files
 * goes through a pipe the broker reads.  The environment is built from
 * nothing: PATH, HOME, USER, LOGNAME and SHELL of the job's user
 * (password database), XPCD_SOCKET (this broker), XPC_TRACE, XPC_CAPTURE, XPC_MONITOR and the
 * sanitizers' *SAN_OPTIONS when xpcd has them, the job's
 * EnvironmentVariables, and last the XPCD_LISTEN_* variables.  A failing
 * step is written to the broker's log, naming the job, the step and the
 * errno, and as { step, errno } on the report pipe (its write end is
 * close-on-exec: end of file means the exec happened), and the child exits
 * with status 126 (127: exec failed).  Steps carry systemd's exit codes
 * (200/CHDIR, 203/EXEC, 217/USER, ...: spawn_step_name), so an operator
 * reads them as in systemctl status.  Standard output and error that the
 * job does not name go to the output pipe when the caller captures them
 * (output.c labels each line), else to /dev/null.
 *
 * The launchd keys of the child's set-up (keys.c, limits.c): the Sockets
 * descriptors follow the MachServices ones (XPCD_SOCKETS_*, read by
 * launch_activate_socket), then EnableTransactions' shared count
 * (XPCD_TRANSACTIONS=PID:FD, made by launch.c); before the identity is
 * taken, as root: resource limits, Nice, LowPriorityIO, Umask, then
 * RootDirectory; InitGroups false keeps only the primary group;
 * inetdCompatibility puts the connection (or the listening socket) on
 * stdio; EnableGlobbing runs the arguments through glob(3) before fork;
 * TimeOut is XPCD_TIMEOUT.
 *
 * The child execs only once the broker has recorded it (spawn_go, after
 * the state file is written): a broker killed between fork and that
 * record leaves no instance a restarted broker cannot adopt.
 *
 * What the child needs is prepared before fork by spawn-prep.c.  A leaf:
 * when to start and how to stop are launch.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <grp.h>
#include <pwd.h>
#include <linux/limits.h> /* PATH_MAX: <limits.h> is broker/limits.h here */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/job.h"
#include "broker/log.h"
#include "broker/spawn-prep.h"
#include "broker/spawn.h"
#include "shared/fdutil.h"

#define LAUNCH_SETUP_FAILED 126
#define LAUNCH_EXEC_FAILED 127

/* What the child writes on the report pipe when a step fails. */
typedef struct SpawnReport {
	int step;
	int err;
} SpawnReport;


/* ---- in the child: async-signal-safe calls only ------------------------------ */

static size_t put_str(char *dst, size_t at, size_t size, const char *s)
{
	while (s && *s && at + 1 < size)
		dst[at++] = *s++;
	dst[at] = 0;
	return at;
}

static size_t put_num(char *dst, size_t at, size_t size, long v, int width)
{
	char tmp[24];
	int n = 0;

	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10) > 0 || n < width);
	while (n && at + 1 < size)
		dst[at++] = tmp[--n];
	dst[at] = 0;
	return at;
}

/*
 * A failed set-up step, as a broker log line on @log (a copy of xpcd's
 * stderr; -1: none) and as { @code, @err } on the report pipe, then the
 * child exits with 126 (127 for exec).
 */
static void __attribute__((noreturn)) child_fail(const Spawn *sp, int log, const Job *job, SpawnStep code,
						 const char *step, const char *what, int err)
{
	SpawnReport report = {.step = (int)code, .err = err};
	char line[1024];
	struct timespec ts;
	size_t at;

	clock_gettime(CLOCK_REALTIME, &ts);
	at = put_str(line, 0, sizeof(line), sp->log_prefix);
	at = put_num(line, at, sizeof(line), (ts.tv_sec / 3600) % 24, 2);
	at = put_str(line, at, sizeof(line), ":");
	at = put_num(line, at, sizeof(line), (ts.tv_sec / 60) % 60, 2);
	at = put_str(line, at, sizeof(line), ":");
	at = put_num(line, at, sizeof(line), ts.tv_sec % 60, 2);
	at = put_str(line, at, sizeof(line), ".");
	at = put_num(line, at, sizeof(line), ts.tv_nsec / 1000000, 3);
	at = put_str(line, at, sizeof(line), " ");
	at = put_str(line, at, sizeof(line), job->label);
	at = put_str(line, at, sizeof(line), ": job set-up failed: ");
	at = put_str(line, at, sizeof(line), step);
	if (what) {
		at = put_str(line, at, sizeof(line), " ");
		at = put_str(line, at, sizeof(line), what);
	}
	at = put_str(line, at, sizeof(line), ": ");
	at = put_str(line, at, sizeof(line), strerrordesc_np(err) ? strerrordesc_np(err) : "unknown error");
	at = put_str(line, at, sizeof(line), " (errno ");
	at = put_num(line, at, sizeof(line), err, 1);
	at = put_str(line, at, sizeof(line), ")\n");
	if (log >= 0)
		(void)!write(log, line, at);
	if (sp->report_fd >= 0)
		(void)!write(sp->report_fd, &report, sizeof(report)); /* read at exit at the latest */
	_exit(code == SPAWN_EXEC ? LAUNCH_EXEC_FAILED : LAUNCH_SETUP_FAILED);
}

/* Whether a file or link owned by @owner may stand at a job's standard
 * path: only the job's own user (@uid) or root decide what is there. */
static bool std_owner_ok(uid_t owner, uid_t uid)
{
	return owner == uid || owner == 0;
}

/* @target of the link at @path as a path of its own into @out: relative
 * targets are relative to the link's directory.  Return: 0, -1 too long. */
static int std_link_target(const char *path, const char *target, char *out, size_t size)
{
	const char *slash = strrchr(path, '/');
	size_t dir = target[0] == '/' || !slash ? 0 : (size_t)(slash - path) + 1;

	if (dir + strlen(target) + 1 > size)
		return -1;
	memcpy(out, path, dir);
	memcpy(out + dir, target, strlen(target) + 1);
	return 0;
}

/*
 * @path opened with @flags, never through a link another user made: the
 * last component is opened O_NOFOLLOW; if it is a symbolic link owned by
 * the job's user or root (looked at through an O_PATH descriptor of the
 * link itself, so it cannot be swapped between the look and the read), its
 * target is opened, again O_NOFOLLOW (one level of links).  Non-blocking,
 * so that a FIFO planted in the way cannot hold the child.  One descriptor
 * at a time (the child may be at its limit, open_std).
 */
static int std_open_nofollow(const char *path, int flags, uid_t uid)
{
	char target[PATH_MAX], full[PATH_MAX];
	struct stat st = {0};
	ssize_t n;
	int fd = open(path, flags | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644), lfd, err;

	if (fd >= 0 || errno != ELOOP)
		return fd;
	if ((lfd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return -1;
	if (fstat(lfd, &st) < 0 || !S_ISLNK(st.st_mode) || !std_owner_ok(st.st_uid, uid)) {
		close(lfd);
		errno = S_ISLNK(st.st_mode) ? EPERM : ELOOP;
		return -1;
	}
	n = readlinkat(lfd, "", target, sizeof(target) - 1);
	err = errno;
	close(lfd);
	if (n <= 0) {
		errno = n < 0 ? err : ENOENT;
		return -1;
	}
	target[n] = 0;
	if (std_link_target(path, target, full, sizeof(full)) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return open(full, flags | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644);
}

/*
 * A job's StandardInPath, StandardOutPath or StandardErrorPath, opened by
 * the child as the job's user (@uid) so that another user who may write
 * the directory cannot choose what the job reads or where its output goes
 * (docs/security.md, "Paths a job names"): no link of another user is
 * followed, and what is opened must belong to the job's user or root (a
 * file, FIFO, socket or terminal another user put in the way is refused
 * with EPERM).  A FIFO of the job's user or root that has no reader yet is
 * then opened blocking, as before.  Return: the descriptor, or -1 (errno).
 */
static int std_open(const char *path, int flags, uid_t uid)
{
	struct stat st;
	int fd = std_open_nofollow(path, flags, uid);

	if (fd < 0 && errno == ENXIO && lstat(path, &st) == 0 && S_ISFIFO(st.st_mode) && std_owner_ok(st.st_uid, uid))
		fd = open(path, flags | O_CLOEXEC | O_NOFOLLOW, 0644); /* waits for its reader */
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !std_owner_ok(st.st_uid, uid)) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Out of descriptors (xpcd at its RLIMIT_NOFILE), the open can still
 * reuse @target's own slot. */
static int open_std(const char *path, int flags, int target, uid_t uid)
{
	int fd = std_open(path, flags, uid);

	if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {
		close(target);
		fd = std_open(path, flags, uid);
	}
	if (fd < 0)
		return -1;
	if (fd == target)
		return fcntl(fd, F_SETFD, 0) < 0 ? -1 : 0;
	if (dup2(fd, target) < 0) {
		int err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	close(fd);
	return 0;
}

/* The job's identity, for good: groups, gid, uid, and proof that root
 * cannot be regained. */
static void child_set_ids(const Spawn *sp, int log, const Job *job)
{
	if (setgroups((size_t)sp->n_groups, sp->groups) < 0)
		child_fail(sp, log, job, SPAWN_GROUP, "setgroups", job->user, errno);
	if (setresgid(sp->gid, sp->gid, sp->gid) < 0)
		child_fail(sp, log, job, SPAWN_GROUP, "setgid", job->group ? job->group : job->user, errno);
	if (setresuid(sp->uid, sp->uid, sp->uid) < 0)
		child_fail(sp, log, job, SPAWN_USER, "setuid", job->user, errno);
	if (getuid() != sp->uid || geteuid() != sp->uid || getgid() != sp->gid || getegid() != sp->gid ||
	    (sp->uid != 0 && setuid(0) == 0))
		child_fail(sp, log, job, SPAWN_USER, "check of the ids", job->user, EPERM);
}

/* Standard output or error @target onto the output pipe. */
static int pipe_std(const Spawn *sp, int target)
{
	return dup2(sp->output_fd, target) < 0 ? -1 : 0;
}

/* inetdCompatibility: the connection (nowait) or the listening socket
 * (wait) as standard input and output, and error unless the job names a
 * file: inetd's contract. */
static void child_inetd_stdio(const Spawn *sp, int log, const Job *job)
{
	int fd = sp->inetd_fd;

	if (fd < 0)
		child_fail(sp, log, job, SPAWN_STDIN, "inetdCompatibility", "no connection", EBADF);
	if (dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || (!job->stderr_path && dup2(fd, 2) < 0))
		child_fail(sp, log, job, SPAWN_STDIN, "inetdCompatibility", NULL, errno);
	if (job->stderr_path && open_std(job->stderr_path, O_WRONLY | O_CREAT | O_APPEND, 2, sp->uid) < 0)
		child_fail(sp, log, job, SPAWN_STDERR, "StandardErrorPath", job->stderr_path, errno);
}

/* The defaults, /dev/null for a stream the job names no file for and
 * the broker does not capture: opened before RootDirectory, as launchd's
 * jobs inherit its own, so a chroot tree needs no /dev/null. */
static void child_null_stdio(const Spawn *sp, int log, const Job *job)
{
	if (job->inetd != INETD_NONE)
		return;
	if (!job->stdin_path && open_std("/dev/null", O_RDONLY, 0, sp->uid) < 0)
		child_fail(sp, log, job, SPAWN_STDIN, "standard input", "/dev/null", errno);
	if (!job->stdout_path && sp->output_fd < 0 && open_std("/dev/null", O_WRONLY, 1, sp->uid) < 0)
		child_fail(sp, log, job, SPAWN_STDOUT, "standard output", "/dev/null", errno);
	if (!job->stderr_path && sp->output_fd < 0 && open_std("/dev/null", O_WRONLY, 2, sp->uid) < 0)
		child_fail(sp, log, job, SPAWN_STDERR, "standard error", "/dev/null", errno);
}

/* The files the job names, opened as its user (inside RootDirectory). */
static void child_open_stdio(const Spawn *sp, int log, const Job *job)
{
	if (job->inetd != INETD_NONE) {
		child_inetd_stdio(sp, log, job);
		return;
	}
	if (sp->output_fd >= 0 && !job->stdout_path && pipe_std(sp, 1) < 0)
		child_fail(sp, log, job, SPAWN_STDOUT, "output pipe", NULL, errno);
	if (sp->output_fd >= 0 && !job->stderr_path && pipe_std(sp, 2) < 0)
		child_fail(sp, log, job, SPAWN_STDERR, "output pipe", NULL, errno);
	if (job->stdin_path && open_std(job->stdin_path, O_RDONLY, 0, sp->uid) < 0)
		child_fail(sp, log, job, SPAWN_STDIN, "StandardInPath", job->stdin_path, errno);
	if (job->stdout_path && open_std(job->stdout_path, O_WRONLY | O_CREAT | O_APPEND, 1, sp->uid) < 0)
		child_fail(sp, log, job, SPAWN_STDOUT, "StandardOutPath", job->stdout_path, errno);
	if (job->stderr_path && open_std(job->stderr_path, O_WRONLY | O_CREAT | O_APPEND, 2, sp->uid) < 0)
		child_fail(sp, log, job, SPAWN_STDERR, "StandardErrorPath", job->stderr_path, errno);
}

/* @fd moved to at least @min (close-on-exec); -1 stays -1. */
static int move_high(int fd, int min)
{
	int high;

	if (fd < 0 || fd >= min)
		return fd;
	high = fcntl(fd, F_DUPFD_CLOEXEC, min);
	return high < 0 ? fd : high;
}

/* The RLIMIT_NOFILE soft limit xpcd started with (its own is raised to
 * the hard one, main.c): what its jobs get back.  -1: leave it. */
static long spawn_nofile_soft = -1;

void spawn_keep_nofile_soft(long soft)
{
	spawn_nofile_soft = soft;
}

/* Before the identity is taken, as root: limits, Nice, LowPriorityIO,
 * Umask (limits.c), RootDirectory. */
static void child_attributes(const Spawn *sp, int log, const Job *job)
{
	const char *step = NULL;
	int err = limits_apply(&job->limits, &step);

	if (err)
		child_fail(sp, log, job,
			   !strcmp(step, "Nice") ? SPAWN_NICE : !strcmp(step, "LowPriorityIO") ? SPAWN_IOPRIO : SPAWN_LIMITS,
			   step, NULL, err);
	if (job->root_dir && (chroot(job->root_dir) < 0 || chdir("/") < 0))
		child_fail(sp, log, job, SPAWN_CHROOT, "RootDirectory", job->root_dir, errno);
}

/* Until the broker recorded this process (spawn_go); end of file: it
 * died first, and a restarted broker would not know of this instance. */
static void child_wait_go(const Spawn *sp)
{
	char go;
	ssize_t n;

	do
		n = read(sp->go_fd, &go, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		_exit(126);
}

static void child_exec(const Job *job, Spawn *sp)
{
	int high[64 + SOCKETS_MAX_FDS + 1], log;
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
	put_num(sp->pidvar, 16, 40, (long)getpid(), 1);
	if (sp->sockpidvar) {
		memcpy(sp->sockpidvar, "XPCD_SOCKETS_PID=", 17);
		put_num(sp->sockpidvar, 17, 40, (long)getpid(), 1);
	}
	if (sp->txnvar) { /* the count's page is the last descriptor */
		size_t at = put_str(sp->txnvar, 0, 64, "XPCD_TRANSACTIONS=");
		at = put_num(sp->txnvar, at, 64, (long)getpid(), 1);
		at = put_str(sp->txnvar, at, 64, ":");
		put_num(sp->txnvar, at, 64, (long)(3 + sp->n_fds - 1), 1);
	}
	/* the broker's log, for set-up failures only, and the pipes: above
	 * where the R descriptors go, close-on-exec */
	log = fcntl(2, F_DUPFD_CLOEXEC, (int)(3 + sp->n_fds));
	sp->report_fd = move_high(sp->report_fd, (int)(3 + sp->n_fds));
	sp->output_fd = move_high(sp->output_fd, (int)(3 + sp->n_fds));
	sp->go_fd = move_high(sp->go_fd, (int)(3 + sp->n_fds));
	/* inetd's connection, out of the way of the moves below; wait: the
	 * first socket, in its place after them */
	sp->inetd_fd = -1;
	if (job->inetd == INETD_NOWAIT && job->inetd_conn >= 0)
		sp->inetd_fd = fcntl(job->inetd_conn, F_DUPFD_CLOEXEC, (int)(3 + sp->n_fds));
	else if (job->inetd == INETD_WAIT && job->sockets.n_fds)
		sp->inetd_fd = (int)(3 + job->n_services);
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
			child_fail(sp, log, job, SPAWN_FDS, "listener descriptors", NULL, errno);
	if (spawn_nofile_soft >= 0) /* a job may use select(); its plist's limits come after */
		fd_restore_limit(spawn_nofile_soft);
	child_null_stdio(sp, log, job);
	child_attributes(sp, log, job);
	if (sp->set_ids)
		child_set_ids(sp, log, job);
	child_open_stdio(sp, log, job);
	if (job->workdir && chdir(job->workdir) < 0)
		child_fail(sp, log, job, SPAWN_CHDIR, "WorkingDirectory", job->workdir, errno);
	child_wait_go(sp);
	execvpe(prog, sp->argv ? sp->argv : job->argv ? job->argv : fallback_argv, sp->envp);
	child_fail(sp, log, job, SPAWN_EXEC, "exec", prog, errno);
}

/* The parent's side of a failure before fork. */
static int spawn_fail(SpawnResult *ret, SpawnStep step, int err)
{
	ret->failure = (SpawnFailure){.step = (int)step, .err = err};
	return -1;
}

/* The report pipe and, when @capture, the output pipe: R to @ret, W into
 * @sp; the go pipe: W to @ret, R (blocking) into @sp.  Return: 0 or -1
 * (errno). */
static int open_pipes(Spawn *sp, bool capture, SpawnResult *ret)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	sp->go_fd = p[0];
	ret->go_fd = p[1];
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
		return -1;
	ret->report_fd = p[0];
	sp->report_fd = p[1];
	if (!capture)
		return 0;
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
		return -1;
	ret->output_fd = p[0];
	sp->output_fd = p[1];
	return fcntl(sp->output_fd, F_SETFL, 0); /* the job's end blocks */
}

static void close_pipes(Spawn *sp, SpawnResult *ret, bool parent_too)
{
	if (sp->go_fd >= 0)
		close(sp->go_fd);
	if (parent_too && ret->go_fd >= 0)
		close(ret->go_fd);
	if (parent_too)
		ret->go_fd = -1;
	if (sp->report_fd >= 0)
		close(sp->report_fd);
	if (sp->output_fd >= 0)
		close(sp->output_fd);
	if (parent_too && ret->report_fd >= 0)
		close(ret->report_fd);
	if (parent_too && ret->output_fd >= 0)
		close(ret->output_fd);
	if (parent_too)
		ret->report_fd = ret->output_fd = -1;
}

int spawn_job(const Job *job, const char *socket_path, bool capture, SpawnResult *ret)
{
	Spawn sp = {.report_fd = -1, .output_fd = -1, .go_fd = -1};
	pid_t pid;

	*ret = (SpawnResult){.pid = 0, .report_fd = -1, .output_fd = -1, .go_fd = -1};
	if (spawn_prep_ids(job, &sp) < 0)
		return spawn_fail(ret, job->group && !job->user ? SPAWN_GROUP : SPAWN_USER, 0);
	sp.n_fds = job->n_services < 64 ? job->n_services : 64;
	for (size_t i = 0; i < sp.n_fds; i++)
		sp.fds[i] = job->services[i].recv_fd;
	for (size_t i = 0; i < job->sockets.n_fds; i++)
		sp.fds[sp.n_fds++] = job->sockets.fds[i];
	if (job->txn_fd >= 0)
		sp.fds[sp.n_fds++] = job->txn_fd;
	log_format_prefix(LOG_ERR, sp.log_prefix, sizeof(sp.log_prefix));
	errno = ENOMEM;
	if (spawn_prep_env(job, socket_path, &sp) < 0 || open_pipes(&sp, capture, ret) < 0 ||
	    (job->enable_globbing && job->argv && !(sp.argv = spawn_prep_glob(job->argv)))) {
		int err = errno;
		log_line(LOG_ERR, "%s: cannot launch: %s%s", job->label, strerror(err),
			 job->enable_globbing ? " (or EnableGlobbing gave more than 4096 arguments)" : "");
		spawn_prep_free(sp.envp);
		close_pipes(&sp, ret, true);
		return spawn_fail(ret, SPAWN_MEMORY, err);
	}
	pid = fork();
	if (pid == 0) {
		close(ret->go_fd); /* or the child would never see its broker die */
		child_exec(job, &sp);
	}
	spawn_prep_free(sp.envp);
	spawn_prep_free(sp.argv);
	close_pipes(&sp, ret, pid < 0);
	if (pid < 0) {
		int err = errno;
		log_line(LOG_ERR, "%s: fork failed: %s", job->label, strerror(err));
		return spawn_fail(ret, SPAWN_MEMORY, err);
	}
	setpgid(pid, pid); /* also here, so a signal right away reaches the group */
	ret->pid = pid;
	return 0;
}

void spawn_go(SpawnResult *ret)
{
	if (ret->go_fd < 0)
		return;
	(void)!write(ret->go_fd, "g", 1); /* an empty pipe: never blocks */
	close(ret->go_fd);
	ret->go_fd = -1;
}

int spawn_read_report(int fd, SpawnFailure *ret)
{
	SpawnReport r;
	ssize_t n = read(fd, &r, sizeof(r));

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? -EAGAIN : 0;
	if (n != (ssize_t)sizeof(r))
		return 0; /* EOF: the exec happened (or the child died before a step failed) */
	*ret = (SpawnFailure){.step = r.step, .err = r.err};
	return 1;
}
