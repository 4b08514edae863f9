/* SPDX-License-Identifier: MIT */
/*
 * test-remote - RemoteXPC end to end over loopback: a private xpcd with the
 * remote-service job, xpc-remoted serving it on 127.0.0.1, and this
 * project's client (<xpc/remote.h>) or an independent HTTP/2 client
 * (test-h2.py, python3-h2) talking to it.
 *
 *   test-remote SCENARIO
 *
 * Paths come from the environment (XPCD, XPC_REMOTED, REMOTE_SERVICE,
 * TEST_H2), set by meson.  Everything is on 127.0.0.1; all processes are
 * killed at the end (the broker, its jobs, xpc-remoted).
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xpc/xpc.h>
#include <xpc/remote.h>

#include "connection/connection.h"
#include "harness.h"

#define NAME "org.xpc.test.remote"
#define SECRET "org.xpc.test.remote.secret" /* a job not exported */

static char dir[256], sock[300];
static pid_t broker_pid, remoted_pid;
static unsigned disc_port, svc_port;

static void write_job(void)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/jobs/remote.plist", dir);
	f = fopen(path, "we");
	REQUIRE(f);
	fprintf(f,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plist version=\"1.0\"><dict>\n"
		"<key>Label</key><string>remote</string>\n"
		"<key>ProgramArguments</key><array><string>%s</string><string>%s</string></array>\n"
		"<key>MachServices</key><dict><key>%s</key><true/></dict>\n"
		"<key>ThrottleInterval</key><integer>1</integer>\n</dict></plist>\n",
		getenv("REMOTE_SERVICE"), NAME, NAME);
	fclose(f);
	/* a job of root's that xpc-remoted does not serve */
	snprintf(path, sizeof(path), "%s/jobs/secret.plist", dir);
	f = fopen(path, "we");
	REQUIRE(f);
	fprintf(f,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plist version=\"1.0\"><dict>\n"
		"<key>Label</key><string>secret</string>\n"
		"<key>ProgramArguments</key><array><string>%s</string><string>%s</string></array>\n"
		"<key>MachServices</key><dict><key>%s</key><true/></dict>\n</dict></plist>\n",
		getenv("REMOTE_SERVICE"), SECRET, SECRET);
	fclose(f);
}

static void start_broker(void)
{
	char log[512];

	broker_pid = fork();
	REQUIRE(broker_pid >= 0);
	if (broker_pid == 0) {
		snprintf(log, sizeof(log), "%s/xpcd.log", dir);
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		snprintf(log, sizeof(log), "%s/jobs", dir);
		execl(getenv("XPCD"), "xpcd", "--socket", sock, "--jobs", log, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500; i++) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		bool up;

		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
		up = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		if (fd >= 0)
			close(fd);
		if (up)
			return;
		usleep(10000);
	}
	REQUIRE(!"broker did not listen");
}

static const char *remoted_psk; /* --psk-file for start_remoted(), or NULL */

/* Starts xpc-remoted on @addr and reads its ports.
 * Return: true when it said "ready". */
static bool start_remoted(const char *addr)
{
	int p[2];
	FILE *f;
	char line[256], name[200];
	unsigned port;
	bool ready = false;

	REQUIRE(pipe2(p, O_CLOEXEC) == 0);
	remoted_pid = fork();
	REQUIRE(remoted_pid >= 0);
	if (remoted_pid == 0) {
		char log[512];
		int fd;

		snprintf(log, sizeof(log), "%s/remoted.log", dir);
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd >= 0)
			dup2(fd, 2); /* its log: the attack scenarios read the reasons */
		dup2(p[1], 1);
		if (remoted_psk)
			execl(getenv("XPC_REMOTED"), "xpc-remoted", "--address", addr, "--port", "0", "--psk-file",
			      remoted_psk, NAME, (char *)NULL);
		else
			execl(getenv("XPC_REMOTED"), "xpc-remoted", "--address", addr, "--port", "0", NAME, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	f = fdopen(p[0], "r");
	REQUIRE(f);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "discovery %u", &port) == 1)
			disc_port = port;
		else if (sscanf(line, "service %199s %u", name, &port) == 2)
			svc_port = port;
		else if (!strcmp(line, "ready\n")) {
			ready = true;
			break;
		}
	}
	fclose(f);
	return ready;
}

