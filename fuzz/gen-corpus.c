/*
 * gen-corpus.c - writes the seed corpora of fuzz-wire, fuzz-json,
 * fuzz-broker, fuzz-plist, fuzz-ring and the out-of-line and shared-ring
 * seeds of fuzz-frame: small valid inputs covering every type, tag
 * and operation (plus a few near misses), named "seed-*".
 *
 *   gen-corpus DIR      (DIR is fuzz/corpus; files are overwritten)
 *
 * The inputs found by fuzzing sit next to them (fuzz/run.sh merges them).
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "object/object.h"
#include "transport/frame.h"
#include "transport/ring/shared.h"
#include "wire/wire.h"

static const char *out_dir;

static void put(const char *target, const char *name, uint8_t first, const void *body, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", out_dir, target);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/seed-%s", out_dir, target, name);
	if (!(f = fopen(path, "wb")) || fwrite(&first, 1, 1, f) != 1 || fwrite(body, 1, len, f) != len ||
	    fclose(f) != 0) {
		fprintf(stderr, "gen-corpus: %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

static void put_text(const char *target, const char *name, char first, const char *text)
{
	put(target, name, (uint8_t)first, text, strlen(text));
}

/* ---- objects ------------------------------------------------------------- */

static xpc_object_t make_scalar(int i)
{
	static const uint8_t u[16] = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 1, 2, 3, 4, 5, 6, 7, 8};

	switch (i) {
	case 0: return xpc_null_create();
	case 1: return xpc_bool_create(true);
	case 2: return xpc_int64_create(-42);
	case 3: return xpc_uint64_create(UINT64_MAX);
	case 4: return xpc_double_create(3.5);
	case 5: return xpc_date_create(1700000000000000000LL);
	case 6: return xpc_data_create("\x00\x01\x02\xff\x10", 5);
	case 7: return xpc_string_create("h\xc3\xa9llo");
	case 8: return xpc_uuid_create(u);
	default: return NULL;
	}
}

static const char *const scalar_names[] = {"null", "bool", "int64", "uint64", "double", "date", "data", "string", "uuid"};

static xpc_object_t make_all(void)
{
	xpc_object_t d = xpc_dictionary_create_empty(), a = xpc_array_create_empty(), inner;

	for (int i = 0; i < 9; i++) {
		xpc_object_t v = make_scalar(i);
		xpc_dictionary_set_value(d, scalar_names[i], v);
		xpc_array_append_value(a, v);
		xpc_release(v);
	}
	inner = xpc_dictionary_create_empty();
	xpc_dictionary_set_value(inner, "array", a);
	xpc_dictionary_set_value(d, "nested", inner);
	xpc_release(inner);
	xpc_release(a);
	return d;
}

static void put_wire(const char *target, const char *name, uint8_t first, xpc_object_t obj, bool msg)
{
	WireBuffer b = {0};
	WireFds f = {0};
	int r = msg ? wire_encode_message(obj, &b, &f) : wire_encode_object(obj, &b);

	if (r) {
		fprintf(stderr, "gen-corpus: %s/%s: %s\n", target, name, wire_strerror(r));
		exit(1);
	}
	put(target, name, first, b.data, b.len);
	wire_buffer_free(&b);
	wire_fds_free(&f);
	xpc_release(obj);
}

static xpc_object_t one(const char *key, xpc_object_t v)
{
	xpc_object_t d = xpc_dictionary_create_empty();

	xpc_dictionary_set_value(d, key, v);
	xpc_release(v);
	return d;
}

static void gen_wire(void)
{
	char name[64];
	void *region = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	for (int i = 0; i < 9; i++) {
		snprintf(name, sizeof(name), "msg-%s", scalar_names[i]);
		put_wire("fuzz-wire", name, 0, one(scalar_names[i], make_scalar(i)), true);
		snprintf(name, sizeof(name), "obj-%s", scalar_names[i]);
		put_wire("fuzz-wire", name, 0x80, make_scalar(i), false);
	}
	put_wire("fuzz-wire", "msg-all", 0, make_all(), true);
	put_wire("fuzz-wire", "obj-all", 0x80, make_all(), false);
	put_wire("fuzz-wire", "obj-array", 0x80, xpc_array_create_empty(), false);
	put_wire("fuzz-wire", "msg-empty", 0, xpc_dictionary_create_empty(), true);
	/* descriptors: byte 0 says how many travel and which are memfds */
	put_wire("fuzz-wire", "msg-fd", 1, one("fd", xpc_fd_create(fd)), true);
	put_wire("fuzz-wire", "msg-endpoint", 1, one("ep", endpoint_object_create_consume(dup(fd))), true);
	put_wire("fuzz-wire", "msg-shmem", 1 | 4, one("shm", xpc_shmem_create(region, 4096)), true);
	{
		xpc_object_t d = one("fd", xpc_fd_create(fd)), a = xpc_array_create_empty(), s;
		s = xpc_fd_create(fd);
		xpc_array_append_value(a, s);
		xpc_release(s);
		s = xpc_shmem_create(region, 4096);
		xpc_array_append_value(a, s);
		xpc_release(s);
		xpc_dictionary_set_value(d, "more", a);
		xpc_release(a);
		put_wire("fuzz-wire", "msg-three-fds", 3 | 16, d, true);
	}
	close(fd);
}

