/* SPDX-License-Identifier: MIT */
/*
 * test-launchd - the launchd.plist(5) keys that start and shape a job, with
 * real jobs against a private xpcd (broker-common.c).
 *
 *   test-launchd SCENARIO
 *   test-launchd --socket-job OUTFILE   (the job of the sockets scenario)
 *   test-launchd --serve-job            (the job of sockets-restart)
 *   test-launchd --txn-job OUTFILE OPEN (the job of transactions)
 *   test-launchd --dgram-job OUTFILE    (the job of multicast)
 *   test-launchd --secure-job KEY       (the job of secure-socket)
 *
 * Scenarios: interval (StartInterval), calendar (StartCalendarInterval on
 * the test clock: xpcd --test-clock, every field, Weekday 7, an array),
 * watch (WatchPaths), queue (QueueDirectories), mount (StartOnMount,
 * root only), sockets (Sockets with a
 * Unix and a TCP listener, launch_activate_socket and its errors, the job
 * started by the first connection and again after it exits),
 * sockets-restart (a broker restart with an adopted instance),
 * transactions (EnableTransactions: how a job is stopped), inetd
 * (inetdCompatibility without Wait), keepalive (SuccessfulExit, Crashed,
 * PathState, LaunchOnlyOnce), limits (Umask as a string and an integer,
 * Nice, LowPriorityIO, resource limits, TimeOut, EnableGlobbing, seen by the job in
 * /proc/self), abandon (AbandonProcessGroup), multicast (Sockets'
 * MulticastGroup: the group joined, seen in /proc/net/igmp, a datagram
 * sent to it starts the job, left at unload), secure-socket (Sockets'
 * SecureSocketWithKey: a fresh 0700 directory in /tmp, the path in the
 * job's environment, owned by the job's user; nobody cannot connect to
 * root's; removed at unload).  Jobs are /bin/sh scripts
 * that append a line to a file per run; the test counts the lines.
 */
#include <errno.h>
#include <launch.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>
#include <xpc/xpc.h>

#include "broker-common.h"
#include "harness.h"

static char self_path[4096];

/* ---- helpers ---------------------------------------------------------------- */

static bool wait_log(const char *text, unsigned ms)
{
	for (unsigned t = 0; t < ms; t += 20) {
		if (broker_log_has(text))
			return true;
		usleep(20000);
	}
	return false;
}

static void path(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", broker_dir, name);
}

static void touch(const char *name, const char *text)
{
	char p[512];
	FILE *f;

	path(p, sizeof(p), name);
	f = fopen(p, "ae");
	REQUIRE(f);
	fputs(text, f);
	fclose(f);
}

