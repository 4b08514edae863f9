/* SPDX-License-Identifier: MIT */
/*
 * pcapng.c - the pcapng writer of pcapng.h: blocks built in memory, each
 * written with one write().  Layout (little-endian here, the byte-order
 * magic says so): every block is type u32, total length u32, body padded
 * to 4, options (code u16, length u16, value padded to 4, ended by code 0),
 * total length u32 again.
 */
#include "shared/clock.h"
#include "shared/pcapng.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PAD4(n) (((n) + 3u) & ~(size_t)3u)

typedef struct Block {
	uint8_t *p;
	size_t len, cap;
} Block;

static int block_put(Block *b, const void *data, size_t n)
{
	size_t want = b->len + PAD4(n);

	if (want > b->cap) {
		size_t cap = want < 256 ? 256 : want * 2;
		uint8_t *p = realloc(b->p, cap);
		if (!p)
			return -ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	if (data && n)
		memcpy(b->p + b->len, data, n);
	memset(b->p + b->len + (data ? n : 0), 0, PAD4(n) - (data ? n : 0));
	b->len = want;
	return 0;
}

static int block_u32(Block *b, uint32_t v)
{
	return block_put(b, &v, 4);
}

static int block_option(Block *b, uint16_t code, const void *value, size_t n)
{
	uint16_t h[2] = {code, (uint16_t)n};

	if (n > 0xffff)
		return -E2BIG;
	return block_put(b, h, 4) ?: block_put(b, value, n);
}

/* Starts a block of @type: its length is filled in by block_end. */
static int block_begin(Block *b, uint32_t type)
{
	b->len = 0;
	return block_u32(b, type) ?: block_u32(b, 0);
}

static int block_end(Block *b)
{
	uint32_t total;
	int r = block_option(b, 0, NULL, 0) ?: block_u32(b, 0);

	if (r)
		return r;
	total = (uint32_t)b->len;
	memcpy(b->p + 4, &total, 4);
	memcpy(b->p + b->len - 4, &total, 4);
	return 0;
}

static int write_all(int fd, const Block *b)
{
	ssize_t n;

	do
		n = write(fd, b->p, b->len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == b->len ? 0 : -ENOSPC;
}

/* Section header and interface description, back to back in @b. */
static int header_blocks(Block *b, uint16_t linktype, const char *app)
{
	static const uint8_t tsresol = 9; /* nanoseconds */
	uint16_t shb_version[2] = {1, 0}, idb_type[2] = {linktype, 0};
	uint64_t section_len = UINT64_MAX;
	Block idb = {0};
	int r = block_begin(b, 0x0A0D0D0A) ?: block_u32(b, 0x1A2B3C4D) ?: block_put(b, shb_version, 4) ?:
		block_put(b, &section_len, 8) ?: block_option(b, 4, app, strlen(app)) ?: block_end(b);

	r = r ?: block_begin(&idb, 1) ?: block_put(&idb, idb_type, 4) ?: block_u32(&idb, PCAPNG_SNAPLEN) ?:
		block_option(&idb, 2, "xpc", 3) ?: block_option(&idb, 9, &tsresol, 1) ?: block_end(&idb);
	r = r ?: block_put(b, idb.p, idb.len);
	free(idb.p);
	return r;
}

int pcapng_open(const char *path, uint16_t linktype, const char *app)
{
	Block b = {0};
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600), r;
	struct stat st = {0};

	if (fd < 0)
		return -errno;
	/* only a regular file of this user: a root process must not append
	 * its traffic to a file another user made (and reads) */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
		r = S_ISREG(st.st_mode) ? -EPERM : -EINVAL;
		close(fd);
		return r;
	}
	r = header_blocks(&b, linktype, app) ?: write_all(fd, &b);
	free(b.p);
	if (r) {
		close(fd);
		return r;
	}
	return fd;
}

/* The packet's bytes, at most PCAPNG_SNAPLEN of them, padded. */
static int packet_data(Block *b, const struct iovec *iov, size_t n_iov, uint32_t *ret_caplen)
{
	size_t total = 0, at = b->len;

	for (size_t i = 0; i < n_iov; i++)
		total += iov[i].iov_len;
	if (total > PCAPNG_SNAPLEN)
		total = PCAPNG_SNAPLEN;
	if (block_put(b, NULL, total))
		return -ENOMEM;
	for (size_t i = 0, left = total; i < n_iov && left; i++) {
		size_t n = iov[i].iov_len < left ? iov[i].iov_len : left;
		memcpy(b->p + at, iov[i].iov_base, n);
		at += n;
		left -= n;
	}
	*ret_caplen = (uint32_t)total;
	return 0;
}

int pcapng_write(int fd, uint64_t ts_ns, uint32_t flags, const char *comment, const struct iovec *iov, size_t n_iov,
		 size_t orig_len)
{
	Block b = {0};
	uint32_t caplen = 0;
	size_t caplen_at;
	int r = block_begin(&b, 6) ?: block_u32(&b, 0) ?: block_u32(&b, (uint32_t)(ts_ns >> 32)) ?:
		block_u32(&b, (uint32_t)ts_ns);

	caplen_at = b.len;
	r = r ?: block_u32(&b, 0) ?: block_u32(&b, orig_len > UINT32_MAX ? UINT32_MAX : (uint32_t)orig_len) ?:
		packet_data(&b, iov, n_iov, &caplen) ?: block_option(&b, 2, &flags, 4);
	if (!r && comment)
		r = block_option(&b, 1, comment, strlen(comment));
	r = r ?: block_end(&b);
	if (!r) {
		memcpy(b.p + caplen_at, &caplen, 4);
		r = write_all(fd, &b);
	}
	free(b.p);
	return r;
}

uint64_t pcapng_now(void)
{
	return clock_realtime_ns();
}
