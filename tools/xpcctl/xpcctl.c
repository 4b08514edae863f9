/*
 * xpcctl - control xpcd and talk to XPC services from the shell.
 *
 *   xpcctl [--system] COMMAND ...
 *     list | print LABEL | load [--strict] PATH | unload LABEL | enable LABEL |
 *     disable LABEL | kickstart [-k] LABEL | kill SIGNAL LABEL |
 *     lookup NAME | send [--description] [--timeout SECONDS] [--no-reply] NAME JSON |
 *     reload
 *   xpcctl --remote HOST:PORT [--psk-file FILE | --tls FILE] list | send [--description] NAME JSON
 *     the same over RemoteXPC (docs/remote.md): the services of a host's
 *     discovery port, and a message to one of them (inside TLS with the
 *     pre-shared key of FILE, "IDENTITY:HEXKEY", as xpc-remoted's, or
 *     with the TLS configuration file of --tls: certificates, xpc-remoted(8))
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
#include "shared/xpcd-protocol.h"

enum { EXIT_REFUSED = 1, EXIT_USAGE = 2, EXIT_UNREACHABLE = 3 };

static bool use_system;
static char remote_host[256]; /* --remote HOST:PORT */
static uint16_t remote_port;
static xpc_object_t remote_options; /* --psk-file, --tls: the TLS options */

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
static int usage(FILE *f);

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
	if ((err = xpc_dictionary_get_string(reply, XPCD_KEY_ERROR))) {
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

	xpc_dictionary_set_string(req, XPCD_KEY_OP, name);
	if (label)
		xpc_dictionary_set_string(req, XPCD_KEY_LABEL, label);
	return req;
}