static int open_out(const char *file)
{
	return open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

/* The time of day (seconds) of the first log line holding @text, -1 if
 * none ("xpcd[PID] HH:MM:SS.mmm TEXT"). */
static double log_time(const char *text)
{
	char *log = broker_read_file("xpcd.log"), *hit = strstr(log, text), *line;
	int h, m;
	double s, t = -1;

	if (hit) {
		for (line = hit; line > log && line[-1] != '\n'; line--)
			;
		if (sscanf(line, "xpcd[%*d] %d:%d:%lf", &h, &m, &s) == 3)
			t = h * 3600 + m * 60 + s;
	}
	free(log);
	return t;
}

/* ---- StartInterval ---------------------------------------------------------- */

static void scenario_interval(void)
{
	broker_sh_job("interval", "<key>StartInterval</key><integer>1</integer>"
			   "<key>ThrottleInterval</key><integer>0</integer>",
	       "echo run >> %s/interval.out", broker_dir);
	broker_start(NULL, 0);
	CHECK(broker_wait_lines("interval.out", 3, 8000));
	CHECK(broker_log_has("interval: StartInterval: launching"));
	/* not at load (that is RunAtLoad): the first start a second after it */
	double loaded = log_time("interval: loaded"), first = log_time("interval: StartInterval: launching");
	CHECK(loaded >= 0 && first >= 0 && (first - loaded >= 0.9 || first < loaded /* midnight */));
}

/* ---- StartCalendarInterval ---------------------------------------------------- */

static void calendar_job(const char *label, const char *when)
{
	char extra[1024];

	snprintf(extra, sizeof(extra), "<key>StartCalendarInterval</key>%s"
		 "<key>ThrottleInterval</key><integer>0</integer>", when);
	broker_sh_job(label, extra, "echo run >> %s/%s.out", broker_dir, label);
}

static void scenario_calendar(void)
{
	/* Saturday 2026-12-05 23:59:50 UTC, 30 times real time: midnight is
	 * a third of a second away, every calendar minute 2 s */
	struct tm t = {.tm_year = 126, .tm_mon = 11, .tm_mday = 5, .tm_hour = 23, .tm_min = 59, .tm_sec = 50};
	char clock[64];
	const char *extra[] = {"--test-clock", clock, NULL};

	snprintf(clock, sizeof(clock), "%lld:30", (long long)timegm(&t));
	setenv("TZ", "UTC", 1); /* the broker's local time */
	calendar_job("sunday7", "<dict><key>Weekday</key><integer>7</integer><key>Hour</key><integer>0</integer>"
				"<key>Minute</key><integer>0</integer></dict>");
	calendar_job("sunday0", "<dict><key>Weekday</key><integer>0</integer><key>Hour</key><integer>0</integer>"
				"<key>Minute</key><integer>1</integer></dict>");
	calendar_job("monday", "<dict><key>Weekday</key><integer>1</integer><key>Hour</key><integer>0</integer>"
			       "<key>Minute</key><integer>0</integer></dict>");
	calendar_job("array", "<array><dict><key>Month</key><integer>1</integer><key>Day</key><integer>1</integer>"
			      "</dict><dict><key>Month</key><integer>12</integer><key>Day</key><integer>6</integer>"
			      "<key>Hour</key><integer>0</integer><key>Minute</key><integer>2</integer></dict></array>");
	calendar_job("everyminute", "<dict/>");
	broker_start(extra, 0);
	CHECK(broker_wait_lines("array.out", 1, 15000)); /* 00:02, about 4.3 s */
	CHECK(broker_wait_lines("everyminute.out", 3, 5000)); /* 00:00, 00:01, 00:02 */
	usleep(300000);
	CHECK_EQ_INT(broker_count_lines("sunday7.out"), 1); /* Weekday 7 is Sunday */
	CHECK_EQ_INT(broker_count_lines("sunday0.out"), 1);
	CHECK_EQ_INT(broker_count_lines("array.out"), 1);
	CHECK_EQ_INT(broker_count_lines("monday.out"), 0);
	CHECK(broker_log_has("sunday7: StartCalendarInterval: launching"));
	unsetenv("TZ");
}

/* ---- WatchPaths, QueueDirectories -------------------------------------------------- */

static void scenario_watch(void)
{
	char extra[1024];

	snprintf(extra, sizeof(extra), "<key>WatchPaths</key><array><string>%s/watched</string></array>"
		 "<key>ThrottleInterval</key><integer>0</integer>", broker_dir);
	broker_sh_job("watch", extra, "echo run >> %s/watch.out", broker_dir);
	broker_start(NULL, 0);
	usleep(300000);
	CHECK_EQ_INT(broker_count_lines("watch.out"), 0);
	touch("watched", "a\n"); /* created: it did not exist */
	CHECK(broker_wait_lines("watch.out", 1, 5000));
	CHECK(wait_log("watch: pid", 5000)); /* exited */
	usleep(100000);
	touch("watched", "b\n"); /* modified */
	CHECK(broker_wait_lines("watch.out", 2, 5000));
	CHECK(broker_log_has("watch: WatchPaths "));
}

/* StartOnMount: a tmpfs mounted starts the job (root only: skipped,
 * exit 77, where mounting is not allowed). */
static void scenario_mount(void)
{
	char mnt[512];

	path(mnt, sizeof(mnt), "mnt");
	REQUIRE(mkdir(mnt, 0755) == 0);
	/* A mount namespace of its own (the broker, forked below, shares it),
	 * private from the root down: any other mount on the machine (a test
	 * running beside this one, a netns made meanwhile) would be a mount
	 * that starts the job too. */
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("none", mnt, "tmpfs", 0, NULL) < 0) {
		fprintf(stderr, "mount: %s: skipped\n", strerror(errno));
		broker_teardown();
		exit(77);
	}
	umount(mnt);
	broker_sh_job("mount", "<key>StartOnMount</key><true/><key>ThrottleInterval</key><integer>0</integer>",
	       "echo run >> %s/mount.out", broker_dir);
	broker_start(NULL, 0);
	usleep(1500000);
	CHECK_EQ_INT(broker_count_lines("mount.out"), 0);
	REQUIRE(mount("none", mnt, "tmpfs", 0, NULL) == 0);
	CHECK(broker_wait_lines("mount.out", 1, 5000));
	umount(mnt);
	usleep(1500000);
	CHECK_EQ_INT(broker_count_lines("mount.out"), 1); /* an unmount is not a mount */
	CHECK(broker_log_has("mount: StartOnMount: a file system was mounted: launching"));
}

static void scenario_queue(void)
{
	char extra[1024], q[512];

	path(q, sizeof(q), "queue");
	REQUIRE(mkdir(q, 0755) == 0);
	snprintf(extra, sizeof(extra), "<key>QueueDirectories</key><array><string>%s</string></array>"
		 "<key>ThrottleInterval</key><integer>0</integer>", q);
	/* each run takes one entry */
	broker_sh_job("queue", extra, "for f in %1$s/queue/*; do rm -f \"$f\"; echo run >> %1$s/queue.out; break; done",
	       broker_dir);
	broker_start(NULL, 0);
	usleep(300000);
	CHECK_EQ_INT(broker_count_lines("queue.out"), 0);
	touch("queue/1", "x");
	touch("queue/2", "x");
	touch("queue/3", "x");
	CHECK(broker_wait_lines("queue.out", 3, 8000));
	usleep(500000);
	CHECK_EQ_INT(broker_count_lines("queue.out"), 3); /* empty: no more runs */
}

