/* SPDX-License-Identifier: MIT */
/*
 * <bsm/libbsm.h> - the accessors of an audit token (macOS libbsm), for the
 * tokens of <xpc/private.h>.  Inline: they only read the token's fields, so
 * nothing is exported for them.
 */
#ifndef _LIBBSM_H_
#define _LIBBSM_H_

#include <bsm/audit.h>

#ifdef __cplusplus
extern "C" {
#endif

static __inline__ au_id_t audit_token_to_auid(audit_token_t atoken)
{
	return (au_id_t)atoken.val[0];
}

static __inline__ uid_t audit_token_to_euid(audit_token_t atoken)
{
	return (uid_t)atoken.val[1];
}

static __inline__ gid_t audit_token_to_egid(audit_token_t atoken)
{
	return (gid_t)atoken.val[2];
}

static __inline__ uid_t audit_token_to_ruid(audit_token_t atoken)
{
	return (uid_t)atoken.val[3];
}

static __inline__ gid_t audit_token_to_rgid(audit_token_t atoken)
{
	return (gid_t)atoken.val[4];
}

static __inline__ pid_t audit_token_to_pid(audit_token_t atoken)
{
	return (pid_t)atoken.val[5];
}

static __inline__ au_asid_t audit_token_to_asid(audit_token_t atoken)
{
	return (au_asid_t)atoken.val[6];
}

static __inline__ int audit_token_to_pidversion(audit_token_t atoken)
{
	return (int)atoken.val[7];
}

#ifdef __cplusplus
}
#endif

#endif /* _LIBBSM_H_ */
