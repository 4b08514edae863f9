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
 * Locking: `lock` guards every mutable field below it.  Sending happens
 * under the lock (so frames leave in FIFO order); reading happens on the
 * serial `ioq` only.  Event-handler calls run on the serial `queue` (which
 * targets the user's target queue), so they never overlap.
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
#include "transport/transport.h"

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
/* A served peer's wait for the next request (io.c, conn_read_ready). */
#define CONN_LINGER_US 100

typedef enum { CONN_PEER = 1, CONN_LISTENER } ConnKind;
typedef enum { CONN_INACTIVE = 0, CONN_ACTIVE, CONN_DISCONNECTED, CONN_INVALID } ConnState;

typedef struct OutItem OutItem;
typedef struct Pending Pending;

struct _xpc_connection_s {
	struct xpc_object_s head;
	ConnKind kind;
	pthread_mutex_t lock;
	pthread_mutex_t rx_lock;  /* held by whoever reads the link */
	_Atomic size_t async_pending; /* handler calls queued, not yet run */
	dispatch_queue_t target; /* user's target queue (retained) or NULL */
	dispatch_queue_t queue;  /* serial: handler calls, barriers */
	dispatch_queue_t ioq;    /* serial: socket reading and writing */
	char *name;
	bool named;        /* mach-service client: INTERRUPTED semantics */
	bool privileged;   /* ... of the system broker only (MACH_SERVICE_PRIVILEGED) */
	bool from_endpoint; /* checks in over send_w on activation */
	bool want_listener; /* named service listener (XPCD_LISTEN_*) */
	bool xpc_service;   /* xpc_connection_create(NAME): a bundled service first (xpc-service.c) */
	/* --- under lock --- */
	ConnState state;
	bool cancelled;
	bool invalid_queued;    /* the final INVALID is queued: drop the rest */
	bool connecting;        /* lookup / check-in under way */
	bool got_hello;
	bool read_paused;
	bool rx_timeout;        /* the link's blocking receives time out (linger) */
	bool rx_timeout_lazy;   /* ... not set yet: at the first linger */
	bool peer_closed;       /* the link ends for the peer's EOF/reset: no shutdown() */
	unsigned suspend_count; /* user suspends after activation */
	int fd;                 /* the link, or R of a listener; -1 none */
	int send_w;             /* W: listener's own, or the endpoint's */
	dispatch_source_t rsrc, wsrc;
	bool wsrc_armed;
	xpc_handler_t handler_block;
	xpc_handler_f handler_fn;
	void *context;
	xpc_finalizer_t finalizer;
	OutItem *out_head, *out_tail;
	size_t unsent, unsent_fds;         /* what the out-queue holds */
	size_t max_unsent, max_unsent_fds; /* CONN_MAX_UNSENT*, or set by the broker */
	size_t out_bytes;       /* frame bytes in the out-queue */
	uint64_t last_send_ns;  /* when the last message went out (coalescing) */
	unsigned rapid_sends;   /* messages in a row sent soon after the one before */
	bool flush_scheduled;   /* conn_flush_async is queued on ioq */
	Pending *pending;
	size_t n_pending;
	uint64_t next_id;
	size_t unread;          /* bytes queued for the handler */
	bool have_creds;
	pid_t pid;
	uid_t uid;
	gid_t gid;
	int pidfd;              /* opened at the first get_pidfd (-1: not yet / none) */
	bool pidfd_tried;       /* ... which was made */
	bool creds_by_socket;   /* SO_PEERCRED: the peer made the link */
	char *reason;           /* invalidation reason, malloc'd */
	Charge *link_charge;    /* a listener's peer: its user's account there (a
				 * unit, given back when the link closes), or NULL */
	Charge *rx_charge;      /* received out-of-line bodies of this link */
	Charge **uid_accts;     /* a listener: per-uid accounts of live peer links */
	size_t n_uid_accts;
	xpc_peer_requirement_t requirement; /* requirement.c; set before activation */
	_Atomic bool requirement_met; /* ... checked and satisfied on this link (written
				       * under lock): nothing is sent to the peer before */
	TransportFrame *rx;     /* receive buffer, under rx_lock */
	bool rx_answered;       /* under rx_lock: last frame read was a request */
	dispatch_source_t sync_src; /* rsrc held suspended for sync callers */
	unsigned sync_active;       /* sync callers reading now */
	bool lazy_timer;            /* a lazy resume of sync_src is scheduled */
	ManagerTimer lazy_t;        /* ... by this timer (holds a reference) */
	DispatchItem lazy_item;     /* its fire: conn_lazy_resume on ioq */
	uint64_t last_sync_ns;      /* when the last sync call ended */
	/* exit-flush.c: the list of connections a normal exit flushes, under
	 * its own lock; exit_pid: the process that listed it, 0 not listed */
	struct _xpc_connection_s *exit_prev, *exit_next;
	pid_t exit_pid;
	/* not under lock: the link's reusable out-of-line memfd, taken by a
	 * sender with an atomic exchange (transport.h, staging) */
	TransportStage *_Atomic stage;
};

/* connection.c */
xpc_connection_t conn_new(ConnKind kind, dispatch_queue_t target);
void conn_lock(xpc_connection_t c);
void conn_unlock(xpc_connection_t c);
/* Queues a call of the event handler with @ev (+1, consumed) on c->queue;
 * @bytes are charged to `unread` until it ran. */
void conn_deliver(xpc_connection_t c, xpc_object_t ev, size_t bytes);
/* Calls the event handler with @ev (borrowed) now; on c->queue only. */
void conn_call_handler(xpc_connection_t c, xpc_object_t ev, bool final);
/* Ends the link: fails pending replies, discards unsent messages, delivers
 * INVALID (or INTERRUPTED for a named peer whose peer exited).  Locked. */
void conn_fail_locked(xpc_connection_t c, const char *reason, bool peer_exited);
/* Sends what coalescing holds back (locked; before cancelling). */
void conn_flush_coalesced_locked(xpc_connection_t c);
/* Starts the read source on c->fd (locked). */
int conn_start_link_locked(xpc_connection_t c);
void conn_set_creds_from_socket(xpc_connection_t c, int fd);
/* The peer's pidfd, opened on first use while the link is up (locked). */
int conn_pidfd_locked(xpc_connection_t c);

/* io.c */
void conn_read_ready(void *ctx);       /* rsrc handler of a peer */
void conn_listener_ready(void *ctx);   /* checkin.c: rsrc handler of a listener */
void conn_write_ready(void *ctx);      /* wsrc handler */
void conn_flush_locked(xpc_connection_t c);
void conn_discard_out_locked(xpc_connection_t c);
void conn_fail_pending_locked(xpc_connection_t c, xpc_object_t err);
/* checkin.c: makes a link and checks it in over @send_w (borrowed);
 * @wait: up to 5 s for room in the listener's backlog.  Return: 0 with
 * *ret_fd (ours), or a negative errno with *ret_reason. */
int conn_checkin(int send_w, bool wait, int *ret_fd, const char **ret_reason);
void conn_unread_done(xpc_connection_t c, size_t bytes);
/* A client link's read source @s, created suspended, starts held as if a
 * sync call had just ended (locked): see io.c. */
void conn_hold_first_read_locked(xpc_connection_t c, dispatch_source_t s);
/* Resumes sync_src if no sync caller needs it any more (locked). */
void conn_sync_release_locked(xpc_connection_t c, bool force_idle);
void conn_lazy_stop_locked(xpc_connection_t c); /* io.c: stops the lazy-resume timer */
/* A link came up: sync callers that waited for one read it (locked). */
void conn_sync_wake_locked(xpc_connection_t c);

/* exit-flush.c: lists an activated peer for the flush at exit, and takes
 * it off when its final INVALID is queued (both locked). */
void conn_exit_track_locked(xpc_connection_t c);
void conn_exit_untrack_locked(xpc_connection_t c);

/* checkin.c: live peer links per uid and listener (CONN_MAX_PEERS_PER_UID
 * or $XPC_PEER_LINKS_PER_UID). */
size_t conn_peer_links_per_uid(void);

/* requirement.c: checks the peer against c->requirement once (takes the
 * lock); false when it failed and the connection was failed with it. */
bool conn_requirement_admit(xpc_connection_t c);
/* The same, locked, with the link up (c->fd) and the peer's credentials
 * known; on success what the out-queue holds leaves. */
bool conn_requirement_admit_locked(xpc_connection_t c);
/* A listener's requirement for a peer it accepted (not yet shared). */
void conn_requirement_inherit(xpc_connection_t listener, xpc_connection_t peer);
/* The systemd unit a cgroup path names (tests use it). */
bool conn_requirement_cgroup_unit(const char *path, char *unit, size_t size);

/* service.c */
/* The broker socket's path (docs/services.md, "Finding the broker");
 * *ret_system: only root may answer there. */
void service_broker_path(bool privileged, char *buf, size_t size, bool *ret_system);
/* A connected link to a trusted broker at @path (root, or this user unless
 * @system), or -errno with @why set. */
int service_connect_broker(const char *path, bool system, char *why, size_t why_size);
void conn_service_lookup_start(xpc_connection_t c);
void conn_service_listener_start(xpc_connection_t c);

/* xpc-service.c: xpc_connection_create(NAME, q), and its check-in with the
 * application's bundled service NAME (docs/bundled-services.md).  Locked;
 * false when the program bundles no such service (ask the broker). */
xpc_connection_t conn_create_xpc_service(const char *name, dispatch_queue_t targetq);
bool conn_xpc_service_checkin_locked(xpc_connection_t c);

#endif