/* ---- Sockets -------------------------------------------------------------------- */

/* The job: activates its sockets, answers one connection on each. */
static int socket_job(const char *out)
{
	FILE *f = fopen(out, "ae");
	int *fds = NULL, *tcp = NULL, *again = NULL;
	size_t n = 0, nt = 0, na = 0;
	int r, ra, rm, rt;

	if (!f)
		return 1;
	r = launch_activate_socket("Listeners", &fds, &n);
	ra = launch_activate_socket("Listeners", &again, &na);
	rm = launch_activate_socket("Missing", &again, &na);
	rt = launch_activate_socket("Tcp", &tcp, &nt);
	fprintf(f, "activate=%d n=%zu again=%d missing=%d tcp=%d/%zu\n", r, n, ra, rm, rt, nt);
	fflush(f);
	if (r || rt || n != 1 || nt != 1)
		return 1;
	for (int served = 0; served < 2;) {
		struct pollfd p[2] = {{.fd = fds[0], .events = POLLIN}, {.fd = tcp[0], .events = POLLIN}};
		if (poll(p, 2, 10000) <= 0)
			return 1;
		for (int i = 0; i < 2; i++) {
			if (!p[i].revents)
				continue;
			int c = accept(p[i].fd, NULL, NULL);
			if (c >= 0) {
				const char *hello = i ? "hello tcp\n" : "hello unix\n";
				(void)!write(c, hello, strlen(hello));
				close(c);
				served++;
			}
		}
	}
	free(fds);
	free(tcp);
	return 0;
}

/* The job of the restart scenario: answers "hello PID" on both sockets
 * until killed. */
static int serve_job(void)
{
	int *u = NULL, *t = NULL;
	size_t nu = 0, nt = 0;
	char hello[64];

	if (launch_activate_socket("Listeners", &u, &nu) || launch_activate_socket("Tcp", &t, &nt) || !nu || !nt)
		return 1;
	snprintf(hello, sizeof(hello), "hello %d\n", (int)getpid());
	for (;;) {
		struct pollfd p[2] = {{.fd = u[0], .events = POLLIN}, {.fd = t[0], .events = POLLIN}};
		if (poll(p, 2, -1) <= 0)
			continue;
		for (int i = 0; i < 2; i++) {
			int c = p[i].revents ? accept(p[i].fd, NULL, NULL) : -1;
			if (c >= 0) {
				(void)!write(c, hello, strlen(hello));
				close(c);
			}
		}
	}
}

/* The job of the transactions scenario: with @open, holds a transaction
 * and exits on SIGTERM; without, survives SIGTERM.  Either way it writes
 * "term" when SIGTERM comes. */
static int txn_out = -1;
static bool txn_open;

static void txn_on_term(int sig)
{
	(void)sig;
	(void)!write(txn_out, "term\n", 5);
	if (txn_open) {
		xpc_transaction_end();
		_exit(0);
	}
}

static int txn_job(const char *out, bool open)
{
	txn_out = open_out(out);
	txn_open = open;
	if (txn_out < 0)
		return 1;
	signal(SIGTERM, txn_on_term);
	if (open)
		xpc_transaction_begin();
	(void)!write(txn_out, "ready\n", 6);
	for (;;)
		pause();
}

/* The job of multicast: the first datagram on its socket into @out. */
static int dgram_job(const char *out)
{
	int *fds = NULL, fd = open_out(out);
	size_t n = 0;
	char buf[256], line[300];
	ssize_t got;

	if (fd < 0 || launch_activate_socket("Mcast", &fds, &n) || n != 1)
		return 1;
	got = recv(fds[0], buf, sizeof(buf) - 1, 0);
	if (got < 0)
		return 1;
	buf[got] = '\0';
	snprintf(line, sizeof(line), "got %s\n", buf);
	(void)!write(fd, line, strlen(line));
	return 0;
}

/* The job of secure-socket: says where its socket is (stdout, into the
 * broker's log) and answers one connection when it can take it. */
static int secure_job(const char *key)
{
	const char *where = getenv(key);
	int *fds = NULL, c;
	size_t n = 0;

	printf("secure-path %s=%s\n", key, where ? where : "(unset)");
	fflush(stdout);
	if (launch_activate_socket("Secure", &fds, &n) || n != 1)
		return 1;
	if (getuid() != 0)
		return 0;
	c = accept(fds[0], NULL, NULL);
	if (c >= 0)
		(void)!write(c, "hello secure\n", 13);
	return 0;
}

