/*
 * stress-client - the client processes of the stress tests.  Each mode
 * talks to the named service NAME (through $XPCD_SOCKET) and ends by
 * printing one line "result ok=0|1 key=value ..." on stdout; exit status 0
 * when ok.
 *
 *   busy NAME       sync + async requests and one-way messages until
 *                   SIGUSR1, then waits for every pending reply: each must
 *                   get exactly one answer (reply, INTERRUPTED or INVALID);
 *                   no descriptor may be left after cancel.  (kill loops)
 *   load NAME N     N requests with a one-way "seq" after every third, each
 *                   reply checked in order, then the service's per-peer
 *                   sequence count and order.  (load)
 *   idle NAME N B   opens N connections, B at a time, one request on each,
 *                   prints "ready ok=.. limit=.. other=..", then sleeps until
 *                   killed.
 *   flood NAME S    one-way 16 KiB "slow" messages for S seconds or until
 *                   the link is cut; prints the invalidation reason.
 *   noread NAME S   checks in by hand (broker lookup, check-in frame) and
 *                   writes small requests for 32 KiB replies ("bulk") on
 *                   that link, never reading it, for S seconds or until the
 *                   service closes it.
 *   fds NAME N      one request carrying N descriptors, then a plain echo.
 *   rawlinks N      N raw links to the broker socket, "ready", then sleeps.
 *   fdpress NAME N K  opens N connections one after the other, each with
 *                   one request carrying K descriptors, and holds them;
 *                   prints "ready replies=.. interrupted=.. invalid=..
 *                   why=.." (one answer per request) then sleeps until
 *                   killed.  (descriptor exhaustion of the service)
 *   checkins NAME S  check-ins written by hand to the service's listener
 *                   channel for S seconds, as fast as it takes them; holds
 *                   every link; prints "ready queued=.. full=.. other=.."
 *                   (full: times the channel said EAGAIN), then sleeps.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <xpc/xpc.h>

#include "connection/connection.h"
#include "connection/internal.h"
#include "object/object.h"
#include "transport/transport.h"
#include "wire/wire.h"
#include "shared/xpcd-protocol.h"

#define REQUIRE_OK(cond)                                                                \
	do {                                                                            \
		if (!(cond)) {                                                          \
			fprintf(stderr, "stress-client: %s failed\n", #cond);            \
			exit(3);                                                        \
		}                                                                       \
	} while (0)

#define MAX_REQUESTS (1u << 22)
#define WINDOW 128 /* async requests in flight */

/* Set by SIGUSR1, which may land on any thread (the dispatch workers'
 * mask comes from when the runtime starts): a lock-free atomic, which is
 * async-signal-safe and race-free (volatile sig_atomic_t is only the
 * former; TSan reported it). */
static atomic_int stop;

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = -1;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static xpc_connection_t open_named(const char *name, void (^on_error)(xpc_object_t))
{
	xpc_connection_t c = xpc_connection_create_mach_service(name, NULL, 0);

	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) {
		if (xpc_get_type(ev) == XPC_TYPE_ERROR && on_error)
			on_error(ev);
	});
	xpc_connection_resume(c);
	return c;
}

static xpc_object_t request(const char *op, uint64_t n)
{
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0);

	xpc_dictionary_set_string(m, "op", op);
	xpc_dictionary_set_uint64(m, "n", n);
	return m;
}

/* Settles descriptors back to @base (teardown is asynchronous); the cache
 * of looked-up channels keeps one on purpose (docs/services.md). */
static int settle_fds(int base)
{
	int n;

	connection_forget_services();
	n = count_fds();

	for (int i = 0; i < 500 && n > base; i++) {
		usleep(10000);
		n = count_fds();
	}
	return n - base;
}

static void warm(void)
{
	dispatch_queue_t q = dispatch_queue_create("warm", NULL);
	dispatch_sync(q, ^{
	});
	dispatch_release(q);
}

/* ---- busy: the kill loops' exchange ---------------------------------------------- */

typedef struct Tally {
	atomic_uint_fast8_t *answers; /* per request */
	atomic_ulong replies, interrupted, invalid, dup, bad;
} Tally;

