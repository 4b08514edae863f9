/* SPDX-License-Identifier: MIT */
/*
 * main.c - xpcctl's command line: the global options, which may stand
 * anywhere (before, between or after the command's words, up to "--"),
 * the command table, and the help texts.
 *
 *   xpcctl [--system | --user | --socket PATH] [--json] [-q] COMMAND ARGS...
 *   xpcctl --remote HOST:PORT [--psk-file FILE | --tls FILE] list | send ...
 *   xpcctl -h | --help | help [COMMAND] | COMMAND -h | --version
 *
 * The global pass takes the options it knows out of argv and leaves the
 * command and its own words (kickstart's -k, send's --description) in
 * order for the command, which checks them itself.  man/xpcctl.1 is the
 * manual; the table below is the one place a command is named.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "xpcctl.h"

#ifndef XPCCTL_VERSION
#define XPCCTL_VERSION "unknown"
#endif

CtlOptions ctl;

static const CtlCommand commands[] = {
	{"list", cmd_list, "[--json]", "The jobs of the broker: pid (\"-\" when not running), last exit status, label."},
	{"print", cmd_print, "[--json] LABEL | DOMAIN/LABEL",
	 "A job's definition and state, readable by a person; with --json as JSON with plain numbers."},
	{"load", cmd_load, "[--strict] PATH...",
	 "Load job property lists; a directory loads every *.plist in it.  Warnings about a file's keys are printed; "
	 "--strict refuses such a file."},
	{"unload", cmd_unload, "PATH... | LABEL...", "Stop and remove jobs, named by property list, directory or label."},
	{"bootstrap", cmd_bootstrap, "DOMAIN [--strict] PATH...",
	 "launchctl's spelling of load: DOMAIN is system, gui/UID or user/UID."},
	{"bootout", cmd_bootout, "DOMAIN [PATH...] | DOMAIN/LABEL", "launchctl's spelling of unload."},
	{"enable", cmd_enable, "LABEL | DOMAIN/LABEL", "Allow a job to run again; kept across broker restarts."},
	{"disable", cmd_enable, "LABEL | DOMAIN/LABEL",
	 "Keep a job from running (lookups answer \"disabled\"); kept across broker restarts."},
	{"kickstart", cmd_kickstart, "[-k] LABEL | DOMAIN/LABEL",
	 "Start a job now and print its pid; -k kills a running instance first and starts the new one at once."},
	{"kill", cmd_kill, "SIGNAL LABEL | DOMAIN/LABEL | -l",
	 "Signal a running job: a name (TERM, SIGTERM, RTMIN+2) or a number; -l lists the names."},
	{"reload", cmd_reload, "", "Rescan the broker's job directories, as SIGHUP does."},
	{"lookup", cmd_lookup, "NAME", "Ask the broker for a service name, as a client would."},
	{"send", cmd_send, "[--description] [--timeout SECONDS] [--no-reply] NAME JSON",
	 "Send a message (a JSON object) to a service and print the reply (waits 25 s by default; --no-reply: one-way)."},
	{"blame", cmd_blame, "LABEL | DOMAIN/LABEL",
	 "Why a job is running: the check-in, lookup or event that started it, RunAtLoad, KeepAlive."},
	{"procinfo", cmd_procinfo, "PID", "Which job a process is, its state, its start reason."},
	{"activities", cmd_activities, "[--json] [LABEL | DOMAIN/LABEL]",
	 "The activities xpcd schedules for its jobs (LaunchEvents com.apple.xpc.activity): job, identifier, state, "
	 "when next due, runs, criteria."},
	{"run-activity", cmd_run_activity, "LABEL | DOMAIN/LABEL IDENTIFIER",
	 "Run one of a job's activities now, launching the job if needed; prints the job's pid."},
	{"monitor", cmd_monitor, "[--name NAME] [--pid PID] [--json]",
	 "Print the broker's events as they happen, one line each with a timestamp (Ctrl-C ends)."},
	{"capture", cmd_capture, "[--name NAME] [--pid PID] FILE.pcapng",
	 "Record the broker's events in a pcapng file (tools/wireshark/xpc.lua dissects it)."},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

const CtlCommand *ctl_command_find(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static void usage_command(const CtlCommand *c, FILE *f)
{
	fprintf(f, "usage: xpcctl [GLOBAL OPTIONS] %s %s\n  %s\n", c->name, c->synopsis, c->help);
}

static int usage(FILE *f)
{
	fprintf(f, "usage: xpcctl [--system | --user | --socket PATH] [--json] [-q] COMMAND [ARGS...]\n"
		   "       xpcctl --remote HOST:PORT [--psk-file FILE | --tls FILE] list | send [--description] NAME JSON\n"
		   "       xpcctl -h | --help | help COMMAND | COMMAND --help | --version\n\ncommands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].synopsis);
	fprintf(f, "\nThe broker: --socket PATH, --system (/run/xpcd/system.sock) or --user\n"
		   "($XDG_RUNTIME_DIR/xpcd/user.sock); by default $XPCD_SOCKET, else the user broker.\n"
		   "Commands that change nothing ask the system broker when no user broker runs, and say so.\n"
		   "DOMAIN: system, gui/UID or user/UID.  Exit: 0 ok, 1 refused, 2 usage, 3 no broker.\n");
	return f == stdout ? 0 : EXIT_USAGE;
}

int ctl_usage_error(const char *cmd, const char *fmt, ...)
{
	const CtlCommand *c = cmd ? ctl_command_find(cmd) : NULL;
	va_list ap;

	fprintf(stderr, "xpcctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (c)
		usage_command(c, stderr);
	else
		fprintf(stderr, "xpcctl --help lists the commands\n");
	return EXIT_USAGE;
}

/* An option that takes a value: "--opt VALUE" or "--opt=VALUE". */
static const char *option_value(int argc, char **argv, int *i, const char *name)
{
	size_t n = strlen(name);

	if (!strncmp(argv[*i], name, n) && argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (strcmp(argv[*i], name))
		return NULL;
	if (*i + 1 >= argc)
		return "";
	return argv[++*i];
}

typedef struct Parsed {
	int argc;
	char **argv; /* the command and its words */
	bool help, version;
} Parsed;

static int domain_option(CtlDomain d, const char *socket, const char *spelling)
{
	if (ctl.domain != CTL_DOMAIN_DEFAULT && (ctl.domain != d || d == CTL_DOMAIN_SOCKET))
		return ctl_usage_error(NULL, "%s: only one of --system, --user, --socket", spelling);
	ctl.domain = d;
	ctl.socket = socket;
	return 0;
}

/* One global option at argv[*i]; 1 if it was not one, 0 taken, else an exit code. */
static int global_option(int argc, char **argv, int *i, Parsed *p)
{
	const char *a = argv[*i], *v;

	if (!strcmp(a, "--system"))
		return domain_option(CTL_DOMAIN_SYSTEM, NULL, a);
	if (!strcmp(a, "--user"))
		return domain_option(CTL_DOMAIN_USER, NULL, a);
	if ((v = option_value(argc, argv, i, "--socket")))
		return *v ? domain_option(CTL_DOMAIN_SOCKET, v, "--socket")
			  : ctl_usage_error(NULL, "--socket needs a PATH");
	if ((v = option_value(argc, argv, i, "--remote")))
		return *v ? (ctl.remote = v, 0) : ctl_usage_error(NULL, "--remote needs HOST:PORT");
	if ((v = option_value(argc, argv, i, "--psk-file")))
		return *v ? (ctl.psk_file = v, 0) : ctl_usage_error(NULL, "--psk-file needs a FILE");
	if ((v = option_value(argc, argv, i, "--tls")))
		return *v ? (ctl.tls_file = v, 0) : ctl_usage_error(NULL, "--tls needs a FILE");
	if (!strcmp(a, "--json"))
		return ctl.json = true, 0;
	if (!strcmp(a, "-q") || !strcmp(a, "--quiet"))
		return ctl.quiet = true, 0;
	if (!strcmp(a, "-h") || !strcmp(a, "--help"))
		return p->help = true, 0;
	if (!strcmp(a, "--version"))
		return p->version = true, 0;
	return 1;
}

/* Takes the global options out of argv; the rest, in order, into @p. */
static int parse_globals(int argc, char **argv, Parsed *p)
{
	bool rest = false;

	p->argv = calloc((size_t)argc + 1, sizeof(char *));
	if (!p->argv)
		return EXIT_UNREACHABLE;
	for (int i = 1; i < argc; i++) {
		int r = rest ? 1 : global_option(argc, argv, &i, p);
		if (r == 1 && !rest && !strcmp(argv[i], "--")) {
			rest = true;
			continue;
		}
		if (r == 1)
			p->argv[p->argc++] = argv[i];
		else if (r)
			return r;
	}
	if ((ctl.psk_file || ctl.tls_file) && !ctl.remote)
		return ctl_usage_error(NULL, "--psk-file and --tls go with --remote");
	if (ctl.psk_file && ctl.tls_file)
		return ctl_usage_error(NULL, "--psk-file or --tls, not both");
	if (ctl.remote && ctl.domain != CTL_DOMAIN_DEFAULT)
		return ctl_usage_error(NULL, "--remote and a local broker option exclude each other");
	return 0;
}

static int run_help(const Parsed *p)
{
	const char *name = p->argc > 1 && !strcmp(p->argv[0], "help") ? p->argv[1] : p->argc ? p->argv[0] : NULL;
	const CtlCommand *c = name && strcmp(name, "help") ? ctl_command_find(name) : NULL;

	if (name && strcmp(name, "help") && !c)
		return ctl_usage_error(NULL, "%s: no such command", name);
	if (c)
		usage_command(c, stdout);
	else
		usage(stdout);
	return 0;
}

static int run_remote(const Parsed *p)
{
	int r = send_setup_remote();

	if (r)
		return r;
	if (!strcmp(p->argv[0], "list") && p->argc == 1)
		return cmd_remote_list();
	if (!strcmp(p->argv[0], "send"))
		return cmd_send(p->argc, p->argv);
	return ctl_usage_error(NULL, "with --remote: list or send only");
}

static int run(Parsed *p)
{
	const CtlCommand *c;

	if (p->version) {
		printf("xpcctl %s\n", XPCCTL_VERSION);
		return 0;
	}
	if (p->help || (p->argc && !strcmp(p->argv[0], "help")))
		return run_help(p);
	if (!p->argc)
		return usage(stderr);
	if (ctl.remote)
		return run_remote(p);
	c = ctl_command_find(p->argv[0]);
	if (!c)
		return ctl_usage_error(NULL, "%s: no such command", p->argv[0]);
	return c->run(p->argc, p->argv);
}

int main(int argc, char **argv)
{
	Parsed p = {0};
	int r;

	signal(SIGPIPE, SIG_IGN);
	r = parse_globals(argc, argv, &p);
	if (!r)
		r = run(&p);
	free(p.argv);
	return r;
}
