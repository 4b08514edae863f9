/* SPDX-License-Identifier: MIT */
/*
 * bench-load.c - the "under load" figures of `make bench` (bench/run.sh,
 * docs/performance.md "Under load"): many clients at once against one
 * service, instead of one client at a time.
 *
 *   sweep     P processes x C connections (one thread per connection)
 *             doing synchronous 64-byte round trips to one service for
 *             BENCH_LOAD_SECS seconds (default 2) per point, at the points
 *             1x1, 8x1, 8x8, 64x1, 8x32.  Three transports, alternating at
 *             each point in one run:
 *               xpc    a named connection to an xpc_main echo service
 *                      launched by a private xpcd ({ "n", "data" } echoed)
 *               raw    an epoll echo server with 2 threads on an AF_UNIX
 *                      SOCK_SEQPACKET path (one packet each way)
 *               sdbus  sd-bus Echo(ay) through dbus-broker (sdbus-echo.c)
 *             and, at 8x8 only (64 concurrent clients), broker lookups:
 *               lookup        xpcd's { "xpcd.op": "lookup" } over one broker
 *                             link per client
 *               getnameowner  org.freedesktop.DBus.GetNameOwner to
 *                             dbus-broker
 *             Per point: requests/s, p50 and p99 of the round trip,
 *             fairness (the fewest and the most requests of one connection
 *             over the mean), CPU time (and its user-space part) and
 *             context switches per request of the clients (getrusage) and
 *             of the service side (/proc: the echo service, plus
 *             dbus-broker for sd-bus; xpcd resp. dbus-broker alone for
 *             lookups).
 *   idle      100 / 1000 / 10000 (/ 16000) idle named connections from one process
 *             to the xpc service: its resident and virtual memory per peer
 *             (the growth over one connection, divided by N), and the
 *             median set-up time (create, resume, first reply) of the last
 *             N/10 (at most 100) against the first N/10.
 *   lookups   lookup time of random names of an xpcd with many jobs.
 *   BENCH_LOAD_POINTS ("8x8,64x1,lookup") runs only these points of a sweep.
 *   BENCH_LOAD_ANATOMY=1 adds, at each point, two raw transports that each
 *             carry one of libxpc's architectural costs and nothing else of
 *             it (docs/performance.md "Where the time goes under load"):
 *               raw-ctl  the raw client doing what a sync call does to its
 *                        link's read source: an epoll_ctl that disarms the
 *                        watch before the request and one that re-arms it
 *                        after the reply (against the raw server)
 *               raw-mgr  the raw client against an echo server shaped like
 *                        a dispatch service: a manager thread in epoll_wait
 *                        on one-shot watches hands each ready socket to 2
 *                        worker threads (a mutex-protected FIFO; an idle
 *                        worker is woken through a condition variable), a
 *                        worker reads, answers and re-arms the watch
 *               raw-mgr-et  the same with edge-triggered watches that are
 *                        never re-armed: a worker reads with recvmmsg into
 *                        two buffers until it gets fewer than two packets
 *                        back (the queue was empty: the next packet makes
 *                        a new edge), so it learns that without a call
 *
 *   bench-load sweep NAME XPCD_PID DBUS_ADDR|- BROKER_PID DIR
 *   bench-load idle NAME N1 N2 N3 [N4]
 *   bench-load lookups PREFIX NJOBS COUNT
 *     (XPCD_SOCKET names the private xpcd in all three)
 *   bench-load service                the xpc_main echo job
 *   bench-load raw-service PATH       (internal) the epoll echo server
 *   bench-load raw-mgr-service PATH [et]  (internal) the dispatch-shaped one
 *   bench-load sdbus-service ADDR     (internal) Echo on the bus
 *   bench-load client T TARGET C BASE (internal) one client process
 *
 * Output on stdout, for bench/report-load.py:
 *   LOAD <transport> <P> <C> <req/s> <p50 us> <p99 us> <fair min> <fair max>
 *        <client CPU us/req> <client switches/req> <service CPU us/req>
 *        <service switches/req>
 * and RESULT lines (bench/bench.h) for idle and lookups.  Every process
 * raises its RLIMIT_NOFILE soft limit to the hard limit.  Client processes
 * are exec'd (the parent has libxpc's threads) and share one memfd of
 * counters with the parent; they die with it (PR_SET_PDEATHSIG).
 */
#include "bench.h"
#include "connection/connection.h"

#ifdef HAVE_SDBUS
#include "sdbus-echo.h"
#endif

#include <dirent.h>
#include <dispatch/dispatch.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xpc/xpc.h>

#define MAX_CONNS 512
#define HIST_N 704 /* 16 buckets per power of two, up to 2^44 ns */
#define PAYLOAD 64
#define SHM_FD 3
#define BUS_NAME "org.xpc.Bench"

