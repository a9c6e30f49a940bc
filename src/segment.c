/*
 * segment.c - the life cycle of a domain's segment, as one process sees it.
 *
 * This file owns the join and leave protocol (see docs/lifecycle.md):
 *
 *   join:  open (create if absent) -> life-cycle lock -> if the file was
 *          unlinked while we waited, start over -> initialise it if empty,
 *          re-initialise it if nobody is attached (orphan, or half-made),
 *          refuse it if it is not a valid librpc segment -> membership lock
 *          (shared) -> [caller registers its node] -> unlock.
 *   leave: [life-cycle lock held, last node removed] -> drop membership ->
 *          try membership exclusively: success means nobody else is
 *          attached, so unlink while the life-cycle lock still keeps joiners
 *          out -> close (which drops every lock).
 *
 * Invariants: the name is unlinked only by a holder of the life-cycle lock
 * who found nobody else attached (or by a forced clean-up); a joiner only
 * trusts a file it has locked and found still linked; the header is read
 * through a validated copy, never through the mapping.
 */
#include "segment.h"
#include "platform/platform.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ---- locks ---------------------------------------------------------- */

int rpci_seg_lock_fd(int fd, const char *name)
{
    return rpci_seg_lock_fd_until(fd, name, 0);
}

int rpci_seg_lock_fd_until(int fd, const char *name, uint64_t until_ns)
{
    uint64_t deadline = rpcp_mono_ns() + RPCI_LOCK_TIMEOUT_NS;
    uint64_t nap = 2000;
    if (until_ns != 0 && until_ns < deadline)
        deadline = until_ns;   /* the caller's own timeout comes first */
    for (;;) {
        int rc = rpcp_lock_try(fd, RPC_LOCK_LIFECYCLE, RPCP_EXCLUSIVE);
        if (rc == 0)
            return 0;
        if (rc != -EAGAIN)
            return rpci_fail(RPC_ESYS, "segment %s: life-cycle lock: %s", name, strerror(-rc));
        if (rpcp_mono_ns() > deadline)
            return rpci_fail(RPC_ETIMEDOUT,
                             "segment %s: life-cycle lock held by another process past the "
                             "deadline (10 s at most; is it stopped?)", name);
        /* Holders keep it for microseconds: back off from 2 us to 200 us
         * (a longer nap lets others overtake a waiter again and again). */
        rpcp_sleep_ns(nap);
        if (nap < 200000)
            nap *= 2;
    }
}

int rpci_seg_others_attached(struct rpci_seg *s)
{
    int holder = rpcp_lock_holder(s->fd, RPC_LOCK_MEMBERSHIP);
    if (holder < 0)
        return rpci_fail(RPC_ESYS, "segment %s: lock test: %s", s->name, strerror(-holder));
    return holder == RPCP_SHARED;
}

int rpci_seg_lock(struct rpci_seg *s)
{
    return rpci_seg_lock_fd(s->fd, s->name);
}

int rpci_seg_trylock(struct rpci_seg *s)
{
    int rc = rpcp_lock_try(s->fd, RPC_LOCK_LIFECYCLE, RPCP_EXCLUSIVE);
    return rc == 0 ? 0 : rc == -EAGAIN ? RPC_EBUSY : RPC_ESYS;
}

void rpci_seg_unlock(struct rpci_seg *s)
{
    (void)rpcp_lock_try(s->fd, RPC_LOCK_LIFECYCLE, RPCP_UNLOCK);
}

/* ---- validation ----------------------------------------------------- */

/* Check a header copy against the file it came from.  Returns 0, the
 * positive RPCI_HALF for a never-finished segment (magic still 0), or the
 * RPC_E* code naming the first problem, with a detail line. */
#define RPCI_HALF 1

/* Subscription table and ring pool inside the file, rings able to hold two
 * maximum-size records: what the data plane assumes without re-checking. */