static void tally(Tally *t, uint64_t i, xpc_object_t r)
{
	if (atomic_fetch_add(&t->answers[i], 1) != 0)
		atomic_fetch_add(&t->dup, 1);
	if (xpc_get_type(r) == XPC_TYPE_DICTIONARY) {
		atomic_fetch_add(&t->replies, 1);
		if (xpc_dictionary_get_uint64(r, "n") != i)
			atomic_fetch_add(&t->bad, 1);
	} else if (r == XPC_ERROR_CONNECTION_INTERRUPTED) {
		atomic_fetch_add(&t->interrupted, 1);
	} else {
		atomic_fetch_add(&t->invalid, 1);
	}
}

static void on_usr1(int sig)
{
	(void)sig;
	atomic_store(&stop, 1);
}

static int busy_send(xpc_connection_t c, Tally *t, dispatch_semaphore_t window, uint64_t i, uint64_t *seq)
{
	xpc_object_t m;

	if (i % 4 == 3) {
		m = request("seq", (*seq)++);
		xpc_connection_send_message(c, m);
	} else if (i % 4 == 0) {
		m = request("echo", i);
		xpc_object_t r = xpc_connection_send_message_with_reply_sync(c, m);
		tally(t, i, r);
		xpc_release(r);
	} else {
		if (dispatch_semaphore_wait(window, dispatch_time(DISPATCH_TIME_NOW, 20 * NSEC_PER_SEC)) != 0)
			return -1; /* no answer for 20 s: hung */
		m = request("echo", i);
		xpc_connection_send_message_with_reply(c, m, NULL, ^(xpc_object_t r) {
			tally(t, i, r);
			dispatch_semaphore_signal(window);
		});
	}
	xpc_release(m);
	return 0;
}

static int do_busy(const char *name)
{
	Tally t = {.answers = calloc(MAX_REQUESTS, 1)};
	dispatch_semaphore_t window = dispatch_semaphore_create(WINDOW);
	uint64_t i, seq = 0, requests = 0;
	int hung = 0, base;
	__block atomic_int invalid_conn = 0;

	sigset_t usr1;

	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	signal(SIGUSR1, on_usr1);
	sigprocmask(SIG_UNBLOCK, &usr1, NULL); /* blocked by the test until now */
	warm();
	base = count_fds();
	xpc_connection_t c = open_named(name, ^(xpc_object_t ev) {
		if (ev == XPC_ERROR_CONNECTION_INVALID)
			atomic_store(&invalid_conn, 1);
	});
	printf("started\n");
	fflush(stdout);
	for (i = 0; !atomic_load(&stop) && !atomic_load(&invalid_conn) && i < MAX_REQUESTS; i++) {
		if (busy_send(c, &t, window, i, &seq) < 0) {
			hung = 1;
			break;
		}
		requests += i % 4 != 3;
	}
	/* every async request gives its window slot back when answered */
	for (int k = 0; k < WINDOW && !hung; k++)
		if (dispatch_semaphore_wait(window, dispatch_time(DISPATCH_TIME_NOW, 20 * NSEC_PER_SEC)) != 0)
			hung = 1;
	if (atomic_load(&invalid_conn)) {
		char *why = xpc_connection_copy_invalidation_reason(c);
		fprintf(stderr, "stress-client %d: connection invalid: %s\n", (int)getpid(), why ? why : "-");
		free(why);
	}
	xpc_connection_cancel(c);
	xpc_release(c);
	usleep(20000);
	unsigned long answered = t.replies + t.interrupted + t.invalid;
	int leaked = settle_fds(base);
	bool ok = !hung && answered == requests && !t.dup && !t.bad && leaked == 0;
	printf("result ok=%d requests=%llu replies=%lu interrupted=%lu invalid=%lu dup=%lu bad=%lu hung=%d "
	       "leaked=%d oneway=%llu\n",
	       ok, (unsigned long long)requests, (unsigned long)t.replies, (unsigned long)t.interrupted,
	       (unsigned long)t.invalid, (unsigned long)t.dup, (unsigned long)t.bad, hung, leaked,
	       (unsigned long long)seq);
	fflush(stdout);
	_exit(ok ? 0 : 1); /* the window semaphore may still be counted up */
}

/* ---- load -------------------------------------------------------------------------- */

