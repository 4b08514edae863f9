/* SPDX-License-Identifier: MIT */
/*
 * test-sec-broker-checkins - one user flooding a root service's channel
 * with check-ins must not deny it to the others (docs/security.md, "One
 * user cannot fill a service's channel").
 *
 *   fill   a root on-demand echo service; nobody runs 2 processes that
 *          look its name up once and then send proper check-ins on its
 *          channel as fast as it takes them, for 6 s.  Meanwhile daemon
 *          and root each send the service one request (a named
 *          connection): both must be answered; xpcd's descriptors and
 *          resident memory must stay bounded (measured before, during and
 *          after).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker-common.h"
#include "sec-broker-common.h"

#define NAME "org.xpc.sec.echo"
#define ATTACKERS 2

static struct harness_user nobody, daemon_user;

/* The echo service; @slow: it starts 3 s after its launch. */
static void echo_job(bool slow)
{
	char xml[1024];

	snprintf(xml, sizeof(xml),
		 "<key>Label</key><string>sec.echo</string>\n"
		 "<key>ProgramArguments</key><array><string>/bin/sh</string><string>-c</string>"
		 "<string>%sexec %s %s</string></array>\n"
		 "<key>MachServices</key><dict><key>%s</key><true/></dict>\n",
		 slow ? "sleep 3; " : "", getenv("ECHO_SERVICE"), NAME, NAME);
	broker_write_job_file("echo.plist", xml);
}

/* sec-broker-attacker send as @u: true if answered (time in *@ret_s). */
static bool send_as(struct harness_user u, double *ret_s)
{
	char *argv[] = {(char *)sec_broker_attacker(), "send", broker_sock, NAME, NULL};
	double t0 = sec_broker_now();
	int st;
	char *out = sec_broker_run_as(u, argv, 20, &st);
	bool ok = !strncmp(out, "reply", 5);

	*ret_s = sec_broker_now() - t0;
	fprintf(stderr, "%s's request: %s in %.2f s\n", u.name, ok ? "answered" : out[0] ? out : "(nothing)", *ret_s);
	free(out);
	return ok;
}

static void fill(bool slow)
{
	char *argv[] = {(char *)sec_broker_attacker(), "fill", broker_sock, NAME, "6", NULL};
	struct harness_user root = {0, 0, "root"};
	SecBrokerChild att[ATTACKERS];
	char line[128];
	double t;

	echo_job(slow);
	sec_broker_start_broker(NULL, 1024);
	int fds0 = sec_broker_fd_count(broker_pid);
	long rss0 = sec_broker_vm_kb(broker_pid, "VmRSS");
	for (int i = 0; i < ATTACKERS; i++) {
		att[i] = sec_broker_spawn_as(nobody, argv);
		sec_broker_read_line(&att[i], line, sizeof(line), 10);
		CHECK_STREQ(line, "filling");
	}
	usleep(1000 * 1000);
	int fds1 = sec_broker_fd_count(broker_pid);
	long rss1 = sec_broker_vm_kb(broker_pid, "VmRSS");
	CHECK(send_as(daemon_user, &t));
	CHECK(send_as(root, &t));
	int fds2 = sec_broker_fd_count(broker_pid);
	long rss2 = sec_broker_vm_kb(broker_pid, "VmRSS");
	long sent = 0;
	for (int i = 0; i < ATTACKERS; i++) {
		sec_broker_read_line(&att[i], line, sizeof(line), 15);
		sent += strncmp(line, "sent ", 5) ? 0 : atol(line + 5);
		sec_broker_kill(&att[i]);
	}
	fprintf(stderr, "nobody sent %ld check-ins; xpcd descriptors %d -> %d -> %d, VmRSS %ld -> %ld -> %ld KiB; "
		"VmHWM %ld KiB\n", sent, fds0, fds1, fds2, rss0, rss1, rss2, sec_broker_vm_kb(broker_pid, "VmHWM"));
	CHECK(fds2 < fds0 + 64);
	CHECK(rss2 < rss0 + 32 * 1024);
	CHECK(send_as(daemon_user, &t));
}

int main(int argc, char **argv)
{
	REQUIRE(argc == 2);
	nobody = harness_unprivileged_user(0);
	daemon_user = harness_unprivileged_user(1);
	sec_broker_setup();
	harness_warm_dispatch();
	harness_begin(80);
	if (!strcmp(argv[1], "fill"))
		fill(false);
	else if (!strcmp(argv[1], "fill-slow"))
		fill(true);
	else
		REQUIRE(!"unknown scenario");
	sec_broker_finish();
	return harness_end();
}
