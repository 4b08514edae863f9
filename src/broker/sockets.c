/* SPDX-License-Identifier: MIT */
/*
 * sockets.c - the Sockets key of launchd.plist(5).
 *
 * xpcd creates every socket of a job when the job is loaded and holds it
 * for the job's whole life, across its runs: clients can connect before
 * the job runs, and their connections wait in the backlog.  While the job
 * is stopped a READ source watches each descriptor; the first connection
 * (or datagram) starts the job, which takes the descriptors at launch
 * (launch.c puts them after the MachServices descriptors and names them
 * in XPCD_SOCKETS_*) and fetches them with launch_activate_socket(3)
 * (src/connection/launch.c).  When the job exits, the watch resumes.
 *
 * A Sockets value is a dictionary, or an array of them, per name; a
 * dictionary's keys: SockType (stream, dgram, seqpacket), SockPassive
 * (listen, default true; false connects), SockNodeName, SockServiceName (a
 * port number or a name of services(5)), SockFamily (IPv4, IPv6, IPv4v6,
 * Unix), SockProtocol (TCP, UDP: implied by the type), SockPathName (a
 * Unix socket), SockPathMode (an integer: launchd's decimal value of the
 * mode, 384 for 0600), SockPathOwner, SockPathGroup (uid, gid); they are
 * read by sockets-plist.c.  As in
 * launchd, an internet name without SockFamily binds every address
 * getaddrinfo(3) gives (IPv4 and IPv6: two descriptors, the IPv6 one
 * IPV6_V6ONLY).  MulticastGroup: each datagram socket of the name joins
 * the group (IP_ADD_MEMBERSHIP, IPV6_JOIN_GROUP) on the interface the
 * route to the group names (the loopback when there is none), the group
 * resolved for the socket's family as launchd does; a socket of a family
 * the group has no address in is left out, a name none of whose sockets
 * joined fails.  SecureSocketWithKey (instead of SockPathName): a Unix
 * socket named after the Sockets key in a fresh private directory
 * (mkdtemp /tmp/xpcd.XXXXXX, mode 0700; the directory and the socket, 0600
 * unless SockPathMode, owned by the job's user), whose path the job finds
 * in its environment under the key's value, as launchd's (SSH_AUTH_SOCK);
 * made anew each time the sockets are made, removed with them.  Bonjour
 * is accepted silently: xpcd does not speak DNS-SD (xpcd.plist(5)).
 *
 * A Unix socket's file is replaced when it is a socket already (a
 * previous broker's), refused otherwise, given its mode and owner before
 * listen(), so no one connects through a wider mode, and removed when the
 * job is unloaded.
 *
 * xpcd does all of that as root, in directories that may belong to a user
 * (a UserName job's socket in its user's directory), so a path is never
 * handed to the kernel as it is: its directory is walked one component at
 * a time with O_NOFOLLOW (sock_dir_open), a symbolic link followed only
 * when root or xpcd's user owns it (a user's link cannot lead the broker
 * elsewhere, a root-made /var/run -> /run still works), and every later
 * step acts in the directory that walk opened: bind and connect through
 * /proc/self/fd/N/NAME, unlinkat, the mode and owner set through an O_PATH
 * descriptor of the file just bound (refused unless it is a socket of
 * xpcd's uid), and at unload only the very file bound (device and inode)
 * is removed.  docs/security.md, "Paths the broker makes for a job".
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/limits.h> /* PATH_MAX, NAME_MAX: <limits.h> is broker/limits.h here */
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <net/if.h>
#include <netinet/in.h>

#include "broker/sockets.h"

#define SOCKETS_BACKLOG 128

/* ---- creating them ------------------------------------------------------------ */

static int sock_keep(JobSockets *s, int fd, const char *name, char *err, size_t errlen)
{
	if (s->n_fds >= SOCKETS_MAX_FDS) {
		close(fd);
		snprintf(err, errlen, "Sockets: more than %d descriptors", SOCKETS_MAX_FDS);
		return -1;
	}
	s->fds[s->n_fds] = fd;
	s->fd_names[s->n_fds++] = name;
	return 0;
}

/* ---- Unix paths, walked without following a user's links ------------------------ */

#define SOCK_MAX_LINKS 8 /* symbolic links followed in one path */

static int sock_walk(int dfd, const char *path, unsigned *links);

/* A link may be followed when root or xpcd's user made it: its content is
 * theirs, not a user's. */
