/* SPDX-License-Identifier: MIT */
/*
 * brokerlink.c - which broker this process asks, and a link to it that
 * is trusted: the socket's path from the environment (docs/services.md,
 * "Finding the broker") and a connect whose peer must be root or, unless
 * the system broker is wanted, this user (docs/security.md).  At the
 * bottom of the layer: named services (named.c), the synchronous lookup
 * (lookup.c) and the frame tap (tap.c) all open their broker links here.
 */
#include "connection/internal.h"
#include "transport/unix/unix.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * Which broker answers (docs/services.md, docs/security.md): $XPCD_SOCKET
 * when set; else, for XPC_CONNECTION_MACH_SERVICE_PRIVILEGED, the system
 * broker only; else the user's broker ($XDG_RUNTIME_DIR/xpcd/user.sock)
 * if it exists, the system broker otherwise: a deliberate fallback, as
 * launchd's per-user namespace sees the system's services; when the
 * system broker does not answer either, the reason names both paths
 * (brokerlink_fallback_note).  The variables are read with
 * secure_getenv: a set-uid or set-gid program ignores them and asks the
 * system broker.  @ret_system: set when the answer must come from root.
 */
#define BROKERLINK_SYSTEM_SOCKET "/run/xpcd/system.sock"

/* @a then @b into @buf, cut to @size like snprintf.  Not snprintf itself:
 * every named connection passes here, and in a client that would be the
 * only caller of libc's printf engine, whose code costs 60 KiB of resident
 * libc pages (docs/performance.md, "The idle client"). */
static void brokerlink_join(char *buf, size_t size, const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (!size)
		return;
	if (la > size - 1)
		la = size - 1;
	if (lb > size - 1 - la)
		lb = size - 1 - la;
	memcpy(buf, a, la);
	memcpy(buf + la, b, lb);
	buf[la + lb] = '\0';
}

void brokerlink_path(bool privileged, char *buf, size_t size, bool *ret_system)
{
	const char *env = secure_getenv("XPCD_SOCKET");
	const char *rt = secure_getenv("XDG_RUNTIME_DIR");
	struct stat st;

	*ret_system = false;
	if (env && *env) {
		brokerlink_join(buf, size, env, "");
		return;
	}
	if (!privileged && rt && *rt) {
		brokerlink_join(buf, size, rt, "/xpcd/user.sock");
		if (stat(buf, &st) == 0)
			return;
	}
	*ret_system = true;
	brokerlink_join(buf, size, BROKERLINK_SYSTEM_SOCKET, "");
}

/* Whether a broker running as, or a socket owned by, @uid may answer:
 * root always; this process's own user unless the system broker is
 * wanted. */
bool brokerlink_trusted(uid_t uid, bool system)
{
	return uid == 0 || (!system && uid == geteuid());
}

/* The reason a broker owned by / running as @uid is refused. */
void brokerlink_untrusted(char *why, size_t size, const char *path, const char *what, uid_t uid, bool system)
{
	snprintf(why, size, "denied: broker at %s %s uid %u, not root%s", path, what, (unsigned)uid,
		 system ? "" : " or this user");
}

/* After "no broker at /run/xpcd/system.sock: ...": the user broker that
 * was looked for first, when there was one to look for and it is absent. */
static void brokerlink_fallback_note(const char *path, char *why, size_t why_size)
{
	const char *env = secure_getenv("XPCD_SOCKET"), *rt = secure_getenv("XDG_RUNTIME_DIR");
	char user[256];
	size_t n = strlen(why);
	struct stat st;

	if (strcmp(path, BROKERLINK_SYSTEM_SOCKET) || (env && *env) || !rt || !*rt)
		return;
	snprintf(user, sizeof(user), "%s/xpcd/user.sock", rt);
	if (stat(user, &st) < 0 && n < why_size)
		snprintf(why + n, why_size - n, " (and no user broker at %s)", user);
}

/* The process behind a broker link must be trusted as its socket was
 * (a socket file can be replaced between the stat and the connect). */
int brokerlink_connect(const char *path, bool system, char *why, size_t why_size)
{
	TransportCreds peer;
	int fd = unix_link_connect(path, &peer);

	if (fd == -ENAMETOOLONG)
		snprintf(why, why_size, "no broker at %s: path too long", path);
	else if (fd == -ENODATA)
		snprintf(why, why_size, "no broker at %s: no credentials", path);
	else if (fd < 0) {
		snprintf(why, why_size, "no broker at %s: %s", path, strerror(-fd));
		brokerlink_fallback_note(path, why, why_size);
	}
	if (fd < 0)
		return fd == -ENODATA ? -EPERM : fd;
	if (!brokerlink_trusted(peer.uid, system)) {
		brokerlink_untrusted(why, why_size, path, "runs as", peer.uid, system);
		close(fd);
		return -EPERM;
	}
	return fd;
}

void brokerlink_id(bool privileged, BrokerId *id)
{
	struct stat st;

	memset(id, 0, sizeof(*id));
	brokerlink_path(privileged, id->path, sizeof(id->path), &id->system);
	if (stat(id->path, &st) < 0 || !S_ISSOCK(st.st_mode))
		return;
	id->valid = true;
	id->owner = st.st_uid;
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	id->mtime = st.st_mtim;
}

bool brokerlink_same(const BrokerId *a, const BrokerId *b)
{
	return a->valid && b->valid && a->system == b->system && a->dev == b->dev && a->ino == b->ino &&
	       a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec && !strcmp(a->path, b->path);
}
