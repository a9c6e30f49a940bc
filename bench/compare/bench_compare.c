/*
 * bench_compare.c - librpc side by side with what one would use instead:
 * iceoryx 2.0, ZeroMQ ipc://, a Unix-domain socket, a pipe, and two bare
 * shared-memory floors written here, all in one invocation.
 *
 * This file is the coordinator.  The mechanisms are tables of ends
 * (cmp.h; mech_*.c); for each measurement the coordinator forks one
 * publisher process (end A) and one or more subscriber processes (end B),
 * which meet in a MAP_SHARED block mapped before fork(), and reaps them.
 * What it measures, for 64 B, 4 KiB, 64 KiB and 1 MiB payloads:
 *
 *   latency     one-way = ping-pong round trip / 2: P50, P99, P99.9, max;
 *   throughput  one publisher to one subscriber, back-pressure, every
 *               message checked: messages/s and MB/s;
 *   fan-out     one publisher to 1, 2 and 4 subscriber processes:
 *               messages/s per subscriber;
 *   cpu         both ends' CPU time per second of wall time at a steady
 *               1 000 and 10 000 messages/s with the mechanism's sleeping
 *               receiver, and with no traffic at all (idle).
 *
 * Every measurement ("cell") runs each mechanism once per repeat; within a
 * repeat the mechanisms of a cell run one after the other, in an order
 * rotated from cell to cell and repeat to repeat, so that drift of the
 * machine hits all alike.  Figures are medians over the repeats, with the
 * range; ratios are taken within a repeat, then the median.
 *
 * Load check: around each run the coordinator reads the CPU time of every
 * other process on the machine (/proc/PID/stat, with reaped children's
 * time, and the steal time of /proc/stat).  A run where others took more
 * than a few percent of the machine is re-run (--retries), and a figure
 * that stayed disturbed is flagged in the tables.
 *
 * The exit status is 0 when every run delivered every message intact and
 * left nothing behind; nothing here asserts a speed.
 *
 * Usage: see usage() below.
 */
#define _GNU_SOURCE
#include "cmp.h"

#include <librpc/librpc.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_MECHS 32
#define MAX_REPEATS 15
#define MAX_CELLS 32
#define MAX_SIZES 8
#define NS_PER_S 1e9

enum part { P_LATENCY, P_THROUGHPUT, P_FANOUT, P_CPU, NPARTS };
static const char *const PART_NAMES[NPARTS] = { "latency", "throughput", "fanout", "cpu" };

static const size_t DEFAULT_SIZES[] = { 64, 4096, 65536, 1u << 20 };
#define NDEFAULT_SIZES 4
static const unsigned FANOUT_SUBS[] = { 1, 2, 4 };
#define NFANOUT 3
static const double RATES[] = { 1000, 10000 };
#define NRATES 2

/* One configuration every mechanism runs once per repeat. */
struct cell {
    enum part part;
    enum cmp_mode mode;
    size_t size;
    unsigned nsubs;
    double rate_hz;
    uint64_t warm, count;          /* idle: count = milliseconds */
};

/* One mechanism's figures in one cell and one repeat. */
struct meas {
    int state;                     /* 0 not run, 1 ok, -1 failed */
    int flagged;                   /* others' CPU stayed above the limit */
    double other_pct;              /* others' CPU, % of the machine */
    double v[4];                   /* see the M_* indices */
};
/* latency: one-way P50, P99, P99.9, max (ns) */
enum { M_P50, M_P99, M_P999, M_MAX };
/* throughput, fan-out: messages/s per subscriber (mean), slowest subscriber;
 * a repeat's slices: messages and seconds so far */
enum { M_RATE, M_RATE_MIN, M_TPUT_MSGS, M_TPUT_SECS };
/* cpu: percent of one core, publisher and subscriber */
enum { M_CPU_PUB, M_CPU_SUB, M_WALL_S };

struct options {
    int quick, repeats, slices, retries, pin, roudi_running;
    pid_t roudi_pid;
    double scale, flag_pct;
    int parts[NPARTS];
    const char *mechanisms;
    size_t sizes[MAX_SIZES];
    int nsizes;
    const char *out_dir;
};

static struct options g_opt;
static const struct cmp_mech *g_mech[MAX_MECHS];
static int g_nmech;
static struct cell g_cell[MAX_CELLS];
static int g_ncell;
static struct meas g_res[MAX_CELLS][MAX_MECHS][MAX_REPEATS];
static uint64_t *g_cdf[MAX_MECHS];          /* latency samples of the CDF cell, pooled */
static uint64_t *g_pool[MAX_MECHS];         /* latency samples of a repeat's slices */
static size_t g_cdf_n[MAX_MECHS];
static int g_cdf_cell = -1;
static int g_failures;
static uint64_t g_retry_ns;                 /* time spent re-running disturbed runs */
/* Re-runs stop after this much time: on a machine that stays busy they
 * would only make the run longer. */
#define RETRY_BUDGET_NS (90ull * 1000000000ull)

static struct cmp_shared *g_sh;
static uint64_t *g_samples;
static size_t g_samples_cap;
static char g_name[RPC_SHM_NAME_MAX + 1];
static volatile pid_t g_child[CMP_MAX_SUBS + 1];
static int g_cpu[2] = { -1, -1 };

/* ---- small helpers ----------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest rank: the smallest sample with at least p of all at or below. */
static uint64_t percentile(const uint64_t *sorted, size_t n, double p)
{
    size_t rank = (size_t)ceil(p * (double)n);
    if (rank < 1)
        rank = 1;
    return sorted[(rank > n ? n : rank) - 1];
}

/* Median of n values (v is left as it was); *lo and *hi get the extremes. */
static double med_range(const double *v, int n, double *lo, double *hi)
{
    double s[MAX_REPEATS];
    if (n <= 0) {
        *lo = *hi = NAN;
        return NAN;
    }
    memcpy(s, v, (size_t)n * sizeof *v);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    *lo = s[0];
    *hi = s[n - 1];
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static void read_first_line(const char *path, const char *key, char *out, size_t len)
{
    char line[256];
    FILE *f = fopen(path, "r");
    snprintf(out, len, "unknown");
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        char *colon = strchr(line, ':');
        if (key != NULL && (strncmp(line, key, strlen(key)) != 0 || colon == NULL))
            continue;
        snprintf(out, len, "%.*s", (int)len - 1, key != NULL ? colon + 2 : line);
        out[strcspn(out, "\n")] = '\0';
        break;
    }
    if (f != NULL)
        fclose(f);
}

/* ---- the load check ------------------------------------------------------ */

/* CPU ticks (utime + stime + reaped children's) per process: a snapshot of
 * the machine taken just before a run's processes start and just after
 * they are reaped.  The run's own processes are gone by then (their time
 * is in our cutime, and we skip ourselves). */
struct proc_ticks {
    pid_t pid;
    uint64_t ticks;
};

struct snapshot {
    struct proc_ticks *p;
    size_t n, cap;
    uint64_t steal;                /* /proc/stat, all CPUs */
    uint64_t t;
};

/* Fields 14-17 of /proc/PID/stat, after the command name's last ')'. */
static int read_proc_ticks(pid_t pid, uint64_t *ticks)
{
    char path[64], buf[1024], *p;
    unsigned long long ut, st;
    long long cut, cst;
    ssize_t n;
    int fd;
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return -1;
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    if ((p = strrchr(buf, ')')) == NULL)
        return -1;
    if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %lld %lld", &ut,
               &st, &cut, &cst) != 4)
        return -1;
    *ticks = ut + st + (uint64_t)(cut > 0 ? cut : 0) + (uint64_t)(cst > 0 ? cst : 0);
    return 0;
}

static uint64_t read_steal(void)
{
    unsigned long long v[8] = { 0 };
    char line[512];
    FILE *f = fopen("/proc/stat", "r");
    if (f == NULL)
        return 0;
    if (fgets(line, sizeof line, f) == NULL ||
        sscanf(line, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
               &v[4], &v[5], &v[6], &v[7]) != 8)
        v[7] = 0;
    fclose(f);
    return v[7];
}

static int by_pid(const void *a, const void *b)
{
    const struct proc_ticks *x = a, *y = b;
    return (x->pid > y->pid) - (x->pid < y->pid);
}

static void take_snapshot(struct snapshot *s)
{
    pid_t self = getpid();
    struct dirent *d;
    DIR *dir = opendir("/proc");
    s->n = 0;
    while (dir != NULL && (d = readdir(dir)) != NULL) {
        uint64_t ticks;
        pid_t pid;
        if (!isdigit((unsigned char)d->d_name[0]))
            continue;
        pid = (pid_t)atoi(d->d_name);
        if (pid == self || read_proc_ticks(pid, &ticks) != 0)
            continue;
        if (s->n == s->cap) {
            size_t cap = s->cap ? 2 * s->cap : 512;
            struct proc_ticks *p = realloc(s->p, cap * sizeof *p);
            if (p == NULL)
                break;
            s->p = p;
            s->cap = cap;
        }
        s->p[s->n].pid = pid;
        s->p[s->n++].ticks = ticks;
    }
    if (dir != NULL)
        closedir(dir);
    qsort(s->p, s->n, sizeof *s->p, by_pid);
    s->steal = read_steal();
    s->t = cmp_now();
}

