/* SPDX-License-Identifier: MIT */
/*
 * broker-common.c - a private xpcd for a test (broker-common.h).
 */
#include "broker-common.h"

#include <fcntl.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "connection/connection.h"
#include "harness.h"
#include "shared/xpcd-protocol.h"

char broker_dir[256], broker_sock[300];
pid_t broker_pid;

void broker_write_job_file(const char *file, const char *xml)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/jobs/%s", broker_dir, file);
	f = fopen(path, "we");
	REQUIRE(f);
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plist version=\"1.0\"><dict>\n%s</dict></plist>\n",
		xml);
	fclose(f);
}

void broker_spawn(const char *const *extra, unsigned nofile)
{
	const char *argv[32] = {"xpcd", "--socket", broker_sock, "--jobs", NULL};
	char jobs[300], log[300];
	int n = 5;

	snprintf(jobs, sizeof(jobs), "%s/jobs", broker_dir);
	snprintf(log, sizeof(log), "%s/xpcd.log", broker_dir);
	argv[4] = jobs;
	for (int i = 0; extra && extra[i] && n < 31; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	unlink(broker_sock); /* a dead broker's socket file is not a live broker */
	broker_pid = fork();
	REQUIRE(broker_pid >= 0);
	if (broker_pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd >= 0) { /* no job may hold the test's pipes */
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if (nofile) {
			struct rlimit rl;
			getrlimit(RLIMIT_NOFILE, &rl);
			rl.rlim_cur = nofile;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
		execv(getenv("XPCD"), (char *const *)argv);
		_exit(127);
	}
}

bool broker_wait_socket(const char *path, unsigned ms)
{
	for (unsigned i = 0; i < ms / 10; i++) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
		bool up = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		if (fd >= 0)
			close(fd);
		if (up)
			return true;
		usleep(10000);
	}
	return false;
}

void broker_start(const char *const *extra, unsigned nofile)
{
	broker_spawn(extra, nofile);
	/* until it accepts: the file exists from bind() on, before listen() */
	if (!broker_wait_socket(broker_sock, 5000))
		REQUIRE(!"broker did not listen on its socket");
}

static void kill_jobs(void)
{
	char path[400];
	FILE *f;
	int pid;
	unsigned long long start;
	char label[256];

	snprintf(path, sizeof(path), "%s.state", broker_sock);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fscanf(f, "%d %llu %255s", &pid, &start, label) == 3)
		if (pid > 0 && start && harness_proc_start_time(pid) == start) { /* not a recycled pid */
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
		}
	fclose(f);
}

void broker_stop(void)
{
	if (broker_pid > 0) {
		kill(broker_pid, SIGKILL);
		harness_wait_pid(broker_pid, 10);
		broker_pid = 0;
	}
}

void broker_setup(void)
{
	char jobs[300];

	snprintf(broker_dir, sizeof(broker_dir), "/tmp/xpc-broker-test.XXXXXX");
	REQUIRE(mkdtemp(broker_dir));
	snprintf(broker_sock, sizeof(broker_sock), "%s/xpcd.sock", broker_dir);
	snprintf(jobs, sizeof(jobs), "%s/jobs", broker_dir);
	REQUIRE(mkdir(jobs, 0755) == 0);
	setenv("XPCD_SOCKET", broker_sock, 1);
	harness_adopt_orphans();
}

void broker_teardown(void)
{
	char cmd[400];

	broker_stop(); /* first, or a KeepAlive job is relaunched behind kill_jobs() */
	kill_jobs();
	harness_kill_children(); /* a job launched but not yet in the state file */
	snprintf(cmd, sizeof(cmd), "cat %s/xpcd.log >&2", broker_dir);
	if (harness_failures && system(cmd) < 0)
		perror("system");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", broker_dir);
	if (system(cmd) < 0)
		perror("system");
}

char *broker_read_file(const char *file)
{
	char path[512], *text = NULL;
	size_t n = 0;
	FILE *f, *out = open_memstream(&text, &n);
	int c;

	REQUIRE(out);
	snprintf(path, sizeof(path), "%s/%s", broker_dir, file);
	if ((f = fopen(path, "re"))) {
		while ((c = fgetc(f)) != EOF)
			fputc(c, out);
		fclose(f);
	}
	fclose(out);
	return text;
}

