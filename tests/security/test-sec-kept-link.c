/* SPDX-License-Identifier: MIT */
/*
 * test-sec-kept-link - a user the broker hands no W keeps its broker link
 * for the next check-ins and uses each new link before xpcd answers
 * (src/connection/named-link.c); the connections must behave as if
 * nothing were kept (docs/services.md).
 *
 * A root service under a root xpcd (idle timeout 5 s, the default).
 * daemon makes two named connections, one request each:
 *   - right after each other: the second goes over the kept broker link,
 *     its link used at once;
 *   - 6 s apart: xpcd has closed the kept link as idle meanwhile, so the
 *     second request meets a link that ended; it is made again on a new
 *     broker link with the same far end.
 * Both are answered, and neither connection sees INTERRUPTED: a request
 * lost with the kept link must not cost the client its link.  Then nobody
 * connects to a name that does not exist right after a good one (the
 * refusal reaches a link already in use): "unknown name", as before.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sec-common.h"

static void twice(const char *attacker, const char *name, const char *gap_ms, const char *want)
{
	char out[512];
	char *argv[] = {(char *)attacker, "client-again", (char *)name, (char *)gap_ms, NULL};

	sec_run_as(1, argv, out, sizeof(out), 30);
	fprintf(stderr, "daemon, %s ms apart, %s: %s", gap_ms, name, out);
	CHECK(strncmp(out, want, strlen(want)) == 0);
}

int main(int argc, char **argv)
{
	(void)argc;

	sec_begin(90);
	sec_target_job(argv[0]);
	sec_start_broker(0);
	const char *attacker = harness_sibling(argv[0], "sec-attacker");

	twice(attacker, "org.sec.target", "0", "first=reply second=reply interrupted=0");
	twice(attacker, "org.sec.target", "6000", "first=reply second=reply interrupted=0");

	/* a refusal on the kept link, whose new link was already in use: the
	 * connection ends with the reason, not INTERRUPTED */
	char out[512];
	char *bad[] = {(char *)attacker, "client-again", "org.sec.target", "0", "org.sec.none", NULL};
	sec_run_as(0, bad, out, sizeof(out), 30);
	fprintf(stderr, "nobody, then a name that does not exist: %s", out);
	CHECK(strncmp(out, "first=reply second=failed:unknown name interrupted=0", 52) == 0);

	sec_teardown();
	return harness_end();
}
