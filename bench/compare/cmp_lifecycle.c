/*
 * cmp_lifecycle.c - bench_compare_lifecycle: what joining, leaving and a
 * crash cost, librpc beside iceoryx 2.0 (C binding, RouDi running).
 *
 * Join/leave: each sample is a fresh forked process that times three steps,
 * so both systems start from the same cold state:
 *
 *   join       librpc: rpc_node_create() in a domain another process keeps
 *              alive (the process attaches to the segment and registers a
 *              node; a second row: the node creates the segment itself).
 *              iceoryx: iox_runtime_init() (the application registers with
 *              RouDi and maps its shared memory).
 *   endpoints  librpc: rpc_subscribe() (a node publishes without set-up).
 *              iceoryx: iox_pub_init() + iox_sub_init() on one service,
 *              until the subscriber is SUBSCRIBED and the publisher sees it.
 *   leave      librpc: rpc_unsubscribe() + rpc_node_destroy() (the process
 *              detaches; with no keeper the segment is removed).
 *              iceoryx: iox_sub_deinit() + iox_pub_deinit().  The runtime
 *              itself cannot leave: the 2.0 C binding has no call for it,
 *              it deregisters when the process exits; not counted.
 *
 * Crash: a peer is SIGKILLed at a random moment; a survivor (another
 * process, set up beforehand) notes when it knows.  From kill() to:
 *
 *   librpc, query   rpc_domain_active_nodes() in the survivor, polled every
 *                   50 us, drops (liveness is a kernel lock: at once);
 *   librpc, event   the survivor's rpc_node_set_event_cb() gets
 *                   RPC_EVENT_NODE_DIED (after a background sweep, ~100 ms);
 *   iceoryx         RouDi removes a dead application's ports once its
 *                   keep-alive times out (1.5 s in 2.0; RouDi must run with
 *                   monitoring on, its default).  The victim offers a
 *                   service and subscribes to one of the survivor's; the
 *                   survivor polls (1 ms) until the victim's offer is gone
 *                   from service discovery and until its own publisher's
 *                   iox_pub_has_subscribers() turns false.  (A subscriber
 *                   of the dead publisher is no signal: in 2.0.3 its state
 *                   stays SUBSCRIBED.)
 *
 * Also, at the start of each run, the CPU the RouDi daemon itself uses
 * while no application of ours is attached (its threads' schedstat run
 * time over 2 s): a cost of iceoryx that no end's getrusage() contains.
 *
 * Every measure is repeated in --runs runs (at least 3): the table gives
 * the median of the runs' medians, the median of their P99s (nearest rank;
 * with few samples that is the maximum) and the spread (largest minus
 * smallest run median, relative to the median).  Usage:
 *
 *   bench_compare_lifecycle [--runs N] [--samples N] [--kills N] [--quick]
 *
 * Exit status 0 when everything worked and the private domain is gone.
 */
#define _GNU_SOURCE
#include "cmp.h"

#include <librpc/librpc.h>

#ifdef CMP_HAVE_ICEORYX
#include <iceoryx_binding_c/log.h>
#include <iceoryx_binding_c/publisher.h>
/* runtime.h declares iox_runtime_shutdown() without (void). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <iceoryx_binding_c/runtime.h>
#pragma GCC diagnostic pop
#include <iceoryx_binding_c/service_discovery.h>
#include <iceoryx_binding_c/subscriber.h>
#endif

#include <dirent.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_RUNS 20
#define MAX_SAMPLES 1000
#define PEER_TIMEOUT_NS (20ull * 1000000000ull)
#define QUERY_POLL_NS 50000ll           /* librpc survivor's query poll */
#define STATE_POLL_NS 1000000ll         /* iceoryx survivor's poll (RouDi: 100 ms loop) */
#define ROUDI_SOCKET "/tmp/roudi"
#define GROUP "cmpl"

/* What parent and children share (MAP_SHARED, before fork). */
struct lsh {
    _Atomic uint32_t trial;             /* parent: the kill trial now set up */
    _Atomic uint32_t armed;             /* survivor: watching trial n */
    _Atomic uint32_t stop;              /* parent: helpers leave */
    _Atomic uint32_t victim_ready;
    _Atomic uint64_t seen_query, seen_event; /* librpc survivor's clocks */
    _Atomic uint64_t seen_state, seen_subs;  /* iceoryx survivor's clocks */
    uint64_t step[3];                   /* one join/leave sample: the three steps */
    _Atomic uint32_t failed;
    char err[256];
};

