/* SPDX-License-Identifier: MIT */
/*
 * sockets.h - the Sockets key: listening (or connected) sockets xpcd
 * creates and holds for a job, starts the job on, and hands over at launch
 * (launch_activate_socket(3) in the job).
 */
#ifndef XPC_BROKER_SOCKETS_H
#define XPC_BROKER_SOCKETS_H

#include <dispatch/dispatch.h>
#include <stdbool.h>
#include <sys/types.h>

#include "broker/plistval.h"

#define SOCKETS_MAX 16         /* socket definitions of one job */
#define SOCKETS_MAX_FDS 32     /* descriptors of one job (IPv4 and IPv6 of a name count two) */

/* One dictionary under a Sockets name. */
typedef struct SockSpec {
	char *name;       /* the Sockets key (shared by every spec of an array) */
	int type;         /* SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET */
	bool passive;     /* listen (true, the default) or connect */
	int family;       /* AF_UNSPEC (IPv4v6), AF_INET, AF_INET6, AF_UNIX */
	char *node;       /* SockNodeName */
	char *service;    /* SockServiceName (a port number or a service name) */
	char *path;       /* SockPathName */
	int path_mode;    /* SockPathMode, -1 unset */
	long long path_owner, path_group; /* -1 unset */
	char *mcast_group; /* MulticastGroup: joined on each of its datagram sockets */
	char *secure_key;  /* SecureSocketWithKey: the variable that names the socket */
	char *secure_dir;  /* ... its fresh private directory, while open (path is in it) */
	bool secure_chown; /* ... the socket goes to the job's user (no SockPathOwner) */
	bool open;        /* its descriptors are in JobSockets.fds */
	dev_t file_dev;   /* the file a passive Unix socket bound (sockets.c) */
	ino_t file_ino;
} SockSpec;

typedef struct JobSockets {
	SockSpec *specs;
	size_t n_specs;
	/* runtime: the descriptors xpcd holds, with the name each belongs to */
	int fds[SOCKETS_MAX_FDS];
	const char *fd_names[SOCKETS_MAX_FDS]; /* point into specs[].name */
	size_t n_fds;
	dispatch_source_t watch[SOCKETS_MAX_FDS]; /* while the job is stopped */
	int ready_fd; /* the descriptor that was ready when @fire was called */
	uid_t owner;  /* whom a SecureSocketWithKey directory and socket belong to (the job's user) */
	void (*fire)(void *ctx, const char *why);
	void *ctx;
} JobSockets;

/* Return: 1 taken (Sockets), 0 another key, -1 a bad value (ctx->err). */
int sockets_parse_key(PlistCtx *ctx, JobSockets *s, const char *key, plist_t v);
/*
 * sockets_open() - create, bind and listen (or connect) every socket not
 * made yet; one that fails does not keep the others from being made
 * @err:  on failure, the first socket that failed and why
 * Return: 0, or -1 with errno set (sockets_close() drops what was made).
 */
int sockets_open(JobSockets *s, char *err, size_t errlen);
/* The SecureSocketWithKey variables of the open sockets ("KEY=PATH", +1
 * each) into @envp from *@k, at most @cap in all.  Return: 0, -1 out of
 * memory or room. */
int sockets_env(const JobSockets *s, char **envp, size_t *k, size_t cap);
/* Whether every socket is made. */
bool sockets_complete(const JobSockets *s);
/* Watch the descriptors while the job is stopped: the first connection
 * or datagram calls @fire(@ctx, why) on the main queue (once; the watch
 * ends). */
void sockets_watch(JobSockets *s, void (*fire)(void *ctx, const char *why), void *ctx);
void sockets_unwatch(JobSockets *s);
/* Closes the descriptors (removing the files of path sockets) and frees
 * the definition. */
void sockets_close(JobSockets *s);
void sockets_free(JobSockets *s);

#endif