static bool sock_link_trusted(const struct stat *st)
{
	return st->st_uid == 0 || st->st_uid == geteuid();
}

/* One component @c in directory @dfd (consumed): the directory it names,
 * opened O_PATH, or -errno. */
static int sock_step(int dfd, const char *c, unsigned *links)
{
	char target[PATH_MAX];
	struct stat st;
	int fd = openat(dfd, c, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n;

	if (fd < 0 || fstat(fd, &st) < 0) {
		int e = -errno;
		if (fd >= 0)
			close(fd);
		close(dfd);
		return e;
	}
	if (S_ISDIR(st.st_mode)) {
		close(dfd);
		return fd;
	}
	if (!S_ISLNK(st.st_mode) || !sock_link_trusted(&st) || ++*links > SOCK_MAX_LINKS ||
	    (n = readlinkat(fd, "", target, sizeof(target) - 1)) <= 0) {
		int e = S_ISLNK(st.st_mode) ? (*links > SOCK_MAX_LINKS ? -ELOOP : -EPERM) : -ENOTDIR;
		close(fd);
		close(dfd);
		return e;
	}
	close(fd);
	target[n] = '\0';
	return sock_walk(dfd, target, links);
}

/* @path walked from @dfd (consumed; "/" restarts at the root): the
 * directory it names, opened O_PATH, or -errno. */
static int sock_walk(int dfd, const char *path, unsigned *links)
{
	char comp[NAME_MAX + 1];

	if (path[0] == '/') {
		close(dfd);
		if ((dfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
			return -errno;
	}
	for (const char *p = path; *p;) {
		size_t len = strcspn(p, "/");
		if (len > NAME_MAX) {
			close(dfd);
			return -ENAMETOOLONG;
		}
		memcpy(comp, p, len);
		comp[len] = '\0';
		p += len + strspn(p + len, "/");
		if (len && strcmp(comp, ".") && (dfd = sock_step(dfd, comp, links)) < 0)
			return dfd;
	}
	return dfd;
}

/* The directory of @path (absolute) opened O_PATH, and its last component
 * in @base.  Return: the descriptor, or -errno. */
static int sock_dir_open(const char *path, char *base, size_t size)
{
	const char *slash = strrchr(path, '/');
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	unsigned links = 0;
	int root;

	if (!slash || !slash[1] || (size_t)(slash - path) >= sizeof(dir) || strlen(slash + 1) >= size ||
	    !strcmp(slash + 1, ".") || !strcmp(slash + 1, ".."))
		return -EINVAL;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	snprintf(base, size, "%s", slash + 1);
	if ((root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -errno;
	return sock_walk(root, dir, &links);
}

/* The address of @base in the directory @dfd: /proc/self/fd/DFD/BASE. */
static int sock_addr_at(int dfd, const char *base, struct sockaddr_un *sa)
{
	int n = snprintf(sa->sun_path, sizeof(sa->sun_path), "/proc/self/fd/%d/%s", dfd, base);

	return n < 0 || (size_t)n >= sizeof(sa->sun_path) ? ENAMETOOLONG : 0;
}

/* Clears the way for a Unix socket's file: a socket there is replaced,
 * anything else is refused.  Return: 0 or an errno. */
static int sock_unlink_stale(int dfd, const char *base)
{
	struct stat st;

	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : errno;
	if (!S_ISSOCK(st.st_mode))
		return EEXIST;
	return unlinkat(dfd, base, 0) < 0 ? errno : 0;
}

/* The file just bound: its mode and owner, set through a descriptor of
 * it, never through its name (which its directory's owner may have made a
 * link to anything meanwhile).  Records its identity for sockets_close.
 * Return: 0 or an errno; *@step what failed. */
static int sock_set_file(SockSpec *sp, int dfd, const char *base, const char **step)
{
	char proc[64];
	struct stat st;
	int fd = openat(dfd, base, O_PATH | O_NOFOLLOW | O_CLOEXEC), e = 0;

	*step = "bind";
	if (fd < 0)
		return errno;
	if (fstat(fd, &st) < 0)
		e = errno;
	else if (!S_ISSOCK(st.st_mode) || st.st_uid != geteuid())
		e = EPERM; /* replaced since the bind */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (!e && sp->path_mode >= 0 && chmod(proc, (mode_t)sp->path_mode) < 0)
		e = errno, *step = "SockPathMode";
	else if (!e && (sp->path_owner >= 0 || sp->path_group >= 0) &&
		 fchownat(fd, "", (uid_t)sp->path_owner, (gid_t)sp->path_group, AT_EMPTY_PATH) < 0)
		e = errno, *step = "SockPathOwner/Group";
	if (!e) {
		sp->file_dev = st.st_dev;
		sp->file_ino = st.st_ino;
	}
	close(fd);
	return e;
}

/* Binds (and gives its mode and owner) or connects @fd to @sp's path.
 * Return: 0 or an errno; *@step what failed. */
static int sock_unix_path(SockSpec *sp, int fd, const char **step)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char base[sizeof(sa.sun_path)];
	int dfd = sock_dir_open(sp->path, base, sizeof(base)), e;

	*step = "open the directory of";
	if (dfd < 0)
		return -dfd;
	if ((e = sock_addr_at(dfd, base, &sa)) != 0)
		;
	else if (!sp->passive)
		e = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? (*step = "connect", errno) : 0;
	else if ((e = sock_unlink_stale(dfd, base)) != 0)
		*step = "replace";
	else if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		e = errno, *step = "bind";
	else
		e = sock_set_file(sp, dfd, base, step);
	close(dfd);
	return e;
}

/* SecureSocketWithKey: a fresh private directory for the socket (a new
 * name in the sticky /tmp, xpcd's own until the socket is in it:
 * sock_secure_give); sp->path becomes DIR/NAME and the socket's owner the
 * job's user.  Return: 0, or -1 with errno. */
static int sock_secure_path(const JobSockets *s, SockSpec *sp)
{
	char tmpl[] = "/tmp/xpcd.XXXXXX", *path = NULL;
	bool other = s->owner != geteuid();
	int e;

	if (!mkdtemp(tmpl))
		return -1;
	if (asprintf(&path, "%s/%s", tmpl, sp->name) < 0 ||
	    strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path) || !(sp->secure_dir = strdup(tmpl))) {
		e = path ? ENAMETOOLONG : errno;
		free(path);
		rmdir(tmpl);
		errno = e;
		return -1;
	}
	free(sp->path);
	sp->path = path;
	if (sp->secure_chown)
		sp->path_owner = other ? (long long)s->owner : -1;
	return 0;
}

/* The directory, its socket made, to the job's user.  Return: 0 or an errno. */
static int sock_secure_give(const JobSockets *s, const SockSpec *sp)
{
	if (!sp->secure_dir || s->owner == geteuid())
		return 0;
	return lchown(sp->secure_dir, s->owner, (gid_t)-1) < 0 ? errno : 0;
}

/* The directory of a SecureSocketWithKey socket (its socket removed by
 * then): removed, and the path forgotten.  rmdir never follows a link. */
static void sock_secure_remove(SockSpec *sp)
{
	if (!sp->secure_dir)
		return;
	rmdir(sp->secure_dir);
	free(sp->secure_dir);
	free(sp->path);
	sp->secure_dir = NULL;
	sp->path = NULL;
}

static void sock_remove_file(const SockSpec *sp);

static int sock_open_unix(JobSockets *s, SockSpec *sp, char *err, size_t errlen)
{
	int fd, e = 0;
	const char *step = "socket";

	if (sp->secure_key && sock_secure_path(s, sp) < 0) {
		snprintf(err, errlen, "Sockets %s: SecureSocketWithKey: a private directory in /tmp: %s", sp->name,
			 strerror(errno));
		return -1;
	}
	fd = socket(AF_UNIX, sp->type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		e = errno;
	else if ((e = sock_unix_path(sp, fd, &step)) != 0)
		;
	else if (sp->passive && sp->type != SOCK_DGRAM && listen(fd, SOCKETS_BACKLOG) < 0)
		e = errno, step = "listen";
	else if ((e = sock_secure_give(s, sp)) != 0)
		step = "give the job's user the directory of";
	if (e) {
		snprintf(err, errlen, "Sockets %s: %s %s: %s", sp->name, step, sp->path, strerror(e));
		if (fd >= 0)
			close(fd);
		if (sp->secure_dir)
			sock_remove_file(sp); /* only the very file bound, if any */
		sock_secure_remove(sp);
		errno = e;
		return -1;
	}
	if (sock_keep(s, fd, sp->name, err, errlen) < 0) {
		if (sp->secure_dir)
			sock_remove_file(sp);
		sock_secure_remove(sp);
		return -1;
	}
	return 0;
}

/* At unload: removes the file @sp bound, if it is still that file. */
static void sock_remove_file(const SockSpec *sp)
{
	char base[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct stat st;
	int dfd = sock_dir_open(sp->path, base, sizeof(base));

	if (dfd < 0)
		return;
	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == sp->file_dev &&
	    st.st_ino == sp->file_ino)
		unlinkat(dfd, base, 0);
	close(dfd);
}

static int sock_open_addr(const SockSpec *sp, const struct addrinfo *ai)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol), one = 1;

	if (fd < 0)
		return -1;
	if (!sp->passive) {
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			return fd;
	} else {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (ai->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    (sp->type == SOCK_DGRAM || listen(fd, SOCKETS_BACKLOG) == 0))
			return fd;
	}
	int e = errno;
	close(fd);
	errno = e;
	return -1;
}

/* Joins @group (resolved for @family) on @fd: on the interface the route
 * names, else on the loopback.  Return: 0, 1 the group has no address of
 * this family, or -1 with errno. */
static int sock_join_group(int fd, int family, const char *group)
{
	struct addrinfo hints = {.ai_family = family, .ai_socktype = SOCK_DGRAM}, *res = NULL;
	int r, lo = (int)if_nametoindex("lo");

	if (getaddrinfo(group, NULL, &hints, &res) != 0 || !res)
		return 1;
	if (family == AF_INET) {
		struct ip_mreqn m = {.imr_multiaddr = ((struct sockaddr_in *)res->ai_addr)->sin_addr};
		r = IN_MULTICAST(ntohl(m.imr_multiaddr.s_addr)) ? setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof(m))
								 : (errno = EINVAL, -1);
		if (r < 0 && errno == ENODEV && lo > 0) {
			m.imr_ifindex = lo;
			r = setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof(m));
		}
	} else {
		struct ipv6_mreq m = {.ipv6mr_multiaddr = ((struct sockaddr_in6 *)res->ai_addr)->sin6_addr};
		r = IN6_IS_ADDR_MULTICAST(&m.ipv6mr_multiaddr) ? setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &m, sizeof(m))
							       : (errno = EINVAL, -1);
		if (r < 0 && errno == ENODEV && lo > 0) {
			m.ipv6mr_interface = (unsigned)lo;
			r = setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &m, sizeof(m));
		}
	}
	freeaddrinfo(res);
	return r < 0 ? -1 : 0;
}

