/*
 * node.c - the public node handle.
 *
 * A handle is private memory of the process that created it: it records the
 * attachment and slot of its node.  All shared state goes through attach.c.
 */
#include "attach.h"
#include "platform/platform.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rpc_node {
    struct rpci_attach *att;
    uint32_t slot;
    uint64_t incarnation;
    char name[RPC_NODE_NAME_MAX + 1];
};

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

int rpc_node_create(const rpc_config *config, const char *name, rpc_node **out)
{
    struct rpc_config cfg;
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
    if ((rc = rpci_config_resolve(config, &cfg)) != 0)
        return rc;
    if ((n = calloc(1, sizeof *n)) == NULL)
        return rpci_fail(RPC_ENOMEM, "rpc_node_create: out of memory");
    if (name != NULL) {
        strcpy(n->name, name);
        rc = rpci_attach_add_node(&cfg, n->name, &n->att, &n->slot, &n->incarnation);
    } else {
        rc = add_auto_named(&cfg, n);
    }
    if (rc != 0) {
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
