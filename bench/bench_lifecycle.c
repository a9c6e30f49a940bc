/*
 * bench_lifecycle.c - how long the segment life-cycle operations take.
 *
 * Measures, on a private segment name:
 *   (a) node create+destroy while the segment exists: once with the keeper
 *       node in this process (the process stays attached; the common case
 *       of an application adding a node), once with the keeper in another
 *       process (each iteration attaches this process to the existing
 *       segment and detaches it again);
 *   (b) the read-only queries rpc_domain_active_nodes() and
 *       rpc_domain_list_nodes();
 *   (c) for comparison, first join + last leave: each iteration creates
 *       the segment and unlinks it again;
 *   (d) after a peer holding a node is SIGKILLed, how long until a
 *       survivor's rpc_domain_list_nodes() shows the node dead, and until
 *       it is reclaimed (gone from the list).
 *
 * Every sample is one CLOCK_MONOTONIC interval around one operation; the
 * samples are sorted and reported as min/P50/P99/P99.9/max (nearest rank),
 * after a warm-up that is not recorded.  Nothing here asserts a speed: the
 * exit status is 0 when every operation succeeded and no segment is left.
 *
 * Usage: bench_lifecycle [--iterations N] [--kill-trials N] [--quick]
 *                        [--name /NAME] [--receive thread|manual]
 *                        [--spin-us N] [--max-subs N]
 */
#define _POSIX_C_SOURCE 200809L
#include <librpc/librpc.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_ITERATIONS 10000L
#define DEFAULT_KILL_TRIALS 30
#define QUICK_ITERATIONS 200L
#define QUICK_KILL_TRIALS 3
/* Deadlines only for things that should take milliseconds; a miss means a
 * bug or a badly stuck machine, and ends the run with an error. */
#define PEER_TIMEOUT_NS (20ull * 1000000000ull)
#define RECLAIM_POLL_NS 200000ull   /* 0.2 ms: the resolution of (d) */
#define RECLAIM_PHASE_NS 150000000ull /* random pause before a kill: > 1 sweep period */