static void kill_pid(pid_t *pid)
{
	if (*pid > 0) {
		kill(*pid, SIGKILL);
		harness_wait_pid(*pid, 10);
		*pid = 0;
	}
}

/* On an early exit (REQUIRE): no process left behind holding the test's
 * output (meson would wait for it until the timeout). */
static void kill_all_at_exit(void)
{
	if (remoted_pid > 0)
		kill(remoted_pid, SIGKILL);
	if (broker_pid > 0)
		kill(broker_pid, SIGKILL);
	harness_kill_children();
}

static void setup(void)
{
	char jobs[300];

	snprintf(dir, sizeof(dir), "/tmp/xpc-remote-test.XXXXXX");
	REQUIRE(mkdtemp(dir));
	REQUIRE(chmod(dir, 0755) == 0); /* xpc-remoted runs as nobody: it must reach the socket */
	snprintf(sock, sizeof(sock), "%s/xpcd.sock", dir);
	snprintf(jobs, sizeof(jobs), "%s/jobs", dir);
	REQUIRE(mkdir(jobs, 0755) == 0);
	setenv("XPCD_SOCKET", sock, 1);
	harness_adopt_orphans();
	atexit(kill_all_at_exit);
	write_job();
	start_broker();
	REQUIRE(chmod(sock, 0666) == 0); /* as the system broker's: xpc-remoted is nobody */
	REQUIRE(start_remoted("127.0.0.1"));
	REQUIRE(disc_port && svc_port);
}

static void teardown(void)
{
	char cmd[400];

	kill_pid(&remoted_pid);
	kill_pid(&broker_pid);
	harness_kill_children();
	if (harness_failures) {
		snprintf(cmd, sizeof(cmd), "cat %s/xpcd.log %s/remoted.log >&2", dir, dir);
		if (system(cmd) < 0)
			perror("system");
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) < 0)
		perror("system");
}

/* ---- client helpers ------------------------------------------------------- */

static xpc_connection_t connect_remote(xpc_object_t *last_event)
{
	xpc_connection_t c = xpc_linux_remote_connection_create("127.0.0.1", (uint16_t)disc_port, NAME, NULL);

	REQUIRE(c);
	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) {
		if (last_event && (xpc_get_type(ev) == XPC_TYPE_ERROR || xpc_get_type(ev) == XPC_TYPE_DICTIONARY))
			/* errors are immortal; a test keeps at most one dictionary */
			__atomic_store_n(last_event, xpc_retain(ev), __ATOMIC_SEQ_CST);
	});
	xpc_connection_resume(c);
	return c;
}

static xpc_object_t request(xpc_connection_t c, const char *op, int64_t value)
{
	xpc_object_t msg = xpc_dictionary_create(NULL, NULL, 0), reply;

	xpc_dictionary_set_string(msg, "op", op);
	xpc_dictionary_set_int64(msg, "value", value);
	reply = xpc_connection_send_message_with_reply_sync(c, msg);
	xpc_release(msg);
	return reply;
}

static const char *error_text(xpc_object_t reply)
{
	if (xpc_get_type(reply) != XPC_TYPE_DICTIONARY)
		return NULL;
	return xpc_dictionary_get_string(reply, XPC_ERROR_KEY_DESCRIPTION);
}

static void finish_connection(xpc_connection_t c)
{
	dispatch_semaphore_t gone = dispatch_semaphore_create(0);

	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) {
		if (ev == XPC_ERROR_CONNECTION_INVALID)
			dispatch_semaphore_signal(gone);
	});
	xpc_connection_cancel(c);
	dispatch_semaphore_wait(gone, DISPATCH_TIME_FOREVER);
	dispatch_release(gone);
	xpc_release(c);
}

