/*
 * bench_pubsub.c - how fast librpc moves messages between two processes,
 * side by side with what one would use instead, in one invocation.
 *
 * (1) Latency: ping-pong between two processes, one-way = round trip / 2,
 *     P50/P99/P99.9/max after a warm-up: librpc with spinning, sleeping and
 *     default (adaptive) receivers, two bare floors written here (cache-line
 *     spin and futex wake over a MAP_SHARED page), a Unix-domain socket pair
 *     and a pipe pair.
 * (2) Throughput: one publisher process, one subscriber process, blocking
 *     (nothing dropped, every sequence number checked), 64 B, 4 KiB and
 *     64 KiB messages, against the socket and the pipe, and memcpy
 *     bandwidth measured in the same run.
 * (3) Cost: librpc's CPU time per message in one thread (publisher and
 *     subscriber nodes in one process), where no cache line changes cores:
 *     what the library's code costs, apart from the hardware's transfers.
 *
 * This file is the coordinator: it forks the two ends of every measurement
 * (bp_librpc.c, bp_bare.c), pins them to two different CPUs, runs the
 * mechanisms in turn round after round so that machine drift hits all
 * alike, and prints Markdown tables with the median of the rounds, their
 * spread, how often other processes preempted the ends' working threads,
 * and the ratios against the targets.  Nothing here asserts a speed: the exit status is 0
 * when every measurement ran, every message arrived intact and in order,
 * and no segment was left behind.
 *
 * Usage: bench_pubsub [--quick] [--rounds N] [--slices N] [--only latency|throughput|cost]
 *                     [--iterations N] [--messages N] [--size BYTES]
 *                     [--queue-size BYTES] [--name /PREFIX] [--mechanisms LIST]
 */
#define _GNU_SOURCE
#include "bp.h"

#include <librpc/librpc.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ROUNDS 99
#define MAX_SLICES 20
#define MAX_PARTS (MAX_ROUNDS * MAX_SLICES)
#define MAX_SIZE ((size_t)64 << 10)        /* the library's default largest message */
#define NS_PER_S 1e9

static const struct bp_mech LAT_MECHS[] = {
    { "spin", "librpc spin (receive thread, spin_us -1)", BP_LIBRPC, -1, 0 },
    { "manual", "librpc spin (manual, rpc_node_poll(0) loop)", BP_LIBRPC, -1, 1 },
    { "sleep", "librpc sleep (receive thread, spin_us 0)", BP_LIBRPC, 0, 0 },
    { "default", "librpc default (receive thread, spin 50 µs)", BP_LIBRPC, RPC_DEFAULT_SPIN_US, 0 },
    { "cacheline", "floor: cache-line spin", BP_CACHELINE, 0, 0 },
    { "futex", "floor: futex wait/wake", BP_FUTEX, 0, 0 },
    { "uds", "Unix socket (SOCK_SEQPACKET pair)", BP_UDS, 0, 0 },
    { "pipe", "pipe pair", BP_PIPE, 0, 0 },
};
enum { L_SPIN, L_MANUAL, L_SLEEP, L_DEFAULT, L_CACHELINE, L_FUTEX, L_UDS, L_PIPE, NLAT };

/* Same order and keys as LAT_MECHS for the ones both have. */
static const struct bp_mech TPUT_MECHS[] = {
    { "spin", "librpc spin (receive thread, spin_us -1)", BP_LIBRPC, -1, 0 },
    { "manual", "librpc spin (manual, rpc_node_poll(0) loop)", BP_LIBRPC, -1, 1 },
    { "sleep", "librpc sleep (receive thread, spin_us 0)", BP_LIBRPC, 0, 0 },
    { "default", "librpc default (receive thread, spin 50 µs)", BP_LIBRPC, RPC_DEFAULT_SPIN_US, 0 },
    { "uds", "Unix socket (SOCK_SEQPACKET pair)", BP_UDS, 0, 0 },
    { "pipe", "pipe pair", BP_PIPE, 0, 0 },
};
enum { T_SPIN, T_MANUAL, T_SLEEP, T_DEFAULT, T_UDS, T_PIPE, NTPUT };

static const struct bp_mech COST_MECH = {
    "cost", "librpc, both nodes in one thread (manual)", BP_LIBRPC, 0, 1
};

static const size_t TPUT_SIZES[] = { 64, 4096, 65536 };
/* Messages per size: the 64 B count divided by this, so no size takes long. */
static const unsigned TPUT_DIVISOR[] = { 1, 5, 50 };
#define NSIZES 3
/* Batches of the one-thread cost measurement (fewer with --quick). */
#define COST_BATCHES 3000

struct options {
    int quick;
    int rounds;
    int slices;                  /* parts of a round, mechanisms alternating */
    int latency, throughput, cost;   /* which parts to run */
    uint64_t iterations;         /* latency: timed round trips */
    uint64_t messages;           /* throughput: timed 64 B messages */
    size_t size;                 /* latency payload */
    size_t queue_size;           /* 0: library default */
    size_t memcpy_buf;           /* bytes of each memcpy buffer */
    const char *mechanisms;      /* comma-separated keys to run; NULL: all */
    char prefix[200];            /* the pid is appended */
};

static char g_shm[RPC_SHM_NAME_MAX + 1];
static volatile pid_t g_child[2];
static int g_cpu[2] = { -1, -1 };

/* ---- clean-up -------------------------------------------------------- */

/* A signal must not leave a child spinning or the segment behind. */
static void on_signal(int sig)
{
    int i;
    (void)sig;
    for (i = 0; i < 2; i++)
        if (g_child[i] > 0)
            kill(g_child[i], SIGKILL);
    shm_unlink(g_shm);
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
    /* Children's ends are reaped with sigtimedwait(SIGCHLD): no polling
     * wake-ups of ours disturb a measurement. */
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
}

