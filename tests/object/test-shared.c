/* SPDX-License-Identifier: MIT */
/*
 * test-shared.c - src/shared: the string-keyed hash table (put, replace,
 * remove, tombstone reuse, growth, iteration, destroy; the inline small
 * map and its move to a table by count and by key length) and StrBuf
 * (appends, printf, indent, steal, empty).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "shared/hashmap.h"
#include "shared/strbuf.h"

static int freed;

static void count_free(void *value)
{
	freed++;
	free(value);
}

static void test_hashmap(void)
{
	HashMap map = HASHMAP_INIT;
	char key[32], *k1 = strdup("one");
	void *old = (void *)1, *v;
	size_t cursor = 0, seen = 0;
	const char *ik;

	hashmap_init(&map);
	CHECK(hashmap_get(&map, "x") == NULL);
	CHECK(!hashmap_contains(&map, "x"));
	CHECK(hashmap_remove(&map, "x") == NULL);
	CHECK(!hashmap_next(&map, &cursor, &ik, &v));
	CHECK(hashmap_put(&map, k1, strdup("1"), &old) == 0 && old == NULL);
	k1[0] = 'X'; /* the key was copied */
	CHECK_STREQ(hashmap_get(&map, "one"), "1");
	CHECK(hashmap_put(&map, "one", strdup("uno"), &old) == 0);
	CHECK_STREQ(old, "1");
	free(old);
	CHECK_EQ_INT(hashmap_count(&map), 1);
	CHECK(hashmap_put(&map, "null", NULL, NULL) == 0);
	CHECK(hashmap_contains(&map, "null") && hashmap_get(&map, "null") == NULL);
	free(hashmap_remove(&map, "null"));
	CHECK(!hashmap_contains(&map, "null"));
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		CHECK(hashmap_put(&map, key, strdup(key), NULL) == 0);
	}
	CHECK_EQ_INT(hashmap_count(&map), 1001);
	for (int i = 0; i < 1000; i += 3) {
		snprintf(key, sizeof(key), "k%d", i);
		free(hashmap_remove(&map, key));
	}
	cursor = 0;
	while (hashmap_next(&map, &cursor, &ik, &v)) {
		seen++;
		if (strcmp(ik, "one") != 0)
			CHECK_STREQ(ik, v);
	}
	CHECK_EQ_INT(seen, hashmap_count(&map));
	CHECK_EQ_INT(seen, 1001 - 334);
	for (int round = 0; round < 50; round++) { /* churn over tombstones */
		snprintf(key, sizeof(key), "churn%d", round);
		CHECK(hashmap_put(&map, key, strdup(key), NULL) == 0);
		free(hashmap_remove(&map, key));
	}
	CHECK_EQ_INT(hashmap_count(&map), 667);
	freed = 0;
	hashmap_destroy(&map, count_free);
	CHECK_EQ_INT(freed, 667);
	CHECK_EQ_INT(hashmap_count(&map), 0);
	CHECK(hashmap_put(&map, "again", NULL, NULL) == 0); /* reusable */
	hashmap_destroy(&map, NULL);
	CHECK(hashmap_hash_bytes("abc", 3) == hashmap_hash_bytes("abc", 3));
	CHECK(hashmap_hash_bytes("abc", 3) != hashmap_hash_bytes("abd", 3));
	free(k1);
}

/* The keys of @map ("k0".."k9", each with its digit as value) as a bit set. */
static unsigned key_bits(const HashMap *map)
{
	size_t cursor = 0;
	const char *k;
	void *v;
	unsigned bits = 0;

	while (hashmap_next(map, &cursor, &k, &v)) {
		CHECK(k[0] == 'k' && (long)(intptr_t)v == k[1] - '0');
		bits |= 1u << (k[1] - '0');
	}
	return bits;
}

