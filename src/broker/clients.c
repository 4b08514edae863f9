/* SPDX-License-Identifier: MIT */
/*
 * clients.c - the broker's client links: each accepted socket becomes an
 * XPC peer connection whose requests ops.c answers, charged to its user
 * (users.c) from accept to close.
 *
 * A new link is what users_admit() says: served (read at once), waiting
 * (read once one of the user's served links closes, in order), refusing
 * (each request answered with the limit's name, then closed), or refused
 * at once (one message naming the limit, then closed, nothing kept:
 * client_refuse_at_once).  A link that sends no request for the idle
 * timeout is closed (clients_sweep_idle).  Per link, replies the client
 * has not taken are bounded (CLIENTS_MAX_UNSENT_* through
 * connection_set_send_limits): a client that sends requests and never
 * reads the answers loses its link.  No request may come out of line
 * (connection_set_receive_limit 0): a body of holes costs its sender
 * nothing and the broker its whole length.
 *
 * How a link ended is a ClientEnd code, decided where it happens: the
 * broker's own closes (idle, refused) are logged where they are made, and
 * a link the connection layer ended because one of its limits was reached
 * is logged with that limit's reason when it goes (client_gone).
 *
 * Everything runs on the main queue.  Every charge is refunded exactly
 * once, when the link goes (client_refund).
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <xpc/xpc.h>

#include "broker/broker.h"
#include "broker/clients.h"
#include "broker/log.h"
#include "broker/ops.h"
#include "broker/reply.h"
#include "private/xpc-private.h"
#include "shared/clock.h"
#include "shared/fdutil.h"
#include "shared/xpcd-protocol.h"

#define CLIENTS_MAX_LINKS 1024
#define CLIENTS_MAX_LINKS_PER_USER 384
#define CLIENTS_MAX_UNSENT_BYTES (256u * 1024u)
#define CLIENTS_MAX_UNSENT_FDS 16u

/* How a link ended. */
typedef enum ClientEnd {
	CLIENT_END_PEER,    /* the client closed it, or the connection failed */
	CLIENT_END_IDLE,    /* the idle sweep closed it */
	CLIENT_END_REFUSED, /* a refusing link, closed after its answer */
} ClientEnd;

/* One accepted link, in the list the idle sweep walks. */
struct ClientLink {
	ListNode node; /* in Clients.links */
	Clients *clients;
	xpc_connection_t peer; /* inactive while waiting */
	User *user;
	LinkKind kind;
	uid_t uid;
	pid_t pid;
	uint64_t last_ms; /* monotonic: served, or its last request */
	ClientEnd end;    /* CLIENT_END_PEER until the broker closes it */
};

static uint64_t now_ms(void)
{
	return clock_monotonic_ns() / 1000000u;
}

static void client_serve(ClientLink *l);

/* Refunds a link of @kind; the user's oldest waiting link, if that made
 * room for it, is served. */
static void client_refund(Clients *c, User *user, LinkKind kind)
{
	ClientLink *next = users_release(&c->users, user, kind);

	if (next) {
		next->kind = LINK_SERVED;
		client_serve(next);
	}
}

/* A link is gone. */
static void client_gone(ClientLink *l)
{
	Clients *c = l->clients;
	char *limit = l->end == CLIENT_END_PEER ? _xpc_linux_connection_copy_limit_reason(l->peer) : NULL;
	User *user = l->user;
	LinkKind kind = l->kind;

	if (limit)
		log_line(LOG_WARNING, "client uid %u pid %d: %s; link closed", (unsigned)l->uid, (int)l->pid, limit);
	free(limit);
	if (monitor_is_subscribed(&c->broker->monitors, l->peer)) {
		monitor_unsubscribe(&c->broker->monitors, l->peer);
		taps_refresh(&c->broker->taps, &c->broker->monitors);
	}
	taps_remove(&c->broker->taps, l->peer);
	list_unlink(&l->node);
	xpc_release(l->peer);
	free(l);
	client_refund(c, user, kind);
}

/* A request on a link: answered, or for a REFUSING link refused with the
 * limit's name and the link closed. */
static void client_request(ClientLink *l, xpc_object_t ev)
{
	Clients *c = l->clients;
	bool refuse = l->kind == LINK_REFUSING;
	Caller who = {xpc_connection_get_euid(l->peer), xpc_connection_get_egid(l->peer), l->pid, l->peer};
	xpc_object_t reply = refuse ? reply_error(ev, XPCD_TEXT_LINKS_PER_USER, EMFILE) : ops_handle(c->broker, &who, ev);
	xpc_connection_t peer = l->peer;
	const LinkLimits *lim = users_limits(&c->users);

	l->last_ms = now_ms();
	if (reply) {
		xpc_connection_send_message(peer, reply);
		xpc_release(reply);
	}
	if (!refuse)
		return;
	log_line(LOG_WARNING, "client uid %u pid %d: %s (%u links of one user, %u in all); request refused",
		 (unsigned)l->uid, (int)l->pid, XPCD_TEXT_LINKS_PER_USER, lim->per_user, lim->max_links);
	l->end = CLIENT_END_REFUSED;
	xpc_connection_send_barrier(peer, ^{
		xpc_connection_cancel(peer);
	});
}

static void client_event(ClientLink *l, xpc_object_t ev)
{
	if (xpc_get_type(ev) == XPC_TYPE_DICTIONARY)
		client_request(l, ev);
	else if (ev == XPC_ERROR_CONNECTION_INVALID)
		client_gone(l);
}

static void client_serve(ClientLink *l)
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

	xpc_dictionary_set_string(m, XPCD_KEY_REFUSAL, text);
	xpc_dictionary_set_int64(m, XPCD_KEY_ERRNO, EMFILE);
	(void)_xpc_linux_send_message_once(fd, m);
	xpc_release(m);
	close(fd);
}

