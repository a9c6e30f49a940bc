/*
 * domain.c - the static tools: status, active-node count, node list and
 * orphan clean-up, done from outside the domain.
 *
 * Invariant: nothing here takes the membership lock or keeps a descriptor
 * open past the call, so looking never keeps a segment alive.  Only clean-up
 * takes the life-cycle lock, to exclude joiners while it decides.
 */
#include "attach.h"
#include "registry.h"
#include "subs.h"
#include "platform/platform.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Probe and, if the contents are valid, map read-only.  Returns 0 with *s
 * mapped, or the reason it cannot be read (RPC_ENOENT, a format error...). */
/* Probe and, if the contents are valid, map read-only (whole = 1) or copy
 * just the header and node table (whole = 0).  Returns 0 with *s ready, or
 * the reason it cannot be read (RPC_ENOENT, a format error...). */
static int open_view(const rpc_config *config, struct rpc_config *cfg, struct rpci_seg *s,
                     int whole)
{
    struct rpci_seg_probe p;
    int fd, rc;
    rpci_clear_detail();
    if ((rc = rpci_config_resolve(config, cfg)) != 0)
        return rc;
    if ((rc = rpci_seg_probe(cfg, &fd, &p)) != 0)
        return rc;
    if (p.status != 0) {
        close(fd);
        return p.status;
    }
    return whole ? rpci_seg_map_ro(cfg, fd, &p, s) : rpci_seg_read_table(cfg, fd, &p, s);
}

int rpc_domain_active_nodes(const rpc_config *cfg)
{
    struct rpc_config c;
    struct rpci_seg s;
    int rc, count = 0;
    uint32_t i;
    rpci_clear_detail();
    if ((rc = rpci_config_resolve(cfg, &c)) != 0)
        return rc;
    /* Attached already: our own mapping answers, with lock tests only. */
    if ((count = rpci_attach_count_alive(c.shm_name)) >= 0)
        return count;
    count = 0;
    if ((rc = open_view(&c, &c, &s, 0)) != 0)
        return rc;
    for (i = 0; i < s.max_nodes; i++)
        if (atomic_load_explicit(&rpci_seg_node(&s, i)->state, memory_order_acquire) !=
                RPCL_NODE_FREE &&
            rpci_reg_alive(&s, i) == 1)
            count++;
    rpci_seg_close(&s);
    return count;
}

int rpc_domain_list_nodes(const rpc_config *cfg, rpc_node_info *out, unsigned cap)
{
    struct rpc_config c;
    struct rpci_seg s;
    unsigned n = 0;
    uint32_t i;
    int rc;
    if (out == NULL && cap > 0)
        return rpci_fail(RPC_EINVAL, "rpc_domain_list_nodes: out is NULL but cap is %u", cap);
    if ((rc = open_view(cfg, &c, &s, 0)) != 0)
        return rc;
    for (i = 0; i < s.max_nodes; i++) {
        const struct rpcl_node *src = rpci_seg_node(&s, i);
        /* Acquire: pairs with the release that published the slot. */
        if (atomic_load_explicit(&src->state, memory_order_acquire) == RPCL_NODE_FREE)
            continue;
        if (n < cap) {
            rpc_node_info *d = &out[n];
            memset(d, 0, sizeof *d);
            rpci_reg_copy_name(src, d->name);
            d->pid = (int32_t)RPCL_LOAD(src->pid);
            d->slot = i;
            d->alive = rpci_reg_alive(&s, i) == 1;
            d->owner_id = RPCL_LOAD(src->owner_id);
            d->joined_unix_ns = src->joined_unix_ns;
            d->stats.published = atomic_load_explicit(&src->published, memory_order_relaxed);
            d->stats.delivered = atomic_load_explicit(&src->delivered, memory_order_relaxed);
            d->stats.dropped = atomic_load_explicit(&src->dropped, memory_order_relaxed);
            d->stats.received = atomic_load_explicit(&src->received, memory_order_relaxed);
            d->stats.bytes_out = atomic_load_explicit(&src->bytes_out, memory_order_relaxed);
            d->stats.bytes_in = atomic_load_explicit(&src->bytes_in, memory_order_relaxed);
        }
        n++;
    }
    rpci_seg_close(&s);
    return (int)n;
}

static void fill_counts(const struct rpci_seg *s, rpc_domain_info *info)
{
    uint64_t owners[RPC_MAX_NODES_LIMIT], owner;
    unsigned nowners = 0, j;
    uint32_t i;
    for (i = 0; i < s->max_nodes; i++) {
        const struct rpcl_node *n = rpci_seg_node(s, i);
        if (atomic_load_explicit(&n->state, memory_order_acquire) == RPCL_NODE_FREE)
            continue;
        info->registered_nodes++;
        if (rpci_reg_alive(s, i) != 1)
            continue;
        info->live_nodes++;
        owner = RPCL_LOAD(n->owner_id);
        for (j = 0; j < nowners && owners[j] != owner; j++)
            ;
        if (j == nowners)
            owners[nowners++] = owner;
    }
    info->live_processes = nowners;
    for (i = 0; i < rpci_ring_limit(s); i++)
        if (atomic_load_explicit(&rpci_seg_ring(s, i)->state, memory_order_relaxed) !=
            RPCL_RING_FREE)
            info->queues_used++;
}

