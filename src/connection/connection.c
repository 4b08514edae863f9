/*
 * connection.c - the connection object: creation, the state machine,
 * event-handler delivery, cancellation and invalidation, peer identity.
 *
 * Model: see internal.h for the states and locks, docs/connections.md for
 * the semantics.  Invariants kept here:
 * - the event handler runs only on c->queue (serial), so never concurrently
 *   with itself, and in the order events were queued (FIFO);
 * - INVALID is queued exactly once (conn_fail_locked checks the state) and
 *   after it ran the handler is never called again;
 * - every pending reply is answered exactly once (io.c removes it from the
 *   list under the lock before answering).
 */
#include "connection/internal.h"
#include "dispatch/internal.h"

#include <Block.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

typedef struct DeliverItem {
	xpc_connection_t conn;
	xpc_object_t ev;
	size_t bytes;
	bool final;
	DispatchItem item; /* queuing it cannot fail */
} DeliverItem;

static void conn_dispose(xpc_object_t obj);
static void conn_refund_link(xpc_connection_t c);
static void conn_describe(xpc_object_t obj, StrBuf *sb, unsigned indent);

const struct _xpc_type_s _xpc_type_connection = {
	.name = "connection",
	.dispose = conn_dispose,
	.describe = conn_describe,
};

void conn_lock(xpc_connection_t c)
{
	pthread_mutex_lock(&c->lock);
}

void conn_unlock(xpc_connection_t c)
{
	pthread_mutex_unlock(&c->lock);
}

static dispatch_queue_t conn_default_target(void)
{
	return dispatch_get_global_queue(DISPATCH_QUEUE_PRIORITY_DEFAULT, 0);
}

xpc_connection_t conn_new(ConnKind kind, dispatch_queue_t target)
{
	xpc_connection_t c = object_alloc(&_xpc_type_connection, sizeof(*c));

	if (!c)
		return NULL;
	c->kind = kind;
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->rx_lock, NULL);
	c->fd = -1;
	c->send_w = -1;
	c->pidfd = -1;
	c->next_id = 1;
	c->max_unsent = CONN_MAX_UNSENT;
	c->max_unsent_fds = CONN_MAX_UNSENT_FDS;
	c->queue = dispatch_queue_create("xpc.connection", NULL);
	c->ioq = dispatch_queue_create("xpc.connection.io", NULL);
	if (!c->queue || !c->ioq) {
		xpc_release(c);
		return NULL;
	}
	if (target) {
		dispatch_retain(target);
		c->target = target;
	}
	dispatch_set_target_queue(c->queue, target ? target : conn_default_target());
	return c;
}

static void conn_dispose(xpc_object_t obj)
{
	xpc_connection_t c = (xpc_connection_t)obj;

	if (c->finalizer)
		c->finalizer(c->context);
	conn_exit_untrack_locked(c); /* (listed ones are not disposed: INVALID took them off) */
	conn_discard_out_locked(c);
	transport_stage_drop(&c->stage);
	conn_refund_link(c);
	charge_unref(c->rx_charge);
	for (size_t i = 0; i < c->n_uid_accts; i++)
		charge_unref(c->uid_accts[i]);
	free(c->uid_accts);
	if (c->fd >= 0)
		close(c->fd);
	if (c->send_w >= 0)
		close(c->send_w);
	if (c->pidfd >= 0)
		close(c->pidfd);
	if (c->handler_block)
		Block_release(c->handler_block);
	if (c->queue)
		dispatch_release(c->queue);
	if (c->ioq)
		dispatch_release(c->ioq);
	if (c->target)
		dispatch_release(c->target);
	free(c->name);
	free(c->reason);
	if (c->requirement)
		xpc_release(c->requirement);
	if (c->rx)
		transport_frame_drop_view(c->rx);
	free(c->rx);
	pthread_mutex_destroy(&c->lock);
	pthread_mutex_destroy(&c->rx_lock);
}

static void conn_describe(xpc_object_t obj, StrBuf *sb, unsigned indent)
{
	xpc_connection_t c = (xpc_connection_t)obj;

	conn_lock(c);
	strbuf_printf(sb, "{ name = %s, listener = %s, pid = %d, euid = %u, egid = %u, asid = %u }",
		      c->name ? c->name : "(anonymous)", c->kind == CONN_LISTENER ? "true" : "false",
		      (int)c->pid, (unsigned)c->uid, (unsigned)c->gid, 0u);
	conn_unlock(c);
}

