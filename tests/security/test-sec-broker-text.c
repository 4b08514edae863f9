/* SPDX-License-Identifier: MIT */
/*
 * test-sec-broker-text - what an ordinary user writes into the broker's
 * events must reach root's terminal as text, not as terminal controls or
 * lines of its own (docs/security.md, "Text of other users").
 *
 *   monitor-escape  root runs `xpcctl monitor`; nobody looks up a name
 *                   holding a newline, a forged event line after it, and
 *                   terminal escapes (set the window title, clear the
 *                   screen), and sends a refused request whose label does
 *                   the same.  Before: root's terminal got the escapes and
 *                   the forged lines as lines of the monitor.  Now every
 *                   control character is shown escaped (\n, \x1b), the
 *                   events still name the user's pid and uid.
 *   hostile-args    nobody sends every operation (and an unknown one)
 *                   with labels and names of 60 000 bytes, "../..",
 *                   "/", "" and pids out of range: each is answered, the
 *                   broker's descriptors come back, its memory stays
 *                   within 16 MiB, and daemon is served after (this held
 *                   before too).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker-common.h"
#include "sec-broker-common.h"

static struct harness_user nobody;

#define FORGED "2000-01-01T00:00:00.000000Z launch    sec.fake pid=1 uid=0: FORGED"
#define ESCAPES "\x1b]0;pwned\x07\x1b[2J\xc2\x9b" "31m"

static void scenario_monitor_escape(void)
{
	char *argv[] = {getenv("XPCCTL"), "--socket", broker_sock, "monitor", NULL};
	struct harness_user root = {0, 0, "root"};
	char line[2048], *r;
	size_t got = 0;
	static char all[16384];

	sec_broker_start_broker(NULL, 0);
	SecBrokerChild mon = sec_broker_spawn_as(root, argv);
	usleep(700 * 1000); /* subscribed */
	r = sec_broker_request_as(nobody, "lookup", "name=x.y\n" FORGED "\n" ESCAPES, NULL);
	free(r);
	r = sec_broker_request_as(nobody, "unload", "label=lbl\n" FORGED "2\n" ESCAPES, NULL);
	free(r);
	for (int i = 0; i < 40; i++) {
		sec_broker_read_line(&mon, line, sizeof(line), 1);
		if (!line[0] && strstr(all, "FORGED2"))
			break;
		got += (size_t)snprintf(all + got, sizeof(all) - got, "%s\n", line);
		if (got >= sizeof(all) - 1)
			break;
	}
	sec_broker_kill(&mon);
	fprintf(stderr, "root's monitor printed:\n%s", all);
	CHECK(strstr(all, "FORGED"));           /* the events were shown, */
	CHECK(!strstr(all, "\n" FORGED));       /* not as lines of their own, */
	CHECK(!strchr(all, '\x1b') && !strchr(all, '\x07') && !strstr(all, "\xc2\x9b")); /* no controls */
	CHECK(strstr(all, "\\n") && strstr(all, "\\x1b"));
}

static void scenario_hostile_args(void)
{
	static const char *const ops[] = {"lookup", "list", "print", "load", "unload", "enable", "disable",
					  "kickstart", "kill", "reload", "activities", "run-activity", "monitor",
					  "blame", "procinfo", "tap", "frame", "no-such-op", NULL};
	static char big[60000 + 16]; /* inline (a body out of line ends the link by design) */
	const char *values[] = {big, "../../../etc/passwd", "/", "", NULL};
	char a1[sizeof(big) + 16], a2[sizeof(big) + 16], *r;
	int answered = 0, asked = 0;

	memset(big, 'A', sizeof(big) - 1);
	sec_broker_start_broker(NULL, 0);
	int fds0 = sec_broker_fd_count(broker_pid);
	long rss0 = sec_broker_vm_kb(broker_pid, "VmRSS");
	for (int o = 0; ops[o]; o++) {
		for (int v = 0; values[v]; v++) {
			snprintf(a1, sizeof(a1), "label=%s", values[v]);
			snprintf(a2, sizeof(a2), !strcmp(ops[o], "procinfo") ? "pid=%s" : !strcmp(ops[o], "load") ? "path=%s"
														  : "name=%s",
				 v == 0 ? "-1" : v == 1 ? "99999999999" : values[v]); /* one big value a request */
			r = sec_broker_request_as(nobody, ops[o], a1, a2);
			asked++;
			bool ok = !strncmp(r, "ok", 2) || !strncmp(r, "error", 5);
			answered += ok;
			if (!ok)
				fprintf(stderr, "%s (value %d): %.100s\n", ops[o], v, r);
			free(r);
		}
	}
	long rss1 = sec_broker_vm_kb(broker_pid, "VmRSS");
	int fds1 = fds0;
	for (int i = 0; i < 50 && (fds1 = sec_broker_fd_count(broker_pid)) > fds0; i++)
		usleep(100 * 1000);
	fprintf(stderr, "%d of %d hostile requests answered; xpcd %d -> %d descriptors, VmRSS %ld -> %ld KiB\n",
		answered, asked, fds0, fds1, rss0, rss1);
	CHECK(answered >= asked - 2 * 4); /* monitor and tap links are held, not answered as requests */
	CHECK(fds1 <= fds0);
	CHECK(rss1 < rss0 + 16 * 1024);
	r = sec_broker_request_as(harness_unprivileged_user(1), "list", NULL, NULL);
	CHECK(!strncmp(r, "ok", 2));
	free(r);
}

int main(int argc, char **argv)
{
	static const BrokerScenario scenarios[] = {
		{"monitor-escape", scenario_monitor_escape},
		{"hostile-args", scenario_hostile_args},
		{NULL, NULL},
	};

	REQUIRE(argc == 2);
	nobody = harness_unprivileged_user(0);
	return sec_broker_run_scenario(argv[1], scenarios, 60, NULL);
}