/* A dictionary with a data item of @n bytes. */
static xpc_object_t make_big_n(size_t n)
{
	static uint8_t bytes[FRAME_MAX_INLINE + 100];
	xpc_object_t d = one("big", xpc_data_create(bytes, n));

	xpc_dictionary_set_int64(d, "n", 1);
	return d;
}

/* Big enough to travel by reference. */
static xpc_object_t make_big(void)
{
	return make_big_n(WIRE_REF_MIN + 100);
}

static void gen_wire_refs(void)
{
	put_wire("fuzz-wire", "msg-big-in-place-refs", 0x60, make_big(), true);
	put_wire("fuzz-wire", "msg-big-refs", 0x20, make_big(), true);
	put_wire("fuzz-wire", "msg-all-in-place", 0x40, make_all(), true);
}

/* fuzz-frame, out of line: byte 0 = 4 (| 8: unsealed, | 16: a stage,
 * | 32: kept mapping), a header, the body. */
static void put_ool_frame(const char *name, uint8_t first, xpc_object_t dict, uint64_t len_delta)
{
	WireBuffer b = {0};
	WireFds f = {0};
	FrameHeader h = {.magic = FRAME_MAGIC, .kind = FRAME_MESSAGE, .flags = FRAME_F_OOL, .n_fds = 1, .id = 1};
	uint8_t *all;

	if (wire_encode_message(dict, &b, &f) != 0 || !(all = malloc(sizeof(h) + b.len)))
		exit(1);
	h.body_len = b.len + len_delta;
	memcpy(all, &h, sizeof(h));
	memcpy(all + sizeof(h), b.data, b.len);
	put("fuzz-frame", name, first, all, sizeof(h) + b.len);
	free(all);
	wire_buffer_free(&b);
	wire_fds_free(&f);
	xpc_release(dict);
}

/* Appends header @h and the encoding of @dict (released) at @p; returns
 * the bytes written. */
static size_t put_inner(uint8_t *p, FrameHeader h, xpc_object_t dict)
{
	WireBuffer b = {0};
	WireFds f = {0};
	size_t n;

	if (wire_encode_message(dict, &b, &f) != 0)
		exit(1);
	h.magic = FRAME_MAGIC;
	h.body_len = n = b.len;
	memcpy(p, &h, sizeof(h));
	memcpy(p + sizeof(h), b.data, n);
	wire_buffer_free(&b);
	wire_fds_free(&f);
	xpc_release(dict);
	return sizeof(h) + n;
}

/* fuzz-frame, a BATCH packet: a message, a reply and a message wanting one. */
static void gen_batch(void)
{
	static uint8_t pkt[8192];
	size_t n = FRAME_HEADER_SIZE;
	FrameHeader batch = {.magic = FRAME_MAGIC, .kind = FRAME_BATCH};

	n += put_inner(pkt + n, (FrameHeader){.kind = FRAME_MESSAGE, .id = 1}, one("a", xpc_int64_create(1)));
	n += put_inner(pkt + n, (FrameHeader){.kind = FRAME_REPLY, .id = 2, .reply_to = 7}, make_all());
	n += put_inner(pkt + n, (FrameHeader){.kind = FRAME_MESSAGE, .flags = FRAME_F_WANTS_REPLY, .id = 3},
		       xpc_dictionary_create_empty());
	batch.body_len = n - FRAME_HEADER_SIZE;
	memcpy(pkt, &batch, sizeof(batch));
	put("fuzz-frame", "batch", 0, pkt, n);
	batch.body_len -= 4; /* the last inner frame runs past the batch */
	memcpy(pkt, &batch, sizeof(batch));
	put("fuzz-frame", "batch-short", 0, pkt, n - 4);
}

/* fuzz-frame, the check-in path (bit 6): a CHECKIN carrying one
 * descriptor of each kind (bits 3, 4, 7), one with three, an empty
 * packet, an out-of-line body where none may come. */
static void gen_checkin(void)
{
	FrameHeader h = {.magic = FRAME_MAGIC, .kind = FRAME_CHECKIN, .id = 1, .n_fds = 1};
	static const char *const names[] = {"checkin-good", "checkin-stream", "checkin-listening", "checkin-epoll",
					    "checkin-file"};

	for (unsigned k = 0; k < 5; k++)
		put("fuzz-frame", names[k], (uint8_t)(64 | 1 | ((k & 3) << 3) | ((k & 4) << 5)), &h, sizeof(h));
	h.n_fds = 3;
	put("fuzz-frame", "checkin-three", 64 | 3, &h, sizeof(h));
	put("fuzz-frame", "checkin-empty-packet", 64, &h, 0);
	put_ool_frame("checkin-ool", 64 | 4, make_big_n(FRAME_MAX_INLINE + 64), 0);
}

