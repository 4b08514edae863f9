/* SPDX-License-Identifier: MIT */
/*
 * plist.c - launchd job property lists (XML or binary, via libplist) into
 * Job definitions.
 *
 * Keys read here: Label, Program, ProgramArguments, MachServices, RunAtLoad,
 * KeepAlive (bool, or a dictionary with SuccessfulExit / Crashed; its other
 * conditions in keys.c), EnvironmentVariables, WorkingDirectory, UserName,
 * GroupName, StandardInPath, StandardOutPath, StandardErrorPath,
 * ThrottleInterval, ExitTimeOut, Disabled, LaunchEvents (the activity
 * stream to activity-plist.c, every stream kept by keys.c), and the Linux
 * extensions XPCDAllowedUIDs (array of uids) and XPCDAllowedGroups (array
 * of group names or gids): who may look up the job's names; others get
 * "denied" (policy.c); XPCDRemoteExport (bool): serve the names to other
 * hosts (remote-export.c).  Every other key of launchd.plist(5) goes to
 * keys.c, which honours it, accepts it silently (macOS-only) or with a
 * warning (unsupported); any other key is a warning ("unknown key").
 * Warnings go to the caller's list (plist_load_job_warn: `xpcctl load`
 * prints them) or to stderr.  A wrong type or a missing Label/program is
 * an error naming the file and the key.
 *
 * Strings and keys holding a NUL byte: libplist asserts when asked for such
 * a key (plist_get_key_val), and only the binary format can carry one, so a
 * binary list is read through its XML form, whose writer stops at the NUL:
 * such a key reads as its text before the NUL.  A string is checked
 * directly and refused.
 *
 * Owner: a regular file of root or of xpcd's user, writable by no one
 * else (check_owner): a system broker does as root what the file says.
 *
 * Size: a file is at most MAX_PLIST_SIZE bytes, and its tree at most
 * BPLIST_MAX_NODES nodes.  Bytes alone do not bound a binary list: its
 * objects refer to others by number, and libplist copies an object for
 * every reference, so an array referring k times to an array referring k
 * times to ... expands to k^depth nodes (196 bytes asked libplist for 1.22
 * GB).  bplist.c counts the expanded tree from the object table, before
 * libplist builds anything, and the file is refused above the bound.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <plist/plist.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/activity-plist.h"
#include "broker/bplist.h"
#include "broker/job.h"
#include "broker/keys.h"
#include "broker/plist.h"

#define MAX_PLIST_SIZE (1u << 20)

typedef struct Loader {
	const char *path;
	char *err;
	size_t errlen;
	Job *job;
	PlistWarnings *warn; /* NULL: to stderr */
} Loader;

static PlistCtx loader_ctx(Loader *l)
{
	return (PlistCtx){.path = l->path, .err = l->err, .errlen = l->errlen, .warn = l->warn};
}

static int fail(Loader *l, const char *key, const char *fmt, ...) __attribute__((__format__(__printf__, 3, 4)));
static int fail(Loader *l, const char *key, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (key)
		snprintf(l->err, l->errlen, "%s: key %s: %s", l->path, key, what);
	else
		snprintf(l->err, l->errlen, "%s: %s", l->path, what);
	return -1;
}

/* A copy of string node @v, or NULL when it holds a NUL byte (libplist's
 * plist_get_string_val() asserts on those, and a C string cannot hold one)
 * or memory ran out; *ret_nul tells which. */
static char *copy_string(plist_t v, bool *ret_nul)
{
	uint64_t len = 0;
	const char *p = plist_get_string_ptr(v, &len);

	*ret_nul = !p || memchr(p, 0, len) != NULL;
	return *ret_nul ? NULL : strndup(p, len);
}

static int get_string(Loader *l, const char *key, plist_t v, char **ret)
{
	bool nul;
	char *s;

	if (plist_get_node_type(v) != PLIST_STRING)
		return fail(l, key, "must be a string");
	s = copy_string(v, &nul);
	if (!s)
		return fail(l, key, nul ? "must not contain a NUL byte" : "out of memory");
	free(*ret);
	*ret = s;
	return 0;
}

