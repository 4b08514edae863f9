/* SPDX-License-Identifier: MIT */
/*
 * test-session.c - sessions, listeners and rich errors (<xpc/session.h>,
 * <xpc/listener.h>, docs/sessions.md), client and server in one process
 * over the stand-in broker of session-common.c:
 * - a session is active at creation; sync, async and one-way sends; the
 *   service's own messages reach the incoming-message handler;
 * - an unknown name fails at creation (NULL, rich error), an inactive
 *   session to one fails at activation and its cancel handler runs once;
 * - an inactive session takes its handlers and target queue, then runs its
 *   handlers on that queue;
 * - the service cancelling its peer interrupts the client: the cancel
 *   handler runs once with a retryable error, the session never comes back;
 *   the client cancelling ends the server's peer session;
 * - xpc_listener_reject_peer; a listener for a name not vended fails;
 * - descriptions; and every misuse Apple traps, each in a fresh process
 *   (`test-session misuse-NAME`) that must abort with "XPC API MISUSE".
 */
#include "session-common.h"
#include "harness.h"

#include <Block.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ECHO "test.session.echo"

static xpc_listener_t listener;
static atomic_int server_peers, server_cancels, reject_next;
static char server_cancel_text[256]; /* under server_cancel_lock */
static pthread_mutex_t server_cancel_lock = PTHREAD_MUTEX_INITIALIZER;

/* Whether the last server-side cancel text holds @what. */
static bool server_cancel_has(const char *what)
{
	pthread_mutex_lock(&server_cancel_lock);
	bool has = strstr(server_cancel_text, what) != NULL;
	pthread_mutex_unlock(&server_cancel_lock);
	return has;
}
static dispatch_semaphore_t server_cancelled;

/* ---- the service ---------------------------------------------------------- */

static void serve_message(xpc_session_t peer, xpc_object_t m)
{
	const char *op = xpc_dictionary_get_string(m, "op");
	xpc_object_t r = xpc_dictionary_create_reply(m);

	if (r) {
		xpc_dictionary_set_string(r, "echo", op ? op : "");
		xpc_rich_error_t e = xpc_session_send_message(peer, r);
		CHECK(e == NULL);
		xpc_release(e);
		xpc_release(r);
	}
	if (op && !strcmp(op, "push")) {
		xpc_object_t ev = session_test_msg("pushed");
		xpc_release(xpc_session_send_message(peer, ev));
		xpc_release(ev);
	} else if (op && !strcmp(op, "burst")) {
		for (int i = 0; i < 50; i++) {
			xpc_object_t ev = session_test_msg("burst-item");
			xpc_release(xpc_session_send_message(peer, ev));
			xpc_release(ev);
		}
	} else if (op && !strcmp(op, "bye")) {
		xpc_session_cancel(peer);
	}
}

static void serve_peer(xpc_session_t peer)
{
	atomic_fetch_add(&server_peers, 1);
	CHECK(xpc_get_type(peer) == XPC_TYPE_SESSION);
	xpc_session_set_cancel_handler(peer, ^(xpc_rich_error_t e) {
		char *d = xpc_rich_error_copy_description(e);
		pthread_mutex_lock(&server_cancel_lock);
		snprintf(server_cancel_text, sizeof(server_cancel_text), "%s", d ? d : "");
		pthread_mutex_unlock(&server_cancel_lock);
		free(d);
		atomic_fetch_add(&server_cancels, 1);
		dispatch_semaphore_signal(server_cancelled);
	});
	if (atomic_exchange(&reject_next, 0)) {
		xpc_listener_reject_peer(peer, "go away");
		return;
	}
	xpc_session_set_incoming_message_handler(peer, ^(xpc_object_t m) {
		serve_message(peer, m);
	});
}

static void start_service(void)
{
	xpc_rich_error_t err = NULL;

	session_test_broker_start();
	session_test_vend(ECHO);
	server_cancelled = dispatch_semaphore_create(0);
	listener = xpc_listener_create(ECHO, NULL, XPC_LISTENER_CREATE_NONE, ^(xpc_session_t peer) {
		serve_peer(peer);
	}, &err);
	REQUIRE(listener && !err);
}

static void stop_service(void)
{
	xpc_listener_cancel(listener);
	xpc_release(listener);
	session_test_broker_stop();
	dispatch_release(server_cancelled);
}

