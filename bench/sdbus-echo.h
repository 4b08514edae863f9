/*
 * sdbus-echo.h - the sd-bus side shared by bench-sdbus and bench-connection:
 * a method Echo(ay) -> ay on /org/xpc/Bench, interface org.xpc.Bench, served
 * peer to peer or on a bus, and one call of it.
 */
#ifndef BENCH_SDBUS_ECHO_H
#define BENCH_SDBUS_ECHO_H

#include <stddef.h>
#include <systemd/sd-bus.h>

#define SDBUS_ECHO_PATH "/org/xpc/Bench"
#define SDBUS_ECHO_IFACE "org.xpc.Bench"

/* Serves Echo on @bus (started) until it fails or the peer goes; then
 * _exit()s: for a forked service process. */
void sdbus_echo_serve(sd_bus *bus) __attribute__((noreturn));
/* The same, peer to peer on the connected socket @fd (the server side). */
void sdbus_echo_serve_p2p(int fd) __attribute__((noreturn));
/* One Echo call of @size bytes of @payload to @dest (NULL peer to peer).
 * Return: 0 if the reply carries @size bytes back, else -1 (the cause on
 * stderr). */
int sdbus_echo_call(sd_bus *bus, const char *dest, const void *payload, size_t size);

#endif
