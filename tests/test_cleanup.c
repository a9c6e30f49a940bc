/*
 * test_cleanup.c - guarantee 4: clean-up never removes a segment that a live
 * process uses, unless forced.
 *
 * - With a live peer attached, rpc_domain_cleanup returns RPC_EBUSY again
 *   and again (also while the peer adds and removes nodes), and the segment
 *   stays, still the peer's.
 * - Clean-up racing a joiner on an orphan: the joiner either got in first
 *   (clean-up refuses) or came after (it made a fresh segment); either way
 *   the joiner's segment is the one at the path for as long as it stays.
 * - RPC_CLEANUP_FORCE removes a live segment.  The live process works on in
 *   its unlinked copy; a newcomer creates a new segment; when the old
 *   process leaves it must not remove the newcomer's segment.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static void busy_while_live(void)
{
    const char *name = tu_shm_name("busy");
    rpc_config *cfg = tu_config(name);
    tu_peer p;
    uint64_t id;

    tu_peer_start(&p, name, 0);
    ASSERT_EQ(tu_peer_cmd(&p, NULL, 0, "create holder"), 0);
    id = tu_peer_segid(&p, "holder");
    for (int i = 0; i < 20; i++) {
        ASSERT_RC(rpc_domain_cleanup(cfg, 0), RPC_EBUSY);
        ASSERT(tu_shm_exists(name));
        if (i % 2 == 0)
            ASSERT_EQ(tu_peer_cmd(&p, NULL, 0, "create extra"), 0);
        else
            ASSERT_EQ(tu_peer_cmd(&p, NULL, 0, "destroy extra"), 0);
    }
    ASSERT_RC(rpc_domain_cleanup(cfg, 0), RPC_EBUSY);
    ASSERT_MSG(strstr(rpc_errdetail(), name) != NULL, "the refusal names the segment: \"%s\"",
               rpc_errdetail());
    ASSERT_EQ(tu_peer_cmd(&p, NULL, 0, "check"), 0);
    ASSERT_EQ(tu_peer_segid(&p, "holder"), id);
    ASSERT_EQ(rpc_domain_active_nodes(cfg), 1);
    tu_peer_quit(&p);
    ASSERT(!tu_shm_exists(name));
    rpc_config_destroy(cfg);
}

struct race {
    _Atomic int joined;
    _Atomic int violations;
    _Atomic int errors;
};

/* The joiner: get in at the gate, then make sure the path stays ours. */
static void joiner(const char *name, tu_gate *gate, struct race *r)
{
    rpc_config *cfg = tu_config(name);
    rpc_node *node = NULL;
    rpc_domain_info info;
    int rc;
    tu_gate_wait(gate);
    rc = rpc_node_create(cfg, "joiner", &node);
    if (rc != 0) {
        tu_log("joiner: %s (%s)", tu_errname(rc), rpc_errdetail());
        r->errors++;
        exit(1);
    }
    r->joined = 1;
    for (int i = 0; i < 10; i++) {
        int deleted = 0;
        if (rpc_domain_stat(cfg, &info) != 0 || !info.exists ||
            info.segment_id != rpc_node_segment_id(node) ||
            tu_mapped_inode(name, &deleted) != tu_shm_inode(name) || deleted)
            r->violations++;
        tu_sleep_ms(2);
    }
    rc = rpc_node_destroy(node);
    rpc_config_destroy(cfg);
    exit(rc == 0 ? 0 : 1);
}

