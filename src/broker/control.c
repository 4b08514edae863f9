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
 * Limits (docs/broker.md): CONTROL_MAX_CLIENTS links in all.  Per client
 * process (SO_PEERCRED pid): CONTROL_MAX_LINKS_PER_CLIENT links served at
 * once (a named connection being set up holds one for its lookup); up to
 * CONTROL_MAX_WAITING_PER_CLIENT more wait, accepted but not read, and are
 * served in order as served ones close (its pending check-ins); up to
 * CONTROL_MAX_REFUSING_PER_CLIENT beyond those answer each request with
 * "limit exceeded: broker links per client" and close; further links are
 * closed at once, after one unsolicited message naming that limit
 * (client_refuse_at_once).  Per link, replies the client has not taken are bounded
 * (CONTROL_MAX_UNSENT_* through connection_set_send_limits): a client that
 * sends requests and never reads the answers loses its link.  No request
 * may come out of line (connection_set_receive_limit 0): a body of holes
 * costs its sender nothing and the broker its whole length.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <xpc/xpc.h>

#include "broker/job.h"
#include "connection/connection.h"
#include "dispatch/internal.h"
#include "transport/transport.h"
#include "wire/wire.h"

#define CONTROL_MAX_CLIENTS 1024
#define CONTROL_MAX_LINKS_PER_CLIENT 64
#define CONTROL_MAX_WAITING_PER_CLIENT 256
#define CONTROL_MAX_REFUSING_PER_CLIENT 64
#define CONTROL_MAX_UNSENT_BYTES (256u * 1024u)
#define CONTROL_MAX_UNSENT_FDS 16u
#define CONTROL_LIMIT_TEXT "limit exceeded: broker links per client"
#define CONTROL_ALL_TEXT "limit exceeded: broker links"

typedef struct WaitingLink WaitingLink;
struct WaitingLink {
	WaitingLink *next;
	xpc_connection_t peer; /* inactive until served */
};

/* One client process's links; the slot is free when all counts are 0. */
typedef struct ClientCount {
	pid_t pid;
	unsigned links, waiting, refusing;
	WaitingLink *wait_head, *wait_tail;
} ClientCount;

static int listen_fd = -1;
static dispatch_source_t accept_source;
static char *socket_path;
static unsigned n_clients;
static ClientCount client_counts[CONTROL_MAX_CLIENTS];

/* The count of @pid's links, or a free slot for it (never NULL while
 * n_clients < CONTROL_MAX_CLIENTS). */
static ClientCount *client_count(pid_t pid)
{
	ClientCount *free_slot = NULL;

	for (unsigned i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		bool used = client_counts[i].links || client_counts[i].waiting || client_counts[i].refusing;
		if (used && client_counts[i].pid == pid)
			return &client_counts[i];
		if (!used && !free_slot)
			free_slot = &client_counts[i];
	}
	if (free_slot)
		free_slot->pid = pid;
	return free_slot;
}

static pid_t socket_peer_pid(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0 ? cr.pid : 0;
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
	ep = endpoint_create_from_send_fd(s->send_fd);
	if (!ep)
		return reply_error(req, "limit exceeded: descriptors (none left in the broker)", errno);
	r = reply_ok(req);
	if (r)
		xpc_dictionary_set_value(r, "endpoint", ep);
	xpc_release(ep);
	return r;
}

static xpc_object_t describe_job(Job *job, bool full)
{
	xpc_object_t d = xpc_dictionary_create(NULL, NULL, 0);
	xpc_object_t names = xpc_array_create(NULL, 0);

	xpc_dictionary_set_string(d, "label", job->label);
	xpc_dictionary_set_int64(d, "pid", job->pid);
	xpc_dictionary_set_int64(d, "last_exit_status", job->last_status);
	xpc_dictionary_set_bool(d, "disabled", job->disabled);
	for (size_t i = 0; i < job->n_services; i++)
		xpc_array_set_string(names, XPC_ARRAY_APPEND, job->services[i].name);
	xpc_dictionary_set_value(d, "services", names);
	xpc_release(names);
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
	xpc_dictionary_set_uint64(d, "runs", job->runs);
	xpc_dictionary_set_bool(d, "run_at_load", job->run_at_load);
	xpc_dictionary_set_bool(d, "keepalive", job->keepalive);
	xpc_dictionary_set_bool(d, "adopted", job->adopted);
	xpc_dictionary_set_uint64(d, "throttle_interval", job->throttle_interval);
	xpc_dictionary_set_uint64(d, "exit_timeout", job->exit_timeout);
	xpc_dictionary_set_string(d, "state", job->pid ? (job->stopping ? "stopping" : "running")
					       : (job->launch_pending ? "throttled" : "waiting"));
	return d;
}

