/* SPDX-License-Identifier: MIT */
/*
 * xpc-remoted - serve local named services to other hosts as RemoteXPC.
 *
 *   xpc-remoted [--address ADDR] [--port PORT] [--user USER] [--udid ID]
 *               [--psk-file FILE] NAME[=PORT]...
 *
 * Listens on ADDR (default 127.0.0.1) with a discovery port
 * (PORT, default 58783; 0 lets the kernel pick) and one port per NAME (the
 * given one or a free one), then answers handshakes on the discovery port
 * and bridges each session on a service port to the local service NAME
 * through the broker (XPCD_SOCKET, as for any client).  When ready it
 * prints "discovery PORT", one "service NAME PORT" line per service and
 * "ready" on standard output.
 *
 * Without --psk-file the sessions are cleartext and ADDR must be a
 * loopback address.  With it (one line "IDENTITY:HEXKEY", a 16 to 64 byte
 * key, a file no one but its owner may read) every session runs inside
 * TLS with that pre-shared key, mutually authenticated, and any address
 * is accepted (docs/remote.md, "Security").
 *
 * Identity: a remote peer is never a local user.  Started as root, the
 * daemon binds its ports and then becomes USER (default "nobody") for
 * good, before it connects to any service, so services see that account
 * and nothing more.  Started as another user, services see that user.
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <uuid/uuid.h>
#include <xpc/xpc.h>

#include "remote/remote.h"
#include "remote/serve.h"

#define MAX_SERVICES 64

static void usage(void)
{
	fprintf(stderr, "usage: xpc-remoted [--address ADDR] [--port PORT] [--user USER] [--udid ID] [--psk-file FILE]\n"
			"                   NAME[=PORT]...\n");
	exit(2);
}

static uint16_t parse_port(const char *s)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (!*s || *end || errno || v > 65535) {
		fprintf(stderr, "xpc-remoted: bad port '%s'\n", s);
		exit(2);
	}
	return (uint16_t)v;
}

static int listen_or_die(const char *addr, uint16_t port, bool tls, uint16_t *ret_port)
{
	int fd = remote_net_listen(addr, port, tls, ret_port);

	if (fd == -EPERM) {
		fprintf(stderr, "xpc-remoted: %s is not a loopback address: listening beyond loopback needs TLS "
				"(--psk-file)\n", addr);
		exit(1);
	}
	if (fd < 0) {
		fprintf(stderr, "xpc-remoted: cannot listen on %s port %u: %s\n", addr, port, strerror(-fd));
		exit(1);
	}
	return fd;
}

/* As root: becomes @user for good (groups, gid, uid). */
static void drop_privileges(const char *user)
{
	struct passwd *pw;

	if (geteuid() != 0)
		return;
	pw = getpwnam(user);
	if (!pw || pw->pw_uid == 0) {
		fprintf(stderr, "xpc-remoted: no unprivileged user '%s'\n", user);
		exit(1);
	}
	if (setgroups(0, NULL) < 0 || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0 || setuid(0) == 0) {
		fprintf(stderr, "xpc-remoted: cannot become '%s': %s\n", user, strerror(errno));
		exit(1);
	}
}

/* The TLS configuration in @path, which only its owner may read. */
static RemoteTls *load_psk_or_die(const char *path)
{
	struct stat st;
	const char *why = NULL;
	RemoteTls *tls;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "xpc-remoted: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	if (st.st_mode & 077) {
		fprintf(stderr, "xpc-remoted: %s: readable by others than its owner (chmod 600)\n", path);
		exit(1);
	}
	tls = remote_tls_load_psk_file(true, path, &why);
	if (!tls) {
		fprintf(stderr, "xpc-remoted: %s: %s\n", path, why ? why : "cannot load");
		exit(1);
	}
	return tls;
}

static xpc_object_t host_properties(const char *udid)
{
	xpc_object_t props = xpc_dictionary_create(NULL, NULL, 0);
	struct utsname u;
	uuid_t id;
	char text[40];

	if (!udid) {
		uuid_generate_random(id);
		uuid_unparse_upper(id, text);
		udid = text;
	}
	xpc_dictionary_set_string(props, "UniqueDeviceID", udid);
	xpc_dictionary_set_string(props, "ProductType", "Linux");
	if (uname(&u) == 0) {
		xpc_dictionary_set_string(props, "OSVersion", u.release);
		xpc_dictionary_set_string(props, "HardwareModel", u.machine);
	}
	return props;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"address", required_argument, NULL, 'a'}, {"port", required_argument, NULL, 'p'},
		{"user", required_argument, NULL, 'u'},    {"udid", required_argument, NULL, 'i'},
		{"psk-file", required_argument, NULL, 'k'}, {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	RemoteTls *tls = NULL;
	const char *addr = "127.0.0.1", *user = "nobody", *udid = NULL;
	const char *names[MAX_SERVICES];
	uint16_t port = 58783, ports[MAX_SERVICES], disc_port;
	int fds[MAX_SERVICES], disc_fd, c, n = 0;
	xpc_object_t props, hs;
	uuid_t uuid;

	while ((c = getopt_long(argc, argv, "a:p:u:i:k:h", opts, NULL)) != -1) {
		switch (c) {
		case 'a': addr = optarg; break;
		case 'p': port = parse_port(optarg); break;
		case 'u': user = optarg; break;
		case 'i': udid = optarg; break;
		case 'k': tls = load_psk_or_die(optarg); break;
		default: usage();
		}
	}
	if (optind >= argc || argc - optind > MAX_SERVICES)
		usage();
	disc_fd = listen_or_die(addr, port, tls, &disc_port);
	for (int i = optind; i < argc; i++, n++) {
		char *eq = strchr(argv[i], '=');

		if (eq)
			*eq = '\0';
		if (!*argv[i])
			usage();
		names[n] = argv[i];
		fds[n] = listen_or_die(addr, eq ? parse_port(eq + 1) : 0, tls, &ports[n]);
	}
	drop_privileges(user);
	props = host_properties(udid);
	uuid_generate_random(uuid);
	hs = remote_serve_handshake(uuid, props, names, ports, (size_t)n);
	xpc_release(props);
	if (!remote_serve_discovery(disc_fd, hs, tls))
		return 1;
	xpc_release(hs);
	printf("discovery %u\n", disc_port);
	for (int i = 0; i < n; i++) {
		if (!remote_serve_service(fds[i], names[i], tls))
			return 1;
		printf("service %s %u\n", names[i], ports[i]);
	}
	printf("ready\n");
	fflush(stdout);
	dispatch_main();
}