/* ---- delivery to the event handler -------------------------------------- */

void conn_call_handler(xpc_connection_t c, xpc_object_t ev, bool final)
{
	xpc_handler_t blk = NULL;
	xpc_handler_f fn = NULL;
	void *hctx;

	conn_lock(c);
	if (!c->cancelled || final) {
		blk = c->handler_block ? Block_copy(c->handler_block) : NULL;
		fn = c->handler_fn;
	}
	hctx = c->context;
	conn_unlock(c);
	if (blk) {
		blk(ev);
		Block_release(blk);
	} else if (fn) {
		fn(hctx, ev);
	}
}

static void conn_deliver_run(void *ctx)
{
	DeliverItem *it = ctx;
	xpc_connection_t c = it->conn;

	conn_call_handler(c, it->ev, it->final);
	atomic_fetch_sub(&c->async_pending, 1);
	xpc_release(it->ev);
	if (it->bytes)
		conn_unread_done(c, it->bytes);
	if (it->final)
		xpc_release(c); /* the activation reference */
	xpc_release(c);
	free(it);
}

static void conn_deliver_item(xpc_connection_t c, xpc_object_t ev, size_t bytes, bool final)
{
	DeliverItem *it = calloc(1, sizeof(*it));

	if (!it) {
		/* Out of memory: the event is lost, but accounting stays right. */
		xpc_release(ev);
		if (bytes)
			c->unread -= bytes;
		if (final)
			xpc_release(c);
		return;
	}
	xpc_retain(c);
	it->conn = c;
	it->ev = ev;
	it->bytes = bytes;
	it->final = final;
	atomic_fetch_add(&c->async_pending, 1);
	dqueue_push_embedded(c->queue, &it->item, conn_deliver_run, it);
}

void conn_deliver(xpc_connection_t c, xpc_object_t ev, size_t bytes)
{
	conn_deliver_item(c, ev, bytes, false);
}

/* ---- the link ------------------------------------------------------------ */

/*
 * What a link's received out-of-line bodies are charged to: a peer's own
 * account (CONN_MAX_RX_HELD) under the process's; a listener's R takes no
 * body at all (an account of limit 0: refused before a byte is allocated).
 */
static Charge conn_listener_no_body = CHARGE_ROOT(0);

static Charge *conn_rx_account(xpc_connection_t c)
{
	if (c->kind == CONN_LISTENER)
		return &conn_listener_no_body;
	if (!c->rx_charge)
		c->rx_charge = charge_new(transport_rx_account(), CONN_MAX_RX_HELD);
	return c->rx_charge;
}

int conn_start_link_locked(xpc_connection_t c)
{
	dispatch_source_t s;

	if (!c->rx) {
		c->rx = malloc(sizeof(*c->rx));
		if (!c->rx)
			return -ENOMEM;
		c->rx->keep_view = true; /* the peer's stage stays mapped */
		c->rx->view.map = NULL;
		c->rx->charge = conn_rx_account(c);
		if (!c->rx->charge) {
			free(c->rx);
			c->rx = NULL;
			return -ENOMEM;
		}
	}
	/* The read handler runs on the handler queue itself: a message is
	 * handed to the event handler without another thread hand-off, and
	 * while the handler runs nothing is read (Apple's semantics). */
	int fd = c->fd;
	/* A served peer lingers in a blocking receive that must end (io.c); a
	 * client's link rarely does (it answers no requests, usually): its
	 * timeout is set when it first would (conn_may_linger) */
	bool client = c->kind == CONN_PEER && (c->named || c->from_endpoint);
	c->rx_timeout_lazy = client;
	c->rx_timeout = c->kind == CONN_PEER && !client && transport_set_recv_timeout(fd, CONN_LINGER_US) == 0;
	/* Runs once the manager dropped the watch: no read can follow.  Copied
	 * here, where running out of memory can still be reported. */
	dispatch_block_t on_cancel = Block_copy(^{
		close(fd);
		xpc_release(c);
	});
	if (!on_cancel)
		return -ENOMEM;
	s = dispatch_source_create(DISPATCH_SOURCE_TYPE_READ, (uintptr_t)c->fd, 0, c->queue);
	if (!s) {
		Block_release(on_cancel);
		return -ENOMEM;
	}
	dsource_skip_estimate(s); /* the handlers read until EAGAIN */
	xpc_retain(c);
	dispatch_set_context(s, c);
	dispatch_source_set_event_handler_f(s, c->kind == CONN_LISTENER ? conn_listener_ready : conn_read_ready);
	dispatch_source_set_cancel_handler(s, on_cancel); /* a heap block: no copy */
	Block_release(on_cancel);
	c->rsrc = s;
	c->read_paused = false;
	if (client)
		conn_hold_first_read_locked(c, s);
	else
		dispatch_resume(s);
	if (c->kind == CONN_PEER)
		conn_sync_wake_locked(c);
	return 0;
}

