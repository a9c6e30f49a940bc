/*
 * rpcctl_watch.c - `rpcctl watch`: the orphan watcher.  It notices at once,
 * without a busy loop, when a domain's last process has died without
 * cleaning up, logs it, and with --cleanup removes the orphaned segment.
 *
 * One thread per watched segment.  While processes are attached it blocks
 * in rpc_domain_wait_orphaned(), a lock request the kernel grants when the
 * last member is gone; then rpc_domain_cleanup() decides again under the
 * life-cycle lock (a process that joined meanwhile makes it refuse, and the
 * thread waits again).  So watch never removes a segment a live process
 * uses, and never forces.
 *
 * While a segment does not exist the thread sleeps on a condition variable.
 * The main thread follows the shared-memory directory with inotify (Linux)
 * and bumps the generation of a name each time that name is created,
 * removed, renamed, resized or changes mode, waking the threads.  Without
 * inotify the waits time out every second instead.  With --all the main
 * thread also starts a thread for each librpc segment that appears; a thread
 * whose segment goes away, or turns out not to be librpc's, ends, and the
 * main thread looks at the name again when it next changes.
 *
 * Our own looks do not feed the loop: rpc_domain_stat opens read-only,
 * wait_orphaned and cleanup open for writing but write nothing, and none of
 * those events (open, close, access) is watched.
 *
 * SIGINT, SIGTERM and SIGHUP reach the main thread as a readable
 * descriptor (see setup_signals); it then waits for a removal in progress
 * to log its line and ends the process, which also ends the threads
 * blocked in the kernel.
 */
#define _POSIX_C_SOURCE 200809L

#include "rpcctl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/inotify.h>
#include <sys/signalfd.h>
#endif

const char rpcctl_usage_watch[] =
    "Usage: rpcctl watch [--cleanup] [--name /NAME]\n"
    "       rpcctl watch [--cleanup] --all\n"
    "\n"
    "Watch a domain (or with --all every librpc segment of this user in\n"
    "/dev/shm) and log, one line each, when its last process has died without\n"
    "cleaning up: the segment is then orphaned.  With --cleanup the orphaned\n"
    "segment is removed at once.  Runs until SIGINT, SIGTERM or SIGHUP.\n"
    "\n"
    "watch waits in the kernel, not in a loop: on the segment's membership lock\n"
    "while processes are attached (rpc_domain_wait_orphaned), and for the\n"
    "segment to appear through inotify on /dev/shm (once a second where\n"
    "inotify is missing).  It never removes a segment a live process uses: the\n"
    "removal is decided by rpc_domain_cleanup under the lock processes take to\n"
    "join, and a process that joins at that moment makes it refuse.  watch\n"
    "never forces and never joins the domain.\n"
    "\n"
    "  --cleanup  remove orphaned segments; without it they are only logged,\n"
    "             once, and looked at once a second until a process joins or\n"
    "             they go (a joining process makes no event to wait for)\n"
    "  --all      every librpc segment of this user in /dev/shm, also those\n"
    "             that appear later; files that are not librpc's (see\n"
    "             'rpcctl cleanup --help', --all) are left alone\n"
    "\n"
    "Log lines go to standard output: a UTC time, the segment, what happened:\n"
    "  2025-01-02T03:04:05.678Z /librpc_shm: in use: 2 live processes, 3 live nodes\n"
    "  2025-01-02T03:04:09.012Z /librpc_shm: removed orphaned segment: no live process\n"
    "      attached (3 registered nodes, none alive: a (pid 41), ...)\n"
    "Events: \"watching ...\" at the start, \"in use\", \"does not exist\", \"last\n"
    "process gone, segment removed\" (by the process as it left, or by another\n"
    "clean-up), \"removed orphaned segment\" (by this watch, --cleanup),\n"
    "\"orphaned\" (without --cleanup, once per orphan), \"no longer exists\",\n"
    "\"not watched\" (not a librpc segment: watch waits for it to change),\n"
    "\"error\" (with what to do), and \"stopping\" at the end.\n"
    "\n"
    "Exit: 0 stopped by a signal, 2 usage, 5 cannot start (threads, signals).\n"
    "To run it as a service see librpc-watch.service and rpcctl(1).\n";

