/*
 * test_ps_pub_killed.c - a publisher SIGKILLed mid-write leaves no torn
 * message and loses none it completed.
 *
 * Rounds (default 6): in each, a publisher process "p<r>" sends messages of
 * sizes uniform over 0..max (mostly large, so it spends its time copying
 * into the queues) in blocking mode, as fast as the subscribers take them,
 * recording in shared memory the sequence number it is about to publish
 * (attempted) and the last one whose rpc_publish returned 0 (completed).
 * After a random number of completed messages the test SIGKILLs it, most
 * likely in the middle of a copy.
 *
 * Two subscribers, both manual-mode nodes: one in the test process, one
 * in another process.  Once the dead publisher's node has been reclaimed,
 * each drains its queue and must have received exactly the messages
 * 1..k of that publisher, in order, every checksum right, with
 *   completed <= k <= attempted
 * (a message counts as sent once it is committed, which may be just before
 * rpc_publish returns).
 *
 * All publisher processes are forked before any thread exists here; each
 * waits for its turn on a pipe.
 */
#include "psutil.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define GROUP "kill"
#define TOPIC "pub"
#define MAX_ROUNDS 16

struct progress {
    _Atomic uint64_t attempted;
    _Atomic uint64_t completed;
};

static const char *shm;
static int rounds = 6;
static struct progress *prog;   /* MAP_SHARED: one per round */
static tu_gate go[MAX_ROUNDS];
static ps_chan ready, cmd, results;

/* ---- publisher processes --------------------------------------------------------- */

static void publisher(int r)
{
    rpc_config *cfg;
    rpc_node *node = NULL;
    unsigned char *buf;
    char name[16];
    size_t max;
    tu_gate_wait(&go[r]);
    cfg = tu_config(shm);
    ps_config_mode(cfg, RPC_RECEIVE_MANUAL, 0);
    snprintf(name, sizeof name, "p%d", r);
    ASSERT_OK(rpc_node_create(cfg, name, &node));
    max = rpc_config_max_msg_size(cfg);
    ASSERT((buf = malloc(max)) != NULL);
    ps_chan_send(&ready, "publishing %d", r);
    for (uint64_t s = 1;; s++) {
        size_t size = ps_msg_size((uint32_t)r, s, max);
        int rc;
        ps_fill(buf, size, (uint32_t)r, s);
        atomic_store(&prog[r].attempted, s);
        rc = rpc_publish(node, GROUP, TOPIC, buf, size, 60000);
        if (rc != 0) {
            tu_log("p%d: publish #%llu: %s", r, (unsigned long long)s, tu_errname(rc));
            exit(1);
        }
        atomic_store(&prog[r].completed, s);
    }
}

/* ---- subscribers ------------------------------------------------------------------ */

static void on_msg(rpc_node *node, const rpc_message *m, void *user)
{
    int id = ps_pub_id(m->publisher);
    (void)node;
    ps_track(user, id < 0 ? PS_MAX_PUBS : (uint32_t)id, m);
}

static rpc_node *make_sub(rpc_config *cfg, const char *name, struct ps_track *t)
{
    rpc_node *node = NULL;
    ASSERT_OK(rpc_node_create(cfg, name, &node));
    ps_track_init(t, rpc_config_max_msg_size(cfg), 0);
    ASSERT_OK(rpc_subscribe(node, GROUP, TOPIC, on_msg, t));
    return node;
}

/* Poll until a pass finds nothing: everything committed has run. */
static void drain(rpc_node *node)
{
    int rc;
    while ((rc = rpc_node_poll(node, 0)) > 0)
        ;
    ASSERT_RC(rc, 0);
}

/* The subscriber process: polls; on "report R" drains and reports. */
static void remote_subscriber(void)
{
    rpc_config *cfg = tu_config(shm);
    struct ps_track *t = malloc(sizeof *t);
    rpc_node *node;
    ASSERT(t != NULL);
    ps_config_mode(cfg, RPC_RECEIVE_MANUAL, 0);
    node = make_sub(cfg, "remote", t);
    ps_chan_send(&ready, "ready remote");
    for (;;) {
        char line[64];
        int r;
        ASSERT(rpc_node_poll(node, 10) >= 0);
        if (ps_chan_try_recv(&cmd, line, sizeof line, 0) != 0)
            continue;
        if (strcmp(line, "quit") == 0)
            break;
        ASSERT(sscanf(line, "report %d", &r) == 1 && r >= 0 && r < MAX_ROUNDS);
        drain(node);
        ps_chan_send(&results, "%llu %llu %llu %s", (unsigned long long)t->count[r],
                     (unsigned long long)t->last[r], (unsigned long long)t->errors,
                     t->errors ? t->first_error : "-");
    }
    ASSERT_OK(rpc_node_destroy(node));
    rpc_config_destroy(cfg);
    free(t);
    exit(0);
}

/* ---- the test ---------------------------------------------------------------------- */

