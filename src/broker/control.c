/*
 * control.c - the broker socket and its request protocol (docs/broker.md).
 *
 * The broker socket is an AF_UNIX SOCK_SEQPACKET listener.  Each accepted
 * link becomes an XPC peer connection (connection_create_from_socket) whose
 * messages are requests { "xpcd.op": OP, ... } answered with a reply:
 * { "ok": true, ... } or { "error": TEXT, "errno": N }.
 *
 * lookup is open to every client the job's policy admits (XPCDAllowedUIDs,
 * XPCDAllowedGroups: the peer's euid is listed, or its egid, or a group its
 * user belongs to per the group database; no rule at all admits anyone);
 * the operations that change state (load, unload, enable, disable,
 * kickstart, kill) only to the broker's own user and root.  The broker is
 * never on a service's data path: a lookup returns an endpoint and the
 * client checks in directly.
 *
 * What a peer sees of a job follows the same policy (job_visible_to): root
 * and the job's own user (UserName's, else the broker's) get everything;
 * anyone else only the label, state and names of the jobs whose names they
 * may look up, and nothing of the others.
 *
 * Limits (docs/broker.md): the cost of links is kept per user (SO_PEERCRED
 * uid) and in all by links.c: a user's links beyond its share wait, are
 * refused with a reply naming the limit, or are closed at accept after one
 * message naming it (client_refuse_at_once).  A link that sends no request
 * for the idle timeout is closed (control_sweep_idle).  Per link, replies
 * the client has not taken are bounded (CONTROL_MAX_UNSENT_* through
 * connection_set_send_limits): a client that sends requests and never reads
 * the answers loses its link.  No request may come out of line
 * (connection_set_receive_limit 0): a body of holes costs its sender
 * nothing and the broker its whole length.
 *
 * The socket file: made with the mode of its domain (control_listen), and
 * removed at exit only while it is still this broker's (same inode).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <xpc/xpc.h>

#include "broker/job.h"
#include "broker/remote-export.h"
#include "private/xpc-private.h"

#define CONTROL_MAX_LINKS 1024
#define CONTROL_MAX_LINKS_PER_USER 384
#define CONTROL_MAX_UNSENT_BYTES (256u * 1024u)
#define CONTROL_MAX_UNSENT_FDS 16u
#define CONTROL_USER_TEXT "limit exceeded: broker links per user"
#define CONTROL_ALL_TEXT "limit exceeded: broker links"

/* One accepted link, in the list the idle sweep walks. */
typedef struct ControlLink ControlLink;
struct ControlLink {
	ControlLink *prev, *next;
	xpc_connection_t peer; /* inactive while waiting */
	LinkUser *user;
	LinkKind kind;
	uid_t uid;
	pid_t pid;
	uint64_t last_ms; /* monotonic: served, or its last request */
	bool closing;     /* cancelled by the sweep */
};

static int listen_fd = -1;
static dispatch_source_t accept_source, idle_source;
static char *socket_path;
static dev_t socket_dev;
static ino_t socket_ino;
static unsigned idle_ms;
static ControlLink *links_head;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The peer's credentials at connect; false if the kernel has none. */
static bool socket_peer(int fd, struct ucred *ret)
{
	socklen_t len = sizeof(*ret);

	return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, ret, &len) == 0;
}

static xpc_object_t reply_error(xpc_object_t req, const char *text, int err)
{
	xpc_object_t r = xpc_dictionary_create_reply(req);

	if (r) {
		xpc_dictionary_set_string(r, "error", text);
		xpc_dictionary_set_int64(r, "errno", err);
	}
	return r;
}

static xpc_object_t reply_ok(xpc_object_t req)
{
	xpc_object_t r = xpc_dictionary_create_reply(req);

	if (r)
		xpc_dictionary_set_bool(r, "ok", true);
	return r;
}

static bool gid_listed(const Job *job, gid_t gid)
{
	for (size_t i = 0; i < job->n_allowed_gids; i++)
		if (job->allowed_gids[i] == gid)
			return true;
	return false;
}

/* True when a group of @uid's user (group database) is listed. */
static bool member_listed(const Job *job, uid_t uid)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	gid_t groups[256];
	int n = 256;

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) != 0 || !res)
		return false;
	if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &n) < 0)
		return false;
	for (int i = 0; i < n; i++)
		if (gid_listed(job, groups[i]))
			return true;
	return false;
}

