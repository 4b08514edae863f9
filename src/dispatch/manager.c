/* SPDX-License-Identifier: MIT */
/*
 * manager.c - the manager thread: one epoll instance for every descriptor
 * source, one timerfd for every timer, and a signalfd plus a signal handler
 * for signal sources.
 *
 * Descriptors of the runtime, all close-on-exec, created once by
 * manager_start (so a warmed-up process does not grow them later): the
 * epoll fd, an eventfd that wakes the manager, the timerfd, the signalfd.
 *
 * Timers: two heaps over the timerfd, in mtimer.c.
 *
 * Signals: deliveries are counted per signal number, from two paths: an
 * async-signal-safe handler (installed when the disposition was SIG_DFL or
 * SIG_IGN; it bumps the counter and writes the eventfd) for signals that
 * reach a thread, and the signalfd for signals a program keeps blocked in all
 * its threads.  The manager thread blocks every signal; workers have the
 * mask of the thread that started the runtime.
 *
 * Calls (ManagerCall) run after each batch of events, so a watch removed by a
 * call, or before a call was posted, can no longer be reported once it ran.
 * Watches are removed on the thread that cancels their source (epoll_ctl is
 * thread-safe); what a late callback may still read is freed by a lazy call,
 * which does not wake the manager (docs/dispatch.md).
 */
#include "dispatch/manager.h"
#include "dispatch/internal.h"
#include "dispatch/dqueue.h"
#include "shared/assert.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define MANAGER_NSIG 65

static struct {
	int epfd, wakefd, timerfd, sigfd;
	pthread_mutex_t lock; /* calls, signals, watches */
	ManagerCall *calls, *calls_last;
	int lazy; /* calls queued by manager_call_lazy since the last run */
	ListNode signals; /* ManagerSignal.link */
	ListNode watches; /* ManagerWatch.link */
	sigset_t sigmask;
	atomic_ulong sigcount[MANAGER_NSIG];
	atomic_int sigused[MANAGER_NSIG];
} mgr = {.epfd = -1, .wakefd = -1, .timerfd = -1, .sigfd = -1, .lock = PTHREAD_MUTEX_INITIALIZER,
	.signals = LIST_INIT(mgr.signals), .watches = LIST_INIT(mgr.watches)};


/* Tags of the runtime's own descriptors in epoll_event.data.ptr. */
static char manager_tag_wake, manager_tag_timer, manager_tag_signal;

static void manager_wake(void)
{
	uint64_t one = 1;
	int saved = errno;
	ssize_t r = write(mgr.wakefd, &one, sizeof(one));

	(void)r;
	errno = saved;
}

/* ---- watches ----------------------------------------------------------------- */

/* Live watches are also kept in a list: the kernel's copy of the pointer is
 * invisible to LeakSanitizer, and a source only the manager holds is not a
 * leak. */
/* The events an armed @w asks epoll for. */
static uint32_t manager_watch_events(const ManagerWatch *w)
{
	return w->events | (w->edge ? EPOLLET : EPOLLONESHOT);
}

int manager_watch_add(ManagerWatch *w, bool armed)
{
	struct epoll_event ev = {.events = manager_watch_events(w), .data.ptr = w};

	w->in_set = 0;
	if (armed) {
		if (epoll_ctl(mgr.epfd, EPOLL_CTL_ADD, w->fd, &ev) < 0)
			return -errno;
		w->in_set = 1;
	}
	pthread_mutex_lock(&mgr.lock);
	xpc_assert(!list_linked(&w->link)); /* added once */
	list_prepend(&mgr.watches, &w->link);
	pthread_mutex_unlock(&mgr.lock);
	return 0;
}

int manager_watch_rearm(ManagerWatch *w)
{
	struct epoll_event ev = {.events = manager_watch_events(w), .data.ptr = w};

	if (epoll_ctl(mgr.epfd, w->in_set ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, w->fd, &ev) < 0)
		return -errno;
	w->in_set = 1;
	return 0;
}

/* Disarming keeps the watch in the epoll set with no event asked for (a
 * MOD, which allocates nothing, where a DEL and the next ADD would free and
 * allocate the kernel's entry: a suspended read source is resumed and
 * suspended around every synchronous call).  The kernel still reports a
 * hang-up or an error once (EPOLLHUP/EPOLLERR cannot be masked; the watch
 * is one-shot): the source records it and delivers it when resumed.  An
 * edge-triggered watch is disarmed the same way (one-shot with no events). */
int manager_watch_disarm(ManagerWatch *w)
{
	struct epoll_event ev = {.events = EPOLLONESHOT, .data.ptr = w};

	if (!w->in_set)
		return 0;
	if (epoll_ctl(mgr.epfd, EPOLL_CTL_MOD, w->fd, &ev) < 0)
		return -errno;
	return 0;
}

void manager_watch_remove(ManagerWatch *w)
{
	if (w->in_set)
		epoll_ctl(mgr.epfd, EPOLL_CTL_DEL, w->fd, NULL);
	w->in_set = 0;
	pthread_mutex_lock(&mgr.lock);
	list_unlink(&w->link);
	pthread_mutex_unlock(&mgr.lock);
}

/* ---- calls ------------------------------------------------------------------- */

/* Queues @c; returns whether the manager should be woken for it. */
static bool manager_call_queue(ManagerCall *c, bool lazy)
{
	bool wake = !lazy;

	c->next = NULL;
	pthread_mutex_lock(&mgr.lock);
	if (mgr.calls_last)
		mgr.calls_last->next = c;
	else
		mgr.calls = c;
	mgr.calls_last = c;
	if (lazy && ++mgr.lazy == MANAGER_LAZY_MAX)
		wake = true;
	pthread_mutex_unlock(&mgr.lock);
	return wake;
}

