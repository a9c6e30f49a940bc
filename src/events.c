/*
 * events.c - node joined / left / died notifications.
 *
 * Each watching node keeps a snapshot of the node table (incarnation, name
 * and pid per slot).  When the segment's generation moves, the receiving
 * thread compares the table with the snapshot: a new incarnation in a slot
 * is a join; an incarnation that disappeared is a departure, whose kind the
 * slot still records (left_how) unless the slot was reused meanwhile.
 * Writers of the table wake watchers (wants_events) so this runs promptly.
 */
#include "node_impl.h"

#include <stdlib.h>
#include <string.h>

#include "registry.h"

static int snapshot(struct rpc_node *n)
{
    const struct rpci_seg *s = &n->att->seg;
    uint32_t i;
    if (n->ev_incarnation == NULL) {
        n->ev_incarnation = calloc(s->max_nodes, sizeof *n->ev_incarnation);
        n->ev_name = calloc(s->max_nodes, sizeof *n->ev_name);
        n->ev_pid = calloc(s->max_nodes, sizeof *n->ev_pid);
        if (n->ev_incarnation == NULL || n->ev_name == NULL || n->ev_pid == NULL) {
            rpci_events_free(n);
            return rpci_fail(RPC_ENOMEM, "rpc_node_set_event_cb: out of memory");
        }
    }
    n->event_generation = atomic_load_explicit(&rpci_seg_header(s)->generation,
                                               memory_order_acquire);
    for (i = 0; i < s->max_nodes; i++) {
        const struct rpcl_node *e = rpci_seg_node(s, i);
        int alive = atomic_load_explicit(&e->state, memory_order_acquire) == RPCL_NODE_ALIVE;
        n->ev_incarnation[i] = alive ? RPCL_LOAD(e->incarnation) : 0;
        rpci_reg_copy_name(e, n->ev_name[i]);
        n->ev_pid[i] = (int32_t)RPCL_LOAD(e->pid);
    }
    return 0;
}

int rpc_node_set_event_cb(rpc_node *n, rpc_event_cb cb, void *user)
{
    int rc = 0;
    rpci_clear_detail();
    if (n == NULL)
        return rpci_fail(RPC_EINVAL, "rpc_node_set_event_cb: node is NULL");
    if (n->att->forked)
        return rpci_fail(RPC_EFORKED, "node %s was inherited through fork()", n->name);
    if (cb != NULL && (rc = rpci_node_ensure_receiver(n)) != 0)
        return rc;
    pthread_mutex_lock(&n->sub_mu);
    if (cb != NULL && n->event_cb == NULL)
        rc = snapshot(n);
    if (rc == 0) {
        n->event_cb = cb;
        n->event_user = user;
        atomic_store_explicit(&rpci_node_shm(n)->wants_events, cb != NULL,
                              memory_order_relaxed);
    }
    pthread_mutex_unlock(&n->sub_mu);
    return rc;
}

static void emit(struct rpc_node *n, int kind, uint32_t slot)
{
    rpc_node_event ev;
    ev.kind = kind;
    ev.name = n->ev_name[slot];
    ev.pid = n->ev_pid[slot];
    ev.slot = slot;
    n->event_cb(n, &ev, n->event_user);
}

static int departure_kind(const struct rpcl_node *e, uint64_t seen_inc)
{
    if (atomic_load_explicit(&e->state, memory_order_acquire) != RPCL_NODE_FREE ||
        RPCL_LOAD(e->incarnation) != seen_inc)
        return RPC_EVENT_NODE_GONE;
    return RPCL_LOAD(e->left_how) == RPCL_LEFT_DEAD ? RPC_EVENT_NODE_DIED : RPC_EVENT_NODE_LEFT;
}

void rpci_events_check(struct rpc_node *n)
{
    const struct rpci_seg *s = &n->att->seg;
    uint32_t gen, i;
    if (n->event_cb == NULL)
        return;
    /* Acquire: pairs with the release bump of every node-table change. */
    gen = atomic_load_explicit(&rpci_seg_header(s)->generation, memory_order_acquire);
    if (gen == n->event_generation)
        return;
    n->event_generation = gen;
    for (i = 0; i < s->max_nodes && n->event_cb != NULL; i++) {
        const struct rpcl_node *e = rpci_seg_node(s, i);
        int alive = atomic_load_explicit(&e->state, memory_order_acquire) == RPCL_NODE_ALIVE;
        uint64_t cur = alive ? RPCL_LOAD(e->incarnation) : 0;
        if (i == n->slot || cur == n->ev_incarnation[i])
            continue;
        if (n->ev_incarnation[i] != 0)
            emit(n, departure_kind(e, n->ev_incarnation[i]), i);
        n->ev_incarnation[i] = cur;
        if (cur != 0 && n->event_cb != NULL) {
            rpci_reg_copy_name(e, n->ev_name[i]);
            n->ev_pid[i] = (int32_t)RPCL_LOAD(e->pid);
            emit(n, RPC_EVENT_NODE_JOINED, i);
        }
    }
}

void rpci_events_free(struct rpc_node *n)
{
    free(n->ev_incarnation);
    free(n->ev_name);
    free(n->ev_pid);
    n->ev_incarnation = NULL;
    n->ev_name = NULL;
    n->ev_pid = NULL;
}
