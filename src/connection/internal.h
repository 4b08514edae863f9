/* SPDX-License-Identifier: MIT */
/*
 * internal.h - the connection object shared by the files of this layer.
 *
 * State machine (docs/connections.md):
 *
 *   INACTIVE --activate--> ACTIVE --cancel / EOF / violation--> INVALID
 *                            |  ^
 *        (named only) EOF -> |  | next send checks in again
 *                          DISCONNECTED
 *
 * Only connection.c changes `state` (conn_fail_locked, activation,
 * cancellation, reconnection): the files below it report what happened as
 * ConnError outcomes and their callers in connection.c decide.  The files
 * and their one-way edges (docs/connections.md has the graph):
 *
 *   main.c, lookup.c  ->  named.c  ->  connection.c  ->  create.c,
 *   endpoint.c -> create.c -> exit-flush.c -> send.c; sync.c -> receive.c
 *   -> requirement.c, send.c, deliver.c, peer.c; send.c -> pending.c;
 *   checkin.c, trace.c -> tap.c -> brokerlink.c, error.c at the bottom
 *
 * (scripts/layer-graph.py prints it from the object files.)
 *
 * Each lower file owns one part of the connection: send.c `tx`, receive.c
 * `rx`, sync.c `sync`, pending.c `pending`, peer.c `peer`.
 *
 * Locking: `lock` guards every mutable field below it unless a field says
 * otherwise.  Sending happens under the lock (so frames leave in FIFO
 * order); reading happens with `rx.lock` held.  Event-handler calls run on
 * the serial `queue` (which targets the user's target queue), so they
 * never overlap.  Lock order: rx.lock, then lock.
 *
 * References: the creator holds one; an active connection holds one more on
 * itself until its final INVALID has been delivered; each live dispatch
 * source holds one until its cancel handler ran.
 */
#ifndef XPC_CONNECTION_INTERNAL_H
#define XPC_CONNECTION_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <dispatch/dispatch.h>
#include <xpc/xpc.h>

#include "connection/connection.h"
#include "dispatch/internal.h"
#include "dispatch/manager.h"
#include "object/object.h"
#include "shared/charge.h"
#include "shared/lock.h"
#include "transport/ring/ring.h"
#include "transport/transport.h"
#include "wire/wire.h"

/* Limits (docs/connections.md). */
#define CONN_MAX_UNREAD (4u * 1024u * 1024u) /* queued for the handler before reading stops */
#define CONN_MAX_PENDING_REPLIES 65536u
#define CONN_MAX_UNSENT (64u * 1024u * 1024u) /* out-queue bytes before the link is cut */
#define CONN_MAX_UNSENT_FDS 4096u              /* descriptors held by the out-queue */
/* Each descriptor in a message queued for the handler counts as this
 * many bytes against CONN_MAX_UNREAD: ~1 000 descriptors wait at most. */
#define CONN_UNREAD_FD_COST 4096u
/* Live peer links per uid and listener (root and the listener's own euid
 * not counted); XPC_PEER_LINKS_PER_UID overrides it (docs/security.md). */
#define CONN_MAX_PEERS_PER_UID 256u
/* Received out-of-line bodies one link may make this process hold at
 * once (under the process's TRANSPORT_RX_PROCESS_MAX). */
#define CONN_MAX_RX_HELD ((size_t)FRAME_MAX_BODY)
/* A served peer's wait for the next request (receive.c). */
#define CONN_LINGER_US 100

typedef enum { CONN_PEER = 1, CONN_LISTENER } ConnKind;
typedef enum { CONN_INACTIVE = 0, CONN_ACTIVE, CONN_DISCONNECTED, CONN_INVALID } ConnState;

/*
 * Outcomes (error.c): why a link ended, or why an operation of the layer
 * failed.  0 is success; the English reason is made from the code (and a
 * detail, where one is given) only when xpc_connection_copy_invalidation_
 * reason() asks for it.
 */
