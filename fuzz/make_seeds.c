/*
 * make_seeds.c - the seed corpus of fuzz_segment: real segment images.
 *
 * Usage: make_seeds OUTDIR
 *
 * Each scenario builds a real domain in this process (manual-mode nodes, the
 * fuzz geometry of fuzz_common.h), subscribes and publishes so that the
 * tables and queues hold real entries and records, and copies the segment's
 * bytes into OUTDIR while the nodes still exist.  Some copies are then
 * edited the way the harness needs them:
 *   - "takeover": the subscriber's slot and subscription entries are marked
 *     free and the incarnation counter set back, so the harness's node
 *     lands in that slot with that incarnation and reads the queued records
 *     (with its callbacks run: same entries, same sequence numbers);
 *   - knob variants (fuzz_common.h): a node that looks dead (swept at
 *     join), no membership (orphan re-initialisation), events and a second
 *     node, a never-finished segment.
 * The segment is removed when the last node is destroyed.
 *
 * Usage: make_seeds --names OUTDIR
 *
 * writes the seeds of fuzz_names instead: a selector byte, the numbers
 * block (fuzz_names.c, struct numbers) and five '\n'-separated strings.
 *
 * Usage: make_seeds --regressions OUTDIR
 *
 * writes the hand-made inputs of fuzz/regressions/fuzz_segment/: real
 * images with the one field changed that triggers a bug the fuzzer found
 * (see docs/fuzzing.md).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "layout.h"

static char g_name[64];
static const char *g_outdir;
static int g_quiet;                       /* --regressions: no seed files */
static unsigned char g_pair[FZ_SHM_SIZE];  /* scenario_pair's image */
static unsigned g_count;
static unsigned char g_payload[FZ_MAX_MSG];

static void noop_cb(rpc_node *node, const rpc_message *m, void *user)
{
    (void)node;
    (void)m;
    (void)user;
}

static void must(int rc, const char *what)
{
    if (rc < 0) {
        fprintf(stderr, "make_seeds: %s: %s (%s)\n", what, rpc_strerror(rc), rpc_errdetail());
        shm_unlink(g_name);
        exit(1);
    }
}

/* The segment's current bytes (FZ_SHM_SIZE of them) into buf. */
static void snapshot(unsigned char *buf)
{
    int fd = shm_open(g_name, O_RDONLY, 0);
    size_t got = 0;
    if (fd < 0) {
        perror("make_seeds: shm_open");
        exit(1);
    }
    while (got < FZ_SHM_SIZE) {
        ssize_t n = pread(fd, buf + got, FZ_SHM_SIZE - got, (off_t)got);
        if (n <= 0) {
            perror("make_seeds: pread");
            exit(1);
        }
        got += (size_t)n;
    }
    close(fd);
}

static void write_file(const unsigned char *img, size_t len, const char *path)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(img, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "make_seeds: cannot write %s: %s\n", path, strerror(errno));
        exit(1);
    }
}

static void save(const unsigned char *img, size_t len, const char *what)
{
    char path[4096];
    if (g_quiet)
        return;
    snprintf(path, sizeof path, "%s/seed_%02u_%s", g_outdir, g_count++, what);
    write_file(img, len, path);
}

static void save_with_knobs(const unsigned char *img, const char *what, unsigned char flags,
                            unsigned char lock_xor, unsigned char payload)
{
    unsigned char copy[FZ_SHM_SIZE];
    memcpy(copy, img, sizeof copy);
    copy[FZ_KNOB_OFF + FZK_FLAGS] = flags;
    copy[FZ_KNOB_OFF + FZK_LOCK_XOR] = lock_xor;
    copy[FZ_KNOB_OFF + FZK_PAYLOAD] = payload;
    save(copy, sizeof copy, what);
}

static struct rpcl_node *slot_of(unsigned char *img, uint32_t i)
{
    return (struct rpcl_node *)(img + RPC_HEADER_SIZE + (size_t)i * RPC_NODE_SLOT_SIZE);
}

