/**
 * @file
 * @brief How a node finds and shapes its domain.
 *
 * @defgroup config Configuration
 * @brief Which segment a node uses, and how a segment this process creates
 * is shaped.
 *
 * A configuration names the shared-memory segment of a domain and the shape
 * that segment gets if this process is the one to create it.  Every function
 * that takes a `const rpc_config *` accepts NULL for the defaults:
 *
 * | setting       | default                                          |
 * |---------------|--------------------------------------------------|
 * | segment name  | "/librpc_shm", or $LIBRPC_SHM_NAME when set      |
 * | segment size  | 32 MiB                                           |
 * | access mode   | 0600 (applied whatever the umask)                |
 * | max nodes     | 64                                               |
 * | foreign owner | refused                                          |
 * | max message   | 64 KiB payload                                   |
 * | queue size    | 256 KiB per (publisher, subscriber) pair         |
 * | max subs      | 4096 subscriptions in the domain                 |
 * | receive mode  | RPC_RECEIVE_THREAD, spinning 50 us before sleeping |
 *
 * Setters validate at once and leave the configuration unchanged on error.
 * Thread-safety: a configuration may be read by many threads at once (it is
 * copied when a node is created) but must not be changed while it is used.
 *
 * Declared in librpc/config.h.
 */
#ifndef LIBRPC_CONFIG_H
#define LIBRPC_CONFIG_H

