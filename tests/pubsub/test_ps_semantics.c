/*
 * test_ps_semantics.c - the documented delivery rules, one by one.
 *
 * self:      a node subscribed to a topic it publishes receives its own
 *            messages (receive thread and manual mode); a manual node
 *            that fills its own queue gets RPC_EAGAIN / RPC_ETIMEDOUT after
 *            its timeout, and the drops are counted.
 * late:      a subscriber in another process gets nothing published before
 *            its rpc_subscribe returned and everything after.
 * discard:   records queued for a subscription are discarded when it is
 *            dropped: after unsubscribe + subscribe again only the newer
 *            messages run, and rpc_node_poll counts only callbacks run.
 * fields:    group, topic, publisher, size, data and seq of a message;
 *            (group, topic) pairs are distinct (same topic, other group).
 * leavers:   messages of a publisher that left before they were polled
 *            still arrive, under its own name even when a new node has
 *            taken its slot.
 * callback:  a callback may unsubscribe itself and subscribe another topic.
 * sizes:     0-byte messages (NULL or not) and exactly-maximum messages
 *            arrive intact, maximum + 1 is RPC_EMSGSIZE, for segments whose
 *            maximum is 0, 1000, the default 64 KiB and 16 MiB.
 */
#include "psutil.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define G "sem"

static const char *shm;

static rpc_config *config(const char *name, int mode)
{
    rpc_config *cfg = tu_config(name);
    ps_config_mode(cfg, mode, 50);
    return cfg;
}

static void on_track(rpc_node *node, const rpc_message *m, void *user)
{
    (void)node;
    ps_track(user, (uint32_t)ps_pub_id(m->publisher), m);
}

/* Poll until a pass runs nothing; returns the callbacks run. */
static int drain(rpc_node *n)
{
    int rc, total = 0;
    while ((rc = rpc_node_poll(n, 0)) > 0)
        total += rc;
    ASSERT_RC(rc, 0);
    return total;
}

/* ---- self ------------------------------------------------------------------------ */

struct counted {
    struct ps_track t;
    _Atomic uint64_t seen;
};

static void on_counted(rpc_node *node, const rpc_message *m, void *user)
{
    struct counted *c = user;
    on_track(node, m, &c->t);
    atomic_fetch_add_explicit(&c->seen, 1, memory_order_release);
}

static void test_self(void)
{
    rpc_config *tcfg = config(shm, RPC_RECEIVE_THREAD), *mcfg = config(shm, RPC_RECEIVE_MANUAL);
    struct counted *c = calloc(1, sizeof *c);
    struct ps_track *t = malloc(sizeof *t);
    unsigned char buf[4096];
    rpc_node *a = NULL, *b = NULL;
    rpc_node_stats st;
    int ok, rc;
    uint64_t seq = 0, queued = 0;
    int64_t t0, took;

    ASSERT(c != NULL && t != NULL);
    ps_track_init(&c->t, 4096, 0);
    ASSERT_OK(rpc_node_create(tcfg, "self1", &a));
    ASSERT_OK(rpc_subscribe(a, G, "self", on_counted, c));
    for (uint64_t s = 1; s <= 100; s++) {
        size_t size = ps_msg_size(1, s, 4096);
        ps_fill(buf, size, 1, s);
        ASSERT_OK(rpc_publish(a, G, "self", buf, size, 10000));
    }
    TU_WAIT_UNTIL(ok, atomic_load_explicit(&c->seen, memory_order_acquire) >= 100,
                  tu_timeout_ms(10000));
    ASSERT_MSG(ok, "a receive-thread node got %llu of its own 100 messages",
               (unsigned long long)atomic_load(&c->seen));
    ASSERT_OK(rpc_node_destroy(a));
    ASSERT_MSG(c->t.errors == 0, "self: %s", c->t.first_error);
    ASSERT_EQ(c->t.count[1], 100);

    /* Manual mode: its own messages wait for its own poll. */
    ps_track_init(t, 0, 0);   /* sizes vary below: check content only */
    ASSERT_OK(rpc_node_create(mcfg, "self2", &b));
    ASSERT_OK(rpc_subscribe(b, G, "self", on_track, t));
    for (int i = 0; i < 10; i++) {
        size_t size = ps_msg_size(2, ++seq, 4096);
        ps_fill(buf, size, 2, seq);
        ASSERT_OK(rpc_publish(b, G, "self", buf, size, RPC_NO_WAIT));
        queued++;
    }
    ASSERT_EQ(drain(b), 10);
    ASSERT_EQ(t->count[2], 10);
    /* Fill its own queue: nobody else can empty it. */
    for (;;) {
        ps_fill(buf, sizeof buf, 2, ++seq);
        rc = rpc_publish(b, G, "self", buf, sizeof buf, RPC_NO_WAIT);
        if (rc != 0)
            break;
        queued++;
    }
    ASSERT_RC(rc, RPC_EAGAIN);
    t0 = tu_now_ms();
    ps_fill(buf, sizeof buf, 2, ++seq);
    rc = rpc_publish(b, G, "self", buf, sizeof buf, 100);
    took = tu_now_ms() - t0;
    ASSERT_RC(rc, RPC_ETIMEDOUT);
    ASSERT_MSG(took >= 99 && took < 100 + tu_timeout_ms(2000),
               "a 100 ms publish into its own full queue took %lld ms", (long long)took);
    ASSERT_OK(rpc_node_get_stats(b, &st));
    ASSERT_EQ(st.published, seq);
    ASSERT_EQ(st.delivered, queued);
    ASSERT_EQ(st.dropped, 2);
    ASSERT_EQ(drain(b), (int)(queued - 10));
    ASSERT_MSG(t->errors == 0, "self (manual): %s", t->first_error);
    ASSERT_EQ(t->count[2], queued);
    ASSERT_OK(rpc_node_destroy(b));
    rpc_config_destroy(tcfg);
    rpc_config_destroy(mcfg);
    free(c);
    free(t);
}

