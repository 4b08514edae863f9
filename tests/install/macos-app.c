/* SPDX-License-Identifier: MIT */
/*
 * macos-app.c - the client side of tests/install, written as on macOS: only
 * <xpc/xpc.h>, <dispatch/dispatch.h> and libc, no Linux extension.  It talks
 * to com.example.service (an xpc_main service) and com.example.daemon (a
 * launchd-style listener), both started on demand by the broker named by
 * XPCD_SOCKET, and uses the usual GCD idioms on the way.  Each step prints
 * one line that test-install.sh checks; the program exits 0 from the main
 * queue when a dispatch group of all steps is empty.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <dispatch/dispatch.h>
#include <xpc/xpc.h>

static void fail(const char *what)
{
	printf("app: FAILED: %s\n", what);
	fflush(stdout);
	exit(1);
}

/* The app's work queue, made once: serial, utility QoS. */
static dispatch_queue_t work_queue(void)
{
	static dispatch_queue_t queue;
	static dispatch_once_t once;

	dispatch_once(&once, ^{
		dispatch_queue_attr_t attr =
			dispatch_queue_attr_make_with_qos_class(DISPATCH_QUEUE_SERIAL, QOS_CLASS_UTILITY, -1);
		queue = dispatch_queue_create("com.example.app.work", attr);
	});
	return queue;
}

static xpc_object_t request(const char *op)
{
	xpc_object_t msg = xpc_dictionary_create(NULL, NULL, 0);

	xpc_dictionary_set_string(msg, "op", op);
	return msg;
}

/* Async reply on a custom queue, waited for with a semaphore. */
static void step_sum(xpc_connection_t conn)
{
	xpc_object_t msg = request("sum");
	xpc_object_t values = xpc_array_create(NULL, 0);
	dispatch_semaphore_t sem = dispatch_semaphore_create(0);
	__block int64_t sum = -1;

	for (int64_t v = 1; v <= 10; v++)
		xpc_array_set_int64(values, XPC_ARRAY_APPEND, v);
	xpc_dictionary_set_value(msg, "values", values);
	xpc_connection_send_message_with_reply(conn, msg, work_queue(), ^(xpc_object_t reply) {
		if (xpc_get_type(reply) == XPC_TYPE_DICTIONARY)
			sum = xpc_dictionary_get_int64(reply, "sum");
		dispatch_semaphore_signal(sem);
	});
	if (dispatch_semaphore_wait(sem, dispatch_time(DISPATCH_TIME_NOW, 5 * NSEC_PER_SEC)) != 0)
		fail("no reply to sum");
	printf("app: sum 1..10 = %lld\n", (long long)sum);
	xpc_release(values);
	xpc_release(msg);
	dispatch_release(sem);
}

/* A descriptor travels to the service, which reads the file through it. */
static void step_fd(xpc_connection_t conn)
{
	char path[] = "/tmp/macos-app.XXXXXX";
	int fd = mkstemp(path);
	xpc_object_t msg = request("fd");

	if (fd < 0 || write(fd, "written before sending", 22) != 22)
		fail("mkstemp");
	unlink(path);
	xpc_object_t xfd = xpc_fd_create(fd);
	close(fd);
	int again = xpc_fd_dup(xfd);
	if (again < 0)
		fail("xpc_fd_dup");
	close(again);
	xpc_dictionary_set_value(msg, "fd", xfd);
	xpc_object_t reply = xpc_connection_send_message_with_reply_sync(conn, msg);
	printf("app: service read through the fd: \"%s\"\n", xpc_dictionary_get_string(reply, "text"));
	xpc_release(reply);
	xpc_release(xfd);
	xpc_release(msg);
}

/* Shared memory: the service writes, the app sees it without a copy. */
static void step_shmem(xpc_connection_t conn)
{
	size_t size = 4096;
	char *region = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANON, -1, 0);
	xpc_object_t msg = request("shmem");

	if (region == MAP_FAILED)
		fail("mmap");
	strcpy(region, "shared memory");
	xpc_object_t shmem = xpc_shmem_create(region, size);
	xpc_dictionary_set_value(msg, "shmem", shmem);
	xpc_object_t reply = xpc_connection_send_message_with_reply_sync(conn, msg);
	printf("app: service mapped %llu bytes, region now \"%s\"\n",
	       (unsigned long long)xpc_dictionary_get_uint64(reply, "mapped"), region);
	xpc_release(reply);
	xpc_release(shmem);
	xpc_release(msg);
	munmap(region, size);
}

static void step_keys(xpc_connection_t conn)
{
	xpc_object_t msg = request("keys");
	uuid_t uuid = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

	xpc_dictionary_set_bool(msg, "flag", true);
	xpc_dictionary_set_double(msg, "ratio", 0.5);
	xpc_dictionary_set_uuid(msg, "id", uuid);
	xpc_dictionary_set_date(msg, "when", 0);
	xpc_dictionary_set_data(msg, "blob", "abc", 3);
	char *desc = xpc_copy_description(msg);
	printf("app: request %s\n", desc);
	free(desc);
	xpc_object_t reply = xpc_connection_send_message_with_reply_sync(conn, msg);
	printf("app: service counted %llu keys besides op\n",
	       (unsigned long long)xpc_dictionary_get_uint64(reply, "keys"));
	xpc_release(reply);
	xpc_release(msg);
}

