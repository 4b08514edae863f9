/*
 * fuzz-broker.c - fuzz target for xpcd's request handler (ops_handle in
 * src/broker/ops.c) with the job registry, service channels, supervision
 * and the job loader behind it, in-process, on one Broker object.
 *
 * Input: byte 0 picks who asks (bits 0-1: the broker's own user; a
 * stranger; a stranger whose uid, or whose gid, job fuzz.b admits; bit 2:
 * over a link, so that monitor, tap and frame reach their handlers and a
 * frame summary its checks, src/broker/tap.c); the rest is JSON:
 * one request dictionary or an array of them, handled in order (a sequence
 * like load, kickstart, kill, unload).  Each request is marked as received
 * expecting a reply, as the connection layer does.
 *
 * Every input starts from the same registry, as after xpcd's start-up
 * (loading a job starts it or watches its names): jobs fuzz.a (watched),
 * fuzz.b (lookup policy, KeepAlive: running) and fuzz.c (disabled), loaded
 * from a private directory that also holds d.plist (RunAtLoad), dup.plist
 * (a name fuzz.a vends) and bad.plist.
 * A "path" that is a bare file name is looked up there; any other path is
 * dropped from the request (the fuzzer must not read arbitrary files).
 * Launches go to a process double (broker-launch.c).
 *
 * Invariants: no crash or leak (memory, descriptors: every input ends with
 * all jobs unloaded and the descriptor count back where it began); every
 * request gets a reply with "ok" or "error" and "errno" that can be encoded
 * as a message; a request from anyone but the owner changes no job.
 *
 * The accounting of broker links (src/broker/users.c) is driven by a
 * dictionary { "fuzz.links": [N, ...] } in the input: N >= 0 opens a link
 * of uid 1000 + N % 4, N < 0 closes the served or refusing link number -N
 * (modulo those open).  Limits: 12 links in all, 6 per user.  Invariants:
 * no user over its share or its served/refusing parts, the total never
 * over the cap and equal to the links open, a user's waiting links served
 * in the order they came, and every charge refunded at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/broker.h"
#include "broker/ops.h"
#include "connection/connection.h"
#include "broker/plist.h"
#include "dispatch/dqueue.h"
#include "fuzz-broker.h"
#include "fuzz.h"
#include "object/object.h"
#include "shared/xpcd-protocol.h"
#include "wire/wire.h"

#define MAX_REQUESTS 64
#define STRANGER 4242u
#define ADMITTED_UID 4243u
#define ADMITTED_GID 4244u

static char job_dir[64];
static Broker broker; /* no socket, no state file: in-process only */
/* The link of a caller with one: its other end closed, so what the broker
 * sends on it (events, watch messages) goes nowhere. */
static xpc_connection_t fuzz_link;

static xpc_connection_t make_fuzz_link(void)
{
	int sv[2];
	xpc_connection_t c;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		fuzz_fail("socketpair");
	close(sv[1]);
	c = connection_create_from_socket(sv[0], NULL);
	if (!c)
		fuzz_fail("connection_create_from_socket");
	connection_set_untapped(c);
	xpc_connection_set_event_handler(c, ^(xpc_object_t ev) { (void)ev; });
	xpc_connection_resume(c);
	return c;
}

static const struct {
	const char *name, *text;
} job_files[] = {
	{"a.plist", "<key>Label</key><string>fuzz.a</string><key>Program</key><string>/bin/true</string>"
		    "<key>MachServices</key><dict><key>fuzz.a.svc</key><true/><key>fuzz.a.two</key><true/></dict>"},
	{"b.plist", "<key>Label</key><string>fuzz.b</string>"
		    "<key>ProgramArguments</key><array><string>/bin/true</string><string>b</string></array>"
		    "<key>MachServices</key><dict><key>fuzz.b.svc</key><true/></dict><key>KeepAlive</key><true/>"
		    "<key>XPCDAllowedUIDs</key><array><integer>4243</integer></array>"
		    "<key>XPCDAllowedGroups</key><array><integer>4244</integer></array>"},
	{"c.plist", "<key>Label</key><string>fuzz.c</string><key>Program</key><string>/bin/true</string>"
		    "<key>Disabled</key><true/><key>MachServices</key><dict><key>fuzz.c.svc</key><true/></dict>"
		    "<key>KeepAlive</key><dict><key>SuccessfulExit</key><false/><key>Crashed</key><true/></dict>"},
	{"d.plist", "<key>Label</key><string>fuzz.d</string><key>Program</key><string>/bin/true</string>"
		    "<key>RunAtLoad</key><true/><key>MachServices</key><dict><key>fuzz.d.svc</key><true/></dict>"},
	{"dup.plist", "<key>Label</key><string>fuzz.dup</string><key>Program</key><string>/bin/true</string>"
		      "<key>MachServices</key><dict><key>fuzz.a.svc</key><true/></dict>"},
	{"bad.plist", "<key>Label</key><integer>7</integer>"},
};

