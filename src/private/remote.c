/* SPDX-License-Identifier: MIT */
/*
 * remote.c - the private API's RemoteXPC part (xpc-private.h): what
 * xpc-remoted and xpcd need of the remote layer's serving side
 * (src/transport/remote/serve.c, net.c, tls.c), so that both link libxpc.so and
 * carry no copy of it.  Each function forwards; errors become text.
 *
 * Compiled into the RemoteXPC module (libxpc-remote.so), whose table
 * libxpc.so's functions of these names reach (src/transport/remote/
 * load.c, module.h), and into the programs that link the layers directly
 * (internal_dep), where there is nothing to load.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "private/xpc-private.h"
#include "transport/remote/remote.h"
#include "transport/remote/serve.h"

bool _xpc_linux_remote_available(char **ret_error)
{
	if (ret_error)
		*ret_error = NULL;
	return true;
}

_xpc_linux_remote_tls_t _xpc_linux_remote_tls_load(const char *path, bool psk_line, char **ret_error)
{
	const char *why = NULL;
	RemoteTls *t = psk_line ? remote_tls_load_psk_file(true, path, &why) : remote_tls_load_config(true, path, &why);

	*ret_error = NULL;
	if (!t && asprintf(ret_error, "%s", why ? why : "cannot load") < 0)
		*ret_error = NULL;
	return t;
}

void _xpc_linux_remote_tls_release(_xpc_linux_remote_tls_t tls)
{
	remote_tls_release(tls);
}

int _xpc_linux_remote_listen(const char *addr, uint16_t port, bool any_address, uint16_t *ret_port)
{
	return remote_net_listen(addr, port, any_address, ret_port);
}

xpc_object_t _xpc_linux_remote_handshake(const uint8_t uuid[16], xpc_object_t properties, const char *const *names,
					 const uint16_t *ports, size_t n)
{
	return remote_serve_handshake(uuid, properties, names, ports, n);
}

int _xpc_linux_remote_serve_discovery(int listen_fd, xpc_object_t handshake, _xpc_linux_remote_tls_t tls)
{
	return remote_serve_discovery(listen_fd, handshake, tls) ? 0 : -ENOMEM;
}

int _xpc_linux_remote_serve_service(int listen_fd, const char *name, _xpc_linux_remote_tls_t tls)
{
	return remote_serve_service(listen_fd, name, tls) ? 0 : -ENOMEM;
}
