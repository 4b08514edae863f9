/* SPDX-License-Identifier: MIT */
/*
 * bundle.h - XPC services bundled with an application (docs/bundled-services.md):
 * finding one next to the running program and starting a private instance
 * of it for this process.  The connection layer (xpc_connection_create
 * with a name) and the session layer (xpc_session_create_xpc_service) use
 * it; it knows nothing of connections: it hands out the W of the
 * instance's listener channel, over which the caller checks in.
 *
 * Where (locate.c): only from this process's own executable
 * (/proc/self/exe), never from the environment:
 *   Apple's layout   APP.app/Contents/MacOS/PROGRAM  ->  APP.app/Contents/XPCServices/
 *   installed        PREFIX/bin/PROGRAM  ->  PREFIX/lib/PROGRAM/XPCServices/
 * holding NAME.xpc/Contents/{Info.plist, MacOS/EXECUTABLE}.  A set-uid or
 * set-gid program (secure execution) starts none.
 *
 * An instance (spawn.c) is a listener pair (R, W) this process alone
 * holds, and while it runs a child process with R at descriptor 3 and
 * XPCD_LISTEN_* naming it, so that xpc_main() serves it.  Like xpcd with
 * a job, this process keeps R: a check-in made while the child is
 * stopped or dying stays queued and starts the next one.  The child dies
 * with this process (PR_SET_PDEATHSIG, from a launcher thread that lives
 * as long as the process) and exits when the channel closes (xpc_main,
 * see bundle_private_instance()).
 */
#ifndef XPC_BUNDLE_BUNDLE_H
#define XPC_BUNDLE_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Instances one process runs at once (distinct names). */
#define BUNDLE_MAX_INSTANCES 32
/* *.xpc entries a search by CFBundleIdentifier reads. */
#define BUNDLE_MAX_SCAN 64
/* A process that exits is started again at most this often (a service
 * that crashes at start while check-ins wait would otherwise loop). */
#define BUNDLE_THROTTLE_NS 1000000000ull
/* Info.plist larger than this is refused. */
#define BUNDLE_MAX_INFO_PLIST (256u * 1024u)

typedef struct BundleService {
	char *name;     /* CFBundleIdentifier (or the directory's name) */
	char *path;     /* the executable's path, for argv[0] and messages */
	int exe_fd;     /* O_PATH | O_CLOEXEC descriptor of the executable */
	char **env;     /* XPCService.EnvironmentVariables as "K=V", or NULL */
} BundleService;

/*
 * bundle_locate() - find the bundled service @name of this program
 * @ret:  filled on 1 (clear it with bundle_service_clear)
 * @why:  on a negative return, why the bundle found is not started
 * Return: 1 found, 0 this program bundles no service of that name, or a
 *         negative errno (a bundle exists but is refused: untrusted
 *         owner or mode, bad Info.plist, secure execution).
 */
int bundle_locate(const char *name, BundleService *ret, char *why, size_t why_size);
void bundle_service_clear(BundleService *s);

/*
 * bundle_service_send_fd() - the W of this process's instance of @name,
 * started now if none runs
 * @ret_w: set on 1: a descriptor (close-on-exec) the caller owns
 * @why:   on a negative return, the reason
 * Return: 1, 0 (no bundled service of that name: the caller falls back
 *         to the broker), or a negative errno.
 */
int bundle_service_send_fd(const char *name, int *ret_w, char *why, size_t why_size);

/* The instance of @name whose W is @w is of no use (a check-in over it
 * failed: its channel is closed): forget it so the next call starts a new
 * one.  Killed (SIGKILL) if it still runs. */
void bundle_service_drop(const char *name, int w);

/* Whether this process is a private instance started by its application
 * (XPCD_LISTEN_PRIVATE=1 with XPCD_LISTEN_PID=getpid()): xpc_main then
 * exits when its channel closes, as the application is gone. */
bool bundle_private_instance(void);

/* Kills every instance, waits for each, and closes their descriptors
 * (tests, before their descriptor-leak check).  Return: how many. */
int bundle_forget_instances(void);
/* The pid of this process's instance of @name, 0 if none (tests). */
pid_t bundle_instance_pid(const char *name);

#endif
