/* SPDX-License-Identifier: MIT */
/*
 * plist-lazy.c - libplist for locate.c, loaded on first use (plist-lazy.h).
 *
 * The library is opened by the soname libxpc was built against
 * (XPC_PLIST_SONAME, read from the library at configure time), as the
 * dynamic linker would have found it for a DT_NEEDED entry: the same
 * system directories, and no search path from the environment in secure
 * execution (where locate.c does nothing anyway).  RTLD_NOW | RTLD_LOCAL;
 * it stays loaded.  Each function is looked up once; the table is filled
 * under pthread_once and read only after a successful bundle_plist_load().
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

#include "bundle/plist-lazy.h"

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

static pthread_once_t plist_once = PTHREAD_ONCE_INIT;
static bool plist_loaded;
static char plist_why[256];

static void plist_load_once(void)
{
	void *h = dlopen(XPC_PLIST_SONAME, RTLD_NOW | RTLD_LOCAL);
	const char *err;

	if (!h) {
		err = dlerror();
		snprintf(plist_why, sizeof(plist_why), "%s", err ? err : XPC_PLIST_SONAME ": cannot load");
		return;
	}
	*(void **)&P.from_memory = dlsym(h, "plist_from_memory");
	*(void **)&P.get_node_type = dlsym(h, "plist_get_node_type");
	*(void **)&P.free = dlsym(h, "plist_free");
	*(void **)&P.dict_get_item = dlsym(h, "plist_dict_get_item");
	*(void **)&P.get_string_ptr = dlsym(h, "plist_get_string_ptr");
	*(void **)&P.dict_get_size = dlsym(h, "plist_dict_get_size");
	*(void **)&P.dict_new_iter = dlsym(h, "plist_dict_new_iter");
	*(void **)&P.dict_next_item = dlsym(h, "plist_dict_next_item");
	plist_loaded = P.from_memory && P.get_node_type && P.free && P.dict_get_item && P.get_string_ptr &&
		       P.dict_get_size && P.dict_new_iter && P.dict_next_item;
	if (!plist_loaded)
		snprintf(plist_why, sizeof(plist_why), "%s: a function is missing", XPC_PLIST_SONAME);
}

int bundle_plist_load(char *why, size_t size)
{
	pthread_once(&plist_once, plist_load_once);
	if (plist_loaded)
		return 0;
	snprintf(why, size, "cannot read Info.plist: %s", plist_why);
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
