/* SPDX-License-Identifier: MIT */
/*
 * test-sec-channel-shutdown - no user but root and the service's own can
 * get a descriptor of a service's W, so none can end its channel for
 * every client with shutdown(2) (docs/security.md, "Shared channels").
 *
 * A root service runs under a root xpcd.  The attacker, as nobody and
 * then as daemon, tries every way it has to a descriptor of the service's
 * W (sec-attacker steal): the lookup op's reply, the checkin op's reply,
 * xpc_endpoint_create() on a named connection it made (which must return
 * NULL), the same after connection_forget_services(); it shuts down what
 * it got and then every socket it holds.  It must have got no W, and its
 * check-in through xpcd must have been forwarded and answered.
 * Afterwards daemon's and root's named connections are answered by the
 * same service process.  What it may get is its own channel to the
 * service (src/broker/user-channels.c), whose end ends only its own
 * check-ins: it is answered again at once.  Before 36729e1 nobody's lookup got W and its
 * shutdown(2) ended the channel: root's next connection failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sec-common.h"

#define NAME "org.sec.target"

/* The steal attack as unprivileged user @which: it got no W. */
static void steal_as(const char *attacker, int which)
{
	char out[512];
	char *argv[] = {(char *)attacker, "steal", NAME, NULL};
	int status = sec_run_as(which, argv, out, sizeof(out), 30);

	fprintf(stderr, "%s: %s", harness_unprivileged_user(which).name, out);
	CHECK_EQ_INT(status, 0);
	CHECK(strncmp(out, "done steal ", 11) == 0);
	CHECK(strstr(out, "lookup=none ") != NULL); /* answered ok, without W */
	/* its own channel to the service (src/broker/user-channels.c), never
	 * W; each shut down by the attack, each made anew for the next */
	CHECK(strstr(out, "checkin=own forwarded=1 ") != NULL);
	CHECK(strstr(out, "endpoint=own answered=1 ") != NULL);
	CHECK(strstr(out, "forget-endpoint=own answered=1 ") != NULL);
	CHECK(strstr(out, "shut=3 ") != NULL);
}

/* The inode of @NAME's W, as root's lookup gets it, for the attacker to
 * tell W from its own channel ($SEC_NAME_W_INO). */
static void export_w_inode(void)
{
	char v[32];
	struct stat st;
	int w = sec_raw_endpoint(getenv("XPCD_SOCKET"), NAME);

	CHECK(w >= 0 && fstat(w, &st) == 0);
	snprintf(v, sizeof(v), "%lu", w >= 0 ? (unsigned long)st.st_ino : 0ul);
	setenv("SEC_NAME_W_INO", v, 1);
	if (w >= 0)
		close(w);
}


int main(int argc, char **argv)
{
	char out[256], want[64];
	(void)argc;

	sec_begin(90);
	char *svc = strdup(harness_sibling(argv[0], "sec-service")); /* its buffer is shared */
	char *attacker = strdup(harness_sibling(argv[0], "sec-attacker"));
	const char *target[] = {svc, "serve", NAME, NULL};
	sec_job("target", NAME, NULL, NULL, false, target);
	sec_start_broker(0);

	int64_t server = sec_server_pid(NAME); /* running */
	CHECK(server > 0);
	export_w_inode();
	steal_as(attacker, 0);
	steal_as(attacker, 1);

	char *client[] = {(char *)attacker, "client", NAME, NULL};
	sec_run_as(1, client, out, sizeof(out), 20);
	fprintf(stderr, "daemon: %s", out);
	snprintf(want, sizeof(want), "answered euid=%u ", (unsigned)harness_unprivileged_user(1).uid);
	CHECK(strncmp(out, want, strlen(want)) == 0);
	CHECK_EQ_INT(sec_server_pid(NAME), server); /* the same instance */

	sec_teardown();
	free(svc);
	free(attacker);
	return harness_end();
}
