/*
 * test_ps_integrity.c - every message reaches every subscriber exactly once,
 * in order and intact, in blocking mode.
 *
 *   test_ps_integrity [-n MESSAGES] [-p PUBLISHER_PROCS] [-s SUBSCRIBER_PROCS]
 *                     [-i PAIR_PROCS] [-m MAX_MSG_SIZE] [-q QUEUE_SIZE] [-u]
 *                     [-w SPIN_US] [-f]
 *
 * Publisher processes own one node "p<i>" each; subscriber processes own
 * one node "s<j>" each; a pair process owns a publisher node and a
 * subscriber node, so messages also flow between two nodes of one process
 * (and from each publisher to every subscriber, 16 queues with the
 * defaults 3 + 3 + 1).  All publish on and subscribe to one topic.  Every
 * publisher sends MESSAGES messages of ps_msg_size() bytes (0..max, most
 * small, about 1 % up to the maximum, exactly 0 and exactly max among
 * them) with RPC_WAIT_FOREVER-like blocking (a 60 s timeout, so a hang shows
 * as an error instead of a stuck test), then destroys its node at once:
 * what it queued must still arrive.  With -u the sizes are uniform over
 * 0..max instead (mostly large messages: queues fill and publishers wait).
 * -m and -q shrink the maximum message and the queues (set -m first so the
 * queue still holds two messages): small queues fill all the time, which
 * exercises the wait-for-room and wake-up paths; -w 0 makes receivers sleep
 * in the kernel at once instead of spinning first (every wake-up is then a
 * futex wake-up).  -f mixes the two wake-up protocols (src/pubsub.c): the
 * odd-numbered processes of each role run with LIBRPC_TEST_NO_MEMBARRIER=1
 * (full fences), the others with the asymmetric barriers where the kernel
 * has them, so every pairing of the two meets.
 *
 * Each subscriber checks per publisher: sequence numbers 1, 2, 3, ... with
 * nothing lost, duplicated or reordered, every size as expected, every
 * checksum right; at the end exactly MESSAGES from each publisher, and its
 * counters agree (received, bytes_in).  Each publisher checks its own
 * counters: published = MESSAGES, delivered = MESSAGES x subscribers,
 * dropped = 0, bytes_out = subscribers x the bytes it sent.
 */
#include "psutil.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GROUP "itg"
#define TOPIC "data"
#define PUBLISH_TIMEOUT_MS 60000

struct opts {
    long n;
    int pubs, subs, pairs;
    size_t max;
    size_t queue;
    int uniform;
    int spin_us;
    int mix_fences;
};

static struct opts o = {100000, 3, 3, 1, 0, 0, 0, RPC_DEFAULT_SPIN_US, 0};
static const char *shm;
static ps_chan results;
static tu_gate start;

static int n_publishers(void) { return o.pubs + o.pairs; }
static int n_subscribers(void) { return o.subs + o.pairs; }

static rpc_config *child_config(void)
{
    rpc_config *cfg = ps_config(shm, (unsigned)(n_publishers() * n_subscribers()));
    if (o.max != 0)
        ASSERT_OK(rpc_config_set_max_msg_size(cfg, o.max));
    if (o.queue != 0)
        ASSERT_OK(rpc_config_set_queue_size(cfg, o.queue));
    ASSERT_OK(rpc_config_set_spin_us(cfg, o.spin_us));
    return cfg;
}

/* Bytes publisher `pub` sends in all. */
static uint64_t pub_bytes(uint32_t pub, size_t max)
{
    uint64_t sum = 0;
    for (long s = 1; s <= o.n; s++)
        sum += ps_msg_size(pub, (uint64_t)s, max);
    return sum;
}

/* ---- subscriber side --------------------------------------------------------- */

struct sub_state {
    struct ps_track track;
    _Atomic uint64_t seen;   /* progress, read by the waiting thread */
};

static void on_msg(rpc_node *node, const rpc_message *m, void *user)
{
    struct sub_state *st = user;
    int id = ps_pub_id(m->publisher);
    (void)node;
    ps_track(&st->track, id < 0 ? PS_MAX_PUBS : (uint32_t)id, m);
    atomic_fetch_add_explicit(&st->seen, 1, memory_order_release);
}

static rpc_node *make_subscriber(rpc_config *cfg, int id, struct sub_state *st)
{
    char name[32];
    rpc_node *node = NULL;
    snprintf(name, sizeof name, "s%d", id);
    ASSERT_OK(rpc_node_create(cfg, name, &node));
    ps_track_init(&st->track, rpc_config_max_msg_size(cfg), 0);
    atomic_init(&st->seen, 0);
    ASSERT_OK(rpc_subscribe(node, GROUP, TOPIC, on_msg, st));
    return node;
}