static int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	REQUIRE(fd >= 0);
	REQUIRE(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	REQUIRE(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
	close(fd);
	return ntohs(a.sin_port);
}

/* Connects (to a Unix @path, or 127.0.0.1:@port) and reads one line. */
static bool talk(const char *unix_path, int port, const char *send_line, char *line, size_t size)
{
	int fd;
	ssize_t n, got = 0;

	if (unix_path) {
		struct sockaddr_un a = {.sun_family = AF_UNIX};
		snprintf(a.sun_path, sizeof(a.sun_path), "%s", unix_path);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
			close(fd);
			return false;
		}
	} else {
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
					.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
			close(fd);
			return false;
		}
	}
	if (send_line)
		(void)!write(fd, send_line, strlen(send_line));
	struct pollfd p = {.fd = fd, .events = POLLIN};
	while ((size_t)got + 1 < size && poll(&p, 1, 10000) > 0 && (n = read(fd, line + got, size - 1 - (size_t)got)) > 0)
		got += n;
	line[got] = 0;
	close(fd);
	return got > 0;
}

static void scenario_sockets(void)
{
	char extra[2048], sock[512], line[256], *out;
	int port = free_port(), *fds;
	size_t n;
	struct stat st;

	/* not a job: no sockets from xpcd */
	CHECK_EQ_INT(launch_activate_socket("Listeners", &fds, &n), ESRCH);
	path(sock, sizeof(sock), "job.sock");
	snprintf(extra, sizeof(extra),
		 "<key>ThrottleInterval</key><integer>0</integer>"
		 "<key>Sockets</key><dict>"
		 "<key>Listeners</key><dict><key>SockPathName</key><string>%s</string>"
		 "<key>SockPathMode</key><integer>384</integer></dict>"
		 "<key>Tcp</key><dict><key>SockNodeName</key><string>127.0.0.1</string>"
		 "<key>SockServiceName</key><string>%d</string><key>SockFamily</key><string>IPv4</string></dict>"
		 "</dict>", sock, port);
	{
		char xml[4096];
		snprintf(xml, sizeof(xml),
			 "<key>Label</key><string>sockets</string>\n"
			 "<key>ProgramArguments</key><array><string>%s</string><string>--socket-job</string>"
			 "<string>%s/sockets.out</string></array>\n%s",
			 self_path, broker_dir, extra);
		broker_write_job_file("sockets.plist", xml);
	}
	broker_start(NULL, 0);
	REQUIRE(stat(sock, &st) == 0);
	CHECK(S_ISSOCK(st.st_mode));
	CHECK_EQ_INT(st.st_mode & 07777, 0600); /* SockPathMode 384 */
	usleep(200000);
	CHECK(!broker_log_has("sockets: started")); /* on demand only */
	for (int round = 0; round < 2; round++) {
		CHECK(talk(sock, 0, NULL, line, sizeof(line)));
		CHECK_STREQ(line, "hello unix\n");
		CHECK(talk(NULL, port, NULL, line, sizeof(line)));
		CHECK_STREQ(line, "hello tcp\n");
		CHECK(broker_wait_lines("sockets.out", round + 1, 5000));
		CHECK(wait_log(round ? "sockets: pid" : "sockets: pid", 5000));
	}
	out = broker_read_file("sockets.out");
	char want[128];
	snprintf(want, sizeof(want), "activate=0 n=1 again=%d missing=%d tcp=0/1\n", EALREADY, ENOENT);
	CHECK(strncmp(out, want, strlen(want)) == 0);
	if (strncmp(out, want, strlen(want)))
		fprintf(stderr, "sockets.out: %s", out);
	free(out);
	CHECK(broker_log_has("Sockets Listeners: connection: launching") ||
	      broker_log_has("Sockets Tcp: connection: launching"));
}

/* A broker restart: the new broker makes the sockets anew (the TCP port
 * once the adopted instance, which holds it, is gone); a connection to an
 * adopted instance replaces it. */
static void scenario_sockets_restart(void)
{
	char xml[4096], sock[512], line[256], first[256];
	int port = free_port();

	path(sock, sizeof(sock), "job.sock");
	snprintf(xml, sizeof(xml),
		 "<key>Label</key><string>serve</string>\n"
		 "<key>ProgramArguments</key><array><string>%s</string><string>--serve-job</string></array>\n"
		 "<key>ThrottleInterval</key><integer>0</integer><key>ExitTimeOut</key><integer>2</integer>"
		 "<key>Sockets</key><dict>"
		 "<key>Listeners</key><dict><key>SockPathName</key><string>%s</string></dict>"
		 "<key>Tcp</key><dict><key>SockNodeName</key><string>127.0.0.1</string>"
		 "<key>SockServiceName</key><integer>%d</integer></dict></dict>",
		 self_path, sock, port);
	broker_write_job_file("serve.plist", xml);
	broker_start(NULL, 0);
	CHECK(talk(sock, 0, NULL, first, sizeof(first)));
	CHECK(!strncmp(first, "hello ", 6));
	CHECK(talk(NULL, port, NULL, line, sizeof(line)));
	CHECK_STREQ(line, first);
	broker_stop(); /* SIGKILL: the job keeps running */
	broker_start(NULL, 0);
	CHECK(wait_log("serve: adopted pid", 5000));
	CHECK(broker_log_has("made once the job is stopped")); /* the port is the old instance's */
	CHECK(talk(NULL, port, NULL, line, sizeof(line)));      /* the old instance still serves TCP */
	CHECK_STREQ(line, first);
	CHECK(talk(sock, 0, NULL, line, sizeof(line)));         /* the new socket: a new instance */
	CHECK(!strncmp(line, "hello ", 6) && strcmp(line, first));
	CHECK(broker_log_has("for an adopted instance: replacing pid"));
	CHECK(talk(NULL, port, NULL, line, sizeof(line)));      /* the port, made anew, is the new one's */
	CHECK(!strncmp(line, "hello ", 6) && strcmp(line, first));
}

