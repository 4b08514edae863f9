/* SPDX-License-Identifier: MIT */
/*
 * test-sec-channel - nothing a client writes to a service's channel ends
 * it (docs/security.md, "Shared channels").
 *
 * A root service runs under a root xpcd.  An attacker (nobody) holds its
 * W - xpcd hands W only to root and to the service's user since 36729e1,
 * so root looks it up and passes it down, as a holder may (an anonymous
 * listener's endpoint is a shared W too); the attacker first checks that
 * its own lookup gets none - and writes to it: empty packets (before the fix the listener
 * read the first as the channel's end, failed and shut R down, which xpcd
 * shares: the service and every later instance accepted nothing again),
 * bytes that are no frame, frames of every kind, check-ins carrying a
 * pipe, a stream socket or two sockets, a 64 MiB out-of-line body of
 * holes.  Afterwards an ordinary user (daemon) and root are still
 * answered, by the same service process.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sec-common.h"

int main(int argc, char **argv)
{
	char out[256], want[64];
	(void)argc;

	sec_begin(90);
	sec_target_job(argv[0]);
	sec_start_broker(0);

	xpc_object_t r = sec_request("org.sec.target", "whoami"); /* running */
	CHECK(xpc_get_type(r) == XPC_TYPE_DICTIONARY);
	int64_t server = xpc_dictionary_get_int64(r, "server_pid");
	xpc_release(r);

	char *attack[] = {(char *)harness_sibling(argv[0], "sec-attacker"), "garbage",
			  "org.sec.target", NULL};
	CHECK(sec_attack_with_w("org.sec.target", attack, out, sizeof(out), 20));

	char *client[] = {attack[0], "client", "org.sec.target", NULL};
	sec_run_as(1, client, out, sizeof(out), 20);
	fprintf(stderr, "daemon: %s", out);
	snprintf(want, sizeof(want), "answered euid=%u ",
		 (unsigned)harness_unprivileged_user(1).uid);
	CHECK(strncmp(out, want, strlen(want)) == 0);

	connection_forget_services();
	r = sec_request("org.sec.target", "whoami");
	CHECK(xpc_get_type(r) == XPC_TYPE_DICTIONARY);
	CHECK_EQ_INT(xpc_dictionary_get_int64(r, "server_pid"), server); /* the same instance */
	xpc_release(r);

	sec_teardown();
	return harness_end();
}
