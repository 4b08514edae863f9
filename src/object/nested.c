/* SPDX-License-Identifier: MIT */
/*
 * nested.c - the getters of a container inside a container (macOS 14):
 * xpc_array_get_array/_get_dictionary, xpc_dictionary_get_array/
 * _get_dictionary.  Each returns the value (borrowed) when it is of that
 * type, else NULL.
 *
 * They are the only functions that know both kinds of container, so they
 * sit above both: this file calls array.c and dictionary.c, which call
 * neither each other nor this file.
 */
#include "object/internal.h"

xpc_object_t xpc_array_get_array(xpc_object_t xarray, size_t index)
{
	xpc_object_t v = xpc_array_get_value(xarray, index);

	return object_is(v, XPC_TYPE_ARRAY) ? v : NULL;
}

xpc_object_t xpc_array_get_dictionary(xpc_object_t xarray, size_t index)
{
	xpc_object_t v = xpc_array_get_value(xarray, index);

	return object_is(v, XPC_TYPE_DICTIONARY) ? v : NULL;
}

xpc_object_t xpc_dictionary_get_array(xpc_object_t xdict, const char *key)
{
	xpc_object_t v = xpc_dictionary_get_value(xdict, key);

	return object_is(v, XPC_TYPE_ARRAY) ? v : NULL;
}

xpc_object_t xpc_dictionary_get_dictionary(xpc_object_t xdict, const char *key)
{
	xpc_object_t v = xpc_dictionary_get_value(xdict, key);

	return object_is(v, XPC_TYPE_DICTIONARY) ? v : NULL;
}