static int data_geometry_ok(const struct rpcl_header *h, uint64_t file_size)
{
    uint64_t subs_end = h->heap_off + (uint64_t)h->max_subs * sizeof(struct rpcl_sub);
    uint64_t cap = h->ring_block_size - RPCL_RING_HDR_SIZE;
    uint64_t rec = sizeof(struct rpcl_rec) + (((uint64_t)h->max_msg_size + 7) & ~(uint64_t)7);
    /* Tables and queues must be aligned for their atomics (64: a cache line). */
    if ((h->heap_off | h->ring_pool_off | h->ring_block_size) % 64 != 0)
        return 0;
    if (h->sub_entry_size != sizeof(struct rpcl_sub) || h->max_subs == 0 ||
        h->max_subs > (1u << 20) || subs_end > h->ring_pool_off)
        return 0;
    if (h->ring_block_size <= RPCL_RING_HDR_SIZE || h->ring_block_size > (UINT64_C(1) << 31) ||
        (cap & (cap - 1)) != 0 || cap < 2 * rec || h->max_msg_size > (16u << 20))
        return 0;
    return h->ring_pool_off <= file_size &&
           (uint64_t)h->ring_count <= (file_size - h->ring_pool_off) / h->ring_block_size;
}

/* A header with magic 0 is ours half-made only if the initialiser got no
 * further than its first fields (it writes them in order on zeroed pages);
 * anything else is somebody's garbage and must not be reused silently. */
static int looks_half_made(const struct rpcl_header *h)
{
    static const unsigned char zero[sizeof *h];
    return memcmp(h, zero, sizeof *h) == 0 ||
           (h->layout_version == RPC_LAYOUT_VERSION && h->header_size == RPC_HEADER_SIZE);
}

static int check_header(const char *name, const struct rpcl_header *h, uint64_t file_size)
{
    /* Acquire: pairs with the initialiser's release of the magic (for a
     * copy made by pread this orders nothing more, but states the pair). */
    uint64_t magic = atomic_load_explicit(&h->magic, memory_order_acquire);
    uint64_t table_end;
    /* Shorter than a header: ours only if it starts with our magic (the
     * initialiser sizes the file before writing anything, so a half-made
     * segment of ours is never this short). */
    if (file_size < sizeof *h)
        return magic == RPC_SEG_MAGIC || file_size < sizeof magic
                   ? rpci_fail(RPC_ETRUNCATED, "segment %s: %llu bytes, shorter than its header",
                               name, (unsigned long long)file_size)
                   : rpci_fail(RPC_EBADMAGIC, "segment %s: not a librpc segment (magic %016llx)",
                               name, (unsigned long long)magic);
    if (magic == 0)
        return looks_half_made(h)
                   ? RPCI_HALF
                   : rpci_fail(RPC_EBADMAGIC, "segment %s: not a librpc segment (no magic, "
                               "unknown contents)", name);
    if (magic != RPC_SEG_MAGIC)
        return rpci_fail(RPC_EBADMAGIC, "segment %s: not a librpc segment (magic %016llx)", name,
                         (unsigned long long)magic);
    if (h->layout_version != RPC_LAYOUT_VERSION)
        return rpci_fail(RPC_EVERSION, "segment %s: layout version %u, this library speaks %u",
                         name, h->layout_version, RPC_LAYOUT_VERSION);
    if (h->segment_size > file_size)
        return rpci_fail(RPC_ETRUNCATED, "segment %s: header says %llu bytes, file has %llu",
                         name, (unsigned long long)h->segment_size,
                         (unsigned long long)file_size);
    if (h->segment_size != file_size)
        return rpci_fail(RPC_ESIZE, "segment %s: header says %llu bytes, file has %llu", name,
                         (unsigned long long)h->segment_size, (unsigned long long)file_size);
    table_end = h->node_table_off + (uint64_t)h->max_nodes * RPC_NODE_SLOT_SIZE;
    if (h->header_size != RPC_HEADER_SIZE || h->node_slot_size != RPC_NODE_SLOT_SIZE ||
        h->max_nodes == 0 || h->max_nodes > RPC_MAX_NODES_LIMIT ||
        h->node_table_off != RPC_HEADER_SIZE || h->heap_off < table_end ||
        h->heap_off > file_size || h->heap_size > file_size - h->heap_off)
        return rpci_fail(RPC_ECORRUPT, "segment %s: header geometry out of bounds", name);
    if (!data_geometry_ok(h, file_size))
        return rpci_fail(RPC_ECORRUPT, "segment %s: queue or subscription geometry out of bounds",
                         name);
    return 0;
}

