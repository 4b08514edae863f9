/* SPDX-License-Identifier: MIT */
/*
 * test-monitor-frames - the frames of processes that opt in
 * (XPC_MONITOR=1) in the broker's monitor (docs/broker.md, "Frames of
 * processes that opt in"), against a private root xpcd whose socket
 * anyone may use (--system), with real processes: xpcctl send as the
 * client, the echo service as a job with XPC_MONITOR=1 in its
 * environment.
 *
 *   test-monitor-frames SCENARIO
 *
 *   frames     root's monitor sees the client's request and reply and the
 *              service's, each with the sender's pid (the kernel's) and
 *              uid, direction, kind, service name and contents; a client
 *              that did not opt in shows nothing of its own; xpcctl
 *              monitor prints them as lines and as JSON
 *   isolation  a monitor of nobody sees none of root's frames (neither
 *              its client's nor the service's) but sees those of its own
 *              opted-in client; root's monitor sees nobody's
 *   flood      a tap link that floods the broker with 30 000 summaries
 *              while the only monitor does not read: xpcd's memory stays
 *              bounded, lookups are still answered at once, what was lost
 *              is counted; the pid and uid a summary claims are ignored;
 *              summaries of a link that is no tap are dropped; the tap is
 *              told when a monitor comes and goes
 *
 * Paths from the environment: XPCD, XPCCTL, ECHO_SERVICE (meson).
 */
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xpc/xpc.h>

#include "broker-common.h"
#include "connection/connection.h"
#include "harness.h"
#include "monitor-common.h"
#include "shared/xpcd-protocol.h"

#define NAME "org.xpc.test.frames"

extern char **environ;

static const char *self; /* argv[0]: the children run it again as nobody */

static void write_job(void)
{
	char xml[2048];

	snprintf(xml, sizeof(xml),
		 "<key>Label</key><string>%s</string>\n"
		 "<key>ProgramArguments</key><array><string>%s</string><string>%s</string></array>\n"
		 "<key>MachServices</key><dict><key>%s</key><true/></dict>\n"
		 "<key>EnvironmentVariables</key><dict><key>XPC_MONITOR</key><string>1</string></dict>\n"
		 "<key>ThrottleInterval</key><integer>1</integer>\n",
		 NAME, getenv("ECHO_SERVICE"), NAME, NAME);
	broker_write_job_file("frames.plist", xml);
}

static void start(void)
{
	static const char *const system_mode[] = {"--system", NULL};

	harness_require_root();
	broker_setup();
	REQUIRE(chmod(broker_dir, 0755) == 0); /* nobody reaches the 0666 socket */
	write_job();
	broker_start(system_mode, 0);
}

/* Starts xpcctl with @args, XPC_MONITOR=1 when @tapped, its output and
 * errors to @out (NULL: /dev/null).  Return: its pid. */
static pid_t spawn_xpcctl(const char *const *args, bool tapped, const char *out)
{
	char *argv[8] = {getenv("XPCCTL")};
	char *envp[256];
	size_t n = 0, k = 1;
	posix_spawn_file_actions_t fa;
	pid_t pid;

	for (; args[k - 1] && k < 7; k++)
		argv[k] = (char *)args[k - 1];
	argv[k] = NULL;
	for (char **e = environ; *e && n < 250; e++)
		if (strncmp(*e, "XPC_MONITOR=", 12))
			envp[n++] = *e;
	if (tapped)
		envp[n++] = "XPC_MONITOR=1";
	envp[n] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, out ? out : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	REQUIRE(posix_spawn(&pid, argv[0], &fa, NULL, argv, envp) == 0);
	posix_spawn_file_actions_destroy(&fa);
	return pid;
}

/* `xpcctl send NAME {"op": "echo", "value": VALUE}`, waited for.
 * Return: its pid (exited 0), or -1. */
static pid_t send_echo(const char *value, bool tapped)
{
	char json[256];
	const char *args[] = {"send", NAME, json, NULL};
	pid_t pid;
	int status;

	snprintf(json, sizeof(json), "{\"op\": \"echo\", \"value\": \"%s\"}", value);
	pid = spawn_xpcctl(args, tapped, NULL);
	status = harness_wait_pid(pid, 30);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? pid : -1;
}