#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @addtogroup config
 * @{ */

/** Segment name used when neither the configuration nor $LIBRPC_SHM_NAME names one. */
#define RPC_DEFAULT_SHM_NAME "/librpc_shm"
/** Size in bytes of a segment this process creates, by default (32 MiB). */
#define RPC_DEFAULT_SHM_SIZE ((size_t)32 << 20)
/** Permission bits of a segment this process creates, by default. */
#define RPC_DEFAULT_MODE 0600u
/** Node-table size of a segment this process creates, by default. */
#define RPC_DEFAULT_MAX_NODES 64u
/** Largest node-table size rpc_config_set_max_nodes() accepts. */
#define RPC_MAX_NODES_LIMIT 1024u
/** Longest segment name, counting the leading '/'. */
#define RPC_SHM_NAME_MAX 255
/** Environment variable that overrides the default segment name. */
#define RPC_ENV_SHM_NAME "LIBRPC_SHM_NAME"
/** Largest payload in bytes, by default (64 KiB). */
#define RPC_DEFAULT_MAX_MSG_SIZE ((size_t)64 << 10)
/** Bytes of each (publisher, subscriber) queue, by default (256 KiB). */
#define RPC_DEFAULT_QUEUE_SIZE ((size_t)256 << 10)
/** Subscription-table size of a segment this process creates, by default. */
#define RPC_DEFAULT_MAX_SUBS 4096u
/** Microseconds an idle receiver polls before it sleeps, by default. */
#define RPC_DEFAULT_SPIN_US 50

/** How a node's callbacks are run (rpc_config_set_receive_mode). */
enum rpc_receive_mode {
    RPC_RECEIVE_THREAD = 0,  /**< a thread of the library's calls them */
    RPC_RECEIVE_MANUAL = 1   /**< the caller calls rpc_node_poll() */
};

/** Opaque configuration; made by rpc_config_create(), freed by rpc_config_destroy(). */
typedef struct rpc_config rpc_config;

/**
 * Allocates a configuration holding the defaults above.
 * If $LIBRPC_SHM_NAME is set it becomes the segment name.
 * @param[out] out  receives the configuration; set to NULL on failure.
 * @return 0, or a negative error code.
 * @par Errors
 * RPC_EINVAL (out is NULL), RPC_ENOMEM, RPC_EBADNAME ($LIBRPC_SHM_NAME
 * is set but invalid; `*out` is then NULL).
 * @par Thread-safety
 * Safe from any thread.
 */
int rpc_config_create(rpc_config **out);

/**
 * Frees a configuration; NULL is ignored.
 * @param cfg  the configuration, or NULL.
 * @par Errors
 * None.
 * @par Thread-safety
 * Not while another thread uses cfg.
 */
void rpc_config_destroy(rpc_config *cfg);

/**
 * Sets the name of the domain's segment: a leading '/',
 * then 1..254 characters, none of them '/' or NUL; "/." and "/.." are
 * refused.
 * @param cfg   the configuration to change.
 * @param name  the segment name, copied.
 * @return 0, or a negative error code (cfg unchanged).
 * @par Errors
 * RPC_EINVAL (NULL), RPC_EBADNAME.
 * @par Thread-safety
 * Not while another thread uses cfg.
 */
int rpc_config_set_shm_name(rpc_config *cfg, const char *name);

/**
 * Sets the size of a segment this process creates.  An
 * existing segment keeps the size it was created with.  The minimum depends
 * on the other settings (see rpc_config_min_shm_size); the maximum is 1 TiB.
 * The segment's pages are allocated only as they are used.
 * @param cfg    the configuration to change.
 * @param bytes  the segment size in bytes.
 * @return 0, or a negative error code (cfg unchanged).
 * @par Errors
 * RPC_EINVAL (NULL), RPC_EBADSIZE.
 * @par Thread-safety
 * Not while another thread uses cfg.
 */
int rpc_config_set_shm_size(rpc_config *cfg, size_t bytes);

/**
 * Sets the permission bits of a segment this process creates,
 * applied with fchmod() so the umask does not narrow them.  The owner must
 * keep read and write (0600 bits); at most 0777.
 * @param cfg   the configuration to change.
 * @param mode  the permission bits, e.g. 0660.
 * @return 0, or a negative error code (cfg unchanged).
 * @par Errors
 * RPC_EINVAL (NULL), RPC_EBADMODE.
 * @par Thread-safety
 * Not while another thread uses cfg.
 */
int rpc_config_set_mode(rpc_config *cfg, unsigned mode);

/**
 * Sets the node-table size of a segment this process
 * creates: 1..RPC_MAX_NODES_LIMIT.  If the configured segment size is then
 * too small the call fails and nothing changes.
 * @param cfg        the configuration to change.
 * @param max_nodes  the number of node slots.
 * @return 0, or a negative error code (cfg unchanged).
 * @par Errors
 * RPC_EINVAL (NULL or out of range), RPC_EBADSIZE.
 * @par Thread-safety
 * Not while another thread uses cfg.
 */
int rpc_config_set_max_nodes(rpc_config *cfg, unsigned max_nodes);

/**
 * Sets the group given (fchown) to a segment this process
 * creates.  With mode 0660, for example, that shares a domain among the
 * group's users (who then also need rpc_config_set_allow_foreign_owner).
 * gid (gid_t)-1, the default, keeps the creator's group.
 * @param cfg  the configuration to change.
 * @param gid  the group id, or (gid_t)-1.
 * @return 0, or a negative error code.
 * @par Errors
 * RPC_EINVAL (NULL).  Creating the segment fails with RPC_EACCES if
 * the process may not give it that group.
 * @par Thread-safety
 * Not while another thread uses cfg.
 * @note /dev/shm is sticky, so only the segment's owner (or root) can unlink
 * it.  When a group member other than the owner is the last to leave, the
 * segment stays behind, orphaned; the next joiner re-initialises it and the
 * owner's clean-up (or `rpcctl watch --cleanup` run as the owner) removes it.
 */
int rpc_config_set_group(rpc_config *cfg, gid_t gid);

/**
 * When allow is non-zero, a segment owned by
 * another user is accepted, as in a group-shared 0660 domain.  Off by
 * default, because /dev/shm is world-writable and a predictable name can be
 * squatted.
 * @param cfg    the configuration to change.
 * @param allow  non-zero to accept a segment of another owner, 0 to refuse it.
 * @return 0, or a negative error code.
 * @par Errors
 * RPC_EINVAL (NULL).
 * @par Thread-safety
 * Not while another thread uses cfg.
 */
int rpc_config_set_allow_foreign_owner(rpc_config *cfg, int allow);

/**
 * Sets the largest payload (bytes) publishers of a
 * segment this process creates may send: 0..16 MiB.  The queue size must
 * hold at least two messages of that size.
 * @param cfg    the configuration to change.
 * @param bytes  the largest payload in bytes.
 * @return 0, or a negative error code (cfg unchanged).
 * @par Errors
 * RPC_EINVAL (NULL), RPC_EBADSIZE (too large, or queue/segment too
 * small for it).
 * @par Thread-safety
 * Not while another thread uses cfg.
 */
int rpc_config_set_max_msg_size(rpc_config *cfg, size_t bytes);

/**
 * Sets the bytes of each (publisher, subscriber) queue in
 * a segment this process creates: a power of two, 4 KiB..1 GiB, holding at
 * least two maximum-size messages.
 * @param cfg    the configuration to change.
 * @param bytes  the queue size in bytes.
 * @return 0, or a negative error code (cfg unchanged).
 * @par Errors
 * RPC_EINVAL (NULL), RPC_EBADSIZE.
 * @par Thread-safety
 * Not while another thread uses cfg.
 */
int rpc_config_set_queue_size(rpc_config *cfg, size_t bytes);

/**
 * Sets the subscription-table size of a segment this
 * process creates: 1..1048576.
 * @param cfg       the configuration to change.
 * @param max_subs  the number of subscription entries.
 * @return 0, or a negative error code (cfg unchanged).
 * @par Errors
 * RPC_EINVAL (NULL or out of range), RPC_EBADSIZE (segment too
 * small).
 * @par Thread-safety
 * Not while another thread uses cfg.
 */
int rpc_config_set_max_subs(rpc_config *cfg, unsigned max_subs);

/**
 * Chooses RPC_RECEIVE_THREAD (default: each node gets
 * a receive thread that runs its callbacks) or RPC_RECEIVE_MANUAL (the
 * caller drives the node with rpc_node_poll()).
 * @param cfg   the configuration to change.
 * @param mode  an enum rpc_receive_mode value.
 * @return 0, or a negative error code (cfg unchanged).
 * @par Errors
 * RPC_EINVAL (NULL or unknown mode).
 * @par Thread-safety
 * Not while another thread uses cfg.
 */
int rpc_config_set_receive_mode(rpc_config *cfg, int mode);

/**
 * Sets how long an idle receiver polls its queues
 * before it sleeps in the kernel: 0 sleeps at once (lowest CPU), -1 never
 * sleeps (lowest latency, one busy core per node), else 1..1000000 us.
 * @param cfg      the configuration to change.
 * @param spin_us  microseconds, 0 or -1.
 * @return 0, or a negative error code (cfg unchanged).
 * @par Errors
 * RPC_EINVAL (NULL or out of range).
 * @par Thread-safety
 * Not while another thread uses cfg.
 */
int rpc_config_set_spin_us(rpc_config *cfg, int spin_us);

/* Getters: the value in effect (defaults for a NULL cfg). Thread-safe. */

/**
 * The segment name in effect.
 * @param cfg  the configuration, or NULL for the defaults.
 * @return the name; valid while cfg is unchanged (for NULL: until the next
 * call of this function on the same thread).
 * @par Errors
 * None.
 * @par Thread-safety
 * Safe from any thread.
 */
const char *rpc_config_shm_name(const rpc_config *cfg);
/**
 * The segment size in effect.
 * @param cfg  the configuration, or NULL for the defaults.
 * @return the size in bytes.
 * @par Errors
 * None.
 * @par Thread-safety
 * Safe from any thread.
 */
size_t rpc_config_shm_size(const rpc_config *cfg);
/**
 * The permission bits in effect.
 * @param cfg  the configuration, or NULL for the defaults.
 * @return the mode, e.g. 0600.
 * @par Errors
 * None.
 * @par Thread-safety
 * Safe from any thread.
 */
unsigned rpc_config_mode(const rpc_config *cfg);
/**
 * The node-table size in effect.
 * @param cfg  the configuration, or NULL for the defaults.
 * @return the number of node slots.
 * @par Errors
 * None.
 * @par Thread-safety
 * Safe from any thread.
 */
unsigned rpc_config_max_nodes(const rpc_config *cfg);

/**
 * The largest payload in effect.
 * @param cfg  the configuration, or NULL for the defaults.
 * @return the largest payload in bytes.
 * @par Errors
 * None.
 * @par Thread-safety
 * Safe from any thread.
 */
size_t rpc_config_max_msg_size(const rpc_config *cfg);
/**
 * The queue size in effect.
 * @param cfg  the configuration, or NULL for the defaults.
 * @return the bytes of each (publisher, subscriber) queue.
 * @par Errors
 * None.
 * @par Thread-safety
 * Safe from any thread.
 */
size_t rpc_config_queue_size(const rpc_config *cfg);

/**
 * The smallest valid segment size for max_nodes
 * nodes, the other settings at their defaults.
 * @param max_nodes  the number of node slots.
 * @return the size in bytes.
 * @par Errors
 * None.
 * @par Thread-safety
 * Safe from any thread.
 */
size_t rpc_config_min_shm_size(unsigned max_nodes);

/**
 * The smallest valid segment size for all of
 * cfg's settings (NULL: the defaults): header, node and subscription tables
 * and room for two queues.
 * @param cfg  the configuration, or NULL for the defaults.
 * @return the size in bytes.
 * @par Errors
 * None.
 * @par Thread-safety
 * Safe from any thread.
 */
size_t rpc_config_required_shm_size(const rpc_config *cfg);

/** @} */

#ifdef __cplusplus
}
#endif
#endif