static struct lsh *g_sh;
static char g_domain[64];               /* private librpc domain */
static char g_instance[64];             /* private iceoryx instance */

/* ---- small things ---- */

static void sleep_ns(long long ns)
{
    struct timespec ts = { (time_t)(ns / 1000000000ll), (long)(ns % 1000000000ll) };
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static void child_fail(const char *fmt, const char *what, int rc)
{
    if (atomic_fetch_add(&g_sh->failed, 1) == 0)
        snprintf(g_sh->err, sizeof g_sh->err, fmt, what, rc, rpc_strerror(rc), rpc_errdetail());
}

#define LFAIL(what, rc) child_fail("%s: %d %s (%s)", what, rc)

#ifdef CMP_HAVE_ICEORYX
static void child_msg(const char *msg)
{
    if (atomic_fetch_add(&g_sh->failed, 1) == 0)
        snprintf(g_sh->err, sizeof g_sh->err, "%s", msg);
}
#endif

/* Fork a helper that dies with us; fn's result is its exit status. */
static pid_t spawn(int (*fn)(void *), void *arg)
{
    pid_t pid;
    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        /* exit(), not _exit(): an iceoryx runtime deregisters at exit. */
        exit(fn(arg) == 0 ? 0 : 1);
    }
    return pid;
}

static int reap(pid_t pid)
{
    int st;
    if (pid <= 0 || waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* Wait until *w reaches v (or a helper failed); 0 or -1 after 20 s. */
static int wait_word(_Atomic uint32_t *w, uint32_t v)
{
    uint64_t deadline = cmp_now() + PEER_TIMEOUT_NS;
    while (atomic_load(w) < v) {
        if (atomic_load(&g_sh->failed) || cmp_now() > deadline)
            return -1;
        sleep_ns(100000);
    }
    return 0;
}

static int wait_u64(_Atomic uint64_t *w)
{
    uint64_t deadline = cmp_now() + PEER_TIMEOUT_NS;
    while (atomic_load(w) == 0) {
        if (atomic_load(&g_sh->failed) || cmp_now() > deadline)
            return -1;
        sleep_ns(100000);
    }
    return 0;
}

#ifdef CMP_HAVE_ICEORYX
/* iox_runtime_init() would wait 60 s for a missing RouDi and then abort. */
static int roudi_running(void)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), ok;
    if (fd < 0)
        return 0;
    snprintf(a.sun_path, sizeof a.sun_path, "%s", ROUDI_SOCKET);
    ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}
#endif

static rpc_config *domain_config(void)
{
    rpc_config *cfg = NULL;
    if (rpc_config_create(&cfg) != 0 || rpc_config_set_shm_name(cfg, g_domain) != 0) {
        rpc_config_destroy(cfg);
        return NULL;
    }
    return cfg;
}

/* ---- statistics ---- */

struct series {
    uint64_t *v[MAX_RUNS];              /* samples per run */
    size_t n[MAX_RUNS];
    unsigned runs;
};

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t percentile(const uint64_t *sorted, size_t n, double p)
{
    size_t rank = (size_t)(p * (double)n + 0.999999);
    rank = rank < 1 ? 1 : rank > n ? n : rank;
    return sorted[rank - 1];
}

static void add(struct series *s, unsigned run, uint64_t ns)
{
    if (s->v[run] == NULL)
        s->v[run] = calloc(MAX_SAMPLES, sizeof(uint64_t));
    if (s->v[run] != NULL && s->n[run] < MAX_SAMPLES)
        s->v[run][s->n[run]++] = ns;
    if (run + 1 > s->runs)
        s->runs = run + 1;
}

struct summary {
    uint64_t p50, p99;
    double spread;                      /* (max - min) run median / median */
    size_t samples;
    unsigned runs;
};