/*
 * Whether a thread may be blocked reading the link (a sync caller, a peer
 * lingering for its next request): readers hold rx_lock while they take the
 * descriptor (under the lock, after c->fd = -1 they see none) and read it.
 * Without one, the shutdown that would wake it is not made: on a suspended
 * source it only costs the manager thread a wake-up for the hang-up, and
 * the peer learns of the end when the cancel handler closes the socket.
 * A listener's R is never shut down: it is a shared channel (xpcd and,
 * for an anonymous listener, nobody else reads it, but shutdown() acts on
 * the socket, not on this descriptor: it would end the channel for every
 * holder and every later instance of the service), and no thread blocks
 * reading it.  The link of a suspended connection is shut down: its
 * cancel handler waits for the resume, and the peer must learn of the end
 * now.
 */
static bool conn_link_has_reader(xpc_connection_t c)
{
	if (c->kind == CONN_LISTENER)
		return false;
	if (c->suspend_count > 0 || pthread_mutex_trylock(&c->rx_lock) != 0)
		return true;
	pthread_mutex_unlock(&c->rx_lock);
	return false;
}

/* A listener's peer gives its unit back to its user's account there once
 * its link is closed (or the connection freed without one). */
static void conn_refund_link(xpc_connection_t c)
{
	if (!c->link_charge)
		return;
	charge_give(c->link_charge, 1);
	charge_unref(c->link_charge);
	c->link_charge = NULL;
}

/* Cancels the sources; their cancel handlers close the descriptors. */
static void conn_close_link_locked(xpc_connection_t c)
{
	int fd = c->fd;

	c->fd = -1;
	if (fd >= 0)
		conn_refund_link(c);
	c->requirement_met = false; /* a next link's peer is checked anew */
	transport_stage_drop(&c->stage); /* the next link gets its own */
	if (fd >= 0 && !c->peer_closed && conn_link_has_reader(c))
		shutdown(fd, SHUT_RDWR); /* wakes a thread polling it in a sync send */
	c->peer_closed = false; /* (a pollster sees the peer's hang-up itself) */
	if (c->rsrc) {
		dispatch_source_t s = c->rsrc;
		c->rsrc = NULL;
		if (c->read_paused)
			dispatch_resume(s);
		c->read_paused = false;
		dispatch_source_cancel(s);
		dispatch_release(s);
		conn_lazy_stop_locked(c);
		conn_sync_release_locked(c, false);
	} else if (fd >= 0) {
		close(fd);
	}
	if (c->wsrc) {
		dispatch_source_t w = c->wsrc;
		c->wsrc = NULL;
		if (!c->wsrc_armed)
			dispatch_resume(w); /* a suspended source never runs its cancel handler */
		c->wsrc_armed = false;
		dispatch_source_cancel(w);
		dispatch_release(w);
	}
}

/* Linux 6.5's SO_PEERPIDFD (asm-generic value) where the C library's
 * headers predate it; older kernels answer ENOPROTOOPT and the pidfd is
 * then opened from the pid of the first frame (docs/connections.md). */
#if !defined(SO_PEERPIDFD) && (defined(__x86_64__) || defined(__i386__) || defined(__aarch64__) || \
			       defined(__arm__) || defined(__riscv))
#define SO_PEERPIDFD 77
#endif

void conn_set_creds_from_socket(xpc_connection_t c, int fd)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == 0 && uc.pid > 0) {
		c->pid = uc.pid;
		c->uid = uc.uid;
		c->gid = uc.gid;
		c->have_creds = true;
		c->creds_by_socket = true;
	}
}