int rpc_domain_stat(const rpc_config *cfg, rpc_domain_info *info)
{
    struct rpc_config c;
    struct rpci_seg_probe p;
    struct rpci_seg s;
    int fd, rc;
    rpci_clear_detail();
    if (info == NULL)
        return rpci_fail(RPC_EINVAL, "rpc_domain_stat: info is NULL");
    memset(info, 0, sizeof *info);
    if ((rc = rpci_config_resolve(cfg, &c)) != 0)
        return rc;
    rc = rpci_seg_probe(&c, &fd, &p);
    if (rc == RPC_ENOENT)
        return 0;
    if (rc != 0)
        return rc;
    info->exists = 1;
    info->size = (uint64_t)p.st.st_size;
    info->mode = (unsigned)p.st.st_mode & 0777;
    info->uid = p.st.st_uid;
    info->gid = p.st.st_gid;
    info->status = p.status;
    info->valid = p.status == 0;
    info->attached = p.attached;
    info->orphaned = !p.attached;
    if (p.status == RPC_EVERSION)
        info->layout_version = p.hdr.layout_version;
    if (!p.format_ok) {
        close(fd);
        return 0;
    }
    info->layout_version = p.hdr.layout_version;
    info->segment_id = p.hdr.segment_id;
    info->max_nodes = p.hdr.max_nodes;
    info->max_subs = p.hdr.max_subs;
    info->max_msg_size = p.hdr.max_msg_size;
    info->queue_size = p.hdr.ring_block_size - RPCL_RING_HDR_SIZE;
    info->queues_total = p.hdr.ring_count;
    info->created_unix_ns = p.hdr.created_unix_ns;
    if (rpci_seg_map_ro(&c, fd, &p, &s) == 0) {
        fill_counts(&s, info);
        rpci_seg_close(&s);
    }
    return 0;
}

int rpc_domain_list_endpoints(const rpc_config *cfg, rpc_endpoint_info *out, unsigned cap)
{
    struct rpc_config c;
    struct rpci_seg s;
    unsigned n = 0;
    uint32_t i;
    int rc;
    if (out == NULL && cap > 0)
        return rpci_fail(RPC_EINVAL, "rpc_domain_list_endpoints: out is NULL but cap is %u", cap);
    if ((rc = open_view(cfg, &c, &s, 1)) != 0)
        return rc;
    for (i = 0; i < rpci_sub_limit(&s); i++) {
        const struct rpcl_sub *e = rpci_seg_sub(&s, i);
        /* Acquire: pairs with the release that published the entry. */
        if (atomic_load_explicit(&e->state, memory_order_acquire) != RPCL_SUB_ACTIVE ||
            RPCL_LOAD(e->node_slot) >= s.max_nodes)
            continue;
        if (n < cap) {
            rpc_endpoint_info *d = &out[n];
            memset(d, 0, sizeof *d);
            rpcl_name_load(d->group, e->group);
            rpcl_name_load(d->topic, e->topic);
            d->slot = RPCL_LOAD(e->node_slot);
            rpci_reg_copy_name(rpci_seg_node(&s, d->slot), d->node);
            d->publisher = RPCL_LOAD(e->kind) == RPCL_KIND_PUB;
        }
        n++;
    }
    rpci_seg_close(&s);
    return (int)n;
}

/* ---- orphan watch ----------------------------------------------------------- */