static char g_name[RPC_SHM_NAME_MAX + 1];
static int g_keeper_cmd = -1;   /* children must not inherit it */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_ns(uint64_t ns)
{
    struct timespec ts = { (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int fail(const char *what, int rc)
{
    fprintf(stderr, "bench_lifecycle: %s: %s (%s)\n", what, rpc_strerror(rc), rpc_errdetail());
    return -1;
}

/* Ctrl-C must not leave the segment behind: the name is ours alone. */
static void on_signal(int sig)
{
    (void)sig;
    shm_unlink(g_name);
    _exit(130);
}

/* ---- statistics ------------------------------------------------------- */

struct series {
    const char *label;
    uint64_t *ns;
    size_t n;
};

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted samples: the smallest sample with at
 * least p of all samples at or below it. */
static uint64_t percentile(const uint64_t *sorted, size_t n, double p)
{
    size_t rank = (size_t)(p * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    return sorted[(rank > n ? n : rank) - 1];
}

static const char *fmt_ns(char *buf, size_t len, uint64_t ns)
{
    if (ns < 10000)
        snprintf(buf, len, "%.2f µs", (double)ns / 1e3);
    else if (ns < 1000000)
        snprintf(buf, len, "%.1f µs", (double)ns / 1e3);
    else if (ns < 10000000)
        snprintf(buf, len, "%.2f ms", (double)ns / 1e6);
    else
        snprintf(buf, len, "%.1f ms", (double)ns / 1e6);
    return buf;
}

static void print_table(struct series *rows, size_t nrows)
{
    static const double ps[] = { 0.50, 0.99, 0.999 };
    size_t r, k;
    char b[32];
    printf("| operation | samples | min | P50 | P99 | P99.9 | max |\n");
    printf("|---|---:|---:|---:|---:|---:|---:|\n");
    for (r = 0; r < nrows; r++) {
        struct series *s = &rows[r];
        if (s->n == 0)
            continue;
        qsort(s->ns, s->n, sizeof *s->ns, cmp_u64);
        printf("| %s | %zu | %s", s->label, s->n, fmt_ns(b, sizeof b, s->ns[0]));
        for (k = 0; k < sizeof ps / sizeof ps[0]; k++)
            printf(" | %s", fmt_ns(b, sizeof b, percentile(s->ns, s->n, ps[k])));
        printf(" | %s |\n", fmt_ns(b, sizeof b, s->ns[s->n - 1]));
    }
}

static void print_target(const char *what, const struct series *s, uint64_t target_ns)
{
    char b1[32], b2[32];
    uint64_t p50 = percentile(s->ns, s->n, 0.50);
    printf("target: %-32s P50 %-10s < %-8s %s\n", what, fmt_ns(b1, sizeof b1, p50),
           fmt_ns(b2, sizeof b2, target_ns), p50 < target_ns ? "met" : "MISSED");
}

/* ---- helper processes ---------------------------------------------------- */

static int read_byte(int fd, uint64_t timeout_ns)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    char c;
    int rc;
    do
        rc = poll(&p, 1, (int)(timeout_ns / 1000000u));
    while (rc < 0 && errno == EINTR);
    return rc == 1 && read(fd, &c, 1) == 1 ? 0 : -1;
}

/*
 * Fork a process that creates a node named `node`, reports "ready" (one
 * byte on a pipe) and then holds the node until its command pipe (whose
 * write end goes to *cmd_fd) is closed: the node is then destroyed and the
 * process exits.  Because EOF also comes when this process dies, helpers
 * never outlive the run.
 */
static pid_t spawn_holder(const rpc_config *cfg, const char *node, int *cmd_fd)
{
    int cmd[2], ready[2];
    pid_t pid;
    if (pipe(cmd) != 0 || pipe(ready) != 0) {
        perror("bench_lifecycle: pipe");
        return -1;
    }
    fflush(stdout);
    if ((pid = fork()) < 0) {
        perror("bench_lifecycle: fork");
        close(cmd[0]);
        close(cmd[1]);
        close(ready[0]);
        close(ready[1]);
        return -1;
    }
    if (pid == 0) {
        rpc_node *n;
        char c;
        int rc;
        if (g_keeper_cmd >= 0)
            close(g_keeper_cmd);
        close(cmd[1]);
        close(ready[0]);
        if ((rc = rpc_node_create(cfg, node, &n)) != 0) {
            fail("helper: rpc_node_create", rc);
            _exit(1);
        }
        if (write(ready[1], "r", 1) != 1)
            _exit(1);
        for (;;) {   /* until EOF */
            ssize_t r = read(cmd[0], &c, 1);
            if (r == 0 || (r < 0 && errno != EINTR))
                break;
        }
        _exit(rpc_node_destroy(n) == 0 ? 0 : 1);
    }
    close(cmd[0]);
    close(ready[1]);
    if (read_byte(ready[0], PEER_TIMEOUT_NS) != 0) {
        fprintf(stderr, "bench_lifecycle: helper %ld did not get ready\n", (long)pid);
        close(ready[0]);
        close(cmd[1]);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -1;
    }
    close(ready[0]);
    *cmd_fd = cmd[1];
    return pid;
}

/* Close the helper's command pipe and reap it; 0 if it exited cleanly.  A
 * helper that does not finish in time is killed (its node is then dead and
 * the final clean-up removes the orphaned segment). */
static int stop_holder(pid_t pid, int cmd_fd)
{
    uint64_t deadline = now_ns() + PEER_TIMEOUT_NS;
    int status;
    pid_t r;
    close(cmd_fd);
    while ((r = waitpid(pid, &status, WNOHANG)) == 0 && now_ns() < deadline)
        sleep_ns(1000000);
    if (r == 0) {
        fprintf(stderr, "bench_lifecycle: helper %ld hangs; killing it\n", (long)pid);
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        return -1;
    }
    return r == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* ---- the measurements ---------------------------------------------------- */

/* (a) and (c): one create+destroy per sample.  For (c) expect_gone checks,
 * outside the timed interval, that each destroy really removed the
 * segment. */
static int bench_create_destroy(const rpc_config *cfg, long warm, struct series *s,
                                int expect_gone)
{
    long i;
    for (i = -warm; i < (long)s->n; i++) {
        rpc_node *n;
        uint64_t t0 = now_ns();
        int rc = rpc_node_create(cfg, "bench-node", &n);
        if (rc != 0)
            return fail("rpc_node_create", rc);
        if ((rc = rpc_node_destroy(n)) != 0)
            return fail("rpc_node_destroy", rc);
        if (i >= 0)
            s->ns[i] = now_ns() - t0;
        if (expect_gone && (rc = rpc_domain_active_nodes(cfg)) != RPC_ENOENT) {
            fprintf(stderr, "bench_lifecycle: segment %s survived its last node (%d)\n",
                    g_name, rc);
            return -1;
        }
    }
    return 0;
}

/* (b) rpc_domain_active_nodes(), which must see exactly `expect` nodes. */
static int bench_active(const rpc_config *cfg, long warm, struct series *s, int expect)
{
    long i;
    for (i = -warm; i < (long)s->n; i++) {
        uint64_t t0 = now_ns();
        int rc = rpc_domain_active_nodes(cfg);
        uint64_t t1 = now_ns();
        if (rc != expect) {
            fprintf(stderr, "bench_lifecycle: active nodes %d, expected %d\n", rc, expect);
            return rc < 0 ? fail("rpc_domain_active_nodes", rc) : -1;
        }
        if (i >= 0)
            s->ns[i] = t1 - t0;
    }
    return 0;
}

/* (b) rpc_domain_list_nodes() into a full-size buffer. */
static int bench_list(const rpc_config *cfg, long warm, struct series *s, int expect)
{
    static rpc_node_info info[RPC_DEFAULT_MAX_NODES];
    long i;
    for (i = -warm; i < (long)s->n; i++) {
        uint64_t t0 = now_ns();
        int rc = rpc_domain_list_nodes(cfg, info, RPC_DEFAULT_MAX_NODES);
        uint64_t t1 = now_ns();
        if (rc != expect)
            return rc < 0 ? fail("rpc_domain_list_nodes", rc) : -1;
        if (i >= 0)
            s->ns[i] = t1 - t0;
    }
    return 0;
}

/* xorshift64: a spread of pauses, not cryptography. */
static uint64_t random_below(uint64_t bound)
{
    static uint64_t x;
    if (x == 0)
        x = now_ns() ^ ((uint64_t)getpid() << 32) ^ UINT64_C(0x9E3779B97F4A7C15);
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x % bound;
}

/* State of node `name` in the list: 2 alive, 1 dead (not reclaimed), 0 gone. */
static int node_state(const rpc_config *cfg, const char *name)
{
    rpc_node_info info[RPC_DEFAULT_MAX_NODES];
    int i, n = rpc_domain_list_nodes(cfg, info, RPC_DEFAULT_MAX_NODES);
    if (n < 0)
        return fail("rpc_domain_list_nodes", n);
    for (i = 0; i < n && i < (int)RPC_DEFAULT_MAX_NODES; i++)
        if (strcmp(info[i].name, name) == 0)
            return info[i].alive ? 2 : 1;
    return 0;
}

/* (d) SIGKILL a peer with a node; time until the survivors' view shows it
 * dead, and until the node is reclaimed. */
static int bench_reclaim(const rpc_config *cfg, struct series *dead, struct series *gone)
{
    size_t t;
    for (t = 0; t < gone->n; t++) {
        char node[32];
        int cmd_fd, state, rc = 0;
        uint64_t t0, deadline;
        pid_t pid;
        snprintf(node, sizeof node, "victim-%zu", t);
        if ((pid = spawn_holder(cfg, node, &cmd_fd)) < 0)
            return -1;
        if (node_state(cfg, node) != 2) {
            fprintf(stderr, "bench_lifecycle: %s is not listed alive\n", node);
            rc = -1;
        }
        /* Survivors sweep on their own 100 ms timers.  Trials started back
         * to back would lock onto that phase and always wait the same; a
         * random pause spreads the kills over the sweep period. */
        sleep_ns(random_below(RECLAIM_PHASE_NS));
        t0 = now_ns();
        kill(pid, SIGKILL);
        deadline = t0 + PEER_TIMEOUT_NS;
        dead->ns[t] = 0;
        while (rc == 0 && (state = node_state(cfg, node)) != 0) {
            uint64_t t1 = now_ns();
            if (state < 0 || t1 > deadline) {
                fprintf(stderr, "bench_lifecycle: %s not reclaimed in time\n", node);
                rc = -1;
                break;
            }
            if (state == 1 && dead->ns[t] == 0)
                dead->ns[t] = t1 - t0;
            sleep_ns(RECLAIM_POLL_NS);
        }
        gone->ns[t] = now_ns() - t0;
        if (dead->ns[t] == 0)   /* reclaimed before we saw it dead */
            dead->ns[t] = gone->ns[t];
        close(cmd_fd);
        waitpid(pid, NULL, 0);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- main ----------------------------------------------------------------- */

struct options {
    long iterations;
    long warmup;
    long kill_trials;
    int manual;        /* --receive manual */
    long spin_us;      /* --spin-us, -2: the default */
    long max_subs;     /* --max-subs, 0: the default */
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench_lifecycle [--iterations N] [--kill-trials N] [--quick] [--name /NAME]\n"
            "                       [--receive thread|manual] [--spin-us N] [--max-subs N]\n"
            "  --iterations N   samples per measurement (default %ld)\n"
            "  --kill-trials N  SIGKILL trials for the reclaim time (default %d)\n"
            "  --quick          %ld iterations, %d trials: a smoke run\n"
            "  --name /NAME     segment name (default /librpc_bench_<pid>)\n"
            "configuration of the nodes and segments (default: the library's):\n"
            "  --receive thread|manual  receive mode of the nodes\n"
            "  --spin-us N      receivers' spin before sleeping (-1: never sleep)\n"
            "  --max-subs N     subscription-table size of the segments\n",
            DEFAULT_ITERATIONS, DEFAULT_KILL_TRIALS, QUICK_ITERATIONS, QUICK_KILL_TRIALS);
}

static int parse_count(const char *s, long *out)
{
    char *end;
    long v;
    if (s == NULL)
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < 1 || v > 100000000L)
        return -1;
    *out = v;
    return 0;
}

static int parse_args(int argc, char **argv, struct options *o)
{
    int i;
    o->iterations = DEFAULT_ITERATIONS;
    o->kill_trials = DEFAULT_KILL_TRIALS;
    o->manual = 0;
    o->spin_us = -2;
    o->max_subs = 0;
    snprintf(g_name, sizeof g_name, "/librpc_bench_%ld", (long)getpid());
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--iterations") == 0) {
            if (parse_count(argv[++i], &o->iterations) != 0)
                return -1;
        } else if (strcmp(argv[i], "--kill-trials") == 0) {
            if (parse_count(argv[++i], &o->kill_trials) != 0)
                return -1;
        } else if (strcmp(argv[i], "--quick") == 0) {
            o->iterations = QUICK_ITERATIONS;
            o->kill_trials = QUICK_KILL_TRIALS;
        } else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc) {
            snprintf(g_name, sizeof g_name, "%s", argv[++i]);
        } else if (strcmp(argv[i], "--receive") == 0 && i + 1 < argc) {
            i++;
            if (strcmp(argv[i], "manual") != 0 && strcmp(argv[i], "thread") != 0)
                return -1;
            o->manual = strcmp(argv[i], "manual") == 0;
        } else if (strcmp(argv[i], "--spin-us") == 0 && i + 1 < argc) {
            if (strcmp(argv[++i], "-1") == 0)
                o->spin_us = -1;
            else if (strcmp(argv[i], "0") == 0)
                o->spin_us = 0;
            else if (parse_count(argv[i], &o->spin_us) != 0)
                return -1;
        } else if (strcmp(argv[i], "--max-subs") == 0) {
            if (parse_count(argv[++i], &o->max_subs) != 0)
                return -1;
        } else if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            exit(0);
        } else {
            return -1;
        }
    }
    /* A tenth of the run, at most 1000, to fault in pages and warm caches. */
    o->warmup = o->iterations / 10 < 1000 ? o->iterations / 10 : 1000;
    if (o->warmup < 10)
        o->warmup = 10;
    return 0;
}