/* ---- scenarios ---------------------------------------------------------------- */

/* The handshake: what clients require of it. */
static void scenario_discovery(void)
{
	char *err = NULL;
	xpc_object_t hs = xpc_linux_remote_copy_services("127.0.0.1", (uint16_t)disc_port, &err), svc, props;
	char port[16];

	REQUIRE(hs);
	CHECK_STREQ(xpc_dictionary_get_string(hs, "MessageType"), "Handshake");
	CHECK_EQ_INT(xpc_dictionary_get_uint64(hs, "MessagingProtocolVersion"), 7);
	CHECK(xpc_dictionary_get_uuid(hs, "UUID") != NULL);
	props = xpc_dictionary_get_dictionary(hs, "Properties");
	CHECK(props && xpc_dictionary_get_string(props, "UniqueDeviceID"));
	CHECK(props && xpc_dictionary_get_string(props, "ProductType"));
	svc = xpc_dictionary_get_dictionary(xpc_dictionary_get_dictionary(hs, "Services"), NAME);
	REQUIRE(svc);
	snprintf(port, sizeof(port), "%u", svc_port);
	CHECK_STREQ(xpc_dictionary_get_string(svc, "Port"), port);
	xpc_release(hs);
	/* nothing listens on port 1 */
	CHECK(xpc_linux_remote_copy_services("127.0.0.1", 1, &err) == NULL && errno == ECONNREFUSED);
	free(err);
	CHECK(xpc_linux_remote_connection_create("127.0.0.1", (uint16_t)disc_port, "org.xpc.test.none", NULL) == NULL &&
	      errno == ENOENT);
}

/* Requests and replies, sync and async, unprompted messages, identity. */
static void scenario_loopback(void)
{
	xpc_object_t last = NULL, r;
	xpc_connection_t c = connect_remote(&last);
	dispatch_semaphore_t done = dispatch_semaphore_create(0);
	__block int ok = 0;
	struct passwd *nobody = getpwnam("nobody");

	r = request(c, "echo", 42);
	CHECK(xpc_get_type(r) == XPC_TYPE_DICTIONARY && xpc_dictionary_get_int64(r, "value") == 42);
	CHECK(xpc_dictionary_get_int64(r, "pid") > 0);
	if (geteuid() == 0 && nobody) /* the service sees the unprivileged account */
		CHECK_EQ_INT(xpc_dictionary_get_int64(r, "euid"), nobody->pw_uid);
	/* and the peer's address, which the peer cannot forge */
	CHECK(xpc_dictionary_get_string(r, "remote") && !strncmp(xpc_dictionary_get_string(r, "remote"), "127.0.0.1:", 10));
	xpc_release(r);
	{
		xpc_object_t msg = xpc_dictionary_create(NULL, NULL, 0);

		xpc_dictionary_set_string(msg, "op", "echo");
		xpc_dictionary_set_string(msg, XPC_LINUX_REMOTE_PEER_ADDRESS_KEY, "203.0.113.9:1");
		r = xpc_connection_send_message_with_reply_sync(c, msg);
		CHECK(xpc_dictionary_get_string(r, "remote") &&
		      !strncmp(xpc_dictionary_get_string(r, "remote"), "127.0.0.1:", 10));
		xpc_release(r);
		xpc_release(msg);
	}
	for (int i = 0; i < 200; i++) {
		xpc_object_t msg = xpc_dictionary_create(NULL, NULL, 0);

		xpc_dictionary_set_string(msg, "op", "echo");
		xpc_dictionary_set_int64(msg, "value", i);
		xpc_connection_send_message_with_reply(c, msg, NULL, ^(xpc_object_t reply) {
			if (xpc_get_type(reply) == XPC_TYPE_DICTIONARY && xpc_dictionary_get_int64(reply, "value") == i)
				__atomic_add_fetch(&ok, 1, __ATOMIC_SEQ_CST);
			dispatch_semaphore_signal(done);
		});
		xpc_release(msg);
	}
	for (int i = 0; i < 200; i++)
		dispatch_semaphore_wait(done, DISPATCH_TIME_FOREVER);
	CHECK_EQ_INT(ok, 200);
	/* a large value crosses in many DATA frames */
	{
		size_t n = 1u << 20;
		char *big = malloc(n);
		xpc_object_t msg = xpc_dictionary_create(NULL, NULL, 0);

		memset(big, 'x', n);
		xpc_dictionary_set_string(msg, "op", "echo");
		xpc_dictionary_set_data(msg, "value", big, n);
		r = xpc_connection_send_message_with_reply_sync(c, msg);
		CHECK(xpc_get_type(r) == XPC_TYPE_DICTIONARY);
		CHECK(xpc_dictionary_get_value(r, "value") &&
		      xpc_data_get_length(xpc_dictionary_get_value(r, "value")) == n);
		xpc_release(r);
		xpc_release(msg);
		free(big);
	}
	/* the service's unprompted message reaches the event handler */
	r = request(c, "push", 7);
	xpc_release(r);
	for (int i = 0; i < 500 && !__atomic_load_n(&last, __ATOMIC_SEQ_CST); i++)
		usleep(10000);
	CHECK(last && xpc_get_type(last) == XPC_TYPE_DICTIONARY && xpc_dictionary_get_int64(last, "pushed") == 7);
	if (last)
		xpc_release(last);
	dispatch_release(done);
	finish_connection(c);
}

