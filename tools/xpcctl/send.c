/* SPDX-License-Identifier: MIT */
/*
 * send.c - messages to services: `send NAME JSON` over an ordinary named
 * connection, as any client would (so it asks the broker the library asks,
 * docs/services.md; --system makes it a privileged one), and over
 * RemoteXPC (docs/remote.md) with --remote HOST:PORT: the services of a
 * host's discovery port (`list`) and a message to one of them, inside TLS
 * with the pre-shared key of --psk-file FILE ("IDENTITY:HEXKEY", as
 * xpc-remoted's) or with the TLS configuration file of --tls FILE
 * (certificates, xpc-remoted(8)).
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <xpc/remote.h>

#include "xpcctl.h"

static char remote_host[256];
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

/* send_setup_remote() - --remote and --psk-file checked. Return: 0 or EXIT_USAGE. */
int send_setup_remote(void)
{
	if (!parse_remote(ctl.remote))
		return ctl_usage_error(NULL, "--remote %s: expected HOST:PORT", ctl.remote);
	if (ctl.psk_file && !load_psk(ctl.psk_file)) {
		fprintf(stderr, "xpcctl: %s: expected one line IDENTITY:HEXKEY\n", ctl.psk_file);
		return EXIT_USAGE;
	}
	if (ctl.tls_file) {
		char path[PATH_MAX];
		if (!realpath(ctl.tls_file, path)) {
			fprintf(stderr, "xpcctl: %s: %s\n", ctl.tls_file, strerror(errno));
			return EXIT_USAGE;
		}
		remote_options = xpc_dictionary_create(NULL, NULL, 0);
		xpc_dictionary_set_string(remote_options, XPC_LINUX_REMOTE_TLS_CONFIG, path);
	}
	return 0;
}

/* list --remote: the handshake's services and properties as JSON. */
int cmd_remote_list(void)
{
	char *err = NULL;
	xpc_object_t hs = xpc_linux_remote_copy_services_with_options(remote_host, remote_port, remote_options, &err);
	int r;

	if (!hs) {
		fprintf(stderr, "xpcctl: %s:%u: %s\n", remote_host, remote_port, err ? err : strerror(errno));
		free(err);
		return EXIT_UNREACHABLE;
	}
	r = show_json(hs);
	xpc_release(hs);
	return r;
}

static xpc_connection_t send_connection(const char *name)
{
	xpc_connection_t c;

	if (!remote_port)
		return xpc_connection_create_mach_service(
			name, NULL, ctl.domain == CTL_DOMAIN_SYSTEM ? XPC_CONNECTION_MACH_SERVICE_PRIVILEGED : 0);
	c = xpc_linux_remote_connection_create_with_options(remote_host, remote_port, name, remote_options, NULL);
	if (!c)
		fprintf(stderr, "xpcctl: %s:%u: %s: %s\n", remote_host, remote_port, name, strerror(errno));
	return c;
}

static int send_print(xpc_connection_t c, const char *name, xpc_object_t reply, bool description)
{
	if (xpc_get_type(reply) == XPC_TYPE_ERROR) {
		char *why = xpc_connection_copy_invalidation_reason(c);
		fprintf(stderr, "xpcctl: %s: %s (%s)\n", name, xpc_dictionary_get_string(reply, XPC_ERROR_KEY_DESCRIPTION),
			why ? why : "no reply");
		free(why);
		return EXIT_UNREACHABLE;
	}
	if (description) {
		char *d = xpc_copy_description(reply);
		printf("%s\n", d);
		free(d);
		return 0;
	}
	return show_json(reply);
}

/* A --socket broker is the library's too: it reads $XPCD_SOCKET. */
static void send_pick_broker(void)
{
	if (ctl.domain == CTL_DOMAIN_SOCKET)
		setenv("XPCD_SOCKET", ctl.socket, 1);
	else if (ctl.domain != CTL_DOMAIN_DEFAULT)
		unsetenv("XPCD_SOCKET");
	if (ctl.domain == CTL_DOMAIN_USER && !getenv("XDG_RUNTIME_DIR")) {
		char rt[64];
		snprintf(rt, sizeof(rt), "/run/user/%u", (unsigned)getuid());
		setenv("XDG_RUNTIME_DIR", rt, 1);
	}
}

/* send's options: --description, --timeout SECONDS (default 25, as
 * busctl's), --no-reply (one-way: sent, nothing awaited). */
typedef struct SendOptions {
	bool description, no_reply;
	double timeout;
	const char *name, *json;
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

/* send [--description] [--timeout SECONDS] [--no-reply] NAME JSON */
static int parse_send(int argc, char **argv, SendOptions *o)
{
	char *end;
	int i = 1;

	o->timeout = 25;
	for (; i < argc && !strncmp(argv[i], "--", 2); i++) {
		if (!strcmp(argv[i], "--description")) {
			o->description = true;
		} else if (!strcmp(argv[i], "--no-reply")) {
			o->no_reply = true;
		} else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) {
			o->timeout = strtod(argv[++i], &end);
			if (*end || !(o->timeout > 0) || o->timeout > 86400)
				return ctl_usage_error("send", "--timeout %s: seconds, more than 0, at most 86400", argv[i]);
		} else {
			return ctl_usage_error("send", "%s: unknown option", argv[i]);
		}
	}
	if (argc - i != 2)
		return ctl_usage_error("send", "send takes a NAME and a JSON object");
	o->name = argv[i];
	o->json = argv[i + 1];
	return 0;
}

static xpc_object_t send_message(const char *json)
{
	char *err = NULL;
	xpc_object_t msg = xpc_linux_create_from_json(json, &err);

	if (msg && xpc_get_type(msg) == XPC_TYPE_DICTIONARY)
		return msg;
	fprintf(stderr, "xpcctl: the message must be a JSON object%s%s\n", err ? ": " : "", err ? err : "");
	free(err);
	if (msg)
		xpc_release(msg);
	return NULL;
}

int cmd_send(int argc, char **argv)
{
	SendOptions o = {0};
	xpc_object_t msg, reply;
	xpc_connection_t c;
	int r = parse_send(argc, argv, &o);

	if (r)
		return r;
	if (!(msg = send_message(o.json)))
		return EXIT_USAGE;
	send_pick_broker();
	if (!(c = send_connection(o.name))) {
		xpc_release(msg);
		return EXIT_UNREACHABLE;
	}
	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) { (void)ev; });
	xpc_connection_resume(c);
	if (o.no_reply) {
		r = send_no_reply(c, msg);
	} else if (!(reply = send_with_timeout(c, msg, o.timeout))) {
		fprintf(stderr, "xpcctl: %s: no reply within %g s (--timeout)\n", o.name, o.timeout);
		r = EXIT_UNREACHABLE;
	} else {
		r = send_print(c, o.name, reply, o.description);
		xpc_release(reply);
	}
	xpc_release(msg);
	xpc_connection_cancel(c);
	xpc_release(c);
	return r;
}
