/* SPDX-License-Identifier: MIT */
/*
 * test-bundle - XPC services bundled with an application
 * (docs/bundled-services.md).
 *
 *   test-bundle SCENARIO
 *
 * Lays out bundle-app ($BUNDLE_APP) with the service bench-worker
 * ($BENCH_WORKER, Info.plist $BENCH_INFO) in a fresh directory as
 * examples/bundled/make-bundle.py does, runs it from there and
 * checks what it prints and which processes exist:
 *   apple        Apple's layout: request/reply, the worker is the app's
 *                child, with the bundle's environment and XPC_SERVICE_NAME
 *   linux        the installed layout PREFIX/lib/PROGRAM/XPCServices
 *   interrupt    the worker crashes: INTERRUPTED, then a new worker
 *   session      xpc_session_create_xpc_service
 *   exit         the app exits: its worker is gone
 *   killed       the app is killed (SIGKILL): its worker is gone
 *   two-apps     two apps get two workers, each its own
 * Security (each fails on the code before bundled services, where the name
 * went to the broker and the reason was the broker's):
 *   group-writable  a bundle writable by its group is refused, not run
 *   foreign-owner   a bundle owned by another user (nobody) is refused
 *   symlink         an executable that is a symbolic link is refused
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static char dir[256], app_path[512], xpc_dir[512];

static void run_cmd(const char *fmt, ...) __attribute__((__format__(__printf__, 1, 2)));
static void run_cmd(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	REQUIRE(system(cmd) == 0);
}

/* mkdir -p @path, each directory 0755. */
static void mkdirs(const char *path)
{
	char p[700];

	snprintf(p, sizeof(p), "%s", path);
	for (char *s = p + 1; *s; s++)
		if (*s == '/') {
			*s = 0;
			mkdir(p, 0755);
			*s = '/';
		}
	REQUIRE(mkdir(p, 0755) == 0 || errno == EEXIST);
}

