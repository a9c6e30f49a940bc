/**
 * @file
 * @brief Looking at and cleaning up a domain from outside.
 *
 * @defgroup domain Domain queries and clean-up
 * @brief Counting and listing a domain's nodes and topics, and removing an
 * orphaned segment, without joining.
 *
 * These functions open the segment read-only or briefly, take no membership,
 * and so never keep a segment alive nor stop the last node from removing it.
 * They are what the seed calls the static clean-up tools: count the active
 * nodes, list them, and remove orphaned memory.  All are thread-safe.
 *
 * Declared in librpc/domain.h.
 */
#ifndef LIBRPC_DOMAIN_H
#define LIBRPC_DOMAIN_H

#include <stdint.h>
#include <sys/types.h>
#include "config.h"
#include "node.h"
#include "pubsub.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @addtogroup domain
 * @{ */

/**
 * Counts the live nodes in the domain (nodes whose
 * process still holds them; dead ones not yet reclaimed are not counted).
 * When the calling process has nodes in the domain itself, the answer comes
 * from its own attachment (lock tests only, well under a microsecond);
 * otherwise the node table is read from the segment file.
 * @param cfg  names the domain; NULL for the defaults.
 * @return the count (>= 0), or a negative error code.
 * @par Errors
 * RPC_ENOENT when no segment exists, or a segment
 * error (RPC_EBADMAGIC, RPC_EVERSION, RPC_EOWNER, RPC_EACCES, ...).
 * @par Thread-safety
 * Safe from any thread.
 */
int rpc_domain_active_nodes(const rpc_config *cfg);

/* Flags for rpc_domain_cleanup(). */
/** rpc_domain_cleanup() flag: remove the segment whatever its state (dangerous). */
#define RPC_CLEANUP_FORCE 1u

/**
 * Removes the domain's segment if it is orphaned: no
 * live process is attached.  Safe to run at any time, e.g. from cron: it
 * never removes a segment a live process uses, and a process joining at the
 * same moment either joins before (clean-up then refuses) or after (it then
 * creates a fresh segment).  A half-initialised segment of ours with nobody
 * attached counts as orphaned.
 *
 * With RPC_CLEANUP_FORCE the segment is unlinked whatever its state or
 * contents.  DANGEROUS: live processes keep working in the unlinked copy
 * while newcomers create a new one, so the domain splits in two.
 *
 * @param cfg    names the domain; NULL for the defaults.
 * @param flags  0, or RPC_CLEANUP_FORCE.
 * @return 0 when the segment was removed, or a negative error code.
 * @par Errors
 * RPC_ENOENT (nothing to
 * remove), RPC_EBUSY (live processes attached), RPC_EBADMAGIC (not a librpc
 * segment; only FORCE removes it), RPC_EOWNER, RPC_EACCES, RPC_ENOTREG,
 * RPC_ETIMEDOUT (the life-cycle lock stayed held), RPC_ESYS.
 * @par Thread-safety
 * Safe from any thread.
 */
int rpc_domain_cleanup(const rpc_config *cfg, unsigned flags);

/** What rpc_domain_stat() reports about a segment. */
typedef struct rpc_domain_info {
    int exists;               /**< 0: no segment; the other fields are zero */
    uint64_t size;            /**< file size in bytes */
    unsigned mode;            /**< permission bits */
    uid_t uid;                /**< owner */
    gid_t gid;                /**< group */
    int valid;                /**< 1: a librpc segment of this layout version */
    int status;               /**< 0 when valid, else the RPC_E* code that describes it */
    int attached;             /**< 1: at least one live process holds membership */
    int orphaned;             /**< exists, and no live process is attached */
    unsigned live_processes;  /**< processes with at least one live node */
    unsigned live_nodes;      /**< nodes whose process is alive */
    unsigned registered_nodes;/**< occupied slots, dead or alive (num_nodes) */
    unsigned max_nodes;       /**< node-table size */
    unsigned max_subs;        /**< subscription-table size */
    uint64_t max_msg_size;    /**< largest payload publishers may send */
    uint64_t queue_size;      /**< bytes per (publisher, subscriber) queue */
    unsigned queues_total;    /**< queues the segment has room for */
    unsigned queues_used;     /**< queues allocated now */
    uint32_t layout_version;  /**< layout version the segment was made with */
    uint64_t segment_id;      /**< random id given at initialisation */
    int64_t created_unix_ns;  /**< wall-clock time of initialisation */
} rpc_domain_info;

/**
 * Describes the domain's segment.  Succeeds (0) whenever
 * the name can be examined, also for a missing (exists = 0) or invalid
 * (valid = 0, status = the reason) segment.
 * @param cfg        names the domain; NULL for the defaults.
 * @param[out] info  receives the description.
 * @return 0, or a negative error code.
 * @par Errors
 * RPC_EINVAL, RPC_EBADNAME, RPC_EACCES (cannot be read), RPC_ENOTREG,
 * RPC_ESYS.
 * @par Thread-safety
 * Safe from any thread.
 */
int rpc_domain_stat(const rpc_config *cfg, rpc_domain_info *info);

/** One node as rpc_domain_list_nodes() reports it. */
typedef struct rpc_node_info {
    char name[RPC_NODE_NAME_MAX + 1]; /**< the node's name */
    int32_t pid;              /**< pid in the creator's PID namespace: informative only */
    uint32_t slot;            /**< index in the node table */
    int alive;                /**< 1: its process holds it; 0: dead, awaiting reclaim */
    uint64_t owner_id;        /**< random id of the owning process's attachment */
    int64_t joined_unix_ns;   /**< wall-clock time the node joined */
    rpc_node_stats stats;     /**< message counters, see pubsub.h */
} rpc_node_info;

/**
 * Copies up to cap registered nodes into out (which
 * may be NULL when cap is 0), in slot order.
 * @param cfg       names the domain; NULL for the defaults.
 * @param[out] out  receives up to cap entries.
 * @param cap       the number of entries out has room for.
 * @return the number of registered nodes, which may exceed cap, or a
 * negative error code.
 * @par Errors
 * RPC_EINVAL, RPC_ENOENT, and segment errors as for
 * rpc_domain_active_nodes().
 * @par Thread-safety
 * Safe from any thread.
 */
int rpc_domain_list_nodes(const rpc_config *cfg, rpc_node_info *out, unsigned cap);

/** One (node, topic) pair: a subscription, or a topic the node has
 * published on (recorded at its first rpc_publish of that topic). */
typedef struct rpc_endpoint_info {
    char group[RPC_TOPIC_NAME_MAX + 1]; /**< group name */
    char topic[RPC_TOPIC_NAME_MAX + 1]; /**< topic name */
    char node[RPC_NODE_NAME_MAX + 1]; /**< the node's name */
    uint32_t slot;            /**< the node's slot */
    int publisher;            /**< 1: publishes the topic; 0: subscribes to it */
} rpc_endpoint_info;

/**
 * Copies up to cap endpoints (publishers and
 * subscribers of every topic) into out, in table order.
 * @param cfg       names the domain; NULL for the defaults.
 * @param[out] out  receives up to cap entries.
 * @param cap       the number of entries out has room for.
 * @return the number of endpoints, which may exceed cap, or a negative
 * error code.
 * @par Errors
 * RPC_EINVAL, RPC_ENOENT, and segment errors as for
 * rpc_domain_active_nodes().
 * @par Thread-safety
 * Safe from any thread.
 */
int rpc_domain_list_endpoints(const rpc_config *cfg, rpc_endpoint_info *out, unsigned cap);

/**
 * Blocks, at no CPU cost, until the domain's
 * segment has no live process attached (all left or died).  It then returns 0:
 * the caller may then run rpc_domain_cleanup(), which re-checks under the
 * life-cycle lock (a process may join in between; cleanup then refuses).
 * The wait is a blocking byte-range lock request the kernel grants when the
 * last member is gone; it is never granted while anyone is attached.
 * @param cfg  names the domain; NULL for the defaults.
 * @return 0 once orphaned, or a negative error code.
 * @par Errors
 * RPC_ENOENT if there is no segment or it was removed (by its last
 * node) while we waited: wait for a new one to appear, then call again.
 * RPC_EINTR if a signal handler installed without SA_RESTART ran in this
 * thread meanwhile: that is how to end or bound the wait (e.g. a
 * timer signal, or pthread_kill() from another thread); with SA_RESTART
 * the wait goes on.
 * RPC_EINVAL, RPC_EBADNAME, RPC_EACCES, RPC_ENOTREG, RPC_EOWNER,
 * RPC_ESYS.
 * @par Thread-safety
 * Safe; blocks the calling thread.
 */
int rpc_domain_wait_orphaned(const rpc_config *cfg);

/** @} */

#ifdef __cplusplus
}
#endif
#endif