/* Nanoseconds of CPU the processes other than ours (and `skip`, a daemon
 * that belongs to the measured mechanism) used between two snapshots,
 * steal time included.  A process that appeared in between counts whole.
 * A parent's reaped children count too (short-lived jobs show only
 * there), but no process counts for more than the whole machine over the
 * interval: a long-running child that exits brings all its time at once. */
static double others_ns(const struct snapshot *a, const struct snapshot *b, pid_t skip)
{
    double tick_ns = NS_PER_S / (double)sysconf(_SC_CLK_TCK), ticks = 0;
    double cap = (double)(b->t - a->t) * (double)sysconf(_SC_NPROCESSORS_ONLN) / tick_ns;
    size_t i;
    for (i = 0; i < b->n; i++) {
        struct proc_ticks key = { b->p[i].pid, 0 }, *before;
        double d = 0;
        if (b->p[i].pid == skip)
            continue;
        before = bsearch(&key, a->p, a->n, sizeof *a->p, by_pid);
        if (before == NULL)
            d = (double)b->p[i].ticks;
        else if (b->p[i].ticks > before->ticks)
            d = (double)(b->p[i].ticks - before->ticks);
        ticks += d < cap ? d : cap;
    }
    if (b->steal > a->steal)
        ticks += (double)(b->steal - a->steal);
    return (ticks < cap ? ticks : cap) * tick_ns;
}

/* The pid of a running iox-roudi, or 0. */
static pid_t find_roudi(void)
{
    struct dirent *d;
    DIR *dir = opendir("/proc");
    pid_t found = 0;
    while (dir != NULL && found == 0 && (d = readdir(dir)) != NULL) {
        char path[64], comm[64];
        if (!isdigit((unsigned char)d->d_name[0]) || strlen(d->d_name) > 20)
            continue;
        snprintf(path, sizeof path, "/proc/%.20s/comm", d->d_name);
        read_first_line(path, NULL, comm, sizeof comm);
        if (strcmp(comm, "iox-roudi") == 0)
            found = (pid_t)atoi(d->d_name);
    }
    if (dir != NULL)
        closedir(dir);
    return found;
}

/* ---- processes ----------------------------------------------------------- */

static void on_signal(int sig)
{
    int i;
    (void)sig;
    for (i = 0; i <= CMP_MAX_SUBS; i++)
        if (g_child[i] > 0)
            kill(g_child[i], SIGKILL);
    if (g_name[0] != '\0')
        shm_unlink(g_name);
    _exit(130);
}

static void install_handlers(void)
{
    static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT };
    struct sigaction sa;
    sigset_t chld;
    size_t i;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaction(sigs[i], &sa, NULL);
    /* Children are reaped with sigtimedwait(SIGCHLD): no polling. */
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
}

/* The first two CPUs we may run on (--pin: A on one, the Bs on the other). */
static void choose_cpus(void)
{
    cpu_set_t set;
    int cpu, n = 0;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return;
    for (cpu = 0; cpu < CPU_SETSIZE && n < 2; cpu++)
        if (CPU_ISSET(cpu, &set))
            g_cpu[n++] = cpu;
    if (n < 2)
        g_cpu[0] = g_cpu[1] = -1;
}

static void pin(int cpu)
{
    cpu_set_t set;
    if (cpu < 0)
        return;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0)
        perror("bench_compare: sched_setaffinity");
}

/* An end's process: dies with us, default signals, then its work. */
static void child_main(struct cmp_job *j, int is_a, unsigned sub_id, pid_t coordinator)
{
    static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT };
    sigset_t none;
    size_t i;
    int rc;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != coordinator)
        _exit(1);
    for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        signal(sigs[i], SIG_DFL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (g_opt.pin && j->nsubs == 1)
        pin(g_cpu[is_a ? 0 : 1]);
    j->sub_id = sub_id;
    rc = is_a ? j->m->pub(j) : j->m->sub(j);
    _exit(rc == 0 ? 0 : 1);
}

/* Reap every end by the deadline (kill them past it, or a few seconds
 * after a failure, since a failed run's ends may wait for one another).
 * *cpu_ns gets the ends' CPU time (wait4).  0 if all exited with status 0. */
