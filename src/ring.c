/*
 * ring.c - SPSC queues of variable-length records, and their pool.
 *
 * Ordering (the only two pairs that matter):
 * - producer: write the record's bytes, then store its commit word with
 *   release; consumer: load the commit word at its head with acquire, then
 *   read the bytes.  A record is therefore either wholly visible or not at
 *   all: a producer killed mid-write never publishes a torn record.  The
 *   consumer polls the record itself, not a shared index, so a message
 *   costs it one cache-line transfer where an index would cost two (the
 *   index's line, then the record's).  The producer also keeps the ring's
 *   tail (release), for the tools and for the free-space arithmetic.
 * - consumer: finish reading, then store head with release; producer: load
 *   head with acquire before reusing those bytes.
 * Wake-ups for a producer waiting for room use a Dekker pair: the producer
 * stores pub_waiting then (seq_cst fence) re-checks head; the consumer
 * stores head then (seq_cst fence) checks pub_waiting.  One of them must
 * see the other's store, so a wake-up is never lost.
 *
 * Invariant: the 8 bytes at the producer's next position hold no valid
 * commit for that position, so the consumer polling there never mistakes
 * old bytes for a record.  Either they are 0 (the allocator zeroes position
 * 0; each write zeroes the word past its record before committing it), or,
 * when a write fills the queue exactly, they are the commit word of the
 * record a lap behind, which the consumer has yet to pass or just passed.
 *
 * Every value read from the segment is checked before use: a corrupt or
 * hostile queue makes peek return RPC_ECORRUPT, never an access outside
 * the block.
 */
#include "ring.h"
#include "platform/platform.h"

#include <string.h>

static uint64_t rec_size(uint32_t len)
{
    return sizeof(struct rpcl_rec) + (((uint64_t)len + 7) & ~(uint64_t)7);
}

static unsigned char *ring_data(struct rpcl_ring *r)
{
    return (unsigned char *)r + RPCL_RING_HDR_SIZE;
}

/* The word at position pos (8-aligned: records start 8-aligned). */
static _Atomic uint64_t *word_at(unsigned char *data, uint64_t cap, uint64_t pos)
{
    return (_Atomic uint64_t *)(void *)(data + (pos & (cap - 1)));
}

void rpci_prod_init(struct rpci_prod *p, const struct rpci_seg *s, struct rpcl_ring *r)
{
    rpcp_tsan_acquire(r);
    p->r = r;
    p->data = ring_data(r);
    p->cap = s->ring_block_size - RPCL_RING_HDR_SIZE;
    p->tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    p->head_cache = atomic_load_explicit(&r->head, memory_order_acquire);
}

void rpci_cons_init(struct rpci_cons *c, const struct rpci_seg *s, struct rpcl_ring *r)
{
    rpcp_tsan_acquire(r);
    c->r = r;
    c->data = ring_data(r);
    c->cap = s->ring_block_size - RPCL_RING_HDR_SIZE;
    c->head = atomic_load_explicit(&r->head, memory_order_relaxed);
    c->released = c->head;
    c->max_msg = s->max_msg_size;
}

/* Bytes needed at the current tail, counting the filler before a wrap. */
static uint64_t bytes_needed(const struct rpci_prod *p, uint64_t need)
{
    uint64_t to_end = p->cap - (p->tail & (p->cap - 1));
    return to_end < need ? to_end + need : need;
}

static int room_for(struct rpci_prod *p, uint64_t total)
{
    if (p->tail + total - p->head_cache <= p->cap)
        return 1;
    /* Acquire: pairs with the consumer's release of head. */
    p->head_cache = atomic_load_explicit(&p->r->head, memory_order_acquire);
    /* A head ahead of our tail (corrupt) reads as "full", never as room. */
    return p->head_cache <= p->tail && p->tail + total - p->head_cache <= p->cap;
}

int rpci_prod_has_room(struct rpci_prod *p, uint32_t len)
{
    return room_for(p, bytes_needed(p, rec_size(len)));
}

