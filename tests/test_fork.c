/*
 * test_fork.c - guarantee 7: fork() is safe.
 *
 * Part 1: the test process holds two nodes and forks.  In the child, calls
 * on the inherited nodes fail with RPC_EFORKED (publish, subscribe, stats),
 * rpc_node_destroy returns 0 and only frees memory: the parent's nodes stay
 * registered and alive.  The child can create its own node in the same
 * segment.  When the child exits, the parent's nodes and segment are intact
 * and usable, and the parent's last destroy removes the segment.
 *
 * Part 2: a parent process P with two nodes forks two children that outlive
 * it: C1 never calls librpc again (it just sleeps), C2 frees its inherited
 * copies and creates its own node.  P is killed with SIGKILL.  Its nodes
 * must be reclaimed within the deadline (1 s; 5 s under valgrind), seen by
 * the test process and by C2, although C1 and C2 inherited P's descriptors.
 * When C2 leaves last, the segment is removed even though C1 is still
 * running.  The test process is a child subreaper, so it can reap C1 and C2.
 */
#include "testutil.h"

#include <librpc/pubsub.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

static void on_message(rpc_node *node, const rpc_message *msg, void *user)
{
    (void)node;
    (void)msg;
    (void)user;
}

static void inherited_calls_fail(rpc_node *node)
{
    rpc_node_stats stats;
    ASSERT_RC(rpc_publish(node, "g", "t", "x", 1, RPC_NO_WAIT), RPC_EFORKED);
    ASSERT_RC(rpc_subscribe(node, "g", "t", on_message, NULL), RPC_EFORKED);
    ASSERT_RC(rpc_node_get_stats(node, &stats), RPC_EFORKED);
}

static void part1(void)
{
    const char *name = tu_shm_name("child");
    rpc_config *cfg = tu_config(name);
    rpc_node *a = NULL, *b = NULL;
    rpc_node_info list[8];
    uint64_t id;
    pid_t pid;

    ASSERT_OK(rpc_node_create(cfg, "parent-a", &a));
    ASSERT_OK(rpc_node_create(cfg, "parent-b", &b));
    id = rpc_node_segment_id(a);
    pid = tu_fork(0);
    if (pid == 0) {
        rpc_node *mine = NULL;
        inherited_calls_fail(a);
        inherited_calls_fail(b);
        ASSERT_OK(rpc_node_destroy(a));
        ASSERT_EQ(tu_domain_has_node(cfg, "parent-a"), 1);
        ASSERT_OK(rpc_node_create(cfg, "child", &mine));
        ASSERT_EQ(rpc_node_segment_id(mine), id);
        ASSERT_EQ(rpc_domain_active_nodes(cfg), 3);
        ASSERT_OK(rpc_node_destroy(mine));
        ASSERT_OK(rpc_node_destroy(b));
        ASSERT_MSG(tu_shm_exists(name), "the child removed its parent's segment");
        ASSERT_EQ(rpc_domain_active_nodes(cfg), 2);
        rpc_config_destroy(cfg);
        exit(0);
    }
    TU_EXPECT_EXIT0(pid, tu_timeout_ms(20000));
    ASSERT(tu_shm_exists(name));
    ASSERT_EQ(rpc_domain_list_nodes(cfg, list, 8), 2);
    ASSERT(list[0].alive && list[1].alive);
    ASSERT_EQ(rpc_domain_active_nodes(cfg), 2);
    /* The parent's nodes still work. */
    ASSERT_OK(rpc_publish(a, "g", "t", "x", 1, RPC_NO_WAIT));
    ASSERT_OK(rpc_subscribe(b, "g", "t", on_message, NULL));
    ASSERT_OK(rpc_node_destroy(a));
    ASSERT(tu_shm_exists(name));
    ASSERT_OK(rpc_node_destroy(b));
    ASSERT_MSG(!tu_shm_exists(name), "the parent's last destroy left the segment");
    rpc_config_destroy(cfg);
}

struct shared {
    _Atomic int p_ready, c2_ready, parent_killed, observed, c2_done, stop;
    _Atomic pid_t c1, c2;
    _Atomic int c2_elapsed_ms, c2_active_after;
    _Atomic uint64_t segid;
};

static struct shared *sh;

/* Poll a shared flag with a deadline; 1 when it was set. */
static int wait_flag(_Atomic int *flag, int ms)
{
    int ok;
    TU_WAIT_UNTIL(ok, *flag != 0, ms);
    return ok;
}

static void c1_idle(void)
{
    (void)wait_flag(&sh->stop, tu_timeout_ms(60000));
    exit(0);
}

