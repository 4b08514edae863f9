/* SPDX-License-Identifier: MIT */
/*
 * test-plist - the job loader: XML and binary property lists, every key,
 * and bad files rejected with a message naming the file and the key.
 */
#include <plist/plist.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/job.h"
#include "broker/plist.h"
#include "harness.h"

static char dir[64];

static const char *put(const char *name, const char *body)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "we");
	REQUIRE(f);
	fputs(body, f);
	fclose(f);
	return path;
}

#define HEAD "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plist version=\"1.0\"><dict>"
#define TAIL "</dict></plist>\n"

static const char full_xml[] = HEAD
	"<key>Label</key><string>org.example.full</string>"
	"<key>ProgramArguments</key><array><string>/bin/true</string><string>-x</string></array>"
	"<key>MachServices</key><dict><key>org.example.a</key><true/><key>org.example.b</key><dict/></dict>"
	"<key>RunAtLoad</key><true/>"
	"<key>KeepAlive</key><dict><key>SuccessfulExit</key><false/><key>Crashed</key><true/></dict>"
	"<key>EnvironmentVariables</key><dict><key>FOO</key><string>bar</string></dict>"
	"<key>WorkingDirectory</key><string>/tmp</string>"
	"<key>StandardOutPath</key><string>/tmp/out</string>"
	"<key>StandardErrorPath</key><string>/tmp/err</string>"
	"<key>ThrottleInterval</key><integer>3</integer>"
	"<key>ExitTimeOut</key><integer>7</integer>"
	"<key>XPCDAllowedUIDs</key><array><integer>0</integer><integer>1000</integer></array>"
	"<key>ProcessType</key><string>Interactive</string>"
	"<key>SomethingNew</key><string>x</string>" TAIL;

static void check_full(Job *j)
{
	CHECK_STREQ(j->label, "org.example.full");
	CHECK(j->program == NULL);
	CHECK_STREQ(j->argv[0], "/bin/true");
	CHECK_STREQ(j->argv[1], "-x");
	CHECK(j->argv[2] == NULL);
	CHECK_EQ_INT(j->n_services, 2);
	CHECK(j->run_at_load);
	CHECK(!j->keepalive);
	CHECK_EQ_INT(j->keepalive_successful_exit, 0);
	CHECK_EQ_INT(j->keepalive_crashed, 1);
	CHECK_STREQ(j->env[0], "FOO=bar");
	CHECK_STREQ(j->workdir, "/tmp");
	CHECK_STREQ(j->stdout_path, "/tmp/out");
	CHECK_EQ_INT(j->throttle_interval, 3);
	CHECK_EQ_INT(j->exit_timeout, 7);
	CHECK_EQ_INT(j->n_allowed_uids, 2);
	CHECK_EQ_INT(j->allowed_uids[1], 1000);
}

static void test_xml_and_binary(void)
{
	char err[512];
	Job *j = NULL;
	const char *path = put("full.plist", full_xml);

	REQUIRE(plist_load_job(path, &j, err, sizeof(err)) == 0);
	check_full(j);
	job_free(j);

	/* the same list in binary form */
	plist_t root = NULL;
	char *bin = NULL;
	uint32_t len = 0;
	plist_from_xml(full_xml, (uint32_t)strlen(full_xml), &root);
	REQUIRE(root);
	plist_to_bin(root, &bin, &len);
	plist_free(root);
	REQUIRE(bin);
	char bpath[256];
	snprintf(bpath, sizeof(bpath), "%s/full-binary.plist", dir);
	FILE *f = fopen(bpath, "we");
	REQUIRE(f);
	fwrite(bin, 1, len, f);
	fclose(f);
	free(bin);
	j = NULL;
	REQUIRE(plist_load_job(bpath, &j, err, sizeof(err)) == 0);
	check_full(j);
	job_free(j);
}

static void expect_error(const char *name, const char *body, const char *key)
{
	char err[512] = "";
	Job *j = NULL;
	const char *path = put(name, body);

	CHECK(plist_load_job(path, &j, err, sizeof(err)) < 0);
	CHECK(j == NULL);
	CHECK(strstr(err, name) != NULL);
	if (key && !strstr(err, key)) {
		fprintf(stderr, "error \"%s\" does not name %s\n", err, key);
		harness_failures++;
	}
}

static void test_bad_files(void)
{
	expect_error("nolabel.plist", HEAD "<key>Program</key><string>/bin/true</string>" TAIL, "Label");
	expect_error("noprog.plist", HEAD "<key>Label</key><string>x</string>" TAIL, "Program");
	expect_error("badtype.plist",
		     HEAD "<key>Label</key><string>x</string><key>Program</key><string>/bin/true</string>"
			  "<key>MachServices</key><string>oops</string>" TAIL,
		     "MachServices");
	expect_error("badka.plist",
		     HEAD "<key>Label</key><string>x</string><key>Program</key><string>/bin/true</string>"
			  "<key>KeepAlive</key><integer>1</integer>" TAIL,
		     "KeepAlive");
	expect_error("badthrottle.plist",
		     HEAD "<key>Label</key><string>x</string><key>Program</key><string>/bin/true</string>"
			  "<key>ThrottleInterval</key><string>10</string>" TAIL,
		     "ThrottleInterval");
	expect_error("notplist.plist", "this is not a property list", NULL);
	expect_error("array.plist", "<?xml version=\"1.0\"?><plist version=\"1.0\"><array/></plist>", NULL);
	expect_error("truncated.plist", HEAD "<key>Label</key><string>x", NULL);
	expect_error("empty.plist", "", NULL);
}

#define JOB HEAD "<key>Label</key><string>x</string><key>Program</key><string>/bin/true</string>"

