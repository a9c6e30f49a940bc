/*
 * test_half_init.c - guarantee 3, last part: a process killed in the middle
 * of initialising a new segment.
 *
 * mp_worker runs with LIBRPC_TEST_CRASH_AT=init, so the library kills it
 * (SIGKILL) after sizing a new segment and before writing its magic.  The
 * half-made file must exist, be reported as not valid and orphaned; then
 *   (a) the next joiner re-initialises it and the last-out rule removes it,
 *   (b) rpc_domain_cleanup removes it when nobody joins,
 *   (c) a joiner with a different configured size still succeeds,
 * and a process with the crash point armed that merely joins an existing,
 * live segment does not crash (it initialises nothing).
 * Skips (77) when the library was built without LIBRPC_TEST_HOOKS.
 */
#include "testutil.h"

#include <string.h>
#include <sys/wait.h>

/* Run mp_worker with the crash point armed; returns its wait status. */
static int crashing_join(const char *name, const char *size)
{
    char *argv[] = {"mp_worker", "--name", (char *)name, "--nodes", "1", NULL, NULL, NULL};
    const char *env[] = {"LIBRPC_TEST_CRASH_AT=init", NULL};
    if (size != NULL) {
        argv[5] = "--size";
        argv[6] = (char *)size;
    }
    return tu_wait_child(tu_spawn("mp_worker", argv, env, -1), tu_timeout_ms(20000));
}

/* Leave a half-initialised segment behind; check how it looks. */
static void make_half(const char *name, const rpc_config *cfg, const char *size)
{
    rpc_domain_info info;
    int st = crashing_join(name, size);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        tu_skip("the library was built without LIBRPC_TEST_HOOKS (crash point inactive)");
    ASSERT_MSG(WIFSIGNALED(st) && WTERMSIG(st) == 9,
               "the worker should have died by SIGKILL at the crash point (status 0x%x)", st);
    ASSERT_MSG(tu_shm_exists(name), "the killed initialiser left no file");
    ASSERT_OK(rpc_domain_stat(cfg, &info));
    ASSERT_EQ(info.exists, 1);
    ASSERT_EQ(info.valid, 0);
    ASSERT_MSG(info.status < 0, "a half-made segment has a non-zero status (%d)", info.status);
    ASSERT_EQ(info.attached, 0);
    ASSERT_EQ(info.orphaned, 1);
    ASSERT_EQ(info.live_nodes, 0);
    ASSERT_MSG(rpc_domain_active_nodes(cfg) <= 0, "no live nodes in a half-made segment");
}

static void rejoin(const char *name, const rpc_config *cfg)
{
    rpc_node_info list[4];
    tu_peer p;
    tu_peer_start(&p, name, 0);
    ASSERT_EQ(tu_peer_cmd(&p, NULL, 0, "create fresh"), 0);
    ASSERT(tu_peer_segid(&p, "fresh") != 0);
    ASSERT_EQ(rpc_domain_list_nodes(cfg, list, 4), 1);
    ASSERT_STREQ(list[0].name, "fresh");
    ASSERT_EQ(rpc_domain_active_nodes(cfg), 1);
    ASSERT_EQ(tu_peer_cmd(&p, NULL, 0, "check"), 0);
    tu_peer_quit(&p);
    ASSERT_MSG(!tu_shm_exists(name), "the re-initialised segment was not removed by last out");
}

int main(void)
{
    const char *name;
    rpc_config *cfg;
    char small[32];
    tu_peer live;

    tu_init("half_init");
    name = tu_shm_name("half");
    cfg = tu_config(name);

    /* (a) the next joiner repairs it. */
    make_half(name, cfg, NULL);
    rejoin(name, cfg);

    /* (b) nobody joins: clean-up removes it. */
    make_half(name, cfg, NULL);
    ASSERT_OK(rpc_domain_cleanup(cfg, 0));
    ASSERT(!tu_shm_exists(name));

    /* (c) the crashed initialiser had another size than the joiner. */
    snprintf(small, sizeof small, "%zu", rpc_config_min_shm_size(RPC_DEFAULT_MAX_NODES));
    make_half(name, cfg, small);
    rejoin(name, cfg);

    /* Twice in a row, then a joiner. */
    make_half(name, cfg, NULL);
    make_half(name, cfg, NULL);
    rejoin(name, cfg);

    /* The crash point fires only for an initialiser: joining a live segment
     * with it armed works. */
    tu_peer_start(&live, name, 0);
    ASSERT_EQ(tu_peer_cmd(&live, NULL, 0, "create live"), 0);
    {
        int st = crashing_join(name, NULL);
        ASSERT_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0,
                   "a joiner of a live segment died at the init crash point (status 0x%x)", st);
    }
    ASSERT_EQ(tu_peer_cmd(&live, NULL, 0, "check"), 0);
    ASSERT_EQ(rpc_domain_active_nodes(cfg), 1);
    tu_peer_quit(&live);
    ASSERT(!tu_shm_exists(name));

    rpc_config_destroy(cfg);
    return tu_done();
}
