/* SPDX-License-Identifier: MIT */
/*
 * named.c - connections made by name (docs/services.md): the client's
 * deferred lookup over the broker socket and check-in, the process-wide
 * cache of looked-up channels, and the service's listener from the
 * XPCD_LISTEN_* descriptors.
 *
 * A named connection is an ordinary connection whose link is made late,
 * by the connect_locked hook set here: activation (and, after
 * INTERRUPTED, the next send; connection.c) calls it, and it sets
 * CONN_F_CONNECTING; messages queue meanwhile.  When this process has looked the name up
 * before, and the broker is still the same and has changed no job since
 * (its socket's inode and mtime, docs/services.md), it checks in at once
 * over the cached W; otherwise, or when that check-in fails, it makes its
 * link and asks the broker to check it in, over a short-lived broker link
 * (src/broker/vend.c): the broker hands W only to root and to the user the
 * service runs as, who may then cache it; anyone else could end a shared
 * W for every client with shutdown(2) (docs/security.md, "Shared
 * channels").  The broker is never on the data path.
 */
#include "connection/internal.h"
#include "bundle/bundle.h"
#include "dispatch/internal.h"
#include "transport/unix/unix.h"

#include <Block.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "shared/xpcd-protocol.h"

/* ---- the cache of looked-up channels ----------------------------------------
 *
 * name -> a duplicate of the W the broker answered, for SERVICE_CACHE_MAX
 * names, valid for one broker identity: its socket's path, device, inode
 * and mtime.  xpcd sets that mtime anew whenever it loads, unloads, enables
 * or disables a job (docs/services.md), and a restarted broker has a new
 * socket, so any of these empties the cache and the next connection asks
 * the broker again: "unknown name", "denied" and "disabled" are never
 * answered from here (errors are not cached at all).  A check-in over a
 * cached W that fails (the channel is closed: job unloaded, or the broker
 * and the job are both gone) drops the entry and asks the broker.
 */
#define SERVICE_CACHE_MAX 32

typedef struct BrokerId {
	char path[256];
	bool valid;   /* the socket exists */
	bool system;  /* only root may answer (service_broker_path) */
	uid_t owner;  /* of the socket file */
	dev_t dev;
	ino_t ino;
	struct timespec mtime;
} BrokerId;

static struct {
	pthread_mutex_t lock;
	BrokerId id;
	struct {
		char *name;
		int w;
	} e[SERVICE_CACHE_MAX];
	size_t n, next; /* entries; the next one to replace when full */
} service_cache = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void service_broker_id(bool privileged, BrokerId *id)
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

static bool service_same_broker(const BrokerId *a, const BrokerId *b)
{
	return a->valid && b->valid && a->system == b->system && a->dev == b->dev && a->ino == b->ino && a->mtime.tv_sec == b->mtime.tv_sec &&
	       a->mtime.tv_nsec == b->mtime.tv_nsec && !strcmp(a->path, b->path);
}

static void service_cache_clear_locked(void)
{
	lock_assert_held(&service_cache.lock);
	for (size_t i = 0; i < service_cache.n; i++) {
		free(service_cache.e[i].name);
		close(service_cache.e[i].w);
	}
	service_cache.n = service_cache.next = 0;
}

/*
 * Checks in over the W cached for @name itself, under the cache's lock,
 * without waiting: no dup of W per connection.  Return: 1 checked in
 * (*ret_fd), 0 not cached, -1 not checked in: *ret_e says why (for
 * CONN_E_BACKLOG, *ret_w is a dup of W to wait on).
 */
static int service_cache_checkin(const BrokerId *id, const char *name, int *ret_fd, int *ret_w, ConnError *ret_e)
{
	int r = 0;

	*ret_w = -1;
	pthread_mutex_lock(&service_cache.lock);
	if (!service_same_broker(id, &service_cache.id)) {
		service_cache_clear_locked();
		service_cache.id = *id;
	}
	for (size_t i = 0; i < service_cache.n; i++) {
		if (strcmp(service_cache.e[i].name, name))
			continue;
		*ret_e = checkin_make(service_cache.e[i].w, false, ret_fd);
		r = *ret_e == CONN_OK ? 1 : -1;
		if (*ret_e == CONN_E_BACKLOG && (*ret_w = fcntl(service_cache.e[i].w, F_DUPFD_CLOEXEC, 3)) < 0)
			*ret_e = CONN_E_DESCRIPTORS;
		break;
	}
	pthread_mutex_unlock(&service_cache.lock);
	return r;
}

