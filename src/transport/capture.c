/* SPDX-License-Identifier: MIT */
/*
 * capture.c - XPC_CAPTURE=FILE: every frame this process sends or
 * receives, appended to FILE as pcapng (src/shared/pcapng.h, link type
 * LINKTYPE_USER0) for Wireshark and tshark with tools/wireshark/xpc.lua.
 *
 * Opt-in per process: the variable is read once, with secure_getenv (a
 * set-uid program never writes one), "%p" in FILE becomes the pid.  The
 * file is opened on the first frame, O_APPEND | O_NOFOLLOW, created 0600
 * (an existing one must be a regular file of this euid, pcapng_open);
 * each process adds a section of its own, and every packet is one write(),
 * so processes may share one file.  A packet is the frame as on the wire:
 * the 32-byte header and the body (an out-of-line body read back from its
 * memfd, at most PCAPNG_SNAPLEN bytes kept), its direction in epb_flags,
 * and a comment "pid=P peer=Q fd=F" (this process, the other end's
 * SO_PEERCRED pid, the socket).  Descriptors are not captured, only
 * counted in the header.  A file that cannot be opened is said once on
 * stderr and capture stays off.  The cost when unset is one relaxed load
 * per frame.
 */
#include "transport/transport.h"
#include "shared/pcapng.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static atomic_int capture_fd = -2; /* -2 not looked at, -1 off */
static pthread_once_t capture_once = PTHREAD_ONCE_INIT;

/* FILE with "%p" replaced by the pid. */
static int capture_path(const char *spec, char *buf, size_t size)
{
	size_t n = 0;

	for (const char *p = spec; *p; p++) {
		int w = (p[0] == '%' && p[1] == 'p') ? snprintf(buf + n, size - n, "%d", (int)getpid())
						     : snprintf(buf + n, size - n, "%c", *p);
		if (w < 0 || (size_t)w >= size - n)
			return -ENAMETOOLONG;
		n += (size_t)w;
		p += (p[0] == '%' && p[1] == 'p');
	}
	return 0;
}

static void capture_open(void)
{
	const char *spec = secure_getenv("XPC_CAPTURE");
	char path[4096];
	int fd = -1, r;

	if (spec && *spec) {
		r = capture_path(spec, path, sizeof(path));
		fd = r < 0 ? r : pcapng_open(path, PCAPNG_LINKTYPE_XPC, "libxpc XPC_CAPTURE");
		if (fd < 0) {
			fprintf(stderr, "[xpc %d] XPC_CAPTURE=%s: %s; not capturing\n", (int)getpid(), spec, strerror(-fd));
			fd = -1;
		}
	}
	atomic_store(&capture_fd, fd);
}

bool transport_capture_enabled(void)
{
	int fd = atomic_load_explicit(&capture_fd, memory_order_relaxed);

	if (fd == -2) {
		pthread_once(&capture_once, capture_open);
		fd = atomic_load(&capture_fd);
	}
	return fd >= 0;
}

static void capture_write(int sock, uint32_t dir, const struct iovec *iov, size_t n_iov, size_t orig_len)
{
	struct ucred peer = {0};
	socklen_t len = sizeof(peer);
	char comment[96];

	getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &peer, &len);
	snprintf(comment, sizeof(comment), "pid=%d peer=%d fd=%d", (int)getpid(), (int)peer.pid, sock);
	/* a full disk or a closed file loses frames, never the message */
	(void)pcapng_write(atomic_load(&capture_fd), pcapng_now(), dir, comment, iov, n_iov, orig_len);
}

void transport_capture_sent(int sock, const FrameHeader *hdr, const struct iovec *body, size_t n_body, int ool_fd)
{
	struct iovec iov[65];
	size_t k = 0, keep = hdr->body_len < PCAPNG_SNAPLEN ? hdr->body_len : PCAPNG_SNAPLEN;
	uint8_t *copy = NULL;

	if (!transport_capture_enabled())
		return;
	iov[k++] = (struct iovec){(void *)hdr, sizeof(*hdr)};
	if (ool_fd >= 0) { /* the body from its memfd (a stage keeps it at 4096) */
		off_t at = (hdr->flags & FRAME_F_STAGED) ? 4096 : 0;
		copy = malloc(keep ? keep : 1);
		if (copy && pread(ool_fd, copy, keep, at) == (ssize_t)keep)
			iov[k++] = (struct iovec){copy, keep};
	} else {
		for (size_t i = 0; i < n_body && k < 65; i++)
			iov[k++] = body[i];
	}
	capture_write(sock, PCAPNG_OUTBOUND, iov, k, sizeof(*hdr) + hdr->body_len);
	free(copy);
}

void transport_capture_received(int sock, const TransportFrame *f)
{
	struct iovec iov[2] = {{(void *)&f->hdr, sizeof(f->hdr)}, {(void *)f->body, f->body ? f->hdr.body_len : 0}};

	if (transport_capture_enabled())
		capture_write(sock, PCAPNG_INBOUND, iov, 2, sizeof(f->hdr) + f->hdr.body_len);
}
