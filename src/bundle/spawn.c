/* SPDX-License-Identifier: MIT */
/*
 * spawn.c - private instances of bundled XPC services: starting them,
 * knowing which run, reaping them (docs/bundled-services.md).
 *
 * One instance per name and process (Apple: one per application), at most
 * BUNDLE_MAX_INSTANCES.  Each is a child of this process started with:
 *   - the receive side R of a fresh listener pair at descriptor 3, every
 *     other descriptor above 2 closed; this process keeps W only (so no
 *     other program can reach the instance);
 *   - this process's environment without XPCD_LISTEN_*, then the bundle's
 *     EnvironmentVariables, XPC_SERVICE_NAME=NAME, XPCD_LISTEN_PID/FDS/
 *     FDNAMES naming R, and XPCD_LISTEN_PRIVATE=1;
 *   - PR_SET_PDEATHSIG(SIGKILL), and the default signal mask and actions.
 * The parent death signal follows the *thread* that forked, so every
 * instance is forked by one launcher thread that lives as long as the
 * process (started at the first launch, blocked in a condition wait).
 * Between fork and exec the child makes only async-signal-safe calls;
 * everything it needs is prepared before.  It is started through the
 * descriptor locate.c checked (execveat with AT_EMPTY_PATH).
 *
 * Reaping: a pidfd per instance watched by a dispatch READ source; when it
 * fires the child is reaped (waitpid WNOHANG; if the application reaps
 * its own children, the wait finds nothing and that is fine) and the
 * instance forgotten, so the next connection starts a new one.
 *
 * Locking: `bundle_lock` guards the table; the launcher has its own.
 */
#include "bundle/bundle.h"

#include <dispatch/dispatch.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "shared/clock.h"
#include "shared/lock.h"
#include "transport/unix/unix.h"

extern char **environ;

typedef struct Instance {
	BundleService svc;       /* what to start (name, executable, environment) */
	pid_t pid;               /* the running process, 0 while stopped */
	int r, w;                /* the channel: both ours (R also the process's) */
	dispatch_source_t watch; /* running: READ on the pidfd (its cancel handler closes it) */
	dispatch_source_t rwatch; /* stopped: READ on R, a queued check-in starts it */
	uint64_t last_launch_ns; /* CLOCK_MONOTONIC */
	bool launch_pending;     /* a throttled launch is scheduled */
} Instance;

static pthread_mutex_t bundle_lock = PTHREAD_MUTEX_INITIALIZER;
static Instance *bundle_instances[BUNDLE_MAX_INSTANCES];
static size_t bundle_n;
static dispatch_queue_t bundle_queue; /* reaping; made under bundle_lock */
static atomic_int bundle_watched;     /* pidfds not closed yet */

/* ---- the launcher thread ----------------------------------------------------------- */

typedef struct SpawnReq {
	char **argv, **envp;
	char *pidvar;   /* inside envp: "XPCD_LISTEN_PID=" and room for digits */
	int exe_fd, r;  /* borrowed */
	pid_t parent;
	pid_t pid;      /* result: > 0, or -errno */
	bool done;
	struct SpawnReq *next;
} SpawnReq;

static pthread_mutex_t launcher_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t launcher_cond = PTHREAD_COND_INITIALIZER;
static SpawnReq *launcher_queue;
static bool launcher_running;

static size_t spawn_put_num(char *dst, size_t at, long v)
{
	char tmp[24];
	int n = 0;

	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10) > 0);
	while (n)
		dst[at++] = tmp[--n];
	dst[at] = 0;
	return at;
}