/* Free `slot` and its subscription entries in the copy, and set the
 * incarnation counter so the next node to register gets the slot's
 * incarnation back: the harness then owns the queues addressed to it. */
static void takeover(unsigned char *img, uint32_t slot)
{
    struct rpcl_header *h = (struct rpcl_header *)img;
    struct rpcl_node *n = slot_of(img, slot);
    uint64_t inc = n->incarnation;
    uint32_t i;
    atomic_store(&n->state, RPCL_NODE_FREE);
    n->left_how = RPCL_LEFT_CLEAN;
    atomic_store(&h->num_nodes, atomic_load(&h->num_nodes) - 1);
    atomic_store(&h->next_incarnation, inc - 1);
    for (i = 0; i < h->max_subs; i++) {
        struct rpcl_sub *e = (struct rpcl_sub *)(img + h->heap_off + (size_t)i * sizeof *e);
        if (atomic_load(&e->state) == RPCL_SUB_ACTIVE && e->node_slot == slot &&
            e->node_incarnation == inc)
            atomic_store(&e->state, RPCL_SUB_FREE);   /* seq kept: records still match */
    }
}

static rpc_node *node(rpc_config *cfg, const char *name)
{
    rpc_node *n = NULL;
    must(rpc_node_create(cfg, name, &n), name);
    return n;
}

static void pub(rpc_node *n, const char *g, const char *t, size_t len)
{
    int rc = rpc_publish(n, g, t, g_payload, len, RPC_NO_WAIT);
    if (rc != RPC_EAGAIN)
        must(rc, "publish");
}

/* Fill a's queue from b, drain it, then fill it again so that a record
 * wraps: the image then holds a WRAP marker and unread records. */
static void fill_and_wrap(rpc_node *a, rpc_node *b, const char *g, const char *t)
{
    int i;
    for (i = 0; i < 64 && rpc_publish(b, g, t, g_payload, 200, RPC_NO_WAIT) == 0; i++)
        ;
    while (rpc_node_poll(a, 0) > 0)
        ;
    for (i = 0; i < 5; i++)
        pub(b, g, t, 300);
    for (i = 0; i < 3; i++)
        pub(b, g, t, 8);
}

static void scenario_single(rpc_config *cfg)
{
    unsigned char img[FZ_SHM_SIZE];
    rpc_node *a = node(cfg, "alpha");
    snapshot(img);
    save(img, sizeof img, "single_node");
    /* Never finished: magic still zero. */
    memset(img, 0, sizeof(uint64_t));
    save(img, sizeof img, "half_initialised");
    must(rpc_node_destroy(a), "destroy");
}

static void scenario_pair(rpc_config *cfg)
{
    unsigned char img[FZ_SHM_SIZE], copy[FZ_SHM_SIZE];
    rpc_node *a = node(cfg, "alpha"), *b = node(cfg, "beta");
    must(rpc_subscribe(a, "g1", "t1", noop_cb, NULL), "subscribe");
    must(rpc_subscribe(a, "g1", "t2", noop_cb, NULL), "subscribe");
    must(rpc_subscribe(b, "g2", "t1", noop_cb, NULL), "subscribe");
    pub(b, "g1", "t1", 0);
    pub(b, "g1", "t1", 10);
    pub(b, "g1", "t2", FZ_MAX_MSG);
    pub(a, "g2", "t1", 33);
    snapshot(img);
    memcpy(g_pair, img, sizeof g_pair);
    save(img, sizeof img, "pair_queued");
    save_with_knobs(img, "pair_beta_dead", 0, 1u << 1, 4);
    save_with_knobs(img, "pair_orphan", FZK_NO_MEMBERSHIP, 0, 4);
    save_with_knobs(img, "pair_events_second", FZK_EVENTS | FZK_SECOND_NODE | FZK_UNSUBSCRIBE,
                    0, 16);
    save_with_knobs(img, "pair_too_large", 0, 0, 200);
    memcpy(copy, img, sizeof copy);
    takeover(copy, 0);
    save(copy, sizeof copy, "pair_takeover_alpha");
    save_with_knobs(copy, "pair_takeover_alpha_events", FZK_EVENTS | FZK_SECOND_NODE, 0, 8);
    memcpy(copy, img, sizeof copy);
    takeover(copy, 1);
    save(copy, sizeof copy, "pair_takeover_beta");
    must(rpc_node_destroy(b), "destroy");
    must(rpc_node_destroy(a), "destroy");
}