typedef enum {
	CONN_OK = 0,
	CONN_E_CANCELLED,      /* "cancelled" */
	CONN_E_PEER_EXITED,    /* the peer closed its end (or reset it) */
	CONN_E_LISTENER_GONE,  /* no listener took the check-in */
	CONN_E_LINK_ERROR,     /* the link failed otherwise */
	CONN_E_SERVICE_GONE,   /* a looked-up channel was closed */
	CONN_E_CHANNEL_CLOSED, /* a listener's channel: every W closed */
	CONN_E_NOT_VENDED,     /* denied: XPCD_LISTEN_* names no such service */
	CONN_E_NO_MEMORY,      /* limit exceeded: out of memory */
	CONN_E_DESCRIPTORS,    /* limit exceeded: descriptors */
	CONN_E_UNSENT,         /* limit exceeded: the out-queue is full */
	CONN_E_BACKLOG,        /* limit exceeded: the listener's backlog */
	CONN_E_PEER_LINKS,     /* limit exceeded: peer links per user */
	CONN_E_RECEIVE_LIMIT,  /* limit exceeded: detail names the transport's */
	CONN_E_PROTOCOL,       /* protocol violation: detail says which */
	CONN_E_REQUIREMENT,    /* peer requirement not met: detail says why */
	CONN_E_BROKER,         /* the broker's answer, or why none came: detail */
	CONN_E_BUNDLE,         /* the bundled XPC service could not start: detail */
} ConnError;

/* The fixed text of @e (NULL for CONN_E_BROKER, whose reason is its detail). */
const char *conn_strerror(ConnError e);
/* Whether @e is a limit ("limit exceeded: ..."). */
bool conn_error_is_limit(ConnError e);
/* The reason "TEXT[: DETAIL]" (malloc'd; NULL out of memory). */
char *conn_error_reason(ConnError e, const char *detail);

typedef struct OutItem OutItem;
typedef struct Pending Pending;
typedef struct UserChannel UserChannel; /* user-channel.c */

/* A request waiting for its reply (pending.c).  A sync caller's lives on
 * its stack (sync.c); the others are allocated. */
struct Pending {
	Pending *next;
	uint64_t id;
	dispatch_queue_t q;
	xpc_handler_t block;
	xpc_handler_f fn;
	void *ctx;
	bool sync;          /* a sync caller's (on its stack): */
	pthread_mutex_t mu; /* guards result/done for it, and */
	pthread_cond_t cv;  /* wakes it when another thread answers */
	xpc_object_t result;
	atomic_bool done;
	bool wake;          /* under mu: a link came up (sync_wait_link) */
	bool mu_used;       /* a sync caller's mu was ever locked (set under
			     * it): else sync_wait_answer need not destroy it */
	pthread_t waiter;   /* a sync caller's thread: its own answer takes no lock */
	bool self_answered; /* written and read by the waiter only */
	bool sync_ended;    /* ... too: its call's end was done with the
			     * reply's lock (receive.c, receive_reply) */
	/* a sync caller's: sync_end_locked, for the reader of its own reply
	 * (a pointer: receive.c does not call into sync.c, which calls it) */
	bool (*end_locked)(xpc_connection_t c);
	DispatchItem item;  /* queuing the answer cannot fail */
};

/* The out-queue and sending (send.c); under lock unless said. */
typedef struct ConnTx {
	OutItem *head, *tail;
	size_t unsent, unsent_fds;         /* what the out-queue holds */
	size_t max_unsent, max_unsent_fds; /* CONN_MAX_UNSENT*, or set by the broker */
	size_t bytes;                      /* frame bytes in the out-queue */
	uint64_t next_id;
	uint64_t last_send_ns; /* when the last plain message went out (coalescing) */
	unsigned rapid_sends;  /* messages in a row sent soon after the one before */
	bool flush_scheduled;  /* a flush of coalesced frames is queued on ioq */
	bool wsrc_armed;       /* wsrc resumed: waiting for room */
	bool flush_wanted;     /* a flush below connection.c found the socket
				* full: connection.c flushes again (arming wsrc) */
	dispatch_source_t wsrc;
} ConnTx;

/* Requests waiting for their reply (pending.c), oldest first. */
typedef struct PendingList {
	Pending *head, *tail;
	size_t n;
} PendingList;

