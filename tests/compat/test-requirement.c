/* SPDX-License-Identifier: MIT */
/*
 * test-requirement - peer requirements with real peers: req-peer processes
 * (forked and exec'd, as another uid or with other groups when the test
 * runs as root, or as another executable) connect to a listener of this
 * process that holds a requirement, or hold one on their own connection.
 *
 *   test-requirement SCENARIO    uid, gid, exe, lsm, unit, apple, client
 *
 * Each form passes for a peer that satisfies it (where the machine can make
 * one: an LSM label, a systemd unit) and fails for one that does not; a
 * peer that fails has none of its messages delivered, its connection's
 * handler gets XPC_ERROR_PEER_CODE_SIGNING_REQUIREMENT, and the reason
 * names the requirement.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "connection/connection.h"
#include "connection/internal.h"
#include "harness.h"

static const char *peer_path, *other_path;
static char link_path[512];

/* What the listener's side saw of its peers. */
static atomic_int n_messages, n_peer_req, n_invalid;
static atomic_int n_replied; /* after the handler's last use of match_req */
static char last_reason[512];
static pthread_mutex_t reason_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic(xpc_peer_requirement_t) match_req; /* reported in each reply */

static void serve_peer(xpc_connection_t peer)
{
	xpc_connection_set_event_handler(peer, ^(xpc_object_t ev) {
		if (ev == XPC_ERROR_PEER_CODE_SIGNING_REQUIREMENT) {
			atomic_fetch_add(&n_peer_req, 1);
			return;
		}
		if (ev == XPC_ERROR_CONNECTION_INVALID) {
			char *why = xpc_connection_copy_invalidation_reason(peer);
			pthread_mutex_lock(&reason_lock);
			snprintf(last_reason, sizeof(last_reason), "%s", why ? why : "");
			pthread_mutex_unlock(&reason_lock);
			free(why);
			atomic_fetch_add(&n_invalid, 1);
			return;
		}
		if (xpc_get_type(ev) != XPC_TYPE_DICTIONARY)
			return;
		atomic_fetch_add(&n_messages, 1);
		xpc_object_t r = xpc_dictionary_create_reply(ev);
		xpc_peer_requirement_t m = atomic_load(&match_req);
		if (m)
			xpc_dictionary_set_bool(r, "match", xpc_peer_requirement_match_received_message(m, ev, NULL));
		xpc_connection_send_message(peer, r);
		xpc_release(r);
		atomic_fetch_add(&n_replied, 1);
	});
	xpc_connection_resume(peer);
}

/* Takes match_req back once @n replies made with it were sent. */
static void match_req_drop(int n)
{
	xpc_peer_requirement_t m = atomic_exchange(&match_req, NULL);

	for (int i = 0; i < 1000 && atomic_load(&n_replied) < n; i++)
		usleep(10000);
	xpc_release(m);
}

/* A listener holding @req (may be NULL); its W in *ret_w. */
static xpc_connection_t listener(xpc_peer_requirement_t req, int *ret_w)
{
	int r;
	REQUIRE(connection_listener_pair(&r, ret_w) == 0);
	xpc_connection_t l = connection_create_listener_from_fd(r, NULL, NULL);
	REQUIRE(l);
	if (req)
		xpc_connection_set_peer_requirement(l, req);
	xpc_connection_set_event_handler(l, ^(xpc_object_t ev) {
		if (xpc_get_type(ev) == XPC_TYPE_CONNECTION)
			serve_peer(ev);
	});
	xpc_connection_resume(l);
	return l;
}

static void end_listener(xpc_connection_t l, int w)
{
	xpc_connection_cancel(l);
	xpc_release(l);
	close(w);
}

enum { AS_SELF, AS_NOBODY, AS_NOBODY_IN_GROUP };
#define TEST_GROUP 4242

/* In the child: who to run as. */
static void become(int who)
{
	struct harness_user u = harness_unprivileged_user(0);
	gid_t g = TEST_GROUP;

	if (who == AS_NOBODY)
		harness_become(u);
	if (who == AS_NOBODY_IN_GROUP &&
	    (setgroups(1, &g) < 0 || setresgid(u.gid, u.gid, u.gid) < 0 || setresuid(u.uid, u.uid, u.uid) < 0))
		_exit(125);
}

