/* SPDX-License-Identifier: MIT */
/*
 * test-sec-flood - one user cannot take a service's descriptors from the
 * others (docs/security.md, "Descriptor and memory charges").
 *
 * A root service (descriptor limit 1024, inherited from its broker) runs
 * under a root xpcd.  An attacker (nobody), handed the service's W by root
 * (xpcd gives nobody none since 36729e1, which the attacker checks; a
 * holder may pass W on), checks in 1 100 times carrying
 * a duplicate of the service's own W (before the fix each became a peer
 * link that never ends, xpcd holding the other side, and the service sat
 * at its descriptor limit after the attacker exited) and 200 times each
 * end of 100 socketpairs of its own (links the service would hold to
 * itself), then exits.  Then: an ordinary user (daemon) is answered, and
 * the service holds at most XPC_PEER_LINKS_PER_UID (256) links for
 * nobody.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sec-common.h"

int main(int argc, char **argv)
{
	char out[256], want[64];
	(void)argc;

	sec_begin(120);
	sec_target_job(argv[0]);
	sec_start_broker(1024);

	xpc_object_t r = sec_request("org.sec.target", "whoami");
	CHECK(xpc_get_type(r) == XPC_TYPE_DICTIONARY);
	int64_t fds0 = xpc_dictionary_get_int64(r, "fds");
	xpc_release(r);

	char *attack[] = {(char *)harness_sibling(argv[0], "sec-attacker"),
			  "flood",
			  "org.sec.target",
			  "1100",
			  "100",
			  NULL};
	CHECK(sec_attack_with_w("org.sec.target", attack, out, sizeof(out), 60));

	char *client[] = {attack[0], "client", "org.sec.target", NULL};
	snprintf(want, sizeof(want), "answered euid=%u ",
		 (unsigned)harness_unprivileged_user(1).uid);
	bool ok = false;
	for (int i = 0; i < 5 && !ok; i++) { /* the service may still be reading the flood */
		sec_run_as(1, client, out, sizeof(out), 20);
		ok = strncmp(out, want, strlen(want)) == 0;
	}
	fprintf(stderr, "daemon: %s", out);
	CHECK(ok);

	connection_forget_services();
	r = sec_request("org.sec.target", "whoami");
	CHECK(xpc_get_type(r) == XPC_TYPE_DICTIONARY);
	int64_t fds1 = xpc_dictionary_get_int64(r, "fds");
	fprintf(stderr, "service descriptors: %lld before, %lld after\n", (long long)fds0,
		(long long)fds1);
	CHECK(fds1 <= fds0 + 256 + 16);
	xpc_release(r);

	sec_teardown();
	return harness_end();
}