static int cmd_list(void)
{
	xpc_object_t reply = request(op(XPCD_OP_LIST, NULL));
	xpc_object_t jobs = xpc_dictionary_get_array(reply, XPCD_KEY_JOBS);

	printf("%-8s %-8s %s\n", "PID", "STATUS", "LABEL");
	for (size_t i = 0; i < xpc_array_get_count(jobs); i++) {
		xpc_object_t j = xpc_array_get_value(jobs, i);
		int64_t pid = xpc_dictionary_get_int64(j, XPCD_JOB_PID);
		/* absent from the jobs of other users (docs/broker.md): "-" */
		int64_t st = xpc_dictionary_get_value(j, XPCD_JOB_LAST_EXIT_STATUS) ? xpc_dictionary_get_int64(j, XPCD_JOB_LAST_EXIT_STATUS)
									       : -1;
		const char *failure = xpc_dictionary_get_string(j, XPCD_JOB_LAST_FAILURE);
		char pids[24] = "-", sts[24] = "-";
		if (pid)
			snprintf(pids, sizeof(pids), "%lld", (long long)pid);
		if (failure) /* the step a start failed at, as systemd's 203/EXEC */
			snprintf(sts, sizeof(sts), "%s", failure);
		else if (st >= 0 && WIFSIGNALED((int)st))
			snprintf(sts, sizeof(sts), "SIG%d", WTERMSIG((int)st));
		else if (st >= 0)
			snprintf(sts, sizeof(sts), "%d", WEXITSTATUS((int)st));
		printf("%-8s %-8s %s\n", pids, sts, xpc_dictionary_get_string(j, XPCD_JOB_LABEL));
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
	xpc_object_t reply = request(op(XPCD_OP_PRINT, label));
	int r = print_json(xpc_dictionary_get_value(reply, XPCD_KEY_JOB));

	xpc_release(reply);
	return r;
}

static int cmd_simple(const char *name, const char *label)
{
	xpc_release(request(op(name, label)));
	return 0;
}

/* load: the broker's warnings (unknown or unsupported keys) go to
 * stderr, one line each; --strict makes the broker refuse such a file. */
static int cmd_load(const char *path, bool strict)
{
	char abs[PATH_MAX];
	xpc_object_t req = op(XPCD_OP_LOAD, NULL), reply, warnings;

	if (!realpath(path, abs)) {
		fprintf(stderr, "xpcctl: %s: %s\n", path, strerror(errno));
		xpc_release(req);
		return EXIT_REFUSED;
	}
	xpc_dictionary_set_string(req, XPCD_KEY_PATH, abs);
	if (strict)
		xpc_dictionary_set_bool(req, XPCD_KEY_STRICT, true);
	reply = request(req);
	warnings = xpc_dictionary_get_value(reply, XPCD_KEY_WARNINGS);
	for (size_t i = 0; warnings && xpc_get_type(warnings) == XPC_TYPE_ARRAY && i < xpc_array_get_count(warnings); i++)
		fprintf(stderr, "xpcctl: warning: %s: %s\n", abs, xpc_array_get_string(warnings, i) ?: "?");
	printf("loaded %s\n", xpc_dictionary_get_string(reply, XPCD_KEY_LABEL));
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
	xpc_object_t req = op(XPCD_OP_KILL, label);
	int n = signal_number(sig);

	if (n <= 0) {
		fprintf(stderr, "xpcctl: %s: not a signal\n", sig);
		xpc_release(req);
		return EXIT_USAGE;
	}
	xpc_dictionary_set_int64(req, XPCD_KEY_SIGNAL, n);
	xpc_release(request(req));
	return 0;
}

static int cmd_kickstart(bool kill_first, const char *label)
{
	xpc_object_t req = op(XPCD_OP_KICKSTART, label), reply;

	xpc_dictionary_set_bool(req, XPCD_KEY_KILL, kill_first);
	reply = request(req);
	printf("%s: pid %lld\n", label, (long long)xpc_dictionary_get_int64(reply, XPCD_KEY_PID));
	xpc_release(reply);
	return 0;
}

static int cmd_lookup(const char *name)
{
	xpc_object_t req = op(XPCD_OP_LOOKUP, NULL), reply;

	xpc_dictionary_set_string(req, XPCD_KEY_NAME, name);
	reply = request(req);
	printf("%s: vended by the broker (%s)\n", name,
	       xpc_get_type(xpc_dictionary_get_value(reply, XPCD_KEY_ENDPOINT)) == XPC_TYPE_ENDPOINT ? "endpoint received"
											   : "no endpoint");
	xpc_release(reply);
	return 0;
}

static int cmd_reload(void)
{
	xpc_object_t reply = request(op(XPCD_OP_RELOAD, NULL));

	printf("job directories rescanned: %llu loaded, %llu unloaded, %llu changed, %llu failed\n",
	       (unsigned long long)xpc_dictionary_get_uint64(reply, XPCD_KEY_LOADED),
	       (unsigned long long)xpc_dictionary_get_uint64(reply, XPCD_KEY_UNLOADED),
	       (unsigned long long)xpc_dictionary_get_uint64(reply, XPCD_KEY_CHANGED),
	       (unsigned long long)xpc_dictionary_get_uint64(reply, XPCD_KEY_FAILED));
	xpc_release(reply);
	return 0;
}

/* send's options: --description, --timeout SECONDS (default 25, as
 * busctl's), --no-reply (one-way: sent, nothing awaited). */
typedef struct SendOptions {
	bool description, no_reply;
	double timeout;
} SendOptions;

/* The reply to @msg on @c within @timeout seconds (+1), or NULL when none
 * came in time. */
static xpc_object_t send_with_timeout(xpc_connection_t c, xpc_object_t msg, double timeout)
{
	dispatch_semaphore_t done = dispatch_semaphore_create(0);
	__block xpc_object_t reply = NULL;
	xpc_object_t r;

	xpc_connection_send_message_with_reply(c, msg, NULL, ^(xpc_object_t rep) {
		reply = xpc_retain(rep);
		dispatch_semaphore_signal(done);
	});
	if (dispatch_semaphore_wait(done, dispatch_time(DISPATCH_TIME_NOW, (int64_t)(timeout * 1e9))) != 0) {
		xpc_connection_cancel(c); /* the handler still runs, with an error */
		dispatch_semaphore_wait(done, DISPATCH_TIME_FOREVER);
		xpc_release(reply);
		reply = NULL;
	}
	r = reply;
	dispatch_release(done);
	return r;
}

/* A one-way message: returns once it has left (a barrier after it). */
static int send_no_reply(xpc_connection_t c, xpc_object_t msg)
{
	dispatch_semaphore_t sent = dispatch_semaphore_create(0);

	xpc_connection_send_message(c, msg);
	xpc_connection_send_barrier(c, ^{
		dispatch_semaphore_signal(sent);
	});
	dispatch_semaphore_wait(sent, DISPATCH_TIME_FOREVER);
	dispatch_release(sent);
	return 0;
}

static int cmd_send(const char *name, const char *json, const SendOptions *o)
{
	bool description = o->description;
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
	if (o->no_reply) {
		r = send_no_reply(c, msg);
		xpc_release(msg);
		xpc_connection_cancel(c);
		xpc_release(c);
		return r;
	}
	reply = send_with_timeout(c, msg, o->timeout);
	if (!reply) {
		fprintf(stderr, "xpcctl: %s: no reply within %g s (--timeout)\n", name, o->timeout);
		r = EXIT_UNREACHABLE;
	} else if (xpc_get_type(reply) == XPC_TYPE_ERROR) {
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
	if (reply)
		xpc_release(reply);
	xpc_release(msg);
	xpc_connection_cancel(c);
	xpc_release(c);
	return r;
}

/* send [--description] [--timeout SECONDS] [--no-reply] NAME JSON */
static int parse_send(int n, char **a)
{
	SendOptions o = {.timeout = 25};
	char *end;
	int i = 0;

	for (; i < n && !strncmp(a[i], "--", 2); i++) {
		if (!strcmp(a[i], "--description")) {
			o.description = true;
		} else if (!strcmp(a[i], "--no-reply")) {
			o.no_reply = true;
		} else if (!strcmp(a[i], "--timeout") && i + 1 < n) {
			o.timeout = strtod(a[++i], &end);
			if (*end || !(o.timeout > 0) || o.timeout > 86400)
				return usage(stderr);
		} else {
			return usage(stderr);
		}
	}
	if (n - i != 2)
		return usage(stderr);
	return cmd_send(a[i], a[i + 1], &o);
}

static int usage(FILE *f)
{
	fprintf(f, "usage: xpcctl [--system] COMMAND\n"
		   "  list                      jobs, their pid and last exit status\n"
		   "  print LABEL               a job's definition and state (JSON)\n"
		   "  load [--strict] PATH      load a job property list (--strict: refuse unknown or\n"
		   "                            unsupported keys, which are otherwise warnings)\n"
		   "  unload LABEL              stop and remove a job\n"
		   "  enable LABEL | disable LABEL\n"
		   "  kickstart [-k] LABEL      start now (-k: kill the running instance first)\n"
		   "  kill SIGNAL LABEL         signal a running job\n"
		   "  lookup NAME               ask the broker for a service name\n"
		   "  send [--description] [--timeout SECONDS] [--no-reply] NAME JSON\n"
		   "                            send a message, print the reply (waits 25 s by default;\n"
		   "                            --no-reply: one-way, nothing awaited)\n"
		   "  reload                    rescan the job directories (as SIGHUP)\n"
		   "The broker is $XPCD_SOCKET, else the user broker, else the system broker.\n"
		   "xpcctl --remote HOST:PORT [--psk-file FILE | --tls FILE] list | send [--description] NAME JSON:\n"
		   "  the same over RemoteXPC (with FILE: inside TLS with its pre-shared key, or with\n"
		   "  the TLS configuration file of --tls, as xpc-remoted's).\n");
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
		} else if (i + 1 < argc && !strcmp(argv[i], "--tls")) {
			char path[PATH_MAX];

			if (!realpath(argv[i + 1], path)) {
				fprintf(stderr, "xpcctl: %s: %s\n", argv[i + 1], strerror(errno));
				return EXIT_USAGE;
			}
			remote_options = xpc_dictionary_create(NULL, NULL, 0);
			xpc_dictionary_set_string(remote_options, XPC_LINUX_REMOTE_TLS_CONFIG, path);
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
		return cmd_load(a[0], false);
	if (!strcmp(cmd, "load") && n == 2 && !strcmp(a[0], "--strict"))
		return cmd_load(a[1], true);
	if ((!strcmp(cmd, "unload") || !strcmp(cmd, "enable") || !strcmp(cmd, "disable")) && n == 1)
		return cmd_simple(cmd, a[0]);
	if (!strcmp(cmd, "kickstart") && (n == 1 || (n == 2 && !strcmp(a[0], "-k"))))
		return cmd_kickstart(n == 2, a[n - 1]);
	if (!strcmp(cmd, "kill") && n == 2)
		return cmd_kill(a[0], a[1]);
	if (!strcmp(cmd, "lookup") && n == 1)
		return cmd_lookup(a[0]);
	if (!strcmp(cmd, "send"))
		return parse_send(n, a);
	if (!strcmp(cmd, "reload") && n == 0)
		return cmd_reload();
	fprintf(stderr, "xpcctl: bad command or arguments: %s\n", cmd);
	return usage(stderr);
}
