/* SPDX-License-Identifier: MIT */
/*
 * keys.c - the keys of launchd.plist(5) beyond the core ones plist.c reads,
 * and the status of every key of that manual on Linux.
 *
 * Each key of Apple's launchd.plist(5) has one of three statuses, the same
 * as the table in xpcd.plist(5):
 *   honoured     it does what launchd does (parsed here or in plist.c, run
 *                by launch.c, supervise.c, triggers.c and the modules);
 *   accepted     it means nothing on Linux or is deprecated by launchd
 *                itself: read without a word (the reason is in the table);
 *   unsupported  it would mean something, but xpcd does not do it: the
 *                load goes on with a warning, which travels back to the
 *                caller of `xpcctl load` and makes `load --strict` refuse
 *                the job.
 * A key in no table is reported as unknown (a typo, most often), with the
 * same consequences as an unsupported one.
 *
 * The honoured keys of this file: StartInterval, StartCalendarInterval,
 * TimeOut, RootDirectory, InitGroups, AbandonProcessGroup, LaunchOnlyOnce,
 * StartOnMount, LimitLoadToHosts, LimitLoadFromHosts,
 * EnableTransactions, EnableGlobbing, inetdCompatibility, OnDemand,
 * LaunchEvents, and through the modules Umask, Nice, LowPriorityIO,
 * Soft/HardResourceLimits (limits.c), WatchPaths, QueueDirectories
 * (watch.c), Sockets (sockets.c).
 *
 * LaunchEvents is kept as an XPC dictionary, stream -> { event name ->
 * event dictionary }, in job->launch_events: the hook for the streams
 * xpcd serves.  plist.c gives com.apple.xpc.activity to activity-plist.c
 * first, then every stream here; no stream is served by this file.  Any
 * other stream (com.apple.notifyd.matching, com.apple.iokit.matching...)
 * is kept but never fires, so it is reported as an unsupported key is: a
 * load warning, and `load --strict` refuses the job.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "activity/protocol.h"
#include "broker/job.h"
#include "broker/keys.h"

typedef enum KeyStatus { KEY_ACCEPTED, KEY_UNSUPPORTED } KeyStatus;

/* Keys read but not honoured (the honoured ones are parsed by name below
 * and in plist.c). */
static const struct {
	const char *name;
	KeyStatus status;
	const char *why;
} keys_other[] = {
	{"WaitForDebugger", KEY_ACCEPTED, "macOS debugger attach"},
	{"Debug", KEY_ACCEPTED, "launchd's own log level; xpcd logs every launch"},
	{"ServiceIPC", KEY_ACCEPTED, "deprecated by launchd; no meaning"},
	{"ProcessType", KEY_ACCEPTED, "macOS QoS and memory policy classes; use Nice and LowPriorityIO"},
	{"LowPriorityBackgroundIO", KEY_ACCEPTED, "macOS background state I/O throttling"},
	{"MaterializeDatalessFiles", KEY_ACCEPTED, "APFS dataless files"},
	{"LimitLoadToSessionType", KEY_ACCEPTED, "macOS login session types; xpcd's domains are system and user"},
	{"EnablePressuredExit", KEY_ACCEPTED, "macOS memory pressure exit"},
	{"POSIXSpawnType", KEY_ACCEPTED, "macOS spawn policy"},
	{"LegacyTimers", KEY_ACCEPTED, "macOS timer coalescing"},
	{"AssociatedBundleIdentifiers", KEY_ACCEPTED, "macOS login items UI"},
	{"SessionCreate", KEY_ACCEPTED, "macOS security session"},
	{"HopefullyExitsFirst", KEY_ACCEPTED, "deprecated shutdown ordering"},
	{"HopefullyExitsLast", KEY_ACCEPTED, "deprecated shutdown ordering"},
	{"JetsamProperties", KEY_ACCEPTED, "iOS memory limits"},
	{"BundleProgram", KEY_ACCEPTED, "a path inside an app bundle: use Program"},
	{"LimitLoadToHardware", KEY_UNSUPPORTED, "sysctl hardware conditions"},
	{"LimitLoadFromHardware", KEY_UNSUPPORTED, "sysctl hardware conditions"},
};