static int get_bool(Loader *l, const char *key, plist_t v, bool *ret)
{
	uint8_t b = 0;

	if (plist_get_node_type(v) != PLIST_BOOLEAN)
		return fail(l, key, "must be a boolean");
	plist_get_bool_val(v, &b);
	*ret = b != 0;
	return 0;
}

static int get_uint(Loader *l, const char *key, plist_t v, unsigned *ret)
{
	uint64_t u = 0;

	if (plist_get_node_type(v) != PLIST_UINT)
		return fail(l, key, "must be an integer");
	plist_get_uint_val(v, &u);
	if (u > 86400u * 365)
		return fail(l, key, "value %llu out of range", (unsigned long long)u);
	*ret = (unsigned)u;
	return 0;
}

static int get_string_array(Loader *l, const char *key, plist_t v, char ***ret)
{
	uint32_t n;
	char **argv;

	if (plist_get_node_type(v) != PLIST_ARRAY)
		return fail(l, key, "must be an array of strings");
	n = plist_array_get_size(v);
	if (n == 0 || n > 4096)
		return fail(l, key, "must hold 1 to 4096 strings");
	argv = calloc(n + 1, sizeof(*argv));
	if (!argv)
		return fail(l, key, "out of memory");
	*ret = argv;
	for (uint32_t i = 0; i < n; i++)
		if (get_string(l, key, plist_array_get_item(v, i), &argv[i]) < 0)
			return -1;
	return 0;
}

static int parse_keepalive(Loader *l, plist_t v)
{
	Job *j = l->job;
	plist_dict_iter it = NULL;
	char *k = NULL;
	plist_t item = NULL;
	int r = 0;

	if (plist_get_node_type(v) == PLIST_BOOLEAN)
		return get_bool(l, "KeepAlive", v, &j->keepalive);
	if (plist_get_node_type(v) != PLIST_DICT)
		return fail(l, "KeepAlive", "must be a boolean or a dictionary");
	plist_dict_new_iter(v, &it);
	for (plist_dict_next_item(v, it, &k, &item); k && r == 0; plist_dict_next_item(v, it, &k, &item)) {
		bool b = false;
		if (!strcmp(k, "SuccessfulExit") && (r = get_bool(l, "KeepAlive.SuccessfulExit", item, &b)) == 0)
			j->keepalive_successful_exit = b;
		else if (!strcmp(k, "Crashed") && (r = get_bool(l, "KeepAlive.Crashed", item, &b)) == 0)
			j->keepalive_crashed = b;
		else if (r == 0 && strcmp(k, "SuccessfulExit") && strcmp(k, "Crashed")) {
			PlistCtx ctx = loader_ctx(l);
			r = keys_parse_keepalive(&ctx, j, k, item);
			if (r == 0)
				pv_warn(&ctx, "KeepAlive", "unknown condition %s ignored", k);
			r = r < 0 ? -1 : 0;
		}
		free(k);
		k = NULL;
	}
	free(k);
	free(it);
	return r;
}

static int parse_services(Loader *l, plist_t v)
{
	Job *j = l->job;
	plist_dict_iter it = NULL;
	char *k = NULL;
	plist_t item = NULL;
	uint32_t n;

	if (plist_get_node_type(v) != PLIST_DICT)
		return fail(l, "MachServices", "must be a dictionary");
	n = plist_dict_get_size(v);
	if (n > 64)
		return fail(l, "MachServices", "more than 64 names");
	j->services = calloc(n ? n : 1, sizeof(*j->services));
	if (!j->services)
		return fail(l, "MachServices", "out of memory");
	plist_dict_new_iter(v, &it);
	for (plist_dict_next_item(v, it, &k, &item); k; plist_dict_next_item(v, it, &k, &item)) {
		JobService *s = &j->services[j->n_services++];
		s->name = k;
		s->recv_fd = s->send_fd = -1;
		k = NULL;
		if (plist_get_node_type(item) != PLIST_BOOLEAN && plist_get_node_type(item) != PLIST_DICT) {
			free(it);
			return fail(l, "MachServices", "value for %s must be a boolean or dictionary", s->name);
		}
		if (!s->name[0] || strlen(s->name) > 255 || strchr(s->name, ':')) {
			free(it);
			return fail(l, "MachServices", "invalid name \"%s\"", s->name);
		}
	}
	free(it);
	return 0;
}