/* EnableTransactions: stopping a job with no open transaction is SIGKILL
 * at once; with one open, SIGTERM (and it ends its work). */
static void scenario_transactions(void)
{
	const char *xpcctl = getenv("XPCCTL");
	char xml[2048], cmd[1024];

	REQUIRE(xpcctl);
	for (int open = 0; open < 2; open++) {
		snprintf(xml, sizeof(xml),
			 "<key>Label</key><string>txn%d</string><key>RunAtLoad</key><true/>"
			 "<key>EnableTransactions</key><true/><key>ExitTimeOut</key><integer>30</integer>"
			 "<key>ProgramArguments</key><array><string>%s</string><string>--txn-job</string>"
			 "<string>%s/txn%d.out</string><string>%d</string></array>", open, self_path, broker_dir, open, open);
		snprintf(cmd, sizeof(cmd), "txn%d.plist", open);
		broker_write_job_file(cmd, xml);
	}
	broker_start(NULL, 0);
	CHECK(broker_wait_lines("txn0.out", 1, 5000));
	CHECK(broker_wait_lines("txn1.out", 1, 5000));
	for (int open = 0; open < 2; open++) {
		snprintf(cmd, sizeof(cmd), "%s unload txn%d >/dev/null", xpcctl, open);
		CHECK(system(cmd) == 0);
		snprintf(cmd, sizeof(cmd), "txn%d: pid", open);
		CHECK(wait_log(cmd, 5000)); /* well before ExitTimeOut */
	}
	char *out0 = broker_read_file("txn0.out"), *out1 = broker_read_file("txn1.out");
	CHECK_STREQ(out0, "ready\n");       /* no SIGTERM: SIGKILL at once */
	CHECK_STREQ(out1, "ready\nterm\n"); /* SIGTERM, and it finished */
	CHECK(broker_log_has("txn0: no open transaction (EnableTransactions): SIGKILL"));
	CHECK(broker_log_has("txn0: pid") && broker_log_has("killed by signal 9"));
	CHECK(broker_log_has("txn1: pid") && broker_log_has("exited with status 0"));
	free(out0);
	free(out1);
}

static void scenario_inetd(void)
{
	char extra[1024], sock[512], line[256];

	path(sock, sizeof(sock), "inetd.sock");
	snprintf(extra, sizeof(extra), "<key>ThrottleInterval</key><integer>0</integer>"
		 "<key>inetdCompatibility</key><dict><key>Wait</key><false/></dict>"
		 "<key>Sockets</key><dict><key>Listener</key><dict><key>SockPathName</key><string>%s</string>"
		 "</dict></dict>", sock);
	broker_sh_job("inetd", extra, "read line; echo \"got $line\"");
	broker_start(NULL, 0);
	CHECK(talk(sock, 0, "ping\n", line, sizeof(line)));
	CHECK_STREQ(line, "got ping\n");
	CHECK(talk(sock, 0, "pong\n", line, sizeof(line)));
	CHECK_STREQ(line, "got pong\n");
}

/* ---- KeepAlive --------------------------------------------------------------------- */