int rpci_prod_write(struct rpci_prod *p, const struct rpcl_rec *hdr, const void *payload)
{
    uint64_t need = rec_size(hdr->len);
    uint64_t start = p->tail, pos = p->tail & (p->cap - 1);
    struct rpcl_rec *rec;
    if (!room_for(p, bytes_needed(p, need)))
        return RPC_EAGAIN;
    if (p->cap - pos < need)
        p->tail += p->cap - pos;   /* the record goes to the start; filler below */
    rec = (struct rpcl_rec *)(void *)(p->data + (p->tail & (p->cap - 1)));
    memcpy((unsigned char *)rec + sizeof rec->commit, (const unsigned char *)hdr + sizeof hdr->commit,
           sizeof *hdr - sizeof hdr->commit);
    if (hdr->len > 0)
        memcpy(rec + 1, payload, hdr->len);
    /* The word past the record is free space (zero it) unless the queue is
     * now exactly full: then it is the commit word of the oldest record
     * (at head_cache, or one the consumer has left since), a lap behind. */
    if (p->tail + need - p->head_cache < p->cap)
        atomic_store_explicit(word_at(p->data, p->cap, p->tail + need), 0, memory_order_relaxed);
    /* Release: pairs with the consumer's acquire of the commit word (see
     * top); the zeroed word past the record is ordered before it too. */
    atomic_store_explicit(&rec->commit, RPCL_COMMIT(p->tail), memory_order_release);
    if (p->tail != start)   /* the filler last: the consumer may follow at once */
        atomic_store_explicit(word_at(p->data, p->cap, start), RPCL_COMMIT(start) | RPCL_COMMIT_WRAP,
                              memory_order_release);
    p->tail += need;
    /* Release: for readers of tail (the tools); the consumer does not need it. */
    atomic_store_explicit(&p->r->tail, p->tail, memory_order_release);
    return 0;
}

/* The commit word at the consumer's head: acquire pairs with the
 * producer's release of it. */
static uint64_t head_commit(const struct rpci_cons *c)
{
    return atomic_load_explicit(word_at(c->data, c->cap, c->head), memory_order_acquire);
}

int rpci_cons_has_data(struct rpci_cons *c)
{
    return (head_commit(c) & ~RPCL_COMMIT_WRAP) == RPCL_COMMIT(c->head);
}

int rpci_cons_peek(struct rpci_cons *c, const struct rpcl_rec **rec, const void **payload)
{
    for (;;) {
        uint64_t commit, pos, to_end;
        const struct rpcl_rec *r;
        uint32_t len;
        /* Records start 8-aligned, so a commit word never straddles the
         * end (a whole header may not fit: checked below). */
        if ((c->head & 7) != 0)
            return RPC_ECORRUPT;
        commit = head_commit(c);
        if ((commit & ~RPCL_COMMIT_WRAP) != RPCL_COMMIT(c->head))
            return 0;
        pos = c->head & (c->cap - 1);
        to_end = c->cap - pos;
        if (commit & RPCL_COMMIT_WRAP) {
            c->head += to_end;
            continue;
        }
        if (to_end < sizeof *r)   /* a producer would have wrapped */
            return RPC_ECORRUPT;
        r = (const struct rpcl_rec *)(const void *)(c->data + pos);
        memcpy(&len, &r->len, sizeof len);
        if (len > c->max_msg || rec_size(len) > to_end)
            return RPC_ECORRUPT;
        *rec = r;
        *payload = r + 1;
        return 1;
    }
}

void rpci_cons_next(struct rpci_cons *c, const struct rpcl_rec *rec)
{
    c->head += rec_size(rec->len);
    /* Small records are released a batch at a time (one fence per batch);
     * but once a quarter of the queue is consumed, the producer gets it
     * back at once, so large messages stream instead of going in rounds
     * of "fill the queue, drain it". */
    if (c->head - c->released >= c->cap / 4)
        rpci_cons_release(c);
}

void rpci_cons_release(struct rpci_cons *c)
{
    struct rpcl_ring *r = c->r;
    if (c->head == c->released)
        return;
    c->released = c->head;
    /* Release: the producer may reuse the bytes once it acquires head. */
    atomic_store_explicit(&r->head, c->head, memory_order_release);
    /* Dekker with the producer's pub_waiting store (see top). */
    rpcp_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&r->pub_waiting, memory_order_relaxed)) {
        atomic_fetch_add_explicit(&r->space_seq, 1, memory_order_release);
        rpcp_wake_word(&r->space_seq);
    }
}