/* A late reply (sent from another queue of the service) joins a group. */
static void step_slow(xpc_connection_t conn, dispatch_group_t group)
{
	xpc_object_t msg = request("slow");
	dispatch_queue_t q = dispatch_get_global_queue(DISPATCH_QUEUE_PRIORITY_DEFAULT, 0);

	dispatch_group_enter(group);
	xpc_connection_send_message_with_reply(conn, msg, q, ^(xpc_object_t reply) {
		printf("app: late reply: %s\n", xpc_dictionary_get_string(reply, "late"));
		dispatch_group_leave(group);
	});
	xpc_release(msg);
	dispatch_group_enter(group);
	xpc_connection_send_barrier(conn, ^{
		printf("app: barrier ran\n");
		dispatch_group_leave(group);
	});
}

static void step_daemon(dispatch_group_t group)
{
	xpc_connection_t daemon = xpc_connection_create_mach_service(
		"com.example.daemon", NULL, XPC_CONNECTION_MACH_SERVICE_PRIVILEGED);
	xpc_object_t msg = xpc_dictionary_create(NULL, NULL, 0);

	xpc_connection_set_event_handler(daemon, ^(xpc_object_t event) {
		if (event == XPC_ERROR_CONNECTION_INVALID) {
			printf("app: daemon connection: %s\n",
			       xpc_dictionary_get_string(event, XPC_ERROR_KEY_DESCRIPTION));
			dispatch_group_leave(group);
		}
	});
	dispatch_group_enter(group);
	xpc_connection_resume(daemon);
	xpc_dictionary_set_string(msg, "name", "app");
	dispatch_group_enter(group);
	xpc_connection_send_message_with_reply(daemon, msg, dispatch_get_main_queue(), ^(xpc_object_t reply) {
		printf("app: daemon says \"%s\" (euid ok: %s)\n", xpc_dictionary_get_string(reply, "greeting"),
		       xpc_dictionary_get_int64(reply, "euid") == (int64_t)geteuid() ? "yes" : "no");
		xpc_connection_cancel(daemon);
		xpc_release(daemon);
		dispatch_group_leave(group);
	});
	xpc_release(msg);
}

/* A repeating timer that cancels itself after three fires. */
static void step_timer(dispatch_group_t group)
{
	dispatch_source_t timer = dispatch_source_create(DISPATCH_SOURCE_TYPE_TIMER, 0, 0, work_queue());
	__block int fires = 0;

	dispatch_group_enter(group);
	dispatch_source_set_timer(timer, dispatch_time(DISPATCH_TIME_NOW, 10 * NSEC_PER_MSEC),
				  10 * NSEC_PER_MSEC, NSEC_PER_MSEC);
	dispatch_source_set_event_handler(timer, ^{
		if (++fires == 3)
			dispatch_source_cancel(timer);
	});
	dispatch_source_set_cancel_handler(timer, ^{
		printf("app: timer fired %d times, then cancelled\n", fires);
		dispatch_release(timer);
		dispatch_group_leave(group);
	});
	dispatch_resume(timer);
}

static void step_signal(dispatch_group_t group)
{
	dispatch_source_t sig;

	signal(SIGUSR1, SIG_IGN);
	sig = dispatch_source_create(DISPATCH_SOURCE_TYPE_SIGNAL, SIGUSR1, 0, dispatch_get_main_queue());
	dispatch_group_enter(group);
	dispatch_source_set_event_handler(sig, ^{
		printf("app: SIGUSR1 delivered to a dispatch source\n");
		dispatch_source_cancel(sig);
		dispatch_release(sig);
		dispatch_group_leave(group);
	});
	dispatch_resume(sig);
	dispatch_after(dispatch_time(DISPATCH_TIME_NOW, 20 * NSEC_PER_MSEC), work_queue(), ^{
		kill(getpid(), SIGUSR1);
	});
}

int main(void)
{
	dispatch_group_t group = dispatch_group_create();
	xpc_connection_t conn = xpc_connection_create_mach_service("com.example.service", NULL, 0);

	xpc_connection_set_target_queue(conn, work_queue());
	xpc_connection_set_event_handler(conn, ^(xpc_object_t event) {
		if (xpc_get_type(event) == XPC_TYPE_ERROR) {
			printf("app: service connection: %s\n",
			       xpc_dictionary_get_string(event, XPC_ERROR_KEY_DESCRIPTION));
			if (event == XPC_ERROR_CONNECTION_INVALID)
				dispatch_group_leave(group);
		}
	});
	dispatch_group_enter(group);
	xpc_connection_resume(conn);

	step_sum(conn);
	printf("app: service is another process: %s\n",
	       xpc_connection_get_pid(conn) > 0 && xpc_connection_get_pid(conn) != getpid() ? "yes" : "no");
	step_fd(conn);
	step_shmem(conn);
	step_keys(conn);
	step_slow(conn, group);
	step_daemon(group);
	step_timer(group);
	step_signal(group);

	dispatch_after(dispatch_time(DISPATCH_TIME_NOW, 200 * NSEC_PER_MSEC), dispatch_get_main_queue(), ^{
		xpc_connection_cancel(conn);
	});
	dispatch_group_notify(group, dispatch_get_main_queue(), ^{
		printf("app: done\n");
		fflush(stdout);
		exit(0);
	});
	dispatch_main();
}
