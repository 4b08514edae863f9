/* SPDX-License-Identifier: MIT */
/*
 * test-sec-broker-paths - the paths a job names are used with its user's
 * rights, and another user cannot choose what stands at them
 * (docs/security.md, "Paths a job names").  A root xpcd; nobody is the
 * job's user, daemon the other user who may write a shared directory.
 *
 *   watch-unreadable  a nobody job watches a file in a root-only directory
 *                     (WatchPaths) and a root-only queue directory that
 *                     holds an entry (QueueDirectories).  Before: root's
 *                     xpcd watched them, so the job started at once (the
 *                     queue holds an entry) and again when root wrote the
 *                     file: nobody learnt of changes it may not see.  Now
 *                     both are refused ("not watched" in the log and in
 *                     print's watch_refused) and the job never starts; a
 *                     second nobody job watching a path nobody may read
 *                     still starts when it changes.  A third watches a
 *                     missing path in nobody's directory, which nobody
 *                     then makes a link to the root-only directory: the
 *                     link's creation starts it once (nobody made it);
 *                     root's next change there must not (before, root's
 *                     xpcd followed the link and watched the directory).
 *   stdio-planted     daemon may write a shared directory (0777, not
 *                     sticky) where jobs keep their output, and plants:
 *                     a link to a file of nobody's (nobody's job would
 *                     append to it), a file of its own, 0666 (it would
 *                     read nobody's output), a FIFO nobody reads (the
 *                     job's set-up would hang in open), and a link to a
 *                     root file at a root job's StandardOutPath (root's
 *                     job would append to it).  Now each is refused with
 *                     EPERM/ENXIO, logged "job set-up failed" and shown as
 *                     the job's last failure; a root-owned link and a new
 *                     file still work.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "broker-common.h"
#include "sec-broker-common.h"
#include "shared/xpcd-protocol.h"

static struct harness_user nobody, daemon_user;

static void path_of(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", broker_dir, name);
}

static void write_file(const char *name, const char *text, mode_t mode, uid_t uid, gid_t gid)
{
	char path[512];
	FILE *f;

	path_of(path, sizeof(path), name);
	f = fopen(path, "we");
	REQUIRE(f);
	fputs(text, f);
	fclose(f);
	REQUIRE(chmod(path, mode) == 0 && chown(path, uid, gid) == 0);
}

static void make_dir(const char *name, mode_t mode, uid_t uid, gid_t gid)
{
	char path[512];

	path_of(path, sizeof(path), name);
	REQUIRE(mkdir(path, mode) == 0 && chmod(path, mode) == 0 && chown(path, uid, gid) == 0);
}

/* A job running @script (XML text) as @user (NULL: root). */
static void job(const char *label, const char *user, const char *script, const char *extra)
{
	char file[300], xml[4096], who[200] = "";

	if (user)
		snprintf(who, sizeof(who), "<key>UserName</key><string>%s</string>\n", user);
	snprintf(file, sizeof(file), "%s.plist", label);
	snprintf(xml, sizeof(xml),
		 "<key>Label</key><string>%s</string>\n"
		 "<key>ProgramArguments</key><array><string>/bin/sh</string><string>-c</string>"
		 "<string>%s</string></array>\n%s%s",
		 label, script, who, extra);
	broker_write_job_file(file, xml);
}

/* Whether the log holds @a and @b within @ms. */
static bool wait_log(const char *a, const char *b, unsigned ms)
{
	for (unsigned i = 0; i <= ms / 10; i++) {
		char *log = broker_read_file("xpcd.log");
		const char *p = strstr(log, a);
		bool ok = p && (!b || strstr(p, b));
		free(log);
		if (ok)
			return true;
		usleep(10000);
	}
	return false;
}

static bool wait_file_has(const char *name, const char *text, unsigned ms)
{
	for (unsigned i = 0; i <= ms / 10; i++) {
		char *t = broker_read_file(name);
		bool ok = strstr(t, text) != NULL;
		free(t);
		if (ok)
			return true;
		usleep(10000);
	}
	return false;
}

/* print LABEL's entry: the string at @key, or at the first element of
 * the array at @key (malloc'd; "" when none). */
static char *print_field(const char *label, const char *key)
{
	xpc_object_t r = broker_call("print", label), job = NULL, v = NULL;
	const char *s = NULL;
	char *out;

	if (r && xpc_get_type(r) == XPC_TYPE_DICTIONARY)
		job = xpc_dictionary_get_value(r, XPCD_KEY_JOB);
	if (job && xpc_get_type(job) == XPC_TYPE_DICTIONARY)
		v = xpc_dictionary_get_value(job, key);
	if (v && xpc_get_type(v) == XPC_TYPE_STRING)
		s = xpc_string_get_string_ptr(v);
	else if (v && xpc_get_type(v) == XPC_TYPE_ARRAY && xpc_array_get_count(v))
		s = xpc_array_get_string(v, 0);
	out = strdup(s ? s : "");
	if (r)
		xpc_release(r);
	return out;
}

