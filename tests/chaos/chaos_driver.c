/*
 * chaos_driver.c - the chaos soak: N worker processes (chaos_worker) publish
 * and subscribe in one domain while this driver kills random ones with
 * SIGKILL or SIGTERM at random moments (also right after they start, i.e.
 * while they create nodes and subscribe) and restarts them, for a bounded
 * time.  See docs/reliability.md ("Chaos").
 *
 * Invariants checked here (the workers check the messages and their own
 * blocking calls and report over a pipe, see chaos_common.h):
 * - no worker crashes: every exit is a clean verdict, or a death by the
 *   signal we sent it;
 * - no worker hangs: after SIGTERM it exits within TERM_GRACE_MS;
 * - the node list (rpc_domain_list_nodes, polled every LIST_PERIOD_MS)
 *   never shows a dead worker's node for longer than the sweep interval
 *   plus one second after its death once a live node exists to sweep it
 *   (with nobody alive, nobody can sweep: the segment is an orphan until
 *   the next join);
 * - at the end, after every worker destroyed its nodes and exited, nothing
 *   of the domain is left in /dev/shm; and after a last phase where the
 *   last processes are SIGKILLed, one rpc_domain_cleanup() removes the
 *   orphan;
 * - with --stop-ms, a SIGSTOPped worker is busy, not dead: its nodes must
 *   keep reading alive.
 * Reclaim latency (kill, and death, to the node's disappearance from the
 * list) is measured for deaths without clean-up while survivors were
 * present.  Deaths are seen through pidfds in the main loop; a thread of
 * its own reaps (see reaper_main).
 *
 * Exit status: 0 all invariants held, 1 a violation, 2 usage or set-up
 * error.  The seed is printed first so a failing run's random choices can be
 * replayed with --seed (timing, of course, differs).
 */
#include "chaos_common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define LIST_PERIOD_MS 20u
#ifndef P_PIDFD
#define CHAOS_P_PIDFD 3   /* waitid() on a pidfd (Linux 5.4) */
#else
#define CHAOS_P_PIDFD P_PIDFD
#endif
#define TERM_GRACE_MS 30000u
#define HELLO_WAIT_MS 10000u
#define LIST_ERROR_LIMIT_MS 2000u

/* ---- options ---------------------------------------------------------- */

static struct {
    unsigned seconds;
    unsigned workers;
    char name[RPC_SHM_NAME_MAX + 1];
    uint64_t seed;
    unsigned kill_ms;        /* mean time between kill events */
    unsigned slack_ms;       /* allowed overrun of a blocking call */
    unsigned max_timeout_ms; /* longest publish timeout the workers use */
    char worker_path[PATH_MAX];
    int verbose;
    const char *inject;      /* self-test: the violation the workers fake */
    unsigned stop_ms;        /* > 0: also SIGSTOP workers for up to this long */
    int no_runq;             /* workers charge run-queue delay to the calls */
} opt = {45, 6, "", 0, 500, 100, 2000, "", 0, NULL, 0, 0};

/* ---- state ------------------------------------------------------------ */

struct worker {
    unsigned index;
    pid_t pid;               /* 0: not running */
    int fd;                  /* read end of its report pipe, -1 when closed */
    char buf[8192];
    size_t blen;
    int got_hello, got_verdict;
    int64_t last[CC_COUNT];  /* latest counters of the running instance */
    int64_t elines[CC_COUNT];/* "E" lines of the running instance, per kind */
    uint64_t spawn_ns;
    uint64_t restart_at;     /* 0: no restart scheduled */
    uint64_t early_kill_at;  /* 0: none */
    int early_sig;
    int sent_sig;            /* what we sent this instance (0: nothing) */
    uint64_t kill_ns;
    uint64_t term_deadline;
    int crash_hook;          /* started with LIBRPC_TEST_CRASH_AT=init */
    uint64_t stopped_until;  /* SIGSTOPped until then (0: running) */
    int slow_death_shown;
    int pidfd;               /* readable once it died (-1: none) */
    int dead;                /* its death was seen (not necessarily reaped) */
};

/* A worker instance that died, until its nodes leave the list. */
struct dead {
    pid_t pid;
    int64_t death_wall;
    uint64_t t0;             /* our kill, or the death when we sent nothing */
    uint64_t clock;          /* reclaim clock start: the death, or later when no
                                survivor was listed then (0: none seen yet) */
    int continuous;          /* a survivor was listed at every look since */
    int crashed;             /* died without clean-up (by a signal) */
    int flagged;
    unsigned long starts;    /* g_n.all_starts at the death: did anyone join since? */
    uint64_t died;           /* when we saw it dead (pidfd, else the reaping) */
};

static struct worker g_w[CHAOS_MAX_WORKERS];
static struct dead *g_dead;
static size_t g_ndead, g_capdead;
/* Reclaim latencies (ms) of deaths with survivors: from our kill, from the
 * death, and from the death for those where no worker started meanwhile (so
 * a survivor's sweep, not a joiner's, did it). */
struct samples {
    double *v;
    size_t n, cap;
};
static struct samples g_lat, g_lat_death, g_lat_nojoin;
static rpc_config *g_cfg;
static uint64_t g_rng;
static volatile sig_atomic_t g_interrupted;
static int g_running_phase;  /* kills and restarts allowed */
static int g_hook_next;      /* give the next spawn the init crash point */
static int g_last_killed;    /* the latest worker reaped died by a signal */
static unsigned g_signaled;  /* workers reaped that died by a signal, so far */
static uint64_t g_t_start;   /* when the driver started (for --verbose times) */

static int64_t g_tot[CC_COUNT];
/* Counts of the kill/restart phase; the end and orphan phases are apart. */
static struct {
    unsigned long starts, sigkills, sigterms, early, massacres, hooks, clean_exits,
        died_by_signal, all_starts;
    unsigned long stops;
    unsigned long crash, hang, reclaim, leftover, list, cleanup, false_death;
    unsigned long list_calls, list_errors;
} g_n;

/* ---- small helpers ------------------------------------------------------ */

/* This thread's run-queue delay so far (ns; 0 when the kernel does not say). */
static uint64_t run_delay_ns(void)
{
    static int fd = -2;
    char buf[128];
    unsigned long long cpu, wait;
    ssize_t n;
    if (fd == -2)
        fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || (n = pread(fd, buf, sizeof buf - 1, 0)) <= 0)
        return 0;
    buf[n] = '\0';
    return sscanf(buf, "%llu %llu", &cpu, &wait) == 2 ? (uint64_t)wait : 0;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (opt.verbose)
        printf("chaos: [%.3f] ", (double)(chaos_mono_ns() - g_t_start) / 1e9);
    else
        printf("chaos: ");
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
    va_end(ap);
}

