/* SPDX-License-Identifier: MIT */
/*
 * job.c - a job's life as an object: made with launchd's defaults
 * (job_new; plist.c fills in the definition) and freed with everything it
 * owns (job_free).  Its channels, process and place in the registry
 * belong to channel.c, launch.c and registry.c.
 */
#include <stdlib.h>

#include "broker/activity-plist.h"
#include "broker/job.h"
#include "broker/keys.h"

Job *job_new(void)
{
	Job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->keepalive_successful_exit = KEEPALIVE_UNSET;
	j->keepalive_crashed = KEEPALIVE_UNSET;
	j->throttle_interval = 10;
	j->exit_timeout = 20;
	j->last_status = -1;
	j->init_groups = true;
	j->watch.ifd = -1;
	j->inetd_conn = -1;
	j->calendar_due = -1;
	j->txn_fd = -1;
	return j;
}

static void free_strv(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

void job_free(Job *job)
{
	if (!job)
		return;
	for (size_t i = 0; i < job->n_services; i++)
		free(job->services[i].name);
	free(job->services);
	free_strv(job->argv);
	free_strv(job->env);
	free(job->label);
	free(job->path);
	free(job->program);
	free(job->workdir);
	free(job->user);
	free(job->group);
	free(job->stdin_path);
	free(job->stdout_path);
	free(job->stderr_path);
	free(job->allowed_uids);
	free(job->allowed_gids);
	free(job->inetd_set); /* plain memory: inetd_stop closed what it held */
	activity_plist_free(job);
	keys_free(job);
	free(job);
}
