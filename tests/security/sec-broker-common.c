/* SPDX-License-Identifier: MIT */
/*
 * sec-broker-common.c - what the broker security tests share
 * (sec-broker-common.h).
 */
#include "sec-broker-common.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "broker-common.h"

void sec_broker_setup(void)
{
	harness_require_root();
	broker_setup();
	REQUIRE(chmod(broker_dir, 0755) == 0);
}

void sec_broker_start_broker(const char *const *extra, unsigned nofile)
{
	const char *opts[32] = {"--system"};
	int n = 1;
	mode_t old;

	for (int i = 0; extra && extra[i] && n < 31; i++)
		opts[n++] = extra[i];
	opts[n] = NULL;
	old = umask(0);
	broker_start(opts, nofile);
	umask(old);
}

void sec_broker_finish(void)
{
	if (broker_pid > 0) {
		kill(broker_pid, SIGTERM);
		int status = harness_wait_pid(broker_pid, 20);
		CHECK(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
		broker_pid = 0;
	}
	CHECK(!broker_log_has("Sanitizer"));
	broker_teardown();
}

const char *sec_broker_attacker(void)
{
	const char *p = getenv("SEC_ATTACKER");

	REQUIRE(p);
	return p;
}

SecBrokerChild sec_broker_spawn_as(struct harness_user u, char *const argv[])
{
	int p[2];
	SecBrokerChild ch = {.pid = -1, .out = -1};

	REQUIRE(pipe2(p, O_CLOEXEC) == 0);
	ch.pid = fork();
	REQUIRE(ch.pid >= 0);
	if (ch.pid == 0) {
		dup2(p[1], 1);
		if (u.uid != 0) /* root: the test's own identity */
			harness_become(u);
		execv(argv[0], argv);
		fprintf(stderr, "exec %s as %s: %m\n", argv[0], u.name);
		_exit(127);
	}
	close(p[1]);
	ch.out = p[0];
	return ch;
}

void sec_broker_read_line(SecBrokerChild *ch, char *buf, size_t size, unsigned seconds)
{
	size_t n = 0;
	struct pollfd pf = {.fd = ch->out, .events = POLLIN};
	double end = sec_broker_now() + seconds;

	buf[0] = 0;
	while (n + 1 < size && sec_broker_now() < end) {
		if (poll(&pf, 1, 100) <= 0)
			continue;
		if (read(ch->out, buf + n, 1) != 1)
			break;
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = 0;
}

static char *read_all(int fd, unsigned seconds)
{
	char *text = NULL, chunk[4096];
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	struct pollfd pf = {.fd = fd, .events = POLLIN};
	double end = sec_broker_now() + seconds;
	ssize_t n;

	REQUIRE(out);
	while (sec_broker_now() < end) {
		if (poll(&pf, 1, 100) <= 0)
			continue;
		if ((n = read(fd, chunk, sizeof(chunk))) <= 0)
			break;
		fwrite(chunk, 1, (size_t)n, out);
	}
	fclose(out);
	return text;
}

char *sec_broker_run_as(struct harness_user u, char *const argv[], unsigned seconds, int *ret_status)
{
	SecBrokerChild ch = sec_broker_spawn_as(u, argv);
	char *text = read_all(ch.out, seconds);

	close(ch.out);
	*ret_status = harness_wait_pid(ch.pid, 2);
	return text;
}

char *sec_broker_request_as(struct harness_user u, const char *op, const char *arg1, const char *arg2)
{
	char *argv[] = {(char *)sec_broker_attacker(), "request", broker_sock, (char *)op, (char *)arg1, (char *)arg2, NULL};
	int status;

	return sec_broker_run_as(u, argv, 15, &status);
}

void sec_broker_kill(SecBrokerChild *ch)
{
	if (ch->pid > 0) {
		kill(ch->pid, SIGKILL);
		harness_wait_pid(ch->pid, 5);
		ch->pid = -1;
	}
	if (ch->out >= 0) {
		close(ch->out);
		ch->out = -1;
	}
}

int sec_broker_fd_count(pid_t pid)
{
	char path[64];
	DIR *d;
	struct dirent *e;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	if (!(d = opendir(path)))
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

long sec_broker_cpu_ms(pid_t pid)
{
	char buf[1024];
	const char *s = harness_proc_stat(pid, buf, sizeof(buf));
	unsigned long ut = 0, st = 0;

	if (!s || sscanf(s, "%*c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %lu %lu", &ut, &st) != 2)
		return -1;
	return (long)((ut + st) * 1000 / (unsigned long)sysconf(_SC_CLK_TCK));
}

long sec_broker_vm_kb(pid_t pid, const char *field)
{
	char path[64], line[256];
	long kb = -1;
	size_t n = strlen(field);
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (!(f = fopen(path, "re")))
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, n) && line[n] == ':')
			kb = atol(line + n + 1);
	fclose(f);
	return kb;
}

double sec_broker_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int sec_broker_run_scenario(const char *name, const BrokerScenario *scenarios, unsigned timeout,
			    void (*after)(void))
{
	sec_broker_setup();
	harness_warm_dispatch();
	harness_begin(timeout);
	for (int i = 0; scenarios[i].name; i++)
		if (!strcmp(name, scenarios[i].name)) {
			scenarios[i].fn();
			if (after)
				after();
			sec_broker_finish();
			return harness_end();
		}
	REQUIRE(!"unknown scenario");
	return 2;
}
