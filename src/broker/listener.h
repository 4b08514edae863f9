/* SPDX-License-Identifier: MIT */
/*
 * listener.h - the broker socket (listener.c).
 */
#ifndef XPC_BROKER_LISTENER_H
#define XPC_BROKER_LISTENER_H

#include <dispatch/dispatch.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "broker/clients.h"
#include "broker/rundir.h"

typedef struct Listener {
	int fd;                          /* -1 until listener_open */
	dispatch_source_t accept_source; /* READ on fd */
	char *path;                      /* the socket file */
	dev_t dev;                       /* ... and its inode, to remove only ours */
	ino_t ino;
	Clients *clients; /* who takes accepted sockets (borrowed) */
	Rundir *rundir;   /* the socket's directory (borrowed) */
	bool activated;   /* passed by systemd: its file is not ours to remove */
} Listener;

void listener_init(Listener *l, Clients *clients, Rundir *rundir);
/* Listens on @path, the file made with @mode (0666 system broker, 0600
 * user and private ones).  Return: 0 or -1 (message printed). */
int listener_open(Listener *l, const char *path, mode_t mode);
/* Serves @fd (consumed), a listening socket systemd passed.  Return: 0
 * or -1 (message printed). */
int listener_adopt(Listener *l, int fd);
/* The file path @fd is bound to into @buf.  Return: 0 or -1. */
int listener_bound_path(int fd, char *buf, size_t len);
/* Removes the socket file if it is still the one this broker made. */
void listener_close(Listener *l);

#endif