static int alloc_series(struct series *s, const char *label, size_t n)
{
    s->label = label;
    s->n = n;
    s->ns = calloc(n, sizeof *s->ns);
    return s->ns != NULL ? 0 : -1;
}

/* "model name : AMD EPYC ..." from /proc/cpuinfo, where there is one. */
static void cpu_model(char *out, size_t len)
{
    char line[256];
    FILE *f = fopen("/proc/cpuinfo", "r");
    snprintf(out, len, "unknown CPU");
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) == 0 && colon != NULL) {
            snprintf(out, len, "%s", colon + 2);
            out[strcspn(out, "\n")] = '\0';
            break;
        }
    }
    if (f != NULL)
        fclose(f);
}

static void print_machine(const struct options *o)
{
    struct utsname u;
    char cpu[128];
    printf("librpc %s bench_lifecycle: segment %s, %ld iterations (+%ld warm-up), "
           "%ld kill trials\n", rpc_version(), g_name, o->iterations, o->warmup, o->kill_trials);
    printf("configuration: receive %s", o->manual ? "manual" : "thread");
    if (o->spin_us != -2)
        printf(", spin %ld us", o->spin_us);
    if (o->max_subs != 0)
        printf(", max subs %ld", o->max_subs);
    printf("%s\n", o->spin_us == -2 && o->max_subs == 0 ? " (library defaults)" : "");
    cpu_model(cpu, sizeof cpu);
    if (uname(&u) == 0)
        printf("%s, %ld CPUs online, %s %s %s\n\n", cpu, sysconf(_SC_NPROCESSORS_ONLN),
               u.sysname, u.release, u.machine);
}

