/*
 * test_simultaneous_start.c - guarantee 2: processes that start at the same
 * moment never both initialise the segment.
 *
 * Each round forks 2 (later 4) processes that block on a pipe and are
 * released by one write, so they call rpc_node_create at the same instant
 * on a segment that does not exist yet.  Each reports the segment id it
 * got; then, while all are still attached, each checks that the others'
 * nodes are listed (a second initialisation would have wiped them).  All
 * must report the same non-zero id, see every node, and the segment must be
 * gone once they have left.
 */
#include "testutil.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define MAXP 4

struct shared {
    _Atomic int ready;
    _Atomic int checked;
    _Atomic uint64_t segid[MAXP];
    _Atomic int listed[MAXP];   /* how many of the round's nodes each one saw */
    _Atomic int active[MAXP];
};

static struct shared *sh;

static void child(const char *name, int me, int n, tu_gate *start, tu_gate *check,
                  tu_gate *leave)
{
    rpc_config *cfg = tu_config(name);
    rpc_node *node = NULL;
    char node_name[16];
    int rc, seen = 0;
    snprintf(node_name, sizeof node_name, "s%d", me);
    tu_gate_wait(start);
    rc = rpc_node_create(cfg, node_name, &node);
    if (rc != 0) {
        tu_log("child %d: create: %s (%s)", me, tu_errname(rc), rpc_errdetail());
        exit(1);
    }
    sh->segid[me] = rpc_node_segment_id(node);
    sh->ready++;
    tu_gate_wait(check); /* everyone is attached now */
    for (int i = 0; i < n; i++) {
        char other[16];
        snprintf(other, sizeof other, "s%d", i);
        seen += tu_domain_has_node(cfg, other) == 1;
    }
    sh->listed[me] = seen;
    sh->active[me] = rpc_domain_active_nodes(cfg);
    sh->checked++;
    tu_gate_wait(leave); /* nobody leaves before all have looked */
    rc = rpc_node_destroy(node);
    rpc_config_destroy(cfg);
    exit(rc == 0 ? 0 : 1);
}

static void round_of(const char *name, int n, int round)
{
    pid_t pids[MAXP];
    tu_gate start, check, leave;
    int ok;

    memset(sh, 0, sizeof *sh);
    tu_gate_make(&start);
    tu_gate_make(&check);
    tu_gate_make(&leave);
    for (int i = 0; i < n; i++) {
        pids[i] = tu_fork(0);
        if (pids[i] == 0)
            child(name, i, n, &start, &check, &leave);
    }
    tu_gate_open(&start, n);
    TU_WAIT_UNTIL(ok, sh->ready == n, tu_timeout_ms(20000));
    ASSERT_MSG(ok, "round %d: only %d of %d processes joined", round, (int)sh->ready, n);
    tu_gate_open(&check, n);
    TU_WAIT_UNTIL(ok, sh->checked == n, tu_timeout_ms(20000));
    ASSERT_MSG(ok, "round %d: only %d of %d processes checked", round, (int)sh->checked, n);
    tu_gate_open(&leave, n);
    for (int i = 0; i < n; i++)
        TU_EXPECT_EXIT0(pids[i], tu_timeout_ms(20000));
    for (int i = 0; i < n; i++) {
        ASSERT_MSG(sh->segid[i] != 0 && sh->segid[i] == sh->segid[0],
                   "round %d: process %d got segment %016" PRIx64 ", process 0 got %016" PRIx64,
                   round, i, (uint64_t)sh->segid[i], (uint64_t)sh->segid[0]);
        ASSERT_MSG(sh->listed[i] == n, "round %d: process %d saw %d of %d nodes", round, i,
                   (int)sh->listed[i], n);
        ASSERT_MSG(sh->active[i] == n, "round %d: process %d counted %d active nodes, want %d",
                   round, i, (int)sh->active[i], n);
    }
    ASSERT_MSG(!tu_shm_exists(name), "round %d: segment left behind", round);
}

int main(void)
{
    const char *name;
    tu_init("simultaneous_start");
    name = tu_shm_name("race");
    sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ASSERT(sh != MAP_FAILED);
    for (int r = 0; r < 40; r++)
        round_of(name, 2, r);
    for (int r = 0; r < 15; r++)
        round_of(name, MAXP, 40 + r);
    munmap(sh, sizeof *sh);
    return tu_done();
}