static int reap(int n, uint64_t deadline, double *cpu_ns)
{
    sigset_t chld;
    int i, status, ok = 1, left = 0, failing = 0;
    struct rusage ru;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    *cpu_ns = 0;
    for (i = 0; i < n; i++)
        left += g_child[i] > 0;
    while (left > 0) {
        uint64_t now = cmp_now();
        for (i = 0; i < n; i++) {
            if (g_child[i] <= 0 || wait4(g_child[i], &status, WNOHANG, &ru) != g_child[i])
                continue;
            *cpu_ns += (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * NS_PER_S +
                       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e3;
            ok &= WIFEXITED(status) && WEXITSTATUS(status) == 0;
            g_child[i] = 0;
            left--;
        }
        if (left == 0)
            break;
        if (!failing && (!ok || atomic_load(&g_sh->errors) != 0)) {
            failing = 1;
            cmp_set_done(g_sh);
            if (deadline > now + 3000000000ull)
                deadline = now + 3000000000ull;
        }
        if (now > deadline) {
            fprintf(stderr, "bench_compare: ends still running; killing them\n");
            for (i = 0; i < n; i++)
                if (g_child[i] > 0)
                    kill(g_child[i], SIGKILL);
            deadline = UINT64_MAX;   /* now reap them */
            ok = 0;
            continue;
        }
        {
            uint64_t wait = deadline - now < 1000000000u ? deadline - now : 1000000000u;
            struct timespec ts = { (time_t)(wait / 1000000000u), (long)(wait % 1000000000u) };
            sigtimedwait(&chld, NULL, &ts);
        }
    }
    return ok ? 0 : -1;
}

/* A bound on a run: generous, for hangs only. */
static uint64_t deadline_for(const struct cmp_job *j)
{
    double per = 2e6 + (double)j->size * 100.0 * j->nsubs;   /* ns per message */
    double ns = 60e9;
    if (j->mode == CMP_RATE)
        ns += (double)(j->warm + j->count) / j->rate_hz * NS_PER_S;
    else if (j->mode == CMP_IDLE)
        ns += (double)j->count * 1e6;
    else
        ns += (double)(j->warm + j->count) * per;
    return cmp_now() + (uint64_t)ns;
}

/* Run one mechanism once: fork its ends, reap them, check.  0 or -1;
 * *other_pct gets the CPU share other processes took meanwhile. */
static int run_job(struct cmp_job *j, double *other_pct)
{
    static unsigned serial;
    struct snapshot *before = calloc(1, sizeof *before), *after = calloc(1, sizeof *after);
    pid_t self = getpid(), skip = j->m->needs_roudi ? g_opt.roudi_pid : 0;
    uint64_t deadline;
    double ends_ns = 0, elapsed;
    unsigned i;
    int rc = 0, nproc = 0;

    snprintf(g_name, sizeof g_name, "/librpc_cmp_%ld_%u", (long)self, serial++);
    j->name = g_name;
    j->sh = g_sh;
    j->samples = g_samples;
    j->prep = NULL;
    memset(g_sh, 0, sizeof *g_sh);
    atomic_store(&g_sh->nends, 1 + j->nsubs);
    if (before == NULL || after == NULL) {
        fprintf(stderr, "bench_compare: out of memory\n");
        rc = -1;
    } else if (j->m->prepare != NULL && j->m->prepare(j) != 0) {
        fprintf(stderr, "bench_compare: %s: set-up failed: %s\n", j->m->label, strerror(errno));
        rc = -1;
    }
    if (rc == 0) {
        take_snapshot(before);
        fflush(stdout);
        fflush(stderr);
        deadline = deadline_for(j);
        for (i = 0; i <= j->nsubs && rc == 0; i++) {
            /* Subscribers first, the publisher last. */
            int is_a = i == j->nsubs;
            pid_t pid = fork();
            if (pid == 0)
                child_main(j, is_a, is_a ? 0 : i, self);
            if (pid < 0) {
                perror("bench_compare: fork");
                cmp_set_done(g_sh);   /* the others stop at the barrier */
                rc = -1;
                break;
            }
            g_child[nproc++] = pid;
        }
        if (reap(nproc, deadline, &ends_ns) != 0)
            rc = -1;
        take_snapshot(after);
        elapsed = (double)(after->t - before->t);
        *other_pct = elapsed > 0
                         ? 100.0 * others_ns(before, after, skip) /
                               (elapsed * (double)sysconf(_SC_NPROCESSORS_ONLN))
                         : 0;
    }
    if (j->m->finish != NULL)
        j->m->finish(j);
    if (atomic_load(&g_sh->errors) != 0) {
        fprintf(stderr, "bench_compare: %s: %s\n", j->m->label, g_sh->errmsg);
        rc = -1;
    } else if (rc != 0) {
        fprintf(stderr, "bench_compare: %s: an end failed\n", j->m->label);
    }
    g_name[0] = '\0';
    if (before != NULL)
        free(before->p);
    if (after != NULL)
        free(after->p);
    free(before);
    free(after);
    return rc;
}

/* ---- measuring a cell ---------------------------------------------------- */

static int supports(const struct cmp_mech *m, const struct cell *c)
{
    if (!(m->modes & (1u << c->mode)))
        return 0;
    if (m->max_size != 0 && c->size > m->max_size)
        return 0;
    return c->nsubs <= CMP_MAX_SUBS;
}

static void latency_figures(struct meas *r, uint64_t *s, size_t n)
{
    qsort(s, n, sizeof *s, cmp_u64);
    r->v[M_P50] = (double)percentile(s, n, 0.50) / 2;
    r->v[M_P99] = (double)percentile(s, n, 0.99) / 2;
    r->v[M_P999] = (double)percentile(s, n, 0.999) / 2;
    r->v[M_MAX] = (double)s[n - 1] / 2;
}

/* messages/s of each subscriber over its timed phase: mean and slowest. */
static int rate_figures(struct meas *r, const struct cmp_job *j)
{
    double sum = 0, min = INFINITY;
    unsigned i;
    for (i = 0; i < j->nsubs; i++) {
        uint64_t t0 = atomic_load(&g_sh->sub[i].t0), t1 = atomic_load(&g_sh->sub[i].t1);
        double rate;
        if (t0 == 0 || t1 <= t0)
            return -1;
        rate = (double)j->count * NS_PER_S / (double)(t1 - t0);
        sum += rate;
        min = rate < min ? rate : min;
    }
    r->v[M_RATE] = sum / j->nsubs;
    r->v[M_RATE_MIN] = min;
    return 0;
}

static int cpu_figures(struct meas *r, const struct cmp_job *j)
{
    const struct cmp_end_result *p = &g_sh->pub;
    double sub = 0, wall = 0;
    unsigned i;
    if (atomic_load(&p->wall_ns) == 0)
        return -1;
    for (i = 0; i < j->nsubs; i++) {
        uint64_t w = atomic_load(&g_sh->sub[i].wall_ns);
        if (w == 0)
            return -1;
        sub += 100.0 * (double)atomic_load(&g_sh->sub[i].cpu_ns) / (double)w;
        wall += (double)w;
    }
    r->v[M_CPU_PUB] = 100.0 * (double)atomic_load(&p->cpu_ns) / (double)atomic_load(&p->wall_ns);
    r->v[M_CPU_SUB] = sub / j->nsubs;
    r->v[M_WALL_S] = wall / j->nsubs / NS_PER_S;
    return 0;
}

static void keep_cdf(int mi, const uint64_t *s, size_t n)
{
    uint64_t *p = realloc(g_cdf[mi], (g_cdf_n[mi] + n) * sizeof *p);
    if (p == NULL)
        return;
    memcpy(p + g_cdf_n[mi], s, n * sizeof *s);
    g_cdf[mi] = p;
    g_cdf_n[mi] += n;
}

/* Runs per repeat of a cell: latency and throughput cells are cut into
 * --slices slices, the mechanisms alternating in each, so that every
 * mechanism samples the machine's changing states alike (on this kind of
 * virtual machine the wake-up time of an idle CPU, and where the two
 * processes' CPUs sit in the caches, change from second to second).
 * A repeat's figures pool its slices. */
static int slices_of(const struct cell *c)
{
    return c->part == P_LATENCY || c->part == P_THROUGHPUT ? g_opt.slices : 1;
}

static uint64_t slice_count(const struct cell *c)
{
    uint64_t n = c->count / (uint64_t)slices_of(c);
    return n < 10 ? 10 : n;
}

/* One run of a mechanism in a cell (one slice of a repeat): 0 with its
 * figures in *run (latency: its samples in the mechanism's pool, at the
 * slice's place), or -1. */
static int measure_run(int ci, int mi, int slice, struct meas *run, double *other)
{
    const struct cell *c = &g_cell[ci];
    struct cmp_job j;
    int rc;
    memset(&j, 0, sizeof j);
    j.m = g_mech[mi];
    j.mode = c->mode;
    j.size = c->size;
    j.warm = c->warm;
    j.count = slice_count(c);
    j.nsubs = c->nsubs;
    j.rate_hz = c->rate_hz;
    rc = run_job(&j, other);
    if (rc == 0 && c->mode == CMP_LATENCY)
        memcpy(g_pool[mi] + (size_t)slice * j.count, g_samples, j.count * sizeof *g_samples);
    else if (rc == 0 && c->mode == CMP_THROUGHPUT && rate_figures(run, &j) != 0)
        rc = -1;
    else if (rc == 0 && c->mode >= CMP_RATE && cpu_figures(run, &j) != 0)
        rc = -1;
    return rc;
}

/* Add an accepted run to its repeat's figures. */
static void merge_run(int ci, int mi, int slice, struct meas *r, const struct meas *run)
{
    const struct cell *c = &g_cell[ci];
    size_t n = (size_t)slice_count(c) * (size_t)slices_of(c);
    if (c->mode == CMP_LATENCY) {
        if (slice < slices_of(c) - 1)
            return;
        latency_figures(r, g_pool[mi], n);
        if (ci == g_cdf_cell)
            keep_cdf(mi, g_pool[mi], n);   /* sorted now: fine for a CDF */
    } else if (c->mode == CMP_THROUGHPUT) {
        /* Messages over time, summed over the slices. */
        r->v[M_TPUT_MSGS] += (double)slice_count(c);
        r->v[M_TPUT_SECS] += (double)slice_count(c) / run->v[M_RATE];
        r->v[M_RATE] = r->v[M_TPUT_MSGS] / r->v[M_TPUT_SECS];
        if (slice == 0 || run->v[M_RATE_MIN] < r->v[M_RATE_MIN])
            r->v[M_RATE_MIN] = run->v[M_RATE_MIN];
    } else {
        memcpy(r->v, run->v, sizeof r->v);
    }
}

/* One mechanism in one cell (one slice of it), re-run while others
 * disturbed it (up to --retries times, within the re-run budget). */
static void measure(int ci, int mi, int rep, int slice)
{
    struct meas *r = &g_res[ci][mi][rep];
    int attempt;
    if (slice == 0)
        memset(r, 0, sizeof *r);
    else if (r->state < 0)
        return;   /* an earlier slice failed: the repeat is lost */
    for (attempt = 0; attempt <= g_opt.retries; attempt++) {
        struct meas run;
        double other = 0;
        uint64_t t = cmp_now();
        int rc, flagged;
        memset(&run, 0, sizeof run);
        rc = measure_run(ci, mi, slice, &run, &other);
        fprintf(stderr, "  %-16s %s, %.2f s, others %.1f %%\n", g_mech[mi]->key,
                rc == 0 ? "ok" : "FAILED", (double)(cmp_now() - t) / NS_PER_S, other);
        if (rc != 0) {
            r->state = -1;
            g_failures++;
            return;
        }
        if (attempt > 0)
            g_retry_ns += cmp_now() - t;
        flagged = other > g_opt.flag_pct;
        if (!flagged || attempt == g_opt.retries || g_retry_ns > RETRY_BUDGET_NS) {
            merge_run(ci, mi, slice, r, &run);
            r->state = 1;
            r->flagged |= flagged;
            r->other_pct = other > r->other_pct ? other : r->other_pct;
            return;
        }
        fprintf(stderr, "  others took %.1f %% of the machine: again\n", other);
    }
}

static const char *fmt_size(char *b, size_t len, size_t size)
{
    if (size >= (1u << 20) && size % (1u << 20) == 0)
        snprintf(b, len, "%zu MiB", size >> 20);
    else if (size >= 1024 && size % 1024 == 0)
        snprintf(b, len, "%zu KiB", size >> 10);
    else
        snprintf(b, len, "%zu B", size);
    return b;
}

static void describe_cell(const struct cell *c, char *b, size_t len)
{
    char s[32];
    fmt_size(s, sizeof s, c->size);
    switch (c->part) {
    case P_LATENCY:
        snprintf(b, len, "latency %s", s);
        break;
    case P_THROUGHPUT:
        snprintf(b, len, "throughput %s", s);
        break;
    case P_FANOUT:
        snprintf(b, len, "fan-out %s to %u", s, c->nsubs);
        break;
    default:
        if (c->mode == CMP_IDLE)
            snprintf(b, len, "cpu idle");
        else
            snprintf(b, len, "cpu at %.0f/s", c->rate_hz);
    }
}

static void run_all(void)
{
    int rep, ci, k, sl;
    for (rep = 0; rep < g_opt.repeats; rep++) {
        for (ci = 0; ci < g_ncell; ci++) {
            char what[64];
            describe_cell(&g_cell[ci], what, sizeof what);
            fprintf(stderr, "repeat %d/%d: %s\n", rep + 1, g_opt.repeats, what);
            for (sl = 0; sl < slices_of(&g_cell[ci]); sl++) {
                for (k = 0; k < g_nmech; k++) {
                    int mi = (k + rep + ci + sl) % g_nmech;
                    if (supports(g_mech[mi], &g_cell[ci]))
                        measure(ci, mi, rep, sl);
                }
            }
        }
    }
}

/* ---- cells and mechanisms -------------------------------------------------- */

static uint64_t scaled(uint64_t full, uint64_t quick)
{
    double n = (double)(g_opt.quick ? quick : full) * g_opt.scale;
    return n < 10 ? 10 : (uint64_t)n;
}

static uint64_t warm_for(uint64_t count, uint64_t cap)
{
    uint64_t w = count / 10;
    return w < 10 ? 10 : w > cap ? cap : w;
}

/* Counts per size class: 64 B, 4 KiB, 64 KiB, 1 MiB (sized so that the
 * default run of every mechanism stays within a few minutes here). */
static int size_class(size_t size)
{
    return size <= 512 ? 0 : size <= (16u << 10) ? 1 : size <= (256u << 10) ? 2 : 3;
}

static void add_cell(enum part part, enum cmp_mode mode, size_t size, unsigned nsubs,
                     double rate, uint64_t warm, uint64_t count)
{
    struct cell *c;
    if (g_ncell == MAX_CELLS)
        return;
    c = &g_cell[g_ncell++];
    c->part = part;
    c->mode = mode;
    c->size = size;
    c->nsubs = nsubs;
    c->rate_hz = rate;
    c->warm = warm;
    c->count = count;
}

static void make_cells(void)
{
    static const uint64_t LAT[2][4] = { { 30000, 10000, 4000, 400 }, { 2000, 1000, 300, 30 } };
    static const uint64_t TPUT[2][4] = { { 2000000, 500000, 100000, 3000 }, { 5000, 2000, 500, 40 } };
    static const uint64_t FAN[2][4] = { { 100000, 30000, 2000, 300 }, { 2000, 1000, 200, 20 } };
    int q = g_opt.quick, i, k;
    size_t small = g_opt.sizes[0];
    for (i = 0; g_opt.parts[P_LATENCY] && i < g_opt.nsizes; i++) {
        int sc = size_class(g_opt.sizes[i]);
        uint64_t n = scaled(LAT[0][sc], LAT[1][sc]);
        if (g_opt.sizes[i] == 64 || (g_cdf_cell < 0 && i == 0))
            g_cdf_cell = g_ncell;
        add_cell(P_LATENCY, CMP_LATENCY, g_opt.sizes[i], 1, 0,
                 warm_for(n / (uint64_t)g_opt.slices, 2000), n);
    }
    for (i = 0; g_opt.parts[P_THROUGHPUT] && i < g_opt.nsizes; i++) {
        int sc = size_class(g_opt.sizes[i]);
        uint64_t n = scaled(TPUT[0][sc], TPUT[1][sc]);
        add_cell(P_THROUGHPUT, CMP_THROUGHPUT, g_opt.sizes[i], 1, 0,
                 warm_for(n / (uint64_t)g_opt.slices, 20000), n);
    }
    /* Fan-out: the smallest payload and, when chosen, 64 KiB. */
    for (i = 0; g_opt.parts[P_FANOUT] && i < g_opt.nsizes; i++) {
        size_t size = g_opt.sizes[i];
        int sc = size_class(size);
        uint64_t n = scaled(FAN[0][sc], FAN[1][sc]);
        if (i != 0 && size != 65536)
            continue;
        for (k = 0; k < NFANOUT; k++)
            add_cell(P_FANOUT, CMP_THROUGHPUT, size, FANOUT_SUBS[k], 0, warm_for(n, 20000), n);
    }
    /* CPU: the smallest payload, 0.1 s of warm-up, then 1 s at 1000/s and
     * 0.5 s at 10000/s; idle 1 s (quick: a fifth). */
    for (k = 0; g_opt.parts[P_CPU] && k < NRATES; k++) {
        double secs = (k == 0 ? 1.0 : 0.5) * (q ? 0.2 : 1.0) * g_opt.scale;
        uint64_t n = (uint64_t)(RATES[k] * secs);
        add_cell(P_CPU, CMP_RATE, small, 1, RATES[k], (uint64_t)(RATES[k] / 10), n < 10 ? 10 : n);
    }
    if (g_opt.parts[P_CPU])
        add_cell(P_CPU, CMP_IDLE, small, 1, 0, 1, (uint64_t)((q ? 200 : 1000) * g_opt.scale));
}

/* Does a --mechanisms entry select key?  An entry names a key, or the
 * family before its first '-' ("librpc", "floor", "iox"). */
static int wanted(const char *key)
{
    const char *p = g_opt.mechanisms;
    if (p == NULL)
        return 1;
    while (*p != '\0') {
        size_t len = strcspn(p, ",");
        if (len > 0 && strncmp(p, key, len) == 0 && (key[len] == '\0' || key[len] == '-'))
            return 1;
        p += len;
        if (*p == ',')
            p++;
    }
    return 0;
}

static void add_table(const struct cmp_mech *t, int skip_roudi)
{
    for (; t->key != NULL && g_nmech < MAX_MECHS; t++) {
        if (!wanted(t->key))
            continue;
        if (t->needs_roudi && skip_roudi) {
            fprintf(stderr, "bench_compare: %s skipped: iox-roudi is not running "
                    "(bench/compare.sh starts it; or pass --roudi-running)\n", t->key);
            continue;
        }
        g_mech[g_nmech++] = t;
    }
}

static int find_mech(const char *key)
{
    int i;
    for (i = 0; i < g_nmech; i++)
        if (strcmp(g_mech[i]->key, key) == 0)
            return i;
    return -1;
}

/* ---- the report ------------------------------------------------------------- */

static const char *fmt_ns(char *b, size_t len, double ns)
{
    if (isnan(ns))
        snprintf(b, len, "-");
    else if (ns < 1000)
        snprintf(b, len, "%.0f ns", ns);
    else if (ns < 10000)
        snprintf(b, len, "%.2f µs", ns / 1e3);
    else if (ns < 1e6)
        snprintf(b, len, "%.1f µs", ns / 1e3);
    else
        snprintf(b, len, "%.2f ms", ns / 1e6);
    return b;
}

static const char *fmt_rate(char *b, size_t len, double per_s)
{
    if (isnan(per_s))
        snprintf(b, len, "-");
    else if (per_s >= 1e6)
        snprintf(b, len, "%.2f M", per_s / 1e6);
    else if (per_s >= 1e4)
        snprintf(b, len, "%.0f k", per_s / 1e3);
    else if (per_s >= 1e3)
        snprintf(b, len, "%.1f k", per_s / 1e3);
    else
        snprintf(b, len, "%.0f", per_s);
    return b;
}

static const char *fmt_pct(char *b, size_t len, double pct)
{
    if (isnan(pct))
        snprintf(b, len, "-");
    else if (pct < 0.1)
        snprintf(b, len, "%.3f %%", pct);
    else if (pct < 10)
        snprintf(b, len, "%.2f %%", pct);
    else
        snprintf(b, len, "%.0f %%", pct);
    return b;
}

/* The figure k of (cell, mechanism) over the repeats that ran it:
 * median and range; n = how many.  Flags: any repeat failed or disturbed. */
struct fig {
    double med, lo, hi, other;
    int n, failed, flagged;
};

static struct fig figure(int ci, int mi, int k)
{
    double v[MAX_REPEATS], o[MAX_REPEATS], lo, hi;
    struct fig f;
    int rep;
    memset(&f, 0, sizeof f);
    for (rep = 0; rep < g_opt.repeats; rep++) {
        const struct meas *r = &g_res[ci][mi][rep];
        f.failed += r->state < 0;
        if (r->state <= 0)
            continue;
        f.flagged += r->flagged;
        o[f.n] = r->other_pct;
        v[f.n++] = r->v[k];
    }
    f.med = med_range(v, f.n, &f.lo, &f.hi);
    f.other = med_range(o, f.n, &lo, &hi);
    return f;
}

/* librpc variant L's advantage over mechanism M, per repeat, median:
 * M/L for lower-is-better figures, L/M for higher-is-better ones. */
static double advantage(int ci, int li, int mi, int k, int higher_better, double *lo,
                        double *hi)
{
    double v[MAX_REPEATS];
    int rep, n = 0;
    for (rep = 0; rep < g_opt.repeats; rep++) {
        const struct meas *l = &g_res[ci][li][rep], *m = &g_res[ci][mi][rep];
        if (l->state <= 0 || m->state <= 0 || l->v[k] <= 0 || m->v[k] <= 0)
            continue;
        v[n++] = higher_better ? l->v[k] / m->v[k] : m->v[k] / l->v[k];
    }
    return med_range(v, n, lo, hi);
}

static const char *const LIBRPC_KEYS[] = { "librpc-spin", "librpc-sleep", "librpc-default" };
static const char *const LIBRPC_SHORT[] = { "spin", "sleep", "default" };
#define NLIB 3

static void adv_header(FILE *f)
{
    int l;
    for (l = 0; l < NLIB; l++)
        if (find_mech(LIBRPC_KEYS[l]) >= 0)
            fprintf(f, " librpc %s ahead |", LIBRPC_SHORT[l]);
}

static void adv_rule(FILE *f)
{
    int l;
    for (l = 0; l < NLIB; l++)
        if (find_mech(LIBRPC_KEYS[l]) >= 0)
            fprintf(f, "---:|");
}

static void adv_cells(FILE *f, int ci, int mi, int k, int higher_better)
{
    int l;
    for (l = 0; l < NLIB; l++) {
        int li = find_mech(LIBRPC_KEYS[l]);
        double lo, hi, a;
        if (li < 0)
            continue;
        a = li == mi ? NAN : advantage(ci, li, mi, k, higher_better, &lo, &hi);
        if (isnan(a))
            fprintf(f, " |");
        else
            fprintf(f, " %.2fx |", a);
    }
}

static void other_cell(FILE *f, const struct fig *x)
{
    fprintf(f, " %.1f %%", x->other);
    if (x->flagged)
        fprintf(f, " (%d ⚑)", x->flagged);
    fprintf(f, " |");
}

/* Does mechanism mi have figures in cell ci? */
static int ran(int ci, int mi)
{
    int rep;
    for (rep = 0; rep < g_opt.repeats; rep++)
        if (g_res[ci][mi][rep].state != 0)
            return 1;
    return 0;
}

static void report_latency(FILE *f)
{
    int ci, mi;
    char b[5][32], s[32];
    fprintf(f, "#### One-way latency (ping-pong round trip / 2)\n\n");
    fprintf(f, "Timed round trips per repeat, in %d runs (slices) with the mechanisms "
            "alternating, each run after a tenth as many untimed:", g_opt.slices);
    for (ci = 0; ci < g_ncell; ci++)
        if (g_cell[ci].part == P_LATENCY)
            fprintf(f, " %s: %llu;", fmt_size(s, sizeof s, g_cell[ci].size),
                    (unsigned long long)g_cell[ci].count);
    fprintf(f, " \"ahead\": the other's P50 / librpc's, per repeat, median.\n\n");
    fprintf(f, "| size | mechanism | P50 | P99 | P99.9 | max | P50 range | others' CPU |");
    adv_header(f);
    fprintf(f, "\n|---|---|---:|---:|---:|---:|---:|---:|");
    adv_rule(f);
    fprintf(f, "\n");
    for (ci = 0; ci < g_ncell; ci++) {
        if (g_cell[ci].part != P_LATENCY)
            continue;
        fmt_size(s, sizeof s, g_cell[ci].size);
        for (mi = 0; mi < g_nmech; mi++) {
            struct fig p50 = figure(ci, mi, M_P50);
            if (!ran(ci, mi))
                continue;
            if (p50.n == 0) {
                fprintf(f, "| %s | %s | failed | | | | | |\n", s, g_mech[mi]->label);
                continue;
            }
            fprintf(f, "| %s | %s | %s | %s | %s | %s | %s - %s |", s, g_mech[mi]->label,
                    fmt_ns(b[0], 32, p50.med), fmt_ns(b[1], 32, figure(ci, mi, M_P99).med),
                    fmt_ns(b[2], 32, figure(ci, mi, M_P999).med),
                    fmt_ns(b[3], 32, figure(ci, mi, M_MAX).med), fmt_ns(b[4], 32, p50.lo),
                    fmt_ns(b[0], 32, p50.hi));
            other_cell(f, &p50);
            adv_cells(f, ci, mi, M_P50, 0);
            fprintf(f, "\n");
        }
    }
    fprintf(f, "\n");
}

static void report_throughput(FILE *f)
{
    int ci, mi;
    char b[3][32], s[32];
    fprintf(f, "#### Throughput: one publisher process to one subscriber process\n\n");
    fprintf(f, "Back-pressure (a full queue makes the publisher wait; nothing is dropped), "
            "every message's order and payload checked. Timed messages per repeat, in %d "
            "runs (slices) with the mechanisms alternating, each run after a tenth as many "
            "untimed (at most 20000):", g_opt.slices);
    for (ci = 0; ci < g_ncell; ci++)
        if (g_cell[ci].part == P_THROUGHPUT)
            fprintf(f, " %s: %llu;", fmt_size(s, sizeof s, g_cell[ci].size),
                    (unsigned long long)g_cell[ci].count);
    fprintf(f, " MB = 10^6 bytes. \"ahead\": librpc's messages/s / the other's.\n\n");
    fprintf(f, "| size | mechanism | messages/s | MB/s | range (messages/s) | others' CPU |");
    adv_header(f);
    fprintf(f, "\n|---|---|---:|---:|---:|---:|");
    adv_rule(f);
    fprintf(f, "\n");
    for (ci = 0; ci < g_ncell; ci++) {
        if (g_cell[ci].part != P_THROUGHPUT)
            continue;
        fmt_size(s, sizeof s, g_cell[ci].size);
        for (mi = 0; mi < g_nmech; mi++) {
            struct fig x = figure(ci, mi, M_RATE);
            if (!ran(ci, mi))
                continue;
            if (x.n == 0) {
                fprintf(f, "| %s | %s | failed | | | |\n", s, g_mech[mi]->label);
                continue;
            }
            fprintf(f, "| %s | %s | %s | %.0f | %s - %s |", s, g_mech[mi]->label,
                    fmt_rate(b[0], 32, x.med), x.med * (double)g_cell[ci].size / 1e6,
                    fmt_rate(b[1], 32, x.lo), fmt_rate(b[2], 32, x.hi));
            other_cell(f, &x);
            adv_cells(f, ci, mi, M_RATE, 1);
            fprintf(f, "\n");
        }
    }
    fprintf(f, "\n");
}

/* The fan-out cell of this size and subscriber count, or -1. */
static int fanout_cell(size_t size, unsigned nsubs)
{
    int ci;
    for (ci = 0; ci < g_ncell; ci++)
        if (g_cell[ci].part == P_FANOUT && g_cell[ci].size == size && g_cell[ci].nsubs == nsubs)
            return ci;
    return -1;
}

static void report_fanout(FILE *f)
{
    int ci, mi, k;
    char b[32], s[32];
    unsigned last = FANOUT_SUBS[NFANOUT - 1];
    fprintf(f, "#### Fan-out: one publisher to 1, 2 and 4 subscriber processes\n\n");
    fprintf(f, "Messages/s per subscriber (the mean of the subscribers; all of them get "
            "every message, with back-pressure), and the slowest subscriber at %u. "
            "\"ahead\" at %u subscribers.\n\n", last, last);
    fprintf(f, "| size | mechanism |");
    for (k = 0; k < NFANOUT; k++)
        fprintf(f, " %u |", FANOUT_SUBS[k]);
    fprintf(f, " slowest at %u | others' CPU at %u |", last, last);
    adv_header(f);
    fprintf(f, "\n|---|---|");
    for (k = 0; k < NFANOUT; k++)
        fprintf(f, "---:|");
    fprintf(f, "---:|---:|");
    adv_rule(f);
    fprintf(f, "\n");
    for (ci = 0; ci < g_ncell; ci++) {
        int top;
        if (g_cell[ci].part != P_FANOUT || g_cell[ci].nsubs != FANOUT_SUBS[0])
            continue;
        fmt_size(s, sizeof s, g_cell[ci].size);
        top = fanout_cell(g_cell[ci].size, last);
        for (mi = 0; mi < g_nmech; mi++) {
            struct fig x;
            if (!ran(ci, mi))
                continue;
            fprintf(f, "| %s | %s |", s, g_mech[mi]->label);
            for (k = 0; k < NFANOUT; k++) {
                int c = fanout_cell(g_cell[ci].size, FANOUT_SUBS[k]);
                x = figure(c, mi, M_RATE);
                fprintf(f, " %s%s |", x.n ? fmt_rate(b, sizeof b, x.med) : "failed",
                        x.flagged ? " ⚑" : "");
            }
            x = figure(top, mi, M_RATE_MIN);
            fprintf(f, " %s |", fmt_rate(b, sizeof b, x.med));
            other_cell(f, &x);
            adv_cells(f, top, mi, M_RATE, 1);
            fprintf(f, "\n");
        }
    }
    fprintf(f, "\n");
}

/* librpc sleep's advantage in CPU: the other's publisher + subscriber
 * over librpc's, per repeat, median. */
static void cpu_advantage(FILE *f, int ci, int mi)
{
    int li = find_mech("librpc-sleep"), rep, n = 0;
    double v[MAX_REPEATS], lo, hi, a;
    for (rep = 0; li >= 0 && li != mi && rep < g_opt.repeats; rep++) {
        const struct meas *l = &g_res[ci][li][rep], *m = &g_res[ci][mi][rep];
        double lsum = l->v[M_CPU_PUB] + l->v[M_CPU_SUB];
        if (l->state > 0 && m->state > 0 && lsum > 0)
            v[n++] = (m->v[M_CPU_PUB] + m->v[M_CPU_SUB]) / lsum;
    }
    a = med_range(v, n, &lo, &hi);
    if (isnan(a))
        fprintf(f, " |");
    else
        fprintf(f, " %.2fx |", a);
}

static void report_cpu(FILE *f)
{
    int ci, mi, cells[NRATES + 1], n = 0, k;
    char b[2][32];
    for (ci = 0; ci < g_ncell && n < NRATES + 1; ci++)
        if (g_cell[ci].part == P_CPU)
            cells[n++] = ci;
    if (n == 0)
        return;
    fprintf(f, "#### CPU: percent of one core per process (all its threads)\n\n");
    fprintf(f, "getrusage() of each end over the timed phase / its wall time; %zu B messages "
            "at a steady rate (absolute deadlines), each mechanism with its sleeping "
            "receiver where it has one (the spinning ones are shown for what they cost); "
            "idle: set up and connected, no traffic, for %.1f s. Daemons (iceoryx's RouDi) "
            "are not included.\n\n", g_cell[cells[0]].size,
            (double)g_cell[cells[n - 1]].count / 1e3);
    fprintf(f, "| mechanism |");
    for (k = 0; k < n; k++) {
        if (g_cell[cells[k]].mode == CMP_IDLE)
            fprintf(f, " idle: publisher | idle: subscriber |");
        else
            fprintf(f, " %.0f/s: publisher | %.0f/s: subscriber |", g_cell[cells[k]].rate_hz,
                    g_cell[cells[k]].rate_hz);
    }
    fprintf(f, " others' CPU (worst) | librpc sleep ahead at %.0f/s (both ends) |\n|---|",
            g_cell[cells[0]].rate_hz);
    for (k = 0; k < n; k++)
        fprintf(f, "---:|---:|");
    fprintf(f, "---:|---:|\n");
    for (mi = 0; mi < g_nmech; mi++) {
        double worst = 0;
        int any = 0, flagged = 0;
        for (k = 0; k < n; k++)
            any |= ran(cells[k], mi);
        if (!any)
            continue;
        fprintf(f, "| %s |", g_mech[mi]->label);
        for (k = 0; k < n; k++) {
            struct fig p = figure(cells[k], mi, M_CPU_PUB), s = figure(cells[k], mi, M_CPU_SUB);
            if (!ran(cells[k], mi)) {
                fprintf(f, " | |");
                continue;
            }
            if (p.n == 0) {
                fprintf(f, " failed | failed |");
                continue;
            }
            fprintf(f, " %s | %s |", fmt_pct(b[0], 32, p.med), fmt_pct(b[1], 32, s.med));
            worst = p.other > worst ? p.other : worst;
            flagged += p.flagged;
        }
        fprintf(f, " %.1f %%%s |", worst, flagged ? " ⚑" : "");
        cpu_advantage(f, cells[0], mi);
        fprintf(f, "\n");
    }
    fprintf(f, "\n");
}

/* ---- the targets of the issue ---- */

enum tgt_op { AT_MOST, AT_LEAST, ABOVE, NET_AT_MOST };

struct target {
    const char *what;
    enum part part;
    size_t size;                   /* 0: the CPU cell at rate_hz */
    double rate_hz;
    const char *num, *den;         /* den NULL: an absolute figure of num;
                                    * NET_AT_MOST: num's figure minus den's */
    int k;                         /* figure index */
    enum tgt_op op;
    double limit;
};

static const struct target TARGETS[] = {
    { "spin, 64 B: librpc P50 / cache-line floor P50", P_LATENCY, 64, 0, "librpc-spin",
      "floor-spin", M_P50, AT_MOST, 2.0 },
    { "spin, 64 B: iceoryx busy-poll P50 / librpc P50", P_LATENCY, 64, 0, "iox-poll",
      "librpc-spin", M_P50, AT_LEAST, 5.0 },
    { "sleep, 64 B: librpc P50 / futex floor P50", P_LATENCY, 64, 0, "librpc-sleep",
      "floor-futex", M_P50, AT_MOST, 1.2 },
    { "sleep, 64 B: iceoryx WaitSet P50 / librpc P50", P_LATENCY, 64, 0, "iox-waitset",
      "librpc-sleep", M_P50, ABOVE, 1.0 },
    { "sleep, 64 B: Unix socket P50 / librpc P50", P_LATENCY, 64, 0, "uds", "librpc-sleep",
      M_P50, ABOVE, 1.0 },
    { "sleep, 64 B: pipe P50 / librpc P50", P_LATENCY, 64, 0, "pipe", "librpc-sleep", M_P50,
      ABOVE, 1.0 },
    { "64 B messages/s: librpc spin / iceoryx busy-poll", P_THROUGHPUT, 64, 0, "librpc-spin",
      "iox-poll", M_RATE, AT_LEAST, 15.0 },
    { "64 B messages/s: librpc sleep / iceoryx WaitSet", P_THROUGHPUT, 64, 0, "librpc-sleep",
      "iox-waitset", M_RATE, AT_LEAST, 15.0 },
    { "64 B messages/s: librpc spin / Unix socket", P_THROUGHPUT, 64, 0, "librpc-spin", "uds",
      M_RATE, AT_LEAST, 15.0 },
    { "64 B messages/s: librpc sleep / Unix socket", P_THROUGHPUT, 64, 0, "librpc-sleep",
      "uds", M_RATE, AT_LEAST, 15.0 },
    { "4 KiB MB/s: librpc spin / iceoryx busy-poll", P_THROUGHPUT, 4096, 0, "librpc-spin",
      "iox-poll", M_RATE, AT_LEAST, 2.0 },
    { "4 KiB MB/s: librpc sleep / iceoryx WaitSet", P_THROUGHPUT, 4096, 0, "librpc-sleep",
      "iox-waitset", M_RATE, AT_LEAST, 2.0 },
    { "1 MiB MB/s: librpc spin / iceoryx busy-poll", P_THROUGHPUT, 1u << 20, 0, "librpc-spin",
      "iox-poll", M_RATE, AT_LEAST, 1.0 },
    { "1 MiB MB/s: librpc sleep / iceoryx WaitSet", P_THROUGHPUT, 1u << 20, 0, "librpc-sleep",
      "iox-waitset", M_RATE, AT_LEAST, 1.0 },
    { "CPU at 1000/s, librpc sleep publisher (% of a core)", P_CPU, 0, 1000, "librpc-sleep",
      NULL, M_CPU_PUB, AT_MOST, 1.0 },
    { "CPU at 1000/s, librpc sleep publisher, minus pacing alone (% of a core)", P_CPU, 0,
      1000, "librpc-sleep", "pacing", M_CPU_PUB, NET_AT_MOST, 1.0 },
    { "CPU at 1000/s, librpc sleep subscriber (% of a core)", P_CPU, 0, 1000, "librpc-sleep",
      NULL, M_CPU_SUB, AT_MOST, 1.0 },
    { "CPU idle, librpc sleep publisher (% of a core; 0 = below 0.01)", P_CPU, 0, 0,
      "librpc-sleep", NULL, M_CPU_PUB, AT_MOST, 0.01 },
    { "CPU idle, librpc sleep subscriber (% of a core; 0 = below 0.01)", P_CPU, 0, 0,
      "librpc-sleep", NULL, M_CPU_SUB, AT_MOST, 0.01 },
    { "CPU idle, librpc default subscriber (% of a core; 0 = below 0.01)", P_CPU, 0, 0,
      "librpc-default", NULL, M_CPU_SUB, AT_MOST, 0.01 },
    { "CPU idle, librpc sleep publisher minus the pipe's (the harness's own floor)", P_CPU, 0,
      0, "librpc-sleep", "pipe", M_CPU_PUB, NET_AT_MOST, 0.01 },
    { "CPU idle, librpc sleep subscriber minus the pipe's (the harness's own floor)", P_CPU, 0,
      0, "librpc-sleep", "pipe", M_CPU_SUB, NET_AT_MOST, 0.01 },
};
#define NTARGETS (sizeof TARGETS / sizeof TARGETS[0])

static int target_cell(const struct target *t)
{
    int ci;
    for (ci = 0; ci < g_ncell; ci++) {
        const struct cell *c = &g_cell[ci];
        if (c->part != t->part)
            continue;
        if (t->part == P_CPU && c->rate_hz == t->rate_hz)
            return ci;
        if (t->part != P_CPU && c->size == t->size)
            return ci;
    }
    return -1;
}

/* num / den per repeat (lower figure better for latency, so the ratio
 * is taken as written), median and range. */
static double target_value(const struct target *t, int ci, double *lo, double *hi)
{
    int ni = find_mech(t->num), di = t->den != NULL ? find_mech(t->den) : -1;
    double v[MAX_REPEATS];
    int rep, n = 0;
    if (ni < 0 || (t->den != NULL && di < 0))
        return NAN;
    for (rep = 0; rep < g_opt.repeats; rep++) {
        const struct meas *a = &g_res[ci][ni][rep];
        if (a->state <= 0)
            continue;
        if (di < 0) {
            v[n++] = a->v[t->k];
            continue;
        }
        if (g_res[ci][di][rep].state <= 0 ||
            (t->op != NET_AT_MOST && g_res[ci][di][rep].v[t->k] <= 0))
            continue;
        if (t->op == NET_AT_MOST)
            v[n++] = a->v[t->k] - g_res[ci][di][rep].v[t->k];
        else
            v[n++] = a->v[t->k] / g_res[ci][di][rep].v[t->k];
    }
    return med_range(v, n, lo, hi);
}

static int report_targets(FILE *f)
{
    static const char *ops[] = { "<=", ">=", ">", "<=" };
    size_t i;
    int missed = 0;
    fprintf(f, "#### Against the targets of the issue\n\n");
    fprintf(f, "Ratios per repeat (both sides measured minutes apart at most), then the "
            "median and the range over the repeats.\n\n");
    fprintf(f, "| target | measured | range | required | |\n|---|---:|---:|---:|---|\n");
    for (i = 0; i < NTARGETS; i++) {
        const struct target *t = &TARGETS[i];
        int ci = target_cell(t), ok;
        double lo = 0, hi = 0, v = ci >= 0 ? target_value(t, ci, &lo, &hi) : NAN;
        if (isnan(v))
            continue;
        ok = t->op == AT_LEAST ? v >= t->limit : t->op == ABOVE ? v > t->limit : v <= t->limit;
        missed += !ok;
        if (t->den != NULL && t->op != NET_AT_MOST)
            fprintf(f, "| %s | %.2fx | %.2f - %.2f | %s %gx | %s |\n", t->what, v, lo, hi,
                    ops[t->op], t->limit, ok ? "met" : "**MISSED**");
        else
            fprintf(f, "| %s | %.3f | %.3f - %.3f | %s %g | %s |\n", t->what, v, lo, hi,
                    ops[t->op], t->limit, ok ? "met" : "**MISSED**");
    }
    fprintf(f, "\n");
    return missed;
}

static void report_header(FILE *f, int argc, char **argv, const char *load)
{
    struct utsname u;
    char cpu[128], date[64];
    time_t now = time(NULL);
    int i;
    read_first_line("/proc/cpuinfo", "model name", cpu, sizeof cpu);
    strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&now));
    fprintf(f, "**bench_compare, librpc %s, %s**\n\n", rpc_version(), date);
    if (uname(&u) == 0)
        fprintf(f, "- machine: %s, %ld CPUs online, %s %s %s\n", cpu,
                sysconf(_SC_NPROCESSORS_ONLN), u.sysname, u.release, u.machine);
    /* The values of --out and --roudi-pid say nothing to a reader. */
    fprintf(f, "- command: `bench_compare");
    for (i = 1; i < argc; i++)
        fprintf(f, " %s", i > 1 && strcmp(argv[i - 1], "--out") == 0        ? "DIR"
                          : i > 1 && strcmp(argv[i - 1], "--roudi-pid") == 0 ? "PID"
                                                                            : argv[i]);
    fprintf(f, "`\n- mechanisms:");
    for (i = 0; i < g_nmech; i++)
        fprintf(f, " %s%s", g_mech[i]->key, i + 1 < g_nmech ? "," : "");
    fprintf(f, "\n- %d repeat%s; in each, every measurement runs every mechanism once, in an "
            "order rotated from one measurement (and repeat) to the next. Figures: median "
            "over the repeats (range: min - max)\n", g_opt.repeats, g_opt.repeats > 1 ? "s" : "");
    fprintf(f, "- load check: CPU time of all other processes (and steal time) during each "
            "run, as a share of the machine (\"others' CPU\", median over the repeats); a run "
            "above %.0f %% was re-run up to %d time%s (%.0f s of re-runs in all), and ⚑ "
            "counts the repeats that stayed above\n", g_opt.flag_pct, g_opt.retries,
            g_opt.retries == 1 ? "" : "s", (double)g_retry_ns / NS_PER_S);
    fprintf(f, "- pinning: %s\n", g_opt.pin ? "publisher on one CPU, a lone subscriber on the "
            "other (sched_setaffinity)" : "none (the scheduler places every thread)");
    fprintf(f, "- load average at start: %s\n\n", load);
}

