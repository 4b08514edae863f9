/* SPDX-License-Identifier: MIT */
/*
 * xpc-remoted - serve local named services to other hosts as RemoteXPC.
 *
 *   xpc-remoted [--address ADDR] [--port PORT] [--user USER] [--udid ID]
 *               [--tls FILE | --psk-file FILE] [--watch-fd FD]
 *               [--idle-timeout SECONDS] NAME[=PORT]...
 *
 * Listens on ADDR (default 127.0.0.1) with a discovery port
 * (PORT, default 58783; 0 lets the kernel pick) and one port per NAME (the
 * given one or a free one), then answers handshakes on the discovery port
 * and bridges each session on a service port to the local service NAME
 * through the broker (XPCD_SOCKET, as for any client).  When ready it
 * prints "discovery PORT", one "service NAME PORT" line per service and
 * "ready" on standard output.
 *
 * Without --tls or --psk-file the sessions are cleartext and ADDR must be
 * a loopback address.  With one, every session runs inside TLS, mutually
 * authenticated, and any address is accepted (docs/remote.md,
 * "Security"): --tls names a configuration file (a pre-shared key, or a
 * certificate, its key and the accepted peers), --psk-file a file of one
 * line "IDENTITY:HEXKEY" (a 16 to 64 byte key, readable by its owner only).
 *
 * --idle-timeout SECONDS: a session with no request pending that completes
 * no message for that long is closed (default 120; 0: never), so silent
 * peers do not hold their share of sessions for good (serve.c).
 *
 * --watch-fd FD: the daemon exits when FD (inherited) reaches end of file;
 * xpcd, which starts it for the jobs that export services, holds the other
 * end, so the daemon never outlives its broker.
 *
 * It links libxpc.so and uses the private API (src/private/xpc-private.h)
 * for the serving side, which lives in src/transport/remote/serve.c.
 *
 * Identity: a remote peer is never a local user.  Started as root, the
 * daemon binds its ports and then becomes USER (default "nobody") for
 * good, before it connects to any service, so services see that account
 * and nothing more.  Started as another user, services see that user.
 */
#include <errno.h>
#include <fcntl.h>
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

#include "private/xpc-private.h"

#define MAX_SERVICES 64

static void usage(void)
{
	fprintf(stderr, "usage: xpc-remoted [--address ADDR] [--port PORT] [--user USER] [--udid ID]\n"
			"                   [--tls FILE | --psk-file FILE] [--watch-fd FD]\n"
			"                   [--idle-timeout SECONDS] NAME[=PORT]...\n");
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
	int fd = _xpc_linux_remote_listen(addr, port, tls, ret_port);

	if (fd == -EPERM) {
		fprintf(stderr, "xpc-remoted: %s is not a loopback address: listening beyond loopback needs TLS "
				"(--tls or --psk-file)\n", addr);
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

/* The TLS configuration in @path (@psk_line: the --psk-file format). */
static _xpc_linux_remote_tls_t load_tls_or_die(const char *path, bool psk_line)
{
	struct stat st;
	char *why = NULL;
	_xpc_linux_remote_tls_t tls;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "xpc-remoted: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	if (psk_line && (st.st_mode & 077)) {
		fprintf(stderr, "xpc-remoted: %s: readable by others than its owner (chmod 600)\n", path);
		exit(1);
	}
	tls = _xpc_linux_remote_tls_load(path, psk_line, &why);
	if (!tls) {
		fprintf(stderr, "xpc-remoted: %s: %s\n", path, why ? why : "cannot load");
		exit(1);
	}
	free(why);
	return tls;
}

/* Exits when @fd reaches end of file (or fails): the broker is gone. */
static void watch_parent(int fd)
{
	dispatch_source_t src;

	if (fd < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		fprintf(stderr, "xpc-remoted: --watch-fd %d: not an open descriptor\n", fd);
		exit(2);
	}
	src = dispatch_source_create(DISPATCH_SOURCE_TYPE_READ, (uintptr_t)fd, 0, dispatch_get_main_queue());
	dispatch_source_set_event_handler(src, ^{
		char buf[64];
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			exit(0);
	});
	dispatch_resume(src);
}

/* --idle-timeout: serve.c reads the span from XPC_REMOTE_IDLE_TIMEOUT. */
static void set_idle_timeout(const char *s)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (!*s || *end || errno || v > 86400u * 365) {
		fprintf(stderr, "xpc-remoted: bad idle timeout '%s' (seconds)\n", s);
		exit(2);
	}
	setenv("XPC_REMOTE_IDLE_TIMEOUT", s, 1);
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
		{"psk-file", required_argument, NULL, 'k'}, {"tls", required_argument, NULL, 't'},
		{"watch-fd", required_argument, NULL, 'w'}, {"help", no_argument, NULL, 'h'},
		{"idle-timeout", required_argument, NULL, 'I'},
		{NULL, 0, NULL, 0},
	};
	_xpc_linux_remote_tls_t tls = NULL;
	const char *addr = "127.0.0.1", *user = "nobody", *udid = NULL;
	const char *names[MAX_SERVICES];
	uint16_t port = 58783, ports[MAX_SERVICES], disc_port;
	int fds[MAX_SERVICES], disc_fd, c, n = 0, watch_fd = -1;
	xpc_object_t props, hs;
	uuid_t uuid;
	char *why = NULL;

	if (!_xpc_linux_remote_available(&why)) { /* the module (docs/remote.md) */
		fprintf(stderr, "xpc-remoted: %s\n", why ? why : strerror(errno));
		exit(1);
	}
	while ((c = getopt_long(argc, argv, "a:p:u:i:k:t:w:h", opts, NULL)) != -1) {
		switch (c) {
		case 'a': addr = optarg; break;
		case 'p': port = parse_port(optarg); break;
		case 'u': user = optarg; break;
		case 'i': udid = optarg; break;
		case 'k':
		case 't':
			if (tls)
				usage();
			tls = load_tls_or_die(optarg, c == 'k');
			break;
		case 'w': watch_fd = (int)parse_port(optarg); break;
		case 'I': set_idle_timeout(optarg); break;
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
	if (watch_fd >= 0)
		watch_parent(watch_fd);
	props = host_properties(udid);
	uuid_generate_random(uuid);
	hs = _xpc_linux_remote_handshake(uuid, props, names, ports, (size_t)n);
	xpc_release(props);
	if (_xpc_linux_remote_serve_discovery(disc_fd, hs, tls) < 0)
		return 1;
	xpc_release(hs);
	printf("discovery %u\n", disc_port);
	for (int i = 0; i < n; i++) {
		if (_xpc_linux_remote_serve_service(fds[i], names[i], tls) < 0)
			return 1;
		printf("service %s %u\n", names[i], ports[i]);
	}
	printf("ready\n");
	fflush(stdout);
	dispatch_main();
}