/* The lookup policy (xpcd.plist(5)): who may use @job's names. */
static bool peer_allowed(const Job *job, const ControlPeer *peer)
{
	uid_t uid = peer->uid;

	if (!job->allowed_uids && !job->allowed_gids)
		return true;
	for (size_t i = 0; i < job->n_allowed_uids; i++)
		if (job->allowed_uids[i] == uid)
			return true;
	if (!job->allowed_gids)
		return false;
	return gid_listed(job, peer->gid) || member_listed(job, uid);
}

static xpc_object_t op_lookup(const ControlPeer *peer, xpc_object_t req)
{
	const char *name = xpc_dictionary_get_string(req, "name");
	JobService *s = NULL;
	Job *job = name ? jobs_find_service(name, &s) : NULL;
	xpc_object_t r, ep;

	if (!job || job->unloading) /* an unloaded job still stopping vends nothing */
		return reply_error(req, "unknown name", ESRCH);
	if (!peer_allowed(job, peer))
		return reply_error(req, "denied", EPERM);
	if (job->disabled)
		return reply_error(req, "disabled", ECANCELED);
	ep = _xpc_linux_endpoint_create_from_send_fd(s->send_fd);
	if (!ep)
		return reply_error(req, "limit exceeded: descriptors (none left in the broker)", errno);
	r = reply_ok(req);
	if (r)
		xpc_dictionary_set_value(r, "endpoint", ep);
	xpc_release(ep);
	return r;
}

/* What @peer may see of @job (see the top). */
enum { SEE_NOTHING, SEE_STATE, SEE_ALL };

/* The uid @job runs as: UserName's on a root broker, else the broker's. */
static bool job_uid(const Job *job, uid_t *ret)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	*ret = geteuid();
	if (!job->user || geteuid() != 0)
		return true;
	if (getpwnam_r(job->user, &pw, buf, sizeof(buf), &res) != 0 || !res)
		return false;
	*ret = pw.pw_uid;
	return true;
}

static int job_visibility(const Job *job, const ControlPeer *peer)
{
	uid_t owner;

	if (peer->uid == 0 || peer->uid == geteuid() || (job_uid(job, &owner) && owner == peer->uid))
		return SEE_ALL;
	return peer_allowed(job, peer) ? SEE_STATE : SEE_NOTHING;
}

static const char *job_state(const Job *job)
{
	if (job->pid)
		return job->stopping ? "stopping" : "running";
	if (job->disabled)
		return "disabled";
	return job->launch_pending ? "throttled" : "waiting";
}

/* The entry of @job: label, state and names for SEE_STATE; for SEE_ALL
 * also pid and last exit status, and with @full the definition. */
static xpc_object_t describe_job(Job *job, int see, bool full)
{
	xpc_object_t d = xpc_dictionary_create(NULL, NULL, 0);
	xpc_object_t names = xpc_array_create(NULL, 0);

	xpc_dictionary_set_string(d, "label", job->label);
	xpc_dictionary_set_string(d, "state", job_state(job));
	xpc_dictionary_set_bool(d, "disabled", job->disabled);
	for (size_t i = 0; i < job->n_services; i++)
		if (!job->services[i].hidden)
			xpc_array_set_string(names, XPC_ARRAY_APPEND, job->services[i].name);
	xpc_dictionary_set_value(d, "services", names);
	xpc_release(names);
	if (see != SEE_ALL)
		return d;
	xpc_dictionary_set_int64(d, "pid", job->pid);
	xpc_dictionary_set_int64(d, "last_exit_status", job->last_status);
	if (!full)
		return d;
	xpc_dictionary_set_string(d, "program", job->program ? job->program : job->argv[0]);
	if (job->argv) {
		xpc_object_t args = xpc_array_create(NULL, 0);
		for (size_t i = 0; job->argv[i]; i++)
			xpc_array_set_string(args, XPC_ARRAY_APPEND, job->argv[i]);
		xpc_dictionary_set_value(d, "arguments", args);
		xpc_release(args);
	}
	if (job->path)
		xpc_dictionary_set_string(d, "path", job->path);
	if (job->user)
		xpc_dictionary_set_string(d, "user", job->user);
	xpc_dictionary_set_uint64(d, "runs", job->runs);
	xpc_dictionary_set_bool(d, "run_at_load", job->run_at_load);
	xpc_dictionary_set_bool(d, "keepalive", job->keepalive);
	xpc_dictionary_set_bool(d, "adopted", job->adopted);
	xpc_dictionary_set_uint64(d, "throttle_interval", job->throttle_interval);
	xpc_dictionary_set_uint64(d, "exit_timeout", job->exit_timeout);
	return d;
}

