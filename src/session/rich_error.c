/* SPDX-License-Identifier: MIT */
/*
 * rich_error.c - rich errors (<xpc/rich_error.h>): an immutable object with
 * a description and a can-retry flag.
 *
 * Described by xpc_copy_description() as
 *     <rich_error: 0x...> { can_retry = false, description = "..." }
 */
#include "session/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct _xpc_rich_error_s {
	struct xpc_object_s head;
	bool can_retry;
	char text[];
};

static void rich_error_describe(xpc_object_t obj, StrBuf *sb, unsigned indent)
{
	struct _xpc_rich_error_s *e = obj;

	strbuf_printf(sb, "{ can_retry = %s, description = \"%s\" }",
		      e->can_retry ? "true" : "false", e->text);
}

const struct _xpc_type_s _xpc_type_rich_error = {
	.name = "rich_error",
	.describe = rich_error_describe,
};

xpc_rich_error_t rich_error_create(const char *text, bool can_retry)
{
	size_t len = strlen(text);
	struct _xpc_rich_error_s *e = object_alloc(&_xpc_type_rich_error, sizeof(*e) + len + 1);

	if (!e)
		return NULL;
	e->can_retry = can_retry;
	memcpy(e->text, text, len + 1);
	return e;
}

xpc_rich_error_t rich_error_createf(bool can_retry, const char *fmt, ...)
{
	xpc_rich_error_t e;
	va_list ap;
	char *text;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	e = rich_error_create(text, can_retry);
	free(text);
	return e;
}

static struct _xpc_rich_error_s *rich_error_cast(xpc_rich_error_t error)
{
	if (xpc_get_type(error) != XPC_TYPE_RICH_ERROR)
		return NULL;
	return (struct _xpc_rich_error_s *)error;
}

char *xpc_rich_error_copy_description(xpc_rich_error_t error)
{
	struct _xpc_rich_error_s *e = rich_error_cast(error);

	return e ? strdup(e->text) : NULL;
}

bool xpc_rich_error_can_retry(xpc_rich_error_t error)
{
	struct _xpc_rich_error_s *e = rich_error_cast(error);

	return e && e->can_retry;
}
