/* SPDX-License-Identifier: MIT */
/*
 * test-sec-env - the variables libxpc reads, in a set-uid root program run
 * by an ordinary user (docs/security.md, "Variables of a privileged
 * process").
 *
 * A set-uid root copy of sec-privileged, run by nobody with
 * XPC_TRACE=1 and XPC_CAPTURE=DIR/cap (DIR nobody's), reads a file only
 * root may read and sends its text to a listener of its own.  Nothing of
 * the text may reach nobody: not on the program's stdout or stderr (the
 * trace), not in a capture file.  Before the fix XPC_TRACE was read with
 * getenv and the trace printed the message, secret and all, on the
 * stderr nobody reads.  The same program run by root without the set-uid
 * bit does trace (the check has teeth).
 *
 * Then root runs it (not set-uid) with XPC_CAPTURE naming a file nobody
 * made in its own directory (mode 0666, so that nobody reads what lands
 * there): the capture is refused; before the fix root appended its
 * frames, the secret among them, to nobody's file.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define SECRET "S3CRET-of-root-7d1f"

static char dir[64];

/* Runs @argv (as @u unless @as_root) with @env added, stdout and stderr
 * together into @out. */
static void run(bool as_root, struct harness_user u, char *const argv[], char *out, size_t size)
{
	int p[2];
	size_t n = 0;
	pid_t pid;

	REQUIRE(pipe2(p, O_CLOEXEC) == 0);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		if (!as_root)
			harness_become(u);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		struct pollfd pfd = {p[0], POLLIN, 0};
		ssize_t r;
		if (poll(&pfd, 1, 20000) != 1 || (r = read(p[0], out + n, size - 1 - n)) <= 0)
			break;
		n += (size_t)r;
		if (n == size - 1)
			break;
	}
	out[n] = '\0';
	close(p[0]);
	CHECK(harness_wait_pid(pid, 20) == 0);
}

/* Runs @cmd (sh -c) as @u; its exit status. */
static int as_user(struct harness_user u, const char *cmd)
{
	pid_t pid = fork();
	int status = -1;

	REQUIRE(pid >= 0);
	if (pid == 0) {
		harness_become(u);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	REQUIRE(waitpid(pid, &status, 0) == pid);
	return status;
}

/* Whether any file in DIR/cap holds anything. */
static bool captured(void)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "%s/cap/trace", dir);
	return stat(path, &st) == 0;
}

int main(int argc, char **argv)
{
	struct harness_user nobody = harness_unprivileged_user(0);
	char prog[128], secret[128], cap[128], cmd[600], out[65536];

	harness_require_root();
	harness_begin(60);
	snprintf(dir, sizeof(dir), "/tmp/xpc-sec-env.XXXXXX");
	REQUIRE(mkdtemp(dir) && chmod(dir, 0755) == 0);
	snprintf(prog, sizeof(prog), "%s/sec-privileged", dir);
	snprintf(secret, sizeof(secret), "%s/secret", dir);
	snprintf(cap, sizeof(cap), "%s/cap", dir);
	snprintf(cmd, sizeof(cmd), "cp %s %s && chown 0:0 %s && chmod 4755 %s && echo %s > %s && chmod 0600 %s",
		 harness_sibling(argv[0], "sec-privileged"), prog, prog, prog, SECRET, secret, secret);
	REQUIRE(system(cmd) == 0);
	REQUIRE(mkdir(cap, 0777) == 0 && chmod(cap, 0777) == 0);
	(void)argc;

	char capture[160];
	snprintf(capture, sizeof(capture), "%s/trace", cap);
	setenv("XPC_TRACE", "1", 1);
	setenv("XPC_CAPTURE", capture, 1);
	char *args[] = {prog, "secret", secret, NULL};

	/* root, not set-uid: traced and captured (what the variables do) */
	char plain[160];
	snprintf(plain, sizeof(plain), "%s/sec-privileged-plain", dir);
	snprintf(cmd, sizeof(cmd), "cp %s %s", harness_sibling(argv[0], "sec-privileged"), plain);
	REQUIRE(system(cmd) == 0);
	char *pargs[] = {plain, "secret", secret, NULL};
	run(true, nobody, pargs, out, sizeof(out));
	CHECK(strstr(out, "done euid=0") != NULL);
	CHECK(strstr(out, SECRET) != NULL);
	CHECK(captured());
	snprintf(cmd, sizeof(cmd), "rm -f %s/*", cap);
	REQUIRE(system(cmd) == 0);

	/* nobody runs the set-uid copy */
	run(false, nobody, args, out, sizeof(out));
	fprintf(stderr, "set-uid program run by nobody: %s; secret on its stdout/stderr: %s; capture file: %s\n",
		strstr(out, "done euid=0") ? "ran as euid 0" : "did not run", strstr(out, SECRET) ? "YES" : "no",
		captured() ? "YES" : "no");
	CHECK(strstr(out, "done euid=0") != NULL);
	CHECK(strstr(out, SECRET) == NULL);
	CHECK(!captured());

	/* root's capture into a file of nobody's */
	char nobodys[160];
	snprintf(nobodys, sizeof(nobodys), "%s/nobody", dir);
	REQUIRE(mkdir(nobodys, 0755) == 0 && chown(nobodys, nobody.uid, nobody.gid) == 0);
	snprintf(capture, sizeof(capture), "%s/nobody/cap", dir);
	snprintf(cmd, sizeof(cmd), "touch %s && chmod 0666 %s", capture, capture);
	REQUIRE(as_user(nobody, cmd) == 0);
	unsetenv("XPC_TRACE");
	setenv("XPC_CAPTURE", capture, 1);
	run(true, nobody, pargs, out, sizeof(out));
	struct stat st;
	CHECK(stat(capture, &st) == 0);
	fprintf(stderr, "root's capture into nobody's file: %lld bytes written\n", (long long)st.st_size);
	CHECK(strstr(out, "done euid=0") != NULL);
	CHECK(st.st_size == 0);
	CHECK(strstr(out, "not capturing") != NULL);

	unsetenv("XPC_TRACE");
	unsetenv("XPC_CAPTURE");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	REQUIRE(system(cmd) == 0);
	return harness_end();
}