static void scenario_keepalive(void)
{
	char extra[1024];

	/* restarted while it fails: 3 runs, the third succeeds (and it starts
	 * at load: SuccessfulExit implies RunAtLoad) */
	broker_sh_job("failing", "<key>KeepAlive</key><dict><key>SuccessfulExit</key><false/></dict>"
			  "<key>ThrottleInterval</key><integer>0</integer>",
	       "echo run >> %1$s/failing.out; [ $(cat %1$s/failing.out | wc -l) -ge 3 ]", broker_dir);
	/* restarted while it crashes */
	broker_sh_job("crashing", "<key>KeepAlive</key><dict><key>Crashed</key><true/></dict>"
			   "<key>RunAtLoad</key><true/><key>ThrottleInterval</key><integer>0</integer>",
	       "echo run >> %1$s/crashing.out; [ $(cat %1$s/crashing.out | wc -l) -ge 3 ] || kill -9 $$", broker_dir);
	/* kept alive while a path exists */
	snprintf(extra, sizeof(extra), "<key>KeepAlive</key><dict><key>PathState</key><dict><key>%s/flag</key><true/>"
		 "</dict></dict><key>ThrottleInterval</key><integer>0</integer>", broker_dir);
	broker_sh_job("pathstate", extra, "echo run >> %s/pathstate.out; sleep 0.2", broker_dir);
	/* KeepAlive, but LaunchOnlyOnce */
	broker_sh_job("once", "<key>KeepAlive</key><true/><key>LaunchOnlyOnce</key><true/>"
		       "<key>ThrottleInterval</key><integer>0</integer>",
	       "echo run >> %s/once.out", broker_dir);
	broker_start(NULL, 0);
	CHECK(broker_wait_lines("failing.out", 3, 8000));
	CHECK(broker_wait_lines("crashing.out", 3, 8000));
	CHECK(broker_wait_lines("once.out", 1, 5000));
	usleep(800000);
	CHECK_EQ_INT(broker_count_lines("failing.out"), 3);
	CHECK_EQ_INT(broker_count_lines("crashing.out"), 3);
	CHECK_EQ_INT(broker_count_lines("once.out"), 1);
	CHECK_EQ_INT(broker_count_lines("pathstate.out"), 0);
	touch("flag", "");
	CHECK(broker_wait_lines("pathstate.out", 3, 8000));
	char flag[512];
	path(flag, sizeof(flag), "flag");
	unlink(flag);
	usleep(1500000); /* the run under way ends */
	int n = broker_count_lines("pathstate.out");
	usleep(800000);
	CHECK_EQ_INT(broker_count_lines("pathstate.out"), n);
}

/* ---- process attributes ---------------------------------------------------------------- */

static void scenario_limits(void)
{
	broker_sh_job("limits", "<key>RunAtLoad</key><true/><key>Umask</key><string>027</string>"
			 "<key>Nice</key><integer>5</integer><key>LowPriorityIO</key><true/>"
			 "<key>TimeOut</key><integer>42</integer>"
			 "<key>SoftResourceLimits</key><dict><key>NumberOfFiles</key><integer>200</integer>"
			 "<key>Core</key><integer>0</integer></dict>"
			 "<key>HardResourceLimits</key><dict><key>NumberOfFiles</key><integer>300</integer>"
			 "<key>Stack</key><integer>16777216</integer></dict>",
	       "{ echo umask $(umask); echo nice $(cut -d' ' -f19 /proc/self/stat); echo timeout $XPCD_TIMEOUT;"
	       " grep -E '^Max (open files|core file size|stack size)' /proc/self/limits | tr -s ' ';"
	       " ionice; } > %1$s/limits.tmp; mv %1$s/limits.tmp %1$s/limits.out", broker_dir);
	broker_sh_job("umaskint", "<key>RunAtLoad</key><true/><key>Umask</key><integer>63</integer>",
	       "umask > %s/umaskint.out", broker_dir);
	/* EnableGlobbing: the last argument is a pattern */
	touch("g1.txt", "");
	touch("g2.txt", "");
	{
		char xml[2048];
		snprintf(xml, sizeof(xml),
			 "<key>Label</key><string>glob</string><key>RunAtLoad</key><true/>"
			 "<key>EnableGlobbing</key><true/><key>ProgramArguments</key><array><string>/bin/sh</string>"
			 "<string>-c</string><string>echo \"$@\" > %1$s/glob.out</string><string>sh</string>"
			 "<string>%1$s/g*.txt</string><string>%1$s/none*</string></array>", broker_dir);
		broker_write_job_file("glob.plist", xml);
	}
	broker_start(NULL, 0);
	CHECK(broker_wait_lines("limits.out", 5, 5000));
	CHECK(broker_wait_lines("umaskint.out", 1, 5000));
	char *out = broker_read_file("limits.out");
	CHECK(strstr(out, "umask 0027\n") != NULL);
	CHECK(strstr(out, "nice 5\n") != NULL);
	CHECK(strstr(out, "timeout 42\n") != NULL);
	CHECK(strstr(out, "Max open files 200 300 files") != NULL);
	CHECK(strstr(out, "Max core file size 0 ") != NULL);
	CHECK(strstr(out, "Max stack size ") && strstr(out, " 16777216 bytes") != NULL);
	CHECK(strstr(out, "idle") != NULL); /* LowPriorityIO */
	if (harness_failures)
		fprintf(stderr, "limits.out:\n%s", out);
	free(out);
	out = broker_read_file("umaskint.out");
	CHECK_STREQ(out, "0077\n"); /* 63 = 077 */
	free(out);
	CHECK(broker_wait_lines("glob.out", 1, 5000));
	out = broker_read_file("glob.out");
	char want[1024];
	snprintf(want, sizeof(want), "%1$s/g1.txt %1$s/g2.txt %1$s/none*\n", broker_dir);
	CHECK_STREQ(out, want);
	free(out);
}

static pid_t read_pid(const char *file)
{
	char *t = broker_read_file(file);
	pid_t p = (pid_t)atoi(t);

	free(t);
	return p;
}

