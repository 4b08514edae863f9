/* SPDX-License-Identifier: MIT */
/*
 * endpoint.c - endpoints (a duplicate of a listener's W) and connections
 * stored in containers.
 *
 * xpc_endpoint_create() works on anything that knows a W: an anonymous
 * listener, and a client made from an endpoint or a name (once looked up).
 * Storing a connection in a dictionary or array stores an endpoint for it
 * (what travels is the capability to connect, never the link itself);
 * reading one back as a connection connects through that endpoint.
 */
#include "connection/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

xpc_endpoint_t endpoint_create_from_send_fd(int send_fd)
{
	int fd = fcntl(send_fd, F_DUPFD_CLOEXEC, 3);

	if (fd < 0)
		return NULL;
	return (xpc_endpoint_t)endpoint_object_create_consume(fd);
}

xpc_endpoint_t xpc_endpoint_create(xpc_connection_t connection)
{
	int w;

	if (!connection || xpc_get_type(connection) != XPC_TYPE_CONNECTION)
		return NULL;
	conn_lock(connection);
	w = connection->send_w >= 0 ? fcntl(connection->send_w, F_DUPFD_CLOEXEC, 3) : -1;
	conn_unlock(connection);
	if (w < 0)
		return NULL;
	return (xpc_endpoint_t)endpoint_object_create_consume(w);
}

int xpc_endpoint_compare(xpc_endpoint_t endpoint1, xpc_endpoint_t endpoint2)
{
	struct stat a, b;
	int fa = endpoint_object_borrow_fd((xpc_object_t)endpoint1);
	int fb = endpoint_object_borrow_fd((xpc_object_t)endpoint2);

	if (fa < 0 || fb < 0 || fstat(fa, &a) < 0 || fstat(fb, &b) < 0)
		return fa < fb ? -1 : fa > fb;
	if (a.st_ino != b.st_ino)
		return a.st_ino < b.st_ino ? -1 : 1;
	return 0;
}

void xpc_dictionary_set_connection(xpc_object_t xdict, const char *key, xpc_connection_t connection)
{
	xpc_endpoint_t ep = xpc_endpoint_create(connection);

	if (!ep)
		return;
	xpc_dictionary_set_value(xdict, key, ep);
	xpc_release(ep);
}

xpc_connection_t xpc_dictionary_create_connection(xpc_object_t xdict, const char *key)
{
	xpc_object_t v = xpc_dictionary_get_value(xdict, key);

	if (!v || xpc_get_type(v) != XPC_TYPE_ENDPOINT)
		return NULL;
	return xpc_connection_create_from_endpoint((xpc_endpoint_t)v);
}

void xpc_array_set_connection(xpc_object_t xarray, size_t index, xpc_connection_t connection)
{
	xpc_endpoint_t ep = xpc_endpoint_create(connection);

	if (!ep)
		return;
	if (index == XPC_ARRAY_APPEND)
		xpc_array_append_value(xarray, ep);
	else
		xpc_array_set_value(xarray, index, ep);
	xpc_release(ep);
}

xpc_connection_t xpc_array_create_connection(xpc_object_t xarray, size_t index)
{
	xpc_object_t v = xpc_array_get_value(xarray, index);

	if (!v || xpc_get_type(v) != XPC_TYPE_ENDPOINT)
		return NULL;
	return xpc_connection_create_from_endpoint((xpc_endpoint_t)v);
}
