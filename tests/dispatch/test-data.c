/*
 * test-data.c - dispatch_data: copy (DEFAULT), adopt (FREE), custom
 * destructor on a queue, the empty object, create_map.
 */
#include "harness.h"

#include <dispatch/dispatch.h>
#include <stdlib.h>
#include <string.h>

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
	return harness_end();
}