/* In the child: async-signal-safe calls only. */
static void __attribute__((noreturn)) spawn_child(SpawnReq *rq)
{
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	sigset_t none;
	int r, e;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != rq->parent)
		_exit(127); /* the application died before the line above */
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			sigaction(s, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	spawn_put_num(rq->pidvar, 16, (long)getpid());
	r = fcntl(rq->r, F_DUPFD, 10);
	e = fcntl(rq->exe_fd, F_DUPFD_CLOEXEC, 10);
	if (r < 0 || e < 0 || dup2(r, 3) < 0 || dup3(e, 4, O_CLOEXEC) < 0)
		_exit(126);
	syscall(SYS_close_range, 5u, ~0u, 0u);
	syscall(SYS_execveat, 4, "", rq->argv, rq->envp, AT_EMPTY_PATH);
	_exit(127);
}

static void *spawn_launcher(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&launcher_lock);
	for (;;) {
		SpawnReq *rq;
		while (!launcher_queue)
			pthread_cond_wait(&launcher_cond, &launcher_lock);
		rq = launcher_queue;
		launcher_queue = rq->next;
		pthread_mutex_unlock(&launcher_lock);
		rq->pid = fork();
		if (rq->pid == 0)
			spawn_child(rq);
		if (rq->pid < 0)
			rq->pid = -errno;
		pthread_mutex_lock(&launcher_lock);
		rq->done = true;
		pthread_cond_broadcast(&launcher_cond);
	}
	return NULL;
}

/* Forks through the launcher thread (started on first use, with every
 * signal blocked).  Return: the pid, or a negative errno. */
static pid_t spawn_via_launcher(SpawnReq *rq)
{
	pthread_attr_t attr;
	pthread_t t;
	sigset_t all, old;
	int err = 0;

	pthread_mutex_lock(&launcher_lock);
	if (!launcher_running) {
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		err = pthread_create(&t, &attr, spawn_launcher, NULL);
		pthread_attr_destroy(&attr);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		launcher_running = err == 0;
	}
	if (err) {
		pthread_mutex_unlock(&launcher_lock);
		return -err;
	}
	rq->next = launcher_queue;
	launcher_queue = rq;
	pthread_cond_broadcast(&launcher_cond);
	while (!rq->done)
		pthread_cond_wait(&launcher_cond, &launcher_lock);
	pthread_mutex_unlock(&launcher_lock);
	return rq->pid;
}

/* ---- preparing an instance ---------------------------------------------------------- */