static int summarize(struct series *s, struct summary *out)
{
    uint64_t med[MAX_RUNS], p99[MAX_RUNS];
    unsigned k = 0;
    memset(out, 0, sizeof *out);
    for (unsigned r = 0; r < s->runs; r++) {
        if (s->n[r] == 0)
            continue;
        qsort(s->v[r], s->n[r], sizeof(uint64_t), cmp_u64);
        med[k] = percentile(s->v[r], s->n[r], 0.5);
        p99[k] = percentile(s->v[r], s->n[r], 0.99);
        out->samples += s->n[r];
        k++;
    }
    if (k == 0)
        return -1;
    qsort(med, k, sizeof med[0], cmp_u64);
    qsort(p99, k, sizeof p99[0], cmp_u64);
    out->p50 = percentile(med, k, 0.5);
    out->p99 = percentile(p99, k, 0.5);
    out->spread = out->p50 ? (double)(med[k - 1] - med[0]) / (double)out->p50 : 0;
    out->runs = k;
    return 0;
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
        snprintf(buf, len, "%.0f ms", (double)ns / 1e6);
    return buf;
}

/* ---- join / endpoints / leave samples (each in a fresh process) ---- */

static void noop_cb(rpc_node *n, const rpc_message *m, void *u)
{
    (void)n, (void)m, (void)u;
}

static int sample_librpc(void *unused)
{
    rpc_config *cfg = domain_config();
    rpc_node *node = NULL;
    uint64_t t0, t1, t2, t3;
    int rc;
    (void)unused;
    if (cfg == NULL)
        return LFAIL("rpc_config", RPC_ENOMEM), -1;
    t0 = cmp_now();
    if ((rc = rpc_node_create(cfg, NULL, &node)) != 0)
        return LFAIL("rpc_node_create", rc), -1;
    t1 = cmp_now();
    if ((rc = rpc_subscribe(node, GROUP, "life", noop_cb, NULL)) != 0)
        return LFAIL("rpc_subscribe", rc), -1;
    t2 = cmp_now();
    rpc_unsubscribe(node, GROUP, "life");
    if ((rc = rpc_node_destroy(node)) != 0)
        return LFAIL("rpc_node_destroy", rc), -1;
    t3 = cmp_now();
    g_sh->step[0] = t1 - t0;
    g_sh->step[1] = t2 - t1;
    g_sh->step[2] = t3 - t2;
    rpc_config_destroy(cfg);
    return 0;
}

/* Keeps the domain alive while the librpc samples join and leave it. */
static int keeper(void *unused)
{
    rpc_config *cfg = domain_config();
    rpc_node *node = NULL;
    int rc;
    (void)unused;
    if (cfg == NULL || (rc = rpc_node_create(cfg, "keeper", &node)) != 0)
        return LFAIL("keeper: rpc_node_create", cfg ? rc : RPC_ENOMEM), -1;
    atomic_store(&g_sh->victim_ready, 1);
    while (!atomic_load(&g_sh->stop))
        sleep_ns(10000000);
    rc = rpc_node_destroy(node);
    rpc_config_destroy(cfg);
    return rc;
}

#ifdef CMP_HAVE_ICEORYX
static int sample_iceoryx(void *unused)
{
    char app[64];
    iox_pub_storage_t pm;
    iox_sub_storage_t sm;
    iox_pub_t pub;
    iox_sub_t sub;
    uint64_t t0, t1, t2, t3, deadline;
    (void)unused;
    iox_set_loglevel(Iceoryx_LogLevel_Warn);
    snprintf(app, sizeof app, "cmpl-%ld", (long)getpid());
    t0 = cmp_now();
    iox_runtime_init(app);
    t1 = cmp_now();
    pub = iox_pub_init(&pm, GROUP, g_instance, app, NULL);
    sub = iox_sub_init(&sm, GROUP, g_instance, app, NULL);
    deadline = t1 + PEER_TIMEOUT_NS;
    while (iox_sub_get_subscription_state(sub) != SubscribeState_SUBSCRIBED ||
           !iox_pub_has_subscribers(pub)) {
        if (cmp_now() > deadline)
            return child_msg("iceoryx: publisher and subscriber not connected after 20 s"), -1;
        sched_yield();
    }
    t2 = cmp_now();
    iox_sub_deinit(sub);
    iox_pub_deinit(pub);
    t3 = cmp_now();
    g_sh->step[0] = t1 - t0;
    g_sh->step[1] = t2 - t1;
    g_sh->step[2] = t3 - t2;
    return 0;
}
#endif

