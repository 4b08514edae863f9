/* SPDX-License-Identifier: MIT */
/*
 * test-compat - behaviours that must match macOS, with real processes
 * against a private xpcd (as tests/broker/test-broker.c starts it):
 *
 *   test-compat SCENARIO
 *
 * main-sync     a named connection on the main queue answers sync requests
 *               made from main() before dispatch_main() ever runs, also
 *               after INTERRUPTED (the service exited and is relaunched)
 * misuse        a sync request from the connection's own handler crashes
 *               with a "BUG IN CLIENT OF LIBXPC" message instead of hanging
 * exit-return   one message, then return from main(): the service gets it
 * exit-many     2000 coalesced messages, then return: all arrive
 * exit-thread   one message, then exit() on a worker thread: it arrives
 * exit-slow-broker  exit-return with the broker's answer to the lookup
 *               3 s late: the exit waits for it (a flat 2 s bound lost
 *               the message)
 * barrier-null, barrier-main   one message, then a barrier that calls
 *               _exit(): the barrier alone is enough (handler queue NULL
 *               or the main queue)
 * barrier-gone  the same over the service's endpoint, with xpcd stopped
 *               until the client has exited: a check-in whose client is
 *               gone but left a message still starts the service (xpcd
 *               used to drop it when it looked after the client's exit:
 *               barrier-null then failed 1 run in 8)
 *
 * The service (compat-service, launched on demand) appends every token it
 * receives to a record file the test reads.  Programs come from the
 * environment (XPCD, COMPAT_SERVICE, COMPAT_CLIENT), set by meson.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "connection/connection.h"
#include "object/object.h"
#include "shared/xpcd-protocol.h"

#define NAME "org.xpc.test.compat"

static char dir[256], sock[300], record[300];
static pid_t broker_pid;
static const char *xpcd_path, *service_path, *client_path;

static void write_job(void)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/jobs/compat.plist", dir);
	f = fopen(path, "we");
	REQUIRE(f);
	fprintf(f,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plist version=\"1.0\"><dict>\n"
		"<key>Label</key><string>compat</string>\n"
		"<key>ProgramArguments</key><array><string>%s</string><string>%s</string>"
		"<string>%s</string></array>\n"
		"<key>MachServices</key><dict><key>%s</key><true/></dict>\n"
		"<key>ThrottleInterval</key><integer>1</integer>\n</dict></plist>\n",
		service_path, NAME, record, NAME);
	fclose(f);
}

static void start_broker(void)
{
	char path[512];

	broker_pid = fork();
	REQUIRE(broker_pid >= 0);
	if (broker_pid == 0) {
		snprintf(path, sizeof(path), "%s/xpcd.log", dir);
		int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd >= 0) { /* jobs inherit both: none may hold the test's pipes */
			dup2(fd, 1);
			dup2(fd, 2);
		}
		snprintf(path, sizeof(path), "%s/jobs", dir);
		execl(xpcd_path, "xpcd", "--socket", sock, "--jobs", path, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500; i++) { /* until it accepts */
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
		bool up = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		if (fd >= 0)
			close(fd);
		if (up)
			return;
		usleep(10000);
	}
	REQUIRE(!"broker did not listen on its socket");
}

static void setup(void)
{
	char jobs[300];

	snprintf(dir, sizeof(dir), "/tmp/xpc-compat-test.XXXXXX");
	REQUIRE(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/xpcd.sock", dir);
	snprintf(record, sizeof(record), "%s/record", dir);
	snprintf(jobs, sizeof(jobs), "%s/jobs", dir);
	REQUIRE(mkdir(jobs, 0755) == 0);
	setenv("XPCD_SOCKET", sock, 1);
	harness_adopt_orphans();
	write_job();
	start_broker();
}

static void teardown(void)
{
	char cmd[700];

	if (broker_pid > 0) {
		kill(broker_pid, SIGKILL);
		harness_wait_pid(broker_pid, 10);
	}
	harness_kill_children(); /* the service, adopted */
	snprintf(cmd, sizeof(cmd), "cat %s/xpcd.log %s/client.err >&2", dir, dir);
	if (harness_failures && system(cmd) < 0)
		perror("system");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) < 0)
		perror("system");
}