/* Reading (receive.c). */
typedef struct ConnRx {
	/* Held (written) by whoever reads the link.  A rwlock, only ever
	 * write-locked, for its trylock: pthread_mutex_trylock reads a jump
	 * table in a 64 KiB block of libc's data that nothing else a client
	 * runs touches (docs/performance.md, "The idle client"). */
	pthread_rwlock_t lock;
	/* under lock (the connection's) */
	size_t unread;      /* bytes queued for the handler (deliver.c) */
	bool paused;        /* the read source is suspended: back pressure */
	bool timeout;       /* the link's blocking receives time out (linger) */
	bool timeout_lazy;  /* ... not set yet: at the first linger */
	Charge *charge;     /* received out-of-line bodies of this link */
	bool set_up;        /* receive_setup_locked ran: readers may use the account */
	/* under rx.lock */
	TransportFrame *frame; /* a listener's receive buffer; a peer's only while it
				* holds the peer's stage mapped (receive.c) */
	bool answered;         /* the last frame read was a request */
	bool drained;          /* the last read left the link empty (receive.c) */
	dispatch_source_t src; /* the source of the link being read (receive_link) */
	TransportFrame *ahead; /* the frame read with the last one, not yet handled */
	int ahead_r;           /* ... its receive's result (0, or a refusal) */
	dispatch_source_t ahead_src; /* ... of this source's link (a reference) */
	char *why;             /* the detail of the last failure reported: malloc'd
				* when one is, else NULL (not 256 bytes in every
				* idle peer: docs/performance.md, issue 17) */
	/* atomic: the source's handler found rx.lock taken; whoever lets
	 * go of it gives the source another delivery (receive_unlock) */
	atomic_bool missed;
} ConnRx;

/* Sync callers and the lazy resume of the read source (sync.c). */
/* What every call reads and writes is in 64 bytes: the end of the timer
 * (its pending word, which a call's start and end swap) and the fields
 * after it, up to item. */
typedef struct ConnSync {
	ManagerTimer timer;    /* the lazy resume of src (holds a reference) */
	uint64_t last_ns;      /* when the last sync call ended */
	uint64_t taken_ns;     /* when the last sync call took src */
	uint64_t gap_ns;       /* how long no call was under way before it */
	uint64_t delay_ns;     /* the lazy resume's delay (1 ms and up) */
	uint64_t latest_ns;    /* ... the latest time of its last arming */
	dispatch_source_t src; /* rsrc held suspended for sync callers */
	unsigned active;       /* sync callers reading now */
	bool timer_armed;      /* a lazy resume of src is scheduled */
	bool ref_kept;         /* the timer's reference, kept while a call
				* has it stopped, for that call's end */
	DispatchItem item;     /* the timer's fire: the resume on ioq */
} ConnSync;

/* The peer's identity (peer.c). */
enum {
	PEER_F_KNOWN = 1u << 0,       /* pid, uid, gid are set */
	PEER_F_BY_SOCKET = 1u << 1,   /* ... from SO_PEERCRED: the peer made the link */
	PEER_F_PIDFD_TRIED = 1u << 2, /* pidfd was opened (or could not be) */
};
typedef struct ConnPeer {
	unsigned flags;
	pid_t pid;
	uid_t uid;
	gid_t gid;
	int pidfd; /* opened at the first get_pidfd (-1: not yet / none) */
} ConnPeer;

/* What the connection is, fixed at creation (read without the lock). */
enum {
	CONN_ROLE_NAMED = 1u << 0,         /* mach-service client: INTERRUPTED semantics */
	CONN_ROLE_PRIVILEGED = 1u << 1,    /* ... of the system broker only */
	CONN_ROLE_FROM_ENDPOINT = 1u << 2, /* checks in over send_w on activation */
	CONN_ROLE_SERVICE = 1u << 3,       /* named service listener (XPCD_LISTEN_*) */
	CONN_ROLE_XPC_SERVICE = 1u << 4,   /* xpc_connection_create(NAME): a bundled service first */
	CONN_ROLE_UNTAPPED = 1u << 5,      /* a broker link of xpcd or xpcctl: never to monitors (tap.c) */
	CONN_ROLE_RAW = 1u << 6,           /* over a socket handed in (the private API: a broker's
					    * links): the far end may read frames by hand, so no
					    * shared ring is offered (src/transport/ring/) */
};

/* The link's condition beside `state`, under lock. */
enum {
	CONN_F_CANCELLED = 1u << 0,   /* xpc_connection_cancel was called */
	CONN_F_CONNECTING = 1u << 1,  /* lookup / check-in under way */
	CONN_F_GOT_HELLO = 1u << 2,   /* the listener's HELLO came */
	CONN_F_PEER_CLOSED = 1u << 3, /* the link ends for the peer's EOF/reset: no shutdown() */
	CONN_F_START_LATER = 1u << 4, /* activating: a read source made now is
				       * left in start_owed (connection.c) */
};

