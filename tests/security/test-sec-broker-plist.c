/* SPDX-License-Identifier: MIT */
/*
 * test-sec-broker-plist - a root broker does what a job file says, as
 * root: so it reads only job files root (or xpcd's user) owns and no one
 * else may write (docs/security.md, "Job files").
 *
 *   foreign-file  the jobs directory holds a file nobody owns and a root
 *                 file of mode 0666, both running `id -u` as root at load,
 *                 beside a proper one; then root loads (xpcctl load) a job
 *                 file nobody wrote in its own directory, and a FIFO nobody
 *                 made there.  Before: both foreign jobs ran as root (uid 0
 *                 in their output), nobody's file was loaded, and the FIFO
 *                 held xpcd's main queue in open(2) (no request answered).
 *                 Now each is refused, naming the owner or the mode or
 *                 "not a regular file", and only the proper job runs.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker-common.h"
#include "sec-broker-common.h"

static struct harness_user nobody;

static void root_job(const char *file, const char *label)
{
	char xml[1024];

	snprintf(xml, sizeof(xml),
		 "<key>Label</key><string>%s</string>\n"
		 "<key>ProgramArguments</key><array><string>/bin/sh</string><string>-c</string>"
		 "<string>id -u &gt;%s/out/%s</string></array>\n"
		 "<key>RunAtLoad</key><true/>\n", label, broker_dir, label);
	broker_write_job_file(file, xml);
}

static void job_path(char *buf, size_t size, const char *file)
{
	snprintf(buf, size, "%s/jobs/%s", broker_dir, file);
}

/* nobody writes its own job file and a FIFO in its directory. */
static void nobody_writes(void)
{
	char path[512], xml[1024];
	pid_t pid = fork();

	REQUIRE(pid >= 0);
	if (pid == 0) {
		harness_become(nobody);
		snprintf(path, sizeof(path), "%s/home/mine.plist", broker_dir);
		FILE *f = fopen(path, "we");
		if (!f)
			_exit(1);
		snprintf(xml, sizeof(xml),
			 "<?xml version=\"1.0\"?><plist version=\"1.0\"><dict>"
			 "<key>Label</key><string>sec.nobodys</string>"
			 "<key>ProgramArguments</key><array><string>/bin/sh</string><string>-c</string>"
			 "<string>id -u &gt;%s/out/sec.nobodys</string></array>"
			 "<key>RunAtLoad</key><true/></dict></plist>\n", broker_dir);
		fputs(xml, f);
		fclose(f);
		snprintf(path, sizeof(path), "%s/home/fifo.plist", broker_dir);
		_exit(mkfifo(path, 0644) == 0 ? 0 : 2);
	}
	CHECK(harness_wait_pid(pid, 10) == 0);
}

static void scenario_foreign_file(void)
{
	char path[512], arg[600], *r;

	snprintf(path, sizeof(path), "%s/out", broker_dir);
	REQUIRE(mkdir(path, 0755) == 0);
	snprintf(path, sizeof(path), "%s/home", broker_dir);
	REQUIRE(mkdir(path, 0755) == 0 && chown(path, nobody.uid, nobody.gid) == 0);
	root_job("other.plist", "sec.other");
	job_path(path, sizeof(path), "other.plist");
	REQUIRE(chown(path, nobody.uid, nobody.gid) == 0);
	root_job("mode.plist", "sec.mode");
	job_path(path, sizeof(path), "mode.plist");
	REQUIRE(chmod(path, 0666) == 0);
	root_job("good.plist", "sec.good");
	nobody_writes();

	sec_broker_start_broker(NULL, 0);
	for (int i = 0; i < 500; i++) {
		char *t = broker_read_file("out/sec.good");
		bool ran = t[0] != 0;
		free(t);
		if (ran)
			break;
		usleep(10000);
	}
	snprintf(arg, sizeof(arg), "path=%s/home/mine.plist", broker_dir);
	r = sec_broker_request_as((struct harness_user){0, 0, "root"}, "load", arg, NULL);
	fprintf(stderr, "root loads nobody's file: %.200s\n", r);
	CHECK(!strncmp(r, "error", 5) && strstr(r, "owned by uid"));
	free(r);
	snprintf(arg, sizeof(arg), "path=%s/home/fifo.plist", broker_dir);
	r = sec_broker_request_as((struct harness_user){0, 0, "root"}, "load", arg, NULL);
	fprintf(stderr, "root loads nobody's FIFO: %.200s\n", r);
	CHECK(!strncmp(r, "error", 5) && strstr(r, "not a regular file"));
	free(r);
	usleep(300 * 1000);

	char *good = broker_read_file("out/sec.good"), *other = broker_read_file("out/sec.other"),
	     *mode = broker_read_file("out/sec.mode"), *mine = broker_read_file("out/sec.nobodys");
	fprintf(stderr, "ran as: good \"%s\", nobody's file \"%s\", mode 0666 \"%s\", loaded from nobody's dir \"%s\"\n",
		good, other, mode, mine);
	CHECK(!strcmp(good, "0\n"));
	CHECK(!*other && !*mode && !*mine);
	free(good);
	free(other);
	free(mode);
	free(mine);
	CHECK(broker_log_has("other.plist: refused: owned by uid"));
	CHECK(broker_log_has("mode.plist: refused: writable by its group or by others (mode 0666)"));
}

int main(int argc, char **argv)
{
	static const BrokerScenario scenarios[] = {
		{"foreign-file", scenario_foreign_file},
		{NULL, NULL},
	};

	REQUIRE(argc == 2);
	nobody = harness_unprivileged_user(0);
	return sec_broker_run_scenario(argv[1], scenarios, 60, NULL);
}
