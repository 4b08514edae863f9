/* SPDX-License-Identifier: MIT */
/*
 * test-source-listen - a READ source on a listening socket that already
 * has a connection queued when the source is activated keeps firing.
 *
 * Such a descriptor is readable from the moment its watch enters epoll's
 * set, and FIONREAD says nothing for a listening socket, so the first
 * event can be delivered (on a worker) while the activating thread is
 * still registering the source.  The delivery must re-arm the one-shot
 * watch: the regression (found by tests/remote remote-export, an
 * xpc-remoted whose clients connected while it started) was a source that
 * fired once and never again.  Each round: listen, connect, activate,
 * accept in the handler, connect again, and wait for the second event.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <dispatch/dispatch.h>

#include "harness.h"

#define ROUNDS 400

static int listen_abstract(struct sockaddr_un *sa, socklen_t *len, int round)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
			   (size_t)snprintf(sa->sun_path + 1, sizeof(sa->sun_path) - 1, "xpc-listen-%d-%d", (int)getpid(), round));
	REQUIRE(fd >= 0 && bind(fd, (struct sockaddr *)sa, *len) == 0 && listen(fd, 16) == 0);
	return fd;
}

static int connect_to(const struct sockaddr_un *sa, socklen_t len)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	REQUIRE(fd >= 0 && connect(fd, (const struct sockaddr *)sa, len) == 0);
	return fd;
}

int main(void)
{
	dispatch_queue_t q = dispatch_get_global_queue(DISPATCH_QUEUE_PRIORITY_DEFAULT, 0);
	int lost = 0;

	harness_warm_dispatch();
	harness_begin(120);
	for (int round = 0; round < ROUNDS && !lost; round++) {
		struct sockaddr_un sa;
		socklen_t len;
		int lfd = listen_abstract(&sa, &len, round), c1 = connect_to(&sa, len), c2;
		dispatch_semaphore_t ev = dispatch_semaphore_create(0), gone = dispatch_semaphore_create(0);
		dispatch_source_t src = dispatch_source_create(DISPATCH_SOURCE_TYPE_READ, (uintptr_t)lfd, 0, q);

		dispatch_source_set_event_handler(src, ^{
			int fd;

			while ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
				close(fd);
				dispatch_semaphore_signal(ev);
			}
		});
		dispatch_source_set_cancel_handler(src, ^{
			close(lfd);
			dispatch_semaphore_signal(gone);
		});
		dispatch_resume(src);
		CHECK(dispatch_semaphore_wait(ev, dispatch_time(DISPATCH_TIME_NOW, 5 * NSEC_PER_SEC)) == 0);
		c2 = connect_to(&sa, len);
		if (dispatch_semaphore_wait(ev, dispatch_time(DISPATCH_TIME_NOW, 5 * NSEC_PER_SEC)) != 0) {
			fprintf(stderr, "round %d: the second connection was never accepted\n", round);
			lost++;
		}
		dispatch_source_cancel(src);
		dispatch_semaphore_wait(gone, DISPATCH_TIME_FOREVER);
		dispatch_release(src);
		dispatch_release(ev);
		dispatch_release(gone);
		close(c1);
		close(c2);
	}
	CHECK_EQ_INT(lost, 0);
	return harness_end();
}
