/*
 * test_split_brain.c - guarantee 2: no split brain under churn.
 *
 * 8 worker processes each create and destroy a node 200 times (argv[1]
 * overrides the count), all released at the same moment; a 9th "stayer"
 * holds a node during two stretches of the run and is absent in between.
 * While attached, every process checks, more than once, that the segment
 * at the path is the one it is attached to:
 *   - rpc_domain_stat(...).segment_id == rpc_node_segment_id(node), and
 *   - the inode of /dev/shm/<name> == the inode of its own mapping in
 *     /proc/self/maps, which must not be marked "(deleted)".
 * Each attachment interval [after create returned, before destroy was
 * called] is recorded with its segment id in memory shared by all; at the
 * end the test checks that any two intervals of different processes that
 * overlap in time saw the same segment id.  Afterwards: 0 violations, 0
 * failed calls, no segment left.
 */
#include "testutil.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define NWORKERS 8
#define NPROCS (NWORKERS + 1) /* + the stayer */
#define MAX_RECS 4096

struct interval {
    uint64_t segid;
    int64_t start_ns, end_ns;
};

struct shared {
    _Atomic int progress;            /* worker iterations done, all workers */
    _Atomic int violations[NPROCS];
    _Atomic int errors[NPROCS];
    _Atomic int nrec[NPROCS];
    struct interval rec[NPROCS][MAX_RECS];
};

static struct shared *sh;
static int iterations = 200;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* One process's view check; returns the number of violations found. */
static int check_view(const rpc_config *cfg, const char *name, const rpc_node *node, int who)
{
    rpc_domain_info info;
    int deleted = 0, bad = 0;
    uint64_t path_ino, map_ino;
    int rc = rpc_domain_stat(cfg, &info);
    if (rc != 0 || !info.exists || !info.valid || info.segment_id != rpc_node_segment_id(node)) {
        tu_log("proc %d: stat rc=%d exists=%d valid=%d id=%016" PRIx64 ", mine %016" PRIx64, who,
               rc, info.exists, info.valid, info.segment_id, rpc_node_segment_id(node));
        bad++;
    }
    path_ino = tu_shm_inode(name);
    map_ino = tu_mapped_inode(name, &deleted);
    if (path_ino == 0 || map_ino != path_ino || deleted) {
        tu_log("proc %d: path inode %" PRIu64 ", mapped inode %" PRIu64 "%s", who, path_ino,
               map_ino, deleted ? " (deleted)" : "");
        bad++;
    }
    return bad;
}

static void record(int who, uint64_t segid, int64_t start, int64_t end)
{
    int i = sh->nrec[who];
    if (i < MAX_RECS) {
        sh->rec[who][i] = (struct interval){segid, start, end};
        sh->nrec[who] = i + 1;
    }
}

/* Create, check, hold a little, check, destroy; `iterations` times. */
static void worker(const char *name, int who, tu_gate *gate)
{
    rpc_config *cfg = tu_config(name);
    char node_name[32];
    unsigned seed = (unsigned)who * 7919u + 1;
    snprintf(node_name, sizeof node_name, "w%d", who);
    tu_gate_wait(gate);
    for (int i = 0; i < iterations; i++) {
        rpc_node *node = NULL;
        int64_t start, end;
        int rc = rpc_node_create(cfg, node_name, &node);
        if (rc != 0) {
            tu_log("worker %d: create: %s (%s)", who, tu_errname(rc), rpc_errdetail());
            sh->errors[who]++;
            continue;
        }
        start = now_ns();
        sh->violations[who] += check_view(cfg, name, node, who);
        if (rand_r(&seed) % 4 == 0)
            tu_sleep_ms(1);
        sh->violations[who] += check_view(cfg, name, node, who);
        end = now_ns();
        record(who, rpc_node_segment_id(node), start, end);
        rc = rpc_node_destroy(node);
        if (rc != 0) {
            tu_log("worker %d: destroy: %s (%s)", who, tu_errname(rc), rpc_errdetail());
            sh->errors[who]++;
        }
        sh->progress++;
    }
    rpc_config_destroy(cfg);
    exit(0);
}