static void driver_violation(unsigned long *counter, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void driver_violation(unsigned long *counter, const char *fmt, ...)
{
    va_list ap;
    (*counter)++;
    va_start(ap, fmt);
    printf("chaos: VIOLATION: ");
    vprintf(fmt, ap);
    printf(" (seed %" PRIu64 ")\n", opt.seed);
    fflush(stdout);
    va_end(ap);
}

static void on_interrupt(int sig)
{
    (void)sig;
    g_interrupted = 1;
}

static uint64_t ms_ns(uint64_t ms)
{
    return ms * 1000000u;
}

static struct worker *worker_by_pid(pid_t pid)
{
    unsigned i;
    for (i = 0; i < opt.workers; i++)
        if (g_w[i].pid == pid)
            return &g_w[i];
    return NULL;
}

static unsigned running_count(void)
{
    unsigned i, n = 0;
    for (i = 0; i < opt.workers; i++)
        n += g_w[i].pid != 0;
    return n;
}

/* ---- spawning and killing ------------------------------------------------- */

static void spawn(struct worker *w)
{
    char seed[32], index[16], fd[16], slack[16], maxto[16];
    char *argv[20];
    sigset_t block, old;
    int p[2], k = 0;
    pid_t pid;
    if (pipe2(p, O_CLOEXEC) != 0) {
        perror("chaos: pipe2");
        return;
    }
    snprintf(seed, sizeof seed, "%" PRIu64, chaos_rand(&g_rng));
    snprintf(index, sizeof index, "%u", w->index);
    snprintf(fd, sizeof fd, "%d", 3);
    snprintf(slack, sizeof slack, "%u", opt.slack_ms);
    snprintf(maxto, sizeof maxto, "%u", opt.max_timeout_ms);
    argv[k++] = opt.worker_path;
    argv[k++] = "--name", argv[k++] = opt.name;
    argv[k++] = "--index", argv[k++] = index;
    argv[k++] = "--seed", argv[k++] = seed;
    argv[k++] = "--report-fd", argv[k++] = fd;
    argv[k++] = "--slack-ms", argv[k++] = slack;
    argv[k++] = "--max-timeout-ms", argv[k++] = maxto;
    if (opt.inject != NULL)
        argv[k++] = "--inject", argv[k++] = (char *)opt.inject;
    if (opt.no_runq)
        argv[k++] = "--no-runq";
    argv[k] = NULL;
    w->crash_hook = g_hook_next;
    g_hook_next = 0;
    fflush(stdout);
    /* SIGTERM and SIGINT stay blocked from before the fork until the worker
     * has installed its handlers: otherwise our own handler, inherited
     * until exec, would swallow an early SIGTERM (the worker would never
     * see it and run on), or the default action would kill it. */
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, &old);
    pid = fork();
    if (pid < 0) {
        perror("chaos: fork");
        sigprocmask(SIG_SETMASK, &old, NULL);
        close(p[0]);
        close(p[1]);
        return;
    }
    if (pid == 0) {
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
        /* Report pipe on fd 3, without close-on-exec. */
        if (p[1] == 3)
            fcntl(3, F_SETFD, 0);
        else if (dup2(p[1], 3) < 0)
            _exit(127);
        if (w->crash_hook)
            setenv("LIBRPC_TEST_CRASH_AT", "init", 1);
        execv(opt.worker_path, argv);
        _exit(127);
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    close(p[1]);
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    w->pid = pid;
    w->fd = p[0];
    w->blen = 0;
    w->got_hello = w->got_verdict = 0;
    memset(w->last, 0, sizeof w->last);
    memset(w->elines, 0, sizeof w->elines);
    w->spawn_ns = chaos_mono_ns();
    w->restart_at = 0;
    w->sent_sig = 0;
    w->kill_ns = 0;
    w->term_deadline = 0;
    w->early_kill_at = 0;
    w->stopped_until = 0;
    w->slow_death_shown = 0;
    w->dead = 0;
    w->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);   /* close-on-exec by default */
    g_n.all_starts++;
    g_n.starts += (unsigned long)g_running_phase;
    g_n.hooks += (unsigned long)w->crash_hook;
    /* Some instances die before or while they create nodes and subscribe. */
    if (g_running_phase && chaos_below(&g_rng, 100) < 15) {
        w->early_kill_at = w->spawn_ns + ms_ns(chaos_below(&g_rng, 30));
        w->early_sig = chaos_below(&g_rng, 2) ? SIGKILL : SIGTERM;
    }
    if (opt.verbose)
        say("start w%u pid %d%s%s", w->index, (int)pid, w->early_kill_at ? " (early kill)" : "",
            w->crash_hook ? " (init crash point)" : "");
}

/* A worker that does not exit: show where its threads are before it is
 * killed (kernel wait channels, and a backtrace when gdb is installed). */
static void dump_stuck(pid_t pid, int with_gdb)
{
    char path[64], cmd[160];
    struct dirent *de;
    DIR *d;
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    if ((d = opendir(path)) != NULL) {
        while ((de = readdir(d)) != NULL) {
            char file[400], comm[64] = "?", wchan[64] = "?", stat[256] = "", *st;
            FILE *f;
            if (de->d_name[0] == '.')
                continue;
            snprintf(file, sizeof file, "%s/%s/comm", path, de->d_name);
            if ((f = fopen(file, "r")) != NULL) {
                if (fgets(comm, sizeof comm, f) != NULL)
                    comm[strcspn(comm, "\n")] = '\0';
                fclose(f);
            }
            snprintf(file, sizeof file, "%s/%s/wchan", path, de->d_name);
            if ((f = fopen(file, "r")) != NULL) {
                if (fgets(wchan, sizeof wchan, f) == NULL)
                    strcpy(wchan, "?");
                fclose(f);
            }
            snprintf(file, sizeof file, "%s/%s/stat", path, de->d_name);
            if ((f = fopen(file, "r")) != NULL) {
                if (fgets(stat, sizeof stat, f) == NULL)
                    stat[0] = '\0';
                fclose(f);
            }
            st = strrchr(stat, ')');
            printf("chaos:   pid %d thread %s (%s) state %c waits in %s\n", (int)pid,
                   de->d_name, comm, st != NULL && st[1] ? st[2] : '?', wchan);
        }
        closedir(d);
    }
    if (with_gdb && access("/usr/bin/gdb", X_OK) == 0) {
        snprintf(cmd, sizeof cmd, "timeout 60 gdb -p %d -batch -nx -ex 'thread apply all bt' "
                 "2>&1 | grep -E '^(Thread|#)'", (int)pid);
        fflush(stdout);
        if (system(cmd) == -1)
            printf("chaos:   (gdb could not be run)\n");
    }
    fflush(stdout);
}

