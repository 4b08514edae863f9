/* SPDX-License-Identifier: MIT */
/*
 * load.c - in libxpc.so only (module.h): the public xpc_linux_remote_*
 * calls of <xpc/remote.h> and the private _xpc_linux_remote_* calls of
 * src/private/xpc-private.h, each loading the RemoteXPC module
 * (libxpc-remote.so: nghttp2, OpenSSL and the remote layer) on first use
 * and forwarding to it.  A process that never calls them never maps those
 * libraries (docs/performance.md, "The idle client").
 *
 * Where the module is, decided once per process, never from a relative
 * path or a search path:
 * 1. $XPC_LINUX_REMOTE_MODULE, through secure_getenv(): an absolute path,
 *    for tests; ignored in a set-uid, set-gid or capability-raising
 *    process (glibc's secure-execution mode);
 * 2. when this libxpc.so is the build tree's (its real path is the one
 *    meson.build compiled in), the module built beside it, so the tests
 *    and tools of an uninstalled build use their own;
 * 3. otherwise XPC_REMOTE_MODULE_PATH, $libdir/libxpc/libxpc-remote.so as
 *    configured at build time.
 * It is opened with RTLD_NOW | RTLD_LOCAL and stays loaded.  A module that
 * does not load, lacks the entry or carries another build's stamp is
 * refused, and every call fails as documented: errno ELIBACC, and the
 * reason (the path and dlerror()'s text) where the call returns text.
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xpc/remote.h>

#include "connection/connection.h"
#include "private/xpc-private.h"
#include "shared/assert.h"
#include "shared/fault.h"
#include "transport/remote/module.h"
#include "wire/wire.h"

#ifndef XPC_REMOTE_MODULE_PATH
#error "XPC_REMOTE_MODULE_PATH is set by meson.build"
#endif
#ifndef XPC_BUILD_LIBXPC
#error "XPC_BUILD_LIBXPC and XPC_BUILD_REMOTE_MODULE are set by meson.build"
#endif

static const RemoteHost remote_host = {
	.abi = REMOTE_MODULE_ABI,
	.size = sizeof(RemoteHost),
	.version = XPC_PACKAGE_VERSION,
	.connection_create_from_socket = connection_create_from_socket,
	.wire_encode_object = wire_encode_object,
	.wire_decode_object = wire_decode_object,
	.wire_buffer_free = wire_buffer_free,
	.wire_strerror = wire_strerror,
	.assert_fail = assert_fail,
#ifdef XPC_FAULT_INJECTION
	.fault_hit = fault_hit,
	.fault_block_allocates = fault_block_allocates,
#endif
};

static pthread_once_t remote_once = PTHREAD_ONCE_INIT;
static const RemoteModule *remote_module;
static char remote_why[PATH_MAX + 256]; /* set once, before remote_once ends */

/* Whether this libxpc.so is the build tree's. */
static bool remote_in_build_tree(void)
{
	Dl_info info;
	char self[PATH_MAX], built[PATH_MAX];

	if (!dladdr((const void *)&remote_host, &info) || !info.dli_fname)
		return false;
	if (!realpath(info.dli_fname, self) || !realpath(XPC_BUILD_LIBXPC, built))
		return false;
	return strcmp(self, built) == 0;
}

static const char *remote_module_path(void)
{
	const char *p = secure_getenv("XPC_LINUX_REMOTE_MODULE");

	if (p && p[0] == '/')
		return p;
	return remote_in_build_tree() ? XPC_BUILD_REMOTE_MODULE : XPC_REMOTE_MODULE_PATH;
}

static void remote_load_once(void)
{
	const char *path = remote_module_path();
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	RemoteModuleEntry entry;
	const char *err;

	if (!h) {
		err = dlerror();
		snprintf(remote_why, sizeof(remote_why), "RemoteXPC module not available: %s",
			 err ? err : path);
		return;
	}
	entry = (RemoteModuleEntry)dlsym(h, REMOTE_MODULE_ENTRY);
	remote_module = entry ? entry(&remote_host) : NULL;
	if (remote_module && (remote_module->abi != REMOTE_MODULE_ABI || remote_module->size != sizeof(RemoteModule)))
		remote_module = NULL;
	if (!remote_module) {
		snprintf(remote_why, sizeof(remote_why),
			 "RemoteXPC module %s: not the module of this libxpc %s", path, XPC_PACKAGE_VERSION);
		dlclose(h);
	}
}

