/* SPDX-License-Identifier: MIT */
/*
 * test-keys - the launchd.plist(5) keys that gate a job or shape its
 * identity, as man/xpcd.plist.5 describes them, with real jobs against a
 * private xpcd (broker-common.c).
 *
 *   test-keys SCENARIO
 *
 * Scenarios: disabled (Disabled true: loaded, its name looked up is
 * answered "disabled", a message does not start it; xpcctl enable: looked
 * up and started by a message), ondemand (OnDemand false: started at load
 * and again after each exit, as KeepAlive true; OnDemand true: not),
 * groupname (GroupName alone: the job's gid and only group, uid root),
 * initgroups (UserName nobody with InitGroups true, false and absent: the
 * supplementary group nobody is given in a private /etc/group is held or
 * not), rootdirectory (RootDirectory: the job's program exists only in a
 * prepared tree, and what it writes to / lands in the tree).  All but the
 * first two need root (exit 77 otherwise).  Jobs are /bin/sh scripts that
 * write their /proc/self/status ids, or a line per run, to a file.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "broker-common.h"
#include "harness.h"

#define KEYS_NAME "org.xpc.test.keys"

/* ---- helpers ---------------------------------------------------------------- */

static void skip_unless_root(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "not root: skipped\n");
		broker_teardown();
		exit(77);
	}
}

/* The ids line @key ("Gid:", "Groups:") of a /proc/PID/status text: its
 * first number in *@first, whether @gid is among them. */
static bool status_has(const char *status, const char *key, long id, long *first)
{
	const char *p = strstr(status, key);
	char *end;
	bool has = false;

	*first = -1;
	if (!p)
		return false;
	for (p += strlen(key); *p && *p != '\n'; p = end) {
		long v = strtol(p, &end, 10);
		if (end == p)
			break;
		if (*first < 0)
			*first = v;
		has |= v == id;
	}
	return has;
}

/* A gid no group has. */
static gid_t free_gid(void)
{
	gid_t g = 4242;

	while (getgrgid(g))
		g++;
	return g;
}

/* A mount namespace of its own (the broker, forked later, shares it) where
 * /etc/group also has "xpckeys" (returned gid), with nobody a member. */
static gid_t private_group(void)
{
	char copy[512], cmd[1200];
	gid_t g = free_gid();

	snprintf(copy, sizeof(copy), "%s/group", broker_dir);
	snprintf(cmd, sizeof(cmd), "cp /etc/group %s && echo 'xpckeys:x:%u:nobody' >> %s", copy, (unsigned)g, copy);
	REQUIRE(system(cmd) == 0);
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount(copy, "/etc/group", NULL, MS_BIND, NULL) < 0) {
		fprintf(stderr, "private /etc/group: %s: skipped\n", strerror(errno));
		broker_teardown();
		exit(77);
	}
	REQUIRE(getgrgid(g) && getgrnam("xpckeys"));
	return g;
}

/* broker_dir/out, where a job of nobody may write. */
static void out_dir(void)
{
	char p[512];

	chmod(broker_dir, 0755);
	snprintf(p, sizeof(p), "%s/out", broker_dir);
	REQUIRE(mkdir(p, 0777) == 0 && chmod(p, 0777) == 0);
}

/* ---- Disabled --------------------------------------------------------------- */

static void scenario_disabled(void)
{
	const char *lookup[] = {"xpcctl", "lookup", KEYS_NAME, NULL};
	const char *send[] = {"xpcctl", "send", "--no-reply", KEYS_NAME, "{}", NULL};
	const char *enable[] = {"xpcctl", "enable", "dis", NULL};
	char out[1024];

	broker_sh_job("dis", "<key>Disabled</key><true/><key>ThrottleInterval</key><integer>0</integer>"
			     "<key>MachServices</key><dict><key>" KEYS_NAME "</key><true/></dict>",
		      "echo run >> %s/dis.out; sleep 1", broker_dir);
	broker_start(NULL, 0);
	CHECK(broker_log_has("dis: loaded"));
	/* loaded, but its name is not served and a message does not start it */
	CHECK_EQ_INT(broker_run_xpcctl(out, sizeof(out), lookup), 1);
	CHECK(strstr(out, "disabled") != NULL);
	broker_run_xpcctl(out, sizeof(out), send); /* --no-reply: sent, never delivered */
	usleep(1000000);
	CHECK_EQ_INT(broker_count_lines("dis.out"), 0);
	/* enabled: served, and started on demand */
	CHECK_EQ_INT(broker_run_xpcctl(out, sizeof(out), enable), 0);
	CHECK_EQ_INT(broker_run_xpcctl(out, sizeof(out), lookup), 0);
	CHECK(strstr(out, "endpoint received") != NULL);
	CHECK_EQ_INT(broker_run_xpcctl(out, sizeof(out), send), 0);
	CHECK(broker_wait_lines("dis.out", 1, 5000));
}

/* ---- OnDemand --------------------------------------------------------------- */

static void scenario_ondemand(void)
{
	broker_sh_job("od-false", "<key>OnDemand</key><false/><key>ThrottleInterval</key><integer>0</integer>",
		      "echo run >> %s/od-false.out; sleep 0.2", broker_dir);
	broker_sh_job("od-true", "<key>OnDemand</key><true/><key>ThrottleInterval</key><integer>0</integer>",
		      "echo run >> %s/od-true.out", broker_dir);
	broker_start(NULL, 0);
	/* false: at load, and relaunched after it exits (KeepAlive true) */
	CHECK(broker_wait_lines("od-false.out", 3, 8000));
	/* true: on demand only, and nothing demands it */
	CHECK_EQ_INT(broker_count_lines("od-true.out"), 0);
}

