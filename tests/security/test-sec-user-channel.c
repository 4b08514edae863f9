/* SPDX-License-Identifier: MIT */
/*
 * test-sec-user-channel - per-user channels (docs/security.md, "Per-user
 * channels"): a user who may not hold a service's W gets W_u, the send
 * end of a channel of its own uid (xpcd's answer to its forwarded
 * check-in carries it, src/broker/vend.c), and checks in over it next
 * time without xpcd; what W_u lets that user do must reach no one else.
 *
 * A root service (sec-service serve) under a root xpcd, started by a
 * request of root's first (xpcd hands W_u only for a running job); nobody
 * attacks (sec-attacker), daemon stands by.  One scenario per run (the
 * argument):
 *   count     nobody makes 3 named connections in one process, each
 *             answered; xpcd (XPC_CAPTURE of its own frames) forwards only
 *             the first check-in: 1 CHECKIN frame sent, not 3.
 *   shut      nobody's check-in over its W_u is answered; it shuts W_u
 *             down (shutdown(2)): its next check-in over it fails, xpcd
 *             hands it a new W_u that works, and daemon's, root's and
 *             nobody's own named connections (a new process) are answered
 *             by the same service process.
 *   handed    nobody passes W_u to root, who passes it down to daemon:
 *             daemon's check-in over it gets no HELLO (nor does root's),
 *             daemon's own named connection is answered, and nobody's
 *             check-in over the same W_u still is.
 *   fake      nobody sends a CHANNEL frame (kind 7: one end of a socketpair
 *             it made, its uid) over its W_u and over the service's W that
 *             root passed down; its check-ins over the pairs' other ends
 *             get no HELLO within 2 s, and the service holds no more
 *             descriptors than before while nobody keeps the pairs.
 *   disabled  nobody holds W_u (its library's and one of its own) in a
 *             live process; root disables the job; nobody's check-in over
 *             the W_u it holds is not answered and its next named
 *             connection fails "disabled"; enabled again, nobody gets a
 *             new W_u that is answered.
 *   unloaded  the same with the job unloaded: "unknown name".
 *   policy    the same with the job, for root and nobody, rewritten for
 *             root only and reloaded: nobody's W_u takes no check-in, its
 *             named connections fail.
 *   exit      nobody holds W_u (its library's too); root stops the
 *             service, nobody checks in over W_u, root kills the service:
 *             that check-in is answered by the next instance (xpcd moved it
 *             to the name's R), the old W_u then takes none ("gone"), and
 *             nobody's next named connection is answered.
 *   exit-foreign  the same with the job for root and nobody only
 *             (XPCDAllowedUIDs): nobody passes W_u to root, who passes it
 *             to daemon (denied by name); daemon's check-in over it, queued
 *             while the service is stopped, must not be answered by the
 *             next instance when the service is killed.
 *   churn     nobody gets, uses and shuts down a W_u 100 times, each
 *             answered; then daemon's W_u is; the service and xpcd keep no
 *             more descriptors than the two live channels need.
 *   busy      while the service is stopped, nobody gets and shuts down a
 *             W_u 80 times (80 CHANNEL frames queue in R); once it runs
 *             again, daemon's and nobody's new W_u are answered: nobody's
 *             dead channels did not fill the listener's 64 slots.
 *   limit     64 users (uids 70000.., no account) each get a W_u that is
 *             answered, the 65th none (xpcd's limit) and is answered
 *             through xpcd; the service holds at most 64 channels more;
 *             one of the 64 renews its channel 20 times at the limit, each
 *             answered.
 * On the code before per-user channels (a0e6a63) xpcd answers no W_u:
 * count sees 3 check-ins forwarded, the others say "no W_u in the answer".
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "connection/internal.h"
#include "sec-common.h"
#include "shared/pcapng.h"
#include "shared/xpcd-protocol.h"
#include "transport/unix/unix.h"

#define NAME "org.sec.target"

static const char *attacker;

/* ---- reading xpcd's capture ---------------------------------------------- */

/* The epb_flags (direction) of an Enhanced Packet Block whose options
 * start at @o (block end @end), 0 if absent. */
static uint32_t epb_dir(const uint8_t *o, const uint8_t *end)
{
	while (o + 4 <= end) {
		uint16_t code, len;
		uint32_t v = 0;
		memcpy(&code, o, 2);
		memcpy(&len, o + 2, 2);
		if (code == 0)
			break;
		if (code == 2 && len == 4 && o + 8 <= end)
			memcpy(&v, o + 4, 4);
		if (code == 2)
			return v;
		o += 4 + ((len + 3u) & ~3u);
	}
	return 0;
}

