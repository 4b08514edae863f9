/* SPDX-License-Identifier: MIT */
/*
 * monitor-common.c - a raw broker link, monitor subscriptions that keep
 * their events, and waiting for one (monitor-common.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "broker-common.h"
#include "connection/connection.h"
#include "harness.h"
#include "monitor-common.h"

xpc_connection_t broker_link(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	/* a child has only the environment (broker_setup set XPCD_SOCKET) */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", broker_sock[0] ? broker_sock : getenv("XPCD_SOCKET"));
	REQUIRE(fd >= 0);
	REQUIRE(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	xpc_connection_t b = connection_create_from_socket(fd, NULL);
	REQUIRE(b);
	return b;
}

/* A request answered ok (or with @want_error's text); the reply released. */
bool request(const char *op, const char *key, const char *value, const char *want_error)
{
	xpc_connection_t b = broker_link();
	xpc_object_t msg = xpc_dictionary_create(NULL, NULL, 0), r;
	bool ok;

	xpc_connection_set_event_handler(b, ^(xpc_object_t ev) { (void)ev; });
	xpc_connection_resume(b);
	xpc_dictionary_set_string(msg, "xpcd.op", op);
	if (key)
		xpc_dictionary_set_string(msg, key, value);
	r = xpc_connection_send_message_with_reply_sync(b, msg);
	ok = xpc_get_type(r) == XPC_TYPE_DICTIONARY &&
	     (want_error ? xpc_dictionary_get_string(r, "error") && strstr(xpc_dictionary_get_string(r, "error"), want_error)
			 : xpc_dictionary_get_bool(r, "ok"));
	xpc_release(r);
	xpc_release(msg);
	xpc_connection_cancel(b);
	xpc_release(b);
	return ok;
}

/* Subscribes a monitor (filter @name may be NULL); NULL if refused. */
xpc_connection_t monitor(Seen *seen, const char *name, const char **ret_error)
{
	xpc_connection_t b = broker_link();
	xpc_object_t msg = xpc_dictionary_create(NULL, NULL, 0), r;
	const char *err;

	seen->events = xpc_array_create(NULL, 0);
	pthread_mutex_init(&seen->lock, NULL);
	atomic_init(&seen->done, false);
	seen->more = dispatch_semaphore_create(0);
	xpc_connection_set_event_handler(b, ^(xpc_object_t ev) {
		if (seen->gate)
			dispatch_semaphore_wait(seen->gate, DISPATCH_TIME_FOREVER);
		pthread_mutex_lock(&seen->lock);
		if (xpc_get_type(ev) == XPC_TYPE_DICTIONARY)
			xpc_array_append_value(seen->events, ev);
		pthread_mutex_unlock(&seen->lock);
		if (ev == XPC_ERROR_CONNECTION_INVALID)
			atomic_store(&seen->done, true);
		dispatch_semaphore_signal(seen->more);
	});
	xpc_connection_resume(b);
	xpc_dictionary_set_string(msg, "xpcd.op", "monitor");
	if (name)
		xpc_dictionary_set_string(msg, "name", name);
	r = xpc_connection_send_message_with_reply_sync(b, msg);
	xpc_release(msg);
	err = xpc_get_type(r) == XPC_TYPE_DICTIONARY ? xpc_dictionary_get_string(r, "error") : "no answer";
	if (ret_error)
		*ret_error = err ? strdup(err) : NULL;
	xpc_release(r);
	if (err) {
		monitor_close(b, seen);
		return NULL;
	}
	return b;
}

/* Cancels @b and waits for its handler's last event (INVALID): after it
 * the handler never runs again, and @seen's objects are released. */
void monitor_close(xpc_connection_t b, Seen *seen)
{
	dispatch_time_t end = dispatch_time(DISPATCH_TIME_NOW, 30 * NSEC_PER_SEC);

	xpc_connection_cancel(b);
	xpc_release(b);
	while (!atomic_load(&seen->done))
		REQUIRE(dispatch_semaphore_wait(seen->more, end) == 0);
	dispatch_release(seen->more);
	if (seen->gate)
		dispatch_release(seen->gate);
	xpc_release(seen->events);
	pthread_mutex_destroy(&seen->lock);
}

/* The number of events @seen holds now. */
size_t seen_count(Seen *seen)
{
	pthread_mutex_lock(&seen->lock);
	size_t n = xpc_array_get_count(seen->events);
	pthread_mutex_unlock(&seen->lock);
	return n;
}

/* Event @k of @seen (the array keeps it until monitor_close). */
xpc_object_t seen_get(Seen *seen, size_t k)
{
	pthread_mutex_lock(&seen->lock);
	xpc_object_t e = xpc_array_get_value(seen->events, k);
	pthread_mutex_unlock(&seen->lock);
	return e;
}

/* The first event of @kind for @who (label or name) at or after @from; NULL if none came in @secs. */
xpc_object_t wait_event(Seen *seen, size_t *from, const char *kind, const char *who, unsigned secs)
{
	dispatch_time_t end = dispatch_time(DISPATCH_TIME_NOW, (int64_t)secs * NSEC_PER_SEC);

	for (;;) {
		for (; *from < seen_count(seen); (*from)++) {
			xpc_object_t e = seen_get(seen, *from);
			const char *k = xpc_dictionary_get_string(e, "xpcd.event");
			const char *l = xpc_dictionary_get_string(e, "label"), *n = xpc_dictionary_get_string(e, "name");
			if (k && !strcmp(k, kind) && (!who || (l && !strcmp(l, who)) || (n && !strcmp(n, who))))
				return e;
		}
		if (dispatch_semaphore_wait(seen->more, end))
			return NULL;
	}
}