/* ---- machine ----------------------------------------------------------- */

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

/* The first two CPUs this process may run on: end A gets one, B the other. */
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

static void print_machine(const struct options *o, int argc, char **argv)
{
    struct utsname u;
    char cpu[128], clock[64], load[128], date[64];
    time_t now = time(NULL);
    int i;
    read_first_line("/proc/cpuinfo", "model name", cpu, sizeof cpu);
    read_first_line("/sys/devices/system/clocksource/clocksource0/current_clocksource", NULL,
                    clock, sizeof clock);
    read_first_line("/proc/loadavg", NULL, load, sizeof load);
    strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&now));
    printf("### bench_pubsub, librpc %s, %s\n\n", rpc_version(), date);
    printf("- command: `bench_pubsub");
    for (i = 1; i < argc; i++)
        printf(" %s", argv[i]);
    printf("`\n");
    if (uname(&u) == 0)
        printf("- machine: %s, %ld CPUs online, %s %s %s, clock source %s\n", cpu,
               sysconf(_SC_NPROCESSORS_ONLN), u.sysname, u.release, u.machine, clock);
    if (g_cpu[0] >= 0)
        printf("- pinning: end A (ping / publisher) on CPU %d, end B (pong / subscriber) on "
               "CPU %d (sched_setaffinity)\n", g_cpu[0], g_cpu[1]);
    else
        printf("- pinning: none (fewer than 2 CPUs available)\n");
    printf("- rounds: %d of %d slices each; in every slice each mechanism runs 1/%d of its "
           "round's work, in turn, so that drift hits all alike. Figures: median of the "
           "rounds (range: min-max over the rounds). Ratios: per slice, then the median over "
           "all slices (range: min-max)\n", o->rounds, o->slices, o->slices);
    printf("- load average at start: %s\n", load);
    printf("- segment: %s (librpc defaults", g_shm);
    if (o->queue_size != 0)
        printf(" but queue size %zu bytes", o->queue_size);
    printf(")\n\n");
}

/* ---- one measurement ------------------------------------------------- */

struct shared_area {
    struct bp_shared *sh;
    struct bp_slot *ab, *ba;
    uint64_t *samples;
    size_t bytes, samples_bytes;
};

static int map_shared(struct shared_area *a, const struct options *o)
{
    size_t slot = (sizeof(struct bp_slot) + MAX_SIZE + 63) & ~(size_t)63;
    a->bytes = 4096 + 2 * slot;
    size_t n = o->iterations > 3 * COST_BATCHES ? (size_t)o->iterations : 3 * COST_BATCHES;
    a->samples_bytes = n * sizeof(uint64_t);
    a->sh = mmap(NULL, a->bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    a->samples = mmap(NULL, a->samples_bytes, PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (a->sh == MAP_FAILED || a->samples == MAP_FAILED)
        return -1;
    a->ab = (struct bp_slot *)((char *)a->sh + 4096);
    a->ba = (struct bp_slot *)((char *)a->sh + 4096 + slot);
    return 0;
}

/* Sockets or pipes for the two ends: A reads fd_a[0], writes fd_a[1]. */
static int open_channel(struct bp_job *j)
{
    int sv[2], ab[2], ba[2];
    j->fd_a[0] = j->fd_a[1] = j->fd_b[0] = j->fd_b[1] = -1;
    if (j->m->kind == BP_UDS) {
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
            return -1;
        j->fd_a[0] = j->fd_a[1] = sv[0];
        j->fd_b[0] = j->fd_b[1] = sv[1];
    } else if (j->m->kind == BP_PIPE) {
        if (pipe2(ab, O_CLOEXEC) != 0)
            return -1;
        if (pipe2(ba, O_CLOEXEC) != 0) {
            close(ab[0]);
            close(ab[1]);
            return -1;
        }
        j->fd_a[0] = ba[0];
        j->fd_a[1] = ab[1];
        j->fd_b[0] = ab[0];
        j->fd_b[1] = ba[1];
    }
    return 0;
}

static void close_fds(const int *fds)
{
    close(fds[0]);
    if (fds[1] != fds[0])
        close(fds[1]);
}

static void close_channel(const struct bp_job *j)
{
    if (j->fd_a[0] >= 0) {
        close_fds(j->fd_a);
        close_fds(j->fd_b);
    }
}

static void pin(int cpu)
{
    cpu_set_t set;
    if (cpu < 0)
        return;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0)
        perror("bench_pubsub: sched_setaffinity");
}

/* A child's start: die with the coordinator, default signals, its own CPU
 * (before any thread is created, so librpc's threads inherit it). */
static void become_child(pid_t coordinator, int cpu)
{
    static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT };
    sigset_t none;
    size_t i;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != coordinator)
        _exit(1);
    for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        signal(sigs[i], SIG_DFL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    pin(cpu);
}

/* An end's process: only its own descriptors, then its work. */
static void child_main(const struct bp_job *j, int end, pid_t coordinator)
{
    int rc;
    become_child(coordinator, g_cpu[end]);
    if (j->fd_a[0] >= 0)
        close_fds(end == 0 ? j->fd_b : j->fd_a);
    if (j->m->kind == BP_LIBRPC)
        rc = end == 0 ? bp_librpc_a(j) : bp_librpc_b(j);
    else
        rc = end == 0 ? bp_bare_a(j) : bp_bare_b(j);
    _exit(rc == 0 ? 0 : 1);
}

