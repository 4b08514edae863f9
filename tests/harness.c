/* SPDX-License-Identifier: MIT */
/*
 * harness.c - timeout, leak check and small process helpers for the tests.
 * See harness.h.  Deliberately independent of libxpc except for
 * harness_warm_dispatch(), which only calls the public dispatch API.
 */
#include "harness.h"

#include <dirent.h>
#include <grp.h>
#include <pwd.h>
#include <dispatch/dispatch.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int harness_failures;

#define MAX_TRACKED 4096
static unsigned char open_at_begin[MAX_TRACKED];

/*
 * The timeout's clean-up: a test that timed out must not leave its
 * children (a private xpcd, the services it started, clients) running
 * for ever.  The alarm may have interrupted any code holding any lock
 * (malloc's), so this uses async-signal-safe calls only: open, read,
 * getdents64, kill, waitpid.  Each thread's children are listed in
 * /proc/self/task/TID/children; each child is SIGKILLed with the process
 * group it leads (a job of xpcd leads its own), as harness_kill_children()
 * does.  Return: how many were killed.
 */
struct harness_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static int kill_listed_children(const char *tid)
{
	char path[96] = "/proc/self/task/", buf[512];
	size_t len = strlen(path), tl = strlen(tid);
	pid_t pid = 0;
	ssize_t got;
	int fd, n = 0;

	if (len + tl + sizeof("/children") > sizeof(path))
		return 0;
	memcpy(path + len, tid, tl);
	memcpy(path + len + tl, "/children", sizeof("/children"));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	while ((got = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < got; i++) {
			if (buf[i] >= '0' && buf[i] <= '9') {
				pid = pid * 10 + (buf[i] - '0');
				continue;
			}
			if (pid > 0) {
				kill(-pid, SIGKILL);
				kill(pid, SIGKILL);
				n++;
			}
			pid = 0;
		}
	if (pid > 0) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		n++;
	}
	close(fd);
	return n;
}

static int kill_children_signal_safe(void)
{
	char buf[2048];
	long got;
	int n = 0, d = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (d < 0)
		return 0;
	while ((got = syscall(SYS_getdents64, d, buf, sizeof(buf))) > 0)
		for (long off = 0; off < got;) {
			struct harness_dirent64 *e = (struct harness_dirent64 *)(void *)(buf + off);
			off += e->d_reclen;
			if (e->d_name[0] != '.')
				n += kill_listed_children(e->d_name);
		}
	close(d);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	return n;
}

static void on_alarm(int sig)
{
	(void)sig;
	static const char msg[] = "harness: test timed out\n";
	ssize_t r = write(2, msg, sizeof(msg) - 1);
	(void)r;
	/* repeated: the orphans of the killed reach this process (a subreaper) */
	for (int round = 0; round < 100 && kill_children_signal_safe() > 0; round++)
		nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
	_exit(124);
}

static void scan_fds(unsigned char *set)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	memset(set, 0, MAX_TRACKED);
	if (!d)
		return;
	while ((e = readdir(d))) {
		long fd = strtol(e->d_name, NULL, 10);
		if (e->d_name[0] != '.' && fd >= 0 && fd < MAX_TRACKED && fd != dirfd(d))
			set[fd] = 1;
	}
	closedir(d);
}

void harness_snapshot_fds(void)
{
	scan_fds(open_at_begin);
}

void harness_begin(unsigned seconds)
{
	signal(SIGALRM, on_alarm);
	signal(SIGPIPE, SIG_IGN);
	alarm(seconds);
	harness_snapshot_fds();
}

int harness_count_fds(void)
{
	unsigned char now[MAX_TRACKED];
	int n = 0;

	scan_fds(now);
	for (int i = 0; i < MAX_TRACKED; i++)
		n += now[i];
	return n;
}

/* Defined when the test links the connection layer: its cache of looked-up
 * service channels holds descriptors on purpose (docs/services.md). */
extern void connection_forget_services(void) __attribute__((weak));

/* Descriptors open now that were not at harness_begin. */
static int count_new_fds(unsigned char *now)
{
	int n = 0;

	scan_fds(now);
	for (int fd = 0; fd < MAX_TRACKED; fd++)
		n += now[fd] && !open_at_begin[fd];
	return n;
}

int harness_end(void)
{
	unsigned char now[MAX_TRACKED];
	int leaked = 0;

	if (connection_forget_services)
		connection_forget_services();
	/* a cancelled connection closes its socket in a cancel handler on
	 * another thread: on a loaded machine that may come a little later
	 * than the test's own wait, so a descriptor counts as leaked only if
	 * it is still open after 5 s */
	for (int i = 0; i < 500 && count_new_fds(now) > 0; i++)
		usleep(10000);
	for (int fd = 0; fd < MAX_TRACKED; fd++) {
		if (now[fd] && !open_at_begin[fd]) {
			char path[64], target[PATH_MAX] = "?";
			snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
			ssize_t n = readlink(path, target, sizeof(target) - 1);
			if (n >= 0)
				target[n] = 0;
			fprintf(stderr, "harness: descriptor %d leaked (%s)\n", fd, target);
			leaked++;
		}
	}
	alarm(0);
	if (harness_failures)
		fprintf(stderr, "harness: %d check(s) failed\n", harness_failures);
	return (harness_failures || leaked) ? 1 : 0;
}

