/* SPDX-License-Identifier: MIT */
/*
 * xpcd-protocol.h - the names of the broker protocol (docs/broker.md), in
 * one place for everything that speaks it: the library's lookups
 * (src/connection/), the broker (src/broker/), xpcctl, the tests and the
 * fuzzers.  Private: not installed.
 *
 * A request is a dictionary { XPCD_KEY_OP: OP, ... } sent to the broker
 * socket expecting a reply; the reply is { XPCD_KEY_OK: true, ... } or
 * { XPCD_KEY_ERROR: TEXT, XPCD_KEY_ERRNO: N }.  A link the broker refuses
 * at accept gets one unsolicited { XPCD_KEY_REFUSAL: TEXT, XPCD_KEY_ERRNO:
 * EMFILE } before it is closed.  Header only: names, no code.
 */
#ifndef XPC_SHARED_XPCD_PROTOCOL_H
#define XPC_SHARED_XPCD_PROTOCOL_H

/* ---- keys of requests and replies --------------------------------------- */
#define XPCD_KEY_OP "xpcd.op"          /* string: the operation */
#define XPCD_KEY_REFUSAL "xpcd.error"  /* string: a link refused at accept */
#define XPCD_KEY_OK "ok"               /* bool: the request succeeded */
#define XPCD_KEY_ERROR "error"         /* string: why it failed */
#define XPCD_KEY_ERRNO "errno"         /* int64: the errno of the failure */
#define XPCD_KEY_NAME "name"           /* lookup: the service name */
#define XPCD_KEY_ENDPOINT "endpoint"   /* lookup, checkin reply: the endpoint (W), to callers that may hold it */
#define XPCD_KEY_LINK "link"           /* checkin: the far end of the client's new link (a descriptor) */
#define XPCD_KEY_FORWARDED "forwarded" /* checkin reply: bool, the broker checked the link in */
#define XPCD_KEY_LABEL "label"         /* a job's label */
#define XPCD_KEY_PATH "path"           /* load: the job file */
#define XPCD_KEY_STRICT "strict"       /* load: refuse a file with warnings */
#define XPCD_KEY_WARNINGS "warnings"   /* load reply: array of strings (unknown, unsupported keys) */
#define XPCD_KEY_PID "pid"             /* the job's pid (0: not running) */
#define XPCD_KEY_KILL "kill"           /* kickstart: stop the running one first */
#define XPCD_KEY_SIGNAL "signal"       /* kill: the signal number */
#define XPCD_KEY_JOBS "jobs"           /* list reply: array of job entries */
#define XPCD_KEY_JOB "job"             /* print reply: one job entry */
#define XPCD_KEY_LOADED "loaded"       /* reload reply: job files loaded */
#define XPCD_KEY_UNLOADED "unloaded"   /* reload reply: jobs whose file went */
#define XPCD_KEY_CHANGED "changed"     /* reload reply: jobs whose file changed */
#define XPCD_KEY_FAILED "failed"       /* reload reply: files that did not load */
#define XPCD_KEY_ACTIVITIES "activities" /* activities reply, print: the job's activities */
#define XPCD_KEY_REASON "reason"       /* blame reply: why the job runs */
#define XPCD_KEY_PROCESS "process"     /* procinfo reply: the job of a pid */

/* ---- operations ---------------------------------------------------------- */
#define XPCD_OP_LOOKUP "lookup"
#define XPCD_OP_CHECKIN "checkin"     /* "name", "link": the broker checks the link in */
#define XPCD_OP_LIST "list"
#define XPCD_OP_PRINT "print"
#define XPCD_OP_LOAD "load"
#define XPCD_OP_UNLOAD "unload"
#define XPCD_OP_ENABLE "enable"
#define XPCD_OP_DISABLE "disable"
#define XPCD_OP_KICKSTART "kickstart"
#define XPCD_OP_KILL "kill"
#define XPCD_OP_RELOAD "reload"
#define XPCD_OP_ACTIVITIES "activities"     /* a job's activities (docs/activities.md) */
#define XPCD_OP_RUN_ACTIVITY "run-activity" /* run one now: "label", "name" */
#define XPCD_OP_MONITOR "monitor"     /* the link then receives events */
#define XPCD_OP_BLAME "blame"
#define XPCD_OP_PROCINFO "procinfo"   /* XPCD_KEY_PID: which job a process is */
#define XPCD_OP_TAP "tap"             /* XPC_MONITOR: the link then gets "watch" events */
#define XPCD_OP_FRAME "frame"         /* one-way, on a tap link: a frame's summary */

