/* SPDX-License-Identifier: MIT */
/*
 * test-sec-identity - a peer's identity is the process that made its link
 * (docs/security.md, "Identity at check-in").
 *
 * A root xpcd runs two jobs: "target", as root, tells each asker its euid
 * and hands a secret to euid 0; "evil", as nobody, holds R of its own
 * channel.  Evil looks up its own name, gets W (a socket xpcd, root, made)
 * and checks in to target carrying it: before the fix target took the
 * peer's identity from SO_PEERCRED of that socket (xpcd's: euid 0) and
 * answered on R, which evil reads ("forged euid=0 secret=root-only").
 * Now the check-in is dropped (the socket's maker is not the packet's
 * sender) and evil prints "refused"; root and an ordinary user (daemon)
 * are still told who they are.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sec-common.h"

int main(int argc, char **argv)
{
	char line[256];
	(void)argc;

	harness_require_root();
	harness_warm_dispatch();
	harness_begin(90);
	sec_setup();
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

	xpc_object_t r = sec_request("org.sec.target", "whoami");
	CHECK(xpc_get_type(r) == XPC_TYPE_DICTIONARY);
	CHECK_EQ_INT(xpc_dictionary_get_int64(r, "euid"), 0);
	CHECK_EQ_INT(xpc_dictionary_get_int64(r, "pid"), getpid());
	xpc_release(r);

	char out[256];
	char *client[] = {(char *)harness_sibling(argv[0], "sec-attacker"), "client",
			  "org.sec.target", NULL};
	sec_run_as(1, client, out, sizeof(out), 20);
	fprintf(stderr, "daemon: %s", out);
	char want[64];
	snprintf(want, sizeof(want), "answered euid=%u ",
		 (unsigned)harness_unprivileged_user(1).uid);
	CHECK(strncmp(out, want, strlen(want)) == 0);

	sec_teardown();
	return harness_end();
}
