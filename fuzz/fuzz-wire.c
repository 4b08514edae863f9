/*
 * fuzz-wire.c - fuzz target for the object decoder (src/wire/decode.c) and
 * the encoder behind it.
 *
 * Input: byte 0 chooses the form and the descriptors; the rest is the body.
 *   bit 7     standalone object form (wire_decode_object: any root, no
 *             descriptor items) instead of a message (wire_decode_message)
 *   bits 0-1  descriptors passed with a message (0-3)
 *   bits 2-4  descriptor i is a 4 KiB memfd sealed against shrinking (so
 *             a shmem item can take it) instead of /dev/null
 *   bit 5     re-encode with use_refs (large data and strings left in
 *             place as WireRefs, then wire_buffer_iov, wire_buffer_keep,
 *             wire_buffer_copy and wire_buffer_flatten)
 *   bit 6     a message is decoded in place (wire_decode_message_in, as
 *             received out-of-line bodies are: data items of WIRE_REF_MIN
 *             bytes or more point into the buffer)
 *
 * Invariants: no crash or leak; the descriptors the decoder did not take
 * are still open and the caller's to close (nothing leaks either way).
 * When the body decodes, the object encodes again to exactly as many bytes
 * (the encoding is canonical), to the same bytes unless a dictionary with
 * several entries makes the order free, and those bytes decode to the same
 * graph (fuzz_same) which encodes to the same length again.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "wire/wire.h"

static int open_fd(bool regular)
{
	int fd;

	if (!regular)
		return open("/dev/null", O_RDWR | O_CLOEXEC);
	fd = memfd_create("fuzz-wire", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd >= 0 && (ftruncate(fd, 4096) < 0 || fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) < 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool use_refs;

/* The encoding of @obj, flat in buf->data; with use_refs through the
 * reference path, whose pieces must add up to the same bytes. */
static int encode(xpc_object_t obj, bool msg, WireBuffer *buf, WireFds *fds)
{
	struct iovec iov[64];
	size_t n, total = 0;
	int r;

	buf->use_refs = use_refs;
	r = msg ? wire_encode_message(obj, buf, fds) : wire_encode_object(obj, buf);
	if (r || !buf->n_refs)
		return r;
	if (2 * buf->n_refs + 1 > sizeof(iov) / sizeof(iov[0]))
		return wire_buffer_flatten(buf);
	n = wire_buffer_iov(buf, iov, sizeof(iov) / sizeof(iov[0]));
	for (size_t i = 0; i < n; i++)
		total += iov[i].iov_len;
	if (total != buf->len + buf->ref_bytes)
		fuzz_fail("iov pieces hold %zu bytes, the encoding %zu", total, buf->len + buf->ref_bytes);
	/* as the send queue holds it: kept (objects retained), copied whole */
	uint8_t *copy = malloc(total);
	if (!copy || wire_buffer_keep(buf) < 0) {
		free(copy);
		return -ENOMEM;
	}
	wire_buffer_copy(buf, copy);
	for (size_t i = 0, off = 0; i < n; off += iov[i].iov_len, i++)
		if (memcmp(copy + off, iov[i].iov_base, iov[i].iov_len) != 0)
			fuzz_fail("wire_buffer_copy differs from the iov pieces at piece %zu", i);
	if ((r = wire_buffer_flatten(buf)) == 0 && (buf->n_refs || buf->kept))
		fuzz_fail("flattened buffer still has references");
	if (r == 0 && memcmp(buf->data, copy, total) != 0)
		fuzz_fail("flattened buffer differs from its copy");
	free(copy);
	return r;
}

/* Decodes @len bytes at @p into an ObjectBuffer, as a received out-of-line
 * body is. */
static int decode_in_place(const uint8_t *p, size_t len, int *fds, size_t n_fds, xpc_object_t *ret)
{
	ObjectBuffer *b = object_buffer_new(len);
	int r;

	if (!b)
		return -ENOMEM;
	memcpy(object_buffer_bytes(b), p, len);
	r = wire_decode_message_in(b, fds, n_fds, ret);
	object_buffer_release(b);
	return r;
}

static int decode(const void *p, size_t n, bool msg, int *fds, size_t n_fds, xpc_object_t *ret)
{
	return msg ? wire_decode_message(p, n, fds, n_fds, ret) : wire_decode_object(p, n, ret);
}

static void close_left(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* Decodes @b1 again with duplicates of its descriptors and checks the graph
 * and the length of its encoding. */
static void second_round(xpc_object_t obj, const WireBuffer *b1, const WireFds *f1, bool msg, bool ordered)
{
	int fds[WIRE_MAX_FDS + 1];
	xpc_object_t obj2 = NULL;
	WireBuffer b2 = {0};
	WireFds f2 = {0};
	int r;

	for (size_t i = 0; i < f1->n; i++)
		fds[i] = fcntl(f1->fds[i], F_DUPFD_CLOEXEC, 0);
	r = decode(b1->data, b1->len, msg, fds, f1->n, &obj2);
	if (r)
		fuzz_fail("re-encoded bytes do not decode: %s", wire_strerror(r));
	if (!fuzz_same(obj, obj2))
		fuzz_fail("round trip changed the object graph");
	if ((r = encode(obj2, msg, &b2, &f2)))
		fuzz_fail("second encoding failed: %s", wire_strerror(r));
	if (b2.len != b1->len || (ordered && memcmp(b2.data, b1->data, b1->len)))
		fuzz_fail("second encoding differs (%zu vs %zu bytes)", b2.len, b1->len);
	wire_buffer_free(&b2);
	wire_fds_free(&f2);
	xpc_release(obj2);
	close_left(fds, f1->n);
}

static void round_trip(xpc_object_t obj, const uint8_t *body, size_t len, bool msg)
{
	WireBuffer b1 = {0};
	WireFds f1 = {0};
	bool ordered = !fuzz_has_unordered(obj);
	int r = encode(obj, msg, &b1, &f1);

	if (r)
		fuzz_fail("a decoded object does not encode: %s", wire_strerror(r));
	if (b1.len != len)
		fuzz_fail("re-encoding changed the length: %zu -> %zu bytes", len, b1.len);
	if (ordered && memcmp(b1.data, body, len))
		fuzz_fail("re-encoding changed the bytes");
	if (f1.n > WIRE_MAX_FDS)
		fuzz_fail("encoding listed %zu descriptors", f1.n);
	second_round(obj, &b1, &f1, msg, ordered);
	wire_buffer_free(&b1);
	wire_fds_free(&f1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fds[3], before = fuzz_count_fds();
	size_t n_fds;
	bool msg;
	xpc_object_t obj = NULL;

	if (size < 1)
		return 0;
	msg = !(data[0] & 0x80);
	use_refs = data[0] & 0x20;
	n_fds = msg ? (size_t)(data[0] & 3) : 0;
	for (size_t i = 0; i < n_fds; i++)
		if ((fds[i] = open_fd(data[0] & (4u << i))) < 0)
			fuzz_fail("cannot open a descriptor");
	if ((msg && (data[0] & 0x40) ? decode_in_place(data + 1, size - 1, fds, n_fds, &obj)
				     : decode(data + 1, size - 1, msg, fds, n_fds, &obj)) == 0) {
		if (msg && xpc_get_type(obj) != XPC_TYPE_DICTIONARY)
			fuzz_fail("a message decoded to a non-dictionary");
		round_trip(obj, data + 1, size - 1, msg);
		xpc_release(obj);
	}
	close_left(fds, n_fds);
	fuzz_check_fds(before, fuzz_count_fds(), "fuzz-wire");
	return 0;
}