static void send_signal(struct worker *w, int sig)
{
    if (w->pid == 0 || kill(w->pid, sig) != 0)
        return;
    if (sig == SIGTERM && w->stopped_until != 0) {
        kill(w->pid, SIGCONT);   /* a stopped process would not act on it */
        w->stopped_until = 0;
    }
    if (w->sent_sig != SIGKILL)
        w->sent_sig = sig;
    w->kill_ns = chaos_mono_ns();
    if (sig == SIGTERM)
        w->term_deadline = w->kill_ns + ms_ns(TERM_GRACE_MS);
    if (g_running_phase)
        *(sig == SIGTERM ? &g_n.sigterms : &g_n.sigkills) += 1;
    if (opt.verbose)
        say("%s w%u pid %d", sig == SIGKILL ? "SIGKILL" : "SIGTERM", w->index, (int)w->pid);
}

/* One kill event: a random live worker, or now and then all of them. */
static void kill_event(void)
{
    struct worker *cand[CHAOS_MAX_WORKERS];
    unsigned n = 0, i;
    for (i = 0; i < opt.workers; i++)
        if (g_w[i].pid != 0 && g_w[i].sent_sig == 0 && !g_w[i].dead)
            cand[n++] = &g_w[i];
    if (n == 0)
        return;
    if (chaos_below(&g_rng, 100) < 4) {
        /* Massacre: the segment becomes an orphan; the next joiner must
         * re-initialise it (and sometimes dies doing so). */
        for (i = 0; i < opt.workers; i++)
            if (g_w[i].pid != 0)
                send_signal(&g_w[i], SIGKILL);
        g_n.massacres++;
        g_hook_next = chaos_below(&g_rng, 2) == 0;
        if (opt.verbose)
            say("massacre");
        return;
    }
    if (opt.stop_ms > 0 && chaos_below(&g_rng, 100) < 20) {
        /* A stopped process is busy, not dead: its nodes must stay alive,
         * and publishers towards it must still return in time. */
        struct worker *w = cand[chaos_below(&g_rng, n)];
        if (w->stopped_until == 0 && kill(w->pid, SIGSTOP) == 0) {
            w->stopped_until = chaos_mono_ns() + ms_ns(1 + chaos_below(&g_rng, opt.stop_ms));
            g_n.stops++;
            if (opt.verbose)
                say("SIGSTOP w%u pid %d", w->index, (int)w->pid);
        }
        return;
    }
    send_signal(cand[chaos_below(&g_rng, n)], chaos_below(&g_rng, 10) < 6 ? SIGKILL : SIGTERM);
}

/* ---- reports from workers ------------------------------------------------- */

static void handle_line(struct worker *w, char *line)
{
    switch (line[0]) {
    case 'H':
        w->got_hello = 1;
        break;
    case 'S':
        chaos_parse_counters(line + 1, w->last);
        break;
    case 'V':
        chaos_parse_counters(line + 1, w->last);
        w->got_verdict = 1;
        break;
    case 'E': {
        char kind[32] = "";
        unsigned i;
        sscanf(line + 2, "%31s", kind);
        for (i = 0; i < CC_COUNT; i++)
            if (strcmp(kind, chaos_counter_names[i]) == 0)
                w->elines[i]++;
        printf("chaos: VIOLATION (worker): %s (seed %" PRIu64 ")\n", line + 2, opt.seed);
        fflush(stdout);
        break;
    }
    default:
        printf("chaos: w%u: unexpected report line: %.200s\n", w->index, line);
        break;
    }
}

/* Read what w wrote; returns 1 at end of file. */
static int read_reports(struct worker *w)
{
    for (;;) {
        ssize_t n;
        char *nl;
        if (w->blen == sizeof w->buf - 1)
            w->blen = 0;   /* a line longer than the buffer: drop it */
        n = read(w->fd, w->buf + w->blen, sizeof w->buf - 1 - w->blen);
        if (n < 0)
            return errno == EAGAIN || errno == EINTR ? 0 : 1;
        if (n == 0)
            return 1;
        w->blen += (size_t)n;
        w->buf[w->blen] = '\0';
        while ((nl = strchr(w->buf, '\n')) != NULL) {
            *nl = '\0';
            handle_line(w, w->buf);
            w->blen -= (size_t)(nl + 1 - w->buf);
            memmove(w->buf, nl + 1, w->blen + 1);
        }
    }
}

static void death_seen(struct worker *w);

/* Wait up to timeout_ms for reports and deaths, and take them in. */
static void poll_reports(unsigned timeout_ms)
{
    struct pollfd pf[2 * CHAOS_MAX_WORKERS];
    struct worker *who[2 * CHAOS_MAX_WORKERS];
    unsigned i, n = 0;
    for (i = 0; i < opt.workers; i++) {
        if (g_w[i].fd >= 0) {
            pf[n].fd = g_w[i].fd;
            pf[n].events = POLLIN;
            who[n++] = &g_w[i];
        }
        if (g_w[i].pidfd >= 0) {
            pf[n].fd = g_w[i].pidfd;
            pf[n].events = POLLIN;
            who[n++] = &g_w[i];
        }
    }
    if (poll(pf, n, (int)timeout_ms) <= 0)
        return;
    for (i = 0; i < n; i++) {
        if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        if (pf[i].fd == who[i]->pidfd)
            death_seen(who[i]);
        else if (read_reports(who[i])) {
            close(who[i]->fd);
            who[i]->fd = -1;
        }
    }
}

/* ---- deaths ---------------------------------------------------------------- */

/* Add what one ended instance reported to the totals. */
static void account(const struct worker *w)
{
    unsigned i;
    for (i = 0; i < CC_COUNT; i++) {
        int64_t v = w->last[i];
        if (i >= CC_FIRST_VIOLATION && i <= CC_LAST_VIOLATION && w->elines[i] > v)
            v = w->elines[i];   /* E lines after the last counter snapshot */
        if (i == CC_EXCESS_US || i == CC_MAX_CALL_US || i == CC_WALL_EXCESS_US ||
            i == CC_MAX_RUNQ_US) {
            if (v > g_tot[i])
                g_tot[i] = v;
        } else {
            g_tot[i] += v;
        }
    }
}

/* Judge how an instance ended. */
static void judge_exit(struct worker *w, int status)
{
    if (WIFEXITED(status)) {
        int code = WEXITSTATUS(status);
        if ((code == 0 || code == 1) && w->got_verdict) {
            g_n.clean_exits++;   /* code 1: the violations were counted */
            return;
        }
        driver_violation(&g_n.crash, "w%u pid %d exited with status %d without a verdict",
                         w->index, (int)w->pid, code);
        return;
    }
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        g_n.died_by_signal++;
        if (sig == SIGKILL && (w->sent_sig == SIGKILL || w->crash_hook))
            return;
        driver_violation(&g_n.crash, "w%u pid %d died of signal %d (%s)%s", w->index,
                         (int)w->pid, sig, strsignal(sig),
                         w->sent_sig ? " we did not send" : "");
    }
}