/* fuzz-frame, an inline MESSAGE whose data item is decoded by reference
 * to the packet's buffer (WIRE_REF_INLINE_MIN or more), and a BATCH of two
 * such inner frames. */
static void gen_inline_refs(void)
{
	static uint8_t pkt[FRAME_HEADER_SIZE + FRAME_MAX_INLINE];
	size_t n = put_inner(pkt, (FrameHeader){.kind = FRAME_MESSAGE, .id = 1}, make_big_n(WIRE_REF_INLINE_MIN + 8));
	FrameHeader batch = {.magic = FRAME_MAGIC, .kind = FRAME_BATCH};

	put("fuzz-frame", "inline-big-ref", 0, pkt, n);
	n = FRAME_HEADER_SIZE;
	n += put_inner(pkt + n, (FrameHeader){.kind = FRAME_MESSAGE, .id = 1}, make_big_n(WIRE_REF_INLINE_MIN));
	n += put_inner(pkt + n, (FrameHeader){.kind = FRAME_REPLY, .id = 2, .reply_to = 1},
		       make_big_n(WIRE_REF_INLINE_MIN + 1));
	batch.body_len = n - FRAME_HEADER_SIZE;
	memcpy(pkt, &batch, sizeof(batch));
	put("fuzz-frame", "batch-big-refs", 0, pkt, n);
}

static void gen_frame(void)
{
	gen_batch();
	gen_inline_refs();
	gen_checkin();
	/* out of line only when larger than FRAME_MAX_INLINE */
	put_ool_frame("ool-too-small", 4, make_all(), 0);
	put_ool_frame("ool-big", 4, make_big_n(FRAME_MAX_INLINE + 64), 0);
	put_ool_frame("ool-unsealed", 4 | 8, make_big_n(FRAME_MAX_INLINE + 64), 0);
	put_ool_frame("ool-size-mismatch", 4, make_big_n(FRAME_MAX_INLINE + 64), 4);
	/* the sender's stage: body at TRANSPORT_STAGE_HDR (fuzz-frame bit 4),
	 * copied with pread, or through a kept mapping (bit 5) */
	put_ool_frame("stage", 4 | 16, make_big_n(FRAME_MAX_INLINE + 64), 0);
	put_ool_frame("stage-view", 4 | 16 | 32, make_big_n(FRAME_MAX_INLINE + 64), 0);
	put_ool_frame("stage-size-mismatch", 4 | 16 | 32, make_big_n(FRAME_MAX_INLINE + 64), 4);
}

/* fuzz-frame, the shared ring's control frames (kinds 8-10): each in its
 * shape (an offer with one descriptor, an acknowledgement and a bell with
 * nothing) and out of it. */
static void gen_ring_frames(void)
{
	static const struct {
		const char *name;
		uint8_t kind, fds, flags;
		uint64_t id, body;
	} c[] = {
		{"ring-offer", FRAME_RING_OFFER, 1, 0, 0, 0},
		{"ring-offer-no-fd", FRAME_RING_OFFER, 0, 0, 0, 0},
		{"ring-offer-two-fds", FRAME_RING_OFFER, 2, 0, 0, 0},
		{"ring-offer-body", FRAME_RING_OFFER, 1, 0, 0, 8},
		{"ring-ack", FRAME_RING_ACK, 0, 0, 0, 0},
		{"ring-ack-fd", FRAME_RING_ACK, 1, 0, 0, 0},
		{"ring-ack-id", FRAME_RING_ACK, 0, 0, 5, 0},
		{"ring-bell", FRAME_RING_BELL, 0, 0, 0, 0},
		{"ring-bell-flags", FRAME_RING_BELL, 0, FRAME_F_WANTS_REPLY, 0, 0},
		{"ring-bell-body", FRAME_RING_BELL, 0, 0, 0, 8},
	};
	uint8_t pkt[FRAME_HEADER_SIZE + 8] = {0};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		FrameHeader h = {.magic = FRAME_MAGIC, .kind = c[i].kind, .flags = c[i].flags, .n_fds = c[i].fds,
				 .id = c[i].id, .body_len = c[i].body};
		memcpy(pkt, &h, sizeof(h));
		put("fuzz-frame", c[i].name, c[i].fds, pkt, FRAME_HEADER_SIZE + c[i].body);
	}
}

/* ---- fuzz-ring ------------------------------------------------------------- */

/* A ring as fuzz-ring reads it: the reader's start head, then the mapping. */
static struct {
	uint64_t head;
	_Alignas(4096) uint8_t map[RING_MAP_SIZE];
} ring_in;

