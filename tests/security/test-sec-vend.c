/* SPDX-License-Identifier: MIT */
/*
 * test-sec-vend - xpcd's checkin op (src/broker/vend.c) as an
 * unprivileged caller meets it (docs/security.md, "Shared channels").
 *
 * A root xpcd runs three root services: "target" (sec-service serve),
 * "denied" (XPCDAllowedUIDs: daemon only) and "disabled" (Disabled).
 * nobody (sec-attacker refusals) asks xpcd to check in: without "link"
 * (EINVAL), with a pipe, a stream socket, a listening socket, or one end
 * of a link its child made and passed over SCM_RIGHTS (each EACCES:
 * "denied: the link was not made by the caller"), a link of its own to
 * an unknown name (ESRCH), to "denied" (EPERM) and to "disabled"
 * (ECANCELED); never with an endpoint.  Then a link of its own to target
 * is forwarded, and target's "whoami" on it names nobody's own pid, euid
 * and egid (no root secret).  xpcd keeps serving: root and daemon are
 * answered by name afterwards, and the broker is still the same process.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sec-common.h"

/* The line of @out starting "@what: ": it says @text and has no endpoint. */
static void refused(const char *out, const char *what, const char *text)
{
	char key[64], want[256];
	const char *line;

	snprintf(key, sizeof(key), "\n%s: ", what);
	line = strstr(out, key);
	CHECK(line != NULL);
	if (!line)
		return;
	snprintf(want, sizeof(want), "%s%s forwarded=0 endpoint=0\n", key, text);
	if (strncmp(line, want, strlen(want)) != 0)
		fprintf(stderr, "%s: want \"%s\"\n", what, want + 1);
	CHECK(strncmp(line, want, strlen(want)) == 0);
}

/* nobody's forwarded check-in: target saw nobody's own ids.  No endpoint:
 * that check-in starts target, and xpcd hands a user a channel of its
 * own only for a running job (src/broker/user-channels.c;
 * test-sec-user-channel checks the ones it hands). */
static void forwarded_as_self(const char *out)
{
	int pid, euid, egid, mine_pid, mine_euid, mine_egid;
	const char *own = strstr(out, "\nown: ");
	struct harness_user nobody = harness_unprivileged_user(0);

	CHECK(strstr(out, "\nforwarded: ok errno=0 forwarded=1 endpoint=0\n") != NULL);
	CHECK(own && sscanf(own, "\nown: pid=%d euid=%d egid=%d secret=no (mine %d %d %d)", &pid, &euid, &egid,
			    &mine_pid, &mine_euid, &mine_egid) == 6);
	if (!own)
		return;
	CHECK_EQ_INT(pid, mine_pid);
	CHECK_EQ_INT(euid, mine_euid);
	CHECK_EQ_INT(egid, mine_egid);
	CHECK_EQ_INT(euid, (int)nobody.uid);
	CHECK(pid > 0);
}

int main(int argc, char **argv)
{
	char out[2048], keys[256], want[64];
	(void)argc;

	sec_begin(90);
	char *svc = strdup(harness_sibling(argv[0], "sec-service")); /* its buffer is shared */
	char *attacker = strdup(harness_sibling(argv[0], "sec-attacker"));
	const char *target[] = {svc, "serve", "org.sec.target", NULL};
	const char *denied[] = {svc, "serve", "org.sec.denied", NULL};
	const char *disabled[] = {svc, "serve", "org.sec.disabled", NULL};
	sec_job("target", "org.sec.target", NULL, NULL, false, target);
	snprintf(keys, sizeof(keys), "<key>XPCDAllowedUIDs</key><array><integer>%u</integer></array>",
		 (unsigned)harness_unprivileged_user(1).uid);
	sec_job_keys("denied", "org.sec.denied", keys, denied);
	sec_job_keys("disabled", "org.sec.disabled", "<key>Disabled</key><true/>", disabled);
	sec_start_broker(0);
	pid_t broker = sec_broker_pid();

	char *refusals[] = {attacker, "refusals", "org.sec.target", "org.sec.denied", "org.sec.disabled", NULL};
	out[0] = '\n'; /* each line then starts "\nCASE: " */
	CHECK_EQ_INT(sec_run_as(0, refusals, out + 1, sizeof(out) - 1, 30), 0);
	fprintf(stderr, "nobody:\n%s", out + 1);
	refused(out, "missing", "checkin: missing \"link\" errno=22");
	refused(out, "pipe", "denied: the link was not made by the caller errno=13");
	refused(out, "stream", "denied: the link was not made by the caller errno=13");
	refused(out, "listening", "denied: the link was not made by the caller errno=13");
	refused(out, "foreign", "denied: the link was not made by the caller errno=13");
	refused(out, "unknown", "unknown name errno=3");
	refused(out, "denied", "denied errno=1");
	refused(out, "disabled", "disabled errno=125");
	forwarded_as_self(out);
	CHECK(strstr(out, "\ndone refusals\n") != NULL);

	xpc_object_t r = sec_request("org.sec.target", "whoami"); /* xpcd still serves */
	CHECK(xpc_get_type(r) == XPC_TYPE_DICTIONARY);
	CHECK_EQ_INT(xpc_dictionary_get_int64(r, "pid"), getpid());
	xpc_release(r);
	char *client[] = {attacker, "client", "org.sec.denied", NULL};
	sec_run_as(1, client, out, sizeof(out), 20);
	fprintf(stderr, "daemon: %s", out);
	snprintf(want, sizeof(want), "answered euid=%u ", (unsigned)harness_unprivileged_user(1).uid);
	CHECK(strncmp(out, want, strlen(want)) == 0);
	CHECK_EQ_INT(sec_broker_pid(), broker);
	CHECK(kill(broker, 0) == 0);

	sec_teardown();
	free(svc);
	free(attacker);
	return harness_end();
}
