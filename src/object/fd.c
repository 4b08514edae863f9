/* SPDX-License-Identifier: MIT */
/*
 * fd.c - the objects that own a descriptor: fd, shmem and endpoint.
 *
 * Each owns exactly one close-on-exec descriptor, closed by dispose.
 * - fd: xpc_fd_create() dups the caller's descriptor (F_DUPFD_CLOEXEC);
 *   xpc_fd_dup() hands out a new duplicate each call (caller closes).
 *   Equality is pointer identity (Apple); xpc_copy() makes a new fd object
 *   over a new duplicate, which is therefore not xpc_equal to the original.
 * - shmem: a memfd (MFD_CLOEXEC).  xpc_shmem_create() copies the caller's
 *   region into it and maps it over the region (MAP_FIXED | MAP_SHARED) so
 *   the caller's later writes are what receivers see.  xpc_shmem_map() maps
 *   it shared read-write with a page-multiple length; the caller munmaps.
 * - endpoint: the send side of a listener's channel (the connection layer
 *   gives it meaning).  Two endpoints are equal when their descriptors name
 *   the same open file (st_dev/st_ino).
 * fd and shmem objects are immutable apart from the memory they share.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "object/internal.h"
#include "shared/fdutil.h"

struct fd_obj {
	struct xpc_object_s base;
	int fd;      /* owned, close-on-exec */
	size_t size; /* shmem: bytes shared */
};

static void fd_dispose(xpc_object_t obj)
{
	fd_close(((struct fd_obj *)obj)->fd);
}

static xpc_object_t fd_copy(xpc_object_t obj)
{
	return xpc_fd_create(((struct fd_obj *)obj)->fd);
}

static void fd_describe(xpc_object_t obj, StrBuf *sb, unsigned indent)
{
	struct fd_obj *f = obj;

	if (f->base.type == XPC_TYPE_SHMEM)
		strbuf_printf(sb, "{ fd = %d, length = %zu }", f->fd, f->size);
	else
		strbuf_printf(sb, "{ fd = %d }", f->fd);
}

/* True and *st filled when @obj's descriptor can be stat'ed. */
static bool fd_stat(xpc_object_t obj, struct stat *st)
{
	return fstat(((struct fd_obj *)obj)->fd, st) == 0;
}

static bool endpoint_equal(xpc_object_t a, xpc_object_t b)
{
	struct stat x, y;

	if (!fd_stat(a, &x) || !fd_stat(b, &y))
		return false;
	return x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

static size_t endpoint_hash(xpc_object_t obj)
{
	struct stat st;

	if (!fd_stat(obj, &st))
		return 0;
	return object_hash_mix((size_t)st.st_ino ^ ((size_t)st.st_dev << 20));
}

const struct _xpc_type_s _xpc_type_fd = {
	.name = "fd", .flags = OBJECT_TYPE_DESCRIPTOR,
	.wire_tag = OBJECT_TAG_FD, .dispose = fd_dispose, .copy = fd_copy,
	.describe = fd_describe};
const struct _xpc_type_s _xpc_type_shmem = {
	.name = "shmem", .flags = OBJECT_TYPE_DESCRIPTOR,
	.wire_tag = OBJECT_TAG_SHMEM, .dispose = fd_dispose, .describe = fd_describe};
const struct _xpc_type_s _xpc_type_endpoint = {
	.name = "endpoint", .flags = OBJECT_TYPE_DESCRIPTOR,
	.wire_tag = OBJECT_TAG_ENDPOINT, .dispose = fd_dispose, .equal = endpoint_equal,
	.hash = endpoint_hash, .describe = fd_describe};

/* Takes ownership of @fd: closed when this fails. */
static xpc_object_t fd_object_wrap(xpc_type_t type, int fd, size_t size)
{
	struct fd_obj *f;

	if (fd < 0)
		return NULL;
	f = object_alloc(type, sizeof(*f));
	if (!f) {
		fd_close(fd);
		return NULL;
	}
	f->fd = fd;
	f->size = size;
	return f;
}

static int fd_object_borrow_typed(xpc_object_t obj, xpc_type_t type)
{
	return object_is(obj, type) ? ((struct fd_obj *)obj)->fd : -1;
}

xpc_object_t fd_object_create_consume(int fd)
{
	return fd_object_wrap(XPC_TYPE_FD, fd, 0);
}

int fd_object_borrow(xpc_object_t xfd)
{
	return fd_object_borrow_typed(xfd, XPC_TYPE_FD);
}

xpc_object_t shmem_object_create_consume(int fd, size_t size)
{
	return fd_object_wrap(XPC_TYPE_SHMEM, fd, size);
}

int shmem_object_borrow_fd(xpc_object_t xshmem)
{
	return fd_object_borrow_typed(xshmem, XPC_TYPE_SHMEM);
}

size_t shmem_object_get_size(xpc_object_t xshmem)
{
	return object_is(xshmem, XPC_TYPE_SHMEM) ? ((struct fd_obj *)xshmem)->size : 0;
}

xpc_object_t endpoint_object_create_consume(int fd)
{
	return fd_object_wrap(XPC_TYPE_ENDPOINT, fd, 0);
}

int endpoint_object_borrow_fd(xpc_object_t xendpoint)
{
	return fd_object_borrow_typed(xendpoint, XPC_TYPE_ENDPOINT);
}

xpc_object_t xpc_fd_create(int fd)
{
	int dup_fd;

	if (fd < 0)
		return NULL;
	dup_fd = fd_dup_min(fd, 0);
	return dup_fd < 0 ? NULL : fd_object_create_consume(dup_fd);
}

int xpc_fd_dup(xpc_object_t xfd)
{
	int fd = fd_object_borrow(xfd);

	if (fd >= 0)
		fd = fd_dup_min(fd, 0);
	return fd < 0 ? -1 : fd;
}

/* ---- shmem --------------------------------------------------------------- */

static size_t shmem_page_round(size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	if (len > SIZE_MAX - page)
		return 0;
	return (len + page - 1) / page * page;
}

/* Copies @len bytes at @src into @fd from offset 0; false on failure
 * (EFAULT included: @src need not be readable). */
static bool shmem_fill(int fd, const void *src, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(fd, (const char *)src + done, len - done, (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		done += (size_t)n;
	}
	return true;
}

xpc_object_t xpc_shmem_create(void *region, size_t length)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), mapped = shmem_page_round(length);
	void *p;
	int fd;

	if (!region || length == 0 || mapped == 0 || (uintptr_t)region % page != 0)
		return NULL;
	fd = memfd_create("xpc-shmem", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return NULL;
	/* sealed at its size: a receiver maps it, and a file its sender could
	 * shrink would make the receiver's next access a SIGBUS (decode.c
	 * refuses an unsealed one) */
	if (ftruncate(fd, (off_t)mapped) < 0 || !shmem_fill(fd, region, mapped) ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		goto fail;
	p = mmap(region, mapped, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
	if (p == MAP_FAILED)
		goto fail;
	return shmem_object_create_consume(fd, length);
fail:
	fd_close(fd);
	return NULL;
}

size_t xpc_shmem_map(xpc_object_t xshmem, void **region)
{
	int fd = shmem_object_borrow_fd(xshmem);
	size_t len;
	void *p;

	if (region)
		*region = NULL;
	if (fd < 0 || !region)
		return 0;
	len = shmem_page_round(shmem_object_get_size(xshmem));
	if (len == 0)
		return 0;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return 0;
	*region = p;
	return len;
}
