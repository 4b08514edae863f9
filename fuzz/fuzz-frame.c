/*
 * fuzz-frame.c - fuzz target for frame decoding: the header, the body and
 * the descriptor list, through the real receive path.
 *
 * Input: byte 0 says what travels with the packet:
 *   bits 0-1  0-3 descriptors, each a fresh /dev/null
 *   bit 2     an out-of-line body: bytes 1-32 are the packet (a header),
 *             the rest is written to a memfd sent as the last descriptor
 *   bit 3     with bit 2: the memfd is left unsealed
 *   bit 4     with bit 2: the memfd is a sender's stage instead (body at
 *             TRANSPORT_STAGE_HDR, sealed against shrink and grow only)
 *             and the header says so (FRAME_F_OOL | FRAME_F_STAGED forced)
 *   bit 5     the receiving frame keeps the peer's stage mapped between
 *             frames (keep_view, as a link's reused frame does)
 *   bit 6     the check-in path: the packet is received as a listener's
 *             R receives it (an account of limit 0: no out-of-line body
 *             may come) and a CHECKIN's (or CHANNEL's) descriptor goes through
 *             transport_checkin_verify(); the descriptors sent (bits 0-1)
 *             are then of varied kinds, in turn from the kind that bits
 *             3, 4 and 7 name (k = bit3 + 2 bit4 + 4 bit7, mod 5): 0 a
 *             SEQPACKET socketpair end made here (a good link), 1 a
 *             SOCK_STREAM end, 2 a listening SEQPACKET socket, 3 an epoll
 *             descriptor, 4 /dev/null
 * Otherwise the rest is the packet.  It is sent over a SOCK_SEQPACKET
 * socketpair and received with transport_recv() (cmsg parsing, header
 * validation, seals and size of an out-of-line body); an accepted
 * MESSAGE/REPLY body is then decoded as the connection layer does:
 * wire_decode_message_in() for an out-of-line body (large data items point
 * into it), wire_decode_message_within() for an inline one (large data
 * items point into the packet's buffer); a BATCH body is split
 * with frame_next_in_batch() and each inner body decoded (each inner frame
 * must take at least a header and no more than what is left).  Invariants
 * checked by running it: no crash, no leak of memory or descriptors (every
 * descriptor not taken by a decoded object is closed by
 * frame_clear(); the descriptor count is compared before and
 * after each input).
 */
#include "fuzz.h"
#include "transport/unix/unix.h"
#include "wire/wire.h"

#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define OOL_PACKET FRAME_HEADER_SIZE

