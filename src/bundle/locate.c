/* SPDX-License-Identifier: MIT */
/*
 * locate.c - finding a bundled XPC service of the running program and
 * reading its Info.plist (docs/bundled-services.md).
 *
 * Trust: the search starts only from this program's own executable
 * (readlink /proc/self/exe), never from the environment, and nothing is
 * done in secure execution (set-uid, set-gid, file capabilities).  From
 * the services directory down, every component is opened relative to the
 * one before with O_NOFOLLOW (a symbolic link inside is refused) and must
 * be owned by root or this process's effective user and writable by
 * neither group nor others; the executable is then started through the
 * descriptor that was checked (execveat, spawn.c), so it cannot be
 * swapped between the check and the exec.
 *
 * The service's name is the CFBundleIdentifier of its Info.plist (the
 * directory name without ".xpc" when it has none): NAME.xpc is tried
 * first, then up to BUNDLE_MAX_SCAN *.xpc directories are read for that
 * identifier, as Apple's bundles are often named after the product.
 *
 * libplist is loaded when the first Info.plist is read (plist-lazy.h), so
 * a program without bundled services never maps it.
 */
#include "bundle/bundle.h"
#include "bundle/plist-lazy.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

static int locate_fail(char *why, size_t size, int err, const char *fmt, ...)
	__attribute__((__format__(__printf__, 4, 5)));
static int locate_fail(char *why, size_t size, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, size, fmt, ap);
	va_end(ap);
	return -err;
}

/* Owned by root or us, writable by neither group nor others. */
static bool locate_trusted(const struct stat *st)
{
	return (st->st_uid == 0 || st->st_uid == geteuid()) && !(st->st_mode & (S_IWGRP | S_IWOTH));
}

/* Opens @name under @dirfd (O_NOFOLLOW) and checks it.  @flags: O_PATH |
 * O_DIRECTORY for a directory.  Return: the descriptor, -ENOENT when
 * absent, another negative errno with @why set. */
static int locate_open(int dirfd, const char *name, int flags, mode_t type, const char *where, char *why,
		       size_t size)
{
	struct stat st;
	int fd = openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT)
		return -ENOENT;
	if (fd < 0)
		return locate_fail(why, size, errno, "%s/%s: %s", where, name, strerror(errno));
	if (fstat(fd, &st) < 0 || (st.st_mode & S_IFMT) != type) {
		close(fd);
		return locate_fail(why, size, EINVAL, "%s/%s: not a %s", where, name,
				   type == S_IFDIR ? "directory" : "regular file");
	}
	if (!locate_trusted(&st)) {
		close(fd);
		return locate_fail(why, size, EPERM,
				   "%s/%s: owned by uid %u with mode %04o (must be root's or this user's, and "
				   "not writable by group or others)",
				   where, name, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
	}
	return fd;
}

/* ---- where the services directory is ------------------------------------------- */

static int locate_services_dir(char *ret, size_t size)
{
	char exe[PATH_MAX], *slash, *prog;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	size_t len;

	if (n <= 0)
		return -1;
	exe[n] = 0;
	if (!(slash = strrchr(exe, '/')))
		return -1;
	*slash = 0;
	prog = slash + 1;
	len = strlen(exe);
	/* APP.app/Contents/MacOS/PROGRAM */
	if (len >= 15 && !strcmp(exe + len - 15, "/Contents/MacOS")) {
		exe[len - 6] = 0;
		return snprintf(ret, size, "%s/XPCServices", exe) < (int)size ? 0 : -1;
	}
	/* PREFIX/bin/PROGRAM -> PREFIX/lib/PROGRAM/XPCServices */
	if ((slash = strrchr(exe, '/')))
		*slash = 0;
	return snprintf(ret, size, "%s/lib/%s/XPCServices", slash ? exe : "", prog) < (int)size ? 0 : -1;
}

/* ---- Info.plist ------------------------------------------------------------------- */