/* The counters the client processes share with the parent (a memfd). */
typedef struct {
	_Atomic int ready;  /* connections set up */
	_Atomic int failed; /* connections that failed */
	_Atomic int go;     /* set by the parent: start */
	_Atomic uint64_t end_ns;
	_Atomic int64_t cpu_us, user_us, switches; /* clients, over the timed part */
	uint64_t count[MAX_CONNS];                 /* requests per connection */
	_Atomic uint64_t hist[HIST_N];             /* round-trip times */
} Shared;

/* ---- histogram ---------------------------------------------------------------- */

static int hist_index(uint64_t ns)
{
	int msb = ns ? 63 - __builtin_clzll(ns) : 0;

	if (msb < 4)
		return (int)ns;
	int i = msb * 16 + (int)((ns >> (msb - 4)) & 15);
	return i < HIST_N ? i : HIST_N - 1;
}

static double hist_value(int i)
{
	int msb = i / 16;

	if (msb < 4)
		return i;
	return (double)((uint64_t)(16 + i % 16) << (msb - 4));
}

static double hist_percentile(const _Atomic uint64_t *h, double q)
{
	uint64_t total = 0, seen = 0;

	for (int i = 0; i < HIST_N; i++)
		total += h[i];
	for (int i = 0; i < HIST_N; i++) {
		seen += h[i];
		if (total && (double)seen >= q * (double)total)
			return hist_value(i);
	}
	return 0;
}

/* ---- resource usage ------------------------------------------------------------ */

static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* CPU time (user + system), its user part, and context switches. */
typedef struct {
	int64_t cpu_us, user_us, switches;
} Usage;

static Usage self_usage(void)
{
	struct rusage ru;
	int64_t user;

	getrusage(RUSAGE_SELF, &ru);
	user = ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec;
	return (Usage){user + ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec, user, ru.ru_nvcsw + ru.ru_nivcsw};
}

/* The same of another process (all threads: CPU time from /proc/PID/stat,
 * context switches summed over /proc/PID/task/(star)/status); adds to @u. */
static void proc_usage(int pid, Usage *u)
{
	char path[96], buf[1024];
	unsigned long ut = 0, st = 0;
	FILE *f;
	DIR *d;
	struct dirent *e;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((f = fopen(path, "re"))) {
		if (fgets(buf, sizeof(buf), f)) {
			char *p = strrchr(buf, ')');
			if (p)
				sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st);
		}
		fclose(f);
	}
	u->cpu_us += (int64_t)(ut + st) * 1000000 / sysconf(_SC_CLK_TCK);
	u->user_us += (int64_t)ut * 1000000 / sysconf(_SC_CLK_TCK);
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	if (!(d = opendir(path)))
		return;
	while ((e = readdir(d))) {
		long v;
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/status", pid, e->d_name);
		if (!(f = fopen(path, "re")))
			continue;
		while (fgets(buf, sizeof(buf), f))
			if (sscanf(buf, "voluntary_ctxt_switches: %ld", &v) == 1 ||
			    sscanf(buf, "nonvoluntary_ctxt_switches: %ld", &v) == 1)
				u->switches += v;
		fclose(f);
	}
	closedir(d);
}

static void proc_memory(int pid, long *rss_kib, long *vm_kib)
{
	char path[64], line[256];
	FILE *f;

	*rss_kib = *vm_kib = -1;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (!(f = fopen(path, "re")))
		return;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "VmRSS: %ld", rss_kib);
		sscanf(line, "VmSize: %ld", vm_kib);
	}
	fclose(f);
}

/* ---- the xpc side ------------------------------------------------------------- */

static void service_peer(xpc_connection_t peer)
{
	xpc_connection_set_event_handler(peer, ^(xpc_object_t m) {
		if (xpc_get_type(m) != XPC_TYPE_DICTIONARY)
			return;
		xpc_object_t r = xpc_dictionary_create_reply(m);
		xpc_object_t data = xpc_dictionary_get_value(m, "data");
		if (!r)
			return;
		xpc_dictionary_set_int64(r, "n", xpc_dictionary_get_int64(m, "n"));
		if (xpc_dictionary_get_bool(m, "get-pid"))
			xpc_dictionary_set_int64(r, "pid", getpid());
		if (data)
			xpc_dictionary_set_value(r, "data", data);
		xpc_connection_send_message(peer, r);
		xpc_release(r);
	});
	xpc_connection_resume(peer);
}

static xpc_connection_t activate(xpc_connection_t c)
{
	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) {
		(void)ev;
	});
	xpc_connection_resume(c);
	return c;
}

/* One round trip of { n, data (64 B) }; the reply's "pid" in *pid if asked. */
static int xpc_ping(xpc_connection_t c, int64_t n, int64_t *pid)
{
	static const char payload[PAYLOAD];
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0), r;
	int ok;

	xpc_dictionary_set_int64(m, "n", n);
	xpc_dictionary_set_data(m, "data", payload, sizeof(payload));
	if (pid)
		xpc_dictionary_set_bool(m, "get-pid", true);
	r = xpc_connection_send_message_with_reply_sync(c, m);
	ok = xpc_get_type(r) == XPC_TYPE_DICTIONARY && xpc_dictionary_get_int64(r, "n") == n;
	if (ok && pid)
		*pid = xpc_dictionary_get_int64(r, "pid");
	xpc_release(r);
	xpc_release(m);
	return ok ? 0 : -1;
}