static void c2_active(const char *name, const rpc_config *cfg, rpc_node *p1, rpc_node *p2)
{
    rpc_node *mine = NULL;
    int64_t t0;
    int gone = 0;
    inherited_calls_fail(p1);
    ASSERT_OK(rpc_node_destroy(p1));
    ASSERT_OK(rpc_node_destroy(p2));
    ASSERT_OK(rpc_node_create(cfg, "c2", &mine));
    ASSERT_EQ(rpc_node_segment_id(mine), sh->segid);
    sh->c2_ready = 1;
    ASSERT_MSG(wait_flag(&sh->parent_killed, tu_timeout_ms(60000)), "never told P was killed");
    t0 = tu_now_ms();
    TU_WAIT_UNTIL(gone, tu_domain_has_node(cfg, "P1") == 0 && tu_domain_has_node(cfg, "P2") == 0,
                  tu_timeout_ms(20000));
    sh->c2_elapsed_ms = gone ? (int)(tu_now_ms() - t0) : -1;
    sh->c2_active_after = rpc_domain_active_nodes(cfg);
    ASSERT_MSG(tu_shm_exists(name), "segment vanished under C2");
    /* Stay until the test process has made its own observation. */
    ASSERT_MSG(wait_flag(&sh->observed, tu_timeout_ms(60000)), "never told to leave");
    ASSERT_OK(rpc_node_destroy(mine));
    sh->c2_done = 1;
    exit(0);
}

static void parent_p(const char *name)
{
    rpc_config *cfg = tu_config(name);
    rpc_node *p1 = NULL, *p2 = NULL;
    pid_t pid;
    ASSERT_OK(rpc_node_create(cfg, "P1", &p1));
    ASSERT_OK(rpc_node_create(cfg, "P2", &p2));
    sh->segid = rpc_node_segment_id(p1);
    pid = tu_fork(TU_FORK_KEEP_ALIVE);
    if (pid == 0)
        c1_idle();
    sh->c1 = pid;
    pid = tu_fork(TU_FORK_KEEP_ALIVE);
    if (pid == 0)
        c2_active(name, cfg, p1, p2);
    sh->c2 = pid;
    sh->p_ready = 1;
    for (;;)
        pause(); /* until SIGKILL */
}

static int parent_nodes_gone(void *arg)
{
    const rpc_config *cfg = arg;
    return tu_domain_has_node(cfg, "P1") == 0 && tu_domain_has_node(cfg, "P2") == 0 &&
           rpc_domain_active_nodes(cfg) == 1;
}

static void part2(void)
{
    const char *name = tu_shm_name("killparent");
    rpc_config *cfg = tu_config(name);
    int deadline = tu_reclaim_deadline_ms(), elapsed;
    pid_t p;

    sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ASSERT(sh != MAP_FAILED);
    memset(sh, 0, sizeof *sh);
    ASSERT(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);

    p = tu_fork(0);
    if (p == 0)
        parent_p(name);
    ASSERT_MSG(wait_flag(&sh->p_ready, tu_timeout_ms(20000)), "P did not start");
    tu_track_child(sh->c1);
    tu_track_child(sh->c2);
    ASSERT_MSG(wait_flag(&sh->c2_ready, tu_timeout_ms(20000)), "C2 did not start");
    ASSERT_EQ(rpc_domain_active_nodes(cfg), 3);

    tu_kill9(p);
    sh->parent_killed = 1;
    elapsed = tu_wait_until(parent_nodes_gone, cfg, deadline);
    ASSERT_MSG(elapsed >= 0,
               "the killed parent's nodes were not reclaimed within %d ms although only its "
               "children live (P1 listed: %d, active %d)", deadline,
               tu_domain_has_node(cfg, "P1"), rpc_domain_active_nodes(cfg));
    tu_log("parent killed: its nodes reclaimed after %d ms (observer)", elapsed);
    sh->observed = 1;

    ASSERT_MSG(wait_flag(&sh->c2_done, tu_timeout_ms(30000)), "C2 did not finish");
    TU_EXPECT_EXIT0(sh->c2, tu_timeout_ms(20000));
    tu_log("C2 saw the parent's nodes go after %d ms", (int)sh->c2_elapsed_ms);
    ASSERT_MSG(sh->c2_elapsed_ms >= 0 && sh->c2_elapsed_ms <= deadline,
               "C2 saw the parent's nodes go after %d ms (deadline %d)", (int)sh->c2_elapsed_ms,
               deadline);
    ASSERT_EQ(sh->c2_active_after, 1);
    /* C2 left last; C1 (idle, still running) must not keep the segment. */
    ASSERT_MSG(!tu_shm_exists(name),
               "C2 left last but the segment stayed: the idle child C1 keeps it attached");
    sh->stop = 1;
    TU_EXPECT_EXIT0(sh->c1, tu_timeout_ms(20000));
    ASSERT(!tu_shm_exists(name));
    munmap(sh, sizeof *sh);
    rpc_config_destroy(cfg);
}

int main(void)
{
    tu_init("fork");
    part1();
    part2();
    return tu_done();
}
