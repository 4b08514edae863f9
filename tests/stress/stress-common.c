/* SPDX-License-Identifier: MIT */
/*
 * stress-common.c - broker, processes, /proc readings and knobs for the
 * stress tests (stress-common.h).
 */
#include "stress-common.h"
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xpc/xpc.h>

#define MAX_REAPED 4096

static char dir[256], sock[300], progdir[PATH_MAX];
static pid_t broker_pid;
static unsigned broker_nofile;
static struct {
	pid_t pid;
	int status;
} reaped[MAX_REAPED];
static unsigned n_reaped;
static uint64_t rng_state = 88172645463325252ull;

void stress_setup(const char *argv0)
{
	char jobs[300];
	const char *slash = strrchr(argv0, '/');

	snprintf(progdir, sizeof(progdir), "%.*s", slash ? (int)(slash - argv0) : 1, slash ? argv0 : ".");
	snprintf(dir, sizeof(dir), "/tmp/xpc-stress.XXXXXX");
	REQUIRE(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/xpcd.sock", dir);
	snprintf(jobs, sizeof(jobs), "%s/jobs", dir);
	REQUIRE(mkdir(jobs, 0755) == 0);
	setenv("XPCD_SOCKET", sock, 1);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
}

const char *stress_dir(void)
{
	return dir;
}

char *stress_program(const char *name)
{
	char *p = NULL;

	REQUIRE(asprintf(&p, "%s/%s", progdir, name) > 0);
	return p;
}

void stress_write_job(const char *label, const char *name, char *const argv[], const char *extra)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/jobs/%s.plist", dir, label);
	f = fopen(path, "we");
	REQUIRE(f);
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plist version=\"1.0\"><dict>\n"
		   "<key>Label</key><string>%s</string>\n<key>ProgramArguments</key><array>",
		label);
	for (int i = 0; argv[i]; i++)
		fprintf(f, "<string>%s</string>", argv[i]);
	fprintf(f, "</array>\n<key>MachServices</key><dict><key>%s</key><true/></dict>\n"
		   "<key>ThrottleInterval</key><integer>0</integer>\n"
		   "<key>ExitTimeOut</key><integer>1</integer>\n"
		   "<key>StandardErrorPath</key><string>%s/%s.log</string>\n%s</dict></plist>\n",
		name, dir, label, extra ? extra : "");
	fclose(f);
}

/* The socket file exists from bind(); connections work from listen(). */
static bool broker_listening(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	bool ok;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

static const char *const *broker_args;

void stress_set_broker_args(const char *const *args)
{
	broker_args = args;
}

void stress_set_broker_nofile(unsigned soft)
{
	broker_nofile = soft;
}

/* In the broker's child before exec: the descriptor limit, soft and hard
 * (xpcd raises its soft limit to the hard one at start). */
static void apply_broker_nofile(void)
{
	struct rlimit rl;

	if (!broker_nofile || getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	rl.rlim_cur = broker_nofile < rl.rlim_max ? broker_nofile : rl.rlim_max;
	rl.rlim_max = rl.rlim_cur;
	setrlimit(RLIMIT_NOFILE, &rl);
}

void stress_start_broker(void)
{
	char log[512], jobs[300];
	struct stat st;

	unlink(sock);
	snprintf(log, sizeof(log), "%s/xpcd.log", dir);
	snprintf(jobs, sizeof(jobs), "%s/jobs", dir);
	broker_pid = fork();
	REQUIRE(broker_pid >= 0);
	if (broker_pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd >= 0) { /* jobs inherit both: none may hold the test's pipes */
			dup2(fd, 1);
			dup2(fd, 2);
		}
		const char *argv[32] = {"xpcd", "--socket", sock, "--jobs", jobs};
		int n = 5;
		for (int i = 0; broker_args && broker_args[i] && n < 31; i++)
			argv[n++] = broker_args[i];
		argv[n] = NULL;
		apply_broker_nofile();
		execv(getenv("XPCD"), (char *const *)argv);
		_exit(127);
	}
	for (int i = 0; i < 1000; i++) {
		if (stat(sock, &st) == 0 && broker_listening())
			return;
		stress_sleep_ms(10);
	}
	REQUIRE(!"broker did not listen on its socket");
}

void stress_kill_broker(void)
{
	if (broker_pid <= 0)
		return;
	kill(broker_pid, SIGKILL);
	stress_wait(broker_pid, 10);
	broker_pid = 0;
}

pid_t stress_broker_pid(void)
{
	return broker_pid;
}

/* Calls @fn for every job of the state file that is still the process the
 * broker recorded (same start time: a recycled pid is someone else's). */
static void each_live_job(void (^fn)(pid_t pid, const char *label))
{
	char path[400], lab[256];
	unsigned long long start;
	int pid;
	FILE *f;

	snprintf(path, sizeof(path), "%s.state", sock);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fscanf(f, "%d %llu %255s", &pid, &start, lab) == 3)
		if (pid > 0 && start && harness_proc_start_time(pid) == start && harness_proc_alive(pid))
			fn(pid, lab);
	fclose(f);
}

