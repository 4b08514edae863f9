/* SPDX-License-Identifier: MIT */
/*
 * notify.h - xpcd and its service manager: readiness notification and the
 * socket it passes (notify.c).
 */
#ifndef XPC_BROKER_NOTIFY_H
#define XPC_BROKER_NOTIFY_H

/* Sends @state ("READY=1", "STOPPING=1", ...) to $NOTIFY_SOCKET; nothing
 * when it is unset.  Return: 1 sent, 0 no socket, -1 failed (errno). */
int notify_send(const char *state);
/*
 * notify_listen_fd() - the listening socket systemd passed (socket
 * activation: $LISTEN_PID is ours and $LISTEN_FDS is 1; the variables are
 * then removed)
 * Return: the descriptor (3, now close-on-exec and non-blocking), -1 when
 *         none was passed, or -2 when what was passed is not one listening
 *         AF_UNIX SOCK_SEQPACKET socket (message printed).
 */
int notify_listen_fd(void);

#endif