/* Objects with descriptors do not cross: a clear error, both ways. */
static void scenario_descriptor(void)
{
	xpc_connection_t c = connect_remote(NULL);
	xpc_object_t msg = xpc_dictionary_create(NULL, NULL, 0), fd = xpc_fd_create(0), r;

	xpc_dictionary_set_string(msg, "op", "echo");
	xpc_dictionary_set_value(msg, "value", fd);
	r = xpc_connection_send_message_with_reply_sync(c, msg);
	CHECK(error_text(r) && strstr(error_text(r), "cannot cross hosts"));
	xpc_release(r);
	r = request(c, "fd", 1); /* the service's reply holds one */
	CHECK(error_text(r) && strstr(error_text(r), "cannot cross hosts"));
	xpc_release(r);
	r = request(c, "echo", 3); /* and the connection goes on */
	CHECK(xpc_dictionary_get_int64(r, "value") == 3);
	xpc_release(r);
	xpc_release(fd);
	xpc_release(msg);
	finish_connection(c);
}

/* The job dies mid-request: exactly one answer ("Connection interrupted"),
 * and the next request starts it again. */
static void scenario_kill_job(void)
{
	xpc_connection_t c = connect_remote(NULL);
	xpc_object_t r = request(c, "echo", 1), msg;
	pid_t job = (pid_t)xpc_dictionary_get_int64(r, "pid");
	dispatch_semaphore_t done = dispatch_semaphore_create(0);
	__block xpc_object_t answer = NULL;

	xpc_release(r);
	REQUIRE(job > 0);
	msg = xpc_dictionary_create(NULL, NULL, 0);
	xpc_dictionary_set_string(msg, "op", "hang");
	xpc_connection_send_message_with_reply(c, msg, NULL, ^(xpc_object_t reply) {
		answer = xpc_retain(reply);
		dispatch_semaphore_signal(done);
	});
	xpc_release(msg);
	r = request(c, "echo", 2); /* the hang request has reached the job */
	xpc_release(r);
	kill(job, SIGKILL);
	dispatch_semaphore_wait(done, DISPATCH_TIME_FOREVER);
	CHECK(error_text(answer) && !strcmp(error_text(answer), "Connection interrupted"));
	xpc_release(answer);
	for (int i = 0; i < 20; i++) { /* relaunched on demand (throttle: 1 s) */
		r = request(c, "echo", 5);
		bool good = xpc_get_type(r) == XPC_TYPE_DICTIONARY && xpc_dictionary_get_int64(r, "value") == 5;
		if (good)
			CHECK(xpc_dictionary_get_int64(r, "pid") != job);
		xpc_release(r);
		if (good)
			break;
		CHECK(i < 19);
		usleep(200000);
	}
	dispatch_release(done);
	finish_connection(c);
}

