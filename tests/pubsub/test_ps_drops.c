/*
 * test_ps_drops.c - drops are counted, never hidden.
 *
 * A subscriber in another process is a manual-mode node that does not poll
 * until told to, so its queue fills.  The test process publishes to it with
 * RPC_NO_WAIT: each call returns 0 or RPC_EAGAIN at once (no call waits),
 * and afterwards the publisher's counters say exactly what happened:
 * published = calls, delivered + dropped = published, dropped > 0,
 * delivered = the calls that returned 0.  Then the subscriber polls and
 * gets exactly `delivered` messages: the very sequence numbers whose
 * publish returned 0, in order, intact.  Two rounds, so the second starts
 * from a drained queue and leaves a gap in the sequence.
 *
 * Between the rounds, one publish with a 100 ms timeout into the full
 * queue must fail with RPC_ETIMEDOUT after about 100 ms (not before, not
 * much later) and count one more drop.
 */
#include "psutil.h"

#include <stdlib.h>
#include <string.h>

#define GROUP "drops"
#define TOPIC "t"
#define PER_ROUND 4000

static const char *shm;
static ps_chan cmd, reply;

/* ---- the stalled subscriber ----------------------------------------------- */

static void on_msg(rpc_node *node, const rpc_message *m, void *user)
{
    (void)node;
    /* The only publisher is "p0". */
    ps_track(user, (uint32_t)ps_pub_id(m->publisher), m);
}

static void subscriber(void)
{
    rpc_config *cfg = tu_config(shm);
    struct ps_track *t = malloc(sizeof *t);
    rpc_node *node = NULL;
    char line[128];
    ASSERT(t != NULL);
    ps_config_mode(cfg, RPC_RECEIVE_MANUAL, 0);
    ASSERT_OK(rpc_node_create(cfg, "stalled", &node));
    ps_track_init(t, rpc_config_max_msg_size(cfg), PS_TRACK_GAPS);
    ASSERT_OK(rpc_subscribe(node, GROUP, TOPIC, on_msg, t));
    ps_chan_send(&reply, "ready");
    for (;;) {
        rpc_node_stats st;
        int rc;
        ps_chan_recv(&cmd, line, sizeof line, tu_timeout_ms(120000));
        if (strcmp(line, "quit") == 0)
            break;
        ASSERT_STREQ(line, "poll");
        /* Everything was queued before the command came: poll without
         * waiting until a pass finds nothing. */
        while ((rc = rpc_node_poll(node, 0)) > 0)
            ;
        ASSERT_EQ(rc, 0);
        ASSERT_OK(rpc_node_get_stats(node, &st));
        ps_chan_send(&reply, "%llu %llu %llu %llu %s",
                     (unsigned long long)t->count[0], (unsigned long long)t->seqhash[0],
                     (unsigned long long)st.received, (unsigned long long)t->errors,
                     t->errors ? t->first_error : "-");
    }
    ASSERT_OK(rpc_node_destroy(node));
    rpc_config_destroy(cfg);
    free(t);
    exit(0);
}

/* ---- the publisher ---------------------------------------------------------- */

struct expect {
    uint64_t ok, again, bytes;
    uint64_t seqhash;
};

static void publish_round(rpc_node *pub, uint64_t *seq, struct expect *e, size_t max,
                          unsigned char *buf)
{
    int64_t worst = 0;
    for (int i = 0; i < PER_ROUND; i++) {
        uint64_t s = ++*seq;
        size_t size = ps_msg_size(0, s, max);
        int64_t t0;
        int rc;
        ps_fill(buf, size, 0, s);
        t0 = tu_now_ms();
        rc = rpc_publish(pub, GROUP, TOPIC, buf, size, RPC_NO_WAIT);
        if (tu_now_ms() - t0 > worst)
            worst = tu_now_ms() - t0;
        if (rc == 0) {
            e->ok++;
            e->bytes += size;
            e->seqhash = ps_fnv(e->seqhash, &s, sizeof s);
        } else {
            ASSERT_RC(rc, RPC_EAGAIN);
            e->again++;
        }
    }
    tu_log("so far %llu queued, %llu dropped; slowest RPC_NO_WAIT call %lld ms",
           (unsigned long long)e->ok, (unsigned long long)e->again, (long long)worst);
    /* "Fails at once": never a wait for room.  Generous for a loaded box. */
    ASSERT_MSG(worst < tu_timeout_ms(2000), "an RPC_NO_WAIT publish took %lld ms",
               (long long)worst);
}