static void add_dead(const struct worker *w, int crashed, uint64_t died)
{
    struct dead *d;
    if (g_ndead == g_capdead) {
        size_t cap = g_capdead ? g_capdead * 2 : 64;
        struct dead *nd = realloc(g_dead, cap * sizeof *nd);
        if (nd == NULL)
            return;
        g_dead = nd;
        g_capdead = cap;
    }
    d = &g_dead[g_ndead++];
    memset(d, 0, sizeof *d);
    d->pid = w->pid;
    d->death_wall = chaos_wall_ns() - (int64_t)(chaos_mono_ns() - died);
    d->t0 = w->sent_sig ? w->kill_ns : died;
    d->continuous = 1;
    d->crashed = crashed;
    d->starts = g_n.all_starts;
    d->died = died;
}

/* The worker's pidfd turned readable: it is dead (a zombie), whether or not
 * the reaper got to it yet.  The death is timed here, not at the reaping. */
static void death_seen(struct worker *w)
{
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (waitid((idtype_t)CHAOS_P_PIDFD, (id_t)w->pidfd, &si, WEXITED | WNOWAIT | WNOHANG) != 0 ||
        si.si_pid == 0)
        return;   /* not yet, or already reaped: the reaper will say */
    add_dead(w, si.si_code != CLD_EXITED, chaos_mono_ns());
    w->dead = 1;
    close(w->pidfd);
    w->pidfd = -1;
}

/*
 * Reaping runs on a thread of its own: the kernel's clean-up when a process
 * is reaped can block the reaper for a second or more on a loaded machine
 * (it shrinks the dead process's /proc dentries), and the main loop must
 * keep listing nodes meanwhile.  Deaths are seen earlier, through each
 * worker's pidfd (death_seen); the reaping only brings the exit status.
 */
struct exit_rec {
    pid_t pid;
    int status;
    uint64_t when;
};
static pthread_mutex_t g_exit_mu = PTHREAD_MUTEX_INITIALIZER;
static struct exit_rec g_exits[256];
static unsigned g_nexits;

static void *reaper_main(void *arg)
{
    (void)arg;
    for (;;) {
        struct exit_rec r;
        if ((r.pid = waitpid(-1, &r.status, 0)) <= 0) {
            if (errno == ECHILD)
                chaos_sleep_ms(2);   /* no children right now */
            continue;
        }
        r.when = chaos_mono_ns();
        for (;;) {
            pthread_mutex_lock(&g_exit_mu);
            if (g_nexits < sizeof g_exits / sizeof g_exits[0]) {
                g_exits[g_nexits++] = r;
                pthread_mutex_unlock(&g_exit_mu);
                break;
            }
            pthread_mutex_unlock(&g_exit_mu);
            chaos_sleep_ms(1);
        }
    }
    return NULL;
}

static int next_exit(struct exit_rec *r)
{
    int got = 0;
    pthread_mutex_lock(&g_exit_mu);
    if (g_nexits > 0) {
        *r = g_exits[0];
        memmove(g_exits, g_exits + 1, --g_nexits * sizeof g_exits[0]);
        got = 1;
    }
    pthread_mutex_unlock(&g_exit_mu);
    return got;
}

