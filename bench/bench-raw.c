/*
 * bench-raw.c - the baselines of `make bench`: what a hand-written program
 * gets from the kernel with plain AF_UNIX sockets and no library, measured
 * in the same run as the libxpc and sd-bus figures (bench/run.sh).
 *
 *   rtt       ping-pong between two processes: SOCK_SEQPACKET socketpair,
 *             one packet each way, for payloads up to 64 KiB (what fits a
 *             packet with default buffers); SOCK_STREAM socketpair with a
 *             4-byte length prefix for every size, the raw way to move
 *             large payloads (8 MiB socket buffers, as sd-bus sets them);
 *             and from 64 KiB, a sealed memfd passed with SCM_RIGHTS each
 *             way, mapped by the receiver (what libxpc does out of line).
 *   oneway    64-byte packets written one write() each on a SEQPACKET
 *             socketpair to a reading process, then one round trip to know
 *             they were all read; messages/s.
 *   bulk      64 MiB through a SOCK_STREAM socketpair into a reused buffer
 *             of the receiving process (until its one-byte ack), and a
 *             64 MiB memcpy between two touched buffers; GB/s.
 *   setup     socket + connect to a listening SEQPACKET socket at a path +
 *             one 64-byte round trip + close.
 *   rss       resident set of an idle process holding one connected socket.
 *
 *   bench-raw DIR             everything; sockets go in DIR (a temp dir)
 *   bench-raw idle-client P   (internal) connect to P, one round trip, say
 *                             "ready" on stdout, sleep until killed
 *   bench-raw rss DIR         only the rss figure, one sample (bench/idle.sh)
 *
 * Output: RESULT lines (bench/bench.h).
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define BULK_LEN (64u << 20)
#define ROUNDS 5
#define ONEWAY_N 100000

static int read_full(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len > 0) {
		ssize_t r = read(fd, p, len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

static int write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t r = write(fd, p, len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

/* A 4-byte length then the payload, in one writev when the socket takes it. */
static int write_framed(int fd, const char *buf, uint32_t len)
{
	struct iovec iov[2] = {{&len, sizeof(len)}, {(void *)buf, len}};
	ssize_t w = writev(fd, iov, 2);

	if (w < (ssize_t)sizeof(len))
		return -1;
	return write_full(fd, buf + (w - (ssize_t)sizeof(len)), len - (size_t)(w - (ssize_t)sizeof(len)));
}

static void reap(pid_t pid, int fd)
{
	close(fd);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* ---- round-trip latency --------------------------------------------------- */

static void seqpacket_echo(int fd)
{
	char *buf = malloc(BENCH_SEQPACKET_MAX);

	for (;;) {
		ssize_t r = read(fd, buf, BENCH_SEQPACKET_MAX);
		if (r <= 0 || write(fd, buf, (size_t)r) != r)
			_exit(0);
	}
}

static void stream_echo(int fd)
{
	char *buf = malloc(bench_sizes[BENCH_N_SIZES - 1]);
	uint32_t len;

	for (;;) {
		if (read_full(fd, &len, sizeof(len)) < 0 || read_full(fd, buf, len) < 0)
			_exit(0);
		if (write_framed(fd, buf, len) < 0)
			_exit(0);
	}
}

/* 8 MiB socket buffers (beyond wmem_max with privilege, like sd-bus). */
static void big_buffers(int fd)
{
	int n = 8 << 20;

	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &n, sizeof(n)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &n, sizeof(n));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &n, sizeof(n)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &n, sizeof(n));
}

/* ---- memfd: a sealed memfd per message, its descriptor in a packet ---------- */

static int send_fd(int sock, int fd)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	char c = 'm';
	struct iovec iov = {&c, 1};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf)};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	char c;
	struct iovec iov = {&c, 1};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf)};
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1 || !(cm = CMSG_FIRSTHDR(&msg)) || cm->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/* Sends len bytes as a fresh sealed memfd. */
static int memfd_send(int sock, const void *buf, size_t len)
{
	int fd = memfd_create("bench", MFD_CLOEXEC | MFD_ALLOW_SEALING), rc = -1;

	if (fd < 0)
		return -1;
	if (ftruncate(fd, (off_t)len) == 0 && pwrite(fd, buf, len, 0) == (ssize_t)len &&
	    fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) == 0)
		rc = send_fd(sock, fd);
	close(fd);
	return rc;
}

