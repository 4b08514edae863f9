/*
 * test-nofile - descriptor exhaustion (issue 7, docs/reliability.md invariant 5): a
 * process out of descriptors keeps serving what needs none, refuses or
 * ends with a reason what it cannot take, does not spin, and recovers once
 * descriptors are free again.
 *
 *   test-nofile service   the stress-service job runs with a soft
 *                         RLIMIT_NOFILE of 40 (stress-nofile, set before
 *                         exec).  A client process opens 32 connections,
 *                         each with a request carrying 8 descriptors, and
 *                         holds them: the service runs out, and ends the
 *                         links whose descriptors it cannot receive
 *                         (MSG_CTRUNC); a second client then holds 32 more
 *                         connections, until check-ins are dropped for want
 *                         of a descriptor.  Checked while
 *                         it is out: every request got exactly one answer
 *                         (replies, and INTERRUPTED for the check-ins and
 *                         links the service had to drop); the service uses
 *                         under 30 % of a core while a new client keeps
 *                         trying (no spin); a connection made before the
 *                         pressure is still answered; the service is the
 *                         same process.  After the client is killed: the
 *                         service's descriptors come back, new connections
 *                         work.
 *   test-nofile broker    xpcd runs with a soft RLIMIT_NOFILE of 40 (its
 *                         service job is put back to 1024) and link
 *                         limits set far above what 40 allows
 *                         (--max-links 1024, as with 2048 descriptors).  A client
 *                         process holds 100 raw links to the broker socket:
 *                         xpcd's accept fails with EMFILE and the rest wait
 *                         in the backlog.  Checked meanwhile: xpcd uses under
 *                         30 % of a core (the accept back-off); a broker
 *                         link made before the pressure is still answered,
 *                         a lookup on it that needs a descriptor gets an
 *                         error naming the descriptor limit; an established
 *                         connection to the service still works; a new
 *                         client that starts now waits and is served once
 *                         the offender is killed; xpcd's descriptors come
 *                         back.
 */
#include "harness.h"
#include "stress-common.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <xpc/xpc.h>

#include "connection/connection.h"
#include "shared/xpcd-protocol.h"

#define NAME "org.xpc.stress.nofile"
#define LIMIT "40"
#define CPU_WINDOW_MS 1000
#define CPU_MAX_MS 300 /* a spinning process would use ~1000 */

static char *client_path, *nofile_path, *service_path;

static xpc_connection_t open_named(void)
{
	xpc_connection_t c = xpc_connection_create_mach_service(NAME, NULL, 0);

	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) {
		(void)ev;
	});
	xpc_connection_resume(c);
	return c;
}

/* An "echo" request on @c: "reply", "interrupted" or "invalid". */
static const char *echo(xpc_connection_t c)
{
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0), r;
	const char *what;

	xpc_dictionary_set_string(m, "op", "echo");
	xpc_dictionary_set_uint64(m, "n", 42);
	r = xpc_connection_send_message_with_reply_sync(c, m);
	if (xpc_get_type(r) == XPC_TYPE_DICTIONARY)
		what = xpc_dictionary_get_uint64(r, "n") == 42 ? "reply" : "bad reply";
	else
		what = r == XPC_ERROR_CONNECTION_INTERRUPTED ? "interrupted" : "invalid";
	xpc_release(r);
	xpc_release(m);
	return what;
}

/* CPU time @pid uses over CPU_WINDOW_MS, while @during (if any) runs. */
static long cpu_over_window(pid_t pid, void (^during)(void))
{
	long c0 = stress_cpu_ms(pid);
	double end = stress_now() + CPU_WINDOW_MS / 1000.0;

	if (during)
		during();
	while (stress_now() < end)
		stress_sleep_ms(20);
	return stress_cpu_ms(pid) - c0;
}

/* Waits up to 20 s for @pid's descriptors to be at most @max. */
static int fds_back_to(pid_t pid, int max)
{
	int n = stress_fd_count(pid);

	for (int i = 0; i < 400 && n > max; i++) {
		stress_sleep_ms(50);
		n = stress_fd_count(pid);
	}
	return n;
}

static StressChild start_offender(char *const argv[], char *line, size_t size)
{
	StressChild ch = stress_spawn(argv, true);

	stress_read_line(&ch, line, size, 120);
	fprintf(stderr, "offender: %s", line[0] ? line : "(nothing)\n");
	return ch;
}