static RingShared *ring_begin(uint64_t head)
{
	RingShared *r = (RingShared *)ring_in.map;

	memset(ring_in.map, 0, sizeof(ring_in.map));
	r->magic = RING_MAGIC;
	r->data_size = RING_DATA_SIZE;
	ring_in.head = head;
	atomic_store(&r->tail, head);
	atomic_store(&r->head, head);
	return r;
}

/* Writes the input: 4 bytes of head, its high word (0 or all ones), the
 * mapping up to its last byte that is not zero. */
static void ring_end(const char *name)
{
	static uint8_t in[5 + RING_MAP_SIZE];
	size_t n = RING_MAP_SIZE;
	uint32_t lo = (uint32_t)ring_in.head;

	while (n && !ring_in.map[n - 1])
		n--;
	memcpy(in, &lo, 4);
	in[4] = ring_in.head >> 32 ? 1 : 0;
	memcpy(in + 5, ring_in.map, n);
	put("fuzz-ring", name, in[0], in + 1, 4 + n);
}

/* The frame @pkt (@len bytes: header and body) as the writer puts it. */
static void ring_frame(RingShared *r, const uint8_t *pkt, size_t len, uint64_t sock_before)
{
	FrameHeader h;
	struct iovec iov = {(void *)(pkt + FRAME_HEADER_SIZE), len - FRAME_HEADER_SIZE};
	uint64_t tail = atomic_load(&r->tail);

	memcpy(&h, pkt, sizeof(h));
	ring_put(r, &tail, sock_before, &h, &iov, 1, len - FRAME_HEADER_SIZE);
}

/* An entry written by hand at the tail: its first words @len, @pad and
 * @sock_before, then @pkt (@n bytes); the tail moved to @tail_delta past
 * the old one. */
static void ring_raw(RingShared *r, uint32_t len, uint32_t pad, uint64_t sock_before, const uint8_t *pkt, size_t n,
		     uint64_t tail_delta)
{
	uint32_t w[4] = {len, pad, (uint32_t)sock_before, (uint32_t)(sock_before >> 32)};
	uint64_t tail = atomic_load(&r->tail);
	uint8_t *data = ring_data(r);

	for (size_t i = 0; i < sizeof(w) + n; i++)
		data[(tail + i) & (RING_DATA_SIZE - 1)] = i < sizeof(w) ? ((uint8_t *)w)[i] : pkt[i - sizeof(w)];
	atomic_store(&r->tail, tail + tail_delta);
}

/* A frame with a header @h and @body_n bytes of body (0x41), into @pkt. */
static size_t ring_pkt(uint8_t *pkt, FrameHeader h, size_t body_n)
{
	h.magic = FRAME_MAGIC;
	memcpy(pkt, &h, sizeof(h));
	memset(pkt + FRAME_HEADER_SIZE, 0x41, body_n);
	return FRAME_HEADER_SIZE + body_n;
}

/* Valid rings: a few entries (a message, a reply, a batch), entries
 * across the end of the data, across the end of the u64 range, one of
 * RING_FRAME_MAX bytes, a ring full to the byte. */
static void gen_ring_good(void)
{
	static uint8_t pkt[FRAME_HEADER_SIZE + RING_FRAME_MAX + 64];
	uint64_t starts[] = {0, RING_DATA_SIZE - 40, UINT64_MAX - 23};
	const char *names[] = {"three", "wrap", "u64-wrap"};
	size_t n;

	for (int k = 0; k < 3; k++) {
		RingShared *r = ring_begin(starts[k]);
		n = put_inner(pkt, (FrameHeader){.kind = FRAME_MESSAGE, .flags = FRAME_F_WANTS_REPLY, .id = 1},
			      one("op", xpc_string_create("whoami")));
		ring_frame(r, pkt, n, 0);
		n = put_inner(pkt, (FrameHeader){.kind = FRAME_REPLY, .id = 2, .reply_to = 9}, make_all());
		ring_frame(r, pkt, n, 1);
		n = FRAME_HEADER_SIZE;
		n += put_inner(pkt + n, (FrameHeader){.kind = FRAME_MESSAGE, .id = 3}, one("a", xpc_int64_create(1)));
		n += put_inner(pkt + n, (FrameHeader){.kind = FRAME_REPLY, .id = 4, .reply_to = 1},
			       xpc_dictionary_create_empty());
		FrameHeader b = {.magic = FRAME_MAGIC, .kind = FRAME_BATCH, .body_len = n - FRAME_HEADER_SIZE};
		memcpy(pkt, &b, sizeof(b));
		ring_frame(r, pkt, n, 1);
		ring_end(names[k]);
	}
	RingShared *r = ring_begin(0);
	n = ring_pkt(pkt, (FrameHeader){.kind = FRAME_MESSAGE, .id = 1, .body_len = RING_FRAME_MAX - 32},
		     RING_FRAME_MAX - 32);
	ring_frame(r, pkt, n, 0);
	ring_end("frame-max");
	r = ring_begin(RING_DATA_SIZE / 2);
	n = ring_pkt(pkt, (FrameHeader){.kind = FRAME_MESSAGE, .id = 1, .body_len = RING_FRAME_MAX - 48},
		     RING_FRAME_MAX - 48);
	for (int i = 0; i < 8; i++) /* 8 entries of 4 KiB: the data is full */
		ring_frame(r, pkt, n, 0);
	ring_end("full");
}

