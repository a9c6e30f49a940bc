/*
 * librpc/config.h - how a node finds and shapes its domain.
 *
 * A configuration names the shared-memory segment of a domain and the shape
 * that segment gets if this process is the one to create it.  Every function
 * that takes a `const rpc_config *` accepts NULL for the defaults:
 *
 *   segment name   "/librpc_shm", or $LIBRPC_SHM_NAME when set
 *   segment size   32 MiB
 *   access mode    0600 (applied whatever the umask)
 *   max nodes      64
 *   foreign owner  refused
 *
 * Setters validate at once and leave the configuration unchanged on error.
 * Thread-safety: a configuration may be read by many threads at once (it is
 * copied when a node is created) but must not be changed while it is used.
 */
#ifndef LIBRPC_CONFIG_H
#define LIBRPC_CONFIG_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RPC_DEFAULT_SHM_NAME "/librpc_shm"
#define RPC_DEFAULT_SHM_SIZE ((size_t)32 << 20)
#define RPC_DEFAULT_MODE 0600u
#define RPC_DEFAULT_MAX_NODES 64u
#define RPC_MAX_NODES_LIMIT 1024u
/* Longest segment name, counting the leading '/'. */
#define RPC_SHM_NAME_MAX 255
/* Environment variable that overrides the default segment name. */
#define RPC_ENV_SHM_NAME "LIBRPC_SHM_NAME"

typedef struct rpc_config rpc_config;

/*
 * rpc_config_create - allocate a configuration holding the defaults above.
 * If $LIBRPC_SHM_NAME is set it becomes the segment name.
 * Errors: RPC_EINVAL (out is NULL), RPC_ENOMEM, RPC_EBADNAME ($LIBRPC_SHM_NAME
 * is set but invalid; *out is then NULL).
 */
int rpc_config_create(rpc_config **out);

/* rpc_config_destroy - free a configuration; NULL is ignored. */
void rpc_config_destroy(rpc_config *cfg);

/*
 * rpc_config_set_shm_name - name of the domain's segment: a leading '/',
 * then 1..254 characters, none of them '/' or NUL.
 * Errors: RPC_EINVAL (NULL), RPC_EBADNAME.
 */
int rpc_config_set_shm_name(rpc_config *cfg, const char *name);

/*
 * rpc_config_set_shm_size - size of a segment this process creates.  An
 * existing segment keeps the size it was created with.  The minimum depends
 * on max_nodes (see rpc_config_min_shm_size); the maximum is 1 TiB.
 * Errors: RPC_EINVAL (NULL), RPC_EBADSIZE.
 */
int rpc_config_set_shm_size(rpc_config *cfg, size_t bytes);

/*
 * rpc_config_set_mode - permission bits of a segment this process creates,
 * applied with fchmod() so the umask does not narrow them.  The owner must
 * keep read and write (0600 bits); at most 0777.
 * Errors: RPC_EINVAL (NULL), RPC_EBADMODE.
 */
int rpc_config_set_mode(rpc_config *cfg, unsigned mode);

/*
 * rpc_config_set_max_nodes - node-table size of a segment this process
 * creates: 1..RPC_MAX_NODES_LIMIT.  If the configured segment size is then
 * too small the call fails and nothing changes.
 * Errors: RPC_EINVAL (NULL or out of range), RPC_EBADSIZE.
 */
int rpc_config_set_max_nodes(rpc_config *cfg, unsigned max_nodes);

/*
 * rpc_config_set_allow_foreign_owner - when non-zero, a segment owned by
 * another user is accepted (e.g. a group-shared 0660 domain).  Off by
 * default, because /dev/shm is world-writable and a predictable name can be
 * squatted.  Errors: RPC_EINVAL (NULL).
 */
int rpc_config_set_allow_foreign_owner(rpc_config *cfg, int allow);

/* Getters: the value in effect (defaults for a NULL cfg). Thread-safe. */
const char *rpc_config_shm_name(const rpc_config *cfg);
size_t rpc_config_shm_size(const rpc_config *cfg);
unsigned rpc_config_mode(const rpc_config *cfg);
unsigned rpc_config_max_nodes(const rpc_config *cfg);

/* rpc_config_min_shm_size - smallest valid segment size for max_nodes. */
size_t rpc_config_min_shm_size(unsigned max_nodes);

#ifdef __cplusplus
}
#endif
#endif