/* ---- LaunchEvents: property list -> XPC ------------------------------------------- */

static xpc_object_t keys_to_xpc(plist_t v, unsigned depth);

static xpc_object_t keys_dict_to_xpc(plist_t v, unsigned depth)
{
	xpc_object_t d = xpc_dictionary_create(NULL, NULL, 0);
	plist_dict_iter it = NULL;
	char *k = NULL;
	plist_t item = NULL;

	plist_dict_new_iter(v, &it);
	for (plist_dict_next_item(v, it, &k, &item); k && d; plist_dict_next_item(v, it, &k, &item)) {
		xpc_object_t x = keys_to_xpc(item, depth + 1);
		if (x) {
			xpc_dictionary_set_value(d, k, x);
			xpc_release(x);
		} else {
			xpc_release(d);
			d = NULL;
		}
		free(k);
		k = NULL;
	}
	free(k);
	free(it);
	return d;
}

/* @v as an XPC object (+1), or NULL (a NUL in a string, too deep, out of
 * memory). */
static xpc_object_t keys_to_xpc(plist_t v, unsigned depth)
{
	uint64_t u = 0, len = 0;
	uint8_t b = 0;
	double r = 0;
	const char *p;

	if (depth > 16)
		return NULL;
	switch (plist_get_node_type(v)) {
	case PLIST_BOOLEAN: plist_get_bool_val(v, &b); return xpc_bool_create(b);
	case PLIST_UINT: plist_get_uint_val(v, &u); return xpc_int64_create((int64_t)u);
	case PLIST_REAL: plist_get_real_val(v, &r); return xpc_double_create(r);
	case PLIST_STRING:
		p = plist_get_string_ptr(v, &len);
		return p && !memchr(p, 0, len) ? xpc_string_create(p) : NULL;
	case PLIST_DATA: p = plist_get_data_ptr(v, &len); return xpc_data_create(p, len);
	case PLIST_DICT: return keys_dict_to_xpc(v, depth);
	case PLIST_ARRAY: {
		xpc_object_t a = xpc_array_create(NULL, 0);
		for (uint32_t i = 0; a && i < plist_array_get_size(v); i++) {
			xpc_object_t x = keys_to_xpc(plist_array_get_item(v, i), depth + 1);
			if (!x) {
				xpc_release(a);
				return NULL;
			}
			xpc_array_append_value(a, x);
			xpc_release(x);
		}
		return a;
	}
	default: return xpc_null_create();
	}
}

/* LaunchEvents: { stream: { event name: { descriptor } } }; a warning for
 * each stream but com.apple.xpc.activity, the one xpcd serves. */
static int keys_launch_events(PlistCtx *ctx, Job *job, plist_t v)
{
	plist_dict_iter it = NULL;
	char *k = NULL;
	plist_t item = NULL;
	int r = 0;

	if (plist_get_node_type(v) != PLIST_DICT)
		return pv_fail(ctx, "LaunchEvents", "must be a dictionary of streams");
	plist_dict_new_iter(v, &it);
	for (plist_dict_next_item(v, it, &k, &item); k && r == 0; plist_dict_next_item(v, it, &k, &item)) {
		if (plist_get_node_type(item) != PLIST_DICT)
			r = pv_fail(ctx, "LaunchEvents", "stream %s must be a dictionary of events", k);
		else if (strcmp(k, ACTIVITY_CHANNEL))
			pv_warn(ctx, "LaunchEvents", "stream %s is not served on Linux; kept, its events never come",
				k);
		free(k);
		k = NULL;
	}
	free(k);
	free(it);
	if (r < 0)
		return r;
	if (job->launch_events)
		xpc_release(job->launch_events);
	job->launch_events = keys_to_xpc(v, 0);
	return job->launch_events ? 0 : pv_fail(ctx, "LaunchEvents", "a string holds a NUL byte, nesting "
							  "deeper than 16, or out of memory");
}

