/* SPDX-License-Identifier: MIT */
/*
 * target.c - launchctl's names for a domain and a job, and job files.
 *
 * A domain target is "system", "gui/UID" or "user/UID" (both: that user's
 * broker); a service target is DOMAIN/LABEL ("system/org.example.d",
 * "gui/1000/org.example.agent").  A target sets the broker as --system or
 * --user would (and must agree with them).  Anything else is a plain
 * label for the broker chosen by the options.  A job file is a property
 * list; a directory stands for its *.plist files, in name order.  The
 * label of a file is read here (libplist), so unload takes paths too.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <plist/plist.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "xpcctl.h"

static int parse_uid(const char *s, size_t n, uid_t *ret)
{
	char buf[16], *end;
	unsigned long v;

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	errno = 0;
	v = strtoul(buf, &end, 10);
	if (*end || errno || v > (uid_t)-2)
		return -1;
	*ret = (uid_t)v;
	return 0;
}

/* Length of the domain prefix of @arg ("system", "gui/UID"), 0 if none;
 * sets the broker accordingly; -1 on a bad UID, -2 on a conflict (said). */
static int domain_prefix(const char *arg, bool whole)
{
	const char *uid_s, *slash;
	uid_t uid;

	if (!strncmp(arg, "system", 6) && (arg[6] == '\0' || arg[6] == '/')) {
		if (whole != (arg[6] == '\0'))
			return 0;
		return broker_set_domain(CTL_DOMAIN_SYSTEM, NULL, 0, false, arg) ? -2 : 6;
	}
	if (!strncmp(arg, "gui/", 4))
		uid_s = arg + 4;
	else if (!strncmp(arg, "user/", 5))
		uid_s = arg + 5;
	else
		return 0;
	slash = strchr(uid_s, '/');
	if (whole != !slash)
		return whole ? -1 : 0;
	if (parse_uid(uid_s, slash ? (size_t)(slash - uid_s) : strlen(uid_s), &uid) < 0)
		return -1;
	if (broker_set_domain(CTL_DOMAIN_USER, NULL, uid, true, arg))
		return -2;
	return (int)(slash ? (size_t)(slash - arg) : strlen(arg));
}

/*
 * target_parse() - a service target or a label.
 * @ret_label: points into @arg.  Return: 0, or EXIT_USAGE (said).
 */
int target_parse(const char *arg, const char **ret_label)
{
	int n = domain_prefix(arg, false);

	if (n == -2)
		return EXIT_USAGE;
	if (n < 0)
		return ctl_usage_error(NULL, "%s: not a service target (system/LABEL, gui/UID/LABEL)", arg);
	*ret_label = arg + n + (n > 0);
	if (!**ret_label)
		return ctl_usage_error(NULL, "%s: no label", arg);
	return 0;
}

/* target_parse_domain() - "system", "gui/UID", "user/UID". Return: 0 or EXIT_USAGE. */
int target_parse_domain(const char *arg)
{
	int n = domain_prefix(arg, true);

	if (n == -2)
		return EXIT_USAGE;
	if (n <= 0)
		return ctl_usage_error(NULL, "%s: not a domain (system, gui/UID, user/UID)", arg);
	return 0;
}

/* target_plist_label() - the Label of the job file @path. Return: 0 with
 * *ret_label (the caller frees), or -errno (EINVAL: no Label). */
int target_plist_label(const char *path, char **ret_label)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	long size;
	plist_t root = NULL, node;
	const char *label;
	int r = -EINVAL;

	if (!f)
		return -errno;
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > 0 && size < (1 << 24) && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)size)) && fread(buf, 1, (size_t)size, f) == (size_t)size)
		plist_from_memory(buf, (uint32_t)size, &root);
	fclose(f);
	free(buf);
	node = root && plist_get_node_type(root) == PLIST_DICT ? plist_dict_get_item(root, "Label") : NULL;
	if (node && plist_get_node_type(node) == PLIST_STRING && (label = plist_get_string_ptr(node, NULL)) && *label) {
		*ret_label = strdup(label);
		r = *ret_label ? 0 : -ENOMEM;
	}
	if (root)
		plist_free(root);
	return r;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_plist_name(const char *n)
{
	size_t len = strlen(n);

	return n[0] != '.' && len > 6 && !strcmp(n + len - 6, ".plist");
}

static int list_dir(const char *dir, char ***ret, size_t *ret_n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **v = NULL, p[PATH_MAX];
	size_t n = 0;
	struct stat st;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		char **nv;
		if (!is_plist_name(e->d_name) || snprintf(p, sizeof(p), "%s/%s", dir, e->d_name) >= (int)sizeof(p) ||
		    stat(p, &st) < 0 || !S_ISREG(st.st_mode) || !(nv = realloc(v, (n + 1) * sizeof(*v))))
			continue;
		v = nv;
		if ((v[n] = realpath(p, NULL)))
			n++;
	}
	closedir(d);
	qsort(v, n, sizeof(*v), name_cmp);
	*ret = v;
	*ret_n = n;
	return 0;
}

/*
 * target_expand_paths() - @arg's job files, absolute: the file itself, or
 * a directory's *.plist files.  Return: 0 with *ret_paths (free with
 * target_free_paths; may be empty for a directory), or -errno.
 */
int target_expand_paths(const char *arg, char ***ret_paths, size_t *ret_n)
{
	struct stat st;
	char *abs;

	if (stat(arg, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return list_dir(arg, ret_paths, ret_n);
	abs = realpath(arg, NULL);
	if (!abs)
		return -errno;
	*ret_paths = malloc(sizeof(char *));
	if (!*ret_paths) {
		free(abs);
		return -ENOMEM;
	}
	(*ret_paths)[0] = abs;
	*ret_n = 1;
	return 0;
}

void target_free_paths(char **paths, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
}
