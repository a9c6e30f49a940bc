/*
 * basic_node.c - the smallest librpc program: join the domain with one
 * node, count the nodes, leave.  The first node creates the shared-memory
 * segment; destroying the last one removes it again.
 */
#include <librpc/librpc.h>
#include <stdio.h>

int main(void)
{
    rpc_node *node;
    /* NULL configuration: segment "/librpc_shm", or $LIBRPC_SHM_NAME. */
    int rc = rpc_node_create(NULL, "my_node", &node);
    if (rc != 0) {
        fprintf(stderr, "rpc_node_create: %s (%s)\n", rpc_strerror(rc), rpc_errdetail());
        return 1;
    }
    printf("node %s joined %s; active nodes: %d\n", rpc_node_name(node),
           rpc_node_shm_name(node), rpc_domain_active_nodes(NULL));

    if ((rc = rpc_node_destroy(node)) != 0) {   /* the last node out unlinks */
        fprintf(stderr, "rpc_node_destroy: %s\n", rpc_strerror(rc));
        return 1;
    }
    rc = rpc_domain_active_nodes(NULL);   /* RPC_ENOENT: no segment any more */
    if (rc == RPC_ENOENT)
        printf("node destroyed; the segment is gone\n");
    else if (rc >= 0)
        printf("node destroyed; %d node(s) of other processes remain\n", rc);
    else
        fprintf(stderr, "rpc_domain_active_nodes: %s\n", rpc_strerror(rc));
    return rc == RPC_ENOENT || rc >= 0 ? 0 : 1;
}
