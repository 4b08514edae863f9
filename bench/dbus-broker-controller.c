/*
 * dbus-broker-controller.c - starts dbus-broker on a private socket without
 * systemd, for the D-Bus figures of `make bench`.
 *
 * dbus-broker only mediates messages; the listening socket and the policy
 * come from a controller over the socketpair named by --controller.  The
 * stock controller, dbus-broker-launch, needs the systemd journal socket
 * and a systemd manager on the bus, which a sandbox or a CI container does
 * not have.  This one does the least a controller must: it binds a
 * SOCK_STREAM listening socket at PATH, runs `dbus-broker --controller FD`,
 * serves an empty org.bus1.DBus.Controller object, and calls
 * org.bus1.DBus.Broker.AddListener with the socket and an allow-everything
 * policy (the policy's D-Bus signature follows dbus-broker's launcher).
 * dbus-broker charges every connection's socket to its user's descriptor
 * quota (--max-fds, 128 by default), so one user could hold no more than
 * about 128 connections; the load benchmark (bench-load.c) opens 256 from
 * one user, so the broker runs with --max-fds 65536.
 *
 *   dbus-broker-controller PATH [DBUS-BROKER]
 *
 * Prints "ready" on stdout once the broker accepts connections on PATH,
 * then runs until SIGTERM or until the broker exits; the broker dies with
 * it (PR_SET_PDEATHSIG, and its controller socket closes).  Exit status 0,
 * or 1 with the reason on stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#define BATCH "bta(btbs)a(btssssuutt)a(btssssuutt)"
#define POLICY "a(u(" BATCH "))a(buu(" BATCH "))a(ss)bs"

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int listen_at(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0 || strlen(path) >= sizeof(sa.sun_path))
		return -1;
	strcpy(sa.sun_path, path);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 256) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static pid_t run_broker(const char *exe, int fd)
{
	char arg[16];
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	fcntl(fd, F_SETFD, 0);
	snprintf(arg, sizeof(arg), "%d", fd);
	execl(exe, "dbus-broker", "--controller", arg, "--machine-id", "0123456789abcdef0123456789abcdef",
	      "--max-fds", "65536", (char *)NULL);
	fprintf(stderr, "dbus-broker-controller: exec %s: %s\n", exe, strerror(errno));
	_exit(127);
}

/* One allow-all batch: connect, own any name, send and receive anything. */
static int append_batch(sd_bus_message *m)
{
	const uint64_t prio = 1, any_fds = UINT64_MAX;

	return sd_bus_message_append(m, "(" BATCH ")", 1, prio, 1, 1, prio, 1, "", 1, 1, prio, "", "", "", "", 0u, 0u,
				     (uint64_t)0, any_fds, 1, 1, prio, "", "", "", "", 0u, 0u, (uint64_t)0, any_fds);
}

static int append_policy(sd_bus_message *m)
{
	int r = sd_bus_message_open_container(m, 'v', "(" POLICY ")");

	r = r < 0 ? r : sd_bus_message_open_container(m, 'r', POLICY);
	r = r < 0 ? r : sd_bus_message_open_container(m, 'a', "(u(" BATCH "))");
	r = r < 0 ? r : sd_bus_message_open_container(m, 'r', "u(" BATCH ")");
	r = r < 0 ? r : sd_bus_message_append(m, "u", (uint32_t)-1);
	r = r < 0 ? r : append_batch(m);
	r = r < 0 ? r : sd_bus_message_close_container(m);
	r = r < 0 ? r : sd_bus_message_close_container(m);
	r = r < 0 ? r : sd_bus_message_append(m, "a(buu(" BATCH "))a(ss)bs", 0, 0, 0, "session");
	r = r < 0 ? r : sd_bus_message_close_container(m);
	return r < 0 ? r : sd_bus_message_close_container(m);
}

static int add_listener(sd_bus *bus, int listen_fd)
{
	sd_bus_message *m = NULL;
	sd_bus_error err = SD_BUS_ERROR_NULL;
	int r = sd_bus_message_new_method_call(bus, &m, NULL, "/org/bus1/DBus/Broker", "org.bus1.DBus.Broker",
					       "AddListener");

	r = r < 0 ? r : sd_bus_message_append(m, "oh", "/org/bus1/DBus/Listener/0", listen_fd);
	r = r < 0 ? r : append_policy(m);
	r = r < 0 ? r : sd_bus_call(bus, m, 0, &err, NULL);
	if (r < 0)
		fprintf(stderr, "dbus-broker-controller: AddListener: %s\n", err.message ? err.message : strerror(-r));
	sd_bus_error_free(&err);
	sd_bus_message_unref(m);
	return r;
}

static const sd_bus_vtable controller_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_VTABLE_END,
};

static int serve(sd_bus *bus, pid_t broker)
{
	while (!stop) {
		int r = sd_bus_process(bus, NULL);
		if (r < 0 || waitpid(broker, NULL, WNOHANG) == broker)
			return 0;
		if (r == 0)
			sd_bus_wait(bus, 200000);
	}
	return 0;
}

int main(int argc, char **argv)
{
	int sv[2], listen_fd;
	sd_bus *bus = NULL;
	pid_t broker;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: dbus-broker-controller PATH [DBUS-BROKER]\n");
		return 2;
	}
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	listen_fd = listen_at(argv[1]);
	if (listen_fd < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0) {
		fprintf(stderr, "dbus-broker-controller: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	broker = run_broker(argc == 3 ? argv[2] : "/usr/bin/dbus-broker", sv[1]);
	close(sv[1]);
	if (broker < 0 || sd_bus_new(&bus) < 0 || sd_bus_set_fd(bus, sv[0], sv[0]) < 0 ||
	    sd_bus_add_object_vtable(bus, NULL, "/org/bus1/DBus/Controller", "org.bus1.DBus.Controller",
				     controller_vtable, NULL) < 0 ||
	    sd_bus_start(bus) < 0 || add_listener(bus, listen_fd) < 0) {
		if (broker > 0) {
			kill(broker, SIGKILL);
			waitpid(broker, NULL, 0);
		}
		return 1;
	}
	close(listen_fd);
	printf("ready\n");
	fflush(stdout);
	serve(bus, broker);
	sd_bus_flush_close_unref(bus);
	kill(broker, SIGTERM);
	waitpid(broker, NULL, 0);
	unlink(argv[1]);
	return 0;
}