/* Reap both children by the deadline; kill them past it.  0 if both
 * exited with status 0. */
static int reap(uint64_t deadline)
{
    sigset_t chld;
    int i, status, ok = 1, left = (g_child[0] > 0) + (g_child[1] > 0);
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    while (left > 0) {
        uint64_t now = bp_now();
        for (i = 0; i < 2; i++) {
            if (g_child[i] > 0 && waitpid(g_child[i], &status, WNOHANG) == g_child[i]) {
                ok &= WIFEXITED(status) && WEXITSTATUS(status) == 0;
                g_child[i] = 0;
                left--;
            }
        }
        if (left == 0)
            break;
        if (now > deadline) {
            fprintf(stderr, "bench_pubsub: a measurement hangs; killing its processes\n");
            for (i = 0; i < 2; i++)
                if (g_child[i] > 0)
                    kill(g_child[i], SIGKILL);
            deadline = UINT64_MAX;   /* now reap them */
            ok = 0;
            continue;
        }
        {
            uint64_t wait = deadline - now < 1000000000u ? deadline - now : 1000000000u;
            struct timespec ts = { 0, (long)(wait % 1000000000u) };
            if (wait == 1000000000u)
                ts = (struct timespec){ 1, 0 };
            sigtimedwait(&chld, NULL, &ts);
        }
    }
    return ok ? 0 : -1;
}

/* The librpc segment must be gone once both ends left; remove it (and
 * fail) if not. */
static int check_segment_gone(void)
{
    rpc_config *cfg = NULL;
    int rc = -1;
    if (rpc_config_create(&cfg) == 0 && rpc_config_set_shm_name(cfg, g_shm) == 0) {
        int n = rpc_domain_active_nodes(cfg);
        rc = n == RPC_ENOENT ? 0 : -1;
        if (rc != 0) {
            fprintf(stderr, "bench_pubsub: segment %s outlived its nodes (%d); removing it\n",
                    g_shm, n);
            if (rpc_domain_cleanup(cfg, 0) != 0)
                shm_unlink(g_shm);
        }
    }
    rpc_config_destroy(cfg);
    return rc;
}

/* Run job j once: both ends, in their own processes.  0 on success, with
 * *preempted set to how often the ends' working threads were preempted
 * during the timed phase (both ends together). */
static int run_job(struct bp_job *j, double *preempted)
{
    pid_t self = getpid();
    uint64_t per_item = j->mode == BP_LATENCY ? 1000000u : 200000u;   /* generous: hangs only */
    uint64_t deadline;
    int end, rc = 0;
    memset(j->sh, 0, sizeof *j->sh);
    atomic_store(&j->ab->seq, 0);
    atomic_store(&j->ba->seq, 0);
    if (open_channel(j) != 0) {
        perror("bench_pubsub: socketpair/pipe");
        return -1;
    }
    fflush(stdout);
    for (end = 1; end >= 0; end--) {
        pid_t pid = fork();
        if (pid == 0)
            child_main(j, end, self);
        if (pid < 0) {
            perror("bench_pubsub: fork");
            rc = -1;
            bp_set_done(j->sh);   /* the other end stops at its barrier */
            break;
        }
        g_child[end] = pid;
    }
    close_channel(j);
    deadline = bp_now() + 60 * 1000000000ull + (j->warm + j->count) * per_item;
    if (reap(deadline) != 0)
        rc = -1;
    *preempted = (double)atomic_load(&j->sh->preemptions);
    if (atomic_load(&j->sh->errors) != 0) {
        fprintf(stderr, "bench_pubsub: %s: %s\n", j->m->label, j->sh->errmsg);
        rc = -1;
    } else if (rc != 0) {
        fprintf(stderr, "bench_pubsub: %s: an end failed\n", j->m->label);
    }
    if (j->m->kind == BP_LIBRPC && check_segment_gone() != 0)
        rc = -1;
    return rc;
}

/* ---- statistics ------------------------------------------------------- */

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
    size_t rank = (size_t)(p * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    return sorted[(rank > n ? n : rank) - 1];
}


