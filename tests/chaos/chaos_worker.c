/*
 * chaos_worker.c - one process of the chaos soak (chaos_driver starts it).
 *
 * It owns 1-3 nodes of the chaos domain.  Each node publishes checksummed,
 * sequence-numbered messages (chaos_common.h) on 1-3 topics in blocking mode,
 * a timeout on every call, and subscribes to 1-3 topics, checking every
 * message it gets: per stream (publisher node uid, topic) no loss, no
 * duplicate, no reordering, no corruption.  Gaps are legal only where the
 * checker can know a copy was not sent: the first message of a stream seen
 * by this subscriber, an epoch change (the publisher got an error for that
 * message and says so), or our own resubscription.  Every blocking call is
 * timed against its timeout (or, without one, the library's 10 s lock
 * deadline).
 *
 * The driver kills us at random moments.  SIGTERM (or SIGINT) only sets a
 * flag (it stays blocked until the handler is in place, so an early one is
 * not lost): the main thread then stops the threads, destroys the nodes
 * (timed too) and reports its verdict; the exit status is 1 if any
 * invariant broke.
 *
 * Threads: main (creates nodes, reports counters, re-creates a node now and
 * then), one publisher thread per node (which also churns that node's
 * subscriptions), and per node the library's receive thread or, for
 * RPC_RECEIVE_MANUAL nodes, a poll thread of ours.  A node's checker is
 * touched only by the one thread that runs its callbacks, so it needs no
 * lock; the counters are atomics.
 */
#include "chaos_common.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

/* ---- process-wide state ------------------------------------------------- */

static volatile sig_atomic_t g_stop;
static int g_report_fd = -1;
static const char *g_domain;
static unsigned g_index;
static unsigned g_slack_ms = 100;
static unsigned g_max_timeout_ms = 2000;
static _Atomic int64_t g_cnt[CC_COUNT];
static atomic_int g_elines;

/* Self-test of the checkers: break one invariant on purpose, once. */
enum inject { INJECT_NONE, INJECT_LOSS, INJECT_DUP, INJECT_REORDER, INJECT_CORRUPT };
static enum inject g_inject;
static atomic_int g_injected;

#define MAX_E_LINES 30

/* Bumped at every SIGCONT: the driver paused the whole process (SIGSTOP),
 * so a call that spanned the pause cannot be judged by the clock. */
static atomic_uint g_resumed;

static void on_signal(int sig)
{
    if (sig == SIGCONT)
        atomic_fetch_add_explicit(&g_resumed, 1, memory_order_relaxed);
    else
        g_stop = 1;
}

static void cnt_add(enum chaos_counter c, int64_t v)
{
    atomic_fetch_add_explicit(&g_cnt[c], v, memory_order_relaxed);
}

static void cnt_max(enum chaos_counter c, int64_t v)
{
    int64_t cur = atomic_load_explicit(&g_cnt[c], memory_order_relaxed);
    while (v > cur && !atomic_compare_exchange_weak_explicit(&g_cnt[c], &cur, v,
                                                             memory_order_relaxed,
                                                             memory_order_relaxed))
        ;
}

static void snapshot(int64_t out[CC_COUNT])
{
    unsigned i;
    for (i = 0; i < CC_COUNT; i++)
        out[i] = atomic_load_explicit(&g_cnt[i], memory_order_relaxed);
}

/* One line to the driver: a single write() below PIPE_BUF, so lines of
 * several threads never mix. */
static void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void report(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof line - 2)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    while (write(g_report_fd, line, (size_t)n) < 0) {
        if (errno != EINTR) {
            g_stop = 1;   /* the driver is gone: wind down */
            return;
        }
    }
}

static void report_counters(char tag)
{
    int64_t c[CC_COUNT];
    char buf[900];
    snapshot(c);
    chaos_format_counters(c, buf, sizeof buf);
    report("%c %s", tag, buf);
}

