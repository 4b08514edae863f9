/* SPDX-License-Identifier: MIT */
/*
 * test-sec-identity - a peer's identity is the process that made its link
 * (docs/security.md, "Identity at check-in").
 *
 * A root xpcd runs two jobs: "target", as root, tells each asker its euid
 * and hands a secret to euid 0; "evil", as nobody, holds R of its own
 * channel.  Once evil checked in to target carrying its own W (a socket
 * xpcd, root, made) and target took the peer's identity from that
 * socket's SO_PEERCRED (euid 0), answering on R, which evil read
 * ("forged euid=0 secret=root-only").  Since 36729e1 evil gets no W of
 * target's at all (its lookup is answered without one) and checks in
 * only through xpcd's checkin op, which states the caller's own ids: it
 * tries its own W there, and a link a child of its made; xpcd refuses
 * both ("denied: the link was not made by the caller", EACCES) and evil
 * prints "refused".  Root and an ordinary user (daemon) are still told
 * who they are: the pid and euid target sees are their own.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sec-common.h"

int main(int argc, char **argv)
{
	char line[256];
	(void)argc;

	sec_begin(90);
	const char *svc = harness_sibling(argv[0], "sec-service");
	const char *target[] = {svc, "serve", "org.sec.target", NULL};
	const char *evil[] = {svc, "forge", "org.sec.evil", "org.sec.target", NULL};
	sec_job("target", "org.sec.target", NULL, NULL, false, target);
	sec_job("evil", "org.sec.evil", harness_unprivileged_user(0).name, NULL, true, evil);
	sec_start_broker(0);

	CHECK(sec_wait_file("evil.out", line, sizeof(line), 20));
	fprintf(stderr, "evil: %s", line);
	CHECK(strncmp(line, "refused", 7) == 0);
	CHECK(strstr(line, "secret=root-only") == NULL);
	CHECK(strstr(line, "own-W=(errno 13: denied: the link was not made by the caller)") != NULL);
	CHECK(strstr(line, "child-link=(errno 13: denied: the link was not made by the caller)") != NULL);

	xpc_object_t r = sec_request("org.sec.target", "whoami");
	CHECK(xpc_get_type(r) == XPC_TYPE_DICTIONARY);
	CHECK_EQ_INT(xpc_dictionary_get_int64(r, "euid"), 0);
	CHECK_EQ_INT(xpc_dictionary_get_int64(r, "pid"), getpid());
	xpc_release(r);

	char out[256];
	char *client[] = {(char *)harness_sibling(argv[0], "sec-attacker"), "client",
			  "org.sec.target", "pid", NULL};
	pid_t daemon_pid = 0;
	sec_run_as_user(harness_unprivileged_user(1), client, out, sizeof(out), 20, &daemon_pid);
	fprintf(stderr, "daemon: %s", out);
	char want[96];
	snprintf(want, sizeof(want), "answered euid=%u agent=0 pid=%d",
		 (unsigned)harness_unprivileged_user(1).uid, (int)daemon_pid);
	CHECK(strncmp(out, want, strlen(want)) == 0);

	sec_teardown();
	return harness_end();
}
