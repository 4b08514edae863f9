/* SPDX-License-Identifier: MIT */
/*
 * hashmap.c - string-keyed open-addressing hash table (see hashmap.h).
 *
 * Invariants: while slots is NULL (cap 0) the map is inline: count entries
 * in inl[0 .. count-1] (a block of HASHMAP_INLINE, allocated with the first
 * entry, or lent by the map's owner: inl_lent, hashmap_init_lent()), keys
 * shorter than HASHMAP_INLINE_KEY, each zero-padded to its end.  Otherwise
 * cap is a power of two; used <= cap * 3 / 4 after every insertion (tombstones count as used so probing always ends at an empty
 * slot); a probe sequence for a key visits slots hash, hash+1, ... modulo
 * cap and stops at the first empty slot.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "shared/hashmap.h"
#include "shared/zalloc.h"

static char hashmap_tombstone_byte;
#define HASHMAP_TOMBSTONE (&hashmap_tombstone_byte)

uint64_t hashmap_hash_bytes(const void *bytes, size_t len)
{
	const unsigned char *p = bytes;
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* A 64-bit finalizer (splitmix64) so every bit of the input reaches the
 * low bits used as the bucket index. */
static uint64_t hashmap_mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

/* One random value per process, read once (0 until then: still correct). */
static uint64_t hashmap_process_seed(void)
{
	static _Atomic uint64_t seed;
	uint64_t s = atomic_load_explicit(&seed, memory_order_relaxed);

	if (s == 0) {
		if (getrandom(&s, sizeof(s), GRND_NONBLOCK) != (ssize_t)sizeof(s))
			s = (uint64_t)(uintptr_t)&seed;
		s |= 1;
		atomic_store_explicit(&seed, s, memory_order_relaxed);
	}
	return s;
}

static uint64_t hashmap_key_hash(const HashMap *map, const char *key)
{
	return hashmap_mix(hashmap_hash_bytes(key, strlen(key)) ^ map->seed);
}

void hashmap_init(HashMap *map)
{
	memset(map, 0, sizeof(*map));
}

void hashmap_init_lent(HashMap *map, struct hashmap_inline *block)
{
	memset(map, 0, sizeof(*map));
	map->inl = block;
	map->inl_lent = true;
}

/* Frees the inline block unless it is lent. */
static void hashmap_drop_inline(HashMap *map)
{
	if (!map->inl_lent)
		free(map->inl);
	map->inl = NULL;
	map->inl_lent = false;
}

static void hashmap_ensure_seed(HashMap *map)
{
	if (map->seed == 0)
		map->seed = hashmap_mix(hashmap_process_seed() ^ (uint64_t)(uintptr_t)map) | 1;
}

void hashmap_destroy(HashMap *map, void (*free_value)(void *value))
{
	if (!map->slots && free_value)
		for (size_t i = 0; i < map->count; i++)
			free_value(map->inl[i].value);
	hashmap_drop_inline(map);
	for (size_t i = 0; i < map->cap; i++) {
		struct hashmap_slot *s = &map->slots[i];

		if (!s->key || s->key == HASHMAP_TOMBSTONE)
			continue;
		free(s->key);
		if (free_value)
			free_value(s->value);
	}
	free(map->slots);
	memset(map, 0, sizeof(*map));
}

/* Index of @key's slot, or of the empty slot ending its probe sequence
 * (the first tombstone on the way if @for_insert). */
static size_t hashmap_find(const HashMap *map, const char *key, uint64_t hash, bool for_insert)
{
	size_t mask = map->cap - 1, i = (size_t)hash & mask, grave = SIZE_MAX;

	for (;; i = (i + 1) & mask) {
		struct hashmap_slot *s = &map->slots[i];

		if (!s->key)
			return (for_insert && grave != SIZE_MAX) ? grave : i;
		if (s->key == HASHMAP_TOMBSTONE) {
			if (grave == SIZE_MAX)
				grave = i;
			continue;
		}
		if (s->hash == hash && strcmp(s->key, key) == 0)
			return i;
	}
}

/*
 * An inline entry's key is stored zero-padded to HASHMAP_INLINE_KEY bytes,
 * so a lookup compares three words per entry; the key looked up is padded
 * once (InlineKey), with its length found by the same pass: no strlen,
 * strcmp or memcpy calls for the small maps of most messages.
 */
typedef struct InlineKey {
	uint64_t w[HASHMAP_INLINE_KEY / 8];
} InlineKey;

_Static_assert(HASHMAP_INLINE_KEY % 8 == 0, "inline keys are compared by words");

/* Pads @key into @k.  Return: its length, or HASHMAP_INLINE_KEY when it is
 * too long for an inline map (k is then not a key). */
static size_t inline_key(const char *key, InlineKey *k)
{
	char *b = (char *)k->w;
	size_t n = 0;

	memset(k, 0, sizeof(*k));
	for (; n < HASHMAP_INLINE_KEY && key[n]; n++)
		b[n] = key[n];
	return n;
}