/* ---- client helpers --------------------------------------------------------- */

typedef struct Watch {
	atomic_int cancels;
	atomic_int retry;
	char text[256];
	dispatch_semaphore_t sem;
} Watch;

static void watch_init(Watch *w)
{
	memset(w, 0, sizeof(*w));
	w->sem = dispatch_semaphore_create(0);
}

static void watch_session(xpc_session_t s, Watch *w)
{
	xpc_session_set_cancel_handler(s, ^(xpc_rich_error_t e) {
		char *d = xpc_rich_error_copy_description(e);
		snprintf(w->text, sizeof(w->text), "%s", d ? d : "");
		free(d);
		atomic_store(&w->retry, xpc_rich_error_can_retry(e));
		atomic_fetch_add(&w->cancels, 1);
		dispatch_semaphore_signal(w->sem);
	});
}

static const char *sync_echo(xpc_session_t s, const char *op, xpc_rich_error_t *ret_err)
{
	static char buf[64];
	xpc_object_t m = session_test_msg(op), r;

	r = xpc_session_send_message_with_reply_sync(s, m, ret_err);
	xpc_release(m);
	if (!r)
		return NULL;
	snprintf(buf, sizeof(buf), "%s", xpc_dictionary_get_string(r, "echo") ? xpc_dictionary_get_string(r, "echo") : "");
	xpc_release(r);
	return buf;
}

/* ---- scenarios ------------------------------------------------------------------ */

static void test_active_session(void)
{
	xpc_rich_error_t err = (xpc_rich_error_t)1;
	xpc_session_t s = xpc_session_create_mach_service(ECHO, NULL, XPC_SESSION_CREATE_NONE, &err);
	dispatch_semaphore_t got = dispatch_semaphore_create(0);
	xpc_object_t m;
	char *d;

	REQUIRE(s);
	CHECK(err == NULL);
	CHECK(xpc_get_type(s) == XPC_TYPE_SESSION);
	d = xpc_session_copy_description(s);
	CHECK_STREQ(d, "Session<" ECHO ">(Active)");
	free(d);
	CHECK_STREQ(sync_echo(s, "ping", NULL), "ping");
	m = session_test_msg("async");
	xpc_session_send_message_with_reply_async(s, m, ^(xpc_object_t reply, xpc_rich_error_t e) {
		CHECK(e == NULL);
		CHECK_STREQ(xpc_dictionary_get_string(reply, "echo"), "async");
		dispatch_semaphore_signal(got);
	});
	xpc_release(m);
	CHECK(session_test_wait(got, 10));
	m = session_test_msg("oneway");
	CHECK(xpc_session_send_message(s, m) == NULL);
	xpc_release(m);
	CHECK_STREQ(sync_echo(s, "after", NULL), "after");

	/* a message the link refuses (more descriptors than one message can
	 * carry) fails alone: the session goes on */
	m = session_test_msg("too-many-fds");
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	for (int i = 0; i < 300; i++) {
		char key[16];
		snprintf(key, sizeof(key), "fd%d", i);
		xpc_dictionary_set_fd(m, key, fd);
	}
	close(fd);
	err = NULL;
	CHECK(xpc_session_send_message_with_reply_sync(s, m, &err) == NULL);
	CHECK(err != NULL && !xpc_rich_error_can_retry(err));
	xpc_release(err);
	xpc_session_send_message_with_reply_async(s, m, ^(xpc_object_t reply, xpc_rich_error_t e) {
		CHECK(reply == NULL && e != NULL);
		dispatch_semaphore_signal(got);
	});
	CHECK(session_test_wait(got, 10));
	xpc_release(m);
	CHECK_STREQ(sync_echo(s, "still-active", NULL), "still-active");
	d = xpc_session_copy_description(s);
	CHECK_STREQ(d, "Session<" ECHO ">(Active)");
	free(d);

	xpc_session_cancel(s);
	xpc_session_cancel(s); /* a second cancel is nothing */
	err = NULL;
	CHECK(sync_echo(s, "late", &err) == NULL);
	CHECK(err && xpc_get_type(err) == XPC_TYPE_RICH_ERROR);
	xpc_release(err);
	m = session_test_msg("late");
	err = xpc_session_send_message(s, m);
	CHECK(err != NULL);
	xpc_release(err);
	xpc_session_send_message_with_reply_async(s, m, ^(xpc_object_t reply, xpc_rich_error_t e) {
		CHECK(reply == NULL && e != NULL);
		dispatch_semaphore_signal(got);
	});
	xpc_release(m);
	CHECK(session_test_wait(got, 10));
	d = xpc_session_copy_description(s);
	CHECK(d && strstr(d, "(Cancel"));
	free(d);
	xpc_release(s);
	dispatch_release(got);
}

