/* SPDX-License-Identifier: MIT */
/*
 * ool.c - out-of-line bodies: a frame's body in a sealed memfd, made by the
 * sender (transport_make_ool) and taken by the receiver
 * (transport_take_body, from seqpacket.c's receive).
 *
 * The sender writes the body into a fresh memfd
 * (MFD_CLOEXEC | MFD_ALLOW_SEALING) straight from its pieces (large data is
 * not copied into the encoding first: wire.h, WireRef), seals it against
 * writing, growing and shrinking (and further sealing) and sends it as the
 * last descriptor.  The receiver checks the seals with F_GET_SEALS and the
 * size with fstat, then copies the body with pread into a buffer of its own
 * (ObjectBuffer: huge pages), closes the memfd at once, and decodes data
 * items in place in that buffer.  So no sender can change a byte the
 * receiver reads, and reading the received data later costs no 4 KiB page
 * faults on shared memory (docs/transport.md has the measurements).  The
 * copy is charged to an account (TransportFrame.charge, under the
 * process's) until its buffer is released: refused over a limit before
 * anything is allocated, since a body of holes costs its sender nothing.
 * A body copied out of a stage is marked read there, with the CPU this
 * copy ran on as a hint for the sender's next write (stage.c).
 */
#include "transport/unix/unix.h"
#include "shared/charge.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define TRANSPORT_SEALS (F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK)

/* pwrite of all @len bytes at @off; 0 or -1 (errno set). */
static int transport_pwrite_all(int fd, const uint8_t *p, size_t len, size_t off)
{
	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		p += n;
		off += (size_t)n;
		len -= (size_t)n;
	}
	return 0;
}

int transport_make_ool(const struct iovec *iov, size_t n, size_t len)
{
	size_t off = 0;
	int fd, err;

	if (len > FRAME_MAX_BODY)
		return -E2BIG;
	fd = memfd_create("xpc-body", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)len) < 0)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		if (iov[i].iov_len > len - off) {
			errno = EINVAL;
			goto fail;
		}
		if (transport_pwrite_all(fd, iov[i].iov_base, iov[i].iov_len, off) < 0)
			goto fail;
		off += iov[i].iov_len;
	}
	if (off != len) {
		errno = EINVAL;
		goto fail;
	}
	if (fcntl(fd, F_ADD_SEALS, TRANSPORT_SEALS | F_SEAL_SEAL) < 0)
		goto fail;
	return fd;
fail:
	err = errno;
	close(fd);
	return err ? -err : -EIO;
}

