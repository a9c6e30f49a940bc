/**
 * @file
 * @brief Being told when nodes join and leave the domain.
 *
 * @defgroup events Node events
 * @brief Other nodes joining, leaving and dying.
 *
 * Declared in librpc/events.h.
 */
#ifndef LIBRPC_EVENTS_H
#define LIBRPC_EVENTS_H

#include <stdint.h>
#include "node.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @addtogroup events
 * @{ */

/** What happened to another node (rpc_node_event.kind). */
enum rpc_event_kind {
    RPC_EVENT_NODE_JOINED = 1,  /**< a node was created */
    RPC_EVENT_NODE_LEFT = 2,    /**< a node was destroyed cleanly */
    RPC_EVENT_NODE_DIED = 3,    /**< a node's process died; its slot was reclaimed */
    RPC_EVENT_NODE_GONE = 4     /**< a node left, and its slot was reused before we
                                   could tell how */
};

/** An event about another node, as an rpc_event_cb sees it. */
typedef struct rpc_node_event {
    int kind;                   /**< enum rpc_event_kind */
    const char *name;           /**< the other node's name */
    int32_t pid;                /**< its pid when it joined (informative) */
    uint32_t slot;              /**< its slot in the node table */
} rpc_node_event;

/**
 * An event callback (rpc_node_set_event_cb()).
 * @param node  the node that registered the callback.
 * @param ev    the event; valid during the call only.
 * @param user  the pointer given to rpc_node_set_event_cb().
 */
typedef void (*rpc_event_cb)(rpc_node *node, const rpc_node_event *ev, void *user);

/**
 * Calls cb for every other node that joins or leaves
 * the domain from now on (nodes present at this call produce no event).
 * Events run where the node's message callbacks run: on its receive thread,
 * or inside rpc_node_poll() for RPC_RECEIVE_MANUAL nodes.  A dead node is
 * reported once a survivor has reclaimed it (about a millisecond after the
 * death on Linux with pidfds, else within about 100 ms).
 * @param node  the node whose callbacks report the events.
 * @param cb    the callback; NULL stops the events.
 * @param user  passed to cb as it is.
 * @return 0, or a negative error code.
 * @par Errors
 * RPC_EINVAL (NULL node), RPC_ENOMEM, RPC_EFORKED.
 * @par Thread-safety
 * Safe from any thread, including callbacks.
 */
int rpc_node_set_event_cb(rpc_node *node, rpc_event_cb cb, void *user);

/** @} */

#ifdef __cplusplus
}
#endif
#endif
