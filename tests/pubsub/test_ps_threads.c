/*
 * test_ps_threads.c - subscribing, unsubscribing and destroying nodes while
 * other threads publish (one process; meant for ThreadSanitizer too).
 *
 * Small queues (8 KiB, messages up to 1 KiB) so they fill often and
 * publishers really wait.
 *
 * unsubscribe: a thread publishes on topic T without pause while the main
 *   thread unsubscribes and resubscribes S to T hundreds of times.  Every
 *   publish returns 0; S's callbacks see strictly increasing sequence
 *   numbers and intact messages (gaps are expected: no history).  After the
 *   final unsubscribe returns, no further T callback starts: checked with a
 *   marker message on another topic sent through the same queue after
 *   the publisher thread stopped.
 * destroy: a thread publishes on T in blocking mode while the main thread
 *   creates a subscriber node, lets it receive, and destroys it - 40 times,
 *   the destroy landing while the node's callback dawdles and its queue is
 *   full, so the publisher is blocked on it.  Every publish returns 0 and
 *   none takes long; each subscriber got one contiguous, intact run.
 * two publishers on one node: two threads publish on one node at once;
 *   the subscriber sees the node's sequence numbers 1, 2, 3, ... (the calls
 *   are serialised) and each thread's own messages in its order.
 */
#include "psutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GROUP "thr"
#define MAX_MSG 1024
#define QUEUE 8192

static const char *shm;

static rpc_config *config(int mode)
{
    rpc_config *cfg = tu_config(shm);
    ASSERT_OK(rpc_config_set_max_msg_size(cfg, MAX_MSG));
    ASSERT_OK(rpc_config_set_queue_size(cfg, QUEUE));
    ps_config_mode(cfg, mode, 50);
    return cfg;
}

/* ---- a publisher thread ----------------------------------------------------------- */

struct pub_thread {
    rpc_node *node;
    const char *topic;
    uint32_t id;          /* the node's publisher id ("p<id>") */
    uint64_t *seq;        /* the node's sequence counter (shared with main) */
    _Atomic int stop;
    _Atomic uint64_t sent;
    int64_t worst_ms;
    int bad_rc;
    uint64_t bad_seq;
    pthread_t th;
};

static void *publish_loop(void *arg)
{
    struct pub_thread *p = arg;
    unsigned char buf[MAX_MSG];
    while (!atomic_load(&p->stop)) {
        uint64_t s = ++*p->seq;
        size_t size = ps_msg_size(p->id, s, MAX_MSG);
        int64_t t0;
        int rc;
        ps_fill(buf, size, p->id, s);
        t0 = tu_now_ms();
        rc = rpc_publish(p->node, GROUP, p->topic, buf, size, 10000);
        if (tu_now_ms() - t0 > p->worst_ms)
            p->worst_ms = tu_now_ms() - t0;
        if (rc != 0 && p->bad_rc == 0) {
            p->bad_rc = rc;
            p->bad_seq = s;
        }
        atomic_fetch_add(&p->sent, 1);
    }
    return NULL;
}

static void pub_start(struct pub_thread *p, rpc_node *node, const char *topic, uint64_t *seq)
{
    memset(p, 0, sizeof *p);
    p->node = node;
    p->topic = topic;
    p->id = (uint32_t)ps_pub_id(rpc_node_name(node));
    p->seq = seq;
    ASSERT(pthread_create(&p->th, NULL, publish_loop, p) == 0);
}

static void pub_stop(struct pub_thread *p)
{
    atomic_store(&p->stop, 1);
    ASSERT(pthread_join(p->th, NULL) == 0);
    ASSERT_MSG(p->bad_rc == 0, "publish #%llu on %s: %s", (unsigned long long)p->bad_seq,
               p->topic, tu_errname(p->bad_rc));
}

