/**
 * @file
 * @brief Nodes: the endpoints of a domain.
 *
 * @defgroup nodes Nodes
 * @brief Creating and destroying the named members of a domain.
 *
 * A node is a named member of a domain.  Creating the first node of a domain
 * in a process attaches the process to the domain's segment (creating it if
 * absent, repairing it if it was orphaned); destroying the last one detaches
 * and, if no other process is attached, removes the segment.  A process may
 * own any number of nodes, in one or several domains.
 *
 * Liveness comes from kernel-held locks, so a node whose process dies by
 * SIGKILL is noticed by the other processes of the domain at once and its
 * slot reclaimed within about a millisecond (about 100 ms where Linux
 * pidfds are missing); no PID is trusted.
 *
 * After fork() the child owns none of its parent's nodes: calls on them in
 * the child fail with RPC_EFORKED, and rpc_node_destroy() there only frees
 * the child's memory.  The parent's nodes stay the parent's.
 *
 * Declared in librpc/node.h.
 */
#ifndef LIBRPC_NODE_H
#define LIBRPC_NODE_H

#include <stdint.h>
#include "config.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @addtogroup nodes
 * @{ */

/** Longest node name in bytes, without the terminating NUL. */
#define RPC_NODE_NAME_MAX 63

/** Opaque node handle; made by rpc_node_create(), freed by rpc_node_destroy(). */
typedef struct rpc_node rpc_node;

/**
 * Creates a node in the domain that cfg (NULL: defaults)
 * names.  The first node of a process in a domain attaches the process to
 * the segment, creating it if absent and re-initialising it if orphaned.
 * @param cfg   the configuration (copied), or NULL for the defaults.
 * @param name  1..63 printable non-space ASCII bytes, unique among the live
 *              nodes of the domain; NULL picks a unique one
 *              (`node-<pid>-<n>`).
 * @param[out] out  receives the node; set to NULL on failure.
 * @return 0, or a negative error code.
 * @par Errors
 * RPC_EINVAL, RPC_EBADNODENAME, RPC_EEXIST (name taken by a live
 * node), RPC_EFULL, RPC_ENOMEM, and every segment error: RPC_EOWNER,
 * RPC_EACCES, RPC_ENOTREG, RPC_EBADMAGIC, RPC_EVERSION, RPC_ESIZE,
 * RPC_ETRUNCATED, RPC_EUNINIT, RPC_ECORRUPT, RPC_ETIMEDOUT, RPC_ESYS.
 * rpc_errdetail() then names the segment and what was wrong.
 * @par Thread-safety
 * Safe from any thread.
 */
int rpc_node_create(const rpc_config *cfg, const char *name, rpc_node **out);

/**
 * Removes the node from its domain and frees it.  If it was
 * the last node of the last process, the segment is unlinked.  NULL is a
 * no-op returning 0.  In a forked child it only frees memory (returns 0).
 * @param node  the node, or NULL.
 * @return 0, or a negative error code.
 * @par Errors
 * RPC_EINVAL when called from one of the node's own callbacks
 * (nothing is done); RPC_ETIMEDOUT when the life-cycle lock stayed held by another
 * process for 10 s (the node is freed anyway, its node lock released, and
 * the other processes reclaim its slot).
 * @par Thread-safety
 * Safe from any thread, but not concurrently with other
 * calls on the same node.
 */
int rpc_node_destroy(rpc_node *node);

/**
 * The node's name.
 * @param node  the node.
 * @return the name, valid until rpc_node_destroy(); NULL for NULL.
 * @par Errors
 * None.
 * @par Thread-safety
 * Safe from any thread.
 */
const char *rpc_node_name(const rpc_node *node);

/**
 * The segment name of the node's domain.
 * @param node  the node.
 * @return the segment name, valid until rpc_node_destroy(); NULL for NULL.
 * @par Errors
 * None.
 * @par Thread-safety
 * Safe from any thread.
 */
const char *rpc_node_shm_name(const rpc_node *node);

/**
 * The random 64-bit id the segment was given when it
 * was (re)initialised.  Two nodes with the same id share one segment.
 * @param node  the node.
 * @return the id; 0 for NULL.
 * @par Errors
 * None.
 * @par Thread-safety
 * Safe from any thread.
 */
uint64_t rpc_node_segment_id(const rpc_node *node);

/** @} */

#ifdef __cplusplus
}
#endif
#endif
