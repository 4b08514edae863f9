/* SPDX-License-Identifier: MIT */
/*
 * data.c - dispatch_data: immutable bytes, contiguous or made of regions.
 *
 * A leaf holds one buffer: DISPATCH_DATA_DESTRUCTOR_DEFAULT copies the
 * bytes (the object owns the copy), _FREE adopts a malloc'd buffer, _MUNMAP
 * an mmap'd one; any other block is called on the given queue (default: a
 * global queue) when the last reference goes.  A composite (concat,
 * subrange) holds an array of ranges of leaves, each leaf retained, never
 * of other composites (they are flattened), so the bytes are shared, not
 * copied.  dispatch_data_create_map returns the object itself when its
 * bytes are contiguous (a leaf, or one range), else a new leaf with a copy.
 */
#include "dispatch/internal.h"

#include <Block.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

enum { DATA_BORROWED = 0, DATA_OWNS_MALLOC, DATA_OWNS_MMAP };

typedef struct {
	dispatch_data_t leaf; /* retained */
	size_t off, len;
} DataRange;

struct dispatch_data_s {
	DispatchHead head;
	const void *buf; /* leaf: the bytes; a one-range composite: its start */
	size_t size;
	int owns;                    /* DATA_OWNS_*: released on dispose */
	dispatch_block_t destructor; /* or this, pushed to queue */
	dispatch_queue_t queue;      /* held when destructor is set */
	DataRange *ranges;           /* composite: n > 0 ranges of leaves */
	size_t n;
};

static void data_dispose(DispatchHead *h)
{
	dispatch_data_t d = (dispatch_data_t)h;

	for (size_t i = 0; i < d->n; i++)
		dobject_release(d->ranges[i].leaf);
	free(d->ranges);
	if (d->owns == DATA_OWNS_MALLOC)
		free((void *)d->buf);
	else if (d->owns == DATA_OWNS_MMAP)
		munmap((void *)d->buf, d->size);
	if (d->destructor) {
		/* The item takes over our copy of the block (one owner at a time:
		 * BlocksRuntime's reference counts are invisible to TSan). */
		if (dqueue_async(d->queue, d->destructor, dqueue_call_block) < 0)
			Block_release(d->destructor);
		dobject_release(d->queue);
	}
	free(d);
}

static const DispatchVtable data_vtable = {.kind = DOBJ_DATA, .dispose = data_dispose};

struct dispatch_data_s _dispatch_data_empty = {.head = {.vt = &data_vtable, .refcnt = DOBJ_IMMORTAL}};

const dispatch_block_t _dispatch_data_destructor_free = ^{
};
const dispatch_block_t _dispatch_data_destructor_munmap = ^{
};

static dispatch_data_t data_new(void)
{
	dispatch_data_t d = calloc(1, sizeof(*d));

	if (d)
		dobject_init(&d->head, &data_vtable);
	return d;
}

dispatch_data_t dispatch_data_create(const void *buffer, size_t size, dispatch_queue_t queue,
				     dispatch_block_t destructor)
{
	dispatch_data_t d;

	if (!buffer || !size) {
		if (destructor == DISPATCH_DATA_DESTRUCTOR_FREE)
			free((void *)buffer);
		else if (destructor && destructor != DISPATCH_DATA_DESTRUCTOR_MUNMAP)
			dispatch_async(queue ? queue : dqueue_default_target(), destructor);
		return dispatch_data_empty;
	}
	d = data_new();
	if (!d)
		return NULL;
	d->size = size;
	if (destructor == DISPATCH_DATA_DESTRUCTOR_DEFAULT) {
		void *copy = malloc(size);

		if (!copy) {
			free(d);
			return NULL;
		}
		memcpy(copy, buffer, size);
		d->buf = copy;
		d->owns = DATA_OWNS_MALLOC;
	} else if (destructor == DISPATCH_DATA_DESTRUCTOR_FREE) {
		d->buf = buffer;
		d->owns = DATA_OWNS_MALLOC;
	} else if (destructor == DISPATCH_DATA_DESTRUCTOR_MUNMAP) {
		d->buf = buffer;
		d->owns = DATA_OWNS_MMAP;
	} else {
		d->buf = buffer;
		d->destructor = Block_copy(destructor);
		d->queue = queue ? queue : dqueue_default_target();
		dobject_retain(d->queue);
	}
	return d;
}

size_t dispatch_data_get_size(dispatch_data_t data)
{
	return data->size;
}

/* The ranges of @d: its own, or one covering a leaf (in @one). */
static const DataRange *data_ranges(dispatch_data_t d, DataRange *one, size_t *n)
{
	if (d->n) {
		*n = d->n;
		return d->ranges;
	}
	*one = (DataRange){.leaf = d, .off = 0, .len = d->size};
	*n = d->size ? 1 : 0;
	return one;
}