static xpc_object_t op_list(const ControlPeer *peer, xpc_object_t req)
{
	xpc_object_t r = reply_ok(req);
	xpc_object_t arr = xpc_array_create(NULL, 0);

	for (Job *j = jobs_first(); j; j = j->next) {
		int see = job_visibility(j, peer);
		if (see == SEE_NOTHING)
			continue;
		xpc_object_t d = describe_job(j, see, false);
		xpc_array_append_value(arr, d);
		xpc_release(d);
	}
	if (r)
		xpc_dictionary_set_value(r, "jobs", arr);
	xpc_release(arr);
	return r;
}

static xpc_object_t op_print(const ControlPeer *peer, xpc_object_t req, Job *job)
{
	int see = job_visibility(job, peer);
	xpc_object_t r, d;

	if (see == SEE_NOTHING) /* as for a label no job has: its existence is not told */
		return reply_error(req, "no job with that label", ESRCH);
	d = describe_job(job, see, true);
	r = reply_ok(req);
	if (r)
		xpc_dictionary_set_value(r, "job", d);
	xpc_release(d);
	return r;
}

static xpc_object_t op_load(xpc_object_t req)
{
	const char *path = xpc_dictionary_get_string(req, "path");
	char err[512];
	Job *job = NULL;
	xpc_object_t r;

	if (!path)
		return reply_error(req, "load: missing \"path\"", EINVAL);
	if (job_load_file(path, &job, err, sizeof(err)) < 0 || jobs_add(job, err, sizeof(err)) < 0)
		return reply_error(req, err, EINVAL);
	r = reply_ok(req);
	if (r)
		xpc_dictionary_set_string(r, "label", job->label);
	return r;
}

static xpc_object_t op_on_job(xpc_object_t req, const char *op, Job *job)
{
	xpc_object_t r;

	if (!strcmp(op, "unload")) {
		jobs_remove(job);
	} else if (!strcmp(op, "enable")) {
		job->disabled = false;
		control_services_changed();
		if (!job->pid)
			service_watch(job);
	} else if (!strcmp(op, "disable")) {
		job->disabled = true;
		control_services_changed();
		service_unwatch(job);
	} else if (!strcmp(op, "kickstart")) {
		if (job->pid && xpc_dictionary_get_bool(req, "kill")) {
			job->relaunch_once = true;
			launch_stop(job);
		} else if (!job->pid) {
			job->last_start.tv_sec = 0; /* kickstart is not throttled */
			job->last_start.tv_nsec = 0;
			if (job->disabled || launch_job(job) < 0)
				return reply_error(req, "kickstart: the job is disabled or could not start", EIO);
		}
	} else if (!strcmp(op, "kill")) {
		int64_t sig = xpc_dictionary_get_int64(req, "signal");
		if (sig <= 0 || sig >= NSIG)
			return reply_error(req, "kill: bad signal number", EINVAL);
		if (!job->pid)
			return reply_error(req, "kill: the job is not running", ESRCH);
		launch_signal(job, (int)sig);
	} else {
		return reply_error(req, "unknown operation", EOPNOTSUPP);
	}
	r = reply_ok(req);
	if (r)
		xpc_dictionary_set_int64(r, "pid", job->pid);
	return r;
}

xpc_object_t control_handle_request(const ControlPeer *peer, xpc_object_t req)
{
	const char *op = xpc_dictionary_get_string(req, "xpcd.op");
	uid_t uid = peer->uid;
	const char *label;
	Job *job;

	if (!op)
		return reply_error(req, "missing \"xpcd.op\"", EINVAL);
	if (!strcmp(op, "lookup"))
		return op_lookup(peer, req);
	if (!strcmp(op, "list"))
		return op_list(peer, req);
	if (strcmp(op, "print") && uid != 0 && uid != geteuid())
		return reply_error(req, "denied", EPERM);
	if (!strcmp(op, "load"))
		return op_load(req);
	label = xpc_dictionary_get_string(req, "label");
	job = label ? jobs_find_label(label) : NULL;
	if (!job)
		return reply_error(req, "no job with that label", ESRCH);
	if (!strcmp(op, "print"))
		return op_print(peer, req, job);
	return op_on_job(req, op, job);
}