/* ---- pool ------------------------------------------------------------------ */

int rpci_ring_alloc(struct rpci_seg *s, uint32_t pub_slot, uint64_t pub_inc, const char *pub_name,
                    uint32_t sub_slot, uint64_t sub_inc)
{
    uint32_t i;
    for (i = 0; i < s->ring_count; i++) {
        struct rpcl_ring *r = rpci_seg_ring(s, i);
        if (atomic_load_explicit(&r->state, memory_order_relaxed) != RPCL_RING_FREE)
            continue;
        atomic_store_explicit(&r->done, 0, memory_order_relaxed);
        RPCL_STORE(r->pub_slot, pub_slot);
        RPCL_STORE(r->sub_slot, sub_slot);
        RPCL_STORE(r->pub_incarnation, pub_inc);
        RPCL_STORE(r->sub_incarnation, sub_inc);
        rpcl_name_store(r->pub_name, pub_name);
        atomic_store_explicit(&r->tail, 0, memory_order_relaxed);
        atomic_store_explicit(&r->head, 0, memory_order_relaxed);
        atomic_store_explicit(&r->pub_waiting, 0, memory_order_relaxed);
        /* The consumer's first look is at position 0: no commit there. */
        atomic_store_explicit(word_at(ring_data(r), s->ring_block_size - RPCL_RING_HDR_SIZE, 0), 0,
                              memory_order_relaxed);
        /* Release: a consumer that acquires ACTIVE sees the fields above. */
        atomic_store_explicit(&r->state, RPCL_RING_ACTIVE, memory_order_release);
        rpci_raise_hwm(&rpci_seg_header(s)->ring_hwm, i);
        rpci_seg_bump_generation(s);
        return (int)i;
    }
    return rpci_fail(RPC_ENOSPC, "segment %s: all %u queues are in use (raise the segment size "
                     "or lower the queue size)", s->name, s->ring_count);
}

void rpci_ring_release_node(struct rpci_seg *s, uint32_t slot, uint64_t inc)
{
    uint32_t i, limit = rpci_ring_limit(s);
    for (i = 0; i < limit; i++) {
        struct rpcl_ring *r = rpci_seg_ring(s, i);
        uint32_t bits = 0;
        if (atomic_load_explicit(&r->state, memory_order_acquire) != RPCL_RING_ACTIVE)
            continue;
        if (RPCL_LOAD(r->pub_slot) == slot && RPCL_LOAD(r->pub_incarnation) == inc)
            bits |= RPCL_RING_PUB_DONE;
        if (RPCL_LOAD(r->sub_slot) == slot && RPCL_LOAD(r->sub_incarnation) == inc)
            bits |= RPCL_RING_SUB_DONE;
        if (bits) {
            rpcp_tsan_release(r);
            atomic_fetch_or_explicit(&r->done, bits, memory_order_release);
            /* A producer waiting for room re-checks and sees the consumer gone. */
            atomic_fetch_add_explicit(&r->space_seq, 1, memory_order_release);
            rpcp_wake_word(&r->space_seq);
        }
    }
}

static int collectable(struct rpcl_ring *r)
{
    return atomic_load_explicit(&r->state, memory_order_acquire) == RPCL_RING_ACTIVE &&
           atomic_load_explicit(&r->done, memory_order_acquire) ==
               (RPCL_RING_PUB_DONE | RPCL_RING_SUB_DONE);
}

int rpci_ring_any_collectable(const struct rpci_seg *s)
{
    uint32_t i, limit = rpci_ring_limit(s);
    for (i = 0; i < limit; i++)
        if (collectable(rpci_seg_ring(s, i)))
            return 1;
    return 0;
}

int rpci_ring_collect(struct rpci_seg *s)
{
    int n = 0;
    uint32_t i, limit = rpci_ring_limit(s);
    for (i = 0; i < limit; i++) {
        struct rpcl_ring *r = rpci_seg_ring(s, i);
        if (collectable(r)) {
            atomic_store_explicit(&r->state, RPCL_RING_FREE, memory_order_release);
            n++;
        }
    }
    if (n > 0)
        rpci_seg_bump_generation(s);
    return n;
}
