/* SPDX-License-Identifier: MIT */
/*
 * listener.c - the broker socket: an AF_UNIX SOCK_SEQPACKET listener whose
 * accepted sockets go to clients.c (model: dbus-broker's listener.c).
 *
 * The socket file is made with the mode of its domain (listener_open:
 * bound under a temporary name, listening, then renamed into place, so a
 * client that sees the file can connect) and removed at exit only while it
 * is still this broker's (same inode; listener_close).  Under socket
 * activation (xpcd.socket) systemd made the socket and passes it
 * (listener_adopt): its file is systemd's and stays when xpcd exits, so
 * clients queue in its backlog until the next broker serves them.
 *
 * Out of descriptors (or memory), accept fails while the waiting client
 * keeps the socket readable: retrying at once would spin.  The accept
 * source is suspended and resumed ACCEPT_BACKOFF_MS later; the clients wait
 * in the kernel's backlog meanwhile and are served once descriptors are
 * free again (docs/reliability.md, "Descriptor exhaustion").
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "broker/listener.h"
#include "broker/log.h"
#include "private/xpc-private.h"

#define ACCEPT_BACKOFF_MS 100

void listener_init(Listener *l, Clients *clients, Rundir *rundir)
{
	*l = (Listener){.fd = -1, .clients = clients, .rundir = rundir};
}

static void accept_resume(void *ctx)
{
	dispatch_resume((dispatch_source_t)ctx);
}

/* Accept failed for want of a resource: pause the source (see the top). */
static void accept_back_off(Listener *l)
{
	dispatch_time_t when = dispatch_time(DISPATCH_TIME_NOW, ACCEPT_BACKOFF_MS * 1000000LL);

	dispatch_suspend(l->accept_source);
	if (_xpc_linux_dispatch_after_f(when, dispatch_get_main_queue(), l->accept_source, accept_resume) < 0)
		dispatch_resume(l->accept_source); /* no timer: retry now */
}

static void on_accept(void *ctx)
{
	Listener *l = ctx;

	for (;;) {
		int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
				accept_back_off(l);
			return;
		}
		clients_accept(l->clients, fd);
	}
}

/* Binds and listens on @tmp with @mode (set through the umask at bind, so
 * the file never has more, and again explicitly), then renames it to
 * @path: a client that sees the socket file can connect (bound but not yet
 * listening, a connect fails with ECONNREFUSED: "no broker"), and a dead
 * broker's stale socket is replaced in one step.  The inode is kept:
 * listener_close() removes only this file. */
static int listen_at(Listener *l, const char *path, const char *tmp, mode_t mode)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	mode_t old;
	int r;

	strcpy(sa.sun_path, tmp);
	unlink(tmp);
	old = umask(~mode & 0777);
	r = bind(l->fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || chmod(tmp, mode) < 0 || lstat(tmp, &st) < 0 || listen(l->fd, 128) < 0) {
		int err = errno;
		if (r == 0)
			unlink(tmp);
		errno = err;
		return -1;
	}
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	if (strcmp(tmp, path) && rename(tmp, path) < 0) {
		int err = errno;
		unlink(tmp);
		errno = err;
		return -1;
	}
	return 0;
}

/* Starts accepting on l->fd. */
static void listener_start(Listener *l)
{
	rundir_socket_made(l->rundir);
	l->accept_source = dispatch_source_create(DISPATCH_SOURCE_TYPE_READ, (uintptr_t)l->fd, 0,
						  dispatch_get_main_queue());
	dispatch_set_context(l->accept_source, l);
	dispatch_source_set_event_handler_f(l->accept_source, on_accept);
	dispatch_resume(l->accept_source);
}

int listener_open(Listener *l, const char *path, mode_t mode)
{
	char tmp[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int n = snprintf(tmp, sizeof(tmp), "%s.%ld", path, (long)getpid());

	if (strlen(path) >= sizeof(tmp)) {
		fprintf(stderr, "xpcd: socket path too long: %s\n", path);
		return -1;
	}
	if (n < 0 || (size_t)n >= sizeof(tmp)) { /* no room for a temporary name */
		strcpy(tmp, path);
		unlink(path); /* a stale socket of a dead broker (the lock says none runs) */
	}
	l->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (l->fd < 0)
		return -1;
	if (listen_at(l, path, tmp, mode) < 0) {
		fprintf(stderr, "xpcd: cannot listen on %s: %s\n", path, strerror(errno));
		close(l->fd);
		l->fd = -1;
		return -1;
	}
	l->path = strdup(path);
	listener_start(l);
	return 0;
}

int listener_bound_path(int fd, char *buf, size_t len)
{
	struct sockaddr_un sa;
	socklen_t salen = sizeof(sa);
	size_t n;

	if (getsockname(fd, (struct sockaddr *)&sa, &salen) < 0 || sa.sun_family != AF_UNIX ||
	    salen <= offsetof(struct sockaddr_un, sun_path) || sa.sun_path[0] != '/')
		return -1;
	n = strnlen(sa.sun_path, salen - offsetof(struct sockaddr_un, sun_path));
	if (n >= len)
		return -1;
	memcpy(buf, sa.sun_path, n);
	buf[n] = '\0';
	return 0;
}

int listener_adopt(Listener *l, int fd)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct stat st;

	if (listener_bound_path(fd, path, sizeof(path)) < 0 || lstat(path, &st) < 0) {
		fprintf(stderr, "xpcd: the socket passed by systemd has no file: refused\n");
		return -1;
	}
	l->fd = fd;
	l->path = strdup(path);
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	l->activated = true;
	listener_start(l);
	return 0;
}

void listener_close(Listener *l)
{
	struct stat st;

	if (!l->path || l->activated) /* systemd's socket stays for the next broker */
		return;
	if (lstat(l->path, &st) == 0 && st.st_dev == l->dev && st.st_ino == l->ino)
		unlink(l->path);
	else
		log_line(LOG_WARNING, "%s is no longer this broker's socket: left in place", l->path);
}