/* Runs @prog with @args (after argv[0]) and W as descriptor 3; its output
 * in @out.  Return: its wait status (-1: killed after the timeout). */
static int run_peer(const char *prog, int who, int w, const char *a1, const char *a2, char *out, size_t size)
{
	int p[2];
	REQUIRE(pipe2(p, O_CLOEXEC) == 0);
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		if (dup2(p[1], 1) < 0 || dup2(w, 3) < 0)
			_exit(126);
		become(who);
		execl(prog, prog, a1, a2, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	size_t n = 0;
	ssize_t r;
	while (n < size - 1 && (r = read(p[0], out + n, size - 1 - n)) > 0)
		n += (size_t)r;
	out[n] = 0;
	close(p[0]);
	return harness_wait_pid(pid, 20);
}

static void reset_seen(void)
{
	atomic_store(&n_messages, 0);
	atomic_store(&n_peer_req, 0);
	atomic_store(&n_invalid, 0);
	pthread_mutex_lock(&reason_lock);
	last_reason[0] = 0;
	pthread_mutex_unlock(&reason_lock);
}

static void wait_invalid(int n)
{
	for (int i = 0; i < 1000 && atomic_load(&n_invalid) < n; i++)
		usleep(10000);
}

/* A peer that must pass: its request answered, nothing refused. */
static void expect_pass(xpc_peer_requirement_t req, const char *prog, int who)
{
	char out[1024];
	int w;
	xpc_connection_t l = listener(req, &w);

	reset_seen();
	int st = run_peer(prog, who, w, "call", NULL, out, sizeof(out));
	CHECK(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	if (strncmp(out, "reply\n", 6))
		fprintf(stderr, "expected a reply, got: %s\n", out);
	CHECK(!strncmp(out, "reply\n", 6));
	wait_invalid(1); /* the peer's end after its cancel */
	CHECK_EQ_INT(atomic_load(&n_messages), 1);
	CHECK_EQ_INT(atomic_load(&n_peer_req), 0);
	end_listener(l, w);
}

/* A peer that must fail: no message delivered, the error, the reason. */
static void expect_fail(xpc_peer_requirement_t req, const char *prog, int who, const char *reason_part)
{
	char out[1024];
	int w;
	xpc_connection_t l = listener(req, &w);

	reset_seen();
	int st = run_peer(prog, who, w, "call", NULL, out, sizeof(out));
	CHECK(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK(!strncmp(out, "invalid\n", 8));
	wait_invalid(1);
	CHECK_EQ_INT(atomic_load(&n_messages), 0);
	CHECK_EQ_INT(atomic_load(&n_peer_req), 1);
	pthread_mutex_lock(&reason_lock);
	if (!strstr(last_reason, "peer requirement not met") || !strstr(last_reason, reason_part))
		fprintf(stderr, "reason '%s', wanted '%s'; peer said: %s\n", last_reason, reason_part, out);
	CHECK(strstr(last_reason, "peer requirement not met") && strstr(last_reason, reason_part));
	pthread_mutex_unlock(&reason_lock);
	end_listener(l, w);
}

/* ---- scenarios ---------------------------------------------------------------- */

static void scenario_uid(void)
{
	harness_require_root();
	xpc_peer_requirement_t req = xpc_linux_peer_requirement_create_uid(0);
	REQUIRE(req);
	char *d = xpc_copy_description(req);
	CHECK(d && strstr(d, "uid = 0"));
	free(d);
	atomic_store(&match_req, xpc_retain(req));
	atomic_store(&n_replied, 0);
	expect_pass(req, peer_path, AS_SELF);
	match_req_drop(1);
	char uid[64];
	snprintf(uid, sizeof(uid), "uid %u is not 0", (unsigned)harness_unprivileged_user(0).uid);
	expect_fail(req, peer_path, AS_NOBODY, uid);
	xpc_release(req);
}

/* match_received_message: true for the peer that satisfies it, false not. */
static void scenario_match(void)
{
	char out[1024];
	int w;
	xpc_connection_t l = listener(NULL, &w);

	harness_require_root();
	atomic_store(&n_replied, 0);
	atomic_store(&match_req, xpc_linux_peer_requirement_create_uid(0));
	run_peer(peer_path, AS_SELF, w, "call", NULL, out, sizeof(out));
	CHECK(strstr(out, "reply\nmatch\n"));
	run_peer(peer_path, AS_NOBODY, w, "call", NULL, out, sizeof(out));
	CHECK(!strncmp(out, "reply\n", 6) && !strstr(out, "match"));
	match_req_drop(2);
	xpc_object_t loose = xpc_dictionary_create_empty(); /* received on no connection */
	xpc_peer_requirement_t any = xpc_linux_peer_requirement_create_uid(0);
	CHECK(!xpc_peer_requirement_match_received_message(any, loose, NULL));
	xpc_release(any);
	xpc_release(loose);
	end_listener(l, w);
}

static void scenario_gid(void)
{
	harness_require_root();
	xpc_peer_requirement_t req = xpc_linux_peer_requirement_create_gid(TEST_GROUP);
	REQUIRE(req);
	expect_pass(req, peer_path, AS_NOBODY_IN_GROUP); /* a supplementary group */
	expect_fail(req, peer_path, AS_NOBODY, "not in group 4242");
	xpc_release(req);
	req = xpc_linux_peer_requirement_create_gid(0); /* the effective gid */
	expect_pass(req, peer_path, AS_SELF);
	xpc_release(req);
}

static void scenario_exe(void)
{
	xpc_peer_requirement_t by_path = xpc_linux_peer_requirement_create_executable(peer_path);
	xpc_peer_requirement_t by_file = xpc_linux_peer_requirement_create_executable_file(peer_path);

	REQUIRE(by_path && by_file);
	expect_pass(by_path, peer_path, AS_SELF);
	expect_fail(by_path, other_path, AS_SELF, "req-peer-other is not");
	expect_pass(by_file, peer_path, AS_SELF);
	expect_fail(by_file, other_path, AS_SELF, "executable file");
	/* a hard link: the same file under another name */
	unlink(link_path);
	if (link(peer_path, link_path) == 0) {
		expect_pass(by_file, link_path, AS_SELF);
		expect_fail(by_path, link_path, AS_SELF, "req-peer-link is not");
		unlink(link_path);
	}
	errno = 0;
	CHECK(!xpc_linux_peer_requirement_create_executable("/nonexistent/x") && errno == ENOENT);
	CHECK(!xpc_linux_peer_requirement_create_executable_file(NULL) && errno == EINVAL);
	xpc_release(by_path);
	xpc_release(by_file);
}

/* The LSM label of our own socketpair's peer (us), if the kernel has one. */
static bool own_label(char *buf, size_t size)
{
	int sv[2];
	socklen_t len = (socklen_t)(size - 1);
	REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
	bool ok = getsockopt(sv[0], SOL_SOCKET, SO_PEERSEC, buf, &len) == 0 && len > 0;
	close(sv[0]);
	close(sv[1]);
	if (ok) {
		buf[len] = 0;
		while (len > 0 && (buf[len - 1] == 0 || buf[len - 1] == '\n'))
			buf[--len] = 0;
	}
	return ok && len > 0;
}

static void scenario_lsm(void)
{
	char label[512];
	xpc_peer_requirement_t req = xpc_linux_peer_requirement_create_lsm_label("xpc_test_no_such_t");

	REQUIRE(req);
	expect_fail(req, peer_path, AS_SELF, "lsm label");
	xpc_release(req);
	if (own_label(label, sizeof(label))) {
		req = xpc_linux_peer_requirement_create_lsm_label(label);
		expect_pass(req, peer_path, AS_SELF);
		xpc_release(req);
	} else {
		fprintf(stderr, "no LSM label on this machine: only the failing case ran\n");
	}
	CHECK(!xpc_linux_peer_requirement_create_lsm_label(""));
}

static void scenario_unit(void)
{
	char unit[256], cg[4096];
	xpc_peer_requirement_t req = xpc_linux_peer_requirement_create_systemd_unit("xpc-test-none.service");

	REQUIRE(req);
	expect_fail(req, peer_path, AS_SELF, "systemd unit");
	xpc_release(req);
	CHECK(requirement_cgroup_unit("/system.slice/foo.service/sub", unit, sizeof(unit)) &&
	      !strcmp(unit, "foo.service"));
	CHECK(requirement_cgroup_unit("/user.slice/user-0.slice/session-4.scope\n", unit, sizeof(unit)) &&
	      !strcmp(unit, "session-4.scope"));
	CHECK(!requirement_cgroup_unit("/", unit, sizeof(unit)));
	CHECK(!requirement_cgroup_unit("/init", unit, sizeof(unit)));
	CHECK(!xpc_linux_peer_requirement_create_systemd_unit("a/b.service"));
	/* ours, inherited by the peer, if we run in a unit */
	FILE *f = fopen("/proc/self/cgroup", "re");
	size_t n = f ? fread(cg, 1, sizeof(cg) - 1, f) : 0;
	if (f)
		fclose(f);
	cg[n] = 0;
	const char *p = strstr(cg, "0::/");
	if (p && requirement_cgroup_unit(p + 3, unit, sizeof(unit))) {
		req = xpc_linux_peer_requirement_create_systemd_unit(unit);
		expect_pass(req, peer_path, AS_SELF);
		xpc_release(req);
	} else {
		fprintf(stderr, "this process is in no systemd unit: only the failing case ran\n");
	}
}

/* Apple's code-signing forms: ENOTSUP, and no peer passes. */
static void scenario_apple(void)
{
	xpc_object_t lwcr = xpc_dictionary_create_empty();
	xpc_object_t yes = xpc_bool_create(true);
	xpc_rich_error_t err = (xpc_rich_error_t)1;
	int w;

	CHECK(!xpc_peer_requirement_create_entitlement_exists("com.example.e", &err) && err == NULL);
	CHECK(!xpc_peer_requirement_create_entitlement_matches_value("com.example.e", yes, NULL));
	CHECK(!xpc_peer_requirement_create_team_identity(NULL, NULL));
	CHECK(!xpc_peer_requirement_create_platform_identity("com.apple.x", NULL));
	CHECK(!xpc_peer_requirement_create_lwcr(lwcr, NULL));

	for (int i = 0; i < 6; i++) {
		int r;
		xpc_connection_t c = xpc_connection_create(NULL, NULL);
		switch (i) {
		case 0: r = xpc_connection_set_peer_code_signing_requirement(c, "anchor apple"); break;
		case 1: r = xpc_connection_set_peer_entitlement_exists_requirement(c, "com.example.e"); break;
		case 2: r = xpc_connection_set_peer_entitlement_matches_value_requirement(c, "com.example.e", yes); break;
		case 3: r = xpc_connection_set_peer_team_identity_requirement(c, NULL); break;
		case 4: r = xpc_connection_set_peer_platform_identity_requirement(c, "com.apple.x"); break;
		default: r = xpc_connection_set_peer_lightweight_code_requirement(c, lwcr); break;
		}
		CHECK_EQ_INT(r, ENOTSUP);
		xpc_release(c);
	}
	xpc_connection_t c = xpc_connection_create(NULL, NULL);
	CHECK_EQ_INT(xpc_connection_set_peer_code_signing_requirement(c, NULL), EINVAL);
	CHECK_EQ_INT(xpc_connection_set_peer_lightweight_code_requirement(c, yes), EINVAL);
	xpc_release(c);

	/* fail closed: the listener whose requirement could not be met */
	int r;
	REQUIRE(connection_listener_pair(&r, &w) == 0);
	xpc_connection_t l = connection_create_listener_from_fd(r, NULL, NULL);
	CHECK_EQ_INT(xpc_connection_set_peer_code_signing_requirement(l, "anchor apple"), ENOTSUP);
	xpc_connection_set_event_handler(l, ^(xpc_object_t ev) {
		if (xpc_get_type(ev) == XPC_TYPE_CONNECTION)
			serve_peer(ev);
	});
	xpc_connection_resume(l);
	CHECK_EQ_INT(xpc_connection_set_peer_team_identity_requirement(l, NULL), EINVAL); /* activated */
	char out[1024];
	reset_seen();
	run_peer(peer_path, AS_SELF, w, "call", NULL, out, sizeof(out));
	CHECK(!strncmp(out, "invalid\n", 8));
	wait_invalid(1);
	CHECK_EQ_INT(atomic_load(&n_messages), 0);
	CHECK_EQ_INT(atomic_load(&n_peer_req), 1);
	pthread_mutex_lock(&reason_lock);
	CHECK(strstr(last_reason, "code signing requirement has no meaning on Linux"));
	pthread_mutex_unlock(&reason_lock);
	end_listener(l, w);

	/* setting one on an activated connection is a crash with a message */
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
		dup2(devnull, 2);
		xpc_connection_t a = xpc_connection_create(NULL, NULL);
		xpc_connection_set_event_handler(a, ^(xpc_object_t ev) {
			(void)ev;
		});
		xpc_connection_resume(a);
		xpc_connection_set_peer_requirement(a, xpc_linux_peer_requirement_create_uid(0));
		_exit(0);
	}
	int st = harness_wait_pid(pid, 20);
	CHECK(st >= 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
	xpc_release(lwcr);
	xpc_release(yes);
}

/* The client holds the requirement on the service: nothing is sent before
 * the service's identity (its HELLO) was checked. */
static void scenario_client(void)
{
	char out[1024];
	int w;
	xpc_connection_t l = listener(NULL, &w);

	harness_require_root();
	reset_seen();
	run_peer(peer_path, AS_NOBODY, w, "require-uid", "0", out, sizeof(out));
	CHECK(!strncmp(out, "reply\n", 6));
	CHECK_EQ_INT(atomic_load(&n_messages), 1);
	reset_seen();
	run_peer(peer_path, AS_NOBODY, w, "require-uid", "12345", out, sizeof(out));
	if (strncmp(out, "peer-req\n", 9))
		fprintf(stderr, "client said: %s\n", out);
	CHECK(!strncmp(out, "peer-req\n", 9));
	CHECK(strstr(out, "event:peer-req\n"));
	CHECK(strstr(out, "reason:peer requirement not met: uid: uid 0 is not 12345"));
	wait_invalid(1);
	CHECK_EQ_INT(atomic_load(&n_messages), 0); /* the request never left */
	end_listener(l, w);
}

int main(int argc, char **argv)
{
	static const struct { const char *name; void (*fn)(void); } scenarios[] = {
		{"uid", scenario_uid},   {"match", scenario_match}, {"gid", scenario_gid},
		{"exe", scenario_exe},   {"lsm", scenario_lsm},     {"unit", scenario_unit},
		{"apple", scenario_apple}, {"client", scenario_client}, {NULL, NULL},
	};

	REQUIRE(argc == 2);
	peer_path = realpath(harness_sibling(argv[0], "req-peer"), NULL);
	other_path = realpath(harness_sibling(argv[0], "req-peer-other"), NULL);
	REQUIRE(peer_path && other_path);
	snprintf(link_path, sizeof(link_path), "%s-link", peer_path);
	harness_warm_dispatch();
	harness_begin(90);
	int base = harness_count_fds();
	for (int i = 0; scenarios[i].name; i++)
		if (!strcmp(argv[1], scenarios[i].name)) {
			scenarios[i].fn();
			/* links and pidfds close when their sources' cancel
			 * handlers and the last releases ran: asynchronously */
			for (int j = 0; j < 500 && harness_count_fds() > base; j++)
				usleep(10000);
			return harness_end();
		}
	fprintf(stderr, "unknown scenario %s\n", argv[1]);
	return 2;
}
