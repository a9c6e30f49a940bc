/*
 * fuzz_segment.c - libFuzzer target: the library against a mutated segment.
 *
 * Each input is a segment image (header, node table, subscription table,
 * queues), as fuzz/make_seeds.c copies them out of /dev/shm.  The harness
 * writes it into a segment of its own (/librpc_fz_<pid>) and then plays
 * another process of the domain: it holds the membership lock, so that the
 * library joins the image instead of re-initialising it as an orphan, and
 * holds the node lock of every slot the image marks as used, so that those
 * nodes look alive (knobs can flip both; see fuzz_common.h).  Then it drives
 * the library the way a program and rpcctl would: status, node list and
 * count, endpoint list, clean-up (refused: we look attached), join (which
 * sweeps), subscribe, publish, poll, node events, leave.
 *
 * The contract under test: every read of shared state is bounds-checked, so
 * the only outcomes are success or a documented error code.  A crash, a
 * sanitizer report, a hang (libFuzzer -timeout), a code outside RPC_E*, a
 * lock left behind after the last node left, or one of the consistency
 * checks below failing is a finding.  shm_guard.c poisons the bytes past
 * the segment's end so reads beyond the file are reported too.
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

#include <sanitizer/common_interface_defs.h>

#include "fuzz_common.h"
#include "layout.h"
#include "shm_guard.h"

#define MAX_IMAGE ((size_t)4 << 20)
#define MAX_TOPICS 9

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char g_name[64];
static rpc_config *g_cfg;
static int g_verbose;             /* $FUZZ_VERBOSE: one line per input */
static unsigned char g_payload[1024];

/* What one run saw, for the checks made in callbacks and at the end. */
struct run {
    const uint8_t *img;
    size_t size;
    struct rpcl_header hdr;      /* zeroed when the image is shorter */
    unsigned char knob[8];
    uint64_t callbacks;
    uint64_t checksum;           /* keeps payload reads from being optimised out */
    char topics[MAX_TOPICS][2][RPCL_NAME_SIZE];
    unsigned ntopics;
};

static void remove_segment(void)
{
    if (g_name[0] != '\0')
        shm_unlink(g_name);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    unsigned i;
    (void)argc;
    (void)argv;
    fz_sweep_stale();
    snprintf(g_name, sizeof g_name, "/librpc_fz_%ld", (long)getpid());
    g_verbose = getenv("FUZZ_VERBOSE") != NULL;
    g_cfg = fz_config(g_name);
    for (i = 0; i < sizeof g_payload; i++)
        g_payload[i] = (unsigned char)(i * 31u + 7u);
    /* Leave nothing in /dev/shm on a normal exit or a sanitizer report. */
    atexit(remove_segment);
    __sanitizer_set_death_callback(remove_segment);
    return 0;
}

/* ---- the image --------------------------------------------------------- */

static int write_all(int fd, const void *buf, size_t len, off_t off)
{
    const unsigned char *p = buf;
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
        off += n;
    }
    return 0;
}

static int lock_range(int fd, off_t start, off_t len, short type)
{
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    fl.l_start = start;
    fl.l_len = len;
    return fcntl(fd, F_OFD_SETLK, &fl);
}

static uint32_t image_u32(const struct run *r, uint64_t off)
{
    uint32_t v = 0;
    if (off <= r->size && r->size - off >= sizeof v)
        memcpy(&v, r->img + off, sizeof v);
    return v;
}

/* Copy a NUL-terminated name of at most 63 bytes from the image, or "". */
static void image_name(const struct run *r, uint64_t off, char out[RPCL_NAME_SIZE])
{
    out[0] = '\0';
    if (off > r->size || r->size - off < RPCL_NAME_SIZE)
        return;
    if (memchr(r->img + off, '\0', RPCL_NAME_SIZE) != NULL)
        memcpy(out, r->img + off, RPCL_NAME_SIZE);
}

static int valid_name(const char *s)
{
    size_t i;
    if (s[0] == '\0')
        return 0;
    for (i = 0; s[i] != '\0'; i++)
        if (i >= RPC_NODE_NAME_MAX || s[i] <= ' ' || s[i] > '~')
            return 0;
    return 1;
}

static uint32_t image_max_nodes(const struct run *r)
{
    return r->hdr.max_nodes < RPC_MAX_NODES_LIMIT ? r->hdr.max_nodes : RPC_MAX_NODES_LIMIT;
}