static void report(FILE *f, int argc, char **argv, const char *load0)
{
    char load[128];
    report_header(f, argc, argv, load0);
    if (g_opt.parts[P_LATENCY])
        report_latency(f);
    if (g_opt.parts[P_THROUGHPUT])
        report_throughput(f);
    if (g_opt.parts[P_FANOUT])
        report_fanout(f);
    if (g_opt.parts[P_CPU])
        report_cpu(f);
    report_targets(f);
    read_first_line("/proc/loadavg", NULL, load, sizeof load);
    fprintf(f, "Load average at the end: %s.%s\n", load,
            g_failures ? " **Some runs failed** (see the tables)." : "");
}

/* ---- data files for the plots ---- */

/* latency_cdf.dat: fraction, then each mechanism's one-way latency (ns)
 * at that fraction of its pooled samples; column headers are labels. */
static void write_cdf(FILE *f)
{
    int mi, i, npts = 0;
    double q[600];
    for (i = 0; i < 500; i++)
        q[npts++] = (i + 0.5) / 500.0;
    q[npts++] = 0.995;
    q[npts++] = 0.999;
    q[npts++] = 0.9995;
    q[npts++] = 0.9999;
    q[npts++] = 1.0;
    qsort(q, (size_t)npts, sizeof *q, cmp_double);
    fprintf(f, "\"fraction\"");
    for (mi = 0; mi < g_nmech; mi++)
        if (g_cdf_n[mi] > 0)
            fprintf(f, " \"%s\"", g_mech[mi]->label);
    fprintf(f, "\n");
    for (mi = 0; mi < g_nmech; mi++)
        if (g_cdf_n[mi] > 0)
            qsort(g_cdf[mi], g_cdf_n[mi], sizeof(uint64_t), cmp_u64);
    for (i = 0; i < npts; i++) {
        fprintf(f, "%.5f", q[i]);
        for (mi = 0; mi < g_nmech; mi++)
            if (g_cdf_n[mi] > 0)
                fprintf(f, " %.0f", (double)percentile(g_cdf[mi], g_cdf_n[mi], q[i]) / 2);
        fprintf(f, "\n");
    }
}