/* Median of n values (v is left as it was); *lo and *hi get the extremes. */
static double med_range(const double *v, int n, double *lo, double *hi)
{
    double s[MAX_PARTS];
    memcpy(s, v, (size_t)n * sizeof *v);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    *lo = s[0];
    *hi = s[n - 1];
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static double med(const double *v, int n)
{
    double lo, hi;
    return med_range(v, n, &lo, &hi);
}

/* ---- the measurements ------------------------------------------------- */

/* Per round: figures of the round's pooled slices.  Per part (round r,
 * slice s: index r * slices + s): what the ratios are computed from, so
 * that both sides of a ratio ran minutes, not a round, apart. */
struct results {
    double lat[NLAT][4][MAX_ROUNDS];          /* P50, P99, P99.9, max (ns, one-way) */
    double lat_part[NLAT][MAX_PARTS];         /* P50 of each slice */
    double lat_part_pre[NLAT][MAX_PARTS];    /* preemptions/s of each slice */
    uint64_t *pool[NLAT];                     /* a round's samples, all slices */
    double tput[NSIZES][NTPUT][MAX_ROUNDS];   /* messages/s over the round's slices */
    double tput_part[NSIZES][NTPUT][MAX_PARTS];
    double tput_part_pre[NSIZES][NTPUT][MAX_PARTS];
    uint64_t tput_msgs[NSIZES][NTPUT], tput_ns[NSIZES][NTPUT];   /* this round so far */
    double copy[NSIZES][2][MAX_ROUNDS];       /* bytes/s: cold, hot (fastest slice) */
    double copy_part[NSIZES][MAX_PARTS];      /* cold */
    double cost[3][2][MAX_ROUNDS];            /* ns/message: publish, receive, both; median, min */
};

static uint64_t warmup_for(uint64_t count)
{
    uint64_t w = count / 10;
    return w < 10 ? 10 : w > 10000 ? 10000 : w;
}

static struct bp_job make_job(const struct options *o, const struct shared_area *a,
                              const struct bp_mech *m, enum bp_mode mode, size_t size,
                              uint64_t count)
{
    struct bp_job j;
    memset(&j, 0, sizeof j);
    j.m = m;
    j.mode = mode;
    j.size = size;
    j.count = count < 10 ? 10 : count;
    j.warm = warmup_for(j.count);
    j.shm_name = g_shm;
    j.queue_size = o->queue_size;
    j.sh = a->sh;
    j.ab = a->ab;
    j.ba = a->ba;
    j.samples = a->samples;
    return j;
}

/* Round trips of one slice of a round. */
static uint64_t lat_slice_count(const struct options *o)
{
    uint64_t n = o->iterations / (uint64_t)o->slices;
    return n < 10 ? 10 : n;
}

/* One slice of a latency measurement: its samples join the round's pool. */
static int measure_latency(const struct options *o, const struct shared_area *a, int mech,
                           int round, int slice, struct results *res)
{
    struct bp_job j = make_job(o, a, &LAT_MECHS[mech], BP_LATENCY, o->size, lat_slice_count(o));
    size_t n = (size_t)j.count;
    double pre, timed = 0;
    size_t i;
    if (run_job(&j, &pre) != 0)
        return -1;
    for (i = 0; i < n; i++)
        timed += (double)a->samples[i];
    pre = timed > 0 ? pre * NS_PER_S / timed : 0;   /* per second of the timed phase */
    qsort(a->samples, n, sizeof *a->samples, cmp_u64);
    res->lat_part[mech][round * o->slices + slice] = (double)percentile(a->samples, n, 0.5) / 2;
    res->lat_part_pre[mech][round * o->slices + slice] = pre;
    memcpy(res->pool[mech] + (size_t)slice * n, a->samples, n * sizeof *a->samples);
    return 0;
}

/* The round's figures from the pooled samples of all its slices. */
static void finish_latency_round(const struct options *o, int mech, int round,
                                 struct results *res)
{
    static const double ps[] = { 0.50, 0.99, 0.999 };
    size_t n = (size_t)lat_slice_count(o) * (size_t)o->slices, k;
    uint64_t *v = res->pool[mech];
    qsort(v, n, sizeof *v, cmp_u64);
    for (k = 0; k < 3; k++)
        res->lat[mech][k][round] = (double)percentile(v, n, ps[k]) / 2;
    res->lat[mech][3][round] = (double)v[n - 1] / 2;
}

/* One slice of a throughput measurement. */
static int measure_tput(const struct options *o, const struct shared_area *a, int si, int mech,
                        int round, int slice, struct results *res)
{
    uint64_t count = o->messages / TPUT_DIVISOR[si] / (uint64_t)o->slices;
    struct bp_job j = make_job(o, a, &TPUT_MECHS[mech], BP_THROUGHPUT, TPUT_SIZES[si], count);
    uint64_t t0, t1;
    double pre;
    if (run_job(&j, &pre) != 0)
        return -1;
    t0 = atomic_load(&a->sh->t0);
    t1 = atomic_load(&a->sh->t1);
    if (t0 == 0 || t1 <= t0) {
        fprintf(stderr, "bench_pubsub: %s: no timing recorded\n", j.m->label);
        return -1;
    }
    pre = pre * NS_PER_S / (double)(t1 - t0);   /* per second of the timed phase */
    if (slice == 0)
        res->tput_msgs[si][mech] = res->tput_ns[si][mech] = 0;
    res->tput_msgs[si][mech] += j.count;
    res->tput_ns[si][mech] += t1 - t0;
    res->tput[si][mech][round] =
        (double)res->tput_msgs[si][mech] * NS_PER_S / (double)res->tput_ns[si][mech];
    res->tput_part_pre[si][mech][round * o->slices + slice] = pre;
    res->tput_part[si][mech][round * o->slices + slice] =
        (double)j.count * NS_PER_S / (double)(t1 - t0);
    return 0;
}

/* Keep the compiler from dropping or merging copies nobody reads. */
#define CLOBBER(p) __asm__ __volatile__("" : : "r"(p) : "memory")

/* memcpy of `size` bytes at a time: streaming through two buffers far
 * larger than the caches (cold), and between two fixed places (hot).  Each
 * pass copies `buf` bytes; the fastest pass counts, since other processes
 * can only slow a pass down: this is what the hardware can do. */
static void copy_rates(size_t size, size_t buf, int passes, double *cold, double *hot,
                       unsigned char *src, unsigned char *dst)
{
    size_t n = buf / size, i;
    int p;
    *cold = *hot = 0;
    for (p = 0; p < passes; p++) {
        uint64_t t0 = bp_now();
        double rate;
        for (i = 0; i < n; i++) {
            memcpy(dst + i * size, src + i * size, size);
            CLOBBER(dst);
        }
        rate = (double)(n * size) * NS_PER_S / (double)(bp_now() - t0);
        *cold = rate > *cold ? rate : *cold;
    }
    for (p = 0; p < passes; p++) {
        uint64_t t0 = bp_now();
        double rate;
        for (i = 0; i < n; i++) {
            memcpy(dst, src, size);
            CLOBBER(dst);
        }
        rate = (double)(n * size) * NS_PER_S / (double)(bp_now() - t0);
        *hot = rate > *hot ? rate : *hot;
    }
}

/* In a child pinned like end A, so the coordinator never holds the large
 * buffers (every fork would copy their page tables). */
static int measure_copy(const struct options *o, const struct shared_area *a, int round,
                        int slice, struct results *res)
{
    pid_t pid, self = getpid();
    int si;
    memset(a->sh, 0, sizeof *a->sh);
    fflush(stdout);
    if ((pid = fork()) < 0) {
        perror("bench_pubsub: fork");
        return -1;
    }
    if (pid == 0) {
        unsigned char *src, *dst;
        become_child(self, g_cpu[0]);
        src = malloc(o->memcpy_buf);
        dst = malloc(o->memcpy_buf);
        if (src == NULL || dst == NULL)
            _exit(1);
        memset(src, 0x5a, o->memcpy_buf);   /* fault every page in first */
        memset(dst, 0xa5, o->memcpy_buf);
        for (si = 0; si < NSIZES; si++)
            copy_rates(TPUT_SIZES[si], o->memcpy_buf, 2, &a->sh->copy_bps[si][0],
                       &a->sh->copy_bps[si][1], src, dst);
        _exit(0);
    }
    g_child[0] = pid;
    if (reap(bp_now() + 300 * 1000000000ull) != 0) {
        fprintf(stderr, "bench_pubsub: the memcpy measurement failed\n");
        return -1;
    }
    for (si = 0; si < NSIZES; si++) {
        int k;
        for (k = 0; k < 2; k++)
            if (slice == 0 || a->sh->copy_bps[si][k] > res->copy[si][k][round])
                res->copy[si][k][round] = a->sh->copy_bps[si][k];
        res->copy_part[si][round * o->slices + slice] = a->sh->copy_bps[si][0];
    }
    return 0;
}

/* Median and minimum of n per-batch durations, in ns per message. */
static void batch_stats(uint64_t *ns, size_t n, double *median_out, double *min_out)
{
    qsort(ns, n, sizeof *ns, cmp_u64);
    *median_out = (double)percentile(ns, n, 0.5) / BP_COST_BATCH;
    *min_out = (double)ns[0] / BP_COST_BATCH;
}

/* CPU cost per message with no other core involved (bp_librpc_cost), in a
 * child pinned like end A. */
static int measure_cost(const struct options *o, const struct shared_area *a, int round,
                        struct results *res)
{
    struct bp_job j = make_job(o, a, &COST_MECH, BP_LATENCY, o->size, o->quick ? 100 : COST_BATCHES);
    pid_t pid, self = getpid();
    int k;
    memset(a->sh, 0, sizeof *a->sh);
    fflush(stdout);
    if ((pid = fork()) < 0) {
        perror("bench_pubsub: fork");
        return -1;
    }
    if (pid == 0) {
        become_child(self, g_cpu[0]);
        _exit(bp_librpc_cost(&j) == 0 ? 0 : 1);
    }
    g_child[0] = pid;
    if (reap(bp_now() + 300 * 1000000000ull) != 0 || atomic_load(&a->sh->errors) != 0) {
        fprintf(stderr, "bench_pubsub: the cost measurement failed: %s\n", a->sh->errmsg);
        check_segment_gone();
        return -1;
    }
    if (check_segment_gone() != 0)
        return -1;
    for (k = 0; k < 3; k++)
        batch_stats(a->samples + k * j.count, (size_t)j.count, &res->cost[k][0][round],
                    &res->cost[k][1][round]);
    return 0;
}

/* Is the mechanism with this key selected (--mechanisms)? */
static int wanted(const struct options *o, const char *key)
{
    const char *p = o->mechanisms;
    size_t len = strlen(key);
    while (p != NULL && *p != '\0') {
        if (strncmp(p, key, len) == 0 && (p[len] == ',' || p[len] == '\0'))
            return 1;
        p = strchr(p, ',');
        p = p != NULL ? p + 1 : NULL;
    }
    return o->mechanisms == NULL;
}

/* One slice: every selected mechanism once, starting one further each
 * time, so that drift hits all alike. */
static int run_slice(const struct options *o, const struct shared_area *a, int r, int sl,
                     struct results *res)
{
    int i, si, turn = r * o->slices + sl;
    for (i = 0; o->latency && i < NLAT; i++) {
        int m = (i + turn) % NLAT;
        if (!wanted(o, LAT_MECHS[m].key))
            continue;
        fprintf(stderr, "round %d/%d, slice %d/%d: latency, %s\n", r + 1, o->rounds, sl + 1,
                o->slices, LAT_MECHS[m].label);
        if (measure_latency(o, a, m, r, sl, res) != 0)
            return -1;
    }
    for (si = 0; o->throughput && si < NSIZES; si++) {
        for (i = 0; i < NTPUT; i++) {
            int m = (i + turn) % NTPUT;
            if (!wanted(o, TPUT_MECHS[m].key))
                continue;
            fprintf(stderr, "round %d/%d, slice %d/%d: throughput %zu B, %s\n", r + 1,
                    o->rounds, sl + 1, o->slices, TPUT_SIZES[si], TPUT_MECHS[m].label);
            if (measure_tput(o, a, si, m, r, sl, res) != 0)
                return -1;
        }
    }
    if (o->throughput && wanted(o, "memcpy")) {
        fprintf(stderr, "round %d/%d, slice %d/%d: memcpy\n", r + 1, o->rounds, sl + 1,
                o->slices);
        if (measure_copy(o, a, r, sl, res) != 0)
            return -1;
    }
    return 0;
}

static int run_all(const struct options *o, const struct shared_area *a, struct results *res)
{
    int r, sl, m;
    for (r = 0; r < o->rounds; r++) {
        for (sl = 0; sl < o->slices; sl++)
            if (run_slice(o, a, r, sl, res) != 0)
                return -1;
        for (m = 0; o->latency && m < NLAT; m++)
            if (wanted(o, LAT_MECHS[m].key))
                finish_latency_round(o, m, r, res);
        if (o->cost && wanted(o, "cost")) {
            fprintf(stderr, "round %d/%d: cost per message, one thread\n", r + 1, o->rounds);
            if (measure_cost(o, a, r, res) != 0)
                return -1;
        }
    }
    return 0;
}

/* ---- the report --------------------------------------------------------- */

static const char *fmt_ns(char *b, size_t len, double ns)
{
    if (ns < 1000)
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
    if (per_s >= 1e6)
        snprintf(b, len, "%.2f M", per_s / 1e6);
    else if (per_s >= 1e3)
        snprintf(b, len, "%.0f k", per_s / 1e3);
    else
        snprintf(b, len, "%.0f", per_s);
    return b;
}

static const char *fmt_size(char *b, size_t len, size_t size)
{
    if (size >= 1024 && size % 1024 == 0)
        snprintf(b, len, "%zu KiB", size / 1024);
    else
        snprintf(b, len, "%zu B", size);
    return b;
}

/* One row of a ratio table, when both sides were measured: per slice
 * scale * num[i] / den[i] (both sides ran seconds apart, so a drift, e.g.
 * the hypervisor moving a vCPU, cancels out), then the median of the
 * slices and their range, against the target (0: none). */
static void ratio_row(const char *what, int have, const double *num, const double *den,
                      double scale, int parts, int at_most, double target)
{
    double v[MAX_PARTS] = { 0 }, ratio, lo, hi;
    int i;
    if (!have || parts < 1)
        return;
    for (i = 0; i < parts; i++)
        v[i] = den[i] > 0 ? scale * num[i] / den[i] : 0;
    ratio = med_range(v, parts, &lo, &hi);
    printf("| %s | %.2fx | %.2f - %.2f", what, ratio, lo, hi);
    if (target <= 0)
        printf(" | (none) | |\n");
    else
        printf(" | %s %gx | %s |\n", at_most ? "<=" : ">=", target,
               (at_most ? ratio <= target : ratio >= target) ? "met" : "**MISSED**");
}

static void report_latency(const struct options *o, const struct results *res)
{
    char b[5][32], s[32];
    int m, k, n = o->rounds, parts = o->rounds * o->slices, w[NLAT];
    uint64_t per = lat_slice_count(o);
    double p50[NLAT];
    printf("#### Latency: one-way = round trip / 2, %s payload, %llu timed round trips per "
           "round (%d slices of %llu, each after %llu untimed)\n\n",
           fmt_size(s, sizeof s, o->size), (unsigned long long)(per * (uint64_t)o->slices),
           o->slices, (unsigned long long)per, (unsigned long long)warmup_for(per));
    printf("| mechanism | P50 | P99 | P99.9 | max | P50 range | preempted /s (median slice) |\n");
    printf("|---|---:|---:|---:|---:|---:|---:|\n");
    for (m = 0; m < NLAT; m++) {
        double lo, hi;
        if (!(w[m] = wanted(o, LAT_MECHS[m].key)))
            continue;
        p50[m] = med_range(res->lat[m][0], n, &lo, &hi);
        printf("| %s | %s", LAT_MECHS[m].label, fmt_ns(b[0], 32, p50[m]));
        for (k = 1; k < 4; k++)
            printf(" | %s", fmt_ns(b[k], 32, med(res->lat[m][k], n)));
        printf(" | %s - %s", fmt_ns(b[0], 32, lo), fmt_ns(b[4], 32, hi));
        printf(" | %.0f |\n", med(res->lat_part_pre[m], parts));
    }
    printf("\n| ratio of P50 latencies, per slice | median | range | target | |\n"
           "|---|---:|---:|---:|---|\n");
#define LAT_RATIO(what, a, b_, at_most, target) \
    ratio_row(what, w[a] && w[b_], res->lat_part[a], res->lat_part[b_], 1, parts, at_most, target)
    LAT_RATIO("librpc spin (receive thread) / cache-line floor", L_SPIN, L_CACHELINE, 1, 2.0);
    LAT_RATIO("librpc spin (manual poll) / cache-line floor", L_MANUAL, L_CACHELINE, 1, 2.0);
    LAT_RATIO("Unix socket / librpc spin (receive thread)", L_UDS, L_SPIN, 0, 10.0);
    LAT_RATIO("Unix socket / librpc spin (manual poll)", L_UDS, L_MANUAL, 0, 10.0);
    LAT_RATIO("librpc sleep / futex floor", L_SLEEP, L_FUTEX, 1, 1.3);
    LAT_RATIO("pipe / librpc spin (receive thread)", L_PIPE, L_SPIN, 0, 0);
    LAT_RATIO("Unix socket / librpc sleep", L_UDS, L_SLEEP, 0, 0);
    LAT_RATIO("librpc default / cache-line floor", L_DEFAULT, L_CACHELINE, 0, 0);
#undef LAT_RATIO
    printf("\n");
}

static void report_throughput(const struct options *o, const struct results *res)
{
    char b[3][32], s[32], what[160];
    int si, m, n = o->rounds, parts = o->rounds * o->slices, w[NTPUT], wc = wanted(o, "memcpy");
    double rate[NSIZES][NTPUT], copy_cold[NSIZES];
    printf("#### Throughput: one publisher process -> one subscriber process, blocking "
           "(nothing dropped), every sequence number and payload checked, payload copied "
           "in and out\n\n");
    printf("Timed messages per round: %llu of 64 B, %llu of 4 KiB, %llu of 64 KiB, in %d "
           "slices, each slice after 10 %% more untimed (at most 10000). MB = 10^6 bytes.\n\n",
           (unsigned long long)o->messages, (unsigned long long)(o->messages / TPUT_DIVISOR[1]),
           (unsigned long long)(o->messages / TPUT_DIVISOR[2]), o->slices);
    printf("| size | mechanism | messages/s | MB/s | range (messages/s) | preempted /s (median slice) |\n");
    printf("|---|---|---:|---:|---:|---:|\n");
    for (m = 0; m < NTPUT; m++)
        w[m] = wanted(o, TPUT_MECHS[m].key);
    for (si = 0; si < NSIZES; si++) {
        double lo, hi, bytes = (double)TPUT_SIZES[si];
        fmt_size(s, sizeof s, TPUT_SIZES[si]);
        for (m = 0; m < NTPUT; m++) {
            if (!w[m])
                continue;
            rate[si][m] = med_range(res->tput[si][m], n, &lo, &hi);
            printf("| %s | %s | %s | %.0f | %s - %s | %.0f |\n", s, TPUT_MECHS[m].label,
                   fmt_rate(b[0], 32, rate[si][m]), rate[si][m] * bytes / 1e6,
                   fmt_rate(b[1], 32, lo), fmt_rate(b[2], 32, hi),
                   med(res->tput_part_pre[si][m], parts));
        }
        if (!wc)
            continue;
        copy_cold[si] = med_range(res->copy[si][0], n, &lo, &hi);
        printf("| %s | memcpy, one thread, 2 x %zu MiB buffers (beyond the caches; fastest pass) | | %.0f "
               "| %.0f - %.0f MB/s | |\n", s, o->memcpy_buf >> 20, copy_cold[si] / 1e6,
               lo / 1e6, hi / 1e6);
        printf("| %s | memcpy, one thread, in cache (for reference) | | %.0f | | |\n", s,
               med(res->copy[si][1], n) / 1e6);
    }
    printf("\n| throughput ratio, per slice | median | range | target | |\n"
           "|---|---:|---:|---:|---|\n");
    for (m = 0; m <= T_DEFAULT; m++) {
        snprintf(what, sizeof what, "64 B messages/s: %s / Unix socket", TPUT_MECHS[m].label);
        ratio_row(what, w[m] && w[T_UDS], res->tput_part[0][m], res->tput_part[0][T_UDS], 1,
                  parts, 0, 10.0);
    }
    for (si = 1; si < NSIZES; si++)
        for (m = 0; m <= T_DEFAULT; m++) {
            snprintf(what, sizeof what, "%s MB/s: %s / memcpy beyond the caches",
                     fmt_size(s, sizeof s, TPUT_SIZES[si]), TPUT_MECHS[m].label);
            ratio_row(what, w[m] && wc, res->tput_part[si][m], res->copy_part[si],
                      (double)TPUT_SIZES[si], parts, 0, 0.5);
        }
    printf("\n");
}

static void report_cost(const struct options *o, const struct results *res)
{
    static const char *rows[3] = {
        "rpc_publish() to one subscriber (copy in, queue, wake-up check), in a batch",
        "receive: rpc_node_poll(0) + callback (copy out, check), a batch at a time",
        "one message alone: rpc_publish() + rpc_node_poll(0) + callback",
    };
    char b[3][32], s[32];
    int k;
    if (!wanted(o, "cost"))
        return;
    printf("#### CPU cost per message, %s payload, one thread (publisher and subscriber "
           "nodes in one process: no cache line changes cores)\n\n",
           fmt_size(s, sizeof s, o->size));
    printf("Batches of %d messages, %d batches per round; per round the median and the "
           "fastest batch, then the median over the rounds.\n\n", BP_COST_BATCH,
           o->quick ? 100 : COST_BATCHES);
    printf("| step | median batch | fastest batch | median range |\n|---|---:|---:|---:|\n");
    for (k = 0; k < 3; k++) {
        double lo, hi, m = med_range(res->cost[k][0], o->rounds, &lo, &hi);
        printf("| %s | %s | %s | %s - %s |\n", rows[k], fmt_ns(b[0], 32, m),
               fmt_ns(b[1], 32, med(res->cost[k][1], o->rounds)), fmt_ns(b[2], 32, lo),
               fmt_ns(b[0], 32, hi));
    }
    printf("\n");
}

/* ---- options and main --------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench_pubsub [--quick] [--rounds N] [--slices N] [--only latency|throughput|cost]\n"
            "                    [--iterations N] [--messages N] [--size BYTES]\n"
            "                    [--queue-size BYTES] [--name /PREFIX] [--mechanisms LIST]\n"
            "  --quick           smoke run: 1 round of 2 slices, 2000 round trips, 5000 messages\n"
            "  --rounds N        measure every mechanism N times (default 3; median and range)\n"
            "  --slices N        cut each round into N slices, the mechanisms alternating in\n"
            "                    each (default 5); ratios are taken per slice\n"
            "  --only WHAT       only the latency, the throughput or the cost part\n"
            "  --iterations N    timed round trips per latency measurement (default 100000)\n"
            "  --messages N      timed 64 B messages per throughput measurement (default\n"
            "                    1000000; 4 KiB: N/5, 64 KiB: N/50)\n"
            "  --size BYTES      latency payload, 8..65536 (default 64)\n"
            "  --queue-size B    librpc queue size (default: the library's)\n"
            "  --name /PREFIX    segment name prefix (default /librpc_bench_ps; the pid is "
            "appended)\n"
            "  --mechanisms L    run only these (comma-separated), e.g. for a profiler: spin,\n"
            "                    manual, sleep, default, cacheline, futex, uds, pipe, memcpy, cost\n");
}

static int parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end;
    unsigned long long v;
    if (s == NULL || *s == '-')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_args(int argc, char **argv, struct options *o)
{
    uint64_t v, rounds = 0, slices = 0, iterations = 0, messages = 0;
    int i;
    memset(o, 0, sizeof *o);
    o->latency = o->throughput = o->cost = 1;
    o->size = 64;
    snprintf(o->prefix, sizeof o->prefix, "/librpc_bench_ps");
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--quick") == 0) {
            o->quick = 1;
            continue;
        }
        if (strcmp(a, "--help") == 0) {
            usage(stdout);
            exit(0);
        }
        if (next == NULL)
            return -1;
        i++;
        if (strcmp(a, "--rounds") == 0 && parse_u64(next, 1, MAX_ROUNDS, &rounds) == 0)
            continue;
        if (strcmp(a, "--slices") == 0 && parse_u64(next, 1, MAX_SLICES, &slices) == 0)
            continue;
        if (strcmp(a, "--iterations") == 0 && parse_u64(next, 10, 100000000, &iterations) == 0)
            continue;
        if (strcmp(a, "--messages") == 0 && parse_u64(next, 100, 1000000000, &messages) == 0)
            continue;
        if (strcmp(a, "--size") == 0 && parse_u64(next, 8, MAX_SIZE, &v) == 0) {
            o->size = (size_t)v;
            continue;
        }
        if (strcmp(a, "--queue-size") == 0 && parse_u64(next, 4096, (uint64_t)1 << 30, &v) == 0) {
            o->queue_size = (size_t)v;
            continue;
        }
        if (strcmp(a, "--only") == 0) {
            o->latency = strcmp(next, "latency") == 0;
            o->throughput = strcmp(next, "throughput") == 0;
            o->cost = strcmp(next, "cost") == 0;
            if (o->latency + o->throughput + o->cost == 1)
                continue;
        }
        if (strcmp(a, "--mechanisms") == 0) {
            o->mechanisms = next;
            continue;
        }
        if (strcmp(a, "--name") == 0 && next[0] == '/' && strlen(next) < sizeof o->prefix) {
            snprintf(o->prefix, sizeof o->prefix, "%s", next);
            continue;
        }
        return -1;
    }
    o->rounds = rounds ? (int)rounds : o->quick ? 1 : 3;
    o->slices = slices ? (int)slices : o->quick ? 2 : 5;
    o->iterations = iterations ? iterations : o->quick ? 2000 : 100000;
    o->messages = messages ? messages : o->quick ? 5000 : 1000000;
    o->memcpy_buf = (size_t)(o->quick ? 16 : 128) << 20;
    return 0;
}

/* The segment must not exist before (another run's) nor after (ours). */
static int segment_state(int removing)
{
    rpc_config *cfg = NULL;
    int rc = rpc_config_create(&cfg);
    if (rc == 0 && (rc = rpc_config_set_shm_name(cfg, g_shm)) == 0)
        rc = removing ? rpc_domain_cleanup(cfg, 0) : rpc_domain_active_nodes(cfg);
    else
        fprintf(stderr, "bench_pubsub: segment name %s: %s\n", g_shm, rpc_strerror(rc));
    rpc_config_destroy(cfg);
    return rc;
}

int main(int argc, char **argv)
{
    struct options o;
    struct shared_area area;
    struct results *res;
    char load[128];
    int rc, i;

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (parse_args(argc, argv, &o) != 0) {
        usage(stderr);
        return 2;
    }
    snprintf(g_shm, sizeof g_shm, "%s_%ld", o.prefix, (long)getpid());
    if ((rc = segment_state(0)) != RPC_ENOENT) {
        if (rc != RPC_EBADNAME && rc != RPC_EINVAL)
            fprintf(stderr, "bench_pubsub: segment %s exists already; choose another --name\n",
                    g_shm);
        return 2;
    }
    install_handlers();
    choose_cpus();
    res = calloc(1, sizeof *res);
    for (rc = 0; res != NULL && rc < NLAT; rc++)
        if ((res->pool[rc] = calloc((size_t)lat_slice_count(&o) * (size_t)o.slices,
                                    sizeof(uint64_t))) == NULL)
            rc = NLAT + 1;
    if (res == NULL || rc > NLAT || map_shared(&area, &o) != 0) {
        fprintf(stderr, "bench_pubsub: out of memory\n");
        return 1;
    }
    print_machine(&o, argc, argv);
    rc = run_all(&o, &area, res);
    if (rc == 0 && o.latency)
        report_latency(&o, res);
    if (rc == 0 && o.throughput)
        report_throughput(&o, res);
    if (rc == 0 && o.cost)
        report_cost(&o, res);
    read_first_line("/proc/loadavg", NULL, load, sizeof load);
    printf("- load average at end: %s\n", load);
    /* Whatever happened, leave no segment behind. */
    if (segment_state(1) == 0) {
        fprintf(stderr, "bench_pubsub: removed a leftover segment %s\n", g_shm);
        rc = -1;
    }
    for (i = 0; i < NLAT; i++)
        free(res->pool[i]);
    free(res);
    if (rc != 0)
        fprintf(stderr, "bench_pubsub: FAILED\n");
    return rc == 0 ? 0 : 1;
}
