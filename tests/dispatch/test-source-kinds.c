/* SPDX-License-Identifier: MIT */
/*
 * test-source-kinds.c - DATA_ADD/OR/REPLACE sources (merges coalesce into
 * one event while one is pending, merging 0 does nothing, merges before
 * activation are delivered on activation), PROC sources (DISPATCH_PROC_EXIT
 * of a forked child, a missing pid refused) and VNODE sources (WRITE,
 * EXTEND, ATTRIB, LINK, RENAME, DELETE of a temporary file), each cancelled
 * with no descriptor left behind.
 */
#include "harness.h"

#include <dispatch/dispatch.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SEC(n) dispatch_time(DISPATCH_TIME_NOW, (int64_t)(n) * (int64_t)NSEC_PER_SEC)

static void cancel_and_release(dispatch_source_t s, dispatch_queue_t q)
{
	dispatch_source_cancel(s);
	dispatch_barrier_sync(q, ^{
	});
	dispatch_release(s);
}

static void test_data_add(void)
{
	dispatch_queue_t q = dispatch_queue_create("t.add", NULL);
	dispatch_source_t s = dispatch_source_create(DISPATCH_SOURCE_TYPE_DATA_ADD, 0, 0, q);
	dispatch_semaphore_t got = dispatch_semaphore_create(0);
	__block uintptr_t total = 0;
	__block int events = 0;

	REQUIRE(s != NULL);
	dispatch_source_set_event_handler(s, ^{
		total += dispatch_source_get_data(s);
		events++;
		dispatch_semaphore_signal(got);
	});
	dispatch_source_merge_data(s, 7); /* before activation: kept */
	dispatch_suspend(q);              /* the merges below coalesce */
	dispatch_activate(s);
	for (uintptr_t i = 1; i <= 100; i++)
		dispatch_source_merge_data(s, i);
	dispatch_source_merge_data(s, 0);
	dispatch_resume(q);
	CHECK_EQ_INT(dispatch_semaphore_wait(got, SEC(10)), 0);
	dispatch_sync(q, ^{
		CHECK_EQ_INT(total, 5057);
		CHECK_EQ_INT(events, 1);
	});
	dispatch_source_merge_data(s, 0); /* nothing */
	dispatch_source_merge_data(s, 3);
	CHECK_EQ_INT(dispatch_semaphore_wait(got, SEC(10)), 0);
	dispatch_sync(q, ^{
		CHECK_EQ_INT(total, 5060);
		CHECK_EQ_INT(events, 2);
	});
	cancel_and_release(s, q);
	dispatch_release(got);
	dispatch_release(q);
}

/* OR and REPLACE, coalesced while the handler's queue is suspended. */
static void test_data_or_replace(void)
{
	dispatch_queue_t q = dispatch_queue_create("t.or", NULL);
	dispatch_source_t o = dispatch_source_create(DISPATCH_SOURCE_TYPE_DATA_OR, 0, 0, q);
	dispatch_source_t r = dispatch_source_create(DISPATCH_SOURCE_TYPE_DATA_REPLACE, 0, 0, q);
	dispatch_group_t g = dispatch_group_create();
	__block uintptr_t ov = 0, rv = 0;

	dispatch_source_set_event_handler(o, ^{
		ov = dispatch_source_get_data(o);
		dispatch_group_leave(g);
	});
	dispatch_source_set_event_handler(r, ^{
		rv = dispatch_source_get_data(r);
		dispatch_group_leave(g);
	});
	dispatch_activate(o);
	dispatch_activate(r);
	dispatch_suspend(q);
	dispatch_group_enter(g);
	dispatch_group_enter(g);
	dispatch_source_merge_data(o, 0x1);
	dispatch_source_merge_data(o, 0x4);
	dispatch_source_merge_data(o, 0x10);
	dispatch_source_merge_data(r, 5);
	dispatch_source_merge_data(r, 9);
	dispatch_source_merge_data(r, 0); /* does not replace */
	dispatch_resume(q);
	CHECK_EQ_INT(dispatch_group_wait(g, SEC(10)), 0);
	CHECK_EQ_INT(ov, 0x15);
	CHECK_EQ_INT(rv, 9);
	cancel_and_release(o, q);
	cancel_and_release(r, q);
	dispatch_release(g);
	dispatch_release(q);
}

