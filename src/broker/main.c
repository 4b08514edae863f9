/*
 * main.c - xpcd: command line, domains, loading the job directories.
 *
 *   xpcd [--system | --user] [--socket PATH] [--jobs DIR]... [--foreground]
 *
 * --system: socket /run/xpcd/system.sock, jobs from /etc/xpcd/LaunchDaemons
 * and the package's own directory.  --user (default when not root): socket
 * $XDG_RUNTIME_DIR/xpcd/user.sock, jobs from ~/.config/xpcd/LaunchAgents.
 * --socket/--jobs make a private broker (tests, the demo, users' CI).
 *
 * The job registry, the state file and restart adoption are in registry.c.
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

static void usage(FILE *f)
{
	fprintf(f, "usage: xpcd [--system | --user] [--socket PATH] [--jobs DIR]...\n"
		   "  --socket PATH  listen on PATH (clients find it with XPCD_SOCKET=PATH)\n"
		   "  --jobs DIR     load the *.plist job files of DIR (repeatable)\n"
		   "  --system       the system domain: /run/xpcd/system.sock, /etc/xpcd/LaunchDaemons\n"
		   "  --user         the user domain: $XDG_RUNTIME_DIR/xpcd/user.sock, ~/.config/xpcd/LaunchAgents\n");
}

static void default_domain(bool system, const char **sock, const char **dirs, int *n_dirs)
{
	static char usock[4096], udir[4096];
	const char *rt = getenv("XDG_RUNTIME_DIR"), *home = getenv("HOME");

	if (system) {
		mkdir("/run/xpcd", 0755);
		*sock = *sock ? *sock : "/run/xpcd/system.sock";
		if (*n_dirs == 0) {
			dirs[(*n_dirs)++] = "/etc/xpcd/LaunchDaemons";
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
		{0, 0, 0, 0},
	};
	const char *sock = NULL, *dirs[64];
	int n_dirs = 0, c, domain = -1;
	static char state[4200];
	sigset_t set;

	while ((c = getopt_long(argc, argv, "s:j:SUfh", opts, NULL)) != -1) {
		switch (c) {
		case 's': sock = optarg; break;
		case 'j': if (n_dirs < 64) dirs[n_dirs++] = optarg; break;
		case 'S': domain = 1; break;
		case 'U': domain = 0; break;
		case 'f': break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (domain < 0)
		domain = !sock && geteuid() == 0;
	if (!sock || n_dirs == 0)
		default_domain(domain == 1, &sock, dirs, &n_dirs);
	if (!sock) {
		fprintf(stderr, "xpcd: no socket path (set XDG_RUNTIME_DIR or use --socket)\n");
		return 2;
	}
	/* before any thread exists: SIGCHLD/SIGTERM/SIGINT arrive via sources */
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	snprintf(state, sizeof(state), "%s.state", sock);
	broker_state_path = state;

	supervise_start();
	for (int i = 0; i < n_dirs; i++)
		load_dir(dirs[i]);
	jobs_recover_state();
	jobs_boot_done();
	if (control_listen(sock) < 0)
		return 1;
	dispatch_source_t term = dispatch_source_create(DISPATCH_SOURCE_TYPE_SIGNAL, SIGTERM, 0, dispatch_get_main_queue());
	dispatch_source_t intr = dispatch_source_create(DISPATCH_SOURCE_TYPE_SIGNAL, SIGINT, 0, dispatch_get_main_queue());
	dispatch_source_set_event_handler_f(term, on_term);
	dispatch_source_set_event_handler_f(intr, on_term);
	dispatch_resume(term);
	dispatch_resume(intr);
	broker_log("listening on %s", sock);
	dispatch_main();
}
