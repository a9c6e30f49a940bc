/*
 * test_sigkill.c - guarantee 3: SIGKILL leaves nothing behind for long.
 *
 * One of three: three peer processes hold nodes; one is killed with
 * SIGKILL.  Without any manual step the survivors' background sweep must
 * reclaim its nodes within the deadline (1 s; 5 s under valgrind): the dead
 * node disappears from rpc_domain_list_nodes, registered and active counts
 * drop, and its name can be taken again.  Measured by the test process (a
 * read-only observer) while the survivors are idle, and in another round by
 * the survivors themselves.
 *
 * All of them: every member is killed.  The segment remains and
 * rpc_domain_stat calls it orphaned; then (a) the next joiner starts from a
 * clean segment (new id, only its own node, count 1) and the last-out rule
 * removes it afterwards, (b) in another round rpc_domain_cleanup removes the
 * orphan when nobody joins.
 */
#include "testutil.h"

#include <inttypes.h>
#include <string.h>

/* Is the victim's node gone as far as the segment shows? */
struct gone_arg {
    const rpc_config *cfg;
    const char *victim[3];
    int want_registered;
};

static int victim_gone(void *p)
{
    struct gone_arg *g = p;
    rpc_domain_info info;
    for (int i = 0; i < 3 && g->victim[i] != NULL; i++)
        if (tu_domain_has_node(g->cfg, g->victim[i]) != 0)
            return 0;
    return rpc_domain_stat(g->cfg, &info) == 0 &&
           info.registered_nodes == (unsigned)g->want_registered &&
           info.live_nodes == (unsigned)g->want_registered &&
           rpc_domain_active_nodes(g->cfg) == g->want_registered;
}

/* Peers 0..2 hold node "k<i>" (peer `multi` holds three nodes). */
static void start_three(const char *name, tu_peer peers[3], int multi)
{
    for (int i = 0; i < 3; i++) {
        char node[16];
        tu_peer_start(&peers[i], name, 0);
        snprintf(node, sizeof node, "k%d", i);
        ASSERT_EQ(tu_peer_cmd(&peers[i], NULL, 0, "create %s", node), 0);
        if (i == multi) {
            ASSERT_EQ(tu_peer_cmd(&peers[i], NULL, 0, "create %s-x", node), 0);
            ASSERT_EQ(tu_peer_cmd(&peers[i], NULL, 0, "create %s-y", node), 0);
        }
    }
}

/* Kill peer `victim` of three; observers: 0 = the test process only, 1 =
 * the survivors too. */
static void kill_one(int victim, int survivors_watch, int multi)
{
    const char *name = tu_shm_name("one");
    rpc_config *cfg = tu_config(name);
    tu_peer peers[3];
    char vname[16], vx[16], vy[16];
    struct gone_arg g = {cfg, {NULL, NULL, NULL}, 2};
    int deadline = tu_reclaim_deadline_ms(), elapsed;
    int total = multi >= 0 ? 5 : 3;

    start_three(name, peers, multi);
    ASSERT_EQ(rpc_domain_active_nodes(cfg), total);
    snprintf(vname, sizeof vname, "k%d", victim);
    snprintf(vx, sizeof vx, "k%d-x", victim);
    snprintf(vy, sizeof vy, "k%d-y", victim);
    g.victim[0] = vname;
    if (multi == victim) {
        g.victim[1] = vx;
        g.victim[2] = vy;
    }
    g.want_registered = total - (multi == victim ? 3 : 1);
    ASSERT_EQ(tu_domain_has_node(cfg, vname), 1);

    tu_peer_kill(&peers[victim]);
    if (survivors_watch)
        for (int i = 0; i < 3; i++)
            if (i != victim)
                tu_peer_send(&peers[i], "waitgone %s %d", vname, deadline);
    elapsed = tu_wait_until(victim_gone, &g, deadline);
    if (elapsed < 0) {
        rpc_domain_info info;
        memset(&info, 0, sizeof info);
        (void)rpc_domain_stat(cfg, &info);
        TU_FAIL("node %s of the killed process was not reclaimed within %d ms "
                "(listed %d, registered %u, live %u, active %d)", vname, deadline,
                tu_domain_has_node(cfg, vname), info.registered_nodes, info.live_nodes,
                rpc_domain_active_nodes(cfg));
    }
    tu_log("kill -9 of peer %d (%d node(s)): reclaimed after %d ms (observer)", victim,
           multi == victim ? 3 : 1, elapsed);
    if (survivors_watch) {
        for (int i = 0; i < 3; i++) {
            long long ms;
            if (i == victim)
                continue;
            ms = tu_peer_recv(&peers[i], NULL, 0);
            ASSERT_MSG(ms >= 0, "survivor %d did not see %s disappear within %d ms", i, vname,
                       deadline);
            tu_log("survivor %d saw it after %lld ms", i, ms);
        }
    }
    /* The name is free again, and the survivors still agree on the segment. */
    ASSERT_EQ(tu_peer_cmd(&peers[(victim + 1) % 3], NULL, 0, "create %s", vname), 0);
    ASSERT_EQ(tu_peer_cmd(&peers[(victim + 1) % 3], NULL, 0, "check"), 0);
    ASSERT_EQ(tu_peer_cmd(&peers[(victim + 2) % 3], NULL, 0, "check"), 0);
    for (int i = 0; i < 3; i++)
        if (i != victim)
            tu_peer_quit(&peers[i]);
    ASSERT_MSG(!tu_shm_exists(name), "the survivors left, but the segment stayed");
    rpc_config_destroy(cfg);
}