/* LimitLoadToHosts / LimitLoadFromHosts: whether this host (gethostname,
 * its first label too) is listed decides whether the job loads. */
static int keys_hosts(PlistCtx *ctx, Job *job, const char *key, plist_t v, bool to)
{
	char **hosts = NULL, name[256] = "";
	bool listed = false;
	size_t short_len;

	if (pv_string_array(ctx, key, v, 1024, &hosts) < 0) {
		pv_free_strv(hosts);
		return -1;
	}
	gethostname(name, sizeof(name) - 1);
	short_len = strcspn(name, ".");
	for (size_t i = 0; hosts[i]; i++)
		listed |= !strcasecmp(hosts[i], name) ||
			  (strlen(hosts[i]) == short_len && !strncasecmp(hosts[i], name, short_len));
	pv_free_strv(hosts);
	if (listed != to) {
		free(job->not_here);
		job->not_here = strdup(key);
	}
	return 0;
}

/* ---- small keys ----------------------------------------------------------------- */

static int keys_inetd(PlistCtx *ctx, Job *job, plist_t v)
{
	plist_t wait;
	bool w = false;

	if (plist_get_node_type(v) != PLIST_DICT)
		return pv_fail(ctx, "inetdCompatibility", "must be a dictionary");
	wait = plist_dict_get_item(v, "Wait");
	if (wait && pv_bool(ctx, "inetdCompatibility.Wait", wait, &w) < 0)
		return -1;
	job->inetd = w ? INETD_WAIT : INETD_NOWAIT;
	return 0;
}

static int keys_uint(PlistCtx *ctx, const char *key, plist_t v, unsigned max, unsigned *ret)
{
	long long x;

	if (pv_int(ctx, key, v, 0, max, &x) < 0)
		return -1;
	*ret = (unsigned)x;
	return 0;
}

static int keys_honoured(PlistCtx *ctx, Job *job, const char *key, plist_t v)
{
	bool b;

	if (!strcmp(key, "StartInterval"))
		return keys_uint(ctx, key, v, 86400u * 366, &job->start_interval);
	if (!strcmp(key, "StartCalendarInterval"))
		return calendar_parse(ctx, v, &job->calendar, &job->n_calendar);
	if (!strcmp(key, "TimeOut"))
		return keys_uint(ctx, key, v, 86400u * 366, &job->timeout);
	if (!strcmp(key, "RootDirectory"))
		return pv_string(ctx, key, v, &job->root_dir);
	if (!strcmp(key, "InitGroups"))
		return pv_bool(ctx, key, v, &job->init_groups);
	if (!strcmp(key, "AbandonProcessGroup"))
		return pv_bool(ctx, key, v, &job->abandon_process_group);
	if (!strcmp(key, "LaunchOnlyOnce"))
		return pv_bool(ctx, key, v, &job->launch_only_once);
	if (!strcmp(key, "LimitLoadToHosts") || !strcmp(key, "LimitLoadFromHosts"))
		return keys_hosts(ctx, job, key, v, !strcmp(key, "LimitLoadToHosts"));
	if (!strcmp(key, "StartOnMount"))
		return pv_bool(ctx, key, v, &job->start_on_mount);
	if (!strcmp(key, "EnableGlobbing"))
		return pv_bool(ctx, key, v, &job->enable_globbing);
	if (!strcmp(key, "EnableTransactions"))
		return pv_bool(ctx, key, v, &job->enable_transactions);
	if (!strcmp(key, "inetdCompatibility"))
		return keys_inetd(ctx, job, v);
	if (!strcmp(key, "LaunchEvents"))
		return keys_launch_events(ctx, job, v);
	if (!strcmp(key, "OnDemand")) { /* launchd's old spelling: OnDemand false = KeepAlive true */
		if (pv_bool(ctx, key, v, &b) < 0)
			return -1;
		job->keepalive = !b;
		return 0;
	}
	return 1; /* not one of these */
}

