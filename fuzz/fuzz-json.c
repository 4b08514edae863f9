/*
 * fuzz-json.c - fuzz target for the JSON mapping (src/wire/json.c), both
 * directions.
 *
 * Input: byte 0 chooses where the object comes from; the rest is
 *   even  JSON text, read with xpc_linux_create_from_json()
 *   odd   a standalone wire object (wire_decode_object), so the writer also
 *         sees graphs the reader never makes (a one-key "$..." dictionary,
 *         NaN, deep nesting)
 *
 * Invariants: no crash or leak; an object read from JSON writes back; what
 * xpc_linux_copy_json() writes reads back to the same graph (fuzz_same) and
 * writes the same text again (keys are sorted).  The writer may refuse only
 * what JSON cannot hold: a non-finite double.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "wire/wire.h"

static bool has_nonfinite(xpc_object_t obj)
{
	xpc_type_t t = xpc_get_type(obj);

	if (t == XPC_TYPE_DOUBLE)
		return !isfinite(xpc_double_get_value(obj));
	if (t == XPC_TYPE_ARRAY)
		return !xpc_array_apply(obj, ^bool(size_t i, xpc_object_t v) {
			(void)i;
			return !has_nonfinite(v);
		});
	if (t == XPC_TYPE_DICTIONARY)
		return !xpc_dictionary_apply(obj, ^bool(const char *k, xpc_object_t v) {
			(void)k;
			return !has_nonfinite(v);
		});
	return false;
}

static void check_writes_back(xpc_object_t obj, bool from_json)
{
	char *j1 = xpc_linux_copy_json(obj, XPC_LINUX_JSON_COMPACT), *j2, *err = NULL;
	xpc_object_t obj2;

	if (!j1) {
		if (from_json || !has_nonfinite(obj))
			fuzz_fail("xpc_linux_copy_json refused a %s object", from_json ? "JSON" : "wire");
		return;
	}
	obj2 = xpc_linux_create_from_json(j1, &err);
	if (!obj2)
		fuzz_fail("JSON written by xpc_linux_copy_json does not read back: %s\n%s", err, j1);
	if (!fuzz_same(obj, obj2))
		fuzz_fail("JSON round trip changed the object:\n%s", j1);
	j2 = xpc_linux_copy_json(obj2, XPC_LINUX_JSON_COMPACT);
	if (!j2 || strcmp(j1, j2))
		fuzz_fail("JSON written twice differs:\n%s\n%s", j1, j2 ? j2 : "(null)");
	free(j2);
	free(j1);
	xpc_release(obj2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	xpc_object_t obj = NULL;
	char *text, *err = NULL;
	bool from_json;

	if (size < 1)
		return 0;
	from_json = !(data[0] & 1);
	if (from_json) {
		text = strndup((const char *)data + 1, size - 1);
		if (!text)
			return 0;
		obj = xpc_linux_create_from_json(text, &err);
		if (!obj && !err)
			fuzz_fail("xpc_linux_create_from_json failed without a message");
		free(err);
		free(text);
	} else if (wire_decode_object(data + 1, size - 1, &obj) != 0) {
		obj = NULL;
	}
	if (obj) {
		check_writes_back(obj, from_json);
		xpc_release(obj);
	}
	return 0;
}
