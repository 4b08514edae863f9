/* SPDX-License-Identifier: MIT */
/*
 * test-sec-broker-launch - a root xpcd starts jobs as UserName nobody
 * (the attacker: whoever controls that job's program or user), and the job
 * must get exactly what nobody may have (docs/security.md, "The broker",
 * job set-up).
 *
 * Jobs, all RunAtLoad, all UserName nobody:
 *   sec.reader    /bin/cat, StandardInPath a root-only file, StandardOutPath
 *                 a file nobody can read: the secret must not get there
 *   sec.appender  StandardOutPath a root-owned file nobody cannot write
 *   sec.symlink   StandardErrorPath a symlink nobody planted in its own
 *                 directory, pointing at a root-owned file
 *   sec.workdir   WorkingDirectory a root-only directory
 *   sec.quiet     no output paths: what it writes reaches the broker's
 *                 log only labelled "sec.quiet[PID]: ", never as a line of
 *                 its own (it would forge broker log lines)
 *   sec.env       dumps its environment and ids: a clean environment with
 *                 nobody's HOME/USER/LOGNAME/SHELL, nothing of xpcd's own
 *                 environment (SEC_BROKER_MARKER), nobody's ids for good
 * Checked: no root file read, created or appended to; each refused step is
 * in the broker log with the step's name and the errno.
 *
 *   txn-truncate  a nobody job with EnableTransactions truncates the
 *                 shared count xpcd gave it (a memfd) to 0 bytes; root
 *                 then unloads it, and xpcd reads the count: before the
 *                 fix the truncate worked and xpcd died of SIGBUS; now the
 *                 memfd is sealed against shrinking (EPERM) and the broker
 *                 lives on
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker-common.h"
#include "sec-broker-common.h"

/* True when a line of the broker's log starts with @start. */
static bool log_has_line_starting(const char *start)
{
	char *log = broker_read_file("xpcd.log");
	bool found = !strncmp(log, start, strlen(start));

	for (char *p = log; !found && (p = strchr(p, '\n')); p++)
		found = !strncmp(p + 1, start, strlen(start));
	free(log);
	return found;
}

static struct harness_user nobody;

static void write_file(const char *name, const char *text, mode_t mode)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", broker_dir, name);
	f = fopen(path, "we");
	REQUIRE(f);
	fputs(text, f);
	fclose(f);
	REQUIRE(chmod(path, mode) == 0);
}

/* @script is XML text: &gt; for >, &amp; for &. */
static void job(const char *label, const char *script, const char *extra)
{
	char file[300], xml[4096];

	snprintf(file, sizeof(file), "%s.plist", label);
	snprintf(xml, sizeof(xml),
		 "<key>Label</key><string>%s</string>\n"
		 "<key>ProgramArguments</key><array><string>/bin/sh</string><string>-c</string>"
		 "<string>%s</string></array>\n"
		 "<key>UserName</key><string>%s</string>\n"
		 "<key>RunAtLoad</key><true/>\n%s",
		 label, script, nobody.name, extra);
	broker_write_job_file(file, xml);
}

/* Waits until the log says @label exited or failed to start (5 s). */
static void wait_job_done(const char *label)
{
	char exited[300], failed[300];

	snprintf(exited, sizeof(exited), "%s: pid", label);
	snprintf(failed, sizeof(failed), "%s: job set-up failed", label);
	for (int i = 0; i < 500; i++) {
		char *log = broker_read_file("xpcd.log");
		const char *p = strstr(log, exited);
		bool done = strstr(log, failed) || (p && (strstr(p, "exited") || strstr(p, "killed")));
		free(log);
		if (done)
			return;
		usleep(10000);
	}
}

static void check_file_is(const char *name, const char *want)
{
	char *text = broker_read_file(name);

	if (strcmp(text, want))
		fprintf(stderr, "%s: \"%s\", wanted \"%s\"\n", name, text, want);
	CHECK(!strcmp(text, want));
	free(text);
}