pid_t stress_job_pid(const char *label)
{
	__block pid_t found = 0;

	each_live_job(^(pid_t pid, const char *lab) {
		if (!strcmp(lab, label))
			found = pid;
	});
	return found;
}

char *stress_read_file(const char *file)
{
	char path[512];
	char *buf = calloc(1, 1 << 20);
	FILE *f;

	REQUIRE(buf);
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "re");
	if (f) {
		size_t n = fread(buf, 1, (1 << 20) - 1, f);
		buf[n] = 0;
		fclose(f);
	}
	return buf;
}

static void kill_jobs(void)
{
	each_live_job(^(pid_t pid, const char *label) {
		(void)label;
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
	});
}

/* The service and the broker died only of the signals the tests send
 * (SIGKILL; SIGTERM when a restarted broker replaces an adopted job) and
 * reported no sanitizer error: a crash would otherwise pass for a kill. */
static void check_logs(void)
{
	static const char *bad[] = {"Sanitizer", "runtime error", "killed by signal 6",
				    "killed by signal 11", "killed by signal 7", "killed by signal 4",
				    "killed by signal 8"};
	char *logs[2] = {stress_read_file("xpcd.log"), stress_read_file("svc.log")};

	for (int i = 0; i < 2; i++) {
		for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
			if (strstr(logs[i], bad[k])) {
				fprintf(stderr, "stress: %s in %s\n", bad[k], i ? "svc.log" : "xpcd.log");
				harness_failures++;
			}
		for (char *p = logs[i]; (p = strstr(p, "exited with status ")); p++)
			/* 0: SIGTERM handled by an adopted job; 71: xpc_main could
			 * not start its listener (a fault-injection run) */
			if (p[19] != '0' && strncmp(p + 19, "71\n", 3) != 0) {
				fprintf(stderr, "stress: a job exited with status %c in xpcd.log\n", p[19]);
				harness_failures++;
			}
		free(logs[i]);
	}
}

void stress_stop_all(void)
{
	pid_t buf[64], *jobs = buf;
	__block unsigned n = 0;

	each_live_job(^(pid_t pid, const char *label) {
		(void)label;
		if (n < 64)
			jobs[n++] = pid;
	});
	stress_kill_broker();
	for (unsigned i = 0; i < n; i++) {
		kill(-jobs[i], SIGKILL);
		kill(jobs[i], SIGKILL);
		stress_wait(jobs[i], 10);
	}
	stress_reap();
}

void stress_teardown(void)
{
	char cmd[400];

	check_logs();

	kill_jobs();
	stress_kill_broker();
	for (int i = 0; i < 100; i++) {
		stress_reap();
		stress_sleep_ms(10);
	}
	if (harness_failures) {
		snprintf(cmd, sizeof(cmd), "tail -n 40 %s/*.log >&2", dir);
		if (system(cmd) < 0)
			perror("system");
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) < 0)
		perror("system");
}

/* ---- processes ---------------------------------------------------------------- */

StressChild stress_spawn(char *const argv[], bool capture)
{
	StressChild ch = {.pid = -1, .out = -1};
	int p[2] = {-1, -1};

	if (capture)
		REQUIRE(pipe2(p, O_CLOEXEC) == 0);
	sigset_t usr1, old;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1); /* in the child until it has its handler */
	sigprocmask(SIG_BLOCK, &usr1, &old);
	ch.pid = fork();
	REQUIRE(ch.pid >= 0);
	if (ch.pid != 0)
		sigprocmask(SIG_SETMASK, &old, NULL);
	if (ch.pid == 0) {
		if (capture)
			dup2(p[1], 1);
		execv(argv[0], argv);
		_exit(127);
	}
	if (capture) {
		close(p[1]);
		ch.out = p[0];
	}
	return ch;
}

static bool take_reaped(pid_t pid, int *status)
{
	for (unsigned i = 0; i < n_reaped; i++)
		if (reaped[i].pid == pid) {
			*status = reaped[i].status;
			reaped[i] = reaped[--n_reaped];
			return true;
		}
	return false;
}

