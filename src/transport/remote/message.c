/* SPDX-License-Identifier: MIT */
/*
 * message.c - the RemoteXPC message wrapper (docs/remote.md).
 *
 *     u32 0x29b00b92 | u32 flags | u64 L | u64 message id | L bytes
 *
 * The L bytes are a standalone object (magic 0x42133742, version 5, Apple's
 * encoding: src/wire).  Little-endian throughout.
 *
 * The reader is a small state machine per stream: the 24-byte header is
 * collected first and checked (magic, flags, L against REMOTE_MAX_BODY)
 * before anything is allocated; the body buffer then grows with the bytes
 * actually received (doubling, never past L), so a peer that announces a
 * large body and sends little costs little.  A body is decoded by the
 * strict wire decoder the moment it is complete; a body that does not
 * decode is handed out with its error (the framing is intact, the session
 * decides).
 *
 * Budget: the body bytes all readers of the process hold at once beyond
 * READER_SMALL each are counted; past the budget set with remote_reader_set_budget() (the
 * serving side sets REMOTE_MAX_HELD_INPUT; unlimited otherwise) a reader
 * fails with REMOTE_E_BUDGET, so many sessions that each announce a large
 * body and send all but its end cannot hold more than the budget, and
 * messages of up to READER_SMALL bytes are always read.
 */
#include <endian.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "transport/remote/remote.h"

#define READER_SMALL (64u << 10) /* a buffer kept between messages, never counted */

static _Atomic size_t reader_held; /* body bytes of all readers beyond READER_SMALL each */
static _Atomic size_t reader_budget = SIZE_MAX;

/* What a buffer of @cap bytes counts against the budget. */
static size_t reader_counted(size_t cap)
{
	return cap > READER_SMALL ? cap - READER_SMALL : 0;
}

void remote_reader_set_budget(size_t bytes)
{
	atomic_store(&reader_budget, bytes);
}

/* Takes @more bytes of the budget.  Return: 0, or REMOTE_E_BUDGET. */
static int reader_charge(size_t more)
{
	if (atomic_fetch_add(&reader_held, more) + more > atomic_load(&reader_budget)) {
		atomic_fetch_sub(&reader_held, more);
		return REMOTE_E_BUDGET;
	}
	return 0;
}

static void reader_drop_body(RemoteReader *r)
{
	free(r->body);
	atomic_fetch_sub(&reader_held, reader_counted(r->body_cap));
	r->body = NULL;
	r->body_cap = 0;
}

void remote_reader_init(RemoteReader *r)
{
	memset(r, 0, sizeof(*r));
}

void remote_reader_free(RemoteReader *r)
{
	reader_drop_body(r);
	remote_reader_init(r);
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return le32toh(v);
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return le64toh(v);
}

/* The header is complete: check it and set up for the body. */
static int reader_take_header(RemoteReader *r)
{
	uint64_t len = rd64(r->hdr + 8);

	if (rd32(r->hdr) != REMOTE_WRAPPER_MAGIC)
		return REMOTE_E_BAD_MAGIC;
	r->flags = rd32(r->hdr + 4);
	if (!(r->flags & REMOTE_FLAG_ALWAYS_SET) || (r->flags & ~REMOTE_FLAGS_KNOWN))
		return REMOTE_E_BAD_FLAGS;
	if (len > REMOTE_MAX_BODY)
		return REMOTE_E_TOO_BIG;
	r->body_len = (size_t)len;
	r->id = rd64(r->hdr + 16);
	r->body_have = 0;
	return 0;
}

/* Room for @more body bytes: grows by doubling, capped at L. */
static int reader_reserve(RemoteReader *r, size_t more)
{
	size_t need = r->body_have + more, cap = r->body_cap ? r->body_cap : 256;
	uint8_t *p;

	if (need <= r->body_cap)
		return 0;
	while (cap < need)
		cap *= 2;
	if (cap > r->body_len)
		cap = r->body_len;
	if (reader_charge(reader_counted(cap) - reader_counted(r->body_cap)))
		return REMOTE_E_BUDGET;
	p = realloc(r->body, cap);
	if (!p) {
		atomic_fetch_sub(&reader_held, reader_counted(cap) - reader_counted(r->body_cap));
		return -ENOMEM;
	}
	r->body = p;
	r->body_cap = cap;
	return 0;
}

