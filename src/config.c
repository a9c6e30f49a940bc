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

#define MAX_SHM_SIZE ((size_t)1 << 40)
#define MAX_MSG_SIZE ((size_t)16 << 20)
#define MIN_QUEUE_SIZE ((size_t)4 << 10)
#define MAX_QUEUE_SIZE ((size_t)1 << 30)
#define MAX_SUBS (1u << 20)

static uint64_t page_align(uint64_t v)
{
    return (v + 4095) & ~(uint64_t)4095;
}

void rpci_geometry(const struct rpc_config *cfg, struct rpci_geometry *g)
{
    g->node_table_off = RPC_HEADER_SIZE;
    g->sub_table_off = page_align(g->node_table_off + (uint64_t)cfg->max_nodes * RPC_NODE_SLOT_SIZE);
    g->ring_pool_off = page_align(g->sub_table_off + (uint64_t)cfg->max_subs * sizeof(struct rpcl_sub));
    g->ring_block_size = RPCL_RING_HDR_SIZE + (uint64_t)cfg->queue_size;
    g->min_size = g->ring_pool_off + 2 * g->ring_block_size;
}

/* A record plus its header and padding, and the queue that must hold two. */
static size_t queue_needed(size_t max_msg)
{
    return 2 * (sizeof(struct rpcl_rec) + ((max_msg + 7) & ~(size_t)7));
}

static size_t required(const struct rpc_config *c)
{
    struct rpci_geometry g;
    rpci_geometry(c, &g);
    return (size_t)g.min_size;
}

static void set_defaults(struct rpc_config *c);

size_t rpc_config_min_shm_size(unsigned max_nodes)
{
    struct rpc_config c;
    set_defaults(&c);
    c.max_nodes = max_nodes;
    return required(&c);
}

size_t rpc_config_required_shm_size(const rpc_config *cfg)
{
    struct rpc_config c;
    if (cfg != NULL)
        return required(cfg);
    set_defaults(&c);
    return required(&c);
}

/* Store candidate into cfg if the segment size still fits it. */
static int commit(rpc_config *cfg, const struct rpc_config *candidate)
{
    if (candidate->shm_size < required(candidate))
        return rpci_fail(RPC_EBADSIZE, "segment size %zu is too small for these settings "
                         "(need %zu)", candidate->shm_size, required(candidate));
    *cfg = *candidate;
    return 0;
}

static int check_shm_name(const char *name)
{
    size_t len;
    if (name == NULL)
        return rpci_fail(RPC_EINVAL, "segment name is NULL");
    len = strlen(name);
    /* "/." and "/.." would name /dev/shm itself and /dev. */
    if (name[0] != '/' || len < 2 || len > RPC_SHM_NAME_MAX || strchr(name + 1, '/') ||
        strcmp(name, "/.") == 0 || strcmp(name, "/..") == 0)
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
    c->group = (gid_t)-1;
    c->max_msg_size = RPC_DEFAULT_MAX_MSG_SIZE;
    c->queue_size = RPC_DEFAULT_QUEUE_SIZE;
    c->max_subs = RPC_DEFAULT_MAX_SUBS;
    c->receive_mode = RPC_RECEIVE_THREAD;
    c->spin_us = RPC_DEFAULT_SPIN_US;
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
    if (bytes < required(cfg) || bytes > MAX_SHM_SIZE)
        return rpci_fail(RPC_EBADSIZE, "segment size %zu: need %zu..%zu bytes for these settings",
                         bytes, required(cfg), MAX_SHM_SIZE);
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
    struct rpc_config candidate;
    rpci_clear_detail();
    if (cfg == NULL)
        return rpci_fail(RPC_EINVAL, "rpc_config_set_max_nodes: cfg is NULL");
    if (max_nodes < 1 || max_nodes > RPC_MAX_NODES_LIMIT)
        return rpci_fail(RPC_EINVAL, "max_nodes %u: need 1..%u", max_nodes, RPC_MAX_NODES_LIMIT);
    candidate = *cfg;
    candidate.max_nodes = max_nodes;
    return commit(cfg, &candidate);
}