/*
 * The peer's pidfd is opened when first asked for (most connections never
 * are: two syscalls and a descriptor saved per connection), while the link
 * is up: SO_PEERPIDFD names the process that made the link (the listener
 * side: the client made the socketpair), otherwise pidfd_open on the pid
 * the kernel gave (SO_PEERCRED, or SCM_CREDENTIALS of the HELLO), kept only
 * if the peer's end of the link is still open afterwards: a peer that died
 * in between may have left its pid to another process (a peer whose end
 * stays open in another process is the window left).  Once the link is
 * closed there is none.
 */
static int conn_pidfd_by_pid(xpc_connection_t c)
{
	long r = syscall(SYS_pidfd_open, c->pid, 0); /* always close-on-exec */
	int pidfd = r < 0 ? -1 : (int)r;

	if (pidfd >= 0 && poll(&(struct pollfd){.fd = c->fd, .events = POLLRDHUP}, 1, 0) != 0) {
		close(pidfd);
		pidfd = -1;
	}
	return pidfd;
}

int conn_pidfd_locked(xpc_connection_t c)
{
	if (c->pidfd >= 0 || c->pidfd_tried || !c->have_creds || c->fd < 0 || c->kind != CONN_PEER)
		return c->pidfd;
	c->pidfd_tried = true;
#ifdef SO_PEERPIDFD
	if (c->creds_by_socket) {
		int pidfd = -1;
		socklen_t plen = sizeof(pidfd);

		if (getsockopt(c->fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &plen) == 0 && pidfd >= 0)
			return c->pidfd = pidfd; /* the kernel makes it O_CLOEXEC */
	}
#endif
	c->pidfd = conn_pidfd_by_pid(c);
	return c->pidfd;
}

void conn_fail_locked(xpc_connection_t c, const char *reason, bool peer_exited)
{
	bool interrupted = c->named && peer_exited && !c->cancelled;

	if (c->state == CONN_INVALID)
		return;
	conn_close_link_locked(c);
	c->connecting = false;
	c->got_hello = false;
	conn_fail_pending_locked(c, interrupted ? XPC_ERROR_CONNECTION_INTERRUPTED : XPC_ERROR_CONNECTION_INVALID);
	conn_discard_out_locked(c);
	if (interrupted) {
		c->state = CONN_DISCONNECTED;
		conn_deliver(c, XPC_ERROR_CONNECTION_INTERRUPTED, 0);
		return;
	}
	bool was_active = c->state != CONN_INACTIVE;
	c->state = CONN_INVALID;
	conn_exit_untrack_locked(c);
	free(c->reason);
	c->reason = strdup(reason);
	if (!was_active)
		xpc_retain(c); /* stands in for the activation reference */
	conn_deliver_item(c, XPC_ERROR_CONNECTION_INVALID, 0, true);
}

/* ---- creation ------------------------------------------------------------ */

int connection_listener_pair(int *ret_recv_fd, int *ret_send_fd)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	transport_setup_socket(sv[0]);
	transport_setup_socket(sv[1]);
	*ret_recv_fd = sv[0];
	*ret_send_fd = sv[1];
	return 0;
}

xpc_connection_t connection_create_from_socket(int fd, dispatch_queue_t q)
{
	xpc_connection_t c = conn_new(CONN_PEER, q);

	if (!c) {
		close(fd);
		return NULL;
	}
	c->fd = fd;
	c->got_hello = true;
	conn_set_creds_from_socket(c, fd);
	/* SO_PEERCRED named the peer: this end needs no SCM_CREDENTIALS (the
	 * peer's end still asks until it has read our HELLO), so SO_PASSCRED
	 * stays as it came (off for a check-in's socket and an accepted one). */
	if (!c->have_creds)
		transport_setup_socket(fd);
	return c;
}

xpc_connection_t connection_create_listener_from_fd(int recv_fd, const char *name, dispatch_queue_t q)
{
	xpc_connection_t c = conn_new(CONN_LISTENER, q);

	if (!c) {
		close(recv_fd);
		return NULL;
	}
	fcntl(recv_fd, F_SETFD, FD_CLOEXEC);
	transport_setup_socket(recv_fd);
	c->fd = recv_fd;
	if (name)
		c->name = strdup(name);
	return c;
}

