/*
 * registry.c - the node table: who is in the domain, and who died.
 *
 * Invariants (with layout.h):
 * - A slot turns ALIVE only after its node lock (byte 2 + slot) is held by
 *   the owning process, and turns FREE only under the life-cycle lock, so a
 *   sweeper holding the life-cycle lock sees each ALIVE slot either locked
 *   (alive) or unlocked (its process is gone).
 * - num_nodes equals the number of non-FREE slots whenever the life-cycle
 *   lock is free.
 * - Names of ALIVE slots are unique; the check runs under the life-cycle
 *   lock after a sweep, so a dead node's name can be taken again at once.
 */
#include "registry.h"
#include "platform/platform.h"
#include "ring.h"
#include "subs.h"

#include <stddef.h>
#include <string.h>
#include <unistd.h>

void rpci_reg_copy_name(const struct rpcl_node *n, char out[RPC_NODE_NAME_MAX + 1])
{
    rpcl_name_load(out, n->name);
}

static int slot_used(const struct rpci_seg *s, uint32_t i)
{
    return atomic_load_explicit(&rpci_seg_node(s, i)->state, memory_order_acquire) !=
           RPCL_NODE_FREE;
}

/* Membership changed: bump the generation and wake whoever sleeps on it
 * (the sweepers' membership threads, peerwatch.c), and wake the receivers
 * that watch for node events so they report it now rather than at their
 * next message. */
static void bump_generation(struct rpci_seg *s)
{
    uint32_t i;
    rpci_seg_bump_generation(s);
    rpcp_wake_word(&rpci_seg_header(s)->generation);
    for (i = 0; i < s->max_nodes; i++) {
        struct rpcl_node *n = rpci_seg_node(s, i);
        if (atomic_load_explicit(&n->state, memory_order_relaxed) == RPCL_NODE_ALIVE &&
            atomic_load_explicit(&n->wants_events, memory_order_relaxed)) {
            atomic_fetch_add_explicit(&n->wake_seq, 1, memory_order_release);
            rpcp_wake_word(&n->wake_seq);
        }
    }
}

int rpci_reg_add(struct rpci_seg *s, uint64_t owner_id, const char *name, uint64_t *incarnation)
{
    struct rpcl_header *h = rpci_seg_header(s);
    int free_idx = -1;
    uint32_t i;
    for (i = 0; i < s->max_nodes; i++) {
        char other[RPC_NODE_NAME_MAX + 1];
        if (!slot_used(s, i)) {
            if (free_idx < 0)
                free_idx = (int)i;
            continue;
        }
        rpci_reg_copy_name(rpci_seg_node(s, i), other);
        if (strcmp(other, name) == 0)
            return rpci_fail(RPC_EEXIST, "segment %s: node \"%s\" already exists (slot %u)",
                             s->name, name, i);
    }
    if (free_idx < 0)
        return rpci_fail(RPC_EFULL, "segment %s: all %u node slots are in use", s->name,
                         s->max_nodes);
    i = (uint32_t)free_idx;
    /* The lock first: once the slot reads ALIVE it must already be held. */
    if (rpcp_lock_try(s->fd, RPC_LOCK_NODE0 + i, RPCP_EXCLUSIVE) != 0)
        return rpci_fail(RPC_ECORRUPT, "segment %s: free slot %u is locked by another process",
                         s->name, i);
    {
        struct rpcl_node *n = rpci_seg_node(s, i);
        /* Counters and wake-up state start from zero for every node. */
        RPCL_STORE(n->sleeping, 0);
        RPCL_STORE(n->wake_asym, 0);   /* set by its owner once it knows */
        RPCL_STORE(n->published, 0);
        RPCL_STORE(n->delivered, 0);
        RPCL_STORE(n->dropped, 0);
        RPCL_STORE(n->received, 0);
        RPCL_STORE(n->bytes_out, 0);
        RPCL_STORE(n->bytes_in, 0);
        RPCL_STORE(n->wants_events, 0);
        RPCL_STORE(n->left_how, 0);
        rpcl_name_store(n->name, name);
        *incarnation = atomic_fetch_add_explicit(&h->next_incarnation, 1,
                                                 memory_order_relaxed) + 1;
        RPCL_STORE(n->pid, (uint32_t)getpid());
        RPCL_STORE(n->owner_id, owner_id);
        RPCL_STORE(n->incarnation, *incarnation);
        n->joined_unix_ns = rpcp_now_unix_ns();
        /* Release: a reader that acquires ALIVE sees the fields above. */
        atomic_store_explicit(&n->state, RPCL_NODE_ALIVE, memory_order_release);
    }
    atomic_fetch_add_explicit(&h->num_nodes, 1, memory_order_relaxed);
    bump_generation(s);
    return (int)i;
}