/* Has mechanism mi figures in some cell of this part?  Only those get a
 * column in the data files. */
static int has_part(int mi, enum part part)
{
    int ci;
    for (ci = 0; ci < g_ncell; ci++)
        if (g_cell[ci].part == part && figure(ci, mi, 0).n > 0)
            return 1;
    return 0;
}

/* throughput.dat: size, then each mechanism's MB/s (NaN: not run). */
static void write_throughput(FILE *f, enum part part, int k)
{
    int ci, mi;
    fprintf(f, "\"size\"");
    for (mi = 0; mi < g_nmech; mi++)
        if (has_part(mi, part))
            fprintf(f, " \"%s\"", g_mech[mi]->label);
    fprintf(f, "\n");
    for (ci = 0; ci < g_ncell; ci++) {
        if (g_cell[ci].part != part)
            continue;
        fprintf(f, "%zu", g_cell[ci].size);
        for (mi = 0; mi < g_nmech; mi++) {
            struct fig x = figure(ci, mi, k);
            if (!has_part(mi, part))
                continue;
            if (x.n == 0)
                fprintf(f, " NaN");
            else if (part == P_LATENCY)
                fprintf(f, " %.1f", x.med);
            else
                fprintf(f, " %.2f", x.med * (double)g_cell[ci].size / 1e6);
        }
        fprintf(f, "\n");
    }
}

