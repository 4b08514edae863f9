/* SPDX-License-Identifier: MIT */
/*
 * bundle-app - the application test-bundle lays out with the bundled
 * service bench-worker (examples/bundled) and runs from there.
 *
 *   bundle-app SCENARIO
 *
 * Prints "key=value" lines for the test to check; exits 0 unless a step
 * could not even be tried.
 *   request    one request over xpc_connection_create(NAME): the worker's
 *              pid, service name, mode (bundle environment), and whether
 *              this process is its parent
 *   interrupt  the worker crashes: INTERRUPTED, then a new worker
 *   session    the same request over xpc_session_create_xpc_service
 *   hold       one request, then waits to be killed
 *   exit       one request, then exits at once
 *   refused    the reason the connection was refused
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xpc/xpc.h>

#define NAME "org.example.bench.worker"

static pid_t parent_of(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	int ppid = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "re")))
		return 0;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')))
		sscanf(p + 2, "%*c %d", &ppid);
	fclose(f);
	return ppid;
}

static xpc_object_t ping(xpc_connection_t c, const char *op)
{
	xpc_object_t msg = xpc_dictionary_create_empty();
	xpc_object_t reply;

	xpc_dictionary_set_string(msg, "op", op);
	reply = xpc_connection_send_message_with_reply_sync(c, msg);
	xpc_release(msg);
	return reply;
}

static pid_t report(xpc_object_t reply)
{
	pid_t pid;

	if (xpc_get_type(reply) != XPC_TYPE_DICTIONARY) {
		printf("error=%s\n", reply == XPC_ERROR_CONNECTION_INTERRUPTED ? "interrupted" : "invalid");
		return 0;
	}
	pid = (pid_t)xpc_dictionary_get_int64(reply, "pid");
	printf("pid=%d\nservice=%s\nmode=%s\nparent=%s\n", (int)pid, xpc_dictionary_get_string(reply, "service"),
	       xpc_dictionary_get_string(reply, "mode"), parent_of(pid) == getpid() ? "ok" : "other");
	return pid;
}

int main(int argc, char **argv)
{
	const char *s = argc > 1 ? argv[1] : "request";
	xpc_connection_t c;
	xpc_object_t reply;
	pid_t first;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(s, "session")) {
		xpc_rich_error_t err = NULL;
		xpc_session_t ss = xpc_session_create_xpc_service(NAME, NULL, 0, &err);
		if (!ss) {
			char *d = err ? xpc_rich_error_copy_description(err) : NULL;
			printf("error=%s\n", d ? d : "?");
			return 0;
		}
		xpc_object_t msg = xpc_dictionary_create_empty();
		xpc_dictionary_set_string(msg, "op", "ping");
		reply = xpc_session_send_message_with_reply_sync(ss, msg, &err);
		report(reply);
		xpc_release(reply);
		xpc_release(msg);
		xpc_session_cancel(ss);
		xpc_release(ss);
		return 0;
	}
	c = xpc_connection_create(NAME, NULL);
	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) { (void)ev; });
	xpc_connection_resume(c);
	reply = ping(c, "ping");
	if (!strcmp(s, "refused")) {
		char *why = xpc_connection_copy_invalidation_reason(c);
		printf("reply=%s\nreason=%s\n", reply == XPC_ERROR_CONNECTION_INVALID ? "invalid" : "other", why ? why : "");
		return 0;
	}
	first = report(reply);
	xpc_release(reply);
	if (!strcmp(s, "interrupt")) {
		reply = ping(c, "crash");
		printf("crash=%s\n", reply == XPC_ERROR_CONNECTION_INTERRUPTED ? "interrupted" : "other");
		reply = ping(c, "ping");
		printf("relaunched=%s\n", report(reply) != first ? "yes" : "no");
		xpc_release(reply);
	}
	if (!strcmp(s, "hold"))
		for (;;)
			pause();
	if (!strcmp(s, "exit"))
		_exit(0); /* no cleanup at all */
	xpc_connection_cancel(c);
	xpc_release(c);
	return 0;
}