/* ---- late joiner, across processes ------------------------------------------------ */

static ps_chan cmd, reply;

static void late_subscriber(void)
{
    rpc_config *cfg = config(shm, RPC_RECEIVE_MANUAL);
    struct ps_track *t = malloc(sizeof *t);
    rpc_node *n = NULL;
    char line[64];
    ASSERT(t != NULL);
    ps_track_init(t, 4096, PS_TRACK_LATE);
    ASSERT_OK(rpc_node_create(cfg, "late", &n));
    ps_chan_send(&reply, "ready");
    ps_chan_recv(&cmd, line, sizeof line, tu_timeout_ms(60000));
    ASSERT_STREQ(line, "subscribe");
    ASSERT_OK(rpc_subscribe(n, G, "late", on_track, t));
    ps_chan_send(&reply, "subscribed");
    ps_chan_recv(&cmd, line, sizeof line, tu_timeout_ms(60000));
    ASSERT_STREQ(line, "drain");
    {
        int runs = drain(n);
        uint64_t first = t->count[3] ? t->last[3] - t->count[3] + 1 : 0;
        ps_chan_send(&reply, "%d %llu %llu %llu %llu %s", runs,
                     (unsigned long long)t->count[3], (unsigned long long)first,
                     (unsigned long long)t->last[3], (unsigned long long)t->errors,
                     t->errors ? t->first_error : "-");
    }
    ASSERT_OK(rpc_node_destroy(n));
    rpc_config_destroy(cfg);
    free(t);
    exit(0);
}

static void test_late(pid_t child)
{
    rpc_config *cfg = config(shm, RPC_RECEIVE_MANUAL);
    unsigned char buf[4096];
    unsigned long long runs, count, first, last, errors;
    char line[512], why[300] = "";
    rpc_node *p = NULL;
    rpc_node_stats st;

    ps_collect(&reply, 1, tu_timeout_ms(30000), &child, 1, NULL, NULL);
    ASSERT_OK(rpc_node_create(cfg, "p3", &p));
    for (uint64_t s = 1; s <= 100; s++) {
        size_t size = ps_msg_size(3, s, 4096);
        if (s == 51) {
            /* Half way: the other process subscribes, and it returned. */
            ps_chan_send(&cmd, "subscribe");
            ps_chan_recv(&reply, line, sizeof line, tu_timeout_ms(30000));
            ASSERT_STREQ(line, "subscribed");
        }
        ps_fill(buf, size, 3, s);
        ASSERT_OK(rpc_publish(p, G, "late", buf, size, 10000));
    }
    ASSERT_OK(rpc_node_get_stats(p, &st));
    ASSERT_EQ(st.published, 100);
    ASSERT_EQ(st.delivered, 50);
    ps_chan_send(&cmd, "drain");
    ps_chan_recv(&reply, line, sizeof line, tu_timeout_ms(30000));
    ASSERT_MSG(sscanf(line, "%llu %llu %llu %llu %llu %299[^\n]", &runs, &count, &first, &last,
                      &errors, why) == 6, "bad reply \"%s\"", line);
    ASSERT_MSG(errors == 0, "late joiner: %s", why);
    ASSERT_EQ(count, 50);
    ASSERT_EQ(first, 51);
    ASSERT_EQ(last, 100);
    ASSERT_EQ(runs, 50);
    TU_EXPECT_EXIT0(child, tu_timeout_ms(20000));
    ASSERT_OK(rpc_node_destroy(p));
    rpc_config_destroy(cfg);
}