static void scenario_wrap(rpc_config *cfg)
{
    unsigned char img[FZ_SHM_SIZE];
    rpc_node *a = node(cfg, "reader"), *b = node(cfg, "writer");
    must(rpc_subscribe(a, "w", "t", noop_cb, NULL), "subscribe");
    fill_and_wrap(a, b, "w", "t");
    snapshot(img);
    save(img, sizeof img, "wrapped");
    takeover(img, 0);
    save(img, sizeof img, "wrapped_takeover");
    must(rpc_node_destroy(b), "destroy");
    must(rpc_node_destroy(a), "destroy");
}

/* A full node table, crossing subscriptions, full and half-read queues
 * (5 of the 8 queues in use, so the harness can still allocate some). */
static void scenario_full(rpc_config *cfg)
{
    static const char *names[FZ_MAX_NODES] = { "n0", "n1", "n2", "n3" };
    unsigned char img[FZ_SHM_SIZE];
    rpc_node *n[FZ_MAX_NODES];
    unsigned i, k;
    for (i = 0; i < FZ_MAX_NODES; i++)
        n[i] = node(cfg, names[i]);
    for (i = 0; i < FZ_MAX_NODES; i++) {
        char topic[8];
        snprintf(topic, sizeof topic, "t%u", i);
        if (i < 2)
            must(rpc_subscribe(n[i], "all", "bcast", noop_cb, NULL), "subscribe");
        must(rpc_subscribe(n[i], "own", topic, noop_cb, NULL), "subscribe");
    }
    for (i = 2; i < FZ_MAX_NODES; i++)
        for (k = 0; k < 3; k++)
            pub(n[i], "all", "bcast", 40 + 8 * k);
    pub(n[1], "own", "t0", 100);
    pub(n[2], "own", "t0", 1);
    rpc_node_poll(n[1], 0);
    snapshot(img);
    save(img, sizeof img, "full_table");
    save_with_knobs(img, "full_table_two_dead", FZK_EVENTS, 0x6, 12);
    takeover(img, 0);
    save(img, sizeof img, "full_takeover_n0");
    for (i = FZ_MAX_NODES; i-- > 0;)
        must(rpc_node_destroy(n[i]), "destroy");
}

/* ---- fuzz_names seeds --------------------------------------------------- */

static void put(unsigned char **p, uint64_t v, unsigned bytes)
{
    unsigned i;
    for (i = 0; i < bytes; i++)
        *(*p)++ = (unsigned char)(v >> (8 * i));
}

static void name_seed(const char *what, unsigned sel, uint64_t shm_size, uint64_t queue,
                      uint64_t max_msg, uint32_t max_nodes, uint32_t max_subs, uint32_t mode,
                      const char *strings)
{
    unsigned char buf[1024], *p = buf;
    size_t len = strlen(strings);
    put(&p, sel, 1);
    put(&p, shm_size, 8);
    put(&p, queue, 8);
    put(&p, max_msg, 8);
    put(&p, max_nodes, 4);
    put(&p, max_subs, 4);
    put(&p, mode, 4);
    put(&p, 50, 4);   /* spin_us */
    put(&p, 1, 4);    /* manual receive mode */
    memcpy(p, strings, len);
    save(buf, (size_t)(p - buf) + len, what);
}

