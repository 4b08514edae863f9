/*
 * bench-xpc.c - the libxpc figures of `make bench`, between two processes:
 *
 *   rtt       xpc_connection_send_message_with_reply_sync of a dictionary
 *             { "n": int64, "data": xpc_data of the payload } built for each
 *             call, answered by a reply carrying the same data back, for
 *             64 B .. 4 MiB; over an endpoint connection (xpc-endpoint) and
 *             over a named service that a private xpcd launched on demand
 *             (xpc-named, XPCD_SOCKET).
 *   oneway    small dictionaries { "n": int64 } sent with
 *             xpc_connection_send_message, then one request whose reply
 *             says they were all handled; messages/s.
 *   bulk      one 64 MiB xpc_data (copied into the dictionary, sent, mapped
 *             by the receiver, which touches every page and replies); GB/s.
 *   setup     create a connection, resume it and get the first reply, then
 *             cancel it: named (broker lookup + check-in) and through an
 *             endpoint (check-in only), each interleaved with a raw connect
 *             + 64-byte round trip to a forked echo server (the baseline,
 *             series raw-connect-interleaved), so that all three see the
 *             same load.
 *   rss       resident set of an idle process with one named connection
 *             that got one reply.
 *
 *   bench-xpc NAME               everything; NAME is served by a job of the
 *                                xpcd at $XPCD_SOCKET
 *   bench-xpc service NAME       the job: listens on NAME and on an
 *                                anonymous listener, answers as above
 *   bench-xpc idle-client NAME   (internal) the rss client
 *   bench-xpc rss NAME           only the rss figure, one sample
 *                                (bench/idle.sh)
 *   bench-xpc setup NAME [N]     only the set-up figures (N set-ups of
 *                                each, default 300) and what one costs
 *                                in context switches and CPU time; the
 *                                ratios to stderr (bench/setup.sh)
 *
 * Only the public API, linked to libxpc.so as users do.  The endpoint
 * comes the usual way: the job makes an anonymous listener and hands its
 * xpc_endpoint out in a reply over the named connection, so the endpoint
 * figures talk to the same process without the broker.  Output: RESULT
 * lines (bench/bench.h).
 */
#include "bench.h"

#include <dispatch/dispatch.h>
#include <xpc/xpc.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define BULK_LEN (64u << 20)
#define ROUNDS 5
#define ONEWAY_N 100000

/* ---- the service side --------------------------------------------------------- */

/* Reads one byte of every page of a bulk payload, as a consumer would. */
static int64_t touch_pages(xpc_object_t data)
{
	const unsigned char *p = xpc_data_get_bytes_ptr(data);
	size_t len = xpc_data_get_length(data);
	int64_t sum = 0;

	for (size_t i = 0; p && i < len; i += 4096)
		sum += p[i];
	return sum;
}

static xpc_endpoint_t service_endpoint;

static void answer(xpc_connection_t peer, xpc_object_t m)
{
	xpc_object_t r = xpc_dictionary_create_reply(m);
	xpc_object_t data = xpc_dictionary_get_value(m, "data");

	if (!r)
		return; /* one-way */
	xpc_dictionary_set_int64(r, "n", xpc_dictionary_get_int64(m, "n"));
	if (xpc_dictionary_get_bool(m, "get-endpoint"))
		xpc_dictionary_set_value(r, "endpoint", service_endpoint);
	if (xpc_dictionary_get_bool(m, "get-usage")) {
		struct rusage ru;
		getrusage(RUSAGE_SELF, &ru);
		xpc_dictionary_set_int64(r, "switches", ru.ru_nvcsw + ru.ru_nivcsw);
		xpc_dictionary_set_int64(r, "cpu-us", ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec +
							   ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec);
	}
	if (data && xpc_dictionary_get_bool(m, "bulk"))
		xpc_dictionary_set_int64(r, "sum", touch_pages(data));
	else if (data)
		xpc_dictionary_set_value(r, "data", data);
	xpc_connection_send_message(peer, r);
	xpc_release(r);
}

static void listen_on(xpc_connection_t l)
{
	if (!l)
		exit(1);
	xpc_connection_set_event_handler(l, ^(xpc_object_t ev) {
		if (xpc_get_type(ev) != XPC_TYPE_CONNECTION)
			return;
		xpc_connection_t peer = (xpc_connection_t)ev;
		xpc_connection_set_event_handler(peer, ^(xpc_object_t m) {
			if (xpc_get_type(m) == XPC_TYPE_DICTIONARY)
				answer(peer, m);
		});
		xpc_connection_resume(peer);
	});
	xpc_connection_resume(l);
}

