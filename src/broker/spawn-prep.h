/* SPDX-License-Identifier: MIT */
/*
 * spawn-prep.h - what a job's child needs, prepared before fork
 * (spawn-prep.c) and used by spawn.c between fork and exec.
 */
#ifndef XPC_BROKER_SPAWN_PREP_H
#define XPC_BROKER_SPAWN_PREP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "broker/asuser.h"
#include "broker/job.h"

#define LAUNCH_MAX_GROUPS ASUSER_MAX_GROUPS

typedef struct Spawn {
	char **envp;     /* owned: the array and every string in it */
	char *pidvar;    /* points into envp: "XPCD_LISTEN_PID=" + room for digits */
	char *sockpidvar; /* "XPCD_SOCKETS_PID=" + room, NULL without Sockets */
	char *txnvar;     /* "XPCD_TRANSACTIONS=" + room for PID:FD, NULL without */
	char **argv;      /* owned: EnableGlobbing's arguments, NULL: the job's */
	int inetd_fd;     /* in the child: the descriptor for inetd's stdio, -1 none */
	int fds[64 + SOCKETS_MAX_FDS + 1];
	size_t n_fds;
	uid_t uid;
	gid_t gid;
	gid_t groups[LAUNCH_MAX_GROUPS];
	int n_groups;
	bool set_ids;
	int report_fd;  /* W of the report pipe (close-on-exec), -1: none */
	int output_fd;  /* W of the output pipe: stdout/stderr unless named, -1: /dev/null */
	int go_fd;      /* R of the go pipe: the child execs once a byte comes (spawn_go) */
	char log_prefix[256]; /* "xpcd[PID] " : the child adds the time and the rest */
} Spawn;

/* The ids and supplementary groups of UserName/GroupName into @sp.
 * Return: 0, or -1 (logged). */
int spawn_prep_ids(const Job *job, Spawn *sp);
/* The job's environment into sp->envp, built from nothing (spawn.c's
 * header says what it holds).  Return: 0, or -1. */
int spawn_prep_env(const Job *job, const char *socket_path, Spawn *sp);
/* EnableGlobbing: @argv through glob(3); NULL out of memory. */
char **spawn_prep_glob(char *const *argv);
/* Frees a NULL-terminated array of strings (and the array). */
void spawn_prep_free(char **envp);

#endif