/* Hold the node lock of each slot the image marks used (flipped for slots
 * 0..7 by the knob), in runs, as the owners of those nodes would. */
static void lock_slots(int fd, const struct run *r)
{
    uint32_t n = image_max_nodes(r), i, run_start = 0;
    int in_run = 0;
    for (i = 0; i <= n; i++) {
        int alive = 0;
        if (i < n) {
            alive = image_u32(r, RPC_HEADER_SIZE + (uint64_t)i * RPC_NODE_SLOT_SIZE) !=
                    RPCL_NODE_FREE;
            if (i < 8 && (r->knob[FZK_LOCK_XOR] >> i) & 1)
                alive = !alive;
        }
        if (alive && !in_run) {
            run_start = i;
            in_run = 1;
        } else if (!alive && in_run) {
            (void)lock_range(fd, RPC_LOCK_NODE0 + run_start, i - run_start, F_WRLCK);
            in_run = 0;
        }
    }
}

/* Create our segment holding the image, looking attached.  Returns its fd. */
static int install_image(struct run *r)
{
    int fd = shm_open(g_name, O_RDWR | O_CREAT | O_TRUNC, 0600);
    FZ_ASSERT(fd >= 0, "shm_open %s: %s", g_name, strerror(errno));
    FZ_ASSERT(write_all(fd, r->img, r->size, 0) == 0, "write image: %s", strerror(errno));
    if (!(r->knob[FZK_FLAGS] & FZK_KEEP_SIZE) && r->size >= sizeof r->hdr) {
        /* Most length-changing mutations would only test the size check. */
        uint64_t sz = r->size;
        r->hdr.segment_size = sz;
        FZ_ASSERT(write_all(fd, &sz, sizeof sz, offsetof(struct rpcl_header, segment_size)) == 0,
                  "patch size");
    }
    if (!(r->knob[FZK_FLAGS] & FZK_KEEP_VERSION) && r->size >= sizeof r->hdr) {
        /* A corpus made before a layout change stays useful: without this
         * every input of it would only test the version check. */
        uint32_t v = RPC_LAYOUT_VERSION;
        r->hdr.layout_version = v;
        FZ_ASSERT(write_all(fd, &v, sizeof v, offsetof(struct rpcl_header, layout_version)) == 0,
                  "patch version");
    }
    fz_guard_set_file(fd);
    if (!(r->knob[FZK_FLAGS] & FZK_NO_MEMBERSHIP)) {
        FZ_ASSERT(lock_range(fd, RPC_LOCK_MEMBERSHIP, 1, F_RDLCK) == 0, "membership lock");
        lock_slots(fd, r);
    }
    return fd;
}

/* ---- looking from outside -------------------------------------------- */

/* The endpoint list of a valid segment: terminated names, slots in range;
 * clean-up refuses while we look attached, and the segment stays. */
static void observe_endpoints(const struct run *r, const rpc_domain_info *info)
{
    static rpc_endpoint_info eps[64];
    int n = rpc_domain_list_endpoints(g_cfg, eps, 64), rc;
    unsigned i;
    fz_check_rc("rpc_domain_list_endpoints", n);
    FZ_ASSERT(n >= 0, "list_endpoints failed on a valid segment: %d", n);
    for (i = 0; i < (unsigned)n && i < 64; i++) {
        FZ_ASSERT(strnlen(eps[i].group, sizeof eps[i].group) < sizeof eps[i].group &&
                      strnlen(eps[i].topic, sizeof eps[i].topic) < sizeof eps[i].topic &&
                      strnlen(eps[i].node, sizeof eps[i].node) < sizeof eps[i].node,
                  "endpoint name not terminated");
        FZ_ASSERT(eps[i].slot < info->max_nodes, "endpoint slot %u of %u", eps[i].slot,
                  info->max_nodes);
    }
    if (r->knob[FZK_FLAGS] & FZK_NO_MEMBERSHIP) {
        /* Nobody attached: the wait ends at once. */
        rc = rpc_domain_wait_orphaned(g_cfg);
        FZ_ASSERT(rc == 0, "wait_orphaned on an orphan: %d", rc);
    } else {
        rc = rpc_domain_cleanup(g_cfg, 0);
        FZ_ASSERT(rc == RPC_EBUSY, "cleanup of an attached segment returned %d", rc);
    }
}