/* A link to the broker at $XPCD_SOCKET, as xpcctl makes one. */
static xpc_connection_t broker_link(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	const char *path = getenv("XPCD_SOCKET");
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	if (!path || fd < 0)
		return NULL;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return NULL;
	}
	xpc_connection_t c = connection_create_from_socket(fd, NULL);
	return c ? activate(c) : NULL;
}

static int broker_lookup(xpc_connection_t c, const char *name)
{
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0), r;
	int ok;

	xpc_dictionary_set_string(m, "xpcd.op", "lookup");
	xpc_dictionary_set_string(m, "name", name);
	r = xpc_connection_send_message_with_reply_sync(c, m);
	ok = xpc_get_type(r) == XPC_TYPE_DICTIONARY &&
	     xpc_get_type(xpc_dictionary_get_value(r, "endpoint")) == XPC_TYPE_ENDPOINT;
	xpc_release(r);
	xpc_release(m);
	return ok ? 0 : -1;
}

/* ---- the raw epoll echo server -------------------------------------------------- */

typedef struct {
	int ep;
} RawWorker;

static void *raw_worker(void *arg)
{
	RawWorker *w = arg;
	struct epoll_event ev[64];
	char buf[PAYLOAD * 4];

	for (;;) {
		int n = epoll_wait(w->ep, ev, 64, -1);
		for (int i = 0; i < n; i++) {
			int fd = ev[i].data.fd;
			ssize_t r = read(fd, buf, sizeof(buf));
			if (r <= 0 || write(fd, buf, (size_t)r) != r)
				close(fd); /* closing drops it from the epoll set */
		}
	}
	return NULL;
}

/* A listening SEQPACKET socket on @path. */
static int raw_listen(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int l = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 4096) < 0)
		bench_fail("raw listen");
	return l;
}

/* Two threads, each with an epoll set; the main thread accepts and deals
 * the connections out in turn. */
static int raw_service(const char *path)
{
	int l = raw_listen(path);
	RawWorker w[2];
	pthread_t t;
	unsigned next = 0;

	for (int i = 0; i < 2; i++) {
		w[i].ep = epoll_create1(EPOLL_CLOEXEC);
		if (w[i].ep < 0 || pthread_create(&t, NULL, raw_worker, &w[i]) != 0)
			bench_fail("raw worker");
	}
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
		struct epoll_event ev = {.events = EPOLLIN, .data.fd = c};
		if (c >= 0 && epoll_ctl(w[next++ % 2].ep, EPOLL_CTL_ADD, c, &ev) < 0)
			close(c);
	}
}

/* ---- the anatomy transports (BENCH_LOAD_ANATOMY) ------------------------------ */

#define MGR_QUEUE 4096 /* > the most connections of a point: each is queued once */

static struct {
	int ep;
	bool et; /* raw-mgr-et */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int q[MGR_QUEUE];
	unsigned head, tail;
	int idle;
} mgr = {.ep = -1, .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

/* The manager: one-shot events to the FIFO, an idle worker woken. */
static void *mgr_main(void *arg)
{
	struct epoll_event ev[64];

	(void)arg;
	for (;;) {
		int n = epoll_wait(mgr.ep, ev, 64, -1);
		pthread_mutex_lock(&mgr.lock);
		for (int i = 0; i < n; i++)
			mgr.q[mgr.tail++ % MGR_QUEUE] = ev[i].data.fd;
		bool wake = n > 0 && mgr.idle > 0;
		pthread_mutex_unlock(&mgr.lock);
		if (wake)
			pthread_cond_signal(&mgr.cond);
	}
	return NULL;
}

/* raw-mgr-et: echoes until recvmmsg returns fewer packets than it could
 * take (the socket was empty then); a packet that arrives later makes a
 * new edge, so the watch needs no re-arm.  Two workers may echo on one
 * socket at once (an edge during a read): packets stay whole. */
static void mgr_echo_et(int fd)
{
	char buf[2][PAYLOAD * 4];
	struct iovec iov[2] = {{buf[0], sizeof(buf[0])}, {buf[1], sizeof(buf[1])}};
	struct mmsghdr m[2];
	int n;

	do {
		memset(m, 0, sizeof(m));
		for (int i = 0; i < 2; i++) {
			m[i].msg_hdr.msg_iov = &iov[i];
			m[i].msg_hdr.msg_iovlen = 1;
		}
		n = recvmmsg(fd, m, 2, MSG_DONTWAIT, NULL);
		for (int i = 0; i < n; i++)
			if (m[i].msg_len == 0 || write(fd, buf[i], m[i].msg_len) != (ssize_t)m[i].msg_len) {
				close(fd);
				return;
			}
	} while (n == 2);
	if (n < 0 && errno != EAGAIN)
		close(fd);
}

static void *mgr_worker(void *arg)
{
	char buf[PAYLOAD * 4];

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&mgr.lock);
		while (mgr.head == mgr.tail) {
			mgr.idle++;
			pthread_cond_wait(&mgr.cond, &mgr.lock);
			mgr.idle--;
		}
		int fd = mgr.q[mgr.head++ % MGR_QUEUE];
		pthread_mutex_unlock(&mgr.lock);
		if (mgr.et) {
			mgr_echo_et(fd);
			continue;
		}
		ssize_t r = read(fd, buf, sizeof(buf));
		struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT, .data.fd = fd};
		if (r <= 0 || write(fd, buf, (size_t)r) != r || epoll_ctl(mgr.ep, EPOLL_CTL_MOD, fd, &ev) < 0)
			close(fd);
	}
	return NULL;
}