static int sock_open_inet(JobSockets *s, const SockSpec *sp, char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_family = sp->family, .ai_socktype = sp->type,
				 .ai_flags = sp->passive ? AI_PASSIVE : 0}, *res = NULL;
	int r = getaddrinfo(sp->node, sp->service, &hints, &res), n = 0, e = 0;

	if (r) {
		snprintf(err, errlen, "Sockets %s: %s:%s: %s", sp->name, sp->node ? sp->node : "*", sp->service,
			 gai_strerror(r));
		errno = EADDRNOTAVAIL;
		return -1;
	}
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		int fd = sock_open_addr(sp, ai), j = 0;
		if (fd < 0) {
			e = errno;
			continue;
		}
		if (sp->mcast_group && (j = sock_join_group(fd, ai->ai_family, sp->mcast_group)) != 0) {
			e = j < 0 ? errno : EAFNOSUPPORT;
			close(fd); /* a family the group has no address in, or the join failed */
			continue;
		}
		if (sock_keep(s, fd, sp->name, err, errlen) < 0) {
			freeaddrinfo(res);
			return -1;
		}
		n++;
		if (!sp->passive)
			break; /* one connection is the socket */
	}
	freeaddrinfo(res);
	if (n == 0) {
		snprintf(err, errlen, "Sockets %s: %s %s:%s: %s", sp->name,
			 sp->mcast_group ? "bind and join MulticastGroup" : sp->passive ? "bind" : "connect",
			 sp->node ? sp->node : "*", sp->service, strerror(e));
		errno = e;
		return -1;
	}
	return 0;
}

