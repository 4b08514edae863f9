/* SPDX-License-Identifier: MIT */
/*
 * test-sec-broker-inetd - an inetdCompatibility job (without Wait) of a
 * root broker, its socket open to every user (SockPathMode 0666), must
 * serve each user's connections although another user holds connections
 * it never speaks on (docs/security.md, "inetdCompatibility").
 *
 *   hold   daemon opens 100 connections to the job's socket and says
 *          nothing; then nobody and root each talk to the job ("ping"):
 *          both must be answered ("got ping") within 10 s, xpcd's
 *          descriptors must stay bounded, and daemon's connections beyond
 *          its share are closed.  Before: one instance ran at a time, so
 *          daemon's first silent connection held the job for ever and
 *          nobody and root were never answered.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker-common.h"
#include "sec-broker-common.h"

static struct harness_user nobody, daemon_user;
static char sock[512];

static void inetd_job(void)
{
	char xml[2048];

	snprintf(sock, sizeof(sock), "%s/inetd.sock", broker_dir);
	snprintf(xml, sizeof(xml),
		 "<key>Label</key><string>sec.inetd</string>\n"
		 "<key>ProgramArguments</key><array><string>/bin/sh</string><string>-c</string>"
		 "<string>read line; echo \"got $line\"</string></array>\n"
		 "<key>UserName</key><string>%s</string>\n"
		 "<key>inetdCompatibility</key><dict><key>Wait</key><false/></dict>\n"
		 "<key>Sockets</key><dict><key>Listener</key><dict><key>SockPathName</key><string>%s</string>"
		 "<key>SockPathMode</key><integer>438</integer></dict></dict>\n",
		 nobody.name, sock);
	broker_write_job_file("inetd.plist", xml);
}

static bool talk_as(struct harness_user u)
{
	char *argv[] = {(char *)sec_broker_attacker(), "talk", sock, "ping", NULL};
	double t0 = sec_broker_now();
	int st;
	char *out = sec_broker_run_as(u, argv, 20, &st);
	bool ok = !strcmp(out, "got ping\n");

	fprintf(stderr, "%s's talk: \"%s\" in %.2f s\n", u.name, out, sec_broker_now() - t0);
	free(out);
	return ok;
}

static void scenario_hold(void)
{
	char *argv[] = {(char *)sec_broker_attacker(), "hold", sock, "100", NULL};
	struct harness_user root = {0, 0, "root"};
	char line[128];

	inetd_job();
	sec_broker_start_broker(NULL, 1024);
	int fds0 = sec_broker_fd_count(broker_pid);
	SecBrokerChild att = sec_broker_spawn_as(daemon_user, argv);
	sec_broker_read_line(&att, line, sizeof(line), 10);
	fprintf(stderr, "daemon: %s\n", line);
	usleep(500 * 1000);
	CHECK(talk_as(nobody));
	CHECK(talk_as(root));
	int fds1 = sec_broker_fd_count(broker_pid);
	fprintf(stderr, "xpcd descriptors %d before, %d while daemon holds its connections\n", fds0, fds1);
	CHECK(fds1 < fds0 + 100);
	CHECK(broker_log_has("closed: limit exceeded: 16 instances per client"));
	sec_broker_kill(&att);
	CHECK(talk_as(nobody));
}

int main(int argc, char **argv)
{
	static const BrokerScenario scenarios[] = {
		{"hold", scenario_hold},
		{NULL, NULL},
	};

	REQUIRE(argc == 2);
	nobody = harness_unprivileged_user(0);
	daemon_user = harness_unprivileged_user(1);
	return sec_broker_run_scenario(argv[1], scenarios, 80, NULL);
}