int rpc_domain_wait_orphaned(const rpc_config *cfg)
{
    struct rpc_config c;
    struct stat st;
    int fd, rc;
    rpci_clear_detail();
    if ((rc = rpci_config_resolve(cfg, &c)) != 0)
        return rc;
    /* A write lock needs a descriptor open for writing. */
    if ((fd = shm_open(c.shm_name, O_RDWR | O_NONBLOCK, 0)) < 0)
        return rpci_seg_open_error(c.shm_name, errno);
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        rc = rpci_fail(RPC_ENOTREG, "segment %s: not a regular shared-memory file", c.shm_name);
    else if (st.st_uid != geteuid() && !c.allow_foreign_owner)
        rc = rpci_fail(RPC_EOWNER, "segment %s: owned by uid %u, not by us (uid %u)",
                       c.shm_name, (unsigned)st.st_uid, (unsigned)geteuid());
    else if ((rc = rpcp_lock_wait(fd, RPC_LOCK_MEMBERSHIP, RPCP_EXCLUSIVE)) == -EINTR)
        rc = rpci_fail(RPC_EINTR, "segment %s: the wait for its last process was interrupted "
                       "by a signal", c.shm_name);
    else if (rc != 0)
        rc = rpci_fail(RPC_ESYS, "segment %s: waiting on the membership lock: %s", c.shm_name,
                       strerror(-rc));
    else {
        /* Granted: nobody is attached.  Let go at once (joiners must not
         * find it taken; lock order forbids holding it while we take the
         * life-cycle lock).  A clean last leaver drops membership just
         * before it unlinks, under the life-cycle lock: pass through that
         * lock, so such an exit reads as "removed", not as an orphan. */
        (void)rpcp_lock_try(fd, RPC_LOCK_MEMBERSHIP, RPCP_UNLOCK);
        rpci_process_lock();
        if (rpci_seg_lock_fd(fd, c.shm_name) == 0)
            (void)rpcp_lock_try(fd, RPC_LOCK_LIFECYCLE, RPCP_UNLOCK);
        rpci_process_unlock();
        rc = fstat(fd, &st) == 0 && st.st_nlink > 0
                 ? 0
                 : rpci_fail(RPC_ENOENT, "segment %s was removed while we waited", c.shm_name);
    }
    close(fd);
    return rc;
}

/* ---- clean-up ------------------------------------------------------------- */

static int forced_unlink(const struct rpc_config *cfg)
{
    if (shm_unlink(cfg->shm_name) == 0)
        return 0;
    if (errno == ENOENT)
        return rpci_fail(RPC_ENOENT, "segment %s does not exist", cfg->shm_name);
    return rpci_fail(errno == EACCES || errno == EPERM ? RPC_EACCES : RPC_ESYS,
                     "segment %s: shm_unlink: %s", cfg->shm_name, strerror(errno));
}

/* Decide under the life-cycle lock, so no joiner can slip in between the
 * "nobody attached" test and the unlink. */
static int cleanup_locked(const struct rpc_config *cfg, struct rpci_seg *s)
{
    struct rpci_seg_probe p;
    int fd, rc, held;
    struct stat st;
    if (fstat(s->fd, &st) != 0 || st.st_nlink == 0)
        return rpci_fail(RPC_ENOENT, "segment %s was removed meanwhile", cfg->shm_name);
    held = rpci_seg_others_attached(s);
    if (held != 0)
        return held > 0 ? rpci_fail(RPC_EBUSY, "segment %s: live processes are attached",
                                    cfg->shm_name)
                        : held;
    /* Refuse what is not ours to judge: only librpc segments (finished or
     * half-made) are removed without force. */
    if ((rc = rpci_seg_probe(cfg, &fd, &p)) != 0)
        return rc;
    close(fd);
    if (p.status == RPC_EBADMAGIC)
        return rpci_fail(RPC_EBADMAGIC, "segment %s: not a librpc segment; "
                         "remove it with force only if you know what it is", cfg->shm_name);
    return forced_unlink(cfg);
}

int rpc_domain_cleanup(const rpc_config *cfg, unsigned flags)
{
    struct rpc_config c;
    struct rpci_seg s;
    struct stat st;
    int rc;
    rpci_clear_detail();
    if (flags & ~RPC_CLEANUP_FORCE)
        return rpci_fail(RPC_EINVAL, "rpc_domain_cleanup: unknown flags 0x%x", flags);
    if ((rc = rpci_config_resolve(cfg, &c)) != 0)
        return rc;
    if (flags & RPC_CLEANUP_FORCE)
        return forced_unlink(&c);
    memset(&s, 0, sizeof s);
    strcpy(s.name, c.shm_name);
    s.fd = shm_open(c.shm_name, O_RDWR | O_NONBLOCK, 0);
    if (s.fd < 0)
        return rpci_seg_open_error(c.shm_name, errno);
    if (fstat(s.fd, &st) != 0 || !S_ISREG(st.st_mode))
        rc = rpci_fail(RPC_ENOTREG, "segment %s: not a regular shared-memory file", c.shm_name);
    else if (st.st_uid != geteuid() && !c.allow_foreign_owner)
        rc = rpci_fail(RPC_EOWNER, "segment %s: owned by uid %u, not by us (uid %u)",
                       c.shm_name, (unsigned)st.st_uid, (unsigned)geteuid());
    else {
        /* Like every holder of the life-cycle lock in this process, hold
         * the process lock too, so fork() cannot copy the lock into a child. */
        rpci_process_lock();
        if ((rc = rpci_seg_lock(&s)) == 0)
            rc = cleanup_locked(&c, &s);
        rpci_seg_close(&s);   /* drops the life-cycle lock */
        rpci_process_unlock();
        return rc;
    }
    rpci_seg_close(&s);
    return rc;
}