/* CHECKIN frames xpcd sent so far (its capture, DIR/cap-PID.pcapng). */
static int broker_checkins(void)
{
	char path[512];
	static uint8_t buf[4 << 20];
	size_t n = 0;
	int count = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/cap-%d.pcapng", sec_dir(), (int)sec_broker_pid());
	if (!(f = fopen(path, "re")))
		return 0; /* no frame yet */
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	for (size_t at = 0; at + 12 <= n;) {
		uint32_t type, len, caplen;
		memcpy(&type, buf + at, 4);
		memcpy(&len, buf + at + 4, 4);
		if (len < 12 || at + len > n)
			break;
		memcpy(&caplen, buf + at + 20, 4);
		if (type == 6 && caplen >= FRAME_HEADER_SIZE && 28 + caplen <= len) {
			FrameHeader h;
			memcpy(&h, buf + at + 28, sizeof(h));
			if (h.magic == FRAME_MAGIC && h.kind == FRAME_CHECKIN &&
			    epb_dir(buf + at + 28 + ((caplen + 3u) & ~3u), buf + at + len - 4) == PCAPNG_OUTBOUND)
				count++;
		}
		at += len;
	}
	return count;
}

/* ---- the attacker, and the service ---------------------------------------- */

/* Runs sec-attacker @mode NAME [@arg] as @which to its end; its line. */
static void run(int which, const char *mode, const char *arg, char *out, size_t size)
{
	char *argv[] = {(char *)attacker, (char *)mode, NAME, (char *)arg, NULL};

	sec_run_as(which, argv, out, size, 30);
	fprintf(stderr, "%s %s: %s", harness_unprivileged_user(which).name, mode, out);
}

/* sec-attacker churn NAME @n @shut as @u; its line into @out. */
static void churn_as(struct harness_user u, const char *n, const char *shut, char *out, size_t size)
{
	char *argv[] = {(char *)attacker, "churn", NAME, (char *)n, (char *)shut, NULL};

	sec_run_as_user(u, argv, out, size, 60, NULL);
	fprintf(stderr, "%s churn %s %s: %s", u.name, n, shut, out);
}

/* Checks that @out (an attacker's line) holds @want; says what it lacked. */
static void says(const char *out, const char *want)
{
	if (strstr(out, "no W_u in the answer") || strstr(out, "no-W_u"))
		fprintf(stderr, "FAIL: no W_u in the answer to nobody's checkin op (no per-user channels)\n");
	else if (!strstr(out, want))
		fprintf(stderr, "FAIL: wanted \"%s\"\n", want);
	CHECK(strstr(out, want) != NULL);
}

typedef struct Live {
	int which; /* its user (harness_unprivileged_user) */
	pid_t pid;
	int ctl; /* its stdin: a socket (lines to it, descriptors from it) */
	int out; /* its stdout */
} Live;

/* sec-attacker @mode NAME [@fd] as @which, its stdin a socket of ours,
 * @fd (may be -1) inherited. */
static Live spawn(int which, const char *mode, int fd)
{
	char num[16];
	char *argv[] = {(char *)attacker, (char *)mode, NAME, fd >= 0 ? num : NULL, NULL};
	int ctl[2], out[2];
	Live l;

	snprintf(num, sizeof(num), "%d", fd);
	REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl) == 0 && pipe2(out, O_CLOEXEC) == 0);
	l.which = which;
	l.pid = fork();
	REQUIRE(l.pid >= 0);
	if (l.pid == 0) {
		dup2(ctl[1], 0);
		dup2(out[1], 1);
		if (fd >= 0)
			fcntl(fd, F_SETFD, 0);
		harness_become(harness_unprivileged_user(which));
		execv(argv[0], argv);
		_exit(127);
	}
	close(ctl[1]);
	close(out[1]);
	l.ctl = ctl[0];
	l.out = out[0];
	return l;
}

/* One line of @l's output within @seconds ("" if none), logged. */
static void line_of(Live *l, char *buf, size_t size, unsigned seconds)
{
	size_t n = 0;

	buf[0] = 0;
	while (n + 1 < size && poll(&(struct pollfd){.fd = l->out, .events = POLLIN}, 1, (int)seconds * 1000) == 1 &&
	       read(l->out, buf + n, 1) == 1 && buf[n++] != '\n')
		;
	buf[n] = 0;
	fprintf(stderr, "%s: %s%s", harness_unprivileged_user(l->which).name, buf,
		n && buf[n - 1] == '\n' ? "" : "(no line)\n");
}

