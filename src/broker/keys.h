/* SPDX-License-Identifier: MIT */
/*
 * keys.h - the keys of launchd.plist(5) beyond plist.c's core ones
 * (keys.c), and what each means on Linux.
 */
#ifndef XPC_BROKER_KEYS_H
#define XPC_BROKER_KEYS_H

#include <plist/plist.h>

#include "broker/job.h"
#include "broker/plistval.h"

/* keys.c: every top-level key of launchd.plist(5) but those plist.c reads */
/*
 * keys_parse() - one top-level key
 * Return: 1 taken (honoured, or accepted: silently when it means nothing
 * on Linux, with a warning when it is not supported), 0 an unknown key,
 * -1 a bad value (ctx->err).
 */
int keys_parse(PlistCtx *ctx, Job *job, const char *key, plist_t v);
/* KeepAlive's dictionary keys beyond SuccessfulExit and Crashed: 1, 0, -1 as keys_parse. */
int keys_parse_keepalive(PlistCtx *ctx, Job *job, const char *key, plist_t v);
/* Frees what keys_parse allocated in @job. */
void keys_free(Job *job);

#endif
