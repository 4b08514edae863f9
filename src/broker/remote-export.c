/* SPDX-License-Identifier: MIT */
/*
 * remote-export.c - xpcd serves the names of chosen jobs to other hosts
 * as RemoteXPC (docs/remote.md, "Serving from xpcd").
 *
 * A job with XPCDRemoteExport = true exports all its MachServices names.
 * xpcd starts one xpc-remoted child for all of them, with the --remote-*
 * options (address, discovery port, TLS file, user) and XPCD_SOCKET set to
 * this broker; xpc-remoted bridges each remote session to the local name
 * exactly as a local client (lookup policy, on-demand launch, INTERRUPTED
 * when the job dies), so nothing else of xpcd changes.  The child:
 *
 * - gets the read end of a pipe as --watch-fd 3; xpcd holds the write end,
 *   so the child exits when the broker goes, however it ends;
 * - writes its ports on standard output ("discovery PORT", "service NAME
 *   PORT", "ready"), which xpcd copies to its log, line by line (lines
 *   longer than EXPORT_LINE are cut);
 * - is restarted with the new list when the exported names change (the
 *   old one is stopped and reaped first: the ports are reused), and after
 *   a crash, EXPORT_THROTTLE_S later when it lived less than that.
 *
 * The checks at start-up (remote_export_configure): beyond loopback only
 * with a TLS file, and the TLS file must load (a psk, or a certificate with
 * the accepted peers), so the broker refuses to start rather than serve
 * unauthenticated.  xpc-remoted checks the same again.
 *
 * Main queue only, like every job (job.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "broker/job.h"
#include "broker/log.h"
#include "broker/registry.h"
#include "broker/remote-export.h"
#include "private/xpc-private.h"
#include "shared/clock.h"

#ifndef XPCD_REMOTED_PATH
#define XPCD_REMOTED_PATH "/usr/sbin/xpc-remoted"
#endif

#define EXPORT_MAX_NAMES 64   /* xpc-remoted's own limit */
#define EXPORT_THROTTLE_S 10
#define EXPORT_LINE 256
#define EXPORT_ARGS (16 + EXPORT_MAX_NAMES)

extern char **environ;

static struct {
	RemoteExportConfig cfg;
	char port[8];
	bool started, refresh_queued, throttled, stopping;
	pid_t pid;
	int watch_fd;
	const char *names[EXPORT_MAX_NAMES]; /* what the child serves (borrowed from its argv copy) */
	char *argv_names[EXPORT_MAX_NAMES];
	size_t n_names;
	uint64_t since; /* clock_monotonic_ns() */
} ex = {.watch_fd = -1};

int remote_export_configure(const RemoteExportConfig *c, char *err, size_t errlen)
{
	char *why = NULL;
	_xpc_linux_remote_tls_t tls;

	ex.cfg = *c;
	if (!ex.cfg.address)
		ex.cfg.address = "127.0.0.1";
	if (!ex.cfg.daemon)
		ex.cfg.daemon = XPCD_REMOTED_PATH;
	snprintf(ex.port, sizeof(ex.port), "%u", c->port ? c->port : 58783);
	if (!ex.cfg.tls && !_xpc_linux_remote_address_is_loopback(ex.cfg.address)) {
		snprintf(err, errlen, "--remote-address %s is not a loopback address: serving beyond loopback needs "
			 "TLS with mutual authentication (--remote-tls FILE)", ex.cfg.address);
		return -1;
	}
	if (!ex.cfg.tls)
		return 0;
	tls = _xpc_linux_remote_tls_load(ex.cfg.tls, false, &why);
	if (!tls) {
		snprintf(err, errlen, "--remote-tls %s: %s", ex.cfg.tls, why ? why : "cannot load");
		free(why);
		return -1;
	}
	_xpc_linux_remote_tls_release(tls);
	return 0;
}

/* ---- the names ------------------------------------------------------------- */