/* Receives a memfd and maps it read-only; its length in *len. */
static void *memfd_recv(int sock, size_t *len)
{
	int fd = recv_fd(sock);
	struct stat st;
	void *p;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || st.st_size == 0) {
		close(fd);
		return NULL;
	}
	*len = (size_t)st.st_size;
	p = mmap(NULL, *len, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

static void memfd_echo(int sock)
{
	for (;;) {
		size_t len;
		void *p = memfd_recv(sock, &len);
		if (!p || memfd_send(sock, p, len) < 0)
			_exit(0);
		munmap(p, len);
	}
}

static int memfd_rtt(int sock, char *buf, size_t size)
{
	size_t len = 0;
	void *p;

	if (memfd_send(sock, buf, size) < 0 || !(p = memfd_recv(sock, &len)))
		return -1;
	munmap(p, len);
	return len == size ? 0 : -1;
}

/* A child running serve() on one end of a fresh socketpair; *fd the other. */
static pid_t spawn_pair(int type, void (*serve)(int), int *fd)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) < 0)
		bench_fail("socketpair");
	if (type == SOCK_STREAM)
		for (int i = 0; i < 2; i++)
			big_buffers(sv[i]);
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the bench */
		close(sv[0]);
		serve(sv[1]);
		_exit(0);
	}
	close(sv[1]);
	*fd = sv[0];
	return pid;
}

static int seqpacket_rtt(int fd, char *buf, size_t size)
{
	return write(fd, buf, size) == (ssize_t)size && read(fd, buf, size) == (ssize_t)size ? 0 : -1;
}

static int stream_rtt(int fd, char *buf, size_t size)
{
	uint32_t len;

	if (write_framed(fd, buf, (uint32_t)size) < 0)
		return -1;
	return read_full(fd, &len, sizeof(len)) == 0 && len == size ? read_full(fd, buf, size) : -1;
}

static void rtt_series(const char *series, int type, void (*serve)(int), int (*rtt)(int, char *, size_t),
		       size_t min, size_t max)
{
	char *buf = calloc(1, bench_sizes[BENCH_N_SIZES - 1]);
	double *ns = calloc(20000, sizeof(double));
	int fd;
	pid_t pid = spawn_pair(type, serve, &fd);

	for (size_t s = 0; s < BENCH_N_SIZES && bench_sizes[s] <= max; s++) {
		size_t size = bench_sizes[s];
		if (size < min)
			continue;
		int n = bench_iterations(size, 20000);
		for (int i = -n / 10; i < n; i++) {
			uint64_t t0 = bench_now_ns();
			if (rtt(fd, buf, size) < 0)
				bench_fail(series);
			if (i >= 0)
				ns[i] = (double)(bench_now_ns() - t0);
		}
		bench_report_ns("rtt", series, (long)size, ns, n);
	}
	reap(pid, fd);
	free(ns);
	free(buf);
}

/* ---- one-way throughput ----------------------------------------------------- */

static void oneway_sink(int fd)
{
	char buf[256];

	for (;;) {
		ssize_t r = read(fd, buf, sizeof(buf));
		if (r <= 0)
			_exit(0);
		if (buf[0] == 'S' && write(fd, "k", 1) != 1)
			_exit(0);
	}
}

static void oneway(void)
{
	char msg[64] = {'m'}, ack;
	double rate[ROUNDS], worst;
	int fd;
	pid_t pid = spawn_pair(SOCK_SEQPACKET, oneway_sink, &fd);

	for (int r = 0; r < ROUNDS; r++) {
		uint64_t t0 = bench_now_ns();
		for (int i = 0; i < ONEWAY_N; i++)
			if (write(fd, msg, sizeof(msg)) != (ssize_t)sizeof(msg))
				bench_fail("oneway write");
		if (write(fd, "S", 1) != 1 || read(fd, &ack, 1) != 1)
			bench_fail("oneway sync");
		rate[r] = ONEWAY_N / ((double)(bench_now_ns() - t0) / 1e9);
	}
	double med = bench_rate_stats(rate, ROUNDS, &worst);
	bench_result("oneway", "raw-seqpacket", -1, med, worst, "msgs/s");
	reap(pid, fd);
}

/* ---- bulk ------------------------------------------------------------------ */

static void bulk_sink(int fd)
{
	char *buf = malloc(BULK_LEN);

	memset(buf, 0, BULK_LEN);
	for (;;)
		if (read_full(fd, buf, BULK_LEN) < 0 || write(fd, "k", 1) != 1)
			_exit(0);
}

