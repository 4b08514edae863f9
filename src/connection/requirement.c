/* SPDX-License-Identifier: MIT */
/*
 * requirement.c - peer requirements (docs/peer-requirements.md): Apple's
 * set_peer_* functions and the check a connection makes before the first
 * frame of its peer is handled (the object itself: requirement-object.c).
 *
 * Model: a requirement is an immutable object of one kind (uid, gid,
 * executable path, executable file, LSM label, systemd unit, or
 * "unsupported": an Apple code-signing form no Linux peer can satisfy).
 * A connection holds at most one, set before activation; a listener hands
 * its own to every peer it accepts.  receive.c calls
 * requirement_check_locked() for every frame until one check passed
 * (connection.c, at activation, when the peer is known from its socket),
 * and the caller fails the connection when it is not met.  The check uses
 * only what the kernel vouches for, the link's credentials (SO_PEERCRED,
 * or SCM_CREDENTIALS of the first frame) and, through the peer's pidfd, its
 * /proc entry (opened by pid, then the pidfd is polled: a pidfd that has
 * not exited proves the pid was not reused in between).  A peer that fails
 * has no frame handled: replies it owed get
 * XPC_ERROR_PEER_CODE_SIGNING_REQUIREMENT, the handler gets that error,
 * then INVALID with a reason naming the requirement.
 *
 * Limits of the model: the facts are those of the process the kernel names
 * for the link (the one that made it, or sent the first frame), taken once;
 * a process that execs or hands its end of the link to another process
 * later is not followed (docs/peer-requirements.md).
 */
#include "connection/internal.h"
#include "connection/requirement.h"
#include "object/object.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What the kernel says about a connection's peer (borrowed descriptors). */
typedef struct ReqPeer {
	bool known;
	pid_t pid;
	uid_t uid;
	gid_t gid;
	int pidfd;      /* -1: none */
	TransportLink link; /* a copy of the link */
	bool by_socket; /* the peer made the link: SO_PEERSEC names it */
} ReqPeer;

#define REQ_WHY_SIZE 512

/* ---- reading the peer through its pidfd ------------------------------------ */

/* /proc/PID of the peer as a directory descriptor, valid for that very
 * process: opened by pid, then its pidfd must not have exited.
 * Return: the descriptor, or -1 with *why set. */
static int req_proc_open(const ReqPeer *p, char *why)
{
	char path[32];
	int dfd;

	if (p->pidfd < 0) {
		snprintf(why, REQ_WHY_SIZE, "no pidfd for the peer");
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/%d", (int)p->pid);
	dfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0 && poll(&(struct pollfd){.fd = p->pidfd, .events = POLLIN}, 1, 0) == 0)
		return dfd;
	if (dfd >= 0)
		close(dfd);
	snprintf(why, REQ_WHY_SIZE, "peer process gone");
	return -1;
}

/* Reads the file @name of @dfd into @buf (NUL-terminated).
 * Return: bytes read, or -errno. */
static ssize_t req_read_at(int dfd, const char *name, char *buf, size_t size)
{
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
	ssize_t n = 0, r;

	if (fd < 0)
		return -errno;
	while ((size_t)n < size - 1 && (r = read(fd, buf + n, size - 1 - (size_t)n)) > 0)
		n += r;
	if (r < 0 && n == 0)
		n = -errno;
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	return n;
}

/* ---- the checks ------------------------------------------------------------- */

static bool req_in_groups(const char *status, gid_t gid)
{
	const char *g = strstr(status, "\nGroups:");

	if (!g)
		return false;
	g += strlen("\nGroups:");
	while (*g && *g != '\n') {
		char *end;
		unsigned long v = strtoul(g, &end, 10);
		if (end == g) {
			g++;
			continue;
		}
		if (v == (unsigned long)gid)
			return true;
		g = end;
	}
	return false;
}

