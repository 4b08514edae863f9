/* SPDX-License-Identifier: MIT */
/*
 * jobdirs.c - the job directories (--jobs DIR, or the domain's): every
 * *.plist file in them is a job, loaded in name order at start
 * (jobdirs_load) and again when asked (SIGHUP, `xpcctl reload`:
 * jobdirs_rescan).  A rescan compares each file with the job loaded from
 * it (path, modification time and size):
 *
 *   new file       loaded (and started or watched, as at start)
 *   file gone      its job unloaded (stopped, as by `xpcctl unload`)
 *   file changed   its job unloaded, and the file loaded again once the
 *                  old instance has stopped (Job.reload_after_exit), so
 *                  two instances of one label never run
 *
 * Jobs loaded by `xpcctl load` from elsewhere are not touched.  A
 * directory that cannot be read is reported (the log names it and why)
 * and skipped, at start as in a rescan.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "broker/broker.h"
#include "broker/jobdirs.h"
#include "broker/log.h"
#include "broker/notify.h"
#include "broker/plist.h"
#include "broker/registry.h"
#include "broker/supervise.h"

/* True for "*.plist". */
static bool is_job_file(const char *name)
{
	size_t len = strlen(name);

	return len > 6 && !strcmp(name + len - 6, ".plist");
}

/* Loads @path into @b, noting where it came from.  Return: 0 or -1
 * (reported). */
static int load_one(Broker *b, const char *path)
{
	char err[1024];
	struct stat st;
	Job *job = NULL;

	if (plist_load_job(path, &job, err, sizeof(err)) < 0) {
		log_line(LOG_ERR, "%s", err);
		return -1;
	}
	job->from_dir = true;
	if (stat(path, &st) == 0) {
		job->file_mtime = st.st_mtim;
		job->file_size = st.st_size;
	}
	if (supervise_add(b, job, err, sizeof(err)) < 0) {
		log_line(LOG_ERR, "%s", err);
		return -1;
	}
	return 0;
}

void jobdirs_load_file(Broker *b, const char *path)
{
	if (load_one(b, path) == 0)
		log_line(LOG_INFO, "%s: loaded again (the file changed)", path);
}

/* The job loaded from @path, NULL if none (unloading ones do not count). */
static Job *job_of_file(Broker *b, const char *path)
{
	for (Job *j = registry_first(&b->registry); j; j = j->next)
		if (j->from_dir && !j->unloading && j->path && !strcmp(j->path, path))
			return j;
	return NULL;
}

/* One file of a rescan: new, changed or the same. */
static void rescan_file(Broker *b, const char *path, JobdirsCounts *c)
{
	Job *job = job_of_file(b, path);
	struct stat st;

	if (!job) {
		if (load_one(b, path) == 0)
			c->loaded++;
		else
			c->failed++;
		return;
	}
	if (stat(path, &st) < 0 || (st.st_mtim.tv_sec == job->file_mtime.tv_sec &&
				    st.st_mtim.tv_nsec == job->file_mtime.tv_nsec && st.st_size == job->file_size))
		return;
	log_line(LOG_INFO, "%s: %s changed: unloading, then loading it again", job->label, path);
	c->changed++;
	job->reload_after_exit = true;
	supervise_remove(job); /* loads it again once removed (Broker.reload_file) */
}

/* Every job file of @dir through @fn; false when @dir cannot be read. */
static bool each_file(Broker *b, const char *dir, JobdirsCounts *c,
		      void (*fn)(Broker *b, const char *path, JobdirsCounts *c))
{
	struct dirent **names = NULL;
	int n = scandir(dir, &names, NULL, alphasort);
	char path[4096];

	if (n < 0) {
		log_line(LOG_WARNING, "job directory %s: %s (skipped)", dir, strerror(errno));
		return false;
	}
	for (int i = 0; i < n; i++) {
		if (is_job_file(names[i]->d_name) &&
		    snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name) < (int)sizeof(path))
			fn(b, path, c);
		free(names[i]);
	}
	free(names);
	return true;
}

static void load_file(Broker *b, const char *path, JobdirsCounts *c)
{
	if (load_one(b, path) == 0)
		c->loaded++;
	else
		c->failed++;
}

void jobdirs_load(Broker *b)
{
	JobdirsCounts c = {0};

	for (size_t i = 0; i < b->config.n_job_dirs; i++)
		each_file(b, b->config.job_dirs[i], &c, load_file);
}

/* True when @path is a job file of one of the directories and exists. */
static bool file_still_there(const Broker *b, const char *path)
{
	struct stat st;
	size_t n;

	for (size_t i = 0; i < b->config.n_job_dirs; i++) {
		n = strlen(b->config.job_dirs[i]);
		if (!strncmp(path, b->config.job_dirs[i], n) && path[n] == '/' && !strchr(path + n + 1, '/'))
			return stat(path, &st) == 0;
	}
	return false;
}

void jobdirs_rescan(Broker *b, JobdirsCounts *ret)
{
	JobdirsCounts c = {0};
	Job *next;

	for (Job *j = registry_first(&b->registry); j; j = next) {
		next = j->next; /* supervise_remove may unlink j */
		if (j->from_dir && !j->unloading && !file_still_there(b, j->path)) {
			log_line(LOG_INFO, "%s: %s is gone: unloading", j->label, j->path);
			supervise_remove(j);
			c.unloaded++;
		}
	}
	for (size_t i = 0; i < b->config.n_job_dirs; i++)
		each_file(b, b->config.job_dirs[i], &c, rescan_file);
	log_line(LOG_INFO, "job directories rescanned: %u loaded, %u unloaded, %u changed, %u failed", c.loaded,
		 c.unloaded, c.changed, c.failed);
	if (ret)
		*ret = c;
}

void jobdirs_reload(Broker *b, JobdirsCounts *ret)
{
	notify_send("RELOADING=1");
	jobdirs_rescan(b, ret);
	notify_send("READY=1");
}