static void client_serve(ControlLink *l);

static void link_unlist(ControlLink *l)
{
	if (l->prev)
		l->prev->next = l->next;
	else
		links_head = l->next;
	if (l->next)
		l->next->prev = l->prev;
}

/* Refunds a link of @kind; the user's oldest waiting link, if that made
 * room for it, is served. */
static void client_refund(LinkUser *user, LinkKind kind)
{
	ControlLink *next = links_release(user, kind);

	if (next) {
		next->kind = LINK_SERVED;
		client_serve(next);
	}
}

/* A link is gone. */
static void client_gone(ControlLink *l)
{
	char *why = xpc_connection_copy_invalidation_reason(l->peer);
	LinkUser *user = l->user;
	LinkKind kind = l->kind;

	if (why && !strncmp(why, "limit exceeded", 14))
		broker_log("client uid %u pid %d: %s; link closed", (unsigned)l->uid, (int)l->pid, why);
	free(why);
	link_unlist(l);
	xpc_release(l->peer);
	free(l);
	client_refund(user, kind);
}

/* A request on a link: answered, or for a REFUSING link refused with the
 * limit's name and the link closed. */
static void client_request(ControlLink *l, xpc_object_t ev)
{
	bool refuse = l->kind == LINK_REFUSING;
	ControlPeer who = {xpc_connection_get_euid(l->peer), xpc_connection_get_egid(l->peer)};
	xpc_object_t reply = refuse ? reply_error(ev, CONTROL_USER_TEXT, EMFILE) : control_handle_request(&who, ev);
	xpc_connection_t peer = l->peer;
	const LinkLimits *lim = links_limits();

	l->last_ms = now_ms();
	if (reply) {
		xpc_connection_send_message(peer, reply);
		xpc_release(reply);
	}
	if (!refuse)
		return;
	broker_log("client uid %u pid %d: %s (%u links of one user, %u in all); request refused", (unsigned)l->uid,
		   (int)l->pid, CONTROL_USER_TEXT, lim->per_user, lim->max_links);
	xpc_connection_send_barrier(peer, ^{
		xpc_connection_cancel(peer);
	});
}

static void client_event(ControlLink *l, xpc_object_t ev)
{
	if (xpc_get_type(ev) == XPC_TYPE_DICTIONARY)
		client_request(l, ev);
	else if (ev == XPC_ERROR_CONNECTION_INVALID)
		client_gone(l);
}

static void client_serve(ControlLink *l)
{
	l->last_ms = now_ms();
	xpc_connection_set_event_handler(l->peer, ^(xpc_object_t ev) { client_event(l, ev); });
	xpc_connection_resume(l->peer);
}

/*
 * A link over every limit is closed at once, unread; before that it gets one
 * unsolicited message { "xpcd.error": TEXT, "errno": EMFILE } (one
 * non-blocking send on a fresh socket: no state is kept), which the
 * client's lookup takes as the reason its link ended (docs/broker.md).
 */
static void client_refuse_at_once(int fd, const char *text)
{
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0);

	xpc_dictionary_set_string(m, "xpcd.error", text);
	xpc_dictionary_set_int64(m, "errno", EMFILE);
	(void)_xpc_linux_send_message_once(fd, m);
	xpc_release(m);
	close(fd);
}

/* Logs a refusal at accept, once per second at most (a flood would
 * otherwise fill the log). */
static void client_log_refusal(const struct ucred *cr, const char *text)
{
	static uint64_t last;
	uint64_t now = now_ms();

	if (last && now - last < 1000)
		return;
	last = now;
	broker_log("client uid %u pid %d: %s; links closed at accept", (unsigned)cr->uid, (int)cr->pid, text);
}

