/* SPDX-License-Identifier: MIT */
/*
 * test-sec-memory - a peer cannot make a service hold more memory than
 * the service allows (docs/security.md, "Descriptor and memory charges").
 *
 * A root service that keeps every message it receives (its
 * XPC_RECEIVE_MEMORY_MAX set to 128 MiB) runs under a root xpcd.  An
 * attacker (nobody), handed the service's W by root (xpcd gives nobody
 * none since 36729e1, which the attacker checks; a holder may pass W on),
 * checks in 8 links over it and sends on each one message whose
 * 64 MiB data item is the holes of a sealed memfd (it costs the attacker
 * nothing).  Before the fix the service allocated and filled 8 x 64 MiB
 * (~520 MiB resident); now bodies past its limit are refused and those
 * links end ("limit exceeded: memory for received messages"): it stays
 * under 128 MiB + 96 MiB.  An ordinary user (daemon) is still answered.
 * The same on 8 links to xpcd itself: its peak resident memory (VmHWM)
 * grew by 64 MiB or more before; now it takes no out-of-line request.
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
	const char *svc = harness_sibling(argv[0], "sec-service");
	const char *target[] = {svc, "serve", "org.sec.hold", "hold", NULL};
	sec_job("hold", "org.sec.hold", NULL, "XPC_RECEIVE_MEMORY_MAX=134217728", false, target);
	sec_start_broker(0);

	xpc_object_t r = sec_request("org.sec.hold", "whoami");
	CHECK(xpc_get_type(r) == XPC_TYPE_DICTIONARY);
	int64_t rss0 = xpc_dictionary_get_int64(r, "rss_kb");
	xpc_release(r);

	char *attack[] = {(char *)harness_sibling(argv[0], "sec-attacker"),
			  "ool",
			  "org.sec.hold",
			  "8",
			  "64",
			  NULL};
	CHECK(sec_attack_with_w("org.sec.hold", attack, out, sizeof(out), 60));

	char *client[] = {attack[0], "client", "org.sec.hold", NULL};
	sec_run_as(1, client, out, sizeof(out), 20);
	fprintf(stderr, "daemon: %s", out);
	snprintf(want, sizeof(want), "answered euid=%u ",
		 (unsigned)harness_unprivileged_user(1).uid);
	CHECK(strncmp(out, want, strlen(want)) == 0);

	long hwm0 = sec_proc_kb(sec_broker_pid(), "VmHWM");
	char *battack[] = {attack[0], "ool-broker", "8", "64", NULL};
	CHECK_EQ_INT(sec_run_as(0, battack, out, sizeof(out), 60), 0);
	fprintf(stderr, "nobody at xpcd: %s", out);
	long hwm1 = sec_proc_kb(sec_broker_pid(), "VmHWM");
	fprintf(stderr, "xpcd peak resident: %ld KiB before, %ld KiB after\n", hwm0, hwm1);
	CHECK(hwm0 > 0 && hwm1 - hwm0 < 16 * 1024);

	connection_forget_services();
	r = sec_request("org.sec.hold", "whoami");
	CHECK(xpc_get_type(r) == XPC_TYPE_DICTIONARY);
	int64_t rss1 = xpc_dictionary_get_int64(r, "rss_kb");
	fprintf(stderr, "service resident: %lld KiB before, %lld KiB after\n", (long long)rss0,
		(long long)rss1);
	CHECK(rss1 - rss0 < (128 + 96) * 1024);
	xpc_release(r);

	sec_teardown();
	return harness_end();
}