/* Count a violation of kind c and tell the driver (the first few in full). */
static void violation(enum chaos_counter c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void violation(enum chaos_counter c, const char *fmt, ...)
{
    char detail[800];
    va_list ap;
    cnt_add(c, 1);
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    if (atomic_fetch_add_explicit(&g_elines, 1, memory_order_relaxed) < MAX_E_LINES) {
        report("E %s w%u pid %d: %s", chaos_counter_names[c], g_index, (int)getpid(), detail);
        fprintf(stderr, "chaos_worker w%u (pid %d): %s: %s\n", g_index, (int)getpid(),
                chaos_counter_names[c], detail);
    }
}

/* ---- timing blocking calls ------------------------------------------------ */

/*
 * A call is late when it returns after its timeout plus the slack.  On a
 * loaded machine a thread may wait for a CPU long after the library let it
 * go, so the time the calling thread spent runnable but not running (its
 * run-queue delay, /proc/thread-self/schedstat) is not charged to the
 * call.  Time blocked inside the library (on a lock, a futex) still is.
 */
static _Thread_local int t_sched_fd = -2;   /* -2: not opened yet, -1: unavailable */
static int g_no_runq;                       /* --no-runq: do not look */
/* One descriptor per thread, kept open: opening the file for every call
 * fills the dentry cache under /proc/<pid>, which the kernel then has to
 * shrink when the threads exit and the process is reaped.  Even so, on a
 * loaded machine the /proc files make a SIGKILLed worker take up to
 * seconds to die; --no-runq measures without them. */

static uint64_t run_delay_ns(void)
{
    char buf[128];
    unsigned long long cpu, wait;
    ssize_t n;
    if (t_sched_fd == -2)
        t_sched_fd = g_no_runq ? -1 : open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
    if (t_sched_fd < 0)
        return 0;
    n = pread(t_sched_fd, buf, sizeof buf - 1, 0);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    return sscanf(buf, "%llu %llu", &cpu, &wait) == 2 ? (uint64_t)wait : 0;
}

static unsigned resumed(void)
{
    return atomic_load_explicit(&g_resumed, memory_order_relaxed);
}

static void run_delay_close(void)
{
    if (t_sched_fd >= 0)
        close(t_sched_fd);
    t_sched_fd = -2;
}

/* A call with a timeout argument: it must return within timeout + slack.
 * excluded_ns is time not the library's: our callbacks' sleeps inside it
 * (rpc_node_poll) and the thread's run-queue delay. */
static void timed_call(const char *call, const char *node, int timeout_ms, uint64_t elapsed_ns,
                       uint64_t excluded_ns, uint64_t runq_ns, unsigned resumed0,
                       const char *note)
{
    uint64_t own_ns = elapsed_ns > excluded_ns + runq_ns ? elapsed_ns - excluded_ns - runq_ns : 0;
    int64_t own_us = (int64_t)(own_ns / 1000u);
    int64_t excess_us = own_us - (int64_t)timeout_ms * 1000;
    cnt_add(CC_CALLS, 1);
    if (atomic_load_explicit(&g_resumed, memory_order_relaxed) != resumed0)
        return;   /* we were stopped meanwhile */
    cnt_max(CC_EXCESS_US, excess_us);
    cnt_max(CC_WALL_EXCESS_US, (int64_t)(elapsed_ns / 1000u) - (int64_t)timeout_ms * 1000);
    cnt_max(CC_MAX_RUNQ_US, (int64_t)(runq_ns / 1000u));
    if (excess_us > (int64_t)g_slack_ms * 1000)
        violation(CC_OVERRUN, "%s on %s: timeout %d ms, returned after %.1f ms (%.1f ms waiting "
                  "for a CPU and %.1f ms in our callbacks not counted)%s", call, node, timeout_ms,
                  (double)elapsed_ns / 1e6, (double)runq_ns / 1e6, (double)excluded_ns / 1e6, note);
}

/* A call without a timeout argument: bounded by the life-cycle lock deadline. */
static void bounded_call(const char *call, const char *node, uint64_t t0, unsigned resumed0)
{
    int64_t us = (int64_t)((chaos_mono_ns() - t0) / 1000u);
    cnt_add(CC_CALLS, 1);
    if (atomic_load_explicit(&g_resumed, memory_order_relaxed) != resumed0)
        return;   /* we were stopped meanwhile */
    cnt_max(CC_MAX_CALL_US, us);
    if (us > (int64_t)(CHAOS_LOCK_BOUND_MS + g_slack_ms) * 1000)
        violation(CC_OVERRUN, "%s on %s: returned after %.1f ms (bound %u ms)", call, node,
                  (double)us / 1000.0, CHAOS_LOCK_BOUND_MS);
}

static void call_failed(const char *call, const char *node, int rc)
{
    violation(CC_ERROR, "%s on %s: %s (%s)", call, node, rpc_strerror(rc), rpc_errdetail());
}

/* ---- the checker: per stream (uid, topic) state ---------------------------- */

/* Pseudo-topic for the library's own per-publisher sequence number. */
#define LIBSEQ 0xFFFFFFFFu

struct stream {
    uint64_t uid;        /* 0: empty entry */
    uint32_t topic;
    uint32_t epoch;
    uint64_t last;       /* last seq accepted */
    unsigned gen;        /* our subscription generation when last seen */
};

struct checker {
    struct stream *tab;
    size_t cap, count;
};

static size_t stream_hash(uint64_t uid, uint32_t topic, size_t cap)
{
    uint64_t h = (uid ^ ((uint64_t)topic * UINT64_C(0x9E3779B97F4A7C15))) * UINT64_C(0xff51afd7ed558ccd);
    return (size_t)(h >> 17) & (cap - 1);
}

static int checker_grow(struct checker *c)
{
    size_t cap = c->cap ? c->cap * 2 : 256, i;
    struct stream *tab = calloc(cap, sizeof *tab);
    if (tab == NULL)
        return -1;
    for (i = 0; i < c->cap; i++) {
        struct stream *s = &c->tab[i];
        size_t j;
        if (s->uid == 0)
            continue;
        for (j = stream_hash(s->uid, s->topic, cap); tab[j].uid != 0; j = (j + 1) & (cap - 1))
            ;
        tab[j] = *s;
    }
    free(c->tab);
    c->tab = tab;
    c->cap = cap;
    return 0;
}

/* The entry of (uid, topic); *fresh = 1 when it was just made. NULL: no memory. */
static struct stream *stream_get(struct checker *c, uint64_t uid, uint32_t topic, int *fresh)
{
    size_t j;
    *fresh = 0;
    if ((c->count + 1) * 2 > c->cap && checker_grow(c) != 0)
        return NULL;
    for (j = stream_hash(uid, topic, c->cap); c->tab[j].uid != 0; j = (j + 1) & (c->cap - 1))
        if (c->tab[j].uid == uid && c->tab[j].topic == topic)
            return &c->tab[j];
    c->tab[j].uid = uid;
    c->tab[j].topic = topic;
    c->count++;
    *fresh = 1;
    return &c->tab[j];
}

/* ---- nodes ----------------------------------------------------------------- */

/* The user pointer of one subscription: which node, topic and generation
 * (bumped at every resubscription).  Kept until the node is destroyed,
 * because a callback of an old subscription may still be running when
 * rpc_unsubscribe returns. */
struct cookie {
    struct wnode *wn;
    unsigned topic;
    unsigned gen;
    struct cookie *next;
};

struct wnode {
    char name[CHAOS_NAME_LEN];
    rpc_node *node;
    uint64_t uid;
    int manual;
    unsigned npub, pub[3];
    unsigned nsub, sub[3];
    /* Publisher thread only (main before it starts and after it ends). */
    uint64_t seq[CHAOS_NTOPICS];
    uint32_t epoch[CHAOS_NTOPICS];
    unsigned gen[CHAOS_NTOPICS];
    int subscribed[CHAOS_NTOPICS];
    struct cookie *cookies;
    uint64_t prng;
    uint64_t poll_rng;     /* poll thread only */
    /* Callback thread only. */
    struct checker chk;
    uint64_t crng;
    uint64_t cb_sleep_ns;  /* time our callbacks slept on purpose (run-queue delay excluded) */
    _Atomic uint64_t sub_change_since; /* an rpc_(un)subscribe started then (0: none) */
    pthread_t pub_thread, poll_thread;
    int pub_started, poll_started;
    atomic_int stop;
};

static void check_message(struct wnode *wn, const struct cookie *ck, const rpc_message *m)
{
    struct chaos_msg h;
    struct stream *s, *lib;
    char why[200];
    int fresh;
    if (chaos_msg_check(m->data, m->size, &h, why, sizeof why) != 0) {
        violation(CC_CORRUPT, "sub %s topic %s from %s: %s", wn->name, m->topic, m->publisher, why);
        return;
    }
    if (h.topic != ck->topic || strcmp(m->topic, chaos_topic(ck->topic)) != 0 ||
        strcmp(m->group, CHAOS_GROUP) != 0 || strcmp(m->publisher, h.publisher) != 0) {
        violation(CC_CORRUPT, "sub %s: message for %s/%s from %s carries topic t%u from %s",
                  wn->name, m->group, m->topic, m->publisher, h.topic, h.publisher);
        return;
    }
    cnt_add(CC_CHECKED, 1);
    /* The library's sequence number grows per publishing node. */
    if ((lib = stream_get(&wn->chk, h.uid, LIBSEQ, &fresh)) != NULL) {
        if (!fresh && m->seq <= lib->last)
            violation(m->seq == lib->last ? CC_DUP : CC_REORDER,
                      "sub %s from %s (pid %d): library seq %" PRIu64 " after %" PRIu64, wn->name,
                      h.publisher, (int)h.pid, m->seq, lib->last);
        else
            lib->last = m->seq;
    }
    if ((s = stream_get(&wn->chk, h.uid, h.topic, &fresh)) == NULL) {
        violation(CC_ERROR, "sub %s: out of memory for the checker", wn->name);
        return;
    }
    if (fresh)
        goto accept;   /* we joined this stream late: any seq may come first */
    if (ck->gen < s->gen) {
        violation(CC_REORDER, "sub %s topic t%u from %s (pid %d): callback of subscription "
                  "generation %u after generation %u", wn->name, h.topic, h.publisher, (int)h.pid,
                  ck->gen, s->gen);
        return;
    }
    if (h.seq <= s->last || h.epoch < s->epoch) {
        violation(h.seq == s->last ? CC_DUP : CC_REORDER,
                  "sub %s topic t%u from %s (pid %d, uid %016" PRIx64 "): seq %" PRIu64
                  " epoch %u after seq %" PRIu64 " epoch %u", wn->name, h.topic, h.publisher,
                  (int)h.pid, h.uid, h.seq, h.epoch, s->last, s->epoch);
        return;
    }
    if (h.seq != s->last + 1 && h.epoch == s->epoch && ck->gen == s->gen) {
        cnt_add(CC_MISSING, (int64_t)(h.seq - s->last - 1));
        violation(CC_LOSS, "sub %s topic t%u from %s (pid %d, uid %016" PRIx64 ") epoch %u: "
                  "seq %" PRIu64 " after %" PRIu64 " (%" PRIu64 " missing)", wn->name, h.topic,
                  h.publisher, (int)h.pid, h.uid, h.epoch, h.seq, s->last, h.seq - s->last - 1);
    }
accept:
    s->last = h.seq;
    s->epoch = h.epoch;
    s->gen = ck->gen;
}

static void on_message(rpc_node *node, const rpc_message *m, void *user)
{
    struct cookie *ck = user;
    struct wnode *wn = ck->wn;
    (void)node;
    check_message(wn, ck, m);
    /* Now and then a slow subscriber, so queues fill and publishers block. */
    if (chaos_below(&wn->crng, 2000) == 0) {
        uint64_t t0 = chaos_mono_ns(), q0 = run_delay_ns(), el, q;
        chaos_sleep_ms(1 + (unsigned)chaos_below(&wn->crng, 20));
        el = chaos_mono_ns() - t0;
        q = run_delay_ns() - q0;
        wn->cb_sleep_ns += el > q ? el - q : 0;
    }
}

/* Subscribe wn to topic t under a new generation. */
static int subscribe(struct wnode *wn, unsigned t)
{
    struct cookie *ck = calloc(1, sizeof *ck);
    uint64_t t0;
    unsigned r0;
    int rc;
    if (ck == NULL) {
        violation(CC_ERROR, "out of memory");
        return -1;
    }
    ck->wn = wn;
    ck->topic = t;
    ck->gen = ++wn->gen[t];
    ck->next = wn->cookies;
    wn->cookies = ck;
    t0 = chaos_mono_ns();
    r0 = resumed();
    atomic_store_explicit(&wn->sub_change_since, t0, memory_order_relaxed);
    rc = rpc_subscribe(wn->node, CHAOS_GROUP, chaos_topic(t), on_message, ck);
    atomic_store_explicit(&wn->sub_change_since, 0, memory_order_relaxed);
    bounded_call("rpc_subscribe", wn->name, t0, r0);
    if (rc != 0) {
        call_failed("rpc_subscribe", wn->name, rc);
        return -1;
    }
    wn->subscribed[t] = 1;
    return 0;
}

/* Drop and take again one of the node's subscriptions. */
static void churn_subscription(struct wnode *wn)
{
    unsigned t = wn->sub[chaos_below(&wn->prng, wn->nsub)];
    if (wn->subscribed[t]) {
        uint64_t t0 = chaos_mono_ns();
        unsigned r0 = resumed();
        int rc;
        atomic_store_explicit(&wn->sub_change_since, t0, memory_order_relaxed);
        rc = rpc_unsubscribe(wn->node, CHAOS_GROUP, chaos_topic(t));
        atomic_store_explicit(&wn->sub_change_since, 0, memory_order_relaxed);
        bounded_call("rpc_unsubscribe", wn->name, t0, r0);
        if (rc != 0) {
            call_failed("rpc_unsubscribe", wn->name, rc);
            return;
        }
        wn->subscribed[t] = 0;
    }
    (void)subscribe(wn, t);
    cnt_add(CC_CHURN, 1);
}

/* Payload size: mostly small, some medium, a few up to the maximum. */
static size_t pick_size(uint64_t *rng)
{
    uint64_t r = chaos_below(rng, 100);
    size_t hdr = sizeof(struct chaos_msg);
    if (r < 80)
        return hdr + (size_t)chaos_below(rng, 256);
    if (r < 97)
        return hdr + (size_t)chaos_below(rng, 1024);
    return hdr + (size_t)chaos_below(rng, CHAOS_MAX_MSG - hdr + 1);
}

/* Timeout: mostly comfortable, often short enough to expire. */
static int pick_timeout(uint64_t *rng)
{
    if (chaos_below(rng, 10) < 7)
        return 200 + (int)chaos_below(rng, g_max_timeout_ms > 200 ? g_max_timeout_ms - 199 : 1);
    return 1 + (int)chaos_below(rng, 100);
}

/* Publish buf on topic t, time it, check the outcome.  Returns rc. */
static int publish_timed(struct wnode *wn, unsigned t, const unsigned char *buf, size_t size,
                         int timeout)
{
    unsigned r0 = resumed();
    uint64_t q0 = run_delay_ns(), t0 = chaos_mono_ns(), el;
    int rc = rpc_publish(wn->node, CHAOS_GROUP, chaos_topic(t), buf, size, timeout);
    el = chaos_mono_ns() - t0;
    timed_call("rpc_publish", wn->name, timeout, el, 0, run_delay_ns() - q0, r0, "");
    if (rc == 0) {
        cnt_add(CC_PUBLISHED, 1);
        return 0;
    }
    if (rc == RPC_ETIMEDOUT) {
        cnt_add(CC_PUB_TIMEOUT, 1);
        if (el < (uint64_t)timeout * 1000000u)
            violation(CC_EARLY, "rpc_publish on %s: RPC_ETIMEDOUT after %.3f ms of %d ms",
                      wn->name, (double)el / 1e6, timeout);
    } else {
        call_failed("rpc_publish", wn->name, rc);
    }
    return rc;
}

static void build(struct wnode *wn, unsigned t, uint64_t seq, unsigned char *buf, size_t size)
{
    struct chaos_msg h;
    memset(&h, 0, sizeof h);
    h.uid = wn->uid;
    h.seq = seq;
    h.epoch = wn->epoch[t];
    h.topic = t;
    h.pid = (int32_t)getpid();
    snprintf(h.publisher, sizeof h.publisher, "%s", wn->name);
    chaos_msg_fill(buf, size, &h);
}

/* The self-test: once per process, after the stream is well under way. */
static int inject_now(struct wnode *wn, unsigned t)
{
    return g_inject != INJECT_NONE && wn->seq[t] >= 50 &&
           atomic_exchange_explicit(&g_injected, 1, memory_order_relaxed) == 0;
}

static void publish_injected(struct wnode *wn, unsigned t, unsigned char *buf)
{
    size_t size = sizeof(struct chaos_msg) + 64;
    unsigned char *second = buf + size;
    uint64_t seq = ++wn->seq[t];
    switch (g_inject) {
    case INJECT_LOSS:   /* seq skips one */
        build(wn, t, ++wn->seq[t], buf, size);
        (void)publish_timed(wn, t, buf, size, 2000);
        break;
    case INJECT_DUP:    /* the same message twice */
        build(wn, t, seq, buf, size);
        if (publish_timed(wn, t, buf, size, 2000) == 0)
            (void)publish_timed(wn, t, buf, size, 2000);
        break;
    case INJECT_REORDER: /* seq + 1 before seq */
        build(wn, t, seq, buf, size);
        build(wn, t, ++wn->seq[t], second, size);
        if (publish_timed(wn, t, second, size, 2000) == 0)
            (void)publish_timed(wn, t, buf, size, 2000);
        break;
    case INJECT_CORRUPT: /* a body byte flipped after the checksum */
        build(wn, t, seq, buf, size);
        buf[size - 1] ^= 0x20;
        (void)publish_timed(wn, t, buf, size, 2000);
        break;
    case INJECT_NONE:
        break;
    }
}

static void publish_one(struct wnode *wn, unsigned char *buf)
{
    unsigned t = wn->pub[chaos_below(&wn->prng, wn->npub)];
    size_t size = pick_size(&wn->prng);
    int timeout = pick_timeout(&wn->prng);
    int rc;
    if (inject_now(wn, t)) {
        publish_injected(wn, t, buf);
        return;
    }
    build(wn, t, ++wn->seq[t], buf, size);
    if ((rc = publish_timed(wn, t, buf, size, timeout)) == 0)
        return;
    /* Some subscriber did not get this copy and we know it: the next
     * message opens a new epoch, where a gap is legal. */
    wn->epoch[t]++;
}

static void *publisher_main(void *arg)
{
    struct wnode *wn = arg;
    unsigned char *buf = malloc(2 * CHAOS_MAX_MSG);
    if (buf == NULL) {
        violation(CC_ERROR, "out of memory");
        return NULL;
    }
    while (!atomic_load_explicit(&wn->stop, memory_order_relaxed)) {
        unsigned burst = 1 + (unsigned)chaos_below(&wn->prng, 16), i;
        for (i = 0; i < burst && !atomic_load_explicit(&wn->stop, memory_order_relaxed); i++)
            publish_one(wn, buf);
        if (chaos_below(&wn->prng, 300) == 0)
            churn_subscription(wn);
        chaos_sleep_ms(1 + (unsigned)chaos_below(&wn->prng, 4));
    }
    free(buf);
    run_delay_close();
    return NULL;
}

static void *poller_main(void *arg)
{
    struct wnode *wn = arg;
    uint64_t rng = wn->poll_rng;
    while (!atomic_load_explicit(&wn->stop, memory_order_relaxed)) {
        int timeout = 1 + (int)chaos_below(&rng, 100);
        unsigned r0 = resumed();
        uint64_t cb0 = wn->cb_sleep_ns, q0 = run_delay_ns(), t0 = chaos_mono_ns(), t1, since;
        int rc = rpc_node_poll(wn->node, timeout);
        char note[120] = "";
        t1 = chaos_mono_ns();
        /* Was the node's subscription being changed meanwhile?  (Then the
         * poll may have waited for that change's locks.) */
        since = atomic_load_explicit(&wn->sub_change_since, memory_order_relaxed);
        if (since != 0 && since < t1)
            snprintf(note, sizeof note, " (an rpc_(un)subscribe on this node has been running "
                     "for %.1f ms)", (double)(t1 - since) / 1e6);
        timed_call("rpc_node_poll", wn->name, timeout, t1 - t0, wn->cb_sleep_ns - cb0,
                   run_delay_ns() - q0, r0, note);
        if (rc < 0) {
            call_failed("rpc_node_poll", wn->name, rc);
            chaos_sleep_ms(10);
        }
    }
    run_delay_close();
    return NULL;
}

/* Pick n distinct topics into out. */
static unsigned pick_topics(uint64_t *rng, unsigned out[3])
{
    unsigned n = 1 + (unsigned)chaos_below(rng, 3), k = 0;
    while (k < n) {
        unsigned t = (unsigned)chaos_below(rng, CHAOS_NTOPICS), j;
        for (j = 0; j < k && out[j] != t; j++)
            ;
        if (j == k)
            out[k++] = t;
    }
    return n;
}

/* Create node wn (its name is set), subscribe, start its threads. */
static int node_start(struct wnode *wn, const rpc_config *cfg_thread,
                      const rpc_config *cfg_manual, uint64_t *rng)
{
    char name[CHAOS_NAME_LEN];
    uint64_t t0;
    unsigned i, r0;
    int rc;
    memcpy(name, wn->name, sizeof name);
    memset(wn, 0, sizeof *wn);
    memcpy(wn->name, name, sizeof name);
    wn->manual = chaos_below(rng, 3) == 0;
    wn->uid = chaos_rand(rng) | 1;
    wn->prng = chaos_rand(rng);
    wn->crng = chaos_rand(rng);
    wn->poll_rng = chaos_rand(rng);
    wn->npub = pick_topics(rng, wn->pub);
    wn->nsub = pick_topics(rng, wn->sub);
    t0 = chaos_mono_ns();
    r0 = resumed();
    rc = rpc_node_create(wn->manual ? cfg_manual : cfg_thread, wn->name, &wn->node);
    bounded_call("rpc_node_create", wn->name, t0, r0);
    if (rc != 0) {
        call_failed("rpc_node_create", wn->name, rc);
        wn->node = NULL;
        return -1;
    }
    for (i = 0; i < wn->nsub; i++)
        (void)subscribe(wn, wn->sub[i]);
    if (pthread_create(&wn->pub_thread, NULL, publisher_main, wn) == 0)
        wn->pub_started = 1;
    else
        violation(CC_ERROR, "node %s: cannot start the publisher thread", wn->name);
    if (wn->manual) {
        if (pthread_create(&wn->poll_thread, NULL, poller_main, wn) == 0)
            wn->poll_started = 1;
        else
            violation(CC_ERROR, "node %s: cannot start the poll thread", wn->name);
    }
    return 0;
}

/* Stop wn's threads, destroy it, free what it held. */
static void node_stop(struct wnode *wn)
{
    struct cookie *ck, *next;
    uint64_t t0;
    unsigned r0;
    int rc;
    if (wn->node == NULL)
        return;
    atomic_store_explicit(&wn->stop, 1, memory_order_relaxed);
    if (wn->pub_started)
        pthread_join(wn->pub_thread, NULL);
    if (wn->poll_started)
        pthread_join(wn->poll_thread, NULL);
    wn->pub_started = wn->poll_started = 0;
    t0 = chaos_mono_ns();
    r0 = resumed();
    rc = rpc_node_destroy(wn->node);
    bounded_call("rpc_node_destroy", wn->name, t0, r0);
    if (rc != 0)
        call_failed("rpc_node_destroy", wn->name, rc);
    wn->node = NULL;
    for (ck = wn->cookies; ck != NULL; ck = next) {
        next = ck->next;
        free(ck);
    }
    wn->cookies = NULL;
    free(wn->chk.tab);
    memset(&wn->chk, 0, sizeof wn->chk);
}

/* ---- main ------------------------------------------------------------------ */

static void usage(void)
{
    fprintf(stderr, "usage: chaos_worker --name /DOMAIN --index I --seed X --report-fd FD "
                    "[--slack-ms MS] [--max-timeout-ms MS] [--inject KIND] [--no-runq]\n"
                    "  started by chaos_driver; not meant to be run by hand\n");
    exit(2);
}

static void parse_args(int argc, char **argv, uint64_t *seed)
{
    int i;
    for (i = 1; i < argc; i += 2) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(k, "--no-runq") == 0) {
            g_no_runq = 1;
            i--;
            continue;
        }
        if (v == NULL)
            usage();
        if (strcmp(k, "--name") == 0)
            g_domain = v;
        else if (strcmp(k, "--index") == 0)
            g_index = (unsigned)strtoul(v, NULL, 10);
        else if (strcmp(k, "--seed") == 0)
            *seed = strtoull(v, NULL, 0);
        else if (strcmp(k, "--report-fd") == 0)
            g_report_fd = atoi(v);
        else if (strcmp(k, "--slack-ms") == 0)
            g_slack_ms = (unsigned)strtoul(v, NULL, 10);
        else if (strcmp(k, "--max-timeout-ms") == 0)
            g_max_timeout_ms = (unsigned)strtoul(v, NULL, 10);
        else if (strcmp(k, "--inject") == 0)
            g_inject = strcmp(v, "loss") == 0      ? INJECT_LOSS
                       : strcmp(v, "dup") == 0     ? INJECT_DUP
                       : strcmp(v, "reorder") == 0 ? INJECT_REORDER
                       : strcmp(v, "corrupt") == 0 ? INJECT_CORRUPT
                                                   : INJECT_NONE;
        else
            usage();
    }
    if (i != argc || g_domain == NULL || g_report_fd < 0)
        usage();
}

