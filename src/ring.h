/*
 * ring.h - single-producer single-consumer queues in the segment, and the
 * pool they are allocated from.
 */
#ifndef RPC_RING_H
#define RPC_RING_H

#include "segment.h"

/* The producer's private view of one queue. */
struct rpci_prod {
    struct rpcl_ring *r;
    unsigned char *data;
    uint64_t cap;             /* power of two */
    uint64_t tail;            /* our copy: only we write r->tail */
    uint64_t head_cache;      /* last head we read */
};

/* The consumer's private view of one queue. */
struct rpci_cons {
    struct rpcl_ring *r;
    unsigned char *data;
    uint64_t cap;
    uint64_t head;            /* our copy: only we write r->head */
    uint64_t released;        /* the last head we stored in r->head */
    uint32_t max_msg;
};

void rpci_prod_init(struct rpci_prod *p, const struct rpci_seg *s, struct rpcl_ring *r);
void rpci_cons_init(struct rpci_cons *c, const struct rpci_seg *s, struct rpcl_ring *r);

/* Append one record (hdr->commit is ignored).  Returns 0, or RPC_EAGAIN
 * when there is no room. */
int rpci_prod_write(struct rpci_prod *p, const struct rpcl_rec *hdr, const void *payload);

/* Is there room for a record of len bytes (refreshing the head)? */
int rpci_prod_has_room(struct rpci_prod *p, uint32_t len);

/* Next committed record, without consuming it: 1 and *rec and *payload set,
 * 0 when empty, RPC_ECORRUPT when the queue's indices or record are
 * impossible (the queue must then be abandoned). */
int rpci_cons_peek(struct rpci_cons *c, const struct rpcl_rec **rec, const void **payload);
/* Step over the record peek returned; the producer sees it at the next
 * release, which this makes itself once a quarter of the queue is consumed. */
void rpci_cons_next(struct rpci_cons *c, const struct rpcl_rec *rec);
/* Publish our progress to the producer and wake it if it waits for room. */
void rpci_cons_release(struct rpci_cons *c);
/* Is a committed record (or wrap filler) waiting at the head?  One load. */
int rpci_cons_has_data(struct rpci_cons *c);

/* ---- pool (life-cycle lock held for all of these) ---- */

/* Allocate a queue from pub (slot, incarnation) to sub.  Returns its index
 * or RPC_ENOSPC. */
int rpci_ring_alloc(struct rpci_seg *s, uint32_t pub_slot, uint64_t pub_inc, const char *pub_name,
                    uint32_t sub_slot, uint64_t sub_inc);
/* A node left or died: mark both directions of its queues done. */
void rpci_ring_release_node(struct rpci_seg *s, uint32_t slot, uint64_t incarnation);
/* Free every queue both ends are done with.  Returns how many. */
int rpci_ring_collect(struct rpci_seg *s);
/* Lock-free check: is any queue waiting to be collected? */
int rpci_ring_any_collectable(const struct rpci_seg *s);

#endif