static void kill_offender(StressChild *ch)
{
	kill(ch->pid, SIGKILL);
	close(ch->out);
	ch->out = -1;
	stress_wait(ch->pid, 10);
}

/* ---- the service out of descriptors -------------------------------------- */

static void scenario_service(void)
{
	char *svc_argv[] = {nofile_path, LIMIT, service_path, "--no-keep", NULL};
	char *press[] = {client_path, "fdpress", NAME, "32", "8", NULL};
	char *fill[] = {client_path, "fdpress", NAME, "32", "0", NULL};
	unsigned replies = 0, interrupted = 0, invalid = 0;
	char line[512];
	StressStat base, after;

	stress_write_job("svc", NAME, svc_argv, NULL);
	stress_start_broker();
	REQUIRE(stress_stat(NAME, &base));
	REQUIRE(stress_stat(NAME, &base));
	harness_begin(120);
	xpc_connection_t early = open_named();
	CHECK_STREQ(echo(early), "reply");

	/* messages with descriptors it cannot take end their links */
	StressChild off = start_offender(press, line, sizeof(line));
	CHECK(sscanf(line, "ready replies=%u interrupted=%u invalid=%u", &replies, &interrupted, &invalid) == 3);
	CHECK_EQ_INT(replies + interrupted + invalid, 32);
	CHECK(replies > 0);                /* served while it could */
	CHECK(interrupted + invalid > 0); /* and the limit was reached */
	/* then check-ins it cannot take are dropped: every slot is held */
	StressChild off2 = start_offender(fill, line, sizeof(line));
	CHECK(sscanf(line, "ready replies=%u interrupted=%u invalid=%u", &replies, &interrupted, &invalid) == 3);
	CHECK_EQ_INT(replies + interrupted + invalid, 32);
	CHECK(interrupted + invalid > 0);
	int during_fds = stress_fd_count(base.pid);
	fprintf(stderr, "service: %ld descriptors before, %d under pressure (limit %s)\n", base.fds, during_fds,
		LIMIT);

	__block const char *newcomer = NULL;
	long cpu = cpu_over_window(base.pid, ^{
		xpc_connection_t c = open_named();
		newcomer = echo(c); /* a check-in the service may have to drop */
		xpc_connection_cancel(c);
		xpc_release(c);
	});
	fprintf(stderr, "service CPU %ld ms in %d ms under pressure; a new client got: %s\n", cpu, CPU_WINDOW_MS,
		newcomer);
	CHECK(cpu >= 0 && cpu < CPU_MAX_MS);
	CHECK(!strcmp(newcomer, "reply") || !strcmp(newcomer, "interrupted"));
	CHECK_STREQ(echo(early), "reply"); /* an existing client is served */
	CHECK(harness_proc_alive(base.pid));

	kill_offender(&off);
	kill_offender(&off2);
	/* its descriptors less a link and a pidfd per live peer: back to
	 * where they were */
	bool ok = false;
	for (int i = 0; i < 200 && !(ok && after.fds - 2 * after.peers <= base.fds - 2 * base.peers); i++) {
		if (i)
			stress_sleep_ms(50);
		ok = stress_stat(NAME, &after); /* new connections work again */
	}
	fprintf(stderr, "service after the offender died: %ld descriptors, %ld peers (before: %ld, %ld)\n",
		after.fds, after.peers, base.fds, base.peers);
	CHECK(ok && after.fds > 0);
	CHECK(after.fds - 2 * after.peers <= base.fds - 2 * base.peers);
	CHECK_EQ_INT(after.pid, base.pid);  /* the same process: no crash, no relaunch */
	CHECK_STREQ(echo(early), "reply");
	xpc_connection_cancel(early);
	xpc_release(early);
	char *log = stress_read_file("svc.log");
	fprintf(stderr, "service log: %s", log[0] ? log : "(empty)\n");
	free(log);
}

/* ---- xpcd out of descriptors --------------------------------------------- */