/* rpc_domain_stat, _list_nodes and _active_nodes must agree with each other
 * and with what the harness holds. */
static void observe(const struct run *r)
{
    static rpc_node_info nodes[RPC_MAX_NODES_LIMIT];
    rpc_domain_info info;
    int rc, listed, active;
    unsigned i;

    rc = rpc_domain_stat(g_cfg, &info);
    fz_check_rc("rpc_domain_stat", rc);
    FZ_ASSERT(rc == 0, "rpc_domain_stat failed on a readable segment: %d", rc);
    FZ_ASSERT(info.exists == 1 && info.size == r->size, "stat: exists %d size %llu",
              info.exists, (unsigned long long)info.size);
    FZ_ASSERT(info.attached == !(r->knob[FZK_FLAGS] & FZK_NO_MEMBERSHIP) &&
                  info.orphaned == !info.attached,
              "stat: attached %d orphaned %d", info.attached, info.orphaned);
    fz_check_rc("rpc_domain_stat status", info.status);
    FZ_ASSERT(info.valid == (info.status == 0), "stat: valid %d status %d", info.valid,
              info.status);

    listed = rpc_domain_list_nodes(g_cfg, nodes, RPC_MAX_NODES_LIMIT);
    fz_check_rc("rpc_domain_list_nodes", listed);
    active = rpc_domain_active_nodes(g_cfg);
    fz_check_rc("rpc_domain_active_nodes", active);
    if (!info.valid) {
        FZ_ASSERT(listed == info.status && active == info.status,
                  "invalid segment (%d) but list %d active %d", info.status, listed, active);
        return;
    }
    FZ_ASSERT(info.registered_nodes <= info.max_nodes && info.live_nodes <= info.registered_nodes &&
                  info.live_processes <= info.live_nodes,
              "stat counts: max %u registered %u live %u processes %u", info.max_nodes,
              info.registered_nodes, info.live_nodes, info.live_processes);
    FZ_ASSERT(listed == (int)info.registered_nodes, "list %d, stat registered %u", listed,
              info.registered_nodes);
    FZ_ASSERT(active == (int)info.live_nodes, "active %d, stat live %u", active,
              info.live_nodes);
    for (i = 0; i < (unsigned)listed; i++) {
        FZ_ASSERT(strnlen(nodes[i].name, sizeof nodes[i].name) < sizeof nodes[i].name,
                  "listed name not terminated");
        FZ_ASSERT(nodes[i].slot < info.max_nodes && (i == 0 || nodes[i].slot > nodes[i - 1].slot),
                  "listed slot %u out of order or range", nodes[i].slot);
    }
    observe_endpoints(r, &info);
}

/* ---- taking part ------------------------------------------------------- */

static void on_message(rpc_node *node, const rpc_message *m, void *user)
{
    struct run *r = user;
    const unsigned char *p = m->data;
    size_t i;
    (void)node;
    FZ_ASSERT(m->size <= r->hdr.max_msg_size, "message of %zu bytes, segment max %u", m->size,
              r->hdr.max_msg_size);
    FZ_ASSERT(valid_name(m->group) && valid_name(m->topic), "callback with a bad topic name");
    FZ_ASSERT(strnlen(m->publisher, RPC_NODE_NAME_MAX + 1) <= RPC_NODE_NAME_MAX,
              "publisher name not terminated");
    for (i = 0; i < m->size; i++)
        r->checksum += p[i];
    r->callbacks++;
}

static void on_event(rpc_node *node, const rpc_node_event *ev, void *user)
{
    (void)node;
    (void)user;
    FZ_ASSERT(ev->kind >= RPC_EVENT_NODE_JOINED && ev->kind <= RPC_EVENT_NODE_GONE,
              "event kind %d", ev->kind);
    FZ_ASSERT(ev->slot < RPC_MAX_NODES_LIMIT, "event slot %u", ev->slot);
    FZ_ASSERT(strnlen(ev->name, RPC_NODE_NAME_MAX + 1) <= RPC_NODE_NAME_MAX,
              "event name not terminated");
}

