/*
 * test-shared.c - src/shared: the string-keyed hash table (put, replace,
 * remove, tombstone reuse, growth, iteration, destroy) and StrBuf (appends,
 * printf, indent, steal, empty).
 */
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
	test_strbuf();
	return harness_end();
}
