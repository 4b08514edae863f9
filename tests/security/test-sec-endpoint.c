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
 *
 * The deputy: B connects a socket to another daemon's listening socket
 * (a stand-in made by the test, which trusts each packet's
 * SCM_CREDENTIALS) and hands it as an endpoint to a root service, which
 * connects with it.  The daemon must receive nothing: before the fix the
 * root service sent it a check-in stating uid 0 and its pid, carrying a
 * socket of root's (an endpoint's descriptor was not checked to be a
 * listener channel).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "sec-common.h"

static const char *prog;
static struct harness_user user_a, user_b, user_c = {2, 2, "bin"};

/* Runs @argv as @u, its output into @out; its pid. */
static pid_t run_as(struct harness_user u, char *const argv[], char *out, size_t size)
{
	pid_t pid = -1;

	sec_run_as_user(u, argv, out, size, 20, &pid);
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

/* A listening SOCK_SEQPACKET socket at DIR/daemon.sock that everyone may
 * connect to, passing credentials: another daemon of the machine. */
static int victim_listen(char *path, size_t size)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), one = 1;

	snprintf(path, size, "%s/daemon.sock", sec_dir());
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	REQUIRE(fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) == 0);
	REQUIRE(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && chmod(path, 0666) == 0);
	REQUIRE(listen(fd, 8) == 0);
	return fd;
}

/* What the victim received within 2 s on the links made to it: the
 * number of packets; the uid they stated in *@ret_uid (-1: none). */
static int victim_received(int lfd, long *ret_uid)
{
	int n = 0;

	*ret_uid = -1;
	for (int i = 0; i < 20; i++) {
		int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (c < 0) {
			usleep(100 * 1000);
			continue;
		}
		for (int j = 0; j < 10; j++) {
			union {
				char buf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * 4)];
				struct cmsghdr align;
			} ctl;
			char pkt[256];
			struct iovec iov = {pkt, sizeof(pkt)};
			struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
					    .msg_controllen = sizeof(ctl.buf)};
			if (recvmsg(c, &mh, MSG_CMSG_CLOEXEC) <= 0) {
				usleep(100 * 1000);
				continue;
			}
			n++;
			for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
				if (cm->cmsg_type == SCM_CREDENTIALS)
					*ret_uid = ((struct ucred *)(void *)CMSG_DATA(cm))->uid;
				else if (cm->cmsg_type == SCM_RIGHTS)
					close(*(int *)(void *)CMSG_DATA(cm));
		}
		close(c);
	}
	fprintf(stderr, "the other daemon received %d packets, stating uid %ld\n", n, *ret_uid);
	return n;
}

static void deputy(void)
{
	char path[300], out[512];
	int lfd = victim_listen(path, sizeof(path));
	long uid;
	char *argv[] = {(char *)prog, "deputy", "org.sec.ep-root", path, NULL};

	run_as(user_b, argv, out, sizeof(out));
	CHECK(victim_received(lfd, &uid) == 0);
	CHECK(uid != 0);
	close(lfd);
}

int main(int argc, char **argv)
{
	char b_out[512], c_out[512], req[16], a_uid[16];
	pid_t b, c;
	(void)argc;

	sec_begin(90);
	prog = harness_sibling(argv[0], "sec-endpoint");
	user_a = harness_unprivileged_user(0);
	user_b = harness_unprivileged_user(1);
	snprintf(req, sizeof(req), "%u", (unsigned)user_b.uid);
	snprintf(a_uid, sizeof(a_uid), "%u", (unsigned)user_a.uid);
	const char *open_svc[] = {prog, "serve", "org.sec.ep", "-1", NULL};
	const char *req_svc[] = {prog, "serve", "org.sec.ep-req", req, NULL};
	sec_job("ep", "org.sec.ep", user_a.name, NULL, false, open_svc);
	sec_job("ep-req", "org.sec.ep-req", user_a.name, NULL, false, req_svc);
	const char *root_svc[] = {prog, "serve", "org.sec.ep-root", "-1", NULL};
	sec_job("ep-root", "org.sec.ep-root", NULL, NULL, false, root_svc);
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
	/* a socket to another daemon handed to a root service as an endpoint */
	deputy();

	sec_teardown();
	return harness_end();
}