static void wait_sent(struct pub_thread *p, uint64_t more)
{
    uint64_t want = atomic_load(&p->sent) + more;
    int ok;
    TU_WAIT_UNTIL(ok, atomic_load(&p->sent) >= want, tu_timeout_ms(20000));
    ASSERT_MSG(ok, "the publisher thread is stuck");
}

/* ---- unsubscribe while publishing --------------------------------------------------- */

struct unsub_state {
    struct ps_track t;
    _Atomic uint64_t started;     /* T callbacks begun */
    _Atomic uint64_t marker;      /* last marker value seen */
};

static void on_t(rpc_node *node, const rpc_message *m, void *user)
{
    struct unsub_state *u = user;
    (void)node;
    atomic_fetch_add(&u->started, 1);
    ps_track(&u->t, (uint32_t)ps_pub_id(m->publisher), m);
}

static void on_marker(rpc_node *node, const rpc_message *m, void *user)
{
    struct unsub_state *u = user;
    uint64_t v = 0;
    (void)node;
    ASSERT(m->size == sizeof v);
    memcpy(&v, m->data, sizeof v);
    atomic_store_explicit(&u->marker, v, memory_order_release);
}

static void test_unsubscribe(void)
{
    rpc_config *pcfg = config(RPC_RECEIVE_MANUAL), *scfg = config(RPC_RECEIVE_THREAD);
    struct unsub_state *u = calloc(1, sizeof *u);
    struct pub_thread pt;
    rpc_node *p = NULL, *s = NULL;
    uint64_t seq = 0, c1, v = 77;
    int ok;

    ASSERT(u != NULL);
    ps_track_init(&u->t, MAX_MSG, PS_TRACK_GAPS);
    ASSERT_OK(rpc_node_create(pcfg, "p1", &p));
    ASSERT_OK(rpc_node_create(scfg, "unsub", &s));
    ASSERT_OK(rpc_subscribe(s, GROUP, "T", on_t, u));
    ASSERT_OK(rpc_subscribe(s, GROUP, "marker", on_marker, u));
    pub_start(&pt, p, "T", &seq);
    for (int i = 0; i < 300; i++) {
        ASSERT_OK(rpc_unsubscribe(s, GROUP, "T"));
        ASSERT_EQ(rpc_is_subscribed(s, GROUP, "T"), 0);
        ASSERT_RC(rpc_unsubscribe(s, GROUP, "T"), RPC_ENOTSUB);
        if (i % 10 == 0)
            wait_sent(&pt, 3);
        ASSERT_OK(rpc_subscribe(s, GROUP, "T", on_t, u));
        ASSERT_EQ(rpc_is_subscribed(s, GROUP, "T"), 1);
        if (i % 10 == 5)
            wait_sent(&pt, 3);
    }
    ASSERT_OK(rpc_unsubscribe(s, GROUP, "T"));
    c1 = atomic_load(&u->started);
    wait_sent(&pt, 200);
    pub_stop(&pt);
    /* The marker follows every T record in the same queue. */
    ++seq;
    ASSERT_OK(rpc_publish(p, GROUP, "marker", &v, sizeof v, 10000));
    TU_WAIT_UNTIL(ok, atomic_load_explicit(&u->marker, memory_order_acquire) == v,
                  tu_timeout_ms(20000));
    ASSERT_MSG(ok, "the marker never arrived");
    ASSERT_MSG(atomic_load(&u->started) == c1,
               "%llu T callbacks started after rpc_unsubscribe returned",
               (unsigned long long)(atomic_load(&u->started) - c1));
    ASSERT_MSG(u->t.errors == 0, "%llu bad messages; first: %s",
               (unsigned long long)u->t.errors, u->t.first_error);
    ASSERT_MSG(u->t.count[1] > 0, "no T message arrived in 300 subscriptions");
    tu_log("unsubscribe: %llu of %llu T messages delivered across 300 re-subscriptions",
           (unsigned long long)u->t.count[1], (unsigned long long)seq);
    ASSERT_OK(rpc_node_destroy(s));
    ASSERT_OK(rpc_node_destroy(p));
    rpc_config_destroy(pcfg);
    rpc_config_destroy(scfg);
    free(u);
}