static plist_t locate_read_plist(int contents, const char *where, char *why, size_t size)
{
	int fd = locate_open(contents, "Info.plist", O_RDONLY, S_IFREG, where, why, size);
	struct stat st;
	plist_t root = NULL;
	char *buf;

	if (fd < 0) {
		if (fd == -ENOENT)
			locate_fail(why, size, ENOENT, "%s/Info.plist: missing", where);
		return NULL;
	}
	if (bundle_plist_load(why, size) < 0) {
		close(fd);
		return NULL;
	}
	if (fstat(fd, &st) < 0 || st.st_size <= 0 || st.st_size > (off_t)BUNDLE_MAX_INFO_PLIST ||
	    !(buf = malloc((size_t)st.st_size))) {
		close(fd);
		locate_fail(why, size, EFBIG, "%s/Info.plist: empty or larger than %u bytes", where,
			    BUNDLE_MAX_INFO_PLIST);
		return NULL;
	}
	if (read(fd, buf, (size_t)st.st_size) == st.st_size)
		bundle_plist_from_memory(buf, (uint32_t)st.st_size, &root);
	free(buf);
	close(fd);
	if (!root || bundle_plist_get_node_type(root) != PLIST_DICT) {
		if (root)
			bundle_plist_free(root);
		locate_fail(why, size, EINVAL, "%s/Info.plist: not a property list whose root is a dictionary", where);
		return NULL;
	}
	return root;
}

static const char *locate_string(plist_t dict, const char *key)
{
	plist_t v = dict ? bundle_plist_dict_get_item(dict, key) : NULL;
	uint64_t len = 0;
	const char *s;

	if (!v || bundle_plist_get_node_type(v) != PLIST_STRING)
		return NULL;
	s = bundle_plist_get_string_ptr(v, &len);
	return s && strlen(s) == len ? s : NULL;
}

