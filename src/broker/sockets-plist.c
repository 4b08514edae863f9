/* SPDX-License-Identifier: MIT */
/*
 * sockets-plist.c - reading the Sockets key of launchd.plist(5) into a
 * job's JobSockets: each name's dictionary (or array of them) checked key
 * by key (SockType, SockPassive, SockNodeName, SockServiceName,
 * SockFamily, SockProtocol, SockPathName, SockPathMode, SockPathOwner,
 * SockPathGroup, MulticastGroup, SecureSocketWithKey, Bonjour) with the
 * plist loader's precise errors.  Nothing is created here: sockets.c makes
 * the sockets when the job is loaded.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/limits.h> /* PATH_MAX, NAME_MAX: <limits.h> is broker/limits.h here */
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <net/if.h>
#include <netinet/in.h>

#include "broker/sockets.h"


typedef struct SockParse {
	PlistCtx *ctx;
	SockSpec *spec;
	int r;
} SockParse;

static int sock_enum(PlistCtx *ctx, const char *key, plist_t v, const char *const *names, const int *values,
		     int *ret)
{
	char *s = NULL;

	if (pv_string(ctx, key, v, &s) < 0)
		return -1;
	for (size_t i = 0; names[i]; i++) {
		if (!strcasecmp(s, names[i])) {
			*ret = values[i];
			free(s);
			return 0;
		}
	}
	pv_fail(ctx, key, "unknown value \"%s\"", s);
	free(s);
	return -1;
}

static int sock_service(PlistCtx *ctx, plist_t v, SockSpec *sp)
{
	long long port;

	if (plist_get_node_type(v) == PLIST_STRING)
		return pv_string(ctx, "Sockets.SockServiceName", v, &sp->service);
	if (pv_int(ctx, "Sockets.SockServiceName", v, 0, 65535, &port) < 0)
		return -1;
	free(sp->service);
	return asprintf(&sp->service, "%lld", port) < 0 ? pv_fail(ctx, "Sockets", "out of memory") : 0;
}

static int sock_key(void *arg, const char *key, plist_t v)
{
	static const char *const types[] = {"stream", "dgram", "seqpacket", NULL};
	static const int type_values[] = {SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET};
	static const char *const families[] = {"IPv4", "IPv6", "IPv4v6", "Unix", NULL};
	static const int family_values[] = {AF_INET, AF_INET6, AF_UNSPEC, AF_UNIX};
	static const char *const protocols[] = {"TCP", "UDP", NULL};
	static const int protocol_values[] = {0, 0};
	SockParse *p = arg;
	SockSpec *sp = p->spec;
	PlistCtx *ctx = p->ctx;
	long long x;
	int ignored, r = 0;

	if (!strcmp(key, "SockType"))
		r = sock_enum(ctx, "Sockets.SockType", v, types, type_values, &sp->type);
	else if (!strcmp(key, "SockPassive"))
		r = pv_bool(ctx, "Sockets.SockPassive", v, &sp->passive);
	else if (!strcmp(key, "SockFamily"))
		r = sock_enum(ctx, "Sockets.SockFamily", v, families, family_values, &sp->family);
	else if (!strcmp(key, "SockProtocol"))
		r = sock_enum(ctx, "Sockets.SockProtocol", v, protocols, protocol_values, &ignored);
	else if (!strcmp(key, "SockNodeName"))
		r = pv_string(ctx, "Sockets.SockNodeName", v, &sp->node);
	else if (!strcmp(key, "SockServiceName"))
		r = sock_service(ctx, v, sp);
	else if (!strcmp(key, "SockPathName"))
		r = pv_string(ctx, "Sockets.SockPathName", v, &sp->path);
	else if (!strcmp(key, "SockPathMode") && (r = pv_int(ctx, "Sockets.SockPathMode", v, 0, 07777, &x)) == 0)
		sp->path_mode = (int)x;
	else if (!strcmp(key, "SockPathOwner"))
		r = pv_int(ctx, "Sockets.SockPathOwner", v, 0, UINT32_MAX - 1, &sp->path_owner);
	else if (!strcmp(key, "SockPathGroup"))
		r = pv_int(ctx, "Sockets.SockPathGroup", v, 0, UINT32_MAX - 1, &sp->path_group);
	else if (!strcmp(key, "MulticastGroup"))
		r = pv_string(ctx, "Sockets.MulticastGroup", v, &sp->mcast_group);
	else if (!strcmp(key, "SecureSocketWithKey"))
		r = pv_string(ctx, "Sockets.SecureSocketWithKey", v, &sp->secure_key);
	else if (!strcmp(key, "Bonjour"))
		r = 0; /* accepted: no DNS-SD advertisement (xpcd.plist(5)) */
	else if (strcmp(key, "SockPathName") && strcmp(key, "SockPathMode"))
		pv_warn(ctx, "Sockets", "unknown key %s ignored", key);
	return r < 0 ? (p->r = -1) : 0;
}