#define STALE 150

/* ---- discard on unsubscribe ---------------------------------------------------------- */

static void test_discard(void)
{
    rpc_config *cfg = config(shm, RPC_RECEIVE_MANUAL);
    struct ps_track *t = malloc(sizeof *t);
    unsigned char buf[4096];
    rpc_node *p = NULL, *s = NULL;
    rpc_node_stats st;
    int runs;

    ASSERT(t != NULL);
    ps_track_init(t, 4096, PS_TRACK_GAPS);
    ASSERT_OK(rpc_node_create(cfg, "p4", &p));
    ASSERT_OK(rpc_node_create(cfg, "disc", &s));
    ASSERT_OK(rpc_subscribe(s, G, "disc", on_track, t));
    /* More stale records than one poll pass takes from a queue (64 at the
     * time of writing), so a poll that stops at a pass with no callback
     * would leave the live ones behind. */
    for (uint64_t q = 1; q <= STALE + 5; q++) {
        size_t size = ps_msg_size(4, q, 4096);
        if (q == STALE + 1) {
            /* STALE are queued: drop the subscription and take a new one. */
            ASSERT_OK(rpc_unsubscribe(s, G, "disc"));
            ASSERT_OK(rpc_subscribe(s, G, "disc", on_track, t));
        }
        ps_fill(buf, size, 4, q);
        ASSERT_OK(rpc_publish(p, G, "disc", buf, size, RPC_NO_WAIT));
    }
    runs = drain(s);
    ASSERT_MSG(t->errors == 0, "discard: %s", t->first_error);
    ASSERT_MSG(t->count[4] == 5 && t->last[4] == STALE + 5,
               "%llu callbacks (last seq %llu), want 5 (%d..%d): the %d messages queued "
               "for the dropped subscription must be discarded, and rpc_node_poll(0) must "
               "not return 0 while the newer ones are still queued",
               (unsigned long long)t->count[4], (unsigned long long)t->last[4], STALE + 1,
               STALE + 5, STALE);
    ASSERT_OK(rpc_node_get_stats(s, &st));
    ASSERT_EQ(st.received, 5);
    ASSERT_MSG(runs == 5, "rpc_node_poll reported %d callbacks run; 5 ran (it counts the "
               "discarded records too)", runs);
    ASSERT_OK(rpc_node_destroy(s));
    ASSERT_OK(rpc_node_destroy(p));
    rpc_config_destroy(cfg);
    free(t);
}

/* ---- message fields, group/topic isolation ---------------------------------------------- */

struct seen_msg {
    int calls;
    char group[64], topic[64], publisher[64], data[16];
    size_t size;
    uint64_t seq;
};

static void on_record(rpc_node *node, const rpc_message *m, void *user)
{
    struct seen_msg *s = user;
    (void)node;
    s->calls++;
    snprintf(s->group, sizeof s->group, "%s", m->group);
    snprintf(s->topic, sizeof s->topic, "%s", m->topic);
    snprintf(s->publisher, sizeof s->publisher, "%s", m->publisher);
    s->size = m->size;
    s->seq = m->seq;
    memset(s->data, 0, sizeof s->data);
    memcpy(s->data, m->data, m->size < sizeof s->data - 1 ? m->size : sizeof s->data - 1);
}

static void test_fields(void)
{
    rpc_config *cfg = config(shm, RPC_RECEIVE_MANUAL);
    struct seen_msg a, b, c;
    rpc_node *p = NULL, *s = NULL;

    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    memset(&c, 0, sizeof c);
    ASSERT_OK(rpc_node_create(cfg, "fields-pub", &p));
    ASSERT_OK(rpc_node_create(cfg, "fields-sub", &s));
    ASSERT_OK(rpc_subscribe(s, "g1", "t", on_record, &a));
    ASSERT_OK(rpc_subscribe(s, "g2", "t", on_record, &b));
    ASSERT_OK(rpc_subscribe(s, "g1", "t2", on_record, &c));
    ASSERT_OK(rpc_publish(p, "g9", "t", "x", 1, RPC_NO_WAIT));     /* seq 1: nobody */
    ASSERT_OK(rpc_publish(p, "g1", "t", "hello", 5, RPC_NO_WAIT)); /* seq 2 */
    ASSERT_EQ(drain(s), 1);
    ASSERT_EQ(a.calls, 1);
    ASSERT_EQ(b.calls, 0);
    ASSERT_EQ(c.calls, 0);
    ASSERT_STREQ(a.group, "g1");
    ASSERT_STREQ(a.topic, "t");
    ASSERT_STREQ(a.publisher, "fields-pub");
    ASSERT_STREQ(a.data, "hello");
    ASSERT_EQ(a.size, 5);
    ASSERT_EQ(a.seq, 2);
    ASSERT_OK(rpc_publish(p, "g2", "t", "two", 3, RPC_NO_WAIT));   /* seq 3 */
    ASSERT_EQ(drain(s), 1);
    ASSERT_EQ(a.calls, 1);
    ASSERT_EQ(b.calls, 1);
    ASSERT_STREQ(b.group, "g2");
    ASSERT_EQ(b.seq, 3);
    ASSERT_OK(rpc_node_destroy(s));
    ASSERT_OK(rpc_node_destroy(p));
    rpc_config_destroy(cfg);
}

