/*
 * layout.h - the byte layout of a librpc shared-memory segment.
 *
 * This file owns the shared format; every process of a domain must agree on
 * it, so any change to a struct here bumps RPC_LAYOUT_VERSION.
 *
 *   offset 0                header (struct rpcl_header), one page
 *   header.node_table_off   max_nodes slots of struct rpcl_node
 *   header.heap_off         the rest:
 *     heap_off                max_subs entries of struct rpcl_sub
 *     ring_pool_off           ring_count blocks of ring_block_size bytes,
 *                             each a struct rpcl_ring then its data bytes
 *
 * Invariants:
 * - magic is written last (release) by the initialiser and read first
 *   (acquire) by everybody else: a segment whose magic is 0 was never
 *   finished and is re-initialised when nobody is attached.
 * - Geometry fields (sizes, offsets, max_nodes) are written once, before the
 *   magic, and never change until the segment is re-initialised.  Readers
 *   validate them against the file size before use and keep local copies,
 *   so a corrupted header can produce errors but no out-of-bounds access.
 * - A node slot's state goes FREE -> ALIVE and back only under the
 *   life-cycle lock; ALIVE is published only after its node lock is held.
 *
 * The locks live outside the mapping, as byte-range locks on the file:
 * byte 0 life cycle, byte 1 membership, byte 2 + i node slot i.
 */
#ifndef RPC_LAYOUT_H
#define RPC_LAYOUT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define RPC_SEG_MAGIC UINT64_C(0x314D48534350524C) /* "LRPCSHM1" little-endian */
#define RPC_LAYOUT_VERSION 5u
#define RPC_HEADER_SIZE 4096u
#define RPC_NODE_SLOT_SIZE 256u

/* Lock bytes on the segment's file. */
#define RPC_LOCK_LIFECYCLE 0
#define RPC_LOCK_MEMBERSHIP 1
#define RPC_LOCK_NODE0 2

/* Fields other processes may read while they change are _Atomic and are
 * accessed with these (relaxed; the ordering comes from the state fields'
 * acquire/release pairs), so that no access is a data race. */
#define RPCL_LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)
#define RPCL_STORE(x, v) atomic_store_explicit(&(x), (v), memory_order_relaxed)

/* Names in the segment may be read by one process while another rewrites
 * them (readers then detect the change and discard what they read); byte-wise
 * relaxed atomics keep that a detected inconsistency, not a data race. */
static inline void rpcl_name_store(char dst[64], const char *src)
{
    int i, end = 0;
    for (i = 0; i < 64; i++) {
        char c = end ? 0 : src[i];
        end = end || c == 0;
        __atomic_store_n(&dst[i], c, __ATOMIC_RELAXED);
    }
}

