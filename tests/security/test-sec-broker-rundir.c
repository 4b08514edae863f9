/* SPDX-License-Identifier: MIT */
/*
 * test-sec-broker-rundir - the broker's socket, lock and state file, and
 * who can reach or replace them (docs/security.md, "The broker": socket
 * directory, socket mode, one broker per socket).
 *
 *   state-owner       SOCKET.state belongs to nobody and names a root
 *                     process (its own process group) as job sec.echo's
 *                     instance; nobody then checks in to sec.echo, which
 *                     would make the broker replace ("adopted") that
 *                     process: it must still run (the file is ignored)
 *   tmp-symlink       the socket directory is writable by nobody's group;
 *                     nobody plants SOCKET.state.tmp -> a root file: the
 *                     broker refuses the directory (exit 1, a message
 *                     naming owner and mode), the root file is intact
 *   user-dir          $XDG_RUNTIME_DIR is shared (1777) and nobody made
 *                     xpcd/ in it first: daemon's `xpcd --user` refuses it
 *   second-broker     a second `xpcd --user` of daemon on the same socket
 *                     exits 1 ("already serves"); the first keeps its
 *                     socket, and removes it when it exits
 *   foreign-socket    the socket file is replaced by another one: the
 *                     exiting broker leaves that one in place
 *   socket-mode       under umask 022 the system broker's socket is 0666
 *                     (nobody is served); under umask 002 a private one
 *                     is 0600 (a member of its group cannot connect)
 *   user-unreachable  daemon's `xpcd --user` (umask 0): nobody cannot
 *                     connect to it
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "broker-common.h"
#include "sec-broker-common.h"

#define NAME "org.xpc.sec.echo"

static struct harness_user nobody, daemon_user;

static void echo_job(void)
{
	char xml[1024];

	snprintf(xml, sizeof(xml),
		 "<key>Label</key><string>sec.echo</string>\n"
		 "<key>ProgramArguments</key><array><string>%s</string><string>%s</string></array>\n"
		 "<key>MachServices</key><dict><key>%s</key><true/></dict>\n"
		 "<key>ExitTimeOut</key><integer>1</integer>\n",
		 getenv("ECHO_SERVICE"), NAME, NAME);
	broker_write_job_file("echo.plist", xml);
}

static char *path_in(const char *name)
{
	static char path[4][512];
	static int i;

	i = (i + 1) % 4;
	snprintf(path[i], sizeof(path[i]), "%s/%s", broker_dir, name);
	return path[i];
}

/* Runs @argv as @u to its end; true if it exited 0. */
static bool run_as(struct harness_user u, char *const argv[])
{
	int status;
	char *out = sec_broker_run_as(u, argv, 10, &status);

	free(out);
	return status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void scenario_state_owner(void)
{
	char line[256];
	FILE *f;
	pid_t victim = fork();

	REQUIRE(victim >= 0);
	if (victim == 0) {
		setsid(); /* leads its own group, as a job does */
		execl("/bin/sleep", "sleep", "60", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100 && !harness_proc_start_time(victim); i++)
		usleep(10000);
	usleep(50 * 1000);
	echo_job();
	snprintf(line, sizeof(line), "%s.state", broker_sock);
	f = fopen(line, "we");
	REQUIRE(f);
	fprintf(f, "%d %llu sec.echo\n", (int)victim, harness_proc_start_time(victim));
	fclose(f);
	REQUIRE(chown(line, nobody.uid, nobody.gid) == 0); /* nobody's file */
	sec_broker_start_broker(NULL, 0);

	char *argv[] = {(char *)sec_broker_attacker(), "send", broker_sock, NAME, NULL};
	int status;
	char *out = sec_broker_run_as(nobody, argv, 15, &status);
	fprintf(stderr, "nobody's check-in: %s", out);
	free(out);
	usleep(500 * 1000);
	CHECK(harness_proc_alive(victim)); /* not sent SIGTERM as an "adopted" job */
	CHECK(!broker_log_has("adopted pid"));
	CHECK(broker_log_has("ignored, no job adopted"));
	kill(victim, SIGKILL);
	harness_wait_pid(victim, 5);
}

/* Spawns a broker that should refuse to start: its exit status (-1 if it
 * still ran after 5 s). */
static int refused_broker(const char *const *extra)
{
	broker_spawn(extra, 0);
	int status = harness_wait_pid(broker_pid, 5);
	broker_pid = 0;
	return status;
}

static void scenario_tmp_symlink(void)
{
	char *ln[] = {"/bin/ln", "-s", path_in("victim"), path_in("xpcd.sock.state.tmp"), NULL};
	FILE *f = fopen(path_in("victim"), "we");

	REQUIRE(f);
	fputs("precious\n", f);
	fclose(f);
	REQUIRE(chown(broker_dir, 0, nobody.gid) == 0 && chmod(broker_dir, 0775) == 0);
	REQUIRE(run_as(nobody, ln));
	echo_job();
	const char *opts[] = {"--system", NULL};
	int status = refused_broker(opts);
	CHECK(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 1);
	CHECK(broker_log_has("refused"));
	char *text = broker_read_file("victim");
	CHECK_STREQ(text, "precious\n");
	free(text);
	REQUIRE(chmod(broker_dir, 0755) == 0);
}

/* `xpcd --user` as @u with XDG_RUNTIME_DIR=@rt and its output captured. */
static SecBrokerChild user_broker(struct harness_user u, const char *rt, mode_t mask)
{
	char *argv[] = {"/bin/sh", "-c", "exec \"$XPCD\" --user 2>&1", NULL};
	mode_t old = umask(mask);
	SecBrokerChild ch;

	setenv("XDG_RUNTIME_DIR", rt, 1);
	setenv("HOME", path_in("home"), 1);
	ch = sec_broker_spawn_as(u, argv);
	umask(old);
	return ch;
}

/* The child's exit status within @seconds, -1 if it still ran (killed). */
static int exit_status(SecBrokerChild *ch, unsigned seconds)
{
	int status = harness_wait_pid(ch->pid, seconds);

	ch->pid = -1;
	return status;
}

static void scenario_user_dir(void)
{
	char *rt = path_in("rt"), line[512];
	char *mk[] = {"/bin/mkdir", "-m", "0777", path_in("rt/xpcd"), NULL};

	REQUIRE(mkdir(rt, 0777) == 0 && chmod(rt, 01777) == 0);
	REQUIRE(run_as(nobody, mk));
	SecBrokerChild b = user_broker(daemon_user, rt, 022);
	int status = exit_status(&b, 5);
	sec_broker_read_line(&b, line, sizeof(line), 1);
	fprintf(stderr, "daemon's xpcd --user: %s\n", line);
	CHECK(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 1);
	CHECK(strstr(line, "owned by uid") != NULL);
	CHECK(access(path_in("rt/xpcd/user.sock"), F_OK) != 0);
	sec_broker_kill(&b);
}

static void scenario_second_broker(void)
{
	char *rt = path_in("rt"), *sock = path_in("rt/xpcd/user.sock"), line[512];
	struct stat before, after;

	REQUIRE(mkdir(rt, 0700) == 0 && chown(rt, daemon_user.uid, daemon_user.gid) == 0);
	SecBrokerChild first = user_broker(daemon_user, rt, 022);
	REQUIRE(broker_wait_socket(sock, 5000));
	REQUIRE(stat(sock, &before) == 0);
	SecBrokerChild second = user_broker(daemon_user, rt, 022);
	int status = exit_status(&second, 5);
	sec_broker_read_line(&second, line, sizeof(line), 1);
	fprintf(stderr, "second xpcd --user: %s\n", line);
	CHECK(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 1);
	CHECK(strstr(line, "already serves") != NULL);
	CHECK(stat(sock, &after) == 0 && after.st_ino == before.st_ino);
	CHECK(broker_wait_socket(sock, 1000));
	sec_broker_kill(&second);
	kill(first.pid, SIGTERM);
	CHECK(exit_status(&first, 5) >= 0);
	CHECK(access(sock, F_OK) != 0); /* its own socket: removed */
	sec_broker_kill(&first);
}

static void scenario_foreign_socket(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	broker_start(NULL, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path_in("other.sock"));
	REQUIRE(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(fd, 4) == 0);
	REQUIRE(rename(path_in("other.sock"), broker_sock) == 0);
	kill(broker_pid, SIGTERM);
	CHECK(harness_wait_pid(broker_pid, 5) >= 0);
	broker_pid = 0;
	CHECK(access(broker_sock, F_OK) == 0); /* not this broker's socket: left */
	CHECK(broker_wait_socket(broker_sock, 500));
	close(fd);
}

static void scenario_socket_mode(void)
{
	const char *sys[] = {"--system", NULL};
	struct stat st;
	struct harness_user member = nobody;
	mode_t old = umask(022);

	broker_start(sys, 0);
	umask(old);
	CHECK(stat(broker_sock, &st) == 0 && (st.st_mode & 0777) == 0666);
	char *out = sec_broker_request_as(nobody, "list", NULL, NULL);
	CHECK(!strncmp(out, "ok", 2));
	if (strncmp(out, "ok", 2))
		fprintf(stderr, "nobody's list on the system broker: %s\n", out);
	free(out);
	broker_stop();

	old = umask(002);
	broker_start(NULL, 0); /* private */
	umask(old);
	CHECK(stat(broker_sock, &st) == 0 && (st.st_mode & 0777) == 0600);
	member.gid = st.st_gid; /* nobody, in the socket's group */
	char *argv[] = {(char *)sec_broker_attacker(), "connect", broker_sock, NULL};
	int status;
	out = sec_broker_run_as(member, argv, 10, &status);
	fprintf(stderr, "a member of the private broker's group: %s", out);
	CHECK(strstr(out, "Permission denied") != NULL);
	free(out);
}

static void scenario_user_unreachable(void)
{
	char *rt = path_in("rt"), *sock = path_in("rt/xpcd/user.sock");

	REQUIRE(mkdir(rt, 0755) == 0 && chown(rt, daemon_user.uid, daemon_user.gid) == 0);
	SecBrokerChild b = user_broker(daemon_user, rt, 0);
	REQUIRE(broker_wait_socket(sock, 5000));
	char *argv[] = {(char *)sec_broker_attacker(), "connect", sock, NULL};
	int status;
	char *out = sec_broker_run_as(nobody, argv, 10, &status);
	CHECK(strstr(out, "Permission denied") != NULL);
	free(out);
	sec_broker_kill(&b);
}

int main(int argc, char **argv)
{
	static const BrokerScenario scenarios[] = {
		{"state-owner", scenario_state_owner},       {"tmp-symlink", scenario_tmp_symlink},
		{"user-dir", scenario_user_dir},             {"second-broker", scenario_second_broker},
		{"foreign-socket", scenario_foreign_socket}, {"socket-mode", scenario_socket_mode},
		{"user-unreachable", scenario_user_unreachable}, {NULL, NULL},
	};

	REQUIRE(argc == 2);
	nobody = harness_unprivileged_user(0);
	daemon_user = harness_unprivileged_user(1);
	return sec_broker_run_scenario(argv[1], scenarios, 60, NULL);
}
