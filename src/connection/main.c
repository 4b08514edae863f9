/* SPDX-License-Identifier: MIT */
/*
 * main.c - xpc_main() and the transaction counter: the face of a service
 * process that xpcd launched (docs/services.md).
 *
 * xpc_main() listens on the first name XPCD_LISTEN_FDNAMES vends to this
 * process (the listener: named.c) and hands each new peer to the
 * program's handler, then runs the main queue for ever.
 */
#include "bundle/bundle.h"
#include "connection/internal.h"
#include "connection/transactions.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *main_first_name(void)
{
	const char *names = secure_getenv("XPCD_LISTEN_FDNAMES");
	const char *end;

	if (!names || !*names)
		return NULL;
	end = strchr(names, ':');
	return end ? strndup(names, (size_t)(end - names)) : strdup(names);
}

/*
 * A service whose listener cannot start (out of memory, no descriptor, the
 * name not vended) would sit deaf for ever while its clients' check-ins
 * wait: it says why on stderr and exits instead (status 71), and xpcd
 * relaunches it for the waiting check-ins.  A listener whose channel closes
 * later (the broker gone) is not that: the process keeps serving its
 * established links (docs/services.md).
 */
__attribute__((noreturn)) static void main_fail(const char *why)
{
	fprintf(stderr, "xpc_main: cannot serve: %s\n", why ? why : "listener invalid");
	exit(71);
}

static void main_event(xpc_connection_t l, xpc_connection_handler_t handler, xpc_object_t ev)
{
	if (xpc_get_type(ev) == XPC_TYPE_CONNECTION) {
		handler((xpc_connection_t)ev);
		return;
	}
	if (ev != XPC_ERROR_CONNECTION_INVALID)
		return;
	conn_lock(l);
	bool cannot = conn_error_is_limit(l->error) || l->error == CONN_E_NOT_VENDED;
	conn_unlock(l);
	if (cannot)
		main_fail(xpc_connection_copy_invalidation_reason(l));
	if (bundle_private_instance())
		exit(0); /* the application that started this instance is gone */
}

void xpc_main(xpc_connection_handler_t handler)
{
	char *name = main_first_name();
	xpc_connection_t l;

	if (!name && secure_getenv("XPCD_LISTEN_FDNAMES") && *secure_getenv("XPCD_LISTEN_FDNAMES"))
		main_fail(conn_strerror(CONN_E_NO_MEMORY));
	l = xpc_connection_create_mach_service(name ? name : "", dispatch_get_main_queue(),
					       XPC_CONNECTION_MACH_SERVICE_LISTENER);
	free(name);
	if (!l)
		main_fail(conn_strerror(CONN_E_NO_MEMORY));
	xpc_connection_set_event_handler(l, ^(xpc_object_t ev) {
		main_event(l, handler, ev);
	});
	conn_lock(l);
	bool deaf = !l->handler_block; /* the handler could not be copied */
	conn_unlock(l);
	if (deaf)
		main_fail(conn_strerror(CONN_E_NO_MEMORY));
	xpc_connection_resume(l);
	dispatch_main();
}

void xpc_main_f(xpc_connection_handler_f handler)
{
	xpc_main(handler);
}

/* A process-wide count of open transactions.  On macOS it keeps launchd from
 * killing an idle service; here, for a job with EnableTransactions, xpcd
 * reads it when it stops the job (none open: SIGKILL at once,
 * src/broker/launch.c; the shared count is in launch.c). */
static atomic_long main_transactions;

void xpc_transaction_begin(void)
{
	atomic_fetch_add(&main_transactions, 1);
	launch_transactions_add(1);
}

void xpc_transaction_end(void)
{
	atomic_fetch_sub(&main_transactions, 1);
	launch_transactions_add(-1);
}