static void test_proc_exit(void)
{
	dispatch_queue_t q = dispatch_queue_create("t.proc", NULL);
	dispatch_semaphore_t got = dispatch_semaphore_create(0);
	int go[2];
	pid_t pid;
	__block uintptr_t data = 0;

	REQUIRE(pipe2(go, O_CLOEXEC) == 0);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		char c;
		ssize_t n = read(go[0], &c, 1);
		_exit(n == 1 ? 3 : 4);
	}
	close(go[0]);
	CHECK(dispatch_source_create(DISPATCH_SOURCE_TYPE_PROC, 0, DISPATCH_PROC_EXIT, q) == NULL);
	CHECK(dispatch_source_create(DISPATCH_SOURCE_TYPE_PROC, (uintptr_t)pid, 0x1, q) == NULL);
	dispatch_source_t s = dispatch_source_create(DISPATCH_SOURCE_TYPE_PROC, (uintptr_t)pid,
						     DISPATCH_PROC_EXIT | DISPATCH_PROC_EXEC, q);
	REQUIRE(s != NULL);
	CHECK_EQ_INT(dispatch_source_get_handle(s), pid);
	dispatch_source_set_event_handler(s, ^{
		data = dispatch_source_get_data(s);
		dispatch_semaphore_signal(got);
	});
	dispatch_activate(s);
	CHECK_EQ_INT(write(go[1], "x", 1), 1);
	CHECK_EQ_INT(dispatch_semaphore_wait(got, SEC(10)), 0);
	dispatch_sync(q, ^{
		CHECK_EQ_INT(data, DISPATCH_PROC_EXIT);
	});
	/* the exit is reported once, even across suspend/resume */
	dispatch_suspend(s);
	dispatch_resume(s);
	CHECK(dispatch_semaphore_wait(got, dispatch_time(DISPATCH_TIME_NOW, 100 * NSEC_PER_MSEC)) != 0);
	int status = harness_wait_pid(pid, 10);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 3);
	cancel_and_release(s, q);
	close(go[1]);
	dispatch_release(got);
	dispatch_release(q);
}

/* Waits until the VNODE handler has seen every flag of @want. */
static int wait_flags(atomic_ulong *seen, unsigned long want)
{
	for (int i = 0; i < 5000; i++) {
		if ((atomic_load(seen) & want) == want)
			return 1;
		usleep(2000);
	}
	fprintf(stderr, "vnode flags seen %#lx, want %#lx\n", atomic_load(seen), want);
	return 0;
}

static void test_vnode(void)
{
	char dir[] = "/tmp/test-vnode-XXXXXX", path[64], path2[64], path3[64];
	dispatch_queue_t q = dispatch_queue_create("t.vnode", NULL);
	static atomic_ulong seen;
	int fd;

	REQUIRE(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/a", dir);
	snprintf(path2, sizeof(path2), "%s/b", dir);
	snprintf(path3, sizeof(path3), "%s/c", dir);
	fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	REQUIRE(fd >= 0);
	dispatch_source_t s = dispatch_source_create(
		DISPATCH_SOURCE_TYPE_VNODE, (uintptr_t)fd,
		DISPATCH_VNODE_WRITE | DISPATCH_VNODE_EXTEND | DISPATCH_VNODE_ATTRIB | DISPATCH_VNODE_LINK |
			DISPATCH_VNODE_RENAME | DISPATCH_VNODE_DELETE | DISPATCH_VNODE_REVOKE,
		q);
	REQUIRE(s != NULL);
	CHECK(dispatch_source_create(DISPATCH_SOURCE_TYPE_VNODE, 999999, DISPATCH_VNODE_WRITE, q) == NULL);
	dispatch_source_set_event_handler(s, ^{
		atomic_fetch_or(&seen, dispatch_source_get_data(s));
	});
	dispatch_activate(s);
	CHECK_EQ_INT(write(fd, "hello", 5), 5);
	CHECK(wait_flags(&seen, DISPATCH_VNODE_WRITE | DISPATCH_VNODE_EXTEND));
	atomic_store(&seen, 0);
	CHECK_EQ_INT(fchmod(fd, 0640), 0);
	CHECK(wait_flags(&seen, DISPATCH_VNODE_ATTRIB));
	atomic_store(&seen, 0);
	CHECK_EQ_INT(link(path, path3), 0);
	CHECK(wait_flags(&seen, DISPATCH_VNODE_LINK));
	CHECK_EQ_INT(unlink(path3), 0);
	atomic_store(&seen, 0);
	CHECK_EQ_INT(rename(path, path2), 0);
	CHECK(wait_flags(&seen, DISPATCH_VNODE_RENAME));
	atomic_store(&seen, 0);
	CHECK_EQ_INT(unlink(path2), 0);
	CHECK(wait_flags(&seen, DISPATCH_VNODE_DELETE));
	cancel_and_release(s, q);
	close(fd);
	rmdir(dir);
	dispatch_release(q);
}

int main(void)
{
	harness_warm_dispatch();
	harness_begin(60);
	test_data_add();
	test_data_or_replace();
	test_proc_exit();
	test_vnode();
	return harness_end();
}