static int read_header(int fd, struct rpcl_header *h, uint64_t file_size)
{
    size_t want = file_size < sizeof *h ? (size_t)file_size : sizeof *h;
    ssize_t n;
    memset(h, 0, sizeof *h);
    do
        n = pread(fd, h, want, 0);
    while (n < 0 && errno == EINTR);
    return n == (ssize_t)want ? 0 : -1;
}

/* ---- open ----------------------------------------------------------- */

static int check_file(const struct rpc_config *cfg, int fd, struct stat *st)
{
    if (fstat(fd, st) != 0)
        return rpci_fail(RPC_ESYS, "segment %s: fstat: %s", cfg->shm_name, strerror(errno));
    if (!S_ISREG(st->st_mode))
        return rpci_fail(RPC_ENOTREG, "segment %s: not a regular shared-memory file",
                         cfg->shm_name);
    if (st->st_uid != geteuid() && !cfg->allow_foreign_owner)
        return rpci_fail(RPC_EOWNER,
                         "segment %s: owned by uid %u, not by us (uid %u); "
                         "remove it or use another name", cfg->shm_name,
                         (unsigned)st->st_uid, (unsigned)geteuid());
    return 0;
}

int rpci_seg_open_error(const char *name, int err)
{
    if (err == ENOENT)
        return rpci_fail(RPC_ENOENT, "segment %s does not exist", name);
    if (err == EACCES || err == EPERM)
        return rpci_fail(RPC_EACCES, "segment %s: permission denied", name);
    /* Names were validated before, so EINVAL here means a directory or
     * other object the system will not open as shared memory. */
    if (err == ELOOP || err == ENXIO || err == EISDIR || err == EINVAL)
        return rpci_fail(RPC_ENOTREG, "segment %s: not a regular shared-memory file", name);
    if (err == ENAMETOOLONG)
        return rpci_fail(RPC_EBADNAME, "segment %s: name refused by the system", name);
    return rpci_fail(RPC_ESYS, "segment %s: shm_open: %s", name, strerror(err));
}

/* We created the file but cannot give it the configured mode or group:
 * remove it again, but only under the life-cycle lock and only while it is
 * still empty and unattached, since another process may have opened it. */
static void discard_new_file(const char *name, int fd)
{
    struct rpci_seg tmp;
    struct stat st;
    memset(&tmp, 0, sizeof tmp);
    tmp.fd = fd;
    strcpy(tmp.name, name);
    if (rpci_seg_lock_fd(fd, name) == 0 && fstat(fd, &st) == 0 && st.st_nlink > 0 &&
        st.st_size == 0 && rpci_seg_others_attached(&tmp) == 0)
        shm_unlink(name);
    close(fd);   /* drops the life-cycle lock */
}

/* Open or create.  O_NONBLOCK keeps a planted FIFO from hanging us; glibc
 * adds O_NOFOLLOW and O_CLOEXEC. */
static int open_rw(const struct rpc_config *cfg, int *created)
{
    for (;;) {
        int fd = shm_open(cfg->shm_name, O_RDWR | O_CREAT | O_EXCL | O_NONBLOCK, cfg->mode);
        if (fd >= 0) {
            *created = 1;
            /* The umask may have narrowed the mode: set it exactly. */
            if (fchmod(fd, cfg->mode) != 0 ||
                (cfg->group != (gid_t)-1 && fchown(fd, (uid_t)-1, cfg->group) != 0)) {
                int e = errno;
                discard_new_file(cfg->shm_name, fd);
                return rpci_fail(e == EPERM || e == EACCES ? RPC_EACCES : RPC_ESYS,
                                 "segment %s: cannot set mode 0%o / group %ld: %s",
                                 cfg->shm_name, cfg->mode, (long)cfg->group, strerror(e));
            }
            return fd;
        }
        if (errno != EEXIST)
            return rpci_seg_open_error(cfg->shm_name, errno);
        *created = 0;
        fd = shm_open(cfg->shm_name, O_RDWR | O_NONBLOCK, 0);
        if (fd >= 0)
            return fd;
        if (errno != ENOENT)
            return rpci_seg_open_error(cfg->shm_name, errno);
        /* Unlinked between our two calls: try again. */
    }
}

