/*
 * test_threads.c - node create/destroy is thread-safe.
 *
 * 4 threads of one process create and destroy nodes 200 times each, with
 * unique names plus one contested name that only one thread can hold at a
 * time (the others get RPC_EEXIST).  Round 1 runs while a peer process keeps
 * the segment alive; round 2 runs alone, so the process's attachment itself
 * comes and goes while other threads join.  Every created node must be in
 * the segment at the path, no call may fail other than the expected
 * RPC_EEXIST, the contested name is never held twice, and nothing is left.
 */
#include "testutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#define NTHREADS 4
#define ITER 200

struct ctx {
    const char *name;
    const rpc_config *cfg;
    int id;
    atomic_int *holders;  /* threads holding the contested name right now */
    atomic_int *errors;
    atomic_int *violations;
    atomic_int *contested_wins;
};

static void *thread_main(void *arg)
{
    struct ctx *c = arg;
    char nm[32];
    snprintf(nm, sizeof nm, "thr%d", c->id);
    for (int i = 0; i < ITER; i++) {
        rpc_node *node = NULL, *contested = NULL;
        rpc_domain_info info;
        int rc = rpc_node_create(c->cfg, nm, &node);
        if (rc != 0) {
            tu_log("thread %d: create: %s (%s)", c->id, tu_errname(rc), rpc_errdetail());
            (*c->errors)++;
            continue;
        }
        if (rpc_domain_stat(c->cfg, &info) != 0 || info.segment_id != rpc_node_segment_id(node))
            (*c->violations)++;
        rc = rpc_node_create(c->cfg, "contested", &contested);
        if (rc == 0) {
            if (atomic_fetch_add(c->holders, 1) != 0)
                (*c->violations)++;
            (*c->contested_wins)++;
            atomic_fetch_sub(c->holders, 1);
            if (rpc_node_destroy(contested) != 0)
                (*c->errors)++;
        } else if (rc != RPC_EEXIST) {
            tu_log("thread %d: contested: %s (%s)", c->id, tu_errname(rc), rpc_errdetail());
            (*c->errors)++;
        }
        if (rpc_node_destroy(node) != 0)
            (*c->errors)++;
    }
    return NULL;
}

static void run(const char *name, int with_peer)
{
    rpc_config *cfg = tu_config(name);
    pthread_t th[NTHREADS];
    struct ctx ctx[NTHREADS];
    atomic_int holders = 0, errors = 0, violations = 0, wins = 0;
    tu_peer p;

    if (with_peer) {
        tu_peer_start(&p, name, 0);
        ASSERT_EQ(tu_peer_cmd(&p, NULL, 0, "create keeper"), 0);
    }
    for (int i = 0; i < NTHREADS; i++) {
        ctx[i] = (struct ctx){name, cfg, i, &holders, &errors, &violations, &wins};
        ASSERT(pthread_create(&th[i], NULL, thread_main, &ctx[i]) == 0);
    }
    for (int i = 0; i < NTHREADS; i++)
        ASSERT(pthread_join(th[i], NULL) == 0);
    tu_log("%s peer: %d contested wins, %d errors, %d violations", with_peer ? "with" : "without",
           (int)wins, (int)errors, (int)violations);
    ASSERT_EQ(errors, 0);
    ASSERT_EQ(violations, 0);
    ASSERT(wins > 0);
    if (with_peer) {
        ASSERT_EQ(rpc_domain_active_nodes(cfg), 1);
        ASSERT_EQ(tu_peer_cmd(&p, NULL, 0, "check"), 0);
        tu_peer_quit(&p);
    }
    ASSERT_MSG(!tu_shm_exists(name), "segment left after all threads left");
    rpc_config_destroy(cfg);
}

int main(void)
{
    tu_init("threads");
    run(tu_shm_name("peer"), 1);
    run(tu_shm_name("alone"), 0);
    return tu_done();
}