static void reap(void)
{
    struct exit_rec r;
    while (next_exit(&r)) {
        struct worker *w = worker_by_pid(r.pid);
        int status = r.status;
        pid_t pid = r.pid;
        if (w == NULL)
            continue;
        if (w->fd >= 0) {
            /* It is dead: whatever it wrote is in the pipe now. */
            (void)read_reports(w);
            close(w->fd);
            w->fd = -1;
        }
        judge_exit(w, status);
        account(w);
        g_last_killed = WIFSIGNALED(status);
        g_signaled += WIFSIGNALED(status) != 0;
        if (!w->dead)
            add_dead(w, WIFSIGNALED(status), r.when);   /* no pidfd: the reaping says */
        if (w->pidfd >= 0) {
            close(w->pidfd);
            w->pidfd = -1;
        }
        if (opt.verbose)
            say("w%u pid %d ended (%s %d)", w->index, (int)pid,
                WIFSIGNALED(status) ? "signal" : "status",
                WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        w->pid = 0;
        if (g_running_phase) {
            uint64_t delay = chaos_below(&g_rng, 10) < 3 ? 0 : chaos_below(&g_rng, 800);
            w->restart_at = chaos_mono_ns() + ms_ns(delay);
        }
    }
}

/* ---- the node list ---------------------------------------------------------- */

static void record_latency(struct samples *sm, double ms)
{
    if (sm->n == sm->cap) {
        size_t cap = sm->cap ? sm->cap * 2 : 256;
        double *nv = realloc(sm->v, cap * sizeof *nv);
        if (nv == NULL)
            return;
        sm->v = nv;
        sm->cap = cap;
    }
    sm->v[sm->n++] = ms;
}

/* A survivor: a node alive in the list, of a worker we did not signal. */
static int is_survivor(const rpc_node_info *e, pid_t not_this)
{
    struct worker *w;
    if (!e->alive || e->pid == not_this)
        return 0;
    w = worker_by_pid(e->pid);
    return w != NULL && w->sent_sig == 0 && w->stopped_until == 0 && !w->dead;
}

static void print_listing(const rpc_node_info *e, int n)
{
    int i;
    for (i = 0; i < n && i < (int)CHAOS_MAX_NODES; i++)
        printf("chaos:   slot %u %-8s pid %d %s\n", e[i].slot, e[i].name, (int)e[i].pid,
               e[i].alive ? "alive" : "DEAD");
}

static void check_dead(struct dead *d, const rpc_node_info *e, int n, uint64_t now)
{
    int i, present = 0, survivor = 0;
    for (i = 0; i < n && i < (int)CHAOS_MAX_NODES; i++) {
        if (e[i].pid == d->pid && e[i].joined_unix_ns <= d->death_wall)
            present = 1;
        survivor |= is_survivor(&e[i], d->pid);
    }
    if (!present) {
        if (d->crashed && d->continuous) {
            /* The nodes may go before we see the death: the kernel drops the
             * locks before the process turns into a zombie. */
            double from_death = now > d->died ? (double)(now - d->died) / 1e6 : 0.0;
            if (opt.verbose && now - d->t0 > ms_ns(CHAOS_RECLAIM_LIMIT_MS))
                say("note: pid %d: %.0f ms from the kill to its death, then %.0f ms until its "
                    "nodes left the list", (int)d->pid, (double)(d->died - d->t0) / 1e6,
                    from_death);
            record_latency(&g_lat, (double)(now - d->t0) / 1e6);
            record_latency(&g_lat_death, from_death);
            if (d->starts == g_n.all_starts)
                record_latency(&g_lat_nojoin, from_death);
        }
        *d = g_dead[--g_ndead];   /* resolved: forget it */
        return;
    }
    if (!survivor) {
        d->clock = 0;             /* nobody alive to sweep it */
        d->continuous = 0;
        return;
    }
    if (d->clock == 0)
        d->clock = d->continuous ? d->died : now;
    if (!d->flagged && now - d->clock > ms_ns(CHAOS_RECLAIM_LIMIT_MS)) {
        d->flagged = 1;
        driver_violation(&g_n.reclaim, "pid %d died %.0f ms ago; its node is still listed "
                         "%.0f ms after a survivor could sweep it (limit %u ms)", (int)d->pid,
                         (double)(now - d->t0) / 1e6, (double)(now - d->clock) / 1e6,
                         CHAOS_RECLAIM_LIMIT_MS);
        print_listing(e, n);
    }
}

/* A stopped worker holds its locks: its nodes must read alive. */
static void check_stopped(const rpc_node_info *e, int n)
{
    int i;
    for (i = 0; i < n && i < (int)CHAOS_MAX_NODES; i++) {
        struct worker *w = worker_by_pid(e[i].pid);
        if (w != NULL && w->stopped_until != 0 && w->sent_sig == 0 && !e[i].alive) {
            driver_violation(&g_n.false_death, "node %s of w%u pid %d reads dead while the "
                             "process is only stopped", e[i].name, w->index, (int)w->pid);
            print_listing(e, n);
        }
    }
}

static uint64_t g_list_err_since;
static uint64_t g_list_err_seen;   /* bit -code: that error was already shown */

static void list_check(void)
{
    rpc_node_info e[CHAOS_MAX_NODES];
    uint64_t now;
    size_t k;
    int n = rpc_domain_list_nodes(g_cfg, e, CHAOS_MAX_NODES);
    now = chaos_mono_ns();
    g_n.list_calls++;
    if (n == RPC_ENOENT) {
        n = 0;
    } else if (n < 0) {
        /* A segment being initialised reads as not (yet) valid: only an
         * error that lasts is a problem. */
        g_n.list_errors++;
        if (n >= -63 && !(g_list_err_seen & (UINT64_C(1) << -n))) {
            g_list_err_seen |= UINT64_C(1) << -n;   /* say each kind once */
            say("note: rpc_domain_list_nodes: %s (%s); an error is a violation only if it "
                "lasts %u ms", rpc_strerror(n), rpc_errdetail(), LIST_ERROR_LIMIT_MS);
        }
        if (g_list_err_since == 0)
            g_list_err_since = now;
        else if (now - g_list_err_since > ms_ns(LIST_ERROR_LIMIT_MS)) {
            driver_violation(&g_n.list, "rpc_domain_list_nodes has failed for %u ms: %s (%s)",
                             LIST_ERROR_LIMIT_MS, rpc_strerror(n), rpc_errdetail());
            g_list_err_since = now;
        }
        return;
    }
    g_list_err_since = 0;
    for (k = g_ndead; k-- > 0;)
        check_dead(&g_dead[k], e, n, now);
    check_stopped(e, n);
}

/* ---- the segment at the end ---------------------------------------------- */

static void hung(struct worker *w)
{
    driver_violation(&g_n.hang, "w%u pid %d did not exit within %u ms of SIGTERM", w->index,
                     (int)w->pid, TERM_GRACE_MS);
    dump_stuck(w->pid, 1);
    send_signal(w, SIGKILL);
}

/* Entries of /dev/shm that belong to the domain (the name, or anything
 * starting with it). */
static int shm_leftovers(int print)
{
    const char *base = opt.name + 1;
    size_t len = strlen(base);
    struct dirent *de;
    int found = 0;
    DIR *d = opendir("/dev/shm");
    if (d == NULL)
        return 0;
    while ((de = readdir(d)) != NULL)
        if (strncmp(de->d_name, base, len) == 0) {
            found++;
            if (print)
                say("left in /dev/shm: %s", de->d_name);
        }
    closedir(d);
    return found;
}

static void kill_all(int sig)
{
    unsigned i;
    for (i = 0; i < opt.workers; i++)
        if (g_w[i].pid != 0 && (sig == SIGKILL || g_w[i].sent_sig == 0))
            send_signal(&g_w[i], sig);
}

/* Run the loop (reports, reaping, hang checks, list checks) until no worker
 * runs or the deadline passes. */
static void wait_all_gone(uint64_t deadline)
{
    uint64_t next_list = 0;
    while (running_count() > 0 && chaos_mono_ns() < deadline) {
        uint64_t now;
        unsigned i;
        poll_reports(5);
        reap();
        now = chaos_mono_ns();
        for (i = 0; i < opt.workers; i++) {
            struct worker *w = &g_w[i];
            if (w->pid != 0 && w->sent_sig == SIGTERM && now > w->term_deadline)
                hung(w);
        }
        if (now >= next_list) {
            list_check();
            next_list = now + ms_ns(LIST_PERIOD_MS);
        }
    }
}

/* ---- phases ----------------------------------------------------------------- */

static void hang_checks(uint64_t now)
{
    unsigned i;
    for (i = 0; i < opt.workers; i++) {
        struct worker *w = &g_w[i];
        if (w->pid == 0)
            continue;
        if (w->stopped_until != 0 && now >= w->stopped_until) {
            kill(w->pid, SIGCONT);
            w->stopped_until = 0;
        }
        if (w->early_kill_at != 0 && now >= w->early_kill_at && w->sent_sig == 0) {
            w->early_kill_at = 0;
            g_n.early++;
            send_signal(w, w->early_sig);
        }
        if (w->sent_sig == SIGTERM && now > w->term_deadline)
            hung(w);
        if (opt.verbose && w->sent_sig == SIGKILL && !w->dead && w->pidfd >= 0 &&
            !w->slow_death_shown && now > w->kill_ns && now - w->kill_ns > ms_ns(500)) {
            w->slow_death_shown = 1;
            say("note: w%u pid %d still not dead %.0f ms after SIGKILL", w->index, (int)w->pid,
                (double)(now - w->kill_ns) / 1e6);
        }
    }
}

static uint64_t next_kill_delay(void)
{
    /* Uniform in [0, 2 * mean): kills come in clusters and in lulls. */
    return ms_ns(chaos_below(&g_rng, 2 * (uint64_t)opt.kill_ms + 1));
}

static void progress(uint64_t start)
{
    unsigned long v = g_n.crash + g_n.hang + g_n.reclaim + g_n.list;
    unsigned i;
    int64_t wv = 0, checked = g_tot[CC_CHECKED];
    for (i = 0; i < opt.workers; i++)
        checked += g_w[i].pid ? g_w[i].last[CC_CHECKED] : 0;
    for (i = CC_FIRST_VIOLATION; i <= CC_LAST_VIOLATION; i++)
        wv += g_tot[i];
    say("t=%.0fs starts %lu kills %lu (SIGKILL %lu, SIGTERM %lu) checked %" PRId64
        " violations %lu+%" PRId64, (double)(chaos_mono_ns() - start) / 1e9, g_n.starts,
        g_n.sigkills + g_n.sigterms, g_n.sigkills, g_n.sigterms, checked, v, wv);
}

static void run_phase(void)
{
    uint64_t start = chaos_mono_ns(), end = start + ms_ns((uint64_t)opt.seconds * 1000);
    uint64_t next_kill = start + next_kill_delay(), next_list = start, next_progress = start;
    unsigned i;
    g_running_phase = 1;
    for (i = 0; i < opt.workers; i++)
        spawn(&g_w[i]);
    while (!g_interrupted) {
        uint64_t now = chaos_mono_ns(), t[6], q0 = run_delay_ns();
        if (now >= end)
            break;
        t[0] = now;
        poll_reports(5);
        t[1] = chaos_mono_ns();
        reap();
        now = t[2] = chaos_mono_ns();
        hang_checks(now);
        if (now >= next_kill) {
            kill_event();
            next_kill = now + next_kill_delay();
        }
        t[3] = chaos_mono_ns();
        for (i = 0; i < opt.workers; i++)
            if (g_w[i].pid == 0 && g_w[i].restart_at != 0 && now >= g_w[i].restart_at)
                spawn(&g_w[i]);
        t[4] = chaos_mono_ns();
        if (now >= next_list) {
            list_check();
            next_list = now + ms_ns(LIST_PERIOD_MS);
        }
        t[5] = chaos_mono_ns();
        /* A loop that stalled other than for want of a CPU delays every
         * check: say so. */
        q0 = run_delay_ns() - q0;
        if (t[5] - t[0] > ms_ns(300) &&
            (opt.verbose || (q0 < t[5] - t[0] && t[5] - t[0] - q0 > ms_ns(300))))
            say("note: the driver's loop took %.0f ms, %.0f ms of it waiting for a CPU (poll "
                "%.0f, reap %.0f, kill %.0f, spawn %.0f, list %.0f)", (double)(t[5] - t[0]) / 1e6,
                (double)q0 / 1e6,
                (double)(t[1] - t[0]) / 1e6, (double)(t[2] - t[1]) / 1e6,
                (double)(t[3] - t[2]) / 1e6, (double)(t[4] - t[3]) / 1e6,
                (double)(t[5] - t[4]) / 1e6);
        if (now >= next_progress) {
            if (now > start)
                progress(start);
            next_progress = now + ms_ns(10000);
        }
    }
    g_running_phase = 0;
}

/* After the last worker ended: nothing of the domain may remain if it
 * left normally; if it was killed, one rpc_domain_cleanup() must do. */
static void check_gone(const char *phase)
{
    rpc_domain_info info;
    int rc = rpc_domain_stat(g_cfg, &info), cleaned = 0;
    if (g_last_killed) {
        int crc = rpc_domain_cleanup(g_cfg, 0);
        if (crc != 0 && crc != RPC_ENOENT)
            driver_violation(&g_n.cleanup, "%s: the last process was killed and "
                             "rpc_domain_cleanup failed: %s (%s)", phase, rpc_strerror(crc),
                             rpc_errdetail());
        cleaned = crc == 0;
        rc = rpc_domain_stat(g_cfg, &info);
    }
    if (rc != 0 || info.exists || shm_leftovers(1))
        driver_violation(&g_n.leftover, "%s: after the last process %s, %s is still there "
                         "(stat rc %d, exists %d, attached %d, live nodes %u, registered %u)",
                         phase, g_last_killed ? "was killed and one clean-up" : "left normally",
                         opt.name, rc, rc == 0 ? info.exists : -1, rc == 0 ? info.attached : -1,
                         rc == 0 ? info.live_nodes : 0, rc == 0 ? info.registered_nodes : 0);
    else if (g_last_killed)
        say("%s: the last process was killed; %s removed %s", phase,
            cleaned ? "one clean-up" : "nothing left,", opt.name);
    else
        say("%s: every worker left cleanly and %s is gone", phase, opt.name);
}

/* Stop everything gracefully; then nothing of the domain may remain. */
static void end_phase(void)
{
    uint64_t deadline = chaos_mono_ns() + ms_ns(HELLO_WAIT_MS);
    unsigned i, signaled = g_signaled;
    int waiting = 1;
    for (i = 0; i < opt.workers; i++)
        if (g_w[i].pid != 0 && g_w[i].stopped_until != 0) {
            kill(g_w[i].pid, SIGCONT);
            g_w[i].stopped_until = 0;
        }
    /* Let fresh instances install their SIGTERM handler first, so every
     * worker ends by destroying its nodes: the last exit is a normal one. */
    while (waiting && chaos_mono_ns() < deadline && !g_interrupted) {
        waiting = 0;
        for (i = 0; i < opt.workers; i++)
            waiting |= g_w[i].pid != 0 && !g_w[i].got_hello && g_w[i].sent_sig == 0;
        poll_reports(5);
        reap();
        hang_checks(chaos_mono_ns());
    }
    kill_all(SIGTERM);
    wait_all_gone(chaos_mono_ns() + ms_ns(TERM_GRACE_MS + 5000));
    if (running_count() > 0) {
        kill_all(SIGKILL);
        wait_all_gone(chaos_mono_ns() + ms_ns(10000));
    }
    /* The order of reaping is not the order of exits: if any worker of
     * this phase died by a signal (one too young for its SIGTERM handler,
     * or a SIGKILL), it may have been the last one attached, and the
     * segment may rightly be an orphan. */
    if (g_signaled != signaled)
        g_last_killed = 1;
    check_gone("end");
}

/* The last processes die by SIGKILL: one rpc_domain_cleanup() must remove
 * the orphan. */
static void orphan_phase(void)
{
    uint64_t deadline;
    unsigned i, nw = opt.workers < 2 ? opt.workers : 2;
    int ready = 0, rc;
    rpc_domain_info info;
    for (i = 0; i < nw; i++)
        spawn(&g_w[i]);
    deadline = chaos_mono_ns() + ms_ns(20000);
    while (!ready && chaos_mono_ns() < deadline && !g_interrupted) {
        rpc_node_info e[CHAOS_MAX_NODES];
        int n = rpc_domain_list_nodes(g_cfg, e, CHAOS_MAX_NODES), k;
        unsigned have = 0;
        poll_reports(10);
        reap();
        for (i = 0; i < nw; i++)
            for (k = 0; k < n && k < (int)CHAOS_MAX_NODES; k++)
                if (g_w[i].pid != 0 && e[k].pid == g_w[i].pid && e[k].alive) {
                    have++;
                    break;
                }
        ready = have == nw;
    }
    if (!ready) {
        driver_violation(&g_n.cleanup, "orphan phase: the workers' nodes never showed up");
        kill_all(SIGKILL);
        wait_all_gone(chaos_mono_ns() + ms_ns(10000));
        (void)rpc_domain_cleanup(g_cfg, 0);
        return;
    }
    poll_reports(300);   /* some traffic first */
    kill_all(SIGKILL);
    wait_all_gone(chaos_mono_ns() + ms_ns(10000));
    rc = rpc_domain_stat(g_cfg, &info);
    if (rc != 0 || !info.exists || !info.orphaned)
        driver_violation(&g_n.cleanup, "orphan phase: after SIGKILL of the last processes "
                         "stat says rc %d exists %d orphaned %d", rc, rc == 0 ? info.exists : -1,
                         rc == 0 ? info.orphaned : -1);
    g_last_killed = 1;
    check_gone("orphan");
}

/* ---- the report ---------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double percentile(const struct samples *sm, double p)
{
    size_t i;
    if (sm->n == 0)
        return 0;
    i = (size_t)(p * (double)sm->n + 0.999999);
    if (i > 0)
        i--;
    return sm->v[i < sm->n ? i : sm->n - 1];
}

static void print_latency(const char *what, struct samples *sm)
{
    if (sm->n > 0)   /* qsort must not get the NULL of an empty set */
        qsort(sm->v, sm->n, sizeof *sm->v, cmp_double);
    printf("chaos: reclaim latency (gone from the list), %s: %zu deaths, P50 %.0f ms, "
           "P99 %.0f ms, max %.0f ms (limit %u ms)\n", what, sm->n, percentile(sm, 0.50),
           percentile(sm, 0.99), sm->n ? sm->v[sm->n - 1] : 0.0, CHAOS_RECLAIM_LIMIT_MS);
}

