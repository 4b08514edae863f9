/* SPDX-License-Identifier: MIT */
/*
 * transport.h - the transport as the connection layer sees it: a link
 * owned by a transport, driven through the transport's ops table (the
 * model of nng's src/sp/transport.h).
 *
 * A link carries frames (frame.h): send one, receive one (waiting or
 * not), learn who the peer is, end it.  Every link has a descriptor that
 * polls readable when a frame may be there and writable when one may
 * leave (`fd`): the connection watches it with dispatch sources.  What a
 * transport can carry besides bytes is in its capabilities: descriptors,
 * credentials the kernel checked, bodies too large for one packet.
 *
 * Transports: src/transport/unix/ (one AF_UNIX SOCK_SEQPACKET socket per
 * link; its own face, for check-ins and listener pairs: unix/unix.h).  The
 * transport between hosts, RemoteXPC over HTTP/2, is the sibling folder
 * src/transport/remote/; it does not drive links through these ops yet:
 * it is its own library above the connection layer and bridges each
 * HTTP/2 stream to a local connection over a unix link (docs/remote.md).
 *
 * Returns: 0, negative errnos, and the transport's positive outcomes
 * (TRANSPORT_E_*, error.h), which the connection layer turns into its own.
 */
#ifndef XPC_TRANSPORT_TRANSPORT_H
#define XPC_TRANSPORT_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "object/object.h"
#include "shared/charge.h"
#include "transport/error.h"
#include "transport/frame.h"

/* Received out-of-line bodies held at once by a process, by default
 * (XPC_RECEIVE_MEMORY_MAX overrides it; docs/security.md). */
#define TRANSPORT_RX_PROCESS_MAX ((size_t)1 << 30)

typedef struct TransportFrame {
	FrameHeader hdr;
	const uint8_t *body; /* hdr.body_len bytes, inline buffer or mapping */
	int fds[FRAME_MAX_FDS]; /* owned; consumers set taken ones to -1 */
	size_t n_fds;          /* body descriptors (the OOL memfd excluded) */
	/* The account out-of-line bodies received into this frame are
	 * charged to until released (NULL: the process's,
	 * frame_rx_account()); one with limit 0 refuses every body. */
	Charge *charge;
	bool has_creds;
	pid_t pid;
	uid_t uid;
	gid_t gid;
	/* An out-of-line body: copied out of the sealed memfd into this buffer
	 * (body points at its bytes); consumers may retain it. */
	ObjectBuffer *ool;
	/* Set by the owner of a frame reused for every receive of a link: the
	 * peer's stage then stays mapped (read-only) from one frame to the
	 * next and staged bodies are copied with memcpy, not pread (a
	 * page-cache lookup per 4 KiB).  Zero-initialize view; unmap it with
	 * frame_drop_view(). */
	bool keep_view;
	struct {
		const uint8_t *map; /* NULL: none */
		size_t size;
		dev_t dev;
		ino_t ino;
	} view;
	/* The buffer packets are received into (FRAME_PACKET_MAX bytes; made
	 * at the first receive and kept: release it with frame_release()).
	 * An inline body lies in it: consumers may decode objects that point
	 * into it (wire_decode_message_within) and so hold references; the
	 * next receive then takes a fresh buffer rather than write into one
	 * that is still referenced. */
	ObjectBuffer *pkt;
} TransportFrame;

/* The largest packet: a header and the largest inline body. */
#define FRAME_PACKET_MAX (FRAME_HEADER_SIZE + FRAME_MAX_INLINE)

/* What a link can carry besides bytes (TransportOps.caps). */
enum {
	TRANSPORT_CAP_FDS = 1u << 0,   /* descriptors travel with frames */
	TRANSPORT_CAP_CREDS = 1u << 1, /* the peer's pid/uid/gid come from the kernel */
	TRANSPORT_CAP_OOL = 1u << 2,   /* bodies over FRAME_MAX_INLINE go out of line */
};

typedef struct TransportStage TransportStage;
typedef struct TransportRing TransportRing;
typedef struct TransportLink TransportLink;

/* The peer's identity as the kernel gives it. */
typedef struct TransportCreds {
	pid_t pid;
	uid_t uid;
	gid_t gid;
} TransportCreds;

