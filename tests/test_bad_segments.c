/*
 * test_bad_segments.c - guarantee 5: bad segments give clear, distinct
 * errors, never a crash, a hang or silent reuse.
 *
 * The test forges files under its own names with shm_open/ftruncate/write.
 * Offsets come from src/layout.h (struct rpcl_header); the header of a real
 * segment, made by a peer and copied, is the starting point for the subtle
 * cases.  Every join attempt runs in a forked child watched with a deadline,
 * so a crash or a hang is reported as such.  For each bad file:
 *   - rpc_node_create fails with the expected code, and rpc_errdetail()
 *     names the segment;
 *   - rpc_domain_stat reports exists, not valid, and the same status;
 *     rpc_domain_active_nodes fails rather than counting;
 *   - the file is untouched afterwards (same size, same first page);
 *   - rpc_domain_cleanup without force does not remove a foreign file, and
 *     with RPC_CLEANUP_FORCE it does.
 * Zero-length and never-finished files that are ours with nobody attached
 * are repaired instead: the join succeeds and last-out removes them.
 */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "layout.h"

#define PAGE RPC_HEADER_SIZE

static unsigned char ref_header[PAGE]; /* a valid header, from a real segment */
static uint64_t ref_size;              /* the size that header records */

static void put32(unsigned char *page, size_t off, uint32_t v)
{
    memcpy(page + off, &v, sizeof v);
}

static void put64(unsigned char *page, size_t off, uint64_t v)
{
    memcpy(page + off, &v, sizeof v);
}

static uint64_t get64(const unsigned char *page, size_t off)
{
    uint64_t v;
    memcpy(&v, page + off, sizeof v);
    return v;
}

/* Copy the first page of a live segment made by a peer. */
static void capture_reference(void)
{
    const char *name = tu_shm_name("ref");
    char path[512];
    tu_peer p;
    int fd;
    tu_peer_start(&p, name, 0);
    ASSERT_EQ(tu_peer_cmd(&p, NULL, 0, "create ref"), 0);
    fd = open(tu_shm_path(name, path, sizeof path), O_RDONLY);
    ASSERT(fd >= 0);
    ASSERT_EQ(pread(fd, ref_header, PAGE, 0), PAGE);
    close(fd);
    tu_peer_quit(&p);
    ASSERT(!tu_shm_exists(name));
    ref_size = get64(ref_header, offsetof(struct rpcl_header, segment_size));
    ASSERT_EQ(get64(ref_header, offsetof(struct rpcl_header, magic)), RPC_SEG_MAGIC);
    ASSERT(ref_size >= PAGE);
    /* As an image of an orphan it has no nodes. */
    put32(ref_header, offsetof(struct rpcl_header, num_nodes), 0);
}

/* Create `name` with `len` bytes of `data` at offset 0 and size `size`. */
static void forge(const char *name, const void *data, size_t len, uint64_t size)
{
    int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
    ASSERT_MSG(fd >= 0, "shm_open %s: %s", name, strerror(errno));
    ASSERT(ftruncate(fd, (off_t)size) == 0);
    if (len > 0)
        ASSERT_EQ(pwrite(fd, data, len, 0), (ssize_t)len);
    close(fd);
}

struct snapshot {
    off_t size;
    unsigned char page[PAGE];
};

static void take(const char *name, struct snapshot *s)
{
    char path[512];
    struct stat st;
    int fd = open(tu_shm_path(name, path, sizeof path), O_RDONLY);
    ASSERT_MSG(fd >= 0, "%s vanished", name);
    ASSERT(fstat(fd, &st) == 0);
    memset(s, 0, sizeof *s);
    s->size = st.st_size;
    ASSERT(pread(fd, s->page, PAGE, 0) >= 0);
    close(fd);
}

/* In a child: try to join and look at the bad file; exit 0 if it behaved. */
static void probe_child(const char *name, int want, int want_stat_status, int holder)
{
    rpc_config *cfg = tu_config(name);
    rpc_node *node = NULL;
    rpc_domain_info info;
    struct snapshot before, after;
    int rc;

    take(name, &before);
    rc = rpc_node_create(cfg, "intruder", &node);
    if (rc == 0)
        rpc_node_destroy(node);
    ASSERT_RC(rc, want);
    ASSERT(node == NULL);
    ASSERT_MSG(strstr(rpc_errdetail(), name) != NULL, "the detail does not name %s: \"%s\"",
               name, rpc_errdetail());
    tu_log("%s: %s", tu_errname(rc), rpc_errdetail());

    ASSERT_OK(rpc_domain_stat(cfg, &info));
    ASSERT_EQ(info.exists, 1);
    ASSERT_EQ(info.valid, 0);
    if (want_stat_status != 0)
        ASSERT_RC(info.status, want_stat_status);
    else
        ASSERT_MSG(info.status < 0, "stat status %d for a bad segment", info.status);
    ASSERT_MSG(rpc_domain_active_nodes(cfg) < 0, "a count for a bad segment");
    ASSERT_MSG(rpc_domain_list_nodes(cfg, NULL, 0) < 0, "a node list for a bad segment");

    /* Clean-up without force keeps it: foreign (bad magic), or in use. */
    if (want == RPC_EBADMAGIC)
        ASSERT_RC(rpc_domain_cleanup(cfg, 0), RPC_EBADMAGIC);
    if (holder)
        ASSERT_RC(rpc_domain_cleanup(cfg, 0), RPC_EBUSY);

    take(name, &after);
    ASSERT_MSG(before.size == after.size && memcmp(before.page, after.page, PAGE) == 0,
               "the bad file was modified by a failed join");
    rpc_config_destroy(cfg);
    exit(0);
}