static void noop(void *ctx)
{
	(void)ctx;
}

void harness_warm_dispatch(void)
{
	dispatch_queue_t q = dispatch_queue_create("harness.warm", NULL);
	dispatch_sync_f(q, NULL, noop);
	dispatch_async_f(dispatch_get_global_queue(0, 0), NULL, noop);
	dispatch_release(q);
}

int harness_wait_pid(pid_t pid, unsigned seconds)
{
	struct timespec step = {0, 10 * 1000 * 1000};
	int status;

	for (unsigned i = 0; i < seconds * 100u; i++) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return status;
		if (r < 0 && errno != EINTR)
			return -1;
		nanosleep(&step, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	fprintf(stderr, "harness: child %d killed after %u s\n", (int)pid, seconds);
	return -1;
}

const char *harness_sibling(const char *argv0, const char *name)
{
	static char buf[PATH_MAX];
	const char *slash = strrchr(argv0, '/');
	int dirlen = slash ? (int)(slash - argv0) : 1;

	snprintf(buf, sizeof(buf), "%.*s/%s", dirlen, slash ? argv0 : ".", name);
	return buf;
}

void harness_adopt_orphans(void)
{
	prctl(PR_SET_CHILD_SUBREAPER, 1);
}

const char *harness_proc_stat(pid_t pid, char *buf, size_t size)
{
	char path[64];
	const char *fields = NULL;
	char *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return NULL;
	if (fgets(buf, (int)size, f) && (p = strrchr(buf, ')')) && p[1] == ' ')
		fields = p + 2; /* the command may hold spaces and parentheses */
	fclose(f);
	return fields;
}

bool harness_proc_alive(pid_t pid)
{
	char buf[512];
	const char *s = harness_proc_stat(pid, buf, sizeof(buf));

	return s && s[0] != 'Z' && s[0] != 'X';
}

pid_t harness_proc_parent(pid_t pid)
{
	char buf[512];
	const char *s = harness_proc_stat(pid, buf, sizeof(buf));
	int ppid = -1;

	if (!s || sscanf(s, "%*c %d", &ppid) != 1)
		return -1;
	return ppid;
}

unsigned long long harness_proc_start_time(pid_t pid)
{
	char buf[1024];
	const char *s = harness_proc_stat(pid, buf, sizeof(buf));
	unsigned long long t = 0;

	if (s)
		sscanf(s, "%*c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu", &t);
	return t;
}

/* One pass over /proc: kills our children.  Return: how many. */
static int kill_children_once(void)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		pid_t pid = (pid_t)atoi(e->d_name);
		if (pid > 0 && harness_proc_parent(pid) == getpid()) {
			kill(-pid, SIGKILL); /* a job leads its process group */
			kill(pid, SIGKILL);
			n++;
		}
	}
	closedir(d);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	return n;
}

int harness_kill_children(void)
{
	int total = 0, n;

	for (int round = 0; round < 100 && (n = kill_children_once()) > 0; round++) {
		total += n;
		struct timespec step = {0, 10 * 1000 * 1000};
		nanosleep(&step, NULL); /* orphans of the killed reach us */
	}
	return total;
}

struct harness_user harness_unprivileged_user(int which)
{
	static const char *const names[] = { "nobody", "daemon" };
	static const uid_t fallback[] = { 65534, 1 };
	struct harness_user u = { fallback[which & 1], fallback[which & 1], names[which & 1] };
	struct passwd *pw = getpwnam(u.name);

	if (pw) {
		u.uid = pw->pw_uid;
		u.gid = pw->pw_gid;
	}
	return u;
}

void harness_require_root(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "harness: skipped: needs root to switch to another uid\n");
		exit(77);
	}
}

void harness_become(struct harness_user u)
{
	if (setgroups(0, NULL) != 0 || setresgid(u.gid, u.gid, u.gid) != 0 ||
	    setresuid(u.uid, u.uid, u.uid) != 0 || setuid(0) == 0) {
		fprintf(stderr, "harness: cannot become %s (%u): %s\n", u.name, (unsigned)u.uid,
			strerror(errno));
		_exit(125);
	}
	prctl(PR_SET_PDEATHSIG, SIGKILL);
}

pid_t harness_spawn_as(struct harness_user u, char *const argv[])
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	harness_become(u);
	execv(argv[0], argv);
	fprintf(stderr, "harness: exec %s as %s: %s\n", argv[0], u.name, strerror(errno));
	_exit(127);
}
