/* SPDX-License-Identifier: MIT */
/*
 * hashmap.h - a map from C-string keys to pointers, O(1) average lookup.
 *
 * Small maps (up to HASHMAP_INLINE entries with keys shorter than
 * HASHMAP_INLINE_KEY bytes: most messages) keep their entries, keys
 * included, in one small block found by a linear scan: one allocation for
 * the map instead of a table and a copy per key, and no hashing.  The first entry that does not fit moves the map, for good, to
 * open addressing with linear probing over a power-of-two table.  The map
 * owns a private copy of every key; values are opaque pointers the caller
 * manages (hashmap_destroy() can call a function on each).  Iteration order
 * is unspecified and changes when the map grows or loses an entry; the map
 * must not be modified while it is being iterated.
 *
 * Hashes are seeded per map (from the map's address and a process-wide
 * random value), so an outsider cannot predict collisions; callers still
 * bound the number of entries a peer can create.
 */
#ifndef XPC_SHARED_HASHMAP_H
#define XPC_SHARED_HASHMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hashmap_slot {
	char *key; /* NULL: empty; HASHMAP_TOMBSTONE: deleted */
	void *value;
	uint64_t hash;
};

#define HASHMAP_INLINE 4
#define HASHMAP_INLINE_KEY 24 /* bytes, the NUL included */

struct hashmap_inline {
	void *value;
	char key[HASHMAP_INLINE_KEY]; /* zero-padded: compared by words */
};

typedef struct HashMap {
	struct hashmap_slot *slots; /* NULL: the entries are in inl[] */
	size_t cap;   /* 0 or a power of two */
	size_t count; /* live entries */
	size_t used;  /* live entries + tombstones */
	uint64_t seed;
	struct hashmap_inline *inl; /* while slots is NULL: inl[0 .. count-1] (NULL: none yet) */
	bool inl_lent; /* inl is the owner's block (hashmap_init_lent): never freed here */
} HashMap;

#define HASHMAP_INIT {0}

void hashmap_init(HashMap *map);
/* hashmap_init() with the inline block lent by the map's owner (HASHMAP_INLINE
 * entries, e.g. in the same allocation as the map): a small map then costs
 * no allocation at all.  The block must outlive the map's use. */
void hashmap_init_lent(HashMap *map, struct hashmap_inline *block);
/* Frees every key and the table; calls @free_value (if not NULL) on each
 * value.  The map is empty and reusable afterwards. */
void hashmap_destroy(HashMap *map, void (*free_value)(void *value));

/* Return: the value stored under @key, or NULL. */
void *hashmap_get(const HashMap *map, const char *key);
/* True if @key is present (values may be NULL). */
bool hashmap_contains(const HashMap *map, const char *key);

/*
 * hashmap_put() - store @value under a copy of @key.
 * @ret_old: if not NULL, set to the value previously stored under @key (or
 *           NULL); the caller disposes of it.
 * Return: 0, or -ENOMEM (the map is unchanged).
 */
int hashmap_put(HashMap *map, const char *key, void *value, void **ret_old);

/* hashmap_put() of a key not yet present, with one lookup.  Return: 0,
 * -EEXIST (the map is unchanged), or -ENOMEM (likewise). */
int hashmap_put_new(HashMap *map, const char *key, void *value);

/* Removes @key; returns its value (the caller disposes of it) or NULL. */
void *hashmap_remove(HashMap *map, const char *key);

size_t hashmap_count(const HashMap *map);

/*
 * hashmap_next() - iterate: start with *@cursor = 0; each call sets
 * *ret_key (borrowed) and *ret_value and returns true, or returns false at
 * the end.
 */
bool hashmap_next(const HashMap *map, size_t *cursor, const char **ret_key, void **ret_value);

/* The raw string hash (FNV-1a, 64 bit), unseeded: stable within a process. */
uint64_t hashmap_hash_bytes(const void *bytes, size_t len);

#endif