int sockets_open(JobSockets *s, char *err, size_t errlen)
{
	char why[400];
	int e = 0;

	for (size_t i = 0; i < s->n_specs; i++) {
		SockSpec *sp = &s->specs[i];
		if (sp->open)
			continue;
		int r = sp->family == AF_UNIX ? sock_open_unix(s, sp, why, sizeof(why))
					      : sock_open_inet(s, sp, why, sizeof(why));
		if (r == 0) {
			sp->open = true;
		} else if (!e) {
			e = errno ? errno : EINVAL;
			snprintf(err, errlen, "%s", why);
		}
	}
	errno = e;
	return e ? -1 : 0;
}

int sockets_env(const JobSockets *s, char **envp, size_t *k, size_t cap)
{
	for (size_t i = 0; i < s->n_specs; i++) {
		const SockSpec *sp = &s->specs[i];
		char *kv = NULL;
		if (!sp->secure_key || !sp->open || !sp->path)
			continue;
		if (*k + 1 >= cap || asprintf(&kv, "%s=%s", sp->secure_key, sp->path) < 0)
			return -1;
		envp[(*k)++] = kv;
	}
	return 0;
}

bool sockets_complete(const JobSockets *s)
{
	for (size_t i = 0; i < s->n_specs; i++)
		if (!s->specs[i].open)
			return false;
	return true;
}

