/*
 * fuzz-common.c - the helpers of fuzz.h: descriptor counting, the
 * structural comparison used by the round-trip targets, fuzz_fail().
 */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "object/object.h"

int fuzz_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		fuzz_fail("cannot open /proc/self/fd");
	while (readdir(d))
		n++;
	closedir(d);
	return n - 3; /* ".", ".." and the directory's own descriptor */
}

void fuzz_check_fds(int before, int after, const char *where)
{
	if (after > before)
		fuzz_fail("%s: %d descriptor(s) leaked", where, after - before);
}

void fuzz_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("fuzz: invariant broken: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

static bool same_array(xpc_object_t a, xpc_object_t b)
{
	size_t n = xpc_array_get_count(a);

	if (n != xpc_array_get_count(b))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!fuzz_same(xpc_array_get_value(a, i), xpc_array_get_value(b, i)))
			return false;
	return true;
}

static bool same_dictionary(xpc_object_t a, xpc_object_t b)
{
	if (xpc_dictionary_get_count(a) != xpc_dictionary_get_count(b))
		return false;
	return xpc_dictionary_apply(a, ^bool(const char *key, xpc_object_t value) {
		xpc_object_t other = xpc_dictionary_get_value(b, key);
		return other && fuzz_same(value, other);
	});
}

bool fuzz_same(xpc_object_t a, xpc_object_t b)
{
	xpc_type_t t = xpc_get_type(a);

	if (!a || !b || t != xpc_get_type(b))
		return false;
	if (t == XPC_TYPE_ARRAY)
		return same_array(a, b);
	if (t == XPC_TYPE_DICTIONARY)
		return same_dictionary(a, b);
	if (t == XPC_TYPE_DOUBLE) {
		double x = xpc_double_get_value(a), y = xpc_double_get_value(b);
		return memcmp(&x, &y, sizeof(x)) == 0;
	}
	if (t == XPC_TYPE_FD || t == XPC_TYPE_ENDPOINT)
		return true;
	if (t == XPC_TYPE_SHMEM)
		return shmem_object_get_size(a) == shmem_object_get_size(b);
	return xpc_equal(a, b);
}

bool fuzz_has_unordered(xpc_object_t obj)
{
	xpc_type_t t = xpc_get_type(obj);

	if (t == XPC_TYPE_ARRAY)
		return !xpc_array_apply(obj, ^bool(size_t i, xpc_object_t v) {
			(void)i;
			return !fuzz_has_unordered(v);
		});
	if (t != XPC_TYPE_DICTIONARY)
		return false;
	if (xpc_dictionary_get_count(obj) > 1)
		return true;
	return !xpc_dictionary_apply(obj, ^bool(const char *k, xpc_object_t v) {
		(void)k;
		return !fuzz_has_unordered(v);
	});
}