int keys_parse(PlistCtx *ctx, Job *job, const char *key, plist_t v)
{
	int r;

	if ((r = limits_parse_key(ctx, &job->limits, key, v)) != 0 ||
	    (r = watch_parse_key(ctx, &job->watch, key, v)) != 0 ||
	    (r = sockets_parse_key(ctx, &job->sockets, key, v)) != 0)
		return r;
	if ((r = keys_honoured(ctx, job, key, v)) <= 0)
		return r < 0 ? -1 : 1;
	for (size_t i = 0; i < sizeof(keys_other) / sizeof(keys_other[0]); i++) {
		if (strcmp(key, keys_other[i].name))
			continue;
		if (keys_other[i].status == KEY_UNSUPPORTED)
			pv_warn(ctx, key, "not supported on Linux (%s); ignored", keys_other[i].why);
		return 1;
	}
	return 0;
}

/* ---- KeepAlive's conditions ----------------------------------------------------------- */

typedef struct KeepParse {
	PlistCtx *ctx;
	const char *key;
	JobKeepPath *list;
	size_t n;
	int r;
} KeepParse;

static int keys_keep_item(void *arg, const char *name, plist_t v)
{
	KeepParse *p = arg;
	char key[64];
	bool b;

	snprintf(key, sizeof(key), "KeepAlive.%s", p->key);
	if (p->n >= 64)
		return p->r = pv_fail(p->ctx, key, "more than 64 entries");
	if (pv_bool(p->ctx, key, v, &b) < 0)
		return p->r = -1;
	if (!strcmp(p->key, "PathState") && name[0] != '/')
		return p->r = pv_fail(p->ctx, key, "\"%s\" is not an absolute path", name);
	p->list[p->n].name = strdup(name);
	if (!p->list[p->n].name)
		return p->r = pv_fail(p->ctx, key, "out of memory");
	p->list[p->n++].want = b;
	return 0;
}

static int keys_keep_list(PlistCtx *ctx, const char *key, plist_t v, JobKeepPath **ret, size_t *ret_n)
{
	KeepParse p = {.ctx = ctx, .key = key};
	char k[64];

	snprintf(k, sizeof(k), "KeepAlive.%s", key);
	if (plist_get_node_type(v) != PLIST_DICT)
		return pv_fail(ctx, k, "must be a dictionary of booleans");
	p.list = calloc(64, sizeof(*p.list));
	if (!p.list)
		return pv_fail(ctx, k, "out of memory");
	if (pv_dict_each(v, keys_keep_item, &p) < 0 && p.r == 0)
		p.r = pv_fail(ctx, k, "out of memory");
	for (size_t i = 0; i < *ret_n; i++)
		free((*ret)[i].name);
	free(*ret);
	*ret = p.list;
	*ret_n = p.n;
	return p.r;
}

int keys_parse_keepalive(PlistCtx *ctx, Job *job, const char *key, plist_t v)
{
	if (!strcmp(key, "PathState"))
		return keys_keep_list(ctx, key, v, &job->keep_paths, &job->n_keep_paths) < 0 ? -1 : 1;
	if (!strcmp(key, "OtherJobEnabled"))
		return keys_keep_list(ctx, key, v, &job->keep_jobs, &job->n_keep_jobs) < 0 ? -1 : 1;
	if (!strcmp(key, "NetworkState"))
		return 1; /* ignored by launchd itself since OS X 10.10 */
	if (!strcmp(key, "AfterInitialDemand"))
		return pv_bool(ctx, "KeepAlive.AfterInitialDemand", v, &job->keepalive_after_demand) < 0 ? -1 : 1;
	return 0;
}

void keys_free(Job *job)
{
	for (size_t i = 0; i < job->n_keep_paths; i++)
		free(job->keep_paths[i].name);
	for (size_t i = 0; i < job->n_keep_jobs; i++)
		free(job->keep_jobs[i].name);
	free(job->keep_paths);
	free(job->keep_jobs);
	free(job->calendar);
	free(job->root_dir);
	free(job->not_here);
	if (job->launch_events)
		xpc_release(job->launch_events);
	watch_free(&job->watch);
	sockets_close(&job->sockets); /* made but never added (supervise_add) */
	sockets_free(&job->sockets);
}