static void add_topic(struct run *r, const char *group, const char *topic)
{
    if (r->ntopics < MAX_TOPICS) {
        strcpy(r->topics[r->ntopics][0], group);
        strcpy(r->topics[r->ntopics][1], topic);
        r->ntopics++;
    }
}

/* Subscribe to what the image's subscription table names (entry by entry,
 * so a node that takes over a subscriber's slot gets its entries back and
 * its queued messages are delivered), plus a topic of our own. */
static void subscribe_all(rpc_node *node, struct run *r)
{
    unsigned scan = r->knob[FZK_SCAN] ? r->knob[FZK_SCAN] : 8, i;
    int rc;
    if (scan > r->hdr.max_subs)
        scan = r->hdr.max_subs;
    for (i = 0; i < scan && r->ntopics < MAX_TOPICS - 1; i++) {
        uint64_t e = r->hdr.heap_off + (uint64_t)i * sizeof(struct rpcl_sub);
        char group[RPCL_NAME_SIZE], topic[RPCL_NAME_SIZE];
        image_name(r, e + offsetof(struct rpcl_sub, group), group);
        image_name(r, e + offsetof(struct rpcl_sub, topic), topic);
        if (!valid_name(group) || !valid_name(topic))
            continue;
        rc = rpc_subscribe(node, group, topic, on_message, r);
        fz_check_rc("rpc_subscribe", rc);
        if (rc == 0)
            add_topic(r, group, topic);
        else if (rc == RPC_EEXIST)
            FZ_ASSERT(rpc_is_subscribed(node, group, topic) == 1, "EEXIST but not subscribed");
    }
    rc = rpc_subscribe(node, "fz", "self", on_message, r);
    fz_check_rc("rpc_subscribe", rc);
    if (rc == 0) {
        add_topic(r, "fz", "self");
        FZ_ASSERT(rpc_is_subscribed(node, "fz", "self") == 1, "subscribed but not listed");
    }
}

static void publish_all(rpc_node *node, const struct run *r)
{
    size_t len = (size_t)r->knob[FZK_PAYLOAD] * 4u;
    unsigned times = 1u + r->knob[FZK_PUBLISHES] % 8u, i, k;
    for (i = 0; i < r->ntopics; i++)
        for (k = 0; k < times; k++) {
            int rc = rpc_publish(node, r->topics[i][0], r->topics[i][1], g_payload, len,
                                 RPC_NO_WAIT);
            fz_check_rc("rpc_publish", rc);
            FZ_ASSERT(rc != RPC_ETIMEDOUT, "rpc_publish waited with RPC_NO_WAIT");
            if (len > r->hdr.max_msg_size)
                FZ_ASSERT(rc == RPC_EMSGSIZE, "%zu bytes over max %u: rc %d", len,
                          r->hdr.max_msg_size, rc);
        }
}

static void poll_all(rpc_node *node)
{
    int round, rc;
    for (round = 0; round < 4; round++) {
        rc = rpc_node_poll(node, 0);
        fz_check_rc("rpc_node_poll", rc);
        if (rc <= 0)
            break;
    }
}

static const char *choose_name(const struct run *r, char buf[RPCL_NAME_SIZE])
{
    unsigned k = r->knob[FZK_NAME];
    uint32_t n = image_max_nodes(r);
    if (k == 255)
        return NULL;
    if (k == 0 || n == 0)
        return "fz";
    image_name(r, RPC_HEADER_SIZE + (uint64_t)((k - 1) % n) * RPC_NODE_SLOT_SIZE +
                      offsetof(struct rpcl_node, name), buf);
    return valid_name(buf) ? buf : "fz";
}

/* After the join: what the segment holds now (the image, or a fresh
 * segment if the join re-initialised it), for the names and limits used
 * from here on. */
static void reread(struct run *r, int fd)
{
    static unsigned char live[MAX_IMAGE];
    struct stat st;
    ssize_t n;
    FZ_ASSERT(fstat(fd, &st) == 0 && (size_t)st.st_size <= MAX_IMAGE, "segment grew");
    n = pread(fd, live, (size_t)st.st_size, 0);
    FZ_ASSERT(n == st.st_size, "re-read the segment");
    r->img = live;
    r->size = (size_t)n;
    memset(&r->hdr, 0, sizeof r->hdr);
    if (r->size >= sizeof r->hdr)
        memcpy(&r->hdr, live, sizeof r->hdr);
}

