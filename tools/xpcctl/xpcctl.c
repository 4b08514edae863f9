/* SPDX-License-Identifier: MIT */
/*
 * xpcctl - control xpcd and talk to XPC services from the shell.
 *
 *   xpcctl [--system] COMMAND ...
 *     list | print LABEL | load PATH | unload LABEL | enable LABEL |
 *     disable LABEL | kickstart [-k] LABEL | kill SIGNAL LABEL |
 *     lookup NAME | send [--description] NAME JSON
 *   xpcctl --remote HOST:PORT [--psk-file FILE] list | send [--description] NAME JSON
 *     the same over RemoteXPC (docs/remote.md): the services of a host's
 *     discovery port, and a message to one of them (inside TLS with the
 *     pre-shared key of FILE, "IDENTITY:HEXKEY", as xpc-remoted's)
 *
 * It speaks the broker protocol (docs/broker.md) with libxpc over the
 * broker socket ($XPCD_SOCKET, else the user's, else the system's), and
 * `send` uses an ordinary named connection, as any client would.
 * Exit status: 0 success, 1 the broker or service refused, 2 usage,
 * 3 no broker or service reachable.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xpc/remote.h>
#include <xpc/xpc.h>

#include "private/xpc-private.h"

enum { EXIT_REFUSED = 1, EXIT_USAGE = 2, EXIT_UNREACHABLE = 3 };

static bool use_system;
static char remote_host[256]; /* --remote HOST:PORT */
static uint16_t remote_port;
static xpc_object_t remote_options; /* --psk-file: the TLS options */

/* --psk-file FILE ("IDENTITY:HEXKEY") into remote_options. */
static bool load_psk(const char *path)
{
	char line[512], *colon;
	uint8_t key[64];
	size_t n = 0;
	FILE *f = fopen(path, "re");
	bool ok = f && fgets(line, sizeof(line), f) && (colon = strchr(line, ':'));

	if (f)
		fclose(f);
	if (!ok)
		return false;
	line[strcspn(line, "\n")] = '\0';
	*colon = '\0';
	const char *h = colon + 1;

	for (; *h && n < sizeof(key); h += 2)
		if (!isxdigit((unsigned char)h[0]) || !isxdigit((unsigned char)h[1]) || sscanf(h, "%2hhx", &key[n++]) != 1)
			return false;
	if (*h)
		return false;
	remote_options = xpc_dictionary_create(NULL, NULL, 0);
	xpc_dictionary_set_string(remote_options, XPC_LINUX_REMOTE_TLS_PSK_IDENTITY, line);
	xpc_dictionary_set_data(remote_options, XPC_LINUX_REMOTE_TLS_PSK, key, n);
	return true;
}

/* Splits HOST:PORT ([V6]:PORT too) into remote_host and remote_port. */
static bool parse_remote(const char *arg)
{
	const char *colon = strrchr(arg, ':');
	size_t n = colon ? (size_t)(colon - arg) : 0;
	char *end;
	unsigned long port = colon ? strtoul(colon + 1, &end, 10) : 0;

	if (!colon || !colon[1] || *end || port == 0 || port > 65535 || n == 0 || n >= sizeof(remote_host))
		return false;
	if (arg[0] == '[' && arg[n - 1] == ']')
		arg++, n -= 2;
	memcpy(remote_host, arg, n);
	remote_host[n] = '\0';
	remote_port = (uint16_t)port;
	return true;
}

/* list --remote: the handshake's services and properties as JSON. */
static int cmd_remote_list(void)
{
	char *err = NULL, *json;
	xpc_object_t hs = xpc_linux_remote_copy_services_with_options(remote_host, remote_port, remote_options, &err);

	if (!hs) {
		fprintf(stderr, "xpcctl: %s:%u: %s\n", remote_host, remote_port, err ? err : strerror(errno));
		free(err);
		return EXIT_UNREACHABLE;
	}
	json = xpc_linux_copy_json(hs, 0);
	printf("%s\n", json ? json : "{}");
	free(json);
	xpc_release(hs);
	return 0;
}