static inline void rpcl_name_load(char out[64], const char src[64])
{
    int i;
    for (i = 0; i < 63; i++)
        out[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
    out[63] = 0;
}

enum rpcl_node_state { RPCL_NODE_FREE = 0, RPCL_NODE_ALIVE = 1 };
enum rpcl_left_how { RPCL_LEFT_CLEAN = 1, RPCL_LEFT_DEAD = 2 };

struct rpcl_header {
    _Atomic uint64_t magic;       /* RPC_SEG_MAGIC once initialised */
    uint32_t layout_version;      /* RPC_LAYOUT_VERSION */
    uint32_t header_size;         /* RPC_HEADER_SIZE */
    uint64_t segment_size;        /* file size the initialiser set */
    uint64_t segment_id;          /* random, new at every (re)initialisation */
    uint32_t max_nodes;
    uint32_t node_slot_size;      /* RPC_NODE_SLOT_SIZE */
    uint64_t node_table_off;
    uint64_t heap_off;
    uint64_t heap_size;
    int64_t created_unix_ns;
    uint32_t creator_pid;
    uint32_t reserved0;
    _Atomic uint32_t num_nodes;   /* occupied node slots: the reference count */
    _Atomic uint32_t generation;  /* bumped on every node-table change */
    _Atomic uint64_t next_incarnation; /* source of node incarnation numbers */
    /* Data plane geometry, fixed at initialisation like the rest. */
    uint32_t max_subs;
    uint32_t sub_entry_size;      /* sizeof(struct rpcl_sub) */
    uint64_t ring_pool_off;
    uint32_t ring_count;
    uint32_t max_msg_size;        /* largest payload a publisher may send */
    uint64_t ring_block_size;     /* ring header + data capacity */
    /* High-water marks: no entry at or above is, or ever was, in use since
     * initialisation, so scans stop there instead of reading (and paging
     * in) whole tables.  Raised under the life-cycle lock, after the entry
     * is published (release); scanners acquire them and clamp. */
    _Atomic uint32_t sub_hwm;
    _Atomic uint32_t ring_hwm;
};

struct rpcl_node {
    /* Line 0: identity and wake-up.  Publishers read `sleeping` after every
     * message, so nothing that changes per message may share this line:
     * the read would then miss the cache every time. */
    _Atomic uint32_t state;       /* enum rpcl_node_state */
    _Atomic uint32_t pid;         /* informative only: never trusted */
    _Atomic uint64_t owner_id;    /* random id of the owning attachment */
    _Atomic uint64_t incarnation; /* unique per registration; kept when FREE */
    int64_t joined_unix_ns;
    /* Wake-up: an event count the receiver sleeps on (futex word) and a
     * flag telling publishers whether a wake-up system call is needed. */
    _Atomic uint32_t wake_seq;
    _Atomic uint32_t sleeping;
    _Atomic uint32_t wants_events;/* its owner has an event callback: wake it on changes */
    _Atomic uint32_t left_how;    /* when FREE: RPCL_LEFT_* of the last occupant */
    _Atomic uint32_t wake_asym;   /* 1: its receiver runs the heavy barrier before it
                                   * sleeps (platform.h), so publishers in processes
                                   * that take part need no fence; set at creation
                                   * for nodes that spin before sleeping */
    uint8_t pad0[12];
    /* Line 1. */
    char name[64];                /* NUL-terminated; validated on read */
    /* Line 2: counters, each written only by the owning process (relaxed),
     * read by the tools. */
    _Atomic uint64_t published;   /* rpc_publish calls past argument checks */
    _Atomic uint64_t delivered;   /* message copies queued to subscribers */
    _Atomic uint64_t dropped;     /* copies not queued: subscriber queue full */
    _Atomic uint64_t received;    /* messages dispatched to callbacks */
    _Atomic uint64_t bytes_out;   /* payload bytes queued */
    _Atomic uint64_t bytes_in;    /* payload bytes dispatched */
    uint8_t reserved[RPC_NODE_SLOT_SIZE - 176];
};

/* An endpoint: node (slot, incarnation) subscribes to, or publishes on,
 * (group, topic).  Publisher entries only serve the tools (who publishes
 * what).  seq changes at every reuse of the entry, so a record addressed to
 * an old subscription is recognised and dropped. */
enum rpcl_sub_state { RPCL_SUB_FREE = 0, RPCL_SUB_ACTIVE = 1 };
enum rpcl_sub_kind { RPCL_KIND_SUB = 0, RPCL_KIND_PUB = 1 };
#define RPCL_NAME_SIZE 64
struct rpcl_sub {
    _Atomic uint32_t state;
    _Atomic uint32_t node_slot;
    _Atomic uint64_t node_incarnation;
    _Atomic uint32_t seq;         /* bumped when freed: readers detect reuse */
    _Atomic uint32_t kind;        /* enum rpcl_sub_kind */
    char group[RPCL_NAME_SIZE];
    char topic[RPCL_NAME_SIZE];
    uint8_t reserved[8];
};

/* A single-producer single-consumer queue from one publisher node to one
 * subscriber node.  head and tail are byte counters that only grow; a
 * record never wraps (a WRAP record fills the end instead).  The block is
 * reused only after both ends have set their DONE bit (or were found dead):
 * until then either end may still touch it. */
enum rpcl_ring_state { RPCL_RING_FREE = 0, RPCL_RING_ACTIVE = 1 };
#define RPCL_RING_PUB_DONE 1u
#define RPCL_RING_SUB_DONE 2u
struct rpcl_ring {
    _Atomic uint32_t state;
    _Atomic uint32_t done;        /* RPCL_RING_*_DONE bits */
    _Atomic uint32_t pub_slot;
    _Atomic uint32_t sub_slot;
    _Atomic uint64_t pub_incarnation;
    _Atomic uint64_t sub_incarnation;
    char pub_name[64];            /* the publisher's name, kept after it leaves */
    uint8_t pad0[32];
    /* Producer's line. */
    _Atomic uint64_t tail;        /* bytes committed */
    uint8_t pad1[56];
    /* Consumer's line. */
    _Atomic uint64_t head;        /* bytes consumed */
    _Atomic uint32_t space_seq;   /* futex word: bumped when head moves for a waiter */
    _Atomic uint32_t pub_waiting; /* the producer sleeps on space_seq */
    uint8_t pad2[48];
};
#define RPCL_RING_HDR_SIZE 256u

/* Record header inside a ring's data; payload follows, padded to 8.
 * commit is stored last (release) and tells the consumer the record is
 * whole: RPCL_COMMIT(position) for a record at that byte position, with
 * RPCL_COMMIT_WRAP set for the filler before a wrap (then only commit is
 * written: as little as 8 bytes may be left).  Positions only grow, so a
 * word left from an earlier lap never matches; and the producer zeroes the
 * word just past each record before committing it, so the consumer's next
 * look never meets old payload bytes. */
#define RPCL_COMMIT(pos) ((uint64_t)(pos) + 1u)
#define RPCL_COMMIT_WRAP (UINT64_C(1) << 63)
struct rpcl_rec {
    _Atomic uint64_t commit;
    uint32_t len;                 /* payload bytes */
    uint32_t sub_index;           /* subscription entry addressed */
    uint32_t sub_seq;             /* its seq at publication */
    uint32_t reserved;
    uint64_t msg_seq;             /* per publisher node, from 1 */
};

_Static_assert(sizeof(struct rpcl_header) <= RPC_HEADER_SIZE, "header fits its page");
_Static_assert(sizeof(struct rpcl_node) == RPC_NODE_SLOT_SIZE, "node slot size");
_Static_assert(sizeof(struct rpcl_sub) == 160, "subscription entry size");
_Static_assert(sizeof(struct rpcl_ring) == RPCL_RING_HDR_SIZE, "ring header size");
_Static_assert(sizeof(struct rpcl_rec) == 32, "record header size");
_Static_assert(offsetof(struct rpcl_rec, commit) == 0, "ring.c copies the fields after commit");
_Static_assert(offsetof(struct rpcl_node, name) == 64 && offsetof(struct rpcl_node, published) == 128,
               "node slot lines");

#endif