static xpc_object_t op_list(xpc_object_t req)
{
	xpc_object_t r = reply_ok(req);
	xpc_object_t arr = xpc_array_create(NULL, 0);

	for (Job *j = jobs_first(); j; j = j->next) {
		xpc_object_t d = describe_job(j, false);
		xpc_array_append_value(arr, d);
		xpc_release(d);
	}
	if (r)
		xpc_dictionary_set_value(r, "jobs", arr);
	xpc_release(arr);
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

	if (!strcmp(op, "print")) {
		xpc_object_t d = describe_job(job, true);
		r = reply_ok(req);
		if (r)
			xpc_dictionary_set_value(r, "job", d);
		xpc_release(d);
		return r;
	}
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
		return op_list(req);
	if (strcmp(op, "print") && uid != 0 && uid != geteuid())
		return reply_error(req, "denied", EPERM);
	if (!strcmp(op, "load"))
		return op_load(req);
	label = xpc_dictionary_get_string(req, "label");
	job = label ? jobs_find_label(label) : NULL;
	if (!job)
		return reply_error(req, "no job with that label", ESRCH);
	return op_on_job(req, op, job);
}

static void client_serve(xpc_connection_t peer, ClientCount *cc, bool refuse);

/* A served link is gone: the client's oldest waiting link is served. */
static void client_next_waiting(ClientCount *cc)
{
	WaitingLink *w = cc->wait_head;

	if (!w)
		return;
	cc->wait_head = w->next;
	if (!cc->wait_head)
		cc->wait_tail = NULL;
	cc->waiting--;
	client_serve(w->peer, cc, false);
	free(w);
}

static void client_gone(xpc_connection_t peer, ClientCount *cc, bool refuse)
{
	char *why = xpc_connection_copy_invalidation_reason(peer);

	if (why && !strncmp(why, "limit exceeded", 14))
		broker_log("client pid %d: %s; link closed", (int)cc->pid, why);
	free(why);
	n_clients--;
	xpc_release(peer);
	if (refuse) {
		cc->refusing--;
		return;
	}
	cc->links--;
	client_next_waiting(cc);
}

/* @refuse: the client is over its limits: each request is answered with
 * the limit's name and the link is closed. */
static void client_event(xpc_connection_t peer, ClientCount *cc, bool refuse, xpc_object_t ev)
{
	if (xpc_get_type(ev) == XPC_TYPE_DICTIONARY) {
		ControlPeer who = {xpc_connection_get_euid(peer), xpc_connection_get_egid(peer)};
		xpc_object_t reply = refuse ? reply_error(ev, CONTROL_LIMIT_TEXT, EMFILE) : control_handle_request(&who, ev);
		if (reply) {
			xpc_connection_send_message(peer, reply);
			xpc_release(reply);
		}
		if (refuse) {
			broker_log("client pid %d: %s (%d served, %d waiting); request refused", (int)cc->pid,
				   CONTROL_LIMIT_TEXT, CONTROL_MAX_LINKS_PER_CLIENT, CONTROL_MAX_WAITING_PER_CLIENT);
			xpc_connection_send_barrier(peer, ^{
				xpc_connection_cancel(peer);
			});
		}
	} else if (ev == XPC_ERROR_CONNECTION_INVALID) {
		client_gone(peer, cc, refuse);
	}
}