static const char *broker_path(void)
{
	static char buf[PATH_MAX];
	const char *env = getenv("XPCD_SOCKET"), *rt = getenv("XDG_RUNTIME_DIR");

	if (env && *env && !use_system)
		return env;
	if (!use_system && rt) {
		snprintf(buf, sizeof(buf), "%s/xpcd/user.sock", rt);
		if (access(buf, F_OK) == 0)
			return buf;
	}
	return "/run/xpcd/system.sock";
}

static xpc_connection_t broker_connect(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	const char *path = broker_path();
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	xpc_connection_t c;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "xpcctl: no broker at %s: %s (is xpcd running? set XPCD_SOCKET)\n", path,
			strerror(errno));
		exit(EXIT_UNREACHABLE);
	}
	c = _xpc_linux_connection_create_from_socket(fd, NULL);
	if (!c) {
		fprintf(stderr, "xpcctl: out of memory\n");
		exit(EXIT_UNREACHABLE);
	}
	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) { (void)ev; });
	xpc_connection_resume(c);
	return c;
}

/* Sends @req to the broker; exits with a message unless the reply is ok. */
static xpc_object_t request(xpc_object_t req)
{
	xpc_connection_t c = broker_connect();
	xpc_object_t reply = xpc_connection_send_message_with_reply_sync(c, req);
	const char *err;

	xpc_release(req);
	if (xpc_get_type(reply) != XPC_TYPE_DICTIONARY) {
		char *why = xpc_connection_copy_invalidation_reason(c);
		fprintf(stderr, "xpcctl: the broker did not answer (%s)\n", why ? why : "connection lost");
		exit(EXIT_UNREACHABLE);
	}
	if ((err = xpc_dictionary_get_string(reply, "error"))) {
		fprintf(stderr, "xpcctl: %s\n", err);
		exit(EXIT_REFUSED);
	}
	xpc_connection_cancel(c);
	xpc_release(c);
	return reply;
}

static xpc_object_t op(const char *name, const char *label)
{
	xpc_object_t req = xpc_dictionary_create(NULL, NULL, 0);

	xpc_dictionary_set_string(req, "xpcd.op", name);
	if (label)
		xpc_dictionary_set_string(req, "label", label);
	return req;
}

static int cmd_list(void)
{
	xpc_object_t reply = request(op("list", NULL));
	xpc_object_t jobs = xpc_dictionary_get_array(reply, "jobs");

	printf("%-8s %-8s %s\n", "PID", "STATUS", "LABEL");
	for (size_t i = 0; i < xpc_array_get_count(jobs); i++) {
		xpc_object_t j = xpc_array_get_value(jobs, i);
		int64_t pid = xpc_dictionary_get_int64(j, "pid");
		/* absent from the jobs of other users (docs/broker.md): "-" */
		int64_t st = xpc_dictionary_get_value(j, "last_exit_status") ? xpc_dictionary_get_int64(j, "last_exit_status")
									       : -1;
		char pids[24] = "-", sts[24] = "-";
		if (pid)
			snprintf(pids, sizeof(pids), "%lld", (long long)pid);
		if (st >= 0 && WIFSIGNALED((int)st))
			snprintf(sts, sizeof(sts), "SIG%d", WTERMSIG((int)st));
		else if (st >= 0)
			snprintf(sts, sizeof(sts), "%d", WEXITSTATUS((int)st));
		printf("%-8s %-8s %s\n", pids, sts, xpc_dictionary_get_string(j, "label"));
	}
	xpc_release(reply);
	return 0;
}

static int print_json(xpc_object_t obj)
{
	char *s = xpc_linux_copy_json(obj, 0);

	if (!s) {
		fprintf(stderr, "xpcctl: the reply has no JSON form (%s); --description prints it\n",
			errno == EDOM ? "a NaN or infinite number" : errno == EILSEQ ? "text that is not UTF-8"
			: errno == E2BIG ? "nested deeper than 64" : strerror(errno));
		return EXIT_REFUSED;
	}
	printf("%s\n", s);
	free(s);
	return 0;
}