/* The TCP connection drops mid-request (xpc-remoted killed): the pending
 * reply and the event handler get XPC_ERROR_CONNECTION_INVALID. */
static void scenario_drop(void)
{
	xpc_object_t last = NULL;
	xpc_connection_t c = connect_remote((xpc_object_t *)&last);
	xpc_object_t msg = xpc_dictionary_create(NULL, NULL, 0), r;
	dispatch_semaphore_t done = dispatch_semaphore_create(0);
	__block xpc_object_t answer = NULL;

	r = request(c, "echo", 1);
	xpc_release(r);
	xpc_dictionary_set_string(msg, "op", "hang");
	xpc_connection_send_message_with_reply(c, msg, NULL, ^(xpc_object_t reply) {
		answer = reply;
		dispatch_semaphore_signal(done);
	});
	xpc_release(msg);
	r = request(c, "echo", 2);
	xpc_release(r);
	kill_pid(&remoted_pid);
	dispatch_semaphore_wait(done, DISPATCH_TIME_FOREVER);
	CHECK(answer == XPC_ERROR_CONNECTION_INVALID);
	for (int i = 0; i < 500 && __atomic_load_n(&last, __ATOMIC_SEQ_CST) != XPC_ERROR_CONNECTION_INVALID; i++)
		usleep(10000);
	CHECK(__atomic_load_n(&last, __ATOMIC_SEQ_CST) == XPC_ERROR_CONNECTION_INVALID);
	r = request(c, "echo", 3);
	CHECK(r == XPC_ERROR_CONNECTION_INVALID);
	dispatch_release(done);
	xpc_release(c);
}

/* The client process of kill-client (test-remote client-hang PORT): one
 * echo, a request the job never answers, "x" on stdout, then it waits. */
static int client_hang(const char *port)
{
	xpc_connection_t c;
	xpc_object_t msg = xpc_dictionary_create(NULL, NULL, 0);

	disc_port = (unsigned)atoi(port);
	c = connect_remote(NULL);
	xpc_release(request(c, "echo", 1));
	xpc_dictionary_set_string(msg, "op", "hang");
	xpc_connection_send_message_with_reply(c, msg, NULL, ^(xpc_object_t reply) {
	});
	xpc_release(request(c, "echo", 2));
	if (write(1, "x", 1) != 1)
		return 1;
	pause();
	return 0;
}

/* A remote client killed mid-request: xpc-remoted ends its session and
 * the local connection behind it (the service sees its peer go), stays up
 * and serves the next client. */