/* Whether frame event @e has @dir, @kind and contents with @text (each
 * NULL: any) and sender @pid (0: any). */
static bool frame_is(xpc_object_t e, pid_t pid, const char *dir, const char *kind, const char *text)
{
	const char *ev = xpc_dictionary_get_string(e, XPCD_KEY_EVENT), *d = xpc_dictionary_get_string(e, XPCD_FRAME_DIR);
	const char *k = xpc_dictionary_get_string(e, XPCD_FRAME_KIND), *t = xpc_dictionary_get_string(e, XPCD_FRAME_TEXT);

	return ev && !strcmp(ev, XPCD_EVENT_FRAME) && (!pid || xpc_dictionary_get_int64(e, XPCD_KEY_PID) == pid) &&
	       (!dir || (d && !strcmp(d, dir))) && (!kind || (k && !strcmp(k, kind))) &&
	       (!text || (t && strstr(t, text)));
}

/* The first such frame event of @seen within @secs, or NULL. */
static xpc_object_t wait_frame(Seen *seen, pid_t pid, const char *dir, const char *kind, const char *text,
			       unsigned secs)
{
	size_t from = 0;
	xpc_object_t e;

	while ((e = wait_event(seen, &from, "frame", NULL, secs))) {
		if (frame_is(e, pid, dir, kind, text))
			return e;
		from++;
	}
	return NULL;
}

/* How many events of @seen are frames of @pid (0: any) with @text. */
static size_t count_frames(Seen *seen, pid_t pid, const char *text)
{
	size_t n = 0;

	for (size_t k = 0; k < seen_count(seen); k++)
		n += frame_is(seen_get(seen, k), pid, NULL, NULL, text);
	return n;
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 1 << 20);
	size_t n = f ? fread(buf, 1, (1 << 20) - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = '\0';
	return buf;
}

/* Whether the file @path comes to hold @text within 20 s. */
static bool wait_file(const char *path, const char *text)
{
	for (int i = 0; i < 400; i++) {
		char *t = read_file(path);
		bool has = strstr(t, text) != NULL;
		free(t);
		if (has)
			return true;
		usleep(50000);
	}
	return false;
}

static void scenario_frames(void)
{
	Seen all = {0};
	xpc_connection_t m = monitor(&all, NULL, NULL);
	char plain[300], json[300];
	const char *mon_plain[] = {"monitor", NULL}, *mon_json[] = {"monitor", "--json", NULL};
	pid_t client, quiet, mp, mj;
	xpc_object_t e;
	char *text;

	REQUIRE(m);
	snprintf(plain, sizeof(plain), "%s/monitor.out", broker_dir);
	snprintf(json, sizeof(json), "%s/monitor.json", broker_dir);
	mp = spawn_xpcctl(mon_plain, true, plain); /* opted in itself: its own link is never tapped */
	mj = spawn_xpcctl(mon_json, false, json);
	CHECK(wait_file(plain, "xpcctl: monitoring") && wait_file(json, "xpcctl: monitoring"));
	client = send_echo("tapped-1", true);
	CHECK(client > 0);
	/* the client's request and the reply it got, the service's view */
	e = wait_frame(&all, client, "send", "message", "tapped-1", 10);
	CHECK(e && xpc_dictionary_get_int64(e, "uid") == 0);
	CHECK(e && !strcmp(xpc_dictionary_get_string(e, "name"), NAME));
	CHECK(e && xpc_dictionary_get_int64(e, "size") > 0 && xpc_dictionary_get_int64(e, "time") > 0);
	e = wait_frame(&all, client, "recv", "reply", "tapped-1", 10);
	CHECK(e && xpc_dictionary_get_int64(e, "reply_to") > 0 && xpc_dictionary_get_int64(e, "peer_pid") > 0);
	e = wait_frame(&all, 0, "recv", "message", "tapped-1", 10);
	CHECK(e && xpc_dictionary_get_int64(e, "pid") != client && !strcmp(xpc_dictionary_get_string(e, "name"), NAME));
	CHECK(e && xpc_dictionary_get_int64(e, "peer_pid") == client);
	CHECK(wait_frame(&all, 0, "send", "reply", "tapped-1", 10));
	/* a client that did not opt in: the service's frames only */
	quiet = send_echo("untapped-2", false);
	CHECK(quiet > 0);
	CHECK(wait_frame(&all, 0, "send", "reply", "untapped-2", 10));
	CHECK(count_frames(&all, quiet, NULL) == 0);
	/* xpcctl monitor's lines; its own link never came back as frames */
	CHECK(wait_file(plain, "untapped-2") && wait_file(json, "untapped-2"));
	kill(mp, SIGTERM);
	kill(mj, SIGTERM);
	harness_wait_pid(mp, 10);
	harness_wait_pid(mj, 10);
	text = read_file(plain);
	CHECK(strstr(text, " frame     " NAME " pid=") && strstr(text, " send message id=") && strstr(text, "tapped-1"));
	CHECK(count_frames(&all, mp, NULL) == 0);
	free(text);
	text = read_file(json);
	CHECK(strstr(text, "\"xpcd.event\": \"frame\"") && strstr(text, "\"dir\": \"recv\"") && strstr(text, "untapped-2"));
	free(text);
	monitor_close(m, &all);
}