static int export_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The names to export now, sorted (borrowed from the jobs). */
static size_t export_wanted(const char **names)
{
	size_t n = 0;

	for (Job *j = ex.cfg.registry ? registry_first(ex.cfg.registry) : NULL; j; j = j->next) {
		if (!j->remote_export || j->unloading || j->disabled)
			continue;
		for (size_t i = 0; i < j->n_services; i++) {
			if (strchr(j->services[i].name, '=')) { /* xpc-remoted would read NAME=PORT */
				log_line(LOG_INFO, "%s: XPCDRemoteExport: %s holds '=', not exported", j->label,
					 j->services[i].name);
				continue;
			}
			if (n == EXPORT_MAX_NAMES) {
				log_line(LOG_INFO, "%s: XPCDRemoteExport: more than %d names in all, %s not exported", j->label,
					   EXPORT_MAX_NAMES, j->services[i].name);
				continue;
			}
			names[n++] = j->services[i].name;
		}
	}
	qsort(names, n, sizeof(*names), export_cmp);
	return n;
}

static bool export_same(const char **names, size_t n)
{
	if (n != ex.n_names)
		return false;
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], ex.names[i]))
			return false;
	return true;
}

static void export_forget_names(void)
{
	for (size_t i = 0; i < ex.n_names; i++)
		free(ex.argv_names[i]);
	ex.n_names = 0;
}

/* ---- the child's output, into the log ------------------------------------ */

/* One child's standard output (a child that exited may still have some
 * unread while the next one starts: each has its own). */
typedef struct ExportOut {
	int fd;
	dispatch_source_t src;
	char line[EXPORT_LINE];
	size_t len;
} ExportOut;

static void export_on_output(void *ctx)
{
	ExportOut *o = ctx;
	char buf[512];
	ssize_t n = read(o->fd, buf, sizeof(buf));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		dispatch_source_cancel(o->src);
		return;
	}
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] != '\n') {
			if (o->len < sizeof(o->line) - 1)
				o->line[o->len++] = buf[i];
			continue;
		}
		o->line[o->len] = '\0';
		log_line(LOG_INFO, "xpc-remoted: %s", o->line);
		o->len = 0;
	}
}

static void export_on_output_cancel(void *ctx)
{
	ExportOut *o = ctx;

	close(o->fd);
	dispatch_release(o->src);
	free(o);
}

/* Logs what the child writes on @fd (consumed). */
static void export_watch_output(int fd)
{
	ExportOut *o = calloc(1, sizeof(*o));

	fcntl(fd, F_SETFL, O_NONBLOCK);
	if (o)
		o->src = dispatch_source_create(DISPATCH_SOURCE_TYPE_READ, (uintptr_t)fd, 0, dispatch_get_main_queue());
	if (!o || !o->src) {
		free(o);
		close(fd);
		return;
	}
	o->fd = fd;
	dispatch_set_context(o->src, o);
	dispatch_source_set_event_handler_f(o->src, export_on_output);
	dispatch_source_set_cancel_handler_f(o->src, export_on_output_cancel);
	dispatch_resume(o->src);
}

/* ---- the child ------------------------------------------------------------- */

/* The environment: ours, with XPCD_SOCKET naming this broker.  NULL on
 * ENOMEM; free with export_free_env(). */
static char **export_env(void)
{
	size_t n = 0, k = 0;
	char **env;

	while (environ[n])
		n++;
	env = calloc(n + 2, sizeof(char *));
	if (!env || asprintf(&env[k], "XPCD_SOCKET=%s", ex.cfg.socket) < 0) {
		free(env);
		return NULL;
	}
	k++;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "XPCD_SOCKET=", 12))
			env[k++] = environ[i];
	return env;
}

/* Between fork and exec: async-signal-safe calls only. */
static void export_exec(char **argv, char **env, int watch, int out, int null)
{
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setpgid(0, 0);
	if (dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(watch, 3) < 0)
		_exit(126);
	if (watch == 3)
		fcntl(3, F_SETFD, 0);
	execve(argv[0], argv, env);
	_exit(127);
}

static size_t export_argv(char **argv, const char **names, size_t n)
{
	size_t k = 0;

	argv[k++] = (char *)ex.cfg.daemon;
	argv[k++] = "--address";
	argv[k++] = (char *)ex.cfg.address;
	argv[k++] = "--port";
	argv[k++] = ex.port;
	if (ex.cfg.tls) {
		argv[k++] = "--tls";
		argv[k++] = (char *)ex.cfg.tls;
	}
	if (ex.cfg.user) {
		argv[k++] = "--user";
		argv[k++] = (char *)ex.cfg.user;
	}
	argv[k++] = "--watch-fd";
	argv[k++] = "3";
	argv[k++] = "--"; /* names are never options, whatever they start with */
	for (size_t i = 0; i < n; i++)
		argv[k++] = (char *)names[i];
	argv[k] = NULL;
	return k;
}