/* ---- a publisher that left -------------------------------------------------------------- */

static void test_leaver(void)
{
    rpc_config *cfg = config(shm, RPC_RECEIVE_MANUAL);
    struct seen_msg m;
    rpc_node *s = NULL, *p = NULL, *o = NULL;

    memset(&m, 0, sizeof m);
    ASSERT_OK(rpc_node_create(cfg, "leaver-sub", &s));
    ASSERT_OK(rpc_subscribe(s, G, "leave", on_record, &m));
    ASSERT_OK(rpc_node_create(cfg, "leaver", &p));
    ASSERT_OK(rpc_publish(p, G, "leave", "bye", 3, RPC_NO_WAIT));
    ASSERT_OK(rpc_node_destroy(p));
    /* The lowest free slot is the one "leaver" had. */
    ASSERT_OK(rpc_node_create(cfg, "newcomer", &o));
    ASSERT_EQ(drain(s), 1);
    ASSERT_EQ(m.calls, 1);
    ASSERT_STREQ(m.data, "bye");
    ASSERT_STREQ(m.publisher, "leaver");
    ASSERT_OK(rpc_node_destroy(o));
    ASSERT_OK(rpc_node_destroy(s));
    rpc_config_destroy(cfg);
}

/* ---- subscribing from a callback ---------------------------------------------------------- */

struct cb_state {
    _Atomic int once, next, marker;
    int rc_unsub, rc_sub;
};

static void on_next(rpc_node *node, const rpc_message *m, void *user)
{
    struct cb_state *cs = user;
    (void)node;
    (void)m;
    atomic_fetch_add(&cs->next, 1);
}

static void on_once(rpc_node *node, const rpc_message *m, void *user)
{
    struct cb_state *cs = user;
    (void)m;
    cs->rc_unsub = rpc_unsubscribe(node, G, "once");
    cs->rc_sub = rpc_subscribe(node, G, "next", on_next, cs);
    atomic_fetch_add(&cs->once, 1);
}

static void on_marker(rpc_node *node, const rpc_message *m, void *user)
{
    struct cb_state *cs = user;
    (void)node;
    (void)m;
    atomic_fetch_add(&cs->marker, 1);
}

static void test_in_callback(void)
{
    rpc_config *tcfg = config(shm, RPC_RECEIVE_THREAD), *mcfg = config(shm, RPC_RECEIVE_MANUAL);
    struct cb_state cs;
    rpc_node *p = NULL, *s = NULL;
    int ok;

    memset(&cs, 0, sizeof cs);
    ASSERT_OK(rpc_node_create(mcfg, "cb-pub", &p));
    ASSERT_OK(rpc_node_create(tcfg, "cb-sub", &s));
    ASSERT_OK(rpc_subscribe(s, G, "once", on_once, &cs));
    ASSERT_OK(rpc_subscribe(s, G, "marker", on_marker, &cs));
    for (int i = 0; i < 3; i++)
        ASSERT_OK(rpc_publish(p, G, "once", NULL, 0, 10000));
    ASSERT_OK(rpc_publish(p, G, "marker", NULL, 0, 10000));
    TU_WAIT_UNTIL(ok, atomic_load(&cs.marker) == 1, tu_timeout_ms(10000));
    ASSERT_MSG(ok, "marker not received");
    ASSERT_EQ(atomic_load(&cs.once), 1);
    ASSERT_RC(cs.rc_unsub, 0);
    ASSERT_RC(cs.rc_sub, 0);
    ASSERT_EQ(rpc_is_subscribed(s, G, "once"), 0);
    ASSERT_EQ(rpc_is_subscribed(s, G, "next"), 1);
    ASSERT_OK(rpc_publish(p, G, "next", NULL, 0, 10000));
    TU_WAIT_UNTIL(ok, atomic_load(&cs.next) == 1, tu_timeout_ms(10000));
    ASSERT_MSG(ok, "the subscription made in a callback got nothing");
    ASSERT_OK(rpc_node_destroy(s));
    ASSERT_OK(rpc_node_destroy(p));
    rpc_config_destroy(tcfg);
    rpc_config_destroy(mcfg);
}