/* A process that holds the membership lock (byte 1, shared, OFD) on name,
 * as an attached process would, until the test closes `release`. */
static pid_t hold_membership(const char *name, int *release_fd)
{
    int ready[2], release[2];
    pid_t pid;
    char c;
    ASSERT(pipe(ready) == 0 && pipe(release) == 0);
    pid = tu_fork(0);
    if (pid == 0) {
        struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 1, .l_len = 1};
        int fd = shm_open(name, O_RDWR, 0);
        close(ready[0]);
        close(release[1]);
        if (fd < 0 || fcntl(fd, F_OFD_SETLK, &fl) != 0)
            _exit(1);
        ASSERT(write(ready[1], "r", 1) == 1);
        while (read(release[0], &c, 1) > 0)
            ;
        _exit(0);
    }
    close(ready[1]);
    close(release[0]);
    ASSERT_MSG(read(ready[0], &c, 1) == 1, "the lock holder failed");
    close(ready[0]);
    *release_fd = release[1];
    return pid;
}

static void expect_bad(const char *what, const char *name, int want, int want_stat, int holder)
{
    pid_t pid;
    int st;
    tu_log("case: %s", what);
    pid = tu_fork(0);
    if (pid == 0)
        probe_child(name, want, want_stat, holder);
    st = tu_wait_child(pid, tu_timeout_ms(30000)); /* fails the test on a hang */
    ASSERT_MSG(!WIFSIGNALED(st), "%s: the joining process died by signal %d", what,
               WTERMSIG(st));
    ASSERT_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: see the failure above", what);
}

/* Remove a bad file the way an administrator would: forced clean-up. */
static void force_remove(const char *name)
{
    rpc_config *cfg = tu_config(name);
    ASSERT_OK(rpc_domain_cleanup(cfg, RPC_CLEANUP_FORCE));
    ASSERT_MSG(!tu_shm_exists(name), "forced clean-up left %s", name);
    rpc_config_destroy(cfg);
}

static void bad_case(const char *what, const void *data, size_t len, uint64_t size, int want,
                     int want_stat)
{
    const char *name = tu_shm_name("bad");
    forge(name, data, len, size);
    expect_bad(what, name, want, want_stat, 0);
    force_remove(name);
}

static void garbage_cases(void)
{
    unsigned char *junk = malloc(65536);
    unsigned seed = 12345;
    ASSERT(junk != NULL);
    for (size_t i = 0; i < 65536; i++)
        junk[i] = (unsigned char)(rand_r(&seed) | 1); /* never 0: not a "blank" file */
    bad_case("garbage, full size", junk, 65536, ref_size, RPC_EBADMAGIC, RPC_EBADMAGIC);
    bad_case("garbage, one page", junk, PAGE, PAGE, RPC_EBADMAGIC, RPC_EBADMAGIC);
    free(junk);
}

