/* SPDX-License-Identifier: MIT */
/*
 * main.c - xpcd: command line and domains, into a BrokerConfig for
 * broker.c.
 *
 *   xpcd [--system | --user] [--socket PATH] [--jobs DIR]... [--foreground]
 *        [--idle-timeout SECONDS] [--max-links N] [--max-links-per-user N]
 *        [--remote-address ADDR] [--remote-port PORT] [--remote-tls FILE]
 *        [--remote-user USER] [--remote-daemon PATH] [--test-clock START[:SCALE]]
 *
 * --system: socket /run/xpcd/system.sock (mode 0666: every user may
 * connect, each request is judged on its own), jobs from
 * /etc/xpcd/LaunchDaemons and the package's own directory.  --user
 * (default when not root): socket $XDG_RUNTIME_DIR/xpcd/user.sock (0600),
 * jobs from ~/.config/xpcd/LaunchAgents.  --socket/--jobs make a private
 * broker (tests, the demo, users' CI; 0600 unless --system).  Before
 * anything else the socket's directory is checked and its lock taken
 * (rundir.c): a second broker on the same socket exits with status 1.
 *
 * --remote-*: where the names of XPCDRemoteExport jobs are served to other
 * hosts (remote-export.c; loopback unless --remote-tls).
 *
 * --test-clock (private brokers only: --socket without --system or
 * --user) starts StartCalendarInterval's clock at START (seconds since the
 * epoch) running SCALE times real time (calendar.c), for tests.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/calendar.h"
#include "broker/activity.h"
#include "broker/broker.h"
#include "broker/spawn.h"
#include "shared/fdutil.h"

#ifndef XPCD_ETC_JOBS_DIR
#define XPCD_ETC_JOBS_DIR "/etc/xpcd/LaunchDaemons"
#endif
#ifndef XPCD_PKG_JOBS_DIR
#define XPCD_PKG_JOBS_DIR "/usr/share/xpcd/LaunchDaemons"
#endif

#define IDLE_TIMEOUT_MS 5000u

static void usage(FILE *f)
{
	fprintf(f, "usage: xpcd [--system | --user] [--socket PATH] [--jobs DIR]... [--idle-timeout SECONDS]\n"
		   "            [--max-links N] [--max-links-per-user N]\n"
		   "  --socket PATH  listen on PATH (clients find it with XPCD_SOCKET=PATH)\n"
		   "  --jobs DIR     load the *.plist job files of DIR (repeatable)\n"
		   "  --system       the system domain: /run/xpcd/system.sock, " XPCD_ETC_JOBS_DIR "\n"
		   "  --user         the user domain: $XDG_RUNTIME_DIR/xpcd/user.sock, ~/.config/xpcd/LaunchAgents\n"
		   "  --idle-timeout SECONDS  close a client link silent this long (default 5; 0: never)\n"
		   "  --max-links N           client links in all (default: from RLIMIT_NOFILE, at most 1024)\n"
		   "  --max-links-per-user N  client links of one uid (default: half of --max-links, at most 384)\n"
		   "  --remote-address ADDR   serve XPCDRemoteExport jobs' names there (default 127.0.0.1;\n"
		   "                          beyond loopback only with --remote-tls)\n"
		   "  --remote-port PORT      the RemoteXPC discovery port (default 58783)\n"
		   "  --remote-tls FILE       TLS with mutual authentication (xpc-remoted(8) --tls)\n"
		   "  --remote-user USER      remote peers reach services as USER (default nobody)\n"
		   "  --remote-daemon PATH    the xpc-remoted program (default: the installed one)\n"
		   "  --test-clock START[:SCALE]  private broker only: StartCalendarInterval's clock starts at\n"
		   "                          START (epoch seconds) and runs SCALE times real time (tests)\n");
}

/* A count option's value: 0..65536.  Return: 0, or -1 when malformed. */
static int parse_count(const char *s, unsigned *ret)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (!*s || *end || v > 65536)
		return -1;
	*ret = (unsigned)v;
	return 0;
}

static int parse_seconds(const char *s, unsigned *ret_ms)
{
	char *end;
	double v = strtod(s, &end);

	if (!*s || *end || !(v >= 0) || v > 86400)
		return -1;
	*ret_ms = (unsigned)(v * 1000 + 0.5);
	return 0;
}

