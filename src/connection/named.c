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
 * link and asks the broker to check it in (src/broker/vend.c): the broker
 * hands W only to root and to the user the service runs as, who may then
 * cache it; anyone else could end a shared W for every client with
 * shutdown(2) (docs/security.md, "Shared channels").  The broker's answer
 * to such a process's check-in carries, for a running job, the W of that
 * user's own channel to the service (src/broker/user-channels.c), cached
 * as a name's W is: its next check-ins go over it.  Until then it keeps
 * its broker link for the next check-ins (named-link.c), and on it uses
 * its new link before the broker's answer came: the answer then only
 * confirms, and a refusal also reaches the link itself.  The broker is
 * never on the data path.
 */
#include "connection/internal.h"
#include "bundle/bundle.h"
#include "dispatch/internal.h"
#include "transport/unix/unix.h"
#include "shared/clock.h"

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

static struct {
	pthread_mutex_t lock;
	BrokerId id;
	struct {
		char *name;
		int w;
	} e[SERVICE_CACHE_MAX];
	size_t n, next; /* entries; the next one to replace when full */
} service_cache = {.lock = PTHREAD_MUTEX_INITIALIZER};

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
	if (!brokerlink_same(id, &service_cache.id)) {
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
	if (!brokerlink_same(id, &service_cache.id))
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
	named_link_forget();
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
 * One check-in at the broker for the named connection @c, over a broker
 * link (named-link.c: a new one, or the one kept for a process the broker
 * hands no W).  Its answer is worked on the link's queue (`item`, which
 * cannot fail to be queued), after every event read before it, so that a
 * refusal the broker sent unasked is known when the link's end answers
 * the request with INVALID.  `id` is the broker as it was before the
 * request: W is cached only if it is still the same (service_cache_put).
 *
 * On the kept link the broker has checked our links in before, so the new
 * link is used at once (`up`), before the answer: a refusal reaches the
 * link too (a REFUSED frame, src/broker/vend.c).  The far end is held
 * until the answer: a request lost with a broker link that ended under it
 * (xpcd closes idle links) is made again, with the same far end, on a new
 * broker link, and what was sent on the link meanwhile waits in it.  A
 * refusal for a full backlog (the service is slow to accept; xpcd never
 * waits on it) is asked again every 20 ms for 5 s, as a check-in over W
 * waits for room, with the same link; xpcd leaves that link alone.
 */
typedef struct Lookup {
	xpc_connection_t c;
	NamedLink *l;
	bool reused; /* l was the kept link */
	bool up;     /* the link is up already (c->link) */
	xpc_object_t reply;
	BrokerId id;
	int link;    /* our end while it is not up, else -1 */
	int far;     /* its far end, sent in the request */
	uint64_t deadline_ns; /* of the waits for room (CLOCK_MONOTONIC) */
	DispatchItem item;
} Lookup;

/* A full backlog: how long a check-in through the broker waits for room
 * (as one over W does, unix_link_checkin: 50 x 100 ms), asking again
 * every NAMED_ROOM_RETRY_NS. */
#define NAMED_ROOM_WAIT_NS 5000000000ull
#define NAMED_ROOM_RETRY_NS 20000000ull

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

static void service_lookup_ask_locked(xpc_connection_t c, const BrokerId *id, int link, int far, uint64_t deadline_ns);
static void service_lookup_room_later(Lookup *lk);

/* The W the answer handed, if any (the name's, or this user's own channel
 * to the service: src/broker/user-channels.c), used and cached for the
 * next check-ins (locked).  Return: whether one came. */
static bool service_lookup_take_w_locked(xpc_connection_t c, Lookup *lk)
{
	xpc_object_t ep = xpc_get_type(lk->reply) == XPC_TYPE_DICTIONARY
				  ? xpc_dictionary_get_value(lk->reply, XPCD_KEY_ENDPOINT) : NULL;
	int efd = ep && xpc_get_type(ep) == XPC_TYPE_ENDPOINT ? endpoint_object_borrow_fd(ep) : -1;
	int w = efd >= 0 ? fcntl(efd, F_DUPFD_CLOEXEC, 3) : -1;

	lock_assert_held(&c->lock);
	if (w < 0)
		return false;
	service_use_w_locked(c, w);
	service_cache_put(&lk->id, c->name ? c->name : "", w);
	return true;
}