static void end_live(Live *l)
{
	close(l->ctl);
	close(l->out);
	harness_wait_pid(l->pid, 10);
}


static int fd_count(pid_t pid)
{
	char path[64];
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	if (!(d = opendir(path)))
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n - 2;
}

/* @pid's descriptor count once it stayed the same for 0.5 s (at most 5 s). */
static int settled_fds(pid_t pid)
{
	int last = fd_count(pid), same = 0;

	for (int i = 0; i < 50 && same < 5; i++) {
		usleep(100000);
		int now = fd_count(pid);
		same = now == last ? same + 1 : 0;
		last = now;
	}
	return last;
}

/* "answered euid=U " of sec-attacker client as @which. */
static void answered_as(int which)
{
	char out[256], want[64];

	run(which, "client", NULL, out, sizeof(out));
	snprintf(want, sizeof(want), "answered euid=%u ", (unsigned)harness_unprivileged_user(which).uid);
	CHECK(strncmp(out, want, strlen(want)) == 0);
}

static char *service; /* sec-service */

/* The target job, for root and (@nobody) nobody only (XPCDAllowedUIDs). */
static void allowed_target(bool nobody)
{
	char keys[256], more[32] = "";
	const char *target[] = {service, "serve", NAME, NULL};

	if (nobody)
		snprintf(more, sizeof(more), "<integer>%u</integer>", (unsigned)harness_unprivileged_user(0).uid);
	snprintf(keys, sizeof(keys), "<key>XPCDAllowedUIDs</key><array><integer>0</integer>%s</array>", more);
	sec_job_keys("target", NAME, keys, target);
}

/* Whether root's `print` of the job lists @uid among NAME's users with a
 * channel ("user-channels", src/broker/describe.c: what xpcctl print shows). */
static bool print_lists_channel(uid_t uid)
{
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0), r, uids = NULL;
	bool found = false;

	xpc_dictionary_set_string(m, XPCD_KEY_OP, XPCD_OP_PRINT);
	xpc_dictionary_set_string(m, XPCD_KEY_LABEL, "target");
	r = sec_broker_call(sec_socket(), m);
	xpc_object_t job = r ? xpc_dictionary_get_value(r, XPCD_KEY_JOB) : NULL;
	xpc_object_t uch = job ? xpc_dictionary_get_value(job, XPCD_JOB_USER_CHANNELS) : NULL;
	if (uch && xpc_get_type(uch) == XPC_TYPE_DICTIONARY)
		uids = xpc_dictionary_get_value(uch, NAME);
	for (size_t i = 0; uids && xpc_get_type(uids) == XPC_TYPE_ARRAY && i < xpc_array_get_count(uids); i++)
		found |= xpc_array_get_uint64(uids, i) == (uint64_t)uid;
	if (r)
		xpc_release(r);
	xpc_release(m);
	return found;
}

/* ---- the scenarios ---------------------------------------------------------- */

static void scenario_count(void)
{
	char out[256];
	int before, forwarded;

	CHECK(sec_server_pid(NAME) > 0); /* running: xpcd hands W_u only then */
	before = broker_checkins();
	run(0, "clients", "3", out, sizeof(out));
	CHECK(strstr(out, "done clients replies=3 of=3\n") != NULL);
	forwarded = broker_checkins() - before;
	if (forwarded != 1)
		fprintf(stderr, "FAIL: xpcd forwarded %d of nobody's 3 check-ins; with W_u cached only the first\n",
			forwarded);
	CHECK_EQ_INT(forwarded, 1);
	CHECK(print_lists_channel(harness_unprivileged_user(0).uid)); /* xpcctl print shows it */
	CHECK(!print_lists_channel(harness_unprivileged_user(1).uid));
}

static void scenario_shut(void)
{
	char out[256];
	int64_t server = sec_server_pid(NAME);

	CHECK(server > 0);
	run(0, "shut-wu", NULL, out, sizeof(out));
	says(out, "done shut-wu own=hello shut=1 after=gone fresh=hello\n");
	answered_as(1);
	CHECK_EQ_INT(sec_server_pid(NAME), server); /* root's, by the same instance */
	answered_as(0);                     /* a new process of nobody's */
}

