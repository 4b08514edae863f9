/* SPDX-License-Identifier: MIT */
/*
 * plistval.h - reading the values of a launchd property list for the job
 * loader and the modules that own a key (calendar.c, sockets.c, limits.c,
 * watch.c, keys.c): type checks whose failure names the file and the key,
 * and the warnings that travel back to whoever loaded the file.
 *
 * A PlistCtx is the loader's state for one file: where the error text goes
 * (one message; the load fails) and the warnings (keys ignored or not
 * supported; the load goes on unless the caller is strict).  Warnings are
 * bounded: PLIST_MAX_WARNINGS lines of at most PLIST_WARNING_LEN bytes, the
 * rest counted in `dropped`.
 */
#ifndef XPC_BROKER_PLISTVAL_H
#define XPC_BROKER_PLISTVAL_H

#include <plist/plist.h>
#include <stdbool.h>
#include <stddef.h>

#define PLIST_MAX_WARNINGS 32
#define PLIST_WARNING_LEN 256

typedef struct PlistWarnings {
	char text[PLIST_MAX_WARNINGS][PLIST_WARNING_LEN];
	unsigned n;
	unsigned dropped; /* warnings beyond PLIST_MAX_WARNINGS */
} PlistWarnings;

typedef struct PlistCtx {
	const char *path;
	char *err;
	size_t errlen;
	PlistWarnings *warn; /* NULL: warnings go to stderr */
} PlistCtx;

/* Fills ctx->err with "PATH: key KEY: WHAT" (@key NULL: "PATH: WHAT").
 * Return: -1. */
int pv_fail(PlistCtx *ctx, const char *key, const char *fmt, ...) __attribute__((__format__(__printf__, 3, 4)));
/* Adds the warning "KEY: WHAT" (the file is named once by whoever prints
 * the list). */
void pv_warn(PlistCtx *ctx, const char *key, const char *fmt, ...) __attribute__((__format__(__printf__, 3, 4)));

/* Each getter checks @v's type; on success *@ret is set (strings: a new
 * copy the caller owns; the old value is freed).  Return: 0 or -1 (ctx->err
 * filled). */
int pv_string(PlistCtx *ctx, const char *key, plist_t v, char **ret);
int pv_bool(PlistCtx *ctx, const char *key, plist_t v, bool *ret);
/* An integer in [@min, @max] (a negative integer is read as such). */
int pv_int(PlistCtx *ctx, const char *key, plist_t v, long long min, long long max, long long *ret);
/* An array of 1 to @max strings, NULL-terminated; *@ret is freed first. */
int pv_string_array(PlistCtx *ctx, const char *key, plist_t v, size_t max, char ***ret);
void pv_free_strv(char **v);

/* Iterates dictionary @dict: @fn gets each key and value; a negative
 * return stops.  Return: 0 or the first negative return. */
int pv_dict_each(plist_t dict, int (*fn)(void *arg, const char *key, plist_t v), void *arg);

#endif