/* One sample in a fresh process; adds its three steps and their sum. */
static int join_sample(int (*fn)(void *), struct series *s, unsigned run)
{
    memset(g_sh->step, 0, sizeof g_sh->step);
    if (reap(spawn(fn, NULL)) != 0)
        return -1;
    for (int i = 0; i < 3; i++)
        add(&s[i], run, g_sh->step[i]);
    add(&s[3], run, g_sh->step[0] + g_sh->step[1] + g_sh->step[2]);
    return 0;
}

/* ---- crash detection ---- */

static uint64_t g_victim_trial;         /* which trial a victim serves */

static void victim_name(char *out, size_t len, uint32_t trial)
{
    snprintf(out, len, "victim-%u", trial);
}

/* Only the death of the victim being watched counts. */
static void survivor_event(rpc_node *n, const rpc_node_event *ev, void *u)
{
    char name[32];
    (void)n, (void)u;
    victim_name(name, sizeof name, atomic_load(&g_sh->armed));
    if (ev->kind == RPC_EVENT_NODE_DIED && strcmp(ev->name, name) == 0)
        atomic_store(&g_sh->seen_event, cmp_now());
}

/* librpc survivor: arms itself when the trial's victim is there, then
 * notes when the query and the event tell it is dead. */
static int survivor_librpc(void *unused)
{
    rpc_config *cfg = domain_config();
    rpc_node *node = NULL;
    uint32_t watching = 0;
    int rc;
    (void)unused;
    if (cfg == NULL || (rc = rpc_node_create(cfg, "survivor", &node)) != 0)
        return LFAIL("survivor: rpc_node_create", cfg ? rc : RPC_ENOMEM), -1;
    if ((rc = rpc_node_set_event_cb(node, survivor_event, NULL)) != 0)
        return LFAIL("rpc_node_set_event_cb", rc), -1;
    while (!atomic_load(&g_sh->stop)) {
        uint32_t t = atomic_load(&g_sh->trial);
        int live = rpc_domain_active_nodes(cfg);
        if (live < 0)
            return LFAIL("rpc_domain_active_nodes", live), -1;
        if (t != watching && live >= 2) {
            watching = t;
            atomic_store(&g_sh->seen_query, 0);
            atomic_store(&g_sh->seen_event, 0);
            atomic_store(&g_sh->armed, t);
        } else if (t == watching && live < 2 && atomic_load(&g_sh->seen_query) == 0) {
            atomic_store(&g_sh->seen_query, cmp_now());
        }
        sleep_ns(QUERY_POLL_NS);
    }
    rc = rpc_node_destroy(node);
    rpc_config_destroy(cfg);
    return rc;
}

static int victim_librpc(void *unused)
{
    rpc_config *cfg = domain_config();
    rpc_node *node = NULL;
    char name[32];
    int rc;
    (void)unused;
    victim_name(name, sizeof name, (uint32_t)g_victim_trial);
    if (cfg == NULL || (rc = rpc_node_create(cfg, name, &node)) != 0)
        return LFAIL("victim: rpc_node_create", cfg ? rc : RPC_ENOMEM), -1;
    atomic_store(&g_sh->victim_ready, 1);
    while (!atomic_load(&g_sh->stop))
        pause();                        /* until SIGKILL */
    return 0;
}

#ifdef CMP_HAVE_ICEORYX
/* The trial's services: the victim offers "kill<n>" and subscribes to the
 * survivor's "back<n>". */
static void iox_event_name(char *out, size_t len, const char *what, uint32_t trial)
{
    snprintf(out, len, "%s%u", what, trial);
}

/* Does RouDi's service registry (as this process last saw it) hold the
 * offer of event ev? */
static int iox_offered(iox_service_discovery_t d, const char *ev)
{
    iox_service_description_t found[1];
    uint64_t missed = 0;
    return iox_service_discovery_find_service(d, GROUP, g_instance, ev, found, 1, &missed,
                                              MessagingPattern_PUB_SUB) + missed > 0;
}

/* Watch one victim: armed once its offer is visible and it subscribed to
 * our publisher; then note when each disappears. */