/* --inject: the run passes when the checkers caught the faked violation. */
static int selftest_verdict(unsigned long driver_violations)
{
    unsigned i;
    for (i = CC_FIRST_VIOLATION; i < CC_LAST_VIOLATION; i++)
        if (strcmp(chaos_counter_names[i], opt.inject) == 0)
            break;
    if (g_tot[i] > 0 && driver_violations == 0 && !g_interrupted) {
        printf("chaos: SELF-TEST PASS: injected %s detected %" PRId64 " times\n", opt.inject,
               g_tot[i]);
        return 0;
    }
    printf("chaos: SELF-TEST FAIL: injected %s detected %" PRId64 " times, %lu driver "
           "violations\n", opt.inject, g_tot[i], driver_violations);
    return 1;
}

static int final_report(double seconds)
{
    unsigned long dv = g_n.crash + g_n.hang + g_n.reclaim + g_n.leftover + g_n.list +
                       g_n.cleanup + g_n.false_death;
    int64_t wv = 0;
    unsigned i;
    for (i = CC_FIRST_VIOLATION; i <= CC_LAST_VIOLATION; i++)
        wv += g_tot[i];
    printf("chaos: ---- report (seed %" PRIu64 ", %u workers, %.0f s, domain %s) ----\n",
           opt.seed, opt.workers, seconds, opt.name);
    printf("chaos: cycles (worker restarts) %lu; starts %lu (with the end phases %lu)\n",
           g_n.starts > opt.workers ? g_n.starts - opt.workers : 0, g_n.starts, g_n.all_starts);
    printf("chaos: kills %lu: SIGKILL %lu, SIGTERM %lu; right after start %lu; massacres %lu; "
           "init crash points armed %lu\n", g_n.sigkills + g_n.sigterms, g_n.sigkills,
           g_n.sigterms, g_n.early, g_n.massacres, g_n.hooks);
    printf("chaos: exits (all phases): verdicts %lu, deaths by SIGKILL %lu\n", g_n.clean_exits,
           g_n.died_by_signal);
    printf("chaos: messages checked %" PRId64 ", publishes ok %" PRId64 ", publish timeouts %"
           PRId64 " (known misses), churn %" PRId64 ", blocking calls timed %" PRId64 "\n",
           g_tot[CC_CHECKED], g_tot[CC_PUBLISHED], g_tot[CC_PUB_TIMEOUT], g_tot[CC_CHURN],
           g_tot[CC_CALLS]);
    printf("chaos: losses %" PRId64 " (%" PRId64 " messages), duplicates %" PRId64
           ", reorders %" PRId64 ", corruptions %" PRId64 "\n", g_tot[CC_LOSS],
           g_tot[CC_MISSING], g_tot[CC_DUP], g_tot[CC_REORDER], g_tot[CC_CORRUPT]);
    printf("chaos: blocking-call overruns %" PRId64 " (slack %u ms), early timeouts %" PRId64
           ", unexpected errors %" PRId64 "\n", g_tot[CC_OVERRUN], opt.slack_ms, g_tot[CC_EARLY],
           g_tot[CC_ERROR]);
    printf("chaos: worst lateness past a timeout %.1f ms (wall clock %.1f ms; longest wait for a "
           "CPU inside one call %.1f ms); longest call without a timeout %.1f ms\n",
           (double)g_tot[CC_EXCESS_US] / 1000.0, (double)g_tot[CC_WALL_EXCESS_US] / 1000.0,
           (double)g_tot[CC_MAX_RUNQ_US] / 1000.0, (double)g_tot[CC_MAX_CALL_US] / 1000.0);
    printf("chaos: crashes %lu, hangs %lu, dead nodes listed too long %lu, list failures %lu, "
           "leftovers %lu, clean-up failures %lu\n", g_n.crash, g_n.hang, g_n.reclaim,
           g_n.list, g_n.leftover, g_n.cleanup);
    if (opt.stop_ms > 0)
        printf("chaos: SIGSTOP pauses %lu (up to %u ms each); stopped nodes read dead %lu\n",
               g_n.stops, opt.stop_ms, g_n.false_death);
    printf("chaos: node list polled %lu times (%lu transient errors)\n", g_n.list_calls,
           g_n.list_errors);
    print_latency("from the kill", &g_lat);
    print_latency("from the death", &g_lat_death);
    print_latency("from the death, no worker started meanwhile", &g_lat_nojoin);
    if (opt.inject != NULL)
        return selftest_verdict(dv);
    if (dv == 0 && wv == 0 && !g_interrupted) {
        printf("chaos: PASS\n");
        return 0;
    }
    printf("chaos: FAIL (%lu driver + %" PRId64 " worker violations%s); replay with --seed %"
           PRIu64 "\n", dv, wv, g_interrupted ? ", interrupted" : "", opt.seed);
    return 1;
}