/* fanout.dat: subscribers, then each mechanism's messages/s per
 * subscriber at the smallest payload. */
static void write_fanout(FILE *f)
{
    int k, mi;
    fprintf(f, "\"subscribers\"");
    for (mi = 0; mi < g_nmech; mi++)
        if (has_part(mi, P_FANOUT))
            fprintf(f, " \"%s\"", g_mech[mi]->label);
    fprintf(f, "\n");
    for (k = 0; k < NFANOUT; k++) {
        int ci = fanout_cell(g_opt.sizes[0], FANOUT_SUBS[k]);
        if (ci < 0)
            continue;
        fprintf(f, "%u", FANOUT_SUBS[k]);
        for (mi = 0; mi < g_nmech; mi++) {
            struct fig x = figure(ci, mi, M_RATE);
            if (!has_part(mi, P_FANOUT))
                continue;
            if (x.n == 0)
                fprintf(f, " NaN");
            else
                fprintf(f, " %.0f", x.med);
        }
        fprintf(f, "\n");
    }
}

static int write_file(const char *dir, const char *name, void (*fn)(FILE *, void *), void *arg)
{
    char path[4096];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if ((f = fopen(path, "w")) == NULL) {
        fprintf(stderr, "bench_compare: %s: %s\n", path, strerror(errno));
        return -1;
    }
    fn(f, arg);
    return fclose(f) == 0 ? 0 : -1;
}