static void test_unknown_name(void)
{
	xpc_rich_error_t err = NULL;
	xpc_session_t s = xpc_session_create_mach_service("test.session.nobody", NULL, 0, &err);
	char *d;

	CHECK(s == NULL);
	REQUIRE(err);
	CHECK(xpc_get_type(err) == XPC_TYPE_RICH_ERROR);
	d = xpc_rich_error_copy_description(err);
	CHECK(d && strstr(d, "unknown name"));
	free(d);
	CHECK(!xpc_rich_error_can_retry(err));
	d = xpc_copy_description(err);
	CHECK(d && strstr(d, "<rich_error: ") && strstr(d, "can_retry = false"));
	free(d);
	xpc_release(err);
	CHECK(xpc_session_create_mach_service("test.session.nobody", NULL, 0, NULL) == NULL);

	/* inactive: creation succeeds, activation fails, the cancel handler runs once */
	Watch w;
	watch_init(&w);
	s = xpc_session_create_mach_service("test.session.nobody", NULL, XPC_SESSION_CREATE_INACTIVE, &err);
	REQUIRE(s && !err);
	watch_session(s, &w);
	xpc_session_set_incoming_message_handler(s, ^(xpc_object_t m) {
	});
	CHECK(!xpc_session_activate(s, &err));
	REQUIRE(err);
	d = xpc_rich_error_copy_description(err);
	CHECK(d && strstr(d, "unknown name"));
	free(d);
	xpc_release(err);
	CHECK(session_test_wait(w.sem, 10));
	usleep(20000);
	CHECK_EQ_INT(atomic_load(&w.cancels), 1);
	xpc_release(s);
	dispatch_release(w.sem);

	/* bundled XPC services do not exist here */
	err = NULL;
	CHECK(xpc_session_create_xpc_service("com.example.bundled", NULL, 0, &err) == NULL);
	CHECK(err != NULL);
	xpc_release(err);
}

static void test_no_broker(void)
{
	char *saved = strdup(getenv("XPCD_SOCKET"));
	xpc_rich_error_t err = NULL;
	char *d;

	setenv("XPCD_SOCKET", "/nonexistent/xpcd.sock", 1);
	CHECK(xpc_session_create_mach_service(ECHO, NULL, 0, &err) == NULL);
	REQUIRE(err);
	d = xpc_rich_error_copy_description(err);
	CHECK(d && strstr(d, "no broker at /nonexistent/xpcd.sock"));
	free(d);
	xpc_release(err);
	setenv("XPCD_SOCKET", saved, 1);
	free(saved);
}

static void test_inactive_configured(void)
{
	dispatch_queue_t q = dispatch_queue_create("test.session.target", NULL);
	dispatch_semaphore_t pushed = dispatch_semaphore_create(0);
	xpc_rich_error_t err = NULL;
	__block atomic_int on_target = 0;
	Watch w;
	xpc_session_t s;
	char *d;

	watch_init(&w);
	s = xpc_session_create_mach_service(ECHO, NULL, XPC_SESSION_CREATE_INACTIVE, &err);
	REQUIRE(s && !err);
	d = xpc_session_copy_description(s);
	CHECK_STREQ(d, "Session<" ECHO ">(Inactive)");
	free(d);
	xpc_session_set_target_queue(s, q);
	xpc_session_set_incoming_message_handler(s, ^(xpc_object_t m) {
		/* a block queued on q cannot run now: q is busy with us */
		__block atomic_int ran = 0;
		dispatch_async(q, ^{
			atomic_store(&ran, 1);
		});
		usleep(1000);
		if (!atomic_load(&ran))
			atomic_store(&on_target, 1);
		if (xpc_dictionary_get_string(m, "op") && !strcmp(xpc_dictionary_get_string(m, "op"), "pushed"))
			dispatch_semaphore_signal(pushed);
	});
	watch_session(s, &w);
	CHECK(xpc_session_activate(s, &err));
	CHECK(err == NULL);
	CHECK_STREQ(sync_echo(s, "push", NULL), "push");
	CHECK(session_test_wait(pushed, 10));
	CHECK(atomic_load(&on_target) == 1);
	xpc_session_cancel(s);
	CHECK(session_test_wait(w.sem, 10));
	CHECK(strstr(w.text, "manually") != NULL);
	CHECK(!atomic_load(&w.retry));
	xpc_release(s);
	dispatch_sync(q, ^{
	});
	dispatch_release(q);
	dispatch_release(pushed);
	dispatch_release(w.sem);
}

