/* SPDX-License-Identifier: MIT */
/*
 * test-sec-broker-control - requests of other users on the root broker's
 * socket (docs/security.md, "The broker": requests, what others see,
 * hostile input, job files).
 *
 *   ops-refused  nobody and daemon ask to unload, disable, enable,
 *                kickstart -k, kill, load (a job that would run as
 *                root), reload and run-activity: every one is "denied"
 *                and nothing changed; blame and activities of root's job
 *                are "denied", procinfo of its pid "no job with that pid"
 *   visibility   list/print as nobody: the label and state of the jobs it
 *                may look up, nothing of a job restricted to daemon
 *                (XPCDAllowedUIDs), no program, arguments or path of
 *                another's job; everything of its own (UserName nobody)
 *   hostile      nobody sends garbage, an empty packet, a header that lies,
 *                253 descriptors, a 32 MiB request and 2000 requests
 *                whose replies it never reads: the broker lives, does not
 *                spin, gets its descriptors back, and daemon is served
 *   monitor-share  8 ordinary uids each ask for 9 monitors: each gets
 *                8 (its share), the 64 in all are taken, and root still
 *                gets one (before the fix: "limit exceeded: monitors")
 *   plist-bomb   a 130-byte binary job file whose arrays refer 14 times to
 *                the next, 5 deep (540 000 nodes once expanded): refused
 *                at load, the broker's peak memory stays small
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker-common.h"
#include "sec-broker-common.h"

#define NAME "org.xpc.sec.echo"

/* Resident sets of sanitized builds (shadow memory, quarantine) say
 * nothing about the bounds: printed, not checked, there. */
#if defined(__SANITIZE_ADDRESS__)
#define RSS_CHECKED 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define RSS_CHECKED 0
#endif
#endif
#ifndef RSS_CHECKED
#define RSS_CHECKED 1
#endif

static struct harness_user nobody, daemon_user;
static const struct harness_user root_user = {0, 0, "root"};

static void echo_job(const char *extra)
{
	char xml[2048];

	snprintf(xml, sizeof(xml),
		 "<key>Label</key><string>sec.echo</string>\n"
		 "<key>ProgramArguments</key><array><string>%s</string><string>%s</string></array>\n"
		 "<key>MachServices</key><dict><key>%s</key><true/></dict>\n"
		 "<key>ExitTimeOut</key><integer>1</integer>\n%s",
		 getenv("ECHO_SERVICE"), NAME, NAME, extra ? extra : "");
	broker_write_job_file("echo.plist", xml);
}

/* The broker's answer to @op as @u starts with @want. */
static bool answer_is(struct harness_user u, const char *want, const char *op, const char *a1, const char *a2)
{
	char *out = sec_broker_request_as(u, op, a1, a2);
	bool ok = !strncmp(out, want, strlen(want));

	if (!ok)
		fprintf(stderr, "%s %s as %s: \"%s\", wanted \"%s\"\n", op, a1 ? a1 : "", u.name, out, want);
	free(out);
	return ok;
}

static bool output_has(struct harness_user u, const char *text, const char *op, const char *a1)
{
	char *out = sec_broker_request_as(u, op, a1, NULL);
	bool has = strstr(out, text) != NULL;

	free(out);
	return has;
}