/* ---- GroupName, InitGroups (root) --------------------------------------------- */

/* A job of @keys that writes its ids (/proc/self/status) to out/@label. */
static void ids_job(const char *label, const char *keys)
{
	broker_sh_job(label, keys, "grep -E '^(Uid|Gid|Groups):' /proc/self/status > %s/out/%s.tmp && mv %s/out/%s.tmp %s/out/%s",
		      broker_dir, label, broker_dir, label, broker_dir, label);
}

/* The ids job @label wrote (waits for it), malloc'd. */
static char *job_ids(const char *label)
{
	char file[300];

	snprintf(file, sizeof(file), "out/%s", label);
	CHECK(broker_wait_lines(file, 3, 5000));
	return broker_read_file(file);
}

static void scenario_groupname(void)
{
	char keys[300], *st;
	long first;
	gid_t g;

	skip_unless_root();
	g = private_group();
	out_dir();
	snprintf(keys, sizeof(keys), "<key>GroupName</key><string>xpckeys</string><key>RunAtLoad</key><true/>");
	ids_job("group", keys);
	broker_start(NULL, 0);
	st = job_ids("group");
	/* uid stays root; real, effective, saved and fs gid are the group's, and
	 * it is the only group (the broker's root group is dropped) */
	CHECK(status_has(st, "Uid:", 0, &first) && first == 0);
	CHECK(status_has(st, "Gid:", g, &first) && first == (long)g);
	CHECK(!status_has(st, "Gid:", 0, &first));
	CHECK(status_has(st, "Groups:", g, &first) && first == (long)g);
	CHECK(!status_has(st, "Groups:", 0, &first));
	free(st);
}

static void scenario_initgroups(void)
{
	struct passwd *pw = getpwnam("nobody");
	char *st;
	long first;
	gid_t g;

	skip_unless_root();
	REQUIRE(pw);
	g = private_group();
	out_dir();
	ids_job("ig-true", "<key>UserName</key><string>nobody</string><key>InitGroups</key><true/>"
			   "<key>RunAtLoad</key><true/>");
	ids_job("ig-false", "<key>UserName</key><string>nobody</string><key>InitGroups</key><false/>"
			    "<key>RunAtLoad</key><true/>");
	ids_job("ig-default", "<key>UserName</key><string>nobody</string><key>RunAtLoad</key><true/>");
	broker_start(NULL, 0);
	/* true, and the default: nobody's primary group and xpckeys */
	st = job_ids("ig-true");
	CHECK(status_has(st, "Uid:", pw->pw_uid, &first) && first == (long)pw->pw_uid);
	CHECK(status_has(st, "Groups:", pw->pw_gid, &first));
	CHECK(status_has(st, "Groups:", g, &first));
	free(st);
	st = job_ids("ig-default");
	CHECK(status_has(st, "Groups:", pw->pw_gid, &first));
	CHECK(status_has(st, "Groups:", g, &first));
	free(st);
	/* false: the primary group only */
	st = job_ids("ig-false");
	CHECK(status_has(st, "Uid:", pw->pw_uid, &first) && first == (long)pw->pw_uid);
	CHECK(status_has(st, "Groups:", pw->pw_gid, &first));
	CHECK(!status_has(st, "Groups:", g, &first));
	free(st);
}

/* ---- RootDirectory (root) ------------------------------------------------------ */

/* broker_dir/root: /bin/sh as /xpckeys-sh, and the libraries it needs
 * (ldd) at their paths; nothing else. */
static void prepare_root(void)
{
	char cmd[1200];

	snprintf(cmd, sizeof(cmd),
		 "set -e; r=%s/root; mkdir -p $r; cp -L /bin/sh $r/xpckeys-sh; "
		 "for f in $(ldd /bin/sh | grep -o '/[^ ]*'); do cp -L --parents $f $r; done",
		 broker_dir);
	REQUIRE(system(cmd) == 0);
}

static void scenario_rootdirectory(void)
{
	char xml[1200], root[400];
	struct stat st;

	skip_unless_root();
	prepare_root();
	snprintf(root, sizeof(root), "%s/root", broker_dir);
	REQUIRE(stat("/xpckeys-sh", &st) < 0 && errno == ENOENT);
	/* the program is found only inside; "/" is the tree */
	snprintf(xml, sizeof(xml),
		 "<key>Label</key><string>chroot</string>\n"
		 "<key>ProgramArguments</key><array><string>/xpckeys-sh</string><string>-c</string>"
		 "<string>cd / &amp;&amp; echo \"$PWD\" &gt; /seen</string></array>\n"
		 "<key>RootDirectory</key><string>%s</string><key>RunAtLoad</key><true/>", root);
	broker_write_job_file("chroot.plist", xml);
	broker_start(NULL, 0);
	CHECK(broker_wait_lines("root/seen", 1, 5000));
	char *seen = broker_read_file("root/seen");
	CHECK_STREQ(seen, "/\n");
	free(seen);
	CHECK(!broker_log_has("chroot: RootDirectory"));
}

int main(int argc, char **argv)
{
	static const BrokerScenario scenarios[] = {
		{"disabled", scenario_disabled},     {"ondemand", scenario_ondemand},
		{"groupname", scenario_groupname},   {"initgroups", scenario_initgroups},
		{"rootdirectory", scenario_rootdirectory}, {NULL, NULL},
	};

	REQUIRE(argc == 2 && getenv("XPCD") && getenv("XPCCTL"));
	return broker_run_scenario(argv[1], scenarios, 60);
}