typedef struct TransportOps {
	const char *name;
	unsigned caps; /* TRANSPORT_CAP_* */
	/*
	 * send() - one frame, never blocking.
	 * @hdr: kind, flags (WANTS_REPLY, STAGED), id, reply_to; the rest is
	 *       filled in
	 * @iov, @n, @len: an inline body; or, with @ool_fd >= 0 (from body()),
	 *       the length of the out-of-line body in it
	 * @fds, @n_fds: borrowed descriptors, sent in order
	 * Return: 0, -EAGAIN (nothing was sent: wait until writable), -E2BIG,
	 *         -EPIPE/-ECONNRESET (peer gone), or another negative errno.
	 */
	int (*send)(TransportLink *l, FrameHeader *hdr, const struct iovec *iov, size_t n, size_t len,
		    const int *fds, size_t n_fds, int ool_fd);
	/* recv() - one frame into @f (release it with frame_clear);
	 * @wait: block until one comes (ended by shutdown: TRANSPORT_E_EOF,
	 * or by the link's receive timeout: -EAGAIN).  Return: 0, -EAGAIN,
	 * TRANSPORT_E_* (TRANSPORT_E_EOF: the peer's end), or -errno. */
	int (*recv)(TransportLink *l, TransportFrame *f, bool wait);
	/* recv_two() - recv() into @f, and in the same call a second frame
	 * into @f2 if one is queued already: *ret_2 is 0 (@f2 holds it),
	 * -EAGAIN (none: the link was empty after @f; a reader of an
	 * edge-triggered source stops there), -ENODATA (@f was read alone,
	 * nothing is known behind it) or @f2's failure as recv() would
	 * return it (clear @f2 then too).  After a failure of @f, @f2 holds
	 * nothing and *ret_2 is -EAGAIN.  NULL: the transport has only recv(). */
	int (*recv_two)(TransportLink *l, TransportFrame *f, TransportFrame *f2, bool wait, int *ret_2);
	/* Waits up to @timeout_us for a frame to read; true if one may be there. */
	bool (*wait_readable)(TransportLink *l, long timeout_us);
	/* Makes a waiting recv() give up after about @us.  0 or -errno. */
	int (*set_recv_timeout)(TransportLink *l, long us);
	/* The peer is known: frames need not carry credentials any more. */
	int (*stop_creds)(TransportLink *l);
	/* The process that made the link's other end (TRANSPORT_CAP_CREDS):
	 * 0, or -errno when the transport cannot say. */
	int (*peer_creds)(TransportLink *l, TransportCreds *ret);
	/* A pidfd of that process (owned by the caller), or -1. */
	int (*peer_pidfd)(TransportLink *l);
	/* That process's LSM context into @buf (@size bytes, NUL-terminated):
	 * its length, or -errno. */
	ssize_t (*peer_label)(TransportLink *l, char *buf, size_t size);
	/* Whether the peer's end is closed (a hang-up is pending). */
	bool (*peer_gone)(TransportLink *l);
	/*
	 * body() - a body too large for one packet, out of line
	 * (TRANSPORT_CAP_OOL): @iov, @n, @len its pieces; sets what the frame
	 * must say in *flags.  Return: a descriptor to pass to send() as
	 * @ool_fd (owned by the caller), or -errno.
	 */
	int (*body)(TransportLink *l, const struct iovec *iov, size_t n, size_t len, uint8_t *flags);
	/* Wakes a thread blocked in recv() on the link: it sees the end. */
	void (*shutdown)(TransportLink *l);
	/* Drops what the link kept between frames (its stage): it ends. */
	void (*reset)(TransportLink *l);
	/* A reader that stops after one frame asks whether more may wait
	 * that the descriptor's readiness does not show (a shared ring's:
	 * src/transport/ring/).  NULL: the descriptor shows all. */
	bool (*more)(TransportLink *l);
} TransportOps;

/* A link: owned by its transport (ops); fd -1: no link. */
struct TransportLink {
	const TransportOps *ops;
	int fd;
	/* the unix transport's reusable out-of-line memfd, taken by a sender
	 * with an atomic exchange (unix/stage.c); not under any lock */
	TransportStage *_Atomic stage;
	/* a ring link's rings (src/transport/ring/ring.h): NULL on others */
	TransportRing *ring;
};

/* A copy of @l to read, wait on, check or shut down outside the lock that
 * guards @l: its ops, descriptor and ring (a reader's), never its stage
 * (only the original sends staged bodies, and the stage is exchanged
 * atomically). */
static inline TransportLink transport_link_view(const TransportLink *l)
{
	return (TransportLink){.ops = l->ops, .fd = l->fd, .stage = NULL, .ring = l->ring};
}

/* @f's packet buffer (FRAME_PACKET_MAX bytes), ready to be written: a
 * fresh one if decoded objects still hold the last (NULL: no memory). */
uint8_t *frame_packet_buffer(TransportFrame *f);

/* Closes the descriptors not taken, drops the reference on an out-of-line
 * body. */
void frame_clear(TransportFrame *f);

/* Makes @f hold nothing (no descriptor, body, credentials) without
 * looking at what it held: a receive does it first, so that the caller's
 * frame_clear() after any failure closes and frees nothing (the
 * connection layer's frames may come straight from malloc). */
void frame_empty(TransportFrame *f);

/* Swaps what @a and @b hold (header, body, descriptors, credentials,
 * buffers), not their account nor their view. */
void frame_swap(TransportFrame *a, TransportFrame *b);

/* Unmaps the peer's stage kept by a keep_view frame (fine without one). */
void frame_drop_view(TransportFrame *f);

/* What a frame keeps between receives (its view, its packet buffer): call
 * before freeing a frame; it may be used again after. */
void frame_release(TransportFrame *f);

/* The process-wide account of received out-of-line bodies (its limit:
 * TRANSPORT_RX_PROCESS_MAX or $XPC_RECEIVE_MEMORY_MAX bytes). */
Charge *frame_rx_account(void);

/* capture.c: XPC_CAPTURE=FILE, every frame as pcapng (xpc-debug(7)).
 * The header passed is the one sent (magic, lengths filled in). */
bool transport_capture_enabled(void);
void transport_capture_sent(int sock, const FrameHeader *hdr, const struct iovec *body, size_t n_body, int ool_fd);
void transport_capture_received(int sock, const TransportFrame *f);

#endif