/* ---- initialise ----------------------------------------------------- */

static void test_crash_point(const char *where)
{
#ifdef LIBRPC_TEST_HOOKS
    const char *at = getenv("LIBRPC_TEST_CRASH_AT");
    if (at != NULL && strcmp(at, where) == 0)
        raise(SIGKILL);
#else
    (void)where;
#endif
}

static int map_rw(struct rpci_seg *s, size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd, 0);
    if (p == MAP_FAILED)
        return rpci_fail(errno == ENOMEM ? RPC_ENOMEM : RPC_ESYS, "segment %s: mmap: %s",
                         s->name, strerror(errno));
    s->base = p;
    s->size = size;
    return 0;
}

static void adopt_geometry(struct rpci_seg *s, const struct rpcl_header *h)
{
    s->max_nodes = h->max_nodes;
    s->node_table_off = h->node_table_off;
    s->heap_off = h->heap_off;
    s->heap_size = h->heap_size;
    s->segment_id = h->segment_id;
    s->max_subs = h->max_subs;
    s->ring_count = h->ring_count;
    s->ring_pool_off = h->ring_pool_off;
    s->ring_block_size = h->ring_block_size;
    s->max_msg_size = h->max_msg_size;
}

/* Give the file `size` zeroed bytes.  Same size: punch a hole, so a tool
 * that has the old contents mapped reads zeros instead of faulting;
 * otherwise truncate to 0 and grow. */
static int zero_and_size(struct rpci_seg *s, uint64_t old_size, size_t size)
{
    if (old_size == size && rpcp_zero_file(s->fd, size) == 0)
        return 0;
    if (ftruncate(s->fd, 0) != 0 || ftruncate(s->fd, (off_t)size) != 0)
        return rpci_fail(errno == ENOSPC || errno == EFBIG ? RPC_ENOSPC : RPC_ESYS,
                         "segment %s: cannot size to %zu bytes: %s", s->name, size,
                         strerror(errno));
    return 0;
}

/* (Re)initialise from zeroed pages, so nothing of an orphan's state
 * survives.  The magic is stored last, with release order, so a reader that
 * acquires it sees a complete header. */
static int initialise(const struct rpc_config *cfg, struct rpci_seg *s, uint64_t old_size)
{
    struct rpcl_header *h;
    struct rpci_geometry g;
    size_t size = cfg->shm_size;
    int rc;
    rpci_geometry(cfg, &g);
    if ((rc = zero_and_size(s, old_size, size)) != 0)
        return rc;
    if ((rc = map_rw(s, size)) != 0)
        return rc;
    h = rpci_seg_header(s);
    h->layout_version = RPC_LAYOUT_VERSION;
    h->header_size = RPC_HEADER_SIZE;
    h->segment_size = size;
    h->segment_id = rpcp_random64();
    h->max_nodes = cfg->max_nodes;
    h->node_slot_size = RPC_NODE_SLOT_SIZE;
    h->node_table_off = g.node_table_off;
    h->heap_off = g.sub_table_off;
    h->heap_size = size - g.sub_table_off;
    h->max_subs = cfg->max_subs;
    h->sub_entry_size = sizeof(struct rpcl_sub);
    h->ring_pool_off = g.ring_pool_off;
    h->ring_block_size = g.ring_block_size;
    h->ring_count = (uint32_t)((size - g.ring_pool_off) / g.ring_block_size);
    h->max_msg_size = (uint32_t)cfg->max_msg_size;
    h->created_unix_ns = rpcp_now_unix_ns();
    h->creator_pid = (uint32_t)getpid();
    test_crash_point("init");
    adopt_geometry(s, h);
    /* Release: pairs with the acquire in readers that check the magic. */
    atomic_store_explicit(&h->magic, RPC_SEG_MAGIC, memory_order_release);
    return 0;
}

/* ---- join / leave ----------------------------------------------------- */

/* With the life-cycle lock held on a linked file: make the segment usable.
 * Returns 0 when mapped and valid. */
