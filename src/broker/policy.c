/* SPDX-License-Identifier: MIT */
/*
 * policy.c - who may use a job's names, and what a caller sees of a job.
 *
 * lookup is open to every client the job's policy admits (XPCDAllowedUIDs,
 * XPCDAllowedGroups: the peer's euid is listed, or its egid, or a group its
 * user belongs to per the group database; no rule at all admits anyone).
 * The operations that change state only to the broker's own user and root
 * (policy_is_owner; the table of ops.c says which need it).
 *
 * What a caller sees of a job follows the same policy (policy_sight): root
 * and the job's own user (UserName's, else the broker's) get everything;
 * anyone else only the label, state and names of the jobs whose names they
 * may look up, and nothing of the others.  A leaf: it reads jobs and the
 * user and group databases, nothing else of the broker.
 */
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include "broker/policy.h"

bool policy_is_owner(const Caller *who)
{
	return who->uid == 0 || who->uid == geteuid();
}

static bool gid_listed(const Job *job, gid_t gid)
{
	for (size_t i = 0; i < job->n_allowed_gids; i++)
		if (job->allowed_gids[i] == gid)
			return true;
	return false;
}

/* True when a group of @uid's user (group database) is listed. */
static bool member_listed(const Job *job, uid_t uid)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	gid_t groups[256];
	int n = 256;

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) != 0 || !res)
		return false;
	if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &n) < 0)
		return false;
	for (int i = 0; i < n; i++)
		if (gid_listed(job, groups[i]))
			return true;
	return false;
}

bool policy_may_lookup(const Job *job, const Caller *who)
{
	if (!job->allowed_uids && !job->allowed_gids)
		return true;
	for (size_t i = 0; i < job->n_allowed_uids; i++)
		if (job->allowed_uids[i] == who->uid)
			return true;
	if (!job->allowed_gids)
		return false;
	return gid_listed(job, who->gid) || member_listed(job, who->uid);
}

/* The uid @job runs as: UserName's on a root broker, else the broker's.
 * False when UserName does not resolve. */
bool policy_job_uid(const Job *job, uid_t *ret)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	*ret = geteuid();
	if (!job->user || geteuid() != 0)
		return true;
	if (getpwnam_r(job->user, &pw, buf, sizeof(buf), &res) != 0 || !res)
		return false;
	*ret = pw.pw_uid;
	return true;
}

PolicySight policy_sight(const Job *job, const Caller *who)
{
	uid_t owner;

	if (policy_is_owner(who) || (policy_job_uid(job, &owner) && owner == who->uid))
		return POLICY_SEE_ALL;
	return policy_may_lookup(job, who) ? POLICY_SEE_STATE : POLICY_SEE_NOTHING;
}
