/* SPDX-License-Identifier: MIT */
/*
 * bplist.h - the expanded size of a binary property list (bplist.c).
 */
#ifndef XPC_BROKER_BPLIST_H
#define XPC_BROKER_BPLIST_H

#include <stddef.h>
#include <stdint.h>

#define BPLIST_MAX_NODES 100000u
#define BPLIST_MAX_DEPTH 128

/*
 * bplist_check() - check the expanded size of binary list @buf
 * @err: on failure, why (without the file name)
 * Return: 0 (within the bounds, or not a binary list libplist would read:
 *         it refuses those itself), or -1 with @err filled.
 */
int bplist_check(const uint8_t *buf, size_t len, char *err, size_t errlen);

#endif
