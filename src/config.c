/*
 * config.c - the configuration object and its validation.
 *
 * Invariant: a struct rpc_config only ever holds valid values; setters check
 * before they store, so code that receives one never re-validates.
 */
#include "internal.h"
#include "layout.h"

#include <stdlib.h>
#include <string.h>

#define MIN_HEAP_SIZE ((size_t)64 << 10)
#define MAX_SHM_SIZE ((size_t)1 << 40)

size_t rpc_config_min_shm_size(unsigned max_nodes)
{
    return RPC_HEADER_SIZE + (size_t)max_nodes * RPC_NODE_SLOT_SIZE + MIN_HEAP_SIZE;
}

static int check_shm_name(const char *name)
{
    size_t len;
    if (name == NULL)
        return rpci_fail(RPC_EINVAL, "segment name is NULL");
    len = strlen(name);
    if (name[0] != '/' || len < 2 || len > RPC_SHM_NAME_MAX || strchr(name + 1, '/'))
        return rpci_fail(RPC_EBADNAME,
                         "segment name \"%.300s\": need '/' then 1-254 characters without '/'",
                         name);
    return 0;
}

static void set_defaults(struct rpc_config *c)
{
    memset(c, 0, sizeof *c);
    strcpy(c->shm_name, RPC_DEFAULT_SHM_NAME);
    c->shm_size = RPC_DEFAULT_SHM_SIZE;
    c->mode = RPC_DEFAULT_MODE;
    c->max_nodes = RPC_DEFAULT_MAX_NODES;
}

/* Defaults plus $LIBRPC_SHM_NAME; fails if the variable holds a bad name. */
static int load_defaults(struct rpc_config *c)
{
    const char *env = getenv(RPC_ENV_SHM_NAME);
    int rc;
    set_defaults(c);
    if (env == NULL || env[0] == '\0')
        return 0;
    if ((rc = check_shm_name(env)) != 0)
        return rpci_fail(rc, "$%s=\"%.300s\" is not a valid segment name "
                         "(need '/' then 1-254 characters without '/')", RPC_ENV_SHM_NAME, env);
    strcpy(c->shm_name, env);
    return 0;
}

int rpci_config_resolve(const rpc_config *src, struct rpc_config *cfg)
{
    if (src != NULL) {
        *cfg = *src;
        return 0;
    }
    return load_defaults(cfg);
}

int rpc_config_create(rpc_config **out)
{
    struct rpc_config *c;
    int rc;
    rpci_clear_detail();
    if (out == NULL)
        return rpci_fail(RPC_EINVAL, "rpc_config_create: out is NULL");
    *out = NULL;
    if ((c = malloc(sizeof *c)) == NULL)
        return RPC_ENOMEM;
    if ((rc = load_defaults(c)) != 0) {
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void rpc_config_destroy(rpc_config *cfg)
{
    free(cfg);
}

int rpc_config_set_shm_name(rpc_config *cfg, const char *name)
{
    int rc;
    rpci_clear_detail();
    if (cfg == NULL)
        return rpci_fail(RPC_EINVAL, "rpc_config_set_shm_name: cfg is NULL");
    if ((rc = check_shm_name(name)) != 0)
        return rc;
    strcpy(cfg->shm_name, name);
    return 0;
}

int rpc_config_set_shm_size(rpc_config *cfg, size_t bytes)
{
    rpci_clear_detail();
    if (cfg == NULL)
        return rpci_fail(RPC_EINVAL, "rpc_config_set_shm_size: cfg is NULL");
    if (bytes < rpc_config_min_shm_size(cfg->max_nodes) || bytes > MAX_SHM_SIZE)
        return rpci_fail(RPC_EBADSIZE, "segment size %zu: need %zu..%zu bytes for %u nodes",
                         bytes, rpc_config_min_shm_size(cfg->max_nodes), MAX_SHM_SIZE,
                         cfg->max_nodes);
    cfg->shm_size = bytes;
    return 0;
}

int rpc_config_set_mode(rpc_config *cfg, unsigned mode)
{
    rpci_clear_detail();
    if (cfg == NULL)
        return rpci_fail(RPC_EINVAL, "rpc_config_set_mode: cfg is NULL");
    if (mode > 0777 || (mode & 0600) != 0600)
        return rpci_fail(RPC_EBADMODE, "mode 0%o: the owner needs read and write, at most 0777",
                         mode);
    cfg->mode = mode;
    return 0;
}

int rpc_config_set_max_nodes(rpc_config *cfg, unsigned max_nodes)
{
    rpci_clear_detail();
    if (cfg == NULL)
        return rpci_fail(RPC_EINVAL, "rpc_config_set_max_nodes: cfg is NULL");
    if (max_nodes < 1 || max_nodes > RPC_MAX_NODES_LIMIT)
        return rpci_fail(RPC_EINVAL, "max_nodes %u: need 1..%u", max_nodes, RPC_MAX_NODES_LIMIT);
    if (cfg->shm_size < rpc_config_min_shm_size(max_nodes))
        return rpci_fail(RPC_EBADSIZE, "segment size %zu is too small for %u nodes (need %zu)",
                         cfg->shm_size, max_nodes, rpc_config_min_shm_size(max_nodes));
    cfg->max_nodes = max_nodes;
    return 0;
}

int rpc_config_set_allow_foreign_owner(rpc_config *cfg, int allow)
{
    rpci_clear_detail();
    if (cfg == NULL)
        return rpci_fail(RPC_EINVAL, "rpc_config_set_allow_foreign_owner: cfg is NULL");
    cfg->allow_foreign_owner = allow != 0;
    return 0;
}

/* Getters fall back to the defaults for NULL; an invalid $LIBRPC_SHM_NAME
 * then reads as the default name (node creation reports the error). */
static const struct rpc_config *view(const rpc_config *cfg, struct rpc_config *tmp)
{
    if (cfg != NULL)
        return cfg;
    if (load_defaults(tmp) != 0)
        set_defaults(tmp);
    return tmp;
}

const char *rpc_config_shm_name(const rpc_config *cfg)
{
    static _Thread_local struct rpc_config tmp;
    return view(cfg, &tmp)->shm_name;
}

size_t rpc_config_shm_size(const rpc_config *cfg)
{
    struct rpc_config tmp;
    return view(cfg, &tmp)->shm_size;
}

unsigned rpc_config_mode(const rpc_config *cfg)
{
    struct rpc_config tmp;
    return view(cfg, &tmp)->mode;
}

unsigned rpc_config_max_nodes(const rpc_config *cfg)
{
    struct rpc_config tmp;
    return view(cfg, &tmp)->max_nodes;
}

int rpci_valid_node_name(const char *name)
{
    size_t i;
    if (name == NULL || name[0] == '\0')
        return 0;
    for (i = 0; name[i] != '\0'; i++)
        if (i >= RPC_NODE_NAME_MAX || name[i] <= ' ' || name[i] > '~')
            return 0;
    return 1;
}