static int prepare_locked(const struct rpc_config *cfg, struct rpci_seg *s, const struct stat *st)
{
    struct rpcl_header h;
    int attached = rpci_seg_others_attached(s);
    int rc;
    if (attached < 0)
        return attached;
    if (st->st_size == 0) {
        if (attached)
            return rpci_fail(RPC_EUNINIT, "segment %s: empty but in use by another process",
                             s->name);
        return initialise(cfg, s, 0);
    }
    if (read_header(s->fd, &h, (uint64_t)st->st_size) != 0)
        return rpci_fail(RPC_ESYS, "segment %s: cannot read header", s->name);
    rc = check_header(s->name, &h, (uint64_t)st->st_size);
    if (rc == RPCI_HALF && attached)
        return rpci_fail(RPC_EUNINIT, "segment %s: never initialised but in use by another "
                         "process", s->name);
    if (rc == RPCI_HALF || (rc == 0 && !attached)) {
        /* Half-made by a process that died, or orphaned by processes that
         * all died: nobody can be using it, start clean. */
        rpci_clear_detail();
        return initialise(cfg, s, (uint64_t)st->st_size);
    }
    if (rc != 0)
        return rc;
    if ((rc = map_rw(s, (size_t)h.segment_size)) != 0)
        return rc;
    adopt_geometry(s, &h);
    return 0;
}

/* Leavers hold membership exclusively only under the life-cycle lock, which
 * we hold; an orphan watcher (rpc_domain_wait_orphaned) may hold it for an
 * instant without, so a conflict is retried briefly before it is an error. */
static int take_membership(struct rpci_seg *s)
{
    uint64_t deadline = rpcp_mono_ns() + 1000000000ull;
    for (;;) {
        int rc = rpcp_lock_try(s->fd, RPC_LOCK_MEMBERSHIP, RPCP_SHARED);
        if (rc == 0)
            return 0;
        if (rc != -EAGAIN || rpcp_mono_ns() > deadline)
            return rpci_fail(RPC_ESYS, "segment %s: membership lock: %s", s->name,
                             strerror(-rc));
        rpcp_sleep_ns(20000);
    }
}

static void seg_reset(struct rpci_seg *s, const char *name)
{
    memset(s, 0, sizeof *s);
    s->fd = -1;
    strcpy(s->name, name);
}

int rpci_seg_join(const struct rpc_config *cfg, struct rpci_seg *s)
{
    for (;;) {
        struct stat st;
        int created = 0, rc;
        seg_reset(s, cfg->shm_name);
        if ((s->fd = open_rw(cfg, &created)) < 0)
            return s->fd;
        if ((rc = check_file(cfg, s->fd, &st)) != 0)
            goto fail;
        if ((rc = rpci_seg_lock(s)) != 0)
            goto fail;
        if (fstat(s->fd, &st) != 0) {
            rc = rpci_fail(RPC_ESYS, "segment %s: fstat: %s", s->name, strerror(errno));
            goto fail;
        }
        if (st.st_nlink == 0) {
            /* The last process left (and unlinked) while we waited. */
            rpci_seg_close(s);
            continue;
        }
        if ((rc = prepare_locked(cfg, s, &st)) != 0)
            goto fail;
        if ((rc = take_membership(s)) != 0)
            goto fail;
        return 0;
    fail:
        rpci_seg_close(s);   /* closing drops the life-cycle lock too */
        return rc;
    }
}

int rpci_seg_leave(struct rpci_seg *s)
{
    struct stat st;
    int unlinked = 0;
    (void)rpcp_lock_try(s->fd, RPC_LOCK_MEMBERSHIP, RPCP_UNLOCK);
    /* Nobody else holds membership shared: we were the last, and joiners
     * cannot come in meanwhile because we hold the life-cycle lock.  A
     * linked file under that lock is still the one the name refers to (only
     * a forced clean-up could have removed it). */
    if (rpci_seg_others_attached(s) == 0 && fstat(s->fd, &st) == 0 && st.st_nlink > 0)
        unlinked = shm_unlink(s->name) == 0;
    rpci_seg_close(s);
    return unlinked;
}

