/* SPDX-License-Identifier: MIT */
/*
 * bplist.c - the expanded size of a binary property list, counted before
 * libplist builds anything (plist.c calls it on every file).
 *
 * Bytes alone do not bound a binary list: its objects refer to others by
 * number, and libplist copies an object for every reference, so an array
 * referring k times to an array referring k times to ... expands to
 * k^depth nodes (196 bytes asked libplist for 1.22 GB).  bplist_nodes()
 * counts the expanded tree from the object table, memoised per object, and
 * the file is refused above BPLIST_MAX_NODES (or nested deeper than
 * BPLIST_MAX_DEPTH, or referring to itself).  A leaf: no other broker file.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/bplist.h"

typedef struct BplistScan {
	const uint8_t *buf;
	size_t len;
	unsigned offset_size, ref_size;
	uint64_t n_objects, table;
	uint64_t *nodes; /* per object: its expanded node count, 0 = not counted yet */
	uint8_t *busy;   /* per object: being counted (a reference back is a cycle) */
} BplistScan;

static uint64_t be_read(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* The count of the container at @off (marker's low nibble, or the integer
 * object after it) and where its references start.  Return: 0, or -1. */
static int bplist_count(const BplistScan *b, uint64_t off, uint64_t *ret_count, uint64_t *ret_refs)
{
	unsigned info = b->buf[off] & 0x0f, width;

	if (info != 0x0f) {
		*ret_count = info;
		*ret_refs = off + 1;
		return 0;
	}
	if (off + 2 > b->len || (b->buf[off + 1] & 0xf0) != 0x10 || (b->buf[off + 1] & 0x0f) > 3)
		return -1;
	width = 1u << (b->buf[off + 1] & 0x0f);
	if (off + 2 + width > b->len)
		return -1;
	*ret_count = be_read(b->buf + off + 2, width);
	*ret_refs = off + 2 + width;
	return 0;
}

/* Nodes of object @obj's expanded tree, saturated at BPLIST_MAX_NODES + 1.
 * Return: the count, or 0 when the list is malformed, cyclic or too deep. */
static uint64_t bplist_nodes(BplistScan *b, uint64_t obj, unsigned depth)
{
	uint64_t off, count, refs, total = 1, n_refs;
	unsigned type;

	if (obj >= b->n_objects || depth > BPLIST_MAX_DEPTH || b->busy[obj])
		return 0;
	if (b->nodes[obj])
		return b->nodes[obj];
	off = be_read(b->buf + b->table + obj * b->offset_size, b->offset_size);
	if (off < 8 || off >= b->len)
		return 0;
	type = b->buf[off] >> 4;
	if (type == 0xA || type == 0xC || type == 0xD) {
		if (bplist_count(b, off, &count, &refs) < 0 || count > b->len)
			return 0;
		n_refs = type == 0xD ? 2 * count : count;
		if (refs + n_refs * b->ref_size > b->len)
			return 0;
		b->busy[obj] = 1;
		for (uint64_t i = 0; i < n_refs && total <= BPLIST_MAX_NODES; i++) {
			uint64_t n = bplist_nodes(b, be_read(b->buf + refs + i * b->ref_size, b->ref_size), depth + 1);
			if (!n) {
				b->busy[obj] = 0;
				return 0;
			}
			total += n;
		}
		b->busy[obj] = 0;
	}
	if (total > BPLIST_MAX_NODES)
		total = BPLIST_MAX_NODES + 1;
	b->nodes[obj] = total;
	return total;
}

static int why(char *err, size_t errlen, const char *fmt, ...) __attribute__((__format__(__printf__, 3, 4)));
static int why(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

int bplist_check(const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	BplistScan b = {.buf = buf, .len = len};
	const uint8_t *t = buf + len - 32;
	uint64_t root, n = 0;

	if (len < 8 + 32 || memcmp(buf, "bplist00", 8))
		return 0;
	b.offset_size = t[6];
	b.ref_size = t[7];
	b.n_objects = be_read(t + 8, 8);
	root = be_read(t + 16, 8);
	b.table = be_read(t + 24, 8);
	if (b.offset_size < 1 || b.offset_size > 8 || b.ref_size < 1 || b.ref_size > 8 || b.n_objects == 0 ||
	    b.n_objects > len || b.table > len - 32 || b.n_objects * b.offset_size > len - 32 - b.table)
		return why(err, errlen, "not a valid binary property list (its trailer)");
	b.nodes = calloc(b.n_objects, sizeof(*b.nodes));
	b.busy = calloc(b.n_objects, 1);
	if (b.nodes && b.busy)
		n = bplist_nodes(&b, root, 0);
	free(b.nodes);
	free(b.busy);
	if (!b.nodes || !b.busy)
		return why(err, errlen, "out of memory");
	if (n == 0)
		return why(err, errlen, "not a valid binary property list (an object refers to itself, lies outside "
				     "the file or is nested deeper than %d)", BPLIST_MAX_DEPTH);
	if (n > BPLIST_MAX_NODES)
		return why(err, errlen, "expands to more than %u nodes (objects referred to many times): refused",
			    BPLIST_MAX_NODES);
	return 0;
}

