/* SPDX-License-Identifier: MIT */
/*
 * uuidtext.h - a UUID's 36-character text (8-4-4-4-12 hex digits) and
 * back, as libuuid's uuid_unparse_lower/_upper and uuid_parse write and
 * read it: the only libuuid calls libxpc made (describing a uuid object,
 * the JSON extension), so libxpc.so does not link libuuid for them
 * (docs/performance.md, "The idle client").  <xpc/xpc.h> still takes
 * uuid_t from <uuid/uuid.h>.
 */
#ifndef XPC_SHARED_UUIDTEXT_H
#define XPC_SHARED_UUIDTEXT_H

#include <stdbool.h>
#include <stdint.h>

#define UUIDTEXT_SIZE 37 /* the text and its NUL */

/* The text of @uu into @out (UUIDTEXT_SIZE bytes), lower or upper case. */
void uuidtext_format(const uint8_t uu[16], bool upper, char *out);

/* @in, exactly 36 characters with '-' at 8, 13, 18 and 23 and hex digits
 * of either case elsewhere, into @uu.  Return: 0, or -1 (@uu untouched). */
int uuidtext_parse(const char *in, uint8_t uu[16]);

#endif
