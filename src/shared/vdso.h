/* SPDX-License-Identifier: MIT */
/*
 * vdso.h - a function of the kernel's vDSO, found through its own symbol
 * table.
 *
 * clock.c reads the clocks through the vDSO's __vdso_clock_gettime rather
 * than libc's clock_gettime: the call is the same one libc makes, but an
 * idle client then touches no 64 KiB block of libc's code that a plain
 * socket client does not (docs/performance.md, "The idle client").
 */
#ifndef XPC_SHARED_VDSO_H
#define XPC_SHARED_VDSO_H

/* Return: the address of the vDSO's defined function @name, or NULL (no
 * vDSO, as under valgrind; no such symbol; a vDSO without DT_HASH). */
void *vdso_symbol(const char *name);

#endif
