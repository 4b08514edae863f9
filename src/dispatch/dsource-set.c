/* SPDX-License-Identifier: MIT */
/*
 * dsource-set.c - the source API that only reads or replaces a field:
 * handlers (a replaced block is kept until the source is freed, as it may
 * be running), handle/mask/data getters, dispatch_source_set_timer and
 * dispatch_source_merge_data.
 */
#include "dispatch/internal.h"
#include "dispatch/dsource.h"

#include <Block.h>
#include <stdlib.h>

/* Replaces a handler; the old block is kept until the source is freed, as
 * it may be running on the source's queue right now. */
static void dsource_set(dispatch_source_t ds, SourceHandler *h, dispatch_function_t f, dispatch_block_t b)
{
	dispatch_block_t copy = b ? Block_copy(b) : NULL;
	SourceRetired *r = NULL;

	pthread_mutex_lock(&ds->lock);
	if (h->block) {
		r = malloc(sizeof(*r));
		if (r) { /* else: leak it rather than risk freeing it while it runs */
			r->block = h->block;
			r->next = ds->retired;
			ds->retired = r;
		}
	}
	h->block = copy;
	h->func = f;
	pthread_mutex_unlock(&ds->lock);
}

void dispatch_source_set_event_handler(dispatch_source_t source, dispatch_block_t handler)
{
	dsource_set(source, &source->event, NULL, handler);
}

void dispatch_source_set_cancel_handler(dispatch_source_t source, dispatch_block_t handler)
{
	dsource_set(source, &source->cancel, NULL, handler);
}

void dispatch_source_set_registration_handler(dispatch_source_t source, dispatch_block_t handler)
{
	dsource_set(source, &source->reg, NULL, handler);
	if (handler && (atomic_load(&source->state) & SOURCE_ACTIVATED)) {
		atomic_fetch_or(&source->state, SOURCE_REG_PENDING);
		dsource_kick(source);
	}
}

void dispatch_source_set_event_handler_f(dispatch_source_t source, dispatch_function_t handler)
{
	dsource_set(source, &source->event, handler, NULL);
}

void dispatch_source_set_cancel_handler_f(dispatch_source_t source, dispatch_function_t handler)
{
	dsource_set(source, &source->cancel, handler, NULL);
}

void dispatch_source_set_registration_handler_f(dispatch_source_t source, dispatch_function_t handler)
{
	dsource_set(source, &source->reg, handler, NULL);
	if (handler && (atomic_load(&source->state) & SOURCE_ACTIVATED)) {
		atomic_fetch_or(&source->state, SOURCE_REG_PENDING);
		dsource_kick(source);
	}
}

intptr_t dispatch_source_testcancel(dispatch_source_t source)
{
	return (atomic_load(&source->state) & SOURCE_CANCELLED) != 0;
}

uintptr_t dispatch_source_get_handle(dispatch_source_t source)
{
	return source->handle;
}

uintptr_t dispatch_source_get_mask(dispatch_source_t source)
{
	return source->mask;
}

uintptr_t dispatch_source_get_data(dispatch_source_t source)
{
	return atomic_load(&source->data);
}

void dispatch_source_set_timer(dispatch_source_t source, dispatch_time_t start, uint64_t interval,
			       uint64_t leeway)
{
	if (source->kind != SOURCE_TIMER)
		return;
	pthread_mutex_lock(&source->lock);
	source->t_start = dobject_deadline_ns(start);
	source->t_interval = interval;
	source->t_leeway = leeway;
	if ((atomic_load(&source->state) & (SOURCE_ACTIVATED | SOURCE_CANCELLED)) == SOURCE_ACTIVATED)
		dsource_timer_apply_locked(source);
	pthread_mutex_unlock(&source->lock);
}

void dispatch_source_merge_data(dispatch_source_t source, uintptr_t value)
{
	int op;

	switch (source->kind) {
	case SOURCE_DATA_ADD:
		op = SOURCE_MERGE_ADD;
		break;
	case SOURCE_DATA_OR:
		op = SOURCE_MERGE_OR;
		break;
	case SOURCE_DATA_REPLACE:
		op = SOURCE_MERGE_SET;
		break;
	default:
		return;
	}
	if (value)
		dsource_merge(source, value, op);
}