static void remove_job_dir(void)
{
	char path[128];

	for (size_t i = 0; i < sizeof(job_files) / sizeof(job_files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", job_dir, job_files[i].name);
		unlink(path);
	}
	rmdir(job_dir);
}

static void write_job_dir(void)
{
	char path[128];

	strcpy(job_dir, "/tmp/fuzz-broker.XXXXXX");
	if (!mkdtemp(job_dir))
		fuzz_fail("mkdtemp: %s", strerror(errno));
	atexit(remove_job_dir);
	for (size_t i = 0; i < sizeof(job_files) / sizeof(job_files[0]); i++) {
		FILE *f;
		snprintf(path, sizeof(path), "%s/%s", job_dir, job_files[i].name);
		if (!(f = fopen(path, "we")))
			fuzz_fail("%s: %s", path, strerror(errno));
		fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plist version=\"1.0\"><dict>%s</dict></plist>\n",
			job_files[i].text);
		fclose(f);
	}
}

static void drain_main_queue(void)
{
	dqueue_drain(dispatch_get_main_queue());
}

/* The dispatch manager opens its descriptors on first use: make it do so
 * before any input is measured. */
static void warm_dispatch(void)
{
	int p[2];
	dispatch_source_t s;
	__block bool done = false;

	if (pipe2(p, O_CLOEXEC) < 0)
		fuzz_fail("pipe2");
	s = dispatch_source_create(DISPATCH_SOURCE_TYPE_READ, (uintptr_t)p[0], 0, dispatch_get_main_queue());
	dispatch_source_set_event_handler(s, ^{});
	dispatch_source_set_cancel_handler(s, ^{ done = true; });
	dispatch_resume(s);
	dispatch_source_cancel(s);
	for (int i = 0; i < 20000 && !done; i++) {
		drain_main_queue();
		usleep(100);
	}
	dispatch_release(s);
	close(p[0]);
	close(p[1]);
}

static void load_initial_jobs(void)
{
	static const char *const names[] = {"a.plist", "b.plist", "c.plist"};
	char path[128], err[512];

	for (size_t i = 0; i < 3; i++) {
		Job *job = NULL;
		snprintf(path, sizeof(path), "%s/%s", job_dir, names[i]);
		if (plist_load_job(path, &job, err, sizeof(err)) < 0 || supervise_add(&broker, job, err, sizeof(err)) < 0)
			fuzz_fail("initial job: %s", err);
	}
}

/* Unloads every job, delivers the exits, frees them all, and waits for the
 * cancelled channel watches to close their descriptors. */
static void unload_all(int fds_before)
{
	Job *job;
	int fds = 0;

	for (int i = 0; (job = registry_first(&broker.registry)); i++) {
		if (i > 1000)
			fuzz_fail("a job does not unload");
		supervise_remove(job);
		fuzz_launch_reap();
	}
	fuzz_launch_reap();
	registry_free_unloaded(&broker.registry);
	for (int i = 0; i < 20000; i++) {
		drain_main_queue();
		if ((fds = fuzz_count_fds()) <= fds_before)
			return;
		usleep(100);
	}
	fuzz_check_fds(fds_before, fds, "fuzz-broker");
}

/* What a request may change: every job's state, in a comparable string. */
static char *registry_state(void)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);

	if (!f)
		fuzz_fail("open_memstream");
	for (Job *j = registry_first(&broker.registry); j; j = j->next)
		fprintf(f, "%s pid=%d disabled=%d stopping=%d unloading=%d relaunch=%d runs=%u pending=%d\n",
			j->label, (int)j->pid, j->disabled, j->stopping, j->unloading, j->relaunch_once, j->runs,
			j->launch_pending);
	fclose(f);
	return s;
}