/* ---- destroy while publishing --------------------------------------------------------- */

struct slow_sub {
    struct ps_track t;
    _Atomic uint64_t seen;
};

static void on_slow(rpc_node *node, const rpc_message *m, void *user)
{
    struct slow_sub *ss = user;
    (void)node;
    ps_track(&ss->t, (uint32_t)ps_pub_id(m->publisher), m);
    /* Dawdle now and then so the queue fills and the publisher waits. */
    if (atomic_fetch_add(&ss->seen, 1) % 32 == 31)
        tu_sleep_ms(2);
}

static void test_destroy(void)
{
    rpc_config *pcfg = config(RPC_RECEIVE_MANUAL), *scfg = config(RPC_RECEIVE_THREAD);
    struct pub_thread pt;
    rpc_node *p = NULL;
    uint64_t seq = 0, total = 0;
    rpc_node_stats st;

    ASSERT_OK(rpc_node_create(pcfg, "p2", &p));
    pub_start(&pt, p, "T", &seq);
    for (int i = 0; i < 40; i++) {
        struct slow_sub *ss = calloc(1, sizeof *ss);
        rpc_node *s = NULL;
        char name[16];
        int ok;
        ASSERT(ss != NULL);
        ps_track_init(&ss->t, MAX_MSG, PS_TRACK_LATE);
        snprintf(name, sizeof name, "sd%d", i);
        ASSERT_OK(rpc_node_create(scfg, name, &s));
        ASSERT_OK(rpc_subscribe(s, GROUP, "T", on_slow, ss));
        TU_WAIT_UNTIL(ok, atomic_load(&ss->seen) >= 40, tu_timeout_ms(20000));
        ASSERT_MSG(ok, "subscriber %s got only %llu messages", name,
                   (unsigned long long)atomic_load(&ss->seen));
        /* Most likely mid-dawdle, with the publisher blocked on us. */
        ASSERT_OK(rpc_node_destroy(s));
        ASSERT_MSG(ss->t.errors == 0, "%s: %llu bad messages; first: %s", name,
                   (unsigned long long)ss->t.errors, ss->t.first_error);
        ASSERT_EQ(ss->t.count[2], atomic_load(&ss->seen));
        total += ss->t.count[2];
        free(ss);
    }
    wait_sent(&pt, 10);   /* still going with no subscriber at all */
    pub_stop(&pt);
    tu_log("destroy: 40 subscribers received %llu messages; slowest publish %lld ms",
           (unsigned long long)total, (long long)pt.worst_ms);
    ASSERT_MSG(pt.worst_ms < tu_reclaim_deadline_ms() * ps_slow_factor(),
               "a publish blocked %lld ms on a subscriber being destroyed",
               (long long)pt.worst_ms);
    ASSERT_OK(rpc_node_get_stats(p, &st));
    ASSERT_EQ(st.published, seq);
    ASSERT_EQ(st.dropped, 0);
    ASSERT_OK(rpc_node_destroy(p));
    rpc_config_destroy(pcfg);
    rpc_config_destroy(scfg);
}

/* ---- two publishing threads, one node ------------------------------------------------- */

#define PER_THREAD 20000

struct two_state {
    uint64_t last_node_seq;
    uint64_t last[2];
    uint64_t count;
    uint64_t errors;
    char first_error[256];
    _Atomic uint64_t seen;
};

struct two_pub {
    rpc_node *node;
    uint32_t id;
    int bad_rc;
    pthread_t th;
};

static size_t two_size(uint32_t id, uint64_t s)
{
    return PS_HDR_SIZE + ps_msg_size(id, s, MAX_MSG - PS_HDR_SIZE);
}

