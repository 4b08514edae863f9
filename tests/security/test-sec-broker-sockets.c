/* SPDX-License-Identifier: MIT */
/*
 * test-sec-broker-sockets - the Sockets key's paths, which the ROOT broker
 * makes for a job, in a directory a user owns (docs/security.md, "Paths
 * the broker makes for a job").
 *
 * The setting: a job that runs as nobody keeps its Unix socket in
 * HOME/run/, a directory of nobody's (HOME = the test's directory/home,
 * nobody's too).  Beside it, VICTIM/ (root's, 0755) holds a socket of
 * root's, "s.sock", listening.
 *
 *   symlink-dir  before the broker starts, nobody makes HOME/run a link
 *                to VICTIM: the broker must neither replace root's socket
 *                (bind, SockPathMode 0666, SockPathOwner nobody) nor
 *                connect to it for a SockPassive false socket; before the
 *                fix it removed root's socket and bound its own, world
 *                writable and nobody's, in VICTIM, and connected to root's
 *                listener as root on nobody's job's behalf
 *   swap-unload  the broker made HOME/run/s.sock; nobody renames
 *                HOME/run away and puts a link to VICTIM in its place,
 *                then root unloads the job: root's VICTIM/s.sock must
 *                stay (before the fix the unload removed it)
 *   root-link    what must keep working: a socket reached through a
 *                link root made, and its SockPathMode (0666 here)
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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

static struct harness_user nobody;
static const struct harness_user root_user = {0, 0, "root"};
static char home[300], victim[300], victim_sock[340];
static int victim_fd = -1;

/* HOME (nobody's, with run/ inside) and VICTIM (root's) holding a
 * listening socket s.sock. */