/* A variable name the job's environment may take: [A-Za-z_][A-Za-z0-9_]*,
 * not one of xpcd's own (XPCD_*). */
static bool sock_env_name_ok(const char *k)
{
	if (!*k || strlen(k) > 255 || !strncmp(k, "XPCD_", 5) || (*k >= '0' && *k <= '9'))
		return false;
	for (const char *p = k; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	return true;
}

static int sock_check_secure(PlistCtx *ctx, SockSpec *sp)
{
	if (sp->path)
		return pv_fail(ctx, "Sockets.SecureSocketWithKey", "%s: SockPathName or SecureSocketWithKey, not both",
			       sp->name);
	if (!sock_env_name_ok(sp->secure_key))
		return pv_fail(ctx, "Sockets.SecureSocketWithKey",
			       "\"%s\": not an environment variable name (letters, digits, _; not XPCD_*)", sp->secure_key);
	if (!sp->passive)
		return pv_fail(ctx, "Sockets.SecureSocketWithKey", "%s: a listening socket only", sp->name);
	sp->family = AF_UNIX;
	if (sp->path_mode < 0)
		sp->path_mode = 0600;
	sp->secure_chown = sp->path_owner < 0; /* the job's user, known when made */
	return 0;
}

static int sock_check(PlistCtx *ctx, SockSpec *sp)
{
	if (sp->mcast_group && (sp->type != SOCK_DGRAM || !sp->passive || sp->path || sp->secure_key))
		return pv_fail(ctx, "Sockets.MulticastGroup",
			       "%s: needs a listening internet datagram socket (SockType dgram)", sp->name);
	if (sp->secure_key)
		return sock_check_secure(ctx, sp);
	if (sp->path) {
		if (sp->path[0] != '/' || strlen(sp->path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
			return pv_fail(ctx, "Sockets.SockPathName", "\"%s\": not an absolute path of at most %zu bytes",
				       sp->path, sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
		sp->family = AF_UNIX;
		return 0;
	}
	if (sp->family == AF_UNIX)
		return pv_fail(ctx, "Sockets", "%s: SockFamily Unix needs SockPathName", sp->name);
	if (!sp->service)
		return pv_fail(ctx, "Sockets", "%s: needs SockPathName or SockServiceName", sp->name);
	return 0;
}

static int sock_spec(PlistCtx *ctx, const char *name, plist_t v, SockSpec *sp)
{
	SockParse p = {.ctx = ctx, .spec = sp};

	*sp = (SockSpec){.type = SOCK_STREAM, .passive = true, .family = AF_UNSPEC, .path_mode = -1,
			 .path_owner = -1, .path_group = -1};
	sp->name = strdup(name);
	if (!sp->name)
		return pv_fail(ctx, "Sockets", "out of memory");
	if (plist_get_node_type(v) != PLIST_DICT)
		return pv_fail(ctx, "Sockets", "%s: must be a dictionary or an array of dictionaries", name);
	if (pv_dict_each(v, sock_key, &p) < 0 || p.r < 0)
		return p.r < 0 ? -1 : pv_fail(ctx, "Sockets", "out of memory");
	return sock_check(ctx, sp);
}

typedef struct SocketsParse {
	PlistCtx *ctx;
	JobSockets *s;
	int r;
} SocketsParse;

static int sockets_name(void *arg, const char *name, plist_t v)
{
	SocketsParse *p = arg;
	bool array = plist_get_node_type(v) == PLIST_ARRAY;
	size_t n = array ? plist_array_get_size(v) : 1;

	if (!name[0] || strchr(name, ':') || strlen(name) > 255)
		return p->r = pv_fail(p->ctx, "Sockets", "invalid name \"%s\"", name);
	if (n == 0 || p->s->n_specs + n > SOCKETS_MAX)
		return p->r = pv_fail(p->ctx, "Sockets", "%s: 1 to %d socket dictionaries in all", name, SOCKETS_MAX);
	for (size_t i = 0; i < n; i++)
		if (sock_spec(p->ctx, name, array ? plist_array_get_item(v, (uint32_t)i) : v,
			      &p->s->specs[p->s->n_specs++]) < 0)
			return p->r = -1;
	return 0;
}

int sockets_parse_key(PlistCtx *ctx, JobSockets *s, const char *key, plist_t v)
{
	SocketsParse p = {.ctx = ctx, .s = s};

	if (strcmp(key, "Sockets"))
		return 0;
	if (plist_get_node_type(v) != PLIST_DICT)
		return pv_fail(ctx, key, "must be a dictionary");
	sockets_free(s);
	s->specs = calloc(SOCKETS_MAX, sizeof(*s->specs));
	if (!s->specs)
		return pv_fail(ctx, key, "out of memory");
	if (pv_dict_each(v, sockets_name, &p) < 0 || p.r < 0)
		return p.r < 0 ? -1 : pv_fail(ctx, key, "out of memory");
	return 1;
}
