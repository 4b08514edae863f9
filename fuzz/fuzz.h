/*
 * fuzz.h - what the fuzz targets share: the libFuzzer entry points, a
 * descriptor count for the leak check, a structural comparison of object
 * graphs for the round-trip checks, and a loud failure.
 *
 * Every target is built twice: with libFuzzer (-Dfuzzing=true, fuzz/run.sh)
 * and with replay.c, a plain main() that runs it over its corpus in every
 * build (meson test suite 'fuzz').  A target reports a broken invariant with
 * fuzz_fail(), which aborts, so both libFuzzer and the replay test see it.
 */
#ifndef XPC_FUZZ_FUZZ_H
#define XPC_FUZZ_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <xpc/xpc.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Open descriptors of this process (/proc/self/fd, not counting its own). */
int fuzz_count_fds(void);

/* Aborts with a message when @after > @before: descriptors leaked. */
void fuzz_check_fds(int before, int after, const char *where);

/* True when @a and @b have the same structure and values: doubles compare
 * by bits (NaN is the same as itself), fd/endpoint objects only by type,
 * shmem by type and size; everything else as xpc_equal. */
bool fuzz_same(xpc_object_t a, xpc_object_t b);

/* True when a dictionary with two or more entries occurs in @obj: its
 * encoding depends on the hash order of that map, so only its length is
 * stable. */
bool fuzz_has_unordered(xpc_object_t obj);

__attribute__((__noreturn__, __format__(__printf__, 1, 2))) void fuzz_fail(const char *fmt, ...);

#endif