static int parse_env(Loader *l, plist_t v)
{
	Job *j = l->job;
	plist_dict_iter it = NULL;
	char *k = NULL;
	plist_t item = NULL;
	size_t i = 0;
	int r = 0;

	if (plist_get_node_type(v) != PLIST_DICT)
		return fail(l, "EnvironmentVariables", "must be a dictionary of strings");
	j->env = calloc(plist_dict_get_size(v) + 1, sizeof(char *));
	if (!j->env)
		return fail(l, "EnvironmentVariables", "out of memory");
	plist_dict_new_iter(v, &it);
	for (plist_dict_next_item(v, it, &k, &item); k && r == 0; plist_dict_next_item(v, it, &k, &item)) {
		char *val = NULL;
		if ((r = get_string(l, "EnvironmentVariables", item, &val)) == 0) {
			if (asprintf(&j->env[i], "%s=%s", k, val) < 0)
				r = fail(l, "EnvironmentVariables", "out of memory");
			else
				i++;
		}
		free(val);
		free(k);
		k = NULL;
	}
	free(k);
	free(it);
	return r;
}

static int parse_uids(Loader *l, plist_t v)
{
	Job *j = l->job;
	uint32_t n;

	if (plist_get_node_type(v) != PLIST_ARRAY)
		return fail(l, "XPCDAllowedUIDs", "must be an array of integers");
	n = plist_array_get_size(v);
	j->allowed_uids = calloc(n ? n : 1, sizeof(uid_t));
	if (!j->allowed_uids)
		return fail(l, "XPCDAllowedUIDs", "out of memory");
	for (uint32_t i = 0; i < n; i++) {
		uint64_t u = 0;
		plist_t item = plist_array_get_item(v, i);
		if (plist_get_node_type(item) != PLIST_UINT)
			return fail(l, "XPCDAllowedUIDs", "item %u is not an integer", i);
		plist_get_uint_val(item, &u);
		j->allowed_uids[j->n_allowed_uids++] = (uid_t)u;
	}
	return 0;
}

/* One XPCDAllowedGroups item: a gid, or a group name resolved now. */
static int parse_gid(Loader *l, plist_t item, uint32_t i, gid_t *ret)
{
	uint64_t u = 0;
	char *name;
	struct group *g;
	bool nul;

	if (plist_get_node_type(item) == PLIST_UINT) {
		plist_get_uint_val(item, &u);
		*ret = (gid_t)u;
		return 0;
	}
	if (plist_get_node_type(item) != PLIST_STRING)
		return fail(l, "XPCDAllowedGroups", "item %u is neither a group name nor an integer", i);
	name = copy_string(item, &nul);
	g = name ? getgrnam(name) : NULL;
	if (g)
		*ret = g->gr_gid;
	else
		fail(l, "XPCDAllowedGroups", "no group named \"%s\"", name ? name : "");
	free(name);
	return g ? 0 : -1;
}

static int parse_gids(Loader *l, plist_t v)
{
	Job *j = l->job;
	uint32_t n;

	if (plist_get_node_type(v) != PLIST_ARRAY)
		return fail(l, "XPCDAllowedGroups", "must be an array of group names or integers");
	n = plist_array_get_size(v);
	free(j->allowed_gids);
	j->n_allowed_gids = 0;
	j->allowed_gids = calloc(n ? n : 1, sizeof(gid_t));
	if (!j->allowed_gids)
		return fail(l, "XPCDAllowedGroups", "out of memory");
	for (uint32_t i = 0; i < n; i++)
		if (parse_gid(l, plist_array_get_item(v, i), i, &j->allowed_gids[j->n_allowed_gids++]) < 0)
			return -1;
	return 0;
}