/* Runs this test as nobody with @mode and two descriptor numbers. */
static pid_t spawn_child(const char *mode, int a, int b)
{
	char sa[16], sb[16];
	char *argv[] = {(char *)self, (char *)mode, sa, sb, NULL};

	snprintf(sa, sizeof(sa), "%d", a);
	snprintf(sb, sizeof(sb), "%d", b);
	return harness_spawn_as(harness_unprivileged_user(0), argv);
}

/* nobody's side: subscribe, tell the parent, wait for root's frames to be
 * made, make its own, then check that every event seen is its own.  Exit
 * status: 0 ok. */
static int isolation_child(int ready_w, int done_r)
{
	Seen seen = {0};
	xpc_connection_t m = monitor(&seen, NULL, NULL);
	pid_t mine;
	char c;
	int bad = 0;

	if (!m)
		return 10;
	if (write(ready_w, "r", 1) != 1 || read(done_r, &c, 1) != 1)
		return 11;
	mine = send_echo("nobody-own", true);
	if (mine <= 0 || !wait_frame(&seen, mine, "send", "message", "nobody-own", 10))
		bad = 12;
	if (!wait_frame(&seen, mine, "recv", "reply", "nobody-own", 10))
		bad = 13;
	for (size_t k = 0; k < seen_count(&seen); k++) {
		xpc_object_t o = seen_get(&seen, k);
		if (xpc_dictionary_get_int64(o, "uid") != (int64_t)getuid() || frame_is(o, 0, NULL, NULL, "root-secret")) {
			char *d = xpc_copy_description(o);
			fprintf(stderr, "nobody's monitor saw: %s\n", d);
			free(d);
			bad = 14;
		}
	}
	monitor_close(m, &seen);
	return bad;
}

static void scenario_isolation(void)
{
	int ready[2], done[2], status;
	Seen mine = {0};
	char c;
	pid_t child, client;
	xpc_connection_t m;
	xpc_object_t e;

	REQUIRE(pipe(ready) == 0 && pipe(done) == 0); /* inherited by the child */
	child = spawn_child("isolation-child", ready[1], done[0]);
	REQUIRE(child >= 0);
	close(ready[1]);
	close(done[0]);
	REQUIRE(read(ready[0], &c, 1) == 1);
	m = monitor(&mine, NULL, NULL);
	REQUIRE(m);
	client = send_echo("root-secret", true);
	CHECK(client > 0);
	CHECK(wait_frame(&mine, client, "recv", "reply", "root-secret", 10));
	CHECK(wait_frame(&mine, 0, "send", "reply", "root-secret", 10)); /* the service's: sent to every monitor by now */
	REQUIRE(write(done[1], "d", 1) == 1);
	status = harness_wait_pid(child, 60);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* root sees nobody's frames */
	e = wait_frame(&mine, 0, "send", "message", "nobody-own", 10);
	CHECK(e && xpc_dictionary_get_int64(e, "uid") == (int64_t)harness_unprivileged_user(0).uid);
	monitor_close(m, &mine);
	close(ready[0]);
	close(done[1]);
}