bool broker_log_has(const char *text)
{
	char *log = broker_read_file("xpcd.log");
	bool has = strstr(log, text) != NULL;

	free(log);
	return has;
}

int broker_run_scenario(const char *name, const BrokerScenario *scenarios, unsigned timeout)
{
	harness_warm_dispatch();
	harness_begin(timeout);
	broker_setup();
	for (int i = 0; scenarios[i].name; i++)
		if (!strcmp(name, scenarios[i].name)) {
			scenarios[i].fn();
			broker_teardown();
			return harness_end();
		}
	fprintf(stderr, "unknown scenario %s\n", name);
	broker_teardown();
	return 2;
}

xpc_object_t broker_call(const char *op, const char *label)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	xpc_connection_t b;
	xpc_object_t msg, r;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", broker_sock);
	REQUIRE(fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	b = connection_create_from_socket(fd, NULL);
	REQUIRE(b);
	xpc_connection_set_event_handler(b, ^(xpc_object_t ev) { (void)ev; });
	xpc_connection_resume(b);
	msg = xpc_dictionary_create(NULL, NULL, 0);
	xpc_dictionary_set_string(msg, XPCD_KEY_OP, op);
	if (label)
		xpc_dictionary_set_string(msg, XPCD_KEY_LABEL, label);
	r = xpc_connection_send_message_with_reply_sync(b, msg);
	xpc_release(msg);
	xpc_connection_cancel(b);
	xpc_release(b);
	return r;
}

/* A job running `/bin/sh -c SCRIPT` (printf-style; escaped for XML here)
 * with @extra keys. */
void broker_sh_job(const char *label, const char *extra, const char *script_fmt, ...)
{
	char raw[2048], script[4096], xml[8192], file[300];
	size_t k = 0;
	va_list ap;

	va_start(ap, script_fmt);
	vsnprintf(raw, sizeof(raw), script_fmt, ap);
	va_end(ap);
	for (const char *p = raw; *p && k + 6 < sizeof(script); p++) { /* XML-escaped */
		const char *e = *p == '&' ? "&amp;" : *p == '<' ? "&lt;" : *p == '>' ? "&gt;" : NULL;
		if (e)
			k += (size_t)sprintf(script + k, "%s", e);
		else
			script[k++] = *p;
	}
	script[k] = 0;
	snprintf(file, sizeof(file), "%s.plist", label);
	snprintf(xml, sizeof(xml),
		 "<key>Label</key><string>%s</string>\n"
		 "<key>ProgramArguments</key><array><string>/bin/sh</string><string>-c</string>"
		 "<string>%s</string></array>\n%s",
		 label, script, extra ? extra : "");
	broker_write_job_file(file, xml);
}

int broker_count_lines(const char *file)
{
	char *t = broker_read_file(file);
	int n = 0;

	for (char *p = t; *p; p++)
		n += *p == '\n';
	free(t);
	return n;
}

/* Waits until @file has at least @n lines (at most @ms). */
bool broker_wait_lines(const char *file, int n, unsigned ms)
{
	for (unsigned t = 0; t < ms; t += 20) {
		if (broker_count_lines(file) >= n)
			return true;
		usleep(20000);
	}
	return broker_count_lines(file) >= n;
}

int broker_run_xpcctl(char *out, size_t len, const char *const *args)
{
	int p[2], status = -1;
	size_t k = 0;
	ssize_t n;
	pid_t pid;

	REQUIRE(pipe2(p, O_CLOEXEC) == 0);
	REQUIRE((pid = fork()) >= 0);
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		execv(getenv("XPCCTL"), (char *const *)args);
		_exit(127);
	}
	close(p[1]);
	while (k + 1 < len && (n = read(p[0], out + k, len - 1 - k)) > 0)
		k += (size_t)n;
	out[k] = '\0';
	close(p[0]);
	REQUIRE(waitpid(pid, &status, 0) == pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
