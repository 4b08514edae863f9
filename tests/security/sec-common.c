/* SPDX-License-Identifier: MIT */
/*
 * sec-common.c - a root broker for the security tests, its jobs, raw
 * lookups and check-ins, unprivileged runs and a W passed down to them
 * (sec-common.h).  Modelled on
 * tests/broker/test-broker.c: the broker and every job it started are
 * killed at the end (pids from its state file), nothing is left behind.
 */
#include "sec-common.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "connection/connection.h"
#include "object/object.h"
#include "shared/xpcd-protocol.h"
#include "transport/unix/unix.h"
#include "wire/wire.h"

static char dir[256], sock[300];
static pid_t broker_pid;

const char *sec_dir(void)
{
	return dir;
}

const char *sec_socket(void)
{
	return sock;
}

void sec_setup(void)
{
	char jobs[300];

	snprintf(dir, sizeof(dir), "/tmp/xpc-sec-test.XXXXXX");
	REQUIRE(mkdtemp(dir));
	REQUIRE(chmod(dir, 0755) == 0);
	snprintf(sock, sizeof(sock), "%s/xpcd.sock", dir);
	snprintf(jobs, sizeof(jobs), "%s/jobs", dir);
	REQUIRE(mkdir(jobs, 0755) == 0);
	setenv("XPCD_SOCKET", sock, 1);
	harness_adopt_orphans();
}

void sec_begin(unsigned seconds)
{
	harness_require_root();
	harness_warm_dispatch();
	harness_begin(seconds);
	sec_setup();
}

void sec_target_job(const char *argv0)
{
	const char *target[] = {harness_sibling(argv0, "sec-service"), "serve", "org.sec.target", NULL};

	sec_job("target", "org.sec.target", NULL, NULL, false, target);
}

static void write_job(const char *label, const char *name, const char *user, const char *env, bool at_load,
		      const char *keys_xml, const char *const argv[])
{
	char path[512], out[512];
	FILE *f;
	int fd;

	snprintf(out, sizeof(out), "%s/%s.out", dir, label);
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	REQUIRE(fd >= 0);
	fchmod(fd, 0666);
	close(fd);
	snprintf(path, sizeof(path), "%s/jobs/%s.plist", dir, label);
	f = fopen(path, "we");
	REQUIRE(f);
	fprintf(f,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plist version=\"1.0\"><dict>\n"
		"<key>Label</key><string>%s</string>\n<key>ProgramArguments</key><array>",
		label);
	for (size_t i = 0; argv[i]; i++)
		fprintf(f, "<string>%s</string>", argv[i]);
	fprintf(f,
		"</array>\n<key>MachServices</key><dict><key>%s</key><true/></dict>\n"
		"<key>StandardOutPath</key><string>%s</string>\n"
		"<key>ThrottleInterval</key><integer>1</integer>\n",
		name, out);
	if (user)
		fprintf(f, "<key>UserName</key><string>%s</string>\n", user);
	if (at_load)
		fprintf(f, "<key>RunAtLoad</key><true/>\n");
	if (keys_xml)
		fprintf(f, "%s\n", keys_xml);
	if (env) {
		const char *eq = strchr(env, '=');
		REQUIRE(eq);
		fprintf(f,
			"<key>EnvironmentVariables</key><dict><key>%.*s</key><string>%s</string></"
			"dict>\n",
			(int)(eq - env), env, eq + 1);
	}
	fprintf(f, "</dict></plist>\n");
	fclose(f);
}

void sec_job(const char *label, const char *name, const char *user, const char *env, bool at_load,
	     const char *const argv[])
{
	write_job(label, name, user, env, at_load, NULL, argv);
}

void sec_job_keys(const char *label, const char *name, const char *keys_xml, const char *const argv[])
{
	write_job(label, name, NULL, NULL, false, keys_xml, argv);
}

void sec_start_broker(unsigned nofile)
{
	const char *xpcd = getenv("XPCD");
	char log[512], jobs[512];

	REQUIRE(xpcd);
	unlink(sock);
	broker_pid = fork();
	REQUIRE(broker_pid >= 0);
	if (broker_pid == 0) {
		snprintf(log, sizeof(log), "%s/xpcd.log", dir);
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if (nofile) {
			struct rlimit rl = {nofile, nofile};
			setrlimit(RLIMIT_NOFILE, &rl);
		}
		snprintf(jobs, sizeof(jobs), "%s/jobs", dir);
		execl(xpcd, "xpcd", "--socket", sock, "--jobs", jobs, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500; i++) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
		bool up = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		if (fd >= 0)
			close(fd);
		if (up) {
			chmod(sock, 0666); /* as the system broker's: every user may ask */
			return;
		}
		usleep(10000);
	}
	REQUIRE(!"broker did not listen on its socket");
}