static int do_load(const char *name, uint64_t n)
{
	dispatch_queue_t rq = dispatch_queue_create("replies", NULL);
	dispatch_semaphore_t window = dispatch_semaphore_create(WINDOW);
	__block uint64_t next = 0, lost = 0, disorder = 0;
	uint64_t seq = 0;
	double t0 = now();
	xpc_connection_t c = open_named(name, NULL);

	for (uint64_t i = 0; i < n; i++) {
		xpc_object_t m = request("echo", i);
		dispatch_semaphore_wait(window, DISPATCH_TIME_FOREVER);
		xpc_connection_send_message_with_reply(c, m, rq, ^(xpc_object_t r) {
			if (xpc_get_type(r) != XPC_TYPE_DICTIONARY)
				lost++;
			else if (xpc_dictionary_get_uint64(r, "n") != next)
				disorder++;
			next++;
			dispatch_semaphore_signal(window);
		});
		xpc_release(m);
		if (i % 3 == 2) {
			m = request("seq", seq++);
			xpc_connection_send_message(c, m);
			xpc_release(m);
		}
	}
	xpc_object_t m = request("getseq", 0);
	xpc_object_t r = xpc_connection_send_message_with_reply_sync(c, m);
	double secs = now() - t0;
	dispatch_sync(rq, ^{
	});
	uint64_t count = xpc_dictionary_get_uint64(r, "count");
	bool inorder = xpc_dictionary_get_bool(r, "inorder");
	bool ok = xpc_get_type(r) == XPC_TYPE_DICTIONARY && next == n && !lost && !disorder && count == seq &&
		  inorder;
	printf("result ok=%d replies=%llu lost=%llu disorder=%llu oneway=%llu received=%llu inorder=%d secs=%.3f\n",
	       ok, (unsigned long long)next, (unsigned long long)lost, (unsigned long long)disorder,
	       (unsigned long long)seq, (unsigned long long)count, inorder, secs);
	fflush(stdout);
	xpc_release(r);
	xpc_release(m);
	xpc_connection_cancel(c);
	xpc_release(c);
	_exit(ok ? 0 : 1); /* replies may still hold the window semaphore */
}

/* ---- idle: many connections ------------------------------------------------------ */

/* Opens @n connections, @batch at a time (each batch answered before the
 * next: a well-behaved bulk opener; batch = n: all at once). */
static int do_idle(const char *name, unsigned n, unsigned batch)
{
	__block atomic_uint ok = 0, limit = 0, other = 0;
	dispatch_group_t g = dispatch_group_create();
	char *why = calloc(1, 200);

	for (unsigned i = 0; i < n; i++) {
		xpc_connection_t c = open_named(name, NULL);
		xpc_object_t m = request("echo", i);
		dispatch_group_enter(g);
		xpc_connection_send_message_with_reply(c, m, NULL, ^(xpc_object_t r) {
			if (xpc_get_type(r) == XPC_TYPE_DICTIONARY) {
				atomic_fetch_add(&ok, 1);
			} else {
				char *w = xpc_connection_copy_invalidation_reason(c);
				bool lim = w && strstr(w, "limit exceeded");
				atomic_fetch_add(lim ? &limit : &other, 1);
				if (w && !why[lim ? 0 : 100])
					snprintf(why + (lim ? 0 : 100), 100, "%s", w);
				free(w);
			}
			dispatch_group_leave(g);
		});
		xpc_release(m);
		if ((i + 1) % batch == 0)
			dispatch_group_wait(g, DISPATCH_TIME_FOREVER);
	}
	dispatch_group_wait(g, DISPATCH_TIME_FOREVER);
	for (char *p = why; p < why + 200; p++)
		if (*p == ' ')
			*p = '_';
	printf("ready ok=%u limit=%u other=%u why=%s other_why=%s\n", atomic_load(&ok), atomic_load(&limit),
	       atomic_load(&other), why[0] ? why : "-", why[100] ? why + 100 : "-");
	fflush(stdout);
	for (;;)
		pause();
}

/* ---- flood, noread ------------------------------------------------------------------- */

static char *payload(size_t n)
{
	char *p = malloc(n + 1);

	memset(p, 'x', n);
	p[n] = 0;
	return p;
}

static void print_cut(const char *mode, xpc_connection_t c, unsigned long sent, unsigned long invalid)
{
	char *why = xpc_connection_copy_invalidation_reason(c);

	printf("result ok=1 mode=%s sent=%lu invalid=%lu reason=%s\n", mode, sent, invalid, why ? why : "(none)");
	fflush(stdout);
	free(why);
}

