/*
 * main.c - xpcd: command line, domains, loading the job directories.
 *
 *   xpcd [--system | --user] [--socket PATH] [--jobs DIR]... [--foreground]
 *        [--idle-timeout SECONDS] [--max-links N] [--max-links-per-user N]
 *        [--remote-address ADDR] [--remote-port PORT] [--remote-tls FILE]
 *        [--remote-user USER] [--remote-daemon PATH]
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
 * The job registry, the state file and restart adoption are in registry.c.
 * --remote-*: where the names of XPCDRemoteExport jobs are served to other
 * hosts (remote-export.c; loopback unless --remote-tls).
 */
#include <dirent.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/job.h"
#include "broker/remote-export.h"

#ifndef XPCD_ETC_JOBS_DIR
#define XPCD_ETC_JOBS_DIR "/etc/xpcd/LaunchDaemons"
#endif
#ifndef XPCD_PKG_JOBS_DIR
#define XPCD_PKG_JOBS_DIR "/usr/share/xpcd/LaunchDaemons"
#endif

/* ---- start-up -------------------------------------------------------------- */

static void load_dir(const char *dir)
{
	struct dirent **names = NULL;
	int n = scandir(dir, &names, NULL, alphasort);
	char path[4096], err[1024];

	for (int i = 0; i < n; i++) {
		Job *job = NULL;
		size_t len = strlen(names[i]->d_name);
		if (len > 6 && !strcmp(names[i]->d_name + len - 6, ".plist")) {
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
			if (job_load_file(path, &job, err, sizeof(err)) < 0 || jobs_add(job, err, sizeof(err)) < 0)
				fprintf(stderr, "xpcd: %s\n", err);
		}
		free(names[i]);
	}
	free(names);
}

static void on_term(void *ctx)
{
	(void)ctx;
	broker_log("terminating (running jobs keep running; a new broker adopts them)");
	control_close();
	exit(0);
}

const char *broker_socket_path;

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
		   "  --remote-daemon PATH    the xpc-remoted program (default: the installed one)\n");
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

static void default_domain(bool system, const char **sock, const char **dirs, int *n_dirs)
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
		{0, 0, 0, 0},
	};
	const char *sock = NULL, *dirs[64];
	int n_dirs = 0, c, domain = -1, bad = 0;
	unsigned idle_ms = IDLE_TIMEOUT_MS, max_links = 0, per_user = 0;
	RemoteExportConfig remote = {0};
	char err[1024];
	sigset_t set;

	while ((c = getopt_long(argc, argv, "s:j:SUfh", opts, NULL)) != -1) {
		switch (c) {
		case 's': sock = optarg; break;
		case 'j': if (n_dirs < 64) dirs[n_dirs++] = optarg; break;
		case 'S': domain = 1; break;
		case 'U': domain = 0; break;
		case 'f': break;
		case 'i': bad |= parse_seconds(optarg, &idle_ms); break;
		case 'm': bad |= parse_count(optarg, &max_links); break;
		case 'u': bad |= parse_count(optarg, &per_user); break;
		case 'A': remote.address = optarg; break;
		case 'P': bad |= parse_count(optarg, &remote.port) || remote.port == 0 || remote.port > 65535; break;
		case 'T': remote.tls = optarg; break;
		case 'R': remote.user = optarg; break;
		case 'D': remote.daemon = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (bad) {
		usage(stderr);
		return 2;
	}
	if (domain < 0)
		domain = !sock && geteuid() == 0;
	/* the activities' test clock: private brokers only (docs/activities.md) */
	if (sock)
		activity_set_time_scale(getenv("XPC_ACTIVITY_TIME_SCALE"));
	if (!sock || n_dirs == 0)
		default_domain(domain == 1, &sock, dirs, &n_dirs);
	if (!sock) {
		fprintf(stderr, "xpcd: no socket path (set XDG_RUNTIME_DIR or use --socket)\n");
		return 2;
	}
	/* first of all: the socket's directory is ours, and no other broker
	 * serves this socket (rundir.c) */
	if (rundir_open(sock, err, sizeof(err)) < 0) {
		fprintf(stderr, "xpcd: %s\n", err);
		return 1;
	}
	broker_socket_path = sock;
	remote.socket = sock;
	if (remote_export_configure(&remote, err, sizeof(err)) < 0) {
		fprintf(stderr, "xpcd: %s\n", err);
		return 1;
	}
	if (control_configure(max_links, per_user, idle_ms) < 0) {
		fprintf(stderr, "xpcd: out of memory\n");
		return 1;
	}
	/* before any thread exists: SIGCHLD/SIGTERM/SIGINT arrive via sources */
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	supervise_start();
	for (int i = 0; i < n_dirs; i++)
		load_dir(dirs[i]);
	jobs_recover_state();
	jobs_boot_done();
	if (control_listen(sock, domain == 1 ? 0666 : 0600) < 0)
		return 1;
	remote_export_start();
	dispatch_source_t term = dispatch_source_create(DISPATCH_SOURCE_TYPE_SIGNAL, SIGTERM, 0, dispatch_get_main_queue());
	dispatch_source_t intr = dispatch_source_create(DISPATCH_SOURCE_TYPE_SIGNAL, SIGINT, 0, dispatch_get_main_queue());
	dispatch_source_set_event_handler_f(term, on_term);
	dispatch_source_set_event_handler_f(intr, on_term);
	dispatch_resume(term);
	dispatch_resume(intr);
	broker_log("listening on %s (%u client links, %u per user, idle timeout %u ms)", sock,
		   links_limits()->max_links, links_limits()->per_user, idle_ms);
	dispatch_main();
}
