/* SPDX-License-Identifier: MIT */
/*
 * session-common.c - the stand-in broker and the in-process vending of
 * names for the session tests (session-common.h).
 */
#include "session-common.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "connection/connection.h"
#include "harness.h"
#include "shared/xpcd-protocol.h"

#define MAX_NAMES 8

static struct {
	char dir[64], path[128];
	int fd;
	dispatch_source_t src;
	char *names[MAX_NAMES];
	int w[MAX_NAMES];
	int n;
} broker = {.fd = -1};

static void broker_answer(xpc_connection_t link, xpc_object_t m)
{
	xpc_object_t r = xpc_dictionary_create_reply(m);
	const char *name = xpc_dictionary_get_string(m, XPCD_KEY_NAME);
	xpc_endpoint_t ep = NULL;

	if (!r)
		return;
	for (int i = 0; name && i < broker.n; i++)
		if (!strcmp(broker.names[i], name))
			ep = endpoint_create_from_send_fd(broker.w[i]);
	if (ep) {
		xpc_dictionary_set_value(r, XPCD_KEY_ENDPOINT, ep);
		xpc_release(ep);
	} else {
		xpc_dictionary_set_string(r, XPCD_KEY_ERROR, "unknown name");
		xpc_dictionary_set_int64(r, XPCD_KEY_ERRNO, ESRCH);
	}
	xpc_connection_send_message(link, r);
	xpc_release(r);
}

static void broker_serve(xpc_connection_t link)
{
	xpc_connection_set_event_handler(link, ^(xpc_object_t m) {
		if (m == XPC_ERROR_CONNECTION_INVALID)
			xpc_release(link);
		else if (xpc_get_type(m) == XPC_TYPE_DICTIONARY)
			broker_answer(link, m);
	});
	xpc_connection_resume(link);
}

void session_test_broker_start(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	const char *given = getenv("XPC_SESSION_TEST_DIR"); /* a misuse child's, see below */

	if (given)
		snprintf(broker.dir, sizeof(broker.dir), "%s", given);
	else
		snprintf(broker.dir, sizeof(broker.dir), "/tmp/xpc-session-XXXXXX");
	REQUIRE(given || mkdtemp(broker.dir));
	snprintf(broker.path, sizeof(broker.path), "%s/xpcd.sock", broker.dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", broker.path);
	broker.fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	REQUIRE(broker.fd >= 0 && bind(broker.fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(broker.fd, 16) == 0);
	broker.src = dispatch_source_create(DISPATCH_SOURCE_TYPE_READ, (uintptr_t)broker.fd, 0, NULL);
	dispatch_source_set_event_handler(broker.src, ^{
		int c = accept4(broker.fd, NULL, NULL, SOCK_CLOEXEC);
		if (c >= 0)
			broker_serve(connection_create_from_socket(c, NULL));
	});
	dispatch_resume(broker.src);
	setenv("XPCD_SOCKET", broker.path, 1);
}

void session_test_broker_stop(void)
{
	dispatch_semaphore_t done = dispatch_semaphore_create(0);

	dispatch_source_set_cancel_handler(broker.src, ^{
		close(broker.fd);
		dispatch_semaphore_signal(done);
	});
	dispatch_source_cancel(broker.src);
	REQUIRE(session_test_wait(done, 10));
	dispatch_release(done);
	dispatch_release(broker.src);
	for (int i = 0; i < broker.n; i++) {
		free(broker.names[i]);
		close(broker.w[i]);
	}
	broker.n = 0;
	unlink(broker.path);
	rmdir(broker.dir);
}

/*
 * xpcd gives a job its R descriptors at 3, 4, ...; here R stays where it
 * is and the name list pads the positions below it ("-"), so the
 * connection layer finds R for @name at 3 + its index.
 */
void session_test_vend(const char *name)
{
	char fds[16], names[4096] = "", pid[16];
	int r, w;

	REQUIRE(broker.n < MAX_NAMES && connection_listener_pair(&r, &w) == 0 && r >= 3 && r - 3 < 1000);
	broker.names[broker.n] = strdup(name);
	broker.w[broker.n++] = w;
	for (int i = 0; i < r - 3; i++)
		strcat(names, "-:");
	strcat(names, name);
	snprintf(fds, sizeof(fds), "%d", r - 3 + 1);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("XPCD_LISTEN_PID", pid, 1);
	setenv("XPCD_LISTEN_FDS", fds, 1);
	setenv("XPCD_LISTEN_FDNAMES", names, 1);
}

bool session_test_wait(dispatch_semaphore_t sem, unsigned seconds)
{
	return dispatch_semaphore_wait(sem, dispatch_time(DISPATCH_TIME_NOW, (int64_t)seconds * 1000000000)) == 0;
}

xpc_object_t session_test_msg(const char *op)
{
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0);

	xpc_dictionary_set_string(m, "op", op);
	return m;
}

bool session_test_misuse(const char *argv0, const char *scenario, const char *text)
{
	char out[8192];
	size_t len = 0;
	int p[2], status;
	ssize_t n;
	pid_t pid;

	/* the child aborts: its broker's directory is made and removed here */
	char dir[64] = "/tmp/xpc-session-XXXXXX", sock[96];
	REQUIRE(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/xpcd.sock", dir);
	setenv("XPC_SESSION_TEST_DIR", dir, 1);
	REQUIRE(pipe2(p, O_CLOEXEC) == 0);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		dup2(p[1], 2);
		execl(argv0, argv0, scenario, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	while (len < sizeof(out) - 1 && (n = read(p[0], out + len, sizeof(out) - 1 - len)) > 0)
		len += (size_t)n;
	out[len] = 0;
	close(p[0]);
	status = harness_wait_pid(pid, 30);
	unsetenv("XPC_SESSION_TEST_DIR");
	unlink(sock);
	rmdir(dir);
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT || !strstr(out, "XPC API MISUSE") || !strstr(out, text)) {
		fprintf(stderr, "misuse %s: status %#x, stderr:\n%s\n", scenario, status, out);
		return false;
	}
	return true;
}
