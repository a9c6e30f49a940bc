/*
 * test_default_name.c - the last-out guarantee on the default segment name.
 *
 * With $LIBRPC_SHM_NAME unset and a NULL configuration, nodes of two peer
 * processes and of the test process meet in /dev/shm/librpc_shm, and the
 * last one out removes it.  The default name is shared by the whole machine,
 * so ctest serialises this test with RESOURCE_LOCK librpc_default_shm, and
 * the test skips (exit 77) if the segment already exists: it may belong to
 * someone else, and we must not touch it.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

int main(void)
{
    rpc_node *mine = NULL;
    tu_peer a, b;

    tu_init("default_name");
    if (tu_shm_exists(RPC_DEFAULT_SHM_NAME))
        tu_skip("/dev/shm%s already exists (another user of the default domain?); "
                "not touching it", RPC_DEFAULT_SHM_NAME);
    tu_register_name(RPC_DEFAULT_SHM_NAME);
    ASSERT(getenv(RPC_ENV_SHM_NAME) == NULL);
    ASSERT_STREQ(rpc_config_shm_name(NULL), RPC_DEFAULT_SHM_NAME);

    for (int round = 0; round < 3; round++) {
        tu_peer_start(&a, NULL, 0);
        tu_peer_start(&b, NULL, 0);
        ASSERT_EQ(tu_peer_cmd(&a, NULL, 0, "create dflt-a"), 0);
        ASSERT_EQ(tu_peer_cmd(&b, NULL, 0, "create dflt-b"), 0);
        ASSERT_OK(rpc_node_create(NULL, "dflt-self", &mine));
        ASSERT_STREQ(rpc_node_shm_name(mine), RPC_DEFAULT_SHM_NAME);
        ASSERT(tu_shm_exists(RPC_DEFAULT_SHM_NAME));
        ASSERT_EQ(tu_peer_segid(&a, "dflt-a"), rpc_node_segment_id(mine));
        ASSERT_EQ(tu_peer_segid(&b, "dflt-b"), rpc_node_segment_id(mine));
        ASSERT_EQ(rpc_domain_active_nodes(NULL), 3);

        /* Leave in a different order each round. */
        if (round == 0) {
            ASSERT_OK(rpc_node_destroy(mine));
            tu_peer_quit(&a);
            ASSERT(tu_shm_exists(RPC_DEFAULT_SHM_NAME));
            tu_peer_quit(&b);
        } else if (round == 1) {
            tu_peer_quit(&b);
            tu_peer_quit(&a);
            ASSERT(tu_shm_exists(RPC_DEFAULT_SHM_NAME));
            ASSERT_EQ(rpc_domain_active_nodes(NULL), 1);
            ASSERT_OK(rpc_node_destroy(mine));
        } else {
            tu_peer_quit(&a);
            ASSERT_OK(rpc_node_destroy(mine));
            ASSERT(tu_shm_exists(RPC_DEFAULT_SHM_NAME));
            ASSERT_EQ(rpc_domain_active_nodes(NULL), 1);
            tu_peer_quit(&b);
        }
        ASSERT_MSG(!tu_shm_exists(RPC_DEFAULT_SHM_NAME),
                   "round %d: /dev/shm%s left after the last node", round,
                   RPC_DEFAULT_SHM_NAME);
    }
    return tu_done();
}