static void check_reply(xpc_object_t reply, const char *op)
{
	WireBuffer buf = {0};
	WireFds fds = {0};
	int r;

	if (!reply || xpc_get_type(reply) != XPC_TYPE_DICTIONARY)
		fuzz_fail("op %s: no reply", op ? op : "(none)");
	if (!xpc_dictionary_get_bool(reply, XPCD_KEY_OK) &&
	    !(xpc_dictionary_get_string(reply, XPCD_KEY_ERROR) && xpc_dictionary_get_int64(reply, XPCD_KEY_ERRNO) > 0))
		fuzz_fail("op %s: a reply with neither ok nor error/errno", op ? op : "(none)");
	if ((r = wire_encode_message(reply, &buf, &fds)))
		fuzz_fail("op %s: the reply does not encode: %s", op ? op : "(none)", wire_strerror(r));
	wire_buffer_free(&buf);
	wire_fds_free(&fds);
}

/* A bare file name becomes a file of the job directory; any other path is
 * dropped.  Return: false to skip the request. */
static void confine_path(xpc_object_t req)
{
	xpc_object_t v = xpc_dictionary_get_value(req, XPCD_KEY_PATH);
	const char *name = xpc_get_type(v) == XPC_TYPE_STRING ? xpc_string_get_string_ptr(v) : NULL;
	char path[4200];

	if (!v)
		return;
	if (!name || !*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..")) {
		xpc_dictionary_set_value(req, XPCD_KEY_PATH, NULL);
		return;
	}
	snprintf(path, sizeof(path), "%s/%s", job_dir, name);
	xpc_dictionary_set_string(req, XPCD_KEY_PATH, path);
}

static void handle_one(const Caller *who, bool owner, xpc_object_t req, uint64_t id)
{
	char *state = owner ? NULL : registry_state();
	const char *op = xpc_dictionary_get_string(req, XPCD_KEY_OP);
	xpc_object_t reply;

	confine_path(req);
	dictionary_set_message_context(req, NULL, id, true);
	reply = ops_handle(&broker, who, req);
	check_reply(reply, op);
	xpc_release(reply);
	fuzz_launch_reap();
	if (state) {
		char *after = registry_state();
		if (strcmp(state, after))
			fuzz_fail("op %s from uid %u changed the registry:\n%s-> \n%s", op ? op : "(none)",
				  (unsigned)who->uid, state, after);
		free(after);
		free(state);
	}
}

/* ---- link accounting ------------------------------------------------------ */

#define FUZZ_LINKS 12
#define FUZZ_LINKS_PER_USER 6
#define FUZZ_MAX_LINK_OPS 256

typedef struct FuzzLink {
	User *user;
	LinkKind kind;
	uid_t uid;
	unsigned seq; /* order of arrival, per uid */
	bool open;
} FuzzLink;

static FuzzLink fuzz_links[FUZZ_MAX_LINK_OPS];
static size_t n_fuzz_links;

static void links_check(void)
{
	const LinkLimits *lim = users_limits(&broker.clients.users);
	unsigned open = 0, served, waiting, refusing;

	for (size_t i = 0; i < n_fuzz_links; i++)
		open += fuzz_links[i].open;
	if (users_in_use(&broker.clients.users) != open || open > lim->max_links)
		fuzz_fail("links: %u charged, %u open, cap %u", users_in_use(&broker.clients.users), open, lim->max_links);
	for (uid_t uid = 1000; uid < 1004; uid++) {
		unsigned total = users_links_of(&broker.clients.users, uid, &served, &waiting, &refusing);
		if (total > lim->per_user || served > lim->served_per_user || refusing > lim->refusing_per_user)
			fuzz_fail("links of uid %u: %u served, %u waiting, %u refusing (limits %u/%u/%u)", (unsigned)uid,
				  served, waiting, refusing, lim->served_per_user, lim->per_user, lim->refusing_per_user);
	}
}

static void links_open_one(uid_t uid)
{
	static unsigned seq[4];
	FuzzLink *l = &fuzz_links[n_fuzz_links];
	User *user = NULL;
	LinkKind kind = users_admit(&broker.clients.users, uid, &user);

	if (kind == LINK_REFUSED || kind == LINK_REFUSED_ALL) {
		if (user)
			fuzz_fail("links: a refused link was charged");
		return;
	}
	*l = (FuzzLink){.user = user, .kind = kind, .uid = uid, .seq = seq[uid - 1000]++, .open = true};
	n_fuzz_links++;
	if (kind == LINK_WAITING && users_wait_push(user, l) < 0)
		fuzz_fail("links: out of memory");
}

/* Closes @l (served or refusing); a promoted waiting link must be its
 * user's oldest. */