static void install_signals(void)
{
    struct sigaction sa;
    sigset_t set;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;   /* no SA_RESTART: the library must cope with EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGCONT, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    /* The driver starts us with SIGTERM and SIGINT blocked, so one sent
     * while we were starting is pending and arrives now, handled. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
}

int main(int argc, char **argv)
{
    struct wnode nodes[CHAOS_MAX_NODES_PER_WORKER];
    rpc_config *cfg_thread = NULL, *cfg_manual = NULL;
    uint64_t seed = 1, last_report;
    unsigned n, j, ticks = 0;
    pid_t parent;
    int rc, verdict = 0;

    install_signals();
    parse_args(argc, argv, &seed);
    parent = getppid();
    /* Die with the driver: a worker must never outlive the soak. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
        return 2;
    report("H %d", (int)getpid());

    if ((rc = chaos_config(g_domain, RPC_RECEIVE_THREAD, &cfg_thread)) != 0 ||
        (rc = chaos_config(g_domain, RPC_RECEIVE_MANUAL, &cfg_manual)) != 0) {
        violation(CC_ERROR, "configuration: %s", rpc_strerror(rc));
        rpc_config_destroy(cfg_thread);
        report_counters('V');
        return 1;
    }

    memset(nodes, 0, sizeof nodes);
    n = 1 + (unsigned)chaos_below(&seed, CHAOS_MAX_NODES_PER_WORKER);
    for (j = 0; j < n && !g_stop; j++) {
        snprintf(nodes[j].name, sizeof nodes[j].name, "w%un%u", g_index, j);
        (void)node_start(&nodes[j], cfg_thread, cfg_manual, &seed);
    }

    last_report = chaos_mono_ns();
    while (!g_stop && getppid() == parent) {
        chaos_sleep_ms(10);
        ticks++;
        if (chaos_mono_ns() - last_report >= 250000000u) {
            report_counters('S');
            last_report = chaos_mono_ns();
        }
        /* Now and then leave and join again without dying: clean leaves
         * interleaved with the crashes. */
        if (ticks > 50 && n > 0 && chaos_below(&seed, 1500) == 0 && !g_stop) {
            j = (unsigned)chaos_below(&seed, n);
            node_stop(&nodes[j]);
            if (!g_stop)
                (void)node_start(&nodes[j], cfg_thread, cfg_manual, &seed);
            cnt_add(CC_CHURN, 1);
        }
    }

    for (j = 0; j < n; j++)
        node_stop(&nodes[j]);
    rpc_config_destroy(cfg_thread);
    rpc_config_destroy(cfg_manual);
    for (j = CC_FIRST_VIOLATION; j <= CC_LAST_VIOLATION; j++)
        if (atomic_load(&g_cnt[j]) != 0)
            verdict = 1;
    report_counters('V');
    return verdict;
}