/* ---- sizes ------------------------------------------------------------------------------ */

static void sizes_for(size_t max, size_t queue, size_t shm_size)
{
    const char *name = ps_shm_name("sizes");
    rpc_config *cfg = config(name, RPC_RECEIVE_MANUAL);
    struct ps_track *t = malloc(sizeof *t);
    unsigned char *buf = malloc(max + 1);
    rpc_node *p = NULL, *s = NULL;
    rpc_node_stats st;
    char why[200];

    ASSERT(t != NULL && buf != NULL);
    if (shm_size != 0)
        ASSERT_OK(rpc_config_set_shm_size(cfg, shm_size));
    if (queue != 0)
        ASSERT_OK(rpc_config_set_queue_size(cfg, queue));
    ASSERT_OK(rpc_config_set_max_msg_size(cfg, max));
    ASSERT_EQ(rpc_config_max_msg_size(cfg), max);
    ps_track_init(t, 0, 0);
    ASSERT_OK(rpc_node_create(cfg, "p5", &p));
    ASSERT_OK(rpc_node_create(cfg, "sizes", &s));
    ASSERT_OK(rpc_subscribe(s, G, "sz", on_track, t));

    ASSERT_OK(rpc_publish(p, G, "sz", NULL, 0, RPC_NO_WAIT));         /* seq 1 */
    ASSERT_OK(rpc_publish(p, G, "sz", buf, 0, RPC_NO_WAIT));          /* seq 2 */
    ps_fill(buf, max, 5, 3);
    ASSERT_OK(rpc_publish(p, G, "sz", buf, max, RPC_WAIT_FOREVER));   /* seq 3 */
    ASSERT_OK(rpc_node_get_stats(p, &st));
    ASSERT_RC(rpc_publish(p, G, "sz", buf, max + 1, RPC_WAIT_FOREVER), RPC_EMSGSIZE);
    {
        rpc_node_stats st2;
        ASSERT_OK(rpc_node_get_stats(p, &st2));
        ASSERT_EQ(st2.published, st.published);
        ASSERT_EQ(st2.delivered, st.delivered);
        ASSERT_EQ(st2.bytes_out, (uint64_t)max);
    }
    ASSERT_EQ(drain(s), 3);
    ASSERT_MSG(t->errors == 0, "max %zu: %s", max, t->first_error);
    ASSERT_EQ(t->count[5], 3);
    ASSERT_OK(rpc_node_get_stats(s, &st));
    ASSERT_EQ(st.bytes_in, (uint64_t)max);
    /* The tracker checked content; check the big one's size directly too. */
    ps_fill(buf, max, 5, 3);
    ASSERT(ps_check(buf, max, 5, 3, why, sizeof why) == 0);
    ASSERT_OK(rpc_node_destroy(s));
    ASSERT_OK(rpc_node_destroy(p));
    rpc_config_destroy(cfg);
    ASSERT(!tu_shm_exists(name));
    free(buf);
    free(t);
}

/* The tracker derives sizes from the maximum; here sizes are explicit, so
 * a tracker with max 0 skips that check and verifies content only. */
static void test_sizes(void)
{
    sizes_for(0, 0, 0);
    sizes_for(1000, 0, 0);
    sizes_for(RPC_DEFAULT_MAX_MSG_SIZE, 0, 0);
    /* 16 MiB: two of them need a 64 MiB queue; pages are touched only as
     * used, so the large segment costs what the one message writes. */
    sizes_for((size_t)16 << 20, (size_t)64 << 20, (size_t)160 << 20);
}

int main(void)
{
    pid_t late;
    ps_init("ps_semantics");
    shm = ps_shm_name("sem");
    ps_chan_make(&cmd);
    ps_chan_make(&reply);
    /* Forked before this process has threads. */
    if ((late = tu_fork(0)) == 0)
        late_subscriber();

    test_late(late);
    test_self();
    test_fields();
    test_leaver();
    test_in_callback();
    test_sizes();
    test_discard();
    ASSERT(!tu_shm_exists(shm));
    return tu_done();
}
