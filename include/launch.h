/* SPDX-License-Identifier: MIT */
/*
 * <launch.h> - launchd's interface for a job, as far as xpcd offers it.
 *
 * Only launch_activate_socket(), with Apple's signature and errors: a job
 * fetches the sockets xpcd created for it from its property list's Sockets
 * key (xpcd.plist(5)).  The older launch_msg()/launch_data_t interface,
 * deprecated by Apple, is not provided.
 */
#ifndef _LAUNCH_H_
#define _LAUNCH_H_

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * launch_activate_socket() - the descriptors of the Sockets entry @name
 * @fds:  set on success to a malloc'd array the caller frees (the
 *        descriptors are the caller's, close-on-exec)
 * @cnt:  set on success to the number of descriptors (an internet name
 *        without SockFamily has one per address family)
 *
 * Return: 0, or an errno value: ENOENT (no socket of that name in the
 * job's property list), ESRCH (the process was not started by xpcd as a
 * job with Sockets), EALREADY (that name was already activated in this
 * process), EINVAL (a NULL argument), ENOMEM.
 */
__attribute__((visibility("default"))) int launch_activate_socket(const char *name, int **fds, size_t *cnt);

#ifdef __cplusplus
}
#endif

#endif