/* W_u as nobody's give-wu sent it to us, or -1. */
static int taken_wu(void)
{
	static TransportFrame f;
	Live l = spawn(0, "give-wu", -1);
	char line[256];
	int wu = -1;

	line_of(&l, line, sizeof(line), 20);
	says(line, "done give-wu sent=1");
	if (poll(&(struct pollfd){.fd = l.ctl, .events = POLLIN}, 1, 1000) == 1 && transport_recv(l.ctl, &f) == 0 &&
	    f.n_fds == 1) {
		wu = f.fds[0];
		f.n_fds = 0;
	}
	frame_clear(&f);
	end_live(&l);
	return wu;
}

/* Whether root's check-in over @w is answered (HELLO, then "whoami"). */
static bool root_answered_over(int w)
{
	xpc_object_t who = NULL;
	bool answered;
	int fd;

	if (checkin_make(w, false, &fd) == CONN_OK) {
		who = sec_link_whoami(fd);
		close(fd);
	}
	answered = who != NULL;
	if (who)
		xpc_release(who);
	return answered;
}

static void scenario_handed(void)
{
	char out[256], num[16];
	int64_t server = sec_server_pid(NAME); /* running: xpcd hands W_u only then */
	int wu = taken_wu();

	CHECK(wu >= 0);
	if (wu < 0)
		return;
	snprintf(num, sizeof(num), "%d", wu);
	sec_pass_fd(wu);
	run(1, "over-w", num, out, sizeof(out)); /* daemon: not its channel */
	CHECK(strstr(out, "done over-w over=refused own=reply\n") != NULL); /* told why */
	CHECK(!root_answered_over(wu)); /* nor root's */
	run(0, "over-w", num, out, sizeof(out)); /* nobody's still is */
	CHECK(strstr(out, "done over-w over=hello own=reply\n") != NULL);
	sec_pass_fd(-1);
	close(wu);
	CHECK_EQ_INT(sec_server_pid(NAME), server);
}

static void scenario_fake(void)
{
	char line[256];
	int64_t server = sec_server_pid(NAME);
	int w = sec_raw_endpoint(sec_socket(), NAME), before, during;

	CHECK(server > 0 && w >= 0);
	run(0, "clients", "1", line, sizeof(line)); /* nobody's W_u, R_u in the service, exist */
	before = settled_fds((pid_t)server);
	Live l = spawn(0, "fake-channel", w);
	line_of(&l, line, sizeof(line), 20);
	says(line, "ready fake-channel wu=");
	CHECK(strstr(line, " wu=none ") || strstr(line, " wu=gone "));
	CHECK(strstr(line, " w=none\n") || strstr(line, " w=gone\n"));
	during = settled_fds((pid_t)server); /* nobody still holds the pairs */
	fprintf(stderr, "service descriptors: %d before, %d while nobody holds its fake channels\n", before, during);
	CHECK(during <= before);
	CHECK(write(l.ctl, "g", 1) == 1);
	line_of(&l, line, sizeof(line), 10);
	end_live(&l);
	close(w);
	CHECK_EQ_INT(sec_server_pid(NAME), server);
}

/* The broker op @op (XPCD_OP_*) on the job, as root: whether it was done. */
static bool job_op(const char *op)
{
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0), r;
	bool ok;

	xpc_dictionary_set_string(m, XPCD_KEY_OP, op);
	xpc_dictionary_set_string(m, XPCD_KEY_LABEL, "target");
	r = sec_broker_call(sec_socket(), m);
	ok = r && xpc_get_type(r) == XPC_TYPE_DICTIONARY && !xpc_dictionary_get_string(r, XPCD_KEY_ERROR);
	if (r)
		xpc_release(r);
	xpc_release(m);
	return ok;
}

/* nobody holds W_u in a live process while root does @op: the W_u it
 * holds takes no check-in, its next named connection ends "@again". */
static void held_through(const char *op, const char *again)
{
	char line[256], want[128];

	CHECK(sec_server_pid(NAME) > 0); /* running: xpcd hands W_u only then */
	Live l = spawn(0, "hold", -1);
	line_of(&l, line, sizeof(line), 20);
	CHECK(strstr(line, "ready hold first=reply ") != NULL);
	says(line, "endpoint=W\n");
	CHECK(job_op(op));
	CHECK(write(l.ctl, "g", 1) == 1);
	line_of(&l, line, sizeof(line), 20);
	snprintf(want, sizeof(want), "done hold direct=gone again=%s\n", again);
	CHECK(strstr(line, want) != NULL);
	end_live(&l);
}