/* One hostile shape each, after a good entry (the reader's head starts
 * at 0 or just before the end of the data). */
static void gen_ring_hostile(void)
{
	static uint8_t pkt[FRAME_HEADER_SIZE + RING_FRAME_MAX + 64];
	size_t good = ring_pkt(pkt, (FrameHeader){.kind = FRAME_MESSAGE, .id = 1, .body_len = 24}, 24);
	uint64_t e = ring_entry_size(good);
	struct {
		const char *name;
		uint32_t len, pad;
		uint64_t delta;
		FrameHeader h;
		size_t body;
	} c[] = {
		{"too-long", RING_FRAME_MAX + 8, 0, ring_entry_size(RING_FRAME_MAX + 8), {.kind = FRAME_MESSAGE, .id = 1}, 0},
		{"too-short", 16, 0, 32, {.kind = FRAME_MESSAGE, .id = 1}, 0},
		{"zero-len", 0, 0, 16, {0}, 0},
		{"pad", (uint32_t)good, 1, e, {.kind = FRAME_MESSAGE, .id = 1, .body_len = 24}, 24},
		{"tail-ahead", (uint32_t)good, 0, RING_DATA_SIZE + 64, {.kind = FRAME_MESSAGE, .id = 1, .body_len = 24}, 24},
		{"tail-behind", (uint32_t)good, 0, (uint64_t)-8, {.kind = FRAME_MESSAGE, .id = 1, .body_len = 24}, 24},
		{"tail-short", (uint32_t)good, 0, 8, {.kind = FRAME_MESSAGE, .id = 1, .body_len = 24}, 24},
		{"past-tail", (uint32_t)good, 0, RING_ENTRY_HEADER + 8, {.kind = FRAME_MESSAGE, .id = 1, .body_len = 24}, 24},
		{"checkin", 32, 0, 48, {.kind = FRAME_CHECKIN}, 0},
		{"hello", 32, 0, 48, {.kind = FRAME_HELLO}, 0},
		{"ool", (uint32_t)good, 0, e, {.kind = FRAME_MESSAGE, .flags = FRAME_F_OOL, .id = 1, .body_len = 24}, 24},
		{"body-len", (uint32_t)good, 0, e, {.kind = FRAME_MESSAGE, .id = 1, .body_len = 32}, 24},
		{"n-fds", (uint32_t)good, 0, e, {.kind = FRAME_MESSAGE, .id = 1, .n_fds = 1, .body_len = 24}, 24},
		{"ring-offer", 32, 0, 48, {.kind = FRAME_RING_OFFER}, 0},
	};
	char name[64];

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		for (int at = 0; at < 2; at++) {
			RingShared *r = ring_begin(at ? RING_DATA_SIZE - e - 8 : 0);
			ring_frame(r, pkt, good, 0);
			size_t n = ring_pkt(pkt + FRAME_HEADER_SIZE + 32, c[i].h, c[i].body);
			ring_raw(r, c[i].len, c[i].pad, 0, pkt + FRAME_HEADER_SIZE + 32, n, c[i].delta);
			if (c[i].delta == (uint64_t)-8) /* the reader took the good entry: its head is past the tail */
				ring_in.head = atomic_load(&r->tail) + 8;
			snprintf(name, sizeof(name), "%s%s", c[i].name, at ? "-wrap" : "");
			ring_end(name);
		}
}

/* ---- JSON ------------------------------------------------------------------ */