static void service_cache_drop_locked(size_t i)
{
	lock_assert_held(&service_cache.lock);
	free(service_cache.e[i].name);
	close(service_cache.e[i].w);
	service_cache.e[i] = service_cache.e[--service_cache.n];
	if (service_cache.next > service_cache.n)
		service_cache.next = 0;
}

static void service_cache_drop(const char *name)
{
	pthread_mutex_lock(&service_cache.lock);
	for (size_t i = 0; i < service_cache.n; i++)
		if (!strcmp(service_cache.e[i].name, name)) {
			service_cache_drop_locked(i);
			break;
		}
	pthread_mutex_unlock(&service_cache.lock);
}

/* Remembers @w (borrowed) for @name, if the broker is still the one @id
 * names, the one asked before the lookup. */
static void service_cache_put(const BrokerId *id, const char *name, int w)
{
	char *n;
	int d;

	pthread_mutex_lock(&service_cache.lock);
	if (!service_same_broker(id, &service_cache.id))
		goto out;
	for (size_t i = 0; i < service_cache.n; i++)
		if (!strcmp(service_cache.e[i].name, name)) {
			service_cache_drop_locked(i);
			break;
		}
	n = strdup(name);
	d = fcntl(w, F_DUPFD_CLOEXEC, 3);
	if (!n || d < 0) {
		free(n);
		if (d >= 0)
			close(d);
		goto out;
	}
	if (service_cache.n == SERVICE_CACHE_MAX) {
		service_cache_drop_locked(service_cache.next);
		service_cache.next = (service_cache.next + 1) % SERVICE_CACHE_MAX;
	}
	service_cache.e[service_cache.n].name = n;
	service_cache.e[service_cache.n].w = d;
	service_cache.n++;
out:
	pthread_mutex_unlock(&service_cache.lock);
}

void connection_forget_services(void)
{
	pthread_mutex_lock(&service_cache.lock);
	service_cache_clear_locked();
	memset(&service_cache.id, 0, sizeof(service_cache.id));
	pthread_mutex_unlock(&service_cache.lock);
}

/* ---- lookup and check-in ------------------------------------------------------ */

/* With a W known: check in and bring the link up (locked).
 * Return: 0, or -1 when the channel is closed (nothing was reported). */
static int service_checkin_locked(xpc_connection_t c, bool report_gone)
{
	ConnError e;

	lock_assert_held(&c->lock);
	conn_set(c, CONN_F_CONNECTING, false);
	e = checkin_make(c->send_w, true, &c->link.fd);
	if (conn_error_is_limit(e)) { /* reported by its name, not as a closed channel */
		conn_fail_locked(c, e, NULL);
		return 0;
	}
	if (e != CONN_OK) {
		if (report_gone)
			conn_fail_locked(c, CONN_E_SERVICE_GONE, NULL);
		return -1;
	}
	conn_link_up_locked(c);
	return 0;
}

/*
 * One lookup over a broker link @b for the named connection @c.  A broker
 * over its limits may close the link unread after one unsolicited message
 * { "xpcd.error": TEXT } (docs/broker.md): the event handler keeps TEXT in
 * `refused`, and the answer is worked on b's own queue (`item`, which
 * cannot fail to be queued), after every event read before it, so TEXT is
 * there when the link's end answers the lookup with INVALID.  (A broker
 * that sends this after its reply is ignored: the reply came first.)
 * `id` is the broker as it was before the lookup: the answer is cached only
 * if it is still the same (service_cache_put).
 */
typedef struct Lookup {
	xpc_connection_t c, b;
	xpc_object_t reply;
	char *refused;
	BrokerId id;
	int link; /* our end of the link the broker checks in, or -1 */
	atomic_int refs; /* b's last event and the answer: the later frees */
	DispatchItem item;
} Lookup;

static void service_lookup_unref(Lookup *lk)
{
	if (atomic_fetch_sub(&lk->refs, 1) != 1)
		return;
	if (lk->link >= 0)
		close(lk->link);
	free(lk->refused);
	free(lk);
}

static void service_use_w_locked(xpc_connection_t c, int w)
{
	lock_assert_held(&c->lock);
	if (c->send_w >= 0)
		close(c->send_w);
	c->send_w = w;
}

/* The broker checked our link in (locked): it is up.  @link is taken. */
static void service_forwarded_locked(xpc_connection_t c, int *link)
{
	lock_assert_held(&c->lock);
	conn_set(c, CONN_F_CONNECTING, false);
	c->link.fd = *link;
	*link = -1;
	conn_link_up_locked(c);
}

