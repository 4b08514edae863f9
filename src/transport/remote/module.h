/* SPDX-License-Identifier: MIT */
/*
 * module.h - the face between libxpc.so and its RemoteXPC module,
 * libxpc-remote.so (docs/remote.md, "The module").
 *
 * The remote layer needs nghttp2 and OpenSSL, whose pages (~1.9 MiB
 * resident) every process linking libxpc.so would otherwise carry.  So the
 * layer is built twice: as a static library for tests and tools that link
 * the layers directly (internal_dep), and as a shared module that
 * libxpc.so dlopen()s (RTLD_NOW | RTLD_LOCAL) on the first remote call
 * (load.c: the public xpc_linux_remote_* and the private
 * _xpc_linux_remote_* functions of libxpc.so forward to it).
 *
 * The module links libxpc.so for the public API (xpc_*, dispatch_*);
 * the few internal functions of the layers below that the remote code
 * calls reach libxpc.so's copies through a RemoteHost table handed over
 * at load (host.c defines them in the module), so both sides share one
 * set of object types, queues and fault state.  The module exports one
 * symbol, REMOTE_MODULE_ENTRY; libxpc.so refuses a module whose stamp
 * (ABI number and package version) is not its own.
 */
#ifndef XPC_REMOTE_MODULE_H
#define XPC_REMOTE_MODULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <dispatch/dispatch.h>
#include <xpc/xpc.h>

#include "shared/fault.h"
#include "wire/wire.h"

/* Bumped whenever RemoteHost or RemoteModule change. */
#define REMOTE_MODULE_ABI 1u
#define REMOTE_MODULE_ENTRY "_xpc_linux_remote_module_entry"

#ifndef XPC_PACKAGE_VERSION
#error "XPC_PACKAGE_VERSION is set by meson.build"
#endif

typedef struct RemoteTls RemoteTls;

/* What the module calls in libxpc.so (the layers' internal faces). */
typedef struct RemoteHost {
	unsigned abi;
	size_t size;            /* sizeof(RemoteHost) */
	const char *version;    /* XPC_PACKAGE_VERSION */
	xpc_connection_t (*connection_create_from_socket)(int fd, dispatch_queue_t q);
	int (*wire_encode_object)(xpc_object_t obj, WireBuffer *buf);
	int (*wire_decode_object)(const void *data, size_t len, xpc_object_t *ret_obj);
	void (*wire_buffer_free)(WireBuffer *buf);
	const char *(*wire_strerror)(int err);
	void (*assert_fail)(const char *expr, const char *file, int line, const char *func);
	bool (*fault_hit)(FaultPoint p);                  /* NULL unless fault injection */
	bool (*fault_block_allocates)(const void *block); /* NULL unless fault injection */
} RemoteHost;

/* What libxpc.so calls in the module: <xpc/remote.h> and the private API
 * (src/private/xpc-private.h), same contracts. */
typedef struct RemoteModule {
	unsigned abi;
	size_t size;            /* sizeof(RemoteModule) */
	const char *version;
	xpc_object_t (*copy_services)(const char *host, uint16_t port, xpc_object_t options, char **ret_error);
	xpc_connection_t (*connection_create)(const char *host, uint16_t port, const char *name, xpc_object_t options,
					      dispatch_queue_t targetq);
	RemoteTls *(*tls_load)(const char *path, bool psk_line, char **ret_error);
	void (*tls_release)(RemoteTls *tls);
	int (*listen)(const char *addr, uint16_t port, bool any_address, uint16_t *ret_port);
	xpc_object_t (*handshake)(const uint8_t uuid[16], xpc_object_t properties, const char *const *names,
				  const uint16_t *ports, size_t n);
	int (*serve_discovery)(int listen_fd, xpc_object_t handshake, RemoteTls *tls);
	int (*serve_service)(int listen_fd, const char *name, RemoteTls *tls);
} RemoteModule;

/*
 * The module's one export: checks @host's stamp, keeps it for host.c.
 * Return: the module's table, or NULL when the stamps differ.
 */
typedef const RemoteModule *(*RemoteModuleEntry)(const RemoteHost *host);

#endif