static void spawn_free_strv(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static int spawn_env_add(char **envp, size_t *k, char *s)
{
	if (!s)
		return -ENOMEM;
	envp[(*k)++] = s;
	return 0;
}

/* This process's environment (without XPCD_LISTEN_*), the bundle's
 * variables, and the instance's own. */
static int spawn_build_env(const BundleService *svc, SpawnReq *rq)
{
	size_t n = 8, k = 0;
	char *s;

	for (size_t i = 0; environ && environ[i]; i++)
		n++;
	for (size_t i = 0; svc->env && svc->env[i]; i++)
		n++;
	rq->envp = calloc(n, sizeof(char *));
	if (!rq->envp)
		return -ENOMEM;
	for (size_t i = 0; environ && environ[i]; i++)
		if (strncmp(environ[i], "XPCD_LISTEN_", 12) && strncmp(environ[i], "XPC_SERVICE_NAME=", 17) &&
		    spawn_env_add(rq->envp, &k, strdup(environ[i])) < 0)
			return -ENOMEM;
	for (size_t i = 0; svc->env && svc->env[i]; i++)
		if (spawn_env_add(rq->envp, &k, strdup(svc->env[i])) < 0)
			return -ENOMEM;
	if (asprintf(&s, "XPC_SERVICE_NAME=%s", svc->name) < 0 || spawn_env_add(rq->envp, &k, s) < 0)
		return -ENOMEM;
	if (asprintf(&s, "XPCD_LISTEN_FDNAMES=%s", svc->name) < 0 || spawn_env_add(rq->envp, &k, s) < 0)
		return -ENOMEM;
	if (spawn_env_add(rq->envp, &k, strdup("XPCD_LISTEN_FDS=1")) < 0 ||
	    spawn_env_add(rq->envp, &k, strdup("XPCD_LISTEN_PRIVATE=1")) < 0)
		return -ENOMEM;
	if (!(s = calloc(1, 40)) || spawn_env_add(rq->envp, &k, s) < 0)
		return -ENOMEM;
	memcpy(s, "XPCD_LISTEN_PID=", 16);
	rq->pidvar = s;
	return 0;
}

/* Starts @svc with @r (borrowed) as its channel.  Return: pid or -errno. */
static pid_t spawn_instance(const BundleService *svc, int r, char *why, size_t size)
{
	SpawnReq rq = {.exe_fd = svc->exe_fd, .r = r, .parent = getpid()};
	pid_t pid = -ENOMEM;

	rq.argv = calloc(2, sizeof(char *));
	if (rq.argv && (rq.argv[0] = strdup(svc->path)) && spawn_build_env(svc, &rq) == 0)
		pid = spawn_via_launcher(&rq);
	spawn_free_strv(rq.argv);
	spawn_free_strv(rq.envp);
	if (pid < 0)
		snprintf(why, size, "bundled XPC service %s: cannot start %s: %s", svc->name, svc->path, strerror((int)-pid));
	return pid;
}

/* ---- the table of instances ----------------------------------------------------------- */

static Instance *bundle_find_locked(const char *name)
{
	lock_assert_held(&bundle_lock);
	for (size_t i = 0; i < bundle_n; i++)
		if (!strcmp(bundle_instances[i]->svc.name, name))
			return bundle_instances[i];
	return NULL;
}

static void bundle_cancel(dispatch_source_t *src)
{
	if (!*src)
		return;
	dispatch_source_cancel(*src);
	dispatch_release(*src);
	*src = NULL;
}

/* Takes @in out of the table and frees it (locked); a running process is
 * killed (the caller reaps it). */
static void bundle_remove_locked(Instance *in)
{
	lock_assert_held(&bundle_lock);
	for (size_t i = 0; i < bundle_n; i++)
		if (bundle_instances[i] == in) {
			bundle_instances[i] = bundle_instances[--bundle_n];
			break;
		}
	if (in->pid > 0)
		kill(in->pid, SIGKILL);
	bundle_cancel(&in->watch);
	if (in->rwatch) { /* R goes once the source let go of it */
		int r = in->r;
		atomic_fetch_add(&bundle_watched, 1);
		dispatch_source_set_cancel_handler(in->rwatch, ^{
			close(r);
			atomic_fetch_sub(&bundle_watched, 1);
		});
		bundle_cancel(&in->rwatch);
	} else {
		close(in->r);
	}
	close(in->w);
	bundle_service_clear(&in->svc);
	free(in);
}

static void bundle_launch_locked(Instance *in);

static Instance *bundle_by_ctx_locked(void *ctx)
{
	lock_assert_held(&bundle_lock);
	for (size_t i = 0; i < bundle_n; i++)
		if (bundle_instances[i] == ctx)
			return bundle_instances[i];
	return NULL;
}

/* Stopped, with check-ins queued in R: start it (on bundle_queue). */
static void bundle_on_checkin(void *ctx)
{
	Instance *in;

	pthread_mutex_lock(&bundle_lock);
	in = bundle_by_ctx_locked(ctx);
	if (in && !in->pid) {
		bundle_cancel(&in->rwatch);
		bundle_launch_locked(in);
	}
	pthread_mutex_unlock(&bundle_lock);
}

static void bundle_launch_deferred(void *ctx)
{
	Instance *in;

	pthread_mutex_lock(&bundle_lock);
	in = bundle_by_ctx_locked(ctx);
	if (in) {
		in->launch_pending = false;
		if (!in->pid)
			bundle_launch_locked(in);
	}
	pthread_mutex_unlock(&bundle_lock);
}

/* Stopped: watch R for the next check-in (locked). */
static void bundle_watch_r_locked(Instance *in)
{
	int r = in->r;

	lock_assert_held(&bundle_lock);
	if (in->rwatch)
		return;
	in->rwatch = dispatch_source_create(DISPATCH_SOURCE_TYPE_READ, (uintptr_t)r, 0, bundle_queue);
	if (!in->rwatch)
		return;
	dispatch_set_context(in->rwatch, in);
	dispatch_source_set_event_handler_f(in->rwatch, bundle_on_checkin);
	dispatch_resume(in->rwatch);
}

/* The pidfd fired: the process has exited; a check-in already queued
 * starts it again at once (throttled), any later one on demand. */
static void bundle_reap(Instance *ctx, pid_t pid)
{
	Instance *in;

	waitpid(pid, NULL, WNOHANG);
	pthread_mutex_lock(&bundle_lock);
	in = bundle_by_ctx_locked(ctx);
	if (in && in->pid == pid) {
		in->pid = 0;
		bundle_cancel(&in->watch);
		bundle_watch_r_locked(in);
	}
	pthread_mutex_unlock(&bundle_lock);
}

static int bundle_watch_pid_locked(Instance *in)
{
	pid_t pid = in->pid;
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);

	lock_assert_held(&bundle_lock);
	if (pidfd < 0)
		return -errno;
	atomic_fetch_add(&bundle_watched, 1);
	fcntl(pidfd, F_SETFD, FD_CLOEXEC);
	in->watch = dispatch_source_create(DISPATCH_SOURCE_TYPE_READ, (uintptr_t)pidfd, 0, bundle_queue);
	if (!in->watch) {
		close(pidfd);
		atomic_fetch_sub(&bundle_watched, 1);
		return -ENOMEM;
	}
	dispatch_source_set_event_handler(in->watch, ^{ bundle_reap(in, pid); });
	dispatch_source_set_cancel_handler(in->watch, ^{
		close(pidfd);
		atomic_fetch_sub(&bundle_watched, 1);
	});
	dispatch_resume(in->watch);
	return 0;
}

