/*
 * node.c - the public node handle: create, destroy, identity.
 *
 * A handle is private memory of the process that created it.  Shared state
 * goes through attach.c (membership, slots) and pubsub.c (messages).
 */
#include "node_impl.h"
#include "platform/platform.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Auto names can collide across PID namespaces; retry with random ones. */
static int add_auto_named(const struct rpc_config *cfg, struct rpc_node *n)
{
    int attempt, rc = RPC_EEXIST;
    for (attempt = 0; attempt < 8 && rc == RPC_EEXIST; attempt++) {
        if (attempt == 0)
            rpci_attach_auto_name(n->name);
        else
            snprintf(n->name, sizeof n->name, "node-%016llx",
                     (unsigned long long)rpcp_random64());
        rc = rpci_attach_add_node(cfg, n->name, &n->att, &n->slot, &n->incarnation);
    }
    return rc;
}

static int register_node(const struct rpc_config *cfg, const char *name, struct rpc_node *n)
{
    if (name == NULL)
        return add_auto_named(cfg, n);
    strcpy(n->name, name);
    return rpci_attach_add_node(cfg, n->name, &n->att, &n->slot, &n->incarnation);
}

int rpc_node_create(const rpc_config *cfg, const char *name, rpc_node **out)
{
    struct rpc_config c;
    struct rpc_node *n;
    int rc;
    rpci_clear_detail();
    if (out == NULL)
        return rpci_fail(RPC_EINVAL, "rpc_node_create: out is NULL");
    *out = NULL;
    if (name != NULL && !rpci_valid_node_name(name))
        return rpci_fail(RPC_EBADNODENAME,
                         "node name \"%.80s\": need 1-63 printable characters, no spaces",
                         name);
    if ((rc = rpci_config_resolve(cfg, &c)) != 0)
        return rc;
    if ((n = calloc(1, sizeof *n)) == NULL)
        return rpci_fail(RPC_ENOMEM, "rpc_node_create: out of memory");
    n->receive_mode = c.receive_mode;
    n->spin_us = c.spin_us;
    if ((rc = register_node(&c, name, n)) != 0) {
        free(n);
        return rc;
    }
    if ((rc = rpci_node_data_init(n)) != 0) {
        rpci_node_data_free(n);
        rpci_attach_remove_node(n->att, n->slot);
        free(n);
        return rc;
    }
    *out = n;
    return 0;
}

int rpc_node_destroy(rpc_node *node)
{
    int rc;
    rpci_clear_detail();
    if (node == NULL)
        return 0;
    if (node->thread_started && pthread_equal(pthread_self(), node->thread))
        return rpci_fail(RPC_EINVAL, "node %s: cannot be destroyed from its own callback",
                         node->name);
    if (node->thread_started && !node->att->forked) {
        atomic_store_explicit(&node->stop, 1, memory_order_relaxed);
        rpci_node_wake(node);
        pthread_join(node->thread, NULL);
    }
    /* Local state first: the attachment may be freed with its last node. */
    rpci_node_data_free(node);
    rc = rpci_attach_remove_node(node->att, node->slot);
    free(node);
    return rc;
}

const char *rpc_node_name(const rpc_node *node)
{
    return node != NULL ? node->name : NULL;
}

const char *rpc_node_shm_name(const rpc_node *node)
{
    return node != NULL ? node->att->cfg.shm_name : NULL;
}

uint64_t rpc_node_segment_id(const rpc_node *node)
{
    return node != NULL ? node->att->seg.segment_id : 0;
}

int rpc_node_get_stats(const rpc_node *node, rpc_node_stats *out)
{
    const struct rpcl_node *s;
    rpci_clear_detail();
    if (node == NULL || out == NULL)
        return rpci_fail(RPC_EINVAL, "rpc_node_get_stats: NULL argument");
    if (node->att->forked)
        return rpci_fail(RPC_EFORKED, "node %s was inherited through fork()", node->name);
    s = rpci_node_shm(node);
    out->published = atomic_load_explicit(&s->published, memory_order_relaxed);
    out->delivered = atomic_load_explicit(&s->delivered, memory_order_relaxed);
    out->dropped = atomic_load_explicit(&s->dropped, memory_order_relaxed);
    out->received = atomic_load_explicit(&s->received, memory_order_relaxed);
    out->bytes_out = atomic_load_explicit(&s->bytes_out, memory_order_relaxed);
    out->bytes_in = atomic_load_explicit(&s->bytes_in, memory_order_relaxed);
    return 0;
}