/* ---- watching them -------------------------------------------------------------- */

static void sockets_on_ready(void *arg)
{
	JobSockets *s = arg;
	struct pollfd pfd[SOCKETS_MAX_FDS];
	char why[320] = "Sockets: connection";

	for (size_t i = 0; i < s->n_fds; i++)
		pfd[i] = (struct pollfd){.fd = s->fds[i], .events = POLLIN};
	s->ready_fd = s->n_fds ? s->fds[0] : -1;
	if (poll(pfd, s->n_fds, 0) > 0) {
		for (size_t i = 0; i < s->n_fds; i++) {
			if (pfd[i].revents) {
				s->ready_fd = s->fds[i];
				snprintf(why, sizeof(why), "Sockets %s: connection", s->fd_names[i]);
				break;
			}
		}
	}
	sockets_unwatch(s);
	if (s->fire)
		s->fire(s->ctx, why);
}

void sockets_watch(JobSockets *s, void (*fire)(void *ctx, const char *why), void *ctx)
{
	s->fire = fire;
	s->ctx = ctx;
	for (size_t i = 0; i < s->n_fds; i++) {
		if (s->watch[i])
			continue;
		s->watch[i] = dispatch_source_create(DISPATCH_SOURCE_TYPE_READ, (uintptr_t)s->fds[i], 0,
						     dispatch_get_main_queue());
		if (!s->watch[i])
			continue; /* out of memory: this one does not start the job */
		dispatch_set_context(s->watch[i], s);
		dispatch_source_set_event_handler_f(s->watch[i], sockets_on_ready);
		dispatch_resume(s->watch[i]);
	}
}

void sockets_unwatch(JobSockets *s)
{
	for (size_t i = 0; i < s->n_fds; i++) {
		if (!s->watch[i])
			continue;
		dispatch_source_cancel(s->watch[i]);
		dispatch_release(s->watch[i]);
		s->watch[i] = NULL;
	}
}

static void sockets_close_fd(void *arg)
{
	close((int)(intptr_t)arg);
}

void sockets_close(JobSockets *s)
{
	for (size_t i = 0; i < s->n_fds; i++) {
		if (s->watch[i]) {
			/* closed once the source is done with it */
			dispatch_set_context(s->watch[i], (void *)(intptr_t)s->fds[i]);
			dispatch_source_set_cancel_handler_f(s->watch[i], sockets_close_fd);
			dispatch_source_cancel(s->watch[i]);
			dispatch_release(s->watch[i]);
			s->watch[i] = NULL;
		} else {
			close(s->fds[i]);
		}
	}
	s->n_fds = 0;
	for (size_t i = 0; i < s->n_specs; i++) {
		if (s->specs[i].path && s->specs[i].open && s->specs[i].passive)
			sock_remove_file(&s->specs[i]);
		sock_secure_remove(&s->specs[i]);
		s->specs[i].open = false;
	}
}

void sockets_free(JobSockets *s)
{
	for (size_t i = 0; i < s->n_specs; i++) {
		free(s->specs[i].name);
		free(s->specs[i].node);
		free(s->specs[i].service);
		free(s->specs[i].path);
		free(s->specs[i].mcast_group);
		free(s->specs[i].secure_key);
		free(s->specs[i].secure_dir);
	}
	free(s->specs);
	s->specs = NULL;
	s->n_specs = 0;
}