/* Free a slot and everything the node had in the data plane: its
 * subscriptions go, its queues are marked done in both directions and freed
 * once the other end is done too. */
static void free_slot(struct rpci_seg *s, uint32_t slot, enum rpcl_left_how how)
{
    struct rpcl_node *n = rpci_seg_node(s, slot);
    uint64_t inc = RPCL_LOAD(n->incarnation);
    rpci_sub_release_node(s, slot, inc);
    rpci_ring_release_node(s, slot, inc);
    rpci_ring_collect(s);
    RPCL_STORE(n->left_how, (uint32_t)how);   /* name, pid, incarnation stay for observers */
    atomic_store_explicit(&n->state, RPCL_NODE_FREE, memory_order_release);
    RPCL_STORE(n->owner_id, 0);
    /* Never below zero, whatever a corrupt segment says. */
    uint32_t cur = atomic_load_explicit(&rpci_seg_header(s)->num_nodes, memory_order_relaxed);
    if (cur > 0)
        atomic_store_explicit(&rpci_seg_header(s)->num_nodes, cur - 1, memory_order_relaxed);
    bump_generation(s);
}

void rpci_reg_remove(struct rpci_seg *s, uint32_t slot)
{
    if (slot >= s->max_nodes)
        return;
    free_slot(s, slot, RPCL_LEFT_CLEAN);
    (void)rpcp_lock_try(s->fd, RPC_LOCK_NODE0 + slot, RPCP_UNLOCK);
}

int rpci_reg_alive(const struct rpci_seg *s, uint32_t slot)
{
    return rpcp_lock_held_by_other(s->fd, RPC_LOCK_NODE0 + slot);
}

/* A slot not ours whose lock nobody holds: its process is gone. */
int rpci_reg_is_dead(const struct rpci_seg *s, uint32_t i, uint64_t owner_id)
{
    if (!slot_used(s, i) || RPCL_LOAD(rpci_seg_node(s, i)->owner_id) == owner_id)
        return 0;
    return rpci_reg_alive(s, i) == 0;
}

int rpci_reg_any_dead(const struct rpci_seg *s, uint64_t owner_id)
{
    uint32_t i;
    for (i = 0; i < s->max_nodes; i++)
        if (rpci_reg_is_dead(s, i, owner_id))
            return 1;
    return 0;
}

/* num_nodes is two steps away from the slot states (a process can die
 * between them), so the sweep restores it from the slots themselves. */
static void recount(struct rpci_seg *s)
{
    uint32_t i, used = 0;
    for (i = 0; i < s->max_nodes; i++)
        used += slot_used(s, i);
    atomic_store_explicit(&rpci_seg_header(s)->num_nodes, used, memory_order_relaxed);
}

int rpci_reg_sweep(struct rpci_seg *s, uint64_t owner_id)
{
    int reclaimed = 0;
    uint32_t i;
    for (i = 0; i < s->max_nodes; i++) {
        if (rpci_reg_is_dead(s, i, owner_id)) {
            free_slot(s, i, RPCL_LEFT_DEAD);
            reclaimed++;
        }
    }
    /* Queues whose live ends let go since the last sweep. */
    rpci_ring_collect(s);
    recount(s);
    return reclaimed;
}