static void scenario_ops_refused(void)
{
	char xml[1024], path[512], *before, *after;
	struct harness_user users[2] = {nobody, daemon_user};

	echo_job("<key>RunAtLoad</key><true/>\n");
	snprintf(path, sizeof(path), "%s/evil.plist", broker_dir);
	snprintf(xml, sizeof(xml),
		 "<?xml version=\"1.0\"?><plist version=\"1.0\"><dict><key>Label</key><string>sec.evil</string>"
		 "<key>ProgramArguments</key><array><string>/bin/sh</string><string>-c</string>"
		 "<string>touch %s/pwned</string></array><key>UserName</key><string>root</string>"
		 "<key>RunAtLoad</key><true/></dict></plist>\n", broker_dir);
	FILE *f = fopen(path, "we");
	REQUIRE(f);
	fputs(xml, f);
	fclose(f);
	sec_broker_start_broker(NULL, 0);
	before = sec_broker_request_as(root_user, "print", "label=sec.echo", NULL);
	CHECK(!strncmp(before, "ok", 2) && strstr(before, "\"running\""));
	char load_arg[600], pid_arg[64];
	snprintf(load_arg, sizeof(load_arg), "path=%s", path);
	const char *pidp = strstr(before, "\"pid\"");
	snprintf(pid_arg, sizeof(pid_arg), "pid=%ld", pidp ? strtol(pidp + strcspn(pidp, "0123456789"), NULL, 10) : 0L);
	CHECK(strcmp(pid_arg, "pid=0") != 0);
	for (int i = 0; i < 2; i++) {
		CHECK(answer_is(users[i], "error: denied", "unload", "label=sec.echo", NULL));
		CHECK(answer_is(users[i], "error: denied", "disable", "label=sec.echo", NULL));
		CHECK(answer_is(users[i], "error: denied", "enable", "label=sec.echo", NULL));
		CHECK(answer_is(users[i], "error: denied", "kickstart", "label=sec.echo", "kill=1"));
		CHECK(answer_is(users[i], "error: denied", "kill", "label=sec.echo", "signal=9"));
		CHECK(answer_is(users[i], "error: denied", "load", load_arg, NULL));
		CHECK(answer_is(users[i], "error: denied", "reload", NULL, NULL));
		CHECK(answer_is(users[i], "error: denied", "run-activity", "label=sec.echo", "name=x"));
		CHECK(answer_is(users[i], "error: denied", "blame", "label=sec.echo", NULL));
		CHECK(answer_is(users[i], "error: denied", "activities", "label=sec.echo", NULL));
		CHECK(answer_is(users[i], "error: no job with that pid", "procinfo", pid_arg, NULL));
	}
	usleep(300 * 1000);
	after = sec_broker_request_as(root_user, "print", "label=sec.echo", NULL);
	CHECK_STREQ(after, before); /* same pid, runs, not disabled */
	CHECK(!output_has(root_user, "sec.evil", "list", NULL));
	snprintf(path, sizeof(path), "%s/pwned", broker_dir);
	CHECK(access(path, F_OK) != 0);
	free(before);
	free(after);
}

static void scenario_visibility(void)
{
	char xml[1024];

	snprintf(xml, sizeof(xml),
		 "<key>Label</key><string>sec.open</string>\n"
		 "<key>ProgramArguments</key><array><string>/bin/true</string><string>--token=S3CRET</string></array>\n"
		 "<key>MachServices</key><dict><key>org.xpc.sec.open</key><true/></dict>\n");
	broker_write_job_file("open.plist", xml);
	snprintf(xml, sizeof(xml),
		 "<key>Label</key><string>sec.restricted</string>\n"
		 "<key>ProgramArguments</key><array><string>/bin/true</string><string>--hidden</string></array>\n"
		 "<key>MachServices</key><dict><key>org.xpc.sec.restricted</key><true/></dict>\n"
		 "<key>XPCDAllowedUIDs</key><array><integer>%u</integer></array>\n", (unsigned)daemon_user.uid);
	broker_write_job_file("restricted.plist", xml);
	snprintf(xml, sizeof(xml),
		 "<key>Label</key><string>sec.mine</string>\n"
		 "<key>ProgramArguments</key><array><string>/bin/true</string><string>--mine=M1NE</string></array>\n"
		 "<key>UserName</key><string>%s</string>\n", nobody.name);
	broker_write_job_file("mine.plist", xml);
	sec_broker_start_broker(NULL, 0);

	/* nobody */
	CHECK(output_has(nobody, "sec.open", "list", NULL));
	CHECK(output_has(nobody, "sec.mine", "list", NULL));
	CHECK(!output_has(nobody, "sec.restricted", "list", NULL));
	CHECK(!output_has(nobody, "S3CRET", "print", "label=sec.open"));
	CHECK(!output_has(nobody, "/bin/true", "print", "label=sec.open"));
	CHECK(!output_has(nobody, "open.plist", "print", "label=sec.open"));
	CHECK(output_has(nobody, "\"state\"", "print", "label=sec.open"));
	CHECK(answer_is(nobody, "error: no job with that label", "print", "label=sec.restricted", NULL));
	CHECK(output_has(nobody, "M1NE", "print", "label=sec.mine")); /* its own job */
	/* daemon may look sec.restricted up: its label and state, not more */
	CHECK(output_has(daemon_user, "sec.restricted", "list", NULL));
	CHECK(output_has(daemon_user, "\"state\"", "print", "label=sec.restricted"));
	CHECK(!output_has(daemon_user, "--hidden", "print", "label=sec.restricted"));
	CHECK(!output_has(daemon_user, "M1NE", "print", "label=sec.mine"));
	/* root sees everything */
	CHECK(output_has(root_user, "S3CRET", "print", "label=sec.open"));
	CHECK(output_has(root_user, "sec.restricted", "list", NULL));
}