static bool req_check_gid(xpc_peer_requirement_t r, const ReqPeer *p, char *why)
{
	char status[8192];
	int dfd;

	if (p->gid == r->gid)
		return true;
	if ((dfd = req_proc_open(p, why)) < 0)
		return false;
	ssize_t n = req_read_at(dfd, "status", status, sizeof(status));
	close(dfd);
	if (n > 0 && req_in_groups(status, r->gid))
		return true;
	snprintf(why, REQ_WHY_SIZE, "gid %u, and not in group %u", (unsigned)p->gid,
		 (unsigned)r->gid);
	return false;
}

static bool req_check_exe(xpc_peer_requirement_t r, const ReqPeer *p, char *why)
{
	char exe[PATH_MAX];
	struct stat st;
	int dfd = req_proc_open(p, why);
	ssize_t n;

	if (dfd < 0)
		return false;
	n = readlinkat(dfd, "exe", exe, sizeof(exe) - 1);
	int e = errno;
	bool stat_ok = r->kind == REQ_EXE_FILE && fstatat(dfd, "exe", &st, 0) == 0;
	if (r->kind == REQ_EXE_FILE && !stat_ok)
		e = errno;
	close(dfd);
	if (n < 0 || (r->kind == REQ_EXE_FILE && !stat_ok)) {
		snprintf(why, REQ_WHY_SIZE, "cannot read the peer's executable: %s", strerror(e));
		return false;
	}
	exe[n] = 0;
	if (r->kind == REQ_EXE_PATH && !strcmp(exe, r->text))
		return true;
	if (r->kind == REQ_EXE_FILE && st.st_dev == r->dev && st.st_ino == r->ino)
		return true;
	snprintf(why, REQ_WHY_SIZE, "executable %s is not %s%s", exe, r->text,
		 r->kind == REQ_EXE_FILE ? " (as it was when the requirement was made)" : "");
	return false;
}

/* The peer's LSM context: SO_PEERSEC when the peer made the link, its
 * /proc/PID/attr/current otherwise.  Return: its length, or -1. */
static ssize_t req_lsm_label(const ReqPeer *p, char *buf, size_t size, char *why)
{
	ssize_t n;

	if (p->by_socket) {
		n = p->link.ops->peer_label((TransportLink *)&p->link, buf, size);
		if (n < 0) {
			snprintf(why, REQ_WHY_SIZE, "no lsm label (SO_PEERSEC: %s)", strerror((int)-n));
			return -1;
		}
	} else {
		int dfd = req_proc_open(p, why);
		if (dfd < 0)
			return -1;
		n = req_read_at(dfd, "attr/current", buf, size);
		close(dfd);
		if (n <= 0) {
			snprintf(why, REQ_WHY_SIZE, "no lsm label (attr/current: %s)",
				 n < 0 ? strerror((int)-n) : "empty");
			return -1;
		}
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == 0))
		buf[--n] = 0;
	return n;
}

static bool req_check_lsm(xpc_peer_requirement_t r, const ReqPeer *p, char *why)
{
	char label[4096];

	if (req_lsm_label(p, label, sizeof(label), why) < 0)
		return false;
	if (!strcmp(label, r->text))
		return true;
	snprintf(why, REQ_WHY_SIZE, "lsm label '%s' is not '%s'", label, r->text);
	return false;
}

/*
 * The systemd unit of a cgroup path: its first component that is not a
 * slice ("/system.slice/foo.service/x" -> "foo.service"), as systemd's
 * cg_path_get_unit() reads it.  Writes it into @unit; false if none.
 */
bool requirement_cgroup_unit(const char *path, char *unit, size_t size)
{
	while (*path == '/')
		path++;
	while (*path) {
		size_t l = strcspn(path, "/\n");
		if (l >= 6 && !strncmp(path + l - 6, ".slice", 6)) {
			path += l;
			while (*path == '/')
				path++;
			continue;
		}
		if (l == 0 || l >= size || !memchr(path, '.', l))
			return false;
		memcpy(unit, path, l);
		unit[l] = 0;
		return true;
	}
	return false;
}