/* LaunchEvents: the com.apple.xpc.activity stream (activity-plist.c);
 * other streams are kept with a warning (keys.c): no events on Linux. */
static int parse_launch_events(Loader *l, plist_t v)
{
	plist_t acts;
	char what[512];

	if (plist_get_node_type(v) != PLIST_DICT)
		return fail(l, "LaunchEvents", "must be a dictionary of event streams");
	acts = plist_dict_get_item(v, "com.apple.xpc.activity");
	if (acts && activity_plist_parse(l->job, acts, what, sizeof(what)) < 0)
		return fail(l, NULL, "%s", what);
	PlistCtx ctx = loader_ctx(l); /* and every stream, kept as XPC (keys.c) */
	return keys_parse(&ctx, l->job, "LaunchEvents", v) < 0 ? -1 : 0;
}

static int parse_key(Loader *l, const char *k, plist_t v)
{
	Job *j = l->job;

	if (!strcmp(k, "Label"))
		return get_string(l, k, v, &j->label);
	if (!strcmp(k, "Program"))
		return get_string(l, k, v, &j->program);
	if (!strcmp(k, "ProgramArguments"))
		return get_string_array(l, k, v, &j->argv);
	if (!strcmp(k, "MachServices"))
		return parse_services(l, v);
	if (!strcmp(k, "RunAtLoad"))
		return get_bool(l, k, v, &j->run_at_load);
	if (!strcmp(k, "Disabled"))
		return get_bool(l, k, v, &j->disabled);
	if (!strcmp(k, "KeepAlive"))
		return parse_keepalive(l, v);
	if (!strcmp(k, "EnvironmentVariables"))
		return parse_env(l, v);
	if (!strcmp(k, "WorkingDirectory"))
		return get_string(l, k, v, &j->workdir);
	if (!strcmp(k, "UserName"))
		return get_string(l, k, v, &j->user);
	if (!strcmp(k, "GroupName"))
		return get_string(l, k, v, &j->group);
	if (!strcmp(k, "StandardInPath"))
		return get_string(l, k, v, &j->stdin_path);
	if (!strcmp(k, "StandardOutPath"))
		return get_string(l, k, v, &j->stdout_path);
	if (!strcmp(k, "StandardErrorPath"))
		return get_string(l, k, v, &j->stderr_path);
	if (!strcmp(k, "ThrottleInterval"))
		return get_uint(l, k, v, &j->throttle_interval);
	if (!strcmp(k, "ExitTimeOut"))
		return get_uint(l, k, v, &j->exit_timeout);
	if (!strcmp(k, "XPCDAllowedUIDs"))
		return parse_uids(l, v);
	if (!strcmp(k, "XPCDAllowedGroups"))
		return parse_gids(l, v);
	if (!strcmp(k, "LaunchEvents"))
		return parse_launch_events(l, v);
	if (!strcmp(k, "XPCDRemoteExport"))
		return get_bool(l, k, v, &j->remote_export);
	PlistCtx ctx = loader_ctx(l);
	int r = keys_parse(&ctx, j, k, v);
	if (r == 0)
		pv_warn(&ctx, k, "unknown key ignored");
	return r < 0 ? -1 : 0;
}

static int parse_root(Loader *l, plist_t root)
{
	plist_dict_iter it = NULL;
	char *k = NULL;
	plist_t v = NULL;
	int r = 0;

	if (!root || plist_get_node_type(root) != PLIST_DICT)
		return fail(l, NULL, "not a property list whose root is a dictionary");
	plist_dict_new_iter(root, &it);
	for (plist_dict_next_item(root, it, &k, &v); k && r == 0; plist_dict_next_item(root, it, &k, &v)) {
		r = parse_key(l, k, v);
		free(k);
		k = NULL;
	}
	free(k);
	free(it);
	if (r < 0)
		return r;
	if (!l->job->label || !l->job->label[0])
		return fail(l, "Label", "missing");
	if (!l->job->program && !l->job->argv)
		return fail(l, "Program", "missing (and no ProgramArguments)");
	return 0;
}

