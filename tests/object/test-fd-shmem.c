/* SPDX-License-Identifier: MIT */
/*
 * test-fd-shmem.c - descriptor-carrying objects: fd (dup at creation,
 * close-on-exec, fresh dup each call, identity equality, copy is a new
 * object, no leaks), shmem (caller's writes visible through every mapping,
 * two mappings see the same bytes, page-multiple length, failures), and
 * endpoint objects (equality by open file, internal borrow accessors).
 * harness_end() fails if any descriptor leaked.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "object-test.h"

static void test_fd(void)
{
	int p[2], fd, fd2;
	xpc_object_t x, c;
	char buf[4] = {0};

	REQUIRE(pipe2(p, O_CLOEXEC) == 0);
	x = xpc_fd_create(p[1]);
	REQUIRE(x);
	CHECK(xpc_get_type(x) == XPC_TYPE_FD);
	CHECK(fd_object_borrow(x) >= 0 && fd_object_borrow(x) != p[1]);
	CHECK(fcntl(fd_object_borrow(x), F_GETFD) & FD_CLOEXEC);
	close(p[1]); /* the object holds its own duplicate */
	fd = xpc_fd_dup(x);
	fd2 = xpc_fd_dup(x);
	CHECK(fd >= 0 && fd2 >= 0 && fd != fd2 && fd != fd_object_borrow(x));
	CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	CHECK(write(fd, "ok", 2) == 2);
	CHECK(read(p[0], buf, 2) == 2 && memcmp(buf, "ok", 2) == 0);
	close(fd);
	close(fd2);
	c = xpc_copy(x);
	REQUIRE(c);
	CHECK(c != x && xpc_get_type(c) == XPC_TYPE_FD);
	CHECK(!xpc_equal(c, x)); /* identity only */
	CHECK(xpc_equal(x, x));
	CHECK(xpc_hash(x) == xpc_hash(x) && xpc_hash(x) != xpc_hash(c));
	xpc_release(c);
	xpc_release(x);
	CHECK(xpc_fd_create(-1) == NULL);
	CHECK(xpc_fd_create(100000) == NULL);
	CHECK_EQ_INT(xpc_fd_dup(NULL), -1);
	CHECK_EQ_INT(xpc_fd_dup(XPC_BOOL_TRUE), -1);
	CHECK_EQ_INT(fd_object_borrow(XPC_BOOL_TRUE), -1);
	close(p[0]);
}

static void test_shmem(void)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), len = page + 100, n1, n2;
	void *region = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	void *m1 = NULL, *m2 = NULL;
	xpc_object_t s;
	char *r;

	REQUIRE(region != MAP_FAILED);
	r = region;
	memcpy(r, "before", 7);
	r[page + 50] = 'T';
	s = xpc_shmem_create(region, len);
	REQUIRE(s);
	CHECK(xpc_get_type(s) == XPC_TYPE_SHMEM);
	CHECK_EQ_INT(shmem_object_get_size(s), len);
	CHECK(shmem_object_borrow_fd(s) >= 0);
	CHECK(fcntl(shmem_object_borrow_fd(s), F_GETFD) & FD_CLOEXEC);
	CHECK(memcmp(r, "before", 7) == 0); /* contents kept */
	n1 = xpc_shmem_map(s, &m1);
	n2 = xpc_shmem_map(s, &m2);
	REQUIRE(m1 && m2);
	CHECK_EQ_INT(n1, 2 * page);
	CHECK_EQ_INT(n2, 2 * page);
	CHECK(m1 != m2);
	CHECK(memcmp(m1, "before", 7) == 0);
	CHECK(((char *)m2)[page + 50] == 'T');
	memcpy(r, "after", 6); /* the caller's writes are visible */
	CHECK(memcmp(m1, "after", 6) == 0 && memcmp(m2, "after", 6) == 0);
	((char *)m1)[10] = 'Z'; /* and the mappings share with each other */
	CHECK(((char *)m2)[10] == 'Z' && r[10] == 'Z');
	xpc_release(s); /* mappings outlive the object */
	CHECK(((char *)m2)[10] == 'Z');
	munmap(m1, n1);
	munmap(m2, n2);
	munmap(region, 2 * page);

	CHECK(xpc_shmem_create(NULL, 10) == NULL);
	CHECK(xpc_shmem_create(region, 0) == NULL);
	{
		/* unreadable region: fails cleanly and leaves the mapping alone */
		void *none = mmap(NULL, page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		REQUIRE(none != MAP_FAILED);
		CHECK(xpc_shmem_create(none, page) == NULL);
		munmap(none, page);
	}
	CHECK(xpc_shmem_create((char *)region + 1, 10) == NULL); /* not page aligned */
	CHECK_EQ_INT(xpc_shmem_map(XPC_BOOL_TRUE, &m1), 0);
	CHECK(m1 == NULL);
	CHECK_EQ_INT(shmem_object_get_size(NULL), 0);
	CHECK_EQ_INT(shmem_object_borrow_fd(NULL), -1);
}