static void w_cdf(FILE *f, void *arg)
{
    (void)arg;
    write_cdf(f);
}

static void w_tput(FILE *f, void *arg)
{
    (void)arg;
    write_throughput(f, P_THROUGHPUT, M_RATE);
}

static void w_lat(FILE *f, void *arg)
{
    (void)arg;
    write_throughput(f, P_LATENCY, M_P50);
}

static void w_fan(FILE *f, void *arg)
{
    (void)arg;
    write_fanout(f);
}

struct report_args {
    int argc;
    char **argv;
    const char *load;
};

static void w_report(FILE *f, void *arg)
{
    struct report_args *a = arg;
    report(f, a->argc, a->argv, a->load);
}

/* ---- options and main ------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench_compare [--quick] [--repeats N] [--mechanisms LIST] [--sizes LIST]\n"
            "                     [--only PARTS] [--out DIR] [--roudi-running] [--roudi-pid PID]\n"
            "                     [--slices N] [--retries N] [--flag-pct P] [--scale F] [--pin]\n"
            "                     [--list]\n"
            "  --quick           smoke run: 1 repeat, a few thousand messages per run\n"
            "  --repeats N       run every measurement N times, 1..%d (default 3)\n"
            "  --mechanisms L    comma-separated keys or families (librpc, floor, iox, ...);\n"
            "                    --list shows them\n"
            "  --sizes L         payload sizes, e.g. 64,4K,64K,1M (the default)\n"
            "  --only PARTS      comma-separated: latency, throughput, fanout, cpu\n"
            "  --out DIR         also write report.md and the plots' data files there\n"
            "  --roudi-running   iox-roudi runs (else the iceoryx rows run only when an\n"
            "                    iox-roudi process is found); --roudi-pid PID names it\n"
            "  --slices N        cut each repeat of a latency or throughput measurement into\n"
            "                    N runs, the mechanisms alternating (default 3; quick: 2)\n"
            "  --retries N       re-run a disturbed run up to N times (default 1)\n"
            "  --flag-pct P      others' CPU share that counts as disturbed (default 3)\n"
            "  --scale F         multiply every message count (and CPU phase) by F\n"
            "  --pin             pin the publisher and a lone subscriber to two CPUs\n",
            MAX_REPEATS);
}

static int parse_size(const char *s, size_t *out)
{
    char *end;
    unsigned long long v;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || end == s)
        return -1;
    if (*end == 'K' || *end == 'k')
        v <<= 10, end++;
    else if (*end == 'M' || *end == 'm')
        v <<= 20, end++;
    if ((*end != '\0' && *end != ',') || v < 16 || v > (16u << 20))
        return -1;
    *out = (size_t)v;
    return 0;
}

static int parse_sizes(const char *s)
{
    g_opt.nsizes = 0;
    while (*s != '\0' && g_opt.nsizes < MAX_SIZES) {
        if (parse_size(s, &g_opt.sizes[g_opt.nsizes++]) != 0)
            return -1;
        s += strcspn(s, ",");
        if (*s == ',')
            s++;
    }
    return g_opt.nsizes > 0 ? 0 : -1;
}

static int parse_parts(const char *s)
{
    int k;
    memset(g_opt.parts, 0, sizeof g_opt.parts);
    while (*s != '\0') {
        size_t len = strcspn(s, ",");
        for (k = 0; k < NPARTS; k++)
            if (strlen(PART_NAMES[k]) == len && strncmp(s, PART_NAMES[k], len) == 0)
                break;
        if (k == NPARTS)
            return -1;
        g_opt.parts[k] = 1;
        s += len;
        if (*s == ',')
            s++;
    }
    return 0;
}

static void list_mechanisms(void)
{
    const struct cmp_mech *tables[] = { cmp_librpc_mechs, cmp_bare_mechs, cmp_iceoryx_mechs,
                                        cmp_zmq_mechs };
    size_t i;
    for (i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        const struct cmp_mech *t;
        for (t = tables[i]; t->key != NULL; t++)
            printf("%-16s %s%s\n", t->key, t->label, t->needs_roudi ? " (needs iox-roudi)" : "");
    }
}

static int parse_args(int argc, char **argv)
{
    int i, k, repeats = 0;
    memset(&g_opt, 0, sizeof g_opt);
    g_opt.retries = 1;
    g_opt.scale = 1;
    g_opt.flag_pct = 3;
    for (k = 0; k < NPARTS; k++)
        g_opt.parts[k] = 1;
    for (i = 0; i < NDEFAULT_SIZES; i++)
        g_opt.sizes[i] = DEFAULT_SIZES[i];
    g_opt.nsizes = NDEFAULT_SIZES;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--quick") == 0 || strcmp(a, "--pin") == 0 ||
            strcmp(a, "--roudi-running") == 0) {
            g_opt.quick |= a[2] == 'q';
            g_opt.pin |= a[2] == 'p';
            g_opt.roudi_running |= a[2] == 'r';
            continue;
        }
        if (strcmp(a, "--help") == 0) {
            usage(stdout);
            exit(0);
        }
        if (strcmp(a, "--list") == 0) {
            list_mechanisms();
            exit(0);
        }
        if (next == NULL)
            return -1;
        i++;
        if (strcmp(a, "--repeats") == 0 && (repeats = atoi(next)) >= 1 && repeats <= MAX_REPEATS)
            continue;
        if (strcmp(a, "--slices") == 0 && (g_opt.slices = atoi(next)) >= 1 && g_opt.slices <= 20)
            continue;
        if (strcmp(a, "--retries") == 0 && (g_opt.retries = atoi(next)) >= 0 &&
            g_opt.retries <= 10)
            continue;
        if (strcmp(a, "--roudi-pid") == 0 && (g_opt.roudi_pid = (pid_t)atoi(next)) > 0) {
            g_opt.roudi_running = 1;
            continue;
        }
        if (strcmp(a, "--flag-pct") == 0 && (g_opt.flag_pct = atof(next)) > 0)
            continue;
        if (strcmp(a, "--scale") == 0 && (g_opt.scale = atof(next)) > 0 && g_opt.scale <= 100)
            continue;
        if (strcmp(a, "--mechanisms") == 0) {
            g_opt.mechanisms = next;
            continue;
        }
        if (strcmp(a, "--sizes") == 0 && parse_sizes(next) == 0)
            continue;
        if (strcmp(a, "--only") == 0 && parse_parts(next) == 0)
            continue;
        if (strcmp(a, "--out") == 0) {
            g_opt.out_dir = next;
            continue;
        }
        return -1;
    }
    g_opt.repeats = repeats ? repeats : g_opt.quick ? 1 : 3;
    if (g_opt.slices == 0)
        g_opt.slices = g_opt.quick ? 2 : 3;
    return 0;
}

static int setup(void)
{
    uint64_t most = 0;
    int ci, skip_roudi;
    if (g_opt.roudi_running && g_opt.roudi_pid == 0)
        g_opt.roudi_pid = find_roudi();
    if (!g_opt.roudi_running && (g_opt.roudi_pid = find_roudi()) != 0)
        g_opt.roudi_running = 1;
    skip_roudi = !g_opt.roudi_running;
    add_table(cmp_librpc_mechs, skip_roudi);
    add_table(cmp_bare_mechs, skip_roudi);
    add_table(cmp_iceoryx_mechs, skip_roudi);
    add_table(cmp_zmq_mechs, skip_roudi);
    if (g_nmech == 0) {
        fprintf(stderr, "bench_compare: no mechanism selected (see --list)\n");
        return -1;
    }
    make_cells();
    for (ci = 0; ci < g_ncell; ci++)
        if (g_cell[ci].mode == CMP_LATENCY && g_cell[ci].count > most)
            most = g_cell[ci].count;
    g_samples_cap = (size_t)most + 10 * 20;   /* slices of at least 10 */
    g_sh = mmap(NULL, sizeof *g_sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    g_samples = mmap(NULL, g_samples_cap * sizeof *g_samples, PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    for (ci = 0; ci < g_nmech; ci++)
        if ((g_pool[ci] = malloc(g_samples_cap * sizeof(uint64_t))) == NULL)
            g_samples = MAP_FAILED;
    if (g_sh == MAP_FAILED || g_samples == MAP_FAILED) {
        fprintf(stderr, "bench_compare: out of memory\n");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct report_args ra = { argc, argv, NULL };
    char load[128];
    int mi;

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (parse_args(argc, argv) != 0) {
        usage(stderr);
        return 2;
    }
    if (setup() != 0)
        return 2;
    install_handlers();
    choose_cpus();
    read_first_line("/proc/loadavg", NULL, load, sizeof load);
    ra.load = load;
    run_all();
    report(stdout, argc, argv, load);
    if (g_opt.out_dir != NULL) {
        mkdir(g_opt.out_dir, 0777);
        if (write_file(g_opt.out_dir, "report.md", w_report, &ra) != 0 ||
            write_file(g_opt.out_dir, "latency_cdf.dat", w_cdf, NULL) != 0 ||
            write_file(g_opt.out_dir, "latency_p50.dat", w_lat, NULL) != 0 ||
            write_file(g_opt.out_dir, "throughput.dat", w_tput, NULL) != 0 ||
            write_file(g_opt.out_dir, "fanout.dat", w_fan, NULL) != 0)
            g_failures++;
    }
    for (mi = 0; mi < g_nmech; mi++) {
        free(g_cdf[mi]);
        free(g_pool[mi]);
    }
    if (g_failures != 0)
        fprintf(stderr, "bench_compare: FAILED (%d runs)\n", g_failures);
    return g_failures == 0 ? 0 : 1;
}
