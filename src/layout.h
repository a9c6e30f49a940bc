/*
 * layout.h - the byte layout of a librpc shared-memory segment.
 *
 * This file owns the shared format; every process of a domain must agree on
 * it, so any change to a struct here bumps RPC_LAYOUT_VERSION.
 *
 *   offset 0                header (struct rpcl_header), one page
 *   header.node_table_off   max_nodes slots of struct rpcl_node
 *   header.heap_off         the rest, for queues and tables
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
#include <stdint.h>

#define RPC_SEG_MAGIC UINT64_C(0x314D48534350524C) /* "LRPCSHM1" little-endian */
#define RPC_LAYOUT_VERSION 1u
#define RPC_HEADER_SIZE 4096u
#define RPC_NODE_SLOT_SIZE 256u

/* Lock bytes on the segment's file. */
#define RPC_LOCK_LIFECYCLE 0
#define RPC_LOCK_MEMBERSHIP 1
#define RPC_LOCK_NODE0 2

enum rpcl_node_state { RPCL_NODE_FREE = 0, RPCL_NODE_ALIVE = 1 };

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
};

struct rpcl_node {
    _Atomic uint32_t state;       /* enum rpcl_node_state */
    uint32_t pid;                 /* informative only: never trusted */
    uint64_t owner_id;            /* random id of the owning attachment */
    uint64_t incarnation;         /* unique per registration in this segment */
    int64_t joined_unix_ns;
    char name[64];                /* NUL-terminated; validated on read */
    uint8_t reserved[RPC_NODE_SLOT_SIZE - 96];
};

_Static_assert(sizeof(struct rpcl_header) <= RPC_HEADER_SIZE, "header fits its page");
_Static_assert(sizeof(struct rpcl_node) == RPC_NODE_SLOT_SIZE, "node slot size");

#endif