static void client_serve(xpc_connection_t peer, ClientCount *cc, bool refuse)
{
	if (refuse)
		cc->refusing++;
	else
		cc->links++;
	xpc_connection_set_event_handler(peer, ^(xpc_object_t ev) { client_event(peer, cc, refuse, ev); });
	xpc_connection_resume(peer);
}

static void client_wait(xpc_connection_t peer, ClientCount *cc)
{
	WaitingLink *w = calloc(1, sizeof(*w));

	if (!w) {
		xpc_connection_cancel(peer);
		xpc_release(peer);
		n_clients--;
		return;
	}
	w->peer = peer;
	if (cc->wait_tail)
		cc->wait_tail->next = w;
	else
		cc->wait_head = w;
	cc->wait_tail = w;
	cc->waiting++;
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
	WireBuffer body = {0};
	WireFds fds = {0};

	xpc_dictionary_set_string(m, "xpcd.error", text);
	xpc_dictionary_set_int64(m, "errno", EMFILE);
	if (wire_encode_message(m, &body, &fds) == 0) {
		FrameHeader h = {.kind = FRAME_MESSAGE, .id = 1};
		transport_send(fd, &h, body.data, body.len, NULL, 0);
	}
	wire_buffer_free(&body);
	wire_fds_free(&fds);
	xpc_release(m);
	close(fd);
}

static void client_accept(int fd)
{
	ClientCount *cc = n_clients < CONTROL_MAX_CLIENTS ? client_count(socket_peer_pid(fd)) : NULL;
	xpc_connection_t peer;

	if (!cc) {
		client_refuse_at_once(fd, CONTROL_ALL_TEXT);
		return;
	}
	if (cc->links >= CONTROL_MAX_LINKS_PER_CLIENT && cc->waiting >= CONTROL_MAX_WAITING_PER_CLIENT &&
	    cc->refusing >= CONTROL_MAX_REFUSING_PER_CLIENT) {
		client_refuse_at_once(fd, CONTROL_LIMIT_TEXT);
		return;
	}
	peer = connection_create_from_socket(fd, dispatch_get_main_queue());
	if (!peer)
		return;
	n_clients++;
	connection_set_send_limits(peer, CONTROL_MAX_UNSENT_BYTES, CONTROL_MAX_UNSENT_FDS);
	connection_set_receive_limit(peer, 0); /* requests are small: no out-of-line body */
	if (cc->links < CONTROL_MAX_LINKS_PER_CLIENT)
		client_serve(peer, cc, false);
	else if (cc->waiting < CONTROL_MAX_WAITING_PER_CLIENT)
		client_wait(peer, cc);
	else
		client_serve(peer, cc, true);
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
				dispatch_suspend(accept_source);
				if (dwork_after_f(dispatch_time(DISPATCH_TIME_NOW, ACCEPT_BACKOFF_MS * 1000000LL),
						  dispatch_get_main_queue(), accept_source, accept_resume) < 0)
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
}

/* Binds and listens on @tmp, then renames it to @path: a client that sees
 * the socket file can connect (bound but not yet listening, a connect
 * fails with ECONNREFUSED: "no broker"), and a dead broker's stale socket
 * is replaced in one step. */
static int listen_at(const char *path, const char *tmp)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	strcpy(sa.sun_path, tmp);
	unlink(tmp);
	if (bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(listen_fd, 128) < 0)
		return -1;
	if (strcmp(tmp, path) && rename(tmp, path) < 0) {
		int err = errno;
		unlink(tmp);
		errno = err;
		return -1;
	}
	return 0;
}

int control_listen(const char *path)
{
	char tmp[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int n = snprintf(tmp, sizeof(tmp), "%s.%ld", path, (long)getpid());

	if (strlen(path) >= sizeof(tmp)) {
		fprintf(stderr, "xpcd: socket path too long: %s\n", path);
		return -1;
	}
	if (n < 0 || (size_t)n >= sizeof(tmp)) { /* no room for a temporary name */
		strcpy(tmp, path);
		unlink(path); /* a stale socket of a dead broker */
	}
	listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (listen_fd < 0)
		return -1;
	if (listen_at(path, tmp) < 0) {
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
	return 0;
}

void control_close(void)
{
	if (socket_path)
		unlink(socket_path);
}