static void test_shmem_consume(void)
{
	int fd = memfd_create("t", MFD_CLOEXEC);
	xpc_object_t s;
	void *m = NULL;
	size_t n;

	REQUIRE(fd >= 0);
	REQUIRE(ftruncate(fd, 10) == 0);
	REQUIRE(pwrite(fd, "0123456789", 10, 0) == 10);
	s = shmem_object_create_consume(fd, 10);
	REQUIRE(s);
	{
		char *desc = xpc_copy_description(s);

		CHECK(desc && strstr(desc, "<shmem: 0x") == desc && strstr(desc, "length = 10 }"));
		free(desc);
	}
	n = xpc_shmem_map(s, &m);
	CHECK(n == (size_t)sysconf(_SC_PAGESIZE) && m);
	if (m) {
		CHECK(memcmp(m, "0123456789", 10) == 0);
		munmap(m, n);
	}
	xpc_release(s); /* closes fd */
}

static void test_endpoint(void)
{
	int sv[2], dup_fd;
	xpc_object_t a, b, c;

	REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
	dup_fd = fcntl(sv[0], F_DUPFD_CLOEXEC, 0);
	a = endpoint_object_create_consume(sv[0]);
	b = endpoint_object_create_consume(dup_fd);
	c = endpoint_object_create_consume(sv[1]);
	REQUIRE(a && b && c);
	CHECK(xpc_get_type(a) == XPC_TYPE_ENDPOINT);
	CHECK_STREQ(xpc_type_get_name(xpc_get_type(a)), "endpoint");
	CHECK(endpoint_object_borrow_fd(a) == sv[0]);
	CHECK(endpoint_object_borrow_fd(XPC_BOOL_TRUE) == -1);
	CHECK(xpc_equal(a, b) && xpc_hash(a) == xpc_hash(b));
	CHECK(!xpc_equal(a, c));
	CHECK(xpc_copy(a) == a);
	xpc_release(a);
	CHECK(object_is_descriptor_type(XPC_TYPE_ENDPOINT) && object_is_descriptor_type(XPC_TYPE_FD) &&
	      object_is_descriptor_type(XPC_TYPE_SHMEM) && !object_is_descriptor_type(XPC_TYPE_DATA));
	xpc_release(a);
	xpc_release(b);
	xpc_release(c);
	CHECK(endpoint_object_create_consume(-1) == NULL);
	CHECK(fd_object_create_consume(-1) == NULL);
}

static void test_in_containers(void)
{
	xpc_object_t d = xpc_dictionary_create_empty(), a = xpc_array_create_empty(), c;
	int before = harness_count_fds();

	REQUIRE(d && a);
	for (int i = 0; i < 20; i++) {
		xpc_dictionary_set_fd(d, "fd", 0); /* replacing closes the old dup */
		xpc_array_set_fd(a, XPC_ARRAY_APPEND, 0);
	}
	CHECK_EQ_INT(harness_count_fds(), before + 21);
	xpc_dictionary_set_value(d, "array", a);
	c = xpc_copy(d); /* deep: 21 new duplicates */
	REQUIRE(c);
	CHECK_EQ_INT(harness_count_fds(), before + 42);
	CHECK(!xpc_equal(c, d)); /* fd objects are only equal to themselves */
	xpc_release(c);
	xpc_release(a);
	xpc_release(d);
	CHECK_EQ_INT(harness_count_fds(), before);
}

int main(void)
{
	harness_begin(60);
	test_fd();
	test_shmem();
	test_shmem_consume();
	test_endpoint();
	test_in_containers();
	return harness_end();
}
