/* SPDX-License-Identifier: MIT */
/*
 * unix.h - the unix transport: frames over one AF_UNIX SOCK_SEQPACKET
 * socket per link: descriptors
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
 *
 * The connection layer drives a link through unix_link_ops (link.c); the
 * functions below are this transport's own face: the check-in protocol
 * and listener pairs (named services, endpoints), and the raw frame calls
 * that tests and fuzzers use on sockets they made by hand.
 */
#ifndef XPC_TRANSPORT_UNIX_UNIX_H
#define XPC_TRANSPORT_UNIX_UNIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "transport/transport.h"



/*
 * transport_recv() - receive one frame.
 * @fd:  borrowed socket
 * @f:   filled on 0; release it with frame_clear()
 * Return: 0, -EAGAIN (nothing to read), TRANSPORT_E_EOF, another
 *         TRANSPORT_E_* (the frame is refused: error.h), or a negative
 *         errno (the link is unusable: ECONNRESET ...).
 */
int transport_recv(int fd, TransportFrame *f);

/* The same, but waits for a frame (the descriptor is never O_NONBLOCK):
 * one system call where "try, poll, receive" takes three.  shutdown() of
 * the socket by another thread ends the wait (TRANSPORT_E_EOF). */
int transport_recv_wait(int fd, TransportFrame *f);

/* transport_recv() (or, @wait, _wait()) into @a, plus a second frame into
 * @b if one is queued behind it, in one recvmmsg: *ret_b is 0 (@b holds
 * it), -EAGAIN (none: the socket was empty after @a), -ENODATA (@a was
 * read alone: no memory for @b's buffer) or what
 * transport_recv() would have returned for it (clear @b then too).  After
 * a failure of @a, @b holds nothing and *ret_b is -EAGAIN. */
int transport_recv_two(int fd, TransportFrame *a, TransportFrame *b, bool wait, int *ret_b);


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
 * transport_take_body() - the out-of-line body of the received frame @f
 * (its last descriptor, a memfd: checked, charged, copied into f->ool and
 * closed; ool.c).
 * Return: 0, a TRANSPORT_E_* code or a negative errno.
 */
int transport_take_body(TransportFrame *f);

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
 * FRAME_F_STAGED; the receiver copies the body out and writes 0 there,
 * and at TRANSPORT_STAGE_CPU 1 + the CPU it copied on (a hint: stage.c).
 */
#define TRANSPORT_STAGE_HDR 4096u
#define TRANSPORT_STAGE_CPU 8u
#define TRANSPORT_STAGE_MAX ((size_t)80 << 20) /* bodies staged at most */

/*
 * stage_write() - write an out-of-line body into the link's stage.
 * @slot:    the link's stage (NULL until the first use); while one sender
 *           writes into it, the others get -EBUSY
 * @iov, @n, @len: the body's pieces and their total
 * Return: a new descriptor of the stage (close-on-exec, owned by the
 *         caller; send it with FRAME_F_STAGED), or a negative errno when
 *         the stage cannot take it (the previous body is unread: -EBUSY;
 *         too large, limits, no memory): then use transport_make_ool().
 */
int stage_write(TransportStage *_Atomic *slot, const struct iovec *iov, size_t n, size_t len);

/* Frees the link's stage (when the link ends; the receiver's descriptor,
 * if it still has one, keeps the memfd alive on its side). */
void stage_drop(TransportStage *_Atomic *slot);


/*
 * transport_send_checkin() - send a CHECKIN frame carrying @s over @w,
 * stating this process's pid, euid and egid (SCM_CREDENTIALS).
 * @w, @s: borrowed
 * Return: 0, -EAGAIN (the listener's backlog is full), or a negative errno.
 */
int transport_send_checkin(int w, int s);

/*
 * transport_forward_checkin() - the broker's CHECKIN frame carrying a
 * client's link @s over @w, stating @as (the ids of the process that made
 * @s: transport_checkin_verify) instead of the sender's own.  Needs
 * CAP_SYS_ADMIN, CAP_SETUID and CAP_SETGID.
 * Return: 0, -EAGAIN (the listener's backlog is full), -EPERM (these ids
 * cannot be stated here), or a negative errno.
 */