static void links_close_one(FuzzLink *l)
{
	FuzzLink *next = users_release(&broker.clients.users, l->user, l->kind);

	l->open = false;
	if (!next)
		return;
	if (next->uid != l->uid || next->kind != LINK_WAITING || !next->open)
		fuzz_fail("links: promoted a link that was not waiting for that user");
	for (size_t i = 0; i < n_fuzz_links; i++)
		if (fuzz_links[i].open && fuzz_links[i].kind == LINK_WAITING && fuzz_links[i].uid == next->uid &&
		    fuzz_links[i].seq < next->seq)
			fuzz_fail("links: a waiting link was served before an older one");
	next->kind = LINK_SERVED;
}

/* The n-th open link that is not waiting, NULL if none. */
static FuzzLink *links_pick(size_t n)
{
	size_t count = 0;

	for (size_t i = 0; i < n_fuzz_links; i++)
		count += fuzz_links[i].open && fuzz_links[i].kind != LINK_WAITING;
	if (!count)
		return NULL;
	n %= count;
	for (size_t i = 0; i < n_fuzz_links; i++)
		if (fuzz_links[i].open && fuzz_links[i].kind != LINK_WAITING && n-- == 0)
			return &fuzz_links[i];
	return NULL;
}

static void run_links(xpc_object_t ops)
{
	FuzzLink *l;

	if (!users_limits(&broker.clients.users)->max_links &&
	    users_configure(&broker.clients.users, FUZZ_LINKS, FUZZ_LINKS_PER_USER) < 0)
		fuzz_fail("users_configure");
	n_fuzz_links = 0;
	for (size_t i = 0; i < xpc_array_get_count(ops) && n_fuzz_links < FUZZ_MAX_LINK_OPS; i++) {
		int64_t v = xpc_array_get_int64(ops, i);
		if (v >= 0)
			links_open_one((uid_t)(1000 + v % 4));
		else if ((l = links_pick((size_t)(-(v + 1)))))
			links_close_one(l);
		links_check();
	}
	while ((l = links_pick(0))) { /* closing the served ones serves the waiting */
		links_close_one(l);
		links_check();
	}
	if (users_in_use(&broker.clients.users))
		fuzz_fail("links: %u charges left after every link closed", users_in_use(&broker.clients.users));
}

/* A request, or a "fuzz.links" sequence. */
static void handle_item(const Caller *who, bool owner, xpc_object_t req, uint64_t id)
{
	xpc_object_t ops = xpc_dictionary_get_value(req, "fuzz.links");

	if (xpc_get_type(ops) == XPC_TYPE_ARRAY)
		run_links(ops);
	else
		handle_one(who, owner, req, id);
}

static void run_requests(const Caller *who, bool owner, xpc_object_t obj)
{
	if (xpc_get_type(obj) == XPC_TYPE_DICTIONARY) {
		handle_item(who, owner, obj, 1);
		return;
	}
	if (xpc_get_type(obj) != XPC_TYPE_ARRAY)
		return;
	for (size_t i = 0; i < xpc_array_get_count(obj) && i < MAX_REQUESTS; i++) {
		xpc_object_t req = xpc_array_get_value(obj, i);
		if (xpc_get_type(req) == XPC_TYPE_DICTIONARY)
			handle_item(who, owner, req, i + 1);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	Caller who;
	xpc_object_t obj;
	char *text;
	int before;

	if (!ready) {
		write_job_dir();
		warm_dispatch();
		broker_init(&broker, &(BrokerConfig){0});
		supervise_boot_done(&broker); /* as xpcd after start-up: loads launch or watch */
		fuzz_link = make_fuzz_link();
		ready = true;
	}
	if (size < 1 || !(text = strndup((const char *)data + 1, size - 1)))
		return 0;
	switch (data[0] & 3) {
	case 0: who = (Caller){.uid = geteuid(), .gid = getegid()}; break;
	case 1: who = (Caller){.uid = STRANGER, .gid = STRANGER}; break;
	case 2: who = (Caller){.uid = ADMITTED_UID, .gid = STRANGER}; break;
	default: who = (Caller){.uid = STRANGER, .gid = ADMITTED_GID}; break;
	}
	obj = xpc_linux_create_from_json(text, NULL);
	free(text);
	if (!obj)
		return 0;
	if (data[0] & 4)
		who.link = fuzz_link;
	before = fuzz_count_fds();
	fuzz_launch_reset();
	load_initial_jobs();
	run_requests(&who, (data[0] & 3) == 0, obj);
	xpc_release(obj);
	monitor_unsubscribe(&broker.monitors, fuzz_link); /* as client_gone */
	taps_remove(&broker.taps, fuzz_link);
	unload_all(before);
	return 0;
}