int connection_get_socket_borrow(xpc_connection_t conn)
{
	int fd;

	conn_lock(conn);
	fd = conn->fd;
	conn_unlock(conn);
	return fd;
}

void connection_set_send_limits(xpc_connection_t conn, size_t max_bytes, size_t max_fds)
{
	conn_lock(conn);
	conn->max_unsent = max_bytes;
	conn->max_unsent_fds = max_fds;
	conn_unlock(conn);
}

int connection_set_receive_limit(xpc_connection_t conn, size_t max_bytes)
{
	Charge *a = charge_new(transport_rx_account(), max_bytes), *old;

	if (!a)
		return -ENOMEM;
	conn_lock(conn);
	if (conn->rx) { /* a reader may use the account now: keep it */
		conn_unlock(conn);
		charge_unref(a);
		return -EBUSY;
	}
	old = conn->rx_charge;
	conn->rx_charge = a;
	conn_unlock(conn);
	charge_unref(old);
	return 0;
}

xpc_connection_t xpc_connection_create(const char *name, dispatch_queue_t targetq)
{
	xpc_connection_t c;
	int r, w;

	if (name)
		return conn_create_xpc_service(name, targetq);
	if (connection_listener_pair(&r, &w) < 0)
		return NULL;
	c = conn_new(CONN_LISTENER, targetq);
	if (!c) {
		close(r);
		close(w);
		return NULL;
	}
	c->fd = r;
	c->send_w = w;
	return c;
}

xpc_connection_t xpc_connection_create_mach_service(const char *name, dispatch_queue_t targetq, uint64_t flags)
{
	bool listener = flags & XPC_CONNECTION_MACH_SERVICE_LISTENER;
	xpc_connection_t c = conn_new(listener ? CONN_LISTENER : CONN_PEER, targetq);

	if (!c)
		return NULL;
	c->name = name ? strdup(name) : NULL;
	c->named = !listener;
	c->privileged = !listener && (flags & XPC_CONNECTION_MACH_SERVICE_PRIVILEGED);
	c->want_listener = listener;
	return c;
}

xpc_connection_t xpc_connection_create_from_endpoint(xpc_endpoint_t endpoint)
{
	int efd = endpoint_object_borrow_fd((xpc_object_t)endpoint);
	xpc_connection_t c;
	int w;

	if (efd < 0)
		return NULL;
	w = fcntl(efd, F_DUPFD_CLOEXEC, 3);
	if (w < 0)
		return NULL;
	c = conn_new(CONN_PEER, NULL);
	if (!c) {
		close(w);
		return NULL;
	}
	c->send_w = w;
	c->from_endpoint = true;
	return c;
}

/* ---- activation, suspension, cancellation -------------------------------- */

static void conn_activate_peer_locked(xpc_connection_t c)
{
	const char *why = NULL;

	if (c->fd < 0 && c->named) {
		conn_service_lookup_start(c);
		return;
	}
	if (c->fd < 0 && c->from_endpoint) {
		if (conn_checkin(c->send_w, true, &c->fd, &why) < 0) {
			conn_fail_locked(c, why, false);
			return;
		}
	}
	/* a peer known from its socket (a listener's) is checked before its
	 * link is read or written; others at their first frame (io.c) */
	if (c->requirement && c->have_creds && !conn_requirement_admit_locked(c))
		return;
	if (conn_start_link_locked(c) < 0) {
		conn_fail_locked(c, "limit exceeded: out of memory", false);
		return;
	}
	conn_flush_locked(c);
}

void xpc_connection_activate(xpc_connection_t c)
{
	conn_lock(c);
	if (c->state != CONN_INACTIVE || c->cancelled) {
		conn_unlock(c);
		return;
	}
	c->state = CONN_ACTIVE;
	xpc_retain(c); /* released after the final INVALID was delivered */
	if (c->kind == CONN_LISTENER && c->want_listener && c->fd < 0)
		conn_service_listener_start(c);
	else if (c->kind == CONN_LISTENER) {
		if (conn_start_link_locked(c) < 0)
			conn_fail_locked(c, "limit exceeded: out of memory", false);
	} else {
		conn_exit_track_locked(c);
		conn_activate_peer_locked(c);
	}
	conn_unlock(c);
}

