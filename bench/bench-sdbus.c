/*
 * bench-sdbus.c - the D-Bus figures of `make bench`, with systemd's sd-bus
 * on both sides:
 *
 *   rtt     sd_bus_call of a method Echo(ay) -> ay on /org/xpc/Bench,
 *           the message built for each call, for 64 B .. 4 MiB:
 *             bench-sdbus p2p             peer to peer over a socketpair
 *                                         (series sdbus-p2p)
 *             bench-sdbus bus ADDR SERIES through the bus daemon at ADDR
 *                                         (dbus-daemon or dbus-broker); the
 *                                         service owns org.xpc.Bench
 *   setup   (bus only) a new bus connection: sd_bus_start (auth + Hello)
 *           and the first Echo reply, then close.
 *   rss     (bus only) resident set of an idle client that got one reply.
 *
 *   bench-sdbus idle-client ADDR  (internal) the rss client
 *
 * The service runs in a forked child.  Output: RESULT lines (bench/bench.h).
 */
#include "bench.h"
#include "sdbus-echo.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#define BUS_NAME "org.xpc.Bench"

/* ---- bus connections (the client, and the service on a bus; Echo itself is in sdbus-echo.c) */

static sd_bus *bus_connect(const char *address)
{
	sd_bus *bus = NULL;

	if (sd_bus_new(&bus) < 0 || sd_bus_set_address(bus, address) < 0 || sd_bus_set_bus_client(bus, 1) < 0 ||
	    sd_bus_start(bus) < 0) {
		sd_bus_unref(bus);
		return NULL;
	}
	return bus;
}

static void serve_bus(const char *address, int ready_fd)
{
	sd_bus *bus = bus_connect(address);

	if (!bus || sd_bus_request_name(bus, BUS_NAME, 0) < 0 || write(ready_fd, "r", 1) != 1)
		_exit(1);
	close(ready_fd);
	sdbus_echo_serve(bus);
}

static void rtt_series(const char *series, sd_bus *bus, const char *dest)
{
	char *buf = calloc(1, bench_sizes[BENCH_N_SIZES - 1]);
	double *ns = calloc(20000, sizeof(double));

	for (size_t s = 0; s < BENCH_N_SIZES; s++) {
		size_t size = bench_sizes[s];
		int n = bench_iterations(size, 20000);
		for (int i = -n / 10; i < n; i++) {
			uint64_t t0 = bench_now_ns();
			if (sdbus_echo_call(bus, dest, buf, size) < 0)
				bench_fail(series);
			if (i >= 0)
				ns[i] = (double)(bench_now_ns() - t0);
		}
		bench_report_ns("rtt", series, (long)size, ns, n);
	}
	free(ns);
	free(buf);
}

/* One untimed pass over every size, as bench-xpc does before its series. */
static void warm_up(sd_bus *bus, const char *dest)
{
	char *buf = calloc(1, bench_sizes[BENCH_N_SIZES - 1]);

	for (size_t s = 0; s < BENCH_N_SIZES; s++)
		for (int i = 0; i < bench_iterations(bench_sizes[s], 200); i++)
			if (sdbus_echo_call(bus, dest, buf, bench_sizes[s]) < 0)
				bench_fail("warm-up");
	free(buf);
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static int run_p2p(void)
{
	int sv[2];
	sd_bus *bus = NULL;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		bench_fail("socketpair");
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the bench */
		close(sv[0]);
		sdbus_echo_serve_p2p(sv[1]);
	}
	close(sv[1]);
	if (sd_bus_new(&bus) < 0 || sd_bus_set_fd(bus, sv[0], sv[0]) < 0 || sd_bus_start(bus) < 0)
		bench_fail("sd-bus p2p client");
	warm_up(bus, NULL);
	rtt_series("sdbus-p2p", bus, NULL);
	sd_bus_flush_close_unref(bus);
	reap(pid);
	return 0;
}

static void setup_series(const char *series, const char *address)
{
	int n = 300;
	double *ns = calloc((size_t)n, sizeof(double));

	for (int i = -30; i < n; i++) {
		uint64_t t0 = bench_now_ns();
		sd_bus *bus = bus_connect(address);
		if (!bus || sdbus_echo_call(bus, BUS_NAME, "", 0) < 0)
			bench_fail(series);
		uint64_t dt = bench_now_ns() - t0;
		sd_bus_flush_close_unref(bus);
		if (i >= 0)
			ns[i] = (double)dt;
	}
	bench_report_ns("setup", series, -1, ns, n);
	free(ns);
}

static int idle_client(const char *address)
{
	sd_bus *bus = bus_connect(address);

	if (!bus || sdbus_echo_call(bus, BUS_NAME, "", 0) < 0)
		return 1;
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}

static long idle_rss(const char *address)
{
	int p[2];
	char line[16] = {0};
	long kib = -1;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the bench */
		dup2(p[1], 1);
		execl("/proc/self/exe", "bench-sdbus", "idle-client", address, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	if (read(p[0], line, sizeof(line) - 1) > 0 && !strncmp(line, "ready", 5))
		kib = bench_rss_kib(pid);
	close(p[0]);
	reap(pid);
	return kib;
}

static int run_bus(const char *address, const char *series)
{
	int p[2];
	char c, name[64];
	sd_bus *bus;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		bench_fail("pipe");
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the bench */
		close(p[0]);
		serve_bus(address, p[1]);
	}
	close(p[1]);
	if (read(p[0], &c, 1) != 1)
		bench_fail("the bus service");
	close(p[0]);
	bus = bus_connect(address);
	if (!bus)
		bench_fail("connecting to the bus");
	snprintf(name, sizeof(name), "sdbus-%s", series);
	warm_up(bus, BUS_NAME);
	rtt_series(name, bus, BUS_NAME);
	sd_bus_flush_close_unref(bus);
	setup_series(name, address);
	long kib = idle_rss(address);
	snprintf(name, sizeof(name), "sdbus-%s-client", series);
	bench_result("rss", name, -1, (double)kib, (double)kib, "KiB");
	reap(pid);
	return 0;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc == 2 && !strcmp(argv[1], "p2p"))
		return run_p2p();
	if (argc == 4 && !strcmp(argv[1], "bus"))
		return run_bus(argv[2], argv[3]);
	if (argc == 3 && !strcmp(argv[1], "idle-client"))
		return idle_client(argv[2]);
	fprintf(stderr, "usage: bench-sdbus p2p | bench-sdbus bus ADDRESS SERIES\n");
	return 2;
}
