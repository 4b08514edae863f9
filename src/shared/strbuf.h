/* SPDX-License-Identifier: MIT */
/*
 * strbuf.h - a growable, always NUL-terminated string buffer.
 *
 * Used for descriptions and messages.  Out of memory is sticky: the buffer
 * remembers it, further appends do nothing, and strbuf_steal() returns NULL,
 * so callers check once at the end instead of after every append.
 */
#ifndef XPC_SHARED_STRBUF_H
#define XPC_SHARED_STRBUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct StrBuf {
	char *data; /* NUL-terminated when len > 0 or after the first append */
	size_t len;
	size_t cap;
	bool oom;
} StrBuf;

#define STRBUF_INIT {0}

void strbuf_append(StrBuf *sb, const char *s);
void strbuf_append_len(StrBuf *sb, const char *s, size_t n);
void strbuf_printf(StrBuf *sb, const char *fmt, ...) __attribute__((__format__(__printf__, 2, 3)));
void strbuf_vprintf(StrBuf *sb, const char *fmt, va_list ap) __attribute__((__format__(__printf__, 2, 0)));
void strbuf_indent(StrBuf *sb, unsigned levels); /* appends levels tabs */
/* Return: the malloc'd string (caller frees; "" if empty), or NULL if an
 * append ran out of memory.  The buffer is empty afterwards. */
char *strbuf_steal(StrBuf *sb);
void strbuf_free(StrBuf *sb);

#endif