static void client_accept(int fd)
{
	struct ucred cr = {.pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1};
	ControlLink *l = calloc(1, sizeof(*l));
	LinkUser *user = NULL;
	LinkKind kind = LINK_REFUSED_ALL;

	if (l && socket_peer(fd, &cr))
		kind = links_admit(cr.uid, &user);
	if (kind == LINK_REFUSED || kind == LINK_REFUSED_ALL) {
		const char *text = kind == LINK_REFUSED ? CONTROL_USER_TEXT : CONTROL_ALL_TEXT;
		client_log_refusal(&cr, text);
		client_refuse_at_once(fd, text);
		free(l);
		return;
	}
	*l = (ControlLink){.user = user, .kind = kind, .uid = cr.uid, .pid = cr.pid, .next = links_head};
	l->peer = _xpc_linux_connection_create_from_socket(fd, dispatch_get_main_queue());
	if (!l->peer || (kind == LINK_WAITING && links_wait_push(user, l) < 0)) {
		if (l->peer) {
			xpc_connection_cancel(l->peer);
			xpc_release(l->peer);
		}
		free(l);
		client_refund(user, kind);
		return;
	}
	if (links_head)
		links_head->prev = l;
	links_head = l;
	_xpc_linux_connection_set_send_limits(l->peer, CONTROL_MAX_UNSENT_BYTES, CONTROL_MAX_UNSENT_FDS);
	_xpc_linux_connection_set_receive_limit(l->peer, 0); /* requests are small: no out-of-line body */
	if (kind != LINK_WAITING)
		client_serve(l);
}

/*
 * The idle sweep: every idle_ms / 2, a link being read (served or
 * refusing) that has sent no request for idle_ms is closed.  Waiting links
 * are not read yet: their time starts when they are served.
 */
static void control_sweep_idle(void *ctx)
{
	uint64_t now = now_ms();
	unsigned closed = 0;

	(void)ctx;
	for (ControlLink *l = links_head; l; l = l->next) {
		if (l->kind == LINK_WAITING || l->closing || now - l->last_ms < idle_ms)
			continue;
		l->closing = true;
		closed++;
		xpc_connection_cancel(l->peer); /* client_gone follows */
	}
	if (closed)
		broker_log("%u client link%s closed: no request for %u ms (idle timeout)", closed, closed == 1 ? "" : "s",
			   idle_ms);
}

static unsigned descriptors_in_use(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;

	if (!d)
		return 32; /* a guess that errs on the safe side */
	while (readdir(d))
		n++;
	closedir(d);
	return n > 3 ? n - 3 : n; /* ".", ".." and the directory's own */
}

/* The default cap: two descriptors a link, a quarter of RLIMIT_NOFILE (at
 * least 16) and those already open kept for the rest. */
static unsigned default_max_links(void)
{
	struct rlimit rl;
	rlim_t lim, reserve, used = descriptors_in_use();

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return CONTROL_MAX_LINKS;
	lim = rl.rlim_cur;
	reserve = lim / 4 > 16 ? lim / 4 : 16;
	if (lim <= reserve + used + 2)
		return 1;
	lim = (lim - reserve - used) / 2;
	return lim < CONTROL_MAX_LINKS ? (unsigned)lim : CONTROL_MAX_LINKS;
}

int control_configure(unsigned max_links, unsigned per_user, unsigned idle)
{
	if (max_links == 0)
		max_links = default_max_links();
	if (per_user == 0)
		per_user = max_links / 2 < CONTROL_MAX_LINKS_PER_USER ? max_links / 2 : CONTROL_MAX_LINKS_PER_USER;
	idle_ms = idle;
	return links_configure(max_links, per_user);
}

/*
 * Out of descriptors (or memory), accept fails while the waiting client
 * keeps the socket readable: retrying at once would spin.  The accept
 * source is suspended and resumed ACCEPT_BACKOFF_MS later; the clients wait
 * in the kernel's backlog meanwhile and are served once descriptors are
 * free again (docs/reliability.md, "Descriptor exhaustion").
 */
#define ACCEPT_BACKOFF_MS 100

static void accept_resume(void *ctx)
{
	dispatch_resume((dispatch_source_t)ctx);
}

static void on_accept(void *ctx)
{
	(void)ctx;
	for (;;) {
		int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				dispatch_time_t when = dispatch_time(DISPATCH_TIME_NOW, ACCEPT_BACKOFF_MS * 1000000LL);

				dispatch_suspend(accept_source);
				if (_xpc_linux_dispatch_after_f(when, dispatch_get_main_queue(), accept_source,
								accept_resume) < 0)
					dispatch_resume(accept_source); /* no timer: retry now */
			}
			return;
		}
		client_accept(fd);
	}
}

