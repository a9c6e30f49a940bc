/*
 * subs.c - the subscription table.
 *
 * Writers hold the life-cycle lock.  Publishers read the table without any
 * lock, so entries follow a seqlock: freeing makes seq odd (then a release
 * fence) before the fields may be refilled; a refill writes the fields, then
 * the next even seq (release), then ACTIVE (release).  Readers accept an
 * entry only if they saw ACTIVE and the same even seq before and after
 * copying it.  Names are copied with byte-wise relaxed atomics.
 */
#include "subs.h"
#include "platform/platform.h"

#include <string.h>

int rpci_valid_topic_name(const char *s)
{
    size_t i;
    if (s == NULL || s[0] == '\0')
        return 0;
    for (i = 0; s[i] != '\0'; i++)
        if (i >= RPC_TOPIC_NAME_MAX || s[i] <= ' ' || s[i] > '~')
            return 0;
    return 1;
}

int rpci_sub_add(struct rpci_seg *s, uint32_t kind, uint32_t slot, uint64_t inc,
                 const char *group, const char *topic, uint32_t *seq)
{
    uint32_t i;
    for (i = 0; i < s->max_subs; i++) {
        struct rpcl_sub *e = rpci_seg_sub(s, i);
        if (atomic_load_explicit(&e->state, memory_order_relaxed) != RPCL_SUB_FREE)
            continue;
        RPCL_STORE(e->node_slot, slot);
        RPCL_STORE(e->node_incarnation, inc);
        RPCL_STORE(e->kind, kind);
        rpcl_name_store(e->group, group);
        rpcl_name_store(e->topic, topic);
        /* seq is odd while the entry is free or being filled; the next even
         * value, stored with release after the fields, tells readers that
         * fields read under it are complete (a never-used entry starts at
         * 0 and goes to 2). */
        *seq = (atomic_load_explicit(&e->seq, memory_order_relaxed) | 1u) + 1;
        atomic_store_explicit(&e->seq, *seq, memory_order_release);
        /* Release: readers that acquire ACTIVE see the fields. */
        atomic_store_explicit(&e->state, RPCL_SUB_ACTIVE, memory_order_release);
        rpci_raise_hwm(&rpci_seg_header(s)->sub_hwm, i);
        rpci_seg_bump_generation(s);
        return (int)i;
    }
    return rpci_fail(RPC_ENOSPC, "segment %s: all %u subscription entries are in use "
                     "(raise rpc_config_set_max_subs)", s->name, s->max_subs);
}

static void free_entry(struct rpcl_sub *e)
{
    atomic_store_explicit(&e->state, RPCL_SUB_FREE, memory_order_relaxed);
    /* Odd: "being changed".  The release fence orders it before any later
     * refill of the fields, so a reader that sees a refilled byte also sees
     * a seq other than the one it started with. */
    atomic_store_explicit(&e->seq, atomic_load_explicit(&e->seq, memory_order_relaxed) | 1u,
                          memory_order_relaxed);
    rpcp_fence(memory_order_release);
}

void rpci_sub_remove(struct rpci_seg *s, uint32_t index)
{
    if (index >= s->max_subs)
        return;
    free_entry(rpci_seg_sub(s, index));
    rpci_seg_bump_generation(s);
}

void rpci_sub_release_node(struct rpci_seg *s, uint32_t slot, uint64_t inc)
{
    int changed = 0;
    uint32_t i, limit = rpci_sub_limit(s);
    for (i = 0; i < limit; i++) {
        struct rpcl_sub *e = rpci_seg_sub(s, i);
        if (atomic_load_explicit(&e->state, memory_order_acquire) == RPCL_SUB_ACTIVE &&
            RPCL_LOAD(e->node_slot) == slot && RPCL_LOAD(e->node_incarnation) == inc) {
            free_entry(e);
            changed = 1;
        }
    }
    if (changed)
        rpci_seg_bump_generation(s);
}

unsigned rpci_sub_match(const struct rpci_seg *s, const char *group, const char *topic,
                        struct rpci_target *out, unsigned cap)
{
    unsigned n = 0;
    uint32_t i, limit = rpci_sub_limit(s);
    for (i = 0; i < limit; i++) {
        const struct rpcl_sub *e = rpci_seg_sub(s, i);
        struct rpci_target t;
        char g[RPCL_NAME_SIZE], tp[RPCL_NAME_SIZE];
        uint32_t seq;
        int same;
        /* Acquire: pairs with the release of ACTIVE in rpci_sub_add. */
        if (atomic_load_explicit(&e->state, memory_order_acquire) != RPCL_SUB_ACTIVE)
            continue;
        /* Acquire: pairs with the release of the even seq in rpci_sub_add. */
        seq = atomic_load_explicit(&e->seq, memory_order_acquire);
        if (seq & 1u)
            continue;   /* being freed or refilled */
        rpcl_name_load(tp, e->topic);
        rpcl_name_load(g, e->group);
        same = RPCL_LOAD(e->kind) == RPCL_KIND_SUB && strcmp(tp, topic) == 0 &&
               strcmp(g, group) == 0;
        t.node_slot = RPCL_LOAD(e->node_slot);
        t.node_inc = RPCL_LOAD(e->node_incarnation);
        rpcp_fence(memory_order_acquire);
        if (!same || seq != atomic_load_explicit(&e->seq, memory_order_relaxed) ||
            t.node_slot >= s->max_nodes)
            continue;
        t.sub_index = i;
        t.sub_seq = seq;
        if (n < cap)
            out[n] = t;
        n++;
    }
    return n;
}