static void service(const char *name)
{
	xpc_connection_t anon = xpc_connection_create(NULL, NULL);

	listen_on(anon);
	service_endpoint = xpc_endpoint_create(anon);
	if (!service_endpoint)
		exit(1);
	listen_on(xpc_connection_create_mach_service(name, NULL, XPC_CONNECTION_MACH_SERVICE_LISTENER));
	dispatch_main();
}

/* ---- the client side ---------------------------------------------------------- */

static xpc_connection_t activate(xpc_connection_t c)
{
	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) {
		(void)ev;
	});
	xpc_connection_resume(c);
	return c;
}

/* One request; 0 if the reply is a dictionary echoing n. */
static int request(xpc_connection_t c, xpc_object_t m, int64_t n)
{
	xpc_object_t r = xpc_connection_send_message_with_reply_sync(c, m);
	int ok = xpc_get_type(r) == XPC_TYPE_DICTIONARY && xpc_dictionary_get_int64(r, "n") == n;

	if (xpc_get_type(r) == XPC_TYPE_ERROR) {
		char *why = xpc_connection_copy_invalidation_reason(c);
		fprintf(stderr, "bench-xpc: %s (%s)\n", xpc_dictionary_get_string(r, XPC_ERROR_KEY_DESCRIPTION),
			why ? why : "no reason");
		free(why);
	}
	xpc_release(r);
	return ok ? 0 : -1;
}

static int ping(xpc_connection_t c, const void *payload, size_t size, int64_t n)
{
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0);
	int rc;

	xpc_dictionary_set_int64(m, "n", n);
	if (payload)
		xpc_dictionary_set_data(m, "data", payload, size);
	rc = request(c, m, n);
	xpc_release(m);
	return rc;
}

static void rtt_series(const char *series, xpc_connection_t c)
{
	char *buf = calloc(1, bench_sizes[BENCH_N_SIZES - 1]);
	double *ns = calloc(20000, sizeof(double));

	for (size_t s = 0; s < BENCH_N_SIZES; s++) {
		size_t size = bench_sizes[s];
		int n = bench_iterations(size, 20000);
		for (int i = -n / 10; i < n; i++) {
			uint64_t t0 = bench_now_ns();
			if (ping(c, buf, size, i) < 0)
				bench_fail(series);
			if (i >= 0)
				ns[i] = (double)(bench_now_ns() - t0);
		}
		bench_report_ns("rtt", series, (long)size, ns, n);
	}
	free(ns);
	free(buf);
}

/*
 * One untimed pass over every size.  The first few hundred large messages
 * of a process run several times slower than later ones (see
 * docs/performance.md); the figures are for the steady state.
 */
static void warm_up(xpc_connection_t c)
{
	char *buf = calloc(1, bench_sizes[BENCH_N_SIZES - 1]);

	for (size_t s = 0; s < BENCH_N_SIZES; s++)
		for (int i = 0; i < bench_iterations(bench_sizes[s], 200); i++)
			if (ping(c, buf, bench_sizes[s], i) < 0)
				bench_fail("warm-up");
	free(buf);
}

static void oneway(xpc_connection_t c)
{
	double rate[ROUNDS], worst;

	for (int r = 0; r < ROUNDS; r++) {
		uint64_t t0 = bench_now_ns();
		for (int i = 0; i < ONEWAY_N; i++) {
			xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0);
			xpc_dictionary_set_int64(m, "n", i);
			xpc_connection_send_message(c, m);
			xpc_release(m);
		}
		if (ping(c, NULL, 0, -1) < 0)
			bench_fail("oneway sync");
		rate[r] = ONEWAY_N / ((double)(bench_now_ns() - t0) / 1e9);
	}
	double med = bench_rate_stats(rate, ROUNDS, &worst);
	bench_result("oneway", "xpc-endpoint", -1, med, worst, "msgs/s");
}

static void bulk(xpc_connection_t c)
{
	char *buf = malloc(BULK_LEN);
	double rate[ROUNDS], worst;

	memset(buf, 'x', BULK_LEN);
	for (int r = -1; r < ROUNDS; r++) { /* round -1 warms up */
		uint64_t t0 = bench_now_ns();
		xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0);
		xpc_dictionary_set_int64(m, "n", r);
		xpc_dictionary_set_bool(m, "bulk", true);
		xpc_dictionary_set_data(m, "data", buf, BULK_LEN);
		if (request(c, m, r) < 0)
			bench_fail("bulk");
		xpc_release(m);
		if (r >= 0)
			rate[r] = BULK_LEN / (double)(bench_now_ns() - t0);
	}
	double med = bench_rate_stats(rate, ROUNDS, &worst);
	bench_result("bulk", "xpc-endpoint", -1, med, worst, "GB/s");
	free(buf);
}