static int cmd_print(const char *label)
{
	xpc_object_t reply = request(op("print", label));
	int r = print_json(xpc_dictionary_get_value(reply, "job"));

	xpc_release(reply);
	return r;
}

static int cmd_simple(const char *name, const char *label)
{
	xpc_release(request(op(name, label)));
	return 0;
}

static int cmd_load(const char *path)
{
	char abs[PATH_MAX];
	xpc_object_t req = op("load", NULL), reply;

	if (!realpath(path, abs)) {
		fprintf(stderr, "xpcctl: %s: %s\n", path, strerror(errno));
		xpc_release(req);
		return EXIT_REFUSED;
	}
	xpc_dictionary_set_string(req, "path", abs);
	reply = request(req);
	printf("loaded %s\n", xpc_dictionary_get_string(reply, "label"));
	xpc_release(reply);
	return 0;
}

static int signal_number(const char *s)
{
	static const struct { const char *name; int sig; } names[] = {
		{"HUP", SIGHUP}, {"INT", SIGINT}, {"QUIT", SIGQUIT}, {"KILL", SIGKILL}, {"TERM", SIGTERM},
		{"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"STOP", SIGSTOP}, {"CONT", SIGCONT}, {NULL, 0},
	};
	char *end;
	long n = strtol(s, &end, 10);

	if (*s && !*end)
		return (int)n;
	if (!strncmp(s, "SIG", 3))
		s += 3;
	for (int i = 0; names[i].name; i++)
		if (!strcmp(s, names[i].name))
			return names[i].sig;
	return -1;
}

static int cmd_kill(const char *sig, const char *label)
{
	xpc_object_t req = op("kill", label);
	int n = signal_number(sig);

	if (n <= 0) {
		fprintf(stderr, "xpcctl: %s: not a signal\n", sig);
		xpc_release(req);
		return EXIT_USAGE;
	}
	xpc_dictionary_set_int64(req, "signal", n);
	xpc_release(request(req));
	return 0;
}

static int cmd_kickstart(bool kill_first, const char *label)
{
	xpc_object_t req = op("kickstart", label), reply;

	xpc_dictionary_set_bool(req, "kill", kill_first);
	reply = request(req);
	printf("%s: pid %lld\n", label, (long long)xpc_dictionary_get_int64(reply, "pid"));
	xpc_release(reply);
	return 0;
}

static int cmd_lookup(const char *name)
{
	xpc_object_t req = op("lookup", NULL), reply;

	xpc_dictionary_set_string(req, "name", name);
	reply = request(req);
	printf("%s: vended by the broker (%s)\n", name,
	       xpc_get_type(xpc_dictionary_get_value(reply, "endpoint")) == XPC_TYPE_ENDPOINT ? "endpoint received"
											   : "no endpoint");
	xpc_release(reply);
	return 0;
}

static int cmd_send(const char *name, const char *json, bool description)
{
	char *err = NULL;
	xpc_object_t msg = xpc_linux_create_from_json(json, &err), reply;
	xpc_connection_t c;
	int r = 0;

	if (!msg || xpc_get_type(msg) != XPC_TYPE_DICTIONARY) {
		fprintf(stderr, "xpcctl: the message must be a JSON object%s%s\n", err ? ": " : "", err ? err : "");
		free(err);
		if (msg)
			xpc_release(msg);
		return EXIT_USAGE;
	}
	if (remote_port) {
		c = xpc_linux_remote_connection_create_with_options(remote_host, remote_port, name, remote_options, NULL);
		if (!c) {
			fprintf(stderr, "xpcctl: %s:%u: %s: %s\n", remote_host, remote_port, name, strerror(errno));
			xpc_release(msg);
			return EXIT_UNREACHABLE;
		}
	} else {
		c = xpc_connection_create_mach_service(name, NULL,
						       use_system ? XPC_CONNECTION_MACH_SERVICE_PRIVILEGED : 0);
	}
	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) { (void)ev; });
	xpc_connection_resume(c);
	reply = xpc_connection_send_message_with_reply_sync(c, msg);
	if (xpc_get_type(reply) == XPC_TYPE_ERROR) {
		char *why = xpc_connection_copy_invalidation_reason(c);
		fprintf(stderr, "xpcctl: %s: %s (%s)\n", name,
			xpc_dictionary_get_string(reply, XPC_ERROR_KEY_DESCRIPTION), why ? why : "no reply");
		free(why);
		r = EXIT_UNREACHABLE;
	} else if (description) {
		char *d = xpc_copy_description(reply);
		printf("%s\n", d);
		free(d);
	} else {
		r = print_json(reply);
	}
	xpc_release(reply);
	xpc_release(msg);
	xpc_connection_cancel(c);
	xpc_release(c);
	return r;
}

