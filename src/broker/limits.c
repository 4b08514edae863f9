/* SPDX-License-Identifier: MIT */
/*
 * limits.c - Umask, Nice, LowPriorityIO and the resource limits of
 * launchd.plist(5), parsed from the job file and applied in the child
 * between fork and exec (launch.c), before the job's user is taken as
 * launchd does.
 *
 * The resource names are launchd's: Core, CPU, Data, FileSize,
 * MemoryLock, NumberOfFiles, NumberOfProcesses, ResidentSetSize, Stack,
 * each RLIMIT_* of setrlimit(2).  A limit named in only one of the two
 * dictionaries keeps the other value the process inherited; a soft limit
 * above the hard one is lowered to it (setrlimit would refuse the pair).
 * LowPriorityIO puts the job in the idle I/O scheduling class
 * (ioprio_set(2), IOPRIO_CLASS_IDLE), which is what macOS's low priority
 * I/O means: it gets the disk when no one else wants it.  Umask is an
 * integer (launchd reads the decimal value of the mask, 18 for 022) or a
 * string read as octal ("022").
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "broker/limits.h"

#define IOPRIO_CLASS_IDLE 3
#define IOPRIO_CLASS_SHIFT 13
#define IOPRIO_WHO_PROCESS 1

static const struct {
	const char *name;
	int resource;
} limits_names[LIMITS_N_RLIMITS] = {
	{"Core", RLIMIT_CORE},
	{"CPU", RLIMIT_CPU},
	{"Data", RLIMIT_DATA},
	{"FileSize", RLIMIT_FSIZE},
	{"MemoryLock", RLIMIT_MEMLOCK},
	{"NumberOfFiles", RLIMIT_NOFILE},
	{"NumberOfProcesses", RLIMIT_NPROC},
	{"ResidentSetSize", RLIMIT_RSS},
	{"Stack", RLIMIT_STACK},
};

typedef struct RlimParse {
	PlistCtx *ctx;
	JobLimits *l;
	const char *dict; /* SoftResourceLimits or HardResourceLimits */
	bool hard;
	int r;
} RlimParse;

static int limits_rlim_item(void *arg, const char *key, plist_t v)
{
	RlimParse *p = arg;
	char name[96];
	long long x;

	snprintf(name, sizeof(name), "%s.%s", p->dict, key);
	for (int i = 0; i < LIMITS_N_RLIMITS; i++) {
		if (strcmp(key, limits_names[i].name))
			continue;
		if (pv_int(p->ctx, name, v, 0, INT64_MAX, &x) < 0)
			return p->r = -1;
		if (p->hard) {
			p->l->rlim[i].hard_set = true;
			p->l->rlim[i].hard = (rlim_t)x;
		} else {
			p->l->rlim[i].soft_set = true;
			p->l->rlim[i].soft = (rlim_t)x;
		}
		return 0;
	}
	pv_warn(p->ctx, p->dict, "unknown resource %s ignored (Core, CPU, Data, FileSize, MemoryLock, "
		"NumberOfFiles, NumberOfProcesses, ResidentSetSize, Stack)", key);
	return 0;
}

static int limits_parse_rlimits(PlistCtx *ctx, JobLimits *l, const char *key, plist_t v, bool hard)
{
	RlimParse p = {.ctx = ctx, .l = l, .dict = key, .hard = hard};

	if (plist_get_node_type(v) != PLIST_DICT)
		return pv_fail(ctx, key, "must be a dictionary of integers");
	if (pv_dict_each(v, limits_rlim_item, &p) < 0 && p.r == 0)
		return pv_fail(ctx, key, "out of memory");
	return p.r;
}

static int limits_parse_umask(PlistCtx *ctx, JobLimits *l, plist_t v)
{
	long long x;
	char *s = NULL, *end;

	if (plist_get_node_type(v) == PLIST_STRING) {
		if (pv_string(ctx, "Umask", v, &s) < 0)
			return -1;
		x = strtoll(s, &end, 8);
		bool bad = !*s || *end || x < 0 || x > 0777;
		free(s);
		if (bad)
			return pv_fail(ctx, "Umask", "a string must be an octal mask 0 to 0777");
	} else if (pv_int(ctx, "Umask", v, 0, 0777, &x) < 0) {
		return -1;
	}
	l->has_umask = true;
	l->umask = (mode_t)x;
	return 0;
}

int limits_parse_key(PlistCtx *ctx, JobLimits *l, const char *key, plist_t v)
{
	long long x;

	if (!strcmp(key, "Umask"))
		return limits_parse_umask(ctx, l, v) < 0 ? -1 : 1;
	if (!strcmp(key, "Nice")) {
		if (pv_int(ctx, key, v, -20, 20, &x) < 0)
			return -1;
		l->has_nice = true;
		l->nice = (int)x;
		return 1;
	}
	if (!strcmp(key, "LowPriorityIO"))
		return pv_bool(ctx, key, v, &l->low_priority_io) < 0 ? -1 : 1;
	if (!strcmp(key, "SoftResourceLimits"))
		return limits_parse_rlimits(ctx, l, key, v, false) < 0 ? -1 : 1;
	if (!strcmp(key, "HardResourceLimits"))
		return limits_parse_rlimits(ctx, l, key, v, true) < 0 ? -1 : 1;
	return 0;
}

static int limits_apply_rlimits(const JobLimits *l, const char **ret_step)
{
	for (int i = 0; i < LIMITS_N_RLIMITS; i++) {
		struct rlimit r;
		if (!l->rlim[i].soft_set && !l->rlim[i].hard_set)
			continue;
		*ret_step = l->rlim[i].hard_set ? "HardResourceLimits" : "SoftResourceLimits";
		if (getrlimit(limits_names[i].resource, &r) < 0)
			return errno;
		if (l->rlim[i].hard_set)
			r.rlim_max = l->rlim[i].hard;
		if (l->rlim[i].soft_set)
			r.rlim_cur = l->rlim[i].soft;
		if (r.rlim_cur > r.rlim_max)
			r.rlim_cur = r.rlim_max;
		if (setrlimit(limits_names[i].resource, &r) < 0)
			return errno;
	}
	return 0;
}

int limits_apply(const JobLimits *l, const char **ret_step)
{
	int err = limits_apply_rlimits(l, ret_step);

	if (err)
		return err;
	*ret_step = "Nice";
	if (l->has_nice && setpriority(PRIO_PROCESS, 0, l->nice) < 0)
		return errno;
	*ret_step = "LowPriorityIO";
	if (l->low_priority_io &&
	    syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, IOPRIO_CLASS_IDLE << IOPRIO_CLASS_SHIFT) < 0)
		return errno;
	if (l->has_umask)
		umask(l->umask);
	return 0;
}