static int raw_mgr_service(const char *path, bool et)
{
	int l = raw_listen(path);
	pthread_t t;
	uint32_t events = et ? EPOLLIN | EPOLLET : EPOLLIN | EPOLLONESHOT;

	mgr.et = et;
	mgr.ep = epoll_create1(EPOLL_CLOEXEC);
	if (mgr.ep < 0 || pthread_create(&t, NULL, mgr_main, NULL) != 0 ||
	    pthread_create(&t, NULL, mgr_worker, NULL) != 0 || pthread_create(&t, NULL, mgr_worker, NULL) != 0)
		bench_fail("raw-mgr threads");
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
		struct epoll_event ev = {.events = events, .data.fd = c};
		if (c >= 0 && epoll_ctl(mgr.ep, EPOLL_CTL_ADD, c, &ev) < 0)
			close(c);
	}
}

/* raw-ctl: the process's epoll set, which nobody waits on (a sync call's
 * disarmed watch wakes no one either) */
static int ctl_ep = -1;
static pthread_once_t ctl_once = PTHREAD_ONCE_INIT;

static void ctl_init(void)
{
	ctl_ep = epoll_create1(EPOLL_CLOEXEC);
}

static int ctl_watch(int fd, uint32_t events, int op)
{
	struct epoll_event ev = {.events = events | EPOLLONESHOT, .data.fd = fd};

	pthread_once(&ctl_once, ctl_init);
	return epoll_ctl(ctl_ep, op, fd, &ev);
}

static int raw_ping(int fd);

static int raw_ctl_ping(int fd)
{
	int r;

	if (ctl_watch(fd, 0, EPOLL_CTL_MOD) < 0) /* suspend */
		return -1;
	r = raw_ping(fd);
	return ctl_watch(fd, EPOLLIN, EPOLL_CTL_MOD) < 0 ? -1 : r; /* resume */
}

static int raw_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int raw_ping(int fd)
{
	char buf[PAYLOAD] = {0};

	return write(fd, buf, sizeof(buf)) == sizeof(buf) && read(fd, buf, sizeof(buf)) == sizeof(buf) ? 0 : -1;
}

/* ---- the sd-bus side ------------------------------------------------------------ */

#ifdef HAVE_SDBUS
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

static int sdbus_service(const char *address)
{
	sd_bus *bus = bus_connect(address);

	if (!bus || sd_bus_request_name(bus, BUS_NAME, 0) < 0)
		return 1;
	printf("ready\n");
	fflush(stdout);
	sdbus_echo_serve(bus);
}

static int get_name_owner(sd_bus *bus)
{
	sd_bus_error err = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	const char *owner = NULL;
	int r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
				   "GetNameOwner", &err, &reply, "s", BUS_NAME);

	if (r >= 0)
		r = sd_bus_message_read(reply, "s", &owner);
	sd_bus_error_free(&err);
	sd_bus_message_unref(reply);
	return r >= 0 && owner ? 0 : -1;
}
#endif

/* ---- one client process: C threads, one connection each --------------------------- */

/* What the threads of one client process share: how many finished their
 * timed loop, under a lock the main thread sleeps on (it must not poll: its
 * wake-ups would count as the clients' context switches). */
typedef struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int done;
} Finish;

typedef struct {
	const char *transport, *target;
	Shared *sh;
	int slot;
	Finish *fin;
} Client;

static void finish(Finish *f)
{
	pthread_mutex_lock(&f->lock);
	f->done++;
	pthread_cond_signal(&f->cond);
	pthread_mutex_unlock(&f->lock);
}

static int conn_call(const char *t, void *c, const char *target, int64_t n);
static void conn_close(const char *t, void *c);