static int do_flood(const char *name, unsigned seconds)
{
	__block atomic_int cut = 0;
	char *p = payload(16 * 1024);
	unsigned long sent = 0;
	double end = now() + seconds;
	xpc_connection_t c = open_named(name, ^(xpc_object_t ev) {
		if (ev == XPC_ERROR_CONNECTION_INVALID)
			atomic_store(&cut, 1);
	});

	while (!atomic_load(&cut) && now() < end) {
		xpc_object_t m = request("slow", sent++);
		xpc_dictionary_set_uint64(m, "us", 2000);
		xpc_dictionary_set_string(m, "payload", p);
		xpc_connection_send_message(c, m);
		xpc_release(m);
	}
	usleep(100000);
	print_cut("flood", c, sent, 0);
	_exit(0);
}

/* Requests written straight to a raw link that nobody reads: until @end
 * or the link is gone. */
static unsigned long raw_requests(int fd, double end, bool *gone)
{
	xpc_object_t m = request("bulk", 0);
	WireBuffer body = {0};
	WireFds fds = {0};
	unsigned long sent = 0;

	xpc_dictionary_set_uint64(m, "size", 32 * 1024);
	REQUIRE_OK(wire_encode_message(m, &body, &fds) == 0);
	while (now() < end && !*gone) {
		FrameHeader h = {.kind = FRAME_MESSAGE, .flags = FRAME_F_WANTS_REPLY, .id = (1ull << 40) + sent};
		int r = transport_send(fd, &h, body.data, body.len, NULL, 0);
		if (r == 0)
			sent++;
		else if (r == -EAGAIN)
			poll(&(struct pollfd){.fd = fd, .events = POLLOUT}, 1, 100);
		else if (r == -EPIPE || r == -ECONNRESET)
			*gone = true;
		else
			fprintf(stderr, "stress-client: send: %s\n", strerror(-r));
	}
	wire_buffer_free(&body);
	wire_fds_free(&fds);
	xpc_release(m);
	return sent;
}

/* The service's listener channel W behind @name, from a broker lookup
 * made by hand (a descriptor of this process). */
static int raw_endpoint(const char *name)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int bfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0), w;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", getenv("XPCD_SOCKET"));
	REQUIRE_OK(bfd >= 0 && connect(bfd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	xpc_connection_t b = connection_create_from_socket(bfd, NULL);
	xpc_connection_set_event_handler(b, ^(xpc_object_t ev) {
		(void)ev;
	});
	xpc_connection_resume(b);
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0);
	xpc_dictionary_set_string(m, XPCD_KEY_OP, XPCD_OP_LOOKUP);
	xpc_dictionary_set_string(m, XPCD_KEY_NAME, name);
	xpc_object_t r = xpc_connection_send_message_with_reply_sync(b, m);
	xpc_object_t ep = xpc_dictionary_get_value(r, XPCD_KEY_ENDPOINT);
	REQUIRE_OK(ep && (w = fcntl(endpoint_object_borrow_fd(ep), F_DUPFD_CLOEXEC, 3)) >= 0);
	xpc_release(r);
	xpc_release(m);
	xpc_connection_cancel(b);
	xpc_release(b);
	return w;
}

/* A link to the service behind @name made by hand: a check-in on its W;
 * libxpc never reads it. */
static int raw_link(const char *name)
{
	int w = raw_endpoint(name), fd = -1;
	REQUIRE_OK(checkin_make(w, true, &fd) == CONN_OK);
	close(w);
	return fd;
}

/* ---- checkins: a listener's backlog ------------------------------------------------- */

#define MAX_HELD 65536

/* Check-ins written straight to the service's W for @seconds, as fast as
 * the channel takes them (a full channel: EAGAIN, wait 10 ms, again); the
 * client's end of each link is held, never read or written. */
static int do_checkins(const char *name, unsigned seconds)
{
	int w = raw_endpoint(name);
	int *held = calloc(MAX_HELD, sizeof(int));
	unsigned long queued = 0, full = 0, other = 0;
	double end = now() + seconds;

	REQUIRE_OK(held);
	while (now() < end && queued < MAX_HELD) {
		int sv[2];
		FrameHeader h = {.kind = FRAME_CHECKIN, .id = 1};
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
			break;
		int r = transport_send(w, &h, NULL, 0, &sv[1], 1);
		close(sv[1]);
		if (r == 0) {
			held[queued++] = sv[0];
			continue;
		}
		close(sv[0]);
		if (r != -EAGAIN) {
			other++;
			break;
		}
		full++;
		poll(&(struct pollfd){.fd = w, .events = POLLOUT}, 1, 10);
	}
	printf("ready queued=%lu full=%lu other=%lu\n", queued, full, other);
	fflush(stdout);
	for (;;)
		pause();
}