static void survivor_iceoryx_trial(iox_service_discovery_t d, uint32_t t)
{
    char kill_ev[32], back_ev[32];
    iox_pub_storage_t pm;
    iox_pub_t pub;
    iox_event_name(kill_ev, sizeof kill_ev, "kill", t);
    iox_event_name(back_ev, sizeof back_ev, "back", t);
    pub = iox_pub_init(&pm, GROUP, g_instance, back_ev, NULL);
    while (!(iox_offered(d, kill_ev) && iox_pub_has_subscribers(pub)) && !atomic_load(&g_sh->stop))
        sleep_ns(STATE_POLL_NS);
    atomic_store(&g_sh->seen_state, 0);
    atomic_store(&g_sh->seen_subs, 0);
    atomic_store(&g_sh->armed, t);
    while (!(atomic_load(&g_sh->seen_state) && atomic_load(&g_sh->seen_subs)) &&
           !atomic_load(&g_sh->stop)) {
        if (!atomic_load(&g_sh->seen_state) && !iox_offered(d, kill_ev))
            atomic_store(&g_sh->seen_state, cmp_now());
        if (!atomic_load(&g_sh->seen_subs) && !iox_pub_has_subscribers(pub))
            atomic_store(&g_sh->seen_subs, cmp_now());
        sleep_ns(STATE_POLL_NS);
    }
    iox_pub_deinit(pub);
}

static int survivor_iceoryx(void *unused)
{
    char app[64];
    uint32_t watching = 0;
    iox_service_discovery_storage_t ds;
    iox_service_discovery_t d;
    (void)unused;
    iox_set_loglevel(Iceoryx_LogLevel_Error);
    snprintf(app, sizeof app, "cmpl-survivor-%ld", (long)getpid());
    iox_runtime_init(app);
    d = iox_service_discovery_init(&ds);
    while (!atomic_load(&g_sh->stop)) {
        uint32_t t = atomic_load(&g_sh->trial);
        if (t == watching) {
            sleep_ns(1000000);
            continue;
        }
        watching = t;
        survivor_iceoryx_trial(d, t);
    }
    iox_service_discovery_deinit(d);
    return 0;
}

static int victim_iceoryx(void *unused)
{
    char app[64], kill_ev[32], back_ev[32];
    iox_pub_storage_t pm;
    iox_sub_storage_t sm;
    (void)unused;
    iox_set_loglevel(Iceoryx_LogLevel_Error);
    snprintf(app, sizeof app, "cmpl-victim-%ld", (long)getpid());
    iox_runtime_init(app);
    iox_event_name(kill_ev, sizeof kill_ev, "kill", (uint32_t)g_victim_trial);
    iox_event_name(back_ev, sizeof back_ev, "back", (uint32_t)g_victim_trial);
    iox_pub_init(&pm, GROUP, g_instance, kill_ev, NULL);
    iox_sub_init(&sm, GROUP, g_instance, back_ev, NULL);
    atomic_store(&g_sh->victim_ready, 1);
    while (!atomic_load(&g_sh->stop))
        pause();                        /* until SIGKILL */
    return 0;
}
#endif

/* One kill: start the victim, wait until the survivor watches it (it
 * clears its clocks as it arms), wait a random part of period_ns (the
 * other side's polling period), kill. */
static int kill_trial(int (*victim)(void *), uint32_t trial, uint64_t period_ns,
                      uint64_t *t_kill)
{
    pid_t pid;
    atomic_store(&g_sh->victim_ready, 0);
    g_victim_trial = trial;
    if ((pid = spawn(victim, NULL)) < 0)
        return -1;
    atomic_store(&g_sh->trial, trial);
    if (wait_word(&g_sh->victim_ready, 1) != 0 || wait_word(&g_sh->armed, trial) != 0) {
        kill(pid, SIGKILL);
        reap(pid);
        return -1;
    }
    sleep_ns((long long)((uint64_t)rand() % (period_ns / 1000 + 1)) * 1000);
    *t_kill = cmp_now();
    kill(pid, SIGKILL);
    reap(pid);
    return 0;
}