int transport_forward_checkin(int w, int s, const TransportCreds *as);

/*
 * transport_send_channel() - a CHANNEL frame over @w (a listener's W)
 * carrying @r, the R of another channel of that listener for @uid's
 * check-ins, stating this process's ids (the listener takes it from root
 * or its own user only).  @w, @r: borrowed.
 * Return: 0, -EAGAIN (the listener's backlog is full), or a negative errno.
 */
int transport_send_channel(int w, int r, uint32_t uid);

/* transport_send_hello() - the listener's HELLO on a new link @s
 * (borrowed), stating this process's pid, euid and egid: what the client
 * records as its peer's identity.  Return: as transport_send_checkin. */
int transport_send_hello(int s);

/* transport_send_refusal() - a REFUSED frame on the new link @s
 * (borrowed) instead of the HELLO: the check-in is refused for @why
 * (cut to FRAME_MAX_REFUSAL bytes), which the client reports as its
 * connection's invalidation reason.  Return: as transport_send_checkin. */
int transport_send_refusal(int s, const char *why);

/*
 * transport_checkin_verify() - is @s, the descriptor of the CHECKIN frame
 * @f (received with credentials), a link its sender made?  It must be a
 * connected AF_UNIX SOCK_SEQPACKET socket, not listening, whose
 * SO_PEERCRED (pid, euid, egid of the process that made it) equals the
 * packet's SCM_CREDENTIALS.
 * Return: 0, or a TRANSPORT_E_CHECKIN_*.
 */
int transport_checkin_verify(const TransportFrame *f, int s);

/*
 * transport_link_abandoned() - is @s (borrowed: a link carried by a
 * check-in, looked at before the listener reads it) one whose client is
 * gone and left no message to deliver: its other end is closed and none
 * of the frames queued on it is a message that wants no reply (requests
 * of a client that is gone have nobody to answer).  The frames stay
 * queued.  xpcd launches no job for such a check-in.
 */
bool transport_link_abandoned(int s);

/* Sets SO_PASSCRED on a socket so that received frames carry credentials. */
int transport_setup_socket(int fd);

/* Clears SO_PASSCRED once the peer's identity is known: the kernel then
 * stops attaching credentials to every packet (it does while either end
 * asks), which costs on every send and receive. */
int transport_stop_creds(int fd);
/* Makes a blocking receive on @fd give up (EAGAIN) after @us microseconds,
 * which the kernel rounds up to a clock tick (1-4 ms).  0 or -errno. */
int transport_set_recv_timeout(int fd, long us);

/* ---- link.c: links for the connection layer ---- */

extern const TransportOps unix_link_ops;

/* A link over the connected socket @fd (borrowed: the link's owner closes
 * it); fd -1 makes an empty link. */
void unix_link_init(TransportLink *l, int fd);

/* A listener pair (R, W): SOCK_SEQPACKET, close-on-exec, both ends asking
 * for credentials.  0 or -errno. */
int unix_link_pair(int sv[2]);

/*
 * unix_link_checkin() - a new link, checked in over @send_w (borrowed): a
 * pair (c, s) whose s goes in a CHECKIN frame stating this process's
 * pid, euid and egid; c asks for the credentials of the HELLO.
 * @wait: up to 5 s for room in the listener's backlog
 * Return: c (owned by the caller), -EAGAIN (the backlog stayed full),
 *         -EMFILE/-ENFILE (no descriptor for the pair), or -ECONNREFUSED
 *         (no listener took it).
 */
int unix_link_checkin(int send_w, bool wait);

/* A link to the AF_UNIX socket at @path (connected, close-on-exec) and the
 * peer's credentials (SO_PEERCRED).  Return: the descriptor, or -errno
 * (-ENAMETOOLONG, or connect's; -ENODATA: no credentials). */
int unix_link_connect(const char *path, TransportCreds *ret_peer);

#endif
