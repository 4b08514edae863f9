/* SPDX-License-Identifier: MIT */
/*
 * rundir.h - the directory of the broker socket: its lock, its state file
 * and the socket's generation mtime (rundir.c).
 */
#ifndef XPC_BROKER_RUNDIR_H
#define XPC_BROKER_RUNDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

typedef struct Rundir {
	int dir_fd;  /* the directory, open; -1 before rundir_open */
	int lock_fd; /* SOCKET.lock, flock()ed */
	char base[256]; /* the socket's file name in the directory */
	bool socket_made; /* the socket file exists: its mtime is kept */
	struct timespec generation; /* the socket's mtime (docs/services.md) */
} Rundir;

/* An unopened directory: state files and generations are no-ops. */
void rundir_init(Rundir *rd);
/*
 * rundir_open() - check the directory of @socket_path and take the lock
 * @err:   on failure, why (the directory's owner and mode, or the other
 *         broker's pid)
 * Return: 0, or -1: xpcd must not serve that socket.
 */
int rundir_open(Rundir *rd, const char *socket_path, char *err, size_t errlen);
/* Closes the directory and releases the lock. */
void rundir_close(Rundir *rd);
/* The state file for reading, NULL when absent or not trusted (logged). */
FILE *rundir_state_read(const Rundir *rd);
/* A fresh temporary state file to write, NULL on failure; then
 * rundir_state_commit() closes it and renames it into place (0 or -1). */
FILE *rundir_state_begin(const Rundir *rd);
int rundir_state_commit(const Rundir *rd, FILE *f);
/* The same for another file of the directory, SOCKET + @suffix
 * (".disabled": overrides.c): read only if trusted as the state file is. */
FILE *rundir_file_read(const Rundir *rd, const char *suffix);
FILE *rundir_file_begin(const Rundir *rd, const char *suffix);
int rundir_file_commit(const Rundir *rd, const char *suffix, FILE *f);
/* The socket file now exists (listener.c): its mtime is set to now. */
void rundir_socket_made(Rundir *rd);
/* A job was loaded, unloaded, enabled or disabled: the socket's mtime
 * moves on by at least a second, so clients look names up again. */
void rundir_services_changed(Rundir *rd);

#endif