void rpci_seg_close(struct rpci_seg *s)
{
    if (s->base != NULL && s->copied)
        free(s->base);
    else if (s->base != NULL)
        munmap(s->base, s->size);
    if (s->fd >= 0)
        close(s->fd);
    s->base = NULL;
    s->size = 0;
    s->fd = -1;
}

/* ---- read-only views -------------------------------------------------- */

int rpci_seg_probe(const struct rpc_config *cfg, int *fd_out, struct rpci_seg_probe *p)
{
    int fd = shm_open(cfg->shm_name, O_RDONLY | O_NONBLOCK, 0);
    int rc;
    memset(p, 0, sizeof *p);
    if (fd < 0)
        return rpci_seg_open_error(cfg->shm_name, errno);
    if (fstat(fd, &p->st) != 0) {
        rc = rpci_fail(RPC_ESYS, "segment %s: fstat: %s", cfg->shm_name, strerror(errno));
        close(fd);
        return rc;
    }
    if (!S_ISREG(p->st.st_mode)) {
        close(fd);
        return rpci_fail(RPC_ENOTREG, "segment %s: not a regular shared-memory file",
                         cfg->shm_name);
    }
    /* Members hold the membership byte shared (see rpci_seg_others_attached). */
    p->attached = rpcp_lock_holder(fd, RPC_LOCK_MEMBERSHIP) == RPCP_SHARED;
    if (p->st.st_size == 0)
        p->status = rpci_fail(RPC_EUNINIT, "segment %s: empty, never initialised",
                              cfg->shm_name);
    else if (read_header(fd, &p->hdr, (uint64_t)p->st.st_size) != 0)
        p->status = rpci_fail(RPC_ESYS, "segment %s: cannot read header", cfg->shm_name);
    else {
        p->status = check_header(cfg->shm_name, &p->hdr, (uint64_t)p->st.st_size);
        if (p->status == RPCI_HALF)
            p->status = rpci_fail(RPC_EUNINIT, "segment %s: initialisation never finished",
                                  cfg->shm_name);
    }
    p->format_ok = p->status == 0;
    /* Another user's file is reported as such whatever it holds: that is
     * what decides what anyone may do with it. */
    if (p->st.st_uid != geteuid() && !cfg->allow_foreign_owner)
        p->status = rpci_fail(RPC_EOWNER, "segment %s: owned by uid %u, not by us (uid %u)",
                              cfg->shm_name, (unsigned)p->st.st_uid, (unsigned)geteuid());
    *fd_out = fd;
    return 0;
}

int rpci_seg_read_table(const struct rpc_config *cfg, int fd, const struct rpci_seg_probe *p,
                        struct rpci_seg *s)
{
    size_t len = (size_t)(p->hdr.node_table_off + (uint64_t)p->hdr.max_nodes * RPC_NODE_SLOT_SIZE);
    ssize_t n;
    seg_reset(s, cfg->shm_name);
    s->fd = fd;
    /* The header was validated: the table lies inside the file. */
    if ((s->base = malloc(len)) == NULL) {
        rpci_seg_close(s);
        return rpci_fail(RPC_ENOMEM, "segment %s: out of memory", cfg->shm_name);
    }
    s->copied = 1;
    s->size = len;
    do
        n = pread(fd, s->base, len, 0);
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)len) {
        rpci_seg_close(s);
        return rpci_fail(RPC_ESYS, "segment %s: cannot read the node table", cfg->shm_name);
    }
    adopt_geometry(s, &p->hdr);
    return 0;
}

int rpci_seg_map_ro(const struct rpc_config *cfg, int fd, const struct rpci_seg_probe *p,
                    struct rpci_seg *s)
{
    void *base;
    seg_reset(s, cfg->shm_name);
    s->fd = fd;
    base = mmap(NULL, (size_t)p->hdr.segment_size, PROT_READ, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) {
        int e = errno;
        rpci_seg_close(s);
        return rpci_fail(RPC_ESYS, "segment %s: mmap: %s", cfg->shm_name, strerror(e));
    }
    s->base = base;
    s->size = (size_t)p->hdr.segment_size;
    adopt_geometry(s, &p->hdr);
    return 0;
}