static void *two_loop(void *arg)
{
    struct two_pub *tp = arg;
    unsigned char buf[MAX_MSG];
    for (uint64_t s = 1; s <= PER_THREAD && tp->bad_rc == 0; s++) {
        size_t size = two_size(tp->id, s);
        ps_fill(buf, size, tp->id, s);
        tp->bad_rc = rpc_publish(tp->node, GROUP, "two", buf, size, 10000);
    }
    return NULL;
}

static void on_two(rpc_node *node, const rpc_message *m, void *user)
{
    struct two_state *ts = user;
    uint64_t s = ps_hdr_seq(m->data, m->size);
    uint32_t id = 2;
    char why[200] = "";
    (void)node;
    if (m->size >= PS_HDR_SIZE)
        memcpy(&id, (const char *)m->data + 4, sizeof id);   /* header: magic, pub */
    if (m->seq != ts->last_node_seq + 1)
        snprintf(why, sizeof why, "node seq %llu after %llu", (unsigned long long)m->seq,
                 (unsigned long long)ts->last_node_seq);
    else if (id > 1 || s != ts->last[id] + 1)
        snprintf(why, sizeof why, "thread %u seq %llu out of order", id, (unsigned long long)s);
    else if (m->size != two_size(id, s) ||
             ps_check(m->data, m->size, id, s, why, sizeof why) != 0)
        snprintf(why + strlen(why), sizeof why - strlen(why), " (size %zu)", m->size);
    if (why[0] != '\0' && ts->errors++ == 0)
        snprintf(ts->first_error, sizeof ts->first_error, "%s", why);
    ts->last_node_seq = m->seq;
    if (id <= 1)
        ts->last[id] = s;
    ts->count++;
    atomic_fetch_add_explicit(&ts->seen, 1, memory_order_release);
}

static void test_two_publishers(void)
{
    rpc_config *pcfg = config(RPC_RECEIVE_MANUAL), *scfg = config(RPC_RECEIVE_THREAD);
    struct two_state *ts = calloc(1, sizeof *ts);
    struct two_pub tp[2];
    rpc_node *p = NULL, *s = NULL;
    int ok;

    ASSERT(ts != NULL);
    ASSERT_OK(rpc_node_create(pcfg, "p3", &p));
    ASSERT_OK(rpc_node_create(scfg, "two", &s));
    ASSERT_OK(rpc_subscribe(s, GROUP, "two", on_two, ts));
    for (uint32_t i = 0; i < 2; i++) {
        tp[i].node = p;
        tp[i].id = i;
        tp[i].bad_rc = 0;
        ASSERT(pthread_create(&tp[i].th, NULL, two_loop, &tp[i]) == 0);
    }
    for (int i = 0; i < 2; i++) {
        ASSERT(pthread_join(tp[i].th, NULL) == 0);
        ASSERT_RC(tp[i].bad_rc, 0);
    }
    TU_WAIT_UNTIL(ok, atomic_load_explicit(&ts->seen, memory_order_acquire) >= 2 * PER_THREAD,
                  tu_timeout_ms(30000));
    ASSERT_MSG(ok, "got %llu of %d messages", (unsigned long long)atomic_load(&ts->seen),
               2 * PER_THREAD);
    ASSERT_OK(rpc_node_destroy(s));
    ASSERT_MSG(ts->errors == 0, "%llu bad messages; first: %s", (unsigned long long)ts->errors,
               ts->first_error);
    ASSERT_EQ(ts->count, 2 * PER_THREAD);
    ASSERT_EQ(ts->last[0], PER_THREAD);
    ASSERT_EQ(ts->last[1], PER_THREAD);
    ASSERT_OK(rpc_node_destroy(p));
    rpc_config_destroy(pcfg);
    rpc_config_destroy(scfg);
    free(ts);
}

int main(void)
{
    ps_init("ps_threads");
    shm = ps_shm_name("thr");
    test_unsubscribe();
    ASSERT(!tu_shm_exists(shm));
    test_destroy();
    ASSERT(!tu_shm_exists(shm));
    test_two_publishers();
    return tu_done();
}