/* Logs a refusal at accept, once per second at most (a flood would
 * otherwise fill the log). */
static void client_log_refusal(Clients *c, const struct ucred *cr, const char *text)
{
	uint64_t now = now_ms();

	if (c->last_refusal_ms && now - c->last_refusal_ms < 1000)
		return;
	c->last_refusal_ms = now;
	log_line(LOG_WARNING, "client uid %u pid %d: %s; links closed at accept", (unsigned)cr->uid, (int)cr->pid, text);
}

/* Makes the connection of admitted link @l and lists it.  Return: 0, or
 * -1 (out of memory: the caller refunds). */
static int client_open(Clients *c, ClientLink *l, int fd)
{
	l->peer = _xpc_linux_connection_create_from_socket(fd, dispatch_get_main_queue());
	if (!l->peer || (l->kind == LINK_WAITING && users_wait_push(l->user, l) < 0)) {
		if (l->peer) {
			xpc_connection_cancel(l->peer);
			xpc_release(l->peer);
		}
		return -1;
	}
	list_prepend(&c->links, &l->node);
	_xpc_linux_connection_set_send_limits(l->peer, CLIENTS_MAX_UNSENT_BYTES, CLIENTS_MAX_UNSENT_FDS);
	_xpc_linux_connection_set_receive_limit(l->peer, 0); /* requests are small: no out-of-line body */
	return 0;
}

void clients_accept(Clients *c, int fd)
{
	struct ucred cr = {.pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1};
	socklen_t len = sizeof(cr);
	ClientLink *l = calloc(1, sizeof(*l));
	User *user = NULL;
	LinkKind kind = LINK_REFUSED_ALL;

	if (l && getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0)
		kind = users_admit(&c->users, cr.uid, &user);
	if (kind == LINK_REFUSED || kind == LINK_REFUSED_ALL) {
		const char *text = kind == LINK_REFUSED ? XPCD_TEXT_LINKS_PER_USER : XPCD_TEXT_LINKS;
		MonitorEvent ev = {.kind = XPCD_EVENT_REFUSED, .pid = cr.pid, .uid = cr.uid, .has_uid = true,
				   .status = -1, .text = text};
		client_log_refusal(c, &cr, text);
		monitor_emit(&c->broker->monitors, &ev);
		client_refuse_at_once(fd, text);
		free(l);
		return;
	}
	*l = (ClientLink){.clients = c, .user = user, .kind = kind, .uid = cr.uid, .pid = cr.pid};
	list_node_init(&l->node);
	if (client_open(c, l, fd) < 0) {
		free(l);
		client_refund(c, user, kind);
		return;
	}
	if (kind != LINK_WAITING)
		client_serve(l);
}

/*
 * The idle sweep: every idle_ms / 2, a link being read (served or
 * refusing) that has sent no request for idle_ms is closed.  Waiting links
 * are not read yet: their time starts when they are served.
 */
static void clients_sweep_idle(void *ctx)
{
	Clients *c = ctx;
	uint64_t now = now_ms();
	unsigned closed = 0;
	ClientLink *l;

	list_for_each_entry(l, &c->links, ClientLink, node) {
		if (l->kind == LINK_WAITING || l->end != CLIENT_END_PEER || now - l->last_ms < c->idle_ms ||
		    monitor_is_subscribed(&c->broker->monitors, l->peer) || /* a monitor only listens */
		    taps_has(&c->broker->taps, l->peer))                    /* a tap speaks when watched */
			continue;
		l->end = CLIENT_END_IDLE;
		closed++;
		xpc_connection_cancel(l->peer); /* client_gone follows */
	}
	if (closed)
		log_line(LOG_INFO, "%u client link%s closed: no request for %u ms (idle timeout)", closed,
			 closed == 1 ? "" : "s", c->idle_ms);
}

void clients_start(Clients *c)
{
	uint64_t period = c->idle_ms / 2 > 50 ? c->idle_ms / 2 : 50;

	if (!c->idle_ms || c->idle_source)
		return;
	c->idle_source = dispatch_source_create(DISPATCH_SOURCE_TYPE_TIMER, 0, 0, dispatch_get_main_queue());
	if (!c->idle_source)
		return;
	dispatch_set_context(c->idle_source, c);
	dispatch_source_set_timer(c->idle_source, dispatch_time(DISPATCH_TIME_NOW, (int64_t)period * 1000000),
				  period * 1000000u, period * 100000u);
	dispatch_source_set_event_handler_f(c->idle_source, clients_sweep_idle);
	dispatch_resume(c->idle_source);
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
	long lim = fd_limit(), reserve, used = descriptors_in_use();

	if (lim < 0 || lim == FD_NO_LIMIT)
		return CLIENTS_MAX_LINKS;
	reserve = lim / 4 > 16 ? lim / 4 : 16;
	if (lim <= reserve + used + 2)
		return 1;
	lim = (lim - reserve - used) / 2;
	return lim < CLIENTS_MAX_LINKS ? (unsigned)lim : CLIENTS_MAX_LINKS;
}

void clients_init(Clients *c, struct Broker *broker)
{
	*c = (Clients){.broker = broker};
	list_node_init(&c->links);
}

int clients_configure(Clients *c, unsigned max_links, unsigned per_user, unsigned idle_ms)
{
	if (max_links == 0)
		max_links = default_max_links();
	if (per_user == 0)
		per_user = max_links / 2 < CLIENTS_MAX_LINKS_PER_USER ? max_links / 2 : CLIENTS_MAX_LINKS_PER_USER;
	c->idle_ms = idle_ms;
	return users_configure(&c->users, max_links, per_user);
}