static void scenario_kill_client(void)
{
	int p[2];
	pid_t child;
	char ch, port[16];
	xpc_connection_t c;
	xpc_object_t r;

	REQUIRE(pipe2(p, O_CLOEXEC) == 0);
	snprintf(port, sizeof(port), "%u", disc_port);
	child = fork();
	REQUIRE(child >= 0);
	if (child == 0) {
		dup2(p[1], 1);
		execl("/proc/self/exe", "test-remote", "client-hang", port, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	CHECK(read(p[0], &ch, 1) == 1);
	close(p[0]);
	kill(child, SIGKILL);
	harness_wait_pid(child, 10);
	c = connect_remote(NULL);
	r = request(c, "echo", 9);
	CHECK(xpc_get_type(r) == XPC_TYPE_DICTIONARY && xpc_dictionary_get_int64(r, "value") == 9);
	xpc_release(r);
	for (int i = 0;; i++) { /* only this client's peer is left */
		int64_t peers;

		r = request(c, "peers", 0);
		peers = xpc_dictionary_get_int64(r, "peers");
		xpc_release(r);
		if (peers == 1)
			break;
		CHECK(i < 500);
		if (i >= 500)
			break;
		usleep(10000);
	}
	finish_connection(c);
	CHECK(harness_proc_alive(remoted_pid));
}

/* Listening beyond loopback is refused (no TLS). */
static void scenario_not_loopback(void)
{
	pid_t pid = fork();
	int status;

	REQUIRE(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

		dup2(null, 1);
		dup2(null, 2);
		execl(getenv("XPC_REMOTED"), "xpc-remoted", "--address", "0.0.0.0", "--port", "0", NAME, (char *)NULL);
		_exit(127);
	}
	status = harness_wait_pid(pid, 20);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 1);
}

static int run_output(const char *cmd, char *out, size_t size);

static xpc_object_t psk_options(const char *identity, uint8_t fill)
{
	xpc_object_t o = xpc_dictionary_create(NULL, NULL, 0);
	uint8_t key[32];

	memset(key, fill, sizeof(key));
	xpc_dictionary_set_string(o, XPC_LINUX_REMOTE_TLS_PSK_IDENTITY, identity);
	xpc_dictionary_set_data(o, XPC_LINUX_REMOTE_TLS_PSK, key, sizeof(key));
	return o;
}

/* TLS with a pre-shared key: the right key works, a wrong key, a wrong
 * identity or cleartext do not, and a key file others can read is
 * refused. */
static void scenario_tls(void)
{
	char psk[400];
	FILE *f;
	xpc_object_t good = psk_options("test-host", 0xa5), bad_key = psk_options("test-host", 0x5a);
	xpc_object_t bad_id = psk_options("other-host", 0xa5), odd = xpc_dictionary_create(NULL, NULL, 0), hs, r;
	xpc_connection_t c;
	char *err = NULL;

	snprintf(psk, sizeof(psk), "%s/psk", dir);
	f = fopen(psk, "we");
	REQUIRE(f);
	fprintf(f, "test-host:");
	for (int i = 0; i < 32; i++)
		fprintf(f, "a5");
	fprintf(f, "\n");
	fclose(f);
	kill_pid(&remoted_pid);
	remoted_psk = psk;
	REQUIRE(chmod(psk, 0644) == 0);
	CHECK(!start_remoted("127.0.0.1")); /* others may read the key: refused */
	harness_wait_pid(remoted_pid, 10);
	remoted_pid = 0;
	REQUIRE(chmod(psk, 0600) == 0);
	REQUIRE(start_remoted("127.0.0.1"));
	hs = xpc_linux_remote_copy_services_with_options("127.0.0.1", (uint16_t)disc_port, good, &err);
	CHECK(hs && xpc_dictionary_get_dictionary(xpc_dictionary_get_dictionary(hs, "Services"), NAME));
	if (hs)
		xpc_release(hs);
	c = xpc_linux_remote_connection_create_with_options("127.0.0.1", (uint16_t)disc_port, NAME, good, NULL);
	REQUIRE(c);
	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) {
	});
	xpc_connection_resume(c);
	r = request(c, "echo", 11);
	CHECK(xpc_get_type(r) == XPC_TYPE_DICTIONARY && xpc_dictionary_get_int64(r, "value") == 11);
	xpc_release(r);
	{ /* 4 MiB each way: many TLS records, partial writes, pending bytes */
		size_t n = 4u << 20;
		char *big = malloc(n);
		xpc_object_t msg = xpc_dictionary_create(NULL, NULL, 0), v;

		for (size_t i = 0; i < n; i++)
			big[i] = (char)(i * 7);
		xpc_dictionary_set_string(msg, "op", "echo");
		xpc_dictionary_set_data(msg, "value", big, n);
		r = xpc_connection_send_message_with_reply_sync(c, msg);
		v = xpc_get_type(r) == XPC_TYPE_DICTIONARY ? xpc_dictionary_get_value(r, "value") : NULL;
		CHECK(v && xpc_data_get_length(v) == n && !memcmp(xpc_data_get_bytes_ptr(v), big, n));
		xpc_release(r);
		xpc_release(msg);
		free(big);
	}
	finish_connection(c);
	CHECK(!xpc_linux_remote_copy_services_with_options("127.0.0.1", (uint16_t)disc_port, bad_key, NULL) &&
	      errno == EPROTO);
	CHECK(!xpc_linux_remote_copy_services_with_options("127.0.0.1", (uint16_t)disc_port, bad_id, NULL) &&
	      errno == EPROTO);
	CHECK(!xpc_linux_remote_copy_services("127.0.0.1", (uint16_t)disc_port, NULL) && errno == EPROTO);
	/* straight to the service port with a wrong key: the connection is
	 * made, its session fails at the handshake, the request gets INVALID */
	c = xpc_linux_remote_connection_create_with_options("127.0.0.1", (uint16_t)svc_port, NULL, bad_key, NULL);
	REQUIRE(c);
	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) {
	});
	xpc_connection_resume(c);
	r = request(c, "echo", 12);
	CHECK(r == XPC_ERROR_CONNECTION_INVALID);
	xpc_release(r);
	xpc_release(c);
	{ /* xpcctl --psk-file */
		char cmd[1024], out[8192];

		snprintf(cmd, sizeof(cmd), "%s --remote 127.0.0.1:%u --psk-file %s send " NAME
			 " '{\"op\": \"echo\", \"value\": 6}'", getenv("XPCCTL"), disc_port, psk);
		CHECK_EQ_INT(run_output(cmd, out, sizeof(out)), 0);
		CHECK(strstr(out, "\"value\": 6"));
	}
	xpc_dictionary_set_string(odd, "Colour", "blue");
	CHECK(!xpc_linux_remote_copy_services_with_options("127.0.0.1", (uint16_t)disc_port, odd, NULL) &&
	      errno == EINVAL);
	free(err);
	xpc_release(good);
	xpc_release(bad_key);
	xpc_release(bad_id);
	xpc_release(odd);
}