static int crash_librpc(struct series *query, struct series *event, unsigned run, unsigned kills)
{
    static uint32_t trial;
    uint64_t t;
    int rc = 0;
    pid_t surv;
    atomic_store(&g_sh->stop, 0);
    atomic_store(&g_sh->armed, 0);
    atomic_store(&g_sh->trial, 0);
    if ((surv = spawn(survivor_librpc, NULL)) < 0)
        return -1;
    for (unsigned i = 0; i < kills && rc == 0; i++) {
        rc = kill_trial(victim_librpc, ++trial, 100000000ull, &t);
        if (rc == 0)
            rc = wait_u64(&g_sh->seen_query) | wait_u64(&g_sh->seen_event);
        if (rc == 0) {
            add(query, run, atomic_load(&g_sh->seen_query) - t);
            add(event, run, atomic_load(&g_sh->seen_event) - t);
        }
    }
    atomic_store(&g_sh->stop, 1);
    return reap(surv) | rc;
}

#ifdef CMP_HAVE_ICEORYX
static int crash_iceoryx(struct series *offer, struct series *subs, unsigned run,
                         unsigned kills)
{
    static uint32_t trial;
    uint64_t t;
    int rc = 0;
    pid_t surv;
    atomic_store(&g_sh->stop, 0);
    atomic_store(&g_sh->armed, 0);
    atomic_store(&g_sh->trial, 0);
    if ((surv = spawn(survivor_iceoryx, NULL)) < 0)
        return -1;
    for (unsigned i = 0; i < kills && rc == 0; i++) {
        rc = kill_trial(victim_iceoryx, ++trial, 300000000ull, &t);
        if (rc == 0)
            rc = wait_u64(&g_sh->seen_state) | wait_u64(&g_sh->seen_subs);
        if (rc == 0) {
            add(offer, run, atomic_load(&g_sh->seen_state) - t);
            add(subs, run, atomic_load(&g_sh->seen_subs) - t);
        }
    }
    atomic_store(&g_sh->stop, 1);
    return reap(surv) | rc;
}
#endif

/* ---- RouDi's own CPU ---- */

#ifdef CMP_HAVE_ICEORYX
/* The pid of the running iox-roudi (by its comm), or 0. */
static pid_t find_roudi(void)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    pid_t found = 0;
    while (d != NULL && found == 0 && (e = readdir(d)) != NULL) {
        char path[300], comm[32] = "";
        FILE *f;
        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%s/comm", e->d_name);
        if ((f = fopen(path, "r")) == NULL)
            continue;
        if (fgets(comm, sizeof comm, f) != NULL && strcmp(comm, "iox-roudi\n") == 0)
            found = (pid_t)atol(e->d_name);
        fclose(f);
    }
    if (d != NULL)
        closedir(d);
    return found;
}

/* Run time (ns) of all the threads of pid, from their schedstat. */
static uint64_t process_run_ns(pid_t pid)
{
    char path[300];
    struct dirent *e;
    uint64_t sum = 0;
    DIR *d;
    snprintf(path, sizeof path, "/proc/%ld/task", (long)pid);
    if ((d = opendir(path)) == NULL)
        return 0;
    while ((e = readdir(d)) != NULL) {
        unsigned long long ns;
        FILE *f;
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "/proc/%ld/task/%s/schedstat", (long)pid, e->d_name);
        if ((f = fopen(path, "r")) == NULL)
            continue;
        if (fscanf(f, "%llu", &ns) == 1)
            sum += ns;
        fclose(f);
    }
    closedir(d);
    return sum;
}

/* RouDi's CPU while no iceoryx application of ours runs, as ns of run
 * time per second of wall time. */
static void roudi_idle(struct series *s, unsigned run, uint64_t window_ns)
{
    pid_t pid = find_roudi();
    uint64_t c0, t0;
    if (pid == 0)
        return;
    c0 = process_run_ns(pid);
    t0 = cmp_now();
    sleep_ns((long long)window_ns);
    add(s, run, (process_run_ns(pid) - c0) * 1000000000ull / (cmp_now() - t0));
}
#endif

/* ---- the report ---- */

enum {
    S_RPC_JOIN, S_RPC_EP, S_RPC_LEAVE, S_RPC_SUM,
    S_RPC1_JOIN, S_RPC1_EP, S_RPC1_LEAVE, S_RPC1_SUM,
    S_IOX_JOIN, S_IOX_EP, S_IOX_LEAVE, S_IOX_SUM,
    S_RPC_QUERY, S_RPC_EVENT, S_IOX_OFFER, S_IOX_SUBS, S_COUNT,
    S_ROUDI_IDLE = S_COUNT, S_ALL
};