/* Attach while the workers' progress is in [from, to) percent. */
static void stay(const rpc_config *cfg, const char *name, int who, int from, int to)
{
    int total = NWORKERS * iterations;
    rpc_node *node = NULL;
    int64_t start;
    int rc;
    while (sh->progress * 100 < from * total)
        tu_sleep_ms(1);
    rc = rpc_node_create(cfg, "stayer", &node);
    if (rc != 0) {
        tu_log("stayer: create: %s (%s)", tu_errname(rc), rpc_errdetail());
        sh->errors[who]++;
        return;
    }
    start = now_ns();
    while (sh->progress * 100 < to * total) {
        sh->violations[who] += check_view(cfg, name, node, who);
        tu_sleep_ms(2);
    }
    sh->violations[who] += check_view(cfg, name, node, who);
    record(who, rpc_node_segment_id(node), start, now_ns());
    rc = rpc_node_destroy(node);
    if (rc != 0) {
        tu_log("stayer: destroy: %s (%s)", tu_errname(rc), rpc_errdetail());
        sh->errors[who]++;
    }
}

static void stayer(const char *name, int who, tu_gate *gate)
{
    rpc_config *cfg = tu_config(name);
    tu_gate_wait(gate);
    stay(cfg, name, who, 10, 40);
    stay(cfg, name, who, 60, 90);
    rpc_config_destroy(cfg);
    exit(0);
}

/* Any two intervals of different processes that overlap saw one segment. */
static int check_overlaps(int *overlapping_pairs, int *generations)
{
    int bad = 0;
    uint64_t ids[64];
    int nids = 0;
    *overlapping_pairs = 0;
    for (int p = 0; p < NPROCS; p++) {
        for (int i = 0; i < sh->nrec[p]; i++) {
            const struct interval *a = &sh->rec[p][i];
            int known = 0;
            for (int k = 0; k < nids; k++)
                known |= ids[k] == a->segid;
            if (!known && nids < 64)
                ids[nids++] = a->segid;
            for (int q = p + 1; q < NPROCS; q++) {
                for (int j = 0; j < sh->nrec[q]; j++) {
                    const struct interval *b = &sh->rec[q][j];
                    if (a->start_ns > b->end_ns || b->start_ns > a->end_ns)
                        continue;
                    (*overlapping_pairs)++;
                    if (a->segid != b->segid) {
                        if (bad < 10)
                            tu_log("split brain: proc %d in %016" PRIx64 " and proc %d in %016"
                                   PRIx64 " at the same time", p, a->segid, q, b->segid);
                        bad++;
                    }
                }
            }
        }
    }
    *generations = nids;
    return bad;
}

int main(int argc, char **argv)
{
    const char *name;
    pid_t pids[NPROCS];
    tu_gate gate;
    int violations = 0, errors = 0, records = 0, pairs = 0, gens = 0, split;
    int64_t t0;

    tu_init("split_brain");
    if (argc > 1)
        iterations = atoi(argv[1]);
    ASSERT(iterations > 0 && iterations <= MAX_RECS);
    name = tu_shm_name("churn");
    sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ASSERT(sh != MAP_FAILED);
    memset(sh, 0, sizeof *sh);

    tu_gate_make(&gate);
    for (int p = 0; p < NPROCS; p++) {
        pids[p] = tu_fork(0);
        if (pids[p] == 0) {
            if (p < NWORKERS)
                worker(name, p, &gate);
            stayer(name, p, &gate);
        }
    }
    t0 = tu_now_ms();
    tu_gate_open(&gate, NPROCS);
    for (int p = 0; p < NPROCS; p++)
        TU_EXPECT_EXIT0(pids[p], tu_timeout_ms(240000));

    for (int p = 0; p < NPROCS; p++) {
        violations += sh->violations[p];
        errors += sh->errors[p];
        records += sh->nrec[p];
    }
    split = check_overlaps(&pairs, &gens);
    tu_log("%d processes, %d attachments in %lld ms: %d overlapping pairs, %d segment "
           "generations, %d view violations, %d overlap violations, %d failed calls",
           NPROCS, records, (long long)(tu_now_ms() - t0), pairs, gens, violations, split,
           errors);
    ASSERT_EQ(errors, 0);
    ASSERT_EQ(violations, 0);
    ASSERT_EQ(split, 0);
    ASSERT_EQ(records, NWORKERS * iterations + 2);
    ASSERT_MSG(pairs > 0, "no two attachments overlapped: the test exercised no concurrency");
    ASSERT_MSG(!tu_shm_exists(name), "a segment was left after everyone left");
    munmap(sh, sizeof *sh);
    return tu_done();
}