/* Kill all three; return the dead segment's id.  The segment must remain,
 * orphaned. */
static uint64_t kill_all(const char *name, const rpc_config *cfg)
{
    tu_peer peers[3];
    rpc_domain_info info;
    uint64_t id;
    start_three(name, peers, 1);
    id = tu_peer_segid(&peers[0], "k0");
    ASSERT(id != 0);
    for (int i = 0; i < 3; i++)
        tu_peer_kill(&peers[i]);
    ASSERT_MSG(tu_shm_exists(name), "nobody removed it, yet it is gone");
    ASSERT_OK(rpc_domain_stat(cfg, &info));
    ASSERT_EQ(info.exists, 1);
    ASSERT_EQ(info.valid, 1);
    ASSERT_EQ(info.orphaned, 1);
    ASSERT_EQ(info.attached, 0);
    ASSERT_EQ(info.live_nodes, 0);
    ASSERT_EQ(info.live_processes, 0);
    ASSERT_EQ(info.segment_id, id);
    ASSERT_EQ(rpc_domain_active_nodes(cfg), 0);
    return id;
}

static void all_then_join(void)
{
    const char *name = tu_shm_name("rejoin");
    rpc_config *cfg = tu_config(name);
    rpc_node_info list[8];
    rpc_domain_info info;
    uint64_t old = kill_all(name, cfg);
    tu_peer j;

    /* The joiner reuses a dead node's name: stale entries must not block it. */
    tu_peer_start(&j, name, 0);
    ASSERT_EQ(tu_peer_cmd(&j, NULL, 0, "create k1"), 0);
    ASSERT_MSG(tu_peer_segid(&j, "k1") != old, "the orphan was reused, not re-initialised");
    ASSERT_EQ(rpc_domain_list_nodes(cfg, list, 8), 1);
    ASSERT_STREQ(list[0].name, "k1");
    ASSERT_EQ(list[0].alive, 1);
    ASSERT_EQ(rpc_domain_active_nodes(cfg), 1);
    ASSERT_OK(rpc_domain_stat(cfg, &info));
    ASSERT_EQ(info.registered_nodes, 1);
    ASSERT_EQ(info.live_processes, 1);
    ASSERT_EQ(info.orphaned, 0);
    ASSERT_EQ(info.attached, 1);
    ASSERT_EQ(info.segment_id, tu_peer_segid(&j, "k1"));
    ASSERT_EQ(tu_peer_cmd(&j, NULL, 0, "create k0"), 0);
    ASSERT_EQ(tu_peer_cmd(&j, NULL, 0, "check"), 0);
    tu_peer_quit(&j);
    ASSERT_MSG(!tu_shm_exists(name), "the joiner left the re-initialised segment behind");
    rpc_config_destroy(cfg);
}

static void all_then_cleanup(void)
{
    const char *name = tu_shm_name("orphan");
    rpc_config *cfg = tu_config(name);
    (void)kill_all(name, cfg);
    ASSERT_OK(rpc_domain_cleanup(cfg, 0));
    ASSERT_MSG(!tu_shm_exists(name), "cleanup returned 0 but the orphan is still there");
    ASSERT_RC(rpc_domain_cleanup(cfg, 0), RPC_ENOENT);
    ASSERT_RC(rpc_domain_active_nodes(cfg), RPC_ENOENT);
    rpc_config_destroy(cfg);
}

int main(void)
{
    tu_init("sigkill");
    kill_one(1, 0, -1);
    kill_one(0, 1, -1); /* the process that created the segment */
    kill_one(2, 1, 2);  /* a process with three nodes */
    kill_one(1, 1, 0);  /* another process has several nodes */
    all_then_join();
    all_then_cleanup();
    return tu_done();
}
