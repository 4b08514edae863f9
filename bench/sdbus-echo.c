/*
 * sdbus-echo.c - Echo(ay) -> ay with sd-bus, served and called (sdbus-echo.h).
 */
#include "sdbus-echo.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int echo(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	const void *p = NULL;
	size_t len = 0;
	sd_bus_message *r = NULL;
	int rc;

	(void)userdata;
	(void)error;
	rc = sd_bus_message_read_array(m, 'y', &p, &len);
	if (rc >= 0)
		rc = sd_bus_message_new_method_return(m, &r);
	if (rc >= 0)
		rc = sd_bus_message_append_array(r, 'y', p, len);
	if (rc >= 0)
		rc = sd_bus_send(NULL, r, NULL);
	sd_bus_message_unref(r);
	return rc < 0 ? rc : 1;
}

static const sd_bus_vtable vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD("Echo", "ay", "ay", echo, 0),
	SD_BUS_VTABLE_END,
};

void sdbus_echo_serve(sd_bus *bus)
{
	if (sd_bus_add_object_vtable(bus, NULL, SDBUS_ECHO_PATH, SDBUS_ECHO_IFACE, vtable, NULL) < 0)
		_exit(1);
	for (;;) {
		int r = sd_bus_process(bus, NULL);
		if (r < 0)
			_exit(0);
		if (r == 0 && sd_bus_wait(bus, UINT64_MAX) < 0)
			_exit(0);
	}
}

void sdbus_echo_serve_p2p(int fd)
{
	sd_bus *bus = NULL;
	sd_id128_t id;

	if (sd_bus_new(&bus) < 0 || sd_bus_set_fd(bus, fd, fd) < 0 || sd_id128_randomize(&id) < 0 ||
	    sd_bus_set_server(bus, 1, id) < 0 || sd_bus_start(bus) < 0)
		_exit(1);
	sdbus_echo_serve(bus);
}

int sdbus_echo_call(sd_bus *bus, const char *dest, const void *payload, size_t size)
{
	sd_bus_message *m = NULL, *reply = NULL;
	sd_bus_error err = SD_BUS_ERROR_NULL;
	const void *p;
	size_t len = (size_t)-1;
	int rc = sd_bus_message_new_method_call(bus, &m, dest, SDBUS_ECHO_PATH, SDBUS_ECHO_IFACE, "Echo");

	if (rc >= 0)
		rc = sd_bus_message_append_array(m, 'y', payload, size);
	if (rc >= 0)
		rc = sd_bus_call(bus, m, 0, &err, &reply);
	if (rc >= 0)
		rc = sd_bus_message_read_array(reply, 'y', &p, &len);
	if (rc < 0)
		fprintf(stderr, "sd-bus Echo: %s\n", err.message ? err.message : strerror(-rc));
	sd_bus_error_free(&err);
	sd_bus_message_unref(reply);
	sd_bus_message_unref(m);
	return rc >= 0 && len == size ? 0 : -1;
}