static void make_dirs(void)
{
	char run[340];
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	snprintf(home, sizeof(home), "%s/home", broker_dir);
	snprintf(run, sizeof(run), "%s/run", home);
	snprintf(victim, sizeof(victim), "%s/victim", broker_dir);
	snprintf(victim_sock, sizeof(victim_sock), "%s/s.sock", victim);
	REQUIRE(mkdir(home, 0755) == 0 && chown(home, nobody.uid, nobody.gid) == 0);
	REQUIRE(mkdir(run, 0755) == 0 && chown(run, nobody.uid, nobody.gid) == 0);
	REQUIRE(mkdir(victim, 0755) == 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", victim_sock);
	victim_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	REQUIRE(victim_fd >= 0);
	REQUIRE(bind(victim_fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	REQUIRE(chmod(victim_sock, 0600) == 0);
	REQUIRE(listen(victim_fd, 8) == 0);
}

static ino_t inode_of(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 ? st.st_ino : 0;
}

/* Runs @cmd (sh -c) as nobody; its exit status. */
static int as_nobody(const char *cmd)
{
	pid_t pid = fork();
	int status = -1;

	REQUIRE(pid >= 0);
	if (pid == 0) {
		harness_become(nobody);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	REQUIRE(waitpid(pid, &status, 0) == pid);
	return status;
}

/* A job of nobody's with one passive socket at @path (mode 0666, owner
 * nobody) and, when @connect_path, one that connects there (first, so that
 * it meets root's socket, not the broker's). */
static void socket_job(const char *file, const char *label, const char *path, const char *connect_path)
{
	char xml[2048], conn[600] = "";

	if (connect_path)
		snprintf(conn, sizeof(conn),
			 "<key>C</key><dict><key>SockPassive</key><false/><key>SockPathName</key><string>%s</string></dict>",
			 connect_path);
	snprintf(xml, sizeof(xml),
		 "<key>Label</key><string>%s</string>\n"
		 "<key>ProgramArguments</key><array><string>/bin/true</string></array>\n"
		 "<key>UserName</key><string>%s</string>\n"
		 "<key>Sockets</key><dict>%s<key>L</key><dict><key>SockPathName</key><string>%s</string>"
		 "<key>SockPathMode</key><integer>438</integer><key>SockPathOwner</key><integer>%u</integer></dict></dict>\n",
		 label, nobody.name, conn, path, (unsigned)nobody.uid);
	broker_write_job_file(file, xml);
}

/* Whether root's listener has a connection waiting. */
static bool victim_connected(void)
{
	struct pollfd p = {victim_fd, POLLIN, 0};

	return poll(&p, 1, 0) == 1;
}

/* The broker has loaded its jobs once it answers a request. */
static void wait_loaded(void)
{
	char *out = sec_broker_request_as(root_user, "list", NULL, NULL);

	CHECK(!strncmp(out, "ok", 2));
	free(out);
}

static void scenario_symlink_dir(void)
{
	char cmd[800], path[400];
	struct stat st;
	ino_t ino;

	make_dirs();
	ino = inode_of(victim_sock);
	snprintf(cmd, sizeof(cmd), "rmdir %s/run && ln -s %s %s/run", home, victim, home);
	REQUIRE(as_nobody(cmd) == 0);
	snprintf(path, sizeof(path), "%s/run/s.sock", home);
	socket_job("sock.plist", "sec.sock", path, path);
	sec_broker_start_broker(NULL, 0);
	wait_loaded();
	CHECK(lstat(victim_sock, &st) == 0);
	fprintf(stderr, "root's socket: inode %s, mode %04o, owner %u; connected to: %s\n",
		st.st_ino == ino ? "kept" : "REPLACED", (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid,
		victim_connected() ? "YES" : "no");
	CHECK(st.st_ino == ino);
	CHECK(st.st_uid == 0 && (st.st_mode & 07777) == 0600);
	CHECK(!victim_connected());
	CHECK(broker_log_has("open the directory of")); /* refused, and said so */
}

static void scenario_swap_unload(void)
{
	char cmd[1200], path[400];
	struct stat st;
	ino_t ino;

	make_dirs();
	ino = inode_of(victim_sock);
	snprintf(path, sizeof(path), "%s/run/s.sock", home);
	socket_job("sock.plist", "sec.sock", path, NULL);
	sec_broker_start_broker(NULL, 0);
	wait_loaded();
	CHECK(lstat(path, &st) == 0 && S_ISSOCK(st.st_mode));
	snprintf(cmd, sizeof(cmd), "mv %s/run %s/run.old && ln -s %s %s/run", home, home, victim, home);
	REQUIRE(as_nobody(cmd) == 0);
	char *out = sec_broker_request_as(root_user, "unload", "label=sec.sock", NULL);
	CHECK(!strncmp(out, "ok", 2));
	free(out);
	usleep(300 * 1000);
	fprintf(stderr, "root's socket after the unload: %s\n",
		inode_of(victim_sock) == ino ? "kept" : "REMOVED");
	CHECK(inode_of(victim_sock) == ino);
}

static void scenario_root_link(void)
{
	char link[400], path[400];
	struct stat st;

	make_dirs();
	snprintf(link, sizeof(link), "%s/rootlink", broker_dir);
	REQUIRE(symlink("home/run", link) == 0);
	snprintf(path, sizeof(path), "%s/s.sock", link);
	socket_job("sock.plist", "sec.sock", path, NULL);
	sec_broker_start_broker(NULL, 0);
	wait_loaded();
	snprintf(path, sizeof(path), "%s/run/s.sock", home);
	CHECK(lstat(path, &st) == 0 && S_ISSOCK(st.st_mode));
	CHECK((st.st_mode & 07777) == 0666 && st.st_uid == nobody.uid);
	char *out = sec_broker_request_as(root_user, "unload", "label=sec.sock", NULL);
	CHECK(!strncmp(out, "ok", 2));
	free(out);
	for (int i = 0; i < 50 && lstat(path, &st) == 0; i++)
		usleep(100 * 1000);
	CHECK(lstat(path, &st) < 0 && errno == ENOENT); /* its own file is removed at unload */
}

/* After each scenario: root's socket of the victim directory, if open. */
static void close_victim(void)
{
	if (victim_fd >= 0)
		close(victim_fd);
}

int main(int argc, char **argv)
{
	static const BrokerScenario scenarios[] = {
		{"symlink-dir", scenario_symlink_dir},
		{"swap-unload", scenario_swap_unload},
		{"root-link", scenario_root_link},
		{NULL, NULL},
	};

	REQUIRE(argc == 2);
	nobody = harness_unprivileged_user(0);
	return sec_broker_run_scenario(argv[1], scenarios, 60, close_victim);
}
