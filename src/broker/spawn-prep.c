/* SPDX-License-Identifier: MIT */
/*
 * spawn-prep.c - what a job's child needs, prepared before fork (spawn.c
 * forks): the ids and groups of UserName/GroupName from the password and
 * group databases, the environment built from nothing, EnableGlobbing's
 * arguments.  None of this may run in the child of a threaded process.
 */
#include <errno.h>
#include <glob.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/asuser.h"
#include "broker/log.h"
#include "broker/spawn-prep.h"
#include "broker/spawn.h"

extern char **environ;

#define LAUNCH_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define LAUNCH_MAX_ARGS 4096

/* Variables of xpcd's own environment a job inherits: the library's trace,
 * capture and monitor switches (xpc-debug(7)), its shared rings' switch
 * (libxpc(3)) and the sanitizers' options (tests run instrumented jobs). */
static bool env_passed_through(const char *kv)
{
	const char *eq = strchr(kv, '=');
	size_t n = eq ? (size_t)(eq - kv) : 0;

	if ((n == 9 && !strncmp(kv, "XPC_TRACE", 9)) || (n == 11 && !strncmp(kv, "XPC_CAPTURE", 11)) ||
	    (n == 11 && !strncmp(kv, "XPC_MONITOR", 11)) || (n == 15 && !strncmp(kv, "XPC_SHARED_RING", 15)))
		return true;
	return n > 11 && !strncmp(kv + n - 11, "SAN_OPTIONS", 11);
}

static int env_add(char **envp, size_t *k, size_t cap, char *s)
{
	if (!s)
		return -1;
	if (*k + 1 >= cap) {
		free(s);
		return -1;
	}
	envp[(*k)++] = s;
	return 0;
}

static char *str_join(const char *a, const char *b)
{
	char *s = NULL;

	return asprintf(&s, "%s%s", a, b) < 0 ? NULL : s;
}

/* HOME, USER, LOGNAME, SHELL of @uid's password entry (none if it has no
 * entry). */
static int env_add_user(char **envp, size_t *k, size_t cap, uid_t uid)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) != 0 || !res)
		return 0;
	if (env_add(envp, k, cap, str_join("HOME=", pw.pw_dir)) < 0 ||
	    env_add(envp, k, cap, str_join("USER=", pw.pw_name)) < 0 ||
	    env_add(envp, k, cap, str_join("LOGNAME=", pw.pw_name)) < 0 ||
	    env_add(envp, k, cap, str_join("SHELL=", pw.pw_shell && *pw.pw_shell ? pw.pw_shell : "/bin/sh")) < 0)
		return -1;
	return 0;
}

void spawn_prep_free(char **envp)
{
	for (size_t i = 0; envp && envp[i]; i++)
		free(envp[i]);
	free(envp);
}

static char *listen_names(const Job *job)
{
	size_t len = 32;
	char *names;

	for (size_t i = 0; i < job->n_services; i++)
		len += strlen(job->services[i].name) + 1;
	names = malloc(len);
	if (!names)
		return NULL;
	strcpy(names, "XPCD_LISTEN_FDNAMES=");
	for (size_t i = 0; i < job->n_services; i++) {
		if (i)
			strcat(names, ":");
		strcat(names, job->services[i].name);
	}
	return names;
}

/* XPCD_SOCKETS_START/FDS/FDNAMES/PID for the Sockets descriptors, which
 * follow the MachServices ones (src/connection/launch.c reads them), and
 * the SecureSocketWithKey variables. */
static int build_env_sockets(const Job *job, Spawn *sp, size_t *k, size_t cap)
{
	const JobSockets *s = &job->sockets;
	size_t len = 32;
	char *v = NULL, *names;

	if (!s->n_fds)
		return 0;
	if (asprintf(&v, "XPCD_SOCKETS_START=%zu", 3 + job->n_services) < 0 || env_add(sp->envp, k, cap, v) < 0)
		return -1;
	if (asprintf(&v, "XPCD_SOCKETS_FDS=%zu", s->n_fds) < 0 || env_add(sp->envp, k, cap, v) < 0)
		return -1;
	for (size_t i = 0; i < s->n_fds; i++)
		len += strlen(s->fd_names[i]) + 1;
	names = malloc(len);
	if (!names)
		return -1;
	strcpy(names, "XPCD_SOCKETS_FDNAMES=");
	for (size_t i = 0; i < s->n_fds; i++) {
		if (i)
			strcat(names, ":");
		strcat(names, s->fd_names[i]);
	}
	if (env_add(sp->envp, k, cap, names) < 0 || sockets_env(s, sp->envp, k, cap) < 0 ||
	    env_add(sp->envp, k, cap, calloc(1, 40)) < 0)
		return -1;
	sp->sockpidvar = sp->envp[*k - 1];
	return 0;
}