/* A concurrent target queue: the message handler still never overlaps
 * itself, and the cancel handler comes after its last call. */
static void test_concurrent_target(void)
{
	dispatch_queue_t q = dispatch_queue_create("test.session.concurrent", DISPATCH_QUEUE_CONCURRENT);
	__block atomic_int inside = 0, overlaps = 0, items = 0, after_cancel = 0;
	__block atomic_bool cancelled = false;
	xpc_session_t s = xpc_session_create_mach_service(ECHO, NULL, XPC_SESSION_CREATE_INACTIVE, NULL);
	Watch w;

	REQUIRE(s);
	watch_init(&w);
	xpc_session_set_target_queue(s, q);
	xpc_session_set_incoming_message_handler(s, ^(xpc_object_t m) {
		if (atomic_fetch_add(&inside, 1) != 0)
			atomic_fetch_add(&overlaps, 1);
		usleep(200);
		atomic_fetch_add(&items, 1);
		if (atomic_load(&cancelled))
			atomic_fetch_add(&after_cancel, 1);
		atomic_fetch_sub(&inside, 1);
	});
	xpc_session_set_cancel_handler(s, ^(xpc_rich_error_t e) {
		atomic_store(&cancelled, true);
		dispatch_semaphore_signal(w.sem);
	});
	CHECK(xpc_session_activate(s, NULL));
	CHECK_STREQ(sync_echo(s, "burst", NULL), "burst");
	for (int i = 0; i < 500 && atomic_load(&items) < 50; i++)
		usleep(10000);
	CHECK_EQ_INT(atomic_load(&items), 50);
	CHECK_EQ_INT(atomic_load(&overlaps), 0);
	xpc_session_cancel(s);
	CHECK(session_test_wait(w.sem, 10));
	CHECK_EQ_INT(atomic_load(&after_cancel), 0);
	xpc_release(s);
	dispatch_barrier_sync(q, ^{
	});
	dispatch_release(q);
	dispatch_release(w.sem);
}

/* Clients that leave at once: the peer session may lose its link while the
 * listener is still activating it (a use-after-free under ASan before the
 * link held its own reference). */
static void test_quick_leave(void)
{
	for (int i = 0; i < 100; i++) {
		xpc_session_t s = xpc_session_create_mach_service(ECHO, NULL, 0, NULL);
		REQUIRE(s);
		xpc_session_cancel(s);
		xpc_release(s);
	}
	xpc_session_t s = xpc_session_create_mach_service(ECHO, NULL, 0, NULL);
	REQUIRE(s);
	CHECK_STREQ(sync_echo(s, "still", NULL), "still");
	xpc_session_cancel(s);
	xpc_release(s);
}

static void test_interrupted(void)
{
	xpc_rich_error_t err = NULL;
	Watch w;
	xpc_session_t s;

	watch_init(&w);
	s = xpc_session_create_mach_service(ECHO, NULL, XPC_SESSION_CREATE_INACTIVE, &err);
	REQUIRE(s);
	watch_session(s, &w);
	xpc_session_set_incoming_message_handler(s, ^(xpc_object_t m) {
	});
	CHECK(xpc_session_activate(s, NULL));
	CHECK_STREQ(sync_echo(s, "bye", NULL), "bye"); /* the service then cancels its peer */
	CHECK(session_test_wait(w.sem, 10));
	CHECK(atomic_load(&w.retry));
	CHECK(strstr(w.text, "interrupted") != NULL);
	/* never reconnects */
	CHECK(sync_echo(s, "again", &err) == NULL);
	CHECK(err != NULL);
	xpc_release(err);
	usleep(20000);
	CHECK_EQ_INT(atomic_load(&w.cancels), 1);
	xpc_release(s);
	dispatch_release(w.sem);
}