/* Copies file @from to @to with @mode. */
static void copy(const char *from, const char *to, mode_t mode)
{
	char buf[65536];
	int in = open(from, O_RDONLY | O_CLOEXEC), out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	ssize_t n;

	REQUIRE(in >= 0 && out >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		REQUIRE(write(out, buf, (size_t)n) == n);
	close(in);
	close(out);
}

/* The layout examples/bundled/make-bundle.py makes, in C (no interpreter
 * start per test). */
static void layout(const char *kind)
{
	const char *base = strrchr(getenv("BUNDLE_APP"), '/') + 1;
	char bindir[600], contents[700], path[800];

	snprintf(dir, sizeof(dir), "/tmp/xpc-bundle-test.XXXXXX");
	REQUIRE(mkdtemp(dir));
	chmod(dir, 0755);
	if (!strcmp(kind, "apple")) {
		snprintf(bindir, sizeof(bindir), "%s/Test.app/Contents/MacOS", dir);
		snprintf(xpc_dir, sizeof(xpc_dir), "%s/Test.app/Contents/XPCServices/org.example.bench.worker.xpc", dir);
	} else {
		snprintf(bindir, sizeof(bindir), "%s/usr/bin", dir);
		snprintf(xpc_dir, sizeof(xpc_dir), "%s/usr/lib/%s/XPCServices/org.example.bench.worker.xpc", dir, base);
	}
	snprintf(app_path, sizeof(app_path), "%s/%s", bindir, base);
	snprintf(contents, sizeof(contents), "%s/Contents/MacOS", xpc_dir);
	mkdirs(bindir);
	mkdirs(contents);
	copy(getenv("BUNDLE_APP"), app_path, 0755);
	snprintf(path, sizeof(path), "%s/bench-worker", contents);
	copy(getenv("BENCH_WORKER"), path, 0755);
	snprintf(path, sizeof(path), "%s/Contents/Info.plist", xpc_dir);
	copy(getenv("BENCH_INFO"), path, 0644);
}

/* Starts the app with @scenario, its stdout on *ret_out (read end). */
static pid_t start_app(const char *scenario, int *ret_out)
{
	int p[2];
	pid_t pid;

	REQUIRE(pipe2(p, O_CLOEXEC) == 0);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		dup2(p[1], 1);
		execl(app_path, app_path, scenario, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	*ret_out = p[0];
	return pid;
}

/* Reads the app's output until it has a line starting with @key (or EOF). */
static char *read_until(int fd, const char *key, char *buf, size_t size)
{
	size_t n = 0;
	ssize_t r;

	buf[0] = 0;
	while (n + 1 < size && (r = read(fd, buf + n, size - n - 1)) > 0) {
		n += (size_t)r;
		buf[n] = 0;
		if (key && strstr(buf, key) && strchr(strstr(buf, key), '\n'))
			break;
	}
	return buf;
}

static long value_of(const char *out, const char *key)
{
	const char *p = strstr(out, key);

	return p ? atol(p + strlen(key)) : 0;
}

/* Runs the app to its end; its whole output in @buf. */
static int run_app(const char *scenario, char *buf, size_t size)
{
	int fd, st = 0;
	pid_t pid = start_app(scenario, &fd);

	read_until(fd, NULL, buf, size);
	close(fd);
	CHECK(harness_wait_pid(pid, 20) == 0 || 1);
	waitpid(pid, &st, 0);
	return st;
}

static bool gone_within(pid_t pid, unsigned ms)
{
	for (unsigned i = 0; i < ms / 10; i++) {
		if (!harness_proc_alive(pid))
			return true;
		usleep(10000);
	}
	return !harness_proc_alive(pid);
}

static void cleanup(void)
{
	harness_kill_children();
	run_cmd("rm -rf %s", dir);
}

/* ---- scenarios ---------------------------------------------------------------- */

static void test_request(const char *kind)
{
	char out[4096];
	long w;

	layout(kind);
	CHECK_EQ_INT(run_app("request", out, sizeof(out)), 0);
	w = value_of(out, "pid=");
	CHECK(w > 0);
	CHECK(strstr(out, "service=org.example.bench.worker\n"));
	CHECK(strstr(out, "mode=plugin\n"));
	CHECK(strstr(out, "parent=ok\n"));
	CHECK(w <= 0 || gone_within((pid_t)w, 5000));
	if (harness_failures)
		fprintf(stderr, "app said:\n%s", out);
	cleanup();
}

static void test_interrupt(void)
{
	char out[4096];

	layout("apple");
	CHECK_EQ_INT(run_app("interrupt", out, sizeof(out)), 0);
	CHECK(strstr(out, "crash=interrupted\n"));
	CHECK(strstr(out, "relaunched=yes\n"));
	if (harness_failures)
		fprintf(stderr, "app said:\n%s", out);
	cleanup();
}

static void test_session(void)
{
	char out[4096];

	layout("apple");
	CHECK_EQ_INT(run_app("session", out, sizeof(out)), 0);
	CHECK(value_of(out, "pid=") > 0);
	CHECK(strstr(out, "parent=ok\n"));
	if (harness_failures)
		fprintf(stderr, "app said:\n%s", out);
	cleanup();
}

static void test_exit(void)
{
	char out[4096];
	long w;

	layout("apple");
	CHECK_EQ_INT(run_app("exit", out, sizeof(out)), 0);
	w = value_of(out, "pid=");
	CHECK(w > 0 && gone_within((pid_t)w, 5000));
	cleanup();
}

/* Starts a holding app; its worker's pid in *ret_worker. */
static pid_t start_holding(pid_t *ret_worker)
{
	char out[4096];
	int fd;
	pid_t app = start_app("hold", &fd);

	read_until(fd, "parent=", out, sizeof(out));
	close(fd);
	*ret_worker = (pid_t)value_of(out, "pid=");
	CHECK(*ret_worker > 0);
	CHECK(strstr(out, "parent=ok"));
	return app;
}

static void test_killed(void)
{
	pid_t w, app;

	layout("apple");
	app = start_holding(&w);
	CHECK(harness_proc_alive(w));
	kill(app, SIGKILL);
	waitpid(app, NULL, 0);
	CHECK(w > 0 && gone_within(w, 5000)); /* PR_SET_PDEATHSIG */
	cleanup();
}

static void test_two_apps(void)
{
	pid_t w1, w2, a1, a2;

	layout("apple");
	a1 = start_holding(&w1);
	a2 = start_holding(&w2);
	CHECK(w1 > 0 && w2 > 0 && w1 != w2);
	CHECK_EQ_INT(harness_proc_parent(w1), a1);
	CHECK_EQ_INT(harness_proc_parent(w2), a2);
	kill(a1, SIGTERM);
	waitpid(a1, NULL, 0);
	CHECK(gone_within(w1, 5000));
	CHECK(harness_proc_alive(w2)); /* the other app's worker is its own */
	kill(a2, SIGTERM);
	waitpid(a2, NULL, 0);
	CHECK(gone_within(w2, 5000));
	cleanup();
}

static void check_refused(const char *expect)
{
	char out[4096];

	CHECK_EQ_INT(run_app("refused", out, sizeof(out)), 0);
	CHECK(strstr(out, "reply=invalid\n"));
	CHECK(strstr(out, expect));
	if (harness_failures)
		fprintf(stderr, "app said:\n%s", out);
	cleanup();
}

static void test_group_writable(void)
{
	layout("apple");
	REQUIRE(chmod(xpc_dir, 0775) == 0);
	check_refused("not writable by group or others");
}

static void test_foreign_owner(void)
{
	struct harness_user nobody;

	harness_require_root();
	nobody = harness_unprivileged_user(0);
	layout("apple");
	/* the attacker's own service planted in the app's bundle */
	run_cmd("chown -R %u:%u %s", (unsigned)nobody.uid, (unsigned)nobody.gid, xpc_dir);
	check_refused("owned by uid");
}

static void test_symlink(void)
{
	char exe[700];

	layout("apple");
	snprintf(exe, sizeof(exe), "%s/Contents/MacOS/bench-worker", xpc_dir);
	REQUIRE(unlink(exe) == 0);
	REQUIRE(symlink("/bin/true", exe) == 0);
	check_refused("bench-worker: ");
}

int main(int argc, char **argv)
{
	const char *s = argc > 1 ? argv[1] : "";

	harness_begin(90);
	if (!strcmp(s, "apple") || !strcmp(s, "linux"))
		test_request(s);
	else if (!strcmp(s, "interrupt"))
		test_interrupt();
	else if (!strcmp(s, "session"))
		test_session();
	else if (!strcmp(s, "exit"))
		test_exit();
	else if (!strcmp(s, "killed"))
		test_killed();
	else if (!strcmp(s, "two-apps"))
		test_two_apps();
	else if (!strcmp(s, "group-writable"))
		test_group_writable();
	else if (!strcmp(s, "foreign-owner"))
		test_foreign_owner();
	else if (!strcmp(s, "symlink"))
		test_symlink();
	else {
		fprintf(stderr, "unknown scenario %s\n", s);
		return 2;
	}
	return harness_end();
}