/* One connection of @t to @target, set up and answered once; NULL on failure. */
static void *conn_open_once(const char *t, const char *target)
{
	void *c = NULL;

	if (!strcmp(t, "xpc"))
		c = activate(xpc_connection_create_mach_service(target, NULL, 0));
	else if (!strcmp(t, "lookup"))
		c = broker_link();
	else if (!strncmp(t, "raw", 3)) {
		int fd = raw_connect(target);
		if (fd >= 0 && !strcmp(t, "raw-ctl") && ctl_watch(fd, EPOLLIN, EPOLL_CTL_ADD) < 0) {
			close(fd);
			fd = -1;
		}
		c = fd >= 0 ? (void *)(intptr_t)(fd + 1) : NULL;
	}
#ifdef HAVE_SDBUS
	else
		c = bus_connect(target);
#endif
	if (c && conn_call(t, c, target, 0) < 0) {
		conn_close(t, c);
		c = NULL;
	}
	return c;
}

/*
 * The same, tried up to 5 times: when hundreds of clients connect at once a
 * daemon's listen backlog overflows (sd-bus then fails with ENOTCONN).  Set-up
 * is not timed here; the load points measure the connected clients.
 */
static void *conn_open(const char *t, const char *target)
{
	for (int i = 0; i < 5; i++) {
		void *c = conn_open_once(t, target);
		if (c)
			return c;
		usleep(20000 * (i + 1));
	}
	return NULL;
}

static int conn_call(const char *t, void *c, const char *target, int64_t n)
{
	static const char payload[PAYLOAD];

	(void)payload;
	if (!strcmp(t, "xpc"))
		return xpc_ping(c, n, NULL);
	if (!strcmp(t, "lookup"))
		return broker_lookup(c, target);
	if (!strcmp(t, "raw-ctl"))
		return raw_ctl_ping((int)(intptr_t)c - 1);
	if (!strncmp(t, "raw", 3))
		return raw_ping((int)(intptr_t)c - 1);
#ifdef HAVE_SDBUS
	if (!strcmp(t, "sdbus"))
		return sdbus_echo_call(c, BUS_NAME, payload, PAYLOAD);
	return get_name_owner(c);
#else
	return -1;
#endif
}

static void conn_close(const char *t, void *c)
{
	if (!strcmp(t, "xpc") || !strcmp(t, "lookup")) {
		xpc_connection_cancel(c);
		xpc_release(c);
	} else if (!strncmp(t, "raw", 3)) {
		close((int)(intptr_t)c - 1); /* (raw-ctl: leaves the epoll set with it) */
	} else {
#ifdef HAVE_SDBUS
		sd_bus_flush_close_unref(c);
#endif
	}
}

static void *client_thread(void *arg)
{
	Client *cl = arg;
	Shared *sh = cl->sh;
	uint64_t *hist = calloc(HIST_N, sizeof(*hist)), n = 0;
	void *c = conn_open(cl->transport, cl->target);

	if (!c || !hist) {
		atomic_fetch_add(&sh->failed, 1);
		finish(cl->fin);
		return NULL;
	}
	atomic_fetch_add(&sh->ready, 1);
	while (!atomic_load(&sh->go))
		usleep(500);
	uint64_t end = atomic_load(&sh->end_ns), t = bench_now_ns();
	while (t < end) {
		if (conn_call(cl->transport, c, cl->target, (int64_t)n) < 0) {
			atomic_fetch_add(&sh->failed, 1);
			break;
		}
		uint64_t t1 = bench_now_ns();
		hist[hist_index(t1 - t)]++;
		n++;
		t = t1;
	}
	sh->count[cl->slot] = n;
	for (int i = 0; i < HIST_N; i++)
		if (hist[i])
			atomic_fetch_add(&sh->hist[i], hist[i]);
	finish(cl->fin);
	conn_close(cl->transport, c);
	free(hist);
	return NULL;
}

static int client_process(const char *transport, const char *target, int nconn, int base)
{
	Shared *sh = mmap(NULL, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED, SHM_FD, 0);
	pthread_t *tid = calloc((size_t)nconn, sizeof(*tid));
	Client *cl = calloc((size_t)nconn, sizeof(*cl));
	Finish fin = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
	Usage u0, u1;

	if (sh == MAP_FAILED || !tid || !cl)
		return 1;
	for (int i = 0; i < nconn; i++) {
		cl[i] = (Client){transport, target, sh, base + i, &fin};
		if (pthread_create(&tid[i], NULL, client_thread, &cl[i]) != 0)
			bench_fail("pthread_create");
	}
	while (!atomic_load(&sh->go) && !atomic_load(&sh->failed))
		usleep(500);
	u0 = self_usage();
	pthread_mutex_lock(&fin.lock);
	while (fin.done < nconn)
		pthread_cond_wait(&fin.cond, &fin.lock);
	pthread_mutex_unlock(&fin.lock);
	u1 = self_usage();
	atomic_fetch_add(&sh->cpu_us, u1.cpu_us - u0.cpu_us);
	atomic_fetch_add(&sh->user_us, u1.user_us - u0.user_us);
	atomic_fetch_add(&sh->switches, u1.switches - u0.switches);
	for (int i = 0; i < nconn; i++)
		pthread_join(tid[i], NULL);
	return 0;
}

