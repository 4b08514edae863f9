/* SPDX-License-Identifier: MIT */
/*
 * vdso.c - looks a function up in the vDSO (vdso.h): the image the kernel
 * maps into every process (getauxval(AT_SYSINFO_EHDR)) is a small ELF
 * shared object; its program headers give the load bias and the dynamic
 * section, whose DT_SYMTAB, DT_STRTAB and DT_HASH (nchain: the number of
 * symbols) give the table to search.  The image is the kernel's, so it is
 * trusted like libc; anything unexpected (no PT_DYNAMIC, no DT_HASH) just
 * finds nothing and the caller falls back to libc.  The names are
 * compared by hand: no libc string code on an idle client's path.
 */
#include "shared/vdso.h"

#include <elf.h>
#include <link.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/auxv.h>

typedef struct VdsoTables {
	const ElfW(Sym) *sym;
	const char *str;
	size_t nsym;
	uintptr_t bias;
} VdsoTables;

static bool vdso_name_is(const char *s, const char *name)
{
	while (*s && *s == *name) {
		s++;
		name++;
	}
	return *s == *name;
}

/* The load bias and the dynamic section, from the program headers. */
static const ElfW(Dyn) *vdso_dynamic(const ElfW(Ehdr) *eh, uintptr_t *ret_bias)
{
	const ElfW(Phdr) *ph = (const void *)((const char *)eh + eh->e_phoff);
	const ElfW(Dyn) *dyn = NULL;
	bool have_load = false;

	for (unsigned i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD && !have_load) {
			*ret_bias = (uintptr_t)eh + ph[i].p_offset - ph[i].p_vaddr;
			have_load = true;
		} else if (ph[i].p_type == PT_DYNAMIC) {
			dyn = (const void *)((const char *)eh + ph[i].p_offset);
		}
	}
	return have_load ? dyn : NULL;
}

static bool vdso_tables(VdsoTables *t)
{
	const ElfW(Ehdr) *eh = (const void *)getauxval(AT_SYSINFO_EHDR);
	const ElfW(Dyn) *d;
	const Elf32_Word *hash = NULL;

	if (!eh || !(d = vdso_dynamic(eh, &t->bias)))
		return false;
	t->sym = NULL;
	t->str = NULL;
	for (; d->d_tag != DT_NULL; d++) {
		if (d->d_tag == DT_SYMTAB)
			t->sym = (const void *)(d->d_un.d_ptr + t->bias);
		else if (d->d_tag == DT_STRTAB)
			t->str = (const void *)(d->d_un.d_ptr + t->bias);
		else if (d->d_tag == DT_HASH)
			hash = (const void *)(d->d_un.d_ptr + t->bias);
	}
	if (!t->sym || !t->str || !hash)
		return false;
	t->nsym = hash[1]; /* nchain */
	return true;
}

void *vdso_symbol(const char *name)
{
	VdsoTables t;

	if (!vdso_tables(&t))
		return NULL;
	for (size_t i = 0; i < t.nsym; i++) {
		const ElfW(Sym) *s = &t.sym[i];

		if (ELF64_ST_TYPE(s->st_info) == STT_FUNC && s->st_shndx != SHN_UNDEF &&
		    vdso_name_is(t.str + s->st_name, name))
			return (void *)(t.bias + s->st_value);
	}
	return NULL;
}
