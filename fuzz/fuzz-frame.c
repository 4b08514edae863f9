/*
 * fuzz-frame.c - fuzz target for frame decoding: the header, the body and
 * the descriptor list, through the real receive path.
 *
 * Input: byte 0 selects how many descriptors travel with the packet (0-3,
 * each a fresh /dev/null), the rest is the packet.  It is sent over a
 * SOCK_SEQPACKET socketpair and received with transport_recv() (cmsg
 * parsing, header validation); an accepted MESSAGE/REPLY body is then
 * decoded with wire_decode_message().  Invariants checked by running it:
 * no crash, no leak of memory or descriptors (every descriptor not taken by
 * a decoded object is closed by transport_frame_clear(); the descriptor
 * count is compared before and after each input).
 */
#include "fuzz.h"
#include "transport/transport.h"
#include "wire/wire.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static void fuzz_send(int fd, const uint8_t *pkt, size_t len, int n_fds)
{
	int fds[3];
	union {
		struct cmsghdr a;
		char b[CMSG_SPACE(sizeof(fds))];
	} ctl;
	struct iovec iov = {(void *)pkt, len};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};

	for (int i = 0; i < n_fds; i++)
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
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
	for (int i = 0; i < n_fds; i++)
		close(fds[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static TransportFrame f;
	const char *why = NULL;
	int sv[2], before = fuzz_count_fds();

	if (size < 1 || size > FRAME_HEADER_SIZE + FRAME_MAX_INLINE)
		return 0;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return 0;
	transport_setup_socket(sv[1]);
	fuzz_send(sv[0], data + 1, size - 1, data[0] & 3);
	close(sv[0]);
	int r = transport_recv(sv[1], &f, &why);
	if (r == 0 && (f.hdr.kind == FRAME_MESSAGE || f.hdr.kind == FRAME_REPLY)) {
		xpc_object_t dict = NULL;
		if (wire_decode_message(f.body, f.hdr.body_len, f.fds, f.n_fds, &dict) == 0)
			xpc_release(dict);
	}
	transport_frame_clear(&f);
	close(sv[1]);
	fuzz_check_fds(before, fuzz_count_fds(), "fuzz-frame");
	return 0;
}