/* The answer, for a link not up yet: up ("forwarded"), with W cached when
 * the broker handed one; or checked in over W here (the broker handed only
 * W: it cannot check in for others, or the backlog is full); or refused.
 * Return: whether W came. */
static bool service_lookup_answer_locked(xpc_connection_t c, Lookup *lk, const char *err, bool forwarded)
{
	bool w = service_lookup_take_w_locked(c, lk);

	lock_assert_held(&c->lock);
	if (forwarded && lk->link >= 0)
		service_forwarded_locked(c, &lk->link);
	else if (w)
		service_checkin_locked(c, true);
	else
		conn_fail_locked(c, CONN_E_BROKER, err);
	return w;
}

/* Whether the broker refused for a full backlog while there is time to
 * wait for room. */
static bool service_lookup_waits(const Lookup *lk)
{
	return xpc_dictionary_get_int64(lk->reply, XPCD_KEY_ERRNO) == EAGAIN &&
	       clock_monotonic_ns() + NAMED_ROOM_RETRY_NS < lk->deadline_ns;
}

typedef struct LookupLater {
	xpc_connection_t c;
	BrokerId id;
	int link, far;
	uint64_t deadline_ns;
} LookupLater;

static void service_lookup_room_retry(void *ctx)
{
	LookupLater *later = ctx;
	xpc_connection_t c = later->c;

	conn_lock(c);
	if (c->state != CONN_INVALID) {
		service_lookup_ask_locked(c, &later->id, later->link, later->far, later->deadline_ns);
		later->link = later->far = -1;
	}
	conn_unlock(c);
	if (later->link >= 0)
		close(later->link);
	if (later->far >= 0)
		close(later->far);
	xpc_release(c);
	free(later);
}

/* The request is made again a moment later, with the same link (locked;
 * its descriptors are taken from @lk).  Without memory, the connection
 * fails with the broker's reason. */
static void service_lookup_room_later(Lookup *lk)
{
	LookupLater *later = malloc(sizeof(*later));

	lock_assert_held(&lk->c->lock);
	if (!later) {
		conn_fail_locked(lk->c, CONN_E_NO_MEMORY, NULL);
		return;
	}
	*later = (LookupLater){xpc_retain(lk->c), lk->id, lk->link, lk->far, lk->deadline_ns};
	lk->link = lk->far = -1;
	dispatch_after_f(dispatch_time(DISPATCH_TIME_NOW, (int64_t)NAMED_ROOM_RETRY_NS),
			 dispatch_get_global_queue(QOS_CLASS_UTILITY, 0), later, service_lookup_room_retry);
}

/*
 * The answer to a check-in at the broker (named_checkin_request).  A kept
 * link that ended under the request is let go and the request made again
 * on a new one.  Return: whether the link is worth keeping (the broker
 * checked our link in and handed no W).
 */
static bool service_lookup_reply(xpc_connection_t c, Lookup *lk)
{
	const char *err = named_link_refused(lk->l);
	bool forwarded = false, w = false, lost;

	if (xpc_get_type(lk->reply) == XPC_TYPE_DICTIONARY) {
		err = xpc_dictionary_get_string(lk->reply, XPCD_KEY_ERROR);
		forwarded = !err && xpc_dictionary_get_bool(lk->reply, XPCD_KEY_FORWARDED);
	}
	lost = lk->reply == XPC_ERROR_CONNECTION_INVALID && lk->reused && !err;
	if (lost)
		named_link_drop(lk->l);
	conn_lock(c);
	if (c->state == CONN_INVALID)
		;
	else if (lost) { /* again, on a new link */
		service_lookup_ask_locked(c, &lk->id, lk->link, lk->far, lk->deadline_ns);
		lk->link = lk->far = -1;
	} else if (err && service_lookup_waits(lk))
		service_lookup_room_later(lk);
	else if (!lk->up)
		w = service_lookup_answer_locked(c, lk, err, forwarded);
	else if (!forwarded)
		conn_fail_locked(c, CONN_E_BROKER, err); /* (the link itself was refused too) */
	else
		w = service_lookup_take_w_locked(c, lk);
	conn_unlock(c);
	return forwarded && !w;
}

