/* SPDX-License-Identifier: MIT */
/*
 * test-sec-broker - a client asks only a broker it may trust
 * (docs/security.md, "Broker selection").
 *
 * An ordinary user (nobody) runs an "agent" posing as its user broker at
 * $XDG_RUNTIME_DIR/xpcd/user.sock: it answers every lookup with its own
 * listener, which answers { "agent": true }.  Then:
 *  1. root, with that XDG_RUNTIME_DIR, connects to a name with
 *     XPC_CONNECTION_MACH_SERVICE_PRIVILEGED: it must ask the system broker
 *     only (before the fix the agent answered);
 *  2. the same without PRIVILEGED: the user broker's socket is owned by
 *     nobody, neither root nor root's own user: refused, "denied: broker
 *     at PATH is owned by uid N ..." (before: the agent answered);
 *  3. nobody itself is answered by its agent (a user's own broker);
 *  4. the socket file chowned to root, the process behind it still
 *     nobody: refused by SO_PEERCRED, "... runs as uid N ...";
 *  5. a set-uid root copy of a client, run by nobody with XPCD_SOCKET and
 *     XDG_RUNTIME_DIR naming the agent, ignores both (secure_getenv) and
 *     asks the system broker (before: the agent answered a process whose
 *     euid is 0).
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sec-common.h"

static pid_t agent;

static void start_agent(const char *prog, const char *path)
{
	int p[2];
	char line[64] = "";

	REQUIRE(pipe2(p, O_CLOEXEC) == 0);
	agent = fork();
	REQUIRE(agent >= 0);
	if (agent == 0) {
		dup2(p[1], 1);
		harness_become(harness_unprivileged_user(0));
		execl(prog, prog, "fake-broker", path, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	struct pollfd pfd = {p[0], POLLIN, 0};
	if (poll(&pfd, 1, 10000) == 1 && read(p[0], line, sizeof(line) - 1) > 0)
		CHECK(strncmp(line, "ready", 5) == 0);
	else
		CHECK(!"agent did not start");
	close(p[0]);
}

/* A request from this process (root) to @name; the reply (+1) and the
 * invalidation reason (malloc'd, or NULL). */
static xpc_object_t ask(const char *name, uint64_t flags, char **ret_why)
{
	xpc_connection_t c = xpc_connection_create_mach_service(name, NULL, flags);
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0), r;

	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) {
	  (void)ev;
	});
	xpc_connection_resume(c);
	xpc_dictionary_set_string(m, "op", "whoami");
	r = xpc_connection_send_message_with_reply_sync(c, m);
	*ret_why = xpc_connection_copy_invalidation_reason(c);
	xpc_release(m);
	xpc_connection_cancel(c);
	xpc_release(c);
	connection_forget_services();
	return r;
}

static bool answered_by_agent(xpc_object_t r)
{
	return xpc_get_type(r) == XPC_TYPE_DICTIONARY && xpc_dictionary_get_bool(r, "agent");
}

int main(int argc, char **argv)
{
	char rt[300], xdir[320], path[340], out[512], suid[320];
	struct harness_user nobody = harness_unprivileged_user(0);
	bool system_broker;
	char *why;
	xpc_object_t r;
	(void)argc;

	sec_begin(90);
	unsetenv("XPCD_SOCKET");
	system_broker = access("/run/xpcd/system.sock", F_OK) == 0;
	snprintf(rt, sizeof(rt), "%s/rt", sec_dir());
	snprintf(xdir, sizeof(xdir), "%s/xpcd", rt);
	snprintf(path, sizeof(path), "%s/user.sock", xdir);
	REQUIRE(mkdir(rt, 0755) == 0 && mkdir(xdir, 0755) == 0 &&
		chown(xdir, nobody.uid, nobody.gid) == 0);
	const char *prog = harness_sibling(argv[0], "sec-attacker");
	start_agent(prog, path);
	setenv("XDG_RUNTIME_DIR", rt, 1);

	/* 1. PRIVILEGED: the system broker only */
	r = ask("org.sec.any", XPC_CONNECTION_MACH_SERVICE_PRIVILEGED, &why);
	fprintf(stderr, "1. privileged: %s\n", why ? why : "(answered)");
	CHECK(!answered_by_agent(r));
	if (!system_broker)
		CHECK(why && strstr(why, "/run/xpcd/system.sock"));
	xpc_release(r);
	free(why);

	/* 2. a user broker owned by another user */
	r = ask("org.sec.any", 0, &why);
	fprintf(stderr, "2. user broker of nobody: %s\n", why ? why : "(answered)");
	CHECK(!answered_by_agent(r));
	CHECK(why && strncmp(why, "denied: broker at ", 18) == 0 && strstr(why, "is owned by uid"));
	xpc_release(r);
	free(why);

	/* 3. its own user is answered by it */
	char *client[] = {(char *)prog, "client", "org.sec.any", NULL};
	sec_run_as(0, client, out, sizeof(out), 20);
	fprintf(stderr, "3. nobody: %s", out);
	CHECK(strstr(out, "agent=1") != NULL);

	/* 4. the socket file root's, the process behind it not */
	REQUIRE(chown(path, 0, 0) == 0);
	r = ask("org.sec.any", 0, &why);
	fprintf(stderr, "4. socket chowned to root: %s\n", why ? why : "(answered)");
	CHECK(!answered_by_agent(r));
	CHECK(why && strstr(why, "runs as uid"));
	xpc_release(r);
	free(why);
	REQUIRE(chown(path, nobody.uid, nobody.gid) == 0);

	/* 5. a set-uid program ignores the caller's variables */
	snprintf(suid, sizeof(suid), "%s/suid-client", sec_dir());
	char cmd[800];
	snprintf(cmd, sizeof(cmd), "cp %s %s && chown 0:0 %s && chmod 4755 %s", prog, suid, suid,
		 suid);
	REQUIRE(system(cmd) == 0);
	setenv("XPCD_SOCKET", path, 1);
	char *sclient[] = {suid, "client", "org.sec.any", NULL};
	sec_run_as(0, sclient, out, sizeof(out), 20);
	fprintf(stderr, "5. set-uid client run by nobody: %s", out);
	CHECK(strstr(out, "agent=1") == NULL);
	if (!system_broker)
		CHECK(strstr(out, "/run/xpcd/system.sock") != NULL);
	unsetenv("XPCD_SOCKET");

	kill(agent, SIGKILL);
	harness_wait_pid(agent, 10);
	sec_teardown();
	return harness_end();
}
