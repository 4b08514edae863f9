/* SPDX-License-Identifier: MIT */
/*
 * test-data.c - dispatch_data: copy (DEFAULT), adopt (FREE, MUNMAP), custom
 * destructor on a queue, the empty object, create_map; concatenation,
 * subranges across regions, apply (order, offsets, early stop),
 * copy_region, and the map of a composite.
 */
#include "harness.h"

#include <dispatch/dispatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static dispatch_data_t leaf(const char *s)
{
	return dispatch_data_create(s, strlen(s), NULL, DISPATCH_DATA_DESTRUCTOR_DEFAULT);
}

static int same(dispatch_data_t d, const char *want)
{
	const void *p;
	size_t n;
	dispatch_data_t m = dispatch_data_create_map(d, &p, &n);
	int ok = m && n == strlen(want) && memcmp(p, want, n) == 0;

	dispatch_release(m);
	return ok;
}

static void test_composite(void)
{
	dispatch_data_t a = leaf("hello "), b = leaf("dispatch "), c = leaf("world");
	dispatch_data_t ab = dispatch_data_create_concat(a, b);
	dispatch_data_t abc = dispatch_data_create_concat(ab, c);
	__block size_t calls = 0, seen = 0;
	size_t off = 99;

	CHECK_EQ_INT(dispatch_data_get_size(abc), 20);
	CHECK(same(abc, "hello dispatch world"));
	dispatch_data_t same_a = dispatch_data_create_concat(a, dispatch_data_empty);
	CHECK(same_a == a);
	dispatch_release(same_a);
	dispatch_release(a);
	dispatch_data_t sub = dispatch_data_create_subrange(abc, 4, 13); /* "o dispatch wo" */
	CHECK_EQ_INT(dispatch_data_get_size(sub), 13);
	CHECK(same(sub, "o dispatch wo"));
	dispatch_data_t tail = dispatch_data_create_subrange(abc, 15, 100);
	CHECK(same(tail, "world"));
	CHECK(dispatch_data_create_subrange(abc, 20, 1) == dispatch_data_empty);
	CHECK(dispatch_data_apply(sub, ^bool(dispatch_data_t region, size_t offset, const void *buf, size_t size) {
		static const size_t offs[] = {0, 2, 11}, sizes[] = {2, 9, 2};
		CHECK(calls < 3 && offset == offs[calls] && size == sizes[calls]);
		CHECK_EQ_INT(dispatch_data_get_size(region), size);
		CHECK(memcmp(buf, &"o dispatch wo"[offset], size) == 0);
		calls++;
		return true;
	}));
	CHECK_EQ_INT(calls, 3);
	CHECK(!dispatch_data_apply(abc, ^bool(dispatch_data_t region, size_t offset, const void *buf, size_t size) {
		seen++;
		return false;
	}));
	CHECK_EQ_INT(seen, 1);
	dispatch_data_t region = dispatch_data_copy_region(abc, 8, &off);
	CHECK_EQ_INT(off, 6);
	CHECK(same(region, "dispatch "));
	dispatch_release(region);
	region = dispatch_data_copy_region(sub, 12, &off);
	CHECK_EQ_INT(off, 11);
	CHECK(same(region, "wo"));
	dispatch_release(region);
	dispatch_release(tail);
	dispatch_release(sub);
	dispatch_release(ab);
	dispatch_release(abc);
	dispatch_release(b);
	dispatch_release(c);

	void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	REQUIRE(m != MAP_FAILED);
	memcpy(m, "mapped", 6);
	dispatch_data_t md = dispatch_data_create(m, 4096, NULL, DISPATCH_DATA_DESTRUCTOR_MUNMAP);
	dispatch_data_t part = dispatch_data_create_subrange(md, 0, 6);
	dispatch_release(md);
	CHECK(same(part, "mapped")); /* the subrange keeps the mapping */
	dispatch_release(part);
}

int main(void)
{
	char buf[] = "hello";
	const void *p;
	size_t n;

	harness_warm_dispatch();
	harness_begin(30);
	dispatch_data_t d = dispatch_data_create(buf, 5, NULL, DISPATCH_DATA_DESTRUCTOR_DEFAULT);
	buf[0] = 'J';
	CHECK_EQ_INT(dispatch_data_get_size(d), 5);
	dispatch_data_t m = dispatch_data_create_map(d, &p, &n);
	CHECK_EQ_INT(n, 5);
	CHECK(memcmp(p, "hello", 5) == 0);
	dispatch_release(d);
	CHECK(memcmp(p, "hello", 5) == 0); /* the map keeps it */
	dispatch_release(m);

	char *heap = strdup("adopted");
	d = dispatch_data_create(heap, 7, NULL, DISPATCH_DATA_DESTRUCTOR_FREE);
	dispatch_release(dispatch_data_create_map(d, &p, NULL));
	CHECK(p == heap);
	dispatch_release(d); /* ASan reports a leak if the buffer is not freed */

	dispatch_semaphore_t s = dispatch_semaphore_create(0);
	dispatch_queue_t q = dispatch_queue_create("t.data", NULL);
	__block int destroyed = 0;
	static const char lit[] = "static bytes";
	d = dispatch_data_create(lit, sizeof(lit), q, ^{
		destroyed = 1;
		dispatch_semaphore_signal(s);
	});
	dispatch_release(dispatch_data_create_map(d, &p, &n));
	CHECK(p == lit && n == sizeof(lit));
	dispatch_release(d);
	CHECK_EQ_INT(dispatch_semaphore_wait(s, dispatch_time(DISPATCH_TIME_NOW, 10 * NSEC_PER_SEC)), 0);
	dispatch_sync(q, ^{
		CHECK_EQ_INT(destroyed, 1);
	});

	CHECK_EQ_INT(dispatch_data_get_size(dispatch_data_empty), 0);
	dispatch_release(dispatch_data_empty); /* immortal */
	CHECK(dispatch_data_create(buf, 0, NULL, DISPATCH_DATA_DESTRUCTOR_DEFAULT) == dispatch_data_empty);
	dispatch_release(q);
	dispatch_release(s);
	test_composite();
	return harness_end();
}
