/* SPDX-License-Identifier: MIT */
/*
 * test-creds - credentials cannot be forged (issue 7, docs/reliability.md invariant
 * 5; docs/connections.md "Identity").
 *
 *   - The kernel refuses SCM_CREDENTIALS naming another pid from an
 *     unprivileged process (EPERM): a peer cannot claim another pid on the
 *     frames that carry its identity.
 *   - What the service sees of this process (xpc_connection_get_pid, euid,
 *     egid, the pidfd's process) is this process.
 *   - A peer process dies and its pid is handed to a new process (forced
 *     through /proc/sys/kernel/ns_last_pid where writable): the service's
 *     connection still names the old pid, but its pidfd reports the old
 *     process as exited and does not refer to the new one, so the new
 *     process is not mistaken for the peer.
 */
#include "harness.h"
#include "stress-common.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xpc/xpc.h>

#define NAME "org.xpc.stress.creds"

/* In a forked child: send a frame claiming @pid; returns the errno (0 if
 * the kernel accepted it). */
static int send_claiming(int fd, pid_t pid)
{
	struct ucred cr = {.pid = pid, .uid = geteuid(), .gid = getegid()};
	union {
		char buf[CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	} u;
	char byte = 'x';
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_CREDENTIALS;
	c->cmsg_len = CMSG_LEN(sizeof(cr));
	memcpy(CMSG_DATA(c), &cr, sizeof(cr));
	return sendmsg(fd, &msg, 0) < 0 ? errno : 0;
}

static void check_forgery_refused(void)
{
	pid_t parent = getpid();
	pid_t child = fork();

	REQUIRE(child >= 0);
	if (child == 0) {
		int sv[2], one = 1;
		if (geteuid() == 0 && (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0))
			_exit(10);
		if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0)
			_exit(11);
		setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one));
		if (send_claiming(sv[0], getpid()) != 0)
			_exit(12); /* its own pid is accepted */
		_exit(send_claiming(sv[0], parent) == EPERM ? 0 : 13);
	}
	int status = stress_wait(child, 10);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	fprintf(stderr, "forged SCM_CREDENTIALS pid from an unprivileged process: %s\n",
		status == 0 ? "refused by the kernel (EPERM)" : "NOT refused");
}

/* The service's record of the peer with pid @pid (+1), or NULL. */
static xpc_object_t service_view(pid_t pid)
{
	xpc_connection_t c = xpc_connection_create_mach_service(NAME, NULL, 0);
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0), r, found = NULL;

	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) {
		(void)ev;
	});
	xpc_connection_resume(c);
	xpc_dictionary_set_string(m, "op", "creds");
	r = xpc_connection_send_message_with_reply_sync(c, m);
	xpc_object_t peers = xpc_dictionary_get_value(r, "peers");
	for (size_t i = 0; peers && i < xpc_array_get_count(peers); i++) {
		xpc_object_t d = xpc_array_get_value(peers, i);
		if (xpc_dictionary_get_int64(d, "pid") == pid) {
			if (found)
				xpc_release(found);
			found = xpc_retain(d);
		}
	}
	xpc_release(r);
	xpc_release(m);
	xpc_connection_cancel(c);
	xpc_release(c);
	return found;
}

static void check_own_view(void)
{
	xpc_object_t d = service_view(getpid());

	REQUIRE(d);
	CHECK_EQ_INT(xpc_dictionary_get_int64(d, "euid"), geteuid());
	CHECK_EQ_INT(xpc_dictionary_get_int64(d, "egid"), getegid());
	CHECK_EQ_INT(xpc_dictionary_get_int64(d, "pidfd_pid"), getpid());
	xpc_release(d);
}

/* A process with pid @pid, made by setting ns_last_pid; 0 if not possible. */
static pid_t take_pid(pid_t pid)
{
	for (int attempt = 0; attempt < 20; attempt++) {
		int fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);
		char buf[32];
		if (fd < 0)
			return 0;
		int len = snprintf(buf, sizeof(buf), "%d", (int)pid - 1);
		bool ok = write(fd, buf, (size_t)len) == len;
		close(fd);
		if (!ok)
			return 0;
		pid_t c = fork();
		if (c == 0) {
			pause();
			_exit(0);
		}
		if (c == pid)
			return c;
		if (c > 0) {
			kill(c, SIGKILL);
			stress_wait(c, 5);
		}
	}
	return 0;
}

static void check_pid_reuse(char *client_path)
{
	char *argv[] = {client_path, "idle", NAME, "1", "1", NULL};
	StressChild p = stress_spawn(argv, true);
	char out[256];
	xpc_object_t d;

	stress_read_line(&p, out, sizeof(out), 30);
	CHECK(strstr(out, "ready ok=1") != NULL);
	d = service_view(p.pid);
	REQUIRE(d);
	CHECK_EQ_INT(xpc_dictionary_get_int64(d, "pidfd_pid"), p.pid);
	CHECK(!xpc_dictionary_get_bool(d, "exited"));
	xpc_release(d);
	kill(p.pid, SIGKILL);
	close(p.out);
	stress_wait(p.pid, 10);
	pid_t impostor = take_pid(p.pid);
	d = service_view(p.pid);
	REQUIRE(d);
	fprintf(stderr, "peer %d died; pid reused by a new process: %s; the service's pidfd: exited=%d, "
			"refers to pid %lld\n",
		(int)p.pid, impostor ? "yes" : "no (ns_last_pid not writable)", xpc_dictionary_get_bool(d, "exited"),
		(long long)xpc_dictionary_get_int64(d, "pidfd_pid"));
	CHECK(xpc_dictionary_get_bool(d, "exited"));
	CHECK(xpc_dictionary_get_int64(d, "pidfd_pid") != p.pid);
	if (impostor) {
		CHECK(kill(impostor, 0) == 0); /* the pid is taken by another process now */
		kill(impostor, SIGKILL);
		stress_wait(impostor, 5);
	}
	xpc_release(d);
}

int main(int argc, char **argv)
{
	char *svc_argv[2], *client_path;
	StressStat st;

	(void)argc;
	harness_warm_dispatch();
	stress_setup(argv[0]);
	client_path = stress_program("stress-client");
	svc_argv[0] = stress_program("stress-service");
	svc_argv[1] = NULL;
	stress_write_job("svc", NAME, svc_argv, NULL);
	stress_start_broker();
	REQUIRE(stress_stat(NAME, &st));
	harness_begin(120);
	check_forgery_refused();
	check_own_view();
	check_pid_reuse(client_path);
	stress_teardown();
	free(svc_argv[0]);
	free(client_path);
	return harness_end();
}