static void take_part(struct run *r, int fd, int image_valid)
{
    char name_buf[RPCL_NAME_SIZE];
    rpc_node *node = NULL, *other = NULL;
    rpc_node_stats st;
    unsigned flags = r->knob[FZK_FLAGS], i;
    int rc = rpc_node_create(g_cfg, choose_name(r, name_buf), &node);
    fz_check_rc("rpc_node_create", rc);
    if (g_verbose)
        fprintf(stderr, "fuzz_segment: join: %s (%s)\n", rpc_strerror(rc), rpc_errdetail());
    if (rc != 0)
        return;
    if (image_valid && !(flags & FZK_NO_MEMBERSHIP))
        FZ_ASSERT(rpc_node_segment_id(node) == r->hdr.segment_id,
                  "joined a live segment but it was re-initialised");
    reread(r, fd);
    if (flags & FZK_EVENTS)
        fz_check_rc("rpc_node_set_event_cb", rpc_node_set_event_cb(node, on_event, r));
    if (!(flags & FZK_NO_SUBSCRIBE))
        subscribe_all(node, r);
    /* Before publishing: the queues the image addresses to us. */
    poll_all(node);
    if (!(flags & FZK_NO_PUBLISH))
        publish_all(node, r);
    if (flags & FZK_SECOND_NODE) {
        rc = rpc_node_create(g_cfg, NULL, &other);
        fz_check_rc("rpc_node_create (second)", rc);
        if (rc == 0 && !(flags & FZK_NO_PUBLISH))
            publish_all(other, r);
    }
    poll_all(node);
    if (other != NULL)
        poll_all(other);
    fz_check_rc("rpc_node_get_stats", rpc_node_get_stats(node, &st));
    if (g_verbose)
        fprintf(stderr, "fuzz_segment: %u topics, %llu callbacks, %llu published, "
                "%llu delivered, %llu dropped\n", r->ntopics,
                (unsigned long long)r->callbacks, (unsigned long long)st.published,
                (unsigned long long)st.delivered, (unsigned long long)st.dropped);
    if (other == NULL)
        FZ_ASSERT(st.received == r->callbacks, "received %llu, callbacks %llu",
                  (unsigned long long)st.received, (unsigned long long)r->callbacks);
    if (flags & FZK_UNSUBSCRIBE)
        for (i = 0; i < r->ntopics; i++) {
            rc = rpc_unsubscribe(node, r->topics[i][0], r->topics[i][1]);
            fz_check_rc("rpc_unsubscribe", rc);
            FZ_ASSERT(rpc_is_subscribed(node, r->topics[i][0], r->topics[i][1]) == 0 ||
                          rc != 0,
                      "still subscribed after rpc_unsubscribe");
        }
    if (other != NULL)
        fz_check_rc("rpc_node_destroy (second)", rpc_node_destroy(other));
    fz_check_rc("rpc_node_destroy", rpc_node_destroy(node));
}

/* After the last node left, the library holds no lock on the file. */
static void check_no_locks_left(int fd)
{
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = 0;
    fl.l_len = RPC_LOCK_NODE0 + RPC_MAX_NODES_LIMIT;
    FZ_ASSERT(fcntl(fd, F_OFD_GETLK, &fl) == 0, "F_OFD_GETLK: %s", strerror(errno));
    FZ_ASSERT(fl.l_type == F_UNLCK, "a lock on byte %lld survived the last node",
              (long long)fl.l_start);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct run r;
    int fd, valid;
    if (size == 0 || size > MAX_IMAGE)
        return -1;   /* keep such inputs out of the corpus */
    memset(&r, 0, sizeof r);
    r.img = data;
    r.size = size;
    if (size >= sizeof r.hdr)
        memcpy(&r.hdr, data, sizeof r.hdr);
    if (size >= FZ_KNOB_OFF + sizeof r.knob)
        memcpy(r.knob, data + FZ_KNOB_OFF, sizeof r.knob);
    fd = install_image(&r);
    observe(&r);
    {
        rpc_domain_info info;
        valid = rpc_domain_stat(g_cfg, &info) == 0 && info.valid;
    }
    take_part(&r, fd, valid);
    check_no_locks_left(fd);
    fz_guard_set_file(-1);
    close(fd);
    shm_unlink(g_name);
    return 0;
}
