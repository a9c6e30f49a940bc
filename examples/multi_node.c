/*
 * multi_node.c - several nodes in one process.
 *
 * A process may own any number of nodes; they share one attachment to the
 * segment, so only the first create and the last destroy touch the
 * segment's life cycle.  Names are unique within the whole domain: a second
 * node with a taken name gets RPC_EEXIST.  Pass NULL as the name to get a
 * generated unique one.
 */
#include <librpc/librpc.h>
#include <stdio.h>

#define NNODES 4

int main(void)
{
    const char *names[NNODES] = { "camera", "planner", "logger", NULL /* auto */ };
    rpc_node *nodes[NNODES] = { NULL }, *dup;
    int i, rc, bad = 0;

    for (i = 0; i < NNODES; i++) {
        if ((rc = rpc_node_create(NULL, names[i], &nodes[i])) != 0) {
            fprintf(stderr, "rpc_node_create: %s (%s)\n", rpc_strerror(rc), rpc_errdetail());
            bad = 1;
            goto out;
        }
        printf("created %-16s active nodes: %d\n", rpc_node_name(nodes[i]),
               rpc_domain_active_nodes(NULL));
    }
    /* All nodes of a process share one segment, hence one segment id. */
    for (i = 1; i < NNODES; i++)
        if (rpc_node_segment_id(nodes[i]) != rpc_node_segment_id(nodes[0]))
            bad = 1;
    printf("one segment for all: %s\n", bad ? "no" : "yes");

    rc = rpc_node_create(NULL, "camera", &dup);   /* name taken */
    printf("a second \"camera\": %s\n", rpc_strerror(rc));
    if (rc != RPC_EEXIST)
        bad = 1;
    if (rc == 0)
        rpc_node_destroy(dup);
out:
    /* Any order; the last destroy of the last process removes the segment. */
    for (i = NNODES - 1; i >= 0; i--)
        if (nodes[i] != NULL && rpc_node_destroy(nodes[i]) != 0)
            bad = 1;
    rc = rpc_domain_active_nodes(NULL);
    printf("all destroyed; segment %s\n", rc == RPC_ENOENT ? "removed" : "still in use");
    return bad;
}