static const char *const g_label[S_COUNT] = {
    "join: librpc rpc_node_create (domain live)",
    "endpoints: librpc rpc_subscribe",
    "leave: librpc rpc_unsubscribe + rpc_node_destroy",
    "total: librpc join + endpoints + leave",
    "join: librpc rpc_node_create (creates the segment)",
    "endpoints: librpc rpc_subscribe (own segment)",
    "leave: librpc unsubscribe + destroy (removes the segment)",
    "total: librpc, segment created and removed",
    "join: iceoryx iox_runtime_init",
    "endpoints: iceoryx pub + sub init until SUBSCRIBED",
    "leave: iceoryx sub + pub deinit (RouDi frees the ports later; runtime: only at exit)",
    "total: iceoryx join + endpoints + leave",
    "SIGKILLed peer seen: librpc rpc_domain_active_nodes (polled)",
    "SIGKILLed peer seen: librpc NODE_DIED event",
    "SIGKILLed peer seen: iceoryx, its offer gone from service discovery",
    "SIGKILLed peer seen: iceoryx, iox_pub_has_subscribers false",
};

static void print_machine(void)
{
    char line[256], model[256] = "unknown CPU";
    struct utsname u;
    time_t now = time(NULL);
    char date[32];
    FILE *f = fopen("/proc/cpuinfo", "r");
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        char *c = strchr(line, ':');
        if (strncmp(line, "model name", 10) == 0 && c != NULL) {
            snprintf(model, sizeof model, "%s", c + 2);
            model[strcspn(model, "\n")] = '\0';
            break;
        }
    }
    if (f != NULL)
        fclose(f);
    uname(&u);
    strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&now));
    printf("Machine: %s, %ld cores, Linux %s; %s.\n\n", model, sysconf(_SC_NPROCESSORS_ONLN),
           u.release, date);
}

static void print_report(struct series *s, int have_iox, unsigned runs)
{
    char a[32], b[32];
    struct summary m;
    printf("## Node life cycle and crash detection: librpc and iceoryx 2.0\n\n");
    print_machine();
    printf("%u runs; P50 = median of the runs' medians, P99 = median of the runs' P99s "
           "(nearest rank), spread = (largest - smallest run median) / P50.\n\n", runs);
    printf("| measure | P50 | P99 | spread | samples |\n|---|---:|---:|---:|---:|\n");
    for (int i = 0; i < S_COUNT; i++) {
        if (summarize(&s[i], &m) != 0) {
            if (!have_iox && i >= S_IOX_JOIN)
                printf("| %s | n/a | n/a | | 0 |\n", g_label[i]);
            continue;
        }
        printf("| %s | %s | %s | %.0f %% | %zu |\n", g_label[i], fmt_ns(a, sizeof a, m.p50),
               fmt_ns(b, sizeof b, m.p99), 100.0 * m.spread, m.samples);
    }
    if (!have_iox)
        printf("\niceoryx: not measured (%s).\n",
#ifdef CMP_HAVE_ICEORYX
               "RouDi is not running"
#else
               "built without iceoryx"
#endif
        );
    else {
        struct summary r, x;
        if (summarize(&s[S_RPC_SUM], &r) == 0 && summarize(&s[S_IOX_SUM], &x) == 0 && r.p50)
            printf("\niceoryx / librpc, join + endpoints + leave (P50): %.1fx\n",
                   (double)x.p50 / (double)r.p50);
        if (summarize(&s[S_RPC_EVENT], &r) == 0 && summarize(&s[S_IOX_OFFER], &x) == 0 && r.p50)
            printf("iceoryx / librpc event, crash noticed (P50): %.1fx\n",
                   (double)x.p50 / (double)r.p50);
        if (summarize(&s[S_ROUDI_IDLE], &x) == 0)
            printf("\nThe RouDi daemon (which every iceoryx application needs; librpc has "
                   "none) used %.3f %% of a core while no application ran (median of %u runs, "
                   "spread %.0f %%); no row above counts it.\n",
                   (double)x.p50 / 1e7, x.runs, 100.0 * x.spread);
    }
}

/* ---- main ---- */

struct opts {
    unsigned runs, samples, kills_rpc, kills_iox;
    uint64_t idle_ns;                   /* RouDi idle window per run */
};