/* Starts compat-client with @args (NULL-terminated, after the program
 * name), its output in DIR/client.out and .err.  Return: its pid. */
static pid_t start_client(const char *const *args)
{
	char out[320], err[320];
	const char *argv[8] = {client_path};
	int n = 1;

	for (; args[n - 1] && n < 7; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	snprintf(out, sizeof(out), "%s/client.out", dir);
	snprintf(err, sizeof(err), "%s/client.err", dir);
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		int e = open(err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(126);
		execv(client_path, (char *const *)argv);
		_exit(127);
	}
	return pid;
}

/* Runs compat-client with @args.  Return: its wait status, or -1 when it
 * did not end within @seconds (then it was killed). */
static int run_client(unsigned seconds, const char *const *args)
{
	return harness_wait_pid(start_client(args), seconds);
}

/* Whether the file DIR/@name holds @text within @seconds. */
static bool file_has(const char *name, const char *text, unsigned seconds)
{
	char path[320], buf[65536];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	for (unsigned i = 0; i < seconds * 100; i++) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
		if (fd >= 0)
			close(fd);
		if (n > 0) {
			buf[n] = 0;
			if (strstr(buf, text))
				return true;
		}
		usleep(10000);
	}
	return false;
}

/* The number of lines of the record file within @seconds once it has
 * @want of them (or what it has then). */
static int record_lines(int want, unsigned seconds)
{
	int n = 0;

	for (unsigned i = 0; i < seconds * 100 && n < want; i++) {
		FILE *f = fopen(record, "re");
		int ch;
		n = 0;
		while (f && (ch = fgetc(f)) != EOF)
			n += ch == '\n';
		if (f)
			fclose(f);
		if (n < want)
			usleep(10000);
	}
	return n;
}