/* ---- the parent: one load point ---------------------------------------------- */

static const char *self_exe = "/proc/self/exe";

/* fork + exec of this program with @argv; @shm_fd (or -1) becomes fd 3,
 * stdout goes to @out_fd (or stays). */
static pid_t spawn(char *const argv[], int shm_fd, int out_fd)
{
	pid_t pid = fork();

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the bench */
		if (shm_fd >= 0 && dup2(shm_fd, SHM_FD) < 0)
			_exit(127);
		if (out_fd >= 0 && dup2(out_fd, 1) < 0)
			_exit(127);
		execv(self_exe, argv);
		_exit(127);
	}
	return pid;
}

/* A helper server that prints "ready" on stdout once it serves. */
static pid_t spawn_server(char *const argv[])
{
	int p[2];
	char line[16] = {0};
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		bench_fail("pipe");
	pid = spawn(argv, -1, p[1]);
	close(p[1]);
	if (read(p[0], line, sizeof(line) - 1) <= 0 || strncmp(line, "ready", 5))
		bench_fail(argv[1]);
	close(p[0]);
	return pid;
}

static void stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

typedef struct {
	const char *transport, *target;
	int srv_pid[2]; /* the service side, 0 = none */
} Target;

static double load_secs(void)
{
	const char *e = getenv("BENCH_LOAD_SECS");
	double s = e ? atof(e) : 2.0;

	return s > 0 ? s : 2.0;
}

/* The fields after LOAD: transport, P, C, requests/s, p50 and p99 (us),
 * fairness (fewest, most), then per request: the clients' CPU (us) and
 * context switches, the service side's CPU and context switches, the
 * clients' and the service side's user-space CPU (bench/report-load.py). */
static void report_point(const Target *t, int np, int nc, Shared *sh, double secs, Usage svc)
{
	int n = np * nc;
	uint64_t total = 0, lo = UINT64_MAX, hi = 0;

	for (int i = 0; i < n; i++) {
		total += sh->count[i];
		lo = sh->count[i] < lo ? sh->count[i] : lo;
		hi = sh->count[i] > hi ? sh->count[i] : hi;
	}
	double mean = (double)total / n, req = total ? (double)total : 1;
	printf("LOAD %s %d %d %.6g %.4g %.4g %.3f %.3f %.4g %.4g %.4g %.4g %.4g %.4g\n", t->transport, np, nc,
	       total / secs, hist_percentile(sh->hist, 0.5) / 1000, hist_percentile(sh->hist, 0.99) / 1000,
	       mean > 0 ? lo / mean : 0, mean > 0 ? hi / mean : 0, (double)sh->cpu_us / req, (double)sh->switches / req,
	       (double)svc.cpu_us / req, (double)svc.switches / req, (double)sh->user_us / req,
	       (double)svc.user_us / req);
	fflush(stdout);
}

static Usage service_usage(const Target *t)
{
	Usage u = {0, 0, 0};

	for (int i = 0; i < 2; i++)
		if (t->srv_pid[i] > 0)
			proc_usage(t->srv_pid[i], &u);
	return u;
}