static void check(const char *who, int r, uint64_t count, uint64_t last, uint64_t errors,
                  const char *first, uint64_t completed, uint64_t attempted)
{
    ASSERT_MSG(errors == 0, "%s: %llu bad messages; first: %s", who,
               (unsigned long long)errors, first);
    ASSERT_MSG(count == last, "%s: %llu messages from p%d but the last was #%llu", who,
               (unsigned long long)count, r, (unsigned long long)last);
    ASSERT_MSG(count >= completed && count <= attempted,
               "%s: got %llu messages of p%d, which completed %llu and attempted %llu", who,
               (unsigned long long)count, r, (unsigned long long)completed,
               (unsigned long long)attempted);
}

static void copy_line(const char *l, void *arg)
{
    snprintf(arg, 512, "%s", l);
}

static void one_round(int r, pid_t pub_pid, pid_t remote_pid, rpc_config *cfg, rpc_node *local,
                   struct ps_track *t, unsigned *seed)
{
    pid_t both[2] = {pub_pid, remote_pid};
    uint64_t target = 20 + (uint64_t)(rand_r(seed) % 200), completed, attempted;
    unsigned long long count, last, errors;
    char line[512], first[300] = "", name[16];
    int64_t deadline = tu_now_ms() + tu_timeout_ms(60000);
    int gone;

    tu_gate_open(&go[r], 1);
    ps_collect(&ready, 1, tu_timeout_ms(30000), both, 2, NULL, NULL);
    while (atomic_load(&prog[r].completed) < target) {
        ASSERT(rpc_node_poll(local, 5) >= 0);
        ASSERT_MSG(tu_now_ms() < deadline, "p%d completed only %llu messages", r,
                   (unsigned long long)atomic_load(&prog[r].completed));
    }
    /* A little more, so the kill lands at a random point of a copy. */
    for (int i = rand_r(seed) % 4; i > 0; i--)
        ASSERT(rpc_node_poll(local, 0) >= 0);
    tu_kill9(pub_pid);
    completed = atomic_load(&prog[r].completed);
    attempted = atomic_load(&prog[r].attempted);

    /* Once the node is reclaimed its queues are final: drain them. */
    snprintf(name, sizeof name, "p%d", r);
    deadline = tu_now_ms() + tu_reclaim_deadline_ms() * ps_slow_factor();
    for (;;) {
        gone = tu_domain_has_node(cfg, name) == 0;
        if (gone || tu_now_ms() > deadline)
            break;
        ASSERT(rpc_node_poll(local, 5) >= 0);
    }
    ASSERT_MSG(gone, "the killed publisher %s was not reclaimed", name);
    drain(local);
    check("local", r, t->count[r], t->last[r], t->errors, t->first_error, completed, attempted);

    ps_chan_send(&cmd, "report %d", r);
    ps_collect(&results, 1, tu_timeout_ms(60000), &remote_pid, 1, copy_line, line);
    ASSERT_MSG(sscanf(line, "%llu %llu %llu %299[^\n]", &count, &last, &errors, first) == 4,
               "bad report \"%s\"", line);
    check("remote", r, count, last, errors, first, completed, attempted);
    tu_log("round %d: killed after %llu completed (%s); local got %llu, remote %llu", r,
           (unsigned long long)completed,
           attempted > completed ? "inside rpc_publish" : "between calls",
           (unsigned long long)t->count[r], count);
}

int main(int argc, char **argv)
{
    pid_t pubs[MAX_ROUNDS], remote_pid;
    struct ps_track *t;
    rpc_config *cfg;
    rpc_node *local;
    unsigned seed = (unsigned)getpid();

    ps_init("ps_pub_killed");
    if (argc > 1)
        rounds = (int)ps_arg_num(argv[1]);
    ASSERT(rounds >= 1 && rounds <= MAX_ROUNDS);
    ps_sizes_uniform(1);
    shm = ps_shm_name("pk");
    prog = mmap(NULL, sizeof *prog * MAX_ROUNDS, PROT_READ | PROT_WRITE,
                MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ASSERT(prog != MAP_FAILED);
    ps_chan_make(&ready);
    ps_chan_make(&cmd);
    ps_chan_make(&results);
    for (int r = 0; r < rounds; r++)
        tu_gate_make(&go[r]);
    /* Every child before the first thread (a node's threads) exists here. */
    for (int r = 0; r < rounds; r++)
        if ((pubs[r] = tu_fork(0)) == 0)
            publisher(r);
    if ((remote_pid = tu_fork(0)) == 0)
        remote_subscriber();
    ps_collect(&ready, 1, tu_timeout_ms(30000), &remote_pid, 1, NULL, NULL);

    ASSERT((t = malloc(sizeof *t)) != NULL);   /* after the forks: not the children's */
    cfg = tu_config(shm);
    ps_config_mode(cfg, RPC_RECEIVE_MANUAL, 0);
    local = make_sub(cfg, "local", t);
    tu_log("seed %u", seed);
    for (int r = 0; r < rounds; r++)
        one_round(r, pubs[r], remote_pid, cfg, local, t, &seed);

    ps_chan_send(&cmd, "quit");
    TU_EXPECT_EXIT0(remote_pid, tu_timeout_ms(20000));
    ASSERT_OK(rpc_node_destroy(local));
    rpc_config_destroy(cfg);
    free(t);
    return tu_done();
}