/* Runs @cmd with the shell; its standard output in @out.  Return: status. */
static int run_output(const char *cmd, char *out, size_t size)
{
	FILE *f = popen(cmd, "re");
	size_t n;

	REQUIRE(f);
	n = fread(out, 1, size - 1, f);
	out[n] = '\0';
	return pclose(f);
}

/* xpcctl --remote HOST:PORT list / send. */
static void scenario_xpcctl(void)
{
	char cmd[1024], out[8192];

	snprintf(cmd, sizeof(cmd), "%s --remote 127.0.0.1:%u list", getenv("XPCCTL"), disc_port);
	CHECK_EQ_INT(run_output(cmd, out, sizeof(out)), 0);
	CHECK(strstr(out, "\"" NAME "\"") && strstr(out, "\"Handshake\""));
	snprintf(cmd, sizeof(cmd), "%s --remote 127.0.0.1:%u send " NAME " '{\"op\": \"echo\", \"value\": 5}'",
		 getenv("XPCCTL"), disc_port);
	CHECK_EQ_INT(run_output(cmd, out, sizeof(out)), 0);
	CHECK(strstr(out, "\"value\": 5"));
	snprintf(cmd, sizeof(cmd), "%s --remote 127.0.0.1:%u send org.xpc.test.none '{}' 2>/dev/null",
		 getenv("XPCCTL"), disc_port);
	CHECK_EQ_INT(WEXITSTATUS(run_output(cmd, out, sizeof(out))), 3);
}

/* The independent HTTP/2 client (python3-h2) against the serving side:
 * Debian's python3 (scripts/install-deps.sh installs python3-h2 for it). */
static void scenario_h2(void)
{
	char d[16], s[16];
	pid_t pid;
	int status;

	snprintf(d, sizeof(d), "%u", disc_port);
	snprintf(s, sizeof(s), "%u", svc_port);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		execl("/usr/bin/python3", "python3", getenv("TEST_H2"), d, s, NAME, (char *)NULL);
		_exit(127);
	}
	status = harness_wait_pid(pid, 60);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(harness_proc_alive(remoted_pid));
}