#define POLL_MS 1000         /* re-check period where inotify is missing */
#define CONFIRM_MS 500       /* an orphan found by looking must stay one this long */
#define EMPTY_GRACE_MS 2000  /* the same for an empty or tiny file (a creator at work?) */
#define RETRY_MS 1000        /* after a time-out or a refused removal */
#define ERROR_RETRY_MS 5000  /* after an error that a change of the file may cure */
#define FOREVER (-1)

/*
 * The line for a segment whose last member went and that was removed by
 * someone else than us: its last process, as it left, or another clean-up
 * (a second watcher) after a crash.  Nothing tells the two apart.
 */
#define GONE_TEXT "last process gone, segment removed"

/*
 * A name of the shared-memory directory that a thread watches.  The thread
 * owns the entry: with --all it removes and frees it when it ends (retire),
 * so the list holds only watched names.  running is 0 only for an entry
 * whose thread could not be started.
 */
struct watched {
    char name[RPC_SHM_NAME_MAX + 2];   /* the segment name, "/x" */
    unsigned gen;              /* bumped at each change of the file */
    int running;               /* a thread watches it */
    struct watched *next;
};

static struct {
    pthread_mutex_t lock;      /* guards list, gen, running */
    pthread_cond_t changed;    /* broadcast when a gen changes */
    struct watched *list;
    int all, cleanup;
    int inotify;               /* events arrive: waits need no time-out (under lock) */
    pthread_mutex_t log_lock;  /* one line at a time */
    pthread_rwlock_t removing; /* read: a removal and its line; write: exit */
} W = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, 0, 0, 0,
        PTHREAD_MUTEX_INITIALIZER, PTHREAD_RWLOCK_INITIALIZER };

/* Waits measure monotonic time, so a clock step cannot stretch them. */
static int init_condition(void)
{
    pthread_condattr_t attr;
    int err;

    if ((err = pthread_condattr_init(&attr)) != 0)
        return err;
    err = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (err == 0) {
        pthread_cond_destroy(&W.changed);
        err = pthread_cond_init(&W.changed, &attr);
    }
    pthread_condattr_destroy(&attr);
    return err;
}

static volatile sig_atomic_t stop_signal;

/* ---- log ---- */