static void check_exited_0(int status)
{
	CHECK(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	if (status < 0)
		fprintf(stderr, "client did not end: killed\n");
	else if (!WIFEXITED(status) || WEXITSTATUS(status))
		fprintf(stderr, "client status 0x%x\n", status);
}

/* ---- scenarios ---------------------------------------------------------------- */

static void scenario_main_sync(void)
{
	check_exited_0(run_client(20, (const char *[]){"main-sync", NAME, "50", NULL}));
	CHECK(file_has("client.out", "ok", 1));
	CHECK_EQ_INT(record_lines(100, 5), 100);
}

static void scenario_misuse(void)
{
	int status = run_client(20, (const char *[]){"misuse", NAME, NULL});

	CHECK(status >= 0 && WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
	CHECK(file_has("client.err", "BUG IN CLIENT OF LIBXPC", 1));
	CHECK(!file_has("client.out", "returned", 0));
}

static void scenario_exit_return(void)
{
	check_exited_0(run_client(20, (const char *[]){"send-return", NAME, "returned", "1", NULL}));
	CHECK(file_has("record", "returned\n", 10));
}

/* The broker answers the lookup only after 3 s (stopped meanwhile): the
 * exit waits for it, since the message would be lost otherwise. */
static void scenario_exit_slow_broker(void)
{
	REQUIRE(kill(broker_pid, SIGSTOP) == 0);
	pid_t pid = start_client((const char *[]){"send-return", NAME, "slow", "1", NULL});
	sleep(3);
	CHECK(kill(broker_pid, SIGCONT) == 0);
	check_exited_0(harness_wait_pid(pid, 20));
	CHECK(file_has("record", "slow\n", 10));
}

static void scenario_exit_many(void)
{
	check_exited_0(run_client(20, (const char *[]){"send-return", NAME, "many", "2000", NULL}));
	CHECK_EQ_INT(record_lines(2000, 10), 2000);
	CHECK(file_has("record", "many-1999\n", 1));
}

static void scenario_exit_thread(void)
{
	check_exited_0(run_client(20, (const char *[]){"send-exit", NAME, "exited", NULL}));
	CHECK(file_has("record", "exited\n", 10));
}

static void scenario_barrier(const char *queue)
{
	check_exited_0(run_client(20, (const char *[]){"barrier", NAME, "barrier", queue, NULL}));
	CHECK(file_has("record", "barrier\n", 10));
}

/* The service's listener channel W (a descriptor of this process, not
 * close-on-exec: for the client), from a broker lookup made by hand: a
 * lookup launches nothing. */
static int lookup_w(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int bfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0), w = -1;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	REQUIRE(bfd >= 0 && connect(bfd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	xpc_connection_t b = connection_create_from_socket(bfd, NULL);
	xpc_connection_set_event_handler(b, ^(xpc_object_t ev) {
		(void)ev;
	});
	xpc_connection_resume(b);
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0);
	xpc_dictionary_set_string(m, XPCD_KEY_OP, XPCD_OP_LOOKUP);
	xpc_dictionary_set_string(m, XPCD_KEY_NAME, NAME);
	xpc_object_t r = xpc_connection_send_message_with_reply_sync(b, m);
	xpc_object_t ep = xpc_get_type(r) == XPC_TYPE_DICTIONARY ? xpc_dictionary_get_value(r, XPCD_KEY_ENDPOINT) : NULL;
	if (ep && xpc_get_type(ep) == XPC_TYPE_ENDPOINT)
		w = fcntl(endpoint_object_borrow_fd(ep), F_DUPFD, 3);
	xpc_release(r);
	xpc_release(m);
	xpc_connection_cancel(b);
	xpc_release(b);
	REQUIRE(w >= 0);
	return w;
}

static void scenario_barrier_gone(void)
{
	char fd[16];
	int w = lookup_w();

	snprintf(fd, sizeof(fd), "%d", w);
	REQUIRE(kill(broker_pid, SIGSTOP) == 0);
	/* the check-in waits on R, unseen, while the client sends, runs its
	 * barrier and exits */
	check_exited_0(run_client(20, (const char *[]){"barrier-fd", fd, "gone", NULL}));
	close(w);
	CHECK(kill(broker_pid, SIGCONT) == 0);
	CHECK(file_has("record", "gone\n", 10));
}

static void scenario_barrier_null(void)
{
	scenario_barrier("null");
}

static void scenario_barrier_main(void)
{
	scenario_barrier("main");
}

int main(int argc, char **argv)
{
	static const struct { const char *name; void (*fn)(void); } scenarios[] = {
		{"main-sync", scenario_main_sync},       {"misuse", scenario_misuse},
		{"exit-return", scenario_exit_return},   {"exit-many", scenario_exit_many},
		{"exit-thread", scenario_exit_thread},   {"barrier-null", scenario_barrier_null},
		{"barrier-main", scenario_barrier_main}, {"barrier-gone", scenario_barrier_gone},
		{"exit-slow-broker", scenario_exit_slow_broker},
		{NULL, NULL},
	};

	xpcd_path = getenv("XPCD");
	service_path = getenv("COMPAT_SERVICE");
	client_path = getenv("COMPAT_CLIENT");
	REQUIRE(argc == 2 && xpcd_path && service_path && client_path);
	harness_warm_dispatch();
	harness_begin(90);
	setup();
	for (int i = 0; scenarios[i].name; i++)
		if (!strcmp(argv[1], scenarios[i].name)) {
			scenarios[i].fn();
			teardown();
			return harness_end();
		}
	fprintf(stderr, "unknown scenario %s\n", argv[1]);
	teardown();
	return 2;
}