/* XPCService.EnvironmentVariables as "K=V" strings (NULL when none). */
static int locate_env(plist_t xpc, char ***ret)
{
	plist_t env = xpc ? bundle_plist_dict_get_item(xpc, "EnvironmentVariables") : NULL;
	plist_dict_iter it = NULL;
	char *k = NULL, **v;
	plist_t val = NULL;
	size_t n = 0;

	*ret = NULL;
	if (!env || bundle_plist_get_node_type(env) != PLIST_DICT)
		return 0;
	v = calloc(bundle_plist_dict_get_size(env) + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	bundle_plist_dict_new_iter(env, &it);
	for (bundle_plist_dict_next_item(env, it, &k, &val); k; bundle_plist_dict_next_item(env, it, &k, &val)) {
		const char *s = bundle_plist_get_node_type(val) == PLIST_STRING ? bundle_plist_get_string_ptr(val, NULL) : NULL;
		if (s && *k && !strchr(k, '=') && strncmp(k, "XPCD_LISTEN_", 12) && asprintf(&v[n], "%s=%s", k, s) >= 0)
			n++;
		free(k);
		k = NULL;
	}
	free(it);
	*ret = v;
	return 0;
}

/* The service described by @info, if it is @name's (1), else 0; -errno
 * when it is @name's but cannot be started. */
static int locate_check_info(plist_t info, const char *dirname, const char *name, const char *where, char *why,
			     size_t size, const char **ret_exe, plist_t *ret_xpc, bool *ret_matched)
{
	const char *id = locate_string(info, "CFBundleIdentifier");
	const char *type = locate_string(info, "CFBundlePackageType");
	plist_t xpc = bundle_plist_dict_get_item(info, "XPCService");
	const char *stype = locate_string(xpc, "ServiceType");
	size_t dl = strlen(dirname);

	if (id ? strcmp(id, name) : (dl != strlen(name) + 4 || strncmp(dirname, name, dl - 4)))
		return 0;
	*ret_matched = true;
	if (type && strcmp(type, "XPC!"))
		return locate_fail(why, size, EINVAL, "%s: CFBundlePackageType %s is not XPC!", where, type);
	if (xpc && bundle_plist_get_node_type(xpc) != PLIST_DICT)
		return locate_fail(why, size, EINVAL, "%s: XPCService must be a dictionary", where);
	if (stype && strcmp(stype, "Application"))
		return locate_fail(why, size, ENOTSUP, "%s: ServiceType %s: only Application exists on Linux", where,
				   stype);
	*ret_exe = locate_string(info, "CFBundleExecutable");
	if (!*ret_exe || !**ret_exe || strchr(*ret_exe, '/') || !strcmp(*ret_exe, ".") || !strcmp(*ret_exe, ".."))
		return locate_fail(why, size, EINVAL, "%s: CFBundleExecutable missing or not a file name", where);
	*ret_xpc = xpc;
	return 1;
}

/* NAME.xpc under @dir: 1 (filled), 0 not @name's, or -errno. */
static int locate_bundle(int dir, const char *base, const char *dirname, const char *name, BundleService *ret,
			 char *why, size_t size, bool *ret_matched)
{
	char where[PATH_MAX + 300];
	int bundle, contents = -1, macos = -1, r;
	plist_t info = NULL, xpc = NULL;
	const char *exe = NULL;

	snprintf(where, sizeof(where), "%s/%s", base, dirname);
	bundle = locate_open(dir, dirname, O_PATH | O_DIRECTORY, S_IFDIR, base, why, size);
	if (bundle < 0)
		return bundle == -ENOENT ? 0 : bundle;
	r = contents = locate_open(bundle, "Contents", O_PATH | O_DIRECTORY, S_IFDIR, where, why, size);
	if (r >= 0)
		r = (info = locate_read_plist(contents, where, why, size)) ? 0 : -EINVAL;
	if (r >= 0)
		r = locate_check_info(info, dirname, name, where, why, size, &exe, &xpc, ret_matched);
	if (r > 0)
		r = macos = locate_open(contents, "MacOS", O_PATH | O_DIRECTORY, S_IFDIR, where, why, size);
	if (r >= 0 && exe)
		r = ret->exe_fd = locate_open(macos, exe, O_PATH, S_IFREG, where, why, size);
	if (r == -ENOENT)
		r = locate_fail(why, size, ENOENT, "%s/Contents/MacOS/%s: missing", where, exe ? exe : "");
	if (r >= 0 && exe) {
		r = locate_env(xpc, &ret->env);
		if (r == 0 && (asprintf(&ret->path, "%s/Contents/MacOS/%s", where, exe) < 0 || !(ret->name = strdup(name))))
			r = -ENOMEM;
		r = r == 0 ? 1 : r;
	}
	if (info)
		bundle_plist_free(info);
	for (int *fd = (int[]){bundle, contents, macos}, i = 0; i < 3; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	return r;
}

/* Every *.xpc of @dir, for the one whose identifier is @name. */
static int locate_scan(int dir, const char *base, const char *name, BundleService *ret, char *why, size_t size)
{
	int fd = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	int r = 0, seen = 0;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	while (r == 0 && seen < BUNDLE_MAX_SCAN && (e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l < 5 || strcmp(e->d_name + l - 4, ".xpc") || e->d_name[0] == '.')
			continue;
		bool matched = false;
		seen++;
		r = locate_bundle(dir, base, e->d_name, name, ret, why, size, &matched);
		if (r < 0 && !matched)
			r = 0; /* another bundle's trouble is not this name's */
	}
	closedir(d);
	return r;
}

int bundle_locate(const char *name, BundleService *ret, char *why, size_t size)
{
	char base[PATH_MAX], direct[300];
	struct stat st;
	bool matched = false;
	int dir, r;

	memset(ret, 0, sizeof(*ret));
	ret->exe_fd = -1;
	if (!name || !*name || strlen(name) > 255 || strchr(name, '/') || name[0] == '.')
		return 0;
	if (getauxval(AT_SECURE))
		return locate_fail(why, size, EPERM, "bundled XPC service %s: not started by a set-uid or set-gid program",
				   name);
	if (locate_services_dir(base, sizeof(base)) < 0)
		return 0;
	dir = open(base, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return 0; /* this program bundles nothing */
	if (fstat(dir, &st) < 0 || !locate_trusted(&st)) {
		close(dir);
		return locate_fail(why, size, EPERM, "%s: owned by uid %u with mode %04o (must be root's or this user's, and "
				   "not writable by group or others)", base, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
	}
	snprintf(direct, sizeof(direct), "%s.xpc", name);
	r = locate_bundle(dir, base, direct, name, ret, why, size, &matched);
	if (r == 0)
		r = locate_scan(dir, base, name, ret, why, size);
	close(dir);
	if (r <= 0)
		bundle_service_clear(ret);
	return r;
}

void bundle_service_clear(BundleService *s)
{
	if (s->exe_fd >= 0)
		close(s->exe_fd);
	for (size_t i = 0; s->env && s->env[i]; i++)
		free(s->env[i]);
	free(s->env);
	free(s->name);
	free(s->path);
	memset(s, 0, sizeof(*s));
	s->exe_fd = -1;
}
