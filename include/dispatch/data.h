/* SPDX-License-Identifier: MIT */
/*
 * <dispatch/data.h> - immutable byte containers, possibly made of several
 * regions (concatenation, subranges) that share their buffers.
 */
#ifndef __DISPATCH_DATA__
#define __DISPATCH_DATA__

#include <dispatch/base.h>

DISPATCH_BEGIN_DECLS

DISPATCH_EXPORT struct dispatch_data_s _dispatch_data_empty;
#define dispatch_data_empty (&_dispatch_data_empty)

#define DISPATCH_DATA_DESTRUCTOR_DEFAULT NULL
#ifdef __BLOCKS__
#define DISPATCH_DATA_DESTRUCTOR_FREE (_dispatch_data_destructor_free)
DISPATCH_EXPORT const dispatch_block_t _dispatch_data_destructor_free;
#define DISPATCH_DATA_DESTRUCTOR_MUNMAP (_dispatch_data_destructor_munmap)
DISPATCH_EXPORT const dispatch_block_t _dispatch_data_destructor_munmap;

DISPATCH_EXPORT dispatch_data_t dispatch_data_create(const void *buffer, size_t size, dispatch_queue_t queue,
						     dispatch_block_t destructor);
#endif
DISPATCH_EXPORT size_t dispatch_data_get_size(dispatch_data_t data);
/* A contiguous object with the same bytes (@data itself, retained, when it
 * is one region; else a copy), its buffer and size. */
DISPATCH_EXPORT dispatch_data_t dispatch_data_create_map(dispatch_data_t data, const void **buffer_ptr,
							 size_t *size_ptr);
DISPATCH_EXPORT dispatch_data_t dispatch_data_create_concat(dispatch_data_t data1, dispatch_data_t data2);
DISPATCH_EXPORT dispatch_data_t dispatch_data_create_subrange(dispatch_data_t data, size_t offset,
							      size_t length);
#ifdef __BLOCKS__
typedef bool (^dispatch_data_applier_t)(dispatch_data_t region, size_t offset, const void *buffer, size_t size);
/* Calls @applier for each contiguous region in order until it returns
 * false.  Return: true if every call returned true. */
DISPATCH_EXPORT bool dispatch_data_apply(dispatch_data_t data, DISPATCH_NOESCAPE dispatch_data_applier_t applier);
#endif
/* The contiguous region holding byte @location, and its offset. */
DISPATCH_EXPORT dispatch_data_t dispatch_data_copy_region(dispatch_data_t data, size_t location,
							  size_t *offset_ptr);

DISPATCH_END_DECLS

#endif /* __DISPATCH_DATA__ */
