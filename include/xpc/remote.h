/* SPDX-License-Identifier: MIT */
/*
 * <xpc/remote.h> - RemoteXPC: XPC services on another host (Linux
 * extension; docs/remote.md).
 *
 * Apple's cross-host XPC speaks HTTP/2 over TCP: a discovery port answers
 * with the host's properties and the services it offers, each on a port of
 * its own; a service port carries requests and replies in Apple's framing.
 * xpc-remoted(8) serves chosen local services that way; these calls reach
 * such a host (or anything else speaking the framing).
 *
 * Sessions are cleartext, or inside TLS (the _with_options calls) with a
 * pre-shared key or with certificates, mutually authenticated.
 *
 * Nothing here exists in Apple's headers; every name carries the prefix
 * xpc_linux_ so it cannot collide with a future Apple function.  The calls
 * block while they connect (at most XPC_LINUX_REMOTE_TIMEOUT_MS).
 */
#ifndef __XPC_REMOTE_H__
#define __XPC_REMOTE_H__

#include <stdint.h>
#include <xpc/xpc.h>

__XPC_BEGIN_DECLS

#define XPC_LINUX_REMOTE_TIMEOUT_MS 10000

/*
 * The handshake dictionary of the discovery port @port of @host: keys
 * "MessageType" ("Handshake"), "MessagingProtocolVersion", "UUID",
 * "Properties" (a dictionary) and "Services" (name -> { "Port": decimal
 * string, "Properties": dictionary }).
 * Return: a +1 dictionary, or NULL with errno set: EHOSTUNREACH (@host did
 * not resolve), ECONNREFUSED, ETIMEDOUT, EPROTO (the peer did not speak the
 * protocol or sent no handshake: the reason in *ret_error), ENOMEM, ELIBACC
 * (libxpc's RemoteXPC module, libxpc-remote.so, which these calls load on
 * first use, is missing or not this libxpc's: *ret_error names it).  With
 * @ret_error not NULL, a malloc'd message on failure.
 */
XPC_LINUX_EXTENSION
XPC_EXPORT xpc_object_t xpc_linux_remote_copy_services(const char *host, uint16_t port, char **ret_error);

/*
 * A connection to the service @name of @host, found through the host's
 * discovery port @port; with @name NULL, @port is the service's own port.
 * The connection is an ordinary xpc_connection_t, inactive as
 * xpc_connection_create() returns one: set an event handler and resume it.
 * Messages, replies (asynchronous and _sync), barriers, suspend and cancel
 * behave as on a local connection, with these differences:
 * - when the TCP session ends (the host went away, the link broke, the
 *   remote side gave up) the connection becomes invalid
 *   (XPC_ERROR_CONNECTION_INVALID; pending replies get it too); make a
 *   new one to go on;
 * - a request the remote side could not deliver or answer gets a reply
 *   dictionary holding only XPC_ERROR_KEY_DESCRIPTION (an error-shaped
 *   dictionary, e.g. "Connection interrupted" when the remote job died);
 * - fd, shmem, endpoint and connection objects cannot cross hosts: a
 *   message holding one is not sent, and if it wanted a reply it gets an
 *   error-shaped dictionary saying so;
 * - get_pid/euid/egid describe this process, not the remote host.
 * Return: a +1 connection, or NULL with errno set as for
 * xpc_linux_remote_copy_services(), and ENOENT when the host does not
 * offer @name.
 */
XPC_LINUX_EXTENSION
XPC_EXPORT xpc_connection_t xpc_linux_remote_connection_create(const char *host, uint16_t port, const char *name,
							       dispatch_queue_t targetq);

/*
 * Options of the _with_options calls: a dictionary (NULL: none).
 * - XPC_LINUX_REMOTE_TLS_PSK_IDENTITY (string, 1..128 bytes) and
 *   XPC_LINUX_REMOTE_TLS_PSK (data, 16..64 bytes): run the session inside
 *   TLS with that pre-shared key; the host (xpc-remoted --psk-file) must
 *   hold the same identity and key.  There are no certificates: each side
 *   proves it knows the key.
 * - XPC_LINUX_REMOTE_TLS_CONFIG (string): the absolute path of a TLS
 *   configuration file, as xpc-remoted --tls takes (xpc-remoted(8)): a
 *   "psk", or this client's "certificate" and "private-key" and the hosts
 *   it accepts ("peer-sha256" fingerprints, or a "ca" and "peer-subject"
 *   names).  A file that does not load is EINVAL.  Not with the PSK keys.
 * Without any of them the session is cleartext.  Other keys are refused
 * (EINVAL), as are a missing or malformed half.
 */
#define XPC_LINUX_REMOTE_TLS_PSK_IDENTITY "TLSPSKIdentity"
#define XPC_LINUX_REMOTE_TLS_PSK "TLSPSK"
#define XPC_LINUX_REMOTE_TLS_CONFIG "TLSConfigFile"

/*
 * On the serving side: every message a remote peer sends reaches the local
 * service (through xpc-remoted or an xpcd export) with this key set to the
 * peer's address as accepted, "ADDR:PORT" ("[ADDR]:PORT" for IPv6); a value
 * the peer put there itself is replaced.  Its presence tells a service the
 * peer is remote (the connection's credentials are the xpc-remoted
 * account's, never a remote user's).
 */
#define XPC_LINUX_REMOTE_PEER_ADDRESS_KEY "XPCRemotePeerAddress"

XPC_LINUX_EXTENSION
XPC_EXPORT xpc_object_t xpc_linux_remote_copy_services_with_options(const char *host, uint16_t port,
								    xpc_object_t options, char **ret_error);

XPC_LINUX_EXTENSION
XPC_EXPORT xpc_connection_t xpc_linux_remote_connection_create_with_options(const char *host, uint16_t port,
									    const char *name, xpc_object_t options,
									    dispatch_queue_t targetq);

__XPC_END_DECLS

#endif /* __XPC_REMOTE_H__ */