/* Starts the process now, or BUNDLE_THROTTLE_NS after the last start
 * (locked; a crash at start would otherwise loop). */
static void bundle_launch_locked(Instance *in)
{
	char why[512];
	uint64_t now = clock_monotonic_ns();

	lock_assert_held(&bundle_lock);
	if (in->pid || in->launch_pending)
		return;
	if (in->last_launch_ns && now - in->last_launch_ns < BUNDLE_THROTTLE_NS) {
		in->launch_pending = true;
		dispatch_after_f(dispatch_time(DISPATCH_TIME_NOW, (int64_t)(in->last_launch_ns + BUNDLE_THROTTLE_NS - now)),
				 bundle_queue, in, bundle_launch_deferred);
		return;
	}
	in->last_launch_ns = now;
	in->pid = spawn_instance(&in->svc, in->r, why, sizeof(why));
	if (in->pid < 0) {
		in->pid = 0;
		fprintf(stderr, "libxpc: %s\n", why); /* the check-ins wait; retried at the next one */
		bundle_watch_r_locked(in);
		return;
	}
	if (bundle_watch_pid_locked(in) < 0) { /* no reaping without a watch: stop it now */
		kill(in->pid, SIGKILL);
		waitpid(in->pid, NULL, 0);
		in->pid = 0;
		bundle_watch_r_locked(in);
	}
}

/* A listener pair (R, W) as connection_listener_pair makes it. */
static int bundle_listener_pair(int *ret_r, int *ret_w)
{
	int sv[2], r = unix_link_pair(sv);

	if (r < 0)
		return r;
	*ret_r = sv[0];
	*ret_w = sv[1];
	return 0;
}

/* A new instance of @svc (taken over) in the table, started (locked).
 * Return: it, or NULL with @why. */