/* A composite of @n ranges (copied, leaves retained), or the leaf itself
 * when one range covers it all.  NULL when out of memory. */
static dispatch_data_t data_from_ranges(const DataRange *r, size_t n, size_t size)
{
	dispatch_data_t d;

	if (n == 0)
		return dispatch_data_empty;
	if (n == 1 && r[0].off == 0 && r[0].len == r[0].leaf->size) {
		dobject_retain(r[0].leaf);
		return r[0].leaf;
	}
	d = data_new();
	if (!d || !(d->ranges = malloc(n * sizeof(*r)))) {
		free(d);
		return NULL;
	}
	memcpy(d->ranges, r, n * sizeof(*r));
	d->n = n;
	d->size = size;
	for (size_t i = 0; i < n; i++)
		dobject_retain(r[i].leaf);
	if (n == 1)
		d->buf = (const char *)r[0].leaf->buf + r[0].off;
	return d;
}

dispatch_data_t dispatch_data_create_concat(dispatch_data_t data1, dispatch_data_t data2)
{
	DataRange one1, one2, *all;
	size_t n1, n2;
	const DataRange *r1 = data_ranges(data1, &one1, &n1), *r2 = data_ranges(data2, &one2, &n2);
	dispatch_data_t d;

	if (n2 == 0 || n1 == 0) {
		d = n2 == 0 ? data1 : data2;
		dobject_retain(d);
		return d;
	}
	all = malloc((n1 + n2) * sizeof(*all));
	if (!all)
		return NULL;
	memcpy(all, r1, n1 * sizeof(*all));
	memcpy(all + n1, r2, n2 * sizeof(*all));
	d = data_from_ranges(all, n1 + n2, data1->size + data2->size);
	free(all);
	return d;
}

dispatch_data_t dispatch_data_create_subrange(dispatch_data_t data, size_t offset, size_t length)
{
	DataRange one, *out;
	size_t n, k = 0, pos = 0;
	const DataRange *r = data_ranges(data, &one, &n);
	dispatch_data_t d;

	if (offset >= data->size || length == 0)
		return dispatch_data_empty;
	if (length > data->size - offset)
		length = data->size - offset;
	out = malloc(n * sizeof(*out));
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; pos += r[i].len, i++) {
		size_t lo = offset > pos ? offset - pos : 0;
		size_t end = offset + length - pos; /* relative end, may exceed len */

		if (pos + r[i].len <= offset || pos >= offset + length)
			continue;
		out[k] = r[i];
		out[k].off += lo;
		out[k].len = (end < r[i].len ? end : r[i].len) - lo;
		k++;
	}
	d = data_from_ranges(out, k, length);
	free(out);
	return d;
}

dispatch_data_t dispatch_data_create_map(dispatch_data_t data, const void **buffer_ptr, size_t *size_ptr)
{
	dispatch_data_t d = data;
	char *copy;

	if (data->n > 1) {
		copy = malloc(data->size);
		if (!copy)
			return NULL;
		for (size_t i = 0, pos = 0; i < data->n; pos += data->ranges[i].len, i++)
			memcpy(copy + pos, (const char *)data->ranges[i].leaf->buf + data->ranges[i].off,
			       data->ranges[i].len);
		d = dispatch_data_create(copy, data->size, NULL, DISPATCH_DATA_DESTRUCTOR_FREE);
		if (!d)
			return NULL;
	} else {
		dobject_retain(d);
	}
	if (buffer_ptr)
		*buffer_ptr = d->buf;
	if (size_ptr)
		*size_ptr = d->size;
	return d;
}

bool dispatch_data_apply(dispatch_data_t data, dispatch_data_applier_t applier)
{
	DataRange one;
	size_t n, pos = 0;
	const DataRange *r = data_ranges(data, &one, &n);
	bool go = true;

	for (size_t i = 0; go && i < n; pos += r[i].len, i++) {
		dispatch_data_t region = data_from_ranges(&r[i], 1, r[i].len);

		if (!region)
			return false;
		go = applier(region, pos, (const char *)r[i].leaf->buf + r[i].off, r[i].len);
		dobject_release(region);
	}
	return go;
}

dispatch_data_t dispatch_data_copy_region(dispatch_data_t data, size_t location, size_t *offset_ptr)
{
	DataRange one;
	size_t n, pos = 0;
	const DataRange *r = data_ranges(data, &one, &n);

	for (size_t i = 0; i < n; pos += r[i].len, i++) {
		if (location < pos + r[i].len) {
			if (offset_ptr)
				*offset_ptr = pos;
			return data_from_ranges(&r[i], 1, r[i].len);
		}
	}
	if (offset_ptr)
		*offset_ptr = 0;
	return dispatch_data_empty;
}
