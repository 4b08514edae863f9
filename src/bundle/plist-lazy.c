/* SPDX-License-Identifier: MIT */
/*
 * plist-lazy.c - libplist for locate.c, loaded on first use (plist-lazy.h)
 * by src/shared/lazylib.c, by the soname libxpc was built against
 * (XPC_PLIST_SONAME, read from the library at configure time).
 */
#include <errno.h>
#include <stdio.h>

#include "bundle/plist-lazy.h"
#include "shared/lazylib.h"

#ifndef XPC_PLIST_SONAME
#error "XPC_PLIST_SONAME is set by meson.build"
#endif

static struct {
	void (*from_memory)(const char *, uint32_t, plist_t *);
	plist_type (*get_node_type)(plist_t);
	void (*free)(plist_t);
	plist_t (*dict_get_item)(plist_t, const char *);
	const char *(*get_string_ptr)(plist_t, uint64_t *);
	uint32_t (*dict_get_size)(plist_t);
	void (*dict_new_iter)(plist_t, plist_dict_iter *);
	void (*dict_next_item)(plist_t, plist_dict_iter, char **, plist_t *);
} P;

static const LazySymbol plist_symbols[] = {
	{"plist_from_memory", (void **)&P.from_memory},
	{"plist_get_node_type", (void **)&P.get_node_type},
	{"plist_free", (void **)&P.free},
	{"plist_dict_get_item", (void **)&P.dict_get_item},
	{"plist_get_string_ptr", (void **)&P.get_string_ptr},
	{"plist_dict_get_size", (void **)&P.dict_get_size},
	{"plist_dict_new_iter", (void **)&P.dict_new_iter},
	{"plist_dict_next_item", (void **)&P.dict_next_item},
};

static LazyLib plist_lib = LAZYLIB_INIT(XPC_PLIST_SONAME, plist_symbols);

int bundle_plist_load(char *why, size_t size)
{
	if (lazylib_load(&plist_lib) == 0)
		return 0;
	snprintf(why, size, "cannot read Info.plist: %s", plist_lib.why);
	return -ELIBACC;
}

void bundle_plist_from_memory(const char *data, uint32_t length, plist_t *plist)
{
	P.from_memory(data, length, plist);
}

plist_type bundle_plist_get_node_type(plist_t node)
{
	return P.get_node_type(node);
}

void bundle_plist_free(plist_t plist)
{
	P.free(plist);
}

plist_t bundle_plist_dict_get_item(plist_t node, const char *key)
{
	return P.dict_get_item(node, key);
}

const char *bundle_plist_get_string_ptr(plist_t node, uint64_t *length)
{
	return P.get_string_ptr(node, length);
}

uint32_t bundle_plist_dict_get_size(plist_t node)
{
	return P.dict_get_size(node);
}

void bundle_plist_dict_new_iter(plist_t node, plist_dict_iter *iter)
{
	P.dict_new_iter(node, iter);
}

void bundle_plist_dict_next_item(plist_t node, plist_dict_iter iter, char **key, plist_t *val)
{
	P.dict_next_item(node, iter, key, val);
}
