/* SPDX-License-Identifier: MIT */
/*
 * test-sec-broker-links - one user must not fill the root broker for
 * everyone (docs/security.md, "The broker", links).
 *
 *   fill   xpcd runs with a soft RLIMIT_NOFILE of 1024 (systemd's default).
 *          nobody opens 4 x 400 silent links from 4 processes; then daemon
 *          looks a name up: answered, within 3 s; xpcd stays below its
 *          descriptor limit, logs the per-user limit, and nobody's links
 *          beyond its share were closed with a message naming the limit.
 *          (Before: xpcd ran out of descriptors at about 500 links and
 *          daemon's lookup waited in the backlog for ever.)
 *   idle   xpcd --idle-timeout 1: 20 silent links of nobody are all closed
 *          by the broker within a few seconds; daemon is still served.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker-common.h"
#include "sec-broker-common.h"

#define NAME "org.xpc.sec.echo"
#define ATTACKERS 4

static struct harness_user nobody, daemon_user;

static void echo_job(void)
{
	char xml[1024];

	snprintf(xml, sizeof(xml),
		 "<key>Label</key><string>sec.echo</string>\n"
		 "<key>ProgramArguments</key><array><string>%s</string><string>%s</string></array>\n"
		 "<key>MachServices</key><dict><key>%s</key><true/></dict>\n",
		 getenv("ECHO_SERVICE"), NAME, NAME);
	broker_write_job_file("echo.plist", xml);
}

/* daemon's lookup: true if answered "ok" (the time it took in *@ret_s). */
static bool daemon_lookup(double *ret_s)
{
	double t0 = sec_broker_now();
	char *out = sec_broker_request_as(daemon_user, "lookup", "name=" NAME, NULL);
	bool ok = !strncmp(out, "ok", 2);

	*ret_s = sec_broker_now() - t0;
	if (!ok)
		fprintf(stderr, "daemon's lookup: %s\n", out[0] ? out : "(no answer)");
	free(out);
	return ok;
}

/* The broker's descriptor count once it stops moving (5 s at most). */
static int settled_fds(void)
{
	int last = -2, now = sec_broker_fd_count(broker_pid);

	for (int i = 0; i < 25 && now != last; i++) {
		usleep(200 * 1000);
		last = now;
		now = sec_broker_fd_count(broker_pid);
	}
	return now;
}

static void scenario_fill(void)
{
	char *argv[] = {(char *)sec_broker_attacker(), "silent", broker_sock, "400", "30", NULL};
	SecBrokerChild att[ATTACKERS];
	char line[128];
	int opened = 0;
	double took = 0;

	echo_job();
	sec_broker_start_broker(NULL, 1024);
	int base = sec_broker_fd_count(broker_pid);
	for (int i = 0; i < ATTACKERS; i++) {
		att[i] = sec_broker_spawn_as(nobody, argv);
		sec_broker_read_line(&att[i], line, sizeof(line), 20);
		opened += atoi(line + (strncmp(line, "opened ", 7) ? 0 : 7));
	}
	int during = settled_fds();
	bool served = daemon_lookup(&took);
	fprintf(stderr, "nobody opened %d links; xpcd: %d descriptors before, %d during (limit 1024); daemon's "
		"lookup %s in %.2f s\n", opened, base, during, served ? "answered" : "NOT answered", took);
	CHECK(served);
	CHECK(took < 3.0);
	CHECK(during > 0 && during < 1024 - 64);
	CHECK(broker_log_has("limit exceeded: broker links per user"));
	for (int i = 0; i < ATTACKERS; i++)
		sec_broker_kill(&att[i]);
	for (int i = 0; i < 100 && sec_broker_fd_count(broker_pid) > base; i++)
		usleep(100 * 1000);
	CHECK(sec_broker_fd_count(broker_pid) <= base);
	CHECK(daemon_lookup(&took));
}

static void scenario_idle(void)
{
	const char *opts[] = {"--idle-timeout", "1", NULL};
	char *argv[] = {(char *)sec_broker_attacker(), "silent", broker_sock, "20", "10", NULL};
	char line[128];
	int closed = -1, refused = -1;
	double took = 0;

	echo_job();
	sec_broker_start_broker(opts, 0);
	double t0 = sec_broker_now();
	SecBrokerChild att = sec_broker_spawn_as(nobody, argv);
	sec_broker_read_line(&att, line, sizeof(line), 10);
	CHECK_STREQ(line, "opened 20");
	sec_broker_read_line(&att, line, sizeof(line), 15);
	double waited = sec_broker_now() - t0;
	fprintf(stderr, "silent links after %.1f s: %s\n", waited, line);
	CHECK(sscanf(line, "closed %d refused %d", &closed, &refused) == 2);
	CHECK_EQ_INT(closed, 20);
	CHECK(waited < 8.0);
	CHECK(broker_log_has("idle timeout"));
	sec_broker_kill(&att);
	CHECK(daemon_lookup(&took));
}

int main(int argc, char **argv)
{
	static const BrokerScenario scenarios[] = {
		{"fill", scenario_fill},
		{"idle", scenario_idle},
		{NULL, NULL},
	};

	REQUIRE(argc == 2);
	nobody = harness_unprivileged_user(0);
	daemon_user = harness_unprivileged_user(1);
	return sec_broker_run_scenario(argv[1], scenarios, 80, NULL);
}