/* The job's anonymous listener, asked for over the named connection. */
static xpc_endpoint_t fetch_endpoint(xpc_connection_t named)
{
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0);
	xpc_object_t r, ep;

	xpc_dictionary_set_bool(m, "get-endpoint", true);
	r = xpc_connection_send_message_with_reply_sync(named, m);
	ep = xpc_get_type(r) == XPC_TYPE_DICTIONARY ? xpc_dictionary_get_value(r, "endpoint") : NULL;
	if (!ep || xpc_get_type(ep) != XPC_TYPE_ENDPOINT)
		bench_fail("fetching the endpoint");
	xpc_retain(ep);
	xpc_release(r);
	xpc_release(m);
	return ep;
}

static int idle_client(const char *name)
{
	xpc_connection_t c = activate(xpc_connection_create_mach_service(name, NULL, 0));

	if (ping(c, NULL, 0, 1) < 0)
		return 1;
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}

static long idle_rss(const char *self, const char *name)
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
		execl(self, self, "idle-client", name, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	if (read(p[0], line, sizeof(line) - 1) > 0 && !strncmp(line, "ready", 5))
		kib = bench_rss_kib(pid);
	close(p[0]);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return kib;
}

static void setup_interleaved(xpc_connection_t (^mk_named)(void), xpc_connection_t (^mk_ep)(void), int n);

static void run_all(const char *self, const char *name)
{
	xpc_connection_t named = activate(xpc_connection_create_mach_service(name, NULL, 0));
	xpc_endpoint_t ep = fetch_endpoint(named);
	xpc_connection_t c = activate(xpc_connection_create_from_endpoint(ep));
	long kib;

	warm_up(c);
	warm_up(named);
	rtt_series("xpc-endpoint", c);
	rtt_series("xpc-named", named);
	oneway(c);
	bulk(c);
	setup_interleaved(^{
		return xpc_connection_create_mach_service(name, NULL, 0);
	}, ^{
		return xpc_connection_create_from_endpoint(ep);
	}, 300);
	kib = idle_rss(self, name);
	bench_result("rss", "xpc-client", -1, (double)kib, (double)kib, "KiB");
	xpc_connection_cancel(named);
	xpc_release(named);
	xpc_connection_cancel(c);
	xpc_release(c);
	xpc_release(ep);
}

/* ---- set-up alone, interleaved with its raw baseline ------------------------------ */

static pid_t raw_echo_server(struct sockaddr_un *sa)
{
	int l = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	pid_t pid;

	snprintf(sa->sun_path, sizeof(sa->sun_path), "/tmp/bench-xpc-raw.%d", (int)getpid());
	unlink(sa->sun_path);
	if (l < 0 || bind(l, (struct sockaddr *)sa, sizeof(*sa)) < 0 || listen(l, 128) < 0)
		bench_fail("raw listen");
	pid = fork();
	if (pid == 0) {
		char buf[128];
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the bench */
		for (;;) {
			int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
			ssize_t r = c >= 0 ? read(c, buf, sizeof(buf)) : -1;
			if (r > 0 && write(c, buf, (size_t)r) < 0)
				_exit(1);
			if (c >= 0)
				close(c);
		}
	}
	close(l);
	return pid;
}

/* socket + connect + one 64-byte round trip + close, as bench-raw's setup. */
static uint64_t raw_setup_once(const struct sockaddr_un *sa)
{
	char buf[64] = {0};
	uint64_t t0 = bench_now_ns();
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	if (fd < 0 || connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 ||
	    write(fd, buf, sizeof(buf)) != sizeof(buf) || read(fd, buf, sizeof(buf)) != sizeof(buf))
		bench_fail("raw connect");
	close(fd);
	return bench_now_ns() - t0;
}

static uint64_t xpc_setup_once(xpc_connection_t (^make)(void), int i)
{
	uint64_t t0 = bench_now_ns();
	xpc_connection_t c = activate(make());

	if (ping(c, NULL, 0, i) < 0)
		bench_fail("setup");
	uint64_t dt = bench_now_ns() - t0;
	xpc_connection_cancel(c);
	xpc_release(c);
	return dt;
}

/* Context switches and CPU time of this process (@self) or of the service
 * (over @c). */