static void scenario_disabled(void)
{
	char out[256];

	held_through(XPCD_OP_DISABLE, "failed:disabled");
	CHECK(job_op(XPCD_OP_ENABLE)); /* and enabled again: a new W_u, answered */
	churn_as(harness_unprivileged_user(0), "1", "0", out, sizeof(out));
	says(out, "done churn wu=1 hello=1 of=1 own=reply\n");
}

static void scenario_unloaded(void)
{
	held_through(XPCD_OP_UNLOAD, "failed:unknown name");
}

/* nobody, then allowed no more (the job file rewritten, reloaded):
 * failed:denied, or failed:unknown name while the job is loaded again */
static void scenario_policy(void)
{
	char line[256];

	CHECK(sec_server_pid(NAME) > 0);
	Live l = spawn(0, "hold", -1);
	line_of(&l, line, sizeof(line), 20);
	CHECK(strstr(line, "ready hold first=reply ") != NULL);
	says(line, "endpoint=W\n");
	allowed_target(false);
	CHECK(job_op(XPCD_OP_RELOAD));
	CHECK(write(l.ctl, "g", 1) == 1);
	line_of(&l, line, sizeof(line), 20);
	CHECK(strstr(line, "done hold direct=gone again=failed:") != NULL);
	end_live(&l);
	run(0, "client", NULL, line, sizeof(line)); /* the job loaded again */
	CHECK(strncmp(line, "failed: denied", 14) == 0);
}

/* SIGSTOP to @pid, and back once it is stopped ('T' in /proc/PID/stat,
 * up to 5 s): kill() only queues the signal, and a service that still ran
 * would read what the scenario means to leave queued (a loaded machine
 * made exit fail once: the old instance answered before it stopped). */
static void stop_service(pid_t pid)
{
	char path[64], buf[256];

	kill(pid, SIGSTOP);
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	for (int i = 0; i < 500; i++) {
		FILE *f = fopen(path, "r");
		size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
		if (f)
			fclose(f);
		buf[n] = 0;
		char *p = strrchr(buf, ')');
		if (p && (p[2] == 'T' || p[2] == 't'))
			return;
		usleep(10000);
	}
	CHECK(!"the service stopped");
}

static void scenario_exit(void)
{
	char line[256];
	int64_t server = sec_server_pid(NAME);
	Live l = spawn(0, "queue", -1);

	CHECK(server > 0);
	line_of(&l, line, sizeof(line), 20);
	CHECK(strstr(line, "ready queue first=reply ") != NULL);
	says(line, "endpoint=W\n");
	stop_service((pid_t)server); /* reads nothing: nobody's check-in stays queued in R_u */
	CHECK(write(l.ctl, "g", 1) == 1);
	line_of(&l, line, sizeof(line), 20);
	CHECK(strstr(line, "queued sent=1\n") != NULL);
	kill((pid_t)server, SIGKILL);
	CHECK(write(l.ctl, "g", 1) == 1);
	line_of(&l, line, sizeof(line), 30);
	CHECK(strstr(line, "done queue moved=hello direct=gone again=reply\n") != NULL);
	end_live(&l);
	int64_t next = sec_server_pid(NAME);
	CHECK(next > 0 && next != server);
}

static void scenario_churn(void)
{
	char out[256];
	int64_t server = sec_server_pid(NAME);
	int svc, broker;

	CHECK(server > 0);
	churn_as(harness_unprivileged_user(0), "1", "0", out, sizeof(out)); /* nobody's channel exists */
	svc = settled_fds((pid_t)server);
	broker = settled_fds(sec_broker_pid());
	churn_as(harness_unprivileged_user(0), "100", "1", out, sizeof(out));
	says(out, "done churn wu=100 hello=100 of=100 own=reply\n");
	churn_as(harness_unprivileged_user(1), "1", "0", out, sizeof(out));
	says(out, "done churn wu=1 hello=1 of=1 own=reply\n");
	/* one channel more (daemon's), none of nobody's 100 left */
	fprintf(stderr, "descriptors: service %d -> %d, xpcd %d -> %d\n", svc, settled_fds((pid_t)server), broker,
		settled_fds(sec_broker_pid()));
	CHECK(settled_fds((pid_t)server) <= svc + 1);
	CHECK(settled_fds(sec_broker_pid()) <= broker + 2);
	CHECK_EQ_INT(sec_server_pid(NAME), server);
}