static int do_noread(const char *name, unsigned seconds)
{
	bool gone = false;
	int fd = raw_link(name);
	unsigned long sent = raw_requests(fd, now() + seconds, &gone);

	close(fd);
	printf("result ok=1 mode=noread sent=%lu link_closed_by_service=%d\n", sent, gone);
	fflush(stdout);
	_exit(0);
}

/* ---- descriptors per message, raw broker links ----------------------------------------- */

static const char *fds_request(xpc_connection_t c, unsigned n)
{
	xpc_object_t m = request("echo", 7), arr = xpc_array_create(NULL, 0), r;
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	const char *what;

	for (unsigned i = 0; i < n; i++)
		xpc_array_set_fd(arr, XPC_ARRAY_APPEND, fd);
	close(fd);
	xpc_dictionary_set_value(m, "payload", arr);
	xpc_release(arr);
	r = xpc_connection_send_message_with_reply_sync(c, m);
	if (xpc_get_type(r) == XPC_TYPE_DICTIONARY)
		what = xpc_array_get_count(xpc_dictionary_get_value(r, "payload")) == n ? "reply" : "short";
	else
		what = r == XPC_ERROR_CONNECTION_INVALID ? "invalid" : "interrupted";
	xpc_release(r);
	xpc_release(m);
	return what;
}

static int do_fds(const char *name, unsigned n)
{
	warm();
	int base = count_fds();
	xpc_connection_t c = open_named(name, NULL);
	const char *first = fds_request(c, n);
	const char *after = fds_request(c, 1);
	char *why = xpc_connection_copy_invalidation_reason(c);

	xpc_connection_cancel(c);
	xpc_release(c);
	int leaked = settle_fds(base);
	printf("result ok=%d first=%s after=%s leaked=%d reason=%s\n", leaked == 0, first, after, leaked,
	       why ? why : "(none)");
	fflush(stdout);
	free(why);
	return leaked == 0 ? 0 : 1;
}

static int do_rawlinks(unsigned n)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	unsigned made = 0;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", getenv("XPCD_SOCKET"));
	for (unsigned i = 0; i < n; i++) {
		int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd >= 0 && (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno == EAGAIN))
			made++;
	}
	printf("ready made=%u\n", made);
	fflush(stdout);
	for (;;)
		pause();
}

/* ---- fdpress: descriptors until the service has none left ------------------------ */

static int do_fdpress(const char *name, unsigned n, unsigned k)
{
	unsigned replies = 0, interrupted = 0, invalid = 0;
	char why[128] = "-";

	for (unsigned i = 0; i < n; i++) {
		xpc_connection_t c = open_named(name, NULL);
		const char *what = fds_request(c, k);
		if (!strcmp(what, "reply")) {
			replies++;
		} else if (!strcmp(what, "interrupted")) {
			interrupted++;
		} else {
			char *w = xpc_connection_copy_invalidation_reason(c);
			invalid++;
			if (w)
				snprintf(why, sizeof(why), "%s", w);
			free(w);
		}
		/* held (leaked on purpose) until the test kills this process */
	}
	for (char *p = why; *p; p++)
		if (*p == ' ')
			*p = '_';
	printf("ready replies=%u interrupted=%u invalid=%u why=%s\n", replies, interrupted, invalid, why);
	fflush(stdout);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "busy"))
		return do_busy(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "load"))
		return do_load(argv[2], strtoull(argv[3], NULL, 10));
	if (argc == 5 && !strcmp(argv[1], "idle"))
		return do_idle(argv[2], (unsigned)atoi(argv[3]), (unsigned)atoi(argv[4]));
	if (argc == 4 && !strcmp(argv[1], "flood"))
		return do_flood(argv[2], (unsigned)atoi(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "noread"))
		return do_noread(argv[2], (unsigned)atoi(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "fds"))
		return do_fds(argv[2], (unsigned)atoi(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "checkins"))
		return do_checkins(argv[2], (unsigned)atoi(argv[3]));
	if (argc == 5 && !strcmp(argv[1], "fdpress"))
		return do_fdpress(argv[2], (unsigned)atoi(argv[3]), (unsigned)atoi(argv[4]));
	if (argc == 3 && !strcmp(argv[1], "rawlinks"))
		return do_rawlinks((unsigned)atoi(argv[2]));
	fprintf(stderr, "usage: stress-client busy|load|idle|flood|noread|fds|rawlinks|fdpress|checkins ...\n");
	return 2;
}