/* The unified hierarchy's line ("0::PATH"), else systemd's named one. */
static const char *req_cgroup_path(const char *cgroup)
{
	const char *l = strstr(cgroup, "0::/");

	if (l && (l == cgroup || l[-1] == '\n'))
		return l + 3;
	l = strstr(cgroup, ":name=systemd:");
	return l ? l + strlen(":name=systemd:") : NULL;
}

static bool req_check_unit(xpc_peer_requirement_t r, const ReqPeer *p, char *why)
{
	char cgroup[4096], unit[256];
	const char *path;
	int dfd = req_proc_open(p, why);

	if (dfd < 0)
		return false;
	ssize_t n = req_read_at(dfd, "cgroup", cgroup, sizeof(cgroup));
	close(dfd);
	path = n > 0 ? req_cgroup_path(cgroup) : NULL;
	if (!path || !requirement_cgroup_unit(path, unit, sizeof(unit))) {
		snprintf(why, REQ_WHY_SIZE, "peer in no systemd unit, not in %s", r->text);
		return false;
	}
	if (!strcmp(unit, r->text))
		return true;
	snprintf(why, REQ_WHY_SIZE, "systemd unit %s is not %s", unit, r->text);
	return false;
}

/* Return: true when @p satisfies @r; otherwise false with @why set. */
static bool req_check(xpc_peer_requirement_t r, const ReqPeer *p, char *why)
{
	if (r->kind == REQ_UNSUPPORTED) {
		snprintf(why, REQ_WHY_SIZE, "%s has no meaning on Linux", r->text);
		return false;
	}
	if (!p->known) {
		snprintf(why, REQ_WHY_SIZE, "peer identity unknown");
		return false;
	}
	switch (r->kind) {
	case REQ_UID:
		if (p->uid == r->uid)
			return true;
		snprintf(why, REQ_WHY_SIZE, "uid %u is not %u", (unsigned)p->uid, (unsigned)r->uid);
		return false;
	case REQ_GID:
		return req_check_gid(r, p, why);
	case REQ_EXE_PATH:
	case REQ_EXE_FILE:
		return req_check_exe(r, p, why);
	case REQ_LSM_LABEL:
		return req_check_lsm(r, p, why);
	case REQ_SYSTEMD_UNIT:
		return req_check_unit(r, p, why);
	default:
		snprintf(why, REQ_WHY_SIZE, "unknown requirement");
		return false;
	}
}

/* The facts of @c's peer (locked); needs the link up for the pidfd. */
static void req_peer_locked(xpc_connection_t c, ReqPeer *p)
{
	lock_assert_held(&c->lock);
	memset(p, 0, sizeof(*p));
	p->known = (c->peer.flags & PEER_F_KNOWN) && c->peer.pid > 0;
	p->pid = c->peer.pid;
	p->uid = c->peer.uid;
	p->gid = c->peer.gid;
	p->link = transport_link_view(&c->link);
	p->by_socket = c->peer.flags & PEER_F_BY_SOCKET;
	p->pidfd = p->known ? peer_pidfd_locked(c) : -1;
}

ConnError requirement_check_locked(xpc_connection_t c, char *why, size_t size)
{
	char detail[REQ_WHY_SIZE];
	ReqPeer p;

	lock_assert_held(&c->lock);
	if (!c->requirement || c->requirement_met)
		return CONN_OK;
	req_peer_locked(c, &p);
	if (req_check(c->requirement, &p, detail)) {
		c->requirement_met = true;
		return CONN_OK;
	}
	snprintf(why, size, "%s: %s", requirement_kind_name(c->requirement->kind), detail);
	return CONN_E_REQUIREMENT;
}

void requirement_inherit(xpc_connection_t listener, xpc_connection_t peer)
{
	xpc_peer_requirement_t r;

	conn_lock(listener);
	r = listener->requirement ? xpc_retain(listener->requirement) : NULL;
	conn_unlock(listener);
	peer->requirement = r; /* not shared yet: no lock */
}