struct _xpc_connection_s {
	struct xpc_object_s head;
	ConnKind kind;
	unsigned role; /* CONN_ROLE_* */
	/* named.c: brings up the link of a connection made by name (on
	 * activation and, for a client, at the first send after INTERRUPTED);
	 * NULL for the others */
	void (*connect_locked)(xpc_connection_t c);
	pthread_mutex_t lock;
	_Atomic size_t async_pending; /* handler calls queued, not yet run */
	dispatch_queue_t target; /* user's target queue (retained) or NULL */
	dispatch_queue_t queue;  /* serial: handler calls, barriers */
	dispatch_queue_t ioq;    /* serial: socket reading and writing */
	char *name;
	char *service; /* a listener's peer: the listener's name (tap.c), or NULL */
	/* --- under lock --- */
	ConnState state;
	unsigned flags;         /* CONN_F_* */
	unsigned suspend_count; /* user suspends after activation */
	TransportLink link;     /* the link, or R of a listener; fd -1: none
				 * (ops: the transport's, unix/link.c) */
	int send_w;             /* W: listener's own, or the endpoint's */
	dispatch_source_t rsrc;
	dispatch_source_t start_owed; /* made under CONN_F_START_LATER, not yet
				       * resumed (+1); NULL otherwise */
	xpc_handler_t handler_block;
	xpc_handler_f handler_fn;
	void *context;
	xpc_finalizer_t finalizer;
	ConnError error;        /* why it is INVALID */
	char *error_detail;     /* ... in words, malloc'd, or NULL */
	Charge *link_charge;    /* a listener's peer: its user's account there (a
				 * unit, given back when the link closes), or NULL */
	Charge **uid_accts;     /* a listener: per-uid accounts of live peer links */
	size_t n_uid_accts;
	UserChannel **uchans;   /* a listener: its users' channels (user-channel.c) */
	size_t n_uchans;
	xpc_peer_requirement_t requirement; /* requirement.c; set before activation */
	_Atomic bool requirement_met; /* ... checked and satisfied on this link (written
				       * under lock): nothing is sent to the peer before */
	ConnTx tx;
	PendingList pending;
	ConnRx rx;
	ConnSync sync;
	ConnPeer peer;
	/* exit-flush.c: the list of connections a normal exit flushes, under
	 * its own lock; exit_pid: the process that listed it, 0 not listed */
	struct _xpc_connection_s *exit_prev, *exit_next;
	pid_t exit_pid;
};

static inline void conn_lock(xpc_connection_t c)
{
	pthread_mutex_lock(&c->lock);
}

static inline void conn_unlock(xpc_connection_t c)
{
	pthread_mutex_unlock(&c->lock);
}

static inline bool conn_has(xpc_connection_t c, unsigned flag)
{
	return (c->flags & flag) != 0;
}

static inline void conn_set(xpc_connection_t c, unsigned flag, bool on)
{
	c->flags = on ? c->flags | flag : c->flags & ~flag;
}

/* Whether frames may leave now (locked): the link is up, checked in, and a
 * required peer was checked. */
static inline bool conn_link_live_locked(xpc_connection_t c)
{
	lock_assert_held(&c->lock);
	return c->state == CONN_ACTIVE && c->link.fd >= 0 && !conn_has(c, CONN_F_CONNECTING) &&
	       (!c->requirement || c->requirement_met);
}

/* ---- create.c: making and freeing the object ---- */

xpc_connection_t create_conn(ConnKind kind, dispatch_queue_t target);
/* xpc_connection_create(NULL, q): a listener over a fresh pair, its W kept. */
xpc_connection_t create_anonymous_listener(dispatch_queue_t targetq);
/* A listener's peer gives its unit back (link closed, or freed). */
void create_refund_link(xpc_connection_t c);
/* A listener's peer over a check-in's link @fd (consumed), whose maker
 * transport_checkin_verify found to be @cr: SO_PEERCRED is not asked again. */
xpc_connection_t create_checked_in(int fd, const TransportCreds *cr);

/* ---- deliver.c: calls of the event handler ---- */

/* Queues a call of the event handler with @ev (+1, consumed) on c->queue
 * (locked); @bytes are charged to rx.unread until it ran.  @final: the last one
 * (drops the activation reference after it ran). */