static void gen_json(void)
{
	static const struct {
		const char *name, *text;
	} texts[] = {
		{"all", "{\"null\":null,\"t\":true,\"f\":false,\"i\":-42,\"d\":3.5e-3,\"s\":\"h\\u00e9llo \\ud83d\\ude00\","
			"\"a\":[1,[2,{}],[]],\"data\":{\"$data\":\"AAEC/w==\"},\"date\":{\"$date\":1700000000000000000},"
			"\"uuid\":{\"$uuid\":\"12345678-9abc-def0-0102-030405060708\"},\"u\":{\"$uint64\":\"18446744073709551615\"}}"},
		{"scalar", "123"},
		{"string", "\"plain\""},
		{"uint64-int", "{\"$uint64\":7}"},
		{"uint64-neg", "{\"$uint64\":-7}"},
		{"data-bad", "{\"$data\":\"A===\"}"},
		{"type-fd", "{\"$type\":\"fd\"}"},
		{"two-dollar-keys", "{\"$date\":1,\"$data\":\"\"}"},
		{"big", "[9223372036854775807,-9223372036854775808,1e308,-0.0]"},
		{"deep", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"},
	};
	char name[64];

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		put_text("fuzz-json", texts[i].name, ' ', texts[i].text);
	put_wire("fuzz-json", "wire-all", 1, make_all(), false);
	for (int i = 0; i < 9; i++) {
		snprintf(name, sizeof(name), "wire-%s", scalar_names[i]);
		put_wire("fuzz-json", name, 1, make_scalar(i), false);
	}
	put_wire("fuzz-json", "wire-nan", 1, xpc_double_create(NAN), false);
	put_wire("fuzz-json", "wire-dollar-key", 1, one("$date", xpc_int64_create(5)), false);
}

/* ---- broker requests ----------------------------------------------------- */

static void gen_broker(void)
{
	static const struct {
		const char *name;
		char who; /* '0' owner, '1' stranger, '2' admitted uid, '3' admitted gid */
		const char *text;
	} reqs[] = {
		{"lookup", '1', "{\"xpcd.op\":\"lookup\",\"name\":\"fuzz.a.svc\"}"},
		{"lookup-denied", '1', "{\"xpcd.op\":\"lookup\",\"name\":\"fuzz.b.svc\"}"},
		{"lookup-uid", '2', "{\"xpcd.op\":\"lookup\",\"name\":\"fuzz.b.svc\"}"},
		{"lookup-gid", '3', "{\"xpcd.op\":\"lookup\",\"name\":\"fuzz.b.svc\"}"},
		{"lookup-disabled", '0', "{\"xpcd.op\":\"lookup\",\"name\":\"fuzz.c.svc\"}"},
		{"lookup-unknown", '0', "{\"xpcd.op\":\"lookup\",\"name\":\"nobody\"}"},
		{"list", '1', "{\"xpcd.op\":\"list\"}"},
		{"print", '1', "{\"xpcd.op\":\"print\",\"label\":\"fuzz.b\"}"},
		{"load", '0', "{\"xpcd.op\":\"load\",\"path\":\"d.plist\"}"},
		{"load-dup", '0', "{\"xpcd.op\":\"load\",\"path\":\"dup.plist\"}"},
		{"load-bad", '0', "{\"xpcd.op\":\"load\",\"path\":\"bad.plist\"}"},
		{"load-again", '0', "[{\"xpcd.op\":\"load\",\"path\":\"a.plist\"}]"},
		{"load-missing", '0', "{\"xpcd.op\":\"load\",\"path\":\"none.plist\"}"},
		{"load-stranger", '1', "{\"xpcd.op\":\"load\",\"path\":\"d.plist\"}"},
		{"unload", '0', "{\"xpcd.op\":\"unload\",\"label\":\"fuzz.a\"}"},
		{"unload-stranger", '1', "{\"xpcd.op\":\"unload\",\"label\":\"fuzz.a\"}"},
		{"enable", '0', "{\"xpcd.op\":\"enable\",\"label\":\"fuzz.c\"}"},
		{"disable", '0', "{\"xpcd.op\":\"disable\",\"label\":\"fuzz.a\"}"},
		{"kickstart", '0', "{\"xpcd.op\":\"kickstart\",\"label\":\"fuzz.a\"}"},
		{"kickstart-disabled", '0', "{\"xpcd.op\":\"kickstart\",\"label\":\"fuzz.c\"}"},
		{"reload", '0', "{\"xpcd.op\":\"reload\"}"},
		{"reload-stranger", '1', "{\"xpcd.op\":\"reload\"}"},
		{"kill-idle", '0', "{\"xpcd.op\":\"kill\",\"label\":\"fuzz.a\",\"signal\":15}"},
		{"kill-bad-signal", '0', "{\"xpcd.op\":\"kill\",\"label\":\"fuzz.a\",\"signal\":99}"},
		{"unknown-op", '0', "{\"xpcd.op\":\"explode\",\"label\":\"fuzz.a\"}"},
		{"no-op", '0', "{\"label\":\"fuzz.a\"}"},
		{"op-not-string", '0', "{\"xpcd.op\":7}"},
		{"no-label", '0', "{\"xpcd.op\":\"kill\"}"},
		{"sequence", '0', "[{\"xpcd.op\":\"load\",\"path\":\"d.plist\"},{\"xpcd.op\":\"kickstart\",\"label\":\"fuzz.d\"},"
				  "{\"xpcd.op\":\"kill\",\"label\":\"fuzz.d\",\"signal\":9},{\"xpcd.op\":\"print\",\"label\":\"fuzz.d\"},"
				  "{\"xpcd.op\":\"unload\",\"label\":\"fuzz.d\"},{\"xpcd.op\":\"list\"}]"},
		{"keepalive", '0', "[{\"xpcd.op\":\"kickstart\",\"label\":\"fuzz.b\"},{\"xpcd.op\":\"kill\",\"label\":\"fuzz.b\",\"signal\":15},"
				   "{\"xpcd.op\":\"kickstart\",\"label\":\"fuzz.b\",\"kill\":true},{\"xpcd.op\":\"unload\",\"label\":\"fuzz.b\"}]"},
		{"crash-relaunch", '0', "[{\"xpcd.op\":\"enable\",\"label\":\"fuzz.c\"},{\"xpcd.op\":\"kickstart\",\"label\":\"fuzz.c\"},"
					"{\"xpcd.op\":\"kill\",\"label\":\"fuzz.c\",\"signal\":11},{\"xpcd.op\":\"disable\",\"label\":\"fuzz.c\"},"
					"{\"xpcd.op\":\"kill\",\"label\":\"fuzz.c\",\"signal\":9}]"},
		{"stranger-sequence", '1', "[{\"xpcd.op\":\"kickstart\",\"label\":\"fuzz.a\"},{\"xpcd.op\":\"kill\",\"label\":\"fuzz.a\",\"signal\":9},"
					   "{\"xpcd.op\":\"disable\",\"label\":\"fuzz.a\"},{\"xpcd.op\":\"lookup\",\"name\":\"fuzz.a.two\"}]"},
		{"links", '1', "{\"fuzz.links\":[0,0,0,0,0,0,0,0,1,1,5,-1,-2,2,3,3,3,3,3,3,3,3,-3,-1,0,4]}"},
		{"links-print", '1', "[{\"fuzz.links\":[0,4,8,-1]},{\"xpcd.op\":\"print\",\"label\":\"fuzz.a\"}]"},
		{"monitor-link", '4', "{\"xpcd.op\":\"monitor\",\"name\":\"fuzz.a.svc\",\"pid\":7}"},
		{"tap-no-link", '1', "{\"xpcd.op\":\"tap\"}"},
		{"frame-no-tap", '5', "{\"xpcd.op\":\"frame\",\"dir\":\"send\",\"kind\":\"message\",\"text\":\"x\"}"},
		{"tap-frames", '4', "[{\"xpcd.op\":\"monitor\"},{\"xpcd.op\":\"tap\"},{\"xpcd.op\":\"tap\"},"
				    "{\"xpcd.op\":\"frame\",\"dir\":\"send\",\"kind\":\"message\",\"id\":{\"$uint64\":\"3\"},"
				    "\"size\":{\"$uint64\":\"96\"},\"peer_pid\":42,\"name\":\"org.example.echo\","
				    "\"text\":\"<dictionary> { \\\"op\\\" => <string: \\\"echo\\\"> } h\\u00e9\\u20ac\\ud83d\\ude00\","
				    "\"dropped\":{\"$uint64\":\"18446744073709551615\"},\"pid\":1,\"uid\":0},"
				    "{\"xpcd.op\":\"frame\",\"dir\":\"recv\",\"kind\":\"reply\",\"peer_pid\":-5},"
				    "{\"xpcd.op\":\"frame\",\"dir\":\"sideways\",\"kind\":\"message\"},"
				    "{\"xpcd.op\":\"frame\",\"dir\":\"send\",\"kind\":7}]"},
		{"tap-stranger", '5', "[{\"xpcd.op\":\"tap\"},{\"xpcd.op\":\"monitor\",\"pid\":99},"
				      "{\"xpcd.op\":\"frame\",\"dir\":\"send\",\"kind\":\"reply\",\"name\":\"n\"}]"},
		{"unload-reload", '0', "[{\"xpcd.op\":\"unload\",\"label\":\"fuzz.a\"},{\"xpcd.op\":\"load\",\"path\":\"dup.plist\"},"
				       "{\"xpcd.op\":\"lookup\",\"name\":\"fuzz.a.svc\"},{\"xpcd.op\":\"load\",\"path\":\"a.plist\"}]"},
	};

	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++)
		put_text("fuzz-broker", reqs[i].name, reqs[i].who, reqs[i].text);
}