static void put_k(HashMap *map, int i)
{
	char key[3] = {'k', (char)('0' + i), 0};

	CHECK(hashmap_put(map, key, (void *)(intptr_t)i, NULL) == 0);
}

static void test_hashmap_small(void)
{
	HashMap map = HASHMAP_INIT;
	void *old = NULL;
	char long_key[HASHMAP_INLINE_KEY + 1];

	for (int i = 0; i < HASHMAP_INLINE; i++)
		put_k(&map, i);
	CHECK(map.slots == NULL); /* still inline */
	CHECK_EQ_INT(key_bits(&map), (1u << HASHMAP_INLINE) - 1);
	CHECK(hashmap_put(&map, "k1", (void *)(intptr_t)1, &old) == 0 && old == (void *)(intptr_t)1);
	CHECK(hashmap_remove(&map, "k0") == NULL); /* value 0 */
	CHECK(!hashmap_contains(&map, "k0") && hashmap_contains(&map, "k3"));
	CHECK_EQ_INT(hashmap_count(&map), HASHMAP_INLINE - 1);
	CHECK_EQ_INT(key_bits(&map), ((1u << HASHMAP_INLINE) - 1) & ~1u);
	put_k(&map, 0);
	put_k(&map, 9); /* one more than fits: a table from here on */
	CHECK(map.slots != NULL);
	CHECK_EQ_INT(hashmap_count(&map), HASHMAP_INLINE + 1);
	CHECK_EQ_INT(key_bits(&map), ((1u << HASHMAP_INLINE) - 1) | 1u << 9);
	CHECK(hashmap_get(&map, "k9") == (void *)(intptr_t)9 && hashmap_get(&map, "k2") == (void *)(intptr_t)2);
	hashmap_destroy(&map, NULL);
	CHECK(map.slots == NULL && hashmap_count(&map) == 0);
	/* a key too long to be kept inline moves a one-entry map */
	put_k(&map, 5);
	memset(long_key, 'x', sizeof(long_key) - 1);
	long_key[sizeof(long_key) - 1] = 0;
	CHECK(hashmap_put(&map, long_key, NULL, NULL) == 0);
	CHECK(map.slots != NULL && hashmap_contains(&map, long_key));
	CHECK(hashmap_get(&map, "k5") == (void *)(intptr_t)5);
	long_key[HASHMAP_INLINE_KEY - 1] = 0; /* the longest inline key */
	hashmap_destroy(&map, NULL);
	CHECK(hashmap_put(&map, long_key, (void *)1, NULL) == 0 && map.slots == NULL);
	CHECK(hashmap_get(&map, long_key) == (void *)1);
	hashmap_destroy(&map, NULL);
}

static void test_strbuf(void)
{
	StrBuf sb = STRBUF_INIT;
	char *s;

	s = strbuf_steal(&sb);
	CHECK_STREQ(s, "");
	free(s);
	strbuf_append(&sb, "ab");
	strbuf_append_len(&sb, "cdef", 2);
	strbuf_indent(&sb, 2);
	strbuf_printf(&sb, "%d-%s", 42, "x");
	for (int i = 0; i < 100; i++)
		strbuf_append(&sb, "0123456789");
	CHECK_EQ_INT(sb.len, 10 + 1000);
	CHECK(strncmp(sb.data, "abcd\t\t42-x0123", 14) == 0);
	s = strbuf_steal(&sb);
	CHECK(s && strlen(s) == 1010);
	CHECK(sb.data == NULL && sb.len == 0);
	free(s);
	strbuf_append(&sb, "tmp");
	strbuf_free(&sb);
	CHECK(sb.data == NULL);
	sb.oom = true; /* sticky out-of-memory */
	strbuf_append(&sb, "lost");
	CHECK(strbuf_steal(&sb) == NULL);
	CHECK(!sb.oom);
}

int main(void)
{
	harness_begin(30);
	test_hashmap();
	test_hashmap_small();
	test_strbuf();
	return harness_end();
}