void deliver_event(xpc_connection_t c, xpc_object_t ev, size_t bytes, bool final);
/* Calls the event handler with @ev (borrowed) now; on c->queue only. */
void deliver_now(xpc_connection_t c, xpc_object_t ev, bool final);
/* The new peer whose listener's handler runs on this thread now, and in
 * *@ret_listener that listener; NULL (both) outside such a handler. */
xpc_connection_t deliver_handing(xpc_connection_t *ret_listener);

/* ---- pending.c: requests waiting for their reply ---- */

/* A new entry (its queue: @q or the default global queue), or NULL. */
Pending *pending_new(dispatch_queue_t q, xpc_handler_t block, void *ctx, xpc_handler_f fn);
/* Frees an entry never added (its block, if any, is the caller's). */
void pending_free(Pending *p);
void pending_add_locked(xpc_connection_t c, Pending *p, uint64_t id);
/* Unlinks the entry of request @id (NULL: none); the oldest in O(1). */
Pending *pending_take_locked(xpc_connection_t c, uint64_t id);
/* Answers @p (unlinked) with @result (+1, consumed): exactly once. */
void pending_answer(Pending *p, xpc_object_t result);
/* Answers every entry with @err. */
void pending_fail_all_locked(xpc_connection_t c, xpc_object_t err);
/* A link came up: sync callers waiting for one read it. */
void pending_wake_sync_locked(xpc_connection_t c);

/* ---- send.c: encoding, the out-queue, flushing ---- */

typedef enum {
	SEND_DRAINED, /* nothing left in the out-queue */
	SEND_HELD,    /* frames wait for the link (not up, not checked), or
		       * nothing changed: the write source stays as it is */
	SEND_BLOCKED, /* the socket is full: wait until it is writable */
} SendProgress;

#define SEND_MAX_IOV 16
/* Bytes of a SendJob's own storage for its encoding (no allocation for a
 * small message; a queued one moves to the heap). */
#define SEND_JOB_INLINE 256

/* send_job_init() sets each field by name (no memset of the whole job):
 * a new field needs its line there. */
typedef struct SendJob {
	WireBuffer body;
	uint8_t inline_body[SEND_JOB_INLINE];
	WireFds fds;
	FrameHeader hdr;
	struct iovec iov[SEND_MAX_IOV];
	size_t n_iov;
	int ool;           /* out-of-line body, or -1 */
	int encode_error;  /* 0, or a negative errno (not encodable) */
	xpc_object_t msg;  /* borrowed, for tracing */
	/* set by send_job_locked */
	SendProgress progress;
	bool schedule_flush; /* coalesced: flush on ioq soon */
} SendJob;

/* Encodes @msg (outside the lock) for a send with a reply wanted or not. */
void send_job_init(xpc_connection_t c, xpc_object_t msg, bool wants_reply, SendJob *j);
void send_job_free(SendJob *j);
/* Refuses @j (locked): its reply handler @p gets INVALID.  Return: the
 * failure the link must end with, or CONN_OK. */
ConnError send_job_refuse_locked(xpc_connection_t c, SendJob *j, Pending *p);
/* Gives @j its id and lists @p (if any) as waiting for the reply. */
void send_job_assign_locked(xpc_connection_t c, SendJob *j, Pending *p);
/* Sends or queues @j (locked).  Return: as send_job_refuse_locked. */
ConnError send_job_locked(xpc_connection_t c, SendJob *j, Pending *p);
/* Sends what the out-queue holds while the socket takes it (locked). */
ConnError send_flush_locked(xpc_connection_t c, SendProgress *ret_progress);
/* Unsent messages are dropped; barriers still run (locked). */
void send_discard_locked(xpc_connection_t c);
/* A barrier after what is queued (not under the lock). */
void send_barrier(xpc_connection_t c, dispatch_block_t block, void *ctx, dispatch_function_t fn);

/* ---- connection.c: the state machine and the entry points ---- */

/* Ends the link for @e (@detail: copied, may be NULL): fails pending
 * replies, discards unsent messages, delivers INVALID (or INTERRUPTED for
 * a named peer whose peer exited).  Locked. */
void conn_fail_locked(xpc_connection_t c, ConnError e, const char *detail);
/* Starts the read source on c->link.fd, then sends what waited (locked); on
 * failure the connection fails. */
void conn_link_up_locked(xpc_connection_t c);
/* Acts on what a send or flush did (locked): arms or disarms the write
 * source, fails the connection for @e. */