/* ---- job property lists ---------------------------------------------------- */

#define PLIST_HEAD "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plist version=\"1.0\"><dict>"
#define PLIST_TAIL "</dict></plist>\n"

/* A binary job file whose key Bomb holds @levels arrays, each referring
 * @fan times to the next (or, with @cycle, to the first: a cycle), the
 * last to a string: @fan^@levels nodes once expanded, in ~100 bytes. */
static void gen_bplist_refs(const char *name, unsigned levels, unsigned fan, bool cycle)
{
	static const char *const strs[] = {"Label", "Program", "Bomb", "fuzz.bomb", "/bin/true"};
	uint8_t b[512];
	size_t n = 8, offs[32], n_obj = 0, table;

	memcpy(b, "bplist00", 8);
	offs[n_obj++] = n;
	memcpy(b + n, "\xd3\x01\x02\x03\x04\x05\x06", 7); /* { 1: 4, 2: 5, 3: 6 } */
	n += 7;
	for (size_t i = 0; i < 5; i++) {
		offs[n_obj++] = n;
		b[n++] = (uint8_t)(0x50 | strlen(strs[i]));
		memcpy(b + n, strs[i], strlen(strs[i]));
		n += strlen(strs[i]);
	}
	for (unsigned l = 0; l < levels; l++) {
		offs[n_obj++] = n;
		b[n++] = (uint8_t)(0xa0 | fan);
		for (unsigned i = 0; i < fan; i++)
			b[n++] = (uint8_t)(cycle ? 6 : n_obj);
	}
	offs[n_obj++] = n;
	b[n++] = 0x51;
	b[n++] = 'x';
	table = n;
	for (size_t i = 0; i < n_obj; i++)
		b[n++] = (uint8_t)offs[i];
	memset(b + n, 0, 32);
	b[n + 6] = 1;
	b[n + 7] = 1;
	b[n + 15] = (uint8_t)n_obj;
	b[n + 31] = (uint8_t)table;
	n += 32;
	put("fuzz-plist", name, b[0], b + 1, n - 1);
}