static void usage_of(xpc_connection_t c, int64_t *switches, int64_t *cpu_us)
{
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0);
	xpc_object_t r;

	xpc_dictionary_set_bool(m, "get-usage", true);
	r = xpc_connection_send_message_with_reply_sync(c, m);
	*switches = xpc_dictionary_get_int64(r, "switches");
	*cpu_us = xpc_dictionary_get_int64(r, "cpu-us");
	xpc_release(r);
	xpc_release(m);
}

static void self_usage(int64_t *switches, int64_t *cpu_us)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	*switches = ru.ru_nvcsw + ru.ru_nivcsw;
	*cpu_us = ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec;
}

/* What one set-up costs beside time, load-independent: context switches
 * and CPU time of the client and of the service, over @n in a row. */
static void setup_cost(const char *series, xpc_connection_t named, xpc_connection_t (^make)(void), int n)
{
	int64_t cs0, cu0, ss0, su0, cs1, cu1, ss1, su1;

	self_usage(&cs0, &cu0);
	usage_of(named, &ss0, &su0);
	for (int i = 0; i < n; i++)
		(void)xpc_setup_once(make, i);
	usleep(20000); /* let the cancelled links' clean-up run */
	self_usage(&cs1, &cu1);
	usage_of(named, &ss1, &su1);
	fprintf(stderr, "%s per set-up: client %.1f switches %.1f us CPU, service %.1f switches %.1f us CPU\n", series,
		(double)(cs1 - cs0) / n, (double)(cu1 - cu0) / n, (double)(ss1 - ss0 - 1) / n, (double)(su1 - su0) / n);
}

/* Set-up, n times each (after n / 10 to warm up), interleaved: a raw
 * connect + round trip, a named connection (@mk_named), one from an
 * endpoint (@mk_ep); RESULT lines. */
static void setup_interleaved(xpc_connection_t (^mk_named)(void), xpc_connection_t (^mk_ep)(void), int n)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	pid_t srv = raw_echo_server(&sa);
	double *raw = calloc((size_t)n, sizeof(double)), *nm = calloc((size_t)n, sizeof(double));
	double *en = calloc((size_t)n, sizeof(double));

	for (int i = -n / 10; i < n; i++) {
		double r = (double)raw_setup_once(&sa);
		double a = (double)xpc_setup_once(mk_named, i);
		double b = (double)xpc_setup_once(mk_ep, i);
		if (i >= 0) {
			raw[i] = r;
			nm[i] = a;
			en[i] = b;
		}
	}
	kill(srv, SIGKILL);
	waitpid(srv, NULL, 0);
	unlink(sa.sun_path);
	double pr, pn, pe;
	double mr = bench_stats(raw, n, &pr), mn = bench_stats(nm, n, &pn), me = bench_stats(en, n, &pe);
	bench_result("setup", "raw-connect-interleaved", -1, mr / 1000, pr / 1000, "us");
	bench_result("setup", "xpc-named", -1, mn / 1000, pn / 1000, "us");
	bench_result("setup", "xpc-endpoint", -1, me / 1000, pe / 1000, "us");
	fprintf(stderr, "setup medians: raw %.1f us, named %.1f us (%.2fx), endpoint %.1f us (%.2fx)\n", mr / 1000,
		mn / 1000, mn / mr, me / 1000, me / mr);
	free(raw);
	free(nm);
	free(en);
}

static int setup_only(const char *name, int n)
{
	xpc_connection_t named = activate(xpc_connection_create_mach_service(name, NULL, 0));
	xpc_endpoint_t ep = fetch_endpoint(named);

	xpc_connection_t (^mk_named)(void) = ^{
		return xpc_connection_create_mach_service(name, NULL, 0);
	};
	xpc_connection_t (^mk_ep)(void) = ^{
		return xpc_connection_create_from_endpoint(ep);
	};

	setup_interleaved(mk_named, mk_ep, n);
	setup_cost("named", named, mk_named, n);
	setup_cost("endpoint", named, mk_ep, n);
	xpc_connection_cancel(named);
	xpc_release(named);
	xpc_release(ep);
	return 0;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc == 3 && !strcmp(argv[1], "service"))
		service(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "idle-client"))
		return idle_client(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "rss")) {
		long kib = idle_rss("/proc/self/exe", argv[2]);

		bench_result("rss", "xpc-client", -1, (double)kib, (double)kib, "KiB");
		return kib < 0;
	}
	if ((argc == 3 || argc == 4) && !strcmp(argv[1], "setup"))
		return setup_only(argv[2], argc == 4 ? atoi(argv[3]) : 300);
	if (argc != 2) {
		fprintf(stderr, "usage: bench-xpc NAME (with XPCD_SOCKET set)\n");
		return 2;
	}
	run_all("/proc/self/exe", argv[1]);
	return 0;
}