enum { A_LOCAL, A_REMOTE, B_ACTIVE, B_LIST, C_FIRST_LAST, D_DEAD, D_GONE, NROWS };

/* Run the phases in an order that needs each segment state once:
 * keeper elsewhere -> plus keeper here -> kills -> nobody -> fresh each time. */
static int run(const rpc_config *cfg, const struct options *o, struct series *rows)
{
    rpc_node *keeper = NULL;
    pid_t keeper_pid;
    int rc, left;
    if ((keeper_pid = spawn_holder(cfg, "keeper-remote", &g_keeper_cmd)) < 0)
        return -1;
    rc = bench_create_destroy(cfg, o->warmup, &rows[A_REMOTE], 0);
    if (rc == 0 && (rc = rpc_node_create(cfg, "keeper-local", &keeper)) != 0)
        rc = fail("rpc_node_create", rc);
    if (rc == 0)
        rc = bench_create_destroy(cfg, o->warmup, &rows[A_LOCAL], 0);
    if (rc == 0)
        rc = bench_active(cfg, o->warmup, &rows[B_ACTIVE], 2);
    if (rc == 0)
        rc = bench_list(cfg, o->warmup, &rows[B_LIST], 2);
    if (rc == 0)
        rc = bench_reclaim(cfg, &rows[D_DEAD], &rows[D_GONE]);
    if (keeper != NULL && (left = rpc_node_destroy(keeper)) != 0 && rc == 0)
        rc = fail("rpc_node_destroy", left);
    if (stop_holder(keeper_pid, g_keeper_cmd) != 0 && rc == 0) {
        fprintf(stderr, "bench_lifecycle: the keeper process failed\n");
        rc = -1;
    }
    g_keeper_cmd = -1;
    /* Both keepers gone: the last one out must have removed the segment. */
    if (rc == 0 && (left = rpc_domain_active_nodes(cfg)) != RPC_ENOENT) {
        fprintf(stderr, "bench_lifecycle: segment %s left after its last node (%d)\n",
                g_name, left);
        rc = -1;
    }
    if (rc == 0)
        rc = bench_create_destroy(cfg, o->warmup, &rows[C_FIRST_LAST], 1);
    return rc;
}

