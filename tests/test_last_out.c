/*
 * test_last_out.c - guarantee 1: the last node out removes the segment.
 *
 * Three peer processes own 1, 2 and 3 nodes.  Their nodes are destroyed in
 * every order of the processes, and also interleaved node by node.  After
 * every destroy that is not the last, the segment exists and counts the
 * remaining nodes; right after the last destroy returns, /dev/shm/<name> is
 * gone (no waiting: removal is part of the destroy).  A two-process variant
 * includes the test process itself as a member.
 */
#include "testutil.h"

#include <string.h>

#define NPEERS 3

static const char *const node_names[NPEERS][3] = {
    {"a0", NULL, NULL}, {"b0", "b1", NULL}, {"c0", "c1", "c2"}};

static int count_nodes(int p)
{
    int n = 0;
    while (n < 3 && node_names[p][n] != NULL)
        n++;
    return n;
}

/* Destroy node `node` of peer p and check the segment's state afterwards. */
static void destroy_and_check(const rpc_config *cfg, const char *name, tu_peer *peer,
                              const char *node, int remaining)
{
    ASSERT_EQ(tu_peer_cmd(peer, NULL, 0, "destroy %s", node), 0);
    if (remaining > 0) {
        ASSERT_MSG(tu_shm_exists(name), "segment gone with %d nodes left", remaining);
        ASSERT_EQ(rpc_domain_active_nodes(cfg), remaining);
        ASSERT_EQ(tu_domain_has_node(cfg, node), 0);
    } else {
        ASSERT_MSG(!tu_shm_exists(name), "segment still exists after the last node left");
        ASSERT_RC(rpc_domain_active_nodes(cfg), RPC_ENOENT);
    }
}

/* order: the peers in the order they leave.  interleave: one node from each
 * peer in turn instead of a whole peer at a time. */
static void run_order(const int order[NPEERS], int interleave)
{
    const char *name = tu_shm_name("order");
    rpc_config *cfg = tu_config(name);
    tu_peer peers[NPEERS];
    uint64_t id = 0;
    int total = 0, left[NPEERS];

    for (int p = 0; p < NPEERS; p++) {
        tu_peer_start(&peers[p], name, 0);
        left[p] = count_nodes(p);
        for (int n = 0; n < left[p]; n++) {
            ASSERT_EQ(tu_peer_cmd(&peers[p], NULL, 0, "create %s", node_names[p][n]), 0);
            if (id == 0)
                id = tu_peer_segid(&peers[p], node_names[p][n]);
            ASSERT_EQ(tu_peer_segid(&peers[p], node_names[p][n]), id);
            total++;
        }
    }
    ASSERT_EQ(rpc_domain_active_nodes(cfg), total);

    while (total > 0) {
        for (int k = 0; k < NPEERS; k++) {
            int p = order[k];
            while (left[p] > 0) {
                left[p]--;
                total--;
                destroy_and_check(cfg, name, &peers[p], node_names[p][left[p]], total);
                if (interleave)
                    break;
            }
        }
    }
    for (int p = 0; p < NPEERS; p++)
        tu_peer_quit(&peers[p]);
    ASSERT(!tu_shm_exists(name));
    rpc_config_destroy(cfg);
}

/* The test process and one peer; either leaves first. */
static void run_with_self(int self_first)
{
    const char *name = tu_shm_name("self");
    rpc_config *cfg = tu_config(name);
    rpc_node *mine = NULL;
    tu_peer peer;

    tu_peer_start(&peer, name, 0);
    ASSERT_OK(rpc_node_create(cfg, "self", &mine));
    ASSERT_EQ(tu_peer_cmd(&peer, NULL, 0, "create other"), 0);
    ASSERT_EQ(tu_peer_segid(&peer, "other"), rpc_node_segment_id(mine));
    ASSERT_EQ(rpc_domain_active_nodes(cfg), 2);
    if (self_first) {
        ASSERT_OK(rpc_node_destroy(mine));
        ASSERT(tu_shm_exists(name));
        ASSERT_EQ(rpc_domain_active_nodes(cfg), 1);
        ASSERT_EQ(tu_peer_cmd(&peer, NULL, 0, "destroy other"), 0);
    } else {
        ASSERT_EQ(tu_peer_cmd(&peer, NULL, 0, "destroy other"), 0);
        ASSERT(tu_shm_exists(name));
        ASSERT_EQ(rpc_domain_active_nodes(cfg), 1);
        ASSERT_OK(rpc_node_destroy(mine));
    }
    ASSERT(!tu_shm_exists(name));
    tu_peer_quit(&peer);
    rpc_config_destroy(cfg);
}

/* A process that quits (its nodes destroyed on the way out) while another
 * still holds a node: the segment stays; the last one out removes it. */
static void run_quit_paths(void)
{
    const char *name = tu_shm_name("quit");
    rpc_config *cfg = tu_config(name);
    tu_peer a, b;
    tu_peer_start(&a, name, 0);
    tu_peer_start(&b, name, 0);
    ASSERT_EQ(tu_peer_cmd(&a, NULL, 0, "create a1"), 0);
    ASSERT_EQ(tu_peer_cmd(&a, NULL, 0, "create a2"), 0);
    ASSERT_EQ(tu_peer_cmd(&b, NULL, 0, "create b1"), 0);
    tu_peer_quit(&a);
    ASSERT(tu_shm_exists(name));
    ASSERT_EQ(rpc_domain_active_nodes(cfg), 1);
    ASSERT_EQ(tu_peer_cmd(&b, NULL, 0, "registered"), 1);
    tu_peer_quit(&b);
    ASSERT(!tu_shm_exists(name));
    rpc_config_destroy(cfg);
}

int main(void)
{
    static const int orders[6][NPEERS] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                          {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    tu_init("last_out");
    for (int i = 0; i < 6; i++) {
        run_order(orders[i], 0);
        run_order(orders[i], 1);
    }
    run_with_self(1);
    run_with_self(0);
    run_quit_paths();
    return tu_done();
}