void manager_call(ManagerCall *c)
{
	if (manager_call_queue(c, false))
		manager_wake();
}

void manager_call_lazy(ManagerCall *c)
{
	if (manager_call_queue(c, true))
		manager_wake();
}

static void manager_run_calls(void)
{
	ManagerCall *c, *next;

	pthread_mutex_lock(&mgr.lock);
	c = mgr.calls;
	mgr.calls = mgr.calls_last = NULL;
	mgr.lazy = 0;
	pthread_mutex_unlock(&mgr.lock);
	for (; c; c = next) {
		next = c->next;
		c->fn(c);
	}
}

/* ---- signals ----------------------------------------------------------------- */

static void manager_signal_handler(int signo)
{
	atomic_fetch_add(&mgr.sigcount[signo], 1);
	manager_wake();
}

static void manager_signal_install(int signo)
{
	struct sigaction old, sa;

	if (sigaction(signo, NULL, &old) < 0)
		return;
	if (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = manager_signal_handler;
	sa.sa_flags = SA_RESTART;
	sigfillset(&sa.sa_mask);
	sigaction(signo, &sa, NULL);
}

int manager_signal_add(ManagerSignal *s)
{
	if (s->signo <= 0 || s->signo >= MANAGER_NSIG || s->signo == SIGKILL || s->signo == SIGSTOP)
		return -EINVAL;
	pthread_mutex_lock(&mgr.lock);
	xpc_assert(!list_linked(&s->link)); /* added once */
	list_prepend(&mgr.signals, &s->link);
	if (!atomic_exchange(&mgr.sigused[s->signo], 1)) {
		manager_signal_install(s->signo);
		sigaddset(&mgr.sigmask, s->signo);
		signalfd(mgr.sigfd, &mgr.sigmask, SFD_NONBLOCK | SFD_CLOEXEC);
	}
	pthread_mutex_unlock(&mgr.lock);
	return 0;
}

void manager_signal_remove(ManagerSignal *s)
{
	pthread_mutex_lock(&mgr.lock);
	list_unlink(&s->link);
	pthread_mutex_unlock(&mgr.lock);
}

static void manager_signalfd_read(void)
{
	struct signalfd_siginfo si[8];
	ssize_t n;

	/* Under the lock: manager_signal_add changes the signalfd's mask. */
	pthread_mutex_lock(&mgr.lock);
	while ((n = read(mgr.sigfd, si, sizeof(si))) > 0) {
		for (size_t i = 0; i < (size_t)n / sizeof(si[0]); i++)
			if (si[i].ssi_signo < MANAGER_NSIG)
				atomic_fetch_add(&mgr.sigcount[si[i].ssi_signo], 1);
	}
	pthread_mutex_unlock(&mgr.lock);
}

static void manager_signals_flush(void)
{
	for (int signo = 1; signo < MANAGER_NSIG; signo++) {
		ManagerSignal *s;
		unsigned long n;

		if (!atomic_load_explicit(&mgr.sigused[signo], memory_order_relaxed))
			continue;
		n = atomic_exchange(&mgr.sigcount[signo], 0);
		if (!n)
			continue;
		pthread_mutex_lock(&mgr.lock);
		list_for_each_entry(s, &mgr.signals, ManagerSignal, link)
			if (s->signo == signo)
				s->fire(s, n);
		pthread_mutex_unlock(&mgr.lock);
	}
}

/* ---- the thread -------------------------------------------------------------- */

static void manager_drain_fd(int fd)
{
	uint64_t v;
	ssize_t r = read(fd, &v, sizeof(v));

	(void)r;
}

static void *manager_main(void *arg)
{
	struct epoll_event evs[64];

	for (;;) {
		int n = epoll_wait(mgr.epfd, evs, 64, -1);
		bool sig = false; /* a signal can have come: a handler wakes the manager */

		for (int i = 0; i < n; i++) {
			void *tag = evs[i].data.ptr;

			if (tag == &manager_tag_wake) {
				manager_drain_fd(mgr.wakefd);
				sig = true;
			} else if (tag == &manager_tag_timer) {
				manager_drain_fd(mgr.timerfd);
				manager_timers_fire();
			} else if (tag == &manager_tag_signal) {
				manager_signalfd_read();
				sig = true;
			} else {
				((ManagerWatch *)tag)->ready(tag, evs[i].events);
			}
		}
		if (sig) /* (not per batch of watches: 64 counters to look at) */
			manager_signals_flush();
		manager_run_calls();
	}
	return NULL;
}

static int manager_add_own(int fd, void *tag)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = tag};

	return epoll_ctl(mgr.epfd, EPOLL_CTL_ADD, fd, &ev);
}

void manager_start(void)
{
	sigset_t all;

	sigemptyset(&mgr.sigmask);
	mgr.epfd = epoll_create1(EPOLL_CLOEXEC);
	mgr.wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	mgr.timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	mgr.sigfd = signalfd(-1, &mgr.sigmask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (mgr.epfd < 0 || mgr.wakefd < 0 || mgr.timerfd < 0 || mgr.sigfd < 0)
		dobject_crash("cannot create the manager's descriptors");
	manager_add_own(mgr.wakefd, &manager_tag_wake);
	manager_add_own(mgr.timerfd, &manager_tag_timer);
	manager_timers_init(mgr.timerfd);
	manager_add_own(mgr.sigfd, &manager_tag_signal);
	sigfillset(&all);
	dpool_init();
	/* EAGAIN from pthread_create is a passing shortage: tried for about
	 * a second before giving up (nothing runs without this thread) */
	for (int tries = 0; dpool_spawn_thread(manager_main, NULL, &all) < 0; tries++) {
		if (tries == 100)
			dobject_crash("cannot create the manager thread");
		usleep(10000);
	}
}
