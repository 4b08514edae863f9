/* SPDX-License-Identifier: MIT */
/*
 * host.c - in libxpc-remote.so only (module.h): the module's entry point,
 * and the internal functions of the layers below that the remote code
 * calls, each forwarding to libxpc.so's own through the RemoteHost table
 * the entry received.  Linking them here instead of the layers' static
 * libraries keeps one copy of the connection layer, the object types and
 * the fault state in the process: libxpc.so's.
 *
 * The table points at the module's own definitions of the public and
 * private names (client.c, src/private/remote.c); the module's version
 * script (module.map) keeps them local, so they never meet libxpc.so's
 * forwarders of the same names.
 *
 * The entry is called once, under libxpc.so's pthread_once, before any
 * other function of the module, so `host` needs no lock afterwards.
 */
#include <stdlib.h>
#include <string.h>

#include <xpc/remote.h>

#include "connection/connection.h"
#include "private/xpc-private.h"
#include "shared/assert.h"
#include "shared/fault.h"
#include "transport/remote/module.h"
#include "wire/wire.h"

static const RemoteHost *host;

static const RemoteModule module = {
	.abi = REMOTE_MODULE_ABI,
	.size = sizeof(RemoteModule),
	.version = XPC_PACKAGE_VERSION,
	.copy_services = xpc_linux_remote_copy_services_with_options,
	.connection_create = xpc_linux_remote_connection_create_with_options,
	.tls_load = _xpc_linux_remote_tls_load,
	.tls_release = _xpc_linux_remote_tls_release,
	.listen = _xpc_linux_remote_listen,
	.handshake = _xpc_linux_remote_handshake,
	.serve_discovery = _xpc_linux_remote_serve_discovery,
	.serve_service = _xpc_linux_remote_serve_service,
};

__attribute__((visibility("default"))) const RemoteModule *_xpc_linux_remote_module_entry(const RemoteHost *h);

const RemoteModule *_xpc_linux_remote_module_entry(const RemoteHost *h)
{
	if (!h || h->abi != REMOTE_MODULE_ABI || h->size != sizeof(RemoteHost) || !h->version ||
	    strcmp(h->version, XPC_PACKAGE_VERSION) != 0)
		return NULL;
	host = h;
	return &module;
}

xpc_connection_t connection_create_from_socket(int fd, dispatch_queue_t q)
{
	return host->connection_create_from_socket(fd, q);
}

int wire_encode_object(xpc_object_t obj, WireBuffer *buf)
{
	return host->wire_encode_object(obj, buf);
}

int wire_decode_object(const void *data, size_t len, xpc_object_t *ret_obj)
{
	return host->wire_decode_object(data, len, ret_obj);
}

void wire_buffer_free(WireBuffer *buf)
{
	host->wire_buffer_free(buf);
}

const char *wire_strerror(int err)
{
	return host->wire_strerror(err);
}

void assert_fail(const char *expr, const char *file, int line, const char *func)
{
	host->assert_fail(expr, file, line, func);
	abort(); /* not reached: the host's does not return */
}

bool fault_hit(FaultPoint p)
{
	return host->fault_hit && host->fault_hit(p);
}

bool fault_block_allocates(const void *block)
{
	return host->fault_block_allocates && host->fault_block_allocates(block);
}
