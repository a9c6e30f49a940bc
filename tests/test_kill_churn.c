/*
 * test_kill_churn.c - SIGKILL at any moment of the protocol.
 *
 * The other crash tests kill idle processes.  Here 4 churner processes
 * create and destroy nodes in a tight loop and the test kills a random one
 * with SIGKILL every few milliseconds (so some die holding the life-cycle
 * lock, half-way through registering or removing a node), then restarts it
 * under the same node names.  Meanwhile a holder process stays attached.
 *
 * Asserted:
 * - every churner's create and destroy succeeds; a restarted churner is
 *   never refused its names (RPC_EEXIST) because of its dead predecessor's
 *   nodes: those are dead, and names are unique only among live nodes;
 * - every churner attachment is in the holder's segment (same segment id,
 *   file at the path), since the holder never left;
 * - after the last kill the survivors' sweep brings the segment back to
 *   exactly the holder's node (listed alone, registered = active = 1)
 *   within the reclaim deadline;
 * - without a holder, after all are killed, the next joiner starts clean
 *   and last-out removes the segment.
 */
#include "testutil.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define NCHURN 4
#define RUN_MS 3000

struct shared {
    _Atomic uint64_t holder_id;  /* 0: no holder in this phase */
    _Atomic int errors, eexist, violations, cycles;
};

static struct shared *sh;

static void churner(const char *name, int k)
{
    rpc_config *cfg = tu_config(name);
    char a[32], b[32];
    snprintf(a, sizeof a, "churn%d-a", k);
    snprintf(b, sizeof b, "churn%d-b", k);
    for (;;) {
        rpc_node *na = NULL, *nb = NULL;
        rpc_domain_info info;
        int rc = rpc_node_create(cfg, a, &na);
        if (rc == 0)
            rc = rpc_node_create(cfg, b, &nb);
        if (rc != 0) {
            if (rc == RPC_EEXIST)
                sh->eexist++;
            else
                sh->errors++;
            tu_log("churner %d: create: %s (%s)", k, tu_errname(rc), rpc_errdetail());
            rpc_node_destroy(na);
            tu_sleep_ms(5);
            continue;
        }
        if (sh->holder_id != 0 && rpc_node_segment_id(na) != sh->holder_id)
            sh->violations++;
        if (rpc_domain_stat(cfg, &info) != 0 || info.segment_id != rpc_node_segment_id(na))
            sh->violations++;
        if (rpc_node_destroy(nb) != 0 || rpc_node_destroy(na) != 0)
            sh->errors++;
        sh->cycles++;
    }
}

static pid_t start_churner(const char *name, int k)
{
    pid_t pid = tu_fork(0);
    if (pid == 0)
        churner(name, k);
    return pid;
}

/* Run the churners for RUN_MS, killing and restarting them at random;
 * finally kill them all.  Returns the number of kills. */
static int churn_and_kill(const char *name)
{
    pid_t pids[NCHURN];
    unsigned seed = (unsigned)getpid();
    int kills = 0;
    int64_t end = tu_now_ms() + RUN_MS;
    for (int k = 0; k < NCHURN; k++)
        pids[k] = start_churner(name, k);
    while (tu_now_ms() < end) {
        int k = (int)(rand_r(&seed) % NCHURN);
        tu_sleep_ms(2 + (int)(rand_r(&seed) % 20));
        tu_kill9(pids[k]);
        kills++;
        pids[k] = start_churner(name, k);
    }
    for (int k = 0; k < NCHURN; k++)
        tu_kill9(pids[k]);
    return kills + NCHURN;
}

static int only_holder_left(void *arg)
{
    const rpc_config *cfg = arg;
    rpc_node_info list[8];
    rpc_domain_info info;
    return rpc_domain_list_nodes(cfg, list, 8) == 1 && strcmp(list[0].name, "holder") == 0 &&
           rpc_domain_stat(cfg, &info) == 0 && info.registered_nodes == 1 &&
           info.live_nodes == 1 && rpc_domain_active_nodes(cfg) == 1;
}

static void with_holder(void)
{
    const char *name = tu_shm_name("held");
    rpc_config *cfg = tu_config(name);
    int kills, elapsed;
    tu_peer holder;

    memset(sh, 0, sizeof *sh);
    tu_peer_start(&holder, name, 0);
    ASSERT_EQ(tu_peer_cmd(&holder, NULL, 0, "create holder"), 0);
    sh->holder_id = tu_peer_segid(&holder, "holder");

    kills = churn_and_kill(name);
    elapsed = tu_wait_until(only_holder_left, cfg, tu_reclaim_deadline_ms());
    if (elapsed < 0) {
        rpc_node_info list[16];
        int n = rpc_domain_list_nodes(cfg, list, 16);
        for (int i = 0; i < n && i < 16; i++)
            tu_log("still listed: %s (slot %u, %s)", list[i].name, list[i].slot,
                   list[i].alive ? "alive" : "dead");
        TU_FAIL("%d node(s) listed %d ms after the last kill; want only the holder's", n,
                tu_reclaim_deadline_ms());
    }
    tu_log("with holder: %d kills, %d cycles, clean %d ms after the last kill", kills,
           (int)sh->cycles, elapsed);
    ASSERT_EQ(sh->errors, 0);
    ASSERT_MSG(sh->eexist == 0, "%d creates refused with RPC_EEXIST for a dead node's name",
               (int)sh->eexist);
    ASSERT_EQ(sh->violations, 0);
    ASSERT(sh->cycles > 0);
    ASSERT_EQ(tu_peer_segid(&holder, "holder"), sh->holder_id);
    ASSERT_EQ(tu_peer_cmd(&holder, NULL, 0, "check"), 0);
    /* The holder can still work, then leave last. */
    ASSERT_EQ(tu_peer_cmd(&holder, NULL, 0, "create churn0-a"), 0);
    tu_peer_quit(&holder);
    ASSERT_MSG(!tu_shm_exists(name), "the holder left last but the segment stayed");
    rpc_config_destroy(cfg);
}

static void without_holder(void)
{
    const char *name = tu_shm_name("free");
    rpc_config *cfg = tu_config(name);
    rpc_node_info list[8];
    int kills;
    tu_peer joiner;

    memset(sh, 0, sizeof *sh);
    kills = churn_and_kill(name);
    tu_log("without holder: %d kills, %d cycles", kills, (int)sh->cycles);
    ASSERT_EQ(sh->errors, 0);
    ASSERT_MSG(sh->eexist == 0, "%d creates refused with RPC_EEXIST for a dead node's name",
               (int)sh->eexist);
    ASSERT_EQ(sh->violations, 0);
    /* Whatever state the kills left, the next joiner starts clean. */
    tu_peer_start(&joiner, name, 0);
    ASSERT_EQ(tu_peer_cmd(&joiner, NULL, 0, "create churn1-a"), 0);
    ASSERT_EQ(rpc_domain_list_nodes(cfg, list, 8), 1);
    ASSERT_STREQ(list[0].name, "churn1-a");
    ASSERT_EQ(rpc_domain_active_nodes(cfg), 1);
    tu_peer_quit(&joiner);
    ASSERT_MSG(!tu_shm_exists(name), "segment left after the joiner left");
    rpc_config_destroy(cfg);
}

int main(void)
{
    tu_init("kill_churn");
    sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ASSERT(sh != MAP_FAILED);
    with_holder();
    without_holder();
    munmap(sh, sizeof *sh);
    return tu_done();
}