void conn_flushed_locked(xpc_connection_t c, ConnError e, SendProgress progress);
/* Coalesced frames leave soon, from the ioq (locked). */
void conn_schedule_flush_locked(xpc_connection_t c);
/* What a reader reported (rx.lock held, not the lock). */
void conn_after_read(xpc_connection_t c, ConnError e);
/* A named client that was INTERRUPTED checks in again (locked). */
void conn_reconnect_locked(xpc_connection_t c);

/* ---- receive.c: reading frames ---- */

typedef enum {
	RECEIVE_NONE,   /* nothing to read */
	RECEIVE_GOT,    /* a frame was handled: read on */
	RECEIVE_PAUSED, /* ... and reading must pause (back pressure) */
} ReceiveGot;

/* Reads and handles frames of @src's link while there are some (rx.lock
 * held).  Return: CONN_OK, or the failure that ends the link (detail in
 * c->rx.why). */
ConnError receive_ready_rxlocked(xpc_connection_t c, dispatch_source_t src);
/* Reads one frame of the link @l, blocking (rx.lock held).  Return: as
 * above; *ret_got says what was read. */
ConnError receive_one_rxlocked(xpc_connection_t c, TransportLink *l, ReceiveGot *ret_got);
/* An accepted peer's first frame, if one is there, before its source
 * @src is started (rx.lock held, on c->queue): one read, never waiting. */
ConnError receive_first_rxlocked(xpc_connection_t c, dispatch_source_t src);
/* The read source's handler takes rx.lock without waiting: false when a
 * reader holds it (which then owes the source a delivery). */
bool receive_trylock(xpc_connection_t c);
/* Lets go of rx.lock (the connection's lock not held); a delivery that
 * found it taken meanwhile is given again to the link's source. */
void receive_unlock(xpc_connection_t c);
/* The frame the next read of @c goes into (rx.lock held): the link's own,
 * or a cached one (@local: the source's handler reads; rxframes.c). */
TransportFrame *receive_frame_get(xpc_connection_t c, bool local);
/* A frame for a second packet (rx.lock held): never the link's own. */
TransportFrame *receive_frame_spare(xpc_connection_t c, bool local);
/* After the read (rx.lock held; @f cleared): back to the link, this
 * thread's frames (@local) or the process cache. */
void receive_frame_put(xpc_connection_t c, TransportFrame *f, bool local);
/* A copy of the link @c reads now, if it is still the one of @src. */
bool receive_link(xpc_connection_t c, dispatch_source_t src, TransportLink *ret);
/* The account of received bodies (a listener: its receive buffer too)
 * (locked); -ENOMEM. */
int receive_setup_locked(xpc_connection_t c);
void receive_dispose(xpc_connection_t c);

/* ---- sync.c: sync callers ---- */

/* A client link's read source @s, created suspended, starts held as if a
 * sync call had just ended (locked). */
void sync_hold_first_read_locked(xpc_connection_t c, dispatch_source_t s);
/* Resumes sync.src if no sync caller needs it any more (locked). */
void sync_release_locked(xpc_connection_t c, bool force_idle);
/* Stops the lazy-resume timer (locked). */
void sync_lazy_stop_locked(xpc_connection_t c);
/* After a send: an asynchronous one gives the source back (locked). */
void sync_after_send_locked(xpc_connection_t c, bool sync_caller);
/* The source a sync caller reads, taken (locked); NULL: no link (yet). */
dispatch_source_t sync_take_locked(xpc_connection_t c);
/* The caller that took a source is done (takes the lock). */
void sync_done(xpc_connection_t c);
/* The same, locked, by the reader of its own reply (Pending.end_locked),
 * only when the source stays held.  Return: whether it ended the call. */
bool sync_end_locked(xpc_connection_t c);
/* Waits for a link (or an answer to @p); the source taken, or NULL. */
dispatch_source_t sync_wait_link(xpc_connection_t c, Pending *p);
/* Reads @src's link until @p is answered (rx.lock held).  Return: the
 * failure that ended the link, or CONN_OK. */
ConnError sync_read_rxlocked(xpc_connection_t c, dispatch_source_t src, Pending *p);
/* Waits for @p's answer and returns it (+1); @p is the caller's. */
xpc_object_t sync_wait_answer(Pending *p);
/* Apple's misuse check: the event handler of @c (its queue) cannot wait
 * for a reply that only it could be handed (aborts). */
void sync_check_queue(xpc_connection_t c);

/* ---- peer.c: the peer's identity ---- */