/* ---- monitor events: unsolicited messages on a monitor link --------------- */
#define XPCD_KEY_EVENT "xpcd.event"   /* string: the kind, below or an op's name */
#define XPCD_EVENT_TIME "time"        /* int64: CLOCK_REALTIME, ns */
#define XPCD_EVENT_UID "uid"          /* int64: whose event (client or job) */
#define XPCD_EVENT_STATUS "status"    /* int64: exit: the wait status */
#define XPCD_EVENT_TEXT "text"        /* string: the answer, the reason */
#define XPCD_EVENT_COUNT "count"      /* int64: dropped: events lost */
#define XPCD_EVENT_LOOKUP "lookup"    /* a lookup and its answer */
#define XPCD_EVENT_LAUNCH "launch"    /* a job started (text: why) */
#define XPCD_EVENT_EXIT "exit"        /* a job's process ended */
#define XPCD_EVENT_REFUSED "refused"  /* a request denied, a link refused */
#define XPCD_EVENT_DROPPED "dropped"  /* this monitor lost events */
#define XPCD_EVENT_FRAME "frame"      /* a frame of a process that opted in (XPC_MONITOR) */

/* ---- frames (XPC_MONITOR; src/connection/tap.c, src/broker/tap.c) ---------- */
#define XPCD_EVENT_WATCH "watch"      /* to a tap link: whether a monitor may see it */
#define XPCD_EVENT_WATCHED "watched"  /* bool */
#define XPCD_FRAME_DIR "dir"          /* string: "send" or "recv" */
#define XPCD_FRAME_KIND "kind"        /* string: "message", "reply" */
#define XPCD_FRAME_ID "id"            /* uint64: the frame's id */
#define XPCD_FRAME_REPLY_TO "reply_to" /* uint64: the request a reply answers */
#define XPCD_FRAME_SIZE "size"        /* uint64: body bytes */
#define XPCD_FRAME_FDS "fds"          /* uint64: descriptors carried */
#define XPCD_FRAME_PEER_PID "peer_pid" /* int64: the other end, as the sender says */
#define XPCD_FRAME_TEXT "text"        /* string: the message's description */
#define XPCD_FRAME_DROPPED "dropped"  /* uint64: summaries lost before this one */
#define XPCD_FRAME_MAX_TEXT 1024      /* bytes of "text" kept */
#define XPCD_FRAME_MAX_NAME 255       /* bytes of "name" kept */

/* ---- a job entry (list, print) ------------------------------------------- */
#define XPCD_JOB_LABEL "label"
#define XPCD_JOB_STATE "state"
#define XPCD_JOB_DISABLED "disabled"
#define XPCD_JOB_SERVICES "services"
#define XPCD_JOB_USER_CHANNELS "user-channels" /* { name: [uid ...] }: users' own channels (print) */
#define XPCD_JOB_PID "pid"
#define XPCD_JOB_LAST_EXIT_STATUS "last_exit_status"
#define XPCD_JOB_LAST_FAILURE "last_failure"             /* "203/EXEC": the step a start failed at */
#define XPCD_JOB_LAST_FAILURE_ERRNO "last_failure_errno" /* its errno (0: none) */
#define XPCD_JOB_PROGRAM "program"
#define XPCD_JOB_ARGUMENTS "arguments"
#define XPCD_JOB_PATH "path"
#define XPCD_JOB_USER "user"
#define XPCD_JOB_RUNS "runs"
#define XPCD_JOB_RUN_AT_LOAD "run_at_load"
#define XPCD_JOB_KEEPALIVE "keepalive"
#define XPCD_JOB_ADOPTED "adopted"
#define XPCD_JOB_THROTTLE_INTERVAL "throttle_interval"
#define XPCD_JOB_EXIT_TIMEOUT "exit_timeout"
#define XPCD_JOB_START_INTERVAL "start_interval"       /* StartInterval (triggers.c) */
#define XPCD_JOB_CALENDAR_NEXT "calendar_next"         /* the next StartCalendarInterval time, local */
#define XPCD_JOB_WATCH_PATHS "watch_paths"
#define XPCD_JOB_QUEUE_DIRECTORIES "queue_directories"
#define XPCD_JOB_WATCH_REFUSED "watch_refused"         /* paths the job's user may not watch (watch.c) */
#define XPCD_JOB_SOCKETS "sockets"                     /* Sockets name -> descriptors held */
#define XPCD_JOB_LAUNCH_EVENTS "launch_events"

/* ---- texts of the link limits (clients read them as invalidation reasons) */
#define XPCD_TEXT_LINKS_PER_USER "limit exceeded: broker links per user"
#define XPCD_TEXT_LINKS "limit exceeded: broker links"

#endif
