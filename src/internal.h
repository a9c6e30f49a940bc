/*
 * internal.h - declarations shared by the library's source files and not
 * part of the public API.  Internal symbols carry the rpci_ prefix (rpcp_
 * for the platform layer, rpcl_ for the shared layout) and are not exported
 * from the shared library.
 */
#ifndef RPC_INTERNAL_H
#define RPC_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "librpc/librpc.h"

#if defined(__GNUC__)
#define RPCI_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define RPCI_PRINTF(a, b)
#endif

/* The configuration, copied by value into every attachment. */
struct rpc_config {
    char shm_name[RPC_SHM_NAME_MAX + 1];
    size_t shm_size;
    unsigned mode;
    unsigned max_nodes;
    int allow_foreign_owner;
    gid_t group;                  /* (gid_t)-1: the creator's */
    size_t max_msg_size;
    size_t queue_size;
    unsigned max_subs;
    int receive_mode;
    int spin_us;
};

/* Where each region of a segment made with cfg starts; see layout.h. */
struct rpci_geometry {
    uint64_t node_table_off;
    uint64_t sub_table_off;
    uint64_t ring_pool_off;
    uint64_t ring_block_size;
    uint64_t min_size;            /* room for the tables and two rings */
};
void rpci_geometry(const struct rpc_config *cfg, struct rpci_geometry *g);

/* Fill *cfg from src, or from the defaults (and $LIBRPC_SHM_NAME) if NULL. */
int rpci_config_resolve(const rpc_config *src, struct rpc_config *cfg);

/* Record the detail line rpc_errdetail() returns; returns err for chaining. */
int rpci_fail(int err, const char *fmt, ...) RPCI_PRINTF(2, 3);
/* Forget the previous detail (start of a public call). */
void rpci_clear_detail(void);

/* Map -errno from a system call to the library's code for it. */
int rpci_from_errno(int neg_errno);

/* Node-name check shared by node creation and the registry. */
int rpci_valid_node_name(const char *name);

#endif