static void gen_plist(void)
{
	static const struct {
		const char *name, *body;
	} keys[] = {
		{"keys-all", "<key>Label</key><string>l</string><key>Program</key><string>/bin/true</string>"
			     "<key>ProgramArguments</key><array><string>a</string></array>"
			     "<key>MachServices</key><dict><key>s</key><true/><key>t</key><dict/></dict>"
			     "<key>RunAtLoad</key><false/><key>Disabled</key><false/><key>KeepAlive</key><true/>"
			     "<key>EnvironmentVariables</key><dict><key>A</key><string>b</string></dict>"
			     "<key>WorkingDirectory</key><string>/</string><key>UserName</key><string>root</string>"
			     "<key>GroupName</key><string>root</string><key>StandardInPath</key><string>/dev/null</string>"
			     "<key>StandardOutPath</key><string>/dev/null</string><key>StandardErrorPath</key><string>/dev/null</string>"
			     "<key>ThrottleInterval</key><integer>1</integer><key>ExitTimeOut</key><integer>2</integer>"
			     "<key>XPCDAllowedUIDs</key><array><integer>0</integer></array>"
			     "<key>XPCDAllowedGroups</key><array><string>root</string><integer>0</integer></array>"
			     "<key>Nice</key><integer>1</integer><key>Unknown</key><true/>"},
		{"keepalive-dict", "<key>Label</key><string>l</string><key>Program</key><string>p</string>"
				   "<key>KeepAlive</key><dict><key>SuccessfulExit</key><true/><key>NetworkState</key><true/></dict>"},
		{"no-label", "<key>Program</key><string>p</string>"},
		{"no-program", "<key>Label</key><string>l</string>"},
		{"bad-group", "<key>Label</key><string>l</string><key>Program</key><string>p</string>"
			      "<key>XPCDAllowedGroups</key><array><string>no-such-group-here</string></array>"},
		{"negative", "<key>Label</key><string>l</string><key>Program</key><string>p</string>"
			     "<key>ThrottleInterval</key><integer>-1</integer>"},
		{"sockets-multicast-secure", "<key>Label</key><string>l</string><key>Program</key><string>p</string>"
					     "<key>Sockets</key><dict><key>M</key><dict><key>SockType</key><string>dgram</string>"
					     "<key>SockServiceName</key><integer>5353</integer>"
					     "<key>MulticastGroup</key><string>224.0.0.251</string><key>Bonjour</key><true/></dict>"
					     "<key>S</key><dict><key>SecureSocketWithKey</key><string>SSH_AUTH_SOCK</string></dict>"
					     "<key>B</key><dict><key>SecureSocketWithKey</key><string>XPCD_X</string></dict></dict>"},
	};
	char text[4096];

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		/* fuzz-plist takes the whole input as the file: no selector byte */
		snprintf(text, sizeof(text), "%s%s%s", PLIST_HEAD, keys[i].body, PLIST_TAIL);
		put_text("fuzz-plist", keys[i].name, text[0], text + 1);
	}
	gen_bplist_refs("binary-small-refs", 2, 3, false);
	gen_bplist_refs("binary-expansion", 5, 14, false); /* 540 000 nodes: refused */
	gen_bplist_refs("binary-cycle", 2, 3, true);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen-corpus DIR\n");
		return 2;
	}
	out_dir = argv[1];
	gen_wire();
	gen_wire_refs();
	gen_frame();
	gen_ring_frames();
	gen_ring_good();
	gen_ring_hostile();
	gen_json();
	gen_broker();
	gen_plist();
	return 0;
}