static void names_seeds(void)
{
    name_seed("defaults", 0xF, 1u << 20, 4096, 256, 4, 16, 0600,
              "/librpc_demo\nworker-1\nsensors\ntemperature\n21.5 C");
    name_seed("small", 0x3, 64u << 10, 8192, 1024, 2, 8, 0660,
              "/x\nn\ng\nt\npayload");
    name_seed("bad_names", 0xF, 0, 3000, 1u << 25, 0, 0, 0777,
              "no-slash\nhas space\n\ttab\ntopic/with/slashes\n\"q\" \\ \x01 \xc3\xa9 \xff");
    name_seed("long_names", 0x6, 1u << 30, 1u << 30, 16u << 20, 1024, 1u << 20, 0700,
              "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
              "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
              "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
              "aaaaaaaaaaaaaa\n"
              "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn\n"
              "ggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggg\n"
              "ttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt\n"
              "\xe2\x82\xac \xf0\x9f\x98\x80 \xed\xa0\x80 \xc0\xaf");
    name_seed("anchor_dup", 0x2, 0, 0, 0, 0, 0, 0, "/a\nanchor\ng\nt\n");
}

/* ---- regression inputs ------------------------------------------------- */

static struct rpcl_header *hdr_of(unsigned char *img)
{
    return (struct rpcl_header *)img;
}

static struct rpcl_ring *ring_of(unsigned char *img, uint32_t i)
{
    struct rpcl_header *h = hdr_of(img);
    return (struct rpcl_ring *)(img + h->ring_pool_off + (size_t)i * h->ring_block_size);
}

static void save_regression(const unsigned char *img, size_t len, const char *what)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", g_outdir, what);
    write_file(img, len, path);
    g_count++;
}

/* Bug 1: queue pool one byte off its 8-byte alignment (one queue fewer so
 * the pool still fits): check_header accepts it, atomics go misaligned. */
static void reg_misaligned_pool(void)
{
    static unsigned char img[FZ_SHM_SIZE];
    memcpy(img, g_pair, sizeof img);
    hdr_of(img)->ring_pool_off += 1;
    hdr_of(img)->ring_count -= 1;
    save_regression(img, sizeof img, "misaligned-ring-pool");
}

/* Bug 1 again: the subscription table one byte off. */
static void reg_misaligned_subs(void)
{
    static unsigned char img[FZ_SHM_SIZE];
    memcpy(img, g_pair, sizeof img);
    hdr_of(img)->heap_off += 1;
    hdr_of(img)->heap_size -= 8;
    save_regression(img, sizeof img, "misaligned-subscription-table");
}

/* Bug 2: the queue addressed to the joining node (takeover) has head 4:
 * avail = tail - head is a multiple of 8, the head itself is not. */
static void reg_unaligned_head(void)
{
    static unsigned char img[FZ_SHM_SIZE];
    struct rpcl_ring *r;
    memcpy(img, g_pair, sizeof img);
    takeover(img, 0);
    r = ring_of(img, 0);   /* beta -> alpha, the first queue made */
    atomic_store(&r->head, 4);
    atomic_store(&r->tail, 36);
    save_regression(img, sizeof img, "queue-head-unaligned");
}

/* A segment whose size is a multiple of the page size, with the queue to
 * the joining node moved into the last block, so that nothing is mapped
 * after it.  Returns that queue. */
static struct rpcl_ring *queue_at_segment_end(unsigned char *img, uint64_t size)
{
    const uint64_t block = FZ_RING_BLOCK, pool = size - FZ_RINGS * block;   /* 8-aligned */
    struct rpcl_header *h = hdr_of(img);
    struct rpcl_ring *first, *last;
    uint64_t old_pool = hdr_of(g_pair)->ring_pool_off;
    memset(img, 0, size);
    memcpy(img, g_pair, old_pool);   /* header and tables */
    memcpy(img + pool, g_pair + old_pool, FZ_RINGS * block);
    takeover(img, 0);
    h->segment_size = size;
    h->heap_size = size - h->heap_off;
    h->ring_pool_off = pool;
    first = ring_of(img, 0);
    last = ring_of(img, FZ_RINGS - 1);
    memcpy(last, first, RPCL_RING_HDR_SIZE);
    /* Scans stop at the high-water mark: make them reach the last block. */
    atomic_store(&h->ring_hwm, FZ_RINGS);
    return last;
}

