/* SPDX-License-Identifier: MIT */
/*
 * macos-session.c - code written against Apple's macOS 14 SDK: the session,
 * listener and rich-error API, the private audit-token SPI and the newer
 * base.h macros, as a header written for macOS uses them.  test-install.sh
 * compiles it with clang -fblocks -Wall -Wextra -Wpedantic -Werror in C99,
 * C11 and as C++11 (nothing runs: that is tests/session's job).
 */
#include <xpc/xpc.h>
#include <xpc/private.h>
#include <bsm/libbsm.h>

/* A header of one's own in Apple's style. */
XPC_ASSUME_NONNULL_BEGIN
XPC_SWIFT_NOEXPORT
XPC_FLAGS_ENUM(my_options, uint64_t,
	MY_OPTION_NONE XPC_SWIFT_NAME("none") = 0,
	MY_OPTION_FAST XPC_SWIFT_NAME("fast") = (1 << 0));
XPC_ENUM(my_mode, uint32_t, MY_MODE_A = 1, MY_MODE_B = 2);
XPC_EXPORT XPC_WARN_RESULT XPC_RETURNS_RETAINED xpc_object_t my_copy_bytes(
	const void *XPC_SIZEDBY(length) bytes, size_t length, my_options_t options) XPC_SWIFT_NAME("copyBytes(_:_:_:)");
XPC_ASSUME_NONNULL_END

static xpc_session_t open_session(void)
{
	xpc_rich_error_t error = NULL;
	xpc_session_t session = xpc_session_create_mach_service("com.example.service", NULL,
								 XPC_SESSION_CREATE_INACTIVE | XPC_SESSION_CREATE_MACH_PRIVILEGED,
								 &error);
	if (!session) {
		char *d = xpc_rich_error_copy_description(error);
		free(d);
		(void)xpc_rich_error_can_retry(error);
		xpc_release(error);
		return NULL;
	}
	xpc_session_set_target_queue(session, NULL);
	xpc_session_set_incoming_message_handler(session, ^(xpc_object_t message) {
		audit_token_t token;
		xpc_dictionary_get_audit_token(message, &token);
		(void)audit_token_to_pid(token);
		(void)audit_token_to_pidversion(token);
	});
	xpc_session_set_cancel_handler(session, ^(xpc_rich_error_t why) {
		(void)why;
	});
	if (!xpc_session_activate(session, &error)) {
		xpc_release(error);
		return NULL;
	}
	return session;
}

static xpc_listener_t listen_here(void)
{
	return xpc_listener_create("com.example.service", NULL,
				   XPC_LISTENER_CREATE_INACTIVE | XPC_LISTENER_CREATE_FORCE_MACH, ^(xpc_session_t peer) {
					   if (xpc_get_type(peer) != XPC_TYPE_SESSION)
						   xpc_listener_reject_peer(peer, "not a session");
				   }, NULL);
}

int main(void)
{
	xpc_session_t s = open_session();
	xpc_listener_t l = listen_here();
	my_mode_t mode = MY_MODE_A;

	if (s) {
		xpc_object_t m = xpc_dictionary_create_empty();
		xpc_object_t r = xpc_session_send_message_with_reply_sync(s, m, NULL);
		xpc_session_send_message_with_reply_async(s, m, ^(xpc_object_t reply, xpc_rich_error_t error) {
			(void)reply;
			(void)error;
		});
		xpc_release(xpc_session_send_message(s, m));
		free(xpc_session_copy_description(s));
		xpc_session_cancel(s);
		xpc_release(r);
		xpc_release(m);
		xpc_release(s);
	}
	if (l) {
		free(xpc_listener_copy_description(l));
		(void)xpc_listener_activate(l, NULL);
		xpc_listener_cancel(l);
		xpc_release(l);
	}
	return mode == MY_MODE_B && XPC_TYPE_RICH_ERROR != NULL;
}
