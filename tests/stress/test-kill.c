/* SPDX-License-Identifier: MIT */
/*
 * test-kill - kill loops (issue 7, docs/reliability.md invariants 2, 3 and 5).
 *
 * A private xpcd runs the job "svc" (stress-service, name
 * org.xpc.stress.kill).  Each round starts two stress-client processes in
 * "busy" mode (sync and async requests and one-way messages on one named
 * connection), SIGKILLs one process chosen at random - a client, the
 * service or the broker - at a random moment of the exchange, lets the
 * survivors go on a little, then stops them.  After each round:
 *   - every surviving client's requests got exactly one answer each
 *     (reply, INTERRUPTED or INVALID; the client counts them and fails on
 *     a second answer, a missing one, or a reply that is not its own) and
 *     it has no descriptor left after cancelling its connection;
 *   - no process hung (every wait has a limit);
 *   - a killed broker is restarted; a new connection works (a "stat"
 *     request on a fresh named connection), which also relaunches a
 *     killed service;
 *   - the service (when it survived) and the broker are back to their
 *     descriptor count without the round's links: nothing leaked there;
 *   - this process has leaked nothing either (harness).
 * Rounds: $STRESS_ROUNDS (default 20); the random seed is printed and can
 * be replayed with $STRESS_SEED.
 */
#include "harness.h"
#include "stress-common.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xpc/xpc.h>

#define NAME "org.xpc.stress.kill"
#define N_CLIENTS 2

typedef struct Totals {
	unsigned long rounds, kills[3], requests, replies, interrupted, invalid, oneway;
} Totals;

static char *client_path;

/* Probes until the service's descriptors without its live peers' links are
 * back to @base (per service process); false when they stay above. */
static bool service_settled(pid_t *svc_pid, long *base)
{
	StressStat st = {0};

	for (int i = 0; i < 100; i++) {
		if (!stress_stat(NAME, &st))
			return false;
		if (st.pid != *svc_pid) { /* a new instance: its own baseline */
			*svc_pid = st.pid;
			*base = st.fds - st.peers;
		}
		if (st.fds - st.peers < *base)
			*base = st.fds - st.peers; /* the first reading caught a link closing */
		if (st.fds - st.peers <= *base)
			return true;
		stress_sleep_ms(50);
	}
	fprintf(stderr, "service %d: %ld descriptors for %ld peers, baseline %ld\n", (int)st.pid, st.fds,
		st.peers, *base);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "ls -l /proc/%d/fd >&2", (int)st.pid);
	if (system(cmd) < 0)
		perror("system");
	return false;
}

static bool broker_settled(pid_t *pid, int *base)
{
	pid_t b = stress_broker_pid();
	int n = stress_fd_count(b);

	if (b != *pid) {
		*pid = b;
		*base = n;
		return true;
	}
	for (int i = 0; i < 100 && n > *base; i++) {
		stress_sleep_ms(50);
		n = stress_fd_count(b);
	}
	if (n > *base)
		fprintf(stderr, "broker: %d descriptors, baseline %d\n", n, *base);
	return n <= *base;
}

static void add_result(Totals *t, const char *line)
{
	unsigned long req = 0, rep = 0, intr = 0, inv = 0, dup = 0, bad = 0, ow = 0;
	int ok = 0, hung = 0, leaked = 0;

	if (sscanf(line, "result ok=%d requests=%lu replies=%lu interrupted=%lu invalid=%lu dup=%lu bad=%lu "
			 "hung=%d leaked=%d oneway=%lu",
		   &ok, &req, &rep, &intr, &inv, &dup, &bad, &hung, &leaked, &ow) != 10 || !ok) {
		fprintf(stderr, "client failed: %s\n", line[0] ? line : "(no result)");
		CHECK(!"a surviving client failed");
	}
	t->requests += req;
	t->replies += rep;
	t->interrupted += intr;
	t->invalid += inv;
	t->oneway += ow;
}

static void kill_victim(unsigned victim, StressChild *cl)
{
	pid_t svc;

	if (victim == 0) {
		kill(cl[stress_random() % N_CLIENTS].pid, SIGKILL);
	} else if (victim == 1) {
		svc = stress_job_pid("svc");
		if (svc > 0)
			kill(svc, SIGKILL);
	} else {
		stress_kill_broker();
	}
}

static void round_run(Totals *t)
{
	char *argv[] = {client_path, "busy", NAME, NULL};
	StressChild cl[N_CLIENTS];
	unsigned victim = (unsigned)(stress_random() % 3);
	char out[1024];

	for (int i = 0; i < N_CLIENTS; i++)
		cl[i] = stress_spawn(argv, true);
	for (int i = 0; i < N_CLIENTS; i++) /* "started": its exchange begins */
		stress_read_line(&cl[i], out, sizeof(out), 30);
	stress_sleep_ms(5 + (unsigned)(stress_random() % 60));
	kill_victim(victim, cl);
	stress_sleep_ms((unsigned)(stress_random() % 30));
	for (int i = 0; i < N_CLIENTS; i++)
		kill(cl[i].pid, SIGUSR1);
	for (int i = 0; i < N_CLIENTS; i++) {
		stress_read_output(&cl[i], out, sizeof(out), 30);
		int status = stress_wait(cl[i].pid, 30);
		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
			continue; /* the victim */
		char *res = strstr(out, "result");
		if (status != 0)
			fprintf(stderr, "client %d: status 0x%x (signal %d)\n", (int)cl[i].pid, status,
				WIFSIGNALED(status) ? WTERMSIG(status) : 0);
		add_result(t, res ? res : "");
		CHECK(status == 0);
	}
	if (victim == 2)
		stress_start_broker();
	t->kills[victim]++;
	t->rounds++;
	stress_reap();
}

int main(int argc, char **argv)
{
	char *svc_argv[2];
	unsigned rounds = stress_env_uint("STRESS_ROUNDS", 20);
	Totals t = {0};
	StressStat st = {0};
	pid_t svc_pid = 0, broker = 0;
	long svc_base = 0;
	int broker_base = 0;

	(void)argc;
	harness_warm_dispatch();
	stress_setup(argv[0]);
	stress_seed();
	client_path = stress_program("stress-client");
	svc_argv[0] = stress_program("stress-service");
	svc_argv[1] = NULL;
	stress_write_job("svc", NAME, svc_argv, NULL);
	stress_start_broker();
	REQUIRE(stress_stat(NAME, &st));
	REQUIRE(service_settled(&svc_pid, &svc_base));
	broker_settled(&broker, &broker_base);
	harness_begin(60 + rounds * 10);
	double t0 = stress_now();
	for (unsigned r = 0; r < rounds && !harness_failures; r++) {
		round_run(&t);
		if (!service_settled(&svc_pid, &svc_base))
			CHECK(!"a new connection failed, or the service leaked descriptors");
		CHECK(broker_settled(&broker, &broker_base));
		if (harness_failures)
			fprintf(stderr, "round %u failed\n", r);
	}
	double secs = stress_now() - t0;
	fprintf(stderr,
		"kill loops: %lu rounds in %.1f s (killed: %lu clients, %lu services, %lu brokers); "
		"survivors' requests %lu: %lu replies, %lu interrupted, %lu invalid; %lu one-way\n",
		t.rounds, secs, t.kills[0], t.kills[1], t.kills[2], t.requests, t.replies, t.interrupted,
		t.invalid, t.oneway);
	CHECK(t.rounds == rounds);
	CHECK(t.replies > 0);
	stress_teardown();
	free(svc_argv[0]);
	free(client_path);
	return harness_end();
}
