/*
 * transport.h - frames over one AF_UNIX SOCK_SEQPACKET socket: descriptors
 * (SCM_RIGHTS), kernel-checked credentials (SCM_CREDENTIALS) and bodies too
 * large for one packet in a sealed memfd (docs/transport.md).
 *
 * Sending never blocks (MSG_DONTWAIT | MSG_NOSIGNAL): -EAGAIN tells the
 * caller to queue and wait for the socket to become writable.  Receiving is
 * strict: a packet that was truncated (MSG_TRUNC), whose control data was
 * truncated (MSG_CTRUNC), whose header is inconsistent or whose out-of-line
 * memfd is not sealed is a protocol violation; every descriptor that came
 * with it is closed.  Every received descriptor is close-on-exec
 * (MSG_CMSG_CLOEXEC).
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
	 * transport_rx_account()); one with limit 0 refuses every body. */
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
	 * transport_frame_drop_view(). */
	bool keep_view;
	struct {
		const uint8_t *map; /* NULL: none */
		size_t size;
		dev_t dev;
		ino_t ino;
	} view;
	/* private */
	uint8_t pkt[FRAME_HEADER_SIZE + FRAME_MAX_INLINE];
} TransportFrame;

/*
 * transport_recv() - receive one frame.
 * @fd:  borrowed socket
 * @f:   filled on 0; release it with transport_frame_clear()
 * Return: 0, -EAGAIN (nothing to read), TRANSPORT_E_EOF, another
 *         TRANSPORT_E_* (the frame is refused: error.h), or a negative
 *         errno (the link is unusable: ECONNRESET ...).
 */
int transport_recv(int fd, TransportFrame *f);

/* The same, but waits for a frame (the descriptor is never O_NONBLOCK):
 * one system call where "try, poll, receive" takes three.  shutdown() of
 * the socket by another thread ends the wait (TRANSPORT_E_EOF). */
int transport_recv_wait(int fd, TransportFrame *f);

/* Closes the descriptors not taken, drops the reference on an out-of-line
 * body. */
void transport_frame_clear(TransportFrame *f);

/* Unmaps the peer's stage kept by a keep_view frame (fine without one). */
void transport_frame_drop_view(TransportFrame *f);

/*
 * transport_send() - send one frame without blocking.
 * @fd:   borrowed socket
 * @hdr:  kind, flags (WANTS_REPLY only), id, reply_to; n_fds, body_len and
 *        FRAME_F_OOL are filled in here
 * @body, @len:  the encoded body (may be empty)
 * @fds, @n_fds: borrowed descriptors, sent in order
 * Return: 0, -EAGAIN (nothing was sent; retry when writable), -E2BIG
 *         (limit), -EPIPE/-ECONNRESET (peer gone), or another negative errno.
 */
int transport_send(int fd, FrameHeader *hdr, const void *body, size_t len, const int *fds, size_t n_fds);

/*
 * transport_make_ool() - the sealed memfd of an out-of-line body.
 * @iov, @n: the body's pieces, in order; @len: their total
 *           (FRAME_MAX_INLINE < @len <= FRAME_MAX_BODY)
 * Return: the memfd (close-on-exec, owned by the caller), or a negative errno.
 */
int transport_make_ool(const struct iovec *iov, size_t n, size_t len);

/*
 * transport_sendv() - transport_send() with the body in pieces.
 * @iov, @n, @len: an inline body (@len <= FRAME_MAX_INLINE); or, with
 *                 @ool_fd >= 0, the length of the out-of-line body in
 *                 @ool_fd (from transport_make_ool, or a stage with
 *                 FRAME_F_STAGED in @hdr->flags; borrowed), sent after
 *                 @fds (@iov unused)
 */
int transport_sendv(int fd, FrameHeader *hdr, const struct iovec *iov, size_t n, size_t len, const int *fds,
		    size_t n_fds, int ool_fd);

/*
 * Staging (stage.c): a link's reusable out-of-line memfd, sealed against
 * shrinking and growing only, the body at TRANSPORT_STAGE_HDR; its first
 * 8 bytes are 1 while a body in it is unread.  Frames using it carry
 * FRAME_F_STAGED; the receiver copies the body out and writes 0 there.
 */
typedef struct TransportStage TransportStage;
#define TRANSPORT_STAGE_HDR 4096u
#define TRANSPORT_STAGE_MAX ((size_t)80 << 20) /* bodies staged at most */

/*
 * transport_stage_write() - write an out-of-line body into the link's stage.
 * @slot:    the link's stage (NULL until the first use); while one sender
 *           writes into it, the others get -EBUSY
 * @iov, @n, @len: the body's pieces and their total
 * Return: a new descriptor of the stage (close-on-exec, owned by the
 *         caller; send it with FRAME_F_STAGED), or a negative errno when
 *         the stage cannot take it (the previous body is unread: -EBUSY;
 *         too large, limits, no memory): then use transport_make_ool().
 */
int transport_stage_write(TransportStage *_Atomic *slot, const struct iovec *iov, size_t n, size_t len);

/* Frees the link's stage (when the link ends; the receiver's descriptor,
 * if it still has one, keeps the memfd alive on its side). */
void transport_stage_drop(TransportStage *_Atomic *slot);

/* The process-wide account of received out-of-line bodies (its limit:
 * TRANSPORT_RX_PROCESS_MAX or $XPC_RECEIVE_MEMORY_MAX bytes). */
Charge *transport_rx_account(void);

/*
 * transport_send_checkin() - send a CHECKIN frame carrying @s over @w,
 * stating this process's pid, euid and egid (SCM_CREDENTIALS).
 * @w, @s: borrowed
 * Return: 0, -EAGAIN (the listener's backlog is full), or a negative errno.
 */
int transport_send_checkin(int w, int s);

/* transport_send_hello() - the listener's HELLO on a new link @s
 * (borrowed), stating this process's pid, euid and egid: what the client
 * records as its peer's identity.  Return: as transport_send_checkin. */
int transport_send_hello(int s);

/*
 * transport_checkin_verify() - is @s, the descriptor of the CHECKIN frame
 * @f (received with credentials), a link its sender made?  It must be a
 * connected AF_UNIX SOCK_SEQPACKET socket, not listening, whose
 * SO_PEERCRED (pid, euid, egid of the process that made it) equals the
 * packet's SCM_CREDENTIALS.
 * Return: 0, or a TRANSPORT_E_CHECKIN_*.
 */
int transport_checkin_verify(const TransportFrame *f, int s);

/* Sets SO_PASSCRED on a socket so that received frames carry credentials. */
int transport_setup_socket(int fd);

/* Clears SO_PASSCRED once the peer's identity is known: the kernel then
 * stops attaching credentials to every packet (it does while either end
 * asks), which costs on every send and receive. */
int transport_stop_creds(int fd);
/* Makes a blocking receive on @fd give up (EAGAIN) after @us microseconds,
 * which the kernel rounds up to a clock tick (1-4 ms).  0 or -errno. */
int transport_set_recv_timeout(int fd, long us);

/* capture.c: XPC_CAPTURE=FILE, every frame as pcapng (xpc-debug(7)).
 * The header passed is the one sent (magic, lengths filled in). */
bool transport_capture_enabled(void);
void transport_capture_sent(int sock, const FrameHeader *hdr, const struct iovec *body, size_t n_body, int ool_fd);
void transport_capture_received(int sock, const TransportFrame *f);

#endif