/*
 * The broker socket's mtime says which jobs generation clients looked names
 * up in: set at listen time and moved on (by at least a second, so any
 * file system's timestamps tell the values apart) whenever a job is loaded,
 * unloaded, enabled or disabled.  A client's cache of looked-up channels is
 * valid only while the socket's inode and mtime stay what they were
 * (docs/services.md).
 */
static struct timespec services_generation;

static void control_set_generation(void)
{
	struct timespec t[2] = {{.tv_nsec = UTIME_OMIT}, services_generation};

	if (socket_path && utimensat(AT_FDCWD, socket_path, t, 0) < 0)
		broker_log("cannot mark %s changed: %s (clients may keep using unloaded names)", socket_path,
			   strerror(errno));
}

void control_services_changed(void)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	services_generation.tv_sec = now.tv_sec > services_generation.tv_sec ? now.tv_sec : services_generation.tv_sec + 1;
	control_set_generation();
	remote_export_changed();
}

/* Binds and listens on @tmp with @mode (set through the umask at bind, so
 * the file never has more, and again explicitly), then renames it to
 * @path: a client that sees the socket file can connect (bound but not yet
 * listening, a connect fails with ECONNREFUSED: "no broker"), and a dead
 * broker's stale socket is replaced in one step.  The inode is kept:
 * control_close() removes only this file. */
static int listen_at(const char *path, const char *tmp, mode_t mode)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	mode_t old;
	int r;

	strcpy(sa.sun_path, tmp);
	unlink(tmp);
	old = umask(~mode & 0777);
	r = bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || chmod(tmp, mode) < 0 || lstat(tmp, &st) < 0 || listen(listen_fd, 128) < 0) {
		int err = errno;
		if (r == 0)
			unlink(tmp);
		errno = err;
		return -1;
	}
	socket_dev = st.st_dev;
	socket_ino = st.st_ino;
	if (strcmp(tmp, path) && rename(tmp, path) < 0) {
		int err = errno;
		unlink(tmp);
		errno = err;
		return -1;
	}
	return 0;
}

static void control_start_sweep(void)
{
	uint64_t period = idle_ms / 2 > 50 ? idle_ms / 2 : 50;

	if (!idle_ms)
		return;
	idle_source = dispatch_source_create(DISPATCH_SOURCE_TYPE_TIMER, 0, 0, dispatch_get_main_queue());
	if (!idle_source)
		return;
	dispatch_source_set_timer(idle_source, dispatch_time(DISPATCH_TIME_NOW, (int64_t)period * 1000000),
				  period * 1000000u, period * 100000u);
	dispatch_source_set_event_handler_f(idle_source, control_sweep_idle);
	dispatch_resume(idle_source);
}

int control_listen(const char *path, mode_t mode)
{
	char tmp[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int n = snprintf(tmp, sizeof(tmp), "%s.%ld", path, (long)getpid());

	if (strlen(path) >= sizeof(tmp)) {
		fprintf(stderr, "xpcd: socket path too long: %s\n", path);
		return -1;
	}
	if (!links_limits()->max_links && control_configure(0, 0, 0) < 0)
		return -1;
	if (n < 0 || (size_t)n >= sizeof(tmp)) { /* no room for a temporary name */
		strcpy(tmp, path);
		unlink(path); /* a stale socket of a dead broker (the lock says none runs) */
	}
	listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (listen_fd < 0)
		return -1;
	if (listen_at(path, tmp, mode) < 0) {
		fprintf(stderr, "xpcd: cannot listen on %s: %s\n", path, strerror(errno));
		close(listen_fd);
		listen_fd = -1;
		return -1;
	}
	socket_path = strdup(path);
	clock_gettime(CLOCK_REALTIME, &services_generation);
	control_set_generation();
	accept_source = dispatch_source_create(DISPATCH_SOURCE_TYPE_READ, (uintptr_t)listen_fd, 0,
					       dispatch_get_main_queue());
	dispatch_source_set_event_handler_f(accept_source, on_accept);
	dispatch_resume(accept_source);
	control_start_sweep();
	return 0;
}

void control_close(void)
{
	struct stat st;

	if (!socket_path)
		return;
	if (lstat(socket_path, &st) == 0 && st.st_dev == socket_dev && st.st_ino == socket_ino)
		unlink(socket_path);
	else
		broker_log("%s is no longer this broker's socket: left in place", socket_path);
}