static void test_client_cancel_ends_peer(void)
{
	int before = atomic_load(&server_cancels);
	xpc_session_t s = xpc_session_create_mach_service(ECHO, NULL, 0, NULL);

	REQUIRE(s);
	CHECK_STREQ(sync_echo(s, "hello", NULL), "hello");
	xpc_session_cancel(s);
	xpc_release(s);
	for (int i = 0; i < 500 && atomic_load(&server_cancels) == before; i++)
		usleep(10000);
	CHECK(atomic_load(&server_cancels) > before);
	CHECK(server_cancel_has("peer exited"));
}

static void test_reject(void)
{
	Watch w;
	xpc_session_t s;

	watch_init(&w);
	atomic_store(&reject_next, 1);
	s = xpc_session_create_mach_service(ECHO, NULL, XPC_SESSION_CREATE_INACTIVE, NULL);
	REQUIRE(s);
	watch_session(s, &w);
	xpc_session_set_incoming_message_handler(s, ^(xpc_object_t m) {
	});
	CHECK(xpc_session_activate(s, NULL));
	CHECK(session_test_wait(w.sem, 10));
	for (int i = 0; i < 500 && !server_cancel_has("rejected"); i++)
		usleep(10000);
	CHECK(server_cancel_has("Peer rejected with reason: go away"));
	xpc_release(s);
	dispatch_release(w.sem);
}

static void test_listener_not_vended(void)
{
	xpc_rich_error_t err = NULL;
	xpc_listener_t l = xpc_listener_create("test.session.not-mine", NULL, 0, ^(xpc_session_t p) {
	}, &err);
	char *d;

	CHECK(l == NULL);
	REQUIRE(err);
	d = xpc_rich_error_copy_description(err);
	CHECK(d && strstr(d, "denied"));
	free(d);
	xpc_release(err);

	l = xpc_listener_create("test.session.not-mine", NULL, XPC_LISTENER_CREATE_INACTIVE, ^(xpc_session_t p) {
	}, &err);
	REQUIRE(l);
	d = xpc_listener_copy_description(l);
	CHECK_STREQ(d, "Listener<test.session.not-mine>(Inactive)");
	free(d);
	CHECK_STREQ(xpc_type_get_name(xpc_get_type(l)), "listener");
	CHECK(!xpc_listener_activate(l, NULL));
	d = xpc_listener_copy_description(l);
	CHECK_STREQ(d, "Listener<test.session.not-mine>(Canceled)");
	free(d);
	xpc_release(l);
}

/* ---- misuse scenarios (each in its own process) ---------------------------------- */

static xpc_session_t misuse_session(xpc_session_create_flags_t flags)
{
	xpc_session_t s;

	start_service();
	s = xpc_session_create_mach_service(ECHO, NULL, flags, NULL);
	REQUIRE(s);
	return s;
}