/* The peer as the transport names it, for a link the peer made (locked). */
void peer_set_from_link(xpc_connection_t c);
/* ... as the transport named it already (@cr: SO_PEERCRED of the link). */
void peer_set_known(xpc_connection_t c, const TransportCreds *cr);
/* The first frame with credentials names the peer (takes the lock).
 * Return: true if it did now (the link may stop asking). */
bool peer_record(xpc_connection_t c, const TransportFrame *f);
/* The peer's pidfd, opened on first use while the link is up (locked). */
int peer_pidfd_locked(xpc_connection_t c);
void peer_dispose(xpc_connection_t c);

/* ---- trace.c: XPC_TRACE=1, one line per frame on stderr; XPC_MONITOR=1 ---- */

/* Whether XPC_TRACE or XPC_MONITOR is on: the one test on a frame's path. */
bool trace_enabled(void);
/* @c: the connection (NULL: none, a check-in); @locked: its lock is held;
 * @dir "send"/"recv"; @msg: the message (borrowed) or NULL; @desc: its
 * description if already made, else NULL. */
void trace_frame(xpc_connection_t c, bool locked, const char *dir, const FrameHeader *h, xpc_object_t msg,
		 const char *desc);
/* A copy of @msg's description for tracing it later (NULL: neither trace
 * nor a monitor wants it). */
char *trace_describe(xpc_connection_t c, xpc_object_t msg);
/* A line of its own: @what happened to a frame (dropped check-ins). */
void trace_note(const char *what, const char *why);

/* ---- tap.c: XPC_MONITOR=1, frames summarized to the broker's monitors ---- */

/* Whether a monitor watches this process and @c is tapped (opens the tap
 * link at the first call; reads the broker's answers). */
bool tap_wanted(xpc_connection_t c);
/* A summary of the frame @h of @c (@desc: the message's description or
 * NULL) to the broker; dropped and counted when its socket is full.
 * @locked: c's lock is held. */
void tap_frame(xpc_connection_t c, bool locked, const char *dir, const FrameHeader *h, const char *desc);

/* ---- user-channel.c: a listener's per-user channels ---- */

#define USER_CHANNELS_MAX 64u
/*
 * user_channel_open() - listener @l reads check-ins of @uid from @r too
 * (taken: a CHANNEL frame's R, checkin.c), with @handler on its queue
 * (context: the UserChannel).  Dropped (closed) when @l is not active,
 * has USER_CHANNELS_MAX, or reads that socket already.
 */
void user_channel_open(xpc_connection_t l, int r, uid_t uid, dispatch_function_t handler);
/* For the handler: @u's listener, a view of its R to read, its user;
 * false once @u or the listener ended (read nothing). */
bool user_channel_view(UserChannel *u, xpc_connection_t *ret_l, TransportLink *ret_link, uid_t *ret_uid);
/* @u's R ended (every W closed or shut down): it is read no more. */
void user_channel_drop(UserChannel *u);
/* The listener's link closes (locked): so do its channels. */
void user_channels_close_locked(xpc_connection_t l);

/* ---- checkin.c: check-ins, both sides ---- */

/* Makes a link and checks it in over @send_w (borrowed); @wait: up to 5 s
 * for room in the listener's backlog.  Return: CONN_OK with *ret_fd
 * (ours), CONN_E_BACKLOG, CONN_E_DESCRIPTORS or CONN_E_LISTENER_GONE. */
ConnError checkin_make(int send_w, bool wait, int *ret_fd);
#define CHECKIN_ANY_UID ((uid_t)-1)
/* What checkin_accept took from R. */
typedef struct CheckinGot {
	int s;              /* a verified check-in's link (owned), or -1 */
	TransportCreds cr;  /* ... its maker (SO_PEERCRED, as verified) */
	Charge *charge;     /* ... its user's account (+1), or NULL */
	int channel;        /* a user's channel's R (owned; user-channel.c), or -1 */
	uid_t channel_uid;  /* ... that user */
} CheckinGot;
/*
 * checkin_accept() - reads one frame from listener @l's R (@link): its own
 * (@only_uid CHECKIN_ANY_UID), or a user's channel (only that user's
 * check-ins are taken there, and no channel).
 * Return: CONN_OK with *ret_got RECEIVE_NONE (nothing to read) or
 * RECEIVE_GOT: then *ret says what was taken (neither: dropped, read on);
 * or the failure that ends R (CONN_E_CHANNEL_CLOSED, CONN_E_NO_MEMORY).
 */