/* ---- main -------------------------------------------------------------------------- */

static void usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s [--seconds S] [--workers N] [--name /NAME] [--seed X]\n"
            "          [--kill-ms MS] [--slack-ms MS] [--max-timeout-ms MS] [--worker PATH]\n"
            "          [--inject KIND] [--stop-ms MS] [--no-runq] [--verbose]\n"
            "  --seconds S        length of the kill/restart phase (default 45)\n"
            "  --workers N        worker processes, 1..%u (default 6)\n"
            "  --name /NAME       domain segment (default /librpc_t_chaos_<pid>)\n"
            "  --seed X           random seed (default: from the clock; always printed)\n"
            "  --kill-ms MS       mean time between kill events (default 500)\n"
            "  --slack-ms MS      allowed lateness of a blocking call (default 100)\n"
            "  --max-timeout-ms   longest publish timeout (default 2000)\n"
            "  --worker PATH      the worker program (default: chaos_worker beside this one)\n"
            "  --inject KIND      self-test: workers fake one loss|dup|reorder|corrupt each;\n"
            "                     the run passes only if the checkers catch it\n"
            "  --stop-ms MS       also pause random workers (SIGSTOP) for up to MS ms\n"
            "  --no-runq          workers do not read /proc/thread-self/schedstat: a call's\n"
            "                     wait for a CPU counts against it (raise --slack-ms)\n",
            argv0, CHAOS_MAX_WORKERS);
    exit(2);
}