/* A memfd holding @body; sealed as a sender seals it unless @unsealed. */
static int make_body_fd(const uint8_t *body, size_t len, bool unsealed)
{
	struct iovec iov = {(void *)body, len};
	int fd;

	if (!unsealed)
		return transport_make_ool(&iov, 1, len);
	fd = memfd_create("fuzz-frame", MFD_CLOEXEC);
	if (fd >= 0 && len && write(fd, body, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A stage as stage.c makes one: header page, then @body, sealed against
 * shrinking and growing (not writing: the receiver marks it read). */
static int make_stage_fd(const uint8_t *body, size_t len)
{
	int fd = memfd_create("fuzz-stage", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0)
		return -1;
	if (ftruncate(fd, (off_t)(TRANSPORT_STAGE_HDR + len)) < 0 ||
	    (len && pwrite(fd, body, len, TRANSPORT_STAGE_HDR) != (ssize_t)len) ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void fuzz_send(int fd, const uint8_t *pkt, size_t len, int *fds, int n_fds)
{
	union {
		struct cmsghdr a;
		char b[CMSG_SPACE(sizeof(int) * 4)];
	} ctl;
	struct iovec iov = {(void *)pkt, len};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};

	if (n_fds) {
		m.msg_control = ctl.b;
		m.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n_fds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n_fds);
		for (int i = 0; i < n_fds; i++)
			((int *)(void *)CMSG_DATA(c))[i] = fds[i];
	}
	(void)sendmsg(fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* As receive.c does: large data items point into the packet's buffer
 * @in, the rest is copied.  What a decoded data item holds must be the
 * bytes of the packet, and the frame must not write into its buffer again
 * while the item lives (checked by the caller's next receive). */
static void decode_inline(ObjectBuffer *in, const uint8_t *body, size_t len, int *fds, size_t n_fds)
{
	xpc_object_t dict = NULL;

	if (wire_decode_message_within(in, body, len, fds, n_fds, &dict) == 0)
		xpc_release(dict);
}

/* As receive.c's receive_batch: inner frames one after another. */
static void split_batch(ObjectBuffer *in, const uint8_t *p, size_t left)
{
	int no_fds[1] = {-1};

	while (left > 0) {
		FrameHeader h;
		size_t n;
		if (frame_next_in_batch(p, left, &h, &n) != 0)
			return;
		if (n < FRAME_HEADER_SIZE || n > left || h.body_len != n - FRAME_HEADER_SIZE)
			fuzz_fail("frame_next_in_batch took %zu of %zu bytes (body %llu)", n, left,
				  (unsigned long long)h.body_len);
		decode_inline(in, p + FRAME_HEADER_SIZE, h.body_len, no_fds, 0);
		p += n;
		left -= (size_t)n;
	}
}

/* A descriptor of kind @k for the check-in path (see the header); the
 * other end of a pair goes to *ret_other (-1 if none). */
static int make_odd_fd(int k, int *ret_other)
{
	int sv[2] = {-1, -1}, fd = -1;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	*ret_other = -1;
	switch (k % 5) {
	case 0:
	case 1:
		if (socketpair(AF_UNIX, (k % 5 ? SOCK_STREAM : SOCK_SEQPACKET) | SOCK_CLOEXEC, 0, sv) < 0)
			return -1;
		*ret_other = sv[1];
		return sv[0];
	case 2: /* autobind (an abstract name of the kernel's), then listen */
		fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		if (fd >= 0 && (bind(fd, (struct sockaddr *)&sa, sizeof(sa_family_t)) < 0 || listen(fd, 1) < 0)) {
			close(fd);
			fd = -1;
		}
		return fd;
	case 3:
		return epoll_create1(EPOLL_CLOEXEC);
	default:
		return open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
}

static void receive(int fd, bool keep_view, bool checkin)
{
	static TransportFrame f;
	static Charge no_body = CHARGE_ROOT(0);
	int r;

	f.keep_view = keep_view && !checkin;
	f.charge = checkin ? &no_body : NULL;
	r = transport_recv(fd, &f);

	if (checkin) { /* as checkin.c's checkin_take */
		if (r == 0 && (f.hdr.kind == FRAME_CHECKIN || f.hdr.kind == FRAME_CHANNEL) && f.n_fds == 1)
			(void)transport_checkin_verify(&f, f.fds[0]); /* a CHANNEL's R: as a link */
		frame_clear(&f);
		if (charge_used(&no_body) != 0)
			fuzz_fail("a listener's frame took a body");
		return;
	}
	if (r == 0 && f.hdr.kind == FRAME_BATCH) {
		split_batch(f.pkt, f.body, f.hdr.body_len);
	} else if (r == 0 && (f.hdr.kind == FRAME_MESSAGE || f.hdr.kind == FRAME_REPLY)) {
		xpc_object_t dict = NULL;
		if (f.ool && wire_decode_message_in(f.ool, f.fds, f.n_fds, &dict) == 0)
			xpc_release(dict);
		else if (!f.ool)
			decode_inline(f.pkt, f.body, f.hdr.body_len, f.fds, f.n_fds);
	}
	frame_clear(&f);
	if (keep_view)
		frame_drop_view(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int sv[2], fds[4], others[4], n_fds, before = fuzz_count_fds();
	bool ool, stage, checkin;
	size_t pkt_len;
	uint8_t pkt[OOL_PACKET];
	const uint8_t *send_pkt;

	if (size < 1)
		return 0;
	ool = data[0] & 4;
	if (!ool && size > 1 + FRAME_HEADER_SIZE + FRAME_MAX_INLINE)
		return 0;
	pkt_len = ool && size - 1 > OOL_PACKET ? OOL_PACKET : size - 1;
	n_fds = data[0] & 3;
	stage = ool && (data[0] & 16);
	checkin = data[0] & 64;
	send_pkt = data + 1;
	if (stage && pkt_len == OOL_PACKET) { /* the header says: staged body */
		memcpy(pkt, data + 1, OOL_PACKET);
		pkt[offsetof(FrameHeader, flags)] |= FRAME_F_OOL | FRAME_F_STAGED;
		send_pkt = pkt;
	}
	for (int i = 0; i < 4; i++)
		others[i] = -1;
	for (int i = 0; i < n_fds; i++)
		fds[i] = checkin ? make_odd_fd(i + ((data[0] >> 3) & 3) + ((data[0] >> 5) & 4), &others[i]) : open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (ool && (fds[n_fds] = stage ? make_stage_fd(data + 1 + pkt_len, size - 1 - pkt_len)
				       : make_body_fd(data + 1 + pkt_len, size - 1 - pkt_len, data[0] & 8)) >= 0)
		n_fds++;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0) {
		transport_setup_socket(sv[1]);
		fuzz_send(sv[0], send_pkt, pkt_len, fds, n_fds);
		close(sv[0]);
		receive(sv[1], data[0] & 32, checkin);
		close(sv[1]);
	}
	for (int i = 0; i < n_fds; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	for (int i = 0; i < 4; i++)
		if (others[i] >= 0)
			close(others[i]);
	fuzz_check_fds(before, fuzz_count_fds(), "fuzz-frame");
	return 0;
}