/* On the broker link's queue: the answer, then the link is kept or goes. */
static void service_lookup_done(void *ctx)
{
	Lookup *lk = ctx;
	bool keep = service_lookup_reply(lk->c, lk);

	named_link_done(lk->l, keep);
	xpc_release(lk->reply);
	xpc_release(lk->c);
	if (lk->link >= 0)
		close(lk->link);
	if (lk->far >= 0)
		close(lk->far);
	free(lk);
}

/* { "xpcd.op": "checkin", "name", "link": @far }: the broker checks the
 * link in for us (docs/security.md, "Shared channels"). */
static xpc_object_t named_checkin_request(const char *name, int far)
{
	xpc_object_t msg = xpc_dictionary_create(NULL, NULL, 0);

	xpc_dictionary_set_string(msg, XPCD_KEY_OP, XPCD_OP_CHECKIN);
	xpc_dictionary_set_string(msg, XPCD_KEY_NAME, name);
	if (far >= 0)
		xpc_dictionary_set_fd(msg, XPCD_KEY_LINK, far);
	return msg;
}

/* A new Lookup for @c (locked): the link to check in is a new one, or,
 * when @far is one (a request made again), that one: @link is our end
 * while it is not up, else -1.  Both are taken.  NULL out of memory or
 * descriptors, or without a broker link (the connection failed). */
static Lookup *service_lookup_new_locked(xpc_connection_t c, const BrokerId *id, int link, int far)
{
	char why[512];
	ConnError e = CONN_E_NO_MEMORY;
	Lookup *lk = calloc(1, sizeof(*lk));
	int sv[2] = {link, far};

	if (lk && sv[1] < 0 && unix_link_pair(sv) < 0)
		e = CONN_E_DESCRIPTORS;
	if (lk && sv[1] >= 0)
		lk->l = named_link_get(id, &lk->reused, why, sizeof(why), &e);
	if (!lk || !lk->l) {
		for (int i = 0; i < 2; i++)
			if (sv[i] >= 0)
				close(sv[i]);
		free(lk);
		conn_fail_locked(c, e, e == CONN_E_BROKER ? why : NULL);
		return NULL;
	}
	lk->c = c;
	lk->id = *id;
	lk->link = sv[0];
	lk->far = sv[1];
	lk->up = sv[0] < 0;
	return lk;
}

static void service_lookup_ask_locked(xpc_connection_t c, const BrokerId *id, int link, int far, uint64_t deadline_ns)
{
	Lookup *lk = service_lookup_new_locked(c, id, link, far);
	xpc_connection_t b;
	xpc_object_t msg;

	lock_assert_held(&c->lock);
	if (!lk)
		return;
	lk->deadline_ns = deadline_ns;
	b = named_link_conn(lk->l);
	msg = named_checkin_request(c->name ? c->name : "", lk->far);
	if (lk->reused && !lk->up) { /* see above */
		service_forwarded_locked(c, &lk->link);
		lk->up = true;
	}
	xpc_retain(c);
	xpc_connection_send_message_with_reply(b, msg, NULL, ^(xpc_object_t reply) {
		lk->reply = xpc_retain(reply);
		dqueue_push_embedded(b->queue, &lk->item, service_lookup_done, lk);
	});
	xpc_release(msg);
}

static void service_lookup_locked(xpc_connection_t c, const BrokerId *id)
{
	service_lookup_ask_locked(c, id, -1, -1, clock_monotonic_ns() + NAMED_ROOM_WAIT_NS);
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
	brokerlink_id(c->role & CONN_ROLE_PRIVILEGED, &id);
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
