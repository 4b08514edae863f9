/* SPDX-License-Identifier: MIT */
/*
 * plistval.c - typed reads of property list values with errors naming the
 * file and the key, and the bounded warning list (plistval.h).
 *
 * Strings holding a NUL byte are refused: libplist's string getter asserts
 * on them and a C string cannot carry one (plist.c explains the keys).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/plistval.h"

int pv_fail(PlistCtx *ctx, const char *key, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (key)
		snprintf(ctx->err, ctx->errlen, "%s: key %s: %s", ctx->path, key, what);
	else
		snprintf(ctx->err, ctx->errlen, "%s: %s", ctx->path, what);
	return -1;
}

void pv_warn(PlistCtx *ctx, const char *key, const char *fmt, ...)
{
	char what[PLIST_WARNING_LEN];
	PlistWarnings *w = ctx->warn;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (!w) {
		fprintf(stderr, "xpcd: %s: %s: %s\n", ctx->path, key, what);
		return;
	}
	if (w->n >= PLIST_MAX_WARNINGS) {
		w->dropped++;
		return;
	}
	snprintf(w->text[w->n++], PLIST_WARNING_LEN, "%s: %s", key, what);
}

int pv_string(PlistCtx *ctx, const char *key, plist_t v, char **ret)
{
	uint64_t len = 0;
	const char *p;
	char *s;

	if (plist_get_node_type(v) != PLIST_STRING)
		return pv_fail(ctx, key, "must be a string");
	p = plist_get_string_ptr(v, &len);
	if (!p || memchr(p, 0, len))
		return pv_fail(ctx, key, "must not contain a NUL byte");
	s = strndup(p, len);
	if (!s)
		return pv_fail(ctx, key, "out of memory");
	free(*ret);
	*ret = s;
	return 0;
}

int pv_bool(PlistCtx *ctx, const char *key, plist_t v, bool *ret)
{
	uint8_t b = 0;

	if (plist_get_node_type(v) != PLIST_BOOLEAN)
		return pv_fail(ctx, key, "must be a boolean");
	plist_get_bool_val(v, &b);
	*ret = b != 0;
	return 0;
}

int pv_int(PlistCtx *ctx, const char *key, plist_t v, long long min, long long max, long long *ret)
{
	uint64_t u = 0;
	long long s;

	if (plist_get_node_type(v) != PLIST_UINT)
		return pv_fail(ctx, key, "must be an integer");
	plist_get_uint_val(v, &u);
	s = (long long)u; /* libplist 2.2 holds a negative integer in two's complement */
	if (s < min || s > max)
		return pv_fail(ctx, key, "value %lld out of range (%lld to %lld)", s, min, max);
	*ret = s;
	return 0;
}

void pv_free_strv(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

int pv_string_array(PlistCtx *ctx, const char *key, plist_t v, size_t max, char ***ret)
{
	uint32_t n;
	char **a;

	if (plist_get_node_type(v) != PLIST_ARRAY)
		return pv_fail(ctx, key, "must be an array of strings");
	n = plist_array_get_size(v);
	if (n == 0 || n > max)
		return pv_fail(ctx, key, "must hold 1 to %zu strings", max);
	a = calloc(n + 1, sizeof(*a));
	if (!a)
		return pv_fail(ctx, key, "out of memory");
	pv_free_strv(*ret);
	*ret = a;
	for (uint32_t i = 0; i < n; i++)
		if (pv_string(ctx, key, plist_array_get_item(v, i), &a[i]) < 0)
			return -1;
	return 0;
}

int pv_dict_each(plist_t dict, int (*fn)(void *arg, const char *key, plist_t v), void *arg)
{
	plist_dict_iter it = NULL;
	char *k = NULL;
	plist_t item = NULL;
	int r = 0;

	plist_dict_new_iter(dict, &it);
	if (!it)
		return -1;
	for (plist_dict_next_item(dict, it, &k, &item); k && r >= 0; plist_dict_next_item(dict, it, &k, &item)) {
		r = fn(arg, k, item);
		free(k);
		k = NULL;
	}
	free(k);
	free(it);
	return r < 0 ? r : 0;
}