static void scenario_abandon(void)
{
	broker_sh_job("group", "<key>RunAtLoad</key><true/>", "sleep 60 & echo $! > %s/group.pid", broker_dir);
	broker_sh_job("abandon", "<key>RunAtLoad</key><true/><key>AbandonProcessGroup</key><true/>",
	       "sleep 60 & echo $! > %s/abandon.pid", broker_dir);
	broker_start(NULL, 0);
	CHECK(broker_wait_lines("group.pid", 1, 5000));
	CHECK(broker_wait_lines("abandon.pid", 1, 5000));
	CHECK(wait_log("group: pid", 5000));
	CHECK(wait_log("abandon: pid", 5000));
	pid_t g = read_pid("group.pid"), a = read_pid("abandon.pid");
	REQUIRE(g > 0 && a > 0);
	for (int i = 0; i < 100 && harness_proc_alive(g); i++)
		usleep(20000);
	CHECK(!harness_proc_alive(g)); /* the job's leftovers die with it */
	CHECK(harness_proc_alive(a));  /* unless it abandons them */
	kill(a, SIGKILL);
}

/* ---- Sockets' MulticastGroup and SecureSocketWithKey ------------------------------ */

/* The interface index under which /proc/net/igmp lists @group (a dotted
 * IPv4 address), or 0 when no interface is in it. */
static int igmp_member(const char *group)
{
	FILE *f = fopen("/proc/net/igmp", "r");
	char line[256], want[16];
	int idx = 0, found = 0;

	snprintf(want, sizeof(want), "%08X", (unsigned)inet_addr(group));
	while (f && !found && fgets(line, sizeof(line), f)) {
		if (line[0] >= '0' && line[0] <= '9')
			idx = atoi(line);
		else if (strstr(line, want))
			found = idx;
	}
	if (f)
		fclose(f);
	return found;
}

#define MCAST_GROUP "239.255.77.77"

static void scenario_multicast(void)
{
	char xml[4096], *out;
	int port = free_port(), idx = 0, fd;
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct ip_mreqn via = {0};

	snprintf(xml, sizeof(xml),
		 "<key>Label</key><string>mcast</string>\n"
		 "<key>ProgramArguments</key><array><string>%s</string><string>--dgram-job</string>"
		 "<string>%s/mcast.out</string></array>\n"
		 "<key>Sockets</key><dict><key>Mcast</key><dict><key>SockType</key><string>dgram</string>"
		 "<key>SockFamily</key><string>IPv4</string><key>SockServiceName</key><integer>%d</integer>"
		 "<key>MulticastGroup</key><string>" MCAST_GROUP "</string></dict></dict>\n",
		 self_path, broker_dir, port);
	CHECK(igmp_member(MCAST_GROUP) == 0); /* no one else in the test's group */
	broker_write_job_file("mcast.plist", xml);
	broker_start(NULL, 0);
	for (int i = 0; i < 100 && !(idx = igmp_member(MCAST_GROUP)); i++)
		usleep(20000);
	CHECK(idx > 0);
	/* a datagram to the group, on the interface that joined, starts the job */
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	REQUIRE(fd >= 0);
	via.imr_ifindex = idx;
	CHECK(setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &via, sizeof(via)) == 0);
	inet_pton(AF_INET, MCAST_GROUP, &to.sin_addr);
	CHECK(sendto(fd, "ping-multicast", 14, 0, (struct sockaddr *)&to, sizeof(to)) == 14);
	close(fd);
	CHECK(broker_wait_lines("mcast.out", 1, 10000));
	out = broker_read_file("mcast.out");
	CHECK_STREQ(out, "got ping-multicast\n");
	free(out);
	CHECK(wait_log("mcast: pid", 5000)); /* it exited */
	/* unloaded: the group is left */
	xpc_release(broker_call("unload", "mcast"));
	for (int i = 0; i < 100 && igmp_member(MCAST_GROUP); i++)
		usleep(20000);
	CHECK(igmp_member(MCAST_GROUP) == 0);
}

/* The path job @label said (secure-path KEY=PATH in the log), or "". */
static void secure_path_of(const char *key, char *buf, size_t size)
{
	char *log = broker_read_file("xpcd.log"), want[128], *at;

	snprintf(want, sizeof(want), "secure-path %s=", key);
	buf[0] = '\0';
	if ((at = strstr(log, want))) {
		at += strlen(want);
		snprintf(buf, size, "%.*s", (int)strcspn(at, "\n"), at);
	}
	free(log);
}