static int parse(int argc, char **argv, struct opts *o)
{
    *o = (struct opts){ 3, 50, 5, 2, 2000000000ull };
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            *o = (struct opts){ 3, 10, 2, 1, 500000000ull };
        else if (i + 1 < argc && strcmp(argv[i], "--runs") == 0)
            o->runs = (unsigned)atoi(argv[++i]);
        else if (i + 1 < argc && strcmp(argv[i], "--samples") == 0)
            o->samples = (unsigned)atoi(argv[++i]);
        else if (i + 1 < argc && strcmp(argv[i], "--kills") == 0)
            o->kills_rpc = o->kills_iox = (unsigned)atoi(argv[++i]);
        else
            return -1;
    }
    if (o->runs < 3 || o->runs > MAX_RUNS || o->samples < 1 || o->samples > MAX_SAMPLES ||
        o->kills_rpc < 1 || o->kills_rpc > MAX_SAMPLES)
        return -1;
    return 0;
}

/* One run: librpc and iceoryx join/leave samples in turn (with a keeper
 * holding the librpc domain), librpc without a keeper, then the crash
 * trials. */
static int one_run(struct series *s, const struct opts *o, unsigned run, int have_iox)
{
    pid_t keep;
    int rc = 0;
    (void)have_iox;
#ifdef CMP_HAVE_ICEORYX
    if (have_iox)
        roudi_idle(&s[S_ROUDI_IDLE], run, o->idle_ns);
#endif
    atomic_store(&g_sh->stop, 0);
    atomic_store(&g_sh->victim_ready, 0);
    if ((keep = spawn(keeper, NULL)) < 0 || wait_word(&g_sh->victim_ready, 1) != 0)
        return -1;
    for (unsigned i = 0; i < o->samples && rc == 0; i++) {
        rc |= join_sample(sample_librpc, &s[S_RPC_JOIN], run);
#ifdef CMP_HAVE_ICEORYX
        if (have_iox && rc == 0)
            rc |= join_sample(sample_iceoryx, &s[S_IOX_JOIN], run);
#endif
    }
    atomic_store(&g_sh->stop, 1);
    rc |= reap(keep);
    for (unsigned i = 0; i < o->samples && rc == 0; i++)
        rc |= join_sample(sample_librpc, &s[S_RPC1_JOIN], run);
    if (rc == 0)
        rc = crash_librpc(&s[S_RPC_QUERY], &s[S_RPC_EVENT], run, o->kills_rpc);
#ifdef CMP_HAVE_ICEORYX
    if (have_iox && rc == 0)
        rc = crash_iceoryx(&s[S_IOX_OFFER], &s[S_IOX_SUBS], run, o->kills_iox);
#endif
    return rc;
}

int main(int argc, char **argv)
{
    static struct series s[S_ALL];
    struct opts o;
    int have_iox = 0, rc = 0;
    rpc_config *cfg;
    if (parse(argc, argv, &o) != 0) {
        fprintf(stderr, "usage: bench_compare_lifecycle [--runs N>=3] [--samples N] "
                        "[--kills N] [--quick]\n");
        return 2;
    }
    g_sh = mmap(NULL, sizeof *g_sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (g_sh == MAP_FAILED)
        return 1;
    snprintf(g_domain, sizeof g_domain, "/librpc_cmpl_%ld", (long)getpid());
    snprintf(g_instance, sizeof g_instance, "life%ld", (long)getpid());
    srand((unsigned)getpid());
#ifdef CMP_HAVE_ICEORYX
    have_iox = roudi_running();
#endif
    for (unsigned r = 0; r < o.runs && rc == 0; r++)
        rc = one_run(s, &o, r, have_iox);
    if ((cfg = domain_config()) != NULL) {
        rpc_domain_info info;
        if (rpc_domain_stat(cfg, &info) == 0 && info.exists) {
            fprintf(stderr, "bench_compare_lifecycle: %s was left behind\n", g_domain);
            rpc_domain_cleanup(cfg, 0);
            rc = -1;
        }
        rpc_config_destroy(cfg);
    }
    if (rc != 0) {
        fprintf(stderr, "bench_compare_lifecycle: failed: %s\n",
                g_sh->err[0] ? g_sh->err : "a helper process failed or timed out");
        return 1;
    }
    print_report(s, have_iox, o.runs);
    return 0;
}