/* ---- watch-unreadable ---------------------------------------------------------- */

static void scenario_watch_unreadable(void)
{
	char extra[2048], script[600], path[512];

	make_dir("private", 0700, 0, 0);
	write_file("private/f", "v1\n", 0600, 0, 0);
	make_dir("queue", 0700, 0, 0);
	write_file("queue/entry", "x\n", 0600, 0, 0);
	make_dir("pub", 0755, nobody.uid, nobody.gid);
	write_file("pub/visible", "v1\n", 0644, nobody.uid, nobody.gid);

	snprintf(extra, sizeof(extra),
		 "<key>WatchPaths</key><array><string>%s/private/f</string></array>\n"
		 "<key>QueueDirectories</key><array><string>%s/queue</string></array>\n"
		 "<key>ThrottleInterval</key><integer>1</integer>\n", broker_dir, broker_dir);
	snprintf(script, sizeof(script), "echo started &gt;&gt;%s/pub/started-a", broker_dir);
	job("sec.watch.a", nobody.name, script, extra);
	snprintf(extra, sizeof(extra),
		 "<key>WatchPaths</key><array><string>%s/pub/visible</string></array>\n", broker_dir);
	snprintf(script, sizeof(script), "echo started &gt;&gt;%s/pub/started-b", broker_dir);
	job("sec.watch.b", nobody.name, script, extra);
	snprintf(extra, sizeof(extra),
		 "<key>WatchPaths</key><array><string>%s/pub/later</string></array>\n"
		 "<key>ThrottleInterval</key><integer>1</integer>\n", broker_dir);
	snprintf(script, sizeof(script), "echo started &gt;&gt;%s/pub/started-c", broker_dir);
	job("sec.watch.c", nobody.name, script, extra);

	sec_broker_start_broker(NULL, 0);
	usleep(500 * 1000);
	/* a path nobody may read is still watched for nobody's job */
	write_file("pub/visible", "v2\n", 0644, nobody.uid, nobody.gid);
	CHECK(wait_file_has("pub/started-b", "started", 10000));
	/* root changes what nobody may not see */
	write_file("private/f", "v2\n", 0600, 0, 0);
	write_file("queue/entry2", "y\n", 0600, 0, 0);
	/* nobody points its watched path at root's directory */
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		char link[512], target[512];
		harness_become(nobody);
		path_of(link, sizeof(link), "pub/later");
		path_of(target, sizeof(target), "private");
		_exit(symlink(target, link) == 0 ? 0 : 1);
	}
	CHECK(harness_wait_pid(pid, 10) == 0);
	CHECK(wait_file_has("pub/started-c", "started", 10000));
	usleep(1500 * 1000); /* that run over, its throttle too */
	write_file("private/g", "v1\n", 0600, 0, 0);
	usleep(1500 * 1000);
	char *c = broker_read_file("pub/started-c");
	fprintf(stderr, "sec.watch.c: \"%s\"\n", c);
	CHECK(!strcmp(c, "started\n"));
	free(c);
	char *a = broker_read_file("pub/started-a");
	if (*a)
		fprintf(stderr, "nobody's job started on root's changes: \"%s\"\n", a);
	CHECK(!*a);
	free(a);
	CHECK(broker_log_has("sec.watch.a: WatchPaths"));
	CHECK(broker_log_has("sec.watch.a: QueueDirectories"));
	CHECK(broker_log_has("not watched: the job's user may not read it (Permission denied)"));
	char *refused = print_field("sec.watch.a", XPCD_JOB_WATCH_REFUSED);
	fprintf(stderr, "print sec.watch.a: watch_refused: %s\n", refused);
	path_of(path, sizeof(path), "private/f");
	CHECK(strstr(refused, path) && strstr(refused, "not watched"));
	free(refused);
	refused = print_field("sec.watch.b", XPCD_JOB_WATCH_REFUSED);
	CHECK(!*refused);
	free(refused);
}

/* ---- stdio-planted ----------------------------------------------------------------- */

/* daemon plants its things in the shared directory (a child that became
 * daemon). */