static void scenario_hostile(void)
{
	char *argv[] = {(char *)sec_broker_attacker(), "hostile", broker_sock, NULL};
	int status;

	echo_job(NULL);
	sec_broker_start_broker(NULL, 0);
	CHECK(answer_is(daemon_user, "ok", "lookup", "name=" NAME, NULL));
	int base = sec_broker_fd_count(broker_pid);
	long rss0 = sec_broker_vm_kb(broker_pid, "VmRSS");
	char *out = sec_broker_run_as(nobody, argv, 60, &status);
	CHECK(!strncmp(out, "done", 4));
	free(out);
	CHECK(harness_proc_alive(broker_pid));
	for (int i = 0; i < 100 && sec_broker_fd_count(broker_pid) > base; i++)
		usleep(100 * 1000);
	int fds = sec_broker_fd_count(broker_pid);
	long cpu0 = sec_broker_cpu_ms(broker_pid);
	usleep(1000 * 1000);
	long cpu = sec_broker_cpu_ms(broker_pid) - cpu0;
	long rss = sec_broker_vm_kb(broker_pid, "VmRSS");
	fprintf(stderr, "xpcd after the hostile client: %d descriptors (%d before), %ld ms CPU in the next second, "
		"RSS %ld KiB (%ld before)\n", fds, base, cpu, rss, rss0);
	CHECK(fds <= base);
	CHECK(cpu >= 0 && cpu < 300);
	CHECK(!RSS_CHECKED || rss < rss0 + 100 * 1024);
	CHECK(answer_is(daemon_user, "ok", "lookup", "name=" NAME, NULL));
	CHECK(answer_is(nobody, "ok", "list", NULL, NULL));
}

static void scenario_monitor_share(void)
{
	enum { USERS = 8 };
	SecBrokerChild ch[USERS];
	char line[64], *out;
	int total = 0;

	echo_job(NULL);
	sec_broker_start_broker(NULL, 0);
	for (int i = 0; i < USERS; i++) {
		struct harness_user u = {(uid_t)(61000 + i), (gid_t)(61000 + i), "uid61000+i"};
		char *argv[] = {(char *)sec_broker_attacker(), "monitors", broker_sock, "9", NULL};
		ch[i] = sec_broker_spawn_as(u, argv);
		sec_broker_read_line(&ch[i], line, sizeof(line), 20);
		CHECK(!strncmp(line, "monitors 8", 10)); /* its share, not more */
		total += atoi(line + 9);
	}
	out = sec_broker_request_as(root_user, "monitor", NULL, NULL);
	fprintf(stderr, "%d monitors of %d ordinary uids; root's: %.60s\n", total, USERS, out);
	CHECK(total == 64);
	CHECK(!strncmp(out, "ok", 2));
	free(out);
	for (int i = 0; i < USERS; i++)
		sec_broker_kill(&ch[i]);
}