#define FZ_PAGED_SIZE ((FZ_SHM_SIZE + 8191) / 4096 * 4096)

/* Bug 2, worst case: that last queue with head = capacity - 1.  The record
 * length was read from the last byte of the queue and the 3 bytes after
 * the end of the segment: SIGSEGV (or SIGBUS). */
static void reg_head_past_end(void)
{
    static unsigned char img[FZ_PAGED_SIZE];
    struct rpcl_ring *last = queue_at_segment_end(img, sizeof img);
    atomic_store(&last->head, FZ_QUEUE_SIZE - 1);
    atomic_store(&last->tail, FZ_QUEUE_SIZE - 1 + 8);
    save_regression(img, sizeof img, "queue-head-past-segment-end");
}

/* Layout 5: the last queue's final 8 bytes hold a commit word for a
 * record there, whose header would lie past the end of the segment. */
static void reg_commit_at_end(void)
{
    static unsigned char img[FZ_PAGED_SIZE];
    struct rpcl_ring *last = queue_at_segment_end(img, sizeof img);
    uint64_t pos = FZ_QUEUE_SIZE - 8, commit = RPCL_COMMIT(pos);
    atomic_store(&last->head, pos);
    atomic_store(&last->tail, pos + 8);
    memcpy((unsigned char *)last + RPCL_RING_HDR_SIZE + pos, &commit, sizeof commit);
    save_regression(img, sizeof img, "queue-commit-at-segment-end");
}

static void regressions(void)
{
    reg_misaligned_pool();
    reg_misaligned_subs();
    reg_unaligned_head();
    reg_head_past_end();
    reg_commit_at_end();
}

int main(int argc, char **argv)
{
    rpc_config *cfg;
    unsigned i;
    int names = argc == 3 && strcmp(argv[1], "--names") == 0;
    int regs = argc == 3 && strcmp(argv[1], "--regressions") == 0;
    if (argc != 2 && !names && !regs) {
        fprintf(stderr, "usage: make_seeds [--names | --regressions] OUTDIR\n");
        return 2;
    }
    g_outdir = argv[argc - 1];
    if (mkdir(g_outdir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "make_seeds: mkdir %s: %s\n", g_outdir, strerror(errno));
        return 1;
    }
    if (names) {
        names_seeds();
        printf("make_seeds: %u fuzz_names seeds in %s\n", g_count, g_outdir);
        return 0;
    }
    for (i = 0; i < sizeof g_payload; i++)
        g_payload[i] = (unsigned char)(i * 13u + 1u);
    snprintf(g_name, sizeof g_name, "/librpc_fzseed_%ld", (long)getpid());
    cfg = fz_config(g_name);
    if (regs) {
        g_quiet = 1;
        scenario_pair(cfg);
        rpc_config_destroy(cfg);
        regressions();
        printf("make_seeds: %u regression inputs in %s\n", g_count, g_outdir);
        return 0;
    }
    scenario_single(cfg);
    scenario_pair(cfg);
    scenario_wrap(cfg);
    scenario_full(cfg);
    rpc_config_destroy(cfg);
    /* Every scenario destroyed its nodes: the last one removed the segment. */
    if (shm_unlink(g_name) == 0) {
        fprintf(stderr, "make_seeds: the segment outlived its last node\n");
        return 1;
    }
    printf("make_seeds: %u images of %u bytes in %s\n", g_count, FZ_SHM_SIZE, g_outdir);
    return 0;
}