/* xpcd's resident memory in KiB, from /proc. */
static long broker_rss_kib(void)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)broker_pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			kib = atol(line + 6);
	if (f)
		fclose(f);
	return kib;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* What a tap link was told: the last "watched", and how many times. */
typedef struct Told {
	atomic_int watched; /* -1 nothing yet */
	atomic_int times;
	dispatch_semaphore_t more;
} Told;

static xpc_object_t summary(const char *text)
{
	xpc_object_t f = xpc_dictionary_create(NULL, NULL, 0);

	xpc_dictionary_set_string(f, XPCD_KEY_OP, XPCD_OP_FRAME);
	xpc_dictionary_set_string(f, XPCD_FRAME_DIR, "send");
	xpc_dictionary_set_string(f, XPCD_FRAME_KIND, "message");
	xpc_dictionary_set_uint64(f, XPCD_FRAME_ID, 1);
	xpc_dictionary_set_uint64(f, XPCD_FRAME_SIZE, 64);
	xpc_dictionary_set_string(f, XPCD_KEY_NAME, NAME);
	xpc_dictionary_set_string(f, XPCD_FRAME_TEXT, text);
	xpc_dictionary_set_int64(f, "pid", 1);       /* claims: ignored */
	xpc_dictionary_set_int64(f, "uid", 4242);
	return f;
}

static bool wait_told(Told *t, int times)
{
	dispatch_time_t end = dispatch_time(DISPATCH_TIME_NOW, 10 * NSEC_PER_SEC);

	while (atomic_load(&t->times) < times)
		if (dispatch_semaphore_wait(t->more, end))
			return false;
	return true;
}