/* pread of all @len bytes at @off: 0, or -1 (a short file, or an error). */
static int transport_pread_all(int fd, uint8_t *p, size_t len, size_t off)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, p + got, len - got, (off_t)(off + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

/*
 * Checks an out-of-line memfd before a byte of it is read: a sealed body
 * must be sealed against writing, shrinking and growing and have exactly
 * body_len bytes; a stage (FRAME_F_STAGED) need not be sealed against
 * writing (its body is copied) but against shrinking and growing, and must
 * hold its header and body_len bytes.  Nothing is ever mapped, so a memfd
 * that lies about its size cannot fault the receiver: it is refused.
 */
static int transport_check_ool(int memfd, const FrameHeader *h, struct stat *st)
{
	bool staged = h->flags & FRAME_F_STAGED;
	int need = staged ? F_SEAL_SHRINK | F_SEAL_GROW : TRANSPORT_SEALS;
	int seals = fcntl(memfd, F_GET_SEALS);

	if (seals < 0 || (seals & need) != need)
		return TRANSPORT_E_OOL_NOT_SEALED;
	if (fstat(memfd, st) < 0 || st->st_size < 0 ||
	    (staged ? (uint64_t)st->st_size < TRANSPORT_STAGE_HDR + h->body_len
		    : (uint64_t)st->st_size != h->body_len))
		return TRANSPORT_E_OOL_SIZE;
	return 0;
}


/* A stage is never larger than this (stage.c rounds to 2 MiB). */
#define TRANSPORT_VIEW_MAX (TRANSPORT_STAGE_HDR + TRANSPORT_STAGE_MAX + (2u << 20))

/*
 * The peer's stage @memfd mapped read-only, kept in @f between frames (the
 * same memfd comes with every staged frame of a link), or NULL: pread it.
 * Safe to read: sealed against shrinking (checked), so no page of it can
 * go away under the mapping.  Only a stage with all its pages allocated is
 * mapped (a real one is: the sender populates it): reading a hole through
 * a mapping would allocate a page, charged to this process, where pread
 * reads zeros for nothing.
 */
static const uint8_t *transport_view(TransportFrame *f, int memfd, const struct stat *st)
{
	void *p;

	if (!f->keep_view || (uint64_t)st->st_size > TRANSPORT_VIEW_MAX ||
	    (uint64_t)st->st_blocks * 512u < (uint64_t)st->st_size)
		return NULL;
	if (f->view.map && f->view.dev == st->st_dev && f->view.ino == st->st_ino &&
	    f->view.size == (size_t)st->st_size)
		return f->view.map;
	frame_drop_view(f);
	p = mmap(NULL, (size_t)st->st_size, PROT_READ, MAP_SHARED, memfd, 0);
	if (p == MAP_FAILED)
		return NULL;
	f->view.map = p;
	f->view.size = (size_t)st->st_size;
	f->view.dev = st->st_dev;
	f->view.ino = st->st_ino;
	return p;
}

/* Copies the body out of @memfd into f->ool. */
static int transport_copy_body(TransportFrame *f, int memfd, const struct stat *st)
{
	bool staged = f->hdr.flags & FRAME_F_STAGED;
	const uint8_t *view = staged ? transport_view(f, memfd, st) : NULL;

	if (view) {
		memcpy(object_buffer_bytes(f->ool), view + TRANSPORT_STAGE_HDR, f->hdr.body_len);
		return 0;
	}
	return transport_pread_all(memfd, object_buffer_bytes(f->ool), f->hdr.body_len,
				   staged ? TRANSPORT_STAGE_HDR : 0);
}


/* Marks the stage @memfd read (0 at offset 0), with 1 + the CPU this
 * thread runs on at TRANSPORT_STAGE_CPU: one pwrite. */
static void transport_mark_read(int memfd)
{
	int cpu = sched_getcpu();
	uint64_t done[2] = {0, cpu >= 0 ? (uint64_t)cpu + 1 : 0};

	_Static_assert(TRANSPORT_STAGE_CPU == sizeof(done[0]), "the hint follows the in-use word");
	if (pwrite(memfd, done, sizeof(done), 0) < 0) {
		/* not writable: the sender will not reuse it */
	}
}

int transport_take_body(TransportFrame *f)
{
	int memfd = f->fds[f->n_fds - 1];
	bool staged = f->hdr.flags & FRAME_F_STAGED;
	Charge *acct = f->charge ? f->charge : frame_rx_account();
	struct stat st;
	int r = transport_check_ool(memfd, &f->hdr, &st);

	if (r != 0)
		return r;
	if (!charge_take(acct, f->hdr.body_len))
		return acct->max == 0 ? TRANSPORT_E_OOL_REFUSED : TRANSPORT_E_RX_MEMORY;
	f->ool = object_buffer_new(f->hdr.body_len);
	if (!f->ool) {
		charge_give(acct, f->hdr.body_len);
		return -ENOMEM;
	}
	object_buffer_set_charge(f->ool, acct, f->hdr.body_len);
	if (transport_copy_body(f, memfd, &st) < 0)
		return TRANSPORT_E_OOL_UNREADABLE;
	if (staged) /* copied: the sender may reuse the stage */
		transport_mark_read(memfd);
	f->body = object_buffer_bytes(f->ool);
	close(memfd);
	f->fds[--f->n_fds] = -1;
	return 0;
}