static bool skipped; /* the scenario needs what is not here: exit 77 */

/* A hostile HTTP/2 peer (test-h2-attack.py ATTACK, raw frames) against the
 * service port: bounded memory, the session closed, a well-behaved client
 * served during and after, the reason in xpc-remoted's log. */
static void scenario_attack(const char *attack)
{
	char s[16], pid[16], log[300];
	pid_t child;
	int status;

	snprintf(s, sizeof(s), "%u", svc_port);
	snprintf(pid, sizeof(pid), "%d", (int)remoted_pid);
	snprintf(log, sizeof(log), "%s/remoted.log", dir);
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
	setenv("TEST_H2_ATTACK_SANITIZER", "1", 1); /* shadow memory, quarantine: wider bounds */
#endif
#endif
	if (!strcmp(attack, "identity")) { /* another local user: daemon */
		char *argv[] = {"/usr/bin/python3", getenv("TEST_H2_ATTACK"), (char *)attack, s, pid, log, NULL};

		if (geteuid() != 0) {
			fprintf(stderr, "remote-attack-identity: needs root (to run the client as daemon)\n");
			skipped = true;
			return;
		}
		child = harness_spawn_as(harness_unprivileged_user(1), argv);
	} else {
		child = fork();
		if (child == 0) {
			execl("/usr/bin/python3", "python3", getenv("TEST_H2_ATTACK"), attack, s, pid, log, (char *)NULL);
			_exit(127);
		}
	}
	REQUIRE(child >= 0);
	status = harness_wait_pid(child, 100);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(harness_proc_alive(remoted_pid));
}

/* Optional: appium-ios-remotexpc (npm), an independent TypeScript client,
 * when APPIUM_REMOTEXPC names its package directory; skipped otherwise. */
static void scenario_appium(void)
{
	const char *pkg = getenv("APPIUM_REMOTEXPC");
	char d[16], s[16], path[600];
	pid_t pid;
	int status;

	snprintf(path, sizeof(path), "%s/package.json", pkg ? pkg : "");
	if (!pkg || access(path, R_OK) != 0 || access("/usr/bin/node", X_OK) != 0) {
		fprintf(stderr, "remote-appium: set APPIUM_REMOTEXPC to an appium-ios-remotexpc directory (and install node)\n");
		skipped = true;
		return;
	}
	snprintf(d, sizeof(d), "%u", disc_port);
	snprintf(s, sizeof(s), "%u", svc_port);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		execl("/usr/bin/node", "node", getenv("TEST_APPIUM"), pkg, d, s, NAME, (char *)NULL);
		_exit(127);
	}
	status = harness_wait_pid(pid, 60);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*run)(void);
	} scenarios[] = {
		{"discovery", scenario_discovery}, {"loopback", scenario_loopback},
		{"descriptor", scenario_descriptor}, {"kill-job", scenario_kill_job},
		{"drop", scenario_drop}, {"kill-client", scenario_kill_client},
		{"not-loopback", scenario_not_loopback}, {"h2", scenario_h2},
		{"xpcctl", scenario_xpcctl}, {"tls", scenario_tls}, {"appium", scenario_appium},
	};

	if (argc == 3 && !strcmp(argv[1], "client-hang"))
		return client_hang(argv[2]);
	REQUIRE(argc == 2);
	harness_warm_dispatch();
	harness_begin(120);
	if (!strcmp(argv[1], "attack-idle")) /* test-h2-attack.py's IDLE */
		setenv("XPC_REMOTE_IDLE_TIMEOUT", "4", 1);
	setup();
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		if (!strcmp(argv[1], scenarios[i].name))
			scenarios[i].run();
	if (!strncmp(argv[1], "attack-", 7))
		scenario_attack(argv[1] + 7);
	teardown();
	connection_forget_services();
	if (skipped)
		return harness_end() ? 1 : 77;
	return harness_end();
}