/* ---- setting it -------------------------------------------------------------- */

/* Return: 0, or EINVAL when @c was activated already (nothing changes). */
static int req_set(xpc_connection_t c, xpc_peer_requirement_t r)
{
	xpc_peer_requirement_t old;

	conn_lock(c);
	if (c->state != CONN_INACTIVE || conn_has(c, CONN_F_CANCELLED)) {
		conn_unlock(c);
		return EINVAL;
	}
	old = c->requirement;
	c->requirement = xpc_retain(r);
	c->requirement_met = false;
	conn_unlock(c);
	if (old)
		xpc_release(old);
	return 0;
}

void xpc_connection_set_peer_requirement(xpc_connection_t c, xpc_peer_requirement_t r)
{
	static const char msg[] =
		"BUG IN CLIENT OF LIBXPC: xpc_connection_set_peer_requirement() needs a "
		"requirement and a connection not activated yet\n";

	if (c && requirement_is(r) && req_set(c, r) == 0)
		return;
	ssize_t w = write(STDERR_FILENO, msg, sizeof(msg) - 1);
	(void)w;
	abort();
}

/* Apple's code-signing forms: fail closed (see <xpc/connection.h>). */
static int req_set_unsupported(xpc_connection_t c, const char *what)
{
	xpc_peer_requirement_t r = requirement_new(REQ_UNSUPPORTED, what);
	int e;

	if (!r)
		return ENOMEM;
	e = req_set(c, r);
	xpc_release(r);
	return e ? e : ENOTSUP;
}

int xpc_connection_set_peer_code_signing_requirement(xpc_connection_t c, const char *requirement)
{
	return requirement ? req_set_unsupported(c, "code signing requirement") : EINVAL;
}

int xpc_connection_set_peer_entitlement_exists_requirement(xpc_connection_t c,
							   const char *entitlement)
{
	return entitlement ? req_set_unsupported(c, "entitlement requirement") : EINVAL;
}

int xpc_connection_set_peer_entitlement_matches_value_requirement(xpc_connection_t c,
								  const char *entitlement,
								  xpc_object_t value)
{
	return entitlement && value ? req_set_unsupported(c, "entitlement requirement") : EINVAL;
}

int xpc_connection_set_peer_team_identity_requirement(xpc_connection_t c,
						      const char *signing_identifier)
{
	(void)signing_identifier; /* NULL is valid: any identifier of the team */
	return req_set_unsupported(c, "team identity requirement");
}

int xpc_connection_set_peer_platform_identity_requirement(xpc_connection_t c,
							  const char *signing_identifier)
{
	(void)signing_identifier;
	return req_set_unsupported(c, "platform identity requirement");
}

int xpc_connection_set_peer_lightweight_code_requirement(xpc_connection_t c, xpc_object_t lwcr)
{
	if (!lwcr || xpc_get_type(lwcr) != XPC_TYPE_DICTIONARY)
		return EINVAL;
	return req_set_unsupported(c, "lightweight code requirement");
}

bool xpc_peer_requirement_match_received_message(xpc_peer_requirement_t r, xpc_object_t message,
						 xpc_rich_error_t *error_out)
{
	char why[REQ_WHY_SIZE];
	xpc_connection_t c;
	ReqPeer p;
	bool ok = false;

	if (error_out)
		*error_out = NULL;
	if (!requirement_is(r) || !message || xpc_get_type(message) != XPC_TYPE_DICTIONARY)
		return false;
	c = xpc_dictionary_get_remote_connection(message);
	if (!c)
		return false;
	conn_lock(c);
	if (c->state != CONN_INVALID && c->link.fd >= 0) {
		req_peer_locked(c, &p);
		ok = req_check(r, &p, why);
	}
	conn_unlock(c);
	return ok;
}