static bool inline_key_equal(const struct hashmap_inline *e, const InlineKey *k)
{
	InlineKey have;

	memcpy(&have, e->key, sizeof(have));
	return ((have.w[0] ^ k->w[0]) | (have.w[1] ^ k->w[1]) | (have.w[2] ^ k->w[2])) == 0;
}

/* Index of padded @k in an inline map, or -1. */
static int hashmap_inline_find_key(const HashMap *map, const InlineKey *k)
{
	for (size_t i = 0; i < map->count; i++)
		if (inline_key_equal(&map->inl[i], k))
			return (int)i;
	return -1;
}

/* Index of @key in an inline map, or -1. */
static int hashmap_inline_find(const HashMap *map, const char *key)
{
	InlineKey k;

	if (inline_key(key, &k) >= HASHMAP_INLINE_KEY)
		return -1; /* too long to be there */
	return hashmap_inline_find_key(map, &k);
}

static struct hashmap_slot *hashmap_lookup_hashed(const HashMap *map, const char *key, uint64_t hash)
{
	size_t i;

	if (map->count == 0)
		return NULL;
	i = hashmap_find(map, key, hash, false);
	return map->slots[i].key ? &map->slots[i] : NULL;
}

/* The value's location, or NULL when @key is absent. */
static void **hashmap_value_ref(HashMap *map, const char *key)
{
	struct hashmap_slot *s;
	int i;

	if (!map->slots) {
		i = hashmap_inline_find(map, key);
		return i < 0 ? NULL : &map->inl[i].value;
	}
	s = hashmap_lookup_hashed(map, key, hashmap_key_hash(map, key));
	return s ? &s->value : NULL;
}

void *hashmap_get(const HashMap *map, const char *key)
{
	void **v = hashmap_value_ref((HashMap *)map, key);

	return v ? *v : NULL;
}

bool hashmap_contains(const HashMap *map, const char *key)
{
	return hashmap_value_ref((HashMap *)map, key) != NULL;
}

/* Rebuilds the table with @cap slots, dropping tombstones. */
static int hashmap_resize(HashMap *map, size_t cap)
{
	struct hashmap_slot *old = map->slots, *slots;
	size_t old_cap = map->cap;

	slots = shared_zalloc(cap * sizeof(*slots)); /* cap is bounded by the caller */
	if (!slots)
		return -ENOMEM;
	map->slots = slots;
	map->cap = cap;
	map->used = map->count;
	for (size_t i = 0; i < old_cap; i++) {
		if (!old[i].key || old[i].key == HASHMAP_TOMBSTONE)
			continue;
		slots[hashmap_find(map, old[i].key, old[i].hash, true)] = old[i];
	}
	free(old);
	return 0;
}

/* strdup through malloc (so allocation-failure tests reach it). */
static char *hashmap_strdup(const char *key)
{
	size_t len = strlen(key) + 1;
	char *copy = malloc(len);

	if (copy)
		memcpy(copy, key, len);
	return copy;
}

/* Moves an inline map to a table of 8 slots; the map is unchanged on
 * failure. */
__attribute__((noinline)) static int hashmap_leave_inline(HashMap *map)
{
	char *keys[HASHMAP_INLINE];
	size_t n = map->count;

	for (size_t i = 0; i < n; i++) {
		keys[i] = hashmap_strdup(map->inl[i].key);
		if (!keys[i]) {
			while (i > 0)
				free(keys[--i]);
			return -ENOMEM;
		}
	}
	if (hashmap_resize(map, 8) < 0) {
		for (size_t i = 0; i < n; i++)
			free(keys[i]);
		return -ENOMEM;
	}
	hashmap_ensure_seed(map);
	for (size_t i = 0; i < n; i++) {
		uint64_t h = hashmap_key_hash(map, keys[i]);
		map->slots[hashmap_find(map, keys[i], h, true)] =
			(struct hashmap_slot){.key = keys[i], .value = map->inl[i].value, .hash = h};
	}
	map->used = n;
	hashmap_drop_inline(map);
	return 0;
}

/* Makes sure one more entry keeps the load factor at or under 3/4. */
static int hashmap_reserve_one(HashMap *map)
{
	size_t cap = map->cap ? map->cap : 8;

	if (map->cap && (map->used + 1) * 4 <= map->cap * 3)
		return 0;
	while ((map->count + 1) * 2 > cap) {
		if (cap > SIZE_MAX / 2 / sizeof(struct hashmap_slot))
			return -ENOMEM;
		cap *= 2;
	}
	return hashmap_resize(map, cap);
}

/* Adds padded @k (@len bytes) to an inline map if it fits.  Return: 1
 * added, 0 it does not fit, -ENOMEM. */