int rpc_config_set_max_msg_size(rpc_config *cfg, size_t bytes)
{
    struct rpc_config candidate;
    rpci_clear_detail();
    if (cfg == NULL)
        return rpci_fail(RPC_EINVAL, "rpc_config_set_max_msg_size: cfg is NULL");
    if (bytes > MAX_MSG_SIZE || queue_needed(bytes) > cfg->queue_size)
        return rpci_fail(RPC_EBADSIZE, "max message %zu: need at most %zu and a queue of at "
                         "least %zu bytes (queue is %zu)", bytes, MAX_MSG_SIZE,
                         queue_needed(bytes), cfg->queue_size);
    candidate = *cfg;
    candidate.max_msg_size = bytes;
    return commit(cfg, &candidate);
}

int rpc_config_set_queue_size(rpc_config *cfg, size_t bytes)
{
    struct rpc_config candidate;
    rpci_clear_detail();
    if (cfg == NULL)
        return rpci_fail(RPC_EINVAL, "rpc_config_set_queue_size: cfg is NULL");
    if (bytes < MIN_QUEUE_SIZE || bytes > MAX_QUEUE_SIZE || (bytes & (bytes - 1)) != 0 ||
        bytes < queue_needed(cfg->max_msg_size))
        return rpci_fail(RPC_EBADSIZE, "queue size %zu: need a power of two in %zu..%zu "
                         "holding two %zu-byte messages", bytes, MIN_QUEUE_SIZE,
                         MAX_QUEUE_SIZE, cfg->max_msg_size);
    candidate = *cfg;
    candidate.queue_size = bytes;
    return commit(cfg, &candidate);
}

int rpc_config_set_max_subs(rpc_config *cfg, unsigned max_subs)
{
    struct rpc_config candidate;
    rpci_clear_detail();
    if (cfg == NULL)
        return rpci_fail(RPC_EINVAL, "rpc_config_set_max_subs: cfg is NULL");
    if (max_subs < 1 || max_subs > MAX_SUBS)
        return rpci_fail(RPC_EINVAL, "max_subs %u: need 1..%u", max_subs, MAX_SUBS);
    candidate = *cfg;
    candidate.max_subs = max_subs;
    return commit(cfg, &candidate);
}

int rpc_config_set_receive_mode(rpc_config *cfg, int mode)
{
    rpci_clear_detail();
    if (cfg == NULL || (mode != RPC_RECEIVE_THREAD && mode != RPC_RECEIVE_MANUAL))
        return rpci_fail(RPC_EINVAL, "rpc_config_set_receive_mode: need a config and "
                         "RPC_RECEIVE_THREAD or RPC_RECEIVE_MANUAL");
    cfg->receive_mode = mode;
    return 0;
}

int rpc_config_set_spin_us(rpc_config *cfg, int spin_us)
{
    rpci_clear_detail();
    if (cfg == NULL || spin_us < -1 || spin_us > 1000000)
        return rpci_fail(RPC_EINVAL, "rpc_config_set_spin_us: need a config and -1..1000000");
    cfg->spin_us = spin_us;
    return 0;
}

int rpc_config_set_group(rpc_config *cfg, gid_t gid)
{
    rpci_clear_detail();
    if (cfg == NULL)
        return rpci_fail(RPC_EINVAL, "rpc_config_set_group: cfg is NULL");
    cfg->group = gid;
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

size_t rpc_config_max_msg_size(const rpc_config *cfg)
{
    struct rpc_config tmp;
    return view(cfg, &tmp)->max_msg_size;
}

size_t rpc_config_queue_size(const rpc_config *cfg)
{
    struct rpc_config tmp;
    return view(cfg, &tmp)->queue_size;
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