static void header_cases(void)
{
    unsigned char page[PAGE];

    /* Truncated: a real header cut short, and a file shorter than the magic. */
    bad_case("truncated to 100 bytes", ref_header, 100, 100, RPC_ETRUNCATED, RPC_ETRUNCATED);
    bad_case("truncated to 4 bytes", ref_header, 4, 4, RPC_ETRUNCATED, RPC_ETRUNCATED);
    bad_case("truncated to header - 1", ref_header, PAGE - 1, PAGE - 1, RPC_ETRUNCATED,
             RPC_ETRUNCATED);

    memcpy(page, ref_header, PAGE);
    put64(page, offsetof(struct rpcl_header, magic), RPC_SEG_MAGIC ^ 0xff00ff00ff00ff00ull);
    bad_case("wrong magic", page, PAGE, ref_size, RPC_EBADMAGIC, RPC_EBADMAGIC);

    memcpy(page, ref_header, PAGE);
    put32(page, offsetof(struct rpcl_header, layout_version), RPC_LAYOUT_VERSION + 1);
    bad_case("newer layout version", page, PAGE, ref_size, RPC_EVERSION, RPC_EVERSION);
    put32(page, offsetof(struct rpcl_header, layout_version), 0);
    bad_case("layout version 0", page, PAGE, ref_size, RPC_EVERSION, RPC_EVERSION);

    /* The file is larger than its header says. */
    bad_case("file larger than recorded", ref_header, PAGE, ref_size + PAGE, RPC_ESIZE,
             RPC_ESIZE);
    /* The file is shorter than its header says. */
    bad_case("file shorter than recorded", ref_header, PAGE, ref_size - PAGE, RPC_ETRUNCATED,
             RPC_ETRUNCATED);
    memcpy(page, ref_header, PAGE);
    put64(page, offsetof(struct rpcl_header, segment_size), ref_size / 2);
    bad_case("recorded size halved", page, PAGE, ref_size, RPC_ESIZE, RPC_ESIZE);

    /* Geometry out of bounds. */
    memcpy(page, ref_header, PAGE);
    put32(page, offsetof(struct rpcl_header, header_size), 2 * PAGE);
    bad_case("header_size field wrong", page, PAGE, ref_size, RPC_ECORRUPT, RPC_ECORRUPT);
    memcpy(page, ref_header, PAGE);
    put32(page, offsetof(struct rpcl_header, max_nodes), 0);
    bad_case("max_nodes 0", page, PAGE, ref_size, RPC_ECORRUPT, RPC_ECORRUPT);
    memcpy(page, ref_header, PAGE);
    put32(page, offsetof(struct rpcl_header, max_nodes), 0x7fffffff);
    bad_case("max_nodes huge", page, PAGE, ref_size, RPC_ECORRUPT, RPC_ECORRUPT);
    memcpy(page, ref_header, PAGE);
    put64(page, offsetof(struct rpcl_header, node_table_off), ref_size - 8);
    bad_case("node table past the end", page, PAGE, ref_size, RPC_ECORRUPT, RPC_ECORRUPT);
}

/* Blank files (zero length, or sized with magic 0) that someone holds:
 * in use but never initialised. */
static void uninit_cases(void)
{
    for (int i = 0; i < 2; i++) {
        const char *name = tu_shm_name("uninit");
        int release;
        pid_t holder;
        forge(name, NULL, 0, i == 0 ? 0 : ref_size);
        holder = hold_membership(name, &release);
        expect_bad(i == 0 ? "zero length, membership held" : "sized blank, membership held",
                   name, RPC_EUNINIT, 0, 1);
        close(release);
        TU_EXPECT_EXIT0(holder, tu_timeout_ms(10000));
        /* Nobody holds it now: it is ours and blank, so a joiner repairs it. */
        {
            rpc_config *cfg = tu_config(name);
            rpc_node *node = NULL;
            ASSERT_OK(rpc_node_create(cfg, "repairer", &node));
            ASSERT(rpc_node_segment_id(node) != 0);
            ASSERT_EQ(rpc_domain_active_nodes(cfg), 1);
            ASSERT_OK(rpc_node_destroy(node));
            ASSERT(!tu_shm_exists(name));
            rpc_config_destroy(cfg);
        }
    }
}

/* Ours, blank, nobody attached: repaired by the joiner, removed by last out;
 * or removed by clean-up. */
static void repair_cases(void)
{
    const char *name = tu_shm_name("blank");
    rpc_config *cfg = tu_config(name);
    rpc_node *node = NULL;
    rpc_domain_info info;

    forge(name, NULL, 0, 0);
    ASSERT_OK(rpc_node_create(cfg, "repairer", &node));
    ASSERT_OK(rpc_domain_stat(cfg, &info));
    ASSERT_EQ(info.valid, 1);
    ASSERT_EQ(info.size, rpc_config_shm_size(cfg));
    ASSERT_EQ(info.registered_nodes, 1);
    ASSERT_OK(rpc_node_destroy(node));
    ASSERT(!tu_shm_exists(name));

    forge(name, NULL, 0, ref_size); /* sized, magic 0: a killed initialiser's file */
    ASSERT_OK(rpc_node_create(cfg, "repairer", &node));
    ASSERT_OK(rpc_node_destroy(node));
    ASSERT(!tu_shm_exists(name));

    forge(name, NULL, 0, 0);
    ASSERT_OK(rpc_domain_cleanup(cfg, 0));
    ASSERT(!tu_shm_exists(name));

    /* A valid orphan image (no process ever attached to this copy). */
    forge(name, ref_header, PAGE, ref_size);
    ASSERT_OK(rpc_node_create(cfg, "repairer", &node));
    ASSERT_MSG(rpc_node_segment_id(node) !=
                   get64(ref_header, offsetof(struct rpcl_header, segment_id)),
               "the orphan was reused instead of re-initialised");
    ASSERT_OK(rpc_node_destroy(node));
    ASSERT(!tu_shm_exists(name));
    rpc_config_destroy(cfg);
}

int main(void)
{
    tu_init("bad_segments");
    capture_reference();
    garbage_cases();
    header_cases();
    uninit_cases();
    repair_cases();
    return tu_done();
}