/* Wait for every message, then check and report; returns the failures. */
static int finish_subscriber(rpc_node *node, struct sub_state *st, int id, size_t max)
{
    uint64_t want = (uint64_t)o.n * (uint64_t)n_publishers(), bytes = 0;
    int64_t deadline = tu_now_ms() + tu_timeout_ms(200000);
    rpc_node_stats stats;
    int bad = 0;
    while (atomic_load_explicit(&st->seen, memory_order_acquire) < want &&
           tu_now_ms() < deadline)
        tu_sleep_ms(10);
    ASSERT_OK(rpc_node_get_stats(node, &stats));
    /* Destroying joins the receive thread: the tracker is ours after. */
    ASSERT_OK(rpc_node_destroy(node));
    for (int p = 0; p < n_publishers(); p++) {
        bytes += pub_bytes((uint32_t)p, max);
        if (st->track.count[p] != (uint64_t)o.n) {
            tu_log("s%d: %llu messages from p%d, want %ld (last seq %llu)", id,
                   (unsigned long long)st->track.count[p], p, o.n,
                   (unsigned long long)st->track.last[p]);
            bad++;
        }
    }
    if (st->track.errors != 0) {
        tu_log("s%d: %llu bad messages; first: %s", id, (unsigned long long)st->track.errors,
               st->track.first_error);
        bad++;
    }
    if (st->track.total != want || stats.received != want || stats.bytes_in != bytes) {
        tu_log("s%d: callbacks %llu, counters received %llu bytes_in %llu; want %llu and "
               "%llu bytes", id, (unsigned long long)st->track.total,
               (unsigned long long)stats.received, (unsigned long long)stats.bytes_in,
               (unsigned long long)want, (unsigned long long)bytes);
        bad++;
    }
    ps_chan_send(&results, "sub %d %s", id, bad ? "FAIL" : "ok");
    return bad;
}

/* ---- publisher side ------------------------------------------------------------ */

static rpc_node *make_publisher(rpc_config *cfg, int id)
{
    char name[32];
    rpc_node *node = NULL;
    snprintf(name, sizeof name, "p%d", id);
    ASSERT_OK(rpc_node_create(cfg, name, &node));
    return node;
}

static int run_publisher(rpc_node *node, int id, size_t max)
{
    unsigned char *buf = malloc(max > 0 ? max : 1);
    uint64_t bytes = 0;
    rpc_node_stats st;
    int bad = 0;
    ASSERT(buf != NULL);
    for (long s = 1; s <= o.n; s++) {
        size_t size = ps_msg_size((uint32_t)id, (uint64_t)s, max);
        int rc;
        ps_fill(buf, size, (uint32_t)id, (uint64_t)s);
        rc = rpc_publish(node, GROUP, TOPIC, buf, size, PUBLISH_TIMEOUT_MS);
        if (rc != 0) {
            tu_log("p%d: publish #%ld (%zu bytes): %s; %s", id, s, size, tu_errname(rc),
                   rpc_errdetail());
            bad++;
            break;
        }
        bytes += size;
    }
    free(buf);
    ASSERT_OK(rpc_node_get_stats(node, &st));
    if (st.published != (uint64_t)o.n ||
        st.delivered != (uint64_t)o.n * (uint64_t)n_subscribers() || st.dropped != 0 ||
        st.bytes_out != bytes * (uint64_t)n_subscribers()) {
        tu_log("p%d: published %llu delivered %llu dropped %llu bytes_out %llu; want %ld, "
               "%ld x %d, 0, %llu x %d", id, (unsigned long long)st.published,
               (unsigned long long)st.delivered, (unsigned long long)st.dropped,
               (unsigned long long)st.bytes_out, o.n, o.n, n_subscribers(),
               (unsigned long long)bytes, n_subscribers());
        bad++;
    }
    ps_chan_send(&results, "pub %d %s", id, bad ? "FAIL" : "ok");
    return bad;
}

/* ---- the processes ---------------------------------------------------------------- */