ConnError checkin_accept(xpc_connection_t l, TransportLink *link, uid_t only_uid, CheckinGot *ret, ReceiveGot *ret_got);
/* The listener's HELLO on a new link @s (borrowed), stating who it is. */
void checkin_hello(int s);
/* Live peer links per uid and listener (CONN_MAX_PEERS_PER_UID or
 * $XPC_PEER_LINKS_PER_UID). */
size_t checkin_peer_links_per_uid(void);

/* ---- exit-flush.c ---- */

/* Lists an activated peer for the flush at exit, and takes it off when its
 * final INVALID is queued (both locked). */
void exit_track_locked(xpc_connection_t c);
void exit_untrack_locked(xpc_connection_t c);

/* ---- requirement.c ---- */

/* Checks the peer against c->requirement once, with the link up and the
 * peer's credentials known (locked).  Return: CONN_OK (met, or none to
 * meet), or CONN_E_REQUIREMENT with the detail in @why (@size bytes). */
ConnError requirement_check_locked(xpc_connection_t c, char *why, size_t size);
/* A listener's requirement for a peer it accepted (not yet shared). */
void requirement_inherit(xpc_connection_t listener, xpc_connection_t peer);
/* The systemd unit a cgroup path names (tests use it). */
bool requirement_cgroup_unit(const char *path, char *unit, size_t size);

/* ---- xpc-service.c ---- */

/* A named connection's check-in with the application's bundled service of
 * its name (docs/bundled-services.md; locked).  Return: false when the
 * program bundles no such service (ask the broker), true when it did
 * (the link is up, or the connection failed). */
bool xpc_service_checkin_locked(xpc_connection_t c);

/* ---- named-link.c: the broker link a named connection asks over ---- */

/* A broker as this process found it: its socket's path, kind, owner,
 * device, inode and mtime (xpcd moves the mtime on at every change of its
 * jobs; docs/services.md). */
typedef struct BrokerId {
	char path[256];
	bool valid;   /* the socket exists */
	bool system;  /* only root may answer (brokerlink_path) */
	uid_t owner;  /* of the socket file */
	dev_t dev;
	ino_t ino;
	struct timespec mtime;
} BrokerId;

typedef struct NamedLink NamedLink;

/* A link to the broker @id for one request: the one kept for it
 * (*ret_reused set), else a new one.  NULL with @why set (and *ret_e). */
NamedLink *named_link_get(const BrokerId *id, bool *ret_reused, char *why, size_t why_size, ConnError *ret_e);
xpc_connection_t named_link_conn(const NamedLink *l);

/* The text of a refusal the broker sent unasked on the link (it then
 * closes it), or NULL; borrowed.  Read it on the link's queue, after the
 * reply. */
const char *named_link_refused(const NamedLink *l);
/* The request is answered: the link is kept for its broker when @keep and
 * none is kept yet, else let go (unless it is the kept one, and alive). */
void named_link_done(NamedLink *l, bool keep);
/* Lets the kept link go, because it ended under a request (the broker
 * closes idle links). */
void named_link_drop(NamedLink *l);
/* Lets the kept link go and waits for its descriptor to close
 * (connection_forget_services). */
void named_link_forget(void);

/* ---- brokerlink.c: which broker, and a trusted link to it ---- */

/* The broker socket's path (docs/services.md, "Finding the broker");
 * *ret_system: only root may answer there. */
void brokerlink_path(bool privileged, char *buf, size_t size, bool *ret_system);
/* A connected link to a trusted broker at @path (root, or this user unless
 * @system), or -errno with @why set. */
int brokerlink_connect(const char *path, bool system, char *why, size_t why_size);
/* The broker a named connection asks (@privileged: the system one), as
 * found now: id->valid false when there is no socket. */
void brokerlink_id(bool privileged, BrokerId *id);
/* Whether @a and @b are the same broker, unchanged. */
bool brokerlink_same(const BrokerId *a, const BrokerId *b);
/* Whether a broker running as, or a socket owned by, @uid may answer. */
bool brokerlink_trusted(uid_t uid, bool system);
/* The reason a broker at @path that @what ("runs as", "is owned by")
 * @uid is refused, into @why. */
void brokerlink_untrusted(char *why, size_t size, const char *path, const char *what, uid_t uid, bool system);

#endif