static int usage(FILE *f)
{
	fprintf(f, "usage: xpcctl [--system] COMMAND\n"
		   "  list                      jobs, their pid and last exit status\n"
		   "  print LABEL               a job's definition and state (JSON)\n"
		   "  load PATH                 load a job property list\n"
		   "  unload LABEL              stop and remove a job\n"
		   "  enable LABEL | disable LABEL\n"
		   "  kickstart [-k] LABEL      start now (-k: kill the running instance first)\n"
		   "  kill SIGNAL LABEL         signal a running job\n"
		   "  lookup NAME               ask the broker for a service name\n"
		   "  send [--description] NAME JSON   send a message, print the reply\n"
		   "The broker is $XPCD_SOCKET, else the user broker, else the system broker.\n"
		   "xpcctl --remote HOST:PORT [--psk-file FILE] list | send [--description] NAME JSON:\n"
		   "  the same over RemoteXPC (with FILE: inside TLS with its pre-shared key).\n");
	return f == stdout ? 0 : EXIT_USAGE;
}

int main(int argc, char **argv)
{
	int i = 1;

	signal(SIGPIPE, SIG_IGN);
	if (i < argc && !strcmp(argv[i], "--system")) {
		use_system = true;
		i++;
	} else if (i + 1 < argc && !strcmp(argv[i], "--remote")) {
		if (!parse_remote(argv[i + 1]))
			return usage(stderr);
		i += 2;
		if (i + 1 < argc && !strcmp(argv[i], "--psk-file")) {
			if (!load_psk(argv[i + 1])) {
				fprintf(stderr, "xpcctl: %s: expected one line IDENTITY:HEXKEY\n", argv[i + 1]);
				return EXIT_USAGE;
			}
			i += 2;
		}
	}
	if (i >= argc)
		return usage(stderr);
	const char *cmd = argv[i++];
	int n = argc - i;
	char **a = argv + i;
	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help"))
		return usage(stdout);
	if (remote_port && !strcmp(cmd, "list") && n == 0)
		return cmd_remote_list();
	if (remote_port && strcmp(cmd, "send"))
		return usage(stderr);
	if (!strcmp(cmd, "list") && n == 0)
		return cmd_list();
	if (!strcmp(cmd, "print") && n == 1)
		return cmd_print(a[0]);
	if (!strcmp(cmd, "load") && n == 1)
		return cmd_load(a[0]);
	if ((!strcmp(cmd, "unload") || !strcmp(cmd, "enable") || !strcmp(cmd, "disable")) && n == 1)
		return cmd_simple(cmd, a[0]);
	if (!strcmp(cmd, "kickstart") && (n == 1 || (n == 2 && !strcmp(a[0], "-k"))))
		return cmd_kickstart(n == 2, a[n - 1]);
	if (!strcmp(cmd, "kill") && n == 2)
		return cmd_kill(a[0], a[1]);
	if (!strcmp(cmd, "lookup") && n == 1)
		return cmd_lookup(a[0]);
	if (!strcmp(cmd, "send") && n == 2)
		return cmd_send(a[0], a[1], false);
	if (!strcmp(cmd, "send") && n == 3 && !strcmp(a[0], "--description"))
		return cmd_send(a[1], a[2], true);
	fprintf(stderr, "xpcctl: bad command or arguments: %s\n", cmd);
	return usage(stderr);
}