/* Whether nobody, in a child, can connect to the Unix socket @path. */
static bool nobody_connects(const char *path)
{
	pid_t pid = fork();
	int status;

	REQUIRE(pid >= 0);
	if (pid == 0) {
		struct sockaddr_un a = {.sun_family = AF_UNIX};
		int fd;
		harness_become(harness_unprivileged_user(0));
		snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		_exit(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 ? 0 : 1);
	}
	status = harness_wait_pid(pid, 10);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void secure_job_file(const char *label, const char *key, const char *user)
{
	char xml[4096], file[128];

	snprintf(xml, sizeof(xml),
		 "<key>Label</key><string>%s</string>\n"
		 "<key>ProgramArguments</key><array><string>%s</string><string>--secure-job</string>"
		 "<string>%s</string></array>\n<key>RunAtLoad</key><true/>%s%s%s\n"
		 "<key>Sockets</key><dict><key>Secure</key><dict>"
		 "<key>SecureSocketWithKey</key><string>%s</string></dict></dict>\n",
		 label, self_path, key, user ? "<key>UserName</key><string>" : "", user ? user : "",
		 user ? "</string>" : "", key);
	snprintf(file, sizeof(file), "%s.plist", label);
	broker_write_job_file(file, xml);
}

static void scenario_secure_socket(void)
{
	char p1[256] = "", p2[256] = "", dir[256], line[64];
	struct harness_user nobody = harness_unprivileged_user(0);
	struct stat st;
	bool root = geteuid() == 0;

	secure_job_file("secure", "XPC_TEST_SECURE_SOCK", NULL);
	if (root)
		secure_job_file("secure-nobody", "XPC_TEST_NOBODY_SOCK", nobody.name);
	broker_start(NULL, 0);
	for (int i = 0; i < 250 && (!p1[0] || (root && !p2[0])); i++) {
		usleep(20000);
		secure_path_of("XPC_TEST_SECURE_SOCK", p1, sizeof(p1));
		secure_path_of("XPC_TEST_NOBODY_SOCK", p2, sizeof(p2));
	}
	/* /tmp/xpcd.XXXXXX/Secure: a fresh directory of its own, 0700 */
	CHECK(!strncmp(p1, "/tmp/xpcd.", 10) && strlen(p1) == strlen("/tmp/xpcd.XXXXXX/Secure") &&
	      !strcmp(p1 + 16, "/Secure"));
	snprintf(dir, sizeof(dir), "%.16s", p1);
	CHECK(lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0700 && st.st_uid == geteuid());
	CHECK(lstat(p1, &st) == 0 && S_ISSOCK(st.st_mode) && (st.st_mode & 0077) == 0);
	CHECK(talk(p1, 0, NULL, line, sizeof(line)));
	CHECK_STREQ(line, "hello secure\n");
	if (root) {
		CHECK(!nobody_connects(p1));
		/* the job of nobody: its directory and socket are nobody's */
		CHECK(strcmp(p1, p2) && !strncmp(p2, "/tmp/xpcd.", 10));
		snprintf(dir, sizeof(dir), "%.16s", p2);
		CHECK(lstat(dir, &st) == 0 && st.st_uid == nobody.uid && (st.st_mode & 07777) == 0700);
		CHECK(lstat(p2, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_uid == nobody.uid);
		CHECK(nobody_connects(p2));
		xpc_release(broker_call("unload", "secure-nobody"));
	}
	/* unloaded: gone, directory and all */
	xpc_release(broker_call("unload", "secure"));
	snprintf(dir, sizeof(dir), "%.16s", p1);
	for (int i = 0; i < 100 && lstat(dir, &st) == 0; i++)
		usleep(20000);
	CHECK(lstat(dir, &st) < 0 && errno == ENOENT);
	if (root) {
		snprintf(dir, sizeof(dir), "%.16s", p2);
		for (int i = 0; i < 100 && lstat(dir, &st) == 0; i++)
			usleep(20000);
		CHECK(lstat(dir, &st) < 0 && errno == ENOENT);
	}
}

int main(int argc, char **argv)
{
	static const struct { const char *name; void (*fn)(void); } scenarios[] = {
		{"interval", scenario_interval}, {"calendar", scenario_calendar}, {"watch", scenario_watch},
		{"queue", scenario_queue},       {"sockets", scenario_sockets},   {"inetd", scenario_inetd},
		{"sockets-restart", scenario_sockets_restart}, {"transactions", scenario_transactions},
		{"mount", scenario_mount},
		{"keepalive", scenario_keepalive}, {"limits", scenario_limits}, {"abandon", scenario_abandon},
		{"multicast", scenario_multicast}, {"secure-socket", scenario_secure_socket},
		{NULL, NULL},
	};

	if (argc == 3 && !strcmp(argv[1], "--socket-job"))
		return socket_job(argv[2]);
	if (argc == 2 && !strcmp(argv[1], "--serve-job"))
		return serve_job();
	if (argc == 3 && !strcmp(argv[1], "--dgram-job"))
		return dgram_job(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "--secure-job"))
		return secure_job(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "--txn-job"))
		return txn_job(argv[2], atoi(argv[3]) != 0);
	REQUIRE(argc == 2 && getenv("XPCD"));
	REQUIRE(realpath("/proc/self/exe", self_path));
	harness_warm_dispatch();
	harness_begin(60);
	broker_setup();
	chmod(broker_dir, 0755);
	for (int i = 0; scenarios[i].name; i++)
		if (!strcmp(argv[1], scenarios[i].name)) {
			scenarios[i].fn();
			broker_teardown();
			return harness_end();
		}
	fprintf(stderr, "unknown scenario %s\n", argv[1]);
	broker_teardown();
	return 2;
}