static Instance *bundle_start_locked(BundleService *svc, char *why, size_t size)
{
	Instance *in;

	lock_assert_held(&bundle_lock);
	if (bundle_n == BUNDLE_MAX_INSTANCES) {
		snprintf(why, size, "limit exceeded: bundled XPC service instances (%d)", BUNDLE_MAX_INSTANCES);
		return NULL;
	}
	if (!bundle_queue && !(bundle_queue = dispatch_queue_create("xpc.bundle", NULL))) {
		snprintf(why, size, "limit exceeded: out of memory");
		return NULL;
	}
	in = calloc(1, sizeof(*in));
	if (!in || bundle_listener_pair(&in->r, &in->w) < 0) {
		free(in);
		snprintf(why, size, "limit exceeded: %s", in ? "descriptors" : "out of memory");
		return NULL;
	}
	in->svc = *svc;
	memset(svc, 0, sizeof(*svc));
	svc->exe_fd = -1;
	bundle_instances[bundle_n++] = in;
	/* R is closed by the cancel handler of its watch, or here */
	bundle_launch_locked(in);
	return in;
}

int bundle_service_send_fd(const char *name, int *ret_w, char *why, size_t size)
{
	BundleService svc;
	Instance *in;
	int r, w = -1;

	pthread_mutex_lock(&bundle_lock);
	in = name ? bundle_find_locked(name) : NULL;
	if (in)
		w = fcntl(in->w, F_DUPFD_CLOEXEC, 3);
	pthread_mutex_unlock(&bundle_lock);
	if (in) {
		if (w < 0)
			return snprintf(why, size, "limit exceeded: descriptors"), -EMFILE;
		*ret_w = w;
		return 1;
	}
	r = bundle_locate(name, &svc, why, size);
	if (r <= 0)
		return r;
	pthread_mutex_lock(&bundle_lock);
	in = bundle_find_locked(name); /* another thread started it meanwhile */
	if (!in)
		in = bundle_start_locked(&svc, why, size);
	if (in && (w = fcntl(in->w, F_DUPFD_CLOEXEC, 3)) < 0)
		snprintf(why, size, "limit exceeded: descriptors");
	pthread_mutex_unlock(&bundle_lock);
	bundle_service_clear(&svc);
	if (w < 0)
		return -EMFILE;
	*ret_w = w;
	return 1;
}

/* Whether descriptors @a and @b are the same socket. */
static bool bundle_same_socket(int a, int b)
{
	struct stat sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

void bundle_service_drop(const char *name, int w)
{
	Instance *in;
	pid_t pid = 0;

	pthread_mutex_lock(&bundle_lock);
	in = bundle_find_locked(name);
	if (in && bundle_same_socket(in->w, w)) { /* not a newer instance */
		pid = in->pid;
		bundle_remove_locked(in);
	}
	pthread_mutex_unlock(&bundle_lock);
	if (pid)
		waitpid(pid, NULL, 0);
}

bool bundle_private_instance(void)
{
	const char *priv = secure_getenv("XPCD_LISTEN_PRIVATE");
	const char *pid = secure_getenv("XPCD_LISTEN_PID");

	return priv && !strcmp(priv, "1") && pid && atol(pid) == (long)getpid();
}

int bundle_forget_instances(void)
{
	int n = 0;

	pthread_mutex_lock(&bundle_lock);
	while (bundle_n) {
		Instance *in = bundle_instances[bundle_n - 1];
		pid_t pid = in->pid;
		bundle_remove_locked(in);
		if (pid)
			waitpid(pid, NULL, 0);
		n++;
	}
	pthread_mutex_unlock(&bundle_lock);
	/* the pidfds and R close in the watches' cancel handlers */
	for (int i = 0; i < 2000 && atomic_load(&bundle_watched) > 0; i++)
		usleep(1000);
	return n;
}

pid_t bundle_instance_pid(const char *name)
{
	Instance *in;
	pid_t pid;

	pthread_mutex_lock(&bundle_lock);
	in = bundle_find_locked(name);
	pid = in ? in->pid : 0;
	pthread_mutex_unlock(&bundle_lock);
	return pid;
}