/*
 * The answer to a check-in at the broker (named_checkin_request): the
 * broker checked the link in ("forwarded"), with the endpoint of W too
 * when this process may hold it (then cached); or only the endpoint (a
 * broker that cannot check in for others, a full backlog): check in over
 * it here; or an error.
 */
static void service_lookup_reply(xpc_connection_t c, Lookup *lk)
{
	xpc_object_t ep = NULL, reply = lk->reply;
	const char *err = lk->refused;
	bool forwarded = false;

	if (xpc_get_type(reply) == XPC_TYPE_DICTIONARY) {
		ep = xpc_dictionary_get_value(reply, XPCD_KEY_ENDPOINT);
		err = xpc_dictionary_get_string(reply, XPCD_KEY_ERROR);
		forwarded = !err && xpc_dictionary_get_bool(reply, XPCD_KEY_FORWARDED);
	}
	conn_lock(c);
	if (c->state != CONN_INVALID) {
		int efd = ep && xpc_get_type(ep) == XPC_TYPE_ENDPOINT ? endpoint_object_borrow_fd(ep) : -1;
		int w = efd >= 0 ? fcntl(efd, F_DUPFD_CLOEXEC, 3) : -1;
		if (w >= 0) {
			service_use_w_locked(c, w);
			service_cache_put(&lk->id, c->name ? c->name : "", w);
		}
		if (forwarded && lk->link >= 0)
			service_forwarded_locked(c, &lk->link);
		else if (w >= 0)
			service_checkin_locked(c, true);
		else
			conn_fail_locked(c, CONN_E_BROKER, err);
	}
	conn_unlock(c);
}

/* On b's queue: the lookup's answer, then the broker link goes. */
static void service_lookup_done(void *ctx)
{
	Lookup *lk = ctx;

	service_lookup_reply(lk->c, lk);
	xpc_release(lk->reply);
	xpc_connection_cancel(lk->b);
	xpc_release(lk->b);
	xpc_release(lk->c);
	service_lookup_unref(lk);
}

static void service_lookup_event(Lookup *lk, xpc_object_t ev)
{
	const char *text = NULL;

	if (xpc_get_type(ev) == XPC_TYPE_DICTIONARY)
		text = xpc_dictionary_get_string(ev, XPCD_KEY_REFUSAL);
	if (text && !lk->refused)
		lk->refused = strdup(text);
	if (ev == XPC_ERROR_CONNECTION_INVALID) /* b's last event */
		service_lookup_unref(lk);
}

/*
 * { "xpcd.op": "checkin", "name", "link" }: the broker checks a new link in
 * for us (docs/security.md, "Shared channels"); *ret_link is our end, or
 * -1 when no link could be made (the request is then a plain check-in
 * without one: the broker's answer names the failure).
 */
static xpc_object_t named_checkin_request(const char *name, int *ret_link)
{
	xpc_object_t msg = xpc_dictionary_create(NULL, NULL, 0);
	int sv[2];

	*ret_link = -1;
	xpc_dictionary_set_string(msg, XPCD_KEY_OP, XPCD_OP_CHECKIN);
	xpc_dictionary_set_string(msg, XPCD_KEY_NAME, name);
	if (unix_link_pair(sv) == 0) {
		xpc_dictionary_set_fd(msg, XPCD_KEY_LINK, sv[1]);
		close(sv[1]);
		*ret_link = sv[0];
	}
	return msg;
}

static void service_lookup_locked(xpc_connection_t c, const BrokerId *id)
{
	char why[512];
	xpc_connection_t b;
	xpc_object_t msg;
	Lookup *lk = calloc(1, sizeof(*lk));
	int fd;

	lock_assert_held(&c->lock);
	if (!lk) {
		conn_fail_locked(c, CONN_E_NO_MEMORY, NULL);
		return;
	}
	lk->link = -1;
	fd = brokerlink_connect(id->path, id->system, why, sizeof(why));
	if (fd < 0) {
		free(lk);
		conn_fail_locked(c, CONN_E_BROKER, why);
		return;
	}
	b = connection_create_from_socket(fd, NULL);
	if (!b) {
		free(lk);
		conn_fail_locked(c, CONN_E_NO_MEMORY, NULL);
		return;
	}
	lk->c = c;
	lk->b = b;
	lk->id = *id;
	atomic_init(&lk->refs, 2);
	xpc_connection_set_event_handler(b, ^(xpc_object_t ev) {
		service_lookup_event(lk, ev);
	});
	xpc_connection_activate(b);
	msg = named_checkin_request(c->name ? c->name : "", &lk->link);
	xpc_retain(c);
	xpc_connection_send_message_with_reply(b, msg, NULL, ^(xpc_object_t reply) {
		lk->reply = xpc_retain(reply);
		dqueue_push_embedded(b->queue, &lk->item, service_lookup_done, lk);
	});
	xpc_release(msg);
}