/* The body is complete: decode it into @m and reset for the next header. */
static void reader_finish(RemoteReader *r, RemoteMessage *m)
{
	m->flags = r->flags;
	m->id = r->id;
	m->body = NULL;
	m->body_error = 0;
	if (r->body_len)
		m->body_error = wire_decode_object(r->body, r->body_len, &m->body);
	if (m->body_error)
		m->body = NULL;
	r->hdr_len = 0;
	r->body_len = 0;
	r->body_have = 0;
	if (r->body_cap > READER_SMALL) /* keep a small buffer, not a large one */
		reader_drop_body(r);
}

int remote_reader_feed(RemoteReader *r, const uint8_t *p, size_t n, size_t *ret_used, RemoteMessage *ret_msg)
{
	size_t used = 0, take;
	int err;

	*ret_used = 0;
	if (r->hdr_len < REMOTE_HEADER_SIZE) {
		take = REMOTE_HEADER_SIZE - r->hdr_len;
		take = take < n ? take : n;
		memcpy(r->hdr + r->hdr_len, p, take);
		r->hdr_len += take;
		used = take;
		*ret_used = used;
		if (r->hdr_len < REMOTE_HEADER_SIZE)
			return 0;
		err = reader_take_header(r);
		if (err)
			return err;
	}
	take = r->body_len - r->body_have;
	take = take < n - used ? take : n - used;
	if (take) {
		err = reader_reserve(r, take);
		if (err)
			return err;
		memcpy(r->body + r->body_have, p + used, take);
		r->body_have += take;
		used += take;
	}
	*ret_used = used;
	if (r->body_have < r->body_len)
		return 0;
	reader_finish(r, ret_msg);
	return 1;
}

static void wr32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static void wr64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, 8);
}

int remote_message_encode(uint32_t flags, uint64_t id, xpc_object_t body, uint8_t **ret_bytes, size_t *ret_len)
{
	WireBuffer buf = {0};
	uint8_t *out;
	int err;

	if (body) {
		err = wire_encode_object(body, &buf);
		if (!err && buf.len > REMOTE_MAX_BODY)
			err = REMOTE_E_TOO_BIG;
		if (err) {
			wire_buffer_free(&buf);
			return err;
		}
	}
	out = malloc(REMOTE_HEADER_SIZE + buf.len);
	if (!out) {
		wire_buffer_free(&buf);
		return -ENOMEM;
	}
	wr32(out, REMOTE_WRAPPER_MAGIC);
	wr32(out + 4, flags);
	wr64(out + 8, buf.len);
	wr64(out + 16, id);
	if (buf.len)
		memcpy(out + REMOTE_HEADER_SIZE, buf.data, buf.len);
	*ret_len = REMOTE_HEADER_SIZE + buf.len;
	*ret_bytes = out;
	wire_buffer_free(&buf);
	return 0;
}

const char *remote_strerror(int err)
{
	switch (err) {
	case REMOTE_E_BAD_MAGIC:
		return "bad message wrapper magic";
	case REMOTE_E_BAD_FLAGS:
		return "bad message flags";
	case REMOTE_E_TOO_BIG:
		return "message too large";
	case REMOTE_E_BUDGET:
		return "memory for incoming messages of all sessions";
	default:
		return wire_strerror(err);
	}
}

xpc_object_t remote_error_dictionary(const char *text)
{
	xpc_object_t d = xpc_dictionary_create(NULL, NULL, 0);

	if (d)
		xpc_dictionary_set_string(d, XPC_ERROR_KEY_DESCRIPTION, text);
	return d;
}