static void plant_as_daemon(void)
{
	char a[512], b[512];
	pid_t pid = fork();

	REQUIRE(pid >= 0);
	if (pid == 0) {
		harness_become(daemon_user);
		umask(0);
		path_of(a, sizeof(a), "shared/out1");
		path_of(b, sizeof(b), "home/precious");
		if (symlink(b, a) < 0)
			_exit(1);
		path_of(a, sizeof(a), "shared/out2");
		int fd = open(a, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (fd < 0)
			_exit(2);
		close(fd);
		path_of(a, sizeof(a), "shared/fifo3");
		if (mkfifo(a, 0666) < 0)
			_exit(3);
		path_of(a, sizeof(a), "shared/out4");
		path_of(b, sizeof(b), "rootfile");
		if (symlink(b, a) < 0)
			_exit(4);
		_exit(0);
	}
	CHECK(harness_wait_pid(pid, 10) == 0);
}

static void check_file_is(const char *name, const char *want)
{
	char *text = broker_read_file(name);

	if (strcmp(text, want))
		fprintf(stderr, "%s: \"%s\", wanted \"%s\"\n", name, text, want);
	CHECK(!strcmp(text, want));
	free(text);
}

static void check_refused(const char *label, const char *step)
{
	char want[300];
	char *f;

	snprintf(want, sizeof(want), "%s: job set-up failed: %s", label, step);
	CHECK(wait_log(want, NULL, 10000));
	f = print_field(label, XPCD_JOB_LAST_FAILURE);
	fprintf(stderr, "print %s: last failure %s\n", label, f);
	CHECK(*f);
	free(f);
}

static void scenario_stdio_planted(void)
{
	char extra[1024], a[512], b[512];

	make_dir("shared", 0777, 0, 0);
	make_dir("home", 0755, nobody.uid, nobody.gid);
	write_file("home/precious", "precious\n", 0644, nobody.uid, nobody.gid);
	write_file("rootfile", "original\n", 0644, 0, 0);
	write_file("home/target", "", 0644, nobody.uid, nobody.gid);
	plant_as_daemon();
	path_of(a, sizeof(a), "shared/ok6"); /* a link root made: followed */
	path_of(b, sizeof(b), "home/target");
	REQUIRE(symlink(b, a) == 0);

	const char *rl = "<key>RunAtLoad</key><true/>\n";
	snprintf(extra, sizeof(extra), "%s<key>StandardOutPath</key><string>%s/shared/out1</string>\n", rl, broker_dir);
	job("sec.out.link", nobody.name, "echo FORGED", extra);
	snprintf(extra, sizeof(extra), "%s<key>StandardOutPath</key><string>%s/shared/out2</string>\n", rl, broker_dir);
	job("sec.out.file", nobody.name, "echo NOBODYS-OUTPUT", extra);
	snprintf(extra, sizeof(extra), "%s<key>StandardErrorPath</key><string>%s/shared/fifo3</string>\n", rl, broker_dir);
	job("sec.err.fifo", nobody.name, "echo NOBODYS-ERRORS 1&gt;&amp;2", extra);
	snprintf(extra, sizeof(extra), "%s<key>StandardOutPath</key><string>%s/shared/out4</string>\n", rl, broker_dir);
	job("sec.root.link", NULL, "echo FORGED", extra);
	snprintf(extra, sizeof(extra), "%s<key>StandardOutPath</key><string>%s/shared/ok5</string>\n", rl, broker_dir);
	job("sec.ok.new", nobody.name, "echo fine5", extra);
	snprintf(extra, sizeof(extra), "%s<key>StandardOutPath</key><string>%s/shared/ok6</string>\n", rl, broker_dir);
	job("sec.ok.rootlink", nobody.name, "echo fine6", extra);

	sec_broker_start_broker(NULL, 0);
	check_refused("sec.out.link", "StandardOutPath");
	check_refused("sec.out.file", "StandardOutPath");
	check_refused("sec.err.fifo", "StandardErrorPath");
	check_refused("sec.root.link", "StandardOutPath");
	CHECK(wait_file_has("shared/ok5", "fine5\n", 10000));
	CHECK(wait_file_has("home/target", "fine6\n", 10000));
	usleep(300 * 1000);
	check_file_is("home/precious", "precious\n");
	check_file_is("shared/out2", "");
	check_file_is("rootfile", "original\n");
}

int main(int argc, char **argv)
{
	static const BrokerScenario scenarios[] = {
		{"watch-unreadable", scenario_watch_unreadable},
		{"stdio-planted", scenario_stdio_planted},
		{NULL, NULL},
	};

	REQUIRE(argc == 2);
	nobody = harness_unprivileged_user(0);
	daemon_user = harness_unprivileged_user(1);
	return sec_broker_run_scenario(argv[1], scenarios, 60, NULL);
}
