/* SPDX-License-Identifier: MIT */
/*
 * test-sec-shmem - shared memory a client sends to a root service
 * (docs/security.md, "Shared memory").
 *
 * nobody sends the service (sec-service, root) shared memory over a memfd
 * it did not seal, waits until the service mapped it, truncates the memfd
 * to 0 bytes and asks the service to read it.  Before the fix the service
 * died of SIGBUS on that read (a service that works in memory its
 * clients share can be killed by any of them); now a shared memory item
 * whose memfd is not sealed against shrinking is refused by the decoder
 * (xpc_shmem_create seals its own), and the same service instance answers
 * root afterwards.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sec-common.h"

int main(int argc, char **argv)
{
	char out[256];
	(void)argc;

	sec_begin(90);
	const char *svc = harness_sibling(argv[0], "sec-service");
	const char *target[] = {svc, "serve", "org.sec.shm", NULL};
	sec_job("shm", "org.sec.shm", NULL, NULL, false, target);
	sec_start_broker(0);

	xpc_object_t r = sec_request("org.sec.shm", "whoami"); /* running */
	CHECK(xpc_get_type(r) == XPC_TYPE_DICTIONARY);
	int64_t server = xpc_dictionary_get_int64(r, "server_pid");
	xpc_release(r);

	char *attack[] = {(char *)harness_sibling(argv[0], "sec-attacker"), "shmem", "org.sec.shm", NULL};
	sec_run_as(0, attack, out, sizeof(out), 20);
	fprintf(stderr, "nobody: %s", out);
	CHECK(strncmp(out, "map=", 4) == 0);
	CHECK(strstr(out, "map=yes") == NULL); /* an unsealed memfd is not mapped */

	connection_forget_services();
	r = sec_request("org.sec.shm", "whoami");
	CHECK(xpc_get_type(r) == XPC_TYPE_DICTIONARY);
	CHECK_EQ_INT(xpc_dictionary_get_int64(r, "server_pid"), server); /* the same instance: alive */
	xpc_release(r);

	/* root's own shared memory (xpc_shmem_create: sealed) is still served */
	void *region = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	REQUIRE(region != MAP_FAILED);
	memset(region, 1, 4096);
	xpc_object_t shm = xpc_shmem_create(region, 4096);
	CHECK(shm != NULL);
	xpc_connection_t c = xpc_connection_create_mach_service("org.sec.shm", NULL, 0);
	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) {
	  (void)ev;
	});
	xpc_connection_resume(c);
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0);
	xpc_dictionary_set_value(m, "shm", shm);
	r = xpc_connection_send_message_with_reply_sync(c, m);
	CHECK(xpc_get_type(r) == XPC_TYPE_DICTIONARY && xpc_dictionary_get_bool(r, "mapped"));
	xpc_release(r);
	xpc_release(m);
	m = xpc_dictionary_create(NULL, NULL, 0);
	xpc_dictionary_set_string(m, "op", "read");
	r = xpc_connection_send_message_with_reply_sync(c, m);
	CHECK(xpc_get_type(r) == XPC_TYPE_DICTIONARY && xpc_dictionary_get_int64(r, "sum") == 4096);
	xpc_release(r);
	xpc_release(m);
	xpc_connection_cancel(c);
	xpc_release(c);
	xpc_release(shm);
	munmap(region, 4096);

	sec_teardown();
	return harness_end();
}