static void check_counters(rpc_node *pub, uint64_t calls, const struct expect *e)
{
    rpc_node_stats st;
    ASSERT_OK(rpc_node_get_stats(pub, &st));
    ASSERT_EQ(st.published, calls);
    ASSERT_EQ(st.delivered + st.dropped, st.published);
    ASSERT_EQ(st.delivered, e->ok);
    ASSERT_EQ(st.dropped, e->again);
    ASSERT_EQ(st.bytes_out, e->bytes);
    ASSERT(st.dropped > 0);
}

/* Let the subscriber drain and compare what it got with what was queued. */
static void check_subscriber(const struct expect *e)
{
    unsigned long long count, hash, received, errors;
    char line[512], first[300] = "";
    ps_chan_send(&cmd, "poll");
    ps_chan_recv(&reply, line, sizeof line, tu_timeout_ms(60000));
    ASSERT_MSG(sscanf(line, "%llu %llu %llu %llu %299[^\n]", &count, &hash, &received,
                      &errors, first) == 5, "bad reply \"%s\"", line);
    ASSERT_MSG(errors == 0, "subscriber: %llu bad messages; first: %s", errors, first);
    ASSERT_EQ(count, e->ok);
    ASSERT_EQ(received, e->ok);
    ASSERT_MSG(hash == e->seqhash, "the subscriber got other sequence numbers than the "
               "publishes that returned 0");
}

int main(void)
{
    rpc_config *cfg;
    rpc_node *pub = NULL;
    struct expect e = {0, 0, 0, PS_FNV_INIT};
    uint64_t seq = 0;
    unsigned char *buf;
    size_t max;
    pid_t child;
    int64_t t0, took;
    int rc;

    ps_init("ps_drops");
    shm = ps_shm_name("drops");
    ps_chan_make(&cmd);
    ps_chan_make(&reply);
    child = tu_fork(0);
    if (child == 0)
        subscriber();
    ps_collect(&reply, 1, tu_timeout_ms(30000), &child, 1, NULL, NULL);

    cfg = tu_config(shm);
    ps_config_mode(cfg, RPC_RECEIVE_MANUAL, 0);   /* a publisher needs no thread */
    ASSERT_OK(rpc_node_create(cfg, "p0", &pub));
    max = rpc_config_max_msg_size(cfg);
    buf = malloc(max);
    ASSERT(buf != NULL);

    publish_round(pub, &seq, &e, max, buf);
    check_counters(pub, seq, &e);

    /* The queue is full now: a bounded wait ends with RPC_ETIMEDOUT. */
    seq++;
    ps_fill(buf, 1000, 0, seq);
    t0 = tu_now_ms();
    rc = rpc_publish(pub, GROUP, TOPIC, buf, 1000, 100);
    took = tu_now_ms() - t0;
    ASSERT_RC(rc, RPC_ETIMEDOUT);
    e.again++;
    tu_log("publish into a full queue with a 100 ms timeout: %s after %lld ms",
           tu_errname(rc), (long long)took);
    ASSERT_MSG(took >= 99, "gave up after %lld ms, before its 100 ms timeout", (long long)took);
    ASSERT_MSG(took < 100 + tu_timeout_ms(2000), "waited %lld ms for a 100 ms timeout",
               (long long)took);
    check_counters(pub, seq, &e);
    check_subscriber(&e);

    /* Round two starts from a drained queue. */
    publish_round(pub, &seq, &e, max, buf);
    check_counters(pub, seq, &e);
    check_subscriber(&e);

    ps_chan_send(&cmd, "quit");
    TU_EXPECT_EXIT0(child, tu_timeout_ms(20000));
    ASSERT_OK(rpc_node_destroy(pub));
    rpc_config_destroy(cfg);
    free(buf);
    return tu_done();
}