/*
 * Activation, and the first send after INTERRUPTED (locked): check in over
 * the cached W when the cache has one for this broker; when there is none,
 * or that channel is closed, ask the broker.
 */
static void named_lookup_start_locked(xpc_connection_t c)
{
	const char *name = c->name ? c->name : "";
	ConnError e = CONN_OK;
	BrokerId id;
	int w, r;

	lock_assert_held(&c->lock);
	conn_set(c, CONN_F_CONNECTING, true);
	if ((c->role & CONN_ROLE_XPC_SERVICE) && xpc_service_checkin_locked(c))
		return;
	service_broker_id(c->role & CONN_ROLE_PRIVILEGED, &id);
	if (id.valid && !brokerlink_trusted(id.owner, id.system)) {
		char text[512];
		brokerlink_untrusted(text, sizeof(text), id.path, "is owned by", id.owner, id.system);
		conn_fail_locked(c, CONN_E_BROKER, text);
		return;
	}
	r = service_cache_checkin(&id, name, &c->link.fd, &w, &e);
	if (r == 1) {
		conn_link_up_locked(c);
		return;
	}
	if (r < 0 && e == CONN_E_BACKLOG) {
		/* the backlog is full: wait for room as an uncached W would */
		service_use_w_locked(c, w);
		if (service_checkin_locked(c, false) == 0)
			return;
		conn_set(c, CONN_F_CONNECTING, true);
	} else if (r < 0 && conn_error_is_limit(e)) {
		conn_fail_locked(c, e, NULL); /* out of descriptors here */
		return;
	}
	if (r < 0)
		service_cache_drop(name);
	service_lookup_locked(c, &id);
}

/* The descriptor XPCD_LISTEN_* gives this process for @name, or -1. */
static int service_listen_fd(const char *name)
{
	const char *pid = secure_getenv("XPCD_LISTEN_PID");
	const char *nfds = secure_getenv("XPCD_LISTEN_FDS");
	const char *names = secure_getenv("XPCD_LISTEN_FDNAMES");
	size_t len = name ? strlen(name) : 0;
	long n, i = 0;

	if (!pid || !nfds || !names || !name || atol(pid) != (long)getpid())
		return -1;
	n = atol(nfds);
	for (const char *p = names; *p && i < n; i++) {
		const char *end = strchr(p, ':');
		size_t l = end ? (size_t)(end - p) : strlen(p);
		if (l == len && memcmp(p, name, len) == 0) {
			int fd = 3 + (int)i;
			if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
				return -1;
			return fd;
		}
		if (!end)
			break;
		p = end + 1;
	}
	return -1;
}

static void named_listener_start_locked(xpc_connection_t c)
{
	int fd = service_listen_fd(c->name);

	lock_assert_held(&c->lock);
	if (fd < 0) {
		conn_fail_locked(c, CONN_E_NOT_VENDED, NULL);
		return;
	}
	transport_setup_socket(fd);
	c->link.fd = fd;
	conn_link_up_locked(c);
}

/* ---- creation ---------------------------------------------------------------- */

xpc_connection_t xpc_connection_create_mach_service(const char *name, dispatch_queue_t targetq, uint64_t flags)
{
	bool listener = flags & XPC_CONNECTION_MACH_SERVICE_LISTENER;
	xpc_connection_t c = create_conn(listener ? CONN_LISTENER : CONN_PEER, targetq);

	if (!c)
		return NULL;
	c->name = name ? strdup(name) : NULL;
	if (listener) {
		c->role = CONN_ROLE_SERVICE;
		c->connect_locked = named_listener_start_locked;
	} else {
		c->role = CONN_ROLE_NAMED;
		if (flags & XPC_CONNECTION_MACH_SERVICE_PRIVILEGED)
			c->role |= CONN_ROLE_PRIVILEGED;
		c->connect_locked = named_lookup_start_locked;
	}
	return c;
}

/* A name makes a named connection, to the service of that name bundled
 * with the application if there is one (xpc-service.c), else the broker's;
 * no name, an anonymous listener. */
xpc_connection_t xpc_connection_create(const char *name, dispatch_queue_t targetq)
{
	xpc_connection_t c;

	if (!name)
		return create_anonymous_listener(targetq);
	c = xpc_connection_create_mach_service(name, targetq, 0);
	if (c)
		c->role |= CONN_ROLE_XPC_SERVICE;
	return c;
}
