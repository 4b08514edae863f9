/* SPDX-License-Identifier: MIT */
/*
 * overrides.h - enable and disable kept across broker restarts
 * (overrides.c), as launchd's disabled.plist.
 */
#ifndef XPC_BROKER_OVERRIDES_H
#define XPC_BROKER_OVERRIDES_H

#include <stdbool.h>
#include <stddef.h>

#include "broker/rundir.h"

#define OVERRIDES_MAX 4096 /* labels remembered; the oldest choice goes first */

typedef struct Override {
	char *label;
	bool disabled;
} Override;

typedef struct Overrides {
	Override *v;
	size_t n;
} Overrides;

/* Reads SOCKET.disabled (if present and trusted, rundir_file_read). */
void overrides_load(Overrides *o, const Rundir *rd);
/* The choice recorded for @label: 1 disabled, 0 enabled, -1 none. */
int overrides_get(const Overrides *o, const char *label);
/*
 * overrides_set() - records @label's choice and writes the file.
 * Return: 0, or -1 (out of memory or the file not written: logged; the
 * choice then holds only until the broker exits).
 */
int overrides_set(Overrides *o, const Rundir *rd, const char *label, bool disabled);
void overrides_free(Overrides *o);

#endif
