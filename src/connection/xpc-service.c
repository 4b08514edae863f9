/* SPDX-License-Identifier: MIT */
/*
 * xpc-service.c - xpc_connection_create(NAME, queue): a connection to the
 * XPC service NAME bundled with this application (docs/bundled-services.md).
 *
 * Such a connection is a named connection (INTERRUPTED when the service's
 * process goes, checking in again on the next send) whose channel comes
 * from src/bundle instead of the broker: the W of this process's private
 * instance, started on demand.  When the program bundles no service of
 * that name, the connection asks the broker for NAME as
 * xpc_connection_create_mach_service would (what libxpc did before
 * bundled services existed; macOS would fail).
 */
#include "bundle/bundle.h"
#include "connection/internal.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* Checks in over a fresh W of the instance (locked).  Return: 0 up, 1 the
 * channel is closed (the instance is gone), 2 no such bundled service, or
 * -1 failed and reported. */
static int xpc_service_try_locked(xpc_connection_t c, const char *name)
{
	char why[512] = "";
	ConnError e;
	int w, r;

	lock_assert_held(&c->lock);
	r = bundle_service_send_fd(name, &w, why, sizeof(why));
	if (r == 0)
		return 2;
	if (r < 0) {
		conn_fail_locked(c, CONN_E_BUNDLE, why);
		return -1;
	}
	if (c->send_w >= 0)
		close(c->send_w);
	c->send_w = w;
	conn_set(c, CONN_F_CONNECTING, false);
	e = checkin_make(w, true, &c->link.fd);
	if (conn_error_is_limit(e)) {
		conn_fail_locked(c, e, NULL);
		return -1;
	}
	if (e != CONN_OK) {
		bundle_service_drop(name, w);
		conn_set(c, CONN_F_CONNECTING, true);
		return 1;
	}
	conn_link_up_locked(c);
	return c->state == CONN_INVALID ? -1 : 0;
}

bool xpc_service_checkin_locked(xpc_connection_t c)
{
	const char *name = c->name ? c->name : "";
	int r;

	lock_assert_held(&c->lock);
	r = xpc_service_try_locked(c, name);
	if (r == 1) /* the instance died since: one new one */
		r = xpc_service_try_locked(c, name);
	if (r == 1)
		conn_fail_locked(c, CONN_E_BUNDLE, "exited at once");
	return r != 2;
}