static pid_t start_child(int role, int id, ps_chan *ready)
{
    pid_t pid = tu_fork(0);
    rpc_config *cfg;
    int bad = 0;
    if (pid != 0)
        return pid;
    if (o.mix_fences && id % 2 == 1)
        setenv("LIBRPC_TEST_NO_MEMBARRIER", "1", 1);
    cfg = child_config();
    if (role == 's') {
        struct sub_state *st = calloc(1, sizeof *st);
        rpc_node *node;
        ASSERT(st != NULL);
        node = make_subscriber(cfg, id, st);
        ps_chan_send(ready, "ready s%d", id);
        bad = finish_subscriber(node, st, id, rpc_config_max_msg_size(cfg));
        free(st);
    } else if (role == 'p') {
        rpc_node *node = make_publisher(cfg, id);
        ps_chan_send(ready, "ready p%d", id);
        tu_gate_wait(&start);
        bad = run_publisher(node, id, rpc_config_max_msg_size(cfg));
        ASSERT_OK(rpc_node_destroy(node));
    } else {
        /* A pair: publisher p<pid_id> and subscriber s<sub_id> in one process. */
        struct sub_state *st = calloc(1, sizeof *st);
        int pub_id = o.pubs + id, sub_id = o.subs + id;
        rpc_node *sub, *pub;
        ASSERT(st != NULL);
        sub = make_subscriber(cfg, sub_id, st);
        pub = make_publisher(cfg, pub_id);
        ps_chan_send(ready, "ready pair%d", id);
        tu_gate_wait(&start);
        bad = run_publisher(pub, pub_id, rpc_config_max_msg_size(cfg));
        ASSERT_OK(rpc_node_destroy(pub));
        bad += finish_subscriber(sub, st, sub_id, rpc_config_max_msg_size(cfg));
        free(st);
    }
    rpc_config_destroy(cfg);
    exit(bad ? 1 : 0);
}

static void parse(int argc, char **argv)
{
    int c;
    while ((c = getopt(argc, argv, "n:p:s:i:m:q:uw:f")) != -1) {
        switch (c) {
        case 'n': o.n = ps_arg_num(optarg); break;
        case 'p': o.pubs = (int)ps_arg_num(optarg); break;
        case 's': o.subs = (int)ps_arg_num(optarg); break;
        case 'i': o.pairs = (int)ps_arg_num(optarg); break;
        case 'm': o.max = (size_t)ps_arg_num(optarg); break;
        case 'q': o.queue = (size_t)ps_arg_num(optarg); break;
        case 'u': o.uniform = 1; break;
        case 'w': o.spin_us = (int)ps_arg_num(optarg); break;
        case 'f': o.mix_fences = 1; break;
        default:
            fprintf(stderr, "usage: %s [-n N] [-p PUBS] [-s SUBS] [-i PAIRS] [-m MAX] [-q QUEUE] [-u] [-w SPIN] [-f]\n",
                    argv[0]);
            exit(2);
        }
    }
    ASSERT_MSG(n_publishers() >= 1 && n_subscribers() >= 1 && n_publishers() < PS_MAX_PUBS &&
               n_subscribers() < 32, "need 1..63 publishers and 1..31 subscribers");
}

static void count_ok(const char *line, void *arg)
{
    if (strstr(line, " ok") != NULL)
        ++*(int *)arg;
    else
        tu_log("child reported: %s", line);
}

int main(int argc, char **argv)
{
    ps_chan ready;
    pid_t pids[96];
    int np = 0, ok = 0;
    int64_t t0, t1;

    ps_init("ps_integrity");
    parse(argc, argv);
    ps_sizes_uniform(o.uniform);
    shm = ps_shm_name("itg");
    ps_chan_make(&ready);
    ps_chan_make(&results);
    tu_gate_make(&start);
    tu_log("%d publisher and %d subscriber processes, %d pair processes, %ld messages each, "
           "%s sizes", o.pubs, o.subs, o.pairs, o.n, o.uniform ? "uniform" : "mostly small");

    /* Every child is forked before this process has any thread. */
    for (int i = 0; i < o.subs; i++)
        pids[np++] = start_child('s', i, &ready);
    for (int i = 0; i < o.pubs; i++)
        pids[np++] = start_child('p', i, &ready);
    for (int i = 0; i < o.pairs; i++)
        pids[np++] = start_child('x', i, &ready);

    ps_collect(&ready, np, tu_timeout_ms(30000), pids, np, NULL, NULL);
    /* Everybody subscribed: go. */
    t0 = tu_now_ms();
    tu_gate_open(&start, n_publishers());
    ps_collect(&results, n_publishers() + n_subscribers(), tu_timeout_ms(240000), pids, np,
               count_ok, &ok);
    t1 = tu_now_ms();
    ps_reap_all(pids, np, tu_timeout_ms(30000));
    ASSERT_EQ(ok, n_publishers() + n_subscribers());
    {
        double secs = (double)(t1 - t0) / 1000.0;
        double copies = (double)o.n * n_publishers() * n_subscribers();
        tu_log("%.0f deliveries checked in %.2f s (%.0f/s)", copies, secs,
               secs > 0 ? copies / secs : 0.0);
    }
    ps_chan_close(&ready);
    ps_chan_close(&results);
    ASSERT_MSG(!tu_shm_exists(shm), "segment %s left behind after every node left", shm);
    return tu_done();
}