void stress_reap(void)
{
	int status;
	pid_t r;

	while ((r = waitpid(-1, &status, WNOHANG)) > 0) {
		if (n_reaped == MAX_REAPED)
			n_reaped = 0; /* statuses nobody asked for: forget them */
		reaped[n_reaped].pid = r;
		reaped[n_reaped++].status = status;
	}
}

int stress_wait(pid_t pid, unsigned seconds)
{
	int status;

	for (unsigned i = 0; i < seconds * 200u; i++) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return status;
		if (r < 0 && take_reaped(pid, &status))
			return status;
		if (r < 0 && errno == ECHILD)
			return 0;
		stress_sleep_ms(5);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	fprintf(stderr, "stress: process %d killed after %u s (hung)\n", (int)pid, seconds);
	return -1;
}

void stress_read_output(StressChild *ch, char *buf, size_t size, unsigned seconds)
{
	size_t len = 0;
	double end = stress_now() + seconds;

	buf[0] = 0;
	while (ch->out >= 0 && stress_now() < end) {
		struct pollfd pfd = {.fd = ch->out, .events = POLLIN};
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		ssize_t n = read(ch->out, buf + len, size - 1 - len);
		if (n <= 0 || len + (size_t)n >= size - 1) {
			if (n > 0)
				len += (size_t)n;
			break;
		}
		len += (size_t)n;
	}
	buf[len] = 0;
	if (ch->out >= 0)
		close(ch->out);
	ch->out = -1;
}

/* ---- the service ----------------------------------------------------------- */

/* A new connection works: a "stat" request on a fresh named connection. */
bool stress_stat(const char *name, StressStat *st)
{
	xpc_connection_t c = xpc_connection_create_mach_service(name, NULL, 0);
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0), r;
	bool ok;

	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) {
		(void)ev;
	});
	xpc_connection_resume(c);
	xpc_dictionary_set_string(m, "op", "stat");
	r = xpc_connection_send_message_with_reply_sync(c, m);
	ok = xpc_get_type(r) == XPC_TYPE_DICTIONARY;
	if (ok) {
		st->pid = (pid_t)xpc_dictionary_get_int64(r, "pid");
		st->fds = xpc_dictionary_get_int64(r, "fds");
		st->peers = xpc_dictionary_get_int64(r, "peers");
		st->rss_kb = xpc_dictionary_get_int64(r, "rss_kb");
	} else {
		char *why = xpc_connection_copy_invalidation_reason(c);
		fprintf(stderr, "probe: %s (%s)\n", r == XPC_ERROR_CONNECTION_INVALID ? "INVALID" : "INTERRUPTED",
			why ? why : "-");
		free(why);
	}
	xpc_release(r);
	xpc_release(m);
	xpc_connection_cancel(c);
	xpc_release(c);
	return ok;
}

void stress_read_line(StressChild *ch, char *buf, size_t size, unsigned seconds)
{
	size_t len = 0;
	double end = stress_now() + seconds;

	buf[0] = 0;
	while (len < size - 1 && !strchr(buf, '\n') && stress_now() < end) {
		struct pollfd pfd = {.fd = ch->out, .events = POLLIN};
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		ssize_t n = read(ch->out, buf + len, size - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = 0;
	}
}

/* ---- /proc ---------------------------------------------------------------- */

long stress_rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

int stress_fd_count(pid_t pid)
{
	char path[64];
	struct dirent *e;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return pid == getpid() ? n - 1 : n;
}

long stress_cpu_ms(pid_t pid)
{
	char buf[1024];
	const char *s = harness_proc_stat(pid, buf, sizeof(buf));
	unsigned long ut = 0, st = 0;
	long hz = sysconf(_SC_CLK_TCK);

	/* fields 14 and 15 (utime, stime) */
	if (!s || sscanf(s, "%*c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %lu %lu", &ut, &st) != 2)
		return -1;
	return (long)((ut + st) * 1000 / (unsigned long)(hz > 0 ? hz : 100));
}

/* ---- knobs ---------------------------------------------------------------- */

uint64_t stress_random(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

void stress_seed(void)
{
	const char *env = getenv("STRESS_SEED");
	uint64_t seed = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);

	if (!seed)
		seed = 1;
	rng_state = seed;
	fprintf(stderr, "stress: seed %llu (rerun with STRESS_SEED=%llu)\n", (unsigned long long)seed,
		(unsigned long long)seed);
}

unsigned stress_env_uint(const char *name, unsigned dflt)
{
	const char *v = getenv(name);

	return v && *v ? (unsigned)strtoul(v, NULL, 10) : dflt;
}

double stress_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void stress_sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}