pid_t sec_broker_pid(void)
{
	return broker_pid;
}

long sec_proc_kb(pid_t pid, const char *field)
{
	char path[64], line[256];
	size_t n = strlen(field);
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, field, n) && line[n] == ':') {
			kb = atol(line + n + 1);
			break;
		}
	if (f)
		fclose(f);
	return kb;
}

static void kill_jobs(void)
{
	char path[400], label[256];
	unsigned long long start;
	FILE *f;
	int pid;

	snprintf(path, sizeof(path), "%s.state", sock);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fscanf(f, "%d %llu %255s", &pid, &start, label) == 3)
		if (pid > 0 && start && harness_proc_start_time(pid) == start) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
		}
	fclose(f);
}

void sec_teardown(void)
{
	char cmd[600];

	connection_forget_services();
	if (broker_pid > 0) {
		kill(broker_pid, SIGKILL);
		harness_wait_pid(broker_pid, 10);
		broker_pid = 0;
	}
	kill_jobs();
	harness_kill_children();
	if (harness_failures) {
		snprintf(cmd, sizeof(cmd),
			 "for f in %s/*.log %s/*.out; do echo \"== $f\"; cat $f; done >&2", dir,
			 dir);
		if (system(cmd) < 0)
			perror("system");
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) < 0)
		perror("system");
}

xpc_object_t sec_broker_call(const char *path, xpc_object_t msg)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int bfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	xpc_connection_t b;
	xpc_object_t r;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (bfd < 0 || connect(bfd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (bfd >= 0)
			close(bfd);
		return NULL;
	}
	b = connection_create_from_socket(bfd, NULL);
	xpc_connection_set_event_handler(b, ^(xpc_object_t ev) {
	  (void)ev;
	});
	xpc_connection_resume(b);
	r = xpc_connection_send_message_with_reply_sync(b, msg);
	xpc_connection_cancel(b);
	xpc_release(b);
	return r;
}

int sec_raw_lookup(const char *path, const char *name, int *ret_w)
{
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0), r, ep = NULL;
	int got = -1;

	*ret_w = -1;
	xpc_dictionary_set_string(m, XPCD_KEY_OP, XPCD_OP_LOOKUP);
	xpc_dictionary_set_string(m, XPCD_KEY_NAME, name);
	r = sec_broker_call(path, m);
	if (r && xpc_get_type(r) == XPC_TYPE_DICTIONARY && xpc_dictionary_get_bool(r, XPCD_KEY_OK)) {
		got = 0;
		ep = xpc_dictionary_get_value(r, XPCD_KEY_ENDPOINT);
	}
	if (ep && xpc_get_type(ep) == XPC_TYPE_ENDPOINT)
		*ret_w = fcntl(endpoint_object_borrow_fd(ep), F_DUPFD_CLOEXEC, 3);
	if (*ret_w >= 0)
		got = 1;
	if (r)
		xpc_release(r);
	xpc_release(m);
	return got;
}

int sec_raw_endpoint(const char *path, const char *name)
{
	int w;

	sec_raw_lookup(path, name, &w);
	return w;
}

xpc_object_t sec_raw_checkin(const char *path, const char *name, int link)
{
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0), r;

	xpc_dictionary_set_string(m, XPCD_KEY_OP, XPCD_OP_CHECKIN);
	xpc_dictionary_set_string(m, XPCD_KEY_NAME, name);
	if (link >= 0)
		xpc_dictionary_set_fd(m, XPCD_KEY_LINK, link);
	r = sec_broker_call(path, m);
	xpc_release(m);
	return r;
}

/* Waits up to @ms for a frame on @fd. */
static int recv_frame(int fd, TransportFrame *f, int ms)
{
	struct pollfd pfd = {fd, POLLIN, 0};

	if (poll(&pfd, 1, ms) != 1)
		return -ETIMEDOUT;
	return transport_recv(fd, f);
}

xpc_object_t sec_link_whoami(int fd)
{
	static TransportFrame f;
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0), reply = NULL;
	WireBuffer body = {0};
	WireFds fds = {0};
	FrameHeader mh = {.kind = FRAME_MESSAGE, .flags = FRAME_F_WANTS_REPLY, .id = 1};
	bool hello = recv_frame(fd, &f, 3000) == 0 && f.hdr.kind == FRAME_HELLO;

	frame_clear(&f);
	xpc_dictionary_set_string(m, "op", "whoami");
	if (hello && wire_encode_message(m, &body, &fds) == 0 &&
	    transport_send(fd, &mh, body.data, body.len, NULL, 0) == 0)
		for (int i = 0; i < 10 && !reply && recv_frame(fd, &f, 3000) == 0; i++) {
			if (f.hdr.kind == FRAME_REPLY &&
			    wire_decode_message(f.body, f.hdr.body_len, f.fds, f.n_fds, &reply) != 0)
				reply = NULL;
			frame_clear(&f);
		}
	wire_buffer_free(&body);
	wire_fds_free(&fds);
	xpc_release(m);
	return reply;
}

