/* SPDX-License-Identifier: MIT */
/*
 * plist-lazy.h - the libplist calls of locate.c, through libplist loaded
 * on first use (plist-lazy.c): only a program that starts a bundled
 * service reads an Info.plist, and libplist (with the libm it needs)
 * would otherwise be ~0.38 MiB of every process's resident set
 * (docs/performance.md, "The idle client").
 *
 * bundle_plist_load() must have succeeded before any other function here
 * is called; each then is the libplist function of the same name without
 * the bundle_ prefix.
 */
#ifndef XPC_BUNDLE_PLIST_LAZY_H
#define XPC_BUNDLE_PLIST_LAZY_H

#include <plist/plist.h>
#include <stddef.h>

/* Loads libplist once per process.  Return: 0, or -ELIBACC with @why
 * naming the library and dlerror()'s text. */
int bundle_plist_load(char *why, size_t size);

void bundle_plist_from_memory(const char *data, uint32_t length, plist_t *plist);
plist_type bundle_plist_get_node_type(plist_t node);
void bundle_plist_free(plist_t plist);
plist_t bundle_plist_dict_get_item(plist_t node, const char *key);
const char *bundle_plist_get_string_ptr(plist_t node, uint64_t *length);
uint32_t bundle_plist_dict_get_size(plist_t node);
void bundle_plist_dict_new_iter(plist_t node, plist_dict_iter *iter);
void bundle_plist_dict_next_item(plist_t node, plist_dict_iter iter, char **key, plist_t *val);

#endif
