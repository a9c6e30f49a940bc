/*
 * segment.h - one process's view of a domain's shared-memory segment: open,
 * validate, initialise, join, leave, and the byte-range locks on its file.
 */
#ifndef RPC_SEGMENT_H
#define RPC_SEGMENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "internal.h"
#include "layout.h"

struct rpci_seg {
    char name[RPC_SHM_NAME_MAX + 1];
    int fd;
    unsigned char *base;          /* mapping of the whole file */
    size_t size;                  /* bytes mapped == header.segment_size */
    /* Geometry copied from the validated header: never re-read, so a later
     * corruption of the header cannot move our accesses out of bounds. */
    uint32_t max_nodes;
    uint64_t node_table_off;
    uint64_t heap_off;
    uint64_t heap_size;
    uint64_t segment_id;
    uint32_t max_subs;            /* subscription table at heap_off */
    uint32_t ring_count;
    uint64_t ring_pool_off;
    uint64_t ring_block_size;
    uint32_t max_msg_size;
    int copied;                   /* base is a malloc'ed copy, not a mapping */
};

/* The result of looking at a segment without joining it. */
struct rpci_seg_probe {
    struct stat st;
    struct rpcl_header hdr;       /* copy; meaningful when status == 0 */
    int status;                   /* 0 usable, else the RPC_E* code (owner first) */
    int format_ok;                /* the header and geometry are valid */
    int attached;                 /* membership held by someone */
};

static inline struct rpcl_header *rpci_seg_header(const struct rpci_seg *s)
{
    return (struct rpcl_header *)s->base;
}

static inline struct rpcl_node *rpci_seg_node(const struct rpci_seg *s, uint32_t i)
{
    return (struct rpcl_node *)(s->base + s->node_table_off + (size_t)i * RPC_NODE_SLOT_SIZE);
}

static inline struct rpcl_sub *rpci_seg_sub(const struct rpci_seg *s, uint32_t i)
{
    return (struct rpcl_sub *)(s->base + s->heap_off + (size_t)i * sizeof(struct rpcl_sub));
}

static inline struct rpcl_ring *rpci_seg_ring(const struct rpci_seg *s, uint32_t i)
{
    return (struct rpcl_ring *)(s->base + s->ring_pool_off + (size_t)i * s->ring_block_size);
}

/* A table changed: publishers and receivers revalidate their caches.
 * Release: whoever acquires the new generation sees the change. */
static inline void rpci_seg_bump_generation(struct rpci_seg *s)
{
    atomic_fetch_add_explicit(&rpci_seg_header(s)->generation, 1, memory_order_release);
}

/* Scan limits for the subscription table and the queue pool (see the
 * high-water marks in layout.h); never beyond the validated sizes. */
static inline uint32_t rpci_sub_limit(const struct rpci_seg *s)
{
    uint32_t v = atomic_load_explicit(&rpci_seg_header(s)->sub_hwm, memory_order_acquire);
    return v < s->max_subs ? v : s->max_subs;
}

static inline uint32_t rpci_ring_limit(const struct rpci_seg *s)
{
    uint32_t v = atomic_load_explicit(&rpci_seg_header(s)->ring_hwm, memory_order_acquire);
    return v < s->ring_count ? v : s->ring_count;
}

/* Raise a high-water mark to cover index i (life-cycle lock held). */
static inline void rpci_raise_hwm(_Atomic uint32_t *hwm, uint32_t i)
{
    /* Release: scanners that acquire the mark see the entry published. */
    if (atomic_load_explicit(hwm, memory_order_relaxed) <= i)
        atomic_store_explicit(hwm, i + 1, memory_order_release);
}

/* Join the domain cfg names: create, repair or validate its segment and take
 * the membership lock.  Returns 0 with the life-cycle lock HELD (the caller
 * registers its first node, then calls rpci_seg_unlock), or an RPC_E* code
 * with nothing held and *s closed. */
int rpci_seg_join(const struct rpc_config *cfg, struct rpci_seg *s);

/* With the life-cycle lock held: is any other process attached?  Members
 * hold the membership byte shared; an exclusive holder can only be an
 * orphan watcher (leavers take it exclusively only under the life-cycle
 * lock, which we hold), and a watcher is granted it only when nobody is
 * attached.  Returns 1, 0, or RPC_ESYS. */
int rpci_seg_others_attached(struct rpci_seg *s);

/* Life-cycle lock with the library's deadline; 0 or RPC_ETIMEDOUT/RPC_ESYS. */
int rpci_seg_lock_fd(int fd, const char *name);
/* The same, giving up at until_ns (CLOCK_MONOTONIC) if that is sooner; 0
 * means the library's deadline only. */
int rpci_seg_lock_fd_until(int fd, const char *name, uint64_t until_ns);
int rpci_seg_lock(struct rpci_seg *s);
/* Non-blocking variant: 0, or RPC_EBUSY when another process holds it. */
int rpci_seg_trylock(struct rpci_seg *s);
void rpci_seg_unlock(struct rpci_seg *s);

/* Leave (life-cycle lock held, this process's last node already removed):
 * drop membership; if nobody else is attached, unlink the segment.  Always
 * releases everything and closes *s.  Returns 1 if it unlinked, else 0. */
int rpci_seg_leave(struct rpci_seg *s);

/* Unmap and close without any protocol (forked child, read-only views). */
void rpci_seg_close(struct rpci_seg *s);

/* Open an existing segment read-only and describe it; no locks are taken.
 * On success (0) *fd_out is the open descriptor (caller closes) and *p is
 * filled; p->status tells whether the contents are usable.  Errors:
 * RPC_ENOENT, RPC_EACCES, RPC_ENOTREG, RPC_ESYS. */
int rpci_seg_probe(const struct rpc_config *cfg, int *fd_out, struct rpci_seg_probe *p);

/* The RPC_E* code (with detail) for a failed shm_open of name. */
int rpci_seg_open_error(const char *name, int err);

/* Read a probed, valid segment's header and node table into memory (no
 * mapping: for the queries that need nothing else, a pread is far cheaper
 * than mapping the whole segment).  Only rpci_seg_node() may be used on *s;
 * fd is taken over. */
int rpci_seg_read_table(const struct rpc_config *cfg, int fd, const struct rpci_seg_probe *p,
                        struct rpci_seg *s);

/* Map a probed, valid segment read-only into *s (fd is taken over). */
int rpci_seg_map_ro(const struct rpc_config *cfg, int fd, const struct rpci_seg_probe *p,
                    struct rpci_seg *s);

/* Deadline for the life-cycle lock: it is only ever held for microseconds,
 * so waiting this long means the holder is stopped or stuck. */
#define RPCI_LOCK_TIMEOUT_NS (10ull * 1000000000ull)

#endif