int main(int argc, char **argv)
{
    struct series rows[NROWS];
    struct options o;
    struct sigaction sa;
    rpc_config *cfg = NULL;
    int rc, i;

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (parse_args(argc, argv, &o) != 0) {
        usage(stderr);
        return 2;
    }
    if ((rc = rpc_config_create(&cfg)) != 0 || (rc = rpc_config_set_shm_name(cfg, g_name)) != 0 ||
        (o.manual && (rc = rpc_config_set_receive_mode(cfg, RPC_RECEIVE_MANUAL)) != 0) ||
        (o.spin_us != -2 && (rc = rpc_config_set_spin_us(cfg, (int)o.spin_us)) != 0) ||
        (o.max_subs != 0 && (rc = rpc_config_set_max_subs(cfg, (unsigned)o.max_subs)) != 0)) {
        fail("configuration", rc);
        rpc_config_destroy(cfg);
        return 2;
    }
    if ((rc = rpc_domain_active_nodes(cfg)) != RPC_ENOENT) {
        fprintf(stderr, "bench_lifecycle: segment %s exists already; choose another --name\n",
                g_name);
        rpc_config_destroy(cfg);
        return 2;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGPIPE, &sa, NULL);   /* e.g. piped into head */

    memset(rows, 0, sizeof rows);
    rc = alloc_series(&rows[A_LOCAL], "(a) create+destroy, process attached", (size_t)o.iterations)
       | alloc_series(&rows[A_REMOTE], "(a') create+destroy, joins existing segment",
                      (size_t)o.iterations)
       | alloc_series(&rows[B_ACTIVE], "(b) rpc_domain_active_nodes", (size_t)o.iterations)
       | alloc_series(&rows[B_LIST], "(b') rpc_domain_list_nodes", (size_t)o.iterations)
       | alloc_series(&rows[C_FIRST_LAST], "(c) first join + last leave", (size_t)o.iterations)
       | alloc_series(&rows[D_DEAD], "(d) SIGKILLed peer seen dead", (size_t)o.kill_trials)
       | alloc_series(&rows[D_GONE], "(d') SIGKILLed peer's node reclaimed",
                      (size_t)o.kill_trials);
    if (rc != 0) {
        fprintf(stderr, "bench_lifecycle: out of memory\n");
    } else {
        print_machine(&o);
        rc = run(cfg, &o, rows);
    }
    if (rc == 0) {
        print_table(rows, NROWS);
        printf("\n");
        print_target("node create+destroy (a)", &rows[A_LOCAL], 50000);
        print_target("active-node query (b)", &rows[B_ACTIVE], 5000);
    }
    /* Whatever happened, leave no segment behind. */
    if (rpc_domain_cleanup(cfg, 0) == 0) {
        fprintf(stderr, "bench_lifecycle: removed a leftover segment %s\n", g_name);
        rc = -1;
    }
    for (i = 0; i < NROWS; i++)
        free(rows[i].ns);
    rpc_config_destroy(cfg);
    return rc == 0 ? 0 : 1;
}