/*
 * Whom a job file may belong to: what it says, xpcd does (as root, for a
 * system broker: the user, groups, limits, names and paths of the job).
 * So the file must be a regular file of root or of xpcd's own user that
 * neither its group nor others may write, as launchd skips a file of
 * "dubious ownership" or "dubious permissions" (docs/security.md, "Job
 * files").  Checked on the descriptor that is then read.
 */
static int check_owner(Loader *l, const struct stat *st)
{
	if (!S_ISREG(st->st_mode))
		return fail(l, NULL, "refused: not a regular file");
	if (st->st_uid != 0 && st->st_uid != geteuid())
		return fail(l, NULL, "refused: owned by uid %u (a job file must belong to root or to xpcd's user, uid %u)",
			    (unsigned)st->st_uid, (unsigned)geteuid());
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return fail(l, NULL, "refused: writable by its group or by others (mode %04o)",
			    (unsigned)(st->st_mode & 07777));
	return 0;
}

static char *read_file(Loader *l, size_t *ret_len)
{
	int fd = open(l->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY); /* a FIFO: no wait */
	FILE *f = fd >= 0 ? fdopen(fd, "rb") : NULL;
	char *buf = NULL;
	struct stat st;

	if (!f) {
		int err = errno;
		if (fd >= 0)
			close(fd);
		fail(l, NULL, "%s", strerror(err));
		return NULL;
	}
	if (fstat(fileno(f), &st) < 0) {
		fail(l, NULL, "%s", strerror(errno));
	} else if (check_owner(l, &st) < 0) {
		/* said */
	} else if (st.st_size <= 0 || st.st_size > MAX_PLIST_SIZE) {
		fail(l, NULL, "empty, unreadable or larger than %u bytes", MAX_PLIST_SIZE);
	} else if ((buf = malloc((size_t)st.st_size)) && fread(buf, 1, (size_t)st.st_size, f) == (size_t)st.st_size) {
		*ret_len = (size_t)st.st_size;
	} else {
		fail(l, NULL, "read failed");
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

/* The tree of @buf, a binary list through its XML form (see the top). */
static plist_t parse_bytes(const char *buf, size_t len)
{
	plist_t root = NULL, from_xml = NULL;
	char *xml = NULL;
	uint32_t xml_len = 0;

	plist_from_memory(buf, (uint32_t)len, &root);
	if (!root || !plist_is_binary(buf, (uint32_t)len))
		return root;
	plist_to_xml(root, &xml, &xml_len);
	plist_free(root);
	if (xml)
		plist_from_xml(xml, xml_len, &from_xml);
	free(xml);
	return from_xml;
}

int plist_load_job(const char *path, Job **ret_job, char *err, size_t errlen)
{
	return plist_load_job_warn(path, ret_job, NULL, err, errlen);
}

int plist_load_job_warn(const char *path, Job **ret_job, PlistWarnings *warn, char *err, size_t errlen)
{
	Loader l = {.path = path, .err = err, .errlen = errlen, .warn = warn};
	char why[256];
	plist_t root = NULL;
	size_t len = 0;
	char *buf = read_file(&l, &len);
	int r;

	if (!buf)
		return -1;
	if (bplist_check((const uint8_t *)buf, len, why, sizeof(why)) < 0) {
		free(buf);
		return fail(&l, NULL, "%s", why);
	}
	l.job = job_new();
	if (!l.job) {
		free(buf);
		return fail(&l, NULL, "out of memory");
	}
	root = parse_bytes(buf, len);
	free(buf);
	r = parse_root(&l, root);
	if (root)
		plist_free(root);
	if (r < 0) {
		job_free(l.job);
		return -1;
	}
	l.job->path = strdup(path);
	*ret_job = l.job;
	return 0;
}