/* The launchd keys of keys.c and its modules: values, warnings, errors. */
static void test_launchd_keys(void)
{
	static const char xml[] = JOB
		"<key>StartInterval</key><integer>300</integer>"
		"<key>StartCalendarInterval</key><array><dict><key>Hour</key><integer>3</integer></dict>"
		"<dict><key>Weekday</key><integer>7</integer></dict></array>"
		"<key>WatchPaths</key><array><string>/etc/passwd</string></array>"
		"<key>QueueDirectories</key><array><string>/var/spool/x</string></array>"
		"<key>Umask</key><integer>18</integer><key>Nice</key><integer>-5</integer>"
		"<key>LowPriorityIO</key><true/><key>AbandonProcessGroup</key><true/>"
		"<key>SoftResourceLimits</key><dict><key>NumberOfFiles</key><integer>100</integer></dict>"
		"<key>HardResourceLimits</key><dict><key>CPU</key><integer>60</integer><key>Bogus</key><integer>1</integer></dict>"
		"<key>KeepAlive</key><dict><key>PathState</key><dict><key>/tmp/f</key><false/></dict>"
		"<key>OtherJobEnabled</key><dict><key>y</key><true/></dict></dict>"
		"<key>Sockets</key><dict><key>L</key><array><dict><key>SockPathName</key><string>/tmp/s</string>"
		"<key>SockPathMode</key><integer>384</integer></dict><dict><key>SockServiceName</key><integer>8080</integer>"
		"<key>SockType</key><string>dgram</string></dict></array></dict>"
		"<key>inetdCompatibility</key><dict><key>Wait</key><true/></dict>"
		"<key>TimeOut</key><integer>30</integer><key>LaunchOnlyOnce</key><true/>"
		"<key>LaunchEvents</key><dict><key>com.apple.xpc.activity</key><dict><key>com.example.a</key>"
		"<dict><key>Interval</key><integer>60</integer></dict></dict></dict>"
		"<key>WaitForDebugger</key><true/><key>LimitLoadToHardware</key><dict/><key>Runatload</key><true/>" TAIL;
	PlistWarnings *w = calloc(1, sizeof(*w));
	char err[512] = "";
	Job *j = NULL;

	REQUIRE(w);
	REQUIRE(plist_load_job_warn(put("launchd.plist", xml), &j, w, err, sizeof(err)) == 0);
	CHECK_EQ_INT(j->start_interval, 300);
	CHECK_EQ_INT(j->n_calendar, 2);
	CHECK_EQ_INT(j->calendar[0].hour, 3);
	CHECK_EQ_INT(j->calendar[1].weekday, 0);
	CHECK_STREQ(j->watch.paths[0], "/etc/passwd");
	CHECK_STREQ(j->watch.queues[0], "/var/spool/x");
	CHECK(j->limits.has_umask && j->limits.umask == 022);
	CHECK(j->limits.has_nice && j->limits.nice == -5);
	CHECK(j->limits.low_priority_io);
	CHECK(j->abandon_process_group && j->launch_only_once);
	CHECK_EQ_INT(j->timeout, 30);
	CHECK_EQ_INT(j->n_keep_paths, 1);
	CHECK(!j->keep_paths[0].want);
	CHECK_STREQ(j->keep_jobs[0].name, "y");
	CHECK_EQ_INT(j->sockets.n_specs, 2);
	CHECK_STREQ(j->sockets.specs[1].name, "L");
	CHECK_EQ_INT(j->sockets.specs[0].path_mode, 0600);
	CHECK_STREQ(j->sockets.specs[1].service, "8080");
	CHECK_EQ_INT(j->inetd, INETD_WAIT);
	REQUIRE(j->launch_events);
	xpc_object_t stream = xpc_dictionary_get_value(j->launch_events, "com.apple.xpc.activity");
	CHECK(stream && xpc_dictionary_get_int64(xpc_dictionary_get_value(stream, "com.example.a"), "Interval") == 60);
	/* Bogus resource, LimitLoadToHardware, Runatload; WaitForDebugger is silent */
	CHECK_EQ_INT(w->n, 3);
	for (unsigned i = 0; i < w->n; i++)
		CHECK(!strstr(w->text[i], "WaitForDebugger"));
	job_free(j);
	free(w);

	expect_error("ival.plist", JOB "<key>StartInterval</key><string>5</string>" TAIL, "StartInterval");
	expect_error("umask.plist", JOB "<key>Umask</key><string>999</string>" TAIL, "Umask");
	expect_error("nice.plist", JOB "<key>Nice</key><integer>21</integer>" TAIL, "Nice");
	expect_error("watch.plist", JOB "<key>WatchPaths</key><array><string>rel</string></array>" TAIL, "WatchPaths");
	expect_error("sock.plist", JOB "<key>Sockets</key><dict><key>A</key><dict/></dict>" TAIL, "Sockets");
	expect_error("socktype.plist", JOB "<key>Sockets</key><dict><key>A</key><dict><key>SockType</key>"
					   "<string>raw</string></dict></dict>" TAIL, "SockType");
	expect_error("rlim.plist", JOB "<key>SoftResourceLimits</key><dict><key>Core</key><string>0</string></dict>" TAIL,
		     "SoftResourceLimits.Core");
	expect_error("path.plist", JOB "<key>KeepAlive</key><dict><key>PathState</key><dict><key>rel</key><true/>"
				       "</dict></dict>" TAIL, "KeepAlive.PathState");
}

int main(void)
{
	char cmd[128];

	harness_begin(30);
	snprintf(dir, sizeof(dir), "/tmp/xpc-plist-test.XXXXXX");
	REQUIRE(mkdtemp(dir));
	test_xml_and_binary();
	test_bad_files();
	test_launchd_keys();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		harness_failures++;
	return harness_end();
}