static void default_domain(bool system, const char **sock, const char **dirs, size_t *n_dirs)
{
	static char usock[4096], udir[4096];
	const char *rt = getenv("XDG_RUNTIME_DIR"), *home = getenv("HOME");

	if (system) {
		mkdir("/run/xpcd", 0755);
		*sock = *sock ? *sock : "/run/xpcd/system.sock";
		if (*n_dirs == 0) {
			dirs[(*n_dirs)++] = XPCD_ETC_JOBS_DIR;
			dirs[(*n_dirs)++] = XPCD_PKG_JOBS_DIR;
		}
		return;
	}
	if (!*sock && rt) {
		snprintf(usock, sizeof(usock), "%s/xpcd", rt);
		mkdir(usock, 0700);
		snprintf(usock, sizeof(usock), "%s/xpcd/user.sock", rt);
		*sock = usock;
	}
	if (*n_dirs == 0 && home) {
		snprintf(udir, sizeof(udir), "%s/.config/xpcd/LaunchAgents", home);
		dirs[(*n_dirs)++] = udir;
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"socket", required_argument, 0, 's'}, {"jobs", required_argument, 0, 'j'},
		{"system", no_argument, 0, 'S'},       {"user", no_argument, 0, 'U'},
		{"foreground", no_argument, 0, 'f'},   {"help", no_argument, 0, 'h'},
		{"idle-timeout", required_argument, 0, 'i'}, {"max-links", required_argument, 0, 'm'},
		{"max-links-per-user", required_argument, 0, 'u'},
		{"remote-address", required_argument, 0, 'A'}, {"remote-port", required_argument, 0, 'P'},
		{"remote-tls", required_argument, 0, 'T'},     {"remote-user", required_argument, 0, 'R'},
		{"remote-daemon", required_argument, 0, 'D'},
		{"test-clock", required_argument, 0, 'C'},
		{0, 0, 0, 0},
	};
	static Broker broker;
	BrokerConfig cfg = {.idle_ms = IDLE_TIMEOUT_MS, .capture_output = true};
	int c, domain = -1, bad = 0;
	const char *test_clock = NULL;
	sigset_t set;

	while ((c = getopt_long(argc, argv, "s:j:SUfh", opts, NULL)) != -1) {
		switch (c) {
		case 's': cfg.socket_path = optarg; break;
		case 'j': if (cfg.n_job_dirs < BROKER_MAX_JOB_DIRS) cfg.job_dirs[cfg.n_job_dirs++] = optarg; break;
		case 'S': domain = 1; break;
		case 'U': domain = 0; break;
		case 'f': break;
		case 'i': bad |= parse_seconds(optarg, &cfg.idle_ms); break;
		case 'm': bad |= parse_count(optarg, &cfg.max_links); break;
		case 'u': bad |= parse_count(optarg, &cfg.max_links_per_user); break;
		case 'A': cfg.remote.address = optarg; break;
		case 'P': bad |= parse_count(optarg, &cfg.remote.port) || cfg.remote.port == 0 || cfg.remote.port > 65535; break;
		case 'T': cfg.remote.tls = optarg; break;
		case 'R': cfg.remote.user = optarg; break;
		case 'D': cfg.remote.daemon = optarg; break;
		case 'C': test_clock = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (bad) {
		usage(stderr);
		return 2;
	}
	if (test_clock && (!cfg.socket_path || domain >= 0 || calendar_clock_parse(test_clock) < 0)) {
		fprintf(stderr, "xpcd: --test-clock START[:SCALE] needs a private broker (--socket, no --system/--user)\n");
		return 2;
	}
	if (domain < 0)
		domain = !cfg.socket_path && geteuid() == 0;
	/* the activities' test clock: private brokers only (docs/activities.md) */
	if (cfg.socket_path)
		activity_set_time_scale(getenv("XPC_ACTIVITY_TIME_SCALE"));
	if (!cfg.socket_path || cfg.n_job_dirs == 0)
		default_domain(domain == 1, &cfg.socket_path, cfg.job_dirs, &cfg.n_job_dirs);
	if (!cfg.socket_path) {
		fprintf(stderr, "xpcd: no socket path (set XDG_RUNTIME_DIR or use --socket)\n");
		return 2;
	}
	cfg.socket_mode = domain == 1 ? 0666 : 0600;
	/* before any thread exists: SIGCHLD/SIGTERM/SIGINT/SIGHUP arrive via sources */
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* each MachServices name holds two descriptors and each client link
	 * one or two: the soft limit of 1024 (for select(), which xpcd does
	 * not use) is raised to the hard one; jobs get the old one back */
	long soft;
	if (fd_raise_limit(&soft) >= 0)
		spawn_keep_nofile_soft(soft);
	broker_init(&broker, &cfg);
	return broker_run(&broker);
}
