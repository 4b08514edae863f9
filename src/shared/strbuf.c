/* SPDX-License-Identifier: MIT */
/*
 * strbuf.c - a growable, always NUL-terminated string buffer.
 *
 * Invariants: data is NULL (nothing appended yet) or a malloc'd block of cap
 * bytes holding len bytes of text followed by a NUL.  Once an allocation
 * fails, oom is set and every later append is a no-op; strbuf_steal() then
 * returns NULL and frees what was built.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/strbuf.h"

/* Makes room for @extra more bytes plus the NUL; false (and oom) on failure. */
static bool strbuf_reserve(StrBuf *sb, size_t extra)
{
	size_t need, cap;
	char *p;

	if (sb->oom)
		return false;
	if (extra > SIZE_MAX - sb->len - 1)
		goto fail;
	need = sb->len + extra + 1;
	if (need <= sb->cap)
		return true;
	cap = sb->cap ? sb->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	p = realloc(sb->data, cap);
	if (!p)
		goto fail;
	sb->data = p;
	sb->cap = cap;
	return true;
fail:
	sb->oom = true;
	return false;
}

void strbuf_append_len(StrBuf *sb, const char *s, size_t n)
{
	if (!strbuf_reserve(sb, n))
		return;
	if (n)
		memcpy(sb->data + sb->len, s, n);
	sb->len += n;
	sb->data[sb->len] = '\0';
}

void strbuf_append(StrBuf *sb, const char *s)
{
	strbuf_append_len(sb, s, strlen(s));
}

void strbuf_vprintf(StrBuf *sb, const char *fmt, va_list ap)
{
	va_list aq;
	int n;

	if (sb->oom)
		return;
	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0) {
		sb->oom = true;
		return;
	}
	if (!strbuf_reserve(sb, (size_t)n))
		return;
	vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
	sb->len += (size_t)n;
}

void strbuf_printf(StrBuf *sb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	strbuf_vprintf(sb, fmt, ap);
	va_end(ap);
}

void strbuf_indent(StrBuf *sb, unsigned levels)
{
	if (!strbuf_reserve(sb, levels))
		return;
	memset(sb->data + sb->len, '\t', levels);
	sb->len += levels;
	sb->data[sb->len] = '\0';
}

char *strbuf_steal(StrBuf *sb)
{
	char *s;

	if (sb->oom) {
		strbuf_free(sb);
		return NULL;
	}
	s = sb->data ? sb->data : calloc(1, 1);
	sb->data = NULL;
	sb->len = sb->cap = 0;
	return s;
}

void strbuf_free(StrBuf *sb)
{
	free(sb->data);
	sb->data = NULL;
	sb->len = sb->cap = 0;
	sb->oom = false;
}