static void scenario_busy(void)
{
	char out[256];
	int64_t server = sec_server_pid(NAME);

	CHECK(server > 0);
	stop_service((pid_t)server); /* reads nothing: xpcd's CHANNEL frames queue in R */
	churn_as(harness_unprivileged_user(0), "80", "2", out, sizeof(out));
	CHECK(strstr(out, "done churn wu=80 hello=0 of=80 ") != NULL);
	kill((pid_t)server, SIGCONT); /* reads them in batches, the channels' ends later */
	churn_as(harness_unprivileged_user(1), "1", "0", out, sizeof(out));
	says(out, "done churn wu=1 hello=1 of=1 own=reply\n");
	churn_as(harness_unprivileged_user(0), "1", "0", out, sizeof(out));
	says(out, "done churn wu=1 hello=1 of=1 own=reply\n");
	CHECK_EQ_INT(sec_server_pid(NAME), server);
}

static void scenario_limit(void)
{
	static char names[65][16];
	char out[256];
	int64_t server = sec_server_pid(NAME);
	int svc = settled_fds((pid_t)server);
	struct harness_user u;

	CHECK(server > 0);
	for (int i = 0; i <= 64; i++) { /* users without an account: uids 70000.. */
		snprintf(names[i], sizeof(names[i]), "u%d", 70000 + i);
		u = (struct harness_user){70000 + i, 70000 + i, names[i]};
		churn_as(u, "1", "0", out, sizeof(out));
		says(out, i < 64 ? "done churn wu=1 hello=1 of=1 own=reply\n" : "done churn wu=0 hello=0 of=1 own=reply\n");
	}
	fprintf(stderr, "service descriptors: %d -> %d\n", svc, settled_fds((pid_t)server));
	CHECK(settled_fds((pid_t)server) <= svc + 64);
	u = (struct harness_user){70000, 70000, names[0]}; /* one of the 64 ends its channel, again and again */
	churn_as(u, "20", "1", out, sizeof(out));
	says(out, "done churn wu=20 hello=20 of=20 own=reply\n");
}

static void scenario_exit_foreign(void)
{
	char line[256];
	int64_t server = sec_server_pid(NAME);
	int wu;

	CHECK(server > 0);
	run(1, "client", NULL, line, sizeof(line));
	CHECK(strncmp(line, "failed: denied", 14) == 0); /* XPCDAllowedUIDs */
	if ((wu = taken_wu()) < 0)
		return;
	stop_service((pid_t)server); /* daemon's check-in stays queued in nobody's R_u */
	Live l = spawn(1, "queue-over", wu);
	line_of(&l, line, sizeof(line), 20);
	CHECK(strstr(line, "queued sent=1\n") != NULL);
	kill((pid_t)server, SIGKILL);
	CHECK(write(l.ctl, "g", 1) == 1);
	line_of(&l, line, sizeof(line), 20);
	if (strstr(line, "hello=1"))
		fprintf(stderr, "FAIL: daemon's check-in over nobody's W_u, queued as the service exited, was moved "
				"to R and answered by the next instance: XPCDAllowedUIDs bypassed\n");
	CHECK(strstr(line, "done queue-over hello=0\n") != NULL);
	end_live(&l);
	close(wu);
	answered_as(0);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*run)(void);
	} scenarios[] = {{"count", scenario_count}, {"shut", scenario_shut}, {"handed", scenario_handed},
			 {"fake", scenario_fake}, {"disabled", scenario_disabled}, {"exit", scenario_exit},
			 {"exit-foreign", scenario_exit_foreign}, {"churn", scenario_churn}, {"limit", scenario_limit},
			 {"unloaded", scenario_unloaded}, {"busy", scenario_busy},
			 {"policy", scenario_policy}};
	char cap[512];

	REQUIRE(argc == 2);
	sec_begin(strcmp(argv[1], "limit") ? 90 : 180); /* 65 processes: 90 s under TSan */
	attacker = strdup(harness_sibling(argv[0], "sec-attacker"));
	service = strdup(harness_sibling(argv[0], "sec-service"));
	if (!strcmp(argv[1], "exit-foreign") || !strcmp(argv[1], "policy"))
		allowed_target(true);
	else
		sec_target_job(argv[0]);
	snprintf(cap, sizeof(cap), "%s/cap-%%p.pcapng", sec_dir()); /* xpcd's frames (and the job's) */
	setenv("XPC_CAPTURE", cap, 1);
	sec_start_broker(0);
	unsetenv("XPC_CAPTURE");
	bool known = false;
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		if (!strcmp(argv[1], scenarios[i].name)) {
			scenarios[i].run();
			known = true;
		}
	REQUIRE(known);
	sec_teardown();
	free((char *)attacker);
	free(service);
	return harness_end();
}
