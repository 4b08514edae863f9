/* SPDX-License-Identifier: MIT */
/*
 * <xpc/endpoint.h> - endpoints: a capability to connect to a listener.
 *
 * An endpoint is made from a listener connection (anonymous or mach-service)
 * and may be sent inside messages to any number of processes; each holder can
 * turn it into a connection with xpc_connection_create_from_endpoint().
 */
#ifndef __XPC_ENDPOINT_H__
#define __XPC_ENDPOINT_H__

#ifndef __XPC_H__
#error "Please #include <xpc/xpc.h> instead of this file directly."
#endif

__XPC_BEGIN_DECLS

XPC_EXPORT XPC_MALLOC XPC_WARN_RESULT xpc_endpoint_t xpc_endpoint_create(xpc_connection_t connection);

/* Apple private SPI: true when both endpoints name the same listener. */
XPC_EXPORT int xpc_endpoint_compare(xpc_endpoint_t endpoint1, xpc_endpoint_t endpoint2);

__XPC_END_DECLS

#endif /* __XPC_ENDPOINT_H__ */