bool sec_child_link(int sv[2])
{
	int ctl[2];
	static TransportFrame f;
	FrameHeader h = {.kind = FRAME_MESSAGE, .id = 1};
	pid_t pid;
	bool ok;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl) < 0 || (pid = fork()) < 0)
		return false;
	if (pid == 0) {
		int mine[2];
		_exit(unix_link_pair(mine) == 0 && transport_send(ctl[1], &h, NULL, 0, mine, 2) == 0 ? 0 : 1);
	}
	close(ctl[1]);
	ok = poll(&(struct pollfd){.fd = ctl[0], .events = POLLIN}, 1, 5000) == 1 && transport_recv(ctl[0], &f) == 0 &&
	     f.n_fds == 2;
	if (ok) {
		sv[0] = f.fds[0];
		sv[1] = f.fds[1];
		f.n_fds = 0;
	}
	frame_clear(&f);
	close(ctl[0]);
	waitpid(pid, NULL, 0);
	return ok;
}

static int passed_fd = -1;

void sec_pass_fd(int fd)
{
	passed_fd = fd;
}

int sec_run_as_user(struct harness_user u, char *const argv[], char *out, size_t size, unsigned seconds,
		    pid_t *ret_pid)
{
	int p[2];
	size_t got = 0;
	pid_t pid;
	time_t end = time(NULL) + seconds;

	REQUIRE(pipe2(p, O_CLOEXEC) == 0);
	if (passed_fd >= 0) {
		char num[16];
		snprintf(num, sizeof(num), "%d", passed_fd);
		setenv("SEC_W_FD", num, 1);
	}
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		dup2(p[1], 1);
		if (passed_fd >= 0)
			fcntl(passed_fd, F_SETFD, 0); /* inherited across exec */
		harness_become(u);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	unsetenv("SEC_W_FD");
	if (ret_pid)
		*ret_pid = pid;
	out[0] = 0;
	while (time(NULL) <= end) {
		struct pollfd pfd = {p[0], POLLIN, 0};
		if (poll(&pfd, 1, 200) <= 0)
			continue;
		ssize_t n = read(p[0], out + got, size - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		out[got] = 0;
		if (got == size - 1)
			break;
	}
	close(p[0]);
	long left = (long)(end - time(NULL));
	return harness_wait_pid(pid, left > 0 ? (unsigned)left : 1);
}

int sec_run_as(int which, char *const argv[], char *out, size_t size, unsigned seconds)
{
	return sec_run_as_user(harness_unprivileged_user(which), argv, out, size, seconds, NULL);
}

bool sec_wait_file(const char *name, char *out, size_t size, unsigned seconds)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	for (unsigned i = 0; i < seconds * 20; i++) {
		FILE *f = fopen(path, "re");
		if (f) {
			bool ok = fgets(out, (int)size, f) && strchr(out, '\n');
			fclose(f);
			if (ok)
				return true;
		}
		usleep(50000);
	}
	return false;
}

xpc_object_t sec_request(const char *name, const char *op)
{
	xpc_connection_t c = xpc_connection_create_mach_service(name, NULL, 0);
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0), r;

	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) {
	  (void)ev;
	});
	xpc_connection_resume(c);
	xpc_dictionary_set_string(m, "op", op);
	r = xpc_connection_send_message_with_reply_sync(c, m);
	xpc_release(m);
	xpc_connection_cancel(c);
	xpc_release(c);
	return r;
}

int64_t sec_server_pid(const char *name)
{
	xpc_object_t r;
	int64_t pid = -1;

	connection_forget_services();
	r = sec_request(name, "whoami");
	if (xpc_get_type(r) == XPC_TYPE_DICTIONARY)
		pid = xpc_dictionary_get_int64(r, "server_pid");
	else
		fprintf(stderr, "root's request to %s failed\n", name);
	xpc_release(r);
	return pid;
}

bool sec_attack_with_w(const char *name, char *const argv[], char *out, size_t size, unsigned seconds)
{
	int w = sec_raw_endpoint(sec_socket(), name);
	bool done;

	CHECK(w >= 0); /* root may hold W */
	sec_pass_fd(w);
	done = sec_attack(argv, out, size, seconds);
	sec_pass_fd(-1);
	if (w >= 0)
		close(w);
	return done;
}

bool sec_attack(char *const argv[], char *out, size_t size, unsigned seconds)
{
	int status = sec_run_as(0, argv, out, size, seconds);

	fprintf(stderr, "nobody: %s", out);
	return status == 0 && strncmp(out, "done", 4) == 0;
}