/* A binary property list: root { Label, Program, Bomb: A0 }, A(i) an array
 * of 14 references to A(i+1), A(LEVELS-1) 14 references to the string "x". */
static void write_bomb(const char *path)
{
	enum { LEVELS = 5, FAN = 14 };
	static const char *const strs[] = {"Label", "Program", "Bomb", "sec.bomb", "/bin/true"};
	uint8_t buf[512];
	size_t n = 0, offsets[32], n_obj = 0;
	FILE *f;

	memcpy(buf, "bplist00", 8);
	n = 8;
	offsets[n_obj++] = n; /* 0: the root dictionary, 3 pairs */
	buf[n++] = 0xD3;
	for (int i = 1; i <= 3; i++)
		buf[n++] = (uint8_t)i; /* keys: objects 1..3 */
	buf[n++] = 4;
	buf[n++] = 5;
	buf[n++] = 6; /* values: 4, 5, A0 = 6 */
	for (int i = 0; i < 5; i++) {
		offsets[n_obj++] = n;
		buf[n++] = (uint8_t)(0x50 | strlen(strs[i]));
		memcpy(buf + n, strs[i], strlen(strs[i]));
		n += strlen(strs[i]);
	}
	for (int l = 0; l < LEVELS; l++) {
		offsets[n_obj++] = n;
		buf[n++] = 0xA0 | FAN;
		for (int i = 0; i < FAN; i++)
			buf[n++] = (uint8_t)(n_obj); /* the next object: A(l+1), or the leaf */
	}
	offsets[n_obj++] = n; /* the leaf */
	buf[n++] = 0x51;
	buf[n++] = 'x';
	size_t table = n;
	for (size_t i = 0; i < n_obj; i++)
		buf[n++] = (uint8_t)offsets[i];
	memset(buf + n, 0, 32);
	buf[n + 6] = 1; /* offset size */
	buf[n + 7] = 1; /* reference size */
	buf[n + 15] = (uint8_t)n_obj;
	buf[n + 23] = 0; /* root object */
	buf[n + 31] = (uint8_t)table;
	n += 32;
	REQUIRE((f = fopen(path, "we")));
	fwrite(buf, 1, n, f);
	fclose(f);
	fprintf(stderr, "bomb: %zu bytes\n", n);
}

static void scenario_plist_bomb(void)
{
	char path[512];
	double t0 = sec_broker_now();

	snprintf(path, sizeof(path), "%s/jobs/bomb.plist", broker_dir);
	write_bomb(path);
	echo_job(NULL);
	sec_broker_start_broker(NULL, 0);
	double took = sec_broker_now() - t0;
	long hwm = sec_broker_vm_kb(broker_pid, "VmHWM");
	fprintf(stderr, "xpcd with the bomb in its jobs: started in %.2f s, peak RSS %ld KiB\n", took, hwm);
	CHECK(broker_log_has("expands to more than"));
	CHECK(hwm > 0 && (!RSS_CHECKED || hwm < 64 * 1024));
	CHECK(!output_has(root_user, "sec.bomb", "list", NULL));
	CHECK(answer_is(nobody, "ok", "lookup", "name=" NAME, NULL));
}

int main(int argc, char **argv)
{
	static const BrokerScenario scenarios[] = {
		{"ops-refused", scenario_ops_refused}, {"visibility", scenario_visibility},
		{"hostile", scenario_hostile},         {"plist-bomb", scenario_plist_bomb},
		{"monitor-share", scenario_monitor_share},
		{NULL, NULL},
	};

	REQUIRE(argc == 2);
	nobody = harness_unprivileged_user(0);
	daemon_user = harness_unprivileged_user(1);
	return sec_broker_run_scenario(argv[1], scenarios, 80, NULL);
}