static int run_misuse(const char *what)
{
	xpc_session_t s;

	if (!strcmp(what, "misuse-handler-active")) {
		xpc_session_set_incoming_message_handler(misuse_session(0), ^(xpc_object_t m) {
		});
	} else if (!strcmp(what, "misuse-cancel-handler-active")) {
		xpc_session_set_cancel_handler(misuse_session(0), ^(xpc_rich_error_t e) {
		});
	} else if (!strcmp(what, "misuse-queue-active")) {
		xpc_session_set_target_queue(misuse_session(0), NULL);
	} else if (!strcmp(what, "misuse-activate-twice")) {
		xpc_session_activate(misuse_session(0), NULL);
	} else if (!strcmp(what, "misuse-send-inactive")) {
		xpc_object_t m = session_test_msg("x");
		xpc_release(xpc_session_send_message(misuse_session(XPC_SESSION_CREATE_INACTIVE), m));
	} else if (!strcmp(what, "misuse-cancel-inactive")) {
		xpc_session_cancel(misuse_session(XPC_SESSION_CREATE_INACTIVE));
	} else if (!strcmp(what, "misuse-release-active")) {
		xpc_release(misuse_session(0));
	} else if (!strcmp(what, "misuse-sync-on-target")) {
		dispatch_queue_t q = dispatch_queue_create("test.session.target", NULL);
		s = misuse_session(XPC_SESSION_CREATE_INACTIVE);
		xpc_session_set_target_queue(s, q);
		xpc_session_set_incoming_message_handler(s, ^(xpc_object_t m) {
		});
		REQUIRE(xpc_session_activate(s, NULL));
		dispatch_sync(q, ^{
			xpc_object_t m = session_test_msg("x");
			xpc_release(xpc_session_send_message_with_reply_sync(s, m, NULL));
		});
	} else if (!strcmp(what, "misuse-sync-in-handler")) {
		dispatch_semaphore_t never = dispatch_semaphore_create(0);
		s = misuse_session(XPC_SESSION_CREATE_INACTIVE);
		xpc_session_set_incoming_message_handler(s, ^(xpc_object_t m) {
			xpc_release(xpc_session_send_message_with_reply_sync(s, m, NULL));
		});
		REQUIRE(xpc_session_activate(s, NULL));
		xpc_object_t m = session_test_msg("push");
		xpc_release(xpc_session_send_message_with_reply_sync(s, m, NULL));
		session_test_wait(never, 20);
	} else if (!strcmp(what, "misuse-peer-unhandled")) {
		session_test_broker_start();
		session_test_vend(ECHO);
		xpc_listener_t l = xpc_listener_create(ECHO, NULL, 0, ^(xpc_session_t p) {
		}, NULL);
		REQUIRE(l);
		s = xpc_session_create_mach_service(ECHO, NULL, 0, NULL);
		xpc_object_t m = session_test_msg("x");
		xpc_release(xpc_session_send_message_with_reply_sync(s, m, NULL));
		sleep(20);
	} else if (!strcmp(what, "misuse-release-listener")) {
		session_test_broker_start();
		session_test_vend(ECHO);
		xpc_release(xpc_listener_create(ECHO, NULL, 0, ^(xpc_session_t p) {
		}, NULL));
	} else if (!strcmp(what, "misuse-both-forced")) {
		xpc_release(xpc_listener_create(ECHO, NULL, XPC_LISTENER_CREATE_FORCE_MACH |
							    XPC_LISTENER_CREATE_FORCE_XPCSERVICE,
						^(xpc_session_t p) {
						}, NULL));
	} else {
		fprintf(stderr, "unknown scenario %s\n", what);
		return 2;
	}
	fprintf(stderr, "%s: no abort\n", what);
	return 0;
}

static void test_misuses(const char *argv0)
{
	static const char *const cases[][2] = {
		{"misuse-handler-active", "Session must be inactive to set the message handler, not Active"},
		{"misuse-cancel-handler-active", "Session must be inactive to set the cancel handler"},
		{"misuse-queue-active", "Session must be inactive to set the target queue"},
		{"misuse-activate-twice", "Attempting to activate an already active session"},
		{"misuse-send-inactive", "neither active or canceled"},
		{"misuse-cancel-inactive", "Attempting to cancel an inactive session"},
		{"misuse-release-active", "Session must be canceled before it's disposed"},
		{"misuse-sync-on-target", "called on the target queue"},
		{"misuse-sync-in-handler", "called on the target queue"},
		{"misuse-peer-unhandled", "without setting a message handler"},
		{"misuse-release-listener", "Listener must be canceled before it's disposed"},
		{"misuse-both-forced", "both a MachService and a XPCService"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK(session_test_misuse(argv0, cases[i][0], cases[i][1]));
}

int main(int argc, char **argv)
{
	if (argc > 1)
		return run_misuse(argv[1]);
	harness_warm_dispatch();
	harness_begin(120);
	start_service();
	test_active_session();
	test_unknown_name();
	test_no_broker();
	test_inactive_configured();
	test_concurrent_target();
	test_quick_leave();
	test_interrupted();
	test_client_cancel_ends_peer();
	test_reject();
	test_listener_not_vended();
	stop_service();
	test_misuses(argv[0]);
	usleep(100000); /* the last links' clean-up is asynchronous */
	return harness_end();
}