static void cleanup_races_join(void)
{
    const char *name = tu_shm_name("race");
    rpc_config *cfg = tu_config(name);
    struct race *r = mmap(NULL, sizeof *r, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                          -1, 0);
    int removed = 0, refused = 0;
    ASSERT(r != MAP_FAILED);
    for (int round = 0; round < 40; round++) {
        tu_peer dead;
        tu_gate gate;
        pid_t pid;
        int rc;
        memset(r, 0, sizeof *r);
        tu_peer_start(&dead, name, 0);
        ASSERT_EQ(tu_peer_cmd(&dead, NULL, 0, "create ghost"), 0);
        tu_peer_kill(&dead); /* an orphan now */
        tu_gate_make(&gate);
        pid = tu_fork(0);
        if (pid == 0)
            joiner(name, &gate, r);
        tu_gate_open(&gate, 1);
        /* Vary who comes first: 0 to 3 ms head start for the joiner. */
        if (round % 4 != 0) {
            struct timespec ts = {0, (long)(round % 4) * 1000000L};
            nanosleep(&ts, NULL);
        }
        rc = rpc_domain_cleanup(cfg, 0);
        ASSERT_MSG(rc == 0 || rc == RPC_EBUSY, "round %d: cleanup gave %s (%s)", round,
                   tu_errname(rc), rpc_errdetail());
        removed += rc == 0;
        refused += rc == RPC_EBUSY;
        TU_EXPECT_EXIT0(pid, tu_timeout_ms(20000));
        ASSERT_EQ(r->errors, 0);
        ASSERT_MSG(r->violations == 0, "round %d: the joiner's segment was not at the path", round);
        ASSERT_MSG(!tu_shm_exists(name), "round %d: segment left after the joiner left", round);
    }
    tu_log("clean-up vs joiner: %d removed the orphan first, %d refused", removed, refused);
    munmap(r, sizeof *r);
    rpc_config_destroy(cfg);
}

static void forced(void)
{
    const char *name = tu_shm_name("force");
    rpc_config *cfg = tu_config(name);
    tu_peer old, newer;
    uint64_t old_id, new_id;

    tu_peer_start(&old, name, 0);
    ASSERT_EQ(tu_peer_cmd(&old, NULL, 0, "create old"), 0);
    old_id = tu_peer_segid(&old, "old");
    ASSERT_RC(rpc_domain_cleanup(cfg, 0), RPC_EBUSY);
    ASSERT_OK(rpc_domain_cleanup(cfg, RPC_CLEANUP_FORCE));
    ASSERT_MSG(!tu_shm_exists(name), "forced clean-up returned 0 but the segment is there");
    ASSERT_RC(rpc_domain_cleanup(cfg, RPC_CLEANUP_FORCE), RPC_ENOENT);

    /* The old process works on in its unlinked copy. */
    ASSERT_EQ(tu_peer_cmd(&old, NULL, 0, "create old2"), 0);
    ASSERT_EQ(tu_peer_segid(&old, "old2"), old_id);

    /* A newcomer makes a new segment (the documented split). */
    tu_peer_start(&newer, name, 0);
    ASSERT_EQ(tu_peer_cmd(&newer, NULL, 0, "create new"), 0);
    new_id = tu_peer_segid(&newer, "new");
    ASSERT_MSG(new_id != old_id, "the newcomer joined the removed segment");
    ASSERT_EQ(rpc_domain_active_nodes(cfg), 1);

    /* The old process leaves last in its copy: it must not unlink the name,
     * which is now the newcomer's segment. */
    ASSERT_EQ(tu_peer_cmd(&old, NULL, 0, "destroy old2"), 0);
    ASSERT_EQ(tu_peer_cmd(&old, NULL, 0, "destroy old"), 0);
    tu_peer_quit(&old);
    ASSERT_MSG(tu_shm_exists(name),
               "the process that left the force-removed segment unlinked the newcomer's");
    ASSERT_EQ(tu_peer_cmd(&newer, NULL, 0, "check"), 0);
    ASSERT_EQ(rpc_domain_active_nodes(cfg), 1);
    tu_peer_quit(&newer);
    ASSERT(!tu_shm_exists(name));
    rpc_config_destroy(cfg);
}

int main(void)
{
    tu_init("cleanup");
    busy_while_live();
    cleanup_races_join();
    forced();
    return tu_done();
}