static void scenario_setup_as_user(void)
{
	char extra[1024], path[512], target[512];
	struct passwd *pw = getpwnam(nobody.name);

	write_file("secret", "TOPSECRET\n", 0600);
	write_file("rootfile", "original\n", 0644);
	write_file("rootfile2", "original2\n", 0644);
	snprintf(path, sizeof(path), "%s/private", broker_dir);
	REQUIRE(mkdir(path, 0700) == 0);
	snprintf(path, sizeof(path), "%s/pub", broker_dir);
	REQUIRE(mkdir(path, 0755) == 0 && chown(path, nobody.uid, nobody.gid) == 0);
	snprintf(path, sizeof(path), "%s/pub/link", broker_dir); /* nobody's own symlink */
	snprintf(target, sizeof(target), "%s/rootfile2", broker_dir);
	REQUIRE(symlink(target, path) == 0 && lchown(path, nobody.uid, nobody.gid) == 0);

	snprintf(extra, sizeof(extra),
		 "<key>StandardInPath</key><string>%s/secret</string>\n"
		 "<key>StandardOutPath</key><string>%s/pub/leak</string>\n", broker_dir, broker_dir);
	job("sec.reader", "cat", extra);
	snprintf(extra, sizeof(extra), "<key>StandardOutPath</key><string>%s/rootfile</string>\n", broker_dir);
	job("sec.appender", "echo FORGED", extra);
	snprintf(extra, sizeof(extra), "<key>StandardErrorPath</key><string>%s/pub/link</string>\n", broker_dir);
	job("sec.symlink", "echo FORGED 1&gt;&amp;2", extra);
	snprintf(extra, sizeof(extra),
		 "<key>WorkingDirectory</key><string>%s/private</string>\n"
		 "<key>StandardOutPath</key><string>%s/pub/wd</string>\n", broker_dir, broker_dir);
	job("sec.workdir", "pwd", extra);
	job("sec.quiet", "echo FORGEDLOG; echo xpcd[1] 00:00:00.000 FORGEDLOG 1&gt;&amp;2", "");
	snprintf(extra, sizeof(extra), "<key>StandardOutPath</key><string>%s/pub/env</string>\n", broker_dir);
	job("sec.env", "env; grep -E ^Uid:\\|^Gid:\\|^Groups: /proc/self/status", extra);

	setenv("SEC_BROKER_MARKER", "inherited-from-xpcd", 1);
	sec_broker_start_broker(NULL, 0);
	unsetenv("SEC_BROKER_MARKER");
	const char *labels[] = {"sec.reader", "sec.appender", "sec.symlink", "sec.workdir", "sec.quiet", "sec.env"};
	for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
		wait_job_done(labels[i]);
	usleep(200 * 1000); /* sec.quiet's output, if it went to the log */

	char *leak = broker_read_file("pub/leak");
	CHECK(!strstr(leak, "TOPSECRET")); /* read as root before: the secret was copied */
	free(leak);
	check_file_is("rootfile", "original\n");
	check_file_is("rootfile2", "original2\n");
	char *wd = broker_read_file("pub/wd");
	CHECK(!strstr(wd, "private"));
	free(wd);
	CHECK(broker_log_has("sec.quiet[")); /* labelled, */
	CHECK(!log_has_line_starting("xpcd[1] ")); /* never a line of its own */
	CHECK(broker_log_has("sec.reader: job set-up failed: StandardInPath"));
	CHECK(broker_log_has("sec.appender: job set-up failed: StandardOutPath"));
	CHECK(broker_log_has("sec.symlink: job set-up failed: StandardErrorPath"));
	CHECK(broker_log_has("sec.workdir: job set-up failed: WorkingDirectory"));
	CHECK(broker_log_has("Permission denied (errno 13)"));

	char *env = broker_read_file("pub/env"), want[600];
	snprintf(want, sizeof(want), "USER=%s\n", nobody.name);
	CHECK(strstr(env, want));
	snprintf(want, sizeof(want), "LOGNAME=%s\n", nobody.name);
	CHECK(strstr(env, want));
	snprintf(want, sizeof(want), "HOME=%s\n", pw ? pw->pw_dir : "?");
	CHECK(strstr(env, want));
	CHECK(strstr(env, "SHELL="));
	CHECK(strstr(env, "PATH="));
	snprintf(want, sizeof(want), "XPCD_SOCKET=%s\n", broker_sock);
	CHECK(strstr(env, want));
	CHECK(!strstr(env, "SEC_BROKER_MARKER"));
	snprintf(want, sizeof(want), "Uid:\t%u\t%u\t%u\t%u\n", (unsigned)nobody.uid, (unsigned)nobody.uid,
		 (unsigned)nobody.uid, (unsigned)nobody.uid);
	CHECK(strstr(env, want));
	CHECK(!strstr(env, "Groups:\t0 ") && !strstr(env, " 0 \n") && !strstr(env, "Groups:\t0\n"));
	if (harness_failures)
		fprintf(stderr, "the job's environment and ids:\n%s", env);
	free(env);
}

static void scenario_txn_truncate(void)
{
	char out[400], script[1024], *text = NULL, *r;

	snprintf(out, sizeof(out), "%s/out", broker_dir);
	REQUIRE(mkdir(out, 0755) == 0 && chown(out, nobody.uid, nobody.gid) == 0);
	snprintf(script, sizeof(script),
		 "fd=${XPCD_TRANSACTIONS#*:}; if truncate -s 0 /proc/$$/fd/$fd; then echo truncated; "
		 "else echo refused; fi &gt;%s/txn; exec sleep 60", out);
	job("sec.txn", script, "<key>EnableTransactions</key><true/>\n");
	sec_broker_start_broker(NULL, 0);
	for (int i = 0; i < 500; i++) {
		free(text);
		text = broker_read_file("out/txn");
		if (strchr(text, '\n'))
			break;
		usleep(10000);
	}
	fprintf(stderr, "the job's truncate of its shared count: %s", text);
	CHECK(!strcmp(text, "refused\n"));
	free(text);
	r = sec_broker_request_as((struct harness_user){0, 0, "root"}, "unload", "label=sec.txn", NULL);
	CHECK(!strncmp(r, "ok", 2));
	free(r);
	wait_job_done("sec.txn");
	CHECK(harness_proc_alive(broker_pid));
	r = sec_broker_request_as((struct harness_user){0, 0, "root"}, "list", NULL, NULL);
	CHECK(!strncmp(r, "ok", 2));
	free(r);
}

int main(int argc, char **argv)
{
	static const BrokerScenario scenarios[] = {
		{"setup-as-user", scenario_setup_as_user},
		{"txn-truncate", scenario_txn_truncate},
		{NULL, NULL},
	};

	REQUIRE(argc == 2);
	nobody = harness_unprivileged_user(0);
	return sec_broker_run_scenario(argv[1], scenarios, 60, NULL);
}