static int hashmap_inline_put(HashMap *map, const InlineKey *k, size_t len, void *value)
{
	if (map->count >= HASHMAP_INLINE || len >= HASHMAP_INLINE_KEY)
		return 0;
	if (!map->inl && !(map->inl = malloc(HASHMAP_INLINE * sizeof(*map->inl))))
		return -ENOMEM;
	memcpy(map->inl[map->count].key, k, sizeof(*k));
	map->inl[map->count].value = value;
	map->count++;
	return 1;
}

/* hashmap_store() while the map is inline.  Return: 1 stored (0 or
 * -EEXIST in *ret), 0 the key goes to a table. */
static int hashmap_inline_store(HashMap *map, const char *key, void *value, void **ret_old, bool only_new,
				int *ret)
{
	InlineKey k;
	size_t len = inline_key(key, &k);
	int i = len < HASHMAP_INLINE_KEY ? hashmap_inline_find_key(map, &k) : -1;

	*ret = 0;
	if (i >= 0 && only_new) {
		*ret = -EEXIST;
		return 1;
	}
	if (i >= 0) {
		if (ret_old)
			*ret_old = map->inl[i].value;
		map->inl[i].value = value;
		return 1;
	}
	int r = hashmap_inline_put(map, &k, len, value);
	if (r < 0)
		*ret = r;
	return r != 0;
}

static int hashmap_table_store(HashMap *map, const char *key, void *value, void **ret_old, bool only_new);

/* hashmap_put(), or with @only_new hashmap_put_new().  The table's path
 * is a function of its own, out of line: the small maps of most messages
 * never take it, and an idle client's code stays in one block
 * (src/libxpc-hot.ld). */
static int hashmap_store(HashMap *map, const char *key, void *value, void **ret_old, bool only_new)
{
	if (ret_old)
		*ret_old = NULL;
	if (!map->slots) {
		int r;
		if (hashmap_inline_store(map, key, value, ret_old, only_new, &r))
			return r;
		if (hashmap_leave_inline(map) < 0)
			return -ENOMEM;
	}
	return hashmap_table_store(map, key, value, ret_old, only_new);
}

__attribute__((noinline)) static int hashmap_table_store(HashMap *map, const char *key, void *value, void **ret_old,
							 bool only_new)
{
	struct hashmap_slot *s;
	uint64_t hash;
	char *copy;
	size_t i;

	hashmap_ensure_seed(map);
	hash = hashmap_key_hash(map, key);
	s = hashmap_lookup_hashed(map, key, hash);
	if (s && only_new)
		return -EEXIST;
	if (s) {
		if (ret_old)
			*ret_old = s->value;
		s->value = value;
		return 0;
	}
	copy = hashmap_strdup(key);
	if (!copy || hashmap_reserve_one(map) < 0) {
		free(copy);
		return -ENOMEM;
	}
	i = hashmap_find(map, key, hash, true);
	if (map->slots[i].key != HASHMAP_TOMBSTONE)
		map->used++;
	map->slots[i] = (struct hashmap_slot){.key = copy, .value = value, .hash = hash};
	map->count++;
	return 0;
}

int hashmap_put(HashMap *map, const char *key, void *value, void **ret_old)
{
	return hashmap_store(map, key, value, ret_old, false);
}

int hashmap_put_new(HashMap *map, const char *key, void *value)
{
	return hashmap_store(map, key, value, NULL, true);
}

void *hashmap_remove(HashMap *map, const char *key)
{
	struct hashmap_slot *s;
	void *value;

	if (!map->slots) {
		int i = hashmap_inline_find(map, key);
		if (i < 0)
			return NULL;
		value = map->inl[i].value;
		map->count--;
		memmove(&map->inl[i], &map->inl[i + 1], (map->count - (size_t)i) * sizeof(map->inl[0]));
		return value;
	}
	s = hashmap_lookup_hashed(map, key, hashmap_key_hash(map, key));
	if (!s)
		return NULL;
	value = s->value;
	free(s->key);
	s->key = HASHMAP_TOMBSTONE;
	s->value = NULL;
	map->count--;
	return value;
}

size_t hashmap_count(const HashMap *map)
{
	return map->count;
}

bool hashmap_next(const HashMap *map, size_t *cursor, const char **ret_key, void **ret_value)
{
	if (!map->slots) {
		if (*cursor >= map->count)
			return false;
		*ret_key = map->inl[*cursor].key;
		*ret_value = map->inl[*cursor].value;
		(*cursor)++;
		return true;
	}
	for (size_t i = *cursor; i < map->cap; i++) {
		struct hashmap_slot *s = &map->slots[i];

		if (!s->key || s->key == HASHMAP_TOMBSTONE)
			continue;
		*cursor = i + 1;
		*ret_key = s->key;
		*ret_value = s->value;
		return true;
	}
	*cursor = map->cap;
	return false;
}