static void bulk(void)
{
	char *src = malloc(BULK_LEN), *dst = malloc(BULK_LEN), ack;
	double stream[ROUNDS], copy[ROUNDS], worst, med;
	int fd;
	pid_t pid = spawn_pair(SOCK_STREAM, bulk_sink, &fd);

	memset(src, 'x', BULK_LEN);
	memset(dst, 0, BULK_LEN);
	for (int r = -1; r < ROUNDS; r++) { /* round -1 warms up */
		uint64_t t0 = bench_now_ns();
		if (write_full(fd, src, BULK_LEN) < 0 || read(fd, &ack, 1) != 1)
			bench_fail("bulk stream");
		uint64_t t1 = bench_now_ns();
		memcpy(dst, src, BULK_LEN);
		__asm__ volatile("" : : "r"(dst) : "memory");
		uint64_t t2 = bench_now_ns();
		if (r >= 0) {
			stream[r] = BULK_LEN / (double)(t1 - t0);
			copy[r] = BULK_LEN / (double)(t2 - t1);
		}
	}
	reap(pid, fd);
	med = bench_rate_stats(stream, ROUNDS, &worst);
	bench_result("bulk", "raw-stream", -1, med, worst, "GB/s");
	med = bench_rate_stats(copy, ROUNDS, &worst);
	bench_result("bulk", "memcpy", -1, med, worst, "GB/s");
	free(src);
	free(dst);
}

/* ---- connection set-up ------------------------------------------------------ */

static int unix_address(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -1;
	strcpy(sa->sun_path, path);
	return 0;
}

static pid_t listen_server(const char *path)
{
	struct sockaddr_un sa;
	int l = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	pid_t pid;

	if (l < 0 || unix_address(&sa, path) < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(l, 128) < 0)
		bench_fail("listen");
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the bench */
		char buf[128];
		for (;;) {
			int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
			if (c < 0)
				continue;
			ssize_t r = read(c, buf, sizeof(buf));
			if (r > 0 && write(c, buf, (size_t)r) < 0)
				_exit(1);
			close(c);
		}
	}
	close(l);
	return pid;
}

/* socket + connect + one round trip; the connected socket, -1 on failure. */
static int connect_once(const char *path)
{
	struct sockaddr_un sa;
	char buf[64] = {0};
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	if (fd < 0 || unix_address(&sa, path) < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    write(fd, buf, sizeof(buf)) != sizeof(buf) || read(fd, buf, sizeof(buf)) != sizeof(buf)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static void setup(const char *path)
{
	int n = 500;
	double *ns = calloc((size_t)n, sizeof(double));

	for (int i = -50; i < n; i++) {
		uint64_t t0 = bench_now_ns();
		int fd = connect_once(path);
		if (fd < 0)
			bench_fail("raw connect");
		close(fd);
		if (i >= 0)
			ns[i] = (double)(bench_now_ns() - t0);
	}
	bench_report_ns("setup", "raw-connect", -1, ns, n);
	free(ns);
}

/* ---- idle client ------------------------------------------------------------ */

static int idle_client(const char *path)
{
	int fd = connect_once(path);

	if (fd < 0)
		return 1;
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}

/* Runs "SELF idle-client ARG", waits for "ready", returns its VmRSS. */
static long idle_rss(const char *self, const char *arg)
{
	int p[2];
	char line[16] = {0};
	long kib = -1;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the bench */
		dup2(p[1], 1);
		execl(self, self, "idle-client", arg, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	if (read(p[0], line, sizeof(line) - 1) > 0 && !strncmp(line, "ready", 5))
		kib = bench_rss_kib(pid);
	reap(pid, p[0]);
	return kib;
}

int main(int argc, char **argv)
{
	char path[512];

	if (argc == 3 && !strcmp(argv[1], "idle-client"))
		return idle_client(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "rss")) { /* bench/idle.sh: one rss sample */
		snprintf(path, sizeof(path), "%s/raw.sock", argv[2]);
		pid_t server = listen_server(path);
		long kib = idle_rss("/proc/self/exe", path);

		bench_result("rss", "raw-client", -1, (double)kib, (double)kib, "KiB");
		kill(server, SIGKILL);
		waitpid(server, NULL, 0);
		unlink(path);
		return kib < 0;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: bench-raw DIR\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	snprintf(path, sizeof(path), "%s/raw.sock", argv[1]);
	rtt_series("raw-seqpacket", SOCK_SEQPACKET, seqpacket_echo, seqpacket_rtt, 0, BENCH_SEQPACKET_MAX);
	rtt_series("raw-stream", SOCK_STREAM, stream_echo, stream_rtt, 0, SIZE_MAX);
	rtt_series("raw-memfd", SOCK_SEQPACKET, memfd_echo, memfd_rtt, BENCH_SEQPACKET_MAX, SIZE_MAX);
	oneway();
	bulk();
	pid_t server = listen_server(path);
	setup(path);
	long kib = idle_rss("/proc/self/exe", path);
	bench_result("rss", "raw-client", -1, (double)kib, (double)kib, "KiB");
	kill(server, SIGKILL);
	waitpid(server, NULL, 0);
	unlink(path);
	return 0;
}
