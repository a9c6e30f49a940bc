/*
 * librpc/events.h - being told when nodes join and leave the domain.
 */
#ifndef LIBRPC_EVENTS_H
#define LIBRPC_EVENTS_H

#include <stdint.h>
#include "node.h"

#ifdef __cplusplus
extern "C" {
#endif

enum rpc_event_kind {
    RPC_EVENT_NODE_JOINED = 1,  /* a node was created */
    RPC_EVENT_NODE_LEFT = 2,    /* a node was destroyed cleanly */
    RPC_EVENT_NODE_DIED = 3,    /* a node's process died; its slot was reclaimed */
    RPC_EVENT_NODE_GONE = 4     /* a node left, and its slot was reused before we
                                   could tell how */
};

typedef struct rpc_node_event {
    int kind;                   /* enum rpc_event_kind */
    const char *name;           /* the other node's name */
    int32_t pid;                /* its pid when it joined (informative) */
    uint32_t slot;
} rpc_node_event;

typedef void (*rpc_event_cb)(rpc_node *node, const rpc_node_event *ev, void *user);

/*
 * rpc_node_set_event_cb - call cb for every other node that joins or leaves
 * the domain from now on (nodes present at this call produce no event).
 * Events run where the node's message callbacks run: on its receive thread,
 * or inside rpc_node_poll() for RPC_RECEIVE_MANUAL nodes.  A dead node is
 * reported once a survivor has reclaimed it (about 100 ms after the death).
 * cb NULL stops the events.
 * Errors: RPC_EINVAL (NULL node), RPC_ENOMEM, RPC_EFORKED.
 * Thread-safety: safe from any thread, including callbacks.
 */
int rpc_node_set_event_cb(rpc_node *node, rpc_event_cb cb, void *user);

#ifdef __cplusplus
}
#endif
#endif