void xpc_connection_resume(xpc_connection_t c)
{
	conn_lock(c);
	if (c->state == CONN_INACTIVE && !c->cancelled) {
		conn_unlock(c);
		xpc_connection_activate(c);
		return;
	}
	if (c->suspend_count > 0) {
		c->suspend_count--;
		dispatch_resume(c->queue);
	}
	conn_unlock(c);
}

void xpc_connection_suspend(xpc_connection_t c)
{
	conn_lock(c);
	if (c->state != CONN_INACTIVE) {
		c->suspend_count++;
		dispatch_suspend(c->queue);
	}
	conn_unlock(c);
}

void xpc_connection_cancel(xpc_connection_t c)
{
	conn_lock(c);
	if (!c->cancelled) {
		c->cancelled = true;
		conn_flush_coalesced_locked(c); /* what would have left at once */
		conn_fail_locked(c, "cancelled", false);
	}
	conn_unlock(c);
}

/* ---- handler, queue, context ----------------------------------------------- */

void xpc_connection_set_event_handler(xpc_connection_t c, xpc_handler_t handler)
{
	xpc_handler_t copy = handler ? Block_copy(handler) : NULL, old;

	conn_lock(c);
	if (handler && !copy) {
		/* a connection nobody listens to would leave its peer waiting */
		conn_fail_locked(c, "limit exceeded: out of memory", false);
		conn_unlock(c);
		return;
	}
	old = c->handler_block;
	c->handler_block = copy;
	c->handler_fn = NULL;
	conn_unlock(c);
	if (old)
		Block_release(old);
}

void xpc_connection_set_event_handler_f(xpc_connection_t c, xpc_handler_f handler)
{
	xpc_handler_t old;

	conn_lock(c);
	old = c->handler_block;
	c->handler_block = NULL;
	c->handler_fn = handler;
	conn_unlock(c);
	if (old)
		Block_release(old);
}

void xpc_connection_set_target_queue(xpc_connection_t c, dispatch_queue_t targetq)
{
	dispatch_queue_t old;

	if (targetq)
		dispatch_retain(targetq);
	conn_lock(c);
	old = c->target;
	c->target = targetq;
	dispatch_set_target_queue(c->queue, targetq ? targetq : conn_default_target());
	conn_unlock(c);
	if (old)
		dispatch_release(old);
}

void xpc_connection_set_context(xpc_connection_t c, void *context)
{
	conn_lock(c);
	c->context = context;
	conn_unlock(c);
}

void *xpc_connection_get_context(xpc_connection_t c)
{
	void *ctx;

	conn_lock(c);
	ctx = c->context;
	conn_unlock(c);
	return ctx;
}

void xpc_connection_set_finalizer_f(xpc_connection_t c, xpc_finalizer_t finalizer)
{
	conn_lock(c);
	c->finalizer = finalizer;
	conn_unlock(c);
}

/* ---- identity -------------------------------------------------------------- */

const char *xpc_connection_get_name(xpc_connection_t c)
{
	return c->name;
}

uid_t xpc_connection_get_euid(xpc_connection_t c)
{
	uid_t v;

	conn_lock(c);
	v = c->uid;
	conn_unlock(c);
	return v;
}

gid_t xpc_connection_get_egid(xpc_connection_t c)
{
	gid_t v;

	conn_lock(c);
	v = c->gid;
	conn_unlock(c);
	return v;
}

pid_t xpc_connection_get_pid(xpc_connection_t c)
{
	pid_t v;

	conn_lock(c);
	v = c->pid;
	conn_unlock(c);
	return v;
}

au_asid_t xpc_connection_get_asid(xpc_connection_t c)
{
	pid_t pid = xpc_connection_get_pid(c);
	pid_t sid = pid > 0 ? getsid(pid) : -1;

	return sid > 0 ? (au_asid_t)sid : 0;
}

int xpc_linux_connection_get_pidfd(xpc_connection_t c)
{
	int v;

	conn_lock(c);
	v = conn_pidfd_locked(c);
	conn_unlock(c);
	return v;
}

char *xpc_connection_copy_invalidation_reason(xpc_connection_t c)
{
	char *r = NULL;

	conn_lock(c);
	if (c->state == CONN_INVALID && c->reason)
		r = strdup(c->reason);
	conn_unlock(c);
	return r;
}
