/* SPDX-License-Identifier: MIT */
/*
 * dispatch-leak-helper.c - exits with an active READ source and timer that
 * only the runtime still holds (run by test-main under LeakSanitizer: must
 * not be reported as leaks).
 */
#include <dispatch/dispatch.h>
#include <stdlib.h>
#include <unistd.h>

int main(void)
{
	int p[2];

	if (pipe(p) != 0)
		return 1;
	dispatch_source_t r = dispatch_source_create(DISPATCH_SOURCE_TYPE_READ, (uintptr_t)p[0], 0,
						     dispatch_get_global_queue(0, 0));
	dispatch_source_set_event_handler(r, ^{
	});
	dispatch_resume(r);
	dispatch_release(r);
	dispatch_source_t t = dispatch_source_create(DISPATCH_SOURCE_TYPE_TIMER, 0, 0,
						     dispatch_get_global_queue(0, 0));
	dispatch_source_set_timer(t, DISPATCH_TIME_FOREVER, 0, 0);
	dispatch_source_set_event_handler(t, ^{
	});
	dispatch_resume(t);
	dispatch_release(t);
	usleep(20000);
	return 7;
}
