/* SPDX-License-Identifier: MIT */
/*
 * test-load - load on one service (issue 7, docs/reliability.md invariants 3 and 4).
 *
 *   test-load requests   $STRESS_CLIENTS client processes (default 8) each
 *                        send $STRESS_REQUESTS requests (default 1000) with
 *                        a one-way sequence-numbered message after every
 *                        third, to one stress-service job: every reply
 *                        arrives, in order, and the service saw every one-way
 *                        message of each connection in order (stress-client
 *                        "load" checks both).  Prints messages per second.
 *   test-load idle       one process opens $STRESS_IDLE connections
 *                        (default 200), 32 at a time, and keeps them open:
 *                        all are served, and the service's resident set grows
 *                        by less than 256 KiB per connection.  Prints the
 *                        growth per connection (RSS delta / count).
 * `make stress` runs them at 64 x 10 000 and 1 000.
 */
#include "harness.h"
#include "stress-common.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NAME "org.xpc.stress.load"

static char *client_path;

static void scenario_requests(void)
{
	unsigned n = stress_env_uint("STRESS_CLIENTS", 8), per = stress_env_uint("STRESS_REQUESTS", 1000);
	StressChild *cl = calloc(n, sizeof(*cl));
	char count[16], out[512];
	char *argv[] = {client_path, "load", NAME, count, NULL};
	unsigned long replies = 0, oneway = 0;
	unsigned failed = 0;
	double t0 = stress_now();

	snprintf(count, sizeof(count), "%u", per);
	for (unsigned i = 0; i < n; i++)
		cl[i] = stress_spawn(argv, true);
	for (unsigned i = 0; i < n; i++) {
		unsigned long r = 0, ow = 0;
		int ok = 0;
		stress_read_output(&cl[i], out, sizeof(out), 600);
		int status = stress_wait(cl[i].pid, 600);
		if (sscanf(out, "result ok=%d replies=%lu lost=%*u disorder=%*u oneway=%lu", &ok, &r, &ow) != 3 ||
		    !ok || status != 0) {
			fprintf(stderr, "client %u: %s (status 0x%x)\n", i, out[0] ? out : "(no result)", status);
			failed++;
		}
		replies += r;
		oneway += ow;
	}
	double secs = stress_now() - t0;
	fprintf(stderr, "load: %u clients x %u requests: %lu replies, %lu one-way messages in order, %.2f s, "
			"%.0f requests/s, %.0f messages/s (requests + one-way)\n",
		n, per, replies, oneway, secs, (double)replies / secs, (double)(replies + oneway) / secs);
	CHECK_EQ_INT(failed, 0);
	CHECK_EQ_INT(replies, (unsigned long)n * per);
	free(cl);
}

static void scenario_idle(void)
{
	unsigned n = stress_env_uint("STRESS_IDLE", 200);
	char count[16], out[512];
	char *argv[] = {client_path, "idle", NAME, count, "32", NULL};
	StressStat before, during;
	unsigned ok = 0;
	StressChild ch;

	snprintf(count, sizeof(count), "%u", n);
	REQUIRE(stress_stat(NAME, &before));
	ch = stress_spawn(argv, true);
	stress_read_line(&ch, out, sizeof(out), 300);
	CHECK(sscanf(out, "ready ok=%u", &ok) == 1);
	CHECK_EQ_INT(ok, n);
	CHECK(stress_stat(NAME, &during));
	long client_kb = stress_rss_kb(ch.pid);
	double per = (double)(during.rss_kb - before.rss_kb) / n;
	fprintf(stderr, "idle: %u connections open (service has %ld peers): service rss %ld -> %ld kB, %.1f kB "
			"per connection; client rss %ld kB (%.1f kB per connection)\n",
		n, during.peers, before.rss_kb, during.rss_kb, per, client_kb, (double)client_kb / n);
	CHECK(during.peers >= (long)n);
	CHECK(per < 256.0);
	kill(ch.pid, SIGKILL);
	close(ch.out);
	stress_wait(ch.pid, 10);
}

int main(int argc, char **argv)
{
	char *svc_argv[2];
	StressStat st;

	REQUIRE(argc == 2);
	harness_warm_dispatch();
	stress_setup(argv[0]);
	client_path = stress_program("stress-client");
	svc_argv[0] = stress_program("stress-service");
	svc_argv[1] = NULL;
	stress_write_job("svc", NAME, svc_argv, NULL);
	stress_start_broker();
	REQUIRE(stress_stat(NAME, &st));
	harness_begin(900);
	if (!strcmp(argv[1], "requests"))
		scenario_requests();
	else if (!strcmp(argv[1], "idle"))
		scenario_idle();
	else
		REQUIRE(!"unknown scenario");
	stress_teardown();
	free(svc_argv[0]);
	free(client_path);
	return harness_end();
}