/* Forks the child for @names (copied).  Return: 0 or -1 (logged). */
static int export_spawn(const char **names, size_t n)
{
	char *argv[EXPORT_ARGS], **env = export_env();
	int watch[2] = {-1, -1}, out[2] = {-1, -1}, null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	pid_t pid = -1;

	export_argv(argv, names, n);
	if (env && null >= 0 && pipe2(watch, O_CLOEXEC) == 0 && pipe2(out, O_CLOEXEC) == 0)
		pid = fork();
	if (pid == 0)
		export_exec(argv, env, watch[0], out[1], null);
	if (pid < 0)
		log_line(LOG_INFO, "xpc-remoted: cannot start: %s", strerror(errno));
	if (env)
		free(env[0]);
	free(env);
	if (null >= 0)
		close(null);
	if (watch[0] >= 0)
		close(watch[0]);
	if (out[1] >= 0)
		close(out[1]);
	if (pid < 0) {
		if (watch[1] >= 0)
			close(watch[1]);
		if (out[0] >= 0)
			close(out[0]);
		return -1;
	}
	ex.pid = pid;
	ex.watch_fd = watch[1];
	export_watch_output(out[0]);
	for (ex.n_names = 0; ex.n_names < n; ex.n_names++) {
		ex.argv_names[ex.n_names] = strdup(names[ex.n_names]);
		if (!ex.argv_names[ex.n_names])
			break; /* the next refresh sees a different list and restarts it */
		ex.names[ex.n_names] = ex.argv_names[ex.n_names];
	}
	ex.since = clock_monotonic_ns();
	log_line(LOG_INFO, "xpc-remoted: pid %d serves %zu name%s on %s port %s%s", (int)pid, n, n == 1 ? "" : "s",
		   ex.cfg.address, ex.port, ex.cfg.tls ? " with TLS" : "");
	return 0;
}

static void export_stop(void)
{
	ex.stopping = true;
	kill(ex.pid, SIGTERM);
	if (ex.watch_fd >= 0)
		close(ex.watch_fd);
	ex.watch_fd = -1;
}

/* Starts, stops or keeps the child for the names wanted now. */
static void export_refresh(void *ctx)
{
	const char *names[EXPORT_MAX_NAMES];
	size_t n;

	(void)ctx;
	ex.refresh_queued = false;
	if (ex.throttled)
		return; /* the throttle's timer calls again */
	n = export_wanted(names);
	if (ex.pid) {
		if (!export_same(names, n) && !ex.stopping)
			export_stop(); /* reaped: refreshed again */
		return;
	}
	if (n)
		export_spawn(names, n);
}

static void export_unthrottle(void *ctx)
{
	(void)ctx;
	ex.throttled = false;
	export_refresh(NULL);
}

void remote_export_start(void)
{
	ex.started = true;
	export_refresh(NULL);
}

void remote_export_changed(void)
{
	if (!ex.started || ex.refresh_queued)
		return;
	ex.refresh_queued = true;
	dispatch_async_f(dispatch_get_main_queue(), NULL, export_refresh);
}

bool remote_export_reaped(pid_t pid, int status)
{
	double lived;

	if (!ex.pid || pid != ex.pid)
		return false;
	if (WIFSIGNALED(status))
		log_line(LOG_INFO, "xpc-remoted: pid %d killed by signal %d", (int)pid, WTERMSIG(status));
	else
		log_line(LOG_INFO, "xpc-remoted: pid %d exited with status %d", (int)pid, WEXITSTATUS(status));
	lived = clock_seconds_since(ex.since);
	ex.pid = 0;
	if (ex.watch_fd >= 0)
		close(ex.watch_fd);
	ex.watch_fd = -1;
	export_forget_names();
	if (!ex.stopping && lived < EXPORT_THROTTLE_S) {
		ex.throttled = true;
		dispatch_after_f(dispatch_time(DISPATCH_TIME_NOW, (int64_t)(EXPORT_THROTTLE_S - lived) * NSEC_PER_SEC),
				 dispatch_get_main_queue(), NULL, export_unthrottle);
		return true;
	}
	ex.stopping = false;
	export_refresh(NULL);
	return true;
}