static void wlog(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "TIME NAME: text" (or "TIME rpcctl watch: text" for NULL), one write. */
static void wlog(const char *name, const char *fmt, ...)
{
    struct timespec ts;
    char when[64];
    va_list ap;

    clock_gettime(CLOCK_REALTIME, &ts);
    cli_format_time((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec, when, sizeof when);
    pthread_mutex_lock(&W.log_lock);
    printf("%s %s: ", when, name ? name : "rpcctl watch");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    (void)fflush(stdout);
    pthread_mutex_unlock(&W.log_lock);
}

/* ---- waiting for a change ---- */

static unsigned current_gen(struct watched *w)
{
    unsigned g;

    pthread_mutex_lock(&W.lock);
    g = w->gen;
    pthread_mutex_unlock(&W.lock);
    return g;
}

/* Sleep until w's file changes after generation gen, or timeout_ms passed
 * (FOREVER: no time-out; without inotify at most POLL_MS). */
static void wait_change(struct watched *w, unsigned gen, int timeout_ms)
{
    struct timespec dl;

    pthread_mutex_lock(&W.lock);
    if (!W.inotify && (timeout_ms == FOREVER || timeout_ms > POLL_MS))
        timeout_ms = POLL_MS;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    if (timeout_ms != FOREVER) {
        dl.tv_sec += timeout_ms / 1000;
        dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (dl.tv_nsec >= 1000000000L) {
            dl.tv_sec++;
            dl.tv_nsec -= 1000000000L;
        }
    }
    while (w->gen == gen) {
        if (timeout_ms == FOREVER)
            pthread_cond_wait(&W.changed, &W.lock);
        else if (pthread_cond_timedwait(&W.changed, &W.lock, &dl) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&W.lock);
}

static void remove_locked(struct watched *dead);

/* --all: stop watching w, and forget it, unless it changed since gen (then
 * look again).  After 1 is returned w is freed; the next change of its
 * file makes the main thread look at it afresh. */
static int retire(struct watched *w, unsigned gen)
{
    int done;

    pthread_mutex_lock(&W.lock);
    done = w->gen == gen;
    if (done)
        remove_locked(w);
    pthread_mutex_unlock(&W.lock);
    return done;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- one watched segment ---- */

/* What a watcher thread remembers between looks. */
struct wstate {
    struct watched *w;
    rpc_config *cfg;
    int last;                  /* enum scan_kind last logged, or -1 */
    int confirmed;             /* wait_orphaned saw the last member go: act now */
    uint64_t orphan_since;     /* first look that found it orphaned (ms), or 0 */
    uint64_t orphan_size;      /* its size then: a creator at work changes it */
    int reported;              /* without --cleanup: this orphan was logged */
    int last_err;              /* the error logged last, so each is logged once */
};

/* Look at the segment.  Given a name, an empty or tiny file is taken for a
 * half-made segment, as the library takes it; --all leaves it alone. */
static void look(struct wstate *s, struct scan_entry *e)
{
    rpcctl_scan_classify(s->w->name + 1, e);
    if (!W.all && e->kind == SCAN_UNKNOWN)
        e->kind = e->info.attached ? SCAN_LIVE : SCAN_ORPHAN;
}

static void log_error(struct wstate *s, int err, const char *what, const char *advice)
{
    if (s->last_err == err)
        return;
    s->last_err = err;
    wlog(s->w->name, "error: %s: %s (%s): %s", what, rpc_strerror(err), rpc_errdetail(), advice);
}

/* "3 registered nodes, none alive: a (pid 1), b (pid 2), c (pid 3)". */
static void describe_nodes(const rpc_config *cfg, char *buf, size_t len)
{
    rpc_node_info *nodes;
    unsigned n, i, alive = 0;
    size_t used;

    if (cli_list_nodes(cfg, &nodes, &n) != 0) {
        snprintf(buf, len, "node table not readable");
        return;
    }
    for (i = 0; i < n; i++)
        alive += nodes[i].alive != 0;
    used = (size_t)snprintf(buf, len, "%u registered node%s, %s alive", n, n == 1 ? "" : "s",
                            alive ? "some" : "none");
    for (i = 0; i < n && i < 8 && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s (pid %ld)", i ? ", " : ": ",
                                 nodes[i].name, (long)nodes[i].pid);
    if (n > 8 && used < len)
        snprintf(buf + used, len - used, ", and %u more", n - 8);
    free(nodes);
}

/* What the log says about an orphan: its nodes, or what is wrong with it. */
static void describe_orphan(struct wstate *s, const struct scan_entry *e, char *buf, size_t len)
{
    char nodes[512];

    if (!e->info.valid) {
        snprintf(buf, len, "%s", e->detail);
        return;
    }
    describe_nodes(s->cfg, nodes, sizeof nodes);
    snprintf(buf, len, "no live process attached (%s)", nodes);
}

/* The segment exists and processes are attached: wait for the last to go. */
static void step_live(struct wstate *s, const struct scan_entry *e, unsigned gen)
{
    int err;

    if (s->last != SCAN_LIVE)
        wlog(s->w->name, "in use: %s", e->detail);
    s->last = SCAN_LIVE;
    s->reported = 0;
    s->orphan_since = 0;
    s->confirmed = 0;
    err = rpc_domain_wait_orphaned(s->cfg);
    if (err == 0) {
        s->confirmed = 1;
        s->last_err = 0;
    } else if (err == RPC_ENOENT) {
        wlog(s->w->name, "%s", GONE_TEXT);
        s->last = SCAN_GONE;
        s->last_err = 0;
    } else {
        log_error(s, err, "cannot wait for the segment's processes", "will retry when it changes");
        wait_change(s->w, gen, ERROR_RETRY_MS);
    }
}

/*
 * Remove an orphan (the library decides again); logs what it did.  left:
 * wait_orphaned saw the last member go, which may have been a clean exit
 * whose unlink came after the wait's check (then ENOENT).
 */
static void remove_orphan(struct wstate *s, const struct scan_entry *e, unsigned gen, int left)
{
    char nodes[sizeof e->detail] = "";
    int err;

    pthread_rwlock_rdlock(&W.removing);
    describe_orphan(s, e, nodes, sizeof nodes);
    err = rpc_domain_cleanup(s->cfg, 0);
    if (err == 0)
        wlog(s->w->name, "removed orphaned segment: %s", nodes);
    else if (err == RPC_ENOENT && left)
        wlog(s->w->name, "%s", GONE_TEXT);
    if (err == 0 || (err == RPC_ENOENT && left)) {
        s->last = SCAN_GONE;
        s->last_err = 0;
    }
    pthread_rwlock_unlock(&W.removing);
    if (err == 0 || err == RPC_ENOENT)
        return;
    if (err == RPC_EBUSY) {
        /* Somebody joined meanwhile: the next look finds it in use.  The
         * pause only keeps an unforeseen disagreement from spinning. */
        wait_change(s->w, gen, 100);
        return;
    }
    log_error(s, err, "cannot remove the orphaned segment",
              err == RPC_ETIMEDOUT ? "a process may be stuck inside librpc; retrying"
                                   : "will retry when it changes");
    wait_change(s->w, gen, err == RPC_ETIMEDOUT ? RETRY_MS : ERROR_RETRY_MS);
}

/*
 * Nobody is attached.  With --cleanup it is removed at once, since the
 * library decides again under its lock; only an empty or tiny file waits a
 * moment (a creator makes the file before it takes that lock).  Without
 * --cleanup it is logged only once it stayed orphaned for a moment: a
 * creator attaches only after making the file, and a last process that
 * leaves cleanly unlinks only after it let go of its membership.
 */
static void step_orphan(struct wstate *s, const struct scan_entry *e, unsigned gen)
{
    int tiny = e->info.size < rpcctl_scan_min_size();
    uint64_t grace = tiny ? EMPTY_GRACE_MS : CONFIRM_MS, now = mono_ms();
    int left = s->confirmed;
    int patient = W.cleanup ? tiny && !left : 1;

    if (!s->orphan_since || s->orphan_size != e->info.size) {
        s->orphan_since = now;
        s->orphan_size = e->info.size;
    }
    if (patient && now - s->orphan_since < grace) {
        wait_change(s->w, gen, (int)(grace - (now - s->orphan_since)));
        return;
    }
    s->confirmed = 0;
    if (W.cleanup) {
        remove_orphan(s, e, gen, left);
        return;
    }
    if (!s->reported) {
        char nodes[sizeof e->detail];
        describe_orphan(s, e, nodes, sizeof nodes);
        wlog(s->w->name, "orphaned: %s; not removed: run 'rpcctl --name %s cleanup', or watch with --cleanup",
             nodes, s->w->name);
        s->reported = 1;
        s->last = SCAN_ORPHAN;
    }
    /* A joiner makes no event we can rely on: look again now and then. */
    wait_change(s->w, gen, POLL_MS);
}

/*
 * Not there, or not a librpc segment; returns 1 when the thread must end.
 * Gone right after wait_orphaned saw the last member go: the last process
 * left and removed it (its unlink came after the wait's check).
 */
static int step_other(struct wstate *s, const struct scan_entry *e, unsigned gen)
{
    int was_librpc = s->last == SCAN_LIVE || s->last == SCAN_ORPHAN;

    if (e->kind == SCAN_GONE && was_librpc)
        wlog(s->w->name, "%s", s->confirmed ? GONE_TEXT : "no longer exists");
    else if (e->kind == SCAN_GONE && s->last == -1 && !W.all)
        wlog(s->w->name, "does not exist; waiting for it to appear");
    else if (e->kind != SCAN_GONE && s->last != (int)e->kind && !W.all)
        wlog(s->w->name, "not watched: %s: %s; waiting for it to change",
             rpcctl_scan_reasons[e->kind], e->detail);
    s->last = (int)e->kind;
    s->confirmed = 0;
    s->orphan_since = 0;
    s->reported = 0;
    if (W.all)
        return retire(s->w, gen); /* 0: it changed meanwhile, look again */
    wait_change(s->w, gen, e->kind == SCAN_UNREADABLE ? ERROR_RETRY_MS : FOREVER);
    return 0;
}

static void *watcher_main(void *arg)
{
    struct wstate s;
    struct scan_entry e;

    memset(&s, 0, sizeof s);
    s.w = arg;
    s.last = -1;
    if (rpc_config_create(&s.cfg) != 0 || rpc_config_set_shm_name(s.cfg, s.w->name) != 0) {
        wlog(s.w->name, "error: cannot make a configuration for it: %s; not watched",
             rpc_errdetail());
        rpc_config_destroy(s.cfg);
        return NULL; /* stays "running", so it is not retried in a loop */
    }
    for (;;) {
        unsigned gen = current_gen(s.w);
        look(&s, &e);
        if (e.kind == SCAN_LIVE)
            step_live(&s, &e, gen);
        else if (e.kind == SCAN_ORPHAN)
            step_orphan(&s, &e, gen);
        else if (step_other(&s, &e, gen))
            break;
    }
    rpc_config_destroy(s.cfg);
    return NULL;
}

/* ---- the list of names ---- */

static struct watched *find_locked(const char *file)
{
    struct watched *w;

    for (w = W.list; w; w = w->next)
        if (strcmp(w->name + 1, file) == 0)
            return w;
    return NULL;
}

static struct watched *add_locked(const char *file)
{
    struct watched *w = calloc(1, sizeof *w);

    if (!w)
        return NULL;
    snprintf(w->name, sizeof w->name, "/%s", file);
    w->next = W.list;
    W.list = w;
    return w;
}

static void remove_locked(struct watched *dead)
{
    struct watched **pp;

    for (pp = &W.list; *pp; pp = &(*pp)->next)
        if (*pp == dead) {
            *pp = dead->next;
            free(dead);
            return;
        }
}

/* Start w's thread (w->running already set); clears running on failure. */
static void start_thread(struct watched *w)
{
    pthread_attr_t attr;
    pthread_t t;
    int err;

    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    err = pthread_create(&t, &attr, watcher_main, w);
    pthread_attr_destroy(&attr);
    if (err) {
        wlog(w->name, "error: cannot start a thread to watch it: %s; will retry when it changes",
             strerror(err));
        pthread_mutex_lock(&W.lock);
        w->running = 0;
        pthread_mutex_unlock(&W.lock);
    }
}

/* --all: look at FILE and watch it if it is a librpc segment of ours;
 * returns 1 if it is one. */
static int consider(const char *file)
{
    struct scan_entry e;
    struct watched *w;
    int start = 0;

    rpcctl_scan_classify(file, &e);
    if (e.kind != SCAN_LIVE && e.kind != SCAN_ORPHAN)
        return 0;
    pthread_mutex_lock(&W.lock);
    w = find_locked(file);
    if (!w)
        w = add_locked(file);
    if (w && !w->running) {
        w->running = 1;
        start = 1;
    }
    pthread_mutex_unlock(&W.lock);
    if (start)
        start_thread(w);
    return 1;
}

/*
 * FILE changed: wake its watcher; with --all, look at a file nobody
 * watches (it may have become a librpc segment: a creator sizes the file,
 * which is an event, then writes the header, which is none).
 */
static void file_changed(const char *file, int removed)
{
    struct watched *w;
    int look_again = 0;

    pthread_mutex_lock(&W.lock);
    w = find_locked(file);
    if (w) {
        w->gen++;
        pthread_cond_broadcast(&W.changed);
        look_again = !w->running && !removed;
    } else {
        look_again = W.all && !removed;
    }
    pthread_mutex_unlock(&W.lock);
    if (look_again)
        consider(file);
}

/* Every name changed (events were lost, or there are none): wake all. */
static void all_changed(void)
{
    struct watched *w;

    pthread_mutex_lock(&W.lock);
    for (w = W.list; w; w = w->next)
        w->gen++;
    pthread_cond_broadcast(&W.changed);
    pthread_mutex_unlock(&W.lock);
}

/* --all: look at every file of the directory; returns how many are
 * librpc segments of ours. */
static unsigned scan_directory(void)
{
    struct dirent *d;
    unsigned n = 0;
    DIR *dir = opendir(CLI_SHM_DIR);

    if (!dir)
        return 0;
    while ((d = readdir(dir)) != NULL)
        if (strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0)
            n += (unsigned)consider(d->d_name);
    closedir(dir);
    return n;
}

/* ---- the main thread: events and signals ---- */

#ifdef __linux__
#define EVENTS (IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM | IN_MODIFY | IN_ATTRIB)

static int watch_directory(void)
{
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);

    if (fd < 0)
        return -1;
    if (inotify_add_watch(fd, CLI_SHM_DIR, EVENTS | IN_ONLYDIR) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Read the pending events; returns -1 if the directory watch ended. */
static int read_events(int fd)
{
    char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
    ssize_t len;

    while ((len = read(fd, buf, sizeof buf)) > 0) {
        char *p = buf;
        while (p < buf + len) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            if (ev->mask & (IN_IGNORED | IN_UNMOUNT | IN_DELETE_SELF))
                return -1;
            if (ev->mask & IN_Q_OVERFLOW) {
                all_changed();
                if (W.all)
                    scan_directory();
            } else if (ev->len > 0 && ev->name[0]) {
                file_changed(ev->name, (ev->mask & (IN_DELETE | IN_MOVED_FROM)) != 0);
            }
            p += sizeof *ev + ev->len;
        }
    }
    return 0;
}
#else
static int watch_directory(void)
{
    return -1;
}

static int read_events(int fd)
{
    (void)fd;
    return -1;
}
#endif

/*
 * The stop signals reach the main thread's select() as a readable
 * descriptor: on Linux a signalfd (the signals are blocked in every thread
 * and never run a handler), elsewhere a pipe a handler writes to.  Either
 * way a signal that comes just before select() is not lost, and no handler
 * runs in a thread that is waiting in the kernel for a lock.
 */
#ifdef __linux__
static int setup_signals(const sigset_t *set)
{
    int fd;

    if (pthread_sigmask(SIG_BLOCK, set, NULL) != 0)
        return -1;
    fd = signalfd(-1, set, SFD_NONBLOCK | SFD_CLOEXEC);
    return fd;
}

/* The signal that arrived, or 0. */
static int take_signal(int fd)
{
    struct signalfd_siginfo si;

    return read(fd, &si, sizeof si) == (ssize_t)sizeof si ? (int)si.ssi_signo : 0;
}
#else
static int wake_pipe[2] = { -1, -1 };

static void on_signal(int sig)
{
    int saved = errno;

    stop_signal = sig;
    (void)!write(wake_pipe[1], "", 1);
    errno = saved;
}

static int setup_signals(const sigset_t *set)
{
    static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
    struct sigaction sa;
    size_t i;

    if (pipe(wake_pipe) != 0)
        return -1;
    for (i = 0; i < 2; i++) {
        fcntl(wake_pipe[i], F_SETFL, O_NONBLOCK);
        fcntl(wake_pipe[i], F_SETFD, FD_CLOEXEC);
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        if (sigismember(set, sigs[i]))
            sigaction(sigs[i], &sa, NULL);
    return wake_pipe[0];
}

static int take_signal(int fd)
{
    char c;

    while (read(fd, &c, 1) == 1)
        ;
    return stop_signal;
}
#endif

/* SIGINT, SIGTERM and SIGHUP, but not those the caller ignores (nohup, a
 * background job of a shell): they stay ignored. */
static void stop_signals(sigset_t *set)
{
    static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
    struct sigaction old, ign;
    size_t i;

    sigemptyset(set);
    for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
            sigaddset(set, sigs[i]);
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGPIPE, &ign, NULL); /* a closed log must not kill the watcher */
}

/* Wait for events or a signal until stopped. */
static void main_loop(int fd, int sigfd)
{
    while (!stop_signal) {
        struct timeval poll = { POLL_MS / 1000, (POLL_MS % 1000) * 1000 };
        int nfds = (fd > sigfd ? fd : sigfd) + 1;
        fd_set rd;
        int rc;

        FD_ZERO(&rd);
        FD_SET(sigfd, &rd);
        if (fd >= 0)
            FD_SET(fd, &rd);
        rc = select(nfds, &rd, NULL, NULL, fd >= 0 ? NULL : &poll);
        if (rc < 0 && errno != EINTR)
            break;
        if (rc > 0 && FD_ISSET(sigfd, &rd)) {
            int sig = take_signal(sigfd);
            if (sig)
                stop_signal = sig;
            continue;
        }
        if (fd >= 0 && rc > 0 && FD_ISSET(fd, &rd) && read_events(fd) < 0) {
            wlog(NULL, "%s is no longer followed (unmounted?): looking every second instead",
                 CLI_SHM_DIR);
            close(fd);
            fd = -1;
            pthread_mutex_lock(&W.lock);
            W.inotify = 0;
            pthread_mutex_unlock(&W.lock);
            all_changed();
        }
        if (fd < 0 && rc == 0 && W.all)
            scan_directory(); /* no events: look for new segments */
    }
}

int rpcctl_run_watch(const struct opts *o, rpc_config *cfg)
{
    sigset_t stops;
    unsigned found;
    int fd, sigfd, err;

    W.all = o->all;
    W.cleanup = o->cleanup;
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* Before any thread starts, so that they all inherit the mask. */
    stop_signals(&stops);
    if ((err = init_condition()) != 0 || (sigfd = setup_signals(&stops)) < 0) {
        cli_error(&rpcctl_ctx, "cannot start: %s: retry, or report this",
                  strerror(err ? err : errno));
        return CLI_EXIT_OTHER;
    }
    /* Follow the directory before the first look, so nothing is missed. */
    fd = watch_directory();
    W.inotify = fd >= 0;
    if (!W.inotify)
        wlog(NULL, "cannot follow %s with inotify: looking every second instead", CLI_SHM_DIR);
    if (W.all) {
        wlog(NULL, "watching every librpc segment of uid %u in %s (orphans are %s)",
             (unsigned)geteuid(), CLI_SHM_DIR, W.cleanup ? "removed" : "only logged");
        found = scan_directory();
        wlog(NULL, "%u librpc segment%s found", found, found == 1 ? "" : "s");
    } else {
        struct watched *w = add_locked(rpc_config_shm_name(cfg) + 1);
        if (!w) {
            cli_error(&rpcctl_ctx, "out of memory");
            return CLI_EXIT_OTHER;
        }
        wlog(NULL, "watching %s (orphans are %s)", w->name,
             W.cleanup ? "removed" : "only logged");
        w->running = 1;
        start_thread(w);
    }
    main_loop(fd, sigfd);
    wlog(NULL, "stopping (signal %d)", (int)stop_signal);
    /* Let a removal in progress finish and log; then end every thread. */
    pthread_rwlock_wrlock(&W.removing);
    pthread_mutex_lock(&W.log_lock);
    (void)fflush(stdout);
    _exit(CLI_EXIT_OK);
}