static void scenario_flood(void)
{
	Seen seen = {.gate = dispatch_semaphore_create(0)}, watch = {0};
	Told told = {.more = dispatch_semaphore_create(0)}, *tp = &told;
	xpc_connection_t plain = broker_link(), tap = broker_link(), m, w;
	xpc_object_t f, tapreq = xpc_dictionary_create(NULL, NULL, 0), e;
	long rss0, rss1;
	double t0, slowest = 0;
	size_t frames;

	atomic_init(&told.watched, -1);
	atomic_init(&told.times, 0);
	xpc_connection_set_event_handler(plain, ^(xpc_object_t ev) { (void)ev; });
	xpc_connection_resume(plain);
	xpc_connection_set_event_handler(tap, ^(xpc_object_t ev) {
		if (xpc_get_type(ev) != XPC_TYPE_DICTIONARY)
			return;
		atomic_store(&tp->watched, xpc_dictionary_get_bool(ev, "watched"));
		atomic_fetch_add(&tp->times, 1);
		dispatch_semaphore_signal(tp->more);
	});
	xpc_connection_resume(tap);
	xpc_dictionary_set_string(tapreq, XPCD_KEY_OP, XPCD_OP_TAP);
	xpc_connection_send_message(tap, tapreq);
	CHECK(wait_told(&told, 1) && atomic_load(&told.watched) == 0); /* no monitor yet */
	/* a monitor that reads: the tap is told, a claim of pid/uid is ignored */
	w = monitor(&watch, NULL, NULL);
	REQUIRE(w);
	CHECK(wait_told(&told, 2) && atomic_load(&told.watched) == 1);
	f = summary("claims-pid-1");
	xpc_connection_send_message(tap, f);
	xpc_release(f);
	e = wait_frame(&watch, 0, "send", "message", "claims-pid-1", 10);
	CHECK(e && xpc_dictionary_get_int64(e, "pid") == getpid() && xpc_dictionary_get_int64(e, "uid") == 0);
	/* summaries on a link that is no tap are dropped */
	f = summary("not-a-tap");
	for (int k = 0; k < 10; k++)
		xpc_connection_send_message(plain, f);
	xpc_release(f);
	CHECK(request("lookup", "name", "org.xpc.test.sync", "unknown name"));
	monitor_close(w, &watch);
	CHECK(wait_told(&told, 3) && atomic_load(&told.watched) == 0);
	/* a monitor that does not read, and 30 000 summaries of 900 bytes */
	m = monitor(&seen, NULL, NULL);
	REQUIRE(m);
	CHECK(wait_told(&told, 4) && atomic_load(&told.watched) == 1);
	rss0 = broker_rss_kib();
	char big[901];
	memset(big, 'x', 900);
	big[900] = '\0';
	f = summary(big);
	for (int k = 0; k < 30000; k++) {
		xpc_connection_send_message(tap, f);
		if (k % 3000 == 2999) { /* the broker answers others meanwhile */
			t0 = now_s();
			CHECK(request("lookup", "name", "org.xpc.test.sync", "unknown name"));
			if (now_s() - t0 > slowest)
				slowest = now_s() - t0;
		}
	}
	xpc_release(f);
	/* the tap's summaries are all read once a barrier on it ran */
	dispatch_semaphore_t sent = dispatch_semaphore_create(0);
	xpc_connection_send_barrier(tap, ^{ dispatch_semaphore_signal(sent); });
	CHECK(dispatch_semaphore_wait(sent, dispatch_time(DISPATCH_TIME_NOW, 60 * NSEC_PER_SEC)) == 0);
	dispatch_release(sent);
	CHECK(request("lookup", "name", "org.xpc.test.sync", "unknown name")); /* after every summary */
	rss1 = broker_rss_kib();
	fprintf(stderr, "xpcd RSS %ld -> %ld KiB over 30000 summaries; slowest lookup %.1f ms\n", rss0, rss1,
		slowest * 1e3);
#if defined(__SANITIZE_ADDRESS__) || (defined(__has_feature) && __has_feature(address_sanitizer))
	/* ASan keeps freed memory in quarantine (256 MiB): RSS says nothing of what is live */
	CHECK(rss0 > 0);
#else
	CHECK(rss0 > 0 && rss1 - rss0 < 32 * 1024);
#endif
	CHECK(slowest < 2.0);
	/* the monitor reads now: far fewer frames than sent, and the loss counted */
	for (int k = 0; k < 1000000; k++)
		dispatch_semaphore_signal(seen.gate);
	f = summary("after-the-flood");
	usleep(1100000); /* the tap's bucket refills */
	xpc_connection_send_message(tap, f);
	xpc_release(f);
	e = wait_frame(&seen, 0, "send", "message", "after-the-flood", 20);
	/* the loss counted: by the tap's bucket (the frame's "dropped") or, when
	 * the broker is slower than the bucket (sanitizers), by the monitor's
	 * queue (a "dropped" event) */
	size_t d = 0;
	xpc_object_t lost = wait_event(&seen, &d, "dropped", NULL, 0);
	CHECK(e && (xpc_dictionary_get_int64(e, "dropped") > 0 || (lost && xpc_dictionary_get_int64(lost, "count") > 0)));
	frames = count_frames(&seen, 0, NULL);
	fprintf(stderr, "the monitor received %zu of 30001 frames; the last one says %lld dropped\n", frames,
		e ? (long long)xpc_dictionary_get_int64(e, "dropped") : -1LL);
	CHECK(frames < 15000);
	xpc_release(tapreq);
	xpc_connection_cancel(tap);
	xpc_release(tap);
	xpc_connection_cancel(plain);
	xpc_release(plain);
	monitor_close(m, &seen);
	dispatch_release(told.more);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*run)(void);
	} scenarios[] = {
		{"frames", scenario_frames},
		{"isolation", scenario_isolation},
		{"flood", scenario_flood},
	};

	self = argv[0];
	if (argc == 4 && !strcmp(argv[1], "isolation-child"))
		return isolation_child(atoi(argv[2]), atoi(argv[3]));
	harness_warm_dispatch();
	harness_begin(120);
	for (size_t k = 0; k < sizeof(scenarios) / sizeof(scenarios[0]); k++) {
		if (argc < 2 || strcmp(argv[1], scenarios[k].name))
			continue;
		start();
		scenarios[k].run();
		broker_teardown();
		return harness_end();
	}
	fprintf(stderr, "usage: test-monitor-frames frames|isolation|flood\n");
	return 2;
}