/* The module, or NULL with errno ELIBACC (the reason: remote_why). */
static const RemoteModule *remote_get(void)
{
	pthread_once(&remote_once, remote_load_once);
	if (!remote_module)
		errno = ELIBACC;
	return remote_module;
}

/* *ret_error (if any) = a malloc'd copy of remote_why. */
static void remote_fail_text(char **ret_error)
{
	if (ret_error)
		*ret_error = strdup(remote_why);
	errno = ELIBACC;
}

/* ---- <xpc/remote.h> ---------------------------------------------------------- */

xpc_object_t xpc_linux_remote_copy_services_with_options(const char *host, uint16_t port, xpc_object_t options,
							 char **ret_error)
{
	const RemoteModule *m = remote_get();

	if (!m) {
		remote_fail_text(ret_error);
		return NULL;
	}
	return m->copy_services(host, port, options, ret_error);
}

xpc_object_t xpc_linux_remote_copy_services(const char *host, uint16_t port, char **ret_error)
{
	return xpc_linux_remote_copy_services_with_options(host, port, NULL, ret_error);
}

xpc_connection_t xpc_linux_remote_connection_create_with_options(const char *host, uint16_t port, const char *name,
								 xpc_object_t options, dispatch_queue_t targetq)
{
	const RemoteModule *m = remote_get();

	return m ? m->connection_create(host, port, name, options, targetq) : NULL;
}

xpc_connection_t xpc_linux_remote_connection_create(const char *host, uint16_t port, const char *name,
						    dispatch_queue_t targetq)
{
	return xpc_linux_remote_connection_create_with_options(host, port, name, NULL, targetq);
}

/* ---- the private API (xpc-private.h) ------------------------------------------ */

bool _xpc_linux_remote_available(char **ret_error)
{
	if (ret_error)
		*ret_error = NULL;
	if (remote_get())
		return true;
	remote_fail_text(ret_error);
	return false;
}

_xpc_linux_remote_tls_t _xpc_linux_remote_tls_load(const char *path, bool psk_line, char **ret_error)
{
	const RemoteModule *m = remote_get();

	if (!m) {
		remote_fail_text(ret_error);
		return NULL;
	}
	return m->tls_load(path, psk_line, ret_error);
}

void _xpc_linux_remote_tls_release(_xpc_linux_remote_tls_t tls)
{
	/* a configuration exists only if the module loaded */
	if (tls)
		remote_get()->tls_release(tls);
}

int _xpc_linux_remote_listen(const char *addr, uint16_t port, bool any_address, uint16_t *ret_port)
{
	const RemoteModule *m = remote_get();

	return m ? m->listen(addr, port, any_address, ret_port) : -ELIBACC;
}

xpc_object_t _xpc_linux_remote_handshake(const uint8_t uuid[16], xpc_object_t properties, const char *const *names,
					 const uint16_t *ports, size_t n)
{
	const RemoteModule *m = remote_get();

	return m ? m->handshake(uuid, properties, names, ports, n) : NULL;
}

int _xpc_linux_remote_serve_discovery(int listen_fd, xpc_object_t handshake, _xpc_linux_remote_tls_t tls)
{
	const RemoteModule *m = remote_get();

	if (!m) {
		close(listen_fd); /* consumed */
		return -ELIBACC;
	}
	return m->serve_discovery(listen_fd, handshake, tls);
}

int _xpc_linux_remote_serve_service(int listen_fd, const char *name, _xpc_linux_remote_tls_t tls)
{
	const RemoteModule *m = remote_get();

	if (!m) {
		close(listen_fd); /* consumed */
		return -ELIBACC;
	}
	return m->serve_service(listen_fd, name, tls);
}
