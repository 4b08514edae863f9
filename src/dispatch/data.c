/*
 * data.c - the part of dispatch_data that xpc_data_create_with_dispatch_data
 * needs: contiguous, immutable buffers.
 *
 * DISPATCH_DATA_DESTRUCTOR_DEFAULT copies the bytes (the object owns the
 * copy); DISPATCH_DATA_DESTRUCTOR_FREE adopts a malloc'd buffer and frees
 * it; any other block is called on the given queue (default: a global
 * queue) when the last reference goes.  dispatch_data_create_map returns the
 * same (contiguous) object with one more reference.
 */
#include "dispatch/internal.h"

#include <Block.h>
#include <stdlib.h>
#include <string.h>

struct dispatch_data_s {
	DispatchHead head;
	const void *buf;
	size_t size;
	int owns;                  /* free(buf) on dispose */
	dispatch_block_t destructor; /* or this, pushed to queue */
	dispatch_queue_t queue;      /* held when destructor is set */
};

static void data_dispose(DispatchHead *h)
{
	dispatch_data_t d = (dispatch_data_t)h;

	if (d->owns)
		free((void *)d->buf);
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

dispatch_data_t dispatch_data_create(const void *buffer, size_t size, dispatch_queue_t queue,
				     dispatch_block_t destructor)
{
	dispatch_data_t d;

	if (!buffer || !size) {
		if (destructor == DISPATCH_DATA_DESTRUCTOR_FREE)
			free((void *)buffer);
		else if (destructor)
			dispatch_async(queue ? queue : dqueue_default_target(), destructor);
		return dispatch_data_empty;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	dobject_init(&d->head, &data_vtable);
	d->size = size;
	if (destructor == DISPATCH_DATA_DESTRUCTOR_DEFAULT) {
		void *copy = malloc(size);

		if (!copy) {
			free(d);
			return NULL;
		}
		memcpy(copy, buffer, size);
		d->buf = copy;
		d->owns = 1;
	} else if (destructor == DISPATCH_DATA_DESTRUCTOR_FREE) {
		d->buf = buffer;
		d->owns = 1;
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

dispatch_data_t dispatch_data_create_map(dispatch_data_t data, const void **buffer_ptr, size_t *size_ptr)
{
	dobject_retain(data);
	if (buffer_ptr)
		*buffer_ptr = data->buf;
	if (size_ptr)
		*size_ptr = data->size;
	return data;
}