/* EnableGlobbing: each argument through glob(3), one without a match kept
 * as it is (GLOB_NOCHECK).  Return: the new argv (+1), NULL out of memory
 * or beyond LAUNCH_MAX_ARGS. */
char **spawn_prep_glob(char *const *argv)
{
	size_t n = 0;
	char **out = calloc(LAUNCH_MAX_ARGS + 1, sizeof(*out));

	for (size_t i = 0; out && argv[i]; i++) {
		glob_t g;
		if (glob(argv[i], GLOB_NOCHECK | GLOB_BRACE | GLOB_TILDE, NULL, &g) != 0) {
			spawn_prep_free(out);
			return NULL;
		}
		for (size_t j = 0; out && j < g.gl_pathc; j++) {
			if (n >= LAUNCH_MAX_ARGS || !(out[n++] = strdup(g.gl_pathv[j]))) {
				spawn_prep_free(out);
				out = NULL;
			}
		}
		globfree(&g);
	}
	return out;
}

/* The job's environment, built from nothing (see the top).  Return: 0, or
 * -1 out of memory. */
int spawn_prep_env(const Job *job, const char *socket_path, Spawn *sp)
{
	size_t n = 16, k = 0, cap;
	char *fds = NULL;

	for (size_t i = 0; environ[i]; i++)
		n++;
	for (size_t i = 0; job->env && job->env[i]; i++)
		n++;
	n += 8 + job->sockets.n_specs; /* XPCD_TIMEOUT, XPCD_SOCKETS_*, XPCD_TRANSACTIONS, SecureSocketWithKey's */
	cap = n;
	sp->envp = calloc(cap, sizeof(char *));
	if (!sp->envp)
		return -1;
	if (env_add(sp->envp, &k, cap, strdup(LAUNCH_PATH)) < 0 || env_add_user(sp->envp, &k, cap, sp->uid) < 0)
		return -1;
	if (socket_path && env_add(sp->envp, &k, cap, str_join("XPCD_SOCKET=", socket_path)) < 0)
		return -1;
	for (size_t i = 0; environ[i]; i++)
		if (env_passed_through(environ[i]) && env_add(sp->envp, &k, cap, strdup(environ[i])) < 0)
			return -1;
	for (size_t i = 0; job->env && job->env[i]; i++)
		if (strncmp(job->env[i], "XPCD_LISTEN_", 12) != 0 && strncmp(job->env[i], "XPCD_SOCKETS_", 13) != 0 &&
		    env_add(sp->envp, &k, cap, strdup(job->env[i])) < 0)
			return -1;
	if (job->timeout && (asprintf(&fds, "XPCD_TIMEOUT=%u", job->timeout) < 0 || env_add(sp->envp, &k, cap, fds) < 0))
		return -1;
	if (build_env_sockets(job, sp, &k, cap) < 0)
		return -1;
	if (job->txn_fd >= 0) {
		if (env_add(sp->envp, &k, cap, calloc(1, 64)) < 0)
			return -1;
		sp->txnvar = sp->envp[k - 1];
	}
	fds = NULL;
	if (asprintf(&fds, "XPCD_LISTEN_FDS=%zu", job->n_services) < 0)
		fds = NULL;
	if (env_add(sp->envp, &k, cap, fds) < 0 || env_add(sp->envp, &k, cap, listen_names(job)) < 0 ||
	    env_add(sp->envp, &k, cap, calloc(1, 40)) < 0)
		return -1;
	sp->pidvar = sp->envp[k - 1];
	return 0;
}

/* The ids the job runs as: the broker's own, or UserName/GroupName's (root
 * broker only) with the user's supplementary groups from the group
 * database.  Return: 0, or -1 (logged) when a name does not resolve. */
int spawn_prep_ids(const Job *job, Spawn *sp)
{
	JobIds ids;

	if (asuser_ids(job, &ids) < 0)
		return -1;
	sp->uid = ids.uid;
	sp->gid = ids.gid;
	sp->n_groups = ids.n_groups;
	memcpy(sp->groups, ids.groups, sizeof(sp->groups));
	sp->set_ids = ids.set_ids;
	return 0;
}
