/* SPDX-License-Identifier: MIT */
/*
 * test-sec-endpoint - an endpoint passed between users names, on both
 * sides, the processes that use it (docs/security.md, "Endpoints between
 * users").
 *
 * A root xpcd runs two services as nobody (user A; sec-endpoint serve):
 * each answers { "op": "endpoint" } with the endpoint of an anonymous
 * listener of its own, the second one's listener requiring its peers'
 * euid to be daemon's (a peer requirement, docs/peer-requirements.md).
 * daemon (user B) looks the first up, takes the endpoint, connects to it
 * requiring its peer to be nobody, and asks who it is: the service must
 * see B's euid and pid (xpc_connection_get_euid/pid and the audit token
 * agree), and B must see the service's.  B then sends the endpoint's
 * descriptor to a process of user C (uid 2, "bin"), which connects with
 * it: the service must see C, not B.  C requiring its peer to be root is
 * refused ("peer requirement not met").  On the second service B is
 * served and C, whose euid the listener does not admit, is not.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sec-common.h"

static const char *prog;
static struct harness_user user_a, user_b, user_c = {2, 2, "bin"};

/* Runs @argv as @u, its first line of output into @out; its pid. */
static pid_t run_as(struct harness_user u, char *const argv[], char *out, size_t size)
{
	int p[2];
	size_t got = 0;
	pid_t pid;
	time_t end = time(NULL) + 20;

	REQUIRE(pipe2(p, O_CLOEXEC) == 0);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		dup2(p[1], 1);
		harness_become(u);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	out[0] = 0;
	while (time(NULL) <= end && got < size - 1 && !strchr(out, '\n')) {
		struct pollfd pfd = {p[0], POLLIN, 0};
		if (poll(&pfd, 1, 200) <= 0)
			continue;
		ssize_t n = read(p[0], out + got, size - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		out[got] = 0;
	}
	close(p[0]);
	harness_wait_pid(pid, 10);
	fprintf(stderr, "%s (pid %d): %s", u.name, (int)pid, out[0] ? out : "(nothing)\n");
	return pid;
}

typedef struct Seen {
	long me, seen_euid, seen_pid, token_euid, token_pid, peer_euid, peer_pid, server_euid, server_pid;
} Seen;

static bool parse(const char *line, Seen *s)
{
	return sscanf(line, "me=%ld seen=%ld/%ld token=%ld/%ld peer=%ld/%ld server=%ld/%ld", &s->me, &s->seen_euid,
		      &s->seen_pid, &s->token_euid, &s->token_pid, &s->peer_euid, &s->peer_pid, &s->server_euid,
		      &s->server_pid) == 9;
}

/* The service saw @u at @pid; the asker saw the service (user A). */
static void check_seen(const char *line, struct harness_user u, pid_t pid)
{
	Seen s;

	CHECK(parse(line, &s));
	CHECK_EQ_INT(s.me, pid);
	CHECK_EQ_INT(s.seen_euid, u.uid);
	CHECK_EQ_INT(s.seen_pid, pid);
	CHECK_EQ_INT(s.token_euid, u.uid);
	CHECK_EQ_INT(s.token_pid, pid);
	CHECK_EQ_INT(s.server_euid, user_a.uid);
	CHECK_EQ_INT(s.peer_euid, user_a.uid);
	CHECK_EQ_INT(s.peer_pid, s.server_pid);
}

/* B takes @name's endpoint (requiring A) and forwards it to C, which
 * connects requiring @c_peer_uid.  Outputs in @b_out, @c_out. */
static void pass_on(const char *name, const char *c_peer_uid, char *b_out, char *c_out, size_t size, pid_t *b_pid,
		    pid_t *c_pid)
{
	int sv[2];
	char b_sock[16], c_sock[16], a_uid[16];

	REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0); /* inherited by B and C */
	snprintf(b_sock, sizeof(b_sock), "%d", sv[0]);
	snprintf(c_sock, sizeof(c_sock), "%d", sv[1]);
	snprintf(a_uid, sizeof(a_uid), "%u", (unsigned)user_a.uid);
	char *b_argv[] = {(char *)prog, "client", (char *)name, b_sock, a_uid, NULL};
	char *c_argv[] = {(char *)prog, "forwarded", c_sock, (char *)c_peer_uid, NULL};
	*b_pid = run_as(user_b, b_argv, b_out, size);
	*c_pid = run_as(user_c, c_argv, c_out, size);
	close(sv[0]);
	close(sv[1]);
}

int main(int argc, char **argv)
{
	char b_out[512], c_out[512], req[16], a_uid[16];
	pid_t b, c;
	(void)argc;

	harness_require_root();
	harness_warm_dispatch();
	harness_begin(90);
	sec_setup();
	prog = harness_sibling(argv[0], "sec-endpoint");
	user_a = harness_unprivileged_user(0);
	user_b = harness_unprivileged_user(1);
	snprintf(req, sizeof(req), "%u", (unsigned)user_b.uid);
	snprintf(a_uid, sizeof(a_uid), "%u", (unsigned)user_a.uid);
	const char *open_svc[] = {prog, "serve", "org.sec.ep", "-1", NULL};
	const char *req_svc[] = {prog, "serve", "org.sec.ep-req", req, NULL};
	sec_job("ep", "org.sec.ep", user_a.name, NULL, false, open_svc);
	sec_job("ep-req", "org.sec.ep-req", user_a.name, NULL, false, req_svc);
	sec_start_broker(0);

	/* B, then C with B's endpoint, on the open listener */
	pass_on("org.sec.ep", a_uid, b_out, c_out, sizeof(b_out), &b, &c);
	check_seen(b_out, user_b, b);
	check_seen(c_out, user_c, c);
	/* C requiring its peer to be root: refused before a message leaves */
	pass_on("org.sec.ep", "0", b_out, c_out, sizeof(b_out), &b, &c);
	check_seen(b_out, user_b, b);
	CHECK(strstr(c_out, "peer requirement not met") != NULL);
	/* the listener admits daemon only: B served, C not */
	pass_on("org.sec.ep-req", a_uid, b_out, c_out, sizeof(b_out), &b, &c);
	check_seen(b_out, user_b, b);
	CHECK(!strncmp(c_out, "error: ", 7));

	sec_teardown();
	return harness_end();
}