/* Runs @np x @nc clients of @t for the configured time; one LOAD line. */
static void run_point(const Target *t, int np, int nc)
{
	int fd = memfd_create("bench-load", MFD_CLOEXEC);
	Shared *sh;
	pid_t *pids = calloc((size_t)np, sizeof(*pids));
	double secs = load_secs();
	Usage u0, u1;
	uint64_t t0, deadline = bench_now_ns() + 60ull * 1000000000ull;

	if (fd < 0 || ftruncate(fd, sizeof(Shared)) < 0 || !pids)
		bench_fail("memfd");
	sh = mmap(NULL, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (sh == MAP_FAILED)
		bench_fail("mmap");
	for (int p = 0; p < np; p++) {
		char cs[16], bs[16];
		snprintf(cs, sizeof(cs), "%d", nc);
		snprintf(bs, sizeof(bs), "%d", p * nc);
		char *argv[] = {"bench-load", "client", (char *)t->transport, (char *)t->target, cs, bs, NULL};
		pids[p] = spawn(argv, fd, -1);
	}
	while (atomic_load(&sh->ready) + atomic_load(&sh->failed) < np * nc && bench_now_ns() < deadline)
		usleep(1000);
	if (atomic_load(&sh->failed) || atomic_load(&sh->ready) < np * nc) {
		fprintf(stderr, "bench-load: %s %dx%d: %d of %d connections failed\n", t->transport, np, nc,
			atomic_load(&sh->failed), np * nc);
		exit(1);
	}
	u0 = service_usage(t);
	t0 = bench_now_ns();
	atomic_store(&sh->end_ns, t0 + (uint64_t)(secs * 1e9));
	atomic_store(&sh->go, 1);
	for (int p = 0; p < np; p++) {
		int st;
		if (waitpid(pids[p], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
			bench_fail("a client process");
	}
	u1 = service_usage(t);
	if (atomic_load(&sh->failed))
		bench_fail("a round trip under load");
	report_point(t, np, nc, sh, secs,
		     (Usage){u1.cpu_us - u0.cpu_us, u1.user_us - u0.user_us, u1.switches - u0.switches});
	munmap(sh, sizeof(Shared));
	close(fd);
	free(pids);
}

/* The xpc service's pid: it is launched on demand, so ask it. */
static int xpc_service_pid(const char *name)
{
	xpc_connection_t c = activate(xpc_connection_create_mach_service(name, NULL, 0));
	int64_t pid = 0;

	if (xpc_ping(c, 1, &pid) < 0)
		bench_fail("asking the xpc service for its pid");
	xpc_connection_cancel(c);
	xpc_release(c);
	return (int)pid;
}

static const int points[][2] = {{1, 1}, {8, 1}, {8, 8}, {64, 1}, {8, 32}};

/* BENCH_LOAD_POINTS ("8x8,64x1"; default: all) picks the points of a
 * sweep, and leaves out the broker lookups unless it names "lookup". */
static bool point_wanted(const char *what)
{
	const char *e = getenv("BENCH_LOAD_POINTS");
	size_t n = strlen(what);

	if (!e || !*e)
		return true;
	for (const char *p = e; (p = strstr(p, what)); p += n)
		if ((p == e || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
			return true;
	return false;
}

static int sweep(const char *name, int xpcd_pid, const char *dbus, int broker_pid, const char *dir)
{
	char raw_path[256], mgr_path[256], et_path[256];
	pid_t raw, rawmgr = 0, rawet = 0, sd = 0;
	bool anatomy = getenv("BENCH_LOAD_ANATOMY") && atoi(getenv("BENCH_LOAD_ANATOMY")) > 0;

	snprintf(raw_path, sizeof(raw_path), "%s/raw-load.sock", dir);
	snprintf(mgr_path, sizeof(mgr_path), "%s/raw-mgr.sock", dir);
	snprintf(et_path, sizeof(et_path), "%s/raw-mgr-et.sock", dir);
	raw = spawn_server((char *[]){"bench-load", "raw-service", raw_path, NULL});
	if (anatomy) {
		rawmgr = spawn_server((char *[]){"bench-load", "raw-mgr-service", mgr_path, NULL});
		rawet = spawn_server((char *[]){"bench-load", "raw-mgr-service", et_path, "et", NULL});
	}
#ifdef HAVE_SDBUS
	if (strcmp(dbus, "-"))
		sd = spawn_server((char *[]){"bench-load", "sdbus-service", (char *)dbus, NULL});
#endif
	Target tx = {"xpc", name, {xpc_service_pid(name), 0}};
	Target tr = {"raw", raw_path, {raw, 0}};
	Target tc = {"raw-ctl", raw_path, {raw, 0}};
	Target tm = {"raw-mgr", mgr_path, {rawmgr, 0}};
	Target te = {"raw-mgr-et", et_path, {rawet, 0}};
	Target ts = {"sdbus", dbus, {sd, broker_pid}};
	Target tl = {"lookup", name, {xpcd_pid, 0}};
	Target tg = {"getnameowner", dbus, {broker_pid, 0}};

	fprintf(stderr, "bench-load: %.1f s per point (BENCH_LOAD_SECS)\n", load_secs());
	for (size_t i = 0; i < sizeof(points) / sizeof(points[0]); i++) {
		int np = points[i][0], nc = points[i][1];
		char what[32];
		snprintf(what, sizeof(what), "%dx%d", np, nc);
		if (!point_wanted(what))
			continue;
		fprintf(stderr, "bench-load: %dx%d\n", np, nc);
		run_point(&tx, np, nc);
		run_point(&tr, np, nc);
		if (anatomy) {
			run_point(&tc, np, nc);
			run_point(&tm, np, nc);
			run_point(&te, np, nc);
		}
		if (sd)
			run_point(&ts, np, nc);
	}
	if (point_wanted("lookup")) {
		fprintf(stderr, "bench-load: broker lookups, 8x8\n");
		run_point(&tl, 8, 8);
		if (sd)
			run_point(&tg, 8, 8);
	}
	if (sd)
		stop(sd);
	stop(raw);
	unlink(raw_path);
	if (rawmgr) {
		stop(rawmgr);
		stop(rawet);
		unlink(mgr_path);
		unlink(et_path);
	}
	return 0;
}

/* ---- idle peers ------------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* The median of @n values from @v (left unsorted), in microseconds. */
static double median_us(const uint64_t *v, int n)
{
	uint64_t *w = malloc((size_t)n * sizeof(*w));
	double m;

	if (!w)
		bench_fail("malloc");
	memcpy(w, v, (size_t)n * sizeof(*w));
	qsort(w, (size_t)n, sizeof(*w), cmp_u64);
	m = (double)w[n / 2] / 1000;
	free(w);
	return m;
}

static int idle(const char *name, int nsteps, char **steps)
{
	int max = atoi(steps[nsteps - 1]), pid = xpc_service_pid(name), done = 0;
	xpc_connection_t *c = calloc((size_t)max, sizeof(*c));
	uint64_t *ns = calloc((size_t)max, sizeof(*ns));
	xpc_connection_t probe = activate(xpc_connection_create_mach_service(name, NULL, 0));
	long rss0, vm0, rss, vm;

	if (!c || !ns || xpc_ping(probe, 0, NULL) < 0)
		bench_fail("idle set-up");
	usleep(100000);
	proc_memory(pid, &rss0, &vm0);
	for (int s = 0; s < nsteps; s++) {
		int n = atoi(steps[s]);
		for (; done < n; done++) {
			uint64_t t0 = bench_now_ns();
			c[done] = activate(xpc_connection_create_mach_service(name, NULL, 0));
			if (xpc_ping(c[done], done, NULL) < 0) {
				fprintf(stderr, "bench-load: idle connection %d failed\n", done + 1);
				exit(1);
			}
			ns[done] = bench_now_ns() - t0;
		}
		usleep(200000); /* let the service settle */
		if (xpc_ping(probe, 1, NULL) < 0)
			bench_fail("the service after the idle peers");
		proc_memory(pid, &rss, &vm);
		char series[32];
		snprintf(series, sizeof(series), "xpc-idle-%d", n);
		bench_result("peer-rss", series, n, (double)(rss - rss0) / n, (double)rss, "KiB");
		bench_result("peer-vm", series, n, (double)(vm - vm0) / n, (double)vm, "KiB");
		int k = n / 10 < 100 ? (n / 10 ? n / 10 : 1) : 100; /* first and last tenth, at most 100 */
		double first = median_us(ns, k), last = median_us(ns + n - k, k);
		bench_result("peer-setup", series, n, last, first, "us");
		fprintf(stderr, "bench-load: %d idle peers: service +%.1f KiB RSS, +%.1f KiB virtual per peer; "
				"set-up of the last %d %.1f us vs the first %d %.1f us (%.2fx)\n",
			n, (double)(rss - rss0) / n, (double)(vm - vm0) / n, k, last, k, first, last / first);
	}
	for (int i = 0; i < done; i++) {
		xpc_connection_cancel(c[i]);
		xpc_release(c[i]);
	}
	xpc_connection_cancel(probe);
	xpc_release(probe);
	return 0;
}

/* ---- lookups among many jobs ---------------------------------------------------- */

static int lookups(const char *prefix, int njobs, int count)
{
	xpc_connection_t c = broker_link();
	double *ns = calloc((size_t)count, sizeof(*ns));
	char name[256];

	if (!c || !ns)
		bench_fail("broker link");
	srand(1);
	for (int i = -count / 10; i < count; i++) {
		snprintf(name, sizeof(name), "%s%d", prefix, rand() % njobs);
		uint64_t t0 = bench_now_ns();
		if (broker_lookup(c, name) < 0)
			bench_fail(name);
		if (i >= 0)
			ns[i] = (double)(bench_now_ns() - t0);
	}
	char series[32];
	snprintf(series, sizeof(series), "xpcd-%d-jobs", njobs);
	bench_report_ns("lookup", series, -1, ns, count);
	xpc_connection_cancel(c);
	xpc_release(c);
	free(ns);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench-load sweep NAME XPCD_PID DBUS_ADDR|- BROKER_PID DIR\n"
			"       bench-load idle NAME N...\n"
			"       bench-load lookups PREFIX NJOBS COUNT\n"
			"       bench-load service\n");
	exit(2);
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	if (argc == 2 && !strcmp(argv[1], "service"))
		xpc_main(service_peer);
	if (argc == 3 && !strcmp(argv[1], "raw-service"))
		return raw_service(argv[2]);
	if ((argc == 3 || argc == 4) && !strcmp(argv[1], "raw-mgr-service"))
		return raw_mgr_service(argv[2], argc == 4 && !strcmp(argv[3], "et"));
#ifdef HAVE_SDBUS
	if (argc == 3 && !strcmp(argv[1], "sdbus-service"))
		return sdbus_service(argv[2]);
#endif
	if (argc == 6 && !strcmp(argv[1], "client"))
		return client_process(argv[2], argv[3], atoi(argv[4]), atoi(argv[5]));
	if (argc == 7 && !strcmp(argv[1], "sweep"))
		return sweep(argv[2], atoi(argv[3]), argv[4], atoi(argv[5]), argv[6]);
	if (argc >= 4 && !strcmp(argv[1], "idle"))
		return idle(argv[2], argc - 3, argv + 3);
	if (argc == 5 && !strcmp(argv[1], "lookups"))
		return lookups(argv[2], atoi(argv[3]), atoi(argv[4]));
	usage();
}