static void parse_args(int argc, char **argv)
{
    int i, have_seed = 0;
    for (i = 1; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(k, "--verbose") == 0) {
            opt.verbose = 1;
            continue;
        }
        if (strcmp(k, "--no-runq") == 0) {
            opt.no_runq = 1;
            continue;
        }
        if (v == NULL)
            usage(argv[0]);
        i++;
        if (strcmp(k, "--seconds") == 0)
            opt.seconds = (unsigned)strtoul(v, NULL, 10);
        else if (strcmp(k, "--workers") == 0)
            opt.workers = (unsigned)strtoul(v, NULL, 10);
        else if (strcmp(k, "--name") == 0)
            snprintf(opt.name, sizeof opt.name, "%s", v);
        else if (strcmp(k, "--seed") == 0)
            opt.seed = strtoull(v, NULL, 0), have_seed = 1;
        else if (strcmp(k, "--kill-ms") == 0)
            opt.kill_ms = (unsigned)strtoul(v, NULL, 10);
        else if (strcmp(k, "--slack-ms") == 0)
            opt.slack_ms = (unsigned)strtoul(v, NULL, 10);
        else if (strcmp(k, "--max-timeout-ms") == 0)
            opt.max_timeout_ms = (unsigned)strtoul(v, NULL, 10);
        else if (strcmp(k, "--inject") == 0)
            opt.inject = v;
        else if (strcmp(k, "--stop-ms") == 0)
            opt.stop_ms = (unsigned)strtoul(v, NULL, 10);
        else if (strcmp(k, "--worker") == 0)
            snprintf(opt.worker_path, sizeof opt.worker_path, "%s", v);
        else
            usage(argv[0]);
    }
    if (opt.workers < 1 || opt.workers > CHAOS_MAX_WORKERS || opt.kill_ms == 0)
        usage(argv[0]);
    if (opt.inject != NULL && strcmp(opt.inject, "loss") != 0 && strcmp(opt.inject, "dup") != 0 &&
        strcmp(opt.inject, "reorder") != 0 && strcmp(opt.inject, "corrupt") != 0)
        usage(argv[0]);
    if (!have_seed)
        opt.seed = chaos_fresh_seed();
    if (opt.name[0] == '\0')
        snprintf(opt.name, sizeof opt.name, "/librpc_t_chaos_%d", (int)getpid());
    if (opt.worker_path[0] == '\0') {
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        char *slash;
        if (n <= 0)
            usage(argv[0]);
        self[n] = '\0';
        if ((slash = strrchr(self, '/')) != NULL)
            *slash = '\0';
        snprintf(opt.worker_path, sizeof opt.worker_path, "%.*s/chaos_worker", PATH_MAX - 20,
                 self);
    }
}

int main(int argc, char **argv)
{
    struct sigaction sa;
    uint64_t t0;
    pthread_t reaper;
    unsigned i;
    int rc;

    g_t_start = chaos_mono_ns();
    parse_args(argc, argv);
    /* Children must not pick up a segment name from the environment. */
    unsetenv(RPC_ENV_SHM_NAME);
    unsetenv("LIBRPC_TEST_CRASH_AT");
    g_rng = opt.seed;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* A closed stdout (e.g. piped into head) must not stop the clean-up. */
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    if ((rc = chaos_config(opt.name, RPC_RECEIVE_THREAD, &g_cfg)) != 0) {
        fprintf(stderr, "chaos: configuration for %s: %s (%s)\n", opt.name, rpc_strerror(rc),
                rpc_errdetail());
        return 2;
    }
    if (access(opt.worker_path, X_OK) != 0) {
        fprintf(stderr, "chaos: worker program %s: %s\n", opt.worker_path, strerror(errno));
        return 2;
    }
    rc = rpc_domain_cleanup(g_cfg, 0);   /* a previous run's orphan of the same name */
    if (rc != 0 && rc != RPC_ENOENT) {
        fprintf(stderr, "chaos: %s exists and is in use (%s): choose another --name\n",
                opt.name, rpc_strerror(rc));
        return 2;
    }
    for (i = 0; i < opt.workers; i++) {
        g_w[i].index = i;
        g_w[i].fd = -1;
        g_w[i].pidfd = -1;
    }
    if (pthread_create(&reaper, NULL, reaper_main, NULL) != 0) {
        fprintf(stderr, "chaos: cannot start the reaper thread\n");
        return 2;
    }
    pthread_detach(reaper);
    say("seed %" PRIu64 " workers %u seconds %u domain %s (queue %zu KiB, segment %zu MiB, "
        "%u node slots)", opt.seed, opt.workers, opt.seconds, opt.name, CHAOS_QUEUE_SIZE >> 10,
        CHAOS_SHM_SIZE >> 20, CHAOS_MAX_NODES);

    t0 = chaos_mono_ns();
    run_phase();
    if (!g_interrupted)
        end_phase();
    if (!g_interrupted)
        orphan_phase();
    if (g_interrupted) {
        kill_all(SIGKILL);
        wait_all_gone(chaos_mono_ns() + ms_ns(10000));
        /* Never forced: the name may be shared with processes not ours. */
        if ((rc = rpc_domain_cleanup(g_cfg, 0)) != 0 && rc != RPC_ENOENT)
            fprintf(stderr, "chaos: clean-up of %s after the interruption: %s\n", opt.name,
                    rpc_strerror(rc));
    }
    rc = final_report((double)(chaos_mono_ns() - t0) / 1e9);
    rpc_config_destroy(g_cfg);
    free(g_dead);
    free(g_lat.v);
    free(g_lat_nojoin.v);
    free(g_lat_death.v);
    return rc;
}