static xpc_connection_t broker_link(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	xpc_connection_t b;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", getenv("XPCD_SOCKET"));
	REQUIRE(fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	b = connection_create_from_socket(fd, NULL);
	REQUIRE(b);
	xpc_connection_set_event_handler(b, ^(xpc_object_t ev) {
		(void)ev;
	});
	xpc_connection_resume(b);
	return b;
}

/* A broker request on @b: its "error" text, "" for success, or NULL when
 * there was no reply. */
static char *broker_request(xpc_connection_t b, const char *op)
{
	xpc_object_t m = xpc_dictionary_create(NULL, NULL, 0), r;
	char *res = NULL;

	xpc_dictionary_set_string(m, XPCD_KEY_OP, op);
	xpc_dictionary_set_string(m, XPCD_KEY_NAME, NAME);
	r = xpc_connection_send_message_with_reply_sync(b, m);
	if (xpc_get_type(r) == XPC_TYPE_DICTIONARY) {
		const char *e = xpc_dictionary_get_string(r, XPCD_KEY_ERROR);
		res = strdup(e ? e : "");
	}
	xpc_release(r);
	xpc_release(m);
	return res;
}

static void scenario_broker(void)
{
	char *svc_argv[] = {nofile_path, "1024", service_path, NULL};
	char *press[] = {client_path, "rawlinks", "100", NULL};
	char *late_argv[] = {client_path, "fds", NAME, "1", NULL};
	char line[512], out[1024];
	StressStat base;

	/* the link limits of a broker with plenty of descriptors and no idle
	 * timeout, so that links (not the limits) exhaust its 40 */
	static const char *const args[] = {"--max-links", "1024", "--max-links-per-user", "384", "--idle-timeout", "0",
					   NULL};

	stress_write_job("svc", NAME, svc_argv, NULL);
	stress_set_broker_args(args);
	stress_set_broker_nofile(40);
	stress_start_broker();
	REQUIRE(stress_stat(NAME, &base));
	REQUIRE(stress_stat(NAME, &base));
	harness_begin(120);
	pid_t broker = stress_broker_pid();
	xpc_connection_t early = open_named(), held = broker_link();
	char *r = broker_request(held, "list");
	CHECK(r && !r[0]);
	free(r);
	CHECK_STREQ(echo(early), "reply");
	int base_fds = stress_fd_count(broker);

	StressChild off = start_offender(press, line, sizeof(line));
	stress_sleep_ms(300); /* xpcd accepts until it has no descriptor left */
	int during_fds = stress_fd_count(broker);
	__block StressChild late = {.pid = -1, .out = -1};
	char **late_p = late_argv;
	long cpu = cpu_over_window(broker, ^{
		late = stress_spawn(late_p, true); /* waits in the backlog */
	});
	fprintf(stderr, "xpcd: %d descriptors before, %d under pressure (limit 40); CPU %ld ms in %d ms\n",
		base_fds, during_fds, cpu, CPU_WINDOW_MS);
	CHECK(during_fds >= 38);
	CHECK(cpu >= 0 && cpu < CPU_MAX_MS);
	r = broker_request(held, "list"); /* an existing broker client is served */
	CHECK(r && !r[0]);
	free(r);
	r = broker_request(held, "lookup"); /* needs a descriptor: none left */
	fprintf(stderr, "lookup under pressure: %s\n", r ? (r[0] ? r : "ok") : "(no reply)");
	CHECK(r && (!r[0] || strstr(r, "limit exceeded: descriptors")));
	free(r);
	CHECK_STREQ(echo(early), "reply"); /* established links need no broker */
	CHECK(harness_proc_alive(broker));

	kill_offender(&off);
	stress_read_output(&late, out, sizeof(out), 30);
	fprintf(stderr, "client started under pressure: %s", out[0] ? out : "(nothing)\n");
	CHECK(stress_wait(late.pid, 30) == 0);
	CHECK(strstr(out, "first=reply after=reply") != NULL);
	int fds = fds_back_to(broker, base_fds);
	fprintf(stderr, "xpcd descriptors after the offender died: %d\n", fds);
	CHECK(fds <= base_fds);
	CHECK(stress_stat(NAME, &base));
	CHECK_EQ_INT(stress_broker_pid(), broker);
	xpc_connection_cancel(held);
	xpc_release(held);
	xpc_connection_cancel(early);
	xpc_release(early);
}

int main(int argc, char **argv)
{
	REQUIRE(argc == 2);
	harness_warm_dispatch();
	stress_setup(argv[0]);
	client_path = stress_program("stress-client");
	nofile_path = stress_program("stress-nofile");
	service_path = stress_program("stress-service");
	if (!strcmp(argv[1], "service"))
		scenario_service();
	else if (!strcmp(argv[1], "broker"))
		scenario_broker();
	else
		REQUIRE(!"unknown scenario");
	stress_sleep_ms(100); /* cancelled links close asynchronously */
	stress_teardown();
	free(client_path);
	free(nofile_path);
	free(service_path);
	return harness_end();
}
